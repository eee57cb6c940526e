package vqdma.gate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.*;

class StatsTest
{
    @Test
    void medianOfOddAndEvenCounts()
    {
        assertEquals(2.0, Stats.median(new double[] {3, 1, 2}));
        assertEquals(2.5, Stats.median(new double[] {4, 1, 3, 2}));
        assertEquals(7.0, Stats.median(new double[] {7}));
        assertThrows(IllegalArgumentException.class, () -> Stats.median(new double[0]));
    }

    @Test
    void levelIsTheMedianOfForkMedians()
    {
        // One wild iteration and one wild fork move neither.
        final double[][] forks = {{10, 10, 1000}, {11, 11, 11}, {9, 9, 9}, {500, 500, 500}, {10, 10, 10}};
        assertArrayEquals(new double[] {10, 11, 9, 500, 10}, Stats.forkMedians(forks));
        assertEquals(10.0, Stats.level(forks));
    }

    @Test
    void minTakesTheFastestIterationOfEachFork()
    {
        final double[][] speeds = {{1, 5, 3}, {2, 2, 9}, {4, 4, 4}};
        assertArrayEquals(new double[] {5, 9, 4}, Stats.forkValues(speeds, Stats.ForkStatistic.MIN));
        assertEquals(5.0, Stats.level(speeds, Stats.ForkStatistic.MIN));
        assertArrayEquals(new double[] {3, 2, 4}, Stats.forkValues(speeds, Stats.ForkStatistic.MEDIAN));
    }

    /** One-sided disturbance (a neighbour only ever slows an iteration): the fastest iteration sees through it. */
    @Test
    void minSeesThroughOneSidedDisturbance()
    {
        final SplittableRandom random = new SplittableRandom(11);
        final double[][] base = disturbed(random, 100, 8, 10);
        final double[][] cand = disturbed(random, 90, 8, 10);
        final double[] byMin = Stats.percentileInterval(Stats.bootstrapRatios(base, cand, null, null, 4000, 3,
            Stats.ForkStatistic.MIN), 0.95);
        final double[] byMedian = Stats.percentileInterval(Stats.bootstrapRatios(base, cand, null, null, 4000, 3,
            Stats.ForkStatistic.MEDIAN), 0.95);
        assertTrue(byMin[0] < 0.9 && 0.9 < byMin[1] && byMin[1] < 0.95, "min: " + byMin[0] + ".." + byMin[1]);
        assertTrue(byMedian[1] - byMedian[0] > 2 * (byMin[1] - byMin[0]), "the median's interval is wider: " +
            byMedian[0] + ".." + byMedian[1]);
    }

    /** Speeds of forks whose iterations lose 0 to 60% of the time to a neighbour, at random; 1% noise otherwise. */
    static double[][] disturbed(final SplittableRandom random, final double speed, final int forks, final int iterations)
    {
        final double[][] out = new double[forks][iterations];
        for (int f = 0; f < forks; f++)
        {
            for (int i = 0; i < iterations; i++)
            {
                final double lost = random.nextDouble() < 0.5 ? 0 : random.nextDouble() * 0.6;
                out[f][i] = speed * (1 - lost) * (1 + (random.nextDouble() * 2 - 1) * 0.01);
            }
        }
        return out;
    }

    @Test
    void fastQuartileLevelAndItsPermutationTest()
    {
        final double[] speeds = {1, 2, 3, 4, 5};
        assertEquals(3.0, Stats.level(speeds, Stats.Level.MEDIAN));
        assertEquals(4.0, Stats.level(speeds, Stats.Level.FAST_QUARTILE), "0.75 quantile of the speeds");
        final double[] same = {5, 5, 5, 5};
        assertEquals(1.0, Stats.permutationP(same, same, Stats.Level.FAST_QUARTILE, 500, 1), "no difference at all");
        final double[] slow = {1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7};
        final double[] fast = {2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7};
        final double p = Stats.permutationP(slow, fast, Stats.Level.FAST_QUARTILE, 5000, 1);
        assertTrue(p < 0.01, "separated samples: p=" + p);
        assertEquals(p, Stats.permutationP(slow, fast, Stats.Level.FAST_QUARTILE, 5000, 1), "seeded");
        assertTrue(Stats.permutationP(slow, slow.clone(), Stats.Level.FAST_QUARTILE, 2000, 2) > 0.5);
    }

