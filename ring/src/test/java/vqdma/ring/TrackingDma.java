package vqdma.ring;

import vqdma.dma.DeviceView;
import vqdma.dma.DirectDma;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A test DmaOps: direct mapping with a bus offset (so a driver that forgets to map is caught), which records every
 * live mapping, refuses double and mismatched unmaps, and can be told to fail the n-th map.
 */
final class TrackingDma implements DmaOps
{
    static final long OFFSET = 1L << 40;

    private final DirectDma direct;
    private final Map<Long, java.util.ArrayDeque<long[]>> live = new HashMap<>();
    private int liveCount;
    private final long maxMappingSize;
    long maps;
    long unmaps;
    long failAtMap = -1;

    TrackingDma(final GuestMemory memory)
    {
        this(memory, Long.MAX_VALUE);
    }

    TrackingDma(final GuestMemory memory, final long maxMappingSize)
    {
        this.direct = new DirectDma(memory, OFFSET, 64);
        this.maxMappingSize = maxMappingSize;
    }

    @Override
    public long map(final long gpa, final long len, final DmaDirection dir)
    {
        maps++;
        if (maps == failAtMap || len > maxMappingSize)
        {
            return DMA_MAPPING_ERROR;
        }
        final long dma = direct.map(gpa, len, dir);
        // Several live mappings of one buffer are legal (the same buffer in two requests): keep them all.
        live.computeIfAbsent(dma, k -> new java.util.ArrayDeque<>()).add(new long[] {len, dir.ordinal()});
        liveCount++;
        return dma;
    }

    @Override
    public void unmap(final long dma, final long len, final DmaDirection dir)
    {
        unmaps++;
        final java.util.ArrayDeque<long[]> mappings = live.get(dma);
        assertNotNull(mappings, "unmap of 0x" + Long.toHexString(dma) + " which is not mapped");
        final long[] m = mappings.stream().filter(x -> x[0] == len && x[1] == dir.ordinal()).findFirst()
            .orElseThrow(() -> new AssertionError("unmap of 0x" + Long.toHexString(dma) + " len " + len + " " + dir +
                " matches no live mapping of that address"));
        mappings.remove(m);
        if (mappings.isEmpty())
        {
            live.remove(dma);
        }
        liveCount--;
    }

    @Override
    public void syncForCpu(final long dma, final long len, final DmaDirection dir)
    {
    }

    @Override
    public void syncForDevice(final long dma, final long len, final DmaDirection dir)
    {
    }

    @Override
    public long maxMappingSize()
    {
        return maxMappingSize;
    }

    @Override
    public long mapCoherent(final long gpa, final long len)
    {
        return direct.mapCoherent(gpa, len);
    }

    @Override
    public void unmapCoherent(final long dma, final long len)
    {
    }

    @Override
    public DeviceView deviceView()
    {
        return direct.deviceView();
    }

    @Override
    public GuestMemory memory()
    {
        return direct.memory();
    }

    @Override
    public String name()
    {
        return "tracking";
    }

    int live()
    {
        return liveCount;
    }
}
