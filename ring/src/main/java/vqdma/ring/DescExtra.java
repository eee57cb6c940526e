package vqdma.ring;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The driver's private record of its descriptors, off-heap: per descriptor index the kernel's
 * {@code struct vring_desc_extra} (what the driver wrote: address, length, flags, and the free list through
 * {@code next}), and, for an index that heads a request, the part of {@code struct vring_desc_state_split} that is
 * not the caller's token (the request's device-writable bytes, and its indirect table).
 * <pre>
 *   entry i, 32 bytes, native byte order (private memory: the device never sees it)
 *    0                   8           12      14      16                  24          28
 *   +-------------------+-----------+-------+-------+-------------------+-----------+-----------+
 *   | addr (bus)        | len       | flags | next  | writable bytes    | indirect  | (unused)  |
 *   +-------------------+-----------+-------+-------+-------------------+-----------+-----------+
 *   desc_extra[i] ...................................  desc_state[i] (when i is a head) .........
 * </pre>
 * Why not Java arrays: a request touches its descriptors' records in {@code add} and again in {@code get_buf};
 * seven parallel arrays meant seven array headers and bounds checks per access, and seven cache lines apart for
 * one descriptor. Here one entry is half a cache line, and every index is masked with {@code num - 1} before it
 * becomes an address, so no value (not even a wrong one from a bug) can reach outside the table. Nothing here is
 * shared with the device, so plain accesses are all that is needed.
 */
final class DescExtra
{
    static final int ENTRY_SIZE = 32;
    static final int ADDR_OFFSET = 0;
    static final int LEN_OFFSET = 8;
    static final int FLAGS_OFFSET = 12;
    static final int NEXT_OFFSET = 14;
    static final int WRITABLE_OFFSET = 16;
    static final int INDIRECT_OFFSET = 24;

    /** Keeps the off-heap memory alive as long as this table. */
    private final ByteBuffer memory;
    private final long base;
    private final int mask;

    /**
     * @param num queue size, a power of two.
     */
    DescExtra(final int num)
    {
        // One cache line more, to start the table on a line boundary: entry i and i + 1 share a line, never three.
        this.memory = ByteBuffer.allocateDirect(num * ENTRY_SIZE + 64);
        final long address = new UnsafeBuffer(memory).addressOffset();
        this.base = (address + 63) & ~63L;
        this.mask = num - 1; // allocateDirect zeroed the memory
    }

    private long at(final int i)
    {
        return base + (long)(i & mask) * ENTRY_SIZE;
    }

    /** @param i descriptor index. @return the bus address the driver wrote. */
    long addr(final int i)
    {
        return UnsafeApi.getLong(null, at(i) + ADDR_OFFSET);
    }

    /** @param i descriptor index. @return the length the driver wrote. */
    int len(final int i)
    {
        return UnsafeApi.getInt(null, at(i) + LEN_OFFSET);
    }

    /** @param i descriptor index. @return the flags the driver wrote. */
    int flags(final int i)
    {
        return UnsafeApi.getShort(null, at(i) + FLAGS_OFFSET) & 0xFFFF;
    }

    /** @param i descriptor index. @return the next descriptor in the chain or the free list. */
    int next(final int i)
    {
        return UnsafeApi.getShort(null, at(i) + NEXT_OFFSET) & 0xFFFF;
    }

    /**
     * Records what the driver wrote into descriptor {@code i}: two 8-byte stores, the second carrying {@code len},
     * {@code flags} and {@code next} together.
     */
    void set(final int i, final long addr, final int len, final int flags, final int next)
    {
        final long at = at(i);
        UnsafeApi.putLong(null, at + ADDR_OFFSET, addr);
        UnsafeApi.putLong(null, at + LEN_OFFSET, pack(len, flags, next));
    }

    /** @return {@code len}, {@code flags} and {@code next} as the 8 bytes they occupy from {@link #LEN_OFFSET}. */
    private static long pack(final int len, final int flags, final int next)
    {
        return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ?
            Integer.toUnsignedLong(len) | (long)(flags & 0xFFFF) << 32 | (long)(next & 0xFFFF) << 48 :
            (long)len << 32 | (long)(flags & 0xFFFF) << 16 | (next & 0xFFFF);
    }

    /** @param i descriptor index. @param next its successor in the chain or the free list. */
    void setNext(final int i, final int next)
    {
        UnsafeApi.putShort(null, at(i) + NEXT_OFFSET, (short)next);
    }

    /** @param head a head in flight. @return the request's device-writable bytes. */
    long writable(final int head)
    {
        return UnsafeApi.getLong(null, at(head) + WRITABLE_OFFSET);
    }

    /** @param head a head in flight. @return its indirect table's number in the pool, or -1. */
    int indirect(final int head)
    {
        return UnsafeApi.getInt(null, at(head) + INDIRECT_OFFSET);
    }

    /** Records a request at {@code head}: its device-writable bytes and indirect table (or -1). */
    void setState(final int head, final long writable, final int indirect)
    {
        final long at = at(head);
        UnsafeApi.putLong(null, at + WRITABLE_OFFSET, writable);
        UnsafeApi.putInt(null, at + INDIRECT_OFFSET, indirect);
    }
}
