package vqdma.jcstress;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;
import static org.openjdk.jcstress.annotations.Expect.UNKNOWN;

/**
 * The verdict rules of {@link ResultCheck}, on summaries made by hand (the jcstress run itself is the integration
 * test: {@code ./mvnw verify} runs it).
 */
class ResultCheckTest
{
    private static final String RACE = "vqdma.jcstress.KickRaceTest";
    private static final String WEAK = "vqdma.jcstress.KickRaceWeakenedTest";

    private static Map<String, ResultCheck.Summary> of(final ResultCheck.Summary... summaries)
    {
        final Map<String, ResultCheck.Summary> map = new TreeMap<>();
        for (final ResultCheck.Summary s : summaries)
        {
            map.put(s.name, s);
        }
        return map;
    }

    private static ResultCheck.Summary race()
    {
        return new ResultCheck.Summary(RACE, null)
            .add("true, false", ACCEPTABLE, 10, "kick")
            .add("false, true", ACCEPTABLE, 5, "awake");
    }

    private static ResultCheck.Summary weakened(final long lost)
    {
        final ResultCheck.Summary s = new ResultCheck.Summary(WEAK, "the lost wake-up")
            .add("true, false", ACCEPTABLE, 10, "kick");
        return lost > 0 ? s.add("false, false", ACCEPTABLE_INTERESTING, lost, "lost") : s;
    }

    @Test
    void passesWhenOnlyAcceptableOutcomesAndTheWeakenedVariantShowedItsReordering()
    {
        assertEquals(List.of(), ResultCheck.failures(of(race(), weakened(3)), Set.of(RACE, WEAK)));
    }

    @Test
    void failsOnAForbiddenOutcome()
    {
        final ResultCheck.Summary s = race().add("false, false", FORBIDDEN, 1, "Lost wake-up");
        final List<String> failures = ResultCheck.failures(of(s), Set.of(RACE));
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(failures.get(0).contains("Forbidden outcome [false, false] observed 1 times"), failures.get(0));
    }

    @Test
    void failsOnAnOutcomeNoAnnotationGrades()
    {
        final ResultCheck.Summary s = race().add("true, maybe", UNKNOWN, 2, null);
        assertEquals(1, ResultCheck.failures(of(s), Set.of(RACE)).size());
    }

    @Test
    void failsOnAnError()
    {
        final ResultCheck.Summary s = race();
        s.errors.add("TEST_ERROR in fork 0: java.lang.IllegalStateException");
        final List<String> failures = ResultCheck.failures(of(s), Set.of(RACE));
        assertEquals(List.of(RACE + ": TEST_ERROR in fork 0: java.lang.IllegalStateException"), failures);
    }

    @Test
    void failsWhenTheWeakenedVariantNeverShowedItsReordering()
    {
        final List<String> failures = ResultCheck.failures(of(race(), weakened(0)), Set.of(RACE, WEAK));
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(failures.get(0).startsWith(WEAK + ": weakened variant never showed the lost wake-up in 10 samples"),
            failures.get(0));
    }

    @Test
    void failsWhenASelectedTestProducedNothing()
    {
        final List<String> failures = ResultCheck.failures(of(race()), Set.of(RACE, WEAK));
        assertEquals(List.of(WEAK + ": selected but produced no samples"), failures);
    }

    @Test
    void countsEachFailedTestOnce()
    {
        final ResultCheck.Summary s = race().add("false, false", FORBIDDEN, 1, "lost").add("x", UNKNOWN, 1, null);
        final List<String> failures = ResultCheck.failures(of(s, weakened(0)), Set.of(RACE, WEAK));
        assertEquals(3, failures.size(), failures.toString());
        assertEquals(2, ResultCheck.failedTests(failures, Set.of(RACE, WEAK, "vqdma.jcstress.Other")));
    }

    @Test
    void readsTheAnnotationThatMarksWeakenedVariants()
    {
        assertTrue(ResultCheck.mustObserve(WEAK).contains("lost wake-up"));
        assertTrue(ResultCheck.mustObserve("vqdma.jcstress.InterruptRaceWeakenedTest").contains("lost interrupt"));
        assertNull(ResultCheck.mustObserve(RACE));
        assertNull(ResultCheck.mustObserve("vqdma.jcstress.AvailPublishPlainTest"), "x86 cannot show it: not required");
        assertNull(ResultCheck.mustObserve("no.such.Test"));
    }

    @Test
    void sumsCountsOfTheSameOutcomeOverForks()
    {
        final ResultCheck.Summary s = weakened(2).add("false, false", ACCEPTABLE_INTERESTING, 5, "lost");
        assertEquals(7, s.count(ACCEPTABLE_INTERESTING));
        assertEquals(17, s.samples);
    }
}
