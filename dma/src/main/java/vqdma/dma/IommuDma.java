package vqdma.dma;

import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * DMA through an IOMMU, as {@code drivers/iommu/dma-iommu.c} does it: every mapping gets an IOVA from an
 * {@link IovaDomain}, the IOVA pages are mapped to the buffer's guest pages in an {@link IommuPageTable} with the
 * permissions of the direction, and the device reaches memory only through those translations, cached in an
 * {@link Iotlb}.
 *
 * <h2>Map ({@code iommu_dma_map_page()} -> {@code __iommu_dma_map()})</h2>
 * The pages covering {@code [gpa & ~4095, gpa + len)} get an IOVA range ({@code iommu_dma_alloc_iova()}: sizes below
 * 32 pages rounded up to a power of two, the 32-bit space first for a PCI device, then the full 48-bit limit), are
 * mapped with {@code dma_info_to_prot()}'s permissions ({@link DmaDirection#TO_DEVICE} -> read only,
 * {@link DmaDirection#FROM_DEVICE} -> write only, {@link DmaDirection#BIDIRECTIONAL} -> both), and the bus address
 * is the IOVA plus the buffer's offset in its page. No IOVA or no page-table memory -> {@link #DMA_MAPPING_ERROR}.
 * There is no size limit: {@link #maxMappingSize()} is unlimited.
 *
 * <h2>Unmap ({@code __iommu_dma_unmap()}): strict or lazy</h2>
 * Both clear the PTEs first. <b>Strict</b> ({@code iommu.strict=1}) then invalidates the IOTLB for the range,
 * waits for the invalidation to complete (modelled: a busy-wait of {@code invalidationNanos}) and frees the IOVA
 * before returning: the device cannot reach the pages any more. <b>Lazy</b> ({@code iommu.strict=0}, the default of
 * most distributions) puts the IOVA in this CPU slot's flush queue ({@code queue_iova()}) and returns: the IOTLB may
 * still hold translations for the unmapped pages, so <em>the device can keep reaching them</em> until the next
 * flush. A flush ({@code fq_flush_iotlb()}) invalidates the whole IOTLB once (one modelled wait) and then the IOVAs
 * it covered are freed ({@code fq_ring_free()}). It happens when a queue is full (its 256th unmap: the ring holds
 * 255), when {@link #IOVA_FQ_TIMEOUT_NANOS} (10 ms) have passed since the flush timer was armed, and on
 * {@link #flush()}. <b>There is no timer thread</b>: the kernel's {@code fq_timer} is emulated by a deadline armed
 * by the first unmap after the timer fired (or after {@link #flush()}) and checked whenever an unmap reads the clock,
 * and in {@link #flush()}; an idle guest therefore keeps its stale window open until it unmaps again or calls
 * {@link #flush()}.
 *
 * <h2>Clock readings (the timer's granularity)</h2>
 * {@code queue_iova()} never reads a clock: {@code mod_timer()} counts in jiffies, a variable the tick updates. A
 * clock read costs 20-50 ns here, as much as the rest of an unmap, so a queue does not read it on every unmap either.
 * It reads it: at the first unmap into an empty queue (that entry is the oldest, so the widest stale time is measured
 * exactly), when the timer is off (to arm it), for every flush (its completion time), and otherwise on every
 * {@link #FQ_CLOCK_STRIDE}-th unmap (16) as long as its readings come less than {@link #FQ_CLOCK_SLOW_NANOS}
 * (156 us) apart, on every unmap when they come slower. So the timer is never early, and late by at most 15 unmaps of
 * one queue while unmaps are fast (under 156 us), by nothing while they are slow; the kernel's timer, in jiffies, is
 * up to 1-4 ms late (HZ 1000-250). A guest whose unmap rate drops abruptly from fast to sparse may see the timer up
 * to 15 of the sparse unmaps late. Entries queued between two readings carry the earlier one: their stale times are
 * overestimated by at most the time between two readings (16 unmaps), which {@link #meanStaleNanos()} inherits.
 *
 * <h2>The modelled invalidation cost</h2>
 * {@link #DEFAULT_INVALIDATION_NANOS} = 1000 ns per invalidation (range or all). The search tools available when
 * this was written found no citable measurement of VT-d or SMMU invalidation latency, so the figure is an estimate:
 * about 2,000 CPU cycles at 2-3 GHz for a queued invalidation plus its wait descriptor, the order of magnitude the
 * IOMMU literature reports for Linux strict mode (e.g. Malka, Amit, Ben-Yehuda and Tsafrir, "rIOMMU", ASPLOS 2015;
 * Peleg, Morrison, Serebrin and Tsafrir, "Utilizing the IOMMU Scalably", USENIX ATC 2015) as recalled, not checked
 * here. Treat it as a parameter: the benchmarks also run with 0.
 *
 * <h2>Stale window</h2>
 * In lazy mode vqdma measures what the flush queue leaves open: {@link #pendingPages()} and
 * {@link #pendingUnmaps()} (unmapped, not yet freed), the largest values seen at a flush ({@link #maxStalePages()},
 * {@link #maxStaleUnmaps()}), the longest time from an unmap to the IOTLB flush that covered it
 * ({@link #maxStaleNanos()}, {@link #meanStaleNanos()}), and {@link #staleTranslations()}: device accesses the IOTLB
 * translated although the PTE was already cleared. Counting those costs a table walk per IOTLB hit in lazy mode
 * (the hardware does not walk on a hit: this is instrumentation); {@link Builder#auditStaleHits(boolean)} turns it
 * off.
 *
 * <h2>Misuse</h2>
 * Unmapping an address that is not the start of a live mapping (never mapped, already unmapped, inside a mapping),
 * with a length that covers a different number of pages, or with another direction than it was mapped with, is an
 * {@link IllegalStateException} naming the values, thrown before anything changes. Lengths are compared in pages, as
 * the kernel's {@code WARN_ON(unmapped != size)}. The check is made once, against the page table
 * ({@link IommuPageTable#checkAndUnmap}: the head PTE that {@link IommuPageTable#map} marked, the pages after it, the
 * permissions), in the same pass that clears the PTEs; the domain's own misuse table is not consulted
 * ({@link IovaDomain} explains why it has an unchecked path for this class). A mapping that two threads unmap
 * <em>at the same time</em> is a race the check may miss (both can see the PTEs before either clears them), as the
 * kernel, which checks nothing, would miss it too; a double unmap made after the first one returned is caught until
 * the IOVA has been freed and mapped again (then it names a live mapping, whatever record is kept).
 *
 * <h2>What a map+unmap pair costs (range-cache hit)</h2>
 * The atomics are the kernel's: a lazy pair takes the slot's range-cache lock to allocate and the flush queue's lock
 * to queue (the kernel adds an {@code smp_mb()} before the latter; here the lock's CAS is that barrier); a strict
 * pair takes the range-cache lock twice (allocate, free) and pays one atomic for the invalidation (the hardware's
 * command-queue submission) plus the modelled wait. A lazy pair also pays, amortized over the 255 entries of a full
 * queue, one invalidate-all and one batch free into the range cache, and a clock reading every 16 unmaps. The page
 * table is walked through the last-leaf cache ({@link IommuPageTable}).
 *
 * <h2>Threads</h2>
 * Any number of threads may map, unmap and use the device view at once. Locks: the domain's (see
 * {@link IovaDomain}), one per flush queue ({@code fq->lock}), taken alone or before the domain's; the page table
 * installs tables by CAS; the IOTLB is lock-free. The flush counters are atomics, as the kernel's
 * {@code fq_flush_start_cnt}/{@code fq_flush_finish_cnt}.
 *
 * <h2>Not modelled</h2>
 * Bouncing sub-page mappings of untrusted devices through SWIOTLB ({@code iommu_dma_map_page()} with
 * {@code dev_use_swiotlb()}): it needs the SWIOTLB implementation, which lives on another branch. Freeing empty page
 * tables (the flush queue's freelist). Superpages. The single flush queue option of 6.8+.
 */
public final class IommuDma implements DmaOps
{
    /** Unmap behaviour ({@code iommu.strict}). */
    public enum Mode
    {
        /** Invalidate the IOTLB and free the IOVA before unmap returns. */
        STRICT,
        /** Defer invalidation and free to a flush queue. */
        LAZY
    }

    /** {@code IOVA_FQ_SIZE}: slots per flush queue (it holds one fewer). */
    public static final int IOVA_FQ_SIZE = 256;
    /** {@code IOVA_FQ_TIMEOUT}: 10 ms, in ns. */
    public static final long IOVA_FQ_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** Default modelled cost of one IOTLB invalidation, in ns (see the class comment for where it comes from). */
    public static final long DEFAULT_INVALIDATION_NANOS = 1000;
    /** Default width of the device's DMA mask: the IOMMU's 48-bit aperture limits it anyway. */
    public static final int DEFAULT_DMA_MASK_BITS = 64;
    /** Default tables in the page-table pool (4 MiB off-heap; maps up to about 2 GiB). */
    public static final int DEFAULT_MAX_TABLES = 1024;

    /**
     * A queue that reads the clock at least this often (see {@link #FQ_CLOCK_SLOW_NANOS}) reads it on every
     * {@code FQ_CLOCK_STRIDE}-th unmap only; the unmaps in between reuse the last reading.
     */
    public static final int FQ_CLOCK_STRIDE = 16;
    /**
     * When two clock readings of a queue are at least this far apart (1/64 of {@link #IOVA_FQ_TIMEOUT_NANOS}, about
     * 156 us), unmaps are slow enough that a reading each costs nothing noticeable: the queue then reads the clock on
     * every unmap, and the timer fires at the first unmap after its deadline.
     */
    public static final long FQ_CLOCK_SLOW_NANOS = TimeUnit.MILLISECONDS.toNanos(10) / 64;

    private static final long TIMER_OFF = Long.MIN_VALUE;
    /** "No clock reading": the deadline sentinel reused (no reading of a monotonic clock is that value in practice). */
    static final long NO_READING = Long.MIN_VALUE;
    private static final int FLUSH_HISTORY = 64;
    private static final VarHandle FLUSH_START;
    private static final VarHandle FLUSH_FINISH;
    private static final VarHandle TIMER_DEADLINE;
    private static final VarHandle MAX_STALE_PAGES;
    private static final VarHandle MAX_PENDING_UNMAPS;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            FLUSH_START = lookup.findVarHandle(IommuDma.class, "fqFlushStartCnt", long.class);
            FLUSH_FINISH = lookup.findVarHandle(IommuDma.class, "fqFlushFinishCnt", long.class);
            TIMER_DEADLINE = lookup.findVarHandle(IommuDma.class, "fqTimerDeadline", long.class);
            MAX_STALE_PAGES = lookup.findVarHandle(IommuDma.class, "maxStalePages", long.class);
            MAX_PENDING_UNMAPS = lookup.findVarHandle(IommuDma.class, "maxPendingUnmaps", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final GuestMemory memory;
    private final Mode mode;
    private final IovaDomain domain;
    private final IommuPageTable pageTable;
    private final Iotlb iotlb;
    private final View view;
    private final long invalidationNanos;
    private final long dmaLimitPfn;
    private final NanoClock clock;
    /** True if {@link #clock} is the default system clock: then {@link #nanoTime()} calls it statically. */
    private final boolean systemClock;
    private final IovaFlushQueue[] fqs;
    /** Per flush ordinal (mod 64): the ordinal and the time it completed, for the stale-time measurement. */
    private final long[] flushOrdinal = new long[FLUSH_HISTORY];
    private final long[] flushNanos = new long[FLUSH_HISTORY];
    private final AtomicLong mappingErrors = new AtomicLong();
    /** Mappings since the last injected extra one (InjectedSlowdown; test only). */
    private int sinceSlowdown;
    private final AtomicLong fullFlushes = new AtomicLong();
    private final AtomicLong timeoutFlushes = new AtomicLong();

    @SuppressWarnings("unused") private volatile long fqFlushStartCnt;
    @SuppressWarnings("unused") private volatile long fqFlushFinishCnt;
    @SuppressWarnings("unused") private volatile long fqTimerDeadline = TIMER_OFF;
    @SuppressWarnings("unused") private volatile long maxStalePages;
    @SuppressWarnings("unused") private volatile long maxPendingUnmaps;

    private IommuDma(final Builder b)
    {
        this.memory = b.memory;
        this.mode = b.mode;
        this.domain = new IovaDomain(b.cacheSlots, b.rcache, b.pciDevice);
        this.pageTable = new IommuPageTable(b.maxTables);
        this.iotlb = new Iotlb(b.iotlbSets, b.iotlbWays);
        this.invalidationNanos = b.invalidationNanos;
        final long mask = b.dmaMaskBits == 64 ? -1L : (1L << b.dmaMaskBits) - 1;
        // dma_limit = min(dev mask, aperture_end): the aperture is the page table's 48 bits.
        this.dmaLimitPfn = Math.min(mask >>> IovaDomain.IOVA_SHIFT, IommuPageTable.MAX_IOVA_PFN);
        this.clock = b.clock;
        this.systemClock = b.clock.getClass() == SystemNanoClock.class;
        if (mode == Mode.LAZY)
        {
            fqs = new IovaFlushQueue[b.cacheSlots];
            for (int i = 0; i < fqs.length; i++)
            {
                fqs[i] = new IovaFlushQueue();
            }
        }
        else
        {
            fqs = null;
        }
        java.util.Arrays.fill(flushOrdinal, -1);
        this.view = new View(this, b.auditStaleHits && mode == Mode.LAZY);
    }

    /**
     * @param memory guest memory to map.
     * @return a builder: strict mode, default invalidation cost, 64x4 IOTLB, one cache slot per CPU, range caches
     * on, a PCI device with a 64-bit mask.
     */
    public static Builder builder(final GuestMemory memory)
    {
        return new Builder(memory);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Accessors of the shared flush state
    // ------------------------------------------------------------------------------------------------------------

    /** Volatile load of {@code fq_flush_start_cnt}: the entry's counter, read after the PTE clears (full fence). */
    private long lvFlushStartCnt()
    {
        return (long)FLUSH_START.getVolatile(this);
    }

    /** Atomic increment of {@code fq_flush_start_cnt}, before the IOTLB flush. @return the flush's ordinal. */
    private long xaddFlushStartCnt()
    {
        return (long)FLUSH_START.getAndAdd(this, 1L);
    }

    /** Volatile load of {@code fq_flush_finish_cnt}: entries with a smaller counter are covered by a flush. */
    private long lvFlushFinishCnt()
    {
        return (long)FLUSH_FINISH.getVolatile(this);
    }

    /** Atomic increment of {@code fq_flush_finish_cnt}, after the IOTLB flush completed. */
    private void xaddFlushFinishCnt()
    {
        FLUSH_FINISH.getAndAdd(this, 1L);
    }

    /** Opaque load of the emulated timer's deadline ({@link #TIMER_OFF} when not armed): a cheap check per unmap. */
    private long loTimerDeadline()
    {
        return (long)TIMER_DEADLINE.getOpaque(this);
    }

    /** CAS of the deadline: exactly one thread arms the timer, exactly one fires it. */
    private boolean casTimerDeadline(final long expected, final long value)
    {
        return TIMER_DEADLINE.compareAndSet(this, expected, value);
    }

    /** Volatile store of the deadline ({@link #flush()} disarms the timer). */
    private void svTimerDeadline(final long value)
    {
        TIMER_DEADLINE.setVolatile(this, value);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Map
    // ------------------------------------------------------------------------------------------------------------

    /**
     * {@code dma_info_to_prot()}.
     *
     * @param dir a direction.
     * @return the page-table permissions the device gets.
     */
    public static long prot(final DmaDirection dir)
    {
        // Two field loads, no switch: an enum switch reads a synthetic ordinal map on every call.
        return (dir.deviceReads() ? IommuPageTable.PTE_READ : 0) | (dir.deviceWrites() ? IommuPageTable.PTE_WRITE : 0);
    }

    private static long pages(final long address, final long len)
    {
        return ((address & (IovaDomain.IOVA_GRANULE - 1)) + len + IovaDomain.IOVA_GRANULE - 1) >>> IovaDomain.IOVA_SHIFT;
    }

    /** {@inheritDoc} {@code iommu_dma_map_page()}: IOVA + PTEs; {@link #DMA_MAPPING_ERROR} if either runs out. */
    @Override
    public long map(final long gpa, final long len, final DmaDirection dir)
    {
        if (len <= 0 || !memory.contains(gpa, len))
        {
            throw new IllegalArgumentException("map of gpa=0x" + Long.toHexString(gpa) + " len=" + len +
                ": the buffer must be non-empty and inside guest memory of " + memory.size() + " bytes");
        }
        if (InjectedSlowdown.IOMMU_EVERY > 0 && ++sinceSlowdown >= InjectedSlowdown.IOMMU_EVERY)
        {
            // Test only (InjectedSlowdown): one more complete mapping of the same buffer, made and unmapped (the
            // nested call counts itself back to 0).
            sinceSlowdown = -1;
            final long extra = map(gpa, len, dir);
            if (!DmaOps.isMappingError(extra))
            {
                unmap(extra, len, dir);
            }
        }
        final long pages = pages(gpa, len);
        final long iovaPfn = domain.allocDmaIovaUnchecked(pages, dmaLimitPfn);
        if (iovaPfn == 0)
        {
            mappingErrors.incrementAndGet();
            return DMA_MAPPING_ERROR;
        }
        if (!pageTable.map(iovaPfn, gpa >>> IovaDomain.IOVA_SHIFT, pages, prot(dir)))
        {
            // __iommu_dma_map(): the IOVA was never visible to the device, so it is freed at once, in both modes.
            domain.freeIovaFastUnchecked(iovaPfn, pages);
            mappingErrors.incrementAndGet();
            return DMA_MAPPING_ERROR;
        }
        return (iovaPfn << IovaDomain.IOVA_SHIFT) | (gpa & (IovaDomain.IOVA_GRANULE - 1));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Unmap
    // ------------------------------------------------------------------------------------------------------------

    /** {@inheritDoc} {@code __iommu_dma_unmap()}: strict or lazy, see the class comment. */
    @Override
    public void unmap(final long dma, final long len, final DmaDirection dir)
    {
        if (len <= 0)
        {
            throw new IllegalArgumentException("unmap of dma=0x" + Long.toHexString(dma) + " len=" + len +
                ": len must be > 0");
        }
        final long iovaPfn = dma >>> IovaDomain.IOVA_SHIFT;
        final long pages = pages(dma, len);
        // The only misuse check of the path: the head PTE, the size and the permissions, before anything changes.
        final long bad = pageTable.checkAndUnmap(iovaPfn, pages, prot(dir));
        if (bad >= 0)
        {
            throw new IllegalStateException(misuse(dma, len, dir, iovaPfn, pages, bad));
        }
        if (mode == Mode.STRICT)
        {
            // iommu_iotlb_sync(): the device must not reach the pages once unmap returns.
            iotlb.invalidateRange(iovaPfn, pages);
            waitForInvalidation();
            domain.freeIovaFastUnchecked(iovaPfn, pages);
        }
        else
        {
            unmapLazy(iovaPfn, pages);
        }
    }

    private String misuse(
        final long dma, final long len, final DmaDirection dir, final long iovaPfn, final long pages, final long bad)
    {
        // Concatenated, not formatted (Swiotlb#misuse says why).
        final String what = "unmap of dma=0x" + Long.toHexString(dma) + " len=" + len + " " + dir + " (" + pages +
            " IOVA pages from pfn 0x" + Long.toHexString(iovaPfn) + ")";
        if (bad == pages)
        {
            return what + ": the mapping there continues past " + pages + " pages (wrong size)";
        }
        final long pte = pageTable.walk(iovaPfn + bad);
        if ((pte & IommuPageTable.PTE_PRESENT) == 0)
        {
            return bad == 0 ?
                what + ": not mapped (never mapped, or already unmapped)" :
                what + ": the mapping ends after " + bad + " pages (wrong size)";
        }
        if (bad > 0)
        {
            return what + ": page " + bad + " belongs to another mapping (wrong size)";
        }
        if ((pte & IommuPageTable.PTE_HEAD) == 0)
        {
            return what + ": the address is inside a mapping, not the start of one";
        }
        return what + ": it was mapped with " + permsName(pte) + " permission, not " + permsName(prot(dir)) +
            " (wrong direction)";
    }

    private static String permsName(final long pte)
    {
        final boolean r = (pte & IommuPageTable.PTE_READ) != 0;
        final boolean w = (pte & IommuPageTable.PTE_WRITE) != 0;
        return r && w ? "read-write" : r ? "read-only" : "write-only";
    }

    /** The modelled completion wait of an invalidation (real time, whatever clock the queue uses). */
    private void waitForInvalidation()
    {
        final long cost = invalidationNanos;
        if (cost > 0)
        {
            final long end = System.nanoTime() + cost;
            while (System.nanoTime() - end < 0)
            {
                Thread.onSpinWait();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Flush queue (lazy mode)
    // ------------------------------------------------------------------------------------------------------------

    /**
     * A reading of the flush queues' clock. The default clock is read with a static call, so that the call site stays
     * monomorphic whatever other clocks the process has built (tests use fake ones); {@link SystemNanoClock} is
     * {@link System#nanoTime()}.
     */
    private long nanoTime()
    {
        return systemClock ? System.nanoTime() : clock.nanoTime();
    }

    /**
     * The lazy half of {@code __iommu_dma_unmap()} ({@code iommu_dma_free_iova()} with a flush queue): takes a clock
     * reading if this queue needs one (see {@link #FQ_CLOCK_STRIDE}), fires the emulated timer if that reading is past
     * its deadline, then queues the IOVA.
     */
    private void unmapLazy(final long iovaPfn, final long pages)
    {
        final IovaFlushQueue fq = fqs[domain.slot()];
        long now = NO_READING;
        // Racy peeks (opaque loads): another thread of the same slot may change them, which only moves a reading by
        // an unmap. The queue is empty at the first unmap after a flush: that entry will be the oldest, read exactly.
        if (fq.loUntilClock() <= 0 || fq.loPendingUnmaps() == 0 || loTimerDeadline() == TIMER_OFF)
        {
            now = nanoTime();
            fqCheckTimer(now);
        }
        queueIova(fq, iovaPfn, pages, now);
    }

    /**
     * {@code queue_iova()}.
     *
     * @param now a clock reading taken just before, or {@link #NO_READING}: the entry then carries the queue's last
     *            reading (at most {@link #FQ_CLOCK_STRIDE} unmaps old).
     */
    private void queueIova(final IovaFlushQueue fq, final long iovaPfn, final long pages, final long now)
    {
        // queue_iova()'s smp_mb(): the PTE clears must be visible before this CPU reads the flush counters, or a flush
        // that another CPU starts now might complete without covering them while this entry is freed after it. The
        // lock's CAS is that barrier: it has volatile semantics (a locked instruction on x86, as smp_mb() is), so
        // neither the release stores that cleared the PTEs before it nor the volatile load of fq_flush_start_cnt
        // after it can cross it. The kernel pays for both an smp_mb() and the spin_lock's atomic; one is enough here.
        fq.lock();
        long stamp = now;
        try
        {
            if (stamp == NO_READING)
            {
                stamp = fq.clockNanos;
                fq.soUntilClock(fq.untilClock - 1);
            }
            else
            {
                fqClockReading(fq, stamp);
            }
            // First free what other CPUs' flushes already covered, so that the queue is less likely to be full.
            fqRingFree(fq, stamp);
            if (fq.isFull())
            {
                stamp = fqFlushFull(fq);
            }
            final int idx = fq.add();
            fq.pfn[idx] = iovaPfn;
            fq.pages[idx] = pages;
            fq.counter[idx] = lvFlushStartCnt();
            fq.stamp[idx] = stamp;
            fq.pendingPages += pages;
            fq.pendingUnmaps++;
            fq.soPending(fq.pendingPages, fq.pendingUnmaps);
        }
        finally
        {
            fq.unlock();
        }
        // Arm the timer if it is off (the kernel's atomic_read + atomic_xchg of fq_timer_on, then mod_timer()). The
        // deadline counts from a fresh reading: the one taken above when the timer was seen off, or a new one if a
        // flush() disarmed it since (rare).
        if (loTimerDeadline() == TIMER_OFF)
        {
            final long armedAt = now != NO_READING ? now : nanoTime();
            casTimerDeadline(TIMER_OFF, armedAt + IOVA_FQ_TIMEOUT_NANOS);
        }
    }

    /**
     * {@code queue_iova()}'s full-queue branch, out of line (once per {@code IOVA_FQ_SIZE - 1} unmaps): flush the
     * IOTLB, then free what it covered. Caller holds the queue's lock.
     *
     * @return the clock reading taken for the flush (a flush records when it completed).
     */
    private long fqFlushFull(final IovaFlushQueue fq)
    {
        final long now = nanoTime();
        fqClockReading(fq, now);
        fullFlushes.incrementAndGet();
        fqFlushIotlb(now);
        fqRingFree(fq, now);
        // Entries queued while another slot's flush was in flight carry that flush's ordinal; if it has not finished
        // yet, our own flush's completion does not cover them and the ring is still full. Adding now would overwrite
        // the oldest entry (and lose 256 IOVAs), so wait for the other flush: it is short and takes no flush-queue
        // lock before it finishes.
        while (fq.isFull())
        {
            Thread.onSpinWait();
            fqRingFree(fq, now);
        }
        return now;
    }

    /**
     * Records a clock reading on a queue and decides when the next one is due: after {@link #FQ_CLOCK_STRIDE}
     * unmaps if the readings come faster than {@link #FQ_CLOCK_SLOW_NANOS} apart, else at the next unmap. Caller
     * holds the queue's lock.
     */
    private static void fqClockReading(final IovaFlushQueue fq, final long now)
    {
        final long previous = fq.clockNanos;
        fq.clockNanos = now;
        final boolean fast = previous != NO_READING && now - previous < FQ_CLOCK_SLOW_NANOS;
        fq.soUntilClock(fast ? FQ_CLOCK_STRIDE - 1 : 0);
    }

    /**
     * {@code fq_ring_free()}: frees the entries a finished flush covered, in one batch (see
     * {@link IovaDomain#freeIovaFastUnchecked(long[], long[], int, int, int)}). Caller holds the queue's lock.
     */
    private void fqRingFree(final IovaFlushQueue fq, final long now)
    {
        final long finished = lvFlushFinishCnt();
        final int from = fq.head;
        final int tail = fq.tail;
        int idx = from;
        int count = 0;
        long pendingPages = fq.pendingPages;
        long pendingUnmaps = fq.pendingUnmaps;
        long maxStaleNanos = fq.maxStaleNanos;
        long staleNanosSum = fq.staleNanosSum;
        long lastCounter = -1;
        long flushedAt = now;
        while (idx != tail)
        {
            final long counter = fq.counter[idx];
            if (counter >= finished)
            {
                break;
            }
            if (counter != lastCounter)
            {
                // The first flush that started after this entry was queued has ordinal `counter` (runs of entries
                // share it); if its completion time has been overwritten (64 flushes later), now is an upper bound.
                final int h = (int)(counter & (FLUSH_HISTORY - 1));
                flushedAt = (long)LONGS.getAcquire(flushOrdinal, h) == counter ?
                    (long)LONGS.getOpaque(flushNanos, h) : now;
                lastCounter = counter;
            }
            final long stale = Math.max(0, flushedAt - fq.stamp[idx]);
            maxStaleNanos = Math.max(maxStaleNanos, stale);
            staleNanosSum += stale;
            pendingPages -= fq.pages[idx];
            pendingUnmaps--;
            idx = (idx + 1) & IovaFlushQueue.MASK;
            count++;
        }
        if (count != 0)
        {
            // The entries queued after the oldest freed one, before it was freed: all the others still queued.
            fq.maxStaleUnmaps = Math.max(fq.maxStaleUnmaps, fq.pendingUnmaps - 1);
            fq.maxStaleNanos = maxStaleNanos;
            fq.staleNanosSum = staleNanosSum;
            fq.freed += count;
            domain.freeIovaFastUnchecked(fq.pfn, fq.pages, from, count, IovaFlushQueue.MASK);
            fq.head = idx;
            fq.pendingPages = pendingPages;
            fq.pendingUnmaps = pendingUnmaps;
            fq.soPending(pendingPages, pendingUnmaps);
        }
    }

    /** {@code fq_flush_iotlb()}: one invalidate-all, bracketed by the flush counters. */
    private void fqFlushIotlb(final long now)
    {
        final long ordinal = xaddFlushStartCnt();
        // What this flush closes: sampled before the invalidation (a racy sum over the queues, for statistics).
        long pendingPages = 0;
        long pendingUnmaps = 0;
        for (final IovaFlushQueue fq : fqs)
        {
            pendingPages += fq.loPendingPages();
            pendingUnmaps += fq.loPendingUnmaps();
        }
        casMax(MAX_STALE_PAGES, pendingPages);
        casMax(MAX_PENDING_UNMAPS, pendingUnmaps);
        iotlb.invalidateAll();
        waitForInvalidation();
        final int h = (int)(ordinal & (FLUSH_HISTORY - 1));
        // The completion time is written before the ordinal that validates it (release), and both before the
        // finish count that lets other queues free what this flush covered.
        LONGS.setOpaque(flushNanos, h, now);
        LONGS.setRelease(flushOrdinal, h, ordinal);
        xaddFlushFinishCnt();
    }

    private void casMax(final VarHandle handle, final long value)
    {
        long current;
        while (value > (current = (long)handle.getVolatile(this)))
        {
            if (handle.compareAndSet(this, current, value))
            {
                return;
            }
        }
    }

    /** The emulated {@code fq_timer}: fires {@code fq_flush_timeout()} once its deadline has passed. */
    private void fqCheckTimer(final long now)
    {
        final long deadline = loTimerDeadline();
        if (deadline != TIMER_OFF && now - deadline >= 0 && casTimerDeadline(deadline, TIMER_OFF))
        {
            timeoutFlushes.incrementAndGet();
            fqFlushAll(now);
        }
    }

    /** {@code fq_flush_timeout()}: flush the IOTLB, then free every queue's covered entries. */
    private void fqFlushAll(final long now)
    {
        fqFlushIotlb(now);
        for (final IovaFlushQueue fq : fqs)
        {
            fq.lock();
            try
            {
                fqRingFree(fq, now);
            }
            finally
            {
                fq.unlock();
            }
        }
    }

    /**
     * Lazy mode: closes the stale window now, as the flush timer would ({@code fq_flush_timeout()}): disarms the
     * timer, invalidates the whole IOTLB once and frees every queued IOVA. Strict mode: nothing to do.
     */
    public void flush()
    {
        if (mode == Mode.LAZY)
        {
            final long now = nanoTime();
            svTimerDeadline(TIMER_OFF);
            fqFlushAll(now);
        }
    }

    /**
     * {@inheritDoc} The IOVA domain ({@link IovaDomain#reset()}), the page table ({@link IommuPageTable#reset()}), the
     * IOTLB ({@link Iotlb#reset()}), the flush queues (new ones), the flush counters, history and timer, and every
     * statistic. The clock is the caller's: a fake clock keeps its time.
     */
    @Override
    public void reset()
    {
        domain.reset();
        pageTable.reset();
        iotlb.reset();
        if (fqs != null)
        {
            for (int i = 0; i < fqs.length; i++)
            {
                fqs[i] = new IovaFlushQueue();
            }
        }
        Arrays.fill(flushOrdinal, -1);
        Arrays.fill(flushNanos, 0);
        FLUSH_START.setVolatile(this, 0L);
        FLUSH_FINISH.setVolatile(this, 0L);
        TIMER_DEADLINE.setVolatile(this, TIMER_OFF);
        MAX_STALE_PAGES.setVolatile(this, 0L);
        MAX_PENDING_UNMAPS.setVolatile(this, 0L);
        mappingErrors.set(0);
        fullFlushes.set(0);
        timeoutFlushes.set(0);
        view.reset();
    }

    // ------------------------------------------------------------------------------------------------------------
    // The rest of DmaOps
    // ------------------------------------------------------------------------------------------------------------

    /** {@inheritDoc} Nothing to do: the IOMMU is cache-coherent here. */
    @Override
    public void syncForCpu(final long dma, final long len, final DmaDirection dir)
    {
    }

    /** {@inheritDoc} Nothing to do: the IOMMU is cache-coherent here. */
    @Override
    public void syncForDevice(final long dma, final long len, final DmaDirection dir)
    {
    }

    /** {@inheritDoc} Unlimited: any contiguous IOVA range can be mapped (no SWIOTLB bounce modelled). */
    @Override
    public long maxMappingSize()
    {
        return Long.MAX_VALUE;
    }

    /** {@inheritDoc} Mapped {@link DmaDirection#BIDIRECTIONAL}. */
    @Override
    public long mapCoherent(final long gpa, final long len)
    {
        return map(gpa, len, DmaDirection.BIDIRECTIONAL);
    }

    @Override
    public void unmapCoherent(final long dma, final long len)
    {
        unmap(dma, len, DmaDirection.BIDIRECTIONAL);
    }

    @Override
    public DeviceView deviceView()
    {
        return view;
    }

    @Override
    public GuestMemory memory()
    {
        return memory;
    }

    /** {@inheritDoc} {@code iommu-strict} or {@code iommu-lazy}. */
    @Override
    public String name()
    {
        return mode == Mode.STRICT ? "iommu-strict" : "iommu-lazy";
    }

    /** @return strict or lazy. */
    public Mode mode()
    {
        return mode;
    }

    /** @return the IOVA allocator. */
    public IovaDomain domain()
    {
        return domain;
    }

    /** @return the page table. */
    public IommuPageTable pageTable()
    {
        return pageTable;
    }

    /** @return the IOTLB. */
    public Iotlb iotlb()
    {
        return iotlb;
    }

    /** @return the modelled cost of one invalidation in ns. */
    public long invalidationNanos()
    {
        return invalidationNanos;
    }

    /** @return maps that returned {@link #DMA_MAPPING_ERROR}. */
    public long mappingErrors()
    {
        return mappingErrors.get();
    }

    /** @return flushes because a queue was full. */
    public long fullFlushes()
    {
        return fullFlushes.get();
    }

    /** @return flushes by the emulated timer. */
    public long timeoutFlushes()
    {
        return timeoutFlushes.get();
    }

    /** @return flush-queue IOTLB flushes of any cause ({@code fq_flush_finish_cnt}). */
    public long queueFlushes()
    {
        return lvFlushFinishCnt();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Stale window (lazy mode; all zero in strict mode)
    // ------------------------------------------------------------------------------------------------------------

    /** @return pages unmapped but still queued (not yet freed; reachable through the IOTLB until flushed). */
    public long pendingPages()
    {
        long n = 0;
        if (fqs != null)
        {
            for (final IovaFlushQueue fq : fqs)
            {
                n += fq.loPendingPages();
            }
        }
        return n;
    }

    /** @return unmaps still queued. */
    public long pendingUnmaps()
    {
        long n = 0;
        if (fqs != null)
        {
            for (final IovaFlushQueue fq : fqs)
            {
                n += fq.loPendingUnmaps();
            }
        }
        return n;
    }

    /** @return the most unmapped pages pending at any flush: the widest stale window in pages. */
    public long maxStalePages()
    {
        return (long)MAX_STALE_PAGES.getVolatile(this);
    }

    /**
     * @return the most unmaps pending at any flush (all queues), or queued on one queue behind an entry before it
     * was freed, whichever is larger: the widest stale window in unmaps.
     */
    public long maxStaleUnmaps()
    {
        long n = (long)MAX_PENDING_UNMAPS.getVolatile(this);
        if (fqs != null)
        {
            for (final IovaFlushQueue fq : fqs)
            {
                fq.lock();
                n = Math.max(n, fq.maxStaleUnmaps);
                fq.unlock();
            }
        }
        return n;
    }

    /** @return the longest time in ns from an unmap to the IOTLB flush that covered it (freed entries only). */
    public long maxStaleNanos()
    {
        long n = 0;
        if (fqs != null)
        {
            for (final IovaFlushQueue fq : fqs)
            {
                fq.lock();
                n = Math.max(n, fq.maxStaleNanos);
                fq.unlock();
            }
        }
        return n;
    }

    /** @return the mean time in ns from an unmap to its IOTLB flush (freed entries only), 0 if none. */
    public long meanStaleNanos()
    {
        long sum = 0;
        long count = 0;
        if (fqs != null)
        {
            for (final IovaFlushQueue fq : fqs)
            {
                fq.lock();
                sum += fq.staleNanosSum;
                count += fq.freed;
                fq.unlock();
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    /** @return device accesses translated by an IOTLB entry whose PTE was already cleared. */
    public long staleTranslations()
    {
        return view.staleTranslations.get();
    }

    /** @return device translations that went through the table walk (IOTLB misses that found a PTE or faulted). */
    public long tableWalks()
    {
        return view.walks.get();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Device side
    // ------------------------------------------------------------------------------------------------------------

    /**
     * The device's side of the IOMMU: IOTLB lookup, table walk on a miss (then fill), permission check. A missing
     * translation is {@link DmaFault.Reason#NO_TRANSLATION NO_TRANSLATION}, a missing permission
     * {@link DmaFault.Reason#PERMISSION PERMISSION}; a private page of a confidential guest is still
     * {@link DmaFault.Reason#PRIVATE_MEMORY PRIVATE_MEMORY}. Runs end at the next 4 KiB page boundary.
     */
    static final class View extends DeviceView
    {
        private final IommuDma dma;
        private final IommuPageTable pageTable;
        private final Iotlb iotlb;
        private final boolean audit;
        final AtomicLong staleTranslations = new AtomicLong();
        final AtomicLong walks = new AtomicLong();

        View(final IommuDma dma, final boolean audit)
        {
            super(dma.memory);
            this.dma = dma;
            this.pageTable = dma.pageTable;
            this.iotlb = dma.iotlb;
            this.audit = audit;
        }

        /** Faults, stale translations and walks back to zero. */
        void reset()
        {
            resetFaults();
            staleTranslations.set(0);
            walks.set(0);
        }

        @Override
        protected long translateRun(final long bus, final long len, final int access)
        {
            final boolean write = (access & WRITE) != 0;
            if (bus < 0 || (bus >>> IovaDomain.IOVA_SHIFT) > IommuPageTable.MAX_IOVA_PFN)
            {
                throw new DmaFault(bus, len, write, DmaFault.Reason.NO_TRANSLATION);
            }
            final long iovaPfn = bus >>> IovaDomain.IOVA_SHIFT;
            long entry = iotlb.lookup(iovaPfn);
            if (entry == 0)
            {
                final long generation = iotlb.generation();
                walks.incrementAndGet();
                final long pte = pageTable.walk(iovaPfn);
                if ((pte & IommuPageTable.PTE_PRESENT) == 0)
                {
                    throw new DmaFault(bus, len, write, DmaFault.Reason.NO_TRANSLATION);
                }
                final long gpaPfn = (pte & IommuPageTable.PTE_ADDR_MASK) >>> IovaDomain.IOVA_SHIFT;
                final int perms = permsOf(pte);
                iotlb.fill(iovaPfn, gpaPfn, perms, generation);
                entry = gpaPfn << 2 | perms; // same decoding as an IOTLB entry
            }
            else if (audit)
            {
                final long pte = pageTable.walk(iovaPfn);
                if ((pte & IommuPageTable.PTE_PRESENT) == 0 ||
                    (pte & IommuPageTable.PTE_ADDR_MASK) >>> IovaDomain.IOVA_SHIFT != Iotlb.gpaPfn(entry))
                {
                    staleTranslations.incrementAndGet();
                }
            }
            final int perms = Iotlb.perms(entry);
            if ((access & READ) != 0 && (perms & Iotlb.PERM_READ) == 0 ||
                write && (perms & Iotlb.PERM_WRITE) == 0)
            {
                throw new DmaFault(bus, len, write, DmaFault.Reason.PERMISSION);
            }
            final long gpa = Iotlb.gpaPfn(entry) << IovaDomain.IOVA_SHIFT | (bus & (IovaDomain.IOVA_GRANULE - 1));
            final long run = runLength(bus, len);
            if (!memory.contains(gpa, run))
            {
                throw new DmaFault(bus, len, write, DmaFault.Reason.OUT_OF_RANGE);
            }
            if (!memory.hostAccessible(gpa, run))
            {
                throw new DmaFault(bus, len, write, DmaFault.Reason.PRIVATE_MEMORY);
            }
            return gpa;
        }

        private static int permsOf(final long pte)
        {
            return ((pte & IommuPageTable.PTE_READ) != 0 ? Iotlb.PERM_READ : 0) |
                ((pte & IommuPageTable.PTE_WRITE) != 0 ? Iotlb.PERM_WRITE : 0);
        }

        @Override
        protected long runLength(final long bus, final long len)
        {
            return Math.min(len, IovaDomain.IOVA_GRANULE - (bus & (IovaDomain.IOVA_GRANULE - 1)));
        }

        @Override
        public String toString()
        {
            return "IommuDma.View[" + dma.name() + "]";
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Builder
    // ------------------------------------------------------------------------------------------------------------

    /** Configuration of an {@link IommuDma}. */
    public static final class Builder
    {
        private final GuestMemory memory;
        private Mode mode = Mode.STRICT;
        private long invalidationNanos = DEFAULT_INVALIDATION_NANOS;
        private int iotlbSets = 64;
        private int iotlbWays = 4;
        private int cacheSlots = IovaDomain.defaultSlots();
        private boolean rcache = true;
        private boolean pciDevice = true;
        private int dmaMaskBits = DEFAULT_DMA_MASK_BITS;
        private int maxTables = DEFAULT_MAX_TABLES;
        private NanoClock clock = new SystemNanoClock();
        private boolean auditStaleHits = true;

        private Builder(final GuestMemory memory)
        {
            if (memory.size() > (Iotlb.MAX_GPA_PFN + 1) << IovaDomain.IOVA_SHIFT)
            {
                throw new IllegalArgumentException("guest memory of " + memory.size() + " bytes is too large");
            }
            this.memory = memory;
        }

        /** @param mode strict or lazy. @return this. */
        public Builder mode(final Mode mode)
        {
            this.mode = java.util.Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** @param nanos modelled busy-wait per IOTLB invalidation, {@code >= 0}. @return this. */
        public Builder invalidationNanos(final long nanos)
        {
            if (nanos < 0)
            {
                throw new IllegalArgumentException("invalidationNanos=" + nanos + ": must be >= 0");
            }
            this.invalidationNanos = nanos;
            return this;
        }

        /** @param sets IOTLB sets (power of two). @param ways IOTLB ways. @return this. */
        public Builder iotlb(final int sets, final int ways)
        {
            new Iotlb(sets, ways); // validates
            this.iotlbSets = sets;
            this.iotlbWays = ways;
            return this;
        }

        /** @param slots CPU slots for the range caches and flush queues (power of two). @return this. */
        public Builder cacheSlots(final int slots)
        {
            if (slots < 1 || slots > 1024 || Integer.bitCount(slots) != 1)
            {
                throw new IllegalArgumentException("cacheSlots=" + slots + ": must be a power of two, 1..1024");
            }
            this.cacheSlots = slots;
            return this;
        }

        /** @param enabled false to disable the IOVA range caches. @return this. */
        public Builder rcache(final boolean enabled)
        {
            this.rcache = enabled;
            return this;
        }

        /** @param pci true (default) to try 32-bit IOVAs first, as for a PCI device. @return this. */
        public Builder pciDevice(final boolean pci)
        {
            this.pciDevice = pci;
            return this;
        }

        /** @param bits the device's DMA mask width, 32..64. @return this. */
        public Builder dmaMaskBits(final int bits)
        {
            if (bits < 32 || bits > 64)
            {
                throw new IllegalArgumentException("dmaMaskBits=" + bits + ": must be 32..64");
            }
            this.dmaMaskBits = bits;
            return this;
        }

        /** @param tables capacity of the page-table pool. @return this. */
        public Builder maxTables(final int tables)
        {
            if (tables < IommuPageTable.LEVELS || tables > 65536)
            {
                throw new IllegalArgumentException("maxTables=" + tables + ": must be 4..65536");
            }
            this.maxTables = tables;
            return this;
        }

        /** @param clock the clock of the flush queue's timestamps and timer (tests use a fake one). @return this. */
        public Builder clock(final NanoClock clock)
        {
            this.clock = java.util.Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** @param audit count stale translations in lazy mode (a table walk per IOTLB hit). @return this. */
        public Builder auditStaleHits(final boolean audit)
        {
            this.auditStaleHits = audit;
            return this;
        }

        /** @return the DMA ops. */
        public IommuDma build()
        {
            return new IommuDma(this);
        }
    }
}
