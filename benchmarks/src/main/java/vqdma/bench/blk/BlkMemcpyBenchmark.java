package vqdma.bench.blk;

import org.agrona.concurrent.UnsafeBuffer;
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
import org.openjdk.jmh.annotations.Warmup;
import vqdma.dma.GuestMemory;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The baseline of {@link BlkBenchmark}: the one copy a virtio-blk write with direct DMA must make, from the guest's
 * pages to the RAM disk, and nothing else: no block layer, no ring, no mapping, no second thread. One operation
 * copies {@code size} bytes from slot {@code i} of the page area to slot {@code i} of the disk, {@code i} cycling
 * through 32 slots, so that source and destination have the footprint of {@code BlkBenchmark} at depth 32 (32 x 1 MiB
 * does not fit the caches). Its {@code bytes} per second is the physical limit of {@code BlkBenchmark}'s
 * {@code bytes} with {@code dma=direct}; its operations per second, the limit of its IOPS at that size. SWIOTLB
 * copies the same bytes once more (page to bounce slot) before the device copies them to the disk.
 *
 * <h2>Allocation</h2>
 * None: {@code -prof gc} shows about 0 B/op.
 *
 * <h2>How to run</h2>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar BlkMemcpyBenchmark
 *   java -jar benchmarks/target/benchmarks.jar 'blk.*' -p size=65536 -p depth=32 -p dma=direct
 * </pre>
 * The second line runs it next to the direct-DMA requests of the same size.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
public class BlkMemcpyBenchmark
{
    /** Slots, as {@link BlkBenchmark}'s requests at depth 32. */
    static final int SLOTS = 32;

    /** The page area and the disk. */
    @State(Scope.Thread)
    public static class Areas
    {
        /** Bytes per copy, as {@link BlkBenchmark}'s request sizes. */
        @Param({"4096", "65536", "262144", "1048576"})
        int size;

        UnsafeBuffer pages;
        UnsafeBuffer disk;
        int slot;

        @Setup(Level.Trial)
        public void setUp()
        {
            if (size < 1 || size > (4 << 20))
            {
                throw new IllegalArgumentException("size=" + size + ": 1 byte to 4 MiB");
            }
            final int bytes = SLOTS * size;
            pages = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes + GuestMemory.PAGE_SIZE));
            disk = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes));
            for (int b = 0; b < bytes; b++)
            {
                pages.putByte(b, (byte)(b * 7 + (b >>> 9)));
            }
        }
    }

    /** Bytes copied per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset()
        {
            bytes = 0;
        }
    }

    /** One request's data, pages to disk. */
    @Benchmark
    public void memcpy(final Areas a, final Counters c)
    {
        final int size = a.size;
        final int at = a.slot * size;
        a.disk.putBytes(at, a.pages, at, size);
        a.slot = a.slot + 1 == SLOTS ? 0 : a.slot + 1;
        c.bytes += size;
    }
}
