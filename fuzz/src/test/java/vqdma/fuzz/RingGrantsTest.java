package vqdma.fuzz;

import org.junit.jupiter.api.Test;
import vqdma.dma.DeviceView;
import vqdma.dma.DirectDma;
import vqdma.dma.GuestMemory;
import vqdma.ring.DescriptorChain;
import vqdma.ring.PackedRing;
import vqdma.ring.PackedRingDescriptor;
import vqdma.ring.SplitRing;
import vqdma.ring.SplitRingDescriptor;
import vqdma.ring.VhostVirtqueue;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.Vring.*;

/** The grant oracle reads the descriptor table and indirect tables itself; a device run outside them is caught. */
class RingGrantsTest
{
    private static final int N = 8;

    @Test
    void descriptorsAndIndirectEntriesGrantByTheirWriteFlag()
    {
        final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
        final long ring = memory.allocateShared(SplitRingDescriptor.vringSize(N, 4096));
        final SplitRing raw = new SplitRing(N,
            new org.agrona.concurrent.UnsafeBuffer(memory.buffer(), (int)ring, SplitRingDescriptor.descTableSize(N)),
            new org.agrona.concurrent.UnsafeBuffer(memory.buffer(), (int)ring + SplitRingDescriptor.availOffset(N,
                4096), SplitRingDescriptor.availSize(N)),
            new org.agrona.concurrent.UnsafeBuffer(memory.buffer(), (int)ring + SplitRingDescriptor.usedOffset(N,
                4096), SplitRingDescriptor.usedSize(N)));
        final long table = memory.allocate(4096, 4096);
        raw.spDesc(0, 0x10000, 100, VRING_DESC_F_NEXT, 1);
        raw.spDesc(1, 0x20000, 200, VRING_DESC_F_WRITE, 0);
        raw.spDesc(2, table, 32, VRING_DESC_F_INDIRECT, 0);
        memory.buffer().putLong((int)table, 0x30000, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putInt((int)table + 8, 300, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putShort((int)table + 12, (short)VRING_DESC_F_WRITE, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putLong((int)table + 16, 0x40000, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putInt((int)table + 24, 400, ByteOrder.LITTLE_ENDIAN);
        final Ranges reads = new Ranges();
        final Ranges writes = new Ranges();
        RingGrants.collect(memory, BusMap.identity(memory.size()), ring, N, reads, writes);
        assertTrue(reads.covers(0x10000, 0x10000 + 100));
        assertTrue(reads.covers(0x40000, 0x40000 + 400));
        assertTrue(writes.covers(0x20000, 0x20000 + 200));
        assertTrue(writes.covers(0x30000, 0x30000 + 300));
        assertFalse(writes.covers(0x10000, 0x10001), "a readable buffer is not writable");
        assertFalse(writes.covers(0x20000, 0x20000 + 201), "one byte past a writable buffer");
        assertFalse(writes.covers(table, table + 1), "the indirect table itself is not writable");

        // A device that reported a run outside the grants is caught by the chain check of the device target.
        assertThrows(Invariant.class, () -> VhostVirtqueueFuzzTest.checkFaults("test", true, 2, 1,
            "Translation failure at desc 0"), "a refused access counted twice");
        assertThrows(Invariant.class, () -> VhostVirtqueueFuzzTest.checkFaults("test", true, 1, 0, null),
            "a fault counted for a pop without a bad chain");
        VhostVirtqueueFuzzTest.checkFaults("test", true, 1, 1, "Translation failure at desc 0, head 0: ...");
    }

    @Test
    void anIommuBusMapGrantsOnlyMappedPagesWithTheirPermission()
    {
        final BusMap map = new BusMap().add(0x100000, 0x5000, 4096, true, false);
        final Ranges reads = new Ranges();
        final Ranges writes = new Ranges();
        map.translate(0x100010, 100, false, reads);
        map.translate(0x100010, 100, true, writes);
        map.translate(0x100ff0, 0x100, false, reads);
        assertTrue(reads.covers(0x5010, 0x5010 + 100));
        assertTrue(reads.covers(0x5ff0, 0x6000), "the mapped part of a range that runs past the mapping");
        assertFalse(reads.covers(0x6000, 0x6001));
        assertEquals(0, writes.size(), "a read-only mapping grants no write");
        assertEquals(0x5010, map.translateWhole(0x100010, 16));
        assertEquals(-1, map.translateWhole(0x100ff8, 16), "an entry across the end of the mapping");
        final Ranges wrap = new Ranges();
        BusMap.identity(1 << 20).translate(-8, 64, true, wrap);
        assertEquals(0, wrap.size(), "a range that wraps the address space grants nothing");
    }

    @Test
    void anInstanceReadsTheTablesAgainExactlyWhenABytesTheyCameFromChanged()
    {
        final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
        final long ring = memory.allocateShared(SplitRingDescriptor.vringSize(N, 4096));
        final long table = memory.allocate(4096, 4096);
        final org.agrona.concurrent.UnsafeBuffer mem = memory.buffer();
        final int desc1 = (int)ring + SplitRingDescriptor.descOffset(1);
        mem.putLong(desc1, table, ByteOrder.LITTLE_ENDIAN);
        mem.putInt(desc1 + 8, 2 * DESC_SIZE, ByteOrder.LITTLE_ENDIAN);
        mem.putShort(desc1 + 12, (short)VRING_DESC_F_INDIRECT, ByteOrder.LITTLE_ENDIAN);
        mem.putLong((int)table + DESC_SIZE, 0x30000, ByteOrder.LITTLE_ENDIAN);
        mem.putInt((int)table + DESC_SIZE + 8, 300, ByteOrder.LITTLE_ENDIAN);
        final RingGrants grants = new RingGrants(memory);
        final BusMap map = BusMap.identity(memory.size());

        assertTrue(grants.update(map, ring, N), "the first update reads");
        assertTrue(grants.reads().covers(0x30000, 0x30000 + 300));
        assertFalse(grants.update(map, ring, N), "nothing changed");
        mem.putByte((int)table + 4 * DESC_SIZE, (byte)1);
        mem.putByte(0x30000, (byte)1);
        assertFalse(grants.update(map, ring, N), "bytes the grants do not come from");

        mem.putShort((int)table + DESC_SIZE + 12, (short)VRING_DESC_F_WRITE, ByteOrder.LITTLE_ENDIAN);
        assertTrue(grants.update(map, ring, N), "an indirect entry changed");
        assertTrue(grants.writes().covers(0x30000, 0x30000 + 300));
        assertFalse(grants.reads().covers(0x30000, 0x30001));
        mem.putInt((int)ring + SplitRingDescriptor.descOffset(N - 1) + 8, 77, ByteOrder.LITTLE_ENDIAN);
        assertTrue(grants.update(map, ring, N), "the last descriptor changed");
        assertFalse(grants.update(map, ring, N));
        grants.invalidate();
        assertTrue(grants.update(map, ring, N), "a new input reads again");
    }

    @Test
    void aPackedRingIsReadWithItsFlagsAndUpdatedAsIncrementally()
    {
        final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
        final long ring = memory.allocateShared(PackedRingDescriptor.ringSize(N));
        final long table = memory.allocate(4096, 4096);
        final org.agrona.concurrent.UnsafeBuffer mem = memory.buffer();
        final int flags = PackedRingDescriptor.DESC_FLAGS_OFFSET;
        final int desc0 = (int)ring + PackedRingDescriptor.descOffset(0);
        final int desc1 = (int)ring + PackedRingDescriptor.descOffset(1);
        mem.putLong(desc0, 0x10000, ByteOrder.LITTLE_ENDIAN);
        mem.putInt(desc0 + 8, 100, ByteOrder.LITTLE_ENDIAN);
        // A buffer id whose bits would read as WRITE at the split ring's flags offset: the packed oracle ignores it.
        mem.putShort(desc0 + PackedRingDescriptor.DESC_ID_OFFSET, (short)VRING_DESC_F_WRITE,
            ByteOrder.LITTLE_ENDIAN);
        mem.putShort(desc0 + flags, (short)0, ByteOrder.LITTLE_ENDIAN);
        mem.putLong(desc1, table, ByteOrder.LITTLE_ENDIAN);
        mem.putInt(desc1 + 8, 2 * DESC_SIZE, ByteOrder.LITTLE_ENDIAN);
        mem.putShort(desc1 + flags, (short)VRING_DESC_F_INDIRECT, ByteOrder.LITTLE_ENDIAN);
        mem.putLong((int)table + DESC_SIZE, 0x30000, ByteOrder.LITTLE_ENDIAN);
        mem.putInt((int)table + DESC_SIZE + 8, 300, ByteOrder.LITTLE_ENDIAN);
        mem.putShort((int)table + DESC_SIZE + flags, (short)VRING_DESC_F_WRITE, ByteOrder.LITTLE_ENDIAN);
        final RingGrants grants = new RingGrants(memory);
        final BusMap map = BusMap.identity(memory.size());

        assertTrue(grants.updatePacked(map, ring, N), "the first update reads");
        assertTrue(grants.reads().covers(0x10000, 0x10000 + 100));
        assertFalse(grants.writes().covers(0x10000, 0x10001), "the id is not the flags");
        assertTrue(grants.writes().covers(0x30000, 0x30000 + 300), "a packed indirect entry's flags");
        final Ranges reads = new Ranges();
        final Ranges writes = new Ranges();
        RingGrants.collectPacked(memory, map, ring, N, reads, writes);
        assertEquals(reads.toString(), grants.reads().toString(), "the incremental oracle reads as the whole one");
        assertEquals(writes.toString(), grants.writes().toString());
        assertFalse(grants.updatePacked(map, ring, N), "nothing changed");

        mem.putShort((int)table + DESC_SIZE + flags, (short)0, ByteOrder.LITTLE_ENDIAN);
        assertTrue(grants.updatePacked(map, ring, N), "a packed indirect entry's flags changed");
        assertTrue(grants.reads().covers(0x30000, 0x30000 + 300));
        assertFalse(grants.writes().covers(0x30000, 0x30001));
        mem.putShort(desc0 + flags, (short)VRING_DESC_F_WRITE, ByteOrder.LITTLE_ENDIAN);
        assertTrue(grants.updatePacked(map, ring, N), "a descriptor's flags changed");
        assertTrue(grants.writes().covers(0x10000, 0x10000 + 100));
        assertFalse(grants.updatePacked(map, ring, N));
        assertTrue(grants.update(map, ring, N), "the same bytes read as a split ring are other grants: read again");
        assertTrue(grants.updatePacked(map, ring, N));
    }

    /**
     * Why the device targets read the grants after {@code pop}, not before: under COMPLETE, {@code pop} completes a
     * bad chain (writing its used descriptor) and goes on to the next chain in the same call, and a hostile driver
     * can lay that chain's indirect table over the used descriptor. Here the table starts at byte 15 of descriptor 0,
     * so its entry's address begins with the high byte of descriptor 0's flags, which the used write turns from 0x00
     * into 0x80 (USED in wrap 1): the device walks an entry 0x80 bytes further on than the one in memory before the
     * call. Nothing is written between the returned chain's walk and the return, so the grants read after pop are
     * exactly the ones it was walked in (CI found this as a packed-device finding on 2026-12-06).
     */
    @Test
    void aChainIsWalkedInTheRingAsPopLeftIt()
    {
        final int num = 4;
        final GuestMemory memory = GuestMemory.allocate(1 << 24, false);
        final long ring = memory.allocateShared(PackedRingDescriptor.ringSize(num));
        final org.agrona.concurrent.UnsafeBuffer mem = memory.buffer();
        final PackedRing raw = new PackedRing(num,
            new org.agrona.concurrent.UnsafeBuffer(mem, (int)ring, PackedRingDescriptor.descRingSize(num)),
            new org.agrona.concurrent.UnsafeBuffer(mem, (int)ring + PackedRingDescriptor.driverEventOffset(num),
                PackedRingDescriptor.EVENT_SIZE),
            new org.agrona.concurrent.UnsafeBuffer(mem, (int)ring + PackedRingDescriptor.deviceEventOffset(num),
                PackedRingDescriptor.EVENT_SIZE));
        final int avail = PackedRingDescriptor.availFlags(1);
        // Chain 0: a buffer past the end of memory (a translation failure, completed with 0 bytes).
        raw.spDesc(0, memory.size() + 4096, 16, 0, avail);
        // Chain 1: one indirect entry at ring + 15; its length is read from bytes 23-26, 16 << 8 = 4096.
        final long table = ring + 15;
        raw.spDesc(1, table, DESC_SIZE, 1, avail | VRING_DESC_F_INDIRECT);
        final long before = table << 8;
        final long after = before | 0x80;
        assertTrue(after + 4096 <= memory.size(), "the entry lies in guest memory");

        final RingGrants grants = new RingGrants(memory);
        final BusMap map = BusMap.identity(memory.size());
        grants.updatePacked(map, ring, num);
        assertTrue(grants.reads().covers(before, before + 4096), "the entry as the driver wrote it");
        assertFalse(grants.reads().covers(after, after + 4096));

        final DeviceView view = new DirectDma(memory).deviceView();
        final long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_RING_PACKED) |
            feature(VIRTIO_RING_F_INDIRECT_DESC);
        final VhostVirtqueue vq = VhostVirtqueue.builder(view, num, features, ring,
            ring + PackedRingDescriptor.driverEventOffset(num), ring + PackedRingDescriptor.deviceEventOffset(num))
            .badChainPolicy(VhostVirtqueue.BadChainPolicy.COMPLETE).build();
        final DescriptorChain chain = vq.newChain();
        assertEquals(1, vq.pop(chain), "chain 0 completed inside pop, chain 1 returned");
        assertEquals(1, vq.badChains());
        assertEquals(1, chain.outRuns());
        assertEquals(after, chain.runGpa(0), "walked as the used write left the table");
        assertEquals(4096, chain.runLen(0));

        assertTrue(grants.updatePacked(map, ring, num), "pop wrote bytes the grants came from");
        assertTrue(grants.reads().covers(after, after + 4096), "the grants after pop hold the chain as walked");
        VhostVirtqueueFuzzTest.checkChain("test", chain, 1, grants.reads(), grants.writes());
    }
}
