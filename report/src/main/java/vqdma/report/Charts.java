package vqdma.report;

import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import vqdma.results.JmhResult;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * The report's charts, each recognised by the project's naming conventions (package = group, parameter names
 * {@code ops}/{@code dma}, {@code size}, {@code dir}, {@code clamp}, {@code mode}, {@code queueSize},
 * {@code batch}), so that a benchmark added later with the same names lands in the right chart. A chart whose
 * benchmarks are not in the results is left out; results no chart knows appear in the report's tables only.
 * <ul>
 *   <li>{@link #dmaSizeSweeps}: bytes per second vs request size, one line per DMA op and the memcpy limit.</li>
 *   <li>{@link #swiotlbVsMemcpy}: a SWIOTLB map+unmap as a fraction of the memcpy it must make.</li>
 *   <li>{@link #blkClamp}: virtio-blk bytes per second vs request size, clamp off (2019) against on (the fix).</li>
 *   <li>{@link #blkLayouts}: virtio-blk bytes per second vs request size on the split ring against the packed one,
 *   per DMA profile.</li>
 *   <li>{@link #ringVsPeers}: the ring's two-thread round trips against JCTools and Agrona in the same shape.</li>
 *   <li>{@link #iommuModes}: the IOMMU's strict against lazy invalidation.</li>
 *   <li>{@link #ringCycle}: the ring's one-thread cycle.</li>
 * </ul>
 * In every chart, a cell whose error counters are above zero is named under the chart; when it did no useful work
 * at all ({@link JmhResult#failedCompletely()}) it is drawn as a red cross at the bottom instead of a value, because
 * its time is that of the failure path. With a baseline, each line gets a dashed twin in its colour (bars: a pale
 * twin) from the baseline's cells with the same benchmark, mode and parameters.
 */
final class Charts
{
    private final List<JmhResult> run;
    private final Map<String, JmhResult> baseline;

    /**
     * @param run      the results to chart.
     * @param baseline baseline results by {@link JmhResult#key()} (empty: no baseline).
     */
    Charts(final List<JmhResult> run, final Map<String, JmhResult> baseline)
    {
        this.run = run;
        this.baseline = baseline;
    }

    /** @return every chart these results support, in the report's order. */
    List<Figure> figures()
    {
        final List<Figure> out = new ArrayList<>();
        out.addAll(dmaSizeSweeps());
        out.addAll(swiotlbVsMemcpy());
        out.addAll(swiotlbAllocators());
        out.addAll(blkClamp());
        out.addAll(blkLayouts());
        out.addAll(ringVsPeers());
        out.addAll(iommuModes());
        out.addAll(ringCycle());
        return out;
    }

    // ---------------------------------------------------------------------------------------------- DMA size sweep

    /**
     * Group {@code dma}, benchmarks with a {@code size}: one line per {@code ops} value, one per method without
     * {@code ops} (the memcpy baselines); one chart per combination of the other varying parameters ({@code dir}).
     */
    List<Figure> dmaSizeSweeps()
    {
        final List<JmhResult> cells = select(r -> r.group().equals("dma") && size(r) > 0);
        final List<Figure> out = new ArrayList<>();
        for (final Map<String, String> facet : facets(cells, Set.of("size", "ops")))
        {
            final List<JmhResult> members = members(cells, facet);
            final String suffix = suffix(facet, members, Set.of("size", "ops"));
            final boolean poolWalk = members.stream().anyMatch(r -> r.method().equals("memcpyPoolWalk"));
            out.add(sizeSweep("dma-size" + slug(facet), "DMA map+unmap: time per call vs request size" + suffix,
                "Time of one map + unmap of a buffer of each size, per DMA op, on one thread (lower is better), " +
                    "beside the memcpy of the same bytes, the copy a bounce buffer must make" +
                    (poolWalk ? " (memcpyPoolWalk copies into memory as cold as the bounce pool's)" : "") +
                    ". direct copies and maps nothing: its flat line is the DMA API's fixed cost per call, not a " +
                    "bandwidth. swiotlb-force bounces every buffer, so it follows memcpy plus its slot search; the " +
                    "IOMMU writes a page-table entry per 4 KiB page. A red cross is a size that could not be " +
                    "mapped at all (SWIOTLB maps at most 256 KiB at once: the 2019 failure).",
                members, r -> r.param("ops") != null ? r.param("ops") : r.method(), JmhResult::nanosPerOp,
                "ns per map+unmap (per copy for memcpy)"));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------- SWIOTLB vs memcpy

    /**
     * A {@code mapUnmap} through SWIOTLB ({@code ops} swiotlb or swiotlb-force) against {@code memcpy} (and
     * {@code memcpyPoolWalk}) of the same size and direction: memcpy time / map+unmap time.
     */
    List<Figure> swiotlbVsMemcpy()
    {
        final List<JmhResult> bounces = select(r -> r.group().equals("dma") && size(r) > 0 &&
            r.param("ops") != null && r.param("ops").startsWith("swiotlb"));
        if (bounces.isEmpty())
        {
            return List.of();
        }
        final Set<String> lineParams = new LinkedHashSet<>(varying(bounces, Set.of("size")));
        final Map<String, Plot.Line> lines = new LinkedHashMap<>();
        final List<Double> failedX = new ArrayList<>();
        final List<String> failed = new ArrayList<>();
        boolean any = false;
        for (final String copy : List.of("memcpy", "memcpyPoolWalk"))
        {
            for (final JmhResult b : sortedBySize(bounces))
            {
                final JmhResult limit = copyOf(b, copy, run);
                if (limit == null)
                {
                    continue;
                }
                any = true;
                final String name = (lineParams.contains("ops") ? "" : b.param("ops") + " ") + "vs " + copy +
                    (lineParams.isEmpty() ? "" : ": " + label(b.params(), lineParams));
                final Plot.Line line = lines.computeIfAbsent(name, Plot.Line::new);
                final double x = log2(size(b));
                if (b.failedCompletely())
                {
                    if (copy.equals("memcpy"))
                    {
                        failedX.add(x);
                        failed.add(failure(b));
                    }
                }
                else
                {
                    line.points.add(new double[] {x, limit.nanosPerOp() / b.nanosPerOp()});
                }
                final JmhResult bb = baseline.get(b.key());
                final JmhResult lb = baseline.get(limit.key());
                if (bb != null && lb != null && !bb.failedCompletely())
                {
                    line.baseline.add(new double[] {x, lb.nanosPerOp() / bb.nanosPerOp()});
                }
            }
        }
        if (!any)
        {
            return List.of();
        }
        final XYChart chart = Plot.xy("SWIOTLB bounce vs memcpy: fraction of the copy limit achieved" +
                suffix(Map.of(), bounces, lineParams, Set.of("size", "ops", "pool")),
            "request size", "memcpy time / map+unmap time");
        Plot.sizeAxis(chart);
        Plot.addLines(chart, new ArrayList<>(lines.values()), failedX, 0);
        Plot.horizontal(chart, 1.0);
        chart.getStyler().setYAxisMin(0.0);
        double top = 1.1;
        for (final Plot.Line l : lines.values())
        {
            for (final double[] p : l.points)
            {
                top = Math.max(top, p[1] * 1.1);
            }
            for (final double[] p : l.baseline)
            {
                top = Math.max(top, p[1] * 1.1);
            }
        }
        chart.getStyler().setYAxisMax(top);
        return List.of(new Figure("swiotlb-vs-memcpy", "SWIOTLB vs memcpy",
            "How close a SWIOTLB map + unmap (swiotlb-force: every buffer bounces) comes to the memcpy of the same " +
                "bytes it must make: 1.0 (the grey line) is the copy limit; goals 0.9 from 64 KiB, 0.7 at 4 KiB. " +
                (lines.keySet().stream().anyMatch(n -> n.contains("memcpyPoolWalk")) ? "Against memcpyPoolWalk (a " +
                    "copy into memory as cold as the 64 MiB pool) the bookkeeping shows on its own. " : "") +
                "A red cross at 0 is a size SWIOTLB cannot map.", chart, failed, hasBaseline(lines.values())));
    }

    /**
     * The SWIOTLB allocators side by side ({@code TO_DEVICE}): the kernel's ({@code swiotlb-force}), the 2022 RFC's
     * ({@code swiotlb-bitmap}, {@code swiotlb-hot}), and the hot and cold copy limits, per size.
     */
    List<Figure> swiotlbAllocators()
    {
        final Set<String> ops = Set.of("swiotlb-force", "swiotlb-bitmap", "swiotlb-hot");
        final List<JmhResult> cells = select(r -> r.group().equals("dma") && size(r) > 0 && size(r) <= 262144 &&
            "TO_DEVICE".equals(r.param("dir")) && (r.param("pool") == null || "67108864".equals(r.param("pool"))) &&
            (r.param("ops") == null ? r.method().startsWith("memcpy") : ops.contains(r.param("ops"))));
        if (cells.stream().noneMatch(r -> "swiotlb-hot".equals(r.param("ops"))))
        {
            return List.of();
        }
        return List.of(sizeSweep("swiotlb-allocators", "SWIOTLB allocators: the kernel's vs the 2022 RFC's (TO_DEVICE)",
            "One map + unmap + bounce per size through the kernel's allocator (swiotlb-force), the RFC's bitmap " +
                "(swiotlb-bitmap: the kernel's slots, cheaper bookkeeping) and the RFC's bitmap with LIFO free lists " +
                "(swiotlb-hot: the slots freed last are reused, so the bounce buffer stays in cache, placed so as " +
                "not to fragment the pool), next to memcpy " +
                "(the copy into one hot destination) and memcpyPoolWalk (into memory as cold as the kernel's " +
                "rotating 64 MiB pool). Higher is better.",
            cells, r -> r.param("ops") != null ? r.param("ops") : r.method(), r -> r.bytesPerSecond() / 1e9,
            "GB/s (10^9 bytes per second)"));
    }

    private static JmhResult copyOf(final JmhResult bounce, final String method, final List<JmhResult> in)
    {
        for (final JmhResult r : in)
        {
            if (r.className().equals(bounce.className()) && r.method().equals(method) &&
                r.mode().equals(bounce.mode()) && r.params().get("size").equals(bounce.param("size")) &&
                (r.param("dir") == null || r.param("dir").equals(bounce.param("dir"))))
            {
                return r;
            }
        }
        return null;
    }

    // --------------------------------------------------------------------------------------------- blk clamp on/off

    /**
     * Group {@code blk}, benchmarks with {@code clamp} and {@code size}: one chart per DMA profile ({@code dma} or
     * {@code ops}) and other varying parameters; one line per clamp value (and queue depth when it varies).
     */
    List<Figure> blkClamp()
    {
        final List<JmhResult> cells = select(r -> r.group().equals("blk") && r.param("clamp") != null && size(r) > 0);
        final List<Figure> out = new ArrayList<>();
        final Set<String> lineParams = new LinkedHashSet<>(List.of("clamp"));
        lineParams.addAll(varying(cells, Set.of("size", "clamp", "dma", "ops")).stream()
            .filter(p -> p.equals("depth")).toList());
        final Set<String> notFacet = new LinkedHashSet<>(lineParams);
        notFacet.add("size");
        for (final Map<String, String> facet : facets(cells, notFacet))
        {
            final String suffix = suffix(facet, members(cells, facet), notFacet);
            out.add(sizeSweep("blk-clamp" + slug(facet), "virtio-blk: clamp off (2019) vs on (the fix)" + suffix,
                "Bytes per second of virtio-blk requests end to end (driver, ring, device, backend, completion) " +
                    "by request size, with max_segment_size clamped to what the DMA layer can map (clamp=true, the " +
                    "2019 fix) or not (clamp=false). Without the clamp, segments above SWIOTLB's 256 KiB cannot map " +
                    "and the requests fail: red crosses, and the failing cells listed below.",
                members(cells, facet), r -> clampLabel(r, lineParams), r -> r.bytesPerSecond() / 1e9,
                "GB/s (10^9 bytes per second)"));
        }
        return out;
    }

    // ----------------------------------------------------------------------------------- blk split vs packed ring

    /**
     * Group {@code blk}, benchmarks with a {@code layout} (when both layouts are present) and a {@code size}: one chart
     * per DMA profile (and other varying parameters), one line per ring layout, with the clamp on where the results
     * have it (clamp off only fails where the 2019 story says, whatever the ring).
     */
    List<Figure> blkLayouts()
    {
        List<JmhResult> cells = select(r -> r.group().equals("blk") && r.param("layout") != null && size(r) > 0);
        if (cells.stream().map(r -> r.param("layout")).distinct().count() < 2)
        {
            return List.of();
        }
        if (cells.stream().anyMatch(r -> "true".equals(r.param("clamp"))))
        {
            cells = cells.stream().filter(r -> r.param("clamp") == null || "true".equals(r.param("clamp"))).toList();
        }
        final Set<String> notFacet = Set.of("size", "layout", "clamp");
        final List<Figure> out = new ArrayList<>();
        for (final Map<String, String> facet : facets(cells, notFacet))
        {
            final List<JmhResult> members = members(cells, facet);
            out.add(sizeSweep("blk-layout" + slug(facet), "virtio-blk: split vs packed ring" +
                    suffix(facet, members, notFacet),
                "Bytes per second of virtio-blk requests end to end by request size, through the split virtqueue " +
                    "(descriptor table, avail ring, used ring) and through the packed one (one descriptor ring both " +
                    "sides write, VIRTIO_F_RING_PACKED), with the clamp on. The ring's share of a request shrinks as " +
                    "the request grows and the DMA profile's copies and translations take over.",
                members, r -> r.param("layout") + " ring", r -> r.bytesPerSecond() / 1e9,
                "GB/s (10^9 bytes per second)"));
        }
        return out;
    }

    private static String clampLabel(final JmhResult r, final Set<String> lineParams)
    {
        final StringBuilder out = new StringBuilder("true".equals(r.param("clamp")) ? "clamp on (fix)" :
            "clamp off (2019)");
        for (final String p : lineParams)
        {
            if (!p.equals("clamp") && r.param(p) != null)
            {
                out.append(' ').append(p).append('=').append(r.param(p));
            }
        }
        return out.toString();
    }

    // ----------------------------------------------------------------------------------------------- ring vs peers

    /**
     * The peers (group {@code peer}) and the ring benchmarks with the same method name: bars of operations per
     * second, one group of bars per {@code queueSize}/{@code batch}, one bar per implementation.
     */
    List<Figure> ringVsPeers()
    {
        final List<JmhResult> peers = select(r -> r.group().equals("peer"));
        if (peers.isEmpty())
        {
            return List.of();
        }
        final Set<String> methods = new LinkedHashSet<>();
        peers.forEach(p -> methods.add(p.method()));
        final List<JmhResult> cells = select(r -> r.group().equals("peer") ||
            r.group().equals("ring") && methods.contains(r.method()));
        final Set<String> categoryParams = new LinkedHashSet<>();
        for (final String p : List.of("queueSize", "batch"))
        {
            if (cells.stream().anyMatch(r -> r.param(p) != null))
            {
                categoryParams.add(p);
            }
        }
        final Set<String> seriesParams = varying(cells.stream().filter(r -> r.group().equals("ring")).toList(),
            categoryParams);
        return List.of(barFigure("ring-vs-peers", "Ring vs peers: two-thread round trips",
            "Round trips (requests) per second (higher is better) of a driver thread sending requests to a device " +
                "thread and waiting for the replies, through vqdma's ring (split or packed) and through JCTools' " +
                "SpscArrayQueue and Agrona's OneToOneRingBuffer pairs in the same shape: the roundTrips counter, " +
                "one per request whatever the batch (a JMH operation is a whole batch). The tables give the " +
                "range of every cell's iterations.",
            cells, r -> label(r.params(), categoryParams),
            r -> implementation(r) + (r.group().equals("ring") && !seriesParams.isEmpty() ?
                " " + label(r.params(), seriesParams) : ""),
            JmhResult::roundTripsPerSecond, "round trips per second"));
    }

    /** What the peers are, by the name their benchmark class starts with. */
    private static final Map<String, String> PEERS = Map.of(
        "Jctools", "JCTools SpscArrayQueue",
        "Agrona", "Agrona OneToOneRingBuffer");

    private static String implementation(final JmhResult r)
    {
        final String name = r.simpleClassName().replace("Benchmark", "").replace("RoundTrip", "");
        if (r.group().equals("ring"))
        {
            return "vqdma " + (name.isEmpty() ? "ring" : name.toLowerCase(Locale.ROOT));
        }
        return PEERS.getOrDefault(name, name);
    }

    // ---------------------------------------------------------------------------------------------- IOMMU modes

    /**
     * Group {@code iommu}, a {@code mode} of strict/lazy: one chart per method (not the baselines, whose page
     * arithmetic does not depend on the mode), one bar per mode.
     */
    List<Figure> iommuModes()
    {
        final List<JmhResult> cells = select(r -> r.group().equals("iommu") &&
            ("strict".equals(r.param("mode")) || "lazy".equals(r.param("mode"))) &&
            !r.method().toLowerCase(Locale.ROOT).contains("baseline"));
        final Map<String, List<JmhResult>> byMethod = new LinkedHashMap<>();
        cells.forEach(r -> byMethod.computeIfAbsent(r.shortName(), k -> new ArrayList<>()).add(r));
        final List<Figure> out = new ArrayList<>();
        for (final Map.Entry<String, List<JmhResult>> m : byMethod.entrySet())
        {
            final Set<String> categoryParams = varying(m.getValue(), Set.of("mode"));
            out.add(barFigure("iommu-" + slug(m.getKey()), "IOMMU: strict vs lazy (" + m.getKey() + ")",
                "Nanoseconds per map + unmap through the IOMMU model (lower is better). Strict invalidates the " +
                    "IOTLB and frees the IOVA on every unmap; lazy queues it and flushes once per 256 unmaps, " +
                    "at the price of a window in which the device can still reach freed memory. " +
                    "invalidationNanos is the modelled hardware wait per invalidation" +
                    (m.getValue().stream().anyMatch(r -> "false".equals(r.param("rcache"))) ?
                        "; rcache=false makes every IOVA allocation search the tree" : "") +
                    ". The tables give the range of every cell's iterations.",
                m.getValue(), r -> categoryParams.isEmpty() ? m.getKey() : label(r.params(), categoryParams),
                r -> r.param("mode"), JmhResult::nanosPerOp, "ns per operation (lower is better)"));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------- ring cycle

    /** RingCycleBenchmark.cycle: bars of ns per batch, one group per shape/indirect, one bar per {@code dma}. */
    List<Figure> ringCycle()
    {
        final List<JmhResult> cells = select(r -> r.group().equals("ring") &&
            r.simpleClassName().equals("RingCycleBenchmark") && r.method().equals("cycle"));
        if (cells.isEmpty())
        {
            return List.of();
        }
        final Set<String> categoryParams = varying(cells, Set.of("dma"));
        return List.of(barFigure("ring-cycle", "Ring: one-thread add, pop, return of 128 descriptors",
            "Nanoseconds per batch of 128 descriptors (lower is better; divide by 128 for one descriptor) when one " +
                "thread plays driver and device: the ring's own cost without cross-core traffic. dma=bypass puts " +
                "guest-physical addresses in the ring (legacy virtio), dma=direct maps every buffer through the DMA " +
                "API. The tables give the range of every cell's iterations.",
            cells, r -> categoryParams.isEmpty() ? "cycle" : label(r.params(), categoryParams),
            r -> "dma=" + r.param("dma"), JmhResult::nanosPerOp, "ns per batch (lower is better)"));
    }

    // -------------------------------------------------------------------------------------------------- helpers

    /**
     * A line chart over request sizes (x: log2 of the size). The y axis is logarithmic when the values span two
     * orders of magnitude or more (XChart labels its decades), linear from 0 otherwise: a log axis over less than a
     * decade has one labelled tick or none, and its values cannot be read.
     */
    private Figure sizeSweep(final String id, final String title, final String caption,
        final List<JmhResult> members, final Function<JmhResult, String> series,
        final ToDoubleFunction<JmhResult> value, final String yTitle)
    {
        final Map<String, Plot.Line> lines = new LinkedHashMap<>();
        final List<Double> failedX = new ArrayList<>();
        final List<String> failed = new ArrayList<>();
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = 0;
        for (final JmhResult r : sortedBySize(members))
        {
            final Plot.Line line = lines.computeIfAbsent(series.apply(r), Plot.Line::new);
            final double x = log2(size(r));
            if (r.failed())
            {
                failed.add(failure(r));
            }
            if (r.failedCompletely())
            {
                failedX.add(x);
            }
            else
            {
                final double y = value.applyAsDouble(r);
                if (y > 0 && Double.isFinite(y))
                {
                    line.points.add(new double[] {x, y});
                    yMin = Math.min(yMin, y);
                    yMax = Math.max(yMax, y);
                }
            }
            final JmhResult b = baseline.get(r.key());
            if (b != null && !b.failedCompletely())
            {
                final double y = value.applyAsDouble(b);
                if (y > 0 && Double.isFinite(y))
                {
                    line.baseline.add(new double[] {x, y});
                    yMin = Math.min(yMin, y);
                    yMax = Math.max(yMax, y);
                }
            }
        }
        final XYChart chart = Plot.xy(title, "request size", yTitle);
        Plot.sizeAxis(chart);
        final boolean log = Double.isFinite(yMin) && yMax / yMin >= 100;
        final double failedY;
        if (log)
        {
            chart.getStyler().setYAxisLogarithmic(true);
            chart.getStyler().setyAxisTickLabelsFormattingFunction(null); // XChart's own labels are right on a log axis
            chart.getStyler().setYAxisDecimalPattern("#,##0.###");
            failedY = yMin / 3;
        }
        else
        {
            chart.getStyler().setYAxisMin(0.0);
            chart.getStyler().setYAxisMax(Double.isFinite(yMin) ? yMax * 1.1 : 1.0);
            failedY = 0;
        }
        Plot.addLines(chart, new ArrayList<>(lines.values()), failedX, failedY);
        return new Figure(id, title, caption + (log ? " The vertical axis is logarithmic." : ""), chart, failed,
            hasBaseline(lines.values()));
    }

    private Figure barFigure(final String id, final String title, final String caption,
        final List<JmhResult> cells, final Function<JmhResult, String> category,
        final Function<JmhResult, String> series, final ToDoubleFunction<JmhResult> value, final String yTitle)
    {
        final Set<String> categories = new LinkedHashSet<>();
        final Map<String, Map<String, JmhResult>> bySeries = new LinkedHashMap<>();
        for (final JmhResult r : cells)
        {
            categories.add(category.apply(r));
            bySeries.computeIfAbsent(series.apply(r), k -> new LinkedHashMap<>()).put(category.apply(r), r);
        }
        final CategoryChart chart = Plot.bars(title, "", yTitle);
        final List<String> failed = new ArrayList<>();
        final List<String> xs = new ArrayList<>(categories);
        boolean withBaseline = false;
        for (final Map.Entry<String, Map<String, JmhResult>> s : bySeries.entrySet())
        {
            final List<Double> ys = new ArrayList<>();
            final List<Double> bys = new ArrayList<>();
            boolean hasBaseline = false;
            for (final String c : xs)
            {
                final JmhResult r = s.getValue().get(c);
                if (r != null && r.failed())
                {
                    failed.add(failure(r));
                }
                final double v = r == null || r.failedCompletely() ? 0 : value.applyAsDouble(r);
                ys.add(Double.isFinite(v) ? v : 0);
                final JmhResult b = r == null ? null : baseline.get(r.key());
                final double bv = b == null || b.failedCompletely() ? 0 : value.applyAsDouble(b);
                hasBaseline |= b != null;
                bys.add(Double.isFinite(bv) ? bv : 0);
            }
            chart.addSeries(s.getKey(), xs, ys);
            if (hasBaseline)
            {
                chart.addSeries(s.getKey() + " (baseline)", xs, bys);
                withBaseline = true;
            }
        }
        Plot.colourBars(chart);
        Plot.labelIfFew(chart);
        if (xs.stream().mapToInt(String::length).sum() > 90)
        {
            chart.getStyler().setXAxisLabelRotation(20);
        }
        return new Figure(id, title, caption, chart, failed, withBaseline);
    }

    private static String failure(final JmhResult r)
    {
        final StringBuilder out = new StringBuilder(r.shortName()).append(' ').append(label(r.params(),
            r.params().keySet())).append(':');
        for (final String c : new TreeSet<>(JmhResult.ERROR_COUNTERS))
        {
            final JmhResult.Metric m = r.secondary().get(c);
            if (m != null && m.score() > 0)
            {
                out.append(' ').append(c).append('=').append(Units.number(m.score()))
                    .append(m.unit().equals("#") ? "" : " " + m.unit());
            }
        }
        return out.toString().trim();
    }

    private static boolean hasBaseline(final Collection<Plot.Line> lines)
    {
        return lines.stream().anyMatch(l -> !l.baseline.isEmpty());
    }

    private List<JmhResult> select(final Predicate<JmhResult> p)
    {
        return run.stream().filter(p).toList();
    }

    private static List<JmhResult> sortedBySize(final List<JmhResult> cells)
    {
        return cells.stream().sorted(Comparator.comparingLong(Charts::size)).toList();
    }

    /**
     * @param cells   results.
     * @param exclude parameters that are axes or series, not facets.
     * @return the parameters other than {@code exclude} with more than one value among {@code cells}.
     */
    static Set<String> varying(final List<JmhResult> cells, final Set<String> exclude)
    {
        final Map<String, Set<String>> values = new LinkedHashMap<>();
        for (final JmhResult r : cells)
        {
            r.params().forEach((k, v) ->
            {
                if (!exclude.contains(k))
                {
                    values.computeIfAbsent(k, x -> new LinkedHashSet<>()).add(v);
                }
            });
        }
        final Set<String> out = new LinkedHashSet<>();
        values.forEach((k, v) ->
        {
            if (v.size() > 1)
            {
                out.add(k);
            }
        });
        return out;
    }

    /**
     * One facet per combination of the varying parameters (except {@code notFacet}) that the results hold; a result
     * without one of those parameters (memcpy has no {@code pool}) belongs to every facet.
     */
    private static List<Map<String, String>> facets(final List<JmhResult> cells, final Set<String> notFacet)
    {
        final Set<String> params = varying(cells, notFacet);
        final Set<Map<String, String>> out = new LinkedHashSet<>();
        for (final JmhResult r : cells)
        {
            if (params.stream().allMatch(p -> r.param(p) != null))
            {
                final Map<String, String> f = new TreeMap<>();
                params.forEach(p -> f.put(p, r.param(p)));
                out.add(f);
            }
        }
        if (out.isEmpty() && !cells.isEmpty())
        {
            out.add(Map.of());
        }
        return new ArrayList<>(out);
    }

    private static List<JmhResult> members(final List<JmhResult> cells, final Map<String, String> facet)
    {
        return cells.stream().filter(r -> facet.entrySet().stream()
            .allMatch(e -> r.param(e.getKey()) == null || r.param(e.getKey()).equals(e.getValue()))).toList();
    }

    static String label(final Map<String, String> params, final Collection<String> names)
    {
        final StringBuilder out = new StringBuilder();
        for (final String n : names)
        {
            if (params.get(n) != null)
            {
                out.append(out.length() == 0 ? "" : " ").append(n).append('=').append(params.get(n));
            }
        }
        return out.toString();
    }

    private static String label(final Map<String, String> facet)
    {
        return label(facet, facet.keySet());
    }

    /**
     * @param facet   the chart's facet.
     * @param members its results.
     * @param exclude parameters that are axes or series.
     * @return " (name=value ...)" of the facet and of the parameters every member has with the same value (what a
     * reader needs to know about the chart: {@code dir=TO_DEVICE}), or nothing.
     */
    private static String suffix(final Map<String, String> facet, final List<JmhResult> members,
        final Set<String> exclude)
    {
        return suffix(facet, members, exclude, Set.of());
    }

    private static String suffix(final Map<String, String> facet, final List<JmhResult> members,
        final Set<String> exclude, final Set<String> alsoExclude)
    {
        final Map<String, String> shown = new LinkedHashMap<>(facet);
        if (!members.isEmpty())
        {
            members.get(0).params().forEach((k, v) ->
            {
                if (!exclude.contains(k) && !alsoExclude.contains(k) && !shown.containsKey(k) &&
                    members.stream().allMatch(r -> v.equals(r.param(k))))
                {
                    shown.put(k, v);
                }
            });
        }
        return shown.isEmpty() ? "" : " (" + label(shown) + ")";
    }

    /** @return {@code -value-value} of a facet, for file names; empty for no facet. */
    private static String slug(final Map<String, String> facet)
    {
        return facet.isEmpty() ? "" : "-" + slug(String.join("-", facet.values()));
    }

    /**
     * @param s any text.
     * @return lower case letters and digits, runs of anything else as one {@code -}: safe in a file name and a URL.
     */
    static String slug(final String s)
    {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-+)|(-+$)", "");
    }

    private static long size(final JmhResult r)
    {
        try
        {
            return r.param("size") == null ? -1 : Long.parseLong(r.param("size"));
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }

    private static double log2(final long v)
    {
        return Math.log(v) / Math.log(2);
    }
}
