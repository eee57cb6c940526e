package vqdma.ring;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Builds the C programs of src/test/c with gcc against the kernel's uapi header, once per test JVM.
 * <p>
 * Where gcc or {@code linux/virtio_ring.h} is missing, the interop tests are skipped with a message saying what to
 * install, except under CI ({@code CI} set, as {@code .ci/run} does), where that is a failure: CI must never skip
 * them silently.
 */
final class CTools
{
    static final Path SOURCES = Paths.get("src", "test", "c");
    static final Path OUT = Paths.get("target", "c");
    private static final String INSTALL = "install gcc and the Linux uapi headers (Debian: apt-get install gcc " +
        "linux-libc-dev) to run the C interop tests";
    private static String unavailable;
    private static boolean built;

    private CTools()
    {
    }

    /** @param name program name (source {@code name.c}). @return the built binary, or the test is skipped/failed. */
    static synchronized Path program(final String name)
    {
        if (!built && unavailable == null)
        {
            unavailable = buildAll();
            built = unavailable == null;
        }
        if (unavailable != null)
        {
            if (System.getenv("CI") != null)
            {
                fail("C interop tests cannot run in CI: " + unavailable + "; " + INSTALL);
            }
            Assumptions.assumeTrue(false, unavailable + ": " + INSTALL);
        }
        return OUT.resolve(name).toAbsolutePath();
    }

    private static String buildAll()
    {
        if (!Files.exists(Paths.get("/usr/include/linux/virtio_ring.h")))
        {
            return "/usr/include/linux/virtio_ring.h not found";
        }
        try
        {
            Files.createDirectories(OUT);
            for (final String name : new String[] {"vring_peer", "vring_layout"})
            {
                final Result r = run(60, "gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o",
                    OUT.resolve(name).toString(), SOURCES.resolve(name + ".c").toString());
                if (r.exit != 0)
                {
                    return "gcc failed on " + name + ".c: " + r.stderr;
                }
            }
            return null;
        }
        catch (final IOException ex)
        {
            return "gcc not runnable (" + ex.getMessage() + ")";
        }
    }

    /** Exit status and output of a finished process. */
    record Result(int exit, String stdout, String stderr)
    {
    }

    /** A started process and the files its output goes to. */
    record Proc(Process process, Path out, Path err)
    {
        /** Waits for the process (killing it after {@code timeoutS}). @return its result. */
        Result await(final int timeoutS) throws IOException
        {
            try
            {
                if (!process.waitFor(timeoutS, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                    return new Result(-1, Files.readString(out), "killed after " + timeoutS + " s; " +
                        Files.readString(err));
                }
            }
            catch (final InterruptedException ex)
            {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                return new Result(-1, "", "interrupted");
            }
            final Result result = new Result(process.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8).trim(), Files.readString(err, StandardCharsets.UTF_8).trim());
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            return result;
        }
    }

    /** Runs a command to completion (killed after {@code timeoutS}). */
    static Result run(final int timeoutS, final String... command) throws IOException
    {
        return start(List.of(command)).await(timeoutS);
    }

    /** Starts a command with its output going to temporary files. */
    static Proc start(final List<String> command) throws IOException
    {
        final Path out = Files.createTempFile("vqdma", ".out");
        final Path err = Files.createTempFile("vqdma", ".err");
        final ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(command));
        builder.redirectOutput(out.toFile());
        builder.redirectError(err.toFile());
        return new Proc(builder.start(), out, err);
    }
}
