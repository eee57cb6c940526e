package vqdma.dma;

/**
 * {@code struct ratelimit_state} and {@code ___ratelimit()} ({@code lib/ratelimit.c}): at most {@code burst} events
 * per {@code interval}; the rest are counted as missed. The kernel's {@code dev_warn_ratelimited()} uses
 * {@code DEFAULT_RATELIMIT_INTERVAL} (5 s) and {@code DEFAULT_RATELIMIT_BURST} (10).
 * <p>
 * Only failure paths call it, so a monitor is fine; it allocates nothing.
 */
final class RateLimitState
{
    /** {@code DEFAULT_RATELIMIT_INTERVAL}: 5 seconds. */
    static final long DEFAULT_INTERVAL_NS = 5_000_000_000L;
    /** {@code DEFAULT_RATELIMIT_BURST}. */
    static final int DEFAULT_BURST = 10;

    private final long intervalNs;
    private final int burst;
    private boolean started;
    private long begin;
    private int printed;
    private long missedTotal;

    /**
     * @param intervalNs window length in nanoseconds.
     * @param burst      events allowed per window.
     */
    RateLimitState(final long intervalNs, final int burst)
    {
        this.intervalNs = intervalNs;
        this.burst = burst;
    }

    /**
     * @param nowNs the current time ({@link System#nanoTime()}).
     * @return true if the event may be reported, false if it is suppressed (and counted).
     */
    synchronized boolean allow(final long nowNs)
    {
        if (!started)
        {
            started = true;
            begin = nowNs;
        }
        if (nowNs - begin > intervalNs)
        {
            begin = nowNs;
            printed = 0;
        }
        if (burst > printed)
        {
            printed++;
            return true;
        }
        missedTotal++;
        return false;
    }

    /** @return events suppressed so far. */
    synchronized long missed()
    {
        return missedTotal;
    }

    /** Back to the state of a new limiter: no interval started, nothing printed or suppressed. */
    synchronized void reset()
    {
        started = false;
        begin = 0;
        printed = 0;
        missedTotal = 0;
    }
}
