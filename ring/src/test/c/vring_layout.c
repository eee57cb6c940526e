/*
 * vring_layout.c - print the split-ring layout of <linux/virtio_ring.h>.
 *
 * For each queue size N on the command line prints one line:
 *   N vring_size avail_offset used_offset used_ring_offset
 *     avail_event_offset used_event_offset
 * (decimal byte offsets from the ring base, align 4096), computed by
 * vring_init on a real 4096-aligned buffer and pointer differences.
 *
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o vring_layout vring_layout.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <linux/virtio_ring.h>

#define RING_ALIGN 4096ul

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vring_layout N...\n");
		return 2;
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
