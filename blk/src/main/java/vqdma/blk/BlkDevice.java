package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.DescriptorChain;
import vqdma.ring.VhostVirtqueue;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static vqdma.blk.VirtioBlk.*;

/**
 * The device model of one virtio-blk queue, as a host's virtio-blk backend handles a request (QEMU's
 * {@code virtio_blk_handle_request()}): the chain comes from a {@link VhostVirtqueue}, which already walked and
 * checked it and translated every buffer through the device's view of memory. This class checks what the chain
 * means as a block request and executes it against a {@link BlkBackend}:
 * <ul>
 *   <li>the status byte is the last device-writable byte; a chain with none cannot be answered and is returned
 *   with {@code used.len = 0} (counted as {@link #noStatus()});</li>
 *   <li>the header is the first 16 device-readable bytes: fewer is IOERR;</li>
 *   <li>IN and OUT need a data length that is a multiple of 512 and a sector range inside the capacity, else
 *   IOERR; IN data goes into the writable bytes before the status, OUT data comes from the readable bytes after
 *   the header;</li>
 *   <li>FLUSH flushes the backend (UNSUPP if the device does not offer {@code VIRTIO_BLK_F_FLUSH}), GET_ID writes
 *   the serial, any other type is UNSUPP.</li>
 * </ul>
 * {@code used.len} is the number of bytes written: the data read (IN) or the serial (GET_ID), plus the status.
 * Nothing the guest puts in a chain can make this class throw or touch memory it was not given.
 */