    /**
     * The one-sided tests: the tail the data lean towards gets about half the two-sided p-value, the other tail
     * almost 1; ties in the middle give both tails at least a half.
     */
    @Test
    void oneSidedTestsLookOneWay()
    {
        final double[] base = {2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7};
        final double[] slower = {1.9, 2.0, 2.05, 2.1, 2.15, 2.2, 2.25, 2.3};
        final double two = Stats.permutationP(base, slower, Stats.Level.FAST_QUARTILE, 20_000, 3);
        final double down = Stats.permutationP(base, slower, Stats.Level.FAST_QUARTILE, 20_000, 3, Stats.Tail.SLOWER);
        final double up = Stats.permutationP(base, slower, Stats.Level.FAST_QUARTILE, 20_000, 3, Stats.Tail.FASTER);
        assertTrue(down < two && down > two / 2 * 0.8 && down < two / 2 * 1.25, "one-sided " + down + ", two " + two);
        assertTrue(up > 0.8, "the other tail: " + up);
        assertEquals(1.0, down + up, 0.05, "the tails cover the distribution (ties counted in both)");

        final double mwTwo = Stats.mannWhitneyP(base, slower);
        final double mwDown = Stats.mannWhitneyP(base, slower, Stats.Tail.SLOWER);
        assertEquals(mwTwo / 2, mwDown, 1e-12);
        assertEquals(1 - mwTwo / 2, Stats.mannWhitneyP(base, slower, Stats.Tail.FASTER), 1e-12);
        assertEquals(mwTwo / 2, Stats.mannWhitneyP(slower, base, Stats.Tail.FASTER), 1e-12, "symmetric");
        final double[] same = {5, 5, 5};
        assertEquals(1.0, Stats.mannWhitneyP(same, same, Stats.Tail.SLOWER), "all tied");
        assertTrue(Stats.mannWhitneyP(new double[] {1, 3, 5, 7}, new double[] {2, 4, 6, 8}, Stats.Tail.SLOWER) > 0.5,
            "leaning faster: no evidence of slower");
    }

    /**
     * The one-sided test keeps its false-alarm rate: over 200 A/A trials of 8 modal forks a side, "slower" is called
     * at 5% no more often than 5% allows (binomial: 20 or more of 200 has probability below 0.1% at a true 5%), and
     * it sees a 10% slowdown more often than the two-sided test does.
     */
    @Test
    void oneSidedKeepsAlphaAndGainsPower()
    {
        int alarms = 0;
        int oneSided = 0;
        int twoSided = 0;
        for (long seed = 0; seed < 200; seed++)
        {
            final SplittableRandom random = new SplittableRandom(seed);
            final double[] base = modal(random, 1.0, 8);
            final double[] same = modal(random, 1.0, 8);
            final double[] slower = modal(random, 1 / 1.1, 8);
            if (Stats.permutationP(base, same, Stats.Level.FAST_QUARTILE, 1000, seed, Stats.Tail.SLOWER) < 0.05)
            {
                alarms++;
            }
            if (Stats.permutationP(base, slower, Stats.Level.FAST_QUARTILE, 1000, seed, Stats.Tail.SLOWER) < 0.05)
            {
                oneSided++;
            }
            if (Stats.permutationP(base, slower, Stats.Level.FAST_QUARTILE, 1000, seed) < 0.05)
            {
                twoSided++;
            }
        }
        assertTrue(alarms < 20, "A/A alarms " + alarms + "/200 at alpha 0.05");
        assertTrue(oneSided > twoSided, "one-sided " + oneSided + " vs two-sided " + twoSided + " of 200");
    }

