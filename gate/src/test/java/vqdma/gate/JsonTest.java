package vqdma.gate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.*;

class JsonTest
{
    @Test
    void readsEveryKindOfValue()
    {
        final Object v = Json.parse(" {\"a\": [1, -2.5, 3e2, 0.5E-1, true, false, null, \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]," +
            " \"b\" : {}, \"c\": []}\n");
        final Map<?, ?> map = (Map<?, ?>)v;
        assertEquals(List.of("a", "b", "c"), new ArrayList<>(map.keySet()), "member order is kept");
        final List<?> a = (List<?>)map.get("a");
        assertEquals(1.0, a.get(0));
        assertEquals(-2.5, a.get(1));
        assertEquals(300.0, a.get(2));
        assertEquals(0.05, a.get(3));
        assertEquals(Boolean.TRUE, a.get(4));
        assertEquals(Boolean.FALSE, a.get(5));
        assertNull(a.get(6));
        assertEquals("x\"\\/\b\f\n\r\t\u00e9", a.get(7));
        assertEquals(Map.of(), map.get("b"));
        assertEquals(List.of(), map.get("c"));
    }

    @Test
    void readsTheNonFiniteWordsSomeWritersEmit()
    {
        final List<?> a = (List<?>)Json.parse("[NaN, Infinity, -Infinity, \"NaN\"]");
        assertTrue(Double.isNaN((Double)a.get(0)));
        assertEquals(Double.POSITIVE_INFINITY, a.get(1));
        assertEquals(Double.NEGATIVE_INFINITY, a.get(2));
        assertEquals("NaN", a.get(3), "JMH's quoted NaN stays a string; JmhResults reads it as a number");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{a:1}", "\"abc", "\"\\x\"", "\"\\u12\"", "[01]", "1.", "-",
        "1e", "[1] 2", "tru", "nul", "{\"a\":1", "[\"tab\there\"]", "[+1]", ".5"})
    void rejectsWhatIsNotJson(final String text)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Json.parse(text),
            "'" + text + "' must not parse");
        assertTrue(ex.getMessage().matches("JSON: .* at line \\d+, column \\d+"), ex.getMessage());
    }

    @Test
    void errorsNameLineAndColumn()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> Json.parse("[\n  1,\n  2 3\n]"));
        assertTrue(ex.getMessage().endsWith("at line 3, column 5"), ex.getMessage());
    }

    @Test
    void deepNestingIsAnErrorNotAStackOverflow()
    {
        final String deep = "[".repeat(100_000);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Json.parse(deep));
        assertTrue(ex.getMessage().contains("nesting deeper than"), ex.getMessage());
    }

    static LongStream seeds()
    {
        return LongStream.range(0, 200);
    }

    /** Whatever the writer writes, the reader reads back equal: random documents from a seed. */
    @ParameterizedTest
    @MethodSource("seeds")
    void writeThenReadGivesTheSameValue(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final Object value = randomValue(random, 0);
        final String text = Json.write(value);
        assertEquals(value, Json.parse(text), "seed " + seed + ": " + text);
    }

    private static Object randomValue(final SplittableRandom random, final int depth)
    {
        final int kind = random.nextInt(depth > 4 ? 5 : 7);
        switch (kind)
        {
            case 0:
                return null;
            case 1:
                return random.nextBoolean();
            case 2:
            {
                final double d = random.nextBoolean() ? random.nextInt(-1_000_000, 1_000_000)
                    : (random.nextDouble() - 0.5) * Math.pow(10, random.nextInt(-20, 20));
                return d;
            }
            case 3:
            case 4:
            {
                final StringBuilder sb = new StringBuilder();
                final int n = random.nextInt(12);
                for (int i = 0; i < n; i++)
                {
                    sb.append((char)(random.nextBoolean() ? random.nextInt(0, 0x80) : random.nextInt(0x80, 0xD800)));
                }
                return sb.toString();
            }
            case 5:
            {
                final List<Object> list = new ArrayList<>();
                final int n = random.nextInt(5);
                for (int i = 0; i < n; i++)
                {
                    list.add(randomValue(random, depth + 1));
                }
                return list;
            }
            default:
            {
                final Map<String, Object> map = new LinkedHashMap<>();
                final int n = random.nextInt(5);
                for (int i = 0; i < n; i++)
                {
                    map.put("k" + random.nextInt(100), randomValue(random, depth + 1));
                }
                return map;
            }
        }
    }
}
