package vqdma.ring.peer;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import vqdma.dma.GuestMemory;
import vqdma.ring.RingLayout;
import vqdma.ring.Vring;
import vqdma.ring.tools.Cli;

import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code scripts/ring-peer}: the Java side of the shared-ring file protocol (docs/file-protocol.md: the split layout
 * v1, and its packed variant with {@code --layout packed}), command-line compatible with the C peer built from
 * {@code linux/virtio_ring.h}.
 * <pre>
 *   ring-peer driver|device|loop --file F --queue-size N --data-bytes B --requests R --seed S [--layout L]
 *       [--indirect] [--event-idx] [--max-readable K] [--max-writable K] [--max-len L] [--timeout-s T]
 *       [--reorder W] [--used-batch U] [--warmup-requests W]
 *   ring-peer size --queue-size N [--layout L]   prints vring_size(N, 4096), or 16 * N + 8 with --layout packed
 * </pre>
 * Exit status 0 with one summary line on stdout; 1 with {@code scripts/ring-peer <role>: <message>} on stderr when
 * the file cannot be used, the other side broke the protocol or stopped responding; 2 for a usage error.
 */
@Command(name = "scripts/ring-peer", mixinStandardHelpOptions = true, subcommands = {
    RingPeer.Driver.class, RingPeer.Device.class, RingPeer.Loop.class, RingPeer.Size.class},
    description = "Java peer of the vqdma shared-ring file protocol (split v1 and its packed variant).")
public final class RingPeer implements Callable<Integer>
{
    /** Options both roles take. */
    static final class Common
    {
        @Option(names = "--file", required = true, description = "the shared file (created by the harness)")
        Path file;

        @Option(names = "--queue-size", required = true,
            description = "queue size N: a power of two 1..32768 (split), any of 1..32768 (packed)")
        int num;

        @Option(names = "--layout", defaultValue = "split", converter = LayoutConverter.class,
            description = "ring layout: split or packed (VIRTIO_F_RING_PACKED; default ${DEFAULT-VALUE})")
        RingLayout layout;

        @Option(names = "--data-bytes", required = true, description = "size of the data area")
        long dataBytes;

        @Option(names = "--requests", required = true, description = "requests to complete")
        long requests;

        @Option(names = "--seed", defaultValue = "1", description = "seed (default ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--indirect", description = "negotiate VIRTIO_RING_F_INDIRECT_DESC")
        boolean indirect;

        @Option(names = "--event-idx", description = "negotiate VIRTIO_RING_F_EVENT_IDX")
        boolean eventIdx;

        @Option(names = "--max-readable", defaultValue = "4", description = "most readable buffers per chain")
        int maxReadable;

        @Option(names = "--max-writable", defaultValue = "4", description = "most writable buffers per chain")
        int maxWritable;

        @Option(names = "--max-len", defaultValue = "4096", description = "longest buffer in bytes")
        int maxLen;

        @Option(names = "--timeout-s", defaultValue = "30", description = "longest wait without progress")
        int timeoutS;

        @Option(names = "--reorder", defaultValue = "1", description = "device: completion window (1 = in order)")
        int reorder;

        @Option(names = "--used-batch", defaultValue = "1",
            description = "device: completions per used.idx publish (1 = each at once)")
        int usedBatch;

        @Option(names = "--warmup-requests", defaultValue = "0",
            description = "completions before elapsed_ns starts (both sides must agree; default 0)")
        long warmup;

        long features()
        {
            long features = Vring.feature(Vring.VIRTIO_F_VERSION_1);
            if (indirect)
            {
                features |= Vring.feature(Vring.VIRTIO_RING_F_INDIRECT_DESC);
            }
            if (eventIdx)
            {
                features |= Vring.feature(Vring.VIRTIO_RING_F_EVENT_IDX);
            }
            return layout.applyTo(features);
        }

        void validate(final CommandLine.Model.CommandSpec spec)
        {
            if (!layout.isValidQueueSize(num))
            {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--queue-size " + num + " of the " + layout.id() + " layout must be " + layout.queueSizes());
            }
            if (requests < 1 || dataBytes < 1 || timeoutS < 1)
            {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--requests, --data-bytes and --timeout-s must be >= 1");
            }
            if (warmup < 0 || warmup >= requests)
            {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--warmup-requests " + warmup + " must be below --requests " + requests);
            }
            if (usedBatch < 1 || usedBatch > 65536)
            {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--used-batch " + usedBatch + " must be in 1..65536");
            }
        }

