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
 * Packed claim 4, weakened: the proof that {@code virtio_mb()} is necessary in {@code virtqueue_poll()} after the
 * packed re-enable, and in the device's interrupt decision. The accesses of {@link PackedInterruptRaceTest} written
 * out on the raw ring, each {@code virtio_mb()} replaced by a release and an acquire fence.
 *
 * <h2>What goes wrong</h2>
 * The driver's store of DESC and the device's store of B's used flags each wait in a store buffer while each side
 * loads the other's stale value: the driver sees position 1 not used and goes idle, the device sees DISABLE and
 * sends no interrupt. x86 does this, so the lost interrupt must be observed in every run
 * ({@link MustObserveInteresting}).
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: more work found, and an interrupt.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "No interrupt, but the driver saw B and keeps polling.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "The driver goes idle; the interrupt wakes it.")
@Outcome(id = "false, false", expect = ACCEPTABLE_INTERESTING,
    desc = "Lost interrupt: without the full fence each side's store waited in its store buffer while it loaded the "
        + "other's stale value.")
@MustObserveInteresting("the lost interrupt (StoreLoad reordering) without virtio_mb on the packed ring")
@State
public class PackedInterruptRaceWeakenedTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);
    private final PackedRing ring = raw(q.slot);

    /** The history of {@link PackedInterruptRaceTest}. */
    public PackedInterruptRaceWeakenedTest()
    {
        PackedInterruptRaceTest.setUp(q);
    }

    /** @param r r1: the driver found more work after re-enabling callbacks. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        ring.soDriverEventOffWrap(offWrap(POS_B, 1));
        VirtioBarriers.virtioWmb();
        ring.soDriverEventFlags(VRING_PACKED_EVENT_FLAG_DESC);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        r.r1 = isUsed(ring.loDescFlags(POS_B), 1);
    }

    /** @param r r2: the device decided to interrupt. */
    @Actor
    public void device(final ZZ_Result r)
    {
        ring.spUsedDesc(POS_B, ID_B, 300);
        VirtioBarriers.virtioWmb();
        ring.soDescFlags(POS_B, usedFlags(1) | VRING_DESC_F_WRITE);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        final int flags = ring.loDriverEventFlags();
        if (flags != VRING_PACKED_EVENT_FLAG_DESC)
        {
            r.r2 = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
        }
        else
        {
            VirtioBarriers.virtioRmb();
            final int offWrap = ring.loDriverEventOffWrap();
            // B moved the used position from 1 to 3, in wrap 1.
            r.r2 = offWrap >>> VRING_PACKED_EVENT_F_WRAP_CTR == 1 &&
                vringNeedEvent(offWrap & OFF_WRAP_OFFSET_MASK, 3, 1);
        }
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        q.release();
    }
}
