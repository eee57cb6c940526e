package vqdma.blk;

/**
 * Constants of virtio-blk, named as in {@code include/uapi/linux/virtio_blk.h} (virtio 1.x, 5.2).
 * <pre>
 *   struct virtio_blk_outhdr {       device-readable, 16 bytes, little-endian
 *       __virtio32 type;             VIRTIO_BLK_T_IN / OUT / FLUSH / GET_ID
 *       __virtio32 ioprio;
 *       __virtio64 sector;           in 512-byte units, whatever the logical block size
 *   };
 *   data segments                    device-readable for OUT, device-writable for IN and GET_ID
 *   u8 status;                       device-writable, the very last byte of the chain
 * </pre>
 */
public final class VirtioBlk
{
    /** {@code VIRTIO_BLK_T_IN}: read from the device. */
    public static final int T_IN = 0;
    /** {@code VIRTIO_BLK_T_OUT}: write to the device. */
    public static final int T_OUT = 1;
    /** {@code VIRTIO_BLK_T_FLUSH}: flush the device's volatile write cache. */
    public static final int T_FLUSH = 4;
    /** {@code VIRTIO_BLK_T_GET_ID}: read the device's serial (20 bytes). */
    public static final int T_GET_ID = 8;

    /** {@code VIRTIO_BLK_S_OK}. */
    public static final int S_OK = 0;
    /** {@code VIRTIO_BLK_S_IOERR}. */
    public static final int S_IOERR = 1;
    /** {@code VIRTIO_BLK_S_UNSUPP}. */
    public static final int S_UNSUPP = 2;

    /** {@code VIRTIO_BLK_F_SIZE_MAX}: {@code size_max} limits one segment. */
    public static final int F_SIZE_MAX = 1;
    /** {@code VIRTIO_BLK_F_SEG_MAX}: {@code seg_max} limits segments per request. */
    public static final int F_SEG_MAX = 2;
    /** {@code VIRTIO_BLK_F_FLUSH}: the device has a volatile cache and takes FLUSH. */
    public static final int F_FLUSH = 9;
    /** {@code VIRTIO_BLK_F_MQ}: the device has {@code num_queues} request queues. */
    public static final int F_MQ = 12;

    /** Size of {@code struct virtio_blk_outhdr}. */
    public static final int OUTHDR_SIZE = 16;
    /** Offset of {@code type} in the header. */
    public static final int OUTHDR_TYPE_OFFSET = 0;
    /** Offset of {@code ioprio} in the header. */
    public static final int OUTHDR_IOPRIO_OFFSET = 4;
    /** Offset of {@code sector} in the header. */
    public static final int OUTHDR_SECTOR_OFFSET = 8;
    /** {@code SECTOR_SHIFT}: virtio-blk sectors are 512 bytes. */
    public static final int SECTOR_SHIFT = 9;
    /** Bytes of a sector. */
    public static final int SECTOR_SIZE = 1 << SECTOR_SHIFT;
    /** {@code VIRTIO_BLK_ID_BYTES}: length of the serial GET_ID returns. */
    public static final int ID_BYTES = 20;

    private VirtioBlk()
    {
    }

    /** @param type a request type. @return its name, for messages. */
    public static String typeName(final int type)
    {
        switch (type)
        {
            case T_IN: return "IN";
            case T_OUT: return "OUT";
            case T_FLUSH: return "FLUSH";
            case T_GET_ID: return "GET_ID";
            default: return "type " + Integer.toUnsignedString(type);
        }
    }

    /** @param status a status byte. @return its name. */
    public static String statusName(final int status)
    {
        switch (status)
        {
            case S_OK: return "OK";
            case S_IOERR: return "IOERR";
            case S_UNSUPP: return "UNSUPP";
            default: return "status " + status;
        }
    }
}
