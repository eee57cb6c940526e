package vqdma.ring;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DirectDma;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;

import java.nio.ByteOrder;

import static vqdma.ring.SplitRingDescriptor.*;
import static vqdma.ring.Vring.*;


/**
 * Padding before the hot fields of {@link Virtqueue}: 128 bytes (two cache lines, for the adjacent-line prefetcher), so
 * that no neighbouring object in the heap shares a line with them. Byte fields leave no hole for the JVM's field
 * layout to fill with a subclass field.
 */
abstract class VirtqueuePad0 extends Virtqueue
{
    byte a000, a001, a002, a003, a004, a005, a006, a007, a008, a009, a010, a011, a012, a013, a014, a015;
    byte a016, a017, a018, a019, a020, a021, a022, a023, a024, a025, a026, a027, a028, a029, a030, a031;
    byte a032, a033, a034, a035, a036, a037, a038, a039, a040, a041, a042, a043, a044, a045, a046, a047;
    byte a048, a049, a050, a051, a052, a053, a054, a055, a056, a057, a058, a059, a060, a061, a062, a063;
    byte a064, a065, a066, a067, a068, a069, a070, a071, a072, a073, a074, a075, a076, a077, a078, a079;
    byte a080, a081, a082, a083, a084, a085, a086, a087, a088, a089, a090, a091, a092, a093, a094, a095;
    byte a096, a097, a098, a099, a100, a101, a102, a103, a104, a105, a106, a107, a108, a109, a110, a111;
    byte a112, a113, a114, a115, a116, a117, a118, a119, a120, a121, a122, a123, a124, a125, a126, a127;
}

/**
 * The driver's private state ({@code vring_virtqueue}'s mutable part): plain fields, written by the driver thread
 * on every add and get and never by the device. Padded on both sides because the device thread's own hot state (a
 * {@link VhostVirtqueue}, often allocated right after this object, and moved next to it by any copying GC) must not
 * share their cache lines.
 */
abstract class VirtqueueFields extends VirtqueuePad0
{
    int freeHead;
    int numFree;
    int inFlight;
    int availIdxShadow;
    int availIdxPublished;
    int numAdded;
    int availFlagsShadow;
    int lastUsedIdx;
    int usedIdxCache;
    int lastUsedLen;
    /** Adds since the last injected extra one (InjectedSlowdown; test only, untouched when it is off). */
    int sinceSlowdown;
    int lastUsedId;
    int indirFreeTop;
    long kicks;
    long kicksSuppressed;
    String brokenReason;
    boolean broken;
}

/** Padding after the hot fields of {@link Virtqueue}: 128 bytes. */
abstract class VirtqueuePad1 extends VirtqueueFields
{
    byte b000, b001, b002, b003, b004, b005, b006, b007, b008, b009, b010, b011, b012, b013, b014, b015;
    byte b016, b017, b018, b019, b020, b021, b022, b023, b024, b025, b026, b027, b028, b029, b030, b031;
    byte b032, b033, b034, b035, b036, b037, b038, b039, b040, b041, b042, b043, b044, b045, b046, b047;
    byte b048, b049, b050, b051, b052, b053, b054, b055, b056, b057, b058, b059, b060, b061, b062, b063;
    byte b064, b065, b066, b067, b068, b069, b070, b071, b072, b073, b074, b075, b076, b077, b078, b079;
    byte b080, b081, b082, b083, b084, b085, b086, b087, b088, b089, b090, b091, b092, b093, b094, b095;
    byte b096, b097, b098, b099, b100, b101, b102, b103, b104, b105, b106, b107, b108, b109, b110, b111;
    byte b112, b113, b114, b115, b116, b117, b118, b119, b120, b121, b122, b123, b124, b125, b126, b127;
}

