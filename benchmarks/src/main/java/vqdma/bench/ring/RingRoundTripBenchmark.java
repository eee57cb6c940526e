package vqdma.bench.ring;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.agrona.concurrent.UnsafeBuffer;
import vqdma.ring.DescriptorChain;
import vqdma.ring.RingLayout;
import vqdma.ring.SgList;
import vqdma.ring.thread.NotifyCounters;
import vqdma.ring.thread.TwoThreadQueue;
import vqdma.ring.thread.VirtqueueGuest;
import vqdma.ring.thread.WaitStrategy;
import vqdma.bench.peer.Affinities;

import java.util.concurrent.TimeUnit;

/**
 * Round trips through a ring (split or packed: {@code layout}) served by another thread: the benchmark thread is the guest (driver), a
 * {@code VhostWorker} thread owned by the state is the device. One operation is one batch: the driver adds
 * {@code batch} requests (each a 16-byte device-readable header and a 16-byte device-writable status, as a block
 * request's header and status), kicks, and waits until all of them came back; the device pops, walks and checks each
 * chain, writes one status byte, and publishes the used elements in batches ({@code vhost_add_used_n}). The
 * {@code roundTrips} counter is requests per second, the number to compare with the peers.
 *
 * <h2>Modes</h2>
 * {@code mode=poll}: both threads spin on the ring, nobody notifies (ringtest's default; the device thread burns its
 * core even between iterations). {@code mode=notify}: EVENT_IDX, kicks and interrupts through eventfds, each side
 * sleeping ({@code park}) when its ring is dry after "enable, re-check" (ringtest's {@code --sleep}).
 * {@code -p mode=notify:spin:2000} (or any {@code WaitStrategy.parse} text after {@code notify:}) spins before it
 * parks. The aux counters say how many notifications each side sent and how many the protocol suppressed.
 *
 * <h2>Pitfalls, and why the device thread belongs to the state</h2>
 * <ul>
 *   <li>With {@code @Group} (a driver method and a device method run by JMH in two threads) the device method would
 *   have to return after each invocation, and it cannot know when the driver is done: at the end of an iteration
 *   JMH stops calling the driver while the device method waits for requests that never come, and the iteration
 *   never ends (or the device has to time out, which measures the timeout). The device's natural shape is a loop
 *   that sleeps on a kick, so it runs as its own thread, started at trial set-up and stopped (and joined) at
 *   trial tear-down.</li>
 *   <li>Every invocation waits until everything it added came back, so no request crosses an iteration boundary
 *   and the device is idle when JMH measures nothing.</li>
 *   <li>The machine has two cores: in poll mode the two spinning threads occupy both, and anything else (JIT,
 *   GC, another process) preempts one of them and stalls the other. Use the median over forks and compare
 *   against the peers measured in the same run.</li>
 *   <li>Every wait has a timeout (10 s): a lost notification or a dead device fails the benchmark with a
 *   {@code DeviceFailure} rather than hanging it.</li>
 * </ul>
 *
 * <h2>Peers</h2>
 * {@code vqdma.bench.peer.JctoolsRoundTripBenchmark} ({@code SpscArrayQueue} request and response queues) and
 * {@code vqdma.bench.peer.AgronaRoundTripBenchmark} ({@code OneToOneRingBuffer} pair) do the same round trips with
 * the same {@code queueSize} and {@code batch}, with an echo thread, busy-polling. Expected: the split ring, which
 * does much more per request (descriptor walk and validation, used elements, index publication on two cache lines),
 * at least half the JCTools pair's round-trip rate in poll mode. Measured (2-vCPU VM, JDK 17, 2026-12-06, split
 * ring, {@code affinity=split}, 6 forks each, same runs): batch 1, 1.11 M against 2.21 M round trips/s (0.50x);
 * batch 32, 0.19 M against 1.16 M batches/s (0.16x): at batch 32 a ring request still moves about two cache lines
 * between the CPUs (descriptors, available and used entries, the status byte in the request's buffer) where a JCTools
 * element moves an eighth of one; the profile and the packed ring's figures are in docs/ring.md and
 * docs/packed-ring.md.
 *
 * <h2>Allocation</h2>
 * None in steady state, on either thread: run with {@code -prof gc}, expect {@code gc.alloc.rate.norm} about
 * 0 B/op.
 *
 * <h2>How to run</h2>
 * The default matrix is 16 cells, queue size 256, both layouts (about three minutes; {@code -p queueSize=64,256,1024}
 * sweeps the size, {@code -p layout=packed} takes one layout):
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'RoundTripBenchmark' -p queueSize=256 -p indirect=false
 *   java -jar benchmarks/target/benchmarks.jar RingRoundTripBenchmark -p queueSize=256 -p batch=32 -prof gc
 *   java -jar benchmarks/target/benchmarks.jar RingRoundTripBenchmark -p mode=notify,notify:spin:2000
 *   java -jar benchmarks/target/benchmarks.jar RingRoundTripBenchmark -p batch=32 -p publish=add,kick
 *   java -jar benchmarks/target/benchmarks.jar 'RoundTripBenchmark' -p queueSize=256 -p affinity=split
 * </pre>
 * On a machine shared with other busy processes, {@code -p affinity=split} (driver on CPU 0, device or echo thread
 * on CPU 1, in all three benchmarks) keeps the scheduler from putting the two spinning threads on one CPU, where a
 * round trip waits for a time slice (iterations of a few thousand round trips per second).
 * The first line runs the ring and both peers in one run with the same shape (about 2 minutes).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RingRoundTripBenchmark
{
    static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    static final int HEADER = 16;
    static final int STATUS = 16;

    /**
     * The queue, its device thread and the requests. A state of its own (not the benchmark class) so that the
     * counters' fixtures can take it: JMH would give a fixture that takes the benchmark class a second instance.
     */
    @State(Scope.Thread)
    public static class Ring
    {
        /** 256 by default (the budget of the whole matrix); {@code -p queueSize=64,256,1024} for the sweep. */
        @Param({"256"})
        int queueSize;

        @Param({"1", "32"})
        int batch;

        @Param({"false", "true"})
        boolean indirect;

        @Param({"poll", "notify"})
        String mode;

        /** When {@code avail.idx} is published: every add (the kernel), or once per batch at the kick. */
        @Param({"add"})
        String publish;

        /** {@code split}: the driver on CPU 0, the device on CPU 1 (ringtest's affinity options); {@code none}. */
        @Param({"none"})
        String affinity;

        /**
         * {@code split} or {@code packed} ({@code VIRTIO_F_RING_PACKED}). In the packed ring a request and its used
         * descriptor share cache lines with the neighbouring requests, and there are no index lines to bounce.
         */
        @Param({"split", "packed"})
        String layout;

        TwoThreadQueue queue;
        VirtqueueGuest guest;
        SgList[] requests;
        Integer[] tokens;

        @Setup(Level.Trial)
        public void setUp()
        {
            final boolean notify = mode.startsWith("notify");
            final WaitStrategy strategy;
            if (mode.equals("poll"))
            {
                strategy = WaitStrategy.busyPoll();
            }
            else if (mode.equals("notify"))
            {
                strategy = WaitStrategy.park();
            }
            else if (mode.startsWith("notify:"))
            {
                strategy = WaitStrategy.parse(mode.substring("notify:".length()));
            }
            else
            {
                throw new IllegalArgumentException("mode=" + mode + ": expected poll, notify or notify:<strategy>");
            }
            if (batch < 1 || batch * (indirect ? 1 : 2) > queueSize)
            {
                throw new IllegalArgumentException("batch " + batch + " of " + (indirect ? 1 : 2) +
                    "-descriptor requests does not fit a queue of " + queueSize);
            }
            if (!publish.equals("add") && !publish.equals("kick"))
            {
                throw new IllegalArgumentException("publish=" + publish + ": expected add or kick");
            }
            final boolean split = Affinities.split(affinity);
            queue = TwoThreadQueue.builder(queueSize).layout(RingLayout.parse(layout)).eventIdx(notify)
                .indirect(indirect).strategy(strategy)
                .publishOnKick(publish.equals("kick")).name("vhost-bench").handler(RingRoundTripBenchmark::status)
                .onDeviceStart(() -> Affinities.pin(split, 1)).build();
            Affinities.pin(split, 0);
            guest = queue.guest();
            final long buffers = queue.memory().allocate((long)batch * (HEADER + STATUS), 64);
            requests = new SgList[batch];
            tokens = new Integer[batch];
            for (int i = 0; i < batch; i++)
            {
                final long at = buffers + (long)i * (HEADER + STATUS);
                requests[i] = new SgList(2).out(at, HEADER).in(at + HEADER, STATUS);
                tokens[i] = i;
            }
            queue.start();
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            queue.shutdown(10, TimeUnit.SECONDS, token -> { }, token -> { });
        }
    }

    /**
     * Outcomes per second: requests, and notifications sent and suppressed on each side. The counters of the two
     * sides are read at the iteration's start and end (opaque loads; the device's are written by the device
     * thread). The ring reaches this state through the benchmark method, not a fixture parameter: JMH would give a
     * fixture that takes {@link Ring} an instance (and a device thread) of its own.
     */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long roundTrips;
        public long kicks;
        public long kicksSuppressed;
        public long interrupts;
        public long interruptsSuppressed;
        public long spurious;

        Ring ring;
        long k0;
        long ks0;
        long i0;
        long is0;
        long sp0;

        void start(final Ring ring)
        {
            this.ring = ring;
            snapshot();
        }

        private void snapshot()
        {
            final NotifyCounters g = ring.guest.counters();
            final NotifyCounters d = ring.queue.worker().counters();
            k0 = g.sent();
            ks0 = g.suppressed();
            i0 = d.sent();
            is0 = d.suppressed();
            sp0 = g.spurious() + d.spurious();
        }

        /** Reads the counters' starting points. */
        @Setup(Level.Iteration)
        public void reset()
        {
            if (ring != null)
            {
                snapshot();
            }
        }

        /** Turns the starting points into this iteration's counts. */
        @TearDown(Level.Iteration)
        public void collect()
        {
            if (ring != null)
            {
                final NotifyCounters g = ring.guest.counters();
                final NotifyCounters d = ring.queue.worker().counters();
                kicks = g.sent() - k0;
                kicksSuppressed = g.suppressed() - ks0;
                interrupts = d.sent() - i0;
                interruptsSuppressed = d.suppressed() - is0;
                spurious = g.spurious() + d.spurious() - sp0;
            }
        }
    }

    /** The device: writes a status byte (0, OK) into the first writable byte. */
    static int status(final DescriptorChain chain)
    {
        final UnsafeBuffer mem = chain.memory();
        mem.putByte((int)chain.runGpa(chain.outRuns()), (byte)0);
        return 1;
    }

    @Benchmark
    public int roundTrip(final Ring ring, final Counters counters)
    {
        if (counters.ring == null)
        {
            counters.start(ring);
        }
        final VirtqueueGuest guest = ring.guest;
        final SgList[] requests = ring.requests;
        final Integer[] tokens = ring.tokens;
        final int batch = ring.batch;
        for (int i = 0; i < batch; i++)
        {
            final int err = guest.add(requests[i], tokens[i]);
            if (err != 0)
            {
                throw new IllegalStateException("add failed with " + err);
            }
        }
        guest.kick();
        int written = 0;
        for (int i = 0; i < batch; i++)
        {
            guest.awaitBuf(TIMEOUT_NS);
            written += guest.usedLen();
        }
        counters.roundTrips += batch;
        return written;
    }
}
