package vqdma.ring.peer;

import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DirectDma;
import vqdma.dma.GuestMemory;
import vqdma.ring.DescriptorChain;
import vqdma.ring.RingLayout;
import vqdma.ring.VhostVirtqueue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * The device side of the shared-ring file protocol v1: a loopback device over a {@link VhostVirtqueue}. For each
 * chain it computes the CRC32C of all device-readable bytes, writes it little-endian into the first four writable
 * bytes and the pattern {@code (head + p) & 0xFF} after them (the head of a split chain, the buffer id of a packed one), and returns {@code used.len} = writable bytes (0 if
 * fewer than four). Every chain is walked and checked by the vhost-style device; any violation ends the run with
 * the device's specific message.
 * <p>
 * Notifications are polled, not sent; the device does vhost's dance anyway (disable notify while busy; enable and
 * re-check when it runs dry) so that the driver's kick decisions are those of a real device, and it counts the
 * interrupts it would raise. With {@code reorder > 1} it collects up to that many chains and completes them in a
 * pseudo-random order, publishing {@code used.idx} after each: drivers must not assume FIFO. With a used batch
 * {@code U > 1} it publishes {@code used.idx} once per {@code U} completions, or when no chain is available
 * ({@code vhost_add_used_n()} batching), as the C peer does with {@code --used-batch}.
 */
public final class LoopbackDevice
{
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final GuestMemory memory;
    private final int num;
    private final long requests;
    private final long warmup;
    private final long timeoutNs;
    private final int reorder;
    private final int usedBatch;
    private int unpublished;
    private final SplittableRandom random;
    private final VhostVirtqueue vq;
    private final DescriptorChain chain;
    private final UnsafeBuffer mem;
    private final byte[] memBase;
    private final long memAddress;
    private final ByteBuffer view;
    private final CRC32C crc = new CRC32C();
    private final int[] heldHead;
    private final int[] heldLen;
    private long completed;
    private long bytes;
    private long batches;
    private boolean notifyEnabled = true;

    /**
     * @param memory    the mapped file (GPA = file offset).
     * @param num       queue size.
     * @param features  negotiated features (INDIRECT_DESC, EVENT_IDX).
     * @param requests  chains to complete before stopping.
     * @param timeoutNs longest wait without progress.
     * @param reorder   completion window (1 = in order).
     * @param seed      seed of the completion order.
     */
    public LoopbackDevice(
        final GuestMemory memory, final int num, final long features, final long requests, final long timeoutNs,
        final int reorder, final long seed)
    {
        this(memory, num, features, requests, timeoutNs, reorder, seed, 0);
    }

    /**
     * @param memory    the mapped file (GPA = file offset).
     * @param num       queue size.
     * @param features  negotiated features (INDIRECT_DESC, EVENT_IDX).
     * @param requests  chains to complete before stopping.
     * @param timeoutNs longest wait without progress.
     * @param reorder   completion window (1 = in order).
     * @param seed      seed of the completion order.
     * @param warmup    completions before the clock of the summary starts ({@code < requests}).
     */
    public LoopbackDevice(
        final GuestMemory memory, final int num, final long features, final long requests, final long timeoutNs,
        final int reorder, final long seed, final long warmup)
    {
        this(memory, num, features, requests, timeoutNs, reorder, seed, warmup, 1);
    }

    /**
     * @param memory    the mapped file (GPA = file offset).
     * @param num       queue size.
     * @param features  negotiated features (INDIRECT_DESC, EVENT_IDX).
     * @param requests  chains to complete before stopping.
     * @param timeoutNs longest wait without progress.
     * @param reorder   completion window (1 = in order).
     * @param seed      seed of the completion order.
     * @param warmup    completions before the clock of the summary starts ({@code < requests}).
     * @param usedBatch completions per publish of {@code used.idx} (1 = every completion at once).
     */
    public LoopbackDevice(
        final GuestMemory memory, final int num, final long features, final long requests, final long timeoutNs,
        final int reorder, final long seed, final long warmup, final int usedBatch)
    {
        if (usedBatch < 1)
        {
            throw new IllegalArgumentException("used batch " + usedBatch + " must be >= 1");
        }
        this.usedBatch = usedBatch;
        if (reorder < 1 || reorder > num)
        {
            throw new IllegalArgumentException("reorder window " + reorder + " must be 1.." + num);
        }
        if (warmup < 0 || warmup >= requests)
        {
            throw new IllegalArgumentException("warm-up " + warmup + " must be in 0.." + (requests - 1));
        }
        this.warmup = warmup;
        this.memory = memory;
        this.num = num;
        this.requests = requests;
        this.timeoutNs = timeoutNs;
        this.reorder = reorder;
        this.random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        final RingLayout layout = RingLayout.of(features);
        this.vq = VhostVirtqueue.builder(new DirectDma.View(memory, 0), num, features, 0,
            SharedRingFile.driverArea(num, layout), SharedRingFile.deviceArea(num, layout)).build();
        this.chain = vq.newChain();
        this.mem = memory.buffer();
        this.memBase = mem.byteArray();
        this.memAddress = mem.addressOffset();
        this.view = memory.newByteBufferView();
        this.heldHead = new int[reorder];
        this.heldLen = new int[reorder];
    }

