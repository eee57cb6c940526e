package vqdma.ring.thread;

import vqdma.ring.SgList;
import vqdma.ring.Virtqueue;

import java.util.concurrent.TimeUnit;

/**
 * The guest thread's side of a two-thread queue: the {@link Virtqueue} with its doorbell (the kick eventfd, a
 * {@code vp_notify()} write that KVM turns into an ioeventfd signal) and its interrupt line (the call eventfd,
 * delivered by irqfd to {@code vring_interrupt()}), and the wait for completions.
 *
 * <h2>Waiting for used buffers</h2>
 * {@link #awaitUsed(long)} follows the kernel's NAPI pattern ({@code virtnet_poll()}): callbacks stay disabled while
 * the driver works; when the used ring runs dry it polls it for the strategy's budget, then
 * {@code virtqueue_enable_cb_prepare()} + {@code virtqueue_poll()} (enable, full fence, re-check: a buffer the
 * device returned meanwhile is taken instead of slept on), then sleeps on the call eventfd; once woken it disables
 * callbacks again ({@code virtqueue_disable_cb()} in the interrupt handler). In busy-poll mode it only spins on
 * {@code used.idx}. Every wait has a timeout, and a device thread that died or stopped is reported as soon as the
 * wait notices (the worker calls the driver when it ends, so a sleeping driver notices at once).
 *
 * <h2>Threads</h2>
 * One guest thread at a time, as {@link Virtqueue} requires. Only {@link #counters()} may be read by other threads.
 * Nothing here allocates, except the exception thrown when the device has failed.
 */
public final class VirtqueueGuest
{
    /**
     * Default longest park on the call eventfd before the guest looks at the device's health again. Only a safety
     * net: a device thread that ends calls the guest.
     */
    public static final long DEFAULT_HEALTH_SLICE_NS = TimeUnit.MILLISECONDS.toNanos(50);

    private final Virtqueue vq;
    private final EventFd kick;
    private final EventFd call;
    private final boolean notify;
    private final int spins;
    private final long pollBudgetNs;
    private final VhostWorker device;
    private final long healthSliceNs;
    private boolean publishOnKick;
    private final NotifyCounters counters = new NotifyCounters();

    /**
     * @param vq       the driver side; it should have been built with callbacks disabled
     *                 ({@code Virtqueue.Builder.callbacks(false)}): the guest enables them only to sleep.
     * @param kick     the kick channel, signalled.
     * @param call     the call channel, waited on.
     * @param strategy how to wait for used buffers; busy-poll also means the guest never kicks.
     * @param device   the device thread whose health a wait checks, or null if the device is elsewhere.
     */
    public VirtqueueGuest(
        final Virtqueue vq, final EventFd kick, final EventFd call, final WaitStrategy strategy,
        final VhostWorker device)
    {
        this(vq, kick, call, strategy, device, DEFAULT_HEALTH_SLICE_NS);
    }

    /**
     * @param vq            the driver side of the queue, built with callbacks disabled.
     * @param kick          the kick channel, signalled.
     * @param call          the call channel, waited on.
     * @param strategy      how to wait for used buffers; busy-poll also means the guest never kicks.
     * @param device        the device thread whose health a wait checks, or null if the device is elsewhere.
     * @param healthSliceNs longest park before the device's health is looked at again
     *                      ({@link #DEFAULT_HEALTH_SLICE_NS}); tests make it longer than any wait, so that a lost
     *                      interrupt cannot hide behind it.
     */
    public VirtqueueGuest(
        final Virtqueue vq, final EventFd kick, final EventFd call, final WaitStrategy strategy,
        final VhostWorker device, final long healthSliceNs)
    {
        if (healthSliceNs < 1)
        {
            throw new IllegalArgumentException("health slice " + healthSliceNs + " ns must be >= 1");
        }
        this.healthSliceNs = healthSliceNs;
        this.vq = vq;
        this.kick = kick;
        this.call = call;
        this.notify = !strategy.isBusyPoll();
        this.spins = strategy.spins();
        this.pollBudgetNs = strategy.pollBudgetNs();
        this.device = device;
        vq.disableCb();
    }

    /**
     * Chooses when {@code avail.idx} is published: on every {@link #add} (the kernel's way, the default), or once per
     * batch, when the guest {@link #kick()}s ({@link Virtqueue#add(SgList, Object, boolean)}): the device then sees a
     * batch at once instead of request by request, and the line holding {@code avail.idx} moves once per batch. With
     * it, every batch must end with a {@link #kick()}.
     *
     * @param onKick true to publish on kick.
     * @return this.
     */
    public VirtqueueGuest publishOnKick(final boolean onKick)
    {
        this.publishOnKick = onKick;
        return this;
    }

    /**
     * {@code virtqueue_add_sgs()}: see {@link Virtqueue#add(SgList, Object)}.
     *
     * @param sg    the request's buffers.
     * @param token the caller's object, returned by {@link #getBuf()}.
     * @return 0 or a negative errno ({@link Virtqueue#ENOSPC} when full).
     */
    public int add(final SgList sg, final Object token)
    {
        return vq.add(sg, token, !publishOnKick);
    }

