package vqdma.dma;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.dma.IommuPageTable.*;

class IommuPageTableTest
{
    @Test
    void mapWalkUnmapWithPermissionBits()
    {
        final IommuPageTable pt = new IommuPageTable(64);
        assertEquals(1, pt.tablesInUse(), "only the root");
        assertTrue(pt.map(0xFFFF0, 0x123, 3, PTE_READ));
        assertEquals(4, pt.tablesInUse(), "one table per lower level");
        final long head = pt.walk(0xFFFF0);
        assertEquals(0x123L << 12, head & PTE_ADDR_MASK);
        assertEquals(PTE_PRESENT | PTE_READ | PTE_HEAD, head & ~PTE_ADDR_MASK);
        assertEquals((0x125L << 12) | PTE_PRESENT | PTE_READ, pt.walk(0xFFFF2), "not a head, consecutive GPA");
        assertEquals(0, pt.walk(0xFFFF3));
        assertEquals(0, pt.walk(0xFFFEF));
        assertTrue(pt.map(0xFFFF4, 7, 1, PTE_WRITE));
        assertEquals(PTE_PRESENT | PTE_WRITE | PTE_HEAD, pt.walk(0xFFFF4) & ~PTE_ADDR_MASK);
        assertTrue(pt.map(0xFFFF5, 8, 1, PTE_READ | PTE_WRITE));
        assertEquals(PTE_PRESENT | PTE_READ | PTE_WRITE | PTE_HEAD, pt.walk(0xFFFF5) & ~PTE_ADDR_MASK);
        assertEquals(5, pt.presentPtes());

        assertEquals(3, pt.unmap(0xFFFF0, 3));
        assertEquals(0, pt.walk(0xFFFF1));
        assertEquals(0, pt.unmap(0xFFFF0, 3), "nothing left to clear");
        assertEquals(2, pt.presentPtes());
        assertEquals(4, pt.tablesInUse(), "tables are kept");
        assertEquals(0, pt.walk(-1));
        assertEquals(0, pt.walk(MAX_IOVA_PFN + 1));
    }

    @Test
    void rangesCrossLeafAndUpperTables()
    {
        final IommuPageTable pt = new IommuPageTable(64);
        final long start = (1L << 18) - 300; // crosses a level-1 (1 GiB) boundary as well as a leaf boundary
        assertTrue(pt.map(start, 1000, 600, PTE_READ));
        for (long i = 0; i < 600; i++)
        {
            assertEquals((1000 + i) << 12, pt.walk(start + i) & PTE_ADDR_MASK, "page " + i);
        }
        assertEquals(600, pt.presentPtes());
        assertEquals(-1, pt.checkMapping(start, 600, PTE_READ));
        assertEquals(599, pt.unmap(start + 1, 599));
        assertEquals(1, pt.presentPtes());
        assertTrue(pt.map(MAX_IOVA_PFN, 5, 1, PTE_READ), "the last page of the 48-bit space");
        assertThrows(IllegalArgumentException.class, () -> pt.map(MAX_IOVA_PFN, 5, 2, PTE_READ));
    }

    @Test
    void checkMappingFindsTheFirstOffendingPage()
    {
        final IommuPageTable pt = new IommuPageTable(16);
        pt.map(100, 1, 4, PTE_READ);
        pt.map(104, 9, 2, PTE_READ);
        assertEquals(-1, pt.checkMapping(100, 4, PTE_READ));
        assertEquals(-1, pt.checkMapping(104, 2, PTE_READ));
        assertEquals(3, pt.checkMapping(100, 3, PTE_READ), "too short: page 3 continues the mapping");
        assertEquals(4, pt.checkMapping(100, 5, PTE_READ), "too long: page 4 is another mapping's head");
        assertEquals(2, pt.checkMapping(104, 3, PTE_READ), "too long: page 2 is not mapped");
        assertEquals(0, pt.checkMapping(101, 3, PTE_READ), "not a head");
        assertEquals(0, pt.checkMapping(100, 4, PTE_WRITE), "other permissions");
        assertEquals(0, pt.checkMapping(200, 1, PTE_READ), "not mapped");
    }

