package vqdma.report;

import com.google.gson.JsonElement;
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

/** The machine facts of a results folder ({@code machine.json}, else {@code machine.txt}), as ordered text. */
final class Facts
{
    private Facts()
    {
    }

    /**
     * @param dir a results folder.
     * @return fact name to value, in the file's order; empty if the folder has neither file.
     * @throws IOException if a file exists but cannot be read.
     */
    static Map<String, String> read(final Path dir) throws IOException
    {
        final Map<String, String> out = new LinkedHashMap<>();
        final Path json = dir.resolve("machine.json");
        final Path txt = dir.resolve("machine.txt");
        if (Files.isRegularFile(json))
        {
            try (Reader r = Files.newBufferedReader(json, StandardCharsets.UTF_8))
            {
                for (final Map.Entry<String, JsonElement> e : JsonParser.parseReader(r).getAsJsonObject().entrySet())
                {
                    out.put(e.getKey(), text(e.getValue()));
                }
            }
            catch (final RuntimeException ex)
            {
                throw new IOException(json + ": " + ex.getMessage(), ex);
            }
        }
        else if (Files.isRegularFile(txt))
        {
            for (final String line : Files.readAllLines(txt, StandardCharsets.UTF_8))
            {
                final int colon = line.indexOf(':');
                if (colon > 0)
                {
                    out.merge(line.substring(0, colon).trim(), line.substring(colon + 1).trim(),
                        (a, b) -> a + "\n" + b);
                }
            }
        }
        return out;
    }

    private static String text(final JsonElement e)
    {
        if (e.isJsonArray())
        {
            final List<String> parts = new ArrayList<>();
            e.getAsJsonArray().forEach(x -> parts.add(text(x)));
            return String.join("\n", parts);
        }
        return e.isJsonPrimitive() ? e.getAsString() : e.toString();
    }
}
