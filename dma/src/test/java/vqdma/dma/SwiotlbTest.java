package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.dma.DmaDirection.*;

/** Unit tests of {@link Swiotlb}: every rule of the allocator, the bouncing, the statistics and the misuse checks. */
class SwiotlbTest
{
    static final int KIB = 1024;

    /** Guest memory with {@code before} bytes allocated ahead of the pool, the pool, and room for buffers. */
    static Swiotlb pool(final GuestMemory memory, final long before, final long poolBytes, final int nareas)
    {
        if (before > 0)
        {
            memory.allocate(before, 4096);
        }
        return new Swiotlb(memory, poolBytes, nareas);
    }

    static long buffer(final GuestMemory memory, final int len, final int seed)
    {
        final long gpa = memory.allocate(len + 2L * 4096, 4096) + 4096; // guard page in front
        fill(memory, gpa, len, seed);
        return gpa;
    }

    static void fill(final GuestMemory memory, final long gpa, final int len, final int seed)
    {
        for (int i = 0; i < len; i++)
        {
            memory.buffer().putByte((int)gpa + i, DmaOpsContract.pattern(seed, i));
        }
    }

    static byte[] bytes(final GuestMemory memory, final long gpa, final int len)
    {
        final byte[] out = new byte[len];
        memory.buffer().getBytes((int)gpa, out);
        return out;
    }

    static int[] counters(final Swiotlb pool)
    {
        final int[] list = new int[pool.nslabs()];
        for (int s = 0; s < list.length; s++)
        {
            list[s] = pool.lpList(s);
        }
        return list;
    }

    static int slot(final Swiotlb pool, final long tlbAddr)
    {
        return (int)((tlbAddr - pool.start()) >>> Swiotlb.IO_TLB_SHIFT);
    }

    // ------------------------------------------------------------------------------------------------ sizing

    @Test
    void sizingFollowsTheKernel()
    {
        final GuestMemory memory = GuestMemory.allocate(96L << 20, false);
        final Swiotlb def = new Swiotlb(memory, Swiotlb.IO_TLB_DEFAULT_SIZE, 4);
        assertEquals(32768, def.nslabs(), "64 MiB of 2 KiB slots");
        assertEquals(4, def.nareas());
        assertEquals(8192, def.areaNslabs());
        assertEquals(def.start() + (64L << 20), def.end());

        final GuestMemory small = GuestMemory.allocate(16L << 20, false);
        assertEquals(2048, new Swiotlb(small, 3L << 20, 2).nslabs(), "1536 slots: not a power of two, rounded up");
        assertEquals(512, new Swiotlb(small, 256 * KIB, 4).nslabs(), "at least one segment per area");
        assertEquals(4, new Swiotlb(small, 1 << 20, 3).nareas(), "areas rounded up to a power of two");
        assertEquals(1, new Swiotlb(small, 1 << 20, 0).nareas(), "0 areas means 1");
        final int def2 = Swiotlb.defaultNareas();
        assertEquals(1, Integer.bitCount(def2));
        assertTrue(def2 >= Runtime.getRuntime().availableProcessors());
        final IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class,
            () -> new Swiotlb(small, 20L << 20, 1));
        assertTrue(tooBig.getMessage().contains("33554432 bytes"), tooBig.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Swiotlb(small, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Swiotlb(small, 1 << 20, -1));
    }

