package vqdma.bench.peer;

import vqdma.ring.tools.Affinity;

/** The {@code affinity} parameter of the round-trip benchmarks: {@code none}, or {@code split} across CPUs 0 and 1. */
public final class Affinities
{
    private Affinities()
    {
    }

    /**
     * @param affinity the parameter.
     * @return true for {@code split}.
     * @throws IllegalArgumentException for anything but {@code none} and {@code split}.
     */
    public static boolean split(final String affinity)
    {
        if (!affinity.equals("none") && !affinity.equals("split"))
        {
            throw new IllegalArgumentException("affinity=" + affinity + ": expected none or split");
        }
        return affinity.equals("split");
    }

    /**
     * Pins the calling thread to {@code cpu} if {@code split}.
     *
     * @param split the parsed parameter.
     * @param cpu   the CPU.
     * @throws IllegalStateException if pinning failed.
     */
    public static void pin(final boolean split, final int cpu)
    {
        if (split)
        {
            Affinity.pinCurrentThreadOrFail(cpu);
        }
    }
}
