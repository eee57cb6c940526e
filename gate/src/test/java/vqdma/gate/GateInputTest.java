package vqdma.gate;

import org.junit.jupiter.api.Test;
import vqdma.results.JmhResult;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What the gate reads of a JMH file: the metric it gates on, raw samples it can use, one result per key. (Reading
 * JMH's format itself is jmh-model's, tested there on the project's own files.)
 */
class GateInputTest
{
    static final String RING = "vqdma.bench.ring.RingCycleBenchmark.cycle";

    @Test
    void readsBenchmarksByKeyWithTheirForks()
    {
        final String json = "[{\"benchmark\":\"" + RING + "\",\"mode\":\"avgt\",\"forks\":2," +
            "\"params\":{\"shape\":\"chain128\",\"dma\":\"bypass\",\"queueSize\":256}," +
            "\"primaryMetric\":{\"score\":2.5,\"scoreError\":\"NaN\",\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1,2,3],[4]]},\"secondaryMetrics\":{}}]";
        final Map<String, JmhResult> results = GateInput.parse(json, null);
        assertEquals(1, results.size());
        final JmhResult r = results.values().iterator().next();
        assertEquals(RING + "{dma=bypass,queueSize=256,shape=chain128} avgt", results.keySet().iterator().next());
        assertEquals(2, r.primary().forkCount());
        assertArrayEquals(new double[] {1.0, 0.5, 1 / 3.0}, r.speeds(null)[0], 1e-12, "time per op inverts");
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
        assertMessage("[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[]]}}]", "fork 1 has no iterations");
        assertMessage("{}", "expected a JSON array");
        assertMessage("[{\"mode\":\"avgt\"}]", "result #1 'benchmark': expected a string");
        final String one = "{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[1]]}}";
        assertMessage("[" + one + "," + one + "]", "appears twice");
        final String noRawCpu = "[{\"benchmark\":\"b.B.m\",\"mode\":\"avgt\",\"primaryMetric\":{\"scoreUnit\":" +
            "\"ns/op\",\"rawData\":[[1]]},\"secondaryMetrics\":{\"cpu.time.norm\":{\"scoreUnit\":\"ns/op\"}}}]";
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> GateInput.parse(noRawCpu, "cpu.time.norm"));
        assertTrue(ex.getMessage().contains("no raw data for the secondary metric 'cpu.time.norm'"), ex.getMessage());
    }

    @Test
    void aSecondaryMetricIsReadWithItsOwnDirection()
    {
        final String thrpt = "[{\"benchmark\":\"b.B.m\",\"mode\":\"thrpt\",\"primaryMetric\":{\"scoreUnit\":" +
            "\"ops/s\",\"rawData\":[[100]]},\"secondaryMetrics\":{\"cpu.time.norm\":{\"scoreUnit\":\"ns/op\"," +
            "\"rawData\":[[4]]}}}]";
        final JmhResult score = GateInput.parse(thrpt, null).values().iterator().next();
        final JmhResult cpu = GateInput.parse(thrpt, "cpu.time.norm").values().iterator().next();
        assertTrue(score.higherIsBetter(), "throughput: more is faster");
        assertFalse(cpu.higherIsBetter(), "ns/op: less is faster, whatever the mode");
        assertEquals(0.25, cpu.speeds(null)[0][0], 1e-12);
        assertTrue(GateInput.parse(thrpt, "gc.alloc.rate").isEmpty(), "benchmarks without the metric are left out");
    }

    private static void assertMessage(final String json, final String expected)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> GateInput.parse(json, null));
        assertTrue(ex.getMessage().contains(expected), "expected '" + expected + "' in: " + ex.getMessage());
    }
}
