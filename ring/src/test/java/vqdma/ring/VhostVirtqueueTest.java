package vqdma.ring;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import vqdma.dma.DirectDma;
import vqdma.dma.GuestMemory;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.Vring.*;

/**
 * The device treats the ring as untrusted: one test per validation rule, each playing a misbehaving driver that
 * writes the ring by hand, and asserting the device's specific message and that the queue is then broken (or the
 * chain completed with len 0 under {@link VhostVirtqueue.BadChainPolicy#COMPLETE}).
 */
class VhostVirtqueueTest
{
    static final int N = 256;
    static final long MEMORY = 1L << 20;

    GuestMemory memory;
    long ringGpa;
    SplitRing raw;
    long buf;
    int availIdx;

    @BeforeEach
    void setUp()
    {
        memory = GuestMemory.allocate(MEMORY, false);
        ringGpa = memory.allocateShared(SplitRingDescriptor.vringSize(N, 4096));
        raw = RawRing.of(memory, ringGpa, N);
        buf = memory.allocate(64 * 1024, 4096);
    }

    VhostVirtqueue device(final long features, final VhostVirtqueue.BadChainPolicy policy)
    {
        return VhostVirtqueue.builder(new DirectDma.View(memory, 0), N, features, ringGpa,
            ringGpa + SplitRingDescriptor.availOffset(N, 4096), ringGpa + SplitRingDescriptor.usedOffset(N, 4096))
            .badChainPolicy(policy).build();
    }

    VhostVirtqueue device(final long features)
    {
        return device(features, VhostVirtqueue.BadChainPolicy.STOP);
    }

    void publish(final int head)
    {
        raw.spAvailRing(availIdx & (N - 1), head);
        availIdx = (availIdx + 1) & 0xFFFF;
        raw.soAvailIdx(availIdx);
    }

