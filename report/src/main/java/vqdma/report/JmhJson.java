package vqdma.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads JMH's JSON result format ({@code -rf json}) as written by JMH 1.x. */
public final class JmhJson
{
    private JmhJson()
    {
    }

    /**
     * @param file a JMH JSON file.
     * @return its results, in the file's order.
     * @throws IOException if it cannot be read or is not JMH's format.
     */
    public static List<JmhResult> read(final Path file) throws IOException
    {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            return parse(JsonParser.parseReader(r), file.toString());
        }
        catch (final RuntimeException ex)
        {
            throw new IOException(file + ": not a JMH JSON result file: " + ex.getMessage(), ex);
        }
    }

    private static List<JmhResult> parse(final JsonElement root, final String source) throws IOException
    {
        if (!root.isJsonArray())
        {
            throw new IOException(source + ": expected a JSON array of JMH results");
        }
        final List<JmhResult> out = new ArrayList<>();
        for (final JsonElement e : root.getAsJsonArray())
        {
            final JsonObject o = e.getAsJsonObject();
            final Map<String, String> params = new LinkedHashMap<>();
            if (o.has("params"))
            {
                for (final Map.Entry<String, JsonElement> p : o.getAsJsonObject("params").entrySet())
                {
                    params.put(p.getKey(), p.getValue().getAsString());
                }
            }
            final JsonObject primary = o.getAsJsonObject("primaryMetric");
            final Map<String, JmhResult.Metric> secondary = new LinkedHashMap<>();
            if (o.has("secondaryMetrics"))
            {
                for (final Map.Entry<String, JsonElement> s : o.getAsJsonObject("secondaryMetrics").entrySet())
                {
                    secondary.put(s.getKey(), metric(s.getValue().getAsJsonObject()));
                }
            }
            out.add(new JmhResult(o.get("benchmark").getAsString(), o.get("mode").getAsString(), params,
                metric(primary), secondary, samples(primary),
                primary.has("rawData") ? primary.getAsJsonArray("rawData").size() : 0));
        }
        return out;
    }

    private static JmhResult.Metric metric(final JsonObject m)
    {
        final JsonObject percentiles = m.has("scorePercentiles") ? m.getAsJsonObject("scorePercentiles") : null;
        return new JmhResult.Metric(number(m.get("score")), number(m.get("scoreError")),
            m.has("scoreUnit") ? m.get("scoreUnit").getAsString() : "",
            percentiles == null ? Double.NaN : number(percentiles.get("0.0")),
            percentiles == null ? Double.NaN : number(percentiles.get("100.0")));
    }

    /** JMH writes {@code "NaN"} as a string when a score has no error (too few samples). */
    private static double number(final JsonElement e)
    {
        if (e == null || e.isJsonNull())
        {
            return Double.NaN;
        }
        if (e.getAsJsonPrimitive().isString())
        {
            try
            {
                return Double.parseDouble(e.getAsString());
            }
            catch (final NumberFormatException ex)
            {
                return Double.NaN;
            }
        }
        return e.getAsDouble();
    }

    private static int samples(final JsonObject primary)
    {
        int n = 0;
        if (primary.has("rawData"))
        {
            for (final JsonElement fork : primary.getAsJsonArray("rawData"))
            {
                n += ((JsonArray)fork).size();
            }
        }
        return n;
    }
}
