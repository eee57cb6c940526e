package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SWIOTLB without {@code force} in a normal guest: every buffer is host-accessible, so nothing bounces and the ops
 * behave as dma-direct (the device reaches all memory: {@link #confinesDevice()} is false).
 */
class SwiotlbDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return new SwiotlbDma(new Swiotlb(memory, 4L << 20, 2), false);
    }

    @Override
    boolean confinesDevice()
    {
        return false;
    }

    @Test
    void nothingBouncesInANormalGuestWithoutForce()
    {
        final long gpa = buffer(8192, 11);
        final long dma = ops.map(gpa, 8192, DmaDirection.BIDIRECTIONAL);
        assertEquals(gpa, dma, "direct: bus address = GPA");
        ops.syncForCpu(dma, 8192, DmaDirection.BIDIRECTIONAL);
        ops.unmap(dma, 8192, DmaDirection.BIDIRECTIONAL);
        final Swiotlb pool = ((SwiotlbDma)ops).pool();
        assertEquals(0, pool.mappings());
        assertEquals(0, pool.bytesBouncedToDevice());
        assertEquals("swiotlb", ops.name());
        assertEquals(Long.MAX_VALUE, ops.maxMappingSize(), "dma_direct_max_mapping_size: SIZE_MAX when not bouncing");
    }

    @Test
    void unmapOfAnAddressNoMappingCouldHaveIsMisuse()
    {
        final IllegalStateException outside = assertThrows(IllegalStateException.class,
            () -> ops.unmap(MEMORY + 4096, 100, DmaDirection.TO_DEVICE));
        assertTrue(outside.getMessage().contains("not mapped") && outside.getMessage().contains("len=100") &&
            outside.getMessage().contains("TO_DEVICE"), outside.getMessage());
        final Swiotlb pool = ((SwiotlbDma)ops).pool();
        final IllegalStateException inPool = assertThrows(IllegalStateException.class,
            () -> ops.unmap(pool.start() + 4096, 100, DmaDirection.FROM_DEVICE));
        assertTrue(inPool.getMessage().contains("slot 2 is free"), inPool.getMessage());
    }

    /** Found by the DMA ops fuzz target: a buffer inside the pool mapped "directly" could never be unmapped. */
    @Test
    void aBufferInsideTheBouncePoolIsRefused()
    {
        final Swiotlb pool = ((SwiotlbDma)ops).pool();
        for (final long gpa : new long[] {pool.start(), pool.start() + 5000, pool.end() - 1, Math.max(0, pool.start() - 10)})
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> ops.map(gpa, 100, DmaDirection.BIDIRECTIONAL), "map of gpa 0x" + Long.toHexString(gpa));
            assertTrue(ex.getMessage().contains("overlaps the SWIOTLB pool"), ex.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ops.mapCoherent(gpa, 100));
        }
        assertEquals(0, pool.usedSlots());
        final long after = pool.end();
        assertEquals(after, ops.map(after, 100, DmaDirection.BIDIRECTIONAL), "the first byte after the pool maps");
        ops.unmap(after, 100, DmaDirection.BIDIRECTIONAL);
    }
}
