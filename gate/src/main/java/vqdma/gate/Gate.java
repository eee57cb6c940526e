package vqdma.gate;

import vqdma.results.JmhResult;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The perf-regression gate: compares a candidate JMH run with a baseline run, benchmark by benchmark.
 *
 * <h2>Direction</h2>
 * Every ratio is a speed ratio, candidate over baseline: above 1 the candidate is faster. For throughput
 * ({@code thrpt}) that is candidate score / baseline score; for the time-per-op modes ({@code avgt}, {@code sample},
 * {@code ss}) it is baseline time / candidate time.
 *
 * <h2>Statistics</h2>
 * The fork is the unit of independence (see {@link Stats}). For each benchmark:
 * <ol>
 *   <li>the point estimate is the ratio of the two sides' levels (the median over forks of each fork's value: the
 *   median of its iterations, or its fastest iteration, see {@link Stats.ForkStatistic}), divided by the same ratio
 *   of the reference benchmark when a normalization rule applies;</li>
 *   <li>its confidence interval is the percentile interval of a two-stage bootstrap (forks, then iterations), the
 *   reference resampled too;</li>
 *   <li>significance is a Mann-Whitney U test on the fork values, or, with {@link Stats.Level#FAST_QUARTILE}, a
 *   permutation test of the fast quartile; a normalized benchmark is always tested by permutation of its normalized
 *   forks, with the reference's forks (centred on their side's level) relabelled too, so that the test, like the
 *   interval, carries the reference level's own uncertainty
 *   ({@link Stats#permutationPs(double[], double[], double[], double[], Stats.Level, int, long)}). Each
 *   is asked two one-sided questions ({@link Stats.Tail}): "is the candidate slower?" and "is it faster?"; the
 *   p-values of each question are adjusted with Holm-Bonferroni across all the benchmarks compared.</li>
 * </ol>
 * One-sided because the gate fails on "slower" only: the chance of a false "regressed" anywhere in the table is at
 * most alpha, and so, separately, is that of a false "improved". A two-sided test spends half of alpha on the
 * direction that cannot fail the gate; with 8 forks a side and 9 cells under Holm that halved the power to see a
 * 10% slowdown (docs/gate.md, the layer-by-layer self-test).
 * Holm rather than Benjamini-Hochberg: the gate fails a merge on a single "regressed", so the error to bound is the
 * chance of any false alarm in the whole table (family-wise error rate), which Holm bounds at alpha under any
 * dependence between benchmarks; BH bounds the expected share of false alarms among the alarms, which suits
 * exploratory screening, not a pass/fail gate.
 *
 * <h2>Verdicts</h2>
 * With threshold t (default 5%; a cell can have its own, {@link CellThreshold}):
 * <ul>
 *   <li>regressed: the adjusted p of "slower" below alpha and the ratio at most 1 - t;</li>
 *   <li>improved: the adjusted p of "faster" below alpha and the ratio at least 1 + t;</li>
 *   <li>unchanged: the whole interval within [1 - t, 1 + t];</li>
 *   <li>inconclusive: anything else, and any benchmark with fewer than {@code minForks} forks on a side.</li>
 * </ul>
 * A regression thus needs a rank test across independent forks that survives the correction and a practically
 * relevant size; only regressions fail the gate. The interval decides "unchanged" (equivalence within the threshold)
 * and tells how precise the ratio is; it is not a second significance test: with forks in a few JIT/layout modes (as
 * RingCycleBenchmark has) the bootstrap of a median of 8 forks jumps between modes, and requiring it too only cost
 * power without preventing any false alarm in the recorded A/A runs.
 */
public final class Gate
{
    /**
     * A threshold of its own for some benchmarks ({@code threshold REGEX PERCENT} in gate.conf): for cells whose
     * level drifts with the machine by more than the default threshold even when the code does not change.
     *
     * @param benchmark the regex, searched in a benchmark's key with parameters.
     * @param threshold the minimum effect size as a fraction, in (0, 1).
     * @param origin    where it was declared (file:line), for messages.
     */
    public record CellThreshold(Pattern benchmark, double threshold, String origin)
    {
        /** Checks the threshold. */
        public CellThreshold
        {
            if (!(threshold > 0 && threshold < 1))
            {
                throw new IllegalArgumentException(origin + ": threshold " + threshold * 100 +
                    "%: expected a percentage in (0, 100)");
            }
        }
    }

    /** The gate's settings; the defaults are the documented ones. */
    public static final class Options
    {
        double threshold = 0.05;
        List<CellThreshold> thresholds = List.of();
        double alpha = 0.05;
        double confidence = 0.95;
        int replicates = 10_000;
        long seed = 1;
        int minForks = 3;
        Stats.ForkStatistic forkStatistic = Stats.ForkStatistic.MEDIAN;
        NormalizationRules rules = NormalizationRules.NONE;
        List<Pattern> references = List.of();
        List<Pattern> slowerOnly = List.of();
        Stats.Level level = Stats.Level.MEDIAN;

        /**
         * @param level how a side's fork values become its level (and which test goes with it).
         * @return this.
         */
        public Options level(final Stats.Level level)
        {
            this.level = level;
            return this;
        }

        /** @return how a side's fork values become its level. */
        public Stats.Level level()
        {
            return level;
        }

        /**
         * @param references regexes of benchmarks that are references (reported as the machine's speed ratio, never
         *                   gated) even where no normalization rule uses them.
         * @return this.
         */
        public Options references(final List<Pattern> references)
        {
            this.references = List.copyOf(references);
            return this;
        }

        /**
         * @param slowerOnly regexes of benchmarks (searched in the key with parameters) that are asked only "is the
         *                   candidate slower?": they never get {@link Verdict#IMPROVED} and stay out of the "faster"
         *                   question's Holm correction. For a metric that a busy machine can lower but not raise, so
         *                   that a lower value is no evidence of faster code (gate.conf says which, and why).
         * @return this.
         */
        public Options slowerOnly(final List<Pattern> slowerOnly)
        {
            this.slowerOnly = List.copyOf(slowerOnly);
            return this;
        }

        /**
         * @param key a benchmark's key with parameters.
         * @return whether it is asked "slower?" only.
         */
        boolean isSlowerOnly(final String key)
        {
            return slowerOnly.stream().anyMatch(p -> p.matcher(key).find());
        }

        /**
         * @param forkStatistic how a fork's iterations become its value.
         * @return this.
         */
        public Options forkStatistic(final Stats.ForkStatistic forkStatistic)
        {
            this.forkStatistic = forkStatistic;
            return this;
        }

        /** @return how a fork's iterations become its value. */
        public Stats.ForkStatistic forkStatistic()
        {
            return forkStatistic;
        }

        /**
         * @param threshold the minimum effect size as a fraction (0.05 = 5%), in (0, 1).
         * @return this.
         */
        public Options threshold(final double threshold)
        {
            if (!(threshold > 0 && threshold < 1))
            {
                throw new IllegalArgumentException("threshold=" + threshold + ": expected a fraction in (0, 1)");
            }
            this.threshold = threshold;
            return this;
        }

        /**
         * @param thresholds thresholds of their own for the benchmarks whose key (with parameters) a line's regex
         *                   finds, the first match winning; any other benchmark has {@link #threshold(double)}.
         * @return this.
         */
        public Options thresholds(final List<CellThreshold> thresholds)
        {
            this.thresholds = List.copyOf(thresholds);
            return this;
        }

        /** @return the thresholds of their own, in the order they are tried. */
        public List<CellThreshold> thresholds()
        {
            return thresholds;
        }

        /**
         * @param key a benchmark's key with parameters.
         * @return its threshold: that of the first {@link CellThreshold} whose regex finds the key, else the default.
         */
        public double thresholdFor(final String key)
        {
            for (final CellThreshold t : thresholds)
            {
                if (t.benchmark().matcher(key).find())
                {
                    return t.threshold();
                }
            }
            return threshold;
        }

        /**
         * @param alpha the family-wise significance level, in (0, 1).
         * @return this.
         */
        public Options alpha(final double alpha)
        {
            if (!(alpha > 0 && alpha < 1))
            {
                throw new IllegalArgumentException("alpha=" + alpha + ": expected a value in (0, 1)");
            }
            this.alpha = alpha;
            return this;
        }

        /**
         * @param confidence the confidence level of the intervals, in (0, 1).
         * @return this.
         */
        public Options confidence(final double confidence)
        {
            if (!(confidence > 0 && confidence < 1))
            {
                throw new IllegalArgumentException("confidence=" + confidence + ": expected a value in (0, 1)");
            }
            this.confidence = confidence;
            return this;
        }

        /**
         * @param replicates bootstrap replicates, at least 100.
         * @return this.
         */
        public Options replicates(final int replicates)
        {
            if (replicates < 100)
            {
                throw new IllegalArgumentException("replicates=" + replicates + ": need at least 100");
            }
            this.replicates = replicates;
            return this;
        }

        /**
         * @param seed the bootstrap's seed (the same inputs and seed give the same report).
         * @return this.
         */
        public Options seed(final long seed)
        {
            this.seed = seed;
            return this;
        }

        /**
         * @param minForks the fewest forks a side may have for a verdict other than inconclusive, at least 2.
         * @return this.
         */
        public Options minForks(final int minForks)
        {
            if (minForks < 2)
            {
                throw new IllegalArgumentException("minForks=" + minForks + ": need at least 2");
            }
            this.minForks = minForks;
            return this;
        }

        /**
         * @param rules the normalization rules.
         * @return this.
         */
        public Options rules(final NormalizationRules rules)
        {
            this.rules = rules;
            return this;
        }

        /** @return the minimum effect size as a fraction. */
        public double threshold()
        {
            return threshold;
        }

        /** @return the family-wise significance level. */
        public double alpha()
        {
            return alpha;
        }

        /** @return the confidence level of the intervals. */
        public double confidence()
        {
            return confidence;
        }
    }

    /**
     * The outcome of one comparison.
     *
     * @param rows     one per benchmark: the baseline's order, then the candidate's new ones.
     * @param warnings things the user should know (too few forks for any significance, missing benchmarks).
     * @param options  the settings used.
     * @param tested   how many benchmarks entered the Holm correction.
     */
    public record Report(List<Comparison> rows, List<String> warnings, Options options, int tested)
    {
        /** @return whether any benchmark regressed (the gate fails). */
        public boolean regressed()
        {
            return count(Verdict.REGRESSED) > 0;
        }

        /**
         * @param verdict a verdict.
         * @return how many rows have it.
         */
        public long count(final Verdict verdict)
        {
            return rows.stream().filter(r -> r.verdict() == verdict).count();
        }

        /** @return one line for scripts: {@code gate: regressed=0 improved=0 unchanged=3 ...}. */
        public String summaryLine()
        {
            final StringBuilder sb = new StringBuilder("gate:");
            for (final Verdict v : Verdict.values())
            {
                sb.append(' ').append(v.label()).append('=').append(count(v));
            }
            return sb.toString();
        }
    }

    private Gate()
    {
    }

    /**
     * @param baseline  the baseline run's results, by {@link JmhResult#key()}, each with the metric to compare as its
     *                  primary one and raw samples checked ({@link GateInput}).
     * @param candidate the candidate run's results, the same way.
     * @param options   the settings.
     * @return the report.
     * @throws IllegalArgumentException when a rule's reference is missing or ambiguous in a file that has a benchmark
     *                                  it normalizes, or when units cannot be compared.
     */
    public static Report compare(
        final Map<String, JmhResult> baseline,
        final Map<String, JmhResult> candidate,
        final Options options)
    {
        final List<String> warnings = new ArrayList<>();
        final Set<String> identities = new LinkedHashSet<>(baseline.keySet());
        identities.addAll(candidate.keySet());

        // Which results serve as references: anything a rule's reference regex picks in either file, and anything
        // declared a reference outright.
        final Set<String> referenceIdentities = new LinkedHashSet<>();
        for (final Pattern declared : options.references)
        {
            for (final Map<String, JmhResult> side : List.of(baseline, candidate))
            {
                side.values().stream().filter(r -> declared.matcher(r.displayKey()).find())
                    .forEach(r -> referenceIdentities.add(r.key()));
            }
        }
        for (final NormalizationRules.Rule rule : options.rules.rules())
        {
            for (final Map<String, JmhResult> side : List.of(baseline, candidate))
            {
                final List<JmhResult> matches = side.values().stream()
                    .filter(r -> rule.reference().matcher(r.displayKey()).find())
                    .collect(Collectors.toList());
                if (matches.size() > 1)
                {
                    throw new IllegalArgumentException(rule.origin() + ": the reference /" + rule.reference().pattern() +
                        "/ matches " + matches.stream().map(JmhResult::key).collect(Collectors.joining(", ")) +
                        " in the " + (side == baseline ? "baseline" : "candidate") +
                        "; it must match exactly one benchmark");
                }
                matches.forEach(r -> referenceIdentities.add(r.key()));
            }
        }

        final List<Comparison> rows = new ArrayList<>();
        final List<Integer> testedRows = new ArrayList<>();
        int index = 0;
        for (final String identity : identities)
        {
            final JmhResult base = baseline.get(identity);
            final JmhResult cand = candidate.get(identity);
            final JmhResult any = base != null ? base : cand;
            if (base == null || cand == null)
            {
                final String where = base == null ? "candidate" : "baseline";
                rows.add(new Comparison(any.displayKey(), any.mode(), any.primary().unit(),
                    base == null ? Double.NaN : Stats.level(base.primary().samples()),
                    cand == null ? Double.NaN : Stats.level(cand.primary().samples()),
                    base == null ? 0 : base.primary().forkCount(), cand == null ? 0 : cand.primary().forkCount(),
                    Double.NaN, Double.NaN, Double.NaN, Double.NaN, null, Double.NaN, Double.NaN, Double.NaN,
                    Verdict.MISSING,
                    "only in the " + where));
                warnings.add(any.displayKey() + " (" + any.mode() + ") is only in the " + where + ": not compared");
                index++;
                continue;
            }
            final boolean isReference = referenceIdentities.contains(identity);
            final NormalizationRules.Rule rule = isReference ? null : options.rules.ruleFor(base.displayKey());
            JmhResult refBase = null;
            JmhResult refCand = null;
            if (rule != null)
            {
                refBase = resolve(rule, baseline, "baseline", base);
                refCand = resolve(rule, candidate, "candidate", base);
            }
            final Comparison row = measure(base, cand, refBase, refCand, isReference, options);
            rows.add(row);
            if (!isReference && row.tested())
            {
                testedRows.add(index);
            }
            index++;
        }

        // Holm across the benchmarks that were tested, each direction on its own (a slower-only benchmark is not
        // asked the other one: NaN, outside that family), then the verdicts.
        final double[] slower = new double[testedRows.size()];
        final double[] faster = new double[testedRows.size()];
        for (int i = 0; i < slower.length; i++)
        {
            final Comparison row = rows.get(testedRows.get(i));
            slower[i] = row.pSlower();
            faster[i] = options.isSlowerOnly(row.key()) ? Double.NaN : row.pFaster();
        }
        final double[] slowerAdjusted = Stats.holm(slower);
        final double[] fasterAdjusted = Stats.holm(faster);
        for (int i = 0; i < slower.length; i++)
        {
            final int row = testedRows.get(i);
            rows.set(row, verdict(rows.get(row), slowerAdjusted[i], fasterAdjusted[i], options));
        }
        if (!testedRows.isEmpty() && options.level == Stats.Level.MEDIAN)
        {
            int fewest = Integer.MAX_VALUE;
            int fewestOther = Integer.MAX_VALUE;
            for (final int row : testedRows)
            {
                fewest = Math.min(fewest, rows.get(row).baselineForks());
                fewestOther = Math.min(fewestOther, rows.get(row).candidateForks());
            }
            final double best = Stats.mannWhitneyMinP(fewest, fewestOther) / 2 * testedRows.size();
            if (best >= options.alpha)
            {
                warnings.add(String.format("with %d and %d forks and %d benchmarks tested, even complete separation " +
                    "gives a Holm-adjusted p of %.3f >= alpha %.3f: no change can be called significant; run more " +
                    "forks", fewest, fewestOther, testedRows.size(), best, options.alpha));
            }
        }
        return new Report(Collections.unmodifiableList(rows), Collections.unmodifiableList(warnings), options,
            testedRows.size());
    }

    private static JmhResult resolve(
        final NormalizationRules.Rule rule,
        final Map<String, JmhResult> side,
        final String sideName,
        final JmhResult normalized)
    {
        final Pattern reference = rule.reference();
        final List<JmhResult> matches = side.values().stream()
            .filter(r -> reference.matcher(r.displayKey()).find())
            .collect(Collectors.toList());
        if (matches.size() != 1)
        {
            throw new IllegalArgumentException(rule.origin() + ": " + normalized.displayKey() + " is normalized by /" +
                reference.pattern() + "/, which matches " + (matches.isEmpty() ? "nothing" :
                matches.stream().map(JmhResult::key).collect(Collectors.joining(", "))) + " in the " + sideName +
                "; it must match exactly one benchmark (run the reference in the same run, or use --no-normalize)");
        }
        return matches.get(0);
    }

    private static Comparison measure(
        final JmhResult base,
        final JmhResult cand,
        final JmhResult refBase,
        final JmhResult refCand,
        final boolean isReference,
        final Options options)
    {
        final String unit = base.primary().unit();
        final double[][] baseSpeeds = base.speeds(null);
        final double[][] candSpeeds = cand.speeds(unit);
        final double[][] refBaseSpeeds = refBase == null ? null : refBase.speeds(null);
        final double[][] refCandSpeeds = refCand == null ? null : refCand.speeds(refBase.primary().unit());
        final Stats.ForkStatistic stat = options.forkStatistic;
        final Stats.Level level = options.level;
        final double baseSpeed = Stats.level(Stats.forkValues(baseSpeeds, stat), level);
        final double candSpeed = Stats.level(Stats.forkValues(candSpeeds, stat), level);
        final double rawRatio = candSpeed / baseSpeed;
        final double machineRatio = refBase == null ? 1.0 :
            Stats.level(refCandSpeeds, stat) / Stats.level(refBaseSpeeds, stat);
        final double ratio = rawRatio / machineRatio;
        // One seed per benchmark, derived from its key: reports do not change when benchmarks are added or removed.
        final long seed = options.seed * 0x9E3779B97F4A7C15L + base.key().hashCode();
        final double[] replicates = Stats.bootstrapRatios(baseSpeeds, candSpeeds, refBaseSpeeds, refCandSpeeds,
            options.replicates, seed, stat, level);
        final double[] ci = Stats.percentileInterval(replicates, options.confidence);
        // Levels back in the baseline's unit (a speed inverted for time-per-op units).
        final boolean higher = base.higherIsBetter();
        final double baseLevel = higher ? baseSpeed : 1.0 / baseSpeed;
        final double candLevel = higher ? candSpeed : 1.0 / candSpeed;
        final String reference = refBase == null ? null : refBase.displayKey();

        double pSlower = Double.NaN;
        double pFaster = Double.NaN;
        String note = "";
        if (isReference)
        {
            note = "machine speed ratio between the runs";
        }
        else if (base.primary().forkCount() < options.minForks || cand.primary().forkCount() < options.minForks)
        {
            note = "fewer than " + options.minForks + " forks on a side (" + base.primary().forkCount() + "/" +
                cand.primary().forkCount() + "): no test";
        }
        else
        {
            final double[] baseForks = Stats.forkValues(baseSpeeds, stat);
            final double[] candForks = Stats.forkValues(candSpeeds, stat);
            if (refBase != null)
            {
                // The reference's centred forks are relabelled too: the test carries the reference level's
                // uncertainty (Stats.permutationPs). Mann-Whitney cannot, so a normalized cell is tested this way
                // at any level.
                final double[] ps = Stats.permutationPs(baseForks, candForks, Stats.forkValues(refBaseSpeeds, stat),
                    Stats.forkValues(refCandSpeeds, stat), level, options.replicates, seed);
                pSlower = ps[Stats.Tail.SLOWER.ordinal()];
                pFaster = ps[Stats.Tail.FASTER.ordinal()];
            }
            else if (level == Stats.Level.MEDIAN)
            {
                pSlower = Stats.mannWhitneyP(baseForks, candForks, Stats.Tail.SLOWER);
                pFaster = Stats.mannWhitneyP(baseForks, candForks, Stats.Tail.FASTER);
            }
            else
            {
                // Both questions from the same relabellings, counted once.
                final double[] ps = Stats.permutationPs(baseForks, candForks, level, options.replicates, seed);
                pSlower = ps[Stats.Tail.SLOWER.ordinal()];
                pFaster = ps[Stats.Tail.FASTER.ordinal()];
            }
        }
        final Verdict verdict = isReference ? Verdict.REFERENCE : Verdict.INCONCLUSIVE;
        return new Comparison(base.displayKey(), base.mode(), unit, baseLevel, candLevel, base.primary().forkCount(),
            cand.primary().forkCount(), rawRatio, ratio, ci[0], ci[1], reference, pSlower, pFaster, Double.NaN, verdict,
            note);
    }

    private static Comparison verdict(
        final Comparison row,
        final double slowerAdjusted,
        final double fasterAdjusted,
        final Options options)
    {
        final double t = options.thresholdFor(row.key());
        final Comparison judged = verdict(row, slowerAdjusted, fasterAdjusted, options, t);
        if (t == options.threshold)
        {
            return judged;
        }
        final String own = String.format(Locale.ROOT, "threshold %s (gate.conf)", MarkdownReport.percent(t));
        return judged.with(judged.verdict(), judged.note().isEmpty() ? own : judged.note() + "; " + own,
            judged.pAdjusted());
    }

    private static Comparison verdict(
        final Comparison row,
        final double slowerAdjusted,
        final double fasterAdjusted,
        final Options options,
        final double t)
    {
        if (row.ratio() >= 1 && Double.isNaN(fasterAdjusted))
        {
            // A slower-only benchmark leaning faster: not asked, so never improved.
            return row.ciLow() >= 1 - t && row.ciHigh() <= 1 + t ? row.with(Verdict.UNCHANGED, "", Double.NaN) :
                row.with(Verdict.INCONCLUSIVE, "not slower; faster is not asked of a slower-only cell (gate.conf)",
                    Double.NaN);
        }
        // The question the data lean towards; the other one's p-value is at least about 0.5.
        final double pAdjusted = row.ratio() < 1 ? slowerAdjusted : fasterAdjusted;
        final boolean significant = pAdjusted < options.alpha;
        if (significant && row.ratio() <= 1 - t)
        {
            return row.with(Verdict.REGRESSED, "", pAdjusted);
        }
        if (significant && row.ratio() >= 1 + t)
        {
            return row.with(Verdict.IMPROVED, "", pAdjusted);
        }
        if (row.ciLow() >= 1 - t && row.ciHigh() <= 1 + t)
        {
            return row.with(Verdict.UNCHANGED, "", pAdjusted);
        }
        final String note;
        if (significant)
        {
            note = row.ratio() < 1 ? "slower, but not by the threshold with confidence"
                : "faster, but not by the threshold with confidence";
        }
        else if (row.ratio() <= 1 - t || row.ratio() >= 1 + t)
        {
            note = "a change beyond the threshold, but not significant";
        }
        else
        {
            note = "interval wider than the threshold";
        }
        return row.with(Verdict.INCONCLUSIVE, note, pAdjusted);
    }

}
