package vqdma.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.SgList;
import vqdma.ring.SplitRing;
import vqdma.ring.Virtqueue;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static vqdma.ring.SplitRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The driver side of the split ring against a hostile device: a {@link Virtqueue} with requests in flight, mapped
 * through a real DMA profile behind a {@link LeakCheckingDma}, while the fuzzer plays the device by writing the used
 * ring raw: honest completions, used elements whose id is out of range or not a head or whose length exceeds the
 * chain, {@code used.idx} jumps, scribbles over the descriptor table (which the driver must never trust), and the
 * notification fields.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code add} returns 0, ENOSPC, ENOMEM or EIO as the class comment of {@link Virtqueue} defines them (ENOMEM
 *   only where a mapping can fail for resources, EIO only for a buffer larger than the mapping limit or a broken
 *   queue), and a failed add leaves nothing mapped and no descriptor taken.</li>
 *   <li>{@code getBuf} returns only tokens in flight, each once, with the head it was published under and a length
 *   within the chain's writable bytes; the queue breaks (with a non-empty reason) instead of accepting anything
 *   else, and while the device only completes honestly it never breaks.</li>
 *   <li>Accounting after every step: {@code numFree} + descriptors of requests in flight = queue size, the driver's
 *   in-flight count = the harness's, and live DMA mappings = those of requests in flight.</li>
 *   <li>After a reset ({@code detachUnusedBuf} until null), working or broken: every descriptor free, no mapping
 *   live ({@link LeakCheckingDma} also refuses any double or mismatched unmap on the way), the DMA ops' slots, IOVAs
 *   and PTEs back to the baseline ({@link DmaUsage}), and no guest memory written outside the ring, the indirect
 *   tables and the bounce pool ({@link MemoryGuard}).</li>
 * </ul>
 */
class VirtqueueFuzzTest
{
    private static final int DATA_BYTES = 320 * 1024;
    private static final byte[] DATA_PATTERN = new byte[DATA_BYTES];

    /** Guest memory of the largest queue an input builds: its ring and its indirect tables. */
    private static final long QUEUE_BYTES = largestQueueBytes();
    /** Per profile: the rig, its data area first; each input's queue is allocated after it. */
    static final FuzzProfiles.PerProfile<FuzzRig> RIGS = new FuzzProfiles.PerProfile<>(
        profile -> new FuzzRig(profile, DATA_BYTES + QUEUE_BYTES).data(DATA_PATTERN).seal());

    static
    {
        for (int i = 0; i < DATA_BYTES; i++)
        {
            DATA_PATTERN[i] = (byte)(i * 13 + (i >>> 8));
        }
    }

    private static long largestQueueBytes()
    {
        final GuestMemory scratch = GuestMemory.allocate(1 << 20, false);
        Virtqueue.builder(scratch, HostileDriver.MAX_NUM).features(feature(VIRTIO_F_VERSION_1) |
            feature(VIRTIO_RING_F_INDIRECT_DESC)).build();
        return scratch.allocated();
    }

    /** One request the harness put in flight. */
    static final class Request
    {
        final int id;
        final long writable;
        final int descs;
        final int maps;
        final int head;
        boolean completed;

        Request(final int id, final long writable, final int descs, final int maps, final int head)
        {
            this.id = id;
            this.writable = writable;
            this.descs = descs;
            this.maps = maps;
            this.head = head;
        }

        @Override
        public String toString()
        {
            return "request " + id + " (head " + head + ")";
        }
    }

    /** The fuzz target: one libFuzzer input, decoded as Jazzer's provider decodes it ({@link FuzzBytes}). */
    @FuzzTest(maxDuration = "60s")
    void driver(final byte[] input)
    {
        driver(new FuzzBytes(input));
    }

