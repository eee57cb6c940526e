package vqdma.fuzz;

import org.junit.jupiter.api.Test;

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
}
