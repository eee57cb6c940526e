package vqdma.dma;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@code struct iova_fq}: one CPU slot's ring of unmapped IOVAs waiting for an IOTLB flush
 * ({@code drivers/iommu/dma-iommu.c}). {@link IommuDma#IOVA_FQ_SIZE} slots, one always empty to tell full from empty
 * (as {@code fq_full()}), so it holds 255 entries. Each entry records what the kernel records (pfn, pages, the
 * flush-start counter) plus, for the stale-window measurement, the unmap's timestamp (how many unmaps were queued
 * behind an entry follows from its position: it is the oldest when freed).
 * <p>
 * Everything is guarded by the queue's own lock ({@code fq->lock}: the queue extends {@link SpinLock}), except the two pending gauges, which other threads read
 * with opaque loads for statistics, and the clock-reading countdown, which an unmapper peeks at (opaque) before it
 * takes the lock, to decide whether to read the clock.
 */
final class IovaFlushQueue extends IovaFlushQueueFields
{
    long p11, p12, p13, p14, p15, p16, p17, p18;

    private static final VarHandle PENDING_PAGES;
    private static final VarHandle PENDING_UNMAPS;
    private static final VarHandle UNTIL_CLOCK;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            PENDING_PAGES = lookup.findVarHandle(IovaFlushQueueFields.class, "pendingPages", long.class);
            PENDING_UNMAPS = lookup.findVarHandle(IovaFlushQueueFields.class, "pendingUnmaps", long.class);
            UNTIL_CLOCK = lookup.findVarHandle(IovaFlushQueueFields.class, "untilClock", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    boolean isFull()
    {
        return ((tail + 1) & MASK) == head;
    }

    boolean isEmpty()
    {
        return head == tail;
    }

    /** {@code fq_ring_add()}: @return the index of the new entry (the caller fills it). */
    int add()
    {
        final int idx = tail;
        tail = (idx + 1) & MASK;
        return idx;
    }

    /** Opaque store of the gauges (written under the lock, read by anyone). */
    void soPending(final long pages, final long unmaps)
    {
        PENDING_PAGES.setOpaque(this, pages);
        PENDING_UNMAPS.setOpaque(this, unmaps);
    }

    /** @return unmapped pages queued here, not yet freed (opaque load). */
    long loPendingPages()
    {
        return (long)PENDING_PAGES.getOpaque(this);
    }

    /** @return unmaps queued here, not yet freed (opaque load). */
    long loPendingUnmaps()
    {
        return (long)PENDING_UNMAPS.getOpaque(this);
    }

    /** @return unmaps that may still reuse {@link #clockNanos} before the next clock reading (opaque load). */
    int loUntilClock()
    {
        return (int)UNTIL_CLOCK.getOpaque(this);
    }

    /** Opaque store of the reading countdown (written under the lock, peeked at before taking it). */
    void soUntilClock(final int value)
    {
        UNTIL_CLOCK.setOpaque(this, value);
    }
}

/** The fields of {@link IovaFlushQueue}, after its lock word ({@code fq->lock}: the queue itself, padded before). */
abstract class IovaFlushQueueFields extends SpinLock
{
    static final int SIZE = IommuDma.IOVA_FQ_SIZE;
    static final int MASK = SIZE - 1;

    final long[] pfn = new long[SIZE];
    final long[] pages = new long[SIZE];
    final long[] counter = new long[SIZE];
    final long[] stamp = new long[SIZE];
    int head;
    int tail;
    long pendingPages;
    long pendingUnmaps;
    /** Longest time, in ns, from an unmap queued here to the IOTLB flush that covered it. */
    long maxStaleNanos;
    /** Most unmaps queued here after an entry before it was freed. */
    long maxStaleUnmaps;
    /** Entries freed here, and the sum of their stale times. */
    long freed;
    long staleNanosSum;
    /** The last clock reading taken for this queue ({@link IommuDma#NO_READING} before the first). */
    long clockNanos = IommuDma.NO_READING;
    /** Unmaps that may still reuse {@link #clockNanos}; 0: the next unmap reads the clock. */
    int untilClock;
}
