/*
 * cpu_pingpong: the round-trip time of one cache line between two CPUs.
 *
 *   cpu_pingpong [CPU_A CPU_B [ROUND_TRIPS]]     defaults: 0 1 20000
 *
 * Two threads, pinned to CPU_A and CPU_B, take turns writing a counter that the other spins on (each in its own
 * 128-byte block, so that the adjacent-line prefetcher does not pair them): every round trip moves two cache lines
 * between the CPUs, the least any two spinning peers of a ring pay per request. Prints the median over 9 runs of
 * ROUND_TRIPS round trips, in nanoseconds, and the fastest and slowest run.
 *
 * Why: on a virtual machine this time is not a property of the CPU model. It depends on where the hypervisor
 * placed the two vCPUs (hyperthreads of one core, two cores of one L3, two dies) and it can change while a
 * benchmark runs; scripts/ring-compare prints it beside every round, so that a round run while the vCPUs were far
 * apart is not read as a change of the code.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(128) volatile uint64_t ping;
static _Alignas(128) volatile uint64_t pong;
static uint64_t trips;
static int cpu_b;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
		fprintf(stderr, "cpu_pingpong: cannot pin a thread to CPU %d\n", cpu);
		exit(1);
	}
}

static void *echo(void *arg)
{
	(void)arg;
	pin(cpu_b);
	for (uint64_t i = 1; i <= trips; i++) {
		while (ping != i)
			__builtin_ia32_pause();
		pong = i;
	}
	return NULL;
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int cpu_a = argc > 2 ? atoi(argv[1]) : 0;
	double ns[9];

	cpu_b = argc > 2 ? atoi(argv[2]) : 1;
	trips = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000;
	if (trips < 1) {
		fprintf(stderr, "cpu_pingpong: ROUND_TRIPS must be at least 1\n");
		return 2;
	}
	pin(cpu_a);
	for (int r = 0; r < 9; r++) {
		pthread_t t;
		double t0;

		ping = 0;
		pong = 0;
		if (pthread_create(&t, NULL, echo, NULL) != 0) {
			fprintf(stderr, "cpu_pingpong: cannot start a thread\n");
			return 1;
		}
		t0 = now_ns();
		for (uint64_t i = 1; i <= trips; i++) {
			ping = i;
			while (pong != i)
				__builtin_ia32_pause();
		}
		ns[r] = (now_ns() - t0) / (double)trips;
		pthread_join(t, NULL);
	}
	qsort(ns, 9, sizeof(ns[0]), cmp);
	printf("cpu_pingpong cpus=%d,%d round_trip_ns=%.0f min_ns=%.0f max_ns=%.0f\n", cpu_a, cpu_b, ns[4], ns[0], ns[8]);
	return 0;
}
