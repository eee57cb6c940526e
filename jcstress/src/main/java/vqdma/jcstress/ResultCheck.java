package vqdma.jcstress;

import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.infra.Status;
import org.openjdk.jcstress.infra.collectors.DiskReadCollector;
import org.openjdk.jcstress.infra.collectors.InProcessCollector;
import org.openjdk.jcstress.infra.collectors.TestResult;
import org.openjdk.jcstress.infra.grading.GradingResult;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The verdict on a jcstress run, stricter than jcstress's own: the run fails if any test
 * <ul>
 *   <li>observed a FORBIDDEN outcome (or one no {@code @Outcome} grades),</li>
 *   <li>ended in an error (exception in an actor, fork crash, timeout: any status but NORMAL),</li>
 *   <li>was selected but produced no samples,</li>
 *   <li>or is a weakened variant marked {@link MustObserveInteresting} and saw its ACCEPTABLE_INTERESTING outcome
 *   not even once: then the fence it leaves out was not shown to be necessary.</li>
 * </ul>
 * jcstress writes every fork's result into its binary result file ({@code jcstress-results-*.bin.gz}); this reads it
 * back with jcstress's own collector and grading, sums the counts per test over all forks and JVM configurations,
 * prints them, and decides.
 */
final class ResultCheck
{
    /** Everything observed for one test class over all its forks. */
    static final class Summary
    {
        final String name;
        final String mustObserve;
        final Map<String, Long> counts = new TreeMap<>();
        final Map<String, Expect> expects = new TreeMap<>();
        final Map<String, String> descriptions = new TreeMap<>();
        final List<String> errors = new ArrayList<>();
        int forks;
        long samples;

        /**
         * @param name        the test class name.
         * @param mustObserve the {@link MustObserveInteresting} text, or null.
         */
        Summary(final String name, final String mustObserve)
        {
            this.name = name;
            this.mustObserve = mustObserve;
        }

        /**
         * Adds the counts of one outcome.
         *
         * @param outcome     the outcome's id, e.g. {@code "false, false"}.
         * @param expect      its grading.
         * @param count       times observed.
         * @param description its {@code @Outcome} description.
         * @return this.
         */
        Summary add(final String outcome, final Expect expect, final long count, final String description)
        {
            counts.merge(outcome, count, Long::sum);
            expects.put(outcome, expect);
            descriptions.put(outcome, description);
            samples += count;
            return this;
        }

        /**
         * @param expect a grading.
         * @return the samples of all outcomes with that grading.
         */
        long count(final Expect expect)
        {
            long sum = 0;
            for (final Map.Entry<String, Long> e : counts.entrySet())
            {
                if (expects.get(e.getKey()) == expect)
                {
                    sum += e.getValue();
                }
            }
            return sum;
        }
    }

    private ResultCheck()
    {
    }

    /**
     * Reads a result file and sums it per test.
     *
     * @param resultFile the binary result file of the run.
     * @return one summary per test that has results, by name.
     * @throws IOException if the file cannot be read.
     */
    static Map<String, Summary> read(final String resultFile) throws IOException
    {
        final InProcessCollector collector = new InProcessCollector();
        final DiskReadCollector reader = new DiskReadCollector(resultFile, collector);
        try
        {
            reader.dump();
        }
        catch (final ClassNotFoundException e)
        {
            throw new IOException("cannot read " + resultFile + ": " + e, e);
        }
        finally
        {
            reader.close();
        }
        return summarize(collector.getTestResults());
    }

