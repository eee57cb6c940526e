package vqdma.dma;

/**
 * {@code struct iova_rcache}: the range cache of one size class (one power-of-two number of pages): a
 * {@code loaded} and a {@code prev} magazine per CPU slot, and a depot of up to
 * {@link IovaDomain#MAX_GLOBAL_MAGS} full magazines shared by all slots.
 * <p>
 * The kernel allocates a new magazine when it pushes a full one to the depot and frees the empty one it replaces
 * when it pops one. Here the depot keeps those empty magazines as {@code spares}: depot + spares always hold
 * {@code MAX_GLOBAL_MAGS} magazines, so nothing is allocated after construction.
 */
final class IovaRcache
{
    /** The depot lock ({@code rcache->lock}). */
    final SpinLock lock = new SpinLock();
    final IovaMagazine[] depot = new IovaMagazine[IovaDomain.MAX_GLOBAL_MAGS];
    int depotSize;
    final IovaMagazine[] spares = new IovaMagazine[IovaDomain.MAX_GLOBAL_MAGS];
    int spareCount;
    final CpuRcache[] cpu;

    IovaRcache(final int slots)
    {
        for (int i = 0; i < spares.length; i++)
        {
            spares[i] = new IovaMagazine();
        }
        spareCount = spares.length;
        cpu = new CpuRcache[slots];
        for (int i = 0; i < slots; i++)
        {
            cpu[i] = new CpuRcache();
        }
    }

    /**
     * Back to the state of a new cache ({@link IovaDomain#reset()}): every magazine empty, the depot's back among the
     * spares, the slots' counters zero. Magazines keep their objects and their stale pfns (a magazine reads only its
     * first {@code size} entries). Not for concurrent use.
     */
    void reset()
    {
        while (depotSize > 0)
        {
            spares[spareCount++] = depot[--depotSize];
            depot[depotSize] = null;
        }
        for (int i = 0; i < spareCount; i++)
        {
            spares[i].size = 0;
        }
        for (final CpuRcache slot : cpu)
        {
            slot.loaded.size = 0;
            slot.prev.size = 0;
            slot.hits = 0;
            slot.inserts = 0;
        }
    }

    /**
     * {@code struct iova_cpu_rcache}: the slot's lock ({@code cpu_rcache->lock}) is this object itself, padded before
     * it by {@link SpinLock} and after the fields by {@link CpuRcache}, so that two slots never share a cache line
     * (the kernel aligns per-CPU data to a line).
     */
    abstract static class CpuRcacheFields extends SpinLock
    {
        IovaMagazine loaded = new IovaMagazine();
        IovaMagazine prev = new IovaMagazine();
        /** Allocations served by this slot's magazines, under the lock. */
        long hits;
        /** Frees put into this slot's magazines, under the lock. */
        long inserts;
    }

    /** One slot's magazines and lock, padded on both sides. */
    static final class CpuRcache extends CpuRcacheFields
    {
        long p11, p12, p13, p14, p15, p16, p17, p18;

        void swap()
        {
            final IovaMagazine t = loaded;
            loaded = prev;
            prev = t;
        }
    }
}
