package vqdma.ring;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import vqdma.dma.GuestMemory;
import vqdma.ring.peer.LoopbackDevice;
import vqdma.ring.peer.LoopbackDriver;
import vqdma.ring.peer.LoopbackLoop;
import vqdma.ring.peer.PeerFailure;
import vqdma.ring.peer.PeerResult;
import vqdma.ring.peer.SharedRingFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.Vring.*;

/**
 * The proof that the layouts are real: the Java driver and device against a C driver and device written from the
 * kernel's {@code linux/virtio_ring.h} alone, over one shared file (docs/file-protocol.md: the split layout of
 * protocol v1, and its packed variant), in all four pairings, with and without indirect descriptors and EVENT_IDX, random chain shapes and
 * out-of-order completion. Split: queue sizes 1, 2, 256 and 32768, 70,000 requests each (every u16 index wraps).
 * Packed: queue sizes 1, 3, 256 and 32768, 1,000 requests each (the wrap counters flip hundreds of times on the small
 * rings), and one run of 70,000. Both sides check every byte. Then a C peer breaks the protocol on purpose and the
 * Java side must say exactly what it saw.
 * <p>
 * Java peers run in this JVM, each on its own thread and its own mapping of the file; C peers run as processes.
 */
class InteropTest
{
    static final int REQUESTS = 70_000;
    /** Requests of each packed pairing but the long one: the split cases already take most of the interop time. */
    static final int PACKED_REQUESTS = 1_000;
    static final int TIMEOUT_S = 20;
    static final int MAX_BUFFERS = 4;
    static final int MAX_LEN = 64;
    private static final Pattern SUMMARY = Pattern.compile(
        "vring-peer (driver|device) ok requests=(\\d+) bytes=(\\d+) elapsed_ns=(\\d+) kicks=(\\d+) interrupts=(\\d+) " +
        "batches=(\\d+)");

    @TempDir
    Path dir;

