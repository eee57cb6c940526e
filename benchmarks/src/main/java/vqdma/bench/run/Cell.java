package vqdma.bench.run;

import org.openjdk.jmh.annotations.Mode;
import vqdma.bench.Main;

import java.util.Map;
import java.util.TreeMap;

/**
 * One run JMH will make: a benchmark method in one mode with one combination of parameter values, with the iteration
 * settings that apply to it (the command line's, else the class's annotations, else JMH's defaults). One line of
 * {@code -lp}, expanded.
 *
 * @param benchmark         fully-qualified benchmark name ({@code vqdma.bench.dma.DmaMapBenchmark.mapUnmap}).
 * @param mode              the benchmark mode.
 * @param params            parameter name to value, sorted by name.
 * @param forks             measured forks ({@code 0}: in the host JVM).
 * @param warmupForks       warm-up forks, which run every iteration too.
 * @param warmupIterations  warm-up iterations per fork.
 * @param warmupSeconds     seconds per warm-up iteration ({@code 0} for single-shot).
 * @param iterations        measurement iterations per fork.
 * @param iterationSeconds  seconds per measurement iteration ({@code 0} for single-shot).
 */
public record Cell(
    String benchmark,
    Mode mode,
    Map<String, String> params,
    int forks,
    int warmupForks,
    int warmupIterations,
    double warmupSeconds,
    int iterations,
    double iterationSeconds)
{
    /**
     * What a fork costs beyond its iterations: JVM start, class loading, JMH's handshake with the host, the trial's
     * {@code @Setup} and {@code @TearDown}, JVM exit. Measured on the 2-core development VM under a load average of 8
     * ({@code -f 4 -wi 0 -i 1 -r 100ms}): 1.4 s for IommuBenchmark, 1.8 s for DmaMapBenchmark (160 MiB of guest
     * memory per trial). 2 s keeps the estimate on the safe side.
     */
    public static final double FORK_SECONDS = 2.0;

    /** JMH's work between iterations (synchronising the workers, {@code Level.Iteration} fixtures, printing). */
    public static final double ITERATION_SECONDS = 0.05;

    /** Keeps the parameters sorted by name, so that keys and labels do not depend on JMH's order. */
    public Cell
    {
        params = new TreeMap<>(params);
    }

    /** @return the benchmark group: {@code dma} for {@code vqdma.bench.dma.DmaMapBenchmark.mapUnmap}. */
    public String group()
    {
        return groupOf(benchmark);
    }

    /**
     * @param benchmark a fully-qualified benchmark name.
     * @return its group (the package under {@code vqdma.bench.}), or {@code other}.
     */
    public static String groupOf(final String benchmark)
    {
        if (benchmark.startsWith(Main.PACKAGE))
        {
            final int dot = benchmark.indexOf('.', Main.PACKAGE.length());
            if (dot > 0)
            {
                return benchmark.substring(Main.PACKAGE.length(), dot);
            }
        }
        return "other";
    }

    /** @return benchmark, mode and parameters: what identifies this run among the others. */
    public String key()
    {
        return key(benchmark, mode, params);
    }

    /**
     * @param benchmark fully-qualified benchmark name.
     * @param mode      mode.
     * @param params    parameters, any order.
     * @return the key {@link #key()} would give.
     */
    public static String key(final String benchmark, final Mode mode, final Map<String, String> params)
    {
        return benchmark + " " + mode.shortLabel() + " " + new TreeMap<>(params);
    }

    /** @return the benchmark name without {@code vqdma.bench.}, and the parameters: what a progress line shows. */
    public String label()
    {
        final String name = benchmark.startsWith(Main.PACKAGE) ? benchmark.substring(Main.PACKAGE.length()) : benchmark;
        final StringBuilder out = new StringBuilder(name);
        params.forEach((k, v) -> out.append(' ').append(k).append('=').append(v));
        return out.toString();
    }

    /** @return the estimated wall time of this run, in seconds (see {@link #FORK_SECONDS}). */
    public double estimateSeconds()
    {
        final double perFork = warmupIterations * (warmupSeconds + ITERATION_SECONDS) +
            iterations * (iterationSeconds + ITERATION_SECONDS);
        if (forks == 0)
        {
            return perFork;
        }
        return (forks + warmupForks) * (FORK_SECONDS + perFork);
    }
}
