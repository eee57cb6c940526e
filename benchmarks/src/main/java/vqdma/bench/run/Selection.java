package vqdma.bench.run;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code scripts/bench} runs: a list of JMH invocations ({@link Step}s), each a regex with its parameters.
 * <ul>
 *   <li>{@link #curated}: the default, the cells that tell the story in a few minutes on 2 cores: the ring's cost,
 *   the ring against its peers, map+unmap per DMA op across request sizes next to memcpy (the failing 1 MiB
 *   SWIOTLB cell included), IOMMU strict vs lazy, and virtio-blk with the clamp off and on. Short iterations
 *   ({@link #QUICK}): indicative numbers, enough for the report's charts.</li>
 *   <li>{@link #full}: every benchmark with its own defaults (the matrix a baseline records; about 30 minutes).</li>
 *   <li>{@link #regex}: what the user asks for, as with {@code java -jar benchmarks.jar}.</li>
 * </ul>
 * Steps are separate JMH invocations because parameter names repeat across groups with different values
 * ({@code dma} is {@code bypass|direct} for the ring and a DMA profile for virtio-blk, {@code size} has different
 * useful values for a map and a request): JMH applies a {@code -p} to every selected benchmark that has it.
 */
public final class Selection
{
    /** The curated selection's iterations: one fork, 2 x 500 ms warm-up, 3 x 500 ms measured. */
    public static final List<String> QUICK = List.of("-f", "1", "-wi", "2", "-w", "500ms", "-i", "3", "-r", "500ms");

    /**
     * One JMH invocation.
     *
     * @param title   what it measures, for the progress output.
     * @param jmhArgs JMH command line (group regexes such as {@code dma.*} allowed: they are anchored before use).
     */
    public record Step(String title, List<String> jmhArgs)
    {
        /** Copies the arguments. */
        public Step
        {
            jmhArgs = List.copyOf(jmhArgs);
        }
    }

    private Selection()
    {
    }

    /**
     * The default selection. Steps for benchmarks that are not in this build (another branch adds them) select
     * nothing and are skipped, so the list can name them ahead of time.
     *
     * @param extra JMH options for every step: each replaces the step's own ({@link #merge}).
     * @return the steps.
     */
    public static List<Step> curated(final List<String> extra)
    {
        final List<Step> steps = new ArrayList<>();
        steps.add(step("reference workload (the gate's yardstick)", extra, "ref.ReferenceBenchmark"));
        steps.add(step("ring: one-thread add/pop/return cycle, split and packed", extra,
            "ring.RingCycleBenchmark.cycle", "-p", "queueSize=256", "-p", "indirect=false", "-p", "dma=direct",
            "-p", "shape=chain128,single128", "-p", "layout=split,packed"));
        steps.add(step("ring (split and packed) vs peers: two-thread round trips", extra,
            "ring.RingRoundTripBenchmark.roundTrip", "peer.*", "-p", "queueSize=256", "-p", "batch=1,32",
            "-p", "indirect=false", "-p", "mode=poll", "-p", "layout=split,packed"));
        steps.add(step("dma: map+unmap per DMA op and size, memcpy baseline", extra,
            "dma.DmaMapBenchmark.(mapUnmap|memcpy)$",
            "-p", "ops=direct,swiotlb-force,swiotlb-hot,iommu-strict,iommu-lazy",
            "-p", "size=4096,65536,262144,1048576", "-p", "dir=TO_DEVICE", "-p", "pool=67108864"));
        steps.add(step("iommu: strict vs lazy, with and without invalidation cost", extra,
            "iommu.IommuBenchmark.iommuMapUnmap", "-p", "mode=strict,lazy", "-p", "rcache=true",
            "-p", "invalidationNanos=0,1000", "-p", "size=4096"));
        // The 2019 failure (swiotlb-force, clamp off, 1 MiB) next to the fix and to direct DMA, 32 requests in flight.
        steps.add(step("blk: virtio-blk requests, clamp off (2019) vs on (the fix)", extra, "blk.BlkBenchmark.request",
            "-p", "dma=direct,swiotlb-force", "-p", "clamp=false,true", "-p", "size=65536,1048576", "-p", "depth=32",
            "-p", "layout=split"));
        return steps;
    }

    /**
     * @param extra JMH options for the run.
     * @return one step: every benchmark with its own annotations' settings.
     */
    public static List<Step> full(final List<String> extra)
    {
        return List.of(new Step("the whole matrix", extra));
    }

    /**
     * @param regex a JMH include regex (group names allowed).
     * @param extra JMH options.
     * @return one step: that selection.
     */
    public static List<Step> regex(final String regex, final List<String> extra)
    {
        final List<String> args = new ArrayList<>();
        args.add(regex);
        args.addAll(extra);
        return List.of(new Step(regex, args));
    }

    private static Step step(final String title, final List<String> extra, final String... args)
    {
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(QUICK);
        return new Step(title, merge(all, extra));
    }

    /**
     * JMH refuses an option given twice ({@code -f 1 -f 3}) and accumulates {@code -p} values, so a user's option
     * must replace the step's instead of following it.
     *
     * @param base     a step's JMH arguments.
     * @param override the user's: each option replaces the same option of {@code base}, each {@code -p name=...}
     *                 the same parameter; positional arguments are added.
     * @return the merged command line.
     */
    static List<String> merge(final List<String> base, final List<String> override)
    {
        final Set<String> options = new HashSet<>();
        final Set<String> params = new HashSet<>();
        for (int i = 0; i < override.size(); i++)
        {
            final String t = override.get(i);
            if (t.equals("-p") && i + 1 < override.size())
            {
                params.add(paramName(override.get(++i)));
            }
            else if (t.startsWith("-") && takesArgument(t))
            {
                options.add(t);
                i++;
            }
            else if (t.startsWith("-"))
            {
                options.add(t);
            }
        }
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < base.size(); i++)
        {
            final String t = base.get(i);
            final boolean withArgument = t.startsWith("-") && takesArgument(t) && i + 1 < base.size();
            final boolean keep = t.equals("-p") ? !params.contains(paramName(base.get(i + 1))) : !options.contains(t);
            if (keep)
            {
                out.add(t);
                if (withArgument)
                {
                    out.add(base.get(i + 1));
                }
            }
            if (withArgument)
            {
                i++;
            }
        }
        out.addAll(override);
        return out;
    }

    private static boolean takesArgument(final String option)
    {
        return option.indexOf('=') < 0 && !List.of("-l", "-lp", "-lprof", "-lrf", "-h", "--").contains(option);
    }

    private static String paramName(final String nameEqualsValues)
    {
        final int eq = nameEqualsValues.indexOf('=');
        return eq < 0 ? nameEqualsValues : nameEqualsValues.substring(0, eq);
    }
}
