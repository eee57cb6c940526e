package vqdma.fuzz;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.IommuDma;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.PackedRing;
import vqdma.ring.PackedRingDescriptor;
import vqdma.ring.SplitRing;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static vqdma.ring.SplitRingDescriptor.*;
import static vqdma.ring.Vring.DESC_SIZE;

/**
 * The driver side of the device targets, played by the fuzzer: it lays out a split ring (or a packed one) in guest
 * memory, maps
 * buffers and indirect tables through a real {@link DmaOps}, and then writes whatever the input says into the
 * descriptor table, the indirect tables and the available ring, raw, as a buggy or hostile guest could. Addresses
 * and lengths are drawn so that the fuzzer reaches valid buffers often and the edges (past the end of memory, the top
 * of the address space, the ring itself, u32 lengths) just as easily.
 * <p>
 * It also keeps what the oracles need: a {@link BusMap} of what it mapped, and the baseline {@link DmaUsage}, which
 * {@link #unmapAll} requires again at the end.
 * <p>
 * A target keeps one driver per DMA profile for the life of the process ({@link FuzzProfiles.PerProfile}): its
 * {@link FuzzRig} holds the bounce pool (SWIOTLB), then a ring region sized for {@link #MAX_NUM}, the data area with
 * its pattern and the indirect tables, laid out once. The layout (split or packed) is the driver's, fixed at
 * construction. {@link #begin} starts an input: the rig reset, the ring of the input's size mapped at the start of
 * the ring region.
 */
final class HostileDriver
{
    /** Bytes of the data area buffers come from. */
    static final int DATA_BYTES = 64 * 1024;
    /** Indirect tables the driver fills. */
    static final int TABLES = 4;
    /** Bytes of one indirect table slot (64 descriptors). */
    static final int TABLE_BYTES = 1024;
    /** The largest queue size an input picks for a split ring (a power of two). */
    static final int MAX_NUM = 32;
    /** The largest queue size an input picks for a packed ring (any size from 1). */
    static final int MAX_PACKED_NUM = 40;

    private static final int RING_REGION_BYTES =
        pages(Math.max(vringSize(MAX_NUM, LEGACY_ALIGN), PackedRingDescriptor.ringSize(MAX_PACKED_NUM)));
    /** Guest memory the driver lays out (the rig adds a SWIOTLB pool). */
    private static final long LAYOUT_BYTES = RING_REGION_BYTES + DATA_BYTES + pages(TABLES * TABLE_BYTES);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final DmaDirection[] DIRECTIONS = DmaDirection.values();
    private static final byte[] DATA_PATTERN = new byte[DATA_BYTES];

    static
    {
        for (int i = 0; i < DATA_BYTES; i++)
        {
            DATA_PATTERN[i] = (byte)(i * 31 + 7);
        }
    }

    final DmaProfile profile;
    final FuzzRig rig;
    final GuestMemory memory;
    final DmaOps ops;
    final MemoryGuard guard;
    /** True for a packed ring, false for a split one. */
    final boolean packedLayout;
    final long ringGpa;
    final long dataGpa;
    final long tableGpa;
    final BusMap busMap = new BusMap();
    final RingGrants grants;
    private final boolean iommu;
    private final Swiotlb pool;
    private final List<LeakCheckingDma.Mapping> maps = new ArrayList<>();
    // The input's ring:
    int num;
    int ringBytes;
    long ringBus;
    /** The split ring's accessors (null for a packed ring). */
    SplitRing raw;
    /** The packed ring's accessors (null for a split ring). */
    PackedRing packed;
    DmaUsage baseline;
    private long tableBus;

    /** A split-ring driver: {@link #HostileDriver(DmaProfile, boolean)} with {@code packedLayout} false. */
    HostileDriver(final DmaProfile profile)
    {
        this(profile, false);
    }

