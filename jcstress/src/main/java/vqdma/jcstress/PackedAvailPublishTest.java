package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.PackedQueuePair.*;

/**
 * Packed claim 1: a published chain is never observed half-written by the device (the head's flags last).
 *
 * <h2>The kernel lines</h2>
 * {@code virtqueue_add_packed()}: "A driver MUST NOT make the first descriptor in the list available before all
 * subsequent descriptors comprising the list are made available." - every descriptor but the head is written whole,
 * then {@code virtio_wmb()}, then the head's flags ({@code vq->packed.vring.desc[head].flags = head_flags}). On the
 * other side the device loads the head's flags, sees AVAIL = its wrap counter and USED not, issues a read barrier
 * (QEMU's {@code smp_rmb()} after {@code is_desc_avail()}, DPDK's load-acquire in {@code desc_is_avail()}) and only
 * then reads the rest. The packed ring has no index: the head's flags are the message-passing flag.
 *
 * <h2>The race</h2>
 * Production code on both sides: actor {@link #driver} is {@code PackedVirtqueue.add()} of request B (two
 * descriptors: a 16-byte readable header at position 1, a 512-byte writable buffer at position 2), actor
 * {@link #device} is {@code PackedVhostVirtqueue.pop()}, which checks that the descriptor after the head is itself
 * available and walks the chain. Request A (position 0) was added and popped in the set-up.
 * <p>
 * Result: the {@code add} return value, the {@code pop} result (buffer id, {@code -1} EMPTY, {@code -2} BROKEN),
 * the chain's readable and writable bytes.
 *
 * <h2>On x86</h2>
 * The fences are compiler barriers there (TSO keeps stores in order and loads in order), so only the JIT could break
 * this; on AArch64 they are {@code dmb ishst}/{@code dmb ishld}. {@link PackedAvailHeadFirstTest} writes the head's
 * flags first instead of last and shows the half-written chain.
 */
@JCStressTest
@Outcome(id = "0, -1, 0, 0", expect = ACCEPTABLE, desc = "The device has not seen B's head flags yet: EMPTY.")
@Outcome(id = "0, 1, 16, 512", expect = ACCEPTABLE, desc = "The device saw B's head and the whole chain.")
@Outcome(expect = FORBIDDEN, desc = "The device saw B's head but a half-written chain (or broke on it).")
@State
public class PackedAvailPublishTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);

    /** The history: request A added and consumed; request B ready in the scatter-gather list. */
    public PackedAvailPublishTest()
    {
        q.addA();
        q.pop(ID_A);
        q.requestB();
    }

    /** @param r r1: {@code add} result. */
    @Actor
    public void driver(final IIII_Result r)
    {
        r.r1 = q.driver.add(q.sg, QueuePair.TOKEN_B);
    }

    /** @param r r2: {@code pop} result; r3, r4: readable and writable bytes of the chain. */
    @Actor
    public void device(final IIII_Result r)
    {
        final int id = q.device.pop(q.chain);
        r.r2 = id;
        if (id >= 0)
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
