package vqdma.ring.tools;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import vqdma.ring.peer.RingPeer;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

/** The tools' usage errors: their name, the reason, where to look; exit status 2; help without mid-word wrapping. */
class CliTest
{
    private static String[] run(final String... args)
    {
        final CommandLine cl = Cli.of(new RingPeer());
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        final int status = cl.execute(args);
        return new String[] {Integer.toString(status), out.toString(), err.toString()};
    }

    @Test
    void aUsageErrorNamesTheToolAndTheReasonAndWhereToLook()
    {
        final String[] r = run("driver", "--file", "/tmp/x");
        assertEquals("2", r[0]);
        final String[] lines = r[2].split("\n");
        assertEquals(2, lines.length, r[2]);
        assertTrue(lines[0].startsWith("scripts/ring-peer driver: Missing required options: '--queue-size"), r[2]);
        assertEquals("Try 'scripts/ring-peer driver --help' for the options.", lines[1]);
    }

    @Test
    void anUnknownOptionGetsSuggestions()
    {
        final String[] r = run("size", "--queue-size", "8", "--queue-sise", "8");
        assertEquals("2", r[0]);
        assertTrue(r[2].startsWith("scripts/ring-peer size: Unknown option"), r[2]);
        assertTrue(r[2].contains("--queue-size"), "a suggestion: " + r[2]);
        assertTrue(r[2].endsWith("Try 'scripts/ring-peer size --help' for the options.\n"), r[2]);
    }

    @Test
    void helpFitsTheWidthAndGoesToStandardOutput()
    {
        final String[] r = run("driver", "--help");
        assertEquals("0", r[0]);
        assertTrue(r[1].startsWith("Usage: scripts/ring-peer driver "), r[1]);
        for (final String line : r[1].split("\n"))
        {
            assertTrue(line.length() <= Cli.WIDTH, line);
        }
        assertTrue(r[1].contains("--warmup-requests=<warmup>"), r[1]);
    }
}
