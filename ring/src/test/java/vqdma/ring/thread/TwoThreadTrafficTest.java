package vqdma.ring.thread;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vqdma.ring.DescriptorChain;
import vqdma.ring.RingLayout;
import vqdma.ring.SgList;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Random traffic through a two-thread queue, seeded, with random delays on both sides, for every wait strategy with
 * and without EVENT_IDX, on the split ring, and on the packed ring for the wait strategies that sleep and spin
 * (its event suppression structures instead of the flags and event indices): three million requests in all. The
 * driver adds bursts of random size, kicks after each
 * add or after the burst, then takes what is ready, waits for one, or waits for all (which sends the device to
 * sleep, so that the next burst has to wake it). The device copies each request's id from its readable buffer into
 * its writable one, sometimes after a delay.
 * <p>
 * Checked: every request completes exactly once, with its own id and length; nothing is left at shutdown; no thread
 * is left; no wake-up is lost. The safety-net slices are made longer than the waits, so a lost kick or interrupt
 * cannot be papered over by a periodic re-check: it ends in a {@link DeviceFailure} timeout naming the seed and
 * the request. And the counters obey the protocol: poll mode sends and suppresses nothing; with notifications, a
 * side never wakes more often than the other side signalled it.
 */
class TwoThreadTrafficTest
{
    /** Requests per notification case: each of them exercises the sleep/wake-up races thousands of times. */
    static final int REQUESTS = 250_000;
    /** Requests of the busy-poll case, which has no notifications to lose and crawls on an oversubscribed machine. */
    static final int POLL_REQUESTS = 20_000;
    static final long WAIT_NS = TimeUnit.SECONDS.toNanos(10);
    static final long SLICE_NS = TimeUnit.SECONDS.toNanos(60);
    static final int SLOT = 16;

    static Stream<Arguments> cases()
    {
        final List<Arguments> cases = new ArrayList<>();
        cases.add(Arguments.of(RingLayout.SPLIT, "poll", false, false, 101L));
        long seed = 202;
        for (final String strategy : new String[] {"park", "spin:50", "spin:2000", "spin:10+poll:20000"})
        {
            for (final boolean eventIdx : new boolean[] {false, true})
            {
                cases.add(Arguments.of(RingLayout.SPLIT, strategy, eventIdx, seed % 3 == 0, seed++));
            }
        }
        // The packed ring's event suppression (flags and off_wrap) under the same races, on a ring of 61.
        cases.add(Arguments.of(RingLayout.PACKED, "poll", false, true, 301L));
        for (final String strategy : new String[] {"park", "spin:50"})
        {
            for (final boolean eventIdx : new boolean[] {false, true})
            {
                cases.add(Arguments.of(RingLayout.PACKED, strategy, eventIdx, seed % 3 == 0, seed++));
            }
        }
        return cases.stream();
    }

