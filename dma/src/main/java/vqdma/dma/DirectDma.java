package vqdma.dma;

/**
 * dma-direct: the bus address is the guest-physical address plus a constant offset (the kernel's
 * {@code dma_pfn_offset}/{@code dma_range_map}, usually zero), and there is no limit on the size of a mapping.
 * <p>
 * Mapping costs nothing and can only fail if the device cannot address the result ({@code dma_capable()} with the
 * device's DMA mask). Unmapping and syncing do nothing: the device sees the buffer itself. That is also why this
 * cannot work for private memory in a confidential guest: the device reaches the buffer, but the host cannot read
 * encrypted pages, so every such access is a {@link DmaFault} of reason
 * {@link DmaFault.Reason#PRIVATE_MEMORY PRIVATE_MEMORY}. SEV guests therefore force SWIOTLB.
 * <p>
 * Like the kernel without {@code CONFIG_DMA_API_DEBUG}, this does not track mappings, so it cannot report a double
 * unmap; bounce and IOMMU implementations do.
 */
public final class DirectDma implements DmaOps
{
    private final GuestMemory memory;
    private final long busOffset;
    private final long dmaMask;
    private final View view;

    /**
     * Identity mapping, 64-bit DMA mask.
     *
     * @param memory guest memory.
     */
    public DirectDma(final GuestMemory memory)
    {
        this(memory, 0, 64);
    }

    /**
     * @param memory    guest memory.
     * @param busOffset added to a GPA to get the bus address, {@code >= 0}.
     * @param maskBits  width of the device's DMA mask ({@code dma_set_mask(DMA_BIT_MASK(bits))}), 1..64.
     */
    public DirectDma(final GuestMemory memory, final long busOffset, final int maskBits)
    {
        if (busOffset < 0 || maskBits < 1 || maskBits > 64)
        {
            throw new IllegalArgumentException("busOffset=" + busOffset + " maskBits=" + maskBits +
                ": the offset must be >= 0 and the mask 1..64 bits");
        }
        this.memory = memory;
        this.busOffset = busOffset;
        this.dmaMask = maskBits == 64 ? -1L : (1L << maskBits) - 1;
        this.view = new View(memory, busOffset);
    }

    private void checkBuffer(final long gpa, final long len)
    {
        if (len <= 0 || !memory.contains(gpa, len))
        {
            throw new IllegalArgumentException(String.format(
                "map of gpa=0x%x len=%d: the buffer must be non-empty and inside guest memory of %d bytes",
                gpa, len, memory.size()));
        }
    }

    /** {@inheritDoc} Identity plus offset; {@link #DMA_MAPPING_ERROR} only beyond the device's DMA mask. */
    @Override
    public long map(final long gpa, final long len, final DmaDirection dir)
    {
        checkBuffer(gpa, len);
        final long dma = gpa + busOffset;
        // dma_capable(): the last byte must be addressable by the device.
        if (Long.compareUnsigned(dma + len - 1, dmaMask) > 0)
        {
            return DMA_MAPPING_ERROR;
        }
        return dma;
    }

    /** {@inheritDoc} Nothing to do: the device used the buffer itself. */
    @Override
    public void unmap(final long dma, final long len, final DmaDirection dir)
    {
    }

    /** {@inheritDoc} Nothing to do on a cache-coherent platform. */
    @Override
    public void syncForCpu(final long dma, final long len, final DmaDirection dir)
    {
    }

    /** {@inheritDoc} Nothing to do on a cache-coherent platform. */
    @Override
    public void syncForDevice(final long dma, final long len, final DmaDirection dir)
    {
    }

    /** {@inheritDoc} Unlimited ({@code SIZE_MAX}). */
    @Override
    public long maxMappingSize()
    {
        return Long.MAX_VALUE;
    }

    @Override
    public long mapCoherent(final long gpa, final long len)
    {
        return map(gpa, len, DmaDirection.BIDIRECTIONAL);
    }

    @Override
    public void unmapCoherent(final long dma, final long len)
    {
    }

    @Override
    public DeviceView deviceView()
    {
        return view;
    }

    @Override
    public GuestMemory memory()
    {
        return memory;
    }

    @Override
    public String name()
    {
        return "direct";
    }

    /** {@inheritDoc} dma-direct keeps no mappings: only the view's fault count goes back to zero. */
    @Override
    public void reset()
    {
        view.resetFaults();
    }

    /**
     * The device side of dma-direct: bus - offset = GPA, inside guest memory, and host-accessible (shared, in a
     * confidential guest). Also the view of a device that bypasses the DMA API (legacy virtio without
     * {@code VIRTIO_F_ACCESS_PLATFORM}) and of the SWIOTLB, whose slots are plain shared memory.
     */
    public static final class View extends DeviceView
    {
        private final long busOffset;

        /**
         * @param memory    guest memory.
         * @param busOffset the offset subtracted from a bus address to get the GPA.
         */
        public View(final GuestMemory memory, final long busOffset)
        {
            super(memory);
            this.busOffset = busOffset;
        }

        @Override
        protected long translateRun(final long bus, final long len, final int access)
        {
            final long gpa = bus - busOffset;
            if (Long.compareUnsigned(bus, busOffset) < 0 || !memory.contains(gpa, len))
            {
                throw new DmaFault(bus, len, (access & WRITE) != 0, DmaFault.Reason.OUT_OF_RANGE);
            }
            if (!memory.hostAccessible(gpa, len))
            {
                throw new DmaFault(bus, len, (access & WRITE) != 0, DmaFault.Reason.PRIVATE_MEMORY);
            }
            return gpa;
        }

        @Override
        protected long runLength(final long bus, final long len)
        {
            return len;
        }
    }
}
