package vqdma.fuzz;

import org.agrona.DirectBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.IommuDma;
import vqdma.dma.IommuPageTable;
import vqdma.dma.SwiotlbDma;

import java.nio.ByteBuffer;

/**
 * What a {@link DmaOps} holds on behalf of live mappings, read from its own statistics: SWIOTLB slots in use, IOMMU
 * IOVAs handed out, present page-table entries and unmaps waiting in the lazy flush queue. A target takes a baseline,
 * runs, unmaps everything it mapped, {@linkplain #settle settles} the ops and requires the same numbers again: any
 * difference is a leaked (or doubly freed) slot, IOVA or PTE.
 *
 * @param swiotlbUsedSlots  {@code Swiotlb.usedSlots()} (0 without SWIOTLB).
 * @param swiotlbAreaUsed   the areas' {@code used} summed ({@code mem_pool_used()}), which must agree.
 * @param liveIovas         {@code IovaDomain.liveIovas()} (0 without IOMMU).
 * @param presentPtes       present leaf entries of the IOMMU's page table, counted by this class's own walk of the
 *                          tables ({@link #presentLeaves}; 0 without IOMMU).
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
            return new DmaUsage(0, 0, i.domain().liveIovas(), presentLeaves(i.pageTable().tables()),
                i.pendingUnmaps());
        }
        return new DmaUsage(0, 0, 0, 0, 0);
    }

    /** An empty table: what {@link #presentLeaves} compares runs of entries with, to skip the empty ones. */
    private static final ByteBuffer EMPTY_TABLE = ByteBuffer.allocate(IommuPageTable.TABLE_SIZE).asReadOnlyBuffer();

    /**
     * Counts the present leaf entries of an IOMMU page table by walking its tables from the root as the hardware
     * would ({@link IommuPageTable#tables()}): the harness's own reading of the entry format, independent of the
     * table's {@code presentPtes()}, and uninstrumented (the fuzz package is not instrumented). Runs of all-zero
     * entries are skipped with one vectorized comparison ({@link ByteBuffer#mismatch}) against an empty table, so a
     * walk costs the tables in use and their non-zero entries, not 512 bounds-checked loads per table: it runs
     * around nearly every call of the DMA target (before, a tenth of that target's time). The non-zero entries
     * between two such runs are read one by one.
     *
     * @param tables the tables' memory.
     * @return present leaf entries.
     * @throws Invariant if an entry points outside the tables' memory.
     */
    static long presentLeaves(final DirectBuffer tables)
    {
        final ByteBuffer bytes = tables.byteBuffer() != null ?
            tables.byteBuffer().duplicate() : ByteBuffer.wrap(tables.byteArray());
        return presentLeaves(tables, bytes, tables.wrapAdjustment(), EMPTY_TABLE.duplicate(), 0,
            IommuPageTable.LEVELS - 1);
    }

    /**
     * @param tables the tables, read entry by entry.
     * @param bytes  the same memory as a byte buffer, where {@code tables}' index 0 is at {@code base}.
     * @param empty  a view of {@link #EMPTY_TABLE}.
     */
    private static long presentLeaves(
        final DirectBuffer tables, final ByteBuffer bytes, final int base, final ByteBuffer empty, final int table,
        final int level)
    {
        long n = 0;
        int offset = 0;
        while (offset < IommuPageTable.TABLE_SIZE)
        {
            // A run of empty entries: skipped in one comparison.
            bytes.limit(base + table + IommuPageTable.TABLE_SIZE).position(base + table + offset);
            empty.limit(IommuPageTable.TABLE_SIZE - offset).position(0);
            final int nonZero = bytes.mismatch(empty);
            if (nonZero < 0)
            {
                break;
            }
            // A run of non-empty entries (a mapping's PTEs are consecutive): read one by one up to the next empty one.
            for (offset += nonZero & -Long.BYTES; offset < IommuPageTable.TABLE_SIZE; offset += Long.BYTES)
            {
                final long entry = tables.getLong(table + offset);
                if (entry == 0)
                {
                    break;
                }
                if ((entry & IommuPageTable.PTE_PRESENT) == 0)
                {
                    continue;
                }
                if (level == 0)
                {
                    n++;
                    continue;
                }
                final long next = entry & IommuPageTable.PTE_ADDR_MASK;
                if (next > tables.capacity() - IommuPageTable.TABLE_SIZE)
                {
                    throw new Invariant(String.format("page table entry 0x%x at level %d, offset 0x%x, points " +
                        "outside the tables (%d bytes)", entry, level, table + offset, tables.capacity()));
                }
                n += presentLeaves(tables, bytes, base, empty, (int)next, level - 1);
            }
        }
        return n;
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
