package vqdma.gate;

import vqdma.results.JmhResult;
import vqdma.results.JmhResults;
import vqdma.results.ScoreUnits;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The trend of every benchmark across the runs that pile up in {@code results/}: its level per run, measured the way
 * the gate measures it (the configured metric, fork statistic and level, normalized by that run's reference where a
 * rule says so), and the change points of that series ({@link ChangePoints}: E-divisive means, permutation-tested).
 *
 * <h2>Runs</h2>
 * A run is a JMH JSON file: {@code jmh.json} (written by {@code scripts/bench} and {@code scripts/gate run}) or
 * {@code gate.json} (the committed gate baseline) in a results folder. Given a folder without one, its immediate
 * subfolders are the runs ({@code results/}); flame-graph folders ({@code *-flame}: profiled, not measured) are not
 * runs. A run's date and git revision come from the machine facts beside it ({@code machine.txt}, or
 * {@code gate-machine.txt} for {@code gate.json}); runs are ordered by date when every run has one, else kept in
 * the order given.
 *
 * <h2>Series</h2>
 * One per benchmark key and mode that at least {@code minRuns} runs have with the metric. The change points are found
 * on the logarithm of the levels (as speeds), so that a change is a ratio whatever the level; each is reported as the
 * ratio of the medians of the runs after and before it (above 1: faster), with the permutation test's p-value. Where a
 * normalization rule applies, the series is the benchmark's speed divided by its reference's, and runs without the
 * reference (or with several) are left out of that series.
 */
public final class History
{
    /**
     * One run.
     *
     * @param name    its folder's name (and the file's, if not jmh.json).
     * @param file    the JMH JSON file.
     * @param date    ISO date from the machine facts, or {@code null}.
     * @param git     git revision from the machine facts, or {@code null}.
     * @param results its results, in file order.
     */
    public record Run(String name, Path file, String date, String git, List<JmhResult> results)
    {
    }

    /**
     * A benchmark's level in one run.
     *
     * @param run        the run.
     * @param forks      how many forks it had.
     * @param level      the level in the metric's unit (time per op, or ops per time).
     * @param unit       that unit.
     * @param normalized its speed divided by the reference's speed in the same run, or {@code NaN} without a rule.
     */
    public record Point(Run run, int forks, double level, String unit, double normalized)
    {
        /** @return the value of the series: the normalized speed where there is one, else the speed. */
        double speedValue(final boolean higherIsBetter)
        {
            if (!Double.isNaN(normalized))
            {
                return normalized;
            }
            return higherIsBetter ? level : 1.0 / level;
        }
    }

    /**
     * A change point of a series.
     *
     * @param index the index in {@link Series#points()} of the first run after the change.
     * @param ratio the speed ratio, median after / median before: above 1 the benchmark got faster.
     * @param p     the permutation test's p-value.
     */
    public record Change(int index, double ratio, double p)
    {
    }

    /**
     * The trend of one benchmark.
     *
     * @param key            its key (name, parameters, mode).
     * @param displayKey     name and parameters.
     * @param mode           JMH's mode.
     * @param higherIsBetter whether more is faster in the metric's unit.
     * @param reference      the display key of the reference it is normalized by, or {@code null}.
     * @param points         its level per run, in run order.
     * @param changes        the change points found.
     * @param skipped        runs that had the benchmark but not its reference, left out.
     */
    public record Series(String key, String displayKey, String mode, boolean higherIsBetter, String reference,
        List<Point> points, List<Change> changes, int skipped)
    {
        /** @return the values the change points were found on: log speed (normalized where a rule applies). */
        public double[] logSpeeds()
        {
            final double[] out = new double[points.size()];
            for (int i = 0; i < out.length; i++)
            {
                out[i] = Math.log(points.get(i).speedValue(higherIsBetter));
            }
            return out;
        }
    }

    /** How to measure and how to search. */
    public static final class Settings
    {
        String metric;
        Stats.ForkStatistic forkStatistic = Stats.ForkStatistic.MEDIAN;
        Stats.Level level = Stats.Level.MEDIAN;
        NormalizationRules rules = NormalizationRules.NONE;
        List<Pattern> references = List.of();
        int minRuns = 3;
        int minSize = 2;
        double alpha = 0.05;
        int permutations = 999;
        long seed = 1;

