package vqdma.ring;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.SplitRingDescriptor.*;

/** The layout is the kernel's: offsets and sizes checked against what {@code vring_init}/{@code vring_size} compute. */
class SplitRingLayoutTest
{
    @Test
    void matchesTheKernelHeaderForEveryQueueSize() throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(CTools.program("vring_layout").toString());
        for (int n = 1; n <= Vring.MAX_QUEUE_SIZE; n <<= 1)
        {
            command.add(Integer.toString(n));
        }
        final CTools.Result result = CTools.start(command).await(30);
        assertEquals(0, result.exit(), result.stderr());
        final String[] lines = result.stdout().split("\n");
        assertEquals(16, lines.length, result.stdout());
        for (final String line : lines)
        {
            final String[] f = line.trim().split("\\s+");
            final int n = Integer.parseInt(f[0]);
            final String at = "queue size " + n;
            assertEquals(Integer.parseInt(f[1]), vringSize(n, LEGACY_ALIGN), at + ": vring_size");
            assertEquals(Integer.parseInt(f[2]), availOffset(n, LEGACY_ALIGN), at + ": avail");
            assertEquals(Integer.parseInt(f[3]), usedOffset(n, LEGACY_ALIGN), at + ": used");
            assertEquals(Integer.parseInt(f[4]), usedOffset(n, LEGACY_ALIGN) + usedElemOffset(0), at + ": used->ring");
            assertEquals(Integer.parseInt(f[5]), usedOffset(n, LEGACY_ALIGN) + availEventOffset(n), at + ": avail_event");
            assertEquals(Integer.parseInt(f[6]), availOffset(n, LEGACY_ALIGN) + usedEventOffset(n), at + ": used_event");
        }
    }

    @Test
    void knownValues()
    {
        // vring_size(256, 4096) = align(16*256 + 6 + 2*256, 4096) + 6 + 8*256
        assertEquals(8192 + 2054, vringSize(256, 4096));
        assertEquals(4096 + 14, vringSize(1, 4096));
        assertEquals(16 * 32768, availOffset(32768, 4096));
        assertEquals(4 + 2 * 5, availRingOffset(5));
        assertEquals(4 + 8 * 3, usedElemOffset(3));
    }

    @Test
    void needEventMatchesTheHeadersDefinition()
    {
        // (u16)(new - event - 1) < (u16)(new - old)
        assertTrue(Vring.vringNeedEvent(5, 6, 5));
        assertFalse(Vring.vringNeedEvent(6, 6, 5));
        assertTrue(Vring.vringNeedEvent(0xFFFF, 1, 0xFFFE), "wraps around");
        assertFalse(Vring.vringNeedEvent(10, 5, 0));
        assertTrue(Vring.vringNeedEvent(0, 5, 0));
    }

    @Test
    void queueSizesArePowersOfTwoUpTo32768()
    {
        for (int n = 1; n <= 32768; n <<= 1)
        {
            assertTrue(Vring.isValidQueueSize(n));
        }
        for (final int bad : new int[] {0, 3, 65536, -1, 100})
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> Vring.checkQueueSize(bad));
            assertTrue(ex.getMessage().contains(Integer.toString(bad)), ex.getMessage());
        }
    }
}