/**
 * The driver side of a split virtqueue, as {@code drivers/virtio/virtio_ring.c} implements it:
 * {@link #add(SgList, Object)} is {@code virtqueue_add_split()}, {@link #kickPrepare()} is
 * {@code virtqueue_kick_prepare_split()}, {@link #getBuf()} is {@code virtqueue_get_buf_ctx_split()} with
 * {@code detach_buf_split()}, and the callback calls are their {@code _split} namesakes.
 *
 * <h2>What the driver trusts</h2>
 * Nothing the device can write. The free list and each descriptor's address, length and flags live in private
 * arrays (the kernel's {@code desc_extra}); the chain of a returned buffer is walked and unmapped from them, never
 * from the shared table. Every used element is checked: its id must be a head in flight, its length must fit the
 * chain's writable bytes, and {@code used.idx} may not run ahead of what was made available. A violation marks the
 * queue broken (the kernel's {@code BAD_RING}): the reason is kept, and every later call fails fast.
 *
 * <h2>DMA</h2>
 * Buffers are mapped through {@link DmaOps} when {@code VIRTIO_F_ACCESS_PLATFORM} is negotiated
 * ({@code vring_use_dma_api()}); without it the queue bypasses the DMA API and hands the device guest-physical
 * addresses (legacy virtio). In premapped mode the caller maps and passes bus addresses
 * ({@code virtqueue_set_dma_premapped()}). A mapping that fails unwinds everything mapped for the request and the
 * add returns {@link #EIO} (the request can never map: larger than {@link DmaOps#maxMappingSize()}) or
 * {@link #ENOMEM} (resources, retry later). The 2019 kernel returned {@code -EIO} for both, today's returns
 * {@code -ENOMEM} for both; keeping them apart is what lets virtio-blk requeue a full bounce pool yet fail a segment
 * that can never be mapped.
 *
 * <h2>Indirect descriptors</h2>
 * With {@code VIRTIO_RING_F_INDIRECT_DESC}, a request of more than one buffer goes into an indirect table that
 * itself is DMA-mapped (device-readable). The kernel kmallocs each table and falls back to direct descriptors when
 * that fails; vqdma takes tables from a pool allocated in guest memory at set-up and falls back the same way when
 * the pool is empty or the request is longer than a table.
 *
 * <h2>Threads</h2>
 * One driver thread at a time, as the kernel requires callers to serialize; the device runs concurrently on the
 * other side of the shared memory. Hot paths allocate nothing.
 */
