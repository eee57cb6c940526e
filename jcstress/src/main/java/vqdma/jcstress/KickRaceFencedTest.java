package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;
import vqdma.ring.SplitRing;
import vqdma.ring.VirtioBarriers;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.QueuePair.*;
import static vqdma.ring.Vring.VRING_DESC_F_NEXT;
import static vqdma.ring.Vring.VRING_DESC_F_WRITE;
import static vqdma.ring.Vring.vringNeedEvent;

/**
 * Claim 3, the control: {@link KickRaceTest}'s accesses written out on the ring accessors, with
 * {@code virtio_mb()} where the kernel has it. The twin of {@link KickRaceWeakenedTest}, which differs only in the
 * two lines marked {@code virtio_mb}; that the twin never loses a wake-up while the weakened one does is what
 * pins the lost wake-up on the missing fence and on nothing else in the sequence.
 *
 * <h2>The kernel lines</h2>
 * {@code virtqueue_add_split()} ("Descriptors and available array need to be set before we expose the new
 * available array entries." - {@code virtio_wmb()}), then {@code virtqueue_kick_prepare_split()} ("We need to
 * expose available array entries before checking avail event." - {@code virtio_mb()}); on the device side
 * {@code vhost_enable_notify()} ("They could have slipped one in as we were doing that: make sure it's written, then
 * check again." - {@code smp_mb()}).
 *
 * <h2>The race</h2>
 * Set-up: request A in descriptor 0, {@code avail.idx} 1, {@code avail_event} 0 (the device consumed A with
 * notifications off). Actor {@link #driver}: descriptors 1 and 2, {@code avail.ring[1]}, {@code virtio_wmb},
 * {@code avail.idx = 2}, {@code virtio_mb}, kick if {@code vring_need_event(avail_event, 2, 1)}. Actor
 * {@link #device}: {@code avail_event = 1}, {@code virtio_mb}, awake if {@code avail.idx != 1}.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: a kick, and the device is awake anyway.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "The device goes to sleep; the driver's kick wakes it.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "No kick, but the device saw the buffer and stays awake.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost wake-up: no kick, and the device sleeps on a buffer it did not see.")
@State
public class KickRaceFencedTest
{
    private final RingSlot slot = RingPool.acquire();

    /** The history: A made available at avail.idx 1 and consumed; avail_event still 0. */
    public KickRaceFencedTest()
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
        // virtio_mb: the twin in KickRaceWeakenedTest has release + acquire here.
        VirtioBarriers.virtioMb();
        r.r1 = vringNeedEvent(ring.loAvailEvent(), 2, 1);
    }

    /** @param r r2: the device found new buffers after re-enabling notifications. */
    @Actor
    public void device(final ZZ_Result r)
    {
        final SplitRing ring = slot.ring;
        ring.soAvailEvent(1);
        // virtio_mb: the twin in KickRaceWeakenedTest has release + acquire here.
        VirtioBarriers.virtioMb();
        r.r2 = ring.loAvailIdx() != 1;
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        RingPool.release(slot);
    }
}
