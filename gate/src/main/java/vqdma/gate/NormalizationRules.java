package vqdma.gate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which benchmarks the gate divides by a reference benchmark measured in the same run, so that a machine that is
 * uniformly slower (or faster) in one run is not mistaken for a code change.
 * <p>
 * They come from {@code normalize BENCHMARK_REGEX by REFERENCE_REGEX} lines of the configuration file
 * ({@link GateConfig}) or from {@code --normalize}. Both regexes are searched ({@link java.util.regex.Matcher#find()}) in a result's key, the benchmark name with its
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
     * @param key a result's {@link vqdma.results.JmhResult#displayKey()}.
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
     * @param text   configuration text ({@link GateConfig}).
     * @param origin its name, for messages.
     * @return its normalization rules.
     * @throws IllegalArgumentException on a malformed line.
     */
    public static NormalizationRules parse(final String text, final String origin)
    {
        return GateConfig.parse(text, origin).rules();
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

    static Pattern compile(final String regex, final String where)
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
