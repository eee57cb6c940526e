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
 * Claim 4 without event indices: no lost wake-up device to driver through {@code avail.flags}
 * ({@code VRING_AVAIL_F_NO_INTERRUPT}): the production code.
 *
 * <h2>The kernel lines</h2>
 * As {@link InterruptRaceTest}, on the flag branch: vhost's {@code vhost_notify()} ("Flush out used index updates.
 * This is paired with the barrier that the Guest executes when enabling interrupts." - {@code smp_mb()}) then tests
 * {@code avail->flags & VRING_AVAIL_F_NO_INTERRUPT}; the driver's {@code virtqueue_enable_cb_prepare_split()} clears
 * the flag (and writes {@code used_event}, which the device ignores here), {@code virtqueue_poll()} issues
 * {@code virtio_mb()} and reloads {@code used->idx}.
 *
 * <h2>The race</h2>
 * Set-up: A and B added and popped; A completed and interrupted; the handler set {@code NO_INTERRUPT}
 * ({@code disableCb()}) and took A. Actor {@link #driver}: {@code enableCbPrepare()} + {@code poll()}. Actor
 * {@link #device}: {@code pushUsed(B)} + {@code needInterrupt()}, which interrupts only if it sees the flag cleared.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: more work found, and an interrupt.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "No interrupt, but the driver saw B and keeps polling.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "The driver goes idle; the interrupt wakes it.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost wake-up: no interrupt (NO_INTERRUPT still seen), and the driver sleeps on a completion it did not see.")
@State
public class InterruptRaceFlagsTest
{
    private final QueuePair q = new QueuePair(FLAGS_ONLY);

    /** The history: A and B in flight and popped; A completed, interrupted and taken with NO_INTERRUPT set. */
    public InterruptRaceFlagsTest()
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