    @Test
    void initialLayoutIsFreeRunsToEachSegmentEndInSharedZeroedMemory()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, true);
        memory.buffer().setMemory(0, 8 << 20, (byte)0x55);
        final Swiotlb pool = pool(memory, 4096, 1 << 20, 2);
        assertEquals(4096, pool.start(), "page aligned, after what was allocated before");
        SwiotlbModel.assertPristine(pool, "fresh pool");
        assertEquals(128, pool.lpList(0));
        assertEquals(1, pool.lpList(127));
        assertEquals(128, pool.lpList(128));
        assertTrue(memory.isShared(pool.start(), pool.end() - pool.start()), "the pool is shared memory");
        assertEquals(0, memory.buffer().getByte((int)pool.start() + 1000), "the pool is zeroed, as memset at init");
        assertEquals(0x55, memory.buffer().getByte(0), "memory in front of the pool is untouched");
        assertEquals(0, pool.usedHiwater());
        assertNull(pool.lastFailure());
    }

    // ------------------------------------------------------------------------------------------------ layout

    @Test
    void slotLayoutOfMappings()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final long orig = buffer(memory, 8192, 1) + 100;

        final long a = pool.tblMapSingle(orig, 5000, 0, 0, TO_DEVICE, 0);
        assertEquals(pool.start(), a, "first fit from index 0");
        assertEquals(orig, pool.lpOrigAddr(0));
        assertEquals(orig + 2048, pool.lpOrigAddr(1));
        assertEquals(orig + 4096, pool.lpOrigAddr(2));
        assertEquals(5000, pool.lpAllocSize(0));
        assertEquals(5000 - 2048, pool.lpAllocSize(1));
        assertEquals(5000 - 4096, pool.lpAllocSize(2));
        assertEquals(Swiotlb.INVALID_PHYS_ADDR, pool.lpOrigAddr(3));
        assertArrayEquals(new int[] {0, 0, 0, 125}, Arrays.copyOf(counters(pool), 4));
        assertEquals(3, pool.areaIndex(0), "index moves past the allocation");
        assertEquals(3, pool.areaUsed(0));

        // 4096 bytes must be page aligned: slot 3 is skipped (stride 1 over misaligned slots), slots 4-5 taken.
        final long b = pool.tblMapSingle(orig, 4096, 0, 0, FROM_DEVICE, 0);
        assertEquals(4, slot(pool, b));
        assertEquals(0, (b & 4095), "page aligned");
        // 100 bytes: any slot.
        final long c = pool.tblMapSingle(orig, 100, 0, 0, BIDIRECTIONAL, 0);
        assertEquals(6, slot(pool, c));
        assertArrayEquals(new int[] {0, 0, 0, 1, 0, 0, 0, 121, 120}, Arrays.copyOf(counters(pool), 9),
            "slot 3 is a free run of 1 ending at the allocation behind it");
        // 4095 bytes: not page aligned, takes the odd slot 7.
        final long d = pool.tblMapSingle(orig, 4095, 0, 0, TO_DEVICE, 0);
        assertEquals(7, slot(pool, d));
        assertEquals(8, pool.usedSlots());
    }

    @Test
    void releaseMergesWithTheFollowingRunAndRenumbersThePrecedingOnes()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final long orig = buffer(memory, 8192, 2);
        final long a = pool.tblMapSingle(orig, 5000, 0, 0, TO_DEVICE, 0);     // slots 0-2
        final long b = pool.tblMapSingle(orig, 4096, 0, 0, TO_DEVICE, 0);     // slots 4-5
        final long c = pool.tblMapSingle(orig, 100, 0, 0, TO_DEVICE, 0);      // slot 6
        assertArrayEquals(new int[] {0, 0, 0, 1, 0, 0, 0, 121}, Arrays.copyOf(counters(pool), 8));

        pool.tblUnmapSingle(b, 4096, TO_DEVICE, 0);
        assertArrayEquals(new int[] {0, 0, 0, 3, 2, 1, 0, 121}, Arrays.copyOf(counters(pool), 8),
            "slot 6 is used: the run is 4-5, and slot 3 in front joins it");
        pool.tblUnmapSingle(c, 100, TO_DEVICE, 0);
        assertArrayEquals(new int[] {0, 0, 0, 125, 124, 123, 122, 121}, Arrays.copyOf(counters(pool), 8),
            "merged with the free run behind (121) and renumbered in front back to the used slot 2");
        pool.tblUnmapSingle(a, 5000, TO_DEVICE, 0);
        SwiotlbModel.assertPristine(pool, "all released");
        assertEquals(7, pool.areaIndex(0), "release does not move the search index");
    }

    @Test
    void segmentBoundariesAreNeverCrossed()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 512 * KIB, 1); // 2 segments, 1 area
        final long orig = buffer(memory, 256 * KIB, 3);
        final long big = pool.tblMapSingle(orig, 120 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(0, slot(pool, big));
        final long next = pool.tblMapSingle(orig, 16 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(128, slot(pool, next), "only 8 slots left in segment 0: the run starts in segment 1");
        for (int s = 120; s < 128; s++)
        {
            assertEquals(128 - s, pool.lpList(s), "slots 120-127 stay free, counting to the segment end");
        }
        // A run ending exactly at the segment end does not merge with the next segment on release.
        final long tail = pool.tblMapSingle(orig, 8 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(144, slot(pool, tail), "the area index moved to 144 after the last allocation");
        pool.tblUnmapSingle(next, 16 * 2048, TO_DEVICE, 0);
        assertEquals(16, pool.lpList(128));
        assertEquals(8, pool.lpList(120), "segment 0's counters are independent of segment 1");
    }

    // ------------------------------------------------------------------------------------------------ alignment

    @Test
    void minAlignMaskKeepsTheLowAddressBitsOfTheOriginal()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final SwiotlbDma nvme = new SwiotlbDma(pool, true, 4095);
        final long base = buffer(memory, 64 * KIB, 4);
        final long orig = base + 0xA10; // bit 11 set, low bits 0x210
        final long dma = nvme.map(orig, 10000, TO_DEVICE);
        assertEquals(orig & 0xFFF, dma & 0xFFF, "the 4 KiB page offset survives the bounce");
        assertEquals(1, slot(pool, dma) & 1, "the slot is chosen by bit 11 (no page-alignment rule with a mask)");
        assertArrayEquals(bytes(memory, orig, 10000), bytes(memory, dma, 10000));
        nvme.unmap(dma, 10000, TO_DEVICE);
        assertEquals(256 * KIB - 4096, nvme.maxMappingSize());

        // 0x7FF: only the in-slot offset is kept, any slot will do, even for >= PAGE_SIZE.
        final long dma2 = pool.tblMapSingle(base + 0x123, 8000, 0, 0x7FF, FROM_DEVICE, 0);
        assertEquals(0x123, dma2 & 0x7FF);
        assertEquals(7, slot(pool, dma2), "an 8000-byte mapping on odd slot 7: page alignment is off with a mask");
        pool.tblUnmapSingle(dma2, 8000, FROM_DEVICE, 0x7FF);
        SwiotlbModel.assertPristine(pool, "released");
    }

    @Test
    void allocAlignMaskAllocatesPaddingSlotsInFrontOfTheHead()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb pool = pool(memory, 4096, 1 << 20, 1); // pool at 4 KiB: not 64 KiB aligned
        final long base = buffer(memory, 64 * KIB, 5);
        final long orig = base + 0x1A10;
        // iommu_dma_map_page() for an untrusted device: 4 KiB granule, min_align_mask 4095.
        final long dma = pool.tblMapSingle(orig, 8192, 0xFFF, 0xFFF, BIDIRECTIONAL, 0);
        final int first = 0; // slot 0 is at GPA 4096: page aligned
        assertEquals(pool.start() + (first + 1) * 2048L + 0x210, dma, "one padding slot, then offset 0x210");
        assertEquals(0xA10, dma & 0xFFF);
        assertEquals(1, pool.lpPadSlots(first + 1), "pad_slots is kept in the head slot");
        assertEquals(SwiotlbSlotDescriptor.SLOT_PAD, pool.laState(first));
        assertEquals(6, pool.usedSlots(), "align(8192 + 0xA10, 4096) = 12288 bytes = 6 slots");
        assertArrayEquals(bytes(memory, orig, 8192), bytes(memory, dma, 8192));
        pool.tblUnmapSingle(dma, 8192, BIDIRECTIONAL, 0xFFF);
        SwiotlbModel.assertPristine(pool, "padding released with the mapping");

        final long aligned = pool.tblMapSingle(base, 3000, 0xFFFF, 0, TO_DEVICE, 0);
        assertEquals(0, aligned & 0xFFFF, "64 KiB aligned allocation");
        assertEquals(64 * KIB - 4096, aligned - pool.start(), "the first 64 KiB boundary inside the pool");
    }

    @Test
    void maxMappingSizeWithAndWithoutMinAlignMask()
    {
        assertEquals(256 * KIB, Swiotlb.maxMappingSize(0));
        assertEquals(256 * KIB - 2048, Swiotlb.maxMappingSize(0x7FF));
        assertEquals(256 * KIB - 2048, Swiotlb.maxMappingSize(3), "roundup(3, IO_TLB_SIZE) = 2048");
        assertEquals(256 * KIB - 4096, Swiotlb.maxMappingSize(0xFFF));
        assertEquals(256 * KIB - 16 * KIB, Swiotlb.maxMappingSize(0x3FFF));

        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final long base = buffer(memory, 512 * KIB, 6);
        for (final int mask : new int[] {0, 0x7FF, 0xFFF, 0x3FFF})
        {
            final long max = Swiotlb.maxMappingSize(mask);
            final long worst = base + (mask == 0 ? 0 : mask); // the largest offset the mask can demand
            final long dma = pool.tblMapSingle(worst, max, 0, mask, TO_DEVICE, 0);
            assertFalse(DmaOps.isMappingError(dma), "max mapping with mask 0x" + Integer.toHexString(mask));
            assertEquals(worst & mask, dma & mask);
            pool.tblUnmapSingle(dma, max, TO_DEVICE, mask);
        }
        assertTrue(DmaOps.isMappingError(pool.tblMapSingle(base, 256 * KIB + 1, 0, 0, TO_DEVICE, 0)),
            "one byte over a segment can never map");
        assertEquals(1, pool.oversizeFailures());
        assertEquals(0, pool.fullFailures());

        // maxMappingSize is what every offset fits, not a limit of the map path: the kernel makes a larger mapping
        // whenever its padded size fits one segment, as here where the original's low bits are zero.
        for (final int mask : new int[] {0x7FF, 0xFFF, 0x3FFF})
        {
            final long size = Swiotlb.maxMappingSize(mask) + 1;
            final long dma = pool.tblMapSingle(base, size, 0, mask, TO_DEVICE, 0);
            assertFalse(DmaOps.isMappingError(dma), "mask 0x" + Integer.toHexString(mask) + ", aligned original");
            assertArrayEquals(bytes(memory, base, (int)size), bytes(memory, dma, (int)size));
            pool.tblUnmapSingle(dma, size, TO_DEVICE, mask);
        }
        assertEquals(1, pool.oversizeFailures());
        SwiotlbModel.assertPristine(pool, "released");
    }

    /**
     * The case the C port of the kernel's allocator found (vqdma used to refuse it as oversize): 197,951 bytes from
     * GPA 0x59dcb1 with {@code min_align_mask} 0xffff. The offset into the first slot is 0xcb1 & 0x7ff = 1201 bytes,
     * the padded size 199,152 bytes = 98 slots, above {@code maxMappingSize(0xffff)} = 196,608 bytes; the slot's
     * address bits 11..15 must equal the original's (0xd800: slot 27 of every 32), and slot 27 of a segment has 101
     * slots before the segment end. So {@code swiotlb_tbl_map_single()} maps it, and so must vqdma, for every
     * allocator.
     */
    @ParameterizedTest
    @EnumSource(SwiotlbAllocator.class)
    void aMappingAboveMaxMappingSizeIsMadeWhenItsPaddedSizeFitsOneSegment(final SwiotlbAllocator allocator)
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb pool = new Swiotlb(memory, 1 << 20, 1, allocator); // at GPA 0: slot addresses are slot * 2 KiB
        final long orig = 0x59dcb1;
        final int len = 197_951;
        fill(memory, orig, len, 9);
        assertTrue(len > Swiotlb.maxMappingSize(0xffff));
        final long dma = pool.tblMapSingle(orig, len, 0, 0xffff, FROM_DEVICE, 0);
        assertFalse(DmaOps.isMappingError(dma), "the kernel finds 98 slots for it");
        assertEquals(orig & 0xffff, dma & 0xffff, "min_align_mask bits kept");
        assertEquals(27, slot(pool, dma) % 32);
        assertEquals(98, pool.usedSlots());
        assertArrayEquals(bytes(memory, orig, len), bytes(memory, dma, len));
        assertEquals(0, pool.oversizeFailures() + pool.fullFailures());

        // At the worst offset (low 16 bits 0xffff: slot 31 of 32, 2047 bytes in) the same size needs 98 slots from
        // slot 31, 63, 95 or 127 of a segment: none fits (31 + 98 > 128), so the search fails and the kernel reports
        // the pool full.
        final long worst = 0x40ffff;
        assertTrue(DmaOps.isMappingError(pool.tblMapSingle(worst, len, 0, 0xffff, TO_DEVICE, 0)));
        assertEquals(0, pool.oversizeFailures(), "its padded size fits one segment: not refused at once");
        assertEquals(1, pool.fullFailures(), "a failed search, counted as the kernel sees it");
        pool.tblUnmapSingle(dma, len, FROM_DEVICE, 0xffff);
        SwiotlbModel.assertPristine(pool, "released");
    }

    // ------------------------------------------------------------------------------------------------ failures

    @Test
    void oversizeAndFullAreCountedApartAndReportedInTheKernelsWords()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 256 * KIB, 1); // one segment
        final long orig = buffer(memory, 512 * KIB, 7);
        assertTrue(DmaOps.isMappingError(pool.tblMapSingle(orig, 256 * KIB + 1, 0, 0, TO_DEVICE, 0)));
        assertEquals(1, pool.oversizeFailures());
        assertEquals(0, pool.fullFailures());
        assertEquals("swiotlb buffer is full (sz: 262145 bytes), total 128 (slots), used 0 (slots)",
            pool.lastFailure(), "the kernel logs an oversize request as full too");

        final long a = pool.tblMapSingle(orig, 200 * KIB, 0, 0, TO_DEVICE, 0);
        assertFalse(DmaOps.isMappingError(a));
        assertTrue(DmaOps.isMappingError(pool.tblMapSingle(orig, 100 * KIB, 0, 0, TO_DEVICE, 0)));
        assertEquals(1, pool.oversizeFailures());
        assertEquals(1, pool.fullFailures());
        assertEquals("swiotlb buffer is full (sz: 102400 bytes), total 128 (slots), used 100 (slots)",
            pool.lastFailure());
        pool.tblUnmapSingle(a, 200 * KIB, TO_DEVICE, 0);
        assertFalse(DmaOps.isMappingError(pool.tblMapSingle(orig, 100 * KIB, 0, 0, TO_DEVICE, 0)),
            "full is transient: it maps once slots are free");
    }

    @Test
    void failureReportsAreRateLimitedLikeDevWarnRatelimited()
    {
        final RateLimitState rs = new RateLimitState(5_000_000_000L, 10);
        for (int i = 0; i < 10; i++)
        {
            assertTrue(rs.allow(1000L + i), "burst of 10");
        }
        assertFalse(rs.allow(2000));
        assertFalse(rs.allow(5_000_001_000L), "still inside the 5 s window");
        assertTrue(rs.allow(5_000_001_001L), "a new window");
        assertEquals(2, rs.missed());

        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 256 * KIB, 1);
        final long orig = buffer(memory, 512 * KIB, 8);
        for (int i = 0; i < 30; i++)
        {
            pool.tblMapSingle(orig, 300 * KIB, 0, 0, TO_DEVICE, 0);
        }
        assertEquals(30, pool.oversizeFailures(), "every failure is counted");
        assertTrue(pool.suppressedFailureReports() >= 20, "at most 10 reports per 5 s window: " +
            pool.suppressedFailureReports());
    }

    @Test
    void highWaterMarkTracksTheMostSlotsInUse()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 2);
        final long orig = buffer(memory, 64 * KIB, 9);
        final long a = pool.tblMapSingle(orig, 10 * 2048, 0, 0, TO_DEVICE, 0);
        final long b = pool.tblMapSingle(orig, 6 * 2048, 0, 0, TO_DEVICE, 1);
        assertEquals(16, pool.usedHiwater());
        pool.tblUnmapSingle(a, 10 * 2048, TO_DEVICE, 0);
        assertEquals(6, pool.usedSlots());
        assertEquals(16, pool.usedHiwater(), "the mark stays after release");
        final long c = pool.tblMapSingle(orig, 4 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(16, pool.usedHiwater(), "10 in use now, below the mark");
        pool.resetUsedHiwater();
        assertEquals(0, pool.usedHiwater());
        final long d = pool.tblMapSingle(orig, 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(11, pool.usedHiwater());
        pool.tblUnmapSingle(b, 6 * 2048, TO_DEVICE, 0);
        pool.tblUnmapSingle(c, 4 * 2048, TO_DEVICE, 0);
        pool.tblUnmapSingle(d, 2048, TO_DEVICE, 0);
        assertEquals(4, pool.mappings());
    }

    // ------------------------------------------------------------------------------------------------ areas

    @Test
    void aMappingStartsInItsAreaAndTriesTheOthersInTurn()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 4); // 4 areas of one segment
        final long orig = buffer(memory, 256 * KIB, 10);
        final int[] expectedArea = {2, 3, 0, 1};
        final long[] dma = new long[4];
        for (int i = 0; i < 4; i++)
        {
            dma[i] = pool.tblMapSingle(orig, 256 * KIB, 0, 0, TO_DEVICE, 2);
            assertEquals(expectedArea[i] * 128, slot(pool, dma[i]), "mapping " + i + " lands in area " +
                expectedArea[i]);
        }
        assertTrue(DmaOps.isMappingError(pool.tblMapSingle(orig, 2048, 0, 0, TO_DEVICE, 2)), "all areas full");
        assertEquals(1, pool.fullFailures());
        for (final long d : dma)
        {
            pool.tblUnmapSingle(d, 256 * KIB, TO_DEVICE, 0);
        }

        // The public entry point starts in the current thread's area: Thread.getId() & (nareas - 1).
        final long mine = pool.tblMapSingle(orig, 2048, 0, 0, TO_DEVICE);
        final int area = (int)Thread.currentThread().getId() & 3;
        assertEquals(area, slot(pool, mine) / 128, "thread " + Thread.currentThread().getId() + " -> area " + area);
        pool.tblUnmapSingle(mine, 2048, TO_DEVICE, 0);
        SwiotlbModel.assertPristine(pool, "released");
    }

    @Test
    void aMappingMayBeUnmappedByAnotherThread() throws Exception
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 2);
        final SwiotlbDma ops = new SwiotlbDma(pool, true);
        final long orig = buffer(memory, 8192, 11);
        final long dma = ops.map(orig, 8192, FROM_DEVICE);
        ops.deviceView().putIntLe(dma + 4, 0x11223344);
        final Thread other = new Thread(() -> ops.unmap(dma, 8192, FROM_DEVICE));
        other.start();
        other.join();
        assertEquals(0x11223344, memory.buffer().getInt((int)orig + 4, java.nio.ByteOrder.LITTLE_ENDIAN));
        SwiotlbModel.assertPristine(pool, "unmapped by the other thread");
    }

    // ------------------------------------------------------------------------------------------------ bouncing

    @Test
    void infoLeakFixFromDeviceMapCopiesTheOriginalNotStaleSlotData()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 256 * KIB, 1); // one segment: the third mapping reuses slot 0
        final SwiotlbDma ops = new SwiotlbDma(pool, true);
        final int len = 128 * KIB;
        final long first = buffer(memory, len, 20);
        final long dmaA = ops.map(first, len, FROM_DEVICE);
        assertEquals(pool.start(), dmaA);
        final UnsafeBuffer secret = new UnsafeBuffer(new byte[len]);
        secret.setMemory(0, len, (byte)0xEE);
        ops.deviceView().write(dmaA, secret, 0, len); // e.g. a previous read request's data, now stale in slot 0
        ops.unmap(dmaA, len, FROM_DEVICE);
        ops.unmap(ops.map(first, len, TO_DEVICE), len, TO_DEVICE); // index moves on to wrap back to slot 0

        final long second = buffer(memory, len, 21);
        final long dmaB = ops.map(second, len, FROM_DEVICE);
        assertEquals(pool.start(), dmaB, "the same slots as the stale mapping");
        assertArrayEquals(bytes(memory, second, len), bytes(memory, dmaB, len),
            "FROM_DEVICE map bounced the original into the slot: no stale bytes visible to the device");
        // The device writes only part of it; the rest of the original must survive the unmap.
        ops.deviceView().putByte(dmaB, (byte)1);
        final byte[] expected = bytes(memory, second, len);
        expected[0] = 1;
        ops.unmap(dmaB, len, FROM_DEVICE);
        assertArrayEquals(expected, bytes(memory, second, len), "a partial device write clobbers nothing");
    }

    @ParameterizedTest
    @EnumSource(DmaDirection.class)
    void bounceRulesPerDirection(final DmaDirection dir)
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final SwiotlbDma ops = new SwiotlbDma(pool, true);
        final int len = 6000;
        final long orig = buffer(memory, len, 30);
        final long dma = ops.map(orig, len, dir);
        assertArrayEquals(bytes(memory, orig, len), bytes(memory, dma, len), "map copies original -> slot always");
        final boolean back = dir != TO_DEVICE;   // slot -> original at syncForCpu and unmap
        final boolean forth = dir != FROM_DEVICE; // original -> slot at syncForDevice

        // The device writes the slot (memory.buffer() stands for the device here: no permission check at all).
        memory.buffer().putByte((int)dma + 10, (byte)0x77);
        memory.buffer().putByte((int)dma + 5000, (byte)0x78);
        ops.syncForCpu(dma + 4096, 1000, dir); // a sub-range: byte 5000, not byte 10
        assertEquals(back ? 0x78 : DmaOpsContract.pattern(30, 5000), memory.buffer().getByte((int)orig + 5000));
        assertEquals(DmaOpsContract.pattern(30, 10), memory.buffer().getByte((int)orig + 10));

        // The CPU writes the original.
        memory.buffer().putByte((int)orig + 20, (byte)0x66);
        ops.syncForDevice(dma, len, dir);
        assertEquals(forth ? 0x66 : DmaOpsContract.pattern(30, 20), memory.buffer().getByte((int)dma + 20));
        assertEquals(forth ? DmaOpsContract.pattern(30, 10) : 0x77, memory.buffer().getByte((int)dma + 10),
            "syncForDevice of FROM_DEVICE leaves the device's data alone (the reverted part of the 2022 rework)");

        final byte[] slotBefore = bytes(memory, dma, len);
        final byte[] origBefore = bytes(memory, orig, len);
        ops.unmap(dma, len, dir);
        assertArrayEquals(back ? slotBefore : origBefore, bytes(memory, orig, len),
            back ? "unmap copies slot -> original" : "TO_DEVICE unmap copies nothing back");

        assertEquals(len + (forth ? len : 0), pool.bytesBouncedToDevice());
        assertEquals(back ? 1000 + len : 0, pool.bytesBouncedFromDevice());
    }

    // ------------------------------------------------------------------------------------------------ misuse

    @Test
    void misuseIsASpecificErrorAndChangesNothing()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 2);
        final long orig = buffer(memory, 16 * KIB, 40);
        final long dma = pool.tblMapSingle(orig, 5000, 0, 0, FROM_DEVICE, 0);
        final long other = pool.tblMapSingle(orig, 300, 0, 0, TO_DEVICE, 0);
        final int[] before = counters(pool);
        final long used = pool.usedSlots();

        assertMisuse(pool, () -> pool.tblUnmapSingle(dma, 4096, FROM_DEVICE, 0), before, used,
            String.format("swiotlb unmap of dma=0x%x len=4096 FROM_DEVICE: size differs from the mapping, which " +
                "was mapped with len=5000", dma));
        assertMisuse(pool, () -> pool.tblUnmapSingle(dma, 5000, BIDIRECTIONAL, 0), before, used,
            String.format("swiotlb unmap of dma=0x%x len=5000 BIDIRECTIONAL: direction differs from the mapping, " +
                "which was mapped FROM_DEVICE", dma));
        assertMisuse(pool, () -> pool.tblUnmapSingle(dma + 2048, 2952, FROM_DEVICE, 0), before, used,
            String.format("swiotlb unmap of dma=0x%x len=2952 FROM_DEVICE: not the start of a mapping: slot 1 " +
                "belongs to the mapping at dma=0x%x len=5000 FROM_DEVICE", dma + 2048, dma));
        assertMisuse(pool, () -> pool.tblUnmapSingle(dma + 1, 5000, FROM_DEVICE, 0), before, used,
            "not the start of a mapping: slot 0 belongs to the mapping at dma=0x" + Long.toHexString(dma));
        final long free = pool.start() + 100 * 2048L;
        assertMisuse(pool, () -> pool.tblUnmapSingle(free, 10, TO_DEVICE, 0), before, used,
            String.format("swiotlb unmap of dma=0x%x len=10 TO_DEVICE: not mapped: slot 100 is free", free));
        assertMisuse(pool, () -> pool.tblUnmapSingle(orig, 5000, FROM_DEVICE, 0), before, used,
            String.format("swiotlb unmap of dma=0x%x len=5000 FROM_DEVICE: not mapped: not an address of the " +
                "bounce pool [0x%x, 0x%x)", orig, pool.start(), pool.end()));
        assertMisuse(pool, () -> pool.syncSingleForCpu(dma + 4000, 2000, FROM_DEVICE, 0), before, used,
            String.format("swiotlb syncForCpu of dma=0x%x len=2000 FROM_DEVICE: outside the mapping at dma=0x%x " +
                "len=5000 FROM_DEVICE", dma + 4000, dma));
        assertMisuse(pool, () -> pool.syncSingleForDevice(dma, 100, TO_DEVICE, 0), before, used,
            "direction differs from the mapping at dma=0x" + Long.toHexString(dma) +
                " len=5000, which was mapped FROM_DEVICE");
        assertMisuse(pool, () -> pool.syncSingleForCpu(free, 1, FROM_DEVICE, 0), before, used,
            "not mapped: slot 100 belongs to no live mapping");

        // Nothing changed: both mappings still unmap normally, and then a double unmap is named as such.
        pool.tblUnmapSingle(dma, 5000, FROM_DEVICE, 0);
        final int[] after = counters(pool);
        final long usedAfter = pool.usedSlots();
        assertMisuse(pool, () -> pool.tblUnmapSingle(dma, 5000, FROM_DEVICE, 0), after, usedAfter,
            String.format("swiotlb unmap of dma=0x%x len=5000 FROM_DEVICE: double unmap: already unmapped (it was " +
                "mapped with len=5000 FROM_DEVICE)", dma));
        pool.tblUnmapSingle(other, 300, TO_DEVICE, 0);
        SwiotlbModel.assertPristine(pool, "after misuse");
    }

    @Test
    void paddingSlotsAreNotTheStartOfAMapping()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final long orig = buffer(memory, 16 * KIB, 41) + 0x1A10;
        final long dma = pool.tblMapSingle(orig, 4000, 0xFFF, 0xFFF, TO_DEVICE, 0);
        final long pad = pool.start();
        assertEquals(SwiotlbSlotDescriptor.SLOT_PAD, pool.laState(0));
        final int[] before = counters(pool);
        assertMisuse(pool, () -> pool.tblUnmapSingle(pad, 4000, TO_DEVICE, 0xFFF), before, pool.usedSlots(),
            "not the start of a mapping: slot 0 belongs to the mapping at dma=0x" + Long.toHexString(dma));
        assertMisuse(pool, () -> pool.syncSingleForDevice(pad, 16, TO_DEVICE, 0xFFF), before, pool.usedSlots(),
            "outside the mapping at dma=0x" + Long.toHexString(dma));
        assertMisuse(pool, () -> pool.tblUnmapSingle(dma, 4000, TO_DEVICE, 0), before, pool.usedSlots(),
            "min_align_mask 0x0 does not give the slot offset");
        pool.tblUnmapSingle(dma, 4000, TO_DEVICE, 0xFFF);
        SwiotlbModel.assertPristine(pool, "released");
    }

    static void assertMisuse(final Swiotlb pool, final Runnable call, final int[] counters, final long used,
        final String message)
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, call::run);
        assertTrue(ex.getMessage().contains(message), "expected «" + message + "» in «" + ex.getMessage() + "»");
        assertArrayEquals(counters, counters(pool), "counters unchanged by " + message);
        assertEquals(used, pool.usedSlots(), "used unchanged by " + message);
        SwiotlbModel.assertCountersMatchStates(pool, message);
    }

    // ------------------------------------------------------------------------------------------------ device

    @Test
    void theDeviceReachesMappedSlotsOnly()
    {
        final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
        final Swiotlb pool = pool(memory, 0, 1 << 20, 1);
        final SwiotlbDma ops = new SwiotlbDma(pool, true);
        final long orig = buffer(memory, 8192, 50);
        final long dma = ops.map(orig, 3000, TO_DEVICE);
        final DeviceView view = ops.deviceView();
        assertEquals(DmaOpsContract.pattern(50, 2999), view.getByte(dma + 2999));
        final DmaFault beyond = assertThrows(DmaFault.class, () -> view.getByte(dma + 2 * 2048));
        assertEquals(DmaFault.Reason.UNMAPPED_SLOT, beyond.reason());
        assertTrue(beyond.getMessage().contains("SWIOTLB slot that is not mapped"), beyond.getMessage());
        assertThrows(DmaFault.class, () -> view.read(dma, new UnsafeBuffer(new byte[5000]), 0, 5000),
            "a range running into a free slot faults as a whole");
        ops.unmap(dma, 3000, TO_DEVICE);
        final DmaFault after = assertThrows(DmaFault.class, () -> view.getByte(dma));
        assertEquals(DmaFault.Reason.UNMAPPED_SLOT, after.reason(), "use after unmap");
        assertEquals(3, view.faults());
    }
}
