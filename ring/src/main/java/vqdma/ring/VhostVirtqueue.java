package vqdma.ring;

import vqdma.dma.DeviceView;
import vqdma.dma.DmaFault;

import static vqdma.ring.Vring.*;

/**
 * The device side of a virtqueue, whatever its layout: vhost's {@code vhost_virtqueue} and the calls a device makes
 * on it. {@link SplitVhostVirtqueue} serves the split ring as vhost does, {@link PackedVhostVirtqueue} the packed ring
 * as QEMU and DPDK vhost do; a device written against this class serves either.
 * <pre>
 *   VhostVirtqueue vq = driverQueue.deviceBuilder().build();   // or VhostVirtqueue.builder(view, num, features, ...)
 *   DescriptorChain chain = vq.newChain();
 *   int id;
 *   while ((id = vq.pop(chain)) &gt;= 0)
 *   {
 *       int written = serve(chain);
 *       vq.addUsed(id, written);
 *   }
 *   vq.flushUsed();
 *   if (vq.needInterrupt()) { interrupt the driver }
 * </pre>
 *
 * <h2>The ring is untrusted</h2>
 * Everything in guest memory may have been written by a buggy or hostile driver: both layouts check every value
 * before they use it, translate every buffer through the {@link DeviceView}, bound every walk, and report a violation
 * with a specific message: a chain they cannot return breaks the queue ({@link #pop} returns {@link #BROKEN}, and
 * {@link #brokenReason()} says why), a malformed chain behind a valid id goes to the {@link BadChainPolicy}.
 *
 * <h2>Threads</h2>
 * One device thread per queue.
 */
public abstract class VhostVirtqueue
{
    /** {@link #pop} result: nothing available. */
    public static final int EMPTY = -1;
    /** {@link #pop} result: the queue is broken. */
    public static final int BROKEN = -2;

    /** What to do with a malformed chain behind a valid head. */
    public enum BadChainPolicy
    {
        /** Return it to the driver with {@code len = 0} and continue (the error is counted and recorded). */
        COMPLETE,
        /** Break the queue, as a strict device would. */
        STOP
    }

    /** Only the two layouts of this package extend this class. */
    VhostVirtqueue()
    {
    }

    /**
     * @param view      the device's view of guest memory for this queue's addresses.
     * @param num       queue size.
     * @param features  negotiated features; {@code VIRTIO_F_RING_PACKED} selects the packed layout.
     * @param descBus   bus address of the descriptor area (split: descriptor table; packed: descriptor ring).
     * @param driverBus bus address of the driver area (split: available ring; packed: driver event structure).
     * @param deviceBus bus address of the device area (split: used ring; packed: device event structure).
     * @return a builder.
     */
    public static Builder builder(
        final DeviceView view, final int num, final long features, final long descBus, final long driverBus,
        final long deviceBus)
    {
        return new Builder(view, num, features, descBus, driverBus, deviceBus);
    }

    /**
     * Creates a chain object sized for this queue's run capacity.
     *
     * @return a reusable chain to pass to {@link #pop(DescriptorChain)}.
     */
    public abstract DescriptorChain newChain();

    /**
     * Takes the next available chain, walks and checks it and translates it into runs ({@code vhost_get_vq_desc()}).
     *
     * @param chain receives the chain; its run capacity must be this queue's ({@link #newChain()}).
     * @return the id to return it under ({@link #addUsed}): the split ring's head, the packed ring's buffer id; or
     * {@link #EMPTY}, or {@link #BROKEN}.
     */
    public abstract int pop(DescriptorChain chain);

    /**
     * Writes a used entry without publishing it; {@link #flushUsed()} publishes all added so far at once.
     *
     * @param id      the id {@link #pop} returned.
     * @param written bytes written into the chain's writable part (u32).
     * @throws IllegalArgumentException if {@code id} is not one the device popped and has not returned.
     */
    public abstract void addUsed(int id, int written);

    /** Publishes every used entry added by {@link #addUsed} since the last flush. */
    public abstract void flushUsed();

