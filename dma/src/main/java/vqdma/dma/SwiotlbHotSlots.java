package vqdma.dma;

import static vqdma.dma.Swiotlb.IO_TLB_SEGSIZE;

/**
 * {@link SwiotlbAllocator#LIFO} and {@link SwiotlbAllocator#HOT}: RFC patch 2 ("swiotlb: allocate memory in a
 * cache-friendly way") on top of the bitmap, as posted ({@code LIFO}) and with vqdma's placement rule ({@code HOT}).
 * <p>
 * Each area keeps its free slots in a doubly linked LIFO list (the RFC's {@code io_tlb_area.free_slots} of
 * {@code io_tlb_slot.node}s): a release pushes the run's slots at the head, last slot first, so that the run's first
 * slot ends at the head; a search walks the list from the head and takes the first slot that is aligned as the
 * kernel's rules ask and starts a free run of the size wanted inside its segment (the bitmap's test). So a mapping
 * reuses the slots freed last, whose memory the previous user of the bounce buffer has just touched and which are
 * likely still in the cache, where the kernel's rotating {@code index} hands out the slot used longest ago. As the RFC
 * says of itself, the walk cannot stride over misaligned slots (the list is in release order, not address order): a
 * request with an alignment visits the misaligned free slots on its way, and a request that fits nowhere walks every
 * free slot of every area before it fails.
 * <p>
 * The posted rule fragments the pool: a one-slot mapping (a virtio-blk header, a status byte) takes the first slot of
 * the run freed last, often a whole free segment that a 256 KiB mapping then cannot have. On the soak's request mix it
 * fails about twice as often as the kernel's allocator (docs/fuzzing-and-soak.md). {@code HOT} adds two rules, both
 * cheap where the posted one is cheap:
 * <ol>
 *   <li>First the <em>hot segment</em>, the segment the area allocated from last: its lowest aligned free run of the
 *   size wanted, found in its two bitmap words (a run of {@code n} ones is found with {@code log2 n} shift-and-ands).
 *   A stream of mappings keeps reusing the slots it freed there, as the posted rule does, and small mappings pack into
 *   one segment as the kernel's address-ordered search packs them.</li>
 *   <li>Else the LIFO walk, but a mapping shorter than a segment passes over slots of wholly free segments (two
 *   all-ones words) while a partly used segment further down the list can take it: it remembers the first such slot
 *   and takes it if, within {@link #SPARE_WALK} more list entries, no slot of a partly used segment fits. Whole free
 *   segments are kept for the mappings that need one. Before passing over the first such slot it scans the area's
 *   bitmap for a partly used segment other than the hot one; if there is none, it takes that slot, the first fit, as
 *   the posted rule does: a stream of requests that has filled its segment while the older ones emptied theirs
 *   (virtio-blk completing in order) opens the next segment without a vain walk.</li>
 * </ol>
 * The lists are two {@code int[]} of links, one node per slot plus one head sentinel per area (index
 * {@code nslabs + area}).
 */
final class SwiotlbHotSlots extends SwiotlbBitmapSlots
{
    /**
     * List entries a short mapping walks past its first candidate in a wholly free segment before it takes that one:
     * eight segments' worth of slots, a bounded cost (a microsecond or two) paid only when the hot segment is full.
     */
    static final int SPARE_WALK = 8 * IO_TLB_SEGSIZE;

    private final boolean placement;
    private final int[] next;
    private final int[] prev;
    /** Per area: first slot of its hot segment, -1 before the area's first allocation. */
    private final int[] hotSegment;

    /**
     * @param placement {@code true} for {@link SwiotlbAllocator#HOT} (the hot segment and whole segments spared),
     *                  {@code false} for the RFC's rule ({@link SwiotlbAllocator#LIFO}).
     */
    SwiotlbHotSlots(final int nslabs, final int areaNslabs, final boolean placement)
    {
        super(nslabs, areaNslabs);
        final int nareas = nslabs / areaNslabs;
        this.placement = placement;
        this.next = new int[nslabs + nareas];
        this.prev = new int[nslabs + nareas];
        this.hotSegment = new int[nareas];
        java.util.Arrays.fill(hotSegment, -1);
        for (int a = 0; a < nareas; a++)
        {
            final int head = nslabs + a;
            next[head] = head;
            prev[head] = head;
            for (int slot = a * areaNslabs; slot < (a + 1) * areaNslabs; slot++)
            {
                // list_add_tail(): a fresh pool is searched in address order.
                final int last = prev[head];
                next[last] = slot;
                prev[slot] = last;
                next[slot] = head;
                prev[head] = slot;
            }
        }
    }

