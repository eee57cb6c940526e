/*
 * vring_layout.c - print the split-ring layout of <linux/virtio_ring.h>.
 *
 * For each queue size N on the command line prints one line:
 *   N vring_size avail_offset used_offset used_ring_offset
 *     avail_event_offset used_event_offset
 * (decimal byte offsets from the ring base, align 4096), computed by
 * vring_init on a real 4096-aligned buffer and pointer differences.
 *
 * vring_layout --packed prints the packed ring's structures and constants:
 *   sizeof(vring_packed_desc) offsetof(addr) offsetof(len) offsetof(id)
 *   offsetof(flags) sizeof(vring_packed_desc_event) offsetof(off_wrap)
 *   offsetof(flags) VRING_PACKED_DESC_F_AVAIL VRING_PACKED_DESC_F_USED
 *   VRING_PACKED_EVENT_FLAG_ENABLE _DISABLE _DESC VRING_PACKED_EVENT_F_WRAP_CTR
 *
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o vring_layout vring_layout.c
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#define RING_ALIGN 4096ul

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vring_layout N... | vring_layout --packed\n");
		return 2;
	}
	if (strcmp(argv[1], "--packed") == 0) {
		printf("%zu %zu %zu %zu %zu %zu %zu %zu %d %d %d %d %d %d\n",
		       sizeof(struct vring_packed_desc),
		       offsetof(struct vring_packed_desc, addr),
		       offsetof(struct vring_packed_desc, len),
		       offsetof(struct vring_packed_desc, id),
		       offsetof(struct vring_packed_desc, flags),
		       sizeof(struct vring_packed_desc_event),
		       offsetof(struct vring_packed_desc_event, off_wrap),
		       offsetof(struct vring_packed_desc_event, flags),
		       VRING_PACKED_DESC_F_AVAIL, VRING_PACKED_DESC_F_USED,
		       VRING_PACKED_EVENT_FLAG_ENABLE, VRING_PACKED_EVENT_FLAG_DISABLE,
		       VRING_PACKED_EVENT_FLAG_DESC, VRING_PACKED_EVENT_F_WRAP_CTR);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		char *end;
		unsigned long n;
		size_t bytes;
		char *base;
		struct vring vr;

		errno = 0;
		n = strtoul(argv[i], &end, 10);
		if (errno || *end || argv[i][0] < '0' || argv[i][0] > '9' || n < 1 || n > 32768) {
			fprintf(stderr, "vring_layout: queue size '%s' is not in 1..32768\n", argv[i]);
			return 2;
		}
		/* vring_init aligns the used ring on the absolute address, so the
		 * base itself must be aligned */
		bytes = (vring_size((unsigned)n, RING_ALIGN) + RING_ALIGN - 1) & ~(RING_ALIGN - 1);
		base = aligned_alloc(RING_ALIGN, bytes);
		if (base == NULL) {
			fprintf(stderr, "vring_layout: out of memory\n");
			return 1;
		}
		vring_init(&vr, (unsigned)n, base, RING_ALIGN);
		printf("%lu %u %td %td %td %td %td\n", n, vring_size((unsigned)n, RING_ALIGN),
		       (char *)vr.avail - base,
		       (char *)vr.used - base,
		       (char *)vr.used->ring - base,
		       (char *)&vring_avail_event(&vr) - base,
		       (char *)&vring_used_event(&vr) - base);
		free(base);
	}
	return 0;
}
