package vqdma.report;

import vqdma.results.JmhResult;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run against a baseline, cell by cell: the same benchmark, mode and parameters in both. The ratio is a speed
 * ratio whatever the mode (operations per second now / in the baseline: above 1 is faster); it counts as a change
 * only when JMH's 99.9% intervals of the two scores do not overlap and the ratio is off by more than
 * {@link #THRESHOLD}; a ratio off by more whose intervals overlap is {@code unclear} (too few or too noisy samples
 * to tell: the curated selection's three iterations give intervals wider than most scores), not "the same". This is
 * a report, not the perf gate ({@code scripts/gate} tests raw samples and normalises
 * by a reference benchmark); on a shared machine read it as a hint.
 */
final class Comparison
{
    /** A ratio within 1 +- 5% is "about the same" even when the intervals do not overlap. */
    static final double THRESHOLD = 0.05;

    /**
     * One cell in both runs.
     *
     * @param baseline the baseline's result.
     * @param run      this run's.
     * @param ratio    speed ratio, run / baseline ({@code NaN} when either failed completely).
     * @param verdict  {@code faster}, {@code slower}, {@code same} (within the threshold), {@code unclear} (beyond
     *                 it, but the intervals overlap), {@code now fails}, {@code no longer fails},
     *                 {@code fails in both}.
     */
    record Row(JmhResult baseline, JmhResult run, double ratio, String verdict)
    {
    }

    final List<Row> rows = new ArrayList<>();
    final List<JmhResult> onlyInRun = new ArrayList<>();
    final List<JmhResult> onlyInBaseline = new ArrayList<>();

    /**
     * @param run      this run's results.
     * @param baseline the baseline's.
     * @return the comparison.
     */
    static Comparison of(final List<JmhResult> run, final List<JmhResult> baseline)
    {
        final Comparison c = new Comparison();
        final Map<String, JmhResult> base = byKey(baseline);
        for (final JmhResult r : run)
        {
            final JmhResult b = base.remove(r.key());
            if (b == null)
            {
                c.onlyInRun.add(r);
            }
            else
            {
                c.rows.add(row(b, r));
            }
        }
        c.onlyInBaseline.addAll(base.values());
        return c;
    }

    /**
     * @param results results.
     * @return them by {@link JmhResult#key()}, in order.
     */
    static Map<String, JmhResult> byKey(final List<JmhResult> results)
    {
        final Map<String, JmhResult> out = new LinkedHashMap<>();
        results.forEach(r -> out.put(r.key(), r));
        return out;
    }

    static Row row(final JmhResult b, final JmhResult r)
    {
        if (b.failedCompletely() || r.failedCompletely())
        {
            final String verdict = b.failedCompletely() && r.failedCompletely() ? "fails in both" :
                r.failedCompletely() ? "now fails" : "no longer fails";
            return new Row(b, r, Double.NaN, verdict);
        }
        final double ratio = speed(r) / speed(b);
        final boolean separate = !overlap(b.primary(), r.primary());
        final String verdict = !Double.isFinite(ratio) ? "-" :
            separate && ratio > 1 + THRESHOLD ? "faster" :
            separate && ratio < 1 / (1 + THRESHOLD) ? "slower" :
            ratio <= 1 + THRESHOLD && ratio >= 1 / (1 + THRESHOLD) ? "same" : "unclear";
        return new Row(b, r, ratio, verdict);
    }

    /** Operations per second, or for a score that is not a time the score itself (higher read as better). */
    private static double speed(final JmhResult r)
    {
        final double ops = r.opsPerSecond();
        return Double.isNaN(ops) ? r.primary().score() : ops;
    }

    private static boolean overlap(final JmhResult.Metric a, final JmhResult.Metric b)
    {
        if (!Double.isFinite(a.error()) || !Double.isFinite(b.error()))
        {
            return true; // too few samples to tell
        }
        return a.score() - a.error() <= b.score() + b.error() && b.score() - b.error() <= a.score() + a.error();
    }
}
