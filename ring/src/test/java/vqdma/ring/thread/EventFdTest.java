package vqdma.ring.thread;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The eventfd model: counts accumulate and a read takes them all, a read with nothing to read times out, an
 * interrupted reader returns, and, above all, two threads that ping-pong through a pair of them never lose a
 * wake-up, whichever of spinning or parking each side does.
 */
class EventFdTest
{
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void signalsAccumulateAndOneReadTakesThemAll()
    {
        final EventFd fd = new EventFd("kick");
        fd.signal();
        fd.signal();
        fd.signal();
        assertEquals(3, fd.pending());
        assertEquals(3, fd.await(0, SECOND));
        assertEquals(0, fd.pending());
        assertEquals(0, fd.poll(), "nothing left: a non-blocking read finds nothing");
        fd.signal();
        assertEquals(1, fd.poll());
    }

    @Test
    void aReadWithNothingToReadTimesOut()
    {
        final EventFd fd = new EventFd("call");
        final long start = System.nanoTime();
        assertEquals(0, fd.await(10, TimeUnit.MILLISECONDS.toNanos(20)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(20),
            "returned before the timeout with nothing signalled");
        assertEquals(0, fd.await(0, 0), "a zero timeout does not park");
    }

    @Test
    @Timeout(10)
    void aParkedReaderIsWokenBySignal() throws Exception
    {
        final EventFd fd = new EventFd("kick");
        final AtomicReference<Long> got = new AtomicReference<>();
        final Thread reader = new Thread(() -> got.set(fd.await(0, 5 * SECOND)), "reader");
        reader.start();
        while (reader.getState() != Thread.State.TIMED_WAITING)
        {
            Thread.onSpinWait();
        }
        fd.signal();
        reader.join(5_000);
        assertFalse(reader.isAlive());
        assertEquals(1L, got.get(), "the parked reader read the one signal");
    }

    @Test
    @Timeout(10)
    void anInterruptedReaderReturnsAndKeepsItsInterruptStatus() throws Exception
    {
        final EventFd fd = new EventFd("kick");
        final AtomicReference<Object[]> got = new AtomicReference<>();
        final Thread reader = new Thread(() ->
        {
            final long n = fd.await(0, 5 * SECOND);
            got.set(new Object[] {n, Thread.currentThread().isInterrupted()});
        }, "reader");
        reader.start();
        while (reader.getState() != Thread.State.TIMED_WAITING)
        {
            Thread.onSpinWait();
        }
        reader.interrupt();
        reader.join(5_000);
        assertFalse(reader.isAlive());
        assertEquals(0L, got.get()[0]);
        assertEquals(true, got.get()[1]);
    }

    /**
     * Two threads bounce one token through two channels, each side with random spin counts (0 parks at once) and
     * random delays before signalling, so that a signal lands before, during and after the other side's decision
     * to park. A lost wake-up would leave both waiting: the reader's timeout turns that into a failure naming the
     * seed and the round.
     */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    @Timeout(60)
    void pingPongNeverLosesAWakeUp(final long seed) throws Exception
    {
        final int rounds = 50_000;
        final EventFd ping = new EventFd("ping");
        final EventFd pong = new EventFd("pong");
        final AtomicReference<String> error = new AtomicReference<>();
        final Thread other = new Thread(() ->
        {
            final SplittableRandom random = new SplittableRandom(seed * 31 + 1);
            for (int r = 0; r < rounds; r++)
            {
                if (ping.await(spins(random), 10 * SECOND) != 1)
                {
                    error.set("seed " + seed + " round " + r + ": the pong side lost a wake-up");
                    return;
                }
                delay(random);
                pong.signal();
            }
        }, "pong-side");
        other.start();
        final SplittableRandom random = new SplittableRandom(seed);
        try
        {
            for (int r = 0; r < rounds && error.get() == null; r++)
            {
                delay(random);
                ping.signal();
                assertEquals(1, pong.await(spins(random), 10 * SECOND),
                    "seed " + seed + " round " + r + ": the ping side lost a wake-up");
            }
        }
        finally
        {
            other.join(20_000);
        }
        assertNull(error.get());
        assertFalse(other.isAlive());
    }

    static int spins(final SplittableRandom random)
    {
        final int k = random.nextInt(4);
        return k == 0 ? 0 : k == 1 ? 1 : k == 2 ? 100 : 2_000;
    }

    static void delay(final SplittableRandom random)
    {
        final int k = random.nextInt(16);
        if (k == 0)
        {
            Thread.yield();
        }
        else if (k < 4)
        {
            for (int i = random.nextInt(500); i > 0; i--)
            {
                Thread.onSpinWait();
            }
        }
    }
}
