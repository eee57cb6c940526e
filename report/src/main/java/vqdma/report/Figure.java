package vqdma.report;

import org.knowm.xchart.internal.chartpart.Chart;

import java.util.List;

/**
 * One chart of the report and what the page says about it.
 *
 * @param id       file stem and HTML anchor ({@code dma-size-to_device}).
 * @param title    the heading.
 * @param caption  how to read it (plain text).
 * @param chart    the XChart chart, drawn by the report into {@code charts/<id>.png}.
 * @param failed   the cells with error counters above zero, as "label: N errors" (marked in the chart too).
 * @param baseline whether the chart shows baseline values (dashed lines or lighter bars).
 */
public record Figure(String id, String title, String caption, Chart<?, ?> chart, List<String> failed,
    boolean baseline)
{
    /** Copies the list. */
    public Figure
    {
        failed = List.copyOf(failed);
    }

    /** @return the chart's file name under {@code charts/}. */
    public String fileName()
    {
        return id + ".png";
    }
}
