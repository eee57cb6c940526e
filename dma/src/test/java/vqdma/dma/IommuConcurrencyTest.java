package vqdma.dma;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Several guest threads map and unmap through one {@link IommuDma} (sharing CPU slots when there are more threads
 * than slots), each also acting as the device for its own mappings. A shared table of IOVA page -> owner catches an
 * IOVA handed out twice; every mapping's bytes are read back through the device view; at the end nothing leaks.
 */
class IommuConcurrencyTest
{
    static final int THREADS = 4;
    static final int ROUNDS = 4000;

    @ParameterizedTest
    @EnumSource(IommuDma.Mode.class)
    void concurrentMapUnmapLosesNothingAndNeverDoubleAllocates(final IommuDma.Mode mode) throws Exception
    {
        final GuestMemory memory = GuestMemory.allocate(16L << 20, false);
        final IommuDma iommu = IommuDma.builder(memory).mode(mode).invalidationNanos(0).cacheSlots(2).build();
        for (int i = 0; i < memory.size(); i += 4096)
        {
            memory.buffer().putInt(i, i); // each page names itself
        }
        final ConcurrentHashMap<Long, Integer> owner = new ConcurrentHashMap<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CyclicBarrier start = new CyclicBarrier(THREADS);
        final List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++)
        {
            final int id = t;
            final Thread thread = new Thread(() ->
            {
                try
                {
                    start.await();
                    run(iommu, memory, owner, id);
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            }, "mapper-" + t);
            threads.add(thread);
            thread.start();
        }
        for (final Thread thread : threads)
        {
            thread.join(120_000);
            assertFalse(thread.isAlive(), thread.getName() + " hung");
        }
        if (failure.get() != null)
        {
            throw new AssertionError(mode + ": a mapper failed", failure.get());
        }
        iommu.flush();
        assertTrue(owner.isEmpty());
        assertEquals(0, iommu.domain().liveIovas(), mode + ": leaked IOVAs");
        assertEquals(0, iommu.pageTable().presentPtes(), mode + ": present PTEs left");
        assertEquals(0, iommu.pendingPages());
        iommu.domain().flushRcaches();
        assertEquals(0, iommu.domain().treeRanges(), mode + ": ranges left in the tree");
        assertEquals(0, iommu.mappingErrors());
        assertTrue(iommu.domain().rcacheHits() > 0, "the range caches were used");
    }

    private static void run(
        final IommuDma iommu, final GuestMemory memory, final ConcurrentHashMap<Long, Integer> owner, final int id)
    {
        final SplittableRandom random = new SplittableRandom(1000 + id);
        final DeviceView view = iommu.deviceView();
        final long[] dma = new long[8];
        final long[] gpa = new long[8];
        final long[] len = new long[8];
        for (int round = 0; round < ROUNDS; round++)
        {
            final int slot = round & 7;
            if (len[slot] != 0)
            {
                for (long p = dma[slot] >>> 12; p <= (dma[slot] + len[slot] - 1) >>> 12; p++)
                {
                    assertEquals(id, owner.remove(p), "thread " + id + " round " + round + ": lost IOVA page");
                }
                iommu.unmap(dma[slot], len[slot], DmaDirection.TO_DEVICE);
            }
            len[slot] = random.nextInt(4) == 0 ? 1 + random.nextInt(200_000) : 1 + random.nextInt(8192);
            gpa[slot] = random.nextLong(memory.size() - len[slot] + 1);
            dma[slot] = iommu.map(gpa[slot], len[slot], DmaDirection.TO_DEVICE);
            assertFalse(DmaOps.isMappingError(dma[slot]));
            for (long p = dma[slot] >>> 12; p <= (dma[slot] + len[slot] - 1) >>> 12; p++)
            {
                final Integer other = owner.putIfAbsent(p, id);
                assertNull(other, "thread " + id + " round " + round + ": IOVA page 0x" + Long.toHexString(p) +
                    " handed out while thread " + other + " holds it");
            }
            // The device reads the first byte and the start of the last page: the right guest pages.
            assertEquals(memory.buffer().getByte((int)gpa[slot]), view.getByte(dma[slot]));
            final long last = (gpa[slot] + len[slot] - 1) & ~4095L;
            if (last > gpa[slot])
            {
                assertEquals((int)last, view.getIntLe(dma[slot] + (last - gpa[slot])), "thread " + id);
            }
        }
        for (int slot = 0; slot < 8; slot++)
        {
            for (long p = dma[slot] >>> 12; p <= (dma[slot] + len[slot] - 1) >>> 12; p++)
            {
                owner.remove(p);
            }
            iommu.unmap(dma[slot], len[slot], DmaDirection.TO_DEVICE);
        }
    }
}