    /**
     * {@code virtqueue_kick()}: tells the device about the buffers added since the last kick, if it wants to know
     * ({@link Virtqueue#kickPrepare()}: {@code NO_NOTIFY} or {@code avail_event}). In busy-poll mode the device polls
     * and nobody kicks, as in ringtest without {@code --sleep}; with publication on kick, the buffers are published
     * here in both modes.
     *
     * @return true if a kick was sent.
     */
    public boolean kick()
    {
        if (!notify)
        {
            vq.publishAvail();
            return false;
        }
        if (vq.kickPrepare())
        {
            kick.signal();
            counters.incSent();
            return true;
        }
        counters.incSuppressed();
        return false;
    }

    /**
     * {@code virtqueue_get_buf()}: takes the next completed request, without waiting.
     *
     * @return its token, or null if none is ready.
     * @throws DeviceFailure if the queue is broken (the device returned something impossible).
     */
    public Object getBuf()
    {
        final Object token = vq.getBuf();
        if (token != null)
        {
            counters.addWork(1);
            return token;
        }
        if (vq.isBroken())
        {
            throw new DeviceFailure("the queue is broken: " + vq.brokenReason(), null);
        }
        return null;
    }

    /** @return bytes the device wrote into the buffer last returned by {@link #getBuf()}. */
    public int usedLen()
    {
        return vq.usedLen();
    }

    /**
     * Takes the next completed request, waiting for one if need be ({@link #awaitUsed(long)}).
     *
     * @param timeoutNs longest wait.
     * @return its token.
     * @throws DeviceFailure if the device died, stopped, broke the queue, or did not answer in time.
     */
    public Object awaitBuf(final long timeoutNs)
    {
        Object token = getBuf();
        if (token != null)
        {
            return token;
        }
        final long start = System.nanoTime();
        while (true)
        {
            awaitUsed(timeoutNs - (System.nanoTime() - start));
            token = getBuf();
            if (token != null)
            {
                return token;
            }
        }
    }

    /**
     * Waits until the device has returned a buffer that {@link #getBuf()} has not taken yet.
     *
     * @param timeoutNs longest wait.
     * @throws DeviceFailure if the device died or stopped (with the cause), or nothing came back in time.
     */
    public void awaitUsed(final long timeoutNs)
    {
        final Virtqueue vq = this.vq;
        if (vq.moreUsed())
        {
            return;
        }
        final long start = System.nanoTime();
        if (!notify)
        {
            for (int i = 1; ; i++)
            {
                Thread.onSpinWait();
                if (vq.moreUsed())
                {
                    return;
                }
                if ((i & 1023) == 0)
                {
                    checkDevice(start, timeoutNs);
                }
            }
        }
        if (pollBudgetNs > 0 && poll(start))
        {
            return;
        }
        // virtqueue_enable_cb_prepare() + virtqueue_poll(): ask for an interrupt, then look again; a buffer returned
        // before the device could see our request would otherwise never be announced.
        if (vq.poll(vq.enableCbPrepare()))
        {
            vq.disableCb();
            return;
        }
        counters.incSleeps();
        while (true)
        {
            // Before every sleep: the device's last call (it calls when it ends) may have been read by an earlier
            // wait, together with a completion; the state it set before that call is still there to see.
            try
            {
                checkDevice(start, timeoutNs);
            }
            catch (final DeviceFailure failure)
            {
                vq.disableCb();
                throw failure;
            }
            final long left = timeoutNs - (System.nanoTime() - start);
            final long calls = call.await(spins, Math.min(Math.max(left, 0), healthSliceNs));
            if (calls > 0)
            {
                counters.incWakeups();
            }
            if (vq.moreUsed())
            {
                // vring_interrupt() -> the driver's callback disables further interrupts while it works.
                vq.disableCb();
                return;
            }
            if (calls > 0)
            {
                counters.incSpurious();
            }
        }
    }

    /** Polls the used ring with callbacks disabled for the poll budget. @return true if something came back. */
    private boolean poll(final long start)
    {
        for (int i = 1; ; i++)
        {
            Thread.onSpinWait();
            if (vq.moreUsed())
            {
                return true;
            }
            if ((i & 63) == 0 && System.nanoTime() - start >= pollBudgetNs)
            {
                return false;
            }
        }
    }

    private void checkDevice(final long start, final long timeoutNs)
    {
        if (device != null)
        {
            final VhostWorker.State state = device.state();
            if (state == VhostWorker.State.FAILED)
            {
                throw new DeviceFailure("the device died with " + vq.inFlight() + " requests in flight: " +
                    device.describe(), device.failure());
            }
            if (state == VhostWorker.State.STOPPED && !vq.moreUsed())
            {
                throw new DeviceFailure("the device stopped with " + vq.inFlight() + " requests in flight: " +
                    device.describe(), null);
            }
        }
        final long waited = System.nanoTime() - start;
        if (waited >= timeoutNs && !vq.moreUsed())
        {
            throw new DeviceFailure(String.format(
                "no used buffer within %d ms: %d requests in flight (%s); %s",
                TimeUnit.NANOSECONDS.toMillis(waited), vq.inFlight(), vq.describeIndices(),
                device != null ? device.describe() : "device outside this process"), null);
        }
    }

    /** @return the driver side of the queue. */
    public Virtqueue queue()
    {
        return vq;
    }

    /** @return the driver's counters: kicks sent and suppressed, interrupts that woke it, completions taken. */
    public NotifyCounters counters()
    {
        return counters;
    }
}
