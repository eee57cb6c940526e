package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;
import vqdma.dma.SwiotlbDma;
import vqdma.ring.thread.NotificationFilter;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.blk.VirtioBlk.*;

/**
 * The multi-queue disk on two-thread rings: 2 and 4 queues x every DMA profile with clamping on move random sizes
 * (512 B..1 MiB, contiguous or scattered pages) byte-exact, each driver thread on its own queue and its own part of
 * the shared disk; clamping off under swiotlb=force fails exactly the requests with a merged segment over 256 KiB
 * while every queue goes on; shutdown with requests in flight completes or returns every one of them; lost
 * notifications are recovered by the safety slices. After each: no thread, descriptor, slot or IOVA left.
 */
class BlkMultiQueueTest
{
    static final long CAPACITY = 32L << 20;
    static final long WAIT_NS = TimeUnit.SECONDS.toNanos(10);

    static Stream<Arguments> cells()
    {
        final List<Arguments> cells = new ArrayList<>();
        for (final DmaProfile profile : DmaProfile.values())
        {
            for (final int queues : new int[] {2, 4})
            {
                cells.add(Arguments.of(profile, queues, 0xB10CL * queues + profile.ordinal()));
            }
        }
        return cells.stream();
    }

    static BlkMultiQueue disk(final DmaOps dma, final int queues, final boolean clamp)
    {
        return BlkMultiQueue.builder(dma, new RamBackend(CAPACITY), BlkConfig.qemuDefault(CAPACITY, 256))
            .queues(queues).clamp(clamp).build();
    }

    @ParameterizedTest(name = "{0} x {1} queues")
    @MethodSource("cells")
    @Timeout(60)
    void everyQueueRoundTripsRandomSizesByteExact(final DmaProfile profile, final int queues, final long seed)
    {
        final BlkMultiQueue disk = disk(MqRig.dma(profile), queues, true);
        final GuestMemory memory = disk.memory();
        final UnsafeBuffer mem = memory.buffer();
        final long region = CAPACITY / queues; // each driver thread writes its own part of the one disk
        final long[] bases = new long[queues * 2];
        for (int i = 0; i < bases.length; i++)
        {
            bases[i] = MqRig.pages(memory, MqRig.SPAN_PAGES);
        }
        final AtomicLong verified = new AtomicLong();
        disk.start();
        MqRig.onDriverThreads(queues, 30_000, q ->
        {
            final BlkHwQueue hw = disk.queue(q);
            final SplittableRandom rnd = new SplittableRandom(seed + q);
            final Bio write = new Bio(256);
            final Bio read = new Bio(256);
            for (int step = 0; step < 12; step++)
            {
                final int bytes = 512 * (1 + rnd.nextInt(2048)); // 512 B .. 1 MiB
                final boolean contiguous = rnd.nextBoolean();
                final long sector = (q * region + 512L * rnd.nextInt((int)((region - (1 << 20)) / 512 / 512)))
                    >> SECTOR_SHIFT;
                final String at = String.format("%s queues=%d seed=%d queue=%d step=%d bytes=%d contiguous=%b " +
                    "sector=%d", profile.id(), queues, seed, q, step, bytes, contiguous, sector);
                write.fillPages(T_OUT, sector, bytes, bases[2 * q], contiguous);
                BlkHarness.fillPattern(mem, write, (int)(seed + 31 * step + q));
                hw.run(write, WAIT_NS);
                assertEquals(S_OK, write.status(), at + ": write");
                read.fillPages(T_IN, sector, bytes, bases[2 * q + 1], rnd.nextBoolean());
                MqRig.clear(mem, read);
                hw.run(read, WAIT_NS);
                assertEquals(S_OK, read.status(), at + ": read");
                final long bad = BlkHarness.firstMismatch(mem, read, (int)(seed + 31 * step + q));
                assertEquals(-1, bad, at + ": first wrong byte");
                verified.addAndGet(bytes);
            }
        });
        final BlkMultiQueue.Drained drained = disk.shutdown(5, TimeUnit.SECONDS);
        assertEquals(new BlkMultiQueue.Drained(0, 0, 0), drained, "nothing was in flight");
        assertTrue(verified.get() > 0);
        for (int q = 0; q < queues; q++)
        {
            assertEquals(0, disk.queue(q).driver().ioErrors(), profile.id() + " queue " + q + ": no IOERR");
            assertTrue(disk.queue(q).device().requests() >= 24, "each queue's own device served it");
        }
        MqRig.assertClean(disk, profile.id() + " x " + queues);
    }

