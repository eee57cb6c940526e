package vqdma.blk.soak;

import java.util.concurrent.TimeUnit;

/**
 * How often a soak injects each fault (see {@link FaultInjector}); rates are per request (delay, reorder, backend
 * IOERR per backend call, DMA fault) or per notification (lost kick, lost interrupt).
 *
 * @param delayRate        requests the device sleeps before serving.
 * @param maxDelayNs       longest such sleep.
 * @param reorderRate      requests the device completes after the next one.
 * @param lostKickRate     kicks lost.
 * @param lostCallRate     interrupts lost.
 * @param backendIoerrRate backend reads and writes that fail.
 * @param dmaFaultRate     requests whose device touches an unmapped bus address and abandons them.
 * @param poolHog          on SWIOTLB profiles, another user fills the bounce pool now and then.
 * @param hogHoldMaxNs     longest the hog holds the pool.
 * @param hogGapMaxNs      longest gap between two hog episodes.
 */
public record SoakFaults(double delayRate, long maxDelayNs, double reorderRate, double lostKickRate,
    double lostCallRate, double backendIoerrRate, double dmaFaultRate, boolean poolHog, long hogHoldMaxNs,
    long hogGapMaxNs)
{
    /** Checks the values. */
    public SoakFaults
    {
        for (final double rate : new double[] {delayRate, reorderRate, lostKickRate, lostCallRate,
            backendIoerrRate, dmaFaultRate})
        {
            if (!(rate >= 0 && rate <= 1))
            {
                throw new IllegalArgumentException("rate " + rate + " must be in 0..1");
            }
        }
        if (maxDelayNs < 1 || hogHoldMaxNs < 1 || hogGapMaxNs < 1)
        {
            throw new IllegalArgumentException("delay " + maxDelayNs + ", hog hold " + hogHoldMaxNs + " and gap " +
                hogGapMaxNs + " ns must be >= 1");
        }
    }

    /** @return the soak's default mix: every fault, often enough to be seen many times a second. */
    public static SoakFaults defaults()
    {
        return new SoakFaults(0.02, TimeUnit.MILLISECONDS.toNanos(2), 0.05, 0.05, 0.05, 0.0002, 0.005, true,
            TimeUnit.MILLISECONDS.toNanos(20), TimeUnit.MILLISECONDS.toNanos(100));
    }

    /** @return no faults at all (a clean run). */
    public static SoakFaults none()
    {
        return new SoakFaults(0, 1, 0, 0, 0, 0, 0, false, 1, 1);
    }
}
