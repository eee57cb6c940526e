package vqdma.dma;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An independent reference model of the SWIOTLB allocator for the tests: one boolean per slot and nothing else, no
 * free-run counters. It predicts which slot each allocation gets by the kernel's search order (start area, then the
 * others in turn; in an area from its {@code index}, stepping 1 over misaligned slots and {@code stride} over aligned
 * ones that do not fit; {@code index} moves past each allocation) and decides "fits" from the bitmap: the run lies
 * in one 128-slot segment and every slot of it is free. The counters the pool keeps must always equal what this
 * bitmap implies, which {@link #assertMatches} checks slot by slot.
 * <p>
 * The kernel's order is that of {@link SwiotlbAllocator#KERNEL} and {@link SwiotlbAllocator#BITMAP}. For
 * {@link SwiotlbAllocator#LIFO} and {@link SwiotlbAllocator#HOT}, whose order is their free lists', {@link #follow}
 * checks the pool's choice instead: a legal run (free, aligned as the kernel's rules ask, inside one segment, in the
 * start area if one is free there), and a failure only when no area holds a legal run.
 */
final class SwiotlbModel
{
    static final int SEGSIZE = 128;
    static final int SLOT = 2048;
    static final int PAGE = 4096;

    final long start;
    final int nslabs;
    final int nareas;
    final int areaNslabs;
    final boolean[] used;
    final int[] index;
    final int[] areaUsed;

    SwiotlbModel(final Swiotlb pool)
    {
        this.start = pool.start();
        this.nslabs = pool.nslabs();
        this.nareas = pool.nareas();
        this.areaNslabs = pool.areaNslabs();
        this.used = new boolean[nslabs];
        this.index = new int[nareas];
        this.areaUsed = new int[nareas];
    }

    /** The prediction of one mapping call. */
    static final class Prediction
    {
        /** True if the request can never fit one segment. */
        boolean oversize;
        /** First allocated slot (padding included), or -1 if the pool is full for it. */
        int first = -1;
        int nslots;
        int padSlots;
        /** The bus address the call must return. */
        long tlbAddr = DmaOps.DMA_MAPPING_ERROR;
    }

    /** Offset into the allocation that keeps the device's low address bits (written out, not the pool's helper). */
    static int offset(final long orig, final int minAlignMask, final int allocAlignMask)
    {
        return (int)(orig & minAlignMask & (allocAlignMask | (SLOT - 1)));
    }

    /** Predicts and applies (marks the slots) a mapping of {@code len} bytes of {@code orig}. */
    Prediction map(final long orig, final long len, final int allocAlignMask, final int minAlignMask,
        final int startArea)
    {
        final Prediction p = new Prediction();
        final int offset = offset(orig, minAlignMask, allocAlignMask);
        final long align = allocAlignMask + 1L;
        final long size = (len + offset + align - 1) / align * align;
        // Only a padded size above one segment fails at once; anything else is searched, as the kernel does.
        if (size > (long)SLOT * SEGSIZE)
        {
            p.oversize = true;
            return p;
        }
        p.nslots = (int)((size + SLOT - 1) / SLOT);
        p.padSlots = offset / SLOT;
        int area = startArea;
        do
        {
            final int slot = searchArea(area, orig, (int)size, allocAlignMask, minAlignMask, p.nslots);
            if (slot >= 0)
            {
                p.first = slot;
                p.tlbAddr = start + (long)(slot + p.padSlots) * SLOT + (offset % SLOT);
                return p;
            }
            area = (area + 1) % nareas;
        }
        while (area != startArea);
        return p;
    }

    /** @return {alignMask, matchMask} as the kernel computes them for an allocation of {@code size} bytes. */
    private static int[] masks(final int size, final int allocAlignMask, final int minAlignMask)
    {
        int alignMask = allocAlignMask;
        int matchMask = minAlignMask;
        if (alignMask == 0 && matchMask == 0 && size >= PAGE)
        {
            alignMask = PAGE - 1;
        }
        alignMask |= SLOT - 1;
        matchMask &= ~alignMask;
        return new int[] {alignMask, matchMask};
    }

    private boolean legal(final int slot, final int nslots, final long orig, final int alignMask, final int matchMask)
    {
        final long addr = start + (long)slot * SLOT;
        return (addr & alignMask) == 0 && (addr & matchMask) == (orig & matchMask) && fits(slot, nslots);
    }

    /**
     * For {@link SwiotlbAllocator#LIFO} and {@link SwiotlbAllocator#HOT}: checks the pool's answer to a mapping call
     * and applies it. A bus address must be that of a legal run in the first area (from {@code startArea} on) that has
     * one; a failure must be an oversize request or one no area has a legal run for.
     *
     * @return the prediction filled in from the pool's choice.
     */
    Prediction follow(final long orig, final long len, final int allocAlignMask, final int minAlignMask,
        final int startArea, final long dma, final String where)
    {
        final Prediction p = new Prediction();
        final int offset = offset(orig, minAlignMask, allocAlignMask);
        final long align = allocAlignMask + 1L;
        final long size = (len + offset + align - 1) / align * align;
        if (size > (long)SLOT * SEGSIZE)
        {
            p.oversize = true;
            assertEquals(DmaOps.DMA_MAPPING_ERROR, dma, where + ": a padded size above one segment never maps");
            return p;
        }
        p.nslots = (int)((size + SLOT - 1) / SLOT);
        p.padSlots = offset / SLOT;
        final int[] m = masks((int)size, allocAlignMask, minAlignMask);
        int area = startArea;
        do
        {
            int legalFirst = -1;
            if (p.nslots <= areaNslabs - areaUsed[area])
            {
                for (int s = area * areaNslabs; s < (area + 1) * areaNslabs && legalFirst < 0; s++)
                {
                    legalFirst = legal(s, p.nslots, orig, m[0], m[1]) ? s : -1;
                }
            }
            if (legalFirst >= 0)
            {
                assertNotEquals(DmaOps.DMA_MAPPING_ERROR, dma, where + ": failed, but area " + area + " has a free " +
                    "legal run at slot " + legalFirst);
                final int first = (int)((dma - start - offset % SLOT) / SLOT) - p.padSlots;
                assertTrue(first >= area * areaNslabs && first < (area + 1) * areaNslabs,
                    where + ": slot " + first + " not in area " + area + ", the first from the start area with room");
                assertTrue(legal(first, p.nslots, orig, m[0], m[1]), where + ": slot " + first + " for " + p.nslots +
                    " slots is not a free, aligned run inside one segment");
                for (int i = first; i < first + p.nslots; i++)
                {
                    used[i] = true;
                }
                areaUsed[area] += p.nslots;
                p.first = first;
                p.tlbAddr = dma;
                return p;
            }
            area = (area + 1) % nareas;
        }
        while (area != startArea);
        assertEquals(DmaOps.DMA_MAPPING_ERROR, dma, where + ": mapped, but no area has a legal run");
        return p;
    }

    private int searchArea(final int area, final long orig, final int size, final int allocAlignMask,
        final int minAlignMask, final int nslots)
    {
        if (nslots > areaNslabs - areaUsed[area])
        {
            return -1;
        }
        final int[] m = masks(size, allocAlignMask, minAlignMask);
        final int alignMask = m[0];
        final int matchMask = m[1];
        final int stride = Math.max(alignMask, matchMask) / SLOT + 1;
        int idx = index[area];
        for (int checked = 0; checked < areaNslabs; )
        {
            final int slot = area * areaNslabs + idx;
            final long addr = start + (long)slot * SLOT;
            if ((addr & alignMask) != 0 || (addr & matchMask) != (orig & matchMask))
            {
                idx = idx + 1 >= areaNslabs ? 0 : idx + 1;
                checked++;
                continue;
            }
            if (fits(slot, nslots))
            {
                for (int i = slot; i < slot + nslots; i++)
                {
                    used[i] = true;
                }
                index[area] = idx + nslots >= areaNslabs ? 0 : idx + nslots;
                areaUsed[area] += nslots;
                return slot;
            }
            idx = idx + stride >= areaNslabs ? 0 : idx + stride;
            checked += stride;
        }
        return -1;
    }

    private boolean fits(final int slot, final int nslots)
    {
        if (slot % SEGSIZE + nslots > SEGSIZE)
        {
            return false;
        }
        for (int i = slot; i < slot + nslots; i++)
        {
            if (used[i])
            {
                return false;
            }
        }
        return true;
    }

    /** Frees a mapping's slots; they must all be in use (else the test, not the pool, is wrong). */
    void release(final int first, final int nslots)
    {
        for (int i = first; i < first + nslots; i++)
        {
            assertTrue(used[i], "model: slot " + i + " released twice");
            used[i] = false;
        }
        areaUsed[first / areaNslabs] -= nslots;
    }

    /** @return what the free-run counter of {@code slot} must be: free slots from it to a used slot or the segment end. */
    int expectedList(final int slot)
    {
        int n = 0;
        for (int i = slot; i < nslabs && !used[i] && (i == slot || i % SEGSIZE != 0); i++)
        {
            n++;
        }
        return n;
    }

    /** @return {@link #expectedList(int)} for every slot, in one backward pass per segment. */
    int[] expectedLists()
    {
        final int[] list = new int[nslabs];
        for (int s = nslabs - 1; s >= 0; s--)
        {
            list[s] = used[s] ? 0 : 1 + (s % SEGSIZE == SEGSIZE - 1 ? 0 : list[s + 1]);
        }
        return list;
    }

    int totalUsed()
    {
        return Arrays.stream(areaUsed).sum();
    }

    /**
     * Compares the pool with the model: every counter, every slot's free/used state, every area's used and index (but
     * for the allocators that do not use it, {@link SwiotlbAllocator#usesIndex()}).
     */
    void assertMatches(final Swiotlb pool, final String where)
    {
        final int[] expected = expectedLists();
        for (int s = 0; s < nslabs; s++)
        {
            assertEquals(expected[s], pool.lpList(s), where + ": free-run counter of slot " + s);
            assertEquals(!used[s], SwiotlbSlotDescriptor.isFree(pool.laState(s)), where + ": state of slot " + s);
        }
        for (int a = 0; a < nareas; a++)
        {
            assertEquals(areaUsed[a], pool.areaUsed(a), where + ": used of area " + a);
            if (pool.allocator().usesIndex())
            {
                assertEquals(index[a], pool.areaIndex(a), where + ": index of area " + a);
            }
        }
        assertEquals(totalUsed(), pool.usedSlots(), where + ": total used slots");
        assertEquals(totalUsed(), pool.usedSlotsRacy(), where + ": sum of the areas' used");
        assertCountersMatchStates(pool, where);
    }

    /**
     * Model-free invariant: every free slot's counter is the length of the free run from it to the segment end (from
     * the pool's own slot states), every allocated slot's counter is 0.
     */
    static void assertCountersMatchStates(final Swiotlb pool, final String where)
    {
        for (int seg = 0; seg < pool.nslabs(); seg += SEGSIZE)
        {
            int run = 0;
            for (int s = seg + SEGSIZE - 1; s >= seg; s--)
            {
                run = SwiotlbSlotDescriptor.isFree(pool.laState(s)) ? run + 1 : 0;
                assertEquals(run, pool.lpList(s), where + ": counter of slot " + s + " vs. the free run behind it");
            }
        }
    }

    /** Asserts the pool is back to its initial state: nothing used, every counter {@code 128 - slot % 128}. */
    static void assertPristine(final Swiotlb pool, final String where)
    {
        for (int s = 0; s < pool.nslabs(); s++)
        {
            assertEquals(SEGSIZE - s % SEGSIZE, pool.lpList(s), where + ": counter of slot " + s);
            assertTrue(SwiotlbSlotDescriptor.isFree(pool.laState(s)), where + ": slot " + s + " free");
            assertEquals(Swiotlb.INVALID_PHYS_ADDR, pool.lpOrigAddr(s), where + ": orig_addr of slot " + s);
        }
        assertEquals(0, pool.usedSlots(), where + ": used slots");
        assertEquals(0, pool.usedSlotsRacy(), where + ": areas' used");
    }
}
