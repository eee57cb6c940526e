package vqdma.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.blk.BlkConfig;
import vqdma.blk.BlkDevice;
import vqdma.blk.RamBackend;
import vqdma.dma.DeviceView;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaProfile;
import vqdma.ring.DescriptorChain;
import vqdma.ring.SplitRingDescriptor;
import vqdma.ring.VhostVirtqueue;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static vqdma.blk.VirtioBlk.*;
import static vqdma.ring.Vring.*;

/**
 * The virtio-blk device model ({@link BlkDevice#serve}) fed through the ring by a hostile driver, in two modes
 * chosen by the input:
 * <ul>
 *   <li><b>shaped</b>: well-formed chains (header, data segments, status byte, mapped through the DMA profile) with
 *   arbitrary request headers (any type, any sector, data lengths that are or are not multiples of 512, a header
 *   split over two descriptors). An independent model of virtio-blk says what each request must produce, and the
 *   target requires exactly that: every chain accepted (no bad chain, no fault, queue not broken), one used element
 *   per request in order with the model's {@code used.len}, the model's status byte, IN data equal to the model's
 *   disk, GET_ID data equal to the serial, and the backend equal to the model's disk at the end;</li>
 *   <li><b>raw</b>: arbitrary descriptor tables and available rings as in {@link VhostVirtqueueFuzzTest}, where
 *   {@code serve(1)}, taken in its public steps so that the grants are read as pop left the ring, must return -1
 *   exactly when the queue is broken (with a reason), count one request per chain it executed, count no more faults
 *   than bad chains, and write nothing outside the granted buffers.</li>
 * </ul>
 * In both modes: no byte of guest memory changes outside the used ring, the device-writable grants and the bounce
 * copy back, and every mapping is released to the baseline.
 */
class BlkDeviceFuzzTest
{
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final long CAPACITY_SECTORS = 64;
    private static final int DISK_BYTES = (int)(CAPACITY_SECTORS << SECTOR_SHIFT);
    private static final String SERIAL = "vqdma-fuzz-serial";
    private static final int[] TYPES = {T_IN, T_OUT, T_FLUSH, T_GET_ID};
    static final FuzzProfiles.PerProfile<HostileDriver> DRIVERS =
        new FuzzProfiles.PerProfile<>(HostileDriver::new);
    private static final byte[] DISK_PATTERN = new byte[DISK_BYTES];
    private static final byte[] DISK_MODEL = new byte[DISK_BYTES];
    private static final RamBackend BACKEND = new RamBackend(DISK_BYTES);

    static
    {
        for (int i = 0; i < DISK_BYTES; i++)
        {
            DISK_PATTERN[i] = (byte)(i * 7 + 3);
        }
    }

    /** A well-formed request and what the model says it must produce. */
    static final class Request
    {
        int head;
        int type;
        long sector;
        long hdrGpa;
        long statusGpa;
        final List<long[]> segments = new ArrayList<>(); // {gpa, len}
        boolean dataWritable;
        int expectedStatus;
        long expectedLen;
        byte[] expectedData;
    }

    /** The fuzz target: one libFuzzer input, decoded as Jazzer's provider decodes it ({@link FuzzBytes}). */
    @FuzzTest(maxDuration = "60s")
    void serve(final byte[] input)
    {
        serve(new FuzzBytes(input));
    }

    /** One input. @param data its values. */
    void serve(final FuzzData data)
    {
        final DmaProfile profile = FuzzProfiles.pick(data);
        final int num = 1 << data.consumeInt(1, 5);
        final boolean indirect = data.consumeBoolean();
        final boolean flush = data.consumeBoolean();
        final boolean shaped = data.consumeBoolean();
        final VhostVirtqueue.BadChainPolicy policy =
            data.consumeBoolean() ? VhostVirtqueue.BadChainPolicy.COMPLETE : VhostVirtqueue.BadChainPolicy.STOP;
        final long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM) |
            (indirect ? feature(VIRTIO_RING_F_INDIRECT_DESC) : 0);
        final Object context = Invariant.lazy("%s num=%d indirect=%b flush=%b %s %s", profile.id(), num, indirect,
            flush, shaped ? "shaped" : "raw", policy);

        final HostileDriver driver = DRIVERS.get(profile).begin(num);
        // The disk and its model start every input with the same pattern.
        final RamBackend backend = BACKEND;
        final byte[] disk = DISK_MODEL;
        System.arraycopy(DISK_PATTERN, 0, disk, 0, DISK_BYTES);
        backend.contents().putBytes(0, DISK_PATTERN);

