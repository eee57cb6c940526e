package vqdma.bench.run;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.format.OutputFormat;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * JMH's human-readable output with progress added: before each benchmark run, a line with its position in the whole
 * selection, the time elapsed and an estimate of the time left; after it, the score and the outcome counters.
 * <pre>
 *   [ 7/28  0:41 elapsed  ~1:52 left] dma.DmaMapBenchmark.mapUnmap dir=TO_DEVICE ops=swiotlb-force size=65536
 *       ... 10234.5 ns/op (3 iterations: 10102.7..10388.1)  mapped=5.1e+05 mapErrors=0
 * </pre>
 * The score is JMH's (the mean of the measured iterations); the spread beside it is the range of those iterations,
 * lowest to highest ({@link #SPREAD_LEGEND}), not JMH's 99.9% interval: with the curated selection's one fork of
 * three iterations that interval is a Student-t quantile of about 30 times the standard error, wider than the score
 * itself, and says nothing useful; the range says what was measured.
 * Everything JMH prints goes to {@code delegate} (JMH's own format, writing {@code jmh.log}, and the console too
 * when verbose). When not verbose the console gets the progress lines, a dot per iteration, the result line, and
 * any failure JMH reports (from a {@code <failure>} or {@code <forked VM failed} line to the next benchmark).
 * <p>
 * The estimate of the time left is the {@link Plan}'s estimate of the runs not yet finished, scaled by how the
 * finished runs compared to their own estimate (a busy machine runs late, and the estimate learns it).
 */
final class ProgressFormat implements OutputFormat
{
    /** Aux counters whose non-zero value means a failed operation, by the project's convention. */
    static final Set<String> ERROR_COUNTERS = Set.of("errors", "ioerr", "mapErrors");

    /** What the spread of a result line is, for the console. */
    static final String SPREAD_LEGEND = String.format("score: the mean of the measured iterations; " +
        "(n iterations: lowest..highest): their range.%nOne fork shows the noise within one JVM only; differences " +
        "between JVMs (JIT, memory layout) need several forks (-f 5).");

    /** What JMH prints when a run fails; from there to the next run, the console gets JMH's output as is. */
    private static final List<String> FAILURE_MARKERS = List.of("<failure>", "<forked VM failed",
        "<binary link had failed");

    private final OutputFormat delegate;
    private final PrintStream console;
    private final boolean verbose;
    private final Map<String, Double> estimates = new HashMap<>();
    private final int total;
    private final long startNanos;
    private double estimatedLeft;
    private double estimatedDone;
    private int started;
    private int failedRuns;
    private int runsWithErrors;
    private boolean echo;
    private String expectedErrors;

    /**
     * @param plan     every run of the selection, all steps.
     * @param delegate JMH's format for the log.
     * @param console  where progress goes.
     * @param verbose  whether the delegate also writes to the console (then only progress lines are added).
     */
    ProgressFormat(final Plan plan, final OutputFormat delegate, final PrintStream console, final boolean verbose)
    {
        this.delegate = delegate;
        this.console = console;
        this.verbose = verbose;
        for (final Cell c : plan.cells())
        {
            estimates.merge(c.key(), c.estimateSeconds(), Double::sum);
            estimatedLeft += c.estimateSeconds();
        }
        this.total = plan.cells().size();
        this.startNanos = System.nanoTime();
    }

    /** @return runs that produced no result (a failure in the benchmark or its fork). */
    int failedRuns()
    {
        return failedRuns;
    }

    /** @return runs whose error counters ({@link #ERROR_COUNTERS}) were not zero. */
    int runsWithErrors()
    {
        return runsWithErrors;
    }

    /** @return seconds since this format was made. */
    double elapsedSeconds()
    {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    @Override
    public void startBenchmark(final BenchmarkParams params)
    {
        echo = false;
        started++;
        final Map<String, String> values = new LinkedHashMap<>();
        for (final String k : params.getParamsKeys())
        {
            values.put(k, params.getParam(k));
        }
        final Cell shape = new Cell(params.getBenchmark(), params.getMode(), values, 0, 0, 0, 0, 0, 0);
        final double elapsed = elapsedSeconds();
        // How late the machine runs: finished runs' elapsed time against their estimate (clamped: early runs say little).
        final double pace = estimatedDone > 0 ? Math.max(0.5, Math.min(4.0, elapsed / estimatedDone)) : 1.0;
        final String width = Integer.toString(Integer.toString(Math.max(total, started)).length());
        final String line = String.format(Locale.ROOT, "[%" + width + "d/%d  %s elapsed  ~%s left] %s", started,
            Math.max(total, started), Plan.clock(elapsed), Plan.clock(estimatedLeft * pace), shape.label());
        final Double estimate = estimates.remove(shape.key());
        if (estimate != null)
        {
            estimatedLeft -= estimate;
            estimatedDone += estimate;
        }
        delegate.println(line);
        if (!verbose)
        {
            console.println(line);
            console.print("    ");
            console.flush();
        }
        delegate.startBenchmark(params);
    }

    @Override
    public void iteration(final BenchmarkParams benchParams, final IterationParams params, final int iteration)
    {
        delegate.iteration(benchParams, params, iteration);
    }

    @Override
    public void iterationResult(final BenchmarkParams benchParams, final IterationParams params, final int iteration,
        final IterationResult data)
    {
        delegate.iterationResult(benchParams, params, iteration, data);
        if (!verbose && !echo)
        {
            console.print('.');
            console.flush();
        }
    }

    @Override
    public void endBenchmark(final BenchmarkResult result)
    {
        delegate.endBenchmark(result);
        String line = result == null ? "no result: the run failed (see jmh.log)" : resultLine(result);
        if (expectedErrors != null)
        {
            line = line.replace(" (!)", " (" + expectedErrors + ")");
        }
        if (result == null)
        {
            failedRuns++;
        }
        else if (line.contains("(!)"))
        {
            runsWithErrors++;
        }
        if (!verbose)
        {
            console.println(echo ? "    " + line : " " + line);
            console.flush();
        }
        echo = false;
    }

    /**
     * Marks failed operations in the runs that follow as expected instead of flagging them {@code (!)}: for a step
     * that measures a failure path on purpose (the 2019 mapping failure), so that a passing check reads as one.
     *
     * @param why what to write beside a failing counter instead of {@code (!)}, or {@code null} to flag them again.
     */
    void expectErrors(final String why)
    {
        expectedErrors = why;
    }

    /**
     * @param result a finished run.
     * @return its score and its outcome counters; error counters that are not zero are flagged {@code (!)}.
     */
    static String resultLine(final BenchmarkResult result)
    {
        final Result<?> primary = result.getPrimaryResult();
        final String score = score(primary, Math.max(1, result.getParams().getForks()));
        final int space = score.indexOf(' ');
        // The unit after the score, before the spread: "7834 ns/op (3 iterations: 7650..8020)".
        final StringBuilder out = new StringBuilder(space < 0 ? score + " " + primary.getScoreUnit() :
            score.substring(0, space) + " " + primary.getScoreUnit() + score.substring(space));
        final Map<String, ? extends Result<?>> secondary = secondary(result);
        for (final Map.Entry<String, ? extends Result<?>> e : secondary.entrySet())
        {
            final String name = e.getKey();
            final double v = e.getValue().getScore();
            if (name.startsWith("gc.") && !name.equals("gc.alloc.rate.norm") || name.startsWith("·"))
            {
                continue;
            }
            out.append("  ").append(name).append('=').append(compact(v));
            if (ERROR_COUNTERS.contains(name) && v > 0)
            {
                out.append(" (!)");
            }
        }
        return out.toString();
    }

    /** JMH's map is of raw {@code Result}s; every value is some {@code Result<?>}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Map<String, ? extends Result<?>> secondary(final BenchmarkResult result)
    {
        return (Map)result.getSecondaryResults();
    }

    private static String score(final Result<?> r, final int forks)
    {
        final long n = r.getStatistics().getN();
        if (n < 2)
        {
            return compact(r.getScore());
        }
        final String count = forks > 1 ? n + " iterations in " + forks + " forks" : n + " iterations";
        return String.format(Locale.ROOT, "%s (%s: %s..%s)", compact(r.getScore()), count,
            compact(r.getStatistics().getMin()), compact(r.getStatistics().getMax()));
    }

    /**
     * @param v a score.
     * @return four significant digits, plainly written from 0.001 to a million, scientific beyond.
     */
    static String compact(final double v)
    {
        if (v == 0 || Double.isNaN(v) || Double.isInfinite(v))
        {
            return v == 0 ? "0" : Double.toString(v);
        }
        final double a = Math.abs(v);
        if (a >= 1e6 || a < 1e-3)
        {
            return String.format(Locale.ROOT, "%.3e", v);
        }
        final int digits = Math.max(0, 3 - (int)Math.floor(Math.log10(a)));
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    @Override
    public void startRun()
    {
        delegate.startRun();
    }

    @Override
    public void endRun(final Collection<RunResult> result)
    {
        delegate.endRun(result);
    }

    @Override
    public void print(final String s)
    {
        delegate.print(s);
        echo(s, false);
    }

    @Override
    public void println(final String s)
    {
        delegate.println(s);
        echo(s, true);
    }

    @Override
    public void flush()
    {
        delegate.flush();
        console.flush();
    }

    @Override
    public void close()
    {
        // JMH closes its format at the end of every Runner.run(); the runner closes the log itself after all steps.
        delegate.flush();
    }

    @Override
    public void verbosePrintln(final String s)
    {
        delegate.verbosePrintln(s);
    }

    @Override
    public void write(final int b)
    {
        delegate.write(b);
    }

    @Override
    public void write(final byte[] b) throws IOException
    {
        delegate.write(b);
    }

    private void echo(final String s, final boolean newline)
    {
        if (verbose)
        {
            return;
        }
        if (!echo && s != null && FAILURE_MARKERS.stream().anyMatch(s::contains))
        {
            echo = true;
            console.println();
        }
        if (echo)
        {
            if (newline)
            {
                console.println(s);
            }
            else
            {
                console.print(s);
            }
        }
    }
}
