/*
 * vring_peer.c - C peer for the vqdma "shared-ring file protocol v1".
 *
 * Written from the kernel uapi header <linux/virtio_ring.h> alone. One
 * process plays the driver (guest) or the device (host) of a virtio split
 * ring that lives at offset 0 of a MAP_SHARED file; the other side may be
 * this program or the Java implementation.
 *
 *   vring_peer driver|device|loop --file F --queue-size N --data-bytes B
 *              --requests R [--layout split|packed] [--seed S] [--indirect]
 *              [--event-idx] [--max-readable K] [--max-writable K]
 *              [--max-len L] [--timeout-s T] [--reorder W]
 *              [--warmup-requests W] [--used-batch U] [--fault KIND]
 *   vring_peer size --queue-size N [--layout split|packed]
 *
 * File layout (split, the default): [ring: vring_init(N, base, 4096),
 *              padded to 4096] [data area: dataBytes]
 * File layout (packed, virtio 1.1): [N x struct vring_packed_desc]
 *              [driver struct vring_packed_desc_event at 16N]
 *              [device struct vring_packed_desc_event at 16N + 4],
 *              padded to 4096, then the data area. N is any of 1..32768.
 *              Both wrap counters start at 1; buffer ids are 0..N-1.
 * A descriptor's addr is a file offset. All shared fields are little-endian.
 *
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o vring_peer vring_peer.c
 *
 * Both roles poll and never sleep. Like the Java peers they behave as a
 * kernel driver without a virtqueue callback (avail.flags NO_INTERRUPT, or a
 * used_event that is never moved) and a vhost device that disables
 * notifications while it has work and enables them (full barrier, re-check)
 * whenever it runs dry, so the two pairs do the same protocol work.
 *
 * loop: both roles take turns in one thread (two mappings of the file), and
 * the summary adds cpu_ns, the thread's CPU time: per-request work without
 * the cross-core traffic, comparable with the Java peers' loop on a busy
 * machine.
 *
 * --used-batch U (device): publish used.idx once per U completions, or when
 * no chain is available (vhost_add_used_n batching); 1, the default, publishes
 * every completion at once. Both languages take it, so that a comparison can
 * give both pairs the same rhythm.
 *
 * --warmup-requests W: elapsed_ns counts from the W-th completion instead of
 * the first poll (both sides must agree), so that comparisons with the Java
 * peers exclude JIT warm-up and process start-up.
 *
 * Exit status: 0 ok, 1 protocol violation / timeout / file error, 2 usage.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#define RING_ALIGN   4096u
#define POISON       0xA5
#define NO_DESC      0xFFFFFFFFu
#define GRACE_NS     (2ull * 1000000000ull) /* faulting peer: idle time before quiet exit */

/* ------------------------------------------------------------------ */
/* Configuration and error reporting                                   */
/* ------------------------------------------------------------------ */

enum role { ROLE_DRIVER, ROLE_DEVICE, ROLE_LOOP, ROLE_SIZE };

enum fault {
	F_NONE,
	/* device faults */
	F_BAD_ID, F_NOT_HEAD, F_BAD_LEN, F_DEV_STALL,
	/* driver faults */
	F_LOOP, F_BAD_INDEX, F_AVAIL_JUMP, F_DRV_STALL,
	/* packed ring only: device fault, then driver faults */
	F_USED_NO_AVAIL,
	F_DRV_BAD_ID, F_REUSED_ID, F_AVAIL_USED, F_LONG_CHAIN,
};

struct config {
	enum role role;
	bool packed;            /* --layout packed */
	const char *file;
	unsigned n;             /* queue size */
	uint64_t data_bytes;
	uint64_t requests;
	uint64_t seed;
	bool indirect;
	bool event_idx;
	unsigned max_r, max_w;
	uint32_t max_len;
	unsigned timeout_s;
	unsigned reorder;
	unsigned used_batch;    /* device: completions per used.idx publish */
	uint64_t warmup;        /* completions before the clock starts */
	enum fault fault;
};

static const char *g_role = "usage";
/* Set once this peer has deliberately broken the protocol (--fault). From
 * then on it must finish quietly: errors and idle timeouts exit 0 silently. */
static bool g_fault_injected;

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	if (g_fault_injected)
		exit(0);
	fprintf(stderr, "vring-peer %s: ", g_role);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

__attribute__((format(printf, 1, 2), noreturn))
static void usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vring-peer %s: ", g_role);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: vring_peer driver|device|loop --file F --queue-size N --data-bytes B"
	      " --requests R [--seed S] [--indirect] [--event-idx]"
	      " [--max-readable K] [--max-writable K] [--max-len L] [--timeout-s T]"
	      " [--reorder W] [--warmup-requests W] [--used-batch U] [--fault KIND]"
	      " [--layout split|packed]\n"
	      "       vring_peer size --queue-size N [--layout split|packed]\n", stderr);
	exit(2);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	if (s == NULL)
		usage("%s needs a value", opt);
	if (*s < '0' || *s > '9')
		usage("%s: invalid number '%s'", opt, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		usage("%s: '%s' is not in %" PRIu64 "..%" PRIu64, opt, s, min, max);
	return v;
}

/* --seed accepts any 64-bit value, signed (as a Java long) or unsigned. */
static uint64_t parse_seed(const char *s)
{
	char *end;

	if (s == NULL)
		usage("--seed needs a value");
	errno = 0;
	if (*s == '-') {
		long long v = strtoll(s, &end, 10);
		if (errno || *end || end == s + 1)
			usage("--seed: invalid number '%s'", s);
		return (uint64_t)v;
	}
	if (*s < '0' || *s > '9')
		usage("--seed: invalid number '%s'", s);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		usage("--seed: invalid number '%s'", s);
	return v;
}

static enum fault parse_fault(enum role role, bool packed, const char *s)
{
	/* layouts: 1 split, 2 packed, 3 both */
	static const struct { const char *name; enum fault f; enum role role; int layouts; } tab[] = {
		{ "bad-id",             F_BAD_ID,        ROLE_DEVICE, 3 },
		{ "not-head",           F_NOT_HEAD,      ROLE_DEVICE, 3 },
		{ "bad-len",            F_BAD_LEN,       ROLE_DEVICE, 3 },
		{ "stall",              F_DEV_STALL,     ROLE_DEVICE, 3 },
		{ "used-without-avail", F_USED_NO_AVAIL, ROLE_DEVICE, 2 },
		{ "loop",               F_LOOP,          ROLE_DRIVER, 1 },
		{ "bad-index",          F_BAD_INDEX,     ROLE_DRIVER, 1 },
		{ "avail-jump",         F_AVAIL_JUMP,    ROLE_DRIVER, 1 },
		{ "stall",              F_DRV_STALL,     ROLE_DRIVER, 3 },
		{ "bad-id",             F_DRV_BAD_ID,    ROLE_DRIVER, 2 },
		{ "reused-id",          F_REUSED_ID,     ROLE_DRIVER, 2 },
		{ "avail-and-used",     F_AVAIL_USED,    ROLE_DRIVER, 2 },
		{ "chain-too-long",     F_LONG_CHAIN,    ROLE_DRIVER, 2 },
	};

	if (s == NULL)
		usage("--fault needs a value");
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].role == role && (tab[i].layouts & (packed ? 2 : 1)) && strcmp(tab[i].name, s) == 0)
			return tab[i].f;
	usage("--fault '%s' is not a %s fault of the %s layout (split device: bad-id not-head bad-len stall;"
	      " split driver: loop bad-index avail-jump stall; packed device: bad-id not-head bad-len"
	      " used-without-avail stall; packed driver: bad-id reused-id avail-and-used chain-too-long stall)",
	      s, g_role, packed ? "packed" : "split");
}

