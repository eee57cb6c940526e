package vqdma.dma;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import static vqdma.dma.SwiotlbSlotDescriptor.*;

/**
 * The software IO TLB, {@code struct io_tlb_mem} with its default pool ({@code kernel/dma/swiotlb.c}, Linux 6.12,
 * without {@code CONFIG_SWIOTLB_DYNAMIC}, with {@code CONFIG_DEBUG_FS}'s used/high-water counters): a pool of bounce
 * slots in <em>shared</em> guest memory, so that the device of a confidential guest can reach them, and the allocator
 * that hands out runs of contiguous slots. {@code dma/src/test/c/swiotlb_port.c} is the same kernel code in C, the
 * yardstick this class is tested against call by call and timed against ({@code scripts/swiotlb-compare}).
 *
 * <h2>Slots, segments, areas</h2>
 * The pool is {@link #nslabs()} slots of {@link #IO_TLB_SIZE} (2 KiB). A mapping takes contiguous slots that never
 * cross a segment of {@link #IO_TLB_SEGSIZE} (128) slots: that is why one mapping can never exceed 256 KiB, the limit
 * behind the 2019 virtio-blk bug. The pool is split into {@link #nareas()} areas, each with its own lock, {@code used}
 * count and search {@code index} ({@link SwiotlbArea}); an area is a whole number of segments.
 * <p>
 * Each slot has a free-run counter, the kernel's {@code list[]}: the number of free slots from this one to the end of
 * its segment. A search takes the first suitably aligned slot whose counter is at least the number of slots needed;
 * allocation zeroes the counters of the run and renumbers the free slots in front of it back to the segment start;
 * release renumbers the run, merging with the free run behind it, and the free slots in front of it. The metadata
 * ({@code orig_addr}, {@code alloc_size}, {@code pad_slots}) lives in an off-heap buffer laid out by
 * {@link SwiotlbSlotDescriptor}.
 *
 * <h2>Allocators</h2>
 * That bookkeeping is {@link SwiotlbAllocator#KERNEL}. The 2022 RFC's two alternatives plug in instead of it
 * ({@link #Swiotlb(GuestMemory, long, int, SwiotlbAllocator)}): {@link SwiotlbAllocator#BITMAP} (a bit per slot, the
 * kernel's search order, the same slot for every call) and {@link SwiotlbAllocator#HOT} (the bitmap plus a LIFO list
 * of free slots per area, so that the slots freed last are reused first). Everything else (areas, locks, alignment
 * rules, the segment limit, metadata, bounce, checks, statistics) is shared.
 *
 * <h2>Which area: threads stand in for CPUs</h2>
 * The kernel starts in the area of the current CPU ({@code raw_smp_processor_id() & (nareas - 1)}) and tries the
 * others in turn. Java has no CPU id, so a mapping starts in the area of the current thread:
 * {@code Thread.getId() & (nareas - 1)}. The index is stable for the thread's life (a kernel task may migrate; a
 * thread keeps its area), and consecutive thread ids fall in different areas. Any thread may unmap: release always
 * goes to the area that owns the slots, as in the kernel.
 *
 * <h2>Errors</h2>
 * A mapping that cannot be made returns {@link DmaOps#DMA_MAPPING_ERROR} and is counted as <em>oversize</em> (its
 * padded size exceeds one segment, so it can never fit: {@link #oversizeFailures()}) or <em>full</em> (the search
 * found no free run: {@link #fullFailures()}, as the kernel sees every failed search). The size is not compared with
 * {@link #maxMappingSize(int)}: as in the kernel, a mapping above it is made whenever its padded size fits one segment
 * at a slot that keeps the original's {@code min_align_mask} bits, which depends on the original address. The kernel logs both as {@code "swiotlb buffer is full (sz: N bytes), total T (slots),
 * used U (slots)"} (an oversize request just fails the search), rate-limited like {@code dev_warn_ratelimited()};
 * vqdma keeps that text as {@link #lastFailure()} under the same rate limit and counts the causes apart. Misuse
 * (unmapping what is not mapped, twice, with another size or direction) is an {@link IllegalStateException} naming
 * the address, size and direction, detected before anything changes; the checks are those of
 * {@code CONFIG_DMA_API_DEBUG} ({@code check_unmap()}, {@code check_sync()}), which the kernel does not do by default.
 *
 * <h2>Departures from the kernel</h2>
 * <ul>
 *   <li>No segment boundary mask: vqdma devices have {@code dma_get_seg_boundary() == ULONG_MAX}, so
 *   {@code iommu_is_span_boundary()} is always false and is left out.</li>
 *   <li>The kernel skips the {@code min_align_mask} slot test when {@code orig_addr == 0} (it means "no original" for
 *   {@code swiotlb_alloc()}); GPA 0 is an ordinary buffer address in vqdma, so the test is always made.</li>
 *   <li>A request whose padded size exceeds one segment fails at once as oversize rather than after scanning every
 *   area (what {@code CONFIG_SWIOTLB_DYNAMIC}'s {@code swiotlb_find_slots()} does too).</li>
 *   <li>No dynamic or transient pools, no restricted-DMA pools, no highmem.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * Safe for concurrent map, unmap and sync from any threads. Slot runs, {@code list}, {@code alloc_size} and the area
 * fields change under the area lock; {@code orig_addr} and the head fields are written by the mapping thread before a
 * release store of the head's state, which an unmapping thread reads with acquire (or claims by CAS), so a mapping
 * handed to another thread by any means is seen complete.
 */
public final class Swiotlb
{
    /** {@code IO_TLB_SHIFT}: slots are {@code 1 << 11} bytes. */
    public static final int IO_TLB_SHIFT = 11;
    /** {@code IO_TLB_SIZE}: bytes per slot. */
    public static final int IO_TLB_SIZE = 1 << IO_TLB_SHIFT;
    /** {@code IO_TLB_SEGSIZE}: slots per segment; no mapping crosses a segment. */
    public static final int IO_TLB_SEGSIZE = 128;
    /** {@code IO_TLB_DEFAULT_SIZE}: 64 MiB. */
    public static final long IO_TLB_DEFAULT_SIZE = 64L << 20;
    /** {@code INVALID_PHYS_ADDR}: the {@code orig_addr} of a free slot. */
    static final long INVALID_PHYS_ADDR = -1L;

