package vqdma.gate;

import org.apache.commons.math3.stat.inference.MannWhitneyUTest;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;

/**
 * The gate's statistics, all on samples organised as forks (rows) of iterations (columns), with the fork as the unit
 * of independence.
 * <ul>
 *   <li>A fork's value is the median of its iterations (one slow iteration, a GC or a neighbour's burst, does not
 *   move it); a side's level is the median of its fork values (one fork that JIT-compiled differently does not move
 *   it).</li>
 *   <li>{@link #bootstrapRatios}: a two-stage (cluster) bootstrap of the ratio of levels: resample forks with
 *   replacement, then iterations within each drawn fork with replacement. Drawing forks first is what makes the
 *   interval as wide as the fork-to-fork spread; resampling the pooled iterations would pretend each iteration were
 *   independent and give intervals far too narrow.</li>
 *   <li>{@link #mannWhitneyP}: commons-math3's Mann-Whitney U test on the fork values (not on the iterations, for the
 *   same reason). Its p-value is the normal approximation without continuity correction; for 5 to 8 forks a side it
 *   is larger (more cautious) than the exact p-value in the tail that matters here. One-sided on request
 *   ({@link Tail}), as is {@link #permutationP}.</li>
 *   <li>{@link #holm}: Holm-Bonferroni adjusted p-values across the benchmarks of one comparison.</li>
 * </ul>
 */
public final class Stats
{
    /**
     * How a fork's iterations become the fork's one value.
     * <ul>
     *   <li>{@link #MEDIAN}: the default; robust to a few disturbed iterations either way.</li>
     *   <li>{@link #MIN}: the least disturbed iteration, for machines shared with other work, where disturbance only
     *   ever adds time (or CPU time: a neighbour evicts caches, it never warms them for the benchmark). The minimum
     *   is then the most robust estimate of the code's own cost (Chen and Revels, "Robust benchmarking in noisy
     *   environments", 2016, the basis of Julia's BenchmarkTools). Use many short iterations so that some are
     *   quiet. For scores where more is better (thrpt), "least disturbed" is the maximum: the statistic is applied
     *   to speeds, so MIN takes the fastest iteration in every mode.</li>
     * </ul>
     */
    public enum ForkStatistic
    {
        /** The median of the iterations. */
        MEDIAN,
        /** The fastest iteration. */
        MIN
    }

    /**
     * How a side's fork values become its level, and which test goes with it.
     * <ul>
     *   <li>{@link #MEDIAN}: the median fork; tested with Mann-Whitney U. The default.</li>
     *   <li>{@link #FAST_QUARTILE}: the fork faster than three quarters of the others (the 0.75 quantile of the
     *   speeds); tested with a permutation test of that same statistic. For benchmarks whose forks fall into a few
     *   JIT/layout modes, the slower ones being disturbance as much as a neighbour is (RingCycleBenchmark: a quarter
     *   to a third of forks 25-50% slower in CPU time), the fast quartile follows the code and not how many forks
     *   drew a slow mode. The permutation test is exact when the two sides' forks are exchangeable, which is the
     *   null hypothesis, whatever the shape of their distribution.</li>
     * </ul>
     */
    public enum Level
    {
        /** The median of the fork values (speed quantile 0.5). */
        MEDIAN(0.5),
        /** The 0.75 quantile of the fork speeds: the fast quartile. */
        FAST_QUARTILE(0.75);

        private final double quantile;

        Level(final double quantile)
        {
            this.quantile = quantile;
        }

        /** @return the quantile of the fork speeds that is the level. */
        public double quantile()
        {
            return quantile;
        }
    }

    private Stats()
    {
    }

    /**
     * @param forkValues one value per fork (speeds).
     * @param level      which quantile of them.
     * @return that quantile, linearly interpolated (for MEDIAN, the median).
     */
    public static double level(final double[] forkValues, final Level level)
    {
        final double[] sorted = forkValues.clone();
        Arrays.sort(sorted);
        return quantile(sorted, level.quantile());
    }

