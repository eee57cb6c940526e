package vqdma.fuzz;

import vqdma.dma.DmaOps;
import vqdma.dma.IommuDma;
import vqdma.dma.SwiotlbDma;

/**
 * What a {@link DmaOps} holds on behalf of live mappings, read from its own statistics: SWIOTLB slots in use, IOMMU
 * IOVAs handed out, present page-table entries and unmaps waiting in the lazy flush queue. A target takes a baseline,
 * runs, unmaps everything it mapped, {@linkplain #settle settles} the ops and requires the same numbers again: any
 * difference is a leaked (or doubly freed) slot, IOVA or PTE.
 *
 * @param swiotlbUsedSlots  {@code Swiotlb.usedSlots()} (0 without SWIOTLB).
 * @param swiotlbAreaUsed   the areas' {@code used} summed ({@code mem_pool_used()}), which must agree.
 * @param liveIovas         {@code IovaDomain.liveIovas()} (0 without IOMMU).
 * @param presentPtes       {@code IommuPageTable.presentPtes()} (0 without IOMMU).
 * @param pendingUnmaps     unmaps still in the lazy flush queue.
 */
record DmaUsage(long swiotlbUsedSlots, long swiotlbAreaUsed, long liveIovas, long presentPtes, long pendingUnmaps)
{
    /** @return what {@code ops} (or the ops a {@link LeakCheckingDma} wraps) holds now. */
    static DmaUsage of(final DmaOps ops)
    {
        final DmaOps inner = ops instanceof LeakCheckingDma ? ((LeakCheckingDma)ops).inner() : ops;
        if (inner instanceof SwiotlbDma)
        {
            final SwiotlbDma s = (SwiotlbDma)inner;
            return new DmaUsage(s.pool().usedSlots(), s.pool().usedSlotsRacy(), 0, 0, 0);
        }
        if (inner instanceof IommuDma)
        {
            final IommuDma i = (IommuDma)inner;
            return new DmaUsage(0, 0, i.domain().liveIovas(), i.pageTable().presentPtes(), i.pendingUnmaps());
        }
        return new DmaUsage(0, 0, 0, 0, 0);
    }

    /** Closes the lazy IOMMU's stale window ({@code IommuDma.flush()}), so that deferred frees have happened. */
    static void settle(final DmaOps ops)
    {
        final DmaOps inner = ops instanceof LeakCheckingDma ? ((LeakCheckingDma)ops).inner() : ops;
        if (inner instanceof IommuDma)
        {
            ((IommuDma)inner).flush();
        }
    }

    /**
     * @param baseline what the ops held before.
     * @param context  what ran, for the message.
     * @throws Invariant if the ops hold something else now, or their own counters disagree.
     */
    void checkBackTo(final DmaUsage baseline, final Object context)
    {
        Invariant.check(swiotlbUsedSlots == swiotlbAreaUsed,
            "%s: SWIOTLB used slots %d but the areas count %d", context, swiotlbUsedSlots, swiotlbAreaUsed);
        Invariant.check(equals(baseline), "%s: DMA resources not back to the baseline after unmapping everything: " +
            "%s, baseline %s (a leaked or doubly freed slot, IOVA or PTE)", context, this, baseline);
    }

    /**
     * The usage of one {@link DmaOps}, read again only after a call that may have changed it: an IOMMU's present
     * PTEs are counted by walking its tables, and a target that requires "nothing changed" around every refused call
     * would otherwise walk them twice a call. A call that was refused or failed is checked with
     * {@link #checkUnchanged}, whose reading is then the known usage; one that may have changed it calls
     * {@link #changed()}.
     */
    static final class Tracker
    {
        private final DmaOps ops;
        private DmaUsage known;

        /** @param ops the ops. */
        Tracker(final DmaOps ops)
        {
            this.ops = ops;
        }

        /** @return the usage now. */
        DmaUsage now()
        {
            if (known == null)
            {
                known = of(ops);
            }
            return known;
        }

        /** The last call may have changed the usage. */
        void changed()
        {
            known = null;
        }

        /**
         * Reads the usage again and requires {@code before}, after a call that must have changed nothing.
         *
         * @param before  the usage before the call ({@link #now()}).
         * @param context what ran, for the message.
         */
        void checkUnchanged(final DmaUsage before, final Object context)
        {
            known = null;
            final DmaUsage after = of(ops);
            after.checkBackTo(before, context);
            known = after;
        }
    }
}
