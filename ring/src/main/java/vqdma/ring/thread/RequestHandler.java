package vqdma.ring.thread;

import vqdma.ring.DescriptorChain;

/**
 * What a {@link VhostWorker} does with one request: the backend of the device (vhost-net's socket send, a block
 * device's read or write). Called on the device thread for every chain {@code vhost_get_vq_desc()} returned, with the
 * chain already walked, checked and translated.
 * <p>
 * Must not allocate in steady state (the worker does not), must not keep the chain (it is reused for the next
 * request), and should not block for long: the worker serves one queue, and a handler that never returns is
 * reported to the driver as a device that stopped responding. An exception ends the worker: the driver is told,
 * with the exception as the cause, and the chain is returned to it by {@code detachUnusedBuf()} at shutdown.
 */
@FunctionalInterface
public interface RequestHandler
{
    /**
     * @param chain the request: device-readable runs, then device-writable ones.
     * @return bytes written into the chain's writable part: the used element's {@code len} (u32; at most
     * {@link DescriptorChain#writableBytes()}).
     */
    int handle(DescriptorChain chain);
}
