package vqdma.ring;

/**
 * A reusable scatter-gather list for one request: device-readable buffers first ("out"), then device-writable
 * ("in"), as {@code virtqueue_add_sgs(vq, sgs, out_sgs, in_sgs, ...)} takes them. Each entry is a guest-physical
 * address and a length (or, in premapped mode, a bus address the caller already mapped).
 * <p>
 * Fill it with {@link #clear()}, then {@link #out(long, int)} for every readable buffer, then
 * {@link #in(long, int)} for every writable one. Allocation-free: the arrays are sized once.
 * <pre>
 *   sg.clear().out(hdrGpa, 16).out(dataGpa, 4096).in(statusGpa, 1);
 *   int err = vq.add(sg, request);
 * </pre>
 */
public final class SgList
{
    private final long[] addr;
    private final int[] len;
    private int outCount;
    private int inCount;

    /**
     * @param capacity the largest number of buffers one request may have.
     */
    public SgList(final int capacity)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("capacity " + capacity + " must be >= 1");
        }
        addr = new long[capacity];
        len = new int[capacity];
    }

    /** @return this list, emptied. */
    public SgList clear()
    {
        outCount = 0;
        inCount = 0;
        return this;
    }

    /**
     * Appends a device-readable buffer.
     *
     * @param gpa    address of the buffer.
     * @param length bytes, {@code > 0}.
     * @return this list.
     * @throws IllegalStateException if a writable buffer was already added, or the list is full.
     */
    public SgList out(final long gpa, final int length)
    {
        if (inCount != 0)
        {
            throw new IllegalStateException("device-readable buffer added after " + inCount +
                " device-writable ones: readable buffers come first");
        }
        append(gpa, length);
        outCount++;
        return this;
    }

    /**
     * Appends a device-writable buffer.
     *
     * @param gpa    address of the buffer.
     * @param length bytes, {@code > 0}.
     * @return this list.
     * @throws IllegalStateException if the list is full.
     */
    public SgList in(final long gpa, final int length)
    {
        append(gpa, length);
        inCount++;
        return this;
    }

    private void append(final long gpa, final int length)
    {
        final int i = outCount + inCount;
        if (i == addr.length)
        {
            throw new IllegalStateException("scatter-gather list full at " + addr.length + " entries");
        }
        if (length <= 0)
        {
            throw new IllegalArgumentException("buffer length " + length + " at entry " + i + " must be > 0");
        }
        addr[i] = gpa;
        len[i] = length;
    }

    /** @return number of device-readable buffers. */
    public int outCount()
    {
        return outCount;
    }

    /** @return number of device-writable buffers. */
    public int inCount()
    {
        return inCount;
    }

    /** @return total number of buffers. */
    public int size()
    {
        return outCount + inCount;
    }

    /** @return the largest number of buffers this list can hold. */
    public int capacity()
    {
        return addr.length;
    }

    /** @param i entry. @return its address. */
    public long addr(final int i)
    {
        return addr[i];
    }

    /** @param i entry. @return its length. */
    public int len(final int i)
    {
        return len[i];
    }
}
