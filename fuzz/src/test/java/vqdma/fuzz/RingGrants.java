package vqdma.fuzz;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.PackedRingDescriptor;

import java.nio.ByteOrder;

import static vqdma.ring.SplitRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The oracle of "what the driver gave the device": read straight from the descriptor table as it is in guest memory
 * now (and from every table an INDIRECT descriptor points to), independently of the device's walk. Every descriptor
 * with {@code VRING_DESC_F_WRITE} grants its buffer for writing, every other one for reading, whether or not it is
 * reachable from a head: an over-approximation, so a device access outside it is certainly a bug. The same for the
 * packed ring ({@link #collectPacked}), whose descriptors hold the flags at another offset and whose AVAIL/USED bits
 * the oracle ignores.
 */
final class RingGrants
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private RingGrants()
    {
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
        collect(memory, busMap, descGpa, num, reads, writes, DESC_FLAGS_OFFSET);
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
        collect(memory, busMap, descGpa, num, reads, writes, PackedRingDescriptor.DESC_FLAGS_OFFSET);
    }

    private static void collect(
        final GuestMemory memory, final BusMap busMap, final long descGpa, final int num, final Ranges reads,
        final Ranges writes, final int flagsOffset)
    {
        final UnsafeBuffer mem = memory.buffer();
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
                    if (entryGpa < 0 || !memory.contains(entryGpa, DESC_SIZE))
                    {
                        continue;
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
