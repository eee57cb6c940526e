package vqdma.blk.soak;

import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.dma.Swiotlb;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Another user of the SWIOTLB pool (a second device, a network card bouncing its own traffic): now and then it maps
 * 256 KiB buffers until the pool says {@code DMA_MAPPING_ERROR}, holds them a while, and unmaps them. While it holds
 * the pool, the disk's mappings fail with {@code -ENOMEM}: its requests are requeued ({@code BLK_STS_RESOURCE}), never
 * failed, and go through once the hog lets go. Runs on its own thread; {@link #stop()} unmaps everything.
 */
final class PoolHog implements Runnable
{
    private static final int CHUNK = Swiotlb.IO_TLB_SIZE * Swiotlb.IO_TLB_SEGSIZE;
    private static final int[] SIZES = {CHUNK, 32 * 1024, 4096, Swiotlb.IO_TLB_SIZE};

    private final DmaOps dma;
    private final long buffer;
    private final long[] held;
    private final int[] heldSize;
    private final SplittableRandom rnd;
    private final long holdMaxNs;
    private final long gapMaxNs;
    private final Thread thread;
    private volatile boolean running = true;

    final AtomicLong episodes = new AtomicLong();
    final AtomicLong chunks = new AtomicLong();

    PoolHog(final DmaOps dma, final long poolBytes, final long seed, final long holdMaxNs, final long gapMaxNs)
    {
        this.dma = dma;
        // Private memory in a confidential guest, so that it bounces there too.
        this.buffer = dma.memory().allocate(CHUNK, GuestMemory.PAGE_SIZE);
        this.held = new long[(int)(poolBytes / Swiotlb.IO_TLB_SIZE) + 1];
        this.heldSize = new int[held.length];
        this.rnd = new SplittableRandom(seed);
        this.holdMaxNs = holdMaxNs;
        this.gapMaxNs = gapMaxNs;
        this.thread = new Thread(this, "swiotlb-hog");
        this.thread.setDaemon(true);
    }

    void start()
    {
        thread.start();
    }

    /** Stops the hog and waits until it has unmapped everything. */
    void stop() throws InterruptedException
    {
        running = false;
        thread.interrupt();
        thread.join(TimeUnit.SECONDS.toMillis(10));
        if (thread.isAlive())
        {
            throw new IllegalStateException("the SWIOTLB hog did not stop");
        }
    }

    @Override
    public void run()
    {
        while (running)
        {
            LockSupport.parkNanos(1 + rnd.nextLong(gapMaxNs));
            if (!running)
            {
                break;
            }
            // Whole segments first, then whatever smaller runs are left: nothing stays free.
            int n = 0;
            for (final int size : SIZES)
            {
                while (n < held.length)
                {
                    final long bus = dma.map(buffer, size, DmaDirection.TO_DEVICE);
                    if (DmaOps.isMappingError(bus))
                    {
                        break;
                    }
                    heldSize[n] = size;
                    held[n++] = bus;
                }
            }
            episodes.incrementAndGet();
            chunks.addAndGet(n);
            LockSupport.parkNanos(1 + rnd.nextLong(holdMaxNs));
            for (int i = 0; i < n; i++)
            {
                dma.unmap(held[i], heldSize[i], DmaDirection.TO_DEVICE);
            }
        }
    }
}
