package vqdma.fuzz;

import org.junit.jupiter.api.Test;
import vqdma.dma.DmaDirection;
import vqdma.dma.GuestMemory;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbDma;

import static org.junit.jupiter.api.Assertions.*;

/** The books of the caller: a double unmap, a mismatched unmap or sync, and a leak must each be caught. */
class LeakCheckingDmaTest
{
    private final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
    private final SwiotlbDma inner = new SwiotlbDma(new Swiotlb(memory, FuzzProfiles.POOL_BYTES, 1), true);
    private final LeakCheckingDma dma = new LeakCheckingDma(inner);
    private final long buffer = memory.allocate(16 * 1024, 4096);

    @Test
    void aDoubleUnmapIsCaughtBeforeItReachesTheOps()
    {
        final long bus = dma.map(buffer, 1000, DmaDirection.TO_DEVICE);
        dma.unmap(bus, 1000, DmaDirection.TO_DEVICE);
        final Invariant broken = assertThrows(Invariant.class, () -> dma.unmap(bus, 1000, DmaDirection.TO_DEVICE));
        assertTrue(broken.getMessage().contains("matches no live mapping"), broken.getMessage());
        assertEquals(1, dma.unmaps());
        assertEquals(0, inner.pool().usedSlots());
    }

    @Test
    void aWrongSizeOrDirectionIsCaught()
    {
        final long bus = dma.map(buffer, 1000, DmaDirection.FROM_DEVICE);
        assertThrows(Invariant.class, () -> dma.unmap(bus, 999, DmaDirection.FROM_DEVICE));
        assertThrows(Invariant.class, () -> dma.unmap(bus, 1000, DmaDirection.BIDIRECTIONAL));
        assertEquals(1, dma.liveMappings(), "nothing was released by the refused calls");
        dma.unmap(bus, 1000, DmaDirection.FROM_DEVICE);
        dma.checkNoLiveMappings("clean");
    }

    @Test
    void aLeakIsCaught()
    {
        dma.map(buffer, 100, DmaDirection.TO_DEVICE);
        dma.map(buffer, 100, DmaDirection.TO_DEVICE);
        final long bus = dma.map(buffer + 4096, 100, DmaDirection.TO_DEVICE);
        dma.unmap(bus, 100, DmaDirection.TO_DEVICE);
        final Invariant broken = assertThrows(Invariant.class, () -> dma.checkNoLiveMappings("leaky caller"));
        assertTrue(broken.getMessage().contains("2 streaming mappings leaked"), broken.getMessage());
    }

    @Test
    void aSyncOutsideEveryMappingIsCaught()
    {
        final long bus = dma.map(buffer, 1000, DmaDirection.BIDIRECTIONAL);
        dma.syncForCpu(bus + 10, 990, DmaDirection.BIDIRECTIONAL);
        assertThrows(Invariant.class, () -> dma.syncForCpu(bus + 10, 991, DmaDirection.BIDIRECTIONAL));
        assertThrows(Invariant.class, () -> dma.syncForDevice(bus, 10, DmaDirection.TO_DEVICE));
        dma.unmap(bus, 1000, DmaDirection.BIDIRECTIONAL);
    }

    @Test
    void failedMappingsAreNotBooked()
    {
        assertEquals(-1, dma.map(buffer, Swiotlb.maxMappingSize(0) + 1, DmaDirection.TO_DEVICE));
        assertEquals(0, dma.liveMappings());
        assertEquals(0, dma.maps());
    }
}
