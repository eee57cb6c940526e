package vqdma.ring;

import java.lang.invoke.VarHandle;

/**
 * The three virtio barriers, and the only place in vqdma's ring code where a fence is issued.
 * <p>
 * The kernel's {@code include/linux/virtio_ring.h} defines {@code virtio_mb/virtio_rmb/virtio_wmb(weak_barriers)}:
 * with {@code weak_barriers} (every virtio-pci device: the peer is another CPU of the same SMP host) they are
 * {@code virt_mb/virt_rmb/virt_wmb}, which on x86 are {@code smp_mb} (a locked instruction) and two compiler
 * barriers. The Java equivalents below have exactly that cost on x86: {@link VarHandle#fullFence()} is a
 * {@code lock addl}, the acquire and release fences emit no instruction but forbid the JIT's reordering.
 * <p>
 * Each barrier sits directly above the access it orders, with a comment saying what must be visible before what
 * and which barrier on the other side it pairs with, as in {@code virtio_ring.c} and {@code vhost.c}. Shared ring
 * indices are then read and written with opaque accesses ({@link SplitRing}'s {@code lo}/{@code so} accessors):
 * single-copy atomic and never elided, with their ordering supplied by these fences.
 */
public final class VirtioBarriers
{
    private VirtioBarriers()
    {
    }

    /**
     * {@code virtio_wmb()}: stores before it are visible before stores after it (StoreStore, and LoadStore).
     * <p>
     * Mirrors {@code virtqueue_add_split()}: "Descriptors and available array need to be set before we expose the new
     * available array entries. {@code virtio_wmb(vq->weak_barriers); vq->split.vring.avail->idx = ...}", and vhost's
     * {@code smp_wmb()} in {@code __vhost_add_used_n()}/{@code vhost_add_used_n()} before it stores {@code used->idx}
     * ("Make sure buffer is written before we update index."). Pairs with {@link #virtioRmb()} on the other side.
     * Implemented as {@link VarHandle#releaseFence()}.
     */
    public static void virtioWmb()
    {
        VarHandle.releaseFence();
    }

    /**
     * {@code virtio_rmb()}: loads before it complete before loads (and stores) after it (LoadLoad, LoadStore).
     * <p>
     * Mirrors {@code virtqueue_get_buf_ctx_split()}: "Only get used array entries after they have been exposed by
     * host. {@code virtio_rmb(vq->weak_barriers);}", and vhost's {@code smp_rmb()} in {@code vhost_get_vq_desc()}
     * after reading {@code avail->idx} ("Only get avail ring entries after they have been exposed by guest").
     * Pairs with {@link #virtioWmb()} on the other side. Implemented as {@link VarHandle#acquireFence()}.
     */
    public static void virtioRmb()
    {
        VarHandle.acquireFence();
    }

    /**
     * {@code virtio_mb()}: a full fence; in particular, a store before it is globally visible before a load after it
     * (StoreLoad), which neither release nor acquire provides.
     * <p>
     * Mirrors {@code virtqueue_kick_prepare_split()}: "We need to expose available array entries before checking
     * avail event. {@code virtio_mb(vq->weak_barriers);}", {@code virtqueue_poll()} and {@code virtio_store_mb()} in
     * {@code virtqueue_enable_cb_delayed_split()}/{@code virtqueue_get_buf_ctx_split()} on the driver side; and
     * vhost's {@code smp_mb()} in {@code vhost_notify()} ("Flush out used index updates. This is paired with the
     * barrier that the Guest executes when enabling interrupts.") and {@code vhost_enable_notify()} ("They could have
     * slipped one in as we were doing that: make sure it's written, then check again."). Without it a notification
     * can be lost: each side publishes its index, then reads the other's event index, and both reads may see the old
     * value. Implemented as {@link VarHandle#fullFence()}.
     */
    public static void virtioMb()
    {
        VarHandle.fullFence();
    }
}
