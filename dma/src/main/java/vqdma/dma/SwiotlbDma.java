package vqdma.dma;

/**
 * dma-direct with SWIOTLB behind it, as a virtio device sees it in a guest booted with {@code swiotlb=force} or in a
 * confidential (SEV/TDX) guest: {@code dma_direct_map_page()} and friends, bouncing through a {@link Swiotlb} pool.
 *
 * <h2>When a mapping bounces</h2>
 * {@link #map} bounces (the kernel's {@code swiotlb_map()}) when
 * <ul>
 *   <li>{@code force} is set: {@code swiotlb=force}, {@code is_swiotlb_force_bounce()}; or</li>
 *   <li>the device could not otherwise reach the buffer: a confidential guest's private memory
 *   ({@code !memory.hostAccessible(gpa, len)}), the case {@code dma_capable()} / memory encryption sends to SWIOTLB.</li>
 * </ul>
 * Otherwise the bus address is the GPA itself (identity, as {@link DirectDma}) and unmap and sync do nothing for it:
 * {@code is_swiotlb_buffer()} is false for it. A bounced mapping copies original -> slot at map time for every
 * direction (the 2022 info-leak fix, see {@link Swiotlb#tblMapSingle}), slot -> original at unmap and
 * {@link #syncForCpu} for {@code FROM_DEVICE} and {@code BIDIRECTIONAL}, and original -> slot at
 * {@link #syncForDevice} for {@code TO_DEVICE} and {@code BIDIRECTIONAL}.
 *
 * <h2>maxMappingSize</h2>
 * {@code dma_direct_max_mapping_size()}: when this device may bounce (forced, or any confidential guest) it is
 * {@link Swiotlb#maxMappingSize(int)}, 256 KiB without {@code min_align_mask}: the number the 2019 fix clamps
 * virtio-blk's segments to. A normal guest without {@code force} never bounces here, so it is unlimited, as in the
 * kernel.
 *
 * <h2>Coherent memory</h2>
 * Rings are never bounced ({@code dma_alloc_coherent()} gives decrypted pages in a confidential guest):
 * {@link #mapCoherent} returns the GPA when the device can reach the region, and {@link DmaOps#DMA_MAPPING_ERROR} for
 * private memory of a confidential guest, which a ring must never live in (allocate it with
 * {@link GuestMemory#allocateShared(long)}).
 *
 * <h2>The device's view</h2>
 * Bus address = GPA (slots are shared memory), checked like {@link DirectDma.View} (inside guest memory, host
 * accessible), and in addition an access to a pool slot that no live mapping owns is a {@link DmaFault} of reason
 * {@link DmaFault.Reason#UNMAPPED_SLOT}: hardware would read stale bounce data there, vqdma reports the device's
 * use-after-unmap instead. So with {@code force} (or for the private buffers of a confidential guest) the device only
 * reaches what is mapped; it can still write a {@code TO_DEVICE} slot (no IOMMU stops it), but that write never
 * reaches the original buffer because nothing is copied back for {@code TO_DEVICE}.
 *
 * <h2>Misuse</h2>
 * A buffer that overlaps the bounce pool itself is an {@link IllegalArgumentException} (map and mapCoherent): it could
 * never be unmapped, since every pool address is taken for a bounce slot. Unmap or sync of an address that is not mapped, a double unmap, or another size or direction than mapped is an
 * {@link IllegalStateException} naming them (see {@link Swiotlb}). Direct (non-bounced) mappings are not tracked,
 * like dma-direct without {@code CONFIG_DMA_API_DEBUG}: only an address no direct mapping could have (outside guest
 * memory, private memory of a confidential guest, or anything outside the pool under {@code force}) is refused.
 */
public final class SwiotlbDma implements DmaOps
{
    private final GuestMemory memory;
    private final Swiotlb pool;
    private final boolean force;
    /** Mappings since the last injected extra one (InjectedSlowdown; test only). */
    private int sinceSlowdown;
    private final int minAlignMask;
    private final View view;

    /**
     * @param pool  the bounce pool; its guest memory is the memory this maps.
     * @param force true for {@code swiotlb=force}: bounce every streaming mapping.
     */
    public SwiotlbDma(final Swiotlb pool, final boolean force)
    {
        this(pool, force, 0);
    }

    /**
     * @param pool         the bounce pool; its guest memory is the memory this maps.
     * @param force        true for {@code swiotlb=force}: bounce every streaming mapping.
     * @param minAlignMask the device's {@code dma_get_min_align_mask()} (0 for virtio; NVMe uses 4095).
     */
    public SwiotlbDma(final Swiotlb pool, final boolean force, final int minAlignMask)
    {
        if (minAlignMask < 0)
        {
            throw new IllegalArgumentException("minAlignMask=" + minAlignMask + " must be >= 0");
        }
        this.memory = pool.memory();
        this.pool = pool;
        this.force = force;
        this.minAlignMask = minAlignMask;
        this.view = new View(pool);
    }

