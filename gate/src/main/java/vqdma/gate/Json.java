package vqdma.gate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough JSON for JMH's result files: a strict recursive-descent reader into plain Java values and a writer of
 * the same values.
 * <p>
 * Values map as: object to {@link LinkedHashMap} (member order kept), array to {@link ArrayList}, number to
 * {@link Double}, string to {@link String}, {@code true}/{@code false} to {@link Boolean}, {@code null} to
 * {@code null}. JMH writes a score it could not compute as the string {@code "NaN"}; some writers emit bare
 * {@code NaN}, {@code Infinity} and {@code -Infinity}, which are read as the doubles they name. Anything else that
 * is not RFC 8259 JSON is an {@link IllegalArgumentException} naming the line and column, and so is trailing text.
 * <p>
 * Why not Jackson: the gate reads one small, well-specified format; a 150-line reader with its own tests keeps
 * {@code gate.jar} at picocli + commons-math3 and its behaviour on JMH's quirks (the {@code "NaN"} strings) explicit.
 */
public final class Json
{
    private final String text;
    private int pos;

    private Json(final String text)
    {
        this.text = text;
    }

    /**
     * @param text a whole JSON document.
     * @return its value, as described in the class comment.
     * @throws IllegalArgumentException if the text is not one JSON value, with the line and column of the problem.
     */
    public static Object parse(final String text)
    {
        final Json json = new Json(text);
        json.skipWhitespace();
        final Object value = json.readValue(0);
        json.skipWhitespace();
        if (json.pos != text.length())
        {
            throw json.error("trailing text after the JSON value");
        }
        return value;
    }

