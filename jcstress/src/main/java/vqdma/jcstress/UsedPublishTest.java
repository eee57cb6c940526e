package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static vqdma.jcstress.QueuePair.*;

/**
 * Claim 2: a used element is never read before {@code used.idx} covers it.
 *
 * <h2>The kernel lines</h2>
 * {@code virtqueue_get_buf_ctx_split()}: "Only get used array entries after they have been exposed by host." -
 * {@code virtio_rmb()} between the load of {@code used->idx} (in {@code more_used_split()}) and the loads of
 * {@code used->ring[last_used].id/len}. It pairs with vhost's {@code smp_wmb()} in {@code vhost_add_used_n()}:
 * "Make sure buffer is written before we update index." The same message passing pattern as claim 1, the other way.
 *
 * <h2>The race</h2>
 * The production code on both sides. In the set-up the driver added requests A (head 0, nothing writable) and B
 * (head 1, 512 writable bytes) and the device popped both. Actor {@link #device} completes B with 300 bytes
 * ({@code VhostVirtqueue.pushUsed()}: element, {@code virtio_wmb}, {@code used.idx}); actor {@link #driver} calls
 * {@code Virtqueue.getBuf()}, which checks what it reads. A stale element (zero) would name head 0 with length 0:
 * a valid head in flight, so {@code getBuf} would hand back A instead of B - the silent kind of corruption, which
 * the outcome tells apart.
 * <p>
 * Result: which token {@code getBuf} returned (0 none, 1 A, 2 B, -1 none and the queue broken), and
 * {@code usedLen()} for it.
 *
 * <h2>On x86</h2>
 * As for {@link AvailPublishTest}: the fences are compiler barriers on x86, so only a JIT reordering could break
 * this here; {@link UsedPublishPlainTest} looks for one.
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The driver has not seen the new used.idx yet: nothing to get.")
@Outcome(id = "2, 300", expect = ACCEPTABLE, desc = "The driver saw used.idx and the element it covers: B, 300.")
@Outcome(expect = FORBIDDEN, desc = "The driver saw used.idx but a stale element (wrong token or length, or BAD_RING).")
@State
public class UsedPublishTest
{
    private final QueuePair q = new QueuePair(EVENT_IDX);

    /** The history: A and B added, both popped by the device. */
    public UsedPublishTest()
    {
        q.addA();
        check("add B", q.driver.add(q.requestB(), TOKEN_B), 0);
        q.pop(HEAD_A);
        q.pop(HEAD_B);
    }

    /** @param r unused. */
    @Actor
    public void device(final II_Result r)
    {
        q.device.pushUsed(HEAD_B, 300);
    }

    /** @param r r1: the token (0 none, 1 A, 2 B, -1 broken); r2: its used length. */
    @Actor
    public void driver(final II_Result r)
    {
        final Object token = q.driver.getBuf();
        if (token == null)
        {
            r.r1 = q.driver.isBroken() ? -1 : 0;
        }
        else
        {
            r.r1 = token == TOKEN_A ? 1 : token == TOKEN_B ? 2 : 3;
            r.r2 = q.driver.usedLen();
        }
    }

    /** @param r unused: the outcome is complete; this returns the ring slot. */
    @Arbiter
    public void arbiter(final II_Result r)
    {
        q.release();
    }
}
