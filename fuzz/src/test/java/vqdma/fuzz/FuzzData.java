package vqdma.fuzz;

/**
 * The values a fuzz target draws from its input: the calls the targets make of Jazzer's {@code FuzzedDataProvider},
 * nothing more. {@link FuzzBytes} decodes a libFuzzer input exactly as Jazzer's provider does (so committed inputs
 * keep their meaning), without its JNI call per value; {@link RandomData} draws from a seeded generator for the plain
 * JUnit tests that run targets on many inputs.
 */
interface FuzzData
{
    /** @return a boolean (one byte; its lowest bit). */
    boolean consumeBoolean();

    /** @return any byte. */
    byte consumeByte();

    /** @return any int. */
    int consumeInt();

    /**
     * @param min the smallest value.
     * @param max the largest value, {@code >= min}.
     * @return a value in {@code [min, max]}.
     */
    int consumeInt(int min, int max);

    /** @return any long. */
    long consumeLong();

    /**
     * @param min the smallest value.
     * @param max the largest value, {@code >= min}.
     * @return a value in {@code [min, max]}.
     */
    long consumeLong(long min, long max);

    /**
     * The bounds check of every {@code consume*(min, max)}, with Jazzer's message.
     *
     * @param min the smallest value asked for.
     * @param max the largest value asked for.
     * @throws IllegalArgumentException if {@code min > max}.
     */
    static void requireOrdered(final long min, final long max)
    {
        if (min > max)
        {
            throw new IllegalArgumentException("min must be <= max (got min: " + min + ", max: " + max + ")");
        }
    }
}
