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
        return read(file, null);
    }

    /**
     * @param file   a JMH JSON result file.
     * @param metric {@code null} for the primary metric, else the name of a secondary metric (e.g.
     *               {@code cpu.time.norm}); benchmarks without it are left out.
     * @return its benchmarks in file order, keyed by {@link JmhResult#identity()}.
     * @throws IOException if the file cannot be read.
     * @throws IllegalArgumentException if it is not a JMH result file, naming the file and what is wrong.
     */
    public static Map<String, JmhResult> read(final Path file, final String metric) throws IOException
    {
        final String text = Files.readString(file, StandardCharsets.UTF_8);
        try
        {
            return parse(text, metric);
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
        return parse(text, null);
    }

    /**
     * @param text   the contents of a JMH JSON result file.
     * @param metric {@code null} for the primary metric, else a secondary metric's name; benchmarks without it are
     *               left out.
     * @return its benchmarks in file order, keyed by {@link JmhResult#identity()}.
     * @throws IllegalArgumentException if it is not a JMH result file.
     */
    public static Map<String, JmhResult> parse(final String text, final String metric)
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
            final JmhResult result = toResult(entry, index, metric);
            if (result == null)
            {
                continue;
            }
            if (results.putIfAbsent(result.identity(), result) != null)
            {
                throw new IllegalArgumentException(result.identity() + " appears twice; to pool runs use 'gate merge'");
            }
        }
        return results;
    }

    /**
     * Pools JMH result files of the same benchmarks into one, the forks of each input appended in order: how
     * {@code scripts/gate run} turns its rounds (one fork of every benchmark per round) into one file. Works on the
     * JSON, so that every metric survives: the primary metric and each secondary metric that every input has (with
     * raw data) get their raw data concatenated and their score recomputed as the mean of it (as JMH computes it;
     * errors and percentiles are dropped). Other fields are the first input's.
     *
     * @param texts the contents of JMH JSON result files, in the order to pool them.
     * @return the pooled file's text, benchmarks in order of first appearance.
     * @throws IllegalArgumentException if an input is not a JMH result file or a metric's unit differs between inputs.
     */
    public static String merge(final List<String> texts)
    {
        final Map<String, List<Map<String, Object>>> byIdentity = new LinkedHashMap<>();
        for (final String text : texts)
        {
            // Validates every input (parse) and gives each entry its identity, in file order.
            final List<JmhResult> results = new ArrayList<>(parse(text).values());
            final List<?> entries = (List<?>)Json.parse(text);
            for (int i = 0; i < entries.size(); i++)
            {
                byIdentity.computeIfAbsent(results.get(i).identity(), k -> new ArrayList<>())
                    .add(object(entries.get(i), "result #" + (i + 1)));
            }
        }
        final List<Object> merged = new ArrayList<>();
        for (final Map.Entry<String, List<Map<String, Object>>> e : byIdentity.entrySet())
        {
            final List<Map<String, Object>> parts = e.getValue();
            final Map<String, Object> out = new LinkedHashMap<>(parts.get(0));
            final List<Map<String, Object>> primaries = new ArrayList<>();
            double forks = 0;
            for (final Map<String, Object> part : parts)
            {
                primaries.add(object(part.get("primaryMetric"), e.getKey() + " 'primaryMetric'"));
            }
            out.put("primaryMetric", pool(primaries, e.getKey() + " primary metric"));
            for (final Map<String, Object> primary : primaries)
            {
                final Object raw = primary.get("rawData") != null ? primary.get("rawData")
                    : primary.get("rawDataHistogram");
                forks += list(raw, e.getKey() + " raw data").size();
            }
            out.put("forks", forks);
            final Map<String, Object> secondaries = new LinkedHashMap<>();
            final Object first = parts.get(0).get("secondaryMetrics");
            if (first != null)
            {
                for (final String name : object(first, e.getKey() + " 'secondaryMetrics'").keySet())
                {
                    final List<Map<String, Object>> metric = new ArrayList<>();
                    for (final Map<String, Object> part : parts)
                    {
                        final Object all = part.get("secondaryMetrics");
                        final Object one = all instanceof Map ? ((Map<?, ?>)all).get(name) : null;
                        if (one instanceof Map && ((Map<?, ?>)one).get("rawData") != null)
                        {
                            metric.add(object(one, name));
                        }
                    }
                    if (metric.size() == parts.size())
                    {
                        secondaries.put(name, pool(metric, e.getKey() + " secondary metric '" + name + "'"));
                    }
                }
            }
            out.put("secondaryMetrics", secondaries);
            merged.add(out);
        }
        return Json.write(merged);
    }

    private static Map<String, Object> pool(final List<Map<String, Object>> metrics, final String what)
    {
        final String unit = string(metrics.get(0).get("scoreUnit"), what + " 'scoreUnit'");
        final boolean histogram = metrics.get(0).get("rawData") == null;
        final String field = histogram ? "rawDataHistogram" : "rawData";
        final List<Object> raw = new ArrayList<>();
        double sum = 0;
        long n = 0;
        for (final Map<String, Object> m : metrics)
        {
            final String u = string(m.get("scoreUnit"), what + " 'scoreUnit'");
            if (!u.equals(unit))
            {
                throw new IllegalArgumentException(what + ": unit " + u + " in one run and " + unit + " in another");
            }
            final List<?> forks = list(m.get(field), what + " '" + field + "'");
            raw.addAll(forks);
            if (!histogram)
            {
                for (final Object fork : forks)
                {
                    for (final Object v : list(fork, what))
                    {
                        sum += number(v, what);
                        n++;
                    }
                }
            }
        }
        final Map<String, Object> out = new LinkedHashMap<>();
        out.put("score", n > 0 ? sum / n : Double.NaN);
        out.put("scoreError", "NaN");
        out.put("scoreUnit", unit);
        out.put(field, raw);
        return out;
    }

    /**
     * Writes results as a JMH JSON result file: each benchmark's original fields (JVM, JDK, iteration settings) with
     * {@code forks} and the primary metric replaced by the result's samples (score = their mean, as JMH computes it;
     * scoreError "NaN"), and no secondary metrics. For tests and tools that make result files.
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

    private static JmhResult toResult(final Object entry, final int index, final String metric)
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
        final Map<String, Object> primary;
        if (metric == null)
        {
            primary = object(object.get("primaryMetric"), name + " 'primaryMetric'");
        }
        else
        {
            final Object secondary = object.get("secondaryMetrics");
            final Object found = secondary == null ? null : object(secondary, name + " 'secondaryMetrics'").get(metric);
            if (found == null)
            {
                return null;
            }
            primary = object(found, name + " secondary metric '" + metric + "'");
        }
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
