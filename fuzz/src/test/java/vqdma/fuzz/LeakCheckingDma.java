package vqdma.fuzz;

import vqdma.dma.DeviceView;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link DmaOps} in front of a real one that keeps the books of its caller, as {@code CONFIG_DMA_API_DEBUG} does:
 * every live streaming mapping (address, length, direction, buffer) and every coherent one. An unmap or sync that
 * matches no live mapping (a double unmap, a wrong size or direction, an address never mapped) is the caller's bug
 * and an {@link Invariant} is thrown <em>before</em> the call reaches the real ops; {@link #checkNoLiveMappings} finds
 * what the caller leaked. Used by the driver target, where the caller is {@link vqdma.ring.Virtqueue}.
 */
final class LeakCheckingDma implements DmaOps
{
    /** One live streaming mapping. */
    record Mapping(long dma, long gpa, long len, DmaDirection dir)
    {
    }

    private final DmaOps inner;
    private final Map<Long, ArrayDeque<Mapping>> live = new HashMap<>();
    private final Ranges everMappedFromDevice = new Ranges();
    private int liveCount;
    private int coherentCount;
    private long maps;
    private long unmaps;

    /** @param inner the real ops. */
    LeakCheckingDma(final DmaOps inner)
    {
        this.inner = inner;
    }

    /** @return the real ops. */
    DmaOps inner()
    {
        return inner;
    }

    @Override
    public long map(final long gpa, final long len, final DmaDirection dir)
    {
        final long dma = inner.map(gpa, len, dir);
        if (!DmaOps.isMappingError(dma))
        {
            live.computeIfAbsent(dma, k -> new ArrayDeque<>()).add(new Mapping(dma, gpa, len, dir));
            liveCount++;
            maps++;
            if (dir.deviceWrites())
            {
                everMappedFromDevice.add(gpa, gpa + len);
            }
        }
        return dma;
    }

    @Override
    public void unmap(final long dma, final long len, final DmaDirection dir)
    {
        final ArrayDeque<Mapping> mappings = live.get(dma);
        Mapping match = null;
        if (mappings != null)
        {
            for (final Mapping m : mappings)
            {
                if (m.len() == len && m.dir() == dir)
                {
                    match = m;
                    break;
                }
            }
        }
        if (match == null)
        {
            throw new Invariant(String.format("%s unmap of dma=0x%x len=%d %s matches no live mapping (double unmap, " +
                "wrong size or direction, or never mapped); live at that address: %s", inner.name(), dma, len, dir,
                mappings));
        }
        mappings.remove(match);
        if (mappings.isEmpty())
        {
            live.remove(dma);
        }
        liveCount--;
        unmaps++;
        inner.unmap(dma, len, dir);
    }

    private void checkSync(final String op, final long dma, final long len, final DmaDirection dir)
    {
        for (final ArrayDeque<Mapping> mappings : live.values())
        {
            for (final Mapping m : mappings)
            {
                if (m.dir() == dir && dma >= m.dma() && len > 0 && len <= m.dma() + m.len() - dma)
                {
                    return;
                }
            }
        }
        throw new Invariant(String.format("%s %s of dma=0x%x len=%d %s lies in no live mapping", inner.name(), op,
            dma, len, dir));
    }

    @Override
    public void syncForCpu(final long dma, final long len, final DmaDirection dir)
    {
        checkSync("syncForCpu", dma, len, dir);
        inner.syncForCpu(dma, len, dir);
    }

    @Override
    public void syncForDevice(final long dma, final long len, final DmaDirection dir)
    {
        checkSync("syncForDevice", dma, len, dir);
        inner.syncForDevice(dma, len, dir);
    }

    @Override
    public long maxMappingSize()
    {
        return inner.maxMappingSize();
    }

    @Override
    public long mapCoherent(final long gpa, final long len)
    {
        final long dma = inner.mapCoherent(gpa, len);
        if (!DmaOps.isMappingError(dma))
        {
            coherentCount++;
        }
        return dma;
    }

    @Override
    public void unmapCoherent(final long dma, final long len)
    {
        Invariant.check(coherentCount > 0, "%s unmapCoherent of dma=0x%x len=%d with no coherent mapping live",
            inner.name(), dma, len);
        coherentCount--;
        inner.unmapCoherent(dma, len);
    }

    @Override
    public DeviceView deviceView()
    {
        return inner.deviceView();
    }

    @Override
    public GuestMemory memory()
    {
        return inner.memory();
    }

    @Override
    public String name()
    {
        return inner.name();
    }

    /** @return live streaming mappings. */
    int liveMappings()
    {
        return liveCount;
    }

    /** @return live coherent mappings. */
    int liveCoherent()
    {
        return coherentCount;
    }

    /** @return successful streaming maps so far. */
    long maps()
    {
        return maps;
    }

    /** @return unmaps so far. */
    long unmaps()
    {
        return unmaps;
    }

    /** @return every buffer ever mapped for the device to write (where a bounce copies back). */
    Ranges everMappedFromDevice()
    {
        return everMappedFromDevice;
    }

    /**
     * @param context what ran, for the message.
     * @throws Invariant if a streaming mapping is still live.
     */
    void checkNoLiveMappings(final Object context)
    {
        Invariant.check(liveCount == 0, "%s: %d streaming mappings leaked: %s", context, liveCount, live.values());
    }
}
