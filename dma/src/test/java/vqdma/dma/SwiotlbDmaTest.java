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
}
