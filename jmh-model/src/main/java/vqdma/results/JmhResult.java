package vqdma.results;

import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * One entry of a JMH JSON result file ({@code -rf json}): a benchmark method in one mode with one combination of
 * parameters, its primary metric (the score) and its secondary metrics (aux counters, profiler results), each with
 * its raw samples per fork and iteration when the file has them. {@link JmhResults} reads and writes these.
 * <p>
 * Identity: {@link #key()} (name, sorted parameters, mode) matches a result across files; {@link #displayKey()}
 * (name and sorted parameters) is what people and regexes see.
 * <p>
 * Direction: for a time-per-op unit less is faster, for a throughput unit more is faster, whatever the mode (a
 * secondary metric such as {@code cpu.time.norm} is per op in a throughput benchmark); for other units the mode
 * decides ({@link #higherIsBetter(String)}).
 */
public final class JmhResult
{
    /**
     * Secondary metrics whose non-zero value means failed operations, by vqdma's benchmark convention
     * ({@code errors} for blk requests, {@code ioerr} for I/O errors a driver saw, {@code mapErrors} for failed DMA
     * mappings).
     */
    public static final Set<String> ERROR_COUNTERS = Set.of("errors", "ioerr", "mapErrors");

    /** Counters of operations that succeeded: a failing cell with none of them did no useful work at all. */
    public static final Set<String> SUCCESS_COUNTERS = Set.of("ok", "mapped");

    private final String benchmark;
    private final String mode;
    private final Map<String, String> params;
    private final Metric primary;
    private final Map<String, Metric> secondary;
    private final JsonObject source;

    /**
     * @param benchmark fully-qualified name, {@code vqdma.bench.dma.DmaMapBenchmark.mapUnmap}.
     * @param mode      JMH's short mode name: {@code thrpt}, {@code avgt}, {@code sample} or {@code ss}.
     * @param params    parameter name to value, in the file's order (copied).
     * @param primary   the score.
     * @param secondary every secondary metric by name, in the file's order (copied).
     * @throws IllegalArgumentException for an unknown mode.
     */
    public JmhResult(
        final String benchmark,
        final String mode,
        final Map<String, String> params,
        final Metric primary,
        final Map<String, Metric> secondary)
    {
        this(benchmark, mode, params, primary, secondary, null);
    }

    JmhResult(
        final String benchmark,
        final String mode,
        final Map<String, String> params,
        final Metric primary,
        final Map<String, Metric> secondary,
        final JsonObject source)
    {
        this.benchmark = Objects.requireNonNull(benchmark, "benchmark");
        this.mode = Objects.requireNonNull(mode, "mode");
        higherIsBetter(mode); // validates
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        this.primary = Objects.requireNonNull(primary, "primary");
        this.secondary = Collections.unmodifiableMap(new LinkedHashMap<>(secondary));
        this.source = source;
    }

    /**
     * @param mode JMH's short mode name.
     * @return {@code true} for throughput ({@code thrpt}: ops per time, more is faster), {@code false} for the
     *         time-per-op modes ({@code avgt}, {@code sample}, {@code ss}: less is faster).
     * @throws IllegalArgumentException for any other mode.
     */
    public static boolean higherIsBetter(final String mode)
    {
        switch (mode)
        {
            case "thrpt":
                return true;
            case "avgt":
            case "sample":
            case "ss":
                return false;
            default:
                throw new IllegalArgumentException("unknown JMH mode '" + mode + "' (expected thrpt, avgt, sample, ss)");
        }
    }

    /** @return the benchmark's full name. */
    public String benchmark()
    {
        return benchmark;
    }

    /** @return JMH's short mode name. */
    public String mode()
    {
        return mode;
    }

    /** @return the parameters, in the file's order. */
    public Map<String, String> params()
    {
        return params;
    }

    /**
     * @param name a parameter name.
     * @return its value, or {@code null}.
     */
    public String param(final String name)
    {
        return params.get(name);
    }

    /** @return the primary metric (the score). */
    public Metric primary()
    {
        return primary;
    }

    /** @return the secondary metrics by name, in the file's order. */
    public Map<String, Metric> secondary()
    {
        return secondary;
    }

    /**
     * @param name {@code null} (or {@code primary}) for the primary metric, else a secondary metric's name.
     * @return that metric, or {@code null} when this result does not have it.
     */
    public Metric metric(final String name)
    {
        return name == null || name.equals("primary") ? primary : secondary.get(name);
    }

    /**
     * The same result seen through one of its metrics: that metric becomes the primary one (and the secondary
     * metrics stay). How a tool that works on "the score" works on {@code cpu.time.norm} instead.
     *
     * @param name {@code null} for the primary metric (this result), else a secondary metric's name.
     * @return the result with that metric as its primary, or {@code null} when it does not have it.
     */
    public JmhResult onMetric(final String name)
    {
        final Metric m = metric(name);
        return m == null ? null : m == primary ? this : withPrimary(m);
    }

    /**
     * @param metric a primary metric.
     * @return this result with that primary metric.
     */
    public JmhResult withPrimary(final Metric metric)
    {
        return new JmhResult(benchmark, mode, params, metric, secondary, source);
    }

    /** @return the JSON object this result was read from, or {@code null}. */
    JsonObject source()
    {
        return source;
    }

    /**
     * @return whether more is faster for the primary metric: by its unit where it says, else by the mode.
     */
    public boolean higherIsBetter()
    {
        final Boolean byUnit = ScoreUnits.higherIsBetter(primary.unit());
        return byUnit != null ? byUnit : higherIsBetter(mode);
    }

    /**
     * The primary metric's raw samples as speeds: throughput as is, time per op inverted, so that for every unit
     * more is faster and a ratio candidate/baseline above 1 means the candidate is faster.
     *
     * @param toUnit the unit to express the samples in before inverting (of the same kind as the primary's unit);
     *               {@code null} for the primary's own unit.
     * @return a new array, per fork (empty without raw data).
     */
    public double[][] speeds(final String toUnit)
    {
        final double scale = toUnit == null ? 1.0 : ScoreUnits.scale(primary.unit(), toUnit);
        final boolean higher = higherIsBetter();
        final double[][] speeds = primary.samples();
        for (final double[] fork : speeds)
        {
            for (int i = 0; i < fork.length; i++)
            {
                final double v = fork[i] * scale;
                fork[i] = higher ? v : 1.0 / v;
            }
        }
        return speeds;
    }

    /**
     * @return the identity across files: {@link #displayKey()} and the mode, e.g.
     *         {@code vqdma.bench.ring.RingCycleBenchmark.cycle{dma=bypass,queueSize=256} avgt}.
     */
    public String key()
    {
        return displayKey() + " " + mode;
    }

    /**
     * @return the name followed by its parameters sorted by name, e.g.
     *         {@code vqdma.bench.ring.RingCycleBenchmark.cycle{dma=bypass,queueSize=256}}; just the name without
     *         parameters.
     */
    public String displayKey()
    {
        if (params.isEmpty())
        {
            return benchmark;
        }
        final List<String> parts = new ArrayList<>();
        new TreeMap<>(params).forEach((k, v) -> parts.add(k + "=" + v));
        return benchmark + "{" + String.join(",", parts) + "}";
    }

    /** @return the package under {@code vqdma.bench.} ({@code dma}), or {@code other}. */
    public String group()
    {
        final String prefix = "vqdma.bench.";
        if (benchmark.startsWith(prefix))
        {
            final int dot = benchmark.indexOf('.', prefix.length());
            if (dot > 0 && benchmark.indexOf('.', dot + 1) > 0)
            {
                return benchmark.substring(prefix.length(), dot);
            }
        }
        return "other";
    }

    /** @return the fully-qualified class name. */
    public String className()
    {
        return benchmark.substring(0, Math.max(0, benchmark.lastIndexOf('.')));
    }

    /** @return the class's simple name ({@code DmaMapBenchmark}). */
    public String simpleClassName()
    {
        final String c = className();
        return c.substring(c.lastIndexOf('.') + 1);
    }

    /** @return the method name ({@code mapUnmap}). */
    public String method()
    {
        return benchmark.substring(benchmark.lastIndexOf('.') + 1);
    }

    /** @return {@code Class.method}: how tables and charts name the benchmark. */
    public String shortName()
    {
        return simpleClassName() + "." + method();
    }

    /** @return how many forks the primary score comes from (0 without raw data). */
    public int forks()
    {
        return primary.forkCount();
    }

    /** @return how many raw samples the score is made of (forks x iterations; 0 without raw data). */
    public int samples()
    {
        return primary.sampleCount();
    }

    /** @return the sum of the error counters ({@link #ERROR_COUNTERS}) present; 0 if none is. */
    public double errorCount()
    {
        double sum = 0;
        for (final String name : ERROR_COUNTERS)
        {
            final Metric m = secondary.get(name);
            if (m != null && !Double.isNaN(m.score()))
            {
                sum += m.score();
            }
        }
        return sum;
    }

    /** @return whether any error counter is above zero. */
    public boolean failed()
    {
        return errorCount() > 0;
    }

    /**
     * @return whether the cell failed and did no useful work: an error counter above zero and every success
     * counter ({@link #SUCCESS_COUNTERS}) present at zero, or none present. Its time is then that of the failure path,
     * and a throughput computed from it would be a lie.
     */
    public boolean failedCompletely()
    {
        if (!failed())
        {
            return false;
        }
        for (final String name : SUCCESS_COUNTERS)
        {
            final Metric m = secondary.get(name);
            if (m != null && m.score() > 0)
            {
                return false;
            }
        }
        return true;
    }

    /** @return operations per second, whatever the mode and unit ({@code NaN} if the unit is not a time unit). */
    public double opsPerSecond()
    {
        return ScoreUnits.opsPerSecond(primary.score(), primary.unit());
    }

    /** @return nanoseconds per operation, whatever the mode and unit. */
    public double nanosPerOp()
    {
        return 1e9 / opsPerSecond();
    }

    /**
     * Round trips per second: the {@code roundTrips} aux counter when it is a rate (the two-thread benchmarks count
     * one per request, whatever the batch), else {@link #opsPerSecond()}.
     *
     * @return round trips (requests) per second.
     */
    public double roundTripsPerSecond()
    {
        final double rate = counterRate("roundTrips");
        return Double.isNaN(rate) ? opsPerSecond() : rate;
    }

    /**
     * Bytes per second: the {@code bytes} aux counter when it is a rate ({@code @AuxCounters(OPERATIONS)}), else
     * {@code size} x operations per second (one operation moves one buffer or request of {@code size} bytes).
     *
     * @return bytes per second, or {@code NaN} when neither is known.
     */
    public double bytesPerSecond()
    {
        final double rate = counterRate("bytes");
        if (!Double.isNaN(rate))
        {
            return rate;
        }
        final String size = params.get("size");
        if (size != null)
        {
            try
            {
                return Long.parseLong(size) * opsPerSecond();
            }
            catch (final NumberFormatException ex)
            {
                return Double.NaN;
            }
        }
        return Double.NaN;
    }

    /**
     * @param name an aux counter.
     * @return its value per second when it is a rate ({@code @AuxCounters(OPERATIONS)}); {@code NaN} when it is
     * absent or not a rate.
     */
    private double counterRate(final String name)
    {
        final Metric m = secondary.get(name);
        return m == null ? Double.NaN : ScoreUnits.opsPerSecond(m.score(), m.unit());
    }

    @Override
    public String toString()
    {
        return key() + " (" + primary.forkCount() + " forks, " + primary.unit() + ")";
    }

    /**
     * One metric: JMH's score with its error and unit, and the raw samples it was computed from, one row per fork and
     * one value per measurement iteration, when the file has them.
     * <p>
     * The fork is the unit of independence: iterations of one fork share a JIT compilation, a heap layout and a
     * code cache, so they agree with each other far more than with another fork's. Keeping the rows apart is the
     * point of the raw data. Values are as JMH wrote them: a sample JMH could not compute is {@code NaN} (JMH writes
     * the string {@code "NaN"}); tools that need finite positive samples check for themselves.
     */
    public static final class Metric
    {
        private final double score;
        private final double error;
        private final String unit;
        private final double[][] forks;

        /**
         * A metric without raw data.
         *
         * @param score the value ({@code NaN} when JMH could not compute it).
         * @param error half-width of JMH's 99.9% confidence interval ({@code NaN} when there are too few samples).
         * @param unit  JMH's unit string ({@code ns/op}, {@code ops/s}, {@code #}, {@code B/op}).
         */
        public Metric(final double score, final double error, final String unit)
        {
            this(score, error, unit, null);
        }

        /**
         * @param score the value.
         * @param error half-width of JMH's 99.9% confidence interval.
         * @param unit  JMH's unit string.
         * @param forks raw samples per fork (rows) and iteration (columns), copied; {@code null} when the file has
         *              none.
         */
        public Metric(final double score, final double error, final String unit, final double[][] forks)
        {
            this.score = score;
            this.error = error;
            this.unit = Objects.requireNonNull(unit, "unit");
            this.forks = forks == null ? null : copy(forks);
        }

        /**
         * A metric made of raw samples, its score their mean (as JMH computes it), its error unknown.
         *
         * @param unit  the unit.
         * @param forks samples per fork and iteration.
         * @return the metric.
         */
        public static Metric ofSamples(final String unit, final double[][] forks)
        {
            double sum = 0;
            long n = 0;
            for (final double[] fork : forks)
            {
                for (final double v : fork)
                {
                    sum += v;
                    n++;
                }
            }
            return new Metric(n == 0 ? Double.NaN : sum / n, Double.NaN, unit, forks);
        }

        /** @return the value. */
        public double score()
        {
            return score;
        }

        /** @return half-width of JMH's 99.9% confidence interval, {@code NaN} when unknown. */
        public double error()
        {
            return error;
        }

        /** @return the unit. */
        public String unit()
        {
            return unit;
        }

        /** @return whether the file gave raw samples (possibly none: an empty array). */
        public boolean hasRawData()
        {
            return forks != null;
        }

        /** @return the number of forks (rows of samples); 0 without raw data. */
        public int forkCount()
        {
            return forks == null ? 0 : forks.length;
        }

        /**
         * @param fork a fork index, from 0.
         * @return a copy of that fork's iteration samples.
         */
        public double[] fork(final int fork)
        {
            return forks[fork].clone();
        }

        /** @return a copy of all samples, per fork (empty without raw data). */
        public double[][] samples()
        {
            return forks == null ? new double[0][] : copy(forks);
        }

        /** @return the lowest sample of all forks, {@code NaN} without raw data (JMH's 0th percentile). */
        public double min()
        {
            double min = Double.NaN;
            for (int f = 0; f < forkCount(); f++)
            {
                for (final double v : forks[f])
                {
                    min = Double.isNaN(min) || v < min ? v : min;
                }
            }
            return min;
        }

        /** @return the highest sample of all forks, {@code NaN} without raw data (JMH's 100th percentile). */
        public double max()
        {
            double max = Double.NaN;
            for (int f = 0; f < forkCount(); f++)
            {
                for (final double v : forks[f])
                {
                    max = Double.isNaN(max) || v > max ? v : max;
                }
            }
            return max;
        }

        /** @return the number of samples, all forks together. */
        public int sampleCount()
        {
            int n = 0;
            for (int f = 0; f < forkCount(); f++)
            {
                n += forks[f].length;
            }
            return n;
        }

        private static double[][] copy(final double[][] forks)
        {
            final double[][] copy = new double[forks.length][];
            for (int f = 0; f < forks.length; f++)
            {
                copy[f] = forks[f].clone();
            }
            return copy;
        }

        @Override
        public String toString()
        {
            return score + " \u00b1 " + error + " " + unit + (forks == null ? "" : " (" + forks.length + " forks)");
        }
    }
}