    /** One input. @param data its values. */
    void driver(final FuzzData data)
    {
        final DmaProfile profile = FuzzProfiles.pick(data);
        final int num = 1 << data.consumeInt(0, 5);
        final boolean indirect = data.consumeBoolean();
        final boolean eventIdx = data.consumeBoolean();
        final boolean callbacks = data.consumeBoolean();
        final long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM) |
            (indirect ? feature(VIRTIO_RING_F_INDIRECT_DESC) : 0) | (eventIdx ? feature(VIRTIO_RING_F_EVENT_IDX) : 0);
        final Object context = Invariant.lazy("%s num=%d indirect=%b event=%b callbacks=%b",
            profile.id(), num, indirect, eventIdx, callbacks);

        final FuzzRig rig = RIGS.get(profile).reset();
        final GuestMemory memory = rig.memory;
        final DmaOps ops = rig.ops;
        final LeakCheckingDma dma = new LeakCheckingDma(ops);
        final long dataGpa = rig.dataGpa();
        final long queueStart = memory.allocated();
        final Virtqueue vq = Virtqueue.builder(memory, num).features(features).dma(dma).callbacks(callbacks).build();
        final long queueEnd = memory.allocated();
        final UnsafeBuffer mem = memory.buffer();
        final long ringGpa = vq.ringGpa();
        final SplitRing raw = new SplitRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, descTableSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + availOffset(num, LEGACY_ALIGN), availSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + usedOffset(num, LEGACY_ALIGN), usedSize(num)));
        final DmaUsage baseline = DmaUsage.of(dma);
        final MemoryGuard guard = rig.guard;
        // The queue wrote its ring when it was built (the set-up of this input): it is also the driver's to write.
        guard.refresh(queueStart, queueEnd - queueStart);
        guard.watch();
        guard.allow(queueStart, queueEnd - queueStart);
        if (ops instanceof SwiotlbDma)
        {
            final SwiotlbDma s = (SwiotlbDma)ops;
            guard.allow(s.pool().start(), s.pool().end() - s.pool().start());
        }

        final Map<Object, Request> inFlight = new IdentityHashMap<>();
        final List<Request> order = new ArrayList<>();
        final SgList sg = new SgList(num);
        int usedIdx = 0;
        int nextId = 0;
        boolean hostile = false;
        final int steps = data.consumeInt(1, 96);
        for (int step = 0; step < steps; step++)
        {
            final Object at = Invariant.lazy("%s step %d", context, step);
            switch (data.consumeInt(0, 9))
            {
                case 0:
                case 1:
                case 2:
                {
                    final Request r = add(at, data, vq, dma, raw, sg, dataGpa, nextId++, inFlight);
                    if (r != null)
                    {
                        order.add(r);
                    }
                    break;
                }
                case 3:
                case 4:
                {
                    // An honest device: complete a request in flight that it has not completed yet.
                    final List<Request> open = new ArrayList<>();
                    for (final Request r : order)
                    {
                        if (!r.completed)
                        {
                            open.add(r);
                        }
                    }
                    if (!open.isEmpty())
                    {
                        final Request r = open.get(data.consumeInt(0, open.size() - 1));
                        r.completed = true;
                        raw.spUsedElem(usedIdx & (num - 1), r.head, (int)data.consumeLong(0, r.writable));
                        usedIdx = (usedIdx + 1) & 0xFFFF;
                        raw.soUsedIdx(usedIdx);
                    }
                    break;
                }
                case 5:
                {
                    // A used element with any id and length.
                    hostile = true;
                    final int id = data.consumeBoolean() ? data.consumeInt(0, num + 1) : data.consumeInt();
                    raw.spUsedElem(usedIdx & (num - 1), id, data.consumeInt());
                    usedIdx = (usedIdx + 1) & 0xFFFF;
                    raw.soUsedIdx(usedIdx);
                    break;
                }
                case 6:
                    hostile = true;
                    usedIdx = (usedIdx + data.consumeInt(1, 0xFFFF)) & 0xFFFF;
                    raw.soUsedIdx(usedIdx);
                    break;
                case 7:
                    getBufs(at, data.consumeInt(1, num + 1), vq, dma, inFlight, order);
                    break;
                case 8:
                    notifications(data, vq, raw);
                    break;
                default:
                    // The device scribbles over the descriptor table: the driver must never read it back.
                    raw.spDesc(data.consumeInt(0, num - 1), data.consumeLong(), data.consumeInt(),
                        data.consumeInt(0, 0xFFFF), data.consumeInt(0, 0xFFFF));
                    break;
            }
            checkAccounting(at, vq, dma, inFlight);
            Invariant.check(hostile || !vq.isBroken(), "%s: an honest device broke the queue: %s", at,
                vq.brokenReason());
        }

        // Reset: take back everything still in flight, whatever state the queue is in.
        for (Object token = vq.detachUnusedBuf(); token != null; token = vq.detachUnusedBuf())
        {
            final Request r = inFlight.remove(token);
            Invariant.check(r != null, "%s: detachUnusedBuf returned %s, which is not in flight", context, token);
            order.remove(r);
        }
        final Object afterReset = Invariant.lazy("%s after reset", context);
        checkAccounting(afterReset, vq, dma, inFlight);
        Invariant.check(inFlight.isEmpty() && vq.numFree() == num, "%s: after reset %d requests in flight, numFree " +
            "%d of %d", context, inFlight.size(), vq.numFree(), num);
        dma.checkNoLiveMappings(afterReset);
        DmaUsage.settle(dma);
        DmaUsage.of(dma).checkBackTo(baseline, afterReset);
        guard.check(context);
    }

    private static Request add(
        final Object at, final FuzzData data, final Virtqueue vq, final LeakCheckingDma dma,
        final SplitRing raw, final SgList sg, final long dataGpa, final int id, final Map<Object, Request> inFlight)
    {
        final int num = vq.num();
        int out = data.consumeInt(0, 3);
        int in = data.consumeInt(0, 3);
        if (out + in == 0)
        {
            in = 1;
        }
        while (out + in > num)
        {
            if (in > 0)
            {
                in--;
            }
            else
            {
                out--;
            }
        }
        sg.clear();
        long writable = 0;
        long largest = 0;
        for (int i = 0; i < out + in; i++)
        {
            final int len = data.consumeInt(0, 15) == 0 ? data.consumeInt(1, DATA_BYTES) : data.consumeInt(1, 4096);
            final long gpa = dataGpa + data.consumeInt(0, DATA_BYTES - len);
            largest = Math.max(largest, len);
            if (i < out)
            {
                sg.out(gpa, len);
            }
            else
            {
                sg.in(gpa, len);
                writable += len;
            }
        }
        final boolean wasBroken = vq.isBroken();
        final int freeBefore = vq.numFree();
        final int liveBefore = dma.liveMappings();
        final int availBefore = raw.loAvailIdx();
        final Object token = new Object();
        final int err = vq.add(sg, token);
        final int descs = freeBefore - vq.numFree();
        final int maps = dma.liveMappings() - liveBefore;
        if (wasBroken)
        {
            Invariant.check(err == Virtqueue.EIO, "%s: add on a broken queue returned %d", at, err);
        }
        if (err != 0)
        {
            Invariant.check(err == Virtqueue.ENOSPC || err == Virtqueue.ENOMEM || err == Virtqueue.EIO,
                "%s: add returned %d", at, err);
            Invariant.check(descs == 0 && maps == 0 && raw.loAvailIdx() == availBefore,
                "%s: failed add (%d) took %d descriptors, left %d mappings, moved avail.idx %d -> %d", at, err, descs,
                maps, availBefore, raw.loAvailIdx());
            final long max = dma.maxMappingSize();
            Invariant.check(err != Virtqueue.EIO || wasBroken || largest > max,
                "%s: EIO for buffers of at most %d bytes (mapping limit %d)", at, largest, max);
            Invariant.check(err != Virtqueue.ENOMEM || !(dma.inner() instanceof vqdma.dma.DirectDma),
                "%s: ENOMEM from dma-direct, whose mappings cannot run out", at);
            Invariant.check(err != Virtqueue.ENOSPC || freeBefore < out + in,
                "%s: ENOSPC with %d free descriptors for %d buffers", at, freeBefore, out + in);
            return null;
        }
        final int total = out + in;
        final boolean viaIndirect = descs == 1 && total > 1;
        Invariant.check(descs == total || viaIndirect, "%s: a request of %d buffers took %d descriptors", at, total,
            descs);
        Invariant.check(maps == total + (viaIndirect ? 1 : 0), "%s: a request of %d buffers (indirect %b) made %d " +
            "mappings", at, total, viaIndirect, maps);
        Invariant.check(raw.loAvailIdx() == ((availBefore + 1) & 0xFFFF), "%s: avail.idx %d -> %d for one request",
            at, availBefore, raw.loAvailIdx());
        final int head = raw.lpAvailRing(availBefore & (num - 1));
        Invariant.check(head >= 0 && head < num, "%s: published head %d", at, head);
        for (final Request other : inFlight.values())
        {
            Invariant.check(other.head != head, "%s: head %d published for %s is still in flight", at, head, other);
        }
        final Request r = new Request(id, writable, descs, maps, head);
        inFlight.put(token, r);
        return r;
    }

    private static void getBufs(
        final Object at, final int count, final Virtqueue vq, final LeakCheckingDma dma,
        final Map<Object, Request> inFlight, final List<Request> order)
    {
        for (int i = 0; i < count; i++)
        {
            final int freeBefore = vq.numFree();
            final int liveBefore = dma.liveMappings();
            final Object token = vq.getBuf();
            if (token == null)
            {
                Invariant.check(vq.numFree() == freeBefore && dma.liveMappings() == liveBefore,
                    "%s: getBuf returned nothing but freed %d descriptors and %d mappings", at,
                    vq.numFree() - freeBefore, liveBefore - dma.liveMappings());
                return;
            }
            final Request r = inFlight.remove(token);
            Invariant.check(r != null, "%s: getBuf returned a token that is not in flight (or twice)", at);
            order.remove(r);
            Invariant.check(vq.usedId() == r.head, "%s: %s came back as id %d", at, r, vq.usedId());
            Invariant.check(Integer.toUnsignedLong(vq.usedLen()) <= r.writable,
                "%s: %s came back with len %d > its %d writable bytes", at, r, Integer.toUnsignedLong(vq.usedLen()),
                r.writable);
            Invariant.check(vq.numFree() - freeBefore == r.descs && liveBefore - dma.liveMappings() == r.maps,
                "%s: %s freed %d descriptors (took %d) and %d mappings (made %d)", at, r, vq.numFree() - freeBefore,
                r.descs, liveBefore - dma.liveMappings(), r.maps);
        }
    }

    private static void notifications(final FuzzData data, final Virtqueue vq, final SplitRing raw)
    {
        switch (data.consumeInt(0, 7))
        {
            case 0:
                vq.kick();
                break;
            case 1:
                vq.disableCb();
                break;
            case 2:
                vq.enableCb();
                break;
            case 3:
                vq.enableCbDelayed();
                break;
            case 4:
                vq.poll(vq.enableCbPrepare());
                break;
            case 5:
                raw.spUsedFlags(data.consumeInt(0, 0xFFFF));
                break;
            case 6:
                raw.soAvailEvent(data.consumeInt(0, 0xFFFF));
                break;
            default:
                vq.moreUsed();
                break;
        }
    }

    private static void checkAccounting(
        final Object at, final Virtqueue vq, final LeakCheckingDma dma, final Map<Object, Request> inFlight)
    {
        int descs = 0;
        int maps = 0;
        for (final Request r : inFlight.values())
        {
            descs += r.descs;
            maps += r.maps;
        }
        Invariant.check(vq.inFlight() == inFlight.size(), "%s: the driver counts %d requests in flight, %d were " +
            "added and not returned", at, vq.inFlight(), inFlight.size());
        Invariant.check(vq.numFree() + descs == vq.num(), "%s: numFree %d + %d descriptors in flight != queue size %d",
            at, vq.numFree(), descs, vq.num());
        Invariant.check(dma.liveMappings() == maps, "%s: %d live mappings, requests in flight hold %d", at,
            dma.liveMappings(), maps);
        if (vq.isBroken())
        {
            Invariant.check(vq.brokenReason() != null && !vq.brokenReason().isEmpty(),
                "%s: broken without a reason", at);
        }
    }
}
