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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import vqdma.bench.peer.Affinities;
import vqdma.blk.Bio;
import vqdma.blk.BlkConfig;
import vqdma.blk.BlkDevice;
import vqdma.blk.BlkDriver;
import vqdma.blk.QueueLimits;
import vqdma.blk.RamBackend;
import vqdma.blk.VirtioBlk;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.RingLayout;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;
import vqdma.ring.thread.EventFd;
import vqdma.ring.thread.VhostWorker;
import vqdma.ring.thread.VirtqueueGuest;
import vqdma.ring.thread.WaitStrategy;

import java.util.concurrent.TimeUnit;

/**
 * virtio-blk end to end: a guest driver keeps {@code depth} requests of {@code size} bytes in flight on one queue
 * (block layer -> {@code virtio_queue_rq()} -> DMA mapping -> split ring -> device -> RAM disk -> used ring ->
 * {@code virtblk_done()} -> unmap), for every DMA profile with the 2019 fix ({@code clamp=true}: max segment size
 * clamped to {@code dma_max_mapping_size()}) and without it. One operation is one request completed, OK or not, so
 * the score is IOPS; the aux counters split it into {@code ok} and {@code errors} (IOERR) per second and give the
 * bandwidth ({@code bytes} per second, of OK requests only).
 *
 * <h2>What one operation does</h2>
 * Take one completed request ({@link BlkDriver.EndIo} puts each finished bio in a small FIFO), count it, and submit
 * it again: the queue is a closed loop at depth {@code depth}, as {@code fio --iodepth} keeps it. When no completion
 * is waiting, the operation reaps the used ring ({@link BlkDriver#poll()}) and, if that found nothing, waits: with
 * {@code device=thread} for the device thread ({@link VirtqueueGuest#awaitUsed}: a spin on {@code used.idx} with
 * {@code wait=poll}, the interrupt eventfd otherwise); with {@code device=inline} by serving the queue itself
 * ({@link BlkDevice#serve}). The operations that reap pay for the others: the score is requests completed per second
 * over the iteration, the way a storage benchmark reports IOPS. Requests cross iteration boundaries (at most
 * {@code depth} of them, a rounding error of the count). Every request writes (or, {@code -p type=IN}, reads) a
 * fixed range of the RAM disk with real copies; at the end of the trial every slot's data is compared with what its
 * last OK request moved, so a benchmark that stopped copying cannot pass.
 *
 * <h2>The two shapes of the device</h2>
 * <ul>
 *   <li>{@code device=thread} (the real shape): the device model runs on its own
 *   {@link VhostWorker} thread, as vhost or a QEMU iothread does; driver and device overlap on two cores and every
 *   request crosses between them twice (avail, used). {@code wait} is how both sides wait: {@code poll} (ringtest's
 *   default, both threads spin) or any {@link WaitStrategy#parse} text: {@code park}, {@code spin:2000},
 *   {@code spin:0+poll:20000} (then with EVENT_IDX, kicks and interrupts through eventfds, counted in
 *   {@code kicks} and {@code interrupts}).</li>
 *   <li>{@code device=inline} (the default): driver and device on the benchmark thread ({@code BlkHarness}'s
 *   shape): the CPU cost of a request, driver plus device, without cross-core traffic. {@code wait} is ignored.</li>
 * </ul>
 * Why {@code inline} by default: the matrix is about what the DMA profile and the clamp cost per request, and the
 * whole matrix runs on a 2-core machine for the baseline and the gate. With the device on a thread, two threads
 * spin (or park and wake) on two cores that JMH, the JIT, GC and any other process also want, and the score follows
 * the scheduler more than the code: on the shared development VM (load 4-5) {@code thread} cells at 4 KiB moved
 * between 45 k and 700 k IOPS from one iteration to the next, {@code inline} ones within 2x. The cross-thread cost
 * of the ring alone is {@code RingRoundTripBenchmark}'s subject; here {@code -p device=thread} (with
 * {@code -p affinity=split} on a quiet machine) adds it back.
 *
 * <h2>The failing cells</h2>
 * With SWIOTLB ({@code swiotlb}, {@code swiotlb-force}) and the clamp off, a 1 MiB request of contiguous pages is one
 * 1 MiB segment, SWIOTLB cannot map it (256 KiB at most), {@code virtqueue_add} returns {@code -EIO} and the request
 * completes at once with IOERR, everything mapped for it unmapped: these cells run, count {@code errors} (and
 * {@code ok} = 0, {@code bytes} = 0), and their score is the rate of the failure path, not of I/O. 256 KiB is exactly
 * one SWIOTLB segment and maps. A full bounce pool ({@code -ENOMEM}) or ring is not an error but a requeue
 * ({@code BLK_STS_RESOURCE}), counted in {@code requeues}.
 *
 * <h2>Pitfalls</h2>
 * <ul>
 *   <li>The device thread belongs to the trial's state, started at set-up and stopped (and joined) at tear-down,
 *   for the reasons given in {@code RingRoundTripBenchmark}. Every wait has a 10 s timeout: a lost notification or a
 *   dead device fails the run with a {@code DeviceFailure} instead of hanging it.</li>
 *   <li>With {@code wait=poll} both threads spin and the machine has two cores: JIT, GC or another process preempts
 *   one of them and stalls the other. {@code -p affinity=split} pins the driver to CPU 0 and the device to CPU 1.
 *   Compare cells of one run (ratios), not runs of different days.</li>
 *   <li>Each in-flight request has its own pages and its own range of the disk ({@code depth x size} bytes of each):
 *   at 32 x 1 MiB the data does not fit the caches, as in a real guest; the 64 MiB SWIOTLB pool adds its own
 *   footprint (see {@code DmaMapBenchmark} on the pool's cold slots).</li>
 * </ul>
 *
 * <h2>Baseline</h2>
 * {@link BlkMemcpyBenchmark}: the one copy a direct-DMA write must make (page cache to RAM disk), with the same
 * footprint, in bytes per second: the physical limit of {@code bytes} for {@code dma=direct}. SWIOTLB makes that
 * copy and the bounce besides.
 *
 * <h2>Allocation</h2>
 * None in steady state, on either thread: run with {@code -prof gc} (or {@code scripts/alloc-check}), expect
 * about 0 B/op.
 *
 * <h2>How to run</h2>
 * The default matrix is 80 cells (5 DMA profiles x clamp x 4 sizes x 2 ring layouts, depth 32,
 * {@code device=inline}), about 8.5 minutes (with {@link BlkMemcpyBenchmark}, 8:51 by
 * {@code scripts/bench --estimate --regex 'blk.*'}); {@code -p depth=1,32} adds the latency cases,
 * {@code -p layout=split} takes one layout:
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'blk.*'
 *   java -jar benchmarks/target/benchmarks.jar 'blk.*' -p size=4096,65536 -p depth=32 -p dma=direct,swiotlb-force
 *   java -jar benchmarks/target/benchmarks.jar BlkBenchmark -p device=inline,thread -p size=4096 -p dma=direct
 *   java -jar benchmarks/target/benchmarks.jar BlkBenchmark -p device=thread -p wait=poll,park,spin:2000 -p size=4096
 *   java -jar benchmarks/target/benchmarks.jar BlkBenchmark -p type=IN -p dma=swiotlb -p clamp=false,true
 *   java -jar benchmarks/target/benchmarks.jar BlkBenchmark -p dma=swiotlb-force -p size=1048576 -prof gc
 * </pre>
 *
 * <h2>Recorded output and what it means</h2>
 * Indicative only: the 2-core development VM shared with other jobs (load average 2-5 during the runs), JDK 17, one
 * fork, 3 x 500 ms ({@code java -jar benchmarks/target/benchmarks.jar 'blk.*' -p size=4096,65536,262144,1048576
 * -p depth=32 -p dma=direct,swiotlb,swiotlb-force -f 1 -wi 2 -i 3}), IOPS (GB/s), clamp on:
 * <pre>
 *   size     direct          swiotlb         swiotlb-force   BlkMemcpyBenchmark
 *   4 KiB    2.14 M  (8.8)   339 k  (1.39)   285 k  (1.17)   8.1 M  (33)
 *   64 KiB   350 k  (22.9)   61 k   (4.0)    57 k   (3.7)    421 k  (27.6)
 *   256 KiB  30.6 k  (8.0)   10.4 k (2.7)    9.7 k  (2.5)    29.5 k (7.7)
 *   1 MiB    4.7 k   (5.0)   2.15 k (2.25)   2.3 k  (2.4)    5.3 k  (5.5)
 * </pre>
 * <ul>
 *   <li>Direct DMA at 4 KiB: 2.14 M IOPS inline, 2.33 M with {@code -p device=thread -p affinity=split} (goal 2 M
 *   on this machine: met when it is not busy; under load both shapes fall to 0.5-1.5 M, the threaded one lower).
 *   From 64 KiB direct DMA runs at 0.8-1.0x of the memcpy it must make.</li>
 *   <li>SWIOTLB against direct: 0.17 at 64 KiB, 0.34 at 256 KiB, 0.45 at 1 MiB (goal 0.8: not met). The profile
 *   ({@code scripts/flame}, swiotlb-force 64 KiB) puts 75% of the CPU time in memory copies: the bounce into the
 *   slot 46%, the device's copy to the disk 30%, the allocator about 10%. Direct DMA makes only the second copy, so
 *   a request whose cost is its copies cannot pass about 0.5 with SWIOTLB; and the kernel's 64 MiB pool, whose
 *   search index moves on after every allocation, makes the bounce write cold memory ({@code -p pool=4194304}: 0.28
 *   instead of 0.15 at 64 KiB in one run).</li>
 *   <li>The clamp off: the same rates up to 256 KiB, and at 1 MiB under SWIOTLB 0 OK and 0.8-0.9 M errors per
 *   second (the failure path: one mapping attempt and its unwind). The clamp's cost where it is not needed is nil by
 *   construction (below 1 MiB no segment exceeds 256 KiB, so the requests, segments and mappings are the same) and
 *   below the noise as measured: clamp on/off in alternating runs (on, off, off, on) gave median ratios of 0.75 to
 *   2.0 across cells whose repeats alone differed up to 4x; 1.02 on the steadiest cell, direct 4 KiB.</li>
 * </ul>
 * Under {@code scripts/alloc-check}: {@code alloc.steady.norm} 0 B/op for the failing and the working 1 MiB
 * SWIOTLB cells in both shapes, at most 0.1 B/op for direct and iommu-lazy at 4 KiB with the device thread
 * ({@code gc.alloc.rate.norm} up to 4 B/op for the 1 MiB cells: JMH's own per-iteration allocation over a few
 * thousand operations).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(1)
public class BlkBenchmark
{
    /** Longest wait for a completion before the run fails. */
    static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    /** The virtqueue size: QEMU's default for virtio-blk. */
    static final int QUEUE_SIZE = 256;
    /** Guest memory beyond the request pages and the bounce pool: rings, indirect tables, headers. */
    static final long SLACK_BYTES = 32L << 20;

    /**
     * The guest, its virtio-blk queue, the device (inline or on its thread), the RAM disk and the requests. A state
     * of its own (not the benchmark class) so that the counters can reach it through the benchmark method.
     */
    @State(Scope.Thread)
    public static class Disk implements BlkDriver.EndIo
    {
        /** {@link DmaProfile} name. */
        @Param({"direct", "swiotlb", "swiotlb-force", "iommu-strict", "iommu-lazy"})
        String dma;

        /** The 2019 fix: max segment size clamped to {@code virtio_max_dma_size()}. */
        @Param({"false", "true"})
        boolean clamp;

        /** Bytes per request, physically contiguous pages (so that they merge into segments as large as allowed). */
        @Param({"4096", "65536", "262144", "1048576"})
        int size;

        /**
         * Requests kept in flight: 32 in the default matrix (the throughput case, where the ring's layout shows);
         * {@code -p depth=1,32} adds the latency case.
         */
        @Param({"32"})
        int depth;

        /** The ring's layout: {@code split}, or {@code packed} ({@code VIRTIO_F_RING_PACKED} negotiated). */
        @Param({"split", "packed"})
        String layout;

        /**
         * {@code inline}: the device on the benchmark thread (the default: see the class comment); {@code thread}:
         * on its own thread.
         */
        @Param({"inline"})
        String device;

        /** How both sides of a threaded queue wait: {@code poll}, or a {@link WaitStrategy#parse} text. */
        @Param({"poll"})
        String wait;

        /** {@code OUT} (write) or {@code IN} (read). */
        @Param({"OUT"})
        String type;

        /**
         * SWIOTLB pool bytes (the kernel's 64 MiB by default). A small pool ({@code -p pool=4194304}) stays in cache,
         * where the default one makes every bounce write cold memory (see {@code DmaMapBenchmark}); too small for
         * {@code depth} requests, and the rest wait as {@code requeues}.
         */
        @Param({"67108864"})
        long pool;

        /** {@code split}: the driver on CPU 0, the device thread on CPU 1; {@code none}. */
        @Param({"none"})
        String affinity;

        GuestMemory memory;
        DmaOps ops;
        Virtqueue vq;
        BlkDevice blk;
        BlkDriver driver;
        RamBackend backend;
        EventFd kick;
        EventFd call;
        VhostWorker worker;
        VirtqueueGuest guest;
        boolean inline;
        Bio[] bios;
        long[] pages;
        // Completed bios not yet taken, FIFO; only the benchmark thread touches it.
        Bio[] done;
        int doneHead;
        int doneCount;

        @Setup(Level.Trial)
        public void setUp()
        {
            final DmaProfile profile = DmaProfile.of(dma);
            final int requestType = requestType(type);
            if (size < VirtioBlk.SECTOR_SIZE || size % VirtioBlk.SECTOR_SIZE != 0 || size > (4 << 20))
            {
                throw new IllegalArgumentException("size=" + size + ": a multiple of 512 up to 4 MiB");
            }
            if (depth < 1 || depth > QUEUE_SIZE)
            {
                throw new IllegalArgumentException("depth=" + depth + ": 1.." + QUEUE_SIZE);
            }
            if (!device.equals("thread") && !device.equals("inline"))
            {
                throw new IllegalArgumentException("device=" + device + ": expected thread or inline");
            }
            inline = device.equals("inline");
            final WaitStrategy strategy = WaitStrategy.parse(wait);
            final boolean split = Affinities.split(affinity);

            final long pageBytes = align((long)depth * align(size));
            final long poolBytes = profile.usesSwiotlb() ? pool : 0;
            memory = GuestMemory.allocate(pageBytes + poolBytes + SLACK_BYTES, profile.confidentialGuest());
            ops = profile.create(memory, pool);
            long features = Vring.feature(Vring.VIRTIO_F_VERSION_1) | Vring.feature(Vring.VIRTIO_F_ACCESS_PLATFORM) |
                Vring.feature(Vring.VIRTIO_RING_F_INDIRECT_DESC);
            final boolean notify = !inline && !strategy.isBusyPoll();
            if (notify)
            {
                features |= Vring.feature(Vring.VIRTIO_RING_F_EVENT_IDX);
            }
            kick = new EventFd("kick");
            call = new EventFd("call");
            final EventFd doorbell = kick;
            vq = Virtqueue.builder(memory, QUEUE_SIZE).features(features).layout(RingLayout.parse(layout)).dma(ops)
                .callbacks(false)
                .notifier(q -> doorbell.signal()).build();
            final VhostVirtqueue deviceQueue = vq.deviceBuilder()
                .badChainPolicy(VhostVirtqueue.BadChainPolicy.COMPLETE).build();
            final long capacity = Math.max(1L << 20, (long)depth * size);
            final BlkConfig config = BlkConfig.qemuDefault(capacity, QUEUE_SIZE);
            backend = new RamBackend(capacity);
            blk = new BlkDevice(deviceQueue, memory, backend, config);
            driver = new BlkDriver(vq, memory, QueueLimits.probe(config, vq, clamp), depth).endIo(this);
            if (driver.limits().queueDepth() < depth)
            {
                throw new IllegalArgumentException("depth=" + depth + " exceeds the queue depth " +
                    driver.limits().queueDepth());
            }

            bios = new Bio[depth];
            pages = new long[depth];
            done = new Bio[depth];
            final UnsafeBuffer mem = memory.buffer();
            final UnsafeBuffer disk = backend.contents();
            for (int slot = 0; slot < depth; slot++)
            {
                pages[slot] = memory.allocate(size, GuestMemory.PAGE_SIZE);
                final Bio bio = new Bio(size / GuestMemory.PAGE_SIZE + 1)
                    .fillPages(requestType, (long)slot * size >> VirtioBlk.SECTOR_SHIFT, size, pages[slot], true);
                bios[slot] = bio;
                for (int b = 0; b < size; b++)
                {
                    // Writes carry the pattern from the pages to the disk, reads from the disk to the pages.
                    if (requestType == VirtioBlk.T_OUT)
                    {
                        mem.putByte((int)pages[slot] + b, pattern(slot, b));
                    }
                    else
                    {
                        disk.putByte(slot * size + b, pattern(slot, b));
                    }
                }
            }

            if (!inline)
            {
                worker = new VhostWorker("vhost-blk", deviceQueue, blk::handle, kick, call, strategy,
                    VhostWorker.DEFAULT_MAX_BATCH).onStart(() -> Affinities.pin(split, 1));
                guest = new VirtqueueGuest(vq, kick, call, strategy, worker);
                worker.start();
            }
            Affinities.pin(split, 0);
            for (final Bio bio : bios)
            {
                driver.submit(bio);
            }
        }

        /** Lets every request in flight complete, stops the device, and checks the data of every slot. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            try
            {
                while (doneCount < depth)
                {
                    awaitCompletion();
                }
            }
            finally
            {
                if (worker != null)
                {
                    worker.stop(10, TimeUnit.SECONDS);
                }
            }
            verify();
        }

        /**
         * Every slot whose last request was OK holds the pattern on both sides (pages and disk); nothing is left on the
         * ring or in the bounce pool.
         */
        void verify()
        {
            if (vq.inFlight() != 0)
            {
                throw new IllegalStateException(this + ": " + vq.inFlight() + " requests left on the ring");
            }
            if (ops instanceof SwiotlbDma && ((SwiotlbDma)ops).pool().usedSlots() != 0)
            {
                throw new IllegalStateException(this + ": " + ((SwiotlbDma)ops).pool().usedSlots() +
                    " bounce slots leaked");
            }
            verifyData();
        }

        private void verifyData()
        {
            final UnsafeBuffer mem = memory.buffer();
            final UnsafeBuffer disk = backend.contents();
            for (int slot = 0; slot < depth; slot++)
            {
                if (bios[slot].status() != VirtioBlk.S_OK)
                {
                    continue;
                }
                for (int b = 0; b < size; b++)
                {
                    final byte expected = pattern(slot, b);
                    if (mem.getByte((int)pages[slot] + b) != expected || disk.getByte(slot * size + b) != expected)
                    {
                        throw new IllegalStateException(String.format(
                            "%s: slot %d byte %d: page 0x%02x, disk 0x%02x, expected 0x%02x", this, slot, b,
                            mem.getByte((int)pages[slot] + b), disk.getByte(slot * size + b), expected));
                    }
                }
            }
        }

        /** {@code bi_end_io}: notes the bio; the benchmark takes it and submits it again. */
        @Override
        public void endIo(final Bio bio)
        {
            int tail = doneHead + doneCount;
            if (tail >= done.length)
            {
                tail -= done.length;
            }
            done[tail] = bio;
            doneCount++;
        }

        /** @return the oldest completed bio, waiting for one if need be. */
        Bio take()
        {
            while (doneCount == 0)
            {
                awaitCompletion();
            }
            final Bio bio = done[doneHead];
            done[doneHead] = null;
            doneHead = doneHead + 1 == done.length ? 0 : doneHead + 1;
            doneCount--;
            return bio;
        }

        /** Reaps the used ring; if nothing came back, waits for the device (or, inline, serves it). */
        void awaitCompletion()
        {
            // Progress is a bio completing: reaped, or (requeued for resources) failing to map when poll() dispatches
            // it again.
            final int before = doneCount;
            driver.poll();
            if (doneCount != before)
            {
                return;
            }
            if (vq.isBroken())
            {
                throw new IllegalStateException("driver queue broken: " + vq.brokenReason());
            }
            if (driver.inFlight() == 0)
            {
                // Nothing on the ring, nothing completed: the bios wait for resources nothing will free.
                throw new IllegalStateException(this + ": " + driver.pendingBios() + " bios wait for dispatch " +
                    "with nothing in flight (" + driver.resourceRequeues() + " requeues)");
            }
            if (inline)
            {
                if (blk.serve(QUEUE_SIZE) < 0)
                {
                    throw new IllegalStateException("device queue broken: " + blk.queue().brokenReason());
                }
            }
            else
            {
                guest.awaitUsed(TIMEOUT_NS);
            }
        }

        @Override
        public String toString()
        {
            return "blk dma=" + dma + " clamp=" + clamp + " size=" + size + " depth=" + depth + " device=" + device +
                " wait=" + wait + " type=" + type;
        }
    }

    /**
     * Outcomes per second: requests completed OK and with an error, bytes of the OK ones, requeues for lack of ring
     * or bounce space, and the notifications (kicks the driver sent to the device, interrupts the device sent to the
     * driver; with {@code wait=poll} the device asks for no kicks and nobody interrupts; inline, the kicks ring a
     * doorbell nobody listens to). The driver-side counts are the benchmark thread's own; the device's interrupt
     * count is read at the iteration's start and end.
     */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long ok;
        public long errors;
        public long bytes;
        public long requeues;
        public long kicks;
        public long interrupts;

        Disk disk;
        long requeues0;
        long kicks0;
        long interrupts0;

        void start(final Disk disk)
        {
            this.disk = disk;
            snapshot();
        }

        private void snapshot()
        {
            requeues0 = disk.driver.resourceRequeues();
            kicks0 = disk.vq.kicks();
            interrupts0 = disk.worker != null ? disk.worker.counters().sent() : 0;
        }

        /** Zeroes the counts and reads the starting points. */
        @Setup(Level.Iteration)
        public void reset()
        {
            ok = 0;
            errors = 0;
            bytes = 0;
            requeues = 0;
            kicks = 0;
            interrupts = 0;
            if (disk != null)
            {
                snapshot();
            }
        }

        /** Turns the starting points into this iteration's counts. */
        @TearDown(Level.Iteration)
        public void collect()
        {
            if (disk != null)
            {
                requeues = disk.driver.resourceRequeues() - requeues0;
                kicks = disk.vq.kicks() - kicks0;
                interrupts = (disk.worker != null ? disk.worker.counters().sent() : 0) - interrupts0;
            }
        }
    }

    /**
     * One request completed (OK or not): take it, count it, submit it again.
     *
     * @return its status.
     */
    @Benchmark
    public int request(final Disk disk, final Counters counters)
    {
        if (counters.disk == null)
        {
            counters.start(disk);
        }
        final Bio bio = disk.take();
        final int status = bio.status();
        if (status == VirtioBlk.S_OK)
        {
            counters.ok++;
            counters.bytes += bio.bytes();
        }
        else
        {
            counters.errors++;
        }
        disk.driver.submit(bio);
        return status;
    }

    static int requestType(final String type)
    {
        switch (type)
        {
            case "OUT":
                return VirtioBlk.T_OUT;
            case "IN":
                return VirtioBlk.T_IN;
            default:
                throw new IllegalArgumentException("type=" + type + ": expected OUT or IN");
        }
    }

    /** @return the data byte {@code b} of slot {@code slot}. */
    static byte pattern(final int slot, final int b)
    {
        return (byte)(slot * 131 + b * 7 + (b >>> 9));
    }

    private static long align(final long bytes)
    {
        return (bytes + GuestMemory.PAGE_SIZE - 1) & -GuestMemory.PAGE_SIZE;
    }
}
