package vqdma.report;

import java.util.Locale;

/** JMH's score units, converted to one scale so that modes and time units compare. */
final class Units
{
    private Units()
    {
    }

    /**
     * @param score a score.
     * @param unit  its JMH unit: {@code ops/s}, {@code ops/ms}, {@code ops/us}, {@code ops/ns}, {@code ops/min},
     *              {@code s/op}, {@code ms/op}, {@code us/op}, {@code ns/op}, {@code min/op}.
     * @return operations per second, or {@code NaN} for any other unit ({@code #}, {@code B/op}).
     */
    static double opsPerSecond(final double score, final String unit)
    {
        if (unit == null)
        {
            return Double.NaN;
        }
        final String u = unit.trim().toLowerCase(Locale.ROOT).replace('\u00b5', 'u').replace('\u03bc', 'u');
        final int slash = u.indexOf('/');
        if (slash < 0)
        {
            return Double.NaN;
        }
        final String num = u.substring(0, slash);
        final String den = u.substring(slash + 1);
        if (den.equals("op"))
        {
            final double seconds = seconds(num);
            return Double.isNaN(seconds) ? Double.NaN : 1 / (score * seconds);
        }
        if (num.equals("ops"))
        {
            final double seconds = seconds(den);
            return Double.isNaN(seconds) ? Double.NaN : score / seconds;
        }
        return Double.NaN;
    }

    private static double seconds(final String timeUnit)
    {
        return switch (timeUnit)
        {
            case "ns" -> 1e-9;
            case "us" -> 1e-6;
            case "ms" -> 1e-3;
            case "s" -> 1;
            case "min" -> 60;
            case "hr", "h" -> 3600;
            default -> Double.NaN;
        };
    }

    /**
     * @param bytes a byte count.
     * @return it as the benchmarks' parameters read: {@code 4 KiB}, {@code 1 MiB}, {@code 512 B}.
     */
    static String size(final long bytes)
    {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0)
        {
            return bytes / (1 << 20) + " MiB";
        }
        if (bytes >= 1024 && bytes % 1024 == 0)
        {
            return bytes / 1024 + " KiB";
        }
        return bytes + " B";
    }

    /**
     * The one number format of the report, the same in tables, Markdown and tests: four significant digits, plain
     * from 0.001 to a million, scientific beyond; {@code -} for a missing value.
     *
     * @param v a value.
     * @return it formatted.
     */
    static String number(final double v)
    {
        if (Double.isNaN(v) || Double.isInfinite(v))
        {
            return "-";
        }
        if (v == 0)
        {
            return "0";
        }
        final double a = Math.abs(v);
        if (a >= 1e6 || a < 1e-3)
        {
            return String.format(Locale.ROOT, "%.3e", v);
        }
        final int digits = Math.max(0, 3 - (int)Math.floor(Math.log10(a)));
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