        /**
         * The gate's way of measuring, from its configuration.
         *
         * @param config a gate configuration.
         * @return settings with its metric, fork statistic, level, rules and references.
         */
        public static Settings of(final GateConfig config)
        {
            final Settings s = new Settings();
            s.metric = config.metric();
            if (config.forkStatistic() != null)
            {
                s.forkStatistic = config.forkStatistic();
            }
            if (config.level() != null)
            {
                s.level = config.level();
            }
            s.rules = config.rules();
            s.references = config.references();
            return s;
        }

        /**
         * @param metric {@code null} for JMH's score, else a secondary metric.
         * @return this.
         */
        public Settings metric(final String metric)
        {
            this.metric = metric;
            return this;
        }

        /** @return the metric, {@code null} for JMH's score. */
        public String metric()
        {
            return metric;
        }

        /**
         * @param forkStatistic a fork's value.
         * @return this.
         */
        public Settings forkStatistic(final Stats.ForkStatistic forkStatistic)
        {
            this.forkStatistic = forkStatistic;
            return this;
        }

        /** @return how a fork's iterations become its value. */
        public Stats.ForkStatistic forkStatistic()
        {
            return forkStatistic;
        }

        /**
         * @param level a side's level.
         * @return this.
         */
        public Settings level(final Stats.Level level)
        {
            this.level = level;
            return this;
        }

        /** @return how a run's forks become its level. */
        public Stats.Level level()
        {
            return level;
        }

        /**
         * @param rules normalization rules ({@link NormalizationRules#NONE} for none).
         * @param references regexes of benchmarks that are references.
         * @return this.
         */
        public Settings normalization(final NormalizationRules rules, final List<Pattern> references)
        {
            this.rules = rules;
            this.references = List.copyOf(references);
            return this;
        }

        /** @return the normalization rules. */
        public NormalizationRules rules()
        {
            return rules;
        }

        /**
         * @param minRuns the fewest runs a benchmark needs for a series, at least 3.
         * @return this.
         */
        public Settings minRuns(final int minRuns)
        {
            if (minRuns < 3)
            {
                throw new IllegalArgumentException("minRuns=" + minRuns + ": need at least 3");
            }
            this.minRuns = minRuns;
            return this;
        }

        /**
         * @param alpha the significance level of each change point's permutation test.
         * @return this.
         */
        public Settings alpha(final double alpha)
        {
            if (!(alpha > 0 && alpha < 1))
            {
                throw new IllegalArgumentException("alpha=" + alpha + ": expected a value in (0, 1)");
            }
            this.alpha = alpha;
            return this;
        }

        /** @return the significance level of each change point's test. */
        public double alpha()
        {
            return alpha;
        }

        /**
         * @param permutations shuffles per test, at least 19.
         * @return this.
         */
        public Settings permutations(final int permutations)
        {
            if (permutations < 19)
            {
                throw new IllegalArgumentException("permutations=" + permutations + ": need at least 19");
            }
            this.permutations = permutations;
            return this;
        }

        /** @return shuffles per test. */
        public int permutations()
        {
            return permutations;
        }

        /** @return the fewest runs on each side of a change point. */
        public int minSize()
        {
            return minSize;
        }
    }

    /**
     * The outcome.
     *
     * @param runs     the runs read, in order.
     * @param series   one per benchmark with enough runs, in order of first appearance.
     * @param warnings runs that could not be used, and why.
     * @param settings how it was measured.
     */
    public record Report(List<Run> runs, List<Series> series, List<String> warnings, Settings settings)
    {
        /** @return how many change points were found in all series. */
        public int changeCount()
        {
            return series.stream().mapToInt(s -> s.changes().size()).sum();
        }
    }

    private History()
    {
    }

