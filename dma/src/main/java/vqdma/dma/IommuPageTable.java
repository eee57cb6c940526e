package vqdma.dma;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * A 4-level x86-style IOMMU page table (the shape of VT-d second-level and AMD-Vi v1 tables with 4 KiB pages): 9
 * bits of IOVA per level, 512 eight-byte entries per 4 KiB table, a 48-bit IOVA space. Tables live in their own
 * off-heap pool (not guest memory), allocated on demand from a free list.
 *
 * <h2>Entries</h2>
 * <pre>
 *   63          52 51                                   12 11  10  9 .. 3   2   1   0
 *  +--------------+---------------------------------------+---+----+------+---+---+---+
 *  |   ignored    |  output address (GPA page, or table)  |   |HEAD|      | W | R | P |
 *  +--------------+---------------------------------------+---+----+------+---+---+---+
 * </pre>
 * {@link #PTE_PRESENT}, {@link #PTE_READ} and {@link #PTE_WRITE} are the permission bits. A non-leaf entry points to
 * the next table, whose "address" is its offset in the pool, and grants everything (as x86 intermediate entries
 * usually do: the leaf decides). {@link #PTE_HEAD} is a bit the hardware ignores and software may use: vqdma marks
 * the first page of every {@link #map} call with it, so that an unmap can be checked against the mapping it undoes.
 *
 * <h2>Ordering</h2>
 * The device walks the table while the driver changes it. Leaf entries are published with a release store
 * ({@link #map}) and cleared with a release store ({@link #unmap}); a new table is installed with a CAS (two
 * mappers may race for the same slot: the loser returns its table to the pool). The walk ({@link #walk}) reads
 * every level with an acquire load, pairing with those stores: a walker that sees an entry sees the table it points
 * to fully zeroed and everything the mapper wrote before it. Tables are never freed while the table is in use
 * (the kernel would have to defer that past the IOTLB flush, as its flush queue's freelist does), so a walker can
 * never follow a pointer into a recycled table.
 *
 * <h2>The last leaf (driver side only)</h2>
 * {@link #map}, {@link #unmap} and {@link #checkAndUnmap} find a page's leaf table through a one-entry cache of the
 * last leaf table the driver used (IOVA pfn >> 9 -> table), and walk the four levels only on a miss. The kernel's
 * io-pgtable code walks every time; with the range caches handing the same few IOVAs out again and again, nearly
 * every driver operation lands in the same 2 MiB leaf, and the cache saves three dependent loads per operation. It
 * needs no invalidation because a leaf table, once installed, is never freed or moved: the pair it caches is true
 * forever (if tables were ever freed, the cache would have to be cleared before the table is reused). The entry is
 * one {@code long} (a release store after the walk, an acquire load before use), so a reader sees a whole pair and
 * the table it names, installed before. The device's {@link #walk} does not use it: hardware walks the table.
 *
 * <h2>Threads</h2>
 * Map and unmap of disjoint IOVA ranges may run concurrently with each other and with walks; that is all the DMA
 * layer does (the IOVA allocator keeps ranges disjoint).
 */
public final class IommuPageTable
{
    /** Levels of the table. */
    public static final int LEVELS = 4;
    /** IOVA bits translated per level. */
    public static final int BITS_PER_LEVEL = 9;
    /** Entries per table. */
    public static final int ENTRIES = 1 << BITS_PER_LEVEL;
    /** Bytes per table (one 4 KiB page). */
    public static final int TABLE_SIZE = ENTRIES * Long.BYTES;
    /** Width of the IOVA space. */
    public static final int IOVA_BITS = IovaDomain.IOVA_SHIFT + LEVELS * BITS_PER_LEVEL;
    /** The last IOVA page frame number the table can map. */
    public static final long MAX_IOVA_PFN = (1L << (IOVA_BITS - IovaDomain.IOVA_SHIFT)) - 1;

    /** Entry is present (valid). */
    public static final long PTE_PRESENT = 1;
    /** The device may read through this entry ({@code IOMMU_READ}). */
    public static final long PTE_READ = 1 << 1;
    /** The device may write through this entry ({@code IOMMU_WRITE}). */
    public static final long PTE_WRITE = 1 << 2;
    /** Software bit: first page of a {@link #map} call. */
    public static final long PTE_HEAD = 1 << 10;
    /** Output address bits. */
    public static final long PTE_ADDR_MASK = 0x000F_FFFF_FFFF_F000L;

    private static final long TABLE_ENTRY = PTE_PRESENT | PTE_READ | PTE_WRITE;
    private static final int PFN_MASK = ENTRIES - 1;
    /** Last-leaf cache: {@code (iovaPfn >>> 9) << LEAF_KEY_SHIFT | table index}; -1 is no key (too large). */
    private static final int LEAF_KEY_SHIFT = 16;
    private static final long NO_LEAF = -1;
    private static final VarHandle LAST_LEAF;
    /** An empty table, compared against by {@link #presentPtes()}. */
    private static final ByteBuffer ZERO_TABLE = ByteBuffer.allocateDirect(TABLE_SIZE);

    static
    {
        try
        {
            LAST_LEAF = MethodHandles.lookup().findVarHandle(IommuPageTable.class, "lastLeaf", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final UnsafeBuffer pool;
    private final int maxTables;
    private final SpinLock freeLock = new SpinLock();
    private final int[] freeTables;
    private int freeCount;
    @SuppressWarnings("unused") // accessed through LAST_LEAF
    private long lastLeaf = NO_LEAF;

    /**
     * @param maxTables tables in the pool, including the root; 2..65536. Each maps 2 MiB of IOVA space at the leaf
     *                  level; 512 tables (2 MiB of off-heap memory) cover about 1 GiB of live mappings.
     */
    public IommuPageTable(final int maxTables)
    {
        if (maxTables < LEVELS || maxTables > 65536)
        {
            throw new IllegalArgumentException("maxTables=" + maxTables + ": must be " + LEVELS + "..65536");
        }
        this.maxTables = maxTables;
        this.pool = new UnsafeBuffer(BufferUtil.allocateDirectAligned(maxTables * TABLE_SIZE, TABLE_SIZE));
        this.freeTables = new int[maxTables];
        initFreeTables();
    }

    /** Every table but the root free; low tables are handed out first. */
    private void initFreeTables()
    {
        freeCount = 0;
        for (int t = maxTables - 1; t >= 1; t--)
        {
            freeTables[freeCount++] = t;
        }
    }

    /**
     * Returns the table to its state right after construction ({@link DmaOps#reset()}): every table that was handed
     * out (the root included) zeroed and back in the pool, in the pool's first order, and the last-leaf cache empty.
     * Tables still in the pool are zero already (they are zeroed at construction and return to the pool only unused),
     * so the cost is the tables in use, not the pool. Not for concurrent use: no walk or mapping may run meanwhile.
     */
    public void reset()
    {
        final boolean[] free = new boolean[maxTables];
        for (int i = 0; i < freeCount; i++)
        {
            free[freeTables[i]] = true;
        }
        for (int t = 0; t < maxTables; t++)
        {
            if (!free[t])
            {
                pool.setMemory(t * TABLE_SIZE, TABLE_SIZE, (byte)0);
            }
        }
        initFreeTables();
        srLastLeaf(NO_LEAF);
    }

    private static int index(final long iovaPfn, final int level)
    {
        return (int)(iovaPfn >>> (BITS_PER_LEVEL * level)) & PFN_MASK;
    }

    private static void checkPfn(final long iovaPfn, final long pages)
    {
        if (iovaPfn < 0 || pages < 1 || pages > MAX_IOVA_PFN + 1 - iovaPfn)
        {
            throw new IllegalArgumentException(String.format(
                "IOVA pfn 0x%x + %d pages: outside the %d-bit IOVA space", iovaPfn, pages, IOVA_BITS));
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Accessors
    // ------------------------------------------------------------------------------------------------------------

    /** Acquire load of an entry: pairs with the release stores and CAS of the mappers. */
    private long laEntry(final int offset)
    {
        return pool.getLongAcquire(offset);
    }

    /** Release store of a leaf entry: the device sees it only after everything written before. */
    private void srEntry(final int offset, final long pte)
    {
        pool.putLongRelease(offset, pte);
    }

    /** Plain load of an entry the caller owns (its own IOVA range, before publishing). */
    private long lpEntry(final int offset)
    {
        return pool.getLong(offset);
    }

    /** Acquire load of the last-leaf cache: pairs with {@link #srLastLeaf}, so the table it names is seen installed. */
    private long laLastLeaf()
    {
        return (long)LAST_LEAF.getAcquire(this);
    }

    /** Release store of the last-leaf cache, after the walk that found the table. */
    private void srLastLeaf(final long value)
    {
        LAST_LEAF.setRelease(this, value);
    }

    /** CAS of an empty non-leaf entry to a new table. */
    private boolean casEntry(final int offset, final long expected, final long pte)
    {
        return pool.compareAndSetLong(offset, expected, pte);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Tables
    // ------------------------------------------------------------------------------------------------------------

    private int allocTable()
    {
        freeLock.lock();
        try
        {
            return freeCount == 0 ? -1 : freeTables[--freeCount];
        }
        finally
        {
            freeLock.unlock();
        }
    }

    private void freeTable(final int table)
    {
        freeLock.lock();
        freeTables[freeCount++] = table;
        freeLock.unlock();
    }

    /**
     * The leaf table of {@code iovaPfn}: from the last-leaf cache, else by a walk that installs missing tables if
     * {@code allocate} (and then caches what it found).
     *
     * @return the byte offset of the leaf table in the pool, or -1 (missing and not allocating, or pool exhausted).
     */
    private int leafTable(final long iovaPfn, final boolean allocate)
    {
        final long key = iovaPfn >>> BITS_PER_LEVEL;
        final long cached = laLastLeaf();
        if (cached >>> LEAF_KEY_SHIFT == key)
        {
            return (int)(cached & ((1 << LEAF_KEY_SHIFT) - 1)) * TABLE_SIZE;
        }
        final int leaf = walkToLeaf(iovaPfn, allocate);
        if (leaf >= 0)
        {
            srLastLeaf(key << LEAF_KEY_SHIFT | leaf / TABLE_SIZE);
        }
        return leaf;
    }

    /** The 4-level walk of {@link #leafTable}, installing missing tables if {@code allocate}. */
    private int walkToLeaf(final long iovaPfn, final boolean allocate)
    {
        int table = 0;
        for (int level = LEVELS - 1; level >= 1; level--)
        {
            final int offset = table + index(iovaPfn, level) * Long.BYTES;
            long entry = laEntry(offset);
            if ((entry & PTE_PRESENT) == 0)
            {
                if (!allocate)
                {
                    return -1;
                }
                final int fresh = allocTable();
                if (fresh < 0)
                {
                    return -1;
                }
                // A table from the pool is all zeroes: it was never written, or it lost a race before any write.
                final long desired = ((long)fresh * TABLE_SIZE) | TABLE_ENTRY;
                if (casEntry(offset, 0, desired))
                {
                    entry = desired;
                }
                else
                {
                    freeTable(fresh);
                    entry = laEntry(offset);
                }
            }
            table = (int)(entry & PTE_ADDR_MASK);
        }
        return table;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Map, unmap, walk
    // ------------------------------------------------------------------------------------------------------------

    /**
     * {@code iommu_map()}: maps {@code pages} consecutive IOVA pages to consecutive guest pages with {@code prot};
     * the first entry is marked {@link #PTE_HEAD}. All-or-nothing: if the table pool runs out, what was mapped is
     * unmapped again and the call returns false (the kernel's {@code iommu_map()} unwinds the same way).
     *
     * @param iovaPfn first IOVA page.
     * @param gpaPfn  first guest page.
     * @param pages   number of pages, {@code >= 1}.
     * @param prot    {@link #PTE_READ} and/or {@link #PTE_WRITE}.
     * @return true if mapped, false if the pool of tables is exhausted.
     * @throws IllegalStateException if a page is already mapped (the IOVA was handed out twice); nothing changes.
     */
    public boolean map(final long iovaPfn, final long gpaPfn, final long pages, final long prot)
    {
        checkPfn(iovaPfn, pages);
        if ((prot & ~(PTE_READ | PTE_WRITE)) != 0 || prot == 0)
        {
            throw new IllegalArgumentException("prot=" + prot + ": must be PTE_READ and/or PTE_WRITE");
        }
        long done = 0;
        while (done < pages)
        {
            final long pfn = iovaPfn + done;
            final int leaf = leafTable(pfn, true);
            if (leaf < 0)
            {
                unmapRange(iovaPfn, done);
                return false;
            }
            final int first = index(pfn, 0);
            final int run = (int)Math.min(pages - done, ENTRIES - first);
            for (int i = 0; i < run; i++)
            {
                final int offset = leaf + (first + i) * Long.BYTES;
                if ((lpEntry(offset) & PTE_PRESENT) != 0)
                {
                    unmapRange(iovaPfn, done + i);
                    throw new IllegalStateException(String.format(
                        "IOVA pfn 0x%x is already mapped (to 0x%x)", pfn + i, lpEntry(offset) & PTE_ADDR_MASK));
                }
                final long pte = ((gpaPfn + done + i) << IovaDomain.IOVA_SHIFT) | prot | PTE_PRESENT |
                    (done + i == 0 ? PTE_HEAD : 0);
                srEntry(offset, pte);
            }
            done += run;
        }
        return true;
    }

    /**
     * {@code iommu_unmap_fast()} without the IOTLB: clears the leaf entries of the range (release stores). Pages
     * that are not mapped are skipped. Tables are kept.
     *
     * @param iovaPfn first IOVA page.
     * @param pages   number of pages, {@code >= 1}.
     * @return the number of pages that were mapped.
     */
    public long unmap(final long iovaPfn, final long pages)
    {
        checkPfn(iovaPfn, pages);
        return unmapRange(iovaPfn, pages);
    }

    private long unmapRange(final long iovaPfn, final long pages)
    {
        long cleared = 0;
        long done = 0;
        while (done < pages)
        {
            final long pfn = iovaPfn + done;
            final int first = index(pfn, 0);
            final int run = (int)Math.min(pages - done, ENTRIES - first);
            final int leaf = leafTable(pfn, false);
            if (leaf >= 0)
            {
                for (int i = 0; i < run; i++)
                {
                    final int offset = leaf + (first + i) * Long.BYTES;
                    if ((lpEntry(offset) & PTE_PRESENT) != 0)
                    {
                        srEntry(offset, 0);
                        cleared++;
                    }
                }
            }
            done += run;
        }
        return cleared;
    }

    /**
     * The device's table walk: acquire loads at every level.
     *
     * @param iovaPfn IOVA page, {@code >= 0}.
     * @return the leaf entry (test {@link #PTE_PRESENT}), or 0 if any level is missing or the pfn is out of range.
     */
    public long walk(final long iovaPfn)
    {
        if (iovaPfn < 0 || iovaPfn > MAX_IOVA_PFN)
        {
            return 0;
        }
        int table = 0;
        for (int level = LEVELS - 1; level >= 1; level--)
        {
            final long entry = laEntry(table + index(iovaPfn, level) * Long.BYTES);
            if ((entry & PTE_PRESENT) == 0)
            {
                return 0;
            }
            table = (int)(entry & PTE_ADDR_MASK);
        }
        return laEntry(table + index(iovaPfn, 0) * Long.BYTES);
    }

    /**
     * Checks that {@code [iovaPfn, iovaPfn + pages)} is exactly one {@link #map} call with permissions {@code prot}:
     * the first entry present with {@link #PTE_HEAD} and {@code prot}, the others present without it, and the entry
     * after the range not a continuation (absent or a head).
     *
     * @param iovaPfn first IOVA page.
     * @param pages   number of pages, {@code >= 1}.
     * @param prot    expected {@link #PTE_READ}/{@link #PTE_WRITE}.
     * @return -1 if it is, else the offset in pages of the first entry that breaks the rule ({@code pages} for the
     * entry after the range).
     */
    public long checkMapping(final long iovaPfn, final long pages, final long prot)
    {
        if (iovaPfn < 0 || pages < 1 || pages > MAX_IOVA_PFN + 1 - iovaPfn)
        {
            return 0;
        }
        final long perms = PTE_READ | PTE_WRITE;
        for (long i = 0; i < pages; i++)
        {
            final long pte = walk(iovaPfn + i);
            final long want = PTE_PRESENT | (i == 0 ? PTE_HEAD : 0);
            if ((pte & (PTE_PRESENT | PTE_HEAD)) != want || (pte & perms) != prot)
            {
                return i;
            }
        }
        final long after = walk(iovaPfn + pages);
        return (after & PTE_PRESENT) != 0 && (after & PTE_HEAD) == 0 ? pages : -1;
    }

    /**
     * {@link #checkMapping} then, if the range is exactly one mapping with {@code prot}, {@link #unmap}: the driver's
     * unmap ({@code iommu_unmap_fast()}) with vqdma's misuse check, finding the leaf table once when the range lies
     * in one (nearly always: a leaf covers 2 MiB).
     *
     * @param iovaPfn first IOVA page.
     * @param pages   number of pages, {@code >= 1}.
     * @param prot    expected {@link #PTE_READ}/{@link #PTE_WRITE}.
     * @return -1 if the range was unmapped; else what {@link #checkMapping} returns, and nothing changed.
     */
    public long checkAndUnmap(final long iovaPfn, final long pages, final long prot)
    {
        final int first = index(iovaPfn, 0);
        if (iovaPfn < 0 || pages < 1 || pages > ENTRIES - first || pages > MAX_IOVA_PFN + 1 - iovaPfn)
        {
            // Across a leaf boundary (or out of range): check and unmap the general way.
            final long bad = checkMapping(iovaPfn, pages, prot);
            if (bad < 0)
            {
                unmapRange(iovaPfn, pages);
            }
            return bad;
        }
        final int leaf = leafTable(iovaPfn, false);
        if (leaf < 0)
        {
            return 0;
        }
        final int base = leaf + first * Long.BYTES;
        final int n = (int)pages;
        final long perms = PTE_READ | PTE_WRITE;
        for (int i = 0; i < n; i++)
        {
            final long pte = laEntry(base + i * Long.BYTES);
            final long want = PTE_PRESENT | (i == 0 ? PTE_HEAD : 0);
            if ((pte & (PTE_PRESENT | PTE_HEAD)) != want || (pte & perms) != prot)
            {
                return i;
            }
        }
        // The entry after the range is in the next leaf table when the range ends a leaf: the top page of the
        // 32-bit space does, and a PCI device's first IOVA is that page. Walk for it, without caching that leaf.
        final long after = first + n < ENTRIES ? laEntry(base + n * Long.BYTES) : walk(iovaPfn + pages);
        if ((after & PTE_PRESENT) != 0 && (after & PTE_HEAD) == 0)
        {
            return pages;
        }
        for (int i = 0; i < n; i++)
        {
            srEntry(base + i * Long.BYTES, 0);
        }
        return -1;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statistics
    // ------------------------------------------------------------------------------------------------------------

    /** @return tables handed out, root included. */
    public int tablesInUse()
    {
        freeLock.lock();
        try
        {
            return maxTables - freeCount;
        }
        finally
        {
            freeLock.unlock();
        }
    }

    /** @return the capacity of the pool in tables. */
    public int maxTables()
    {
        return maxTables;
    }

    /**
     * The tables' memory, read-only, for checkers that walk the table with code of their own, as the IOMMU's hardware
     * walker would: the root at offset 0, tables of {@link #ENTRIES} entries (in the machine's byte order) laid out as
     * the class comment shows, a non-leaf entry's output address being the next table's offset in this buffer. Read
     * with plain loads; what a reader sees is exact only when no mapping runs meanwhile.
     *
     * @return a view of the pool (not a copy).
     */
    public DirectBuffer tables()
    {
        return new UnsafeBuffer(pool);
    }

    /**
     * Counts present leaf entries by walking every table reachable from the root (for tests and leak checks; exact
     * when no mapping runs meanwhile, as every statistic). Runs of empty entries are skipped with one vectorized
     * comparison against a zero table ({@link ByteBuffer#mismatch}), so the cost is the tables in use and their
     * non-empty entries, not 512 loads per table.
     *
     * @return the number of mapped pages.
     */
    public long presentPtes()
    {
        final ByteBuffer entries = pool.byteBuffer().duplicate();
        final ByteBuffer zeros = ZERO_TABLE.duplicate();
        return countPresent(entries, zeros, 0, LEVELS - 1);
    }

    private long countPresent(final ByteBuffer entries, final ByteBuffer zeros, final int table, final int level)
    {
        long n = 0;
        int i = 0;
        while (i < ENTRIES)
        {
            // A plain bulk read finds the next non-empty entry; the entry itself is then read with an acquire load.
            entries.limit(table + TABLE_SIZE).position(table + i * Long.BYTES);
            zeros.limit(TABLE_SIZE - i * Long.BYTES).position(0);
            final int differs = entries.mismatch(zeros);
            if (differs < 0)
            {
                break;
            }
            i += differs / Long.BYTES;
            final long entry = laEntry(table + i * Long.BYTES);
            if ((entry & PTE_PRESENT) != 0)
            {
                n += level == 0 ? 1 : countPresent(entries, zeros, (int)(entry & PTE_ADDR_MASK), level - 1);
            }
            i++;
        }
        return n;
    }
}
