package vqdma.dma;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.dma.DmaDirection.*;

/**
 * The 2022 RFC's allocators against the kernel's: {@link SwiotlbAllocator#BITMAP} must take the kernel's slot on every
 * call (a differential test on seeded random traces, two pools side by side), {@link SwiotlbAllocator#LIFO} must reuse
 * the slots freed last and keep every rule the kernel's keeps, {@link SwiotlbAllocator#HOT} must also place as its
 * rules say. ({@link SwiotlbPropertyTest} runs all four against the reference model as well.)
 */
class SwiotlbAllocatorTest
{
    static final int KIB = 1024;
    static final int[] MIN_ALIGN_MASKS = {0, 0, 0, 0x7FF, 0xFFF, 0x3FFF, 0xFFFF};
    static final int[] ALLOC_ALIGN_MASKS = {0, 0, 0, 0, 0xFFF, 0xFFFF};

    @Test
    void theBitmapTakesTheKernelsSlotOnEveryCall()
    {
        long maps = 0;
        long failures = 0;
        for (int i = 0; i < 24; i++)
        {
            final long seed = 0xB17_0000L + i * 15_485_863L;
            final SplittableRandom random = new SplittableRandom(seed);
            final int pagesBefore = random.nextInt(24);
            final int nareas = 1 << random.nextInt(3);
            final long poolBytes = (random.nextBoolean() ? 1L : 2L) << 20;
            final Swiotlb kernel = pool(pagesBefore, poolBytes, nareas, SwiotlbAllocator.KERNEL);
            final Swiotlb bitmap = pool(pagesBefore, poolBytes, nareas, SwiotlbAllocator.BITMAP);
            assertEquals(kernel.start(), bitmap.start());
            final long source = kernel.memory().allocate(3L << 20, 4096);
            assertEquals(source, bitmap.memory().allocate(3L << 20, 4096));
            final List<long[]> live = new ArrayList<>(); // {dma, len, minAlignMask}
            for (int step = 0; step < 600; step++)
            {
                final String where = "seed " + seed + " step " + step;
                if (live.isEmpty() || random.nextInt(100) < 60)
                {
                    final long len = 1 + random.nextInt(random.nextBoolean() ? 8 * KIB : 300 * KIB);
                    final long orig = source + random.nextInt(2 << 20);
                    final int minAlignMask = MIN_ALIGN_MASKS[random.nextInt(MIN_ALIGN_MASKS.length)];
                    final int allocAlignMask = ALLOC_ALIGN_MASKS[random.nextInt(ALLOC_ALIGN_MASKS.length)];
                    final int area = random.nextInt(nareas);
                    final long k = kernel.tblMapSingle(orig, len, allocAlignMask, minAlignMask, TO_DEVICE, area);
                    final long b = bitmap.tblMapSingle(orig, len, allocAlignMask, minAlignMask, TO_DEVICE, area);
                    assertEquals(k, b, where + ": map of " + len + " bytes at 0x" + Long.toHexString(orig) +
                        " minAlign 0x" + Integer.toHexString(minAlignMask) + " allocAlign 0x" +
                        Integer.toHexString(allocAlignMask) + " from area " + area);
                    maps++;
                    if (DmaOps.isMappingError(k))
                    {
                        failures++;
                    }
                    else
                    {
                        live.add(new long[] {k, len, minAlignMask});
                    }
                }
                else
                {
                    final long[] m = live.remove(random.nextInt(live.size()));
                    kernel.tblUnmapSingle(m[0], m[1], TO_DEVICE, (int)m[2]);
                    bitmap.tblUnmapSingle(m[0], m[1], TO_DEVICE, (int)m[2]);
                }
                if (step % 150 == 149)
                {
                    assertSameState(kernel, bitmap, where);
                }
            }
            assertSameState(kernel, bitmap, "seed " + seed + " end");
            assertEquals(kernel.fullFailures(), bitmap.fullFailures(), "seed " + seed);
            assertEquals(kernel.oversizeFailures(), bitmap.oversizeFailures(), "seed " + seed);
        }
        assertTrue(maps > 8000 && failures > 500,
            maps + " maps, " + failures + " failures: the traces reach a full pool");
    }