    /**
     * @param paths JMH JSON files, run folders, or folders of run folders ({@code results/}).
     * @param warnings where to say what was left out and why.
     * @return the runs, in date order when every run has a date, else in the order found.
     * @throws IOException if a folder cannot be listed or a file read.
     * @throws IllegalArgumentException if a path does not exist.
     */
    public static List<Run> readRuns(final List<Path> paths, final List<String> warnings) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        for (final Path path : paths)
        {
            if (Files.isRegularFile(path))
            {
                files.add(path);
            }
            else if (Files.isDirectory(path))
            {
                final List<Path> own = runFiles(path);
                if (!own.isEmpty())
                {
                    files.addAll(own);
                }
                else
                {
                    final List<Path> dirs = new ArrayList<>();
                    try (DirectoryStream<Path> children = Files.newDirectoryStream(path, Files::isDirectory))
                    {
                        children.forEach(dirs::add);
                    }
                    dirs.sort(Comparator.comparing(p -> p.getFileName().toString()));
                    for (final Path dir : dirs)
                    {
                        if (!dir.getFileName().toString().endsWith("-flame"))
                        {
                            files.addAll(runFiles(dir));
                        }
                    }
                }
            }
            else
            {
                throw new IllegalArgumentException(path + ": no such file or folder");
            }
        }
        final List<Run> runs = new ArrayList<>();
        for (final Path file : files)
        {
            try
            {
                runs.add(run(file));
            }
            catch (final IllegalArgumentException ex)
            {
                warnings.add("left out " + file + ": " + ex.getMessage());
            }
        }
        if (runs.stream().allMatch(r -> r.date() != null))
        {
            runs.sort(Comparator.comparing(Run::date));
        }
        else if (runs.size() > 1)
        {
            warnings.add("runs in the order given: " + runs.stream().filter(r -> r.date() == null).count() +
                " have no date (no machine.txt beside their JSON)");
        }
        return runs;
    }

    private static List<Path> runFiles(final Path dir)
    {
        final List<Path> out = new ArrayList<>();
        for (final String name : new String[] {"jmh.json", "gate.json"})
        {
            if (Files.isRegularFile(dir.resolve(name)))
            {
                out.add(dir.resolve(name));
            }
        }
        return out;
    }

    /**
     * @param file a JMH JSON file.
     * @return it as a run, with the facts found beside it.
     * @throws IOException if it cannot be read.
     */
    public static Run run(final Path file) throws IOException
    {
        final String fileName = file.getFileName().toString();
        final String stem = fileName.endsWith(".json") ? fileName.substring(0, fileName.length() - 5) : fileName;
        final Path dir = file.toAbsolutePath().getParent();
        final Path facts = dir.resolve(stem.equals("jmh") ? "machine.txt" : stem + "-machine.txt");
        String date = null;
        String git = null;
        if (Files.isRegularFile(facts))
        {
            for (final String line : Files.readAllLines(facts, StandardCharsets.UTF_8))
            {
                final int colon = line.indexOf(':');
                if (colon < 0)
                {
                    continue;
                }
                final String k = line.substring(0, colon).trim();
                final String v = line.substring(colon + 1).trim();
                if (k.equals("date"))
                {
                    date = v;
                }
                else if (k.equals("git") || k.equals("gitRevision"))
                {
                    git = v.length() > 12 && !v.contains(" ") ? v.substring(0, 7) : v;
                }
            }
        }
        final String folder = dir.getFileName() == null ? dir.toString() : dir.getFileName().toString();
        final String name = stem.equals("jmh") ? folder : folder + "/" + fileName;
        return new Run(name, file, date, git, JmhResults.read(file));
    }

    /**
     * @param runs     the runs, in time order.
     * @param settings how to measure and search.
     * @param warnings where to say what was left out and why.
     * @return the report.
     */
    public static Report of(final List<Run> runs, final Settings settings, final List<String> warnings)
    {
        // Each run through the metric, checked as the gate checks its inputs.
        final List<Map<String, JmhResult>> byRun = new ArrayList<>();
        final Set<String> keys = new LinkedHashSet<>();
        for (final Run run : runs)
        {
            Map<String, JmhResult> results;
            try
            {
                results = GateInput.select(run.results(), settings.metric);
            }
            catch (final IllegalArgumentException ex)
            {
                warnings.add("left out " + run.name() + ": " + ex.getMessage());
                results = Map.of();
            }
            byRun.add(results);
            keys.addAll(results.keySet());
        }
        final List<Series> series = new ArrayList<>();
        for (final String key : keys)
        {
            final Series s = series(key, runs, byRun, settings);
            if (s != null)
            {
                series.add(s);
            }
        }
        return new Report(List.copyOf(runs), List.copyOf(series), List.copyOf(warnings), settings);
    }

    private static Series series(
        final String key,
        final List<Run> runs,
        final List<Map<String, JmhResult>> byRun,
        final Settings settings)
    {
        final List<Point> points = new ArrayList<>();
        JmhResult any = null;
        String reference = null;
        int skipped = 0;
        int present = 0;
        for (int i = 0; i < runs.size(); i++)
        {
            final JmhResult r = byRun.get(i).get(key);
            if (r == null)
            {
                continue;
            }
            present++;
            any = any == null ? r : any;
            final boolean isReference = isReference(r, settings);
            final NormalizationRules.Rule rule = isReference ? null : settings.rules.ruleFor(r.displayKey());
            final double speed = level(r, settings, canonical(r));
            double normalized = Double.NaN;
            if (rule != null)
            {
                final List<JmhResult> refs = byRun.get(i).values().stream()
                    .filter(x -> rule.reference().matcher(x.displayKey()).find()).collect(Collectors.toList());
                if (refs.size() != 1)
                {
                    skipped++;
                    continue;
                }
                reference = refs.get(0).displayKey();
                normalized = speed / level(refs.get(0), settings, canonical(refs.get(0)));
            }
            final double level = r.higherIsBetter() ? speed : 1.0 / speed;
            final String unit = canonical(r) == null ? r.primary().unit() : canonical(r);
            points.add(new Point(runs.get(i), r.primary().forkCount(), level, unit, normalized));
        }
        if (present < settings.minRuns || points.size() < settings.minRuns)
        {
            return null;
        }
        final Series shape = new Series(key, any.displayKey(), any.mode(), any.higherIsBetter(), reference,
            List.copyOf(points), List.of(), skipped);
        final double[] values = shape.logSpeeds();
        final List<Change> changes = new ArrayList<>();
        final List<ChangePoints.ChangePoint> found = ChangePoints.find(values, settings.minSize, settings.alpha,
            settings.permutations, settings.seed * 0x9E3779B97F4A7C15L + key.hashCode());
        for (int c = 0; c < found.size(); c++)
        {
            final int at = found.get(c).index();
            final int before = c == 0 ? 0 : found.get(c - 1).index();
            final int after = c + 1 < found.size() ? found.get(c + 1).index() : values.length;
            final double ratio = Math.exp(ChangePoints.segmentMedian(values, at, after) -
                ChangePoints.segmentMedian(values, before, at));
            changes.add(new Change(at, ratio, found.get(c).p()));
        }
        return new Series(key, any.displayKey(), any.mode(), any.higherIsBetter(), reference, List.copyOf(points),
            List.copyOf(changes), skipped);
    }

    private static boolean isReference(final JmhResult r, final Settings settings)
    {
        for (final Pattern p : settings.references)
        {
            if (p.matcher(r.displayKey()).find())
            {
                return true;
            }
        }
        for (final NormalizationRules.Rule rule : settings.rules.rules())
        {
            if (rule.reference().matcher(r.displayKey()).find())
            {
                return true;
            }
        }
        return false;
    }

    /** @return the run's level of a result as a speed in the given unit (the gate's fork statistic and level). */
    private static double level(final JmhResult r, final Settings settings, final String unit)
    {
        return Stats.level(Stats.forkValues(r.speeds(unit), settings.forkStatistic), settings.level);
    }

    /**
     * @param r a result.
     * @return the unit every run's level of it is expressed in, so that runs in other units compare: ns/op for
     *         time per op, ops/s for throughput; {@code null} (its own unit) for anything else.
     */
    private static String canonical(final JmhResult r)
    {
        final Boolean higher = ScoreUnits.higherIsBetter(r.primary().unit());
        if (higher == null || Double.isNaN(ScoreUnits.opsPerSecond(1, r.primary().unit())))
        {
            return null;
        }
        return higher ? "ops/s" : "ns/op";
    }

    /**
     * @param report a report.
     * @return its series by key.
     */
    public static Map<String, Series> byKey(final Report report)
    {
        final Map<String, Series> out = new LinkedHashMap<>();
        report.series().forEach(s -> out.put(s.key(), s));
        return out;
    }
}
