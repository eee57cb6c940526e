package vqdma.ring;

import java.util.Locale;

/**
 * The two virtqueue layouts, selected by the negotiated feature {@code VIRTIO_F_RING_PACKED} as the virtio spec
 * selects them (a device offers it, a driver that accepts it must use the packed layout).
 */
public enum RingLayout
{
    /** The split virtqueue (virtio 1.0, 2.7): descriptor table, available ring, used ring. */
    SPLIT,
    /** The packed virtqueue (virtio 1.1, 2.8): one descriptor ring both sides write, two event structures. */
    PACKED;

    /**
     * @param features a negotiated feature word.
     * @return {@link #PACKED} if it has {@code VIRTIO_F_RING_PACKED}, else {@link #SPLIT}.
     */
    public static RingLayout of(final long features)
    {
        return Vring.hasFeature(features, Vring.VIRTIO_F_RING_PACKED) ? PACKED : SPLIT;
    }

    /**
     * @param features a feature word.
     * @return it with {@code VIRTIO_F_RING_PACKED} set for {@link #PACKED}, cleared for {@link #SPLIT}.
     */
    public long applyTo(final long features)
    {
        final long bit = Vring.feature(Vring.VIRTIO_F_RING_PACKED);
        return this == PACKED ? features | bit : features & ~bit;
    }

    /** @return the name used by the command-line tools and benchmark parameters: {@code split} or {@code packed}. */
    public String id()
    {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param id {@code split} or {@code packed} (any case).
     * @return the layout.
     * @throws IllegalArgumentException naming the value otherwise.
     */
    public static RingLayout parse(final String id)
    {
        for (final RingLayout layout : values())
        {
            if (layout.id().equalsIgnoreCase(id))
            {
                return layout;
            }
        }
        throw new IllegalArgumentException("layout '" + id + "' must be split or packed");
    }

    /**
     * @param num a queue size.
     * @return true if this layout accepts it: a power of two in 1..32768 (split), any value in 1..32768 (packed).
     */
    public boolean isValidQueueSize(final int num)
    {
        return this == PACKED ? Vring.isValidPackedQueueSize(num) : Vring.isValidQueueSize(num);
    }

    /** @return what {@link #isValidQueueSize} accepts, for messages. */
    public String queueSizes()
    {
        return this == PACKED ? "1.." + Vring.MAX_PACKED_QUEUE_SIZE : "a power of two in 1.." + Vring.MAX_QUEUE_SIZE;
    }
}
