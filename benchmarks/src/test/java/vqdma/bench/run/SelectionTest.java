package vqdma.bench.run;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SelectionTest
{
    @Test
    void userOptionsReplaceTheStepsOwn()
    {
        final List<String> base = List.of("dma.X", "-p", "size=4096,65536", "-p", "dir=TO_DEVICE", "-f", "1", "-wi",
            "2", "-l");
        assertEquals(List.of("dma.X", "-p", "dir=TO_DEVICE", "-wi", "2", "-l", "-p", "size=512", "-f", "3", "-prof", "gc"),
            Selection.merge(base, List.of("-p", "size=512", "-f", "3", "-prof", "gc")));
        assertEquals(base, Selection.merge(base, List.of()));
    }

    @Test
    void everyCuratedStepParsesAsJmhOptions() throws Exception
    {
        for (final Selection.Step s : Selection.curated(List.of("-f", "2")))
        {
            assertEquals(2, BenchRunner.options(s, 17).getForkCount().get(), s.title());
        }
    }
}
