package vqdma.ring;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaFault;

import java.nio.ByteOrder;

import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;


/**
 * Padding before the hot fields of {@link PackedVhostVirtqueue}: 128 bytes (two cache lines, for the adjacent-line
 * prefetcher), so that no neighbouring object in the heap shares a line with them.
 */
abstract class PackedVhostVirtqueuePad0 extends VhostVirtqueue
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
 * The device's private state: ring positions with their wrap counters, written by the device thread on every pop
 * and used descriptor and never by the driver.
 */
abstract class PackedVhostVirtqueueFields extends PackedVhostVirtqueuePad0
{
    int lastAvailIdx;
    int availWrap;
    int usedIdx;
    int usedWrap;
    int inFlightDescs;
    int pendingUsed;
    int pendingUsedFlags;
    int usedSinceSignal;
    boolean signalledUsedValid;
    int eventFlagsShadow;
    // The chain being walked, counted here and stored into the DescriptorChain once (device thread only).
    int walkDescs;
    int walkOut;
    int walkIn;
    long walkReadable;
    long walkWritable;
    long interrupts;
    long interruptsSuppressed;
    long badChains;
    String lastError;
    String brokenReason;
    boolean broken;
}

/** Padding after the hot fields of {@link PackedVhostVirtqueue}: 128 bytes. */
abstract class PackedVhostVirtqueuePad1 extends PackedVhostVirtqueueFields
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
 * The device side of a packed virtqueue, as QEMU's ({@code virtqueue_packed_pop()}, {@code virtqueue_packed_fill()}/
 * {@code _flush()}, {@code virtio_packed_should_notify()}) and DPDK vhost's packed paths implement it:
 * {@link #pop(DescriptorChain)} takes the next available chain, {@link #addUsed(int, int)}/{@link #flushUsed()}
 * write used descriptors (the batch's first flags last), {@link #needInterrupt()} reads the driver's event
 * suppression structure, {@link #enableNotify()}/{@link #disableNotify()} write the device's.
 *
 * <h2>The ring is untrusted</h2>
 * The chain is walked twice. First its shape, from the flags only: every descriptor after the head must itself be
 * available in its lap (the driver writes them before the head), the chain may not run into the descriptors still
 * in flight (at most {@code num} descriptors in all), and the buffer id, read from the last descriptor as the spec
 * places it, must be below the queue size and not already in flight. A chain whose shape is wrong has no trustworthy
 * id and length to return, so it breaks the queue: {@link #pop} returns {@link VhostVirtqueue#BROKEN} from then on
 * and {@link #brokenReason()} says why. So does a descriptor whose AVAIL and USED bits both equal the device's wrap
 * counter where an available one was expected (no correct driver writes that).
 * <p>
 * Then its contents: indirect descriptors need the feature, may not carry NEXT or sit in a chain, may not nest, and
 * their table length must be a non-zero multiple of 16 of at most 16 * num bytes; readable descriptors come before
 * writable ones; every buffer and table is translated and checked through the {@link DeviceView}. A chain that fails
 * here has a known id and length and goes to the {@link BadChainPolicy}: complete it with zero bytes
 * written, or break the queue. Every walk is bounded by the queue size or the table's entry count.
 *
 * <h2>Threads</h2>
 * One device thread per queue. The ring is translated once at set-up; ring positions are the device's own counters
 * (always below the queue size), so no value from the ring becomes an offset unchecked.
 */
public final class PackedVhostVirtqueue extends PackedVhostVirtqueuePad1
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int NONE = -1;
    private static final int WRAP_SHIFT = VRING_PACKED_EVENT_F_WRAP_CTR;
    private static final int AVAIL_USED = DESC_F_AVAIL | DESC_F_USED;

    private final DeviceView view;
    private final UnsafeBuffer mem;
    private final int num;
    private final boolean event;
    private final boolean indirect;
    private final PackedRing ring;
    private final BadChainPolicy policy;
    private final int maxRuns;
    /** Per buffer id: the descriptors of its chain while it is in flight (popped, not yet used), else 0. */
    private final int[] idDescs;

    private PackedVhostVirtqueue(final Builder b)
    {
        this.view = b.view;
        this.mem = view.memory().buffer();
        this.num = checkPackedQueueSize(b.num);
        this.event = hasFeature(b.features, VIRTIO_RING_F_EVENT_IDX);
        this.indirect = hasFeature(b.features, VIRTIO_RING_F_INDIRECT_DESC);
        this.policy = b.policy;
        // Each area must be reachable, with the right permission, and contiguous. The descriptor ring is written by
        // both sides; the driver area is only read, the device area only written (and read back).
        final long descGpa = view.translateContiguous(b.descBus, descRingSize(num), DeviceView.READ | DeviceView.WRITE);
        final long driverGpa = view.translateContiguous(b.driverBus, EVENT_SIZE, DeviceView.READ);
        final long deviceGpa = view.translateContiguous(b.deviceBus, EVENT_SIZE, DeviceView.READ | DeviceView.WRITE);
        this.ring = new PackedRing(num,
            new UnsafeBuffer(mem, (int)descGpa, descRingSize(num)),
            new UnsafeBuffer(mem, (int)driverGpa, EVENT_SIZE),
            new UnsafeBuffer(mem, (int)deviceGpa, EVENT_SIZE));
        this.maxRuns = b.maxRuns;
        this.idDescs = new int[num];
        // Where the device resumes (VHOST_SET_VRING_BASE in its packed form: position | wrap << 15); nothing is in
        // flight, so the used position is the same. Never read from the ring.
        final int base = b.base < 0 ? offWrap(0, 1) : b.base;
        if ((base & OFF_WRAP_OFFSET_MASK) >= num || base >>> (WRAP_SHIFT + 1) != 0)
        {
            throw new IllegalArgumentException(String.format(
                "base 0x%x: the position must be below the queue size %d, the wrap counter in bit 15", base, num));
        }
        this.lastAvailIdx = base & OFF_WRAP_OFFSET_MASK;
        this.availWrap = base >>> WRAP_SHIFT;
        this.usedIdx = lastAvailIdx;
        this.usedWrap = availWrap;
        this.pendingUsed = NONE;
        // The zeroed device area says ENABLE.
        this.eventFlagsShadow = VRING_PACKED_EVENT_FLAG_ENABLE;
    }

    /**
     * @param b the builder (its features name the packed layout).
     * @return a packed device-side queue.
     */
    static VhostVirtqueue create(final Builder b)
    {
        return new PackedVhostVirtqueue(b);
    }

    /**
     * Creates a chain object sized for this queue's run capacity.
     *
     * @return a reusable chain to pass to {@link #pop(DescriptorChain)}.
     */
    public DescriptorChain newChain()
    {
        return new DescriptorChain(mem, maxRuns);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // pop: virtqueue_packed_pop
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Takes the next available chain, walks and checks it and translates it into runs.
     *
     * @param chain receives the chain; its run capacity must be this queue's ({@link #newChain()}). Its
     *              {@link DescriptorChain#head()} is the buffer id.
     * @return the buffer id (pass it to {@link #addUsed}), {@link VhostVirtqueue#EMPTY}, or
     * {@link VhostVirtqueue#BROKEN}.
     */
    public int pop(final DescriptorChain chain)
    {
        while (true)
        {
            if (broken)
            {
                return BROKEN;
            }
            final int pos = lastAvailIdx;
            final int wrap = availWrap;
            final int flags = ring.loDescFlags(pos);
            if (!isAvail(flags, wrap))
            {
                if ((flags & AVAIL_USED) == usedFlags(wrap))
                {
                    breakQueue(String.format("Descriptor %d has AVAIL and USED both %d, a used descriptor where the " +
                        "driver's next available one was expected (flags 0x%04x)", pos, wrap, flags));
                    return BROKEN;
                }
                return EMPTY;
            }
            // Only read the rest of the chain after its head was seen available. Pairs with the driver's virtio_wmb()
            // before it stores the head's flags.
            VirtioBarriers.virtioRmb();
            final int count = shape(pos, wrap, flags);
            if (count < 0)
            {
                return BROKEN;
            }
            int last = pos + count - 1;
            if (last >= num)
            {
                last -= num;
            }
            final int id = ring.lpDescId(last);
            if (id >= num)
            {
                breakQueue(String.format("Buffer id %d out of range (queue size %d), chain at %d", id, num, pos));
                return BROKEN;
            }
            if (idDescs[id] != 0)
            {
                breakQueue(String.format("Buffer id %d is already in flight, chain at %d", id, pos));
                return BROKEN;
            }
            idDescs[id] = count;
            inFlightDescs += count;
            int next = pos + count;
            if (next >= num)
            {
                next -= num;
                availWrap = wrap ^ 1;
            }
            lastAvailIdx = next;
            final String error = walk(pos, flags, count, id, chain);
            if (error == null)
            {
                return id;
            }
            badChains++;
            lastError = error;
            if (policy == BadChainPolicy.STOP)
            {
                breakQueue(error);
                return BROKEN;
            }
            pushUsed(id, 0);
        }
    }

    /**
     * The chain's shape, from the flags: how many descriptors it has, each of them available in its lap, and no more
     * than fit beside the descriptors in flight.
     *
     * @return the descriptor count, or -1 with the queue broken.
     */
    private int shape(final int pos, final int wrap, final int headFlags)
    {
        int count = 1;
        int p = pos;
        int w = wrap;
        int flags = headFlags;
        final int room = num - inFlightDescs;
        if (room == 0)
        {
            breakQueue(String.format("Descriptor %d is available in wrap %d while all %d descriptors are in flight",
                pos, wrap, num));
            return -1;
        }
        while ((flags & VRING_DESC_F_NEXT) != 0)
        {
            if (count == room)
            {
                breakQueue(String.format("Chain at %d is longer than the %d descriptors not in flight (queue size %d)",
                    pos, room, num));
                return -1;
            }
            if (++p == num)
            {
                p = 0;
                w ^= 1;
            }
            flags = ring.lpDescFlags(p);
            if (!isAvail(flags, w))
            {
                breakQueue(String.format("Descriptor %d of the chain at %d is not available in wrap %d (flags 0x%04x)",
                    p, pos, w, flags));
                return -1;
            }
            count++;
        }
        return count;
    }

    private String walk(final int pos, final int headFlags, final int count, final int id,
        final DescriptorChain chain)
    {
        walkDescs = 0;
        walkOut = 0;
        walkIn = 0;
        walkReadable = 0;
        walkWritable = 0;
        int p = pos;
        for (int k = 0; k < count; k++)
        {
            final int flags = k == 0 ? headFlags : ring.lpDescFlags(p);
            final long addr = ring.lpDescAddr(p);
            final long length = Integer.toUnsignedLong(ring.lpDescLen(p));
            final String error = (flags & VRING_DESC_F_INDIRECT) != 0 ?
                walkIndirect(p, flags, count, addr, length, id, chain) :
                translate(p, id, flags, addr, length, chain, "desc");
            if (error != null)
            {
                return error;
            }
            if (++p == num)
            {
                p = 0;
            }
        }
        chain.set(id, walkDescs, walkOut, walkIn, walkReadable, walkWritable);
        return null;
    }

    private String walkIndirect(final int p, final int flags, final int count, final long addr, final long length,
        final int id, final DescriptorChain chain)
    {
        if (!indirect)
        {
            return String.format("Indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC: desc %d, buffer id %d",
                p, id);
        }
        if ((flags & VRING_DESC_F_NEXT) != 0 || count > 1)
        {
            return String.format("Indirect descriptor in a chain of %d descriptors (NEXT %s): desc %d, buffer id %d",
                count, (flags & VRING_DESC_F_NEXT) != 0 ? "set" : "clear", p, id);
        }
        if (length == 0 || (length & (DESC_SIZE - 1)) != 0)
        {
            return String.format("Invalid length in indirect descriptor: len 0x%x not a non-zero multiple of 0x10, " +
                "buffer id %d", length, id);
        }
        if (length > (long)num * DESC_SIZE)
        {
            return String.format("Indirect buffer length too big: %d > %d, buffer id %d", length, num * DESC_SIZE,
                id);
        }
        final long tableGpa;
        try
        {
            tableGpa = view.translateContiguous(addr, length, DeviceView.READ);
        }
        catch (final DmaFault fault)
        {
            return String.format("Translation failure of indirect table at desc %d, buffer id %d: %s",
                p, id, fault.getMessage());
        }
        // Every entry of the table, in order (a packed indirect table is not linked by NEXT); each is checked again.
        for (int j = 0, entries = (int)(length / DESC_SIZE); j < entries; j++)
        {
            final int offset = (int)tableGpa + descOffset(j);
            final long eAddr = mem.getLong(offset + DESC_ADDR_OFFSET, LE);
            final long eLen = Integer.toUnsignedLong(mem.getInt(offset + DESC_LEN_OFFSET, LE));
            final int eFlags = mem.getShort(offset + DESC_FLAGS_OFFSET, LE) & 0xFFFF;
            if ((eFlags & VRING_DESC_F_INDIRECT) != 0)
            {
                return String.format("Nested indirect descriptor: entry %d in the table of buffer id %d", j, id);
            }
            final String error = translate(j, id, eFlags, eAddr, eLen, chain, "indirect entry");
            if (error != null)
            {
                return error;
            }
        }
        return null;
    }

    private String translate(final int i, final int id, final int flags, final long addr, final long length,
        final DescriptorChain chain, final String what)
    {
        final boolean write = (flags & VRING_DESC_F_WRITE) != 0;
        if (!write && walkIn > 0)
        {
            return String.format("Descriptor has out after in: %s %d, buffer id %d", what, i, id);
        }
        final int at = walkOut + walkIn;
        final int runs;
        try
        {
            runs = view.translate(addr, length, write ? DeviceView.WRITE : DeviceView.READ,
                chain.gpaArray(), chain.lenArray(), at);
        }
        catch (final DmaFault fault)
        {
            return String.format("Translation failure at %s %d, buffer id %d: %s", what, i, id, fault.getMessage());
        }
        if (runs < 0)
        {
            return String.format("Chain of buffer id %d needs more than %d runs", id, chain.gpaArray().length);
        }
        walkDescs++;
        if (write)
        {
            walkIn += runs;
            walkWritable += length;
        }
        else
        {
            walkOut += runs;
            walkReadable += length;
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // used: virtqueue_packed_fill / virtqueue_packed_flush / virtio_packed_should_notify
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Writes a used descriptor (the buffer id, the bytes written) at the device's used position, which then moves on
     * by the chain's descriptor count. The flags of the first descriptor of a batch wait for {@link #flushUsed()}:
     * the driver reads used descriptors in order, so that one store publishes the whole batch.
     *
     * @param id      the chain's buffer id, as returned by {@link #pop}.
     * @param written bytes written into the chain's writable part (u32).
     */
    public void addUsed(final int id, final int written)
    {
        if (id < 0 || id >= num || idDescs[id] == 0)
        {
            throw new IllegalArgumentException("used id " + id + " is not a buffer id in flight on a queue of " + num);
        }
        final int pos = usedIdx;
        ring.spUsedDesc(pos, id, written);
        // In a used descriptor the WRITE flag says whether the device wrote anything (len is valid).
        final int flags = usedFlags(usedWrap) | (written != 0 ? VRING_DESC_F_WRITE : 0);
        if (pendingUsed == NONE)
        {
            pendingUsed = pos;
            pendingUsedFlags = flags;
        }
        else
        {
            // Behind the batch's first used descriptor, whose flags (stored after virtio_wmb) publish this one too.
            ring.soDescFlags(pos, flags);
        }
        final int count = idDescs[id];
        idDescs[id] = 0;
        inFlightDescs -= count;
        usedSinceSignal += count;
        int next = pos + count;
        if (next >= num)
        {
            next -= num;
            usedWrap ^= 1;
        }
        usedIdx = next;
    }

    /**
     * Publishes every used descriptor added by {@link #addUsed} since the last flush.
     */
    public void flushUsed()
    {
        final int pos = pendingUsed;
        if (pos != NONE)
        {
            // A device MUST NOT make the descriptor used before buffer id and length are written (and the data). Pairs
            // with the driver's virtio_rmb() after it loads the flags.
            VirtioBarriers.virtioWmb();
            ring.soDescFlags(pos, pendingUsedFlags);
            pendingUsed = NONE;
        }
    }

    /**
     * Returns one chain to the driver and publishes it.
     *
     * @param id      the chain's buffer id.
     * @param written bytes written into the chain.
     */
    public void pushUsed(final int id, final int written)
    {
        addUsed(id, written);
        flushUsed();
    }

    /**
     * {@code virtio_packed_should_notify()}: after publishing used descriptors, does the driver want an interrupt?
     * The driver event structure says DISABLE (no), ENABLE (yes), or, with EVENT_IDX, DESC: did the used
     * descriptors written since the last call pass {@code off_wrap}.
     *
     * @return true if the device should interrupt the driver now.
     */
    public boolean needInterrupt()
    {
        // We need to expose used descriptors before checking used event. Pairs with the driver's virtio_mb() in
        // virtqueue_poll() and enable_cb_delayed, and its virtio_store_mb() of off_wrap in get_buf.
        VirtioBarriers.virtioMb();
        final int flags = ring.loDriverEventFlags();
        final int since = usedSinceSignal;
        final boolean valid = signalledUsedValid;
        usedSinceSignal = 0;
        signalledUsedValid = true;
        final boolean need;
        if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
        {
            need = false;
        }
        else if (!event || flags != VRING_PACKED_EVENT_FLAG_DESC)
        {
            need = true;
        }
        else
        {
            // off_wrap is written before the DESC flag: read it after the flag. Pairs with the driver's virtio_wmb()
            // between them.
            VirtioBarriers.virtioRmb();
            final int offWrap = ring.loDriverEventOffWrap();
            if (!valid || since >= num)
            {
                need = true;
            }
            else
            {
                int eventIdx = offWrap & OFF_WRAP_OFFSET_MASK;
                if (offWrap >>> WRAP_SHIFT != usedWrap)
                {
                    eventIdx -= num;
                }
                final int newIdx = usedIdx;
                need = vringNeedEvent(eventIdx & 0xFFFF, newIdx, (newIdx - since) & 0xFFFF);
            }
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
    // notification suppression: the device event structure
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Tell the driver not to kick while the device is polling (device event flags DISABLE). A hint only.
     */
    public void disableNotify()
    {
        if (eventFlagsShadow != VRING_PACKED_EVENT_FLAG_DISABLE)
        {
            eventFlagsShadow = VRING_PACKED_EVENT_FLAG_DISABLE;
            ring.soDeviceEventFlags(eventFlagsShadow);
        }
    }

    /**
     * Ask for kicks again before going to sleep: ENABLE, or with EVENT_IDX DESC at the device's avail position.
     *
     * @return true if the driver made buffers available meanwhile: process them instead of sleeping, or a kick may
     * never come.
     */
    public boolean enableNotify()
    {
        if (!event && eventFlagsShadow != VRING_PACKED_EVENT_FLAG_DISABLE)
        {
            return false;
        }
        if (event)
        {
            ring.soDeviceEventOffWrap(offWrap(lastAvailIdx, availWrap));
            // Make sure off_wrap is written before flags. Pairs with the driver's virtio_rmb() between them.
            VirtioBarriers.virtioWmb();
            eventFlagsShadow = VRING_PACKED_EVENT_FLAG_DESC;
        }
        else
        {
            eventFlagsShadow = VRING_PACKED_EVENT_FLAG_ENABLE;
        }
        ring.soDeviceEventFlags(eventFlagsShadow);
        // Expose the event structure before checking the ring again: they could have slipped one in as we were doing
        // that. Pairs with the driver's virtio_mb() in kick_prepare.
        VirtioBarriers.virtioMb();
        return isAvail(ring.loDescFlags(lastAvailIdx), availWrap);
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

    /** @return interrupts suppressed by the driver event structure. */
    public long interruptsSuppressed()
    {
        return interruptsSuppressed;
    }

    /** @return the device's next avail position with its wrap counter ({@code off_wrap} form). */
    public int lastAvailIdx()
    {
        return offWrap(lastAvailIdx, availWrap);
    }

    /** @return the device's next used position with its wrap counter ({@code off_wrap} form). */
    public int usedIdx()
    {
        return offWrap(usedIdx, usedWrap);
    }

    /** @return the view through which this queue reaches guest memory. */
    public DeviceView view()
    {
        return view;
    }

    @Override
    public RingLayout layout()
    {
        return RingLayout.PACKED;
    }
}
