package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The contract every {@link DmaOps} honours, run against each implementation by a subclass: data reaches the device
 * and comes back byte-exact in each direction, the device cannot reach what it was not given, mapping errors are
 * values, and {@link DmaOps#maxMappingSize()} is honest.
 * <p>
 * Subclasses say how to build the ops over a guest memory and whether the implementation confines the device to
 * what was mapped ({@link #confinesDevice()}: true for bounce buffers and IOMMUs, false for direct DMA, which by
 * design lets the device reach any host-accessible guest memory).
 */
abstract class DmaOpsContract
{
    static final long MEMORY = 32L << 20;

    GuestMemory memory;
    DmaOps ops;

    /** @param memory guest memory. @return the implementation under test over it. */
    abstract DmaOps create(GuestMemory memory);

    /** @return true if the memory should be confidential. */
    boolean confidential()
    {
        return false;
    }

    /** @return true if the device can only reach what was mapped. */
    abstract boolean confinesDevice();

    @BeforeEach
    void setUp()
    {
        memory = GuestMemory.allocate(MEMORY, confidential());
        ops = create(memory);
    }

    /** A private (unshared) buffer filled with a recognisable pattern. */
    long buffer(final int len, final int seed)
    {
        final long gpa = memory.allocate(len, 64);
        fill(gpa, len, seed);
        return gpa;
    }

    void fill(final long gpa, final int len, final int seed)
    {
        final UnsafeBuffer mem = memory.buffer();
        for (int i = 0; i < len; i++)
        {
            mem.putByte((int)gpa + i, pattern(seed, i));
        }
    }

    static byte pattern(final int seed, final int i)
    {
        return (byte)(seed * 31 + i * 7 + (i >>> 8));
    }

    @ParameterizedTest
    @EnumSource(DmaDirection.class)
    void deviceReadsWhatTheCpuWrote(final DmaDirection dir)
    {
        final int len = 3 * 4096 + 100;
        final long gpa = buffer(len, 1);
        final long dma = ops.map(gpa, len, dir);
        assertFalse(DmaOps.isMappingError(dma), ops.name() + " failed to map " + len + " bytes");
        if (dir.deviceReads())
        {
            final UnsafeBuffer got = new UnsafeBuffer(new byte[len]);
            ops.deviceView().read(dma, got, 0, len);
            for (int i = 0; i < len; i++)
            {
                assertEquals(pattern(1, i), got.getByte(i), "byte " + i);
            }
        }
        ops.unmap(dma, len, dir);
    }

    @ParameterizedTest
    @EnumSource(value = DmaDirection.class, names = {"FROM_DEVICE", "BIDIRECTIONAL"})
    void cpuSeesWhatTheDeviceWroteAfterUnmap(final DmaDirection dir)
    {
        final int len = 2 * 4096 + 17;
        final long gpa = buffer(len, 2);
        final long dma = ops.map(gpa, len, dir);
        assertFalse(DmaOps.isMappingError(dma));
        final UnsafeBuffer src = new UnsafeBuffer(new byte[len]);
        for (int i = 0; i < len; i++)
        {
            src.putByte(i, pattern(3, i));
        }
        ops.deviceView().write(dma, src, 0, len);
        ops.unmap(dma, len, dir);
        for (int i = 0; i < len; i++)
        {
            assertEquals(pattern(3, i), memory.buffer().getByte((int)gpa + i), "byte " + i);
        }
    }

    @Test
    void syncForCpuShowsDeviceWritesWithoutUnmapping()
    {
        final int len = 4096;
        final long gpa = buffer(len, 4);
        final long dma = ops.map(gpa, len, DmaDirection.FROM_DEVICE);
        ops.deviceView().putIntLe(dma + 8, 0xCAFEBABE);
        ops.syncForCpu(dma, len, DmaDirection.FROM_DEVICE);
        assertEquals(0xCAFEBABE, memory.buffer().getInt((int)gpa + 8, java.nio.ByteOrder.LITTLE_ENDIAN));
        ops.unmap(dma, len, DmaDirection.FROM_DEVICE);
    }

    @Test
    void syncForDeviceShowsCpuWritesWithoutRemapping()
    {
        final int len = 4096;
        final long gpa = buffer(len, 5);
        final long dma = ops.map(gpa, len, DmaDirection.TO_DEVICE);
        memory.buffer().putInt((int)gpa + 12, 0x12345678, java.nio.ByteOrder.LITTLE_ENDIAN);
        ops.syncForDevice(dma, len, DmaDirection.TO_DEVICE);
        assertEquals(0x12345678, ops.deviceView().getIntLe(dma + 12));
        ops.unmap(dma, len, DmaDirection.TO_DEVICE);
    }

    @Test
    void deviceCannotReachOutsideGuestMemory()
    {
        final DeviceView view = ops.deviceView();
        final long before = view.faults();
        final DmaFault fault = assertThrows(DmaFault.class, () -> view.getByte(MEMORY + (1L << 30)));
        assertTrue(fault.getMessage().contains("bus address"), fault.getMessage());
        assertThrows(DmaFault.class, () -> view.getByte(-4096));
        assertThrows(DmaFault.class, () -> view.read(Long.MAX_VALUE - 4, new UnsafeBuffer(new byte[16]), 0, 16));
        assertEquals(before + 3, view.faults());
    }

    @Test
    void deviceCannotReachWhatWasNotMapped()
    {
        if (!confinesDevice())
        {
            return; // direct DMA: the device sees all host-accessible memory by design
        }
        final long gpa = buffer(4096, 6);
        final long dma = ops.map(gpa, 4096, DmaDirection.TO_DEVICE);
        ops.unmap(dma, 4096, DmaDirection.TO_DEVICE);
        final DeviceView view = ops.deviceView();
        // What a strict implementation refuses right after unmap; lazy IOMMUs are tested for their stale window.
        if (!allowsStaleAccessAfterUnmap())
        {
            assertThrows(DmaFault.class, () -> view.getByte(dma + 4096 * 16));
        }
    }

    /** @return true for an implementation with a documented stale window (lazy IOTLB invalidation). */
    boolean allowsStaleAccessAfterUnmap()
    {
        return false;
    }

    @Test
    void writePermissionIsEnforcedWhereTheImplementationConfinesTheDevice()
    {
        if (!confinesDevice())
        {
            return;
        }
        final long gpa = buffer(4096, 7);
        final long dma = ops.map(gpa, 4096, DmaDirection.TO_DEVICE);
        try
        {
            // A bounce buffer cannot stop the write, but the write must never reach the original buffer.
            try
            {
                ops.deviceView().putByte(dma, (byte)0x5A);
            }
            catch (final DmaFault expected)
            {
                assertEquals(DmaFault.Reason.PERMISSION, expected.reason());
            }
        }
        finally
        {
            ops.unmap(dma, 4096, DmaDirection.TO_DEVICE);
        }
        assertEquals(pattern(7, 0), memory.buffer().getByte((int)gpa));
    }

    @Test
    void maxMappingSizeIsHonoured()
    {
        final long max = ops.maxMappingSize();
        assertTrue(max > 0);
        final int len = (int)Math.min(max, 1 << 20);
        final long gpa = buffer(len, 8);
        final long dma = ops.map(gpa, len, DmaDirection.TO_DEVICE);
        assertFalse(DmaOps.isMappingError(dma), "a mapping of maxMappingSize() (capped at 1 MiB) must succeed");
        ops.unmap(dma, len, DmaDirection.TO_DEVICE);
        if (max < (8L << 20))
        {
            final long big = buffer((int)max + 2048, 9);
            assertTrue(DmaOps.isMappingError(ops.map(big, max + 2048, DmaDirection.TO_DEVICE)),
                "a mapping larger than maxMappingSize() must fail with DMA_MAPPING_ERROR");
        }
    }

    @Test
    void randomMapUnmapRoundTripsAreByteExact()
    {
        final ThreadLocalRandom random = ThreadLocalRandom.current();
        final long gpa = buffer(256 * 1024, 10);
        for (int n = 0; n < 500; n++)
        {
            final int offset = random.nextInt(64 * 1024);
            final int len = 1 + random.nextInt((int)Math.min(ops.maxMappingSize(), 128 * 1024));
            final DmaDirection dir = DmaDirection.values()[random.nextInt(3)];
            final long dma = ops.map(gpa + offset, len, dir);
            assertFalse(DmaOps.isMappingError(dma));
            if (dir.deviceReads())
            {
                final int at = random.nextInt(len);
                assertEquals(memory.buffer().getByte((int)(gpa + offset + at)), ops.deviceView().getByte(dma + at));
            }
            ops.unmap(dma, len, dir);
        }
    }

    /**
     * The ops {@link #resetBehavesLikeANewInstance} compares: {@link #create} unless the implementation's behaviour
     * also depends on something other than the calls (a lazy IOMMU's clock).
     */
    DmaOps createForReset(final GuestMemory memory)
    {
        return create(memory);
    }

    /**
     * {@link DmaOps#reset()} returns the ops to their state after construction: after a seeded workload that leaves
     * mappings live (and misuses, faults, fills caches and pools), a reset instance has the statistics of a new one,
     * and a second workload then gives the same trace (every bus address and mapping error, every byte the device
     * reads, every fault and refused call) and the same statistics as on a new instance built the same way.
     */
    @Test
    void resetBehavesLikeANewInstance()
    {
        final long memoryBytes = 16L << 20;
        final GuestMemory usedMemory = GuestMemory.allocate(memoryBytes, confidential());
        final DmaOps used = createForReset(usedMemory);
        final long usedBuffer = resetWorkloadBuffer(usedMemory);
        final byte[] contents = new byte[(int)memoryBytes];
        usedMemory.buffer().getBytes(0, contents);
        final GuestMemory newMemory = GuestMemory.allocate(memoryBytes, confidential());
        final DmaOps fresh = createForReset(newMemory);
        final long newBuffer = resetWorkloadBuffer(newMemory);
        assertEquals(newBuffer, usedBuffer);
        final String freshStats = ResetTrace.statistics(fresh);

        for (int seed = 1; seed <= 3; seed++)
        {
            ResetTrace.run(used, usedBuffer, 10 * seed);
            used.reset();
            // Guest memory is the caller's to restore (the bounce pool keeps what was bounced).
            usedMemory.buffer().putBytes(0, contents);
            assertEquals(freshStats, ResetTrace.statistics(used), used.name() + " after reset, seed " + seed);
        }
        final String usedTrace = ResetTrace.run(used, usedBuffer, 7);
        final String freshTrace = ResetTrace.run(fresh, newBuffer, 7);
        assertEquals(freshTrace, usedTrace, used.name() + ": a reset instance and a new one behave differently");
        assertEquals(ResetTrace.statistics(fresh), ResetTrace.statistics(used));
    }

    private static long resetWorkloadBuffer(final GuestMemory memory)
    {
        final long gpa = memory.allocate(ResetTrace.BUFFER_BYTES, 4096);
        final UnsafeBuffer mem = memory.buffer();
        for (int i = 0; i < ResetTrace.BUFFER_BYTES; i++)
        {
            mem.putByte((int)gpa + i, pattern(5, i));
        }
        if (memory.isConfidential())
        {
            memory.share(gpa, 16 * 4096);
        }
        return gpa;
    }

    @Test
    void mappingOutsideGuestMemoryIsMisuse()
    {
        assertThrows(IllegalArgumentException.class, () -> ops.map(MEMORY - 10, 100, DmaDirection.TO_DEVICE));
        assertThrows(IllegalArgumentException.class, () -> ops.map(0, 0, DmaDirection.TO_DEVICE));
    }
}