    private static final int PAGE_SIZE = GuestMemory.PAGE_SIZE;
    private static final DmaDirection[] DIRECTIONS = DmaDirection.values();

    private final GuestMemory memory;
    private final UnsafeBuffer mem;
    private final long start;
    private final long end;
    private final int nslabs;
    private final int nareas;
    private final int areaNslabs;
    private final SwiotlbAllocator allocator;
    /** Not final: {@link #reset()} replaces it with a new one of the same allocator, as the constructor built it. */
    private SwiotlbSlots freeSlots;
    private final UnsafeBuffer slots;
    private final long slotsAddress;
    private final SwiotlbArea[] areas;
    private final SwiotlbUsage usage = new SwiotlbUsage();
    private final LongAdder syncBytesToDevice = new LongAdder();
    private final LongAdder syncBytesFromDevice = new LongAdder();
    private final AtomicLong oversizeFailures = new AtomicLong();
    private final AtomicLong fullFailures = new AtomicLong();
    private final RateLimitState warnRateLimit =
        new RateLimitState(RateLimitState.DEFAULT_INTERVAL_NS, RateLimitState.DEFAULT_BURST);
    private volatile String lastFailure;

    /**
     * A pool of {@link #IO_TLB_DEFAULT_SIZE} with {@link #defaultNareas()} areas.
     *
     * @param memory guest memory; the pool is allocated from it as shared memory.
     */
    public Swiotlb(final GuestMemory memory)
    {
        this(memory, IO_TLB_DEFAULT_SIZE, defaultNareas());
    }

    /**
     * Allocates and initialises a pool ({@code swiotlb_init_remap()} + {@code swiotlb_init_io_tlb_pool()}), sized as
     * the kernel sizes {@code swiotlb=<slabs>,<nareas>}: the slot count is aligned to a segment, the area count is
     * rounded up to a power of two, then ({@code round_up_default_nslabs()}) the slot count is raised to one segment
     * per area or rounded up to a power of two, so that every area is a whole number of segments. The pool may
     * therefore be larger than asked; {@link #nslabs()} says what was made.
     *
     * @param memory    guest memory; the pool is allocated from it with {@link GuestMemory#allocateShared(long)}.
     * @param poolBytes requested pool size in bytes, {@code > 0}.
     * @param nareas    requested number of areas, {@code >= 0} (0 means 1, as the kernel treats it).
     */
    public Swiotlb(final GuestMemory memory, final long poolBytes, final int nareas)
    {
        this(memory, poolBytes, nareas, SwiotlbAllocator.KERNEL);
    }

    /**
     * A pool as {@link #Swiotlb(GuestMemory, long, int)} makes it, with another way of finding free slots.
     *
     * @param memory    guest memory; the pool is allocated from it with {@link GuestMemory#allocateShared(long)}.
     * @param poolBytes requested pool size in bytes, {@code > 0}.
     * @param nareas    requested number of areas, {@code >= 0} (0 means 1, as the kernel treats it).
     * @param allocator the free-slot bookkeeping and search order: the kernel's or one of the 2022 RFC's.
     */
    public Swiotlb(final GuestMemory memory, final long poolBytes, final int nareas, final SwiotlbAllocator allocator)
    {
        if (allocator == null)
        {
            throw new IllegalArgumentException("swiotlb allocator must not be null");
        }
        if (poolBytes <= 0 || nareas < 0 || nareas > (1 << 16))
        {
            throw new IllegalArgumentException("swiotlb poolBytes=" + poolBytes + " nareas=" + nareas +
                ": the pool must be > 0 bytes and the areas 0..65536");
        }
        final int areaCount = nareas == 0 ? 1 : roundUpPowerOfTwo(nareas);
        long slabs = alignUp(poolBytes >>> IO_TLB_SHIFT, IO_TLB_SEGSIZE);
        if (slabs < (long)IO_TLB_SEGSIZE * areaCount)
        {
            slabs = (long)IO_TLB_SEGSIZE * areaCount;
        }
        else if (Long.bitCount(slabs) != 1)
        {
            slabs = Long.highestOneBit(slabs) << 1;
        }
        final long bytes = slabs << IO_TLB_SHIFT;
        if (bytes > memory.size())
        {
            throw new IllegalArgumentException("swiotlb poolBytes=" + poolBytes + " nareas=" + nareas +
                ": the pool, rounded as the kernel rounds it to " + bytes + " bytes, does not fit guest memory of " +
                memory.size() + " bytes");
        }
        this.memory = memory;
        this.mem = memory.buffer();
        this.nslabs = (int)slabs;
        this.nareas = areaCount;
        this.areaNslabs = this.nslabs / areaCount;
        // set_memory_decrypted(): the device of a confidential guest must reach every slot.
        this.start = memory.allocateShared(bytes);
        this.end = start + bytes;
        this.allocator = allocator;
        this.freeSlots = SwiotlbSlots.create(allocator, nslabs, areaNslabs);
        this.slots = new UnsafeBuffer(ByteBuffer.allocateDirect(nslabs << SLOT_SHIFT));
        slots.verifyAlignment();
        this.slotsAddress = slots.addressOffset();
        initSlots();
        mem.setMemory((int)start, (int)bytes, (byte)0);
        this.areas = new SwiotlbArea[areaCount];
        for (int i = 0; i < areaCount; i++)
        {
            areas[i] = new SwiotlbArea();
        }
    }

