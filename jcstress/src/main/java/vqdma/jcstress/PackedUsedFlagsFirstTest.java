package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import vqdma.ring.PackedRing;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.PackedQueuePair.*;
import static vqdma.ring.PackedRingDescriptor.usedFlags;
import static vqdma.ring.Vring.VRING_DESC_F_WRITE;

/**
 * Packed claim 2, weakened: the proof that a used descriptor's flags must come after its id and length.
 * {@link PackedUsedPublishTest} with the device's stores in the wrong order: the flags saying used first, then
 * {@code len} and {@code id}.
 *
 * <h2>What goes wrong</h2>
 * The driver (the production {@code getBuf()}) sees the flags used, reads the id and length left from A's available
 * descriptor at that position (id 0, length 64), and, since A has no writable bytes, breaks the queue ("used len 64
 * is greater than the 0 writable bytes of buffer 0"). A driver that did not check lengths would have returned A,
 * which the device never completed. x86 executes the stores in program order, so the window is real there: the
 * outcome must be observed ({@link MustObserveInteresting}).
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The driver has not seen the used flags yet: nothing to get.")
@Outcome(id = "2, 300", expect = ACCEPTABLE, desc = "The driver saw the flags after the id and length were written.")
@Outcome(id = "-1, 0", expect = ACCEPTABLE_INTERESTING,
    desc = "The flags said used before the id and length were written: the driver read A's stale ones and broke.")
@Outcome(id = "[12], .*", expect = ACCEPTABLE_INTERESTING,
    desc = "A stale id or length that passed the checks: stores reordered.")
@Outcome(expect = FORBIDDEN, desc = "Impossible values: the test is broken.")
@MustObserveInteresting("a stale used id/len when the flags are written before them")
@State
public class PackedUsedFlagsFirstTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);
    private final PackedRing ring = raw(q.slot);

    /** The history: A and B added, both popped by the device. */
    public PackedUsedFlagsFirstTest()
    {
        q.addA();
        q.addB();
        q.pop(ID_A);
        q.pop(ID_B);
    }

    /** @param r unused: the device returns B at its used position 0, flags first. */
    @Actor
    public void device(final II_Result r)
    {
        // weakened: used before id and len are written.
        ring.soDescFlags(0, usedFlags(1) | VRING_DESC_F_WRITE);
        ring.spUsedDesc(0, ID_B, 300);
    }

    /** @param r r1: the token (0 none, 1 A, 2 B, -1 broken); r2: its used length. */
    @Actor
    public void driver(final II_Result r)
    {
        get(q, r);
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final II_Result r)
    {
        q.release();
    }

    /** {@code getBuf()}, its outcome in {@code r}: r1 the token (0 none, 1 A, 2 B, -1 broken), r2 its length. */
    static void get(final PackedQueuePair q, final II_Result r)
    {
        final Object token = q.driver.getBuf();
        if (token == null)
        {
            r.r1 = q.driver.isBroken() ? -1 : 0;
        }
        else
        {
            r.r1 = token == QueuePair.TOKEN_A ? 1 : token == QueuePair.TOKEN_B ? 2 : 3;
            r.r2 = q.driver.usedLen();
        }
    }
}