    @Test
    void checkAndUnmapChecksAsCheckMappingDoesAndChangesNothingOnMisuse()
    {
        final IommuPageTable pt = new IommuPageTable(16);
        final long far = 1L << 27; // another level-3 entry: the last-leaf cache has to move
        assertTrue(pt.map(100, 1, 4, PTE_READ));
        assertTrue(pt.map(104, 9, 2, PTE_READ));
        assertTrue(pt.map(510, 20, 4, PTE_WRITE)); // crosses into the next leaf table
        assertTrue(pt.map(far, 30, 1, PTE_READ));
        assertEquals(3, pt.checkAndUnmap(100, 3, PTE_READ), "too short");
        assertEquals(4, pt.checkAndUnmap(100, 5, PTE_READ), "too long: another mapping's head");
        assertEquals(0, pt.checkAndUnmap(101, 3, PTE_READ), "not a head");
        assertEquals(0, pt.checkAndUnmap(100, 4, PTE_WRITE), "other permissions");
        assertEquals(0, pt.checkAndUnmap(200, 1, PTE_READ), "not mapped");
        assertEquals(0, pt.checkAndUnmap(far + 512, 1, PTE_READ), "no leaf table there");
        assertEquals(0, pt.checkAndUnmap(MAX_IOVA_PFN + 1, 1, PTE_READ), "outside the IOVA space");
        assertEquals(3, pt.checkAndUnmap(510, 3, PTE_WRITE), "too short, across a leaf boundary");
        assertEquals(2, pt.checkAndUnmap(510, 2, PTE_WRITE), "too short, ending a leaf: continues in the next");
        assertTrue(pt.map(1023, 40, 1, PTE_READ));
        assertTrue(pt.map(1024, 41, 2, PTE_READ));
        assertEquals(-1, pt.checkMapping(1023, 1, PTE_READ), "ends a leaf, the next leaf starts with a head");
        assertEquals(1, pt.checkAndUnmap(1023, 2, PTE_READ), "the next leaf's first page is another mapping");
        assertEquals(14, pt.presentPtes(), "nothing changed");
        assertEquals(-1, pt.checkAndUnmap(1023, 1, PTE_READ));
        assertEquals(-1, pt.checkAndUnmap(1024, 2, PTE_READ));
        assertEquals(11, pt.presentPtes());

        assertEquals(-1, pt.checkAndUnmap(100, 4, PTE_READ));
        assertEquals(0, pt.walk(100));
        assertEquals(0, pt.walk(103));
        assertEquals((9L << 12) | PTE_PRESENT | PTE_READ | PTE_HEAD, pt.walk(104), "the neighbour is untouched");
        assertEquals(0, pt.checkAndUnmap(100, 4, PTE_READ), "already unmapped");
        assertEquals(-1, pt.checkAndUnmap(far, 1, PTE_READ));
        assertEquals(-1, pt.checkAndUnmap(510, 4, PTE_WRITE));
        assertEquals(-1, pt.checkAndUnmap(104, 2, PTE_READ));
        assertEquals(0, pt.presentPtes());
        assertEquals(9, pt.tablesInUse(), "root, 3 + 2 tables for the low leaves, 3 for the far one; all kept");
        assertTrue(pt.map(far, 31, 1, PTE_WRITE), "the kept tables are found again");
        assertEquals((31L << 12) | PTE_PRESENT | PTE_WRITE | PTE_HEAD, pt.walk(far));
        assertEquals(9, pt.tablesInUse());
    }

    @Test
    void exhaustedPoolFailsTheWholeMapAndDoubleMapIsRefused()
    {
        final IommuPageTable pt = new IommuPageTable(LEVELS); // exactly one path from the root
        assertTrue(pt.map(0, 1, 512, PTE_READ));
        assertFalse(pt.map(512, 1, 1, PTE_READ), "page 512 needs a second leaf table: none left");
        pt.unmap(0, 512);
        assertFalse(pt.map(500, 1, 20, PTE_READ), "pages 512.. need a second leaf table");
        assertEquals(0, pt.presentPtes(), "the first 12 pages were unwound");
        assertTrue(pt.map(500, 1, 12, PTE_READ));
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> pt.map(498, 77, 4, PTE_WRITE));
        assertTrue(ex.getMessage().contains("0x1f4") && ex.getMessage().contains("already mapped"), ex.getMessage());
        assertEquals(12, pt.presentPtes(), "nothing changed");
        assertEquals(0, pt.walk(498));
        assertThrows(IllegalArgumentException.class, () -> pt.map(1, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> pt.map(-1, 1, 1, PTE_READ));
        assertThrows(IllegalArgumentException.class, () -> new IommuPageTable(3));
    }
}
