package vqdma.bench.run;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a result is worth without the machine it came from: nothing. The facts every results folder records next to
 * its JMH JSON, as {@code machine.json} (for tools: one flat object of strings and numbers, plus the list of steps)
 * and {@code machine.txt} (for people). The JMH JSON itself stays JMH's format so that any JMH tool reads it; JMH
 * already records per benchmark the JDK, the JVM and its flags.
 * <p>
 * Everything is read from the OS ({@code /proc}, {@code /sys}) and the JVM; what cannot be read is recorded as
 * {@code unknown} rather than failing the run.
 */
public final class MachineFacts
{
    private final Map<String, Object> facts = new LinkedHashMap<>();
    private final List<String> steps = new ArrayList<>();

    /**
     * Reads the facts of this machine and JVM now.
     *
     * @param home        the repository (for the git revision).
     * @param forkFlags   the JVM flags every fork gets from the runner.
     * @param mode        {@code default}, {@code full} or {@code regex}.
     * @param commandLine the runner's arguments.
     * @return the facts.
     */
    public static MachineFacts collect(final Path home, final String forkFlags, final String mode,
        final List<String> commandLine)
    {
        final MachineFacts m = new MachineFacts();
        final Map<String, Object> f = m.facts;
        f.put("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
        f.put("host", hostname());
        f.put("cpu", cpuinfo("model name"));
        f.put("cores", Runtime.getRuntime().availableProcessors());
        f.put("hypervisor", cpuinfo("flags").contains("hypervisor") ? "yes" : "no (or unknown)");
        f.put("governor", firstLine(Path.of("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")));
        f.put("memory", meminfo());
        f.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " +
            System.getProperty("os.arch"));
        f.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " (" +
            System.getProperty("java.vendor") + ")");
        f.put("javaHome", System.getProperty("java.home"));
        f.put("javaFeature", Runtime.version().feature());
        f.put("hostJvmFlags", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        f.put("forkJvmFlags", forkFlags);
        f.put("gitRevision", git(home, "rev-parse", "HEAD"));
        final String status = git(home, "status", "--porcelain", "--untracked-files=no");
        f.put("gitDirty", status.equals("unknown") ? "unknown" : status.isEmpty() ? "no" : "yes");
        f.put("loadStart", firstLine(Path.of("/proc/loadavg")));
        f.put("mode", mode);
        f.put("commandLine", String.join(" ", commandLine));
        return m;
    }

    /**
     * @param key   a fact's name.
     * @param value its value (a String or a Number).
     * @return this.
     */
    public MachineFacts put(final String key, final Object value)
    {
        facts.put(key, value);
        return this;
    }

    /**
     * @param step a JMH command line this run executed.
     * @return this.
     */
    public MachineFacts step(final String step)
    {
        steps.add(step);
        return this;
    }

    /** Records the end of the run: date, load average. */
    void finish()
    {
        facts.put("end", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
        facts.put("loadEnd", firstLine(Path.of("/proc/loadavg")));
    }

    /**
     * Writes {@code machine.json} and {@code machine.txt}.
     *
     * @param dir the results folder.
     * @throws IOException if they cannot be written.
     */
    public void write(final Path dir) throws IOException
    {
        final StringBuilder json = new StringBuilder("{\n");
        final StringBuilder txt = new StringBuilder();
        for (final Map.Entry<String, Object> e : facts.entrySet())
        {
            final Object v = e.getValue();
            json.append("  ").append(quote(e.getKey())).append(": ")
                .append(v instanceof Number ? v.toString() : quote(String.valueOf(v))).append(",\n");
            txt.append(e.getKey()).append(": ").append(v).append('\n');
        }
        json.append("  \"steps\": [");
        for (int i = 0; i < steps.size(); i++)
        {
            json.append(i == 0 ? "\n    " : ",\n    ").append(quote(steps.get(i)));
            txt.append("step: ").append(steps.get(i)).append('\n');
        }
        json.append(steps.isEmpty() ? "]\n}\n" : "\n  ]\n}\n");
        Files.writeString(dir.resolve("machine.json"), json, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("machine.txt"), txt, StandardCharsets.UTF_8);
    }

    /** @return the facts, in the order they were recorded. */
    public Map<String, Object> facts()
    {
        return facts;
    }

    static String quote(final String s)
    {
        final StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default ->
                {
                    if (c < 0x20)
                    {
                        out.append(String.format("\\u%04x", (int)c));
                    }
                    else
                    {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    static String hostname()
    {
        final String env = System.getenv("HOSTNAME");
        if (env != null && !env.isEmpty())
        {
            return env;
        }
        try
        {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (final IOException ex)
        {
            return "unknown";
        }
    }

    private static String cpuinfo(final String key)
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
            {
                final int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(key))
                {
                    return line.substring(colon + 1).trim();
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            // not Linux, or not readable: fall through
        }
        return "unknown";
    }

    private static String meminfo()
    {
        final String total = firstLine(Path.of("/proc/meminfo"));
        final String[] parts = total.trim().split("\\s+");
        if (parts.length >= 2 && parts[0].equals("MemTotal:"))
        {
            try
            {
                return Math.round(Long.parseLong(parts[1]) / 1024.0 / 1024.0) + " GiB";
            }
            catch (final NumberFormatException ex)
            {
                return total;
            }
        }
        return "unknown";
    }

    private static String firstLine(final Path file)
    {
        try
        {
            final List<String> lines = Files.readAllLines(file);
            return lines.isEmpty() ? "unknown" : lines.get(0).trim();
        }
        catch (final IOException | RuntimeException ex)
        {
            return "unknown";
        }
    }

    private static String git(final Path home, final String... args)
    {
        final List<String> command = new ArrayList<>(List.of("git", "-C", home.toString()));
        command.addAll(List.of(args));
        try
        {
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS))
            {
                p.destroyForcibly();
                return "unknown";
            }
            return p.exitValue() == 0 ? out : "unknown";
        }
        catch (final IOException ex)
        {
            return "unknown";
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
