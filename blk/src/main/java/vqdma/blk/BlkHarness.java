package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.ring.RingLayout;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

import java.util.function.Function;

/**
 * A guest with one virtio-blk queue and its device model on a RAM disk, driven from one thread: submit a bio, then
 * alternate the device ({@link BlkDevice#serve}) and the driver ({@link BlkDriver#poll}) until it completes. The
 * page cache is a region of guest memory the caller fills through {@link #page(int)}.
 * <p>
 * Used by {@code scripts/blk-repro}, the tests and single-thread benchmarks; the two-thread setup is elsewhere.
 */
public final class BlkHarness
{
    /** Pages of page cache the harness allocates. */
    public static final int PAGE_CACHE_PAGES = 2048;

    private final GuestMemory memory;
    private final DmaOps dma;
    private final Virtqueue vq;
    private final VhostVirtqueue deviceQueue;
    private final BlkDevice device;
    private final BlkDriver driver;
    private final RamBackend backend;
    private final long pageCache;

    /**
     * @param dmaFactory   builds the DMA ops over the guest memory.
     * @param confidential a confidential guest.
     * @param clamp        the 2019 fix on or off.
     * @param indirect     negotiate indirect descriptors.
     * @param queueSize    virtqueue size.
     * @param config       the device's configuration (its capacity is the RAM disk's size).
     * @param memoryBytes  guest memory size (page cache, rings, bounce pool).
     */
    public BlkHarness(final Function<GuestMemory, DmaOps> dmaFactory, final boolean confidential, final boolean clamp,
        final boolean indirect, final int queueSize, final BlkConfig config, final long memoryBytes)
    {
        this(dmaFactory, confidential, clamp, indirect, queueSize, config, memoryBytes, RingLayout.SPLIT);
    }

    /**
     * @param dmaFactory   builds the DMA ops over the guest memory.
     * @param confidential a confidential guest.
     * @param clamp        the 2019 fix on or off.
     * @param indirect     negotiate indirect descriptors.
     * @param queueSize    virtqueue size.
     * @param config       the device's configuration (its capacity is the RAM disk's size).
     * @param memoryBytes  guest memory size (page cache, rings, bounce pool).
     * @param layout       the ring layout ({@code VIRTIO_F_RING_PACKED} negotiated or not).
     */
    public BlkHarness(final Function<GuestMemory, DmaOps> dmaFactory, final boolean confidential, final boolean clamp,
        final boolean indirect, final int queueSize, final BlkConfig config, final long memoryBytes,
        final RingLayout layout)
    {
        this.memory = GuestMemory.allocate(memoryBytes, confidential);
        this.dma = dmaFactory.apply(memory);
        long features = Vring.feature(Vring.VIRTIO_F_VERSION_1) | Vring.feature(Vring.VIRTIO_F_ACCESS_PLATFORM);
        if (indirect)
        {
            features |= Vring.feature(Vring.VIRTIO_RING_F_INDIRECT_DESC);
        }
        this.vq = Virtqueue.builder(memory, queueSize).features(layout.applyTo(features)).dma(dma).callbacks(false)
            .build();
        this.deviceQueue = vq.deviceBuilder().badChainPolicy(VhostVirtqueue.BadChainPolicy.COMPLETE).build();
        this.backend = new RamBackend(config.capacityBytes());
        this.device = new BlkDevice(deviceQueue, memory, backend, config);
        this.driver = new BlkDriver(vq, memory, QueueLimits.probe(config, vq, clamp), 64);
        this.pageCache = memory.allocate((long)PAGE_CACHE_PAGES * GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE);
    }

    /**
     * Submits {@code bio} and runs device and driver until it completes.
     *
     * @param bio      the bio.
     * @param maxSpins bound on device/driver rounds.
     * @throws IllegalStateException if either side of the ring broke or the bio did not complete.
     */
    public void run(final Bio bio, final int maxSpins)
    {
        driver.submit(bio);
        for (int spins = 0; !bio.isDone(); spins++)
        {
            if (spins >= maxSpins)
            {
                throw new IllegalStateException("bio did not complete in " + maxSpins + " rounds (" +
                    driver.inFlight() + " requests in flight, " + driver.pendingBios() + " bios waiting)");
            }
            if (device.serve(64) < 0)
            {
                throw new IllegalStateException("device queue broken: " + deviceQueue.brokenReason());
            }
            driver.poll();
            if (vq.isBroken())
            {
                throw new IllegalStateException("driver queue broken: " + vq.brokenReason());
            }
        }
    }

