package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** {@code swiotlb=force} in a normal guest: every mapping bounces, so the device reaches only what is mapped. */
class SwiotlbForceDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return new SwiotlbDma(new Swiotlb(memory, 4L << 20, 2), true);
    }

    @Override
    boolean confinesDevice()
    {
        return true;
    }

    @Test
    void everyMappingBouncesAndIsCounted()
    {
        final long gpa = buffer(5000, 12);
        final long dma = ops.map(gpa, 5000, DmaDirection.BIDIRECTIONAL);
        final Swiotlb pool = ((SwiotlbDma)ops).pool();
        assertTrue(pool.isSwiotlbBuffer(dma), "bounced into the pool");
        assertEquals("swiotlb-force", ops.name());
        assertEquals(256 * 1024, ops.maxMappingSize());
        assertEquals(3, pool.usedSlots());
        ops.unmap(dma, 5000, DmaDirection.BIDIRECTIONAL);
        assertEquals(0, pool.usedSlots());
        assertEquals(1, pool.mappings());
        assertEquals(5000, pool.bytesBouncedToDevice());
        assertEquals(5000, pool.bytesBouncedFromDevice());
    }

    @Test
    void aDirectLookingAddressIsNotMappedUnderForce()
    {
        final long gpa = buffer(4096, 13);
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> ops.unmap(gpa, 4096, DmaDirection.TO_DEVICE));
        assertTrue(ex.getMessage().contains("swiotlb-force bounces every mapping"), ex.getMessage());
        assertThrows(IllegalStateException.class, () -> ops.syncForCpu(gpa, 4096, DmaDirection.TO_DEVICE));
    }

    @Test
    void ringsAreNeverBounced()
    {
        final long ring = memory.allocateShared(8192);
        assertEquals(ring, ops.mapCoherent(ring, 8192));
        memory.buffer().putByte((int)ring + 100, (byte)77);
        assertEquals(77, ops.deviceView().getByte(ring + 100));
        ops.unmapCoherent(ring, 8192);
        assertEquals(0, ((SwiotlbDma)ops).pool().mappings());
    }
}
