package vqdma.ring;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;


/**
 * Padding before the hot fields of {@link DescriptorChain}: 128 bytes (two cache lines, for the adjacent-line prefetcher), so
 * that no neighbouring object in the heap shares a line with them. Byte fields leave no hole for the JVM's field
 * layout to fill with a subclass field.
 */
abstract class DescriptorChainPad0
{
    byte a000, a001, a002, a003, a004, a005, a006, a007, a008, a009, a010, a011, a012, a013, a014, a015;
    byte a016, a017, a018, a019, a020, a021, a022, a023, a024, a025, a026, a027, a028, a029, a030, a031;
    byte a032, a033, a034, a035, a036, a037, a038, a039, a040, a041, a042, a043, a044, a045, a046, a047;
    byte a048, a049, a050, a051, a052, a053, a054, a055, a056, a057, a058, a059, a060, a061, a062, a063;
    byte a064, a065, a066, a067, a068, a069, a070, a071, a072, a073, a074, a075, a076, a077, a078, a079;
    byte a080, a081, a082, a083, a084, a085, a086, a087, a088, a089, a090, a091, a092, a093, a094, a095;
    byte a096, a097, a098, a099, a100, a101, a102, a103, a104, a105, a106, a107, a108, a109, a110, a111;
    byte a112, a113, a114, a115, a116, a117, a118, a119, a120, a121, a122, a123, a124, a125, a126, a127;
}

/**
 * The chain's per-request fields, rewritten by the device thread on every pop. Padded on both sides: the chain is
 * allocated next to the driver's objects as often as not (a benchmark's or a test's set-up).
 */
abstract class DescriptorChainFields extends DescriptorChainPad0
{
    int head = -1;
    int descriptors;
    int outRuns;
    int inRuns;
    long readableBytes;
    long writableBytes;
}

/** Padding after the hot fields of {@link DescriptorChain}: 128 bytes. */
abstract class DescriptorChainPad1 extends DescriptorChainFields
{
    byte b000, b001, b002, b003, b004, b005, b006, b007, b008, b009, b010, b011, b012, b013, b014, b015;
    byte b016, b017, b018, b019, b020, b021, b022, b023, b024, b025, b026, b027, b028, b029, b030, b031;
    byte b032, b033, b034, b035, b036, b037, b038, b039, b040, b041, b042, b043, b044, b045, b046, b047;
    byte b048, b049, b050, b051, b052, b053, b054, b055, b056, b057, b058, b059, b060, b061, b062, b063;
    byte b064, b065, b066, b067, b068, b069, b070, b071, b072, b073, b074, b075, b076, b077, b078, b079;
    byte b080, b081, b082, b083, b084, b085, b086, b087, b088, b089, b090, b091, b092, b093, b094, b095;
    byte b096, b097, b098, b099, b100, b101, b102, b103, b104, b105, b106, b107, b108, b109, b110, b111;
    byte b112, b113, b114, b115, b116, b117, b118, b119, b120, b121, b122, b123, b124, b125, b126, b127;
}

/**
 * One request as the device sees it after {@link VhostVirtqueue#pop(DescriptorChain)} walked and checked it: the
 * head index and the chain translated into guest-physical runs, device-readable runs first, then device-writable
 * ones (vhost's iovec array with {@code out_num} and {@code in_num}).
 * <p>
 * Every run was translated and permission-checked through the queue's {@link vqdma.dma.DeviceView} during the
 * walk, so the device may copy from and to it directly. Reused for every pop: allocation-free.
 */
public final class DescriptorChain extends DescriptorChainPad1
{
    private final UnsafeBuffer mem;
    private final long[] gpa;
    private final long[] len;

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

    /** Records a walked chain: the device counted in locals and stores the totals once. */
    void set(final int head, final int descriptors, final int outRuns, final int inRuns, final long readableBytes,
        final long writableBytes)
    {
        this.head = head;
        this.descriptors = descriptors;
        this.outRuns = outRuns;
        this.inRuns = inRuns;
        this.readableBytes = readableBytes;
        this.writableBytes = writableBytes;
    }

    long[] gpaArray()
    {
        return gpa;
    }

    long[] lenArray()
    {
        return len;
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
