package vqdma.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the rest of the machine did while a benchmark ran: the CPU time of every other process (and the
 * hypervisor's steal) over an interval, from Linux's {@code /proc/stat} and {@code /proc/self/stat}.
 * <p>
 * Why: on a small VM the benchmark's own CPU time is not immune to its neighbours. Another process on the other
 * vCPU (which may be the hyperthread sibling of ours on the host) competes for the core's execution units, caches
 * and memory bandwidth, and a single-threaded benchmark's CPU time per op then rises by tens of percent for as long
 * as the neighbour runs: a "mode" that follows the machine, not the code. Recording the neighbours' load beside
 * every iteration tells such a mode from one of the code (a JIT decision, a memory placement), which would show at
 * any load.
 * <p>
 * Resolution: the kernel counts in clock ticks ({@code USER_HZ}, 100 per second), so intervals of 200 ms or more
 * give a load to within a few percent. Off Linux, or where {@code /proc} cannot be read, every value is NaN.
 */
final class MachineLoad
{
    /** Clock ticks per second of {@code /proc/stat} and {@code /proc/self/stat} ({@code USER_HZ}, 100 on Linux). */
    private static final double TICKS_PER_SECOND = 100.0;
    private static final Path STAT = Path.of("/proc/stat");
    private static final Path SELF_STAT = Path.of("/proc/self/stat");

    private long busyTicks = -1;
    private long stealTicks;
    private long selfTicks;
    private long nanos;

    /** Starts an interval: remembers the counters now. */
    void start()
    {
        final long[] stat = readStat();
        busyTicks = stat == null ? -1 : stat[0];
        stealTicks = stat == null ? 0 : stat[1];
        selfTicks = readSelf();
        nanos = System.nanoTime();
    }

    /**
     * Ends the interval started by {@link #start()}.
     *
     * @return {CPUs' worth of time other processes ran, CPUs' worth of time the hypervisor stole} over the interval
     * (0 to the number of CPUs; 1.0 = one whole CPU busy all along), or NaNs if unknown.
     */
    double[] stop()
    {
        final long[] stat = readStat();
        final long self = readSelf();
        final double seconds = (System.nanoTime() - nanos) / 1e9;
        if (stat == null || busyTicks < 0 || self < 0 || selfTicks < 0 || seconds <= 0)
        {
            return new double[] {Double.NaN, Double.NaN};
        }
        final double others = Math.max(0, (stat[0] - busyTicks) - (self - selfTicks)) / TICKS_PER_SECOND / seconds;
        final double steal = (stat[1] - stealTicks) / TICKS_PER_SECOND / seconds;
        return new double[] {others, steal};
    }

    /**
     * The machine's speed now: the fastest of five runs of a fixed chain of dependent ALU rounds (splitmix64, as
     * {@code ReferenceBenchmark.compute}, 16,384 rounds, about 50 microseconds), in nanoseconds. No memory, no
     * branches that vary: it changes only when the CPU runs the same instructions faster or slower (the host's
     * clock, another tenant on the same core). Measured beside every iteration, it tells a fork that drew a slow
     * machine from a fork whose code is slow.
     *
     * @return nanoseconds for the chain.
     */
    static double referenceNanos()
    {
        long best = Long.MAX_VALUE;
        long x = System.nanoTime();
        for (int run = 0; run < 5; run++)
        {
            final long start = System.nanoTime();
            for (int i = 0; i < 16_384; i++)
            {
                long z = x += 0x9E3779B97F4A7C15L;
                z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
                z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
                x ^= z ^ (z >>> 31);
            }
            best = Math.min(best, System.nanoTime() - start);
        }
        sink = x;
        return best;
    }

    /** Keeps the reference chain's result alive. */
    static volatile long sink;

    /** @return {busy ticks of all CPUs (user, nice, system, irq, softirq), steal ticks}, or null. */
    private static long[] readStat()
    {
        try
        {
            final String line = Files.readAllLines(STAT).get(0);
            if (!line.startsWith("cpu "))
            {
                return null;
            }
            final String[] f = line.trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal guest guest_nice
            final long busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) +
                Long.parseLong(f[6]) + Long.parseLong(f[7]);
            final long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
            return new long[] {busy, steal};
        }
        catch (final IOException | RuntimeException ex)
        {
            return null;
        }
    }

    /** @return this process's user + system ticks, or -1. */
    private static long readSelf()
    {
        try
        {
            final String stat = Files.readString(SELF_STAT);
            // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
            final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime and stime: fields 14 and 15
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
    }
}
