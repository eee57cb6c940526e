package vqdma.gate;

import vqdma.results.JmhResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The gate's configuration file ({@code gate/gate.conf}): one directive per line, {@code #} starts a comment.
 * <pre>
 *   run REGEX [JMH options]                     a selection scripts/gate run measures (the script runs it; here
 *                                               its regex and -p options tell which results are gated)
 *   normalize BENCHMARK_REGEX by REFERENCE_REGEX see {@link NormalizationRules}
 *   metric NAME                                 gate on this secondary metric instead of JMH's score
 *                                               (e.g. cpu.time.norm from vqdma.bench.CpuTimeProfiler)
 *   fork-statistic median|min                   a fork's value: its median or its fastest iteration
 *   reference REGEX                             benchmarks that are references (never gated) even where no
 *                                               normalize line uses them
 *   level median|fast-quartile                  a side's level: its median fork (Mann-Whitney U) or its fast
 *                                               quartile (permutation test)
 *   slower-only REGEX                           benchmarks asked only "is the candidate slower?": never called
 *                                               improved (for a metric that contention can lower but not raise)
 *   threshold PERCENT                           the minimum effect size (default 5; --threshold overrides it)
 *   threshold REGEX PERCENT                     a threshold of its own for the benchmarks whose key the regex
 *                                               finds (first match wins; {@link Gate.CellThreshold})
 * </pre>
 *
 * @param rules         the normalization rules, in file order.
 * @param metric        the metric to gate on; {@code null} for JMH's primary metric (the score).
 * @param forkStatistic how a fork's iterations become its value; {@code null} when the file does not say.
 * @param references    regexes of benchmarks declared references.
 * @param level         how a side's fork values become its level; {@code null} when the file does not say.
 * @param selections    the {@code run} lines: what {@code scripts/gate run} measures, the gating subset.
 * @param slowerOnly    regexes of benchmarks tested for "slower" only ({@link Gate.Options#slowerOnly}).
 * @param threshold     the default minimum effect size as a fraction; {@code null} when the file does not say.
 * @param thresholds    thresholds of their own, in file order ({@link Gate.Options#thresholds}).
 */
public record GateConfig(NormalizationRules rules, String metric, Stats.ForkStatistic forkStatistic,
    List<Pattern> references, Stats.Level level, List<Selection> selections, List<Pattern> slowerOnly,
    Double threshold, List<Gate.CellThreshold> thresholds)
{
    /**
     * A {@code run} line as a filter of results: JMH's benchmark regex (searched in the name, as JMH does) and its
     * {@code -p name=v1,v2} options (the result's parameter must be one of the values). Other JMH options on the line
     * do not select.
     *
     * @param benchmark the regex.
     * @param params    parameter name to the values allowed.
     */
    public record Selection(Pattern benchmark, Map<String, Set<String>> params)
    {
        /**
         * @param result a result.
         * @return whether this line measures it.
         */
        public boolean selects(final JmhResult result)
        {
            if (!benchmark.matcher(result.benchmark()).find())
            {
                return false;
            }
            for (final Map.Entry<String, Set<String>> p : params.entrySet())
            {
                if (!p.getValue().contains(result.param(p.getKey())))
                {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * @param result a result.
     * @return whether a {@code run} line selects it and it is not a reference: a benchmark the gate gates.
     */
    public boolean gates(final JmhResult result)
    {
        for (final Pattern p : references)
        {
            if (p.matcher(result.displayKey()).find())
            {
                return false;
            }
        }
        for (final NormalizationRules.Rule rule : rules.rules())
        {
            if (rule.reference().matcher(result.displayKey()).find())
            {
                return false;
            }
        }
        return selections.stream().anyMatch(s -> s.selects(result));
    }

    /**
     * @param file a configuration file.
     * @return its configuration.
     * @throws IOException if it cannot be read.
     * @throws IllegalArgumentException on a malformed line, naming the file and line.
     */
    public static GateConfig read(final Path file) throws IOException
    {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * @param text   configuration text.
     * @param origin its name, for messages.
     * @return its configuration.
     * @throws IllegalArgumentException on a malformed line, naming origin and line.
     */
    public static GateConfig parse(final String text, final String origin)
    {
        final List<NormalizationRules.Rule> rules = new ArrayList<>();
        String metric = null;
        Stats.ForkStatistic forkStatistic = null;
        final List<Pattern> references = new ArrayList<>();
        Stats.Level level = null;
        final List<Selection> selections = new ArrayList<>();
        final List<Pattern> slowerOnly = new ArrayList<>();
        Double threshold = null;
        final List<Gate.CellThreshold> thresholds = new ArrayList<>();
        final String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++)
        {
            final String where = origin + ":" + (i + 1);
            String line = lines[i];
            final int hash = line.indexOf('#');
            if (hash >= 0)
            {
                line = line.substring(0, hash);
            }
            final String[] words = line.trim().split("\\s+");
            if (words.length == 1 && words[0].isEmpty())
            {
                continue;
            }
            switch (words[0])
            {
                case "run":
                    selections.add(selection(words, where));
                    break;
                case "normalize":
                    if (words.length != 4 || !words[2].equals("by"))
                    {
                        throw new IllegalArgumentException(where + ": expected 'normalize BENCHMARK_REGEX by " +
                            "REFERENCE_REGEX', found '" + line.trim() + "'");
                    }
                    rules.add(new NormalizationRules.Rule(NormalizationRules.compile(words[1], where),
                        NormalizationRules.compile(words[3], where), where));
                    break;
                case "metric":
                    if (words.length != 2)
                    {
                        throw new IllegalArgumentException(where + ": expected 'metric NAME', found '" + line.trim() +
                            "'");
                    }
                    metric = words[1].equals("primary") ? null : words[1];
                    break;
                case "fork-statistic":
                    if (words.length != 2 || !(words[1].equals("median") || words[1].equals("min")))
                    {
                        throw new IllegalArgumentException(where + ": expected 'fork-statistic median' or " +
                            "'fork-statistic min', found '" + line.trim() + "'");
                    }
                    forkStatistic = words[1].equals("min") ? Stats.ForkStatistic.MIN : Stats.ForkStatistic.MEDIAN;
                    break;
                case "reference":
                    if (words.length != 2)
                    {
                        throw new IllegalArgumentException(where + ": expected 'reference REGEX', found '" +
                            line.trim() + "'");
                    }
                    references.add(NormalizationRules.compile(words[1], where));
                    break;
                case "level":
                    level = parseLevel(words.length == 2 ? words[1] : "", where + ": 'level'");
                    break;
                case "slower-only":
                    if (words.length != 2)
                    {
                        throw new IllegalArgumentException(where + ": expected 'slower-only REGEX', found '" +
                            line.trim() + "'");
                    }
                    slowerOnly.add(NormalizationRules.compile(words[1], where));
                    break;
                case "threshold":
                    if (words.length == 2)
                    {
                        threshold = percent(words[1], where) / 100;
                    }
                    else if (words.length == 3)
                    {
                        thresholds.add(new Gate.CellThreshold(NormalizationRules.compile(words[1], where),
                            percent(words[2], where) / 100, where));
                    }
                    else
                    {
                        throw new IllegalArgumentException(where + ": expected 'threshold PERCENT' or 'threshold " +
                            "REGEX PERCENT', found '" + line.trim() + "'");
                    }
                    break;
                default:
                    throw new IllegalArgumentException(where + ": unknown directive '" + words[0] +
                        "' (expected run, normalize, metric, fork-statistic, reference, level, slower-only or " +
                        "threshold)");
            }
        }
        return new GateConfig(new NormalizationRules(rules), metric, forkStatistic, List.copyOf(references), level,
            List.copyOf(selections), List.copyOf(slowerOnly), threshold, List.copyOf(thresholds));
    }

    private static double percent(final String word, final String where)
    {
        final double value;
        try
        {
            value = Double.parseDouble(word);
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException(where + ": 'threshold': expected a percentage, found '" + word + "'");
        }
        if (!(value > 0 && value < 100))
        {
            throw new IllegalArgumentException(where + ": 'threshold " + word + "': expected a percentage in (0, 100)");
        }
        return value;
    }

    private static Selection selection(final String[] words, final String where)
    {
        if (words.length < 2)
        {
            throw new IllegalArgumentException(where + ": expected 'run REGEX [JMH options]'");
        }
        final Map<String, Set<String>> params = new LinkedHashMap<>();
        for (int i = 2; i < words.length; i++)
        {
            if (words[i].equals("-p"))
            {
                final String p = i + 1 < words.length ? words[++i] : "";
                final int eq = p.indexOf('=');
                if (eq <= 0)
                {
                    throw new IllegalArgumentException(where + ": expected '-p NAME=VALUE[,VALUE...]', found '-p " + p +
                        "'");
                }
                params.put(p.substring(0, eq), new LinkedHashSet<>(List.of(p.substring(eq + 1).split(","))));
            }
        }
        return new Selection(NormalizationRules.compile(words[1], where), params);
    }

    /**
     * @param word  {@code median} or {@code fast-quartile}.
     * @param where for the message.
     * @return the level.
     * @throws IllegalArgumentException for any other word.
     */
    static Stats.Level parseLevel(final String word, final String where)
    {
        switch (word)
        {
            case "median": return Stats.Level.MEDIAN;
            case "fast-quartile": return Stats.Level.FAST_QUARTILE;
            default: throw new IllegalArgumentException(where + ": expected median or fast-quartile, found '" + word +
                "'");
        }
    }
}
