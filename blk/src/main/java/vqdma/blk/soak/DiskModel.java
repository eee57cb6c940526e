package vqdma.blk.soak;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.blk.Bio;
import vqdma.blk.VirtioBlk;

/**
 * What the soak knows the disk holds: a copy of every byte, and per sector whether it is known. A write that
 * completed OK makes its sectors known with its data; a write that failed makes them unknown (it may have been done
 * in part), until a later write succeeds over them. Reads are checked against the known sectors only.
 * <p>
 * Requests in flight never overlap ({@link #tryReserve}), so each range is updated and checked by one driver thread
 * at a time; the reservation's lock orders one owner's updates before the next owner's checks.
 */
final class DiskModel
{
    private final byte[] data;
    private final byte[] known;
    private final long sectors;
    private final long[] busyStart;
    private final long[] busyEnd;
    private int busy;

    /**
     * @param capacityBytes the disk, zero-filled to begin with (every sector known).
     * @param maxInFlight   the most ranges reserved at once.
     */
    DiskModel(final long capacityBytes, final int maxInFlight)
    {
        this.data = new byte[Math.toIntExact(capacityBytes)];
        this.sectors = capacityBytes >> VirtioBlk.SECTOR_SHIFT;
        this.known = new byte[(int)sectors];
        java.util.Arrays.fill(known, (byte)1);
        this.busyStart = new long[maxInFlight];
        this.busyEnd = new long[maxInFlight];
    }

    long sectors()
    {
        return sectors;
    }

    /** @return true if {@code [sector, sector + n)} overlaps no range in flight; then it is reserved. */
    synchronized boolean tryReserve(final long sector, final long n)
    {
        final long end = sector + n;
        for (int i = 0; i < busy; i++)
        {
            if (sector < busyEnd[i] && busyStart[i] < end)
            {
                return false;
            }
        }
        if (busy == busyStart.length)
        {
            throw new IllegalStateException("more than " + busy + " ranges in flight");
        }
        busyStart[busy] = sector;
        busyEnd[busy] = end;
        busy++;
        return true;
    }

    synchronized void release(final long sector)
    {
        for (int i = 0; i < busy; i++)
        {
            if (busyStart[i] == sector)
            {
                busy--;
                busyStart[i] = busyStart[busy];
                busyEnd[i] = busyEnd[busy];
                return;
            }
        }
        throw new IllegalStateException("range at sector " + sector + " was not reserved");
    }

    /** A write of {@code bio} completed OK: its data is the disk's. */
    void written(final Bio bio, final UnsafeBuffer mem)
    {
        int at = (int)(bio.sector() << VirtioBlk.SECTOR_SHIFT);
        for (int i = 0; i < bio.pages(); i++)
        {
            mem.getBytes((int)bio.pageGpa(i), data, at, bio.pageLen(i));
            at += bio.pageLen(i);
        }
        java.util.Arrays.fill(known, (int)bio.sector(), (int)(bio.sector() + (bio.bytes() >> VirtioBlk.SECTOR_SHIFT)),
            (byte)1);
    }

    /** A write failed: its sectors are unknown until rewritten. */
    void unknown(final long sector, final long n)
    {
        java.util.Arrays.fill(known, (int)sector, (int)(sector + n), (byte)0);
    }

    /** @return known sectors. */
    long knownSectors()
    {
        long n = 0;
        for (final byte k : known)
        {
            n += k;
        }
        return n;
    }

    /**
     * Checks what a read of {@code bio} returned.
     *
     * @param first receives a description of the first wrong byte, if any.
     * @return wrong bytes in known sectors.
     */
    long verify(final Bio bio, final UnsafeBuffer mem, final StringBuilder first)
    {
        long wrong = 0;
        long p = bio.sector() << VirtioBlk.SECTOR_SHIFT;
        for (int i = 0; i < bio.pages(); i++)
        {
            final int gpa = (int)bio.pageGpa(i);
            for (int b = 0; b < bio.pageLen(i); b++, p++)
            {
                if (known[(int)(p >> VirtioBlk.SECTOR_SHIFT)] != 0 && mem.getByte(gpa + b) != data[(int)p])
                {
                    if (wrong++ == 0 && first.length() == 0)
                    {
                        first.append(String.format("disk byte %d (sector %d): read 0x%02x, expected 0x%02x", p,
                            p >> VirtioBlk.SECTOR_SHIFT, mem.getByte(gpa + b), data[(int)p]));
                    }
                }
            }
        }
        return wrong;
    }

    /**
     * Checks the disk itself against the model.
     *
     * @param disk  the backend's bytes.
     * @param first receives a description of the first wrong byte, if any.
     * @return wrong bytes in known sectors.
     */
    long verifyDisk(final UnsafeBuffer disk, final StringBuilder first)
    {
        long wrong = 0;
        for (int p = 0; p < data.length; p++)
        {
            if (known[p >> VirtioBlk.SECTOR_SHIFT] != 0 && disk.getByte(p) != data[p])
            {
                if (wrong++ == 0 && first.length() == 0)
                {
                    first.append(String.format("disk byte %d (sector %d): holds 0x%02x, expected 0x%02x", p,
                        p >> VirtioBlk.SECTOR_SHIFT, disk.getByte(p), data[p]));
                }
            }
        }
        return wrong;
    }
}