    /**
     * Which way a test looks. The gate fails only on "slower", so it asks each question one-sided: "is the candidate
     * slower?" for the regressed verdict and "is it faster?" for the improved one, each under its own Holm correction.
     * A one-sided p-value is half the two-sided one in the direction the data lean, so this doubles the gate's power
     * for the same chance of a false "regressed" (at most alpha).
     */
    public enum Tail
    {
        /** Away from 1 either way. */
        TWO_SIDED,
        /** The candidate (second sample) slower than the baseline. */
        SLOWER,
        /** The candidate faster. */
        FASTER
    }

    /**
     * A permutation test of the ratio of levels: how often relabelling the pooled fork values at random gives a ratio
     * at least as extreme (in log) as the observed one, in the direction {@code tail} names.
     *
     * @param x            fork values of the baseline (speeds), at least one.
     * @param y            fork values of the candidate.
     * @param level        the statistic.
     * @param permutations random relabellings (e.g. 10000).
     * @param seed         the random seed.
     * @param tail         which way.
     * @return the p-value, (count + 1) / (permutations + 1), so never 0.
     */
    public static double permutationP(
        final double[] x,
        final double[] y,
        final Level level,
        final int permutations,
        final long seed,
        final Tail tail)
    {
        return permutationPs(x, y, level, permutations, seed)[tail.ordinal()];
    }

    /**
     * {@link #permutationP(double[], double[], Level, int, long, Tail)} for every {@link Tail} from the same
     * relabellings, counted in one pass (the gate asks both one-sided questions of every benchmark).
     *
     * @param x            fork values of the baseline (speeds), at least one.
     * @param y            fork values of the candidate.
     * @param level        the statistic.
     * @param permutations random relabellings (e.g. 10000).
     * @param seed         the random seed.
     * @return the p-values, indexed by {@link Tail#ordinal()}.
     */
    public static double[] permutationPs(
        final double[] x,
        final double[] y,
        final Level level,
        final int permutations,
        final long seed)
    {
        return permutationPs(x, y, null, null, level, permutations, seed);
    }

