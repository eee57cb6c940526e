package vqdma.dma;

/**
 * The perf gate's injected DMA regressions, test only ({@code scripts/gate-selftest}, docs/gate.md), one per
 * mapping layer:
 * <ul>
 *   <li>{@code -Dvqdma.swiotlb.slowdownEvery=N}: every N-th bounced mapping ({@link SwiotlbDma#map}) first makes and
 *   releases one more of the same buffer: a complete slot search, bounce and release, whose unmap copies back bytes
 *   that are already there. One extra mapping in N: 1/N more SWIOTLB work.</li>
 *   <li>{@code -Dvqdma.iommu.slowdownEvery=N}: every N-th {@link IommuDma#map} first makes and unmaps one more of the
 *   same buffer: IOVA allocation, page-table writes, and the unmap with its invalidation (strict) or flush-queue
 *   entry (lazy).</li>
 * </ul>
 * The extra mappings count in the pool's and the domain's statistics like any other. The counters that pick every
 * N-th mapping are plain fields: with several mapping threads the rate is about 1/N, not exactly.
 * <p>
 * {@code static final}s read once: at 0, the default, the JIT folds the branches away. N = 1 is taken as 2.
 */
final class InjectedSlowdown
{
    /** Every how many SWIOTLB mappings one more is made and released; 0: never. */
    static final int SWIOTLB_EVERY = every("vqdma.swiotlb.slowdownEvery");

    /** Every how many IOMMU mappings one more is made and unmapped; 0: never. */
    static final int IOMMU_EVERY = every("vqdma.iommu.slowdownEvery");

    private InjectedSlowdown()
    {
    }

    static int every(final String property)
    {
        final int n = Integer.getInteger(property, 0);
        return n <= 0 ? 0 : Math.max(2, n);
    }
}