    @Test
    @Timeout(60)
    void clampOffFailsExactlyTheSegmentsOver256KiBAndEveryQueueGoesOn()
    {
        final int queues = 3;
        final BlkMultiQueue disk = disk(MqRig.dma(DmaProfile.SWIOTLB_FORCE), queues, false);
        final GuestMemory memory = disk.memory();
        final UnsafeBuffer mem = memory.buffer();
        final long[] bases = new long[queues * 2];
        for (int i = 0; i < bases.length; i++)
        {
            bases[i] = MqRig.pages(memory, MqRig.SPAN_PAGES);
        }
        final long region = CAPACITY / queues;
        final AtomicLong failed = new AtomicLong();
        final AtomicLong ok = new AtomicLong();
        disk.start();
        MqRig.onDriverThreads(queues, 30_000, q ->
        {
            final BlkHwQueue hw = disk.queue(q);
            final SplittableRandom rnd = new SplittableRandom(77 + q);
            final Bio write = new Bio(256);
            final Bio read = new Bio(256);
            for (int step = 0; step < 16; step++)
            {
                final int bytes = 512 * (1 + rnd.nextInt(2048));
                final boolean contiguous = rnd.nextBoolean();
                final long sector = (q * region) >> SECTOR_SHIFT;
                // A contiguous bio is one segment as large as the bio; scattered pages are 4 KiB segments.
                final boolean mustFail = contiguous && bytes > 256 * 1024;
                final String at = String.format("queue=%d step=%d bytes=%d contiguous=%b", q, step, bytes,
                    contiguous);
                final long mappingErrors = hw.driver().mappingErrors();
                write.fillPages(T_OUT, sector, bytes, bases[2 * q], contiguous);
                BlkHarness.fillPattern(mem, write, step + 100 * q);
                hw.run(write, WAIT_NS);
                assertEquals(mustFail ? S_IOERR : S_OK, write.status(), at + ": write");
                assertEquals(mustFail ? 1 : 0, hw.driver().mappingErrors() - mappingErrors,
                    at + ": an IOERR is a -EIO from the mapping, never a device error");
                if (mustFail)
                {
                    failed.incrementAndGet();
                    continue;
                }
                ok.incrementAndGet();
                read.fillPages(T_IN, sector, bytes, bases[2 * q + 1], false);
                MqRig.clear(mem, read);
                hw.run(read, WAIT_NS);
                assertEquals(S_OK, read.status(), at + ": read");
                assertEquals(-1, BlkHarness.firstMismatch(mem, read, step + 100 * q), at + ": first wrong byte");
            }
        });
        disk.shutdown(5, TimeUnit.SECONDS);
        assertTrue(failed.get() > 0 && ok.get() > 0, "both outcomes seen: " + failed + " failed, " + ok + " ok");
        assertEquals(failed.get(), ((SwiotlbDma)disk.dma()).pool().oversizeFailures(),
            "one oversize mapping failure per failed request");
        MqRig.assertClean(disk, "clamp off");
    }

    @Test
    @Timeout(60)
    void shutdownWithRequestsInFlightCompletesOrReturnsEveryOne()
    {
        final int queues = 3;
        // More than the device publishes at once (64, when it looks at its stop flag), more than the bounce pool
        // holds at once (so some wait for slots), fewer than the ring holds.
        final int perQueue = 100;
        final DmaOps dma = MqRig.dma(DmaProfile.SWIOTLB);
        final RamBackend backend = new RamBackend(CAPACITY);
        // A slow device: 2 ms per request, so that most requests are still on the rings when the reset comes.
        final BlkMultiQueue disk = BlkMultiQueue.builder(dma, backend, BlkConfig.qemuDefault(CAPACITY, 256))
            .queues(queues).queueSize(128).maxBios(perQueue).handlers((q, device) -> chain ->
            {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
                return device.handle(chain);
            }).build();
        final GuestMemory memory = disk.memory();
        final UnsafeBuffer mem = memory.buffer();
        final Bio[][] bios = new Bio[queues][perQueue];
        final int bytes = 64 * 1024;
        for (int q = 0; q < queues; q++)
        {
            final long base = MqRig.pages(memory, perQueue * 16);
            for (int i = 0; i < perQueue; i++)
            {
                final long sector = ((long)(q * perQueue + i) * bytes) >> SECTOR_SHIFT;
                bios[q][i] = new Bio(16).fillPages(T_OUT, sector, bytes, base + (long)i * bytes, true);
                BlkHarness.fillPattern(mem, bios[q][i], q * perQueue + i + 1);
            }
        }
        disk.start();
        MqRig.onDriverThreads(queues, 10_000, q ->
        {
            for (final Bio bio : bios[q])
            {
                disk.queue(q).submit(bio);
            }
            disk.queue(q).poll();
        });
        final BlkMultiQueue.Drained drained = disk.shutdown(5, TimeUnit.SECONDS);
        int ok = 0;
        int failed = 0;
        final UnsafeBuffer disk0 = backend.contents();
        for (int q = 0; q < queues; q++)
        {
            for (int i = 0; i < perQueue; i++)
            {
                final Bio bio = bios[q][i];
                final String at = "queue " + q + " bio " + i;
                assertTrue(bio.isDone(), at + ": not done after shutdown");
                final int offset = (int)(bio.sector() << SECTOR_SHIFT);
                if (bio.status() == S_OK)
                {
                    ok++;
                    for (int p = 0; p < bytes; p++)
                    {
                        assertEquals(BlkHarness.pattern(q * perQueue + i + 1, p), disk0.getByte(offset + p),
                            at + ": completed write, disk byte " + p);
                    }
                }
                else
                {
                    assertEquals(S_IOERR, bio.status(), at);
                    failed++;
                    for (int p = 0; p < bytes; p++)
                    {
                        assertEquals(0, disk0.getByte(offset + p), at + ": a returned write never reached the disk");
                    }
                }
            }
        }
        assertEquals(queues * perQueue, ok + failed);
        assertTrue(failed > 0, "the reset found requests in flight: " + drained);
        assertEquals(failed, drained.returned() + drained.failedWaiting(), "every failed bio was taken back");
        MqRig.assertClean(disk, "shutdown in flight");
        assertEquals(new BlkMultiQueue.Drained(0, 0, 0), disk.shutdown(1, TimeUnit.SECONDS), "idempotent");
    }

