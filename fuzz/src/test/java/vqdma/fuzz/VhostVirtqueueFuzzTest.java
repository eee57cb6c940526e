package vqdma.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaProfile;
import vqdma.ring.DescriptorChain;
import vqdma.ring.VhostVirtqueue;

import java.util.ArrayList;
import java.util.List;

import static vqdma.ring.Vring.*;

/**
 * The device side of the split ring against a hostile driver: arbitrary descriptor tables (loops, indices past the
 * queue, NEXT|INDIRECT, nested and oversize indirect tables, readable after writable, addresses outside memory,
 * lengths that wrap the address space), arbitrary available rings and {@code avail.idx} jumps, fed to
 * {@link VhostVirtqueue#pop} under both bad-chain policies, over every DMA profile's device view, with the device
 * writing a pattern into every chain it accepts and returning it with {@link VhostVirtqueue#pushUsed}.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code pop} returns a head below the queue size, EMPTY or BROKEN, and throws nothing; BROKEN exactly when the
 *   queue is broken, which then has a non-empty reason, stays broken and consumes nothing more.</li>
 *   <li>Every refused device access is a counted {@code DmaFault}: a chain rejected for a translation failure moved
 *   the view's fault counter by exactly one, any other pop by zero (checked per chain when the driver publishes one
 *   chain at a time; as a bound when it publishes a batch).</li>
 *   <li>An accepted chain's runs lie inside what the driver granted (readable runs in readable descriptors, writable
 *   runs in writable ones, by the oracle {@link RingGrants}), and its byte counts add up.</li>
 *   <li>Accounting: avail entries consumed = chains returned + bad chains; used entries published = chains pushed +
 *   bad chains completed (COMPLETE policy); each used element holds the head and length pushed, in order.</li>
 *   <li>No byte of guest memory changes outside the used ring, the granted writable buffers and the bounce copy
 *   back ({@link MemoryGuard}); every mapping the driver made is released to the baseline ({@link DmaUsage}).</li>
 * </ul>
 */
class VhostVirtqueueFuzzTest
{
    private static final int PATTERN_BYTES = 64 * 1024;
    private static final UnsafeBuffer PATTERN = pattern();
    private static final UnsafeBuffer SCRATCH = new UnsafeBuffer(new byte[PATTERN_BYTES]);
    static final FuzzProfiles.PerProfile<HostileDriver> DRIVERS =
        new FuzzProfiles.PerProfile<>(HostileDriver::new);

