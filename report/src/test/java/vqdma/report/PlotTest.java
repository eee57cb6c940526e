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
        assertEquals("3.37M", Plot.tick(3_372_671.0));
        assertEquals("63,250", Plot.tick(63_250.0));
        assertEquals("100k", Plot.tick(100_000.0));
        assertEquals("1.14M", Plot.tick(1_141_649.0));
        assertEquals("12.4G", Plot.tick(12.36e9));
        assertEquals("65.8M", Plot.tick(65_800_000.0));
        assertEquals("1.2G", Plot.tick(1.2e9));
        assertEquals("-250k", Plot.tick(-250_000.0));
        assertEquals("2.5", Plot.tick(2.5));
        assertEquals("1e-04", Plot.tick(1e-4));
    }
}
