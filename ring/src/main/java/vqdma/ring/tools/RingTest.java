package vqdma.ring.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import vqdma.ring.SgList;
import vqdma.ring.thread.NotifyCounters;
import vqdma.ring.RingLayout;
import vqdma.ring.thread.TwoThreadQueue;
import vqdma.ring.thread.VirtqueueGuest;
import vqdma.ring.thread.WaitStrategy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code scripts/ringtest}: the kernel's {@code tools/virtio/ringtest} ({@code main.c} with
 * {@code virtio_ring_0_9.c}) for vqdma's split ring, and the same round trips on its packed ring with
 * {@code --layout packed}. A guest thread (this one) adds buffers and takes them back; a
 * host thread (a {@code VhostWorker}) uses them; both either poll (the default) or sleep on eventfds with
 * notifications ({@code --sleep}), and every buffer makes one round trip.
 * <pre>
 *   ringtest [--poll | --sleep] [--layout split|packed] [--ring-size R] [--run-cycles C] [--batch B]
 *            [--outstanding O] [--no-event-idx]
 *            [--indirect] [--spin N] [--poll-budget-ns T] [--publish-on-kick] [--runs K] [--warmup-runs W]
 *            [--guest-affinity CPU] [--host-affinity CPU]
 * </pre>
 * As in ringtest, the guest kicks after every {@code --batch} buffers it adds (and before it waits, so that no
 * added buffer is left unannounced), takes back whatever is used as it goes, and never has more than
 * {@code --outstanding} buffers in flight. A buffer is one device-writable descriptor of 64 bytes (with
 * {@code --indirect}, a 16-byte device-readable header and the 64 bytes, in an indirect table), and the host "uses"
 * it as ringtest's {@code use_buf()} does: {@code len = desc.len - 1}.
 * <p>
 * Unlike ringtest, which runs one configuration per process, this runs poll mode then sleep mode unless told
 * otherwise, repeats each run {@code --runs} times after {@code --warmup-runs} unreported ones (the JIT compiles the
 * loops during those), and prints, per run, the round trips per second and each side's notifications: sent,
 * suppressed by the protocol (NO_NOTIFY/NO_INTERRUPT or EVENT_IDX), wake-ups and spurious wake-ups.
 */
@Command(name = "scripts/ringtest", mixinStandardHelpOptions = true,
    description = "Round trips through a two-thread ring, split or packed, polling or sleeping " +
        "(like tools/virtio/ringtest).")
public final class RingTest implements Callable<Integer>
{
    private static final Object TOKEN = new Object();
    static final int BUFFER = 64;
    static final int HEADER = 16;

    @Option(names = "--poll", description = "poll mode only (both sides spin on the ring)")
    boolean pollOnly;

    @Option(names = "--sleep", description = "notification mode only (kick/call eventfds, EVENT_IDX by default)")
    boolean sleepOnly;

    @Option(names = {"--ring-size", "--param"}, defaultValue = "256", description = "queue size (default ${DEFAULT-VALUE})")
    int ringSize;

    @Option(names = "--layout", defaultValue = "split",
        description = "ring layout: split or packed (VIRTIO_F_RING_PACKED; default ${DEFAULT-VALUE})")
    String layout;

    @Option(names = "--run-cycles", defaultValue = "1000000", description = "round trips per run (default ${DEFAULT-VALUE})")
    long runCycles;

    @Option(names = "--batch", defaultValue = "1", description = "kick after this many adds (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--outstanding", defaultValue = "0", description = "most buffers in flight (default: as many as fit)")
    int outstanding;

    @Option(names = "--no-event-idx", description = "sleep mode: suppress with NO_NOTIFY/NO_INTERRUPT flags, not EVENT_IDX")
    boolean noEventIdx;

    @Option(names = "--indirect", description = "two-buffer requests through indirect descriptors")
    boolean indirect;

    @Option(names = "--spin", defaultValue = "0", description = "sleep mode: spins on the eventfd before parking (default ${DEFAULT-VALUE})")
    int spin;

