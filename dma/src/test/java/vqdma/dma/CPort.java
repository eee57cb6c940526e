package vqdma.dma;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Builds the C port of the kernel's SWIOTLB ({@code src/test/c/swiotlb_port.c}) with gcc, once per test JVM, and runs
 * it on a trace.
 * <p>
 * Where gcc is missing the tests that need it are skipped with a message saying what to install, except under CI
 * ({@code CI} set, as {@code .ci/run} does), where that is a failure: CI must never skip them silently.
 */
final class CPort
{
    static final Path SOURCE = Paths.get("src", "test", "c", "swiotlb_port.c");
    static final Path BINARY = Paths.get("target", "c", "swiotlb_port");
    private static final String INSTALL = "install gcc (Debian: apt-get install gcc) to compare vqdma's SWIOTLB with " +
        "the C port of the kernel's";
    private static String unavailable;
    private static boolean built;

    private CPort()
    {
    }

    /** @return the built binary, or the test is skipped (failed under CI). */
    static synchronized Path program()
    {
        if (!built && unavailable == null)
        {
            unavailable = build();
            built = unavailable == null;
        }
        if (unavailable != null)
        {
            if (System.getenv("CI") != null)
            {
                fail("the C port of SWIOTLB cannot be built in CI: " + unavailable + "; " + INSTALL);
            }
            Assumptions.assumeTrue(false, unavailable + ": " + INSTALL);
        }
        return BINARY.toAbsolutePath();
    }

    private static String build()
    {
        try
        {
            Files.createDirectories(BINARY.getParent());
            final Process gcc = new ProcessBuilder("gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o",
                BINARY.toString(), SOURCE.toString()).redirectErrorStream(true).start();
            final String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0)
            {
                return "gcc failed on " + SOURCE + ": " + out;
            }
            return null;
        }
        catch (final IOException ex)
        {
            return "gcc not runnable (" + ex.getMessage() + ")";
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return "interrupted while building";
        }
    }

    /**
     * Runs {@code swiotlb_port replay} on a trace.
     *
     * @param memoryBytes guest memory the trace's addresses lie in.
     * @param trace       the commands, one a line.
     * @return its standard output.
     */
    static String replay(final long memoryBytes, final String trace) throws IOException, InterruptedException
    {
        final Path in = Files.createTempFile("swiotlb-trace", ".txt");
        final Path err = Files.createTempFile("swiotlb-trace", ".err");
        try
        {
            Files.writeString(in, trace);
            final Process p = new ProcessBuilder(program().toString(), "replay", "--memory", Long.toString(memoryBytes))
                .redirectInput(in.toFile()).redirectError(err.toFile()).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS))
            {
                p.destroyForcibly();
                fail("swiotlb_port replay did not finish in 60 s");
            }
            if (p.exitValue() != 0)
            {
                fail("swiotlb_port replay exited with " + p.exitValue() + ": " + Files.readString(err));
            }
            return out;
        }
        finally
        {
            Files.deleteIfExists(in);
            Files.deleteIfExists(err);
        }
    }
}
