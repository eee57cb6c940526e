package vqdma.blk;

import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.ring.RingLayout;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Vring;
import vqdma.ring.thread.DeviceFailure;
import vqdma.ring.thread.NotificationFilter;
import vqdma.ring.thread.RequestHandler;
import vqdma.ring.thread.TwoThreadQueue;
import vqdma.ring.thread.VhostWorker;
import vqdma.ring.thread.WaitStrategy;

import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * A multi-queue virtio-blk disk ({@code VIRTIO_BLK_F_MQ}, {@code num_queues} request queues), as
 * {@code init_vq()} sets it up and blk-mq uses it: one {@link BlkHwQueue} per queue, each a split ring with its own
 * device thread (a vhost worker, as a multi-queue vhost-user-blk or an iothread per queue serves it) and driven by
 * one driver thread (blk-mq maps a hardware queue per CPU; the CPU's thread is whoever calls the queue). All queues
 * share one backend (one disk) and one {@link DmaOps} (one device has one DMA domain: one IOMMU domain, one bounce
 * pool). The DMA layer is already per-CPU aware: SWIOTLB starts each mapping in the area of the current thread and
 * the IOMMU's range caches and flush queues are per CPU slot of the current thread, so each driver thread (which maps
 * and unmaps its own requests) mostly stays in its own area and slot.
 * <pre>
 *   try (BlkMultiQueue disk = BlkMultiQueue.builder(dma, backend, config).queues(4).clamp(true).build())
 *   {
 *       disk.start();
 *       // on driver thread i:
 *       disk.queue(i).run(bio, TimeUnit.SECONDS.toNanos(5));
 *       // after every driver thread is done (joined):
 *       BlkMultiQueue.Drained d = disk.shutdown(5, TimeUnit.SECONDS);
 *   }
 * </pre>
 *
 * <h2>Shutdown</h2>
 * {@link #shutdown} is the reset path of the whole device ({@code virtblk_remove()}: {@code virtio_reset_device()},
 * then the queues' unused buffers taken back): every device thread is stopped and joined first (so no device touches
 * memory any more), then on the calling thread each queue's {@link BlkDriver#reset()} reaps what its device
 * completed, takes back what it never completed and fails the bios still waiting, with IOERR. Every bio ever
 * submitted is then done (completed or failed), no request is in flight, no descriptor, bounce slot or IOVA is held
 * for a request, and no thread of this disk is left running. Call it once the driver threads are finished with their
 * queues.
 */
public final class BlkMultiQueue implements AutoCloseable
{
    /** Creates the request handler of a queue's device thread: the device itself, or a fault injector around it. */
    @FunctionalInterface
    public interface HandlerFactory
    {
        /**
         * @param queue  the queue's index.
         * @param device its device model ({@link BlkDevice#handle} is the plain handler; its
         *               {@link BlkDevice#queue()} is the ring's device side).
         * @return the handler the device thread runs for every chain.
         */
        RequestHandler create(int queue, BlkDevice device);
    }

    private final GuestMemory memory;
    private final DmaOps dma;
    private final BlkBackend backend;
    private final BlkConfig config;
    private final BlkHwQueue[] queues;
    private boolean started;
    private boolean shutDown;

    private BlkMultiQueue(final Builder b)
    {
        if (b.queues < 1 || b.queues > 0xFFFF)
        {
            throw new IllegalArgumentException("num_queues " + b.queues + " must be 1..65535");
        }
        this.dma = b.dma;
        this.memory = b.dma.memory();
        this.backend = b.backend;
        this.config = b.config;
        long features = Vring.feature(Vring.VIRTIO_F_VERSION_1) | Vring.feature(Vring.VIRTIO_F_ACCESS_PLATFORM);
        features |= b.indirect ? Vring.feature(Vring.VIRTIO_RING_F_INDIRECT_DESC) : 0;
        features |= b.eventIdx ? Vring.feature(Vring.VIRTIO_RING_F_EVENT_IDX) : 0;
        features = b.layout.applyTo(features);
        this.queues = new BlkHwQueue[b.queues];
        for (int i = 0; i < queues.length; i++)
        {
            // The handler needs the device side of the ring, which the queue builds: bind it after the build (and
            // before the device thread starts, which publishes it to that thread).
            final RequestHandler[] handler = new RequestHandler[1];
            final TwoThreadQueue tq = TwoThreadQueue.builder(b.queueSize)
                .features(features)
                .dma(dma)
                .badChainPolicy(VhostVirtqueue.BadChainPolicy.COMPLETE)
                .strategy(b.strategy)
                .maxBatch(b.maxBatch)
                .safetySlices(b.deviceIdleNs, b.guestHealthNs)
                .notificationFilters(b.kickFilters.apply(i), b.callFilters.apply(i))
                .name(b.name + "-" + i)
                .handler(chain -> handler[0].handle(chain))
                .build();
            final BlkDevice device = new BlkDevice(tq.deviceQueue(), memory, backend, config);
            handler[0] = b.handlers.create(i, device);
            final BlkDriver driver = new BlkDriver(tq.queue(), memory, QueueLimits.probe(config, tq.queue(), b.clamp),
                b.maxBios);
            queues[i] = new BlkHwQueue(i, tq, driver, device);
        }
    }

