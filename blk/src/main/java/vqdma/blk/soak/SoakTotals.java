package vqdma.blk.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The counts of one DMA profile over every round of a soak. Updated by the driver threads and the round. */
public final class SoakTotals
{
    /** Violations kept verbatim; more are only counted. */
    static final int MAX_MESSAGES = 20;

    final String profile;
    final AtomicLong rounds = new AtomicLong();
    final AtomicLong bios = new AtomicLong();
    final AtomicLong ok = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong verifiedBytes = new AtomicLong();
    final AtomicLong corrupted = new AtomicLong();
    final AtomicLong requests = new AtomicLong();
    final AtomicLong requeues = new AtomicLong();
    final AtomicLong resetReturned = new AtomicLong();
    final AtomicLong resetCompleted = new AtomicLong();
    final AtomicLong hogEpisodes = new AtomicLong();
    final AtomicLong deviceSleeps = new AtomicLong();
    final AtomicLong deviceWakeups = new AtomicLong();
    final AtomicLong delays = new AtomicLong();
    final AtomicLong reorders = new AtomicLong();
    final AtomicLong lostKicks = new AtomicLong();
    final AtomicLong lostCalls = new AtomicLong();
    final AtomicLong backendIoerrs = new AtomicLong();
    final AtomicLong dmaFaults = new AtomicLong();
    final AtomicLong leaks = new AtomicLong();
    /** SWIOTLB profiles: failed mappings for want of slots ("swiotlb buffer is full"), the pool hog's included. */
    final AtomicLong bounceFull = new AtomicLong();
    /** SWIOTLB profiles: the most slots in use at once in any round, and the pool's slots. */
    final AtomicLong bounceHiwater = new AtomicLong();
    final AtomicLong bounceSlots = new AtomicLong();
    final AtomicLong violations = new AtomicLong();
    private final AtomicLong[] failed = new AtomicLong[FaultInjector.Reason.values().length];
    private final List<String> messages = new ArrayList<>();

    /** @param profile the DMA profile's name. */
    public SoakTotals(final String profile)
    {
        this.profile = profile;
        for (int i = 0; i < failed.length; i++)
        {
            failed[i] = new AtomicLong();
        }
    }

    void fail(final FaultInjector.Reason reason)
    {
        failed[reason.ordinal()].incrementAndGet();
    }

    /** @param reason a reason. @return bios failed for it. */
    public long failed(final FaultInjector.Reason reason)
    {
        return failed[reason.ordinal()].get();
    }

    void add(final FaultInjector injector)
    {
        delays.addAndGet(injector.delays.get());
        reorders.addAndGet(injector.reorders.get());
        lostKicks.addAndGet(injector.lostKicks.get());
        lostCalls.addAndGet(injector.lostCalls.get());
        backendIoerrs.addAndGet(injector.backendIoerrs.get());
        dmaFaults.addAndGet(injector.dmaFaults.get());
    }

    synchronized void violation(final String message)
    {
        violations.incrementAndGet();
        if (messages.size() < MAX_MESSAGES)
        {
            messages.add(message);
        }
    }

    synchronized void leak(final String message)
    {
        leaks.incrementAndGet();
        violation("leak: " + message);
    }

    /** @return violations and leaks, verbatim (the first {@value #MAX_MESSAGES}). */
    public synchronized List<String> messages()
    {
        return new ArrayList<>(messages);
    }

    /** @return violations of any kind (leaks, corruption, unexplained failures, hangs, accounting). */
    public long violations()
    {
        return violations.get();
    }

    /** @return bytes that differed from the model. */
    public long corrupted()
    {
        return corrupted.get();
    }

    /** @return leaks found after a round. */
    public long leaks()
    {
        return leaks.get();
    }

    /** @return bios done. */
    public long bios()
    {
        return bios.get();
    }

    /** @return bios done OK. */
    public long ok()
    {
        return ok.get();
    }

    /** @return bytes read back and compared with the model. */
    public long verifiedBytes()
    {
        return verifiedBytes.get();
    }

    /** @return requests requeued for resources (ring or bounce pool full). */
    public long requeues()
    {
        return requeues.get();
    }

    /** @return faults injected: delays, reorders, lost kicks and interrupts, backend IOERRs, DMA faults. */
    public long faultsInjected()
    {
        return delays.get() + reorders.get() + lostKicks.get() + lostCalls.get() + backendIoerrs.get() +
            dmaFaults.get() + hogEpisodes.get();
    }

    /** @return the profile's name. */
    public String profile()
    {
        return profile;
    }
}
