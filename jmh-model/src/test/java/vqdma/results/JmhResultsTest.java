package vqdma.results;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** The reader, the pooling and the writer on hand-made entries that show one thing each. */
class JmhResultsTest
{
    static final String RING = "vqdma.bench.ring.RingCycleBenchmark.cycle";

    static JmhResult only(final String json)
    {
        final List<JmhResult> results = JmhResults.parse(json);
        assertEquals(1, results.size());
        return results.get(0);
    }

    static Map<String, JmhResult> byKey(final String json)
    {
        return JmhResults.parse(json).stream().collect(Collectors.toMap(JmhResult::key, Function.identity(),
            (a, b) -> a, java.util.LinkedHashMap::new));
    }

    @Test
    void readsBenchmarksParamsAndRawSamplesPerFork()
    {
        final JmhResult r = only("[{\"benchmark\":\"" + RING + "\",\"mode\":\"avgt\",\"forks\":2," +
            "\"params\":{\"shape\":\"chain128\",\"dma\":\"bypass\",\"queueSize\":256}," +
            "\"primaryMetric\":{\"score\":2.5,\"scoreError\":\"NaN\",\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1,2,3],[4]]},\"secondaryMetrics\":{}}]");
        assertEquals(RING + "{dma=bypass,queueSize=256,shape=chain128}", r.displayKey(), "params sorted by name");
        assertEquals(r.displayKey() + " avgt", r.key());
        assertEquals(List.of("shape", "dma", "queueSize"), List.copyOf(r.params().keySet()), "file order kept");
        assertEquals("256", r.param("queueSize"), "a number reads as its text");
        assertEquals(2, r.primary().forkCount());
        assertArrayEquals(new double[] {1, 2, 3}, r.primary().fork(0));
        assertArrayEquals(new double[] {4}, r.primary().fork(1));
        assertEquals(4, r.samples());
        assertEquals(2.5, r.primary().score());
        assertTrue(Double.isNaN(r.primary().error()), "JMH's \"NaN\" string");
        assertEquals("ns/op", r.primary().unit());
        assertArrayEquals(new double[] {1.0, 0.5, 1 / 3.0}, r.speeds(null)[0], 1e-12, "time per op inverts");
        assertEquals("ring", r.group());
        assertEquals("RingCycleBenchmark.cycle", r.shortName());
    }

    @Test
    void sampleModeUsesTheMeanOfEachIterationsHistogram()
    {
        final JmhResult r = only("[{\"benchmark\":\"b.B.m\",\"mode\":\"sample\",\"primaryMetric\":" +
            "{\"scoreUnit\":\"us/op\",\"rawDataHistogram\":[[[[10,1],[20,3]],[[5,2]]]]}}]");
        assertArrayEquals(new double[] {17.5, 5}, r.primary().fork(0), 1e-12);
        assertTrue(Double.isNaN(r.primary().score()), "no score: NaN");
    }

    @Test
    void jmhQuirksReadAsTheValuesTheyName()
    {
        final JmhResult r = only("[{\"benchmark\":\"b.B.m\",\"mode\":\"thrpt\",\"primaryMetric\":{\"score\":NaN," +
            "\"scoreError\":\"Infinity\",\"scoreUnit\":\"ops/s\",\"rawData\":[[1,\"NaN\",\"-Infinity\"]]}," +
            "\"secondaryMetrics\":{\"gc.count\":{\"score\":3,\"scoreUnit\":\"counts\"}," +
            "\"cpu.time.norm\":{\"score\":4,\"scoreError\":\"NaN\",\"scoreUnit\":\"ns/op\",\"rawData\":[[4]]}}}]");
        assertTrue(Double.isNaN(r.primary().score()), "bare NaN");
        assertEquals(Double.POSITIVE_INFINITY, r.primary().error());
        assertArrayEquals(new double[] {1, Double.NaN, Double.NEGATIVE_INFINITY}, r.primary().fork(0));
        assertFalse(r.secondary().get("gc.count").hasRawData(), "a metric without raw data");
        assertEquals(0, r.secondary().get("gc.count").forkCount());
        assertEquals(1, r.secondary().get("cpu.time.norm").forkCount(), "fewer forks than the primary is fine");

        final JmhResult bare = only("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":" +
            "{\"scoreUnit\":\"ns/op\"}}]");
        assertTrue(bare.secondary().isEmpty(), "no secondaryMetrics at all");
        assertFalse(bare.primary().hasRawData());
        assertTrue(Double.isNaN(bare.primary().score()) && Double.isNaN(bare.primary().error()), "missing: NaN");
        assertEquals(0, bare.samples());
        assertEquals(0, bare.speeds(null).length);
    }

