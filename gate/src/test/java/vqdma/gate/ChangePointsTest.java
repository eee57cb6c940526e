package vqdma.gate;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * E-divisive means on synthetic series with planted change points: found where planted, and in flat noise no more
 * often than the stated significance level. Series are on the log scale, as History feeds them (0.1 = about 10%).
 */
class ChangePointsTest
{
    static final double ALPHA = 0.05;

    /** Gaussian noise of the given spread, plus a step of {@code shift} from each index in {@code at}. */
    static double[] series(final int n, final double noise, final SplittableRandom random, final int[] at,
        final double[] shift)
    {
        final double[] v = new double[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = noise * gaussian(random);
            for (int c = 0; c < at.length; c++)
            {
                if (i >= at[c])
                {
                    v[i] += shift[c];
                }
            }
        }
        return v;
    }

    static double gaussian(final SplittableRandom random)
    {
        // Box-Muller: SplittableRandom has no nextGaussian on JDK 17.
        final double u = 1 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    @Test
    void aPlantedTenPercentStepIsFoundWhereItIs()
    {
        int exactlyOne = 0;
        for (int seed = 0; seed < 50; seed++)
        {
            final double[] v = series(30, 0.03, new SplittableRandom(seed), new int[] {15}, new double[] {-0.1});
            final List<ChangePoints.ChangePoint> found = ChangePoints.find(v, 2, ALPHA, 999, seed);
            assertTrue(found.stream().anyMatch(c -> Math.abs(c.index() - 15) <= 1), "seed " + seed + ": " + found);
            exactlyOne += found.size() == 1 ? 1 : 0;
        }
        // Each further split is tested at alpha too: a few series get a second, spurious one.
        assertTrue(exactlyOne >= 45, exactlyOne + "/50 with exactly the planted change");
    }

    @Test
    void twoPlantedStepsAreBothFound()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            final double[] v = series(40, 0.03, new SplittableRandom(seed), new int[] {10, 25},
                new double[] {0.1, -0.25});
            final List<ChangePoints.ChangePoint> found = ChangePoints.find(v, 2, ALPHA, 999, seed);
            // The smaller step (3 noise deviations) is placed within two runs, the larger one within one.
            assertTrue(found.stream().anyMatch(c -> Math.abs(c.index() - 10) <= 2), "seed " + seed + ": " + found);
            assertTrue(found.stream().anyMatch(c -> Math.abs(c.index() - 25) <= 1), "seed " + seed + ": " + found);
        }
    }

    @Test
    void aChangeTwoRunsBeforeTheEndIsFound()
    {
        final double[] v = series(12, 0.01, new SplittableRandom(7), new int[] {10}, new double[] {-0.1});
        final List<ChangePoints.ChangePoint> found = ChangePoints.find(v, 2, ALPHA, 999, 7);
        assertEquals(1, found.size(), found.toString());
        assertEquals(10, found.get(0).index());
        assertTrue(ChangePoints.find(v, 3, ALPHA, 999, 7).stream().noneMatch(c -> c.index() == 10),
            "with 3 runs needed on each side it cannot be");
    }

    /** The stated false-alarm rate: a flat series yields any change point in at most alpha of the cases. */
    @Test
    void flatNoiseRaisesChangePointsAtMostAtAlpha()
    {
        final int series = 400;
        int gaussian = 0;
        int heavyTailed = 0;
        final SplittableRandom random = new SplittableRandom(42);
        for (int s = 0; s < series; s++)
        {
            final double[] v = series(20, 0.03, random, new int[0], new double[0]);
            gaussian += ChangePoints.find(v, 2, ALPHA, 199, s).isEmpty() ? 0 : 1;
            // Performance noise: mostly quiet, now and then a disturbed run 10-40% slower.
            final double[] w = new double[24];
            for (int i = 0; i < w.length; i++)
            {
                w[i] = 0.01 * gaussian(random) - (random.nextDouble() < 0.15 ? 0.1 + 0.3 * random.nextDouble() : 0);
            }
            heavyTailed += ChangePoints.find(w, 2, ALPHA, 199, s).isEmpty() ? 0 : 1;
        }
        // Expected 20 of 400 at alpha 0.05; the binomial's 99.9% upper bound is 35.
        assertTrue(gaussian <= 35, gaussian + "/" + series + " flat Gaussian series with a change point");
        assertTrue(heavyTailed <= 35, heavyTailed + "/" + series + " flat heavy-tailed series with a change point");
        assertTrue(gaussian > 0 && heavyTailed > 0, "a test at alpha 0.05 that never fires would be broken too");
    }

    @Test
    void theStatisticIsTheEnergyDistanceOfTheTwoSides()
    {
        final double[] v = {1, 2, 4, 8, 9, 15};
        for (int t = 2; t <= 4; t++)
        {
            // Brute force from the definition.
            double between = 0;
            double left = 0;
            double right = 0;
            for (int i = 0; i < v.length; i++)
            {
                for (int j = i + 1; j < v.length; j++)
                {
                    final double d = Math.abs(v[i] - v[j]);
                    if (j < t)
                    {
                        left += d;
                    }
                    else if (i >= t)
                    {
                        right += d;
                    }
                    else
                    {
                        between += d;
                    }
                }
            }
            final int n = v.length;
            final double e = 2 * between / (t * (n - t)) - left / (t * (t - 1) / 2.0) -
                right / ((n - t) * (n - t - 1) / 2.0);
            final double q = (double)t * (n - t) / n * e;
            final double[] onlyT = ChangePoints.bestSplit(v, 0, n, 2);
            assertNotNull(onlyT);
            if ((int)onlyT[0] == t)
            {
                assertEquals(q, onlyT[1], 1e-12);
            }
            assertTrue(q <= onlyT[1] + 1e-12, "the best split maximizes Q");
        }
        assertNull(ChangePoints.bestSplit(v, 0, 3, 2), "too short to split");
    }

    @Test
    void aConstantSeriesHasNoChangeAndArgumentsAreChecked()
    {
        assertTrue(ChangePoints.find(new double[] {3, 3, 3, 3, 3, 3}, 2, ALPHA, 99, 1).isEmpty());
        assertTrue(ChangePoints.find(new double[] {1, 2}, 2, ALPHA, 99, 1).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> ChangePoints.find(new double[] {1, Double.NaN}, 2, ALPHA,
            99, 1));
        assertThrows(IllegalArgumentException.class, () -> ChangePoints.find(new double[4], 1, ALPHA, 99, 1));
        assertThrows(IllegalArgumentException.class, () -> ChangePoints.find(new double[4], 2, 0, 99, 1));
        assertThrows(IllegalArgumentException.class, () -> ChangePoints.find(new double[4], 2, ALPHA, 10, 1));
        final double[] v = series(20, 0.03, new SplittableRandom(3), new int[] {8}, new double[] {0.2});
        assertEquals(ChangePoints.find(v, 2, ALPHA, 199, 5), ChangePoints.find(v, 2, ALPHA, 199, 5), "seeded");
    }
}
