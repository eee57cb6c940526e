package vqdma.dma;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.dma.IovaDomain.*;

class IovaDomainTest
{
    static final long TOP32 = DMA_32BIT_LIMIT_PFN; // 0xFFFFF
    static final long TOP48 = IommuPageTable.MAX_IOVA_PFN;

    @Test
    void treeAllocatesTopDownWithNaturalAlignment()
    {
        final IovaDomain d = new IovaDomain(1, false, true);
        assertEquals(0xFFFFFL, d.allocIova(1, TOP32, true));
        assertEquals(0xFFFF8L, d.allocIova(4, TOP32, true), "4 pages aligned to 4 below 0xFFFFF");
        assertEquals(0xFFFF4L, d.allocIova(3, TOP32, true), "3 pages aligned to 4 (roundup_pow_of_two)");
        assertEquals(0xFFFF1L, d.allocIova(3, TOP32, false), "unaligned: right below the last one");
        assertEquals(0xFFE00L, d.allocIova(256, TOP32, true), "aligned to 256 below 0xFFFF1");
        assertEquals(0x1000L, d.allocIova(1, 0x1000, true), "below a lower limit");
        assertEquals(6, d.treeRanges());
        assertArrayEquals(new long[]{0x1000, 0x1000, 0xFFE00, 0xFFEFF, 0xFFFF1, 0xFFFF3, 0xFFFF4, 0xFFFF6,
            0xFFFF8, 0xFFFFB, 0xFFFFF, 0xFFFFF}, d.treeSnapshot());
    }

    @Test
    void freedGapsAreReusedTopDown()
    {
        final IovaDomain d = new IovaDomain(1, false, true);
        final long a = d.allocIova(1, TOP32, true);
        final long b = d.allocIova(1, TOP32, true);
        final long c = d.allocIova(1, TOP32, true);
        assertEquals(a - 1, b);
        assertEquals(b - 1, c);
        d.freeIova(b, 1);
        assertEquals(b, d.allocIova(1, TOP32, true), "the cached node moved above the hole: it is found first");
        assertEquals(c - 1, d.allocIova(1, TOP32, true));
    }

    @Test
    void fastPathRoundsSmallSizesUpToAPowerOfTwo()
    {
        final IovaDomain d = new IovaDomain(1, true, true);
        final long pfn = d.allocIovaFast(3, TOP32, true);
        assertEquals(0, pfn & 3, "aligned to 4");
        final long[] tree = d.treeSnapshot();
        assertEquals(4, tree[1] - tree[0] + 1, "3 pages became a 4-page range");
        final long big = d.allocIovaFast(33, TOP32, true);
        assertEquals(0, big & 63, "33 pages: not rounded, but aligned to 64");
        assertEquals(33, d.treeSnapshot()[1] - d.treeSnapshot()[0] + 1);
        d.freeIovaFast(pfn, 3);
        assertEquals(1, d.cachedIovas(), "order 2 is cached");
        d.freeIovaFast(big, 33);
        assertEquals(1, d.cachedIovas(), "33 pages is beyond the 32-page caches: back to the tree");
        assertEquals(1, d.treeRanges());
        assertEquals(pfn, d.allocIovaFast(4, TOP32, true), "a 4-page request hits the cached 3-page range");
        assertEquals(1, d.rcacheHits());
    }

    @Test
    void pciDevicesGet32BitAddressesFirstThenSwitchForGood()
    {
        final IovaDomain pci = new IovaDomain(1, true, true);
        assertTrue(pci.allocDmaIova(1, TOP48) <= TOP32);
        final IovaDomain platform = new IovaDomain(1, true, false);
        assertEquals(TOP48, platform.allocDmaIova(1, TOP48), "no SAC trick: top of the 48-bit space");

        // Fill the 32-bit space (pfns 1..0xFFFFE: one is taken already).
        assertNotEquals(0, pci.allocIova(TOP32 - 1, TOP32, false));
        assertTrue(pci.pci32BitWorkaround());
        final long high = pci.allocDmaIova(1, TOP48);
        assertTrue(high > TOP32, "fell back to the full limit");
        assertFalse(pci.pci32BitWorkaround(), "and stays there ('Using 48-bit DMA addresses')");
        assertEquals(0, pci.allocDmaIova(1, TOP32), "a 32-bit device has nowhere to go");
    }

