package vqdma.blk;

import vqdma.ring.Virtqueue;
import vqdma.ring.thread.DeviceFailure;
import vqdma.ring.thread.TwoThreadQueue;
import vqdma.ring.thread.VirtqueueGuest;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One hardware queue of a {@link BlkMultiQueue}: blk-mq's {@code struct blk_mq_hw_ctx} with virtio-blk's
 * {@code struct virtio_blk_vq}. A {@link BlkDriver} on one split ring, driven by one driver thread (the CPU blk-mq
 * maps to this hardware queue), and a {@link BlkDevice} served by the ring's own device thread.
 *
 * <h2>Waiting</h2>
 * {@link #awaitCompletions(long)} is where the driver thread sleeps: on the ring's interrupt (the
 * {@link VirtqueueGuest}'s NAPI-style wait) when requests are in flight; or, when nothing is in flight but bios
 * wait for resources (a full bounce pool, {@code BLK_STS_RESOURCE}), for {@link #RESOURCE_DELAY_NS} before it
 * dispatches again, as blk-mq re-runs a hardware queue with nothing in flight after
 * {@code BLK_MQ_RESOURCE_DELAY} ({@code blk_mq_delay_run_hw_queue()}): no completion would ever restart it.
 *
 * <h2>Threads</h2>
 * Every method but the getters of set-up objects runs on the queue's driver thread (one at a time); the device
 * thread is the {@link TwoThreadQueue}'s worker.
 */
public final class BlkHwQueue
{
    /** {@code BLK_MQ_RESOURCE_DELAY}: 3 ms before a queue with nothing in flight retries after a resource shortage. */
    public static final long RESOURCE_DELAY_NS = TimeUnit.MILLISECONDS.toNanos(3);

    private final int index;
    private final TwoThreadQueue queue;
    private final BlkDriver driver;
    private final BlkDevice device;

    BlkHwQueue(final int index, final TwoThreadQueue queue, final BlkDriver driver, final BlkDevice device)
    {
        this.index = index;
        this.queue = queue;
        this.driver = driver;
        this.device = device;
    }

    /** @return the queue's index, 0 to {@code num_queues - 1}. */
    public int index()
    {
        return index;
    }

    /**
     * Queues a bio and dispatches what fits ({@link BlkDriver#submit}).
     *
     * @param bio the bio, not in flight.
     */
    public void submit(final Bio bio)
    {
        driver.submit(bio);
    }

    /** Reaps completions without waiting ({@link BlkDriver#poll()}). @return requests completed. */
    public int poll()
    {
        return driver.poll();
    }

    /**
     * Waits for the device to complete something (or, with nothing in flight and bios waiting for resources, for
     * {@link #RESOURCE_DELAY_NS}), then reaps and dispatches.
     *
     * @param timeoutNs longest wait for a completion.
     * @return requests completed.
     * @throws DeviceFailure if the device died, stopped, broke the ring, or completed nothing in time.
     */
    public int awaitCompletions(final long timeoutNs)
    {
        if (driver.inFlight() == 0)
        {
            if (driver.pendingBios() > 0)
            {
                LockSupport.parkNanos(RESOURCE_DELAY_NS);
                return driver.poll();
            }
            return 0;
        }
        final Virtqueue vq = queue.queue();
        if (!vq.moreUsed())
        {
            queue.guest().awaitUsed(timeoutNs);
        }
        return driver.poll();
    }

    /**
     * Submits {@code bio} and waits until it is done.
     *
     * @param bio       the bio.
     * @param timeoutNs longest wait for the whole bio.
     * @throws DeviceFailure if the device failed or the bio was not done in time.
     */
    public void run(final Bio bio, final long timeoutNs)
    {
        final long start = System.nanoTime();
        driver.submit(bio);
        while (!bio.isDone())
        {
            final long left = timeoutNs - (System.nanoTime() - start);
            if (left <= 0)
            {
                throw new DeviceFailure(String.format(
                    "queue %d: bio of %d bytes at sector %d not done within %d ms (%d requests in flight, %d bios " +
                    "waiting); %s", index, bio.bytes(), bio.sector(), TimeUnit.NANOSECONDS.toMillis(timeoutNs),
                    driver.inFlight(), driver.pendingBios(), queue.worker().describe()), null);
            }
            awaitCompletions(left);
        }
    }

    /** @return the driver. */
    public BlkDriver driver()
    {
        return driver;
    }

    /** @return the device model (its counters are the device thread's: read them after shutdown). */
    public BlkDevice device()
    {
        return device;
    }

    /** @return the ring with its two threads. */
    public TwoThreadQueue twoThreadQueue()
    {
        return queue;
    }

    @Override
    public String toString()
    {
        return "BlkHwQueue[" + index + ", " + driver.inFlight() + " in flight, " + queue.worker().state() + "]";
    }
}
