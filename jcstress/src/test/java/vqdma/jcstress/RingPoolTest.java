package vqdma.jcstress;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The slot pool the jcstress states borrow their rings from.
 */
class RingPoolTest
{
    @Test
    void aReturnedSlotComesBackZeroed()
    {
        final RingSlot slot = RingPool.acquire();
        slot.ring.soAvailIdx(7);
        slot.ring.soAvailEvent(9);
        slot.ring.spDesc(3, 0x1000, 64, 1, 2);
        RingPool.release(slot);
        final RingSlot again = RingPool.acquire();
        assertSame(slot, again, "the calling thread's list is LIFO");
        assertEquals(0, again.ring.loAvailIdx());
        assertEquals(0, again.ring.loAvailEvent());
        assertEquals(0, again.ring.lpDescLen(3));
        RingPool.release(again);
    }

    @Test
    void aDoubleReleaseIsCaught()
    {
        final RingSlot slot = RingPool.acquire();
        RingPool.release(slot);
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> RingPool.release(slot));
        assertEquals("ring slot at gpa " + slot.gpa + " released twice", e.getMessage());
        assertSame(slot, RingPool.acquire(), "the failed release did not corrupt the list");
    }

    @Test
    void slotsReturnedByATerminatedThreadAreReused() throws InterruptedException
    {
        // Empty this thread's list first, so that the next acquire must adopt or grow.
        final java.util.ArrayList<RingSlot> mine = new java.util.ArrayList<>();
        final RingSlot first = RingPool.acquire();
        mine.add(first);
        final RingSlot[] returned = new RingSlot[1];
        final Thread worker = new Thread(() ->
        {
            returned[0] = RingPool.acquire();
            RingPool.release(returned[0]);
        });
        worker.start();
        worker.join();
        // Drain whatever this thread still holds, then the next acquire finds the worker's slot.
        RingSlot next;
        do
        {
            next = RingPool.acquire();
            mine.add(next);
        }
        while (next != returned[0] && mine.size() < 10_000);
        assertSame(returned[0], next, "the dead worker's slot was adopted before the pool grew past it");
        for (final RingSlot slot : mine)
        {
            RingPool.release(slot);
        }
    }
}
