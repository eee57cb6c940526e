package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DeviceViewTest
{
    /** A view with 4 KiB pages mapped in reverse order: exercises runs, merging and page-crossing accessors. */
    static final class Reversed extends DeviceView
    {
        final long pages;

        Reversed(final GuestMemory memory)
        {
            super(memory);
            pages = memory.size() / 4096;
        }

        @Override
        protected long translateRun(final long bus, final long len, final int access)
        {
            if (bus < 0 || bus >= memory.size())
            {
                throw new DmaFault(bus, len, (access & WRITE) != 0, DmaFault.Reason.NO_TRANSLATION);
            }
            return (pages - 1 - (bus >>> 12)) * 4096 + (bus & 4095);
        }

        @Override
        protected long runLength(final long bus, final long len)
        {
            return Math.min(len, 4096 - (bus & 4095));
        }
    }

    final GuestMemory memory = GuestMemory.allocate(16 * 4096, false);
    final Reversed view = new Reversed(memory);

    @Test
    void translateSplitsAtDiscontinuities()
    {
        final long[] gpa = new long[8];
        final long[] len = new long[8];
        assertEquals(3, view.translate(4000, 8192, DeviceView.READ, gpa, len, 0));
        assertEquals(15 * 4096 + 4000, gpa[0]);
        assertEquals(96, len[0]);
        assertEquals(14 * 4096, gpa[1]);
        assertEquals(4096, len[1]);
        assertEquals(4000, len[2]);
        assertEquals(0, view.translate(4000, 0, DeviceView.READ, gpa, len, 0));
        assertEquals(-1, view.translate(0, 3 * 4096, DeviceView.READ, gpa, len, 6), "more runs than room");
    }

    @Test
    void contiguousRangesAreMergedAndDiscontiguousOnesRefused()
    {
        final DirectDma.View direct = new DirectDma.View(memory, 0);
        final long[] gpa = new long[1];
        final long[] len = new long[1];
        assertEquals(1, direct.translate(100, 10000, DeviceView.WRITE, gpa, len, 0));
        assertEquals(10000, len[0]);
        assertEquals(100, direct.translateContiguous(100, 10000, DeviceView.READ));
        final DmaFault fault = assertThrows(DmaFault.class,
            () -> view.translateContiguous(0, 8192, DeviceView.READ));
        assertEquals(DmaFault.Reason.DISCONTIGUOUS, fault.reason());
        assertEquals("DMA fault: device read of 8192 bytes at bus address 0x0: range is not contiguous in guest " +
            "memory", fault.getMessage());
        assertEquals(DmaFault.class.getName() + ": " + fault.getMessage(), fault.toString());
        // Refusing a bad address costs no walk of the stack (unless -Dvqdma.dma.faultStackTraces=true).
        assertEquals(Boolean.getBoolean("vqdma.dma.faultStackTraces"),
            fault.getStackTrace().length > 0, "a stack trace captured");
        final IllegalStateException cause = new IllegalStateException("suppressed");
        fault.addSuppressed(cause);
        assertSame(cause, fault.getSuppressed()[0]);
    }

    @Test
    void accessorsCrossPagesLittleEndian()
    {
        view.putIntLe(4094, 0x11223344);
        assertEquals(0x11223344, view.getIntLe(4094));
        assertEquals(0x44, memory.buffer().getByte(15 * 4096 + 4094));
        assertEquals(0x22, memory.buffer().getByte(14 * 4096));
        memory.buffer().putLong(8, 0x0102030405060708L, java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x0102030405060708L, new DirectDma.View(memory, 0).getLongLe(8));
        final UnsafeBuffer src = new UnsafeBuffer(new byte[5000]);
        for (int i = 0; i < 5000; i++)
        {
            src.putByte(i, (byte)i);
        }
        view.write(1000, src, 0, 5000);
        final UnsafeBuffer dst = new UnsafeBuffer(new byte[5000]);
        view.read(1000, dst, 0, 5000);
        assertArrayEquals(src.byteArray(), dst.byteArray());
    }

    @Test
    void aFaultingWriteChangesNothingAndIsCounted()
    {
        final UnsafeBuffer src = new UnsafeBuffer(new byte[8192]);
        src.setMemory(0, 8192, (byte)1);
        final long end = memory.size() - 4096;
        assertThrows(DmaFault.class, () -> view.write(end, src, 0, 8192));
        assertEquals(0, memory.buffer().getByte(0), "the in-range page was not written");
        assertEquals(1, view.faults());
        final DmaFault overflow = assertThrows(DmaFault.class, () -> view.getIntLe(Long.MAX_VALUE - 1));
        assertTrue(overflow.reason() == DmaFault.Reason.LENGTH_OVERFLOW ||
            overflow.reason() == DmaFault.Reason.NO_TRANSLATION);
        assertThrows(DmaFault.class, () -> view.translate(-8, 16, DeviceView.READ, new long[4], new long[4], 0));
    }
}
