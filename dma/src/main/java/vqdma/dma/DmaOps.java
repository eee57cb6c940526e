package vqdma.dma;

/**
 * Streaming DMA mapping operations, the part of the kernel's {@code struct dma_map_ops} a virtio driver uses
 * ({@code dma_map_page}/{@code dma_unmap_page}/{@code dma_sync_single_for_*}/{@code dma_max_mapping_size}).
 * <p>
 * The guest driver maps a buffer (a GPA range) before handing it to the device and gets a bus address for the
 * descriptor; it unmaps the buffer when the device is done. What happens in between depends on the implementation:
 * nothing ({@link DirectDma}), a copy through bounce slots (SWIOTLB), or an IOVA mapped in an IOMMU page table.
 *
 * <h2>Errors in tiers</h2>
 * <ul>
 *   <li>A mapping that cannot be made (pool full, range too large, device cannot address it) returns
 *   {@link #DMA_MAPPING_ERROR}, tested with {@link #isMappingError(long)}: a value on the hot path, as
 *   {@code dma_mapping_error()}, never an exception.</li>
 *   <li>Misuse by the caller (unmapping what is not mapped, double unmap, wrong size or direction, a GPA outside
 *   guest memory) is an {@link IllegalArgumentException} or {@link IllegalStateException} naming the values.</li>
 *   <li>What the device does with a bus address is checked by {@link #deviceView()}: a {@link DmaFault}.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * Implementations are safe for concurrent use by several guest threads (queues) unless they say otherwise.
 */
public interface DmaOps
{
    /** {@code DMA_MAPPING_ERROR}: {@code (dma_addr_t)~0}. No valid mapping has this bus address. */
    long DMA_MAPPING_ERROR = -1L;

    /**
     * {@code dma_mapping_error()}.
     *
     * @param dma a value returned by {@link #map}.
     * @return true if the mapping failed.
     */
    static boolean isMappingError(final long dma)
    {
        return dma == DMA_MAPPING_ERROR;
    }

    /**
     * {@code dma_map_page()}: makes {@code [gpa, gpa + len)} available to the device.
     *
     * @param gpa guest-physical address of the buffer.
     * @param len length in bytes, {@code > 0}.
     * @param dir what the device will do with it.
     * @return the bus address the device must use, or {@link #DMA_MAPPING_ERROR}.
     */
    long map(long gpa, long len, DmaDirection dir);

    /**
     * {@code dma_unmap_page()}: the device is done with the mapping; for bounce buffering this copies device-written
     * data back to the buffer.
     *
     * @param dma bus address returned by {@link #map}.
     * @param len the length that was mapped.
     * @param dir the direction that was mapped.
     */
    void unmap(long dma, long len, DmaDirection dir);

    /**
     * {@code dma_sync_single_for_cpu()}: make what the device wrote so far visible to the CPU without unmapping.
     *
     * @param dma bus address inside a mapping.
     * @param len bytes from {@code dma}.
     * @param dir the direction that was mapped.
     */
    void syncForCpu(long dma, long len, DmaDirection dir);

    /**
     * {@code dma_sync_single_for_device()}: make what the CPU wrote visible to the device without remapping.
     *
     * @param dma bus address inside a mapping.
     * @param len bytes from {@code dma}.
     * @param dir the direction that was mapped.
     */
    void syncForDevice(long dma, long len, DmaDirection dir);

    /**
     * {@code dma_max_mapping_size()}: the largest single mapping that can ever succeed. This is what
     * {@code virtio_max_dma_size()} reports and what the 2019 fix clamps virtio-blk's segment size to.
     *
     * @return bytes; {@link Long#MAX_VALUE} for "no limit" ({@code SIZE_MAX}).
     */
    long maxMappingSize();

    /**
     * Maps memory the driver allocated for a long-lived shared structure (a ring), the mapping half of
     * {@code dma_alloc_coherent()}. Coherent memory is never bounced: in a confidential guest it must be shared.
     *
     * @param gpa guest-physical address of the region.
     * @param len length in bytes.
     * @return the bus address of the region, or {@link #DMA_MAPPING_ERROR}.
     */
    long mapCoherent(long gpa, long len);

    /**
     * Releases a {@link #mapCoherent} mapping.
     *
     * @param dma bus address returned by {@link #mapCoherent}.
     * @param len the length that was mapped.
     */
    void unmapCoherent(long dma, long len);

    /** @return the device's checked view of memory through the bus addresses this implementation hands out. */
    DeviceView deviceView();

    /** @return the guest memory this implementation maps. */
    GuestMemory memory();

    /** @return a short name for reports and benchmark parameters, e.g. {@code direct}, {@code swiotlb}. */
    String name();

    /**
     * Returns these ops to the state they had right after construction, as if built again over the same memory, for
     * tests and fuzzers that run many cases on one instance instead of building one per case: every mapping is
     * forgotten (not unmapped: nothing is copied back, nothing is checked), every bounce slot, IOVA and page table is
     * free again, caches are empty and statistics are zero, so that the same calls then return the same results as
     * on a new instance. Guest memory is the caller's: its contents (a bounce pool's bytes included) and its
     * allocator are not touched ({@link GuestMemory#rewind}).
     * <p>
     * Not for concurrent use: no other thread may use the ops, or the device view, while it runs.
     *
     * @throws UnsupportedOperationException if these ops cannot be reset (the default).
     */
    default void reset()
    {
        throw new UnsupportedOperationException(name() + " cannot be reset");
    }
}
