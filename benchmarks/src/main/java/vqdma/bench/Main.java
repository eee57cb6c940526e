package vqdma.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The entry point of {@code benchmarks.jar}: JMH's own {@code org.openjdk.jmh.Main} with the JVM flags every fork
 * needs added, so that nobody has to type them.
 * <ul>
 *   <li>{@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED}: Agrona 2.x uses {@code jdk.internal.misc.Unsafe}.
 *   The jar's manifest ({@code Add-Exports}) covers the JVM started by {@code java -jar}; it does not reach the JVMs
 *   JMH forks, so it is passed to them with {@code -jvmArgsPrepend}.</li>
 *   <li>{@code --sun-misc-unsafe-memory-access=allow} on JDK 23 and later: JCTools 4 uses {@code sun.misc.Unsafe},
 *   which those JDKs warn about (JEP 471/498); the flag keeps benchmark output clean and does not exist before 23.</li>
 * </ul>
 * Every other argument is JMH's: {@code -l}, {@code -lp}, {@code -p}, {@code -prof gc}, {@code -rf json} work as
 * JMH users expect. A user's own {@code -jvmArgsPrepend} is kept: JMH accumulates repeated occurrences.
 */
public final class Main
{
    static final String ADD_EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
    static final String UNSAFE_ALLOW = "--sun-misc-unsafe-memory-access=allow";

    private Main()
    {
    }

    /**
     * @param args JMH command line.
     * @throws Exception whatever JMH throws.
     */
    public static void main(final String[] args) throws Exception
    {
        org.openjdk.jmh.Main.main(withForkFlags(args, Runtime.version().feature()));
    }

    /**
     * @param args        the user's JMH arguments.
     * @param javaFeature the feature version of the JDK the forks will run on (the host's: JMH forks the same java).
     * @return the arguments with the fork flags prepended.
     */
    static String[] withForkFlags(final String[] args, final int javaFeature)
    {
        final List<String> out = new ArrayList<>();
        out.add("-jvmArgsPrepend");
        out.add(javaFeature >= 23 ? ADD_EXPORTS + " " + UNSAFE_ALLOW : ADD_EXPORTS);
        out.addAll(Arrays.asList(args));
        return out.toArray(new String[0]);
    }
}
