package vqdma.dma;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Random map/unmap sequences against {@link IommuDma} in both modes, checked after every step: each live mapping
 * translates to exactly its buffer with exactly its permission, no IOVA page is handed out twice while live, and in
 * strict mode an unmapped address faults at once. At the end, after a flush, nothing is left: no live IOVA, no
 * present PTE, and after flushing the range caches no range in the IOVA tree.
 */
class IommuDmaPropertyTest
{
    static final int STEPS = 400;

    static Stream<Arguments> cases()
    {
        final List<Arguments> out = new ArrayList<>();
        for (long seed = 1; seed <= 12; seed++)
        {
            out.add(Arguments.of(IommuDma.Mode.STRICT, seed));
            out.add(Arguments.of(IommuDma.Mode.LAZY, seed));
        }
        return out.stream();
    }

    /** One live mapping of the model. */
    static final class Mapping
    {
        final long gpa;
        final long len;
        final DmaDirection dir;
        final long dma;

        Mapping(final long gpa, final long len, final DmaDirection dir, final long dma)
        {
            this.gpa = gpa;
            this.len = len;
            this.dir = dir;
            this.dma = dma;
        }

        long firstPfn()
        {
            return dma >>> 12;
        }

        long lastPfn()
        {
            return (dma + len - 1) >>> 12;
        }
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void randomMapUnmapKeepsEveryInvariant(final IommuDma.Mode mode, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final IommuDmaTest.FakeClock clock = new IommuDmaTest.FakeClock();
        final IommuDma iommu = IommuDma.builder(memory).mode(mode).invalidationNanos(0)
            .cacheSlots(1 << random.nextInt(3)).rcache(random.nextInt(4) != 0)
            .iotlb(1 << random.nextInt(1, 7), 1 + random.nextInt(4)).clock(clock).build();
        final DeviceView view = iommu.deviceView();
        final List<Mapping> live = new ArrayList<>();

        for (int step = 0; step < STEPS; step++)
        {
            final String where = mode + " seed " + seed + " step " + step;
            final int action = random.nextInt(100);
            if (live.isEmpty() || action < 50)
            {
                final long len = random.nextInt(8) == 0 ? 1 + random.nextInt(300_000) : 1 + random.nextInt(9000);
                final long gpa = random.nextLong(memory.size() - len + 1);
                final DmaDirection dir = DmaDirection.values()[random.nextInt(3)];
                final long dma = iommu.map(gpa, len, dir);
                assertFalse(DmaOps.isMappingError(dma), where + ": map failed");
                assertEquals(gpa & 4095, dma & 4095, where + ": page offset kept");
                final Mapping m = new Mapping(gpa, len, dir, dma);
                for (final Mapping other : live)
                {
                    assertTrue(m.lastPfn() < other.firstPfn() || m.firstPfn() > other.lastPfn(),
                        where + ": IOVA 0x" + Long.toHexString(dma) + " overlaps live 0x" + Long.toHexString(other.dma));
                }
                live.add(m);
            }
            else if (action < 95)
            {
                final Mapping m = live.remove(random.nextInt(live.size()));
                iommu.unmap(m.dma, m.len, m.dir);
                if (mode == IommuDma.Mode.STRICT)
                {
                    final DmaFault fault = assertThrows(DmaFault.class, () -> view.getByte(m.dma + m.len - 1),
                        where + ": unmapped address still reachable in strict mode");
                    assertEquals(DmaFault.Reason.NO_TRANSLATION, fault.reason(), where);
                }
            }
            else if (action < 98)
            {
                iommu.flush();
                assertEquals(0, iommu.pendingPages(), where);
            }
            else
            {
                clock.now += IommuDma.IOVA_FQ_TIMEOUT_NANOS; // the next lazy unmap fires the timer
            }
            clock.now += random.nextInt(100_000);

            for (final Mapping m : live)
            {
                final String what = where + ": mapping dma=0x" + Long.toHexString(m.dma) + " len=" + m.len + " " + m.dir;
                final int allowed = (m.dir.deviceReads() ? DeviceView.READ : 0) |
                    (m.dir.deviceWrites() ? DeviceView.WRITE : 0);
                assertEquals(m.gpa, view.translateContiguous(m.dma, m.len, allowed), what);
                if (allowed != (DeviceView.READ | DeviceView.WRITE))
                {
                    final int denied = m.dir.deviceReads() ? DeviceView.WRITE : DeviceView.READ;
                    final long at = m.dma + random.nextLong(m.len);
                    final DmaFault fault = assertThrows(DmaFault.class,
                        () -> view.translateContiguous(at, 1, denied), what + ": permission not enforced");
                    assertEquals(DmaFault.Reason.PERMISSION, fault.reason(), what);
                }
            }
            assertEquals(live.size(), iommu.domain().liveIovas() - iommu.pendingUnmaps(), where + ": live IOVAs");
        }

        for (final Mapping m : live)
        {
            iommu.unmap(m.dma, m.len, m.dir);
        }
        iommu.flush();
        final String end = mode + " seed " + seed + " end";
        assertEquals(0, iommu.pendingPages(), end);
        assertEquals(0, iommu.domain().liveIovas(), end + ": leaked IOVAs");
        assertEquals(0, iommu.pageTable().presentPtes(), end + ": present PTEs left");
        iommu.domain().flushRcaches();
        assertEquals(0, iommu.domain().treeRanges(), end + ": ranges left in the tree");
        assertEquals(0, iommu.mappingErrors(), end);
    }
}