    @Test
    void resetForgetsEveryAllocationCacheAndCounter()
    {
        final IovaDomain d = new IovaDomain(1, true, true);
        final IovaDomain fresh = new IovaDomain(1, true, true);
        final int n = 2 * IOVA_MAG_SIZE + 5;
        final long[] pfns = new long[n];
        for (int i = 0; i < n; i++)
        {
            pfns[i] = d.allocIovaFast(1, TOP32, true);
        }
        assertNotEquals(0, d.allocIova(TOP32 - n, TOP32, false), "fills the 32-bit space");
        assertTrue(d.allocDmaIova(1, TOP48) > TOP32);
        assertFalse(d.pci32BitWorkaround());
        for (int i = 0; i < n - 3; i++)
        {
            d.freeIovaFast(pfns[i], 1);
        }
        assertArrayEquals(new int[]{2, IOVA_MAG_SIZE, 1}, d.rcacheState(0, 0));

        d.reset();
        assertArrayEquals(new int[]{0, 0, 0}, d.rcacheState(0, 0));
        assertEquals(0, d.liveIovas());
        assertEquals(0, d.cachedIovas());
        assertEquals(0, d.treeRanges());
        assertEquals(0, d.treeAllocations() + d.treeFailures() + d.rcacheFlushes() + d.rcacheHits());
        assertTrue(d.pci32BitWorkaround(), "32-bit addresses first again");
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> d.freeIova(pfns[n - 1], 1));
        assertTrue(ex.getMessage().contains("not allocated"), ex.getMessage());
        for (int i = 0; i < 300; i++)
        {
            final long pages = 1 + i % 40;
            assertEquals(fresh.allocDmaIova(pages, TOP48), d.allocDmaIova(pages, TOP48), "allocation " + i);
            if (i % 3 == 0)
            {
                final long a = fresh.allocIovaFast(pages, TOP32, true);
                assertEquals(a, d.allocIovaFast(pages, TOP32, true));
                fresh.freeIovaFast(a, pages);
                d.freeIovaFast(a, pages);
            }
        }
        assertArrayEquals(fresh.treeSnapshot(), d.treeSnapshot());
        assertArrayEquals(fresh.rcacheState(0, 0), d.rcacheState(0, 0));
    }

    @Test
    void magazinesSwapThenUseTheDepot()
    {
        final IovaDomain d = new IovaDomain(1, true, true);
        final int n = 2 * IOVA_MAG_SIZE + 5;
        final long[] pfns = new long[n];
        for (int i = 0; i < n; i++)
        {
            pfns[i] = d.allocIovaFast(1, TOP32, true);
        }
        assertEquals(n, d.treeAllocations());
        for (int i = 0; i < IOVA_MAG_SIZE; i++)
        {
            d.freeIovaFast(pfns[i], 1);
        }
        assertArrayEquals(new int[]{IOVA_MAG_SIZE, 0, 0}, d.rcacheState(0, 0), "loaded full");
        d.freeIovaFast(pfns[IOVA_MAG_SIZE], 1);
        assertArrayEquals(new int[]{1, IOVA_MAG_SIZE, 0}, d.rcacheState(0, 0), "swapped with prev");
        for (int i = IOVA_MAG_SIZE + 1; i < 2 * IOVA_MAG_SIZE; i++)
        {
            d.freeIovaFast(pfns[i], 1);
        }
        assertArrayEquals(new int[]{IOVA_MAG_SIZE, IOVA_MAG_SIZE, 0}, d.rcacheState(0, 0));
        for (int i = 2 * IOVA_MAG_SIZE; i < n; i++)
        {
            d.freeIovaFast(pfns[i], 1);
        }
        assertArrayEquals(new int[]{5, IOVA_MAG_SIZE, 1}, d.rcacheState(0, 0), "full loaded pushed to the depot");
        assertEquals(n, d.cachedIovas());
        assertEquals(0, d.liveIovas());

        for (int i = 0; i < 5; i++)
        {
            d.allocIovaFast(1, TOP32, true);
        }
        assertArrayEquals(new int[]{0, IOVA_MAG_SIZE, 1}, d.rcacheState(0, 0));
        d.allocIovaFast(1, TOP32, true);
        assertArrayEquals(new int[]{IOVA_MAG_SIZE - 1, 0, 1}, d.rcacheState(0, 0), "swapped in prev");
        for (int i = 1; i < IOVA_MAG_SIZE; i++)
        {
            d.allocIovaFast(1, TOP32, true);
        }
        d.allocIovaFast(1, TOP32, true);
        assertArrayEquals(new int[]{IOVA_MAG_SIZE - 1, 0, 0}, d.rcacheState(0, 0), "popped from the depot");
        assertEquals(n, d.treeAllocations(), "every allocation after the frees was a cache hit");
        assertEquals(IOVA_MAG_SIZE + 6, d.rcacheHits());
    }

    @Test
    void aFullDepotSendsTheFullMagazineBackToTheTree()
    {
        final IovaDomain d = new IovaDomain(1, true, true);
        final int n = IOVA_MAG_SIZE * (2 + MAX_GLOBAL_MAGS) + 128;
        final long[] pfns = new long[n];
        for (int i = 0; i < n; i++)
        {
            pfns[i] = d.allocIovaFast(1, TOP32, true);
        }
        for (final long pfn : pfns)
        {
            d.freeIovaFast(pfn, 1);
        }
        // 254 frees fill loaded and prev; every 127 more push one magazine, 32 of them; the next overflow (and the
        // one 127 frees later) empties the full loaded magazine into the tree instead.
        assertArrayEquals(new int[]{1, IOVA_MAG_SIZE, MAX_GLOBAL_MAGS}, d.rcacheState(0, 0));
        final long cached = 1 + IOVA_MAG_SIZE + (long)MAX_GLOBAL_MAGS * IOVA_MAG_SIZE;
        assertEquals(cached, d.cachedIovas());
        assertEquals(cached, d.treeRanges(), "only cached ranges are left in the tree");
        d.flushRcaches();
        assertEquals(0, d.treeRanges());
        assertEquals(0, d.cachedIovas());
    }

    @Test
    void exhaustionFlushesTheCachesAndRetriesOnce()
    {
        final IovaDomain d = new IovaDomain(2, true, true);
        final long limit = 64; // a tiny space: pfns 1..64
        final List<Long> got = new ArrayList<>();
        long pfn;
        while ((pfn = d.allocIovaFast(1, limit, false)) != 0)
        {
            got.add(pfn);
        }
        assertEquals(64, got.size());
        for (final long p : got)
        {
            d.freeIovaFast(p, 1);
        }
        assertEquals(64, d.cachedIovas());
        assertEquals(0, d.allocIovaFast(2, limit, false), "without flushing: every page is held by a cache");
        assertEquals(0, d.rcacheFlushes());
        final long two = d.allocIovaFast(2, limit, true);
        assertEquals(62, two, "after the flush: the highest aligned pair below 65");
        assertEquals(1, d.rcacheFlushes());
        assertEquals(0, d.cachedIovas());
        assertEquals(1, d.treeRanges());
    }

    @Test
    void misuseIsReportedWithTheValuesAndChangesNothing()
    {
        final IovaDomain d = new IovaDomain(1, true, true);
        final long fast = d.allocIovaFast(3, TOP32, true);
        final long slow = d.allocIova(3, TOP32, true);

        IllegalStateException ex = assertThrows(IllegalStateException.class, () -> d.freeIovaFast(0x1234, 1));
        assertTrue(ex.getMessage().contains("0x1234") && ex.getMessage().contains("not allocated"), ex.getMessage());

        ex = assertThrows(IllegalStateException.class, () -> d.freeIovaFast(fast, 4));
        assertTrue(ex.getMessage().contains("with 4 pages") && ex.getMessage().contains("allocated with 3"),
            ex.getMessage());

        ex = assertThrows(IllegalStateException.class, () -> d.freeIovaFast(slow, 3));
        assertTrue(ex.getMessage().contains("alloc_iova_fast") &&
            ex.getMessage().contains(Long.toHexString(slow)), ex.getMessage());

        assertEquals(2, d.liveIovas(), "nothing changed");
        d.freeIovaFast(fast, 3);
        ex = assertThrows(IllegalStateException.class, () -> d.freeIovaFast(fast, 3));
        assertTrue(ex.getMessage().contains("already freed") && ex.getMessage().contains(Long.toHexString(fast)),
            ex.getMessage());
        d.freeIova(slow, 3);
        ex = assertThrows(IllegalStateException.class, () -> d.freeIova(slow, 3));
        assertTrue(ex.getMessage().contains("not allocated"), ex.getMessage());

        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> d.allocIovaFast(0, TOP32, true));
        assertTrue(bad.getMessage().contains("0 pages"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.allocIova(1, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new IovaDomain(3, true, true));
    }

    @Test
    void batchFreeLeavesTheCachesAsOneFreeAtATimeDoes()
    {
        for (final boolean rcache : new boolean[]{true, false})
        {
            final SplittableRandom random = new SplittableRandom(7);
            final IovaDomain one = new IovaDomain(1, rcache, true);
            final IovaDomain batch = new IovaDomain(1, rcache, true);
            final int n = 600;
            final int mask = 1023;
            final int from = 1024 - 100; // the run wraps around the ring
            final long[] pfns = new long[mask + 1];
            final long[] pages = new long[mask + 1];
            for (int k = 0; k < n; k++)
            {
                final int i = (from + k) & mask;
                // 300 single pages first: they overflow loaded and prev into the depot; then mixed sizes, some
                // beyond the caches.
                pages[i] = k < 300 ? 1 : random.nextInt(5) == 0 ? 33 + random.nextInt(40) : 1 + random.nextInt(32);
                pfns[i] = one.allocDmaIovaUnchecked(pages[i], TOP48);
                assertEquals(pfns[i], batch.allocDmaIovaUnchecked(pages[i], TOP48), "rcache " + rcache + " k " + k);
            }
            for (int k = 0; k < n; k++)
            {
                final int i = (from + k) & mask;
                one.freeIovaFastUnchecked(pfns[i], pages[i]);
            }
            batch.freeIovaFastUnchecked(pfns, pages, from, n, mask);
            assertEquals(0, one.liveIovas());
            assertEquals(0, batch.liveIovas(), "rcache " + rcache);
            assertEquals(one.cachedIovas(), batch.cachedIovas(), "rcache " + rcache);
            assertArrayEquals(one.treeSnapshot(), batch.treeSnapshot(), "rcache " + rcache);
            if (rcache)
            {
                assertTrue(batch.cachedIovas() > 2 * IOVA_MAG_SIZE, "the depot was used");
                for (int bin = 0; bin < IOVA_RANGE_CACHE_MAX_SIZE; bin++)
                {
                    assertArrayEquals(one.rcacheState(bin, 0), batch.rcacheState(bin, 0), "bin " + bin);
                }
            }
        }
    }

    /** Random allocations and frees: live ranges never overlap, fast ranges are aligned, nothing leaks. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void randomSequencesNeverOverlapAndNeverLeak(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final boolean rcache = seed % 3 != 0;
        final IovaDomain d = new IovaDomain(1, rcache, true);
        final long limit = 4096 + random.nextInt(4096); // small enough to exhaust now and then
        final TreeMap<Long, long[]> live = new TreeMap<>(); // pfn -> {pages, fast, span}
        for (int step = 0; step < 3000; step++)
        {
            final String where = "seed " + seed + " step " + step;
            if (live.isEmpty() || random.nextInt(100) < 55)
            {
                final long pages = random.nextInt(10) == 0 ? 33 + random.nextInt(100) : 1 + random.nextInt(32);
                final boolean fast = random.nextInt(4) != 0;
                final long pfn = fast ? d.allocIovaFast(pages, limit, true) : d.allocIova(pages, limit, true);
                if (pfn == 0)
                {
                    continue; // full: a legal outcome
                }
                final long span = fast && pages < 32 ? roundUpPowerOfTwo(pages) : pages;
                assertTrue(pfn >= START_PFN && pfn + span - 1 <= limit, where + ": inside the limit");
                assertEquals(0, pfn % roundUpPowerOfTwo(pages), where + ": size-aligned");
                final Map.Entry<Long, long[]> below = live.floorEntry(pfn + span - 1);
                assertTrue(below == null || below.getKey() + below.getValue()[2] - 1 < pfn,
                    where + ": pfn 0x" + Long.toHexString(pfn) + " overlaps a live range");
                live.put(pfn, new long[]{pages, fast ? 1 : 0, span});
            }
            else
            {
                final Long key = pick(live, random);
                final long[] v = live.remove(key);
                if (v[1] == 1 && random.nextBoolean())
                {
                    d.freeIovaFast(key, v[0]);
                }
                else
                {
                    d.freeIova(key, v[0]);
                }
            }
            assertEquals(live.size(), d.liveIovas(), where);
        }
        for (final Map.Entry<Long, long[]> e : live.entrySet())
        {
            d.freeIova(e.getKey(), e.getValue()[0]);
        }
        d.flushRcaches();
        assertEquals(0, d.liveIovas(), "seed " + seed);
        assertEquals(0, d.treeRanges(), "seed " + seed + ": leaked ranges");
    }

    static Long pick(final TreeMap<Long, long[]> live, final SplittableRandom random)
    {
        int i = random.nextInt(live.size());
        for (final Long k : live.keySet())
        {
            if (i-- == 0)
            {
                return k;
            }
        }
        throw new AssertionError();
    }
}
