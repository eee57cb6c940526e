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
     *   <li>ring: RingCycleBenchmark 16 runs (about 1:45). TODO(twothread): RingRoundTripBenchmark as on its branch
     *   (queueSize 64/256/1024 x batch x indirect x mode, baseline and roundTrip: 48 runs of about 10.4 s, 8:20)
     *   does not fit: default queueSize to {256} (16 runs, about 2:50; the others by -p).</li>
     *   <li>peer: TODO(twothread): the JCTools and Agrona round trips with queueSize {256} (4 runs, about 0:45);
     *   with 64/256/1024 they take 2:05.</li>
     *   <li>dma: DmaMapBenchmark 60 runs + SwiotlbContentionBenchmark 6 (about 7:00).</li>
     *   <li>iommu: IommuBenchmark 24 runs (about 2:35).</li>
     *   <li>blk: BlkBenchmark dma 5 x clamp 2 x size {4 KiB, 64 KiB, 256 KiB, 1 MiB} x depth {1, 32} = 80 runs at
     *   500 ms iterations (3 + 5), one device shape ({@code device=thread}; {@code inline} by -p), and the
     *   BlkMemcpyBenchmark baseline, 4 runs of 2 + 3 (about 8:51).</li>
     *   <li>ref: the gate's ReferenceBenchmark, 2 runs.</li>
     *   <li>other: anything outside the groups, and slack for forks slower than estimated.</li>
     * </ul>
     */
    static final Map<String, Double> GROUP_SECONDS = new LinkedHashMap<>();

    static
    {
        GROUP_SECONDS.put("ring", 300.0);
        GROUP_SECONDS.put("peer", 120.0);
        GROUP_SECONDS.put("dma", 480.0);
        GROUP_SECONDS.put("iommu", 180.0);
        GROUP_SECONDS.put("blk", 540.0);
        GROUP_SECONDS.put("ref", 60.0);
        GROUP_SECONDS.put("other", 120.0);
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
