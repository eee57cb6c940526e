package vqdma.ring.thread;

import vqdma.ring.DescriptorChain;
import vqdma.ring.VhostVirtqueue;

import java.util.concurrent.TimeUnit;

/**
 * The device thread of one queue: vhost's worker kthread ({@code vhost_worker()}) running the queue's kick handler
 * ({@code handle_tx_kick()} -> {@code handle_tx()} in {@code drivers/vhost/net.c}) in a loop.
 *
 * <h2>The loop</h2>
 * <pre>
 *   disable notify
 *   loop:
 *     serve: pop (vhost_get_vq_desc), handle, add used; publish every maxBatch chains and when the ring is empty
 *            (vhost_add_used_n + vhost_signal: flush used.idx, then an interrupt if vhost_notify() says so)
 *     if nothing was served:
 *       busy-poll mode: spin and go round
 *       poll the ring for the poll budget with notify still disabled          (vhost_net_busy_poll)
 *       enable notify; if the driver slipped a buffer in, disable and go round (vhost_enable_notify)
 *       sleep on the kick eventfd; on wake-up, disable notify and go round
 * </pre>
 * A wake-up whose kick finds the ring empty (the buffers it announced were already served while polling) is counted
 * as spurious, as ringtest counts them.
 *
 * <h2>Start, stop, failure</h2>
 * {@link #stop(long, TimeUnit)} asks the loop to end, wakes it with a kick, and joins it; the loop finishes the chain
 * it is handling and publishes everything it handled, so nothing it took from the ring is lost; chains it never took
 * stay available, for the driver to take back with {@code Virtqueue.detachUnusedBuf()} (the kernel's reset path).
 * An exception in the handler (or a queue the driver broke) ends the loop: its used elements handled so far are
 * published, the exception is kept as {@link #failure()}, the state becomes {@link State#FAILED}, and the driver is
 * woken with a call so that it reports the failure instead of waiting for it. The thread is a daemon, but the
 * queue's owner is expected to stop it; {@link #stop(long, TimeUnit)} interrupts a handler that does not return.
 *
 * <h2>Threads and memory</h2>
 * Everything here but {@link #stop}, {@link #state()}, {@link #failure()}, {@link #counters()} and
 * {@link #describe()} runs on the worker thread. The serve loop allocates nothing.
 */
public final class VhostWorker
{
    /** {@code VHOST_NET_BATCH}: the most used elements added before they are published. */
    public static final int DEFAULT_MAX_BATCH = 64;

    /**
     * Default longest park on the kick eventfd before the loop looks at its stop flag again. Only a safety net:
     * {@link #stop} kicks, so the loop never needs it to end.
     */
    public static final long DEFAULT_IDLE_SLICE_NS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Where the worker is in its life. */
    public enum State
    {
        /** Not started. */
        NEW,
        /** Serving the queue. */
        RUNNING,
        /** Stopped on request; everything it took from the ring was completed. */
        STOPPED,
        /** Died: see {@link #failure()}. */
        FAILED
    }

    private final VhostVirtqueue vq;
    private final DescriptorChain chain;
    private final RequestHandler handler;
    private final EventFd kick;
    private final EventFd call;
    private final boolean notify;
    private final int spins;
    private final long pollBudgetNs;
    private final int maxBatch;
    private final long idleSliceNs;
    private final NotifyCounters counters = new NotifyCounters();
    private final Thread thread;
    private Runnable onStart = () -> { };
    private NotificationFilter callFilter = NotificationFilter.DELIVER_ALL;
    private volatile boolean running;
    private volatile State state = State.NEW;
    private volatile Throwable failure;

    /**
     * @param name     the thread's name.
     * @param vq       the device side of the queue; only this worker may use it once started.
     * @param handler  the backend.
     * @param kick     the kick channel, waited on.
     * @param call     the call (interrupt) channel, signalled.
     * @param strategy how to wait when the ring is empty.
     * @param maxBatch used elements published at most at once ({@link #DEFAULT_MAX_BATCH}), {@code >= 1}.
     */
    public VhostWorker(
        final String name, final VhostVirtqueue vq, final RequestHandler handler, final EventFd kick,
        final EventFd call, final WaitStrategy strategy, final int maxBatch)
    {
        this(name, vq, handler, kick, call, strategy, maxBatch, DEFAULT_IDLE_SLICE_NS);
    }

