package vqdma.blk.soak;

import vqdma.blk.RamBackend;
import vqdma.dma.DmaProfile;

import java.io.PrintStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The soak (issue 9): the two-thread multi-queue virtio-blk path over every DMA profile in turn, clamping on, random
 * request types and sizes, random injected faults ({@link FaultInjector}), and verified data, for as long as asked.
 * Rounds cycle through the profiles; each builds a fresh guest (memory, DMA ops, rings, device threads) over the one
 * RAM disk the whole soak shares, so the data written under one profile is read back under the others.
 * <p>
 * What must hold at the end, or the run fails: every bio accounted for (done OK, or failed with a reason: an injected
 * backend IOERR, an injected DMA fault, or the reset at a round's end), zero bytes that differ from the model (in
 * reads, and on the disk after each round), zero leaks after each round (requests, descriptors, indirect tables,
 * bounce slots, IOVAs but the rings', device threads), as many DMA faults counted by the device view as injected,
 * no mapping error (the clamp is on), and memory stable: heap after GC and off-heap (direct buffers) after GC at the
 * end within {@link #HEAP_SLACK} and {@link #OFF_HEAP_SLACK} of the start.
 */
public final class SoakRunner
{
    /** Heap growth after GC tolerated between start and end. */
    public static final long HEAP_SLACK = 32L << 20;
    /** Off-heap growth after GC tolerated between start and end. */
    public static final long OFF_HEAP_SLACK = 8L << 20;

    /**
     * What to run.
     *
     * @param durationNs   total time.
     * @param roundNs      time per round (at least one round per profile is run, whatever the total).
     * @param queues       queues (driver threads, device threads) per round.
     * @param depth        bios each driver thread keeps in flight.
     * @param queueSize    ring size.
     * @param capacity     RAM disk bytes.
     * @param seed         seed of the driver-side choices and the faults' decisions.
     * @param faults       fault rates.
     * @param profiles     DMA profiles to cycle through.
     */
    public record Options(long durationNs, long roundNs, int queues, int depth, int queueSize, long capacity,
        long seed, SoakFaults faults, List<DmaProfile> profiles)
    {
    }

    /** The outcome: per-profile totals, memory at start and end, and whether everything held. */
    public record Result(Map<DmaProfile, SoakTotals> totals, long heapStart, long heapEnd, long offHeapStart,
        long offHeapEnd, List<String> memoryViolations)
    {
        /** @return violations of every profile plus memory. */
        public long violations()
        {
            long n = memoryViolations.size();
            for (final SoakTotals t : totals.values())
            {
                n += t.violations();
            }
            return n;
        }

        /** @return true if nothing was violated. */
        public boolean passed()
        {
            return violations() == 0;
        }
    }

    private final Options options;
    private final PrintStream out;

    /**
     * @param options what to run.
     * @param out     where progress and totals go.
     */
    public SoakRunner(final Options options, final PrintStream out)
    {
        this.options = options;
        this.out = out;
    }

    /** @return the result (also printed). */
    public Result run()
    {
        final Options o = options;
        final RamBackend ram = new RamBackend(o.capacity());
        final DiskModel model = new DiskModel(o.capacity(), o.queues() * o.depth() + 1);
        final Map<DmaProfile, SoakTotals> totals = new LinkedHashMap<>();
        for (final DmaProfile p : o.profiles())
        {
            totals.put(p, new SoakTotals(p.id()));
        }
        final long heapStart = heapAfterGc();
        final long offHeapStart = offHeap();
        out.printf("soak: %d s, rounds of %d ms over %s, %d queues x %d bios in flight, ring %d, disk %d MiB, seed %d%n",
            TimeUnit.NANOSECONDS.toSeconds(o.durationNs()), TimeUnit.NANOSECONDS.toMillis(o.roundNs()),
            names(o.profiles()), o.queues(), o.depth(), o.queueSize(), o.capacity() >> 20, o.seed());
        out.printf("faults: %s%n", o.faults());
        out.printf("memory at start (after GC): heap %d MiB, off-heap %d MiB%n", heapStart >> 20, offHeapStart >> 20);
        final SplittableRandom rnd = new SplittableRandom(o.seed());
        final long rounds = Math.max(o.profiles().size(), o.durationNs() / o.roundNs());
        final long start = System.nanoTime();
        for (long r = 0; r < rounds; r++)
        {
            final DmaProfile profile = o.profiles().get((int)(r % o.profiles().size()));
            final SoakTotals t = totals.get(profile);
            final boolean abrupt = rnd.nextBoolean();
            final long before = t.bios();
            final long violationsBefore = t.violations();
            final long returnedBefore = t.resetReturned.get();
            new SoakRound(profile, o.queues(), o.depth(), o.queueSize(), o.roundNs(), abrupt, rnd.nextLong(),
                o.faults(), ram, model, t).run();
            t.rounds.incrementAndGet();
            out.printf("[%3d/%d %4ds] %-13s %s %6d bios, %d violations, known %d%% of the disk%n", r + 1, rounds,
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start), profile.id(),
                abrupt ? String.format("reset, %3d taken back", t.resetReturned.get() - returnedBefore) :
                "drained              ", t.bios() - before, t.violations() - violationsBefore,
                100 * model.knownSectors() / model.sectors());
        }
        final long heapEnd = heapAfterGc();
        final long offHeapEnd = offHeap();
        final List<String> memory = new ArrayList<>();
        if (heapEnd - heapStart > HEAP_SLACK)
        {
            memory.add(String.format("heap after GC grew from %d to %d MiB", heapStart >> 20, heapEnd >> 20));
        }
        if (offHeapEnd - offHeapStart > OFF_HEAP_SLACK)
        {
            memory.add(String.format("off-heap after GC grew from %d to %d MiB", offHeapStart >> 20,
                offHeapEnd >> 20));
        }
        final Result result = new Result(totals, heapStart, heapEnd, offHeapStart, offHeapEnd, memory);
        print(result);
        return result;
    }

    private static String names(final List<DmaProfile> profiles)
    {
        final StringBuilder sb = new StringBuilder();
        for (final DmaProfile p : profiles)
        {
            sb.append(sb.length() == 0 ? "" : ",").append(p.id());
        }
        return sb.toString();
    }

    private void print(final Result r)
    {
        out.println();
        out.printf("%-14s %6s %8s %8s %28s %9s %9s %9s %8s  %-44s %9s %5s%n", "profile", "rounds", "bios", "OK",
            "IOERR backend/dma/reset/?", "requests", "MiB", "read MiB", "requeues",
            "injected delay/reorder/kick/call/ioerr/dma/hog", "corrupted", "leaks");
        for (final SoakTotals t : r.totals().values())
        {
            final String ioerr = String.format("%d/%d/%d/%d", t.failed(FaultInjector.Reason.BACKEND_IOERR),
                t.failed(FaultInjector.Reason.DMA_FAULT), t.failed(FaultInjector.Reason.RESET),
                t.failed(FaultInjector.Reason.UNEXPLAINED));
            final String injected = String.format("%d/%d/%d/%d/%d/%d/%d", t.delays.get(), t.reorders.get(),
                t.lostKicks.get(), t.lostCalls.get(), t.backendIoerrs.get(), t.dmaFaults.get(), t.hogEpisodes.get());
            out.printf("%-14s %6d %8d %8d %28s %9d %9d %9d %8d  %-44s %9d %5d%n", t.profile(), t.rounds.get(),
                t.bios(), t.ok(), ioerr, t.requests.get(), t.bytes.get() >> 20, t.verifiedBytes() >> 20,
                t.requeues(), injected, t.corrupted(), t.leaks());
        }
        for (final SoakTotals t : r.totals().values())
        {
            if (t.bounceSlots.get() > 0)
            {
                out.printf("%-14s SWIOTLB: 'buffer is full' %d times (the pool hog's mappings included), high-water " +
                    "%d of %d slots%n", t.profile(), t.bounceFull.get(), t.bounceHiwater.get(), t.bounceSlots.get());
            }
        }
        out.println();
        out.printf("memory (after GC): heap %d -> %d MiB, off-heap %d -> %d MiB%n", r.heapStart() >> 20,
            r.heapEnd() >> 20, r.offHeapStart() >> 20, r.offHeapEnd() >> 20);
        long sleeps = 0;
        long wakeups = 0;
        long resets = 0;
        long reaped = 0;
        for (final SoakTotals t : r.totals().values())
        {
            sleeps += t.deviceSleeps.get();
            wakeups += t.deviceWakeups.get();
            resets += t.resetReturned.get();
            reaped += t.resetCompleted.get();
        }
        out.printf("lost kicks and interrupts are recovered by the safety slices (5 ms): device sleeps %d, ended by a " +
            "kick %d, by the idle slice %d%n", sleeps, wakeups, sleeps - wakeups);
        out.printf("resets with bios in flight: requests completed by the device and reaped at the reset %d, taken " +
            "back unserved or failed before dispatch %d%n", reaped, resets);
        for (final SoakTotals t : r.totals().values())
        {
            for (final String m : t.messages())
            {
                out.println("VIOLATION " + t.profile() + ": " + m);
            }
        }
        for (final String m : r.memoryViolations())
        {
            out.println("VIOLATION memory: " + m);
        }
        out.println(r.passed() ? "PASS: every bio accounted for, 0 corrupted bytes, 0 leaks, memory stable" :
            "FAIL: " + r.violations() + " violations");
    }

    static long heapAfterGc()
    {
        settle();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static long offHeap()
    {
        settle();
        long used = 0;
        for (final BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class))
        {
            if (pool.getName().equals("direct"))
            {
                used += pool.getMemoryUsed();
            }
        }
        return used;
    }

    /** Two GCs with a pause between: the second lets the cleaners of direct buffers found by the first run. */
    private static void settle()
    {
        System.gc();
        try
        {
            Thread.sleep(100);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        System.gc();
    }
}
