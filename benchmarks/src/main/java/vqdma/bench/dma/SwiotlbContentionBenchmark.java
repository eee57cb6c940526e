package vqdma.bench.dma;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbDma;

import java.util.concurrent.TimeUnit;

/**
 * Why the kernel split the SWIOTLB into areas (Linux 5.19/6.0, "swiotlb: split up the global swiotlb lock"): with one
 * lock, every CPU mapping a buffer serialises on it. Here 1 and 2 threads map + unmap 4 KiB {@code TO_DEVICE}
 * buffers (one bounce each) through one {@code swiotlb-force} pool of 1, 2 or 4 areas.
 *
 * <h2>What to expect</h2>
 * With 1 area, two threads take the same lock and bounce its cache line between cores: time per operation rises well
 * above the single-thread time. With 2 or 4 areas each thread starts in its own area (a thread's area is
 * {@code Thread.getId() & (nareas - 1)}; JMH's worker threads have consecutive ids, so two threads fall in different
 * areas) and the locks no longer collide. What remains shared is the pool-wide {@code total_used} counter and its
 * high-water mark, one atomic line every mapping writes, as in a kernel with {@code CONFIG_DEBUG_FS}: the areas do not
 * remove that cost, and the numbers show how much of it is left.
 * <p>
 * Time is per operation per thread; two threads on a 2-core machine shared with other work are noisy, so compare
 * within one run.
 *
 * <h2>Recorded output</h2>
 * Indicative only (2-core VM shared with other jobs, load average 7-10; {@code -f 1 -wi 2 -i 3 -prof gc}), median
 * ns/op per thread:
 * <pre>
 *   nareas   oneThread   twoThreads
 *        1        1859         4927
 *        2         670         3223
 *        4        1168         1824
 * </pre>
 * With one area the second thread costs each operation about 2.7x; with 4 areas about 1.6x (the shared
 * {@code total_used} line, and two threads on two busy cores). The single-thread column moves with the area size
 * too: the pool is 16 MiB, and one thread walks through its area of 16, 8 or 4 MiB, so fewer areas mean a larger,
 * colder window of slots (see {@code DmaMapBenchmark.memcpyPoolWalk}).
 *
 * <h2>Allocation</h2>
 * 0 B/op under {@code -prof gc} (measured at most 0.02 B/op, JMH's background): an intrinsic lock inflates into
 * native memory, not the Java heap.
 *
 * <h2>How to run</h2>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar SwiotlbContentionBenchmark
 *   java -jar benchmarks/target/benchmarks.jar SwiotlbContentionBenchmark -f 1 -wi 2 -i 3 -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
public class SwiotlbContentionBenchmark
{
    static final int SIZE = 4096;

    @Param({"1", "2", "4"})
    int nareas;

    /**
     * The SWIOTLB profile: {@code swiotlb-force} (the kernel's allocator) or {@code swiotlb-hot} (the 2022 RFC's
     * bitmap and LIFO free lists, placed so as not to fragment the pool); {@code -p ops=swiotlb-bitmap} for the RFC's
     * bitmap alone.
     */
    @Param({"swiotlb-force", "swiotlb-hot"})
    String ops;

    GuestMemory memory;
    SwiotlbDma dma;

    @Setup(Level.Trial)
    public void setUp()
    {
        memory = GuestMemory.allocate(32L << 20, false);
        dma = new SwiotlbDma(new Swiotlb(memory, 16L << 20, nareas, DmaProfile.of(ops).swiotlbAllocator()), true);
    }

    /** Each thread's own buffer. */
    @State(Scope.Thread)
    public static class PerThread
    {
        long buffer;

        @Setup(Level.Trial)
        public void setUp(final SwiotlbContentionBenchmark shared)
        {
            buffer = shared.memory.allocate(SIZE, 4096);
            for (int i = 0; i < SIZE; i++)
            {
                shared.memory.buffer().putByte((int)buffer + i, (byte)i);
            }
        }
    }

    /** Outcomes per iteration and thread. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Outcomes
    {
        public long mapped;
        public long mapErrors;

        @Setup(Level.Iteration)
        public void reset()
        {
            mapped = 0;
            mapErrors = 0;
        }
    }

    private long cycle(final PerThread t, final Outcomes out)
    {
        final long addr = dma.map(t.buffer, SIZE, DmaDirection.TO_DEVICE);
        if (DmaOps.isMappingError(addr))
        {
            out.mapErrors++;
            return addr;
        }
        dma.unmap(addr, SIZE, DmaDirection.TO_DEVICE);
        out.mapped++;
        return addr;
    }

    /** @return the bus address. One thread: the uncontended cost. */
    @Benchmark
    @Threads(1)
    public long oneThread(final PerThread t, final Outcomes out)
    {
        return cycle(t, out);
    }

    /** @return the bus address. Two threads on one pool. */
    @Benchmark
    @Threads(2)
    public long twoThreads(final PerThread t, final Outcomes out)
    {
        return cycle(t, out);
    }
}
