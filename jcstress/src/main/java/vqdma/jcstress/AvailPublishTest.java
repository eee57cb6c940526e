package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.QueuePair.*;

/**
 * Claim 1: a published descriptor chain is never observed half-written by the device.
 *
 * <h2>The kernel lines</h2>
 * {@code virtqueue_add_split()}: "Descriptors and available array need to be set before we expose the new available
 * array entries." - {@code virtio_wmb()}, then the store of {@code avail->idx}. On the other side vhost's
 * {@code vhost_get_vq_desc()} reads {@code avail->idx}, then "Only get avail ring entries after they have been
 * exposed by guest." - {@code smp_rmb()} - then the ring entry and the descriptors. The pair is a message passing
 * pattern: everything written before the release-ordered index is visible to whoever sees the index.
 *
 * <h2>The race</h2>
 * The production code on both sides: actor {@link #driver} is {@code Virtqueue.add()} of request B (two
 * descriptors: a 16-byte readable header, a 512-byte writable buffer), actor {@link #device} is
 * {@code VhostVirtqueue.pop()}, which walks and checks the chain. Request A (one descriptor, head 0) was added and
 * popped in the set-up, so B has head 1 and descriptors 1 and 2: a stale ring entry would name head 0 (A's chain, 64
 * readable bytes), stale descriptors would be zero.
 * <p>
 * Result: the driver's {@code add} return value, then the device's {@code pop} result (head, {@code -1} EMPTY,
 * {@code -2} BROKEN), the chain's readable bytes and writable bytes.
 *
 * <h2>On x86</h2>
 * {@code virtio_wmb}/{@code virtio_rmb} are {@code VarHandle.releaseFence()}/{@code acquireFence()}, which emit no
 * instruction on x86: TSO keeps stores in order and loads in order, so this test cannot fail in hardware there, only
 * if the JIT reordered the accesses. It guards against that, and means more on a weakly ordered CPU (AArch64), where
 * the fences are {@code dmb ishst}/{@code dmb ishld}. {@link AvailPublishPlainTest} drops both fences to see what the
 * JIT does without them.
 */
@JCStressTest
@Outcome(id = "0, -1, 0, 0", expect = ACCEPTABLE, desc = "The device has not seen the new avail.idx yet: EMPTY.")
@Outcome(id = "0, 1, 16, 512", expect = ACCEPTABLE, desc = "The device saw avail.idx and the whole chain of B.")
@Outcome(expect = FORBIDDEN, desc = "The device saw avail.idx but a stale ring entry or a half-written chain.")
@State
public class AvailPublishTest
{
    private final QueuePair q = new QueuePair(EVENT_IDX);

    /** The history: request A added and consumed; request B ready in the scatter-gather list. */
    public AvailPublishTest()
    {
        q.addA();
        q.pop(HEAD_A);
        q.requestB();
    }

    /** @param r r1: {@code add} result. */
    @Actor
    public void driver(final IIII_Result r)
    {
        r.r1 = q.driver.add(q.sg, TOKEN_B);
    }

    /** @param r r2: {@code pop} result; r3, r4: readable and writable bytes of the chain. */
    @Actor
    public void device(final IIII_Result r)
    {
        final int head = q.device.pop(q.chain);
        r.r2 = head;
        if (head >= 0)
        {
            r.r3 = (int)q.chain.readableBytes();
            r.r4 = (int)q.chain.writableBytes();
        }
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final IIII_Result r)
    {
        q.release();
    }
}
