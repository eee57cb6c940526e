package vqdma.jcstress;

import org.junit.jupiter.api.Test;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.openjdk.jcstress.infra.results.II_Result;
import org.openjdk.jcstress.infra.results.ZZ_Result;

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
        KickRaceFlagsTest t = new KickRaceFlagsTest();
        ZZ_Result r = new ZZ_Result();
        t.driver(r);
        t.device(r);
        assertEquals("false, true", r.toString(), "driver first: NO_NOTIFY still set, no kick; device sees B");
        t.arbiter(r);

        t = new KickRaceFlagsTest();
        r = new ZZ_Result();
        t.device(r);
        t.driver(r);
        assertEquals("true, false", r.toString(), "device first: sleeps; driver sees the flag cleared, kicks");
        t.arbiter(r);
    }

    @Test
    void kickRaceTwins()
    {
        KickRaceFencedTest f = new KickRaceFencedTest();
        ZZ_Result r = new ZZ_Result();
        f.driver(r);
        f.device(r);
        assertEquals("false, true", r.toString());
        f.arbiter(r);

        f = new KickRaceFencedTest();
        r = new ZZ_Result();
        f.device(r);
        f.driver(r);
        assertEquals("true, false", r.toString());
        f.arbiter(r);

        KickRaceWeakenedTest w = new KickRaceWeakenedTest();
        r = new ZZ_Result();
        w.driver(r);
        w.device(r);
        assertEquals("false, true", r.toString());
        w.arbiter(r);

        w = new KickRaceWeakenedTest();
        r = new ZZ_Result();
        w.device(r);
        w.driver(r);
        assertEquals("true, false", r.toString());
        w.arbiter(r);
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
        InterruptRaceFlagsTest t = new InterruptRaceFlagsTest();
        ZZ_Result r = new ZZ_Result();
        t.driver(r);
        t.device(r);
        assertEquals("false, true", r.toString(), "driver first: idle; device sees NO_INTERRUPT cleared");
        t.arbiter(r);

        t = new InterruptRaceFlagsTest();
        r = new ZZ_Result();
        t.device(r);
        t.driver(r);
        assertEquals("true, false", r.toString(), "device first: NO_INTERRUPT still set, no interrupt; driver sees B");
        t.arbiter(r);
    }

    @Test
    void interruptRaceTwins()
    {
        InterruptRaceFencedTest f = new InterruptRaceFencedTest();
        ZZ_Result r = new ZZ_Result();
        f.driver(r);
        f.device(r);
        assertEquals("false, true", r.toString());
        f.arbiter(r);

        f = new InterruptRaceFencedTest();
        r = new ZZ_Result();
        f.device(r);
        f.driver(r);
        assertEquals("true, false", r.toString());
        f.arbiter(r);

        InterruptRaceWeakenedTest w = new InterruptRaceWeakenedTest();
        r = new ZZ_Result();
        w.driver(r);
        w.device(r);
        assertEquals("false, true", r.toString());
        w.arbiter(r);

        w = new InterruptRaceWeakenedTest();
        r = new ZZ_Result();
        w.device(r);
        w.driver(r);
        assertEquals("true, false", r.toString());
        w.arbiter(r);
    }

    @Test
    void availPublish()
    {
        AvailPublishTest t = new AvailPublishTest();
        IIII_Result r = new IIII_Result();
        t.device(r);
        t.driver(r);
        assertEquals("0, -1, 0, 0", r.toString(), "device first: EMPTY");
        t.arbiter(r);

        t = new AvailPublishTest();
        r = new IIII_Result();
        t.driver(r);
        t.device(r);
        assertEquals("0, 1, 16, 512", r.toString(), "driver first: B's whole chain");
        t.arbiter(r);

        AvailPublishPlainTest p = new AvailPublishPlainTest();
        r = new IIII_Result();
        p.device(r);
        assertEquals("1, 0, 0, 0", r.toString(), "device first: old index, zero entries");
        p.arbiter(r);

        p = new AvailPublishPlainTest();
        r = new IIII_Result();
        p.driver(r);
        p.device(r);
        assertEquals("2, 1, 16, 512", r.toString(), "driver first");
        p.arbiter(r);
    }

    @Test
    void usedPublish()
    {
        UsedPublishTest t = new UsedPublishTest();
        II_Result r = new II_Result();
        t.driver(r);
        t.device(r);
        assertEquals("0, 0", r.toString(), "driver first: nothing to get");
        t.arbiter(r);

        t = new UsedPublishTest();
        r = new II_Result();
        t.device(r);
        t.driver(r);
        assertEquals("2, 300", r.toString(), "device first: B with 300 bytes");
        t.arbiter(r);

        UsedPublishPlainTest p = new UsedPublishPlainTest();
        III_Result r3 = new III_Result();
        p.driver(r3);
        assertEquals("0, 0, 0", r3.toString(), "driver first: old index, zero element");
        p.arbiter(r3);

        p = new UsedPublishPlainTest();
        r3 = new III_Result();
        p.device(r3);
        p.driver(r3);
        assertEquals("1, 1, 300", r3.toString(), "device first");
        p.arbiter(r3);
    }
}
