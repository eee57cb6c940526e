package vqdma.report;

import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import vqdma.gate.GateConfig;
import vqdma.gate.ChangePoints;
import vqdma.gate.History;
import vqdma.gate.MarkdownReport;
import vqdma.gate.Stats;
import vqdma.results.JmhResult;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The trend chart of every gated benchmark (one a {@code run} line of the gate's configuration selects, not a
 * reference) that has a history: its level in each run of the results folders, measured as the gate measures it, and
 * the change points the history found ({@link History}: E-divisive means, permutation-tested), each with the median
 * level of the runs between them as a step line.
 */
final class Trends
{
    static final Color LEVEL = new Color(0x1F77B4);
    static final Color STEP = new Color(0x555555);
    static final Color CHANGE = new Color(0xC00000);

    private Trends()
    {
    }

    /**
     * @param runs       results folders (or run folders, or JMH JSON files) whose runs make the history.
     * @param gateConfig the gate's configuration: which benchmarks are gated and how they are measured.
     * @return one figure per gated benchmark with at least 3 runs; none without any.
     * @throws IOException if a run or the configuration cannot be read.
     */
    static List<Figure> figures(final List<Path> runs, final Path gateConfig) throws IOException
    {
        final GateConfig config = GateConfig.read(gateConfig);
        final List<String> warnings = new ArrayList<>();
        final History.Report history = History.of(History.readRuns(runs, warnings), History.Settings.of(config),
            warnings);
        final List<Figure> out = new ArrayList<>();
        for (final History.Series series : history.series())
        {
            final JmhResult any = series.points().get(0).run().results().stream()
                .filter(r -> r.key().equals(series.key())).findFirst().orElse(null);
            if (any != null && config.gates(any))
            {
                out.add(figure(series, history.settings()));
            }
        }
        return out;
    }

    static Figure figure(final History.Series series, final History.Settings settings)
    {
        final boolean normalized = series.reference() != null;
        final String unit = series.points().get(0).unit();
        final String name = MarkdownReport.shortName(series.displayKey());
        final String yTitle = normalized ? "speed / speed of " + MarkdownReport.shortName(series.reference()) + " (higher is " +
            "faster)" : unit + (series.higherIsBetter() ? " (higher is faster)" : " (lower is faster)");
        final XYChart chart = Plot.xy("Trend: " + name + " " + series.mode(), "run", yTitle);
        chart.getStyler().setXAxisDecimalPattern("0");
        final int n = series.points().size();
        final double[] x = new double[n];
        final double[] y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = i + 1;
            final History.Point p = series.points().get(i);
            y[i] = normalized ? p.normalized() : p.level();
        }
        final XYSeries level = chart.addSeries("level per run", x, y);
        level.setMarker(SeriesMarkers.CIRCLE);
        level.setMarkerColor(LEVEL);
        level.setLineColor(LEVEL);
        // Between change points: the median level as a step.
        final List<Integer> bounds = new ArrayList<>();
        bounds.add(0);
        series.changes().forEach(c -> bounds.add(c.index()));
        bounds.add(n);
        final double[] log = series.logSpeeds();
        for (int s = 0; s + 1 < bounds.size(); s++)
        {
            final int from = bounds.get(s);
            final int to = bounds.get(s + 1);
            final double speed = Math.exp(ChangePoints.segmentMedian(log, from, to));
            final double v = normalized || series.higherIsBetter() ? speed : 1 / speed;
            final XYSeries step = chart.addSeries(s == 0 ? "median between change points" : "median " + (s + 1),
                new double[] {from + 0.5, to + 0.5}, new double[] {v, v});
            step.setMarker(SeriesMarkers.NONE);
            step.setLineColor(STEP);
            step.setLineStyle(new BasicStroke(2f));
            step.setShowInLegend(s == 0);
        }
        final StringBuilder caption = new StringBuilder();
        caption.append(String.format(Locale.ROOT, "%d runs from %s to %s; %s, %s, %s%s. ", n,
            series.points().get(0).run().name(), series.points().get(n - 1).run().name(),
            settings.metric() == null ? "JMH score" : settings.metric(),
            settings.forkStatistic() == Stats.ForkStatistic.MIN ? "fastest iteration per fork" :
                "median iteration per fork",
            settings.level() == Stats.Level.FAST_QUARTILE ? "fast quartile of forks" : "median fork",
            normalized ? ", divided by the same run's " + MarkdownReport.shortName(series.reference()) : ""));
        if (series.changes().isEmpty())
        {
            caption.append("No change point (E-divisive means, permutation test at p <= ")
                .append(settings.alpha()).append(").");
        }
        else
        {
            final double[] cx = new double[series.changes().size()];
            final double[] cy = new double[cx.length];
            caption.append("Change points (E-divisive means, permutation test at p <= ").append(settings.alpha())
                .append("; red): ");
            for (int c = 0; c < cx.length; c++)
            {
                final History.Change change = series.changes().get(c);
                cx[c] = change.index() + 1;
                cy[c] = y[change.index()];
                caption.append(c == 0 ? "" : "; ").append(String.format(Locale.ROOT, "run %d (%s): speed x%.3f " +
                    "(%+.1f%%), p %.3f", change.index() + 1, series.points().get(change.index()).run().name(),
                    change.ratio(), (change.ratio() - 1) * 100, change.p()));
            }
            caption.append('.');
            final XYSeries marks = chart.addSeries("change point", cx, cy);
            marks.setMarker(SeriesMarkers.DIAMOND);
            marks.setMarkerColor(CHANGE);
            marks.setLineStyle(new BasicStroke(0f));
            marks.setLineColor(new Color(0, 0, 0, 0));
        }
        final String id = "trend-" + series.displayKey().replaceAll("[^A-Za-z0-9]+", "-").replaceAll("-+$", "")
            .toLowerCase(Locale.ROOT) + "-" + series.mode();
        return new Figure(id, "Trend of " + name + " " + series.mode(), caption.toString(), chart, List.of(), false);
    }
}
