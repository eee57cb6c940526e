package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.SgList;
import vqdma.ring.Virtqueue;

import java.nio.ByteOrder;

import static vqdma.blk.VirtioBlk.*;

/**
 * The guest's virtio-blk driver for one request queue ({@code drivers/block/virtio_blk.c} with the block layer's
 * part folded in): bios are split into requests within the {@link QueueLimits}, each request becomes
 * {@code virtio_blk_outhdr} + data segments + status byte on the {@link Virtqueue} ({@code virtio_queue_rq()}), and
 * completions are reaped from the used ring ({@code virtblk_done()}).
 *
 * <h2>The two kinds of mapping failure</h2>
 * {@code virtqueue_add} failing with {@link Virtqueue#EIO} means a segment can never be mapped (it is larger than
 * the DMA layer's max mapping size: the 2019 bug): the request completes with IOERR at once, everything already
 * mapped for it was unmapped by the ring, and the queue goes on. {@link Virtqueue#ENOMEM} (bounce pool full) and
 * {@link Virtqueue#ENOSPC} (ring full) are {@code BLK_STS_RESOURCE}: the request stays first in line and is
 * dispatched again after the next completion, as blk-mq re-runs a stopped hardware queue.
 *
 * <h2>Threads</h2>
 * One driver thread per queue (blk-mq's per-CPU hardware context); the device serves the queue elsewhere. The
 * request pool ({@code queue_depth} requests, each with its header and status in guest memory) is allocated at
 * construction; submitting and reaping allocate nothing.
 */
public final class BlkDriver
{
    /** Preset status: a device that never writes one leaves this, which reads as IOERR. */
    static final byte STATUS_UNSET = (byte)0xFF;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** A request in flight (blk-mq request + {@code struct virtblk_req}). */
    private static final class Request
    {
        final long hdrGpa;
        final long statusGpa;
        Bio bio;
        long bytes;

        Request(final long hdrGpa, final long statusGpa)
        {
            this.hdrGpa = hdrGpa;
            this.statusGpa = statusGpa;
        }
    }

    private final Virtqueue vq;
    private final UnsafeBuffer mem;
    private final QueueLimits limits;
    private final SgList sg;
    private final Request[] free;
    private int freeTop;
    private final Bio[] pending;
    private int pendingHead;
    private int pendingCount;
    private int inFlight;

    private long requestsCompleted;
    private long bytesCompleted;
    private long ioErrors;
    private long mappingErrors;
    private long resourceRequeues;
    private long biosCompleted;
    private long resetReturned;
    private long resetFailedBios;
    private EndIo endIo;

    /**
     * What the driver calls when a bio completes: the bio's {@code bi_end_io}, for callers that keep many bios in
     * flight and must not scan them all to find the finished ones.
     */
    @FunctionalInterface
    public interface EndIo
    {
        /**
         * Called on the driver thread, from {@link BlkDriver#submit} (a bio that failed to map) or
         * {@link BlkDriver#poll()}, once per completion, after {@link Bio#isDone()} became true. It must not call
         * back into the driver ({@code submit} or {@code poll}): note the bio and resubmit it after the call returns.
         *
         * @param bio the completed bio; its {@link Bio#status()} is final.
         */
        void endIo(Bio bio);
    }

    /**
     * @param vq     the queue's virtqueue.
     * @param memory guest memory (for the request headers and status bytes).
     * @param limits the queue limits ({@link QueueLimits#probe}).
     * @param maxBios bios that may wait for dispatch at once (the submit queue's capacity).
     */
    public BlkDriver(final Virtqueue vq, final GuestMemory memory, final QueueLimits limits, final int maxBios)
    {
        this.vq = vq;
        this.mem = memory.buffer();
        this.limits = limits;
        this.sg = new SgList(limits.maxSegments() + 2);
        final int depth = limits.queueDepth();
        this.free = new Request[depth];
        for (int i = 0; i < depth; i++)
        {
            final long gpa = memory.allocate(64, 64); // out_hdr and status share a cache line, as in virtblk_req
            free[i] = new Request(gpa, gpa + 32);
        }
        this.freeTop = depth;
        this.pending = new Bio[maxBios];
    }

    /**
     * Sets the completion callback (none by default: callers look at {@link Bio#isDone()}).
     *
     * @param endIo called for every bio that completes, or null for none.
     * @return this driver.
     */
    public BlkDriver endIo(final EndIo endIo)
    {
        this.endIo = endIo;
        return this;
    }

    /** @return the limits this queue was set up with. */
    public QueueLimits limits()
    {
        return limits;
    }

