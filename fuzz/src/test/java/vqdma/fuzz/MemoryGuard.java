package vqdma.fuzz;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;

import java.nio.ByteBuffer;

/**
 * "Nothing is ever written to memory the device (or the driver) was not given", checked over the whole guest memory,
 * and the reset of that memory between inputs.
 * <p>
 * The guard keeps two images of guest memory on the heap: the <em>baseline</em>, what memory holds after the set-up
 * done once per process ({@link #rebase()}), and the <em>expected</em> contents of the input that runs. An input goes
 * through four calls:
 * <ol>
 *   <li>{@link #restore()}, first: memory and the expected image are put back to the baseline;</li>
 *   <li>the input's own set-up writes memory (rings, tables, the bounce copies its mappings make) and names every
 *   range it wrote with {@link #refresh}, then calls {@link #watch()}: from here on, every byte is checked;</li>
 *   <li>while the code under test runs, {@link #allow} names what it may write, and {@link #refresh} takes in the
 *   harness's own writes (publishing {@code avail.idx});</li>
 *   <li>{@link #check} compares all of memory with the expected image: every changed byte must lie in an allowed
 *   range. It is the input's last access to memory.</li>
 * </ol>
 * A set-up write not named by {@link #refresh} is reported by {@link #check} like any other: the guard trusts no
 * write it was not told about. Comparing is one vectorized pass ({@link ByteBuffer#mismatch}) that stops only where
 * bytes differ; wherever they do, the guard notes the 1 KiB chunk, so that {@link #restore()} copies back only what
 * an input changed (and what it refreshed). An input that did not reach the end of a successful {@link #check} (an
 * exception, a finding) may have changed anything: the next restore copies all of memory back.
 */
final class MemoryGuard
{
    /** Granule of the reset: a difference restores at most this much around it. */
    private static final int CHUNK = 1024;

    private final UnsafeBuffer mem;
    private final ByteBuffer memView;
    private final int size;
    private final byte[] baseline;
    private final byte[] expected;
    private final ByteBuffer expectedView;
    private final Ranges allowed = new Ranges();
    private final Ranges dirty = new Ranges();
    /** True when {@link #dirty} covers every byte where memory or the expected image differ from the baseline. */
    private boolean tracked;

    /** @param memory guest memory; its contents now are the first baseline. */
    MemoryGuard(final GuestMemory memory)
    {
        this.mem = memory.buffer();
        this.memView = memory.newByteBufferView();
        this.size = (int)memory.size();
        this.baseline = new byte[size];
        this.expected = new byte[size];
        this.expectedView = ByteBuffer.wrap(expected);
        rebase();
    }

    /** Takes the contents of memory now as the baseline every {@link #restore()} returns to (once per process). */
    void rebase()
    {
        mem.getBytes(0, baseline);
        System.arraycopy(baseline, 0, expected, 0, size);
        dirty.clear();
        allowed.clear();
        tracked = true;
    }

    /**
     * Puts memory back to the baseline (what an input changed, or everything if the last input did not end with a
     * successful {@link #check}) and forgets the allowed ranges. The first call of every input.
     */
    void restore()
    {
        if (tracked)
        {
            for (int i = 0; i < dirty.size(); i++)
            {
                final int start = (int)dirty.start(i);
                final int len = (int)dirty.end(i) - start;
                mem.putBytes(start, baseline, start, len);
                System.arraycopy(baseline, start, expected, start, len);
            }
        }
        else
        {
            mem.putBytes(0, baseline);
            System.arraycopy(baseline, 0, expected, 0, size);
        }
        dirty.clear();
        allowed.clear();
        tracked = false;
    }

    /**
     * Ends the input's set-up: from here on, a byte that differs from the baseline (or from what {@link #refresh}
     * took in) must lie in an allowed range. Allowed ranges start empty.
     */
    void watch()
    {
        allowed.clear();
    }

    /** Allows writes to {@code [gpa, gpa + len)} (clipped to guest memory). @return this. */
    MemoryGuard allow(final long gpa, final long len)
    {
        if (len > 0)
        {
            final long end = len > size - gpa ? size : gpa + len;
            allowed.add(Math.max(0, gpa), end);
        }
        return this;
    }

    /** Allows writes to every range of {@code ranges}. @return this. */
    MemoryGuard allowAll(final Ranges ranges)
    {
        allowed.addAll(ranges);
        return this;
    }

    /**
     * Takes a write of the harness (or of the input's set-up) to {@code [gpa, gpa + len)} into the expected image:
     * those bytes now compare against what memory holds now. Clipped to guest memory.
     *
     * @return this.
     */
    MemoryGuard refresh(final long gpa, final long len)
    {
        final long from = Math.max(0, gpa);
        final long to = len > size - gpa ? size : gpa + len;
        if (from < to)
        {
            mem.getBytes((int)from, expected, (int)from, (int)(to - from));
            dirty.add(from, to);
        }
        return this;
    }

    /**
     * @param context what ran, for the message.
     * @throws Invariant naming the first run of changed bytes that lies outside every allowed range.
     */
    void check(final Object context)
    {
        int i = 0;
        while (i < size)
        {
            final int m = mismatch(i);
            if (m < 0)
            {
                break;
            }
            final long allowedEnd = allowed.endOfRangeContaining(m);
            if (allowedEnd < 0)
            {
                int end = m + 1;
                while (end < size && mem.getByte(end) != expected[end] && allowed.endOfRangeContaining(end) < 0)
                {
                    end++;
                }
                throw new Invariant(String.format(
                    "%s: guest memory [0x%x, 0x%x) changed (first byte 0x%02x -> 0x%02x) but was never given " +
                    "to the writer; allowed: %s", context, m, end, expected[m] & 0xFF, mem.getByte(m) & 0xFF,
                    allowed));
            }
            final int end = (int)Math.min(allowedEnd, chunkEnd(m));
            dirty.add(m, end);
            i = end;
        }
        tracked = true;
    }

    /** @return the first index at or after {@code from} where memory and the expected image differ, or -1. */
    private int mismatch(final int from)
    {
        memView.limit(size).position(from);
        expectedView.limit(size).position(from);
        final int m = memView.mismatch(expectedView);
        return m < 0 ? -1 : from + m;
    }

    private int chunkEnd(final int index)
    {
        return Math.min(size, (index & -CHUNK) + CHUNK);
    }
}
