package vqdma.ring.thread;

import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.ring.RingLayout;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One virtqueue (split or packed: {@link Builder#layout}) served by two threads, the way a KVM guest and vhost share it: the guest thread drives the
 * {@link Virtqueue} through a {@link VirtqueueGuest}; a {@link VhostWorker} thread serves the
 * {@link VhostVirtqueue} with a {@link RequestHandler}; a kick {@link EventFd} (driver to device, KVM's
 * ioeventfd) and a call {@link EventFd} (device to driver, irqfd) carry the notifications that the ring's
 * suppression rules let through.
 * <pre>
 *   try (TwoThreadQueue q = TwoThreadQueue.builder(256).eventIdx(true).handler(chain -&gt; 0)
 *           .strategy(WaitStrategy.spinThenPark(1000)).build())
 *   {
 *       q.start();
 *       VirtqueueGuest guest = q.guest();
 *       guest.add(sg, token);
 *       guest.kick();
 *       Object done = guest.awaitBuf(TimeUnit.SECONDS.toNanos(1));
 *       q.shutdown(1, TimeUnit.SECONDS, completed -&gt; { }, returned -&gt; { });
 *   }
 * </pre>
 *
 * <h2>Shutdown</h2>
 * {@link #shutdown} is the kernel's reset path ({@code virtio_reset_device()}, then
 * {@code virtqueue_detach_unused_buf()} until it returns NULL): it stops and joins the device thread, then, on the
 * calling (guest) thread, takes every request the device completed ({@code get_buf}) and takes back every request it
 * never completed ({@code detach_unused_buf}), so that each request in flight is accounted for exactly once. The join
 * makes everything the device wrote visible to the guest thread.
 *
 * <h2>Layout</h2>
 * The ring is allocated in whole shared pages. A split ring is in the legacy layout ({@code vring_init(.., 4096)}),
 * so the driver's part (descriptors, avail ring, {@code used_event}) and the device's part (used ring,
 * {@code avail_event}) never share a cache line, nor with buffers or indirect tables allocated after the ring. A
 * packed ring has no such parts: both sides write its descriptors, which is the point of the layout (a request's
 * descriptors and its used descriptor share lines); its two event suppression structures share the last line.
 */
public final class TwoThreadQueue implements AutoCloseable
{
    /** Default timeout of {@link #close()}. */
    static final long CLOSE_TIMEOUT_MS = 5_000;

    private final GuestMemory memory;
    private final Virtqueue vq;
    private final VhostVirtqueue device;
    private final EventFd kick;
    private final EventFd call;
    private final VhostWorker worker;
    private final VirtqueueGuest guest;
    private boolean shutDown;

    private TwoThreadQueue(final Builder b)
    {
        if (b.handler == null)
        {
            throw new IllegalArgumentException("a two-thread queue needs a request handler");
        }
        if (b.driverStrategy.isBusyPoll() != b.deviceStrategy.isBusyPoll())
        {
            throw new IllegalArgumentException("driver strategy " + b.driverStrategy + " with device strategy " +
                b.deviceStrategy + ": either both sides poll (ringtest's default) or both use notifications " +
                "(--sleep)");
        }
        this.memory = b.memory != null ? b.memory :
            b.dma != null ? b.dma.memory() : GuestMemory.allocate(b.memoryBytes, false);
        this.kick = new EventFd("kick");
        this.call = new EventFd("call");
        final NotificationFilter kickFilter = b.kickFilter;
        // The transport's doorbell (vp_notify -> ioeventfd): what Virtqueue.kick() rings, for drivers that kick the
        // queue themselves (virtio-blk's virtqueue_kick) instead of through VirtqueueGuest.kick().
        final Virtqueue.Builder vb = Virtqueue.builder(memory, b.num).features(b.features).callbacks(false)
            .notifier(v -> doorbell(kickFilter));
        if (b.dma != null)
        {
            vb.dma(b.dma);
        }
        if (b.indirectMax > 0)
        {
            vb.indirectPool(b.indirectMax, b.indirectTables);
        }
        this.vq = vb.build();
        this.device = vq.deviceBuilder().badChainPolicy(b.badChainPolicy).build();
        this.worker = new VhostWorker(b.name, device, b.handler, kick, call, b.deviceStrategy, b.maxBatch,
            b.idleSliceNs).onStart(b.deviceStart).callFilter(b.callFilter);
        this.guest = new VirtqueueGuest(vq, kick, call, b.driverStrategy, worker, b.healthSliceNs)
            .publishOnKick(b.publishOnKick);
    }

    /** The notifier of {@link Virtqueue#kick()}: a kick the filter does not lose signals the kick eventfd. */
    private void doorbell(final NotificationFilter kickFilter)
    {
        if (kickFilter.deliver())
        {
            kick.signal();
            guest.counters().incSent();
        }
    }

    /**
     * @param num queue size: a power of two in 1..32768 for the split layout, any of 1..32768 for the packed.
     * @return a builder.
     */
    public static Builder builder(final int num)
    {
        return new Builder(num);
    }

    /** Starts the device thread. */
    public void start()
    {
        worker.start();
    }

    /** @return the guest thread's side. */
    public VirtqueueGuest guest()
    {
        return guest;
    }

    /** @return the device thread. */
    public VhostWorker worker()
    {
        return worker;
    }

    /**
     * @return the device side of the ring: the device thread's once {@link #start()}ed (for a request handler that
     * needs it, built before the start, and for its counters after the device thread ended).
     */
    public VhostVirtqueue deviceQueue()
    {
        return device;
    }

    /** @return the driver side of the ring (guest thread only). */
    public Virtqueue queue()
    {
        return vq;
    }

    /** @return the guest memory holding the ring (allocate request buffers from it). */
    public GuestMemory memory()
    {
        return memory;
    }

    /** @return the kick channel (driver to device). */
    public EventFd kickFd()
    {
        return kick;
    }

    /** @return the call channel (device to driver). */
    public EventFd callFd()
    {
        return call;
    }

    /** How many requests {@link #shutdown} found completed, and how many it took back. */
    public record Drained(long completed, long returned)
    {
    }

    /**
     * The reset path: stops and joins the device thread, then takes every completed request and takes back every
     * request the device never completed. Call it on the guest thread. Idempotent: a second call finds nothing.
     *
     * @param timeout   longest wait for the device thread to end.
     * @param unit      its unit.
     * @param completed receives the token of every request the device completed and the guest had not taken.
     * @param returned  receives the token of every request the device never completed.
     * @return the counts.
     * @throws DeviceFailure if the device thread does not end in time (then nothing is taken back: the device
     * could still write into the buffers).
     */
    public Drained shutdown(
        final long timeout, final TimeUnit unit, final Consumer<Object> completed, final Consumer<Object> returned)
    {
        worker.stop(timeout, unit);
        shutDown = true;
        long done = 0;
        long back = 0;
        if (!vq.isBroken())
        {
            Object token;
            while ((token = vq.getBuf()) != null)
            {
                completed.accept(token);
                done++;
            }
        }
        Object token;
        while ((token = vq.detachUnusedBuf()) != null)
        {
            returned.accept(token);
            back++;
        }
        return new Drained(done, back);
    }

    /** @return true once {@link #shutdown} (or {@link #close()}) has run. */
    public boolean isShutDown()
    {
        return shutDown;
    }

    /** Shuts down if not done yet, dropping the tokens of requests still in flight. */
    @Override
    public void close()
    {
        if (!shutDown)
        {
            shutdown(CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS, token -> { }, token -> { });
        }
    }

    /** Builder of a {@link TwoThreadQueue}. Set-up time only. */
    public static final class Builder
    {
        private final int num;
        private long features = Vring.feature(Vring.VIRTIO_F_VERSION_1);
        private GuestMemory memory;
        private long memoryBytes = 16L << 20;
        private RequestHandler handler;
        private WaitStrategy driverStrategy = WaitStrategy.busyPoll();
        private WaitStrategy deviceStrategy = WaitStrategy.busyPoll();
        private int maxBatch = VhostWorker.DEFAULT_MAX_BATCH;
        private int indirectMax = -1;
        private int indirectTables = -1;
        private String name = "vhost-vq";
        private long idleSliceNs = VhostWorker.DEFAULT_IDLE_SLICE_NS;
        private long healthSliceNs = VirtqueueGuest.DEFAULT_HEALTH_SLICE_NS;
        private boolean publishOnKick;
        private Runnable deviceStart = () -> { };
        private DmaOps dma;
        private VhostVirtqueue.BadChainPolicy badChainPolicy = VhostVirtqueue.BadChainPolicy.STOP;
        private NotificationFilter kickFilter = NotificationFilter.DELIVER_ALL;
        private NotificationFilter callFilter = NotificationFilter.DELIVER_ALL;

        private Builder(final int num)
        {
            this.num = Vring.checkPackedQueueSize(num);
        }

        /**
         * @param layout the ring layout: sets ({@link RingLayout#PACKED}) or clears ({@link RingLayout#SPLIT})
         *               {@code VIRTIO_F_RING_PACKED} in the features (default split).
         * @return this.
         */
        public Builder layout(final RingLayout layout)
        {
            this.features = layout.applyTo(features);
            return this;
        }

        /**
         * @param features the negotiated feature word ({@link Vring#feature(int)}); {@code VIRTIO_F_RING_PACKED} in
         *                 it selects the packed layout.
         * @return this.
         */
        public Builder features(final long features)
        {
            this.features = features;
            return this;
        }

        /** @param on negotiate {@code VIRTIO_RING_F_EVENT_IDX}. @return this. */
        public Builder eventIdx(final boolean on)
        {
            return feature(Vring.VIRTIO_RING_F_EVENT_IDX, on);
        }

        /** @param on negotiate {@code VIRTIO_RING_F_INDIRECT_DESC}. @return this. */
        public Builder indirect(final boolean on)
        {
            return feature(Vring.VIRTIO_RING_F_INDIRECT_DESC, on);
        }

        private Builder feature(final int bit, final boolean on)
        {
            features = on ? features | Vring.feature(bit) : features & ~Vring.feature(bit);
            return this;
        }

        /**
         * @param maxEntries entries per indirect table.
         * @param tables     tables in the pool.
         * @return this.
         */
        public Builder indirectPool(final int maxEntries, final int tables)
        {
            this.indirectMax = maxEntries;
            this.indirectTables = tables;
            return this;
        }

        /** @param memory guest memory to put the ring in (default: 16 MiB of its own). @return this. */
        public Builder memory(final GuestMemory memory)
        {
            this.memory = memory;
            return this;
        }

        /**
         * @param dma the DMA ops buffers are mapped through when {@code VIRTIO_F_ACCESS_PLATFORM} is in the
         *            features (default: direct); the ring lives in its guest memory unless {@link #memory} says
         *            otherwise (then it must be the same memory).
         * @return this.
         */
        public Builder dma(final DmaOps dma)
        {
            this.dma = dma;
            return this;
        }

        /**
         * @param policy what the device does with a malformed chain ({@link VhostVirtqueue.BadChainPolicy#STOP} by
         *               default).
         * @return this.
         */
        public Builder badChainPolicy(final VhostVirtqueue.BadChainPolicy policy)
        {
            this.badChainPolicy = policy;
            return this;
        }

        /**
         * Fault injection on the notifications: kicks rung through {@link Virtqueue#kick()} and the device's
         * interrupts ({@link VhostWorker#callFilter}) may be lost. Default: all delivered.
         *
         * @param kickFilter asked on the guest thread for every kick of {@link Virtqueue#kick()}.
         * @param callFilter asked on the device thread for every interrupt.
         * @return this.
         */
        public Builder notificationFilters(final NotificationFilter kickFilter, final NotificationFilter callFilter)
        {
            this.kickFilter = kickFilter;
            this.callFilter = callFilter;
            return this;
        }

        /** @param bytes size of the guest memory allocated when none is given. @return this. */
        public Builder memoryBytes(final long bytes)
        {
            this.memoryBytes = bytes;
            return this;
        }

        /** @param handler the device's backend. @return this. */
        public Builder handler(final RequestHandler handler)
        {
            this.handler = handler;
            return this;
        }

        /** @param strategy how both sides wait. @return this. */
        public Builder strategy(final WaitStrategy strategy)
        {
            this.driverStrategy = strategy;
            this.deviceStrategy = strategy;
            return this;
        }

        /** @param strategy how the guest waits for used buffers. @return this. */
        public Builder driverStrategy(final WaitStrategy strategy)
        {
            this.driverStrategy = strategy;
            return this;
        }

        /** @param strategy how the device thread waits for available buffers. @return this. */
        public Builder deviceStrategy(final WaitStrategy strategy)
        {
            this.deviceStrategy = strategy;
            return this;
        }

        /** @param maxBatch used elements the device publishes at most at once. @return this. */
        public Builder maxBatch(final int maxBatch)
        {
            this.maxBatch = maxBatch;
            return this;
        }

        /**
         * @param onKick publish {@code avail.idx} once per batch, at the guest's kick, instead of on every add
         *               ({@link VirtqueueGuest#publishOnKick(boolean)}). @return this.
         */
        public Builder publishOnKick(final boolean onKick)
        {
            this.publishOnKick = onKick;
            return this;
        }

        /**
         * @param action run first on the device thread ({@link VhostWorker#onStart(Runnable)}), e.g. to pin it.
         * @return this.
         */
        public Builder onDeviceStart(final Runnable action)
        {
            this.deviceStart = action;
            return this;
        }

        /** @param name the device thread's name. @return this. */
        public Builder name(final String name)
        {
            this.name = name;
            return this;
        }

        /**
         * Safety-net intervals: the longest the device parks before looking at its stop flag, and the longest the
         * guest parks before looking at the device's health. Neither is needed for correctness (stopping kicks the
         * device, a device that ends calls the guest); tests set them longer than any wait so that a lost
         * notification shows up as a timeout instead of a short stall.
         *
         * @param deviceIdleNs  device: {@link VhostWorker#DEFAULT_IDLE_SLICE_NS} by default.
         * @param guestHealthNs guest: {@link VirtqueueGuest#DEFAULT_HEALTH_SLICE_NS} by default.
         * @return this.
         */
        public Builder safetySlices(final long deviceIdleNs, final long guestHealthNs)
        {
            this.idleSliceNs = deviceIdleNs;
            this.healthSliceNs = guestHealthNs;
            return this;
        }

        /** @return the queue, its device thread not started yet. */
        public TwoThreadQueue build()
        {
            return new TwoThreadQueue(this);
        }
    }
}