    /** @return the virtqueue. */
    public Virtqueue virtqueue()
    {
        return vq;
    }

    /**
     * Queues a bio and dispatches what fits. The bio completes later, in {@link #poll()}; or at once if it fails
     * to map (then {@link Bio#isDone()} is already true).
     *
     * @param bio the bio, not in flight.
     * @throws IllegalStateException if the submit queue is full ({@code maxBios} bios waiting).
     * @throws IllegalArgumentException if the bio is malformed for its type.
     */
    public void submit(final Bio bio)
    {
        checkBio(bio);
        if (pendingCount == pending.length)
        {
            throw new IllegalStateException("submit queue full: " + pendingCount + " bios waiting for dispatch");
        }
        bio.submitted = true;
        bio.done = false;
        bio.status = S_OK;
        bio.nextPage = 0;
        bio.nextByte = 0;
        bio.partsInFlight = 0;
        pending[(pendingHead + pendingCount++) % pending.length] = bio;
        dispatch();
    }

    private static void checkBio(final Bio bio)
    {
        if (bio.submitted && !bio.isDone())
        {
            throw new IllegalStateException("bio submitted twice");
        }
        final int type = bio.type();
        if ((type == T_IN || type == T_OUT) && (bio.pages() == 0 || (bio.bytes() & (SECTOR_SIZE - 1)) != 0))
        {
            throw new IllegalArgumentException(typeName(type) + " bio of " + bio.bytes() + " bytes in " +
                bio.pages() + " pages: needs at least one page and a multiple of 512 bytes");
        }
        if (type == T_GET_ID && bio.pages() != 1)
        {
            throw new IllegalArgumentException("GET_ID bio needs exactly one buffer, has " + bio.pages());
        }
    }

    /** Dispatches waiting bios while requests and ring space last ({@code blk_mq_run_hw_queue}). */
    private void dispatch()
    {
        boolean added = false;
        while (pendingCount > 0 && freeTop > 0)
        {
            final Bio bio = pending[pendingHead];
            final Request request = free[--freeTop];
            final int startPage = bio.nextPage;
            final long startByte = bio.nextByte;
            final long bytes = build(bio, request);
            bio.nextByte += bytes;
            final int err = vq.add(sg, request);
            if (err == 0)
            {
                request.bio = bio;
                request.bytes = bytes;
                bio.partsInFlight++;
                inFlight++;
                added = true;
            }
            else
            {
                free[freeTop++] = request;
                if (err == Virtqueue.ENOSPC || err == Virtqueue.ENOMEM)
                {
                    // BLK_STS_RESOURCE: keep it first in line, retry after a completion frees something.
                    bio.nextPage = startPage;
                    bio.nextByte = startByte;
                    resourceRequeues++;
                    break;
                }
                // -EIO: the request can never be mapped (or the queue is broken). It fails now; the ring has
                // unmapped whatever it had mapped for it.
                mappingErrors++;
                ioErrors++;
                if (bio.status == S_OK)
                {
                    bio.status = S_IOERR;
                }
            }
            if (bio.nextPage >= bio.pages())
            {
                pending[pendingHead] = null;
                pendingHead = (pendingHead + 1) % pending.length;
                pendingCount--;
                maybeComplete(bio);
            }
        }
        if (added)
        {
            vq.kick();
        }
    }

    /** Fills {@link #sg} for the next request of {@code bio}. @return data bytes in it. */
    private long build(final Bio bio, final Request request)
    {
        final int type = bio.type();
        final long sector = bio.sector() + (bio.nextByte >> SECTOR_SHIFT);
        mem.putInt((int)request.hdrGpa + OUTHDR_TYPE_OFFSET, type, LE);
        mem.putInt((int)request.hdrGpa + OUTHDR_IOPRIO_OFFSET, 0, LE);
        mem.putLong((int)request.hdrGpa + OUTHDR_SECTOR_OFFSET, type == T_IN || type == T_OUT ? sector : 0, LE);
        mem.putByte((int)request.statusGpa, STATUS_UNSET);
        sg.clear().out(request.hdrGpa, OUTHDR_SIZE);
        long bytes = 0;
        switch (type)
        {
            case T_OUT:
                bytes = SegmentMapper.mapNext(bio, limits, sg, true);
                break;
            case T_IN:
                bytes = SegmentMapper.mapNext(bio, limits, sg, false);
                break;
            case T_GET_ID:
                sg.in(bio.pageGpa(0), bio.pageLen(0));
                bio.nextPage = 1;
                bytes = bio.pageLen(0);
                break;
            default:
                bio.nextPage = bio.pages(); // FLUSH and anything else: no data
                break;
        }
        sg.in(request.statusGpa, 1);
        return bytes;
    }

