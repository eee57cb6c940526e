package vqdma.bench.peer;

import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
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

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The peer of {@code vqdma.bench.ring.RingRoundTripBenchmark}: the same round trips through a pair of Agrona
 * {@code OneToOneRingBuffer}s (off-heap, like the split ring), a request ring and a response ring with room for
 * {@code queueSize} messages of 8 bytes each (16-byte records with the header), and an echo thread that writes every
 * request it reads into the response ring. One operation is one batch: write {@code batch} messages, then read
 * until {@code batch} came back; {@code roundTrips} is requests per second. Both sides busy-poll.
 * <p>
 * Agrona's ring writes a record header and the message, publishes it with an ordered store of the length, and the
 * reader zeroes what it consumed: closer in kind to the split ring (off-heap records, a consumer that writes the
 * shared memory back) than the JCTools pair, which moves references.
 * <p>
 * Pitfalls and lifecycle as in the ring benchmark. Allocation: none (the handlers are created once), expect about
 * 0 B/op with {@code -prof gc}.
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar 'RoundTripBenchmark' -p queueSize=256 -p indirect=false
 *   java -jar benchmarks/target/benchmarks.jar AgronaRoundTripBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AgronaRoundTripBenchmark
{
    /** 256 by default, as the ring's round trip; {@code -p queueSize=64,256,1024} for the sweep. */
    @Param({"256"})
    int queueSize;

    @Param({"1", "32"})
    int batch;

    /** {@code split}: the driver on CPU 0, the echo thread on CPU 1; {@code none}. */
    @Param({"none"})
    String affinity;

    static final int MSG_TYPE = 1;
    static final int RECORD = 16;

    OneToOneRingBuffer requests;
    OneToOneRingBuffer responses;
    UnsafeBuffer message;
    EchoThread echo;
    MessageHandler receiver;
    int received;
    long sum;

    /** Requests per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Counters
    {
        public long roundTrips;

    }

    static OneToOneRingBuffer ring(final int messages)
    {
        final int capacity = Integer.highestOneBit(messages * RECORD - 1) << 1;
        return new OneToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(capacity + RingBufferDescriptor.TRAILER_LENGTH)));
    }

    @Setup(Level.Trial)
    public void setUp()
    {
        requests = ring(queueSize);
        responses = ring(queueSize);
        message = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        final OneToOneRingBuffer in = requests;
        final OneToOneRingBuffer out = responses;
        final MessageHandler echoHandler = (msgTypeId, buffer, index, length) ->
        {
            while (!out.write(msgTypeId, buffer, index, length))
            {
                Thread.onSpinWait();
            }
        };
        receiver = (msgTypeId, buffer, index, length) ->
        {
            received++;
            sum += buffer.getLong(index);
        };
        echo = new EchoThread("agrona-echo", () -> in.read(echoHandler));
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
    public long roundTrip(final Counters counters)
    {
        final OneToOneRingBuffer requests = this.requests;
        final OneToOneRingBuffer responses = this.responses;
        final UnsafeBuffer message = this.message;
        final int batch = this.batch;
        for (int i = 0; i < batch; i++)
        {
            message.putLong(0, i);
            if (!requests.write(MSG_TYPE, message, 0, 8))
            {
                throw new IllegalStateException("request ring full at " + i + " of " + batch);
            }
        }
        received = 0;
        final long start = System.nanoTime();
        int spins = 0;
        while (received < batch)
        {
            if (responses.read(receiver) == 0)
            {
                EchoThread.spin(start, ++spins, echo);
            }
        }
        counters.roundTrips += batch;
        return sum;
    }
}
