package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;
import vqdma.ring.SplitRing;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.QueuePair.*;
import static vqdma.ring.Vring.VRING_DESC_F_NEXT;
import static vqdma.ring.Vring.VRING_DESC_F_WRITE;

/**
 * Claim 1, weakened: {@link AvailPublishTest} without {@code virtio_wmb}/{@code virtio_rmb}, and with a plain
 * instead of an opaque {@code avail.idx}. What would the JIT do to the kernel's "Descriptors and available array
 * need to be set before we expose the new available array entries" if nothing told it?
 *
 * <h2>The race</h2>
 * The accesses of {@code Virtqueue.add()} and {@code VhostVirtqueue.pop()} for request B, written out on the ring's
 * accessors: the driver stores descriptors 1 and 2 and {@code avail.ring[1] = 1}, then (no fence) a plain store of
 * {@code avail.idx = 2}. The device loads {@code avail.idx} plainly, then (no fence) the ring entry and both
 * descriptors' lengths. Unlike {@code pop()}, the device loads the entries whatever the index it saw, so that no
 * control dependency pins them after the index load: the JIT is as free as the Java memory model lets it be.
 * <p>
 * Result: the index seen, the head in {@code avail.ring[1]}, the lengths of descriptors 1 and 2.
 *
 * <h2>Expectation on x86</h2>
 * Not required to be observed. x86 (TSO) never reorders two stores or two loads, so only the JIT could produce the
 * interesting outcome, and HotSpot keeps off-heap (raw memory) stores in program order; it may schedule the
 * independent loads in either order, which is the one way to see it here. On AArch64 the hardware alone would
 * produce it. The outcome is ACCEPTABLE_INTERESTING, not FORBIDDEN: without the fences the Java memory model allows
 * it, which is the point of the fences in {@link AvailPublishTest}.
 */
@JCStressTest
@Outcome(id = "1, .*", expect = ACCEPTABLE, desc = "Old avail.idx: the device would stop here; entries unused.")
@Outcome(id = "2, 1, 16, 512", expect = ACCEPTABLE, desc = "New avail.idx, and the entries it covers.")
@Outcome(id = "2, .*", expect = ACCEPTABLE_INTERESTING,
    desc = "New avail.idx but a stale ring entry or descriptor: stores or loads reordered without the fences.")
@Outcome(expect = FORBIDDEN, desc = "Impossible values: the test is broken.")
@State
public class AvailPublishPlainTest
{
    private final RingSlot slot = RingPool.acquire();

    /** The history: request A in descriptor 0, made available at avail.idx 1. */
    public AvailPublishPlainTest()
    {
        final SplitRing ring = slot.ring;
        ring.spDesc(HEAD_A, RingPool.DATA_GPA, A_OUT, 0, 0);
        ring.spAvailRing(0, HEAD_A);
        ring.soAvailIdx(1);
    }

    /** @param r unused. */
    @Actor
    public void driver(final IIII_Result r)
    {
        final SplitRing ring = slot.ring;
        ring.spDesc(HEAD_B, RingPool.DATA_GPA + 1024, B_OUT, VRING_DESC_F_NEXT, HEAD_B + 1);
        ring.spDesc(HEAD_B + 1, RingPool.DATA_GPA + 2048, B_IN, VRING_DESC_F_WRITE, 0);
        ring.spAvailRing(1, HEAD_B);
        // weakened: no virtio_wmb(), and a plain store of the index.
        slot.spAvailIdx(2);
    }

    /** @param r r1: avail.idx; r2: avail.ring[1]; r3, r4: lengths of descriptors 1 and 2. */
    @Actor
    public void device(final IIII_Result r)
    {
        final SplitRing ring = slot.ring;
        r.r1 = slot.lpAvailIdx();
        // weakened: no virtio_rmb().
        r.r2 = ring.lpAvailRing(1);
        r.r3 = ring.lpDescLen(HEAD_B);
        r.r4 = ring.lpDescLen(HEAD_B + 1);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final IIII_Result r)
    {
        RingPool.release(slot);
    }
}