    @Option(names = "--poll-budget-ns", defaultValue = "0", description = "sleep mode: poll the ring this long before enabling notifications (default ${DEFAULT-VALUE})")
    long pollBudgetNs;

    @Option(names = "--guest-affinity", defaultValue = "-1", description = "pin the guest thread to this CPU")
    int guestAffinity;

    @Option(names = "--host-affinity", defaultValue = "-1", description = "pin the host (device) thread to this CPU")
    int hostAffinity;

    @Option(names = "--publish-on-kick", description = "publish avail.idx once per batch (at the kick), not per add")
    boolean publishOnKick;

    @Option(names = "--max-batch", defaultValue = "64", description = "host: used elements published at once at most (default ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--runs", defaultValue = "3", description = "measured runs per mode (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--warmup-runs", defaultValue = "1", description = "unreported runs per mode first (default ${DEFAULT-VALUE})")
    int warmupRuns;

    @Option(names = "--timeout-s", defaultValue = "30", description = "longest wait for one buffer (default ${DEFAULT-VALUE})")
    int timeoutS;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One run's outcome. */
    record Run(long cycles, long elapsedNs, long kicks, long kicksSuppressed, long guestWakeups, long guestSpurious,
        long calls, long callsSuppressed, long hostWakeups, long hostSpurious)
    {
        double rate()
        {
            return cycles * 1e9 / elapsedNs;
        }
    }

