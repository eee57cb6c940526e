package vqdma.gate;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import vqdma.results.JmhResults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gate merge}: pools several JMH runs of the same benchmarks into one file, forks appended in order. */
@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = {
        "Pools JMH JSON results of the same benchmarks into one file, the forks of each input appended in order.",
        "scripts/gate run measures one fork of every benchmark per round and pools the rounds with this."})
final class MergeCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "The pooled JSON file.")
    Path output;

    @Parameters(arity = "1..*", paramLabel = "IN", description = "JMH JSON files (-rf json).")
    List<Path> inputs;

    @Override
    public Integer call() throws IOException
    {
        final List<String> texts = new ArrayList<>();
        for (final Path input : inputs)
        {
            texts.add(Files.readString(input, StandardCharsets.UTF_8));
        }
        final String merged;
        try
        {
            merged = JmhResults.merge(texts);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("merging " + inputs + ": " + ex.getMessage(), ex);
        }
        Files.writeString(output, merged, StandardCharsets.UTF_8);
        spec.commandLine().getOut().println("merged " + inputs.size() + " runs of " +
            JmhResults.parse(merged).size() + " benchmarks into " + output);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
