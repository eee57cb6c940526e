package vqdma.fuzz;

import org.agrona.concurrent.NanoClock;
import vqdma.dma.DirectDma;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbAllocator;
import vqdma.dma.SwiotlbDma;

/**
 * Every {@link DmaProfile}, built the way {@link DmaProfile#create} builds it but sized and made deterministic for
 * fuzzing: an input must behave the same every time it is replayed, on any machine, and one execution must take
 * microseconds.
 * <ul>
 *   <li>SWIOTLB: one area (the profile uses one per CPU, and picks the area from the thread id) and a pool of one
 *   segment (128 slots, 256 KiB), so that the fuzzer reaches "pool full" with a handful of mappings.</li>
 *   <li>IOMMU: no modelled invalidation wait (it only costs time), one cache slot (the profile uses one per CPU),
 *   64 page tables (exhaustion reachable), and for lazy mode a clock that advances 1 ms per reading, so that the
 *   10 ms flush timer fires deterministically every few unmaps.</li>
 * </ul>
 */
final class FuzzProfiles
{
    /** Guest memory of every target. */
    static final long MEMORY_BYTES = 1L << 20;
    /** SWIOTLB pool of the SWIOTLB profiles: one segment. */
    static final long POOL_BYTES = (long)Swiotlb.IO_TLB_SEGSIZE * Swiotlb.IO_TLB_SIZE;
    /** Page tables of the IOMMU profiles. */
    static final int IOMMU_TABLES = 64;

    private static final DmaProfile[] PROFILES = DmaProfile.values();

    private FuzzProfiles()
    {
    }

    /** @param selector any int from the input. @return one of the profiles. */
    static DmaProfile pick(final int selector)
    {
        return PROFILES[Math.floorMod(selector, PROFILES.length)];
    }

    /** @return fresh guest memory of {@link #MEMORY_BYTES}, confidential if the profile needs it. */
    static GuestMemory memory(final DmaProfile profile)
    {
        return GuestMemory.allocate(MEMORY_BYTES, profile.confidentialGuest());
    }

    /**
     * @param profile the profile.
     * @param memory  memory from {@link #memory(DmaProfile)}.
     * @return its DMA ops, fuzz-sized (see the class comment).
     */
    static DmaOps create(final DmaProfile profile, final GuestMemory memory)
    {
        switch (profile)
        {
            case DIRECT:
                return new DirectDma(memory);
            case SWIOTLB:
                return new SwiotlbDma(new Swiotlb(memory, POOL_BYTES, 1), false);
            case SWIOTLB_FORCE:
                return new SwiotlbDma(new Swiotlb(memory, POOL_BYTES, 1), true);
            case SWIOTLB_BITMAP:
                return new SwiotlbDma(new Swiotlb(memory, POOL_BYTES, 1, SwiotlbAllocator.BITMAP), true);
            case SWIOTLB_HOT:
                return new SwiotlbDma(new Swiotlb(memory, POOL_BYTES, 1, SwiotlbAllocator.HOT), true);
            case IOMMU_STRICT:
                return iommu(memory).mode(IommuDma.Mode.STRICT).build();
            case IOMMU_LAZY:
                return iommu(memory).mode(IommuDma.Mode.LAZY).clock(new SteppingClock()).build();
            default:
                throw new AssertionError(profile);
        }
    }

    private static IommuDma.Builder iommu(final GuestMemory memory)
    {
        return IommuDma.builder(memory).invalidationNanos(0).cacheSlots(1).maxTables(IOMMU_TABLES);
    }

    /** A clock that advances 1 ms each time it is read. */
    static final class SteppingClock implements NanoClock
    {
        private long now;

        @Override
        public long nanoTime()
        {
            now += 1_000_000L;
            return now;
        }
    }
}
