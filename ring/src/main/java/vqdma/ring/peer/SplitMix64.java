package vqdma.ring.peer;

/**
 * The peers' random numbers: splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
 * 2014), seeded with {@code --seed} itself, and a value in a range taken modulo its width, exactly as the C peer's
 * {@code rng_next()} and {@code rng_range()} draw them. The same seed therefore gives the Java and the C drivers the
 * same sequence of chain shapes, buffer lengths and readable bytes: the two pairs that {@code scripts/ring-compare}
 * times do the same work, request for request. (The modulo's bias, a few parts in 2^60 for these small ranges, is
 * irrelevant to a traffic generator.)
 */
final class SplitMix64
{
    private long state;

    /** @param seed the first state, as the C peer's {@code d->rng = seed}. */
    SplitMix64(final long seed)
    {
        this.state = seed;
    }

    /** @return the next 64 random bits ({@code rng_next()}). */
    long next()
    {
        long z = state += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * @param lo smallest value.
     * @param hi largest value, {@code >= lo}.
     * @return a value in {@code [lo, hi]} ({@code rng_range()}).
     */
    int range(final int lo, final int hi)
    {
        final long n = (long)hi - lo + 1;
        final long x = next();
        // A power-of-two width by its mask: the same value as the modulo, without a division (as rng_range()).
        return lo + (int)((n & (n - 1)) == 0 ? x & (n - 1) : Long.remainderUnsigned(x, n));
    }
}
