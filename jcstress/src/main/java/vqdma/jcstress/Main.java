package vqdma.jcstress;

import org.openjdk.jcstress.JCStress;
import org.openjdk.jcstress.Options;
import org.openjdk.jcstress.infra.runners.TestList;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The entry point of {@code jcstress.jar}: jcstress 0.16 with the JVM flags its forks need, and a verdict after the
 * run that fails the process ({@link ResultCheck}).
 *
 * <h2>Fork flags</h2>
 * jcstress runs every test in JVMs it forks. The jar's manifest ({@code Add-Exports}) covers only the JVM started
 * by {@code java -jar}, so the flags go to the forks with jcstress's {@code -jvmArgsPrepend} (added to every JVM
 * configuration it probes and runs):
 * <ul>
 *   <li>{@code --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED}: Agrona 2.x uses
 *   {@code jdk.internal.misc.Unsafe};</li>
 *   <li>{@code --enable-native-access=ALL-UNNAMED} on JDK 22 and later: jcstress binds its actor threads to CPUs
 *   through JNA, which JDK 24+ warns about (JEP 472);</li>
 *   <li>{@code --sun-misc-unsafe-memory-access=allow} on JDK 23 and later: jcstress uses {@code sun.misc.Unsafe},
 *   which those JDKs warn about (JEP 471/498); the flag does not exist before 23.</li>
 * </ul>
 *
 * <h2>Modes</h2>
 * <pre>
 *   java -jar jcstress.jar [jcstress options]            the full suite, jcstress's defaults (all JVM modes)
 *   java -jar jcstress.jar -bounded [jcstress options]   the CI run: each test in one fork, briefly
 *   java -jar jcstress.jar -h | -l | -p FILE             jcstress's help, test list, report re-parse
 * </pre>
 * {@code -bounded} adds {@link #BOUNDED_DEFAULTS} for each option the caller did not give: one JVM configuration
 * (the fork flags as {@code -jvmArgs}, which turns off jcstress's probing of interpreter/C1/C2/stress modes), no
 * split compilation (one fork per test rather than one per compiler combination of the actors), and
 * {@value #BOUNDED_ITERS} iterations of {@value #BOUNDED_TIME_MS} ms. The exit status is 0 only if
 * {@link ResultCheck} finds nothing wrong.
 */
public final class Main
{
    static final String BOUNDED = "-bounded";
    static final String ADD_EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    static final String UNSAFE_ALLOW = "--sun-misc-unsafe-memory-access=allow";
    static final int BOUNDED_ITERS = 1;
    static final int BOUNDED_TIME_MS = 1000;
    static final String[][] BOUNDED_DEFAULTS = {
        {"-sc", "false"},
        {"-f", "1"},
        {"-iters", Integer.toString(BOUNDED_ITERS)},
        {"-time", Integer.toString(BOUNDED_TIME_MS)},
    };

    private Main()
    {
    }

    /**
     * @param args jcstress options, optionally {@code -bounded} among them.
     * @throws Exception whatever jcstress throws.
     */
    public static void main(final String[] args) throws Exception
    {
        final String[] jcstressArgs = jcstressArgs(args, Runtime.version().feature());
        if (passThrough(jcstressArgs))
        {
            org.openjdk.jcstress.Main.main(jcstressArgs);
            return;
        }
        final Options opts = new Options(jcstressArgs);
        if (!opts.parse())
        {
            System.exit(2);
        }
        final long start = System.nanoTime();
        try
        {
            new JCStress(opts).run();
        }
        catch (final AssertionError e)
        {
            // jcstress's ExceptionReportPrinter throws this after writing its reports when a test failed; the
            // verdict below lists the failures again, with everything else that is wrong.
            System.out.println("jcstress reported test failures: " + String.valueOf(e.getMessage()).trim());
        }
        final long seconds = (System.nanoTime() - start) / 1_000_000_000L;

        if (!new File(opts.getResultFile()).isFile())
        {
            System.out.println("vqdma jcstress: FAILED: jcstress wrote no result file " + opts.getResultFile() +
                " (no test selected, or no JVM configuration worked: see above)");
            System.exit(1);
        }
        final Map<String, ResultCheck.Summary> summaries = ResultCheck.read(opts.getResultFile());
        System.out.println();
        ResultCheck.print(System.out, summaries);
        final TreeSet<String> selected = selectedTests(opts.getTestFilter());
        final List<String> failures = ResultCheck.failures(summaries, selected);
        final TreeSet<String> tests = new TreeSet<>(selected);
        tests.addAll(summaries.keySet());
        final int failed = ResultCheck.failedTests(failures, tests);
        System.out.println();
        if (failures.isEmpty())
        {
            System.out.printf("vqdma jcstress: PASSED (%d s, results in %s)%n", seconds, opts.getResultFile());
        }
        else
        {
            System.out.printf("vqdma jcstress: FAILED (%d problems, %d s, results in %s):%n",
                failures.size(), seconds, opts.getResultFile());
            for (final String failure : failures)
            {
                System.out.println("  " + failure);
            }
        }
        // The plain closing line a CI log reader understands.
        System.out.printf("jcstress: %d passed, %d failed%n", tests.size() - failed, failed);
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    /**
     * @param args        the user's arguments.
     * @param javaFeature the feature version of the JDK the forks run on (the host's: jcstress forks the same java).
     * @return jcstress's arguments: the user's, {@code -bounded} expanded, and the fork flags.
     */
    static String[] jcstressArgs(final String[] args, final int javaFeature)
    {
        final List<String> user = new ArrayList<>(Arrays.asList(args));
        final boolean bounded = user.remove(BOUNDED);
        final String forkFlags = forkFlags(javaFeature);
        final List<String> out = new ArrayList<>();
        if (bounded)
        {
            for (final String[] option : BOUNDED_DEFAULTS)
            {
                if (!user.contains(option[0]))
                {
                    out.add(option[0]);
                    out.add(option[1]);
                }
            }
        }
        if (bounded && !user.contains("-jvmArgs"))
        {
            out.add("-jvmArgs");
            out.add(forkFlags);
        }
        else
        {
            out.add("-jvmArgsPrepend");
            out.add(forkFlags);
        }
        out.addAll(user);
        return out.toArray(new String[0]);
    }

    static String forkFlags(final int javaFeature)
    {
        final StringBuilder flags = new StringBuilder(ADD_EXPORTS);
        if (javaFeature >= 22)
        {
            flags.append(' ').append(NATIVE_ACCESS);
        }
        if (javaFeature >= 23)
        {
            flags.append(' ').append(UNSAFE_ALLOW);
        }
        return flags.toString();
    }

    private static boolean passThrough(final String[] args)
    {
        for (final String arg : args)
        {
            if (arg.equals("-h") || arg.equals("-l") || arg.equals("-p"))
            {
                return true;
            }
        }
        return false;
    }

    private static TreeSet<String> selectedTests(final String filter)
    {
        // As jcstress selects them (JCStress.getTests()).
        final Pattern pattern = Pattern.compile(filter);
        final TreeSet<String> selected = new TreeSet<>();
        for (final String name : TestList.tests())
        {
            if (pattern.matcher(name).find())
            {
                selected.add(name);
            }
        }
        return selected;
    }
}
