package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.PackedQueuePair.*;

/**
 * Packed claim 2: a used descriptor's id and length are never read before its flags say used.
 *
 * <h2>The kernel lines</h2>
 * {@code virtqueue_get_buf_ctx_packed()}: {@code more_used_packed()} loads the flags at {@code last_used}, then
 * "Only get used elements after they have been exposed by host." - {@code virtio_rmb()} - then the {@code id} and
 * {@code len}. The device pairs it with a write barrier between writing {@code id}/{@code len} and the flags (QEMU's
 * {@code virtqueue_packed_fill_desc()}: "Make sure data is written before flags": {@code smp_wmb()}).
 *
 * <h2>The race</h2>
 * Production code: in the set-up the driver added A (buffer id 0, position 0, nothing writable) and B (buffer id
 * 1, positions 1-2, 512 writable bytes) and the device popped both. Actor {@link #device} completes B first, out of
 * order: {@code PackedVhostVirtqueue.pushUsed(1, 300)} writes the used descriptor at the device's used position 0
 * (A's head, whose {@code id} 0 and {@code len} 64 are still there). Actor {@link #driver} calls
 * {@code PackedVirtqueue.getBuf()}. A stale id would name A, in flight; a stale length 64 fits B's 512 bytes: the
 * silent kinds of corruption, which the outcome tells apart.
 * <p>
 * Result: which token {@code getBuf} returned (0 none, 1 A, 2 B, -1 none and the queue broken), and its
 * {@code usedLen()}. {@link PackedUsedFlagsFirstTest} writes the flags first and shows the stale reads.
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The driver has not seen the used flags yet: nothing to get.")
@Outcome(id = "2, 300", expect = ACCEPTABLE, desc = "The driver saw the flags and the id and length they cover.")
@Outcome(expect = FORBIDDEN, desc = "The driver saw the flags but a stale id or length (or broke on them).")
@State
public class PackedUsedPublishTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);

    /** The history: A and B added, both popped by the device. */
    public PackedUsedPublishTest()
    {
        q.addA();
        q.addB();
        q.pop(ID_A);
        q.pop(ID_B);
    }

    /** @param r unused. */
    @Actor
    public void device(final II_Result r)
    {
        q.device.pushUsed(ID_B, 300);
    }

    /** @param r r1: the token (0 none, 1 A, 2 B, -1 broken); r2: its used length. */
    @Actor
    public void driver(final II_Result r)
    {
        PackedUsedFlagsFirstTest.get(q, r);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final II_Result r)
    {
        q.release();
    }
}