    /**
     * {@code vhost_add_used()}: returns one chain to the driver and publishes it.
     *
     * @param id      the id {@link #pop} returned.
     * @param written bytes written into the chain.
     */
    public abstract void pushUsed(int id, int written);

    /**
     * {@code vhost_notify()}: after publishing used entries, does the driver want an interrupt?
     *
     * @return true if the device should interrupt the driver now.
     */
    public abstract boolean needInterrupt();

    /** {@code vhost_disable_notify()}: tell the driver not to kick while the device is polling. A hint only. */
    public abstract void disableNotify();

    /**
     * {@code vhost_enable_notify()}: ask for kicks again before going to sleep.
     *
     * @return true if the driver made buffers available meanwhile: process them instead of sleeping, or a kick may
     * never come.
     */
    public abstract boolean enableNotify();

    /** @return the queue size. */
    public abstract int num();

    /** @return true if the driver made a mess the device cannot recover from. */
    public abstract boolean isBroken();

    /** @return why the queue is broken, or null. */
    public abstract String brokenReason();

    /** @return malformed chains seen (completed or fatal). */
    public abstract long badChains();

    /** @return the most recent error, bad chain or break, or null. */
    public abstract String lastError();

    /** @return interrupts the device decided to send. */
    public abstract long interrupts();

    /** @return interrupts suppressed by the driver's event suppression. */
    public abstract long interruptsSuppressed();

    /**
     * @return the device's next avail index, for diagnostics: split {@code last_avail_idx} (u16), packed the position
     * with its wrap counter in bit 15.
     */
    public abstract int lastAvailIdx();

    /**
     * @return the device's next used index, for diagnostics: split the used index (u16), packed the position with its
     * wrap counter in bit 15.
     */
    public abstract int usedIdx();

    /** @return the view through which this queue reaches guest memory. */
    public abstract DeviceView view();

    /** @return the ring layout. */
    public abstract RingLayout layout();

    /** Builder of a {@link VhostVirtqueue} of either layout. Set-up time only. */
    public static final class Builder
    {
        final DeviceView view;
        final int num;
        final long features;
        final long descBus;
        final long driverBus;
        final long deviceBus;
        BadChainPolicy policy = BadChainPolicy.STOP;
        int maxRuns;
        int base = -1;

        private Builder(
            final DeviceView view, final int num, final long features, final long descBus, final long driverBus,
            final long deviceBus)
        {
            this.view = view;
            this.num = checkPackedQueueSize(num);
            this.features = features;
            this.descBus = descBus;
            this.driverBus = driverBus;
            this.deviceBus = deviceBus;
            this.maxRuns = Math.max(256, 2 * num);
        }

        /** @param policy what to do with a malformed chain (default {@link BadChainPolicy#STOP}). @return this. */
        public Builder badChainPolicy(final BadChainPolicy policy)
        {
            this.policy = policy;
            return this;
        }

        /** @param maxRuns translated runs a chain may need (default max(256, 2 * num)). @return this. */
        public Builder maxRuns(final int maxRuns)
        {
            if (maxRuns < 1)
            {
                throw new IllegalArgumentException("maxRuns " + maxRuns + " must be >= 1");
            }
            this.maxRuns = maxRuns;
            return this;
        }

        /**
         * @param base where the device resumes ({@code VHOST_SET_VRING_BASE}): split, the u16 index (default 0);
         *             packed, the position with the wrap counter in bit 15 (default position 0, wrap 1). Either way a
         *             fresh queue by default.
         * @return this.
         */
        public Builder base(final int base)
        {
            if (base < 0)
            {
                throw new IllegalArgumentException("base " + base + " must be >= 0");
            }
            this.base = base;
            return this;
        }

        /**
         * @return the device-side queue, of the layout the features name.
         * @throws DmaFault if a ring area is not reachable through the view.
         * @throws IllegalArgumentException if the queue size or the base does not suit the layout.
         */
        public VhostVirtqueue build()
        {
            return RingLayout.of(features) == RingLayout.PACKED ? PackedVhostVirtqueue.create(this) :
                SplitVhostVirtqueue.create(this);
        }
    }
}
