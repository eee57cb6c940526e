package vqdma.bench;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code java -jar benchmarks.jar} on JDK 24+: the host JVM is started again with
 * {@code --sun-misc-unsafe-memory-access=allow} when it lacks the option, so JMH's own use of {@code sun.misc.Unsafe}
 * prints no warning ({@link Main}).
 */
class MainRelaunchTest
{
    @Test
    void relaunchesOnlyOnJdk24AndLaterWithoutTheOption()
    {
        assertFalse(Main.needsRelaunch(17, List.of()));
        assertFalse(Main.needsRelaunch(23, List.of()), "23 allows by default");
        assertTrue(Main.needsRelaunch(24, List.of()));
        assertTrue(Main.needsRelaunch(25, List.of("-Xmx1g", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED")));
        assertFalse(Main.needsRelaunch(25, List.of(Main.UNSAFE_ALLOW)));
        assertFalse(Main.needsRelaunch(25, List.of("--sun-misc-unsafe-memory-access=warn")), "the user's choice");
        assertFalse(Main.needsRelaunch(25, List.of("--sun-misc-unsafe-memory-access", "deny")));
        assertTrue(Main.needsRelaunch(25, List.of("--sun-misc-unsafe-memory-accessX=allow")));
    }

    @Test
    void relaunchRepeatsTheCommandLineAsTypedWithTheFlagFirst()
    {
        final List<String> command = Main.relaunchCommand(Optional.of("/jdk/bin/java"),
            Optional.of(new String[] {"-Xmx2g", "-jar", "benchmarks.jar", "dma.*", "-p", "size=4096"}),
            "/other/bin/java", List.of("-Xmx2g"), "benchmarks.jar", new String[] {"dma.*", "-p", "size=4096"});
        assertEquals(List.of("/jdk/bin/java", Main.UNSAFE_ALLOW, "-Xmx2g", "-jar", "benchmarks.jar", "dma.*", "-p",
            "size=4096"), command);
    }

    @Test
    void withoutTheProcessCommandLineRelaunchBuildsItFromTheJvm()
    {
        final List<String> command = Main.relaunchCommand(Optional.empty(), Optional.empty(), "/jdk/bin/java",
            List.of("-Xmx2g"), "benchmarks.jar", new String[] {"-l"});
        assertEquals(List.of("/jdk/bin/java", Main.UNSAFE_ALLOW, Main.ADD_EXPORTS, "-Xmx2g", "-cp", "benchmarks.jar",
            Main.class.getName(), "-l"), command);
    }

    /**
     * One short benchmark in the host JVM ({@code -f 0}) through {@link Main}, on the JDK that runs the tests: it
     * runs, the options given to the first JVM reach the run, and no {@code sun.misc.Unsafe} warning is printed
     * (on JDK 24+ only because of the relaunch; {@code .ci/run} runs the tests on JDK 25).
     */
    @Test
    void aPlainRunPrintsNoUnsafeWarning() throws Exception
    {
        final Path dir = Files.createDirectories(Path.of("target", "relaunch-test"));
        final Path out = dir.resolve("stdout.txt");
        final Path err = dir.resolve("stderr.txt");
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Djmh.ignoreLock=true", // a check of the output, not a measurement: need not wait for another JMH run
            Main.ADD_EXPORTS, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
            "ref.ReferenceBenchmark.compute", "-f", "0", "-wi", "0", "-i", "1", "-r", "100ms"));
        final ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile())
            .redirectError(err.toFile());
        builder.environment().remove(Main.RELAUNCHED);
        final Process process = builder.start();
        assertTrue(process.waitFor(2, TimeUnit.MINUTES), "the run did not end within 2 minutes");
        final String stdout = Files.readString(out, StandardCharsets.UTF_8);
        final String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), stdout + stderr);
        assertTrue(stdout.contains("ReferenceBenchmark.compute"), stdout);
        final String vmOptions = stdout.lines().filter(l -> l.startsWith("# VM options:")).findFirst().orElse("");
        assertTrue(vmOptions.contains("-Djmh.ignoreLock=true"), "the first JVM's options reach the run: " + vmOptions);
        assertEquals(Runtime.version().feature() >= 24, vmOptions.contains(Main.UNSAFE_ALLOW), vmOptions);
        assertFalse(stderr.contains("sun.misc.Unsafe") || stdout.contains("sun.misc.Unsafe"), stderr + stdout);
    }
}
