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
import static vqdma.jcstress.QueuePair.HEAD_A;
import static vqdma.jcstress.QueuePair.HEAD_B;
import static vqdma.ring.Vring.vringNeedEvent;

/**
 * Claim 4, the control: {@link InterruptRaceTest}'s accesses written out on the ring accessors, with the full fences
 * where the kernel has them. The twin of {@link InterruptRaceWeakenedTest}, which differs only in the two lines
 * marked {@code virtio_mb}.
 *
 * <h2>The kernel lines</h2>
 * Device: {@code vhost_add_used_n()} ("Make sure buffer is written before we update index." - {@code smp_wmb()}),
 * then {@code vhost_notify()} ("Flush out used index updates. This is paired with the barrier that the Guest
 * executes when enabling interrupts." - {@code smp_mb()}). Driver: {@code virtqueue_enable_cb_prepare_split()}
 * stores {@code used_event}, {@code virtqueue_poll()} issues {@code virtio_mb()} and reloads {@code used->idx}.
 *
 * <h2>The race</h2>
 * Set-up: A completed at {@code used.idx} 1 and taken with callbacks off ({@code used_event} 0, the kernel's
 * disable "hack"). Actor {@link #driver}: {@code used_event = 1}, {@code virtio_mb}, more work if
 * {@code used.idx != 1}. Actor {@link #device}: element for B, {@code virtio_wmb}, {@code used.idx = 2},
 * {@code virtio_mb}, interrupt if {@code vring_need_event(used_event, 2, 1)}.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: more work found, and an interrupt.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "No interrupt, but the driver saw B and keeps polling.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "The driver goes idle; the interrupt wakes it.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost wake-up: no interrupt, and the driver sleeps on a completion it did not see.")
@State
public class InterruptRaceFencedTest
{
    private final RingSlot slot = RingPool.acquire();

    /** The history: A completed at used.idx 1; used_event 0 (callbacks were disabled). */
    public InterruptRaceFencedTest()
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
        // virtio_mb: the twin in InterruptRaceWeakenedTest has release + acquire here.
        VirtioBarriers.virtioMb();
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
        // virtio_mb: the twin in InterruptRaceWeakenedTest has release + acquire here.
        VirtioBarriers.virtioMb();
        r.r2 = vringNeedEvent(ring.loUsedEvent(), 2, 1);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        RingPool.release(slot);
    }
}