    /**
     * @param results every fork's result, as jcstress recorded them.
     * @return one summary per test, by name: counts summed over forks, graded by the test's own annotations.
     */
    static Map<String, Summary> summarize(final Collection<TestResult> results)
    {
        final Map<String, Summary> byName = new TreeMap<>();
        for (final TestResult result : results)
        {
            final String name = result.getName();
            final Summary summary = byName.computeIfAbsent(name, n -> new Summary(n, mustObserve(n)));
            summary.forks++;
            if (result.status() != Status.NORMAL)
            {
                summary.errors.add(result.status() + " in fork " + result.getConfig().forkId + " " +
                    result.getConfig().jvmArgs + ": " + String.join(" / ", result.getMessages()));
            }
            for (final GradingResult g : result.grading().gradingResults.values())
            {
                // Outcomes declared but not observed come with the pattern as id and a count of 0.
                if (g.count > 0)
                {
                    summary.add(g.id, g.expect, g.count, g.description);
                }
            }
        }
        return byName;
    }

    /**
     * @param name a test class name.
     * @return its {@link MustObserveInteresting} text, or null (also if the class cannot be loaded).
     */
    static String mustObserve(final String name)
    {
        try
        {
            final MustObserveInteresting m = Class.forName(name, false, ResultCheck.class.getClassLoader())
                .getAnnotation(MustObserveInteresting.class);
            return m == null ? null : m.value();
        }
        catch (final ClassNotFoundException e)
        {
            return null;
        }
    }

    /**
     * The verdict.
     *
     * @param summaries what was observed, by test name.
     * @param selected  the tests the run was asked to run.
     * @return the reasons the run fails; empty if it passes.
     */
    static List<String> failures(final Map<String, Summary> summaries, final Collection<String> selected)
    {
        final List<String> failures = new ArrayList<>();
        for (final String name : selected)
        {
            final Summary s = summaries.get(name);
            if (s == null || s.samples == 0)
            {
                failures.add(name + ": selected but produced no samples");
            }
        }
        for (final Summary s : summaries.values())
        {
            for (final String error : s.errors)
            {
                failures.add(s.name + ": " + error);
            }
            for (final Map.Entry<String, Long> e : s.counts.entrySet())
            {
                final Expect expect = s.expects.get(e.getKey());
                if (expect != Expect.ACCEPTABLE && expect != Expect.ACCEPTABLE_INTERESTING)
                {
                    failures.add(String.format("%s: %s outcome [%s] observed %d times (%s)",
                        s.name, expect, e.getKey(), e.getValue(), s.descriptions.get(e.getKey())));
                }
            }
            if (s.mustObserve != null && s.samples > 0 && s.count(Expect.ACCEPTABLE_INTERESTING) == 0)
            {
                failures.add(String.format("%s: weakened variant never showed %s in %d samples over %d forks: " +
                    "the fence it leaves out was not shown to be necessary (run longer: more -iters or -time)",
                    s.name, s.mustObserve, s.samples, s.forks));
            }
        }
        return failures;
    }

    /**
     * @param failures what {@link #failures} returned.
     * @param tests    every test name of the run.
     * @return how many of the tests have a failure (each failure starts with its test's name and a colon).
     */
    static int failedTests(final List<String> failures, final Collection<String> tests)
    {
        int failed = 0;
        for (final String test : tests)
        {
            for (final String failure : failures)
            {
                if (failure.startsWith(test + ":"))
                {
                    failed++;
                    break;
                }
            }
        }
        return failed;
    }

    /**
     * Prints every test's outcome counts.
     *
     * @param out       where to.
     * @param summaries what was observed.
     */
    static void print(final PrintStream out, final Map<String, Summary> summaries)
    {
        out.println("vqdma jcstress summary (counts summed over all forks and JVM modes):");
        for (final Summary s : summaries.values())
        {
            out.printf("  %s  (%d samples, %d forks%s)%n", s.name, s.samples, s.forks,
                s.mustObserve != null ? ", must observe its interesting outcome" : "");
            for (final Map.Entry<String, Long> e : s.counts.entrySet())
            {
                out.printf("    %-22s %15d  %s%n", "[" + e.getKey() + "]", e.getValue(), s.expects.get(e.getKey()));
            }
        }
    }
}
