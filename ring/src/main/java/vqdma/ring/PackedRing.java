package vqdma.ring;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.Objects;

import static vqdma.ring.PackedRingDescriptor.*;

/**
 * Accessors for the shared memory of one packed ring: the descriptor ring and the two event suppression structures,
 * each an {@link UnsafeBuffer} over its part of guest memory. Both sides use this class, each over its own view.
 * <p>
 * The access mode is in every accessor's name, as in {@link SplitRing}: {@code lp}/{@code sp} plain, for the
 * descriptor fields whose ordering comes from the flags around them; {@code lo}/{@code so} opaque, for the words the
 * other side polls or races on: a descriptor's {@code flags} (the packed ring has no index: the AVAIL/USED bits of the
 * flags are what each side publishes) and the event suppression fields. Opaque accesses are single-copy atomic and
 * never elided, with no ordering of their own; the ordering is the {@link VirtioBarriers} call written directly
 * above or below them.
 * <p>
 * Every multi-byte value is little-endian; returned u16 values are in an int. Entries are accessed at precomputed
 * absolute addresses; a descriptor index is checked against the queue size on every access
 * ({@link Objects#checkIndex}, which the JIT removes where it can prove the index in range): queue sizes need not be
 * powers of two, so an index cannot be masked as in the split ring, and no caller's index can move an access out of
 * the ring. The parts are checked once, at construction: large enough, off-heap, aligned.
 */
public final class PackedRing
{
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final int num;
    private final long descAddress;
    private final long driverEventAddress;
    private final long deviceEventAddress;

    /**
     * @param num         queue size, 1..32768.
     * @param desc        the descriptor ring, at least {@code 16 * num} bytes.
     * @param driverEvent the driver event suppression structure, at least 4 bytes.
     * @param deviceEvent the device event suppression structure, at least 4 bytes.
     */
    public PackedRing(final int num, final UnsafeBuffer desc, final UnsafeBuffer driverEvent,
        final UnsafeBuffer deviceEvent)
    {
        this.num = Vring.checkPackedQueueSize(num);
        if (desc.capacity() < descRingSize(num) || driverEvent.capacity() < EVENT_SIZE ||
            deviceEvent.capacity() < EVENT_SIZE)
        {
            throw new IllegalArgumentException("packed ring parts too small for queue size " + num + ": desc " +
                desc.capacity() + ", driver event " + driverEvent.capacity() + ", device event " +
                deviceEvent.capacity());
        }
        if (desc.byteArray() != null || driverEvent.byteArray() != null || deviceEvent.byteArray() != null)
        {
            throw new IllegalArgumentException("ring parts must be off-heap (guest memory), not byte arrays");
        }
        if ((desc.addressOffset() & 15) != 0 || (driverEvent.addressOffset() & 3) != 0 ||
            (deviceEvent.addressOffset() & 3) != 0)
        {
            throw new IllegalArgumentException(
                "packed ring parts misaligned: the spec requires the descriptor ring 16, the event structures 4");
        }
        this.descAddress = desc.addressOffset();
        this.driverEventAddress = driverEvent.addressOffset();
        this.deviceEventAddress = deviceEvent.addressOffset();
    }

    private static short le16(final short v)
    {
        return NATIVE_LE ? v : Short.reverseBytes(v);
    }

    private static int le32(final int v)
    {
        return NATIVE_LE ? v : Integer.reverseBytes(v);
    }

    private static long le64(final long v)
    {
        return NATIVE_LE ? v : Long.reverseBytes(v);
    }

    /** @param i a descriptor index. @return the address of {@code desc[i]}. @throws IndexOutOfBoundsException */
    private long descAt(final int i)
    {
        return descAddress + descOffset(Objects.checkIndex(i, num));
    }