    /**
     * @param name        the thread's name.
     * @param vq          the device side of the queue; only this worker may use it once started.
     * @param handler     the backend.
     * @param kick        the kick channel, waited on.
     * @param call        the call (interrupt) channel, signalled.
     * @param strategy    how to wait when the ring is empty.
     * @param maxBatch    used elements published at most at once ({@link #DEFAULT_MAX_BATCH}), {@code >= 1}.
     * @param idleSliceNs longest park before the stop flag is looked at again ({@link #DEFAULT_IDLE_SLICE_NS});
     *                    tests make it longer than any wait, so that a lost kick cannot hide behind it.
     */
    public VhostWorker(
        final String name, final VhostVirtqueue vq, final RequestHandler handler, final EventFd kick,
        final EventFd call, final WaitStrategy strategy, final int maxBatch, final long idleSliceNs)
    {
        if (maxBatch < 1 || idleSliceNs < 1)
        {
            throw new IllegalArgumentException("max batch " + maxBatch + " and idle slice " + idleSliceNs +
                " ns must be >= 1");
        }
        this.vq = vq;
        this.chain = vq.newChain();
        this.handler = handler;
        this.kick = kick;
        this.call = call;
        this.notify = !strategy.isBusyPoll();
        this.spins = strategy.spins();
        this.pollBudgetNs = strategy.pollBudgetNs();
        this.maxBatch = maxBatch;
        this.idleSliceNs = idleSliceNs;
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    /**
     * @param action run first on the device thread when it starts (to pin it to a CPU, say); an exception there is
     *               the worker's failure. Set before {@link #start()}.
     * @return this.
     */
    public VhostWorker onStart(final Runnable action)
    {
        if (state != State.NEW)
        {
            throw new IllegalStateException("device thread " + thread.getName() + " already started");
        }
        this.onStart = action;
        return this;
    }

    /**
     * Fault injection: every interrupt the protocol lets through ({@link VhostVirtqueue#needInterrupt()}) is first
     * offered to {@code filter}, and lost if it says so. The call the worker sends when it ends is never filtered
     * (it is how a waiting driver learns that nobody will answer). Set before {@link #start()}.
     *
     * @param filter decides, per interrupt, whether it reaches the driver ({@link NotificationFilter#DELIVER_ALL}
     *               by default).
     * @return this.
     */
    public VhostWorker callFilter(final NotificationFilter filter)
    {
        if (state != State.NEW)
        {
            throw new IllegalStateException("device thread " + thread.getName() + " already started");
        }
        this.callFilter = filter;
        return this;
    }

    /**
     * Starts the device thread.
     *
     * @throws IllegalStateException if it was started before.
     */
    public void start()
    {
        if (state != State.NEW)
        {
            throw new IllegalStateException("device thread " + thread.getName() + " is " + state + ", not NEW");
        }
        running = true;
        state = State.RUNNING;
        thread.start();
    }

    /**
     * Stops the device thread and waits for it to end. A handler that does not return within half the timeout is
     * interrupted.
     *
     * @param timeout longest wait.
     * @param unit    its unit.
     * @throws DeviceFailure if the thread is still alive after the timeout (the message says where it is stuck).
     */
    public void stop(final long timeout, final TimeUnit unit)
    {
        running = false;
        kick.signal();
        if (state == State.NEW)
        {
            state = State.STOPPED;
            return;
        }
        final long halfMs = Math.max(1, unit.toMillis(timeout) / 2);
        try
        {
            thread.join(halfMs);
            if (thread.isAlive())
            {
                thread.interrupt();
                thread.join(halfMs);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive())
        {
            throw new DeviceFailure("device thread did not stop within " + unit.toMillis(timeout) + " ms, even " +
                "when interrupted: " + describe(), null);
        }
    }

    /** @return where the worker is in its life, volatile load. */
    public State state()
    {
        return state;
    }

    /** @return why the worker died, or null; volatile load. */
    public Throwable failure()
    {
        return failure;
    }

    /** @return the device's counters: interrupts sent and suppressed, kicks that woke it, chains served. */
    public NotifyCounters counters()
    {
        return counters;
    }

    /** @return the device thread (for joins and diagnostics). */
    public Thread thread()
    {
        return thread;
    }

    /**
     * @return a one-line description for messages: name, state, the thread's state, its top frame and the first
     * two frames outside the JDK (where a handler that stopped responding is stuck).
     */
    public String describe()
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("device thread '").append(thread.getName()).append("' ").append(state);
        final Throwable f = failure;
        if (f != null)
        {
            sb.append(" (").append(f).append(')');
        }
        sb.append(", thread ").append(thread.getState()).append(", served ").append(counters.work());
        // The top frame, then the first two outside the JDK: where a stuck handler is, and who called it.
        final StackTraceElement[] frames = thread.getStackTrace();
        int shown = 0;
        for (int i = 0; i < frames.length && shown < 3; i++)
        {
            final String cls = frames[i].getClassName();
            if (i == 0 || !(cls.startsWith("java.") || cls.startsWith("jdk.") || cls.startsWith("sun.")))
            {
                sb.append(shown == 0 ? ", at " : " <- ").append(frames[i]);
                shown++;
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // the worker thread
    // ---------------------------------------------------------------------------------------------------------------

    private void run()
    {
        final VhostVirtqueue vq = this.vq;
        boolean woken = false;
        try
        {
            onStart.run();
            // The worker starts busy: the driver's kicks are not wanted until the ring is seen empty.
            vq.disableNotify();
            while (running)
            {
                if (serve() > 0)
                {
                    woken = false;
                    continue;
                }
                if (woken)
                {
                    counters.incSpurious();
                    woken = false;
                }
                if (!notify)
                {
                    Thread.onSpinWait();
                    continue;
                }
                if (pollBudgetNs > 0 && poll())
                {
                    continue;
                }
                // vhost_enable_notify(): ask for kicks, then look again: the driver may have added a buffer after we
                // found the ring empty and before it could see our request (its kick decision would say no).
                if (vq.enableNotify())
                {
                    vq.disableNotify();
                    continue;
                }
                counters.incSleeps();
                final long kicks = kick.await(spins, idleSliceNs);
                vq.disableNotify();
                if (kicks > 0)
                {
                    counters.incWakeups();
                    woken = true;
                }
            }
            state = State.STOPPED;
        }
        catch (final Throwable t)
        {
            failure = t;
            state = State.FAILED;
        }
        finally
        {
            // Wake a driver that sleeps on its call eventfd: it must see that nobody will answer it.
            call.signal();
        }
    }

    /** vhost_net_busy_poll(): poll the ring with notifications disabled. @return true if there was work. */
    private boolean poll()
    {
        final long deadline = System.nanoTime() + pollBudgetNs;
        int spins = 0;
        while (running)
        {
            if (serve() > 0)
            {
                return true;
            }
            Thread.onSpinWait();
            if ((++spins & 63) == 0 && System.nanoTime() - deadline >= 0)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Serves every available chain: {@code handle_tx()}'s loop. @return chains served.
     */
    private int serve()
    {
        final VhostVirtqueue vq = this.vq;
        final DescriptorChain chain = this.chain;
        final RequestHandler handler = this.handler;
        final int maxBatch = this.maxBatch;
        int served = 0;
        int pending = 0;
        try
        {
            while (true)
            {
                final int head = vq.pop(chain);
                if (head < 0)
                {
                    if (head == VhostVirtqueue.BROKEN)
                    {
                        throw new IllegalStateException("the driver broke the queue: " + vq.brokenReason());
                    }
                    break;
                }
                vq.addUsed(head, handler.handle(chain));
                served++;
                if (++pending == maxBatch)
                {
                    publish();
                    pending = 0;
                    if (!running)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            // Also when the handler threw: what was handled before it is complete and goes back to the driver.
            if (pending > 0)
            {
                publish();
            }
            if (served > 0)
            {
                counters.addWork(served);
            }
        }
        return served;
    }

    /** vhost_add_used_n() + vhost_signal(): publish used.idx, then interrupt if the driver asked for it. */
    private void publish()
    {
        vq.flushUsed();
        counters.incBatches();
        if (notify)
        {
            if (vq.needInterrupt())
            {
                // A filtered-out interrupt is lost in transit: the driver finds the used buffers at the end of its
                // health slice.
                if (callFilter.deliver())
                {
                    call.signal();
                    counters.incSent();
                }
            }
            else
            {
                counters.incSuppressed();
            }
        }
    }

    @Override
    public String toString()
    {
        return "VhostWorker[" + thread.getName() + ", " + state + "]";
    }
}
