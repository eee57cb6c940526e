package vqdma.ring;

import org.agrona.UnsafeApi;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The object layout the JVM actually chose, read with {@code objectFieldOffset}: in every class whose hot fields
 * one thread writes while another thread works next to them, those fields (the ones declared in the
 * {@code ...Fields} class of its hierarchy) have about 128 bytes (two cache lines) of the object's own padding
 * before them and after them, so no other object's fields can share their lines whatever the heap puts around them.
 * The shared ring needs no such test: its legacy layout puts the driver's part (descriptors, avail ring,
 * {@code used_event}) and the device's part (used ring, {@code avail_event}) in different pages, and it is
 * allocated in whole pages ({@link SplitRingLayoutTest} checks the offsets).
 */
class PaddingLayoutTest
{
    /**
     * Each pad is 128 bytes; the JVM may place up to 7 of them in an alignment hole among the hot fields (JDK 15+
     * fills a superclass's holes with a subclass's fields), so at least 120 remain on each side.
     */
    static final int PAD = 120;

    /** A field's place in the object. */
    record Slot(String name, long offset, int size, boolean hot, boolean pad)
    {
    }

    static int size(final Class<?> type)
    {
        if (type == long.class || type == double.class)
        {
            return 8;
        }
        if (type == int.class || type == float.class)
        {
            return 4;
        }
        if (type == short.class || type == char.class)
        {
            return 2;
        }
        if (type == byte.class || type == boolean.class)
        {
            return 1;
        }
        return 4; // a reference: 4 with compressed oops, at least 4 without
    }

    static List<Slot> layout(final Class<?> cls)
    {
        final List<Slot> slots = new ArrayList<>();
        for (Class<?> c = cls; c != null && c != Object.class; c = c.getSuperclass())
        {
            final boolean hot = c.getSimpleName().endsWith("Fields");
            final boolean padClass = c.getSimpleName().matches(".*Pad[01]");
            for (final Field f : c.getDeclaredFields())
            {
                if (Modifier.isStatic(f.getModifiers()))
                {
                    continue;
                }
                slots.add(new Slot(c.getSimpleName() + "." + f.getName(), UnsafeApi.objectFieldOffset(f),
                    size(f.getType()), hot, padClass));
            }
        }
        return slots;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(classes = {SplitVirtqueue.class, SplitVhostVirtqueue.class, DescriptorChain.class,
        PackedVirtqueue.class, PackedVhostVirtqueue.class, vqdma.ring.thread.EventFd.class,
        vqdma.ring.thread.NotifyCounters.class})
    void hotFieldsHaveTwoCacheLinesOfPaddingOnBothSides(final Class<?> cls)
    {
        final List<Slot> slots = layout(cls);
        final long firstHot = slots.stream().filter(Slot::hot).mapToLong(Slot::offset).min().orElseThrow();
        final long endHot = slots.stream().filter(Slot::hot).mapToLong(s -> s.offset() + s.size()).max()
            .orElseThrow();
        final long end = slots.stream().mapToLong(s -> s.offset() + s.size()).max().orElseThrow();
        final String where = cls.getSimpleName() + " layout " + slots;

        assertTrue(firstHot >= PAD, "first hot field at offset " + firstHot + ": " + where);
        for (final Slot s : slots)
        {
            if (!s.pad() && !s.hot())
            {
                // The class's own (read-mostly) fields may follow the padding, never sit before the hot ones.
                assertTrue(s.offset() >= endHot, s.name() + " at " + s.offset() + " lies before a hot field: " + where);
            }
        }
        final long padBefore = slots.stream().filter(s -> s.pad() && s.offset() < firstHot).mapToLong(Slot::size)
            .sum();
        final long padAfter = slots.stream().filter(s -> s.pad() && s.offset() >= endHot).mapToLong(Slot::size).sum();
        assertTrue(padBefore >= PAD, padBefore + " bytes of padding before the hot fields: " + where);
        assertTrue(padAfter >= PAD, padAfter + " bytes of padding after the hot fields: " + where);
        assertTrue(end - endHot >= PAD, "the object ends " + (end - endHot) + " bytes after its hot fields: " + where);
    }
}