    /**
     * @param dma     the device's DMA ops (all queues map through them; the guest memory is theirs).
     * @param backend the disk.
     * @param config  what the device offers (its capacity must fit the backend).
     * @return a builder: 1 queue of 256 entries, clamping on, indirect descriptors and EVENT_IDX, spin-then-park.
     */
    public static Builder builder(final DmaOps dma, final BlkBackend backend, final BlkConfig config)
    {
        return new Builder(dma, backend, config);
    }

    /** Starts every device thread. */
    public void start()
    {
        if (started)
        {
            throw new IllegalStateException("already started");
        }
        started = true;
        for (final BlkHwQueue q : queues)
        {
            q.twoThreadQueue().start();
        }
    }

    /** @return {@code num_queues}. */
    public int numQueues()
    {
        return queues.length;
    }

    /** @param i queue index. @return the queue (use it from one driver thread at a time). */
    public BlkHwQueue queue(final int i)
    {
        return queues[i];
    }

    /** @return the guest memory (allocate page-cache pages from it). */
    public GuestMemory memory()
    {
        return memory;
    }

    /** @return the DMA ops shared by all queues. */
    public DmaOps dma()
    {
        return dma;
    }

    /** @return the disk. */
    public BlkBackend backend()
    {
        return backend;
    }

    /** @return the device configuration. */
    public BlkConfig config()
    {
        return config;
    }

    /**
     * What {@link #shutdown} found: requests the devices had completed and the drivers had not reaped yet, requests
     * taken back unserved, and bios failed before reaching a ring.
     */
    public record Drained(long completed, long returned, long failedWaiting)
    {
    }

    /**
     * The device reset: stops and joins every device thread, then resets every driver (see the class comment). Call
     * after the driver threads are done with their queues. Idempotent.
     *
     * @param timeout longest wait for each device thread.
     * @param unit    its unit.
     * @return what was drained.
     * @throws DeviceFailure if a device thread did not end (that queue's requests are then not taken back: its
     *                       device could still write into their buffers); the other queues are still reset.
     */
    public Drained shutdown(final long timeout, final TimeUnit unit)
    {
        if (shutDown)
        {
            return new Drained(0, 0, 0);
        }
        shutDown = true;
        DeviceFailure failure = null;
        final boolean[] stopped = new boolean[queues.length];
        for (int i = 0; i < queues.length; i++)
        {
            try
            {
                queues[i].twoThreadQueue().worker().stop(timeout, unit);
                stopped[i] = true;
            }
            catch (final DeviceFailure ex)
            {
                if (failure == null)
                {
                    failure = ex;
                }
                else
                {
                    failure.addSuppressed(ex);
                }
            }
        }
        long completed = 0;
        long returned = 0;
        long failedWaiting = 0;
        for (int i = 0; i < queues.length; i++)
        {
            if (!stopped[i])
            {
                continue;
            }
            final BlkDriver driver = queues[i].driver();
            final long reaped = driver.requestsCompleted();
            final long waiting = driver.resetFailedBios();
            returned += driver.reset();
            completed += driver.requestsCompleted() - reaped;
            failedWaiting += driver.resetFailedBios() - waiting;
            // The ring's own reset path must find nothing left: the driver took everything back.
            final TwoThreadQueue.Drained rest = queues[i].twoThreadQueue().shutdown(timeout, unit,
                token -> { }, token -> { });
            if (rest.completed() + rest.returned() != 0)
            {
                throw new IllegalStateException("queue " + i + ": the driver's reset left " + rest + " on the ring");
            }
        }
        if (failure != null)
        {
            throw failure;
        }
        return new Drained(completed, returned, failedWaiting);
    }

    /** @return true once {@link #shutdown} ran. */
    public boolean isShutDown()
    {
        return shutDown;
    }

    /** @return true if any device thread is still alive. */
    public boolean anyDeviceThreadAlive()
    {
        for (final BlkHwQueue q : queues)
        {
            if (q.twoThreadQueue().worker().thread().isAlive())
            {
                return true;
            }
        }
        return false;
    }

    /** @return the device threads' states, for messages. */
    public String describe()
    {
        final StringBuilder sb = new StringBuilder();
        for (final BlkHwQueue q : queues)
        {
            final VhostWorker w = q.twoThreadQueue().worker();
            sb.append(sb.length() == 0 ? "" : "; ").append(w.describe());
        }
        return sb.toString();
    }