public final class SplitVirtqueue extends VirtqueuePad1
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int NONE = -1;

    private final int num;
    private final int mask;
    private final long features;
    private final boolean event;
    private final boolean indirect;
    private final boolean useDmaApi;
    private final boolean premapped;
    private final DmaOps dma;
    private final GuestMemory memory;
    private final UnsafeBuffer mem;
    private final SplitRing ring;
    private final long ringGpa;
    private final int ringBytes;
    private final long descBus;
    private final long availBus;
    private final long usedBus;
    private final Notifier notifier;

    // desc_extra and desc_state: the driver's private copy of every descriptor it wrote, the free list through next,
    // and per head the writable bytes and indirect table; the caller's tokens beside them.
    private final DescExtra extra;
    private final Object[] data;

    // The indirect table pool, with private shadows of every entry.
    private final int indirMax;
    private final long[] indirGpa;
    private final long[] indirAddr;
    private final int[] indirLen;
    private final int[] indirFlags;
    private final int[] indirCount;
    private final int[] indirFree;

    private SplitVirtqueue(final Builder b)
    {
        this.num = checkQueueSize(b.num);
        this.mask = num - 1;
        this.features = b.features;
        this.event = hasFeature(features, VIRTIO_RING_F_EVENT_IDX);
        this.indirect = hasFeature(features, VIRTIO_RING_F_INDIRECT_DESC);
        this.useDmaApi = hasFeature(features, VIRTIO_F_ACCESS_PLATFORM);
        this.premapped = b.premapped;
        if (premapped && !useDmaApi)
        {
            throw new IllegalArgumentException("premapped mode needs VIRTIO_F_ACCESS_PLATFORM (the DMA API)");
        }
        this.memory = b.memory;
        this.mem = memory.buffer();
        this.dma = b.dma != null ? b.dma : new DirectDma(memory);
        if (dma.memory() != memory)
        {
            throw new IllegalArgumentException("the DmaOps maps a different guest memory than the queue's");
        }
        this.notifier = b.notifier;

        this.ringBytes = vringSize(num, LEGACY_ALIGN);
        this.ringGpa = b.ringGpa >= 0 ? b.ringGpa : memory.allocateShared(ringBytes);
        if ((ringGpa & (LEGACY_ALIGN - 1)) != 0 || !memory.contains(ringGpa, ringBytes))
        {
            throw new IllegalArgumentException(String.format(
                "ring at gpa 0x%x (%d bytes) must be %d-aligned and inside guest memory", ringGpa, ringBytes,
                LEGACY_ALIGN));
        }
        mem.setMemory((int)ringGpa, ringBytes, (byte)0);
        final long ringBus = useDmaApi ? dma.mapCoherent(ringGpa, ringBytes) : ringGpa;
        if (DmaOps.isMappingError(ringBus))
        {
            throw new IllegalStateException("cannot map the ring through " + dma.name());
        }
        this.descBus = ringBus;
        this.availBus = ringBus + availOffset(num, LEGACY_ALIGN);
        this.usedBus = ringBus + usedOffset(num, LEGACY_ALIGN);
        this.ring = new SplitRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, descTableSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + availOffset(num, LEGACY_ALIGN), availSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + usedOffset(num, LEGACY_ALIGN), usedSize(num)));

        extra = new DescExtra(num);
        data = new Object[num];
        for (int i = 0; i < num; i++)
        {
            extra.setNext(i, (i + 1) & 0xFFFF); // the last entry's next is never followed: numFree guards it
            extra.setState(i, 0, NONE);
        }
        freeHead = 0;
        numFree = num;

        if (indirect)
        {
            indirMax = b.indirectMax > 0 ? Math.min(b.indirectMax, num) : Math.min(num, 256);
            final int tables = b.indirectTables >= 0 ? b.indirectTables : Math.min(num, 256);
            indirGpa = new long[tables];
            indirCount = new int[tables];
            indirFree = new int[tables];
            indirAddr = new long[tables * indirMax];
            indirLen = new int[tables * indirMax];
            indirFlags = new int[tables * indirMax];
            for (int t = 0; t < tables; t++)
            {
                indirGpa[t] = memory.allocate((long)indirMax * DESC_SIZE, DESC_SIZE);
                indirFree[t] = tables - 1 - t;
            }
            indirFreeTop = tables;
        }
        else
        {
            indirMax = 0;
            indirGpa = indirAddr = null;
            indirLen = indirFlags = indirCount = indirFree = null;
        }

        if (!b.callbacks)
        {
            availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
            if (!event)
            {
                ring.spAvailFlags(availFlagsShadow);
            }
        }
    }

    /**
     * @param b the builder, with a queue size that is a power of two in 1..32768.
     * @return a split queue, its ring zeroed and mapped.
     */
    static Virtqueue create(final Builder b)
    {
        return new SplitVirtqueue(b);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // add: virtqueue_add_split
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_add_sgs()}: exposes a request to the device (without notifying it; see {@link #kick()}).
     *
     * @param sg    the request's buffers: device-readable first, then device-writable.
     * @param token the caller's object for this request, returned by {@link #getBuf()}; not null.
     * @return 0, {@link #ENOSPC} if the ring is full, {@link #ENOMEM}/{@link #EIO} if a mapping failed (see class
     * comment), or {@link #EIO} if the queue is broken. Nothing is left mapped on failure.
     * @throws IllegalArgumentException if the list is empty, longer than the queue, or the token is null.
     */
    public int add(final SgList sg, final Object token)
    {
        return add(sg, token, true);
    }

    /**
     * {@code virtqueue_add_sgs()}, optionally without publishing {@code avail.idx}: with {@code publish == false} the
     * request is written (descriptors and avail ring entry) but the device cannot see it until
     * {@link #publishAvail()} or {@link #kickPrepare()} publishes every request added so far with one store.
     * <p>
     * A departure from the kernel, whose {@code virtqueue_add_split()} stores {@code avail->idx} on every add: a
     * driver that adds a batch and then kicks (or, polling, publishes) moves the cache line holding {@code avail.idx}
     * to the device once per batch instead of once per request, as a C driver that publishes once per batch does.
     *
     * @param sg      the request's buffers: device-readable first, then device-writable.
     * @param token   the caller's object for this request, returned by {@link #getBuf()}; not null.
     * @param publish false to leave {@code avail.idx} for {@link #publishAvail()} or {@link #kickPrepare()}.
     * @return as {@link #add(SgList, Object)}.
     * @throws IllegalArgumentException if the list is empty, longer than the queue, or the token is null.
     */
    public int add(final SgList sg, final Object token, final boolean publish)
    {
        if (InjectedSlowdown.EVERY > 0 && ++sinceSlowdown >= InjectedSlowdown.EVERY && numAdded < 0xFFF0)
        {
            // Test only (InjectedSlowdown): the request is added, unpublished, and taken back before the real add
            // (the nested add counts itself back to 0).
            sinceSlowdown = -1;
            final int head = freeHead;
            if (add(sg, token, false) == 0)
            {
                availIdxShadow = (availIdxShadow - 1) & 0xFFFF;
                numAdded--;
                detachBuf(head);
            }
        }
        final int total = sg.size();
        if (total == 0 || total > num || token == null)
        {
            throw badAdd(total, token);
        }
        if (broken)
        {
            return EIO;
        }
        final boolean useIndirect = indirect && total > 1 && total <= indirMax && indirFreeTop > 0;
        final int descsUsed = useIndirect ? 1 : total;
        if (numFree < descsUsed)
        {
            return ENOSPC;
        }

        final int head = freeHead;
        final long writable = useIndirect ? addIndirect(sg, total, head) : addDirect(sg, total, head);
        if (writable < 0)
        {
            return (int)writable;
        }
        numFree -= descsUsed;
        inFlight++;
        data[head] = token;

        // Put entry in available array (but don't update avail->idx until they do sync).
        ring.spAvailRing(availIdxShadow & mask, head);
        availIdxShadow = (availIdxShadow + 1) & 0xFFFF;
        if (publish)
        {
            publishAvail();
        }
        numAdded++;
        // This is very unlikely, but theoretically possible. Kick just in case.
        if (numAdded == 0xFFFF)
        {
            kick();
        }
        return 0;
    }

    private IllegalArgumentException badAdd(final int total, final Object token)
    {
        return new IllegalArgumentException("add of " + total + " buffers (token " + token +
            "): a request needs 1.." + num + " buffers and a non-null token");
    }

    /**
     * The descriptors of a request, one per buffer, chained through the free list ({@code virtqueue_add_split()}'s
     * loop). Kept apart from {@link #add} (and the indirect path) so that each is small enough for the JIT to
     * inline into its caller.
     *
     * @return the device-writable bytes (>= 0), or {@link #ENOMEM}/{@link #EIO} after unmapping what was mapped.
     */
    private long addDirect(final SgList sg, final int total, final int head)
    {
        final int out = sg.outCount();
        final SplitRing ring = this.ring;
        final DescExtra extra = this.extra;
        long writable = 0;
        int i = head;
        for (int n = 0; n < total; n++)
        {
            final int len = sg.len(n);
            final int flags = (n < out ? 0 : VRING_DESC_F_WRITE) | (n + 1 < total ? VRING_DESC_F_NEXT : 0);
            final long addr = mapBuffer(sg.addr(n), len, flags);
            if (DmaOps.isMappingError(addr))
            {
                return unmapDirect(head, n, len);
            }
            // next is read before the entry is rewritten (with next unchanged, in one 8-byte store with len and
            // flags): a 2-byte load from 8 bytes a store is still writing would wait for the store to retire.
            final int next = extra.next(i);
            extra.set(i, addr, len, flags, next);
            if (n >= out)
            {
                writable += len;
            }
            ring.spDesc(i, addr, len, flags, next);
            i = next;
        }
        freeHead = i;
        extra.setState(head, writable, NONE);
        return writable;
    }

    /** unmap_release: the buffers mapped before the one of {@code failedLen} bytes failed, from the private copy. */
    private int unmapDirect(final int head, final int mapped, final int failedLen)
    {
        for (int n = 0, j = head; n < mapped; n++, j = extra.next(j))
        {
            unmapBuffer(extra.addr(j), extra.len(j), extra.flags(j));
        }
        return mappingErrno(failedLen);
    }

    /**
     * A request as one indirect table (itself DMA-mapped) behind the single descriptor {@code head}.
     *
     * @return the device-writable bytes (>= 0), or {@link #ENOMEM}/{@link #EIO} after unmapping what was mapped.
     */
    private long addIndirect(final SgList sg, final int total, final int head)
    {
        final int out = sg.outCount();
        final int t = indirFree[--indirFreeTop];
        final int base = t * indirMax;
        final long tableGpa = indirGpa[t];
        long writable = 0;
        int err = 0;
        int mapped = 0;
        for (; mapped < total; mapped++)
        {
            final int len = sg.len(mapped);
            final int flags = (mapped < out ? 0 : VRING_DESC_F_WRITE) | (mapped + 1 < total ? VRING_DESC_F_NEXT : 0);
            final long addr = mapBuffer(sg.addr(mapped), len, flags);
            if (DmaOps.isMappingError(addr))
            {
                err = mappingErrno(len);
                break;
            }
            indirAddr[base + mapped] = addr;
            indirLen[base + mapped] = len;
            indirFlags[base + mapped] = flags;
            if (mapped >= out)
            {
                writable += len;
            }
            final int offset = (int)tableGpa + descOffset(mapped);
            mem.putLong(offset + DESC_ADDR_OFFSET, addr, LE);
            mem.putInt(offset + DESC_LEN_OFFSET, len, LE);
            mem.putShort(offset + DESC_FLAGS_OFFSET, (short)flags, LE);
            mem.putShort(offset + DESC_NEXT_OFFSET, (short)(mapped + 1), LE);
        }
        final int tableLen = total * DESC_SIZE;
        // The table is filled before it is mapped: a bounce buffer copies it at map time.
        final long tableAddr = err == 0 ? mapTable(tableGpa, tableLen) : 0;
        if (err == 0 && DmaOps.isMappingError(tableAddr))
        {
            err = mappingErrno(tableLen);
        }
        if (err != 0)
        {
            for (int n = 0; n < mapped; n++)
            {
                unmapBuffer(indirAddr[base + n], indirLen[base + n], indirFlags[base + n]);
            }
            indirFree[indirFreeTop++] = t;
            return err;
        }
        indirCount[t] = total;
        final int next = extra.next(head);
        extra.set(head, tableAddr, tableLen, VRING_DESC_F_INDIRECT, next);
        extra.setState(head, writable, t);
        ring.spDesc(head, tableAddr, tableLen, VRING_DESC_F_INDIRECT, next);
        freeHead = next;
        return writable;
    }

    /**
     * Publishes {@code avail.idx} if requests were added without publishing it ({@link #add(SgList, Object, boolean)});
     * does nothing otherwise.
     */
    public void publishAvail()
    {
        final int idx = availIdxShadow;
        if (idx != availIdxPublished)
        {
            // Descriptors and available array need to be set before we expose the new available array entries.
            // Pairs with the device's virtio_rmb() after it loads avail.idx.
            VirtioBarriers.virtioWmb();
            ring.soAvailIdx(idx);
            availIdxPublished = idx;
        }
    }

    private long mapBuffer(final long gpa, final int len, final int flags)
    {
        return useDmaApi && !premapped ? dma.map(gpa, len, direction(flags)) : gpa;
    }

    private void unmapBuffer(final long addr, final int len, final int flags)
    {
        if (useDmaApi && !premapped)
        {
            dma.unmap(addr, len, direction(flags));
        }
    }

    private long mapTable(final long gpa, final int len)
    {
        return useDmaApi ? dma.map(gpa, len, DmaDirection.TO_DEVICE) : gpa;
    }

    private void unmapTable(final long addr, final int len)
    {
        if (useDmaApi)
        {
            dma.unmap(addr, len, DmaDirection.TO_DEVICE);
        }
    }

    private static DmaDirection direction(final int flags)
    {
        return (flags & VRING_DESC_F_WRITE) != 0 ? DmaDirection.FROM_DEVICE : DmaDirection.TO_DEVICE;
    }

    private int mappingErrno(final long len)
    {
        return len > dma.maxMappingSize() ? EIO : ENOMEM;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // kick: virtqueue_kick_prepare_split / virtqueue_notify
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_kick_prepare_split()}: does the device want a notification for what was added since the last
     * call? With EVENT_IDX: did the new avail.idx pass {@code avail_event}; otherwise: is {@code NO_NOTIFY} clear.
     * Requests added without publishing ({@link #add(SgList, Object, boolean)}) are published first.
     *
     * @return true if the caller should notify the device.
     */
    public boolean kickPrepare()
    {
        publishAvail();
        // We need to expose available array entries before checking avail event (or used.flags). Pairs with the
        // device's virtio_mb() between writing avail_event/used.flags and re-reading avail.idx.
        VirtioBarriers.virtioMb();
        final int newIdx = availIdxShadow;
        final int oldIdx = (newIdx - numAdded) & 0xFFFF;
        numAdded = 0;
        final boolean needKick = event ?
            vringNeedEvent(ring.loAvailEvent(), newIdx, oldIdx) :
            (ring.lpUsedFlags() & VRING_USED_F_NO_NOTIFY) == 0;
        if (needKick)
        {
            kicks++;
        }
        else
        {
            kicksSuppressed++;
        }
        return needKick;
    }

    /**
     * {@code virtqueue_kick()}: {@link #kickPrepare()}, then the transport's notifier if needed.
     *
     * @return true if the device was notified.
     */
    public boolean kick()
    {
        if (broken || !kickPrepare())
        {
            return false;
        }
        notifier.notify(this);
        return true;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // get: virtqueue_get_buf_ctx_split / detach_buf_split
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code more_used_split()}.
     *
     * @return true if the device has returned buffers that {@link #getBuf()} has not taken yet.
     */
    public boolean moreUsed()
    {
        if (lastUsedIdx != usedIdxCache)
        {
            return true;
        }
        usedIdxCache = ring.loUsedIdx();
        return lastUsedIdx != usedIdxCache;
    }

    /**
     * {@code virtqueue_get_buf()}: takes the next buffer the device returned, unmaps it and frees its descriptors.
     *
     * @return the token given to {@link #add}, or null if there is none (or the queue is broken: see
     * {@link #isBroken()}). The bytes the device wrote are in {@link #usedLen()}.
     */
    public Object getBuf()
    {
        if (broken || !moreUsed())
        {
            return null;
        }
        final int lastUsed = lastUsedIdx;
        if (((usedIdxCache - lastUsed) & 0xFFFF) > inFlight)
        {
            return badUsed(lastUsed, -1, 0);
        }
        // Only get used array entries after they have been exposed by host. Pairs with the device's virtio_wmb()
        // before it stores used.idx.
        VirtioBarriers.virtioRmb();
        final int slot = lastUsed & mask;
        final int id = ring.lpUsedId(slot);
        final int len = ring.lpUsedLen(slot);
        final Object token;
        // The id must be a head in flight, and the length within what that request let the device write.
        if (Integer.compareUnsigned(id, num) >= 0 || (token = data[id]) == null ||
            Integer.toUnsignedLong(len) > extra.writable(id))
        {
            return badUsed(lastUsed, id, len);
        }
        detachBuf(id);
        lastUsedLen = len;
        lastUsedId = id;
        lastUsedIdx = (lastUsedIdx + 1) & 0xFFFF;
        // If we expect an interrupt for the next entry, tell host by writing event index and flush out the write
        // before the read in the next get_buf call (virtio_store_mb).
        if ((availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) == 0)
        {
            ring.soUsedEvent(lastUsedIdx);
            VirtioBarriers.virtioMb();
        }
        return token;
    }

    /** BAD_RING for the used element at {@code lastUsed} (id -1: {@code used.idx} itself). @return null. */
    private Object badUsed(final int lastUsed, final int id, final int len)
    {
        if (id == -1)
        {
            badRing(String.format("used.idx moved from %d to %d but only %d buffers are in flight",
                lastUsed, usedIdxCache, inFlight));
        }
        else if (Integer.compareUnsigned(id, num) >= 0)
        {
            badRing(String.format("id %d out of range", Integer.toUnsignedLong(id)));
        }
        else if (data[id] == null)
        {
            badRing(String.format("id %d is not a head!", id));
        }
        else
        {
            badRing(String.format("used len %d is greater than the %d writable bytes of chain %d",
                Integer.toUnsignedLong(len), extra.writable(id), id));
        }
        return null;
    }

    private void detachBuf(final int head)
    {
        data[head] = null;
        inFlight--;
        final DescExtra extra = this.extra;
        final int t = extra.indirect(head);
        if (t != NONE)
        {
            final int base = t * indirMax;
            for (int n = 0, count = indirCount[t]; n < count; n++)
            {
                unmapBuffer(indirAddr[base + n], indirLen[base + n], indirFlags[base + n]);
            }
            unmapTable(extra.addr(head), extra.len(head));
            extra.setState(head, 0, NONE);
            indirFree[indirFreeTop++] = t;
            extra.setNext(head, freeHead);
            freeHead = head;
            numFree++;
            return;
        }
        // Put back on free list: unmap first-level descriptors and find end.
        int i = head;
        while (true)
        {
            final int flags = extra.flags(i);
            unmapBuffer(extra.addr(i), extra.len(i), flags);
            numFree++;
            if ((flags & VRING_DESC_F_NEXT) == 0)
            {
                break;
            }
            i = extra.next(i);
        }
        extra.setNext(i, freeHead);
        freeHead = head;
    }

    /**
     * {@code virtqueue_detach_unused_buf()}: after the device was reset (or given up on), takes back one request
     * that was made available but never returned, unmapping it. Call until it returns null.
     *
     * @return a token of a request still in flight, or null when none is left.
     */
    public Object detachUnusedBuf()
    {
        for (int head = 0; head < num; head++)
        {
            final Object token = data[head];
            if (token != null)
            {
                detachBuf(head);
                availIdxShadow = (availIdxShadow - 1) & 0xFFFF;
                ring.soAvailIdx(availIdxShadow);
                availIdxPublished = availIdxShadow;
                return token;
            }
        }
        return null;
    }

    private void badRing(final String reason)
    {
        // BAD_RING: other side has made a mess, don't try any more.
        if (!broken)
        {
            brokenReason = reason;
            broken = true;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // callbacks: virtqueue_disable_cb / enable_cb_prepare / poll / enable_cb / enable_cb_delayed
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_disable_cb_split()}: ask the device not to interrupt. Only a hint: it may still do so.
     */
    public void disableCb()
    {
        if ((availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) == 0)
        {
            availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
            if (event)
            {
                // The kernel's "hack": any value works while the device is not consuming; 0 is as good as any.
                ring.soUsedEvent(0);
            }
            else
            {
                ring.spAvailFlags(availFlagsShadow);
            }
        }
    }

    /**
     * {@code virtqueue_enable_cb_prepare_split()}: re-enable interrupts (both ways: flag and event index) and return
     * the position to {@link #poll(int)} from.
     *
     * @return the last used index seen, opaque to the caller.
     */
    public int enableCbPrepare()
    {
        // We optimistically turn back on interrupts, then check if there was more to do.
        if ((availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) != 0)
        {
            availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
            if (!event)
            {
                ring.spAvailFlags(availFlagsShadow);
            }
        }
        ring.soUsedEvent(lastUsedIdx);
        return lastUsedIdx;
    }

    /**
     * {@code virtqueue_poll()}: after {@link #enableCbPrepare()}, has the device returned anything since?
     *
     * @param lastUsed the value {@link #enableCbPrepare()} returned.
     * @return true if there are used buffers pending (then process them rather than sleep).
     */
    public boolean poll(final int lastUsed)
    {
        // The store of used_event/avail.flags must be visible before we re-read used.idx. Pairs with the device's
        // virtio_mb() between storing used.idx and reading used_event/avail.flags.
        VirtioBarriers.virtioMb();
        return lastUsed != ring.loUsedIdx();
    }

    /**
     * {@code virtqueue_enable_cb()}: re-enable interrupts.
     *
     * @return false if there are pending buffers (the caller must process them: an interrupt may not come).
     */
    public boolean enableCb()
    {
        return !poll(enableCbPrepare());
    }

    /**
     * {@code virtqueue_enable_cb_delayed_split()}: re-enable interrupts, but ask for the interrupt only after about
     * three quarters of the outstanding buffers are used (with EVENT_IDX; without it this is {@link #enableCb()}).
     *
     * @return false if that many are already used (process them now).
     */
    public boolean enableCbDelayed()
    {
        if ((availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) != 0)
        {
            availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
            if (!event)
            {
                ring.spAvailFlags(availFlagsShadow);
            }
        }
        // TODO in the kernel too: tune this threshold.
        final int bufs = ((availIdxShadow - lastUsedIdx) & 0xFFFF) * 3 / 4;
        ring.soUsedEvent((lastUsedIdx + bufs) & 0xFFFF);
        // virtio_store_mb: the event index must be visible before we re-read used.idx.
        VirtioBarriers.virtioMb();
        return ((ring.loUsedIdx() - lastUsedIdx) & 0xFFFF) <= bufs;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // state
    // ---------------------------------------------------------------------------------------------------------------

    /** @return bytes the device wrote into the buffer last returned by {@link #getBuf()}. */
    public int usedLen()
    {
        return lastUsedLen;
    }

    /**
     * @return the head (used id) of the buffer last returned by {@link #getBuf()}. The kernel keeps heads private;
     * vqdma exposes it for protocols that depend on it, such as the loopback pattern of the shared-ring file.
     */
    public int usedId()
    {
        return lastUsedId;
    }

    /**
     * @return the driver's next {@code avail.idx} (its shadow: what was last published), for diagnostics.
     */
    public int availIdx()
    {
        return availIdxShadow;
    }

    /** @return the next used index the driver will take ({@code last_used_idx}), for diagnostics. */
    public int lastUsedIdx()
    {
        return lastUsedIdx;
    }

    @Override
    public String describeIndices()
    {
        return String.format("avail.idx %d, used.idx %d, last used %d", availIdxShadow, ring.loUsedIdx(), lastUsedIdx);
    }

    /** @return {@code used.idx} as the device last published it, opaque load, for diagnostics. */
    public int usedIdx()
    {
        return ring.loUsedIdx();
    }

    /** @return the queue size. */
    public int num()
    {
        return num;
    }

    /** @return free descriptors ({@code vq->num_free}). */
    public int numFree()
    {
        return numFree;
    }

    /** @return requests made available and not yet returned by {@link #getBuf()}. */
    public int inFlight()
    {
        return inFlight;
    }

    /** @return true if the other side made a mess and the queue refuses further work. */
    public boolean isBroken()
    {
        return broken;
    }

    /** @return why the queue is broken, or null. */
    public String brokenReason()
    {
        return brokenReason;
    }

    /**
     * {@code virtio_break_device()}: marks the queue broken from outside (the transport gave up on the device).
     *
     * @param reason why.
     */
    public void breakQueue(final String reason)
    {
        badRing(reason);
    }

    /** @return notifications the driver decided to send. */
    public long kicks()
    {
        return kicks;
    }

    /** @return notifications suppressed by NO_NOTIFY or avail_event. */
    public long kicksSuppressed()
    {
        return kicksSuppressed;
    }

    /** @return the negotiated features. */
    public long features()
    {
        return features;
    }

    /** @return true if buffers go through the DMA API ({@code VIRTIO_F_ACCESS_PLATFORM}). */
    public boolean usesDmaApi()
    {
        return useDmaApi;
    }

    /** @return the DMA ops buffers are mapped with (when {@link #usesDmaApi()}). */
    public DmaOps dma()
    {
        return dma;
    }

    /** @return indirect tables in use by requests in flight (the pool's pressure; 0 without the feature). */
    public int indirectTablesInUse()
    {
        return indirGpa == null ? 0 : indirGpa.length - indirFreeTop;
    }

    /** @return entries of one indirect table (0 without the feature). */
    public int indirectMax()
    {
        return indirMax;
    }

    /** @return the guest-physical address of the ring. */
    public long ringGpa()
    {
        return ringGpa;
    }

    /** @return bus address of the descriptor table, for the transport to hand the device. */
    public long descAddr()
    {
        return descBus;
    }

    /** @return bus address of the available ring. */
    public long availAddr()
    {
        return availBus;
    }

    /** @return bus address of the used ring. */
    public long usedAddr()
    {
        return usedBus;
    }

    @Override
    public long driverAddr()
    {
        return availBus;
    }

    @Override
    public long deviceAddr()
    {
        return usedBus;
    }

    @Override
    public RingLayout layout()
    {
        return RingLayout.SPLIT;
    }

    /**
     * @return the view a device must use for this queue's addresses: the DMA ops' view when the DMA API is used,
     * otherwise guest-physical addresses (the legacy bypass).
     */
    public DeviceView deviceView()
    {
        return useDmaApi ? dma.deviceView() : new DirectDma.View(memory, 0);
    }

    /**
     * Builds the device side of this queue on the same memory, as the transport would after the driver wrote the
     * three ring addresses and enabled the queue.
     *
     * @return a device-side queue.
     */
    public VhostVirtqueue.Builder deviceBuilder()
    {
        return VhostVirtqueue.builder(deviceView(), num, features, descBus, availBus, usedBus);
    }
}
