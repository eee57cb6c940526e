package vqdma.ring;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;

import static vqdma.ring.SplitRingDescriptor.*;

/** The ring of a test queue seen raw, to play a misbehaving driver or device. */
final class RawRing
{
    static SplitRing of(final GuestMemory memory, final long ringGpa, final int num)
    {
        final UnsafeBuffer mem = memory.buffer();
        return new SplitRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, descTableSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + availOffset(num, LEGACY_ALIGN), availSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + usedOffset(num, LEGACY_ALIGN), usedSize(num)));
    }

    static PackedRing packed(final GuestMemory memory, final long ringGpa, final int num)
    {
        final UnsafeBuffer mem = memory.buffer();
        return new PackedRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, PackedRingDescriptor.descRingSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + PackedRingDescriptor.driverEventOffset(num),
                PackedRingDescriptor.EVENT_SIZE),
            new UnsafeBuffer(mem, (int)ringGpa + PackedRingDescriptor.deviceEventOffset(num),
                PackedRingDescriptor.EVENT_SIZE));
    }

    private RawRing()
    {
    }
}
