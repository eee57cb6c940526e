package vqdma.fuzz;

/**
 * A broken invariant: what every fuzz target throws when the code under test did something it must never do. It is
 * an {@link AssertionError}, so Jazzer reports it as a finding, and JUnit as a failure, with the message below.
 */
final class Invariant extends AssertionError
{
    private static final long serialVersionUID = 1L;

    Invariant(final String message)
    {
        super("invariant broken: " + message);
    }

    Invariant(final String message, final Throwable cause)
    {
        super("invariant broken: " + message, cause);
    }

    /**
     * @param ok     the invariant.
     * @param format message format, naming the values involved.
     * @param args   the values.
     * @throws Invariant if {@code ok} is false.
     */
    static void check(final boolean ok, final String format, final Object... args)
    {
        if (!ok)
        {
            throw new Invariant(String.format(format, args));
        }
    }
}
