package vqdma.report;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chart titles that fit the image. */
class PlotTest
{
    @Test
    void shortTitlesStayWhole()
    {
        assertEquals("SWIOTLB vs memcpy", Plot.fit("SWIOTLB vs memcpy"));
    }

    @Test
    void longTitlesKeepTheFacetParameter()
    {
        final String whole = "virtio-blk: clamp off (2019) vs on (the fix) (dma=swiotlb-force affinity=none " +
            "device=inline pool=67108864 type=OUT wait=poll)";
        assertEquals("virtio-blk: clamp off (2019) vs on (the fix) (dma=swiotlb-force ...)", Plot.fit(whole));
    }

    @Test
    void longTitlesWithoutParametersAreCut()
    {
        final String whole = "x".repeat(200);
        final String fitted = Plot.fit(whole);
        assertEquals(Plot.MAX_TITLE_CHARS, fitted.length());
        assertTrue(fitted.endsWith("..."), fitted);
    }

    @Test
    void ticksAndLabelsAreReadable()
    {
        assertEquals("0", Plot.tick(0.0));
        assertEquals("3,372,671", Plot.tick(3_372_671.0));
        assertEquals("65.8M", Plot.tick(65_800_000.0));
        assertEquals("1.2G", Plot.tick(1.2e9));
        assertEquals("2.5", Plot.tick(2.5));
        assertEquals("1e-04", Plot.tick(1e-4));
    }
}
