package vqdma.report;

import java.util.Locale;

/** How the report writes numbers and sizes (JMH's units themselves: {@link vqdma.results.ScoreUnits}). */
final class Units
{
    private Units()
    {
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
