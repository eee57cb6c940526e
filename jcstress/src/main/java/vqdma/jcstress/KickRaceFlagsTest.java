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
 * Claim 3 without event indices: no lost wake-up driver to device through {@code used.flags}
 * ({@code VRING_USED_F_NO_NOTIFY}): the production code.
 *
 * <h2>The kernel lines</h2>
 * As {@link KickRaceTest}, on the other branch of the same code: {@code virtqueue_kick_prepare_split()} issues
 * {@code virtio_mb()} ("We need to expose available array entries before checking avail event.") and then, without
 * {@code VIRTIO_RING_F_EVENT_IDX}, tests {@code used->flags & VRING_USED_F_NO_NOTIFY}; vhost's
 * {@code vhost_enable_notify()} clears the flag, then "They could have slipped one in as we were doing that: make
 * sure it's written, then check again." - {@code smp_mb()} - and reloads {@code avail->idx}. The same store-buffering
 * pattern, over a flag instead of an index.
 *
 * <h2>The race</h2>
 * Set-up: the driver added request A and kicked; the device set {@code NO_NOTIFY} ({@code disableNotify()}, while
 * it polls) and popped A. Actor {@link #driver}: {@code add(B)}, {@code kickPrepare()} - kicks only if it sees the
 * flag cleared. Actor {@link #device}: {@code enableNotify()} - clears the flag, full fence, true if it sees
 * {@code avail.idx} 2.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: a kick, and the device is awake anyway.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "The device goes to sleep; the driver's kick wakes it.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "No kick, but the device saw the buffer and stays awake.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost wake-up: no kick (NO_NOTIFY still seen), and the device sleeps on a buffer it did not see.")
@State
public class KickRaceFlagsTest
{
    private final QueuePair q = new QueuePair(FLAGS_ONLY);

    /** The history: A added and kicked; the device set NO_NOTIFY and popped it. */
    public KickRaceFlagsTest()
    {
        q.addA();
        q.driver.kickPrepare();
        q.device.disableNotify();
        q.pop(HEAD_A);
        q.requestB();
    }

    /** @param r r1: the driver decided to kick. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        q.driver.add(q.sg, TOKEN_B);
        r.r1 = q.driver.kickPrepare();
    }

    /** @param r r2: the device found new buffers after re-enabling notifications. */
    @Actor
    public void device(final ZZ_Result r)
    {
        r.r2 = q.device.enableNotify();
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        q.release();
    }
}
