package vqdma.report;

import vqdma.results.JmhResult;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code report.md}: the summary for a pull request or a terminal: the run's facts, the charts as image links, the
 * failing cells, the baseline comparison, and one table per benchmark class.
 */
final class MarkdownReport
{
    private MarkdownReport()
    {
    }

    /**
     * @param r the report.
     * @return the Markdown text.
     */
    static String render(final Report r)
    {
        final StringBuilder m = new StringBuilder(32 * 1024);
        m.append("# vqdma benchmarks: ").append(r.name()).append("\n\n").append(HtmlReport.summaryLine(r.facts()))
            .append("\n\n").append(r.results().size()).append(" results, ").append(r.figures().size())
            .append(" charts; the full page is `report.html`, the raw data `jmh.json` (JMH format).\n\n");
        m.append("## Charts\n\n");
        for (final Figure f : r.figures())
        {
            m.append("### ").append(f.title()).append("\n\n![").append(f.title()).append("](charts/")
                .append(f.fileName()).append(")\n\n").append(f.caption()).append('\n');
            if (!f.failed().isEmpty())
            {
                m.append("\nFailing cells (error counters above zero):\n\n");
                f.failed().forEach(c -> m.append("- ").append(c).append('\n'));
            }
            m.append('\n');
        }
        if (r.comparison() != null)
        {
            final Comparison c = r.comparison();
            m.append("## Baseline comparison\n\n").append("This run against **").append(r.baselineName())
                .append("**. Speed ratio now / baseline (above 1 is faster); faster or slower only when the 99.9% ")
                .append("intervals do not overlap and the ratio is off by more than ")
                .append(Math.round(Comparison.THRESHOLD * 100)).append("%; unclear when it is off by more but the ")
                .append("intervals overlap (too few or too noisy samples to tell).\n\n")
                .append("| benchmark | parameters | jmh mode | baseline | this run | unit | ratio | verdict |\n")
                .append("| --- | --- | --- | ---: | ---: | --- | ---: | --- |\n");
            for (final Comparison.Row row : c.rows)
            {
                final JmhResult x = row.run();
                m.append("| ").append(x.shortName()).append(" | ").append(cell(Charts.label(x.params(),
                        x.params().keySet()))).append(" | ").append(x.mode()).append(" | ")
                    .append(Units.number(row.baseline().primary().score())).append(" | ")
                    .append(Units.number(x.primary().score())).append(" | ").append(x.primary().unit()).append(" | ")
                    .append(Units.number(row.ratio())).append(" | ").append(row.verdict()).append(" |\n");
            }
            m.append("\n").append(c.onlyInRun.size()).append(" cells only in this run, ")
                .append(c.onlyInBaseline.size()).append(" only in the baseline.\n\n");
        }
        m.append("## Results\n\n").append(Report.SPREAD_NOTE).append(' ').append(Report.FORKS_NOTE).append("\n\n");
        final List<JmhResult> modal = r.results().stream().filter(Report::forksDisagree).toList();
        if (!modal.isEmpty())
        {
            m.append("**Forks disagree by more than 10%** in ").append(modal.size())
                .append(modal.size() == 1 ? " cell" : " cells").append(":\n\n");
            modal.forEach(x -> m.append("- `").append(x.displayKey()).append("`: ").append(Report.forkSpread(x))
                .append('\n'));
            m.append('\n');
        }
        for (final Map.Entry<String, List<JmhResult>> e : r.byClass().entrySet())
        {
            final Set<String> params = new LinkedHashSet<>();
            final Set<String> counters = new LinkedHashSet<>();
            for (final JmhResult x : e.getValue())
            {
                params.addAll(x.params().keySet());
                x.secondary().keySet().stream().filter(HtmlReport::shown).forEach(counters::add);
            }
            m.append("### ").append(e.getKey()).append("\n\n| method |");
            params.forEach(p -> m.append(' ').append(p).append(" |"));
            m.append(" jmh mode | score | lowest..highest | n | forks | unit |");
            counters.forEach(c -> m.append(' ').append(c).append(" |"));
            m.append("\n| --- |");
            params.forEach(p -> m.append(" --- |"));
            m.append(" --- | ---: | ---: | ---: | ---: | --- |");
            counters.forEach(c -> m.append(" ---: |"));
            m.append('\n');
            for (final JmhResult x : e.getValue())
            {
                m.append("| ").append(x.method()).append(x.failed() ? " \u2717" : "").append(" |");
                params.forEach(p -> m.append(' ').append(cell(x.param(p) == null ? "" : x.param(p))).append(" |"));
                m.append(' ').append(x.mode()).append(" | ").append(Units.number(x.primary().score())).append(" | ")
                    .append(Report.range(x.primary())).append(" | ").append(Report.sampleCount(x)).append(" | ")
                    .append(Report.forkSpread(x)).append(" | ").append(x.primary().unit()).append(" |");
                for (final String c : counters)
                {
                    final JmhResult.Metric v = x.secondary().get(c);
                    m.append(' ').append(v == null ? "" : Units.number(v.score())).append(" |");
                }
                m.append('\n');
            }
            m.append('\n');
        }
        return m.toString();
    }

    private static String cell(final String s)
    {
        return s.replace("|", "\\|");
    }
}
