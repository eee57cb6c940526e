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
        long injected = 0;
        for (final SoakTotals t : result.totals().values())
        {
            injected += t.faultsInjected();
        }
        assertTrue(injected > 0, report);
    }
}
