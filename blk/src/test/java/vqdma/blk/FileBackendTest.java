package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.blk.VirtioBlk.*;

/**
 * The file-backed disk: data through a real file (end to end over the two-thread rings, and read back from the file
 * itself and after reopening), flush, the O_DIRECT-like alignment check, capacity and size handling, I/O errors as
 * IOERR.
 */
class FileBackendTest
{
    static final long CAPACITY = 8L << 20;
    static final long WAIT_NS = TimeUnit.SECONDS.toNanos(10);

    @TempDir
    Path dir;

    @Test
    @Timeout(60)
    void dataGoesThroughTheFileOnEveryQueueAndSurvivesAReopen() throws IOException
    {
        final Path image = dir.resolve("disk.img");
        final int queues = 2;
        final int bytes = 300 * 1024;
        try (FileBackend file = new FileBackend(image, CAPACITY, 0))
        {
            final BlkMultiQueue disk = BlkMultiQueue.builder(MqRig.dma(DmaProfile.SWIOTLB_FORCE), file,
                BlkConfig.qemuDefault(CAPACITY, 256)).queues(queues).build();
            final UnsafeBuffer mem = disk.memory().buffer();
            final long[] bases = {MqRig.pages(disk.memory(), MqRig.SPAN_PAGES), MqRig.pages(disk.memory(),
                MqRig.SPAN_PAGES)};
            disk.start();
            MqRig.onDriverThreads(queues, 30_000, q ->
            {
                final Bio bio = new Bio(256);
                final long sector = (q * (CAPACITY / 2)) >> SECTOR_SHIFT;
                bio.fillPages(T_OUT, sector, bytes, bases[q], q == 0);
                BlkHarness.fillPattern(mem, bio, 40 + q);
                disk.queue(q).run(bio, WAIT_NS);
                assertEquals(S_OK, bio.status(), "queue " + q + " write");
                final Bio flush = new Bio(1).reset(T_FLUSH, 0);
                disk.queue(q).run(flush, WAIT_NS);
                assertEquals(S_OK, flush.status(), "queue " + q + " flush");
                bio.fillPages(T_IN, sector, bytes, bases[q], q != 0);
                MqRig.clear(mem, bio);
                disk.queue(q).run(bio, WAIT_NS);
                assertEquals(S_OK, bio.status(), "queue " + q + " read");
                assertEquals(-1, BlkHarness.firstMismatch(mem, bio, 40 + q), "queue " + q + " read back");
            });
            disk.shutdown(5, TimeUnit.SECONDS);
            MqRig.assertClean(disk, "file");
            assertNull(file.lastError());
        }
        final byte[] content = Files.readAllBytes(image);
        assertEquals(CAPACITY, content.length, "the image has the disk's size");
        for (int q = 0; q < queues; q++)
        {
            final int at = (int)(q * (CAPACITY / 2));
            for (int p = 0; p < bytes; p++)
            {
                assertEquals(BlkHarness.pattern(40 + q, p), content[at + p], "queue " + q + " file byte " + p);
            }
            assertEquals(0, content[at + bytes], "nothing past the write");
        }
        // Reopened: the data is still there, read straight from the backend.
        final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
        try (FileBackend again = new FileBackend(image, CAPACITY, 0))
        {
            final GuestIo io = new GuestIo(memory);
            assertEquals(S_OK, again.read(io, 4096, 8192, CAPACITY / 2));
            for (int p = 0; p < 8192; p++)
            {
                assertEquals(BlkHarness.pattern(41, p), memory.buffer().getByte(4096 + p), "reopened byte " + p);
            }
        }
    }

    @Test
    void misalignedRequestsFailWithIoerrAndWriteNothing() throws IOException
    {
        final Path image = dir.resolve("direct.img");
        final GuestMemory memory = GuestMemory.allocate(1 << 20, false);
        final UnsafeBuffer mem = memory.buffer();
        mem.setMemory(0, 1 << 20, (byte)0x77);
        try (FileBackend file = new FileBackend(image, CAPACITY, 4096))
        {
            final GuestIo io = new GuestIo(memory);
            assertEquals(S_IOERR, file.write(io, 8192, 4096, 512), "offset not 4096-aligned");
            assertTrue(file.lastError().contains("offset 512"), file.lastError());
            assertEquals(S_IOERR, file.write(io, 8192 + 512, 4096, 8192), "guest address not aligned");
            assertEquals(S_IOERR, file.write(io, 8192, 2048, 8192), "length not aligned");
            assertEquals(S_IOERR, file.read(io, 8192, 4096, 4096 + 512), "reads are checked too");
            assertEquals(S_OK, file.write(io, 8192, 4096, 16384), "aligned");
            file.flush();
        }
        final byte[] content = Files.readAllBytes(image);
        for (int i = 0; i < content.length; i++)
        {
            final boolean written = i >= 16384 && i < 16384 + 4096;
            assertEquals(written ? 0x77 : 0, content[i], "file byte " + i + (written ? " (the aligned write)" :
                " (only the aligned write may have reached the file)"));
        }
    }

