package vqdma.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 *   which those JDKs warn about (JEP 471/498); the flag keeps benchmark output clean and does not exist before 23.</li>
 * </ul>
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
        org.openjdk.jmh.Main.main(withForkFlags(rewriteGroups(args), Runtime.version().feature()));
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