        final List<Request> requests = shaped ? shapeRequests(data, driver) : null;
        int ahead = 0;
        if (!shaped)
        {
            driver.sharePages(data);
            driver.mapBuffers(data);
            driver.fillAndMapTables(data);
            driver.fillDescriptors(data);
            for (int slot = 0; slot < num; slot++)
            {
                driver.raw.spAvailRing(slot, driver.nextHead(data));
            }
            ahead = data.consumeInt(0, 7) != 0 ? data.consumeInt(0, num) : data.consumeInt(0, 0xFFFF);
        }

        driver.raw.soAvailIdx(shaped ? requests.size() : ahead);
        final MemoryGuard guard = driver.guard;
        driver.watch();
        guard.allow(driver.usedGpa(), SplitRingDescriptor.usedSize(num));
        final DeviceView view = driver.ops.deviceView();
        final VhostVirtqueue vq = VhostVirtqueue.builder(view, num, features, driver.ringBus, driver.availBus(),
            driver.usedBus()).badChainPolicy(policy).build();
        final BlkDevice device = new BlkDevice(vq, driver.memory, backend,
            new BlkConfig(CAPACITY_SECTORS, 0, 0, flush, SERIAL));
        final long faultsBefore = view.faults();

        final DescriptorChain chain = vq.newChain();
        final int steps = shaped ? num + 2 : data.consumeInt(1, 2 * num + 4);
        for (int step = 0; step < steps; step++)
        {
            // One chain per step, so that the grants are up to date for every chain the device executes.
            final int served;
            if (shaped)
            {
                // Well-formed chains: none is completed inside pop, so the ring is walked as it is now.
                driver.readGrants();
                served = device.serve(1);
            }
            else
            {
                served = serveOne(vq, device, chain, driver);
            }
            Invariant.check((served == -1) == vq.isBroken() && served >= -1 && served <= 1,
                "%s step %d: serve returned %d, broken=%b", context, step, served, vq.isBroken());
            if (vq.isBroken())
            {
                Invariant.check(vq.brokenReason() != null && !vq.brokenReason().isEmpty(),
                    "%s: broken without a reason", context);
            }
            if (served <= 0)
            {
                break;
            }
        }
        final long faults = view.faults() - faultsBefore;
        final long completedBad = policy == VhostVirtqueue.BadChainPolicy.COMPLETE ? vq.badChains() : 0;
        Invariant.check(vq.usedIdx() == ((device.requests() + completedBad) & 0xFFFF), "%s: %d used entries for %d " +
            "requests and %d completed bad chains", context, vq.usedIdx(), device.requests(), completedBad);
        Invariant.check(faults <= vq.badChains(), "%s: %d DMA faults for %d bad chains", context, faults,
            vq.badChains());
        Invariant.check(device.errors() <= device.requests() && device.unsupported() <= device.errors() &&
            device.noStatus() <= device.errors(), "%s: %d requests, %d errors, %d unsupported, %d without status",
            context, device.requests(), device.errors(), device.unsupported(), device.noStatus());
        if (shaped)
        {
            checkShaped(context, driver, vq, device, requests, faults);
        }