    /**
     * A normalized cell whose reference is noisier than the cell itself (as memcpyCold's forks spread 5-9% against a
     * SWIOTLB cell's 3%): 200 A/A trials of 16 baseline and 8 candidate forks. Dividing each side by its own
     * reference level and testing the quotients, as the gate did before, calls "slower" far more often than alpha
     * allows (a noisy reference level is an offset shared by all of a side's forks); relabelling the reference's
     * centred forks too keeps alpha, never flags a machine that is 20% slower for cell and reference alike, and still
     * sees a 10% slowdown of the cell in most trials, on the same machine or on one 20% slower (relabelling the raw
     * forks of both instead would lose it there).
     */
    @Test
    void normalizedTestCarriesTheReferenceNoise()
    {
        int oldAlarms = 0;
        int alarms = 0;
        int machineAlarms = 0;
        int detected = 0;
        int detectedOnSlowerMachine = 0;
        for (long seed = 0; seed < 200; seed++)
        {
            final SplittableRandom random = new SplittableRandom(seed);
            final double[] base = noisy(random, 1.0, 0.03, 16);
            final double[] refBase = noisy(random, 1.0, 0.08, 16);
            final double[] same = noisy(random, 1.0, 0.03, 8);
            final double[] refSame = noisy(random, 1.0, 0.08, 8);
            final double[] slower = noisy(random, 0.9, 0.03, 8);
            final double[] refSlower = noisy(random, 1.0, 0.08, 8);
            final double[] machine = noisy(random, 0.8, 0.03, 8);
            final double[] refMachine = noisy(random, 0.8, 0.08, 8);
            final double[] slowerOnSlowerMachine = noisy(random, 0.9 * 0.8, 0.03, 8);
            final double[] refSlowerMachine = noisy(random, 0.8, 0.08, 8);
            final double[] quotientBase = Stats.divide(base, Stats.median(refBase));
            final double[] quotientSame = Stats.divide(same, Stats.median(refSame));
            if (Stats.permutationP(quotientBase, quotientSame, Stats.Level.FAST_QUARTILE, 1000, seed,
                Stats.Tail.SLOWER) < 0.05)
            {
                oldAlarms++;
            }
            if (slowerP(base, same, refBase, refSame, seed) < 0.05)
            {
                alarms++;
            }
            if (slowerP(base, machine, refBase, refMachine, seed) < 0.05)
            {
                machineAlarms++;
            }
            if (slowerP(base, slower, refBase, refSlower, seed) < 0.05)
            {
                detected++;
            }
            if (slowerP(base, slowerOnSlowerMachine, refBase, refSlowerMachine, seed) < 0.05)
            {
                detectedOnSlowerMachine++;
            }
        }
        assertTrue(alarms < 20, "A/A alarms " + alarms + "/200 at alpha 0.05");
        assertTrue(oldAlarms > 2 * alarms && oldAlarms > 30, "quotients tested as if the reference were exact: " +
            oldAlarms + "/200 alarms, against " + alarms);
        assertTrue(machineAlarms < 20, "a uniformly slower machine flagged " + machineAlarms + "/200");
        assertTrue(detected > 100, "a 10% slowdown seen " + detected + "/200");
        assertTrue(detectedOnSlowerMachine > 100, "a 10% slowdown on a 20% slower machine seen " +
            detectedOnSlowerMachine + "/200");
        assertThrows(IllegalArgumentException.class, () -> Stats.permutationPs(three(), three(), three(), null,
            Stats.Level.MEDIAN, 100, 1), "a reference needs both sides");
    }

    private static double slowerP(final double[] x, final double[] y, final double[] refX, final double[] refY,
        final long seed)
    {
        return Stats.permutationPs(x, y, refX, refY, Stats.Level.FAST_QUARTILE, 1000, seed)[Stats.Tail.SLOWER.ordinal()];
    }

    private static double[] three()
    {
        return new double[] {1, 2, 3};
    }

    /** Fork speeds with Gaussian relative noise. */
    private static double[] noisy(final SplittableRandom random, final double speed, final double spread,
        final int forks)
    {
        final double[] out = new double[forks];
        for (int i = 0; i < forks; i++)
        {
            out[i] = speed * (1 + spread * random.nextGaussian());
        }
        return out;
    }

