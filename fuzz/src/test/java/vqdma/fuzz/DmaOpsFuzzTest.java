package vqdma.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DeviceView;
import vqdma.dma.DirectDma;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaFault;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbDma;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The DMA ops of every profile driven by arbitrary sequences of map, unmap, syncForCpu, syncForDevice and device
 * accesses, with arbitrary addresses, sizes (zero, negative, beyond memory, beyond the mapping limit, wrapping) and
 * directions, correct calls and misuse mixed. A model of the live mappings says which calls are correct.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>Correct calls never throw. A map either returns a bus address or {@code DMA_MAPPING_ERROR}: always the error
 *   above {@code maxMappingSize()}, never from dma-direct, never from an empty SWIOTLB pool for a size it can map.</li>
 *   <li>Misuse (a bad buffer; an unmap or sync of what is not mapped, twice, with another size or direction) is an
 *   {@link IllegalArgumentException} or {@link IllegalStateException} wherever the implementation tracks mappings
 *   (bounced SWIOTLB mappings, the IOMMU), and then nothing changed: the slots, IOVAs and PTEs in use
 *   ({@link DmaUsage}) are the same. No other exception type escapes, ever.</li>
 *   <li>Data: the device reads exactly the buffer through a mapping it may read (the bounce copy at map time), and
 *   after unmap or syncForCpu the buffer holds what the device wrote through a mapping it may write (the copy
 *   back). An IOMMU refuses a write through a read-only mapping and a read through a write-only one.</li>
 *   <li>Every device access the view refuses is a {@link DmaFault} counted exactly once; every one it allows lies
 *   inside guest memory and, for strict IOMMU and SWIOTLB, inside a live mapping the model knows.</li>
 *   <li>At the end, after unmapping everything: usage back to the baseline, and no guest memory changed except the
 *   bounce pool, the buffers the device wrote and their copies back ({@link MemoryGuard}).</li>
 * </ul>
 */
class DmaOpsFuzzTest
{
    /**
     * The data area the inputs map buffers from: the smallest in which the largest mapping a SWIOTLB profile can
     * make ({@code Swiotlb.maxMappingSize(0)}, 256 KiB), and one a few bytes beyond it, fit at several offsets. Every
     * byte of guest memory is compared after every input ({@link MemoryGuard}) and a mapping's bytes are copied and
     * compared in full, so the area's size is most of an input's cost: 512 KiB before, 1.6x fewer executions.
     */
    private static final int DATA_BYTES = 264 * 1024;
    /** The data area of {@link #opsWideArea}: the one the inputs committed before 2026-12-07 were found with. */
    private static final int WIDE_DATA_BYTES = 512 * 1024;
    private static final DmaDirection[] DIRECTIONS = DmaDirection.values();
    private static final UnsafeBuffer SCRATCH = new UnsafeBuffer(new byte[WIDE_DATA_BYTES]);
    /** Bytes of {@link #WRITES} between two fill bytes' starting points. */
    private static final int WRITE_STRIDE = 16;
    /**
     * What the device writes: a mapping's bytes from {@code WRITE_STRIDE * fill} on, for a fill byte the input picks.
     * Every position holds another value than its neighbours and than the data pattern, so that a missing, shifted or
     * partial copy back shows; the model refers to the bytes instead of copying them.
     */
    private static final UnsafeBuffer WRITES = writes();
    /** What an arbitrary device write stores. */
    private static final UnsafeBuffer STRAY = strayWrites();
    /** The data area's contents (the first {@code DATA_BYTES} of it for {@link #ops}). */
    private static final byte[] DATA_PATTERN = new byte[WIDE_DATA_BYTES];

    static
    {
        for (int i = 0; i < WIDE_DATA_BYTES; i++)
        {
            DATA_PATTERN[i] = (byte)(i * 37 + (i >>> 9));
        }
    }

    /** Per profile: the rig with its data area. */
    static final FuzzProfiles.PerProfile<FuzzRig> RIGS = rigs(DATA_BYTES);
    /** Per profile: the rig of {@link #opsWideArea}. */
    static final FuzzProfiles.PerProfile<FuzzRig> WIDE_RIGS = rigs(WIDE_DATA_BYTES);

