package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;
import vqdma.ring.SplitRing;
import vqdma.ring.VirtioBarriers;

import java.lang.invoke.VarHandle;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static vqdma.jcstress.QueuePair.*;
import static vqdma.ring.Vring.VRING_DESC_F_NEXT;
import static vqdma.ring.Vring.VRING_DESC_F_WRITE;
import static vqdma.ring.Vring.vringNeedEvent;

/**
 * Claim 3, weakened: the proof that {@code virtio_mb()} is necessary in {@code virtqueue_kick_prepare_split()} and
 * {@code vhost_enable_notify()}. {@link KickRaceFencedTest} with each {@code virtio_mb()} replaced by a release fence
 * and an acquire fence: everything but StoreLoad ordering.
 *
 * <h2>What goes wrong</h2>
 * The driver's store of {@code avail.idx = 2} and the device's store of {@code avail_event = 1} each sit in their
 * CPU's store buffer while each CPU loads the other's location from its cache and gets the old value: the driver
 * sees {@code avail_event} 0 and suppresses the kick ("We need to expose available array entries before checking
 * avail event." - not done), the device sees {@code avail.idx} 1 and goes to sleep ("make sure it's written, then
 * check again" - not made sure). A request sits in the ring and nobody will look at it until the next one.
 * {@code VarHandle.releaseFence()} orders earlier accesses before later stores and {@code acquireFence()} earlier
 * loads before later accesses; neither orders a store before a later load, and on x86 both are compiler barriers
 * only. The JMM allows the outcome, x86 produces it: it must be observed in every run, or the run fails
 * ({@link MustObserveInteresting}): a fence whose removal changes nothing would not be proven necessary.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: a kick, and the device is awake anyway.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "The device goes to sleep; the driver's kick wakes it.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "No kick, but the device saw the buffer and stays awake.")
@Outcome(id = "false, false", expect = ACCEPTABLE_INTERESTING,
    desc = "Lost wake-up: without the full fence each side's store waited in its store buffer while it loaded the "
        + "other's stale value.")
@MustObserveInteresting("the lost wake-up (StoreLoad reordering) without virtio_mb")
@State
public class KickRaceWeakenedTest
{
    private final RingSlot slot = RingPool.acquire();

    /** The history: A made available at avail.idx 1 and consumed; avail_event still 0. */
    public KickRaceWeakenedTest()
    {
        final SplitRing ring = slot.ring;
        ring.spDesc(HEAD_A, RingPool.DATA_GPA, A_OUT, 0, HEAD_A + 1);
        ring.spAvailRing(0, HEAD_A);
        ring.soAvailIdx(1);
    }

    /** @param r r1: the driver decided to kick. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        final SplitRing ring = slot.ring;
        ring.spDesc(HEAD_B, RingPool.DATA_GPA + 1024, B_OUT, VRING_DESC_F_NEXT, HEAD_B + 1);
        ring.spDesc(HEAD_B + 1, RingPool.DATA_GPA + 2048, B_IN, VRING_DESC_F_WRITE, HEAD_B + 2);
        ring.spAvailRing(1, HEAD_B);
        VirtioBarriers.virtioWmb();
        ring.soAvailIdx(2);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        r.r1 = vringNeedEvent(ring.loAvailEvent(), 2, 1);
    }

    /** @param r r2: the device found new buffers after re-enabling notifications. */
    @Actor
    public void device(final ZZ_Result r)
    {
        final SplitRing ring = slot.ring;
        ring.soAvailEvent(1);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        r.r2 = ring.loAvailIdx() != 1;
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        RingPool.release(slot);
    }
}
