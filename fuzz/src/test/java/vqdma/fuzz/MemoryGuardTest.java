package vqdma.fuzz;

import org.junit.jupiter.api.Test;
import vqdma.dma.GuestMemory;

import static org.junit.jupiter.api.Assertions.*;

/** The "nothing written outside what was given" oracle must catch a single stray byte, and only that. */
class MemoryGuardTest
{
    private final GuestMemory memory = GuestMemory.allocate(64 * 1024, false);

    @Test
    void unchangedMemoryPasses()
    {
        MemoryGuard.watch(memory).check("nothing ran");
    }

    @Test
    void writesInsideAllowedRangesPass()
    {
        final MemoryGuard guard = MemoryGuard.watch(memory).allow(4096, 100).allow(8192, 1);
        memory.buffer().setMemory(4096, 100, (byte)7);
        memory.buffer().putByte(8192, (byte)1);
        guard.check("allowed writes");
    }

    @Test
    void oneByteJustPastAnAllowedRangeIsCaught()
    {
        final MemoryGuard guard = MemoryGuard.watch(memory).allow(4096, 100);
        memory.buffer().setMemory(4096, 101, (byte)7);
        final Invariant broken = assertThrows(Invariant.class, () -> guard.check("overrun"));
        assertTrue(broken.getMessage().contains("[0x1000, 0x1065) changed"), broken.getMessage());
    }

    @Test
    void aStrayWriteFarFromEverythingIsCaught()
    {
        final MemoryGuard guard = MemoryGuard.watch(memory).allow(0, 4096);
        memory.buffer().putByte(60_000, (byte)0x42);
        final Invariant broken = assertThrows(Invariant.class, () -> guard.check("stray"));
        assertTrue(broken.getMessage().contains("[0xea60, 0xea61)") &&
            broken.getMessage().contains("0x00 -> 0x42"), broken.getMessage());
    }

    @Test
    void writingTheSameValueIsNotAChange()
    {
        final MemoryGuard guard = MemoryGuard.watch(memory);
        memory.buffer().putByte(100, (byte)0);
        guard.check("same value");
    }

    @Test
    void theHarnessOwnWritesAreTakenIntoTheSnapshot()
    {
        final MemoryGuard guard = MemoryGuard.watch(memory);
        memory.buffer().putShort(200, (short)0x1234);
        guard.refresh(200, 2).check("after refresh");
        memory.buffer().putByte(202, (byte)1);
        assertThrows(Invariant.class, () -> guard.check("next to the refreshed bytes"));
    }

    @Test
    void allowedRangesAreClippedToMemory()
    {
        final MemoryGuard guard = MemoryGuard.watch(memory).allow(memory.size() - 10, Long.MAX_VALUE);
        memory.buffer().putByte((int)memory.size() - 1, (byte)9);
        guard.check("clipped");
    }
}