    private static Swiotlb pool(final int pagesBefore, final long poolBytes, final int nareas,
        final SwiotlbAllocator allocator)
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        if (pagesBefore > 0)
        {
            memory.allocate(pagesBefore * 4096L, 4096);
        }
        return new Swiotlb(memory, poolBytes, nareas, allocator);
    }

    private static void assertSameState(final Swiotlb kernel, final Swiotlb other, final String where)
    {
        for (int s = 0; s < kernel.nslabs(); s++)
        {
            assertEquals(kernel.lpList(s), other.lpList(s), where + ": free run from slot " + s);
        }
        for (int a = 0; a < kernel.nareas(); a++)
        {
            assertEquals(kernel.areaIndex(a), other.areaIndex(a), where + ": index of area " + a);
            assertEquals(kernel.areaUsed(a), other.areaUsed(a), where + ": used of area " + a);
        }
        assertEquals(kernel.usedHiwater(), other.usedHiwater(), where + ": high-water mark");
    }

    @Test
    void lifoReusesTheSlotsFreedLast()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb hot = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.LIFO);
        final Swiotlb kernel = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.KERNEL);
        final long orig = SwiotlbTest.buffer(memory, 64 * KIB, 3);
        for (final Swiotlb pool : new Swiotlb[] {hot, kernel})
        {
            final long a = pool.tblMapSingle(orig, 4096, 0, 0, TO_DEVICE, 0);
            final long b = pool.tblMapSingle(orig, 64 * KIB, 0, 0, TO_DEVICE, 0);
            pool.tblUnmapSingle(a, 4096, TO_DEVICE, 0);
            final long again = pool.tblMapSingle(orig, 4096, 0, 0, TO_DEVICE, 0);
            if (pool == hot)
            {
                assertEquals(a, again, "hot: the 4 KiB just freed comes back first");
            }
            else
            {
                assertEquals(b + 64 * KIB, again, "kernel: the index has moved on past the 64 KiB mapping");
            }
            pool.tblUnmapSingle(b, 64 * KIB, TO_DEVICE, 0);
            final long small = pool.tblMapSingle(orig, 100, 0, 0, TO_DEVICE, 0);
            if (pool == hot)
            {
                assertEquals(b, small, "hot: the first slot of the run freed last is at the head of the list");
            }
            pool.tblUnmapSingle(small, 100, TO_DEVICE, 0);
            pool.tblUnmapSingle(again, 4096, TO_DEVICE, 0);
            SwiotlbModel.assertPristine(pool, pool.allocator() + " released");
        }
    }

    @Test
    void lifoSkipsMisalignedFreeSlotsAndNeverCrossesASegment()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb hot = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.LIFO); // 4 segments at GPA 0
        final long orig = SwiotlbTest.buffer(memory, 256 * KIB, 4);
        // Free slot 1 last: the head of the list is an odd slot, which a page-sized mapping must skip.
        final long one = hot.tblMapSingle(orig, 2048, 0, 0, TO_DEVICE, 0); // slot 0
        final long two = hot.tblMapSingle(orig, 2048, 0, 0, TO_DEVICE, 0); // slot 1
        assertEquals(1, SwiotlbTest.slot(hot, two));
        hot.tblUnmapSingle(two, 2048, TO_DEVICE, 0);
        final long page = hot.tblMapSingle(orig, 4096, 0, 0, TO_DEVICE, 0);
        assertEquals(0, (page - hot.start()) % 4096, "a page-sized bounce buffer is page aligned");
        assertEquals(2, SwiotlbTest.slot(hot, page), "the first page-aligned free slot in list order");
        hot.tblUnmapSingle(one, 2048, TO_DEVICE, 0);
        hot.tblUnmapSingle(page, 4096, TO_DEVICE, 0);
        SwiotlbModel.assertPristine(hot, "released");

        // Slots 100..127, the end of segment 0, freed last: a 32-slot request from any of them would cross into
        // segment 1, so the walk passes them all and takes slot 128.
        final Swiotlb fresh = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.LIFO);
        final long filler = fresh.tblMapSingle(orig, 100 * 2048, 0, 0, TO_DEVICE, 0);
        final long tail = fresh.tblMapSingle(orig, 28 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(0, SwiotlbTest.slot(fresh, filler));
        assertEquals(100, SwiotlbTest.slot(fresh, tail));
        fresh.tblUnmapSingle(tail, 28 * 2048, TO_DEVICE, 0);
        final long big = fresh.tblMapSingle(orig, 64 * KIB, 0, 0, TO_DEVICE, 0);
        assertEquals(128, SwiotlbTest.slot(fresh, big), "no run crosses a segment: segment 1 starts at slot 128");
        assertTrue(DmaOps.isMappingError(fresh.tblMapSingle(orig, 256 * KIB + 1, 0, 0, TO_DEVICE, 0)),
            "the 2019 limit: one segment, 256 KiB");
        assertEquals(1, fresh.oversizeFailures());
        fresh.tblUnmapSingle(big, 64 * KIB, TO_DEVICE, 0);
        fresh.tblUnmapSingle(filler, 100 * 2048, TO_DEVICE, 0);
        SwiotlbModel.assertPristine(fresh, "released");
    }

    @Test
    void hotReusesItsSegmentAndSparesWholeFreeSegments()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final long orig = SwiotlbTest.buffer(memory, 256 * KIB, 6);
        final Swiotlb hot = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.HOT); // 4 segments at GPA 0
        final Swiotlb lifo = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.LIFO);
        for (final Swiotlb pool : new Swiotlb[] {hot, lifo})
        {
            // Segment 0 half used (slots 0..63), segments 1, 2 and 3 wholly used; then segment 1 freed: its first
            // slot is the head of the list, and the segment allocated from last (3) is full.
            final long low = pool.tblMapSingle(orig, 64 * 2048, 0, 0, TO_DEVICE, 0);
            final long[] whole = new long[3];
            for (int i = 0; i < 3; i++)
            {
                whole[i] = pool.tblMapSingle(orig, 256 * KIB, 0, 0, TO_DEVICE, 0);
                assertEquals(128 * (i + 1), SwiotlbTest.slot(pool, whole[i]));
            }
            assertEquals(0, SwiotlbTest.slot(pool, low));
            pool.tblUnmapSingle(whole[0], 256 * KIB, TO_DEVICE, 0);
            final long header = pool.tblMapSingle(orig, 16, 0, 0, TO_DEVICE, 0);
            final long again = pool.tblMapSingle(orig, 256 * KIB, 0, 0, TO_DEVICE, 0);
            if (pool == lifo)
            {
                assertEquals(128, SwiotlbTest.slot(pool, header), "lifo: the head of the list, a whole segment broken");
                assertTrue(DmaOps.isMappingError(again), "lifo: no whole segment left for 256 KiB");
                assertEquals(1, pool.fullFailures());
            }
            else
            {
                assertEquals(64, SwiotlbTest.slot(pool, header), "hot: a partly used segment, not the whole one");
                assertEquals(128, SwiotlbTest.slot(pool, again), "hot: the whole segment kept for 256 KiB");
                assertEquals(0, pool.fullFailures());
                pool.tblUnmapSingle(again, 256 * KIB, TO_DEVICE, 0);
            }
            pool.tblUnmapSingle(header, 16, TO_DEVICE, 0);
            pool.tblUnmapSingle(low, 64 * 2048, TO_DEVICE, 0);
            pool.tblUnmapSingle(whole[1], 256 * KIB, TO_DEVICE, 0);
            pool.tblUnmapSingle(whole[2], 256 * KIB, TO_DEVICE, 0);
            SwiotlbModel.assertPristine(pool, pool.allocator() + " released");
        }

        // A stream of one size reuses the same slots, as the RFC's rule does: map, unmap, map again.
        final Swiotlb fresh = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.HOT);
        final long first = fresh.tblMapSingle(orig, 4096, 0, 0, FROM_DEVICE, 0);
        for (int i = 0; i < 10; i++)
        {
            fresh.tblUnmapSingle(first, 4096, FROM_DEVICE, 0);
            assertEquals(first, fresh.tblMapSingle(orig, 4096, 0, 0, FROM_DEVICE, 0), "round " + i);
        }
        fresh.tblUnmapSingle(first, 4096, FROM_DEVICE, 0);
        SwiotlbModel.assertPristine(fresh, "stream released");
    }

    @Test
    void hotFindsItsSegmentsRunsWithTheirAlignment()
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final long orig = SwiotlbTest.buffer(memory, 256 * KIB, 7);
        final Swiotlb pool = new Swiotlb(memory, 1 << 20, 1, SwiotlbAllocator.HOT); // 4 segments at GPA 0
        // Segment 0: slots 0..2 used, 3 free, 4..69 used (one 66-slot mapping), the rest free.
        final long a = pool.tblMapSingle(orig, 3 * 2048, 0, 0, TO_DEVICE, 0);
        final long b = pool.tblMapSingle(orig, 2048, 0, 0, TO_DEVICE, 0);
        final long c = pool.tblMapSingle(orig, 66 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(3, SwiotlbTest.slot(pool, b));
        assertEquals(4, SwiotlbTest.slot(pool, c));
        pool.tblUnmapSingle(b, 2048, TO_DEVICE, 0);
        // One slot: the hole at 3. A page (two slots, page aligned): not at 3, the first even free slot, 70.
        final long one = pool.tblMapSingle(orig, 100, 0, 0, TO_DEVICE, 0);
        assertEquals(3, SwiotlbTest.slot(pool, one));
        final long page = pool.tblMapSingle(orig, 4096, 0, 0, TO_DEVICE, 0);
        assertEquals(70, SwiotlbTest.slot(pool, page));
        // 56 slots free at 72..127: a run of 56 fits exactly, one of 57 does not and goes to another segment.
        final long tail = pool.tblMapSingle(orig, 56 * 2048, 0, 0, TO_DEVICE, 0);
        assertEquals(72, SwiotlbTest.slot(pool, tail));
        pool.tblUnmapSingle(tail, 56 * 2048, TO_DEVICE, 0);
        final long over = pool.tblMapSingle(orig, 57 * 2048, 0, 0, TO_DEVICE, 0);
        assertTrue(SwiotlbTest.slot(pool, over) >= 128, "a run never crosses into segment 1");
        // min_align_mask: the original's low 16 address bits kept, found in the segment allocated from last.
        final long aligned = pool.tblMapSingle(orig + 0x2800, 2048, 0, 0xFFFF, TO_DEVICE, 0);
        assertEquals((orig + 0x2800) & 0xFFFF, aligned & 0xFFFF, "the min_align_mask bits of the original");
        assertEquals(SwiotlbTest.slot(pool, over) / 128, SwiotlbTest.slot(pool, aligned) / 128, "the hot segment");
        for (final long[] m : new long[][] {{a, 3 * 2048}, {c, 66 * 2048}, {one, 100}, {page, 4096},
            {over, 57 * 2048}, {aligned, 2048}})
        {
            pool.tblUnmapSingle(m[0], m[1], TO_DEVICE, 0);
        }
        SwiotlbModel.assertPristine(pool, "released");
    }

    @ParameterizedTest
    @EnumSource(SwiotlbAllocator.class)
    void everyAllocatorFillsThePoolAndFailsAsFullOnlyThen(final SwiotlbAllocator allocator)
    {
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final Swiotlb pool = new Swiotlb(memory, 1 << 20, 2, allocator); // 512 slots, 2 areas
        final long orig = SwiotlbTest.buffer(memory, 64 * KIB, 5);
        final List<Long> live = new ArrayList<>();
        for (int i = 0; i < 256; i++)
        {
            final long dma = pool.tblMapSingle(orig, 4096, 0, 0, FROM_DEVICE, i & 1);
            assertFalse(DmaOps.isMappingError(dma), allocator + ": mapping " + i + " of 256 pages");
            live.add(dma);
        }
        assertEquals(512, pool.usedSlots());
        assertTrue(DmaOps.isMappingError(pool.tblMapSingle(orig, 1, 0, 0, FROM_DEVICE, 0)));
        assertEquals(1, pool.fullFailures());
        assertEquals(512, pool.usedHiwater());
        for (final long dma : live)
        {
            pool.tblUnmapSingle(dma, 4096, FROM_DEVICE, 0);
        }
        SwiotlbModel.assertPristine(pool, allocator + " released");
    }
}
