package vqdma.dma;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;

import static vqdma.dma.Swiotlb.IO_TLB_SEGSIZE;

/**
 * {@link SwiotlbAllocator#KERNEL}: the kernel's free-run counters, {@code io_tlb_slot.list}, as a dense array of u32
 * in an off-heap buffer private to the guest ({@code list[slot]} at {@link SwiotlbSlotDescriptor#listOffset(int)}).
 * Dense rather than inside each slot's record as in the kernel's 24-byte {@code struct io_tlb_slot}: allocation and
 * release renumber up to a whole segment of counters, and 128 dense counters are 8 cache lines where 128 records
 * would be 48. The values, and so every slot chosen, are the kernel's.
 */
final class SwiotlbListSlots extends SwiotlbSlots
{
    private final UnsafeBuffer lists;
    private final long listsAddress;

    SwiotlbListSlots(final int nslabs, final int areaNslabs)
    {
        super(nslabs, areaNslabs);
        this.lists = new UnsafeBuffer(ByteBuffer.allocateDirect(nslabs * SwiotlbSlotDescriptor.LIST_LENGTH));
        lists.verifyAlignment();
        this.listsAddress = lists.addressOffset();
        for (int i = 0; i < nslabs; i++)
        {
            lists.putInt(SwiotlbSlotDescriptor.listOffset(i), IO_TLB_SEGSIZE - ioTlbOffset(i));
        }
    }

    @Override
    boolean fits(final int slot, final int nslots)
    {
        return lpListRaw(listsAddress, slot) >= nslots;
    }

    /**
     * The run's counters drop to 0, and the free slots in front of it (back to the segment start) now end at the run,
     * so they are renumbered 1, 2, 3... backwards.
     */
    @Override
    void take(final int slot, final int nslots)
    {
        // The base in a local: after a raw store the JIT would otherwise reload the field on every iteration.
        final long base = listsAddress;
        for (int i = slot; i < slot + nslots; i++)
        {
            spListRaw(base, i, 0);
        }
        int count = 0;
        for (int i = slot - 1; ioTlbOffset(i) != IO_TLB_SEGSIZE - 1 && lpListRaw(base, i) != 0; i--)
        {
            spListRaw(base, i, ++count);
        }
    }

    /**
     * {@code swiotlb_release_slots()}: the run takes the counter of the free run right behind it (if in the same
     * segment) and counts up backwards from there; the free slots in front of it are renumbered on, back to the
     * segment start.
     */
    @Override
    void give(final int index, final int nslots)
    {
        final long base = listsAddress;
        final int segmentEnd = (index + IO_TLB_SEGSIZE) & -IO_TLB_SEGSIZE; // ALIGN(index + 1, IO_TLB_SEGSIZE)
        int count = index + nslots < segmentEnd ? lpListRaw(base, index + nslots) : 0;
        // Step 1: return the slots to the free list, merging with the free slots behind them.
        for (int i = index + nslots - 1; i >= index; i--)
        {
            spListRaw(base, i, ++count);
        }
        // Step 2: merge with the free slots in front of them, back to the segment start.
        for (int i = index - 1; ioTlbOffset(i) != IO_TLB_SEGSIZE - 1 && lpListRaw(base, i) != 0; i--)
        {
            spListRaw(base, i, ++count);
        }
    }

    @Override
    int freeRun(final int slot)
    {
        return lists.getInt(SwiotlbSlotDescriptor.listOffset(slot));
    }

    /**
     * The allocator's own access to {@code list[slot]}: plain, under the area lock, and without Agrona's bounds check,
     * because allocation and release renumber up to a whole segment of counters per call and the check doubles the
     * cost of those loops. Only for indices derived inside {@code [0, nslabs)}: a slot of the area being searched, a
     * slot of a mapping whose head was validated, or a segment walk that stops at the segment start
     * ({@link #ioTlbOffset(int)} of -1 is 127, so a walk from slot 0 never reads index -1).
     */
    private static int lpListRaw(final long base, final int slot)
    {
        return UnsafeApi.getInt(null, base + ((long)slot << 2));
    }

    private static void spListRaw(final long base, final int slot, final int value)
    {
        UnsafeApi.putInt(null, base + ((long)slot << 2), value);
    }
}
