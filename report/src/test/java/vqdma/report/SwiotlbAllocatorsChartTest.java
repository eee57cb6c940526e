package vqdma.report;

import vqdma.results.JmhResult;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The SWIOTLB allocators chart: the three allocators and the two copy limits, TO_DEVICE, per size. */
class SwiotlbAllocatorsChartTest
{
    private static JmhResult cell(final String method, final String ops, final String dir, final int size,
        final double nsPerOp)
    {
        final Map<String, String> params = ops == null ? Map.of("dir", dir, "size", Integer.toString(size)) :
            Map.of("dir", dir, "ops", ops, "pool", "67108864", "size", Integer.toString(size));
        return new JmhResult("vqdma.bench.dma.DmaMapBenchmark." + method, "avgt", params,
            new JmhResult.Metric(nsPerOp, 1.0, "ns/op"), Map.of());
    }

    @Test
    void oneLinePerAllocatorAndCopyLimitOverTheMappableSizes()
    {
        final List<JmhResult> run = new ArrayList<>();
        for (final int size : new int[] {4096, 65536, 1048576})
        {
            for (final String dir : new String[] {"TO_DEVICE", "FROM_DEVICE"})
            {
                for (final String ops : new String[] {"direct", "swiotlb-force", "swiotlb-bitmap", "swiotlb-hot"})
                {
                    run.add(cell("mapUnmap", ops, dir, size, size / 10.0));
                }
                run.add(cell("memcpy", null, dir, size, size / 40.0));
                run.add(cell("memcpyPoolWalk", null, dir, size, size / 20.0));
            }
        }
        final List<Figure> figures = new Charts(run, Map.of()).swiotlbAllocators();
        assertEquals(1, figures.size());
        final XYChart chart = (XYChart)figures.get(0).chart();
        assertEquals(List.of("swiotlb-force", "swiotlb-bitmap", "swiotlb-hot", "memcpy", "memcpyPoolWalk"),
            new ArrayList<>(chart.getSeriesMap().keySet()));
        for (final var series : chart.getSeriesMap().values())
        {
            assertEquals(2, series.getXData().length, series.getName() + ": 4 KiB and 64 KiB, TO_DEVICE only");
        }
        // The axis says GB/s: a 4 KiB map+unmap of 409.6 ns moves 4096 bytes, 10 GB/s (not 10,000,000,000).
        assertEquals(10.0, chart.getSeriesMap().get("swiotlb-force").getYData()[0], 1e-9);
        assertTrue(chart.getYAxisTitle().startsWith("GB/s"), chart.getYAxisTitle());
        assertTrue(new Charts(run.stream().filter(r -> !"swiotlb-hot".equals(r.param("ops"))).toList(), Map.of())
            .swiotlbAllocators().isEmpty(), "no chart without the RFC's profiles in the run");
    }
}