        GuestMemory map() throws Exception
        {
            return SharedRingFile.map(file, num, dataBytes, layout);
        }
    }

    @Command(name = "driver", mixinStandardHelpOptions = true,
        description = "Issue requests and verify every completed byte.")
    static final class Driver implements Callable<Integer>
    {
        @Mixin
        Common common = new Common();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception
        {
            common.validate(spec);
            final Common c = common;
            return report("driver", () -> new LoopbackDriver(c.map(), c.num, c.features(), c.requests,
                c.timeoutS * 1_000_000_000L, c.seed, c.maxReadable, c.maxWritable, c.maxLen, c.warmup).run()
                .summary());
        }
    }

    @Command(name = "device", mixinStandardHelpOptions = true, description = "Serve requests as the loopback device.")
    static final class Device implements Callable<Integer>
    {
        @Mixin
        Common common = new Common();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception
        {
            common.validate(spec);
            final Common c = common;
            return report("device", () -> new LoopbackDevice(c.map(), c.num, c.features(), c.requests,
                c.timeoutS * 1_000_000_000L, Math.min(c.reorder, c.num), c.seed, c.warmup, c.usedBatch).run()
                .summary());
        }
    }

    @Command(name = "loop", mixinStandardHelpOptions = true,
        description = "Both roles taking turns in one thread; adds cpu_ns to the summary.")
    static final class Loop implements Callable<Integer>
    {
        @Mixin
        Common common = new Common();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception
        {
            common.validate(spec);
            final Common c = common;
            return report("loop", () ->
            {
                final GuestMemory driverMemory = c.map();
                final GuestMemory deviceMemory = c.map();
                return new LoopbackLoop(driverMemory, deviceMemory,
                    new LoopbackDriver(driverMemory, c.num, c.features(), c.requests, c.timeoutS * 1_000_000_000L,
                        c.seed, c.maxReadable, c.maxWritable, c.maxLen, c.warmup),
                    new LoopbackDevice(deviceMemory, c.num, c.features(), c.requests, c.timeoutS * 1_000_000_000L,
                        Math.min(c.reorder, c.num), c.seed, c.warmup, c.usedBatch)).run();
            });
        }
    }

    @Command(name = "size", mixinStandardHelpOptions = true,
        description = "Print vring_size(N, 4096), or 16 * N + 8 for the packed layout.")
    static final class Size implements Callable<Integer>
    {
        @Option(names = "--queue-size", required = true, description = "queue size N")
        int num;

        @Option(names = "--layout", defaultValue = "split", converter = LayoutConverter.class,
            description = "ring layout: split or packed (default ${DEFAULT-VALUE})")
        RingLayout layout;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            if (!layout.isValidQueueSize(num))
            {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--queue-size " + num + " of the " + layout.id() + " layout must be " + layout.queueSizes());
            }
            spec.commandLine().getOut().println(SharedRingFile.ringBytes(num, layout));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    /** {@code --layout split|packed}. */
    static final class LayoutConverter implements CommandLine.ITypeConverter<RingLayout>
    {
        @Override
        public RingLayout convert(final String value)
        {
            try
            {
                return RingLayout.parse(value);
            }
            catch (final IllegalArgumentException ex)
            {
                throw new CommandLine.TypeConversionException(ex.getMessage());
            }
        }
    }

    /** A role's work. */
    @FunctionalInterface
    interface Run
    {
        /** @return the summary line. */
        String run() throws Exception;
    }

    static int report(final String role, final Run run)
    {
        final String name = "scripts/ring-peer " + role;
        try
        {
            System.out.println(run.run());
            return 0;
        }
        catch (final NoSuchFileException ex)
        {
            System.err.println(name + ": no such file: " + ex.getFile() + " (the harness creates it, zero-filled, of " +
                "the protocol's size: docs/file-protocol.md; 'scripts/ring-peer size' prints the ring's part)");
            return 1;
        }
        catch (final PeerFailure | IllegalArgumentException | java.io.IOException ex)
        {
            System.err.println(name + ": " + ex.getMessage());
            return ex instanceof IllegalArgumentException ? 2 : 1;
        }
        catch (final Exception ex)
        {
            System.err.println(name + ": " + ex);
            return 1;
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call()
    {
        throw new CommandLine.ParameterException(spec.commandLine(), "expected a role: driver, device, loop or size");
    }

    /**
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(Cli.of(new RingPeer()).execute(args));
    }
}