    private static UnsafeBuffer pattern()
    {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[PATTERN_BYTES]);
        for (int i = 0; i < PATTERN_BYTES; i++)
        {
            b.putByte(i, (byte)(0xA5 ^ i));
        }
        return b;
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
        final int num = 1 << data.consumeInt(0, 5);
        final boolean indirect = data.consumeBoolean();
        final boolean eventIdx = data.consumeBoolean();
        final VhostVirtqueue.BadChainPolicy policy =
            data.consumeBoolean() ? VhostVirtqueue.BadChainPolicy.COMPLETE : VhostVirtqueue.BadChainPolicy.STOP;
        final int base = data.consumeBoolean() ? 0 : data.consumeInt(0, 0xFFFF);
        final boolean oneAtATime = data.consumeBoolean();
        final long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM) |
            (indirect ? feature(VIRTIO_RING_F_INDIRECT_DESC) : 0) | (eventIdx ? feature(VIRTIO_RING_F_EVENT_IDX) : 0);
        final Object context = Invariant.lazy("%s num=%d indirect=%b event=%b %s base=%d oneAtATime=%b",
            profile.id(), num, indirect, eventIdx, policy, base, oneAtATime);

        final HostileDriver driver = DRIVERS.get(profile).begin(num);
        driver.sharePages(data);
        driver.mapBuffers(data);
        driver.fillAndMapTables(data);
        driver.fillDescriptors(data);
        for (int slot = 0; slot < num; slot++)
        {
            driver.raw.spAvailRing(slot, driver.nextHead(data));
        }
        driver.raw.spAvailFlags(data.consumeInt(0, 0xFFFF));
        driver.raw.soUsedEvent(data.consumeInt(0, 0xFFFF));
        // How far avail.idx runs ahead: mostly a real batch, sometimes a jump the device must refuse.
        final int ahead = data.consumeInt(0, 7) != 0 ? data.consumeInt(0, num) : data.consumeInt(0, 0xFFFF);

        // A resumed queue (VHOST_SET_VRING_BASE) finds used.idx where the device left it.
        driver.raw.soUsedIdx(base);
        final MemoryGuard guard = driver.guard;
        driver.watch();
        guard.allow(driver.usedGpa(), vqdma.ring.SplitRingDescriptor.usedSize(num));
        final DeviceView view = driver.ops.deviceView();
        final VhostVirtqueue vq = VhostVirtqueue.builder(view, num, features, driver.ringBus, driver.availBus(),
            driver.usedBus()).badChainPolicy(policy).base(base).build();
        final DescriptorChain chain = vq.newChain();

        final RingGrants grants = driver.grants;
        final Ranges reads = grants.reads();
        final Ranges writes = grants.writes();
        final List<long[]> expectedUsed = new ArrayList<>();
        int published = 0;
        int heads = 0;
        int checkedUsed = 0;
        final int steps = data.consumeInt(1, 2 * num + 4);
        for (int step = 0; step < steps; step++)
        {
            final Object at = Invariant.lazy("%s step %d", context, step);
            switch (data.consumeInt(0, 7))
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
                default:
                    break;
            }
            // Publish: one more chain at a time, or the whole batch (or jump) at once.
            if (published != ahead)
            {
                published = oneAtATime && ahead <= num ? published + 1 : ahead;
                driver.raw.soAvailIdx((base + published) & 0xFFFF);
                guard.refresh(driver.availIdxGpa(), Short.BYTES);
            }
            final boolean wasBroken = vq.isBroken();
            final int lastAvailBefore = vq.lastAvailIdx();
            final long faultsBefore = view.faults();
            final long badBefore = vq.badChains();
            final int head = vq.pop(chain);
            final long faults = view.faults() - faultsBefore;
            final long bad = vq.badChains() - badBefore;
            driver.readGrants(); // after pop: the grants the returned chain was walked in
            final int consumed = (vq.lastAvailIdx() - lastAvailBefore) & 0xFFFF;

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
                Invariant.check(consumed == 0 && bad == 0 && faults == 0,
                    "%s: a broken queue consumed %d entries (%d bad chains, %d faults)", at, consumed, bad, faults);
            }
            Invariant.check(consumed == bad + (head >= 0 ? 1 : 0),
                "%s: %d avail entries consumed for %d bad chains and head %d", at, consumed, bad, head);
            checkFaults(at, oneAtATime && ahead <= num, faults, bad, vq.lastError());

            // The used elements the device owes: every bad chain completed with 0 (COMPLETE), then the good head.
            for (int i = 0; i < consumed; i++)
            {
                final int entryHead = driver.raw.lpAvailRing((lastAvailBefore + i) & (num - 1));
                final boolean last = i == consumed - 1;
                if (last && head >= 0)
                {
                    Invariant.check(entryHead == head, "%s: pop returned head %d, the avail entry says %d",
                        at, head, entryHead);
                }
                else if (policy == VhostVirtqueue.BadChainPolicy.COMPLETE)
                {
                    expectedUsed.add(new long[] {entryHead, 0});
                }
            }
            // Check each used element as soon as it is written: a later chain may legitimately overwrite it (the
            // driver can hand the device its own used ring as a writable buffer).
            checkUsed(at, driver, base, expectedUsed, checkedUsed);
            checkedUsed = expectedUsed.size();
            if (head >= 0)
            {
                heads++;
                checkChain(at, chain, head, reads, writes);
                final int readable = (int)Math.min(chain.readableBytes(), PATTERN_BYTES);
                chain.copyFromReadable(0, SCRATCH, 0, readable);
                final int written = (int)Math.min(chain.writableBytes(), PATTERN_BYTES);
                chain.copyToWritable(0, PATTERN, 0, written);
                vq.pushUsed(head, written);
                expectedUsed.add(new long[] {head, written});
                checkUsed(at, driver, base, expectedUsed, checkedUsed);
                checkedUsed = expectedUsed.size();
            }
        }

        final int usedPublished = (vq.usedIdx() - base) & 0xFFFF;
        Invariant.check(usedPublished == expectedUsed.size(), "%s: %d used entries published, %d expected (%d heads, " +
            "%d bad chains)", context, usedPublished, expectedUsed.size(), heads, vq.badChains());
        Invariant.check(driver.raw.loUsedIdx() == vq.usedIdx(), "%s: used.idx in memory %d, device says %d",
            context, driver.raw.loUsedIdx(), vq.usedIdx());

        driver.allowCopyBack(guard);
        driver.unmapAll(context);
        guard.check(context);
    }

    /** The used elements written since the last check hold the heads and lengths expected, in order. */
    private static void checkUsed(
        final Object at, final HostileDriver driver, final int base, final List<long[]> expected, final int from)
    {
        final int num = driver.num;
        for (int i = Math.max(from, expected.size() - num); i < expected.size(); i++)
        {
            final int slot = (base + i) & (num - 1);
            final long[] e = expected.get(i);
            Invariant.check(driver.raw.lpUsedId(slot) == e[0] && driver.raw.lpUsedLen(slot) == e[1],
                "%s: used element %d is (%d, %d), expected (%d, %d)", at, i, driver.raw.lpUsedId(slot),
                driver.raw.lpUsedLen(slot), e[0], e[1]);
        }
    }

    /**
     * Every refused access is counted exactly once: a chain rejected for a translation failure moved the fault
     * counter by one, anything else by zero.
     */
    static void checkFaults(
        final Object at, final boolean perChain, final long faults, final long bad, final String lastError)
    {
        if (perChain && bad <= 1)
        {
            final boolean translation = bad == 1 && lastError != null && lastError.startsWith("Translation failure");
            Invariant.check(faults == (translation ? 1 : 0), "%s: %d DMA faults counted for %s", at, faults,
                bad == 0 ? "a pop without a bad chain" : "bad chain '" + lastError + "'");
        }
        else
        {
            Invariant.check(faults <= bad, "%s: %d DMA faults counted for %d bad chains", at, faults, bad);
        }
    }

    /** An accepted chain: its runs add up and lie inside what the driver granted. */
    static void checkChain(
        final Object at, final DescriptorChain chain, final int head, final Ranges reads, final Ranges writes)
    {
        Invariant.check(chain.head() == head && chain.descriptors() >= 1, "%s: chain head %d (popped %d), %d " +
            "descriptors", at, chain.head(), head, chain.descriptors());
        long readable = 0;
        long writable = 0;
        for (int r = 0; r < chain.outRuns() + chain.inRuns(); r++)
        {
            final long gpa = chain.runGpa(r);
            final long len = chain.runLen(r);
            final boolean write = r >= chain.outRuns();
            Invariant.check(len > 0 && (write ? writes : reads).covers(gpa, gpa + len),
                "%s: %s run %d [0x%x, +%d) of head %d is not inside what the driver granted: %s", at,
                write ? "writable" : "readable", r, gpa, len, head, write ? writes : reads);
            if (write)
            {
                writable += len;
            }
            else
            {
                readable += len;
            }
        }
        Invariant.check(readable == chain.readableBytes() && writable == chain.writableBytes(),
            "%s: runs hold %d readable and %d writable bytes, the chain says %d and %d", at, readable, writable,
            chain.readableBytes(), chain.writableBytes());
    }
}
