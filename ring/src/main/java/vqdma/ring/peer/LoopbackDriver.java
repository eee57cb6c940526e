package vqdma.ring.peer;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;
import vqdma.ring.RingLayout;
import vqdma.ring.SgList;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The driver side of the shared-ring file protocol v1 over a {@link Virtqueue}: random chain shapes from a seed,
 * random readable bytes, writable bytes poisoned with {@code 0xA5}, and every byte of every completion verified
 * against the loopback semantics (CRC32C of the readable bytes, then the {@code (head + p) & 0xFF} pattern). The
 * shapes, lengths and readable bytes come from {@link SplitMix64} in the C peer's order: the same seed makes the same
 * requests as the C driver.
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
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

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
    private final SplitMix64 random;
    private final Virtqueue vq;
    private final UnsafeBuffer mem;
    private final byte[] memBase;
    private final long memAddress;
    private final ByteBuffer view;
    private final CRC32C crc = new CRC32C();
    private final SgList sg;
    private final Request[] free;
    private int freeTop;
    private Request pending;
    private long issued;
    private long completed;
    private long bytes;
    private long batches;

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
        this.random = new SplitMix64(seed);
        this.mem = memory.buffer();
        this.memBase = mem.byteArray();
        this.memAddress = mem.addressOffset();
        this.view = memory.newByteBufferView();

        final long dataStart = SharedRingFile.dataStart(num, RingLayout.of(features));
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
        long start = System.nanoTime();
        boolean timing = warmup == 0;
        long lastProgress = start;
        int spins = 0;
        while (completed < requests)
        {
            final int added = submit();
            final int got = reap();
            if (!timing && completed >= warmup)
            {
                start = System.nanoTime();
                timing = true;
            }
            if (got > 0 || added > 0)
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
                        "timeout after %d s waiting for a used buffer (%s; completed %d of %d, %d in flight)",
                        timeoutNs / 1_000_000_000L, vq.describeIndices(), completed, requests, vq.inFlight()));
                }
            }
        }
        return new PeerResult("driver", completed, bytes, System.nanoTime() - start, vq.kicks(), 0, batches);
    }

    /**
     * Adds as many requests as fit, then publishes them and decides on a kick ({@code kickPrepare()}).
     *
     * @return requests added.
     */
    int submit()
    {
        int added = 0;
        while (issued < requests && (pending != null || freeTop > 0))
        {
            if (pending == null)
            {
                // Generated once, as the C peer does: a request that does not fit waits, its list ready.
                pending = prepare(free[--freeTop]);
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
        return added;
    }

    /**
     * Takes and verifies every completion the device has published.
     *
     * @return completions taken.
     */
    int reap()
    {
        int got = 0;
        Object token;
        while ((token = vq.getBuf()) != null)
        {
            final Request request = (Request)token;
            bytes += request.readableBytes + verify(request, vq.usedId(), vq.usedLen());
            free[freeTop++] = request;
            completed++;
            got++;
        }
        if (vq.isBroken())
        {
            throw new PeerFailure(vq.brokenReason());
        }
        if (got > 0)
        {
            batches++;
        }
        return got;
    }

    /** @return requests completed so far. */
    long completed()
    {
        return completed;
    }

    /** @return data bytes moved so far. */
    long bytes()
    {
        return bytes;
    }

    /** @return the number of requests this driver issues in all. */
    long requests()
    {
        return requests;
    }

    /** @return completions before the clock starts. */
    long warmup()
    {
        return warmup;
    }

    /**
     * Draws a request's shape, fills its buffers and its scatter-gather list ({@code sg}, ready for the add). The
     * buffers lie back to back in the request's slot, readable ones first, so the readable bytes are one span
     * (checksummed in one go; filled buffer by buffer, as the C peer fills them), then the writable ones (poisoned in
     * one go).
     */
    private Request prepare(final Request request)
    {
        // The C peer's drv_generate(): the same draws in the same order, so that the same seed makes the same
        // requests in both languages.
        final int r = random.range(maxWritable == 0 ? 1 : 0, Math.min(maxReadable, num));
        final int w = random.range(r == 0 ? 1 : 0, Math.min(maxWritable, num - r));
        request.readable = r;
        request.writable = w;
        long at = request.slotGpa;
        long readable = 0;
        long writable = 0;
        final SgList sg = this.sg.clear();
        for (int i = 0; i < r + w; i++)
        {
            final int len = random.range(1, maxLen);
            request.gpa[i] = at;
            request.len[i] = len;
            if (i < r)
            {
                sg.out(at, len);
                readable += len;
            }
            else
            {
                sg.in(at, len);
                writable += len;
            }
            at += len;
        }
        request.readableBytes = readable;
        request.writableBytes = writable;
        final int start = (int)request.slotGpa;
        // Then the readable bytes, buffer by buffer (a buffer's last random number is not carried into the next),
        // as the C peer fills each buffer when it adds the chain: the draws stay in step with it.
        for (int i = 0; i < r; i++)
        {
            fillRandom((int)request.gpa[i], request.len[i]);
        }
        crc.reset();
        if (readable > 0)
        {
            view.clear().position(start).limit(start + (int)readable);
            crc.update(view);
        }
        request.crc = (int)crc.getValue();
        LoopbackPattern.fill(memBase, memAddress + start + readable, (int)writable, POISON);
        return request;
    }

    /** Random bytes, eight per random number. */
    private void fillRandom(final int at, final int len)
    {
        int b = 0;
        for (; b + 8 <= len; b += 8)
        {
            LoopbackPattern.putLong(memBase, memAddress + at + b, random.next());
        }
        if (b < len)
        {
            LoopbackPattern.putLowBytes(memBase, memAddress + at + b, random.next(), len - b);
        }
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
        // The writable buffers lie back to back after the readable ones: check the span at once (the CRC as one
        // little-endian int, then the pattern), and walk the buffers only to name a wrong byte.
        final long span = memAddress + request.slotGpa + request.readableBytes;
        final int writable = (int)request.writableBytes;
        if (expected == 0 ? LoopbackPattern.poisonPrefix(memBase, span, writable, POISON) == writable :
            UnsafeApi.getInt(memBase, span) == (NATIVE_LE ? request.crc : Integer.reverseBytes(request.crc)) &&
            LoopbackPattern.matchingPrefix(memBase, span + LoopbackPattern.CRC_BYTES, head, LoopbackPattern.CRC_BYTES,
                writable - LoopbackPattern.CRC_BYTES) == writable - LoopbackPattern.CRC_BYTES)
        {
            return expected;
        }
        long p = 0;
        for (int i = request.readable; i < request.readable + request.writable; i++)
        {
            final long gpa = request.gpa[i];
            final int len = request.len[i];
            int b = 0;
            if (expected == 0)
            {
                b = LoopbackPattern.poisonPrefix(memBase, memAddress + gpa, len, POISON);
                p += b;
            }
            else
            {
                for (; b < len && p < LoopbackPattern.CRC_BYTES; b++, p++)
                {
                    if (LoopbackPattern.getByte(memBase, memAddress + gpa + b) != (byte)(request.crc >>> (8 * p)))
                    {
                        break;
                    }
                }
                if (p >= LoopbackPattern.CRC_BYTES)
                {
                    final int same = LoopbackPattern.matchingPrefix(memBase, memAddress + gpa + b, head, p, len - b);
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
