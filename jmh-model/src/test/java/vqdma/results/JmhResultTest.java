package vqdma.results;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Derived rates of one result. */
class JmhResultTest
{
    private static JmhResult roundTrip(final Map<String, JmhResult.Metric> secondary)
    {
        return new JmhResult("vqdma.bench.ring.RingRoundTripBenchmark.roundTrip", "thrpt", Map.of("batch", "32"),
            new JmhResult.Metric(1000, 10, "ops/s"), secondary);
    }

    @Test
    void roundTripsComeFromTheCounterWhenThereIsOne()
    {
        final JmhResult r = roundTrip(Map.of("roundTrips", new JmhResult.Metric(32_000, 320, "ops/s")));
        assertEquals(32_000, r.roundTripsPerSecond(), 1e-9);
        assertEquals(1000, r.opsPerSecond(), 1e-9);
    }

    @Test
    void roundTripsAreOperationsWithoutTheCounter()
    {
        assertEquals(1000, roundTrip(Map.of()).roundTripsPerSecond(), 1e-9);
    }

    @Test
    void aCounterInAnotherUnitIsConverted()
    {
        final JmhResult r = roundTrip(Map.of("roundTrips", new JmhResult.Metric(32, 1, "ops/ms")));
        assertEquals(32_000, r.roundTripsPerSecond(), 1e-9);
    }
}