    @Test
    @Timeout(30)
    void aMisalignedRequestThroughTheDeviceIsIoerrAndTheQueueGoesOn() throws IOException
    {
        try (FileBackend file = new FileBackend(dir.resolve("q.img"), CAPACITY, 4096))
        {
            final BlkMultiQueue disk = BlkMultiQueue.builder(MqRig.dma(DmaProfile.IOMMU_STRICT), file,
                BlkConfig.qemuDefault(CAPACITY, 256)).build();
            final UnsafeBuffer mem = disk.memory().buffer();
            final long base = MqRig.pages(disk.memory(), 16);
            disk.start();
            final BlkHwQueue q = disk.queue(0);
            final Bio bio = new Bio(4);
            bio.fillPages(T_OUT, 1, 4096, base, true); // sector 1: byte offset 512
            BlkHarness.fillPattern(mem, bio, 3);
            q.run(bio, WAIT_NS);
            assertEquals(S_IOERR, bio.status(), "O_DIRECT would say EINVAL");
            bio.fillPages(T_OUT, 8, 4096, base, true);
            q.run(bio, WAIT_NS);
            assertEquals(S_OK, bio.status(), "aligned, through the IOMMU's page-aligned IOVAs");
            bio.fillPages(T_IN, 0, 8192, base + 8192, true);
            MqRig.clear(mem, bio);
            q.run(bio, WAIT_NS);
            assertEquals(S_OK, bio.status());
            for (int p = 0; p < 8192; p++)
            {
                assertEquals(p < 4096 ? 0 : BlkHarness.pattern(3, p - 4096), mem.getByte((int)(base + 8192 + p)),
                    "sector 0 was never written, sector 8 was: byte " + p);
            }
            disk.shutdown(5, TimeUnit.SECONDS);
            MqRig.assertClean(disk, "direct align");
        }
    }

    @Test
    void capacityIsCheckedAndTheImageSized() throws IOException
    {
        final Path image = dir.resolve("size.img");
        assertThrows(IllegalArgumentException.class, () -> new FileBackend(image, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FileBackend(image, 1000, 0), "not a multiple of 512");
        assertThrows(IllegalArgumentException.class, () -> new FileBackend(image, 4096, 3000), "alignment");
        assertThrows(IllegalArgumentException.class, () -> new FileBackend(image, 4096, -512));
        Files.write(image, new byte[3 << 20]);
        try (FileBackend file = new FileBackend(image, 1 << 20, 0))
        {
            assertEquals(1 << 20, file.capacityBytes());
        }
        assertEquals(1 << 20, Files.size(image), "a larger image is cut to the capacity");
        try (FileBackend file = new FileBackend(image, 2 << 20, 0))
        {
            assertEquals(2 << 20, file.capacityBytes());
            assertEquals(2 << 20, Files.size(image), "a smaller image is extended");
            final BlkConfig bigger = BlkConfig.qemuDefault(4 << 20, 256);
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> BlkMultiQueue.builder(MqRig.dma(DmaProfile.DIRECT), file, bigger).build());
            assertTrue(ex.getMessage().contains("exceeds the backend"), ex.getMessage());
        }
    }

    @Test
    @Timeout(30)
    void requestsBeyondTheCapacityAreIoerrOnTheFileToo() throws IOException
    {
        try (FileBackend file = new FileBackend(dir.resolve("cap.img"), CAPACITY, 0))
        {
            final BlkMultiQueue disk = BlkMultiQueue.builder(MqRig.dma(DmaProfile.DIRECT), file,
                BlkConfig.qemuDefault(CAPACITY, 256)).build();
            final long base = MqRig.pages(disk.memory(), 4);
            disk.start();
            final Bio bio = new Bio(4).fillPages(T_OUT, (CAPACITY >> SECTOR_SHIFT) - 4, 4096, base, true);
            disk.queue(0).run(bio, WAIT_NS);
            assertEquals(S_IOERR, bio.status(), "4 KiB from 2 KiB before the end");
            bio.fillPages(T_OUT, (CAPACITY >> SECTOR_SHIFT) - 8, 4096, base, true);
            disk.queue(0).run(bio, WAIT_NS);
            assertEquals(S_OK, bio.status(), "the last 4 KiB");
            disk.shutdown(5, TimeUnit.SECONDS);
            assertEquals(CAPACITY, Files.size(dir.resolve("cap.img")), "never grown past the capacity");
        }
    }

    @Test
    void anIoErrorIsIoerrNeverAnException() throws IOException
    {
        final FileBackend file = new FileBackend(dir.resolve("closed.img"), 1 << 20, 0);
        file.close();
        final GuestIo io = new GuestIo(GuestMemory.allocate(1 << 20, false));
        assertEquals(S_IOERR, file.read(io, 0, 4096, 0));
        assertTrue(file.lastError().contains("ClosedChannelException"), file.lastError());
        assertEquals(S_IOERR, file.write(io, 0, 4096, 0));
        assertEquals(S_IOERR, file.flush());
    }
}
