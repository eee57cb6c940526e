package vqdma.blk.soak;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.blk.Bio;
import vqdma.blk.BlkConfig;
import vqdma.blk.BlkDriver;
import vqdma.blk.BlkHwQueue;
import vqdma.blk.BlkMultiQueue;
import vqdma.blk.RamBackend;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.thread.DeviceFailure;
import vqdma.ring.thread.VhostWorker;
import vqdma.ring.thread.WaitStrategy;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static vqdma.blk.VirtioBlk.*;

/**
 * One round of the soak: one DMA profile, a fresh guest and multi-queue disk over the soak's one RAM disk, a driver
 * thread per queue keeping several bios in flight (random type, size 512 B..1 MiB, contiguous or scattered pages,
 * random non-overlapping sectors), the faults of a {@link FaultInjector}, then the shutdown (after draining, or
 * abruptly with requests in flight), and the checks: every bio accounted for, every read and the disk itself equal
 * to the {@link DiskModel}, nothing leaked.
 */
final class SoakRound
{
    static final long POOL = 16L << 20;
    static final long WAIT_NS = TimeUnit.SECONDS.toNanos(10);
    static final int SPAN_PAGES = 512;

    private final DmaProfile profile;
    private final int queues;
    private final int depth;
    private final int queueSize;
    private final long durationNs;
    private final boolean abrupt;
    private final long seed;
    private final int maxBatch;
    private final SoakFaults faults;
    private final RamBackend ram;
    private final DiskModel model;
    final SoakTotals totals;

    SoakRound(final DmaProfile profile, final int queues, final int depth, final int queueSize, final long durationNs,
        final boolean abrupt, final long seed, final SoakFaults faults, final RamBackend ram, final DiskModel model,
        final SoakTotals totals)
    {
        this.profile = profile;
        this.queues = queues;
        this.depth = depth;
        this.queueSize = queueSize;
        this.durationNs = durationNs;
        this.abrupt = abrupt;
        this.seed = seed;
        // vhost's batch, and how often a device thread looks at its stop flag: 1 when the round ends with a reset
        // (so that the devices leave what they did not take yet on the rings), else 8 or 64 (the default).
        this.maxBatch = abrupt ? 1 : new int[] {8, 64}[Math.floorMod(seed, 2)];
        this.faults = faults;
        this.ram = ram;
        this.model = model;
        this.totals = totals;
    }

    /** A bio and its pages, owned by one driver thread. */
    private static final class Slot
    {
        final Bio bio = new Bio(SPAN_PAGES / 2 + 1);
        final long base;
        boolean busy;
        long sectors;

        Slot(final long base)
        {
            this.base = base;
        }
    }

