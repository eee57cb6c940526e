package vqdma.bench.run;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Steady-state heap bytes per operation: what every thread of the benchmark's JVM except JMH's harness thread
 * allocated during an iteration (the benchmark threads and any thread the benchmark started, a device or echo
 * thread), less an allowance for JMH's own per-iteration objects in its worker threads, divided by the operations:
 * the secondary metric {@value #METRIC} (B/op). The zero-allocation check ({@link AllocCheck}) judges by it.
 * <p>
 * Why not {@code -prof gc} alone: its {@code gc.alloc.rate.norm} divides what <em>all</em> threads allocated by the
 * operations, the harness's bookkeeping included: about 15 KB per iteration on the development VM with JMH 1.37,
 * plus 1-3 KB in each worker thread (the iteration's result objects). That is 0.02 B/op for a 1 us operation but
 * 18 B/op for a 1 ms one (measured with {@code IommuBenchmark -p invalidationNanos=1000000}: gc.alloc.rate.norm 18-19
 * B/op, this metric 0), far above the check's 8 B/op for code that allocates nothing: a 1 MiB virtio-blk request, a
 * two-thread round trip on a busy machine. The harness thread is the one that calls this profiler around each
 * iteration, so leaving it out is exact; the workers' per-iteration objects are bounded by
 * {@link #ITERATION_ALLOWANCE} bytes per worker thread. What a hot path allocates per operation is then seen down to
 * about {@code ITERATION_ALLOWANCE / operations per iteration} bytes: 0.004 B/op at 1 us, 4 B/op at 1 ms per
 * operation and 1 s iterations.
 * <p>
 * How: before and after each iteration, {@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes} of every
 * live thread but the current one; a thread that starts during the iteration counts from zero, one that ends during
 * it is missed (benchmark helper threads live for the trial). Divided by all the iteration's operations
 * ({@code getAllOps()}, as {@code -prof gc} does).
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'dma.*' -prof vqdma.bench.run.ThreadAllocProfiler
 * </pre>
 */
public final class ThreadAllocProfiler implements InternalProfiler
{
    /** The secondary metric's name. */
    public static final String METRIC = "alloc.steady.norm";

    /**
     * Bytes per worker thread and iteration left to JMH: its worker threads allocate the iteration's result objects
     * (measured 0.8-3 KB with JMH 1.37 on JDK 17).
     */
    public static final long ITERATION_ALLOWANCE = 4096;

    private final com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> before = new HashMap<>();

    /** JMH instantiates profilers reflectively. */
    public ThreadAllocProfiler()
    {
        if (threads.isThreadAllocatedMemorySupported() && !threads.isThreadAllocatedMemoryEnabled())
        {
            threads.setThreadAllocatedMemoryEnabled(true);
        }
    }

    @Override
    public String getDescription()
    {
        return "steady-state heap bytes per operation: every thread but JMH's harness, less JMH's per-iteration " +
            "objects (" + METRIC + ", B/op)";
    }

    @Override
    public void beforeIteration(final BenchmarkParams benchmarkParams, final IterationParams iterationParams)
    {
        before.clear();
        final long self = Thread.currentThread().getId();
        final long[] ids = threads.getAllThreadIds();
        final long[] bytes = threads.getThreadAllocatedBytes(ids);
        for (int i = 0; i < ids.length; i++)
        {
            if (ids[i] != self && bytes[i] >= 0)
            {
                before.put(ids[i], bytes[i]);
            }
        }
    }

    @Override
    @SuppressWarnings("rawtypes") // JMH's signature
    public Collection<? extends Result> afterIteration(final BenchmarkParams benchmarkParams,
        final IterationParams iterationParams, final IterationResult result)
    {
        final long self = Thread.currentThread().getId();
        final long[] ids = threads.getAllThreadIds();
        final long[] bytes = threads.getThreadAllocatedBytes(ids);
        long allocated = 0;
        for (int i = 0; i < ids.length; i++)
        {
            if (ids[i] != self && bytes[i] >= 0)
            {
                allocated += bytes[i] - before.getOrDefault(ids[i], 0L);
            }
        }
        final long ops = result.getMetadata() == null ? 0 : result.getMetadata().getAllOps();
        if (ops <= 0)
        {
            return List.of();
        }
        final long steady = Math.max(0, allocated - ITERATION_ALLOWANCE * benchmarkParams.getThreads());
        return List.of(new ScalarResult(METRIC, (double)steady / ops, "B/op", AggregationPolicy.AVG));
    }
}
