package vqdma.dma;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A test-and-test-and-set lock for the short critical sections where the kernel uses {@code spin_lock_irqsave()}: in
 * the IOMMU model a per-CPU range cache, a flush queue, the IOVA tree; in SWIOTLB an area ({@link SwiotlbArea}).
 * <p>
 * {@link #lock()} is a CAS with acquire semantics; {@link #unlock()} is a release store, as the kernel's
 * {@code queued_spin_unlock()} is on x86. Uncontended, a lock/unlock pair costs one CAS, about half of what
 * {@code synchronized} or {@code ReentrantLock} cost (both fence on release too). A waiter spins with
 * {@link Thread#onSpinWait()} and yields after a while: unlike a kernel spinlock holder, a Java holder can be
 * descheduled, and on a machine with few cores spinning forever on it would burn the holder's time slice.
 * <p>
 * A structure guarded by one lock extends this class, so that the lock word sits in the structure it guards (on the
 * cache line of its first fields), as the kernel embeds a {@code spinlock_t} in {@code struct iova_cpu_rcache} and
 * {@code struct iova_fq}: taking the lock costs no extra dependent load. The padding before the lock word keeps it
 * off the cache line of whatever was allocated before it; a subclass pads its own end.
 * <p>
 * Not reentrant; no fairness. Package-private: an implementation detail of {@link IovaDomain}, {@link IommuDma} and
 * {@link Swiotlb}.
 */
class SpinLock extends SpinLockPad
{
    private static final VarHandle STATE;
    private static final int SPINS_BEFORE_YIELD = 128;

    static
    {
        try
        {
            STATE = MethodHandles.lookup().findVarHandle(SpinLock.class, "state", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;

    /** Acquires the lock: a CAS 0 -> 1 (acquire), spinning on an opaque read while it is held. */
    final void lock()
    {
        if (STATE.compareAndSet(this, 0, 1))
        {
            return;
        }
        int spins = 0;
        do
        {
            while ((int)STATE.getOpaque(this) != 0)
            {
                if (++spins < SPINS_BEFORE_YIELD)
                {
                    Thread.onSpinWait();
                }
                else
                {
                    spins = 0;
                    Thread.yield();
                }
            }
        }
        while (!STATE.compareAndSet(this, 0, 1));
    }

    /** Releases the lock: a release store of 0; everything written while holding it is visible to the next holder. */
    final void unlock()
    {
        STATE.setRelease(this, 0);
    }
}

/** Padding before the lock word. */
abstract class SpinLockPad
{
    long p01, p02, p03, p04, p05, p06, p07, p08;
}