    void run()
    {
        final long memBytes = POOL + (long)queues * depth * SPAN_PAGES * GuestMemory.PAGE_SIZE + (24L << 20);
        final DmaOps dma = profile.create(GuestMemory.allocate(memBytes, profile.confidentialGuest()), POOL);
        final FaultInjector injector = new FaultInjector(faults, dma, seed);
        final BlkConfig config = BlkConfig.qemuDefault(ram.capacityBytes(), queueSize);
        final BlkMultiQueue disk = BlkMultiQueue.builder(dma, injector.backend(ram), config)
            .queues(queues).queueSize(queueSize).clamp(true).maxBios(depth + 1)
            .strategy(WaitStrategy.spinThenPark(200))
            .maxBatch(maxBatch)
            // Short safety slices: a lost kick or interrupt costs at most this much.
            .safetySlices(TimeUnit.MILLISECONDS.toNanos(5), TimeUnit.MILLISECONDS.toNanos(5))
            .handlers(injector::handler)
            .notificationFilters(injector::kickFilter, injector::callFilter)
            .name("soak-" + profile.id())
            .build();
        final Slot[][] slots = new Slot[queues][depth];
        for (int q = 0; q < queues; q++)
        {
            for (int d = 0; d < depth; d++)
            {
                slots[q][d] = new Slot(disk.memory().allocate((long)SPAN_PAGES * GuestMemory.PAGE_SIZE,
                    GuestMemory.PAGE_SIZE));
            }
        }
        final boolean bounced = dma instanceof SwiotlbDma;
        final PoolHog hog = bounced && faults.poolHog() ?
            new PoolHog(dma, POOL, seed ^ 0x5EED, faults.hogHoldMaxNs(), faults.hogGapMaxNs()) : null;
        final long deadline = System.nanoTime() + durationNs;
        if (abrupt)
        {
            // The devices slow down (10 ms a request) for the last 50 ms, so that the reset finds requests they never
            // took.
            injector.slowFrom(deadline - TimeUnit.MILLISECONDS.toNanos(50));
        }
        disk.start();
        if (hog != null)
        {
            hog.start();
        }
        final Thread[] drivers = new Thread[queues];
        for (int q = 0; q < queues; q++)
        {
            final int index = q;
            drivers[q] = new Thread(() -> drive(disk, disk.queue(index), slots[index], injector, deadline),
                "soak-driver-" + q);
            drivers[q].setDaemon(true);
            drivers[q].start();
        }
        for (final Thread t : drivers)
        {
            join(t, deadline + TimeUnit.SECONDS.toNanos(60));
        }
        if (hog != null)
        {
            try
            {
                hog.stop();
            }
            catch (final InterruptedException | RuntimeException ex)
            {
                totals.violation(profile.id() + ": " + ex);
            }
            totals.hogEpisodes.addAndGet(hog.episodes.get());
        }
        try
        {
            final BlkMultiQueue.Drained drained = disk.shutdown(5, TimeUnit.SECONDS);
            totals.resetReturned.addAndGet(drained.returned() + drained.failedWaiting());
            totals.resetCompleted.addAndGet(drained.completed());
        }
        catch (final RuntimeException ex)
        {
            totals.violation(profile.id() + ": shutdown: " + ex);
        }
        // What the reset completed or took back: every bio must be done now.
        for (int q = 0; q < queues; q++)
        {
            for (final Slot slot : slots[q])
            {
                if (slot.busy)
                {
                    if (!slot.bio.isDone())
                    {
                        totals.violation(profile.id() + " queue " + q + ": bio at sector " + slot.bio.sector() +
                            " not done after the reset");
                        continue;
                    }
                    finish(slot, disk.memory().buffer(), injector, true);
                }
            }
        }
        check(disk, dma, injector);
    }

