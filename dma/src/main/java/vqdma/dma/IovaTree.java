package vqdma.dma;

import java.util.Arrays;

/**
 * The allocated IOVA ranges of an {@link IovaDomain}, in place of the kernel's red-black tree of {@code struct iova}
 * ({@code iovad->rbroot}): two sorted arrays of {@code pfn_lo}/{@code pfn_hi}, where {@code rb_prev()} and
 * {@code rb_next()} are index -1 and +1 and the anchor node ({@code IOVA_ANCHOR}, above the usable space) is the
 * virtual index {@code count}.
 * <p>
 * The search is {@code __alloc_and_insert_iova_range()} step for step, including the cached nodes
 * ({@code cached_node}/{@code cached32_node}) that let a top-down search start just below the last allocation,
 * and {@code max32_alloc_size}, which fails 32-bit requests fast once the 32-bit space is known to be full for that
 * size. The cached nodes are kept as the {@code pfn_lo} of the node (found again by binary search), because array
 * indices move on insert and delete.
 * <p>
 * Insert and delete shift the arrays ({@link System#arraycopy}): O(n) in the number of live ranges, a few hundred
 * nanoseconds for thousands of ranges, and no allocation. The arrays grow by doubling when the number of ranges
 * exceeds every earlier high-water mark; that is the only allocation (the kernel kmallocs a node per range).
 * <p>
 * Not thread-safe: the domain calls it under its tree lock ({@code iova_rbtree_lock}).
 */
final class IovaTree
{
    /** {@code IOVA_ANCHOR}: pfn_lo and pfn_hi of the anchor node, above every usable pfn. */
    static final long ANCHOR = Long.MAX_VALUE;
    /** Ranges the arrays hold before they first grow. */
    private static final int INITIAL_CAPACITY = 64;

    final long startPfn;
    final long dma32BitPfn;
    private long[] lo = new long[INITIAL_CAPACITY];
    private long[] hi = new long[INITIAL_CAPACITY];
    private int count;
    private long cachedLo = ANCHOR;
    private long cached32Lo = ANCHOR;
    private long max32AllocSize;

    IovaTree(final long startPfn, final long dma32BitPfn)
    {
        this.startPfn = startPfn;
        this.dma32BitPfn = dma32BitPfn;
        this.max32AllocSize = dma32BitPfn;
    }

    /** Back to the state of a new tree: no range, both cached nodes at the anchor, the arrays at their first size. */
    void reset()
    {
        if (lo.length == INITIAL_CAPACITY)
        {
            Arrays.fill(lo, 0);
            Arrays.fill(hi, 0);
        }
        else
        {
            lo = new long[INITIAL_CAPACITY];
            hi = new long[INITIAL_CAPACITY];
        }
        count = 0;
        cachedLo = ANCHOR;
        cached32Lo = ANCHOR;
        max32AllocSize = dma32BitPfn;
    }

    int count()
    {
        return count;
    }

    long lo(final int i)
    {
        return i == count ? ANCHOR : lo[i];
    }

    long hi(final int i)
    {
        return i == count ? ANCHOR : hi[i];
    }

    /** {@code fls_long()}: the 1-based index of the highest set bit, 0 for 0. */
    static int fls(final long x)
    {
        return 64 - Long.numberOfLeadingZeros(x);
    }

