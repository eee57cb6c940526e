package vqdma.ring.peer;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.SgList;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * The driver side of the shared-ring file protocol v1 over a {@link Virtqueue}: random chain shapes from a seed,
 * random readable bytes, writable bytes poisoned with {@code 0xA5}, and every byte of every completion verified
 * against the loopback semantics (CRC32C of the readable bytes, then the {@code (head + p) & 0xFF} pattern).
 * <p>
 * Buffers live in the data area of the file: one slot of {@code (maxReadable + maxWritable) * maxLen} bytes per
 * request in flight, and the queue's indirect tables behind them. At most {@code min(N, slots)} requests are in
 * flight. The loop adds as many requests as fit, publishes them with one store of {@code avail.idx}, decides on a
 * kick as the kernel does (counting it: nothing is sent across processes), then reaps every completion before adding
 * more.
 * <p>
 * The driver polls, so it is a virtqueue without a callback ({@code callbacks(false)}: {@code NO_INTERRUPT}, and
 * {@code used_event} never moves), as the C peer is. Per byte it does what the C peer does: random bytes eight at a
 * time, CRC32C with the CPU's instruction, and the check of the device's output eight bytes at a time.
 */
public final class LoopbackDriver
{
    private static final byte POISON = (byte)0xA5;

    /** One request in flight: its slot, shape, and what the device must write back. */
    private static final class Request
    {
        final long slotGpa;
        final long[] gpa;
        final int[] len;
        int readable;
        int writable;
        long writableBytes;
        long readableBytes;
        int crc;

        Request(final long slotGpa, final int maxBuffers)
        {
            this.slotGpa = slotGpa;
            this.gpa = new long[maxBuffers];
            this.len = new int[maxBuffers];
        }
    }

    private final int num;
    private final long requests;
    private final long warmup;
    private final long timeoutNs;
    private final int maxReadable;
    private final int maxWritable;
    private final int maxLen;
    private final SplittableRandom random;
    private final Virtqueue vq;
    private final UnsafeBuffer mem;
    private final ByteBuffer view;
    private final CRC32C crc = new CRC32C();
    private final SgList sg;
    private final Request[] free;
    private int freeTop;

    /**
     * @param memory      the mapped file (GPA = file offset), nothing allocated in it yet.
     * @param num         queue size.
     * @param features    negotiated features (INDIRECT_DESC, EVENT_IDX).
     * @param requests    requests to complete.
     * @param timeoutNs   longest wait without progress.
     * @param seed        seed of shapes and contents.
     * @param maxReadable most readable buffers per chain.
     * @param maxWritable most writable buffers per chain.
     * @param maxLen      longest buffer.
     */
    public LoopbackDriver(
        final GuestMemory memory, final int num, final long features, final long requests, final long timeoutNs,
        final long seed, final int maxReadable, final int maxWritable, final int maxLen)
    {
        this(memory, num, features, requests, timeoutNs, seed, maxReadable, maxWritable, maxLen, 0);
    }

