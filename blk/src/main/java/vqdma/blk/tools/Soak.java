package vqdma.blk.tools;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import vqdma.blk.soak.SoakFaults;
import vqdma.blk.soak.SoakRunner;
import vqdma.blk.soak.SwiotlbReplay;
import vqdma.dma.DmaProfile;
import vqdma.ring.tools.Cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code scripts/soak <minutes>}: the two-thread multi-queue virtio-blk path over every DMA profile with random
 * requests, injected faults and verified data, for as long as asked; prints the totals per profile and exits 1 on any
 * violation (see {@link SoakRunner}).
 */
@Command(name = "scripts/soak", mixinStandardHelpOptions = true,
    description = "Soak the multi-queue virtio-blk path: every DMA profile, random requests, injected faults, " +
        "verified data, no leaks.")
public final class Soak implements Callable<Integer>
{
    @Parameters(index = "0", arity = "0..1", paramLabel = "MINUTES", description = "how long (default 5 minutes)")
    Double minutes;

    @Option(names = "--seconds", description = "how long, in seconds (instead of MINUTES)")
    Long seconds;

    @Option(names = "--round-seconds", defaultValue = "10", description = "seconds per round (default 10)")
    double roundSeconds;

    @Option(names = "--profiles", split = ",",
        defaultValue = "direct,swiotlb,swiotlb-force,swiotlb-bitmap,swiotlb-hot,iommu-strict,iommu-lazy",
        description = "DMA profiles to cycle through (default: ${DEFAULT-VALUE})")
    List<String> profiles;

    @Option(names = "--queues", defaultValue = "4", description = "queues, each with a driver and a device thread " +
        "(default 4)")
    int queues;

    @Option(names = "--depth", defaultValue = "4", description = "bios each driver thread keeps in flight (default 4)")
    int depth;

    @Option(names = "--queue-size", defaultValue = "256", description = "ring size (default 256)")
    int queueSize;

    @Option(names = "--disk-mib", defaultValue = "64", description = "RAM disk size in MiB (default 64)")
    int diskMib;

    @Option(names = "--seed", description = "seed (default: from the clock, printed)")
    Long seed;

    @Option(names = "--no-faults", description = "a clean run: no injected faults")
    boolean noFaults;

    @Option(names = "--compare-allocators", description = "instead of soaking: replay the soak's request mix on two " +
        "simulated CPUs against each SWIOTLB allocator (kernel, RFC bitmap, RFC hot) and print their 'buffer is " +
        "full' failures and high-water marks (the same trace for each; --seed, --requests, --replay-depths)")
    boolean compareAllocators;

    @Option(names = "--requests", defaultValue = "20000", description = "with --compare-allocators: requests per " +
        "replay (default 20000)")
    int requests;

    @Option(names = "--replay-depths", split = ",", defaultValue = "8,16,32", description = "with " +
        "--compare-allocators: requests in flight per CPU, one replay each (default ${DEFAULT-VALUE})")
    List<Integer> replayDepths;

    @Override
    public Integer call()
    {
        final long durationNs = seconds != null ? TimeUnit.SECONDS.toNanos(seconds) :
            (long)((minutes != null ? minutes : 5.0) * 60e9);
        if (durationNs <= 0 || roundSeconds <= 0 || queues < 1 || depth < 1 || diskMib < 8 || diskMib > 1024)
        {
            System.err.println("soak: the duration, --round-seconds, --queues and --depth must be positive, " +
                "--disk-mib 8..1024");
            return 2;
        }
        if (compareAllocators)
        {
            return compareAllocators(seed != null ? seed : System.nanoTime());
        }
        final List<DmaProfile> list = new ArrayList<>();
        for (final String p : profiles)
        {
            list.add(DmaProfile.of(p));
        }
        final SoakRunner.Options options = new SoakRunner.Options(durationNs, (long)(roundSeconds * 1e9), queues,
            depth, queueSize, (long)diskMib << 20, seed != null ? seed : System.nanoTime(),
            noFaults ? SoakFaults.none() : SoakFaults.defaults(), list);
        return new SoakRunner(options, System.out).run().passed() ? 0 : 1;
    }

    private int compareAllocators(final long s)
    {
        final long pool = 16L << 20;
        System.out.printf("SWIOTLB allocators on the soak's request mix (seed %d): 2 simulated CPUs (one pool area " +
            "each), a %d MiB pool, %d requests per replay, the same trace for every allocator%n", s, pool >> 20,
            requests);
        System.out.printf("%6s %-8s %10s %10s %12s %10s %16s%n", "depth", "alloc", "requests", "mappings",
            "full (fail)", "requeues", "hiwater (slots)");
        for (final int d : replayDepths)
        {
            for (final SwiotlbReplay.Result r : SwiotlbReplay.run(s, pool, 2, d, requests))
            {
                System.out.printf("%6d %-8s %10d %10d %12d %10d %9d / %d%n", d, r.allocator().id(), r.requests(),
                    r.mappings(), r.fullFailures(), r.requeues(), r.hiwater(), r.nslabs());
            }
        }
        return 0;
    }

    /** @param args the command line. */
    public static void main(final String[] args)
    {
        System.exit(Cli.of(new Soak()).execute(args));
    }
}