    private void maybeComplete(final Bio bio)
    {
        if (bio.partsInFlight == 0 && bio.nextPage >= bio.pages() && !bio.done &&
            !isPending(bio))
        {
            bio.done = true;
            biosCompleted++;
            if (endIo != null)
            {
                endIo.endIo(bio);
            }
        }
    }

    private boolean isPending(final Bio bio)
    {
        return pendingCount > 0 && pending[pendingHead] == bio;
    }

    /**
     * Reaps completions ({@code virtblk_done}) and dispatches what was waiting for room.
     *
     * @return requests completed by this call.
     */
    public int poll()
    {
        final int completed = reap();
        if (completed > 0 || pendingCount > 0)
        {
            dispatch();
        }
        return completed;
    }

    /** Takes every completed request off the used ring. @return how many. */
    private int reap()
    {
        int completed = 0;
        Object token;
        while ((token = vq.getBuf()) != null)
        {
            final Request request = (Request)token;
            final Bio bio = request.bio;
            request.bio = null;
            final int status = mem.getByte((int)request.statusGpa) & 0xFF;
            free[freeTop++] = request;
            inFlight--;
            completed++;
            requestsCompleted++;
            if (status != S_OK)
            {
                ioErrors++;
                if (bio.status == S_OK)
                {
                    bio.status = status == S_UNSUPP ? S_UNSUPP : S_IOERR;
                }
            }
            else
            {
                bytesCompleted += request.bytes;
            }
            bio.partsInFlight--;
            maybeComplete(bio);
        }
        return completed;
    }

    /**
     * The reset path, once the device has stopped (it will never complete another request): what
     * {@code virtblk_remove()}/{@code virtblk_freeze()} get after {@code virtio_reset_device()}. Every request the
     * device completed is reaped as usual; every request it never completed is taken back from the ring
     * ({@code virtqueue_detach_unused_buf()}, its buffers unmapped) and fails its bio with IOERR; every bio still
     * waiting for dispatch fails with IOERR. Afterwards every bio submitted is done, nothing is in flight and nothing
     * is left mapped for a request. Nothing is dispatched.
     *
     * @return requests taken back unserved.
     */
    public int reset()
    {
        if (!vq.isBroken())
        {
            reap();
        }
        int returned = 0;
        Object token;
        while ((token = vq.detachUnusedBuf()) != null)
        {
            final Request request = (Request)token;
            final Bio bio = request.bio;
            request.bio = null;
            free[freeTop++] = request;
            inFlight--;
            returned++;
            ioErrors++;
            bio.status = bio.status == S_OK ? S_IOERR : bio.status;
            bio.partsInFlight--;
            maybeComplete(bio);
        }
        resetReturned += returned;
        while (pendingCount > 0)
        {
            final Bio bio = pending[pendingHead];
            pending[pendingHead] = null;
            pendingHead = (pendingHead + 1) % pending.length;
            pendingCount--;
            bio.nextPage = bio.pages();
            bio.status = bio.status == S_OK ? S_IOERR : bio.status;
            resetFailedBios++;
            maybeComplete(bio);
        }
        return returned;
    }

    /** @return requests taken back unserved by {@link #reset()}. */
    public long resetReturned()
    {
        return resetReturned;
    }

    /** @return bios failed by {@link #reset()} before (all of them) reached the ring. */
    public long resetFailedBios()
    {
        return resetFailedBios;
    }

    /** @return requests in flight on the ring. */
    public int inFlight()
    {
        return inFlight;
    }

    /** @return bios waiting for dispatch (requeued for resources or not yet started). */
    public int pendingBios()
    {
        return pendingCount;
    }

    /** @return data bytes of the requests completed with OK. */
    public long bytesCompleted()
    {
        return bytesCompleted;
    }

    /** @return requests completed by the device. */
    public long requestsCompleted()
    {
        return requestsCompleted;
    }

    /** @return bios completed (any status). */
    public long biosCompleted()
    {
        return biosCompleted;
    }

    /** @return requests that ended with IOERR or UNSUPP (device status or mapping failure). */
    public long ioErrors()
    {
        return ioErrors;
    }

    /** @return requests failed at dispatch because a segment could never be mapped. */
    public long mappingErrors()
    {
        return mappingErrors;
    }

    /** @return times a request was requeued because the ring or the DMA layer was out of resources. */
    public long resourceRequeues()
    {
        return resourceRequeues;
    }
}
