package vqdma.ring.peer;

/**
 * A peer of the shared-ring file protocol failed: the other side broke the protocol, or stopped responding.
 * The message is specific (what was seen, where, and what was expected).
 */
public final class PeerFailure extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong. */
    public PeerFailure(final String message)
    {
        super(message);
    }
}
