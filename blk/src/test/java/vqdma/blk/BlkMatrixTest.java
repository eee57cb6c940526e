package vqdma.blk;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.IommuDma;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.RingLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.blk.VirtioBlk.*;

/**
 * The seed thread's story, end to end: every DMA profile x clamping on/off x request sizes 512 B..4 MiB x
 * contiguous/fragmented pages x split/packed ring, writing a pattern, reading it back and comparing every byte, plus
 * a flush. IOERR must occur exactly where 2019 saw it (a bounce buffer, clamping off, a merged segment over 256 KiB)
 * and nowhere else, whatever the ring's layout; after every cell no descriptor, bounce slot or IOVA is left.
 */
class BlkMatrixTest
{
    static final int[] SIZES = {512, 4096, 65536, 256 * 1024, 300 * 1024, 1 << 20, 4 << 20};
    static final BlkConfig CONFIG = BlkConfig.qemuDefault(32L << 20, 256);
    static final long POOL = 16L << 20;

    static Stream<Arguments> cells()
    {
        final List<Arguments> cells = new ArrayList<>();
        for (final RingLayout layout : RingLayout.values())
        {
            for (final DmaProfile profile : DmaProfile.values())
            {
                for (final boolean clamp : new boolean[] {false, true})
                {
                    for (final boolean contiguous : new boolean[] {true, false})
                    {
                        cells.add(Arguments.of(profile, clamp, contiguous, layout));
                    }
                }
            }
        }
        return cells.stream();
    }

    static BlkRig rig(final DmaProfile profile, final boolean clamp, final long pool)
    {
        return rig(profile, clamp, pool, RingLayout.SPLIT);
    }

    static BlkRig rig(final DmaProfile profile, final boolean clamp, final long pool, final RingLayout layout)
    {
        return new BlkRig(memory -> profile.create(memory, pool), profile.confidentialGuest(), clamp, true, 256,
            CONFIG, 96L << 20, layout);
    }

    /** 2019: bounced, unclamped, and a contiguous run of pages larger than one SWIOTLB mapping. */
    static boolean mustFail(final DmaProfile profile, final boolean clamp, final boolean contiguous, final int size)
    {
        final boolean bounced = profile.usesSwiotlb();
        return bounced && !clamp && contiguous && size > 256 * 1024;
    }

    @ParameterizedTest(name = "{0} clamp={1} contiguous={2} {3}")
    @MethodSource("cells")
    void everySizeRoundTripsOrFailsExactlyWhere2019Did(final DmaProfile profile, final boolean clamp,
        final boolean contiguous, final RingLayout layout)
    {
        final BlkRig rig = rig(profile, clamp, POOL, layout);
        long sector = 0;
        for (final int size : SIZES)
        {
            final String at = profile.id() + " clamp=" + clamp + " contiguous=" + contiguous + " " + layout.id() +
                " size=" + size;
            final boolean fail = mustFail(profile, clamp, contiguous, size);
            final Bio write = contiguous ? rig.contiguous(new Bio(1024), T_OUT, sector, size, 0) :
                rig.fragmented(new Bio(1024), T_OUT, sector, size, 0);
            rig.fillPattern(write, size);
            final long errorsBefore = rig.driver.mappingErrors();
            rig.run(write);
            assertEquals(fail ? S_IOERR : S_OK, write.status(), at + ": write status");
            if (fail)
            {
                assertTrue(rig.driver.mappingErrors() > errorsBefore, at + ": failed at mapping, as -EIO");
                assertEquals(0, rig.backend.contents().getByte((int)(sector << SECTOR_SHIFT)), at + ": nothing written");
            }
            else
            {
                final Bio read = contiguous ? rig.contiguous(new Bio(1024), T_IN, sector, size, 1100) :
                    rig.fragmented(new Bio(1024), T_IN, sector, size, 1);
                rig.clear(read);
                rig.run(read);
                assertEquals(S_OK, read.status(), at + ": read status");
                rig.assertPattern(read, size, at);
            }
            assertNoLeak(rig, at);
            sector += (size + 511) / 512 + 8;
        }
        final Bio flush = new Bio(1).reset(T_FLUSH, 0);
        rig.run(flush);
        assertEquals(S_OK, flush.status());
        assertNoLeak(rig, profile.id() + " after flush");
        assertFalse(rig.deviceQueue.isBroken());
    }

