package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class GuestMemoryTest
{
    @Test
    void sizeMustBeWholePages()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> GuestMemory.allocate(1000, false));
        assertTrue(ex.getMessage().contains("1000"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.allocate(0, false));
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.allocate(1L << 32, false));
    }

    @Test
    void containsIsOverflowSafe()
    {
        final GuestMemory memory = GuestMemory.allocate(8192, false);
        assertTrue(memory.contains(0, 8192));
        assertTrue(memory.contains(8192, 0));
        assertFalse(memory.contains(1, 8192));
        assertFalse(memory.contains(-1, 1));
        assertFalse(memory.contains(4096, Long.MAX_VALUE));
        assertFalse(memory.contains(Long.MAX_VALUE, 2));
    }

    @Test
    void allocatorAlignsAndReportsExhaustion()
    {
        final GuestMemory memory = GuestMemory.allocate(16384, false);
        assertEquals(0, memory.allocate(10, 8));
        assertEquals(64, memory.allocate(10, 64));
        assertEquals(4096, memory.allocateShared(1));
        assertTrue(memory.isShared(4096, 4096));
        assertFalse(memory.isShared(0, 4096));
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> memory.allocate(16384, 4096));
        assertTrue(ex.getMessage().contains("guest memory exhausted"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> memory.allocate(10, 3));
    }

    @Test
    void shareAndUnshareArePageGranular()
    {
        final GuestMemory memory = GuestMemory.allocate(64 * 4096, true);
        memory.share(4096, 2 * 4096);
        assertTrue(memory.hostAccessible(4096, 8192));
        assertFalse(memory.hostAccessible(4096, 8193));
        memory.unshare(8192, 4096);
        assertFalse(memory.hostAccessible(8192, 1));
        assertTrue(memory.hostAccessible(4096, 4096));
        assertThrows(IllegalArgumentException.class, () -> memory.share(100, 4096));
        assertThrows(IllegalArgumentException.class, () -> memory.share(0, 65 * 4096));
        final GuestMemory plain = GuestMemory.allocate(4096, false);
        assertTrue(plain.hostAccessible(0, 4096), "a normal guest does not enforce sharing");
    }

    @Test
    void rewindReturnsTheAllocatorAndTheShareMapToTheMark()
    {
        final GuestMemory memory = GuestMemory.allocate(64 * 4096, true);
        final long ring = memory.allocateShared(100);
        memory.share(10 * 4096, 4096);
        final GuestMemory.Mark mark = memory.mark();
        assertEquals(4096, mark.allocated());

        final long first = memory.allocate(3000, 64);
        final long shared = memory.allocateShared(4096);
        memory.share(20 * 4096, 3 * 4096);
        memory.unshare(10 * 4096, 4096);
        memory.unshare(ring, 4096);
        memory.buffer().putLong((int)first, 42);

        memory.rewind(mark);
        assertEquals(4096, memory.allocated());
        assertEquals(first, memory.allocate(3000, 64), "the same address as after the mark");
        assertEquals(shared, memory.allocateShared(4096));
        for (long page = 0; page < 64; page++)
        {
            final boolean sharedAtMark = page == ring / 4096 || page == 10;
            // allocateShared after the rewind shared its page again.
            final boolean sharedNow = sharedAtMark || page == shared / 4096;
            assertEquals(sharedNow, memory.isShared(page * 4096, 4096), "page " + page);
        }
        assertEquals(42, memory.buffer().getLong((int)first), "contents are the caller's");

        memory.rewind(mark);
        memory.rewind(mark);
        assertEquals(first, memory.allocate(1, 1), "a mark can be rewound to again and again");
        final GuestMemory other = GuestMemory.allocate(128 * 4096, false);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> other.rewind(mark));
        assertTrue(ex.getMessage().contains("another guest memory"), ex.getMessage());
    }

    @Test
    void mapsAFileAsGuestMemory() throws Exception
    {
        final java.nio.file.Path file = java.nio.file.Files.createTempFile("vqdma", ".ring");
        try
        {
            java.nio.file.Files.write(file, new byte[8192]);
            final GuestMemory memory = GuestMemory.map(file, false);
            assertEquals(8192, memory.size());
            memory.buffer().putByte(4100, (byte)9);
            final GuestMemory again = GuestMemory.map(file, false);
            assertEquals(9, again.buffer().getByte(4100), "both mappings share the file");
        }
        finally
        {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}