static void parse_args(int argc, char **argv, struct config *c)
{
	bool have_file = false, have_n = false, have_b = false, have_r = false;
	const char *fault = NULL;

	memset(c, 0, sizeof(*c));
	c->seed = 1;
	c->max_r = 4;
	c->max_w = 4;
	c->max_len = 4096;
	c->timeout_s = 30;
	c->reorder = 1;
	c->used_batch = 1;

	if (argc < 2)
		usage("missing role");
	if (strcmp(argv[1], "driver") == 0)
		c->role = ROLE_DRIVER;
	else if (strcmp(argv[1], "device") == 0)
		c->role = ROLE_DEVICE;
	else if (strcmp(argv[1], "loop") == 0)
		c->role = ROLE_LOOP;
	else if (strcmp(argv[1], "size") == 0)
		c->role = ROLE_SIZE;
	else
		usage("unknown role '%s'", argv[1]);
	g_role = argv[1];

	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--queue-size") == 0) {
			c->n = (unsigned)parse_num(o, v, 1, 32768);
			have_n = true;
			i++;
			continue;
		}
		if (strcmp(o, "--layout") == 0) {
			if (v != NULL && strcmp(v, "split") == 0)
				c->packed = false;
			else if (v != NULL && strcmp(v, "packed") == 0)
				c->packed = true;
			else
				usage("--layout must be split or packed (got '%s')", v ? v : "nothing");
			i++;
			continue;
		}
		if (c->role == ROLE_SIZE)
			usage("'size' only takes --queue-size and --layout (got '%s')", o);

		if (strcmp(o, "--indirect") == 0) {
			c->indirect = true;
			continue;
		}
		if (strcmp(o, "--event-idx") == 0) {
			c->event_idx = true;
			continue;
		}
		if (strcmp(o, "--file") == 0) {
			if (v == NULL)
				usage("--file needs a value");
			c->file = v;
			have_file = true;
		} else if (strcmp(o, "--data-bytes") == 0) {
			c->data_bytes = parse_num(o, v, 0, 1ull << 48);
			have_b = true;
		} else if (strcmp(o, "--requests") == 0) {
			c->requests = parse_num(o, v, 1, UINT64_MAX);
			have_r = true;
		} else if (strcmp(o, "--seed") == 0) {
			c->seed = parse_seed(v);
		} else if (strcmp(o, "--max-readable") == 0) {
			c->max_r = (unsigned)parse_num(o, v, 0, 1000000);
		} else if (strcmp(o, "--max-writable") == 0) {
			c->max_w = (unsigned)parse_num(o, v, 0, 1000000);
		} else if (strcmp(o, "--max-len") == 0) {
			c->max_len = (uint32_t)parse_num(o, v, 1, UINT32_MAX);
		} else if (strcmp(o, "--timeout-s") == 0) {
			c->timeout_s = (unsigned)parse_num(o, v, 1, 31536000);
		} else if (strcmp(o, "--reorder") == 0) {
			c->reorder = (unsigned)parse_num(o, v, 1, 65536);
		} else if (strcmp(o, "--used-batch") == 0) {
			c->used_batch = (unsigned)parse_num(o, v, 1, 65536);
		} else if (strcmp(o, "--warmup-requests") == 0) {
			c->warmup = parse_num(o, v, 0, UINT64_MAX);
		} else if (strcmp(o, "--fault") == 0) {
			fault = v;
		} else {
			usage("unknown option '%s'", o);
		}
		i++;
	}

	if (!have_n)
		usage("--queue-size is required");
	if (!c->packed && (c->n & (c->n - 1)))
		usage("--queue-size %u is not a power of two (the split layout needs one)", c->n);
	if (c->role == ROLE_SIZE)
		return;
	if (!have_file || !have_b || !have_r)
		usage("--file, --data-bytes and --requests are required");
	if (c->max_r + c->max_w == 0)
		usage("--max-readable and --max-writable are both 0");
	if (c->warmup >= c->requests)
		usage("--warmup-requests %" PRIu64 " must be below --requests %" PRIu64, c->warmup, c->requests);
	/* Worst-case writable total of a chain must fit in used.len (u32). */
	if ((uint64_t)(c->max_w < c->n ? c->max_w : c->n) * c->max_len > UINT32_MAX)
		usage("--max-writable x --max-len does not fit a 32-bit used.len");
	if (fault != NULL)
		c->fault = parse_fault(c->role, c->packed, fault);
}

/* ------------------------------------------------------------------ */
/* Small helpers: time, polling, RNG, CRC32C, shared-memory access     */
/* ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* A busy-wait with a deadline; the clock is read every 64 spins. */
struct waiter {
	uint64_t start;
	uint64_t limit_ns;
	unsigned spins;
};

static void wait_reset(struct waiter *w, uint64_t limit_ns)
{
	w->start = now_ns();
	w->limit_ns = limit_ns;
	w->spins = 0;
}

static bool wait_expired(struct waiter *w)
{
	cpu_relax();
	if (++w->spins % 64)
		return false;
	return now_ns() - w->start >= w->limit_ns;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform-ish value in [lo, hi] (modulo bias is irrelevant here) */
static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	uint64_t n = hi - lo + 1, x = rng_next(s);

	/* a power-of-two width by its mask: the same value, no division */
	return lo + ((n & (n - 1)) == 0 ? x & (n - 1) : x % n);
}

/* CRC32C (Castagnoli), reflected polynomial 0x82F63B78, table driven.
 * crc32c(0xFFFFFFFF, data) ^ 0xFFFFFFFF == java.util.zip.CRC32C. */
static uint32_t crc_table[256];
static bool crc_hw;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
#if defined(__x86_64__)
	crc_hw = __builtin_cpu_supports("sse4.2") && getenv("VRING_PEER_CRC_TABLE") == NULL;
#endif
}

