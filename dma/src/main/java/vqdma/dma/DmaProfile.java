package vqdma.dma;

/**
 * The DMA configurations vqdma compares, by the names reports and benchmark parameters use. Each says what kind of
 * guest it needs ({@link #confidentialGuest()}) and builds its {@link DmaOps} over that guest's memory.
 * <ul>
 *   <li>{@code direct}: dma-direct, a normal guest. Unlimited mappings; no copies.</li>
 *   <li>{@code swiotlb}: a confidential guest (SEV): every private buffer bounces through the shared SWIOTLB pool,
 *   the 2019 setup.</li>
 *   <li>{@code swiotlb-force}: a normal guest booted with {@code swiotlb=force}: every buffer bounces, the way the
 *   2019 thread reproduced the bug without SEV hardware.</li>
 *   <li>{@code swiotlb-bitmap}, {@code swiotlb-hot}: {@code swiotlb-force} with the allocators of the 2022 RFC
 *   "swiotlb performance optimizations" ({@link SwiotlbAllocator#BITMAP}, and {@link SwiotlbAllocator#HOT}: the RFC's
 *   cache-friendly allocator with vqdma's placement rule, {@link SwiotlbAllocator#LIFO} being the RFC's as posted) in
 *   place of the kernel's: the same pool, segment limit and alignment rules, another way of finding free slots. The
 *   RFC was measured in a normal VM booted with {@code swiotlb=force}, so these are too.</li>
 *   <li>{@code iommu-strict}, {@code iommu-lazy}: dma-iommu with strict or lazy (flush queue) invalidation.</li>
 * </ul>
 */
public enum DmaProfile
{
    /** dma-direct in a normal guest. */
    DIRECT("direct", false),
    /** SWIOTLB bouncing in a confidential guest. */
    SWIOTLB("swiotlb", true),
    /** SWIOTLB with {@code swiotlb=force} in a normal guest. */
    SWIOTLB_FORCE("swiotlb-force", false),
    /** {@code swiotlb-force} with the RFC's bitmap allocator (the kernel's slot on every call, less bookkeeping). */
    SWIOTLB_BITMAP("swiotlb-bitmap", false),
    /**
     * {@code swiotlb-force} with the RFC's bitmap and cache-friendly (LIFO) allocator, placed as
     * {@link SwiotlbAllocator#HOT} says.
     */
    SWIOTLB_HOT("swiotlb-hot", false),
    /** IOMMU, strict invalidation. */
    IOMMU_STRICT("iommu-strict", false),
    /** IOMMU, lazy invalidation through the flush queue. */
    IOMMU_LAZY("iommu-lazy", false);

    /** The kernel's default SWIOTLB pool: 64 MiB. */
    public static final long DEFAULT_SWIOTLB_POOL = 64L << 20;

    private final String id;
    private final boolean confidentialGuest;

    DmaProfile(final String id, final boolean confidentialGuest)
    {
        this.id = id;
        this.confidentialGuest = confidentialGuest;
    }

    /** @return the name used in reports and parameters. */
    public String id()
    {
        return id;
    }

    /** @return true if the profile bounces through a SWIOTLB pool (and so takes a pool size). */
    public boolean usesSwiotlb()
    {
        return this == SWIOTLB || this == SWIOTLB_FORCE || this == SWIOTLB_BITMAP || this == SWIOTLB_HOT;
    }

    /**
     * @return how the profile's SWIOTLB pool finds free slots.
     * @throws IllegalStateException for a profile without SWIOTLB.
     */
    public SwiotlbAllocator swiotlbAllocator()
    {
        switch (this)
        {
            case SWIOTLB:
            case SWIOTLB_FORCE:
                return SwiotlbAllocator.KERNEL;
            case SWIOTLB_BITMAP:
                return SwiotlbAllocator.BITMAP;
            case SWIOTLB_HOT:
                return SwiotlbAllocator.HOT;
            default:
                throw new IllegalStateException("profile " + id + " has no SWIOTLB pool");
        }
    }

    /** @return true if the profile models a confidential guest: allocate its memory with that flag. */
    public boolean confidentialGuest()
    {
        return confidentialGuest;
    }

    /**
     * Builds the ops over {@code memory} (which must have been allocated with {@link #confidentialGuest()}).
     *
     * @param memory          guest memory.
     * @param swiotlbPoolBytes bounce pool size for the SWIOTLB profiles, allocated from {@code memory}.
     * @return the ops.
     */
    public DmaOps create(final GuestMemory memory, final long swiotlbPoolBytes)
    {
        if (memory.isConfidential() != confidentialGuest)
        {
            throw new IllegalArgumentException("profile " + id + " needs " + (confidentialGuest ? "a confidential" :
                "a normal") + " guest memory");
        }
        switch (this)
        {
            case DIRECT:
                return new DirectDma(memory);
            case SWIOTLB:
                return SwiotlbDma.create(memory, swiotlbPoolBytes, false);
            case SWIOTLB_FORCE:
                return SwiotlbDma.create(memory, swiotlbPoolBytes, true);
            case SWIOTLB_BITMAP:
            case SWIOTLB_HOT:
                return SwiotlbDma.create(memory, swiotlbPoolBytes, true, swiotlbAllocator());
            case IOMMU_STRICT:
                return IommuDma.builder(memory).mode(IommuDma.Mode.STRICT).build();
            case IOMMU_LAZY:
                return IommuDma.builder(memory).mode(IommuDma.Mode.LAZY).build();
            default:
                throw new AssertionError(this);
        }
    }

    /**
     * @param id a profile name such as {@code swiotlb-force}.
     * @return the profile.
     * @throws IllegalArgumentException naming the valid names.
     */
    public static DmaProfile of(final String id)
    {
        for (final DmaProfile p : values())
        {
            if (p.id.equals(id))
            {
                return p;
            }
        }
        final StringBuilder names = new StringBuilder();
        for (final DmaProfile p : values())
        {
            names.append(names.length() == 0 ? "" : ", ").append(p.id);
        }
        throw new IllegalArgumentException("unknown DMA profile '" + id + "': expected one of " + names);
    }
}
