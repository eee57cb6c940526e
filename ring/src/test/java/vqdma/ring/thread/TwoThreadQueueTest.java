package vqdma.ring.thread;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import vqdma.ring.SgList;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Start, stop and failure of a two-thread queue: shutdown completes what the device took and takes back what it did
 * not, a handler's exception reaches the driver as the cause of its failure (at once, not after a timeout), a
 * device that stops answering makes the driver's wait time out with a message saying where the device is stuck,
 * and a device thread that cannot be stopped is reported rather than waited on for ever. No test leaves a thread.
 */
class TwoThreadQueueTest
{
    static final int NUM = 64;
    static final long LONG_SLICE = TimeUnit.SECONDS.toNanos(60);
    static final String NAME = "lifecycle-vq";

    TwoThreadQueue q;
    UnsafeBuffer mem;
    long buffers;
    final SgList sg = new SgList(2);

    @AfterEach
    void noThreadLeft()
    {
        if (q != null && !q.isShutDown())
        {
            q.close();
        }
        ThreadCheck.noThreadLeft(NAME);
    }

    TwoThreadQueue queue(final WaitStrategy strategy, final RequestHandler handler)
    {
        q = TwoThreadQueue.builder(NUM).eventIdx(true).strategy(strategy).name(NAME)
            .safetySlices(LONG_SLICE, LONG_SLICE).handler(handler).build();
        mem = q.memory().buffer();
        buffers = q.memory().allocate(NUM * 16L, 64);
        return q;
    }

    /** Adds request {@code id} (its id in the readable buffer) with token {@code id}. */
    void add(final int id)
    {
        final long gpa = buffers + id * 16L;
        mem.putLong((int)gpa, id);
        assertEquals(0, q.guest().add(sg.clear().out(gpa, 8).in(gpa + 8, 8), id));
    }

    static int echo(final vqdma.ring.DescriptorChain chain)
    {
        final UnsafeBuffer mem = chain.memory();
        mem.putLong((int)chain.runGpa(chain.outRuns()), mem.getLong((int)chain.runGpa(0)));
        return 8;
    }