    /**
     * @param value a value made of the types {@link #parse} returns (any {@link Number} for numbers).
     * @return pretty-printed JSON, two spaces per level; non-finite doubles are written as JMH does, as strings.
     */
    public static String write(final Object value)
    {
        final StringBuilder out = new StringBuilder();
        write(value, out, 0);
        return out.append('\n').toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // reader
    // ---------------------------------------------------------------------------------------------------------------

    /** Deep enough for any JMH file, shallow enough that hostile input cannot overflow the stack. */
    private static final int MAX_DEPTH = 512;

    private Object readValue(final int depth)
    {
        if (depth > MAX_DEPTH)
        {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        if (pos >= text.length())
        {
            throw error("unexpected end of input");
        }
        final char c = text.charAt(pos);
        switch (c)
        {
            case '{':
                return readObject(depth);
            case '[':
                return readArray(depth);
            case '"':
                return readString();
            case 't':
                return readLiteral("true", Boolean.TRUE);
            case 'f':
                return readLiteral("false", Boolean.FALSE);
            case 'n':
                return readLiteral("null", null);
            case 'N':
                return readLiteral("NaN", Double.NaN);
            case 'I':
                return readLiteral("Infinity", Double.POSITIVE_INFINITY);
            default:
                if (c == '-' && text.startsWith("-Infinity", pos))
                {
                    return readLiteral("-Infinity", Double.NEGATIVE_INFINITY);
                }
                if (c == '-' || (c >= '0' && c <= '9'))
                {
                    return readNumber();
                }
                throw error("unexpected character '" + c + "'");
        }
    }

    private Map<String, Object> readObject(final int depth)
    {
        final Map<String, Object> object = new LinkedHashMap<>();
        pos++; // '{'
        skipWhitespace();
        if (peek() == '}')
        {
            pos++;
            return object;
        }
        while (true)
        {
            skipWhitespace();
            if (peek() != '"')
            {
                throw error("expected a member name in quotes");
            }
            final String name = readString();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            object.put(name, readValue(depth + 1));
            skipWhitespace();
            final char c = next("',' or '}' in an object");
            if (c == '}')
            {
                return object;
            }
            if (c != ',')
            {
                pos--;
                throw error("expected ',' or '}' in an object, found '" + c + "'");
            }
        }
    }

    private List<Object> readArray(final int depth)
    {
        final List<Object> array = new ArrayList<>();
        pos++; // '['
        skipWhitespace();
        if (peek() == ']')
        {
            pos++;
            return array;
        }
        while (true)
        {
            skipWhitespace();
            array.add(readValue(depth + 1));
            skipWhitespace();
            final char c = next("',' or ']' in an array");
            if (c == ']')
            {
                return array;
            }
            if (c != ',')
            {
                pos--;
                throw error("expected ',' or ']' in an array, found '" + c + "'");
            }
        }
    }

    private String readString()
    {
        pos++; // opening quote
        final StringBuilder sb = new StringBuilder();
        while (true)
        {
            final char c = next("the closing quote of a string");
            if (c == '"')
            {
                return sb.toString();
            }
            if (c < 0x20)
            {
                pos--;
                throw error("control character 0x" + Integer.toHexString(c) + " in a string");
            }
            if (c != '\\')
            {
                sb.append(c);
                continue;
            }
            final char e = next("an escape sequence");
            switch (e)
            {
                case '"': sb.append('"'); break;
                case '\\': sb.append('\\'); break;
                case '/': sb.append('/'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'n': sb.append('\n'); break;
                case 'r': sb.append('\r'); break;
                case 't': sb.append('\t'); break;
                case 'u':
                    if (pos + 4 > text.length())
                    {
                        throw error("truncated \\u escape");
                    }
                    int code = 0;
                    for (int i = 0; i < 4; i++)
                    {
                        final int digit = Character.digit(text.charAt(pos), 16);
                        if (digit < 0)
                        {
                            throw error("bad hex digit in a \\u escape");
                        }
                        code = code * 16 + digit;
                        pos++;
                    }
                    sb.append((char)code);
                    break;
                default:
                    pos--;
                    throw error("unknown escape '\\" + e + "'");
            }
        }
    }

    private Double readNumber()
    {
        final int start = pos;
        if (peek() == '-')
        {
            pos++;
        }
        if (peek() == '0')
        {
            pos++;
        }
        else if (!digits())
        {
            throw error("expected digits in a number");
        }
        if (peek() == '.')
        {
            pos++;
            if (!digits())
            {
                throw error("expected digits after the decimal point");
            }
        }
        if (peek() == 'e' || peek() == 'E')
        {
            pos++;
            if (peek() == '+' || peek() == '-')
            {
                pos++;
            }
            if (!digits())
            {
                throw error("expected digits in the exponent");
            }
        }
        return Double.valueOf(text.substring(start, pos));
    }

    private boolean digits()
    {
        final int start = pos;
        while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9')
        {
            pos++;
        }
        return pos > start;
    }

    private Object readLiteral(final String literal, final Object value)
    {
        if (!text.startsWith(literal, pos))
        {
            throw error("unexpected word (expected " + literal + ")");
        }
        pos += literal.length();
        return value;
    }

    private void skipWhitespace()
    {
        while (pos < text.length())
        {
            final char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            {
                return;
            }
            pos++;
        }
    }

    /** @return the current character, or 0 at the end (never a valid character where it is tested). */
    private char peek()
    {
        return pos < text.length() ? text.charAt(pos) : 0;
    }

    private char next(final String expected)
    {
        if (pos >= text.length())
        {
            throw error("unexpected end of input, expected " + expected);
        }
        return text.charAt(pos++);
    }

    private void expect(final char c)
    {
        if (peek() != c)
        {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private IllegalArgumentException error(final String what)
    {
        int line = 1;
        int column = 1;
        for (int i = 0; i < Math.min(pos, text.length()); i++)
        {
            if (text.charAt(i) == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }
        return new IllegalArgumentException("JSON: " + what + " at line " + line + ", column " + column);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // writer
    // ---------------------------------------------------------------------------------------------------------------

    private static void write(final Object value, final StringBuilder out, final int indent)
    {
        if (value == null)
        {
            out.append("null");
        }
        else if (value instanceof String)
        {
            writeString((String)value, out);
        }
        else if (value instanceof Boolean)
        {
            out.append(value);
        }
        else if (value instanceof Number)
        {
            final double d = ((Number)value).doubleValue();
            if (!Double.isFinite(d))
            {
                writeString(Double.toString(d), out);
            }
            else if (d == Math.rint(d) && Math.abs(d) < 1e15)
            {
                out.append((long)d);
            }
            else
            {
                out.append(d);
            }
        }
        else if (value instanceof Map)
        {
            final Map<?, ?> map = (Map<?, ?>)value;
            if (map.isEmpty())
            {
                out.append("{}");
                return;
            }
            out.append("{\n");
            int i = 0;
            for (final Map.Entry<?, ?> e : map.entrySet())
            {
                pad(out, indent + 1);
                writeString(String.valueOf(e.getKey()), out);
                out.append(" : ");
                write(e.getValue(), out, indent + 1);
                out.append(++i < map.size() ? ",\n" : "\n");
            }
            pad(out, indent);
            out.append('}');
        }
        else if (value instanceof List)
        {
            final List<?> list = (List<?>)value;
            if (list.isEmpty())
            {
                out.append("[]");
                return;
            }
            final boolean flat = list.stream().allMatch(v -> v instanceof Number);
            out.append(flat ? "[" : "[\n");
            for (int i = 0; i < list.size(); i++)
            {
                if (!flat)
                {
                    pad(out, indent + 1);
                }
                write(list.get(i), out, indent + 1);
                if (i + 1 < list.size())
                {
                    out.append(flat ? ", " : ",\n");
                }
            }
            if (!flat)
            {
                out.append('\n');
                pad(out, indent);
            }
            out.append(']');
        }
        else
        {
            throw new IllegalArgumentException("cannot write a " + value.getClass().getName() + " as JSON");
        }
    }

    private static void writeString(final String s, final StringBuilder out)
    {
        out.append('"');
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
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
        out.append('"');
    }

    private static void pad(final StringBuilder out, final int indent)
    {
        for (int i = 0; i < indent; i++)
        {
            out.append("  ");
        }
    }
}
