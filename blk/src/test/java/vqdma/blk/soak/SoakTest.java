package vqdma.blk.soak;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import vqdma.dma.DmaProfile;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The short CI variant of the soak: every DMA profile, faults on, {@code vqdma.soak.seconds} seconds (30 by default;
 * {@code scripts/soak} runs the long one). Fails on any violation, with the soak's own report as the message.
 */
class SoakTest
{
    static final long SECONDS = Long.getLong("vqdma.soak.seconds", 30);

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shortSoakOverEveryProfileWithFaults()
    {
        final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        final SoakRunner.Options options = new SoakRunner.Options(TimeUnit.SECONDS.toNanos(SECONDS),
            TimeUnit.SECONDS.toNanos(SECONDS) / 10, 3, 4, 256, 32L << 20, 0x50A4L, SoakFaults.defaults(),
            List.of(DmaProfile.values()));
        final SoakRunner.Result result;
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8))
        {
            result = new SoakRunner(options, out).run();
        }
        final String report = buffer.toString(StandardCharsets.UTF_8);
        System.out.println(report);
        assertTrue(result.passed(), report);
        for (final SoakTotals t : result.totals().values())
        {
            assertTrue(t.ok() > 0, t.profile() + ": bios went through\n" + report);
            assertTrue(t.verifiedBytes() > 0, t.profile() + ": reads were verified\n" + report);
            assertEquals(0, t.corrupted(), report);
            assertEquals(0, t.leaks(), report);
        }
        final SoakTotals bounced = result.totals().get(DmaProfile.SWIOTLB_FORCE);
        assertTrue(bounced.requeues() > 0, "the hog filled the bounce pool: requests were requeued\n" + report);
        assertTrue(bounced.hogEpisodes.get() > 0, "the hog ran\n" + report);
        long delays = 0;
        long reorders = 0;
        long lostKicks = 0;
        long lostCalls = 0;
        long backend = 0;
        long dma = 0;
        long failedByDma = 0;
        long failedByBackend = 0;
        for (final SoakTotals t : result.totals().values())
        {
            delays += t.delays.get();
            reorders += t.reorders.get();
            lostKicks += t.lostKicks.get();
            lostCalls += t.lostCalls.get();
            backend += t.backendIoerrs.get();
            dma += t.dmaFaults.get();
            failedByDma += t.failed(FaultInjector.Reason.DMA_FAULT);
            failedByBackend += t.failed(FaultInjector.Reason.BACKEND_IOERR);
            assertEquals(0, t.failed(FaultInjector.Reason.UNEXPLAINED), report);
        }
        long takenBack = 0;
        for (final SoakTotals t : result.totals().values())
        {
            takenBack += t.resetReturned.get();
        }
        assertTrue(takenBack > 0, "resets with requests on the rings took them back\n" + report);
        // Every kind of fault happened, and the failures it caused were matched with it (a bio may hold several).
        assertTrue(delays > 0 && reorders > 0 && lostKicks > 0 && lostCalls > 0, report);
        assertTrue(failedByDma > 0 && failedByDma <= dma, "DMA faults " + dma + ", bios failed by them " +
            failedByDma + "\n" + report);
        assertTrue(failedByBackend > 0 && failedByBackend <= backend, "backend IOERRs " + backend +
            ", bios failed by them " + failedByBackend + "\n" + report);
    }
}
