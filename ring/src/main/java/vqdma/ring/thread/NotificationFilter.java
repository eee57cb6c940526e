package vqdma.ring.thread;

/**
 * A fault-injection point on a notification channel: asked once per notification the protocol decided to send (a
 * kick that {@code kickPrepare()} let through, an interrupt that {@code needInterrupt()} let through), it says
 * whether the notification reaches the other side or is lost in transit, as a lost MSI or a doorbell write that an
 * emulator dropped would be.
 * <p>
 * A lost notification must never lose a request: the sleeping side wakes at the end of its safety slice (the device's
 * idle slice, the guest's health slice, see {@link TwoThreadQueue.Builder#safetySlices}) and finds the work on the
 * ring. That is what a soak with this filter proves. Called on the notifying thread; must not block or allocate.
 */
@FunctionalInterface
public interface NotificationFilter
{
    /** Delivers every notification: the default. */
    NotificationFilter DELIVER_ALL = () -> true;

    /** @return true to deliver this notification, false to lose it. */
    boolean deliver();
}
