package vqdma.blk;

import vqdma.dma.DmaOps;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

/**
 * The block queue limits virtio-blk sets in {@code virtblk_probe()}, and the one line that is the 2019 fix.
 * <p>
 * Without {@code VIRTIO_BLK_F_SIZE_MAX} the driver told the block layer "any segment size" ({@code -1U}); with
 * clamping on, the segment size is first capped at {@code virtio_max_dma_size()}, which is
 * {@code dma_max_mapping_size()} when the device uses the DMA API and unlimited when it bypasses it:
 * <pre>
 *   max_size = virtio_max_dma_size(vdev);                 // the fix (v5.0, "virtio-blk: Consider
 *   if (virtio_cread_feature(... SIZE_MAX ..., &amp;v) == 0)  //  virtio_max_dma_size() for maximum segment size")
 *       max_size = min(max_size, v);
 *   blk_queue_max_segment_size(q, max_size);
 * </pre>
 *
 * @param maxSegments    {@code max_segments}: data segments per request ({@code seg_max}, or 1 if not offered).
 * @param maxSegmentSize {@code max_segment_size} in bytes (at least a page, as the block layer enforces).
 * @param maxSectors     {@code max_sectors}: the most 512-byte sectors per request ({@code BLK_DEF_MAX_SECTORS},
 *                       2560 in 2019, since virtio-blk sets no hardware limit).
 * @param queueDepth     requests in flight: the ring's free descriptors, halved without indirect descriptors.
 */
public record QueueLimits(int maxSegments, long maxSegmentSize, long maxSectors, int queueDepth)
{
    /** {@code BLK_DEF_MAX_SECTORS} of the 2019 kernels: 1280 KiB per request. */
    public static final long BLK_DEF_MAX_SECTORS = 2560;
    /** {@code -1U}: what virtio-blk passed as "no segment size limit" before the fix. */
    public static final long UNLIMITED_U32 = 0xFFFF_FFFFL;
    private static final long PAGE_SIZE = 4096;

    /**
     * {@code virtio_max_dma_size()}: the largest mapping the device's DMA path allows.
     *
     * @param vq the queue (it knows whether the DMA API is used, and through which ops).
     * @return {@link DmaOps#maxMappingSize()} with {@code VIRTIO_F_ACCESS_PLATFORM}, else unlimited.
     */
    public static long virtioMaxDmaSize(final Virtqueue vq)
    {
        return vq.usesDmaApi() ? vq.dma().maxMappingSize() : Long.MAX_VALUE;
    }

    /**
     * The limits as {@code virtblk_probe()} computes them.
     *
     * @param config what the device offers.
     * @param vq     the request queue's virtqueue.
     * @param clamp  true for the 2019 fix (clamp to {@link #virtioMaxDmaSize}), false to reproduce the bug.
     * @return the limits.
     */
    public static QueueLimits probe(final BlkConfig config, final Virtqueue vq, final boolean clamp)
    {
        final boolean indirect = Vring.hasFeature(vq.features(), Vring.VIRTIO_RING_F_INDIRECT_DESC);
        // We need at least one SG element, whatever they say.
        int segments = config.hasSegMax() ? config.segMax() : 1;
        // A request is header + segments + status: without indirect descriptors it must fit the ring itself.
        // (The kernel trusts seg_max here; vqdma clips so that such a request is not refused forever.)
        if (!indirect || vq.indirectMax() < segments + 2)
        {
            final int room = indirect ? Math.max(vq.num(), vq.indirectMax()) : vq.num();
            segments = Math.min(segments, room - 2);
        }
        if (segments < 1)
        {
            throw new IllegalArgumentException("queue size " + vq.num() + " cannot carry a virtio-blk request " +
                "(header + 1 segment + status needs 3 descriptors)");
        }
        long maxSize = clamp ? Math.min(virtioMaxDmaSize(vq), UNLIMITED_U32) : UNLIMITED_U32;
        if (config.hasSizeMax())
        {
            maxSize = Math.min(maxSize, config.sizeMax());
        }
        // blk_queue_max_segment_size(): never below a page.
        maxSize = Math.max(maxSize, PAGE_SIZE);
        final int depth = indirect ? vq.numFree() : vq.numFree() / 2;
        return new QueueLimits(segments, maxSize, BLK_DEF_MAX_SECTORS, Math.max(1, depth));
    }

    /** @return {@code max_sectors} in bytes. */
    public long maxBytes()
    {
        return maxSectors << VirtioBlk.SECTOR_SHIFT;
    }
}
