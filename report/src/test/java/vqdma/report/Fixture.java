package vqdma.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import vqdma.results.JmhResult;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/** The recorded results folders ({@code src/test/resources/fixture}), copied where a test may write. */
final class Fixture
{
    private Fixture()
    {
    }

    /**
     * @param name {@code run} or {@code baseline}.
     * @param into a temporary folder.
     * @return the copied results folder.
     * @throws IOException if copying fails.
     */
    static Path copy(final String name, final Path into) throws IOException
    {
        final Path dir = into.resolve(name);
        Files.createDirectories(dir);
        for (final String file : new String[] {"jmh.json", "machine.json"})
        {
            try (InputStream in = Fixture.class.getResourceAsStream("/fixture/" + name + "/" + file))
            {
                if (in == null)
                {
                    throw new IOException("fixture/" + name + "/" + file + " missing from the test resources");
                }
                Files.copy(in, dir.resolve(file));
            }
        }
        return dir;
    }

    /**
     * The JSON read independently of the code under test: key (benchmark, sorted params, mode, as
     * {@link JmhResult#key()} builds it) to the entry.
     *
     * @param dir a results folder.
     * @return its entries by key.
     * @throws IOException if it cannot be read.
     */
    static Map<String, JsonObject> entries(final Path dir) throws IOException
    {
        final Map<String, JsonObject> out = new LinkedHashMap<>();
        for (final JsonElement e : JsonParser.parseString(Files.readString(dir.resolve("jmh.json"),
            StandardCharsets.UTF_8)).getAsJsonArray())
        {
            final JsonObject o = e.getAsJsonObject();
            final Map<String, String> params = new TreeMap<>();
            if (o.has("params"))
            {
                o.getAsJsonObject("params").entrySet().forEach(p -> params.put(p.getKey(), p.getValue().getAsString()));
            }
            final StringBuilder key = new StringBuilder(o.get("benchmark").getAsString());
            if (!params.isEmpty())
            {
                final StringJoiner all = new StringJoiner(",", "{", "}");
                params.forEach((k, v) -> all.add(k + "=" + v));
                key.append(all);
            }
            out.put(key + " " + o.get("mode").getAsString(), o);
        }
        return out;
    }

    /**
     * @param entry a JMH JSON entry.
     * @return its primary score.
     */
    static double score(final JsonObject entry)
    {
        return entry.getAsJsonObject("primaryMetric").get("score").getAsDouble();
    }
}
