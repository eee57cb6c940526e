package vqdma.ring.peer;

import org.agrona.UnsafeApi;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The peers' short-run helpers against byte-by-byte definitions: every length from 0 to 40 at every alignment, the
 * bytes around a run untouched, and the first wrong byte found wherever it is.
 */
class LoopbackPatternTest
{
    static final long BASE = UnsafeApi.arrayBaseOffset(byte[].class);
    static final byte POISON = (byte)0xA5;

    @Test
    void fillWritesExactlyTheRunAndPoisonPrefixFindsTheFirstWrongByte()
    {
        for (int len = 0; len <= 40; len++)
        {
            for (int offset = 0; offset < 8; offset++)
            {
                final byte[] bytes = new byte[64];
                java.util.Arrays.fill(bytes, (byte)0x5A);
                LoopbackPattern.fill(bytes, BASE + offset, len, POISON);
                for (int i = 0; i < bytes.length; i++)
                {
                    final boolean inRun = i >= offset && i < offset + len;
                    assertEquals(inRun ? POISON : (byte)0x5A, bytes[i],
                        "fill of " + len + " bytes at " + offset + ": byte " + i);
                }
                assertEquals(len, LoopbackPattern.poisonPrefix(bytes, BASE + offset, len, POISON),
                    "an intact run of " + len);
                for (int wrong = 0; wrong < len; wrong++)
                {
                    bytes[offset + wrong] = 0;
                    assertEquals(wrong, LoopbackPattern.poisonPrefix(bytes, BASE + offset, len, POISON),
                        "run of " + len + " at " + offset + " with byte " + wrong + " wrong");
                    bytes[offset + wrong] = POISON;
                }
            }
        }
    }

    @Test
    void putLowBytesWritesTheLowBytesLowestFirstAndNothingElse()
    {
        final long v = 0x8877665544332211L;
        for (int n = 1; n <= 7; n++)
        {
            for (int offset = 0; offset < 8; offset++)
            {
                final byte[] bytes = new byte[24];
                java.util.Arrays.fill(bytes, (byte)0x5A);
                LoopbackPattern.putLowBytes(bytes, BASE + offset, v, n);
                for (int i = 0; i < bytes.length; i++)
                {
                    final int k = i - offset;
                    assertEquals(k >= 0 && k < n ? (byte)(v >>> (8 * k)) : (byte)0x5A, bytes[i],
                        n + " bytes at " + offset + ": byte " + i);
                }
            }
        }
    }
}
