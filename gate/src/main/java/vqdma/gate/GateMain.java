package vqdma.gate;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The command line of {@code gate.jar} ({@code scripts/gate} wraps it):
 * <pre>
 *   gate compare BASELINE.json CANDIDATE.json [--config gate/gate.conf] [--threshold 5] [--report-only] ...
 *   gate merge -o OUT.json IN.json...
 *   gate history [--config gate/gate.conf] RESULTS_FOLDER_OR_RUN...
 * </pre>
 * Exit codes: 0 passed (or {@code --report-only}), 1 a benchmark regressed, 2 bad usage or input (a message says
 * what).
 */
@Command(
    name = "scripts/gate",
    usageHelpWidth = 120,
    mixinStandardHelpOptions = true,
    version = "vqdma gate 0.1",
    description = "Perf-regression gate over JMH JSON results, fork by fork.",
    subcommands = {CompareCommand.class, MergeCommand.class, HistoryCommand.class})
public final class GateMain implements Runnable
{
    /** Exit code of a regression. */
    public static final int EXIT_REGRESSED = 1;
    /** Exit code of bad usage or input. */
    public static final int EXIT_ERROR = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * @param args the command line.
     */
    public static void main(final String[] args)
    {
        System.exit(run(args));
    }

    /**
     * @param args the command line.
     * @return the exit code.
     */
    public static int run(final String... args)
    {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /**
     * @param out  where reports go.
     * @param err  where errors and usage go.
     * @param args the command line.
     * @return the exit code.
     */
    public static int run(final PrintWriter out, final PrintWriter err, final String... args)
    {
        final CommandLine cli = new CommandLine(new GateMain());
        cli.setOut(out);
        cli.setErr(err);
        cli.setUsageHelpWidth(120);
        cli.setParameterExceptionHandler((ex, arguments) ->
        {
            // As vqdma's other tools: the tool's name and the reason, then where to look.
            final String name = ex.getCommandLine().getCommandSpec().qualifiedName();
            ex.getCommandLine().getErr().println(name + ": " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, ex.getCommandLine().getErr());
            ex.getCommandLine().getErr().println("Try '" + name + " --help' for the options.");
            ex.getCommandLine().getErr().flush();
            return EXIT_ERROR;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) ->
        {
            if (ex instanceof java.nio.file.NoSuchFileException)
            {
                commandLine.getErr().println("gate: no such file: " + ex.getMessage());
                commandLine.getErr().flush();
                return EXIT_ERROR;
            }
            if (ex instanceof IllegalArgumentException || ex instanceof java.io.IOException)
            {
                commandLine.getErr().println("gate: " + ex.getMessage());
                commandLine.getErr().flush();
                return EXIT_ERROR;
            }
            throw ex;
        });
        return cli.execute(args);
    }

    @Override
    public void run()
    {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing a command: compare, merge or history");
    }
}
