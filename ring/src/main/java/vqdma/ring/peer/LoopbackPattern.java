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
     * @return the first position in {@code [p, p + len)} whose byte differs from the pattern, or -1.
     */
    static long firstMismatch(final UnsafeBuffer mem, final long index, final int head, final long p, final long len)
    {
        for (long i = 0; i < len; i++)
        {
            if (mem.getByte((int)(index + i)) != at(head, p + i))
            {
                return p + i;
            }
        }
        return -1;
    }
}
