package vqdma.gate;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The arithmetic of a differential flame graph ({@code scripts/flame --diff}, {@code gate flame-diff}): reads the
 * profiles of several forks of each side, puts every stack on a common scale and pools the forks, so that the two
 * sides can be subtracted frame by frame.
 * <p>
 * <b>Input.</b> One directory per fork, as JMH writes it with {@code -rf json -rff DIR/jmh.json -prof
 * async:output=collapsed;dir=DIR}: {@code jmh.json} and, per benchmark run, {@code DIR/<benchmark id>/collapsed-
 * <event>.csv} (async-profiler's collapsed stacks: one line per distinct stack, its frames joined by {@code ;},
 * then its sample count). One fork per directory: the script runs JMH once per fork to interleave the sides.
 * <p>
 * <b>Scale: sampled time per operation.</b> A CPU-time sample stands for one sampling interval of CPU time, so a
 * stack's samples times the interval, divided by the operations the fork completed while it was profiled, is that
 * stack's CPU time per operation. Per second (the raw counts) would not do: a candidate that is faster does more
 * operations in the same seconds and its unchanged frames would look bigger, and a share of the total would paint
 * every unchanged frame blue beside the one that grew. Per operation, a frame that did not change stays grey,
 * however fast the machine and however many operations fit in an iteration; what the machine does to the whole
 * profile cancels because both sides run on the same machine in alternating forks. The operations come from JMH's
 * score per measurement iteration: {@code thrpt} score x iteration time; {@code avgt} and {@code sample} threads x
 * iteration time / score. JMH's profiling spans exactly the measurement iterations. The unit written is picoseconds
 * per operation, so that the integer counts a collapsed file needs keep sub-nanosecond frames.
 * <p>
 * <b>Pooling: the median fork, stack by stack.</b> A side's value of a stack is the median over its forks (a fork
 * without the stack counts 0). A fork that drew a slower JIT or memory-layout mode (a quarter to a third of
 * {@code RingCycleBenchmark}'s forks run 25-50% slower) then moves a side little, where a sum of the forks would
 * follow it; a stack seen in a minority of forks (a late JIT compilation, a GC) drops out.
 * <p>
 * <b>The JIT compiler is left out.</b> Stacks of its threads (through {@code CompileBroker::}) are dropped: compiling
 * is warm-up, and how much of it still falls into the measurement depends on the machine's load (on a busy 2-core
 * machine, half the samples of a fork with a short warm-up), not on the code. The summary says how much was dropped
 * and warns when it is more than {@link #JIT_WARNING} of a side: the warm-up was too short for that machine.
 * <p>
 * <b>Noise.</b> Every frame of the summary carries the range of its per-fork values on each side; a change is
 * <em>beyond noise</em> when the two ranges do not overlap and the change is at least {@link #NOISE_FLOOR} of the
 * baseline's total. gate/README.md gives the A/A figures behind that floor.
 */
public final class FlameDiff
{
    /**
     * The smallest change of one frame's self time, as a share of the baseline's whole profile per operation, that
     * the summary calls beyond noise (with the forks' ranges apart). In A/A diffs of {@code RingCycleBenchmark} no
     * frame moved by more (gate/README.md).
     */
    public static final double NOISE_FLOOR = 0.05;

    /**
     * The change of a frame's self time, as a share of the baseline's whole profile per operation, at which the
     * differential graph's colours saturate at least. async-profiler's page scales them to the largest change in
     * the graph, whatever its size: in an A/A diff the frame with the most noise would be painted deep red or blue.
     * With this floor a change of {@link #NOISE_FLOOR} is a pale tint and one of a tenth of the profile full colour.
     */
    public static final double COLOUR_SCALE_FLOOR = 0.10;

    /** The share of a side's samples in the JIT compiler above which the summary warns of a short warm-up. */
    public static final double JIT_WARNING = 0.05;

    /**
     * Sampled time per operation below this share of the time per operation JMH's score says draws a warning: the
     * profiler took far fewer samples than its interval asks (async-profiler's {@code itimer} uses
     * {@code setitimer}, whose signals many kernels deliver at most once per tick: 250 a second where HZ is 250,
     * whatever the interval), or the benchmark's threads slept most of the time.
     */
    public static final double COVERAGE_WARNING = 0.2;

    /** JMH's mode names in {@code jmh.json} and in the directory names of its profilers. */
    private static final Map<String, String> MODE_NAMES = Map.of(
        "thrpt", "Throughput", "avgt", "AverageTime", "sample", "SampleTime", "ss", "SingleShotTime");

    private FlameDiff()
    {
    }

    /**
     * One benchmark run (name, mode, parameters) of one side: per fork, the self time per operation of every stack.
     */
    public static final class Side
    {
        private final String benchmark;
        private final Map<String, String> params;
        private final String key;
        private final String mode;
        private final String unit;
        private final List<Map<String, Double>> forks = new ArrayList<>();
        private final List<Double> scores = new ArrayList<>();
        private final List<Double> jitShares = new ArrayList<>();

        Side(final String benchmark, final Map<String, String> params, final String mode, final String unit)
        {
            this.benchmark = benchmark;
            this.params = Map.copyOf(params);
            this.key = FlameDiff.key(benchmark, params);
            this.mode = mode;
            this.unit = unit;
        }

        /** @return the benchmark with its parameters, as the gate shows it. */
        public String key()
        {
            return key;
        }

        /** @return the benchmark's name, without parameters. */
        public String benchmark()
        {
            return benchmark;
        }

        /** @return JMH's parameters of the run. */
        public Map<String, String> params()
        {
            return params;
        }

        /** @return JMH's mode. */
        public String mode()
        {
            return mode;
        }

        /** @return the unit of {@link #scores()}. */
        public String unit()
        {
            return unit;
        }

        /** @return per fork: stack to picoseconds of sampled time per operation. */
        public List<Map<String, Double>> forks()
        {
            return forks;
        }

        /** @return JMH's score of every fork (mean of its measurement iterations). */
        public List<Double> scores()
        {
            return scores;
        }

        /** @return per fork, the share of its samples in the JIT compiler's threads, left out of the profile. */
        public List<Double> jitShares()
        {
            return jitShares;
        }

        /** @return the median over forks of every stack seen in any fork, in ps per operation. */
        public Map<String, Double> pooled()
        {
            final Set<String> stacks = new HashSet<>();
            forks.forEach(f -> stacks.addAll(f.keySet()));
            final Map<String, Double> pooled = new TreeMap<>();
            for (final String stack : stacks)
            {
                final double[] values = forks.stream().mapToDouble(f -> f.getOrDefault(stack, 0.0)).toArray();
                final double median = median(values);
                if (median > 0)
                {
                    pooled.put(stack, median);
                }
            }
            return pooled;
        }

        /** @return the median over forks of each fork's whole profile, in ps per operation. */
        public double total()
        {
            return median(forks.stream().mapToDouble(f -> f.values().stream().mapToDouble(Double::doubleValue).sum())
                .toArray());
        }
    }

    /**
     * One frame of the difference: a stack (its frames from the root to this one) and its self time per operation.
     *
     * @param stack   the frames, root first, joined by {@code ;}.
     * @param base    the baseline's pooled self time, ps per operation.
     * @param cand    the candidate's.
     * @param baseMin the smallest of the baseline's forks.
     * @param baseMax the largest of the baseline's forks.
     * @param candMin the smallest of the candidate's forks.
     * @param candMax the largest of the candidate's forks.
     */
    public record Frame(String stack, double base, double cand, double baseMin, double baseMax, double candMin,
        double candMax)
    {
        /** @return candidate minus baseline, ps per operation (positive: the candidate spends more here). */
        public double delta()
        {
            return cand - base;
        }

        /** @return whether every candidate fork lies above every baseline fork, or every one below. */
        public boolean separated()
        {
            return candMin > baseMax || candMax < baseMin;
        }

        /** @return the last frame of the stack: the method whose own time this is. */
        public String leaf()
        {
            return stack.substring(stack.lastIndexOf(';') + 1);
        }

        /** @return the caller and the frame, e.g. {@code vqdma/ring/Virtqueue.add > org/agrona/UnsafeApi.putLong}. */
        public String shortStack()
        {
            final int last = stack.lastIndexOf(';');
            if (last < 0)
            {
                return stack;
            }
            final int before = stack.lastIndexOf(';', last - 1);
            return stack.substring(before + 1, last) + " > " + stack.substring(last + 1);
        }
    }

    /**
     * The two sides of one benchmark run, frame by frame.
     *
     * @param base   the baseline.
     * @param cand   the candidate.
     * @param frames every stack of either side, the candidate's largest increase first.
     */
    public record Difference(Side base, Side cand, List<Frame> frames)
    {
        /**
         * @param base the baseline.
         * @param cand the candidate.
         * @return the frames of both, compared.
         */
        public static Difference of(final Side base, final Side cand)
        {
            final Map<String, Double> b = base.pooled();
            final Map<String, Double> c = cand.pooled();
            final Set<String> stacks = new HashSet<>(b.keySet());
            stacks.addAll(c.keySet());
            final List<Frame> frames = new ArrayList<>();
            for (final String stack : stacks)
            {
                final double[] bf = base.forks.stream().mapToDouble(f -> f.getOrDefault(stack, 0.0)).toArray();
                final double[] cf = cand.forks.stream().mapToDouble(f -> f.getOrDefault(stack, 0.0)).toArray();
                frames.add(new Frame(stack, b.getOrDefault(stack, 0.0), c.getOrDefault(stack, 0.0),
                    Arrays.stream(bf).min().orElse(0), Arrays.stream(bf).max().orElse(0),
                    Arrays.stream(cf).min().orElse(0), Arrays.stream(cf).max().orElse(0)));
            }
            frames.sort(Comparator.comparingDouble(Frame::delta).reversed().thenComparing(Frame::stack));
            return new Difference(base, cand, frames);
        }

        /**
         * @param frame a frame of this difference.
         * @return whether its change is beyond noise: the forks' ranges apart and at least {@link #NOISE_FLOOR} of
         *         the baseline's total.
         */
        public boolean beyondNoise(final Frame frame)
        {
            return frame.separated() && Math.abs(frame.delta()) >= NOISE_FLOOR * base.total();
        }
    }

    /**
     * Reads the forks of one side.
     *
     * @param forkDirs one directory per fork (see the class comment), or directories whose subdirectories are.
     * @param interval the sampling interval in nanoseconds (the same on both sides).
     * @return the benchmark runs found, by JMH's id (benchmark, mode, parameters), in the order first seen.
     * @throws IOException if a file cannot be read.
     * @throws IllegalArgumentException if a directory holds no fork, a profile is missing or the JSON is not JMH's.
     */
    public static Map<String, Side> readSide(final List<Path> forkDirs, final long interval) throws IOException
    {
        final Map<String, Side> sides = new LinkedHashMap<>();
        for (final Path fork : forks(forkDirs))
        {
            final Path json = fork.resolve("jmh.json");
            final JsonArray runs;
            try
            {
                final JsonElement root = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8));
                if (!root.isJsonArray())
                {
                    throw new IllegalArgumentException(json + ": expected a JSON array (JMH -rf json)");
                }
                runs = root.getAsJsonArray();
            }
            catch (final JsonParseException ex)
            {
                throw new IllegalArgumentException(json + ": not JSON: " + ex.getMessage(), ex);
            }
            for (final JsonElement element : runs)
            {
                final JsonObject run = element.getAsJsonObject();
                final String id = jmhId(run);
                final Path profile = profile(fork.resolve(id));
                final double operations;
                try
                {
                    operations = operations(run);
                }
                catch (final IllegalArgumentException | IllegalStateException | NullPointerException ex)
                {
                    throw new IllegalArgumentException(json + ", " + id + ": " + ex.getMessage(), ex);
                }
                final JsonObject primary = run.getAsJsonObject("primaryMetric");
                final Side side = sides.computeIfAbsent(id, k -> new Side(text(run, "benchmark"), params(run),
                    text(run, "mode"), text(primary, "scoreUnit")));
                final double psPerSample = interval * 1000.0;
                final Map<String, Double> perOp = new LinkedHashMap<>();
                long all = 0;
                long jit = 0;
                for (final Map.Entry<String, Long> e : readCollapsed(profile).entrySet())
                {
                    all += e.getValue();
                    if (isJitCompiler(e.getKey()))
                    {
                        jit += e.getValue();
                        continue;
                    }
                    perOp.put(e.getKey(), e.getValue() * psPerSample / operations);
                }
                side.forks.add(perOp);
                side.jitShares.add(all == 0 ? 0.0 : (double)jit / all);
                side.scores.add(primary.get("score").getAsDouble());
            }
        }
        return sides;
    }

    /**
     * @param stack a collapsed stack.
     * @return whether it is the JIT compiler's (HotSpot's compiler threads run {@code CompileBroker::
     *         compiler_thread_loop}).
     */
    static boolean isJitCompiler(final String stack)
    {
        return stack.startsWith("CompileBroker::") || stack.contains(";CompileBroker::");
    }

    /**
     * @param run one object of JMH's JSON.
     * @return the name of the directory JMH's profilers write this run's output into (JMH's
     *         {@code BenchmarkParams.id()}: benchmark, mode, then every parameter name and value, URL-encoded).
     */
    static String jmhId(final JsonObject run)
    {
        final String mode = text(run, "mode");
        final String modeName = MODE_NAMES.get(mode);
        if (modeName == null)
        {
            throw new IllegalArgumentException("unknown JMH mode '" + mode + "'");
        }
        final StringBuilder sb = new StringBuilder(encode(text(run, "benchmark"))).append('-').append(modeName);
        params(run).forEach((k, v) -> sb.append('-').append(encode(k)).append('-').append(encode(v)));
        return sb.toString();
    }

    /**
     * @param run one object of JMH's JSON.
     * @return the benchmark with its parameters in braces, the key the gate reports it by.
     */
    static String key(final JsonObject run)
    {
        return key(text(run, "benchmark"), params(run));
    }

    /** @return {@code benchmark{k=v,...}}, the parameters in name order, or the benchmark alone without any. */
    static String key(final String benchmark, final Map<String, String> params)
    {
        if (params.isEmpty())
        {
            return benchmark;
        }
        final List<String> parts = new ArrayList<>();
        new TreeMap<>(params).forEach((k, v) -> parts.add(k + "=" + v));
        return benchmark + "{" + String.join(",", parts) + "}";
    }

    /**
     * The operations a fork completed during its measurement iterations, from JMH's score of each: for
     * {@code thrpt}, score x iteration time; for {@code avgt} and {@code sample}, threads x iteration time / score
     * ({@code sample} has no per-iteration scores in the JSON: its overall score stands for every iteration).
     *
     * @param run one object of JMH's JSON (one fork).
     * @return the operations.
     * @throws IllegalArgumentException for single-shot runs (no steady state to take per operation) or units JMH
     *                                  does not write.
     */
    static double operations(final JsonObject run)
    {
        final String mode = text(run, "mode");
        final double iteration = seconds(text(run, "measurementTime"));
        final int threads = run.get("threads").getAsInt();
        final JsonObject primary = run.getAsJsonObject("primaryMetric");
        final String unit = text(primary, "scoreUnit");
        final List<Double> scores = new ArrayList<>();
        if (primary.has("rawData"))
        {
            for (final JsonElement fork : primary.getAsJsonArray("rawData"))
            {
                for (final JsonElement value : fork.getAsJsonArray())
                {
                    scores.add(value.getAsDouble());
                }
            }
        }
        else
        {
            final int iterations = run.get("measurementIterations").getAsInt();
            for (int i = 0; i < iterations; i++)
            {
                scores.add(primary.get("score").getAsDouble());
            }
        }
        double operations = 0;
        for (final double score : scores)
        {
            if (!(score > 0))
            {
                throw new IllegalArgumentException("score " + score + " " + unit + ": cannot count operations");
            }
            switch (mode)
            {
                case "thrpt":
                    operations += score / seconds(after(unit, "ops/")) * iteration;
                    break;
                case "avgt":
                case "sample":
                    operations += threads * iteration / (score * seconds(before(unit, "/op")));
                    break;
                default:
                    throw new IllegalArgumentException("mode " + mode + ": a single-shot run has no steady state to " +
                        "divide by operations; profile it in avgt or thrpt mode (-bm avgt)");
            }
        }
        if (!(operations > 0))
        {
            throw new IllegalArgumentException("no measurement iterations: cannot count operations");
        }
        return operations;
    }

    /**
     * @param stacks async-profiler's collapsed stacks ({@code frame;frame;frame count} per line).
     * @return stack to samples, lines of the same stack added up.
     * @throws IllegalArgumentException naming a line that does not end in a count.
     */
    static Map<String, Long> parseCollapsed(final List<String> stacks)
    {
        final Map<String, Long> samples = new LinkedHashMap<>();
        for (final String line : stacks)
        {
            if (line.isBlank())
            {
                continue;
            }
            final int space = line.lastIndexOf(' ');
            final long count;
            try
            {
                count = space <= 0 ? -1 : Long.parseLong(line.substring(space + 1).trim());
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("not a collapsed stack (frames, a space, a count): " + line, ex);
            }
            if (count < 0)
            {
                throw new IllegalArgumentException("not a collapsed stack (frames, a space, a count): " + line);
            }
            samples.merge(line.substring(0, space), count, Long::sum);
        }
        return samples;
    }

    /**
     * @param stacks stack to ps per operation.
     * @return collapsed stacks with the values rounded to whole picoseconds (stacks that round to 0 left out), in
     *         stack order.
     */
    public static String collapsed(final Map<String, Double> stacks)
    {
        final StringBuilder sb = new StringBuilder();
        new TreeMap<>(stacks).forEach((stack, ps) ->
        {
            final long rounded = Math.round(ps);
            if (rounded > 0)
            {
                sb.append(stack).append(' ').append(rounded).append('\n');
            }
        });
        return sb.toString();
    }

    /**
     * A plain-text account of a difference: totals, JMH's scores, and the frames that grew and shrank most.
     *
     * @param d   the difference.
     * @param top how many frames each way.
     * @return the text, one frame a line.
     */
    public static String summary(final Difference d, final int top)
    {
        final StringBuilder sb = new StringBuilder();
        final double baseTotal = d.base().total();
        final double candTotal = d.cand().total();
        sb.append(String.format(Locale.ROOT, "%s %s: sampled time per operation %s (baseline) -> %s (candidate), " +
            "%+.1f%%; JMH score %s -> %s %s (median fork; %d and %d forks)%n", d.base().key(), d.base().mode(),
            ns(baseTotal), ns(candTotal), 100 * (candTotal / baseTotal - 1), number(median(d.base().scores())),
            number(median(d.cand().scores())), d.base().unit(), d.base().forks().size(), d.cand().forks().size()));
        sb.append("  forks' sampled time per operation: baseline ").append(forkTotals(d.base())).append(" | candidate ")
            .append(forkTotals(d.cand())).append('\n');
        final double coverage = Math.min(coverage(d.base()), coverage(d.cand()));
        if (coverage < COVERAGE_WARNING)
        {
            sb.append(String.format(Locale.ROOT, "  WARNING: the samples account for %.1f%% of the time per " +
                "operation JMH measured: the profiler sampled less often than its interval asks (itimer is bounded " +
                "by the kernel's tick on many kernels: profile with --event cpu where perf_events work) or the " +
                "threads slept; the shares of the frames hold, their times in ns are too low%n", 100 * coverage));
        }
        final double baseJit = median(d.base().jitShares());
        final double candJit = median(d.cand().jitShares());
        if (baseJit > 0 || candJit > 0)
        {
            sb.append(String.format(Locale.ROOT, "  left out: the JIT compiler's threads, %.1f%% (baseline) and %.1f%% " +
                "(candidate) of the samples (median fork)%s%n", 100 * baseJit, 100 * candJit,
                Math.max(baseJit, candJit) > JIT_WARNING ? "; WARNING: the JIT was still compiling while profiled: a " +
                "longer warm-up (-wi, -w) on this machine" : ""));
        }
        sb.append(String.format(Locale.ROOT, "  self time per operation, candidate - baseline (share of the " +
            "baseline's total; forks' range baseline | candidate; '*' beyond noise: ranges apart and >= %.0f%%):%n",
            100 * NOISE_FLOOR));
        final List<Frame> frames = d.frames();
        final int n = Math.min(top, frames.size());
        for (int i = 0; i < n && frames.get(i).delta() > 0; i++)
        {
            sb.append(line(d, frames.get(i), baseTotal));
        }
        sb.append("  ...\n");
        for (int i = Math.max(n, frames.size() - n); i < frames.size(); i++)
        {
            if (frames.get(i).delta() < 0)
            {
                sb.append(line(d, frames.get(i), baseTotal));
            }
        }
        return sb.toString();
    }

    /**
     * Raises the colour scale of async-profiler's differential page ({@code const maxdiff = N;}: the change drawn in
     * full colour) to at least {@code floor}.
     *
     * @param html  the page the converter wrote with {@code --diff}.
     * @param floor the smallest full-colour change, in the page's units.
     * @return the page with {@code maxdiff} = max(N, floor).
     * @throws IllegalArgumentException if the page has no {@code maxdiff} (another converter version).
     */
    public static String withColourScale(final String html, final long floor)
    {
        final Matcher m = Pattern.compile("const maxdiff = (-?\\d+);").matcher(html);
        if (!m.find())
        {
            throw new IllegalArgumentException("no 'const maxdiff = N;' in the converter's differential page");
        }
        final long max = Math.max(Long.parseLong(m.group(1)), floor);
        return html.substring(0, m.start()) + "const maxdiff = " + max + ";" + html.substring(m.end());
    }

    /**
     * @param d the difference.
     * @return the frame with the largest increase, or {@code null} if none grew.
     */
    public static Frame reddest(final Difference d)
    {
        return d.frames().isEmpty() || d.frames().get(0).delta() <= 0 ? null : d.frames().get(0);
    }

    private static String forkTotals(final Side side)
    {
        final List<String> totals = new ArrayList<>();
        for (final Map<String, Double> fork : side.forks())
        {
            totals.add(String.format(Locale.ROOT, "%.0f", fork.values().stream().mapToDouble(Double::doubleValue).sum()
                / 1000));
        }
        return String.join(", ", totals) + " ns";
    }

    /**
     * @param side one side.
     * @return its sampled time per operation over the time per operation of its median JMH score (both in the same
     * unit), or infinity where the score's unit is not a time per operation or operations per time.
     */
    static double coverage(final Side side)
    {
        final double score = median(side.scores());
        final String unit = side.unit();
        final double secondsPerOp;
        if (score <= 0 || unit == null)
        {
            return Double.POSITIVE_INFINITY;
        }
        try
        {
            if (unit.endsWith("/op"))
            {
                secondsPerOp = score * seconds(unit.substring(0, unit.length() - 3));
            }
            else if (unit.startsWith("ops/"))
            {
                secondsPerOp = seconds(unit.substring(4)) / score;
            }
            else
            {
                return Double.POSITIVE_INFINITY;
            }
        }
        catch (final IllegalArgumentException ex)
        {
            return Double.POSITIVE_INFINITY; // not a unit of time (B/op, say)
        }
        return side.total() * 1e-12 / secondsPerOp;
    }

    private static String line(final Difference d, final Frame f, final double baseTotal)
    {
        return String.format(Locale.ROOT, "  %1s %12s %+7.2f%%  %s  [%s..%s | %s..%s]%n", d.beyondNoise(f) ? "*" : "",
            signedNs(f.delta()), 100 * f.delta() / baseTotal, f.shortStack(), ns(f.baseMin()), ns(f.baseMax()),
            ns(f.candMin()), ns(f.candMax()));
    }

    private static String ns(final double ps)
    {
        return String.format(Locale.ROOT, "%.1f ns", ps / 1000);
    }

    private static String signedNs(final double ps)
    {
        return String.format(Locale.ROOT, "%+.1f ns", ps / 1000);
    }

    private static String number(final double value)
    {
        return value >= 100 ? String.format(Locale.ROOT, "%,.0f", value) : String.format(Locale.ROOT, "%.3g", value);
    }

    static double median(final List<Double> values)
    {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** {@link Stats#median(double[])}, 0 for no values (a path no fork of a side had). */
    static double median(final double[] values)
    {
        return values.length == 0 ? 0 : Stats.median(values);
    }

    /** A JMH time value or unit: {@code "1 s"}, {@code "500 ms"}, or just {@code "us"}; in seconds. */
    static double seconds(final String time)
    {
        final String[] parts = time.trim().split("\\s+");
        final double amount = parts.length == 2 ? Double.parseDouble(parts[0]) : 1;
        final String unit = parts[parts.length - 1];
        switch (unit)
        {
            case "ns": return amount * 1e-9;
            case "us": return amount * 1e-6;
            case "ms": return amount * 1e-3;
            case "s": return amount;
            case "min": return amount * 60;
            case "hr": return amount * 3600;
            case "day": return amount * 86400;
            default: throw new IllegalArgumentException("unknown time unit '" + unit + "' in '" + time + "'");
        }
    }

    private static List<Path> forks(final List<Path> dirs) throws IOException
    {
        final List<Path> forks = new ArrayList<>();
        for (final Path dir : dirs)
        {
            if (Files.isRegularFile(dir.resolve("jmh.json")))
            {
                forks.add(dir);
                continue;
            }
            if (!Files.isDirectory(dir))
            {
                throw new IllegalArgumentException(dir + ": no such directory");
            }
            try (Stream<Path> children = Files.list(dir))
            {
                final List<Path> found = children.filter(c -> Files.isRegularFile(c.resolve("jmh.json"))).sorted()
                    .toList();
                if (found.isEmpty())
                {
                    throw new IllegalArgumentException(dir + ": neither a fork's directory (with jmh.json) nor one " +
                        "of them");
                }
                forks.addAll(found);
            }
        }
        return forks;
    }

    private static Path profile(final Path dir) throws IOException
    {
        if (!Files.isDirectory(dir))
        {
            throw new IllegalArgumentException("no profile directory " + dir + " (JMH -prof async:output=collapsed;" +
                "dir=...)");
        }
        try (Stream<Path> files = Files.list(dir))
        {
            final List<Path> found = files.filter(f -> f.getFileName().toString().matches("collapsed-.*\\.csv"))
                .toList();
            if (found.size() != 1)
            {
                throw new IllegalArgumentException(dir + ": expected one collapsed-<event>.csv, found " + found);
            }
            return found.get(0);
        }
    }

    private static Map<String, Long> readCollapsed(final Path file) throws IOException
    {
        try
        {
            return parseCollapsed(Files.readAllLines(file, StandardCharsets.UTF_8));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(file + ": " + ex.getMessage(), ex);
        }
    }

    private static Map<String, String> params(final JsonObject run)
    {
        final Map<String, String> params = new TreeMap<>();
        if (run.has("params"))
        {
            run.getAsJsonObject("params").entrySet().forEach(e -> params.put(e.getKey(), e.getValue().getAsString()));
        }
        return params;
    }

    private static String text(final JsonObject object, final String name)
    {
        final JsonElement value = object.get(name);
        if (value == null || !value.isJsonPrimitive())
        {
            throw new IllegalArgumentException("no '" + name + "' in a JMH result");
        }
        return value.getAsString();
    }

    private static String after(final String text, final String prefix)
    {
        if (!text.startsWith(prefix))
        {
            throw new IllegalArgumentException("unit '" + text + "': expected " + prefix + "<time unit>");
        }
        return text.substring(prefix.length());
    }

    private static String before(final String text, final String suffix)
    {
        if (!text.endsWith(suffix))
        {
            throw new IllegalArgumentException("unit '" + text + "': expected <time unit>" + suffix);
        }
        return text.substring(0, text.length() - suffix.length());
    }

    private static String encode(final String text)
    {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
