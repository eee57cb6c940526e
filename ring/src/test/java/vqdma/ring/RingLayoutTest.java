package vqdma.ring;

import org.junit.jupiter.api.Test;
import vqdma.dma.GuestMemory;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.Vring.*;

/**
 * One API for both layouts: the negotiated {@code VIRTIO_F_RING_PACKED} picks the layout on both sides, the
 * builder's {@code layout()} sets or clears that bit, and each layout refuses the queue sizes it cannot have.
 */
class RingLayoutTest
{
    final GuestMemory memory = GuestMemory.allocate(1L << 20, false);

    @Test
    void theFeatureBitPicksTheLayoutOnBothSides()
    {
        final Virtqueue split = Virtqueue.builder(memory, 8).build();
        assertInstanceOf(SplitVirtqueue.class, split);
        assertEquals(RingLayout.SPLIT, split.layout());
        assertInstanceOf(SplitVhostVirtqueue.class, split.deviceBuilder().build());

        final Virtqueue packed = Virtqueue.builder(memory, 8)
            .features(feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_RING_PACKED)).build();
        assertInstanceOf(PackedVirtqueue.class, packed);
        assertEquals(RingLayout.PACKED, packed.layout());
        final VhostVirtqueue device = packed.deviceBuilder().build();
        assertInstanceOf(PackedVhostVirtqueue.class, device);
        assertEquals(RingLayout.PACKED, device.layout());
    }

    @Test
    void layoutSetsOrClearsTheFeatureBitWhateverTheOrder()
    {
        final Virtqueue packed = Virtqueue.builder(memory, 8).layout(RingLayout.PACKED)
            .features(feature(VIRTIO_F_VERSION_1)).build();
        assertTrue(hasFeature(packed.features(), VIRTIO_F_RING_PACKED));
        final Virtqueue split = Virtqueue.builder(memory, 8).layout(RingLayout.SPLIT)
            .features(feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_RING_PACKED)).build();
        assertFalse(hasFeature(split.features(), VIRTIO_F_RING_PACKED));
        assertEquals(RingLayout.SPLIT, split.layout());
    }

    @Test
    void eachLayoutTakesItsQueueSizes()
    {
        assertEquals(3, Virtqueue.builder(memory, 3).layout(RingLayout.PACKED).build().num());
        final IllegalArgumentException split = assertThrows(IllegalArgumentException.class,
            () -> Virtqueue.builder(memory, 3).build());
        assertTrue(split.getMessage().contains("queue size 3 must be a power of two"), split.getMessage());
        final IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
            () -> Virtqueue.builder(memory, 40000));
        assertTrue(big.getMessage().contains("40000"), big.getMessage());
        assertTrue(RingLayout.PACKED.isValidQueueSize(32767));
        assertFalse(RingLayout.SPLIT.isValidQueueSize(32767));
    }

    @Test
    void layoutsParseFromTheirIds()
    {
        assertEquals(RingLayout.PACKED, RingLayout.parse("packed"));
        assertEquals(RingLayout.SPLIT, RingLayout.parse("SPLIT"));
        assertEquals("packed", RingLayout.PACKED.id());
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> RingLayout.parse("ring"));
        assertTrue(ex.getMessage().contains("'ring' must be split or packed"), ex.getMessage());
    }

    @Test
    void thePackedDeviceRefusesABaseOutsideTheRing()
    {
        final Virtqueue packed = Virtqueue.builder(memory, 8).layout(RingLayout.PACKED).build();
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> packed.deviceBuilder().base(9).build());
        assertTrue(ex.getMessage().contains("below the queue size 8"), ex.getMessage());
        assertEquals(0x8003, packed.deviceBuilder().base(0x8003).build().lastAvailIdx());
    }
}