    /** Half the seeds (the odd ones) publish {@code avail.idx} on kick instead of on every add. */
    @ParameterizedTest(name = "{0} {1} event-idx={2} indirect={3} seed={4}")
    @MethodSource("cases")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyRequestCompletesExactlyOnceAndNoWakeUpIsLost(final RingLayout layout,
        final String strategyText, final boolean eventIdx, final boolean indirect, final long seed)
    {
        final WaitStrategy strategy = WaitStrategy.parse(strategyText);
        final int num = layout == RingLayout.PACKED ? 61 : 64;
        final String name = "traffic-" + seed;
        final SplittableRandom deviceRandom = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
        final TwoThreadQueue q = TwoThreadQueue.builder(num).layout(layout).eventIdx(eventIdx).indirect(indirect)
            .strategy(strategy).maxBatch(1 + (int)(seed % 16)).publishOnKick(seed % 2 == 1).name(name)
            .safetySlices(SLICE_NS, SLICE_NS)
            .handler(new Echo(deviceRandom)).build();
        final UnsafeBuffer mem = q.memory().buffer();
        final int slots = indirect ? num : num / 2;
        final long buffers = q.memory().allocate((long)slots * SLOT, 64);
        final Integer[] slotToken = new Integer[slots];
        final long[] slotId = new long[slots];
        final int[] free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            slotToken[i] = i;
            free[i] = i;
        }
        int freeTop = slots;
        final int requests = strategy.isBusyPoll() ? POLL_REQUESTS : REQUESTS;
        final byte[] done = new byte[requests];
        final SgList sg = new SgList(2);
        final SplittableRandom random = new SplittableRandom(seed);
        final VirtqueueGuest guest = q.guest();
        q.start();
        long issued = 0;
        long completed = 0;
        try
        {
            while (completed < requests)
            {
                final int burst = 1 + random.nextInt(random.nextBoolean() ? 4 : slots);
                final boolean kickEach = random.nextInt(4) == 0;
                int added = 0;
                while (added < burst && issued < requests && freeTop > 0)
                {
                    final int slot = free[--freeTop];
                    final long gpa = buffers + (long)slot * SLOT;
                    mem.putLong((int)gpa, issued);
                    mem.putLong((int)gpa + 8, -1L);
                    slotId[slot] = issued;
                    sg.clear().out(gpa, 8).in(gpa + 8, 8);
                    final int err = guest.add(sg, slotToken[slot]);
                    assertEquals(0, err, "seed " + seed + " request " + issued + ": add failed");
                    issued++;
                    added++;
                    if (kickEach)
                    {
                        guest.kick();
                    }
                    delay(random);
                }
                if (added > 0 && !kickEach)
                {
                    guest.kick();
                }
                final int mode = random.nextInt(3);
                final long inFlight = issued - completed;
                long want = mode == 0 ? 0 : mode == 1 ? Math.min(1, inFlight) : inFlight;
                while (true)
                {
                    Object token = guest.getBuf();
                    if (token == null && want > 0)
                    {
                        try
                        {
                            token = guest.awaitBuf(WAIT_NS);
                        }
                        catch (final DeviceFailure failure)
                        {
                            throw new AssertionError("seed " + seed + " after " + completed + " completions (" +
                                (issued - completed) + " in flight): " + failure.getMessage(), failure);
                        }
                    }
                    if (token == null)
                    {
                        break;
                    }
                    final int slot = (Integer)token;
                    final long id = slotId[slot];
                    assertEquals(8, guest.usedLen(), "seed " + seed + " request " + id + ": used len");
                    assertEquals(id, mem.getLong((int)(buffers + (long)slot * SLOT) + 8),
                        "seed " + seed + " request " + id + ": the device wrote another request's id");
                    assertEquals(0, done[(int)id], "seed " + seed + " request " + id + " completed twice");
                    done[(int)id] = 1;
                    free[freeTop++] = slot;
                    completed++;
                    want--;
                }
                delay(random);
            }
        }
        finally
        {
            final TwoThreadQueue.Drained drained = q.shutdown(10, TimeUnit.SECONDS, t -> { }, t -> { });
            assertEquals(new TwoThreadQueue.Drained(0, 0), drained, "seed " + seed + ": left over at shutdown");
        }
        for (int id = 0; id < requests; id++)
        {
            assertEquals(1, done[id], "seed " + seed + " request " + id + " never completed");
        }
        assertEquals(VhostWorker.State.STOPPED, q.worker().state(), "seed " + seed);
        assertFalse(q.worker().thread().isAlive());
        ThreadCheck.noThreadLeft(name);

        final NotifyCounters g = guest.counters();
        final NotifyCounters d = q.worker().counters();
        final String counters = "seed " + seed + ": guest {" + g + "}, device {" + d + "}";
        assertEquals(requests, g.work(), counters);
        assertEquals(requests, d.work(), counters);
        if (strategy.isBusyPoll())
        {
            assertEquals(0, g.sent() + g.suppressed() + g.wakeups() + g.sleeps(), counters);
            assertEquals(0, d.sent() + d.suppressed() + d.wakeups() + d.sleeps(), counters);
        }
        else
        {
            // Each wake-up reads at least one signal; the device's last one may be the stop kick.
            assertTrue(d.wakeups() <= g.sent() + 1, counters);
            assertTrue(g.wakeups() <= d.sent(), counters);
            assertEquals(d.batches(), d.sent() + d.suppressed(), counters);
            assertTrue(d.sleeps() > 0 && g.sleeps() > 0, "both sides slept at least once: " + counters);
            assertTrue(g.spurious() <= g.wakeups() && d.spurious() <= d.wakeups(), counters);
        }
    }

    static void delay(final SplittableRandom random)
    {
        final int k = random.nextInt(64);
        if (k == 0)
        {
            Thread.yield();
        }
        else if (k < 8)
        {
            for (int i = random.nextInt(300); i > 0; i--)
            {
                Thread.onSpinWait();
            }
        }
    }

    /** The device: copies the request id from the readable buffer to the writable one. */
    static final class Echo implements RequestHandler
    {
        private final SplittableRandom random;

        Echo(final SplittableRandom random)
        {
            this.random = random;
        }

        @Override
        public int handle(final DescriptorChain chain)
        {
            delay(random);
            final UnsafeBuffer mem = chain.memory();
            mem.putLong((int)chain.runGpa(chain.outRuns()), mem.getLong((int)chain.runGpa(0)));
            return 8;
        }
    }
}
