package vqdma.dma;

import static vqdma.dma.Swiotlb.IO_TLB_SEGSIZE;

/**
 * {@link SwiotlbAllocator#KERNEL}: the kernel's free-run counters, {@code io_tlb_slot.list}, as a dense {@code int[]}
 * private to the guest. Dense rather than inside each slot's record as in the kernel's 24-byte
 * {@code struct io_tlb_slot}: allocation and release renumber up to a whole segment of counters, and 128 dense
 * counters are 8 cache lines where 128 records would be 48. On the heap rather than off-heap: the renumbering loops
 * over an {@code int[]} ran about 10% faster than over raw off-heap addresses (JDK 17, this machine), and the array
 * is as private to the guest as an off-heap buffer. The values, and so every slot chosen, are the kernel's.
 */
final class SwiotlbListSlots extends SwiotlbSlots
{
    private final int[] list;

    SwiotlbListSlots(final int nslabs, final int areaNslabs)
    {
        super(nslabs, areaNslabs);
        this.list = new int[nslabs];
        for (int i = 0; i < nslabs; i++)
        {
            list[i] = IO_TLB_SEGSIZE - ioTlbOffset(i);
        }
    }

    @Override
    boolean fits(final int slot, final int nslots)
    {
        return list[slot] >= nslots;
    }

    /**
     * The run's counters drop to 0, and the free slots in front of it (back to the segment start) now end at the run,
     * so they are renumbered 1, 2, 3... backwards.
     */
    @Override
    void take(final int slot, final int nslots)
    {
        final int[] list = this.list;
        for (int i = slot; i < slot + nslots; i++)
        {
            list[i] = 0;
        }
        renumberFront(list, slot, 0);
    }

    /**
     * {@code swiotlb_release_slots()}: the run takes the counter of the free run right behind it (if in the same
     * segment) and counts up backwards from there; the free slots in front of it are renumbered on, back to the
     * segment start.
     */
    @Override
    void give(final int index, final int nslots)
    {
        final int[] list = this.list;
        final int segmentEnd = (index + IO_TLB_SEGSIZE) & -IO_TLB_SEGSIZE; // ALIGN(index + 1, IO_TLB_SEGSIZE)
        int count = index + nslots < segmentEnd ? list[index + nslots] : 0;
        // Step 1: return the slots to the free list, merging with the free slots behind them.
        for (int i = index + nslots - 1; i >= index; i--)
        {
            list[i] = ++count;
        }
        // Step 2: merge with the free slots in front of them, back to the segment start.
        renumberFront(list, index, count);
    }

    /**
     * The kernel's backward loop {@code for (i = slot - 1; io_tlb_offset(i) != IO_TLB_SEGSIZE - 1 && list[i]; i--)
     * list[i] = ++count;} in two counted loops: find where the free run in front of {@code slot} starts (the segment
     * start or the slot after an allocated one), then number it forwards. Same values; the one loop with its two exit
     * tests cost about 2 ns a counter in Java, a third of a 512 B map+unmap, and this shape half of that (docs/dma.md).
     */
    private static void renumberFront(final int[] list, final int slot, final int count)
    {
        final int segmentStart = slot - ioTlbOffset(slot);
        int first = slot;
        while (first > segmentStart && list[first - 1] != 0)
        {
            first--;
        }
        final int top = count + slot;
        for (int i = first; i < slot; i++)
        {
            list[i] = top - i;
        }
    }

    @Override
    int freeRun(final int slot)
    {
        return list[slot];
    }
}
