package vqdma.ring;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaFault;

import static vqdma.ring.SplitRingDescriptor.*;
import static vqdma.ring.Vring.*;


/**
 * Padding before the hot fields of {@link VhostVirtqueue}: 128 bytes (two cache lines, for the adjacent-line prefetcher), so
 * that no neighbouring object in the heap shares a line with them. Byte fields leave no hole for the JVM's field
 * layout to fill with a subclass field.
 */
abstract class VhostVirtqueuePad0 extends VhostVirtqueue
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
 * The device's private state ({@code vhost_virtqueue}'s indices): plain fields, written by the device thread on
 * every pop and used element and never by the driver. Padded on both sides so that the driver thread's hot state
 * (a {@link Virtqueue} next to this object in the heap) never shares their cache lines.
 */
abstract class VhostVirtqueueFields extends VhostVirtqueuePad0
{
    int lastAvailIdx;
    int availIdxCache;
    int usedIdxShadow;
    int usedFlagsShadow;
    int signalledUsed;
    boolean signalledUsedValid;
    long interrupts;
    long interruptsSuppressed;
    long badChains;
    String lastError;
    String brokenReason;
    boolean broken;
}

/** Padding after the hot fields of {@link VhostVirtqueue}: 128 bytes. */
abstract class VhostVirtqueuePad1 extends VhostVirtqueueFields
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
 * The device side of a split virtqueue, as vhost ({@code drivers/vhost/vhost.c}) implements it:
 * {@link #pop(DescriptorChain)} is {@code vhost_get_vq_desc()}, {@link #addUsed(int, int)}/{@link #flushUsed()} are
 * {@code vhost_add_used_n()}, {@link #needInterrupt()} is {@code vhost_notify()}, and
 * {@link #enableNotify()}/{@link #disableNotify()} are their vhost namesakes.
 *
 * <h2>The ring is untrusted</h2>
 * Everything in guest memory may have been written by a buggy or hostile driver, so every value is checked before
 * it is used: {@code avail.idx} may not run more than the queue size ahead, a head and every {@code next} must be an
 * index below the queue size, a chain may not have more than queue-size links (a loop), readable descriptors come
 * before writable ones, an indirect descriptor needs the feature, may not carry NEXT, may not nest, and its table
 * length must be a non-zero multiple of 16 of at most 16 * num bytes; every buffer and table is translated and
 * checked through the {@link DeviceView}, so no byte outside what the driver mapped is ever read or written.
 * <p>
 * A violation that leaves no valid head to return (a bad avail index or head) breaks the queue: {@link #pop}
 * returns {@link #BROKEN} from then on and {@link #brokenReason()} says why. A bad chain behind a valid head is
 * handled by the {@link BadChainPolicy}: complete it with zero bytes written and go on, or break the queue.
 *
 * <h2>Threads</h2>
 * One device thread per queue. The ring parts are translated once at set-up (vhost's {@code vq_meta_prefetch()});
 * all entry offsets come from masked indices, so no value from the ring becomes an unchecked offset.
 */
public final class SplitVhostVirtqueue extends VhostVirtqueuePad1
{
    private final DeviceView view;
    private final int num;
    private final int mask;
    private final boolean event;
    private final boolean indirect;
    private final SplitRing ring;
    private final BadChainPolicy policy;
    private final int maxRuns;


    private SplitVhostVirtqueue(final Builder b)
    {
        this.view = b.view;
        this.num = checkQueueSize(b.num);
        this.mask = num - 1;
        this.event = hasFeature(b.features, VIRTIO_RING_F_EVENT_IDX);
        this.indirect = hasFeature(b.features, VIRTIO_RING_F_INDIRECT_DESC);
        this.policy = b.policy;
        final UnsafeBuffer mem = view.memory().buffer();
        // vq_meta_prefetch(): each part must be reachable, with the right permission, and contiguous.
        final long descGpa = view.translateContiguous(b.descBus, descTableSize(num), DeviceView.READ);
        final long availGpa = view.translateContiguous(b.driverBus, availSize(num), DeviceView.READ);
        final long usedGpa = view.translateContiguous(b.deviceBus, usedSize(num), DeviceView.READ | DeviceView.WRITE);
        this.ring = new SplitRing(num,
            new UnsafeBuffer(mem, (int)descGpa, descTableSize(num)),
            new UnsafeBuffer(mem, (int)availGpa, availSize(num)),
            new UnsafeBuffer(mem, (int)usedGpa, usedSize(num)));
        this.maxRuns = b.maxRuns;
        // VHOST_SET_VRING_BASE: where the device resumes; 0 for a fresh queue. Never read from the ring: the
        // driver may already have published buffers, and they must not be skipped.
        final int base = b.base < 0 ? 0 : b.base & 0xFFFF;
        this.lastAvailIdx = base;
        this.availIdxCache = base;
        this.usedIdxShadow = base;
        this.signalledUsed = base;
    }

    /**
     * @param b the builder, with a queue size that is a power of two in 1..32768.
     * @return a split device-side queue.
     */
    static VhostVirtqueue create(final Builder b)
    {
        return new SplitVhostVirtqueue(b);
    }

    /**
     * Creates a chain object sized for this queue's run capacity.
     *
     * @return a reusable chain to pass to {@link #pop(DescriptorChain)}.
     */
    public DescriptorChain newChain()
    {
        return new DescriptorChain(view.memory().buffer(), maxRuns);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // pop: vhost_get_vq_desc
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code vhost_get_vq_desc()}: takes the next available chain, walks and checks it and translates it into runs.
     *
     * @param chain receives the chain; its run capacity must be this queue's ({@link #newChain()}).
     * @return the head index, {@link #EMPTY}, or {@link #BROKEN}.
     */
    public int pop(final DescriptorChain chain)
    {
        while (true)
        {
            if (broken)
            {
                return BROKEN;
            }
            final int lastAvail = lastAvailIdx;
            if (lastAvail == availIdxCache)
            {
                final int availIdx = ring.loAvailIdx();
                if (((availIdx - lastAvail) & 0xFFFF) > num)
                {
                    return breakQueue("Guest moved avail index from %d to %d", lastAvail, availIdx);
                }
                availIdxCache = availIdx;
                if (availIdx == lastAvail)
                {
                    return EMPTY;
                }
            }
            // Only get avail ring entries after they have been exposed by guest. Pairs with the driver's
            // virtio_wmb() before it stores avail.idx.
            VirtioBarriers.virtioRmb();
            final int head = ring.lpAvailRing(lastAvail & mask);
            if (head >= num)
            {
                return breakQueue("Guest says index %d > %d is available", head, num);
            }
            lastAvailIdx = (lastAvail + 1) & 0xFFFF;
            final String error = walk(head, chain);
            if (error == null)
            {
                return head;
            }
            if (badChain(head, error))
            {
                return BROKEN;
            }
        }
    }

    /** @return {@link #BROKEN}, after breaking the queue with the formatted reason. */
    private int breakQueue(final String format, final int a, final int b)
    {
        breakQueue(String.format(format, a, b));
        return BROKEN;
    }

    /** A malformed chain behind a valid head: counted, then completed empty or fatal. @return true if fatal. */
    private boolean badChain(final int head, final String error)
    {
        badChains++;
        lastError = error;
        if (policy == BadChainPolicy.STOP)
        {
            breakQueue(error);
            return true;
        }
        pushUsed(head, 0);
        return false;
    }

    /**
     * Walks and checks the chain at {@code head} and translates it into {@code chain}'s runs.
     * <p>
     * The counts and byte totals live in locals and reach the chain once, at the end: they are heap fields of the
     * chain, and updating them descriptor by descriptor cost a load and a store each in the hottest loop of the
     * device (and the registers the JIT then spilled elsewhere).
     *
     * @return null, or why the chain is malformed (the chain's contents are then undefined).
     */
    private String walk(final int head, final DescriptorChain chain)
    {
        final SplitRing ring = this.ring;
        final int num = this.num;
        final long[] gpaOut = chain.gpaArray();
        final long[] lenOut = chain.lenArray();
        int outRuns = 0;
        int inRuns = 0;
        long readable = 0;
        long writable = 0;
        int i = head;
        int found = 0;
        while (true)
        {
            if (i >= num)
            {
                return error("Desc index is %d > %d, head = %d", i, num, head);
            }
            if (++found > num)
            {
                return error("Loop detected: last one at %d vq size %d head %d", i, num, head);
            }
            final int flags = ring.lpDescFlags(i);
            final long addr = ring.lpDescAddr(i);
            final long length = Integer.toUnsignedLong(ring.lpDescLen(i));
            if ((flags & VRING_DESC_F_INDIRECT) != 0)
            {
                // An indirect descriptor ends the chain (with NEXT it is refused): the table's entries follow.
                chain.set(head, found - 1, outRuns, inRuns, readable, writable);
                return walkIndirect(head, i, flags, addr, length, chain);
            }
            final boolean write = (flags & VRING_DESC_F_WRITE) != 0;
            if (!write && inRuns > 0)
            {
                return error("Descriptor has out after in: idx %d, head %d", i, head, 0);
            }
            final int runs = translate(head, i, write, addr, length, gpaOut, lenOut, outRuns + inRuns);
            if (runs < 0)
            {
                return translateError(runs, head, i, gpaOut.length);
            }
            if (write)
            {
                inRuns += runs;
                writable += length;
            }
            else
            {
                outRuns += runs;
                readable += length;
            }
            if ((flags & VRING_DESC_F_NEXT) == 0)
            {
                chain.set(head, found, outRuns, inRuns, readable, writable);
                return null;
            }
            i = ring.lpDescNext(i);
        }
    }

    private String walkIndirect(
        final int head, final int i, final int flags, final long addr, final long length, final DescriptorChain chain)
    {
        if (!indirect)
        {
            return String.format("Indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC: idx %d, head %d", i, head);
        }
        if ((flags & VRING_DESC_F_NEXT) != 0)
        {
            return String.format("Indirect descriptor with NEXT flag: idx %d, head %d", i, head);
        }
        if (length == 0 || (length & (DESC_SIZE - 1)) != 0)
        {
            return String.format("Invalid length in indirect descriptor: len 0x%x not a non-zero multiple of 0x10, " +
                "head %d", length, head);
        }
        if (length > (long)num * DESC_SIZE)
        {
            return String.format("Indirect buffer length too big: %d > %d, head %d", length, num * DESC_SIZE, head);
        }
        final long tableGpa;
        try
        {
            tableGpa = view.translateContiguous(addr, length, DeviceView.READ);
        }
        catch (final DmaFault fault)
        {
            return String.format("Translation failure of indirect table at desc %d, head %d: %s",
                i, head, fault.getMessage());
        }
        // The table is read from guest memory entry by entry, like the ring, at absolute addresses inside the range
        // just translated (j < count); every value is checked again.
        final long table = view.memory().buffer().addressOffset() + tableGpa;
        final long[] gpaOut = chain.gpaArray();
        final long[] lenOut = chain.lenArray();
        int descriptors = chain.descriptors();
        int outRuns = chain.outRuns();
        int inRuns = chain.inRuns();
        long readable = chain.readableBytes();
        long writable = chain.writableBytes();
        final int count = (int)(length / DESC_SIZE);
        int j = 0;
        int found = 0;
        while (true)
        {
            if (++found > count)
            {
                return error("Loop detected in indirect table: last one at %d of %d, head %d", j, count, head);
            }
            final long entry = table + descOffset(j);
            final int eFlags = SplitRing.lpTableFlags(entry);
            final long eAddr = SplitRing.lpTableAddr(entry);
            final long eLen = Integer.toUnsignedLong(SplitRing.lpTableLen(entry));
            if ((eFlags & VRING_DESC_F_INDIRECT) != 0)
            {
                return error("Nested indirect descriptor: idx %d in the table of head %d", j, head, 0);
            }
            final boolean write = (eFlags & VRING_DESC_F_WRITE) != 0;
            if (!write && inRuns > 0)
            {
                return error("Descriptor has out after in: idx %d, head %d", j, head, 0);
            }
            final int runs = translate(head, j, write, eAddr, eLen, gpaOut, lenOut, outRuns + inRuns);
            if (runs < 0)
            {
                return translateError(runs, head, j, gpaOut.length);
            }
            descriptors++;
            if (write)
            {
                inRuns += runs;
                writable += eLen;
            }
            else
            {
                outRuns += runs;
                readable += eLen;
            }
            if ((eFlags & VRING_DESC_F_NEXT) == 0)
            {
                chain.set(head, descriptors, outRuns, inRuns, readable, writable);
                return null;
            }
            final int eNext = SplitRing.lpTableNext(entry);
            if (eNext >= count)
            {
                return error("Indirect desc next is %d >= %d entries, head %d", eNext, count, head);
            }
            j = eNext;
        }
    }

    /** {@link #translate} result: the buffer does not translate (the fault is in {@link #translateFault}). */
    private static final int TRANSLATE_FAULT = -2;

    /** Why the last translation failed, for the error message (the fault path only). */
    private DmaFault translateFault;

    /**
     * Translates one descriptor's buffer into runs at {@code gpaOut[at..]} through the device view.
     *
     * @return the number of runs, -1 if the run arrays are full (vhost's {@code -ENOBUFS}), or
     * {@link #TRANSLATE_FAULT} if the view refused the buffer.
     */
    private int translate(
        final int head, final int i, final boolean write, final long addr, final long length, final long[] gpaOut,
        final long[] lenOut, final int at)
    {
        try
        {
            return view.translate(addr, length, write ? DeviceView.WRITE : DeviceView.READ, gpaOut, lenOut, at);
        }
        catch (final DmaFault fault)
        {
            translateFault = fault;
            return TRANSLATE_FAULT;
        }
    }

    /** A chain's error message, formatted out of the walk's loops (the loops stay small enough to inline). */
    private static String error(final String format, final int a, final int b, final int c)
    {
        return String.format(format, a, b, c);
    }

    private String translateError(final int runs, final int head, final int i, final int maxRuns)
    {
        if (runs == TRANSLATE_FAULT)
        {
            final DmaFault fault = translateFault;
            translateFault = null;
            return String.format("Translation failure at desc %d, head %d: %s", i, head, fault.getMessage());
        }
        return String.format("Chain at head %d needs more than %d runs", head, maxRuns);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // used: vhost_add_used_n / vhost_notify
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Writes a used element without publishing it; {@link #flushUsed()} publishes all added so far at once
     * ({@code vhost_add_used_n()} batching).
     *
     * @param head the chain's head, as returned by {@link #pop}.
     * @param written bytes written into the chain's writable part (u32).
     */
    public void addUsed(final int head, final int written)
    {
        if (head < 0 || head >= num)
        {
            throw new IllegalArgumentException("used id " + head + " is not a descriptor index of a queue of " + num);
        }
        ring.spUsedElem(usedIdxShadow & mask, head, written);
        usedIdxShadow = (usedIdxShadow + 1) & 0xFFFF;
    }

    /**
     * Publishes every element added by {@link #addUsed} since the last flush.
     */
    public void flushUsed()
    {
        // Make sure buffer is written before we update index. Pairs with the driver's virtio_rmb() after it loads
        // used.idx.
        VirtioBarriers.virtioWmb();
        ring.soUsedIdx(usedIdxShadow);
    }

    /**
     * {@code vhost_add_used()}: returns one chain to the driver and publishes it.
     *
     * @param head    the chain's head.
     * @param written bytes written into the chain.
     */
    public void pushUsed(final int head, final int written)
    {
        addUsed(head, written);
        flushUsed();
    }

    /**
     * {@code vhost_notify()}: after publishing used entries, does the driver want an interrupt? With EVENT_IDX: did
     * used.idx pass {@code used_event} since the last interrupt; otherwise: is {@code NO_INTERRUPT} clear.
     *
     * @return true if the device should interrupt the driver now.
     */
    public boolean needInterrupt()
    {
        // Flush out used index updates. This is paired with the barrier that the Guest executes when enabling
        // interrupts (virtio_mb() in virtqueue_poll()/virtio_store_mb() in get_buf and enable_cb_delayed).
        VirtioBarriers.virtioMb();
        final boolean need;
        if (!event)
        {
            need = (ring.lpAvailFlags() & VRING_AVAIL_F_NO_INTERRUPT) == 0;
        }
        else
        {
            final int old = signalledUsed;
            final boolean valid = signalledUsedValid;
            signalledUsed = usedIdxShadow;
            signalledUsedValid = true;
            need = !valid || vringNeedEvent(ring.loUsedEvent(), usedIdxShadow, old);
        }
        if (need)
        {
            interrupts++;
        }
        else
        {
            interruptsSuppressed++;
        }
        return need;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // notification suppression: vhost_disable_notify / vhost_enable_notify
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code vhost_disable_notify()}: tell the driver not to kick while the device is polling. A hint only.
     */
    public void disableNotify()
    {
        if ((usedFlagsShadow & VRING_USED_F_NO_NOTIFY) != 0)
        {
            return;
        }
        usedFlagsShadow |= VRING_USED_F_NO_NOTIFY;
        if (!event)
        {
            ring.spUsedFlags(usedFlagsShadow);
        }
    }

    /**
     * {@code vhost_enable_notify()}: ask for kicks again before going to sleep.
     *
     * @return true if the driver made buffers available meanwhile: process them instead of sleeping, or a kick may
     * never come.
     */
    public boolean enableNotify()
    {
        if ((usedFlagsShadow & VRING_USED_F_NO_NOTIFY) == 0 && !event)
        {
            return false;
        }
        usedFlagsShadow &= ~VRING_USED_F_NO_NOTIFY;
        if (!event)
        {
            ring.spUsedFlags(usedFlagsShadow);
        }
        else
        {
            ring.soAvailEvent(lastAvailIdx);
        }
        // They could have slipped one in as we were doing that: make sure it's written, then check again. Pairs with
        // the driver's virtio_mb() in kick_prepare.
        VirtioBarriers.virtioMb();
        return ring.loAvailIdx() != lastAvailIdx;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // state
    // ---------------------------------------------------------------------------------------------------------------

    private void breakQueue(final String reason)
    {
        if (!broken)
        {
            brokenReason = reason;
            lastError = reason;
            broken = true;
        }
    }

    /** @return the queue size. */
    public int num()
    {
        return num;
    }

    /** @return true if the driver made a mess the device cannot recover from. */
    public boolean isBroken()
    {
        return broken;
    }

    /** @return why the queue is broken, or null. */
    public String brokenReason()
    {
        return brokenReason;
    }

    /** @return malformed chains seen (completed or fatal). */
    public long badChains()
    {
        return badChains;
    }

    /** @return the most recent error, bad chain or break, or null. */
    public String lastError()
    {
        return lastError;
    }

    /** @return interrupts the device decided to send. */
    public long interrupts()
    {
        return interrupts;
    }

    /** @return interrupts suppressed by NO_INTERRUPT or used_event. */
    public long interruptsSuppressed()
    {
        return interruptsSuppressed;
    }

    /** @return the device's next avail index to consume ({@code last_avail_idx}). */
    public int lastAvailIdx()
    {
        return lastAvailIdx;
    }

    /** @return the device's next used index to write. */
    public int usedIdx()
    {
        return usedIdxShadow;
    }

    /** @return the view through which this queue reaches guest memory. */
    public DeviceView view()
    {
        return view;
    }

    @Override
    public RingLayout layout()
    {
        return RingLayout.SPLIT;
    }
}
