package vqdma.dma;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DirectDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return new DirectDma(memory);
    }

    @Override
    boolean confinesDevice()
    {
        return false;
    }

    @Test
    void busAddressIsGpaPlusOffset()
    {
        final DirectDma offset = new DirectDma(memory, 0x1000_0000L, 64);
        assertEquals(0x1000_0000L + 0x2000, offset.map(0x2000, 100, DmaDirection.TO_DEVICE));
        memory.buffer().putByte(0x2000, (byte)42);
        assertEquals(42, offset.deviceView().getByte(0x1000_2000L));
        final DmaFault below = assertThrows(DmaFault.class, () -> offset.deviceView().getByte(0x2000));
        assertEquals(DmaFault.Reason.OUT_OF_RANGE, below.reason());
    }

    @Test
    void mappingBeyondTheDmaMaskIsAMappingError()
    {
        final DirectDma narrow = new DirectDma(memory, 0, 24); // a 16 MiB device
        assertEquals(0x10_0000L, narrow.map(0x10_0000L, 4096, DmaDirection.TO_DEVICE));
        assertTrue(DmaOps.isMappingError(narrow.map((16L << 20) - 100, 4096, DmaDirection.TO_DEVICE)));
    }

    @Test
    void maxMappingSizeIsUnlimited()
    {
        assertEquals(Long.MAX_VALUE, ops.maxMappingSize());
    }

    @Test
    void badArgumentsNameTheValues()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> new DirectDma(memory, -1, 64));
        assertTrue(ex.getMessage().contains("busOffset=-1"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DirectDma(memory, 0, 65));
    }

    /** A confidential guest: direct DMA maps, but the device faults on private memory (SEV's reason for SWIOTLB). */
    @Nested
    class Confidential
    {
        @Test
        void deviceFaultsOnPrivateMemoryAndReachesSharedMemory()
        {
            final GuestMemory sev = GuestMemory.allocate(1 << 20, true);
            final DirectDma direct = new DirectDma(sev);
            final long priv = sev.allocate(4096, 4096);
            final long shared = sev.allocateShared(4096);
            final long dma = direct.map(priv, 4096, DmaDirection.TO_DEVICE);
            assertFalse(DmaOps.isMappingError(dma), "dma-direct maps without looking at encryption");
            final DmaFault fault = assertThrows(DmaFault.class, () -> direct.deviceView().getByte(dma));
            assertEquals(DmaFault.Reason.PRIVATE_MEMORY, fault.reason());
            assertTrue(fault.getMessage().contains("private memory"), fault.getMessage());
            sev.buffer().putByte((int)shared, (byte)7);
            assertEquals(7, direct.deviceView().getByte(direct.map(shared, 4096, DmaDirection.TO_DEVICE)));
            // A range that starts shared and ends private faults as a whole, before any byte is written.
            final long straddle = shared + 4000;
            assertThrows(DmaFault.class, () -> direct.deviceView().write(straddle,
                new org.agrona.concurrent.UnsafeBuffer(new byte[200]), 0, 200));
            assertEquals(0, sev.buffer().getByte((int)straddle + 10));
        }
    }
}
