/*
 * swiotlb_port.c - the kernel's SWIOTLB allocator and bounce in user space,
 * the yardstick for vqdma's Java model (vqdma.dma.Swiotlb).
 *
 * A port of kernel/dma/swiotlb.c as of Linux 6.12, default pool only
 * (no CONFIG_SWIOTLB_DYNAMIC, CONFIG_DEBUG_FS on for the used/hiwater
 * counters): swiotlb_find_slots(), swiotlb_search_pool_area(),
 * swiotlb_tbl_map_single()'s bookkeeping, swiotlb_release_slots(),
 * __swiotlb_tbl_unmap_single() and swiotlb_bounce(). The data layout is the
 * kernel's (struct io_tlb_slot of 24 bytes, struct io_tlb_area with its
 * lock), the lock a test-and-set spinlock as spin_lock_irqsave() takes on an
 * uncontended x86 CPU (one locked exchange in, one store out). What the
 * kernel does for devices vqdma does not model is left out and said so:
 * dma_get_seg_boundary() is ULONG_MAX (iommu_is_span_boundary() is false),
 * no highmem, no dev_warn (a failed mapping just returns the error).
 *
 * Guest memory is one anonymous mapping of --memory bytes addressed by GPA
 * (offset); the pool is --slabs slots at GPA --start inside it.
 *
 *   swiotlb_port replay --memory B --start GPA --slabs N --nareas A
 *                       < trace
 *   swiotlb_port bench  --size S [--dir to|from|bidi] [--pool BYTES]
 *                       [--nareas A] [--iterations N] [--warmup W]
 *                       [--rounds R] [--copy memcpy|movsb|vector]
 *
 * replay reads one command a line and answers on stdout:
 *   p SLABS NAREAS START     a new pool (the old one is dropped)
 *   m ORIG LEN ALIGN MIN AREA DIR
 *                            swiotlb_tbl_map_single() of LEN bytes at GPA
 *                            ORIG, alloc_align_mask ALIGN, the device's
 *                            min_align_mask MIN, searching from area AREA
 *                            (the kernel's raw_smp_processor_id()), DIR 0..2
 *                            (bidirectional, to device, from device);
 *                            prints the bus address, or -1
 *   u TLB LEN MIN DIR        swiotlb_tbl_unmap_single(); prints nothing
 *   s                        prints the state: "A index used" per area, then
 *                            one line each of list, pad_slots, alloc_size and
 *                            orig_addr (-1 for INVALID_PHYS_ADDR) per slot,
 *                            and "U total_used hiwater"
 * Numbers are decimal or 0x-hex. GPAs must lie inside --memory.
 *
 * bench maps and unmaps one buffer of --size bytes over and over (a default
 * 64 MiB pool, the kernel's default) and prints one line per round:
 * "ns_per_op=X cpu_ns_per_op=Y" after --warmup untimed pairs, timed over
 * --iterations pairs in wall-clock time and in the thread's CPU time (which
 * does not count the time other processes hold the CPU). --copy picks the
 * bounce's copy (memcpy, the default; rep movsb; a 16-byte vector loop) to
 * separate the copy instruction's cost from the allocator's.
 *
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o swiotlb_port swiotlb_port.c
 * Exit status: 0 ok, 1 bad trace or internal error, 2 usage.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define IO_TLB_SHIFT       11
#define IO_TLB_SIZE        (1u << IO_TLB_SHIFT)
#define IO_TLB_SEGSIZE     128u
#define PAGE_SIZE          4096u
#define INVALID_PHYS_ADDR  (~(uint64_t)0)
#define MAPPING_ERROR      (~(uint64_t)0)

enum dir { DIR_BIDIRECTIONAL = 0, DIR_TO_DEVICE = 1, DIR_FROM_DEVICE = 2 };

/* struct io_tlb_slot, field for field (24 bytes on x86-64). */
struct io_tlb_slot {
	uint64_t orig_addr;
	size_t alloc_size;
	unsigned short list;
	unsigned short pad_slots;
};

/* struct io_tlb_area: no padding between areas, as the kernel's kcalloc'd array. */
struct io_tlb_area {
	unsigned long used;
	unsigned int index;
	int lock;
};