    /**
     * @param memory      the mapped file (GPA = file offset), nothing allocated in it yet.
     * @param num         queue size.
     * @param features    negotiated features (INDIRECT_DESC, EVENT_IDX).
     * @param requests    requests to complete.
     * @param timeoutNs   longest wait without progress.
     * @param seed        seed of shapes and contents.
     * @param maxReadable most readable buffers per chain.
     * @param maxWritable most writable buffers per chain.
     * @param maxLen      longest buffer.
     * @param warmup      completions before the clock of the summary starts ({@code < requests}).
     */
    public LoopbackDriver(
        final GuestMemory memory, final int num, final long features, final long requests, final long timeoutNs,
        final long seed, final int maxReadable, final int maxWritable, final int maxLen, final long warmup)
    {
        if (warmup < 0 || warmup >= requests)
        {
            throw new IllegalArgumentException("warm-up " + warmup + " must be in 0.." + (requests - 1));
        }
        this.warmup = warmup;
        if (maxReadable < 0 || maxWritable < 0 || maxReadable + maxWritable < 1 || maxLen < 1)
        {
            throw new IllegalArgumentException(String.format(
                "max-readable %d, max-writable %d, max-len %d: need at least one buffer of at least one byte",
                maxReadable, maxWritable, maxLen));
        }
        this.num = num;
        this.requests = requests;
        this.timeoutNs = timeoutNs;
        this.maxReadable = maxReadable;
        this.maxWritable = maxWritable;
        this.maxLen = maxLen;
        this.random = new SplittableRandom(seed);
        this.mem = memory.buffer();
        this.view = memory.newByteBufferView();

        final long dataStart = SharedRingFile.dataStart(num);
        memory.allocate(dataStart, SharedRingFile.ALIGN); // the ring region: the bump allocator starts after it
        final int maxBuffers = Math.min(num, maxReadable + maxWritable);
        final boolean indirect = Vring.hasFeature(features, Vring.VIRTIO_RING_F_INDIRECT_DESC);
        final long slotBytes = ((long)maxBuffers * maxLen + 63) & ~63L;
        final long tableBytes = indirect && maxBuffers > 1 ? (long)maxBuffers * Vring.DESC_SIZE + 16 : 0;
        final long dataBytes = memory.size() - dataStart;
        final long slots = Math.min(num, dataBytes / (slotBytes + tableBytes + 64));
        if (slots < 1)
        {
            throw new IllegalArgumentException(String.format(
                "data area of %d bytes is too small: one request of up to %d buffers of %d bytes needs %d",
                dataBytes, maxBuffers, maxLen, slotBytes + tableBytes + 64));
        }
        final Virtqueue.Builder builder = Virtqueue.builder(memory, num).ringAt(0).features(features)
            .callbacks(false);
        if (indirect && maxBuffers > 1)
        {
            builder.indirectPool(maxBuffers, (int)slots);
        }
        this.vq = builder.build();
        this.sg = new SgList(maxBuffers);
        this.free = new Request[(int)slots];
        for (int i = 0; i < slots; i++)
        {
            free[i] = new Request(memory.allocate(slotBytes, 64), maxBuffers);
        }
        freeTop = (int)slots;
    }

    /**
     * Issues and verifies {@code requests} requests.
     *
     * @return what was done.
     * @throws PeerFailure on a protocol violation by the device, a data mismatch, or a timeout.
     */
    public PeerResult run()
    {
        long issued = 0;
        long completed = 0;
        long bytes = 0;
        Request pending = null;
        long start = System.nanoTime();
        boolean timing = warmup == 0;
        long lastProgress = start;
        int spins = 0;
        while (completed < requests)
        {
            int added = 0;
            while (issued < requests && (pending != null || freeTop > 0))
            {
                if (pending == null)
                {
                    // Generated once, as the C peer does: a request that does not fit waits, its list ready.
                    pending = prepare(free[--freeTop]);
                    sg(pending);
                }
                // Published once per batch by kickPrepare(), as the C peer publishes once per batch.
                final int err = vq.add(sg, pending, false);
                if (err == Virtqueue.ENOSPC)
                {
                    break;
                }
                if (err != 0)
                {
                    throw new PeerFailure(vq.isBroken() ? vq.brokenReason() : "add failed with " + err);
                }
                pending = null;
                issued++;
                added++;
            }
            if (added > 0)
            {
                vq.kickPrepare();
            }
            boolean progress = false;
            Object token;
            while ((token = vq.getBuf()) != null)
            {
                final Request request = (Request)token;
                bytes += request.readableBytes + verify(request, vq.usedId(), vq.usedLen());
                free[freeTop++] = request;
                completed++;
                progress = true;
            }
            if (vq.isBroken())
            {
                throw new PeerFailure(vq.brokenReason());
            }
            if (!timing && completed >= warmup)
            {
                start = System.nanoTime();
                timing = true;
            }
            if (progress || added > 0)
            {
                lastProgress = System.nanoTime();
                spins = 0;
            }
            else
            {
                Thread.onSpinWait();
                // The clock is read every 64 idle spins, as the C peer does.
                if ((++spins & 63) == 0 && System.nanoTime() - lastProgress > timeoutNs)
                {
                    throw new PeerFailure(String.format(
                        "timeout after %d s waiting for used.idx (completed %d of %d, %d in flight)",
                        timeoutNs / 1_000_000_000L, completed, requests, vq.inFlight()));
                }
            }
        }
        return new PeerResult("driver", completed, bytes, System.nanoTime() - start, vq.kicks(), 0);
    }

