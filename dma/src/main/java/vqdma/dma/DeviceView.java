package vqdma.dma;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The device's view of guest memory: every access goes through a bus address that is translated and checked here,
 * as an IOMMU or the memory encryption of a confidential guest would enforce it.
 * <p>
 * A bad, out-of-range or forbidden address is a {@link DmaFault} thrown <em>before</em> any byte is touched, and is
 * counted ({@link #faults()}); it is never an out-of-bounds off-heap access. These checks protect against a guest
 * that lies in the ring, so they are validation and cannot be switched off (unlike Agrona's own bounds checks).
 * <p>
 * The primitive is {@link #translate(long, long, int, long[], long[], int)}, vhost's {@code translate_desc()}: a bus
 * range becomes a list of guest-physical runs. The accessors below are built on it. Multi-byte values are
 * little-endian, as everything virtio puts in shared memory.
 * <p>
 * Implementations say how a bus address becomes a GPA: {@link DirectDma} adds an offset, the IOMMU walks its page
 * table through an IOTLB. One view may be used by several device threads at once.
 */
public abstract class DeviceView
{
    /** Access flag: the device reads. */
    public static final int READ = 1;
    /** Access flag: the device writes. */
    public static final int WRITE = 2;

    /** The memory behind the bus. */
    protected final GuestMemory memory;
    /** The memory's buffer, index = GPA; only touched after a successful translation. */
    protected final UnsafeBuffer mem;
    private final AtomicLong faults = new AtomicLong();

    /**
     * @param memory guest memory the bus addresses refer to.
     */
    protected DeviceView(final GuestMemory memory)
    {
        this.memory = memory;
        this.mem = memory.buffer();
    }

    /**
     * Translates the first run of {@code [bus, bus + len)} and checks the access for it.
     *
     * @param bus    bus address, the start of the run.
     * @param len    bytes wanted from {@code bus}, {@code > 0}; the run may be shorter (see {@link #runLength}).
     * @param access {@link #READ} and/or {@link #WRITE}.
     * @return the GPA of {@code bus}; {@code [gpa, gpa + runLength(bus, len))} is inside guest memory and allowed.
     * @throws DmaFault if there is no valid, permitted translation (the caller counts it).
     */
    protected abstract long translateRun(long bus, long len, int access);

    /**
     * @param bus bus address.
     * @param len bytes wanted from {@code bus}, {@code > 0}.
     * @return how many of those bytes are contiguous in guest memory from {@code bus} on (at least 1): the whole
     * length for an offset translation, up to the next page boundary for a paged IOMMU.
     */
    protected abstract long runLength(long bus, long len);

    /** @return the guest memory behind this view. */
    public final GuestMemory memory()
    {
        return memory;
    }

    /** @return the number of device accesses refused so far (all threads). */
    public final long faults()
    {
        return faults.get();
    }

    /** Sets the count of refused accesses back to zero ({@link DmaOps#reset()}); not for concurrent use. */
    protected final void resetFaults()
    {
        faults.set(0);
    }

    /**
     * Records a refused access and returns the fault to throw. Subclasses that detect a fault themselves call this.
     *
     * @param fault the fault.
     * @return {@code fault}, counted.
     */
    protected final DmaFault fault(final DmaFault fault)
    {
        faults.incrementAndGet();
        return fault;
    }

    private void checkRange(final long bus, final long len, final int access)
    {
        if (len < 0 || Long.compareUnsigned(bus + len, bus) < 0)
        {
            throw fault(new DmaFault(bus, len, (access & WRITE) != 0, DmaFault.Reason.LENGTH_OVERFLOW));
        }
    }

    private long run(final long bus, final long len, final int access)
    {
        try
        {
            return translateRun(bus, len, access);
        }
        catch (final DmaFault ex)
        {
            faults.incrementAndGet();
            throw ex;
        }
    }

    /**
     * Translates a bus range into guest-physical runs, as vhost's {@code translate_desc()} fills an iovec array.
     *
     * @param bus    bus address.
     * @param len    length in bytes, {@code >= 0}.
     * @param access {@link #READ} and/or {@link #WRITE}.
     * @param gpaOut receives the GPA of each run, from index {@code from}.
     * @param lenOut receives the length of each run, from index {@code from}.
     * @param from   first index of the output arrays to fill.
     * @return the number of runs written (0 for {@code len == 0}), or -1 if the arrays are too short (vhost's
     * {@code -ENOBUFS}); nothing in guest memory is accessed either way.
     * @throws DmaFault if any part of the range is not a permitted translation.
     */
    public final int translate(
        final long bus, final long len, final int access, final long[] gpaOut, final long[] lenOut, final int from)
    {
        checkRange(bus, len, access);
        if (len == 0)
        {
            return 0;
        }
        // The first run, and usually the only one (an offset translation, or a buffer within one IOMMU page): kept
        // small so that the device's walk inlines it; the loop for more runs is out of line.
        final long gpa = run(bus, len, access);
        final long n = runLength(bus, len);
        if (from == gpaOut.length)
        {
            return -1;
        }
        gpaOut[from] = gpa;
        if (n >= len)
        {
            lenOut[from] = len;
            return 1;
        }
        lenOut[from] = n;
        return translateMore(bus, len, access, gpaOut, lenOut, from, n);
    }

    /** {@link #translate} after a first run of {@code done} bytes at {@code gpaOut[from]}. */
    private int translateMore(
        final long bus, final long len, final int access, final long[] gpaOut, final long[] lenOut, final int from,
        final long first)
    {
        int at = from + 1;
        long done = first;
        while (done < len)
        {
            final long b = bus + done;
            final long want = len - done;
            final long gpa = run(b, want, access);
            final long n = Math.min(want, runLength(b, want));
            if (gpaOut[at - 1] + lenOut[at - 1] == gpa)
            {
                lenOut[at - 1] += n;
            }
            else
            {
                if (at == gpaOut.length)
                {
                    return -1;
                }
                gpaOut[at] = gpa;
                lenOut[at] = n;
                at++;
            }
            done += n;
        }
        return at - from;
    }

    /**
     * Translates a range that must be contiguous in guest memory, such as a ring the device maps once at set-up
     * (vhost's {@code vq_meta_prefetch()}).
     *
     * @param bus    bus address.
     * @param len    length in bytes, {@code > 0}.
     * @param access {@link #READ} and/or {@link #WRITE}.
     * @return the GPA of the range.
     * @throws DmaFault if the range is not permitted or not contiguous.
     */
    public final long translateContiguous(final long bus, final long len, final int access)
    {
        checkRange(bus, len, access);
        final long gpa = run(bus, len, access);
        for (long done = runLength(bus, len); done < len; )
        {
            final long next = run(bus + done, len - done, access);
            if (next != gpa + done)
            {
                throw fault(new DmaFault(bus, len, (access & WRITE) != 0, DmaFault.Reason.DISCONTIGUOUS));
            }
            done += runLength(bus + done, len - done);
        }
        return gpa;
    }

    /**
     * @param bus bus address.
     * @return the byte the device reads there.
     */
    public final byte getByte(final long bus)
    {
        return mem.getByte((int)run(bus, 1, READ));
    }

    /**
     * @param bus   bus address.
     * @param value the byte the device writes there.
     */
    public final void putByte(final long bus, final byte value)
    {
        mem.putByte((int)run(bus, 1, WRITE), value);
    }

    /**
     * @param bus bus address.
     * @return the little-endian u32 the device reads there, as an int.
     */
    public final int getIntLe(final long bus)
    {
        checkRange(bus, Integer.BYTES, READ);
        if (runLength(bus, Integer.BYTES) >= Integer.BYTES)
        {
            return mem.getInt((int)run(bus, Integer.BYTES, READ), java.nio.ByteOrder.LITTLE_ENDIAN);
        }
        int v = 0;
        for (int i = 0; i < Integer.BYTES; i++)
        {
            v |= (getByte(bus + i) & 0xFF) << (8 * i);
        }
        return v;
    }

    /**
     * @param bus   bus address.
     * @param value the u32 the device writes there, little-endian.
     */
    public final void putIntLe(final long bus, final int value)
    {
        checkRange(bus, Integer.BYTES, WRITE);
        if (runLength(bus, Integer.BYTES) >= Integer.BYTES)
        {
            mem.putInt((int)run(bus, Integer.BYTES, WRITE), value, java.nio.ByteOrder.LITTLE_ENDIAN);
            return;
        }
        for (int i = 0; i < Integer.BYTES; i++)
        {
            run(bus + i, 1, WRITE); // check every byte before writing any
        }
        for (int i = 0; i < Integer.BYTES; i++)
        {
            putByte(bus + i, (byte)(value >>> (8 * i)));
        }
    }

    /**
     * @param bus bus address.
     * @return the little-endian u64 the device reads there.
     */
    public final long getLongLe(final long bus)
    {
        checkRange(bus, Long.BYTES, READ);
        if (runLength(bus, Long.BYTES) >= Long.BYTES)
        {
            return mem.getLong((int)run(bus, Long.BYTES, READ), java.nio.ByteOrder.LITTLE_ENDIAN);
        }
        long v = 0;
        for (int i = 0; i < Long.BYTES; i++)
        {
            v |= (getByte(bus + i) & 0xFFL) << (8 * i);
        }
        return v;
    }

    /**
     * Device read of {@code len} bytes (a DMA from guest memory into the device).
     *
     * @param bus   bus address.
     * @param dst   destination buffer.
     * @param index offset in {@code dst}.
     * @param len   bytes.
     */
    public final void read(final long bus, final MutableDirectBuffer dst, final int index, final int len)
    {
        checkRange(bus, len, READ);
        for (int done = 0; done < len; )
        {
            final long b = bus + done;
            final long gpa = run(b, len - done, READ);
            final int n = (int)Math.min(len - done, runLength(b, len - done));
            dst.putBytes(index + done, mem, (int)gpa, n);
            done += n;
        }
    }

    /**
     * Device write of {@code len} bytes (a DMA from the device into guest memory). The whole range is checked before
     * the first byte is written: a faulting write changes nothing.
     *
     * @param bus   bus address.
     * @param src   source buffer.
     * @param index offset in {@code src}.
     * @param len   bytes.
     */
    public final void write(final long bus, final DirectBuffer src, final int index, final int len)
    {
        checkRange(bus, len, WRITE);
        for (int done = 0; done < len; )
        {
            final long b = bus + done;
            run(b, len - done, WRITE);
            done += (int)Math.min(len - done, runLength(b, len - done));
        }
        for (int done = 0; done < len; )
        {
            final long b = bus + done;
            final long gpa = run(b, len - done, WRITE);
            final int n = (int)Math.min(len - done, runLength(b, len - done));
            mem.putBytes((int)gpa, src, index + done, n);
            done += n;
        }
    }
}