    private static FuzzProfiles.PerProfile<FuzzRig> rigs(final int dataBytes)
    {
        return new FuzzProfiles.PerProfile<>(
            profile -> new FuzzRig(profile, dataBytes).data(Arrays.copyOf(DATA_PATTERN, dataBytes)).seal());
    }

    private static UnsafeBuffer writes()
    {
        final byte[] b = new byte[WIDE_DATA_BYTES + WRITE_STRIDE * 256];
        for (int i = 0; i < b.length; i++)
        {
            b[i] = (byte)((i * 0x9E3779B1) >>> 24 ^ i);
        }
        return new UnsafeBuffer(b);
    }

    private static UnsafeBuffer strayWrites()
    {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[8192]);
        b.setMemory(0, b.capacity(), (byte)0x5A);
        return b;
    }

    /** A mapping the model holds. */
    static final class Mapping
    {
        final long dma;
        final long gpa;
        final long len;
        final DmaDirection dir;
        /** Where in {@link #WRITES} the bytes the device wrote through this mapping begin, or -1 for none known. */
        int written = -1;
        /** How many bytes the device wrote from {@link #written}. */
        int writtenLen;

        /** The buffer's expected contents are no longer known (something else wrote it). */
        void forgetWritten()
        {
            written = -1;
        }

        Mapping(final long dma, final long gpa, final long len, final DmaDirection dir)
        {
            this.dma = dma;
            this.gpa = gpa;
            this.len = len;
            this.dir = dir;
        }

        @Override
        public String toString()
        {
            return String.format("mapping dma=0x%x gpa=0x%x len=%d %s", dma, gpa, len, dir);
        }
    }

    /** The fuzz target: one libFuzzer input, decoded as Jazzer's provider decodes it ({@link FuzzBytes}). */
    @FuzzTest(maxDuration = "60s")
    void ops(final byte[] input)
    {
        ops(new FuzzBytes(input));
    }

    /** One input. @param data its values. */
    void ops(final FuzzData data)
    {
        run(data, RIGS, DATA_BYTES);
    }

    /**
     * The same target over the 512 KiB data area it had until 2026-12-07, for the regression inputs found then: an
     * input's bytes decode to the same calls only with the area they were found with (offsets and lengths are drawn
     * within its size). {@code ./mvnw verify} replays them here; {@code scripts/fuzz} fuzzes {@link #ops}.
     */
    @FuzzTest(maxDuration = "60s")
    void opsWideArea(final byte[] input)
    {
        opsWideArea(new FuzzBytes(input));
    }

    /** One input of {@link #opsWideArea(byte[])}. @param data its values. */
    void opsWideArea(final FuzzData data)
    {
        run(data, WIDE_RIGS, WIDE_DATA_BYTES);
    }

    private static void run(final FuzzData data, final FuzzProfiles.PerProfile<FuzzRig> rigs,
        final int dataBytes)
    {
        final DmaProfile profile = FuzzProfiles.pick(data);
        final FuzzRig rig = rigs.get(profile).reset();
        final GuestMemory memory = rig.memory;
        final DmaOps ops = rig.ops;
        final DeviceView view = ops.deviceView();
        final Swiotlb pool = ops instanceof SwiotlbDma ? ((SwiotlbDma)ops).pool() : null;
        final boolean iommu = ops instanceof IommuDma;
        final boolean strict = iommu && ((IommuDma)ops).mode() == IommuDma.Mode.STRICT;
        final long dataGpa = rig.dataGpa();
        final UnsafeBuffer mem = memory.buffer();
        if (memory.isConfidential() && data.consumeBoolean())
        {
            memory.share(dataGpa + (long)data.consumeInt(0, dataBytes / GuestMemory.PAGE_SIZE - 4) *
                GuestMemory.PAGE_SIZE, 4L * GuestMemory.PAGE_SIZE);
        }
        final DmaUsage baseline = DmaUsage.of(ops);
        final DmaUsage.Tracker usage = new DmaUsage.Tracker(ops);
        final MemoryGuard guard = rig.guard;
        guard.watch();
        if (pool != null)
        {
            guard.allow(pool.start(), pool.end() - pool.start());
        }
        final List<Mapping> live = new ArrayList<>();
        final List<Mapping> dead = new ArrayList<>();
        final Object context = profile.id();

        final int steps = data.consumeInt(1, 64);
        for (int step = 0; step < steps; step++)
        {
            final Object at = Invariant.lazy("%s step %d", context, step);
            switch (data.consumeInt(0, 9))
            {
                case 0:
                case 1:
                case 2:
                    map(at, data, ops, usage, memory, dataGpa, dataBytes, pool, live, guard);
                    break;
                case 3:
                case 4:
                    if (!live.isEmpty())
                    {
                        final Mapping m = live.remove(data.consumeInt(0, live.size() - 1));
                        call(at, Invariant.lazy("unmap of %s", m), () -> ops.unmap(m.dma, m.len, m.dir));
                        usage.changed();
                        checkCopyBack(at, mem, m, m.len);
                        copiedBack(live, m, m.gpa, m.len);
                        dead.add(m);
                    }
                    break;
                case 5:
                    misuse(at, data, ops, usage, memory, pool, live, dead);
                    break;
                case 6:
                    sync(at, data, ops, usage, mem, pool, live);
                    break;
                case 7:
                case 8:
                    deviceAccess(at, data, ops, view, memory, pool, strict, live, dead, guard);
                    break;
                default:
                    if (iommu)
                    {
                        ((IommuDma)ops).flush();
                        usage.changed();
                    }
                    final long max = ops.maxMappingSize();
                    final long want = pool != null && (((SwiotlbDma)ops).isForce() || memory.isConfidential()) ?
                        Swiotlb.maxMappingSize(0) : Long.MAX_VALUE;
                    Invariant.check(max == want, "%s: maxMappingSize %d, expected %d", at, max, want);
                    break;
            }
        }
        while (!live.isEmpty())
        {
            final Mapping m = live.remove(live.size() - 1);
            final Object at = Invariant.lazy("%s final unmap", context);
            call(at, Invariant.lazy("unmap of %s", m), () -> ops.unmap(m.dma, m.len, m.dir));
            checkCopyBack(at, mem, m, m.len);
            copiedBack(live, m, m.gpa, m.len);
        }
        DmaUsage.settle(ops);
        DmaUsage.of(ops).checkBackTo(baseline, context);
        guard.check(context);
    }

    /** A call that must succeed: anything thrown is a finding. */
    private static void call(final Object at, final Object what, final Runnable call)
    {
        try
        {
            call.run();
        }
        catch (final RuntimeException ex)
        {
            throw new Invariant(at + ": correct call " + what + " threw " + ex, ex);
        }
    }

    private static long nextLen(final FuzzData data, final int dataBytes)
    {
        switch (data.consumeInt(0, 7))
        {
            case 0:
            case 1:
            case 2:
                return data.consumeLong(1, 4096);
            case 3:
                return data.consumeLong(1, dataBytes);
            case 4:
                return Swiotlb.maxMappingSize(0) + data.consumeLong(-2, 2);
            case 5:
                return data.consumeLong(-4, 0);
            default:
                return data.consumeLong();
        }
    }

    private static long nextGpa(final FuzzData data, final GuestMemory memory, final long dataGpa,
        final int dataBytes)
    {
        switch (data.consumeInt(0, 5))
        {
            case 0:
                return data.consumeLong();
            case 1:
                return memory.size() - data.consumeLong(0, 64);
            default:
                return dataGpa + data.consumeLong(0, dataBytes);
        }
    }

    private static void map(
        final Object at, final FuzzData data, final DmaOps ops, final DmaUsage.Tracker usage,
        final GuestMemory memory, final long dataGpa, final int dataBytes, final Swiotlb pool,
        final List<Mapping> live, final MemoryGuard guard)
    {
        final long gpa = nextGpa(data, memory, dataGpa, dataBytes);
        final long len = nextLen(data, dataBytes);
        final DmaDirection dir = DIRECTIONS[data.consumeInt(0, DIRECTIONS.length - 1)];
        final Object what = Invariant.lazy("map of gpa=0x%x len=%d %s", gpa, len, dir);
        final DmaUsage before = usage.now();
        // The SWIOTLB pool is not a buffer (it could never be unmapped: every pool address is a bounce slot).
        final boolean valid = len > 0 && memory.contains(gpa, len) &&
            (pool == null || gpa >= pool.end() || gpa + len <= pool.start());
        final long dma;
        try
        {
            dma = ops.map(gpa, len, dir);
        }
        catch (final IllegalArgumentException | IllegalStateException ex)
        {
            Invariant.check(!valid, "%s: %s of a buffer inside memory threw %s", at, what, ex);
            usage.checkUnchanged(before, Invariant.lazy("%s: refused %s", at, what));
            return;
        }
        catch (final RuntimeException ex)
        {
            throw new Invariant(at + ": " + what + " threw " + ex, ex);
        }
        Invariant.check(valid, "%s: %s (outside memory or empty) was accepted: 0x%x", at, what, dma);
        if (DmaOps.isMappingError(dma))
        {
            usage.checkUnchanged(before, Invariant.lazy("%s: failed %s", at, what));
            Invariant.check(!(ops instanceof DirectDma), "%s: dma-direct failed %s", at, what);
            Invariant.check(pool == null || len > ops.maxMappingSize() || pool.usedSlots() > 0,
                "%s: %s failed with the bounce pool empty", at, what);
            return;
        }
        Invariant.check(len <= ops.maxMappingSize(), "%s: %s succeeded beyond maxMappingSize %d", at, what,
            ops.maxMappingSize());
        usage.changed();
        final Mapping m = new Mapping(dma, gpa, len, dir);
        live.add(m);
        if (dir.deviceWrites())
        {
            // The buffer of a mapping the device may write is the device's to write (directly, or by the copy back
            // of whatever reached its bounce slot).
            guard.allow(gpa, len);
        }
        final DeviceView view = ops.deviceView();
        final int n = (int)Math.min(len, WIDE_DATA_BYTES);
        if (dir.deviceReads())
        {
            // The device must read exactly the buffer (for a bounce: the copy made at map time).
            call(at, Invariant.lazy("device read of %s", m), () -> view.read(dma, SCRATCH, 0, n));
            final int differs = mismatch(memory.buffer(), gpa, SCRATCH.byteArray(), 0, n);
            Invariant.check(differs < 0, "%s: the device reads other bytes than the buffer through %s " +
                "(first difference at %d)", at, m, differs);
        }
        if (dir.deviceWrites() && data.consumeBoolean())
        {
            final int from = WRITE_STRIDE * (data.consumeByte() & 0xFF);
            call(at, Invariant.lazy("device write through %s", m), () -> view.write(dma, WRITES, from, n));
            m.written = from;
            m.writtenLen = n;
            copiedBack(live, m, gpa, n);
        }
        if (ops instanceof IommuDma && dir != DmaDirection.BIDIRECTIONAL)
        {
            // The IOMMU enforces the direction: the forbidden access faults, is counted, and changes nothing.
            final long faults = view.faults();
            try
            {
                if (dir.deviceReads())
                {
                    view.write(dma, STRAY, 0, 1);
                }
                else
                {
                    view.read(dma, SCRATCH, 0, 1);
                }
                throw new Invariant(at + ": the IOMMU let the device " + (dir.deviceReads() ? "write" : "read") +
                    " through " + m);
            }
            catch (final DmaFault expected)
            {
                Invariant.check(view.faults() == faults + 1, "%s: a refused access counted %d faults", at,
                    view.faults() - faults);
            }
        }
    }

    /** After unmap (or a full syncForCpu): the buffer holds what the device wrote. */
    private static void checkCopyBack(final Object at, final UnsafeBuffer mem, final Mapping m, final long len)
    {
        if (m.written < 0)
        {
            return;
        }
        final int n = (int)Math.min(len, m.writtenLen);
        final int differs = mismatch(mem, m.gpa, WRITES.byteArray(), m.written, n);
        Invariant.check(differs < 0, "%s: after the copy back the buffer of %s differs from what the device wrote " +
            "(first difference at %d)", at, m, differs);
    }

    /**
     * @return the first of {@code n} bytes where guest memory at {@code gpa} and {@code bytes} from {@code from}
     * differ, or -1.
     */
    private static int mismatch(final UnsafeBuffer mem, final long gpa, final byte[] bytes, final int from,
        final int n)
    {
        final ByteBuffer memory = mem.byteBuffer().duplicate();
        memory.limit((int)gpa + n).position((int)gpa);
        return memory.mismatch(ByteBuffer.wrap(bytes, from, n));
    }

    /** Would the implementation accept {@code unmap(dma, len, dir)}? Returns the live mapping it releases, or null. */
    private static Mapping acceptedUnmap(
        final DmaOps ops, final Swiotlb pool, final List<Mapping> live, final long dma, final long len,
        final DmaDirection dir)
    {
        for (final Mapping m : live)
        {
            if (ops instanceof IommuDma)
            {
                // Compared in pages, as the kernel's WARN_ON(unmapped != size): same first page and page count.
                if ((m.dma >>> 12) == (dma >>> 12) && len > 0 && pages(m.dma, m.len) == pages(dma, len) &&
                    IommuDma.prot(m.dir) == IommuDma.prot(dir))
                {
                    return m;
                }
            }
            else if (m.dma == dma && m.len == len && m.dir == dir)
            {
                return m;
            }
        }
        return null;
    }

    private static long pages(final long address, final long len)
    {
        return ((address & 4095) + len + 4095) >>> 12;
    }

    /** Does the implementation track this address, so that misuse must be refused? */
    private static boolean tracked(final DmaOps ops, final Swiotlb pool, final GuestMemory memory, final long dma,
        final long len)
    {
        if (ops instanceof IommuDma)
        {
            return true;
        }
        if (pool != null)
        {
            // Pool addresses are tracked; outside the pool only an address no direct mapping could have is refused.
            return pool.isSwiotlbBuffer(dma) || ((SwiotlbDma)ops).isForce() || len <= 0 ||
                !memory.contains(dma, len) || !memory.hostAccessible(dma, len);
        }
        return false;
    }

    private static void misuse(
        final Object at, final FuzzData data, final DmaOps ops, final DmaUsage.Tracker usage,
        final GuestMemory memory, final Swiotlb pool, final List<Mapping> live, final List<Mapping> dead)
    {
        long dma;
        long len;
        DmaDirection dir;
        final int kind = data.consumeInt(0, 4);
        final Mapping base = kind == 0 ? pick(data, dead) : kind < 4 ? pick(data, live) : null;
        if (base == null)
        {
            dma = data.consumeBoolean() ? data.consumeLong() :
                (pool != null ? pool.start() : 0) + data.consumeLong(0, memory.size());
            len = data.consumeBoolean() ? data.consumeLong(-2, 8192) : data.consumeLong();
            dir = DIRECTIONS[data.consumeInt(0, DIRECTIONS.length - 1)];
        }
        else
        {
            dma = base.dma + (kind == 3 ? data.consumeLong(1, Math.max(1, base.len)) : 0);
            len = base.len + (kind == 1 ? data.consumeLong(-8192, 8192) : 0);
            dir = kind == 2 ? DIRECTIONS[data.consumeInt(0, DIRECTIONS.length - 1)] : base.dir;
        }
        final Mapping accepted = acceptedUnmap(ops, pool, live, dma, len, dir);
        final Object what = Invariant.lazy("unmap of dma=0x%x len=%d %s", dma, len, dir);
        if (accepted != null)
        {
            // Not misuse after all (the IOMMU compares sizes in pages): the mapping is released.
            call(at, Invariant.lazy("%s (matches %s)", what, accepted), () -> ops.unmap(dma, len, dir));
            usage.changed();
            live.remove(accepted);
            dead.add(accepted);
            // Only bytes up to the unmapped length are copied back... none of the tracked ops copies partially.
            checkCopyBack(at, memory.buffer(), accepted, accepted.len);
            copiedBack(live, accepted, accepted.gpa, accepted.len);
            return;
        }
        final DmaUsage before = usage.now();
        try
        {
            ops.unmap(dma, len, dir);
            Invariant.check(!tracked(ops, pool, memory, dma, len), "%s: %s was accepted, but it matches no live " +
                "mapping (live: %s)", at, what, live);
        }
        catch (final IllegalArgumentException | IllegalStateException ex)
        {
            Invariant.check(ex.getMessage() != null && !ex.getMessage().isEmpty(), "%s: %s refused without a message",
                at, what);
        }
        catch (final RuntimeException ex)
        {
            throw new Invariant(at + ": " + what + " threw " + ex, ex);
        }
        usage.checkUnchanged(before, Invariant.lazy("%s: misused %s", at, what));
    }

    private static Mapping pick(final FuzzData data, final List<Mapping> from)
    {
        return from.isEmpty() ? null : from.get(data.consumeInt(0, from.size() - 1));
    }

    private static void sync(
        final Object at, final FuzzData data, final DmaOps ops, final DmaUsage.Tracker usage,
        final UnsafeBuffer mem, final Swiotlb pool, final List<Mapping> live)
    {
        final boolean forCpu = data.consumeBoolean();
        final Mapping m = pick(data, live);
        if (m != null && data.consumeInt(0, 3) != 0)
        {
            final long offset = data.consumeLong(0, m.len - 1);
            final long len = data.consumeLong(1, m.len - offset);
            final Object what = Invariant.lazy("%s of %d bytes at +%d of %s", forCpu ? "syncForCpu" : "syncForDevice",
                len, offset, m);
            call(at, what, () ->
            {
                if (forCpu)
                {
                    ops.syncForCpu(m.dma + offset, len, m.dir);
                }
                else
                {
                    ops.syncForDevice(m.dma + offset, len, m.dir);
                }
            });
            if (forCpu && m.written >= 0 && offset == 0)
            {
                checkCopyBack(Invariant.lazy("%s after %s", at, what), mem, m, len);
            }
            if (forCpu)
            {
                copiedBack(live, m, m.gpa + offset, len);
            }
            else if (m.dir == DmaDirection.BIDIRECTIONAL && pool != null && pool.isSwiotlbBuffer(m.dma))
            {
                // The CPU handed the buffer back to the device: original -> slot, over what the device wrote.
                m.forgetWritten();
            }
            return;
        }
        final long dma = m != null ? m.dma + data.consumeLong(-4096, m.len + 4096) : data.consumeLong();
        final long len = data.consumeLong(-2, 8192);
        final DmaDirection dir = DIRECTIONS[data.consumeInt(0, DIRECTIONS.length - 1)];
        final DmaUsage before = usage.now();
        boolean refused = false;
        try
        {
            if (forCpu)
            {
                ops.syncForCpu(dma, len, dir);
            }
            else
            {
                ops.syncForDevice(dma, len, dir);
            }
        }
        catch (final IllegalArgumentException | IllegalStateException ex)
        {
            // Refused (the SWIOTLB checks syncs); correct syncs inside a live mapping may not be refused.
            refused = true;
            boolean inside = false;
            for (final Mapping l : live)
            {
                inside |= l.dir == dir && dma >= l.dma && len > 0 && len <= l.dma + l.len - dma;
            }
            Invariant.check(!inside, "%s: sync of dma=0x%x len=%d %s inside a live mapping was refused: %s", at, dma,
                len, dir, ex);
        }
        catch (final RuntimeException ex)
        {
            throw new Invariant(String.format("%s: sync of dma=0x%x len=%d %s threw %s", at, dma, len, dir, ex), ex);
        }
        usage.checkUnchanged(before, Invariant.lazy("%s: sync", at));
        // Accepted: a sync inside a live bounced mapping with its direction is a correct call the fuzzer happened
        // to make, and it moved bytes like one (found by fuzzing: a syncForDevice here had copied the buffer over
        // the device's write in the slot while the model still expected that write after unmap).
        if (refused || pool == null || len <= 0)
        {
            return;
        }
        for (final Mapping l : live)
        {
            if (!pool.isSwiotlbBuffer(l.dma) || l.dir != dir || dma >= l.dma + l.len || dma + len <= l.dma)
            {
                continue;
            }
            if (forCpu)
            {
                final long from = Math.max(dma, l.dma);
                copiedBack(live, l, l.gpa + (from - l.dma), Math.min(dma + len, l.dma + l.len) - from);
            }
            else if (dir != DmaDirection.FROM_DEVICE)
            {
                l.forgetWritten();
            }
        }
    }

    private static void deviceAccess(
        final Object at, final FuzzData data, final DmaOps ops, final DeviceView view,
        final GuestMemory memory, final Swiotlb pool, final boolean strict, final List<Mapping> live,
        final List<Mapping> dead, final MemoryGuard guard)
    {
        final Mapping near = pick(data, data.consumeBoolean() ? live : dead);
        final long bus = near != null && data.consumeBoolean() ? near.dma + data.consumeLong(-64, near.len + 64) :
            data.consumeLong();
        final int len = data.consumeInt(0, 8192);
        final boolean write = data.consumeBoolean();
        final long faults = view.faults();
        try
        {
            if (write)
            {
                view.write(bus, STRAY, 0, len);
            }
            else
            {
                view.read(bus, SCRATCH, 0, len);
            }
        }
        catch (final DmaFault fault)
        {
            Invariant.check(view.faults() == faults + 1, "%s: a refused device %s of %d bytes at 0x%x counted %d " +
                "faults", at, write ? "write" : "read", len, bus, view.faults() - faults);
            return;
        }
        catch (final RuntimeException ex)
        {
            throw new Invariant(String.format("%s: device %s of %d bytes at 0x%x threw %s instead of a DmaFault", at,
                write ? "write" : "read", len, bus, ex), ex);
        }
        Invariant.check(view.faults() == faults, "%s: an allowed access counted a fault", at);
        if (len == 0)
        {
            return;
        }
        final Object what = Invariant.lazy("device %s of %d bytes at 0x%x", write ? "write" : "read", len, bus);
        if (ops instanceof IommuDma)
        {
            // Strict: only live mappings translate. Lazy: stale translations of unmapped ones may too.
            final List<Mapping> reachable = new ArrayList<>(live);
            if (!strict)
            {
                reachable.addAll(dead);
            }
            final boolean covered = coveredByPages(reachable, bus, len, write);
            Invariant.check(covered, "%s: %s was allowed but no mapping covers it (live: %s)", at, what, live);
            if (write)
            {
                allowMappedPages(guard, live, bus, len);
                allowMappedPages(guard, dead, bus, len);
                forgetWrites(live);
            }
            return;
        }
        Invariant.check(memory.contains(bus, len) && memory.hostAccessible(bus, len),
            "%s: %s was allowed outside host-accessible guest memory", at, what);
        if (pool != null && bus < pool.end() && bus + len > pool.start())
        {
            final long from = Math.max(bus, pool.start());
            final long to = Math.min(bus + len, pool.end());
            for (long slot = from & -Swiotlb.IO_TLB_SIZE; slot < to; slot += Swiotlb.IO_TLB_SIZE)
            {
                boolean owned = false;
                for (final Mapping m : live)
                {
                    owned |= pool.isSwiotlbBuffer(m.dma) && slot >= (m.dma & -Swiotlb.IO_TLB_SIZE) &&
                        slot < m.dma + m.len;
                }
                Invariant.check(owned, "%s: %s reached pool slot 0x%x, which no live mapping owns", at, what, slot);
            }
        }
        if (write)
        {
            guard.allow(bus, len);
            forgetWrites(live);
        }
    }

    /**
     * Bytes of {@code [gpa, gpa + len)} changed through {@code source} (a device write, a copy back): other mappings
     * of overlapping buffers can no longer predict what their buffer holds.
     */
    private static void copiedBack(final List<Mapping> live, final Mapping source, final long gpa, final long len)
    {
        if (!source.dir.deviceWrites())
        {
            return;
        }
        for (final Mapping m : live)
        {
            if (m != source && m.gpa < gpa + len && gpa < m.gpa + m.len)
            {
                m.forgetWritten();
            }
        }
    }

    /** An arbitrary device write may have hit any mapping's buffer or bounce slot. */
    private static void forgetWrites(final List<Mapping> live)
    {
        for (final Mapping m : live)
        {
            m.forgetWritten();
        }
    }

    private static boolean coveredByPages(final List<Mapping> maps, final long bus, final long len,
        final boolean write)
    {
        for (long page = bus & -4096L; page < bus + len; page += 4096)
        {
            boolean found = false;
            for (final Mapping m : maps)
            {
                found |= page >= (m.dma & -4096L) && page < m.dma + m.len &&
                    (write ? m.dir.deviceWrites() : m.dir.deviceReads());
            }
            if (!found)
            {
                return false;
            }
        }
        return true;
    }

    private static void allowMappedPages(final MemoryGuard guard, final List<Mapping> maps, final long bus,
        final long len)
    {
        for (final Mapping m : maps)
        {
            final long first = m.dma & -4096L;
            final long bytes = ((m.dma & 4095) + m.len + 4095) & -4096L;
            if (bus < first + bytes && bus + len > first)
            {
                guard.allow(m.gpa & -4096L, bytes);
            }
        }
    }
}