    /** @return the queue size. */
    public int num()
    {
        return num;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // descriptor ring
    // ---------------------------------------------------------------------------------------------------------------

    /** @param i descriptor index {@code < num}. @return {@code desc[i].addr}, plain load. */
    public long lpDescAddr(final int i)
    {
        return le64(UnsafeApi.getLong(null, descAt(i) + DESC_ADDR_OFFSET));
    }

    /** @param i descriptor index {@code < num}. @return {@code desc[i].len} (u32 in an int), plain load. */
    public int lpDescLen(final int i)
    {
        return le32(UnsafeApi.getInt(null, descAt(i) + DESC_LEN_OFFSET));
    }

    /** @param i descriptor index {@code < num}. @return {@code desc[i].id} (u16), plain load. */
    public int lpDescId(final int i)
    {
        return le16(UnsafeApi.getShort(null, descAt(i) + DESC_ID_OFFSET)) & 0xFFFF;
    }

    /**
     * @param i descriptor index {@code < num}.
     * @return {@code desc[i].flags} (u16), plain load: for the descriptors of a chain after its head, whose flags
     * were ordered by the head's ({@link #loDescFlags} then {@link VirtioBarriers#virtioRmb()}).
     */
    public int lpDescFlags(final int i)
    {
        return le16(UnsafeApi.getShort(null, descAt(i) + DESC_FLAGS_OFFSET)) & 0xFFFF;
    }

    /**
     * @param i descriptor index {@code < num}.
     * @return {@code desc[i].flags} (u16), opaque load: the word the other side publishes with; the reader follows it
     * with {@link VirtioBarriers#virtioRmb()} before it reads the rest of the descriptor.
     */
    public int loDescFlags(final int i)
    {
        return le16(UnsafeApi.getShortOpaque(null, descAt(i) + DESC_FLAGS_OFFSET)) & 0xFFFF;
    }

    /**
     * Opaque store of {@code desc[i].flags}: the publishing store. The writer precedes it with
     * {@link VirtioBarriers#virtioWmb()} (the driver for a chain's head, the device for a used descriptor).
     *
     * @param i     descriptor index {@code < num}.
     * @param flags the flags (u16).
     */
    public void soDescFlags(final int i, final int flags)
    {
        UnsafeApi.putShortOpaque(null, descAt(i) + DESC_FLAGS_OFFSET, le16((short)flags));
    }

    /**
     * Plain store of a whole descriptor, flags included: for the descriptors of a chain after its head, which the
     * device reads only after it saw the head's flags.
     *
     * @param i     descriptor index {@code < num}.
     * @param addr  bus address.
     * @param len   length (u32).
     * @param id    buffer id (u16).
     * @param flags flags (u16).
     */
    public void spDesc(final int i, final long addr, final int len, final int id, final int flags)
    {
        final long at = descAt(i);
        UnsafeApi.putLong(null, at + DESC_ADDR_OFFSET, le64(addr));
        UnsafeApi.putInt(null, at + DESC_LEN_OFFSET, le32(len));
        UnsafeApi.putShort(null, at + DESC_ID_OFFSET, le16((short)id));
        UnsafeApi.putShort(null, at + DESC_FLAGS_OFFSET, le16((short)flags));
    }

    /**
     * Plain store of a descriptor's {@code addr}, {@code len} and {@code id}, leaving its flags: a chain's head, whose
     * flags {@link #soDescFlags} publishes afterwards.
     *
     * @param i    descriptor index {@code < num}.
     * @param addr bus address.
     * @param len  length (u32).
     * @param id   buffer id (u16).
     */
    public void spDescBody(final int i, final long addr, final int len, final int id)
    {
        final long at = descAt(i);
        UnsafeApi.putLong(null, at + DESC_ADDR_OFFSET, le64(addr));
        UnsafeApi.putInt(null, at + DESC_LEN_OFFSET, le32(len));
        UnsafeApi.putShort(null, at + DESC_ID_OFFSET, le16((short)id));
    }

    /**
     * Plain store of a used descriptor's {@code id} and {@code len} (the device leaves {@code addr}); its flags follow
     * with {@link #soDescFlags}.
     *
     * @param i   descriptor index {@code < num}.
     * @param id  buffer id (u16).
     * @param len bytes written (u32).
     */
    public void spUsedDesc(final int i, final int id, final int len)
    {
        final long at = descAt(i);
        UnsafeApi.putInt(null, at + DESC_LEN_OFFSET, le32(len));
        UnsafeApi.putShort(null, at + DESC_ID_OFFSET, le16((short)id));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // driver event suppression (driver writes, device reads): controls used buffer notifications (interrupts)
    // ---------------------------------------------------------------------------------------------------------------

    /** @return the driver event's {@code flags} (u16), opaque load; the device reads it after a fence. */
    public int loDriverEventFlags()
    {
        return le16(UnsafeApi.getShortOpaque(null, driverEventAddress + EVENT_FLAGS_OFFSET)) & 0xFFFF;
    }

    /** @param flags the driver event's {@code flags}, opaque store by the driver. */
    public void soDriverEventFlags(final int flags)
    {
        UnsafeApi.putShortOpaque(null, driverEventAddress + EVENT_FLAGS_OFFSET, le16((short)flags));
    }

    /** @return the driver event's {@code off_wrap} (u16), opaque load. */
    public int loDriverEventOffWrap()
    {
        return le16(UnsafeApi.getShortOpaque(null, driverEventAddress + EVENT_OFF_WRAP_OFFSET)) & 0xFFFF;
    }

    /** @param offWrap the driver event's {@code off_wrap}, opaque store by the driver. */
    public void soDriverEventOffWrap(final int offWrap)
    {
        UnsafeApi.putShortOpaque(null, driverEventAddress + EVENT_OFF_WRAP_OFFSET, le16((short)offWrap));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // device event suppression (device writes, driver reads): controls available buffer notifications (kicks)
    // ---------------------------------------------------------------------------------------------------------------

    /** @return the device event's {@code flags} (u16), opaque load; the driver reads it after a fence. */
    public int loDeviceEventFlags()
    {
        return le16(UnsafeApi.getShortOpaque(null, deviceEventAddress + EVENT_FLAGS_OFFSET)) & 0xFFFF;
    }

    /** @param flags the device event's {@code flags}, opaque store by the device. */
    public void soDeviceEventFlags(final int flags)
    {
        UnsafeApi.putShortOpaque(null, deviceEventAddress + EVENT_FLAGS_OFFSET, le16((short)flags));
    }

    /** @return the device event's {@code off_wrap} (u16), opaque load. */
    public int loDeviceEventOffWrap()
    {
        return le16(UnsafeApi.getShortOpaque(null, deviceEventAddress + EVENT_OFF_WRAP_OFFSET)) & 0xFFFF;
    }

    /** @param offWrap the device event's {@code off_wrap}, opaque store by the device. */
    public void soDeviceEventOffWrap(final int offWrap)
    {
        UnsafeApi.putShortOpaque(null, deviceEventAddress + EVENT_OFF_WRAP_OFFSET, le16((short)offWrap));
    }
}