public final class BlkDevice
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final VhostVirtqueue vq;
    private final BlkBackend backend;
    private final BlkConfig config;
    private final DescriptorChain chain;
    private final GuestIo io;
    private final UnsafeBuffer mem;
    private final UnsafeBuffer header = new UnsafeBuffer(new byte[OUTHDR_SIZE]);
    private final UnsafeBuffer serial = new UnsafeBuffer(new byte[ID_BYTES]);
    private final long capacitySectors;

    private long requests;
    private long errors;
    private long unsupported;
    private long noStatus;
    private long bytesRead;
    private long bytesWritten;

    /**
     * @param vq      the device side of the queue.
     * @param memory  guest memory.
     * @param backend where the data lives.
     * @param config  what the device offers (capacity must not exceed the backend's).
     */
    public BlkDevice(final VhostVirtqueue vq, final GuestMemory memory, final BlkBackend backend,
        final BlkConfig config)
    {
        if (config.capacityBytes() > backend.capacityBytes())
        {
            throw new IllegalArgumentException("capacity " + config.capacityBytes() + " bytes exceeds the backend's " +
                backend.capacityBytes());
        }
        this.vq = vq;
        this.backend = backend;
        this.config = config;
        this.chain = vq.newChain();
        this.io = new GuestIo(memory);
        this.mem = memory.buffer();
        this.capacitySectors = config.capacity();
        final byte[] id = config.serial().getBytes(StandardCharsets.US_ASCII);
        serial.putBytes(0, id);
    }

    /**
     * Serves up to {@code budget} requests, publishing their used entries together.
     *
     * @param budget most requests to serve.
     * @return requests served, or -1 if the queue is broken (see {@link VhostVirtqueue#brokenReason()}).
     */
    public int serve(final int budget)
    {
        int served = 0;
        while (served < budget)
        {
            final int head = vq.pop(chain);
            if (head == VhostVirtqueue.BROKEN)
            {
                if (served > 0)
                {
                    vq.flushUsed();
                }
                return -1;
            }
            if (head == VhostVirtqueue.EMPTY)
            {
                break;
            }
            vq.addUsed(head, handle(chain));
            served++;
        }
        if (served > 0)
        {
            vq.flushUsed();
        }
        return served;
    }

    /**
     * Executes one request: what a device thread's request handler does with a chain the ring walked and checked
     * (usable as a {@code vqdma.ring.thread.RequestHandler}).
     *
     * @param chain the request.
     * @return used.len: bytes written into the chain.
     */
    public int handle(final DescriptorChain chain)
    {
        requests++;
        final long writable = chain.writableBytes();
        if (writable < 1)
        {
            noStatus++;
            errors++;
            return 0; // nowhere to put a status: the driver sees its preset value
        }
        final long statusAt = writable - 1;
        final int status;
        long written = 0;
        if (chain.readableBytes() < OUTHDR_SIZE)
        {
            status = S_IOERR;
        }
        else
        {
            chain.copyFromReadable(0, header, 0, OUTHDR_SIZE);
            final int type = header.getInt(OUTHDR_TYPE_OFFSET, LE);
            final long sector = header.getLong(OUTHDR_SECTOR_OFFSET, LE);
            switch (type)
            {
                case T_IN:
                {
                    status = transfer(chain, sector, statusAt, false);
                    written = status == S_OK ? statusAt : 0;
                    break;
                }
                case T_OUT:
                    status = transfer(chain, sector, chain.readableBytes() - OUTHDR_SIZE, true);
                    break;
                case T_FLUSH:
                    status = config.flush() ? backend.flush() : S_UNSUPP;
                    break;
                case T_GET_ID:
                {
                    final int n = (int)Math.min(ID_BYTES, statusAt);
                    chain.copyToWritable(0, serial, 0, n);
                    written = n;
                    status = S_OK;
                    break;
                }
                default:
                    status = S_UNSUPP;
                    break;
            }
        }
        if (status == S_UNSUPP)
        {
            unsupported++;
        }
        if (status != S_OK)
        {
            errors++;
        }
        putStatus(chain, statusAt, status);
        return (int)(written + 1);
    }

    /**
     * Checks the sector range and moves the data between the chain and the backend.
     *
     * @param chain  the request.
     * @param sector first sector.
     * @param len    data bytes.
     * @param out    true for OUT (guest -> disk).
     * @return the status.
     */
    private int transfer(final DescriptorChain chain, final long sector, final long len, final boolean out)
    {
        if ((len & (SECTOR_SIZE - 1)) != 0 || sector < 0 || sector > capacitySectors ||
            (len >> SECTOR_SHIFT) > capacitySectors - sector)
        {
            return S_IOERR;
        }
        final int status = move(chain, sector, len, out);
        if (status != S_OK)
        {
            return status;
        }
        if (InjectedSlowdown.EVERY > 0 && requests % InjectedSlowdown.EVERY == 0)
        {
            // Test only (InjectedSlowdown): the same data moved again between the same places; a backend error the
            // second time fails the request as the first time would.
            final int again = move(chain, sector, len, out);
            if (again != S_OK)
            {
                return again;
            }
        }
        if (out)
        {
            bytesWritten += len;
        }
        else
        {
            bytesRead += len;
        }
        return S_OK;
    }

    /** Moves a request's data between the chain and the backend; the range is checked. */
    private int move(final DescriptorChain chain, final long sector, final long len, final boolean out)
    {
        long offset = sector << SECTOR_SHIFT;
        // Walk the runs: OUT data starts after the header in the readable runs, IN data fills the writable runs up
        // to (not including) the status byte.
        long skip = out ? OUTHDR_SIZE : 0;
        long left = len;
        final int first = out ? 0 : chain.outRuns();
        final int end = out ? chain.outRuns() : chain.outRuns() + chain.inRuns();
        for (int r = first; r < end && left > 0; r++)
        {
            long runLen = chain.runLen(r);
            long gpa = chain.runGpa(r);
            if (skip >= runLen)
            {
                skip -= runLen;
                continue;
            }
            gpa += skip;
            runLen -= skip;
            skip = 0;
            final int n = (int)Math.min(runLen, left);
            final int status = out ? backend.write(io, gpa, n, offset) : backend.read(io, gpa, n, offset);
            if (status != S_OK)
            {
                return status;
            }
            offset += n;
            left -= n;
        }
        return S_OK;
    }

    private void putStatus(final DescriptorChain chain, final long at, final int status)
    {
        long skip = at;
        for (int r = chain.outRuns(), end = r + chain.inRuns(); r < end; r++)
        {
            if (skip < chain.runLen(r))
            {
                mem.putByte((int)(chain.runGpa(r) + skip), (byte)status);
                return;
            }
            skip -= chain.runLen(r);
        }
    }

    /** @return the device side of the queue. */
    public VhostVirtqueue queue()
    {
        return vq;
    }

    /** @return requests handled. */
    public long requests()
    {
        return requests;
    }

    /** @return requests answered with a status other than OK, or not answerable at all. */
    public long errors()
    {
        return errors;
    }

    /** @return requests answered UNSUPP. */
    public long unsupported()
    {
        return unsupported;
    }

    /** @return chains without a writable byte for the status. */
    public long noStatus()
    {
        return noStatus;
    }

    /** @return bytes read from the backend into the guest (IN). */
    public long bytesRead()
    {
        return bytesRead;
    }

    /** @return bytes written from the guest to the backend (OUT). */
    public long bytesWritten()
    {
        return bytesWritten;
    }
}
