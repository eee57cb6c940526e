package vqdma.gate;

/**
 * The gate's finding for one benchmark.
 *
 * @param key            the benchmark name with its parameters ({@link vqdma.results.JmhResult#displayKey()}).
 * @param mode           JMH's mode.
 * @param unit           the baseline's unit; the levels are in it.
 * @param baselineLevel  the baseline's level (median over forks of each fork's value), in {@code unit}; NaN if absent.
 * @param candidateLevel the candidate's level, in {@code unit}; NaN if absent.
 * @param baselineForks  forks in the baseline (0 if absent).
 * @param candidateForks forks in the candidate (0 if absent).
 * @param rawRatio       candidate speed / baseline speed, before normalization (above 1: the candidate is faster).
 * @param ratio          the speed ratio the verdict is on: {@code rawRatio} divided by the reference's when
 *                       normalized.
 * @param ciLow          lower end of the bootstrap confidence interval of {@code ratio}.
 * @param ciHigh         upper end.
 * @param reference      the reference benchmark's key when normalized, else {@code null}.
 * @param pSlower        the one-sided p-value of "the candidate is slower" (the test the options name, on the fork
 *                       values); NaN when not tested.
 * @param pFaster        the one-sided p-value of "the candidate is faster"; NaN when not tested.
 * @param pAdjusted      the p-value of the direction the ratio leans (below 1: {@code pSlower}, else {@code pFaster}),
 *                       after Holm-Bonferroni across the benchmarks tested in that direction; NaN when not tested.
 * @param verdict        the verdict.
 * @param note           why the verdict is what it is, when that is not obvious; empty otherwise.
 */
public record Comparison(
    String key,
    String mode,
    String unit,
    double baselineLevel,
    double candidateLevel,
    int baselineForks,
    int candidateForks,
    double rawRatio,
    double ratio,
    double ciLow,
    double ciHigh,
    String reference,
    double pSlower,
    double pFaster,
    double pAdjusted,
    Verdict verdict,
    String note)
{
    /**
     * @param verdict the new verdict.
     * @param note    the new note.
     * @param pAdjusted the adjusted p-value.
     * @return a copy with those changed.
     */
    Comparison with(final Verdict verdict, final String note, final double pAdjusted)
    {
        return new Comparison(key, mode, unit, baselineLevel, candidateLevel, baselineForks, candidateForks, rawRatio,
            ratio, ciLow, ciHigh, reference, pSlower, pFaster, pAdjusted, verdict, note);
    }

    /** @return whether the benchmark was tested (it has p-values). */
    boolean tested()
    {
        return !Double.isNaN(pSlower);
    }
}
