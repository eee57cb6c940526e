package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.DmaOps;
import vqdma.dma.GuestMemory;
import vqdma.ring.VhostVirtqueue;
import vqdma.ring.Virtqueue;
import vqdma.ring.Vring;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A guest with one virtio-blk queue and its device, driven from the test thread: submit, then alternate
 * {@link BlkDevice#serve} and {@link BlkDriver#poll} until the bio is done.
 */
final class BlkRig
{
    final GuestMemory memory;
    final DmaOps dma;
    final Virtqueue vq;
    final VhostVirtqueue deviceQueue;
    final BlkDevice device;
    final BlkDriver driver;
    final BlkConfig config;
    final RamBackend backend;
    final long pages;
    final int pageCount;
    final UnsafeBuffer mem;

    BlkRig(final Function<GuestMemory, DmaOps> dmaFactory, final boolean confidential, final boolean clamp,
        final boolean indirect, final int queueSize, final BlkConfig config, final long memoryBytes)
    {
        this.memory = GuestMemory.allocate(memoryBytes, confidential);
        this.mem = memory.buffer();
        this.dma = dmaFactory.apply(memory);
        long features = Vring.feature(Vring.VIRTIO_F_VERSION_1) | Vring.feature(Vring.VIRTIO_F_ACCESS_PLATFORM);
        if (indirect)
        {
            features |= Vring.feature(Vring.VIRTIO_RING_F_INDIRECT_DESC);
        }
        this.vq = Virtqueue.builder(memory, queueSize).features(features).dma(dma).callbacks(false).build();
        this.deviceQueue = vq.deviceBuilder().badChainPolicy(VhostVirtqueue.BadChainPolicy.COMPLETE).build();
        this.config = config;
        this.backend = new RamBackend(config.capacityBytes());
        this.device = new BlkDevice(deviceQueue, memory, backend, config);
        this.driver = new BlkDriver(vq, memory, QueueLimits.probe(config, vq, clamp), 64);
        this.pageCount = 2048; // 8 MiB of "page cache"
        this.pages = memory.allocate((long)pageCount * 4096, 4096);
    }

    long page(final int i)
    {
        return pages + 4096L * i;
    }

    /** Runs device and driver until the bio completes (bounded). */
    void run(final Bio bio)
    {
        driver.submit(bio);
        for (int spins = 0; !bio.isDone(); spins++)
        {
            assertTrue(spins < 1_000_000, "bio did not complete");
            final int served = device.serve(64);
            assertTrue(served >= 0, () -> "device queue broken: " + deviceQueue.brokenReason());
            driver.poll();
            assertFalse(vq.isBroken(), () -> "driver queue broken: " + vq.brokenReason());
        }
    }

    /** Pages 0..n-1 in order: physically contiguous. */
    Bio contiguous(final Bio bio, final int type, final long sector, final int bytes, final int firstPage)
    {
        bio.reset(type, sector);
        for (int done = 0, i = firstPage; done < bytes; i++)
        {
            final int n = Math.min(4096, bytes - done);
            bio.addPage(page(i), n);
            done += n;
        }
        return bio;
    }

    /** Every other page, in reverse order: no two pages contiguous. */
    Bio fragmented(final Bio bio, final int type, final long sector, final int bytes, final int firstPage)
    {
        bio.reset(type, sector);
        final int n = (bytes + 4095) / 4096;
        for (int k = 0; k < n; k++)
        {
            final int len = Math.min(4096, bytes - 4096 * k);
            bio.addPage(page(firstPage + 2 * (n - 1 - k)), len);
        }
        return bio;
    }

    void fillPattern(final Bio bio, final int seed)
    {
        long p = 0;
        for (int i = 0; i < bio.pages(); i++)
        {
            for (int b = 0; b < bio.pageLen(i); b++, p++)
            {
                mem.putByte((int)bio.pageGpa(i) + b, pattern(seed, p));
            }
        }
    }

    void clear(final Bio bio)
    {
        for (int i = 0; i < bio.pages(); i++)
        {
            mem.setMemory((int)bio.pageGpa(i), bio.pageLen(i), (byte)0);
        }
    }

    void assertPattern(final Bio bio, final int seed, final String at)
    {
        long p = 0;
        for (int i = 0; i < bio.pages(); i++)
        {
            for (int b = 0; b < bio.pageLen(i); b++, p++)
            {
                final byte want = pattern(seed, p);
                final byte got = mem.getByte((int)bio.pageGpa(i) + b);
                if (want != got)
                {
                    fail(at + ": byte " + p + " (page " + i + ") is " + got + ", expected " + want);
                }
            }
        }
    }

    static byte pattern(final int seed, final long p)
    {
        return (byte)(seed * 131 + p * 7 + (p >>> 9));
    }
}