struct pool {
	unsigned char *memory;   /* guest memory; GPA x is memory + x */
	uint64_t memory_bytes;
	uint64_t start;          /* GPA of slot 0 */
	uint64_t end;
	unsigned char *vaddr;    /* memory + start */
	unsigned long nslabs;
	unsigned int nareas;
	unsigned int area_nslabs;
	unsigned int min_align_mask;
	struct io_tlb_area *areas;
	struct io_tlb_slot *slots;
	long total_used;         /* CONFIG_DEBUG_FS: atomic_long_t total_used, used_hiwater */
	long used_hiwater;
};

static void die(const char *what)
{
	fprintf(stderr, "swiotlb_port: %s\n", what);
	exit(1);
}

/* ------------------------------------------------------------------ locks and counters */

static inline void spin_lock(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static inline void spin_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

static void inc_used_and_hiwater(struct pool *p, unsigned int nslots)
{
	long new_used = __atomic_add_fetch(&p->total_used, nslots, __ATOMIC_SEQ_CST);
	long old_hiwater = __atomic_load_n(&p->used_hiwater, __ATOMIC_RELAXED);

	while (new_used > old_hiwater &&
	       !__atomic_compare_exchange_n(&p->used_hiwater, &old_hiwater, new_used, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
}

static void dec_used(struct pool *p, unsigned int nslots)
{
	__atomic_sub_fetch(&p->total_used, nslots, __ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------ helpers */

static inline unsigned int nr_slots(uint64_t bytes)
{
	return (unsigned int)((bytes + IO_TLB_SIZE - 1) >> IO_TLB_SHIFT);
}

static inline unsigned int io_tlb_offset(unsigned int slot)
{
	return slot & (IO_TLB_SEGSIZE - 1);
}

static inline uint64_t slot_addr(uint64_t start, uint64_t idx)
{
	return start + (idx << IO_TLB_SHIFT);
}

static inline unsigned int align_offset(const struct pool *p, unsigned int align_mask, uint64_t addr)
{
	return (unsigned int)(addr & p->min_align_mask & (align_mask | (IO_TLB_SIZE - 1)));
}

static inline unsigned long get_max_slots(unsigned long mask)
{
	return (mask >> IO_TLB_SHIFT) + 1;
}

static inline unsigned int wrap_area_index(const struct pool *p, unsigned int index)
{
	return index >= p->area_nslabs ? 0 : index;
}

/* ------------------------------------------------------------------ the pool */

static void pool_init(struct pool *p, unsigned long nslabs, unsigned int nareas, uint64_t start)
{
	if (!nslabs || nslabs % IO_TLB_SEGSIZE || !nareas || (nareas & (nareas - 1)) ||
	    nslabs % ((unsigned long)nareas * IO_TLB_SEGSIZE) ||
	    start + ((uint64_t)nslabs << IO_TLB_SHIFT) > p->memory_bytes)
		die("pool: slabs must be whole segments per area, areas a power of two, the pool inside memory");
	free(p->areas);
	free(p->slots);
	p->start = start;
	p->nslabs = nslabs;
	p->end = start + ((uint64_t)nslabs << IO_TLB_SHIFT);
	p->vaddr = p->memory + start;
	p->nareas = nareas;
	p->area_nslabs = (unsigned int)(nslabs / nareas);
	p->areas = calloc(nareas, sizeof(*p->areas));
	p->slots = calloc(nslabs, sizeof(*p->slots));
	if (!p->areas || !p->slots)
		die("out of memory");
	/* swiotlb_init_io_tlb_pool() */
	for (unsigned long i = 0; i < nslabs; i++) {
		p->slots[i].list = (unsigned short)(IO_TLB_SEGSIZE - io_tlb_offset((unsigned int)i));
		p->slots[i].orig_addr = INVALID_PHYS_ADDR;
		p->slots[i].alloc_size = 0;
		p->slots[i].pad_slots = 0;
	}
	memset(p->vaddr, 0, (size_t)(p->end - p->start));
	p->total_used = 0;
	p->used_hiwater = 0;
}

/*
 * How the bounce copies (bench --copy): the kernel's memcpy() is the default, glibc's here, which on x86-64 copies
 * a few KiB and more with "rep movsb" (ERMS/FSRM), as the kernel's memcpy does on CPUs with FSRM. "vector" copies
 * with the widest vector loads and stores the CPU has (64, 32 or 16 bytes) in a loop, the shape of the JVM's copy
 * stubs (vqdma's bounce is Unsafe.copyMemory), to tell the allocator's cost from the copy instruction's when the
 * port is compared with the Java model.
 */
enum copy_kind { COPY_MEMCPY, COPY_MOVSB, COPY_VECTOR };
static enum copy_kind copy_kind = COPY_MEMCPY;

/* One loop per vector width; the widest the CPU has is picked at run time, as the JVM picks its copy stubs. */
#define COPY_LOOP(name, width, target)                                                                  \
	__attribute__((optimize("no-tree-loop-distribute-patterns"))) target                            \
	static void name(unsigned char *dst, const unsigned char *src, size_t n)                        \
	{                                                                                               \
		typedef unsigned char v __attribute__((vector_size(width), aligned(1)));                \
		size_t i = 0;                                                                           \
													\
		for (; i + (width) <= n; i += (width))                                                  \
			*(v *)(dst + i) = *(const v *)(src + i);                                        \
		for (; i < n; i++)                                                                      \
			dst[i] = src[i];                                                                \
	}
COPY_LOOP(copy_vector16, 16, )
#if defined(__x86_64__)
COPY_LOOP(copy_vector32, 32, __attribute__((target("avx2"))))
COPY_LOOP(copy_vector64, 64, __attribute__((target("avx512f"))))
#endif

static void copy_vector(unsigned char *dst, const unsigned char *src, size_t n)
{
#if defined(__x86_64__)
	static int width;

	if (!width)
		width = __builtin_cpu_supports("avx512f") ? 64 : __builtin_cpu_supports("avx2") ? 32 : 16;
	if (width == 64)
		copy_vector64(dst, src, n);
	else if (width == 32)
		copy_vector32(dst, src, n);
	else
#endif
		copy_vector16(dst, src, n);
}

static void bounce_copy(unsigned char *dst, const unsigned char *src, size_t n)
{
	switch (copy_kind) {
	case COPY_MOVSB:
#if defined(__x86_64__)
		__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
		return;
#endif
		/* fall through: rep movsb is x86's */
	case COPY_MEMCPY:
		memcpy(dst, src, n);
		return;
	case COPY_VECTOR:
		copy_vector(dst, src, n);
		return;
	}
}

/* swiotlb_bounce(): copy between a bounce buffer and its original, from any address inside a mapping. */
static void swiotlb_bounce(struct pool *p, uint64_t tlb_addr, size_t size, enum dir dir)
{
	unsigned int index = (unsigned int)((tlb_addr - p->start) >> IO_TLB_SHIFT);
	uint64_t orig_addr = p->slots[index].orig_addr;
	size_t alloc_size = p->slots[index].alloc_size;
	unsigned char *vaddr = p->vaddr + (tlb_addr - p->start);
	int tlb_offset;

	if (orig_addr == INVALID_PHYS_ADDR)
		return;
	/* Negative inside the first "offset" bytes of a later slot of the allocation. */
	tlb_offset = (int)(tlb_addr & (IO_TLB_SIZE - 1)) - (int)align_offset(p, 0, orig_addr);
	orig_addr += tlb_offset;
	alloc_size -= tlb_offset;
	if (size > alloc_size)
		size = alloc_size; /* "Buffer overflow detected" */
	if (dir == DIR_TO_DEVICE)
		bounce_copy(vaddr, p->memory + orig_addr, size);
	else
		bounce_copy(p->memory + orig_addr, vaddr, size);
}

/* swiotlb_search_pool_area(): find and take nr_slots(alloc_size) slots in one area, or -1. */
static int search_pool_area(struct pool *p, unsigned int area_index, uint64_t orig_addr, size_t alloc_size,
			    unsigned int alloc_align_mask)
{
	struct io_tlb_area *area = p->areas + area_index;
	unsigned int iotlb_align_mask = p->min_align_mask;
	unsigned int nslots = nr_slots(alloc_size), stride;
	unsigned int offset = align_offset(p, 0, orig_addr);
	unsigned int index, slots_checked, count = 0, i;
	unsigned int slot_base, slot_index = 0;

	/* Allocations of a page or more stay page aligned when nothing else is asked. */
	if (!alloc_align_mask && !iotlb_align_mask && alloc_size >= PAGE_SIZE)
		alloc_align_mask = PAGE_SIZE - 1;
	/* At least slot aligned; the min_align_mask bits below that are kept by the offset. */
	alloc_align_mask |= IO_TLB_SIZE - 1;
	iotlb_align_mask &= ~alloc_align_mask;
	stride = (unsigned int)get_max_slots(alloc_align_mask > iotlb_align_mask ? alloc_align_mask : iotlb_align_mask);

	spin_lock(&area->lock);
	if (nslots > p->area_nslabs - area->used)
		goto not_found;
	slot_base = area_index * p->area_nslabs;
	index = area->index;
	for (slots_checked = 0; slots_checked < p->area_nslabs;) {
		uint64_t tlb_addr;

		slot_index = slot_base + index;
		tlb_addr = slot_addr(p->start, slot_index);
		/* The kernel skips this test for orig_addr == 0 (swiotlb_alloc()); GPA 0 is a buffer here. */
		if ((tlb_addr & alloc_align_mask) ||
		    (tlb_addr & iotlb_align_mask) != (orig_addr & iotlb_align_mask)) {
			index = wrap_area_index(p, index + 1);
			slots_checked++;
			continue;
		}
		if (p->slots[slot_index].list >= nslots)
			goto found;
		index = wrap_area_index(p, index + stride);
		slots_checked += stride;
	}
not_found:
	spin_unlock(&area->lock);
	return -1;

found:
	for (i = slot_index; i < slot_index + nslots; i++) {
		p->slots[i].list = 0;
		p->slots[i].alloc_size = alloc_size - (offset + ((i - slot_index) << IO_TLB_SHIFT));
	}
	for (i = slot_index - 1; io_tlb_offset(i) != IO_TLB_SEGSIZE - 1 && p->slots[i].list; i--)
		p->slots[i].list = (unsigned short)++count;
	area->index = wrap_area_index(p, index + nslots);
	area->used += nslots;
	spin_unlock(&area->lock);
	inc_used_and_hiwater(p, nslots);
	return (int)slot_index;
}

/* swiotlb_find_slots() without dynamic pools: the start area, then the others in turn. */
static int find_slots(struct pool *p, uint64_t orig_addr, size_t alloc_size, unsigned int alloc_align_mask,
		      unsigned int start)
{
	unsigned int i = start;

	do {
		int index = search_pool_area(p, i, orig_addr, alloc_size, alloc_align_mask);

		if (index >= 0)
			return index;
		if (++i >= p->nareas)
			i = 0;
	} while (i != start);
	return -1;
}

/* swiotlb_tbl_map_single(): allocate, record, bounce in (every direction: the 2022 info-leak fix). */
static uint64_t tbl_map_single(struct pool *p, uint64_t orig_addr, size_t mapping_size,
			       unsigned int alloc_align_mask, unsigned int area)
{
	unsigned int offset = align_offset(p, alloc_align_mask, orig_addr);
	size_t size = (mapping_size + offset + alloc_align_mask) & ~(size_t)alloc_align_mask;
	unsigned short pad_slots;
	uint64_t tlb_addr;
	int index = find_slots(p, orig_addr, size, alloc_align_mask, area);

	if (index == -1)
		return MAPPING_ERROR;
	pad_slots = (unsigned short)(offset >> IO_TLB_SHIFT);
	offset &= IO_TLB_SIZE - 1;
	index += pad_slots;
	p->slots[index].pad_slots = pad_slots;
	for (unsigned int i = 0; i < nr_slots(size) - pad_slots; i++)
		p->slots[index + i].orig_addr = slot_addr(orig_addr, i);
	tlb_addr = slot_addr(p->start, (unsigned int)index) + offset;
	swiotlb_bounce(p, tlb_addr, mapping_size, DIR_TO_DEVICE);
	return tlb_addr;
}

/* swiotlb_release_slots(): the run takes the free count behind it, then the free slots in front count on. */
static void release_slots(struct pool *p, uint64_t tlb_addr)
{
	unsigned int offset = align_offset(p, 0, tlb_addr);
	int index = (int)((tlb_addr - offset - p->start) >> IO_TLB_SHIFT);
	int nslots, count, i;
	struct io_tlb_area *area;

	index -= p->slots[index].pad_slots;
	nslots = (int)nr_slots(p->slots[index].alloc_size + offset);
	area = &p->areas[index / p->area_nslabs];
	spin_lock(&area->lock);
	if ((unsigned int)(index + nslots) < ((unsigned int)index + IO_TLB_SEGSIZE) / IO_TLB_SEGSIZE * IO_TLB_SEGSIZE)
		count = p->slots[index + nslots].list;
	else
		count = 0;
	for (i = index + nslots - 1; i >= index; i--) {
		p->slots[i].list = (unsigned short)++count;
		p->slots[i].orig_addr = INVALID_PHYS_ADDR;
		p->slots[i].alloc_size = 0;
		p->slots[i].pad_slots = 0;
	}
	for (i = index - 1; io_tlb_offset((unsigned int)i) != IO_TLB_SEGSIZE - 1 && p->slots[i].list; i--)
		p->slots[i].list = (unsigned short)++count;
	area->used -= nslots;
	spin_unlock(&area->lock);
	dec_used(p, (unsigned int)nslots);
}

/* __swiotlb_tbl_unmap_single(): bounce back for FROM_DEVICE and BIDIRECTIONAL, then release. */
static void tbl_unmap_single(struct pool *p, uint64_t tlb_addr, size_t mapping_size, enum dir dir)
{
	if (dir == DIR_FROM_DEVICE || dir == DIR_BIDIRECTIONAL)
		swiotlb_bounce(p, tlb_addr, mapping_size, DIR_FROM_DEVICE);
	release_slots(p, tlb_addr);
}

/* ------------------------------------------------------------------ replay */

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	if (!strcmp(s, "-1"))
		return ~(uint64_t)0;
	v = strtoull(s, &end, 0);
	if (*end)
		die("bad number in trace");
	return v;
}

static void dump(const struct pool *p)
{
	for (unsigned int a = 0; a < p->nareas; a++)
		printf("A %u %lu\n", p->areas[a].index, p->areas[a].used);
	putchar('L');
	for (unsigned long i = 0; i < p->nslabs; i++)
		printf(" %u", p->slots[i].list);
	printf("\nP");
	for (unsigned long i = 0; i < p->nslabs; i++)
		printf(" %u", p->slots[i].pad_slots);
	printf("\nS");
	for (unsigned long i = 0; i < p->nslabs; i++)
		printf(" %zu", p->slots[i].alloc_size);
	printf("\nO");
	for (unsigned long i = 0; i < p->nslabs; i++) {
		if (p->slots[i].orig_addr == INVALID_PHYS_ADDR)
			printf(" -1");
		else
			printf(" %" PRIu64, p->slots[i].orig_addr);
	}
	printf("\nU %ld %ld\n", p->total_used, p->used_hiwater);
}

static int replay(struct pool *p)
{
	char line[512];
	char *tok[8];
	unsigned long lineno = 0;

	while (fgets(line, sizeof(line), stdin)) {
		int n = 0;

		lineno++;
		for (char *t = strtok(line, " \t\r\n"); t && n < 8; t = strtok(NULL, " \t\r\n"))
			tok[n++] = t;
		if (n == 0)
			continue;
		if (!strcmp(tok[0], "p") && n == 4) {
			pool_init(p, (unsigned long)num(tok[1]), (unsigned int)num(tok[2]), num(tok[3]));
		} else if (!strcmp(tok[0], "m") && n == 7) {
			uint64_t orig = num(tok[1]), len = num(tok[2]);
			unsigned int area = (unsigned int)num(tok[5]);

			p->min_align_mask = (unsigned int)num(tok[4]);
			if (!p->slots || !len || orig + len > p->memory_bytes || area >= p->nareas)
				die("map outside memory, of nothing, or from a missing area");
			uint64_t tlb = tbl_map_single(p, orig, (size_t)len, (unsigned int)num(tok[3]), area);
			if (tlb == MAPPING_ERROR)
				puts("-1");
			else
				printf("%" PRIu64 "\n", tlb);
		} else if (!strcmp(tok[0], "u") && n == 5) {
			uint64_t tlb = num(tok[1]);

			p->min_align_mask = (unsigned int)num(tok[3]);
			if (!p->slots || tlb < p->start || tlb >= p->end)
				die("unmap of an address outside the pool");
			tbl_unmap_single(p, tlb, (size_t)num(tok[2]), (enum dir)num(tok[4]));
		} else if (!strcmp(tok[0], "s") && n == 1) {
			if (!p->slots)
				die("state of no pool");
			dump(p);
		} else {
			fprintf(stderr, "swiotlb_port: line %lu: unknown command\n", lineno);
			return 1;
		}
	}
	return fflush(stdout) ? 1 : 0;
}

/* ------------------------------------------------------------------ bench */

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench(struct pool *p, size_t size, enum dir dir, unsigned long iterations, unsigned long warmup,
		 int rounds, unsigned int area)
{
	/* The buffer sits behind the pool, page aligned, filled like the Java benchmark's. */
	uint64_t buffer = (p->end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	volatile uint64_t sink = 0;

	for (size_t i = 0; i < size; i++)
		p->memory[buffer + i] = (unsigned char)(i * 7);
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = 0, c0 = 0;

		for (unsigned long i = 0; i < warmup + iterations; i++) {
			uint64_t tlb;

			if (i == warmup) {
				t0 = now_ns(CLOCK_MONOTONIC);
				c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
			}
			tlb = tbl_map_single(p, buffer, size, 0, area);
			if (tlb == MAPPING_ERROR)
				die("bench: the mapping failed");
			tbl_unmap_single(p, tlb, size, dir);
			sink += tlb;
		}
		printf("ns_per_op=%.1f cpu_ns_per_op=%.1f\n", (double)(now_ns(CLOCK_MONOTONIC) - t0) / (double)iterations,
		       (double)(now_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)iterations);
		fflush(stdout);
	}
	return sink == 1; /* never: keeps the loop's result alive */
}

/* ------------------------------------------------------------------ main */

static int usage(void)
{
	fputs("usage: swiotlb_port replay --memory B --start GPA --slabs N --nareas A < trace\n"
	      "       swiotlb_port bench --size S [--dir to|from|bidi] [--pool BYTES] [--nareas A]\n"
	      "                          [--iterations N] [--warmup W] [--rounds R] [--area I]\n"
	      "                          [--copy memcpy|movsb|vector]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct pool p = { 0 };
	uint64_t memory = 0, start = 0, slabs = 0, pool_bytes = 64u << 20, size = 0;
	unsigned long iterations = 1000000, warmup = 100000;
	unsigned int nareas = 2, area = 0;
	int rounds = 1;
	enum dir dir = DIR_TO_DEVICE;

	if (argc < 2)
		return usage();
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];

		if (i + 1 >= argc)
			return usage();
		const char *v = argv[++i];
		if (!strcmp(o, "--memory"))
			memory = num(v);
		else if (!strcmp(o, "--start"))
			start = num(v);
		else if (!strcmp(o, "--slabs"))
			slabs = num(v);
		else if (!strcmp(o, "--nareas"))
			nareas = (unsigned int)num(v);
		else if (!strcmp(o, "--pool"))
			pool_bytes = num(v);
		else if (!strcmp(o, "--size"))
			size = num(v);
		else if (!strcmp(o, "--iterations"))
			iterations = (unsigned long)num(v);
		else if (!strcmp(o, "--warmup"))
			warmup = (unsigned long)num(v);
		else if (!strcmp(o, "--rounds"))
			rounds = (int)num(v);
		else if (!strcmp(o, "--area"))
			area = (unsigned int)num(v);
		else if (!strcmp(o, "--copy"))
			copy_kind = !strcmp(v, "memcpy") ? COPY_MEMCPY : !strcmp(v, "movsb") ? COPY_MOVSB :
				    !strcmp(v, "vector") ? COPY_VECTOR : (enum copy_kind)-1;
		else if (!strcmp(o, "--dir"))
			dir = !strcmp(v, "to") ? DIR_TO_DEVICE : !strcmp(v, "from") ? DIR_FROM_DEVICE :
			      !strcmp(v, "bidi") ? DIR_BIDIRECTIONAL : (enum dir)-1;
		else
			return usage();
	}
	if (!strcmp(argv[1], "replay")) {
		if (!memory)
			return usage();
	} else if (!strcmp(argv[1], "bench")) {
		if (!size || size > IO_TLB_SEGSIZE * IO_TLB_SIZE || (int)dir < 0 || (int)copy_kind < 0 || !iterations ||
		    rounds < 1)
			return usage();
		start = PAGE_SIZE; /* GPA 0 stays unused, as in the Java benchmark's guest memory */
		slabs = pool_bytes >> IO_TLB_SHIFT;
		memory = start + pool_bytes + 2 * PAGE_SIZE + size;
	} else {
		return usage();
	}
	/* Plain 4 KiB pages, as a direct ByteBuffer gets them (no MADV_HUGEPAGE). */
	p.memory = mmap(NULL, memory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p.memory == MAP_FAILED)
		die("cannot map guest memory");
	p.memory_bytes = memory;
	if (!strcmp(argv[1], "replay")) {
		if (slabs)
			pool_init(&p, (unsigned long)slabs, nareas, start);
		return replay(&p);
	}
	pool_init(&p, (unsigned long)slabs, nareas, start);
	if (area >= nareas)
		return usage();
	return bench(&p, (size_t)size, dir, iterations, warmup, rounds, area);
}
