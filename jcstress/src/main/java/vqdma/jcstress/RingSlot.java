package vqdma.jcstress;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.SplitRing;

import java.nio.ByteOrder;

import static vqdma.ring.SplitRingDescriptor.*;

/**
 * One split ring's worth of guest memory, in the legacy contiguous layout ({@code vring_size(NUM, 4096)}: the
 * descriptor table and available ring on one page, the used ring on the next), handed out by {@link RingPool}.
 * <p>
 * Every jcstress test in this package races on one ring per state object, and jcstress allocates a fresh state for
 * every sample, up to millions a second. Guest memory for each would mean a direct {@link java.nio.ByteBuffer} per
 * sample; instead the states borrow a slot and give it back in their arbiter. The slot keeps a {@link SplitRing}
 * over itself, built once, so the states that race on the raw accessors allocate nothing.
 */
final class RingSlot
{
    /** Queue size of every ring in these tests: room for two requests of two descriptors. */
    static final int NUM = 4;
    /** Bytes of the ring, {@code vring_size(NUM, LEGACY_ALIGN)}. */
    static final int RING_BYTES = vringSize(NUM, LEGACY_ALIGN);
    /** Bytes of a slot: the ring rounded up to whole pages. */
    static final int SLOT_BYTES = alignUp(RING_BYTES, GuestMemory.PAGE_SIZE);

    /** The guest memory this slot lives in (one chunk of the pool, shared with other slots). */
    final GuestMemory memory;
    /** Guest-physical address of the ring, page-aligned. */
    final long gpa;
    /** The ring's accessors, over this slot. */
    final SplitRing ring;
    private static final int AVAIL_IDX = availOffset(NUM, LEGACY_ALIGN) + AVAIL_IDX_OFFSET;
    private static final int USED_IDX = usedOffset(NUM, LEGACY_ALIGN) + USED_IDX_OFFSET;

    /**
     * True while a state holds the slot. Set and cleared by the threads that take and return it; jcstress orders
     * those (a state is built before its actors run and returned after they finished).
     */
    boolean inUse;

    RingSlot(final GuestMemory memory, final long gpa)
    {
        this.memory = memory;
        this.gpa = gpa;
        final UnsafeBuffer mem = memory.buffer();
        this.ring = new SplitRing(NUM,
            new UnsafeBuffer(mem, (int)gpa, descTableSize(NUM)),
            new UnsafeBuffer(mem, (int)gpa + availOffset(NUM, LEGACY_ALIGN), availSize(NUM)),
            new UnsafeBuffer(mem, (int)gpa + usedOffset(NUM, LEGACY_ALIGN), usedSize(NUM)));
    }

    /**
     * Plain load of {@code avail.idx}, for the weakened variants only: production code reads it opaque
     * ({@link SplitRing#loAvailIdx()}) and orders it with a fence.
     *
     * @return {@code avail.idx}.
     */
    int lpAvailIdx()
    {
        return memory.buffer().getShort((int)gpa + AVAIL_IDX, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * Plain store of {@code avail.idx}, for the weakened variants only (production: {@link SplitRing#soAvailIdx}).
     *
     * @param idx the new index.
     */
    void spAvailIdx(final int idx)
    {
        memory.buffer().putShort((int)gpa + AVAIL_IDX, (short)idx, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Plain load of {@code used.idx}, for the weakened variants only (production: {@link SplitRing#loUsedIdx()}).
     *
     * @return {@code used.idx}.
     */
    int lpUsedIdx()
    {
        return memory.buffer().getShort((int)gpa + USED_IDX, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
    }

    /**
     * Plain store of {@code used.idx}, for the weakened variants only (production: {@link SplitRing#soUsedIdx}).
     *
     * @param idx the new index.
     */
    void spUsedIdx(final int idx)
    {
        memory.buffer().putShort((int)gpa + USED_IDX, (short)idx, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Zeroes the three parts of the ring (not the padding between them, which nothing reads), as
     * {@code vring_init()} on freshly allocated memory would find them.
     *
     * @return this slot.
     */
    RingSlot zero()
    {
        final UnsafeBuffer mem = memory.buffer();
        mem.setMemory((int)gpa, descTableSize(NUM), (byte)0);
        mem.setMemory((int)gpa + availOffset(NUM, LEGACY_ALIGN), availSize(NUM), (byte)0);
        mem.setMemory((int)gpa + usedOffset(NUM, LEGACY_ALIGN), usedSize(NUM), (byte)0);
        return this;
    }
}
