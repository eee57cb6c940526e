package vqdma.report;

import org.junit.jupiter.api.Test;
import vqdma.results.JmhResult;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class UnitsTest
{
    @Test
    void numbersHaveFourSignificantDigits()
    {
        assertEquals("13238", Units.number(13237.94752558533));
        assertEquals("11.48", Units.number(11.4836));
        assertEquals("0.4050", Units.number(0.40501));
        assertEquals("1.482e+06", Units.number(1482345.0));
        assertEquals("0", Units.number(0));
        assertEquals("-", Units.number(Double.NaN));
        assertEquals("4 KiB", Units.size(4096));
        assertEquals("1 MiB", Units.size(1 << 20));
        assertEquals("512 B", Units.size(512));
    }

    @Test
    void throughputPrefersARateOfBytesOverSizeTimesOperations()
    {
        final JmhResult.Metric score = new JmhResult.Metric(1000, 10, "ops/s");
        final JmhResult bySize = new JmhResult("vqdma.bench.blk.B.request", "thrpt", Map.of("size", "4096"), score,
            Map.of());
        assertEquals(4096e3, bySize.bytesPerSecond(), 1e-6);
        final JmhResult byCounter = new JmhResult("vqdma.bench.blk.B.request", "thrpt", Map.of("size", "4096"), score,
            Map.of("bytes", new JmhResult.Metric(131072e3, 0, "ops/s")));
        assertEquals(131072e3, byCounter.bytesPerSecond(), 1e-6, "depth 32: one op, 32 requests");
        final JmhResult events = new JmhResult("vqdma.bench.blk.B.request", "avgt", Map.of("size", "4096"),
            new JmhResult.Metric(1000, 10, "ns/op"), Map.of("bytes", new JmhResult.Metric(5e9, 0, "#")));
        assertEquals(4096e6, events.bytesPerSecond(), 1e-3, "a total (#) is no rate: size x ops/s");
    }

    @Test
    void failedCompletelyMeansErrorsAndNoSuccess()
    {
        final JmhResult.Metric t = new JmhResult.Metric(100, 1, "ns/op");
        final JmhResult ok = new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of(), t,
            Map.of("mapErrors", new JmhResult.Metric(0, 0, "#"), "mapped", new JmhResult.Metric(5, 0, "#")));
        final JmhResult partial = new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of(), t,
            Map.of("errors", new JmhResult.Metric(2, 0, "#"), "ok", new JmhResult.Metric(5, 0, "#")));
        final JmhResult none = new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of(), t,
            Map.of("ioerr", new JmhResult.Metric(7, 0, "#")));
        assertFalse(ok.failed());
        assertTrue(partial.failed());
        assertFalse(partial.failedCompletely());
        assertTrue(none.failedCompletely());
        assertEquals("dma", ok.group());
        assertEquals("other", new JmhResult("org.x.B.m", "avgt", Map.of(), t, Map.of()).group());
    }

    @Test
    void comparisonNeedsSeparateIntervalsAndFivePercent()
    {
        final JmhResult base = result(100, 1);
        assertEquals("faster", Comparison.row(base, result(80, 1)).verdict(), "80 ns/op after 100");
        assertEquals("slower", Comparison.row(base, result(120, 1)).verdict());
        assertEquals("same", Comparison.row(base, result(97, 0.5)).verdict(), "3%: within the threshold");
        assertEquals("unclear", Comparison.row(base, result(80, 30)).verdict(),
            "25% faster, but the intervals overlap");
        assertEquals("same", Comparison.row(base, result(97, 30)).verdict(), "3%, intervals overlap");
        assertEquals(1.25, Comparison.row(base, result(80, 1)).ratio(), 1e-12);
    }

    @Test
    void varyingParametersAreThoseWithSeveralValues()
    {
        final JmhResult.Metric t = new JmhResult.Metric(1, 0, "ns/op");
        final List<JmhResult> cells = List.of(
            new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of("size", "1", "dir", "A", "pool", "9"), t, Map.of()),
            new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of("size", "2", "dir", "B", "pool", "9"), t, Map.of()));
        assertEquals(Set.of("dir"), Charts.varying(cells, Set.of("size")));
    }

    private static JmhResult result(final double nsPerOp, final double error)
    {
        return new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of(), new JmhResult.Metric(nsPerOp, error, "ns/op"),
            Map.of());
    }
}