    /**
     * The permutation test of a normalized ratio, carrying the reference's own uncertainty. Each side's fork values
     * are divided by that side's reference level (its median fork), as the ratio is; so are the reference's own forks,
     * which centres them on 1 on both sides. The statistic is the log ratio of the normalized levels; every
     * relabelling shuffles the normalized cell forks between the sides and, independently, the centred reference
     * forks, and subtracts the log ratio of the relabelled reference medians: the spread a reference level of that
     * many forks has by itself. Testing the normalized forks alone, as the gate did before, treats the reference level
     * as exact: with a reference noisier than the cell (memcpyCold's forks spread 5-9% against a SWIOTLB cell's 3%) a
     * side's reference level is an offset shared by all its forks, which the test took for a change of the code
     * (false "slower" in about a quarter of A/A trials at alpha 0.05, see StatsTest).
     * <p>
     * Centred, not raw: relabelling the raw forks of cell and reference would test "nothing changed" instead of
     * "the cell changed as much as the reference", and a machine uniformly slower on one side (what normalization is
     * for) would then hide any real change. Independently, not fork with fork of the same round: in the recorded gate
     * runs a reference fork's deviation did not predict that of the cell's fork in the same round (correlations
     * within a run from -0.7 to +0.9, no consistent sign), so pairing them would only add the reference's fork noise
     * to every cell fork.
     * <p>
     * Without a reference ({@code refX == null}) this is the plain test of {@link #permutationPs(double[], double[],
     * Level, int, long)}, with the same relabellings.
     *
     * @param x            fork values of the baseline (speeds, not normalized), at least one.
     * @param y            fork values of the candidate.
     * @param refX         fork values of the reference in the baseline, or null.
     * @param refY         fork values of the reference in the candidate (null when refX is).
     * @param level        the statistic of the cell (the reference's is always its median fork, as in
     *                     {@link #bootstrapRatios}).
     * @param permutations random relabellings (e.g. 10000).
     * @param seed         the random seed.
     * @return the p-values, indexed by {@link Tail#ordinal()}.
     */
    public static double[] permutationPs(
        final double[] x,
        final double[] y,
        final double[] refX,
        final double[] refY,
        final Level level,
        final int permutations,
        final long seed)
    {
        if ((refX == null) != (refY == null))
        {
            throw new IllegalArgumentException("a reference needs both its baseline and its candidate fork values");
        }
        final boolean normalized = refX != null;
        final double refLevelX = normalized ? median(refX) : 1.0;
        final double refLevelY = normalized ? median(refY) : 1.0;
        final double[] pooled = concat(divide(x, refLevelX), divide(y, refLevelY));
        final double[] refPooled = normalized ? concat(divide(refX, refLevelX), divide(refY, refLevelY)) : null;
        final double observed = Math.log(level(y, level) / refLevelY / (level(x, level) / refLevelX));
        final double[] a = new double[x.length];
        final double[] b = new double[y.length];
        final double[] ra = normalized ? new double[refX.length] : null;
        final double[] rb = normalized ? new double[refY.length] : null;
        final SplittableRandom random = new SplittableRandom(seed);
        final int[] atLeast = new int[Tail.values().length];
        for (int p = 0; p < permutations; p++)
        {
            shuffle(pooled, random);
            System.arraycopy(pooled, 0, a, 0, a.length);
            System.arraycopy(pooled, a.length, b, 0, b.length);
            double shuffled = Math.log(level(b, level) / level(a, level));
            if (normalized)
            {
                shuffle(refPooled, random);
                System.arraycopy(refPooled, 0, ra, 0, ra.length);
                System.arraycopy(refPooled, ra.length, rb, 0, rb.length);
                shuffled -= Math.log(median(rb) / median(ra));
            }
            if (Math.abs(shuffled) >= Math.abs(observed) - 1e-12)
            {
                atLeast[Tail.TWO_SIDED.ordinal()]++;
            }
            if (shuffled <= observed + 1e-12)
            {
                atLeast[Tail.SLOWER.ordinal()]++;
            }
            if (shuffled >= observed - 1e-12)
            {
                atLeast[Tail.FASTER.ordinal()]++;
            }
        }
        final double[] p = new double[atLeast.length];
        for (int t = 0; t < p.length; t++)
        {
            p[t] = (atLeast[t] + 1.0) / (permutations + 1.0);
        }
        return p;
    }

