package vqdma.ring.thread;

import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.fail;

/** Finds threads a test left behind. */
final class ThreadCheck
{
    private ThreadCheck()
    {
    }

    /** Fails if a live thread's name starts with {@code prefix}. */
    static void noThreadLeft(final String prefix)
    {
        final List<String> left = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && t.getName().startsWith(prefix))
            .map(t -> t.getName() + " (" + t.getState() + ")")
            .collect(Collectors.toList());
        if (!left.isEmpty())
        {
            fail("threads left running: " + left);
        }
    }
}
