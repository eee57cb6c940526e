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

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Every {@link DmaProfile}, built the way {@link DmaProfile#create} builds it but sized and made deterministic for
 * fuzzing: an input must behave the same every time it is replayed, on any machine, and one execution must take
 * microseconds. Each target builds them once per process ({@link FuzzRig}) in guest memory sized to what its inputs
 * reach ({@link #memoryBytes}).
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
    /** SWIOTLB pool of the SWIOTLB profiles: one segment. */
    static final long POOL_BYTES = (long)Swiotlb.IO_TLB_SEGSIZE * Swiotlb.IO_TLB_SIZE;
    /** Page tables of the IOMMU profiles. */
    static final int IOMMU_TABLES = 64;

    private static final DmaProfile[] PROFILES = DmaProfile.values();
    /**
     * The profiles in the order inputs pick them ({@link #pick}): the five the committed inputs were found with
     * first, then every other profile in declaration order, so that every profile is fuzzed whatever its place in
     * {@link DmaProfile}. An input's profile is its last byte modulo this count: adding a profile remaps the committed
     * inputs (a crash input keeps its profile if its last byte is rewritten to the profile's index here).
     */
    private static final DmaProfile[] ORDER = order();

    private FuzzProfiles()
    {
    }

    private static DmaProfile[] order()
    {
        final List<DmaProfile> order = new ArrayList<>(List.of(DmaProfile.DIRECT, DmaProfile.SWIOTLB,
            DmaProfile.SWIOTLB_FORCE, DmaProfile.IOMMU_STRICT, DmaProfile.IOMMU_LAZY));
        for (final DmaProfile p : PROFILES)
        {
            if (!order.contains(p))
            {
                order.add(p);
            }
        }
        return order.toArray(new DmaProfile[0]);
    }

    /**
     * The first choice of every target: any of the {@link DmaProfile}s, one byte from the input.
     *
     * @param data the input.
     * @return the profile it picks.
     */
    static DmaProfile pick(final FuzzData data)
    {
        return ORDER[data.consumeInt(0, ORDER.length - 1)];
    }

    /**
     * @param profile a profile.
     * @return bytes of guest memory its ops take for themselves: the bounce pool of a SWIOTLB profile, none for
     * dma-direct and the IOMMU (whose page tables live outside guest memory). A profile this method does not know
     * gets a pool's worth, in case it bounces.
     */
    static long poolBytes(final DmaProfile profile)
    {
        switch (profile)
        {
            case DIRECT:
            case IOMMU_STRICT:
            case IOMMU_LAZY:
                return 0;
            default:
                return POOL_BYTES;
        }
    }

    /**
     * @param profile     a profile.
     * @param targetBytes bytes a target lays out in guest memory (rings, tables, data).
     * @return guest memory for both: {@link #poolBytes} first (the pool is allocated first), then the target's, in
     * whole pages. Nothing more: every byte is compared after every input ({@link MemoryGuard}).
     */
    static long memoryBytes(final DmaProfile profile, final long targetBytes)
    {
        final long bytes = poolBytes(profile) + targetBytes;
        return (bytes + GuestMemory.PAGE_SIZE - 1) & -GuestMemory.PAGE_SIZE;
    }

    /**
     * @param profile the profile.
     * @param memory  guest memory for it ({@link DmaProfile#confidentialGuest()}).
     * @param clock   the lazy IOMMU's clock (the other profiles read none).
     * @return its DMA ops, fuzz-sized (see the class comment).
     */
    static DmaOps create(final DmaProfile profile, final GuestMemory memory, final SteppingClock clock)
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
                return iommu(memory).mode(IommuDma.Mode.LAZY).clock(clock).build();
            default:
                throw new AssertionError(profile);
        }
    }

    private static IommuDma.Builder iommu(final GuestMemory memory)
    {
        return IommuDma.builder(memory).invalidationNanos(0).cacheSlots(1).maxTables(IOMMU_TABLES);
    }

    /** A clock that advances 1 ms each time it is read, from 0 again after {@link #reset()}. */
    static final class SteppingClock implements NanoClock
    {
        private long now;

        @Override
        public long nanoTime()
        {
            now += 1_000_000L;
            return now;
        }

        /** Back to time 0. */
        void reset()
        {
            now = 0;
        }
    }

    /**
     * One object per profile, built on first use: a target's {@link FuzzRig}s (with whatever the target lays out in
     * them) live as long as the process.
     *
     * @param <T> what the target keeps per profile.
     */
    static final class PerProfile<T>
    {
        private final Object[] built = new Object[PROFILES.length];
        private final Function<DmaProfile, T> build;

        /** @param build builds (and seals) the object of a profile. */
        PerProfile(final Function<DmaProfile, T> build)
        {
            this.build = build;
        }

        /** @return a new object of the profile, built as {@link #get} builds its own (for tests). */
        T fresh(final DmaProfile profile)
        {
            return build.apply(profile);
        }

        /** @return the profile's object, built by the first call. */
        @SuppressWarnings("unchecked")
        T get(final DmaProfile profile)
        {
            Object t = built[profile.ordinal()];
            if (t == null)
            {
                t = build.apply(profile);
                built[profile.ordinal()] = t;
            }
            return (T)t;
        }
    }
}
