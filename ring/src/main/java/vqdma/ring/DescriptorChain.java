package vqdma.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One request as the device sees it after {@link VhostVirtqueue#pop(DescriptorChain)} walked and checked it: the
 * head index and the chain translated into guest-physical runs, device-readable runs first, then device-writable
 * ones (vhost's iovec array with {@code out_num} and {@code in_num}).
 * <p>
 * Every run was translated and permission-checked through the queue's {@link vqdma.dma.DeviceView} during the
 * walk, so the device may copy from and to it directly. Reused for every pop: allocation-free.
 */
public final class DescriptorChain
{
    private final UnsafeBuffer mem;
    private final long[] gpa;
    private final long[] len;
    private int head = -1;
    private int descriptors;
    private int outRuns;
    private int inRuns;
    private long readableBytes;
    private long writableBytes;

    /**
     * @param mem     the guest memory buffer (index = GPA) the runs point into.
     * @param maxRuns capacity in runs: a chain that translates into more is refused.
     */
    DescriptorChain(final UnsafeBuffer mem, final int maxRuns)
    {
        this.mem = mem;
        this.gpa = new long[maxRuns];
        this.len = new long[maxRuns];
    }

    void reset(final int head)
    {
        this.head = head;
        descriptors = 0;
        outRuns = 0;
        inRuns = 0;
        readableBytes = 0;
        writableBytes = 0;
    }

    long[] gpaArray()
    {
        return gpa;
    }

    long[] lenArray()
    {
        return len;
    }

    int runs()
    {
        return outRuns + inRuns;
    }

    void addRuns(final int runs, final long bytes, final boolean write)
    {
        descriptors++;
        if (write)
        {
            inRuns += runs;
            writableBytes += bytes;
        }
        else
        {
            outRuns += runs;
            readableBytes += bytes;
        }
    }

    /**
     * @return guest memory as one buffer indexed by GPA: {@code memory().getLong((int)runGpa(i))} reads run
     * {@code i} in place, for handlers that access small buffers without copying them.
     */
    public UnsafeBuffer memory()
    {
        return mem;
    }

    /** @return the head descriptor index: the id to return in the used ring. */
    public int head()
    {
        return head;
    }

    /** @return descriptors in the chain (for an indirect chain: entries of the table). */
    public int descriptors()
    {
        return descriptors;
    }

    /** @return number of device-readable runs; they are runs {@code 0 .. outRuns() - 1}. */
    public int outRuns()
    {
        return outRuns;
    }

    /** @return number of device-writable runs; they follow the readable ones. */
    public int inRuns()
    {
        return inRuns;
    }

    /** @param i run index. @return GPA of run {@code i}. */
    public long runGpa(final int i)
    {
        return gpa[i];
    }

    /** @param i run index. @return length of run {@code i}. */
    public long runLen(final int i)
    {
        return len[i];
    }

    /** @return total device-readable bytes. */
    public long readableBytes()
    {
        return readableBytes;
    }

    /** @return total device-writable bytes. */
    public long writableBytes()
    {
        return writableBytes;
    }

    /**
     * Copies device-readable bytes, counted from the start of the chain's readable part, into {@code dst}
     * ({@code copy_from_iter}).
     *
     * @param offset   offset into the readable bytes.
     * @param dst      destination.
     * @param dstIndex offset in {@code dst}.
     * @param length   bytes; {@code offset + length <= readableBytes()}.
     */
    public void copyFromReadable(final long offset, final MutableDirectBuffer dst, final int dstIndex, final int length)
    {
        if (offset < 0 || length < 0 || offset + length > readableBytes)
        {
            throw new IndexOutOfBoundsException("readable range " + offset + "+" + length + " outside " +
                readableBytes + " readable bytes");
        }
        copy(0, outRuns, offset, dst, dstIndex, length, false);
    }

    /**
     * Copies bytes into the chain's device-writable part, counted from its start ({@code copy_to_iter}).
     *
     * @param offset   offset into the writable bytes.
     * @param src      source.
     * @param srcIndex offset in {@code src}.
     * @param length   bytes; {@code offset + length <= writableBytes()}.
     */
    public void copyToWritable(final long offset, final MutableDirectBuffer src, final int srcIndex, final int length)
    {
        if (offset < 0 || length < 0 || offset + length > writableBytes)
        {
            throw new IndexOutOfBoundsException("writable range " + offset + "+" + length + " outside " +
                writableBytes + " writable bytes");
        }
        copy(outRuns, outRuns + inRuns, offset, src, srcIndex, length, true);
    }

    private void copy(
        final int firstRun, final int endRun, final long offset, final MutableDirectBuffer buf, final int index,
        final int length, final boolean toGuest)
    {
        long skip = offset;
        int done = 0;
        for (int r = firstRun; r < endRun && done < length; r++)
        {
            final long runLen = len[r];
            if (skip >= runLen)
            {
                skip -= runLen;
                continue;
            }
            final int n = (int)Math.min(runLen - skip, length - done);
            final int at = (int)(gpa[r] + skip);
            if (toGuest)
            {
                mem.putBytes(at, buf, index + done, n);
            }
            else
            {
                buf.putBytes(index + done, mem, at, n);
            }
            done += n;
            skip = 0;
        }
    }
}
