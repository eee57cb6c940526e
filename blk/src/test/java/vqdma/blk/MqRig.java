package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;
import vqdma.dma.SwiotlbDma;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/** Helpers of the multi-queue tests: guest memory per profile, page regions per driver thread, driver threads. */
final class MqRig
{
    static final long MEMORY = 80L << 20;
    static final long POOL = 16L << 20;
    /** Pages one bio may span: 1 MiB scattered over every other page. */
    static final int SPAN_PAGES = 2 * 256;

    private MqRig()
    {
    }

    static DmaOps dma(final DmaProfile profile)
    {
        return profile.create(GuestMemory.allocate(MEMORY, profile.confidentialGuest()), POOL);
    }

    /** @return the GPA of a fresh region of {@code pages} page-cache pages (private in a confidential guest). */
    static long pages(final GuestMemory memory, final int pages)
    {
        return memory.allocate((long)pages * GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE);
    }

    static void clear(final UnsafeBuffer mem, final Bio bio)
    {
        for (int i = 0; i < bio.pages(); i++)
        {
            mem.setMemory((int)bio.pageGpa(i), bio.pageLen(i), (byte)0x5A);
        }
    }

    /**
     * Runs {@code body(i)} on {@code n} driver threads and joins them; a thread still running after
     * {@code timeoutMs} fails the test (and is interrupted), the first exception of any thread is rethrown.
     */
    static void onDriverThreads(final int n, final long timeoutMs, final IntConsumer body)
    {
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            final int q = i;
            final Thread t = new Thread(() ->
            {
                try
                {
                    body.accept(q);
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            }, "driver-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        final long deadline = System.currentTimeMillis() + timeoutMs;
        for (final Thread t : threads)
        {
            try
            {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
            if (t.isAlive())
            {
                threads.forEach(Thread::interrupt);
                fail(t.getName() + " still running after " + timeoutMs + " ms");
            }
        }
        if (failure.get() != null)
        {
            if (failure.get() instanceof RuntimeException)
            {
                throw (RuntimeException)failure.get();
            }
            if (failure.get() instanceof Error)
            {
                throw (Error)failure.get();
            }
            throw new AssertionError(failure.get());
        }
    }

    /** After shutdown: no thread, no request, no descriptor, no bounce slot, no IOVA but the rings' own. */
    static void assertClean(final BlkMultiQueue disk, final String at)
    {
        assertFalse(disk.anyDeviceThreadAlive(), at + ": a device thread is still running: " + disk.describe());
        for (int i = 0; i < disk.numQueues(); i++)
        {
            final BlkHwQueue q = disk.queue(i);
            assertEquals(0, q.driver().inFlight(), at + ": queue " + i + " requests in flight");
            assertEquals(0, q.driver().pendingBios(), at + ": queue " + i + " bios waiting");
            assertEquals(q.twoThreadQueue().queue().num(), q.twoThreadQueue().queue().numFree(),
                at + ": queue " + i + " descriptors");
            assertEquals(0, q.twoThreadQueue().queue().indirectTablesInUse(), at + ": queue " + i + " indirect tables");
        }
        final DmaOps dma = disk.dma();
        if (dma instanceof SwiotlbDma)
        {
            assertEquals(0, ((SwiotlbDma)dma).pool().usedSlots(), at + ": bounce slots");
        }
        if (dma instanceof IommuDma)
        {
            final IommuDma iommu = (IommuDma)dma;
            iommu.flush();
            assertEquals(disk.numQueues(), iommu.domain().liveIovas(), at + ": IOVAs (one per ring)");
        }
    }
}
