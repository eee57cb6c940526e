package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import vqdma.dma.DirectDma;
import vqdma.ring.SgList;
import vqdma.ring.Virtqueue;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.blk.VirtioBlk.*;

/** The virtio-blk driver and device over direct DMA: limits, segments, request types, and bad requests. */
class BlkDriverDeviceTest
{
    static final BlkConfig CONFIG = BlkConfig.qemuDefault(64L << 20, 256);

    BlkRig rig(final boolean clamp)
    {
        return new BlkRig(DirectDma::new, false, clamp, true, 256, CONFIG, 64L << 20);
    }

    @Test
    void limitsAreWhatVirtblkProbeSets()
    {
        final BlkRig rig = rig(true);
        final QueueLimits limits = rig.driver.limits();
        assertEquals(254, limits.maxSegments(), "seg_max = queue size - 2");
        assertEquals(QueueLimits.UNLIMITED_U32, limits.maxSegmentSize(), "direct DMA: nothing to clamp to");
        assertEquals(2560, limits.maxSectors());
        assertEquals(256, limits.queueDepth(), "num_free with indirect descriptors");
        final BlkRig noIndirect = new BlkRig(DirectDma::new, false, true, false, 256, CONFIG, 64L << 20);
        assertEquals(128, noIndirect.driver.limits().queueDepth(), "halved without indirect, as virtblk_probe");
        assertEquals(254, noIndirect.driver.limits().maxSegments());
        final BlkConfig sizeMax = CONFIG.withSizeMax(65536);
        assertEquals(65536, QueueLimits.probe(sizeMax, rig.vq, false).maxSegmentSize(), "SIZE_MAX is honoured");
        final BlkConfig noSegMax = new BlkConfig(CONFIG.capacity(), 0, 0, true, "x");
        assertEquals(1, QueueLimits.probe(noSegMax, rig.vq, true).maxSegments(), "no SEG_MAX: one segment");
    }

    @Test
    void contiguousPagesMergeAndScatteredOnesDoNot()
    {
        final BlkRig rig = rig(false);
        final SgList sg = new SgList(300);
        final Bio bio = rig.contiguous(new Bio(512), T_OUT, 0, 1 << 20, 0);
        assertEquals(1 << 20, SegmentMapper.mapNext(bio, rig.driver.limits(), sg, true));
        assertEquals(1, sg.size(), "1 MiB of contiguous pages is one segment without a size limit");
        final Bio frag = rig.fragmented(new Bio(512), T_OUT, 0, 64 * 4096, 0);
        sg.clear();
        SegmentMapper.mapNext(frag, rig.driver.limits(), sg, true);
        assertEquals(64, sg.size());
        final QueueLimits small = new QueueLimits(4, 8192, 2560, 16);
        sg.clear();
        final Bio b = rig.contiguous(new Bio(512), T_IN, 0, 64 * 4096, 0);
        assertEquals(4 * 8192, SegmentMapper.mapNext(b, small, sg, false), "4 segments of 8 KiB, then split");
        assertEquals(4, sg.size());
        assertEquals(8, b.nextPage);
    }

    @Test
    void largeBiosAreSplitAtMaxSectors()
    {
        final BlkRig rig = rig(false);
        final SgList sg = new SgList(300);
        final Bio bio = rig.contiguous(new Bio(1024), T_IN, 0, 4 << 20, 0);
        assertEquals(2560L * 512, SegmentMapper.mapNext(bio, rig.driver.limits(), sg, false));
        assertEquals(320, bio.nextPage);
    }

    @Test
    void writeThenReadBackEveryByte()
    {
        final BlkRig rig = rig(true);
        for (final int size : new int[] {512, 4096, 65536, 300 * 1024, 4 << 20})
        {
            final Bio write = rig.contiguous(new Bio(1024), T_OUT, 2048, size, 0);
            rig.fillPattern(write, size);
            rig.run(write);
            assertEquals(S_OK, write.status(), "write of " + size);
            final Bio read = rig.fragmented(new Bio(1024), T_IN, 2048, size, 1);
            rig.clear(read);
            rig.run(read);
            assertEquals(S_OK, read.status());
            rig.assertPattern(read, size, "read back " + size);
            assertEquals(size, rig.backend.contents().getByte(2048 * 512) == BlkRig.pattern(size, 0) ? size : -1);
        }
        assertEquals(0, rig.driver.inFlight());
        assertEquals(0, rig.driver.pendingBios());
    }

    @Test
    void flushAndGetIdWork()
    {
        final BlkRig rig = rig(true);
        final Bio flush = new Bio(1).reset(T_FLUSH, 0);
        rig.run(flush);
        assertEquals(S_OK, flush.status());
        final long idBuf = rig.page(100);
        final Bio id = new Bio(1).reset(T_GET_ID, 0).addPage(idBuf, ID_BYTES);
        rig.run(id);
        assertEquals(S_OK, id.status());
        final byte[] got = new byte[10];
        rig.mem.getBytes((int)idBuf, got);
        assertEquals("vqdma-disk", new String(got, StandardCharsets.US_ASCII));
    }

