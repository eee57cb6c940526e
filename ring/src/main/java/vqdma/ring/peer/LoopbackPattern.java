package vqdma.ring.peer;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

/**
 * The loopback device's output (protocol v1): the CRC32C of everything readable in the first four writable bytes,
 * little-endian, then byte {@code (head + p) & 0xFF} at every later writable position {@code p}. This class holds
 * the repeating byte sequence both sides use to write or check that pattern a run at a time, and the peers' other
 * per-byte work (filling, comparing) done eight bytes at a time, as the C peer's {@code memset}/{@code memcmp}/
 * {@code memcpy} do.
 * <p>
 * These helpers access guest memory at raw addresses, without {@link UnsafeBuffer}'s per-access bounds check: every
 * range they are given is either one the driver allocated itself in the mapping, or a run the device's
 * {@code DeviceView} translated and checked against guest memory. A location is the guest memory buffer's base
 * object and address ({@link UnsafeBuffer#byteArray()}, {@link UnsafeBuffer#addressOffset()} + GPA), taken once by
 * each peer.
 */
final class LoopbackPattern
{
    /** Bytes the pattern starts after: the CRC. */
    static final int CRC_BYTES = 4;

    private static final int CHUNK = 64 * 1024;
    private static final byte[] SEQUENCE = sequence();
    private static final long SEQUENCE_BASE = UnsafeApi.arrayBaseOffset(byte[].class);
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private LoopbackPattern()
    {
    }

