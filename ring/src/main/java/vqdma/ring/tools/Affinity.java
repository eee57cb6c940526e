package vqdma.ring.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

/**
 * Pins the calling thread to one CPU, as ringtest's {@code --host-affinity}/{@code --guest-affinity} do with
 * {@code pthread_setaffinity_np()}: Linux only, best effort, through {@code taskset -p} on the thread's id (read from
 * {@code /proc/thread-self}), since the JDK has no affinity API. Set-up time only (it starts a process).
 * <p>
 * Two threads that spin on a shared ring must not share a CPU: when the scheduler puts them on one CPU (because
 * other processes hold the others), each round trip waits for a time slice. Pinning them to different CPUs avoids
 * that, on a machine where nothing can keep other processes off those CPUs.
 */
public final class Affinity
{
    private Affinity()
    {
    }

    /**
     * @param cpu the CPU to run the calling thread on.
     * @return null if done, or why not (not Linux, no {@code taskset}, the command failed).
     */
    public static String pinCurrentThread(final int cpu)
    {
        final Path self = Paths.get("/proc/thread-self");
        if (!Files.exists(self))
        {
            return "no /proc/thread-self (not Linux?)";
        }
        try
        {
            final String tid = Files.readSymbolicLink(self).getFileName().toString();
            final Process taskset = new ProcessBuilder("taskset", "-p", "-c", Integer.toString(cpu), tid)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!taskset.waitFor(10, TimeUnit.SECONDS))
            {
                taskset.destroyForcibly();
                return "taskset did not finish";
            }
            return taskset.exitValue() == 0 ? null : "taskset -p -c " + cpu + " " + tid + " exited with " +
                taskset.exitValue();
        }
        catch (final IOException ex)
        {
            return "cannot run taskset: " + ex.getMessage();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /**
     * @param cpu the CPU.
     * @throws IllegalStateException if the thread could not be pinned.
     */
    public static void pinCurrentThreadOrFail(final int cpu)
    {
        final String why = pinCurrentThread(cpu);
        if (why != null)
        {
            throw new IllegalStateException("cannot pin thread " + Thread.currentThread().getName() + " to CPU " +
                cpu + ": " + why);
        }
    }
}