    /** Every slot's metadata free, as {@code swiotlb_init_io_tlb_pool()} leaves it (free runs: {@code freeSlots}). */
    private void initSlots()
    {
        for (int i = 0; i < nslabs; i++)
        {
            spOrigAddr(i, INVALID_PHYS_ADDR);
            spAllocSize(i, 0);
            srState(i, SLOT_FREE);
        }
    }

    /**
     * Returns the pool to its state right after construction ({@link DmaOps#reset()}): every slot free and its
     * metadata cleared, a new free-slot state of the pool's allocator, every area's search index at 0, usage,
     * high-water mark, failure counts and statistics zero. The pool's bytes keep what the last mappings bounced (the
     * constructor zeroed them: guest memory is the caller's to restore). Not for concurrent use.
     */
    public void reset()
    {
        slots.setMemory(0, slots.capacity(), (byte)0);
        initSlots();
        freeSlots = SwiotlbSlots.create(allocator, nslabs, areaNslabs);
        for (int i = 0; i < areas.length; i++)
        {
            areas[i] = new SwiotlbArea();
        }
        usage.svZero();
        syncBytesToDevice.reset();
        syncBytesFromDevice.reset();
        oversizeFailures.set(0);
        fullFailures.set(0);
        warnRateLimit.reset();
        lastFailure = null;
    }

