package vqdma.dma;

/**
 * The direction of a streaming DMA mapping, as {@code enum dma_data_direction} in {@code include/linux/dma-direction.h}.
 * <p>
 * The direction decides what a bounce buffer copies and when: {@link #TO_DEVICE} data travels CPU -> device before the
 * device reads it, {@link #FROM_DEVICE} data travels device -> CPU after the device wrote it, {@link #BIDIRECTIONAL}
 * both. It also decides the permission an IOMMU grants the device for the mapped pages.
 */
public enum DmaDirection
{
    /** {@code DMA_BIDIRECTIONAL}: the device may read and write. */
    BIDIRECTIONAL(true, true),
    /** {@code DMA_TO_DEVICE}: the device reads (a virtio "out"/device-readable buffer). */
    TO_DEVICE(true, false),
    /** {@code DMA_FROM_DEVICE}: the device writes (a virtio "in"/device-writable buffer). */
    FROM_DEVICE(false, true);

    private final boolean deviceReads;
    private final boolean deviceWrites;

    DmaDirection(final boolean deviceReads, final boolean deviceWrites)
    {
        this.deviceReads = deviceReads;
        this.deviceWrites = deviceWrites;
    }

    /** @return true if the device is allowed to read the mapped memory. */
    public boolean deviceReads()
    {
        return deviceReads;
    }

    /** @return true if the device is allowed to write the mapped memory. */
    public boolean deviceWrites()
    {
        return deviceWrites;
    }

    /** @return the direction of a virtio descriptor: device-writable is FROM_DEVICE, device-readable is TO_DEVICE. */
    public static DmaDirection ofDescriptor(final boolean deviceWritable)
    {
        return deviceWritable ? FROM_DEVICE : TO_DEVICE;
    }
}
