package vqdma.report;

import org.knowm.xchart.BitmapEncoder;
import vqdma.gate.Stats;
import vqdma.results.JmhResult;
import vqdma.results.JmhResults;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The report of one results folder: reads {@code jmh.json} and the machine facts (and a baseline folder's), draws
 * the charts ({@link Charts}) into {@code charts/*.png}, and writes {@code report.html} and {@code report.md} next
 * to them.
 *
 * @param name         the run's name (its folder's name).
 * @param facts        its machine facts.
 * @param results      its results, grouped by benchmark group and class.
 * @param figures      the charts.
 * @param baselineName the baseline folder's name, or {@code null}.
 * @param baseline     the baseline's facts (empty without one).
 * @param comparison   the cell-by-cell comparison, or {@code null} without a baseline.
 */
public record Report(String name, Map<String, String> facts, List<JmhResult> results, List<Figure> figures,
    String baselineName, Map<String, String> baseline, Comparison comparison)
{
    /** The benchmark groups in the order the report presents them (the packages under {@code vqdma.bench}). */
    static final List<String> GROUP_ORDER = List.of("ring", "peer", "dma", "iommu", "blk", "ref", "other");

    /**
     * What the tables' spread is. Not JMH's 99.9% interval: with few samples (the curated selection measures one
     * fork of three iterations) it is a Student-t quantile of about 30 standard errors, wider than most scores.
     */
    static final String SPREAD_NOTE = "Score: JMH's score, the mean of the measured iterations. lowest..highest: the "
        + "range of those iterations; n: how many there were (x forks when more than one). Within one fork the range "
        + "shows only the noise within one JVM; differences between JVMs (JIT decisions, memory layout) need "
        + "several forks.";

    /**
     * @param name a baseline's name (its folder's).
     * @return how the text names it: "the baseline" for the folder {@code baseline} (not "the baseline baseline"),
     * "the baseline NAME" for any other.
     */
    static String theBaseline(final String name)
    {
        return name.equals("baseline") ? "the baseline" : "the baseline " + name;
    }

    /** @param m a metric. @return {@code lowest..highest} of its samples, or empty when the file does not say. */
    static String range(final JmhResult.Metric m)
    {
        return Double.isNaN(m.min()) || Double.isNaN(m.max()) ? "" : Units.number(m.min()) + ".." +
            Units.number(m.max());
    }

    /** How far a fork's level may lie from the median fork's before the report warns: 10%. */
    static final double FORK_TOLERANCE = 0.10;

    /** What the forks column means, for both reports. */
    static final String FORKS_NOTE = "forks: each fork's median iteration, when there are several; ! marks a cell "
        + "whose forks disagree, one lying more than 10% from the median fork. Such a cell has modes (a JIT decision, "
        + "a memory layout, the machine's own modes fixed for a JVM's life): its mean hides them, look at the forks.";

    /**
     * @param m a metric with raw samples.
     * @return the median iteration of each fork, in fork order (empty without raw data).
     */
    static double[] forkLevels(final JmhResult.Metric m)
    {
        return Stats.forkMedians(m.samples());
    }

    /**
     * @param r a result.
     * @return whether it has at least two forks and one of them lies more than {@link #FORK_TOLERANCE} from the
     * median fork.
     */
    static boolean forksDisagree(final JmhResult r)
    {
        return disagree(forkLevels(r.primary()));
    }

    private static boolean disagree(final double[] levels)
    {
        if (levels.length < 2)
        {
            return false;
        }
        final double mid = Stats.median(levels);
        for (final double v : levels)
        {
            if (!(Math.abs(v / mid - 1) <= FORK_TOLERANCE))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @param r a result.
     * @return its forks' levels ({@link #forkLevels}), {@code "1.30k 1.31k 1.62k !"} with a trailing {@code !} when
     * they disagree, or empty for a single fork.
     */
    static String forkSpread(final JmhResult r)
    {
        final double[] levels = forkLevels(r.primary());
        if (levels.length < 2)
        {
            return "";
        }
        final StringBuilder sb = new StringBuilder();
        for (final double v : levels)
        {
            sb.append(sb.length() == 0 ? "" : " ").append(Units.number(v));
        }
        return disagree(levels) ? sb.append(" !").toString() : sb.toString();
    }

    /** @param r a result. @return its number of samples, as {@code 3} or {@code 8 x 10} (forks x iterations). */
    static String sampleCount(final JmhResult r)
    {
        if (r.forks() > 1 && r.samples() % r.forks() == 0)
        {
            return r.forks() + " x " + r.samples() / r.forks();
        }
        return r.samples() > 0 ? Integer.toString(r.samples()) : "";
    }

    /**
     * Reads a results folder (and optionally a baseline folder) and builds the report in memory.
     *
     * @param dir         a results folder with {@code jmh.json}, or a JMH JSON file.
     * @param baselineDir a baseline results folder or JSON file, or {@code null}.
     * @return the report.
     * @throws IOException if a file cannot be read.
     */
    public static Report of(final Path dir, final Path baselineDir) throws IOException
    {
        return of(dir, baselineDir, List.of(), null);
    }

    /**
     * Reads a results folder (and optionally a baseline folder and the history of runs) and builds the report.
     *
     * @param dir         a results folder with {@code jmh.json}, or a JMH JSON file.
     * @param baselineDir a baseline results folder or JSON file, or {@code null}.
     * @param history     results folders whose runs make the trend charts of the gated benchmarks ({@link Trends});
     *                    empty for none.
     * @param gateConfig  the gate's configuration (which benchmarks are gated, how they are measured); {@code null}
     *                    for no trend charts.
     * @return the report.
     * @throws IOException if a file cannot be read.
     */
    public static Report of(final Path dir, final Path baselineDir, final List<Path> history, final Path gateConfig)
        throws IOException
    {
        final Path json = jsonOf(dir);
        final List<JmhResult> results = ordered(read(json));
        final Map<String, String> facts = Facts.read(json.getParent() == null ? Path.of(".") : json.getParent());
        List<JmhResult> base = List.of();
        Map<String, String> baseFacts = Map.of();
        String baseName = null;
        if (baselineDir != null)
        {
            final Path baseJson = jsonOf(baselineDir);
            base = read(baseJson);
            baseFacts = Facts.read(baseJson.getParent() == null ? Path.of(".") : baseJson.getParent());
            baseName = nameOf(baselineDir);
        }
        final List<Figure> figures = new ArrayList<>(new Charts(results, Comparison.byKey(base)).figures());
        if (gateConfig != null && !history.isEmpty())
        {
            figures.addAll(Trends.figures(history, gateConfig));
        }
        return new Report(nameOf(dir), facts, results, figures, baseName, baseFacts,
            baselineDir == null ? null : Comparison.of(results, base));
    }

    /**
     * Writes {@code charts/}, {@code report.html} and {@code report.md} into {@code out}.
     *
     * @param out the folder (normally the results folder).
     * @return the HTML file.
     * @throws IOException if writing fails.
     */
    public Path write(final Path out) throws IOException
    {
        final Path charts = out.resolve("charts");
        Files.createDirectories(charts);
        try (DirectoryStream<Path> old = Files.newDirectoryStream(charts, "*.png"))
        {
            for (final Path p : old)
            {
                Files.delete(p); // a chart the new results no longer support must not linger
            }
        }
        for (final Figure f : figures)
        {
            try (OutputStream png = Files.newOutputStream(charts.resolve(f.fileName())))
            {
                BitmapEncoder.saveBitmap(f.chart(), png, BitmapEncoder.BitmapFormat.PNG);
            }
        }
        final Path html = out.resolve("report.html");
        Files.writeString(html, HtmlReport.render(this), StandardCharsets.UTF_8);
        Files.writeString(out.resolve("report.md"), MarkdownReport.render(this), StandardCharsets.UTF_8);
        return html;
    }

    /** @return the results by class, classes in group order then by name, each class's results in file order. */
    Map<String, List<JmhResult>> byClass()
    {
        final Map<String, List<JmhResult>> out = new LinkedHashMap<>();
        results.forEach(r -> out.computeIfAbsent(r.className(), k -> new ArrayList<>()).add(r));
        return out;
    }

    /** @return the cells whose error counters are above zero. */
    List<JmhResult> failedCells()
    {
        return results.stream().filter(JmhResult::failed).toList();
    }

    private static List<JmhResult> ordered(final List<JmhResult> results)
    {
        final List<JmhResult> out = new ArrayList<>(results);
        // Stable: within a class, JMH's order (it sorts parameters as it ran them).
        out.sort(Comparator.comparingInt((JmhResult r) -> groupIndex(r.group())).thenComparing(JmhResult::className));
        return out;
    }

    private static int groupIndex(final String group)
    {
        final int i = GROUP_ORDER.indexOf(group);
        return i < 0 ? GROUP_ORDER.size() : i;
    }

    /**
     * @param json a JMH JSON file.
     * @return its results.
     * @throws IOException if it cannot be read or is not JMH's format (saying what is wrong where).
     */
    static List<JmhResult> read(final Path json) throws IOException
    {
        try
        {
            return JmhResults.read(json);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IOException("not a JMH JSON result file: " + ex.getMessage(), ex);
        }
    }

    private static Path jsonOf(final Path dirOrFile) throws IOException
    {
        final Path json = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("jmh.json") : dirOrFile;
        if (!Files.isRegularFile(json))
        {
            throw new IOException(json + " not found: a results folder holds the jmh.json that scripts/bench writes");
        }
        return json;
    }

    private static String nameOf(final Path dirOrFile)
    {
        final Path abs = dirOrFile.toAbsolutePath().normalize();
        final Path folder = Files.isDirectory(abs) ? abs : abs.getParent();
        return folder == null || folder.getFileName() == null ? abs.toString() : folder.getFileName().toString();
    }
}
