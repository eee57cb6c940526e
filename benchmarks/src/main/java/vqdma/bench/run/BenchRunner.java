package vqdma.bench.run;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.Utils;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import vqdma.bench.Main;
import vqdma.ring.tools.Cli;

import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code scripts/bench}: runs a selection of the benchmarks with progress on the console, and writes a results
 * folder that the report ({@code scripts/report}) and any JMH tool can read:
 * <pre>
 *   results/&lt;date&gt;-&lt;host&gt;/
 *     jmh.json       JMH's JSON, raw samples per fork and iteration, all steps of the run in one file
 *     jmh.log        JMH's human-readable output, with the progress lines
 *     machine.json   CPU, cores, memory, OS, JDK, JVM flags, git revision, load before and after, the steps
 *     machine.txt    the same, for people
 * </pre>
 * Selections ({@link Selection}): the curated default (a few minutes on 2 cores), {@code --full} (every benchmark
 * with its own settings: what a baseline records), {@code --regex R} (anything, as with {@code benchmarks.jar}).
 * JMH options follow the runner's own: with {@code --regex} everything after the regex, otherwise everything that is
 * not a runner option or comes after {@code --}; they go to every step and replace the step's own values.
 * <p>
 * While another JMH run on this machine holds JMH's lock ({@code /tmp/jmh.lock}), a step waits for it (up to
 * {@code VQDMA_JMH_LOCK_WAIT} seconds, default 900) instead of failing or measuring side by side with it.
 */
@Command(name = "scripts/bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Run vqdma's benchmarks with progress; write results/<date>-<time>-<host>/ (JMH JSON, machine).",
        "Runner options first; every other argument (or all after --) is a JMH option for every step."},
    footer = {"", "Examples:",
        "  scripts/bench                                   the curated selection (about 3-5 minutes on 2 cores)",
        "  scripts/bench --full --out results/baseline     the whole matrix (<= 30 minutes): a baseline",
        "  scripts/bench --regex 'dma.*' -p size=4096 -prof gc",
        "  scripts/bench --estimate --full                 the plan and its estimated time, without running"})
public final class BenchRunner implements Callable<Integer>
{
    @Option(names = "--full", description = "every benchmark with its own @Warmup/@Measurement/@Fork/@Param")
    boolean full;

    @Option(names = "--regex", paramLabel = "REGEX",
        description = "a JMH include regex (ring.*, peer.*, dma.*, iommu.*, blk.* select a group); the rest of the "
            + "command line goes to JMH")
    String regex;

    @Option(names = "--out", paramLabel = "DIR", description = "results folder (default results/<date>-<time>-<host>)")
    Path out;

    @Option(names = "--estimate", description = "print the runs and their estimated time, run nothing")
    boolean estimate;

    @Option(names = "--verbose", description = "JMH's full output on the console too (it always goes to jmh.log)")
    boolean verbose;

    @CommandLine.Unmatched
    List<String> jmhArgs = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final List<String> arguments = new ArrayList<>();

