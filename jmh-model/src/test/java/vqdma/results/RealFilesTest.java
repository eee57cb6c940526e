package vqdma.results;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The model on the project's own JMH files: the committed baseline of the whole matrix ({@code scripts/bench --full},
 * avgt and thrpt, aux counters, {@code "NaN"} errors), the committed gate baseline (pooled by {@code gate merge},
 * with {@code cpu.time.norm}), and the gate's recorded self-test runs. Each is checked against the same JSON read as
 * a plain tree.
 */
class RealFilesTest
{
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path BASELINE = ROOT.resolve("results/baseline/jmh.json");
    static final Path GATE_BASELINE = ROOT.resolve("results/baseline/gate.json");
    static final Path RECORDED = ROOT.resolve("gate/src/test/resources/vqdma/gate/recorded");

    static JsonArray tree(final Path file) throws IOException
    {
        return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonArray();
    }

    /** Every field of every metric as the plain tree has it: score, error ("NaN" string), unit, raw data. */
    static void assertSameAsTree(final Path file) throws IOException
    {
        final List<JmhResult> results = JmhResults.read(file);
        final JsonArray tree = tree(file);
        assertEquals(tree.size(), results.size(), file.toString());
        for (int i = 0; i < results.size(); i++)
        {
            final JsonObject o = tree.get(i).getAsJsonObject();
            final JmhResult r = results.get(i);
            assertEquals(o.get("benchmark").getAsString(), r.benchmark());
            assertEquals(o.get("mode").getAsString(), r.mode());
            final int forks = o.get("forks").getAsInt();
            assertMetric(o.getAsJsonObject("primaryMetric"), r.primary(), forks, r.key());
            final JsonObject secondaries = o.getAsJsonObject("secondaryMetrics");
            assertEquals(secondaries.keySet(), r.secondary().keySet(), r.key());
            for (final Map.Entry<String, JsonElement> s : secondaries.entrySet())
            {
                assertMetric(s.getValue().getAsJsonObject(), r.secondary().get(s.getKey()), forks,
                    r.key() + " " + s.getKey());
            }
            if (o.has("params"))
            {
                assertEquals(o.getAsJsonObject("params").keySet(), r.params().keySet());
            }
        }
    }

    static void assertMetric(final JsonObject m, final JmhResult.Metric metric, final int forks, final String what)
    {
        assertEquals(m.get("scoreUnit").getAsString(), metric.unit(), what);
        assertEquals(m.get("score").getAsDouble(), metric.score(), 0.0, what);
        final JsonElement error = m.get("scoreError");
        if (error.getAsJsonPrimitive().isString())
        {
            assertEquals("NaN", error.getAsString(), what);
            assertTrue(Double.isNaN(metric.error()), what);
        }
        else
        {
            assertEquals(error.getAsDouble(), metric.error(), 0.0, what);
        }
        final JsonArray raw = m.getAsJsonArray("rawData");
        assertEquals(forks, raw.size(), what + ": JMH's 'forks' field and the rows of rawData");
        assertEquals(forks, metric.forkCount(), what);
        double sum = 0;
        int n = 0;
        for (int f = 0; f < forks; f++)
        {
            final JsonArray row = raw.get(f).getAsJsonArray();
            final double[] fork = metric.fork(f);
            assertEquals(row.size(), fork.length, what);
            for (int i = 0; i < fork.length; i++)
            {
                assertEquals(row.get(i).getAsDouble(), fork[i], 0.0, what);
                sum += fork[i];
                n++;
            }
        }
        // JMH's score is the mean of the raw samples, the sum for event counters (unit #), over all forks; files
        // pooled by 'gate merge' before it knew that have the mean of event counters too.
        final double tolerance = Math.abs(metric.score()) * 1e-9 + 1e-9;
        assertTrue(Math.abs(metric.score() - sum / n) <= tolerance ||
            metric.unit().equals("#") && Math.abs(metric.score() - sum) <= tolerance,
            what + ": score " + metric.score() + " vs raw data: mean " + sum / n + ", sum " + sum);
    }

    @Test
    void theCommittedBaselineOfTheWholeMatrix() throws IOException
    {
        assertSameAsTree(BASELINE);
        final List<JmhResult> results = JmhResults.read(BASELINE);
        assertTrue(results.stream().anyMatch(r -> r.mode().equals("thrpt")) &&
            results.stream().anyMatch(r -> r.mode().equals("avgt")), "both modes");
        assertTrue(results.stream().anyMatch(r -> r.secondary().isEmpty()), "results without secondary metrics");
        assertTrue(results.stream().anyMatch(r -> r.secondary().values().stream()
            .anyMatch(m -> Double.isNaN(m.error()))), "\"NaN\" errors of counters");
        assertEquals(results.size(), results.stream().map(JmhResult::key).distinct().count(), "keys are unique");
        assertTrue(results.stream().anyMatch(JmhResult::failedCompletely), "the 2019 cells (clamp off, 1 MiB)");
    }

    @Test
    void theCommittedGateBaselineAndTheRecordedSelfTestRuns() throws IOException
    {
        assertSameAsTree(GATE_BASELINE);
        final List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(RECORDED, "*.json"))
        {
            dir.forEach(files::add);
        }
        assertEquals(25, files.size(), "baseline, 10 A/A, 10 slowdown, 4 burner runs");
        for (final Path file : files)
        {
            assertSameAsTree(file);
            for (final JmhResult r : JmhResults.read(file))
            {
                assertEquals(8, r.metric("cpu.time.norm").forkCount(), file + " " + r.key());
                assertEquals("ns/op", r.metric("cpu.time.norm").unit());
            }
        }
    }

    @Test
    void poolingRecordedRunsAppendsTheirForks() throws IOException
    {
        final List<String> texts = List.of(Files.readString(RECORDED.resolve("aa-01.json")),
            Files.readString(RECORDED.resolve("aa-02.json")));
        final List<JmhResult> merged = JmhResults.parse(JmhResults.merge(texts));
        final List<JmhResult> a = JmhResults.parse(texts.get(0));
        final List<JmhResult> b = JmhResults.parse(texts.get(1));
        assertEquals(a.size(), merged.size());
        for (int i = 0; i < merged.size(); i++)
        {
            for (final String metric : new String[] {null, "cpu.time.norm"})
            {
                final JmhResult.Metric m = merged.get(i).metric(metric);
                assertEquals(16, m.forkCount());
                for (int f = 0; f < 8; f++)
                {
                    assertArrayEquals(a.get(i).metric(metric).fork(f), m.fork(f));
                    assertArrayEquals(b.get(i).metric(metric).fork(f), m.fork(8 + f));
                }
            }
        }
    }
}
