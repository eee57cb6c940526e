package vqdma.dma;

/**
 * How a {@link Swiotlb} pool finds and tracks free slots. The pool, its areas and locks, the alignment rules, the
 * 128-slot segment limit, the per-slot metadata, the bounce and every check are the same for all three: only the
 * bookkeeping of free slots and the search order differ, so the 2019 story (a mapping never exceeds 256 KiB) holds
 * for each.
 * <ul>
 *   <li>{@link #KERNEL}: {@code kernel/dma/swiotlb.c} as merged (Linux 6.12).</li>
 *   <li>{@link #BITMAP} and {@link #HOT}: the two patches of the 2022 RFC "swiotlb performance optimizations" (Chao
 *   Gao, RFC v2, July 2022; never merged), built beside the kernel's so that they can be measured on the same
 *   workloads.</li>
 * </ul>
 */
public enum SwiotlbAllocator
{
    /**
     * The kernel's: a free-run counter per slot ({@code list[]}: free slots from this one to the end of its segment);
     * the search starts at the area's {@code index}, which moves past every allocation, and takes the first aligned
     * slot whose counter covers the request. Allocation and release renumber the counters of the free slots in front
     * of the run, back to the segment start.
     */
    KERNEL("kernel"),
    /**
     * RFC patch 1, "swiotlb: use bitmap to track free slots": one bit per slot (1 = free); a slot fits when the run
     * stays inside its segment and its bits are all ones. The search order is the kernel's, so every call returns the
     * same slot as {@link #KERNEL}; allocation and release touch only the run's bits, not the slots in front of it.
     */
    BITMAP("bitmap"),
    /**
     * RFC patch 2, "swiotlb: allocate memory in a cache-friendly way", on top of the bitmap: each area keeps its free
     * slots in a LIFO list (released slots go to the head, the first of a run first) and the search walks that list
     * from the head, so a mapping reuses the slots freed last, which are likely still in the cache. The area's
     * {@code index} is no longer used.
     */
    HOT("hot");

    private final String id;

    SwiotlbAllocator(final String id)
    {
        this.id = id;
    }

    /** @return the short name ({@code kernel}, {@code bitmap}, {@code hot}). */
    public String id()
    {
        return id;
    }
}
