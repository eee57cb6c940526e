package vqdma.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaProfile;
import vqdma.ring.DescriptorChain;
import vqdma.ring.PackedRing;
import vqdma.ring.VhostVirtqueue;

import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The device side of the packed ring against a hostile driver, with the invariants of
 * {@link VhostVirtqueueFuzzTest}: the fuzzer writes descriptors into the ring lap after lap, their AVAIL/USED bits
 * mostly those of the driver's lap and sometimes anything (USED with AVAIL, the previous lap, chains that run into
 * what is in flight or around the whole ring), buffer ids mostly below the queue size and sometimes reused or out of
 * range, NEXT|INDIRECT, nested and oversize packed indirect tables, readable after writable, addresses outside
 * memory, lengths that wrap the address space, and any driver event suppression structure; the device pops under
 * both bad-chain policies over every DMA profile's view, writes a pattern into every chain it accepts and returns it
 * with {@link PackedVhostVirtqueue#pushUsed}.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code pop} returns a buffer id below the queue size, EMPTY or BROKEN, and throws nothing; BROKEN exactly when
 *   the queue is broken, which then has a non-empty reason, stays broken and consumes nothing more; a popped id is
 *   never one already in flight.</li>
 *   <li>Every refused device access is a counted {@code DmaFault} (as {@link VhostVirtqueueFuzzTest#checkFaults}).</li>
 *   <li>An accepted chain's runs lie inside what the driver granted ({@link RingGrants#updatePacked}), and its byte
 *   counts add up.</li>
 *   <li>Each push writes the used descriptor at the device's used position: the id, the length, AVAIL = USED = the
 *   used wrap counter, WRITE exactly when bytes were written; the position moves on.</li>
 *   <li>No byte of guest memory changes outside the ring, the granted writable buffers and the bounce copy back
 *   ({@link MemoryGuard}); every mapping the driver made is released to the baseline ({@link DmaUsage}).</li>
 * </ul>
 */
class PackedVhostVirtqueueFuzzTest
{
    private static final int PATTERN_BYTES = 64 * 1024;
    private static final UnsafeBuffer PATTERN = pattern();
    private static final UnsafeBuffer SCRATCH = new UnsafeBuffer(new byte[PATTERN_BYTES]);
    /** One packed-ring driver per profile for the process ({@link FuzzRig}); each input starts it anew. */
    static final FuzzProfiles.PerProfile<HostileDriver> DRIVERS =
        new FuzzProfiles.PerProfile<>(profile -> new HostileDriver(profile, true));

    private static UnsafeBuffer pattern()
    {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[PATTERN_BYTES]);
        for (int i = 0; i < PATTERN_BYTES; i++)
        {
            b.putByte(i, (byte)(0x5A ^ i));
        }
        return b;
    }

    /** The hostile driver's own position in the ring and its wrap counter. */
    private static final class Lap
    {
        int pos;
        int wrap = 1;
    }

    /** The fuzz target: one libFuzzer input, decoded as Jazzer's provider decodes it ({@link FuzzBytes}). */
    @FuzzTest(maxDuration = "60s")
    void device(final byte[] input)
    {
        device(new FuzzBytes(input));
    }

    /** One input. @param data its values. */
    void device(final FuzzData data)
    {
        final DmaProfile profile = FuzzProfiles.pick(data);
        final int num = data.consumeInt(1, HostileDriver.MAX_PACKED_NUM);
        final boolean indirect = data.consumeBoolean();
        final boolean eventIdx = data.consumeBoolean();
        final VhostVirtqueue.BadChainPolicy policy =
            data.consumeBoolean() ? VhostVirtqueue.BadChainPolicy.COMPLETE : VhostVirtqueue.BadChainPolicy.STOP;
        final long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM) |
            feature(VIRTIO_F_RING_PACKED) | (indirect ? feature(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
            (eventIdx ? feature(VIRTIO_RING_F_EVENT_IDX) : 0);
        final Object context = Invariant.lazy("%s num=%d indirect=%b event=%b %s", profile.id(), num, indirect,
            eventIdx, policy);

        final HostileDriver driver = DRIVERS.get(profile).begin(num);
        final PackedRing raw = driver.packed;
        driver.sharePages(data);
        driver.mapBuffers(data);
        driver.fillAndMapTables(data);
        final Lap lap = new Lap();
        publish(data, driver, lap, data.consumeInt(0, num));
        raw.soDriverEventOffWrap(data.consumeInt(0, 0xFFFF));
        raw.soDriverEventFlags(data.consumeInt(0, 3));

        final MemoryGuard guard = driver.guard;
        driver.watch();
        guard.allow(driver.ringGpa, driver.ringBytes);
        final DeviceView view = driver.ops.deviceView();
        final VhostVirtqueue vq = VhostVirtqueue.builder(view, num, features, driver.ringBus,
            driver.ringBus + driverEventOffset(num), driver.ringBus + deviceEventOffset(num)).badChainPolicy(policy)
            .build();
        final DescriptorChain chain = vq.newChain();

        final RingGrants grants = driver.grants;
        final Ranges reads = grants.reads();
        final Ranges writes = grants.writes();
        final boolean[] inFlight = new boolean[num];
        final int steps = data.consumeInt(1, 3 * num + 4);
        for (int step = 0; step < steps; step++)
        {
            final Object at = Invariant.lazy("%s step %d", context, step);
            switch (data.consumeInt(0, 9))
            {
                case 0:
                    vq.disableNotify();
                    continue;
                case 1:
                    vq.enableNotify();
                    continue;
                case 2:
                    vq.needInterrupt();
                    continue;
                case 3:
                    publish(data, driver, lap, data.consumeInt(1, num));
                    continue;
                case 4:
                    raw.soDriverEventOffWrap(data.consumeInt(0, 0xFFFF));
                    raw.soDriverEventFlags(data.consumeInt(0, 3));
                    continue;
                default:
                    break;
            }
            final boolean wasBroken = vq.isBroken();
            final int availBefore = vq.lastAvailIdx();
            final long faultsBefore = view.faults();
            final long badBefore = vq.badChains();
            final int head = vq.pop(chain);
            final long faults = view.faults() - faultsBefore;
            final long bad = vq.badChains() - badBefore;
            driver.readGrants(); // after pop: the grants the returned chain was walked in

            Invariant.check(head == VhostVirtqueue.EMPTY || head == VhostVirtqueue.BROKEN || (head >= 0 && head < num),
                "%s: pop returned %d", at, head);
            Invariant.check((head == VhostVirtqueue.BROKEN) == vq.isBroken(),
                "%s: pop returned %d but isBroken=%b", at, head, vq.isBroken());
            if (vq.isBroken())
            {
                Invariant.check(vq.brokenReason() != null && !vq.brokenReason().isEmpty(),
                    "%s: broken without a reason", at);
            }
            else
            {
                Invariant.check(vq.brokenReason() == null, "%s: a reason '%s' but not broken", at, vq.brokenReason());
            }
            if (wasBroken)
            {
                Invariant.check(vq.lastAvailIdx() == availBefore && bad == 0 && faults == 0,
                    "%s: a broken queue consumed descriptors (%d bad chains, %d faults)", at, bad, faults);
            }
            Invariant.check((head >= 0 || bad > 0) == (vq.lastAvailIdx() != availBefore) || vq.isBroken(),
                "%s: the avail position moved %s -> %s for id %d and %d bad chains", at, availBefore,
                vq.lastAvailIdx(), head, bad);
            // A translation failure is counted exactly once. The last error names the one bad chain of this pop,
            // unless a chain completed under COMPLETE was followed by a break, whose reason replaced it: then only
            // the bound holds.
            final boolean lastErrorIsTheBadChain =
                !(vq.isBroken() && policy == VhostVirtqueue.BadChainPolicy.COMPLETE && bad > 0);
            VhostVirtqueueFuzzTest.checkFaults(at, lastErrorIsTheBadChain, faults, bad, vq.lastError());
            if (head >= 0)
            {
                Invariant.check(!inFlight[head], "%s: id %d popped while still in flight", at, head);
                VhostVirtqueueFuzzTest.checkChain(at, chain, head, reads, writes);
                final int readable = (int)Math.min(chain.readableBytes(), PATTERN_BYTES);
                chain.copyFromReadable(0, SCRATCH, 0, readable);
                final int written = (int)Math.min(chain.writableBytes(), PATTERN_BYTES);
                chain.copyToWritable(0, PATTERN, 0, written);
                if (data.consumeInt(0, 3) == 0)
                {
                    inFlight[head] = true; // held back: completed later, out of order
                }
                else
                {
                    push(at, vq, raw, head, written);
                }
            }
            if (data.consumeBoolean())
            {
                for (int id = 0; id < num; id++)
                {
                    if (inFlight[id])
                    {
                        inFlight[id] = false;
                        push(at, vq, raw, id, 0);
                        break;
                    }
                }
            }
        }

        driver.allowCopyBack(guard);
        driver.unmapAll(context);
        guard.check(context);
    }

    /** Returns {@code id}, and checks the used descriptor the device wrote. */
    private static void push(final Object at, final VhostVirtqueue vq, final PackedRing raw, final int id,
        final int written)
    {
        final int used = vq.usedIdx();
        final int pos = used & OFF_WRAP_OFFSET_MASK;
        vq.pushUsed(id, written);
        final int flags = raw.lpDescFlags(pos);
        Invariant.check(raw.lpDescId(pos) == id && raw.lpDescLen(pos) == written &&
                isUsed(flags, used >>> VRING_PACKED_EVENT_F_WRAP_CTR) &&
                ((flags & VRING_DESC_F_WRITE) != 0) == (written != 0),
            "%s: used descriptor at %d is (id %d, len %d, flags 0x%04x), expected (id %d, len %d) used in wrap %d",
            at, pos, raw.lpDescId(pos), raw.lpDescLen(pos), flags, id, written, used >>> VRING_PACKED_EVENT_F_WRAP_CTR);
        Invariant.check(vq.usedIdx() != used, "%s: the used position did not move", at);
    }

    /**
     * The hostile driver writes {@code count} descriptors at its position: mostly available in its lap, with small
     * flags and ids below the queue size; sometimes any flags or any id.
     */
    private static void publish(final FuzzData data, final HostileDriver driver, final Lap lap,
        final int count)
    {
        final int num = driver.num;
        for (int k = 0; k < count; k++)
        {
            final int flags = data.consumeInt(0, 7) != 0 ?
                (data.consumeInt(0, 7) & ~VRING_DESC_F_INDIRECT | (data.consumeInt(0, 3) == 0 ?
                    VRING_DESC_F_INDIRECT : 0)) | availFlags(lap.wrap) :
                data.consumeInt(0, 0xFFFF);
            final int id = data.consumeInt(0, 7) != 0 ? data.consumeInt(0, num - 1) : data.consumeInt(0, 0xFFFF);
            driver.packed.spDesc(lap.pos, driver.nextAddr(data), driver.nextLen(data), id, flags);
            if (++lap.pos == num)
            {
                lap.pos = 0;
                lap.wrap ^= 1;
            }
        }
    }
}
