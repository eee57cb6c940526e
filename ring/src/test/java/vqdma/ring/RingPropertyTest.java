package vqdma.ring;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vqdma.dma.GuestMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.Vring.*;

/**
 * Random request shapes through both sides of one ring, single-threaded and seeded: the driver adds random chains,
 * the device serves a random number of them and completes them in random order, writing a pattern that depends on
 * the head; the driver checks every byte and the invariants after every step: descriptors free + descriptors in
 * flight = queue size, live DMA mappings = buffers (and tables) of the requests in flight, tokens come back exactly
 * once. Each run passes more than 65,536 requests, so every u16 index of the split ring wraps and the packed ring's
 * wrap counters flip many times; both layouts run the same traffic, the packed one also with a queue size that is not
 * a power of two (which only it allows).
 */
class RingPropertyTest
{
    static Stream<Arguments> cases()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final boolean packed : new boolean[] {false, true})
        {
            long seed = 11;
            for (final int num : packed ? new int[] {1, 3, 256, 32768} : new int[] {1, 2, 256, 32768})
            {
                for (final boolean indirect : new boolean[] {false, true})
                {
                    cases.add(Arguments.of(packed ? "packed" : "split", num, indirect, seed++));
                }
            }
        }
        return cases.stream();
    }

    /** One request in flight as the test tracks it. */
    static final class Req
    {
        final long id;
        final long[] gpa;
        final int[] len;
        final int out;
        final long writable;

        Req(final long id, final long[] gpa, final int[] len, final int out, final long writable)
        {
            this.id = id;
            this.gpa = gpa;
            this.len = len;
            this.out = out;
            this.writable = writable;
        }
    }

    @ParameterizedTest(name = "{0} num={1} indirect={2} seed={3}")
    @MethodSource("cases")
    void randomTrafficKeepsEveryInvariant(final String layout, final int num, final boolean indirect, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final GuestMemory memory = GuestMemory.allocate(16L << 20, false);
        final TrackingDma dma = new TrackingDma(memory);
        long features = feature(VIRTIO_F_VERSION_1) | feature(VIRTIO_F_ACCESS_PLATFORM);
        if (layout.equals("packed"))
        {
            features |= feature(VIRTIO_F_RING_PACKED);
        }
        if (indirect)
        {
            features |= feature(VIRTIO_RING_F_INDIRECT_DESC);
        }
        final Virtqueue vq = Virtqueue.builder(memory, num).features(features).dma(dma).callbacks(false).build();
        assertEquals(layout.equals("packed"), vq instanceof PackedVirtqueue, layout);
        final VhostVirtqueue device = vq.deviceBuilder().build();
        final DescriptorChain chain = device.newChain();
        final int maxBuffers = Math.min(num, 6);
        final SgList sg = new SgList(maxBuffers);
        final int slots = Math.min(num, 512);
        final int slotBytes = maxBuffers * 64;
        final long data = memory.allocate((long)slots * slotBytes, 64);
        final java.util.ArrayDeque<Integer> freeSlots = new java.util.ArrayDeque<>();
        for (int i = 0; i < slots; i++)
        {
            freeSlots.add(i);
        }
        final UnsafeBuffer mem = memory.buffer();
        final java.util.Map<Object, Req> inFlight = new java.util.IdentityHashMap<>();
        final java.util.Map<Req, Integer> slotOf = new java.util.IdentityHashMap<>();
        final List<int[]> served = new ArrayList<>(); // head, written
        long issued = 0;
        long completed = 0;
        final long target = 70_000;
        int step = 0;
        while (completed < target)
        {
            step++;
            final String at = layout + " seed " + seed + " step " + step;
            // Driver: add a few random chains.
            for (int k = random.nextInt(1 + Math.min(num, 8)); k > 0 && issued < target && !freeSlots.isEmpty(); k--)
            {
                final int buffers = 1 + random.nextInt(maxBuffers);
                final int out = random.nextInt(buffers + 1);
                final int slot = freeSlots.peek();
                final long[] gpa = new long[buffers];
                final int[] len = new int[buffers];
                long writable = 0;
                sg.clear();
                for (int b = 0; b < buffers; b++)
                {
                    gpa[b] = data + (long)slot * slotBytes + 64L * b;
                    len[b] = 1 + random.nextInt(64);
                    if (b < out)
                    {
                        sg.out(gpa[b], len[b]);
                    }
                    else
                    {
                        sg.in(gpa[b], len[b]);
                        writable += len[b];
                        mem.setMemory((int)gpa[b], len[b], (byte)0xA5);
                    }
                }
                final Req req = new Req(issued, gpa, len, out, writable);
                final int err = vq.add(sg, req);
                if (err == Virtqueue.ENOSPC)
                {
                    break;
                }
                assertEquals(0, err, at);
                freeSlots.poll();
                slotOf.put(req, slot);
                inFlight.put(req, req);
                issued++;
            }
            // Device: serve a random number of the available chains, complete a random subset, in random order.
            for (int k = random.nextInt(1 + Math.min(num, 8)); k > 0; k--)
            {
                final int head = device.pop(chain);
                assertNotEquals(VhostVirtqueue.BROKEN, head, () -> at + ": " + device.brokenReason());
                if (head == VhostVirtqueue.EMPTY)
                {
                    break;
                }
                long p = 0;
                for (int r = chain.outRuns(); r < chain.outRuns() + chain.inRuns(); r++)
                {
                    for (long i = 0; i < chain.runLen(r); i++, p++)
                    {
                        mem.putByte((int)(chain.runGpa(r) + i), (byte)(head * 7 + p));
                    }
                }
                served.add(new int[] {head, (int)chain.writableBytes()});
            }
            java.util.Collections.shuffle(served, new java.util.Random(random.nextLong()));
            for (int k = random.nextInt(served.size() + 1); k > 0; k--)
            {
                final int[] s = served.remove(served.size() - 1);
                device.addUsed(s[0], s[1]);
            }
            device.flushUsed();
            // Driver: take back what is used and check every byte.
            Object token;
            while ((token = vq.getBuf()) != null)
            {
                final Req req = inFlight.remove(token);
                assertNotNull(req, at + ": token returned twice or never issued");
                assertEquals(req.writable, vq.usedLen(), at);
                final int head = vq.usedId();
                long p = 0;
                for (int b = req.out; b < req.gpa.length; b++)
                {
                    for (int i = 0; i < req.len[b]; i++, p++)
                    {
                        assertEquals((byte)(head * 7 + p), mem.getByte((int)req.gpa[b] + i), at + " byte " + p);
                    }
                }
                freeSlots.add(slotOf.remove(req));
                completed++;
            }
            assertFalse(vq.isBroken(), () -> at + ": " + vq.brokenReason());
            // Invariants.
            int buffers = 0;
            for (final Req req : inFlight.values())
            {
                buffers += req.gpa.length;
            }
            final int tables = vq.indirectTablesInUse();
            final int descriptorsInUse = num - vq.numFree();
            assertEquals(inFlight.size(), vq.inFlight(), at);
            if (!indirect)
            {
                assertEquals(buffers, descriptorsInUse, at + ": descriptors in use");
                assertEquals(0, tables, at);
            }
            else
            {
                // A table request holds one descriptor and k + 1 mappings; a direct one k descriptors, k mappings.
                assertTrue(descriptorsInUse >= inFlight.size() && descriptorsInUse <= buffers,
                    at + ": descriptors in use " + descriptorsInUse);
                assertTrue(tables <= inFlight.size(), at + ": tables " + tables);
            }
            assertEquals(buffers + tables, dma.live(), at + ": live DMA mappings");
        }
        assertEquals(issued, completed);
        assertEquals(num, vq.numFree());
        assertEquals(0, dma.live());
        assertTrue(issued > 65536);
    }
}