    static Stream<Arguments> pairings()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final RingLayout layout : RingLayout.values())
        {
            for (final String pairing : new String[] {"java-java", "java-c", "c-java", "c-c"})
            {
                for (final int num : layout == RingLayout.PACKED ? new int[] {1, 3, 256, 32768} :
                    new int[] {1, 2, 256, 32768})
                {
                    for (final int features : new int[] {0, 1, 2, 3})
                    {
                        final int requests = layout == RingLayout.SPLIT ? REQUESTS : PACKED_REQUESTS;
                        cases.add(Arguments.of(layout, pairing, num, (features & 1) != 0, (features & 2) != 0,
                            requests));
                    }
                }
            }
        }
        // The packed ring's long run: more than 65,536 requests, C driver against the Java device, everything on.
        cases.add(Arguments.of(RingLayout.PACKED, "c-java", 256, true, true, REQUESTS));
        return cases.stream();
    }

    static long dataBytes(final int num)
    {
        // Enough for the C driver's worst case (a table of 8 entries plus 8 buffers per descriptor) and the Java one.
        return (long)num * (2 * MAX_BUFFERS * (16 + MAX_LEN)) + (1 << 20);
    }

    List<String> args(final String role, final Path file, final int num, final boolean indirect,
        final boolean eventIdx, final String... extra)
    {
        return args(RingLayout.SPLIT, REQUESTS, role, file, num, indirect, eventIdx, extra);
    }

    List<String> args(final RingLayout layout, final int requests, final String role, final Path file, final int num,
        final boolean indirect, final boolean eventIdx, final String... extra)
    {
        final List<String> args = new ArrayList<>(List.of(role, "--layout", layout.id(), "--file", file.toString(),
            "--queue-size", Integer.toString(num), "--data-bytes", Long.toString(dataBytes(num)), "--requests",
            Integer.toString(requests), "--seed", Integer.toString(num * 31 + 7), "--max-readable",
            Integer.toString(MAX_BUFFERS), "--max-writable", Integer.toString(MAX_BUFFERS), "--max-len",
            Integer.toString(MAX_LEN), "--timeout-s", Integer.toString(TIMEOUT_S)));
        if (indirect)
        {
            args.add("--indirect");
        }
        if (eventIdx)
        {
            args.add("--event-idx");
        }
        args.addAll(List.of(extra));
        return args;
    }

    static long features(final boolean indirect, final boolean eventIdx)
    {
        return features(RingLayout.SPLIT, indirect, eventIdx);
    }

    static long features(final RingLayout layout, final boolean indirect, final boolean eventIdx)
    {
        long features = layout.applyTo(feature(VIRTIO_F_VERSION_1));
        features |= indirect ? feature(VIRTIO_RING_F_INDIRECT_DESC) : 0;
        features |= eventIdx ? feature(VIRTIO_RING_F_EVENT_IDX) : 0;
        return features;
    }

    /** A peer running somewhere: a C process or a Java thread; {@link #finish()} gives its summary or its error. */
    interface Peer
    {
        /** @return the summary line on success. @throws AssertionError or PeerFailure with the peer's message. */
        PeerResult finish() throws Exception;
    }

    Peer c(final List<String> args) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(CTools.program("vring_peer").toString());
        command.addAll(args);
        final CTools.Proc proc = CTools.start(command);
        return () ->
        {
            final CTools.Result result = proc.await(TIMEOUT_S + 30);
            if (result.exit() != 0)
            {
                throw new PeerFailure("C " + args.get(0) + " exit " + result.exit() + ": " + result.stderr());
            }
            return parse(result.stdout());
        };
    }

    static PeerResult parse(final String line)
    {
        final Matcher m = SUMMARY.matcher(line.trim());
        assertTrue(m.matches(), "not a summary line: " + line);
        return new PeerResult(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
            Long.parseLong(m.group(4)), Long.parseLong(m.group(5)), Long.parseLong(m.group(6)),
            Long.parseLong(m.group(7)));
    }

    static Peer java(final java.util.concurrent.Callable<PeerResult> run)
    {
        final CompletableFuture<PeerResult> future = CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return run.call();
            }
            catch (final RuntimeException ex)
            {
                throw ex;
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException(ex);
            }
        }, runnable -> new Thread(runnable, "java-peer").start());
        return () ->
        {
            try
            {
                return future.get(TIMEOUT_S + 30, TimeUnit.SECONDS);
            }
            catch (final ExecutionException ex)
            {
                throw (Exception)ex.getCause();
            }
        };
    }

    Peer javaDevice(final Path file, final int num, final long features, final int reorder, final int requests,
        final int usedBatch) throws Exception
    {
        final GuestMemory memory = SharedRingFile.map(file, num, dataBytes(num), RingLayout.of(features));
        return java(() -> new LoopbackDevice(memory, num, features, requests, TIMEOUT_S * 1_000_000_000L,
            reorder, num, 0, usedBatch).run());
    }

    Peer javaDriver(final Path file, final int num, final long features, final int requests) throws Exception
    {
        final GuestMemory memory = SharedRingFile.map(file, num, dataBytes(num), RingLayout.of(features));
        return java(() -> new LoopbackDriver(memory, num, features, requests, TIMEOUT_S * 1_000_000_000L,
            num * 31 + 7, MAX_BUFFERS, MAX_BUFFERS, MAX_LEN).run());
    }

    @ParameterizedTest(name = "{0} {1} num={2} indirect={3} event-idx={4} requests={5}")
    @MethodSource("pairings")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void pairingsAgreeOnEveryByte(final RingLayout layout, final String pairing, final int num, final boolean indirect,
        final boolean eventIdx, final int requests) throws Exception
    {
        final Path file = dir.resolve("ring");
        SharedRingFile.create(file, num, dataBytes(num), layout);
        final long features = features(layout, indirect, eventIdx);
        final int reorder = Math.min(num, 4);
        final Peer device = pairing.endsWith("java") ? javaDevice(file, num, features, reorder, requests, 1) :
            c(args(layout, requests, "device", file, num, indirect, eventIdx, "--reorder", Integer.toString(reorder)));
        final Peer driver = pairing.startsWith("java") ? javaDriver(file, num, features, requests) :
            c(args(layout, requests, "driver", file, num, indirect, eventIdx));
        final PeerResult drv = driver.finish();
        final PeerResult dev = device.finish();
        assertEquals(requests, drv.requests());
        assertEquals(requests, dev.requests());
        assertEquals(drv.bytes(), dev.bytes(), "both sides count the same bytes");
        assertTrue(drv.bytes() > 0);
    }

    /**
     * {@code --used-batch}: a device that publishes {@code used.idx} once per 32 completions (or when it runs dry),
     * in both languages, against both drivers, with and without EVENT_IDX (whose interrupt decision then spans a
     * batch): every request completes, every byte is checked by the driver, and both sides count the same bytes.
     */
    @ParameterizedTest(name = "{0} {1} event-idx={2} used-batch 32")
    @CsvSource({"SPLIT,java-java,false", "SPLIT,java-c,true", "SPLIT,c-java,false", "SPLIT,c-c,true",
        "PACKED,java-java,true", "PACKED,java-c,false", "PACKED,c-java,true", "PACKED,c-c,false"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void usedBatchesKeepEveryByte(final RingLayout layout, final String pairing, final boolean eventIdx)
        throws Exception
    {
        final int num = 256;
        final int requests = layout == RingLayout.SPLIT ? REQUESTS : PACKED_REQUESTS;
        final Path file = dir.resolve("ring");
        SharedRingFile.create(file, num, dataBytes(num), layout);
        final long features = features(layout, false, eventIdx);
        final Peer device = pairing.endsWith("java") ? javaDevice(file, num, features, 1, requests, 32) :
            c(args(layout, requests, "device", file, num, false, eventIdx, "--used-batch", "32"));
        final Peer driver = pairing.startsWith("java") ? javaDriver(file, num, features, requests) :
            c(args(layout, requests, "driver", file, num, false, eventIdx));
        final PeerResult drv = driver.finish();
        final PeerResult dev = device.finish();
        assertEquals(requests, drv.requests());
        assertEquals(requests, dev.requests());
        assertEquals(drv.bytes(), dev.bytes(), "both sides count the same bytes");
        assertTrue(drv.batches() >= 1 && drv.batches() <= requests, "driver reaps " + drv.batches());
    }

    /**
     * The same seed makes the same requests in both languages: the drivers draw chain shapes, lengths and readable
     * bytes from splitmix64 in the same order (readable bytes buffer by buffer). The peers' loop role (both roles in
     * one thread, deterministic) then counts the same bytes and makes the same kick decisions in C and in Java; the
     * claim of scripts/ring-compare that both pairs do the same work, request for request, rests on it.
     */
    @ParameterizedTest(name = "{0} indirect={1}")
    @CsvSource({"SPLIT,false", "SPLIT,true", "PACKED,false", "PACKED,true"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void bothDriversDrawTheSameRequestsFromTheSameSeed(final RingLayout layout, final boolean indirect)
        throws Exception
    {
        final int num = 256;
        final int requests = 20_000;
        final Path cFile = dir.resolve("c-ring");
        SharedRingFile.create(cFile, num, dataBytes(num), layout);
        final List<String> command = new ArrayList<>();
        command.add(CTools.program("vring_peer").toString());
        command.addAll(args(layout, requests, "loop", cFile, num, indirect, false, "--reorder", "1"));
        final CTools.Result c = CTools.start(command).await(TIMEOUT_S + 30);
        assertEquals(0, c.exit(), "C loop: " + c.stderr());

        final Path javaFile = dir.resolve("java-ring");
        SharedRingFile.create(javaFile, num, dataBytes(num), layout);
        final long features = features(layout, indirect, false);
        final GuestMemory driverMemory = SharedRingFile.map(javaFile, num, dataBytes(num), layout);
        final GuestMemory deviceMemory = SharedRingFile.map(javaFile, num, dataBytes(num), layout);
        final long timeoutNs = TIMEOUT_S * 1_000_000_000L;
        final String java = new LoopbackLoop(driverMemory, deviceMemory,
            new LoopbackDriver(driverMemory, num, features, requests, timeoutNs, num * 31 + 7, MAX_BUFFERS,
                MAX_BUFFERS, MAX_LEN),
            new LoopbackDevice(deviceMemory, num, features, requests, timeoutNs, 1, num * 31 + 7)).run();

        final String times = " (elapsed|cpu)_ns=\\d+";
        assertTrue(java.contains("requests=" + requests + " bytes="), java);
        assertEquals(c.stdout().trim().replaceAll(times, ""), java.trim().replaceAll(times, ""),
            "C and Java loops with the same seed");
    }

    @ParameterizedTest(name = "C device fault {0} is reported by the Java driver as ''{1}''")
    @CsvSource({
        "bad-id, out of range",
        "not-head, is not a head!",
        "bad-len, is greater than the",
        "stall, timeout after 3 s waiting for a used buffer (avail.idx"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theJavaDriverNamesWhatTheDeviceDidWrong(final String fault, final String message) throws Exception
    {
        final int num = 16;
        final Path file = dir.resolve("ring");
        SharedRingFile.create(file, num, dataBytes(num));
        final CTools.Proc device = cFaulty(args("device", file, num, false, false, "--fault", fault, "--timeout-s", "3"));
        final GuestMemory memory = SharedRingFile.map(file, num, dataBytes(num));
        final PeerFailure failure = assertThrows(PeerFailure.class, () -> new LoopbackDriver(memory, num,
            features(false, false), REQUESTS, 3_000_000_000L, 1, MAX_BUFFERS, MAX_BUFFERS, MAX_LEN).run());
        assertTrue(failure.getMessage().contains(message), failure.getMessage());
        assertEquals(0, device.await(30).exit(), "the faulting peer exits quietly");
    }

    @ParameterizedTest(name = "C driver fault {0} is reported by the Java device as ''{1}''")
    @CsvSource({
        "loop, Loop detected",
        "bad-index, Desc index is 21 > 16",
        "avail-jump, Guest moved avail index from",
        "stall, timeout after 3 s waiting for an available buffer (split ring"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theJavaDeviceNamesWhatTheDriverDidWrong(final String fault, final String message) throws Exception
    {
        final int num = 16;
        final Path file = dir.resolve("ring");
        SharedRingFile.create(file, num, dataBytes(num));
        final CTools.Proc driver = cFaulty(args("driver", file, num, false, false, "--fault", fault, "--timeout-s", "3"));
        final GuestMemory memory = SharedRingFile.map(file, num, dataBytes(num));
        final PeerFailure failure = assertThrows(PeerFailure.class, () -> new LoopbackDevice(memory, num,
            features(false, false), REQUESTS, 3_000_000_000L, 1, 1).run());
        assertTrue(failure.getMessage().contains(message), failure.getMessage());
        assertEquals(0, driver.await(30).exit(), "the faulting peer exits quietly");
    }

    @ParameterizedTest(name = "C packed device fault {0} is reported by the Java driver as ''{1}''")
    @CsvSource({
        "bad-id, id 23 out of range",
        "not-head, is not a head!",
        "bad-len, is greater than the",
        "used-without-avail, has the USED bit of wrap 1 without the AVAIL bit",
        "stall, timeout after 3 s waiting for a used buffer (packed"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theJavaPackedDriverNamesWhatTheDeviceDidWrong(final String fault, final String message) throws Exception
    {
        final int num = 16;
        final Path file = dir.resolve("ring");
        SharedRingFile.create(file, num, dataBytes(num), RingLayout.PACKED);
        final CTools.Proc device = cFaulty(args(RingLayout.PACKED, REQUESTS, "device", file, num, false, false,
            "--fault", fault, "--timeout-s", "3"));
        final GuestMemory memory = SharedRingFile.map(file, num, dataBytes(num), RingLayout.PACKED);
        final PeerFailure failure = assertThrows(PeerFailure.class, () -> new LoopbackDriver(memory, num,
            features(RingLayout.PACKED, false, false), REQUESTS, 3_000_000_000L, 1, MAX_BUFFERS, MAX_BUFFERS,
            MAX_LEN).run());
        assertTrue(failure.getMessage().contains(message), failure.getMessage());
        assertEquals(0, device.await(30).exit(), "the faulting peer exits quietly");
    }

    @ParameterizedTest(name = "C packed driver fault {0} is reported by the Java device as ''{1}''")
    @CsvSource({
        "bad-id, Buffer id 21 out of range (queue size 16)",
        "reused-id, is already in flight",
        "avail-and-used, has AVAIL and USED both 1",
        "chain-too-long, Chain at 0 is longer than the 16 descriptors not in flight",
        "stall, timeout after 3 s waiting for an available buffer (packed ring"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theJavaPackedDeviceNamesWhatTheDriverDidWrong(final String fault, final String message) throws Exception
    {
        final int num = 16;
        final Path file = dir.resolve("ring");
        SharedRingFile.create(file, num, dataBytes(num), RingLayout.PACKED);
        final CTools.Proc driver = cFaulty(args(RingLayout.PACKED, REQUESTS, "driver", file, num, false, false,
            "--fault", fault, "--timeout-s", "3"));
        final GuestMemory memory = SharedRingFile.map(file, num, dataBytes(num), RingLayout.PACKED);
        // A completion window of 4: the reused id must find the first one still in flight.
        final PeerFailure failure = assertThrows(PeerFailure.class, () -> new LoopbackDevice(memory, num,
            features(RingLayout.PACKED, false, false), REQUESTS, 3_000_000_000L, 4, 1).run());
        assertTrue(failure.getMessage().contains(message), failure.getMessage());
        assertEquals(0, driver.await(30).exit(), "the faulting peer exits quietly");
    }

    CTools.Proc cFaulty(final List<String> args) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(CTools.program("vring_peer").toString());
        command.addAll(args);
        return CTools.start(command);
    }
}
