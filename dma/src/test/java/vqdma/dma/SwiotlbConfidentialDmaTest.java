package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A confidential (SEV-like) guest without {@code force}: private buffers bounce through the shared pool, shared ones
 * map directly. The contract's buffers are private, so the device reaches only what is mapped.
 */
class SwiotlbConfidentialDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return new SwiotlbDma(new Swiotlb(memory, 4L << 20, 2), false);
    }

    @Override
    boolean confidential()
    {
        return true;
    }

    @Override
    boolean confinesDevice()
    {
        return true;
    }

    @Test
    void directDmaFaultsOnPrivateMemoryWhileSwiotlbWorksOnTheSameBuffer()
    {
        final int len = 3000;
        final long gpa = buffer(len, 14);
        final DirectDma direct = new DirectDma(memory);
        final long directDma = direct.map(gpa, len, DmaDirection.TO_DEVICE);
        final DmaFault fault = assertThrows(DmaFault.class,
            () -> direct.deviceView().read(directDma, new UnsafeBuffer(new byte[len]), 0, len));
        assertEquals(DmaFault.Reason.PRIVATE_MEMORY, fault.reason());

        final long dma = ops.map(gpa, len, DmaDirection.TO_DEVICE);
        assertNotEquals(gpa, dma, "a private buffer is bounced");
        assertTrue(memory.isShared(dma, len), "the bounce slot is shared memory");
        final UnsafeBuffer got = new UnsafeBuffer(new byte[len]);
        ops.deviceView().read(dma, got, 0, len);
        for (int i = 0; i < len; i++)
        {
            assertEquals(pattern(14, i), got.getByte(i), "byte " + i);
        }
        ops.unmap(dma, len, DmaDirection.TO_DEVICE);
        assertEquals(256 * 1024, ops.maxMappingSize(), "a confidential guest may bounce: the swiotlb limit applies");
    }

    @Test
    void sharedBuffersAndRingsAreMappedDirectly()
    {
        final long shared = memory.allocateShared(4096);
        assertEquals(shared, ops.map(shared, 4096, DmaDirection.FROM_DEVICE));
        ops.unmap(shared, 4096, DmaDirection.FROM_DEVICE);
        assertEquals(shared, ops.mapCoherent(shared, 4096));
        assertEquals(0, ((SwiotlbDma)ops).pool().mappings());
    }

    @Test
    void coherentMappingOfPrivateMemoryIsAMappingError()
    {
        final long priv = memory.allocate(4096, 4096);
        assertTrue(DmaOps.isMappingError(ops.mapCoherent(priv, 4096)),
            "a ring in private memory is unreachable and is never bounced");
        assertThrows(IllegalStateException.class, () -> ops.unmapCoherent(priv, 4096));
    }

    @Test
    void unmapOfAPrivateAddressOutsideThePoolIsMisuse()
    {
        final long gpa = buffer(4096, 15);
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> ops.unmap(gpa, 4096, DmaDirection.BIDIRECTIONAL));
        assertTrue(ex.getMessage().contains("private memory") && ex.getMessage().contains("BIDIRECTIONAL"),
            ex.getMessage());
    }
}
