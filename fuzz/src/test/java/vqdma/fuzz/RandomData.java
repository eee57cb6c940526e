package vqdma.fuzz;

import java.util.SplittableRandom;

/**
 * {@link FuzzData} that never runs out, drawing every value from a seeded {@link SplittableRandom}: runs a fuzz
 * target from a plain JUnit test, outside Jazzer, on many inputs.
 */
final class RandomData implements FuzzData
{
    private final SplittableRandom random;

    private RandomData(final long seed)
    {
        this.random = new SplittableRandom(seed);
    }

    /** @param seed the seed. @return random values. */
    static FuzzData of(final long seed)
    {
        return new RandomData(seed);
    }

    @Override
    public boolean consumeBoolean()
    {
        return random.nextBoolean();
    }

    @Override
    public byte consumeByte()
    {
        return (byte)random.nextInt();
    }

    @Override
    public int consumeInt()
    {
        return random.nextInt();
    }

    @Override
    public int consumeInt(final int min, final int max)
    {
        return (int)between(min, max);
    }

    @Override
    public long consumeLong()
    {
        return random.nextLong();
    }

    @Override
    public long consumeLong(final long min, final long max)
    {
        return between(min, max);
    }

    /** @return a value in {@code [min, max]}, every one possible (also for the whole range of a long). */
    private long between(final long min, final long max)
    {
        FuzzData.requireOrdered(min, max);
        final long span = max - min + 1;
        return span == 0 ? random.nextLong() : min + Long.remainderUnsigned(random.nextLong(), span);
    }

    @Override
    public String toString()
    {
        return "RandomData";
    }
}