    @Test
    void readBeyondCapacityIsIoerr()
    {
        final BlkRig rig = rig(true);
        final Bio bio = rig.contiguous(new Bio(8), T_IN, CONFIG.capacity() - 4, 4096, 0);
        rig.run(bio);
        assertEquals(S_IOERR, bio.status());
        final Bio ok = rig.contiguous(new Bio(8), T_IN, CONFIG.capacity() - 8, 4096, 0);
        rig.run(ok);
        assertEquals(S_OK, ok.status(), "the last 8 sectors are fine");
    }

    @Test
    void flushIsUnsupportedWithoutTheFeature()
    {
        final BlkConfig noFlush = new BlkConfig(CONFIG.capacity(), 0, 254, false, "x");
        final BlkRig rig = new BlkRig(DirectDma::new, false, true, true, 256, noFlush, 64L << 20);
        final Bio flush = new Bio(1).reset(T_FLUSH, 0);
        rig.run(flush);
        assertEquals(S_UNSUPP, flush.status());
        assertEquals(1, rig.device.unsupported());
    }

    @Test
    void misuseOfBiosIsRefused()
    {
        final BlkRig rig = rig(true);
        assertThrows(IllegalArgumentException.class, () -> rig.driver.submit(new Bio(1).reset(T_IN, 0)));
        assertThrows(IllegalArgumentException.class,
            () -> rig.driver.submit(new Bio(1).reset(T_OUT, 0).addPage(rig.page(0), 100)));
        assertThrows(IllegalArgumentException.class, () -> new Bio(1).reset(T_IN, 0).addPage(0, 5000));
    }

    // --- bad requests straight on the ring: the device answers them and stays up --------------------------------

    /** Submits a hand-made chain and returns (status byte, used.len). */
    int[] raw(final BlkRig rig, final SgList sg, final long statusGpa)
    {
        if (statusGpa >= 0)
        {
            rig.mem.putByte((int)statusGpa, (byte)0x7F);
        }
        assertEquals(0, rig.vq.add(sg, "raw"));
        assertEquals(1, rig.device.serve(8));
        assertEquals("raw", rig.vq.getBuf());
        return new int[] {statusGpa >= 0 ? rig.mem.getByte((int)statusGpa) : -1, rig.vq.usedLen()};
    }

    long header(final BlkRig rig, final int type, final long sector)
    {
        final long hdr = rig.page(200);
        final UnsafeBuffer mem = rig.mem;
        mem.putInt((int)hdr, type, ByteOrder.LITTLE_ENDIAN);
        mem.putInt((int)hdr + 4, 0, ByteOrder.LITTLE_ENDIAN);
        mem.putLong((int)hdr + 8, sector, ByteOrder.LITTLE_ENDIAN);
        return hdr;
    }

    @Test
    void aShortHeaderIsIoerr()
    {
        final BlkRig rig = rig(true);
        final long status = rig.page(201);
        final int[] r = raw(rig, new SgList(4).out(header(rig, T_IN, 0), 12).in(status, 1), status);
        assertArrayEquals(new int[] {S_IOERR, 1}, r);
    }

    @Test
    void anUnknownTypeIsUnsupported()
    {
        final BlkRig rig = rig(true);
        final long status = rig.page(201);
        assertArrayEquals(new int[] {S_UNSUPP, 1},
            raw(rig, new SgList(4).out(header(rig, 0x55, 0), 16).in(status, 1), status));
    }

    @Test
    void aMissingOrReadOnlyStatusIsAnsweredWithZeroLength()
    {
        final BlkRig rig = rig(true);
        final int[] missing = raw(rig, new SgList(4).out(header(rig, T_OUT, 0), 16).out(rig.page(202), 512), -1);
        assertEquals(0, missing[1], "no writable byte: nothing to report a status in");
        final long status = rig.page(201);
        final int[] readOnly = raw(rig,
            new SgList(4).out(header(rig, T_OUT, 0), 16).out(rig.page(202), 512).out(status, 1), status);
        assertArrayEquals(new int[] {0x7F, 0}, readOnly, "a read-only status byte is not written");
        assertEquals(2, rig.device.noStatus());
        assertFalse(rig.deviceQueue.isBroken());
    }

    @Test
    void aDataLengthThatIsNotWholeSectorsIsIoerr()
    {
        final BlkRig rig = rig(true);
        final long status = rig.page(201);
        assertArrayEquals(new int[] {S_IOERR, 1},
            raw(rig, new SgList(4).out(header(rig, T_IN, 0), 16).in(rig.page(202), 100).in(status, 1), status));
        assertArrayEquals(new int[] {S_IOERR, 1},
            raw(rig, new SgList(4).out(header(rig, T_OUT, -1L), 16).out(rig.page(202), 512).in(status, 1), status),
            "a negative (huge u64) sector");
    }

    @Test
    void theDeviceSurvivesBadRequestsAndServesGoodOnesAfter()
    {
        final BlkRig rig = rig(true);
        aShortHeaderIsIoerr();
        final Bio bio = rig.contiguous(new Bio(8), T_OUT, 0, 4096, 0);
        rig.fillPattern(bio, 3);
        rig.run(bio);
        assertEquals(S_OK, bio.status());
        assertEquals(0, Virtqueue.ENOSPC + 28, "constants as the kernel's errno");
    }
}
