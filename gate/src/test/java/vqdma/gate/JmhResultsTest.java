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

    @Test
    void mergeAppendsForksInOrderAndWritesJmhJsonBack(@TempDir final Path dir) throws Exception
    {
        final SplittableRandom random = new SplittableRandom(7);
        final Map<String, JmhResult> a = new Synthetic()
            .add(RING, "avgt", "ns/op", Map.of("q", "1"), 100, 0.1, 0.01, 1, 3, random)
            .add("x.Ref.compute", "avgt", "ns/op", Map.of(), 50, 0.1, 0.01, 1, 3, random).results();
        final Map<String, JmhResult> b = new Synthetic()
            .add("x.Ref.compute", "avgt", "ns/op", Map.of(), 50, 0.1, 0.01, 2, 3, random)
            .add(RING, "avgt", "ns/op", Map.of("q", "1"), 100, 0.1, 0.01, 1, 4, random).results();
        final List<JmhResult> merged = JmhResults.merge(List.of(a, b));
        assertEquals(2, merged.size());
        final JmhResult ring = merged.get(0);
        assertEquals(RING + "{q=1}", ring.displayKey(), "order of first appearance");
        assertEquals(2, ring.forkCount());
        assertArrayEquals(a.get(ring.identity()).fork(0), ring.fork(0));
        assertArrayEquals(b.get(ring.identity()).fork(0), ring.fork(1));
        assertEquals(3, merged.get(1).forkCount());

        final Path file = dir.resolve("merged.json");
        JmhResults.write(merged, file);
        final Map<String, JmhResult> back = JmhResults.read(file);
        assertEquals(2, back.size());
        for (final JmhResult m : merged)
        {
            final JmhResult r = back.get(m.identity());
            assertNotNull(r, m.identity());
            for (int f = 0; f < m.forkCount(); f++)
            {
                assertArrayEquals(m.fork(f), r.fork(f), m.identity() + " fork " + f);
            }
        }
        assertTrue(Files.readString(file).contains("\"jmhVersion\" : \"1.37\""), "original fields are kept");
    }

    @Test
    void mergeRefusesMixedUnits()
    {
        final SplittableRandom random = new SplittableRandom(1);
        final Map<String, JmhResult> a = new Synthetic().add(RING, "avgt", "ns/op", Map.of(), 1, 0, 0, 1, 1, random)
            .results();
        final Map<String, JmhResult> b = new Synthetic().add(RING, "avgt", "us/op", Map.of(), 1, 0, 0, 1, 1, random)
            .results();
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> JmhResults.merge(List.of(a, b)));
        assertTrue(ex.getMessage().contains("unit us/op in one run and ns/op in another"), ex.getMessage());
    }

    private static void assertMessage(final String json, final String expected)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> JmhResults.parse(json));
        assertTrue(ex.getMessage().contains(expected), "expected '" + expected + "' in: " + ex.getMessage());
    }
}
