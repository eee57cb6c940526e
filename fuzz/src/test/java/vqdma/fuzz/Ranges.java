package vqdma.fuzz;

import java.util.Arrays;

/**
 * A set of half-open {@code [start, end)} ranges of guest-physical addresses, kept as unsorted pairs until queried,
 * then sorted and merged (adjacent ranges merge too). The oracles use it for "memory the device was given". Adding
 * the same ranges again and again (a target allows every step's grants) does not grow it without bound: a full
 * array is merged before it grows. Nothing is allocated once the arrays have their size.
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
            normalize();
            if (count > starts.length / 2)
            {
                starts = Arrays.copyOf(starts, starts.length * 2);
                ends = Arrays.copyOf(ends, ends.length * 2);
            }
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

    /**
     * Sorts and merges. The union of half-open ranges follows from their starts and ends sorted separately: sweeping
     * both in order, a range of the union opens where the number of open ranges goes from 0 to 1 and closes where it
     * returns to 0; at equal addresses starts come first, so that adjacent ranges merge.
     */
    private void normalize()
    {
        if (normalized)
        {
            return;
        }
        Arrays.sort(starts, 0, count);
        Arrays.sort(ends, 0, count);
        int n = 0;
        int open = 0;
        int s = 0;
        int e = 0;
        long unionStart = 0;
        while (e < count)
        {
            if (s < count && starts[s] <= ends[e])
            {
                if (open++ == 0)
                {
                    unionStart = starts[s];
                }
                s++;
            }
            else
            {
                if (--open == 0)
                {
                    // n <= s - 1 < s and n <= e: writing entry n overwrites only what the sweep has read.
                    starts[n] = unionStart;
                    ends[n] = ends[e];
                    n++;
                }
                e++;
            }
        }
        count = n;
        normalized = true;
    }

    /**
     * @param address an address.
     * @return the end of the merged range that contains {@code address}, or -1 if none does.
     */
    long endOfRangeContaining(final long address)
    {
        normalize();
        final int i = lastStartingAtOrBefore(address);
        return i >= 0 && ends[i] > address ? ends[i] : -1;
    }

    private int lastStartingAtOrBefore(final long address)
    {
        int lo = 0;
        int hi = count - 1;
        int found = -1;
        while (lo <= hi)
        {
            final int mid = (lo + hi) >>> 1;
            if (starts[mid] <= address)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
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
        final int found = lastStartingAtOrBefore(start);
        return found >= 0 && ends[found] >= end;
    }

    /** @return the number of merged ranges. */
    int size()
    {
        normalize();
        return count;
    }

    /** @param i a merged range, below {@link #size()}. @return its start. */
    long start(final int i)
    {
        normalize();
        return starts[i];
    }

    /** @param i a merged range, below {@link #size()}. @return its end. */
    long end(final int i)
    {
        normalize();
        return ends[i];
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
