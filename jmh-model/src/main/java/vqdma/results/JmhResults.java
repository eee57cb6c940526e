package vqdma.results;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading, pooling and writing JMH's JSON result files ({@code -rf json}), as JMH 1.x writes them: an array of one
 * object per benchmark run, with {@code benchmark}, {@code mode}, {@code params}, a {@code primaryMetric} and
 * {@code secondaryMetrics}, each metric with {@code score}, {@code scoreError}, {@code scoreUnit} and its raw samples.
 * <p>
 * JMH's quirks, handled here and nowhere else:
 * <ul>
 *   <li>A value JMH could not compute (the error of a single sample, a score of no samples) is the string
 *   {@code "NaN"} (or {@code "Infinity"}, {@code "-Infinity"}); some other writers emit bare {@code NaN}. Both read
 *   as the double they name. A missing score or error reads as {@code NaN}.</li>
 *   <li>Raw samples are {@code rawData}, fork x iteration; in {@code sample} mode {@code rawDataHistogram}, fork x
 *   iteration x [value, count] pairs, whose iteration value is the mean of its histogram. A metric without either
 *   (JMH writes none for some profiler results) has no raw data ({@link JmhResult.Metric#hasRawData()}).</li>
 *   <li>A score is the mean of the raw samples, all forks together, except for event counters
 *   ({@code @AuxCounters(EVENTS)}, unit {@code #}), whose score is their sum (JMH's aggregation policy, which the
 *   file does not name).</li>
 *   <li>{@code secondaryMetrics} may be absent or empty, and a secondary metric may have fewer forks than the
 *   primary (a profiler that produced nothing in one fork).</li>
 *   <li>{@code params} values are strings in JMH's files; numbers and booleans (hand-made files) read as their text
 *   ({@code 256}, not {@code 256.0}).</li>
 * </ul>
 * Anything else that is not a JMH result file is an {@link IllegalArgumentException} naming the entry and field.
 */
public final class JmhResults
{
    /** The unit of JMH's event counters ({@code @AuxCounters(EVENTS)}), whose score is the sum of their samples. */
    static final String EVENTS_UNIT = "#";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private JmhResults()
    {
    }

    /**
     * @param file a JMH JSON result file.
     * @return its results, in the file's order.
     * @throws IOException if the file cannot be read.
     * @throws IllegalArgumentException if it is not a JMH result file, naming the file and what is wrong.
     */
    public static List<JmhResult> read(final Path file) throws IOException
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
     * @return its results, in the file's order.
     * @throws IllegalArgumentException if it is not a JMH result file.
     */
    public static List<JmhResult> parse(final String text)
    {
        final List<JmhResult> out = new ArrayList<>();
        int index = 0;
        for (final JsonElement entry : entries(text))
        {
            index++;
            out.add(toResult(entry, index));
        }
        return out;
    }

    /**
     * Pools JMH result files of the same benchmarks into one, the forks of each input appended in order: how
     * {@code scripts/gate run} turns its rounds (one fork of every benchmark per round) into one file. Works on the
     * JSON, so that every metric survives: the primary metric and each secondary metric that every input has (with
     * raw data) get their raw data concatenated and their score recomputed from it as JMH computes it (the mean; the
     * sum for event counters), errors and percentiles dropped. Other fields are the first input's.
     *
     * @param texts the contents of JMH JSON result files, in the order to pool them.
     * @return the pooled file's text, benchmarks in order of first appearance.
     * @throws IllegalArgumentException if an input is not a JMH result file, a benchmark has no raw data, or a
     *                                  metric's unit differs between inputs.
     */
    public static String merge(final List<String> texts)
    {
        final Map<String, List<JsonObject>> byKey = new LinkedHashMap<>();
        for (final String text : texts)
        {
            // Validates every input (parse) and gives each entry its key, in file order.
            final List<JmhResult> results = parse(text);
            final JsonArray entries = entries(text);
            for (int i = 0; i < entries.size(); i++)
            {
                byKey.computeIfAbsent(results.get(i).key(), k -> new ArrayList<>())
                    .add(entries.get(i).getAsJsonObject());
            }
        }
        final JsonArray merged = new JsonArray();
        for (final Map.Entry<String, List<JsonObject>> e : byKey.entrySet())
        {
            final List<JsonObject> parts = e.getValue();
            final JsonObject out = parts.get(0).deepCopy();
            final List<JsonObject> primaries = new ArrayList<>();
            for (final JsonObject part : parts)
            {
                primaries.add(part.getAsJsonObject("primaryMetric"));
            }
            final JsonObject primary = pool(primaries, e.getKey() + " primary metric");
            out.add("primaryMetric", primary);
            final JsonElement raw = primary.has("rawData") ? primary.get("rawData") : primary.get("rawDataHistogram");
            out.addProperty("forks", raw.getAsJsonArray().size());
            final JsonObject secondaries = new JsonObject();
            final JsonElement first = parts.get(0).get("secondaryMetrics");
            if (first != null && first.isJsonObject())
            {
                for (final String name : first.getAsJsonObject().keySet())
                {
                    final List<JsonObject> metric = new ArrayList<>();
                    for (final JsonObject part : parts)
                    {
                        final JsonElement all = part.get("secondaryMetrics");
                        final JsonElement one = all != null && all.isJsonObject() ? all.getAsJsonObject().get(name)
                            : null;
                        if (one != null && one.isJsonObject() && hasRaw(one.getAsJsonObject()))
                        {
                            metric.add(one.getAsJsonObject());
                        }
                    }
                    if (metric.size() == parts.size())
                    {
                        secondaries.add(name, pool(metric, e.getKey() + " secondary metric '" + name + "'"));
                    }
                }
            }
            out.add("secondaryMetrics", secondaries);
            merged.add(out);
        }
        return GSON.toJson(merged) + "\n";
    }

    /**
     * Writes results as a JMH JSON result file: each result's original fields when it was read from one (JVM, JDK,
     * iteration settings), with {@code forks} and the primary metric replaced by the result's primary metric (its
     * score the mean of its samples, as JMH computes it; {@code scoreError} {@code "NaN"}), and no secondary metrics.
     * For tests and tools that make result files.
     *
     * @param results the results, each with raw data.
     * @param file    where to write.
     * @throws IOException if the file cannot be written.
     */
    public static void write(final List<JmhResult> results, final Path file) throws IOException
    {
        Files.writeString(file, toJson(results), StandardCharsets.UTF_8);
    }

    /**
     * @param results the results, each with raw data.
     * @return the JMH JSON text {@link #write} writes.
     */
    public static String toJson(final List<JmhResult> results)
    {
        final JsonArray array = new JsonArray();
        for (final JmhResult r : results)
        {
            final JsonObject entry = r.source() != null ? r.source().deepCopy() : new JsonObject();
            entry.addProperty("benchmark", r.benchmark());
            entry.addProperty("mode", r.mode());
            entry.addProperty("forks", r.primary().forkCount());
            entry.remove("params");
            if (!r.params().isEmpty())
            {
                final JsonObject params = new JsonObject();
                r.params().forEach(params::addProperty);
                entry.add("params", params);
            }
            final JsonArray raw = new JsonArray();
            double sum = 0;
            int n = 0;
            for (final double[] fork : r.primary().samples())
            {
                final JsonArray row = new JsonArray();
                for (final double v : fork)
                {
                    row.add(number(v));
                    sum += v;
                    n++;
                }
                raw.add(row);
            }
            final JsonObject primary = new JsonObject();
            primary.add("score", number(n == 0 ? Double.NaN : sum / n));
            primary.addProperty("scoreError", "NaN");
            primary.addProperty("scoreUnit", r.primary().unit());
            primary.add("rawData", raw);
            entry.add("primaryMetric", primary);
            entry.add("secondaryMetrics", new JsonObject());
            array.add(entry);
        }
        return GSON.toJson(array) + "\n";
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static JsonArray entries(final String text)
    {
        final JsonElement root;
        try
        {
            root = JsonParser.parseString(text);
        }
        catch (final JsonParseException ex)
        {
            throw new IllegalArgumentException("not JSON: " + ex.getMessage(), ex);
        }
        if (!root.isJsonArray())
        {
            throw new IllegalArgumentException("expected a JSON array of benchmark results (JMH -rf json)");
        }
        return root.getAsJsonArray();
    }

    private static JmhResult toResult(final JsonElement entry, final int index)
    {
        final String where = "result #" + index;
        final JsonObject object = object(entry, where);
        final String benchmark = string(object.get("benchmark"), where + " 'benchmark'");
        final String name = where + " (" + benchmark + ")";
        final String mode = string(object.get("mode"), name + " 'mode'");
        final Map<String, String> params = new LinkedHashMap<>();
        final JsonElement rawParams = object.get("params");
        if (rawParams != null && !rawParams.isJsonNull())
        {
            object(rawParams, name + " 'params'").entrySet()
                .forEach(p -> params.put(p.getKey(), scalar(p.getValue(), name + " param " + p.getKey())));
        }
        final JmhResult.Metric primary = metric(object.get("primaryMetric"), name + " 'primaryMetric'");
        final Map<String, JmhResult.Metric> secondary = new LinkedHashMap<>();
        final JsonElement rawSecondary = object.get("secondaryMetrics");
        if (rawSecondary != null && !rawSecondary.isJsonNull())
        {
            for (final Map.Entry<String, JsonElement> s : object(rawSecondary, name + " 'secondaryMetrics'").entrySet())
            {
                secondary.put(s.getKey(), metric(s.getValue(), name + " secondary metric '" + s.getKey() + "'"));
            }
        }
        try
        {
            return new JmhResult(benchmark, mode, params, primary, secondary, object);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(name + ": " + ex.getMessage(), ex);
        }
    }

    private static JmhResult.Metric metric(final JsonElement value, final String where)
    {
        final JsonObject m = object(value, where);
        final String unit = string(m.get("scoreUnit"), where + " 'scoreUnit'");
        final double[][] forks;
        if (m.has("rawData") && !m.get("rawData").isJsonNull())
        {
            forks = rawData(m.get("rawData"), where);
        }
        else if (m.has("rawDataHistogram") && !m.get("rawDataHistogram").isJsonNull())
        {
            forks = histogramMeans(m.get("rawDataHistogram"), where);
        }
        else
        {
            forks = null;
        }
        return new JmhResult.Metric(optionalNumber(m.get("score"), where + " 'score'"),
            optionalNumber(m.get("scoreError"), where + " 'scoreError'"), unit, forks);
    }

    private static double[][] rawData(final JsonElement value, final String where)
    {
        final JsonArray forks = array(value, where + " 'rawData'");
        final double[][] out = new double[forks.size()][];
        for (int f = 0; f < out.length; f++)
        {
            final JsonArray iterations = array(forks.get(f), where + " rawData fork " + (f + 1));
            out[f] = new double[iterations.size()];
            for (int i = 0; i < out[f].length; i++)
            {
                out[f][i] = number(iterations.get(i), where + " rawData fork " + (f + 1) + " iteration " + (i + 1));
            }
        }
        return out;
    }

    /** {@code sample} mode: each iteration is a histogram of [value, count] pairs; its sample is their mean. */
    private static double[][] histogramMeans(final JsonElement value, final String where)
    {
        final JsonArray forks = array(value, where + " 'rawDataHistogram'");
        final double[][] out = new double[forks.size()][];
        for (int f = 0; f < out.length; f++)
        {
            final JsonArray iterations = array(forks.get(f), where + " rawDataHistogram fork " + (f + 1));
            out[f] = new double[iterations.size()];
            for (int i = 0; i < out[f].length; i++)
            {
                final String at = where + " rawDataHistogram fork " + (f + 1) + " iteration " + (i + 1);
                double sum = 0;
                double count = 0;
                for (final JsonElement pair : array(iterations.get(i), at))
                {
                    final JsonArray vc = array(pair, at);
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

    private static boolean hasRaw(final JsonObject metric)
    {
        return metric.has("rawData") && metric.get("rawData").isJsonArray() ||
            metric.has("rawDataHistogram") && metric.get("rawDataHistogram").isJsonArray();
    }

    private static JsonObject pool(final List<JsonObject> metrics, final String what)
    {
        final String unit = string(metrics.get(0).get("scoreUnit"), what + " 'scoreUnit'");
        final boolean histogram = !metrics.get(0).has("rawData") || metrics.get(0).get("rawData").isJsonNull();
        final String field = histogram ? "rawDataHistogram" : "rawData";
        final JsonArray raw = new JsonArray();
        double sum = 0;
        long n = 0;
        for (final JsonObject m : metrics)
        {
            final String u = string(m.get("scoreUnit"), what + " 'scoreUnit'");
            if (!u.equals(unit))
            {
                throw new IllegalArgumentException(what + ": unit " + u + " in one run and " + unit + " in another");
            }
            if (!m.has(field) || !m.get(field).isJsonArray())
            {
                throw new IllegalArgumentException(what + ": no '" + field + "' in one of the runs (pooling needs the " +
                    "raw samples that JMH writes with -rf json)");
            }
            final JsonArray forks = m.getAsJsonArray(field);
            raw.addAll(forks.deepCopy());
            if (!histogram)
            {
                for (final JsonElement fork : forks)
                {
                    for (final JsonElement v : array(fork, what))
                    {
                        sum += number(v, what);
                        n++;
                    }
                }
            }
        }
        final JsonObject out = new JsonObject();
        out.add("score", number(n == 0 ? Double.NaN : unit.equals(EVENTS_UNIT) ? sum : sum / n));
        out.addProperty("scoreError", "NaN");
        out.addProperty("scoreUnit", unit);
        out.add(field, raw);
        return out;
    }

    /** A double as JMH writes it: a number, or for a non-finite value the string naming it. */
    private static JsonPrimitive number(final double v)
    {
        return Double.isFinite(v) ? new JsonPrimitive(v) : new JsonPrimitive(Double.toString(v));
    }

    private static JsonObject object(final JsonElement value, final String what)
    {
        if (value == null || !value.isJsonObject())
        {
            throw new IllegalArgumentException(what + ": expected an object");
        }
        return value.getAsJsonObject();
    }

    private static JsonArray array(final JsonElement value, final String what)
    {
        if (value == null || !value.isJsonArray())
        {
            throw new IllegalArgumentException(what + ": expected an array");
        }
        return value.getAsJsonArray();
    }

    private static String string(final JsonElement value, final String what)
    {
        if (value == null || !value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString())
        {
            throw new IllegalArgumentException(what + ": expected a string");
        }
        return value.getAsString();
    }

    /** A number, or JMH's strings for the values it could not compute ("NaN", "Infinity", "-Infinity"). */
    private static double number(final JsonElement value, final String what)
    {
        if (value != null && value.isJsonPrimitive())
        {
            final JsonPrimitive p = value.getAsJsonPrimitive();
            if (p.isNumber())
            {
                return p.getAsDouble();
            }
            if (p.isString())
            {
                switch (p.getAsString())
                {
                    case "NaN": return Double.NaN;
                    case "Infinity": return Double.POSITIVE_INFINITY;
                    case "-Infinity": return Double.NEGATIVE_INFINITY;
                    default: break;
                }
            }
        }
        throw new IllegalArgumentException(what + ": expected a number, found " + value);
    }

    private static double optionalNumber(final JsonElement value, final String what)
    {
        return value == null || value.isJsonNull() ? Double.NaN : number(value, what);
    }

    private static String scalar(final JsonElement value, final String what)
    {
        if (value != null && value.isJsonPrimitive())
        {
            final JsonPrimitive p = value.getAsJsonPrimitive();
            if (p.isString() || p.isBoolean())
            {
                return p.getAsString();
            }
            final double d = p.getAsDouble();
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long)d) : Double.toString(d);
        }
        throw new IllegalArgumentException(what + ": expected a string, number or boolean");
    }
}
