package vqdma.ring;

import vqdma.dma.DeviceView;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;

import static vqdma.ring.Vring.*;

/**
 * The driver side of a virtqueue, whatever its layout: the kernel's {@code struct virtqueue} and the
 * {@code virtqueue_*} calls that {@code virtio_ring.c} dispatches to their {@code _split} or {@code _packed}
 * variant. {@link SplitVirtqueue} is the split ring (virtio 1.0, 2.7), {@link PackedVirtqueue} the packed one
 * (virtio 1.1, 2.8); nothing that drives a queue through this class needs to know which it has.
 * <p>
 * The layout is chosen as the kernel chooses it in {@code vring_create_virtqueue()}: by the negotiated feature
 * {@code VIRTIO_F_RING_PACKED} in {@link Builder#features(long)} (or {@link Builder#layout(RingLayout)}, which sets or
 * clears that bit).
 * <pre>
 *   Virtqueue vq = Virtqueue.builder(memory, 256).features(features).layout(RingLayout.PACKED).dma(ops).build();
 *   int err = vq.add(sg.clear().out(hdr, 16).in(data, 4096), request);
 *   if (vq.kickPrepare()) { notify the device }
 *   Object done = vq.getBuf();
 * </pre>
 *
 * <h2>Errors</h2>
 * A full ring is {@link #ENOSPC}; a DMA mapping that failed for resources {@link #ENOMEM}, one that can never succeed
 * (larger than {@link DmaOps#maxMappingSize()}) {@link #EIO}; nothing stays mapped after a failed add. Whatever the
 * device wrote is checked; a violation marks the queue broken (the kernel's {@code BAD_RING}), with the reason in
 * {@link #brokenReason()}, and every later call fails fast. Misuse by the caller is an
 * {@link IllegalArgumentException} naming the values.
 *
 * <h2>Threads</h2>
 * One driver thread at a time, as the kernel requires callers to serialize; the device runs concurrently on the
 * other side of the shared memory. Hot paths allocate nothing.
 */
public abstract class Virtqueue
{
    /** {@code -ENOSPC}: not enough free descriptors; retry after {@link #getBuf()} returned some. */
    public static final int ENOSPC = -28;
    /** {@code -ENOMEM}: a DMA mapping failed for lack of resources; retry later. */
    public static final int ENOMEM = -12;
    /** {@code -EIO}: the queue is broken, or a DMA mapping can never succeed. */
    public static final int EIO = -5;

    /**
     * The transport's notification hook: {@code vq->notify}, a write to the device's doorbell.
     */
    @FunctionalInterface
    public interface Notifier
    {
        /** Notifies the device that {@code vq} has new buffers. @param vq the queue. */
        void notify(Virtqueue vq);
    }

    /** Only the two layouts of this package extend this class. */
    Virtqueue()
    {
    }

