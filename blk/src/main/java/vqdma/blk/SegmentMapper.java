package vqdma.blk;

import vqdma.ring.SgList;

/**
 * How the block layer turns a bio into hardware requests and segments, as {@code bio_split_to_limits()} and
 * {@code blk_rq_map_sg()} do it: pages are taken in order; a page joins the current segment when it is physically
 * contiguous with it and the segment stays within {@code max_segment_size}; otherwise it starts a new segment; a
 * request ends before it would exceed {@code max_segments} segments or {@code max_sectors}.
 * <p>
 * With {@code max_segment_size} unlimited (virtio-blk without SIZE_MAX, before the 2019 fix), contiguous pages merge
 * into one segment as large as the request: the segment SWIOTLB cannot map.
 */
public final class SegmentMapper
{
    private SegmentMapper()
    {
    }

    /**
     * Maps the next hardware request of {@code bio}, from page {@code bio.nextPage} on, into {@code sg} (data
     * segments only, appended as device-readable when {@code out}, else device-writable).
     *
     * @param bio    the bio; {@code nextPage} is advanced past the pages taken.
     * @param limits the queue limits.
     * @param sg     receives the segments.
     * @param out    true for a write (the device reads the data).
     * @return bytes in the request (at least one page).
     */
    public static long mapNext(final Bio bio, final QueueLimits limits, final SgList sg, final boolean out)
    {
        final long maxBytes = limits.maxBytes();
        final long maxSegment = limits.maxSegmentSize();
        final int maxSegments = limits.maxSegments();
        long bytes = 0;
        int segments = 0;
        long segStart = 0;
        long segLen = 0;
        int page = bio.nextPage;
        for (; page < bio.pages(); page++)
        {
            final long gpa = bio.pageGpa(page);
            final int len = bio.pageLen(page);
            if (bytes > 0 && bytes + len > maxBytes)
            {
                break;
            }
            final boolean merge = segments > 0 && segStart + segLen == gpa && segLen + len <= maxSegment;
            if (!merge)
            {
                if (segments == maxSegments)
                {
                    break;
                }
                if (segments > 0)
                {
                    append(sg, segStart, segLen, out);
                }
                segments++;
                segStart = gpa;
                segLen = 0;
            }
            segLen += len;
            bytes += len;
        }
        append(sg, segStart, segLen, out);
        bio.nextPage = page;
        return bytes;
    }

    private static void append(final SgList sg, final long gpa, final long len, final boolean out)
    {
        if (out)
        {
            sg.out(gpa, (int)len);
        }
        else
        {
            sg.in(gpa, (int)len);
        }
    }
}