    /** Shuts down (5 s per device thread) if not done yet. */
    @Override
    public void close()
    {
        shutdown(5, TimeUnit.SECONDS);
    }

    /** Builder of a {@link BlkMultiQueue}. Set-up time only. */
    public static final class Builder
    {
        private final DmaOps dma;
        private final BlkBackend backend;
        private final BlkConfig config;
        private int queues = 1;
        private int queueSize = 256;
        private boolean clamp = true;
        private boolean indirect = true;
        private boolean eventIdx = true;
        private RingLayout layout = RingLayout.SPLIT;
        private int maxBios = 64;
        private int maxBatch = VhostWorker.DEFAULT_MAX_BATCH;
        private WaitStrategy strategy = WaitStrategy.spinThenPark(1000);
        private long deviceIdleNs = VhostWorker.DEFAULT_IDLE_SLICE_NS;
        private long guestHealthNs = vqdma.ring.thread.VirtqueueGuest.DEFAULT_HEALTH_SLICE_NS;
        private HandlerFactory handlers = (queue, device) -> device::handle;
        private IntFunction<NotificationFilter> kickFilters = queue -> NotificationFilter.DELIVER_ALL;
        private IntFunction<NotificationFilter> callFilters = queue -> NotificationFilter.DELIVER_ALL;
        private String name = "vblk";

        private Builder(final DmaOps dma, final BlkBackend backend, final BlkConfig config)
        {
            this.dma = dma;
            this.backend = backend;
            this.config = config;
        }

        /**
         * @param layout the ring layout of every queue ({@code VIRTIO_F_RING_PACKED} negotiated or not; default split).
         * @return this.
         */
        public Builder layout(final RingLayout layout)
        {
            this.layout = layout;
            return this;
        }

        /** @param n {@code num_queues}. @return this. */
        public Builder queues(final int n)
        {
            this.queues = n;
            return this;
        }

        /** @param num entries per ring (power of two). @return this. */
        public Builder queueSize(final int num)
        {
            this.queueSize = num;
            return this;
        }

        /** @param on the 2019 fix: clamp the segment size to the DMA layer's max mapping size. @return this. */
        public Builder clamp(final boolean on)
        {
            this.clamp = on;
            return this;
        }

        /** @param on negotiate indirect descriptors. @return this. */
        public Builder indirect(final boolean on)
        {
            this.indirect = on;
            return this;
        }

        /** @param on negotiate EVENT_IDX. @return this. */
        public Builder eventIdx(final boolean on)
        {
            this.eventIdx = on;
            return this;
        }

        /** @param n bios that may wait for dispatch per queue. @return this. */
        public Builder maxBios(final int n)
        {
            this.maxBios = n;
            return this;
        }

        /**
         * @param n used elements a device thread publishes at most at once ({@link VhostWorker#DEFAULT_MAX_BATCH});
         *          it also looks at its stop flag after each such batch, so a small batch leaves more requests on
         *          the ring for the reset to take back.
         * @return this.
         */
        public Builder maxBatch(final int n)
        {
            this.maxBatch = n;
            return this;
        }

        /** @param s how both sides of every ring wait. @return this. */
        public Builder strategy(final WaitStrategy s)
        {
            this.strategy = s;
            return this;
        }

        /**
         * @param deviceIdleNs  longest park of a device thread before it looks at its ring and stop flag again.
         * @param guestHealthNs longest park of a driver thread before it looks at its ring and device again.
         * @return this.
         * @see TwoThreadQueue.Builder#safetySlices(long, long)
         */
        public Builder safetySlices(final long deviceIdleNs, final long guestHealthNs)
        {
            this.deviceIdleNs = deviceIdleNs;
            this.guestHealthNs = guestHealthNs;
            return this;
        }

        /** @param f makes each queue's request handler (fault injection). @return this. */
        public Builder handlers(final HandlerFactory f)
        {
            this.handlers = f;
            return this;
        }

        /**
         * @param kick per queue: the filter of its kicks.
         * @param call per queue: the filter of its interrupts.
         * @return this.
         */
        public Builder notificationFilters(final IntFunction<NotificationFilter> kick,
            final IntFunction<NotificationFilter> call)
        {
            this.kickFilters = kick;
            this.callFilters = call;
            return this;
        }

        /** @param prefix device threads are named prefix-0, prefix-1, ... @return this. */
        public Builder name(final String prefix)
        {
            this.name = prefix;
            return this;
        }

        /** @return the disk, its device threads not started. */
        public BlkMultiQueue build()
        {
            return new BlkMultiQueue(this);
        }
    }
}
