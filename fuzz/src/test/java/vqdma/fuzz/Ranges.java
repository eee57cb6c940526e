package vqdma.fuzz;

import java.util.Arrays;

/**
 * A set of half-open {@code [start, end)} ranges of guest-physical addresses, kept as unsorted pairs until queried,
 * then sorted and merged. The oracles use it for "memory the device was given".
 */
final class Ranges
{
    private long[] starts = new long[16];
    private long[] ends = new long[16];
    private int count;
    private boolean normalized = true;

    /** Adds {@code [start, end)}; empty or inverted ranges are ignored. @return this. */
    Ranges add(final long start, final long end)
    {
        if (end <= start)
        {
            return this;
        }
        if (count == starts.length)
        {
            starts = Arrays.copyOf(starts, count * 2);
            ends = Arrays.copyOf(ends, count * 2);
        }
        starts[count] = start;
        ends[count] = end;
        count++;
        normalized = false;
        return this;
    }

    /** Adds every range of {@code other}. @return this. */
    Ranges addAll(final Ranges other)
    {
        for (int i = 0; i < other.count; i++)
        {
            add(other.starts[i], other.ends[i]);
        }
        return this;
    }

    /** @return this, emptied. */
    Ranges clear()
    {
        count = 0;
        normalized = true;
        return this;
    }

    private void normalize()
    {
        if (normalized)
        {
            return;
        }
        final Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(starts[a], starts[b]));
        final long[] s = new long[Math.max(16, count)];
        final long[] e = new long[s.length];
        int n = 0;
        for (final int i : order)
        {
            if (n > 0 && starts[i] <= e[n - 1])
            {
                e[n - 1] = Math.max(e[n - 1], ends[i]);
            }
            else
            {
                s[n] = starts[i];
                e[n] = ends[i];
                n++;
            }
        }
        starts = s;
        ends = e;
        count = n;
        normalized = true;
    }

    /** @return true if every address of {@code [start, end)} lies in the set (an empty range is covered). */
    boolean covers(final long start, final long end)
    {
        if (end <= start)
        {
            return true;
        }
        normalize();
        // The last merged range starting at or before 'start' must reach 'end'.
        int lo = 0;
        int hi = count - 1;
        int found = -1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (starts[mid] <= start)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found >= 0 && ends[found] >= end;
    }

    /** @return the number of merged ranges. */
    int size()
    {
        normalize();
        return count;
    }

    @Override
    public String toString()
    {
        normalize();
        final StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < count; i++)
        {
            b.append(i == 0 ? "" : ", ").append(String.format("[0x%x, 0x%x)", starts[i], ends[i]));
        }
        return b.append('}').toString();
    }
}
