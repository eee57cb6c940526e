package vqdma.jcstress;

import vqdma.dma.GuestMemory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Free lists of {@link RingSlot}s in chunks of guest memory, grown on demand (one jcstress fork runs one test, so
 * the pool serves one test's states).
 * <p>
 * jcstress allocates a state for every sample and drops it after its {@code @Arbiter} ran: the generated runner's
 * consume loop calls the arbiter, then replaces the state with a new one, on the same worker thread. Every test here
 * therefore takes a slot in its constructor and returns it in its arbiter, and the free list is per thread: the
 * slot a worker returns is the one it takes next, with no lock and no sharing. A slot may be returned by another
 * thread than the one that took it (each iteration's first states are built by the runner's main thread, and its
 * worker threads return them); it then simply moves to that thread's list. Workers end with every iteration, so
 * before a list grows it takes over the lists of threads that have terminated (their last actions happen-before
 * {@code isAlive()} returning false). Slots in use never exceed the live states (stride size times stride count,
 * about ten thousand with jcstress's defaults: 80 MiB of direct memory, under the fork's
 * {@code -XX:MaxDirectMemorySize}, which defaults to its 256 MiB heap), and the free ones about as many again.
 * <p>
 * Each chunk starts with one page of buffer space ({@link #DATA_GPA}) that requests point at: the tests never look
 * at buffer contents, only at the ring, so all requests of a chunk share it.
 */
final class RingPool
{
    /** Guest-physical address of the shared buffer page at the start of every chunk. */
    static final long DATA_GPA = 0;
    private static final int SLOTS_PER_CHUNK = 256;
    private static final ThreadLocal<RingPool> POOLS = ThreadLocal.withInitial(RingPool::register);
    private static final List<RingPool> ALL = new ArrayList<>();

    private final Thread owner;
    private RingSlot[] free = new RingSlot[SLOTS_PER_CHUNK];
    private int freeCount;

    private RingPool(final Thread owner)
    {
        this.owner = owner;
    }

    private static RingPool register()
    {
        final RingPool pool = new RingPool(Thread.currentThread());
        synchronized (ALL)
        {
            ALL.add(pool);
        }
        return pool;
    }

    /**
     * Takes a slot, its ring zeroed.
     *
     * @return a slot only the caller uses until it gives it back with {@link #release(RingSlot)}.
     */
    static RingSlot acquire()
    {
        final RingPool pool = POOLS.get();
        if (pool.freeCount == 0 && !pool.adoptOrphans())
        {
            pool.grow();
        }
        final RingSlot slot = pool.free[--pool.freeCount];
        pool.free[pool.freeCount] = null;
        slot.inUse = true;
        return slot.zero();
    }

    /**
     * Gives a slot back to the calling thread's list. The caller must not touch it afterwards.
     *
     * @param slot a slot from {@link #acquire()}, not yet released.
     */
    static void release(final RingSlot slot)
    {
        if (!slot.inUse)
        {
            throw new IllegalStateException("ring slot at gpa " + slot.gpa + " released twice");
        }
        slot.inUse = false;
        final RingPool pool = POOLS.get();
        pool.push(slot);
    }

    private void push(final RingSlot slot)
    {
        if (freeCount == free.length)
        {
            final RingSlot[] bigger = new RingSlot[free.length * 2];
            System.arraycopy(free, 0, bigger, 0, freeCount);
            free = bigger;
        }
        free[freeCount++] = slot;
    }

    /** @return true if slots of terminated threads' lists were moved to this one. */
    private boolean adoptOrphans()
    {
        synchronized (ALL)
        {
            for (final Iterator<RingPool> it = ALL.iterator(); it.hasNext(); )
            {
                final RingPool orphan = it.next();
                if (!orphan.owner.isAlive())
                {
                    it.remove();
                    for (int i = 0; i < orphan.freeCount; i++)
                    {
                        push(orphan.free[i]);
                    }
                }
            }
        }
        return freeCount > 0;
    }

    private void grow()
    {
        final GuestMemory chunk = GuestMemory.allocate(
            GuestMemory.PAGE_SIZE + (long)SLOTS_PER_CHUNK * RingSlot.SLOT_BYTES, false);
        if (chunk.allocate(GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE) != DATA_GPA)
        {
            throw new IllegalStateException("a fresh chunk did not start its allocations at gpa " + DATA_GPA);
        }
        for (int i = 0; i < SLOTS_PER_CHUNK; i++)
        {
            push(new RingSlot(chunk, chunk.allocate(RingSlot.SLOT_BYTES, GuestMemory.PAGE_SIZE)));
        }
    }
}
