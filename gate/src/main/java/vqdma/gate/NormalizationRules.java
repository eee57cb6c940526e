package vqdma.gate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which benchmarks the gate divides by a reference benchmark measured in the same run, so that a machine that is
 * uniformly slower (or faster) in one run is not mistaken for a code change.
 * <p>
 * The configuration file ({@code gate/gate.conf}) has one directive per line; {@code #} starts a comment:
 * <pre>
 *   run VQDMA_JMH_REGEX [JMH options]          what scripts/gate run measures (read by the script, ignored here)
 *   normalize BENCHMARK_REGEX by REFERENCE_REGEX
 * </pre>
 * Both regexes are searched ({@link java.util.regex.Matcher#find()}) in a result's key, the benchmark name with its
 * parameters ({@code vqdma.bench.ring.RingCycleBenchmark.cycle{dma=bypass,...}}). The first rule whose benchmark
 * regex matches applies. The reference regex must match exactly one result of each file. A reference is never
 * normalized itself and never gates: it is reported as the machine's speed ratio.
 */
public final class NormalizationRules
{
    /**
     * One rule.
     *
     * @param benchmarks which results it applies to.
     * @param reference  the reference benchmark's key regex.
     * @param origin     where it was written (file and line, or the command-line option), for messages.
     */
    public record Rule(Pattern benchmarks, Pattern reference, String origin)
    {
    }

    /** No normalization. */
    public static final NormalizationRules NONE = new NormalizationRules(List.of());

    private final List<Rule> rules;

    /**
     * @param rules in priority order.
     */
    public NormalizationRules(final List<Rule> rules)
    {
        this.rules = Collections.unmodifiableList(new ArrayList<>(rules));
    }

    /** @return the rules in priority order. */
    public List<Rule> rules()
    {
        return rules;
    }

    /**
     * @param key a result's {@link JmhResult#displayKey()}.
     * @return the first rule that applies, or {@code null}.
     */
    public Rule ruleFor(final String key)
    {
        for (final Rule rule : rules)
        {
            if (rule.benchmarks().matcher(key).find())
            {
                return rule;
            }
        }
        return null;
    }

    /**
     * @param other more rules.
     * @return these rules followed by the other's (these take priority).
     */
    public NormalizationRules and(final NormalizationRules other)
    {
        final List<Rule> all = new ArrayList<>(rules);
        all.addAll(other.rules);
        return new NormalizationRules(all);
    }

    /**
     * @param file a configuration file.
     * @return its rules.
     * @throws IOException if it cannot be read.
     * @throws IllegalArgumentException on a malformed line, naming the file and line.
     */
    public static NormalizationRules read(final Path file) throws IOException
    {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * @param text   configuration text.
     * @param origin its name, for messages.
     * @return its rules.
     * @throws IllegalArgumentException on a malformed line.
     */
    public static NormalizationRules parse(final String text, final String origin)
    {
        final List<Rule> rules = new ArrayList<>();
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
                    break;
                case "normalize":
                    if (words.length != 4 || !words[2].equals("by"))
                    {
                        throw new IllegalArgumentException(where + ": expected 'normalize BENCHMARK_REGEX by " +
                            "REFERENCE_REGEX', found '" + line.trim() + "'");
                    }
                    rules.add(new Rule(compile(words[1], where), compile(words[3], where), where));
                    break;
                default:
                    throw new IllegalArgumentException(where + ": unknown directive '" + words[0] +
                        "' (expected run or normalize)");
            }
        }
        return new NormalizationRules(rules);
    }

    /**
     * @param option {@code BENCHMARK_REGEX=REFERENCE_REGEX}, as given to {@code --normalize}.
     * @return that one rule.
     * @throws IllegalArgumentException if there is no '=' or a regex does not compile.
     */
    public static Rule parseOption(final String option)
    {
        final int eq = option.lastIndexOf('=');
        if (eq <= 0 || eq == option.length() - 1)
        {
            throw new IllegalArgumentException("--normalize " + option + ": expected BENCHMARK_REGEX=REFERENCE_REGEX");
        }
        final String where = "--normalize " + option;
        return new Rule(compile(option.substring(0, eq), where), compile(option.substring(eq + 1), where), where);
    }

    private static Pattern compile(final String regex, final String where)
    {
        try
        {
            return Pattern.compile(regex);
        }
        catch (final PatternSyntaxException ex)
        {
            throw new IllegalArgumentException(where + ": bad regex '" + regex + "': " + ex.getDescription(), ex);
        }
    }
}
