package vqdma.report;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One entry of a JMH JSON result file: a benchmark method in one mode with one combination of parameters, its
 * primary score and its secondary metrics (aux counters, profiler results).
 *
 * @param benchmark fully-qualified name, {@code vqdma.bench.dma.DmaMapBenchmark.mapUnmap}.
 * @param mode      JMH's short mode name: {@code avgt}, {@code thrpt}, {@code sample}, {@code ss}.
 * @param params    parameter name to value, in the file's order.
 * @param primary   the score.
 * @param secondary every secondary metric by name, in the file's order.
 * @param samples   how many raw samples the score is made of (forks x iterations).
 * @param forks     how many forks they came from (0 when the file does not say).
 */
public record JmhResult(String benchmark, String mode, Map<String, String> params, Metric primary,
    Map<String, Metric> secondary, int samples, int forks)
{
    /**
     * Secondary metrics whose non-zero value means failed operations, by the project's convention ({@code errors}
     * for blk requests, {@code ioerr} for I/O errors a driver saw, {@code mapErrors} for failed DMA mappings).
     */
    public static final Set<String> ERROR_COUNTERS = Set.of("errors", "ioerr", "mapErrors");

    /** Counters of operations that succeeded: a failing cell with none of them did no useful work at all. */
    public static final Set<String> SUCCESS_COUNTERS = Set.of("ok", "mapped");

    /**
     * A score with its error and unit.
     *
     * @param score the value.
     * @param error half-width of JMH's 99.9% confidence interval ({@code NaN} when there are too few samples).
     * @param unit  JMH's unit string ({@code ns/op}, {@code ops/s}, {@code #}, {@code B/op}).
     * @param min   the lowest sample (JMH's 0th percentile; {@code NaN} when the file does not say).
     * @param max   the highest sample (JMH's 100th percentile; {@code NaN} when the file does not say).
     */
    public record Metric(double score, double error, String unit, double min, double max)
    {
        /** A metric without its range. */
        public Metric(final double score, final double error, final String unit)
        {
            this(score, error, unit, Double.NaN, Double.NaN);
        }
    }

    /** A result whose forks are not known. */
    public JmhResult(final String benchmark, final String mode, final Map<String, String> params, final Metric primary,
        final Map<String, Metric> secondary, final int samples)
    {
        this(benchmark, mode, params, primary, secondary, samples, 0);
    }

    /** Copies the maps, read-only. */
    public JmhResult
    {
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        secondary = Collections.unmodifiableMap(new LinkedHashMap<>(secondary));
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

    /**
     * @param name a parameter name.
     * @return its value, or {@code null}.
     */
    public String param(final String name)
    {
        return params.get(name);
    }

    /** @return benchmark, mode and parameters sorted: what matches a result with its baseline. */
    public String key()
    {
        return benchmark + " " + mode + " " + new TreeMap<>(params);
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
        return Units.opsPerSecond(primary.score(), primary.unit());
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
     * @param name an aux counter.
     * @return its value per second when it is a rate ({@code @AuxCounters(OPERATIONS)}); {@code NaN} when it is
     * absent or not a rate.
     */
    private double counterRate(final String name)
    {
        final Metric m = secondary.get(name);
        return m == null ? Double.NaN : Units.opsPerSecond(m.score(), m.unit());
    }

    /** @return nanoseconds per operation, whatever the mode and unit. */
    public double nanosPerOp()
    {
        return 1e9 / opsPerSecond();
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

    /** @return {@code Class.method}: how tables and charts name the benchmark. */
    public String shortName()
    {
        return simpleClassName() + "." + method();
    }
}
