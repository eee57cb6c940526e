package vqdma.bench.run;

import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.IterationResultMetaData;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.WorkloadParams;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The profiler sees what other threads allocate between its two calls, and not what the calling (harness) thread
 * allocates: driven here by hand the way JMH drives it.
 */
class ThreadAllocProfilerTest
{
    static final int OPS = 1000;

    @Test
    void anotherThreadsAllocationIsCountedPerOperation() throws Exception
    {
        final ThreadAllocProfiler p = new ThreadAllocProfiler();
        p.beforeIteration(params(), iteration());
        final List<long[]> keep = new ArrayList<>();
        final CountDownLatch allocated = new CountDownLatch(1);
        final CountDownLatch measured = new CountDownLatch(1);
        final Thread worker = new Thread(() ->
        {
            for (int i = 0; i < OPS; i++)
            {
                keep.add(new long[128]); // about 1 KiB per operation
            }
            allocated.countDown();
            try
            {
                measured.await(); // a benchmark's threads outlive the iteration: the profiler reads live threads
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        });
        worker.start();
        assertTrue(allocated.await(30, TimeUnit.SECONDS));
        final double norm = value(p.afterIteration(params(), iteration(), result()));
        measured.countDown();
        worker.join();
        // 1024 + 16 bytes per array, less the allowance of 4096 per iteration: about 1036.
        assertTrue(norm > 1000 && norm < 1200, "about 1 KiB per operation, measured " + norm + " B/op");
        assertEquals(OPS, keep.size());
    }

    @Test
    void theHarnessThreadIsLeftOut()
    {
        final ThreadAllocProfiler p = new ThreadAllocProfiler();
        p.beforeIteration(params(), iteration());
        final List<long[]> keep = new ArrayList<>();
        for (int i = 0; i < OPS; i++)
        {
            keep.add(new long[128]);
        }
        final double norm = value(p.afterIteration(params(), iteration(), result()));
        assertEquals(OPS, keep.size());
        assertTrue(norm < 8, "the calling thread allocated 1 KiB per operation, measured " + norm + " B/op");
    }

    @SuppressWarnings("rawtypes") // JMH's profiler signature
    private static double value(final Collection<? extends Result> results)
    {
        assertEquals(1, results.size());
        final Result<?> r = results.iterator().next();
        assertEquals(ThreadAllocProfiler.METRIC, r.getLabel());
        return r.getScore();
    }

    private static IterationResult result()
    {
        return new IterationResult(params(), iteration(), new IterationResultMetaData(OPS, OPS));
    }

    private static IterationParams iteration()
    {
        return new IterationParams(IterationType.MEASUREMENT, 1, TimeValue.seconds(1), 1);
    }

    private static BenchmarkParams params()
    {
        return new BenchmarkParams("vqdma.bench.X.y", "generated", true, 1, new int[] {1}, List.of(), 1, 0,
            iteration(), iteration(), Mode.AverageTime, new WorkloadParams(), TimeUnit.NANOSECONDS, 1, "java",
            List.of(), "17", "vm", "17", "1.37", TimeValue.minutes(1));
    }
}
