package vqdma.gate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading, merging and writing JMH result files ({@code -rf json}): a JSON array of one object per benchmark run, with
 * the raw samples in {@code primaryMetric.rawData} (fork x iteration) or, for {@code sample} mode,
 * {@code primaryMetric.rawDataHistogram} (fork x iteration x [value, count]).
 */
public final class JmhResults
{
    private JmhResults()
    {
    }

    /**
     * @param file a JMH JSON result file.
     * @return its benchmarks in file order, keyed by {@link JmhResult#identity()}.
     * @throws IOException if the file cannot be read.
     * @throws IllegalArgumentException if it is not a JMH result file, naming the file and what is wrong.
     */
    public static Map<String, JmhResult> read(final Path file) throws IOException
    {
        final String text = Files.readString(file, StandardCharsets.UTF_8);
        try
        {
            return parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(file + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @param text the contents of a JMH JSON result file.
     * @return its benchmarks in file order, keyed by {@link JmhResult#identity()}.
     * @throws IllegalArgumentException if it is not a JMH result file.
     */
    public static Map<String, JmhResult> parse(final String text)
    {
        final Object root = Json.parse(text);
        if (!(root instanceof List))
        {
            throw new IllegalArgumentException("expected a JSON array of benchmark results (JMH -rf json)");
        }
        final Map<String, JmhResult> results = new LinkedHashMap<>();
        int index = 0;
        for (final Object entry : (List<?>)root)
        {
            index++;
            final JmhResult result = toResult(entry, index);
            if (results.putIfAbsent(result.identity(), result) != null)
            {
                throw new IllegalArgumentException(result.identity() + " appears twice; to pool runs use 'gate merge'");
            }
        }
        return results;
    }

    /**
     * Pools runs of the same benchmarks into one result per benchmark, the forks of each input appended in order:
     * how {@code scripts/gate run} turns its rounds (one fork of every benchmark per round) into one file.
     *
     * @param runs results of several files, in the order to pool them.
     * @return one result per identity, in order of first appearance.
     * @throws IllegalArgumentException if one benchmark has different units in different runs.
     */
    public static List<JmhResult> merge(final List<Map<String, JmhResult>> runs)
    {
        final Map<String, List<JmhResult>> byIdentity = new LinkedHashMap<>();
        for (final Map<String, JmhResult> run : runs)
        {
            run.forEach((identity, result) -> byIdentity.computeIfAbsent(identity, k -> new ArrayList<>()).add(result));
        }
        final List<JmhResult> merged = new ArrayList<>();
        for (final List<JmhResult> parts : byIdentity.values())
        {
            final JmhResult first = parts.get(0);
            final List<double[]> forks = new ArrayList<>();
            for (final JmhResult part : parts)
            {
                if (!part.unit().equals(first.unit()))
                {
                    throw new IllegalArgumentException(first.identity() + ": unit " + part.unit() + " in one run and " +
                        first.unit() + " in another");
                }
                for (int f = 0; f < part.forkCount(); f++)
                {
                    forks.add(part.fork(f));
                }
            }
            merged.add(new JmhResult(first.benchmark(), first.mode(), first.params(), first.unit(),
                forks.toArray(new double[0][]), first.source()));
        }
        return merged;
    }

    /**
     * Writes results as a JMH JSON result file: each benchmark's original fields (JVM, JDK, iteration settings) with
     * {@code forks} and the primary metric replaced by the pooled samples (score = their mean, as JMH computes it;
     * scoreError "NaN"). Secondary metrics are dropped: they are not pooled.
     *
     * @param results the results.
     * @param file    where to write.
     * @throws IOException if the file cannot be written.
     */
    public static void write(final List<JmhResult> results, final Path file) throws IOException
    {
        Files.writeString(file, toJson(results), StandardCharsets.UTF_8);
    }

    /**
     * @param results the results.
     * @return the JMH JSON text {@link #write} writes.
     */
    public static String toJson(final List<JmhResult> results)
    {
        final List<Object> array = new ArrayList<>();
        for (final JmhResult r : results)
        {
            final Map<String, Object> entry = new LinkedHashMap<>();
            if (r.source() != null)
            {
                entry.putAll(r.source());
            }
            entry.put("benchmark", r.benchmark());
            entry.put("mode", r.mode());
            entry.put("forks", (double)r.forkCount());
            entry.put("params", new LinkedHashMap<String, Object>(r.params()));
            final List<Object> raw = new ArrayList<>();
            double sum = 0;
            int n = 0;
            for (int f = 0; f < r.forkCount(); f++)
            {
                final List<Object> row = new ArrayList<>();
                for (final double v : r.fork(f))
                {
                    row.add(v);
                    sum += v;
                    n++;
                }
                raw.add(row);
            }
            final Map<String, Object> primary = new LinkedHashMap<>();
            primary.put("score", sum / n);
            primary.put("scoreError", "NaN");
            primary.put("scoreUnit", r.unit());
            primary.put("rawData", raw);
            entry.put("primaryMetric", primary);
            entry.put("secondaryMetrics", new LinkedHashMap<String, Object>());
            if (r.params().isEmpty())
            {
                entry.remove("params");
            }
            array.add(entry);
        }
        return Json.write(array);
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static JmhResult toResult(final Object entry, final int index)
    {
        final String where = "result #" + index;
        final Map<String, Object> object = object(entry, where);
        final String benchmark = string(object.get("benchmark"), where + " 'benchmark'");
        final String name = where + " (" + benchmark + ")";
        final String mode = string(object.get("mode"), name + " 'mode'");
        final Map<String, String> params = new LinkedHashMap<>();
        final Object rawParams = object.get("params");
        if (rawParams != null)
        {
            object(rawParams, name + " 'params'").forEach((k, v) -> params.put(k, scalar(v, name + " param " + k)));
        }
        final Map<String, Object> primary = object(object.get("primaryMetric"), name + " 'primaryMetric'");
        final String unit = string(primary.get("scoreUnit"), name + " 'primaryMetric.scoreUnit'");
        final double[][] forks;
        if (primary.get("rawData") != null)
        {
            forks = rawData(primary.get("rawData"), name);
        }
        else if (primary.get("rawDataHistogram") != null)
        {
            forks = histogramMeans(primary.get("rawDataHistogram"), name);
        }
        else
        {
            throw new IllegalArgumentException(name + ": no 'primaryMetric.rawData' (the gate needs the raw samples " +
                "that JMH writes with -rf json)");
        }
        return new JmhResult(benchmark, mode, params, unit, forks, object);
    }

    private static double[][] rawData(final Object value, final String name)
    {
        final List<?> forks = list(value, name + " 'rawData'");
        final double[][] out = new double[forks.size()][];
        for (int f = 0; f < out.length; f++)
        {
            final List<?> iterations = list(forks.get(f), name + " rawData fork " + (f + 1));
            out[f] = new double[iterations.size()];
            for (int i = 0; i < out[f].length; i++)
            {
                out[f][i] = number(iterations.get(i), name + " rawData fork " + (f + 1) + " iteration " + (i + 1));
            }
        }
        return out;
    }

    /** {@code sample} mode: each iteration is a histogram of [value, count] pairs; its sample is their mean. */
    private static double[][] histogramMeans(final Object value, final String name)
    {
        final List<?> forks = list(value, name + " 'rawDataHistogram'");
        final double[][] out = new double[forks.size()][];
        for (int f = 0; f < out.length; f++)
        {
            final List<?> iterations = list(forks.get(f), name + " rawDataHistogram fork " + (f + 1));
            out[f] = new double[iterations.size()];
            for (int i = 0; i < out[f].length; i++)
            {
                final String at = name + " rawDataHistogram fork " + (f + 1) + " iteration " + (i + 1);
                double sum = 0;
                double count = 0;
                for (final Object pair : list(iterations.get(i), at))
                {
                    final List<?> vc = list(pair, at);
                    if (vc.size() != 2)
                    {
                        throw new IllegalArgumentException(at + ": expected [value, count] pairs");
                    }
                    final double c = number(vc.get(1), at);
                    sum += number(vc.get(0), at) * c;
                    count += c;
                }
                out[f][i] = count > 0 ? sum / count : Double.NaN;
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(final Object value, final String what)
    {
        if (!(value instanceof Map))
        {
            throw new IllegalArgumentException(what + ": expected an object");
        }
        return (Map<String, Object>)value;
    }

    private static List<?> list(final Object value, final String what)
    {
        if (!(value instanceof List))
        {
            throw new IllegalArgumentException(what + ": expected an array");
        }
        return (List<?>)value;
    }

    private static String string(final Object value, final String what)
    {
        if (!(value instanceof String))
        {
            throw new IllegalArgumentException(what + ": expected a string");
        }
        return (String)value;
    }

    /** A number, or JMH's strings for the values it could not compute ("NaN", "Infinity"). */
    private static double number(final Object value, final String what)
    {
        if (value instanceof Double)
        {
            return (Double)value;
        }
        if (value instanceof String)
        {
            switch ((String)value)
            {
                case "NaN": return Double.NaN;
                case "Infinity": return Double.POSITIVE_INFINITY;
                case "-Infinity": return Double.NEGATIVE_INFINITY;
                default: break;
            }
        }
        throw new IllegalArgumentException(what + ": expected a number, found " + value);
    }

    private static String scalar(final Object value, final String what)
    {
        if (value instanceof String)
        {
            return (String)value;
        }
        if (value instanceof Double)
        {
            final double d = (Double)value;
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long)d) : Double.toString(d);
        }
        if (value instanceof Boolean)
        {
            return value.toString();
        }
        throw new IllegalArgumentException(what + ": expected a string, number or boolean");
    }
}
