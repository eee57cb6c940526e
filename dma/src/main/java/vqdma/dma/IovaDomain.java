package vqdma.dma;

import org.agrona.collections.Long2LongHashMap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An IOVA allocator with range caches: the kernel's {@code struct iova_domain} ({@code drivers/iommu/iova.c}) with a
 * 4 KiB granule, plus the 32-bit-first policy of {@code iommu_dma_alloc_iova()} ({@code drivers/iommu/dma-iommu.c}).
 * Addresses are page frame numbers (pfn = IOVA >> 12). Pfn 0 is never handed out ({@code start_pfn = 1}), so 0
 * means "no IOVA", as in the kernel.
 *
 * <h2>The tree (slow path)</h2>
 * {@link #allocIova} searches top-down from a limit for the highest free range, naturally aligned for
 * power-of-two sizes ({@code __alloc_and_insert_iova_range()}), under one lock ({@code iova_rbtree_lock}). The
 * ranges live in a sorted array instead of a red-black tree (see {@code IovaTree}): same search, same cached nodes,
 * no allocation per call; the array only grows, by doubling, past a new high-water mark of live ranges.
 *
 * <h2>The range caches (fast path)</h2>
 * {@link #allocIovaFast}/{@link #freeIovaFast} round sizes below 32 pages up to a power of two and keep freed
 * ranges of up to 32 pages in {@link #IOVA_RANGE_CACHE_MAX_SIZE} bins (orders 0..5). Each bin has, per CPU slot, a
 * {@code loaded} and a {@code prev} magazine of {@link #IOVA_MAG_SIZE} pfns and, shared, a depot of up to
 * {@link #MAX_GLOBAL_MAGS} full magazines (Bonwick and Adams' magazines, USENIX 2001). A hit takes one per-slot lock
 * and allocates nothing. When the tree has no room, every cache is flushed back to the tree and the search retried
 * once ({@code alloc_iova_fast()} with {@code flush_rcache}).
 * <p>
 * This is the 6.0-6.6 design (fixed depot of {@code MAX_GLOBAL_MAGS}); since 6.7 the depot is an unbounded list
 * trimmed by a delayed work item, which vqdma does not model.
 *
 * <h2>CPU slots</h2>
 * Java has no CPU id. A thread's slot is its {@link Thread#getId() id} masked to the number of slots (a power of
 * two): stable for the thread's life, distinct for consecutive thread ids. Two threads may share a slot, which is
 * correct because each slot has its own lock, just as the kernel's per-CPU cache has a lock against preemption and
 * interrupts. IOVAs freed by a thread go to its slot, wherever they were allocated, as in the kernel.
 *
 * <h2>Locking</h2>
 * Locks nest in the kernel's order: CPU slot ({@code cpu_rcache->lock}) -> depot ({@code rcache->lock}) -> tree
 * ({@code iova_rbtree_lock}). All are {@link SpinLock}s. Beyond the kernel, a striped table of live allocations
 * (pfn -> pages, one lock per stripe, taken alone) catches misuse of the public API (below).
 *
 * <h2>Misuse</h2>
 * Freeing a pfn that is not allocated (or already freed), with a page count other than the one allocated, or
 * putting a tree allocation into the caches with {@link #freeIovaFast} (the kernel comment's "come back to bite us
 * badly": a non-power-of-two range would be handed out again as a larger one) is an
 * {@link IllegalStateException} naming the values; nothing is changed. The kernel does not check this.
 * <p>
 * The check costs a striped lock and a hash-table update per allocation and per free, about as much as the range
 * cache itself. {@link IommuDma} does not need it: it checks every unmap against the page table (the head PTE of a
 * mapping, its size and its permissions) before it frees anything, so it uses the package-private
 * {@link #allocDmaIovaUnchecked}/{@link #freeIovaFastUnchecked} pair, which is exactly the kernel's path. Ranges
 * from one pair must be freed through the same pair.
 *
 * <h2>Counters</h2>
 * Statistics are read without locks: exact once the domain is quiescent, approximate while other threads work.
 * {@link #liveIovas()} is counted, not looked up: allocations (range-cache hits and tree allocations) minus frees
 * (range-cache inserts and frees to the tree), each counted under the lock its operation already holds, so that it
 * covers both the checked and the unchecked path at no extra cost.
 */
public final class IovaDomain
{
    /** {@code iova_shift()}: the granule is 4 KiB. */
    public static final int IOVA_SHIFT = 12;
    /** Bytes per IOVA page. */
    public static final long IOVA_GRANULE = 1L << IOVA_SHIFT;
    /** {@code IOVA_RANGE_CACHE_MAX_SIZE}: bins of orders 0..5, that is sizes up to 32 pages are cached. */
    public static final int IOVA_RANGE_CACHE_MAX_SIZE = 6;
    /** {@code IOVA_MAG_SIZE}: pfns per magazine (127 so that the kernel's magazine is exactly 1 KiB). */
    public static final int IOVA_MAG_SIZE = 127;
    /** {@code MAX_GLOBAL_MAGS}: full magazines per bin in the depot. */
    public static final int MAX_GLOBAL_MAGS = 32;
    /** {@code dma_32bit_pfn}: the first pfn above the 32-bit space. */
    public static final long DMA_32BIT_PFN = 1L << (32 - IOVA_SHIFT);
    /** {@code DMA_BIT_MASK(32) >> shift}: the last pfn a 32-bit (SAC) address can reach. */
    public static final long DMA_32BIT_LIMIT_PFN = DMA_32BIT_PFN - 1;
    /** The largest limit pfn accepted: a 64-bit address space of 4 KiB pages. */
    public static final long MAX_LIMIT_PFN = (1L << (64 - IOVA_SHIFT)) - 1;
    /** {@code start_pfn}: pfn 0 is never allocated, so that IOVA 0 stays invalid. */
    public static final long START_PFN = 1;

    private static final int LIVE_STRIPES = 64;
    private static final long LIVE_FAST = 1;
    private static final VarHandle PCI_32BIT_WORKAROUND;

    static
    {
        try
        {
            PCI_32BIT_WORKAROUND = MethodHandles.lookup()
                .findVarHandle(IovaDomain.class, "pci32BitWorkaround", boolean.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final SpinLock treeLock = new SpinLock();
    private final IovaTree tree = new IovaTree(START_PFN, DMA_32BIT_PFN);
    private final IovaRcache[] rcaches;
    private final int slotMask;
    private final boolean pciDevice;
    private final LiveStripe[] live = new LiveStripe[LIVE_STRIPES];
    /** {@code dev->iommu->pci_32bit_workaround}: goes from true to false once; see {@link #loPci32BitWorkaround}. */
    private boolean pci32BitWorkaround;

    // Under treeLock.
    private long treeAllocations;
    private long treeFrees;
    private long treeFailures;
    private long rcacheFlushes;

    /** Padding around each stripe of the live table, so that stripes do not share cache lines. */
    abstract static class LiveStripePad
    {
        long p01, p02, p03, p04, p05, p06, p07, p08;
    }

    /** One stripe of the live table: pfn -> (pages << 1 | fast). */
    static final class LiveStripe extends LiveStripePad
    {
        final SpinLock lock = new SpinLock();
        final Long2LongHashMap map = new Long2LongHashMap(64, 0.6f, 0);
        long p11, p12, p13, p14, p15, p16, p17, p18;
    }

    /**
     * A domain with range caches, one slot per available processor (rounded up to a power of two), for a PCI device
     * (32-bit IOVAs first).
     */
    public IovaDomain()
    {
        this(defaultSlots(), true, true);
    }

    /**
     * @param cacheSlots   number of per-CPU cache slots, a power of two from 1 to 1024.
     * @param rcache       false to disable the range caches (every allocation searches the tree, every free goes
     *                     back to it): the rcache-miss case of the benchmarks.
     * @param pciDevice    true for a PCI device: {@link #allocDmaIova} tries the 32-bit space first
     *                     ({@code dev->iommu->pci_32bit_workaround}).
     */
    public IovaDomain(final int cacheSlots, final boolean rcache, final boolean pciDevice)
    {
        if (cacheSlots < 1 || cacheSlots > 1024 || Integer.bitCount(cacheSlots) != 1)
        {
            throw new IllegalArgumentException("cacheSlots=" + cacheSlots + ": must be a power of two, 1..1024");
        }
        this.slotMask = cacheSlots - 1;
        this.pciDevice = pciDevice;
        if (rcache)
        {
            rcaches = new IovaRcache[IOVA_RANGE_CACHE_MAX_SIZE];
            for (int i = 0; i < rcaches.length; i++)
            {
                rcaches[i] = new IovaRcache(cacheSlots);
            }
        }
        else
        {
            rcaches = null;
        }
        for (int i = 0; i < live.length; i++)
        {
            live[i] = new LiveStripe();
        }
        soPci32BitWorkaround(pciDevice);
    }

    /**
     * Opaque load of the 32-bit-first flag: it only ever goes from true to false, and a thread that still sees true
     * merely tries the 32-bit space once more (the kernel reads it plainly too).
     */
    private boolean loPci32BitWorkaround()
    {
        return (boolean)PCI_32BIT_WORKAROUND.getOpaque(this);
    }

    /** Opaque store of the 32-bit-first flag. */
    private void soPci32BitWorkaround(final boolean value)
    {
        PCI_32BIT_WORKAROUND.setOpaque(this, value);
    }

    /** @return the number of available processors rounded up to a power of two, at most 1024. */
    public static int defaultSlots()
    {
        final int cpus = Math.min(1024, Runtime.getRuntime().availableProcessors());
        return cpus <= 1 ? 1 : Integer.highestOneBit(cpus - 1) << 1;
    }

    /** @return the number of CPU slots of the range caches. */
    public int cacheSlots()
    {
        return slotMask + 1;
    }

    /** @return true if the range caches are enabled. */
    public boolean rcacheEnabled()
    {
        return rcaches != null;
    }

    /**
     * Returns the domain to its state right after construction ({@link IommuDma#reset()}): no IOVA allocated, the
     * range caches empty, the 32-bit-first flag as the constructor set it, counters zero. Not for concurrent use.
     */
    public void reset()
    {
        tree.reset();
        if (rcaches != null)
        {
            for (final IovaRcache rcache : rcaches)
            {
                rcache.reset();
            }
        }
        for (final LiveStripe stripe : live)
        {
            stripe.map.clear();
        }
        soPci32BitWorkaround(pciDevice);
        treeAllocations = 0;
        treeFrees = 0;
        treeFailures = 0;
        rcacheFlushes = 0;
    }

    /** @return the calling thread's CPU slot: its thread id masked to the number of slots. */
    @SuppressWarnings("deprecation") // Thread.getId(): threadId() is Java 19+
    int slot()
    {
        return (int)Thread.currentThread().getId() & slotMask;
    }

    /**
     * {@code order_base_2()}: the bin of a size.
     *
     * @param pages a size in pages, {@code >= 1}.
     * @return {@code ceil(log2(pages))}.
     */
    static int orderBase2(final long pages)
    {
        return pages <= 1 ? 0 : 64 - Long.numberOfLeadingZeros(pages - 1);
    }

    private static void checkArgs(final long pages, final long limitPfn)
    {
        if (pages < 1 || limitPfn < START_PFN || limitPfn > MAX_LIMIT_PFN)
        {
            throw new IllegalArgumentException(String.format(
                "IOVA request of %d pages below limit pfn 0x%x: pages must be >= 1 and the limit 0x%x..0x%x",
                pages, limitPfn, START_PFN, MAX_LIMIT_PFN));
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The tree
    // ------------------------------------------------------------------------------------------------------------

    /**
     * {@code alloc_iova()}: searches the tree for the highest free range of {@code pages} pages ending at or below
     * {@code limitPfn}. Does not touch the range caches.
     *
     * @param pages       size in pages, {@code >= 1}; not rounded.
     * @param limitPfn    the last pfn the range may use (inclusive, as the kernel's {@code limit_pfn}).
     * @param sizeAligned start at a multiple of {@code roundup_pow_of_two(pages)}.
     * @return the first pfn, or 0 if there is no room.
     */
    public long allocIova(final long pages, final long limitPfn, final boolean sizeAligned)
    {
        checkArgs(pages, limitPfn);
        final long pfn = treeAlloc(pages, limitPfn, sizeAligned);
        if (pfn != 0)
        {
            recordLive(pfn, pages, 0);
        }
        return pfn;
    }

    /**
     * {@code free_iova()}: returns a range to the tree, bypassing the caches.
     *
     * @param pfn   the first pfn of a range from {@link #allocIova} or {@link #allocIovaFast}.
     * @param pages the page count it was allocated with.
     * @throws IllegalStateException if {@code pfn} is not allocated or {@code pages} does not match; nothing changes.
     */
    public void freeIova(final long pfn, final long pages)
    {
        releaseLive(pfn, pages, false);
        treeFree(pfn);
    }

    private long treeAlloc(final long pages, final long limitPfn, final boolean sizeAligned)
    {
        treeLock.lock();
        try
        {
            final long pfn = tree.allocRange(pages, limitPfn + 1, sizeAligned);
            if (pfn != 0)
            {
                treeAllocations++;
            }
            else
            {
                treeFailures++;
            }
            return pfn;
        }
        finally
        {
            treeLock.unlock();
        }
    }

    /** A caller's free to the tree (counted as a free, unlike a cache flush's return of cached ranges). */
    private void treeFree(final long pfn)
    {
        treeLock.lock();
        try
        {
            treeFreeLocked(pfn);
            treeFrees++;
        }
        finally
        {
            treeLock.unlock();
        }
    }

    private void treeFreeLocked(final long pfn)
    {
        final int i = tree.find(pfn);
        if (i < 0 || tree.lo(i) != pfn)
        {
            // The live table vouched for this pfn: a miss here is a bug in vqdma, not in the caller.
            throw new IllegalStateException(String.format("IOVA pfn 0x%x is not the start of a range in the tree", pfn));
        }
        tree.freeAt(i);
    }

    // ------------------------------------------------------------------------------------------------------------
    // The range caches
    // ------------------------------------------------------------------------------------------------------------

    /**
     * {@code alloc_iova_fast()}: rounds sizes below 32 pages up to a power of two, takes a cached range if one fits,
     * else searches the tree; if the tree has no room and {@code flushRcache}, returns every cached range to the tree
     * and searches once more.
     *
     * @param pages       size in pages, {@code >= 1}.
     * @param limitPfn    the last pfn the range may use (inclusive).
     * @param flushRcache flush the caches and retry once on failure.
     * @return the first pfn, or 0 if there is no room.
     */
    public long allocIovaFast(final long pages, final long limitPfn, final boolean flushRcache)
    {
        checkArgs(pages, limitPfn);
        final long pfn = allocFast(pages, limitPfn, flushRcache);
        if (pfn != 0)
        {
            recordLive(pfn, pages, LIVE_FAST);
        }
        return pfn;
    }

    /** {@code alloc_iova_fast()} proper, without the live table; arguments already checked. */
    private long allocFast(final long pages, final long limitPfn, final boolean flushRcache)
    {
        // "Freeing non-power-of-two-sized allocations back into the IOVA caches will come back to bite us badly,
        // so we have to waste a bit of space rounding up anything cacheable."
        final long size = pages < (1L << (IOVA_RANGE_CACHE_MAX_SIZE - 1)) ? roundUpPowerOfTwo(pages) : pages;
        long pfn = rcacheGet(size, limitPfn + 1);
        if (pfn == 0)
        {
            pfn = treeAlloc(size, limitPfn, true);
            if (pfn == 0 && flushRcache)
            {
                flushRcaches();
                pfn = treeAlloc(size, limitPfn, true);
            }
        }
        return pfn;
    }

    /**
     * {@code free_iova_fast()}: puts a range from {@link #allocIovaFast} into the calling slot's cache, or back into
     * the tree if it is larger than 32 pages.
     *
     * @param pfn   the first pfn.
     * @param pages the page count passed to {@link #allocIovaFast} (before rounding).
     * @throws IllegalStateException if the range is not a live {@link #allocIovaFast} allocation of that size;
     *                               nothing changes.
     */
    public void freeIovaFast(final long pfn, final long pages)
    {
        releaseLive(pfn, pages, true);
        freeFast(pfn, pages);
    }

    /**
     * {@code free_iova_fast()} for a caller that has already checked the free against its own record of the mapping
     * ({@link IommuDma}: the page table's head PTE); the live table is not touched.
     *
     * @param pfn   the first pfn of a range from {@link #allocDmaIovaUnchecked}.
     * @param pages the page count it was allocated with.
     */
    void freeIovaFastUnchecked(final long pfn, final long pages)
    {
        freeFast(pfn, pages);
    }

    private void freeFast(final long pfn, final long pages)
    {
        if (!rcacheInsert(pfn, pages))
        {
            treeFree(pfn);
        }
    }

    /**
     * {@code iommu_dma_alloc_iova()}'s allocation policy: a PCI device first tries the 32-bit space, without
     * flushing the caches; the first time that fails, the device is switched to the full limit for good (6.4+:
     * "Using N-bit DMA addresses"), which is then tried with flushing.
     *
     * @param pages       size in pages, {@code >= 1}.
     * @param dmaLimitPfn the last pfn the device can address ({@code dma_limit >> shift}).
     * @return the first pfn, or 0.
     */
    public long allocDmaIova(final long pages, final long dmaLimitPfn)
    {
        checkArgs(pages, dmaLimitPfn);
        final long pfn = allocDma(pages, dmaLimitPfn);
        if (pfn != 0)
        {
            recordLive(pfn, pages, LIVE_FAST);
        }
        return pfn;
    }

    /**
     * {@link #allocDmaIova} without the live table, for a caller that checks its frees itself and frees with
     * {@link #freeIovaFastUnchecked}.
     *
     * @param pages       size in pages, {@code >= 1}.
     * @param dmaLimitPfn the last pfn the device can address, {@code START_PFN..MAX_LIMIT_PFN}.
     * @return the first pfn, or 0.
     */
    long allocDmaIovaUnchecked(final long pages, final long dmaLimitPfn)
    {
        return allocDma(pages, dmaLimitPfn);
    }

    private long allocDma(final long pages, final long dmaLimitPfn)
    {
        if (dmaLimitPfn > DMA_32BIT_LIMIT_PFN && loPci32BitWorkaround())
        {
            final long pfn = allocFast(pages, DMA_32BIT_LIMIT_PFN, false);
            if (pfn != 0)
            {
                return pfn;
            }
            soPci32BitWorkaround(false);
        }
        return allocFast(pages, dmaLimitPfn, true);
    }

    /** @return true while {@link #allocDmaIova} still tries the 32-bit space first. */
    public boolean pci32BitWorkaround()
    {
        return loPci32BitWorkaround();
    }

    /**
     * {@code free_cpu_cached_iovas()} for every slot, then {@code free_global_cached_iovas()}: every cached range goes
     * back to the tree. Called by {@link #allocIovaFast} on failure; callable at any time.
     */
    public void flushRcaches()
    {
        if (rcaches == null)
        {
            return;
        }
        for (final IovaRcache rcache : rcaches)
        {
            for (final IovaRcache.CpuRcache cpu : rcache.cpu)
            {
                cpu.lock();
                try
                {
                    freePfns(cpu.loaded);
                    freePfns(cpu.prev);
                }
                finally
                {
                    cpu.unlock();
                }
            }
        }
        for (final IovaRcache rcache : rcaches)
        {
            rcache.lock.lock();
            try
            {
                while (rcache.depotSize > 0)
                {
                    final IovaMagazine mag = rcache.depot[--rcache.depotSize];
                    rcache.depot[rcache.depotSize] = null;
                    freePfns(mag);
                    rcache.spares[rcache.spareCount++] = mag;
                }
            }
            finally
            {
                rcache.lock.unlock();
            }
        }
        treeLock.lock();
        rcacheFlushes++;
        treeLock.unlock();
    }

    /** {@code iova_magazine_free_pfns()}: every pfn of the magazine back to the tree, under the tree lock. */
    private void freePfns(final IovaMagazine mag)
    {
        if (mag.isEmpty())
        {
            return;
        }
        treeLock.lock();
        try
        {
            for (int i = 0; i < mag.size; i++)
            {
                treeFreeLocked(mag.pfns[i]);
            }
        }
        finally
        {
            treeLock.unlock();
        }
        mag.size = 0;
    }

    /**
     * {@code iova_rcache_get()}/{@code __iova_rcache_get()}: loaded magazine, else swap in prev, else take a full
     * magazine from the depot (its empty loaded one becomes a spare).
     */
    private long rcacheGet(final long size, final long limitPfn)
    {
        final int log = orderBase2(size);
        if (rcaches == null || log >= IOVA_RANGE_CACHE_MAX_SIZE)
        {
            return 0;
        }
        final IovaRcache rcache = rcaches[log];
        final IovaRcache.CpuRcache cpu = rcache.cpu[slot()];
        cpu.lock();
        try
        {
            boolean hasPfn = false;
            if (!cpu.loaded.isEmpty())
            {
                hasPfn = true;
            }
            else if (!cpu.prev.isEmpty())
            {
                cpu.swap();
                hasPfn = true;
            }
            else
            {
                rcache.lock.lock();
                if (rcache.depotSize > 0)
                {
                    rcache.spares[rcache.spareCount++] = cpu.loaded;
                    cpu.loaded = rcache.depot[--rcache.depotSize];
                    rcache.depot[rcache.depotSize] = null;
                    hasPfn = true;
                }
                rcache.lock.unlock();
            }
            if (hasPfn)
            {
                final long pfn = cpu.loaded.pop(limitPfn - size);
                if (pfn != 0)
                {
                    cpu.hits++;
                }
                return pfn;
            }
            return 0;
        }
        finally
        {
            cpu.unlock();
        }
    }

    /**
     * {@code iova_rcache_insert()}/{@code __iova_rcache_insert()}: loaded magazine, else swap in prev, else push the
     * full loaded magazine to the depot and start an empty one. When the depot is full the kernel frees the full
     * magazine's ranges to the tree (after taking a new magazine); here that magazine is emptied into the tree and
     * reused, under the slot lock. Never fails for a cacheable size.
     *
     * @return false if the size is not cacheable (the caller frees it to the tree).
     */
    private boolean rcacheInsert(final long pfn, final long pages)
    {
        final int log = orderBase2(pages);
        if (rcaches == null || log >= IOVA_RANGE_CACHE_MAX_SIZE)
        {
            return false;
        }
        final IovaRcache rcache = rcaches[log];
        final IovaRcache.CpuRcache cpu = rcache.cpu[slot()];
        cpu.lock();
        try
        {
            insertLocked(rcache, cpu, pfn);
            return true;
        }
        finally
        {
            cpu.unlock();
        }
    }

    /** {@code __iova_rcache_insert()}'s body: the caller holds the slot's lock. */
    private void insertLocked(final IovaRcache rcache, final IovaRcache.CpuRcache cpu, final long pfn)
    {
        if (cpu.loaded.isFull())
        {
            if (!cpu.prev.isFull())
            {
                cpu.swap();
            }
            else
            {
                IovaMagazine toFree = null;
                rcache.lock.lock();
                if (rcache.depotSize < MAX_GLOBAL_MAGS)
                {
                    rcache.depot[rcache.depotSize++] = cpu.loaded;
                    cpu.loaded = rcache.spares[--rcache.spareCount];
                    rcache.spares[rcache.spareCount] = null;
                }
                else
                {
                    toFree = cpu.loaded;
                }
                rcache.lock.unlock();
                if (toFree != null)
                {
                    freePfns(toFree);
                }
            }
        }
        cpu.loaded.push(pfn);
        cpu.inserts++;
    }

    /**
     * {@link #freeIovaFastUnchecked} for {@code count} ranges of a ring ({@code fq_ring_free()}'s loop), in order,
     * from index {@code from} (indices wrap with {@code mask}). The kernel takes the slot lock once per range; here a
     * run of ranges of the same size class is inserted under one hold of it. The magazines end up exactly as with
     * one call per range; only the lock traffic is less (one CAS per run instead of one per range: a flush queue
     * frees up to 255 at once, usually all of one size).
     *
     * @param pfns  first pfns, from {@link #allocDmaIovaUnchecked}.
     * @param pages their page counts as allocated.
     * @param from  index of the first range.
     * @param count ranges to free.
     * @param mask  ring index mask (array length - 1).
     */
    void freeIovaFastUnchecked(final long[] pfns, final long[] pages, final int from, final int count, final int mask)
    {
        final int slot = slot();
        IovaRcache.CpuRcache held = null;
        int heldLog = -1;
        try
        {
            for (int k = 0, i = from; k < count; k++, i = (i + 1) & mask)
            {
                final long pfn = pfns[i];
                final int log = orderBase2(pages[i]);
                if (rcaches == null || log >= IOVA_RANGE_CACHE_MAX_SIZE)
                {
                    // Not cacheable: to the tree (slot lock -> tree lock is the kernel's order, so it may be held).
                    treeFree(pfn);
                    continue;
                }
                if (log != heldLog)
                {
                    if (held != null)
                    {
                        held.unlock();
                    }
                    held = null;
                    final IovaRcache.CpuRcache cpu = rcaches[log].cpu[slot];
                    cpu.lock();
                    held = cpu;
                    heldLog = log;
                }
                insertLocked(rcaches[log], held, pfn);
            }
        }
        finally
        {
            if (held != null)
            {
                held.unlock();
            }
        }
    }

    static long roundUpPowerOfTwo(final long n)
    {
        return n <= 1 ? 1 : Long.highestOneBit(n - 1) << 1;
    }

    // ------------------------------------------------------------------------------------------------------------
    // The live table (vqdma's misuse checks)
    // ------------------------------------------------------------------------------------------------------------

    private LiveStripe stripe(final long pfn)
    {
        return live[(int)((pfn * 0x9E3779B97F4A7C15L) >>> 58)];
    }

    private void recordLive(final long pfn, final long pages, final long fast)
    {
        final LiveStripe s = stripe(pfn);
        s.lock.lock();
        final long old = s.map.get(pfn);
        if (old == 0)
        {
            s.map.put(pfn, pages << 1 | fast);
        }
        s.lock.unlock();
        if (old != 0)
        {
            throw new IllegalStateException(String.format(
                "IOVA pfn 0x%x handed out while live (%d pages): allocator bug", pfn, old >>> 1));
        }
    }

    private void releaseLive(final long pfn, final long pages, final boolean fast)
    {
        final LiveStripe s = stripe(pfn);
        s.lock.lock();
        final long v = s.map.get(pfn);
        final boolean ok = v != 0 && v >>> 1 == pages && (!fast || (v & LIVE_FAST) != 0);
        if (ok)
        {
            s.map.remove(pfn);
        }
        s.lock.unlock();
        if (!ok)
        {
            if (v == 0)
            {
                throw new IllegalStateException(String.format(
                    "free of IOVA pfn 0x%x (%d pages): not allocated, or already freed", pfn, pages));
            }
            if (v >>> 1 != pages)
            {
                throw new IllegalStateException(String.format(
                    "free of IOVA pfn 0x%x with %d pages: it was allocated with %d pages", pfn, pages, v >>> 1));
            }
            throw new IllegalStateException(String.format(
                "free_iova_fast of IOVA pfn 0x%x (%d pages): it came from alloc_iova, not alloc_iova_fast; " +
                "caching it would hand out a range it does not own", pfn, pages));
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statistics
    // ------------------------------------------------------------------------------------------------------------

    /**
     * @return allocations currently handed out (not freed by the caller), cached ranges excluded, through either the
     * checked or the unchecked path: range-cache hits plus tree allocations minus range-cache inserts and frees to the
     * tree.
     */
    public long liveIovas()
    {
        long n = treeAllocations - treeFrees;
        if (rcaches != null)
        {
            for (final IovaRcache rcache : rcaches)
            {
                for (final IovaRcache.CpuRcache cpu : rcache.cpu)
                {
                    n += cpu.hits - cpu.inserts;
                }
            }
        }
        return n;
    }

    /** @return ranges in the tree: live ones plus those held by the caches. */
    public int treeRanges()
    {
        treeLock.lock();
        try
        {
            return tree.count();
        }
        finally
        {
            treeLock.unlock();
        }
    }

    /** @return ranges held by the caches (all slots' magazines and the depots). */
    public long cachedIovas()
    {
        if (rcaches == null)
        {
            return 0;
        }
        long n = 0;
        for (final IovaRcache rcache : rcaches)
        {
            for (final IovaRcache.CpuRcache cpu : rcache.cpu)
            {
                cpu.lock();
                n += cpu.loaded.size + cpu.prev.size;
                cpu.unlock();
            }
            rcache.lock.lock();
            for (int i = 0; i < rcache.depotSize; i++)
            {
                n += rcache.depot[i].size;
            }
            rcache.lock.unlock();
        }
        return n;
    }

    /** @return allocations served by the range caches. */
    public long rcacheHits()
    {
        if (rcaches == null)
        {
            return 0;
        }
        long n = 0;
        for (final IovaRcache rcache : rcaches)
        {
            for (final IovaRcache.CpuRcache cpu : rcache.cpu)
            {
                n += cpu.hits;
            }
        }
        return n;
    }

    /** @return successful tree searches (range-cache misses and {@link #allocIova} calls). */
    public long treeAllocations()
    {
        return treeAllocations;
    }

    /** @return tree searches that found no room (each flush-and-retry counts its first failure too). */
    public long treeFailures()
    {
        return treeFailures;
    }

    /** @return times every cache was flushed back to the tree. */
    public long rcacheFlushes()
    {
        return rcacheFlushes;
    }

    /**
     * Test hook.
     *
     * @param bin  order 0..5.
     * @param slot CPU slot.
     * @return {@code {loaded size, prev size, depot magazines}} of that bin and slot.
     */
    int[] rcacheState(final int bin, final int slot)
    {
        final IovaRcache rcache = rcaches[bin];
        final IovaRcache.CpuRcache cpu = rcache.cpu[slot];
        cpu.lock();
        rcache.lock.lock();
        try
        {
            return new int[]{cpu.loaded.size, cpu.prev.size, rcache.depotSize};
        }
        finally
        {
            rcache.lock.unlock();
            cpu.unlock();
        }
    }

    /**
     * Test hook: the tree's ranges as {@code {lo, hi}} pairs in ascending order.
     *
     * @return a new array.
     */
    long[] treeSnapshot()
    {
        treeLock.lock();
        try
        {
            final long[] out = new long[tree.count() * 2];
            for (int i = 0; i < tree.count(); i++)
            {
                out[2 * i] = tree.lo(i);
                out[2 * i + 1] = tree.hi(i);
            }
            return out;
        }
        finally
        {
            treeLock.unlock();
        }
    }
}
