package vqdma.blk.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import vqdma.blk.Bio;
import vqdma.blk.BlkConfig;
import vqdma.blk.BlkHarness;
import vqdma.blk.QueueLimits;
import vqdma.blk.VirtioBlk;
import vqdma.dma.DmaProfile;
import vqdma.ring.tools.Cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code scripts/blk-repro}: the 2019 virtio-blk/SWIOTLB I/O error and its fix in a few seconds. For every DMA
 * profile, with segment clamping off (2019) and on (the fix), and for every request size, it writes a pattern with
 * several requests, reads it back, compares every byte and prints the table a kernel developer would paste into a
 * cover letter: OK and IOERR counts per cell and the bytes verified.
 */
@Command(name = "scripts/blk-repro", mixinStandardHelpOptions = true,
    description = "Reproduce the 2019 virtio-blk SWIOTLB I/O errors and show the clamp fixing them.")
public final class BlkRepro implements Callable<Integer>
{
    @Option(names = "--profiles", split = ",",
        defaultValue = "direct,swiotlb,swiotlb-force,swiotlb-bitmap,swiotlb-hot,iommu-strict,iommu-lazy",
        description = "DMA profiles (default: ${DEFAULT-VALUE})")
    List<String> profiles;

    @Option(names = "--sizes", split = ",", defaultValue = "4096,65536,262144,524288,1048576,4194304",
        description = "request sizes in bytes, multiples of 512 (default: ${DEFAULT-VALUE})")
    List<Integer> sizes;

    @Option(names = "--requests", defaultValue = "4", description = "requests per cell and direction (default 4)")
    int requests;

    @Option(names = "--fragmented", description = "scatter the pages (no two contiguous) instead of contiguous")
    boolean fragmented;

    @Option(names = "--queue-size", defaultValue = "256", description = "virtqueue size (default 256)")
    int queueSize;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One cell of the table. */
    record Cell(String profile, boolean clamp, long maxSegment, int size, int ok, int ioerr, long verified,
        long mismatches)
    {
    }

    @Override
    public Integer call()
    {
        for (final int size : sizes)
        {
            if (size <= 0 || size % VirtioBlk.SECTOR_SIZE != 0 || size > (BlkHarness.PAGE_CACHE_PAGES / 2) * 4096)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), "size " + size +
                    " must be a positive multiple of 512 up to " + (BlkHarness.PAGE_CACHE_PAGES / 2) * 4096);
            }
        }
        final List<Cell> cells = new ArrayList<>();
        for (final String name : profiles)
        {
            final DmaProfile profile = DmaProfile.of(name);
            for (final boolean clamp : new boolean[] {false, true})
            {
                final BlkHarness h = new BlkHarness(memory -> profile.create(memory, DmaProfile.DEFAULT_SWIOTLB_POOL),
                    profile.confidentialGuest(), clamp, true, queueSize, BlkConfig.qemuDefault(64L << 20, queueSize),
                    192L << 20);
                for (final int size : sizes)
                {
                    cells.add(cell(h, profile, clamp, size));
                }
            }
        }
        print(spec.commandLine().getOut(), cells);
        long bad = 0;
        for (final Cell c : cells)
        {
            bad += c.mismatches();
        }
        return bad == 0 ? 0 : 1;
    }

    private Cell cell(final BlkHarness h, final DmaProfile profile, final boolean clamp, final int size)
    {
        int ok = 0;
        int ioerr = 0;
        long verified = 0;
        long mismatches = 0;
        final Bio write = new Bio(size / 512 + 8);
        final Bio read = new Bio(size / 512 + 8);
        final long sectors = size / VirtioBlk.SECTOR_SIZE;
        for (int r = 0; r < requests; r++)
        {
            final long sector = (r * (sectors + 8)) % (h.backend().capacityBytes() / 512 - sectors);
            layout(h, write, VirtioBlk.T_OUT, sector, size, 0);
            h.fillPattern(write, r + size);
            h.run(write, 10_000_000);
            if (write.status() != VirtioBlk.S_OK)
            {
                ioerr++;
                continue;
            }
            layout(h, read, VirtioBlk.T_IN, sector, size, 1);
            h.clear(read);
            h.run(read, 10_000_000);
            if (read.status() != VirtioBlk.S_OK)
            {
                ioerr++;
                continue;
            }
            ok++;
            if (h.firstMismatch(read, r + size) >= 0)
            {
                mismatches++;
            }
            else
            {
                verified += size;
            }
        }
        return new Cell(profile.id(), clamp, h.driver().limits().maxSegmentSize(), size, ok, ioerr, verified,
            mismatches);
    }

    private void layout(final BlkHarness h, final Bio bio, final int type, final long sector, final int size,
        final int first)
    {
        if (fragmented)
        {
            h.fragmented(bio, type, sector, size, first);
        }
        else
        {
            h.contiguous(bio, type, sector, size, first == 0 ? 0 : BlkHarness.PAGE_CACHE_PAGES / 2);
        }
    }

    static String bytes(final long n)
    {
        if (n >= QueueLimits.UNLIMITED_U32)
        {
            return "4G-1 (none)";
        }
        return n >= 1 << 20 && n % (1 << 20) == 0 ? n / (1 << 20) + " MiB" :
            n >= 1024 && n % 1024 == 0 ? n / 1024 + " KiB" : n + " B";
    }

    private void print(final PrintWriter out, final List<Cell> cells)
    {
        out.printf("virtio-blk over each DMA path, %s pages, %d write+read-back requests per cell, QEMU config " +
            "(no SIZE_MAX), queue %d, 64 MiB SWIOTLB%n", fragmented ? "fragmented" : "contiguous", requests, queueSize);
        out.println("clamp off = 2019 (max_segment_size -1U); clamp on = min(size_max, virtio_max_dma_size())");
        out.println();
        out.printf("%-14s %-5s %-12s %9s %4s %6s %15s%n", "dma", "clamp", "max_seg_size", "size", "OK", "IOERR",
            "bytes verified");
        for (final Cell c : cells)
        {
            out.printf("%-14s %-5s %-12s %9s %4d %6d %15d%s%n", c.profile(), c.clamp() ? "on" : "off",
                bytes(c.maxSegment()), bytes(c.size()), c.ok(), c.ioerr(), c.verified(),
                c.mismatches() > 0 ? "  DATA MISMATCH x" + c.mismatches() : "");
        }
        out.flush();
    }

    /** @param args command line. */
    public static void main(final String[] args)
    {
        System.exit(Cli.of(new BlkRepro()).execute(args));
    }
}
