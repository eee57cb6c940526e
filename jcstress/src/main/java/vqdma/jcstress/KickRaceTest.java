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
 * Claim 3: no lost wake-up driver to device, with event indices ({@code avail_event}): the production code.
 *
 * <h2>The kernel lines</h2>
 * The driver, {@code virtqueue_kick_prepare_split()}: "We need to expose available array entries before checking
 * avail event." - {@code virtio_mb()} between the store of {@code avail->idx} and the load of
 * {@code vring_avail_event()}. The device, vhost's {@code vhost_enable_notify()} before it sleeps: it stores
 * {@code avail_event = last_avail_idx}, then "They could have slipped one in as we were doing that: make sure it's
 * written, then check again." - {@code smp_mb()} - and reloads {@code avail->idx}.
 * <p>
 * Each side stores one location and then loads the one the other side stores: Dekker's pattern (store buffering,
 * "SB"). Sequential consistency says at least one of them sees the other's store: the driver kicks, or the device
 * finds the new buffer. A store followed by a load of another location is the one reordering x86 does (the store
 * waits in the store buffer while the load is served from the cache); only a full fence ({@code mfence} or a locked
 * instruction, which is what {@code VarHandle.fullFence()} emits) drains the store buffer first.
 *
 * <h2>The race</h2>
 * Production code on both sides. Set-up: the driver added request A and kicked, the device popped it with
 * notifications off, so {@code avail_event} is still 0 and the device's {@code last_avail_idx} is 1. Actor
 * {@link #driver}: {@code Virtqueue.add(B)} ({@code avail.idx} 1 to 2), then {@code kickPrepare()}:
 * {@code vring_need_event(avail_event, 2, 1)} is true only if it sees the device's new {@code avail_event = 1}.
 * Actor {@link #device}: {@code VhostVirtqueue.enableNotify()} ({@code avail_event = 1}, full fence, reload
 * {@code avail.idx}): true if it sees 2, and then processes B instead of sleeping.
 * <p>
 * Result: the driver kicks; the device found more work.
 * <p>
 * {@link KickRaceWeakenedTest} repeats the same accesses with release and acquire fences in place of the full ones
 * and shows the lost wake-up; {@link KickRaceFencedTest} is its twin with the full fences, for the control.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: a kick, and the device is awake anyway.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "The device goes to sleep; the driver's kick wakes it.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "No kick, but the device saw the buffer and stays awake.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost wake-up: no kick, and the device sleeps on a buffer it did not see.")
@State
public class KickRaceTest
{
    private final QueuePair q = new QueuePair(EVENT_IDX);

    /** The history: A added and kicked; the device popped it with notifications off. */
    public KickRaceTest()
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
