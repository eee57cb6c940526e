package vqdma.report;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code scripts/report <results-folder> [--baseline <folder>] [--history <results> --gate-config <file>]}: writes {@code report.html}, {@code report.md} and
 * {@code charts/*.png} into the results folder (or {@code --out}).
 */
@Command(name = "scripts/report", mixinStandardHelpOptions = true, sortOptions = false, usageHelpWidth = 120,
    description = {"Charts and tables from a results folder of scripts/bench (jmh.json, machine.json):",
        "report.html, report.md and charts/*.png, optionally compared with a baseline folder."})
public final class ReportMain implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "RESULTS", description = "a results folder (or a JMH JSON file)")
    Path results;

    @Option(names = "--baseline", paramLabel = "DIR", description = "a results folder (or JMH JSON) to compare with")
    Path baseline;

    @Option(names = "--out", paramLabel = "DIR", description = "where to write (default: the results folder)")
    Path out;

    @Option(names = "--history", paramLabel = "DIR",
        description = "results folders (or runs) whose runs make a trend chart per gated benchmark (repeatable; " +
            "needs --gate-config)")
    List<Path> history = new ArrayList<>();

    @Option(names = "--gate-config", paramLabel = "FILE",
        description = "the gate's configuration (gate/gate.conf): which benchmarks the trend charts show, measured how")
    Path gateConfig;

    @Override
    public Integer call() throws Exception
    {
        final Report report = Report.of(results, baseline, history, gateConfig);
        final Path dir = out != null ? out : results.toFile().isDirectory() ? results :
            results.toAbsolutePath().getParent();
        final Path html = report.write(dir);
        final PrintWriter console = new PrintWriter(System.out, true);
        console.printf("report: %s (%d results, %d charts%s)%n", html, report.results().size(),
            report.figures().size(), report.comparison() == null ? "" : ", compared with " + report.baselineName());
        console.printf("        %s%n", dir.resolve("report.md"));
        return 0;
    }

    /**
     * @param args the results folder, options.
     */
    public static void main(final String[] args)
    {
        System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }

    /**
     * @return the command line, speaking as vqdma's other tools: a usage error or unreadable input is one line with
     * the tool's name and the reason (and for usage, where to look), never a stack trace.
     */
    static CommandLine commandLine()
    {
        final CommandLine cl = new CommandLine(new ReportMain());
        cl.setParameterExceptionHandler((ex, args) ->
        {
            final PrintWriter err = ex.getCommandLine().getErr();
            err.println("scripts/report: " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
            err.println("Try 'scripts/report --help' for the options.");
            err.flush();
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) ->
        {
            if (!(ex instanceof IOException))
            {
                throw ex;
            }
            commandLine.getErr().println("scripts/report: " + ex.getMessage());
            commandLine.getErr().flush();
            return 2;
        });
        return cl;
    }
}
