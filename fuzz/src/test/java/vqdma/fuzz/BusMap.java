package vqdma.fuzz;

import java.util.Arrays;

/**
 * The oracle's own idea of which bus addresses reach which guest memory, and with what permission: built from what
 * the harness mapped, never from the code under test's translation. For dma-direct and SWIOTLB it is the identity
 * over all of guest memory (the device view adds checks the oracle does not need: an over-approximation only makes
 * the "written outside" check weaker, never wrong); for an IOMMU it is the pages of each mapping with the mapping's
 * permission.
 */
final class BusMap
{
    private long[] bus = new long[8];
    private long[] gpa = new long[8];
    private long[] len = new long[8];
    private boolean[] read = new boolean[8];
    private boolean[] write = new boolean[8];
    private int count;

    /** @return a map of {@code [0, size)} onto itself, readable and writable. @param size bytes of guest memory. */
    static BusMap identity(final long size)
    {
        return new BusMap().add(0, 0, size, true, true);
    }

    /** Forgets every range. @return this. */
    BusMap clear()
    {
        count = 0;
        return this;
    }

    /**
     * Adds a translated range.
     *
     * @return this.
     */
    BusMap add(final long busStart, final long gpaStart, final long length, final boolean r, final boolean w)
    {
        if (count == bus.length)
        {
            bus = Arrays.copyOf(bus, count * 2);
            gpa = Arrays.copyOf(gpa, count * 2);
            len = Arrays.copyOf(len, count * 2);
            read = Arrays.copyOf(read, count * 2);
            write = Arrays.copyOf(write, count * 2);
        }
        bus[count] = busStart;
        gpa[count] = gpaStart;
        len[count] = length;
        read[count] = r;
        write[count] = w;
        count++;
        return this;
    }

    private boolean permits(final int i, final boolean forWrite)
    {
        return forWrite ? write[i] : read[i];
    }

    /**
     * Adds to {@code out} the guest memory that {@code [busStart, busStart + length)} reaches with the permission
     * (an over-approximation: the parts that translate, even if other parts do not).
     */
    void translate(final long busStart, final long length, final boolean forWrite, final Ranges out)
    {
        // Bus addresses are unsigned: a "negative" one lies above every mapped range (which all start below 2^63).
        if (length <= 0 || busStart < 0)
        {
            return;
        }
        // Clip the end at 2^63 rather than go negative: still above every mapped range.
        final long busEnd = busStart + length < busStart ? Long.MAX_VALUE : busStart + length;
        for (int i = 0; i < count; i++)
        {
            if (!permits(i, forWrite))
            {
                continue;
            }
            final long from = Math.max(busStart, bus[i]);
            final long to = Math.min(busEnd, bus[i] + len[i]);
            if (from < to)
            {
                out.add(gpa[i] + (from - bus[i]), gpa[i] + (to - bus[i]));
            }
        }
    }

    /**
     * @return the guest address of {@code [busStart, busStart + length)} if one readable range holds all of it, else
     * -1.
     */
    long translateWhole(final long busStart, final long length)
    {
        for (int i = 0; i < count; i++)
        {
            if (read[i] && busStart >= bus[i] && length <= bus[i] + len[i] - busStart)
            {
                return gpa[i] + (busStart - bus[i]);
            }
        }
        return -1;
    }
}
