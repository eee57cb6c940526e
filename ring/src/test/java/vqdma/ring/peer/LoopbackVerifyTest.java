package vqdma.ring.peer;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import vqdma.dma.GuestMemory;
import vqdma.ring.SplitRing;
import vqdma.ring.SplitRingDescriptor;
import vqdma.ring.Vring;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Java driver's check of the device's output (its fast path compares whole spans eight bytes at a time): the
 * Java device serves correctly, then the test changes one byte of one completed chain before the driver takes it,
 * in the CRC, in the pattern, or in the poison of a chain too short to be written, at every position of a buffer
 * (first byte, middle, the unaligned tail). The driver must name that byte.
 */
class LoopbackVerifyTest
{
    static final int NUM = 64;
    static final long DATA = 1 << 20;

    @ParameterizedTest(name = "{0} at {1}")
    @CsvSource({"crc, 0", "crc, 3", "pattern, 4", "pattern, 13", "pattern, -1", "poison, 0", "poison, -1"})
    void aChangedByteIsNamed(final String kind, final int where)
    {
        final GuestMemory memory = GuestMemory.allocate(SharedRingFile.fileSize(NUM, DATA), false);
        final long features = Vring.feature(Vring.VIRTIO_F_VERSION_1);
        final LoopbackDriver driver = new LoopbackDriver(memory, NUM, features, 100_000, 1_000_000_000L, 5, 4, 4, 64);
        final LoopbackDevice device = new LoopbackDevice(memory, NUM, features, 100_000, 1_000_000_000L, 1, 5);
        final UnsafeBuffer mem = memory.buffer();
        final SplitRing ring = new SplitRing(NUM,
            new UnsafeBuffer(mem, 0, SplitRingDescriptor.descTableSize(NUM)),
            new UnsafeBuffer(mem, SplitRingDescriptor.availOffset(NUM, 4096), SplitRingDescriptor.availSize(NUM)),
            new UnsafeBuffer(mem, SplitRingDescriptor.usedOffset(NUM, 4096), SplitRingDescriptor.usedSize(NUM)));
        int seen = 0;
        for (int round = 0; round < 10_000; round++)
        {
            driver.submit();
            while (device.step() > 0)
            {
                // serve everything
            }
            final int usedIdx = ring.loUsedIdx();
            for (; seen != usedIdx; seen = (seen + 1) & 0xFFFF)
            {
                final long target = target(ring, seen & (NUM - 1), kind, where);
                if (target >= 0)
                {
                    mem.putByte((int)target, (byte)(mem.getByte((int)target) ^ 0x5A));
                    final PeerFailure failure = assertThrows(PeerFailure.class, driver::reap, kind + " " + where);
                    assertTrue(failure.getMessage().matches("chain \\d+: writable byte \\d+ \\(buffer \\d+, offset " +
                        "\\d+\\) is 0x[0-9a-f]{2}, expected 0x[0-9a-f]{2}" + (kind.equals("crc") ? " \\(CRC32C\\)" : "")),
                        failure.getMessage());
                    return;
                }
            }
            driver.reap();
        }
        fail("no chain of the wanted shape in 10,000 rounds");
    }

    /**
     * @return the address of the byte to change in the chain of used element {@code slot}, or -1 if this chain has
     * not the shape: "crc" and "pattern" want a first writable buffer of at least 16 bytes (position {@code where},
     * -1 for its last byte), "poison" a chain of 1 to 3 writable bytes in one buffer.
     */
    static long target(final SplitRing ring, final int slot, final String kind, final int where)
    {
        int i = ring.lpUsedId(slot);
        long firstWritable = -1;
        int firstLen = 0;
        long writable = 0;
        int writableBuffers = 0;
        while (true)
        {
            final int flags = ring.lpDescFlags(i);
            if ((flags & Vring.VRING_DESC_F_WRITE) != 0)
            {
                if (firstWritable < 0)
                {
                    firstWritable = ring.lpDescAddr(i);
                    firstLen = ring.lpDescLen(i);
                }
                writable += ring.lpDescLen(i);
                writableBuffers++;
            }
            if ((flags & Vring.VRING_DESC_F_NEXT) == 0)
            {
                break;
            }
            i = ring.lpDescNext(i);
        }
        if (kind.equals("poison"))
        {
            return writable >= 1 && writable < 4 && writableBuffers == 1 ?
                firstWritable + (where < 0 ? firstLen - 1 : where) : -1;
        }
        return firstLen >= 16 ? firstWritable + (where < 0 ? firstLen - 1 : where) : -1;
    }
}
