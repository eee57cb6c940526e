package vqdma.report;

import vqdma.results.JmhResult;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The report of the recorded fixture: every chart, every number as in the JSON, failures marked, the baseline. */
class ReportTest
{
    /** One chart of each kind the fixture supports (the fixture has one DMA direction and one blk profile). */
    static final List<String> CHARTS = List.of("dma-size", "swiotlb-vs-memcpy", "blk-clamp", "ring-vs-peers",
        "iommu-iommubenchmark-iommumapunmap", "ring-cycle");

    static final String FAILED_DMA = "vqdma.bench.dma.DmaMapBenchmark.mapUnmap{dir=TO_DEVICE,ops=swiotlb-force," +
        "pool=67108864,size=1048576} avgt";
    static final String FAILED_BLK = "vqdma.bench.blk.BlkPrototypeBenchmark.request{clamp=false,dma=swiotlb-force," +
        "size=1048576} thrpt";

    /** A results row of report.html: its key, its class, and the rest of the line. */
    static final Pattern ROW = Pattern.compile("<tr data-key=\"([^\"]+)\"( class=\"fail\")?>(.*)</tr>");
    static final Pattern SCORE = Pattern.compile("<td class=\"num\" data-score=\"([^\"]+)\">([^<]*)</td>");

    @TempDir
    Path tmp;

