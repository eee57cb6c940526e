package vqdma.dma;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** Padding in front of the global usage counters. */
abstract class SwiotlbUsagePad0
{
    long p00, p01, p02, p03, p04, p05, p06, p07;
    long p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
}

/** {@code io_tlb_mem.total_used} and {@code used_hiwater}. */
abstract class SwiotlbUsageFields extends SwiotlbUsagePad0
{
    volatile long totalUsed;
    volatile long usedHiwater;
}

/** Padding behind the global usage counters. */
abstract class SwiotlbUsagePad1 extends SwiotlbUsageFields
{
    long p10, p11, p12, p13, p14, p15, p16, p17;
    long p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;
}

/**
 * The pool-wide used-slot counter and its high-water mark, as the kernel keeps them with {@code CONFIG_DEBUG_FS}
 * ({@code inc_used_and_hiwater()}/{@code dec_used()}): one atomic counter shared by all areas, because summing the
 * areas' {@code used} without their locks cannot give an exact high-water mark. It is the one cache line every
 * mapping on every thread writes; the contention benchmark shows its price, as it costs the kernel.
 */
final class SwiotlbUsage extends SwiotlbUsagePad1
{
    private static final VarHandle TOTAL_USED;
    private static final VarHandle USED_HIWATER;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            TOTAL_USED = lookup.findVarHandle(SwiotlbUsageFields.class, "totalUsed", long.class);
            USED_HIWATER = lookup.findVarHandle(SwiotlbUsageFields.class, "usedHiwater", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /**
     * {@code inc_used_and_hiwater()}: atomic add, then raise the high-water mark with a CAS loop if the new total
     * exceeds it.
     *
     * @param nslots slots just allocated.
     */
    void incUsedAndHiwater(final int nslots)
    {
        final long newUsed = (long)TOTAL_USED.getAndAdd(this, (long)nslots) + nslots;
        long oldHiwater = lvUsedHiwater();
        while (newUsed > oldHiwater)
        {
            final long witness = (long)USED_HIWATER.compareAndExchange(this, oldHiwater, newUsed);
            if (witness == oldHiwater)
            {
                break;
            }
            oldHiwater = witness;
        }
    }

    /** {@code dec_used()}: atomic subtract. @param nslots slots just released. */
    void decUsed(final int nslots)
    {
        TOTAL_USED.getAndAdd(this, (long)-nslots);
    }

    /** @return slots in use; volatile load. */
    long lvTotalUsed()
    {
        return totalUsed;
    }

    /** @return the high-water mark of slots in use; volatile load. */
    long lvUsedHiwater()
    {
        return usedHiwater;
    }

    /** Resets the high-water mark to zero (debugfs accepts only 0); volatile store. */
    void svUsedHiwaterZero()
    {
        usedHiwater = 0;
    }

    /** Usage and high-water mark back to zero (volatile stores; {@link Swiotlb#reset()}, no concurrent use). */
    void svZero()
    {
        totalUsed = 0;
        usedHiwater = 0;
    }
}
