package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.QueuePair.*;

/**
 * Claim 4: no lost wake-up device to driver, with event indices ({@code used_event}): the production code.
 *
 * <h2>The kernel lines</h2>
 * The device, vhost's {@code vhost_notify()} after publishing {@code used->idx}: "Flush out used index updates. This
 * is paired with the barrier that the Guest executes when enabling interrupts." - {@code smp_mb()} - then
 * {@code vhost_get_avail_event... used_event} and {@code vring_need_event()}. The driver, NAPI-style: with callbacks
 * disabled it took what there was, then {@code virtqueue_enable_cb_prepare_split()} ("We optimistically turn back on
 * interrupts, then check if there was more to do.") stores {@code used_event = last_used_idx}, and
 * {@code virtqueue_poll()} issues {@code virtio_mb()} and reloads {@code used->idx} - "to detect a possible race
 * between the driver checking for more work, and enabling callbacks" (its kernel-doc). The same store-buffering
 * pattern as {@link KickRaceTest}, mirrored.
 *
 * <h2>The race</h2>
 * Production code on both sides. Set-up: requests A and B added and popped; the device completed A and interrupted
 * (its first {@code needInterrupt()}, so {@code signalled_used} is 1); the driver's handler disabled callbacks
 * ({@code disableCb()} writes the kernel's "hack" {@code used_event = 0}) and took A. Actor {@link #driver}:
 * {@code enableCbPrepare()} ({@code used_event = 1}), {@code poll()} (full fence, {@code used.idx != 1}: more work,
 * don't sleep). Actor {@link #device}: {@code pushUsed(B)} ({@code used.idx} 1 to 2), {@code needInterrupt()} (full
 * fence, {@code vring_need_event(used_event, 2, 1)}: true only if it sees {@code used_event} 1).
 * <p>
 * Result: the driver found more work; the device interrupts.
 * <p>
 * {@link InterruptRaceWeakenedTest} shows the lost wake-up without the full fences; {@link InterruptRaceFencedTest}
 * is its control.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: more work found, and an interrupt.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "No interrupt, but the driver saw B and keeps polling.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "The driver goes idle; the interrupt wakes it.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost wake-up: no interrupt, and the driver sleeps on a completion it did not see.")
@State
public class InterruptRaceTest
{
    private final QueuePair q = new QueuePair(EVENT_IDX);

    /** The history: A and B in flight and popped; A completed, interrupted and taken with callbacks off. */
    public InterruptRaceTest()
    {
        q.addA();
        check("add B", q.driver.add(q.requestB(), TOKEN_B), 0);
        q.driver.kickPrepare();
        q.pop(HEAD_A);
        q.pop(HEAD_B);
        q.device.pushUsed(HEAD_A, 0);
        if (!q.device.needInterrupt())
        {
            throw new IllegalStateException("set-up: the first completion did not interrupt");
        }
        q.driver.disableCb();
        if (q.driver.getBuf() != TOKEN_A)
        {
            throw new IllegalStateException("set-up: getBuf did not return A");
        }
    }

    /** @param r r1: the driver found more work after re-enabling callbacks. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        final int lastUsed = q.driver.enableCbPrepare();
        r.r1 = q.driver.poll(lastUsed);
    }

    /** @param r r2: the device decided to interrupt. */
    @Actor
    public void device(final ZZ_Result r)
    {
        q.device.pushUsed(HEAD_B, 300);
        r.r2 = q.device.needInterrupt();
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        q.release();
    }
}
