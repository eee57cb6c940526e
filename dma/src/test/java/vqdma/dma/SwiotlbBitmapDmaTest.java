package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code swiotlb-bitmap}: {@code swiotlb=force} with the {@link SwiotlbAllocator#BITMAP} allocator, under the whole DMA
 * ops contract, including {@link DmaOps#reset()} against a new instance (the allocator's free-slot state must be
 * reset too).
 */
class SwiotlbBitmapDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return new SwiotlbDma(new Swiotlb(memory, 4L << 20, 2, SwiotlbAllocator.BITMAP), true);
    }

    @Override
    boolean confinesDevice()
    {
        return true;
    }

    @Test
    void isTheProfilesOpsAndBouncesThroughItsAllocator()
    {
        assertEquals(DmaProfile.SWIOTLB_BITMAP.id(), ops.name());
        final long gpa = buffer(5000, 12);
        final long dma = ops.map(gpa, 5000, DmaDirection.BIDIRECTIONAL);
        final Swiotlb pool = ((SwiotlbDma)ops).pool();
        assertSame(SwiotlbAllocator.BITMAP, pool.allocator());
        assertTrue(pool.isSwiotlbBuffer(dma), "bounced into the pool");
        assertEquals(3, pool.usedSlots());
        ops.unmap(dma, 5000, DmaDirection.BIDIRECTIONAL);
        assertEquals(0, pool.usedSlots());
    }
}