    /**
     * Creates a pool with {@link Swiotlb#defaultNareas()} areas and the ops over it.
     *
     * @param memory    guest memory; the pool is allocated from it.
     * @param poolBytes pool size in bytes (rounded as the kernel does, see {@link Swiotlb}).
     * @param force     true for {@code swiotlb=force}.
     * @return the ops.
     */
    public static SwiotlbDma create(final GuestMemory memory, final long poolBytes, final boolean force)
    {
        return create(memory, poolBytes, force, SwiotlbAllocator.KERNEL);
    }

    /**
     * Creates a pool with {@link Swiotlb#defaultNareas()} areas and the given allocator, and the ops over it.
     *
     * @param memory    guest memory; the pool is allocated from it.
     * @param poolBytes pool size in bytes (rounded as the kernel does, see {@link Swiotlb}).
     * @param force     true for {@code swiotlb=force}.
     * @param allocator how the pool finds free slots: the kernel's or one of the 2022 RFC's.
     * @return the ops.
     */
    public static SwiotlbDma create(
        final GuestMemory memory, final long poolBytes, final boolean force, final SwiotlbAllocator allocator)
    {
        return new SwiotlbDma(new Swiotlb(memory, poolBytes, Swiotlb.defaultNareas(), allocator), force);
    }

