package vqdma.bench;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A JMH profiler that reports the CPU time the benchmark's worker threads spent per operation, as the secondary
 * metric {@code cpu.time.norm} (ns/op), beside JMH's wall-clock score.
 * <p>
 * Why: on a machine shared with other work (a CI runner, a build farm, a developer's laptop compiling), the
 * scheduler takes the core away from the benchmark thread for a varying share of the time, and every wall-clock
 * score inflates by that share. A thread's CPU time does not count the time it is descheduled, so this metric keeps
 * measuring the code while the wall clock measures the neighbours too. It still sees what the neighbours do to the
 * caches and the memory bus, and it counts the CPU a spinning thread burns while it waits (for multi-threaded
 * benchmarks it is "CPU per op", not latency). The perf-regression gate can gate on it with
 * {@code --metric cpu.time.norm} ({@code docs/gate.md}).
 * <p>
 * How: before and after each iteration it reads {@link ThreadMXBean#getThreadCpuTime} of every live thread whose
 * name contains {@code jmh-worker} (JMH's benchmark threads), and divides the sum of the differences by all the
 * operations of the iteration ({@code getAllOps()}: the workers run during JMH's synchronisation phases too, as in
 * {@code -prof gc}'s normalisation). The cost is two thread-list walks per iteration, nothing per operation.
 * <p>
 * Beside it, {@code cpu.others} and {@code cpu.steal} say what the rest of the machine did during the iteration:
 * the CPUs' worth of time every other process ran, and the time the hypervisor stole ({@link MachineLoad}). On a
 * 2-vCPU VM a single-threaded benchmark's CPU time per op rises by tens of percent while another process runs on the
 * other vCPU; these two columns tell such a machine "mode" from one of the code. {@code cpu.ref} is the machine's
 * speed itself: the time of a fixed ALU chain run by the profiler before and after every iteration
 * ({@link MachineLoad#referenceNanos()}); a fork whose benchmark is slow while its {@code cpu.ref} is not drew slow
 * code, one whose {@code cpu.ref} is slow too drew a slow machine.
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar RingCycleBenchmark -prof vqdma.bench.CpuTimeProfiler
 * </pre>
 */
public final class CpuTimeProfiler implements InternalProfiler
{
    /** The secondary metric's name in JMH's results. */
    public static final String METRIC = "cpu.time.norm";
    /** Secondary metric: CPUs' worth of time other processes ran during the iteration. */
    public static final String OTHERS = "cpu.others";
    /** Secondary metric: CPUs' worth of time the hypervisor stole during the iteration. */
    public static final String STEAL = "cpu.steal";
    /** Secondary metric: nanoseconds of a fixed ALU chain, around the iteration (the machine's speed). */
    public static final String REF = "cpu.ref";


    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> before = new HashMap<>();
    private final MachineLoad load = new MachineLoad();
    private double refBefore;

    /** JMH instantiates profilers reflectively. */
    public CpuTimeProfiler()
    {
        if (threads.isThreadCpuTimeSupported() && !threads.isThreadCpuTimeEnabled())
        {
            threads.setThreadCpuTimeEnabled(true);
        }
    }

    @Override
    public String getDescription()
    {
        return "CPU time of the benchmark threads per operation (" + METRIC + ", ns/op): immune to time-slicing";
    }

    @Override
    public void beforeIteration(final BenchmarkParams benchmarkParams, final IterationParams iterationParams)
    {
        before.clear();
        refBefore = MachineLoad.referenceNanos();
        load.start();
        for (final Thread t : workers())
        {
            final long cpu = threads.getThreadCpuTime(t.getId());
            if (cpu >= 0)
            {
                before.put(t.getId(), cpu);
            }
        }
    }

    @Override
    @SuppressWarnings("rawtypes") // JMH's signature
    public Collection<? extends Result> afterIteration(
        final BenchmarkParams benchmarkParams,
        final IterationParams iterationParams,
        final IterationResult result)
    {
        long cpu = 0;
        for (final Thread t : workers())
        {
            final long now = threads.getThreadCpuTime(t.getId());
            if (now >= 0)
            {
                // A worker started during this iteration counts from zero.
                cpu += now - before.getOrDefault(t.getId(), 0L);
            }
        }
        final double[] machine = load.stop();
        final double ref = (refBefore + MachineLoad.referenceNanos()) / 2;
        final List<Result> out = new ArrayList<>(4);
        final long ops = result.getMetadata().getAllOps();
        if (ops > 0 && cpu > 0)
        {
            out.add(new ScalarResult(METRIC, (double)cpu / ops, "ns/op", AggregationPolicy.AVG));
        }
        if (!Double.isNaN(machine[0]))
        {
            out.add(new ScalarResult(OTHERS, machine[0], "CPUs", AggregationPolicy.AVG));
            out.add(new ScalarResult(STEAL, machine[1], "CPUs", AggregationPolicy.AVG));
        }
        out.add(new ScalarResult(REF, ref, "ns", AggregationPolicy.AVG));
        return out;
    }

    private static List<Thread> workers()
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().contains("jmh-worker"))
            .toList();
    }
}