    /**
     * Forks in two modes, a third of them 40% slower at random: a 10% change of the code shows in the fast quartile
     * and its permutation test in most of 40 trials of 8 forks a side, while two runs of the same code raise no more
     * alarms than alpha allows.
     */
    @Test
    void fastQuartileSeesThroughSlowForkModes()
    {
        int detected = 0;
        int detectedByRanks = 0;
        int alarms = 0;
        for (long seed = 0; seed < 40; seed++)
        {
            final SplittableRandom random = new SplittableRandom(seed);
            final double[] base = modal(random, 1.0, 8);
            final double[] same = modal(random, 1.0, 8);
            final double[] slower = modal(random, 1 / 1.1, 8);
            if (Stats.permutationP(base, slower, Stats.Level.FAST_QUARTILE, 2000, seed) < 0.05)
            {
                detected++;
            }
            if (Stats.mannWhitneyP(base, slower) < 0.05)
            {
                detectedByRanks++;
            }
            if (Stats.permutationP(base, same, Stats.Level.FAST_QUARTILE, 2000, seed) < 0.05)
            {
                alarms++;
            }
        }
        assertTrue(detected >= 20, "detected " + detected + "/40 (by ranks of all forks " + detectedByRanks + ")");
        assertTrue(alarms <= 4, "A/A alarms " + alarms + "/40 at alpha 0.05");
    }

    /** Fork speeds: 2% noise, and a third of the forks in a mode 40% slower. */
    static double[] modal(final SplittableRandom random, final double speed, final int forks)
    {
        final double[] out = new double[forks];
        for (int f = 0; f < forks; f++)
        {
            final double mode = random.nextInt(3) == 0 ? 1 / 1.4 : 1.0;
            out[f] = speed * mode * (1 + (random.nextDouble() * 2 - 1) * 0.02);
        }
        return out;
    }

    @Test
    void holmMatchesTheTextbookExample()
    {
        // sorted 0.005 (x4), 0.01 (x3), 0.03 (x2), 0.04 (x1, but never below the previous)
        assertArrayEquals(new double[] {0.03, 0.06, 0.06, 0.02},
            Stats.holm(new double[] {0.01, 0.04, 0.03, 0.005}), 1e-12);
        assertArrayEquals(new double[] {1.0, 1.0}, Stats.holm(new double[] {0.6, 0.9}), 1e-12, "capped at 1");
        assertArrayEquals(new double[0], Stats.holm(new double[0]));
        // A NaN is a question not asked: it stays NaN and the others are adjusted as a family of three.
        assertArrayEquals(new double[] {0.03, Double.NaN, 0.04, 0.04},
            Stats.holm(new double[] {0.01, Double.NaN, 0.03, 0.02}), 1e-12);
    }

    static LongStream seeds()
    {
        return LongStream.range(0, 100);
    }

    /** Holm never lowers a p-value, never exceeds 1, and keeps the order of the raw p-values. */
    @ParameterizedTest
    @MethodSource("seeds")
    void holmIsMonotoneAndConservative(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final double[] p = new double[1 + random.nextInt(20)];
        for (int i = 0; i < p.length; i++)
        {
            p[i] = random.nextDouble() < 0.2 ? random.nextDouble() * 0.01 : random.nextDouble();
        }
        final double[] adjusted = Stats.holm(p);
        for (int i = 0; i < p.length; i++)
        {
            assertTrue(adjusted[i] >= p[i] && adjusted[i] <= 1.0, "seed " + seed + " index " + i);
            assertTrue(adjusted[i] <= Math.min(1.0, p[i] * p.length) + 1e-15, "seed " + seed + " index " + i +
                ": never beyond Bonferroni");
            for (int j = 0; j < p.length; j++)
            {
                if (p[i] < p[j])
                {
                    assertTrue(adjusted[i] <= adjusted[j], "seed " + seed + " order of " + i + " and " + j);
                }
            }
        }
    }

    @Test
    void mannWhitneyOnSeparatedAndTiedSamples()
    {
        final double min66 = Stats.mannWhitneyMinP(6, 6);
        assertEquals(min66, Stats.mannWhitneyP(new double[] {1, 2, 3, 4, 5, 6}, new double[] {7, 8, 9, 10, 11, 12}),
            1e-12);
        // Normal approximation: z = (0 - 18) / sqrt(6 * 6 * 13 / 12); the exact value is 2/924 = 0.0022.
        assertEquals(0.00395, min66, 0.0001);
        assertEquals(1.0, Stats.mannWhitneyP(new double[] {5, 5, 5}, new double[] {5, 5, 5}), "all tied");
        assertTrue(Stats.mannWhitneyP(new double[] {1, 3, 5, 7}, new double[] {2, 4, 6, 8}) > 0.5);
    }

