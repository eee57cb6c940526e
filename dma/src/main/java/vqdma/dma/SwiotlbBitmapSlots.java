package vqdma.dma;

import static vqdma.dma.Swiotlb.IO_TLB_SEGSIZE;

/**
 * {@link SwiotlbAllocator#BITMAP}: RFC patch 1 ("swiotlb: use bitmap to track free slots"). One bit per slot, 1 when
 * free, in a {@code long[]}; the RFC's {@code find_next_zero_bit(bitmap, slot + nslots, slot) == slot + nslots} plus
 * the segment test it kept ({@code iommu_is_span_boundary()} with at most {@code IO_TLB_SEGSIZE} slots) decide whether
 * a run fits. A segment is 128 slots, two whole words, so a run is tested, taken and given back with at most two word
 * operations, where the kernel's counters are renumbered back to the segment start (about 64 of them per call).
 * <p>
 * Same search order as the kernel (the inherited {@link #search}), and "fits" means exactly what
 * {@code list[slot] >= nslots} means (the run is free and stays in its segment), so every call takes the slot the
 * kernel's allocator takes.
 */
class SwiotlbBitmapSlots extends SwiotlbSlots
{
    /** Bit {@code slot & 63} of word {@code slot >>> 6}: 1 = free. */
    final long[] bits;

    SwiotlbBitmapSlots(final int nslabs, final int areaNslabs)
    {
        super(nslabs, areaNslabs);
        this.bits = new long[nslabs >>> 6]; // nslabs is a whole number of 128-slot segments
        java.util.Arrays.fill(bits, -1L);
    }

    @Override
    final boolean fits(final int slot, final int nslots)
    {
        final int inSegment = ioTlbOffset(slot);
        if (inSegment + nslots > IO_TLB_SEGSIZE)
        {
            return false; // iommu_is_span_boundary(slot, nslots, ..., IO_TLB_SEGSIZE)
        }
        final long[] bits = this.bits;
        final int w = slot >>> 6;
        final int from = slot & 63;
        final int to = from + nslots; // <= 128, and <= 64 when the run starts in the segment's second word
        if (to <= 64)
        {
            final long m = runMask(from, to);
            return (bits[w] & m) == m;
        }
        final long m0 = -1L << from;
        final long m1 = -1L >>> (128 - to);
        return (bits[w] & m0) == m0 && (bits[w + 1] & m1) == m1;
    }

    @Override
    void take(final int slot, final int nslots)
    {
        final long[] bits = this.bits;
        final int w = slot >>> 6;
        final int from = slot & 63;
        final int to = from + nslots;
        if (to <= 64)
        {
            bits[w] &= ~runMask(from, to);
        }
        else
        {
            bits[w] &= ~(-1L << from);
            bits[w + 1] &= ~(-1L >>> (128 - to));
        }
    }

    @Override
    void give(final int index, final int nslots)
    {
        final long[] bits = this.bits;
        final int w = index >>> 6;
        final int from = index & 63;
        final int to = from + nslots;
        if (to <= 64)
        {
            bits[w] |= runMask(from, to);
        }
        else
        {
            bits[w] |= -1L << from;
            bits[w + 1] |= -1L >>> (128 - to);
        }
    }

    @Override
    final int freeRun(final int slot)
    {
        int n = 0;
        for (int s = slot; isFree(s); s++)
        {
            n++;
            if (ioTlbOffset(s) == IO_TLB_SEGSIZE - 1)
            {
                break;
            }
        }
        return n;
    }

    private boolean isFree(final int slot)
    {
        return (bits[slot >>> 6] & (1L << slot)) != 0;
    }

    /** @return bits {@code [from, to)} of a word set, {@code 0 <= from < to <= 64}. */
    private static long runMask(final int from, final int to)
    {
        return (-1L >>> (64 - (to - from))) << from;
    }
}
