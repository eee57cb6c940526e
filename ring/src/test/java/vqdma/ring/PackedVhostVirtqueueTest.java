package vqdma.ring;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import vqdma.dma.DirectDma;
import vqdma.dma.GuestMemory;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The packed device treats the ring as untrusted: one test per validation rule, each playing a misbehaving driver
 * that writes the ring by hand, and asserting the device's specific message and that the queue is then broken (or
 * the chain completed with len 0 under {@link VhostVirtqueue.BadChainPolicy#COMPLETE}). Then the used side and the
 * event suppression structures, byte by byte.
 */
class PackedVhostVirtqueueTest
{
    static final int N = 250; // not a power of two: packed rings need not be
    static final long MEMORY = 1L << 20;
    static final long INDIRECT = feature(VIRTIO_RING_F_INDIRECT_DESC);
    static final long EVENT = feature(VIRTIO_RING_F_EVENT_IDX);
    static final long PACKED = feature(VIRTIO_F_RING_PACKED);

    GuestMemory memory;
    long ringGpa;
    PackedRing raw;
    long buf;
    /** The driver's next position and wrap counter, as this hand-written driver keeps them. */
    int pos;
    int wrap = 1;

    @BeforeEach
    void setUp()
    {
        memory = GuestMemory.allocate(MEMORY, false);
        ringGpa = memory.allocateShared(ringSize(N));
        raw = RawRing.packed(memory, ringGpa, N);
        buf = memory.allocate(64 * 1024, 4096);
    }

    VhostVirtqueue device(final long features, final VhostVirtqueue.BadChainPolicy policy)
    {
        return VhostVirtqueue.builder(new DirectDma.View(memory, 0), N, features | PACKED, ringGpa,
            ringGpa + driverEventOffset(N), ringGpa + deviceEventOffset(N)).badChainPolicy(policy).build();
    }

    VhostVirtqueue device(final long features)
    {
        return device(features, VhostVirtqueue.BadChainPolicy.STOP);
    }

    /**
     * Writes a chain at the driver's position, the head's flags last, and moves the position on.
     *
     * @param id    the buffer id, written into every descriptor as the kernel does.
     * @param descs triples {addr, len, flags without AVAIL/USED}.
     */
    void chain(final int id, final long[]... descs)
    {
        final int head = pos;
        int headFlags = 0;
        for (int k = 0; k < descs.length; k++)
        {
            final int flags = (int)descs[k][2] | availFlags(wrap);
            if (k == 0)
            {
                raw.spDescBody(pos, descs[k][0], (int)descs[k][1], id);
                headFlags = flags;
            }
            else
            {
                raw.spDesc(pos, descs[k][0], (int)descs[k][1], id, flags);
            }
            if (++pos == N)
            {
                pos = 0;
                wrap ^= 1;
            }
        }
        raw.soDescFlags(head, headFlags);
    }

    static long[] d(final long addr, final long len, final int flags)
    {
        return new long[] {addr, len, flags};
    }

    void putTableEntry(final long table, final int i, final long addr, final int len, final int flags)
    {
        final int at = (int)table + 16 * i;
        memory.buffer().putLong(at, addr, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putInt(at + 8, len, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putShort(at + 12, (short)0, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putShort(at + 14, (short)flags, ByteOrder.LITTLE_ENDIAN);
    }

    static String broken(final VhostVirtqueue vq)
    {
        final DescriptorChain chain = vq.newChain();
        assertEquals(VhostVirtqueue.BROKEN, vq.pop(chain), "the device must refuse this ring");
        assertTrue(vq.isBroken());
        assertEquals(VhostVirtqueue.BROKEN, vq.pop(chain), "a broken queue stays broken");
        return vq.brokenReason();
    }

    static void assertContains(final String text, final String expected)
    {
        assertNotNull(text);
        assertTrue(text.contains(expected), "'" + text + "' should contain '" + expected + "'");
    }

    @Test
    void aGoodChainIsWalkedAndTranslatedAndItsIdComesFromTheLastDescriptor()
    {
        chain(7, d(buf, 100, VRING_DESC_F_NEXT), d(buf + 4096, 200, VRING_DESC_F_WRITE));
        raw.spDesc(0, buf, 100, 99, raw.lpDescFlags(0)); // the head's id is not the one the device returns
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        assertEquals(7, vq.pop(chain), "the buffer id is in the last descriptor");
        assertEquals(7, chain.head());
        assertEquals(2, chain.descriptors());
        assertEquals(100, chain.readableBytes());
        assertEquals(200, chain.writableBytes());
        assertEquals(buf + 4096, chain.runGpa(chain.outRuns()));
        assertEquals(VhostVirtqueue.EMPTY, vq.pop(chain));
        assertEquals(offWrap(2, 1), vq.lastAvailIdx());
    }

    @Test
    void aZeroedRingIsEmptyAndAnUnpublishedHeadHidesItsChain()
    {
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        assertEquals(VhostVirtqueue.EMPTY, vq.pop(chain), "both wrap counters start at 1: zeroes are not available");
        raw.spDesc(1, buf, 8, 3, availFlags(1)); // a later descriptor, its head (0) not yet written
        assertEquals(VhostVirtqueue.EMPTY, vq.pop(chain));
    }

    @Test
    void aUsedDescriptorWhereAnAvailableOneWasExpectedBreaksTheQueue()
    {
        raw.spDesc(0, buf, 8, 0, usedFlags(1));
        assertContains(broken(device(0)), "Descriptor 0 has AVAIL and USED both 1");
    }

    @Test
    void aDescriptorInTheChainThatIsNotAvailableBreaksTheQueue()
    {
        chain(0, d(buf, 8, VRING_DESC_F_NEXT), d(buf, 8, 0));
        raw.soDescFlags(1, availFlags(0)); // the second descriptor carries the wrong lap
        assertContains(broken(device(0)), "Descriptor 1 of the chain at 0 is not available in wrap 1 (flags 0x8000)");
    }

    @Test
    void aChainCannotRunIntoTheDescriptorsInFlight()
    {
        // Fill the ring with NEXT descriptors of this lap: the walk must stop at the queue size.
        for (int i = 0; i < N; i++)
        {
            raw.spDesc(i, buf, 8, 1, VRING_DESC_F_NEXT | availFlags(1));
        }
        assertContains(broken(device(0)), "Chain at 0 is longer than the 250 descriptors not in flight");
    }

    @Test
    void aChainLongerThanTheRoomLeftBesideTheChainsInFlightBreaksTheQueue()
    {
        chain(0, d(buf, 8, VRING_DESC_F_NEXT), d(buf, 8, VRING_DESC_F_NEXT), d(buf, 8, 0));
        final VhostVirtqueue vq = device(0);
        assertEquals(0, vq.pop(vq.newChain()));
        // The rest of the ring and then the in-flight chain's own positions, all claiming to be available.
        for (int i = 3; i < N; i++)
        {
            raw.spDesc(i, buf, 8, 1, VRING_DESC_F_NEXT | availFlags(1));
        }
        assertContains(broken(vq), "Chain at 3 is longer than the 247 descriptors not in flight");
    }

    @Test
    void bufferIdMustBeBelowTheQueueSize()
    {
        chain(N + 50, d(buf, 8, 0));
        assertContains(broken(device(0)), "Buffer id 300 out of range (queue size 250), chain at 0");
    }

    @Test
    void aBufferIdStillInFlightMayNotBeMadeAvailableAgain()
    {
        chain(5, d(buf, 8, 0));
        chain(5, d(buf, 8, 0));
        final VhostVirtqueue vq = device(0);
        assertEquals(5, vq.pop(vq.newChain()));
        assertContains(broken(vq), "Buffer id 5 is already in flight, chain at 1");
    }

    @Test
    void readableAfterWritableIsRefused()
    {
        chain(0, d(buf, 10, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE), d(buf, 10, 0));
        assertContains(broken(device(0)), "Descriptor has out after in: desc 1, buffer id 0");
    }

    @Test
    void indirectNeedsTheFeature()
    {
        chain(0, d(buf, 32, VRING_DESC_F_INDIRECT));
        assertContains(broken(device(0)), "Indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
    }

    @Test
    void indirectWithNextOrInAChainIsRefused()
    {
        chain(0, d(buf, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT), d(buf, 8, 0));
        assertContains(broken(device(INDIRECT)), "Indirect descriptor in a chain of 2 descriptors (NEXT set)");
        setUp();
        pos = 0;
        wrap = 1;
        chain(0, d(buf, 8, VRING_DESC_F_NEXT), d(buf, 32, VRING_DESC_F_INDIRECT));
        assertContains(broken(device(INDIRECT)), "Indirect descriptor in a chain of 2 descriptors (NEXT clear)");
    }

    @Test
    void nestedIndirectIsRefused()
    {
        putTableEntry(buf, 0, buf + 4096, 32, VRING_DESC_F_INDIRECT);
        chain(0, d(buf, 16, VRING_DESC_F_INDIRECT));
        assertContains(broken(device(INDIRECT)), "Nested indirect descriptor: entry 0 in the table of buffer id 0");
    }

    @Test
    void indirectLengthMustBeANonZeroMultipleOf16()
    {
        chain(0, d(buf, 24, VRING_DESC_F_INDIRECT));
        assertContains(broken(device(INDIRECT)), "Invalid length in indirect descriptor: len 0x18");
        setUp();
        pos = 0;
        wrap = 1;
        chain(0, d(buf, 0, VRING_DESC_F_INDIRECT));
        assertContains(broken(device(INDIRECT)), "Invalid length in indirect descriptor: len 0x0");
    }

    @Test
    void indirectTableMayNotExceedTheQueueSize()
    {
        chain(0, d(buf, 16 * (N + 1), VRING_DESC_F_INDIRECT));
        assertContains(broken(device(INDIRECT)), "Indirect buffer length too big: 4016 > 4000");
    }

    @Test
    void indirectTableMustBeReachable()
    {
        chain(0, d(MEMORY - 16, 32, VRING_DESC_F_INDIRECT));
        assertContains(broken(device(INDIRECT)), "Translation failure of indirect table at desc 0, buffer id 0");
    }

    @Test
    void everyEntryOfAnIndirectTableIsReadInOrderWhateverItsNextFlag()
    {
        putTableEntry(buf, 0, buf + 4096, 8, 0);
        putTableEntry(buf, 1, buf + 8192, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
        putTableEntry(buf, 2, buf + 12288, 32, VRING_DESC_F_WRITE);
        chain(9, d(buf, 48, VRING_DESC_F_INDIRECT));
        final VhostVirtqueue vq = device(INDIRECT);
        final DescriptorChain chain = vq.newChain();
        assertEquals(9, vq.pop(chain));
        assertEquals(3, chain.descriptors());
        assertEquals(8, chain.readableBytes());
        assertEquals(48, chain.writableBytes());
    }

    @Test
    void buffersMustLieInsideGuestMemory()
    {
        chain(0, d(MEMORY - 10, 11, 0));
        final String reason = broken(device(0));
        assertContains(reason, "Translation failure at desc 0, buffer id 0");
        assertContains(reason, "outside guest memory");
    }

    @Test
    void privateMemoryOfAConfidentialGuestIsOutOfReach()
    {
        memory = GuestMemory.allocate(MEMORY, true);
        ringGpa = memory.allocateShared(ringSize(N));
        raw = RawRing.packed(memory, ringGpa, N);
        final long priv = memory.allocate(4096, 4096);
        chain(0, d(priv, 100, 0));
        assertContains(broken(device(0)), "private memory of a confidential guest");
    }

    @Test
    void aChainNeedingMoreRunsThanTheDeviceHoldsIsRefused()
    {
        final long[][] descs = new long[9][];
        for (int i = 0; i < 9; i++)
        {
            descs[i] = d(buf + 16L * i, 8, i < 8 ? VRING_DESC_F_NEXT : 0);
        }
        chain(0, descs);
        final VhostVirtqueue vq = VhostVirtqueue.builder(new DirectDma.View(memory, 0), N, PACKED, ringGpa,
            ringGpa + driverEventOffset(N), ringGpa + deviceEventOffset(N)).maxRuns(4).build();
        assertContains(broken(vq), "Chain of buffer id 0 needs more than 4 runs");
    }

    @Test
    void completePolicyReturnsTheBadChainAndGoesOn()
    {
        chain(4, d(buf, 10, VRING_DESC_F_NEXT), d(MEMORY, 10, 0));
        chain(6, d(buf, 10, 0));
        final VhostVirtqueue vq = device(0, VhostVirtqueue.BadChainPolicy.COMPLETE);
        final DescriptorChain chain = vq.newChain();
        assertEquals(6, vq.pop(chain), "the good chain behind the bad one is served");
        assertFalse(vq.isBroken());
        assertEquals(1, vq.badChains());
        assertContains(vq.lastError(), "Translation failure at desc 1, buffer id 4");
        assertEquals(usedFlags(1), raw.lpDescFlags(0), "the bad chain was returned at the device's used position");
        assertEquals(4, raw.lpDescId(0));
        assertEquals(0, raw.lpDescLen(0));
        assertEquals(offWrap(2, 1), vq.usedIdx(), "and the used position moved by its two descriptors");
    }

    @Test
    void usedDescriptorsArePublishedInBatchesFirstFlagsLast()
    {
        chain(3, d(buf, 8, VRING_DESC_F_NEXT), d(buf, 8, VRING_DESC_F_WRITE));
        chain(4, d(buf, 8, VRING_DESC_F_WRITE));
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        assertEquals(3, vq.pop(chain));
        assertEquals(4, vq.pop(chain));
        vq.addUsed(4, 8);
        vq.addUsed(3, 0);
        assertEquals(availFlags(1) | VRING_DESC_F_NEXT, raw.lpDescFlags(0), "the first is not published before flush");
        assertEquals(usedFlags(1), raw.lpDescFlags(1), "the second is, behind the first");
        vq.flushUsed();
        assertEquals(usedFlags(1) | VRING_DESC_F_WRITE, raw.lpDescFlags(0), "WRITE: the device wrote bytes");
        assertEquals(4, raw.lpDescId(0));
        assertEquals(8, raw.lpDescLen(0));
        assertEquals(3, raw.lpDescId(1));
        assertEquals(offWrap(3, 1), vq.usedIdx(), "1 + 2 descriptors");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> vq.addUsed(3, 0));
        assertContains(ex.getMessage(), "used id 3 is not a buffer id in flight");
    }

    @Test
    void wrapCountersFlipAtTheEndOfTheRing()
    {
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        for (int lap = 0; lap < 3; lap++)
        {
            for (int i = 0; i < N / 2; i++)
            {
                chain(i, d(buf, 8, VRING_DESC_F_NEXT), d(buf + 64, 8, VRING_DESC_F_WRITE));
                assertEquals(i, vq.pop(chain));
                vq.pushUsed(i, 8);
                final int usedAt = (2 * i) % N;
                assertEquals(usedFlags(lap % 2 == 0 ? 1 : 0) | VRING_DESC_F_WRITE, raw.lpDescFlags(usedAt));
            }
        }
        assertEquals(offWrap(0, 0), vq.lastAvailIdx(), "three laps: wrap 1, 0, 1, now 0");
        assertEquals(offWrap(0, 0), vq.usedIdx());
    }

    @Test
    void interruptsFollowTheDriverEventFlagsWithoutEventIdx()
    {
        chain(0, d(buf, 8, 0));
        chain(1, d(buf, 8, 0));
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        vq.pop(chain);
        vq.pop(chain);
        vq.pushUsed(0, 0);
        assertTrue(vq.needInterrupt(), "ENABLE (zero)");
        raw.soDriverEventFlags(VRING_PACKED_EVENT_FLAG_DISABLE);
        vq.pushUsed(1, 0);
        assertFalse(vq.needInterrupt());
        assertEquals(1, vq.interrupts());
        assertEquals(1, vq.interruptsSuppressed());
    }

    @Test
    void interruptsFollowOffWrapWithEventIdx()
    {
        final VhostVirtqueue vq = device(EVENT);
        final DescriptorChain chain = vq.newChain();
        for (int i = 0; i < 6; i++)
        {
            chain(i, d(buf, 8, 0));
            vq.pop(chain);
        }
        raw.soDriverEventOffWrap(offWrap(2, 1)); // interrupt me when the used position passes 2
        raw.soDriverEventFlags(VRING_PACKED_EVENT_FLAG_DESC);
        vq.pushUsed(0, 0);
        assertTrue(vq.needInterrupt(), "the first interrupt is always sent");
        vq.pushUsed(1, 0);
        assertFalse(vq.needInterrupt(), "used position 1 -> 2 did not pass 2");
        vq.pushUsed(2, 0);
        vq.pushUsed(3, 0);
        assertTrue(vq.needInterrupt(), "2 -> 4 passed 2");
        vq.pushUsed(4, 0);
        assertFalse(vq.needInterrupt(), "2 was already passed");
        raw.soDriverEventOffWrap(offWrap(N - 1, 0)); // the previous lap's position: long passed
        vq.pushUsed(5, 0);
        assertFalse(vq.needInterrupt());
    }

    @Test
    void eventIdxAcrossTheWrap()
    {
        final VhostVirtqueue vq = device(EVENT);
        final DescriptorChain chain = vq.newChain();
        raw.soDriverEventFlags(VRING_PACKED_EVENT_FLAG_DESC);
        for (int i = 0; i < N - 2; i++)
        {
            chain(i % N, d(buf, 8, 0));
            vq.pop(chain);
            vq.pushUsed(i % N, 0);
        }
        vq.needInterrupt();
        raw.soDriverEventOffWrap(offWrap(1, 0)); // next lap, position 1
        for (int i = 0; i < 3; i++)
        {
            chain(i, d(buf, 8, 0));
            vq.pop(chain);
            vq.pushUsed(i, 0);
        }
        assertFalse(vq.needInterrupt(), "248 -> 251 (position 1 of the next lap) did not pass it");
        chain(3, d(buf, 8, 0));
        vq.pop(chain);
        vq.pushUsed(3, 0);
        assertTrue(vq.needInterrupt(), "-> position 2 of the next lap passed position 1");
    }

    @Test
    void enableNotifyWritesTheDeviceEventAndReportsWhatSlippedIn()
    {
        final VhostVirtqueue vq = device(EVENT);
        vq.disableNotify();
        assertEquals(VRING_PACKED_EVENT_FLAG_DISABLE, raw.loDeviceEventFlags());
        assertFalse(vq.enableNotify(), "nothing pending");
        assertEquals(VRING_PACKED_EVENT_FLAG_DESC, raw.loDeviceEventFlags());
        assertEquals(offWrap(0, 1), raw.loDeviceEventOffWrap());
        vq.disableNotify();
        chain(0, d(buf, 8, 0));
        assertTrue(vq.enableNotify(), "a buffer slipped in: do not sleep");

        final VhostVirtqueue flags = device(0);
        assertFalse(flags.enableNotify(), "notifications already on: nothing to re-check");
        flags.disableNotify();
        assertEquals(VRING_PACKED_EVENT_FLAG_DISABLE, raw.loDeviceEventFlags());
        assertTrue(flags.enableNotify(), "the buffer at position 0 is available");
        assertEquals(VRING_PACKED_EVENT_FLAG_ENABLE, raw.loDeviceEventFlags());
    }
}