    /** Walks the area's free list from its head; {@code stride} is of no use in release order. */
    @Override
    int search(final SwiotlbArea area, final int areaIndex, final long start, final long origAddr, final int nslots,
        final int allocAlignMask, final int iotlbAlignMask, final int stride)
    {
        final long origBits = origAddr & iotlbAlignMask;
        if (placement)
        {
            final int hot = hotSegment[areaIndex];
            if (hot >= 0)
            {
                final int slot = searchSegment(hot, start, origBits, nslots, allocAlignMask, iotlbAlignMask);
                if (slot >= 0)
                {
                    take(slot, nslots);
                    return slot;
                }
            }
        }
        final int[] next = this.next;
        final int head = nslabs + areaIndex;
        final boolean spareWholeSegments = placement && nslots < IO_TLB_SEGSIZE;
        int spare = -1;
        int budget = SPARE_WALK;
        for (int slot = next[head]; slot != head; slot = next[slot])
        {
            if (spare >= 0 && --budget < 0)
            {
                break;
            }
            if (!aligned(start, slot, allocAlignMask, iotlbAlignMask, origBits) || !fits(slot, nslots))
            {
                continue;
            }
            if (spareWholeSegments && segmentFree(slot))
            {
                if (spare >= 0)
                {
                    continue;
                }
                // Worth passing it over only if a partly used segment other than the hot one (which has just failed)
                // exists: when the hot segment fills while the others are free or full, the walk would be in vain.
                if (otherSegmentPartlyUsed(areaIndex))
                {
                    spare = slot;
                    continue;
                }
            }
            return takeFound(areaIndex, slot, nslots);
        }
        return spare >= 0 ? takeFound(areaIndex, spare, nslots) : -1;
    }

    private int takeFound(final int areaIndex, final int slot, final int nslots)
    {
        take(slot, nslots);
        hotSegment[areaIndex] = slot & -IO_TLB_SEGSIZE;
        return slot;
    }

    /**
     * @return true if a segment of the area other than its hot one is partly used (neither wholly free nor full):
     * a scan of two bitmap words per segment, made at most once per search and only when the hot segment had no room.
     */
    private boolean otherSegmentPartlyUsed(final int areaIndex)
    {
        final long[] bits = this.bits;
        final int hotWord = hotSegment[areaIndex] >>> 6;
        final int from = areaIndex * areaNslabs >>> 6;
        final int to = from + (areaNslabs >>> 6);
        for (int w = from; w < to; w += 2)
        {
            final long a = bits[w];
            final long b = bits[w + 1];
            if ((a & b) != -1L && (a | b) != 0L && w != hotWord)
            {
                return true;
            }
        }
        return false;
    }

    /** @return true if every slot of {@code slot}'s segment is free (its two bitmap words are all ones). */
    private boolean segmentFree(final int slot)
    {
        final int w = (slot >>> 6) & -2;
        return (bits[w] & bits[w + 1]) == -1L;
    }

    /**
     * @return the lowest slot of the segment starting at {@code first} that is aligned as asked and starts a free run
     * of {@code nslots} inside the segment, or -1.
     */
    private int searchSegment(final int first, final long start, final long origBits, final int nslots,
        final int allocAlignMask, final int iotlbAlignMask)
    {
        final int w = first >>> 6;
        long lo = bits[w];
        long hi = bits[w + 1];
        // Afterwards bit i of (hi:lo) is set when slots first+i .. first+i+nslots-1 are all free: each step ands the
        // bits with themselves shifted down by the run length covered so far (at most doubling it). Bits past the
        // segment end count as allocated, so no run crosses into the next segment.
        for (int covered = 1; covered < nslots; )
        {
            final int k = Math.min(covered, nslots - covered); // 1..64
            if (k == 64)
            {
                lo &= hi;
                hi = 0;
            }
            else
            {
                lo &= (lo >>> k) | (hi << (64 - k));
                hi &= hi >>> k;
            }
            covered += k;
        }
        for (int half = 0; half < 2; half++)
        {
            for (long starts = half == 0 ? lo : hi; starts != 0; starts &= starts - 1)
            {
                final int slot = first + (half << 6) + Long.numberOfTrailingZeros(starts);
                if (aligned(start, slot, allocAlignMask, iotlbAlignMask, origBits))
                {
                    return slot;
                }
            }
        }
        return -1;
    }

    @Override
    void take(final int slot, final int nslots)
    {
        super.take(slot, nslots);
        final int[] next = this.next;
        final int[] prev = this.prev;
        final int last = slot + nslots - 1;
        // A run released together and taken together is one chain of the list, in address order (give() pushes it
        // that way): splice it out with two writes. Otherwise list_del() each slot; every slot of a free run is on
        // its area's list, so the list ends the same either way.
        int i = slot;
        while (i < last && next[i] == i + 1)
        {
            i++;
        }
        if (i == last)
        {
            final int p = prev[slot];
            final int n = next[last];
            next[p] = n;
            prev[n] = p;
            return;
        }
        for (i = slot; i <= last; i++)
        {
            final int n = next[i];
            final int p = prev[i];
            next[p] = n;
            prev[n] = p;
        }
    }

    /**
     * list_add() of each slot from the last to the first, which leaves the run at the head of the list in address
     * order: linked here as one chain (two writes a slot instead of four).
     */
    @Override
    void give(final int index, final int nslots)
    {
        super.give(index, nslots);
        final int[] next = this.next;
        final int[] prev = this.prev;
        final int head = nslabs + index / areaNslabs;
        final int last = index + nslots - 1;
        for (int i = index; i < last; i++)
        {
            next[i] = i + 1;
            prev[i + 1] = i;
        }
        final int first = next[head];
        next[last] = first;
        prev[first] = last;
        prev[index] = head;
        next[head] = index;
    }
}