        driver.allowCopyBack(guard);
        driver.unmapAll(context);
        if (shaped)
        {
            checkShapedData(context, driver, requests, backend, disk, flush);
        }
        guard.check(context);
    }

    /**
     * {@link BlkDevice#serve serve(1)} in its public steps (pop, handle, addUsed, flushUsed), with the grants read
     * between pop and handle: under COMPLETE, pop may complete bad chains first, writing used elements a hostile
     * driver can lay an indirect table over, so only the ring as pop left it holds the chain's grants
     * ({@link RingGrantsTest}).
     *
     * @return what serve(1) returns: 1, 0 (nothing available) or -1 (broken).
     */
    private static int serveOne(final VhostVirtqueue vq, final BlkDevice device, final DescriptorChain chain,
        final HostileDriver driver)
    {
        final int head = vq.pop(chain);
        driver.readGrants();
        if (head == VhostVirtqueue.BROKEN)
        {
            return -1;
        }
        if (head == VhostVirtqueue.EMPTY)
        {
            return 0;
        }
        vq.addUsed(head, device.handle(chain));
        vq.flushUsed();
        return 1;
    }

    /** Builds well-formed requests with arbitrary headers, each on its own descriptors and buffers. */
    private static List<Request> shapeRequests(final FuzzData data, final HostileDriver driver)
    {
        final UnsafeBuffer mem = driver.memory.buffer();
        final int num = driver.num;
        final List<Request> requests = new ArrayList<>();
        long next = driver.dataGpa;
        final long end = driver.dataGpa + HostileDriver.DATA_BYTES;
        int desc = 0;
        final int wanted = data.consumeInt(1, num);
        for (int r = 0; r < wanted; r++)
        {
            final Request q = new Request();
            q.type = data.consumeInt(0, 7) != 0 ? TYPES[data.consumeInt(0, TYPES.length - 1)] : data.consumeInt();
            q.sector = data.consumeInt(0, 3) != 0 ? data.consumeLong(0, CAPACITY_SECTORS + 2) : data.consumeLong();
            q.dataWritable = q.type == T_IN || q.type == T_GET_ID;
            final boolean splitHeader = data.consumeInt(0, 7) == 0;
            final int segments = data.consumeInt(0, 2);
            final int[] lens = new int[segments];
            long bytes = OUTHDR_SIZE + 1;
            for (int s = 0; s < segments; s++)
            {
                lens[s] = data.consumeBoolean() ? SECTOR_SIZE * data.consumeInt(1, 8) : data.consumeInt(1, 2048);
                bytes += lens[s];
            }
            final int descs = (splitHeader ? 2 : 1) + segments + 1;
            if (desc + descs > num || next + bytes + 64 > end)
            {
                break;
            }
            q.head = desc;
            // Header.
            q.hdrGpa = next;
            mem.putInt((int)q.hdrGpa + OUTHDR_TYPE_OFFSET, q.type, LE);
            mem.putInt((int)q.hdrGpa + OUTHDR_IOPRIO_OFFSET, data.consumeInt(), LE);
            mem.putLong((int)q.hdrGpa + OUTHDR_SECTOR_OFFSET, q.sector, LE);
            driver.guard.refresh(q.hdrGpa, OUTHDR_SIZE);
            next += OUTHDR_SIZE;
            final List<long[]> chain = new ArrayList<>(); // {bus, len, flags}
            if (splitHeader)
            {
                final long a = driver.map(q.hdrGpa, 8, DmaDirection.TO_DEVICE);
                final long b = driver.map(q.hdrGpa + 8, 8, DmaDirection.TO_DEVICE);
                if (a < 0 || b < 0)
                {
                    break;
                }
                chain.add(new long[] {a, 8, 0});
                chain.add(new long[] {b, 8, 0});
            }
            else
            {
                final long a = driver.map(q.hdrGpa, OUTHDR_SIZE, DmaDirection.TO_DEVICE);
                if (a < 0)
                {
                    break;
                }
                chain.add(new long[] {a, OUTHDR_SIZE, 0});
            }
            boolean mapped = true;
            for (int s = 0; s < segments && mapped; s++)
            {
                final long bus = driver.map(next, lens[s],
                    q.dataWritable ? DmaDirection.FROM_DEVICE : DmaDirection.TO_DEVICE);
                mapped = bus >= 0;
                q.segments.add(new long[] {next, lens[s]});
                chain.add(new long[] {bus, lens[s], q.dataWritable ? VRING_DESC_F_WRITE : 0});
                next += lens[s];
            }
            q.statusGpa = next++;
            mem.putByte((int)q.statusGpa, (byte)0xEE);
            driver.guard.refresh(q.statusGpa, 1);
            final long status = mapped ? driver.map(q.statusGpa, 1, DmaDirection.FROM_DEVICE) : -1;
            if (status < 0)
            {
                break;
            }
            chain.add(new long[] {status, 1, VRING_DESC_F_WRITE});
            next = (next + 63) & ~63L;
            for (int i = 0; i < chain.size(); i++)
            {
                final long[] c = chain.get(i);
                final boolean last = i == chain.size() - 1;
                driver.raw.spDesc(desc + i, c[0], (int)c[1], (int)c[2] | (last ? 0 : VRING_DESC_F_NEXT),
                    last ? 0 : desc + i + 1);
            }
            desc += chain.size();
            driver.raw.spAvailRing(requests.size(), q.head);
            requests.add(q);
        }
        return requests;
    }

    private static void checkShaped(
        final Object context, final HostileDriver driver, final VhostVirtqueue vq, final BlkDevice device,
        final List<Request> requests, final long faults)
    {
        Invariant.check(!vq.isBroken() && vq.badChains() == 0 && faults == 0,
            "%s: well-formed requests were refused: broken=%b (%s), %d bad chains (%s), %d faults", context,
            vq.isBroken(), vq.brokenReason(), vq.badChains(), vq.lastError(), faults);
        Invariant.check(device.requests() == requests.size(), "%s: %d requests served of %d", context,
            device.requests(), requests.size());
        final int num = driver.num;
        for (int i = 0; i < requests.size(); i++)
        {
            final Request q = requests.get(i);
            final int id = driver.raw.lpUsedId(i & (num - 1));
            final long len = Integer.toUnsignedLong(driver.raw.lpUsedLen(i & (num - 1)));
            Invariant.check(id == q.head, "%s: used element %d has id %d, request head %d", context, i, id, q.head);
            final long expected = expectedUsedLen(q);
            Invariant.check(len == expected, "%s: %s request at sector %d (segments %s) came back with used.len %d, " +
                "expected %d", context, typeName(q.type), q.sector, describe(q), len, expected);
        }
    }

    private static long dataBytes(final Request q)
    {
        long n = 0;
        for (final long[] s : q.segments)
        {
            n += s[1];
        }
        return n;
    }

    private static boolean rangeOk(final Request q)
    {
        final long len = dataBytes(q);
        return (len & (SECTOR_SIZE - 1)) == 0 && q.sector >= 0 && q.sector <= CAPACITY_SECTORS &&
            (len >> SECTOR_SHIFT) <= CAPACITY_SECTORS - q.sector;
    }

    /** The model: virtio 1.x 5.2.6 as QEMU implements it. */
    private static long expectedUsedLen(final Request q)
    {
        final long data = dataBytes(q);
        if (q.type == T_IN && rangeOk(q))
        {
            return data + 1;
        }
        if (q.type == T_GET_ID)
        {
            return Math.min(ID_BYTES, data) + 1;
        }
        return 1;
    }

    private static int expectedStatus(final Request q, final boolean flush)
    {
        switch (q.type)
        {
            case T_IN:
            case T_OUT:
                return rangeOk(q) ? S_OK : S_IOERR;
            case T_FLUSH:
                return flush ? S_OK : S_UNSUPP;
            case T_GET_ID:
                return S_OK;
            default:
                return S_UNSUPP;
        }
    }

    private static String describe(final Request q)
    {
        final StringBuilder b = new StringBuilder("[");
        for (final long[] s : q.segments)
        {
            b.append(b.length() == 1 ? "" : ", ").append(s[1]);
        }
        return b.append(']').toString();
    }

    /** After unmapping (the bounce copy back): status bytes, IN and GET_ID data, and the disk, against the model. */
    private static void checkShapedData(
        final Object context, final HostileDriver driver, final List<Request> requests, final RamBackend backend,
        final byte[] disk, final boolean flush)
    {
        final UnsafeBuffer mem = driver.memory.buffer();
        final byte[] serial = SERIAL.getBytes(StandardCharsets.US_ASCII);
        for (final Request q : requests)
        {
            final int status = expectedStatus(q, flush);
            Invariant.check(mem.getByte((int)q.statusGpa) == status, "%s: %s request at sector %d (segments %s): " +
                "status %d, expected %d", context, typeName(q.type), q.sector, describe(q),
                mem.getByte((int)q.statusGpa), status);
            long offset = q.sector << SECTOR_SHIFT;
            int serialAt = 0;
            for (final long[] s : q.segments)
            {
                final byte[] got = new byte[(int)s[1]];
                mem.getBytes((int)s[0], got);
                if (q.type == T_IN && status == S_OK)
                {
                    final byte[] want = Arrays.copyOfRange(disk, (int)offset, (int)(offset + s[1]));
                    Invariant.check(Arrays.equals(got, want), "%s: IN at sector %d: segment at 0x%x differs from " +
                        "the disk", context, q.sector, s[0]);
                }
                else if (q.type == T_OUT && status == S_OK)
                {
                    System.arraycopy(got, 0, disk, (int)offset, got.length);
                }
                else if (q.type == T_GET_ID)
                {
                    for (int i = 0; i < got.length && serialAt < ID_BYTES; i++, serialAt++)
                    {
                        final byte want = serialAt < serial.length ? serial[serialAt] : 0;
                        Invariant.check(got[i] == want, "%s: GET_ID byte %d is %d, the serial has %d", context,
                            serialAt, got[i], want);
                    }
                }
                offset += s[1];
            }
        }
        final byte[] contents = new byte[disk.length];
        backend.contents().getBytes(0, contents);
        Invariant.check(Arrays.equals(contents, disk), "%s: the disk differs from the model at byte %d", context,
            Arrays.mismatch(contents, disk));
    }
}
