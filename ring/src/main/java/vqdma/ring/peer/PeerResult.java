package vqdma.ring.peer;

/**
 * What a peer of the shared-ring file protocol did: printed as the one summary line both the Java and the C peers
 * print, {@code vring-peer <role> ok requests=R bytes=B elapsed_ns=T kicks=K interrupts=I batches=P}.
 * <p>
 * {@code batches} tells the rhythm the two spinning peers settled into: the passes that found work (the driver's
 * reaps that took at least one completion, the device's steps that served at least one chain). {@code requests /
 * batches} near 1 is a lock-step (every index store pulls the other side's cache line once per request); tens or
 * more is a batched rhythm. Two runs of a pair compare only when their rhythms do.
 *
 * @param role       {@code driver} or {@code device}.
 * @param requests   requests completed.
 * @param bytes      data bytes moved: per chain, readable bytes plus {@code used.len}.
 * @param elapsedNs  wall time from the first poll to the last completion.
 * @param kicks      notifications the driver decided to send (0 for the device).
 * @param interrupts notifications the device decided to send (0 for the driver).
 * @param batches    passes that found work: reaps with a completion (driver), steps with a chain (device).
 */
public record PeerResult(String role, long requests, long bytes, long elapsedNs, long kicks, long interrupts,
    long batches)
{
    /** @return the summary line. */
    public String summary()
    {
        return String.format("vring-peer %s ok requests=%d bytes=%d elapsed_ns=%d kicks=%d interrupts=%d " +
            "batches=%d", role, requests, bytes, elapsedNs, kicks, interrupts, batches);
    }
}
