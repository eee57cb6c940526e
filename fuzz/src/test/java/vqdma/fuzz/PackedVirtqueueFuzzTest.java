package vqdma.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.PackedRing;
import vqdma.ring.SgList;
import vqdma.ring.Virtqueue;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The driver side of the packed ring against a hostile device, with the invariants of {@link VirtqueueFuzzTest}: a
 * {@link PackedVirtqueue} of any size 1..40 with requests in flight, mapped through a real DMA profile behind a
 * {@link LeakCheckingDma}, while the fuzzer plays the device by writing used descriptors raw: honest completions in
 * any order (each at the device's used position, which moves by the request's descriptor count, lap after lap),
 * used descriptors whose id is out of range or not in flight or whose length exceeds the chain, flags that are
 * neither available nor used (USED without AVAIL, the previous lap), scribbles over any descriptor, and the device
 * event suppression structure.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code add} returns 0, ENOSPC, ENOMEM or EIO as {@link Virtqueue} defines them, and a failed add leaves
 *   nothing mapped, no descriptor taken and nothing made available.</li>
 *   <li>A successful add makes its head available in the driver's lap at the driver's position, under a buffer id
 *   below the queue size that no request in flight has.</li>
 *   <li>{@code getBuf} returns only tokens in flight, each once, with their buffer id and a length within their
 *   writable bytes; the queue breaks (with a non-empty reason) instead of accepting anything else, and while the
 *   device only completes honestly it never breaks.</li>
 *   <li>Accounting after every step: {@code numFree} + descriptors of requests in flight = queue size, in-flight
 *   counts agree, live DMA mappings = those of requests in flight.</li>
 *   <li>After a reset ({@code detachUnusedBuf} until null): every descriptor free, no mapping live, the DMA ops back
 *   to the baseline ({@link DmaUsage}), no guest memory written outside the ring, the indirect tables and the
 *   bounce pool ({@link MemoryGuard}).</li>
 * </ul>
 */
