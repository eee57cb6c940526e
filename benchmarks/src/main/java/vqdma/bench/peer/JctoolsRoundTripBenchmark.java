package vqdma.bench.peer;

import org.jctools.queues.SpscArrayQueue;
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

import java.util.concurrent.TimeUnit;

/**
 * The peer of {@code vqdma.bench.ring.RingRoundTripBenchmark}: the same round trips through a pair of JCTools
 * {@code SpscArrayQueue}s, a request queue (driver to device) and a response queue (device to driver), each of
 * {@code queueSize} slots, with an echo thread that moves every request it polls to the response queue. One
 * operation is one batch: offer {@code batch} tokens, then poll until {@code batch} came back; {@code roundTrips} is
 * requests per second. Both sides busy-poll, as the ring's {@code mode=poll}.
 * <p>
 * This is the lower bound of what a round trip between two cores costs in Java: one slot written and read in each
 * direction, with JCTools' padding, cached indices and ordered stores. The split ring moves more per request (a
 * descriptor chain, an avail entry, a used element, two indices) and validates all of it; the goal is at least
 * half this rate.
 * <p>
 * Pitfalls and lifecycle as in the ring benchmark: the echo thread belongs to the state (a {@code @Group} device
 * method could not know when to stop), every invocation drains what it sent, every wait has a timeout. Allocation:
 * none (the tokens are preallocated {@code Integer}s), expect about 0 B/op with {@code -prof gc}.
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'RoundTripBenchmark' -p queueSize=256 -p indirect=false
 *   java -jar benchmarks/target/benchmarks.jar JctoolsRoundTripBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class JctoolsRoundTripBenchmark
{
    /** 256 by default, as the ring's round trip; {@code -p queueSize=64,256,1024} for the sweep. */
    @Param({"256"})
    int queueSize;

    @Param({"1", "32"})
    int batch;

    /** {@code split}: the driver on CPU 0, the echo thread on CPU 1; {@code none}. */
    @Param({"none"})
    String affinity;

    SpscArrayQueue<Integer> requests;
    SpscArrayQueue<Integer> responses;
    Integer[] tokens;
    EchoThread echo;

    /** Requests per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long roundTrips;

    }

    @Setup(Level.Trial)
    public void setUp()
    {
        requests = new SpscArrayQueue<>(queueSize);
        responses = new SpscArrayQueue<>(queueSize);
        tokens = new Integer[batch];
        for (int i = 0; i < batch; i++)
        {
            tokens[i] = i;
        }
        final SpscArrayQueue<Integer> in = requests;
        final SpscArrayQueue<Integer> out = responses;
        echo = new EchoThread("jctools-echo", () ->
        {
            int n = 0;
            Integer token;
            while ((token = in.poll()) != null)
            {
                while (!out.offer(token))
                {
                    Thread.onSpinWait();
                }
                n++;
            }
            return n;
        });
        final boolean split = Affinities.split(affinity);
        echo.onStart(() -> Affinities.pin(split, 1));
        echo.start();
        Affinities.pin(split, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        echo.stop();
    }

    @Benchmark
    public int roundTrip(final Counters counters)
    {
        final SpscArrayQueue<Integer> requests = this.requests;
        final SpscArrayQueue<Integer> responses = this.responses;
        final Integer[] tokens = this.tokens;
        final int batch = this.batch;
        for (int i = 0; i < batch; i++)
        {
            if (!requests.offer(tokens[i]))
            {
                throw new IllegalStateException("request queue full at " + i + " of " + batch);
            }
        }
        int sum = 0;
        final long start = System.nanoTime();
        int spins = 0;
        for (int i = 0; i < batch; i++)
        {
            Integer token;
            while ((token = responses.poll()) == null)
            {
                EchoThread.spin(start, ++spins, echo);
            }
            sum += token;
        }
        counters.roundTrips += batch;
        return sum;
    }
}
