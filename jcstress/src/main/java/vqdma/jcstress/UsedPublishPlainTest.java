package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.QueuePair.HEAD_B;

/**
 * Claim 2, weakened: {@link UsedPublishTest} without {@code virtio_wmb}/{@code virtio_rmb} and with a plain
 * {@code used.idx}. What would the JIT make of "Only get used array entries after they have been exposed by host"
 * if nothing told it?
 *
 * <h2>The race</h2>
 * The accesses of {@code VhostVirtqueue.pushUsed()} and {@code Virtqueue.getBuf()}, written out: the device stores
 * {@code used.ring[0] = {id 1, len 300}}, then (no fence) a plain {@code used.idx = 1}; the driver loads
 * {@code used.idx} plainly, then (no fence) the element - whatever the index it saw, so that no control dependency
 * keeps the element loads after the index load.
 * <p>
 * Result: the index seen, the element's id and length.
 *
 * <h2>Expectation on x86</h2>
 * Not required to be observed: x86 keeps loads in order and stores in order, so only the JIT could do it (by
 * scheduling the independent loads the other way round). ACCEPTABLE_INTERESTING, because without the fences the
 * Java memory model allows it.
 */
@JCStressTest
@Outcome(id = "0, .*", expect = ACCEPTABLE, desc = "Old used.idx: the driver would stop here; element unused.")
@Outcome(id = "1, 1, 300", expect = ACCEPTABLE, desc = "New used.idx and the element it covers.")
@Outcome(id = "1, .*", expect = ACCEPTABLE_INTERESTING,
    desc = "New used.idx but a stale element: loads or stores reordered without the fences.")
@Outcome(expect = FORBIDDEN, desc = "Impossible values: the test is broken.")
@State
public class UsedPublishPlainTest
{
    private final RingSlot slot = RingPool.acquire();

    /** @param r unused. */
    @Actor
    public void device(final III_Result r)
    {
        slot.ring.spUsedElem(0, HEAD_B, 300);
        // weakened: no virtio_wmb(), and a plain store of the index.
        slot.spUsedIdx(1);
    }

    /** @param r r1: used.idx; r2, r3: used.ring[0].id and .len. */
    @Actor
    public void driver(final III_Result r)
    {
        r.r1 = slot.lpUsedIdx();
        // weakened: no virtio_rmb().
        r.r2 = slot.ring.lpUsedId(0);
        r.r3 = slot.ring.lpUsedLen(0);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final III_Result r)
    {
        RingPool.release(slot);
    }
}
