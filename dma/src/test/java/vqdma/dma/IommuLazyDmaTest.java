package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class IommuLazyDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return IommuDma.builder(memory).mode(IommuDma.Mode.LAZY).invalidationNanos(0).build();
    }

    /** A clock that advances 1 ms per reading, so that the flush timer fires at the same unmaps in every run. */
    @Override
    DmaOps createForReset(final GuestMemory memory)
    {
        final long[] now = {0};
        return IommuDma.builder(memory).mode(IommuDma.Mode.LAZY).invalidationNanos(0)
            .clock(() -> now[0] += 1_000_000L).build();
    }

    @Override
    boolean confinesDevice()
    {
        return true;
    }

    @Override
    boolean allowsStaleAccessAfterUnmap()
    {
        return true;
    }

    @Test
    void nameAndLimits()
    {
        assertEquals("iommu-lazy", ops.name());
        assertEquals(Long.MAX_VALUE, ops.maxMappingSize());
    }

    @Test
    void unmappedPageStaysReachableThroughTheIotlbUntilFlush()
    {
        final IommuDma iommu = (IommuDma)ops;
        final long gpa = buffer(4096, 12);
        final long dma = iommu.map(gpa, 4096, DmaDirection.TO_DEVICE);
        assertEquals(pattern(12, 1), iommu.deviceView().getByte(dma + 1)); // fills the IOTLB
        iommu.unmap(dma, 4096, DmaDirection.TO_DEVICE);
        assertEquals(0, iommu.pageTable().presentPtes(), "the PTE is cleared at once");
        assertEquals(pattern(12, 2), iommu.deviceView().getByte(dma + 2), "stale IOTLB entry still translates");
        assertEquals(1, iommu.staleTranslations());
        assertEquals(1, iommu.pendingPages());
        iommu.flush();
        assertThrows(DmaFault.class, () -> iommu.deviceView().getByte(dma + 2));
        assertEquals(0, iommu.pendingPages());
        assertEquals(0, iommu.domain().liveIovas());
    }
}
