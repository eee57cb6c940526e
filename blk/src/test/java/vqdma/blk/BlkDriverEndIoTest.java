package vqdma.blk;

import org.junit.jupiter.api.Test;
import vqdma.dma.DmaProfile;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.blk.VirtioBlk.*;

/** {@link BlkDriver.EndIo}: once per completed bio, after it is done, for completions and for mapping failures. */
class BlkDriverEndIoTest
{
    static final BlkConfig CONFIG = BlkConfig.qemuDefault(64L << 20, 256);

    static BlkRig rig(final DmaProfile profile, final boolean clamp)
    {
        return new BlkRig(memory -> profile.create(memory, DmaProfile.DEFAULT_SWIOTLB_POOL),
            profile.confidentialGuest(), clamp, true, 256, CONFIG, 192L << 20);
    }

    @Test
    void calledOnceForEveryBioThatCompletesOnTheRing()
    {
        final BlkRig rig = rig(DmaProfile.DIRECT, true);
        final List<Bio> ended = new ArrayList<>();
        final List<Boolean> doneWhenEnded = new ArrayList<>();
        rig.driver.endIo(bio ->
        {
            ended.add(bio);
            doneWhenEnded.add(bio.isDone());
        });
        final Bio[] bios = new Bio[8];
        for (int i = 0; i < bios.length; i++)
        {
            bios[i] = rig.contiguous(new Bio(64), i % 2 == 0 ? T_OUT : T_IN, i * 128L, 64 * 1024, i * 16);
            rig.driver.submit(bios[i]);
        }
        assertTrue(ended.isEmpty(), "nothing completes before the device served it: " + ended.size());
        rig.device.serve(64);
        assertEquals(8, rig.driver.poll());
        assertEquals(List.of(bios), ended, "each bio once, in completion order");
        assertFalse(doneWhenEnded.contains(false), "isDone() is true when endIo runs");
        for (final Bio bio : bios)
        {
            assertEquals(S_OK, bio.status());
        }
    }

    @Test
    void calledAtSubmitForABioThatCanNeverMap()
    {
        final BlkRig rig = rig(DmaProfile.SWIOTLB_FORCE, false);
        final List<Bio> ended = new ArrayList<>();
        rig.driver.endIo(ended::add);
        final Bio big = rig.contiguous(new Bio(512), T_OUT, 0, 1 << 20, 0);
        rig.driver.submit(big);
        assertEquals(List.of(big), ended, "the 2019 failure completes the bio inside submit");
        assertEquals(S_IOERR, big.status());
        assertEquals(0, rig.vq.inFlight(), "nothing left on the ring");
        rig.driver.endIo(null);
        final Bio again = rig.contiguous(new Bio(512), T_OUT, 0, 1 << 20, 0);
        rig.driver.submit(again);
        assertTrue(again.isDone(), "without a callback the bio still completes");
        assertEquals(1, ended.size(), "a removed callback is not called");
    }
}
