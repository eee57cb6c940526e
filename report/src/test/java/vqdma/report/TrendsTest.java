package vqdma.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import vqdma.results.JmhResult;
import vqdma.results.JmhResults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The trend charts of the gated benchmarks, on a history made from the recorded run. */
class TrendsTest
{
    static final String RING = "vqdma.bench.ring.RingCycleBenchmark.cycle";
    static final String CONFIG = String.join("\n",
        "run vqdma.bench.ring.RingCycleBenchmark.cycle -p dma=bypass -p shape=chain128",
        "run vqdma.bench.iommu.IommuBenchmark.iommuMapUnmap -p mode=strict -p invalidationNanos=0",
        "fork-statistic min", "");

    @TempDir
    Path tmp;

    /**
     * A results folder of 8 runs, each the recorded run with 4 forks of 5 iterations drawn around its scores (1%
     * noise), the ring's chain128 cell 20% slower from the fifth run on.
     *
     * @param into where to make it.
     * @return the results folder; {@code gate.conf} is beside the runs.
     * @throws IOException if writing fails.
     */
    static Path history(final Path into) throws IOException
    {
        final Path results = Files.createDirectories(into.resolve("results"));
        final List<JmhResult> recorded = JmhResults.read(Fixture.copy("run", into.resolve("fixture"))
            .resolve("jmh.json"));
        final SplittableRandom random = new SplittableRandom(3);
        for (int run = 1; run <= 8; run++)
        {
            final List<JmhResult> results1 = new ArrayList<>();
            for (final JmhResult r : recorded)
            {
                final boolean slower = run >= 5 && r.benchmark().equals(RING) && "chain128".equals(r.param("shape")) &&
                    "bypass".equals(r.param("dma"));
                final double level = r.primary().score() * (slower ? (r.higherIsBetter() ? 1 / 1.2 : 1.2) : 1);
                final double[][] forks = new double[4][5];
                for (final double[] fork : forks)
                {
                    for (int i = 0; i < fork.length; i++)
                    {
                        fork[i] = level * (1 + 0.01 * (random.nextDouble() * 2 - 1));
                    }
                }
                results1.add(r.withPrimary(JmhResult.Metric.ofSamples(r.primary().unit(), forks)));
            }
            final Path dir = Files.createDirectories(results.resolve(String.format("2026-11-%02d-100000-vm", run)));
            JmhResults.write(results1, dir.resolve("jmh.json"));
            Files.writeString(dir.resolve("machine.txt"), String.format("date: 2026-11-%02dT10:00:00Z%ngit: " +
                "abc%04d%n", run, run), StandardCharsets.UTF_8);
        }
        Files.writeString(into.resolve("gate.conf"), CONFIG, StandardCharsets.UTF_8);
        return results;
    }

    @Test
    void everyGatedBenchmarkWithHistoryGetsATrendWithItsChangePoints() throws IOException
    {
        final Path results = history(tmp);
        final Path run = Fixture.copy("run", tmp);
        final Report report = Report.of(run, null, List.of(results), tmp.resolve("gate.conf"));
        final List<Figure> trends = report.figures().stream().filter(f -> f.id().startsWith("trend-")).toList();
        assertEquals(2, trends.size(), "the two gated cells, nothing else: " + trends.stream().map(Figure::id)
            .toList());
        final Figure ring = trends.stream().filter(f -> f.id().contains("ringcyclebenchmark")).findFirst()
            .orElseThrow();
        assertTrue(ring.caption().contains("run 5 (2026-11-05-100000-vm): speed x0.8"), ring.caption());
        final XYChart chart = (XYChart)ring.chart();
        assertTrue(chart.getSeriesMap().containsKey("change point"), chart.getSeriesMap().keySet().toString());
        assertEquals(5.0, chart.getSeriesMap().get("change point").getXData()[0], 0.0);
        assertEquals(8, chart.getSeriesMap().get("level per run").getXData().length);
        final Figure iommu = trends.stream().filter(f -> f.id().contains("iommubenchmark")).findFirst().orElseThrow();
        assertTrue(iommu.caption().contains("No change point"), iommu.caption());

        report.write(run);
        final String html = Files.readString(run.resolve("report.html"), StandardCharsets.UTF_8);
        for (final Figure f : trends)
        {
            assertTrue(html.contains("<img src=\"charts/" + f.fileName() + "\""), f.id());
            assertTrue(Files.size(run.resolve("charts").resolve(f.fileName())) > 1000, f.fileName());
        }
        assertTrue(Report.of(run, null).figures().stream().noneMatch(f -> f.id().startsWith("trend-")),
            "no history, no trend");
    }
}
