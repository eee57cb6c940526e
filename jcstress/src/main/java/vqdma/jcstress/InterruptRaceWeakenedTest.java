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
import static vqdma.jcstress.QueuePair.HEAD_A;
import static vqdma.jcstress.QueuePair.HEAD_B;
import static vqdma.ring.Vring.vringNeedEvent;

/**
 * Claim 4, weakened: the proof that the full fences of {@code vhost_notify()} and {@code virtqueue_poll()} are
 * necessary. {@link InterruptRaceFencedTest} with each {@code virtio_mb()} replaced by a release fence and an acquire
 * fence.
 *
 * <h2>What goes wrong</h2>
 * The device's store of {@code used.idx = 2} and the driver's store of {@code used_event = 1} wait in their store
 * buffers while each side loads the other's location from cache: the device sees {@code used_event} 0 and suppresses
 * the interrupt ("Flush out used index updates" - not flushed), the driver sees {@code used.idx} 1 and goes idle with
 * callbacks on. B's completion sits in the used ring and nobody takes it until some later interrupt - for a block
 * device, an I/O that hangs. The outcome must be observed in every run ({@link MustObserveInteresting}).
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: more work found, and an interrupt.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "No interrupt, but the driver saw B and keeps polling.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "The driver goes idle; the interrupt wakes it.")
@Outcome(id = "false, false", expect = ACCEPTABLE_INTERESTING,
    desc = "Lost wake-up: without the full fence each side's store waited in its store buffer while it loaded the "
        + "other's stale value.")
@MustObserveInteresting("the lost interrupt (StoreLoad reordering) without virtio_mb")
@State
public class InterruptRaceWeakenedTest
{
    private final RingSlot slot = RingPool.acquire();

    /** The history: A completed at used.idx 1; used_event 0 (callbacks were disabled). */
    public InterruptRaceWeakenedTest()
    {
        slot.ring.spUsedElem(0, HEAD_A, 0);
        slot.ring.soUsedIdx(1);
    }

    /** @param r r1: the driver found more work after re-enabling callbacks. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        final SplitRing ring = slot.ring;
        ring.soUsedEvent(1);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        r.r1 = ring.loUsedIdx() != 1;
    }

    /** @param r r2: the device decided to interrupt. */
    @Actor
    public void device(final ZZ_Result r)
    {
        final SplitRing ring = slot.ring;
        ring.spUsedElem(1, HEAD_B, 300);
        VirtioBarriers.virtioWmb();
        ring.soUsedIdx(2);
        // weakened: release + acquire instead of virtio_mb.
        VarHandle.releaseFence();
        VarHandle.acquireFence();
        r.r2 = vringNeedEvent(ring.loUsedEvent(), 2, 1);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        RingPool.release(slot);
    }
}
