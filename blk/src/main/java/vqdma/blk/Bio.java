package vqdma.blk;

import vqdma.dma.GuestMemory;

/**
 * A block I/O as the guest's upper layers hand it to the block layer: a type, a start sector and a list of guest
 * pages ({@code bio_vec}s: GPA and length, physically contiguous or scattered, as a page cache or a fragmented
 * buffer gives them). The block layer splits it into hardware requests within the {@link QueueLimits} and merges
 * contiguous pages into segments ({@link SegmentMapper}).
 * <p>
 * Reusable and allocation-free: {@link #reset(int, long)}, then {@link #addPage(long, int)} per page, submit, wait
 * for {@link #isDone()}, read {@link #status()}. A bio belongs to one driver thread at a time.
 */
public final class Bio
{
    private final long[] gpa;
    private final int[] len;
    private int pages;
    private int type;
    private long sector;
    private long bytes;
    // Block-layer state: written by the driver thread only.
    int nextPage;
    long nextByte;
    int partsInFlight;
    int status;
    boolean submitted;
    boolean done;

    /** @param maxPages the most pages this bio can hold. */
    public Bio(final int maxPages)
    {
        gpa = new long[maxPages];
        len = new int[maxPages];
    }

    /**
     * @param type   {@link VirtioBlk#T_IN}, {@link VirtioBlk#T_OUT}, {@link VirtioBlk#T_FLUSH} or
     *               {@link VirtioBlk#T_GET_ID}.
     * @param sector first sector (512 bytes) for IN/OUT; 0 otherwise.
     * @return this bio, empty.
     */
    public Bio reset(final int type, final long sector)
    {
        if (submitted && !done)
        {
            throw new IllegalStateException("bio reset while in flight");
        }
        this.type = type;
        this.sector = sector;
        pages = 0;
        bytes = 0;
        nextPage = 0;
        nextByte = 0;
        partsInFlight = 0;
        status = VirtioBlk.S_OK;
        submitted = false;
        done = false;
        return this;
    }

    /**
     * Resets this bio to {@code bytes} of page-cache pages from the region at {@code base}: physically contiguous
     * pages {@code base, base + 4096, ...} (they merge into one segment up to the queue's limit), or every other page
     * in reverse order (no two contiguous, as a fragmented buffer gives: one segment per page). The last page is
     * partial when {@code bytes} is not a multiple of 4096.
     *
     * @param type       request type, as {@link #reset}.
     * @param sector     first sector.
     * @param bytes      data bytes.
     * @param base       GPA of the region: {@code bytes} rounded up to pages when contiguous, twice that otherwise.
     * @param contiguous contiguous pages, or every other page in reverse order.
     * @return this bio.
     */
    public Bio fillPages(final int type, final long sector, final int bytes, final long base,
        final boolean contiguous)
    {
        reset(type, sector);
        final int n = (bytes + GuestMemory.PAGE_SIZE - 1) / GuestMemory.PAGE_SIZE;
        for (int k = 0; k < n; k++)
        {
            final long page = contiguous ? k : 2L * (n - 1 - k);
            addPage(base + page * GuestMemory.PAGE_SIZE,
                Math.min(GuestMemory.PAGE_SIZE, bytes - GuestMemory.PAGE_SIZE * k));
        }
        return this;
    }

    /**
     * Appends a page (or part of one).
     *
     * @param address guest-physical address.
     * @param length  bytes, {@code 1..4096}.
     * @return this bio.
     */
    public Bio addPage(final long address, final int length)
    {
        if (pages == gpa.length)
        {
            throw new IllegalStateException("bio full at " + pages + " pages");
        }
        if (length <= 0 || length > 4096)
        {
            throw new IllegalArgumentException("page length " + length + " must be 1..4096");
        }
        gpa[pages] = address;
        len[pages] = length;
        pages++;
        bytes += length;
        return this;
    }

    /** @return the request type. */
    public int type()
    {
        return type;
    }

    /** @return the first sector. */
    public long sector()
    {
        return sector;
    }

    /** @return number of pages. */
    public int pages()
    {
        return pages;
    }

    /** @param i page index. @return its GPA. */
    public long pageGpa(final int i)
    {
        return gpa[i];
    }

    /** @param i page index. @return its length. */
    public int pageLen(final int i)
    {
        return len[i];
    }

    /** @return total bytes. */
    public long bytes()
    {
        return bytes;
    }

    /** @return true once every part of the bio completed. */
    public boolean isDone()
    {
        return done;
    }

    /** @return the bio's status once done: OK, or the first error of any of its parts. */
    public int status()
    {
        return status;
    }
}
