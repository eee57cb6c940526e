package vqdma.dma;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The fields of {@code struct io_tlb_area}, plus per-area statistics that ride on the same lock. The lock word comes
 * first ({@link SpinLock}, with its padding in front), on the line of the fields it guards, as the kernel's
 * {@code spinlock_t lock} sits in {@code struct io_tlb_area}.
 */
abstract class SwiotlbAreaFields extends SpinLock
{
    /** The kernel's {@code index}: where the next search in this area starts, relative to the area. */
    int index;
    /** The kernel's {@code used}: slots allocated in this area. */
    int used;
    /** Mappings made in this area (statistics). */
    long mappings;
    /** Bytes copied into slots of this area when mapping (statistics). */
    long bytesToDevice;
    /** Bytes copied out of slots of this area when unmapping (statistics). */
    long bytesFromDevice;
}

/** Padding behind the area fields. */
abstract class SwiotlbAreaPad1 extends SwiotlbAreaFields
{
    long p10, p11, p12, p13, p14, p15, p16, p17;
    long p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;
}

/**
 * One SWIOTLB area, {@code struct io_tlb_area}: a slice of the pool with its own lock, {@code used} count and search
 * {@code index}, so that mappings on different CPUs (here: threads) do not serialise on one lock.
 * <p>
 * The area object <em>is</em> the lock ({@link SpinLock#lock()}), the kernel's {@code area->lock} taken with
 * {@code spin_lock_irqsave()}: one CAS to take it and a release store to drop it, where {@code synchronized} costs a
 * CAS each way (JDK 17 without biased locking), and nothing allocated even when contended. A waiter spins, then
 * yields (a Java holder can be descheduled, a kernel one cannot).
 * <p>
 * Access modes are in the accessor names: {@code lp}/{@code sp} are plain and only legal while holding the lock;
 * {@code so} stores are opaque (still under the lock) for the counters that statistics read without the lock through
 * the {@code lo} (opaque) loads: racy, never torn, possibly stale, exactly like the kernel's lock-free
 * {@code mem_pool_used()}.
 */
final class SwiotlbArea extends SwiotlbAreaPad1
{
    private static final VarHandle USED;
    private static final VarHandle MAPPINGS;
    private static final VarHandle BYTES_TO_DEVICE;
    private static final VarHandle BYTES_FROM_DEVICE;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            USED = lookup.findVarHandle(SwiotlbAreaFields.class, "used", int.class);
            MAPPINGS = lookup.findVarHandle(SwiotlbAreaFields.class, "mappings", long.class);
            BYTES_TO_DEVICE = lookup.findVarHandle(SwiotlbAreaFields.class, "bytesToDevice", long.class);
            BYTES_FROM_DEVICE = lookup.findVarHandle(SwiotlbAreaFields.class, "bytesFromDevice", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /** @return the search index; plain, under the lock. */
    int lpIndex()
    {
        return index;
    }

    /** @param value the new search index; plain, under the lock. */
    void spIndex(final int value)
    {
        index = value;
    }

    /** @return slots used; plain, under the lock. */
    int lpUsed()
    {
        return used;
    }

    /** @param value slots used; opaque store under the lock, for the racy readers of {@link #loUsed()}. */
    void soUsed(final int value)
    {
        USED.setOpaque(this, value);
    }

    /** @return slots used; opaque load without the lock (statistics, the kernel's {@code mem_pool_used()}). */
    int loUsed()
    {
        return (int)USED.getOpaque(this);
    }

    /** Counts one mapping and the bytes bounced into it; under the lock. @param bytes bytes copied to the slots. */
    void soMapped(final long bytes)
    {
        MAPPINGS.setOpaque(this, mappings + 1);
        BYTES_TO_DEVICE.setOpaque(this, bytesToDevice + bytes);
    }

    /** Counts bytes bounced back from slots at unmap; under the lock. @param bytes bytes copied out. */
    void soUnmapped(final long bytes)
    {
        BYTES_FROM_DEVICE.setOpaque(this, bytesFromDevice + bytes);
    }

    /** @return mappings made in this area; opaque load without the lock. */
    long loMappings()
    {
        return (long)MAPPINGS.getOpaque(this);
    }

    /** @return bytes bounced into this area's slots at map time; opaque load without the lock. */
    long loBytesToDevice()
    {
        return (long)BYTES_TO_DEVICE.getOpaque(this);
    }

    /** @return bytes bounced out of this area's slots at unmap time; opaque load without the lock. */
    long loBytesFromDevice()
    {
        return (long)BYTES_FROM_DEVICE.getOpaque(this);
    }
}
