package vqdma.dma;

/**
 * {@code struct iova_magazine}: a stack of up to {@link IovaDomain#IOVA_MAG_SIZE} cached pfns of one size class.
 * Guarded by the lock of whoever holds it (a per-CPU rcache or the depot).
 */
final class IovaMagazine
{
    final long[] pfns = new long[IovaDomain.IOVA_MAG_SIZE];
    int size;

    boolean isFull()
    {
        return size == pfns.length;
    }

    boolean isEmpty()
    {
        return size == 0;
    }

    /**
     * {@code iova_magazine_pop()} (6.x): the topmost pfn at or below {@code limitPfn}; the hole it leaves is filled
     * with the top entry ("swap it to pop it"). Only falls back (returns 0) if no pfn in the magazine fits.
     *
     * @param limitPfn the highest acceptable start pfn.
     * @return the pfn, or 0.
     */
    long pop(final long limitPfn)
    {
        int i = size - 1;
        while (pfns[i] > limitPfn)
        {
            if (i == 0)
            {
                return 0;
            }
            i--;
        }
        final long pfn = pfns[i];
        pfns[i] = pfns[--size];
        return pfn;
    }

    /** {@code iova_magazine_push()}. @param pfn the pfn; the magazine must not be full. */
    void push(final long pfn)
    {
        pfns[size++] = pfn;
    }
}
