package vqdma.dma;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fidelity: vqdma's {@link Swiotlb} (kernel allocator) against the C port of {@code kernel/dma/swiotlb.c}
 * ({@code src/test/c/swiotlb_port.c}, Linux 6.12), call by call, on seeded random traces. Both get the same pool
 * (slot count, areas, start GPA) and the same calls: maps of 1 B .. 300 KiB (above one segment too) from random
 * original addresses, with {@code alloc_align_mask}s and {@code min_align_mask}s up to 0xffff, from random start
 * areas, in every direction; unmaps of random live mappings; and bursts of maps until the pool is full. Every map
 * must return the same bus address or the same failure, and at checkpoints and at the end every slot's {@code list},
 * {@code pad_slots}, {@code alloc_size} and {@code orig_addr}, every area's {@code index} and {@code used}, and the
 * used/high-water counters must be equal. The Java side writes what it did in the C program's output format, so a
 * difference is reported as the first differing line with the call that produced it (seed and step).
 * <p>
 * Needs gcc; skipped without it, failed under CI ({@link CPort}).
 */
class SwiotlbPortFidelityTest
{
    static final long MEMORY = 8L << 20;
    static final int SEEDS = 16;
    static final int STEPS = 400;
    static final int SOURCE = 2 << 20;
    static final int[] MIN_ALIGN_MASKS = {0, 0, 0, 0x7FF, 0xFFF, 0x3FFF, 0xFFFF};
    static final int[] ALLOC_ALIGN_MASKS = {0, 0, 0, 0, 0xFFF, 0x3FFF};

    /** The trace for the C program and what the Java model answered, in the C program's words, with their origins. */
    static final class Run
    {
        final StringBuilder trace = new StringBuilder();
        final List<String> expected = new ArrayList<>();
        final List<String> origin = new ArrayList<>();
        long maps;
        long failures;

        void command(final String line)
        {
            trace.append(line).append('\n');
        }

        void expect(final String line, final String where)
        {
            expected.add(line);
            origin.add(where);
        }
    }

    @Test
    void theJavaModelTakesTheKernelsSlotsOnEveryCallAndEndsInTheKernelsState() throws Exception
    {
        final Run run = new Run();
        for (int i = 0; i < SEEDS; i++)
        {
            trace(run, 0xF1DE_0000L + i * 104_729L);
        }
        final String[] actual = CPort.replay(MEMORY, run.trace.toString()).split("\n", -1);
        for (int i = 0; i < run.expected.size(); i++)
        {
            assertTrue(i < actual.length, "the C port stopped answering at " + run.origin.get(i));
            if (!run.expected.get(i).equals(actual[i]))
            {
                fail(run.origin.get(i) + ": vqdma and the kernel's C port differ\n  vqdma:  " +
                    clip(run.expected.get(i)) + "\n  kernel: " + clip(actual[i]));
            }
        }
        assertEquals(run.expected.size() + 1, actual.length, "lines of output (the last one empty)");
        assertTrue(run.maps > 1000 && run.failures > 50, "the traces map and fail often enough: " + run.maps +
            " maps, " + run.failures + " failures");
    }

