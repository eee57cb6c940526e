package vqdma.ring.peer;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The loopback device's output (protocol v1): the CRC32C of everything readable in the first four writable bytes,
 * little-endian, then byte {@code (head + p) & 0xFF} at every later writable position {@code p}. This class holds
 * the repeating byte sequence both sides use to write or check that pattern a run at a time.
 */
final class LoopbackPattern
{
    /** Bytes the pattern starts after: the CRC. */
    static final int CRC_BYTES = 4;

    private static final int CHUNK = 64 * 1024;
    private static final UnsafeBuffer SEQUENCE = sequence();

    private LoopbackPattern()
    {
    }

    private static UnsafeBuffer sequence()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[CHUNK + 256]);
        for (int i = 0; i < buffer.capacity(); i++)
        {
            buffer.putByte(i, (byte)i);
        }
        return buffer;
    }

    /** @param head chain head. @param p writable position. @return the pattern byte at {@code p}. */
    static byte at(final int head, final long p)
    {
        return (byte)(head + p);
    }

    /**
     * Writes the pattern for positions {@code [p, p + len)} at {@code mem[index ..]}.
     *
     * @param mem   memory.
     * @param index where position {@code p} goes.
     * @param head  chain head.
     * @param p     first writable position, {@code >= CRC_BYTES}.
     * @param len   bytes.
     */
    static void write(final UnsafeBuffer mem, final long index, final int head, final long p, final long len)
    {
        long done = 0;
        while (done < len)
        {
            final int n = (int)Math.min(len - done, CHUNK);
            mem.putBytes((int)(index + done), SEQUENCE, (int)((head + p + done) & 0xFF), n);
            done += n;
        }
    }

    /**
     * Compares {@code mem[index ..]} with the pattern for positions {@code [p, p + len)}, eight bytes at a time.
     *
     * @return how many leading bytes match ({@code len} if all do).
     */
    static int matchingPrefix(final UnsafeBuffer mem, final long index, final int head, final long p, final int len)
    {
        final int from = (int)((head + p) & 0xFF);
        int i = 0;
        while (i < len)
        {
            final int n = Math.min(len - i, CHUNK);
            int j = 0;
            for (; j + 8 <= n; j += 8)
            {
                if (mem.getLong((int)index + i + j) != SEQUENCE.getLong(from + j))
                {
                    break;
                }
            }
            for (; j < n; j++)
            {
                if (mem.getByte((int)index + i + j) != SEQUENCE.getByte(from + j))
                {
                    return i + j;
                }
            }
            i += n;
        }
        return len;
    }

    /** @return how many leading bytes of {@code mem[index .. index + len)} are {@code poison}. */
    static int poisonPrefix(final UnsafeBuffer mem, final long index, final int len, final byte poison)
    {
        final long eight = (poison & 0xFFL) * 0x0101010101010101L;
        int j = 0;
        for (; j + 8 <= len; j += 8)
        {
            if (mem.getLong((int)index + j) != eight)
            {
                break;
            }
        }
        for (; j < len; j++)
        {
            if (mem.getByte((int)index + j) != poison)
            {
                return j;
            }
        }
        return len;
    }
}
