package vqdma.results;

import java.util.Locale;

/**
 * JMH's score units: time per operation ({@code ns/op}, {@code us/op}, {@code ms/op}, {@code s/op},
 * {@code min/op}, {@code hr/op}) and throughput ({@code ops/ns} ... {@code ops/hr}), converted within their kind or
 * to operations per second. Other units ({@code #} for event counters, {@code B/op}, {@code MB/sec}) are not
 * rates of operations and convert to nothing. {@code µs} (micro sign or Greek mu) reads as {@code us}.
 */
public final class ScoreUnits
{
    private ScoreUnits()
    {
    }

    /**
     * The factor that converts a value in one unit into another of the same kind.
     *
     * @param from the unit of the value.
     * @param to   the unit wanted.
     * @return the multiplier.
     * @throws IllegalArgumentException if the units are not both time per op or both throughput, naming both.
     */
    public static double scale(final String from, final String to)
    {
        if (from.equals(to))
        {
            return 1.0;
        }
        final String f = normalized(from);
        final String t = normalized(to);
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

    /**
     * @param score a score.
     * @param unit  its unit.
     * @return operations per second, or {@code NaN} when the unit is not a time per op or a throughput.
     */
    public static double opsPerSecond(final double score, final String unit)
    {
        if (unit == null)
        {
            return Double.NaN;
        }
        final String u = normalized(unit);
        final int slash = u.indexOf('/');
        if (slash < 0)
        {
            return Double.NaN;
        }
        final String num = u.substring(0, slash);
        final String den = u.substring(slash + 1);
        if (den.equals("op"))
        {
            final double seconds = secondsOrNaN(num);
            return 1 / (score * seconds);
        }
        if (num.equals("ops"))
        {
            return score / secondsOrNaN(den);
        }
        return Double.NaN;
    }

    /**
     * @param unit a unit.
     * @return {@code true} for throughput units ({@code ops/...}: more is faster), {@code false} for time per op
     *         ({@code .../op}: less is faster), {@code null} for any other unit (the mode decides).
     */
    public static Boolean higherIsBetter(final String unit)
    {
        final String u = normalized(unit);
        if (u.startsWith("ops/"))
        {
            return Boolean.TRUE;
        }
        if (u.endsWith("/op"))
        {
            return Boolean.FALSE;
        }
        return null;
    }

    private static String normalized(final String unit)
    {
        return unit.trim().toLowerCase(Locale.ROOT).replace('\u00b5', 'u').replace('\u03bc', 'u');
    }

    private static double seconds(final String unit, final String from, final String to)
    {
        final double s = secondsOrNaN(unit);
        if (Double.isNaN(s))
        {
            throw new IllegalArgumentException("cannot compare scores in " + from + " with scores in " + to +
                ": unknown time unit '" + unit + "'");
        }
        return s;
    }

    private static double secondsOrNaN(final String unit)
    {
        switch (unit)
        {
            case "ns": return 1e-9;
            case "us": return 1e-6;
            case "ms": return 1e-3;
            case "s": return 1.0;
            case "min": return 60.0;
            case "hr":
            case "h": return 3600.0;
            default: return Double.NaN;
        }
    }
}
