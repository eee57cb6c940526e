package vqdma.ring;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

import static vqdma.ring.SplitRingDescriptor.*;

/**
 * Accessors for the shared memory of one split ring: descriptor table, available ring and used ring, each an
 * {@link UnsafeBuffer} over its part of guest memory. Both sides use this class, each over its own view.
 * <p>
 * The access mode is in every accessor's name, after JCTools:
 * <ul>
 *   <li>{@code lp}/{@code sp}: load/store plain, for ring entries. Their ordering comes from the fence and the
 *   index access around them.</li>
 *   <li>{@code lo}/{@code so}: load/store <em>opaque</em>, for the indices and event indices the other side polls:
 *   single-copy atomic and never elided or hoisted out of a loop, but with no ordering of their own (unlike JCTools'
 *   {@code so}, "store ordered"). The ordering is the {@link VirtioBarriers} call written directly above or below
 *   the access, as the kernel writes {@code virtio_wmb(); avail->idx = ...}.</li>
 * </ul>
 * Every multi-byte value is little-endian (virtio 1.x): each access converts through {@link #le16(short)} or its
 * 32- and 64-bit siblings (the identity on a little-endian CPU). Indices returned are u16 values in an int.
 * <p>
 * Offsets of entries are derived from slots and descriptor indices that callers have masked or validated against
 * the queue size; nothing here takes a value from the other side as an offset unchecked.
 * <p>
 * Entries are accessed at precomputed absolute addresses (JCTools' habit), not through {@link UnsafeBuffer}'s
 * bounds-checked accessors: every slot and descriptor index is masked with {@code num - 1} once more here, so an
 * access can never leave its part of the ring whatever a caller passes, and the check the JIT cannot remove (a
 * bounds check of every 2-, 4- or 8-byte access, about a tenth of a request's cost in the loopback peers) is gone.
 * The parts are checked once, at construction: large enough, off-heap, aligned.
 */
public final class SplitRing
{
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final int num;
    private final int mask;
    private final long descAddress;
    private final long availAddress;
    private final long usedAddress;
    private final long availIdxAddress;
    private final long usedEventAddress;
    private final long usedIdxAddress;
    private final long availEventAddress;

    /**
     * @param num   queue size.
     * @param desc  the descriptor table, at least {@code 16 * num} bytes.
     * @param avail the available ring, at least {@code 6 + 2 * num} bytes.
     * @param used  the used ring, at least {@code 6 + 8 * num} bytes.
     */
    public SplitRing(final int num, final UnsafeBuffer desc, final UnsafeBuffer avail, final UnsafeBuffer used)
    {
        this.num = Vring.checkQueueSize(num);
        if (desc.capacity() < descTableSize(num) || avail.capacity() < availSize(num) ||
            used.capacity() < usedSize(num))
        {
            throw new IllegalArgumentException("ring parts too small for queue size " + num + ": desc " +
                desc.capacity() + ", avail " + avail.capacity() + ", used " + used.capacity());
        }
        if (desc.byteArray() != null || avail.byteArray() != null || used.byteArray() != null)
        {
            throw new IllegalArgumentException("ring parts must be off-heap (guest memory), not byte arrays");
        }
        if ((desc.addressOffset() & 15) != 0 || (avail.addressOffset() & 1) != 0 || (used.addressOffset() & 3) != 0)
        {
            throw new IllegalArgumentException("ring parts misaligned: the spec requires desc 16, avail 2, used 4");
        }
        this.mask = num - 1;
        this.descAddress = desc.addressOffset();
        this.availAddress = avail.addressOffset();
        this.usedAddress = used.addressOffset();
        this.availIdxAddress = avail.addressOffset() + AVAIL_IDX_OFFSET;
        this.usedEventAddress = avail.addressOffset() + usedEventOffset(num);
        this.usedIdxAddress = used.addressOffset() + USED_IDX_OFFSET;
        this.availEventAddress = used.addressOffset() + availEventOffset(num);
    }

    /**
     * {@code cpu_to_virtio16()}/{@code virtio16_to_cpu()} for opaque accesses, which use native order.
     *
     * @param v a u16 in native order or in little-endian order.
     * @return the value in the other order (identity on a little-endian CPU).
     */
    public static short le16(final short v)
    {
        return NATIVE_LE ? v : Short.reverseBytes(v);
    }