    @Test
    void bootstrapIsReproducibleAndCentredOnTheRatio()
    {
        final SplittableRandom random = new SplittableRandom(3);
        final double[][] base = noisy(random, 100, 6, 5, 0.02);
        final double[][] cand = noisy(random, 90, 6, 5, 0.02);
        final double[] a = Stats.bootstrapRatios(base, cand, null, null, 4000, 42);
        final double[] b = Stats.bootstrapRatios(base, cand, null, null, 4000, 42);
        assertArrayEquals(a, b, "same seed, same replicates");
        final double[] ci = Stats.percentileInterval(a, 0.95);
        assertTrue(ci[0] < 0.9 && 0.9 < ci[1], "the interval holds the true ratio: " + ci[0] + ".." + ci[1]);
        assertTrue(ci[1] < 0.95, "and is narrow with 2% noise: " + ci[0] + ".." + ci[1]);
    }

    /**
     * The fork is the unit: forks far apart with iterations tight within each must give an interval as wide as the
     * forks' spread, not as narrow as the iterations'.
     */
    @Test
    void bootstrapIntervalReflectsForkToForkSpread()
    {
        final double[][] base = {{100, 100.1, 99.9}, {130, 130.1, 129.9}, {80, 80.1, 79.9}, {115, 115, 115},
            {90, 90.1, 89.9}};
        final double[][] cand = {{105, 105, 105}, {85, 85.1, 84.9}, {125, 125.1, 124.9}, {95, 95, 95},
            {110, 110.1, 109.9}};
        final double[] ci = Stats.percentileInterval(Stats.bootstrapRatios(base, cand, null, null, 10_000, 1), 0.95);
        assertTrue(ci[0] < 0.85 && ci[1] > 1.15, "interval " + ci[0] + ".." + ci[1] +
            " must span the forks' +-20%, not the iterations' 0.1%");
    }

    @Test
    void referenceDividesEachReplicate()
    {
        final SplittableRandom random = new SplittableRandom(5);
        final double[][] base = noisy(random, 100, 6, 5, 0.01);
        final double[][] refBase = noisy(random, 50, 6, 5, 0.01);
        final double[][] cand = scale(base, 0.5);
        final double[][] refCand = scale(refBase, 0.5);
        final double[] ci = Stats.percentileInterval(Stats.bootstrapRatios(base, cand, refBase, refCand, 4000, 9),
            0.95);
        assertTrue(ci[0] < 1 && ci[1] > 1 && ci[1] - ci[0] < 0.06, "a machine half as fast is normalized away: " +
            ci[0] + ".." + ci[1]);
        assertThrows(IllegalArgumentException.class, () -> Stats.bootstrapRatios(base, cand, refBase, null, 10, 1));
    }

    @Test
    void percentileIntervalAndQuantiles()
    {
        final double[] sorted = new double[101];
        for (int i = 0; i <= 100; i++)
        {
            sorted[i] = i;
        }
        assertArrayEquals(new double[] {2.5, 97.5}, Stats.percentileInterval(sorted, 0.95), 1e-12);
        assertEquals(50.0, Stats.quantile(sorted, 0.5));
        assertThrows(IllegalArgumentException.class, () -> Stats.percentileInterval(sorted, 1.0));
    }

    static double[][] noisy(final SplittableRandom random, final double level, final int forks, final int iterations,
        final double spread)
    {
        final double[][] out = new double[forks][iterations];
        for (int f = 0; f < forks; f++)
        {
            for (int i = 0; i < iterations; i++)
            {
                out[f][i] = level * (1 + (random.nextDouble() * 2 - 1) * spread);
            }
        }
        return out;
    }

    static double[][] scale(final double[][] samples, final double factor)
    {
        final double[][] out = new double[samples.length][];
        for (int f = 0; f < samples.length; f++)
        {
            out[f] = samples[f].clone();
            for (int i = 0; i < out[f].length; i++)
            {
                out[f][i] *= factor;
            }
        }
        return out;
    }
}