    @Override
    public Integer call()
    {
        if (pollOnly && sleepOnly)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--poll and --sleep exclude each other");
        }
        if (runCycles < 1 || batch < 1 || outstanding < 0 || runs < 1 || warmupRuns < 0 || timeoutS < 1)
        {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--run-cycles, --batch, --runs, --timeout-s must be >= 1; --outstanding, --warmup-runs >= 0");
        }
        final RingLayout ringLayout;
        try
        {
            ringLayout = RingLayout.parse(layout);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--layout: " + ex.getMessage());
        }
        if (!ringLayout.isValidQueueSize(ringSize))
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--ring-size " + ringSize + " of the " +
                ringLayout.id() + " layout must be " + ringLayout.queueSizes());
        }
        if (guestAffinity >= 0)
        {
            Affinity.pinCurrentThreadOrFail(guestAffinity);
        }
        final List<Boolean> modes = new ArrayList<>();
        if (!sleepOnly)
        {
            modes.add(false);
        }
        if (!pollOnly)
        {
            modes.add(true);
        }
        for (final boolean sleep : modes)
        {
            final List<Run> results = mode(sleep);
            final double[] rates = results.stream().mapToDouble(Run::rate).sorted().toArray();
            out(String.format(Locale.ROOT, "ringtest %s: median %,.0f round trips/s over %d runs (min %,.0f, max %,.0f)",
                describe(sleep), rates[rates.length / 2], rates.length, rates[0], rates[rates.length - 1]));
        }
        return 0;
    }

    private String describe(final boolean sleep)
    {
        return String.format(Locale.ROOT, "%s%s %s ring %d batch %d%s%s", sleep ? "sleep" : "poll",
            sleep ? (noEventIdx ? " (flags)" : " (event-idx)") + " " + WaitStrategy.spinThenPark(spin)
                .withPollBudget(pollBudgetNs) : "", RingLayout.parse(layout).id(), ringSize, batch, indirect ? " indirect" : "",
            publishOnKick ? " publish-on-kick" : "");
    }

    private List<Run> mode(final boolean sleep)
    {
        final WaitStrategy strategy = sleep ? WaitStrategy.spinThenPark(spin).withPollBudget(pollBudgetNs) :
            WaitStrategy.busyPoll();
        final List<Run> results = new ArrayList<>();
        try (TwoThreadQueue q = TwoThreadQueue.builder(ringSize).layout(RingLayout.parse(layout))
            .eventIdx(sleep && !noEventIdx).indirect(indirect)
            .strategy(strategy).maxBatch(maxBatch).publishOnKick(publishOnKick).name("ringtest-host")
            .onDeviceStart(() ->
            {
                if (hostAffinity >= 0)
                {
                    Affinity.pinCurrentThreadOrFail(hostAffinity);
                }
            })
            .handler(chain -> (int)chain.writableBytes() - 1).build())
        {
            final long buffer = q.memory().allocate(HEADER + BUFFER, 64);
            final SgList sg = new SgList(2);
            if (indirect)
            {
                sg.out(buffer, HEADER);
            }
            sg.in(buffer + HEADER, BUFFER);
            final int perRequest = indirect ? 1 : sg.size();
            final int fit = ringSize / perRequest;
            final int limit = outstanding > 0 ? Math.min(outstanding, fit) : fit;
            q.start();
            for (int r = 0; r < warmupRuns + runs; r++)
            {
                final Run run = run(q, sg, Math.max(1, limit), Math.min(batch, Math.max(1, limit)));
                if (r >= warmupRuns)
                {
                    results.add(run);
                    out(String.format(Locale.ROOT,
                        "ringtest %s run %d: %,d round trips in %.3f s = %,.0f/s; guest kicks %d (suppressed %d), " +
                        "woken %d (spurious %d); host calls %d (suppressed %d), woken %d (spurious %d)",
                        describe(sleep), r - warmupRuns + 1, run.cycles(), run.elapsedNs() / 1e9, run.rate(),
                        run.kicks(), run.kicksSuppressed(), run.guestWakeups(), run.guestSpurious(), run.calls(),
                        run.callsSuppressed(), run.hostWakeups(), run.hostSpurious()));
                }
            }
            q.shutdown(timeoutS, TimeUnit.SECONDS, token -> { }, token -> { });
        }
        return results;
    }

    /** run_guest(): one run of runCycles round trips. */
    private Run run(final TwoThreadQueue q, final SgList sg, final int outstanding, final int batch)
    {
        final VirtqueueGuest guest = q.guest();
        final NotifyCounters g = guest.counters();
        final NotifyCounters h = q.worker().counters();
        final long timeoutNs = TimeUnit.SECONDS.toNanos(timeoutS);
        final long g0Sent = g.sent();
        final long g0Supp = g.suppressed();
        final long g0Wake = g.wakeups();
        final long g0Spur = g.spurious();
        final long h0Sent = h.sent();
        final long h0Supp = h.suppressed();
        final long h0Wake = h.wakeups();
        final long h0Spur = h.spurious();
        final long cycles = runCycles;
        long started = 0;
        long completed = 0;
        int tokick = batch;
        final long start = System.nanoTime();
        while (completed < cycles)
        {
            boolean progress;
            do
            {
                progress = false;
                if (started < cycles && started - completed < outstanding && guest.add(sg, TOKEN) == 0)
                {
                    started++;
                    progress = true;
                    if (--tokick == 0)
                    {
                        tokick = batch;
                        guest.kick();
                    }
                }
                if (guest.getBuf() != null)
                {
                    completed++;
                    progress = true;
                }
            }
            while (progress);
            if (completed == cycles)
            {
                break;
            }
            if (tokick != batch)
            {
                // ringtest kicks only every batch adds; a partial batch must still be announced before we wait.
                tokick = batch;
                guest.kick();
            }
            guest.awaitUsed(timeoutNs);
        }
        final long elapsed = System.nanoTime() - start;
        return new Run(cycles, elapsed, g.sent() - g0Sent, g.suppressed() - g0Supp, g.wakeups() - g0Wake,
            g.spurious() - g0Spur, h.sent() - h0Sent, h.suppressed() - h0Supp, h.wakeups() - h0Wake,
            h.spurious() - h0Spur);
    }

    private void out(final String line)
    {
        spec.commandLine().getOut().println(line);
        spec.commandLine().getOut().flush();
    }

    /**
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(Cli.of(new RingTest()).execute(args));
    }
}
