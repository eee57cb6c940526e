package vqdma.ring;

/**
 * Constants and helpers of the split ring, named as in the kernel's uapi header {@code linux/virtio_ring.h} and
 * {@code linux/virtio_config.h} (virtio 1.x, section 2.7).
 */
public final class Vring
{
    /** {@code VRING_DESC_F_NEXT}: the buffer continues via the {@code next} field. */
    public static final int VRING_DESC_F_NEXT = 1;
    /** {@code VRING_DESC_F_WRITE}: the buffer is device-writable (otherwise device-readable). */
    public static final int VRING_DESC_F_WRITE = 2;
    /** {@code VRING_DESC_F_INDIRECT}: the buffer holds a table of descriptors. */
    public static final int VRING_DESC_F_INDIRECT = 4;

    /** {@code VRING_USED_F_NO_NOTIFY}: the device does not want kicks (without EVENT_IDX). */
    public static final int VRING_USED_F_NO_NOTIFY = 1;
    /** {@code VRING_AVAIL_F_NO_INTERRUPT}: the driver does not want interrupts (without EVENT_IDX). */
    public static final int VRING_AVAIL_F_NO_INTERRUPT = 1;

    /** {@code VIRTIO_RING_F_INDIRECT_DESC}: indirect descriptor tables. */
    public static final int VIRTIO_RING_F_INDIRECT_DESC = 28;
    /** {@code VIRTIO_RING_F_EVENT_IDX}: used_event/avail_event suppress notifications. */
    public static final int VIRTIO_RING_F_EVENT_IDX = 29;
    /** {@code VIRTIO_F_VERSION_1}: virtio 1.x (little-endian everything). */
    public static final int VIRTIO_F_VERSION_1 = 32;
    /**
     * {@code VIRTIO_F_ACCESS_PLATFORM} (formerly IOMMU_PLATFORM): the device goes through the platform's DMA
     * translation, so the driver must use the DMA API. Without it the device reads guest-physical addresses directly
     * (the legacy "DMA API bypass" of {@code vring_use_dma_api()}).
     */
    public static final int VIRTIO_F_ACCESS_PLATFORM = 33;
    /**
     * {@code VIRTIO_F_RING_PACKED}: the packed virtqueue layout (virtio 1.1, section 2.8) instead of the split one.
     */
    public static final int VIRTIO_F_RING_PACKED = 34;

    /** {@code VRING_PACKED_DESC_F_AVAIL}: bit number (a shift, not a mask) of the packed descriptor's AVAIL flag. */
    public static final int VRING_PACKED_DESC_F_AVAIL = 7;
    /** {@code VRING_PACKED_DESC_F_USED}: bit number (a shift, not a mask) of the packed descriptor's USED flag. */
    public static final int VRING_PACKED_DESC_F_USED = 15;
    /** {@code VRING_PACKED_EVENT_FLAG_ENABLE}: notify on every event (packed event suppression flags). */
    public static final int VRING_PACKED_EVENT_FLAG_ENABLE = 0x0;
    /** {@code VRING_PACKED_EVENT_FLAG_DISABLE}: do not notify. */
    public static final int VRING_PACKED_EVENT_FLAG_DISABLE = 0x1;
    /** {@code VRING_PACKED_EVENT_FLAG_DESC}: notify when the ring passes {@code off_wrap} (needs EVENT_IDX). */
    public static final int VRING_PACKED_EVENT_FLAG_DESC = 0x2;
    /** {@code VRING_PACKED_EVENT_F_WRAP_CTR}: bit number of the wrap counter in {@code off_wrap}. */
    public static final int VRING_PACKED_EVENT_F_WRAP_CTR = 15;

    /** Largest queue size of a split ring. */
    public static final int MAX_QUEUE_SIZE = 32768;
    /** Largest queue size of a packed ring (any size 1..32768, not only powers of two). */
    public static final int MAX_PACKED_QUEUE_SIZE = 32768;
    /** Size of one descriptor in bytes. */
    public static final int DESC_SIZE = 16;

    private Vring()
    {
    }

    /**
     * @param bit a feature bit number.
     * @return the feature's bit in a 64-bit feature word.
     */
    public static long feature(final int bit)
    {
        return 1L << bit;
    }

    /**
     * @param features negotiated feature word.
     * @param bit      feature bit number.
     * @return true if the feature is negotiated.
     */
    public static boolean hasFeature(final long features, final int bit)
    {
        return (features & (1L << bit)) != 0;
    }

    /**
     * {@code vring_need_event()}: should the side that just moved its index from {@code oldIdx} to {@code newIdx}
     * notify the other side, which asked to be notified once the index passes {@code eventIdx}? All u16 arithmetic.
     *
     * @param eventIdx the other side's used_event/avail_event.
     * @param newIdx   the index just published.
     * @param oldIdx   the index as of the previous notification decision.
     * @return true if {@code eventIdx} lies in {@code [oldIdx, newIdx)}.
     */
    public static boolean vringNeedEvent(final int eventIdx, final int newIdx, final int oldIdx)
    {
        return ((newIdx - eventIdx - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }

    /**
     * @param num a queue size.
     * @return true if it is a power of two in 1..32768.
     */
    public static boolean isValidQueueSize(final int num)
    {
        return num >= 1 && num <= MAX_QUEUE_SIZE && Integer.bitCount(num) == 1;
    }

    /**
     * @param num a queue size.
     * @return {@code num}.
     * @throws IllegalArgumentException if it is not a power of two in 1..32768.
     */
    public static int checkQueueSize(final int num)
    {
        if (!isValidQueueSize(num))
        {
            throw new IllegalArgumentException("queue size " + num + " must be a power of two in 1.." + MAX_QUEUE_SIZE);
        }
        return num;
    }

    /**
     * @param num a queue size.
     * @return true if it is a valid packed queue size: any value in 1..32768.
     */
    public static boolean isValidPackedQueueSize(final int num)
    {
        return num >= 1 && num <= MAX_PACKED_QUEUE_SIZE;
    }

    /**
     * @param num a queue size.
     * @return {@code num}.
     * @throws IllegalArgumentException if it is not in 1..32768.
     */
    public static int checkPackedQueueSize(final int num)
    {
        if (!isValidPackedQueueSize(num))
        {
            throw new IllegalArgumentException("packed queue size " + num + " must be in 1.." + MAX_PACKED_QUEUE_SIZE);
        }
        return num;
    }
}
