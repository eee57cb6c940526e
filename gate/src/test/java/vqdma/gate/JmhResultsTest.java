package vqdma.gate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class JmhResultsTest
{
    static final String RING = "vqdma.bench.ring.RingCycleBenchmark.cycle";

    @Test
    void readsBenchmarksParamsAndRawSamplesPerFork()
    {
        final String json = "[{\"benchmark\":\"" + RING + "\",\"mode\":\"avgt\",\"forks\":2," +
            "\"params\":{\"shape\":\"chain128\",\"dma\":\"bypass\",\"queueSize\":256}," +
            "\"primaryMetric\":{\"score\":2.5,\"scoreError\":\"NaN\",\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1,2,3],[4]]},\"secondaryMetrics\":{}}]";
        final Map<String, JmhResult> results = JmhResults.parse(json);
        assertEquals(1, results.size());
        final JmhResult r = results.values().iterator().next();
        assertEquals(RING + "{dma=bypass,queueSize=256,shape=chain128}", r.displayKey(), "params sorted by name");
        assertEquals(r.displayKey() + " avgt", r.identity());
        assertEquals(2, r.forkCount());
        assertArrayEquals(new double[] {1, 2, 3}, r.fork(0));
        assertArrayEquals(new double[] {4}, r.fork(1));
        assertEquals("ns/op", r.unit());
        assertArrayEquals(new double[] {1.0, 0.5, 1 / 3.0}, r.speeds(null)[0], 1e-12, "time per op inverts");
    }

    @Test
    void sampleModeUsesTheMeanOfEachIterationsHistogram()
    {
        final String json = "[{\"benchmark\":\"b.B.m\",\"mode\":\"sample\",\"primaryMetric\":{\"scoreUnit\":\"us/op\"," +
            "\"rawDataHistogram\":[[[[10,1],[20,3]],[[5,2]]]]}}]";
        final JmhResult r = JmhResults.parse(json).values().iterator().next();
        assertArrayEquals(new double[] {17.5, 5}, r.fork(0), 1e-12);
    }

    @Test
    void problemsAreNamed()
    {
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"}}]",
            "no 'primaryMetric.rawData'");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1,\"NaN\"]]}}]", "fork 1 iteration 2 has score NaN");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1,-2]]}}]", "fork 1 iteration 2 has score -2.0");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"fast\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1]]}}]", "unknown JMH mode 'fast'");
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[]}}]", "no forks");
        assertMessage("{}", "expected a JSON array");
        assertMessage("[{\"mode\":\"avgt\"}]", "result #1 'benchmark': expected a string");
        final String one = "{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1]]}}";
        assertMessage("[" + one + "," + one + "]", "appears twice");
    }

    @Test
    void unitsConvertWithinTheirKindOnly()
    {
        assertEquals(1000.0, JmhResult.unitScale("us/op", "ns/op"), 1e-9);
        assertEquals(1e-3, JmhResult.unitScale("ops/s", "ops/ms"), 1e-15);
        assertEquals(60.0, JmhResult.unitScale("ops/s", "ops/min"), 1e-9);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> JmhResult.unitScale("ops/s", "ns/op"));
        assertTrue(ex.getMessage().contains("ops/s") && ex.getMessage().contains("ns/op"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JmhResult.unitScale("B/op", "ns/op"));
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
        final Map<String, JmhResult> primary = JmhResults.parse(merged);
        assertEquals(List.of(RING + "{q=1} avgt", "x.Ref.compute avgt"), List.copyOf(primary.keySet()),
            "order of first appearance");
        final JmhResult ring = primary.get(RING + "{q=1} avgt");
        assertEquals(2, ring.forkCount());
        assertArrayEquals(new double[] {10, 11}, ring.fork(0));
        assertArrayEquals(new double[] {12, 13, 14}, ring.fork(1));
        assertEquals(3, primary.get("x.Ref.compute avgt").forkCount());

        final Map<String, JmhResult> cpu = JmhResults.parse(merged, "cpu.time.norm");
        assertEquals(1, cpu.size(), "the reference lacks cpu.time.norm in one input: dropped, not half-merged");
        assertArrayEquals(new double[] {7}, cpu.get(RING + "{q=1} avgt").fork(1));
        assertFalse(merged.contains("\"chains\""), "a metric without raw data cannot be pooled");
        final Map<?, ?> first = (Map<?, ?>)((List<?>)Json.parse(merged)).get(0);
        assertEquals(2.0, first.get("forks"));
        assertEquals("1.37", first.get("jmhVersion"), "other fields are the first input's");
        assertEquals(12.0, ((Map<?, ?>)first.get("primaryMetric")).get("score"), "score = mean of the raw data");

        final Path file = dir.resolve("written.json");
        JmhResults.write(List.copyOf(primary.values()), file);
        final Map<String, JmhResult> back = JmhResults.read(file);
        for (final JmhResult m : primary.values())
        {
            for (int f = 0; f < m.forkCount(); f++)
            {
                assertArrayEquals(m.fork(f), back.get(m.identity()).fork(f), m.identity() + " fork " + f);
            }
        }
    }

    @Test
    void mergeRefusesMixedUnits()
    {
        final String a = "[" + entry(RING, "", "[[1]]", null) + "]";
        final String b = a.replace("\"scoreUnit\":\"ns/op\"", "\"scoreUnit\":\"us/op\"");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> JmhResults.merge(List.of(a, b)));
        assertTrue(ex.getMessage().contains("unit us/op in one run and ns/op in another"), ex.getMessage());
    }

    @Test
    void aSecondaryMetricIsReadWithItsOwnDirection()
    {
        final String thrpt = "[{\"benchmark\":\"b.B.m\",\"mode\":\"thrpt\",\"primaryMetric\":{\"scoreUnit\":" +
            "\"ops/s\",\"rawData\":[[100]]},\"secondaryMetrics\":{\"cpu.time.norm\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[4]]}}}]";
        final JmhResult score = JmhResults.parse(thrpt).values().iterator().next();
        final JmhResult cpu = JmhResults.parse(thrpt, "cpu.time.norm").values().iterator().next();
        assertTrue(score.higherIsBetter(), "throughput: more is faster");
        assertFalse(cpu.higherIsBetter(), "ns/op: less is faster, whatever the mode");
        assertEquals(0.25, cpu.speeds(null)[0][0], 1e-12);
        assertTrue(JmhResults.parse(thrpt, "gc.alloc.rate").isEmpty(), "benchmarks without the metric are left out");
    }

    private static void assertMessage(final String json, final String expected)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> JmhResults.parse(json));
        assertTrue(ex.getMessage().contains(expected), "expected '" + expected + "' in: " + ex.getMessage());
    }
}
