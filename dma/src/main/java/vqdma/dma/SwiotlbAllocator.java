package vqdma.dma;

/**
 * How a {@link Swiotlb} pool finds and tracks free slots. The pool, its areas and locks, the alignment rules, the
 * 128-slot segment limit, the per-slot metadata, the bounce and every check are the same for all four: only the
 * bookkeeping of free slots and the search order differ, so the 2019 story (a mapping never exceeds 256 KiB) holds
 * for each.
 * <ul>
 *   <li>{@link #KERNEL}: {@code kernel/dma/swiotlb.c} as merged (Linux 6.12).</li>
 *   <li>{@link #BITMAP} and {@link #LIFO}: the two patches of the 2022 RFC "swiotlb performance optimizations" (Chao
 *   Gao, RFC v2, July 2022; never merged), built beside the kernel's so that they can be measured on the same
 *   workloads.</li>
 *   <li>{@link #HOT}: the RFC's cache-friendly allocator with a placement rule of vqdma's that keeps it from
 *   fragmenting the pool (the {@code swiotlb-hot} profile).</li>
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
     * RFC patch 2, "swiotlb: allocate memory in a cache-friendly way", on top of the bitmap, as posted: each area
     * keeps its free slots in a LIFO list (released slots go to the head, the first of a run first) and the search
     * walks that list from the head, so a mapping reuses the slots freed last, which are likely still in the cache.
     * The area's {@code index} is no longer used. It fragments the pool: short mappings take the first slots of the
     * long runs freed last, and on the soak's request mix it fails about twice as often as {@link #KERNEL}.
     */
    LIFO("lifo"),
    /**
     * {@link #LIFO} with two placement rules: a mapping first tries the segment its area allocated from last (its
     * lowest free run that fits, from the bitmap), and a mapping shorter than a segment does not take a slot of a
     * wholly free segment while a partly used one, a bounded walk further down the list, can take it. Still the
     * slots freed last (a stream of mappings reuses its own), without breaking the whole segments that 256 KiB
     * mappings need: on the soak's request mix it fails less often than {@link #KERNEL}.
     */
    HOT("hot");

    private final String id;

    SwiotlbAllocator(final String id)
    {
        this.id = id;
    }

    /** @return the short name ({@code kernel}, {@code bitmap}, {@code lifo}, {@code hot}). */
    public String id()
    {
        return id;
    }

    /** @return true if the search starts at the area's rotating {@code index} (the kernel's order). */
    public boolean usesIndex()
    {
        return this == KERNEL || this == BITMAP;
    }
}
