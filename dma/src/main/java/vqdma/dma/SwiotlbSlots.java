package vqdma.dma;

import static vqdma.dma.Swiotlb.IO_TLB_SEGSIZE;
import static vqdma.dma.Swiotlb.IO_TLB_SHIFT;

/**
 * The free-slot bookkeeping of a {@link Swiotlb} pool, one subclass per {@link SwiotlbAllocator}. Every method runs
 * under the lock of the area that owns the slots, so fields are plain; the pool has already checked that the run
 * lies inside that area and that the request is at most one segment.
 * <p>
 * The default {@link #search} is the kernel's loop of {@code swiotlb_search_pool_area()}: start at the area's
 * {@code index}, step by one over slots whose address breaks the alignment, by {@code stride} over aligned slots that
 * do not fit, wrap to the area start, give up after {@code area_nslabs} slots; on success move {@code index} past the
 * run. Subclasses say what "fits" means ({@link #fits}) and what taking and giving back a run changes
 * ({@link #take}, {@link #give}); {@link SwiotlbHotSlots} replaces the search itself.
 */
abstract class SwiotlbSlots
{
    final int nslabs;
    final int areaNslabs;

    SwiotlbSlots(final int nslabs, final int areaNslabs)
    {
        this.nslabs = nslabs;
        this.areaNslabs = areaNslabs;
    }

    /** @return the bookkeeping for {@code allocator}: {@code nslabs} slots in areas of {@code areaNslabs}. */
    static SwiotlbSlots create(final SwiotlbAllocator allocator, final int nslabs, final int areaNslabs)
    {
        switch (allocator)
        {
            case KERNEL:
                return new SwiotlbListSlots(nslabs, areaNslabs);
            case BITMAP:
                return new SwiotlbBitmapSlots(nslabs, areaNslabs);
            case LIFO:
                return new SwiotlbHotSlots(nslabs, areaNslabs, false);
            case HOT:
                return new SwiotlbHotSlots(nslabs, areaNslabs, true);
            default:
                throw new AssertionError(allocator);
        }
    }

    /**
     * Finds {@code nslots} free contiguous slots in one area and takes them.
     *
     * @param area           the area, locked by the caller.
     * @param areaIndex      its index.
     * @param start          GPA of slot 0 of the pool.
     * @param origAddr       the original buffer's GPA (its {@code iotlbAlignMask} bits must be kept).
     * @param nslots         slots wanted, 1..{@link Swiotlb#IO_TLB_SEGSIZE}.
     * @param allocAlignMask address bits that must be zero in the first slot (at least the slot bits).
     * @param iotlbAlignMask address bits above those that must equal the original's.
     * @param stride         slots between two aligned candidates.
     * @return the first slot taken, or -1.
     */
    int search(final SwiotlbArea area, final int areaIndex, final long start, final long origAddr, final int nslots,
        final int allocAlignMask, final int iotlbAlignMask, final int stride)
    {
        final int areaNslabs = this.areaNslabs;
        final int slotBase = areaIndex * areaNslabs;
        final long origBits = origAddr & iotlbAlignMask;
        int index = area.lpIndex();
        for (int slotsChecked = 0; slotsChecked < areaNslabs; )
        {
            final int slot = slotBase + index;
            if (!aligned(start, slot, allocAlignMask, iotlbAlignMask, origBits))
            {
                index = index + 1 >= areaNslabs ? 0 : index + 1;
                slotsChecked++;
                continue;
            }
            if (fits(slot, nslots))
            {
                take(slot, nslots);
                // Update the index to avoid searching these slots in the next round (wrap_area_index()).
                area.spIndex(index + nslots >= areaNslabs ? 0 : index + nslots);
                return slot;
            }
            index = index + stride >= areaNslabs ? 0 : index + stride;
            slotsChecked += stride;
        }
        return -1;
    }

    /** @return true if the run {@code [slot, slot + nslots)} is free and inside one segment. */
    abstract boolean fits(int slot, int nslots);

    /** Marks the free run {@code [slot, slot + nslots)} allocated. */
    abstract void take(int slot, int nslots);

    /** Marks the allocated run {@code [index, index + nslots)} free again. */
    abstract void give(int index, int nslots);

    /**
     * @param slot a slot index.
     * @return the free run from {@code slot} to the first allocated slot or the end of its segment, 0 if the slot is
     * allocated: the kernel's {@code list[slot]}, whatever the bookkeeping (for the tests and the C yardstick).
     */
    abstract int freeRun(int slot);

    /**
     * The kernel's alignment test of a candidate slot ({@code swiotlb_search_pool_area()}), whatever the order the
     * candidates come in.
     *
     * @param start          GPA of slot 0 of the pool.
     * @param slot           the candidate.
     * @param allocAlignMask address bits that must be zero.
     * @param iotlbAlignMask address bits that must equal the original's.
     * @param origBits       the original's address masked with {@code iotlbAlignMask}.
     * @return true if the slot's address satisfies both masks.
     */
    static boolean aligned(final long start, final int slot, final int allocAlignMask, final int iotlbAlignMask,
        final long origBits)
    {
        final long tlbAddr = start + ((long)slot << IO_TLB_SHIFT);
        return (tlbAddr & allocAlignMask) == 0 && (tlbAddr & iotlbAlignMask) == origBits;
    }

    /** {@code io_tlb_offset()}: position of a slot in its segment ({@code -1} gives 127, as unsigned in C). */
    static int ioTlbOffset(final int slot)
    {
        return slot & (IO_TLB_SEGSIZE - 1);
    }
}
