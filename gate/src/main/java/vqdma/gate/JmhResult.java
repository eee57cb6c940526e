package vqdma.gate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One benchmark of a JMH result file: its identity (benchmark, sorted parameters, mode) and the raw samples of its
 * primary metric, one row per fork and one value per measurement iteration.
 * <p>
 * The fork is the gate's unit of independence: iterations of one fork share a JIT compilation, a heap layout and a
 * code cache, so they agree with each other far more than with another fork's. Keeping the rows apart is the point
 * of this class.
 */
public final class JmhResult
{
    private final String benchmark;
    private final String mode;
    private final Map<String, String> params;
    private final String unit;
    private final double[][] forks;
    private final Map<String, Object> source;

    /**
     * @param benchmark the benchmark's full name ({@code vqdma.bench.ring.RingCycleBenchmark.cycle}).
     * @param mode      JMH's short mode name: {@code thrpt}, {@code avgt}, {@code sample} or {@code ss}.
     * @param params    the {@code @Param} values; copied and sorted by name.
     * @param unit      the score unit as JMH writes it ({@code ns/op}, {@code ops/s}).
     * @param forks     samples per fork (rows) and iteration (columns); each row non-empty, every value finite and
     *                  positive. Copied.
     * @param source    the JSON object it was read from, kept for {@link JmhResults#merge}; may be {@code null}.
     */
    public JmhResult(
        final String benchmark,
        final String mode,
        final Map<String, String> params,
        final String unit,
        final double[][] forks,
        final Map<String, Object> source)
    {
        this.benchmark = Objects.requireNonNull(benchmark, "benchmark");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.params = Collections.unmodifiableMap(new TreeMap<>(params));
        this.unit = Objects.requireNonNull(unit, "unit");
        higherIsBetter(mode); // validates
        if (forks.length == 0)
        {
            throw new IllegalArgumentException(displayKey() + ": no forks in the raw data");
        }
        this.forks = new double[forks.length][];
        for (int f = 0; f < forks.length; f++)
        {
            if (forks[f].length == 0)
            {
                throw new IllegalArgumentException(displayKey() + ": fork " + (f + 1) + " has no iterations");
            }
            for (int i = 0; i < forks[f].length; i++)
            {
                final double v = forks[f][i];
                if (!(v > 0) || !Double.isFinite(v))
                {
                    throw new IllegalArgumentException(displayKey() + ": fork " + (f + 1) + " iteration " + (i + 1) +
                        " has score " + v + ", expected a finite positive number");
                }
            }
            this.forks[f] = forks[f].clone();
        }
        this.source = source;
    }

