package vqdma.fuzz;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;

/**
 * "Nothing is ever written to memory the device (or the driver) was not given": a snapshot of the whole guest memory
 * taken before the code under test runs, and a byte-by-byte comparison afterwards in which every changed byte must lie
 * in a range that was explicitly allowed (the used ring, the buffers granted device-writable, the bounce pool...).
 * Guest memory in the targets is small (about 1 MiB), so a full copy is cheaper and stricter than a canary region:
 * every byte outside the allowed ranges is a canary.
 */
final class MemoryGuard
{
    private final GuestMemory memory;
    private final byte[] before;
    private final Ranges allowed = new Ranges();

    private MemoryGuard(final GuestMemory memory)
    {
        this.memory = memory;
        this.before = new byte[(int)memory.size()];
        memory.buffer().getBytes(0, before);
    }

    /** @return a guard holding a snapshot of {@code memory} as it is now. @param memory guest memory. */
    static MemoryGuard watch(final GuestMemory memory)
    {
        return new MemoryGuard(memory);
    }

    /** Allows writes to {@code [gpa, gpa + len)} (clipped to guest memory). @return this. */
    MemoryGuard allow(final long gpa, final long len)
    {
        if (len > 0)
        {
            final long end = len > memory.size() - gpa ? memory.size() : gpa + len;
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
     * Takes the harness's own write to {@code [gpa, gpa + len)} into the snapshot (the driver publishing
     * {@code avail.idx} while the device runs): those bytes now compare against what the harness wrote.
     *
     * @return this.
     */
    MemoryGuard refresh(final long gpa, final int len)
    {
        memory.buffer().getBytes((int)gpa, before, (int)gpa, len);
        return this;
    }

    /** @return the byte at {@code gpa} in the snapshot. */
    byte before(final long gpa)
    {
        return before[(int)gpa];
    }

    /**
     * @param context what ran, for the message.
     * @throws Invariant naming the first changed run of bytes that lies outside every allowed range.
     */
    void check(final String context)
    {
        final UnsafeBuffer mem = memory.buffer();
        final int size = before.length;
        final byte[] after = new byte[size];
        mem.getBytes(0, after);
        int i = 0;
        while (i < size)
        {
            final int m = java.util.Arrays.mismatch(before, i, size, after, i, size);
            if (m < 0)
            {
                return;
            }
            final int start = i + m;
            int end = start + 1;
            while (end < size && before[end] != after[end])
            {
                end++;
            }
            if (!allowed.covers(start, end))
            {
                throw new Invariant(String.format(
                    "%s: guest memory [0x%x, 0x%x) changed (first byte 0x%02x -> 0x%02x) but was never given " +
                    "to the writer; allowed: %s", context, start, end, before[start] & 0xFF, after[start] & 0xFF,
                    allowed));
            }
            i = end;
        }
    }
}
