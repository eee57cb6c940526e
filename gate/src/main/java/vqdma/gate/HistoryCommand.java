package vqdma.gate;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gate history}: the trend of every benchmark across runs, with its change points ({@link History}). */
@Command(
    name = "history",
    mixinStandardHelpOptions = true,
    description = {
        "The level of every benchmark in each run (as the gate measures it), and the runs where it changed:",
        "E-divisive means (Matteson and James 2014, as in Hunter / Apache Otava), permutation-tested.",
        "Runs: jmh.json or gate.json files, or folders of them, or folders of such folders (results/)."})
final class HistoryCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "RUN", description = "JMH JSON files, run folders or results folders.")
    List<Path> paths;

    @Option(names = "--config", paramLabel = "FILE",
        description = "The gate's configuration (metric, fork statistic, level, normalize rules), e.g. gate/gate.conf.")
    Path config;

    @Option(names = "--metric", paramLabel = "NAME",
        description = "The metric (e.g. cpu.time.norm, or 'primary' for JMH's score). Default: the config's, else " +
            "primary. Runs without it do not count.")
    String metric;

    @Option(names = "--no-normalize", description = "Raw levels, ignoring the config's normalize rules.")
    boolean noNormalize;

    @Option(names = "--alpha", defaultValue = "0.05",
        description = "Significance level of each change point's permutation test (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--permutations", defaultValue = "999",
        description = "Shuffles per permutation test (default: ${DEFAULT-VALUE}).")
    int permutations;

    @Option(names = "--min-runs", defaultValue = "3",
        description = "Fewest runs a benchmark needs to be shown (default: ${DEFAULT-VALUE}).")
    int minRuns;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Also append the Markdown to FILE.")
    Path markdown;

    @Override
    public Integer call() throws IOException
    {
        History.Settings settings = new History.Settings();
        if (config != null)
        {
            settings = History.Settings.of(GateConfig.read(config));
        }
        if (metric != null)
        {
            settings.metric(metric.equals("primary") ? null : metric);
        }
        if (noNormalize)
        {
            settings.normalization(NormalizationRules.NONE, List.of());
        }
        settings.alpha(alpha).permutations(permutations).minRuns(minRuns);
        final List<String> warnings = new ArrayList<>();
        final List<History.Run> runs = History.readRuns(paths, warnings);
        final History.Report report = History.of(runs, settings, warnings);
        final String text = HistoryReport.render(report);
        final PrintWriter out = spec.commandLine().getOut();
        out.print(text);
        out.flush();
        if (markdown != null)
        {
            Files.writeString(markdown, text + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        }
        return 0;
    }
}
