package vqdma.bench.iommu;

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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import vqdma.dma.DmaDirection;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;

import java.util.concurrent.TimeUnit;

/**
 * What one streaming DMA mapping costs through the IOMMU model ({@code vqdma.dma.IommuDma}, after
 * {@code drivers/iommu/dma-iommu.c} and {@code iova.c}): allocate an IOVA, write the PTEs, then unmap: clear the PTEs
 * and either invalidate the IOTLB and free the IOVA at once (strict) or queue it for a later flush-all (lazy).
 *
 * <h2>What is measured</h2>
 * <ul>
 *   <li>{@code iommuMapUnmap}: one thread maps and unmaps the same {@code size} buffer TO_DEVICE, over and over.
 *   With {@code rcache=true} and a size of at most 32 pages, every IOVA allocation after warm-up is a range-cache
 *   hit (a magazine pop) and every free a magazine push: the kernel's steady state. With {@code rcache=false} every
 *   allocation searches the IOVA tree and every free goes back to it (the miss path; {@code -p size=262144}, 64
 *   pages, is a miss with the caches on, as in the kernel).</li>
 *   <li>{@code iommuMapReadUnmap}: the same with one device read in between, through the IOTLB: the aux counters
 *   then show IOTLB misses (a new or just-invalidated IOVA always misses) and table walks.</li>
 *   <li>{@code iommuBaseline}: the page arithmetic of a mapping without the IOMMU: the floor.</li>
 * </ul>
 * {@code invalidationNanos} is the modelled busy-wait per IOTLB invalidation: 0 isolates the software cost,
 * 1000 (the default, see IommuDma's Javadoc for where it comes from) adds the hardware wait. Strict mode pays it on
 * every unmap; lazy mode once per 256 unmaps (one flush-all per full flush queue), which is the whole point of
 * lazy mode, and why its stale window exists.
 *
 * <h2>Pitfalls avoided</h2>
 * The buffer and the DMA ops are built once per trial; the measured loop only maps and unmaps. Results are consumed
 * (returned). The flush queue does not read the clock on every lazy unmap (the kernel's {@code queue_iova()} never
 * does: its timer counts jiffies): only every 16th while unmaps are fast, for each flush and for the first unmap into
 * an empty queue, about 2 ns per pair here (IommuDma's Javadoc gives the timer granularity that follows).
 * {@code auditStaleHits} is off: the audit is device-side instrumentation, not part of a mapping's cost.
 *
 * <h2>Counters</h2>
 * Totals ({@code #}, summed over the measurement iterations by JMH; divide by the operation count for
 * per-operation values): IOTLB hits, misses and
 * invalidation operations, flush-queue flushes, range-cache hits and IOVA tree allocations (range-cache misses).
 *
 * <h2>Allocation</h2>
 * The steady state allocates nothing: with {@code rcache=true}, {@code -prof gc} shows {@code gc.alloc.rate.norm}
 * of about 0 B/op for both modes (the IOVA tree arrays only grow at a new high-water mark of live ranges, which a
 * map-unmap loop never reaches twice).
 *
 * <h2>How to run</h2>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'iommu.*' -prof gc
 *   java -jar benchmarks/target/benchmarks.jar 'IommuBenchmark.iommuMapUnmap' -p mode=lazy -p rcache=true
 *   java -jar benchmarks/target/benchmarks.jar 'IommuBenchmark.iommuMapUnmap' -p size=262144
 * </pre>
 * Expect: rcache hit + invalidation 0 costs tens of ns per pair in both modes; strict with a 1000 ns invalidation is
 * dominated by it (about 1 us per pair); lazy with 1000 ns pays about 1000/255 ns per pair; rcache off adds a locked
 * tree search and a tree delete per pair.
 *
 * <h2>Recorded (indicative: 2 vCPUs shared with other jobs, load average 10-12, JDK 17, AMD EPYC VM)</h2>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'IommuBenchmark.iommuMapUnmap' -p rcache=true -p invalidationNanos=0 \
 *       -p size=4096 -p mode=lazy,strict -f 2 -wi 3 -i 5 -prof gc        (3 runs each, alternating, median of medians)
 *
 *                          before (12b772e)    after
 *   lazy,   rcache hit     453 ns/op           235 ns/op     gc.alloc.rate.norm ~0.002 B/op
 *   strict, rcache hit     277 ns/op           143 ns/op     gc.alloc.rate.norm ~0.001 B/op
 * </pre>
 * On that machine the benchmark thread got a fraction of a core, so wall-clock ns/op were two to four times the CPU
 * time: the same loop timed by thread CPU time (both versions in one JVM, batches interleaved) gave lazy 175-185 ->
 * 61-63 ns and strict 102-113 -> 49-52 ns per pair (about 16 and 20 million pairs/s). What was cut: a striped hash
 * table of live allocations used only for misuse checks (the page table's head PTE already checks every unmap), a
 * clock read per lazy unmap, a full fence the queue lock's CAS already provides, two redundant page-table walks per
 * unmap (one check-and-clear pass through a cached leaf table), a second atomic per IOTLB invalidation, and one lock
 * per entry when a full queue is freed. What is left is the kernel's own work: two atomics per lazy pair and three per
 * strict pair, a magazine pop and push, the PTE writes, the flush queue's bookkeeping, and Agrona's bounds check on
 * each page-table access (a few ns per pair; {@code -Dagrona.disable.bounds.checks=true} shows it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
public class IommuBenchmark
{
    @Param({"strict", "lazy"})
    String mode;

    @Param({"true", "false"})
    boolean rcache;

    @Param({"0", "1000"})
    long invalidationNanos;

    @Param({"4096"})
    int size;

    IommuDma iommu;
    long gpa;

    /** Outcomes per iteration, as totals: divide by the operation count for per-op values. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long iotlbHits;
        public long iotlbMisses;
        public long iotlbInvalidations;
        public long queueFlushes;
        public long rcacheHits;
        public long treeAllocations;

        long lastHits;
        long lastMisses;
        long lastInvalidations;
        long lastFlushes;
        long lastRcacheHits;
        long lastTree;
        int ops;

        @Setup(Level.Iteration)
        public void reset()
        {
            iotlbHits = 0;
            iotlbMisses = 0;
            iotlbInvalidations = 0;
            queueFlushes = 0;
            rcacheHits = 0;
            treeAllocations = 0;
        }

        /**
         * Called on every operation; every 1024th adds what the IOMMU's own counters gained since the previous
         * snapshot, so that the few volatile loads of a snapshot (and the loop over the range caches' slots) stay off
         * almost every measured operation. An iteration's totals may be off by the last 1023 operations.
         */
        void tick(final IommuDma iommu)
        {
            if ((++ops & 1023) == 0)
            {
                final long hits = iommu.iotlb().hits();
                final long misses = iommu.iotlb().misses();
                final long invalidations = iommu.iotlb().invalidations();
                final long flushes = iommu.queueFlushes();
                final long rcache = iommu.domain().rcacheHits();
                final long tree = iommu.domain().treeAllocations();
                iotlbHits += hits - lastHits;
                iotlbMisses += misses - lastMisses;
                iotlbInvalidations += invalidations - lastInvalidations;
                queueFlushes += flushes - lastFlushes;
                rcacheHits += rcache - lastRcacheHits;
                treeAllocations += tree - lastTree;
                lastHits = hits;
                lastMisses = misses;
                lastInvalidations = invalidations;
                lastFlushes = flushes;
                lastRcacheHits = rcache;
                lastTree = tree;
            }
        }
    }

    @Setup(Level.Trial)
    public void setUp()
    {
        final GuestMemory memory = GuestMemory.allocate(64L << 20, false);
        final IommuDma.Mode m;
        if (mode.equals("strict"))
        {
            m = IommuDma.Mode.STRICT;
        }
        else if (mode.equals("lazy"))
        {
            m = IommuDma.Mode.LAZY;
        }
        else
        {
            throw new IllegalArgumentException("mode=" + mode + ": expected strict or lazy");
        }
        iommu = IommuDma.builder(memory).mode(m).rcache(rcache).invalidationNanos(invalidationNanos)
            .auditStaleHits(false).build();
        gpa = memory.allocate(Math.max(size, 4096), 4096);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        iommu.flush();
        if (iommu.domain().liveIovas() != 0 || iommu.mappingErrors() != 0)
        {
            throw new IllegalStateException("leak or mapping error: live=" + iommu.domain().liveIovas() +
                " errors=" + iommu.mappingErrors());
        }
    }

    /** The floor: the page arithmetic of a mapping (offset, page count, bus address) with no IOMMU. */
    @Benchmark
    public long iommuBaseline()
    {
        final long gpa = this.gpa;
        final long pages = ((gpa & 4095) + size + 4095) >>> 12;
        return (gpa >>> 12) + pages;
    }

    /** Map then unmap one buffer: IOVA alloc + PTE writes, PTE clears + invalidate/queue + IOVA free. */
    @Benchmark
    public long iommuMapUnmap(final Counters counters)
    {
        final IommuDma iommu = this.iommu;
        final long dma = iommu.map(gpa, size, DmaDirection.TO_DEVICE);
        iommu.unmap(dma, size, DmaDirection.TO_DEVICE);
        counters.tick(iommu);
        return dma;
    }

    /** Map, one device read through the IOTLB (a miss and a table walk), unmap. */
    @Benchmark
    public byte iommuMapReadUnmap(final Counters counters)
    {
        final IommuDma iommu = this.iommu;
        final long dma = iommu.map(gpa, size, DmaDirection.TO_DEVICE);
        final byte b = iommu.deviceView().getByte(dma);
        iommu.unmap(dma, size, DmaDirection.TO_DEVICE);
        counters.tick(iommu);
        return b;
    }
}
