package vqdma.fuzz;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.PackedRingDescriptor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static vqdma.ring.SplitRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The oracle of "what the driver gave the device": read straight from the descriptor table as it is in guest memory
 * now (and from every table an INDIRECT descriptor points to), independently of the device's walk. Every descriptor
 * with {@code VRING_DESC_F_WRITE} grants its buffer for writing, every other one for reading, whether or not it is
 * reachable from a head: an over-approximation, so a device access outside it is certainly a bug. The same for the
 * packed ring ({@link #collectPacked}, {@link #updatePacked}), whose descriptors hold the flags at another offset
 * ({@link PackedRingDescriptor#DESC_FLAGS_OFFSET}) and whose AVAIL/USED bits the oracle ignores.
 * <p>
 * A target asks after every pop ({@link #update}), since the device may write into the tables (a driver can grant
 * them writable, or lay them over the used ring, which pop itself writes when it completes a bad chain). The grants
 * are a function of the bytes they were read from (the descriptor table and the indirect entries), the bus map, the
 * queue size and the layout alone, so an instance keeps a copy of those bytes and reads the tables again only when
 * one of them changed: the same grants, at the cost of a comparison.
 */
final class RingGrants
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final GuestMemory memory;
    private final ByteBuffer memoryView;
    private final Ranges reads = new Ranges();
    private final Ranges writes = new Ranges();
    private final Ranges source = new Ranges();
    private byte[] sourceBytes = new byte[4096];
    private boolean valid;
    /** Where the flags are in the descriptors the grants were read from (split or packed). */
    private int validFlagsOffset;

    /** @param memory the guest memory the rings of this instance live in. */
    RingGrants(final GuestMemory memory)
    {
        this.memory = memory;
        this.memoryView = memory.newByteBufferView();
    }

    /** Forgets the grants (a new input: another ring, another bus map). */
    void invalidate()
    {
        valid = false;
    }

    /**
     * Makes {@link #reads()} and {@link #writes()} the grants of the ring as it is in memory now.
     *
     * @param busMap  the oracle's translation of bus addresses (fixed since the last {@link #invalidate()}).
     * @param descGpa guest address of the descriptor table.
     * @param num     queue size.
     * @return true if they were read again (they may have changed), false if every byte they came from is as it was.
     */
    boolean update(final BusMap busMap, final long descGpa, final int num)
    {
        return update(busMap, descGpa, num, DESC_FLAGS_OFFSET);
    }

    /**
     * {@link #update} for a packed descriptor ring (and its packed indirect tables).
     *
     * @param busMap  the oracle's translation of bus addresses (fixed since the last {@link #invalidate()}).
     * @param descGpa guest address of the descriptor ring.
     * @param num     queue size.
     * @return true if they were read again (they may have changed), false if every byte they came from is as it was.
     */
    boolean updatePacked(final BusMap busMap, final long descGpa, final int num)
    {
        return update(busMap, descGpa, num, PackedRingDescriptor.DESC_FLAGS_OFFSET);
    }

    private boolean update(final BusMap busMap, final long descGpa, final int num, final int flagsOffset)
    {
        if (valid && flagsOffset == validFlagsOffset && unchanged())
        {
            return false;
        }
        reads.clear();
        writes.clear();
        source.clear();
        collect(memory, busMap, descGpa, num, reads, writes, source, flagsOffset);
        int bytes = 0;
        for (int i = 0; i < source.size(); i++)
        {
            bytes += (int)(source.end(i) - source.start(i));
        }
        if (bytes > sourceBytes.length)
        {
            sourceBytes = new byte[Math.max(bytes, 2 * sourceBytes.length)];
        }
        int at = 0;
        for (int i = 0; i < source.size(); i++)
        {
            final int len = (int)(source.end(i) - source.start(i));
            memory.buffer().getBytes((int)source.start(i), sourceBytes, at, len);
            at += len;
        }
        valid = true;
        validFlagsOffset = flagsOffset;
        return true;
    }

    private boolean unchanged()
    {
        final ByteBuffer copy = ByteBuffer.wrap(sourceBytes);
        int at = 0;
        for (int i = 0; i < source.size(); i++)
        {
            final int start = (int)source.start(i);
            final int len = (int)source.end(i) - start;
            memoryView.limit(start + len).position(start);
            copy.limit(at + len).position(at);
            if (memoryView.mismatch(copy) >= 0)
            {
                return false;
            }
            at += len;
        }
        return true;
    }

    /** @return guest memory granted for reading (valid after {@link #update}). */
    Ranges reads()
    {
        return reads;
    }

    /** @return guest memory granted for writing (valid after {@link #update}). */
    Ranges writes()
    {
        return writes;
    }

    /**
     * @param memory  guest memory.
     * @param busMap  the oracle's translation of bus addresses.
     * @param descGpa guest address of the descriptor table.
     * @param num     queue size.
     * @param reads   receives the readable grants.
     * @param writes  receives the writable grants.
     */
    static void collect(
        final GuestMemory memory, final BusMap busMap, final long descGpa, final int num, final Ranges reads,
        final Ranges writes)
    {
        collect(memory, busMap, descGpa, num, reads, writes, null, DESC_FLAGS_OFFSET);
    }

    /**
     * {@link #collect} for a packed descriptor ring (and its packed indirect tables).
     *
     * @param memory  guest memory.
     * @param busMap  the oracle's translation of bus addresses.
     * @param descGpa guest address of the descriptor ring.
     * @param num     queue size.
     * @param reads   receives the readable grants.
     * @param writes  receives the writable grants.
     */
    static void collectPacked(
        final GuestMemory memory, final BusMap busMap, final long descGpa, final int num, final Ranges reads,
        final Ranges writes)
    {
        collect(memory, busMap, descGpa, num, reads, writes, null, PackedRingDescriptor.DESC_FLAGS_OFFSET);
    }

    /**
     * {@link #collect(GuestMemory, BusMap, long, int, Ranges, Ranges)} with the descriptors' flags at
     * {@code flagsOffset}, noting every byte read in {@code source} (if not null).
     */
    private static void collect(
        final GuestMemory memory, final BusMap busMap, final long descGpa, final int num, final Ranges reads,
        final Ranges writes, final Ranges source, final int flagsOffset)
    {
        final UnsafeBuffer mem = memory.buffer();
        final long size = memory.size();
        if (source != null)
        {
            source.add(descGpa, descGpa + (long)num * DESC_SIZE);
        }
        for (int i = 0; i < num; i++)
        {
            final int at = (int)descGpa + descOffset(i);
            final long addr = mem.getLong(at + DESC_ADDR_OFFSET, LE);
            final long len = Integer.toUnsignedLong(mem.getInt(at + DESC_LEN_OFFSET, LE));
            final int flags = mem.getShort(at + flagsOffset, LE) & 0xFFFF;
            if ((flags & VRING_DESC_F_INDIRECT) != 0)
            {
                final long entries = Math.min(len / DESC_SIZE, num);
                for (long j = 0; j < entries; j++)
                {
                    final long entryGpa = busMap.translateWhole(addr + j * DESC_SIZE, DESC_SIZE);
                    // The oracle's own bounds check (GuestMemory.contains is code under test, instrumented).
                    if (entryGpa < 0 || entryGpa > size - DESC_SIZE)
                    {
                        continue;
                    }
                    if (source != null)
                    {
                        source.add(entryGpa, entryGpa + DESC_SIZE);
                    }
                    final int e = (int)entryGpa;
                    grant(busMap, mem.getLong(e + DESC_ADDR_OFFSET, LE),
                        Integer.toUnsignedLong(mem.getInt(e + DESC_LEN_OFFSET, LE)),
                        mem.getShort(e + flagsOffset, LE) & 0xFFFF, reads, writes);
                }
            }
            else
            {
                grant(busMap, addr, len, flags, reads, writes);
            }
        }
    }

    private static void grant(
        final BusMap busMap, final long addr, final long len, final int flags, final Ranges reads, final Ranges writes)
    {
        final boolean w = (flags & VRING_DESC_F_WRITE) != 0;
        busMap.translate(addr, len, w, w ? writes : reads);
    }
}
