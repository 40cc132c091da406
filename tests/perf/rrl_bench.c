/*
 * Micro-benchmark of rrl.c (DESIGN §10): the cost of a check with the
 * table per worker (private memory) against one table shared by the
 * workers (MAP_SHARED), with many clients and with one flooded bucket.
 * Prints ns per operation; asserts nothing.
 *
 *   make bench-rrl      (build/perf/rrl_bench [checks per process,
 *                        default 2000000])
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rrl.h"

#define BUCKETS 65536
#define CLIENTS 16384 /* distinct keys per process in the "many" runs */
#define T0 UINT64_C(1000000000)

static const uint8_t seed[RRL_SEED_LEN] = { 7, 6, 5, 4, 3, 2, 1 };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static struct rrl_table *table(int shared)
{
	size_t size = rrl_table_size(BUCKETS);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED || !rrl_table_init(mem, BUCKETS, seed))
		exit(1);
	return mem;
}

/* Keys of distinct /24 clients asking for www.example.com, offset by
 * who so two processes ask for disjoint sets. */
static void keys(const struct rrl_table *t, uint64_t *k, int who)
{
	static const uint8_t name[] = "\3www\7example\3com";

	for (uint32_t i = 0; i < CLIENTS; i++) {
		uint8_t addr[16] = { 10, (uint8_t)who, (uint8_t)(i >> 8), (uint8_t)i };

		k[i] = rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, name, sizeof(name));
	}
}

/* n checks; many: cycling through the keys (each client well under
 * the rate: 1 query per CLIENTS checks), else all on k[0] (a flood).
 * Checks back to back: an upper bound on contention (a worker spends
 * ~5 µs a query between two checks). */
static double run(struct rrl_table *t, const uint64_t *k, long n, int many)
{
	struct rrl_params p = { .rate = 20, .slip = 2, .window = 15, .v4_prefix = 24,
				.v6_prefix = 56 };
	volatile unsigned sink = 0;
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		sink += rrl_check(t, &p, many ? k[i % CLIENTS] : k[0],
				  T0 + (uint64_t)i / 1000, NULL);
	(void)sink;
	return (now_ns() - t0) / (double)n;
}

/* procs processes on CPUs 0.., each n checks, started together; prints
 * each one's ns/check and the wall time over the checks of all. */
static void scenario(const char *label, int procs, int shared, int many, long n)
{
	struct rrl_table *common = shared ? table(1) : NULL;
	double *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int *ready = (int *)(res + 16);

	for (int c = 0; c < procs; c++) {
		if (fork() == 0) {
			struct rrl_table *t = shared ? common : table(0);
			uint64_t *k = malloc(CLIENTS * sizeof(*k));

			pin(c);
			/* A flood: every process sees the same victim prefix. */
			keys(t, k, many ? c : 0);
			run(t, k, CLIENTS, 1); /* warm the table and the caches */
			__atomic_fetch_add(ready, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(ready, __ATOMIC_SEQ_CST) < procs)
				;
			res[c] = run(t, k, n, many);
			_exit(0);
		}
	}
	for (int c = 0; c < procs; c++)
		wait(NULL);
	printf("%-44s", label);
	for (int c = 0; c < procs; c++)
		printf(" %6.1f", res[c]);
	printf(" ns/check\n");
	fflush(stdout);
	munmap(res, 4096);
	if (common)
		munmap(common, rrl_table_size(BUCKETS));
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	struct rrl_table *t = table(0);
	uint64_t *k = malloc(CLIENTS * sizeof(*k));
	double t0;

	pin(0);
	t0 = now_ns();
	for (int r = 0; r < 20; r++)
		keys(t, k, r);
	printf("%-44s %6.1f ns/key\n", "rrl_key (IPv4, 17-byte name)",
	       (now_ns() - t0) / (20.0 * CLIENTS));
	scenario("1 process, many clients", 1, 0, 1, n);
	scenario("1 process, one flooded bucket", 1, 0, 0, n);
	scenario("2 processes, per-worker tables, many", 2, 0, 1, n);
	scenario("2 processes, shared table, many", 2, 1, 1, n);
	scenario("2 processes, per-worker tables, one bucket", 2, 0, 0, n);
	scenario("2 processes, shared table, one bucket", 2, 1, 0, n);
	return 0;
}
