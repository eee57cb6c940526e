package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Several threads map and unmap concurrently through one {@code swiotlb-force} pool, for a bounded number of
 * iterations and time. Each thread writes a pattern tagged with its id and iteration into its slots through the
 * device view, and checks it before unmapping: a slot handed to two mappings at once would show another thread's
 * pattern. An ownership array claimed with CAS on every slot of every mapping catches double allocation directly.
 * Some mappings are handed to other threads to unmap (a completion on another CPU). At the end nothing may leak.
 * The kernel's allocator runs in most cases; the 2022 RFC's bitmap and LIFO free lists in one each.
 */
class SwiotlbConcurrencyTest
{
    static final int ITERATIONS = 4000;
    static final long TIME_LIMIT_NS = 3_000_000_000L;

    /** A mapping handed over to another thread. */
    static final class Handoff
    {
        final long dma;
        final int len;
        final DmaDirection dir;
        final int tag;

        Handoff(final long dma, final int len, final DmaDirection dir, final int tag)
        {
            this.dma = dma;
            this.len = len;
            this.dir = dir;
            this.tag = tag;
        }
    }

    static byte tagged(final int tag, final int i)
    {
        return (byte)(tag * 131 + i * 7 + (i >>> 9));
    }

    @ParameterizedTest(name = "{0} threads, {1} areas, seed {2}, {3}")
    @CsvSource({"2, 1, 11, KERNEL", "2, 2, 12, KERNEL", "3, 4, 13, KERNEL", "4, 2, 14, KERNEL", "4, 4, 15, KERNEL",
        "3, 2, 16, BITMAP", "4, 2, 17, HOT"})
    void concurrentMappingsNeverShareASlotAndNothingLeaks(final int threads, final int nareas, final long seed,
        final SwiotlbAllocator allocator) throws Exception
    {
        final GuestMemory memory = GuestMemory.allocate(32L << 20, false);
        final Swiotlb pool = new Swiotlb(memory, 2L << 20, nareas, allocator); // 1024 slots: full happens under load
        final SwiotlbDma ops = new SwiotlbDma(pool, true);
        final DeviceView view = ops.deviceView();
        final AtomicIntegerArray owner = new AtomicIntegerArray(pool.nslabs());
        final ConcurrentLinkedQueue<Handoff> handoffs = new ConcurrentLinkedQueue<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CyclicBarrier go = new CyclicBarrier(threads);
        final long[] buffers = new long[threads];
        for (int t = 0; t < threads; t++)
        {
            buffers[t] = memory.allocate(512 * 1024, 4096);
        }
        final int[] completed = new int[threads];
        final int[] fullCount = new int[threads];

        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final int id = t;
            workers.add(new Thread(() ->
            {
                try
                {
                    final SplittableRandom random = new SplittableRandom(seed * 1000 + id);
                    final UnsafeBuffer scratch = new UnsafeBuffer(new byte[300 * 1024]);
                    go.await();
                    final long deadline = System.nanoTime() + TIME_LIMIT_NS;
                    for (int n = 0; n < ITERATIONS && System.nanoTime() < deadline && failure.get() == null; n++)
                    {
                        final Handoff foreign = handoffs.poll();
                        if (foreign != null)
                        {
                            verifyAndUnmap(ops, view, owner, pool, foreign, scratch, "thread " + id + " (foreign)");
                        }
                        final int len = random.nextInt(8) == 0 ?
                            1 + random.nextInt(256 * 1024) : 1 + random.nextInt(32 * 1024);
                        final DmaDirection dir = DmaDirection.values()[random.nextInt(3)];
                        final long gpa = buffers[id] + random.nextInt(512 * 1024 - len + 1);
                        final long dma = ops.map(gpa, len, dir);
                        if (DmaOps.isMappingError(dma))
                        {
                            fullCount[id]++;
                            continue;
                        }
                        final int tag = id * 1_000_000 + n;
                        claim(owner, pool, dma, len, tag, "thread " + id + " iteration " + n);
                        for (int i = 0; i < len; i++)
                        {
                            scratch.putByte(i, tagged(tag, i));
                        }
                        view.write(dma, scratch, 0, len);
                        if (random.nextInt(4) == 0)
                        {
                            Thread.yield(); // let the others allocate in between
                        }
                        final Handoff mine = new Handoff(dma, len, dir, tag);
                        if (random.nextInt(3) == 0)
                        {
                            handoffs.add(mine); // someone else will check and unmap it
                        }
                        else
                        {
                            verifyAndUnmap(ops, view, owner, pool, mine, scratch, "thread " + id + " iteration " + n);
                        }
                        completed[id]++;
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            }, "swiotlb-" + t));
        }
        for (final Thread w : workers)
        {
            w.start();
        }
        for (final Thread w : workers)
        {
            w.join(60_000);
            assertFalse(w.isAlive(), w.getName() + " did not finish");
        }
        if (failure.get() != null)
        {
            throw new AssertionError("seed " + seed + ": " + failure.get(), failure.get());
        }
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[300 * 1024]);
        Handoff left;
        while ((left = handoffs.poll()) != null)
        {
            verifyAndUnmap(ops, view, owner, pool, left, scratch, "drain");
        }

        int total = 0;
        for (final int c : completed)
        {
            total += c;
        }
        assertTrue(total > 100, "seed " + seed + ": only " + total + " mappings completed");
        SwiotlbModel.assertPristine(pool, "seed " + seed + " after " + total + " mappings: no leak");
        assertEquals(total, pool.mappings(), "seed " + seed + ": every mapping counted once");
        assertEquals(0, pool.oversizeFailures(), "seed " + seed);
        int full = 0;
        for (final int f : fullCount)
        {
            full += f;
        }
        assertEquals(full, pool.fullFailures(), "seed " + seed + ": every failure was a full pool, counted");
    }

    static void claim(final AtomicIntegerArray owner, final Swiotlb pool, final long dma, final int len,
        final int tag, final String who)
    {
        for (long s = slot(pool, dma), last = slot(pool, dma + len - 1); s <= last; s++)
        {
            assertTrue(owner.compareAndSet((int)s, 0, tag + 1),
                who + ": slot " + s + " handed out while owned by tag " + (owner.get((int)s) - 1));
        }
    }

    static void verifyAndUnmap(final SwiotlbDma ops, final DeviceView view, final AtomicIntegerArray owner,
        final Swiotlb pool, final Handoff m, final UnsafeBuffer scratch, final String who)
    {
        view.read(m.dma, scratch, 0, m.len);
        for (int i = 0; i < m.len; i++)
        {
            if (scratch.getByte(i) != tagged(m.tag, i))
            {
                fail(who + ": mapping of tag " + m.tag + " at 0x" + Long.toHexString(m.dma) + " len " + m.len +
                    " was overwritten at byte " + i);
            }
        }
        for (long s = slot(pool, m.dma), last = slot(pool, m.dma + m.len - 1); s <= last; s++)
        {
            assertTrue(owner.compareAndSet((int)s, m.tag + 1, 0), who + ": slot " + s + " lost its owner");
        }
        ops.unmap(m.dma, m.len, m.dir);
    }

    static long slot(final Swiotlb pool, final long addr)
    {
        return (addr - pool.start()) >>> Swiotlb.IO_TLB_SHIFT;
    }
}
