package vqdma.bench.run;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The zero-allocation claim of every hot path, checked in the build: {@link AllocCheck#HOT_PATHS} under
 * {@code -prof gc} and {@link ThreadAllocProfiler}, one fork and one 1 s iteration each (about a minute). JMH's
 * output goes to {@code target/alloc-check.log}.
 */
class AllocCheckTest
{
    static
    {
        // Allocation per operation does not depend on what else runs on the machine, so this check need not wait
        // for another JMH run's lock (a developer's benchmark, another module's build). Set before JMH's Runner
        // class initialises, which reads it once.
        System.setProperty("jmh.ignoreLock", "true");
    }

    @Test
    void hotPathsAllocateNothingInSteadyState() throws IOException
    {
        final Path log = Path.of("target", "alloc-check.log");
        Files.createDirectories(log.getParent());
        try (PrintStream out = new PrintStream(Files.newOutputStream(log), true, StandardCharsets.UTF_8))
        {
            final AllocCheck.Outcome outcome = AllocCheck.check(AllocCheck.HOT_PATHS, System.out, out);
            System.out.println();
            System.out.print(outcome.describe());
            assertTrue(outcome.problems().isEmpty(), "hot paths not checked:\n" + outcome.describe() +
                "JMH output: " + log.toAbsolutePath());
            assertTrue(outcome.offenders().isEmpty(), "hot paths allocating more than " +
                AllocCheck.LIMIT_BYTES_PER_OP + " B/op:\n" + String.join("\n", outcome.offenders()));
            assertFalse(outcome.bytesPerOp().isEmpty(), "nothing was measured");
        }
    }

    @Test
    void onlyRunsAboveTheLimitAreOffenders()
    {
        final Map<String, Double> measured = new LinkedHashMap<>();
        measured.put("dma.DmaMapBenchmark.mapUnmap ops=direct", 0.7);
        measured.put("ring.RingCycleBenchmark.cycle shape=chain128", 8.0);
        measured.put("blk.Some.request size=4096", 24.0);
        assertEquals(List.of("blk.Some.request size=4096: 24.0 B/op"), AllocCheck.offenders(measured));
        final AllocCheck.Outcome outcome = new AllocCheck.Outcome(measured, Map.of(), AllocCheck.offenders(measured),
            List.of(), List.of());
        assertFalse(outcome.passed());
        assertTrue(outcome.describe().contains("blk.Some.request size=4096: 24.0 B/op"), outcome.describe());
    }
}
