package vqdma.jcstress;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.ring.DescriptorChain;
import vqdma.ring.PackedRing;
import vqdma.ring.PackedRingDescriptor;
import vqdma.ring.PackedVhostVirtqueue;
import vqdma.ring.PackedVirtqueue;
import vqdma.ring.SgList;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;

import static vqdma.ring.Vring.*;

/**
 * Both sides of one real packed queue over a {@link RingSlot} (the packed ring of {@link RingSlot#NUM} descriptors,
 * {@code 16 * 4 + 8} bytes, at the slot's page): the production {@link PackedVirtqueue} (driver) and
 * {@link PackedVhostVirtqueue} (device), for the tests that race the production code, and the raw
 * {@link PackedRing} over the same memory, for the weakened variants that write the accesses out by hand. As in
 * {@link QueuePair}, set-up code runs the history on one thread in the state's constructor.
 * <p>
 * Request A is one device-readable descriptor (buffer id 0, position 0); request B a readable header and a
 * writable buffer (buffer id 1, positions 1 and 2). The slot is zeroed: in the first lap nothing there is
 * available or used.
 */
final class PackedQueuePair
{
    /** Features of a packed queue with event indices. */
    static final long EVENT_IDX = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_RING_PACKED) |
        feature(VIRTIO_RING_F_EVENT_IDX);
    /** Features of a packed queue with flag-based event suppression only (ENABLE/DISABLE). */
    static final long FLAGS_ONLY = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_RING_PACKED);

    /** Buffer id of request A on a fresh queue. */
    static final int ID_A = 0;
    /** Buffer id of request B on a fresh queue, after A. */
    static final int ID_B = 1;
    /** Ring position of B's head. */
    static final int POS_B = 1;

    final RingSlot slot;
    final Virtqueue driver;
    final VhostVirtqueue device;
    final DescriptorChain chain;
    final SgList sg = new SgList(2);

    /**
     * @param features {@link #EVENT_IDX} or {@link #FLAGS_ONLY}.
     */
    PackedQueuePair(final long features)
    {
        slot = RingPool.acquire();
        driver = Virtqueue.builder(slot.memory, RingSlot.NUM).features(features).ringAt(slot.gpa).build();
        device = driver.deviceBuilder().maxRuns(RingSlot.NUM).build();
        chain = device.newChain();
    }

    /**
     * @param slot a slot from the pool.
     * @return the raw packed ring over it, for the weakened variants.
     */
    static PackedRing raw(final RingSlot slot)
    {
        final UnsafeBuffer mem = slot.memory.buffer();
        return new PackedRing(RingSlot.NUM,
            new UnsafeBuffer(mem, (int)slot.gpa, PackedRingDescriptor.descRingSize(RingSlot.NUM)),
            new UnsafeBuffer(mem, (int)slot.gpa + PackedRingDescriptor.driverEventOffset(RingSlot.NUM),
                PackedRingDescriptor.EVENT_SIZE),
            new UnsafeBuffer(mem, (int)slot.gpa + PackedRingDescriptor.deviceEventOffset(RingSlot.NUM),
                PackedRingDescriptor.EVENT_SIZE));
    }

    /** @return {@link #sg} filled with request A. */
    SgList requestA()
    {
        return sg.clear().out(RingPool.DATA_GPA, QueuePair.A_OUT);
    }

    /** @return {@link #sg} filled with request B. */
    SgList requestB()
    {
        return sg.clear().out(RingPool.DATA_GPA + 1024, QueuePair.B_OUT).in(RingPool.DATA_GPA + 2048, QueuePair.B_IN);
    }

    /** Driver side of the history: adds request A. */
    void addA()
    {
        QueuePair.check("add A", driver.add(requestA(), QueuePair.TOKEN_A), 0);
    }

    /** Driver side of the history: adds request B. */
    void addB()
    {
        QueuePair.check("add B", driver.add(requestB(), QueuePair.TOKEN_B), 0);
    }

    /**
     * Device side of the history: pops the next request and checks its buffer id.
     *
     * @param id the id it must have.
     */
    void pop(final int id)
    {
        QueuePair.check("pop", device.pop(chain), id);
    }

    /** Gives the slot back (call from the arbiter only). */
    void release()
    {
        RingPool.release(slot);
    }
}
