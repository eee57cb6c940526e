package vqdma.fuzz;

import org.junit.jupiter.api.Test;
import vqdma.dma.GuestMemory;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The "nothing written outside what was given" oracle must catch a single stray byte, and only that; its restore must
 * return memory to the baseline whatever the input did.
 */
class MemoryGuardTest
{
    private final GuestMemory memory = GuestMemory.allocate(64 * 1024, false);
    private final MemoryGuard guard = new MemoryGuard(memory);

    /** A guard watching from now on, as after an input's set-up. */
    private MemoryGuard watching()
    {
        guard.restore();
        guard.watch();
        return guard;
    }

    @Test
    void unchangedMemoryPasses()
    {
        watching().check("nothing ran");
    }

    @Test
    void writesInsideAllowedRangesPass()
    {
        watching().allow(4096, 100).allow(8192, 1);
        memory.buffer().setMemory(4096, 100, (byte)7);
        memory.buffer().putByte(8192, (byte)1);
        guard.check("allowed writes");
    }

    @Test
    void oneByteJustPastAnAllowedRangeIsCaught()
    {
        watching().allow(4096, 100);
        memory.buffer().setMemory(4096, 101, (byte)7);
        final Invariant broken = assertThrows(Invariant.class, () -> guard.check("overrun"));
        assertTrue(broken.getMessage().contains("[0x1064, 0x1065) changed"), broken.getMessage());
    }

    @Test
    void aStrayWriteFarFromEverythingIsCaught()
    {
        watching().allow(0, 4096);
        memory.buffer().putByte(60_000, (byte)0x42);
        final Invariant broken = assertThrows(Invariant.class, () -> guard.check("stray"));
        assertTrue(broken.getMessage().contains("[0xea60, 0xea61)") &&
            broken.getMessage().contains("0x00 -> 0x42"), broken.getMessage());
    }

    @Test
    void aStrayWriteInTheSameChunkAsAnAllowedOneIsCaught()
    {
        watching().allow(1024, 10);
        memory.buffer().setMemory(1024, 10, (byte)1);
        memory.buffer().putByte(1030 + 100, (byte)2);
        final Invariant broken = assertThrows(Invariant.class, () -> guard.check("same chunk"));
        assertTrue(broken.getMessage().contains("[0x46a, 0x46b)"), broken.getMessage());
    }

    @Test
    void writingTheSameValueIsNotAChange()
    {
        watching();
        memory.buffer().putByte(100, (byte)0);
        guard.check("same value");
    }

    @Test
    void theSetUpIsTakenInWhereItSaysItWrote()
    {
        guard.restore();
        memory.buffer().setMemory(10_000, 3000, (byte)5);
        guard.refresh(10_000, 3000);
        guard.watch();
        guard.check("set-up only");
        memory.buffer().putByte(10_001, (byte)6);
        assertThrows(Invariant.class, () -> guard.check("a change after the set-up"));
    }

    @Test
    void aSetUpWriteNobodyNamedIsReported()
    {
        guard.restore();
        memory.buffer().setMemory(10_000, 3000, (byte)5);
        guard.refresh(10_000, 2999);
        guard.watch();
        final Invariant broken = assertThrows(Invariant.class, () -> guard.check("unnamed"));
        assertTrue(broken.getMessage().contains("[0x32c7, 0x32c8)"), broken.getMessage());
    }

    @Test
    void theHarnessOwnWritesAreTakenIntoTheSnapshot()
    {
        watching();
        memory.buffer().putShort(200, (short)0x1234);
        guard.refresh(200, 2).check("after refresh");
        memory.buffer().putByte(202, (byte)1);
        assertThrows(Invariant.class, () -> guard.check("next to the refreshed bytes"));
    }

    @Test
    void allowedRangesAreClippedToMemory()
    {
        watching().allow(memory.size() - 10, Long.MAX_VALUE);
        memory.buffer().putByte((int)memory.size() - 1, (byte)9);
        guard.check("clipped");
    }

    @Test
    void restoreReturnsToTheBaselineAfterCheckedAndAfterAbandonedInputs()
    {
        memory.buffer().setMemory(0, (int)memory.size(), (byte)0x3C);
        memory.buffer().putLong(512, 0x1122334455667788L);
        guard.rebase();
        final byte[] baseline = contents();
        final SplittableRandom random = new SplittableRandom(17);
        for (int input = 0; input < 200; input++)
        {
            guard.restore();
            assertArrayEquals(baseline, contents(), "before input " + input);
            // Set-up writes (named), then writes the input may make, then (most of the time) the check.
            scribble(random, 3, true);
            guard.watch();
            guard.allow(0, memory.size());
            scribble(random, 1 + random.nextInt(5), false);
            if (random.nextInt(4) != 0)
            {
                guard.check("input " + input);
            }
        }
        guard.restore();
        assertArrayEquals(baseline, contents());
        // Nothing changed, nothing allowed: a fresh input checks clean against the baseline.
        guard.watch();
        guard.check("after the last restore");
    }

    @Test
    void anInputThatStoppedAtAFindingIsRestoredToo()
    {
        final byte[] baseline = contents();
        watching();
        memory.buffer().putByte(100, (byte)1);
        memory.buffer().putByte(40_000, (byte)1);
        assertThrows(Invariant.class, () -> guard.check("stops at the first"));
        guard.restore();
        assertArrayEquals(baseline, contents());
    }

    private void scribble(final SplittableRandom random, final int writes, final boolean refresh)
    {
        for (int i = 0; i < writes; i++)
        {
            final int len = 1 + random.nextInt(3000);
            final int at = random.nextInt((int)memory.size() - len);
            memory.buffer().setMemory(at, len, (byte)random.nextInt(256));
            if (refresh)
            {
                guard.refresh(at, len);
            }
        }
    }

    private byte[] contents()
    {
        final byte[] b = new byte[(int)memory.size()];
        memory.buffer().getBytes(0, b);
        return b;
    }
}