    /**
     * {@code __alloc_and_insert_iova_range()}: the highest free range of {@code size} pages that ends below
     * {@code limitPfn}, naturally aligned to the next power of two of {@code size} if {@code sizeAligned}.
     *
     * @param size        pages, {@code >= 1}.
     * @param limitPfn    exclusive upper bound (the kernel's {@code limit_pfn + 1}).
     * @param sizeAligned align the start to {@code roundup_pow_of_two(size)} pages.
     * @return the first pfn of the new range, or 0 if there is no room.
     */
    long allocRange(final long size, final long limitPfn, final boolean sizeAligned)
    {
        long alignMask = -1L;
        if (sizeAligned)
        {
            alignMask <<= fls(size - 1);
        }
        long highPfn = limitPfn;
        long lowPfn = startPfn;
        if (limitPfn <= dma32BitPfn && size >= max32AllocSize)
        {
            return 0; // iova32_full: an earlier search of the 32-bit space for this size (or less) failed
        }

        int curr = indexOfLo(limitPfn <= dma32BitPfn ? cached32Lo : cachedLo);
        // The first pass searches below the cached node; if that fails, a second pass searches from the top down to
        // just above it. (Departure: with the anchor cached, the first pass already covered everything, so there is
        // no second pass; the kernel's ~0UL + 1 wraps to 0 there.)
        final long lowPfnNew = curr == count ? ANCHOR : hi[curr] + 1;
        int prev;
        long newPfn;
        while (true)
        {
            do
            {
                highPfn = Math.min(highPfn, lo(curr));
                newPfn = (highPfn - size) & alignMask;
                prev = curr;
                curr--;
            }
            while (curr >= 0 && newPfn <= hi[curr] && newPfn >= lowPfn);

            if (highPfn < size || newPfn < lowPfn)
            {
                if (lowPfn == startPfn && lowPfnNew < limitPfn)
                {
                    highPfn = limitPfn;
                    lowPfn = lowPfnNew;
                    curr = count;
                    continue;
                }
                max32AllocSize = size;
                return 0;
            }
            break;
        }

        // The new node goes between node prev - 1 (below the gap) and node prev (above it).
        insertAt(prev, newPfn, newPfn + size - 1);
        // __cached_rbnode_insert_update()
        if (newPfn + size - 1 < dma32BitPfn)
        {
            cached32Lo = newPfn;
        }
        else
        {
            cachedLo = newPfn;
        }
        return newPfn;
    }

    /**
     * {@code private_find_iova()}.
     *
     * @param pfn a page frame number.
     * @return the index of the range containing {@code pfn}, or -1.
     */
    int find(final long pfn)
    {
        int low = 0;
        int high = count - 1;
        while (low <= high)
        {
            final int mid = (low + high) >>> 1;
            if (pfn < lo[mid])
            {
                high = mid - 1;
            }
            else if (pfn > hi[mid])
            {
                low = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }

    /**
     * {@code private_free_iova()}: removes range {@code i}, moving the cached nodes off it first.
     *
     * @param i index from {@link #find(long)}.
     */
    void freeAt(final int i)
    {
        // __cached_rbnode_delete_update(): a cached node at or below the freed range moves to rb_next(free).
        final long freeLo = lo[i];
        final long freeHi = hi[i];
        final long nextLo = lo(i + 1);
        if (freeLo == cached32Lo || (freeHi < dma32BitPfn && freeLo >= cached32Lo))
        {
            cached32Lo = nextLo;
        }
        if (freeLo < dma32BitPfn)
        {
            max32AllocSize = dma32BitPfn;
        }
        if (freeLo >= cachedLo)
        {
            cachedLo = nextLo;
        }
        System.arraycopy(lo, i + 1, lo, i, count - i - 1);
        System.arraycopy(hi, i + 1, hi, i, count - i - 1);
        count--;
    }

    private int indexOfLo(final long pfnLo)
    {
        if (pfnLo == ANCHOR)
        {
            return count;
        }
        final int i = Arrays.binarySearch(lo, 0, count, pfnLo);
        if (i < 0)
        {
            throw new IllegalStateException("cached IOVA node 0x" + Long.toHexString(pfnLo) + " is not in the tree");
        }
        return i;
    }

    private void insertAt(final int i, final long pfnLo, final long pfnHi)
    {
        if (count == lo.length)
        {
            lo = Arrays.copyOf(lo, count * 2);
            hi = Arrays.copyOf(hi, count * 2);
        }
        System.arraycopy(lo, i, lo, i + 1, count - i);
        System.arraycopy(hi, i, hi, i + 1, count - i);
        lo[i] = pfnLo;
        hi[i] = pfnHi;
        count++;
    }
}
