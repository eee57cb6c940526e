package vqdma.gate;

/**
 * What the gate concludes about one benchmark. Only {@link #REGRESSED} fails the gate.
 */
public enum Verdict
{
    /** Significantly slower (Holm-adjusted p below alpha, the interval below 1) by at least the threshold. */
    REGRESSED("regressed"),
    /** Significantly faster by at least the threshold. */
    IMPROVED("improved"),
    /** The whole confidence interval lies within the threshold either side of 1: no change that matters. */
    UNCHANGED("unchanged"),
    /** Neither shown: too noisy, too few forks, or a change near the threshold. Never fails the gate. */
    INCONCLUSIVE("inconclusive"),
    /** A reference benchmark: its ratio is the machine's speed ratio between the runs, not a verdict. */
    REFERENCE("reference"),
    /** In one of the two files only. */
    MISSING("missing");

    private final String label;

    Verdict(final String label)
    {
        this.label = label;
    }

    /** @return the word shown in reports. */
    public String label()
    {
        return label;
    }
}
