package vqdma.report;

import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.awt.Font;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The report's chart style on top of XChart, so that every chart reads the same way: one colour per series
 * (Okabe-Ito, readable by colour-blind readers), the same series' baseline in the same colour dashed (lines) or pale
 * (bars), failed cells as red crosses.
 */
final class Plot
{
    static final int WIDTH = 880;
    static final int HEIGHT = 500;

    /** Okabe-Ito. */
    static final Color[] PALETTE = {
        new Color(0x0072B2), new Color(0xE69F00), new Color(0x009E73), new Color(0xD55E00),
        new Color(0xCC79A7), new Color(0x56B4E9), new Color(0x000000), new Color(0xF0E442),
    };

    static final Marker[] MARKERS = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND, SeriesMarkers.SQUARE,
        SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN, SeriesMarkers.OVAL};

    static final Color FAILED = new Color(0xC00000);

    /** The legend entry of failed cells. */
    static final String FAILED_LABEL = "\u2717 failed (errors > 0)";

    private Plot()
    {
    }

    /** A series of an XY chart: points in order of x, and its baseline when there is one. */
    static final class Line
    {
        final String name;
        final List<double[]> points = new ArrayList<>();
        final List<double[]> baseline = new ArrayList<>();

        Line(final String name)
        {
            this.name = name;
        }
    }

    /** Longest chart title that fits the image's width in the title font (XChart neither wraps nor shrinks it). */
    static final int MAX_TITLE_CHARS = 80;

    /**
     * A title that fits the image: a long one keeps its first parameter in the last parentheses and drops the rest
     * (the figure's heading above the image carries the whole title).
     *
     * @param title the whole title, e.g. {@code "virtio-blk: ... (dma=swiotlb affinity=none device=inline ...)"}.
     * @return the title for the image.
     */
    static String fit(final String title)
    {
        if (title.length() <= MAX_TITLE_CHARS)
        {
            return title;
        }
        final int open = title.lastIndexOf(" (");
        if (open > 0 && title.endsWith(")"))
        {
            final String inner = title.substring(open + 2, title.length() - 1);
            final int space = inner.indexOf(' ');
            final String shorter = title.substring(0, open) + " (" + (space > 0 ? inner.substring(0, space) + " ..." :
                inner) + ")";
            if (shorter.length() <= MAX_TITLE_CHARS)
            {
                return shorter;
            }
        }
        return title.substring(0, MAX_TITLE_CHARS - 3) + "...";
    }

    /**
     * @param title  chart title.
     * @param xTitle x axis title.
     * @param yTitle y axis title.
     * @return an XY chart in the report's style.
     */
    static XYChart xy(final String title, final String xTitle, final String yTitle)
    {
        final XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(fit(title)).xAxisTitle(xTitle)
            .yAxisTitle(yTitle).build();
        style(chart.getStyler());
        chart.getStyler().setMarkerSize(8);
        return chart;
    }

    /**
     * @param title  chart title.
     * @param xTitle x axis title.
     * @param yTitle y axis title.
     * @return a bar chart in the report's style.
     */
    static CategoryChart bars(final String title, final String xTitle, final String yTitle)
    {
        final CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(fit(title))
            .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        style(chart.getStyler());
        chart.getStyler().setAvailableSpaceFill(0.8);
        chart.getStyler().setOverlapped(false);
        chart.getStyler().setYAxisMin(0.0);
        return chart;
    }

    private static void style(final AxesChartStyler s)
    {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderColor(new Color(0xBBBBBB));
        s.setPlotGridLinesColor(new Color(0xE4E4E4));
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setLegendBorderColor(Color.WHITE);
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        s.setBaseFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        s.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        s.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        s.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        s.setAntiAlias(true);
        s.setyAxisTickLabelsFormattingFunction(Plot::tick);
    }

    /**
     * @param v a tick value.
     * @return it in at most six characters: with thousands separators below 100,000, as three significant digits
     * and k, M or G from there (3.37M: a bar label must fit its bar), scientific below a thousandth or from 10^12
     * (XChart's default writes 1E5 for 100,000). Bar labels use it too.
     */
    static String tick(final Double v)
    {
        final double a = Math.abs(v);
        if (a == 0)
        {
            return "0";
        }
        if (a >= 1e12 || a < 1e-3)
        {
            return String.format(Locale.ROOT, "%.0e", v);
        }
        if (a >= 1e5)
        {
            final double scale = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : 1e3;
            final double scaled = v / scale;
            final double m = Math.abs(scaled);
            final String pattern = m >= 99.95 ? "0" : m >= 9.995 ? "0.#" : "0.##";
            return new DecimalFormat(pattern, DecimalFormatSymbols.getInstance(Locale.ROOT)).format(scaled) +
                (scale == 1e9 ? "G" : scale == 1e6 ? "M" : "k");
        }
        final String pattern = a >= 100 ? "#,##0" : a >= 1 ? "#,##0.#" : "#,##0.###";
        return new DecimalFormat(pattern, DecimalFormatSymbols.getInstance(Locale.ROOT)).format(v);
    }

    /**
     * Adds lines, their baselines (dashed, same colour) and the failed cells (red crosses at {@code failedY}).
     *
     * @param chart   the chart.
     * @param lines   the series, in legend order.
     * @param failedX x of every failed cell.
     * @param failedY where failed cells sit (the bottom of a log axis, 0 of a linear one).
     */
    static void addLines(final XYChart chart, final List<Line> lines, final List<Double> failedX,
        final double failedY)
    {
        int i = 0;
        for (final Line line : lines)
        {
            final Color color = PALETTE[i % PALETTE.length];
            final Marker marker = MARKERS[i % MARKERS.length];
            i++;
            if (!line.points.isEmpty())
            {
                final XYSeries s = chart.addSeries(line.name, xs(line.points), ys(line.points));
                s.setLineColor(color);
                s.setMarkerColor(color);
                s.setMarker(marker);
            }
            if (!line.baseline.isEmpty())
            {
                final XYSeries b = chart.addSeries(line.name + " (baseline)", xs(line.baseline), ys(line.baseline));
                b.setLineColor(color);
                b.setMarkerColor(color);
                b.setLineStyle(SeriesLines.DASH_DASH);
                // A dashed line needs two points; a lone baseline point gets its series' marker, or it is invisible.
                b.setMarker(line.baseline.size() == 1 ? marker : SeriesMarkers.NONE);
            }
        }
        legendFor(chart.getStyler(), chart.getSeriesMap().size() + (failedX.isEmpty() ? 0 : 1));
        if (!failedX.isEmpty())
        {
            final double[] x = new double[failedX.size()];
            final double[] y = new double[failedX.size()];
            for (int k = 0; k < x.length; k++)
            {
                x[k] = failedX.get(k);
                y[k] = failedY;
            }
            final XYSeries f = chart.addSeries(FAILED_LABEL, x, y);
            f.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            f.setMarker(SeriesMarkers.CROSS);
            f.setMarkerColor(FAILED);
        }
    }

    /**
     * Colours the bars of a category chart: each series in its palette colour, a series named "... (baseline)" in
     * the pale version of the series before it.
     *
     * @param chart the chart, all series added.
     */
    static void colourBars(final CategoryChart chart)
    {
        legendFor(chart.getStyler(), chart.getSeriesMap().size());
        int i = -1;
        for (final CategorySeries s : chart.getSeriesMap().values())
        {
            final boolean baseline = s.getName().endsWith(" (baseline)");
            if (!baseline)
            {
                i++;
            }
            final Color c = PALETTE[Math.max(i, 0) % PALETTE.length];
            s.setFillColor(baseline ? pale(c) : c);
        }
    }

    /** A legend below the plot holds about four entries in a row; more go to the right, one per line. */
    private static void legendFor(final AxesChartStyler s, final int entries)
    {
        if (entries > 4)
        {
            s.setLegendPosition(Styler.LegendPosition.OutsideE);
            s.setLegendLayout(Styler.LegendLayout.Vertical);
        }
    }

    /**
     * Bars that span orders of magnitude (a spinning peer against a sleeping one, a 1 us invalidation against none)
     * make the small ones invisible, and XChart draws bars on linear axes only: every bar gets its value written
     * above it ({@link #tick}: 3.37M), when there are few enough to stay legible.
     * <p>
     * The labels are text annotations, not XChart's bar labels: those sit centred on the bar top, inside tall bars
     * and across the top of the others, and rotated ones overlap it. On a category chart an annotation's x runs from
     * 0 to the number of categories, category i centred at i + 0.5, its bars side by side across the
     * {@code availableSpaceFill} share of it.
     *
     * @param chart the chart, all series added.
     */
    static void labelIfFew(final CategoryChart chart)
    {
        int bars = 0;
        double max = 0;
        final List<Object> categories = new ArrayList<>();
        for (final CategorySeries s : chart.getSeriesMap().values())
        {
            bars += s.getYData().size();
            for (final Number n : s.getYData())
            {
                max = Math.max(max, n.doubleValue());
            }
            s.getXData().stream().filter(x -> !categories.contains(x)).forEach(categories::add);
        }
        if (bars > 16 || max <= 0)
        {
            return;
        }
        final double top = max * 1.15; // room for the label of the highest bar
        chart.getStyler().setYAxisMax(top);
        chart.getStyler().setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
        chart.getStyler().setAnnotationTextFontColor(Color.DARK_GRAY);
        final int series = chart.getSeriesMap().size();
        final double fill = chart.getStyler().getAvailableSpaceFill();
        // The text's centre, above the bar top by about a line of 9-point text on the plot's height; with five bars
        // or more to a category, every other one a line higher, so that neighbours of equal height do not collide.
        final double lift = top * 8.0 / Math.max(100, chart.getHeight() - 120);
        final boolean stagger = series >= 5;
        int j = 0;
        for (final CategorySeries s : chart.getSeriesMap().values())
        {
            final List<?> xs = new ArrayList<>(s.getXData());
            final List<? extends Number> ys = new ArrayList<>(s.getYData());
            for (int k = 0; k < xs.size() && k < ys.size(); k++)
            {
                final double v = ys.get(k).doubleValue();
                final double x = categories.indexOf(xs.get(k)) + 0.5 - fill / 2 + (j + 0.5) * fill / series;
                final double y = v + lift * (stagger && j % 2 == 1 ? 2.4 : 1);
                chart.addAnnotation(new AnnotationText(tick(v), x, y, false));
            }
            j++;
        }
    }

    /**
     * A horizontal reference line.
     *
     * @param chart the chart.
     * @param y     where.
     */
    static void horizontal(final XYChart chart, final double y)
    {
        chart.addAnnotation(new AnnotationLine(y, false, false));
        chart.getStyler().setAnnotationLineColor(new Color(0x888888));
    }

    private static Color pale(final Color c)
    {
        return new Color((c.getRed() + 2 * 255) / 3, (c.getGreen() + 2 * 255) / 3, (c.getBlue() + 2 * 255) / 3);
    }

    private static double[] xs(final List<double[]> points)
    {
        final double[] out = new double[points.size()];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = points.get(i)[0];
        }
        return out;
    }

    private static double[] ys(final List<double[]> points)
    {
        final double[] out = new double[points.size()];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = points.get(i)[1];
        }
        return out;
    }

    /**
     * Size axes: x is log2 of the size in bytes, labelled as sizes ({@code 4 KiB}); non-integer ticks unlabelled.
     *
     * @param chart the chart.
     */
    static void sizeAxis(final XYChart chart)
    {
        chart.getStyler().setxAxisTickLabelsFormattingFunction(x ->
        {
            final double r = Math.rint(x);
            return Math.abs(x - r) < 1e-9 && r >= 0 && r < 62 ? Units.size(1L << (long)r) : "";
        });
    }
}
