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

    /** Largest queue size of a split ring. */
    public static final int MAX_QUEUE_SIZE = 32768;
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
}
