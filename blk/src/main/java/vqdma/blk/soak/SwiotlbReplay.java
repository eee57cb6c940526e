package vqdma.blk.soak;

import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.dma.Swiotlb;
import vqdma.dma.SwiotlbAllocator;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static vqdma.blk.VirtioBlk.SECTOR_SIZE;

/**
 * The soak's request mix replayed on a SWIOTLB pool, deterministically, once per {@link SwiotlbAllocator}: the same
 * requests in the same order on the same simulated CPUs, so that the allocators' "swiotlb buffer is full" counts and
 * high-water marks compare like for like (the soak itself runs real threads, whose timing differs from run to run).
 * <p>
 * Each of {@code threads} simulated CPUs (one pool area each, as the kernel gives every CPU its own area and a thread
 * starts in its own) keeps up to {@code depth} virtio-blk requests in flight. A request is the soak's: 4% flushes,
 * else a read or write of 512 B .. 1 MiB in whole sectors, its pages contiguous (segments of at most 256 KiB, the
 * clamp) or every other page (a segment per page); it maps what the virtio-blk driver maps for it: the 16-byte
 * header, the data segments, the status byte and, with more than one descriptor, the indirect table (16 bytes a
 * descriptor). Simplification: a scattered 1 MiB bio keeps its 256 segments in one request where the block layer
 * would split above {@code seg_max}; the slots in use are the same.
 * <p>
 * Every step draws, from one seeded stream whatever happened before, a CPU and what it does: submit its next request
 * (the requests of each CPU come from its own seeded stream, so they are the same for every allocator) or complete
 * one of its requests in flight (any one: the device completes out of order), unmapping it. A submission whose
 * mapping fails for want of slots unmaps what it had mapped and is counted a requeue ({@code BLK_STS_RESOURCE}); the
 * CPU tries the same request again at its next submission.
 */
public final class SwiotlbReplay
{
    /** Size of the guest pages the bios are made of. */
    static final int PAGE = GuestMemory.PAGE_SIZE;
    /** Largest segment with the clamp on: one SWIOTLB mapping. */
    static final int MAX_SEGMENT = Swiotlb.IO_TLB_SIZE * Swiotlb.IO_TLB_SEGSIZE;

    /**
     * What one allocator did with the trace.
     *
     * @param allocator    the allocator.
     * @param requests     requests completed.
     * @param mappings     successful map calls.
     * @param fullFailures failed map calls ("swiotlb buffer is full"), {@link Swiotlb#fullFailures()}.
     * @param requeues     submissions that failed and were retried.
     * @param hiwater      most slots in use at once ({@link Swiotlb#usedHiwater()}).
     * @param nslabs       slots in the pool.
     */
    public record Result(SwiotlbAllocator allocator, long requests, long mappings, long fullFailures, long requeues,
        long hiwater, int nslabs)
    {
    }

    /** A request and its mappings. */
    private static final class Request
    {
        final long[] len;
        final DmaDirection[] dir;
        final long[] orig;
        final long[] dma;

        Request(final int mappings)
        {
            len = new long[mappings];
            dir = new DmaDirection[mappings];
            orig = new long[mappings];
            dma = new long[mappings];
        }
    }

    private SwiotlbReplay()
    {
    }

    /**
     * Replays the trace on a pool per allocator.
     *
     * @param seed      the trace.
     * @param poolBytes SWIOTLB pool size.
     * @param threads   simulated CPUs (and pool areas), a power of two.
     * @param depth     requests each CPU keeps in flight.
     * @param requests  requests to complete.
     * @return one result per allocator, in {@link SwiotlbAllocator} order.
     */
    public static List<Result> run(final long seed, final long poolBytes, final int threads, final int depth,
        final int requests)
    {
        if (threads < 1 || Integer.bitCount(threads) != 1 || depth < 1 || requests < 1 || poolBytes < 4L << 20)
        {
            throw new IllegalArgumentException("replay of " + requests + " requests, " + threads + " threads, depth " +
                depth + ", pool " + poolBytes + " bytes: threads a power of two, depth and requests >= 1, the pool " +
                "at least 4 MiB (a 1 MiB request with its header, status and table must fit)");
        }
        final List<Result> out = new ArrayList<>();
        for (final SwiotlbAllocator a : SwiotlbAllocator.values())
        {
            out.add(replay(a, seed, poolBytes, threads, depth, requests));
        }
        return out;
    }

