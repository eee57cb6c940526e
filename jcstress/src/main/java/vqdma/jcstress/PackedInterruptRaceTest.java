package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.PackedQueuePair.*;

/**
 * Packed claim 4: no lost interrupt with packed event suppression (EVENT_IDX: the driver event structure's DESC
 * flag and {@code off_wrap}): the production code.
 *
 * <h2>The kernel lines</h2>
 * The driver, {@code virtqueue_enable_cb_prepare_packed()}: "We optimistically turn back on interrupts, then check if
 * there was more to do." - {@code off_wrap = last_used_idx}, "We need to update event offset and event wrap counter
 * first before updating event flags." ({@code virtio_wmb()}), flags = DESC - then {@code virtqueue_poll()}:
 * {@code virtio_mb()} and {@code is_used_desc_packed()} at the returned position. The device, QEMU's
 * {@code virtio_packed_should_notify()}: "We need to expose used array entries before checking used event." -
 * {@code smp_mb()} - then the driver event structure.
 *
 * <h2>The race</h2>
 * Set-up: A and B added and popped; the device completed A and interrupted (its first decision); the driver's
 * handler disabled callbacks (flags DISABLE) and took A. Actor {@link #driver}: {@code enableCbPrepare()}
 * ({@code off_wrap} = (1, wrap 1), DESC), {@code poll()} (full fence, is position 1 used?). Actor {@link #device}:
 * {@code pushUsed(B)} (used descriptor at position 1), {@code needInterrupt()} (full fence; DESC with
 * {@code off_wrap} 1 passed by 1 -> 3: interrupt; DISABLE: none).
 * <p>
 * {@link PackedInterruptRaceWeakenedTest} shows the lost interrupt without the full fences.
 */
@JCStressTest
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "Both saw each other: more work found, and an interrupt.")
@Outcome(id = "true, false", expect = ACCEPTABLE, desc = "No interrupt, but the driver saw B and keeps polling.")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "The driver goes idle; the interrupt wakes it.")
@Outcome(id = "false, false", expect = FORBIDDEN,
    desc = "Lost interrupt: none sent, and the driver sleeps on a completion it did not see.")
@State
public class PackedInterruptRaceTest
{
    private final PackedQueuePair q = new PackedQueuePair(EVENT_IDX);

    /** The history: A and B in flight and popped; A completed, interrupted and taken with callbacks off. */
    public PackedInterruptRaceTest()
    {
        setUp(q);
    }

    /**
     * The common history of the packed interrupt races.
     *
     * @param q the queue pair.
     */
    static void setUp(final PackedQueuePair q)
    {
        q.addA();
        q.addB();
        q.driver.kickPrepare();
        q.pop(ID_A);
        q.pop(ID_B);
        q.device.pushUsed(ID_A, 0);
        if (!q.device.needInterrupt())
        {
            throw new IllegalStateException("set-up: the first completion did not interrupt");
        }
        q.driver.disableCb();
        if (q.driver.getBuf() != QueuePair.TOKEN_A)
        {
            throw new IllegalStateException("set-up: getBuf did not return A");
        }
    }

    /** @param r r1: the driver found more work after re-enabling callbacks. */
    @Actor
    public void driver(final ZZ_Result r)
    {
        r.r1 = q.driver.poll(q.driver.enableCbPrepare());
    }

    /** @param r r2: the device decided to interrupt. */
    @Actor
    public void device(final ZZ_Result r)
    {
        q.device.pushUsed(ID_B, 300);
        r.r2 = q.device.needInterrupt();
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final ZZ_Result r)
    {
        q.release();
    }
}
