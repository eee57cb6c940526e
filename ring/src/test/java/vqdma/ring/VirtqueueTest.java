package vqdma.ring;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import vqdma.dma.GuestMemory;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.Vring.*;

/**
 * The driver side: free list and chaining invariants, DMA mapping and its unwinding, notification decisions, and
 * one test per check of what the device wrote (each playing a misbehaving device by hand).
 */
class VirtqueueTest
{
    static final long PLATFORM = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM);
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

    SplitRing raw(final Virtqueue vq)
    {
        return RawRing.of(memory, vq.ringGpa(), vq.num());
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

    /** Plays the device: returns the chain at avail slot {@code idx} with {@code len}. */
    static void complete(final SplitRing raw, final int usedIdx, final int id, final int len)
    {
        raw.spUsedElem(usedIdx & (raw.num() - 1), id, len);
        raw.soUsedIdx(usedIdx + 1);
    }

    @Test
    void requestsAddedWithoutPublishingBecomeVisibleAtOnceOnPublishOrKickPrepare()
    {
        final Virtqueue vq = queue(16, PLATFORM);
        final SplitRing raw = raw(vq);
        final VhostVirtqueue device = vq.deviceBuilder().build();
        final DescriptorChain chain = device.newChain();
        assertEquals(0, vq.add(chain(1, 1), "a", false));
        assertEquals(0, vq.add(chain(1, 1), "b", false));
        assertEquals(0, raw.loAvailIdx(), "nothing published yet");
        assertEquals(VhostVirtqueue.EMPTY, device.pop(chain), "the device sees nothing unpublished");
        vq.publishAvail();
        assertEquals(2, raw.loAvailIdx(), "one store publishes both");
        vq.publishAvail();
        assertEquals(2, raw.loAvailIdx(), "publishing again changes nothing");
        assertEquals(0, vq.add(chain(1, 1), "c", false));
        assertTrue(vq.kickPrepare(), "the device wants kicks: NO_NOTIFY is clear");
        assertEquals(3, raw.loAvailIdx(), "kickPrepare publishes first");
        for (final String token : new String[] {"a", "b", "c"})
        {
            final int head = device.pop(chain);
            assertTrue(head >= 0);
            device.pushUsed(head, 0);
            assertEquals(token, vq.getBuf());
        }
        assertEquals(0, vq.add(chain(1, 1), "d", false));
        assertEquals("d", vq.detachUnusedBuf(), "an unpublished request is taken back too");
        assertEquals(3, raw.loAvailIdx());
        assertEquals(16, vq.numFree());
    }

    @Test
    void directChainsUseOneDescriptorPerBufferAndFreeThemOnGet()
    {
        final Virtqueue vq = queue(16, PLATFORM);
        final SplitRing raw = raw(vq);
        assertEquals(0, vq.add(chain(2, 3), "a"));
        assertEquals(11, vq.numFree());
        assertEquals(0, raw.lpAvailRing(0));
        assertEquals(1, raw.loAvailIdx());
        // The chain in the table: readable first, NEXT on all but the last, WRITE on the writable ones, mapped.
        int i = 0;
        for (int n = 0; n < 5; n++)
        {
            assertEquals(TrackingDma.OFFSET + buf + 512L * n, raw.lpDescAddr(i), "addr of buffer " + n);
            assertEquals(n < 2 ? 100 + n : 200 + n - 2, raw.lpDescLen(i));
            final int flags = raw.lpDescFlags(i);
            assertEquals(n < 4, (flags & VRING_DESC_F_NEXT) != 0);
            assertEquals(n >= 2, (flags & VRING_DESC_F_WRITE) != 0);
            i = raw.lpDescNext(i);
        }
        assertEquals(5, dma.live());
        complete(raw, 0, 0, 600);
        assertEquals("a", vq.getBuf());
        assertEquals(600, vq.usedLen());
        assertEquals(0, vq.usedId());
        assertEquals(16, vq.numFree());
        assertEquals(0, dma.live(), "every buffer unmapped");
        assertNull(vq.getBuf());
    }

    @Test
    void fullRingIsAReturnValue()
    {
        final Virtqueue vq = queue(4, PLATFORM);
        assertEquals(0, vq.add(chain(1, 2), "a"));
        assertEquals(Virtqueue.ENOSPC, vq.add(chain(1, 1), "b"));
        assertEquals(2 + 1, dma.maps + 0, "nothing mapped for the refused request");
        assertEquals(0, vq.add(chain(1, 0), "c"));
        assertEquals(0, vq.numFree());
        assertEquals(Virtqueue.ENOSPC, vq.add(chain(1, 0), "d"));
    }

    @Test
    void outOfOrderCompletionRebuildsTheFreeList()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        final SplitRing raw = raw(vq);
        vq.add(chain(1, 1), "a"); // descs 0,1
        vq.add(chain(2, 0), "b"); // descs 2,3
        vq.add(chain(0, 1), "c"); // desc 4
        complete(raw, 0, 2, 0);
        complete(raw, 1, 4, 200);
        complete(raw, 2, 0, 200);
        assertEquals("b", vq.getBuf());
        assertEquals("c", vq.getBuf());
        assertEquals("a", vq.getBuf());
        assertEquals(8, vq.numFree());
        // Every descriptor is reachable again: a chain of all 8 fits.
        assertEquals(0, vq.add(chain(4, 4), "all"));
        assertEquals(0, vq.numFree());
    }

    @Test
    void indirectTablesCarryMultiBufferChainsInOneDescriptor()
    {
        final Virtqueue vq = queue(8, PLATFORM | INDIRECT);
        final SplitRing raw = raw(vq);
        assertEquals(0, vq.add(chain(3, 2), "x"));
        assertEquals(7, vq.numFree());
        assertEquals(VRING_DESC_F_INDIRECT, raw.lpDescFlags(0));
        assertEquals(5 * 16, raw.lpDescLen(0));
        assertEquals(6, dma.live(), "5 buffers and the table are mapped");
        assertEquals(0, vq.add(chain(1, 0), "single"), "a single buffer never uses a table");
        assertEquals(0, raw.lpDescFlags(1));
        complete(raw, 0, 0, 401);
        assertEquals("x", vq.getBuf());
        assertEquals(1, dma.live());
    }

    @Test
    void indirectFallsBackToDirectWhenThePoolIsEmptyOrTheChainTooLong()
    {
        final Virtqueue vq = Virtqueue.builder(memory, 16).features(PLATFORM | INDIRECT).dma(dma)
            .indirectPool(4, 1).build();
        final SplitRing raw = raw(vq);
        assertEquals(0, vq.add(chain(2, 1), "pool"));
        assertEquals(VRING_DESC_F_INDIRECT, raw.lpDescFlags(0));
        assertEquals(0, vq.add(chain(2, 1), "empty pool"));
        assertEquals(VRING_DESC_F_NEXT, raw.lpDescFlags(1), "direct chain");
        assertEquals(12, vq.numFree());
        complete(raw, 0, 0, 200);
        vq.getBuf();
        assertEquals(0, vq.add(chain(3, 2), "too long for a table"));
        assertNotEquals(VRING_DESC_F_INDIRECT, raw.lpDescFlags(0));
    }

    @Test
    void aFailedMappingUnwindsEverythingMappedForTheRequest()
    {
        final Virtqueue vq = queue(16, PLATFORM);
        dma.failAtMap = 3;
        assertEquals(Virtqueue.ENOMEM, vq.add(chain(2, 2), "a"), "a transient failure");
        assertEquals(0, dma.live(), "the two mapped buffers were unmapped");
        assertEquals(16, vq.numFree());
        assertEquals(0, raw(vq).loAvailIdx(), "nothing published");
        assertEquals(0, vq.add(chain(2, 2), "b"), "the queue still works");
    }

    @Test
    void aFailedTableMappingUnwindsTheBuffersAndReturnsTheTable()
    {
        final Virtqueue vq = Virtqueue.builder(memory, 16).features(PLATFORM | INDIRECT).dma(dma)
            .indirectPool(8, 1).build();
        dma.failAtMap = 4; // three buffers map, the table does not
        assertEquals(Virtqueue.ENOMEM, vq.add(chain(1, 2), "a"));
        assertEquals(0, dma.live());
        assertEquals(0, vq.add(chain(1, 2), "b"));
        assertEquals(VRING_DESC_F_INDIRECT, raw(vq).lpDescFlags(0), "the table went back to the pool");
    }

    @Test
    void aSegmentLargerThanTheMaxMappingSizeIsEio()
    {
        final TrackingDma small = new TrackingDma(memory, 256 * 1024);
        final Virtqueue vq = Virtqueue.builder(memory, 16).features(PLATFORM).dma(small).build();
        sg.clear().out(buf, 16).out(buf + 4096, 300 * 1024).in(buf + 512 * 1024, 1);
        assertEquals(Virtqueue.EIO, vq.add(sg, "big"), "can never map: -EIO, as 2019's virtqueue_add");
        assertEquals(0, small.live());
        assertFalse(vq.isBroken(), "a mapping failure does not break the queue");
    }

    @Test
    void legacyBypassPutsGuestPhysicalAddressesInTheRing()
    {
        final Virtqueue vq = queue(8, feature(VIRTIO_F_VERSION_1));
        vq.add(chain(1, 0), "a");
        assertEquals(buf, raw(vq).lpDescAddr(0));
        assertEquals(0, dma.maps, "no DMA API without ACCESS_PLATFORM");
        assertEquals(vq.ringGpa(), vq.descAddr());
    }

    @Test
    void premappedBuffersAreNotMappedAgain()
    {
        final Virtqueue vq = Virtqueue.builder(memory, 8).features(PLATFORM | INDIRECT).dma(dma)
            .premapped(true).build();
        sg.clear().out(0x1234_0000L, 10).in(0x5678_0000L, 20);
        assertEquals(0, vq.add(sg, "p"));
        assertEquals(1, dma.maps, "only the indirect table is mapped by the ring");
        final SplitRing raw = raw(vq);
        complete(raw, 0, 0, 20);
        assertEquals("p", vq.getBuf());
        assertEquals(0, dma.live());
        assertThrows(IllegalArgumentException.class,
            () -> Virtqueue.builder(memory, 8).premapped(true).build());
    }

    @Test
    void misuseIsRefusedWithTheValues()
    {
        final Virtqueue vq = queue(4, PLATFORM);
        final IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
            () -> vq.add(sg.clear(), "x"));
        assertTrue(empty.getMessage().contains("add of 0 buffers"), empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> vq.add(chain(3, 2), "x"), "longer than the queue");
        assertThrows(IllegalArgumentException.class, () -> vq.add(chain(1, 0), null));
        final IllegalStateException order = assertThrows(IllegalStateException.class,
            () -> sg.clear().in(buf, 1).out(buf, 1));
        assertTrue(order.getMessage().contains("readable buffers come first"), order.getMessage());
        assertThrows(IllegalArgumentException.class, () -> sg.clear().out(buf, 0));
    }

    // --- what the device writes is checked ------------------------------------------------------------------------

    Virtqueue withTwoInFlight()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        vq.add(chain(1, 1), "a"); // head 0, 200 writable
        vq.add(chain(1, 0), "b"); // head 2, 0 writable
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
        complete(raw(vq), 0, 70000, 0);
        assertBroken(vq, "id 70000 out of range");
    }

    @Test
    void usedIdThatIsNotAHeadBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        complete(raw(vq), 0, 1, 0);
        assertBroken(vq, "id 1 is not a head!");
    }

    @Test
    void usedLenBeyondTheWritableBytesBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        complete(raw(vq), 0, 0, 201);
        assertBroken(vq, "used len 201 is greater than the 200 writable bytes of chain 0");
    }

    @Test
    void usedLenOnAReadOnlyChainBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        complete(raw(vq), 0, 2, 1);
        assertBroken(vq, "used len 1 is greater than the 0 writable bytes of chain 2");
    }

    @Test
    void usedIndexRunningAheadOfWhatIsInFlightBreaksTheQueue()
    {
        final Virtqueue vq = withTwoInFlight();
        raw(vq).soUsedIdx(3);
        assertBroken(vq, "used.idx moved from 0 to 3 but only 2 buffers are in flight");
    }

    @Test
    void aDoubleCompletionIsCaught()
    {
        final Virtqueue vq = withTwoInFlight();
        final SplitRing raw = raw(vq);
        complete(raw, 0, 0, 10);
        complete(raw, 1, 0, 10);
        assertEquals("a", vq.getBuf());
        assertBroken(vq, "id 0 is not a head!");
        assertEquals(1, dma.live(), "b is still mapped: in flight, never unmapped twice");
    }

    // --- notifications ---------------------------------------------------------------------------------------------

    @Test
    void kickFollowsNoNotifyWithoutEventIdx()
    {
        final int[] notified = new int[1];
        final Virtqueue vq = Virtqueue.builder(memory, 8).features(PLATFORM).dma(dma)
            .notifier(q -> notified[0]++).build();
        vq.add(chain(1, 0), "a");
        assertTrue(vq.kick());
        raw(vq).spUsedFlags(VRING_USED_F_NO_NOTIFY);
        vq.add(chain(1, 0), "b");
        assertFalse(vq.kick());
        assertEquals(1, notified[0]);
        assertEquals(1, vq.kicks());
        assertEquals(1, vq.kicksSuppressed());
    }

    @Test
    void kickFollowsAvailEventWithEventIdx()
    {
        final Virtqueue vq = queue(8, PLATFORM | EVENT);
        final SplitRing raw = raw(vq);
        raw.soAvailEvent(1); // kick me when avail.idx passes 1
        vq.add(chain(1, 0), "a");
        assertFalse(vq.kickPrepare(), "avail.idx 0 -> 1 did not pass 1");
        vq.add(chain(1, 0), "b");
        vq.add(chain(1, 0), "c");
        assertTrue(vq.kickPrepare(), "avail.idx 1 -> 3 passed 1");
    }

    @Test
    void callbacksToggleTheFlagWithoutEventIdx()
    {
        final Virtqueue vq = queue(8, PLATFORM);
        final SplitRing raw = raw(vq);
        vq.disableCb();
        assertEquals(VRING_AVAIL_F_NO_INTERRUPT, raw.lpAvailFlags());
        assertTrue(vq.enableCb(), "nothing pending");
        assertEquals(0, raw.lpAvailFlags());
        final Virtqueue off = Virtqueue.builder(memory, 8).features(PLATFORM).dma(dma).callbacks(false).build();
        assertEquals(VRING_AVAIL_F_NO_INTERRUPT, raw(off).lpAvailFlags(), "no callback: interrupts off from the start");
    }

    @Test
    void enableCbReportsPendingBuffers()
    {
        final Virtqueue vq = queue(8, PLATFORM | EVENT);
        final SplitRing raw = raw(vq);
        vq.add(chain(1, 0), "a");
        vq.disableCb();
        complete(raw, 0, 0, 0);
        assertFalse(vq.enableCb(), "a buffer is pending: process it, an interrupt may not come");
        assertEquals(0, raw.loUsedEvent(), "used_event points at the next entry");
        assertEquals("a", vq.getBuf());
        assertEquals(1, raw.loUsedEvent(), "get_buf moves used_event along while callbacks are on");
    }

    @Test
    void enableCbDelayedAsksForThreeQuartersOfTheOutstandingBuffers()
    {
        final Virtqueue vq = queue(16, PLATFORM | EVENT);
        final SplitRing raw = raw(vq);
        for (int i = 0; i < 8; i++)
        {
            vq.add(chain(1, 0), "r" + i);
        }
        vq.disableCb();
        assertTrue(vq.enableCbDelayed());
        assertEquals(6, raw.loUsedEvent(), "last_used 0 + 8 * 3 / 4");
        for (int i = 0; i < 7; i++)
        {
            complete(raw, i, 0, 0);
        }
        assertFalse(vq.enableCbDelayed(), "7 of 8 already used: more than the 6 asked for");
    }

    @Test
    void detachUnusedBufReturnsEveryRequestInFlight()
    {
        final Virtqueue vq = queue(8, PLATFORM | INDIRECT);
        vq.add(chain(1, 1), "a");
        vq.add(chain(2, 0), "b");
        vq.add(chain(1, 0), "c");
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
        assertEquals(0, raw(vq).loAvailIdx(), "avail.idx taken back");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 256, 32768})
    void everyQueueSizeWorksEndToEnd(final int num)
    {
        final GuestMemory big = GuestMemory.allocate(8L << 20, false);
        final Virtqueue vq = Virtqueue.builder(big, num).features(feature(VIRTIO_F_VERSION_1)).build();
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
            int head;
            int served = 0;
            while ((head = device.pop(chain)) >= 0)
            {
                device.addUsed(head, 8);
                served++;
            }
            device.flushUsed();
            assertEquals(num, served);
            for (int i = 0; i < num; i++)
            {
                assertEquals(i, vq.getBuf());
            }
            assertEquals(num, vq.numFree());
        }
    }
}
