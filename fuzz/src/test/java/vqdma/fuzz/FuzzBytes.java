package vqdma.fuzz;

/**
 * A libFuzzer input decoded as Jazzer's {@code FuzzedDataProvider} decodes it, value for value, in plain Java.
 * <p>
 * Jazzer's provider is native: every value is a JNI call that reads the input and writes the number of bytes left
 * back into a Java field, about a tenth of the time of the faster targets. Its rules, from LLVM's
 * {@code FuzzedDataProvider.h} as Jazzer 0.24 adapts them, are few, and this class follows them exactly, so that an
 * input means the same calls here as in every earlier run (the committed regression inputs were found through
 * Jazzer's provider). {@code FuzzBytesTest} compares the two on random inputs and calls:
 * <ul>
 *   <li>Integers are taken from the <em>end</em> of the input, one byte at a time, most significant first: for a
 *   range {@code max - min} (as an unsigned 64-bit number), bytes are read while fewer than the type's width have
 *   been read, the range still has bits above those read, and bytes remain. An exhausted input yields 0s.</li>
 *   <li>The value is {@code min + raw % (range + 1)}, cut to the type; without the remainder when the range equals
 *   the <em>signed</em> type's largest value (a quirk kept: {@code consumeInt(0, Integer.MAX_VALUE)} reads four
 *   bytes and can return a negative number, as Jazzer's does).</li>
 *   <li>{@code consumeInt()}, {@code consumeLong()}, {@code consumeByte()}: the raw bytes of the unsigned type of that
 *   width, as the signed type. {@code consumeBoolean()}: the lowest bit of one byte.</li>
 *   <li>{@code min > max}: an {@link IllegalArgumentException} with Jazzer's message.</li>
 * </ul>
 * One case differs: {@code consumeLong(Long.MIN_VALUE, Long.MAX_VALUE)}, where Jazzer's native code divides by zero
 * ({@code range + 1} overflows); here it returns the 8 raw bytes as a long. No target asks for it.
 */
final class FuzzBytes implements FuzzData
{
    private final byte[] input;
    /** Bytes not consumed yet: {@code input[0, remaining)}. Integers come from its end. */
    private int remaining;

    /** @param input the input (not copied; not modified). */
    FuzzBytes(final byte[] input)
    {
        this.input = input;
        this.remaining = input.length;
    }

    /** @return bytes not consumed yet. */
    int remainingBytes()
    {
        return remaining;
    }

    /**
     * @param range the range, unsigned.
     * @param bits  the width of the type.
     * @return the raw bytes read from the end for that range, most significant first.
     */
    private long raw(final long range, final int bits)
    {
        long result = 0;
        for (int offset = 0; offset < bits && (range >>> offset) != 0 && remaining != 0; offset += Byte.SIZE)
        {
            result = (result << Byte.SIZE) | (input[--remaining] & 0xFF);
        }
        return result;
    }

    @Override
    public boolean consumeBoolean()
    {
        return (raw(0xFF, Byte.SIZE) & 1) != 0;
    }

    @Override
    public byte consumeByte()
    {
        return (byte)raw(0xFF, Byte.SIZE);
    }

    @Override
    public int consumeInt()
    {
        return (int)raw(0xFFFF_FFFFL, Integer.SIZE);
    }

    @Override
    public int consumeInt(final int min, final int max)
    {
        FuzzData.requireOrdered(min, max);
        final long range = (long)max - min;
        long result = raw(range, Integer.SIZE);
        if (range != Integer.MAX_VALUE)
        {
            result %= range + 1; // both non-negative: raw < 2^32, range + 1 <= 2^32
        }
        return (int)(min + result);
    }

    @Override
    public long consumeLong()
    {
        return raw(-1L, Long.SIZE);
    }

    @Override
    public long consumeLong(final long min, final long max)
    {
        FuzzData.requireOrdered(min, max);
        final long range = max - min;
        long result = raw(range, Long.SIZE);
        if (range != Long.MAX_VALUE && range != -1L)
        {
            result = Long.remainderUnsigned(result, range + 1);
        }
        return min + result;
    }

    @Override
    public String toString()
    {
        return "FuzzBytes[" + input.length + " bytes, " + remaining + " left]";
    }
}