    static void awaitParked(final Thread thread)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (thread.getState() != Thread.State.TIMED_WAITING && thread.getState() != Thread.State.WAITING)
        {
            assertTrue(System.nanoTime() < deadline, "thread never parked: " + thread.getState());
            Thread.onSpinWait();
        }
    }

    @Test
    @Timeout(30)
    void shutdownReturnsCompletedRequestsAndTakesBackTheOthers()
    {
        queue(WaitStrategy.park(), TwoThreadQueueTest::echo).start();
        final VirtqueueGuest guest = q.guest();
        for (int id = 0; id < 10; id++)
        {
            add(id);
        }
        assertTrue(guest.kick(), "the device sleeps with notifications enabled: the first kick is delivered");
        final Set<Object> taken = new HashSet<>();
        for (int i = 0; i < 6; i++)
        {
            taken.add(guest.awaitBuf(TimeUnit.SECONDS.toNanos(10)));
        }
        // Wait until the device has served all ten and gone back to sleep on its kick eventfd, then add seven it
        // will never be told about.
        while (q.worker().counters().work() < 10)
        {
            Thread.onSpinWait();
        }
        awaitParked(q.worker().thread());
        for (int id = 10; id < 17; id++)
        {
            add(id);
        }
        final List<Object> completed = new ArrayList<>();
        final List<Object> returned = new ArrayList<>();
        final TwoThreadQueue.Drained drained = q.shutdown(5, TimeUnit.SECONDS, completed::add, returned::add);

        assertEquals(new TwoThreadQueue.Drained(4, 7), drained);
        final Set<Object> all = new HashSet<>(taken);
        all.addAll(completed);
        assertEquals(10, all.size(), "the ten the device served came back once each: " + taken + " + " + completed);
        assertEquals(Set.of(10, 11, 12, 13, 14, 15, 16), new HashSet<>(returned));
        assertEquals(VhostWorker.State.STOPPED, q.worker().state());
        assertFalse(q.worker().thread().isAlive());
        assertEquals(0, q.queue().inFlight());
        assertEquals(NUM, q.queue().numFree(), "every descriptor is free again");
        assertEquals(new TwoThreadQueue.Drained(0, 0), q.shutdown(1, TimeUnit.SECONDS, t -> { }, t -> { }),
            "a second shutdown finds nothing");
    }

    @Test
    @Timeout(30)
    void everyRequestTheDeviceTookIsCompletedOnStop()
    {
        final boolean[] handled = new boolean[NUM];
        queue(WaitStrategy.spinThenPark(100), chain ->
        {
            LockSupport.parkNanos(20_000);
            handled[(int)chain.memory().getLong((int)chain.runGpa(0))] = true;
            return echo(chain);
        }).start();
        for (int id = 0; id < NUM / 2; id++)
        {
            add(id);
            q.guest().kick();
        }
        final Set<Object> completed = new HashSet<>();
        final Set<Object> returned = new HashSet<>();
        q.shutdown(5, TimeUnit.SECONDS, completed::add, returned::add);
        // The join in shutdown makes the device thread's writes to handled visible here.
        for (int id = 0; id < NUM / 2; id++)
        {
            assertTrue(handled[id] ? completed.contains(id) : returned.contains(id),
                "request " + id + (handled[id] ? " was handled but not completed" : " was not returned"));
        }
        assertEquals(NUM / 2, completed.size() + returned.size());
        assertEquals(VhostWorker.State.STOPPED, q.worker().state());
    }

    @Test
    @Timeout(30)
    void aHandlerExceptionReachesTheDriverAsTheCause()
    {
        queue(WaitStrategy.park(), chain ->
        {
            if (chain.memory().getLong((int)chain.runGpa(0)) == 2)
            {
                throw new IllegalStateException("disk on fire at request 2");
            }
            return echo(chain);
        }).start();
        final VirtqueueGuest guest = q.guest();
        for (int id = 0; id < 5; id++)
        {
            add(id);
        }
        guest.kick();
        assertNotNull(guest.awaitBuf(TimeUnit.SECONDS.toNanos(10)));
        assertNotNull(guest.awaitBuf(TimeUnit.SECONDS.toNanos(10)));
        // The device's last call may already have been read with a completion: the wait must still see the death
        // at once, not when its timeout expires.
        final long start = System.nanoTime();
        final DeviceFailure failure = assertThrows(DeviceFailure.class,
            () -> guest.awaitBuf(TimeUnit.SECONDS.toNanos(20)));
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10),
            "the death was noticed by the timeout, not by the device's call");
        assertTrue(failure.getMessage().startsWith("the device died with 3 requests in flight"), failure.getMessage());
        assertTrue(failure.getMessage().contains("disk on fire at request 2"), failure.getMessage());
        assertInstanceOf(IllegalStateException.class, failure.getCause());
        assertEquals("disk on fire at request 2", failure.getCause().getMessage());
        assertEquals(VhostWorker.State.FAILED, q.worker().state());

        final Set<Object> returned = new HashSet<>();
        assertEquals(new TwoThreadQueue.Drained(0, 3), q.shutdown(5, TimeUnit.SECONDS, t -> { }, returned::add));
        assertEquals(Set.of(2, 3, 4), returned, "the failed request and the two never served are taken back");
    }

    @Test
    @Timeout(30)
    void aDeviceThatStopsAnsweringMakesTheDriverTimeOutWithWhereItIsStuck()
    {
        final CountDownLatch never = new CountDownLatch(1);
        queue(WaitStrategy.spinThenPark(100), chain ->
        {
            try
            {
                never.await();
            }
            catch (final InterruptedException ex)
            {
                throw new IllegalStateException("interrupted while stuck", ex);
            }
            return echo(chain);
        }).start();
        add(0);
        q.guest().kick();
        final long start = System.nanoTime();
        final DeviceFailure failure = assertThrows(DeviceFailure.class,
            () -> q.guest().awaitBuf(TimeUnit.MILLISECONDS.toNanos(300)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300), "gave up before the timeout");
        final String message = failure.getMessage();
        assertTrue(message.startsWith("no used buffer within "), message);
        assertTrue(message.contains("1 requests in flight (avail.idx 1, used.idx 0, last used 0)"), message);
        assertTrue(message.contains("device thread '" + NAME + "' RUNNING"), message);
        assertTrue(message.contains("thread WAITING"), message);
        assertTrue(message.contains("Unsafe.park") && message.contains("TwoThreadQueueTest.lambda$"),
            "the message shows where the device is stuck: " + message);
        assertNull(failure.getCause());

        // Stopping interrupts the stuck handler; its request is taken back.
        final List<Object> returned = new ArrayList<>();
        assertEquals(new TwoThreadQueue.Drained(0, 1), q.shutdown(5, TimeUnit.SECONDS, t -> { }, returned::add));
        assertEquals(List.of(0), returned);
        assertEquals(VhostWorker.State.FAILED, q.worker().state());
        assertEquals("interrupted while stuck", q.worker().failure().getMessage());
    }

    @Test
    @Timeout(30)
    void aDeviceThreadThatCannotBeStoppedIsReported() throws Exception
    {
        final CountDownLatch entered = new CountDownLatch(1);
        final boolean[] release = new boolean[1];
        final Object lock = new Object();
        queue(WaitStrategy.park(), chain ->
        {
            entered.countDown();
            while (true)
            {
                synchronized (lock)
                {
                    if (release[0])
                    {
                        return echo(chain);
                    }
                }
                Thread.onSpinWait(); // ignores interrupts
            }
        }).start();
        add(0);
        q.guest().kick();
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        final DeviceFailure failure = assertThrows(DeviceFailure.class,
            () -> q.worker().stop(200, TimeUnit.MILLISECONDS));
        assertTrue(failure.getMessage().startsWith("device thread did not stop within 200 ms, even when " +
            "interrupted: device thread '" + NAME + "' RUNNING"), failure.getMessage());
        synchronized (lock)
        {
            release[0] = true;
        }
        q.worker().thread().join(5_000);
        assertFalse(q.worker().thread().isAlive());
        assertEquals(VhostWorker.State.STOPPED, q.worker().state(), "the handler returned, then the loop saw stop");
        q.shutdown(1, TimeUnit.SECONDS, t -> { }, t -> { });
    }

    @Test
    void bothSidesPollOrBothUseNotifications()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> TwoThreadQueue
            .builder(NUM).driverStrategy(WaitStrategy.busyPoll()).deviceStrategy(WaitStrategy.park())
            .handler(chain -> 0).build());
        assertEquals("driver strategy poll with device strategy park: either both sides poll (ringtest's default) " +
            "or both use notifications (--sleep)", ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TwoThreadQueue.builder(NUM).build(),
            "a handler is required");
    }

    @Test
    void waitStrategiesParseAndPrint()
    {
        assertEquals("poll", WaitStrategy.parse("poll").toString());
        assertEquals("park", WaitStrategy.parse("park").toString());
        assertEquals("spin:100", WaitStrategy.parse("spin:100").toString());
        assertEquals("spin:10+poll:20000", WaitStrategy.parse("spin:10+poll:20000").toString());
        assertEquals(20_000, WaitStrategy.parse("park+poll:20000").pollBudgetNs());
        assertThrows(IllegalArgumentException.class, () -> WaitStrategy.parse("poll+poll:5"));
        assertThrows(IllegalArgumentException.class, () -> WaitStrategy.parse("spin:x"));
        assertThrows(IllegalArgumentException.class, () -> WaitStrategy.parse("sleep"));
        assertThrows(IllegalArgumentException.class, () -> WaitStrategy.spinThenPark(-1));
    }
}