    /** One allocator's replay. */
    static Result replay(final SwiotlbAllocator allocator, final long seed, final long poolBytes, final int threads,
        final int depth, final int requests)
    {
        final GuestMemory memory = GuestMemory.allocate(poolBytes + (8L << 20), false);
        final Swiotlb pool = new Swiotlb(memory, poolBytes, threads, allocator);
        // One data area for every request (only the addresses matter: virtio has no min_align_mask), a scattered
        // 1 MiB bio spans 2 MiB; the header, status and table sit in their own page.
        final long data = memory.allocate(2L << 20, PAGE);
        final long small = memory.allocate(PAGE, PAGE);
        final SplittableRandom steps = new SplittableRandom(seed);
        final SplittableRandom[] streams = new SplittableRandom[threads];
        final List<List<Request>> inFlight = new ArrayList<>();
        final Request[] next = new Request[threads];
        for (int t = 0; t < threads; t++)
        {
            streams[t] = new SplittableRandom(seed * 7919 + t);
            inFlight.add(new ArrayList<>());
        }
        long completed = 0;
        long mappings = 0;
        long requeues = 0;
        long idle = 0;
        while (completed < requests)
        {
            final int t = steps.nextInt(threads);
            final boolean wantSubmit = steps.nextBoolean();
            final int pick = steps.nextInt(depth);
            final List<Request> mine = inFlight.get(t);
            if (mine.size() < depth && (wantSubmit || mine.isEmpty()))
            {
                if (next[t] == null)
                {
                    next[t] = request(streams[t], data, small);
                }
                final int mapped = map(pool, next[t], t);
                if (mapped == next[t].len.length)
                {
                    mappings += mapped;
                    mine.add(next[t]);
                    next[t] = null;
                    idle = 0;
                }
                else
                {
                    mappings += mapped;
                    requeues++;
                    if (++idle > 1_000_000)
                    {
                        throw new IllegalStateException(allocator + ": no progress in a million steps: the pool of " +
                            poolBytes + " bytes cannot hold one request while nothing is in flight");
                    }
                }
            }
            else if (!mine.isEmpty())
            {
                unmap(pool, mine.remove(pick % mine.size()));
                completed++;
            }
        }
        for (final List<Request> mine : inFlight)
        {
            for (final Request r : mine)
            {
                unmap(pool, r);
            }
        }
        if (pool.usedSlots() != 0)
        {
            throw new IllegalStateException(allocator + ": " + pool.usedSlots() + " slots leaked by the replay");
        }
        return new Result(allocator, completed, mappings, pool.fullFailures(), requeues, pool.usedHiwater(),
            pool.nslabs());
    }

    /** The soak's choice of request ({@code SoakRound.start}), as the mappings the driver makes for it. */
    private static Request request(final SplittableRandom rnd, final long data, final long small)
    {
        final double pick = rnd.nextDouble();
        final List<long[]> segments = new ArrayList<>(); // {gpa, len}
        DmaDirection dataDir = DmaDirection.TO_DEVICE;
        if (pick >= 0.04)
        {
            dataDir = pick < 0.52 ? DmaDirection.TO_DEVICE : DmaDirection.FROM_DEVICE;
            final int bytes = SECTOR_SIZE * (1 + rnd.nextInt(2048));
            if (rnd.nextBoolean())
            {
                for (int at = 0; at < bytes; at += MAX_SEGMENT)
                {
                    segments.add(new long[] {data + at, Math.min(MAX_SEGMENT, bytes - at)});
                }
            }
            else
            {
                for (int at = 0, page = 0; at < bytes; at += PAGE, page++)
                {
                    segments.add(new long[] {data + 2L * page * PAGE, Math.min(PAGE, bytes - at)});
                }
            }
        }
        final int descriptors = segments.size() + 2;
        final Request r = new Request(descriptors + (descriptors > 1 ? 1 : 0));
        int i = 0;
        if (descriptors > 1)
        {
            set(r, i++, small + 64, 16L * descriptors, DmaDirection.TO_DEVICE); // the indirect table
        }
        set(r, i++, small, 16, DmaDirection.TO_DEVICE); // virtio_blk_outhdr
        for (final long[] s : segments)
        {
            set(r, i++, s[0], s[1], dataDir);
        }
        set(r, i, small + 32, 1, DmaDirection.FROM_DEVICE); // the status byte
        return r;
    }

    private static void set(final Request r, final int i, final long orig, final long len, final DmaDirection dir)
    {
        r.orig[i] = orig;
        r.len[i] = len;
        r.dir[i] = dir;
    }

    /** @return mappings made: all of them, or fewer after a failure (then those are unmapped again). */
    private static int map(final Swiotlb pool, final Request r, final int cpu)
    {
        for (int i = 0; i < r.len.length; i++)
        {
            r.dma[i] = pool.tblMapSingle(r.orig[i], r.len[i], 0, 0, r.dir[i], cpu);
            if (DmaOps.isMappingError(r.dma[i]))
            {
                for (int j = 0; j < i; j++)
                {
                    pool.tblUnmapSingle(r.dma[j], r.len[j], r.dir[j], 0);
                }
                return i;
            }
        }
        return r.len.length;
    }

    private static void unmap(final Swiotlb pool, final Request r)
    {
        for (int i = 0; i < r.len.length; i++)
        {
            pool.tblUnmapSingle(r.dma[i], r.len[i], r.dir[i], 0);
        }
    }
}
