package vqdma.gate;

import com.google.gson.GsonBuilder;
import vqdma.results.JmhResult;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Builds JMH result files for tests: benchmarks with chosen levels and noise, fork by fork. */
final class Synthetic
{
    private final List<Object> entries = new ArrayList<>();

    /**
     * Adds a benchmark whose samples are {@code level} times (1 + fork noise) times (1 + iteration noise), each noise
     * uniform in +-spread.
     */
    Synthetic add(
        final String benchmark,
        final String mode,
        final String unit,
        final Map<String, String> params,
        final double level,
        final double forkSpread,
        final double iterationSpread,
        final int forks,
        final int iterations,
        final SplittableRandom random)
    {
        final double[][] raw = new double[forks][iterations];
        for (int f = 0; f < forks; f++)
        {
            final double forkLevel = level * (1 + (random.nextDouble() * 2 - 1) * forkSpread);
            for (int i = 0; i < iterations; i++)
            {
                raw[f][i] = forkLevel * (1 + (random.nextDouble() * 2 - 1) * iterationSpread);
            }
        }
        return addRaw(benchmark, mode, unit, params, raw);
    }

    Synthetic addRaw(
        final String benchmark,
        final String mode,
        final String unit,
        final Map<String, String> params,
        final double[][] raw)
    {
        final Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("jmhVersion", "1.37");
        entry.put("benchmark", benchmark);
        entry.put("mode", mode);
        entry.put("threads", 1);
        entry.put("forks", raw.length);
        if (!params.isEmpty())
        {
            entry.put("params", new LinkedHashMap<String, Object>(params));
        }
        final List<Object> rows = new ArrayList<>();
        for (final double[] fork : raw)
        {
            final List<Object> row = new ArrayList<>();
            for (final double v : fork)
            {
                row.add(v);
            }
            rows.add(row);
        }
        final Map<String, Object> primary = new LinkedHashMap<>();
        primary.put("score", 1.0);
        primary.put("scoreError", "NaN");
        primary.put("scoreUnit", unit);
        primary.put("rawData", rows);
        entry.put("primaryMetric", primary);
        entry.put("secondaryMetrics", new LinkedHashMap<String, Object>());
        entries.add(entry);
        return this;
    }

    String json()
    {
        return new GsonBuilder().setPrettyPrinting().create().toJson(entries);
    }

    Map<String, JmhResult> results()
    {
        return GateInput.parse(json(), null);
    }

    /** @return the results with every sample of benchmarks whose key contains {@code match} multiplied by factor. */
    static Map<String, JmhResult> scaled(final Map<String, JmhResult> results, final String match, final double factor)
    {
        final Map<String, JmhResult> out = new LinkedHashMap<>();
        results.forEach((id, r) ->
        {
            if (!r.displayKey().contains(match))
            {
                out.put(id, r);
                return;
            }
            final double[][] s = r.primary().samples();
            for (final double[] fork : s)
            {
                for (int i = 0; i < fork.length; i++)
                {
                    fork[i] *= factor;
                }
            }
            out.put(id, r.withPrimary(JmhResult.Metric.ofSamples(r.primary().unit(), s)));
        });
        return out;
    }
}
