package vqdma.fuzz;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The resource oracle must see a leak in every profile that holds resources: a deliberately leaking DmaOps (it drops
 * every second unmap) is caught, an honest one is not (once the lazy IOMMU's flush queue is settled).
 */
class DmaUsageTest
{
    /** A DmaOps that forgets every second unmap: a leaking implementation (or a caller that leaks). */
    static final class LeakyDma implements DmaOps
    {
        private final DmaOps inner;
        private int unmaps;

        LeakyDma(final DmaOps inner)
        {
            this.inner = inner;
        }

        @Override
        public long map(final long gpa, final long len, final DmaDirection dir)
        {
            return inner.map(gpa, len, dir);
        }

        @Override
        public void unmap(final long dma, final long len, final DmaDirection dir)
        {
            if ((unmaps++ & 1) == 0)
            {
                inner.unmap(dma, len, dir);
            }
        }

        @Override
        public void syncForCpu(final long dma, final long len, final DmaDirection dir)
        {
            inner.syncForCpu(dma, len, dir);
        }

        @Override
        public void syncForDevice(final long dma, final long len, final DmaDirection dir)
        {
            inner.syncForDevice(dma, len, dir);
        }

        @Override
        public long maxMappingSize()
        {
            return inner.maxMappingSize();
        }

        @Override
        public long mapCoherent(final long gpa, final long len)
        {
            return inner.mapCoherent(gpa, len);
        }

        @Override
        public void unmapCoherent(final long dma, final long len)
        {
            inner.unmapCoherent(dma, len);
        }

        @Override
        public DeviceView deviceView()
        {
            return inner.deviceView();
        }

        @Override
        public GuestMemory memory()
        {
            return inner.memory();
        }

        @Override
        public String name()
        {
            return "leaky " + inner.name();
        }
    }

    private static void mapAndUnmapFour(final DmaOps ops, final GuestMemory memory)
    {
        final long buffer = memory.allocate(64 * 1024, 4096);
        final long[] bus = new long[4];
        for (int i = 0; i < 4; i++)
        {
            bus[i] = ops.map(buffer + i * 8192L, 5000, DmaDirection.BIDIRECTIONAL);
            assertFalse(DmaOps.isMappingError(bus[i]));
        }
        for (int i = 0; i < 4; i++)
        {
            ops.unmap(bus[i], 5000, DmaDirection.BIDIRECTIONAL);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DmaProfile.class, names = {"SWIOTLB", "SWIOTLB_FORCE", "IOMMU_STRICT", "IOMMU_LAZY"})
    void aLeakingDmaOpsIsCaught(final DmaProfile profile)
    {
        final FuzzRig rig = new FuzzRig(profile, 64 * 1024).seal();
        final GuestMemory memory = rig.memory;
        final DmaOps real = rig.ops;
        final DmaUsage baseline = DmaUsage.of(real);
        mapAndUnmapFour(new LeakyDma(real), memory);
        DmaUsage.settle(real);
        final Invariant broken = assertThrows(Invariant.class,
            () -> DmaUsage.of(real).checkBackTo(baseline, profile.id()));
        assertTrue(broken.getMessage().contains("not back to the baseline"), broken.getMessage());
    }

    @ParameterizedTest
    @EnumSource(DmaProfile.class)
    void anHonestDmaOpsPasses(final DmaProfile profile)
    {
        final FuzzRig rig = new FuzzRig(profile, 64 * 1024).seal();
        final GuestMemory memory = rig.memory;
        final DmaOps real = rig.ops;
        final DmaUsage baseline = DmaUsage.of(real);
        mapAndUnmapFour(real, memory);
        if (profile == DmaProfile.IOMMU_LAZY)
        {
            assertThrows(Invariant.class, () -> DmaUsage.of(real).checkBackTo(baseline, "before the flush"),
                "the lazy IOMMU still holds the IOVAs in its flush queue: settle() is needed");
        }
        DmaUsage.settle(real);
        DmaUsage.of(real).checkBackTo(baseline, profile.id());
    }
}
