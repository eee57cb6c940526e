package vqdma.ring.peer;

import vqdma.dma.GuestMemory;
import vqdma.ring.SplitRingDescriptor;
import vqdma.ring.Vring;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Layout of the shared-ring file protocol v1 (docs/file-protocol.md): the ring at offset 0 as
 * {@code vring_init(&vr, N, base, 4096)} lays it out, the data area from {@code align_up(vring_size(N, 4096), 4096)},
 * descriptor addresses are file offsets. The file is created zero-filled by the harness; both peers map it.
 * <pre>
 *   0                         ring (vring_size(N, 4096) bytes)
 *   align_up(ring, 4096)      data area (dataBytes): the driver's buffers and indirect tables
 *   align_up(ring, 4096) + dataBytes   end of file
 * </pre>
 */
public final class SharedRingFile
{
    /** The used ring's alignment, and the data area's, in protocol v1. */
    public static final int ALIGN = SplitRingDescriptor.LEGACY_ALIGN;

    private SharedRingFile()
    {
    }

    /** @param num queue size. @return {@code vring_size(num, 4096)}. */
    public static int ringBytes(final int num)
    {
        return SplitRingDescriptor.vringSize(Vring.checkQueueSize(num), ALIGN);
    }

    /** @param num queue size. @return file offset of the data area. */
    public static long dataStart(final int num)
    {
        return SplitRingDescriptor.alignUp(ringBytes(num), ALIGN);
    }

    /** @param num queue size. @param dataBytes size of the data area. @return the file size. */
    public static long fileSize(final int num, final long dataBytes)
    {
        return dataStart(num) + dataBytes;
    }

    /**
     * Creates (or truncates) the file, zero-filled, with the protocol's size.
     *
     * @param file      path.
     * @param num       queue size.
     * @param dataBytes size of the data area, {@code > 0}.
     * @throws IOException if the file cannot be written.
     */
    public static void create(final Path file, final int num, final long dataBytes) throws IOException
    {
        if (dataBytes <= 0)
        {
            throw new IllegalArgumentException("data bytes " + dataBytes + " must be > 0");
        }
        Files.deleteIfExists(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(fileSize(num, dataBytes));
        }
    }

    /**
     * Maps the file after checking it has exactly the protocol's size.
     *
     * @param file      path.
     * @param num       queue size.
     * @param dataBytes size of the data area.
     * @return the file as guest memory (GPA = file offset).
     * @throws IOException if the file cannot be mapped.
     */
    public static GuestMemory map(final Path file, final int num, final long dataBytes) throws IOException
    {
        final long expected = fileSize(num, dataBytes);
        final long actual = Files.size(file);
        if (actual != expected)
        {
            throw new IllegalArgumentException(String.format(
                "%s has %d bytes; queue size %d with %d data bytes needs exactly %d", file, actual, num, dataBytes,
                expected));
        }
        return GuestMemory.map(file, false);
    }
}
