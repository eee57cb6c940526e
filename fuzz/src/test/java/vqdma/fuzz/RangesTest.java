package vqdma.fuzz;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class RangesTest
{
    @Test
    void adjacentAndOverlappingRangesMerge()
    {
        final Ranges r = new Ranges().add(10, 20).add(20, 30).add(25, 40).add(100, 110);
        assertTrue(r.covers(10, 40));
        assertTrue(r.covers(15, 16));
        assertTrue(r.covers(100, 110));
        assertEquals(2, r.size());
    }

    @Test
    void aGapIsNotCovered()
    {
        final Ranges r = new Ranges().add(10, 20).add(21, 30);
        assertFalse(r.covers(10, 30), "one byte missing at 20");
        assertFalse(r.covers(9, 11));
        assertFalse(r.covers(29, 31));
        assertFalse(new Ranges().covers(0, 1));
        assertTrue(new Ranges().covers(5, 5), "an empty range is covered");
    }

    @Test
    void emptyAndInvertedRangesAreIgnored()
    {
        final Ranges r = new Ranges().add(50, 50).add(60, 40);
        assertEquals(0, r.size());
        assertFalse(r.covers(45, 55));
    }

    @Test
    void addingAfterAQueryStillCounts()
    {
        final Ranges r = new Ranges().add(0, 10);
        assertFalse(r.covers(0, 20));
        r.add(10, 20);
        assertTrue(r.covers(0, 20));
        r.clear();
        assertFalse(r.covers(0, 1));
    }

    @Test
    void mergedRangesAreListedInOrder()
    {
        final Ranges r = new Ranges().add(300, 400).add(10, 20).add(15, 30).add(30, 31).add(200, 250).add(210, 220);
        assertEquals(3, r.size());
        assertArrayEquals(new long[] {10, 31, 200, 250, 300, 400},
            new long[] {r.start(0), r.end(0), r.start(1), r.end(1), r.start(2), r.end(2)});
        assertEquals(31, r.endOfRangeContaining(10));
        assertEquals(31, r.endOfRangeContaining(30));
        assertEquals(-1, r.endOfRangeContaining(31), "ends are exclusive");
        assertEquals(-1, r.endOfRangeContaining(9));
        assertEquals(250, r.endOfRangeContaining(249));
        assertEquals(-1, r.endOfRangeContaining(1000));
    }

    @Test
    void theSameRangesAddedOverAndOverDoNotPileUp()
    {
        final Ranges r = new Ranges();
        for (int i = 0; i < 10_000; i++)
        {
            r.add(1000 * (i % 7), 1000 * (i % 7) + 10);
        }
        assertEquals(7, r.size());
        assertTrue(r.covers(6000, 6010));
        assertFalse(r.covers(6000, 6011));
    }

    @Test
    void normalizeAgreesWithAByteMapOnRandomRanges()
    {
        final SplittableRandom random = new SplittableRandom(3);
        for (int round = 0; round < 200; round++)
        {
            final Ranges r = new Ranges();
            final boolean[] in = new boolean[300];
            for (int i = random.nextInt(40); i > 0; i--)
            {
                final int start = random.nextInt(300);
                final int end = start + random.nextInt(300 - start + 1);
                r.add(start, end);
                for (int a = start; a < end; a++)
                {
                    in[a] = true;
                }
            }
            for (int a = 0; a < 300; a++)
            {
                assertEquals(in[a], r.covers(a, a + 1), "round " + round + " address " + a + ": " + r);
            }
            for (int i = 1; i < r.size(); i++)
            {
                assertTrue(r.end(i - 1) < r.start(i), "merged, sorted, not adjacent: " + r);
            }
        }
    }
}
