package vqdma.gate;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import vqdma.results.JmhResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/** {@code gate compare}: the gate itself. */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = {
        "Compares a candidate JMH JSON result with a baseline, benchmark by benchmark (name + params), fork by fork.",
        "Speed ratio = candidate/baseline speed: above 1 the candidate is faster.",
        "Exit 0: no regression (or --report-only); 1: a benchmark regressed beyond the threshold; 2: bad input."})
final class CompareCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "BASELINE", description = "JMH JSON of the baseline run (-rf json).")
    Path baseline;

    @Parameters(index = "1", paramLabel = "CANDIDATE", description = "JMH JSON of the candidate run.")
    Path candidate;

    @Option(names = "--threshold", paramLabel = "PERCENT",
        description = "Minimum effect size in percent of the benchmarks without a threshold of their own in the " +
            "config (default: the config's 'threshold PERCENT' line, else 5).")
    Double thresholdPercent;

    @Option(names = "--alpha", defaultValue = "0.05",
        description = "Family-wise significance level of each one-sided question (slower, faster), Holm-Bonferroni " +
            "over the benchmarks (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--confidence", defaultValue = "0.95",
        description = "Confidence level of the bootstrap intervals (default: ${DEFAULT-VALUE}).")
    double confidence;

    @Option(names = "--replicates", defaultValue = "10000",
        description = "Bootstrap replicates (default: ${DEFAULT-VALUE}).")
    int replicates;

    @Option(names = "--seed", defaultValue = "1", description = "Bootstrap seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--min-forks", defaultValue = "3",
        description = "Fewest forks per side for a verdict other than inconclusive (default: ${DEFAULT-VALUE}).")
    int minForks;

    @Option(names = "--config", paramLabel = "FILE",
        description = "Configuration file with 'normalize BENCH_REGEX by REF_REGEX' lines (e.g. gate/gate.conf).")
    Path config;

    @Option(names = "--normalize", paramLabel = "BENCH_REGEX=REF_REGEX",
        description = "Divide matching benchmarks' ratios by the reference's ratio from the same runs (repeatable; " +
            "before the config file's rules).")
    List<String> normalize = new ArrayList<>();

    @Option(names = "--metric", paramLabel = "NAME",
        description = "Gate on this secondary metric (e.g. cpu.time.norm, from -prof vqdma.bench.CpuTimeProfiler) " +
            "instead of JMH's score; 'primary' for the score. Default: the config's 'metric' line, else primary.")
    String metric;

    @Option(names = "--fork-statistic", paramLabel = "median|min",
        description = "A fork's value: the median of its iterations, or its fastest iteration (for machines shared " +
            "with other work). Default: the config's 'fork-statistic' line, else median.")
    String forkStatistic;

    @Option(names = "--level", paramLabel = "median|fast-quartile",
        description = "A side's level: its median fork (tested with Mann-Whitney U) or its fast quartile (tested " +
            "with a permutation test), for benchmarks whose forks fall into slower modes; a normalized benchmark is " +
            "always tested by permutation, its reference's forks relabelled too. Default: the config's 'level' " +
            "line, else median.")
    String level;

    @Option(names = "--no-normalize", description = "Ignore every normalization rule.")
    boolean noNormalize;

    @Option(names = "--report-only", description = "Always exit 0 (report regressions without failing).")
    boolean reportOnly;

    @Option(names = "--markdown", paramLabel = "FILE",
        description = "Also append the Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY).")
    Path markdown;

    @Option(names = "--title", description = "Heading of the report (default: the two file names).")
    String title;

    @Option(names = "--verdicts", paramLabel = "FILE",
        description = "Also write one line per benchmark to FILE, tab-separated, for scripts: verdict, benchmark " +
            "(name{params}), mode, speed ratio, interval low, interval high, Holm-adjusted one-sided p in the direction " +
            "the ratio leans (a header line first).")
    Path verdicts;

    @Override
    public Integer call() throws IOException
    {
        NormalizationRules rules = NormalizationRules.NONE;
        for (final String option : normalize)
        {
            rules = rules.and(new NormalizationRules(List.of(NormalizationRules.parseOption(option))));
        }
        String chosenMetric = null;
        Stats.ForkStatistic statistic = Stats.ForkStatistic.MEDIAN;
        List<Pattern> references = List.of();
        List<Pattern> slowerOnly = List.of();
        List<Gate.CellThreshold> thresholds = List.of();
        Double threshold = thresholdPercent != null ? thresholdPercent / 100 : null;
        Stats.Level chosenLevel = Stats.Level.MEDIAN;
        if (config != null)
        {
            final GateConfig file = GateConfig.read(config);
            if (file.level() != null)
            {
                chosenLevel = file.level();
            }
            rules = rules.and(file.rules());
            references = file.references();
            slowerOnly = file.slowerOnly();
            thresholds = file.thresholds();
            if (threshold == null)
            {
                threshold = file.threshold();
            }
            chosenMetric = file.metric();
            if (file.forkStatistic() != null)
            {
                statistic = file.forkStatistic();
            }
        }
        if (level != null)
        {
            chosenLevel = GateConfig.parseLevel(level, "--level");
        }
        if (forkStatistic != null)
        {
            switch (forkStatistic)
            {
                case "median": statistic = Stats.ForkStatistic.MEDIAN; break;
                case "min": statistic = Stats.ForkStatistic.MIN; break;
                default: throw new IllegalArgumentException("--fork-statistic " + forkStatistic +
                    ": expected median or min");
            }
        }
        if (metric != null)
        {
            chosenMetric = metric.equals("primary") ? null : metric;
        }
        if (noNormalize)
        {
            rules = NormalizationRules.NONE;
            references = List.of();
        }
        final Gate.Options options = new Gate.Options()
            .thresholds(thresholds)
            .alpha(alpha)
            .confidence(confidence)
            .replicates(replicates)
            .seed(seed)
            .minForks(minForks)
            .forkStatistic(statistic)
            .references(references)
            .slowerOnly(slowerOnly)
            .level(chosenLevel)
            .rules(rules);
        if (threshold != null)
        {
            options.threshold(threshold); // else the Options' default
        }
        final Map<String, JmhResult> base = GateInput.read(baseline, chosenMetric);
        final Map<String, JmhResult> cand = GateInput.read(candidate, chosenMetric);
        if (chosenMetric != null && (base.isEmpty() || cand.isEmpty()))
        {
            throw new IllegalArgumentException("no benchmark in " + (base.isEmpty() ? baseline : candidate) +
                " has the metric '" + chosenMetric + "'" + (chosenMetric.equals("cpu.time.norm") ?
                " (run JMH with -prof vqdma.bench.CpuTimeProfiler; scripts/gate run does)" : ""));
        }
        final Gate.Report report = Gate.compare(base, cand, options);
        final List<String> how = new ArrayList<>();
        how.add(chosenMetric == null ? "JMH score" : chosenMetric);
        how.add(statistic == Stats.ForkStatistic.MIN ? "fastest iteration per fork" : "median iteration per fork");
        how.add(chosenLevel == Stats.Level.FAST_QUARTILE ? "fast quartile of forks" : "median fork");
        final String heading = (title != null ? title : "Perf gate: " + candidate + " vs " + baseline) + " (" +
            String.join(", ", how) + ")";
        final String text = MarkdownReport.render(report, heading);
        final PrintWriter out = spec.commandLine().getOut();
        out.print(text);
        out.println();
        out.println(report.summaryLine() + (reportOnly && report.regressed() ? " (report only)" : ""));
        out.flush();
        if (markdown != null)
        {
            Files.writeString(markdown, text + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        }
        if (verdicts != null)
        {
            Files.writeString(verdicts, verdictLines(report), StandardCharsets.UTF_8);
        }
        return report.regressed() && !reportOnly ? GateMain.EXIT_REGRESSED : 0;
    }

    /**
     * @param report a comparison.
     * @return its verdicts as tab-separated lines, a header first; empty fields for what a row lacks.
     */
    static String verdictLines(final Gate.Report report)
    {
        final StringBuilder sb = new StringBuilder("verdict\tbenchmark\tmode\tratio\tci_low\tci_high\tp_holm\n");
        for (final Comparison c : report.rows())
        {
            sb.append(c.verdict().label()).append('\t').append(c.key()).append('\t').append(c.mode())
                .append('\t').append(field(c.ratio())).append('\t').append(field(c.ciLow()))
                .append('\t').append(field(c.ciHigh())).append('\t').append(field(c.pAdjusted())).append('\n');
        }
        return sb.toString();
    }

    private static String field(final double v)
    {
        return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%.6g", v);
    }
}
