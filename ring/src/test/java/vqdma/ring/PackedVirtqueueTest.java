package vqdma.ring;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import vqdma.dma.GuestMemory;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The packed driver side: buffer ids and their free list, descriptors and wrap counters in the ring, the head's flags
 * last, DMA mapping and its unwinding, event suppression, and one test per check of what the device wrote (each
 * playing a misbehaving device by hand).
 */
class PackedVirtqueueTest
{
    static final long PACKED = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_RING_PACKED);
    static final long PLATFORM = PACKED | feature(VIRTIO_F_ACCESS_PLATFORM);
    static final long INDIRECT = feature(VIRTIO_RING_F_INDIRECT_DESC);
    static final long EVENT = feature(VIRTIO_RING_F_EVENT_IDX);

    final GuestMemory memory = GuestMemory.allocate(4L << 20, false);
    final TrackingDma dma = new TrackingDma(memory);
    final long buf = memory.allocate(1 << 20, 4096);
    final SgList sg = new SgList(64);

    Virtqueue queue(final int num, final long features)
    {
        return Virtqueue.builder(memory, num).features(features).dma(dma).build();
    }

    PackedRing raw(final Virtqueue vq)
    {
        return RawRing.packed(memory, vq.ringGpa(), vq.num());
    }

    SgList chain(final int out, final int in)
    {
        sg.clear();
        for (int i = 0; i < out; i++)
        {
            sg.out(buf + 512L * i, 100 + i);
        }
        for (int i = 0; i < in; i++)
        {
            sg.in(buf + 512L * (out + i), 200 + i);
        }
        return sg;
    }

    /** Plays the device: writes a used descriptor at {@code pos} in lap {@code wrap}, flags last. */
    static void complete(final PackedRing raw, final int pos, final int wrap, final int id, final int len)
    {
        raw.spUsedDesc(pos, id, len);
        raw.soDescFlags(pos, usedFlags(wrap) | (len != 0 ? VRING_DESC_F_WRITE : 0));
    }

    @Test
    void aChainTakesConsecutivePositionsOneBufferIdAndTheHeadFlagsLast()
    {
        final Virtqueue vq = queue(16, PLATFORM);
        final PackedRing raw = raw(vq);
        assertEquals(0, vq.add(chain(2, 3), "a"));
        assertEquals(11, vq.numFree());
        for (int n = 0; n < 5; n++)
        {
            assertEquals(TrackingDma.OFFSET + buf + 512L * n, raw.lpDescAddr(n), "addr of buffer " + n);
            assertEquals(n < 2 ? 100 + n : 200 + n - 2, raw.lpDescLen(n));
            assertEquals(0, raw.lpDescId(n), "the buffer id in every descriptor, as the kernel writes it");
            final int flags = raw.lpDescFlags(n);
            assertEquals(n < 4, (flags & VRING_DESC_F_NEXT) != 0);
            assertEquals(n >= 2, (flags & VRING_DESC_F_WRITE) != 0);
            assertTrue(isAvail(flags, 1), "available in the first lap: AVAIL 1, USED 0");
        }
        assertEquals(5, dma.live());
        assertEquals(0, vq.add(chain(1, 0), "b"));
        assertEquals(5, raw.lpDescId(5), "a chain of five took five entries of the id list, as the kernel's does");
        complete(raw, 0, 1, 0, 600);
        assertEquals("a", vq.getBuf());
        assertEquals(600, vq.usedLen());
        assertEquals(0, vq.usedId());
        assertEquals(offWrap(5, 1), vq.lastUsedIdx(), "the used position moves by the chain's five descriptors");
        assertEquals(15, vq.numFree());
        assertEquals(1, dma.live(), "every buffer of a unmapped");
        assertNull(vq.getBuf());
    }

    @Test
    void unpublishedRequestsBecomeAvailableAtOnceOnPublishOrKickPrepare()
    {
        final Virtqueue vq = queue(16, PLATFORM);
        final PackedRing raw = raw(vq);
        final VhostVirtqueue device = vq.deviceBuilder().build();
        final DescriptorChain chain = device.newChain();
        assertEquals(0, vq.add(chain(1, 1), "a", false));
        assertEquals(0, vq.add(chain(1, 1), "b", false));
        assertFalse(isAvail(raw.lpDescFlags(0), 1), "the batch's first head waits");
        assertTrue(isAvail(raw.lpDescFlags(2), 1), "the later head is written: it hides behind the first");
        assertEquals(VhostVirtqueue.EMPTY, device.pop(chain), "the device sees nothing unpublished");
        vq.publishAvail();
        assertTrue(isAvail(raw.lpDescFlags(0), 1));
        assertEquals(0, vq.add(chain(1, 1), "c", false));
        assertTrue(vq.kickPrepare(), "the device wants kicks: its event flags are ENABLE");
        assertTrue(isAvail(raw.lpDescFlags(4), 1), "kickPrepare publishes first");
        for (final String token : new String[] {"a", "b", "c"})
        {
            final int id = device.pop(chain);
            assertTrue(id >= 0);
            device.pushUsed(id, 0);
            assertEquals(token, vq.getBuf());
        }
        assertEquals(16, vq.numFree());
    }

    @Test
    void fullRingIsAReturnValue()
    {
        final Virtqueue vq = queue(3, PLATFORM);
        assertEquals(0, vq.add(chain(1, 1), "a"));
        assertEquals(Virtqueue.ENOSPC, vq.add(chain(1, 1), "b"));
        assertEquals(2, dma.maps, "nothing mapped for the refused request");
        assertEquals(0, vq.add(chain(1, 0), "c"));
        assertEquals(0, vq.numFree());
        assertEquals(Virtqueue.ENOSPC, vq.add(chain(1, 0), "d"));
    }

    @Test
    void outOfOrderCompletionRebuildsTheIdFreeListAndKeepsPositionsInStep()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        final PackedRing raw = raw(vq);
        vq.add(chain(1, 1), "a"); // id 0, positions 0-1
        vq.add(chain(2, 0), "b"); // id 2 (the list: 0 took entries 0 and 1), positions 2-3
        vq.add(chain(0, 1), "c"); // id 4, position 4
        assertEquals(2, raw.lpDescId(2));
        assertEquals(4, raw.lpDescId(4));
        // The device returns them out of order; each used descriptor moves its position by that chain's count.
        complete(raw, 0, 1, 2, 0);   // b: 2 descriptors -> next used at 2
        complete(raw, 2, 1, 4, 200); // c: 1 -> 3
        complete(raw, 3, 1, 0, 200); // a: 2 -> 5
        assertEquals("b", vq.getBuf());
        assertEquals("c", vq.getBuf());
        assertEquals("a", vq.getBuf());
        assertEquals(offWrap(5, 1), vq.lastUsedIdx());
        assertEquals(8, vq.numFree());
        // Every id and descriptor is free again: a chain of all 8 fits, across the end of the ring.
        assertEquals(0, vq.add(chain(4, 4), "all"));
        assertEquals(0, vq.numFree());
        assertEquals(offWrap(5, 0), vq.availIdx(), "positions 5..7, then 0..4 of the next lap");
        assertTrue(isAvail(raw.lpDescFlags(7), 1));
        assertTrue(isAvail(raw.lpDescFlags(0), 0), "after the wrap: AVAIL 0, USED 1");
    }

    @Test
    void indirectTablesTakeOneDescriptor()
    {
        final Virtqueue vq = queue(8, PLATFORM | INDIRECT);
        final PackedRing raw = raw(vq);
        assertEquals(0, vq.add(chain(3, 2), "x"));
        assertEquals(7, vq.numFree());
        assertEquals(VRING_DESC_F_INDIRECT | availFlags(1), raw.lpDescFlags(0));
        assertEquals(5 * 16, raw.lpDescLen(0));
        assertEquals(6, dma.live(), "5 buffers and the table are mapped");
        final long table = raw.lpDescAddr(0) - TrackingDma.OFFSET;
        assertEquals(VRING_DESC_F_WRITE, memory.buffer().getShort((int)table + 16 * 4 + 14) & 0xFFFF,
            "table entries carry WRITE, no NEXT: a packed table is read in order");
        assertEquals(0, vq.add(chain(1, 0), "single"), "a single buffer never uses a table");
        assertEquals(availFlags(1), raw.lpDescFlags(1));
        complete(raw, 0, 1, 0, 401);
        assertEquals("x", vq.getBuf());
        assertEquals(offWrap(1, 1), vq.lastUsedIdx());
        assertEquals(1, dma.live());
    }

    @Test
    void aFailedMappingUnwindsEverythingAndLeavesTheHeadUnpublished()
    {
        final Virtqueue vq = queue(16, PLATFORM);
        dma.failAtMap = 3;
        assertEquals(Virtqueue.ENOMEM, vq.add(chain(2, 2), "a"), "a transient failure");
        assertEquals(0, dma.live(), "the two mapped buffers were unmapped");
        assertEquals(16, vq.numFree());
        assertFalse(isAvail(raw(vq).lpDescFlags(0), 1), "nothing published");
        assertEquals(offWrap(0, 1), vq.availIdx());
        assertEquals(0, vq.add(chain(2, 2), "b"), "the queue still works");
        assertEquals(0, raw(vq).lpDescId(0));
    }

    @Test
    void aSegmentLargerThanTheMaxMappingSizeIsEio()
    {
        final TrackingDma small = new TrackingDma(memory, 256 * 1024);
        final Virtqueue vq = Virtqueue.builder(memory, 16).features(PLATFORM).dma(small).build();
        sg.clear().out(buf, 16).out(buf + 4096, 300 * 1024).in(buf + 512 * 1024, 1);
        assertEquals(Virtqueue.EIO, vq.add(sg, "big"));
        assertEquals(0, small.live());
        assertFalse(vq.isBroken());
    }

    @Test
    void legacyBypassPutsGuestPhysicalAddressesInTheRing()
    {
        final Virtqueue vq = queue(8, PACKED);
        vq.add(chain(1, 0), "a");
        assertEquals(buf, raw(vq).lpDescAddr(0));
        assertEquals(0, dma.maps, "no DMA API without ACCESS_PLATFORM");
        assertEquals(vq.ringGpa(), vq.descAddr());
        assertEquals(vq.ringGpa() + 16 * 8, vq.driverAddr());
        assertEquals(vq.ringGpa() + 16 * 8 + 4, vq.deviceAddr());
    }

    @Test
    void premappedBuffersAreNotMappedAgain()
    {
        final Virtqueue vq = Virtqueue.builder(memory, 8).features(PLATFORM | INDIRECT).dma(dma)
            .premapped(true).build();
        sg.clear().out(0x1234_0000L, 10).in(0x5678_0000L, 20);
        assertEquals(0, vq.add(sg, "p"));
        assertEquals(1, dma.maps, "only the indirect table is mapped by the ring");
        complete(raw(vq), 0, 1, 0, 20);
        assertEquals("p", vq.getBuf());
        assertEquals(0, dma.live());
    }

    @Test
    void misuseIsRefusedWithTheValues()
    {
        final Virtqueue vq = queue(3, PLATFORM);
        final IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
            () -> vq.add(sg.clear(), "x"));
        assertTrue(empty.getMessage().contains("add of 0 buffers"), empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> vq.add(chain(2, 2), "x"), "longer than the queue");
        assertThrows(IllegalArgumentException.class, () -> vq.add(chain(1, 0), null));
        assertThrows(IllegalArgumentException.class, () -> vq.poll(offWrap(3, 1)), "not a position of the ring");
        final IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
            () -> Virtqueue.builder(memory, 32769));
        assertTrue(size.getMessage().contains("packed queue size 32769 must be in 1..32768"), size.getMessage());
    }

    // --- what the device writes is checked ------------------------------------------------------------------------

    Virtqueue withTwoInFlight()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        vq.add(chain(1, 1), "a"); // id 0, positions 0-1, 200 writable
        vq.add(chain(1, 0), "b"); // id 2, position 2, 0 writable
        return vq;
    }

    void assertBroken(final Virtqueue vq, final String reason)
    {
        assertNull(vq.getBuf());
        assertTrue(vq.isBroken());
        assertTrue(vq.brokenReason().contains(reason), vq.brokenReason());
        assertEquals(Virtqueue.EIO, vq.add(chain(1, 0), "late"), "a broken queue refuses work");
        assertNull(vq.getBuf());
        assertFalse(vq.kick());
    }

    @Test
    void usedIdOutOfRangeBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        complete(raw(vq), 0, 1, 9, 0);
        assertBroken(vq, "id 9 out of range");
    }

    @Test
    void usedIdThatIsNotInFlightBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        complete(raw(vq), 0, 1, 1, 0);
        assertBroken(vq, "id 1 is not a head!");
    }

    @Test
    void aReusedIdIsCaught()
    {
        final Virtqueue vq = withTwoInFlight();
        final PackedRing raw = raw(vq);
        complete(raw, 0, 1, 0, 10);
        complete(raw, 2, 1, 0, 10);
        assertEquals("a", vq.getBuf());
        assertBroken(vq, "id 0 is not a head!");
        assertEquals(1, dma.live(), "b is still mapped: in flight, never unmapped twice");
    }

    @Test
    void usedLenBeyondTheWritableBytesBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        complete(raw(vq), 0, 1, 0, 201);
        assertBroken(vq, "used len 201 is greater than the 200 writable bytes of buffer 0");
    }

    @Test
    void theUsedBitWithoutTheAvailBitBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        final PackedRing raw = raw(vq);
        raw.spUsedDesc(0, 0, 0);
        raw.soDescFlags(0, DESC_F_USED); // USED = 1 (this lap) but AVAIL = 0
        assertBroken(vq, "descriptor 0 has the USED bit of wrap 1 without the AVAIL bit (flags 0x8000)");
    }

    @Test
    void aUsedDescriptorOfThePreviousLapBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        raw(vq).soDescFlags(0, usedFlags(0));
        assertBroken(vq, "descriptor 0 has AVAIL 0 and USED 0, the used state of the previous lap");
    }

    @Test
    void aUsedDescriptorWhileNothingIsInFlightBreaksTheQueue()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        complete(raw(vq), 0, 1, 0, 0);
        assertNull(vq.getBuf());
        assertTrue(vq.brokenReason().contains("descriptor 0 is used in wrap 1 (flags 0x8080) but no buffer is in " +
            "flight"), vq.brokenReason());
    }

    @Test
    void theUnpublishedHeadIsNotMistakenForABadDescriptor()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        assertEquals(0, vq.add(chain(1, 0), "a", false));
        assertNull(vq.getBuf(), "the head still holds the zeroes of the fresh ring");
        assertFalse(vq.isBroken());
    }

    // --- notifications ---------------------------------------------------------------------------------------------

    @Test
    void kickFollowsTheDeviceEventFlagsWithoutEventIdx()
    {
        final int[] notified = new int[1];
        final Virtqueue vq = Virtqueue.builder(memory, 8).features(PLATFORM).dma(dma)
            .notifier(q -> notified[0]++).build();
        vq.add(chain(1, 0), "a");
        assertTrue(vq.kick());
        raw(vq).soDeviceEventFlags(VRING_PACKED_EVENT_FLAG_DISABLE);
        vq.add(chain(1, 0), "b");
        assertFalse(vq.kick());
        assertEquals(1, notified[0]);
        assertEquals(1, vq.kicks());
        assertEquals(1, vq.kicksSuppressed());
    }

    @Test
    void kickFollowsOffWrapWithEventIdxAcrossTheWrap()
    {
        final Virtqueue vq = queue(8, PLATFORM | EVENT);
        final PackedRing raw = raw(vq);
        raw.soDeviceEventOffWrap(offWrap(1, 1)); // kick me when the avail position passes 1
        raw.soDeviceEventFlags(VRING_PACKED_EVENT_FLAG_DESC);
        vq.add(chain(1, 0), "a");
        assertFalse(vq.kickPrepare(), "0 -> 1 did not pass 1");
        vq.add(chain(1, 0), "b");
        vq.add(chain(1, 0), "c");
        assertTrue(vq.kickPrepare(), "1 -> 3 passed 1");
        for (int id = 0; id < 3; id++)
        {
            complete(raw, id, 1, id, 0);
            assertNotNull(vq.getBuf());
        }
        for (int i = 0; i < 4; i++)
        {
            vq.add(chain(1, 0), "d" + i); // positions 3..6
        }
        vq.kickPrepare();
        raw.soDeviceEventOffWrap(offWrap(0, 0)); // position 0 of the next lap
        vq.add(chain(1, 0), "e"); // position 7
        assertFalse(vq.kickPrepare(), "7 -> 0 (wrapped) did not pass position 0 of the next lap");
        vq.add(chain(1, 0), "f"); // position 0, wrap 0
        assertTrue(vq.kickPrepare(), "0 -> 1 of the next lap passed position 0");
    }

    @Test
    void callbacksToggleTheDriverEventFlagsWithoutEventIdx()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        final PackedRing raw = raw(vq);
        assertEquals(VRING_PACKED_EVENT_FLAG_ENABLE, raw.loDriverEventFlags());
        vq.disableCb();
        assertEquals(VRING_PACKED_EVENT_FLAG_DISABLE, raw.loDriverEventFlags());
        assertTrue(vq.enableCb(), "nothing pending");
        assertEquals(VRING_PACKED_EVENT_FLAG_ENABLE, raw.loDriverEventFlags());
        final Virtqueue off = Virtqueue.builder(memory, 8).features(PLATFORM).dma(dma).callbacks(false)
            .build();
        assertEquals(VRING_PACKED_EVENT_FLAG_DISABLE, raw(off).loDriverEventFlags(), "no callback: off from the start");
    }

    @Test
    void enableCbWithEventIdxPointsOffWrapAtTheNextUsedPositionAndReportsPendingBuffers()
    {
        final Virtqueue vq = queue(8, PLATFORM | EVENT);
        final PackedRing raw = raw(vq);
        vq.add(chain(1, 1), "a");
        vq.disableCb();
        complete(raw, 0, 1, 0, 0);
        assertFalse(vq.enableCb(), "a buffer is pending: process it, an interrupt may not come");
        assertEquals(VRING_PACKED_EVENT_FLAG_DESC, raw.loDriverEventFlags());
        assertEquals(offWrap(0, 1), raw.loDriverEventOffWrap(), "off_wrap points at the next used position");
        assertEquals("a", vq.getBuf());
        assertEquals(offWrap(2, 1), raw.loDriverEventOffWrap(), "get_buf moves off_wrap along while it is DESC");
    }

    @Test
    void enableCbDelayedAsksForThreeQuartersOfTheDescriptorsInFlight()
    {
        final Virtqueue vq = queue(16, PLATFORM | EVENT);
        final PackedRing raw = raw(vq);
        for (int i = 0; i < 8; i++)
        {
            vq.add(chain(1, 0), "r" + i);
        }
        vq.disableCb();
        assertTrue(vq.enableCbDelayed());
        assertEquals(offWrap(6, 1), raw.loDriverEventOffWrap(), "last used 0 + 8 * 3 / 4");
        complete(raw, 0, 1, 0, 0);
        assertFalse(vq.enableCbDelayed(), "a used buffer is pending");
    }

    @Test
    void enableCbDelayedWrapsOffWrapIntoTheNextLap()
    {
        final Virtqueue vq = queue(10, PLATFORM | EVENT);
        final PackedRing raw = raw(vq);
        for (int i = 0; i < 8; i++)
        {
            vq.add(chain(1, 0), "r" + i);
        }
        for (int i = 0; i < 8; i++)
        {
            complete(raw, i, 1, i, 0);
            vq.getBuf();
        }
        for (int i = 0; i < 8; i++)
        {
            vq.add(chain(1, 0), "s" + i); // positions 8, 9, then 0..5 of the next lap
        }
        vq.disableCb();
        assertTrue(vq.enableCbDelayed());
        assertEquals(offWrap(4, 0), raw.loDriverEventOffWrap(), "8 + 6 = 14: position 4 of the next lap");
    }

    @Test
    void detachUnusedBufReturnsEveryRequestInFlight()
    {
        final Virtqueue vq = queue(8, PLATFORM | INDIRECT);
        vq.add(chain(1, 1), "a");
        vq.add(chain(2, 0), "b");
        vq.add(chain(1, 0), "c", false);
        final java.util.Set<Object> back = new java.util.HashSet<>();
        Object token;
        while ((token = vq.detachUnusedBuf()) != null)
        {
            back.add(token);
        }
        assertEquals(java.util.Set.of("a", "b", "c"), back);
        assertEquals(0, dma.live());
        assertEquals(8, vq.numFree());
        assertEquals(0, vq.inFlight());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 256, 32768})
    void everyQueueSizeWorksEndToEndOverManyLaps(final int num)
    {
        final GuestMemory big = GuestMemory.allocate(8L << 20, false);
        final Virtqueue vq = Virtqueue.builder(big, num).features(PACKED).build();
        final VhostVirtqueue device = vq.deviceBuilder().build();
        final DescriptorChain chain = device.newChain();
        final long data = big.allocate(4096, 4096);
        final SgList one = new SgList(1);
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < num; i++)
            {
                assertEquals(0, vq.add(one.clear().in(data, 8), i));
            }
            assertEquals(Virtqueue.ENOSPC, vq.add(one.clear().in(data, 8), -1));
            int id;
            int served = 0;
            while ((id = device.pop(chain)) >= 0)
            {
                device.addUsed(id, 8);
                served++;
            }
            device.flushUsed();
            assertEquals(num, served);
            for (int i = 0; i < num; i++)
            {
                assertEquals(i, vq.getBuf());
            }
            assertEquals(num, vq.numFree());
            assertEquals(offWrap(0, round % 2 == 0 ? 0 : 1), vq.lastUsedIdx(), "a full lap flips the counter");
        }
    }
}
