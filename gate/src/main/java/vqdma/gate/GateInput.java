package vqdma.gate;

import vqdma.results.JmhResult;
import vqdma.results.JmhResults;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the gate compares: the results of one JMH JSON file ({@link JmhResults} reads it) seen through the metric the
 * gate is on, keyed by {@link JmhResult#key()}, each checked for what the statistics need: raw samples of at least
 * one fork, every one finite and positive (a speed ratio of a {@code NaN} or a zero means nothing).
 */
public final class GateInput
{
    private GateInput()
    {
    }

    /**
     * @param file   a JMH JSON result file.
     * @param metric {@code null} for the primary metric, else the name of a secondary metric (e.g.
     *               {@code cpu.time.norm}), which becomes each result's primary metric; results without it are left
     *               out.
     * @return the results in file order, by key.
     * @throws IOException if the file cannot be read.
     * @throws IllegalArgumentException if it is not a JMH result file or a result cannot be gated, naming the file
     *                                  and what is wrong.
     */
    public static Map<String, JmhResult> read(final Path file, final String metric) throws IOException
    {
        final List<JmhResult> results = JmhResults.read(file);
        try
        {
            return select(results, metric);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(file + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @param text   the contents of a JMH JSON result file.
     * @param metric as for {@link #read}.
     * @return the results in file order, by key.
     * @throws IllegalArgumentException if it is not a JMH result file or a result cannot be gated.
     */
    public static Map<String, JmhResult> parse(final String text, final String metric)
    {
        return select(JmhResults.parse(text), metric);
    }

    /**
     * @param results results of one file.
     * @param metric  as for {@link #read}.
     * @return those that have the metric, seen through it and checked, by key.
     * @throws IllegalArgumentException if a result has no usable raw samples or a key appears twice.
     */
    public static Map<String, JmhResult> select(final List<JmhResult> results, final String metric)
    {
        final Map<String, JmhResult> out = new LinkedHashMap<>();
        int index = 0;
        for (final JmhResult result : results)
        {
            index++;
            final JmhResult r = result.onMetric(metric);
            if (r == null)
            {
                continue;
            }
            check(r, "result #" + index + " (" + r.benchmark() + ")", metric);
            if (out.putIfAbsent(r.key(), r) != null)
            {
                throw new IllegalArgumentException(r.key() + " appears twice; to pool runs use 'gate merge'");
            }
        }
        return out;
    }

    private static void check(final JmhResult r, final String name, final String metric)
    {
        final JmhResult.Metric m = r.primary();
        if (!m.hasRawData())
        {
            throw new IllegalArgumentException(name + ": no " + (metric == null ? "'primaryMetric.rawData'" :
                "raw data for the secondary metric '" + metric + "'") + " (the gate needs the raw samples that JMH " +
                "writes with -rf json)");
        }
        if (m.forkCount() == 0)
        {
            throw new IllegalArgumentException(r.displayKey() + ": no forks in the raw data");
        }
        for (int f = 0; f < m.forkCount(); f++)
        {
            final double[] fork = m.fork(f);
            if (fork.length == 0)
            {
                throw new IllegalArgumentException(r.displayKey() + ": fork " + (f + 1) + " has no iterations");
            }
            for (int i = 0; i < fork.length; i++)
            {
                final double v = fork[i];
                if (!(v > 0) || !Double.isFinite(v))
                {
                    throw new IllegalArgumentException(r.displayKey() + ": fork " + (f + 1) + " iteration " + (i + 1) +
                        " has score " + v + ", expected a finite positive number");
                }
            }
        }
    }
}
