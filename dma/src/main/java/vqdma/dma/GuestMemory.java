package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The guest's physical memory: one off-heap region addressed by guest-physical address (GPA), GPA 0 at its start.
 * <p>
 * The CPU (the guest driver) reads and writes it freely through {@link #buffer()}, whose index is the GPA. The device
 * never does: it holds bus addresses and goes through a {@link DeviceView}, which checks every access.
 *
 * <h2>Private and shared memory</h2>
 * In a <em>confidential</em> guest (AMD SEV, Intel TDX) the host cannot read guest memory: pages are private
 * (encrypted) unless the guest explicitly shares them ({@code set_memory_decrypted()}). {@link #share(long, long)}
 * marks pages shared; a device access to a private page of a confidential guest is a {@link DmaFault}. This is why
 * such a guest must bounce all DMA through SWIOTLB, whose pool is shared, and why the 2019 bug appeared there.
 * In a normal guest the distinction is recorded but not enforced.
 *
 * <h2>Allocation</h2>
 * A bump allocator hands out regions at set-up time ({@link #allocate(long, long)}): rings, indirect tables, data
 * buffers, the SWIOTLB pool. Nothing is freed; hot paths allocate nothing here.
 *
 * <h2>Threads</h2>
 * The share map and the allocator are set-up state: change them before the memory is handed to other threads (for
 * example before {@link Thread#start()}). The contents are shared memory; their orderings are the users' business.
 */
public final class GuestMemory
{
    /** Page shift of the guest (x86: 4 KiB pages). */
    public static final int PAGE_SHIFT = 12;
    /** Page size of the guest in bytes. */
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** The largest guest memory vqdma models: an {@link UnsafeBuffer} is indexed by {@code int}. */
    public static final long MAX_SIZE = Integer.MAX_VALUE & ~(PAGE_SIZE - 1L);

    private final ByteBuffer byteBuffer;
    private final UnsafeBuffer buffer;
    private final long size;
    private final boolean confidential;
    private final long[] sharedPages;
    private long nextFree;

    private GuestMemory(final ByteBuffer byteBuffer, final boolean confidential)
    {
        this.byteBuffer = byteBuffer;
        this.buffer = new UnsafeBuffer(byteBuffer);
        this.size = byteBuffer.capacity();
        this.confidential = confidential;
        this.sharedPages = new long[(int)((pageCount(size) + 63) >>> 6)];
    }

    /**
     * Allocates zeroed off-heap guest memory.
     *
     * @param size         bytes, a multiple of {@link #PAGE_SIZE}, at most {@link #MAX_SIZE}.
     * @param confidential true for a confidential guest: the device may only touch shared pages.
     * @return the new memory, all of it private and unallocated.
     */
    public static GuestMemory allocate(final long size, final boolean confidential)
    {
        checkSize(size);
        return new GuestMemory(ByteBuffer.allocateDirect((int)size), confidential);
    }

    /**
     * Maps an existing file as guest memory (GPA = file offset), as the shared-ring file protocol does. The file must
     * already have its final size; both sides of the protocol map the same file.
     *
     * @param file         the file to map read-write.
     * @param confidential see {@link #allocate(long, boolean)}.
     * @return the memory; nothing in it counts as allocated.
     * @throws IOException if the file cannot be opened or mapped.
     */
    public static GuestMemory map(final Path file, final boolean confidential) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final long fileSize = channel.size();
            if (fileSize <= 0 || fileSize > MAX_SIZE)
            {
                throw new IllegalArgumentException("file " + file + " has size " + fileSize +
                    ": guest memory must be 1.." + MAX_SIZE + " bytes");
            }
            final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, fileSize);
            return new GuestMemory(mapped, confidential);
        }
    }

    private static void checkSize(final long size)
    {
        if (size <= 0 || size > MAX_SIZE || (size & (PAGE_SIZE - 1)) != 0)
        {
            throw new IllegalArgumentException("guest memory size " + size +
                " must be a positive multiple of " + PAGE_SIZE + " and at most " + MAX_SIZE);
        }
    }

    private static long pageCount(final long bytes)
    {
        return (bytes + PAGE_SIZE - 1) >>> PAGE_SHIFT;
    }

    /** @return the CPU's view of guest memory: index = GPA. Bounds-checked by Agrona unless disabled. */
    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return a new {@link ByteBuffer} view of the whole memory (position 0, limit = size), for APIs that take one
     * such as {@link java.util.zip.CRC32C#update(ByteBuffer)}. Callers on hot paths create it once and reuse it.
     */
    public ByteBuffer newByteBufferView()
    {
        return byteBuffer.duplicate().clear();
    }

    /** @return the size of guest memory in bytes. */
    public long size()
    {
        return size;
    }

    /** @return true if this is a confidential guest: device access to private pages faults. */
    public boolean isConfidential()
    {
        return confidential;
    }

    /**
     * @param gpa start address.
     * @param len length in bytes, {@code >= 0}.
     * @return true if {@code [gpa, gpa + len)} lies inside guest memory (overflow-safe).
     */
    public boolean contains(final long gpa, final long len)
    {
        return gpa >= 0 && len >= 0 && gpa <= size && len <= size - gpa;
    }

    /**
     * Marks whole pages shared with the host ({@code set_memory_decrypted()}). Set-up time only.
     *
     * @param gpa page-aligned start.
     * @param len length, a multiple of {@link #PAGE_SIZE}.
     */
    public void share(final long gpa, final long len)
    {
        setShared(gpa, len, true);
    }

    /**
     * Marks whole pages private again ({@code set_memory_encrypted()}). Set-up time only.
     *
     * @param gpa page-aligned start.
     * @param len length, a multiple of {@link #PAGE_SIZE}.
     */
    public void unshare(final long gpa, final long len)
    {
        setShared(gpa, len, false);
    }

    private void setShared(final long gpa, final long len, final boolean shared)
    {
        if (((gpa | len) & (PAGE_SIZE - 1)) != 0 || !contains(gpa, len))
        {
            throw new IllegalArgumentException(String.format(
                "share range gpa=0x%x len=%d must be page-aligned and inside guest memory of %d bytes", gpa, len, size));
        }
        for (long page = gpa >>> PAGE_SHIFT, end = (gpa + len) >>> PAGE_SHIFT; page < end; page++)
        {
            final int word = (int)(page >>> 6);
            final long bit = 1L << page;
            sharedPages[word] = shared ? sharedPages[word] | bit : sharedPages[word] & ~bit;
        }
    }

    /**
     * @param gpa start address, inside guest memory.
     * @param len length in bytes, {@code > 0}, inside guest memory.
     * @return true if every page touched by {@code [gpa, gpa + len)} is shared.
     */
    public boolean isShared(final long gpa, final long len)
    {
        final long last = (gpa + len - 1) >>> PAGE_SHIFT;
        for (long page = gpa >>> PAGE_SHIFT; page <= last; page++)
        {
            if ((sharedPages[(int)(page >>> 6)] & (1L << page)) == 0)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @param gpa start address, inside guest memory.
     * @param len length in bytes, {@code > 0}, inside guest memory.
     * @return true if the host may touch the range: always in a normal guest, only shared pages in a confidential one.
     */
    public boolean hostAccessible(final long gpa, final long len)
    {
        return !confidential || isShared(gpa, len);
    }

    /**
     * Allocates a region at set-up time (a bump allocator; nothing is ever freed).
     *
     * @param len   bytes, {@code > 0}.
     * @param align power-of-two alignment, {@code >= 1}.
     * @return the GPA of the region.
     * @throws IllegalStateException if guest memory is exhausted.
     */
    public synchronized long allocate(final long len, final long align)
    {
        if (len <= 0 || align <= 0 || Long.bitCount(align) != 1)
        {
            throw new IllegalArgumentException("allocate len=" + len + " align=" + align +
                ": len must be > 0 and align a power of two");
        }
        final long start = (nextFree + align - 1) & -align;
        if (!contains(start, len))
        {
            throw new IllegalStateException(String.format(
                "guest memory exhausted: %d bytes (align %d) requested, %d of %d bytes already allocated",
                len, align, nextFree, size));
        }
        nextFree = start + len;
        return start;
    }

    /**
     * Allocates whole shared pages at set-up time, as {@code dma_alloc_coherent()} does for a confidential guest's
     * rings (the memory is decrypted so that the host can read it).
     *
     * @param len bytes, {@code > 0}; rounded up to whole pages.
     * @return the page-aligned GPA of the region.
     */
    public synchronized long allocateShared(final long len)
    {
        final long pages = pageCount(len) << PAGE_SHIFT;
        final long gpa = allocate(pages, PAGE_SIZE);
        share(gpa, pages);
        return gpa;
    }

    /** @return bytes handed out by the allocator so far, including alignment padding. */
    public synchronized long allocated()
    {
        return nextFree;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Marks (tests and fuzzers that run many cases on one memory)
    // ------------------------------------------------------------------------------------------------------------

    /** The set-up state {@link #rewind(Mark)} returns to: the allocator's position and which pages are shared. */
    public static final class Mark
    {
        private final GuestMemory memory;
        private final long allocated;
        private final long[] sharedPages;

        private Mark(final GuestMemory memory, final long allocated, final long[] sharedPages)
        {
            this.memory = memory;
            this.allocated = allocated;
            this.sharedPages = sharedPages;
        }

        /** @return bytes the allocator had handed out at the mark. */
        public long allocated()
        {
            return allocated;
        }
    }

    /** @return the allocator's position and the share map as they are now, for {@link #rewind(Mark)}. */
    public synchronized Mark mark()
    {
        return new Mark(this, nextFree, sharedPages.clone());
    }

    /**
     * Returns the set-up state to a {@link #mark() mark} of this memory: everything allocated since is free again (the
     * next {@link #allocate} hands out the same addresses as it did after the mark) and exactly the pages shared at
     * the mark are shared. The contents are not touched: a caller that reuses memory restores the bytes it needs
     * (a region from {@link #allocate} starts zeroed only in fresh memory). Set-up time only, as the allocator is.
     *
     * @param mark a mark taken on this memory.
     */
    public synchronized void rewind(final Mark mark)
    {
        if (mark.memory != this)
        {
            throw new IllegalArgumentException("a mark of another guest memory (of " + mark.memory.size +
                " bytes, this one has " + size + ")");
        }
        nextFree = mark.allocated;
        System.arraycopy(mark.sharedPages, 0, sharedPages, 0, sharedPages.length);
    }
}
