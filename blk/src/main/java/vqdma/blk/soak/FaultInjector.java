package vqdma.blk.soak;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.blk.BlkBackend;
import vqdma.blk.BlkDevice;
import vqdma.blk.GuestIo;
import vqdma.blk.VirtioBlk;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaFault;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;
import vqdma.ring.DescriptorChain;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.thread.NotificationFilter;
import vqdma.ring.thread.RequestHandler;

import java.nio.ByteOrder;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The faults a soak round injects into a multi-queue disk, and the record of each one, so that every failed request
 * can be matched with the fault that failed it:
 * <ul>
 *   <li><b>delay</b> (request handler): the device sleeps up to {@link SoakFaults#maxDelayNs()} before serving a
 *   request;</li>
 *   <li><b>out-of-order completion</b> (request handler): before serving a request, the device pops the next
 *   available one and completes it first (used ring order B, A), as a device with parallel backends would;</li>
 *   <li><b>lost kick / lost interrupt</b> ({@link NotificationFilter}s): the notification is dropped; the sleeping
 *   side wakes at the end of its safety slice and finds the work on the ring;</li>
 *   <li><b>backend IOERR</b> ({@link #backend}): a read or write of the disk fails (after the runs before it were
 *   done: a write may be partial);</li>
 *   <li><b>DMA fault</b> (request handler): the device accesses a bus address nothing maps (IOVA 0 behind an IOMMU,
 *   past the end of guest memory otherwise), which the device view refuses and counts as a {@link DmaFault}; the
 *   device then abandons the request without a status (used.len 0), which the driver sees as IOERR;</li>
 *   <li><b>full bounce pool</b> ({@link PoolHog}): another user of the SWIOTLB pool holds every free slot for a
 *   while, so requests are requeued ({@code BLK_STS_RESOURCE}) until it lets go.</li>
 * </ul>
 * Faults that fail a request are recorded by sector ({@link #claim}); in-flight requests never overlap, so the
 * driver that sees an IOERR finds the cause in its bio's sector range.
 */
public final class FaultInjector
{
    /** Why a request failed. */
    public enum Reason
    {
        /** The backend's read or write failed. */
        BACKEND_IOERR,
        /** The device touched an address nothing maps (an IOMMU fault behind an IOMMU). */
        DMA_FAULT,
        /** Taken back unserved by the device reset at shutdown. */
        RESET,
        /** Nothing explains it: a bug. */
        UNEXPLAINED
    }

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** The extra time per request once {@link #slowFrom} has passed. */
    static final long SLOW_NS = 10_000_000;

    private final SoakFaults faults;
    private final DeviceView view;
    private final long faultAddress;
    private final long seed;
    private final ConcurrentSkipListMap<Long, Reason> records = new ConcurrentSkipListMap<>();
    private boolean slowing;
    private long slowFrom;

    final AtomicLong delays = new AtomicLong();
    final AtomicLong reorders = new AtomicLong();
    final AtomicLong lostKicks = new AtomicLong();
    final AtomicLong lostCalls = new AtomicLong();
    final AtomicLong backendIoerrs = new AtomicLong();
    final AtomicLong dmaFaults = new AtomicLong();
    final AtomicLong dmaFaultsMissed = new AtomicLong();

    /**
     * @param faults the rates.
     * @param dma    the device's DMA ops (its view is the one the device faults in).
     * @param seed   seed of the per-thread decisions.
     */
    public FaultInjector(final SoakFaults faults, final DmaOps dma, final long seed)
    {
        this.faults = faults;
        this.view = dma.deviceView();
        this.seed = seed;
        // IOVA 0 is never handed out (start_pfn = 1); without an IOMMU, one page past the end of guest memory.
        this.faultAddress = dma instanceof IommuDma ? 0 : dma.memory().size() + GuestMemory.PAGE_SIZE;
    }

    /**
     * From {@code nanoTime} on, every request takes {@link #SLOW_NS} more: requests pile up on the rings, for a reset
     * with requests the devices never took. Set before the device threads start.
     *
     * @param nanoTime a {@link System#nanoTime()} value.
     */
    void slowFrom(final long nanoTime)
    {
        this.slowFrom = nanoTime;
        this.slowing = true;
    }

    private void record(final long sector, final Reason reason)
    {
        records.put(sector, reason);
    }

    /**
     * Takes the records of faults injected into requests inside {@code [sector, sector + sectors)}.
     *
     * @return the first one's reason, or null if none.
     */
    public Reason claim(final long sector, final long sectors)
    {
        Reason reason = null;
        final Map<Long, Reason> range = records.subMap(sector, true, sector + Math.max(1, sectors), false);
        for (final Reason r : range.values())
        {
            reason = reason == null ? r : reason;
        }
        range.clear();
        return reason;
    }

    /** @return records no failed bio claimed (must be 0 once every bio is accounted for). */
    public int unclaimed()
    {
        return records.size();
    }

    /** @return the DMA faults the device view counted. */
    public long viewFaults()
    {
        return view.faults();
    }

    /**
     * @param queue  the queue's index.
     * @param device its device model.
     * @return the queue's device-thread request handler with delays, reordering and DMA faults.
     */
    public RequestHandler handler(final int queue, final BlkDevice device)
    {
        return new Handler(device, new SplittableRandom(seed * 31 + queue));
    }

    /** @param queue queue index. @return the filter of its kicks (called on its driver thread). */
    public NotificationFilter kickFilter(final int queue)
    {
        return lossy(new SplittableRandom(seed * 37 + queue), faults.lostKickRate(), lostKicks);
    }

    /** @param queue queue index. @return the filter of its interrupts (called on its device thread). */
    public NotificationFilter callFilter(final int queue)
    {
        return lossy(new SplittableRandom(seed * 41 + queue), faults.lostCallRate(), lostCalls);
    }

    private static NotificationFilter lossy(final SplittableRandom rnd, final double rate, final AtomicLong lost)
    {
        if (rate <= 0)
        {
            return NotificationFilter.DELIVER_ALL;
        }
        return () ->
        {
            if (rnd.nextDouble() < rate)
            {
                lost.incrementAndGet();
                return false;
            }
            return true;
        };
    }

    /**
     * @param disk the real disk.
     * @return the disk as the devices see it: reads and writes fail at {@link SoakFaults#backendIoerrRate()}.
     */
    public BlkBackend backend(final BlkBackend disk)
    {
        return new BlkBackend()
        {
            @Override
            public long capacityBytes()
            {
                return disk.capacityBytes();
            }

            @Override
            public int read(final GuestIo io, final long gpa, final int len, final long offset)
            {
                return fail(offset) ? VirtioBlk.S_IOERR : disk.read(io, gpa, len, offset);
            }

            @Override
            public int write(final GuestIo io, final long gpa, final int len, final long offset)
            {
                return fail(offset) ? VirtioBlk.S_IOERR : disk.write(io, gpa, len, offset);
            }

            @Override
            public int flush()
            {
                return disk.flush();
            }
        };
    }

    private boolean fail(final long offset)
    {
        if (faults.backendIoerrRate() > 0 && ThreadLocalRandom.current().nextDouble() < faults.backendIoerrRate())
        {
            // Recorded before the status is written, so before the used element that carries it is published.
            record(offset >> VirtioBlk.SECTOR_SHIFT, Reason.BACKEND_IOERR);
            backendIoerrs.incrementAndGet();
            return true;
        }
        return false;
    }

    /** The device thread's handler of one queue: the faults, then the device. */
    private final class Handler implements RequestHandler
    {
        private final BlkDevice device;
        private final VhostVirtqueue vq;
        private final DescriptorChain other;
        private final SplittableRandom rnd;
        private final UnsafeBuffer header = new UnsafeBuffer(new byte[VirtioBlk.OUTHDR_SIZE]);

        Handler(final BlkDevice device, final SplittableRandom rnd)
        {
            this.device = device;
            this.vq = device.queue();
            this.other = vq.newChain();
            this.rnd = rnd;
        }

        @Override
        public int handle(final DescriptorChain chain)
        {
            if (slowing && System.nanoTime() - slowFrom > 0)
            {
                LockSupport.parkNanos(SLOW_NS);
            }
            if (chain.readableBytes() < VirtioBlk.OUTHDR_SIZE)
            {
                return device.handle(chain);
            }
            chain.copyFromReadable(0, header, 0, VirtioBlk.OUTHDR_SIZE);
            final int type = header.getInt(VirtioBlk.OUTHDR_TYPE_OFFSET, LE);
            if (type != VirtioBlk.T_IN && type != VirtioBlk.T_OUT)
            {
                return device.handle(chain);
            }
            final long sector = header.getLong(VirtioBlk.OUTHDR_SECTOR_OFFSET, LE);
            if (rnd.nextDouble() < faults.dmaFaultRate())
            {
                try
                {
                    view.getByte(faultAddress);
                    dmaFaultsMissed.incrementAndGet(); // the view let it through: counted as a violation
                }
                catch (final DmaFault expected)
                {
                    record(sector, Reason.DMA_FAULT);
                    dmaFaults.incrementAndGet();
                    return 0; // abandoned: no status byte, the driver's preset reads as IOERR
                }
            }
            if (rnd.nextDouble() < faults.delayRate())
            {
                delays.incrementAndGet();
                LockSupport.parkNanos(1 + rnd.nextLong(faults.maxDelayNs()));
            }
            if (rnd.nextDouble() < faults.reorderRate())
            {
                // Complete the next available request before this one: used ring order B, A.
                final int head = vq.pop(other);
                if (head >= 0)
                {
                    vq.addUsed(head, device.handle(other));
                    reorders.incrementAndGet();
                }
            }
            return device.handle(chain);
        }
    }

    /** @return a line of the faults injected so far. */
    @Override
    public String toString()
    {
        return String.format("delays %d, reorders %d, lost kicks %d, lost interrupts %d, backend IOERR %d, " +
            "DMA faults %d", delays.get(), reorders.get(), lostKicks.get(), lostCalls.get(), backendIoerrs.get(),
            dmaFaults.get());
    }
}
