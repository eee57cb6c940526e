package vqdma.jcstress;

import org.junit.jupiter.api.Test;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.openjdk.jcstress.infra.results.II_Result;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import java.util.function.BiConsumer;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each race run without a race: one actor alone, or both one after the other. This pins down what the jcstress
 * outcomes mean. In particular, in every notification race each side <em>alone</em> decides "no kick" or "sleep",
 * so the forbidden {@code false, false} is exactly "neither saw the other's store" - the set-up is not vacuous: a
 * missing fence would show (as the weakened twins do) rather than be masked by a history in which one side already
 * knew.
 */
class SequentialOutcomesTest
{
    @Test
    void kickRace()
    {
        KickRaceTest t = new KickRaceTest();
        ZZ_Result r = new ZZ_Result();
        t.driver(r);
        assertEquals("false", Boolean.toString(r.r1), "driver alone: avail_event still 0, no kick");
        t.device(r);
        assertEquals("false, true", r.toString(), "driver, then device");
        t.arbiter(r);

        t = new KickRaceTest();
        r = new ZZ_Result();
        t.device(r);
        assertEquals("false", Boolean.toString(r.r2), "device alone: avail.idx still 1, sleep");
        t.driver(r);
        assertEquals("true, false", r.toString(), "device, then driver");
        t.arbiter(r);
    }

    @Test
    void kickRaceFlags()
    {
        inTurn(KickRaceFlagsTest::new, ZZ_Result::new, KickRaceFlagsTest::driver, KickRaceFlagsTest::device,
            KickRaceFlagsTest::arbiter, "false, true", "driver first: NO_NOTIFY still set, no kick; device sees B");
        inTurn(KickRaceFlagsTest::new, ZZ_Result::new, KickRaceFlagsTest::device, KickRaceFlagsTest::driver,
            KickRaceFlagsTest::arbiter, "true, false", "device first: sleeps; driver sees the flag cleared, kicks");
    }

    @Test
    void kickRaceTwins()
    {
        inTurn(KickRaceFencedTest::new, ZZ_Result::new, KickRaceFencedTest::driver, KickRaceFencedTest::device,
            KickRaceFencedTest::arbiter, "false, true");
        inTurn(KickRaceFencedTest::new, ZZ_Result::new, KickRaceFencedTest::device, KickRaceFencedTest::driver,
            KickRaceFencedTest::arbiter, "true, false");
        inTurn(KickRaceWeakenedTest::new, ZZ_Result::new, KickRaceWeakenedTest::driver, KickRaceWeakenedTest::device,
            KickRaceWeakenedTest::arbiter, "false, true");
        inTurn(KickRaceWeakenedTest::new, ZZ_Result::new, KickRaceWeakenedTest::device, KickRaceWeakenedTest::driver,
            KickRaceWeakenedTest::arbiter, "true, false");
    }

    @Test
    void interruptRace()
    {
        InterruptRaceTest t = new InterruptRaceTest();
        ZZ_Result r = new ZZ_Result();
        t.driver(r);
        assertEquals("false", Boolean.toString(r.r1), "driver alone: used.idx still 1, goes idle");
        t.device(r);
        assertEquals("false, true", r.toString(), "driver, then device: used_event 1 seen, interrupt");
        t.arbiter(r);

        t = new InterruptRaceTest();
        r = new ZZ_Result();
        t.device(r);
        assertEquals("false", Boolean.toString(r.r2), "device alone: used_event still 0, no interrupt");
        t.driver(r);
        assertEquals("true, false", r.toString(), "device, then driver: the driver sees B");
        t.arbiter(r);
    }

    @Test
    void interruptRaceFlags()
    {
        inTurn(InterruptRaceFlagsTest::new, ZZ_Result::new, InterruptRaceFlagsTest::driver,
            InterruptRaceFlagsTest::device, InterruptRaceFlagsTest::arbiter, "false, true",
            "driver first: idle; device sees NO_INTERRUPT cleared");
        inTurn(InterruptRaceFlagsTest::new, ZZ_Result::new, InterruptRaceFlagsTest::device,
            InterruptRaceFlagsTest::driver, InterruptRaceFlagsTest::arbiter, "true, false",
            "device first: NO_INTERRUPT still set, no interrupt; driver sees B");
    }

