package vqdma.blk;

/**
 * What the device offers in {@code struct virtio_blk_config} and its feature bits, as far as vqdma models them.
 *
 * @param capacity capacity in 512-byte sectors.
 * @param sizeMax  {@code size_max}: the largest segment the device takes, or 0 when {@code VIRTIO_BLK_F_SIZE_MAX}
 *                 is not offered (the 2019 setup: QEMU does not offer it).
 * @param segMax   {@code seg_max}: the most segments per request, or 0 when {@code VIRTIO_BLK_F_SEG_MAX} is not
 *                 offered. QEMU offers the queue size minus 2.
 * @param flush    {@code VIRTIO_BLK_F_FLUSH}: FLUSH requests are supported.
 * @param serial   the device's serial for GET_ID (at most 20 bytes of ASCII).
 */
public record BlkConfig(long capacity, long sizeMax, int segMax, boolean flush, String serial)
{
    /** Checks the values. */
    public BlkConfig
    {
        if (capacity <= 0 || sizeMax < 0 || sizeMax > 0xFFFF_FFFFL || segMax < 0)
        {
            throw new IllegalArgumentException(String.format(
                "capacity %d, size_max %d, seg_max %d: capacity must be > 0, size_max a u32, seg_max >= 0",
                capacity, sizeMax, segMax));
        }
        if (serial == null || serial.length() > VirtioBlk.ID_BYTES)
        {
            throw new IllegalArgumentException("serial '" + serial + "' must have at most 20 characters");
        }
    }

    /**
     * The configuration QEMU gives a virtio-blk disk: no SIZE_MAX (so segments are unlimited: the 2019 bug), and
     * SEG_MAX = queue size - 2.
     *
     * @param capacityBytes size of the disk in bytes (a multiple of 512).
     * @param queueSize     the virtqueue size.
     * @return the configuration.
     */
    public static BlkConfig qemuDefault(final long capacityBytes, final int queueSize)
    {
        if ((capacityBytes & (VirtioBlk.SECTOR_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("capacity " + capacityBytes + " is not a multiple of 512 bytes");
        }
        return new BlkConfig(capacityBytes >> VirtioBlk.SECTOR_SHIFT, 0, Math.max(1, queueSize - 2), true,
            "vqdma-disk");
    }

    /** @return true if the device offers {@code VIRTIO_BLK_F_SIZE_MAX}. */
    public boolean hasSizeMax()
    {
        return sizeMax != 0;
    }

    /** @return true if the device offers {@code VIRTIO_BLK_F_SEG_MAX}. */
    public boolean hasSegMax()
    {
        return segMax != 0;
    }

    /** @return this configuration with {@code size_max} offered. @param sizeMax bytes. */
    public BlkConfig withSizeMax(final long sizeMax)
    {
        return new BlkConfig(capacity, sizeMax, segMax, flush, serial);
    }

    /** @return capacity in bytes. */
    public long capacityBytes()
    {
        return capacity << VirtioBlk.SECTOR_SHIFT;
    }
}
