package vqdma.bench.run;

import org.junit.jupiter.api.Test;
import org.openjdk.jmh.runner.BenchmarkList;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The time budgets of the benchmark suite on a 2-core machine, from the plan's arithmetic ({@link Plan}: the
 * benchmark list, each class's {@code @Warmup}/{@code @Measurement}/{@code @Fork}/{@code @Param}, and
 * {@link Cell#FORK_SECONDS} per fork). Not a timing assertion: nothing is run.
 * <ul>
 *   <li>{@code java -jar benchmarks.jar} with no arguments (the whole default matrix, what {@code scripts/bench
 *   --full} and a baseline run): at most 30 minutes, and each group within its share.</li>
 *   <li>{@code scripts/bench} (the curated selection): at most 5 minutes.</li>
 * </ul>
 * When this fails, trim the group's default {@code @Param} values (keep the cells the report charts and the story
 * needs; users widen with {@code -p}) or its iterations, rather than raising the budget.
 */
class MatrixBudgetTest
{
    /** The whole matrix. */
    static final double FULL_SECONDS = 30 * 60;

    /** The curated selection. */
    static final double CURATED_SECONDS = 5 * 60;

    /**
     * Seconds per group of the whole matrix; they add up to {@link #FULL_SECONDS}.
     * <ul>
     *   <li>ring: RingCycleBenchmark 32 runs (about 3:25: both layouts); RingRoundTripBenchmark queueSize {256} x
     *   batch x indirect x mode x layout, 16 runs of about 10.4 s (2:46; other sizes by -p). 6:11 in all.</li>
     *   <li>peer: the JCTools and Agrona round trips with queueSize {256} (4 runs, about 0:42).</li>
     *   <li>dma: DmaMapBenchmark 80 runs of 300 ms iterations + SwiotlbContentionBenchmark 12 (about 7:17).</li>
     *   <li>iommu: IommuBenchmark 24 runs (about 2:35).</li>
     *   <li>blk: BlkBenchmark dma 5 x clamp 2 x size {4 KiB, 64 KiB, 256 KiB, 1 MiB} x layout {split, packed} =
     *   80 runs at depth 32 (depth 1 by -p) and 500 ms iterations (3 + 5), one device shape ({@code device=inline};
     *   {@code thread} by -p), and the BlkMemcpyBenchmark baseline, 4 runs of 2 + 3 (about 8:51).</li>
     *   <li>ref: the gate's ReferenceBenchmark, 3 runs.</li>
     *   <li>other: anything outside the groups, and slack for forks slower than estimated.</li>
     * </ul>
     */
    static final Map<String, Double> GROUP_SECONDS = new LinkedHashMap<>();

    static
    {
        GROUP_SECONDS.put("ring", 390.0);
        GROUP_SECONDS.put("peer", 60.0);
        GROUP_SECONDS.put("dma", 450.0);
        GROUP_SECONDS.put("iommu", 170.0);
        GROUP_SECONDS.put("blk", 540.0);
        GROUP_SECONDS.put("ref", 60.0);
        GROUP_SECONDS.put("other", 130.0);
    }

    @Test
    void budgetsAddUpToTheWholeMatrix()
    {
        assertEquals(FULL_SECONDS, GROUP_SECONDS.values().stream().mapToDouble(Double::doubleValue).sum());
    }

    @Test
    void theWholeDefaultMatrixFitsInThirtyMinutes() throws Exception
    {
        final Plan plan = Plan.of(BenchmarkList.defaultList(), BenchRunner.options(Selection.full(List.of()).get(0),
            Runtime.version().feature()));
        System.out.println("java -jar benchmarks.jar, the whole default matrix:");
        System.out.print(plan.table());
        final List<String> over = new ArrayList<>();
        for (final Map.Entry<String, Double> g : plan.secondsByGroup().entrySet())
        {
            final double budget = GROUP_SECONDS.getOrDefault(g.getKey(), GROUP_SECONDS.get("other"));
            if (g.getValue() > budget)
            {
                over.add(g.getKey() + " " + Plan.clock(g.getValue()) + " > " + Plan.clock(budget));
            }
        }
        assertTrue(over.isEmpty(), "groups over their budget (trim default @Param values or iterations): " + over +
            "\n" + plan.table());
        assertTrue(plan.seconds() + Plan.LAUNCH_SECONDS <= FULL_SECONDS, plan.table());
    }

    @Test
    void theCuratedSelectionFitsInFiveMinutes() throws Exception
    {
        double seconds = 0;
        int runs = 0;
        for (final Selection.Step step : Selection.curated(List.of()))
        {
            final Plan p = Plan.of(BenchmarkList.defaultList(), BenchRunner.options(step, Runtime.version().feature()));
            if (!p.cells().isEmpty())
            {
                seconds += p.seconds() + Plan.LAUNCH_SECONDS;
                runs += p.cells().size();
            }
        }
        System.out.println("scripts/bench: " + runs + " runs, about " + Plan.clock(seconds));
        assertTrue(runs > 0, "the curated selection selects nothing");
        assertTrue(seconds <= CURATED_SECONDS, "scripts/bench would take about " + Plan.clock(seconds));
    }
}
