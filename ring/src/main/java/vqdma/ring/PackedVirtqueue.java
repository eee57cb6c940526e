package vqdma.ring;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DirectDma;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;

import java.nio.ByteOrder;

import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;


/**
 * Padding before the hot fields of {@link PackedVirtqueue}: 128 bytes (two cache lines, for the adjacent-line
 * prefetcher), so that no neighbouring object in the heap shares a line with them.
 */
abstract class PackedVirtqueuePad0 extends Virtqueue
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
 * The driver's private state ({@code vring_virtqueue}'s packed part): plain fields, written by the driver thread on
 * every add and get and never by the device.
 */
abstract class PackedVirtqueueFields extends PackedVirtqueuePad0
{
    int freeHead;
    int numFree;
    int inFlight;
    int nextAvailIdx;
    int availUsedFlags;
    int numAdded;
    int eventFlagsShadow;
    int lastUsedIdx;
    int lastUsedLen;
    int lastUsedId;
    int indirFreeTop;
    int pendingHead;
    int pendingHeadFlags;
    long kicks;
    long kicksSuppressed;
    String brokenReason;
    boolean broken;
}

/** Padding after the hot fields of {@link PackedVirtqueue}: 128 bytes. */
abstract class PackedVirtqueuePad1 extends PackedVirtqueueFields
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
 * The driver side of a packed virtqueue (virtio 1.1, 2.8), as {@code drivers/virtio/virtio_ring.c} implements it:
 * {@link #add(SgList, Object)} is {@code virtqueue_add_packed()} (with {@code virtqueue_add_indirect_packed()}),
 * {@link #kickPrepare()} is {@code virtqueue_kick_prepare_packed()}, {@link #getBuf()} is
 * {@code virtqueue_get_buf_ctx_packed()} with {@code detach_buf_packed()}, and the callback calls are their
 * {@code _packed} namesakes.
 *
 * <h2>How the packed ring differs from the split one</h2>
 * There is one ring of descriptors and no index: the driver writes a request's descriptors at consecutive ring
 * positions from {@code next_avail_idx} (wrapping at the queue size, which need not be a power of two), and makes
 * them available by their flags: AVAIL = its wrap counter, USED = the opposite. The device writes one used
 * descriptor per request (its buffer id and length) at its own position, which advances by the request's descriptor
 * count, with AVAIL = USED = its wrap counter. Requests are named by a <em>buffer id</em> ({@code 0..num-1}, a free
 * list of the driver's own), not by a descriptor index; the driver remembers each id's descriptor count, because
 * that is how far it must move when the device returns the id. The head's flags are written last, behind
 * {@code virtio_wmb}: "A driver MUST NOT make the first descriptor in the list available before all subsequent
 * descriptors comprising the list are made available."
 *
 * <h2>What the driver trusts</h2>
 * Nothing the device can write. Every descriptor's address, length and flags for unmapping live in private arrays
 * ({@code desc_extra}); a returned id must be below the queue size and in flight ("id %d out of range", "id %d is
 * not a head!"), its length within the request's writable bytes. The flags at the driver's used position must be
 * either still available (not yet used) or used in the driver's lap: anything else (a USED bit without the AVAIL
 * bit, a used descriptor of the previous lap, a used descriptor while nothing is in flight) is a device that made a
 * mess. A violation marks the queue broken ({@code BAD_RING}); every later call fails fast.
 *
 * <h2>DMA and indirect tables</h2>
 * As {@link Virtqueue}: buffers mapped through {@link DmaOps} with {@code VIRTIO_F_ACCESS_PLATFORM} (legacy bypass
 * without it, premapped mode), failures unwound and reported as {@link Virtqueue#EIO} or {@link Virtqueue#ENOMEM};
 * with {@code VIRTIO_RING_F_INDIRECT_DESC} a multi-buffer request goes into one indirect table (a pool allocated at
 * set-up), which takes a single ring descriptor.
 *
 * <h2>Publishing in batches</h2>
 * {@link #add(SgList, Object, boolean)} with {@code publish == false} leaves the head flags of the batch's first
 * request unwritten (later requests of the batch are written whole: the device reads the ring in order and cannot
 * reach them before the first); {@link #publishAvail()} or {@link #kickPrepare()} publishes the batch with one fenced
 * store, as the split ring's one store of {@code avail.idx}.
 *
 * <h2>Threads</h2>
 * One driver thread at a time; the device runs concurrently on the other side of the shared memory. Hot paths
 * allocate nothing.
 */
public final class PackedVirtqueue extends PackedVirtqueuePad1
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int NONE = -1;
    private static final int WRAP_SHIFT = VRING_PACKED_EVENT_F_WRAP_CTR;
    private static final int AVAIL_USED = DESC_F_AVAIL | DESC_F_USED;

    private final int num;
    private final long features;
    private final boolean event;
    private final boolean indirect;
    private final boolean useDmaApi;
    private final boolean premapped;
    private final DmaOps dma;
    private final GuestMemory memory;
    private final UnsafeBuffer mem;
    private final PackedRing ring;
    private final long ringGpa;
    private final int ringBytes;
    private final long descBus;
    private final long driverEventBus;
    private final long deviceEventBus;
    private final Notifier notifier;

    // desc_extra: the driver's private copy of every descriptor it wrote (to unmap), and the free list of ids
    // through next. A request of n descriptors takes n entries of the list; the first is its buffer id.
    private final long[] extraAddr;
    private final int[] extraLen;
    private final int[] extraFlags;
    private final int[] extraNext;
    // desc_state: per buffer id.
    private final Object[] data;
    private final int[] descCount;
    private final int[] lastEntry;
    private final int[] indirTable;
    private final long[] writableBytes;

    // The indirect table pool, with private shadows of every entry.
    private final int indirMax;
    private final long[] indirGpa;
    private final long[] indirAddr;
    private final int[] indirLen;
    private final int[] indirFlags;
    private final int[] indirCount;
    private final int[] indirFree;

    private PackedVirtqueue(final Builder b)
    {
        this.num = checkPackedQueueSize(b.num);
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

        this.ringBytes = ringSize(num);
        this.ringGpa = b.ringGpa >= 0 ? b.ringGpa : memory.allocateShared(ringBytes);
        if ((ringGpa & 15) != 0 || !memory.contains(ringGpa, ringBytes))
        {
            throw new IllegalArgumentException(String.format(
                "packed ring at gpa 0x%x (%d bytes) must be 16-aligned and inside guest memory", ringGpa, ringBytes));
        }
        mem.setMemory((int)ringGpa, ringBytes, (byte)0);
        final long ringBus = useDmaApi ? dma.mapCoherent(ringGpa, ringBytes) : ringGpa;
        if (DmaOps.isMappingError(ringBus))
        {
            throw new IllegalStateException("cannot map the ring through " + dma.name());
        }
        this.descBus = ringBus;
        this.driverEventBus = ringBus + driverEventOffset(num);
        this.deviceEventBus = ringBus + deviceEventOffset(num);
        this.ring = new PackedRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, descRingSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + driverEventOffset(num), EVENT_SIZE),
            new UnsafeBuffer(mem, (int)ringGpa + deviceEventOffset(num), EVENT_SIZE));

        extraAddr = new long[num];
        extraLen = new int[num];
        extraFlags = new int[num];
        extraNext = new int[num];
        data = new Object[num];
        descCount = new int[num];
        lastEntry = new int[num];
        indirTable = new int[num];
        writableBytes = new long[num];
        for (int i = 0; i < num; i++)
        {
            extraNext[i] = i + 1; // the last entry's next is never followed: numFree guards it
            indirTable[i] = NONE;
        }
        freeHead = 0;
        numFree = num;
        // Both wrap counters start at 1: the zeroed ring holds no available and no used descriptor.
        nextAvailIdx = 0;
        availUsedFlags = availFlags(1);
        lastUsedIdx = offWrap(0, 1);
        pendingHead = NONE;

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

        // No callback? Tell other side not to bother us.
        eventFlagsShadow = b.callbacks ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE;
        ring.soDriverEventFlags(eventFlagsShadow);
    }

    /**
     * @param b the builder (its features name the packed layout).
     * @return a packed queue, its ring zeroed and mapped.
     */
    static Virtqueue create(final Builder b)
    {
        return new PackedVirtqueue(b);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // add: virtqueue_add_packed / virtqueue_add_indirect_packed
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_add_sgs()}: exposes a request to the device (without notifying it; see {@link #kick()}).
     *
     * @param sg    the request's buffers: device-readable first, then device-writable.
     * @param token the caller's object for this request, returned by {@link #getBuf()}; not null.
     * @return 0, {@link Virtqueue#ENOSPC} if the ring is full, {@link Virtqueue#ENOMEM}/{@link Virtqueue#EIO} if a
     * mapping failed, or {@link Virtqueue#EIO} if the queue is broken. Nothing is left mapped on failure.
     * @throws IllegalArgumentException if the list is empty, longer than the queue, or the token is null.
     */
    public int add(final SgList sg, final Object token)
    {
        return add(sg, token, true);
    }

    /**
     * {@code virtqueue_add_sgs()}, optionally leaving the request unpublished: see the class comment. With
     * {@code publish == false} the device cannot see this request (nor any later one) until {@link #publishAvail()}
     * or {@link #kickPrepare()}.
     *
     * @param sg      the request's buffers: device-readable first, then device-writable.
     * @param token   the caller's object for this request, returned by {@link #getBuf()}; not null.
     * @param publish false to leave the batch's first head flags for {@link #publishAvail()}.
     * @return as {@link #add(SgList, Object)}.
     * @throws IllegalArgumentException if the list is empty, longer than the queue, or the token is null.
     */
    public int add(final SgList sg, final Object token, final boolean publish)
    {
        final int total = sg.size();
        if (total == 0 || total > num || token == null)
        {
            throw new IllegalArgumentException("add of " + total + " buffers (token " + token +
                "): a request needs 1.." + num + " buffers and a non-null token");
        }
        if (broken)
        {
            return EIO;
        }
        final int out = sg.outCount();
        final boolean useIndirect = indirect && total > 1 && numFree > 0 && total <= indirMax && indirFreeTop > 0;
        final int descsUsed = useIndirect ? 1 : total;
        if (numFree < descsUsed)
        {
            return ENOSPC;
        }

        final int id = freeHead;
        final int head = nextAvailIdx;
        int flagsLap = availUsedFlags;
        int pos = head;
        int headFlags;
        long writable = 0;
        if (useIndirect)
        {
            final int t = indirFree[--indirFreeTop];
            final int base = t * indirMax;
            final long tableGpa = indirGpa[t];
            int err = 0;
            int mapped = 0;
            for (; mapped < total; mapped++)
            {
                final int len = sg.len(mapped);
                final int flags = mapped < out ? 0 : VRING_DESC_F_WRITE;
                final long addr = mapBuffer(sg.addr(mapped), len, flags);
                if (DmaOps.isMappingError(addr))
                {
                    err = mappingErrno(len);
                    break;
                }
                indirAddr[base + mapped] = addr;
                indirLen[base + mapped] = len;
                indirFlags[base + mapped] = flags;
                writable += mapped < out ? 0 : len;
                final int offset = (int)tableGpa + descOffset(mapped);
                mem.putLong(offset + DESC_ADDR_OFFSET, addr, LE);
                mem.putInt(offset + DESC_LEN_OFFSET, len, LE);
                mem.putShort(offset + DESC_ID_OFFSET, (short)0, LE);
                mem.putShort(offset + DESC_FLAGS_OFFSET, (short)flags, LE);
            }
            final int tableLen = total * DESC_SIZE;
            // Now that the indirect table is filled in, map it (a bounce buffer copies it at map time).
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
            indirTable[id] = t;
            extraAddr[id] = tableAddr;
            extraLen[id] = tableLen;
            extraFlags[id] = VRING_DESC_F_INDIRECT;
            ring.spDescBody(head, tableAddr, tableLen, id);
            headFlags = VRING_DESC_F_INDIRECT | flagsLap;
            lastEntry[id] = id;
            freeHead = extraNext[id];
            if (++pos >= num)
            {
                pos = 0;
                flagsLap ^= AVAIL_USED;
            }
        }
        else
        {
            int curr = id;
            int prev = id;
            int mapped = 0;
            int err = 0;
            headFlags = 0;
            for (; mapped < total; mapped++)
            {
                final int len = sg.len(mapped);
                final int flags = flagsLap | (mapped + 1 < total ? VRING_DESC_F_NEXT : 0) |
                    (mapped < out ? 0 : VRING_DESC_F_WRITE);
                final long addr = mapBuffer(sg.addr(mapped), len, flags);
                if (DmaOps.isMappingError(addr))
                {
                    err = mappingErrno(len);
                    break;
                }
                extraAddr[curr] = addr;
                extraLen[curr] = len;
                extraFlags[curr] = flags & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
                writable += mapped < out ? 0 : len;
                if (mapped == 0)
                {
                    // The head's flags are written last, once the whole chain is in place.
                    ring.spDescBody(pos, addr, len, id);
                    headFlags = flags;
                }
                else
                {
                    ring.spDesc(pos, addr, len, id, flags);
                }
                prev = curr;
                curr = extraNext[curr];
                if (++pos >= num)
                {
                    pos = 0;
                    flagsLap ^= AVAIL_USED;
                }
            }
            if (err != 0)
            {
                // unmap_release: walk what was mapped, from the private copy. The descriptors written stay behind an
                // unpublished head; the next add overwrites them.
                for (int n = 0, c = id; n < mapped; n++, c = extraNext[c])
                {
                    unmapBuffer(extraAddr[c], extraLen[c], extraFlags[c]);
                }
                return err;
            }
            lastEntry[id] = prev;
            freeHead = curr;
        }

        numFree -= descsUsed;
        inFlight++;
        data[id] = token;
        descCount[id] = descsUsed;
        writableBytes[id] = writable;
        nextAvailIdx = pos;
        availUsedFlags = flagsLap;

        if (pendingHead == NONE)
        {
            if (publish)
            {
                // A driver MUST NOT make the first descriptor in the list available before all subsequent descriptors
                // comprising the list are made available. Pairs with the device's virtio_rmb() after it loads the
                // head's flags.
                VirtioBarriers.virtioWmb();
                ring.soDescFlags(head, headFlags);
            }
            else
            {
                pendingHead = head;
                pendingHeadFlags = headFlags;
            }
        }
        else
        {
            // An earlier head of this batch is still unpublished: the device reads the ring in order and cannot reach
            // this head before that one, whose store (behind virtio_wmb) publishes this request too.
            ring.soDescFlags(head, headFlags);
            if (publish)
            {
                publishAvail();
            }
        }
        numAdded += descsUsed;
        // The kick decision compares u16 distances: kick before they could wrap.
        if (numAdded >= 0xFFFF - num)
        {
            kick();
        }
        return 0;
    }

    /**
     * Publishes the requests added without publishing ({@link #add(SgList, Object, boolean)}): writes the batch's
     * first head flags behind {@code virtio_wmb}; does nothing if there are none.
     */
    public void publishAvail()
    {
        final int head = pendingHead;
        if (head != NONE)
        {
            // The batch's descriptors, and the whole chains after its first head, must be visible before that head's
            // flags make them available. Pairs with the device's virtio_rmb() after it loads the flags.
            VirtioBarriers.virtioWmb();
            ring.soDescFlags(head, pendingHeadFlags);
            pendingHead = NONE;
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
    // kick: virtqueue_kick_prepare_packed / virtqueue_notify
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_kick_prepare_packed()}: does the device want a notification for what was added since the last
     * call? It reads the device event suppression structure: DISABLE means no, ENABLE yes, and DESC (with EVENT_IDX)
     * asks whether the descriptors added since the last call passed {@code off_wrap}. Requests added without
     * publishing are published first.
     *
     * @return true if the caller should notify the device.
     */
    public boolean kickPrepare()
    {
        publishAvail();
        // We need to expose the new flags value before checking notification suppressions. Pairs with the device's
        // virtio_mb() between writing its event structure and re-reading the flags at its avail position.
        VirtioBarriers.virtioMb();
        final int newIdx = nextAvailIdx;
        final int oldIdx = (newIdx - numAdded) & 0xFFFF;
        numAdded = 0;
        final int flags = ring.loDeviceEventFlags();
        final boolean needKick;
        if (flags != VRING_PACKED_EVENT_FLAG_DESC)
        {
            needKick = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
        }
        else
        {
            // off_wrap is written before the DESC flag: read it after the flag. Pairs with the device's
            // virtio_wmb() between them.
            VirtioBarriers.virtioRmb();
            final int offWrap = ring.loDeviceEventOffWrap();
            int eventIdx = offWrap & OFF_WRAP_OFFSET_MASK;
            if (offWrap >>> WRAP_SHIFT != availWrapCounter())
            {
                eventIdx -= num;
            }
            needKick = vringNeedEvent(eventIdx & 0xFFFF, newIdx, oldIdx);
        }
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

    private int availWrapCounter()
    {
        return (availUsedFlags & DESC_F_AVAIL) != 0 ? 1 : 0;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // get: virtqueue_get_buf_ctx_packed / detach_buf_packed
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code more_used_packed()}.
     *
     * @return true if the descriptor at the driver's used position is used in its lap (the device returned a
     * buffer that {@link #getBuf()} has not taken yet).
     */
    public boolean moreUsed()
    {
        final int lastUsed = lastUsedIdx;
        return isUsed(ring.loDescFlags(lastUsed & OFF_WRAP_OFFSET_MASK), lastUsed >>> WRAP_SHIFT);
    }

    /**
     * {@code virtqueue_get_buf()}: takes the next buffer the device returned, unmaps it and frees its descriptors.
     *
     * @return the token given to {@link #add}, or null if there is none (or the queue is broken: see
     * {@link #isBroken()}). The bytes the device wrote are in {@link #usedLen()}.
     */
    public Object getBuf()
    {
        if (broken)
        {
            return null;
        }
        final int lastUsed = lastUsedIdx;
        int pos = lastUsed & OFF_WRAP_OFFSET_MASK;
        int wrap = lastUsed >>> WRAP_SHIFT;
        final int flags = ring.loDescFlags(pos);
        if (!isUsed(flags, wrap))
        {
            if (inFlight > 0 && pos != pendingHead && !isAvail(flags, wrap))
            {
                badUsedFlags(pos, flags, wrap);
            }
            return null;
        }
        if (inFlight == 0)
        {
            badRing(String.format("descriptor %d is used in wrap %d (flags 0x%04x) but no buffer is in flight",
                pos, wrap, flags));
            return null;
        }
        // Only get used elements after they have been exposed by host. Pairs with the device's virtio_wmb() before
        // it stores the used descriptor's flags.
        VirtioBarriers.virtioRmb();
        final int id = ring.lpDescId(pos);
        final int len = ring.lpDescLen(pos);
        if (id >= num)
        {
            badRing(String.format("id %d out of range", id));
            return null;
        }
        final Object token = data[id];
        if (token == null)
        {
            badRing(String.format("id %d is not a head!", id));
            return null;
        }
        if (Integer.toUnsignedLong(len) > writableBytes[id])
        {
            badRing(String.format("used len %d is greater than the %d writable bytes of buffer %d",
                Integer.toUnsignedLong(len), writableBytes[id], id));
            return null;
        }
        pos += descCount[id];
        detachBuf(id);
        lastUsedLen = len;
        lastUsedId = id;
        if (pos >= num)
        {
            pos -= num;
            wrap ^= 1;
        }
        lastUsedIdx = offWrap(pos, wrap);
        // If we expect an interrupt for the next entry, tell host by writing event index and flush out the write
        // before the read in the next get_buf call (virtio_store_mb).
        if (eventFlagsShadow == VRING_PACKED_EVENT_FLAG_DESC)
        {
            ring.soDriverEventOffWrap(lastUsedIdx);
            VirtioBarriers.virtioMb();
        }
        return token;
    }

    private void badUsedFlags(final int pos, final int flags, final int wrap)
    {
        final int avail = (flags & DESC_F_AVAIL) != 0 ? 1 : 0;
        final int used = (flags & DESC_F_USED) != 0 ? 1 : 0;
        if (used == wrap)
        {
            badRing(String.format("descriptor %d has the USED bit of wrap %d without the AVAIL bit (flags 0x%04x)",
                pos, wrap, flags));
        }
        else
        {
            badRing(String.format("descriptor %d has AVAIL %d and USED %d, the used state of the previous lap, where " +
                "the driver made a buffer available in wrap %d (flags 0x%04x)", pos, avail, used, wrap, flags));
        }
    }

    private void detachBuf(final int id)
    {
        data[id] = null;
        inFlight--;
        final int count = descCount[id];
        final int t = indirTable[id];
        if (t != NONE)
        {
            final int base = t * indirMax;
            for (int n = 0, c = indirCount[t]; n < c; n++)
            {
                unmapBuffer(indirAddr[base + n], indirLen[base + n], indirFlags[base + n]);
            }
            unmapTable(extraAddr[id], extraLen[id]);
            indirTable[id] = NONE;
            indirFree[indirFreeTop++] = t;
        }
        else
        {
            for (int n = 0, c = id; n < count; n++, c = extraNext[c])
            {
                unmapBuffer(extraAddr[c], extraLen[c], extraFlags[c]);
            }
        }
        extraNext[lastEntry[id]] = freeHead;
        freeHead = id;
        numFree += count;
    }

    /**
     * {@code virtqueue_detach_unused_buf()}: after the device was reset (or given up on), takes back one request
     * that was made available but never returned, unmapping it. Call until it returns null. The ring itself is left
     * as it is: as in the kernel, a packed queue is re-initialised before it is used again.
     *
     * @return a token of a request still in flight, or null when none is left.
     */
    public Object detachUnusedBuf()
    {
        for (int id = 0; id < num; id++)
        {
            final Object token = data[id];
            if (token != null)
            {
                detachBuf(id);
                return token;
            }
        }
        pendingHead = NONE;
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
    // callbacks: virtqueue_disable_cb / enable_cb_prepare / poll / enable_cb / enable_cb_delayed (packed)
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_disable_cb_packed()}: ask the device not to interrupt (driver event flags DISABLE). Only a
     * hint: it may still do so.
     */
    public void disableCb()
    {
        if (eventFlagsShadow != VRING_PACKED_EVENT_FLAG_DISABLE)
        {
            eventFlagsShadow = VRING_PACKED_EVENT_FLAG_DISABLE;
            ring.soDriverEventFlags(eventFlagsShadow);
        }
    }

    /**
     * {@code virtqueue_enable_cb_prepare_packed()}: re-enable interrupts (ENABLE, or DESC at the driver's used
     * position with EVENT_IDX) and return the position to {@link #poll(int)} from.
     *
     * @return the driver's used position and its wrap counter ({@code off_wrap} form), opaque to the caller.
     */
    public int enableCbPrepare()
    {
        // We optimistically turn back on interrupts, then check if there was more to do.
        if (event)
        {
            ring.soDriverEventOffWrap(lastUsedIdx);
            // We need to update event offset and event wrap counter first before updating event flags. Pairs with
            // the device's virtio_rmb() between reading the flags and off_wrap.
            VirtioBarriers.virtioWmb();
        }
        if (eventFlagsShadow == VRING_PACKED_EVENT_FLAG_DISABLE)
        {
            eventFlagsShadow = event ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE;
            ring.soDriverEventFlags(eventFlagsShadow);
        }
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
        final int pos = lastUsed & OFF_WRAP_OFFSET_MASK;
        if (pos >= num || lastUsed >>> (WRAP_SHIFT + 1) != 0)
        {
            throw new IllegalArgumentException("poll(" + lastUsed + "): not a value enableCbPrepare() returned");
        }
        // The event structure must be visible before we re-read the ring. Pairs with the device's virtio_mb()
        // between storing a used descriptor's flags and reading the driver event structure.
        VirtioBarriers.virtioMb();
        return isUsed(ring.loDescFlags(pos), lastUsed >>> WRAP_SHIFT);
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
     * {@code virtqueue_enable_cb_delayed_packed()}: re-enable interrupts, but with EVENT_IDX ask for the interrupt
     * only after about three quarters of the descriptors in flight are used.
     *
     * @return false if a used buffer is already pending (process it now).
     */
    public boolean enableCbDelayed()
    {
        final int lastUsed = lastUsedIdx;
        if (event)
        {
            // TODO in the kernel too: tune this threshold.
            final int bufs = (num - numFree) * 3 / 4;
            int pos = (lastUsed & OFF_WRAP_OFFSET_MASK) + bufs;
            int wrap = lastUsed >>> WRAP_SHIFT;
            if (pos >= num)
            {
                pos -= num;
                wrap ^= 1;
            }
            ring.soDriverEventOffWrap(offWrap(pos, wrap));
            // We need to update event offset and event wrap counter first before updating event flags.
            VirtioBarriers.virtioWmb();
        }
        if (eventFlagsShadow == VRING_PACKED_EVENT_FLAG_DISABLE)
        {
            eventFlagsShadow = event ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE;
            ring.soDriverEventFlags(eventFlagsShadow);
        }
        // We need to update event suppression structure first before re-checking for more used buffers. Pairs with
        // the device's virtio_mb() in its interrupt decision.
        VirtioBarriers.virtioMb();
        return !isUsed(ring.loDescFlags(lastUsed & OFF_WRAP_OFFSET_MASK), lastUsed >>> WRAP_SHIFT);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // state
    // ---------------------------------------------------------------------------------------------------------------

    /** @return bytes the device wrote into the buffer last returned by {@link #getBuf()}. */
    public int usedLen()
    {
        return lastUsedLen;
    }

    /** @return the buffer id of the buffer last returned by {@link #getBuf()}. */
    public int usedId()
    {
        return lastUsedId;
    }

    /** @return the driver's next avail position with its wrap counter ({@code off_wrap} form), for diagnostics. */
    public int availIdx()
    {
        return offWrap(nextAvailIdx, availWrapCounter());
    }

    /** @return the driver's next used position with its wrap counter ({@code off_wrap} form), for diagnostics. */
    public int lastUsedIdx()
    {
        return lastUsedIdx;
    }

    @Override
    public String describeIndices()
    {
        final int pos = lastUsedIdx & OFF_WRAP_OFFSET_MASK;
        return String.format("packed: next avail %d wrap %d, last used %d wrap %d, flags there 0x%04x",
            nextAvailIdx, availWrapCounter(), pos, lastUsedIdx >>> WRAP_SHIFT, ring.loDescFlags(pos));
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

    /** @return notifications suppressed by the device event structure. */
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

    /** @return indirect tables in use by requests in flight (0 without the feature). */
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

    /** @return bus address of the descriptor ring (the descriptor area). */
    public long descAddr()
    {
        return descBus;
    }

    /** @return bus address of the driver event suppression structure (the driver area). */
    public long driverAddr()
    {
        return driverEventBus;
    }

    /** @return bus address of the device event suppression structure (the device area). */
    public long deviceAddr()
    {
        return deviceEventBus;
    }

    /**
     * @return the view a device must use for this queue's addresses: the DMA ops' view when the DMA API is used,
     * otherwise guest-physical addresses (the legacy bypass).
     */
    public DeviceView deviceView()
    {
        return useDmaApi ? dma.deviceView() : new DirectDma.View(memory, 0);
    }

    @Override
    public RingLayout layout()
    {
        return RingLayout.PACKED;
    }
}
