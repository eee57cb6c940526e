package vqdma.blk;

/**
 * Where a virtio-blk device model keeps its data. Offsets and lengths are in bytes and were checked against
 * {@link #capacityBytes()} by the device; the guest range was translated and checked by the device's view of
 * memory. Implementations are safe for concurrent use by several device threads (queues).
 */
public interface BlkBackend
{
    /** @return the size of the disk in bytes (a multiple of 512). */
    long capacityBytes();

    /**
     * Device read: copies {@code len} bytes at {@code offset} into guest memory.
     *
     * @param io     the calling device thread's guest memory handle.
     * @param gpa    destination in guest memory.
     * @param len    bytes.
     * @param offset byte offset on the disk.
     * @return {@link VirtioBlk#S_OK} or {@link VirtioBlk#S_IOERR}.
     */
    int read(GuestIo io, long gpa, int len, long offset);

    /**
     * Device write: copies {@code len} bytes from guest memory to {@code offset}.
     *
     * @param io     the calling device thread's guest memory handle.
     * @param gpa    source in guest memory.
     * @param len    bytes.
     * @param offset byte offset on the disk.
     * @return {@link VirtioBlk#S_OK} or {@link VirtioBlk#S_IOERR}.
     */
    int write(GuestIo io, long gpa, int len, long offset);

    /** @return {@link VirtioBlk#S_OK} once written data is durable, or {@link VirtioBlk#S_IOERR}. */
    int flush();
}