class PackedVirtqueueFuzzTest
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
            DATA_PATTERN[i] = (byte)(i * 17 + (i >>> 8));
        }
    }

    private static long largestQueueBytes()
    {
        final GuestMemory scratch = GuestMemory.allocate(1 << 20, false);
        Virtqueue.builder(scratch, HostileDriver.MAX_PACKED_NUM).features(feature(VIRTIO_F_VERSION_1) |
            feature(VIRTIO_F_RING_PACKED) | feature(VIRTIO_RING_F_INDIRECT_DESC)).build();
        return scratch.allocated();
    }

    /** One request the harness put in flight. */
    static final class Request
    {
        final int seq;
        final long writable;
        final int descs;
        final int maps;
        final int id;
        boolean completed;

        Request(final int seq, final long writable, final int descs, final int maps, final int id)
        {
            this.seq = seq;
            this.writable = writable;
            this.descs = descs;
            this.maps = maps;
            this.id = id;
        }

        @Override
        public String toString()
        {
            return "request " + seq + " (buffer id " + id + ")";
        }
    }

    /** The honest device's used position and wrap counter. */
    private static final class Device
    {
        int pos;
        int wrap = 1;

        void advance(final int descs, final int num)
        {
            pos += descs;
            while (pos >= num)
            {
                pos -= num;
                wrap ^= 1;
            }
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
        final int num = data.consumeInt(1, HostileDriver.MAX_PACKED_NUM);
        final boolean indirect = data.consumeBoolean();
        final boolean eventIdx = data.consumeBoolean();
        final boolean callbacks = data.consumeBoolean();
        final long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM) |
            feature(VIRTIO_F_RING_PACKED) | (indirect ? feature(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
            (eventIdx ? feature(VIRTIO_RING_F_EVENT_IDX) : 0);
        final Object context = Invariant.lazy("%s num=%d indirect=%b event=%b callbacks=%b",
            profile.id(), num, indirect, eventIdx, callbacks);

        final FuzzRig rig = RIGS.get(profile).reset();
        final GuestMemory memory = rig.memory;
        final DmaOps ops = rig.ops;
        final LeakCheckingDma dma = new LeakCheckingDma(ops);
        final long dataGpa = rig.dataGpa();
        final long queueStart = memory.allocated();
        final Virtqueue vq = Virtqueue.builder(memory, num).features(features).dma(dma)
            .callbacks(callbacks).build();
        final long queueEnd = memory.allocated();
        final UnsafeBuffer mem = memory.buffer();
        final long ringGpa = vq.ringGpa();
        final PackedRing raw = new PackedRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, descRingSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + driverEventOffset(num), EVENT_SIZE),
            new UnsafeBuffer(mem, (int)ringGpa + deviceEventOffset(num), EVENT_SIZE));
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
        final Device device = new Device();
        int seq = 0;
        boolean hostile = false;
        final int steps = data.consumeInt(1, 128);
        for (int step = 0; step < steps; step++)
        {
            final Object at = Invariant.lazy("%s step %d", context, step);
            switch (data.consumeInt(0, 10))
            {
                case 0:
                case 1:
                case 2:
                {
                    final Request r = add(at, data, vq, dma, raw, sg, dataGpa, seq++, inFlight);
                    if (r != null)
                    {
                        order.add(r);
                    }
                    break;
                }
                case 3:
                case 4:
                {
                    // An honest device: complete a request it has not completed yet, at its used position.
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
                        final int len = (int)data.consumeLong(0, r.writable);
                        raw.spUsedDesc(device.pos, r.id, len);
                        raw.soDescFlags(device.pos, usedFlags(device.wrap) | (len != 0 ? VRING_DESC_F_WRITE : 0));
                        device.advance(r.descs, num);
                    }
                    break;
                }
                case 5:
                {
                    // A used descriptor with any id and length.
                    hostile = true;
                    final int id = data.consumeBoolean() ? data.consumeInt(0, num + 1) : data.consumeInt(0, 0xFFFF);
                    raw.spUsedDesc(device.pos, id, data.consumeInt());
                    raw.soDescFlags(device.pos, usedFlags(device.wrap));
                    device.advance(data.consumeInt(1, num), num);
                    break;
                }
                case 6:
                    // Any flags at the device's used position: USED without AVAIL, the previous lap, ...
                    hostile = true;
                    raw.soDescFlags(device.pos, data.consumeInt(0, 0xFFFF));
                    break;
                case 7:
                    getBufs(at, data.consumeInt(1, num + 1), vq, dma, inFlight, order);
                    break;
                case 8:
                    notifications(data, vq, raw);
                    break;
                default:
                    // The device scribbles over a descriptor: the driver reads only the flags, id and len of the
                    // one at its used position, which this may be.
                    hostile = true;
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
        final PackedRing raw, final SgList sg, final long dataGpa, final int seq, final Map<Object, Request> inFlight)
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
        final int availBefore = vq.availIdx();
        final int headPos = availBefore & OFF_WRAP_OFFSET_MASK;
        final int wrap = availBefore >>> VRING_PACKED_EVENT_F_WRAP_CTR;
        final int headFlagsBefore = raw.lpDescFlags(headPos);
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
            Invariant.check(descs == 0 && maps == 0 && vq.availIdx() == availBefore &&
                    raw.lpDescFlags(headPos) == headFlagsBefore,
                "%s: failed add (%d) took %d descriptors, left %d mappings, moved the avail position 0x%x -> 0x%x " +
                    "or wrote the head's flags", at, err, descs, maps, availBefore, vq.availIdx());
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
        Invariant.check(isAvail(raw.lpDescFlags(headPos), wrap), "%s: the head at %d is not available in wrap %d " +
            "(flags 0x%04x)", at, headPos, wrap, raw.lpDescFlags(headPos));
        final int id = raw.lpDescId(headPos);
        Invariant.check(id >= 0 && id < num, "%s: published buffer id %d", at, id);
        for (final Request other : inFlight.values())
        {
            Invariant.check(other.id != id, "%s: buffer id %d published for request %d is still in flight", at, id,
                other.seq);
        }
        final Request r = new Request(seq, writable, descs, maps, id);
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
            Invariant.check(vq.usedId() == r.id, "%s: %s came back as id %d", at, r, vq.usedId());
            Invariant.check(Integer.toUnsignedLong(vq.usedLen()) <= r.writable,
                "%s: %s came back with len %d > its %d writable bytes", at, r, Integer.toUnsignedLong(vq.usedLen()),
                r.writable);
            Invariant.check(vq.numFree() - freeBefore == r.descs && liveBefore - dma.liveMappings() == r.maps,
                "%s: %s freed %d descriptors (took %d) and %d mappings (made %d)", at, r, vq.numFree() - freeBefore,
                r.descs, liveBefore - dma.liveMappings(), r.maps);
        }
    }

    private static void notifications(final FuzzData data, final Virtqueue vq, final PackedRing raw)
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
                raw.soDeviceEventFlags(data.consumeInt(0, 0xFFFF));
                break;
            case 6:
                raw.soDeviceEventOffWrap(data.consumeInt(0, 0xFFFF));
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
