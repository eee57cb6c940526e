package vqdma.bench.run;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.Utils;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The zero-allocation check ({@code scripts/alloc-check}, and {@code AllocCheckTest} in the build): runs the hot-path
 * benchmarks under JMH's GC profiler and {@link ThreadAllocProfiler}, one fork, one 1 s warm-up and one 1 s measured
 * iteration each, and fails if any allocates more than {@link #LIMIT_BYTES_PER_OP} bytes per operation in steady
 * state, naming them.
 * <p>
 * Judged by {@link ThreadAllocProfiler}'s {@code alloc.steady.norm}, with {@code gc.alloc.rate.norm} printed beside
 * it: JMH's metric counts JMH's own allocation too (about 15 KB per iteration), which for an operation of a
 * millisecond (a large virtio-blk request, a round trip on a busy machine) is above 8 B/op for code that allocates
 * nothing; the thread profiler leaves the harness out (see its Javadoc). Why a few bytes and not zero: what is left
 * of JMH's per-iteration objects; a hot path that allocates shows 16 B/op or more (the smallest object).
 * <p>
 * What counts as hot is curated in {@link #HOT_PATHS}, with minimal parameters: the operations a device or driver
 * repeats per request. Set-up, tear-down and failure reporting may allocate; the allocation claims in the
 * benchmarks' Javadoc are about steady state, which is what one warmed-up iteration measures. Entries marked
 * optional belong to benchmarks another branch adds; in a build without them they are reported as absent, not
 * failed. A required entry that selects nothing, or a run without a result, fails the check.
 */
public final class AllocCheck
{
    /** The most a hot path may allocate per operation in steady state, in bytes ({@value #METRIC}). */
    public static final double LIMIT_BYTES_PER_OP = 8.0;

    /** The metric judged: steady-state bytes per operation ({@link ThreadAllocProfiler}). */
    public static final String METRIC = ThreadAllocProfiler.METRIC;

    /** JMH's metric, printed beside it: it includes JMH's own allocation. */
    public static final String GC_METRIC = "gc.alloc.rate.norm";

    /** Iterations: long enough for C2 to compile the loop (escape analysis removes what it can), short for CI. */
    static final List<String> ITERATIONS = List.of("-f", "1", "-wi", "1", "-w", "1s", "-i", "1", "-r", "1s",
        "-prof", "gc", "-prof", ThreadAllocProfiler.class.getName());

    /**
     * One selection of hot paths.
     *
     * @param step        what to run.
     * @param optional    whether a build may lack it (a benchmark from another branch).
     * @param failurePath whether it measures a failure path on purpose: its failed operations (mapErrors, errors)
     *                    are expected, and the progress says so instead of flagging them.
     */
    public record Entry(Selection.Step step, boolean optional, boolean failurePath)
    {
    }

    /** The hot paths, with the parameters that exercise them at the least cost. */
    public static final List<Entry> HOT_PATHS = List.of(
        required("ring cycle", "ring.RingCycleBenchmark.cycle", "-p", "queueSize=256", "-p", "dma=direct",
            "-p", "indirect=false,true", "-p", "shape=chain128,single128", "-p", "layout=split,packed"),
        required("map+unmap per DMA op", "dma.DmaMapBenchmark.mapUnmap", "-p",
            "ops=direct,swiotlb-force,iommu-strict,iommu-lazy", "-p", "size=4096", "-p", "dir=FROM_DEVICE"),
        failurePath("SWIOTLB mapping failure path", "dma.DmaMapBenchmark.mapUnmap", "-p", "ops=swiotlb-force",
            "-p", "size=1048576", "-p", "dir=TO_DEVICE"),
        required("SWIOTLB areas", "dma.SwiotlbContentionBenchmark.oneThread", "-p", "nareas=4"),
        required("IOMMU strict and lazy", "iommu.IommuBenchmark.iommuMapUnmap", "-p", "mode=strict,lazy",
            "-p", "rcache=true", "-p", "invalidationNanos=0", "-p", "size=4096"),
        // Notify mode only: two threads spinning on two shared cores can collapse to a few thousand round trips per
        // second under load, and then JMH's own per-iteration residue on the benchmark thread reads as bytes per op
        // (217 B/op seen at 117 ops/s). The poll-mode path is the same add/kick/get code without the parking. The
        // peers (JCTools, Agrona) are not vqdma's hot paths and are not checked.
        required("ring round trip", "ring.RingRoundTripBenchmark.roundTrip", "-p", "queueSize=256", "-p", "batch=32",
            "-p", "indirect=false,true", "-p", "mode=notify", "-p", "layout=split,packed"),
        failurePath("virtio-blk request: maps (clamp on), the 2019 failure (clamp off)", "blk.BlkBenchmark.request",
            "-p", "dma=swiotlb-force", "-p", "clamp=false,true", "-p", "size=1048576", "-p", "depth=32",
            "-p", "device=thread,inline", "-p", "layout=split"),
        // Inline: with the device on a thread, a loaded machine can slow the spinning pair to a few thousand
        // requests per second, and JMH's per-iteration residue (about 16 KB/s) then reads as several B/op.
        required("virtio-blk request: 4 KiB, direct and IOMMU", "blk.BlkBenchmark.request",
            "-p", "dma=direct,iommu-lazy", "-p", "clamp=true", "-p", "size=4096", "-p", "depth=32",
            "-p", "device=inline", "-p", "layout=split,packed"));

    /**
     * The check's outcome.
     *
     * @param bytesPerOp   run label to the judged metric ({@value #METRIC}), for every run that produced one.
     * @param gcBytesPerOp run label to JMH's {@code gc.alloc.rate.norm}, for information.
     * @param offenders   runs above {@link #LIMIT_BYTES_PER_OP}, with their value.
     * @param problems    runs or entries that could not be checked (no result, nothing selected, JMH failed).
     * @param absent      optional entries this build lacks.
     */
    public record Outcome(Map<String, Double> bytesPerOp, Map<String, Double> gcBytesPerOp, List<String> offenders,
        List<String> problems, List<String> absent)
    {
        /** @return whether every hot path ran and none allocated above the limit. */
        public boolean passed()
        {
            return offenders.isEmpty() && problems.isEmpty();
        }

        /** @return a table of every run, then the offenders and problems. */
        public String describe()
        {
            final StringBuilder out = new StringBuilder();
            out.append(String.format(Locale.ROOT, "  %10s %10s%n", "steady", "gc"));
            bytesPerOp.forEach((k, v) -> out.append(String.format(Locale.ROOT, "  %10.3f %10.3f B/op  %s%s%n", v,
                gcBytesPerOp.getOrDefault(k, Double.NaN), k,
                v > LIMIT_BYTES_PER_OP ? "   <-- above " + LIMIT_BYTES_PER_OP + " B/op" : "")));
            absent.forEach(a -> out.append("  absent (not in this build): ").append(a).append('\n'));
            if (!offenders.isEmpty())
            {
                out.append("allocating hot paths (> ").append(LIMIT_BYTES_PER_OP).append(" B/op):\n");
                offenders.forEach(o -> out.append("  ").append(o).append('\n'));
            }
            if (!problems.isEmpty())
            {
                out.append("not checked:\n");
                problems.forEach(p -> out.append("  ").append(p).append('\n'));
            }
            return out.toString();
        }
    }

    private AllocCheck()
    {
    }

    private static Entry required(final String title, final String... args)
    {
        return new Entry(new Selection.Step(title, List.of(args)), false, false);
    }

    private static Entry failurePath(final String title, final String... args)
    {
        return new Entry(new Selection.Step(title, List.of(args)), false, true);
    }

    private static Entry optional(final String title, final String... args)
    {
        return new Entry(new Selection.Step(title, List.of(args)), true, false);
    }

    /**
     * Runs the entries and judges them.
     *
     * @param entries  hot paths (normally {@link #HOT_PATHS}).
     * @param console  where progress goes.
     * @param log      where JMH's own output goes.
     * @return the outcome.
     */
    public static Outcome check(final List<Entry> entries, final PrintStream console, final PrintStream log)
    {
        final int feature = Runtime.version().feature();
        final List<CommandLineOptions> options = new ArrayList<>();
        final List<Plan> plans = new ArrayList<>();
        final List<Cell> all = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        final List<String> absent = new ArrayList<>();
        for (final Entry e : entries)
        {
            final List<String> args = new ArrayList<>(e.step().jmhArgs());
            args.addAll(ITERATIONS);
            try
            {
                final CommandLineOptions o = BenchRunner.options(new Selection.Step(e.step().title(), args), feature);
                final Plan p = Plan.of(BenchmarkList.defaultList(), o);
                options.add(o);
                plans.add(p);
                all.addAll(p.cells());
            }
            catch (final CommandLineOptionException ex)
            {
                throw new IllegalArgumentException(e.step().title() + ": " + ex.getMessage(), ex);
            }
        }
        final OutputFormat text = OutputFormatFactory.createFormatInstance(log, VerboseMode.NORMAL);
        console.printf(Locale.ROOT, "allocation check: %d hot-path runs, one %s iteration each, at most %s B/op " +
            "(failure paths count failed operations on purpose: marked expected)%n", all.size(),
            ITERATIONS.get(ITERATIONS.indexOf("-r") + 1), LIMIT_BYTES_PER_OP);
        final ProgressFormat progress = new ProgressFormat(Plan.of(all), text, console, false);
        final Map<String, Double> bytesPerOp = new LinkedHashMap<>();
        final Map<String, Double> gcBytesPerOp = new LinkedHashMap<>();
        for (int i = 0; i < entries.size(); i++)
        {
            final Entry e = entries.get(i);
            final Plan plan = plans.get(i);
            if (plan.cells().isEmpty())
            {
                (e.optional() ? absent : problems).add(e.step().title() + ": " + e.step().jmhArgs().get(0) +
                    " selects no benchmark");
                continue;
            }
            final Map<String, Cell> expected = new LinkedHashMap<>();
            plan.cells().forEach(c -> expected.put(c.key(), c));
            progress.expectErrors(e.failurePath() ? "expected: the 2019 mapping failure this path measures" : null);
            try
            {
                for (final RunResult r : BenchRunner.runLocked(options.get(i), progress, console))
                {
                    final Map<String, String> params = new LinkedHashMap<>();
                    r.getParams().getParamsKeys().forEach(k -> params.put(k, r.getParams().getParam(k)));
                    final Cell c = expected.remove(Cell.key(r.getParams().getBenchmark(), r.getParams().getMode(),
                        params));
                    final String label = c != null ? c.label() : r.getParams().getBenchmark() + " " + params;
                    final Result<?> norm = r.getSecondaryResults().get(METRIC);
                    if (norm == null || Double.isNaN(norm.getScore()))
                    {
                        problems.add(label + ": no " + METRIC + " (does this JVM count allocated bytes per thread?)");
                        continue;
                    }
                    bytesPerOp.put(label, norm.getScore());
                    final Result<?> gc = r.getSecondaryResults().get(GC_METRIC);
                    gcBytesPerOp.put(label, gc == null ? Double.NaN : gc.getScore());
                }
            }
            catch (final RunnerException ex)
            {
                problems.add(e.step().title() + ": JMH failed: " + ex.getMessage());
            }
            expected.values().forEach(c -> problems.add(c.label() + ": no result (the run failed; see the log)"));
        }
        log.flush();
        return new Outcome(bytesPerOp, gcBytesPerOp, offenders(bytesPerOp), problems, absent);
    }

    /**
     * @param bytesPerOp run label to bytes per operation.
     * @return the runs above {@link #LIMIT_BYTES_PER_OP}, as "label: N B/op".
     */
    static List<String> offenders(final Map<String, Double> bytesPerOp)
    {
        final List<String> out = new ArrayList<>();
        bytesPerOp.forEach((label, v) ->
        {
            if (v > LIMIT_BYTES_PER_OP)
            {
                out.add(String.format(Locale.ROOT, "%s: %.1f B/op", label, v));
            }
        });
        return out;
    }

    /**
     * {@code scripts/alloc-check}: exit status 0 when every hot path stays under the limit, 1 otherwise.
     *
     * @param args none.
     */
    public static void main(final String[] args)
    {
        final PrintStream console = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
            Utils.guessConsoleEncoding());
        if (args.length > 0)
        {
            console.println("usage: scripts/alloc-check   (runs the hot paths listed in vqdma.bench.run.AllocCheck " +
                "under -prof gc and ThreadAllocProfiler; fails above " + LIMIT_BYTES_PER_OP + " B/op)");
            System.exit(args[0].equals("-h") || args[0].equals("--help") ? 0 : 2);
        }
        final PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        final Outcome outcome = check(HOT_PATHS, console, quiet);
        console.println();
        console.print(outcome.describe());
        console.println(outcome.passed() ? "allocation check passed: every hot path <= " + LIMIT_BYTES_PER_OP + " B/op"
            : "allocation check FAILED");
        System.exit(outcome.passed() ? 0 : 1);
    }
}