    @Override
    public Integer call() throws Exception
    {
        if (full && regex != null)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--full and --regex exclude each other");
        }
        final List<String> extra = new ArrayList<>(jmhArgs);
        extra.remove("--");
        if (regex != null && listsOrHelps(extra))
        {
            // -l, -lp, -h...: exactly what benchmarks.jar prints.
            final List<String> args = new ArrayList<>(List.of(regex));
            args.addAll(extra);
            Main.main(args.toArray(new String[0]));
            return 0;
        }
        final String mode = full ? "full" : regex != null ? "regex" : "default";
        final List<Selection.Step> steps = full ? Selection.full(extra) :
            regex != null ? Selection.regex(regex, extra) : Selection.curated(extra);
        final int feature = Runtime.version().feature();
        final List<CommandLineOptions> options = new ArrayList<>();
        final List<Plan> plans = new ArrayList<>();
        final List<Cell> all = new ArrayList<>();
        for (final Selection.Step step : steps)
        {
            final CommandLineOptions o;
            try
            {
                o = options(step, feature);
            }
            catch (final CommandLineOptionException ex)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), "JMH does not accept " +
                    String.join(" ", extra) + ": " + ex.getMessage().trim() + " (runner options, listed by " +
                    "--help, go before --regex; JMH's options: java -jar benchmarks/target/benchmarks.jar -h)");
            }
            final Plan plan = Plan.of(BenchmarkList.defaultList(), o);
            options.add(o);
            plans.add(plan);
            all.addAll(plan.cells());
        }
        final Plan whole = Plan.of(all);
        final PrintStream console = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
            Utils.guessConsoleEncoding());
        if (estimate)
        {
            printSteps(console, steps, plans);
            console.println();
            console.print(whole.table());
            return 0;
        }
        if (whole.cells().isEmpty())
        {
            console.println("no benchmark matches " + (regex != null ? regex : "the selection") + " (try -l)");
            return 2;
        }

        final Path dir = out != null ? out : defaultDir();
        Files.createDirectories(dir);
        final String dirFile = System.getenv("VQDMA_BENCH_DIR_FILE");
        if (dirFile != null && !dirFile.isEmpty())
        {
            Files.writeString(Path.of(dirFile), dir.toAbsolutePath().toString(), StandardCharsets.UTF_8);
        }
        final MachineFacts facts = MachineFacts.collect(home(), Main.forkFlags(feature), mode,
            List.of(commandLine()));
        facts.put("estimateSeconds", Math.round(whole.seconds() + Plan.LAUNCH_SECONDS * steps.size()));
        facts.put("runs", whole.cells().size());
        for (int i = 0; i < steps.size(); i++)
        {
            if (!plans.get(i).cells().isEmpty())
            {
                facts.step(shellCommand("java -jar benchmarks/target/benchmarks.jar",
                    Main.rewriteGroups(steps.get(i).jmhArgs().toArray(new String[0]))));
            }
        }
        facts.write(dir);

        console.printf(Locale.ROOT, "%d runs in %d step(s), estimated %s on this machine's pace; results in %s%n",
            whole.cells().size(), steps.size(), Plan.clock(whole.seconds() + Plan.LAUNCH_SECONDS * steps.size()),
            dir);
        console.println(ProgressFormat.SPREAD_LEGEND);
        final Path json = dir.resolve("jmh.json");
        final List<RunResult> results = new ArrayList<>();
        int failed = 0;
        final ProgressFormat progress;
        try (PrintStream log = new PrintStream(Files.newOutputStream(dir.resolve("jmh.log")), true,
            StandardCharsets.UTF_8))
        {
            final PrintStream jmhOut = verbose ? tee(console, log) : log;
            final OutputFormat text = OutputFormatFactory.createFormatInstance(jmhOut, VerboseMode.NORMAL);
            progress = new ProgressFormat(whole, text, console, verbose);
            for (int i = 0; i < steps.size(); i++)
            {
                final Selection.Step step = steps.get(i);
                if (plans.get(i).cells().isEmpty())
                {
                    console.println("-- skipped: " + step.title() + " (not in this build)");
                    continue;
                }
                console.printf(Locale.ROOT, "-- %s: %d runs%n", step.title(), plans.get(i).cells().size());
                try
                {
                    results.addAll(runLocked(options.get(i), progress, console));
                }
                catch (final RunnerException ex)
                {
                    failed++;
                    console.println("   step failed: " + ex.getMessage());
                    log.println("step failed: " + Utils.throwableToString(ex));
                }
                ResultFormatFactory.getInstance(ResultFormatType.JSON, json.toString()).writeOut(results);
            }
        }
        facts.put("elapsedSeconds", Math.round(progress.elapsedSeconds()));
        facts.finish();
        facts.write(dir);

        console.println();
        console.printf(Locale.ROOT, "%d of %d runs produced results in %s (estimated %s)%n", results.size(),
            whole.cells().size(), Plan.clock(progress.elapsedSeconds()), Plan.clock(whole.seconds()));
        if (progress.runsWithErrors() > 0)
        {
            console.printf(Locale.ROOT, "%d run(s) counted failed operations (errors, ioerr or mapErrors > 0: " +
                "expected where a mapping cannot succeed, e.g. 1 MiB through SWIOTLB; the report marks them)%n",
                progress.runsWithErrors());
        }
        console.println("results: " + dir);
        console.println("  jmh.json      JMH results with raw samples (any JMH tool reads it, e.g. jmh-visualizer)");
        console.println("  jmh.log       JMH's full output");
        console.println("  machine.json  CPU, cores, memory, OS, JDK, JVM flags, git revision, load (machine.txt)");
        return failed > 0 || progress.failedRuns() > 0 || results.isEmpty() ? 1 : 0;
    }

    /**
     * @param step    a step.
     * @param feature the JDK feature version of the forks.
     * @return its JMH options, group regexes anchored and the fork flags added.
     * @throws CommandLineOptionException if JMH rejects the command line.
     */
    static CommandLineOptions options(final Selection.Step step, final int feature) throws CommandLineOptionException
    {
        return new CommandLineOptions(Main.withForkFlags(
            Main.rewriteGroups(step.jmhArgs().toArray(new String[0])), feature));
    }

    static Collection<RunResult> runLocked(final CommandLineOptions options, final ProgressFormat progress,
        final PrintStream console) throws RunnerException
    {
        final long limit = Long.getLong("vqdma.jmhLockWait", envLong("VQDMA_JMH_LOCK_WAIT", 900));
        long waited = 0;
        while (true)
        {
            try
            {
                return new Runner(options, progress).run();
            }
            catch (final RunnerException ex)
            {
                final String message = String.valueOf(ex.getMessage());
                if (!message.contains("Unable to acquire the JMH lock") || waited >= limit)
                {
                    throw ex;
                }
                if (waited == 0)
                {
                    console.println("   another JMH run holds its lock (/tmp/jmh.lock): waiting up to " + limit + " s");
                }
                try
                {
                    Thread.sleep(3000);
                }
                catch (final InterruptedException ie)
                {
                    Thread.currentThread().interrupt();
                    throw ex;
                }
                waited += 3;
            }
        }
    }

    private static long envLong(final String name, final long otherwise)
    {
        try
        {
            final String v = System.getenv(name);
            return v == null || v.isEmpty() ? otherwise : Long.parseLong(v.trim());
        }
        catch (final NumberFormatException ex)
        {
            return otherwise;
        }
    }

    private static boolean listsOrHelps(final List<String> args)
    {
        for (final String a : args)
        {
            if (List.of("-l", "-lp", "-lprof", "-lrf", "-h").contains(a))
            {
                return true;
            }
        }
        return false;
    }

    private static void printSteps(final PrintStream console, final List<Selection.Step> steps, final List<Plan> plans)
    {
        for (int i = 0; i < steps.size(); i++)
        {
            final Plan p = plans.get(i);
            console.printf(Locale.ROOT, "%-60s %4d runs  %s%n", steps.get(i).title(), p.cells().size(),
                p.cells().isEmpty() ? "(not in this build)" : "~" + Plan.clock(p.seconds()));
            for (final Cell c : p.cells())
            {
                console.printf(Locale.ROOT, "    %-100s %6.1f s%n", c.label(), c.estimateSeconds());
            }
        }
    }

    private static PrintStream tee(final PrintStream a, final PrintStream b)
    {
        return new PrintStream(new OutputStream()
        {
            @Override
            public void write(final int c)
            {
                a.write(c);
                b.write(c);
            }

            @Override
            public void write(final byte[] buf, final int off, final int len)
            {
                a.write(buf, off, len);
                b.write(buf, off, len);
            }

            @Override
            public void flush()
            {
                a.flush();
                b.flush();
            }
        }, true, StandardCharsets.UTF_8);
    }

    /**
     * @return the command that started this run as the user typed it: {@code scripts/bench} passes its own in
     * {@code VQDMA_COMMAND_LINE}; run directly, this class and its arguments.
     */
    private String commandLine()
    {
        final String typed = System.getenv("VQDMA_COMMAND_LINE");
        return typed != null && !typed.isBlank() ? typed.strip() :
            shellCommand("java --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -cp " +
                "benchmarks/target/benchmarks.jar " + BenchRunner.class.getName(), arguments.toArray(new String[0]));
    }

    /**
     * @param command the command.
     * @param args    its arguments.
     * @return one line a shell runs as that command: arguments quoted where the shell would change them.
     */
    static String shellCommand(final String command, final String... args)
    {
        final StringBuilder out = new StringBuilder(command);
        for (final String a : args)
        {
            out.append(' ').append(a.matches("[A-Za-z0-9_./=,:@%+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return out.toString();
    }

    /**
     * The checkout, from {@code VQDMA_HOME} (scripts/bench sets it), else the working directory. An environment
     * variable, not a system property: JMH's forks inherit the host JVM's flags and record them in every result of
     * {@code jmh.json}, and a committed baseline should not carry the recording machine's checkout path.
     */
    private static Path home()
    {
        final String env = System.getenv("VQDMA_HOME");
        return Path.of(env != null && !env.isEmpty() ? env : System.getProperty("vqdma.home", "."));
    }

    private static Path defaultDir()
    {
        final String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmmss"));
        String host = MachineFacts.hostname();
        final int dot = host.indexOf('.');
        host = dot > 0 ? host.substring(0, dot) : host;
        return home().resolve("results").resolve(stamp + "-" + host);
    }

    /**
     * @param args runner options, then JMH options.
     */
    public static void main(final String[] args)
    {
        final BenchRunner runner = new BenchRunner();
        runner.arguments.addAll(List.of(args));
        final CommandLine cl = Cli.of(runner).setStopAtUnmatched(true).setUnmatchedOptionsArePositionalParams(false);
        System.exit(cl.execute(args));
    }
}