    /**
     * @return whether more is faster for this result: by the unit where it says ({@code ops/...} more is faster,
     *         {@code .../op} less is faster: secondary metrics such as {@code cpu.time.norm} are per op whatever the
     *         mode), else by the mode ({@link #higherIsBetter(String)}).
     */
    public boolean higherIsBetter()
    {
        if (unit.startsWith("ops/"))
        {
            return true;
        }
        if (unit.endsWith("/op"))
        {
            return false;
        }
        return higherIsBetter(mode);
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

    /** @return the parameters, sorted by name. */
    public Map<String, String> params()
    {
        return params;
    }

    /** @return the unit of the samples. */
    public String unit()
    {
        return unit;
    }

    /** @return the number of forks (rows of samples). */
    public int forkCount()
    {
        return forks.length;
    }

    /**
     * @param fork a fork index, from 0.
     * @return a copy of that fork's iteration samples, in {@link #unit()}.
     */
    public double[] fork(final int fork)
    {
        return forks[fork].clone();
    }

    /** @return a copy of all samples, per fork. */
    public double[][] samples()
    {
        final double[][] copy = new double[forks.length][];
        for (int f = 0; f < forks.length; f++)
        {
            copy[f] = forks[f].clone();
        }
        return copy;
    }

    /**
     * @param toUnit a unit of the same kind as {@link #unit()}.
     * @return a copy of all samples, per fork, converted to that unit.
     */
    public double[][] samplesIn(final String toUnit)
    {
        final double scale = unitScale(unit, toUnit);
        final double[][] copy = samples();
        for (final double[] fork : copy)
        {
            for (int i = 0; i < fork.length; i++)
            {
                fork[i] *= scale;
            }
        }
        return copy;
    }

    /**
     * The samples as speeds: throughput as is, time per op inverted, so that for every mode more is faster and the
     * ratio candidate/baseline above 1 means the candidate is faster.
     *
     * @param toUnit the unit to express the samples in before inverting (a time-per-op unit for a time mode, a
     *               throughput unit for thrpt); {@code null} for {@link #unit()}.
     * @return a new array, per fork.
     */
    public double[][] speeds(final String toUnit)
    {
        final double scale = toUnit == null ? 1.0 : unitScale(unit, toUnit);
        final boolean higher = higherIsBetter();
        final double[][] speeds = new double[forks.length][];
        for (int f = 0; f < forks.length; f++)
        {
            speeds[f] = new double[forks[f].length];
            for (int i = 0; i < forks[f].length; i++)
            {
                final double v = forks[f][i] * scale;
                speeds[f][i] = higher ? v : 1.0 / v;
            }
        }
        return speeds;
    }

    /** @return the identity across files: benchmark, parameters and mode. */
    public String identity()
    {
        return displayKey() + " " + mode;
    }

    /**
     * @return the key users see and normalization rules match: the benchmark name followed by its parameters, e.g.
     *         {@code vqdma.bench.ring.RingCycleBenchmark.cycle{dma=bypass,queueSize=256}}; just the name without
     *         parameters.
     */
    public String displayKey()
    {
        if (params.isEmpty())
        {
            return benchmark;
        }
        final StringBuilder sb = new StringBuilder(benchmark).append('{');
        final List<String> parts = new ArrayList<>();
        params.forEach((k, v) -> parts.add(k + "=" + v));
        return sb.append(String.join(",", parts)).append('}').toString();
    }

    /** @return the JSON object this result was read from, or {@code null}. */
    Map<String, Object> source()
    {
        return source;
    }

    /**
     * The factor that converts a value in one JMH unit into another of the same kind: time per op
     * ({@code ns/op}, {@code us/op}, {@code ms/op}, {@code s/op}, {@code min/op}, {@code hr/op}) or throughput
     * ({@code ops/ns} ... {@code ops/hr}).
     *
     * @param from the unit of the value.
     * @param to   the unit wanted.
     * @return the multiplier.
     * @throws IllegalArgumentException if the units are not of the same kind, naming both.
     */
    public static double unitScale(final String from, final String to)
    {
        if (from.equals(to))
        {
            return 1.0;
        }
        final String f = from.toLowerCase(Locale.ROOT);
        final String t = to.toLowerCase(Locale.ROOT);
        if (f.endsWith("/op") && t.endsWith("/op"))
        {
            return seconds(f.substring(0, f.length() - 3), from, to) / seconds(t.substring(0, t.length() - 3), from, to);
        }
        if (f.startsWith("ops/") && t.startsWith("ops/"))
        {
            return seconds(t.substring(4), from, to) / seconds(f.substring(4), from, to);
        }
        throw new IllegalArgumentException("cannot compare scores in " + from + " with scores in " + to);
    }

    private static double seconds(final String unit, final String from, final String to)
    {
        switch (unit)
        {
            case "ns": return 1e-9;
            case "us": return 1e-6;
            case "ms": return 1e-3;
            case "s": return 1.0;
            case "min": return 60.0;
            case "hr": return 3600.0;
            default:
                throw new IllegalArgumentException("cannot compare scores in " + from + " with scores in " + to +
                    ": unknown time unit '" + unit + "'");
        }
    }

    @Override
    public String toString()
    {
        return identity() + " (" + forks.length + " forks, " + unit + ")";
    }
}
