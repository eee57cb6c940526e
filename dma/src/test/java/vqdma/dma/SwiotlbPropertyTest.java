package vqdma.dma;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Property tests of the SWIOTLB allocator and bouncing, from seeded random operation sequences (JUnit 5 and
 * {@link SplittableRandom}; every assertion message names the seed and the step, so a failure replays with that seed).
 * <p>
 * Each step is a map (sizes 1 B .. 300 KiB, random original offsets, {@code min_align_mask}, {@code alloc_align_mask},
 * direction and start area), an unmap of a random live mapping (after the "device" wrote its slots), or a sync of a
 * random sub-range. After every step: the slot the pool chose equals the reference model's prediction
 * ({@link SwiotlbModel}), every free-run counter equals the free run to the segment end, used counts match, no slot is
 * owned by two live mappings, and the bytes moved exactly as the direction says. At the end everything is unmapped and
 * the pool must be back to its initial state.
 * <p>
 * Every allocator runs the same traces: {@link SwiotlbAllocator#KERNEL} and {@link SwiotlbAllocator#BITMAP} must take
 * exactly the model's slot, {@link SwiotlbAllocator#LIFO} and {@link SwiotlbAllocator#HOT} a legal one, failing only
 * when no area has one ({@link SwiotlbModel#follow}).
 */
class SwiotlbPropertyTest
{
    static final int KIB = 1024;
    static final int STEPS = 300;
    static final int SOURCE = 1 << 20;
    static final int[] MIN_ALIGN_MASKS = {0, 0, 0, 0x7FF, 0xFFF, 0x3FFF};
    static final int[] ALLOC_ALIGN_MASKS = {0, 0, 0, 0, 0xFFF, 0xFFFF};

    static LongStream seeds()
    {
        return LongStream.range(0, 40).map(i -> 0x5EED_0000L + i * 7919);
    }

    static Stream<Arguments> allocatorsAndSeeds()
    {
        return Stream.of(SwiotlbAllocator.values())
            .flatMap(a -> seeds().limit(!a.usesIndex() ? 20 : a == SwiotlbAllocator.KERNEL ? 40 : 10)
                .mapToObj(seed -> Arguments.of(a, seed)));
    }

    /** One live mapping, as the test remembers it. */
    static final class Mapping
    {
        long orig;
        long dma;
        int len;
        DmaDirection dir;
        int minAlignMask;
        int first;
        int nslots;
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("allocatorsAndSeeds")
    void randomInterleavingsKeepTheAllocatorExactAndTheBytesRight(final SwiotlbAllocator allocator, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final GuestMemory memory = GuestMemory.allocate(8L << 20, false);
        final int pagesBefore = random.nextInt(16);
        if (pagesBefore > 0)
        {
            memory.allocate(pagesBefore * 4096L, 4096); // pool start not always 64 KiB aligned
        }
        final int nareas = 1 << random.nextInt(3);
        final Swiotlb pool = new Swiotlb(memory, 1 << 20, nareas, allocator); // 512 slots: full happens often
        final SwiotlbModel model = new SwiotlbModel(pool);
        final long source = memory.allocate(SOURCE + 512L * KIB, 4096);
        final byte[] noise = new byte[SOURCE + 512 * KIB];
        random.nextBytes(noise);
        memory.buffer().putBytes((int)source, noise);

        final List<Mapping> live = new ArrayList<>();
        long oversize = 0;
        long full = 0;
        for (int step = 0; step < STEPS; step++)
        {
            final String where = allocator + " seed " + seed + " step " + step;
            final int op = random.nextInt(100);
            if (op < 55 || live.isEmpty())
            {
                final Mapping m = new Mapping();
                m.len = randomSize(random);
                m.orig = source + random.nextInt(SOURCE);
                m.dir = DmaDirection.values()[random.nextInt(3)];
                m.minAlignMask = MIN_ALIGN_MASKS[random.nextInt(MIN_ALIGN_MASKS.length)];
                final int allocAlignMask = ALLOC_ALIGN_MASKS[random.nextInt(ALLOC_ALIGN_MASKS.length)];
                final int area = random.nextInt(nareas);
                final byte[] original = SwiotlbTest.bytes(memory, m.orig, m.len);
                final String what = where + ": map len=" + m.len + " orig=0x" + Long.toHexString(m.orig) +
                    " minAlign=0x" + Integer.toHexString(m.minAlignMask) + " allocAlign=0x" +
                    Integer.toHexString(allocAlignMask) + " area=" + area;
                final SwiotlbModel.Prediction p;
                if (!allocator.usesIndex())
                {
                    m.dma = pool.tblMapSingle(m.orig, m.len, allocAlignMask, m.minAlignMask, m.dir, area);
                    p = model.follow(m.orig, m.len, allocAlignMask, m.minAlignMask, area, m.dma, what);
                }
                else
                {
                    p = model.map(m.orig, m.len, allocAlignMask, m.minAlignMask, area);
                    m.dma = pool.tblMapSingle(m.orig, m.len, allocAlignMask, m.minAlignMask, m.dir, area);
                }
                assertEquals(p.tlbAddr, m.dma, what + ": bus address vs. the model");
                if (p.oversize)
                {
                    oversize++;
                }
                else if (p.first < 0)
                {
                    full++;
                }
                else
                {
                    assertEquals(m.orig & m.minAlignMask & 0x7FF, m.dma & m.minAlignMask & 0x7FF, what);
                    assertEquals(m.orig & m.minAlignMask, m.dma & m.minAlignMask, what + ": min_align_mask bits");
                    assertArrayEquals(original, SwiotlbTest.bytes(memory, m.dma, m.len),
                        what + ": the slot holds the original for every direction");
                    m.first = p.first;
                    m.nslots = p.nslots;
                    live.add(m);
                }
                assertEquals(oversize, pool.oversizeFailures(), what + ": oversize failures");
                assertEquals(full, pool.fullFailures(), what + ": full failures");
            }
            else if (op < 85)
            {
                final Mapping m = live.remove(random.nextInt(live.size()));
                final byte[] device = new byte[m.len];
                random.nextBytes(device);
                memory.buffer().putBytes((int)m.dma, device); // the device writes the whole slot range
                final byte[] before = SwiotlbTest.bytes(memory, m.orig, m.len);
                pool.tblUnmapSingle(m.dma, m.len, m.dir, m.minAlignMask);
                model.release(m.first, m.nslots);
                assertArrayEquals(m.dir == DmaDirection.TO_DEVICE ? before : device,
                    SwiotlbTest.bytes(memory, m.orig, m.len), where + ": unmap " + m.dir + " len=" + m.len);
            }
            else
            {
                final Mapping m = live.get(random.nextInt(live.size()));
                final int from = random.nextInt(m.len);
                final int len = 1 + random.nextInt(m.len - from);
                final boolean forCpu = random.nextBoolean();
                final byte[] slotBefore = SwiotlbTest.bytes(memory, m.dma + from, len);
                final byte[] origBefore = SwiotlbTest.bytes(memory, m.orig + from, len);
                final String what = where + ": " + (forCpu ? "syncForCpu " : "syncForDevice ") + m.dir + " +" +
                    from + " len=" + len + " of len=" + m.len;
                if (forCpu)
                {
                    pool.syncSingleForCpu(m.dma + from, len, m.dir, m.minAlignMask);
                    assertArrayEquals(m.dir == DmaDirection.TO_DEVICE ? origBefore : slotBefore,
                        SwiotlbTest.bytes(memory, m.orig + from, len), what);
                }
                else
                {
                    pool.syncSingleForDevice(m.dma + from, len, m.dir, m.minAlignMask);
                    assertArrayEquals(m.dir == DmaDirection.FROM_DEVICE ? slotBefore : origBefore,
                        SwiotlbTest.bytes(memory, m.dma + from, len), what);
                }
            }
            model.assertMatches(pool, where);
            assertNoSlotOwnedTwice(pool, live, where);
        }

        for (final Mapping m : live)
        {
            pool.tblUnmapSingle(m.dma, m.len, m.dir, m.minAlignMask);
            model.release(m.first, m.nslots);
        }
        model.assertMatches(pool, allocator + " seed " + seed + " end");
        SwiotlbModel.assertPristine(pool, allocator + " seed " + seed + " end: no leak");
        assertTrue(pool.usedHiwater() > 0 || oversize + full == STEPS, "seed " + seed);
    }

    /** Sizes from 1 B to 300 KiB, spread over small, medium and large so that every path is taken. */
    static int randomSize(final SplittableRandom random)
    {
        switch (random.nextInt(4))
        {
            case 0:
                return 1 + random.nextInt(4096);
            case 1:
                return 4096 + random.nextInt(60 * KIB);
            case 2:
                return 64 * KIB + random.nextInt(192 * KIB);
            default:
                return 1 + random.nextInt(300 * KIB);
        }
    }

    /** Every live mapping's slots (padding included) are owned by it alone, and are not free. */
    static void assertNoSlotOwnedTwice(final Swiotlb pool, final List<Mapping> live, final String where)
    {
        final int[] owner = new int[pool.nslabs()];
        Arrays.fill(owner, -1);
        for (int i = 0; i < live.size(); i++)
        {
            final Mapping m = live.get(i);
            for (int s = m.first; s < m.first + m.nslots; s++)
            {
                assertEquals(-1, owner[s], where + ": slot " + s + " owned by mappings " + owner[s] + " and " + i);
                owner[s] = i;
                assertFalse(SwiotlbSlotDescriptor.isFree(pool.laState(s)), where + ": live slot " + s + " is free");
            }
        }
    }
}