    /**
     * The kernel's default area count, {@code swiotlb_adjust_nareas(num_possible_cpus())}: the number of CPUs rounded
     * up to a power of two. Here: {@link Runtime#availableProcessors()}.
     *
     * @return the default number of areas.
     */
    public static int defaultNareas()
    {
        return roundUpPowerOfTwo(Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    /**
     * {@code swiotlb_max_mapping_size()}: one segment, less what {@code min_align_mask} may cost in front of the
     * buffer, because the search skips slots whose address bits do not match the original's.
     *
     * @param minAlignMask the device's {@code dma_get_min_align_mask()}, {@code >= 0}.
     * @return {@code IO_TLB_SIZE * IO_TLB_SEGSIZE - roundup(minAlignMask, IO_TLB_SIZE)}, or 256 KiB without a mask.
     */
    public static long maxMappingSize(final int minAlignMask)
    {
        final long minAlign = minAlignMask == 0 ? 0 : alignUp((long)minAlignMask, IO_TLB_SIZE);
        return (long)IO_TLB_SIZE * IO_TLB_SEGSIZE - minAlign;
    }

    // ------------------------------------------------------------------------------------------------ mapping

    /**
     * {@code swiotlb_tbl_map_single()}: allocates slots for {@code [origAddr, origAddr + mappingSize)} starting in the
     * current thread's area, records the original address per slot and copies the original into the slots.
     * <p>
     * The copy is made for <em>every</em> direction, {@code DMA_FROM_DEVICE} included: a device may write less than it
     * was given, and the slot must then hold the original's bytes rather than stale data of an earlier mapping, which
     * would leak to the device and be copied back over the original at unmap. This is the 2022 info-leak fix as it
     * stands since commit 901c7280ca0d ("Reinstate some of 'swiotlb: rework "fix info leak with
     * DMA_FROM_DEVICE"'"), which kept that part of aa6f8dcbab47 after the revert of its sync changes.
     *
     * @param origAddr       GPA of the buffer, inside guest memory.
     * @param mappingSize    bytes, {@code > 0}.
     * @param allocAlignMask required alignment of the allocation minus one ({@code 2^k - 1}, 0 for none), as
     *                       {@code iommu_dma_map_page()} passes its granule mask.
     * @param minAlignMask   the device's {@code min_align_mask}: these low bits of the bus address equal the
     *                       original's.
     * @param dir            the direction, recorded for the unmap check.
     * @return the bus (= guest-physical) address of the bounce buffer, or {@link DmaOps#DMA_MAPPING_ERROR}.
     */
    public long tblMapSingle(
        final long origAddr, final long mappingSize, final int allocAlignMask, final int minAlignMask,
        final DmaDirection dir)
    {
        return tblMapSingle(origAddr, mappingSize, allocAlignMask, minAlignMask, dir, currentArea());
    }

    /**
     * {@link #tblMapSingle(long, long, int, int, DmaDirection)} with the start area given: the kernel's
     * {@code raw_smp_processor_id() & (nareas - 1)}, the CPU a caller pretends to run on (tests, and replays of a
     * multi-CPU trace on one thread, which must be deterministic).
     *
     * @param startArea the area searched first, {@code 0 <= startArea < nareas()}.
     */
    public long tblMapSingle(
        final long origAddr, final long mappingSize, final int allocAlignMask, final int minAlignMask,
        final DmaDirection dir, final int startArea)
    {
        if (mappingSize <= 0 || !memory.contains(origAddr, mappingSize) || minAlignMask < 0 || allocAlignMask < 0 ||
            (allocAlignMask & (allocAlignMask + 1)) != 0 || startArea < 0 || startArea >= nareas)
        {
            throw new IllegalArgumentException("swiotlb map of orig=0x" + Long.toHexString(origAddr) + " len=" +
                mappingSize + " allocAlignMask=0x" + Integer.toHexString(allocAlignMask) + " minAlignMask=0x" +
                Integer.toHexString(minAlignMask) + " area=" + startArea + ": the buffer must be non-empty and " +
                "inside guest memory of " + memory.size() + " bytes, the masks 2^k-1 and >= 0, the area < " + nareas);
        }
        final int offset = alignOffset(minAlignMask, allocAlignMask, origAddr);
        final long size = alignUp(mappingSize + offset, allocAlignMask + 1L);
        // No test against maxMappingSize(minAlignMask): the kernel makes any mapping whose padded size fits one
        // segment at a slot that keeps the original's address bits (maxMappingSize is only the size every offset
        // fits). A padded size above a segment can never fit: failed at once, as swiotlb_find_slots() does with
        // CONFIG_SWIOTLB_DYNAMIC (without it the kernel scans every area to the same end).
        if (size > (long)IO_TLB_SEGSIZE * IO_TLB_SIZE)
        {
            return mappingFailed(oversizeFailures, size);
        }
        final int first = findSlots(origAddr, (int)size, allocAlignMask, minAlignMask, startArea, mappingSize);
        if (first < 0)
        {
            return mappingFailed(fullFailures, size);
        }

        // Save away the mapping from the original address to the bounce address, for bounce and release.
        final int padSlots = offset >>> IO_TLB_SHIFT;
        final int tlbOffset = offset & (IO_TLB_SIZE - 1);
        final int index = first + padSlots;
        final int slotCount = nrSlots(size);
        final long base = slotsAddress;
        for (int i = first; i < index; i++)
        {
            srStateRaw(base, i, SLOT_PAD);
        }
        spOrigAddrRaw(base, index, origAddr);
        for (int i = 1; i < slotCount - padSlots; i++)
        {
            spOrigAddrRaw(base, index + i, slotAddr(origAddr, i));
            srStateRaw(base, index + i, SLOT_BODY);
        }
        spPadSlots(index, padSlots);
        spDir(index, dir);
        spMappingSize(index, (int)mappingSize);
        spTlbOffset(index, tlbOffset);
        // Release: the head fields and orig_addr above are visible to any thread that reads this state with acquire
        // (laState) or claims it with casState, i.e. to an unmap or sync on another thread.
        srState(index, SLOT_HEAD);

        final long tlbAddr = slotAddr(start, index) + tlbOffset;
        bounce(tlbAddr, mappingSize, true, minAlignMask);
        return tlbAddr;
    }

    /**
     * {@code swiotlb_tbl_unmap_single()}: checks the call against the mapping, copies the slots back to the original
     * for {@code FROM_DEVICE} and {@code BIDIRECTIONAL}, and releases the slots.
     *
     * @param tlbAddr      the bus address {@link #tblMapSingle} returned.
     * @param mappingSize  the size that was mapped.
     * @param dir          the direction that was mapped.
     * @param minAlignMask the device's {@code min_align_mask}, as at map time.
     * @throws IllegalStateException if {@code tlbAddr} is not a live mapping's address, or size or direction differ;
     *                               nothing has changed then.
     */
    public void tblUnmapSingle(
        final long tlbAddr, final long mappingSize, final DmaDirection dir, final int minAlignMask)
    {
        checkUnmapAndClaim(tlbAddr, mappingSize, dir, minAlignMask);
        long bounced = 0;
        if (dir != DmaDirection.TO_DEVICE)
        {
            bounce(tlbAddr, mappingSize, false, minAlignMask);
            bounced = mappingSize;
        }
        releaseSlots(tlbAddr, minAlignMask, bounced);
    }

    /**
     * {@code __swiotlb_sync_single_for_cpu()}: copies slot -> original for {@code FROM_DEVICE} and
     * {@code BIDIRECTIONAL}; nothing for {@code TO_DEVICE}.
     *
     * @param tlbAddr      a bus address inside a live mapping.
     * @param size         bytes from {@code tlbAddr}, within the mapping.
     * @param dir          the direction that was mapped.
     * @param minAlignMask the device's {@code min_align_mask}.
     * @throws IllegalStateException if the range is not inside a live mapping or the direction differs.
     */
    public void syncSingleForCpu(final long tlbAddr, final long size, final DmaDirection dir, final int minAlignMask)
    {
        checkSync("syncForCpu", tlbAddr, size, dir);
        if (dir != DmaDirection.TO_DEVICE)
        {
            bounce(tlbAddr, size, false, minAlignMask);
            syncBytesFromDevice.add(size);
        }
    }

    /**
     * {@code __swiotlb_sync_single_for_device()}: copies original -> slot for {@code TO_DEVICE} and
     * {@code BIDIRECTIONAL}; nothing for {@code FROM_DEVICE} (bouncing there was the part of the 2022 info-leak
     * rework that broke ath9k and was reverted: it would overwrite what the device already wrote).
     *
     * @param tlbAddr      a bus address inside a live mapping.
     * @param size         bytes from {@code tlbAddr}, within the mapping.
     * @param dir          the direction that was mapped.
     * @param minAlignMask the device's {@code min_align_mask}.
     * @throws IllegalStateException if the range is not inside a live mapping or the direction differs.
     */
    public void syncSingleForDevice(
        final long tlbAddr, final long size, final DmaDirection dir, final int minAlignMask)
    {
        checkSync("syncForDevice", tlbAddr, size, dir);
        if (dir != DmaDirection.FROM_DEVICE)
        {
            bounce(tlbAddr, size, true, minAlignMask);
            syncBytesToDevice.add(size);
        }
    }

    /**
     * {@code is_swiotlb_buffer()}.
     *
     * @param addr a bus/guest-physical address.
     * @return true if it lies inside the pool.
     */
    public boolean isSwiotlbBuffer(final long addr)
    {
        return addr >= start && addr < end;
    }

    // ------------------------------------------------------------------------------------------------ allocator

    /**
     * {@code swiotlb_find_slots()} without dynamic pools: search the start area, then the others in turn.
     *
     * @return the first allocated slot (padding included), or -1.
     */
    private int findSlots(
        final long origAddr, final int allocSize, final int allocAlignMask, final int minAlignMask,
        final int startArea, final long mappingSize)
    {
        int i = startArea;
        do
        {
            final int index = searchPoolArea(i, origAddr, allocSize, allocAlignMask, minAlignMask, mappingSize);
            if (index >= 0)
            {
                return index;
            }
            if (++i >= nareas)
            {
                i = 0;
            }
        }
        while (i != startArea);
        return -1;
    }

    /**
     * {@code swiotlb_search_pool_area()}: find and allocate {@code nr_slots(allocSize)} contiguous free slots in one
     * area, under its lock. The search itself is the allocator's ({@link SwiotlbSlots#search}); the rules it follows
     * are computed here, the same for every allocator.
     * <p>
     * Alignment, as the kernel computes it: allocations of a page or more are page aligned when no other alignment
     * is asked for ({@code alloc_align_mask} and {@code min_align_mask} both zero); the allocation is at least slot
     * aligned; the {@code min_align_mask} bits above the slot size must match the original's (bits below are kept by
     * the offset into the first slot). Once aligned, the kernel's search steps by {@code stride} slots so it never
     * looks at misaligned ones; otherwise it steps by one.
     *
     * @return the first allocated slot, or -1.
     */
    private int searchPoolArea(
        final int areaIndex, final long origAddr, final int allocSize, final int allocAlignMaskIn,
        final int minAlignMask, final long mappingSize)
    {
        final SwiotlbArea area = areas[areaIndex];
        final int nslots = nrSlots(allocSize);
        final int offset = alignOffset(minAlignMask, 0, origAddr);
        int allocAlignMask = allocAlignMaskIn;
        int iotlbAlignMask = minAlignMask;
        // Historically, allocations >= PAGE_SIZE were page aligned when nothing else was asked: kept for drivers.
        if (allocAlignMask == 0 && iotlbAlignMask == 0 && allocSize >= PAGE_SIZE)
        {
            allocAlignMask = PAGE_SIZE - 1;
        }
        // At least slot aligned; min_align_mask bits covered by the allocation alignment are kept by the offset.
        allocAlignMask |= IO_TLB_SIZE - 1;
        iotlbAlignMask &= ~allocAlignMask;
        // Once aligned, do not bother looking at unaligned slots.
        final int stride = getMaxSlots(Math.max(allocAlignMask, iotlbAlignMask));

        final int slotIndex;
        area.lock();
        try
        {
            if (nslots > areaNslabs - area.lpUsed())
            {
                return -1;
            }
            slotIndex = freeSlots.search(area, areaIndex, start, origAddr, nslots, allocAlignMask, iotlbAlignMask,
                stride);
            if (slotIndex < 0)
            {
                return -1;
            }
            // alloc_size: bytes from each slot to the end of the allocation, for bounce and release.
            final long base = slotsAddress;
            for (int i = 0; i < nslots; i++)
            {
                spAllocSizeRaw(base, slotIndex + i, allocSize - (offset + (i << IO_TLB_SHIFT)));
            }
            area.soUsed(area.lpUsed() + nslots);
            area.soMapped(mappingSize);
        }
        finally
        {
            area.unlock();
        }
        usage.incUsedAndHiwater(nslots);
        return slotIndex;
    }

    /**
     * {@code swiotlb_release_slots()}: return a mapping's slots to the allocator ({@link SwiotlbSlots#give}) and
     * clear their metadata, under the owning area's lock.
     */
    private void releaseSlots(final long tlbAddr, final int minAlignMask, final long bouncedBytes)
    {
        final int offset = alignOffset(minAlignMask, 0, tlbAddr);
        final int head = (int)((tlbAddr - offset - start) >>> IO_TLB_SHIFT);
        final int index = head - lpPadSlots(head);
        final int nslots = nrSlots(lpAllocSize(index) + (long)offset);
        final SwiotlbArea area = areas[index / areaNslabs];
        area.lock();
        try
        {
            freeSlots.give(index, nslots);
            final long base = slotsAddress;
            for (int i = index; i < index + nslots; i++)
            {
                spOrigAddrRaw(base, i, INVALID_PHYS_ADDR);
                spAllocSizeRaw(base, i, 0);
                spPadSlotsRaw(base, i, 0);
                srStateRaw(base, i, i == head ? SLOT_FREED : SLOT_FREE);
            }
            area.soUsed(area.lpUsed() - nslots);
            area.soUnmapped(bouncedBytes);
        }
        finally
        {
            area.unlock();
        }
        usage.decUsed(nslots);
    }

    /**
     * {@code swiotlb_bounce()}: copy between a bounce buffer and its original, using the {@code orig_addr} and
     * {@code alloc_size} of the slot {@code tlbAddr} falls in, so that it works from any address inside a mapping.
     * The copy is a {@code memcpy} between two indices of the guest-memory buffer.
     *
     * @param toDevice true: original -> slot ({@code DMA_TO_DEVICE}); false: slot -> original.
     */
    private void bounce(final long tlbAddr, final long size, final boolean toDevice, final int minAlignMask)
    {
        final int index = slotIndex(tlbAddr);
        long origAddr = lpOrigAddr(index);
        long allocSize = lpAllocSize(index);
        if (origAddr == INVALID_PHYS_ADDR)
        {
            return;
        }
        // May be negative: an address in a later slot, within the first "offset" bytes of that slot.
        final int tlbOffset = (int)(tlbAddr & (IO_TLB_SIZE - 1)) - alignOffset(minAlignMask, 0, origAddr);
        origAddr += tlbOffset;
        allocSize -= tlbOffset;
        long length = size;
        if (length > allocSize)
        {
            length = allocSize; // the kernel's "Buffer overflow detected" clamp; the checks above make it unreachable
        }
        // vqdma's own validation: whatever the metadata says, never an out-of-bounds access of guest memory.
        if (length <= 0 || !memory.contains(origAddr, length) || tlbAddr + length > end)
        {
            throw new IllegalStateException("swiotlb bounce of dma=0x" + Long.toHexString(tlbAddr) + " len=" + size +
                ": slot " + index + " metadata (orig=0x" + Long.toHexString(lpOrigAddr(index)) + " alloc_size=" +
                lpAllocSize(index) + ") is inconsistent");
        }
        if (toDevice)
        {
            mem.putBytes((int)tlbAddr, mem, (int)origAddr, (int)length);
        }
        else
        {
            mem.putBytes((int)origAddr, mem, (int)tlbAddr, (int)length);
        }
    }

    // ------------------------------------------------------------------------------------------------ checks

    /**
     * The checks of {@code check_unmap()} ({@code CONFIG_DMA_API_DEBUG}), all made before anything changes; then the
     * head is claimed (HEAD -> UNMAPPING) so that a racing second unmap of the same address fails instead of releasing
     * the slots twice.
     */
    private void checkUnmapAndClaim(
        final long tlbAddr, final long size, final DmaDirection dir, final int minAlignMask)
    {
        if (!isSwiotlbBuffer(tlbAddr))
        {
            throw misuse("unmap", tlbAddr, size, dir, notInPool());
        }
        final int slot = slotIndex(tlbAddr);
        final int state = laState(slot);
        final boolean atHead = (tlbAddr & (IO_TLB_SIZE - 1)) == lpTlbOffset(slot);
        switch (state)
        {
            case SLOT_HEAD:
            case SLOT_UNMAPPING:
                if (!atHead)
                {
                    throw notTheStart("unmap", tlbAddr, size, dir, slot, slot);
                }
                if (state == SLOT_UNMAPPING)
                {
                    throw misuse("unmap", tlbAddr, size, dir,
                        "double unmap: the mapping is being unmapped by another thread");
                }
                checkSizeAndDirection("unmap", tlbAddr, size, dir, slot);
                if (alignOffset(minAlignMask, 0, tlbAddr) != lpTlbOffset(slot))
                {
                    throw misuse("unmap", tlbAddr, size, dir, "min_align_mask 0x" +
                        Integer.toHexString(minAlignMask) + " does not give the slot offset " + lpTlbOffset(slot) +
                        " the mapping was made with");
                }
                if (!casState(slot, SLOT_HEAD, SLOT_UNMAPPING))
                {
                    throw misuse("unmap", tlbAddr, size, dir,
                        "double unmap: the mapping was unmapped concurrently by another thread");
                }
                return;
            case SLOT_FREED:
                if (atHead)
                {
                    throw misuse("unmap", tlbAddr, size, dir, "double unmap: already unmapped (it was mapped " +
                        "with len=" + lpMappingSize(slot) + " " + direction(lpDir(slot)) + ")");
                }
                throw misuse("unmap", tlbAddr, size, dir, "not mapped: slot " + slot + " is free");
            case SLOT_FREE:
                throw misuse("unmap", tlbAddr, size, dir, "not mapped: slot " + slot + " is free");
            default:
                final int head = findHead(slot);
                throw head < 0 ?
                    misuse("unmap", tlbAddr, size, dir, "not mapped: slot " + slot + " is being set up") :
                    notTheStart("unmap", tlbAddr, size, dir, slot, head);
        }
    }

    /** The checks of {@code check_sync()}: the range lies inside one live mapping, mapped with this direction. */
    private void checkSync(final String op, final long tlbAddr, final long size, final DmaDirection dir)
    {
        if (!isSwiotlbBuffer(tlbAddr))
        {
            throw misuse(op, tlbAddr, size, dir, notInPool());
        }
        final int slot = slotIndex(tlbAddr);
        final int head = findHead(slot);
        if (head < 0)
        {
            throw misuse(op, tlbAddr, size, dir, "not mapped: slot " + slot + " belongs to no live mapping");
        }
        final long headAddr = slotAddr(start, head) + lpTlbOffset(head);
        final int mapped = lpMappingSize(head);
        if (size <= 0 || tlbAddr < headAddr || size > headAddr + mapped - tlbAddr)
        {
            throw misuse(op, tlbAddr, size, dir, "outside the mapping at dma=0x" + Long.toHexString(headAddr) +
                " len=" + mapped + " " + direction(lpDir(head)));
        }
        if (dir.ordinal() != lpDir(head))
        {
            throw misuse(op, tlbAddr, size, dir, "direction differs from the mapping at dma=0x" +
                Long.toHexString(headAddr) + " len=" + mapped + ", which was mapped " + direction(lpDir(head)));
        }
    }

    private void checkSizeAndDirection(
        final String op, final long tlbAddr, final long size, final DmaDirection dir, final int head)
    {
        if (size != lpMappingSize(head))
        {
            throw misuse(op, tlbAddr, size, dir, "size differs from the mapping, which was mapped with len=" +
                lpMappingSize(head));
        }
        if (dir.ordinal() != lpDir(head))
        {
            throw misuse(op, tlbAddr, size, dir, "direction differs from the mapping, which was mapped " +
                direction(lpDir(head)));
        }
    }

    /**
     * @param slot a slot index.
     * @return the head slot of the live mapping that owns {@code slot}: itself if it is a head, the head behind a
     * body slot, the head in front of a padding slot; -1 if the slot is free or no head is found within a segment
     * (a mapping being set up by another thread).
     */
    private int findHead(final int slot)
    {
        final int step = laState(slot) == SLOT_PAD ? 1 : -1;
        int i = slot;
        for (int steps = 0; steps < IO_TLB_SEGSIZE && i >= 0 && i < nslabs; steps++, i += step)
        {
            final int state = laState(i);
            if (state == SLOT_HEAD || state == SLOT_UNMAPPING)
            {
                return i;
            }
            if (state != (step > 0 ? SLOT_PAD : SLOT_BODY))
            {
                return -1;
            }
        }
        return -1;
    }

    private IllegalStateException notTheStart(
        final String op, final long tlbAddr, final long size, final DmaDirection dir, final int slot, final int head)
    {
        final long headAddr = slotAddr(start, head) + lpTlbOffset(head);
        return misuse(op, tlbAddr, size, dir, "not the start of a mapping: slot " + slot + " belongs to the " +
            "mapping at dma=0x" + Long.toHexString(headAddr) + " len=" + lpMappingSize(head) + " " +
            direction(lpDir(head)));
    }

    private String notInPool()
    {
        return "not mapped: not an address of the bounce pool [0x" + Long.toHexString(start) + ", 0x" +
            Long.toHexString(end) + ")";
    }

    /**
     * A refused call's exception. Its message is built by concatenation, not {@link String#format}: misuse is an
     * ordinary outcome for a fuzzer (and for a model facing a buggy driver), and a formatter costs microseconds.
     */
    private static IllegalStateException misuse(
        final String op, final long tlbAddr, final long size, final DmaDirection dir, final String why)
    {
        return new IllegalStateException("swiotlb " + op + " of dma=0x" + Long.toHexString(tlbAddr) + " len=" + size +
            " " + dir + ": " + why);
    }

    private static String direction(final int ordinal)
    {
        return ordinal >= 0 && ordinal < DIRECTIONS.length ? DIRECTIONS[ordinal].name() : "?" + ordinal;
    }

    private long mappingFailed(final AtomicLong cause, final long size)
    {
        cause.incrementAndGet();
        if (warnRateLimit.allow(System.nanoTime()))
        {
            // dev_warn_ratelimited(): one string per reported failure, none for suppressed ones.
            lastFailure = "swiotlb buffer is full (sz: " + size + " bytes), total " + nslabs + " (slots), used " +
                usage.lvTotalUsed() + " (slots)";
        }
        return DmaOps.DMA_MAPPING_ERROR;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** {@code swiotlb_align_offset()}: the offset into an allocation that keeps the device's address bits. */
    static int alignOffset(final int minAlignMask, final int alignMask, final long addr)
    {
        return (int)(addr & minAlignMask & (alignMask | (IO_TLB_SIZE - 1)));
    }

    /** {@code nr_slots()}: slots needed for {@code bytes}. */
    static int nrSlots(final long bytes)
    {
        return (int)((bytes + IO_TLB_SIZE - 1) >>> IO_TLB_SHIFT);
    }

    /** {@code io_tlb_offset()}: position of a slot in its segment ({@code -1} gives 127, as unsigned in C). */
    static int ioTlbOffset(final int slot)
    {
        return slot & (IO_TLB_SEGSIZE - 1);
    }

    /** {@code slot_addr()}: {@code start + (idx << IO_TLB_SHIFT)}. */
    static long slotAddr(final long base, final long idx)
    {
        return base + (idx << IO_TLB_SHIFT);
    }

    /** {@code get_max_slots()}: slots spanned by {@code mask + 1} bytes. */
    static int getMaxSlots(final int mask)
    {
        return (mask >>> IO_TLB_SHIFT) + 1;
    }

    private int slotIndex(final long tlbAddr)
    {
        return (int)((tlbAddr - start) >>> IO_TLB_SHIFT);
    }

    private int currentArea()
    {
        return (int)Thread.currentThread().getId() & (nareas - 1);
    }

    static long alignUp(final long value, final long alignment)
    {
        return (value + alignment - 1) & -alignment;
    }

    private static int roundUpPowerOfTwo(final int value)
    {
        return value <= 1 ? 1 : Integer.highestOneBit(value - 1) << 1;
    }

    // ------------------------------------------------------------------------------------------------ slot fields

    /**
     * @return the slot's free-run counter, the kernel's {@code list[slot]}: free slots from it to the first allocated
     * slot or the end of its segment (0 if allocated), whatever the allocator keeps; read under the area lock by
     * tests and the C yardstick's comparison.
     */
    int lpList(final int slot)
    {
        final SwiotlbArea area = areas[slot / areaNslabs];
        area.lock();
        try
        {
            return freeSlots.freeRun(slot);
        }
        finally
        {
            area.unlock();
        }
    }

    /**
     * Raw accessors of the slot records, for the per-slot loops of map and release: plain (or release for the state)
     * and without Agrona's bounds check, which would double the cost of those loops. Only for indices the allocator
     * returned or a validated head's run, all inside {@code [0, nslabs)}. The callers keep the base address in a
     * local: after a raw store the JIT would otherwise reload the field on every iteration.
     */
    private static long slotRaw(final long base, final int slot)
    {
        return base + ((long)slot << SLOT_SHIFT);
    }

    private static void spOrigAddrRaw(final long base, final int slot, final long value)
    {
        UnsafeApi.putLong(null, slotRaw(base, slot) + ORIG_ADDR_OFFSET, value);
    }

    private static void spAllocSizeRaw(final long base, final int slot, final int value)
    {
        UnsafeApi.putInt(null, slotRaw(base, slot) + ALLOC_SIZE_OFFSET, value);
    }

    private static void spPadSlotsRaw(final long base, final int slot, final int value)
    {
        UnsafeApi.putShort(null, slotRaw(base, slot) + PAD_SLOTS_OFFSET, (short)value);
    }

    /** Release store of the state, as {@link #srState}. */
    private static void srStateRaw(final long base, final int slot, final int value)
    {
        UnsafeApi.putIntRelease(null, slotRaw(base, slot) + STATE_OFFSET, value);
    }

    /** @return the slot's {@code alloc_size}; plain. */
    int lpAllocSize(final int slot)
    {
        return slots.getInt(slotOffset(slot) + ALLOC_SIZE_OFFSET);
    }

    private void spAllocSize(final int slot, final int value)
    {
        slots.putInt(slotOffset(slot) + ALLOC_SIZE_OFFSET, value);
    }

    /** @return the slot's {@code orig_addr}; plain (ordered by the head state's release/acquire). */
    long lpOrigAddr(final int slot)
    {
        return slots.getLong(slotOffset(slot) + ORIG_ADDR_OFFSET);
    }

    private void spOrigAddr(final int slot, final long value)
    {
        slots.putLong(slotOffset(slot) + ORIG_ADDR_OFFSET, value);
    }

    /** @return the slot's state ({@code SLOT_*}); acquire load, pairs with {@link #srState}. */
    int laState(final int slot)
    {
        return slots.getIntAcquire(slotOffset(slot) + STATE_OFFSET);
    }

    private void srState(final int slot, final int value)
    {
        slots.putIntRelease(slotOffset(slot) + STATE_OFFSET, value);
    }

    private boolean casState(final int slot, final int expected, final int value)
    {
        return slots.compareAndSetInt(slotOffset(slot) + STATE_OFFSET, expected, value);
    }

    /** @return the head slot's {@code pad_slots}; plain. */
    int lpPadSlots(final int slot)
    {
        return slots.getShort(slotOffset(slot) + PAD_SLOTS_OFFSET);
    }

    private void spPadSlots(final int slot, final int value)
    {
        slots.putShort(slotOffset(slot) + PAD_SLOTS_OFFSET, (short)value);
    }

    private int lpDir(final int slot)
    {
        return slots.getByte(slotOffset(slot) + DIR_OFFSET);
    }

    private void spDir(final int slot, final DmaDirection dir)
    {
        slots.putByte(slotOffset(slot) + DIR_OFFSET, (byte)dir.ordinal());
    }

    private int lpMappingSize(final int slot)
    {
        return slots.getInt(slotOffset(slot) + MAPPING_SIZE_OFFSET);
    }

    private void spMappingSize(final int slot, final int value)
    {
        slots.putInt(slotOffset(slot) + MAPPING_SIZE_OFFSET, value);
    }

    private int lpTlbOffset(final int slot)
    {
        return slots.getInt(slotOffset(slot) + TLB_OFFSET_OFFSET);
    }

    private void spTlbOffset(final int slot, final int value)
    {
        slots.putInt(slotOffset(slot) + TLB_OFFSET_OFFSET, value);
    }

    /**
     * @param addr an address inside the pool.
     * @return true if the slot holding {@code addr} is free (no live mapping or padding owns it); acquire load.
     */
    boolean isFreeSlot(final long addr)
    {
        return isFree(laState(slotIndex(addr)));
    }

    // ------------------------------------------------------------------------------------------------ test access

    /** @return an area's search index, read under its lock. */
    int areaIndex(final int area)
    {
        final SwiotlbArea a = areas[area];
        a.lock();
        try
        {
            return a.lpIndex();
        }
        finally
        {
            a.unlock();
        }
    }

    /** @return an area's used slots, read under its lock. */
    int areaUsed(final int area)
    {
        final SwiotlbArea a = areas[area];
        a.lock();
        try
        {
            return a.lpUsed();
        }
        finally
        {
            a.unlock();
        }
    }

    // ------------------------------------------------------------------------------------------------ statistics

    /** @return the guest memory the pool lives in. */
    public GuestMemory memory()
    {
        return memory;
    }

    /** @return GPA of the first slot (page aligned). */
    public long start()
    {
        return start;
    }

    /** @return GPA just past the last slot. */
    public long end()
    {
        return end;
    }

    /** @return the number of slots ({@code nslabs}). */
    public int nslabs()
    {
        return nslabs;
    }

    /** @return how free slots are found and tracked. */
    public SwiotlbAllocator allocator()
    {
        return allocator;
    }

    /** @return the number of areas (a power of two). */
    public int nareas()
    {
        return nareas;
    }

    /** @return slots per area ({@code area_nslabs}), a multiple of {@link #IO_TLB_SEGSIZE}. */
    public int areaNslabs()
    {
        return areaNslabs;
    }

    /** @return slots in use now (debugfs {@code io_tlb_used}). */
    public long usedSlots()
    {
        return usage.lvTotalUsed();
    }

    /** @return the sum of the areas' {@code used}, read racily without their locks ({@code mem_pool_used()}). */
    public long usedSlotsRacy()
    {
        long used = 0;
        for (final SwiotlbArea area : areas)
        {
            used += area.loUsed();
        }
        return used;
    }

    /** @return the most slots in use at once since creation or {@link #resetUsedHiwater()} ({@code io_tlb_used_hiwater}). */
    public long usedHiwater()
    {
        return usage.lvUsedHiwater();
    }

    /** Resets the high-water mark to zero, as writing 0 to debugfs {@code io_tlb_used_hiwater} does. */
    public void resetUsedHiwater()
    {
        usage.svUsedHiwaterZero();
    }

    /** @return mappings made (successful {@code tblMapSingle} calls). */
    public long mappings()
    {
        long total = 0;
        for (final SwiotlbArea area : areas)
        {
            total += area.loMappings();
        }
        return total;
    }

    /** @return failed mappings that can never fit one segment ({@code size > maxMappingSize}). */
    public long oversizeFailures()
    {
        return oversizeFailures.get();
    }

    /** @return failed mappings for want of a free run of slots at the time. */
    public long fullFailures()
    {
        return fullFailures.get();
    }

    /** @return bytes copied original -> slot (map of any direction, and syncForDevice). */
    public long bytesBouncedToDevice()
    {
        long total = syncBytesToDevice.sum();
        for (final SwiotlbArea area : areas)
        {
            total += area.loBytesToDevice();
        }
        return total;
    }

    /** @return bytes copied slot -> original (unmap and syncForCpu of FROM_DEVICE and BIDIRECTIONAL). */
    public long bytesBouncedFromDevice()
    {
        long total = syncBytesFromDevice.sum();
        for (final SwiotlbArea area : areas)
        {
            total += area.loBytesFromDevice();
        }
        return total;
    }

    /**
     * @return the last reported mapping failure, in the kernel's words ({@code "swiotlb buffer is full (sz: N bytes),
     * total T (slots), used U (slots)"}), or null if none; rate-limited like {@code dev_warn_ratelimited()}.
     */
    public String lastFailure()
    {
        return lastFailure;
    }

    /** @return failure reports suppressed by the rate limit. */
    public long suppressedFailureReports()
    {
        return warnRateLimit.missed();
    }

    @Override
    public String toString()
    {
        return String.format(
            "swiotlb [mem 0x%x-0x%x] %d slots in %d areas (%s allocator), used %d, hiwater %d, oversize %d, full %d",
            start, end - 1, nslabs, nareas, allocator.id(), usedSlots(), usedHiwater(), oversizeFailures(),
            fullFailures());
    }
}
