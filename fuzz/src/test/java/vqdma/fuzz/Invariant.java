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
     * A message part formatted only if a message is made: a target names what it is about to do before every call,
     * and formatting that each time would cost more than many of the calls.
     *
     * @param format the format.
     * @param args   the values.
     * @return an object whose {@code toString()} is {@code String.format(format, args)}.
     */
    static Object lazy(final String format, final Object... args)
    {
        return new Object()
        {
            @Override
            public String toString()
            {
                return String.format(format, args);
            }
        };
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
