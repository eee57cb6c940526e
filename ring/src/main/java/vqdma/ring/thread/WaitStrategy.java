package vqdma.ring.thread;

/**
 * How one side of a {@link TwoThreadQueue} waits when its ring runs dry.
 * <ul>
 *   <li>{@link #busyPoll()}: never enable notifications, spin on the ring ({@code used.idx} or {@code avail.idx})
 *   for ever. This is ringtest's default mode, or a DPDK-style poll-mode driver. Both sides of a queue must then
 *   poll: nobody kicks and nobody interrupts.</li>
 *   <li>{@link #park()}: notifications. When the ring is empty, enable notifications, re-check the ring (so that a
 *   buffer that slipped in meanwhile is not slept on), and block on the eventfd. ringtest's {@code --sleep}.</li>
 *   <li>{@link #spinThenPark(int)}: the same, but spin on the eventfd a while before blocking: a notification that
 *   arrives within the spins costs the waiter no futex sleep and the signaller no futex wake.</li>
 *   <li>{@link #withPollBudget(long)}: before enabling notifications, keep polling the ring with notifications still
 *   disabled for up to that long, as vhost's busy-poll does ({@code busyloop_timeout},
 *   {@code vhost_net_busy_poll()}). While a side polls with notifications disabled, the other side's kicks or
 *   interrupts are suppressed by the protocol (NO_NOTIFY/NO_INTERRUPT, or a stale event index).</li>
 * </ul>
 * The "enable, re-check, sleep" order is {@code virtqueue_enable_cb_prepare()} + {@code virtqueue_poll()} on the
 * driver side and {@code vhost_enable_notify()} on the device side: with it, and the {@link EventFd}'s own
 * guarantee, no wake-up is ever lost. Immutable.
 */
public final class WaitStrategy
{
    private static final WaitStrategy BUSY_POLL = new WaitStrategy(true, 0, 0);
    private static final WaitStrategy PARK = new WaitStrategy(false, 0, 0);

    private final boolean busyPoll;
    private final int spins;
    private final long pollBudgetNs;

    private WaitStrategy(final boolean busyPoll, final int spins, final long pollBudgetNs)
    {
        this.busyPoll = busyPoll;
        this.spins = spins;
        this.pollBudgetNs = pollBudgetNs;
    }

    /** @return spin on the ring, no notifications. */
    public static WaitStrategy busyPoll()
    {
        return BUSY_POLL;
    }

    /** @return enable notifications and block on the eventfd at once. */
    public static WaitStrategy park()
    {
        return PARK;
    }

    /**
     * @param spins spins on the eventfd before blocking, {@code >= 0}.
     * @return enable notifications, spin on the eventfd, then block.
     */
    public static WaitStrategy spinThenPark(final int spins)
    {
        if (spins < 0)
        {
            throw new IllegalArgumentException("spins " + spins + " must be >= 0");
        }
        return new WaitStrategy(false, spins, 0);
    }

    /**
     * @param pollBudgetNs how long to poll the ring with notifications disabled before enabling them, {@code >= 0}.
     * @return this strategy with that poll budget.
     * @throws IllegalArgumentException for {@link #busyPoll()}, which polls without end anyway.
     */
    public WaitStrategy withPollBudget(final long pollBudgetNs)
    {
        if (busyPoll)
        {
            throw new IllegalArgumentException("a busy-poll strategy polls without a budget");
        }
        if (pollBudgetNs < 0)
        {
            throw new IllegalArgumentException("poll budget " + pollBudgetNs + " ns must be >= 0");
        }
        return new WaitStrategy(false, spins, pollBudgetNs);
    }

    /**
     * Parses the command-line form: {@code poll}, {@code park}, {@code spin:N}, optionally followed by
     * {@code +poll:NANOS} (e.g. {@code spin:1000+poll:20000}).
     *
     * @param text the strategy.
     * @return the strategy.
     * @throws IllegalArgumentException if the text is none of these.
     */
    public static WaitStrategy parse(final String text)
    {
        final String[] parts = text.split("\\+", 2);
        final WaitStrategy base;
        try
        {
            if (parts[0].equals("poll"))
            {
                base = busyPoll();
            }
            else if (parts[0].equals("park"))
            {
                base = park();
            }
            else if (parts[0].startsWith("spin:"))
            {
                base = spinThenPark(Integer.parseInt(parts[0].substring(5)));
            }
            else
            {
                throw new IllegalArgumentException("unknown wait strategy '" + parts[0] + "'");
            }
            if (parts.length == 1)
            {
                return base;
            }
            if (!parts[1].startsWith("poll:"))
            {
                throw new IllegalArgumentException("expected +poll:NANOS after '" + parts[0] + "'");
            }
            return base.withPollBudget(Long.parseLong(parts[1].substring(5)));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("wait strategy '" + text + "': " + ex.getMessage() +
                " (expected poll, park or spin:N, optionally +poll:NANOS)", ex);
        }
    }

    /** @return true if this side polls without ever enabling notifications. */
    public boolean isBusyPoll()
    {
        return busyPoll;
    }

    /** @return spins on the eventfd before blocking. */
    public int spins()
    {
        return spins;
    }

    /** @return nanoseconds of ring polling with notifications disabled before enabling them. */
    public long pollBudgetNs()
    {
        return pollBudgetNs;
    }

    @Override
    public String toString()
    {
        final String base = busyPoll ? "poll" : spins == 0 ? "park" : "spin:" + spins;
        return pollBudgetNs > 0 ? base + "+poll:" + pollBudgetNs : base;
    }
}
