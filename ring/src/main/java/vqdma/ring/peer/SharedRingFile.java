package vqdma.ring.peer;

import vqdma.dma.GuestMemory;
import vqdma.ring.PackedRingDescriptor;
import vqdma.ring.RingLayout;
import vqdma.ring.SplitRingDescriptor;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Layout of the shared-ring file protocol (docs/file-protocol.md): the ring at offset 0, the data area from the ring's
 * size rounded up to 4096, descriptor addresses are file offsets. The file is created zero-filled by the harness; both
 * peers map it.
 * <pre>
 *   split (v1):  0                    ring as vring_init(&amp;vr, N, base, 4096) lays it out (vring_size(N, 4096) bytes)
 *   packed:      0                    N descriptors (struct vring_packed_desc, 16 bytes each)
 *                16 * N               driver event suppression (struct vring_packed_desc_event: off_wrap, flags)
 *                16 * N + 4           device event suppression
 *   either:      align_up(ring, 4096) data area (dataBytes): the driver's buffers and indirect tables
 *                align_up(ring, 4096) + dataBytes   end of file
 * </pre>
 * In the packed layout N is any of 1..32768 and both wrap counters start at 1, so the zeroed ring holds no available
 * and no used descriptor.
 */
public final class SharedRingFile
{
    /** The used ring's alignment in the split layout, and the data area's in both. */
    public static final int ALIGN = SplitRingDescriptor.LEGACY_ALIGN;

    private SharedRingFile()
    {
    }

    private static int checkQueueSize(final int num, final RingLayout layout)
    {
        if (!layout.isValidQueueSize(num))
        {
            throw new IllegalArgumentException("queue size " + num + " of the " + layout.id() + " layout must be " +
                layout.queueSizes());
        }
        return num;
    }

    /** @param num queue size. @return {@code vring_size(num, 4096)}. */
    public static int ringBytes(final int num)
    {
        return ringBytes(num, RingLayout.SPLIT);
    }

    /**
     * @param num    queue size.
     * @param layout the ring layout.
     * @return bytes of the ring: {@code vring_size(num, 4096)}, or {@code 16 * num + 8} packed.
     */
    public static int ringBytes(final int num, final RingLayout layout)
    {
        checkQueueSize(num, layout);
        return layout == RingLayout.PACKED ? PackedRingDescriptor.ringSize(num) :
            SplitRingDescriptor.vringSize(num, ALIGN);
    }

    /** @param num queue size. @return file offset of the data area (split layout). */
    public static long dataStart(final int num)
    {
        return dataStart(num, RingLayout.SPLIT);
    }

    /** @param num queue size. @param layout the ring layout. @return file offset of the data area. */
    public static long dataStart(final int num, final RingLayout layout)
    {
        return SplitRingDescriptor.alignUp(ringBytes(num, layout), ALIGN);
    }

    /** @param num queue size. @param dataBytes size of the data area. @return the file size (split layout). */
    public static long fileSize(final int num, final long dataBytes)
    {
        return fileSize(num, dataBytes, RingLayout.SPLIT);
    }

    /**
     * @param num       queue size.
     * @param dataBytes size of the data area.
     * @param layout    the ring layout.
     * @return the file size.
     */
    public static long fileSize(final int num, final long dataBytes, final RingLayout layout)
    {
        return dataStart(num, layout) + dataBytes;
    }

    /**
     * @param num    queue size.
     * @param layout the ring layout.
     * @return file offset of the driver area: the available ring (split) or the driver event structure (packed).
     */
    public static long driverArea(final int num, final RingLayout layout)
    {
        return layout == RingLayout.PACKED ? PackedRingDescriptor.driverEventOffset(checkQueueSize(num, layout)) :
            SplitRingDescriptor.availOffset(checkQueueSize(num, layout), ALIGN);
    }

    /**
     * @param num    queue size.
     * @param layout the ring layout.
     * @return file offset of the device area: the used ring (split) or the device event structure (packed).
     */
    public static long deviceArea(final int num, final RingLayout layout)
    {
        return layout == RingLayout.PACKED ? PackedRingDescriptor.deviceEventOffset(checkQueueSize(num, layout)) :
            SplitRingDescriptor.usedOffset(checkQueueSize(num, layout), ALIGN);
    }

    /**
     * Creates (or truncates) the file of the split layout, zero-filled, with the protocol's size.
     *
     * @param file      path.
     * @param num       queue size.
     * @param dataBytes size of the data area, {@code > 0}.
     * @throws IOException if the file cannot be written.
     */
    public static void create(final Path file, final int num, final long dataBytes) throws IOException
    {
        create(file, num, dataBytes, RingLayout.SPLIT);
    }

    /**
     * Creates (or truncates) the file, zero-filled, with the protocol's size.
     *
     * @param file      path.
     * @param num       queue size.
     * @param dataBytes size of the data area, {@code > 0}.
     * @param layout    the ring layout.
     * @throws IOException if the file cannot be written.
     */
    public static void create(final Path file, final int num, final long dataBytes, final RingLayout layout)
        throws IOException
    {
        if (dataBytes <= 0)
        {
            throw new IllegalArgumentException("data bytes " + dataBytes + " must be > 0");
        }
        final long size = fileSize(num, dataBytes, layout);
        Files.deleteIfExists(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(size);
        }
    }

    /**
     * Maps a file of the split layout after checking it has exactly the protocol's size.
     *
     * @param file      path.
     * @param num       queue size.
     * @param dataBytes size of the data area.
     * @return the file as guest memory (GPA = file offset).
     * @throws IOException if the file cannot be mapped.
     */
    public static GuestMemory map(final Path file, final int num, final long dataBytes) throws IOException
    {
        return map(file, num, dataBytes, RingLayout.SPLIT);
    }

    /**
     * Maps the file after checking it has exactly the protocol's size.
     *
     * @param file      path.
     * @param num       queue size.
     * @param dataBytes size of the data area.
     * @param layout    the ring layout.
     * @return the file as guest memory (GPA = file offset).
     * @throws IOException if the file cannot be mapped.
     */
    public static GuestMemory map(final Path file, final int num, final long dataBytes, final RingLayout layout)
        throws IOException
    {
        final long expected = fileSize(num, dataBytes, layout);
        final long actual = Files.size(file);
        if (actual != expected)
        {
            throw new IllegalArgumentException(String.format(
                "%s has %d bytes; queue size %d of the %s layout with %d data bytes needs exactly %d", file, actual,
                num, layout.id(), dataBytes, expected));
        }
        return GuestMemory.map(file, false);
    }
}
