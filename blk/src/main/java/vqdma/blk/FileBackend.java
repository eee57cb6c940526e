package vqdma.blk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A disk image in a file, read and written with positional {@link FileChannel} I/O straight from and into guest
 * memory (no intermediate copy). Optionally checks O_DIRECT-like alignment: with {@code directAlign > 0} every
 * offset, length and guest address must be a multiple of it, or the request fails with IOERR as {@code O_DIRECT}
 * would fail with {@code EINVAL}. I/O errors become IOERR; they never escape to the device thread.
 */
public final class FileBackend implements BlkBackend, AutoCloseable
{
    private final FileChannel channel;
    private final long capacity;
    private final int directAlign;
    private volatile String lastError;

    /**
     * Opens (creating if needed) the image and sets its size.
     *
     * @param file          the image.
     * @param capacityBytes size, a positive multiple of 512.
     * @param directAlign   0, or the alignment O_DIRECT would require (512 or 4096).
     * @throws IOException if the file cannot be opened or sized.
     */
    public FileBackend(final Path file, final long capacityBytes, final int directAlign) throws IOException
    {
        if (capacityBytes <= 0 || (capacityBytes & 511) != 0 || directAlign < 0 ||
            directAlign != 0 && Integer.bitCount(directAlign) != 1)
        {
            throw new IllegalArgumentException("file disk of " + capacityBytes + " bytes, alignment " +
                directAlign + ": size must be a positive multiple of 512, alignment 0 or a power of two");
        }
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE);
        if (channel.size() != capacityBytes)
        {
            channel.truncate(Math.min(channel.size(), capacityBytes));
            if (channel.size() < capacityBytes)
            {
                channel.write(ByteBuffer.wrap(new byte[1]), capacityBytes - 1);
            }
        }
        this.capacity = capacityBytes;
        this.directAlign = directAlign;
    }

    @Override
    public long capacityBytes()
    {
        return capacity;
    }

    private boolean misaligned(final long gpa, final int len, final long offset)
    {
        final long mask = directAlign - 1L;
        return directAlign != 0 && ((gpa | len | offset) & mask) != 0;
    }

    @Override
    public int read(final GuestIo io, final long gpa, final int len, final long offset)
    {
        if (misaligned(gpa, len, offset))
        {
            lastError = "O_DIRECT alignment: gpa " + gpa + " len " + len + " offset " + offset;
            return VirtioBlk.S_IOERR;
        }
        try
        {
            final ByteBuffer view = io.slice(gpa, len);
            long at = offset;
            while (view.hasRemaining())
            {
                final int n = channel.read(view, at);
                if (n < 0)
                {
                    lastError = "short read at offset " + at;
                    return VirtioBlk.S_IOERR;
                }
                at += n;
            }
            return VirtioBlk.S_OK;
        }
        catch (final IOException ex)
        {
            lastError = ex.toString();
            return VirtioBlk.S_IOERR;
        }
    }

    @Override
    public int write(final GuestIo io, final long gpa, final int len, final long offset)
    {
        if (misaligned(gpa, len, offset))
        {
            lastError = "O_DIRECT alignment: gpa " + gpa + " len " + len + " offset " + offset;
            return VirtioBlk.S_IOERR;
        }
        try
        {
            final ByteBuffer view = io.slice(gpa, len);
            long at = offset;
            while (view.hasRemaining())
            {
                at += channel.write(view, at);
            }
            return VirtioBlk.S_OK;
        }
        catch (final IOException ex)
        {
            lastError = ex.toString();
            return VirtioBlk.S_IOERR;
        }
    }

    @Override
    public int flush()
    {
        try
        {
            channel.force(false);
            return VirtioBlk.S_OK;
        }
        catch (final IOException ex)
        {
            lastError = ex.toString();
            return VirtioBlk.S_IOERR;
        }
    }

    /** @return the last I/O error, or null. */
    public String lastError()
    {
        return lastError;
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
