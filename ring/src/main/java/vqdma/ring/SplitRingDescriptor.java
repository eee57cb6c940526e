package vqdma.ring;

/**
 * Layout of the split virtqueue (virtio 1.x, 2.7) in its legacy contiguous form, as {@code vring_init(vr, num, p,
 * align)} lays it out. Offsets only; {@link SplitRing} does the accesses. All fields are little-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+ 0: descriptor table, num entries
 *  |                          addr (u64)                           |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                           len (u32)                           |
 *  +-------------------------------+-------------------------------+
 *  |          flags (u16)          |          next (u16)           |
 *  +-------------------------------+-------------------------------+ 16 * num: available ring
 *  |          flags (u16)          |           idx (u16)           |
 *  +-------------------------------+-------------------------------+
 *  |       ring[0] (u16 head)      |      ring[1] ...  num entries |
 *  +-------------------------------+-------------------------------+
 *  |       used_event (u16)        |  padding to align            |
 *  +-------------------------------+-------------------------------+ align_up(16 * num + 6 + 2 * num, align): used ring
 *  |          flags (u16)          |           idx (u16)           |
 *  +-------------------------------+-------------------------------+
 *  |                    ring[0].id (u32 head)                      |
 *  +---------------------------------------------------------------+
 *  |                    ring[0].len (u32 bytes written)            |
 *  +---------------------------------------------------------------+
 *  |                    ... num elements                           |
 *  +-------------------------------+-------------------------------+
 *  |       avail_event (u16)       |
 *  +-------------------------------+
 *  vring_size = align_up(16 * num + 6 + 2 * num, align) + 6 + 8 * num
 * </pre>
 * The three parts may also live apart (virtio 1.x gives the device three addresses); offsets inside each part are
 * relative to that part's start: {@code DESC_*} to the table, {@code AVAIL_*} to the available ring, {@code USED_*}
 * to the used ring.
 */
public final class SplitRingDescriptor
{
    /** Offset of {@code addr} in a descriptor. */
    public static final int DESC_ADDR_OFFSET = 0;
    /** Offset of {@code len} in a descriptor. */
    public static final int DESC_LEN_OFFSET = 8;
    /** Offset of {@code flags} in a descriptor. */
    public static final int DESC_FLAGS_OFFSET = 12;
    /** Offset of {@code next} in a descriptor. */
    public static final int DESC_NEXT_OFFSET = 14;

    /** Offset of {@code avail.flags}. */
    public static final int AVAIL_FLAGS_OFFSET = 0;
    /** Offset of {@code avail.idx}. */
    public static final int AVAIL_IDX_OFFSET = 2;
    /** Offset of {@code avail.ring[0]}. */
    public static final int AVAIL_RING_OFFSET = 4;

    /** Offset of {@code used.flags}. */
    public static final int USED_FLAGS_OFFSET = 0;
    /** Offset of {@code used.idx}. */
    public static final int USED_IDX_OFFSET = 2;
    /** Offset of {@code used.ring[0]}. */
    public static final int USED_RING_OFFSET = 4;
    /** Size of one used element ({@code struct vring_used_elem}). */
    public static final int USED_ELEM_SIZE = 8;
    /** Offset of {@code id} in a used element. */
    public static final int USED_ELEM_ID_OFFSET = 0;
    /** Offset of {@code len} in a used element. */
    public static final int USED_ELEM_LEN_OFFSET = 4;

    /** The alignment of the used ring in the legacy layout ({@code VIRTIO_PCI_VRING_ALIGN}). */
    public static final int LEGACY_ALIGN = 4096;

    private SplitRingDescriptor()
    {
    }

    /**
     * @param i descriptor index.
     * @return offset of descriptor {@code i} in the table.
     */
    public static int descOffset(final int i)
    {
        return i * Vring.DESC_SIZE;
    }

    /** @param num queue size. @return bytes of the descriptor table. */
    public static int descTableSize(final int num)
    {
        return num * Vring.DESC_SIZE;
    }

    /**
     * @param slot ring slot, {@code idx & (num - 1)}.
     * @return offset of {@code avail.ring[slot]} in the available ring.
     */
    public static int availRingOffset(final int slot)
    {
        return AVAIL_RING_OFFSET + 2 * slot;
    }

    /** @param num queue size. @return offset of {@code used_event} in the available ring. */
    public static int usedEventOffset(final int num)
    {
        return AVAIL_RING_OFFSET + 2 * num;
    }

    /** @param num queue size. @return bytes of the available ring including {@code used_event}. */
    public static int availSize(final int num)
    {
        return 6 + 2 * num;
    }

    /**
     * @param slot ring slot, {@code idx & (num - 1)}.
     * @return offset of {@code used.ring[slot]} in the used ring.
     */
    public static int usedElemOffset(final int slot)
    {
        return USED_RING_OFFSET + USED_ELEM_SIZE * slot;
    }

    /** @param num queue size. @return offset of {@code avail_event} in the used ring. */
    public static int availEventOffset(final int num)
    {
        return USED_RING_OFFSET + USED_ELEM_SIZE * num;
    }

    /** @param num queue size. @return bytes of the used ring including {@code avail_event}. */
    public static int usedSize(final int num)
    {
        return 6 + USED_ELEM_SIZE * num;
    }

    /**
     * @param num   queue size.
     * @param align power-of-two alignment of the used ring.
     * @return offset of the available ring from the ring base in the contiguous layout.
     */
    public static int availOffset(final int num, final int align)
    {
        return descTableSize(num);
    }

    /**
     * @param num   queue size.
     * @param align power-of-two alignment of the used ring.
     * @return offset of the used ring from the ring base in the contiguous layout.
     */
    public static int usedOffset(final int num, final int align)
    {
        return alignUp(descTableSize(num) + availSize(num), align);
    }

    /**
     * {@code vring_size(num, align)}.
     *
     * @param num   queue size.
     * @param align power-of-two alignment of the used ring.
     * @return bytes of the whole contiguous ring.
     */
    public static int vringSize(final int num, final int align)
    {
        return usedOffset(num, align) + usedSize(num);
    }

    /**
     * @param value a non-negative value.
     * @param align a power of two.
     * @return {@code value} rounded up to a multiple of {@code align}.
     */
    public static int alignUp(final int value, final int align)
    {
        return (value + align - 1) & -align;
    }
}
