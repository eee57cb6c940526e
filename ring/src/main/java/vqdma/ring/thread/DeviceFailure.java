package vqdma.ring.thread;

/**
 * The driver gave up waiting on its device: the device thread died (the cause is the handler's exception, or the
 * reason the queue broke), stopped, or did not answer within the timeout. The message says which, with the queue's
 * state (requests in flight, ring indices, the device thread's state and where it is).
 */
public final class DeviceFailure extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what happened.
     * @param cause   why the device died, or null for a timeout.
     */
    public DeviceFailure(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
