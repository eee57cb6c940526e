package vqdma.ring.peer;

import vqdma.dma.GuestMemory;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Both roles of the shared-ring file protocol taking turns in one thread, each on its own mapping of the file, as
 * the C peer's {@code loop} role does: the driver adds as many requests as fit and publishes them, the device serves
 * everything available, the driver reaps and verifies. It is the same work per request as the two-process pair
 * without the cross-core traffic and without waiting, and it is timed in the thread's CPU time as well as in wall
 * time: CPU time is what other busy processes on a shared machine do not inflate, so Java and C can be compared
 * there even when two-process wall times are scheduling noise.
 * <pre>
 *   vring-peer loop ok requests=R bytes=B elapsed_ns=T cpu_ns=C kicks=K interrupts=I
 * </pre>
 */
public final class LoopbackLoop
{
    private final LoopbackDriver driver;
    private final LoopbackDevice device;

    /**
     * @param driverMemory one mapping of the file, for the driver (nothing allocated in it yet).
     * @param deviceMemory another mapping of the same file, for the device.
     * @param driver       a driver on {@code driverMemory}.
     * @param device       a device on {@code deviceMemory}, for as many requests as the driver.
     */
    public LoopbackLoop(final GuestMemory driverMemory, final GuestMemory deviceMemory, final LoopbackDriver driver,
        final LoopbackDevice device)
    {
        this.driver = driver;
        this.device = device;
    }

    /**
     * Runs every request through.
     *
     * @return the summary line.
     * @throws PeerFailure if a side breaks the protocol, or nothing moves (a bug: one thread cannot wait on itself).
     */
    public String run()
    {
        final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        boolean timing = driver.warmup() == 0;
        long start = System.nanoTime();
        long cpuStart = threads.getCurrentThreadCpuTime();
        while (driver.completed() < driver.requests())
        {
            final int added = driver.submit();
            int served = 0;
            for (int n; (n = device.step()) > 0; )
            {
                served += n;
            }
            final int got = driver.reap();
            if (added == 0 && served == 0 && got == 0)
            {
                throw new PeerFailure("loop: no progress after " + driver.completed() + " completions");
            }
            if (!timing && driver.completed() >= driver.warmup())
            {
                start = System.nanoTime();
                cpuStart = threads.getCurrentThreadCpuTime();
                timing = true;
            }
        }
        final long elapsed = System.nanoTime() - start;
        final long cpu = threads.getCurrentThreadCpuTime() - cpuStart;
        return String.format("vring-peer loop ok requests=%d bytes=%d elapsed_ns=%d cpu_ns=%d kicks=%d interrupts=%d",
            driver.completed(), driver.bytes(), elapsed, cpu, driver.queue().kicks(), device.queue().interrupts());
    }
}