/*
 * The SSE4.2 crc32 instruction computes CRC32C: where the CPU has it, use it
 * 8 bytes at a time, as java.util.zip.CRC32C's intrinsic does, so that both
 * peers spend comparable time per byte. The table is the portable fallback
 * (and forced with VRING_PEER_CRC_TABLE set in the environment).
 */

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc_update_hw(uint32_t crc, const uint8_t *p, uint64_t n)
{
	uint64_t c = crc;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	crc = (uint32_t)c;
	while (n--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

static uint32_t crc_update(uint32_t crc, const uint8_t *p, uint64_t n)
{
#if defined(__x86_64__)
	if (crc_hw)
		return crc_update_hw(crc, p, n);
#endif
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return crc;
}

/* pattern[k] == k & 0xFF; byte p (p >= 4) of a chain's writable area is
 * (head + p) & 0xFF, so any run of up to 256 bytes is a slice of this. */
static uint8_t pattern[512];

static void pattern_init(void)
{
	for (unsigned k = 0; k < sizeof(pattern); k++)
		pattern[k] = (uint8_t)k;
}

/* Expected byte at writable position p of chain 'head' whose readable CRC is 'crc'. */
static inline uint8_t expected_byte(uint32_t crc, unsigned head, uint64_t p)
{
	return p < 4 ? (uint8_t)(crc >> (8 * p)) : (uint8_t)(head + p);
}

/*
 * Plain little-endian shared-memory accessors. They go through volatile so
 * the compiler performs exactly one access per call (no re-reads of memory
 * the other process may change). Ordering comes from the explicit barriers.
 */
static inline uint16_t rd16(const void *p) { return le16toh(*(const volatile uint16_t *)p); }
static inline uint32_t rd32(const void *p) { return le32toh(*(const volatile uint32_t *)p); }
static inline uint64_t rd64(const void *p) { return le64toh(*(const volatile uint64_t *)p); }
static inline void wr16(void *p, uint16_t v) { *(volatile uint16_t *)p = htole16(v); }
static inline void wr32(void *p, uint32_t v) { *(volatile uint32_t *)p = htole32(v); }
static inline void wr64(void *p, uint64_t v) { *(volatile uint64_t *)p = htole64(v); }

/* Ring indices (avail.idx / used.idx): atomic u16 with acquire/release. */
static inline uint16_t idx_load_acquire(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline void idx_store_release(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ */
/* The shared file                                                     */
/* ------------------------------------------------------------------ */

struct shared {
	uint8_t *base;
	uint64_t size;      /* whole file */
	uint64_t data_off;  /* start of the data area = padded ring size */
	struct vring vr;    /* split layout */
	/* packed layout */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *pdriver;   /* written by the driver */
	struct vring_packed_desc_event *pdevice;   /* written by the device */
};

/* Bytes of the ring itself: vring_size(N, 4096), or 16N + 8 packed. */
static uint64_t ring_size(const struct config *c)
{
	if (c->packed)
		return (uint64_t)c->n * sizeof(struct vring_packed_desc) + 2 * sizeof(struct vring_packed_desc_event);
	return vring_size(c->n, RING_ALIGN);
}

static uint64_t ring_bytes(const struct config *c)
{
	uint64_t s = ring_size(c);

	return (s + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
}

static void map_file(const struct config *c, struct shared *sh)
{
	struct stat st;
	uint64_t want = ring_bytes(c) + c->data_bytes;
	int fd = open(c->file, O_RDWR);

	if (fd < 0)
		die("cannot open %s: %s", c->file, strerror(errno));
	if (fstat(fd, &st) != 0)
		die("cannot stat %s: %s", c->file, strerror(errno));
	if ((uint64_t)st.st_size != want)
		die("file %s has size %" PRIu64 ", expected %" PRIu64
		    " (ring %" PRIu64 " + data %" PRIu64 ")",
		    c->file, (uint64_t)st.st_size, want, ring_bytes(c), c->data_bytes);
	sh->base = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh->base == MAP_FAILED)
		die("cannot mmap %s: %s", c->file, strerror(errno));
	close(fd);
	sh->size = want;
	sh->data_off = ring_bytes(c);
	if (c->packed) {
		sh->pdesc = (struct vring_packed_desc *)sh->base;
		sh->pdriver = (struct vring_packed_desc_event *)(sh->base + (uint64_t)c->n * sizeof(struct vring_packed_desc));
		sh->pdevice = sh->pdriver + 1;
	} else {
		vring_init(&sh->vr, c->n, sh->base, RING_ALIGN);
	}
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

/*
 * Data-area allocation (private, fixed slots, nothing is ever searched):
 *  - without --indirect: descriptor d owns [data + d*L, +L); a chain uses the
 *    buffers of the descriptors it occupies. Needs N*L bytes.
 *  - with --indirect: head h owns a slot of S = align16(16*M + M*L) bytes:
 *    the indirect table (M entries) first, then M buffers of L bytes. A
 *    one-buffer chain is a plain descriptor using buffer 0 of its slot.
 *    Needs N*S bytes.
 *  - packed layout (with or without --indirect): buffer id h owns the slot of
 *    S bytes as above (the table is used only with --indirect). Needs N*S.
 * M = min(max-readable + max-writable, N) is the longest chain.
 */

struct drv_buf {
	uint64_t off;          /* file offset of the buffer */
	uint32_t len;
	uint32_t desc;         /* ring descriptor carrying it (direct chains) */
};

struct drv_chain {         /* private bookkeeping per head, never read back from the ring */
	bool busy;
	uint32_t nbuf, nread, ndesc;
	uint32_t crc;          /* CRC32C of the readable bytes */
	uint32_t wtotal;       /* writable bytes */
	uint64_t rbytes;       /* readable bytes */
};

struct driver {
	const struct config *c;
	struct shared sh;
	unsigned n, m;
	uint64_t slot;                 /* indirect mode slot size */
	struct drv_chain *chain;       /* [n] */
	struct drv_buf *buf;           /* [n * m], chain h uses buf[h*m ...] */
	uint16_t *free_stack;          /* free descriptor indices */
	unsigned nfree;
	uint64_t rng;

	/* the next request, generated once so the request sequence is
	 * independent of timing */
	bool have_pending;
	uint32_t pend_r, pend_w;
	uint32_t *pend_len;            /* [m] */

	uint16_t avail_shadow;         /* our next avail.idx */
	uint16_t avail_published;      /* last value stored to avail.idx */
	uint16_t last_used;
	uint64_t submitted, completed, bytes, kicks;
	uint64_t batches;               /* reaps that took a completion */

	/* packed layout: free_stack holds free buffer ids, nfree counts them */
	unsigned pfree;                /* free descriptors of the ring */
	uint16_t next_avail;           /* ring position of the next descriptor */
	uint16_t avail_bits;           /* AVAIL/USED bits of this lap's available descriptors */
	bool used_wrap;                /* wrap counter at last_used (a position) */
	int32_t batch_head;            /* position of the unpublished first head, or -1 */
	uint16_t batch_flags;          /* its flags */
	uint16_t num_added;            /* descriptors added since the last kick decision */
	uint16_t prev_id;              /* buffer id of the previous chain (reused-id fault) */
};

static void drv_setup(struct driver *d, const struct config *c)
{
	unsigned n = c->n;
	uint64_t need;

	memset(d, 0, sizeof(*d));
	d->c = c;
	d->n = n;
	d->m = c->max_r + c->max_w < n ? c->max_r + c->max_w : n;
	d->slot = ((uint64_t)d->m * 16 + (uint64_t)d->m * c->max_len + 15) & ~15ull;
	need = c->indirect || c->packed ? (uint64_t)n * d->slot : (uint64_t)n * c->max_len;
	if (c->data_bytes < need)
		usage("--data-bytes %" PRIu64 " is too small: the driver needs %" PRIu64
		      " bytes for %u chains of up to %u buffers of %u bytes%s",
		      c->data_bytes, need, n, d->m, c->max_len,
		      c->indirect ? " plus indirect tables" : "");

	map_file(c, &d->sh);
	/* A polling driver is a virtqueue without a callback: it asks for no
	 * interrupts (vring_create_virtqueue with callback == NULL). With
	 * EVENT_IDX the flag is not used; used_event simply never moves. */
	if (c->packed)
		wr16(&d->sh.pdriver->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	else if (!c->event_idx)
		wr16(&d->sh.vr.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	d->chain = calloc(n, sizeof(*d->chain));
	d->buf = calloc((size_t)n * d->m, sizeof(*d->buf));
	d->free_stack = calloc(n, sizeof(*d->free_stack));
	d->pend_len = calloc(d->m, sizeof(*d->pend_len));
	if (!d->chain || !d->buf || !d->free_stack || !d->pend_len)
		die("out of memory");
	/* pop order 0, 1, 2, ... */
	for (unsigned i = 0; i < n; i++)
		d->free_stack[i] = (uint16_t)(n - 1 - i);
	d->nfree = n;
	d->rng = c->seed;
	/* packed: both wrap counters start at 1 */
	d->pfree = n;
	d->avail_bits = 1 << VRING_PACKED_DESC_F_AVAIL;
	d->used_wrap = true;
	d->batch_head = -1;
}

/* Choose r readable and w writable buffers, 1 <= r+w <= min(N, ...). */
static void drv_generate(struct driver *d)
{
	const struct config *c = d->c;
	uint32_t rmax = c->max_r < d->n ? c->max_r : d->n;
	uint32_t r = (uint32_t)rng_range(&d->rng, c->max_w == 0 ? 1 : 0, rmax);
	uint32_t wmax = c->max_w < d->n - r ? c->max_w : d->n - r;
	uint32_t w = (uint32_t)rng_range(&d->rng, r == 0 ? 1 : 0, wmax);

	d->pend_r = r;
	d->pend_w = w;
	for (uint32_t i = 0; i < r + w; i++)
		d->pend_len[i] = (uint32_t)rng_range(&d->rng, 1, c->max_len);
	d->have_pending = true;
}

static void drv_fill_random(struct driver *d, uint8_t *p, uint32_t len)
{
	while (len >= 8) {
		uint64_t v = rng_next(&d->rng);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rng_next(&d->rng);
		memcpy(p, &v, len);
	}
}

static void drv_teardown(struct driver *d)
{
	free(d->chain);
	free(d->buf);
	free(d->free_stack);
	free(d->pend_len);
	munmap(d->sh.base, d->sh.size);
}

/* Write one descriptor (ring or indirect table entry). */
static void put_desc(void *dp, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vring_desc_t *desc = dp;

	wr64(&desc->addr, addr);
	wr32(&desc->len, len);
	wr16(&desc->flags, flags);
	wr16(&desc->next, next);
}

/*
 * Place the pending request on the ring (descriptors + avail ring entry),
 * without publishing avail.idx. Returns false if there are not enough free
 * descriptors. Applies the loop / bad-index faults to the 3rd chain.
 */
static bool pdrv_add(struct driver *d);
static void pdrv_publish(struct driver *d);
static unsigned pdrv_reap(struct driver *d);

static bool drv_add(struct driver *d)
{
	const struct config *c = d->c;
	struct vring *vr = &d->sh.vr;
	uint8_t *base = d->sh.base;
	uint32_t nb = d->pend_r + d->pend_w;
	bool use_table = c->indirect && nb > 1;
	uint32_t need = use_table ? 1 : nb;
	uint16_t head;
	struct drv_chain *ch;
	struct drv_buf *b;
	uint32_t crc = 0xFFFFFFFFu;
	uint64_t seq = d->submitted + 1;      /* 1-based number of this chain */
	bool fault_here = seq == 3 && (c->fault == F_LOOP || c->fault == F_BAD_INDEX);

	if (c->packed)
		return pdrv_add(d);
	if (d->nfree < need)
		return false;

	head = d->free_stack[d->nfree - 1];
	ch = &d->chain[head];
	b = &d->buf[(size_t)head * d->m];
	ch->nbuf = nb;
	ch->nread = d->pend_r;
	ch->ndesc = need;
	ch->wtotal = 0;
	ch->rbytes = 0;

	/* buffers: location and private record */
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t desc = use_table ? head : d->free_stack[d->nfree - 1 - i];

		b[i].desc = desc;
		b[i].len = d->pend_len[i];
		if (c->indirect)
			b[i].off = d->sh.data_off + head * d->slot + 16ull * d->m + (uint64_t)i * c->max_len;
		else
			b[i].off = d->sh.data_off + (uint64_t)desc * c->max_len;
		if (i < d->pend_r) {
			drv_fill_random(d, base + b[i].off, b[i].len);
			crc = crc_update(crc, base + b[i].off, b[i].len);
			ch->rbytes += b[i].len;
		} else {
			memset(base + b[i].off, POISON, b[i].len);
			ch->wtotal += b[i].len;
		}
	}
	ch->crc = crc ^ 0xFFFFFFFFu;
	d->nfree -= need;

	/* descriptors */
	if (use_table) {
		uint64_t table = d->sh.data_off + head * d->slot;
		vring_desc_t *t = (vring_desc_t *)(base + table);

		for (uint32_t i = 0; i < nb; i++) {
			uint16_t fl = (i >= d->pend_r ? VRING_DESC_F_WRITE : 0) |
				      (i + 1 < nb ? VRING_DESC_F_NEXT : 0);
			uint16_t next = i + 1 < nb ? (uint16_t)(i + 1) : 0;

			if (fault_here && i + 1 == nb) {
				fl |= VRING_DESC_F_NEXT;
				next = c->fault == F_LOOP ? 0 : (uint16_t)(d->n + 5);
				g_fault_injected = true;
			}
			put_desc(&t[i], b[i].off, b[i].len, fl, next);
		}
		put_desc(&vr->desc[head], table, 16 * nb, VRING_DESC_F_INDIRECT, 0);
	} else {
		for (uint32_t i = 0; i < nb; i++) {
			uint16_t fl = (i >= d->pend_r ? VRING_DESC_F_WRITE : 0) |
				      (i + 1 < nb ? VRING_DESC_F_NEXT : 0);
			uint16_t next = i + 1 < nb ? (uint16_t)b[i + 1].desc : 0;

			if (fault_here && i + 1 == nb) {
				fl |= VRING_DESC_F_NEXT;
				next = c->fault == F_LOOP ? head : (uint16_t)(d->n + 5);
				g_fault_injected = true;
			}
			put_desc(&vr->desc[b[i].desc], b[i].off, b[i].len, fl, (uint16_t)next);
		}
	}

	/* avail ring entry; made visible by the release store in drv_publish */
	wr16(&vr->avail->ring[d->avail_shadow & (d->n - 1)], head);
	d->avail_shadow++;
	ch->busy = true;
	d->have_pending = false;
	d->submitted++;
	return true;
}

/* Publish avail.idx and decide (count) whether we would kick. */
static void drv_publish(struct driver *d)
{
	struct vring *vr = &d->sh.vr;
	uint16_t old = d->avail_published;
	uint16_t new = d->avail_shadow;

	if (d->c->packed) {
		pdrv_publish(d);
		return;
	}

	if (d->c->fault == F_AVAIL_JUMP && d->submitted == 3) {
		new = (uint16_t)(old + d->n + 3);
		g_fault_injected = true;
	}
	/* Release: descriptors, indirect tables, buffer contents and the avail
	 * ring entries written above must be visible before the device can
	 * observe the new avail.idx (virtio_wmb + store). */
	idx_store_release(&vr->avail->idx, new);
	d->avail_published = new;

	/* Full barrier (virtio_mb): the avail.idx store must be globally visible
	 * before we read avail_event / used.flags, or we could miss a kick the
	 * device is about to ask for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->c->event_idx) {
		if (vring_need_event(rd16(&vring_avail_event(vr)), new, old))
			d->kicks++;
	} else if (!(rd16(&vr->used->flags) & VRING_USED_F_NO_NOTIFY)) {
		d->kicks++;
	}
}

/* Verify the writable bytes of a completed chain. */
static void drv_verify(struct driver *d, unsigned head)
{
	const struct drv_chain *ch = &d->chain[head];
	const struct drv_buf *b = &d->buf[(size_t)head * d->m];
	const uint8_t *base = d->sh.base;
	uint64_t p = 0;

	for (uint32_t i = ch->nread; i < ch->nbuf; i++) {
		const uint8_t *q = base + b[i].off;
		uint32_t k = 0;

		while (k < b[i].len) {
			uint32_t run = 1;
			bool bad;

			if (ch->wtotal < 4) {
				/* no write allowed: everything must still be poison */
				bad = q[k] != POISON;
				if (bad)
					die("chain %u: writable offset %" PRIu64 " (address 0x%" PRIx64
					    ") expected 0x%02x got 0x%02x (chain has only %u writable bytes,"
					    " device must not write)", head, p, b[i].off + k, POISON,
					    q[k], ch->wtotal);
			} else if (p < 4) {
				uint8_t e = expected_byte(ch->crc, head, p);
				if (q[k] != e)
					die("chain %u: crc byte at writable offset %" PRIu64 " (address 0x%"
					    PRIx64 ") expected 0x%02x got 0x%02x (crc32c of readable bytes"
					    " is 0x%08x)", head, p, b[i].off + k, e, q[k], ch->crc);
			} else {
				uint32_t start = (uint32_t)((head + p) & 0xFF);
				run = b[i].len - k < 256 ? b[i].len - k : 256;
				if (memcmp(q + k, pattern + start, run) != 0) {
					for (uint32_t j = 0; j < run; j++)
						if (q[k + j] != pattern[start + j])
							die("chain %u: pattern byte at writable offset %" PRIu64
							    " (address 0x%" PRIx64 ") expected 0x%02x got 0x%02x",
							    head, p + j, b[i].off + k + j,
							    pattern[start + j], q[k + j]);
				}
			}
			k += run;
			p += run;
		}
	}
}

/* Consume everything the device has published. Returns the number reaped. */
static unsigned drv_reap(struct driver *d)
{
	struct vring *vr = &d->sh.vr;
	unsigned got = 0;
	uint16_t used_idx;

	if (d->c->packed)
		return pdrv_reap(d);
	/* Acquire: the used elements and the data the device wrote are read
	 * only after we have seen the used.idx that covers them (virtio_rmb). */
	used_idx = idx_load_acquire(&vr->used->idx);

	while (d->last_used != used_idx && d->completed < d->c->requests) {
		const vring_used_elem_t *e = &vr->used->ring[d->last_used & (d->n - 1)];
		uint32_t id = rd32(&e->id);
		uint32_t len = rd32(&e->len);
		struct drv_chain *ch;
		uint32_t expect;

		if (id >= d->n)
			die("used id %u out of range (queue size %u)", id, d->n);
		ch = &d->chain[id];
		if (!ch->busy)
			die("id %u is not a head (used element %u)", id, d->last_used);
		if (len > ch->wtotal)
			die("used len %u exceeds writable bytes %u of chain %u", len, ch->wtotal, id);
		expect = ch->wtotal >= 4 ? ch->wtotal : 0;
		if (len != expect)
			die("used len %u of chain %u, expected %u (writable bytes %u)",
			    len, id, expect, ch->wtotal);
		drv_verify(d, id);

		/* free the chain from PRIVATE bookkeeping only */
		if (ch->ndesc == 1)
			d->free_stack[d->nfree++] = (uint16_t)id;
		else
			for (uint32_t i = ch->ndesc; i-- > 0;)
				d->free_stack[d->nfree++] = (uint16_t)d->buf[(size_t)id * d->m + i].desc;
		ch->busy = false;
		d->bytes += ch->rbytes + len;
		d->last_used++;
		d->completed++;
		got++;
		/* No interrupt is wanted (we poll): used_event is never moved, as
		 * virtqueue_get_buf() does not move it for a queue without a
		 * callback (avail_flags_shadow has NO_INTERRUPT). */
	}
	return got;
}

/* ------------------------------------------------------------------ */
/* Driver, packed layout (virtio 1.1 section 2.8)                      */
/* ------------------------------------------------------------------ */

#define PACKED_AVAIL ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define PACKED_USED  ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))

/* Flags of a descriptor the driver makes available in the lap with wrap counter w. */
static inline uint16_t packed_avail_bits(bool w) { return w ? PACKED_AVAIL : PACKED_USED; }
/* Flags of a descriptor the device marks used in the lap with wrap counter w. */
static inline uint16_t packed_used_bits(bool w) { return w ? PACKED_AVAIL | PACKED_USED : 0; }

static inline bool packed_is_avail(uint16_t flags, bool w)
{
	return (flags & (PACKED_AVAIL | PACKED_USED)) == packed_avail_bits(w);
}

static inline bool packed_is_used(uint16_t flags, bool w)
{
	return (flags & (PACKED_AVAIL | PACKED_USED)) == packed_used_bits(w);
}

/* The publishing word of a packed ring: a descriptor's flags. */
static inline uint16_t flags_load_acquire(const __le16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline void flags_store_release(__le16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

static void put_pdesc(struct vring_packed_desc *desc, uint64_t addr, uint32_t len, uint16_t id)
{
	wr64(&desc->addr, addr);
	wr32(&desc->len, len);
	wr16(&desc->id, id);
}

/*
 * Place the pending request on the ring at next_avail, its buffer id in every
 * descriptor (the device reads it from the last), the flags of this lap, and
 * the head's flags left for pdrv_publish when it is the batch's first (the
 * device reads in order and cannot pass it). Returns false if the ring lacks
 * free descriptors or ids. Applies the packed driver faults.
 */
static bool pdrv_add(struct driver *d)
{
	const struct config *c = d->c;
	struct vring_packed_desc *ring = d->sh.pdesc;
	uint8_t *base = d->sh.base;
	uint32_t nb = d->pend_r + d->pend_w;
	bool use_table = c->indirect && nb > 1;
	uint32_t need = use_table ? 1 : nb;
	uint64_t seq = d->submitted + 1;
	uint16_t id, wire_id, head = d->next_avail, head_flags = 0;
	struct drv_chain *ch;
	struct drv_buf *b;
	uint32_t crc = 0xFFFFFFFFu;

	if (d->pfree < need || d->nfree == 0)
		return false;
	id = d->free_stack[--d->nfree];
	wire_id = id;
	if (seq == 3 && c->fault == F_DRV_BAD_ID) {
		wire_id = (uint16_t)(d->n + 5);
		g_fault_injected = true;
	} else if (seq == 3 && c->fault == F_REUSED_ID) {
		wire_id = d->prev_id;  /* still in flight: published in one batch with it */
		g_fault_injected = true;
	}
	d->prev_id = id;

	if (seq == 1 && c->fault == F_LONG_CHAIN) {
		/* every descriptor of the ring available, each with NEXT */
		uint16_t bits = d->avail_bits, pos = head;

		for (unsigned k = 0; k < d->n; k++) {
			put_pdesc(&ring[pos], d->sh.data_off, 8, id);
			if (k == 0)
				head_flags = bits | VRING_DESC_F_NEXT;
			else
				wr16(&ring[pos].flags, bits | VRING_DESC_F_NEXT);
			if (++pos == d->n) {
				pos = 0;
				bits ^= PACKED_AVAIL | PACKED_USED;
			}
		}
		g_fault_injected = true;
		flags_store_release(&ring[head].flags, head_flags);
		d->submitted++;
		d->have_pending = false;
		return true;
	}

	ch = &d->chain[id];
	b = &d->buf[(size_t)id * d->m];
	ch->nbuf = nb;
	ch->nread = d->pend_r;
	ch->ndesc = need;
	ch->wtotal = 0;
	ch->rbytes = 0;
	for (uint32_t i = 0; i < nb; i++) {
		b[i].desc = 0;
		b[i].len = d->pend_len[i];
		b[i].off = d->sh.data_off + id * d->slot + 16ull * d->m + (uint64_t)i * c->max_len;
		if (i < d->pend_r) {
			drv_fill_random(d, base + b[i].off, b[i].len);
			crc = crc_update(crc, base + b[i].off, b[i].len);
			ch->rbytes += b[i].len;
		} else {
			memset(base + b[i].off, POISON, b[i].len);
			ch->wtotal += b[i].len;
		}
	}
	ch->crc = crc ^ 0xFFFFFFFFu;

	if (use_table) {
		uint64_t table = d->sh.data_off + id * d->slot;
		struct vring_packed_desc *t = (struct vring_packed_desc *)(base + table);

		/* a packed indirect table is read in order: no NEXT */
		for (uint32_t i = 0; i < nb; i++) {
			put_pdesc(&t[i], b[i].off, b[i].len, 0);
			wr16(&t[i].flags, i >= d->pend_r ? VRING_DESC_F_WRITE : 0);
		}
		put_pdesc(&ring[head], table, 16 * nb, wire_id);
		head_flags = d->avail_bits | VRING_DESC_F_INDIRECT;
		if (++d->next_avail == d->n) {
			d->next_avail = 0;
			d->avail_bits ^= PACKED_AVAIL | PACKED_USED;
		}
	} else {
		for (uint32_t i = 0; i < nb; i++) {
			uint16_t pos = d->next_avail;
			uint16_t fl = d->avail_bits | (i >= d->pend_r ? VRING_DESC_F_WRITE : 0) |
				      (i + 1 < nb ? VRING_DESC_F_NEXT : 0);

			put_pdesc(&ring[pos], b[i].off, b[i].len, wire_id);
			if (i == 0)
				head_flags = fl;
			else
				wr16(&ring[pos].flags, fl);
			if (++d->next_avail == d->n) {
				d->next_avail = 0;
				d->avail_bits ^= PACKED_AVAIL | PACKED_USED;
			}
		}
	}
	if (seq == 3 && c->fault == F_AVAIL_USED) {
		/* AVAIL and USED both set to the lap's wrap counter: a "used" head */
		head_flags = (head_flags & ~(PACKED_AVAIL | PACKED_USED)) |
			     packed_used_bits(head_flags & PACKED_AVAIL);
		g_fault_injected = true;
	}
	if (d->batch_head < 0) {
		d->batch_head = head;
		d->batch_flags = head_flags;
	} else {
		/* behind the batch's unpublished first head */
		wr16(&ring[head].flags, head_flags);
	}
	d->pfree -= need;
	d->num_added += need;
	ch->busy = true;
	d->have_pending = false;
	d->submitted++;
	return true;
}

/* Publish the batch (its first head's flags) and decide (count) a kick. */
static void pdrv_publish(struct driver *d)
{
	const struct config *c = d->c;
	uint16_t new = d->next_avail;
	uint16_t old = (uint16_t)(new - d->num_added);
	uint16_t flags;

	d->num_added = 0;
	/* Release: every descriptor of the batch, the tables and the buffers
	 * must be visible before the head's flags make them available
	 * (virtio_wmb + store). */
	if (d->batch_head >= 0) {
		flags_store_release(&d->sh.pdesc[d->batch_head].flags, d->batch_flags);
		d->batch_head = -1;
	}
	/* Full barrier (virtio_mb): the flags must be globally visible before
	 * we read the device's event suppression structure. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Acquire: off_wrap is written before the flags that say DESC. */
	flags = le16toh(__atomic_load_n(&d->sh.pdevice->flags, __ATOMIC_ACQUIRE));
	if (flags != VRING_PACKED_EVENT_FLAG_DESC) {
		if (flags != VRING_PACKED_EVENT_FLAG_DISABLE)
			d->kicks++;
	} else if (c->event_idx) {
		uint16_t off_wrap = rd16(&d->sh.pdevice->off_wrap);
		uint16_t event = off_wrap & ~(1u << VRING_PACKED_EVENT_F_WRAP_CTR);
		bool wrap = off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR;

		if (wrap != !!(d->avail_bits & PACKED_AVAIL))
			event = (uint16_t)(event - d->n);
		if (vring_need_event(event, new, old))
			d->kicks++;
	} else {
		d->kicks++;
	}
}

/* Consume every used descriptor the device has published. */
static unsigned pdrv_reap(struct driver *d)
{
	struct vring_packed_desc *ring = d->sh.pdesc;
	unsigned got = 0;

	while (d->completed < d->c->requests) {
		uint16_t pos = d->last_used;
		/* Acquire: id, len and the data are read only after the flags
		 * say used (virtio_rmb). */
		uint16_t flags = flags_load_acquire(&ring[pos].flags);
		uint64_t in_flight = d->submitted - d->completed;
		struct drv_chain *ch;
		uint32_t id, len, expect;

		if (!packed_is_used(flags, d->used_wrap)) {
			if (in_flight > 0 && (int32_t)pos != d->batch_head && !packed_is_avail(flags, d->used_wrap))
				die("descriptor %u has flags 0x%04x: neither available nor used in wrap %d"
				    " (USED bit without AVAIL, or a used descriptor of the previous lap)",
				    pos, flags, d->used_wrap);
			break;
		}
		if (in_flight == 0)
			die("descriptor %u is used in wrap %d but nothing is in flight", pos, d->used_wrap);
		id = rd16(&ring[pos].id);
		len = rd32(&ring[pos].len);
		if (id >= d->n)
			die("used id %u out of range (queue size %u)", id, d->n);
		ch = &d->chain[id];
		if (!ch->busy)
			die("id %u is not a head (used descriptor at %u)", id, pos);
		if (len > ch->wtotal)
			die("used len %u exceeds writable bytes %u of buffer %u", len, ch->wtotal, id);
		expect = ch->wtotal >= 4 ? ch->wtotal : 0;
		if (len != expect)
			die("used len %u of buffer %u, expected %u (writable bytes %u)", len, id, expect, ch->wtotal);
		drv_verify(d, id);
		d->free_stack[d->nfree++] = (uint16_t)id;
		d->pfree += ch->ndesc;
		ch->busy = false;
		d->bytes += ch->rbytes + len;
		pos = (uint16_t)(pos + ch->ndesc);
		if (pos >= d->n) {
			pos = (uint16_t)(pos - d->n);
			d->used_wrap = !d->used_wrap;
		}
		d->last_used = pos;
		d->completed++;
		got++;
		/* No interrupt is wanted (we poll): the driver event flags stay
		 * DISABLE, as for a queue without a callback. */
	}
	return got;
}

static int run_driver(const struct config *c)
{
	struct driver d;
	struct waiter w;
	uint64_t limit = (uint64_t)c->timeout_s * 1000000000ull;
	uint64_t t0;
	bool stop_submitting = false, timing = c->warmup == 0;

	drv_setup(&d, c);
	t0 = now_ns();
	wait_reset(&w, limit);

	while (d.completed < c->requests) {
		unsigned added = 0, got;

		/* add as many chains as fit, then publish once (with a fault
		 * configured: one chain per publish, so "the 3rd chain" is exact) */
		while (!stop_submitting && d.submitted < c->requests) {
			if (!d.have_pending)
				drv_generate(&d);
			if (!drv_add(&d))
				break;
			added++;
			/* reused-id: the 2nd and 3rd chains go in one batch, so that
			 * the device has both in flight when it sees the 3rd */
			if (c->fault != F_NONE && !(c->fault == F_REUSED_ID && d.submitted == 2))
				break;
		}
		if (added) {
			drv_publish(&d);
			if (g_fault_injected)
				stop_submitting = true;
			if (c->fault == F_DRV_STALL && d.submitted == 2 && c->requests > 2)
				stop_submitting = true;
		}

		got = drv_reap(&d);
		if (got)
			d.batches++;
		if (!timing && d.completed >= c->warmup) {
			t0 = now_ns();
			timing = true;
		}

		if (c->fault == F_DRV_STALL && stop_submitting && d.completed == 2) {
			/* stall: never submit the 3rd request; idle until our timeout */
			g_fault_injected = true;
			sleep_ns(limit);
			return 0;
		}
		if (added || got) {
			wait_reset(&w, g_fault_injected && GRACE_NS < limit ? GRACE_NS : limit);
		} else if (wait_expired(&w)) {
			if (c->packed)
				die("timeout after %u s waiting for a used descriptor at %u (wrap %d)",
				    c->timeout_s, d.last_used, d.used_wrap);
			die("timeout after %u s waiting for used.idx (have %u, want %u)",
			    c->timeout_s, d.last_used, (uint16_t)(d.last_used + 1));
		}
	}
	if (!g_fault_injected)
		printf("vring-peer driver ok requests=%" PRIu64 " bytes=%" PRIu64 " elapsed_ns=%"
		       PRIu64 " kicks=%" PRIu64 " interrupts=0 batches=%" PRIu64 "\n",
		       d.completed, d.bytes, now_ns() - t0, d.kicks, d.batches);
	drv_teardown(&d);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Device                                                              */
/* ------------------------------------------------------------------ */

/* A private copy of one descriptor (ring or indirect table entry). */
struct seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

/* A chain popped but not yet completed (the --reorder window). */
struct popped {
	uint16_t head;         /* split: head index; packed: buffer id */
	uint16_t ndesc;        /* packed: ring descriptors of the chain */
	uint32_t second;       /* 2nd ring descriptor of a direct chain, or NO_DESC */
	uint32_t wtotal;
	uint32_t used_len;
	uint64_t rbytes;
};

struct device {
	const struct config *c;
	struct shared sh;
	unsigned n;
	unsigned window;               /* effective --reorder (<= N) */
	struct seg *seg;               /* [2N] copies of the current chain */
	unsigned nseg;
	struct popped *win;            /* [window] */
	unsigned nwin;
	uint64_t rng;

	uint16_t last_avail;
	uint16_t used_shadow;
	uint16_t used_published;       /* used.idx as last stored */
	uint64_t popped, completed, bytes, interrupts;
	uint64_t batches;               /* steps that served a chain */

	/* packed layout: last_avail and used_shadow are ring positions */
	bool avail_wrap, used_wrap;
	uint16_t *id_desc;             /* [N] descriptors of an id in flight, 0 if not */
	unsigned inflight_desc;
	bool signalled_valid;
	int32_t batch_pos;             /* used descriptor whose flags wait for the publish, or -1 */
	uint16_t batch_flags;          /* its flags */
	unsigned batch_count;          /* used descriptors written since the last publish */
	unsigned batch_descs;          /* ring descriptors they returned */
};

static void dev_setup(struct device *d, const struct config *c)
{
	memset(d, 0, sizeof(*d));
	d->c = c;
	d->n = c->n;
	d->window = c->reorder < c->n ? c->reorder : c->n;
	map_file(c, &d->sh);
	d->seg = calloc(2 * (size_t)d->n, sizeof(*d->seg));
	d->win = calloc(d->window, sizeof(*d->win));
	d->id_desc = calloc(d->n, sizeof(*d->id_desc));
	if (!d->seg || !d->win || !d->id_desc)
		die("out of memory");
	d->avail_wrap = true;
	d->used_wrap = true;
	d->batch_pos = -1;
	/* separate stream from the driver's data for the completion order */
	d->rng = c->seed ^ 0x5DEECE66Dull;
}

static void dev_teardown(struct device *d)
{
	free(d->seg);
	free(d->win);
	free(d->id_desc);
	munmap(d->sh.base, d->sh.size);
}

static void dev_check_range(const struct device *d, uint64_t addr, uint32_t len, unsigned head)
{
	/* 64-bit and overflow-free: addr + len <= size without computing addr + len */
	if (addr > d->sh.size || len > d->sh.size - addr)
		die("address 0x%" PRIx64 " len %u outside the file (size %" PRIu64 ", chain %u)",
		    addr, len, d->sh.size, head);
}

static struct seg read_desc(const void *p)
{
	const vring_desc_t *desc = p;
	struct seg s;

	s.addr = rd64(&desc->addr);
	s.len = rd32(&desc->len);
	s.flags = rd16(&desc->flags);
	return s;
}

/* Copy an indirect table into d->seg, following next within the table. */
static void dev_walk_indirect(struct device *d, const struct seg *ind, unsigned head)
{
	const vring_desc_t *t;
	uint32_t count, i = 0, hops = 0;

	if (!d->c->indirect)
		die("indirect descriptor in chain %u but --indirect was not negotiated", head);
	if (ind->flags & VRING_DESC_F_NEXT)
		die("indirect descriptor with NEXT flag (chain %u)", head);
	if (ind->len == 0)
		die("indirect table length 0 is empty (chain %u)", head);
	if (ind->len % 16)
		die("indirect table length %u is not a multiple of 16 (chain %u)", ind->len, head);
	if (ind->len > 16u * d->n)
		die("indirect table too long (%u entries, queue size %u, chain %u)",
		    ind->len / 16, d->n, head);
	dev_check_range(d, ind->addr, ind->len, head);

	count = ind->len / 16;
	t = (const vring_desc_t *)(d->sh.base + ind->addr);
	for (;;) {
		struct seg s;
		uint16_t next;

		if (i >= count)
			die("descriptor index %u out of range (indirect table of %u entries, chain %u)",
			    i, count, head);
		if (++hops > count)
			die("descriptor loop in chain %u (indirect table of %u entries)", head, count);
		s = read_desc(&t[i]);
		next = rd16(&t[i].next);
		if (s.flags & VRING_DESC_F_INDIRECT)
			die("nested indirect descriptor in chain %u", head);
		d->seg[d->nseg++] = s;
		if (!(s.flags & VRING_DESC_F_NEXT))
			break;
		i = next;
	}
}

/*
 * Pop and service one chain. Phase 1 copies the chain into private memory
 * while checking its shape (indices, loops, indirect rules); phase 2
 * validates the copies (order, addresses); only then is memory touched.
 */
static void dev_loopback(struct device *d, uint16_t head, struct popped *out);

static void dev_service(struct device *d, uint16_t head, struct popped *out)
{
	const struct vring *vr = &d->sh.vr;
	uint32_t i = head, hops = 0;

	out->head = head;
	out->second = NO_DESC;
	d->nseg = 0;

	/* phase 1: shape */
	for (;;) {
		struct seg s;
		uint16_t next;

		if (i >= d->n)
			die("descriptor index %u out of range (queue size %u, chain %u)", i, d->n, head);
		if (++hops > d->n)
			die("descriptor loop in chain %u (more than %u descriptors)", head, d->n);
		if (hops == 2)
			out->second = i;
		s = read_desc(&vr->desc[i]);
		next = rd16(&vr->desc[i].next);
		if (s.flags & VRING_DESC_F_INDIRECT) {
			/* NEXT is rejected, so an indirect descriptor ends the chain */
			dev_walk_indirect(d, &s, head);
			break;
		}
		d->seg[d->nseg++] = s;
		if (!(s.flags & VRING_DESC_F_NEXT))
			break;
		i = next;
	}
	dev_loopback(d, head, out);
}

/*
 * Phase 2 of servicing a chain copied into d->seg (either layout): check the
 * order and every address, then the loopback: CRC32C of the readable bytes
 * into the first four writable ones, then the pattern of 'head' (the split
 * ring's head, the packed ring's buffer id).
 */
static void dev_loopback(struct device *d, uint16_t head, struct popped *out)
{
	uint8_t *base = d->sh.base;
	uint32_t crc;
	uint64_t wtotal = 0, rbytes = 0, p;
	bool seen_write = false;

	/* phase 2: order and addresses */
	for (unsigned k = 0; k < d->nseg; k++) {
		const struct seg *s = &d->seg[k];

		if (s->flags & VRING_DESC_F_WRITE) {
			seen_write = true;
			wtotal += s->len;
		} else {
			if (seen_write)
				die("readable descriptor after writable in chain %u", head);
			rbytes += s->len;
		}
		dev_check_range(d, s->addr, s->len, head);
	}
	if (wtotal > UINT32_MAX)
		die("writable bytes %" PRIu64 " of chain %u do not fit used.len", wtotal, head);

	/* loopback: CRC32C of the readable bytes, then CRC + pattern */
	crc = 0xFFFFFFFFu;
	for (unsigned k = 0; k < d->nseg && !(d->seg[k].flags & VRING_DESC_F_WRITE); k++)
		crc = crc_update(crc, base + d->seg[k].addr, d->seg[k].len);
	crc ^= 0xFFFFFFFFu;

	p = 0;
	if (wtotal >= 4) {
		for (unsigned k = 0; k < d->nseg; k++) {
			const struct seg *s = &d->seg[k];
			uint8_t *q = base + s->addr;
			uint32_t j = 0;

			if (!(s->flags & VRING_DESC_F_WRITE))
				continue;
			while (j < s->len && p < 4)
				q[j++] = expected_byte(crc, head, p++);
			while (j < s->len) {
				uint32_t run = s->len - j < 256 ? s->len - j : 256;
				memcpy(q + j, pattern + ((head + p) & 0xFF), run);
				j += run;
				p += run;
			}
		}
	}
	out->wtotal = (uint32_t)wtotal;
	out->used_len = wtotal >= 4 ? (uint32_t)wtotal : 0;
	out->rbytes = rbytes;
}

static void dev_put_used(struct device *d, uint32_t id, uint32_t len)
{
	vring_used_elem_t *e = &d->sh.vr.used->ring[d->used_shadow & (d->n - 1)];

	wr32(&e->id, id);
	wr32(&e->len, len);
	d->used_shadow++;
}

/*
 * Publish the used elements written since the last publish, then decide
 * (count) whether we would interrupt.
 */
static void pdev_publish(struct device *d);

static void dev_publish(struct device *d)
{
	const struct config *c = d->c;
	struct vring *vr = &d->sh.vr;
	uint16_t old = d->used_published;

	if (c->packed) {
		pdev_publish(d);
		return;
	}
	if (old == d->used_shadow)
		return;
	/* Release: the data written into the buffers and the used element(s)
	 * must be visible before the driver can observe the new used.idx. */
	idx_store_release(&vr->used->idx, d->used_shadow);
	d->used_published = d->used_shadow;

	/* Full barrier (virtio_mb): used.idx must be visible before we read
	 * used_event / avail.flags to decide about the interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (c->event_idx) {
		if (vring_need_event(rd16(&vring_used_event(vr)), d->used_shadow, old))
			d->interrupts++;
	} else if (!(rd16(&vr->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT)) {
		d->interrupts++;
	}
}

/*
 * Complete one chain: write its used element and publish used.idx right away
 * (one publish per completion, also with --reorder; with --used-batch U, once
 * U completions are written), then decide (count) whether we would interrupt. Applies the bad-id / not-head / bad-len faults
 * to the 3rd completion.
 */
static void dev_complete(struct device *d, const struct popped *pc)
{
	const struct config *c = d->c;
	uint32_t id = pc->head, len = pc->used_len;
	bool duplicate = false;

	d->completed++;
	if (d->completed == 3) {
		if (c->fault == F_BAD_ID) {
			id = d->n + 7;
			g_fault_injected = true;
		} else if (c->fault == F_BAD_LEN) {
			len = pc->wtotal + 100;
			g_fault_injected = true;
		} else if (c->fault == F_NOT_HEAD) {
			/* Prefer the 2nd descriptor of an outstanding direct chain
			 * (in use, but not a head). Otherwise complete the chain and
			 * repeat its id in a second used element published together
			 * with it: by then that index is free. */
			uint32_t cand = pc->second;
			for (unsigned k = 0; cand == NO_DESC && k < d->nwin; k++)
				cand = d->win[k].second;
			if (cand != NO_DESC)
				id = cand;
			else
				duplicate = true;
			g_fault_injected = true;
		}
	}
	dev_put_used(d, id, len);
	if (duplicate)
		dev_put_used(d, id, len);
	if ((uint16_t)(d->used_shadow - d->used_published) >= c->used_batch)
		dev_publish(d);
	d->bytes += pc->rbytes + pc->used_len;

	if (c->fault == F_DEV_STALL && d->completed == 2 && c->requests > 2) {
		/* stall: never complete anything again; idle until our timeout */
		g_fault_injected = true;
		sleep_ns((uint64_t)c->timeout_s * 1000000000ull);
		exit(0);
	}
}

/*
 * One pass of the device: pop the chains available right now (up to the
 * window), service them and complete them; when there are none, do
 * vhost_enable_notify() once. Returns the number completed (0: none).
 */
static unsigned pdev_step(struct device *d, bool *notify);

static unsigned dev_step(struct device *d, bool *notify)
{
	const struct config *c = d->c;
	uint16_t avail_idx;
	unsigned done = 0;

	if (c->packed)
		return pdev_step(d, notify);
	/* Acquire: the avail ring entries and the descriptors/tables/data
	 * they reference are read only after this avail.idx (virtio_rmb). */
	avail_idx = idx_load_acquire(&d->sh.vr.avail->idx);

	if ((uint16_t)(avail_idx - d->last_avail) > d->n)
		die("guest moved avail index from %u to %u", d->last_avail, avail_idx);

	/* pop up to W chains that are available right now */
	while (d->nwin < d->window && d->popped < c->requests && d->last_avail != avail_idx) {
		uint16_t head = rd16(&d->sh.vr.avail->ring[d->last_avail & (d->n - 1)]);

		d->last_avail++;
		dev_service(d, head, &d->win[d->nwin++]);
		d->popped++;
	}

	if (d->nwin == 0) {
		/* ran dry: what was completed goes to the driver now */
		dev_publish(d);
		if (!*notify && d->popped < c->requests) {
			/* vhost_enable_notify(): we ran dry, ask for kicks
			 * again (avail_event, or clear NO_NOTIFY) ... */
			if (c->event_idx)
				wr16(&vring_avail_event(&d->sh.vr), d->last_avail);
			else
				wr16(&d->sh.vr.used->flags, 0);
			*notify = true;
			/* ... then make sure that is visible and look again
			 * (the caller goes round): the driver may have slipped
			 * one in before it could see our request (its kick
			 * decision said no). Pairs with the driver's barrier in
			 * drv_publish. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			(void)idx_load_acquire(&d->sh.vr.avail->idx);
		}
		return 0;
	}

	if (*notify) {
		/* vhost_disable_notify(): busy, no kicks wanted. With
		 * EVENT_IDX, leaving avail_event behind does that. */
		if (!c->event_idx)
			wr16(&d->sh.vr.used->flags, VRING_USED_F_NO_NOTIFY);
		*notify = false;
	}

	/* complete the window in pseudo-random order */
	while (d->nwin) {
		unsigned j = d->nwin > 1 ? (unsigned)(rng_next(&d->rng) % d->nwin) : 0;
		struct popped pc = d->win[j];

		d->win[j] = d->win[--d->nwin];
		dev_complete(d, &pc);
		done++;
	}
	return done;
}

/* ------------------------------------------------------------------ */
/* Device, packed layout                                               */
/* ------------------------------------------------------------------ */

/* Copy a packed indirect table into d->seg: every entry, in order. */
static void pdev_walk_indirect(struct device *d, const struct seg *ind, unsigned count, unsigned id)
{
	const struct vring_packed_desc *t;
	uint32_t entries;

	if (!d->c->indirect)
		die("indirect descriptor in buffer %u but --indirect was not negotiated", id);
	if ((ind->flags & VRING_DESC_F_NEXT) || count > 1)
		die("indirect descriptor in a chain of %u descriptors (buffer %u)", count, id);
	if (ind->len == 0)
		die("indirect table length 0 is empty (buffer %u)", id);
	if (ind->len % 16)
		die("indirect table length %u is not a multiple of 16 (buffer %u)", ind->len, id);
	if (ind->len > 16u * d->n)
		die("indirect table too long (%u entries, queue size %u, buffer %u)", ind->len / 16, d->n, id);
	dev_check_range(d, ind->addr, ind->len, id);
	t = (const struct vring_packed_desc *)(d->sh.base + ind->addr);
	entries = ind->len / 16;
	for (uint32_t i = 0; i < entries; i++) {
		struct seg s;

		s.addr = rd64(&t[i].addr);
		s.len = rd32(&t[i].len);
		s.flags = rd16(&t[i].flags);
		if (s.flags & VRING_DESC_F_INDIRECT)
			die("nested indirect descriptor in buffer %u", id);
		d->seg[d->nseg++] = s;
	}
}

/*
 * Take and service the chain whose head at last_avail was seen available
 * (with acquire) with 'head_flags'. Phase 1 walks its shape by the flags:
 * each further descriptor available in its lap, no more than the ring holds
 * beside what is in flight, the buffer id (from the last descriptor) in range
 * and not in flight; it copies the descriptors. Phase 2 is dev_loopback.
 */
static void pdev_service(struct device *d, uint16_t head_flags, struct popped *out)
{
	const struct vring_packed_desc *ring = d->sh.pdesc;
	uint16_t pos = d->last_avail, p = pos, flags = head_flags;
	bool w = d->avail_wrap;
	unsigned count = 1, room = d->n - d->inflight_desc;
	uint16_t id;

	if (room == 0)
		die("descriptor %u is available in wrap %d while all %u descriptors are in flight", pos, w, d->n);
	while (flags & VRING_DESC_F_NEXT) {
		if (count == room)
			die("chain at %u is longer than the %u descriptors not in flight (queue size %u)",
			    pos, room, d->n);
		if (++p == d->n) {
			p = 0;
			w = !w;
		}
		flags = rd16(&ring[p].flags);
		if (!packed_is_avail(flags, w))
			die("descriptor %u of the chain at %u is not available in wrap %d (flags 0x%04x)",
			    p, pos, w, flags);
		count++;
	}
	id = rd16(&ring[p].id);
	if (id >= d->n)
		die("buffer id %u out of range (queue size %u, chain at %u)", id, d->n, pos);
	if (d->id_desc[id])
		die("buffer id %u is already in flight (chain at %u)", id, pos);

	d->nseg = 0;
	p = pos;
	for (unsigned k = 0; k < count; k++) {
		struct seg s;

		s.addr = rd64(&ring[p].addr);
		s.len = rd32(&ring[p].len);
		s.flags = k == 0 ? head_flags : rd16(&ring[p].flags);
		if (s.flags & VRING_DESC_F_INDIRECT)
			pdev_walk_indirect(d, &s, count, id);
		else
			d->seg[d->nseg++] = s;
		if (++p == d->n)
			p = 0;
	}
	out->head = id;
	out->ndesc = (uint16_t)count;
	out->second = NO_DESC;
	d->id_desc[id] = (uint16_t)count;
	d->inflight_desc += count;
	d->last_avail = (uint16_t)(pos + count);
	if (d->last_avail >= d->n) {
		d->last_avail = (uint16_t)(d->last_avail - d->n);
		d->avail_wrap = !d->avail_wrap;
	}
	dev_loopback(d, id, out);
}

/*
 * Publish the used descriptors written since the last publish (the first
 * one's flags last, with release), then decide (count) an interrupt from the
 * driver's event suppression structure.
 */
static void pdev_publish(struct device *d)
{
	const struct config *c = d->c;
	uint16_t ev_flags, since = (uint16_t)d->batch_descs;
	bool need;

	if (d->batch_pos < 0)
		return;
	/* Release: the data written into the buffers and every used
	 * descriptor's id, len (and the later ones' flags) must be visible
	 * before the first one's flags say used. */
	flags_store_release(&d->sh.pdesc[d->batch_pos].flags, d->batch_flags);
	d->batch_pos = -1;
	d->batch_count = 0;
	d->batch_descs = 0;

	/* Full barrier (virtio_mb): the flags must be visible before we read
	 * the driver's event suppression structure. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ev_flags = le16toh(__atomic_load_n(&d->sh.pdriver->flags, __ATOMIC_ACQUIRE));
	if (ev_flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
		need = false;
	} else if (!c->event_idx || ev_flags != VRING_PACKED_EVENT_FLAG_DESC || !d->signalled_valid ||
		   since >= d->n) {
		need = true;
	} else {
		uint16_t off_wrap = rd16(&d->sh.pdriver->off_wrap);
		uint16_t event = off_wrap & ~(1u << VRING_PACKED_EVENT_F_WRAP_CTR);

		if ((bool)(off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) != d->used_wrap)
			event = (uint16_t)(event - d->n);
		need = vring_need_event(event, d->used_shadow, (uint16_t)(d->used_shadow - since));
	}
	d->signalled_valid = true;
	if (need)
		d->interrupts++;
}

/*
 * Complete one chain: its used descriptor (id, len) at the used position,
 * which then moves on by the chain's descriptor count. The flags of the
 * batch's first used descriptor wait for pdev_publish (once per --used-batch
 * completions, or when the device runs dry); later ones are written at once,
 * behind it. Applies the packed device faults to the 3rd completion.
 */
static void pdev_complete(struct device *d, const struct popped *pc)
{
	const struct config *c = d->c;
	struct vring_packed_desc *ring = d->sh.pdesc;
	uint16_t pos = d->used_shadow, flags;
	uint32_t id = pc->head, len = pc->used_len;
	bool duplicate = false;

	d->completed++;
	if (d->completed == 3) {
		if (c->fault == F_BAD_ID) {
			id = d->n + 7;
			g_fault_injected = true;
		} else if (c->fault == F_BAD_LEN) {
			len = pc->wtotal + 100;
			g_fault_injected = true;
		} else if (c->fault == F_NOT_HEAD) {
			/* the same id again, in a second used descriptor */
			duplicate = true;
			g_fault_injected = true;
		}
	}
	flags = packed_used_bits(d->used_wrap) | (len ? VRING_DESC_F_WRITE : 0);
	if (d->completed == 3 && c->fault == F_USED_NO_AVAIL) {
		flags = (flags & ~(PACKED_AVAIL | PACKED_USED)) | (d->used_wrap ? PACKED_USED : PACKED_AVAIL);
		g_fault_injected = true;
	}
	wr32(&ring[pos].len, len);
	wr16(&ring[pos].id, (uint16_t)id);
	if (d->batch_pos < 0) {
		d->batch_pos = pos;
		d->batch_flags = flags;
	} else {
		wr16(&ring[pos].flags, flags);
	}
	d->batch_count++;
	d->batch_descs += pc->ndesc;
	d->id_desc[pc->head] = 0;
	d->inflight_desc -= pc->ndesc;
	d->used_shadow = (uint16_t)(pos + pc->ndesc);
	if (d->used_shadow >= d->n) {
		d->used_shadow = (uint16_t)(d->used_shadow - d->n);
		d->used_wrap = !d->used_wrap;
	}
	if (duplicate) {
		uint16_t q = d->used_shadow;

		wr32(&ring[q].len, len);
		wr16(&ring[q].id, (uint16_t)id);
		wr16(&ring[q].flags, packed_used_bits(d->used_wrap) | (len ? VRING_DESC_F_WRITE : 0));
	}
	if (d->batch_count >= c->used_batch || duplicate || g_fault_injected)
		pdev_publish(d);
	d->bytes += pc->rbytes + pc->used_len;

	if (c->fault == F_DEV_STALL && d->completed == 2 && c->requests > 2) {
		pdev_publish(d);
		g_fault_injected = true;
		sleep_ns((uint64_t)c->timeout_s * 1000000000ull);
		exit(0);
	}
}

/* One pass of the packed device, as dev_step. */
static unsigned pdev_step(struct device *d, bool *notify)
{
	const struct config *c = d->c;
	struct vring_packed_desc *ring = d->sh.pdesc;
	unsigned done = 0;

	while (d->nwin < d->window && d->popped < c->requests) {
		/* Acquire: the chain behind the head is read only after its
		 * flags say available (virtio_rmb). */
		uint16_t flags = flags_load_acquire(&ring[d->last_avail].flags);

		if (!packed_is_avail(flags, d->avail_wrap)) {
			if (packed_is_used(flags, d->avail_wrap))
				die("descriptor %u has AVAIL and USED both %d where the next available one was"
				    " expected (flags 0x%04x)", d->last_avail, d->avail_wrap, flags);
			break;
		}
		pdev_service(d, flags, &d->win[d->nwin++]);
		d->popped++;
	}

	if (d->nwin == 0) {
		/* ran dry: what was completed goes to the driver now */
		pdev_publish(d);
		if (!*notify && d->popped < c->requests) {
			/* ran dry: ask for kicks again (DESC at our position with
			 * EVENT_IDX, off_wrap first; else ENABLE) ... */
			if (c->event_idx) {
				wr16(&d->sh.pdevice->off_wrap,
				     d->last_avail | (uint16_t)(d->avail_wrap << VRING_PACKED_EVENT_F_WRAP_CTR));
				flags_store_release(&d->sh.pdevice->flags, VRING_PACKED_EVENT_FLAG_DESC);
			} else {
				wr16(&d->sh.pdevice->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
			}
			*notify = true;
			/* ... then make sure that is visible and look again (the
			 * caller goes round). Pairs with the driver's barrier in
			 * pdrv_publish. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		}
		return 0;
	}
	if (*notify) {
		wr16(&d->sh.pdevice->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
		*notify = false;
	}
	while (d->nwin) {
		unsigned j = d->nwin > 1 ? (unsigned)(rng_next(&d->rng) % d->nwin) : 0;
		struct popped pc = d->win[j];

		d->win[j] = d->win[--d->nwin];
		pdev_complete(d, &pc);
		done++;
	}
	return done;
}

static int run_device(const struct config *c)
{
	struct device d;
	struct waiter w;
	uint64_t limit = (uint64_t)c->timeout_s * 1000000000ull;
	uint64_t t0;
	bool timing = c->warmup == 0;
	/* Notifications are enabled on a fresh ring (used.flags 0, avail_event 0). */
	bool notify = true;

	dev_setup(&d, c);
	t0 = now_ns();
	wait_reset(&w, limit);

	while (d.completed < c->requests) {
		if (dev_step(&d, &notify) == 0) {
			if (wait_expired(&w)) {
				if (c->packed)
					die("timeout after %u s waiting for an available descriptor at %u (wrap %d)",
					    c->timeout_s, d.last_avail, d.avail_wrap);
				die("timeout after %u s waiting for avail.idx (have %u, want %u)",
				    c->timeout_s, d.last_avail, (uint16_t)(d.last_avail + 1));
			}
			continue;
		}
		d.batches++;
		if (!timing && d.completed >= c->warmup) {
			t0 = now_ns();
			timing = true;
		}
		wait_reset(&w, g_fault_injected && GRACE_NS < limit ? GRACE_NS : limit);
	}
	dev_publish(&d);
	if (!g_fault_injected)
		printf("vring-peer device ok requests=%" PRIu64 " bytes=%" PRIu64 " elapsed_ns=%"
		       PRIu64 " kicks=0 interrupts=%" PRIu64 " batches=%" PRIu64 "\n",
		       d.completed, d.bytes, now_ns() - t0, d.interrupts, d.batches);
	dev_teardown(&d);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Loop: both roles in one thread                                      */
/* ------------------------------------------------------------------ */

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The driver and the device take turns in one thread, each on its own
 * mapping of the file: add as many chains as fit and publish them, let the
 * device serve everything available, reap. The same work per request as the
 * two-process pair without the cross-core traffic and the waiting, timed in
 * thread CPU time, which other processes on a busy machine do not inflate.
 */
static int run_loop(const struct config *c)
{
	struct driver d;
	struct device v;
	bool notify = true, timing = c->warmup == 0;
	uint64_t t0, cpu0;

	drv_setup(&d, c);
	dev_setup(&v, c);
	t0 = now_ns();
	cpu0 = cpu_ns();
	while (d.completed < c->requests) {
		unsigned added = 0, served = 0, got;

		while (d.submitted < c->requests) {
			if (!d.have_pending)
				drv_generate(&d);
			if (!drv_add(&d))
				break;
			added++;
		}
		if (added)
			drv_publish(&d);
		for (unsigned n; (n = dev_step(&v, &notify)) > 0;)
			served += n;
		got = drv_reap(&d);
		if (!added && !served && !got)
			die("loop: no progress after %" PRIu64 " completions", d.completed);
		if (!timing && d.completed >= c->warmup) {
			t0 = now_ns();
			cpu0 = cpu_ns();
			timing = true;
		}
	}
	printf("vring-peer loop ok requests=%" PRIu64 " bytes=%" PRIu64 " elapsed_ns=%" PRIu64
	       " cpu_ns=%" PRIu64 " kicks=%" PRIu64 " interrupts=%" PRIu64 "\n",
	       d.completed, d.bytes, now_ns() - t0, cpu_ns() - cpu0, d.kicks, v.interrupts);
	drv_teardown(&d);
	dev_teardown(&v);
	return 0;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct config c;
	static const uint8_t check[] = "123456789";

	parse_args(argc, argv, &c);
	if (c.role == ROLE_SIZE) {
		printf("%" PRIu64 "\n", ring_size(&c));
		return 0;
	}
	crc_init();
	pattern_init();
	if ((crc_update(0xFFFFFFFFu, check, 9) ^ 0xFFFFFFFFu) != 0xE3069283u)
		die("CRC32C self-test failed");
	{
		static const uint8_t longer[] = "The quick brown fox jumps over the lazy dog";
		uint32_t hw = crc_update(0xFFFFFFFFu, longer, sizeof(longer) - 1);
		bool was = crc_hw;

		crc_hw = false;
		if (crc_update(0xFFFFFFFFu, longer, sizeof(longer) - 1) != hw)
			die("CRC32C self-test failed: hardware and table disagree");
		crc_hw = was;
	}
	if (c.role == ROLE_LOOP)
		return run_loop(&c);
	return c.role == ROLE_DRIVER ? run_driver(&c) : run_device(&c);
}