    @Test
    @Timeout(60)
    void lostKicksAndInterruptsAreRecoveredByTheSafetySlices()
    {
        final int queues = 2;
        final AtomicLong lostKicks = new AtomicLong();
        final AtomicLong lostCalls = new AtomicLong();
        final BlkMultiQueue disk = BlkMultiQueue.builder(MqRig.dma(DmaProfile.IOMMU_STRICT), new RamBackend(CAPACITY),
            BlkConfig.qemuDefault(CAPACITY, 256)).queues(queues)
            .safetySlices(TimeUnit.MILLISECONDS.toNanos(2), TimeUnit.MILLISECONDS.toNanos(2))
            .notificationFilters(q -> lossy(lostKicks), q -> lossy(lostCalls)).build();
        final UnsafeBuffer mem = disk.memory().buffer();
        final long[] bases = {MqRig.pages(disk.memory(), 64), MqRig.pages(disk.memory(), 64)};
        disk.start();
        MqRig.onDriverThreads(queues, 30_000, q ->
        {
            final Bio bio = new Bio(16);
            for (int i = 0; i < 100; i++)
            {
                final long sector = (q * (CAPACITY / 2) + i * 65536L) >> SECTOR_SHIFT;
                bio.fillPages(T_OUT, sector, 65536, bases[q], true);
                BlkHarness.fillPattern(mem, bio, i);
                disk.queue(q).run(bio, WAIT_NS);
                assertEquals(S_OK, bio.status());
                bio.fillPages(T_IN, sector, 65536, bases[q], true);
                MqRig.clear(mem, bio);
                disk.queue(q).run(bio, WAIT_NS);
                assertEquals(-1, BlkHarness.firstMismatch(mem, bio, i), "queue " + q + " bio " + i);
            }
        });
        disk.shutdown(5, TimeUnit.SECONDS);
        assertTrue(lostKicks.get() > 0, "kicks were lost");
        assertTrue(lostCalls.get() > 0, "interrupts were lost");
        MqRig.assertClean(disk, "lossy");
    }

    /** Loses every second notification. */
    static NotificationFilter lossy(final AtomicLong lost)
    {
        final long[] n = new long[1];
        return () ->
        {
            if ((++n[0] & 1) == 0)
            {
                lost.incrementAndGet();
                return false;
            }
            return true;
        };
    }

    @Test
    void oneDeviceOneDmaDomainOneBackendARingAndADeviceThreadPerQueue()
    {
        final DmaOps dma = MqRig.dma(DmaProfile.IOMMU_LAZY);
        final BlkMultiQueue disk = disk(dma, 4, true);
        assertEquals(4, disk.numQueues());
        final Set<Object> rings = new HashSet<>();
        final Set<String> threads = new HashSet<>();
        for (int q = 0; q < 4; q++)
        {
            assertSame(dma, disk.queue(q).driver().virtqueue().dma(), "queue " + q + " maps through the device's ops");
            rings.add(disk.queue(q).driver().virtqueue());
            threads.add(disk.queue(q).twoThreadQueue().worker().thread().getName());
            assertEquals(q, disk.queue(q).index());
        }
        assertEquals(4, rings.size(), "a ring per queue");
        assertEquals(Set.of("vblk-0", "vblk-1", "vblk-2", "vblk-3"), threads, "a device thread per queue");
        disk.shutdown(1, TimeUnit.SECONDS); // never started: nothing to stop
        MqRig.assertClean(disk, "never started");
    }
}
