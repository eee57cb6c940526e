package vqdma.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

import java.lang.reflect.Proxy;
import java.util.SplittableRandom;

/**
 * A {@link FuzzedDataProvider} that never runs out, drawing every value from a seeded {@link SplittableRandom}: runs
 * a fuzz target's method from a plain JUnit test, outside Jazzer, on many inputs. Only the calls the targets make
 * are answered ({@code consumeInt}, {@code consumeLong}, {@code consumeBoolean}, {@code consumeByte}, with or without
 * bounds); any other is an {@link UnsupportedOperationException}.
 */
final class RandomData
{
    private RandomData()
    {
    }

    /** @param seed the seed. @return a provider of random values. */
    static FuzzedDataProvider of(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        return (FuzzedDataProvider)Proxy.newProxyInstance(RandomData.class.getClassLoader(),
            new Class<?>[] {FuzzedDataProvider.class}, (proxy, method, args) ->
            {
                final int bounds = args == null ? 0 : args.length;
                switch (method.getName() + "/" + bounds)
                {
                    case "consumeInt/0":
                        return random.nextInt();
                    case "consumeInt/2":
                        return (int)between(random, (int)args[0], (int)args[1]);
                    case "consumeLong/0":
                        return random.nextLong();
                    case "consumeLong/2":
                        return between(random, (long)args[0], (long)args[1]);
                    case "consumeBoolean/0":
                        return random.nextBoolean();
                    case "consumeByte/0":
                        return (byte)random.nextInt();
                    case "toString/0":
                        return "RandomData";
                    default:
                        throw new UnsupportedOperationException(method.toString());
                }
            });
    }

    /** @return a value in {@code [min, max]}, every one possible (also for the whole range of a long). */
    private static long between(final SplittableRandom random, final long min, final long max)
    {
        final long span = max - min + 1;
        return span == 0 ? random.nextLong() : min + Long.remainderUnsigned(random.nextLong(), span);
    }
}
