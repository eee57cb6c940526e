package vqdma.bench.ring;

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
import org.openjdk.jmh.infra.Blackhole;
import vqdma.dma.DirectDma;
import vqdma.dma.GuestMemory;
import vqdma.ring.DescriptorChain;
import vqdma.ring.RingLayout;
import vqdma.ring.SgList;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

import java.util.concurrent.TimeUnit;

/**
 * One thread plays both sides of a ring, split or packed ({@code layout}): the driver adds a batch, the device pops, walks, checks and returns
 * every chain, the driver takes them back. This is the ring's own cost with no cross-core traffic: descriptor
 * writes, the avail and used rings, the vhost-style validation of every chain, and the driver's checks of every used
 * element. Two-thread round trips (where cache-line transfers dominate) are measured elsewhere.
 *
 * <h2>Shapes</h2>
 * The batch has the shapes of rust-vmm's virtio-queue benchmark so results compare across languages:
 * {@code chain128} is one chain of 128 descriptors (127 device-readable, 1 device-writable), {@code single128} is
 * 128 one-descriptor chains. One operation is one whole batch, 128 descriptors: divide ns/op by 128 for the cost per
 * descriptor. With {@code indirect=true} the 128-chain travels as one indirect table (one ring descriptor); single
 * descriptors never use indirect tables, as in the kernel.
 *
 * <h2>DMA</h2>
 * {@code dma=bypass} is legacy virtio (no {@code VIRTIO_F_ACCESS_PLATFORM}): guest-physical addresses in the ring.
 * {@code dma=direct} maps every buffer through {@link DirectDma} (an interface call that returns the address), as a
 * guest with ACCESS_PLATFORM and no IOMMU does.
 *
 * <h2>Figures and modes</h2>
 * On a 2-vCPU VM, JDK 17, split ring, bypass (2026-12-06, 6 interleaved forks a side, median fork): single128 about
 * 2,560 ns per batch (20 ns per request for both sides together, 1.39x faster than before the hot-path work of that
 * day), chain128 about 1,420 ns (11 ns per descriptor, unchanged). Where the time goes per phase (driver add,
 * device pop, walk and translation, used element, getBuf): docs/ring.md. The forks fall into a fast and a slow mode
 * 25-45% apart, and a fork switches between them while it runs: no JIT event and no memory layout explains it, the
 * slow mode's extra time is in the descriptor's store by the driver and its load by the device, and the C pair shows
 * the same two levels. Use 8 forks or more and read each fork's level (the report prints them and marks cells whose
 * forks disagree by more than 10%).
 *
 * <h2>Allocation</h2>
 * The steady state allocates nothing: run with {@code -prof gc} and expect {@code gc.alloc.rate.norm} of about
 * 0 B/op.
 *
 * <h2>How to run</h2>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar RingCycleBenchmark -prof gc
 *   java -jar benchmarks/target/benchmarks.jar RingCycleBenchmark -p shape=chain128 -p queueSize=256
 * </pre>
 * Expect chain128 and single128 to cost about the same per descriptor without indirect; indirect makes chain128
 * cheaper for the ring (one slot) but adds the table walk. One thread has no cross-core traffic, so the layouts
 * differ here only in the work per descriptor (the packed ring has no avail ring and no used ring to write, but
 * walks each chain's flags twice on the device side: shape, then contents).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
public class RingCycleBenchmark
{
    /** 256 by default: with one batch of 128 in flight the size barely matters; widen with -p queueSize=256,1024. */
    @Param({"256"})
    int queueSize;

    @Param({"false", "true"})
    boolean indirect;

    @Param({"chain128", "single128"})
    String shape;

    @Param({"bypass", "direct"})
    String dma;

    /**
     * {@code split} (virtio 1.0: descriptor table, avail ring, used ring) or {@code packed} (virtio 1.1: one descriptor
     * ring both sides write, {@code VIRTIO_F_RING_PACKED}).
     */
    @Param({"split", "packed"})
    String layout;

    /**
     * With {@code -Dvqdma.bench.relayout=true} (through {@code -jvmArgsAppend}) the ring is rebuilt before every
     * iteration in new guest memory (a fresh allocation), placed 0..15 pages further in: the same compiled code on
     * another memory layout. An experiment on the forks' modes (docs/ring.md): if a mode came from the placement of
     * off-heap memory, it would follow the rebuilds. A system property rather than a {@code @Param}, so that the
     * benchmark's name and history stay what they were.
     */
    static final boolean RELAYOUT = Boolean.getBoolean("vqdma.bench.relayout");

    static final int DESCRIPTORS = 128;
    static final int BUFFER = 512;

    /**
     * The perf-regression gate's injected regression ({@code scripts/gate-selftest}): with
     * {@code -Dvqdma.bench.extraCycleEvery=N} every N-th call of {@link #cycle} runs a second complete batch, so the
     * hot path does 100/N % more real ring work per operation. A {@code static final}: at 0, the default, the JIT
     * folds the branch away and inlines {@link #batch} into {@link #cycle}: the benchmark is what it always was.
     */
    static final int EXTRA_CYCLE_EVERY = Integer.getInteger("vqdma.bench.extraCycleEvery", 0);

    /**
     * The differential flame graph's planted slowdown (the gate module's {@code DiffFlameGraphTest}): with
     * {@code -Dvqdma.bench.plantedSpin=N} {@link #batch} runs N dependent rounds of a 64-bit mix in its own body,
     * about 2 ns each, so that its own frame, and no other, grows. A {@code static final}: at 0, the default, the JIT
     * folds the branch away.
     */
    static final int PLANTED_SPIN = Integer.getInteger("vqdma.bench.plantedSpin", 0);

    Virtqueue vq;
    VhostVirtqueue device;
    DescriptorChain chain;
    SgList sg;
    long buffers;
    final Object[] tokens = new Object[DESCRIPTORS];
    int cyclesSinceExtra;
    long plantedState = 1;
    long relayouts;

    /** Outcomes, per iteration: chains completed and the bytes the device reported. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long chains;
        public long descriptors;

        @Setup(Level.Iteration)
        public void reset()
        {
            chains = 0;
            descriptors = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp()
    {
        build(0);
    }

    /** With {@link #RELAYOUT}: a new ring in new memory, at a pseudo-random offset, before every iteration. */
    @Setup(Level.Iteration)
    public void relayout()
    {
        if (RELAYOUT)
        {
            relayouts++;
            build((int)((relayouts * 0x9E3779B97F4A7C15L) >>> 60));
        }
    }

    private void build(final int pagesBefore)
    {
        final GuestMemory memory = GuestMemory.allocate(16L << 20, false);
        if (pagesBefore > 0)
        {
            memory.allocate((long)pagesBefore * 4096, 4096);
        }
        long features = Vring.feature(Vring.VIRTIO_F_VERSION_1);
        if (indirect)
        {
            features |= Vring.feature(Vring.VIRTIO_RING_F_INDIRECT_DESC);
        }
        if (dma.equals("direct"))
        {
            features |= Vring.feature(Vring.VIRTIO_F_ACCESS_PLATFORM);
        }
        else if (!dma.equals("bypass"))
        {
            throw new IllegalArgumentException("dma=" + dma + ": expected bypass or direct");
        }
        vq = Virtqueue.builder(memory, queueSize).features(features).layout(RingLayout.parse(layout))
            .dma(new DirectDma(memory)).callbacks(false).build();
        device = vq.deviceBuilder().build();
        chain = device.newChain();
        sg = new SgList(DESCRIPTORS);
        buffers = memory.allocate((long)DESCRIPTORS * BUFFER, 4096);
        for (int i = 0; i < DESCRIPTORS; i++)
        {
            tokens[i] = Integer.valueOf(i);
        }
    }

    /** Baseline: what the batch loop costs without the ring (filling the scatter-gather list). */
    @Benchmark
    public int baseline()
    {
        final SgList sg = this.sg.clear();
        for (int i = 0; i < DESCRIPTORS - 1; i++)
        {
            sg.out(buffers + (long)i * BUFFER, BUFFER);
        }
        sg.in(buffers + (DESCRIPTORS - 1L) * BUFFER, BUFFER);
        return sg.size();
    }

    @Benchmark
    public void cycle(final Counters counters, final Blackhole bh)
    {
        int batches = 1;
        if (EXTRA_CYCLE_EVERY > 0 && ++cyclesSinceExtra == EXTRA_CYCLE_EVERY)
        {
            cyclesSinceExtra = 0;
            batches = 2;
        }
        // One call site, so that the JIT compiles the batch the same way with the flag on as with it off.
        for (int b = 0; b < batches; b++)
        {
            batch(counters, bh);
        }
    }

    /** One batch through the ring and back: the operation {@link #cycle} measures. */
    private void batch(final Counters counters, final Blackhole bh)
    {
        final Virtqueue vq = this.vq;
        final VhostVirtqueue device = this.device;
        final DescriptorChain chain = this.chain;
        final SgList sg = this.sg;
        int added = 0;
        if (shape.equals("chain128"))
        {
            sg.clear();
            for (int i = 0; i < DESCRIPTORS - 1; i++)
            {
                sg.out(buffers + (long)i * BUFFER, BUFFER);
            }
            sg.in(buffers + (DESCRIPTORS - 1L) * BUFFER, BUFFER);
            check(vq.add(sg, tokens[0]));
            added = 1;
        }
        else
        {
            for (int i = 0; i < DESCRIPTORS; i++)
            {
                check(vq.add(sg.clear().out(buffers + (long)i * BUFFER, BUFFER), tokens[i]));
            }
            added = DESCRIPTORS;
        }
        vq.kickPrepare();

        int head;
        while ((head = device.pop(chain)) >= 0)
        {
            counters.descriptors += chain.descriptors();
            device.addUsed(head, (int)Math.min(chain.writableBytes(), 4));
        }
        device.flushUsed();

        for (int i = 0; i < added; i++)
        {
            bh.consume(vq.getBuf());
        }
        counters.chains += added;
        if (PLANTED_SPIN > 0)
        {
            // Inline arithmetic, no call: the time lands in batch's own frame. Each round depends on the last.
            long x = plantedState;
            for (int k = 0; k < PLANTED_SPIN; k++)
            {
                x = (x ^ (x >>> 31)) * 0xBF58476D1CE4E5B9L;
            }
            plantedState = x;
        }
    }

    private void check(final int err)
    {
        if (err != 0)
        {
            throw new IllegalStateException("add failed with " + err + (vq.isBroken() ? ": " + vq.brokenReason() : ""));
        }
    }
}
