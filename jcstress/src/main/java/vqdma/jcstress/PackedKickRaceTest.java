package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.PackedQueuePair.*;

/**
 * Packed claim 3: no lost kick with packed event suppression (EVENT_IDX: the device event structure's DESC flag
 * and {@code off_wrap}): the production code.
 *
 * <h2>The kernel lines</h2>
 * The driver, {@code virtqueue_kick_prepare_packed()}: "We need to expose the new flags value before checking
 * notification suppressions." - {@code virtio_mb()} between the store of the head's flags and the load of the device
 * event structure ({@code snapshot.u32 = *(u32 *)vq->packed.vring.device}). The device, QEMU's
 * {@code virtio_queue_packed_set_notification()} when it re-enables: {@code off_wrap}, {@code smp_wmb()}, flags =
 * DESC, then "Expose avail event/used flags before caller checks the avail idx." - {@code smp_mb()} - and the caller
 * re-checks the descriptor at its avail position. Store buffering (Dekker) as in {@link KickRaceTest}: each side
 * stores one location and loads the one the other stores.
 *
 * <h2>The race</h2>
 * Set-up: the driver added A and kicked; the device disabled notifications (flags DISABLE) and popped A. Actor
 * {@link #driver}: {@code PackedVirtqueue.add(B)} (head flags at position 1), then {@code kickPrepare()}: a kick only
 * if it sees DESC with {@code off_wrap} = position 1 (passed by 1 -> 3). Actor {@link #device}:
 * {@code PackedVhostVirtqueue.enableNotify()}: {@code off_wrap} = (1, wrap 1), DESC, full fence, and true if the
 * descriptor at position 1 is available.
 * <p>
 * {@link PackedKickRaceWeakenedTest} writes the same accesses with release and acquire fences in place of the full
 * ones and shows the lost kick.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: a kick, and the device is awake anyway.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "The device goes to sleep; the driver's kick wakes it.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "No kick, but the device saw the buffer and stays awake.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost kick: no kick, and the device sleeps on a buffer it did not see.")
@State
public class PackedKickRaceTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);

    /** The history: A added and kicked; the device popped it with notifications off. */
    public PackedKickRaceTest()
    {
        q.addA();
        q.driver.kickPrepare();
        q.device.disableNotify();
        q.pop(ID_A);
        q.requestB();
    }

    /** @param r r1: the driver decided to kick. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        q.driver.add(q.sg, QueuePair.TOKEN_B);
        r.r1 = q.driver.kickPrepare();
    }

    /** @param r r2: the device found a new buffer after re-enabling notifications. */
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
