package vqdma.gate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Change points in a series of measurements by E-divisive means: Matteson and James, "A Nonparametric Approach for
 * Multiple Change Point Analysis of Multivariate Data", Journal of the American Statistical Association 109(505),
 * 2014; the method MongoDB applied to its performance CI (Daly et al., "Change Point Detection in Software
 * Performance Testing", ICPE 2020) and that Hunter / Apache Otava is built on (Fleming et al., "Hunter: Using Change
 * Point Detection to Hunt for Performance Regressions", ICPE 2023).
 *
 * <h2>The statistic</h2>
 * For a segment Z<sub>1..n</sub> and a split after &tau;, with X = Z<sub>1..&tau;</sub> and Y = Z<sub>&tau;+1..n</sub>,
 * the divergence of the two sides is the energy distance (exponent 1)
 * <pre>
 *   E(&tau;) = 2/(&tau;(n-&tau;)) &Sigma;<sub>i&le;&tau;&lt;j</sub> |Z<sub>i</sub> - Z<sub>j</sub>|
 *          - 1/C(&tau;,2) &Sigma;<sub>i&lt;k&le;&tau;</sub> |Z<sub>i</sub> - Z<sub>k</sub>|
 *          - 1/C(n-&tau;,2) &Sigma;<sub>&tau;&lt;j&lt;k</sub> |Z<sub>j</sub> - Z<sub>k</sub>|
 *   Q(&tau;) = &tau;(n-&tau;)/n &middot; E(&tau;)
 * </pre>
 * The best split of a segment maximizes Q over &tau; with at least {@code minSize} points on each side (the paper
 * also searches the segment's right end &kappa;; like MongoDB's implementation this one takes &kappa; = n, the
 * segment's end). Only differences of values enter, so the statistic assumes nothing about the distribution's shape:
 * heavy tails and the odd outlier run, common in performance series, do not break it the way they break a t-test.
 *
 * <h2>Significance, and the recursion</h2>
 * Hierarchical, as in the paper: among the current segments (at first the whole series) take the one whose best
 * split has the largest Q; a permutation test decides whether that split is real: the values are shuffled within
 * each current segment, {@code permutations} times, and each time the largest best-split Q over all segments is
 * recomputed; p = (count of shuffles at least as large + 1) / (permutations + 1). If p &le; alpha the split becomes a
 * change point and its two sides new segments, and the search goes on; otherwise it stops. On a series without any
 * change the values are exchangeable, so the first test, and with it the chance of reporting any change point at all,
 * is at most alpha. (Hunter replaces the permutation test with a Student's t-test for speed; series of runs are short
 * enough here that the exact, distribution-free test costs nothing.) The shuffles are seeded: the same series gives
 * the same answer.
 */
public final class ChangePoints
{
    /**
     * One change point.
     *
     * @param index the index of the first value after the change.
     * @param q     the divergence statistic of the split.
     * @param p     the permutation test's p-value when the split was accepted.
     */
    public record ChangePoint(int index, double q, double p)
    {
    }

    private ChangePoints()
    {
    }

    /**
     * @param values       the series, in time order.
     * @param minSize      the fewest values on each side of a change point, at least 2.
     * @param alpha        the significance level of each split's permutation test, in (0, 1).
     * @param permutations shuffles per test, at least 19 (so that p can reach 0.05).
     * @param seed         the shuffles' seed.
     * @return the change points found, by index.
     * @throws IllegalArgumentException on a bad argument or a value that is not finite.
     */
    public static List<ChangePoint> find(
        final double[] values,
        final int minSize,
        final double alpha,
        final int permutations,
        final long seed)
    {
        if (minSize < 2)
        {
            throw new IllegalArgumentException("minSize=" + minSize + ": need at least 2 values on each side");
        }
        if (!(alpha > 0 && alpha < 1))
        {
            throw new IllegalArgumentException("alpha=" + alpha + ": expected a value in (0, 1)");
        }
        if (permutations < 19)
        {
            throw new IllegalArgumentException("permutations=" + permutations + ": need at least 19");
        }
        for (int i = 0; i < values.length; i++)
        {
            if (!Double.isFinite(values[i]))
            {
                throw new IllegalArgumentException("value " + i + " is " + values[i] + ": expected a finite number");
            }
        }
        final SplittableRandom random = new SplittableRandom(seed);
        // Segment boundaries: segment s is [bounds[s], bounds[s + 1]).
        final List<Integer> bounds = new ArrayList<>(List.of(0, values.length));
        final List<ChangePoint> found = new ArrayList<>();
        final double[] shuffled = values.clone();
        while (true)
        {
            final double[] best = bestOverSegments(values, bounds, minSize);
            if (best == null)
            {
                break;
            }
            final double observed = best[1];
            int atLeast = 0;
            for (int r = 0; r < permutations; r++)
            {
                System.arraycopy(values, 0, shuffled, 0, values.length);
                for (int s = 0; s + 1 < bounds.size(); s++)
                {
                    shuffle(shuffled, bounds.get(s), bounds.get(s + 1), random);
                }
                final double[] b = bestOverSegments(shuffled, bounds, minSize);
                if (b[1] >= observed * (1 - 1e-12))
                {
                    atLeast++;
                }
            }
            final double p = (atLeast + 1.0) / (permutations + 1.0);
            if (p > alpha)
            {
                break;
            }
            final int index = (int)best[0];
            found.add(new ChangePoint(index, observed, p));
            bounds.add(index);
            Collections.sort(bounds);
        }
        found.sort((a, b) -> Integer.compare(a.index(), b.index()));
        return List.copyOf(found);
    }

    /** @return {absolute index of the split, its Q} of the best split over all segments, or null if none can split. */
    private static double[] bestOverSegments(final double[] values, final List<Integer> bounds, final int minSize)
    {
        double[] best = null;
        for (int s = 0; s + 1 < bounds.size(); s++)
        {
            final double[] b = bestSplit(values, bounds.get(s), bounds.get(s + 1), minSize);
            if (b != null && (best == null || b[1] > best[1]))
            {
                best = b;
            }
        }
        return best;
    }

    /**
     * @param values  the series.
     * @param from    the segment's first index.
     * @param to      one past its last.
     * @param minSize the fewest values on a side.
     * @return {absolute index of the first value after the best split, its Q}, or {@code null} when the segment is
     *         too short to split.
     */
    static double[] bestSplit(final double[] values, final int from, final int to, final int minSize)
    {
        final int n = to - from;
        if (n < 2 * minSize)
        {
            return null;
        }
        // within[t]: sum of |Zi - Zk| over pairs inside the first t values; rest[t]: over pairs inside the others.
        final double[] within = new double[n + 1];
        final double[] rest = new double[n + 1];
        for (int t = 1; t <= n; t++)
        {
            double row = 0;
            final double z = values[from + t - 1];
            for (int i = 0; i < t - 1; i++)
            {
                row += Math.abs(values[from + i] - z);
            }
            within[t] = within[t - 1] + row;
        }
        for (int t = n - 1; t >= 0; t--)
        {
            double row = 0;
            final double z = values[from + t];
            for (int j = t + 1; j < n; j++)
            {
                row += Math.abs(values[from + j] - z);
            }
            rest[t] = rest[t + 1] + row;
        }
        final double total = within[n];
        double bestQ = Double.NEGATIVE_INFINITY;
        int bestT = -1;
        for (int t = minSize; t <= n - minSize; t++)
        {
            final double between = total - within[t] - rest[t];
            final double left = t * (t - 1) / 2.0;
            final double right = (n - t) * (n - t - 1) / 2.0;
            final double e = 2 * between / ((double)t * (n - t)) - within[t] / left - rest[t] / right;
            final double q = (double)t * (n - t) / n * e;
            if (q > bestQ)
            {
                bestQ = q;
                bestT = t;
            }
        }
        return new double[] {from + bestT, bestQ};
    }

    private static void shuffle(final double[] values, final int from, final int to, final SplittableRandom random)
    {
        for (int i = to - 1; i > from; i--)
        {
            final int j = from + random.nextInt(i - from + 1);
            final double t = values[i];
            values[i] = values[j];
            values[j] = t;
        }
    }

    /**
     * @param values a series.
     * @param from   a segment's first index.
     * @param to     one past its last.
     * @return the median of the segment.
     */
    public static double segmentMedian(final double[] values, final int from, final int to)
    {
        final double[] s = Arrays.copyOfRange(values, from, to);
        Arrays.sort(s);
        final int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