    @Test
    void interruptRaceTwins()
    {
        inTurn(InterruptRaceFencedTest::new, ZZ_Result::new, InterruptRaceFencedTest::driver,
            InterruptRaceFencedTest::device, InterruptRaceFencedTest::arbiter, "false, true");
        inTurn(InterruptRaceFencedTest::new, ZZ_Result::new, InterruptRaceFencedTest::device,
            InterruptRaceFencedTest::driver, InterruptRaceFencedTest::arbiter, "true, false");
        inTurn(InterruptRaceWeakenedTest::new, ZZ_Result::new, InterruptRaceWeakenedTest::driver,
            InterruptRaceWeakenedTest::device, InterruptRaceWeakenedTest::arbiter, "false, true");
        inTurn(InterruptRaceWeakenedTest::new, ZZ_Result::new, InterruptRaceWeakenedTest::device,
            InterruptRaceWeakenedTest::driver, InterruptRaceWeakenedTest::arbiter, "true, false");
    }

    @Test
    void availPublish()
    {
        inTurn(AvailPublishTest::new, IIII_Result::new, AvailPublishTest::device, AvailPublishTest::driver,
            AvailPublishTest::arbiter, "0, -1, 0, 0", "device first: EMPTY");
        inTurn(AvailPublishTest::new, IIII_Result::new, AvailPublishTest::driver, AvailPublishTest::device,
            AvailPublishTest::arbiter, "0, 1, 16, 512", "driver first: B's whole chain");

        final AvailPublishPlainTest p = new AvailPublishPlainTest();
        final IIII_Result r = new IIII_Result();
        p.device(r);
        assertEquals("1, 0, 0, 0", r.toString(), "device first: old index, zero entries");
        p.arbiter(r);

        inTurn(AvailPublishPlainTest::new, IIII_Result::new, AvailPublishPlainTest::driver,
            AvailPublishPlainTest::device, AvailPublishPlainTest::arbiter, "2, 1, 16, 512", "driver first");
    }

    @Test
    void usedPublish()
    {
        inTurn(UsedPublishTest::new, II_Result::new, UsedPublishTest::driver, UsedPublishTest::device,
            UsedPublishTest::arbiter, "0, 0", "driver first: nothing to get");
        inTurn(UsedPublishTest::new, II_Result::new, UsedPublishTest::device, UsedPublishTest::driver,
            UsedPublishTest::arbiter, "2, 300", "device first: B with 300 bytes");

        final UsedPublishPlainTest p = new UsedPublishPlainTest();
        final III_Result r3 = new III_Result();
        p.driver(r3);
        assertEquals("0, 0, 0", r3.toString(), "driver first: old index, zero element");
        p.arbiter(r3);

        inTurn(UsedPublishPlainTest::new, III_Result::new, UsedPublishPlainTest::device, UsedPublishPlainTest::driver,
            UsedPublishPlainTest::arbiter, "1, 1, 300", "device first");
    }

    @Test
    void packedAvailPublish()
    {
        inTurn(PackedAvailPublishTest::new, IIII_Result::new, PackedAvailPublishTest::device,
            PackedAvailPublishTest::driver, PackedAvailPublishTest::arbiter, "0, -1, 0, 0", "device first: EMPTY");
        inTurn(PackedAvailPublishTest::new, IIII_Result::new, PackedAvailPublishTest::driver,
            PackedAvailPublishTest::device, PackedAvailPublishTest::arbiter, "0, 1, 16, 512",
            "driver first: B's whole chain");
        inTurn(PackedAvailHeadFirstTest::new, III_Result::new, PackedAvailHeadFirstTest::device,
            PackedAvailHeadFirstTest::driver, PackedAvailHeadFirstTest::arbiter, "-1, 0, 0", "device first: EMPTY");
        inTurn(PackedAvailHeadFirstTest::new, III_Result::new, PackedAvailHeadFirstTest::driver,
            PackedAvailHeadFirstTest::device, PackedAvailHeadFirstTest::arbiter, "1, 16, 512",
            "driver first: the whole chain, however it was written");
    }