    private static byte[] sequence()
    {
        final byte[] bytes = new byte[CHUNK + 256];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)i;
        }
        return bytes;
    }

    /** @param head chain head. @param p writable position. @return the pattern byte at {@code p}. */
    static byte at(final int head, final long p)
    {
        return (byte)(head + p);
    }

    /**
     * Writes the pattern for positions {@code [p, p + len)} at the address.
     *
     * @param base    guest memory's base object (null off-heap).
     * @param address where position {@code p} goes.
     * @param head  chain head.
     * @param p     first writable position, {@code >= CRC_BYTES}.
     * @param len   bytes.
     */
    static void write(final byte[] base, final long address, final int head, final long p, final long len)
    {
        long done = 0;
        while (done < len)
        {
            final int n = (int)Math.min(len - done, CHUNK);
            final long from = SEQUENCE_BASE + ((head + p + done) & 0xFF);
            if (n < 8 || n > 256)
            {
                UnsafeApi.copyMemory(SEQUENCE, from, base, address + done, n);
            }
            else
            {
                // Short runs, the common case: eight bytes at a time, the tail as the last eight (overlapping).
                // Copying 8 to 256 bytes this way costs less than copyMemory's call.
                int j = 0;
                for (; j + 8 <= n; j += 8)
                {
                    UnsafeApi.putLong(base, address + done + j, UnsafeApi.getLong(SEQUENCE, from + j));
                }
                if (j < n)
                {
                    UnsafeApi.putLong(base, address + done + n - 8, UnsafeApi.getLong(SEQUENCE, from + n - 8));
                }
            }
            done += n;
        }
    }

    /**
     * Compares the bytes at the address with the pattern for positions {@code [p, p + len)}, eight bytes at a time.
     *
     * @return how many leading bytes match ({@code len} if all do).
     */
    static int matchingPrefix(final byte[] base, final long address, final int head, final long p, final int len)
    {
        final long from = SEQUENCE_BASE + ((head + p) & 0xFF);
        int i = 0;
        while (i < len)
        {
            final int n = Math.min(len - i, CHUNK);
            int j = 0;
            for (; j + 8 <= n; j += 8)
            {
                if (UnsafeApi.getLong(base, address + i + j) != UnsafeApi.getLong(SEQUENCE, from + j))
                {
                    break;
                }
            }
            if (j < n && j + 8 > n && n >= 8 &&
                UnsafeApi.getLong(base, address + i + n - 8) == UnsafeApi.getLong(SEQUENCE, from + n - 8))
            {
                j = n; // the tail, compared as the last eight bytes (overlapping what was compared already)
            }
            for (; j < n; j++)
            {
                if (UnsafeApi.getByte(base, address + i + j) != UnsafeApi.getByte(SEQUENCE, from + j))
                {
                    return i + j;
                }
            }
            i += n;
        }
        return len;
    }

    /** @return how many of the {@code len} bytes at the address are {@code poison}, from the first on. */
    static int poisonPrefix(final byte[] base, final long address, final int len, final byte poison)
    {
        final long eight = (poison & 0xFFL) * 0x0101010101010101L;
        if (len < 8)
        {
            // Short runs as memcmp compares them: two overlapping loads that cover the run; bytes only on a mismatch.
            if (len >= 4 ? UnsafeApi.getInt(base, address) == (int)eight &&
                UnsafeApi.getInt(base, address + len - 4) == (int)eight :
                len >= 2 ? UnsafeApi.getShort(base, address) == (short)eight &&
                    UnsafeApi.getShort(base, address + len - 2) == (short)eight :
                len == 0 || UnsafeApi.getByte(base, address) == poison)
            {
                return len;
            }
        }
        int j = 0;
        for (; j + 8 <= len; j += 8)
        {
            if (UnsafeApi.getLong(base, address + j) != eight)
            {
                break;
            }
        }
        if (j < len && j + 8 > len && len >= 8 && UnsafeApi.getLong(base, address + len - 8) == eight)
        {
            return len;
        }
        for (; j < len; j++)
        {
            if (UnsafeApi.getByte(base, address + j) != poison)
            {
                return j;
            }
        }
        return len;
    }

    /** Fills {@code len} bytes at the address with {@code value}, eight bytes at a time. */
    static void fill(final byte[] base, final long address, final int len, final byte value)
    {
        final long eight = (value & 0xFFL) * 0x0101010101010101L;
        if (len >= 8)
        {
            int j = 0;
            for (; j + 8 <= len; j += 8)
            {
                UnsafeApi.putLong(base, address + j, eight);
            }
            if (j < len)
            {
                UnsafeApi.putLong(base, address + len - 8, eight); // the tail, overlapping
            }
        }
        else
        {
            putLowBytes(base, address, eight, len); // short runs as memset writes them: two overlapping stores
        }
    }

    /** Stores {@code v} at the address in native order (random bytes: the order does not matter). */
    static void putLong(final byte[] base, final long address, final long v)
    {
        UnsafeApi.putLong(base, address, v);
    }

    /**
     * Stores the {@code n} (0..7) low-order bytes of {@code v}, lowest first, as {@code memcpy(p, &v, n)} does on a
     * little-endian machine: with two overlapping stores (each byte of the overlap gets the same value from both),
     * byte by byte on a big-endian one.
     */
    static void putLowBytes(final byte[] base, final long address, final long v, final int n)
    {
        if (!LITTLE_ENDIAN)
        {
            long w = v;
            for (int i = 0; i < n; i++, w >>>= 8)
            {
                UnsafeApi.putByte(base, address + i, (byte)w);
            }
        }
        else if (n >= 4)
        {
            UnsafeApi.putInt(base, address, (int)v);
            UnsafeApi.putInt(base, address + n - 4, (int)(v >>> ((n - 4) * 8)));
        }
        else if (n >= 2)
        {
            UnsafeApi.putShort(base, address, (short)v);
            UnsafeApi.putShort(base, address + n - 2, (short)(v >>> ((n - 2) * 8)));
        }
        else if (n == 1)
        {
            UnsafeApi.putByte(base, address, (byte)v);
        }
    }

    /** Stores a byte at the address. */
    static void putByte(final byte[] base, final long address, final byte v)
    {
        UnsafeApi.putByte(base, address, v);
    }

    /** @return the byte at the address. */
    static byte getByte(final byte[] base, final long address)
    {
        return UnsafeApi.getByte(base, address);
    }
}