    @Test
    void problemsAreNamed()
    {
        assertMessage("{}", "expected a JSON array");
        assertMessage("[1,", "not JSON");
        assertMessage("[{\"mode\":\"avgt\"}]", "result #1 'benchmark': expected a string");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"fast\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"}}]",
            "result #1 (b.B.m): unknown JMH mode 'fast'");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\"}]", "result #1 (b.B.m) 'primaryMetric': expected " +
            "an object");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1,\"x\"]]}}]", "rawData fork 1 iteration 2: expected a number");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"}," +
            "\"params\":{\"a\":[1]}}]", "param a: expected a string, number or boolean");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"}," +
            "\"secondaryMetrics\":{\"x\":{\"score\":1}}}]", "secondary metric 'x' 'scoreUnit': expected a string");
    }

    @Test
    void aSecondaryMetricIsReadWithItsOwnDirection()
    {
        final JmhResult score = only("[{\"benchmark\":\"b.B.m\",\"mode\":\"thrpt\",\"primaryMetric\":{\"scoreUnit\":" +
            "\"ops/s\",\"rawData\":[[100]]},\"secondaryMetrics\":{\"cpu.time.norm\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[4]]}}}]");
        final JmhResult cpu = score.onMetric("cpu.time.norm");
        assertTrue(score.higherIsBetter(), "throughput: more is faster");
        assertFalse(cpu.higherIsBetter(), "ns/op: less is faster, whatever the mode");
        assertEquals(0.25, cpu.speeds(null)[0][0], 1e-12);
        assertEquals(score.key(), cpu.key());
        assertSame(score, score.onMetric(null));
        assertSame(score, score.onMetric("primary"));
        assertNull(score.onMetric("gc.alloc.rate"), "a result without the metric");
    }

    static String entry(final String benchmark, final String params, final String primaryRaw, final String cpuRaw)
    {
        return "{\"jmhVersion\":\"1.37\",\"benchmark\":\"" + benchmark + "\",\"mode\":\"avgt\",\"forks\":1," +
            (params.isEmpty() ? "" : "\"params\":{" + params + "},") +
            "\"primaryMetric\":{\"score\":1,\"scoreUnit\":\"ns/op\",\"rawData\":" + primaryRaw + "}," +
            "\"secondaryMetrics\":{" + (cpuRaw == null ? "" : "\"cpu.time.norm\":{\"score\":1,\"scoreUnit\":" +
            "\"ns/op\",\"rawData\":" + cpuRaw + "},") + "\"chains\":{\"score\":5,\"scoreUnit\":\"#\"}}}";
    }

    @Test
    void mergeAppendsForksInOrderKeepingEverySharedMetric(@TempDir final Path dir) throws Exception
    {
        final String a = "[" + entry(RING, "\"q\":\"1\"", "[[10,11]]", "[[5,6]]") + "," +
            entry("x.Ref.compute", "", "[[1,2]]", "[[1,1]]") + "]";
        final String b = "[" + entry("x.Ref.compute", "", "[[3],[4]]", null) + "," +
            entry(RING, "\"q\":\"1\"", "[[12,13,14]]", "[[7]]") + "]";
        final String merged = JmhResults.merge(List.of(a, b));
        final Map<String, JmhResult> primary = byKey(merged);
        assertEquals(List.of(RING + "{q=1} avgt", "x.Ref.compute avgt"), List.copyOf(primary.keySet()),
            "order of first appearance");
        final JmhResult ring = primary.get(RING + "{q=1} avgt");
        assertEquals(2, ring.primary().forkCount());
        assertArrayEquals(new double[] {10, 11}, ring.primary().fork(0));
        assertArrayEquals(new double[] {12, 13, 14}, ring.primary().fork(1));
        assertEquals(3, primary.get("x.Ref.compute avgt").primary().forkCount());

        assertNull(primary.get("x.Ref.compute avgt").metric("cpu.time.norm"),
            "the reference lacks cpu.time.norm in one input: dropped, not half-merged");
        assertArrayEquals(new double[] {7}, ring.metric("cpu.time.norm").fork(1));
        assertFalse(merged.contains("\"chains\""), "a metric without raw data cannot be pooled");
        final JsonObject first = JsonParser.parseString(merged).getAsJsonArray().get(0).getAsJsonObject();
        assertEquals(2.0, first.get("forks").getAsDouble());
        assertEquals("1.37", first.get("jmhVersion").getAsString(), "other fields are the first input's");
        assertEquals(12.0, first.getAsJsonObject("primaryMetric").get("score").getAsDouble(),
            "score = mean of the raw data");

        final Path file = dir.resolve("written.json");
        JmhResults.write(List.copyOf(primary.values()), file);
        final Map<String, JmhResult> back = JmhResults.read(file).stream()
            .collect(Collectors.toMap(JmhResult::key, Function.identity()));
        for (final JmhResult m : primary.values())
        {
            for (int f = 0; f < m.primary().forkCount(); f++)
            {
                assertArrayEquals(m.primary().fork(f), back.get(m.key()).primary().fork(f), m.key() + " fork " + f);
            }
            assertEquals(m.params(), back.get(m.key()).params());
        }
    }

    @Test
    void mergeRefusesMixedUnitsAndMissingRawData()
    {
        final String a = "[" + entry(RING, "", "[[1]]", null) + "]";
        final String b = a.replace("\"scoreUnit\":\"ns/op\"", "\"scoreUnit\":\"us/op\"");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> JmhResults.merge(List.of(a, b)));
        assertTrue(ex.getMessage().contains("unit us/op in one run and ns/op in another"), ex.getMessage());
        final String none = "[{\"benchmark\":\"" + RING + "\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":" +
            "\"ns/op\"}}]";
        final IllegalArgumentException raw = assertThrows(IllegalArgumentException.class,
            () -> JmhResults.merge(List.of(a, none)));
        assertTrue(raw.getMessage().contains("no 'rawData'"), raw.getMessage());
    }

    @Test
    void reportConventionsOfTheCounters()
    {
        final JmhResult.Metric t = new JmhResult.Metric(100, 1, "ns/op");
        final JmhResult ok = new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of(), t,
            Map.of("mapErrors", new JmhResult.Metric(0, 0, "#"), "mapped", new JmhResult.Metric(5, 0, "#")));
        final JmhResult none = new JmhResult("vqdma.bench.dma.D.m", "avgt", Map.of(), t,
            Map.of("ioerr", new JmhResult.Metric(7, 0, "#")));
        assertFalse(ok.failed());
        assertTrue(none.failedCompletely());
        assertEquals(1e7, ok.opsPerSecond(), 1e-3);
        assertEquals(100, ok.nanosPerOp(), 1e-9);
        assertEquals("other", new JmhResult("org.x.B.m", "avgt", Map.of(), t, Map.of()).group());
    }

    private static void assertMessage(final String json, final String expected)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> JmhResults.parse(json));
        assertTrue(ex.getMessage().contains(expected), "expected '" + expected + "' in: " + ex.getMessage());
    }
}
