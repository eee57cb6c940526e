package vqdma.dma;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The IOMMU's translation cache: a set-associative cache of IOVA page -> guest page + permissions, filled by the
 * device's table walks on a miss and invalidated by the driver, per range (strict unmap) or entirely (the lazy
 * flush queue's {@code flush_iotlb_all}).
 *
 * <h2>Layout</h2>
 * {@code sets x ways} entries (default 64 x 4), set = IOVA pfn modulo sets. Each entry is one {@code long}, so that
 * a lookup can never see half of one fill and half of another:
 * <pre>
 *   63 62           26 25              2 1   0
 *  +--+---------------+-----------------+-----+
 *  |0 | IOVA pfn (36) | GPA pfn (24)    | W R |     0 = empty; a valid entry has R or W
 *  +--+---------------+-----------------+-----+
 * </pre>
 * A fill takes the first empty way of its set, else the way a per-set round-robin counter points at (FIFO
 * replacement; the counters are plain and may race, which only changes the victim).
 *
 * <h2>Fills racing with invalidations</h2>
 * A device may read a PTE just before the driver clears it and fill the cache just after the driver invalidated
 * it, leaving a stale entry behind a strict unmap. Hardware prevents that by draining in-flight walks before an
 * invalidation completes (the VT-d invalidation wait descriptor, AMD's COMPLETION_WAIT). Here every invalidation
 * first increments a {@link #generation() generation} (volatile), then clears entries (volatile stores); a walker
 * reads the generation before its walk and, after storing its entry (volatile), reads it again and removes its own
 * entry if it changed ({@link #fill}). With sequentially consistent accesses either the walker sees the new
 * generation or the invalidation's scan sees the entry: no stale entry survives an invalidation that followed the
 * PTE clear. Lookups and entry reads are volatile too.
 *
 * <h2>Counters</h2>
 * Hits, misses, fills, invalidation operations and entries invalidated, atomically counted (any thread). The
 * generation doubles as the count of invalidation operations, so that a strict unmap's invalidation costs one atomic
 * (plus the modelled wait), as the hardware's command-queue submission does.
 */
public final class Iotlb
{
    /** Permission bit: the device may read. */
    public static final int PERM_READ = 1;
    /** Permission bit: the device may write. */
    public static final int PERM_WRITE = 2;

    private static final int IOVA_PFN_SHIFT = 26;
    private static final int GPA_PFN_SHIFT = 2;
    private static final long GPA_PFN_MASK = (1L << 24) - 1;
    /** The largest IOVA pfn an entry can hold (a 48-bit IOVA space needs 36 bits). */
    public static final long MAX_IOVA_PFN = (1L << 36) - 1;
    /** The largest guest pfn an entry can hold (64 GiB of guest memory; vqdma's is below 2 GiB). */
    public static final long MAX_GPA_PFN = GPA_PFN_MASK;

    private static final VarHandle ENTRY = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle GENERATION;
    private static final VarHandle HITS;
    private static final VarHandle MISSES;
    private static final VarHandle FILLS;
    private static final VarHandle FLUSHES;
    private static final VarHandle INVALIDATED;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            GENERATION = lookup.findVarHandle(Iotlb.class, "generation", long.class);
            HITS = lookup.findVarHandle(Iotlb.class, "hits", long.class);
            MISSES = lookup.findVarHandle(Iotlb.class, "misses", long.class);
            FILLS = lookup.findVarHandle(Iotlb.class, "fills", long.class);
            FLUSHES = lookup.findVarHandle(Iotlb.class, "flushes", long.class);
            INVALIDATED = lookup.findVarHandle(Iotlb.class, "invalidated", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final int sets;
    private final int ways;
    private final long[] entries;
    private final int[] victim;

    @SuppressWarnings("unused") private volatile long generation;
    @SuppressWarnings("unused") private volatile long hits;
    @SuppressWarnings("unused") private volatile long misses;
    @SuppressWarnings("unused") private volatile long fills;
    @SuppressWarnings("unused") private volatile long flushes;
    @SuppressWarnings("unused") private volatile long invalidated;

    /** 64 sets x 4 ways. */
    public Iotlb()
    {
        this(64, 4);
    }

    /**
     * @param sets number of sets, a power of two from 1 to 65536.
     * @param ways entries per set, 1 to 64.
     */
    public Iotlb(final int sets, final int ways)
    {
        if (sets < 1 || sets > 65536 || Integer.bitCount(sets) != 1 || ways < 1 || ways > 64)
        {
            throw new IllegalArgumentException("sets=" + sets + " ways=" + ways +
                ": sets must be a power of two 1..65536 and ways 1..64");
        }
        this.sets = sets;
        this.ways = ways;
        this.entries = new long[sets * ways];
        this.victim = new int[sets];
    }

    // ------------------------------------------------------------------------------------------------------------
    // Entry encoding
    // ------------------------------------------------------------------------------------------------------------

    /**
     * @param entry a non-zero value returned by {@link #lookup}.
     * @return the guest page frame number it translates to.
     */
    public static long gpaPfn(final long entry)
    {
        return (entry >>> GPA_PFN_SHIFT) & GPA_PFN_MASK;
    }

    /**
     * @param entry a non-zero value returned by {@link #lookup}.
     * @return {@link #PERM_READ} and/or {@link #PERM_WRITE}.
     */
    public static int perms(final long entry)
    {
        return (int)entry & (PERM_READ | PERM_WRITE);
    }

    private static long encode(final long iovaPfn, final long gpaPfn, final int perms)
    {
        return iovaPfn << IOVA_PFN_SHIFT | gpaPfn << GPA_PFN_SHIFT | perms;
    }

    private static boolean matches(final long entry, final long iovaPfn)
    {
        return entry >>> IOVA_PFN_SHIFT == iovaPfn && (entry & (PERM_READ | PERM_WRITE)) != 0;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Accessors
    // ------------------------------------------------------------------------------------------------------------

    /** Volatile load of an entry. */
    private long lvEntry(final int i)
    {
        return (long)ENTRY.getVolatile(entries, i);
    }

    /** Volatile store of an entry: ordered before the walker's second generation read (see the class comment). */
    private void svEntry(final int i, final long value)
    {
        ENTRY.setVolatile(entries, i, value);
    }

    /** CAS of an entry: a walker removing only its own fill. */
    private boolean casEntry(final int i, final long expected, final long value)
    {
        return ENTRY.compareAndSet(entries, i, expected, value);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Device side
    // ------------------------------------------------------------------------------------------------------------

    /**
     * Looks up a translation; counts a hit or a miss.
     *
     * @param iovaPfn IOVA page frame number, {@code 0..MAX_IOVA_PFN}.
     * @return the entry (decode with {@link #gpaPfn} and {@link #perms}), or 0 on a miss.
     */
    public long lookup(final long iovaPfn)
    {
        final int base = (int)(iovaPfn & (sets - 1)) * ways;
        for (int w = 0; w < ways; w++)
        {
            final long entry = lvEntry(base + w);
            if (matches(entry, iovaPfn))
            {
                HITS.getAndAdd(this, 1L);
                return entry;
            }
        }
        MISSES.getAndAdd(this, 1L);
        return 0;
    }

    /** @return the invalidation generation (volatile load); read it before the table walk that precedes a fill. */
    public long generation()
    {
        return (long)GENERATION.getVolatile(this);
    }

    /**
     * Caches a translation found by a table walk.
     *
     * @param iovaPfn         IOVA page, {@code 0..MAX_IOVA_PFN}.
     * @param gpaPfn          guest page, {@code 0..MAX_GPA_PFN}.
     * @param perms           {@link #PERM_READ} and/or {@link #PERM_WRITE}, not 0.
     * @param generationBefore {@link #generation()} read before the walk.
     * @return true if the entry stayed; false if an invalidation ran since the walk and the entry was withdrawn.
     */
    public boolean fill(final long iovaPfn, final long gpaPfn, final int perms, final long generationBefore)
    {
        if (iovaPfn < 0 || iovaPfn > MAX_IOVA_PFN || gpaPfn < 0 || gpaPfn > MAX_GPA_PFN ||
            perms < 1 || perms > (PERM_READ | PERM_WRITE))
        {
            throw new IllegalArgumentException(String.format(
                "IOTLB fill iova pfn 0x%x gpa pfn 0x%x perms %d: out of range", iovaPfn, gpaPfn, perms));
        }
        final int set = (int)(iovaPfn & (sets - 1));
        final int base = set * ways;
        int way = -1;
        for (int w = 0; w < ways; w++)
        {
            final long entry = lvEntry(base + w);
            if (entry == 0 || matches(entry, iovaPfn))
            {
                way = w;
                break;
            }
        }
        if (way < 0)
        {
            way = victim[set];
            victim[set] = way + 1 == ways ? 0 : way + 1;
        }
        final long value = encode(iovaPfn, gpaPfn, perms);
        svEntry(base + way, value);
        FILLS.getAndAdd(this, 1L);
        if (generation() != generationBefore)
        {
            casEntry(base + way, value, 0);
            return false;
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Driver side
    // ------------------------------------------------------------------------------------------------------------

    /**
     * Page-selective invalidation of {@code [iovaPfn, iovaPfn + pages)} (VT-d PSI, AMD INVALIDATE_IOMMU_PAGES).
     * Ranges larger than the cache scan it once instead of probing page by page.
     *
     * @param iovaPfn first IOVA page.
     * @param pages   number of pages, {@code >= 1}.
     */
    public void invalidateRange(final long iovaPfn, final long pages)
    {
        // The one atomic of an invalidation (the hardware's queue submission): it also counts invalidations.
        GENERATION.getAndAdd(this, 1L);
        long cleared = 0;
        if (pages >= sets)
        {
            final long end = iovaPfn + pages;
            for (int i = 0; i < entries.length; i++)
            {
                final long entry = lvEntry(i);
                final long pfn = entry >>> IOVA_PFN_SHIFT;
                if (entry != 0 && pfn >= iovaPfn && pfn < end)
                {
                    svEntry(i, 0);
                    cleared++;
                }
            }
        }
        else
        {
            for (long p = iovaPfn; p < iovaPfn + pages; p++)
            {
                final int base = (int)(p & (sets - 1)) * ways;
                for (int w = 0; w < ways; w++)
                {
                    if (matches(lvEntry(base + w), p))
                    {
                        svEntry(base + w, 0);
                        cleared++;
                    }
                }
            }
        }
        if (cleared != 0)
        {
            INVALIDATED.getAndAdd(this, cleared);
        }
    }

    /** Invalidates every entry ({@code flush_iotlb_all}, VT-d domain-selective invalidation). */
    public void invalidateAll()
    {
        // The one atomic of an invalidation (the hardware's queue submission): it also counts invalidations.
        GENERATION.getAndAdd(this, 1L);
        FLUSHES.getAndAdd(this, 1L);
        long cleared = 0;
        for (int i = 0; i < entries.length; i++)
        {
            if (lvEntry(i) != 0)
            {
                svEntry(i, 0);
                cleared++;
            }
        }
        if (cleared != 0)
        {
            INVALIDATED.getAndAdd(this, cleared);
        }
    }

    /**
     * Returns the IOTLB to its state right after construction ({@link DmaOps#reset()}): no entry, every set's victim
     * at way 0, generation and statistics zero. Not for concurrent use.
     */
    public void reset()
    {
        Arrays.fill(entries, 0);
        Arrays.fill(victim, 0);
        generation = 0;
        hits = 0;
        misses = 0;
        fills = 0;
        flushes = 0;
        invalidated = 0;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statistics
    // ------------------------------------------------------------------------------------------------------------

    /** @return number of sets. */
    public int sets()
    {
        return sets;
    }

    /** @return entries per set. */
    public int ways()
    {
        return ways;
    }

    /** @return lookups that found their translation. */
    public long hits()
    {
        return (long)HITS.getVolatile(this);
    }

    /** @return lookups that did not. */
    public long misses()
    {
        return (long)MISSES.getVolatile(this);
    }

    /** @return entries written by fills. */
    public long fills()
    {
        return (long)FILLS.getVolatile(this);
    }

    /** @return invalidation operations (range or all). */
    public long invalidations()
    {
        // Every invalidation increments the generation exactly once, and nothing else does.
        return generation();
    }

    /** @return invalidate-all operations. */
    public long flushes()
    {
        return (long)FLUSHES.getVolatile(this);
    }

    /** @return valid entries removed by invalidations. */
    public long entriesInvalidated()
    {
        return (long)INVALIDATED.getVolatile(this);
    }

    /** @return valid entries now (a scan). */
    public int validEntries()
    {
        int n = 0;
        for (int i = 0; i < entries.length; i++)
        {
            if (lvEntry(i) != 0)
            {
                n++;
            }
        }
        return n;
    }
}
