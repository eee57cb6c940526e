package vqdma.dma;

import org.agrona.concurrent.NanoClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class IommuDmaTest
{
    /** A clock the test moves by hand. */
    static final class FakeClock implements NanoClock
    {
        long now = 1_000_000_000L;

        @Override
        public long nanoTime()
        {
            return now;
        }
    }

    final GuestMemory memory = GuestMemory.allocate(16L << 20, false);
    final FakeClock clock = new FakeClock();

    IommuDma strict()
    {
        return IommuDma.builder(memory).mode(IommuDma.Mode.STRICT).invalidationNanos(0).cacheSlots(1).build();
    }

    IommuDma lazy()
    {
        return IommuDma.builder(memory).mode(IommuDma.Mode.LAZY).invalidationNanos(0).cacheSlots(1)
            .clock(clock).build();
    }

    @Test
    void directionGivesThePermissionAsDmaInfoToProt()
    {
        assertEquals(IommuPageTable.PTE_READ, IommuDma.prot(DmaDirection.TO_DEVICE));
        assertEquals(IommuPageTable.PTE_WRITE, IommuDma.prot(DmaDirection.FROM_DEVICE));
        assertEquals(IommuPageTable.PTE_READ | IommuPageTable.PTE_WRITE, IommuDma.prot(DmaDirection.BIDIRECTIONAL));
        final IommuDma iommu = strict();
        final long gpa = memory.allocate(8192, 4096);
        final long in = iommu.map(gpa, 4096, DmaDirection.FROM_DEVICE);
        iommu.deviceView().putByte(in, (byte)1);
        final DmaFault read = assertThrows(DmaFault.class, () -> iommu.deviceView().getByte(in));
        assertEquals(DmaFault.Reason.PERMISSION, read.reason());
        assertFalse(read.isWrite());
        final long out = iommu.map(gpa + 4096, 4096, DmaDirection.TO_DEVICE);
        final DmaFault write = assertThrows(DmaFault.class, () -> iommu.deviceView().putByte(out, (byte)1));
        assertEquals(DmaFault.Reason.PERMISSION, write.reason());
        assertEquals(2, iommu.deviceView().faults());
    }

    @Test
    void busAddressKeepsThePageOffsetAndPciDevicesStartBelow4GiB()
    {
        final IommuDma iommu = strict();
        final long gpa = memory.allocate(3 * 4096, 4096) + 4000;
        final long dma = iommu.map(gpa, 200, DmaDirection.TO_DEVICE);
        assertEquals(4000, dma & 4095);
        assertTrue(dma < 1L << 32, "32-bit first: " + Long.toHexString(dma));
        assertEquals(2, iommu.pageTable().presentPtes(), "200 bytes from offset 4000 touch 2 pages");
        assertEquals(gpa + 100, iommu.deviceView().translateContiguous(dma + 100, 10, DeviceView.READ) + 0);
        final long[] g = new long[4];
        final long[] l = new long[4];
        assertEquals(1, iommu.deviceView().translate(dma, 200, DeviceView.READ, g, l, 0), "contiguous GPAs merge");
        assertEquals(gpa, g[0]);
        assertEquals(200, l[0]);
        iommu.unmap(dma, 200, DmaDirection.TO_DEVICE);

        final IommuDma platform = IommuDma.builder(memory).pciDevice(false).invalidationNanos(0).build();
        final long high = platform.map(gpa, 200, DmaDirection.TO_DEVICE);
        assertTrue(high >= 1L << 32 && high < 1L << 48, "top of the 48-bit aperture: " + Long.toHexString(high));
        final IommuDma narrow = IommuDma.builder(memory).pciDevice(false).dmaMaskBits(32).build();
        assertTrue(narrow.map(gpa, 200, DmaDirection.TO_DEVICE) < 1L << 32, "a 32-bit mask limits the IOVA");
    }

    @Test
    void iotlbHitsAfterTheFirstWalk()
    {
        final IommuDma iommu = strict();
        final long gpa = memory.allocate(8192, 4096);
        final long dma = iommu.map(gpa, 8192, DmaDirection.BIDIRECTIONAL);
        final DeviceView view = iommu.deviceView();
        view.getByte(dma);
        view.getByte(dma + 1);
        view.getByte(dma + 4096);
        view.putByte(dma + 4097, (byte)3);
        assertEquals(2, iommu.iotlb().misses());
        assertEquals(2, iommu.iotlb().hits());
        assertEquals(2, iommu.tableWalks());
        assertEquals(3, memory.buffer().getByte((int)gpa + 4097));
        iommu.unmap(dma, 8192, DmaDirection.BIDIRECTIONAL);
        assertEquals(1, iommu.iotlb().invalidations());
        assertEquals(2, iommu.iotlb().entriesInvalidated());
    }

    @Test
    void strictModeWaitsForTheModelledInvalidation()
    {
        final IommuDma iommu = IommuDma.builder(memory).invalidationNanos(2_000_000).build();
        assertEquals(2_000_000, iommu.invalidationNanos());
        final long dma = iommu.map(memory.allocate(4096, 4096), 4096, DmaDirection.TO_DEVICE);
        final long start = System.nanoTime();
        iommu.unmap(dma, 4096, DmaDirection.TO_DEVICE);
        assertTrue(System.nanoTime() - start >= 2_000_000, "unmap returned before the invalidation completed");
    }

    @Test
    void staleWindowStrictVersusLazy()
    {
        final long gpa = memory.allocate(4 * 4096, 4096);
        memory.buffer().putByte((int)gpa, (byte)42);

        final IommuDma strict = strict();
        final long s = strict.map(gpa, 4096, DmaDirection.TO_DEVICE);
        assertEquals(42, strict.deviceView().getByte(s));
        strict.unmap(s, 4096, DmaDirection.TO_DEVICE);
        assertEquals(DmaFault.Reason.NO_TRANSLATION,
            assertThrows(DmaFault.class, () -> strict.deviceView().getByte(s)).reason(), "strict: faults at once");
        assertEquals(0, strict.pendingPages());

        final IommuDma lazy = lazy();
        final long a = lazy.map(gpa, 4 * 4096, DmaDirection.BIDIRECTIONAL);
        lazy.deviceView().getByte(a);            // page 0 cached
        lazy.deviceView().getByte(a + 4096);     // page 1 cached
        clock.now += 1_000;
        lazy.unmap(a, 4 * 4096, DmaDirection.BIDIRECTIONAL);
        assertEquals(42, lazy.deviceView().getByte(a), "lazy: the device still reads the unmapped page");
        lazy.deviceView().putByte(a + 4096, (byte)7);
        assertEquals(7, memory.buffer().getByte((int)gpa + 4096), "... and writes it");
        assertThrows(DmaFault.class, () -> lazy.deviceView().getByte(a + 2 * 4096), "page 2 was never cached");
        assertEquals(2, lazy.staleTranslations());
        assertEquals(4, lazy.pendingPages());
        assertEquals(1, lazy.pendingUnmaps());
        assertEquals(1, lazy.domain().liveIovas(), "the IOVA is not reusable while its IOTLB entries may be stale");

        clock.now += 5_000;
        lazy.flush();
        assertThrows(DmaFault.class, () -> lazy.deviceView().getByte(a));
        assertEquals(2, lazy.staleTranslations());
        assertEquals(0, lazy.pendingPages());
        assertEquals(0, lazy.domain().liveIovas());
        assertEquals(5_000, lazy.maxStaleNanos(), "from the unmap to the flush, on the queue's clock");
        assertEquals(4, lazy.maxStalePages());
        assertEquals(1, lazy.maxStaleUnmaps());
        assertEquals(1, lazy.iotlb().flushes());
    }

    @Test
    void theFullQueueFlushesOnItsTwoHundredFiftySixthUnmap()
    {
        final IommuDma lazy = lazy();
        final long gpa = memory.allocate(4096, 4096);
        for (int i = 0; i < IommuDma.IOVA_FQ_SIZE - 1; i++)
        {
            lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
            clock.now += 10;
        }
        assertEquals(0, lazy.queueFlushes(), "255 entries fit");
        assertEquals(255, lazy.pendingUnmaps());
        assertEquals(255, lazy.domain().liveIovas(), "none reusable: each unmap took a new IOVA");
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(1, lazy.fullFlushes());
        assertEquals(1, lazy.queueFlushes());
        assertEquals(1, lazy.pendingUnmaps(), "the 256th is queued after the flush");
        assertEquals(255, lazy.maxStaleUnmaps());
        assertEquals(255 * 10, lazy.maxStaleNanos(), "the oldest entry waited 255 steps of 10 ns");
        assertEquals(0, lazy.timeoutFlushes());
    }

    @Test
    void theEmulatedTimerFlushesTenMillisecondsAfterItWasArmed()
    {
        final IommuDma lazy = lazy();
        final long gpa = memory.allocate(4096, 4096);
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE); // arms the timer
        clock.now += IommuDma.IOVA_FQ_TIMEOUT_NANOS - 1;
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(0, lazy.queueFlushes(), "not yet");
        assertEquals(2, lazy.pendingUnmaps());
        clock.now += 1;
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(1, lazy.timeoutFlushes(), "the deadline passed: flushed before queueing");
        assertEquals(1, lazy.pendingUnmaps(), "the third unmap re-armed the timer");
        assertEquals(IommuDma.IOVA_FQ_TIMEOUT_NANOS, lazy.maxStaleNanos());
        assertEquals(2, lazy.domain().liveIovas() + 1, "two freed, one pending: 1 live");
        clock.now += IommuDma.IOVA_FQ_TIMEOUT_NANOS;
        lazy.flush();
        assertEquals(0, lazy.domain().liveIovas());
        assertEquals(1, lazy.timeoutFlushes(), "flush() does not count as a timeout");
    }

    /** A fake clock that counts its readings. */
    static final class CountingClock implements NanoClock
    {
        long now = 1_000_000_000L;
        int readings;

        @Override
        public long nanoTime()
        {
            readings++;
            return now;
        }
    }

    @Test
    void fastUnmapsReadTheClockEverySixteenthTimeSoTheTimerIsAtMostFifteenUnmapsLate()
    {
        final CountingClock clock = new CountingClock();
        final IommuDma lazy = IommuDma.builder(memory).mode(IommuDma.Mode.LAZY).invalidationNanos(0).cacheSlots(1)
            .clock(clock).build();
        final long gpa = memory.allocate(4096, 4096);
        final long armedAt = clock.now;
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(1, clock.readings, "the first unmap reads the clock once: empty queue, and it arms the timer");
        clock.now += 10;
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(2, clock.readings, "the previous reading is too old to trust: read again");
        for (int i = 1; i < IommuDma.FQ_CLOCK_STRIDE; i++)
        {
            clock.now += 10;
            lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        }
        assertEquals(2, clock.readings, "10 ns apart: the next 15 unmaps reuse the reading");
        clock.now += 10;
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(3, clock.readings, "the 16th reads it");

        // The deadline passes right after a reading: the timer fires at the 16th unmap, before queueing it.
        clock.now = armedAt + IommuDma.IOVA_FQ_TIMEOUT_NANOS;
        for (int i = 1; i < IommuDma.FQ_CLOCK_STRIDE; i++)
        {
            lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
            assertEquals(0, lazy.timeoutFlushes(), "unmap " + i + " after the deadline did not read the clock");
        }
        assertEquals(2 + 2 * IommuDma.FQ_CLOCK_STRIDE - 1, lazy.pendingUnmaps());
        lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        assertEquals(1, lazy.timeoutFlushes(), "15 unmaps late at most");
        assertEquals(1, lazy.pendingUnmaps(), "flushed before queueing");
        assertEquals(IommuDma.IOVA_FQ_TIMEOUT_NANOS, lazy.maxStaleNanos(),
            "the oldest entry was queued into an empty queue: its time is exact");
        assertTrue(lazy.meanStaleNanos() <= IommuDma.IOVA_FQ_TIMEOUT_NANOS, "" + lazy.meanStaleNanos());

        // Slow unmaps (readings more than FQ_CLOCK_SLOW_NANOS apart) read the clock every time.
        final int before = clock.readings;
        for (int i = 0; i < 5; i++)
        {
            clock.now += IommuDma.FQ_CLOCK_SLOW_NANOS;
            lazy.unmap(lazy.map(gpa, 4096, DmaDirection.TO_DEVICE), 4096, DmaDirection.TO_DEVICE);
        }
        assertEquals(before + 5, clock.readings);
        lazy.flush();
        assertEquals(0, lazy.domain().liveIovas());
    }

    @Test
    void unmapMisuseNamesTheValuesAndChangesNothing()
    {
        for (final IommuDma iommu : new IommuDma[]{strict(), lazy()})
        {
            final long gpa = memory.allocate(3 * 4096, 4096);
            memory.buffer().putByte((int)gpa + 4096, (byte)9);
            final long dma = iommu.map(gpa, 2 * 4096, DmaDirection.TO_DEVICE);
            final String hex = "0x" + Long.toHexString(dma);

            assertMisuse(iommu, dma + 8192 * 4, 4096, DmaDirection.TO_DEVICE, "not mapped");
            assertMisuse(iommu, dma, 4096, DmaDirection.TO_DEVICE, "continues past 1 pages", hex, "wrong size");
            assertMisuse(iommu, dma, 3 * 4096, DmaDirection.TO_DEVICE, "ends after 2 pages", "wrong size");
            assertMisuse(iommu, dma + 4096, 4096, DmaDirection.TO_DEVICE, "inside a mapping");
            assertMisuse(iommu, dma, 2 * 4096, DmaDirection.FROM_DEVICE, "read-only", "wrong direction");
            assertMisuse(iommu, DmaOps.DMA_MAPPING_ERROR, 4096, DmaDirection.TO_DEVICE, "not mapped");
            assertThrows(IllegalArgumentException.class, () -> iommu.unmap(dma, 0, DmaDirection.TO_DEVICE));

            assertEquals(9, iommu.deviceView().getByte(dma + 4096), iommu.name() + ": still mapped");
            assertEquals(1, iommu.domain().liveIovas());
            iommu.unmap(dma, 2 * 4096 - 100, DmaDirection.TO_DEVICE); // same pages, shorter length: fine
            assertMisuse(iommu, dma, 2 * 4096, DmaDirection.TO_DEVICE, "already unmapped", hex);
            iommu.flush();
            assertEquals(0, iommu.domain().liveIovas(), iommu.name());
            assertEquals(0, iommu.pageTable().presentPtes(), iommu.name());
        }
        final IommuDma iommu = strict();
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> iommu.map(memory.size() - 10, 100, DmaDirection.TO_DEVICE));
        assertTrue(ex.getMessage().contains("len=100"), ex.getMessage());
    }

    static void assertMisuse(
        final IommuDma iommu, final long dma, final long len, final DmaDirection dir, final String... words)
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> iommu.unmap(dma, len, dir));
        assertTrue(ex.getMessage().contains("len=" + len) && ex.getMessage().contains(dir.name()), ex.getMessage());
        for (final String w : words)
        {
            assertTrue(ex.getMessage().contains(w), iommu.name() + ": '" + w + "' missing in: " + ex.getMessage());
        }
    }

    @Test
    void exhaustedPageTablesAreAMappingErrorThatLeaksNothing()
    {
        final IommuDma iommu = IommuDma.builder(memory).maxTables(IommuPageTable.LEVELS).invalidationNanos(0).build();
        final long gpa = memory.allocate(8 << 20, 4096);
        final long first = iommu.map(gpa, 4096, DmaDirection.TO_DEVICE);
        assertFalse(DmaOps.isMappingError(first));
        final long big = iommu.map(gpa, 4 << 20, DmaDirection.TO_DEVICE); // 1024 pages need more leaf tables
        assertTrue(DmaOps.isMappingError(big));
        assertEquals(1, iommu.mappingErrors());
        assertEquals(1, iommu.domain().liveIovas(), "the failed mapping's IOVA was freed");
        assertEquals(1, iommu.pageTable().presentPtes());
        assertEquals("iommu-strict", iommu.name());
        final long ring = iommu.mapCoherent(gpa + 8192, 100);
        assertEquals(IommuPageTable.PTE_READ | IommuPageTable.PTE_WRITE,
            iommu.pageTable().walk(ring >>> 12) & (IommuPageTable.PTE_READ | IommuPageTable.PTE_WRITE));
        iommu.unmapCoherent(ring, 100);
    }
}
