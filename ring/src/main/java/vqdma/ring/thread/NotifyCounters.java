package vqdma.ring.thread;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** Padding before the counters: 128 bytes. */
abstract class NotifyCountersPad0
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

/** The counters: written by one thread (the side's), read by any. */
abstract class NotifyCountersFields extends NotifyCountersPad0
{
    long sent;
    long suppressed;
    long wakeups;
    long spurious;
    long sleeps;
    long work;
    long batches;
}

/** Padding after the counters: 128 bytes. */
abstract class NotifyCountersPad1 extends NotifyCountersFields
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
 * One side's notification counters: what it sent, what it suppressed, how often it slept and woke, and how often a
 * wake-up found nothing to do. The driver's "sent" are kicks, the device's are interrupts (calls).
 *
 * <h2>Memory mode</h2>
 * Each counter has a single writer, the side's own thread, which increments it with a plain load of its own last
 * value and an <em>opaque</em> store (a plain {@code mov} on x86 that the JIT may neither drop nor merge with a later
 * one). Readers on other threads use opaque loads: each counter is read atomically (never a torn {@code long}), and
 * successive reads of one counter never go backwards (coherence), but a reader may see a value a little old, and the
 * counters are not a consistent snapshot of each other. For exact totals read them after joining the side's thread
 * (the join is a happens-before edge). The fields are padded on both sides so that the writer's increments never
 * invalidate a line the other side's hot path reads.
 */
public final class NotifyCounters extends NotifyCountersPad1
{
    private static final VarHandle SENT;
    private static final VarHandle SUPPRESSED;
    private static final VarHandle WAKEUPS;
    private static final VarHandle SPURIOUS;
    private static final VarHandle SLEEPS;
    private static final VarHandle WORK;
    private static final VarHandle BATCHES;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            SENT = lookup.findVarHandle(NotifyCountersFields.class, "sent", long.class);
            SUPPRESSED = lookup.findVarHandle(NotifyCountersFields.class, "suppressed", long.class);
            WAKEUPS = lookup.findVarHandle(NotifyCountersFields.class, "wakeups", long.class);
            SPURIOUS = lookup.findVarHandle(NotifyCountersFields.class, "spurious", long.class);
            SLEEPS = lookup.findVarHandle(NotifyCountersFields.class, "sleeps", long.class);
            WORK = lookup.findVarHandle(NotifyCountersFields.class, "work", long.class);
            BATCHES = lookup.findVarHandle(NotifyCountersFields.class, "batches", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // writer side: the owning thread only
    // ---------------------------------------------------------------------------------------------------------------

    void incSent()
    {
        SENT.setOpaque(this, sent + 1);
    }

    void incSuppressed()
    {
        SUPPRESSED.setOpaque(this, suppressed + 1);
    }

    void incWakeups()
    {
        WAKEUPS.setOpaque(this, wakeups + 1);
    }

    void incSpurious()
    {
        SPURIOUS.setOpaque(this, spurious + 1);
    }

    void incSleeps()
    {
        SLEEPS.setOpaque(this, sleeps + 1);
    }

    void addWork(final long n)
    {
        WORK.setOpaque(this, work + n);
    }

    void incBatches()
    {
        BATCHES.setOpaque(this, batches + 1);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // reader side: any thread, opaque loads
    // ---------------------------------------------------------------------------------------------------------------

    /** @return notifications sent (driver: kicks; device: interrupts), opaque load. */
    public long sent()
    {
        return (long)SENT.getOpaque(this);
    }

    /** @return notifications the protocol let this side skip (NO_NOTIFY/NO_INTERRUPT or EVENT_IDX), opaque load. */
    public long suppressed()
    {
        return (long)SUPPRESSED.getOpaque(this);
    }

    /** @return wake-ups by a notification from the other side (a non-zero eventfd read), opaque load. */
    public long wakeups()
    {
        return (long)WAKEUPS.getOpaque(this);
    }

    /** @return wake-ups that found nothing to do (the work had been taken by polling already), opaque load. */
    public long spurious()
    {
        return (long)SPURIOUS.getOpaque(this);
    }

    /** @return times this side enabled notifications and went to sleep on its eventfd, opaque load. */
    public long sleeps()
    {
        return (long)SLEEPS.getOpaque(this);
    }

    /** @return requests done: completions taken (driver) or chains served (device), opaque load. */
    public long work()
    {
        return (long)WORK.getOpaque(this);
    }

    /** @return used-ring publications (device: {@code vhost_add_used_n} flushes; driver: unused), opaque load. */
    public long batches()
    {
        return (long)BATCHES.getOpaque(this);
    }

    @Override
    public String toString()
    {
        return "sent " + sent() + ", suppressed " + suppressed() + ", wakeups " + wakeups() + ", spurious " +
            spurious() + ", sleeps " + sleeps() + ", work " + work() + ", batches " + batches();
    }
}
