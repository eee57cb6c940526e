package vqdma.ring.peer;

/**
 * What a peer of the shared-ring file protocol did: printed as the one summary line both the Java and the C peers
 * print, {@code vring-peer <role> ok requests=R bytes=B elapsed_ns=T kicks=K interrupts=I}.
 *
 * @param role       {@code driver} or {@code device}.
 * @param requests   requests completed.
 * @param bytes      data bytes moved: per chain, readable bytes plus {@code used.len}.
 * @param elapsedNs  wall time from the first poll to the last completion.
 * @param kicks      notifications the driver decided to send (0 for the device).
 * @param interrupts notifications the device decided to send (0 for the driver).
 */
public record PeerResult(String role, long requests, long bytes, long elapsedNs, long kicks, long interrupts)
{
    /** @return the summary line. */
    public String summary()
    {
        return String.format("vring-peer %s ok requests=%d bytes=%d elapsed_ns=%d kicks=%d interrupts=%d",
            role, requests, bytes, elapsedNs, kicks, interrupts);
    }
}
