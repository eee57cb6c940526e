package vqdma.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The entry point of {@code benchmarks.jar}: JMH's own {@code org.openjdk.jmh.Main} with two conveniences, so that
 * nobody has to type JVM flags or fully-qualified regexes.
 *
 * <h2>Groups</h2>
 * Every benchmark lives in a package named after the layer it measures, and that name selects it:
 * <pre>
 *   ring.*    vqdma.bench.ring    the split ring: one-thread add/pop/return cycle, two-thread round trips
 *   peer.*    vqdma.bench.peer    the ring's peers in the same shape: JCTools SpscArrayQueue, Agrona OneToOneRingBuffer
 *   dma.*     vqdma.bench.dma     map+unmap per DmaOps x size x direction, the memcpy baselines, SWIOTLB contention
 *   iommu.*   vqdma.bench.iommu   the IOMMU model: strict vs lazy, range cache hit vs miss, invalidation cost
 *   blk.*     vqdma.bench.blk     virtio-blk end to end: DMA profile x clamp x request size x queue depth
 *   ref.*     vqdma.bench.ref     the reference workload the perf gate normalises by
 * </pre>
 * JMH matches an include regex with {@code find()} against the fully-qualified name, and every name starts with
 * {@code vqdma.bench.}: a plain {@code dma.*} would match everything, because "vqdma" contains "dma". So an include
 * (a positional argument) or an exclude ({@code -e}) that <em>starts</em> with a group name followed by nothing,
 * {@code .} or {@code \.} is rewritten to one anchored at the package: {@code dma.*} becomes
 * {@code ^vqdma\.bench\.dma\..*}, {@code dma.DmaMap} becomes {@code ^vqdma\.bench\.dma\.DmaMap}, each alternative of
 * {@code dma.*|iommu.*} on its own. Any other regex ({@code DmaMapBenchmark}, {@code .*Iommu.*}, a fully-qualified
 * name) goes to JMH unchanged, with JMH's usual substring semantics.
 *
 * <h2>Fork flags</h2>
 * <ul>
 *   <li>{@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED}: Agrona 2.x uses {@code jdk.internal.misc.Unsafe}.
 *   The jar's manifest ({@code Add-Exports}) covers the JVM started by {@code java -jar}; it does not reach the JVMs
 *   JMH forks, so it is passed to them with {@code -jvmArgsPrepend}.</li>
 *   <li>{@code --sun-misc-unsafe-memory-access=allow} on JDK 23 and later: JCTools 4 uses {@code sun.misc.Unsafe},
 *   which JDK 24 and later warn about (JEP 471/498); the flag keeps benchmark output clean and does not exist before
 *   23.</li>
 * </ul>
 *
 * <h2>The host JVM on JDK 24 and later</h2>
 * JMH itself calls {@code sun.misc.Unsafe} in the JVM that {@code java -jar} starts (before any benchmark runs), so
 * JDK 24+ would print four lines of warning there, and a jar's manifest cannot allow it. When that JVM was started
 * without {@code --sun-misc-unsafe-memory-access}, {@link #main} starts it again with the same command line and
 * {@code --sun-misc-unsafe-memory-access=allow} in front of it, passes its standard streams through, and exits with
 * its status (a shutdown hook ends the child if this JVM is stopped). That costs one JVM start, a fraction of a
 * second, and only on JDK 24+; {@code scripts/bench} and an explicit flag skip it. The relaunched JVM finds
 * {@value #RELAUNCHED} in its environment and never relaunches again.
 * Every other argument is JMH's: {@code -l}, {@code -lp}, {@code -p}, {@code -prof gc}, {@code -rf json} work as
 * JMH users expect. A user's own {@code -jvmArgsPrepend} is kept: JMH accumulates repeated occurrences.
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar -l 'dma.*'          # the DMA benchmarks, not everything
 *   java -jar benchmarks/target/benchmarks.jar 'iommu.*' -prof gc
 *   java -jar benchmarks/target/benchmarks.jar -e 'blk.*'           # the whole matrix but virtio-blk
 * </pre>
 */
public final class Main
{
    static final String ADD_EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
    static final String UNSAFE_ALLOW = "--sun-misc-unsafe-memory-access=allow";
    /** The option whose absence makes JDK 24+ warn about {@code sun.misc.Unsafe}, whatever its value. */
    static final String UNSAFE_OPTION = "--sun-misc-unsafe-memory-access";
    /** Set in the environment of a relaunched host JVM: it must not relaunch again. */
    static final String RELAUNCHED = "VQDMA_BENCH_RELAUNCHED";

    /** The package that holds every benchmark group. */
    public static final String PACKAGE = "vqdma.bench.";

    /** The benchmark groups: sub-packages of {@link #PACKAGE}, in the order a report presents them. */
    public static final List<String> GROUPS = List.of("ring", "peer", "dma", "iommu", "blk", "ref");

    /** JMH options that take no argument; every other JMH option takes exactly one. */
    private static final Set<String> FLAGS = Set.of("-l", "-lp", "-lprof", "-lrf", "-h");

    private Main()
    {
    }

    /**
     * @param args JMH command line.
     * @throws Exception whatever JMH throws.
     */
    public static void main(final String[] args) throws Exception
    {
        final int feature = Runtime.version().feature();
        if (System.getenv(RELAUNCHED) == null &&
            needsRelaunch(feature, ManagementFactory.getRuntimeMXBean().getInputArguments()))
        {
            final ProcessHandle.Info self = ProcessHandle.current().info();
            final List<String> command = relaunchCommand(self.command(), self.arguments(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                ManagementFactory.getRuntimeMXBean().getInputArguments(), System.getProperty("java.class.path"),
                args);
            System.exit(relaunch(command));
        }
        org.openjdk.jmh.Main.main(withForkFlags(rewriteGroups(args), feature));
    }

    /**
     * @param javaFeature  the host JDK's feature version.
     * @param jvmArguments the host JVM's options ({@code RuntimeMXBean.getInputArguments()}).
     * @return true if JMH would make this JVM warn about {@code sun.misc.Unsafe}: JDK 24 or later and no
     * {@code --sun-misc-unsafe-memory-access} option of any value (a user's explicit {@code warn} is respected).
     */
    static boolean needsRelaunch(final int javaFeature, final List<String> jvmArguments)
    {
        if (javaFeature < 24)
        {
            return false;
        }
        for (final String a : jvmArguments)
        {
            if (a.equals(UNSAFE_OPTION) || a.startsWith(UNSAFE_OPTION + "="))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * The host JVM's command line again, with {@link #UNSAFE_ALLOW} in front of its options.
     *
     * @param command      this process's executable, when the platform tells ({@code ProcessHandle.Info}).
     * @param arguments    this process's arguments as typed (Linux: {@code /proc/self/cmdline}), when it tells: JVM
     *                     options, {@code -jar FILE} or a class path and main class, then the program's arguments.
     * @param java         the {@code java} of {@code java.home}, used when the platform does not tell.
     * @param jvmArguments this JVM's options, used when the platform does not tell.
     * @param classPath    {@code java.class.path}, used when the platform does not tell.
     * @param args         the program's arguments, used when the platform does not tell.
     * @return the command line to run.
     */
    static List<String> relaunchCommand(
        final Optional<String> command, final Optional<String[]> arguments, final String java,
        final List<String> jvmArguments, final String classPath, final String[] args)
    {
        final List<String> out = new ArrayList<>();
        if (command.isPresent() && arguments.isPresent())
        {
            out.add(command.get());
            out.add(UNSAFE_ALLOW);
            out.addAll(Arrays.asList(arguments.get()));
            return out;
        }
        out.add(java);
        out.add(UNSAFE_ALLOW);
        out.add(ADD_EXPORTS); // java -jar got it from the manifest; -cp does not
        out.addAll(jvmArguments);
        out.add("-cp");
        out.add(classPath);
        out.add(Main.class.getName());
        out.addAll(Arrays.asList(args));
        return out;
    }

    /** Runs the command with this process's streams and {@link #RELAUNCHED} set. @return its exit status. */
    private static int relaunch(final List<String> command) throws java.io.IOException
    {
        final ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().put(RELAUNCHED, "1");
        final Process child = builder.start();
        final Thread stop = new Thread(child::destroy, "stop relaunched JVM");
        Runtime.getRuntime().addShutdownHook(stop);
        while (true)
        {
            try
            {
                return child.waitFor(); // the hook stays: destroying an ended process does nothing
            }
            catch (final InterruptedException ex)
            {
                // Nothing interrupts main here; keep waiting for the child, which owns the run.
            }
        }
    }

    /**
     * @param args        the user's JMH arguments.
     * @param javaFeature the feature version of the JDK the forks will run on (the host's: JMH forks the same java).
     * @return the arguments with the fork flags prepended.
     */
    public static String[] withForkFlags(final String[] args, final int javaFeature)
    {
        final List<String> out = new ArrayList<>();
        out.add("-jvmArgsPrepend");
        out.add(forkFlags(javaFeature));
        out.addAll(Arrays.asList(args));
        return out.toArray(new String[0]);
    }

    /**
     * @param javaFeature the feature version of the JDK the forks run on.
     * @return the JVM flags every fork needs, space-separated (one {@code -jvmArgsPrepend} value).
     */
    public static String forkFlags(final int javaFeature)
    {
        return javaFeature >= 23 ? ADD_EXPORTS + " " + UNSAFE_ALLOW : ADD_EXPORTS;
    }

    /**
     * Rewrites the include regexes (positional arguments) and the exclude regexes ({@code -e}, comma-separated as
     * JMH splits them) that start with a group name; leaves every other token alone.
     * <p>
     * Which tokens are positional: every JMH option takes exactly one argument except {@code -l}, {@code -lp},
     * {@code -lprof}, {@code -lrf} and {@code -h}; an option written {@code -opt=value} carries its own; after
     * {@code --} everything is positional.
     *
     * @param args a JMH command line.
     * @return the same command line with group regexes anchored.
     */
    public static String[] rewriteGroups(final String[] args)
    {
        final String[] out = args.clone();
        boolean positionalOnly = false;
        for (int i = 0; i < out.length; i++)
        {
            final String token = out[i];
            if (positionalOnly || !token.startsWith("-") || token.equals("-"))
            {
                out[i] = anchor(token);
            }
            else if (token.equals("--"))
            {
                positionalOnly = true;
            }
            else if (token.equals("-e") && i + 1 < out.length)
            {
                out[i + 1] = anchorList(out[i + 1]);
                i++;
            }
            else if (token.startsWith("-e="))
            {
                out[i] = "-e=" + anchorList(token.substring(3));
            }
            else if (!FLAGS.contains(token) && token.indexOf('=') < 0)
            {
                i++; // the option's argument: -p size=4096, -prof gc, -f 1
            }
        }
        return out;
    }

    private static String anchorList(final String commaSeparated)
    {
        final String[] parts = commaSeparated.split(",", -1);
        for (int i = 0; i < parts.length; i++)
        {
            parts[i] = anchor(parts[i]);
        }
        return String.join(",", parts);
    }

    /**
     * @param regex one include or exclude regex.
     * @return the regex with every top-level alternative that starts with a group name anchored at its package.
     */
    public static String anchor(final String regex)
    {
        final List<String> anchored = new ArrayList<>();
        for (final String alternative : splitAlternatives(regex))
        {
            anchored.add(anchorOne(alternative));
        }
        return String.join("|", anchored);
    }

    private static String anchorOne(final String alternative)
    {
        for (final String group : GROUPS)
        {
            if (!alternative.startsWith(group))
            {
                continue;
            }
            final String rest = alternative.substring(group.length());
            final String anchored = "^" + PACKAGE.replace(".", "\\.") + group + "\\.";
            if (rest.isEmpty())
            {
                return anchored;
            }
            if (rest.startsWith("\\."))
            {
                return anchored + rest.substring(2);
            }
            if (rest.startsWith("."))
            {
                // "dma.*" means "anything in dma": the dot belongs to ".*". "dma.DmaMap" means the package separator.
                final boolean quantified = rest.length() > 1 && "*+?{".indexOf(rest.charAt(1)) >= 0;
                return anchored + (quantified ? rest : rest.substring(1));
            }
            // "dmaX": not a group reference.
        }
        return alternative;
    }

    /** Splits at the {@code |} that are not escaped, not inside a character class and not inside a group. */
    private static List<String> splitAlternatives(final String regex)
    {
        final List<String> out = new ArrayList<>();
        int depth = 0;
        boolean inClass = false;
        int start = 0;
        for (int i = 0; i < regex.length(); i++)
        {
            final char c = regex.charAt(i);
            if (c == '\\')
            {
                i++;
            }
            else if (inClass)
            {
                inClass = c != ']';
            }
            else if (c == '[')
            {
                inClass = true;
            }
            else if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (c == '|' && depth == 0)
            {
                out.add(regex.substring(start, i));
                start = i + 1;
            }
        }
        out.add(regex.substring(start));
        return out;
    }
}
