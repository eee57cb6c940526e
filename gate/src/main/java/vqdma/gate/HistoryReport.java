package vqdma.gate;

import java.util.Locale;

/** The history ({@link History}) as Markdown: one table per benchmark, its change points marked, a summary line. */
public final class HistoryReport
{
    private HistoryReport()
    {
    }

    /**
     * @param report the history.
     * @return Markdown text; its last line, {@code history: runs=N benchmarks=M changes=K slower=S faster=F}, is for
     *         scripts, and each change point also has a line {@code - change: KEY at RUN: ratio R (...), p P}.
     */
    public static String render(final History.Report report)
    {
        final History.Settings s = report.settings();
        final StringBuilder sb = new StringBuilder();
        sb.append("### Perf history: ").append(report.runs().size()).append(" runs (")
            .append(s.metric() == null ? "JMH score" : s.metric()).append(", ")
            .append(s.forkStatistic() == Stats.ForkStatistic.MIN ? "fastest iteration per fork" :
                "median iteration per fork").append(", ")
            .append(s.level() == Stats.Level.FAST_QUARTILE ? "fast quartile of forks" : "median fork").append(")\n\n");
        sb.append(String.format(Locale.ROOT, "Change points by E-divisive means (Matteson and James 2014, as in " +
            "Hunter / Apache Otava) on the log of each run's speed, normalized by the run's reference where the " +
            "configuration says so; each accepted by a permutation test at p <= %s (%d shuffles), at least %d runs " +
            "on each side. Change = median speed after / before: **above 1 faster**. Benchmarks in at least %d " +
            "runs.%n%n", num(s.alpha()), s.permutations(), s.minSize(), s.minRuns));
        int slower = 0;
        int faster = 0;
        final StringBuilder changes = new StringBuilder();
        for (final History.Series series : report.series())
        {
            sb.append("#### ").append(escape(MarkdownReport.shortName(series.displayKey()))).append(' ')
                .append(series.mode());
            if (series.reference() != null)
            {
                sb.append(" (normalized by ").append(escape(MarkdownReport.shortName(series.reference()))).append(')');
            }
            sb.append("\n\n| # | run | date | git | forks | level | ")
                .append(series.reference() != null ? "speed / reference speed" : "").append(" | change |\n");
            sb.append("|---:|---|---|---|---:|---:|---:|---|\n");
            for (int i = 0; i < series.points().size(); i++)
            {
                final History.Point p = series.points().get(i);
                String change = "";
                for (final History.Change c : series.changes())
                {
                    if (c.index() == i)
                    {
                        change = "**" + ratio(c.ratio()) + "**, p " + pValue(c.p());
                    }
                }
                sb.append("| ").append(i + 1)
                    .append(" | ").append(escape(p.run().name()))
                    .append(" | ").append(p.run().date() == null ? "" : date(p.run().date()))
                    .append(" | ").append(p.run().git() == null ? "" : escape(p.run().git()))
                    .append(" | ").append(p.forks())
                    .append(" | ").append(MarkdownReport.level(p.level(), p.unit()))
                    .append(" | ").append(Double.isNaN(p.normalized()) ? "" : String.format(Locale.ROOT, "%.4g",
                        p.normalized()))
                    .append(" | ").append(change).append(" |\n");
            }
            if (series.skipped() > 0)
            {
                sb.append("\n").append(series.skipped()).append(" run(s) without the reference left out.\n");
            }
            sb.append('\n');
            for (final History.Change c : series.changes())
            {
                if (c.ratio() < 1)
                {
                    slower++;
                }
                else
                {
                    faster++;
                }
                changes.append("- change: ").append(series.key()).append(" at ")
                    .append(series.points().get(c.index()).run().name()).append(": ").append(ratio(c.ratio()))
                    .append(", p ").append(pValue(c.p())).append('\n');
            }
        }
        if (report.series().isEmpty())
        {
            sb.append("No benchmark appears in ").append(s.minRuns).append(" runs with ")
                .append(s.metric() == null ? "JMH's score" : "the metric " + s.metric()).append(".\n\n");
        }
        sb.append(changes.length() == 0 ? "No change points.\n" : changes.toString());
        for (final String w : report.warnings())
        {
            sb.append("- warning: ").append(escape(w)).append('\n');
        }
        sb.append('\n').append(String.format(Locale.ROOT, "history: runs=%d benchmarks=%d changes=%d slower=%d " +
            "faster=%d", report.runs().size(), report.series().size(), slower + faster, slower, faster));
        return sb.append('\n').toString();
    }

    private static String ratio(final double ratio)
    {
        return String.format(Locale.ROOT, "%.3f (%+.1f%%, %s)", ratio, (ratio - 1) * 100,
            ratio < 1 ? "slower" : "faster");
    }

    private static String date(final String iso)
    {
        // 2026-11-26T10:37:47+00:00 -> 2026-11-26 10:37
        return iso.length() >= 16 && iso.charAt(10) == 'T' ? iso.substring(0, 10) + " " + iso.substring(11, 16) : iso;
    }

    private static String num(final double v)
    {
        return String.format(Locale.ROOT, "%.3g", v);
    }

    private static String pValue(final double p)
    {
        return p < 0.001 ? "<0.001" : String.format(Locale.ROOT, "%.3f", p);
    }

    private static String escape(final String text)
    {
        return text.replace("|", "\\|");
    }
}
