package vqdma.bench.ref;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The yardstick of a run: work that no vqdma change can make faster or slower, measured in the same run as the
 * benchmarks under test, so that the perf-regression gate ({@code scripts/gate}) can tell "this code got slower" from
 * "this machine is slower today" (a busier neighbour, a slower cloud instance, a lower clock). The gate divides a
 * benchmark's candidate/baseline speed ratio by this benchmark's ratio when its configuration says so
 * ({@code gate/gate.conf}).
 *
 * <h2>The kernels</h2>
 * <ul>
 *   <li>{@code compute}: a fixed chain of {@value #ROUNDS} dependent rounds of splitmix64 (add, xor-shift, multiply):
 *   latency-bound integer work with no memory traffic and no data-dependent branch, so there is nothing for the JIT
 *   to profile differently from one fork to the next. It tracks the core's speed and its share of the core.</li>
 *   <li>{@code memcpy}: {@value #COPY_BYTES} bytes copied with {@code System.arraycopy} (the JVM's memcpy intrinsic):
 *   as many bytes as RingCycleBenchmark's 128 buffers of 512, L2-resident like them. It tracks the load/store path
 *   and, unlike {@code compute}, what neighbours sharing the core do to the caches (each time they run, they evict
 *   some of it), which the CPU time of a benchmark also sees.</li>
 *   <li>{@code memcpyCold}: the same {@value #COPY_BYTES}-byte copy, but into a destination that walks through a
 *   {@value #COLD_WINDOW_MIB} MiB window in copy-sized steps, as a stream of SWIOTLB bounces walks the slots of one
 *   area of the kernel's 64 MiB pool (the area's search index moves past every allocation): every copy writes memory
 *   that is cold in cache and TLB. It tracks what the hot copy cannot: memory bandwidth and latency, and what a
 *   neighbour does to the last-level cache and the TLB. The bounce-bound cells (SWIOTLB map+unmap, virtio-blk over
 *   SWIOTLB) are normalized by it: under CPU burners on both cores (6 forks a side, interleaved) the SWIOTLB
 *   map+unmap cells slowed 14-17%, {@code memcpyCold} 24%, {@code compute} and {@code memcpy} 1-2% (docs/gate.md).</li>
 * </ul>
 * None touches vqdma code on purpose. There is no separate baseline method: this class is itself the baseline of
 * the other benchmarks.
 *
 * <h2>Allocation</h2>
 * No kernel allocates: {@code -prof gc} shows {@code gc.alloc.rate.norm} of about 0 B/op.
 *
 * <h2>How to run</h2>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar ReferenceBenchmark -prof gc
 *   scripts/gate run            # measures it beside the gated benchmarks, round by round
 * </pre>
 * Expect a few microseconds per op for each, and, what matters, the same ratio between two runs on the same machine.
 * Run twice with another CPU-bound process pinned to the same cores and the kernels slow down by about the same
 * factor as the ring benchmarks: that is what normalization relies on ({@code scripts/gate-selftest} checks it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ReferenceBenchmark
{
    static final int ROUNDS = 4096;
    static final int COPY_BYTES = 64 * 1024;
    static final int COLD_WINDOW_MIB = 32;
    static final int COLD_WINDOW = COLD_WINDOW_MIB << 20;

    /** Not final: the JIT must not fold the chain into a constant. */
    long seed = 0x5DEECE66DL;
    byte[] src;
    byte[] dst;
    byte[] window;
    int windowAt;

    @Setup
    public void setUp()
    {
        src = new byte[COPY_BYTES];
        dst = new byte[COPY_BYTES];
        for (int i = 0; i < COPY_BYTES; i++)
        {
            src[i] = (byte)(i * 31);
        }
        window = new byte[COLD_WINDOW];
    }

    /** splitmix64, {@value #ROUNDS} rounds, each depending on the last: the same instructions every time. */
    @Benchmark
    public long compute()
    {
        long x = seed;
        for (int i = 0; i < ROUNDS; i++)
        {
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            x = z ^ (z >>> 31);
        }
        return x;
    }

    /** One {@value #COPY_BYTES}-byte copy; returning a byte of the destination keeps the copy observable. */
    @Benchmark
    public byte memcpy()
    {
        System.arraycopy(src, 0, dst, 0, COPY_BYTES);
        return dst[COPY_BYTES - 1];
    }

    /** One {@value #COPY_BYTES}-byte copy into the next step of the {@value #COLD_WINDOW_MIB} MiB window. */
    @Benchmark
    public byte memcpyCold()
    {
        final int at = windowAt;
        System.arraycopy(src, 0, window, at, COPY_BYTES);
        windowAt = at + COPY_BYTES == COLD_WINDOW ? 0 : at + COPY_BYTES;
        return window[at + COPY_BYTES - 1];
    }
}
