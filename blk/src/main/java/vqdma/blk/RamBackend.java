package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;

/**
 * A RAM disk in off-heap memory (up to 2 GiB). Reads and writes are memory copies; flush has nothing to do.
 */
public final class RamBackend implements BlkBackend
{
    private final UnsafeBuffer data;

    /** @param capacityBytes size, a positive multiple of 512 up to 2 GiB - 512. */
    public RamBackend(final long capacityBytes)
    {
        if (capacityBytes <= 0 || capacityBytes > Integer.MAX_VALUE - 511 || (capacityBytes & 511) != 0)
        {
            throw new IllegalArgumentException("RAM disk of " + capacityBytes +
                " bytes: must be a positive multiple of 512 below 2 GiB");
        }
        this.data = new UnsafeBuffer(ByteBuffer.allocateDirect((int)capacityBytes));
    }

    @Override
    public long capacityBytes()
    {
        return data.capacity();
    }

    @Override
    public int read(final GuestIo io, final long gpa, final int len, final long offset)
    {
        io.mem.putBytes((int)gpa, data, (int)offset, len);
        return VirtioBlk.S_OK;
    }

    @Override
    public int write(final GuestIo io, final long gpa, final int len, final long offset)
    {
        data.putBytes((int)offset, io.mem, (int)gpa, len);
        return VirtioBlk.S_OK;
    }

    @Override
    public int flush()
    {
        return VirtioBlk.S_OK;
    }

    /** @return the disk's contents, for tests and tools. */
    public UnsafeBuffer contents()
    {
        return data;
    }
}
