package vqdma.report;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The report opens in a real browser: headless Chromium loads {@code report.html} (with a baseline and a history,
 * so every element is there, the trend charts too), runs its script, and dumps the DOM; the page's script has counted the chart images that
 * loaded with a natural width ({@code data-charts-loaded="N/M"}), which must be all of them.
 * <p>
 * Needs the Debian package {@code chromium} ({@code apt-get install -y chromium}). Without it the test is skipped
 * with a message, except under CI (environment variable {@code CI} set), where it fails: CI must run it.
 */
class BrowserTest
{
    static final Pattern LOADED = Pattern.compile("data-charts-loaded=\"(\\d+)/(\\d+)\"");

    @TempDir
    Path tmp;

    @Test
    void everyChartLoadsInChromium() throws Exception
    {
        final String chromium = chromium();
        final Path run = Fixture.copy("run", tmp);
        // With a history, so that the trend charts are on the page too.
        final Path history = TrendsTest.history(tmp);
        final Report report = Report.of(run, Fixture.copy("baseline", tmp), List.of(history), tmp.resolve("gate.conf"));
        final Path html = report.write(run);
        final int charts = report.figures().size();
        assertTrue(charts >= ReportTest.CHARTS.size() + 2, "charts: " + charts);
        assertTrue(report.figures().stream().anyMatch(f -> f.id().startsWith("trend-")), "trend charts");

        final Path profile = Files.createDirectory(tmp.resolve("chromium-profile"));
        final List<String> command = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--user-data-dir=" + profile,
            // Lets the load event and its handler run before the DOM is dumped.
            "--virtual-time-budget=10000", "--dump-dom", html.toUri().toString()));
        final Path out = tmp.resolve("dom.html");
        final Path err = tmp.resolve("chromium.log");
        final Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS))
        {
            p.destroyForcibly();
            fail("chromium did not finish in 120 s: " + command + "\n" + tail(err));
        }
        final String dom = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "chromium failed: " + tail(err));
        final Matcher loaded = LOADED.matcher(dom);
        assertTrue(loaded.find(), "the page's script did not run (no data-charts-loaded): " + tail(err) + "\n" +
            dom.substring(0, Math.min(2000, dom.length())));
        assertEquals(charts, Integer.parseInt(loaded.group(2)), "images on the page");
        assertEquals(charts, Integer.parseInt(loaded.group(1)), "images that loaded, of " + loaded.group(2));
        assertTrue(dom.contains("id=\"charts-missing\" class=\"warning\" hidden"), "the missing-charts warning shows");
        assertTrue(dom.contains("<h2 id=\"comparison\">"), "no baseline comparison in the DOM");
    }

    /** The script must also notice a page without its charts: the warning then shows. */
    @Test
    void aPageWithoutItsChartsSaysSo() throws Exception
    {
        final String chromium = chromium();
        final Path run = Fixture.copy("run", tmp);
        final Path html = Report.of(run, null).write(run);
        try (var pngs = Files.list(run.resolve("charts")))
        {
            for (final Path png : pngs.toList())
            {
                Files.delete(png);
            }
        }
        final Path profile = Files.createDirectory(tmp.resolve("chromium-profile"));
        final Process p = new ProcessBuilder(chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--user-data-dir=" + profile, "--virtual-time-budget=10000",
            "--dump-dom", html.toUri().toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        final Matcher loaded = LOADED.matcher(dom);
        assertTrue(loaded.find(), "the page's script did not run");
        assertEquals("0", loaded.group(1));
        assertFalse(dom.contains("id=\"charts-missing\" class=\"warning\" hidden"), "the warning stays hidden");
    }

    /** @return the chromium executable; skips the test without one, fails it under CI. */
    static String chromium()
    {
        for (final String name : List.of("chromium", "chromium-browser", "google-chrome"))
        {
            for (final String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator))
            {
                final File f = new File(dir, name);
                if (f.canExecute())
                {
                    return f.getPath();
                }
            }
        }
        final String message = "chromium not found: install it (Debian: apt-get install -y chromium) to check the " +
            "report in a browser";
        if (System.getenv("CI") != null)
        {
            fail(message + " (CI is set: this check must run in CI)");
        }
        Assumptions.abort(message);
        return null;
    }

    private static String tail(final Path log) throws IOException
    {
        if (!Files.exists(log))
        {
            return "";
        }
        final List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }
}