    void putTableEntry(final long table, final int i, final long addr, final int len, final int flags, final int next)
    {
        final int at = (int)table + 16 * i;
        memory.buffer().putLong(at, addr, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putInt(at + 8, len, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putShort(at + 12, (short)flags, ByteOrder.LITTLE_ENDIAN);
        memory.buffer().putShort(at + 14, (short)next, ByteOrder.LITTLE_ENDIAN);
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
    void aGoodChainIsWalkedAndTranslated()
    {
        raw.spDesc(0, buf, 100, VRING_DESC_F_NEXT, 1);
        raw.spDesc(1, buf + 4096, 200, VRING_DESC_F_WRITE, 0);
        publish(0);
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        assertEquals(0, vq.pop(chain));
        assertEquals(2, chain.descriptors());
        assertEquals(100, chain.readableBytes());
        assertEquals(200, chain.writableBytes());
        assertEquals(buf + 4096, chain.runGpa(chain.outRuns()));
        assertEquals(VhostVirtqueue.EMPTY, vq.pop(chain));
    }

    @Test
    void availIndexMayNotRunAheadByMoreThanTheQueueSize()
    {
        raw.soAvailIdx(N + 1);
        assertContains(broken(device(0)), "Guest moved avail index from 0 to 257");
    }

    @Test
    void headMustBeADescriptorIndex()
    {
        publish(N + 44);
        assertContains(broken(device(0)), "Guest says index 300 > 256 is available");
    }

    @Test
    void nextMustBeADescriptorIndex()
    {
        raw.spDesc(0, buf, 10, VRING_DESC_F_NEXT, 999);
        publish(0);
        assertContains(broken(device(0)), "Desc index is 999 > 256, head = 0");
    }

    @Test
    void aLoopEndsAfterQueueSizeLinks()
    {
        raw.spDesc(0, buf, 10, VRING_DESC_F_NEXT, 1);
        raw.spDesc(1, buf, 10, VRING_DESC_F_NEXT, 0);
        publish(0);
        assertContains(broken(device(0)), "Loop detected: last one at 0 vq size 256 head 0");
    }

    @Test
    void readableAfterWritableIsRefused()
    {
        raw.spDesc(0, buf, 10, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
        raw.spDesc(1, buf, 10, 0, 0);
        publish(0);
        assertContains(broken(device(0)), "Descriptor has out after in: idx 1, head 0");
    }

    @Test
    void indirectNeedsTheFeature()
    {
        raw.spDesc(0, buf, 32, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(0)), "Indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
    }

    @Test
    void indirectWithNextIsRefused()
    {
        raw.spDesc(0, buf, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))), "Indirect descriptor with NEXT flag");
    }

    @Test
    void nestedIndirectIsRefused()
    {
        putTableEntry(buf, 0, buf + 4096, 32, VRING_DESC_F_INDIRECT, 0);
        raw.spDesc(0, buf, 16, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))), "Nested indirect descriptor: idx 0");
    }

    @Test
    void indirectLengthMustBeAMultipleOf16()
    {
        raw.spDesc(0, buf, 24, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))),
            "Invalid length in indirect descriptor: len 0x18");
    }

    @Test
    void indirectLengthMayNotBeZero()
    {
        raw.spDesc(0, buf, 0, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))),
            "Invalid length in indirect descriptor: len 0x0");
    }

    @Test
    void indirectTableMayNotExceedTheQueueSize()
    {
        raw.spDesc(0, buf, 16 * (N + 1), VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))), "Indirect buffer length too big: 4112 > 4096");
    }

    @Test
    void indirectTableMustBeReachable()
    {
        raw.spDesc(0, MEMORY - 16, 32, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))),
            "Translation failure of indirect table at desc 0, head 0: DMA fault");
    }

    @Test
    void indirectNextMustBeAnEntryOfTheTable()
    {
        putTableEntry(buf, 0, buf + 4096, 8, VRING_DESC_F_NEXT, 5);
        putTableEntry(buf, 1, buf + 4096, 8, 0, 0);
        raw.spDesc(0, buf, 32, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))), "Indirect desc next is 5 >= 2 entries");
    }

    @Test
    void aLoopInAnIndirectTableEnds()
    {
        putTableEntry(buf, 0, buf + 4096, 8, VRING_DESC_F_NEXT, 1);
        putTableEntry(buf, 1, buf + 4096, 8, VRING_DESC_F_NEXT, 0);
        raw.spDesc(0, buf, 32, VRING_DESC_F_INDIRECT, 0);
        publish(0);
        assertContains(broken(device(feature(VIRTIO_RING_F_INDIRECT_DESC))), "Loop detected in indirect table");
    }

    @Test
    void buffersMustLieInsideGuestMemory()
    {
        raw.spDesc(0, MEMORY - 10, 11, 0, 0);
        publish(0);
        final String reason = broken(device(0));
        assertContains(reason, "Translation failure at desc 0, head 0");
        assertContains(reason, "outside guest memory");
    }

    @Test
    void lengthsThatOverflowTheAddressAreRefused()
    {
        raw.spDesc(0, -16L, 0xFFFF_FFF0, 0, 0);
        publish(0);
        assertContains(broken(device(0)), "Translation failure at desc 0");
    }

    @Test
    void privateMemoryOfAConfidentialGuestIsOutOfReach()
    {
        memory = GuestMemory.allocate(MEMORY, true);
        ringGpa = memory.allocateShared(SplitRingDescriptor.vringSize(N, 4096));
        raw = RawRing.of(memory, ringGpa, N);
        final long priv = memory.allocate(4096, 4096);
        raw.spDesc(0, priv, 100, 0, 0);
        publish(0);
        assertContains(broken(device(0)), "private memory of a confidential guest");
    }

    @Test
    void aChainNeedingMoreRunsThanTheDeviceHoldsIsRefused()
    {
        for (int i = 0; i < 8; i++)
        {
            raw.spDesc(i, buf + 8L * i * 2, 8, VRING_DESC_F_NEXT, i + 1);
        }
        raw.spDesc(8, buf + 200, 8, 0, 0);
        publish(0);
        final VhostVirtqueue vq = VhostVirtqueue.builder(new DirectDma.View(memory, 0), N, 0, ringGpa,
            ringGpa + SplitRingDescriptor.availOffset(N, 4096), ringGpa + SplitRingDescriptor.usedOffset(N, 4096))
            .maxRuns(4).build();
        assertContains(broken(vq), "Chain at head 0 needs more than 4 runs");
    }

    @Test
    void completePolicyReturnsTheBadChainAndGoesOn()
    {
        raw.spDesc(0, buf, 10, VRING_DESC_F_NEXT, 999);
        raw.spDesc(1, buf, 10, 0, 0);
        publish(0);
        publish(1);
        final VhostVirtqueue vq = device(0, VhostVirtqueue.BadChainPolicy.COMPLETE);
        final DescriptorChain chain = vq.newChain();
        assertEquals(1, vq.pop(chain), "the good chain behind the bad one is served");
        assertFalse(vq.isBroken());
        assertEquals(1, vq.badChains());
        assertContains(vq.lastError(), "Desc index is 999");
        assertEquals(1, raw.loUsedIdx(), "the bad chain was returned");
        assertEquals(0, raw.lpUsedId(0));
        assertEquals(0, raw.lpUsedLen(0));
    }

    @Test
    void usedEntriesArePublishedInBatches()
    {
        final VhostVirtqueue vq = device(0);
        vq.addUsed(3, 10);
        vq.addUsed(4, 20);
        assertEquals(0, raw.loUsedIdx(), "not published before flush");
        vq.flushUsed();
        assertEquals(2, raw.loUsedIdx());
        assertEquals(4, raw.lpUsedId(1));
        assertEquals(20, raw.lpUsedLen(1));
        assertThrows(IllegalArgumentException.class, () -> vq.addUsed(N, 0));
    }

    @Test
    void interruptsFollowNoInterruptWithoutEventIdx()
    {
        final VhostVirtqueue vq = device(0);
        vq.pushUsed(0, 0);
        assertTrue(vq.needInterrupt());
        raw.spAvailFlags(VRING_AVAIL_F_NO_INTERRUPT);
        vq.pushUsed(1, 0);
        assertFalse(vq.needInterrupt());
        assertEquals(1, vq.interrupts());
        assertEquals(1, vq.interruptsSuppressed());
    }

    @Test
    void interruptsFollowUsedEventWithEventIdx()
    {
        final VhostVirtqueue vq = device(feature(VIRTIO_RING_F_EVENT_IDX));
        vq.pushUsed(0, 0);
        assertTrue(vq.needInterrupt(), "the first interrupt is always sent");
        raw.soUsedEvent(3); // interrupt me when used.idx passes 3
        vq.pushUsed(1, 0);
        assertFalse(vq.needInterrupt());
        vq.pushUsed(2, 0);
        vq.pushUsed(3, 0);
        assertTrue(vq.needInterrupt(), "used.idx moved from 2 to 4 and passed used_event 3");
        vq.pushUsed(4, 0);
        assertFalse(vq.needInterrupt(), "used_event 3 was already passed");
    }

    @Test
    void enableNotifyReportsWhatSlippedInWithEventIdx()
    {
        final VhostVirtqueue vq = device(feature(VIRTIO_RING_F_EVENT_IDX));
        vq.disableNotify();
        assertFalse(vq.enableNotify(), "nothing pending");
        assertEquals(0, raw.loAvailEvent());
        vq.disableNotify();
        raw.spDesc(0, buf, 8, 0, 0);
        publish(0);
        assertTrue(vq.enableNotify(), "a buffer slipped in: do not sleep");
    }

    @Test
    void noNotifyFlagFollowsDisableAndEnableWithoutEventIdx()
    {
        final VhostVirtqueue vq = device(0);
        vq.disableNotify();
        assertEquals(VRING_USED_F_NO_NOTIFY, raw.lpUsedFlags());
        assertFalse(vq.enableNotify());
        assertEquals(0, raw.lpUsedFlags());
    }

    @Test
    void copiesGoThroughTheTranslatedRuns()
    {
        memory.buffer().putInt((int)buf, 0xAABBCCDD, ByteOrder.LITTLE_ENDIAN);
        raw.spDesc(0, buf, 4, VRING_DESC_F_NEXT, 1);
        raw.spDesc(1, buf + 100, 2, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
        raw.spDesc(2, buf + 200, 6, VRING_DESC_F_WRITE, 0);
        publish(0);
        final VhostVirtqueue vq = device(0);
        final DescriptorChain chain = vq.newChain();
        assertEquals(0, vq.pop(chain));
        final org.agrona.concurrent.UnsafeBuffer tmp = new org.agrona.concurrent.UnsafeBuffer(new byte[8]);
        chain.copyFromReadable(0, tmp, 0, 4);
        assertEquals(0xAABBCCDD, tmp.getInt(0, ByteOrder.LITTLE_ENDIAN));
        tmp.putLong(0, 0x0807060504030201L, ByteOrder.LITTLE_ENDIAN);
        chain.copyToWritable(0, tmp, 0, 8);
        assertEquals(0x01, memory.buffer().getByte((int)buf + 100));
        assertEquals(0x02, memory.buffer().getByte((int)buf + 101));
        assertEquals(0x03, memory.buffer().getByte((int)buf + 200));
        assertEquals(0x08, memory.buffer().getByte((int)buf + 205));
        assertThrows(IndexOutOfBoundsException.class, () -> chain.copyToWritable(1, tmp, 0, 8));
    }
}
