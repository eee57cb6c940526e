package vqdma.ring;

/**
 * The perf gate's injected ring regression, test only ({@code scripts/gate-selftest}, docs/gate.md): with
 * {@code -Dvqdma.ring.slowdownEvery=N} the split ring's driver adds every N-th request twice ({@link SplitVirtqueue#add}): the first
 * time without publishing it, and takes it back at once (the path {@code detach_buf_split} takes: descriptors back
 * on the free list, buffers unmapped), then adds it for real. The device never sees the first one, so the ring
 * behaves exactly the same, only slower: a request's driver-side work (mapping, descriptor and avail-ring writes,
 * detaching) one more time in N. Every benchmark that adds requests to a ring sees it. The gate's self-test chooses N
 * so that the ring's own benchmarks slow by about 10%.
 * <p>
 * A {@code static final} read once: at 0, the default, the JIT folds the branches away and the ring is what it always
 * was. N = 1 is taken as 2 (every request twice would double the work, not regress it).
 */
final class InjectedSlowdown
{
    /** Every how many requests the ring does its work twice; 0: never. */
    static final int EVERY = every("vqdma.ring.slowdownEvery");

    private InjectedSlowdown()
    {
    }

    static int every(final String property)
    {
        final int n = Integer.getInteger(property, 0);
        return n <= 0 ? 0 : Math.max(2, n);
    }
}
