package vqdma.fuzz;

import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;

/**
 * One DMA profile's guest memory, DMA ops and {@link MemoryGuard}, built once per process and reset before every
 * input, so that an input pays for what it does and not for building an IOMMU or a bounce pool (hundreds of
 * microseconds, most of an input's time when they were built per input).
 * <p>
 * A target builds a rig per profile the first time an input picks it, lays out what every input shares (the data
 * area and its pattern, ring and table regions) and {@linkplain #seal() seals} it. Every input then starts with
 * {@link #reset()}, after which the rig is exactly as sealed: the ops as after construction
 * ({@link DmaOps#reset()}), the allocator and share map as at the seal ({@link GuestMemory#rewind}), the contents
 * back to the sealed image ({@link MemoryGuard#restore()}), the fake clock at its start. An input replayed alone
 * therefore behaves as it did in the middle of a fuzzing run, which libFuzzer relies on (and {@code FuzzRigTest}
 * checks).
 */
final class FuzzRig
{
    final DmaProfile profile;
    final GuestMemory memory;
    final DmaOps ops;
    final MemoryGuard guard;
    private final FuzzProfiles.SteppingClock clock;
    private GuestMemory.Mark mark;
    private long dataGpa = -1;

    /**
     * @param profile     the profile.
     * @param targetBytes bytes the target will lay out in guest memory; the rig adds the SWIOTLB pool's
     *                    ({@link FuzzProfiles#memoryBytes}).
     */
    FuzzRig(final DmaProfile profile, final long targetBytes)
    {
        this.profile = profile;
        this.memory = GuestMemory.allocate(FuzzProfiles.memoryBytes(profile, targetBytes),
            profile.confidentialGuest());
        this.clock = new FuzzProfiles.SteppingClock();
        this.ops = FuzzProfiles.create(profile, memory, clock);
        this.guard = new MemoryGuard(memory);
    }

    /**
     * Lays out the data area the inputs map buffers from (set-up, before {@link #seal()}): page-aligned, next in
     * guest memory, holding {@code pattern}.
     *
     * @param pattern the area's contents; its length is the area's size.
     * @return this.
     */
    FuzzRig data(final byte[] pattern)
    {
        dataGpa = memory.allocate(pattern.length, GuestMemory.PAGE_SIZE);
        memory.buffer().putBytes((int)dataGpa, pattern);
        return this;
    }

    /** @return the lazy IOMMU's clock (the others read none). */
    FuzzProfiles.SteppingClock clock()
    {
        return clock;
    }

    /** @return the guest address of the data area ({@link #data}). */
    long dataGpa()
    {
        return dataGpa;
    }

    /**
     * Ends the set-up shared by every input: what memory holds and has allocated now is what {@link #reset()} returns
     * to.
     *
     * @return this.
     */
    FuzzRig seal()
    {
        mark = memory.mark();
        guard.rebase();
        return this;
    }

    /** Returns the rig to its sealed state: the first call of every input. @return this. */
    FuzzRig reset()
    {
        ops.reset();
        clock.reset();
        memory.rewind(mark);
        guard.restore();
        return this;
    }
}
