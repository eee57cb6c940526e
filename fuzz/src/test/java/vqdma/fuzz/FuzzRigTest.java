package vqdma.fuzz;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vqdma.dma.DmaDirection;
import vqdma.dma.DmaOps;
import vqdma.dma.DmaProfile;
import vqdma.dma.GuestMemory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A target's rigs, after hundreds of its inputs, are reset to exactly the state of a rig just built and sealed: the
 * same guest memory bytes, allocator position and shared pages, DMA ops that hold nothing and hand out the same bus
 * addresses, and a clock back at its start. That is what makes an input behave the same in the middle of a fuzzing
 * run as replayed alone.
 */
class FuzzRigTest
{
    /** Each target: how to run one input, its rigs. */
    enum Target
    {
        DEVICE(data -> new VhostVirtqueueFuzzTest().device(data), VhostVirtqueueFuzzTest.DRIVERS, d -> d.rig),
        DRIVER(data -> new VirtqueueFuzzTest().driver(data), VirtqueueFuzzTest.RIGS, r -> r),
        PACKED_DEVICE(data -> new PackedVhostVirtqueueFuzzTest().device(data), PackedVhostVirtqueueFuzzTest.DRIVERS,
            d -> d.rig),
        PACKED_DRIVER(data -> new PackedVirtqueueFuzzTest().driver(data), PackedVirtqueueFuzzTest.RIGS, r -> r),
        BLK(data -> new BlkDeviceFuzzTest().serve(data), BlkDeviceFuzzTest.DRIVERS, d -> d.rig),
        DMA(data -> new DmaOpsFuzzTest().ops(data), DmaOpsFuzzTest.RIGS, r -> r),
        DMA_WIDE_AREA(data -> new DmaOpsFuzzTest().opsWideArea(data), DmaOpsFuzzTest.WIDE_RIGS, r -> r);

        final Consumer<FuzzData> input;
        final FuzzProfiles.PerProfile<?> rigs;
        final Function<Object, FuzzRig> rigOf;

        @SuppressWarnings("unchecked")
        <T> Target(final Consumer<FuzzData> input, final FuzzProfiles.PerProfile<T> rigs,
            final Function<T, FuzzRig> rigOf)
        {
            this.input = input;
            this.rigs = rigs;
            this.rigOf = (Function<Object, FuzzRig>)rigOf;
        }
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void resetRigsEqualNewOnes(final Target target)
    {
        for (int seed = 0; seed < 400; seed++)
        {
            target.input.accept(RandomData.of(seed));
        }
        for (final DmaProfile profile : DmaProfile.values())
        {
            final FuzzRig used = target.rigOf.apply(target.rigs.get(profile)).reset();
            final FuzzRig fresh = target.rigOf.apply(target.rigs.fresh(profile));
            final String context = target + " " + profile.id();
            assertArrayEquals(contents(fresh.memory), contents(used.memory), context + ": guest memory");
            assertEquals(fresh.memory.allocated(), used.memory.allocated(), context + ": allocator");
            assertEquals(sharedPages(fresh.memory), sharedPages(used.memory), context + ": shared pages");
            assertEquals(DmaUsage.of(fresh.ops), DmaUsage.of(used.ops), context + ": DMA usage");
            assertEquals(0, used.ops.deviceView().faults(), context + ": faults");
            assertEquals(fresh.clock().nanoTime(), used.clock().nanoTime(), context + ": the clock");
            assertEquals(probe(fresh), probe(used), context + ": bus addresses of the same mappings");
        }
    }

    private static byte[] contents(final GuestMemory memory)
    {
        final byte[] b = new byte[(int)memory.size()];
        memory.buffer().getBytes(0, b);
        return b;
    }

    private static List<Integer> sharedPages(final GuestMemory memory)
    {
        final List<Integer> pages = new ArrayList<>();
        for (int page = 0; page < memory.size() / GuestMemory.PAGE_SIZE; page++)
        {
            if (memory.isShared((long)page * GuestMemory.PAGE_SIZE, GuestMemory.PAGE_SIZE))
            {
                pages.add(page);
            }
        }
        return pages;
    }

    /** Maps and unmaps a fixed series of buffers (some left mapped): the bus addresses the ops hand out. */
    private static String probe(final FuzzRig rig)
    {
        final DmaOps ops = rig.ops;
        final long[] bus = new long[24];
        for (int i = 0; i < bus.length; i++)
        {
            final long len = 1 + (i * 7919L) % 20_000;
            bus[i] = ops.map(rig.dataGpa() + (i * 613L) % 4096, len, DmaDirection.values()[i % 3]);
            if (i % 3 == 2 && !DmaOps.isMappingError(bus[i - 1]))
            {
                ops.unmap(bus[i - 1], 1 + ((i - 1) * 7919L) % 20_000, DmaDirection.values()[(i - 1) % 3]);
            }
        }
        return Arrays.toString(bus) + " " + DmaUsage.of(ops);
    }
}