    /** @param i page index below {@link #PAGE_CACHE_PAGES}. @return its GPA. */
    public long page(final int i)
    {
        return pageCache + (long)GuestMemory.PAGE_SIZE * i;
    }

    /** Fills {@code bio} with {@code bytes} of pages {@code first, first + 1, ...}: physically contiguous. */
    public Bio contiguous(final Bio bio, final int type, final long sector, final int bytes, final int first)
    {
        return bio.fillPages(type, sector, bytes, page(first), true);
    }

    /** Fills {@code bio} with every other page from {@code first}, in reverse order: no two pages contiguous. */
    public Bio fragmented(final Bio bio, final int type, final long sector, final int bytes, final int first)
    {
        return bio.fillPages(type, sector, bytes, page(first), false);
    }

    /** Writes the pattern of {@code seed} into the bio's pages. */
    public void fillPattern(final Bio bio, final int seed)
    {
        fillPattern(memory.buffer(), bio, seed);
    }

    /**
     * Writes the pattern of {@code seed} into the bio's pages.
     *
     * @param mem  guest memory (index = GPA) the bio's pages are in.
     * @param bio  the pages.
     * @param seed which pattern ({@link #pattern}), counted from the bio's first byte.
     */
    public static void fillPattern(final UnsafeBuffer mem, final Bio bio, final int seed)
    {
        long p = 0;
        for (int i = 0; i < bio.pages(); i++)
        {
            final int gpa = (int)bio.pageGpa(i);
            for (int b = 0; b < bio.pageLen(i); b++, p++)
            {
                mem.putByte(gpa + b, pattern(seed, p));
            }
        }
    }

    /** Zeroes the bio's pages. */
    public void clear(final Bio bio)
    {
        for (int i = 0; i < bio.pages(); i++)
        {
            memory.buffer().setMemory((int)bio.pageGpa(i), bio.pageLen(i), (byte)0);
        }
    }

    /** @return the first position whose byte differs from the pattern of {@code seed}, or -1. */
    public long firstMismatch(final Bio bio, final int seed)
    {
        return firstMismatch(memory.buffer(), bio, seed);
    }

    /**
     * @param mem  guest memory (index = GPA) the bio's pages are in.
     * @param bio  the pages.
     * @param seed the pattern expected ({@link #pattern}), counted from the bio's first byte.
     * @return the first position whose byte differs from the pattern, or -1.
     */
    public static long firstMismatch(final UnsafeBuffer mem, final Bio bio, final int seed)
    {
        long p = 0;
        for (int i = 0; i < bio.pages(); i++)
        {
            final int gpa = (int)bio.pageGpa(i);
            for (int b = 0; b < bio.pageLen(i); b++, p++)
            {
                if (mem.getByte(gpa + b) != pattern(seed, p))
                {
                    return p;
                }
            }
        }
        return -1;
    }

    /** @return the pattern byte of {@code seed} at position {@code p}. */
    public static byte pattern(final int seed, final long p)
    {
        return (byte)(seed * 131 + p * 7 + (p >>> 9));
    }

    /** @return guest memory. */
    public GuestMemory memory()
    {
        return memory;
    }

    /** @return the DMA ops. */
    public DmaOps dma()
    {
        return dma;
    }

    /** @return the driver side of the ring. */
    public Virtqueue virtqueue()
    {
        return vq;
    }

    /** @return the device side of the ring. */
    public VhostVirtqueue deviceQueue()
    {
        return deviceQueue;
    }

    /** @return the virtio-blk device model. */
    public BlkDevice device()
    {
        return device;
    }

    /** @return the virtio-blk driver. */
    public BlkDriver driver()
    {
        return driver;
    }

    /** @return the RAM disk. */
    public RamBackend backend()
    {
        return backend;
    }
}
