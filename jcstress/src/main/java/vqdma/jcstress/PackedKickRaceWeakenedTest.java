package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;
import vqdma.ring.PackedRing;
import vqdma.ring.VirtioBarriers;

import java.lang.invoke.VarHandle;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static vqdma.jcstress.PackedQueuePair.*;
import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * Packed claim 3, weakened: the proof that {@code virtio_mb()} is necessary in
 * {@code virtqueue_kick_prepare_packed()} and in the device's re-enable. The accesses of {@link PackedKickRaceTest}
 * written out on the raw ring, each {@code virtio_mb()} replaced by a release and an acquire fence: everything but
 * StoreLoad ordering.
 *
 * <h2>What goes wrong</h2>
 * The driver's store of B's head flags and the device's store of DESC each wait in their CPU's store buffer while
 * each CPU loads the other's location from its cache: the driver sees DISABLE and suppresses the kick, the device
 * sees position 1 not yet available and goes to sleep. x86 does exactly this reordering, so the lost kick must be
 * observed in every run ({@link MustObserveInteresting}).
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: a kick, and the device is awake anyway.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "The device goes to sleep; the driver's kick wakes it.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "No kick, but the device saw the buffer and stays awake.")
@Outcome(id = "false, false", expect = ACCEPTABLE_INTERESTING,
    desc = "Lost kick: without the full fence each side's store waited in its store buffer while it loaded the "
        + "other's stale value.")
@MustObserveInteresting("the lost kick (StoreLoad reordering) without virtio_mb on the packed ring")
@State
public class PackedKickRaceWeakenedTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);
    private final PackedRing ring = raw(q.slot);

    /** The history: A added and kicked; the device popped it with notifications off. */
    public PackedKickRaceWeakenedTest()
    {
        q.addA();
        q.driver.kickPrepare();
        q.device.disableNotify();
        q.pop(ID_A);
    }

    /** @param r r1: the driver decided to kick. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        ring.spDesc(POS_B + 1, RingPool.DATA_GPA + 2048, QueuePair.B_IN, ID_B, VRING_DESC_F_WRITE | availFlags(1));
        ring.spDescBody(POS_B, RingPool.DATA_GPA + 1024, QueuePair.B_OUT, ID_B);
        VirtioBarriers.virtioWmb();
        ring.soDescFlags(POS_B, VRING_DESC_F_NEXT | availFlags(1));
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        final int flags = ring.loDeviceEventFlags();
        if (flags != VRING_PACKED_EVENT_FLAG_DESC)
        {
            r.r1 = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
        }
        else
        {
            VirtioBarriers.virtioRmb();
            final int offWrap = ring.loDeviceEventOffWrap();
            // B moved the avail position from 1 to 3, in wrap 1.
            r.r1 = offWrap >>> VRING_PACKED_EVENT_F_WRAP_CTR == 1 &&
                vringNeedEvent(offWrap & OFF_WRAP_OFFSET_MASK, 3, 1);
        }
    }

    /** @param r r2: the device found a new buffer after re-enabling notifications. */
    @Actor
    public void device(final ZZ_Result r)
    {
        ring.soDeviceEventOffWrap(offWrap(POS_B, 1));
        VirtioBarriers.virtioWmb();
        ring.soDeviceEventFlags(VRING_PACKED_EVENT_FLAG_DESC);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        r.r2 = isAvail(ring.loDescFlags(POS_B), 1);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        q.release();
    }
}
