package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import vqdma.ring.PackedRing;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.PackedQueuePair.*;
import static vqdma.ring.PackedRingDescriptor.availFlags;
import static vqdma.ring.Vring.VRING_DESC_F_NEXT;
import static vqdma.ring.Vring.VRING_DESC_F_WRITE;

/**
 * Packed claim 1, weakened: the proof that the head's flags must be written last. {@link PackedAvailPublishTest}
 * with the driver's stores written out in the wrong order: B's head descriptor whole, its flags saying available,
 * and only then the second descriptor. No fence can help a store that comes first in program order. Between the
 * two the driver does what {@code add()} does for every buffer, map it: through SWIOTLB that copies a writable
 * buffer into its bounce slot (at map time since the 2022 fix), here a 512-byte store to the buffer, which gives the
 * window its realistic width.
 *
 * <h2>What goes wrong</h2>
 * The device (the production {@code pop()}) sees the head available with NEXT, walks on, and finds position 2 still
 * holding the zeroes of the fresh ring: not available in this lap. It cannot tell a slow driver from a broken one,
 * and breaks the queue ("Descriptor 2 of the chain at 1 is not available"). A device that did not check would have
 * read a half-written chain. x86 executes the stores in program order, so the window between the head's flags and
 * the second descriptor is real there: the outcome must be observed in every run ({@link MustObserveInteresting}).
 */
@JCStressTest
@Outcome(id = "-1, 0, 0", expect = ACCEPTABLE, desc = "The device has not seen B's head yet: EMPTY.")
@Outcome(id = "1, 16, 512", expect = ACCEPTABLE, desc = "The device saw the head after the whole chain was written.")
@Outcome(id = "-2, 0, 0", expect = ACCEPTABLE_INTERESTING,
    desc = "The head was available before the rest of its chain: the device saw a half-written chain and broke.")
@Outcome(id = "1, .*", expect = ACCEPTABLE_INTERESTING, desc = "A chain with a stale length: stores reordered.")
@Outcome(expect = FORBIDDEN, desc = "Impossible values: the test is broken.")
@MustObserveInteresting("a half-written chain when the head's flags are not written last")
@State
public class PackedAvailHeadFirstTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);
    private final PackedRing ring = raw(q.slot);

    /** The history: request A added and consumed. */
    public PackedAvailHeadFirstTest()
    {
        q.addA();
        q.pop(ID_A);
    }

    /** @param r unused: the driver writes B head first. */
    @Actor
    public void driver(final III_Result r)
    {
        ring.spDesc(POS_B, RingPool.DATA_GPA + 1024, QueuePair.B_OUT, ID_B, VRING_DESC_F_NEXT | availFlags(1));
        // weakened: the head is available before the descriptor after it is written. In between, what the add does
        // for each buffer: map it, which through SWIOTLB copies a writable buffer into its bounce slot.
        q.slot.memory.buffer().setMemory((int)RingPool.DATA_GPA + 2048, QueuePair.B_IN, (byte)0);
        ring.spDesc(POS_B + 1, RingPool.DATA_GPA + 2048, QueuePair.B_IN, ID_B, VRING_DESC_F_WRITE | availFlags(1));
    }

    /** @param r r1: {@code pop} result; r2, r3: readable and writable bytes of the chain. */
    @Actor
    public void device(final III_Result r)
    {
        final int id = q.device.pop(q.chain);
        r.r1 = id;
        if (id >= 0)
        {
            r.r2 = (int)q.chain.readableBytes();
            r.r3 = (int)q.chain.writableBytes();
        }
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final III_Result r)
    {
        q.release();
    }
}
