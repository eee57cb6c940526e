package vqdma.bench.run;

import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The plan expands the benchmark list as JMH does, and applies the settings JMH would. */
class PlanTest
{
    static Plan plan(final String... args) throws Exception
    {
        return Plan.of(BenchmarkList.defaultList(), BenchRunner.options(new Selection.Step("t", List.of(args)), 17));
    }

    @Test
    void paramsAreTheCartesianProductWithCommandLineOverrides() throws Exception
    {
        final Plan p = plan("ring.RingCycleBenchmark.cycle", "-p", "queueSize=64,256,1024", "-p", "dma=direct",
            "-p", "layout=split");
        // queueSize 3 x indirect 2 (annotation) x shape 2 (annotation) x dma 1 x layout 1
        assertEquals(12, p.cells().size());
        final Set<Map<String, String>> distinct = new HashSet<>();
        for (final Cell c : p.cells())
        {
            assertEquals("vqdma.bench.ring.RingCycleBenchmark.cycle", c.benchmark());
            assertEquals("direct", c.params().get("dma"));
            assertTrue(distinct.add(c.params()), "duplicate " + c.params());
        }
    }

    @Test
    void iterationSettingsComeFromAnnotationsUnlessOverridden() throws Exception
    {
        final Cell annotated = plan("dma.DmaMapBenchmark.memcpy$", "-p", "size=4096", "-p", "dir=TO_DEVICE")
            .cells().get(0);
        assertEquals(1, annotated.forks());
        assertEquals(3, annotated.warmupIterations());
        assertEquals(0.3, annotated.warmupSeconds());
        assertEquals(5, annotated.iterations());
        assertEquals(0.3, annotated.iterationSeconds());
        assertEquals(Mode.AverageTime, annotated.mode());
        assertEquals(1 * (Cell.FORK_SECONDS + 8 * (0.3 + Cell.ITERATION_SECONDS)), annotated.estimateSeconds(), 1e-9);

        final Cell overridden = plan("dma.DmaMapBenchmark.memcpy$", "-p", "size=4096", "-p", "dir=TO_DEVICE",
            "-f", "2", "-wf", "1", "-wi", "0", "-i", "2", "-r", "100ms").cells().get(0);
        assertEquals(2, overridden.forks());
        assertEquals(1, overridden.warmupForks());
        assertEquals(0, overridden.warmupIterations());
        assertEquals(0.1, overridden.iterationSeconds(), 1e-9);
        assertEquals(3 * (Cell.FORK_SECONDS + 2 * (0.1 + Cell.ITERATION_SECONDS)), overridden.estimateSeconds(), 1e-9);
    }

    @Test
    void benchmarkModesMultiplyRuns() throws Exception
    {
        final Plan p = plan("dma.DmaMapBenchmark.memcpy$", "-p", "size=4096", "-p", "dir=TO_DEVICE", "-bm",
            "avgt,thrpt");
        assertEquals(Set.of(Mode.AverageTime, Mode.Throughput), Set.of(p.cells().get(0).mode(), p.cells().get(1).mode()));
        assertEquals(2, p.cells().size());
    }

    @Test
    void groupsAreThePackagesUnderVqdmaBench()
    {
        assertEquals("dma", Cell.groupOf("vqdma.bench.dma.DmaMapBenchmark.mapUnmap"));
        assertEquals("iommu", Cell.groupOf("vqdma.bench.iommu.IommuBenchmark.iommuMapUnmap"));
        assertEquals("other", Cell.groupOf("org.example.Bench.run"));
    }

    @Test
    void clockFormat()
    {
        assertEquals("0:59", Plan.clock(59.4));
        assertEquals("29:30", Plan.clock(1770));
        assertEquals("1:02:03", Plan.clock(3723));
    }
}
