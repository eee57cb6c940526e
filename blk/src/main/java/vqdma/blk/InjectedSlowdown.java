package vqdma.blk;

/**
 * The perf gate's injected virtio-blk regression, test only ({@code scripts/gate-selftest}, docs/gate.md): with
 * {@code -Dvqdma.blk.slowdownEvery=N} the device moves the data of every N-th read or write request twice between the
 * chain and the backend ({@link BlkDevice}): the same bytes to the same places, so the disk and the guest see
 * exactly what they would, only later. Every benchmark and test that runs requests through {@link BlkDevice} sees it.
 * The gate's self-test chooses N so that the blk benchmarks slow by about 10%.
 * <p>
 * A {@code static final} read once: at 0, the default, the JIT folds the branch away. N = 1 is taken as 2.
 */
final class InjectedSlowdown
{
    /** Every how many requests the data moves twice; 0: never. */
    static final int EVERY = every("vqdma.blk.slowdownEvery");

    private InjectedSlowdown()
    {
    }

    static int every(final String property)
    {
        final int n = Integer.getInteger(property, 0);
        return n <= 0 ? 0 : Math.max(2, n);
    }
}
