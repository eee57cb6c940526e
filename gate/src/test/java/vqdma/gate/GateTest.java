package vqdma.gate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import vqdma.results.JmhResult;
import vqdma.results.JmhResults;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class GateTest
{
    static final String RING = "vqdma.bench.ring.RingCycleBenchmark.cycle";
    static final String REF = "vqdma.bench.ref.ReferenceBenchmark.compute";
    static final NormalizationRules RULES = NormalizationRules.parse(
        "normalize vqdma\\.bench\\.ring\\. by ReferenceBenchmark\\.compute\n", "test");

    /** A run: the ring benchmark in two shapes and the reference, 6 forks of 4 iterations, 2% fork noise. */
    static Map<String, JmhResult> run(final long seed, final double ringTime, final double refTime, final String mode)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final String unit = mode.equals("thrpt") ? "ops/s" : "ns/op";
        final double ring = mode.equals("thrpt") ? 1e9 / ringTime : ringTime;
        final double ref = mode.equals("thrpt") ? 1e9 / refTime : refTime;
        return new Synthetic()
            .add(RING, mode, unit, Map.of("shape", "chain128"), ring, 0.02, 0.01, 6, 4, random)
            .add(RING, mode, unit, Map.of("shape", "single128"), ring * 3, 0.02, 0.01, 6, 4, random)
            .add(REF, mode, unit, Map.of(), ref, 0.02, 0.01, 6, 4, random)
            .results();
    }

    static Gate.Report compare(final Map<String, JmhResult> base, final Map<String, JmhResult> cand,
        final NormalizationRules rules)
    {
        return Gate.compare(base, cand, new Gate.Options().replicates(2000).rules(rules));
    }

    @Test
    void twoRunsOfTheSameCodeAreNeverCalledRegressedOrImproved()
    {
        for (long seed = 0; seed < 20; seed++)
        {
            final Gate.Report report = compare(run(seed, 1000, 500, "avgt"), run(seed + 1000, 1000, 500, "avgt"),
                RULES);
            assertEquals(0, report.count(Verdict.REGRESSED) + report.count(Verdict.IMPROVED), "seed " + seed + "\n" +
                MarkdownReport.render(report, "A/A"));
            assertEquals(2, report.count(Verdict.UNCHANGED), "seed " + seed + ": 2% noise is within 5%\n" +
                MarkdownReport.render(report, "A/A"));
            assertEquals(1, report.count(Verdict.REFERENCE), "seed " + seed);
        }
    }

    @Test
    void aTenPercentSlowerTimeIsARegressionInEveryTimeMode()
    {
        final Gate.Report report = compare(run(1, 1000, 500, "avgt"), run(2, 1100, 500, "avgt"), RULES);
        final Comparison chain = row(report, "shape=chain128");
        assertEquals(Verdict.REGRESSED, chain.verdict(), MarkdownReport.render(report, "slow"));
        assertEquals(1 / 1.1, chain.ratio(), 0.03, "speed ratio: baseline time / candidate time");
        assertTrue(chain.ciHigh() < 1 && chain.pAdjusted() < 0.05);
        assertTrue(report.regressed());
        assertEquals(2, report.tested(), "the reference is not tested");
    }

    @Test
    void throughputDirectionIsCandidateOverBaseline()
    {
        final Gate.Report slower = compare(run(1, 1000, 500, "thrpt"), run(2, 1250, 500, "thrpt"), RULES);
        assertEquals(Verdict.REGRESSED, row(slower, "chain128").verdict(), MarkdownReport.render(slower, "thrpt"));
        assertEquals(0.8, row(slower, "chain128").ratio(), 0.03);
        final Gate.Report faster = compare(run(1, 1000, 500, "thrpt"), run(2, 800, 500, "thrpt"), RULES);
        assertEquals(Verdict.IMPROVED, row(faster, "chain128").verdict());
        assertEquals(1.25, row(faster, "chain128").ratio(), 0.04);
        assertFalse(faster.regressed());
    }

    @Test
    void aFasterTimeIsAnImprovementAndDoesNotFail()
    {
        final Gate.Report report = compare(run(1, 1000, 500, "avgt"), run(2, 850, 500, "avgt"), RULES);
        assertEquals(Verdict.IMPROVED, row(report, "chain128").verdict());
        assertTrue(row(report, "chain128").ciLow() > 1);
        assertFalse(report.regressed());
    }

    /**
     * A slower-only benchmark (a metric that contention lowers) is never called improved and leaves the "faster"
     * question's Holm correction to the others; its slowdowns are still regressions.
     */
    @Test
    void aSlowerOnlyBenchmarkIsNeverImprovedButStillRegresses()
    {
        final Gate.Options options = new Gate.Options().replicates(2000).rules(RULES)
            .slowerOnly(List.of(java.util.regex.Pattern.compile("shape=chain128")));
        final Gate.Report faster = Gate.compare(run(1, 1000, 500, "avgt"), run(2, 850, 500, "avgt"), options);
        final Comparison chain = row(faster, "chain128");
        assertEquals(Verdict.INCONCLUSIVE, chain.verdict(), MarkdownReport.render(faster, "slower-only"));
        assertEquals("not slower; faster is not asked of a slower-only cell (gate.conf)", chain.note());
        assertTrue(chain.ratio() > 1.1 && chain.ciLow() > 1, "the data do say faster");
        assertEquals(Verdict.IMPROVED, row(faster, "single128").verdict(), "the other benchmark is still asked");
        final Gate.Report same = Gate.compare(run(1, 1000, 500, "avgt"), run(2, 1000, 500, "avgt"), options);
        assertTrue(row(same, "chain128").verdict() == Verdict.UNCHANGED ||
            row(same, "chain128").verdict() == Verdict.INCONCLUSIVE, MarkdownReport.render(same, "A/A"));
        final Gate.Report slower = Gate.compare(run(1, 1000, 500, "avgt"), run(2, 1100, 500, "avgt"), options);
        assertEquals(Verdict.REGRESSED, row(slower, "chain128").verdict(), MarkdownReport.render(slower, "slow"));
        assertTrue(slower.regressed());
    }

    @Test
    void aSignificantChangeSmallerThanTheThresholdIsUnchanged()
    {
        final Gate.Report report = compare(run(1, 1000, 500, "avgt"), run(2, 1025, 500, "avgt"), RULES);
        final Comparison chain = row(report, "chain128");
        assertEquals(Verdict.UNCHANGED, chain.verdict(), MarkdownReport.render(report, "2.5%"));
        assertTrue(chain.ratio() < 1);
    }

    /**
     * A cell with a threshold of its own (gate.conf's {@code threshold REGEX PERCENT}) is judged by it, the first
     * matching line winning; the others keep the default, and the report says which threshold applied.
     */
    @Test
    void aCellWithItsOwnThresholdIsJudgedByIt()
    {
        final Map<String, JmhResult> base = run(1, 1000, 500, "avgt");
        final Map<String, JmhResult> cand = run(2, 1070, 500, "avgt"); // both shapes 7% slower
        final Gate.Options options = new Gate.Options().replicates(2000).rules(RULES).thresholds(List.of(
            new Gate.CellThreshold(java.util.regex.Pattern.compile("shape=chain"), 0.08, "t:1"),
            new Gate.CellThreshold(java.util.regex.Pattern.compile("Ring"), 0.02, "t:2")));
        assertEquals(0.08, options.thresholdFor(RING + "{shape=chain128}"), 0, "the first match wins");
        assertEquals(0.02, options.thresholdFor(RING + "{shape=single128}"), 0);
        assertEquals(0.05, options.thresholdFor("other"), 0, "no match: the default");

        final Gate.Report report = Gate.compare(base, cand, options);
        final String table = MarkdownReport.render(report, "own thresholds");
        final Comparison chain = row(report, "chain128");
        assertTrue(chain.ratio() < 0.95 && chain.ratio() > 0.92 && chain.pAdjusted() < 0.05, table);
        assertEquals(Verdict.INCONCLUSIVE, chain.verdict(), "7% slower is not 8%: " + table);
        assertTrue(chain.note().contains("threshold 8% (gate.conf)"), chain.note());
        assertEquals(Verdict.REGRESSED, row(report, "single128").verdict(), table);
        assertEquals(Verdict.REGRESSED, row(Gate.compare(base, cand, new Gate.Options().replicates(2000).rules(RULES)),
            "chain128").verdict(), "the same data at the default 5%");
        assertTrue(table.contains("threshold 5% (8% for `shape=chain`, 2% for `Ring`)"), table);
        assertTrue(table.contains("**FAILED**: 1 benchmark(s) regressed beyond its threshold"), table);

        final Map<String, JmhResult> same = run(3, 1000, 500, "avgt");
        assertEquals(Verdict.UNCHANGED, row(Gate.compare(base, same, options), "chain128").verdict(),
            "unchanged is judged by the cell's own threshold too");
        assertThrows(IllegalArgumentException.class,
            () -> new Gate.CellThreshold(java.util.regex.Pattern.compile("x"), 0, "t:3"));
    }

    @Test
    void aUniformlySlowerMachineIsNormalizedAwayButNotWithoutNormalization()
    {
        final Map<String, JmhResult> base = run(1, 1000, 500, "avgt");
        final Map<String, JmhResult> slowMachine = run(2, 1400, 700, "avgt"); // everything 40% slower
        final Gate.Report normalized = compare(base, slowMachine, RULES);
        assertFalse(normalized.regressed(), MarkdownReport.render(normalized, "normalized"));
        assertEquals(Verdict.REFERENCE, row(normalized, "ReferenceBenchmark").verdict());
        assertEquals(1 / 1.4, row(normalized, "ReferenceBenchmark").ratio(), 0.03, "the machine's speed ratio");
        assertEquals(1 / 1.4, row(normalized, "chain128").rawRatio(), 0.03);
        assertEquals(1.0, row(normalized, "chain128").ratio(), 0.03);
        assertEquals(REF, row(normalized, "chain128").reference());

        final Gate.Report raw = compare(base, slowMachine, NormalizationRules.NONE);
        assertTrue(raw.regressed(), "the same data without normalization is a regression");
        assertEquals(Verdict.REGRESSED, row(raw, "ReferenceBenchmark").verdict(), "without rules it is a benchmark");
    }

    @Test
    void aRealSlowdownOnASlowerMachineIsStillARegression()
    {
        final Map<String, JmhResult> base = run(1, 1000, 500, "avgt");
        final Map<String, JmhResult> cand = run(2, 1000 * 1.3 * 1.15, 500 * 1.3, "avgt");
        final Gate.Report report = compare(base, cand, RULES);
        assertEquals(Verdict.REGRESSED, row(report, "chain128").verdict(), MarkdownReport.render(report, "both"));
        assertEquals(1 / 1.15, row(report, "chain128").ratio(), 0.03);
    }

    @Test
    void aDeclaredReferenceIsReportedNotGated()
    {
        final Map<String, JmhResult> base = run(1, 1000, 500, "avgt");
        final Map<String, JmhResult> cand = run(2, 1000, 900, "avgt"); // only the reference is slower
        final Gate.Report report = Gate.compare(base, cand, new Gate.Options().replicates(2000)
            .references(List.of(java.util.regex.Pattern.compile("ReferenceBenchmark"))));
        assertEquals(Verdict.REFERENCE, row(report, "ReferenceBenchmark").verdict());
        assertFalse(report.regressed(), MarkdownReport.render(report, "declared reference"));
        assertEquals(2, report.tested());
    }

    @Test
    void tooFewForksIsInconclusive()
    {
        final SplittableRandom random = new SplittableRandom(1);
        final Map<String, JmhResult> base = new Synthetic()
            .add(RING, "avgt", "ns/op", Map.of(), 1000, 0.01, 0.01, 2, 5, random).results();
        final Map<String, JmhResult> cand = new Synthetic()
            .add(RING, "avgt", "ns/op", Map.of(), 2000, 0.01, 0.01, 2, 5, random).results();
        final Gate.Report report = compare(base, cand, NormalizationRules.NONE);
        final Comparison c = report.rows().get(0);
        assertEquals(Verdict.INCONCLUSIVE, c.verdict());
        assertTrue(c.note().contains("fewer than 3 forks"), c.note());
        assertFalse(report.regressed(), "a 2x slowdown on 2 forks is not enough evidence to fail");
    }

    @Test
    void tooManyBenchmarksForTheForksIsWarned()
    {
        final SplittableRandom random = new SplittableRandom(1);
        final Synthetic base = new Synthetic();
        final Synthetic cand = new Synthetic();
        for (int i = 0; i < 10; i++)
        {
            base.add(RING, "avgt", "ns/op", Map.of("i", "" + i), 1000, 0.01, 0.01, 4, 3, random);
            cand.add(RING, "avgt", "ns/op", Map.of("i", "" + i), 2000, 0.01, 0.01, 4, 3, random);
        }
        final Gate.Report report = compare(base.results(), cand.results(), NormalizationRules.NONE);
        assertFalse(report.regressed());
        assertTrue(report.warnings().stream().anyMatch(w -> w.contains("no change can be called significant")),
            report.warnings().toString());
    }

    @Test
    void benchmarksInOneFileOnlyAreReportedNotFailed()
    {
        final Map<String, JmhResult> base = run(1, 1000, 500, "avgt");
        final SplittableRandom random = new SplittableRandom(3);
        final Map<String, JmhResult> cand = new Synthetic()
            .add(RING, "avgt", "ns/op", Map.of("shape", "chain128"), 1000, 0.02, 0.01, 6, 4, random)
            .add(RING, "avgt", "ns/op", Map.of("shape", "new"), 1000, 0.02, 0.01, 6, 4, random)
            .add(REF, "avgt", "ns/op", Map.of(), 500, 0.02, 0.01, 6, 4, random)
            .results();
        final Gate.Report report = compare(base, cand, RULES);
        assertEquals(2, report.count(Verdict.MISSING));
        assertEquals("only in the baseline", row(report, "single128").note());
        assertEquals("only in the candidate", row(report, "shape=new").note());
        assertFalse(report.regressed());
        assertEquals(2, report.warnings().size(), report.warnings().toString());
    }

    @Test
    void aMissingOrAmbiguousReferenceIsAnErrorThatSaysWhat()
    {
        final Map<String, JmhResult> base = run(1, 1000, 500, "avgt");
        final Map<String, JmhResult> noRef = Synthetic.scaled(base, "x", 1);
        noRef.remove(REF + " avgt");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> compare(base, noRef, RULES));
        assertTrue(ex.getMessage().contains("matches nothing in the candidate"), ex.getMessage());
        final NormalizationRules ambiguous = NormalizationRules.parse("normalize chain128 by vqdma\\.bench\n", "t");
        final IllegalArgumentException ex2 = assertThrows(IllegalArgumentException.class,
            () -> compare(base, base, ambiguous));
        assertTrue(ex2.getMessage().contains("it must match exactly one benchmark"), ex2.getMessage());
    }

    @Test
    void unitsAreConvertedBeforeComparing()
    {
        final SplittableRandom random = new SplittableRandom(4);
        final Map<String, JmhResult> base = new Synthetic()
            .add(RING, "avgt", "ns/op", Map.of(), 1000, 0.01, 0.01, 6, 4, random).results();
        final Map<String, JmhResult> cand = new Synthetic()
            .add(RING, "avgt", "us/op", Map.of(), 1.0, 0.01, 0.01, 6, 4, random).results();
        final Comparison c = compare(base, cand, NormalizationRules.NONE).rows().get(0);
        assertEquals(1.0, c.ratio(), 0.02);
        assertEquals(1000, c.candidateLevel(), 20, "levels in the baseline's unit");
        assertEquals(Verdict.UNCHANGED, c.verdict());
    }

    @Test
    void configurationFileSyntax()
    {
        final NormalizationRules rules = NormalizationRules.parse(String.join("\n",
            "# comment", "", "run vqdma.bench.ref -p x=1   # measured by the script", "normalize ring by ref\\.compute",
            "  normalize  .*  by  ref\\.memcpy  # fallback"), "gate.conf");
        assertEquals(2, rules.rules().size());
        assertEquals("ref\\.compute", rules.ruleFor("a.ring.B.m").reference().pattern(), "first match wins");
        assertEquals("ref\\.memcpy", rules.ruleFor("other").reference().pattern());
        assertEquals("gate.conf:4", rules.ruleFor("a.ring.B.m").origin());
        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> NormalizationRules.parse("normalize ring with ref", "f"));
        assertTrue(bad.getMessage().startsWith("f:1: expected 'normalize"), bad.getMessage());
        final IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> NormalizationRules.parse("\nnormalise a by b", "f"));
        assertTrue(unknown.getMessage().startsWith("f:2: unknown directive 'normalise' (expected run, normalize, " +
            "metric, fork-statistic, reference, level, slower-only or threshold)"), unknown.getMessage());
        assertEquals("RoundTrip", GateConfig.parse("slower-only RoundTrip\n", "f").slowerOnly().get(0).pattern());
        assertThrows(IllegalArgumentException.class, () -> GateConfig.parse("slower-only\n", "f"));
        assertEquals("Ref\\.memcpy",
            GateConfig.parse("reference Ref\\.memcpy\n", "f").references().get(0).pattern());
        assertEquals(Stats.ForkStatistic.MIN, GateConfig.parse("fork-statistic min\n", "f").forkStatistic());
        assertEquals(Stats.Level.FAST_QUARTILE, GateConfig.parse("level fast-quartile\n", "f").level());
        assertThrows(IllegalArgumentException.class, () -> GateConfig.parse("level fastest\n", "f"));
        assertNull(GateConfig.parse("run x\n", "f").forkStatistic(), "not said: the command line's default");
        assertThrows(IllegalArgumentException.class, () -> GateConfig.parse("fork-statistic mode\n", "f"));
        final IllegalArgumentException regex = assertThrows(IllegalArgumentException.class,
            () -> NormalizationRules.parse("normalize ring( by ref", "f"));
        assertTrue(regex.getMessage().contains("bad regex 'ring('"), regex.getMessage());
        assertNull(GateConfig.parse("run x\nnormalize a by b\n", "f").metric(), "primary by default");
        assertEquals("cpu.time.norm", GateConfig.parse("metric cpu.time.norm\n", "f").metric());
        assertNull(GateConfig.parse("metric cpu.time.norm\nmetric primary\n", "f").metric(), "the last one wins");
        assertThrows(IllegalArgumentException.class, () -> GateConfig.parse("metric\n", "f"));
        final GateConfig thresholds = GateConfig.parse("threshold 6\nthreshold swiotlb 8\nthreshold .* 3.5\n", "f");
        assertEquals(0.06, thresholds.threshold(), 1e-12);
        assertEquals(2, thresholds.thresholds().size());
        assertEquals("swiotlb", thresholds.thresholds().get(0).benchmark().pattern());
        assertEquals(0.08, thresholds.thresholds().get(0).threshold(), 1e-12);
        assertEquals("f:2", thresholds.thresholds().get(0).origin());
        assertNull(GateConfig.parse("run x\n", "f").threshold(), "not said: the command line's default");
        for (final String line : List.of("threshold\n", "threshold 0\n", "threshold 100\n", "threshold x y\n",
            "threshold a 8 b\n", "threshold ring( 8\n", "threshold 5%\n"))
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GateConfig.parse(line, "f"), line);
            assertTrue(e.getMessage().startsWith("f:1: "), e.getMessage());
        }
        assertEquals("x\\{a=b", NormalizationRules.parseOption("x\\{a=b=ref").benchmarks().pattern(),
            "the last '=' separates");
        assertThrows(IllegalArgumentException.class, () -> NormalizationRules.parseOption("noequals"));
    }

    @Test
    void commandLineExitCodesAndMarkdown(@TempDir final Path dir) throws Exception
    {
        final Path base = dir.resolve("base.json");
        final Path same = dir.resolve("same.json");
        final Path slow = dir.resolve("slow.json");
        final Path conf = dir.resolve("gate.conf");
        final Path md = dir.resolve("summary.md");
        Files.writeString(base, JmhResults.toJson(List.copyOf(run(1, 1000, 500, "avgt").values())));
        Files.writeString(same, JmhResults.toJson(List.copyOf(run(2, 1000, 500, "avgt").values())));
        Files.writeString(slow, JmhResults.toJson(List.copyOf(run(2, 1200, 500, "avgt").values())));
        Files.writeString(conf, "normalize vqdma\\.bench\\.ring\\. by ReferenceBenchmark\\.compute\n");

        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        assertEquals(0, GateMain.run(new PrintWriter(out), new PrintWriter(err), "compare", base.toString(),
            same.toString(), "--config", conf.toString()), err.toString());
        assertTrue(out.toString().contains("gate: regressed=0 improved=0 unchanged=2 inconclusive=0 reference=1 " +
            "missing=0"), out.toString());

        final StringWriter out2 = new StringWriter();
        assertEquals(GateMain.EXIT_REGRESSED, GateMain.run(new PrintWriter(out2), new PrintWriter(err), "compare",
            base.toString(), slow.toString(), "--config", conf.toString(), "--markdown", md.toString()));
        assertTrue(out2.toString().contains("| **regressed** |"), out2.toString());
        assertTrue(out2.toString().contains("**FAILED**: 2 benchmark(s) regressed by more than 5%"), out2.toString());
        assertTrue(Files.readString(md).contains("RingCycleBenchmark.cycle{shape=chain128}"), "markdown appended");

        assertEquals(0, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err), "compare",
            base.toString(), slow.toString(), "--config", conf.toString(), "--report-only"), "report only");
        assertEquals(0, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err), "compare",
            base.toString(), slow.toString(), "--config", conf.toString(), "--threshold", "25"),
            "a 17% slowdown under a 25% threshold");
        final Path confOwn = dir.resolve("own.conf");
        Files.writeString(confOwn, "normalize vqdma\\.bench\\.ring\\. by ReferenceBenchmark\\.compute\n" +
            "threshold 25\nthreshold single128 10\n");
        final StringWriter out3 = new StringWriter();
        assertEquals(GateMain.EXIT_REGRESSED, GateMain.run(new PrintWriter(out3), new PrintWriter(err), "compare",
            base.toString(), slow.toString(), "--config", confOwn.toString()), out3.toString());
        assertTrue(out3.toString().contains("gate: regressed=1 "), "single128 by its own 10%, chain128 by the " +
            "file's 25%: " + out3);
        final StringWriter out4 = new StringWriter();
        assertEquals(GateMain.EXIT_REGRESSED, GateMain.run(new PrintWriter(out4), new PrintWriter(err),
            "compare", base.toString(), slow.toString(), "--config", confOwn.toString(), "--threshold", "5"));
        assertTrue(out4.toString().contains("gate: regressed=2 "), "--threshold overrides the file's default: " + out4);

        final StringWriter err2 = new StringWriter();
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err2),
            "compare", base.toString(), dir.resolve("nope.json").toString()));
        assertTrue(err2.toString().contains("no such file"), err2.toString());
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err2),
            "compare", base.toString(), same.toString(), "--threshold", "0"));
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err2),
            "compare", base.toString()), "missing an argument is a usage error");
        assertEquals(GateMain.EXIT_ERROR, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err2)));

        final Path merged = dir.resolve("merged.json");
        assertEquals(0, GateMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err2), "merge", "-o",
            merged.toString(), base.toString(), same.toString()));
        assertEquals(12, GateInput.read(merged, null).get(REF + " avgt").primary().forkCount());
    }

    @Test
    void runLinesTellWhichResultsAreGated()
    {
        final GateConfig config = GateConfig.parse(String.join("\n",
            "run vqdma.bench.ref.ReferenceBenchmark",
            "run vqdma.bench.ring.RingCycleBenchmark.cycle -p shape=chain128,single128 -p dma=bypass",
            "normalize vqdma\\.bench\\.ring\\. by ReferenceBenchmark\\.compute"), "gate.conf");
        assertEquals(2, config.selections().size());
        final Map<String, JmhResult> results = new Synthetic()
            .add(RING, "avgt", "ns/op", Map.of("shape", "chain128", "dma", "bypass"), 10, 0, 0, 1, 1,
                new SplittableRandom(1))
            .add(RING, "avgt", "ns/op", Map.of("shape", "chain128", "dma", "direct"), 10, 0, 0, 1, 1,
                new SplittableRandom(1))
            .add(RING + "X", "avgt", "ns/op", Map.of("shape", "single128", "dma", "bypass"), 10, 0, 0, 1, 1,
                new SplittableRandom(1))
            .add(REF, "avgt", "ns/op", Map.of(), 10, 0, 0, 1, 1, new SplittableRandom(1))
            .add("vqdma.bench.dma.D.m", "avgt", "ns/op", Map.of(), 10, 0, 0, 1, 1, new SplittableRandom(1))
            .results();
        final List<String> gated = results.values().stream().filter(config::gates).map(JmhResult::displayKey)
            .toList();
        assertEquals(List.of(RING + "{dma=bypass,shape=chain128}", RING + "X{dma=bypass,shape=single128}"), gated,
            "-p values select, the regex is searched as JMH does, references are not gated");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> GateConfig.parse("run x -p shape\n", "f"));
        assertTrue(ex.getMessage().contains("f:1: expected '-p NAME=VALUE"), ex.getMessage());
    }

    static Comparison row(final Gate.Report report, final String keyPart)
    {
        return report.rows().stream().filter(r -> r.key().contains(keyPart)).findFirst()
            .orElseThrow(() -> new AssertionError("no row with " + keyPart + " in " + report.rows()));
    }
}
