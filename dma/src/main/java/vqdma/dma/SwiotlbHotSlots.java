package vqdma.dma;

import static vqdma.dma.Swiotlb.IO_TLB_SHIFT;

/**
 * {@link SwiotlbAllocator#HOT}: RFC patch 2 ("swiotlb: allocate memory in a cache-friendly way") on top of the bitmap.
 * Each area keeps its free slots in a doubly linked LIFO list (the RFC's {@code io_tlb_area.free_slots} of
 * {@code io_tlb_slot.node}s): a release pushes the run's slots at the head, last slot first, so that the run's first
 * slot ends at the head; a search walks the list from the head and takes the first slot that is aligned as the
 * kernel's rules ask and starts a free run of the size wanted inside its segment (the bitmap's test). So a mapping
 * reuses the slots freed last, whose memory the previous user of the bounce buffer has just touched and which are
 * likely still in the cache, where the kernel's rotating {@code index} hands out the slot used longest ago.
 * <p>
 * As the RFC says of itself, the walk cannot stride over misaligned slots (the list is in release order, not address
 * order): a request with an alignment visits the misaligned free slots on its way, and a request that fits nowhere
 * walks every free slot of every area before it fails. The lists are two {@code int[]} of links, one node per slot
 * plus one head sentinel per area (index {@code nslabs + area}).
 */
final class SwiotlbHotSlots extends SwiotlbBitmapSlots
{
    private final int[] next;
    private final int[] prev;

    SwiotlbHotSlots(final int nslabs, final int areaNslabs)
    {
        super(nslabs, areaNslabs);
        final int nareas = nslabs / areaNslabs;
        this.next = new int[nslabs + nareas];
        this.prev = new int[nslabs + nareas];
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
        final int[] next = this.next;
        final int head = nslabs + areaIndex;
        final long origBits = origAddr & iotlbAlignMask;
        for (int slot = next[head]; slot != head; slot = next[slot])
        {
            final long tlbAddr = start + ((long)slot << IO_TLB_SHIFT);
            if ((tlbAddr & allocAlignMask) != 0 || (tlbAddr & iotlbAlignMask) != origBits)
            {
                continue;
            }
            if (fits(slot, nslots))
            {
                take(slot, nslots);
                return slot;
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
