package vqdma.blk.soak;

import org.junit.jupiter.api.Test;
import vqdma.dma.SwiotlbAllocator;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The deterministic replay behind {@code scripts/soak --compare-allocators}. */
class SwiotlbReplayTest
{
    @Test
    void theSameTraceGivesTheBitmapTheKernelsCountsAndEveryAllocatorRunsDry()
    {
        // A small pool (4 MiB, 2048 slots) for 2 CPUs x 8 requests of up to 1 MiB: full happens often.
        final List<SwiotlbReplay.Result> results = SwiotlbReplay.run(42, 4L << 20, 2, 8, 1000);
        assertEquals(SwiotlbAllocator.values().length, results.size());
        final SwiotlbReplay.Result kernel = results.get(0);
        final SwiotlbReplay.Result bitmap = results.get(1);
        assertEquals(SwiotlbAllocator.KERNEL, kernel.allocator());
        assertEquals(SwiotlbAllocator.BITMAP, bitmap.allocator());
        assertTrue(kernel.fullFailures() > 0 && kernel.requeues() > 0, "the trace reaches a full pool: " + kernel);
        assertEquals(kernel.fullFailures(), bitmap.fullFailures(), "the bitmap takes the kernel's slot every call");
        assertEquals(kernel.requeues(), bitmap.requeues());
        assertEquals(kernel.mappings(), bitmap.mappings());
        assertEquals(kernel.hiwater(), bitmap.hiwater());
        for (final SwiotlbReplay.Result r : results)
        {
            assertEquals(1000, r.requests(), r.toString());
            assertTrue(r.hiwater() <= r.nslabs() && r.hiwater() > r.nslabs() / 2, r.toString());
        }
        assertEquals(results, SwiotlbReplay.run(42, 4L << 20, 2, 8, 1000), "deterministic");
    }

    @Test
    void theHotPlacementFailsLessThanTheRfcsLifoAndNoMoreThanTheKernel()
    {
        // 16 MiB for 2 CPUs x 16 requests: the pool runs full now and then, as in scripts/soak --compare-allocators.
        final List<SwiotlbReplay.Result> results = SwiotlbReplay.run(1, 16L << 20, 2, 16, 5000);
        final SwiotlbReplay.Result kernel = results.get(SwiotlbAllocator.KERNEL.ordinal());
        final SwiotlbReplay.Result lifo = results.get(SwiotlbAllocator.LIFO.ordinal());
        final SwiotlbReplay.Result hot = results.get(SwiotlbAllocator.HOT.ordinal());
        assertEquals(SwiotlbAllocator.HOT, hot.allocator());
        assertTrue(kernel.fullFailures() > 0, kernel.toString());
        assertTrue(lifo.fullFailures() > kernel.fullFailures(), "the RFC's rule fragments the pool: " + lifo);
        assertTrue(hot.fullFailures() <= kernel.fullFailures(), "whole segments kept for 256 KiB: " + hot);
    }
}
