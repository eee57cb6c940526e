package vqdma.report;

import vqdma.results.JmhResult;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The split-vs-packed chart: one per DMA profile, one line per layout, clamp-on cells only. */
class ChartsLayoutTest
{
    static JmhResult blk(final String dma, final String layout, final boolean clamp, final int size, final double ops)
    {
        return new JmhResult("vqdma.bench.blk.BlkBenchmark.request", "thrpt",
            Map.of("dma", dma, "layout", layout, "clamp", Boolean.toString(clamp), "size", Integer.toString(size),
                "depth", "32"),
            new JmhResult.Metric(ops, ops / 100, "ops/s"), Map.of());
    }

    @Test
    void oneChartPerDmaProfileWithALinePerLayout()
    {
        final List<JmhResult> run = new ArrayList<>();
        for (final String dma : List.of("direct", "swiotlb-force"))
        {
            for (final String layout : List.of("split", "packed"))
            {
                for (final boolean clamp : new boolean[] {false, true})
                {
                    for (final int size : new int[] {4096, 65536})
                    {
                        run.add(blk(dma, layout, clamp, size, layout.equals("packed") ? 2000 : 1000));
                    }
                }
            }
        }
        final List<Figure> figures = new Charts(run, Map.of()).blkLayouts();
        assertEquals(2, figures.size(), figures.stream().map(Figure::id).toList().toString());
        final Figure direct = figures.stream().filter(f -> f.title().contains("direct")).findFirst().orElseThrow();
        final XYChart chart = (XYChart)direct.chart();
        assertEquals(java.util.Set.of("split ring", "packed ring"), chart.getSeriesMap().keySet());
        assertEquals(2, chart.getSeriesMap().get("packed ring").getXData().length, "the clamp-on cells only");
        // GB/s as the axis says: 2,000 requests/s of 4 KiB are 0.008192 GB/s.
        assertEquals(2000 * 4096 / 1e9, chart.getSeriesMap().get("packed ring").getYData()[0], 1e-12);
        assertTrue(direct.id().startsWith("blk-layout"), direct.id());
    }

    @Test
    void noChartWithOneLayout()
    {
        assertTrue(new Charts(List.of(blk("direct", "split", true, 4096, 1)), Map.of()).blkLayouts().isEmpty());
    }
}