    @Test
    void packedUsedPublish()
    {
        inTurn(PackedUsedPublishTest::new, II_Result::new, PackedUsedPublishTest::driver,
            PackedUsedPublishTest::device, PackedUsedPublishTest::arbiter, "0, 0", "driver first: nothing to get");
        inTurn(PackedUsedPublishTest::new, II_Result::new, PackedUsedPublishTest::device,
            PackedUsedPublishTest::driver, PackedUsedPublishTest::arbiter, "2, 300", "device first: B, 300 bytes");
        inTurn(PackedUsedFlagsFirstTest::new, II_Result::new, PackedUsedFlagsFirstTest::driver,
            PackedUsedFlagsFirstTest::device, PackedUsedFlagsFirstTest::arbiter, "0, 0", "driver first");
        inTurn(PackedUsedFlagsFirstTest::new, II_Result::new, PackedUsedFlagsFirstTest::device,
            PackedUsedFlagsFirstTest::driver, PackedUsedFlagsFirstTest::arbiter, "2, 300", "device first");
    }

    @Test
    void packedKickRace()
    {
        inTurn(PackedKickRaceTest::new, ZZ_Result::new, PackedKickRaceTest::driver, PackedKickRaceTest::device,
            PackedKickRaceTest::arbiter, "false, true", "driver first: DISABLE, no kick; the device sees B");
        inTurn(PackedKickRaceTest::new, ZZ_Result::new, PackedKickRaceTest::device, PackedKickRaceTest::driver,
            PackedKickRaceTest::arbiter, "true, false", "device first: sleeps; the driver sees DESC at 1, kicks");
        inTurn(PackedKickRaceWeakenedTest::new, ZZ_Result::new, PackedKickRaceWeakenedTest::driver,
            PackedKickRaceWeakenedTest::device, PackedKickRaceWeakenedTest::arbiter, "false, true");
        inTurn(PackedKickRaceWeakenedTest::new, ZZ_Result::new, PackedKickRaceWeakenedTest::device,
            PackedKickRaceWeakenedTest::driver, PackedKickRaceWeakenedTest::arbiter, "true, false");
    }

    @Test
    void packedInterruptRace()
    {
        inTurn(PackedInterruptRaceTest::new, ZZ_Result::new, PackedInterruptRaceTest::driver,
            PackedInterruptRaceTest::device, PackedInterruptRaceTest::arbiter, "false, true",
            "driver first: idle; the device sees DESC at 1, interrupts");
        inTurn(PackedInterruptRaceTest::new, ZZ_Result::new, PackedInterruptRaceTest::device,
            PackedInterruptRaceTest::driver, PackedInterruptRaceTest::arbiter, "true, false",
            "device first: DISABLE, no interrupt; the driver sees B used");
        inTurn(PackedInterruptRaceWeakenedTest::new, ZZ_Result::new, PackedInterruptRaceWeakenedTest::driver,
            PackedInterruptRaceWeakenedTest::device, PackedInterruptRaceWeakenedTest::arbiter, "false, true");
        inTurn(PackedInterruptRaceWeakenedTest::new, ZZ_Result::new, PackedInterruptRaceWeakenedTest::device,
            PackedInterruptRaceWeakenedTest::driver, PackedInterruptRaceWeakenedTest::arbiter, "true, false");
    }

    /**
     * Runs a fresh test's two actors one after the other, checks the outcome, and lets its arbiter return the ring.
     *
     * @param test     makes the test (its constructor sets up the history).
     * @param result   makes the result object.
     * @param first    the actor that runs first.
     * @param second   the actor that runs second.
     * @param arbiter  the test's arbiter.
     * @param expected the outcome, as jcstress prints it.
     * @param why      what that order means (the assertion message), or nothing.
     */
    private static <T, R> void inTurn(final Supplier<T> test, final Supplier<R> result, final BiConsumer<T, R> first,
        final BiConsumer<T, R> second, final BiConsumer<T, R> arbiter, final String expected, final String... why)
    {
        final T t = test.get();
        final R r = result.get();
        first.accept(t, r);
        second.accept(t, r);
        assertEquals(expected, r.toString(), why.length > 0 ? why[0] : null);
        arbiter.accept(t, r);
    }
}
