package vqdma.dma;

/**
 * Layout of the per-slot metadata of a {@link Swiotlb}: the kernel's {@code struct io_tlb_slot} array
 * ({@code orig_addr}, {@code alloc_size}, {@code pad_slots}) plus what vqdma records to check the caller the way
 * {@code CONFIG_DMA_API_DEBUG} does ({@code kernel/dma/debug.c}: size and direction of each mapping).
 * <p>
 * An off-heap buffer private to the guest (never shared with the device, so native byte order), one
 * {@link #SLOT_LENGTH}-byte record per slot at {@link #slotOffset(int)}. The kernel's free-run counters {@code list}
 * are not here: they belong to the allocator ({@link SwiotlbListSlots}, a dense array: allocation and release
 * renumber up to a whole segment of them, and 128 dense counters are 8 cache lines where 128 records would be 64).
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                       orig_addr (u64)                         |  0  GPA bounced to/from; -1 when free
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                       alloc_size (u32)                        |  8  bytes from this slot to the allocation end
 *  +---------------------------------------------------------------+
 *  |                         state (u32)                           | 12  SLOT_*; written release, read acquire, CAS
 *  +---------------------------------------------------------------+
 *  |                      mapping_size (u32)                       | 16  head slot only: bytes mapped
 *  +---------------------------------------------------------------+
 *  |                       tlb_offset (u32)                        | 20  head slot only: offset of the bus address
 *  +-------------------------------+---------------+---------------+     in the slot (min_align_mask low bits)
 *  |       pad_slots (u16)         |   dir (u8)    |   (unused)    | 24  head slot only
 *  +-------------------------------+---------------+---------------+
 *  |                           (unused)                            | 28
 *  +---------------------------------------------------------------+
 * </pre>
 * {@code list}, {@code alloc_size} and {@code orig_addr} mean exactly what they mean in {@code kernel/dma/swiotlb.c}.
 * The <em>head</em> of a mapping is the slot its bus address points into (the kernel's {@code index} after
 * {@code index += pad_slots}); padding slots allocated in front of it for {@code alloc_align_mask} are
 * {@link #SLOT_PAD}.
 */
final class SwiotlbSlotDescriptor
{
    /** The kernel's {@code orig_addr}. */
    static final int ORIG_ADDR_OFFSET = 0;
    /** The kernel's {@code alloc_size}. */
    static final int ALLOC_SIZE_OFFSET = 8;
    /** One of the {@code SLOT_*} values. */
    static final int STATE_OFFSET = 12;
    /** Bytes the caller mapped (head slot only); unmap must pass the same. */
    static final int MAPPING_SIZE_OFFSET = 16;
    /** Byte offset of the mapping's bus address inside the head slot (head slot only). */
    static final int TLB_OFFSET_OFFSET = 20;
    /** The kernel's {@code pad_slots} (head slot only). */
    static final int PAD_SLOTS_OFFSET = 24;
    /** {@link DmaDirection#ordinal()} of the mapping (head slot only). */
    static final int DIR_OFFSET = 26;
    /** Bytes per slot record; a power of two so that a record is {@code slot << SLOT_SHIFT}. */
    static final int SLOT_LENGTH = 32;
    /** {@code log2(SLOT_LENGTH)}. */
    static final int SLOT_SHIFT = 5;

    /** Free, never the head of a mapping since it was last allocated. */
    static final int SLOT_FREE = 0;
    /** Free, and the head of the last mapping released here: an unmap of the same address is a double unmap. */
    static final int SLOT_FREED = 1;
    /** Allocated as alignment padding in front of a head ({@code pad_slots}). */
    static final int SLOT_PAD = 2;
    /** Allocated: the slot a live mapping's bus address points into. */
    static final int SLOT_HEAD = 3;
    /** Allocated: a later slot of a live mapping. */
    static final int SLOT_BODY = 4;
    /** A head claimed by an unmap in progress (between its checks and the release of its slots). */
    static final int SLOT_UNMAPPING = 5;

    private SwiotlbSlotDescriptor()
    {
    }

    /**
     * @param slot slot index, {@code 0 <= slot < nslabs}.
     * @return offset of the slot's record in the metadata buffer.
     */
    static int slotOffset(final int slot)
    {
        return slot << SLOT_SHIFT;
    }

    /**
     * @param state a {@code SLOT_*} value.
     * @return true for a free slot ({@link #SLOT_FREE} or {@link #SLOT_FREED}).
     */
    static boolean isFree(final int state)
    {
        return state <= SLOT_FREED;
    }
}
