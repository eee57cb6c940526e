package vqdma.gate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The history on the recorded self-test runs (committed fixtures: baseline, 10 A/A runs, 10 runs with the ring 10%
 * slower, 4 runs under CPU burners), arranged as a project's history would be, and on results folders made here.
 */
class HistoryTest
{
    static final String CHAIN = "vqdma.bench.ring.RingCycleBenchmark.cycle{dma=bypass,indirect=false,queueSize=256," +
        "shape=chain128} avgt";
    static final GateConfig CONFIG = GateConfig.parse(String.join("\n",
        "normalize vqdma\\.bench\\.ring\\. by vqdma\\.bench\\.ref\\.ReferenceBenchmark\\.compute",
        "reference vqdma\\.bench\\.ref\\.ReferenceBenchmark",
        "metric cpu.time.norm",
        "fork-statistic min",
        "level fast-quartile"), "selftest.conf");

    static History.Report history(final GateConfig config, final String... names) throws IOException
    {
        final List<History.Run> runs = new ArrayList<>();
        for (final String name : names)
        {
            final Path file = Path.of("src/test/resources/vqdma/gate/recorded", name + ".json");
            runs.add(History.run(file));
        }
        return History.of(runs, History.Settings.of(config), new ArrayList<>());
    }

    static String[] concat(final String[]... parts)
    {
        final List<String> all = new ArrayList<>();
        for (final String[] p : parts)
        {
            all.addAll(List.of(p));
        }
        return all.toArray(new String[0]);
    }

    @Test
    void theInjectedSlowdownIsOneChangePointWhereItBegins() throws IOException
    {
        final History.Report report = history(CONFIG, concat(new String[] {"baseline"},
            RecordedDataTest.names("aa", 1, 10), RecordedDataTest.names("slow", 1, 10)));
        final Map<String, History.Series> series = History.byKey(report);
        assertEquals(3, series.size(), series.keySet().toString());
        final History.Series chain = series.get(CHAIN);
        assertEquals(21, chain.points().size());
        assertEquals("vqdma.bench.ref.ReferenceBenchmark.compute", chain.reference());
        assertEquals(1, chain.changes().size(), chain.changes().toString());
        final History.Change change = chain.changes().get(0);
        assertEquals(11, change.index(), "the first slow run");
        assertTrue(change.ratio() > 0.85 && change.ratio() < 0.95, "about 10% slower: " + change.ratio());
        assertTrue(change.p() <= 0.05);
        for (final History.Series s : report.series())
        {
            if (!s.key().equals(CHAIN))
            {
                assertTrue(s.changes().isEmpty(), "the references did not change: " + s.key() + " " + s.changes());
                assertNull(s.reference());
            }
        }
    }

    @Test
    void aaRunsAndMachineSlowdownsAreNoChange() throws IOException
    {
        final History.Report aa = history(CONFIG, concat(new String[] {"baseline"}, RecordedDataTest.names("aa", 1,
            10)));
        assertEquals(0, aa.changeCount(), HistoryReport.render(aa));
        // The CPU burners in the middle of the A/A runs: the machine was slower, the code was not.
        final History.Report burn = history(CONFIG, concat(RecordedDataTest.names("aa", 1, 5),
            RecordedDataTest.names("burn", 1, 4), RecordedDataTest.names("aa", 6, 10)));
        assertTrue(History.byKey(burn).get(CHAIN).changes().isEmpty(), HistoryReport.render(burn));
    }

    /** A results folder as users have it: run folders with machine facts, out of date order, and some noise. */
    @Test
    void resultsFoldersAreReadInDateOrder(@TempDir final Path results) throws IOException
    {
        final String[] dates = {"2026-11-03T10:00:00Z", "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z",
            "2026-11-05T10:00:00Z", "2026-11-04T10:00:00Z"};
        for (int i = 0; i < dates.length; i++)
        {
            final Path dir = results.resolve("run-" + i);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("jmh.json"), RecordedDataTest.text(RecordedDataTest.name("aa", i + 1)));
            Files.writeString(dir.resolve("machine.txt"), "date: " + dates[i] + "\ngitRevision: " +
                "0123456789abcdef0123456789abcdef01234567\n");
        }
        final Path flame = results.resolve("2026-11-06-vm-flame");
        Files.createDirectories(flame);
        Files.writeString(flame.resolve("jmh.json"), RecordedDataTest.text("slow-01"));
        final Path broken = results.resolve("run-broken");
        Files.createDirectories(broken);
        Files.writeString(broken.resolve("jmh.json"), "{not json");
        final Path baseline = results.resolve("baseline");
        Files.createDirectories(baseline);
        Files.writeString(baseline.resolve("gate.json"), RecordedDataTest.text("baseline"));
        Files.writeString(baseline.resolve("gate-machine.txt"), "date: 2026-10-31T10:00:00Z\ngit: abc1234\n");
        Files.writeString(results.resolve("README.md"), "not a run");

