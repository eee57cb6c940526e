package vqdma.dma;

import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * What {@link DmaOpsContract#resetBehavesLikeANewInstance} compares: a seeded workload on a {@link DmaOps} written
 * down as a trace, and the statistics every implementation exposes. Two instances in the same state give the same
 * trace: every bus address and mapping error, every byte the device reads (as a CRC), every fault, every refused
 * call with its message.
 */
final class ResetTrace
{
    /** Bytes of the buffer the workload maps from (larger than a SWIOTLB segment, so that oversize maps fail). */
    static final int BUFFER_BYTES = 512 * 1024;

    private static final DmaDirection[] DIRECTIONS = DmaDirection.values();

    private ResetTrace()
    {
    }

    private record Mapping(long dma, long offset, long len, DmaDirection dir)
    {
    }

    /**
     * Runs 400 seeded steps of map, unmap, sync, device reads, writes and stray accesses, misuse and (IOMMU) flushes,
     * leaving some mappings live.
     *
     * @param ops    the ops.
     * @param buffer GPA of a {@link #BUFFER_BYTES} buffer in the ops' memory (its first 16 pages shared).
     * @param seed   the seed.
     * @return the trace.
     */
    static String run(final DmaOps ops, final long buffer, final int seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final DeviceView view = ops.deviceView();
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[64 * 1024]);
        final List<Mapping> live = new ArrayList<>();
        final List<Mapping> dead = new ArrayList<>();
        final StringBuilder trace = new StringBuilder();
        final CRC32C crc = new CRC32C();
        for (int step = 0; step < 400; step++)
        {
            trace.append(step).append(": ");
            final int what = random.nextInt(20);
            try
            {
                if (what < 7 || live.isEmpty())
                {
                    final long len = random.nextInt(8) == 0 ? 1 + random.nextInt(300 * 1024) : 1 + random.nextInt(16384);
                    final long offset = random.nextLong(BUFFER_BYTES - len + 1);
                    final DmaDirection dir = DIRECTIONS[random.nextInt(DIRECTIONS.length)];
                    final long dma = ops.map(buffer + offset, len, dir);
                    trace.append(String.format("map +%d %d %s -> 0x%x", offset, len, dir, dma));
                    if (!DmaOps.isMappingError(dma))
                    {
                        live.add(new Mapping(dma, offset, len, dir));
                    }
                }
                else if (what < 12)
                {
                    final Mapping m = live.remove(random.nextInt(live.size()));
                    ops.unmap(m.dma, m.len, m.dir);
                    dead.add(m);
                    trace.append("unmap ").append(m);
                }
                else if (what < 15)
                {
                    final Mapping m = live.get(random.nextInt(live.size()));
                    final int len = (int)Math.min(m.len, scratch.capacity());
                    if (random.nextBoolean())
                    {
                        view.read(m.dma, scratch, 0, len);
                        crc.reset();
                        crc.update(scratch.byteArray(), 0, len);
                        trace.append(String.format("read %s: crc 0x%x", m, crc.getValue()));
                    }
                    else
                    {
                        scratch.setMemory(0, len, (byte)step);
                        view.write(m.dma, scratch, 0, len);
                        trace.append("write ").append(m);
                    }
                }
                else if (what < 16)
                {
                    final Mapping m = live.get(random.nextInt(live.size()));
                    final long bus = m.dma + random.nextLong(-8192, m.len + 8192);
                    trace.append(String.format("byte at 0x%x: %d", bus, view.getByte(bus)));
                }
                else if (what < 18)
                {
                    final Mapping m = live.get(random.nextInt(live.size()));
                    if (random.nextBoolean())
                    {
                        ops.syncForCpu(m.dma, m.len, m.dir);
                    }
                    else
                    {
                        ops.syncForDevice(m.dma, m.len, m.dir);
                    }
                    trace.append("sync ").append(m);
                }
                else if (what < 19 && !dead.isEmpty())
                {
                    final Mapping m = dead.get(random.nextInt(dead.size()));
                    trace.append("unmap again ").append(m);
                    ops.unmap(m.dma, m.len, m.dir);
                    trace.append(": accepted");
                }
                else if (ops instanceof IommuDma)
                {
                    ((IommuDma)ops).flush();
                    trace.append("flush");
                }
            }
            catch (final DmaFault | IllegalArgumentException | IllegalStateException ex)
            {
                trace.append(": ").append(ex.getClass().getSimpleName()).append(' ').append(ex.getMessage());
            }
            trace.append('\n');
        }
        return trace.toString();
    }

    /** @return every statistic of {@code ops}, one per line. */
    static String statistics(final DmaOps ops)
    {
        final StringBuilder b = new StringBuilder(ops.name()).append(" faults=").append(ops.deviceView().faults());
        if (ops instanceof SwiotlbDma)
        {
            final Swiotlb p = ((SwiotlbDma)ops).pool();
            b.append(" used=").append(p.usedSlots()).append(" areaUsed=").append(p.usedSlotsRacy())
                .append(" hiwater=").append(p.usedHiwater()).append(" mappings=").append(p.mappings())
                .append(" oversize=").append(p.oversizeFailures()).append(" full=").append(p.fullFailures())
                .append(" toDevice=").append(p.bytesBouncedToDevice())
                .append(" fromDevice=").append(p.bytesBouncedFromDevice())
                .append(" lastFailure=").append(p.lastFailure())
                .append(" suppressed=").append(p.suppressedFailureReports());
        }
        if (ops instanceof IommuDma)
        {
            final IommuDma i = (IommuDma)ops;
            final IovaDomain d = i.domain();
            final Iotlb t = i.iotlb();
            b.append(" liveIovas=").append(d.liveIovas()).append(" treeRanges=").append(d.treeRanges())
                .append(" cached=").append(d.cachedIovas()).append(" rcacheHits=").append(d.rcacheHits())
                .append(" treeAllocations=").append(d.treeAllocations())
                .append(" treeFailures=").append(d.treeFailures())
                .append(" rcacheFlushes=").append(d.rcacheFlushes())
                .append(" ptes=").append(i.pageTable().presentPtes())
                .append(" tables=").append(i.pageTable().tablesInUse())
                .append(" iotlb=").append(t.hits()).append('/').append(t.misses()).append('/').append(t.fills())
                .append('/').append(t.invalidations()).append('/').append(t.flushes()).append('/')
                .append(t.entriesInvalidated()).append('/').append(t.validEntries()).append('/')
                .append(t.generation())
                .append(" mappingErrors=").append(i.mappingErrors()).append(" fullFlushes=").append(i.fullFlushes())
                .append(" timeoutFlushes=").append(i.timeoutFlushes())
                .append(" queueFlushes=").append(i.queueFlushes())
                .append(" pending=").append(i.pendingPages()).append('/').append(i.pendingUnmaps())
                .append(" maxStale=").append(i.maxStalePages()).append('/').append(i.maxStaleUnmaps()).append('/')
                .append(i.maxStaleNanos()).append('/').append(i.meanStaleNanos())
                .append(" staleTranslations=").append(i.staleTranslations())
                .append(" walks=").append(i.tableWalks());
        }
        return b.toString();
    }
}
