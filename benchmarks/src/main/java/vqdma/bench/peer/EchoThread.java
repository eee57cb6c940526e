package vqdma.bench.peer;

import java.util.concurrent.TimeUnit;

/**
 * The device side of a peer round-trip benchmark: a thread that runs an echo step in a loop, spinning when there is
 * nothing to echo, until stopped. Started at trial set-up, stopped and joined at tear-down; a step that throws ends
 * the loop and is reported by {@link #stop()} (and makes the driver's wait time out, never hang).
 */
final class EchoThread
{
    /** One pass over the request queue. */
    @FunctionalInterface
    interface Step
    {
        /** @return requests echoed in this pass (0: nothing to do). */
        int echo();
    }

    private final Thread thread;
    private Runnable onStart = () -> { };
    private volatile boolean running = true;
    private volatile Throwable failure;

    EchoThread(final String name, final Step step)
    {
        thread = new Thread(() ->
        {
            try
            {
                onStart.run();
                while (running)
                {
                    if (step.echo() == 0)
                    {
                        Thread.onSpinWait();
                    }
                }
            }
            catch (final Throwable t)
            {
                failure = t;
            }
        }, name);
        thread.setDaemon(true);
    }

    void onStart(final Runnable action)
    {
        this.onStart = action;
    }

    void start()
    {
        thread.start();
    }

    boolean failed()
    {
        return failure != null;
    }

    void stop()
    {
        running = false;
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive() || failure != null)
        {
            throw new IllegalStateException("echo thread " + thread.getName() + (thread.isAlive() ?
                " did not stop" : " failed"), failure);
        }
    }

    /** Spins for a response: the driver's wait, with a timeout and a check that the echo thread lives. */
    static void spin(final long start, final int spins, final EchoThread echo)
    {
        Thread.onSpinWait();
        if ((spins & 1023) == 0 && (echo.failed() || System.nanoTime() - start > TimeUnit.SECONDS.toNanos(10)))
        {
            throw new IllegalStateException("no response within 10 s" + (echo.failed() ? ": the echo thread died" :
                ""), echo.failure);
        }
    }
}