    private void checkBuffer(final String op, final long gpa, final long len)
    {
        if (len <= 0 || !memory.contains(gpa, len))
        {
            throw new IllegalArgumentException(op + " of gpa=0x" + Long.toHexString(gpa) + " len=" + len +
                ": the buffer must be non-empty and inside guest memory of " + memory.size() + " bytes");
        }
        // The pool is the bounce buffers' memory, never a buffer itself (the kernel reserves it at boot). A buffer
        // there would be "mapped" at its own GPA, which is_swiotlb_buffer() then takes for a bounce slot: the device
        // could not reach it (no live mapping owns the slot) and the unmap would be refused as not mapped.
        if (gpa < pool.end() && gpa + len > pool.start())
        {
            throw new IllegalArgumentException(op + " of gpa=0x" + Long.toHexString(gpa) + " len=" + len +
                ": the buffer overlaps the SWIOTLB pool [0x" + Long.toHexString(pool.start()) + ", 0x" +
                Long.toHexString(pool.end()) + ")");
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * {@code dma_direct_map_page()}: {@code swiotlb_map()} if forced or the buffer is private memory of a
     * confidential guest, else the GPA. {@link #DMA_MAPPING_ERROR} when the pool is full or the buffer is larger
     * than {@link #maxMappingSize()}.
     */
    @Override
    public long map(final long gpa, final long len, final DmaDirection dir)
    {
        checkBuffer("map", gpa, len);
        if (force || !memory.hostAccessible(gpa, len))
        {
            if (InjectedSlowdown.SWIOTLB_EVERY > 0 && ++sinceSlowdown >= InjectedSlowdown.SWIOTLB_EVERY)
            {
                // Test only (InjectedSlowdown): one more complete mapping of the same buffer, made and released.
                sinceSlowdown = 0;
                final long extra = pool.tblMapSingle(gpa, len, 0, minAlignMask, dir);
                if (!DmaOps.isMappingError(extra))
                {
                    pool.tblUnmapSingle(extra, len, dir, minAlignMask);
                }
            }
            return pool.tblMapSingle(gpa, len, 0, minAlignMask, dir);
        }
        return gpa;
    }

    /** {@inheritDoc} {@code dma_direct_unmap_page()}: bounce back and release if it is a pool address. */
    @Override
    public void unmap(final long dma, final long len, final DmaDirection dir)
    {
        if (pool.isSwiotlbBuffer(dma))
        {
            pool.tblUnmapSingle(dma, len, dir, minAlignMask);
        }
        else
        {
            checkDirect("unmap", dma, len, dir);
        }
    }

    /** {@inheritDoc} {@code dma_direct_sync_single_for_cpu()}: slot -> original for FROM_DEVICE/BIDIRECTIONAL. */
    @Override
    public void syncForCpu(final long dma, final long len, final DmaDirection dir)
    {
        if (pool.isSwiotlbBuffer(dma))
        {
            pool.syncSingleForCpu(dma, len, dir, minAlignMask);
        }
        else
        {
            checkDirect("syncForCpu", dma, len, dir);
        }
    }

    /** {@inheritDoc} {@code dma_direct_sync_single_for_device()}: original -> slot for TO_DEVICE/BIDIRECTIONAL. */
    @Override
    public void syncForDevice(final long dma, final long len, final DmaDirection dir)
    {
        if (pool.isSwiotlbBuffer(dma))
        {
            pool.syncSingleForDevice(dma, len, dir, minAlignMask);
        }
        else
        {
            checkDirect("syncForDevice", dma, len, dir);
        }
    }

    /** An address outside the pool must be one that {@link #map} could have returned directly. */
    private void checkDirect(final String op, final long dma, final long len, final DmaDirection dir)
    {
        final String why;
        if (force)
        {
            why = "swiotlb-force bounces every mapping, and this is not an address of the bounce pool";
        }
        else if (len <= 0 || !memory.contains(dma, len))
        {
            why = "outside guest memory of " + memory.size() + " bytes";
        }
        else if (!memory.hostAccessible(dma, len))
        {
            why = "private memory of a confidential guest is always bounced, so it is never mapped directly";
        }
        else
        {
            return; // a direct mapping: nothing to do, and nothing recorded to check it against
        }
        throw new IllegalStateException(name() + " " + op + " of dma=0x" + Long.toHexString(dma) + " len=" + len + " " +
            dir + ": not mapped: " + why);
    }

    /**
     * {@inheritDoc}
     * <p>
     * {@code dma_direct_max_mapping_size()}: {@link Swiotlb#maxMappingSize(int)} when this device may bounce (forced,
     * or a confidential guest), else unlimited.
     */
    @Override
    public long maxMappingSize()
    {
        return force || memory.isConfidential() ? Swiotlb.maxMappingSize(minAlignMask) : Long.MAX_VALUE;
    }

    /**
     * {@inheritDoc}
     * <p>
     * Never bounced: the GPA if the device can reach the region, {@link #DMA_MAPPING_ERROR} for private memory of a
     * confidential guest (coherent memory must be shared there, as {@code dma_alloc_coherent()} makes it).
     */
    @Override
    public long mapCoherent(final long gpa, final long len)
    {
        checkBuffer("mapCoherent", gpa, len);
        return memory.hostAccessible(gpa, len) ? gpa : DMA_MAPPING_ERROR;
    }

    /** {@inheritDoc} Nothing to do: coherent mappings are identity mappings of shared memory. */
    @Override
    public void unmapCoherent(final long dma, final long len)
    {
        if (len <= 0 || !memory.contains(dma, len) || !memory.hostAccessible(dma, len))
        {
            throw new IllegalStateException(name() + " unmapCoherent of dma=0x" + Long.toHexString(dma) + " len=" +
                len + ": not a coherent mapping (outside guest memory or private)");
        }
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

    /**
     * @return the {@link DmaProfile} name: {@code swiotlb-force} when every mapping bounces, else {@code swiotlb};
     * with another allocator {@code swiotlb-} and its {@link SwiotlbAllocator#id()} (plus {@code -private} when only
     * the private memory of a confidential guest bounces).
     */
    @Override
    public String name()
    {
        if (pool.allocator() == SwiotlbAllocator.KERNEL)
        {
            return force ? "swiotlb-force" : "swiotlb";
        }
        return "swiotlb-" + pool.allocator().id() + (force ? "" : "-private");
    }

    /** {@inheritDoc} The pool ({@link Swiotlb#reset()}) and the view's fault count. */
    @Override
    public void reset()
    {
        pool.reset();
        view.resetFaults();
    }

    /** @return the bounce pool, for its statistics. */
    public Swiotlb pool()
    {
        return pool;
    }

    /** @return true if every streaming mapping bounces ({@code swiotlb=force}). */
    public boolean isForce()
    {
        return force;
    }

    /** @return the device's {@code min_align_mask}. */
    public int minAlignMask()
    {
        return minAlignMask;
    }

    /**
     * The device side: bus address = GPA, inside guest memory, host-accessible (shared, in a confidential guest), and
     * not a pool slot that no live mapping owns.
     */
    static final class View extends DeviceView
    {
        private final Swiotlb pool;
        private final long poolStart;
        private final long poolEnd;

        View(final Swiotlb pool)
        {
            super(pool.memory());
            this.pool = pool;
            this.poolStart = pool.start();
            this.poolEnd = pool.end();
        }

        @Override
        protected long translateRun(final long bus, final long len, final int access)
        {
            final boolean write = (access & WRITE) != 0;
            if (!memory.contains(bus, len))
            {
                throw new DmaFault(bus, len, write, DmaFault.Reason.OUT_OF_RANGE);
            }
            if (!memory.hostAccessible(bus, len))
            {
                throw new DmaFault(bus, len, write, DmaFault.Reason.PRIVATE_MEMORY);
            }
            final long from = Math.max(bus, poolStart);
            final long to = Math.min(bus + len, poolEnd);
            if (from < to)
            {
                // Every slot the access touches must be owned by a live mapping (or its padding).
                for (long slot = from & -Swiotlb.IO_TLB_SIZE; slot < to; slot += Swiotlb.IO_TLB_SIZE)
                {
                    if (pool.isFreeSlot(slot))
                    {
                        throw new DmaFault(bus, len, write, DmaFault.Reason.UNMAPPED_SLOT);
                    }
                }
            }
            return bus;
        }

        @Override
        protected long runLength(final long bus, final long len)
        {
            return len;
        }
    }
}
