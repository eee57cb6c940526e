package vqdma.bench;

import org.junit.jupiter.api.Test;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class MainTest
{
    static final String DMA = "^vqdma\\.bench\\.dma\\.";
    static final String IOMMU = "^vqdma\\.bench\\.iommu\\.";

    @Test
    void groupRegexesAreAnchoredAtTheirPackage()
    {
        assertEquals(DMA + ".*", Main.anchor("dma.*"));
        assertEquals(DMA, Main.anchor("dma"));
        assertEquals(DMA + "DmaMapBenchmark.mapUnmap", Main.anchor("dma.DmaMapBenchmark.mapUnmap"));
        assertEquals(DMA + "DmaMap", Main.anchor("dma\\.DmaMap"));
        assertEquals(DMA + ".+Map", Main.anchor("dma.+Map"));
        assertEquals(DMA + ".*|" + IOMMU + ".*", Main.anchor("dma.*|iommu.*"));
        assertEquals("^vqdma\\.bench\\.ring\\..*", Main.anchor("ring.*"));
        assertEquals("^vqdma\\.bench\\.blk\\..*", Main.anchor("blk.*"));
        assertEquals("^vqdma\\.bench\\.peer\\..*", Main.anchor("peer.*"));
    }

    @Test
    void otherRegexesAreLeftAlone()
    {
        for (final String regex : List.of("DmaMapBenchmark", ".*dma.*", "vqdma.bench.dma.DmaMapBenchmark", "dmaX",
            "Dma.*", "(dma|iommu).*", "[d]ma.*", "RingCycleBenchmark.cycle"))
        {
            assertEquals(regex, Main.anchor(regex), regex);
        }
        assertEquals("x|" + DMA + ".*|(dma|y)", Main.anchor("x|dma.*|(dma|y)"));
        assertEquals("[a|b]" , Main.anchor("[a|b]"));
    }

    @Test
    void onlyPositionalArgumentsAndExcludesAreRewritten()
    {
        final String[] args = {"-p", "dma=direct", "dma.*", "-prof", "gc", "-l", "iommu.*", "-e", "dma.Swiotlb.*,ring.*",
            "-lp", "-f", "1", "-rf", "json", "-rff", "dma.json", "-jvmArgsAppend", "-Dx=1", "ring.Ring", "-i=3",
            "blk.*", "-wi", "2", "--", "-e", "peer.*"};
        final String[] expected = {"-p", "dma=direct", DMA + ".*", "-prof", "gc", "-l", IOMMU + ".*", "-e",
            DMA + "Swiotlb.*,^vqdma\\.bench\\.ring\\..*", "-lp", "-f", "1", "-rf", "json", "-rff", "dma.json",
            "-jvmArgsAppend", "-Dx=1", "^vqdma\\.bench\\.ring\\.Ring", "-i=3", "^vqdma\\.bench\\.blk\\..*", "-wi",
            "2", "--", "-e", "^vqdma\\.bench\\.peer\\..*"};
        assertArrayEquals(expected, Main.rewriteGroups(args));
    }

    @Test
    void jmhParsesTheRewrittenCommandLine() throws Exception
    {
        final CommandLineOptions options = new CommandLineOptions(Main.withForkFlags(Main.rewriteGroups(
            new String[] {"dma.*", "-e", "dma.Swiotlb.*", "-p", "size=4096", "-prof", "gc"}), 25));
        assertEquals(List.of(DMA + ".*"), options.getIncludes());
        assertEquals(List.of(DMA + "Swiotlb.*"), options.getExcludes());
        assertEquals(List.of("4096"), List.copyOf(options.getParameter("size").get()));
        assertTrue(options.getJvmArgsPrepend().get().contains(Main.UNSAFE_ALLOW), options.getJvmArgsPrepend().toString());
    }

    /** What the groups select in the real benchmark list: each exactly its package, dma no longer everything. */
    @Test
    void groupsSelectTheirPackageInTheBenchmarkList()
    {
        final BenchmarkList list = BenchmarkList.defaultList();
        final OutputFormat quiet = OutputFormatFactory.createFormatInstance(
            new PrintStream(OutputStream.nullOutputStream()), VerboseMode.SILENT);
        final Set<String> all = names(list.find(quiet, List.of(".*"), List.of()));
        for (final String group : List.of("ring", "dma", "iommu"))
        {
            final Set<String> selected = names(list.find(quiet, List.of(Main.anchor(group + ".*")), List.of()));
            assertFalse(selected.isEmpty(), group);
            for (final String name : all)
            {
                assertEquals(name.startsWith("vqdma.bench." + group + "."), selected.contains(name),
                    group + ".* and " + name);
            }
        }
        assertTrue(names(list.find(quiet, List.of(Main.anchor("iommu.*")), List.of()))
            .contains("vqdma.bench.iommu.IommuBenchmark.iommuMapUnmap"));
        assertTrue(Pattern.compile("dma.*").matcher("vqdma.bench.ring.RingCycleBenchmark.cycle").find(),
            "the reason for the rewriting");
    }

    private static Set<String> names(final Set<BenchmarkListEntry> entries)
    {
        final Set<String> out = new TreeSet<>();
        for (final BenchmarkListEntry e : entries)
        {
            out.add(e.getUsername());
        }
        return out;
    }
}
