package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class IotlbTest
{
    @Test
    void hitsMissesAndDecoding()
    {
        final Iotlb tlb = new Iotlb();
        assertEquals(0, tlb.lookup(0x12345));
        assertTrue(tlb.fill(0x12345, 0x777, Iotlb.PERM_READ, tlb.generation()));
        final long e = tlb.lookup(0x12345);
        assertEquals(0x777, Iotlb.gpaPfn(e));
        assertEquals(Iotlb.PERM_READ, Iotlb.perms(e));
        assertEquals(0, tlb.lookup(0x12345 + 64), "same set, other page");
        assertTrue(tlb.fill(Iotlb.MAX_IOVA_PFN, Iotlb.MAX_GPA_PFN, 3, tlb.generation()));
        assertEquals(Iotlb.MAX_GPA_PFN, Iotlb.gpaPfn(tlb.lookup(Iotlb.MAX_IOVA_PFN)));
        assertEquals(2, tlb.hits());
        assertEquals(2, tlb.misses());
        assertEquals(2, tlb.fills());
        assertThrows(IllegalArgumentException.class, () -> tlb.fill(1, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> tlb.fill(Iotlb.MAX_IOVA_PFN + 1, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Iotlb(3, 4));
    }

    @Test
    void aFullSetReplacesRoundRobin()
    {
        final Iotlb tlb = new Iotlb(4, 2);
        tlb.fill(0, 10, 1, tlb.generation()); // set 0, way 0
        tlb.fill(4, 14, 1, tlb.generation()); // set 0, way 1
        tlb.fill(1, 11, 1, tlb.generation()); // set 1: does not disturb set 0
        tlb.fill(8, 18, 1, tlb.generation()); // set 0 full: evicts way 0 (page 0)
        assertEquals(0, tlb.lookup(0));
        assertNotEquals(0, tlb.lookup(4));
        assertNotEquals(0, tlb.lookup(8));
        assertNotEquals(0, tlb.lookup(1));
        tlb.fill(12, 22, 1, tlb.generation()); // evicts way 1 (page 4)
        assertEquals(0, tlb.lookup(4));
        assertNotEquals(0, tlb.lookup(8));
        tlb.fill(8, 99, 2, tlb.generation()); // refill of a cached page replaces it in place
        assertEquals(99, Iotlb.gpaPfn(tlb.lookup(8)));
        assertNotEquals(0, tlb.lookup(12));
        assertEquals(3, tlb.validEntries());
    }

    @Test
    void invalidationByRangeAndAll()
    {
        final Iotlb tlb = new Iotlb(8, 2);
        for (long p = 100; p < 108; p++)
        {
            tlb.fill(p, p, 1, tlb.generation());
        }
        tlb.invalidateRange(102, 3);
        for (long p = 100; p < 108; p++)
        {
            assertEquals(p >= 102 && p < 105, tlb.lookup(p) == 0, "page " + p);
        }
        assertEquals(3, tlb.entriesInvalidated());
        tlb.invalidateRange(0, 1000); // larger than the cache: one scan
        assertEquals(0, tlb.validEntries());
        tlb.fill(5, 5, 1, tlb.generation());
        tlb.invalidateAll();
        assertEquals(0, tlb.lookup(5));
        assertEquals(3, tlb.invalidations());
        assertEquals(1, tlb.flushes());
        assertEquals(9, tlb.entriesInvalidated());
    }

    @Test
    void aFillThatRacedWithAnInvalidationIsWithdrawn()
    {
        final Iotlb tlb = new Iotlb();
        final long before = tlb.generation();
        tlb.invalidateRange(42, 1); // the driver cleared the PTE and invalidated while the walk was in flight
        assertFalse(tlb.fill(42, 7, 1, before));
        assertEquals(0, tlb.lookup(42), "no stale entry survives");
    }
}