    private Request prepare(final Request request)
    {
        int r;
        int w;
        do
        {
            r = random.nextInt(maxReadable + 1);
            w = random.nextInt(maxWritable + 1);
        }
        while (r + w < 1 || r + w > num);
        request.readable = r;
        request.writable = w;
        request.readableBytes = 0;
        request.writableBytes = 0;
        long at = request.slotGpa;
        crc.reset();
        for (int i = 0; i < r + w; i++)
        {
            final int len = 1 + random.nextInt(maxLen);
            request.gpa[i] = at;
            request.len[i] = len;
            if (i < r)
            {
                fillRandom((int)at, len);
                view.clear().position((int)at).limit((int)at + len);
                crc.update(view);
                request.readableBytes += len;
            }
            else
            {
                mem.setMemory((int)at, len, POISON);
                request.writableBytes += len;
            }
            at += len;
        }
        request.crc = (int)crc.getValue();
        return request;
    }

    /** Random bytes, eight per random number. */
    private void fillRandom(final int at, final int len)
    {
        int b = 0;
        for (; b + 8 <= len; b += 8)
        {
            mem.putLong(at + b, random.nextLong());
        }
        if (b < len)
        {
            long v = random.nextLong();
            for (; b < len; b++, v >>>= 8)
            {
                mem.putByte(at + b, (byte)v);
            }
        }
    }

    private SgList sg(final Request request)
    {
        sg.clear();
        for (int i = 0; i < request.readable; i++)
        {
            sg.out(request.gpa[i], request.len[i]);
        }
        for (int i = request.readable; i < request.readable + request.writable; i++)
        {
            sg.in(request.gpa[i], request.len[i]);
        }
        return sg;
    }

    /**
     * Checks every byte of one completion, eight at a time against the expected sequence (as the C peer's
     * {@code memcmp}), and byte by byte only to name the first wrong byte. @return its used.len.
     */
    private long verify(final Request request, final int head, final int usedLen)
    {
        final long expected = request.writableBytes >= LoopbackPattern.CRC_BYTES ? request.writableBytes : 0;
        if (Integer.toUnsignedLong(usedLen) != expected)
        {
            throw new PeerFailure(String.format("used len %d of chain %d, expected %d (writable bytes %d)",
                Integer.toUnsignedLong(usedLen), head, expected, request.writableBytes));
        }
        long p = 0;
        for (int i = request.readable; i < request.readable + request.writable; i++)
        {
            final long gpa = request.gpa[i];
            final int len = request.len[i];
            int b = 0;
            if (expected == 0)
            {
                b = LoopbackPattern.poisonPrefix(mem, gpa, len, POISON);
                p += b;
            }
            else
            {
                for (; b < len && p < LoopbackPattern.CRC_BYTES; b++, p++)
                {
                    if (mem.getByte((int)gpa + b) != (byte)(request.crc >>> (8 * p)))
                    {
                        break;
                    }
                }
                if (p >= LoopbackPattern.CRC_BYTES)
                {
                    final int same = LoopbackPattern.matchingPrefix(mem, gpa + b, head, p, len - b);
                    b += same;
                    p += same;
                }
            }
            if (b == len)
            {
                continue;
            }
            // A wrong byte: find and name it.
            for (; b < len; b++, p++)
            {
                final byte want = expected == 0 ? POISON :
                    p < LoopbackPattern.CRC_BYTES ? (byte)(request.crc >>> (8 * p)) : LoopbackPattern.at(head, p);
                final byte got = mem.getByte((int)gpa + b);
                if (got != want)
                {
                    throw new PeerFailure(String.format(
                        "chain %d: writable byte %d (buffer %d, offset %d) is 0x%02x, expected 0x%02x%s",
                        head, p, i - request.readable, b, got & 0xFF, want & 0xFF,
                        p < LoopbackPattern.CRC_BYTES && expected != 0 ? " (CRC32C)" : ""));
                }
            }
        }
        return expected;
    }

    /** @return the driver-side queue (for tests). */
    public Virtqueue queue()
    {
        return vq;
    }
}
