package vqdma.fuzz;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuPageTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

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

    /** The harness's own walk counts what the table's statistic counts, over random maps and unmaps across leaves. */
    @Test
    void presentLeavesAgreesWithTheTable()
    {
        final IommuPageTable table = new IommuPageTable(64);
        final Random random = new Random(42);
        final List<long[]> live = new ArrayList<>();
        long most = 0;
        for (int step = 0; step < 2000; step++)
        {
            if (live.isEmpty() || random.nextInt(3) != 0)
            {
                // Spread over several leaves and upper-level tables: pfns up to 2^28 (four 2 MiB leaves per 1 GiB).
                final long pfn = (long)random.nextInt(4) << 26 | (long)random.nextInt(2048) << 9;
                final long pages = 1 + random.nextInt(600);
                if (live.stream().noneMatch(m -> pfn < m[0] + m[1] && m[0] < pfn + pages) &&
                    table.map(pfn, 7, pages, IommuPageTable.PTE_READ))
                {
                    live.add(new long[] {pfn, pages});
                }
            }
            else
            {
                final long[] m = live.remove(random.nextInt(live.size()));
                table.unmap(m[0], m[1]);
            }
            final long present = DmaUsage.presentLeaves(table.tables());
            assertEquals(table.presentPtes(), present, "step " + step);
            most = Math.max(most, present);
        }
        assertTrue(most > 1000 && table.tablesInUse() > 8, "the walk saw a full table over many leaves: " + most +
            " present PTEs at most, " + table.tablesInUse() + " tables");
    }

    /** A corrupt non-leaf entry (pointing past the pool) is a finding, not an out-of-bounds read. */
    @Test
    void presentLeavesRefusesAnEntryOutsideThePool()
    {
        final IommuPageTable table = new IommuPageTable(8);
        assertTrue(table.map(0, 1, 1, IommuPageTable.PTE_READ));
        final UnsafeBuffer corrupt = new UnsafeBuffer(new byte[table.maxTables() * IommuPageTable.TABLE_SIZE]);
        corrupt.putBytes(0, table.tables(), 0, corrupt.capacity());
        corrupt.putLong(0, corrupt.getLong(0) | (long)table.maxTables() * IommuPageTable.TABLE_SIZE);
        final Invariant e = assertThrows(Invariant.class, () -> DmaUsage.presentLeaves(corrupt));
        assertTrue(e.getMessage().contains("points outside the tables"), e.getMessage());
    }
}
