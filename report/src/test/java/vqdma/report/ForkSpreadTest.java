package vqdma.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vqdma.results.JmhResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Forks that disagree are shown, fork by fork, instead of hidden in a mean. */
class ForkSpreadTest
{
    @TempDir
    Path tmp;

    static JmhResult result(final double[][] forks)
    {
        return new JmhResult("vqdma.bench.ring.RingCycleBenchmark.cycle", "avgt", Map.of("shape", "chain128"),
            JmhResult.Metric.ofSamples("ns/op", forks), Map.of());
    }

    @Test
    void eachForkIsItsMedianIteration()
    {
        final double[] levels = Report.forkLevels(result(new double[][] {{100, 300, 101}, {90, 92}}).primary());
        assertArrayEquals(new double[] {101, 91}, levels, 1e-9);
    }

    @Test
    void aForkMoreThanTenPercentFromTheMedianForkIsFlagged()
    {
        final JmhResult calm = result(new double[][] {{100, 101}, {104, 104}, {96, 97}, {109, 109}});
        assertFalse(Report.forksDisagree(calm), Report.forkSpread(calm));
        assertFalse(Report.forkSpread(calm).endsWith("!"));

        final JmhResult modal = result(new double[][] {{100, 101}, {101, 100}, {100, 100}, {112, 113}});
        assertTrue(Report.forksDisagree(modal));
        assertTrue(Report.forkSpread(modal).endsWith(" !"), Report.forkSpread(modal));
        assertEquals(4, Report.forkSpread(modal).split(" ").length - 1, "one value per fork, then the mark");

        final JmhResult slowMode = result(new double[][] {{100}, {100}, {80}});
        assertTrue(Report.forksDisagree(slowMode), "a fork 20% below the median fork");
    }

    @Test
    void aSingleForkHasNoSpreadAndNoWarning()
    {
        final JmhResult one = result(new double[][] {{100, 200, 300}});
        assertEquals("", Report.forkSpread(one));
        assertFalse(Report.forksDisagree(one));
    }

    @Test
    void bothReportsWarnAboutTheCellsWithModesOnly() throws IOException
    {
        final String json = "[" + entry("chain128", "[[1300,1310,1305],[1290,1305,1300],[1620,1640,1630]]") + "," +
            entry("single128", "[[2500,2510,2505],[2490,2505,2500],[2520,2515,2510]]") + "]";
        Files.writeString(tmp.resolve("jmh.json"), json, StandardCharsets.UTF_8);
        Report.of(tmp, null).write(tmp);
        final String md = Files.readString(tmp.resolve("report.md"), StandardCharsets.UTF_8);
        final String html = Files.readString(tmp.resolve("report.html"), StandardCharsets.UTF_8);
        assertTrue(md.contains("**Forks disagree by more than 10%** in 1 cell"), md);
        assertTrue(md.contains("shape=chain128") && md.contains("1305 1300 1630 !"), md);
        assertTrue(html.contains("Forks disagree by more than 10% in 1 cell"), "HTML warning");
        assertTrue(html.contains("<td class=\"num err\">1305 1300 1630 !</td>"), "HTML forks cell");
        assertTrue(html.contains("<td class=\"num\">2505 2500 2515</td>"), "the calm cell is not marked");
    }

    private static String entry(final String shape, final String rawData)
    {
        return "{\"benchmark\":\"vqdma.bench.ring.RingCycleBenchmark.cycle\",\"mode\":\"avgt\",\"forks\":3," +
            "\"params\":{\"shape\":\"" + shape + "\"},\"primaryMetric\":{\"score\":1400,\"scoreError\":100," +
            "\"scoreUnit\":\"ns/op\",\"rawData\":" + rawData + "},\"secondaryMetrics\":{}}";
    }
}
