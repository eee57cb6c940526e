package vqdma.bench.run;

import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.Defaults;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import vqdma.bench.Main;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What a JMH run will execute, and how long it will take: the benchmark list ({@code META-INF/BenchmarkList}, what
 * {@code -lp} prints) filtered and expanded exactly as JMH's {@code Runner} does (includes, excludes, {@code -bm},
 * {@code Mode.All}, the cartesian product of {@code @Param} values with {@code -p} overrides), each run with the
 * iteration settings that apply to it (command line, else the class's {@code @Warmup}/{@code @Measurement}/
 * {@code @Fork}, else JMH's defaults).
 * <p>
 * The estimate is arithmetic, not a measurement: per fork, {@link Cell#FORK_SECONDS} plus every iteration's time plus
 * {@link Cell#ITERATION_SECONDS}. The host JVM's own start is {@link #LAUNCH_SECONDS}, once per JMH invocation.
 * Benchmarks whose iterations end later than their time (an invocation longer than the iteration) take longer; none
 * of vqdma's does.
 */
public final class Plan
{
    /** The host JVM of one JMH invocation: start, reading the benchmark list, writing results. */
    public static final double LAUNCH_SECONDS = 1.0;

    private final List<Cell> cells;

    private Plan(final List<Cell> cells)
    {
        this.cells = List.copyOf(cells);
    }

    /**
     * @param cells the runs.
     * @return a plan of exactly these runs.
     */
    public static Plan of(final List<Cell> cells)
    {
        return new Plan(cells);
    }

    /**
     * @param list    the benchmark list (normally {@link BenchmarkList#defaultList()}).
     * @param options a JMH command line (includes already rewritten by {@link Main#rewriteGroups}).
     * @return the runs JMH would make, in its order.
     */
    public static Plan of(final BenchmarkList list, final Options options)
    {
        final OutputFormat quiet = OutputFormatFactory.createFormatInstance(
            new PrintStream(OutputStream.nullOutputStream()), VerboseMode.SILENT);
        final List<Cell> cells = new ArrayList<>();
        for (final BenchmarkListEntry entry : list.find(quiet, options.getIncludes(), options.getExcludes()))
        {
            for (final Mode mode : modes(entry, options))
            {
                for (final Map<String, String> params : explode(entry, options))
                {
                    cells.add(cell(entry, mode, params, options));
                }
            }
        }
        return new Plan(cells);
    }

    private static List<Mode> modes(final BenchmarkListEntry entry, final Options options)
    {
        final Collection<Mode> requested = options.getBenchModes().isEmpty() ?
            List.of(entry.getMode()) : options.getBenchModes();
        final List<Mode> out = new ArrayList<>();
        for (final Mode m : requested)
        {
            if (m == Mode.All)
            {
                for (final Mode each : Mode.values())
                {
                    if (each != Mode.All)
                    {
                        out.add(each);
                    }
                }
            }
            else
            {
                out.add(m);
            }
        }
        return out;
    }

    /** The cartesian product of the parameter values, the command line's replacing the annotation's. */
    private static List<Map<String, String>> explode(final BenchmarkListEntry entry, final Options options)
    {
        List<Map<String, String>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        final Map<String, String[]> declared = entry.getParams().orElse(Collections.emptyMap());
        for (final Map.Entry<String, String[]> p : declared.entrySet())
        {
            final Collection<String> values = options.getParameter(p.getKey()).orElse(List.of(p.getValue()));
            final List<Map<String, String>> next = new ArrayList<>();
            for (final Map<String, String> partial : out)
            {
                for (final String v : values)
                {
                    final Map<String, String> m = new LinkedHashMap<>(partial);
                    m.put(p.getKey(), v);
                    next.add(m);
                }
            }
            out = next;
        }
        return out;
    }

    private static Cell cell(final BenchmarkListEntry e, final Mode mode, final Map<String, String> params,
        final Options o)
    {
        final boolean singleShot = mode == Mode.SingleShotTime;
        final int forks = o.getForkCount().orElse(e.getForks().orElse(Defaults.MEASUREMENT_FORKS));
        final int warmupForks = o.getWarmupForkCount().orElse(e.getWarmupForks().orElse(Defaults.WARMUP_FORKS));
        final int wi = o.getWarmupIterations().orElse(e.getWarmupIterations().orElse(
            singleShot ? Defaults.WARMUP_ITERATIONS_SINGLESHOT : Defaults.WARMUP_ITERATIONS));
        final int mi = o.getMeasurementIterations().orElse(e.getMeasurementIterations().orElse(
            singleShot ? Defaults.MEASUREMENT_ITERATIONS_SINGLESHOT : Defaults.MEASUREMENT_ITERATIONS));
        final TimeValue wt = o.getWarmupTime().orElse(e.getWarmupTime().orElse(Defaults.WARMUP_TIME));
        final TimeValue mt = o.getMeasurementTime().orElse(e.getMeasurementTime().orElse(Defaults.MEASUREMENT_TIME));
        return new Cell(e.getUsername(), mode, params, forks, warmupForks, wi, singleShot ? 0 : seconds(wt), mi,
            singleShot ? 0 : seconds(mt));
    }

    private static double seconds(final TimeValue t)
    {
        return t.convertTo(TimeUnit.MICROSECONDS) / 1e6;
    }

    /** @return the runs, in JMH's order. */
    public List<Cell> cells()
    {
        return cells;
    }

    /** @return the estimated wall time of the runs, without {@link #LAUNCH_SECONDS}. */
    public double seconds()
    {
        double s = 0;
        for (final Cell c : cells)
        {
            s += c.estimateSeconds();
        }
        return s;
    }

    /** @return estimated seconds per benchmark group, in {@link Main#GROUPS} order, then any other. */
    public Map<String, Double> secondsByGroup()
    {
        final Map<String, Double> out = new LinkedHashMap<>();
        for (final String g : Main.GROUPS)
        {
            out.put(g, 0.0);
        }
        for (final Cell c : cells)
        {
            out.merge(c.group(), c.estimateSeconds(), Double::sum);
        }
        return out;
    }

    /**
     * @return a table per benchmark class: runs, iteration settings, estimated time; then per group and the total.
     */
    public String table()
    {
        final Map<String, List<Cell>> byClass = new TreeMap<>();
        for (final Cell c : cells)
        {
            byClass.computeIfAbsent(c.benchmark().substring(0, c.benchmark().lastIndexOf('.')), k -> new ArrayList<>())
                .add(c);
        }
        final StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%-52s %5s %-26s %9s%n", "benchmark class", "runs",
            "forks x (warmup + measure)", "estimate"));
        for (final Map.Entry<String, List<Cell>> e : byClass.entrySet())
        {
            final List<Cell> runs = e.getValue();
            double s = 0;
            for (final Cell c : runs)
            {
                s += c.estimateSeconds();
            }
            final Cell first = runs.get(0);
            out.append(String.format(Locale.ROOT, "%-52s %5d %-26s %9s%n", e.getKey(), runs.size(),
                String.format(Locale.ROOT, "%d x (%d x %s + %d x %s)", first.forks() + first.warmupForks(),
                    first.warmupIterations(), time(first.warmupSeconds()), first.iterations(),
                    time(first.iterationSeconds())), clock(s)));
        }
        out.append('\n');
        for (final Map.Entry<String, Double> g : secondsByGroup().entrySet())
        {
            out.append(String.format(Locale.ROOT, "  %-8s %9s%n", g.getKey(), clock(g.getValue())));
        }
        out.append(String.format(Locale.ROOT, "  %-8s %9s  (%d runs; %.1f s per fork of JVM start and setup)%n",
            "total", clock(seconds() + LAUNCH_SECONDS), cells.size(), Cell.FORK_SECONDS));
        return out.toString();
    }

    private static String time(final double seconds)
    {
        return seconds >= 1 && seconds == Math.rint(seconds) ? (long)seconds + "s" : Math.round(seconds * 1000) + "ms";
    }

    /**
     * @param seconds a duration.
     * @return it as {@code m:ss}, or {@code h:mm:ss} from an hour.
     */
    public static String clock(final double seconds)
    {
        final long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) :
            String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
