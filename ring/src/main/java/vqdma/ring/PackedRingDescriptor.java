package vqdma.ring;

/**
 * Layout of the packed virtqueue (virtio 1.1, 2.8): one ring of descriptors that both sides read and write, and two
 * event suppression structures, as {@code struct vring_packed_desc} and {@code struct vring_packed_desc_event} in
 * {@code linux/virtio_ring.h} lay them out. Offsets only; {@link PackedRing} does the accesses. All fields are
 * little-endian. In the contiguous form vqdma uses (and the shared-ring file protocol's packed variant), the three
 * parts follow each other:
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+ 0: descriptor ring, num entries
 *  |                          addr (u64)                           |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                           len (u32)                           |
 *  +-------------------------------+-------------------------------+
 *  |           id (u16)            |          flags (u16)          |
 *  +-------------------------------+-------------------------------+ 16 * num: driver event suppression
 *  |        off_wrap (u16)         |          flags (u16)          |   (written by the driver, read by the device)
 *  +-------------------------------+-------------------------------+ 16 * num + 4: device event suppression
 *  |        off_wrap (u16)         |          flags (u16)          |   (written by the device, read by the driver)
 *  +-------------------------------+-------------------------------+ 16 * num + 8: end
 *
 *  descriptor flags:  bit 0 NEXT | bit 1 WRITE | bit 2 INDIRECT | bit 7 AVAIL | bit 15 USED
 *  event flags:       0 ENABLE | 1 DISABLE | 2 DESC (only with VIRTIO_RING_F_EVENT_IDX)
 *  off_wrap:          bits 0-14 a descriptor offset in the ring | bit 15 the wrap counter it belongs to
 * </pre>
 * A descriptor is <em>available</em> when its AVAIL bit equals the driver's wrap counter and its USED bit does not;
 * <em>used</em> when both bits equal the device's wrap counter. Both counters start at 1 and flip each time their
 * side passes the end of the ring, so a zeroed ring holds neither. The {@code id} is the driver's buffer id
 * ({@code 0..num-1}); the device returns it in the used descriptor, whose {@code len} is the bytes written.
 * <p>
 * The spec requires the descriptor ring 16-byte aligned and each event structure 4-byte aligned; the parts may also
 * live apart (virtio 1.x gives the device three addresses: descriptor area, driver area, device area). Indirect
 * tables are arrays of the same 16-byte descriptor, of which only {@code addr}, {@code len} and {@code flags} are
 * read.
 */
public final class PackedRingDescriptor
{
    /** Offset of {@code addr} in a descriptor. */
    public static final int DESC_ADDR_OFFSET = 0;
    /** Offset of {@code len} in a descriptor. */
    public static final int DESC_LEN_OFFSET = 8;
    /** Offset of {@code id} in a descriptor. */
    public static final int DESC_ID_OFFSET = 12;
    /** Offset of {@code flags} in a descriptor. */
    public static final int DESC_FLAGS_OFFSET = 14;

    /** Offset of {@code off_wrap} in an event suppression structure. */
    public static final int EVENT_OFF_WRAP_OFFSET = 0;
    /** Offset of {@code flags} in an event suppression structure. */
    public static final int EVENT_FLAGS_OFFSET = 2;
    /** Size of an event suppression structure ({@code struct vring_packed_desc_event}). */
    public static final int EVENT_SIZE = 4;

    /** {@code 1 << VRING_PACKED_DESC_F_AVAIL}: the AVAIL flag as a mask. */
    public static final int DESC_F_AVAIL = 1 << Vring.VRING_PACKED_DESC_F_AVAIL;
    /** {@code 1 << VRING_PACKED_DESC_F_USED}: the USED flag as a mask. */
    public static final int DESC_F_USED = 1 << Vring.VRING_PACKED_DESC_F_USED;
    /** Bits 0-14 of {@code off_wrap}: the descriptor offset. */
    public static final int OFF_WRAP_OFFSET_MASK = (1 << Vring.VRING_PACKED_EVENT_F_WRAP_CTR) - 1;

    private PackedRingDescriptor()
    {
    }

    /**
     * @param i descriptor index.
     * @return offset of descriptor {@code i} in the ring.
     */
    public static int descOffset(final int i)
    {
        return i * Vring.DESC_SIZE;
    }

    /** @param num queue size. @return bytes of the descriptor ring. */
    public static int descRingSize(final int num)
    {
        return num * Vring.DESC_SIZE;
    }

    /** @param num queue size. @return offset of the driver event suppression structure in the contiguous layout. */
    public static int driverEventOffset(final int num)
    {
        return descRingSize(num);
    }

    /** @param num queue size. @return offset of the device event suppression structure in the contiguous layout. */
    public static int deviceEventOffset(final int num)
    {
        return descRingSize(num) + EVENT_SIZE;
    }

    /**
     * @param num queue size.
     * @return bytes of the whole contiguous ring: {@code 16 * num + 8}.
     */
    public static int ringSize(final int num)
    {
        return descRingSize(num) + 2 * EVENT_SIZE;
    }

    /**
     * @param wrap a wrap counter, 0 or 1.
     * @return the AVAIL and USED bits a driver writes into an available descriptor in that lap: AVAIL = wrap,
     * USED = !wrap.
     */
    public static int availFlags(final int wrap)
    {
        return wrap != 0 ? DESC_F_AVAIL : DESC_F_USED;
    }

    /**
     * @param wrap a wrap counter, 0 or 1.
     * @return the AVAIL and USED bits a device writes into a used descriptor in that lap: both = wrap.
     */
    public static int usedFlags(final int wrap)
    {
        return wrap != 0 ? DESC_F_AVAIL | DESC_F_USED : 0;
    }

    /**
     * @param flags a descriptor's flags.
     * @param wrap  the driver's wrap counter for the descriptor's position.
     * @return true if the descriptor is available in that lap (AVAIL = wrap, USED = !wrap).
     */
    public static boolean isAvail(final int flags, final int wrap)
    {
        return (flags & (DESC_F_AVAIL | DESC_F_USED)) == availFlags(wrap);
    }

    /**
     * @param flags a descriptor's flags.
     * @param wrap  the device's wrap counter for the descriptor's position.
     * @return true if the descriptor is used in that lap (AVAIL = USED = wrap).
     */
    public static boolean isUsed(final int flags, final int wrap)
    {
        return (flags & (DESC_F_AVAIL | DESC_F_USED)) == usedFlags(wrap);
    }

    /**
     * @param offset a descriptor offset, {@code < 32768}.
     * @param wrap   its wrap counter, 0 or 1.
     * @return {@code off_wrap}: the offset with the wrap counter in bit 15.
     */
    public static int offWrap(final int offset, final int wrap)
    {
        return offset | wrap << Vring.VRING_PACKED_EVENT_F_WRAP_CTR;
    }
}
