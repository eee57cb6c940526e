package vqdma.gate;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * The gate's report as a Markdown table, for CI logs and job summaries.
 */
public final class MarkdownReport
{
    private MarkdownReport()
    {
    }

    /**
     * @param report the gate's report.
     * @param title  a heading (e.g. the two files compared).
     * @return Markdown text.
     */
    public static String render(final Gate.Report report, final String title)
    {
        final Gate.Options o = report.options();
        final StringBuilder sb = new StringBuilder();
        sb.append("### ").append(title).append("\n\n");
        sb.append(String.format(Locale.ROOT, "Speed ratio = candidate speed / baseline speed: **above 1 the candidate " +
            "is faster** (thrpt: candidate/baseline score; avgt, sample, ss: baseline/candidate time). Levels are " +
            "the %s over forks of each fork's %s. %d%% bootstrap interval over forks then iterations; p: one-sided " +
            "%s on the fork values in the direction the ratio leans (slower below 1, faster above; a normalized " +
            "benchmark's test relabels its reference's forks too), Holm-adjusted " +
            "over the %d benchmarks for that direction; threshold %s, alpha %s.%n%n",
            o.level() == Stats.Level.MEDIAN ? "median" : "fast quartile",
            o.forkStatistic() == Stats.ForkStatistic.MIN ? "fastest iteration" : "median iteration",
            Math.round(o.confidence() * 100),
            o.level() == Stats.Level.MEDIAN ? "Mann-Whitney U" : "permutation test of the fast quartile",
            report.tested(), thresholds(o), num(o.alpha())));
        sb.append("| benchmark | mode | baseline | candidate | forks | speed ratio | ")
            .append(Math.round(o.confidence() * 100)).append("% CI | p (Holm) | verdict | note |\n");
        sb.append("|---|---|---:|---:|---:|---:|---|---:|---|---|\n");
        for (final Comparison c : report.rows())
        {
            sb.append("| ").append(escape(shortName(c.key())))
                .append(" | ").append(c.mode())
                .append(" | ").append(level(c.baselineLevel(), c.unit()))
                .append(" | ").append(level(c.candidateLevel(), c.unit()))
                .append(" | ").append(c.baselineForks()).append('/').append(c.candidateForks())
                .append(" | ").append(ratio(c))
                .append(" | ").append(Double.isNaN(c.ciLow()) ? "" : "[" + num(c.ciLow()) + ", " + num(c.ciHigh()) + "]")
                .append(" | ").append(Double.isNaN(c.pAdjusted()) ? "" : pValue(c.pAdjusted()))
                .append(" | ").append(c.verdict() == Verdict.REGRESSED ? "**regressed**" : c.verdict().label())
                .append(" | ").append(escape(note(c)))
                .append(" |\n");
        }
        sb.append('\n');
        for (final String w : report.warnings())
        {
            sb.append("- warning: ").append(escape(w)).append('\n');
        }
        final String beyond = o.thresholds().isEmpty() ? "by more than " + percent(o.threshold())
            : "beyond its threshold";
        sb.append(report.regressed()
            ? "**FAILED**: " + report.count(Verdict.REGRESSED) + " benchmark(s) regressed " + beyond + ".\n"
            : "passed: no benchmark regressed " + beyond + ".\n");
        return sb.toString();
    }

    /**
     * @param key a benchmark's name with its parameters ({@code vqdma.bench.ring.RingCycleBenchmark.cycle{...}}).
     * @return the class and method with the parameters: the package is noise in a table.
     */
    public static String shortName(final String key)
    {
        final int brace = key.indexOf('{');
        final String name = brace < 0 ? key : key.substring(0, brace);
        final String params = brace < 0 ? "" : key.substring(brace);
        final int method = name.lastIndexOf('.');
        final int type = method <= 0 ? -1 : name.lastIndexOf('.', method - 1);
        return name.substring(type + 1) + params;
    }

    private static String ratio(final Comparison c)
    {
        if (Double.isNaN(c.ratio()))
        {
            return "";
        }
        final String change = String.format(Locale.ROOT, "%+.1f%%", (c.ratio() - 1) * 100);
        return num(c.ratio()) + " (" + change + ")";
    }

    private static String thresholds(final Gate.Options o)
    {
        if (o.thresholds().isEmpty())
        {
            return percent(o.threshold());
        }
        final StringBuilder sb = new StringBuilder(percent(o.threshold())).append(" (");
        for (int i = 0; i < o.thresholds().size(); i++)
        {
            final Gate.CellThreshold t = o.thresholds().get(i);
            sb.append(i == 0 ? "" : ", ").append(percent(t.threshold())).append(" for `").append(t.benchmark().pattern())
                .append("`");
        }
        return sb.append(")").toString();
    }

    private static String note(final Comparison c)
    {
        if (c.reference() == null)
        {
            return c.note();
        }
        final String by = String.format(Locale.ROOT, "normalized by %s (raw %s)", shortName(c.reference()),
            num(c.rawRatio()));
        return c.note().isEmpty() ? by : c.note() + "; " + by;
    }

    static String level(final double value, final String unit)
    {
        if (Double.isNaN(value))
        {
            return "";
        }
        final String n;
        if (value >= 100)
        {
            n = String.format(Locale.ROOT, "%,.0f", value);
        }
        else if (value >= 1)
        {
            n = String.format(Locale.ROOT, "%.2f", value);
        }
        else
        {
            n = String.format(Locale.ROOT, "%.3g", value);
        }
        return n + " " + unit;
    }

    private static String num(final double value)
    {
        return String.format(Locale.ROOT, "%.3f", value);
    }

    private static String pValue(final double p)
    {
        return p < 0.001 ? "<0.001" : String.format(Locale.ROOT, "%.3f", p);
    }

    static String percent(final double fraction)
    {
        return new BigDecimal(String.format(Locale.ROOT, "%.3g", fraction * 100)).stripTrailingZeros().toPlainString() +
            "%";
    }

    private static String escape(final String text)
    {
        return text.replace("|", "\\|");
    }
}
