package vqdma.jcstress;

import vqdma.ring.DescriptorChain;
import vqdma.ring.SgList;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;

import static vqdma.ring.Vring.*;

/**
 * Both sides of one real queue over a {@link RingSlot}: the production {@link Virtqueue} (driver) and
 * {@link VhostVirtqueue} (device), as the transport would connect them, for the tests that race the production
 * code itself. Set-up code runs the history that leads to the race on one thread, in the state's constructor;
 * jcstress then hands the state to the two actor threads.
 * <p>
 * Two requests are used, both pointing into the chunk's shared buffer page (nobody looks at buffer contents):
 * {@link #requestA()}, one device-readable descriptor, and {@link #requestB()}, a readable header and a writable
 * data buffer. On a fresh queue A takes descriptor 0 and B descriptors 1 and 2, so a stale (zero) avail entry, used
 * id or descriptor is never mistaken for B's.
 */
final class QueuePair
{
    /** Features of a queue with event indices ({@code VIRTIO_RING_F_EVENT_IDX}). */
    static final long EVENT_IDX = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_RING_F_EVENT_IDX);
    /** Features of a queue with flag-based suppression only ({@code used.flags}, {@code avail.flags}). */
    static final long FLAGS_ONLY = feature(VIRTIO_F_VERSION_1);

    /** Token of request A. */
    static final Object TOKEN_A = "A";
    /** Token of request B. */
    static final Object TOKEN_B = "B";
    /** Bytes of request A's only (readable) buffer. */
    static final int A_OUT = 64;
    /** Bytes of request B's readable header. */
    static final int B_OUT = 16;
    /** Bytes of request B's writable buffer. */
    static final int B_IN = 512;
    /** Head descriptor of request A on a fresh queue. */
    static final int HEAD_A = 0;
    /** Head descriptor of request B on a fresh queue, after A. */
    static final int HEAD_B = 1;

    final RingSlot slot;
    final Virtqueue driver;
    final VhostVirtqueue device;
    final DescriptorChain chain;
    final SgList sg = new SgList(2);

    /**
     * @param features {@link #EVENT_IDX} or {@link #FLAGS_ONLY}.
     */
    QueuePair(final long features)
    {
        slot = RingPool.acquire();
        driver = Virtqueue.builder(slot.memory, RingSlot.NUM).features(features).ringAt(slot.gpa).build();
        device = driver.deviceBuilder().maxRuns(RingSlot.NUM).build();
        chain = device.newChain();
    }

    /** @return {@link #sg} filled with request A. */
    SgList requestA()
    {
        return sg.clear().out(RingPool.DATA_GPA, A_OUT);
    }

    /** @return {@link #sg} filled with request B. */
    SgList requestB()
    {
        return sg.clear().out(RingPool.DATA_GPA + 1024, B_OUT).in(RingPool.DATA_GPA + 2048, B_IN);
    }

    /**
     * Driver side of the history: adds request A and checks that it went where the tests assume.
     */
    void addA()
    {
        check("add A", driver.add(requestA(), TOKEN_A), 0);
    }

    /**
     * Device side of the history: pops the next request and checks its head.
     *
     * @param head the head it must have.
     */
    void pop(final int head)
    {
        check("pop", device.pop(chain), head);
    }

    /** Gives the slot back; the state is dead after this (call from the arbiter only). */
    void release()
    {
        RingPool.release(slot);
    }

    /**
     * Fails the set-up loudly if the history did not go as the test assumes (jcstress reports it as a test error).
     *
     * @param what     the step.
     * @param actual   what it returned.
     * @param expected what the test relies on.
     */
    static void check(final String what, final int actual, final int expected)
    {
        if (actual != expected)
        {
            throw new IllegalStateException("set-up " + what + " returned " + actual + ", expected " + expected);
        }
    }
}