    static int le32(final int v)
    {
        return NATIVE_LE ? v : Integer.reverseBytes(v);
    }

    static long le64(final long v)
    {
        return NATIVE_LE ? v : Long.reverseBytes(v);
    }

    /** @param i a descriptor index. @return the address of {@code desc[i & (num - 1)]}. */
    private long descAt(final int i)
    {
        return descAddress + descOffset(i & mask);
    }

    /** @return the queue size. */
    public int num()
    {
        return num;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // descriptor table
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

    /** @param i descriptor index {@code < num}. @return {@code desc[i].flags} (u16), plain load. */
    public int lpDescFlags(final int i)
    {
        return le16(UnsafeApi.getShort(null, descAt(i) + DESC_FLAGS_OFFSET)) & 0xFFFF;
    }

    /** @param i descriptor index {@code < num}. @return {@code desc[i].next} (u16), plain load. */
    public int lpDescNext(final int i)
    {
        return le16(UnsafeApi.getShort(null, descAt(i) + DESC_NEXT_OFFSET)) & 0xFFFF;
    }

    /**
     * Plain store of a whole descriptor, as two 8-byte stores: {@code addr}, then {@code len}, {@code flags} and
     * {@code next} together (the little-endian encoding of {@code len | flags << 32 | next << 48} is exactly those
     * three fields' bytes). Half the stores of one per field, in the loop that fills a chain.
     *
     * @param i     descriptor index {@code < num}.
     * @param addr  bus address.
     * @param len   length (u32).
     * @param flags flags (u16).
     * @param next  next index (u16).
     */
    public void spDesc(final int i, final long addr, final int len, final int flags, final int next)
    {
        final long at = descAt(i);
        UnsafeApi.putLong(null, at + DESC_ADDR_OFFSET, le64(addr));
        UnsafeApi.putLong(null, at + DESC_LEN_OFFSET, le64(
            Integer.toUnsignedLong(len) | (long)(flags & 0xFFFF) << 32 | (long)(next & 0xFFFF) << 48));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // an indirect table entry, at an absolute address the caller translated and bounded
    // ---------------------------------------------------------------------------------------------------------------

    /** @param entry absolute address of a table entry. @return its {@code addr}, plain load. */
    static long lpTableAddr(final long entry)
    {
        return le64(UnsafeApi.getLong(null, entry + DESC_ADDR_OFFSET));
    }

    /** @param entry absolute address of a table entry. @return its {@code len} (u32 in an int), plain load. */
    static int lpTableLen(final long entry)
    {
        return le32(UnsafeApi.getInt(null, entry + DESC_LEN_OFFSET));
    }

    /** @param entry absolute address of a table entry. @return its {@code flags} (u16), plain load. */
    static int lpTableFlags(final long entry)
    {
        return le16(UnsafeApi.getShort(null, entry + DESC_FLAGS_OFFSET)) & 0xFFFF;
    }

    /** @param entry absolute address of a table entry. @return its {@code next} (u16), plain load. */
    static int lpTableNext(final long entry)
    {
        return le16(UnsafeApi.getShort(null, entry + DESC_NEXT_OFFSET)) & 0xFFFF;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // available ring (driver writes, device reads)
    // ---------------------------------------------------------------------------------------------------------------

    /** @return {@code avail.flags}, plain load (a hint; read after {@link VirtioBarriers#virtioMb()}). */
    public int lpAvailFlags()
    {
        return le16(UnsafeApi.getShort(null, availAddress + AVAIL_FLAGS_OFFSET)) & 0xFFFF;
    }

    /** @param flags {@code avail.flags}, plain store. */
    public void spAvailFlags(final int flags)
    {
        UnsafeApi.putShort(null, availAddress + AVAIL_FLAGS_OFFSET, le16((short)flags));
    }

    /** @return {@code avail.idx}, opaque load; the device follows it with {@link VirtioBarriers#virtioRmb()}. */
    public int loAvailIdx()
    {
        return le16(UnsafeApi.getShortOpaque(null, availIdxAddress)) & 0xFFFF;
    }

    /** @param idx {@code avail.idx}, opaque store; the driver precedes it with {@link VirtioBarriers#virtioWmb()}. */
    public void soAvailIdx(final int idx)
    {
        UnsafeApi.putShortOpaque(null, availIdxAddress, le16((short)idx));
    }

    /** @param slot {@code idx & (num - 1)}. @return {@code avail.ring[slot]} (u16), plain load. */
    public int lpAvailRing(final int slot)
    {
        return le16(UnsafeApi.getShort(null, availAddress + availRingOffset(slot & mask))) & 0xFFFF;
    }

    /** @param slot {@code idx & (num - 1)}. @param head descriptor index, plain store. */
    public void spAvailRing(final int slot, final int head)
    {
        UnsafeApi.putShort(null, availAddress + availRingOffset(slot & mask), le16((short)head));
    }

    /** @return {@code used_event} (u16), opaque load; the device reads it after {@link VirtioBarriers#virtioMb()}. */
    public int loUsedEvent()
    {
        return le16(UnsafeApi.getShortOpaque(null, usedEventAddress)) & 0xFFFF;
    }

    /** @param idx {@code used_event}, opaque store by the driver. */
    public void soUsedEvent(final int idx)
    {
        UnsafeApi.putShortOpaque(null, usedEventAddress, le16((short)idx));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // used ring (device writes, driver reads)
    // ---------------------------------------------------------------------------------------------------------------

    /** @return {@code used.flags}, plain load (a hint; read after {@link VirtioBarriers#virtioMb()}). */
    public int lpUsedFlags()
    {
        return le16(UnsafeApi.getShort(null, usedAddress + USED_FLAGS_OFFSET)) & 0xFFFF;
    }

    /** @param flags {@code used.flags}, plain store. */
    public void spUsedFlags(final int flags)
    {
        UnsafeApi.putShort(null, usedAddress + USED_FLAGS_OFFSET, le16((short)flags));
    }

    /** @return {@code used.idx}, opaque load; the driver follows it with {@link VirtioBarriers#virtioRmb()}. */
    public int loUsedIdx()
    {
        return le16(UnsafeApi.getShortOpaque(null, usedIdxAddress)) & 0xFFFF;
    }

    /** @param idx {@code used.idx}, opaque store; the device precedes it with {@link VirtioBarriers#virtioWmb()}. */
    public void soUsedIdx(final int idx)
    {
        UnsafeApi.putShortOpaque(null, usedIdxAddress, le16((short)idx));
    }

    /** @param slot {@code idx & (num - 1)}. @return {@code used.ring[slot].id} (u32 in an int), plain load. */
    public int lpUsedId(final int slot)
    {
        return le32(UnsafeApi.getInt(null, usedAddress + usedElemOffset(slot & mask) + USED_ELEM_ID_OFFSET));
    }

    /** @param slot {@code idx & (num - 1)}. @return {@code used.ring[slot].len} (u32 in an int), plain load. */
    public int lpUsedLen(final int slot)
    {
        return le32(UnsafeApi.getInt(null, usedAddress + usedElemOffset(slot & mask) + USED_ELEM_LEN_OFFSET));
    }

    /**
     * Plain store of a used element.
     *
     * @param slot {@code idx & (num - 1)}.
     * @param id   head of the chain.
     * @param len  bytes written into the chain.
     */
    public void spUsedElem(final int slot, final int id, final int len)
    {
        final long at = usedAddress + usedElemOffset(slot & mask);
        UnsafeApi.putInt(null, at + USED_ELEM_ID_OFFSET, le32(id));
        UnsafeApi.putInt(null, at + USED_ELEM_LEN_OFFSET, le32(len));
    }

    /** @return {@code avail_event} (u16), opaque load; the driver reads it after {@link VirtioBarriers#virtioMb()}. */
    public int loAvailEvent()
    {
        return le16(UnsafeApi.getShortOpaque(null, availEventAddress)) & 0xFFFF;
    }

    /** @param idx {@code avail_event}, opaque store by the device. */
    public void soAvailEvent(final int idx)
    {
        UnsafeApi.putShortOpaque(null, availEventAddress, le16((short)idx));
    }
}
