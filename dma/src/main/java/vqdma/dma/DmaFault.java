package vqdma.dma;

/**
 * A device access that the platform refused: what an IOMMU fault, or an access to memory the host cannot read,
 * becomes in vqdma. It is thrown on the device side only, by a {@link DeviceView}, before any byte is touched.
 * <p>
 * The guest's own mapping calls never throw this: a mapping that cannot be made is the
 * {@link DmaOps#DMA_MAPPING_ERROR} value, as {@code dma_mapping_error()} reports it.
 * <p>
 * A fault is the other side's error, not a bug on the path that raises it, and a device facing a hostile driver
 * raises them as a matter of course (vhost returns {@code -EFAULT} and goes on). So it is cheap: its message is
 * formatted only when read, and it carries no stack trace, whose capture would otherwise be most of the cost of
 * refusing a bad address (a walk of the thread's frames: 80 frames deep, 1.6 us with
 * {@code -XX:MaxJavaStackTraceDepth=32} and 4 us with the JVM's default, JDK 17 on a 2-vCPU VM). What it refused is
 * in its fields and message; to see where it was raised as well, run with {@code -Dvqdma.dma.faultStackTraces=true}.
 */
public final class DmaFault extends RuntimeException
{
    private static final long serialVersionUID = 1L;
    /** {@code -Dvqdma.dma.faultStackTraces=true}: capture a stack trace in every fault (for debugging). */
    private static final boolean STACK_TRACES = Boolean.getBoolean("vqdma.dma.faultStackTraces");

    /** Why an access was refused. */
    public enum Reason
    {
        /** The address does not fall inside guest memory (or below the bus offset). */
        OUT_OF_RANGE("outside guest memory"),
        /** {@code addr + len} wraps around or the length is negative. */
        LENGTH_OVERFLOW("length overflows the address space"),
        /** A confidential guest's private (encrypted) page: the host cannot read or write it. */
        PRIVATE_MEMORY("private memory of a confidential guest"),
        /** No IOMMU translation exists for the IOVA. */
        NO_TRANSLATION("no IOMMU translation"),
        /** The translation exists but does not grant the access (read or write). */
        PERMISSION("access not permitted by the mapping"),
        /** The range is valid but not contiguous in guest memory where a contiguous region is required (a ring). */
        DISCONTIGUOUS("range is not contiguous in guest memory"),
        /**
         * A SWIOTLB bounce slot that no live mapping owns: a device access after unmap (or before map). Real hardware
         * could read such a slot (it is plain shared memory); vqdma refuses it, as a DMA-API debugging aid would
         * flag it, so that use-after-unmap bugs surface instead of reading stale bounce data.
         */
        UNMAPPED_SLOT("SWIOTLB slot that is not mapped");

        private final String text;

        Reason(final String text)
        {
            this.text = text;
        }

        /** @return a short human-readable description of the reason. */
        public String text()
        {
            return text;
        }
    }

    private final long address;
    private final long length;
    private final boolean write;
    private final Reason reason;

    /**
     * @param address bus address of the refused access.
     * @param length  length of the refused access in bytes.
     * @param write   true for a device write, false for a read.
     * @param reason  why it was refused.
     */
    public DmaFault(final long address, final long length, final boolean write, final Reason reason)
    {
        super(null, null, true, STACK_TRACES);
        this.address = address;
        this.length = length;
        this.write = write;
        this.reason = reason;
    }

    /**
     * Formatted when asked for, not when thrown: a device facing a hostile driver refuses accesses as a matter of
     * course (as vhost returns {@code -EFAULT}), and most faults are caught and counted without anyone reading the
     * text.
     *
     * @return "DMA fault: device read|write of N bytes at bus address 0x...: reason".
     */
    @Override
    public String getMessage()
    {
        return String.format("DMA fault: device %s of %d bytes at bus address 0x%x: %s", write ? "write" : "read",
            length, address, reason.text());
    }

    /** @return the bus address of the refused access. */
    public long address()
    {
        return address;
    }

    /** @return the length of the refused access in bytes. */
    public long length()
    {
        return length;
    }

    /** @return true if the refused access was a device write. */
    public boolean isWrite()
    {
        return write;
    }

    /** @return why the access was refused. */
    public Reason reason()
    {
        return reason;
    }
}