    /**
     * Serves chains until {@code requests} were completed.
     *
     * @return what was done.
     * @throws PeerFailure on a protocol violation by the driver or a timeout.
     */
    public PeerResult run()
    {
        long start = System.nanoTime();
        boolean timing = warmup == 0;
        long lastProgress = start;
        int spins = 0;
        while (completed < requests)
        {
            if (step() == 0)
            {
                Thread.onSpinWait();
                // The clock is read every 64 idle spins, as the C peer does.
                if ((++spins & 63) == 0 && System.nanoTime() - lastProgress > timeoutNs)
                {
                    throw new PeerFailure(String.format(
                        "timeout after %d s waiting for an available buffer (%s ring, next avail 0x%x, completed %d " +
                            "of %d)", timeoutNs / 1_000_000_000L, vq.layout().id(), vq.lastAvailIdx(), completed,
                        requests));
                }
                continue;
            }
            if (!timing && completed >= warmup)
            {
                start = System.nanoTime();
                timing = true;
            }
            lastProgress = System.nanoTime();
            spins = 0;
        }
        publish();
        return new PeerResult("device", completed, bytes, System.nanoTime() - start, 0, vq.interrupts(), batches);
    }

    /**
     * One pass, as the C peer's: takes the chains available now (up to the completion window), serves them and
     * completes them (in a pseudo-random order); when there are none, does vhost's {@code enable_notify} once (the
     * caller goes round, so a buffer the driver slipped in meanwhile is taken on the next pass, not slept on).
     *
     * @return chains completed (0: none were available).
     */
    int step()
    {
        int held = 0;
        while (held < reorder && completed + held < requests)
        {
            final int head = vq.pop(chain);
            if (head == VhostVirtqueue.BROKEN)
            {
                throw new PeerFailure(vq.brokenReason());
            }
            if (head == VhostVirtqueue.EMPTY)
            {
                break;
            }
            if (notifyEnabled)
            {
                // vhost_disable_notify(): busy, no kicks wanted.
                vq.disableNotify();
                notifyEnabled = false;
            }
            heldHead[held] = head;
            heldLen[held] = serve();
            bytes += chain.readableBytes() + heldLen[held];
            held++;
        }
        if (held > 0)
        {
            completed += completeHeld(held);
            batches++;
            return held;
        }
        // Ran dry: what was completed goes to the driver now.
        publish();
        if (!notifyEnabled && completed < requests)
        {
            // vhost_enable_notify(): ran dry, ask for kicks again and look again (the next pass pops what slipped in).
            notifyEnabled = true;
            vq.enableNotify();
        }
        return 0;
    }

    /** @return chains completed so far. */
    long completed()
    {
        return completed;
    }

    private int completeHeld(final int held)
    {
        for (int i = held - 1; i > 0; i--)
        {
            final int j = random.nextInt(i + 1);
            final int h = heldHead[i];
            final int l = heldLen[i];
            heldHead[i] = heldHead[j];
            heldLen[i] = heldLen[j];
            heldHead[j] = h;
            heldLen[j] = l;
        }
        for (int i = 0; i < held; i++)
        {
            vq.addUsed(heldHead[i], heldLen[i]);
            if (++unpublished >= usedBatch)
            {
                publish();
            }
        }
        return held;
    }

    /** Publishes the used elements added since the last publish, and decides on the interrupt (counted). */
    private void publish()
    {
        if (unpublished > 0)
        {
            unpublished = 0;
            vq.flushUsed();
            vq.needInterrupt();
        }
    }

    /** Computes and writes the loopback output of the current chain. @return used.len. */
    private int serve()
    {
        crc.reset();
        // Runs that follow each other in memory are checksummed in one call (the driver often lays them out so).
        long spanStart = 0;
        long spanEnd = 0;
        for (int r = 0; r < chain.outRuns(); r++)
        {
            final long gpa = chain.runGpa(r);
            if (gpa != spanEnd)
            {
                crcSpan(spanStart, spanEnd);
                spanStart = gpa;
            }
            spanEnd = gpa + chain.runLen(r);
        }
        crcSpan(spanStart, spanEnd);
        final long writable = chain.writableBytes();
        if (writable < LoopbackPattern.CRC_BYTES)
        {
            return 0;
        }
        final int value = (int)crc.getValue();
        final int head = chain.head();
        // The CRC (one little-endian int when the first writable run holds it), then the pattern, which runs on from
        // run to run: runs that follow each other in memory get it in one write.
        long p = 0;
        long patStart = -1;
        long patEnd = -1;
        long patP = 0;
        for (int r = chain.outRuns(), end = r + chain.inRuns(); r < end; r++)
        {
            final long gpa = chain.runGpa(r);
            final long len = chain.runLen(r);
            long i = 0;
            if (p == 0 && len >= LoopbackPattern.CRC_BYTES)
            {
                UnsafeApi.putInt(memBase, memAddress + gpa, NATIVE_LE ? value : Integer.reverseBytes(value));
                i = LoopbackPattern.CRC_BYTES;
                p = LoopbackPattern.CRC_BYTES;
            }
            for (; i < len && p < LoopbackPattern.CRC_BYTES; i++, p++)
            {
                LoopbackPattern.putByte(memBase, memAddress + gpa + i, (byte)(value >>> (8 * p)));
            }
            if (i < len)
            {
                if (gpa + i != patEnd)
                {
                    if (patStart >= 0)
                    {
                        LoopbackPattern.write(memBase, memAddress + patStart, head, patP, patEnd - patStart);
                    }
                    patStart = gpa + i;
                    patP = p;
                }
                patEnd = gpa + len;
                p += len - i;
            }
        }
        if (patStart >= 0)
        {
            LoopbackPattern.write(memBase, memAddress + patStart, head, patP, patEnd - patStart);
        }
        return (int)writable;
    }

    private void crcSpan(final long start, final long end)
    {
        if (end > start)
        {
            view.clear().position((int)start).limit((int)end);
            crc.update(view);
        }
    }

    /** @return the device-side queue (for tests). */
    public VhostVirtqueue queue()
    {
        return vq;
    }
}
