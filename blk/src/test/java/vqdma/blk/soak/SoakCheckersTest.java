package vqdma.blk.soak;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import vqdma.blk.Bio;
import vqdma.blk.GuestIo;
import vqdma.blk.RamBackend;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.blk.VirtioBlk.*;

/** The soak's checkers catch what they are there for: planted corruption, overlapping ranges, unclaimed faults. */
class SoakCheckersTest
{
    @Test
    void theModelCatchesAWrongByteOnlyInKnownSectors()
    {
        final DiskModel model = new DiskModel(1 << 20, 4);
        final UnsafeBuffer mem = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
        final Bio bio = new Bio(4);
        bio.fillPages(T_OUT, 16, 8192, 0, true);
        for (int i = 0; i < 8192; i++)
        {
            mem.putByte(i, (byte)(i * 3));
        }
        model.written(bio, mem);
        mem.putByte(4096 + 7, (byte)0x11); // what a read would return with one byte wrong
        final StringBuilder first = new StringBuilder();
        assertEquals(1, model.verify(bio, mem, first));
        assertTrue(first.toString().contains("disk byte " + (16 * 512 + 4096 + 7)), first.toString());
        model.unknown(16 + 8, 8); // the sectors of the wrong byte were left unknown by a failed write
        assertEquals(0, model.verify(bio, mem, new StringBuilder()), "unknown sectors are not checked");
        assertEquals(model.sectors() - 8, model.knownSectors());
    }

    @Test
    void rangesInFlightNeverOverlap()
    {
        final DiskModel model = new DiskModel(1 << 20, 2);
        assertTrue(model.tryReserve(10, 10));
        assertFalse(model.tryReserve(19, 1));
        assertFalse(model.tryReserve(0, 11));
        assertTrue(model.tryReserve(20, 5));
        assertThrows(IllegalStateException.class, () -> model.tryReserve(100, 1), "more ranges than bios in flight");
        model.release(10);
        assertTrue(model.tryReserve(0, 11));
        assertThrows(IllegalStateException.class, () -> model.release(50));
    }

    @Test
    void aFaultIsClaimedByTheBioWhoseRangeHoldsIt()
    {
        final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
        final GuestIo io = new GuestIo(memory);
        final RamBackend ram = new RamBackend(1 << 20);
        final FaultInjector none = new FaultInjector(SoakFaults.none(), DmaProfile.DIRECT.create(memory, 0), 1);
        assertEquals(S_OK, none.backend(ram).write(io, 0, 512, 0), "no faults: the disk's own answer");
        assertEquals(0, none.unclaimed());
        final SoakFaults always = new SoakFaults(0, 1, 0, 0, 0, 1, 0, false, 1, 1);
        final FaultInjector failing = new FaultInjector(always, DmaProfile.DIRECT.create(memory, 0), 1);
        assertEquals(S_IOERR, failing.backend(ram).write(io, 0, 512, 40 * 512));
        assertEquals(1, failing.unclaimed());
        assertNull(failing.claim(0, 40), "not in [0, 40)");
        assertEquals(FaultInjector.Reason.BACKEND_IOERR, failing.claim(32, 16));
        assertEquals(0, failing.unclaimed());
    }

    @Test
    @Timeout(60)
    void corruptionOfTheDiskBetweenRoundsIsFound()
    {
        final RamBackend ram = new RamBackend(8L << 20);
        final DiskModel model = new DiskModel(8L << 20, 8);
        final SoakTotals clean = new SoakTotals("direct");
        new SoakRound(DmaProfile.DIRECT, 2, 2, 64, TimeUnit.MILLISECONDS.toNanos(500), false, 3, SoakFaults.none(),
            ram, model, clean).run();
        assertEquals(0, clean.violations(), () -> String.join("\n", clean.messages()));
        assertTrue(clean.ok() > 0);
        // Plant: a byte of a known sector changes behind the model's back (a device that wrote where it must not).
        long at = -1;
        for (long p = 0; p < (8L << 20) && at < 0; p += 512)
        {
            if (ram.contents().getByte((int)p) != 0)
            {
                at = p;
            }
        }
        assertTrue(at >= 0, "the round wrote something");
        ram.contents().putByte((int)at, (byte)~ram.contents().getByte((int)at));
        final SoakTotals after = new SoakTotals("direct");
        new SoakRound(DmaProfile.DIRECT, 1, 1, 64, TimeUnit.MILLISECONDS.toNanos(50), false, 4, SoakFaults.none(),
            ram, model, after).run();
        assertTrue(after.corrupted() > 0, "the planted byte was found");
        assertTrue(after.violations() > 0);
        assertTrue(String.join("\n", after.messages()).contains("differs from the model"),
            () -> String.join("\n", after.messages()));
    }
}