    private void join(final Thread t, final long deadlineNs)
    {
        try
        {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime())));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive())
        {
            totals.violation(profile.id() + ": " + t.getName() + " hung");
            t.interrupt();
        }
    }

    /** A driver thread: keep {@code depth} bios in flight on its queue until the deadline. */
    private void drive(final BlkMultiQueue disk, final BlkHwQueue hw, final Slot[] slots, final FaultInjector injector,
        final long deadline)
    {
        final SplittableRandom rnd = new SplittableRandom(seed * 7919 + hw.index());
        final UnsafeBuffer mem = disk.memory().buffer();
        try
        {
            while (System.nanoTime() - deadline < 0)
            {
                for (final Slot slot : slots)
                {
                    if (!slot.busy)
                    {
                        start(slot, hw, rnd, mem);
                    }
                }
                hw.awaitCompletions(WAIT_NS);
                settle(slots, mem, injector);
            }
            if (!abrupt)
            {
                final long drainBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (busy(slots))
                {
                    if (System.nanoTime() - drainBy > 0)
                    {
                        totals.violation(profile.id() + " queue " + hw.index() + ": drain did not finish");
                        break;
                    }
                    hw.awaitCompletions(WAIT_NS);
                    settle(slots, mem, injector);
                }
            }
        }
        catch (final DeviceFailure | IllegalStateException ex)
        {
            totals.violation(profile.id() + " queue " + hw.index() + ": " + ex);
        }
        catch (final Throwable t)
        {
            totals.violation(profile.id() + " queue " + hw.index() + ": unexpected " + t);
        }
    }

    private static boolean busy(final Slot[] slots)
    {
        for (final Slot s : slots)
        {
            if (s.busy)
            {
                return true;
            }
        }
        return false;
    }

    private void settle(final Slot[] slots, final UnsafeBuffer mem, final FaultInjector injector)
    {
        for (final Slot slot : slots)
        {
            if (slot.busy && slot.bio.isDone())
            {
                finish(slot, mem, injector, false);
            }
        }
    }

    private void start(final Slot slot, final BlkHwQueue hw, final SplittableRandom rnd, final UnsafeBuffer mem)
    {
        final double pick = rnd.nextDouble();
        final Bio bio = slot.bio;
        if (pick < 0.04)
        {
            bio.reset(T_FLUSH, 0);
            slot.sectors = 0;
        }
        else
        {
            final int type = pick < 0.52 ? T_OUT : T_IN;
            final int bytes = SECTOR_SIZE * (1 + rnd.nextInt(2048));
            final long n = bytes >> SECTOR_SHIFT;
            long sector = -1;
            for (int tries = 0; tries < 8 && sector < 0; tries++)
            {
                final long s = rnd.nextLong(model.sectors() - n + 1);
                if (model.tryReserve(s, n))
                {
                    sector = s;
                }
            }
            if (sector < 0)
            {
                return; // the disk is crowded where we looked: try again after the next completion
            }
            bio.fillPages(type, sector, bytes, slot.base, rnd.nextBoolean());
            if (type == T_OUT)
            {
                final byte salt = (byte)rnd.nextInt();
                for (int i = 0; i < bio.pages(); i++)
                {
                    final int gpa = (int)bio.pageGpa(i);
                    for (int b = 0; b < bio.pageLen(i); b++)
                    {
                        mem.putByte(gpa + b, (byte)(salt + 7 * b + i));
                    }
                }
            }
            else
            {
                for (int i = 0; i < bio.pages(); i++)
                {
                    mem.setMemory((int)bio.pageGpa(i), bio.pageLen(i), (byte)0xA5);
                }
            }
            slot.sectors = n;
        }
        slot.busy = true;
        hw.submit(bio);
    }

    /** Accounts for a done bio: model, verification, reasons; releases its range. */
    private void finish(final Slot slot, final UnsafeBuffer mem, final FaultInjector injector, final boolean reset)
    {
        final Bio bio = slot.bio;
        slot.busy = false;
        final int type = bio.type();
        totals.bios.incrementAndGet();
        if (bio.status() == S_OK)
        {
            totals.ok.incrementAndGet();
            totals.bytes.addAndGet(bio.bytes());
            if (type == T_OUT)
            {
                model.written(bio, mem);
            }
            else if (type == T_IN)
            {
                final StringBuilder first = new StringBuilder();
                final long wrong = model.verify(bio, mem, first);
                totals.verifiedBytes.addAndGet(bio.bytes());
                if (wrong > 0)
                {
                    totals.corrupted.addAndGet(wrong);
                    totals.violation(profile.id() + ": read of " + bio.bytes() + " bytes at sector " + bio.sector() +
                        ": " + wrong + " wrong bytes, first " + first);
                }
            }
        }
        else
        {
            FaultInjector.Reason reason = slot.sectors > 0 ? injector.claim(bio.sector(), slot.sectors) : null;
            if (reason == null)
            {
                reason = reset ? FaultInjector.Reason.RESET : FaultInjector.Reason.UNEXPLAINED;
            }
            totals.fail(reason);
            if (reason == FaultInjector.Reason.UNEXPLAINED)
            {
                totals.violation(profile.id() + ": " + typeName(type) + " of " + bio.bytes() + " bytes at sector " +
                    bio.sector() + " failed with " + statusName(bio.status()) + " and no fault explains it");
            }
            if (type == T_OUT)
            {
                model.unknown(bio.sector(), slot.sectors);
            }
        }
        if (slot.sectors > 0)
        {
            model.release(bio.sector());
        }
    }

    /** After the shutdown: leaks, counts, the disk against the model. */
    private void check(final BlkMultiQueue disk, final DmaOps dma, final FaultInjector injector)
    {
        final String at = profile.id();
        if (disk.anyDeviceThreadAlive())
        {
            totals.violation(at + ": a device thread is still running: " + disk.describe());
        }
        for (int q = 0; q < queues; q++)
        {
            final BlkHwQueue hw = disk.queue(q);
            final BlkDriver d = hw.driver();
            totals.requests.addAndGet(d.requestsCompleted());
            totals.requeues.addAndGet(d.resourceRequeues());
            final VhostWorker w = hw.twoThreadQueue().worker();
            totals.deviceSleeps.addAndGet(w.counters().sleeps());
            totals.deviceWakeups.addAndGet(w.counters().wakeups());
            if (w.state() == VhostWorker.State.FAILED)
            {
                totals.violation(at + " queue " + q + ": device thread failed: " + w.failure());
            }
            if (d.mappingErrors() != 0)
            {
                totals.violation(at + " queue " + q + ": " + d.mappingErrors() + " mapping errors with the clamp on");
            }
            if (d.inFlight() != 0 || d.pendingBios() != 0 || hw.twoThreadQueue().queue().numFree() != queueSize ||
                hw.twoThreadQueue().queue().indirectTablesInUse() != 0)
            {
                totals.leak(at + " queue " + q + ": " + d.inFlight() + " requests in flight, " + d.pendingBios() +
                    " bios waiting, " + hw.twoThreadQueue().queue().numFree() + "/" + queueSize + " descriptors free, " +
                    hw.twoThreadQueue().queue().indirectTablesInUse() + " indirect tables in use");
            }
            if (hw.twoThreadQueue().deviceQueue().badChains() != 0)
            {
                totals.violation(at + " queue " + q + ": the device saw " +
                    hw.twoThreadQueue().deviceQueue().badChains() + " bad chains: " +
                    hw.twoThreadQueue().deviceQueue().lastError());
            }
        }
        if (dma instanceof SwiotlbDma)
        {
            final Swiotlb pool = ((SwiotlbDma)dma).pool();
            if (pool.usedSlots() != 0)
            {
                totals.leak(at + ": " + pool.usedSlots() + " bounce slots still used");
            }
            totals.bounceFull.addAndGet(pool.fullFailures());
            totals.bounceHiwater.accumulateAndGet(pool.usedHiwater(), Math::max);
            totals.bounceSlots.set(pool.nslabs());
        }
        if (dma instanceof IommuDma)
        {
            final IommuDma iommu = (IommuDma)dma;
            iommu.flush();
            if (iommu.domain().liveIovas() != queues)
            {
                totals.leak(at + ": " + iommu.domain().liveIovas() + " live IOVAs, expected " + queues +
                    " (the rings)");
            }
        }
        if (injector.viewFaults() != injector.dmaFaults.get() || injector.dmaFaultsMissed.get() != 0)
        {
            totals.violation(at + ": the device view counted " + injector.viewFaults() + " DMA faults, " +
                injector.dmaFaults.get() + " were injected, " + injector.dmaFaultsMissed.get() + " not refused");
        }
        if (injector.unclaimed() != 0)
        {
            totals.violation(at + ": " + injector.unclaimed() + " injected faults no failed bio accounts for");
        }
        totals.add(injector);
        final StringBuilder first = new StringBuilder();
        final long wrong = model.verifyDisk(ram.contents(), first);
        if (wrong > 0)
        {
            totals.corrupted.addAndGet(wrong);
            totals.violation(at + ": the disk differs from the model in " + wrong + " bytes, first " + first);
        }
    }
}