        final List<String> warnings = new ArrayList<>();
        final List<History.Run> runs = History.readRuns(List.of(results), warnings);
        assertEquals(List.of("baseline/gate.json", "run-1", "run-2", "run-0", "run-4", "run-3"),
            runs.stream().map(History.Run::name).toList(), "date order; the flame folder is no run");
        assertEquals("0123456", runs.get(1).git());
        assertEquals("abc1234", runs.get(0).git());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("run-broken")), warnings.toString());

        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final Path conf = results.resolve("gate.conf");
        Files.writeString(conf, String.join("\n",
            "normalize vqdma\\.bench\\.ring\\. by vqdma\\.bench\\.ref\\.ReferenceBenchmark\\.compute",
            "metric cpu.time.norm", "fork-statistic min", "level fast-quartile"), StandardCharsets.UTF_8);
        final Path md = results.resolve("history.md");
        assertEquals(0, GateMain.run(new PrintWriter(out), new PrintWriter(err), "history", results.toString(),
            "--config", conf.toString(), "--markdown", md.toString()), err.toString());
        final String text = out.toString();
        assertTrue(text.contains("history: runs=6 benchmarks=3 changes=0 slower=0 faster=0"), text);
        assertTrue(text.contains("| 2 | run-1 | 2026-11-01 10:00 | 0123456 | 8 |"), text);
        assertTrue(text.contains("(normalized by ReferenceBenchmark.compute)"), text);
        assertEquals(text + "\n", Files.readString(md));

        final StringWriter few = new StringWriter();
        assertEquals(0, GateMain.run(new PrintWriter(few), new PrintWriter(err), "history",
            results.resolve("run-0").toString(), results.resolve("run-1").toString(), "--config", conf.toString()));
        assertTrue(few.toString().contains("No benchmark appears in 3 runs with the metric cpu.time.norm"),
            few.toString());
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err),
            "history", results.resolve("nope").toString()));
    }

    @Test
    void levelsInOtherUnitsAreConvertedAndRunsWithoutTheReferenceLeftOut()
    {
        final java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        final List<History.Run> runs = new ArrayList<>();
        for (int i = 0; i < 6; i++)
        {
            final Synthetic s = new Synthetic();
            final boolean micro = i % 2 == 0;
            s.add("vqdma.bench.ring.R.m", "avgt", micro ? "us/op" : "ns/op", Map.of(), micro ? 1.0 : 1000.0, 0.01,
                0.01, 5, 5, random);
            if (i != 3)
            {
                s.add("vqdma.bench.ref.ReferenceBenchmark.compute", "avgt", "ns/op", Map.of(), 500, 0.01, 0.01, 5, 5,
                    random);
            }
            runs.add(new History.Run("r" + i, Path.of("r" + i), null, null, vqdma.results.JmhResults.parse(s.json())));
        }
        final History.Report report = History.of(runs, History.Settings.of(GateConfig.parse(
            "normalize vqdma\\.bench\\.ring\\. by ReferenceBenchmark\\.compute\n", "t")), new ArrayList<>());
        final History.Series ring = History.byKey(report).get("vqdma.bench.ring.R.m avgt");
        assertEquals(5, ring.points().size(), "the run without the reference is left out");
        assertEquals(1, ring.skipped());
        for (final History.Point p : ring.points())
        {
            assertEquals("ns/op", p.unit());
            assertEquals(1000, p.level(), 30, "every run's level in ns/op");
            assertEquals(0.5, p.normalized(), 0.02, "speed / reference speed");
        }
        assertTrue(ring.changes().isEmpty());
    }
}
