package vqdma.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FuzzBytes} against Jazzer's own (native) {@code FuzzedDataProvider}: the same input must decode to the same
 * values, call after call, and leave the same number of bytes.
 * <p>
 * Jazzer's provider needs Jazzer's runtime, which its agent puts on the boot class path when a fuzz test starts. This
 * test does not install the agent (that is the fuzz tests' business, with their options): it loads the provider in a
 * class loader of its own, from the Jazzer jar and the runtime jar inside it, and calls it by reflection.
 */
class FuzzBytesTest
{
    private static Class<?> impl;

    @BeforeAll
    static void loadJazzersProvider() throws Exception
    {
        final String name = "com.code_intelligence.jazzer.driver.FuzzedDataProviderImpl";
        final URL jazzer = Class.forName(name, false, FuzzBytesTest.class.getClassLoader())
            .getProtectionDomain().getCodeSource().getLocation();
        final URL api = FuzzedDataProvider.class.getProtectionDomain().getCodeSource().getLocation();
        final Path runtime = Files.createTempFile("jazzer_bootstrap", ".jar");
        runtime.toFile().deleteOnExit();
        try (InputStream in = FuzzBytesTest.class.getResourceAsStream(
            "/com/code_intelligence/jazzer/runtime/jazzer_bootstrap.jar"))
        {
            assertTrue(in != null, "Jazzer's runtime jar is not inside the Jazzer jar");
            Files.copy(in, runtime, StandardCopyOption.REPLACE_EXISTING);
        }
        final ClassLoader loader = new URLClassLoader(new URL[] {jazzer, runtime.toUri().toURL(), api},
            ClassLoader.getPlatformClassLoader());
        impl = Class.forName(name, true, loader);
    }

    /** Jazzer's provider over {@code input}, seen through {@link FuzzData}. */
    private static final class Jazzers implements FuzzData, AutoCloseable
    {
        private final Object provider;

        Jazzers(final byte[] input)
        {
            provider = call(null, "withJavaData", new Class<?>[] {byte[].class}, input);
        }

        private Object call(final Object on, final String method, final Class<?>[] types, final Object... args)
        {
            try
            {
                final Method m = impl.getMethod(method, types);
                return m.invoke(on, args);
            }
            catch (final InvocationTargetException ex)
            {
                if (ex.getCause() instanceof RuntimeException)
                {
                    throw (RuntimeException)ex.getCause();
                }
                throw new AssertionError(ex);
            }
            catch (final ReflectiveOperationException ex)
            {
                throw new AssertionError(ex);
            }
        }

        private Object call(final String method, final Class<?>[] types, final Object... args)
        {
            return call(provider, method, types, args);
        }

        @Override
        public boolean consumeBoolean()
        {
            return (Boolean)call("consumeBoolean", new Class<?>[0]);
        }

        @Override
        public byte consumeByte()
        {
            return (Byte)call("consumeByte", new Class<?>[0]);
        }

        @Override
        public int consumeInt()
        {
            return (Integer)call("consumeInt", new Class<?>[0]);
        }

        @Override
        public int consumeInt(final int min, final int max)
        {
            return (Integer)call("consumeInt", new Class<?>[] {int.class, int.class}, min, max);
        }

        @Override
        public long consumeLong()
        {
            return (Long)call("consumeLong", new Class<?>[0]);
        }

        @Override
        public long consumeLong(final long min, final long max)
        {
            return (Long)call("consumeLong", new Class<?>[] {long.class, long.class}, min, max);
        }

        int remainingBytes()
        {
            return (Integer)call("remainingBytes", new Class<?>[0]);
        }

        @Override
        public void close()
        {
            call("close", new Class<?>[0]);
        }
    }

    /** Ranges worth trying: edges of both widths, and the bounds the targets use. */
    private static final long[][] LONG_RANGES = {
        {0, 0}, {0, 1}, {0, 7}, {0, 255}, {0, 256}, {-4, 0}, {-2, 2}, {1, 4096}, {-8192, 8192}, {0, 512 * 1024},
        {0, 0xFFFF_FFFFL}, {0, 0x1_0000_0000L}, {0, Long.MAX_VALUE}, {-1, Long.MAX_VALUE}, {Long.MIN_VALUE, -1},
        {Long.MIN_VALUE, 0}, {Long.MIN_VALUE + 1, Long.MAX_VALUE}, {Long.MAX_VALUE, Long.MAX_VALUE},
        {Long.MIN_VALUE, Long.MIN_VALUE},
    };
    private static final int[][] INT_RANGES = {
        {0, 0}, {0, 1}, {0, 9}, {0, 255}, {0, 256}, {1, 64}, {0, 65535}, {0, 65536}, {-3, 3},
        {0, Integer.MAX_VALUE}, {-1, Integer.MAX_VALUE}, {Integer.MIN_VALUE, Integer.MAX_VALUE},
        {Integer.MIN_VALUE, -1}, {Integer.MIN_VALUE, 0}, {Integer.MAX_VALUE, Integer.MAX_VALUE},
    };

    @Test
    void decodesEveryInputAsJazzersProviderDoes()
    {
        final SplittableRandom random = new SplittableRandom(20261207);
        for (int round = 0; round < 20_000; round++)
        {
            final byte[] input = new byte[random.nextInt(0, 80)];
            random.nextBytes(input);
            if (random.nextInt(4) == 0)
            {
                // Inputs of few distinct bytes reach the boundaries of the ranges (0x00, 0xFF).
                for (int i = 0; i < input.length; i++)
                {
                    input[i] = random.nextBoolean() ? 0 : (byte)0xFF;
                }
            }
            compare(input, random.split(), "round " + round);
        }
    }

    @Test
    void decodesTheCommittedInputsAsJazzersProviderDoes() throws Exception
    {
        final List<Path> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(Paths.get("src/test/resources/vqdma/fuzz")))
        {
            walk.filter(Files::isRegularFile).forEach(files::add);
        }
        assertTrue(files.size() > 10, "committed inputs found: " + files.size());
        final SplittableRandom random = new SplittableRandom(7);
        for (final Path file : files)
        {
            compare(Files.readAllBytes(file), random.split(), file.toString());
        }
    }

    /** Draws the same random sequence of calls from both providers until the input is used up and some more. */
    private static void compare(final byte[] input, final SplittableRandom calls, final String what)
    {
        final FuzzBytes ours = new FuzzBytes(input);
        try (Jazzers jazzers = new Jazzers(input))
        {
            for (int call = 0; ours.remainingBytes() > 0 || call < 8; call++)
            {
                final String at = what + ", call " + call + ", " + input.length + " bytes";
                final int kind = calls.nextInt(6);
                switch (kind)
                {
                    case 0:
                        assertEquals(jazzers.consumeBoolean(), ours.consumeBoolean(), at);
                        break;
                    case 1:
                        assertEquals(jazzers.consumeByte(), ours.consumeByte(), at);
                        break;
                    case 2:
                        assertEquals(jazzers.consumeInt(), ours.consumeInt(), at);
                        break;
                    case 3:
                        assertEquals(jazzers.consumeLong(), ours.consumeLong(), at);
                        break;
                    case 4:
                    {
                        final int[] r = calls.nextBoolean() ? INT_RANGES[calls.nextInt(INT_RANGES.length)] :
                            ordered(calls.nextInt(), calls.nextInt());
                        assertEquals(jazzers.consumeInt(r[0], r[1]), ours.consumeInt(r[0], r[1]),
                            at + ", consumeInt(" + r[0] + ", " + r[1] + ")");
                        break;
                    }
                    default:
                    {
                        final long[] r = calls.nextBoolean() ? LONG_RANGES[calls.nextInt(LONG_RANGES.length)] :
                            ordered(calls.nextLong(), calls.nextLong());
                        assertEquals(jazzers.consumeLong(r[0], r[1]), ours.consumeLong(r[0], r[1]),
                            at + ", consumeLong(" + r[0] + ", " + r[1] + ")");
                        break;
                    }
                }
                assertEquals(jazzers.remainingBytes(), ours.remainingBytes(), at);
            }
        }
    }

    private static int[] ordered(final int a, final int b)
    {
        return new int[] {Math.min(a, b), Math.max(a, b)};
    }

    /** Random pairs, but never the full range of a long, where Jazzer's native code divides by zero. */
    private static long[] ordered(final long a, final long b)
    {
        final long min = Math.min(a, b);
        final long max = Math.max(a, b);
        return min == Long.MIN_VALUE && max == Long.MAX_VALUE ? new long[] {min + 1, max} : new long[] {min, max};
    }

    @Test
    void refusesAnInvertedRangeAsJazzersProviderDoes()
    {
        final FuzzData ours = new FuzzBytes(new byte[8]);
        try (Jazzers jazzers = new Jazzers(new byte[8]))
        {
            assertEquals(assertThrows(IllegalArgumentException.class, () -> jazzers.consumeInt(2, 1)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> ours.consumeInt(2, 1)).getMessage());
            assertEquals(assertThrows(IllegalArgumentException.class, () -> jazzers.consumeLong(-1, -2)).getMessage(),
                assertThrows(IllegalArgumentException.class, () -> ours.consumeLong(-1, -2)).getMessage());
        }
    }

    @Test
    void keepsJazzersQuirkOfTheSignedMaximumRange()
    {
        // consumeInt(0, Integer.MAX_VALUE) takes no remainder and so can return a negative number.
        final byte[] input = {(byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0xFF};
        assertEquals(-1, new FuzzBytes(input).consumeInt(0, Integer.MAX_VALUE));
        try (Jazzers jazzers = new Jazzers(input))
        {
            assertEquals(-1, jazzers.consumeInt(0, Integer.MAX_VALUE));
        }
    }
}