    private static void trace(final Run run, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final GuestMemory memory = GuestMemory.allocate(MEMORY, false);
        final int pagesBefore = random.nextInt(24);
        if (pagesBefore > 0)
        {
            memory.allocate(pagesBefore * 4096L, 4096); // the pool not always 64 KiB aligned
        }
        final int nareas = 1 << random.nextInt(3);
        final Swiotlb pool = new Swiotlb(memory, (random.nextBoolean() ? 1L : 2L) << 20, nareas);
        final long source = memory.allocate(SOURCE + 512L * 1024, 4096);
        run.command("p " + pool.nslabs() + " " + pool.nareas() + " " + pool.start());

        final List<long[]> live = new ArrayList<>(); // {dma, len, minAlignMask, dir}
        int burst = 0;
        for (int step = 0; step < STEPS; step++)
        {
            final String where = "seed " + seed + " step " + step;
            if (burst == 0 && random.nextInt(40) == 0)
            {
                burst = 600; // map until the pool is full
            }
            if (burst > 0 || live.isEmpty() || random.nextInt(100) < 55)
            {
                final long len = size(random);
                final long orig = source + random.nextInt(SOURCE);
                final int minAlignMask = MIN_ALIGN_MASKS[random.nextInt(MIN_ALIGN_MASKS.length)];
                final int allocAlignMask = ALLOC_ALIGN_MASKS[random.nextInt(ALLOC_ALIGN_MASKS.length)];
                final int area = random.nextInt(nareas);
                final DmaDirection dir = DmaDirection.values()[random.nextInt(3)];
                final String call = "m " + orig + " " + len + " " + allocAlignMask + " " + minAlignMask + " " + area +
                    " " + dir.ordinal();
                run.command(call);
                final long dma = pool.tblMapSingle(orig, len, allocAlignMask, minAlignMask, dir, area);
                run.expect(DmaOps.isMappingError(dma) ? "-1" : Long.toString(dma), where + ": " + call);
                run.maps++;
                if (DmaOps.isMappingError(dma))
                {
                    run.failures++;
                    if (burst > 0 && len <= 128 * 1024)
                    {
                        burst = 0;
                        dump(run, pool, where + ": full");
                    }
                }
                else
                {
                    live.add(new long[] {dma, len, minAlignMask, dir.ordinal()});
                }
                burst = Math.max(0, burst - 1);
            }
            else
            {
                final long[] m = live.remove(random.nextInt(live.size()));
                run.command("u " + m[0] + " " + m[1] + " " + m[2] + " " + m[3]);
                pool.tblUnmapSingle(m[0], m[1], DmaDirection.values()[(int)m[3]], (int)m[2]);
            }
            if (step % 100 == 99)
            {
                dump(run, pool, where);
            }
        }
        for (final long[] m : live)
        {
            run.command("u " + m[0] + " " + m[1] + " " + m[2] + " " + m[3]);
            pool.tblUnmapSingle(m[0], m[1], DmaDirection.values()[(int)m[3]], (int)m[2]);
        }
        dump(run, pool, "seed " + seed + " end, everything unmapped");
    }

    /** Sizes of 1 B .. 300 KiB, most of them small enough to fill the pool with many mappings. */
    private static long size(final SplittableRandom random)
    {
        switch (random.nextInt(5))
        {
            case 0:
            case 1:
                return 1 + random.nextInt(4096);
            case 2:
                return 4096 + random.nextInt(60 * 1024);
            case 3:
                return 64 * 1024 + random.nextInt(192 * 1024);
            default:
                return 1 + random.nextInt(300 * 1024);
        }
    }

    /** The pool's state in the words of {@code swiotlb_port}'s {@code s} command. */
    private static void dump(final Run run, final Swiotlb pool, final String where)
    {
        run.command("s");
        for (int a = 0; a < pool.nareas(); a++)
        {
            run.expect("A " + pool.areaIndex(a) + " " + pool.areaUsed(a), where + ": index and used of area " + a);
        }
        final StringBuilder list = new StringBuilder("L");
        final StringBuilder pad = new StringBuilder("P");
        final StringBuilder alloc = new StringBuilder("S");
        final StringBuilder orig = new StringBuilder("O");
        for (int s = 0; s < pool.nslabs(); s++)
        {
            list.append(' ').append(pool.lpList(s));
            pad.append(' ').append(pool.lpPadSlots(s));
            // size_t in the kernel: the last slot of a run padded for min_align_mask can hold less than the offset,
            // and its alloc_size goes below zero (wraps there, is negative here: the same number modulo 2^64).
            alloc.append(' ').append(Long.toUnsignedString(pool.lpAllocSize(s)));
            final long o = pool.lpOrigAddr(s);
            orig.append(' ').append(o == Swiotlb.INVALID_PHYS_ADDR ? "-1" : Long.toString(o));
        }
        run.expect(list.toString(), where + ": list[] of every slot");
        run.expect(pad.toString(), where + ": pad_slots of every slot");
        run.expect(alloc.toString(), where + ": alloc_size of every slot");
        run.expect(orig.toString(), where + ": orig_addr of every slot");
        run.expect("U " + pool.usedSlots() + " " + pool.usedHiwater(), where + ": total used and high-water mark");
    }

    private static String clip(final String line)
    {
        return line.length() <= 300 ? line : line.substring(0, 300) + "... (" + line.length() + " chars)";
    }
}
