package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class IommuStrictDmaTest extends DmaOpsContract
{
    @Override
    DmaOps create(final GuestMemory memory)
    {
        return IommuDma.builder(memory).mode(IommuDma.Mode.STRICT).invalidationNanos(0).build();
    }

    @Override
    boolean confinesDevice()
    {
        return true;
    }

    @Test
    void nameAndLimits()
    {
        assertEquals("iommu-strict", ops.name());
        assertEquals(Long.MAX_VALUE, ops.maxMappingSize());
    }

    @Test
    void unmappedPageFaultsRightAfterUnmapEvenIfTheIotlbHeldIt()
    {
        final IommuDma iommu = (IommuDma)ops;
        final long gpa = buffer(4096, 11);
        final long dma = iommu.map(gpa, 4096, DmaDirection.TO_DEVICE);
        assertEquals(pattern(11, 5), iommu.deviceView().getByte(dma + 5));
        assertEquals(pattern(11, 6), iommu.deviceView().getByte(dma + 6));
        assertTrue(iommu.iotlb().hits() >= 1, "the second access hit the IOTLB");
        iommu.unmap(dma, 4096, DmaDirection.TO_DEVICE);
        final DmaFault fault = assertThrows(DmaFault.class, () -> iommu.deviceView().getByte(dma + 5));
        assertEquals(DmaFault.Reason.NO_TRANSLATION, fault.reason());
        assertEquals(0, iommu.staleTranslations());
        assertEquals(0, iommu.domain().liveIovas(), "strict mode frees the IOVA before unmap returns");
    }
}
