package vqdma.ring.thread;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * Padding before the hot fields of {@link EventFd}: 128 bytes, so that a neighbouring object's fields never share a
 * cache line (or the adjacent line the prefetcher pairs with it) with the counter both threads write.
 */
abstract class EventFdPad0
{
    byte a000, a001, a002, a003, a004, a005, a006, a007, a008, a009, a010, a011, a012, a013, a014, a015;
    byte a016, a017, a018, a019, a020, a021, a022, a023, a024, a025, a026, a027, a028, a029, a030, a031;
    byte a032, a033, a034, a035, a036, a037, a038, a039, a040, a041, a042, a043, a044, a045, a046, a047;
    byte a048, a049, a050, a051, a052, a053, a054, a055, a056, a057, a058, a059, a060, a061, a062, a063;
    byte a064, a065, a066, a067, a068, a069, a070, a071, a072, a073, a074, a075, a076, a077, a078, a079;
    byte a080, a081, a082, a083, a084, a085, a086, a087, a088, a089, a090, a091, a092, a093, a094, a095;
    byte a096, a097, a098, a099, a100, a101, a102, a103, a104, a105, a106, a107, a108, a109, a110, a111;
    byte a112, a113, a114, a115, a116, a117, a118, a119, a120, a121, a122, a123, a124, a125, a126, a127;
}

/** The hot fields of {@link EventFd}: the counter and the waiter's parked flag, on one line on purpose. */
abstract class EventFdFields extends EventFdPad0
{
    /** The eventfd counter: added to by the signaller, read and reset by the waiter. */
    long count;
    /** 1 while the waiter is (about to be) parked: the signaller then has to unpark it. */
    int parked;
    /** The waiting thread; written before {@code parked} is set, read after it is seen set. */
    Thread waiter;
}

/** Padding after the hot fields of {@link EventFd}. */
abstract class EventFdPad1 extends EventFdFields
{
    byte b000, b001, b002, b003, b004, b005, b006, b007, b008, b009, b010, b011, b012, b013, b014, b015;
    byte b016, b017, b018, b019, b020, b021, b022, b023, b024, b025, b026, b027, b028, b029, b030, b031;
    byte b032, b033, b034, b035, b036, b037, b038, b039, b040, b041, b042, b043, b044, b045, b046, b047;
    byte b048, b049, b050, b051, b052, b053, b054, b055, b056, b057, b058, b059, b060, b061, b062, b063;
    byte b064, b065, b066, b067, b068, b069, b070, b071, b072, b073, b074, b075, b076, b077, b078, b079;
    byte b080, b081, b082, b083, b084, b085, b086, b087, b088, b089, b090, b091, b092, b093, b094, b095;
    byte b096, b097, b098, b099, b100, b101, b102, b103, b104, b105, b106, b107, b108, b109, b110, b111;
    byte b112, b113, b114, b115, b116, b117, b118, b119, b120, b121, b122, b123, b124, b125, b126, b127;
}

/**
 * A notification channel between two threads, modelled on Linux's {@code eventfd}: {@link #signal()} is
 * {@code eventfd_signal()} (a {@code write} of 1 by the ioeventfd on a kick, or by vhost on a call), and
 * {@link #await(int, long)} is the blocking {@code read} that returns the accumulated count and resets it to 0.
 * A virtqueue pair uses two: the kick channel (driver to device, {@code VhostVirtqueue}'s "kick" fd) and the call
 * channel (device to driver, the "interrupt" or irqfd).
 *
 * <h2>No lost wake-up</h2>
 * There is one waiting thread at a time, and it never misses a signal, whatever the interleaving. This is the
 * Dekker pattern with two sequentially consistent operations on each side:
 * <pre>
 *   signaller                          waiter
 *   getAndAdd(count, 1)  (lock xadd)   setVolatile(parked, 1)    (mov + lock addl)
 *   getVolatile(parked)                getVolatile(count)        == 0 ? park : read
 * </pre>
 * Both are synchronization actions of the Java memory model, totally ordered: if the signaller does not see
 * {@code parked == 1}, its increment precedes the waiter's store in that order, so the waiter sees the count and does
 * not park; if it does see it, it unparks the waiter, and {@link LockSupport#unpark} before {@code park} leaves a
 * permit, so the park returns at once. The signaller skips the {@code unpark} (a futex wake, a system call) while
 * the waiter is spinning, which is what makes spin-then-park cheap for the signaller too.
 *
 * <h2>Allocation</h2>
 * None: {@code park}/{@code unpark} and the counter allocate nothing. The hot fields are padded on both sides
 * (JCTools style, inheritance-stacked byte fields, 128 bytes) so that no neighbouring object shares their lines.
 */
