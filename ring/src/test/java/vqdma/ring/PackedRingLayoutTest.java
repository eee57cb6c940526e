package vqdma.ring;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static vqdma.ring.PackedRingDescriptor.*;
import static vqdma.ring.Vring.*;

/**
 * The packed layout is the kernel's: {@code struct vring_packed_desc} and {@code struct vring_packed_desc_event} and
 * the packed constants as {@code linux/virtio_ring.h} defines them, and the contiguous ring of the shared-ring file's
 * packed variant ({@code 16 * N + 8} bytes).
 */
class PackedRingLayoutTest
{
    @Test
    void matchesTheKernelHeader() throws Exception
    {
        final CTools.Result result = CTools.start(java.util.List.of(CTools.program("vring_layout").toString(),
            "--packed")).await(30);
        assertEquals(0, result.exit(), result.stderr());
        final String[] f = result.stdout().trim().split("\\s+");
        final int[] expected = {DESC_SIZE, DESC_ADDR_OFFSET, DESC_LEN_OFFSET, DESC_ID_OFFSET, DESC_FLAGS_OFFSET,
            EVENT_SIZE, EVENT_OFF_WRAP_OFFSET, EVENT_FLAGS_OFFSET, VRING_PACKED_DESC_F_AVAIL, VRING_PACKED_DESC_F_USED,
            VRING_PACKED_EVENT_FLAG_ENABLE, VRING_PACKED_EVENT_FLAG_DISABLE, VRING_PACKED_EVENT_FLAG_DESC,
            VRING_PACKED_EVENT_F_WRAP_CTR};
        final String[] names = {"sizeof(vring_packed_desc)", "addr", "len", "id", "flags",
            "sizeof(vring_packed_desc_event)", "off_wrap", "event flags", "VRING_PACKED_DESC_F_AVAIL",
            "VRING_PACKED_DESC_F_USED", "ENABLE", "DISABLE", "DESC", "VRING_PACKED_EVENT_F_WRAP_CTR"};
        assertEquals(expected.length, f.length, result.stdout());
        for (int i = 0; i < expected.length; i++)
        {
            assertEquals(Integer.parseInt(f[i]), expected[i], names[i]);
        }
    }

    @Test
    void knownValues()
    {
        assertEquals(16 * 256 + 8, ringSize(256));
        assertEquals(24, ringSize(1));
        assertEquals(48, driverEventOffset(3));
        assertEquals(52, deviceEventOffset(3));
        assertEquals(0x80, DESC_F_AVAIL);
        assertEquals(0x8000, DESC_F_USED);
        assertEquals(0x8005, offWrap(5, 1));
        assertEquals(34, VIRTIO_F_RING_PACKED);
    }

    @Test
    void availableAndUsedFollowTheWrapCounter()
    {
        // A driver makes a descriptor available with AVAIL = wrap, USED = !wrap; a device marks it used with both.
        assertTrue(isAvail(DESC_F_AVAIL, 1));
        assertTrue(isAvail(DESC_F_USED, 0));
        assertFalse(isAvail(0, 1), "a zeroed descriptor is not available in the first lap");
        assertTrue(isUsed(DESC_F_AVAIL | DESC_F_USED, 1));
        assertTrue(isUsed(0, 0));
        assertFalse(isUsed(0, 1), "nor used");
        assertFalse(isUsed(DESC_F_USED, 1), "USED without AVAIL is not used");
        assertTrue(isAvail(DESC_F_AVAIL | VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1), "other bits do not matter");
    }

    @Test
    void packedQueueSizesAreAnyValueUpTo32768()
    {
        for (final int n : new int[] {1, 3, 250, 32767, 32768})
        {
            assertTrue(isValidPackedQueueSize(n));
        }
        for (final int bad : new int[] {0, -1, 32769, 65536})
        {
            final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> checkPackedQueueSize(bad));
            assertTrue(ex.getMessage().contains(Integer.toString(bad)), ex.getMessage());
        }
    }
}
