package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.ring.RingLayout;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/** {@link BlkHarness} with the tests' field names and assertion-style helpers. */
final class BlkRig
{
    final BlkHarness harness;
    final GuestMemory memory;
    final DmaOps dma;
    final Virtqueue vq;
    final VhostVirtqueue deviceQueue;
    final BlkDevice device;
    final BlkDriver driver;
    final RamBackend backend;
    final UnsafeBuffer mem;

    BlkRig(final Function<GuestMemory, DmaOps> dmaFactory, final boolean confidential, final boolean clamp,
        final boolean indirect, final int queueSize, final BlkConfig config, final long memoryBytes)
    {
        this(dmaFactory, confidential, clamp, indirect, queueSize, config, memoryBytes, RingLayout.SPLIT);
    }

    BlkRig(final Function<GuestMemory, DmaOps> dmaFactory, final boolean confidential, final boolean clamp,
        final boolean indirect, final int queueSize, final BlkConfig config, final long memoryBytes,
        final RingLayout layout)
    {
        harness = new BlkHarness(dmaFactory, confidential, clamp, indirect, queueSize, config, memoryBytes, layout);
        memory = harness.memory();
        dma = harness.dma();
        vq = harness.virtqueue();
        deviceQueue = harness.deviceQueue();
        device = harness.device();
        driver = harness.driver();
        backend = harness.backend();
        mem = memory.buffer();
    }

    long page(final int i)
    {
        return harness.page(i);
    }

    void run(final Bio bio)
    {
        harness.run(bio, 1_000_000);
    }

    Bio contiguous(final Bio bio, final int type, final long sector, final int bytes, final int firstPage)
    {
        return harness.contiguous(bio, type, sector, bytes, firstPage);
    }

    Bio fragmented(final Bio bio, final int type, final long sector, final int bytes, final int firstPage)
    {
        return harness.fragmented(bio, type, sector, bytes, firstPage);
    }

    void fillPattern(final Bio bio, final int seed)
    {
        harness.fillPattern(bio, seed);
    }

    void clear(final Bio bio)
    {
        harness.clear(bio);
    }

    void assertPattern(final Bio bio, final int seed, final String at)
    {
        final long p = harness.firstMismatch(bio, seed);
        assertEquals(-1, p, () -> at + ": first wrong byte at " + p);
    }

    static byte pattern(final int seed, final long p)
    {
        return BlkHarness.pattern(seed, p);
    }
}
