package vqdma.blk;

import org.agrona.concurrent.UnsafeBuffer;
import vqdma.dma.GuestMemory;

import java.nio.ByteBuffer;

/**
 * One device thread's handle on guest memory for backend I/O: the buffer (index = GPA) for memory copies and a
 * {@link ByteBuffer} view for channel I/O. The view's position and limit are per thread, so each device thread has
 * its own; nothing here allocates after construction.
 */
public final class GuestIo
{
    final UnsafeBuffer mem;
    final ByteBuffer view;

    /** @param memory guest memory. */
    public GuestIo(final GuestMemory memory)
    {
        this.mem = memory.buffer();
        this.view = memory.newByteBufferView();
    }

    /**
     * @param gpa start.
     * @param len bytes.
     * @return the view positioned on {@code [gpa, gpa + len)}.
     */
    ByteBuffer slice(final long gpa, final int len)
    {
        view.clear();
        view.position((int)gpa).limit((int)gpa + len);
        return view;
    }
}