    static void assertNoLeak(final BlkRig rig, final String at)
    {
        assertEquals(0, rig.driver.inFlight(), at + ": requests in flight");
        assertEquals(0, rig.vq.inFlight(), at + ": ring requests in flight");
        assertEquals(rig.vq.num(), rig.vq.numFree(), at + ": descriptors");
        final DmaOps dma = rig.dma;
        if (dma instanceof SwiotlbDma)
        {
            assertEquals(0, ((SwiotlbDma)dma).pool().usedSlots(), at + ": bounce slots");
        }
        if (dma instanceof IommuDma)
        {
            final IommuDma iommu = (IommuDma)dma;
            iommu.flush();
            // The ring itself stays mapped (coherent): one live IOVA.
            assertEquals(1, iommu.domain().liveIovas(), at + ": IOVAs (the ring's only)");
        }
    }

    @Test
    void clampingFollowsTheDmaLayersMaxMappingSize()
    {
        assertEquals(256 * 1024, rig(DmaProfile.SWIOTLB_FORCE, true, POOL).driver.limits().maxSegmentSize());
        assertEquals(256 * 1024, rig(DmaProfile.SWIOTLB, true, POOL).driver.limits().maxSegmentSize());
        assertEquals(QueueLimits.UNLIMITED_U32, rig(DmaProfile.SWIOTLB_FORCE, false, POOL).driver.limits()
            .maxSegmentSize(), "2019: -1U");
        assertEquals(QueueLimits.UNLIMITED_U32, rig(DmaProfile.IOMMU_STRICT, true, POOL).driver.limits()
            .maxSegmentSize(), "an IOMMU has no such limit");
    }

    @Test
    void aFullBouncePoolIsTransientAndEveryRequestSucceedsOnceSlotsFreeUp()
    {
        // A 1 MiB pool and 16 bios of 256 KiB in flight at once: the pool fills, requests wait, then all succeed.
        final BlkRig rig = rig(DmaProfile.SWIOTLB_FORCE, true, 1L << 20);
        final Bio[] bios = new Bio[16];
        for (int i = 0; i < bios.length; i++)
        {
            bios[i] = rig.contiguous(new Bio(64), T_OUT, 1024L * i, 256 * 1024, 70 * i % 1900);
            rig.driver.submit(bios[i]);
        }
        assertTrue(rig.driver.resourceRequeues() > 0, "the pool filled: BLK_STS_RESOURCE");
        for (int spins = 0; rig.driver.biosCompleted() < bios.length; spins++)
        {
            assertTrue(spins < 100_000, "requeued requests never completed");
            rig.device.serve(4);
            rig.driver.poll();
        }
        for (final Bio bio : bios)
        {
            assertEquals(S_OK, bio.status(), "a full pool never fails a request");
        }
        assertTrue(((SwiotlbDma)rig.dma).pool().fullFailures() > 0);
        assertEquals(0, ((SwiotlbDma)rig.dma).pool().oversizeFailures());
        assertNoLeak(rig, "after the storm");
    }

    @Test
    void anOversizeFailureLeavesTheQueueServingOthers()
    {
        final BlkRig rig = rig(DmaProfile.SWIOTLB, false, POOL);
        final Bio big = rig.contiguous(new Bio(256), T_OUT, 0, 1 << 20, 0);
        final Bio small = rig.contiguous(new Bio(8), T_OUT, 4096, 8192, 400);
        rig.fillPattern(small, 9);
        rig.driver.submit(big);
        rig.driver.submit(small);
        for (int spins = 0; !small.isDone(); spins++)
        {
            assertTrue(spins < 100_000);
            rig.device.serve(8);
            rig.driver.poll();
        }
        assertTrue(big.isDone());
        assertEquals(S_IOERR, big.status());
        assertEquals(S_OK, small.status());
        assertEquals(1, ((SwiotlbDma)rig.dma).pool().oversizeFailures());
        assertNoLeak(rig, "oversize");
    }

    @Test
    void directDmaInAConfidentialGuestFaultsOnPrivatePages()
    {
        // What SEV would do to a driver that ignored the DMA API: the device cannot read private memory, so the
        // ring's device side refuses the chain and the request ends in an error, never in a crash.
        final BlkRig rig = new BlkRig(vqdma.dma.DirectDma::new, true, true, true, 256, CONFIG, 96L << 20);
        final Bio bio = rig.contiguous(new Bio(8), T_OUT, 0, 4096, 0);
        rig.run(bio);
        assertEquals(S_IOERR, bio.status());
        assertTrue(rig.deviceQueue.lastError().contains("private memory"), rig.deviceQueue.lastError());
    }
}
