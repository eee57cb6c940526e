package vqdma.ring.tools;

import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * How vqdma's command-line tools ({@code scripts/*}) speak: a usage error is one line with the tool's name and the
 * reason, picocli's suggestions if it has any, then where to look, and exit status 2:
 * <pre>
 *   scripts/ring-peer driver: Missing required option: '--file=&lt;file&gt;'
 *   Try 'scripts/ring-peer driver --help' for the options.
 * </pre>
 * Help texts are laid out for {@value #WIDTH} columns (picocli's default of 80 wraps the descriptions mid-phrase). A
 * tool names its command after its script ({@code @Command(name = "scripts/ring-peer")}), so that its usage line and
 * its errors say what to type.
 */
public final class Cli
{
    /** Columns of the help text. */
    public static final int WIDTH = 120;

    private Cli()
    {
    }

    /**
     * @param tool the tool's command object (annotated with {@code @Command}).
     * @return its command line, with vqdma's usage-error handler and help width (subcommands included).
     */
    public static CommandLine of(final Object tool)
    {
        final CommandLine cl = new CommandLine(tool);
        cl.setUsageHelpWidth(WIDTH);
        cl.setParameterExceptionHandler(Cli::usageError);
        return cl;
    }

    /**
     * Prints a usage error as vqdma's tools do.
     *
     * @param ex   what picocli (or the tool's own validation) rejected.
     * @param args the command line.
     * @return the exit status: 2.
     */
    static int usageError(final CommandLine.ParameterException ex, final String[] args)
    {
        final CommandLine cmd = ex.getCommandLine();
        final PrintWriter err = cmd.getErr();
        final String name = cmd.getCommandSpec().qualifiedName();
        err.println(name + ": " + ex.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
        err.println("Try '" + name + " --help' for the options.");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }
}