    /**
     * @param memory guest memory holding the ring and the buffers.
     * @param num    queue size: a power of two in 1..32768 for the split layout, any value in 1..32768 for the packed.
     * @return a builder.
     */
    public static Builder builder(final GuestMemory memory, final int num)
    {
        return new Builder(memory, num);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // the virtqueue_* calls
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code virtqueue_add_sgs()}: exposes a request to the device (without notifying it; see {@link #kick()}).
     *
     * @param sg    the request's buffers: device-readable first, then device-writable.
     * @param token the caller's object for this request, returned by {@link #getBuf()}; not null.
     * @return 0, {@link #ENOSPC} if the ring is full, {@link #ENOMEM}/{@link #EIO} if a mapping failed, or
     * {@link #EIO} if the queue is broken. Nothing is left mapped on failure.
     * @throws IllegalArgumentException if the list is empty, longer than the queue, or the token is null.
     */
    public abstract int add(SgList sg, Object token);

    /**
     * {@code virtqueue_add_sgs()}, optionally without publishing: with {@code publish == false} the request is
     * written but the device cannot see it (nor any later one) until {@link #publishAvail()} or
     * {@link #kickPrepare()} publishes every request added so far with one store (the split ring's {@code avail.idx},
     * the packed ring's first head flags of the batch). A driver that adds a batch and then kicks moves the
     * publishing cache line to the device once per batch instead of once per request.
     *
     * @param sg      the request's buffers.
     * @param token   the caller's object for this request.
     * @param publish false to leave the publishing store for {@link #publishAvail()} or {@link #kickPrepare()}.
     * @return as {@link #add(SgList, Object)}.
     */
    public abstract int add(SgList sg, Object token, boolean publish);

    /** Publishes the requests added without publishing; does nothing if there are none. */
    public abstract void publishAvail();

    /**
     * {@code virtqueue_kick_prepare()}: publishes what was added, then decides whether the device wants a
     * notification for it (its event suppression, with or without EVENT_IDX).
     *
     * @return true if the caller should notify the device.
     */
    public abstract boolean kickPrepare();

    /**
     * {@code virtqueue_kick()}: {@link #kickPrepare()}, then the transport's notifier if needed.
     *
     * @return true if the device was notified.
     */
    public abstract boolean kick();

    /** @return true if the device has returned buffers that {@link #getBuf()} has not taken yet. */
    public abstract boolean moreUsed();

    /**
     * {@code virtqueue_get_buf()}: takes the next buffer the device returned, unmaps it and frees its descriptors.
     *
     * @return the token given to {@link #add}, or null if there is none (or the queue is broken: see
     * {@link #isBroken()}). The bytes the device wrote are in {@link #usedLen()}.
     */
    public abstract Object getBuf();

    /**
     * {@code virtqueue_detach_unused_buf()}: after the device was reset (or given up on), takes back one request
     * that was made available but never returned, unmapping it. Call until it returns null.
     *
     * @return a token of a request still in flight, or null when none is left.
     */
    public abstract Object detachUnusedBuf();

    /** {@code virtqueue_disable_cb()}: ask the device not to interrupt. Only a hint: it may still do so. */
    public abstract void disableCb();

    /**
     * {@code virtqueue_enable_cb_prepare()}: re-enable interrupts and return the position to {@link #poll(int)} from.
     *
     * @return the driver's last used position, opaque to the caller.
     */
    public abstract int enableCbPrepare();

    /**
     * {@code virtqueue_poll()}: after {@link #enableCbPrepare()}, has the device returned anything since?
     *
     * @param lastUsed the value {@link #enableCbPrepare()} returned.
     * @return true if there are used buffers pending (then process them rather than sleep).
     */
    public abstract boolean poll(int lastUsed);

    /**
     * {@code virtqueue_enable_cb()}: re-enable interrupts.
     *
     * @return false if there are pending buffers (the caller must process them: an interrupt may not come).
     */
    public abstract boolean enableCb();

    /**
     * {@code virtqueue_enable_cb_delayed()}: re-enable interrupts, but with EVENT_IDX only after about three quarters
     * of what is in flight is used.
     *
     * @return false if used buffers are already pending (process them now).
     */
    public abstract boolean enableCbDelayed();

    /**
     * {@code virtio_break_device()}: marks the queue broken from outside (the transport gave up on the device).
     *
     * @param reason why.
     */
    public abstract void breakQueue(String reason);

    // ---------------------------------------------------------------------------------------------------------------
    // state
    // ---------------------------------------------------------------------------------------------------------------

    /** @return bytes the device wrote into the buffer last returned by {@link #getBuf()}. */
    public abstract int usedLen();

    /**
     * @return the id the device returned the buffer last taken by {@link #getBuf()} under: the split ring's head, the
     * packed ring's buffer id. The kernel keeps it private; vqdma exposes it for protocols that depend on it, such
     * as the loopback pattern of the shared-ring file.
     */
    public abstract int usedId();

    /**
     * @return the driver's next avail index, for diagnostics: the split ring's {@code avail.idx} shadow (u16), the
     * packed ring's position with its wrap counter in bit 15.
     */
    public abstract int availIdx();

    /**
     * @return the next used index the driver will take, for diagnostics: the split ring's {@code last_used_idx}, the
     * packed ring's position with its wrap counter in bit 15.
     */
    public abstract int lastUsedIdx();

    /**
     * @return the driver's indices as a diagnostic message: split {@code avail.idx 1, used.idx 0, last used 0}, packed
     * the positions with their wrap counters and the flags the driver waits on.
     */
    public abstract String describeIndices();

    /** @return the queue size. */
    public abstract int num();

    /** @return free descriptors ({@code vq->num_free}). */
    public abstract int numFree();

    /** @return requests made available and not yet returned by {@link #getBuf()}. */
    public abstract int inFlight();

    /** @return true if the other side made a mess and the queue refuses further work. */
    public abstract boolean isBroken();

    /** @return why the queue is broken, or null. */
    public abstract String brokenReason();

    /** @return notifications the driver decided to send. */
    public abstract long kicks();

    /** @return notifications the device's event suppression made unnecessary. */
    public abstract long kicksSuppressed();

    /** @return the negotiated features (with {@code VIRTIO_F_RING_PACKED} exactly when the layout is packed). */
    public abstract long features();

    /** @return the ring layout. */
    public abstract RingLayout layout();

    /** @return true if buffers go through the DMA API ({@code VIRTIO_F_ACCESS_PLATFORM}). */
    public abstract boolean usesDmaApi();

    /** @return the DMA ops buffers are mapped with (when {@link #usesDmaApi()}). */
    public abstract DmaOps dma();

    /** @return indirect tables in use by requests in flight (the pool's pressure; 0 without the feature). */
    public abstract int indirectTablesInUse();

    /** @return entries of one indirect table (0 without the feature). */
    public abstract int indirectMax();

    /** @return the guest-physical address of the ring. */
    public abstract long ringGpa();

    /** @return bus address of the descriptor area (split: the descriptor table; packed: the descriptor ring). */
    public abstract long descAddr();

    /** @return bus address of the driver area (split: the available ring; packed: the driver event structure). */
    public abstract long driverAddr();

    /** @return bus address of the device area (split: the used ring; packed: the device event structure). */
    public abstract long deviceAddr();

    /**
     * @return the view a device must use for this queue's addresses: the DMA ops' view when the DMA API is used,
     * otherwise guest-physical addresses (the legacy bypass).
     */
    public abstract DeviceView deviceView();

    /**
     * Builds the device side of this queue on the same memory, as the transport would after the driver wrote the
     * three area addresses and enabled the queue.
     *
     * @return a device-side queue builder of the same layout.
     */
    public VhostVirtqueue.Builder deviceBuilder()
    {
        return VhostVirtqueue.builder(deviceView(), num(), features(), descAddr(), driverAddr(), deviceAddr());
    }

    /** Builder of a {@link Virtqueue} of either layout. Set-up time only. */
    public static final class Builder
    {
        final GuestMemory memory;
        final int num;
        long features = feature(VIRTIO_F_VERSION_1);
        DmaOps dma;
        long ringGpa = -1;
        boolean premapped;
        boolean callbacks = true;
        int indirectMax = -1;
        int indirectTables = -1;
        Notifier notifier = vq -> { };
        private RingLayout layout;

        private Builder(final GuestMemory memory, final int num)
        {
            this.memory = memory;
            this.num = checkPackedQueueSize(num);
        }

        /**
         * @param features negotiated feature word ({@link Vring#feature(int)}); {@code VIRTIO_F_RING_PACKED} in it
         *                 selects the packed layout.
         * @return this.
         */
        public Builder features(final long features)
        {
            this.features = features;
            return this;
        }

        /**
         * @param layout the ring layout: sets ({@link RingLayout#PACKED}) or clears ({@link RingLayout#SPLIT})
         *               {@code VIRTIO_F_RING_PACKED} in the feature word at {@link #build()}, whenever the features
         *               are given.
         * @return this.
         */
        public Builder layout(final RingLayout layout)
        {
            this.layout = layout;
            return this;
        }

        /** @param dma the DMA ops used when ACCESS_PLATFORM is negotiated (default: direct). @return this. */
        public Builder dma(final DmaOps dma)
        {
            this.dma = dma;
            return this;
        }

        /**
         * @param gpa where the ring lives (4096-aligned for the split layout, 16-aligned for the packed); default:
         *            allocated shared.
         * @return this.
         */
        public Builder ringAt(final long gpa)
        {
            this.ringGpa = gpa;
            return this;
        }

        /** @param premapped the caller maps buffers itself and passes bus addresses. @return this. */
        public Builder premapped(final boolean premapped)
        {
            this.premapped = premapped;
            return this;
        }

        /** @param callbacks false for a queue without a callback: interrupts off from the start. @return this. */
        public Builder callbacks(final boolean callbacks)
        {
            this.callbacks = callbacks;
            return this;
        }

        /**
         * @param maxEntries entries per indirect table (default min(num, 256)).
         * @param tables     tables in the pool (default min(num, 256)).
         * @return this.
         */
        public Builder indirectPool(final int maxEntries, final int tables)
        {
            if (maxEntries < 2 || tables < 0)
            {
                throw new IllegalArgumentException("indirect pool of " + tables + " tables of " + maxEntries +
                    " entries: a table needs >= 2 entries");
            }
            this.indirectMax = maxEntries;
            this.indirectTables = tables;
            return this;
        }

        /** @param notifier the transport's doorbell. @return this. */
        public Builder notifier(final Notifier notifier)
        {
            this.notifier = notifier;
            return this;
        }

        /**
         * @return the queue, with its ring zeroed and mapped.
         * @throws IllegalArgumentException if the queue size does not suit the layout (the split ring needs a power
         * of two).
         */
        public Virtqueue build()
        {
            if (layout != null)
            {
                features = layout.applyTo(features);
            }
            return RingLayout.of(features) == RingLayout.PACKED ? PackedVirtqueue.create(this) :
                SplitVirtqueue.create(this);
        }
    }
}