    /**
     * Builds the profile's rig and lays out the ring region, the data area (with its pattern) and the tables.
     *
     * @param profile      the DMA profile.
     * @param packedLayout true for packed rings ({@code 16 * num + 8} bytes: descriptors, driver and device event
     *                     suppression structures), false for split ones.
     */
    HostileDriver(final DmaProfile profile, final boolean packedLayout)
    {
        this.profile = profile;
        this.packedLayout = packedLayout;
        this.rig = new FuzzRig(profile, LAYOUT_BYTES);
        this.memory = rig.memory;
        this.ops = rig.ops;
        this.guard = rig.guard;
        this.iommu = ops instanceof IommuDma;
        this.pool = ops instanceof SwiotlbDma ? ((SwiotlbDma)ops).pool() : null;
        this.grants = new RingGrants(memory);
        this.ringGpa = memory.allocateShared(RING_REGION_BYTES);
        this.dataGpa = rig.data(DATA_PATTERN).dataGpa();
        this.tableGpa = memory.allocateShared((long)TABLES * TABLE_BYTES);
        rig.seal();
    }

    private static int pages(final int bytes)
    {
        return (bytes + GuestMemory.PAGE_SIZE - 1) & -GuestMemory.PAGE_SIZE;
    }

    /**
     * Starts an input: resets the rig, then maps a zeroed ring of {@code num} entries at the start of the ring region.
     *
     * @param num the queue size: a power of two up to {@link #MAX_NUM} (split), 1..{@link #MAX_PACKED_NUM} (packed).
     * @return this.
     */
    HostileDriver begin(final int num)
    {
        if (num < 1 || num > (packedLayout ? MAX_PACKED_NUM : MAX_NUM) || (!packedLayout && Integer.bitCount(num) != 1))
        {
            throw new IllegalArgumentException("queue size " + num + " does not fit the ring region of a " +
                (packedLayout ? "packed" : "split") + " hostile driver");
        }
        rig.reset();
        maps.clear();
        busMap.clear();
        grants.invalidate();
        this.num = num;
        this.baseline = DmaUsage.of(ops);
        this.ringBytes = packedLayout ? PackedRingDescriptor.ringSize(num) : vringSize(num, LEGACY_ALIGN);
        this.ringBus = ops.mapCoherent(ringGpa, ringBytes);
        Invariant.check(!DmaOps.isMappingError(ringBus), "%s cannot map a ring of %d bytes", ops.name(), ringBytes);
        final UnsafeBuffer mem = memory.buffer();
        this.raw = packedLayout ? null : new SplitRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, descTableSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + availOffset(num, LEGACY_ALIGN), availSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + usedOffset(num, LEGACY_ALIGN), usedSize(num)));
        this.packed = !packedLayout ? null : new PackedRing(num,
            new UnsafeBuffer(mem, (int)ringGpa, PackedRingDescriptor.descRingSize(num)),
            new UnsafeBuffer(mem, (int)ringGpa + PackedRingDescriptor.driverEventOffset(num),
                PackedRingDescriptor.EVENT_SIZE),
            new UnsafeBuffer(mem, (int)ringGpa + PackedRingDescriptor.deviceEventOffset(num),
                PackedRingDescriptor.EVENT_SIZE));
        if (iommu)
        {
            addIommuPages(ringBus, ringGpa, ringBytes, DmaDirection.BIDIRECTIONAL);
        }
        else
        {
            busMap.add(0, 0, memory.size(), true, true);
        }
        this.tableBus = tableGpa;
        return this;
    }

    private void addIommuPages(final long bus, final long gpa, final long len, final DmaDirection dir)
    {
        final long offset = gpa & (GuestMemory.PAGE_SIZE - 1);
        final long pages = (offset + len + GuestMemory.PAGE_SIZE - 1) & -GuestMemory.PAGE_SIZE;
        busMap.add(bus - offset, gpa - offset, pages, dir.deviceReads(), dir.deviceWrites());
    }

    /** @return the bus address of the available ring. */
    long availBus()
    {
        return ringBus + availOffset(num, LEGACY_ALIGN);
    }

    /** @return the bus address of the used ring. */
    long usedBus()
    {
        return ringBus + usedOffset(num, LEGACY_ALIGN);
    }

    /** @return the guest address of {@code avail.idx}. */
    long availIdxGpa()
    {
        return ringGpa + availOffset(num, LEGACY_ALIGN) + AVAIL_IDX_OFFSET;
    }

    /** @return the guest address of the used ring. */
    long usedGpa()
    {
        return ringGpa + usedOffset(num, LEGACY_ALIGN);
    }

    /**
     * Reads the grants of the ring as it is in memory now ({@link RingGrants}, in this driver's layout) and allows
     * the device to write every writable one. The device targets call it after each pop: pop may have completed bad
     * chains before the one it returns, writing used entries a hostile driver can lay an indirect table over, and
     * nothing is written between the returned chain's walk and the return, so these are the grants it was walked in
     * ({@code RingGrantsTest.aChainIsWalkedInTheRingAsPopLeftIt}).
     */
    void readGrants()
    {
        final boolean changed = packedLayout ? grants.updatePacked(busMap, ringGpa, num) :
            grants.update(busMap, ringGpa, num);
        if (changed)
        {
            guard.allowAll(grants.writes());
        }
    }

    /** Shares a few data pages chosen by the input (a confidential guest's device reaches only those directly). */
    void sharePages(final FuzzData data)
    {
        if (memory.isConfidential())
        {
            final int pages = data.consumeInt(0, 3);
            for (int i = 0; i < pages; i++)
            {
                memory.share(dataGpa + (long)data.consumeInt(0, DATA_BYTES / GuestMemory.PAGE_SIZE - 1) *
                    GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE);
            }
        }
    }

    /**
     * Maps {@code [gpa, gpa + len)} for the device through the ops.
     *
     * @return the bus address, or -1 if the mapping failed (a full bounce pool, no IOVA).
     */
    long map(final long gpa, final long len, final DmaDirection dir)
    {
        final long bus = ops.map(gpa, len, dir);
        if (DmaOps.isMappingError(bus))
        {
            return -1;
        }
        maps.add(new LeakCheckingDma.Mapping(bus, gpa, len, dir));
        if (iommu)
        {
            addIommuPages(bus, gpa, len, dir);
        }
        if (pool != null && pool.isSwiotlbBuffer(bus))
        {
            // The bounce copy made at map time is set-up: the guard compares the slots against it.
            guard.refresh(bus, len);
        }
        return bus;
    }

    /**
     * Ends the input's set-up: takes what the driver wrote (the ring, the indirect tables, the bounce copies of its
     * mappings, and whatever else the target names) into the guard's expected image and starts watching.
     */
    void watch()
    {
        guard.refresh(ringGpa, ringBytes);
        guard.refresh(tableGpa, (long)TABLES * TABLE_BYTES);
        guard.watch();
    }

    /** Maps a few data buffers chosen by the input. */
    void mapBuffers(final FuzzData data)
    {
        final int count = data.consumeInt(0, 6);
        for (int i = 0; i < count; i++)
        {
            final int offset = data.consumeInt(0, DATA_BYTES - 1);
            final int len = data.consumeInt(1, Math.min(DATA_BYTES - offset, 16 * 1024));
            map(dataGpa + offset, len, DIRECTIONS[data.consumeInt(0, DIRECTIONS.length - 1)]);
        }
    }

    /** Fills the indirect tables from the input, then maps them (a bounce copies them at map time). */
    void fillAndMapTables(final FuzzData data)
    {
        final UnsafeBuffer mem = memory.buffer();
        for (int t = 0; t < TABLES; t++)
        {
            final int count = data.consumeInt(0, Math.min(2 * num + 1, TABLE_BYTES / DESC_SIZE));
            for (int j = 0; j < count; j++)
            {
                final int at = (int)tableGpa + t * TABLE_BYTES + descOffset(j);
                mem.putLong(at + DESC_ADDR_OFFSET, nextAddr(data), LE);
                mem.putInt(at + DESC_LEN_OFFSET, nextLen(data), LE);
                if (packedLayout)
                {
                    // A packed table entry: id (ignored by the device) and flags; no next, entries are in order.
                    mem.putShort(at + PackedRingDescriptor.DESC_ID_OFFSET, (short)data.consumeInt(0, 0xFFFF), LE);
                    mem.putShort(at + PackedRingDescriptor.DESC_FLAGS_OFFSET, (short)nextFlags(data), LE);
                    continue;
                }
                mem.putShort(at + DESC_FLAGS_OFFSET, (short)nextFlags(data), LE);
                mem.putShort(at + DESC_NEXT_OFFSET, (short)(data.consumeBoolean() ?
                    data.consumeInt(0, count) : data.consumeInt(0, 0xFFFF)), LE);
            }
        }
        final long bus = map(tableGpa, (long)TABLES * TABLE_BYTES, DmaDirection.TO_DEVICE);
        tableBus = bus < 0 ? tableGpa : bus;
    }

    /** Fills the descriptor table from the input. */
    void fillDescriptors(final FuzzData data)
    {
        for (int i = 0; i < num; i++)
        {
            raw.spDesc(i, nextAddr(data), nextLen(data), nextFlags(data), nextNext(data));
        }
    }

    /** @return a descriptor address: mostly a mapped buffer or a table, sometimes anything. */
    long nextAddr(final FuzzData data)
    {
        switch (data.consumeInt(0, 9))
        {
            case 0:
            case 1:
            case 2:
            case 3:
                if (!maps.isEmpty())
                {
                    final LeakCheckingDma.Mapping m = maps.get(data.consumeInt(0, maps.size() - 1));
                    return m.dma() + data.consumeLong(0, m.len());
                }
                return dataGpa + data.consumeInt(0, DATA_BYTES);
            case 4:
                return dataGpa + data.consumeInt(0, DATA_BYTES);
            case 5:
                return tableBus + (long)DESC_SIZE * data.consumeInt(0, TABLES * TABLE_BYTES / DESC_SIZE);
            case 6:
                return ringBus + data.consumeInt(0, ringBytes);
            case 7:
                return memory.size() - data.consumeInt(0, 64);
            case 8:
                return data.consumeLong();
            default:
                return -data.consumeLong(1, 64);
        }
    }

    /** @return a descriptor length (a u32 as an int): mostly small, sometimes table-shaped or anything. */
    int nextLen(final FuzzData data)
    {
        switch (data.consumeInt(0, 3))
        {
            case 0:
                return data.consumeInt(0, 64);
            case 1:
                return data.consumeInt(0, 16 * 1024);
            case 2:
                return DESC_SIZE * data.consumeInt(0, 2 * num + 1);
            default:
                return data.consumeInt();
        }
    }

    /** @return descriptor flags: mostly the three defined ones, sometimes any u16. */
    int nextFlags(final FuzzData data)
    {
        return data.consumeBoolean() ? data.consumeInt(0, 7) : data.consumeInt(0, 0xFFFF);
    }

    /** @return a next index: mostly in range (or just past it), sometimes any u16. */
    int nextNext(final FuzzData data)
    {
        return data.consumeBoolean() ? data.consumeInt(0, num) : data.consumeInt(0, 0xFFFF);
    }

    /** @return a head for the avail ring: mostly in range, sometimes any u16. */
    int nextHead(final FuzzData data)
    {
        return data.consumeInt(0, 7) != 0 ? data.consumeInt(0, num - 1) : data.consumeInt(0, 0xFFFF);
    }

    /** Allows the copy back of every bounced device-writable mapping, which {@link #unmapAll()} does. */
    void allowCopyBack(final MemoryGuard guard)
    {
        for (final LeakCheckingDma.Mapping m : maps)
        {
            if (m.dir().deviceWrites())
            {
                guard.allow(m.gpa(), m.len());
            }
        }
    }

    /**
     * Unmaps every buffer and the ring, settles the ops, and requires the baseline usage again.
     *
     * @param context what ran, for the message.
     */
    void unmapAll(final Object context)
    {
        for (int i = maps.size() - 1; i >= 0; i--)
        {
            final LeakCheckingDma.Mapping m = maps.get(i);
            ops.unmap(m.dma(), m.len(), m.dir());
        }
        maps.clear();
        ops.unmapCoherent(ringBus, ringBytes);
        DmaUsage.settle(ops);
        DmaUsage.of(ops).checkBackTo(baseline, context);
    }
}