public final class EventFd extends EventFdPad1
{
    private static final VarHandle COUNT;
    private static final VarHandle PARKED;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            COUNT = lookup.findVarHandle(EventFdFields.class, "count", long.class);
            PARKED = lookup.findVarHandle(EventFdFields.class, "parked", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final String name;

    /**
     * @param name what the channel carries ("kick", "call"), for messages.
     */
    public EventFd(final String name)
    {
        this.name = name;
    }

    /** @return the channel's name. */
    public String name()
    {
        return name;
    }

    /** @return the count not yet read, volatile load (for tests and diagnostics). */
    public long pending()
    {
        return lvCount();
    }

    /**
     * {@code eventfd_signal(ctx, 1)}: adds one to the counter and wakes the waiter if it is parked.
     * <p>
     * Everything the caller wrote before (used elements and {@code used.idx}, or the avail ring) happens-before
     * whatever the waiter does after the {@link #await} that reads this signal: the add is a volatile read-modify-write
     * and the read is another.
     */
    public void signal()
    {
        // StoreLoad: the count must be visible before we look at parked (Dekker with the waiter's parked store and
        // count re-read). getAndAdd is a lock xadd, a full fence.
        COUNT.getAndAdd(this, 1L);
        if (lvParked() != 0)
        {
            LockSupport.unpark(waiter);
        }
    }

    /**
     * A non-blocking {@code read}: takes the count if there is one.
     *
     * @return the count accumulated since the last read, or 0 (an {@code EAGAIN}).
     */
    public long poll()
    {
        return lvCount() == 0 ? 0 : (long)COUNT.getAndSet(this, 0L);
    }

    /**
     * The blocking {@code read}: spins up to {@code spins} times on the counter, then parks until a signal arrives or
     * {@code timeoutNs} has passed. Only one thread may wait on a channel at a time.
     *
     * @param spins     spins ({@link Thread#onSpinWait()}) before parking; 0 parks at once.
     * @param timeoutNs longest time to park; {@code <= 0} does not park.
     * @return the count accumulated since the last read (and resets it to 0), or 0 if the time ran out or the thread
     * was interrupted (its interrupt status is kept).
     */
    public long await(final int spins, final long timeoutNs)
    {
        if (lvCount() != 0)
        {
            return (long)COUNT.getAndSet(this, 0L);
        }
        for (int i = 0; i < spins; i++)
        {
            Thread.onSpinWait();
            if (lvCount() != 0)
            {
                return (long)COUNT.getAndSet(this, 0L);
            }
        }
        if (timeoutNs <= 0)
        {
            return 0;
        }
        final long deadline = System.nanoTime() + timeoutNs;
        final Thread self = Thread.currentThread();
        waiter = self; // plain: published by the volatile store of parked below
        // StoreLoad: parked must be visible before we re-read count (Dekker with signal()); a volatile store is
        // followed by a full fence.
        svParked(1);
        try
        {
            while (lvCount() == 0)
            {
                final long remaining = deadline - System.nanoTime();
                if (remaining <= 0 || self.isInterrupted())
                {
                    return 0;
                }
                LockSupport.parkNanos(this, remaining);
            }
        }
        finally
        {
            // A signaller that still sees 1 unparks us needlessly: that leaves a permit, and our next park returns
            // at once and loops (a spurious wake-up of park, never a lost one).
            soParked(0);
        }
        return (long)COUNT.getAndSet(this, 0L);
    }

    private long lvCount()
    {
        return (long)COUNT.getVolatile(this);
    }

    private int lvParked()
    {
        return (int)PARKED.getVolatile(this);
    }

    private void svParked(final int value)
    {
        PARKED.setVolatile(this, value);
    }

    private void soParked(final int value)
    {
        PARKED.setOpaque(this, value);
    }

    @Override
    public String toString()
    {
        return "EventFd[" + name + ", count " + lvCount() + (lvParked() != 0 ? ", waiter parked]" : "]");
    }
}