    /**
     * @param values values.
     * @param by     the divisor.
     * @return each value divided by it (a new array).
     */
    static double[] divide(final double[] values, final double by)
    {
        final double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++)
        {
            out[i] = values[i] / by;
        }
        return out;
    }

    private static double[] concat(final double[] x, final double[] y)
    {
        final double[] out = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }

    private static void shuffle(final double[] values, final SplittableRandom random)
    {
        for (int i = values.length - 1; i > 0; i--)
        {
            final int j = random.nextInt(i + 1);
            final double t = values[i];
            values[i] = values[j];
            values[j] = t;
        }
    }

    /**
     * The two-sided {@link #permutationP(double[], double[], Level, int, long, Tail)}.
     *
     * @param x            fork values of one side (speeds), at least one.
     * @param y            fork values of the other side.
     * @param level        the statistic.
     * @param permutations random relabellings (e.g. 10000).
     * @param seed         the random seed.
     * @return the p-value, never 0.
     */
    public static double permutationP(
        final double[] x,
        final double[] y,
        final Level level,
        final int permutations,
        final long seed)
    {
        return permutationP(x, y, level, permutations, seed, Tail.TWO_SIDED);
    }

    /**
     * @param values non-empty.
     * @return their median (the mean of the two middle values for an even count).
     */
    public static double median(final double[] values)
    {
        if (values.length == 0)
        {
            throw new IllegalArgumentException("median of no values");
        }
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int mid = sorted.length / 2;
        return (sorted.length & 1) == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /**
     * @param forks samples per fork.
     * @return the median of each fork's iterations.
     */
    public static double[] forkMedians(final double[][] forks)
    {
        final double[] medians = new double[forks.length];
        for (int f = 0; f < forks.length; f++)
        {
            medians[f] = median(forks[f]);
        }
        return medians;
    }

    /**
     * @param forks samples per fork.
     * @return the median of the fork medians: the level the gate compares.
     */
    public static double level(final double[][] forks)
    {
        return median(forkMedians(forks));
    }

    /**
     * @param speeds    speeds per fork (more is faster).
     * @param statistic how a fork's iterations become its value.
     * @return each fork's value: its median, or its fastest iteration (the largest speed).
     */
    public static double[] forkValues(final double[][] speeds, final ForkStatistic statistic)
    {
        final double[] values = new double[speeds.length];
        for (int f = 0; f < speeds.length; f++)
        {
            values[f] = forkValue(speeds[f], speeds[f].length, statistic);
        }
        return values;
    }

    /**
     * @param speeds    speeds per fork (more is faster).
     * @param statistic how a fork's iterations become its value.
     * @return the median of the fork values.
     */
    public static double level(final double[][] speeds, final ForkStatistic statistic)
    {
        return median(forkValues(speeds, statistic));
    }

    static double forkValue(final double[] speeds, final int n, final ForkStatistic statistic)
    {
        if (statistic == ForkStatistic.MIN)
        {
            double max = speeds[0];
            for (int i = 1; i < n; i++)
            {
                max = Math.max(max, speeds[i]);
            }
            return max;
        }
        final double[] copy = Arrays.copyOf(speeds, n);
        Arrays.sort(copy);
        final int mid = n / 2;
        return (n & 1) == 1 ? copy[mid] : (copy[mid - 1] + copy[mid]) / 2;
    }

    /**
     * The bootstrap distribution of {@code level(candidate) / level(baseline)}, divided by the same ratio of the
     * reference benchmark when one is given (each replicate resamples the reference independently, so its
     * uncertainty widens the interval as it should).
     *
     * @param baseline     speeds per fork of the baseline.
     * @param candidate    speeds per fork of the candidate.
     * @param refBaseline  speeds per fork of the reference in the baseline run, or {@code null}.
     * @param refCandidate speeds per fork of the reference in the candidate run, or {@code null}.
     * @param replicates   number of bootstrap replicates (e.g. 10000).
     * @param seed         the random seed: the same inputs and seed give the same interval.
     * @return the replicate ratios, sorted ascending.
     */
    public static double[] bootstrapRatios(
        final double[][] baseline,
        final double[][] candidate,
        final double[][] refBaseline,
        final double[][] refCandidate,
        final int replicates,
        final long seed)
    {
        return bootstrapRatios(baseline, candidate, refBaseline, refCandidate, replicates, seed, ForkStatistic.MEDIAN);
    }

    /**
     * As {@link #bootstrapRatios(double[][], double[][], double[][], double[][], int, long)}, with each fork's value
     * taken by {@code statistic} (the samples must then be speeds: more is faster).
     *
     * @param baseline     speeds per fork of the baseline.
     * @param candidate    speeds per fork of the candidate.
     * @param refBaseline  speeds per fork of the reference in the baseline run, or {@code null}.
     * @param refCandidate speeds per fork of the reference in the candidate run, or {@code null}.
     * @param replicates   number of bootstrap replicates.
     * @param seed         the random seed.
     * @param statistic    how a fork's iterations become its value.
     * @return the replicate ratios, sorted ascending.
     */
    public static double[] bootstrapRatios(
        final double[][] baseline,
        final double[][] candidate,
        final double[][] refBaseline,
        final double[][] refCandidate,
        final int replicates,
        final long seed,
        final ForkStatistic statistic)
    {
        return bootstrapRatios(baseline, candidate, refBaseline, refCandidate, replicates, seed, statistic,
            Level.MEDIAN);
    }

    /**
     * As above, with the side's level taken by {@code level} over the fork values.
     *
     * @param baseline     speeds per fork of the baseline.
     * @param candidate    speeds per fork of the candidate.
     * @param refBaseline  speeds per fork of the reference in the baseline run, or {@code null}.
     * @param refCandidate speeds per fork of the reference in the candidate run, or {@code null}.
     * @param replicates   number of bootstrap replicates.
     * @param seed         the random seed.
     * @param statistic    how a fork's iterations become its value.
     * @param level        how a side's fork values become its level.
     * @return the replicate ratios, sorted ascending.
     */
    public static double[] bootstrapRatios(
        final double[][] baseline,
        final double[][] candidate,
        final double[][] refBaseline,
        final double[][] refCandidate,
        final int replicates,
        final long seed,
        final ForkStatistic statistic,
        final Level level)
    {
        if (replicates < 1)
        {
            throw new IllegalArgumentException("replicates=" + replicates + ": need at least 1");
        }
        if ((refBaseline == null) != (refCandidate == null))
        {
            throw new IllegalArgumentException("a reference needs both its baseline and its candidate samples");
        }
        final SplittableRandom random = new SplittableRandom(seed);
        final Resampler base = new Resampler(baseline, statistic, level);
        final Resampler cand = new Resampler(candidate, statistic, level);
        // The reference's level is always its median fork: it is a yardstick, not the code under test.
        final Resampler refBase = refBaseline == null ? null : new Resampler(refBaseline, statistic, Level.MEDIAN);
        final Resampler refCand = refCandidate == null ? null : new Resampler(refCandidate, statistic, Level.MEDIAN);
        final double[] ratios = new double[replicates];
        for (int r = 0; r < replicates; r++)
        {
            double ratio = cand.level(random) / base.level(random);
            if (refBase != null)
            {
                ratio /= refCand.level(random) / refBase.level(random);
            }
            ratios[r] = ratio;
        }
        Arrays.sort(ratios);
        return ratios;
    }

    /**
     * @param sorted     values sorted ascending, non-empty.
     * @param confidence the two-sided confidence level, in (0, 1).
     * @return {low, high}: the percentile interval.
     */
    public static double[] percentileInterval(final double[] sorted, final double confidence)
    {
        if (!(confidence > 0 && confidence < 1))
        {
            throw new IllegalArgumentException("confidence=" + confidence + ": expected a value in (0, 1)");
        }
        final double tail = (1 - confidence) / 2;
        return new double[] {quantile(sorted, tail), quantile(sorted, 1 - tail)};
    }

    /**
     * @param sorted values sorted ascending, non-empty.
     * @param q      in [0, 1].
     * @return the q-quantile, linearly interpolated between order statistics.
     */
    public static double quantile(final double[] sorted, final double q)
    {
        final double pos = q * (sorted.length - 1);
        final int lo = (int)Math.floor(pos);
        final int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /**
     * @param x fork values of one side (at least one).
     * @param y fork values of the other side (at least one).
     * @return the two-sided Mann-Whitney U p-value; 1 when the test is undefined (every value tied).
     */
    public static double mannWhitneyP(final double[] x, final double[] y)
    {
        final double p = new MannWhitneyUTest().mannWhitneyUTest(x, y);
        return Double.isNaN(p) ? 1.0 : Math.min(1.0, p);
    }

    /**
     * The one-sided Mann-Whitney U p-value from the same normal approximation: half the two-sided value when y's
     * ranks lean the way {@code tail} names, one minus that half otherwise.
     *
     * @param x    fork values of the baseline (speeds).
     * @param y    fork values of the candidate.
     * @param tail which way ({@link Tail#TWO_SIDED}: {@link #mannWhitneyP}).
     * @return the p-value; 1 when the test is undefined.
     */
    public static double mannWhitneyP(final double[] x, final double[] y, final Tail tail)
    {
        final double twoSided = mannWhitneyP(x, y);
        if (tail == Tail.TWO_SIDED)
        {
            return twoSided;
        }
        // U of y: how many (x, y) pairs have y above x (ties count a half).
        double u = 0;
        for (final double yi : y)
        {
            for (final double xi : x)
            {
                u += yi > xi ? 1 : yi == xi ? 0.5 : 0;
            }
        }
        final double centre = x.length * (double)y.length / 2;
        final boolean leansSlower = u < centre;
        if (u == centre)
        {
            return Math.min(1.0, 0.5 + twoSided / 2);
        }
        final boolean withTail = (tail == Tail.SLOWER) == leansSlower;
        return withTail ? twoSided / 2 : 1 - twoSided / 2;
    }

    /**
     * The smallest p-value {@link #mannWhitneyP} can give for these sample sizes (complete separation): if it is not
     * below the corrected significance level, no change can ever be called significant.
     *
     * @param n1 forks on one side.
     * @param n2 forks on the other.
     * @return that p-value.
     */
    public static double mannWhitneyMinP(final int n1, final int n2)
    {
        final double[] x = new double[n1];
        final double[] y = new double[n2];
        for (int i = 0; i < n1; i++)
        {
            x[i] = i;
        }
        for (int i = 0; i < n2; i++)
        {
            y[i] = n1 + i;
        }
        return mannWhitneyP(x, y);
    }

    /**
     * Holm-Bonferroni step-down adjusted p-values: sort ascending, multiply the i-th smallest (from 0) by
     * {@code m - i}, keep the sequence non-decreasing, cap at 1. Rejecting where the adjusted value is below alpha
     * keeps the chance of any false rejection among the m tests at most alpha, whatever their dependence. A NaN is a
     * question not asked: it stays NaN and is not one of the m.
     *
     * @param p raw p-values, in any order; NaN where not tested.
     * @return adjusted p-values, in the same order.
     */
    public static double[] holm(final double[] p)
    {
        final Integer[] order = new Integer[p.length];
        int m = 0;
        for (int i = 0; i < p.length; i++)
        {
            order[i] = i;
            m += Double.isNaN(p[i]) ? 0 : 1;
        }
        // NaN sorts last (Double.compare), after the m p-values that count.
        Arrays.sort(order, Comparator.comparingDouble(i -> p[i]));
        final double[] adjusted = new double[p.length];
        Arrays.fill(adjusted, Double.NaN);
        double running = 0;
        for (int rank = 0; rank < m; rank++)
        {
            final int i = order[rank];
            running = Math.max(running, Math.min(1.0, (m - rank) * p[i]));
            adjusted[i] = running;
        }
        return adjusted;
    }

    /** Draws one bootstrap level of a side: forks with replacement, then iterations within each drawn fork. */
    static final class Resampler
    {
        private final double[][] forks;
        private final double[] forkValues;
        private final double[] scratch;
        private final ForkStatistic statistic;
        private final Level level;

        Resampler(final double[][] forks, final ForkStatistic statistic, final Level level)
        {
            this.statistic = statistic;
            this.level = level;
            if (forks.length == 0)
            {
                throw new IllegalArgumentException("no forks to resample");
            }
            int widest = 0;
            for (final double[] fork : forks)
            {
                if (fork.length == 0)
                {
                    throw new IllegalArgumentException("a fork with no iterations");
                }
                widest = Math.max(widest, fork.length);
            }
            this.forks = forks;
            this.forkValues = new double[forks.length];
            this.scratch = new double[widest];
        }

        double level(final SplittableRandom random)
        {
            final int n = forks.length;
            for (int f = 0; f < n; f++)
            {
                final double[] fork = forks[random.nextInt(n)];
                final int k = fork.length;
                for (int i = 0; i < k; i++)
                {
                    scratch[i] = fork[random.nextInt(k)];
                }
                forkValues[f] = statistic == ForkStatistic.MIN ? forkValue(scratch, k, statistic)
                    : medianInPlace(scratch, k);
            }
            if (level == Level.MEDIAN)
            {
                return medianInPlace(forkValues, n);
            }
            Arrays.sort(forkValues, 0, n);
            return quantile(forkValues, level.quantile());
        }

        private static double medianInPlace(final double[] values, final int n)
        {
            Arrays.sort(values, 0, n);
            final int mid = n / 2;
            return (n & 1) == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
        }
    }
}