    @Test
    void everyChartIsDrawnAsAnImage() throws IOException
    {
        final Path run = Fixture.copy("run", tmp);
        Report.of(run, null).write(run);
        for (final String id : CHARTS)
        {
            final Path png = run.resolve("charts").resolve(id + ".png");
            assertTrue(Files.isRegularFile(png), png + " missing; charts: " + list(run.resolve("charts")));
            final BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " is not a readable PNG");
            assertEquals(Plot.WIDTH, image.getWidth(), id);
            assertEquals(Plot.HEIGHT, image.getHeight(), id);
        }
        assertEquals(CHARTS.size(), list(run.resolve("charts")).size(), "charts: " + list(run.resolve("charts")));
        final String html = Files.readString(run.resolve("report.html"), StandardCharsets.UTF_8);
        final String md = Files.readString(run.resolve("report.md"), StandardCharsets.UTF_8);
        for (final String id : CHARTS)
        {
            assertTrue(html.contains("<img src=\"charts/" + id + ".png\""), id + " not on the page");
            assertTrue(md.contains("](charts/" + id + ".png)"), id + " not in the Markdown");
        }
        assertTrue(html.contains("data-charts=\"" + CHARTS.size() + "\""), "body's chart count");
    }

    @Test
    void everyTableNumberIsTheJsonValue() throws IOException
    {
        final Path run = Fixture.copy("run", tmp);
        Report.of(run, null).write(run);
        final Map<String, JsonObject> json = Fixture.entries(run);
        final String html = Files.readString(run.resolve("report.html"), StandardCharsets.UTF_8);
        final Set<String> seen = new HashSet<>();
        final Matcher row = ROW.matcher(html);
        while (row.find())
        {
            final String key = unescape(row.group(1));
            final JsonObject entry = json.get(key);
            assertNotNull(entry, "a row for a result not in the JSON: " + key);
            assertTrue(seen.add(key), "two rows for " + key);
            final Matcher score = SCORE.matcher(row.group(3));
            assertTrue(score.find(), "no score cell in the row of " + key);
            final double expected = Fixture.score(entry);
            assertEquals(expected, Double.parseDouble(score.group(1)), 0, key);
            assertEquals(Units.number(expected), score.group(2), key);
            // The displayed number, read back, is the JSON's to its four significant digits.
            assertEquals(expected, Double.parseDouble(score.group(2).replace(",", "")), Math.abs(expected) * 1e-3,
                key + " shows " + score.group(2));
            assertEquals(key.equals(FAILED_DMA) || key.equals(FAILED_BLK), row.group(2) != null,
                "failure marking of " + key);
        }
        assertEquals(json.keySet(), seen, "one row per JSON entry");

        final String md = Files.readString(run.resolve("report.md"), StandardCharsets.UTF_8);
        for (final JsonObject entry : json.values())
        {
            assertTrue(md.contains("| " + Units.number(Fixture.score(entry)) + " |"),
                "Markdown lacks " + entry.get("benchmark") + " " + Units.number(Fixture.score(entry)));
        }
    }

    @Test
    void failingCellsAreNamedUnderTheirCharts() throws IOException
    {
        final Report report = Report.of(Fixture.copy("run", tmp), null);
        final Figure dma = figure(report, "dma-size");
        final Figure blk = figure(report, "blk-clamp");
        assertEquals(1, dma.failed().size(), dma.failed().toString());
        assertTrue(dma.failed().get(0).startsWith("DmaMapBenchmark.mapUnmap") &&
            dma.failed().get(0).contains("size=1048576") && dma.failed().get(0).contains("mapErrors="),
            dma.failed().get(0));
        assertEquals(1, blk.failed().size(), blk.failed().toString());
        assertTrue(blk.failed().get(0).contains("clamp=false") && blk.failed().get(0).contains("errors="),
            blk.failed().get(0));
        // In the chart: a red cross series, and no throughput point for the failed cell.
        final XYChart chart = (XYChart)dma.chart();
        assertTrue(chart.getSeriesMap().containsKey(Plot.FAILED_LABEL), chart.getSeriesMap().keySet().toString());
        final double[] swiotlbX = chart.getSeriesMap().get("swiotlb-force").getXData();
        assertEquals(2, swiotlbX.length, "4 KiB and 256 KiB map, 1 MiB does not");
        assertEquals(20.0, chart.getSeriesMap().get(Plot.FAILED_LABEL).getXData()[0], 1e-9, "log2(1 MiB)");
        assertEquals(2, report.failedCells().size());
    }

    @Test
    void theBaselineIsComparedCellByCell() throws IOException
    {
        final Path run = Fixture.copy("run", tmp);
        final Path base = Fixture.copy("baseline", tmp);
        final Report report = Report.of(run, base);
        final Map<String, JsonObject> now = Fixture.entries(run);
        final Map<String, JsonObject> then = Fixture.entries(base);
        final Set<String> both = new HashSet<>(now.keySet());
        both.retainAll(then.keySet());
        final Comparison c = report.comparison();
        assertEquals(both.size(), c.rows.size());
        assertEquals(now.size() - both.size(), c.onlyInRun.size());
        assertEquals(then.size() - both.size(), c.onlyInBaseline.size());
        for (final Comparison.Row row : c.rows)
        {
            final String key = row.run().key();
            final double n = Fixture.score(now.get(key));
            final double b = Fixture.score(then.get(key));
            final String mode = now.get(key).get("mode").getAsString();
            if (key.equals(FAILED_DMA) || key.equals(FAILED_BLK))
            {
                assertEquals("fails in both", row.verdict(), key);
                continue;
            }
            // Time per op: faster is a smaller score; operations per time: a larger one.
            final double expected = mode.equals("thrpt") ? n / b : b / n;
            assertEquals(expected, row.ratio(), expected * 1e-12, key);
        }
        for (final Figure f : report.figures())
        {
            // RingCycleBenchmark is not in the baseline; every other chart shows it.
            assertEquals(!f.id().equals("ring-cycle"), f.baseline(), f.id());
        }
        final XYChart dma = (XYChart)figure(report, "dma-size").chart();
        assertTrue(dma.getSeriesMap().containsKey("swiotlb-force (baseline)"), dma.getSeriesMap().keySet().toString());

        report.write(run);
        final String html = Files.readString(run.resolve("report.html"), StandardCharsets.UTF_8);
        assertTrue(html.contains("id=\"comparison\""));
        assertEquals(c.rows.size(), count(html, "<table class=\"comparison\">", "</table>", "<tr data-key="));
    }

    /**
     * What the charts plot is what the benchmarks measure: a map+unmap's time per call (direct's is a fixed cost, no
     * bandwidth); a log axis only over two orders of magnitude or more; captions name only what was measured.
     */
    @Test
    void chartsPlotWhatWasMeasured() throws IOException
    {
        final Path run = Fixture.copy("run", tmp);
        final Report report = Report.of(run, null);
        final Figure dmaFigure = figure(report, "dma-size");
        final XYChart dma = (XYChart)dmaFigure.chart();
        final JmhResult direct = report.results().stream().filter(r -> r.method().equals("mapUnmap") &&
            "direct".equals(r.param("ops")) && "4096".equals(r.param("size"))).findFirst().orElseThrow();
        final double[] x = dma.getSeriesMap().get("direct").getXData();
        final double[] y = dma.getSeriesMap().get("direct").getYData();
        boolean found = false;
        for (int i = 0; i < x.length; i++)
        {
            if (Math.abs(x[i] - 12) < 1e-9)
            {
                assertEquals(direct.nanosPerOp(), y[i], direct.nanosPerOp() * 1e-12, "ns per map+unmap at 4 KiB");
                found = true;
            }
        }
        assertTrue(found, "direct at 4 KiB plotted");
        assertTrue(dma.getStyler().isYAxisLogarithmic(), "ns from a few to thousands: a log axis");
        assertTrue(dmaFigure.caption().endsWith("The vertical axis is logarithmic."), dmaFigure.caption());
        final boolean poolWalk = report.results().stream().anyMatch(r -> r.method().equals("memcpyPoolWalk"));
        final boolean noRcache = report.results().stream().anyMatch(r -> r.group().equals("iommu") &&
            "false".equals(r.param("rcache")));
        for (final Figure f : report.figures())
        {
            assertEquals(poolWalk, f.caption().contains("memcpyPoolWalk"), f.id() + ": " + f.caption());
            if (f.id().startsWith("iommu-"))
            {
                assertEquals(noRcache, f.caption().contains("rcache=false"), f.id() + ": " + f.caption());
            }
        }
        final XYChart blk = (XYChart)figure(report, "blk-clamp").chart();
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (final org.knowm.xchart.XYSeries series : blk.getSeriesMap().values())
        {
            for (final double v : series.getYData())
            {
                if (v > 0)
                {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        assertEquals(hi / lo >= 100, blk.getStyler().isYAxisLogarithmic(), "blk from " + lo + " to " + hi);
    }

    @Test
    void tablesShowTheRangeOfTheSamplesAndSayWhatItIs() throws IOException
    {
        final Path run = Fixture.copy("run", tmp);
        final Report report = Report.of(run, null);
        report.write(run);
        final Map<String, JsonObject> json = Fixture.entries(run);
        final String html = Files.readString(run.resolve("report.html"), StandardCharsets.UTF_8);
        final String md = Files.readString(run.resolve("report.md"), StandardCharsets.UTF_8);
        assertTrue(html.contains("lowest..highest") && md.contains(Report.SPREAD_NOTE), "the spread is explained");
        for (final JmhResult r : report.results())
        {
            final JsonObject percentiles = json.get(r.key()).getAsJsonObject("primaryMetric")
                .getAsJsonObject("scorePercentiles");
            final String range = Units.number(percentiles.get("0.0").getAsDouble()) + ".." +
                Units.number(percentiles.get("100.0").getAsDouble());
            assertEquals(range, Report.range(r.primary()), r.key());
            assertTrue(md.contains("| " + range + " | " + Report.sampleCount(r) + " |"), r.key() + ": " + range);
        }
    }

    private static int count(final String html, final String from, final String to, final String what)
    {
        final int start = html.indexOf(from);
        final String table = html.substring(start, html.indexOf(to, start));
        int n = 0;
        for (int i = table.indexOf(what); i >= 0; i = table.indexOf(what, i + 1))
        {
            n++;
        }
        return n;
    }

    private static Figure figure(final Report report, final String id)
    {
        return report.figures().stream().filter(f -> f.id().equals(id)).findFirst()
            .orElseThrow(() -> new AssertionError(id + " not among " + report.figures().stream().map(Figure::id).toList()));
    }

    private static List<String> list(final Path dir) throws IOException
    {
        final List<String> out = new ArrayList<>();
        try (var s = Files.list(dir))
        {
            s.forEach(p -> out.add(p.getFileName().toString()));
        }
        return out;
    }

    static String unescape(final String s)
    {
        return s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
            .replace("&amp;", "&");
    }
}
