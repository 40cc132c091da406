/*
 * Response rate limiting (rrl.h). Expected verdicts are hand-computed
 * from BIND's rules (DESIGN §10): the account starts at `rate`
 * credits, earns rate per second up to rate, every response costs one,
 * a response is limited if the account would go negative, and the
 * account goes no lower than -rate * window. With rate 5 a response
 * costs 200 ms of credit.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dname.h"
#include "rrl.h"

#define P RRL_PASS
#define D RRL_DROP
#define S RRL_SLIP
/* An arbitrary monotonic time, in ms. */
#define T0 UINT64_C(1000000000)

static const uint8_t seed[RRL_SEED_LEN] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
					    0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0 };

static struct rrl_table *table(size_t n)
{
	size_t size = rrl_table_size(n);
	void *mem;

	cr_assert_gt(size, 0);
	mem = aligned_alloc(RRL_ALIGN, size);
	cr_assert_not_null(mem);
	cr_assert_eq(rrl_table_init(mem, n, seed), mem);
	return mem;
}

static struct rrl_params params(uint32_t rate, uint32_t slip, uint32_t window)
{
	struct rrl_params p = { .rate = rate, .slip = slip, .window = window,
				.v4_prefix = 24, .v6_prefix = 56 };
	return p;
}

static int family_of(const char *text, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1)
		return AF_INET;
	cr_assert_eq(inet_pton(AF_INET6, text, addr), 1, "%s", text);
	return AF_INET6;
}

/* The key of a client at a prefix length (the same for both families). */
static uint64_t key_at(const struct rrl_table *t, const char *client, uint8_t prefix,
		       enum rrl_class cls, const char *name)
{
	uint8_t addr[16];
	int family = family_of(client, addr);

	return rrl_key(t, family, addr, prefix, prefix, cls, (const uint8_t *)name,
		       name ? strlen(name) + 1 : 0);
}

static uint64_t key_of(const struct rrl_table *t, const char *client)
{
	uint8_t addr[16];
	int family = family_of(client, addr);

	return rrl_key(t, family, addr, 24, 56, RRL_POSITIVE, (const uint8_t *)"\3www\7example", 13);
}

/* Checks key n times at now and asserts the verdicts. */
static void expect(struct rrl_table *t, const struct rrl_params *p, uint64_t key,
		   uint64_t now, const enum rrl_verdict *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum rrl_verdict v = rrl_check(t, p, key, now, NULL);

		cr_assert_eq(v, want[i], "check %zu at T0%+lld ms: %d, want %d", i,
			     (long long)(now - T0), v, want[i]);
	}
}

#define EXPECT(t, p, key, now, ...)                                                    \
	do {                                                                           \
		const enum rrl_verdict want_[] = { __VA_ARGS__ };                      \
		expect(t, p, key, now, want_, sizeof(want_) / sizeof(want_[0]));      \
	} while (0)

Test(rrl, table_size)
{
	cr_assert_eq(rrl_table_size(0), 0);
	cr_assert_eq(rrl_table_size(2), 0);
	cr_assert_eq(rrl_table_size(12), 0);
	cr_assert_eq(rrl_table_size(SIZE_MAX / 2 + 1), 0);
	cr_assert_eq(rrl_table_size(4), 64 + 4 * 16);
	cr_assert_eq(rrl_table_size(65536), 64 + 65536 * 16);
}

Test(rrl, init_refuses_bad_memory)
{
	void *mem = aligned_alloc(RRL_ALIGN, rrl_table_size(8) + RRL_ALIGN);

	cr_assert_null(rrl_table_init(NULL, 8, seed));
	cr_assert_null(rrl_table_init(mem, 6, seed));
	cr_assert_null(rrl_table_init((uint8_t *)mem + 8, 8, seed));
	cr_assert_not_null(rrl_table_init(mem, 8, seed));
	free(mem);
}

Test(rrl, attach)
{
	size_t size = rrl_table_size(64);
	uint8_t *mem = aligned_alloc(RRL_ALIGN, size);

	memset(mem, 0, size);
	cr_assert_null(rrl_table_attach(mem, size), "no table yet");
	cr_assert_not_null(rrl_table_init(mem, 64, seed));
	cr_assert_eq(rrl_table_attach(mem, size), (struct rrl_table *)mem);
	cr_assert_null(rrl_table_attach(mem, size - 16));
	cr_assert_null(rrl_table_attach(mem, rrl_table_size(128)));
	cr_assert_null(rrl_table_attach(NULL, size));
	cr_assert_null(rrl_table_attach(mem, 10));
	free(mem);
}

/* Rate 5: the full account passes 5 at once, the 6th is limited and
 * costs too (the account is then 200 ms in debt); 199 ms later it is
 * still 1 ms short; at +1 s 600 ms of credit buy 3 responses. */
Test(rrl, rate_five_first_second)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 15);
	uint64_t k = key_of(t, "192.0.2.1");

	EXPECT(t, &p, k, T0, P, P, P, P, P, D);
	EXPECT(t, &p, k, T0 + 199, D);
	EXPECT(t, &p, k, T0 + 1000, P, P, P, D);
	free(t);
}

/* Credit comes back continuously: one response per 200 ms, the full 5
 * after a second of silence, never more than 5 at once. */
Test(rrl, refill)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 15);
	uint64_t a = key_of(t, "192.0.2.1"), b = key_of(t, "198.51.100.1");

	EXPECT(t, &p, a, T0, P, P, P, P, P);
	EXPECT(t, &p, a, T0 + 1000, P, P, P, P, P, D);
	EXPECT(t, &p, b, T0, P, P, P, P, P);
	EXPECT(t, &p, b, T0 + 199, D);
	EXPECT(t, &p, b, T0 + 400, P, D);
	/* A minute of silence still buys only one second's burst. */
	EXPECT(t, &p, b, T0 + 60000, P, P, P, P, P, D);
	free(t);
}

/*
 * 100 responses at once: 5 pass, 95 cost 19 s of credit, but the debt
 * stops at window seconds: with window 2 the account is back at 0 at
 * +2 s (a response at +2199 ms is 1 ms short and costs its 200 ms),
 * with window 15 at +15 s, not +19 s.
 */
Test(rrl, window_bounds_debt)
{
	struct rrl_table *t = table(1024);
	struct rrl_params w2 = params(5, 0, 2), w15 = params(5, 0, 15);
	uint64_t a = key_of(t, "192.0.2.1"), b = key_of(t, "198.51.100.1");
	int pass = 0;

	for (int i = 0; i < 100; i++)
		pass += rrl_check(t, &w2, a, T0, NULL) == RRL_PASS;
	cr_assert_eq(pass, 5);
	EXPECT(t, &w2, a, T0 + 2199, D);
	EXPECT(t, &w2, a, T0 + 2400, P, D);

	for (int i = 0; i < 100; i++)
		rrl_check(t, &w15, b, T0, NULL);
	EXPECT(t, &w15, b, T0 + 2400, D);
	/* That one cost 200 ms too, but the debt was already at its floor
	 * only at T0: at +2.4 s it was 12.6 s, now 12.8 s. */
	EXPECT(t, &w15, b, T0 + 15199, D);
	EXPECT(t, &w15, b, T0 + 15600, P, D);
	free(t);
}

/* Window 0: no debt at all, a limited response costs nothing. */
Test(rrl, window_zero)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 0);
	uint64_t k = key_of(t, "192.0.2.1");

	EXPECT(t, &p, k, T0, P, P, P, P, P, D, D, D, D);
	EXPECT(t, &p, k, T0 + 200, P, D);
	free(t);
}

/* A worker whose clock reads a little behind the one that wrote the
 * bucket sees the debt at its floor, not a wrapped (empty) account; a
 * window lowered on a live table (SIGHUP) clamps the debt to it. */
Test(rrl, skew_and_new_window)
{
	struct rrl_table *t = table(1024);
	struct rrl_params w15 = params(5, 0, 15), w2 = params(5, 0, 2);
	uint64_t k = key_of(t, "192.0.2.1");

	for (int i = 0; i < 100; i++)
		rrl_check(t, &w15, k, T0, NULL);
	EXPECT(t, &w15, k, T0 - 5, D);
	EXPECT(t, &w15, k, T0 - 9000, D);
	/* The floor was at T0 + 15 s; with window 2 it is 2 s from now. */
	EXPECT(t, &w2, k, T0 + 1, D);
	EXPECT(t, &w2, k, T0 + 2200, D);
	EXPECT(t, &w2, k, T0 + 2401, P, D);
	free(t);
}

/* Slip: the first limited response of a bucket is TC (BIND's order),
 * then every Nth. */
Test(rrl, slip)
{
	struct rrl_table *t = table(1024);
	struct rrl_params s0 = params(5, 0, 15), s1 = params(5, 1, 15);
	struct rrl_params s2 = params(5, 2, 15), s3 = params(5, 3, 15);

	EXPECT(t, &s0, key_of(t, "192.0.2.1"), T0, P, P, P, P, P, D, D, D, D, D, D, D);
	EXPECT(t, &s1, key_of(t, "192.0.3.1"), T0, P, P, P, P, P, S, S, S, S, S, S, S);
	EXPECT(t, &s2, key_of(t, "192.0.4.1"), T0, P, P, P, P, P, S, D, S, D, S, D, S, D, S, D);
	EXPECT(t, &s3, key_of(t, "192.0.5.1"), T0, P, P, P, P, P, S, D, D, S, D, D, S, D, D, S);
	/* 3 s later the account is full again; the phase carries on (BIND
	 * would restart it with a TC). */
	EXPECT(t, &s3, key_of(t, "192.0.5.1"), T0 + 3000, P, P, P, P, P, D, D, S, D);
	free(t);
}

/* Slip 2 over 1000 limited responses: exactly half are TC. */
Test(rrl, slip_two_alternates_exactly)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 2, 15);
	uint64_t k = key_of(t, "192.0.2.1");
	int n[3] = { 0 };

	for (int i = 0; i < 1005; i++) {
		enum rrl_verdict v = rrl_check(t, &p, k, T0 + (uint64_t)i, NULL);

		cr_assert(i < 5 ? v == P : v == (i % 2 ? S : D), "response %d: %d", i, v);
		n[v]++;
	}
	cr_assert_eq(n[P], 5);
	cr_assert_eq(n[S], 500);
	cr_assert_eq(n[D], 500);
	free(t);
}

/* Log-only: everything passes, the note says what would have happened,
 * accounted exactly as without log-only; one summary per interval. */
Test(rrl, log_only)
{
	struct rrl_table *t = table(1024), *ref = table(1024);
	struct rrl_params p = params(5, 2, 15), lim = p;
	uint64_t k = key_of(t, "192.0.2.1");
	struct rrl_note note;
	int logs = 0;

	p.log_only = true;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(rrl_check(t, &p, k, T0, &note), RRL_PASS);
		cr_assert_eq(note.would, rrl_check(ref, &lim, k, T0, NULL), "response %d", i);
		cr_assert_eq(note.would, i < 5 ? P : (i % 2 ? S : D), "response %d", i);
		if (note.log) {
			logs++;
			cr_assert_eq(i, 5);
			cr_assert_eq(note.limited, 1);
		}
	}
	cr_assert_eq(logs, 1);
	/* 9.999 s later: still limited (15 s of debt), not logged yet. */
	cr_assert_eq(rrl_check(t, &p, k, T0 + 9999, &note), RRL_PASS);
	cr_assert_eq(note.would, D);
	cr_assert_not(note.log);
	/* 10 s: the next line counts the 94 + 1 since the first, and this. */
	cr_assert_eq(rrl_check(t, &p, k, T0 + 10000, &note), RRL_PASS);
	cr_assert_eq(note.would, S);
	cr_assert(note.log);
	cr_assert_eq(note.limited, 96);
	free(t);
	free(ref);
}

/* The same summary rule when limiting for real. */
Test(rrl, log_summary_once_per_interval)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 15);
	uint64_t k = key_of(t, "192.0.2.1");
	struct rrl_note note;
	int logs = 0;
	uint32_t total = 0;

	/* 100 a second for 30 s: the account leads now by -1000 + 190 j ms
	 * before the jth, so 5 pass, then lines at 50 ms, 10 s and 20 s. */
	for (uint64_t ms = 0; ms < 30000; ms += 10) {
		rrl_check(t, &p, k, T0 + ms, &note);
		if (note.log) {
			logs++;
			total += note.limited;
			cr_assert_eq(ms % 10000, ms < 10000 ? 50 : 0, "line at %llu ms",
				     (unsigned long long)ms);
		}
	}
	cr_assert_eq(logs, 3);
	/* The first line counts itself, the second the 994 limited at
	 * 60..9990 ms and itself, the third 10010..19990 and itself. */
	cr_assert_eq(total, 1 + 995 + 1000);
	free(t);
}

Test(rrl, rate_zero_is_off)
{
	struct rrl_table *t = table(64);
	struct rrl_params p = params(0, 2, 15);
	struct rrl_note note;
	uint8_t zero[64 * 16] = { 0 };

	for (int i = 0; i < 100; i++) {
		cr_assert_eq(rrl_check(t, &p, key_of(t, "192.0.2.1"), T0, &note), RRL_PASS);
		cr_assert_eq(note.would, RRL_PASS);
		cr_assert_not(note.log);
	}
	cr_assert_eq(memcmp((uint8_t *)t + 64, zero, sizeof(zero)), 0, "rate 0 wrote a bucket");
	free(t);
}

/* The 44-bit µs clock of a bucket wraps every 203 days: a sequence
 * across the wrap is accounted like any other. */
Test(rrl, time_wrap)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 15);
	uint64_t wrap = (UINT64_C(1) << 44) / 1000; /* ms */
	uint64_t k = key_of(t, "192.0.2.1");

	EXPECT(t, &p, k, wrap - 100, P, P, P, P, P, D);
	EXPECT(t, &p, k, wrap + 99, D);
	EXPECT(t, &p, k, wrap + 900, P, P, P, D);
	free(t);
}

/*
 * Two processes on one table in shared memory, started together, check
 * one key at one time n times each; returns the verdict counts.
 */
static void race(const struct rrl_params *p, int each, int counts[3])
{
	size_t size = rrl_table_size(1024);
	void *mem = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct rrl_table *t;
	int *n;
	uint64_t k;

	cr_assert_neq(mem, MAP_FAILED);
	t = rrl_table_init(mem, 1024, seed);
	cr_assert_not_null(t);
	n = (int *)((uint8_t *)mem + size); /* counts[3], then a start line */
	k = key_of(t, "192.0.2.1");
	/* The bucket exists before the race (its creation resets its slip
	 * phase, a store outside the CAS). */
	cr_assert_eq(rrl_check(t, p, k, T0, NULL), RRL_PASS);
	for (int c = 0; c < 2; c++) {
		pid_t pid = fork();

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			int mine[3] = { 0 };

			__atomic_fetch_add(&n[3], 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&n[3], __ATOMIC_SEQ_CST) < 2)
				;
			for (int i = 0; i < each; i++)
				mine[rrl_check(t, p, k, T0, NULL)]++;
			for (int v = 0; v < 3; v++)
				__atomic_fetch_add(&n[v], mine[v], __ATOMIC_RELAXED);
			_exit(0);
		}
	}
	for (int c = 0; c < 2; c++) {
		int status;

		cr_assert_gt(wait(&status), 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	memcpy(counts, n, 3 * sizeof(int));
	munmap(mem, size + 4096);
}

/* Every response counts once: 5 pass, slip 2 truncates exactly every
 * other limited one. */
Test(rrl, shared_between_processes)
{
	struct rrl_params p = params(5, 2, 15);
	int n[3];

	race(&p, 50000, n);
	cr_assert_eq(n[P], 4);
	cr_assert_eq(n[S] + n[D], 2 * 50000 - 4);
	cr_assert_eq(n[S], 50000 - 2, "slipped %d of %d", n[S], 2 * 50000 - 4);
}

/* Rate 100 000 (10 µs a response): the account holds 100 000 credits,
 * so nearly every check of the race passes and writes the bucket: a lost
 * update would let more than 100 000 pass. */
Test(rrl, shared_no_lost_update)
{
	struct rrl_params p = params(100000, 0, 0);
	int n[3];

	race(&p, 100000, n);
	cr_assert_eq(n[P], 100000 - 1);
	cr_assert_eq(n[D], 100000 + 1);
}

/* Prefix masking: clients in one prefix share a bucket, the next
 * prefix does not. */
Test(rrl, prefix_shares_bucket)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 15);

	EXPECT(t, &p, key_of(t, "192.0.2.1"), T0, P, P, P);
	EXPECT(t, &p, key_of(t, "192.0.2.254"), T0, P, P, D);
	EXPECT(t, &p, key_of(t, "192.0.2.77"), T0, D);
	EXPECT(t, &p, key_of(t, "192.0.3.1"), T0, P);
	EXPECT(t, &p, key_of(t, "192.0.1.255"), T0, P);
	EXPECT(t, &p, key_of(t, "2001:db8:0:ab00::1"), T0, P, P, P, P);
	EXPECT(t, &p, key_of(t, "2001:db8:0:abff:ffff:ffff:ffff:ffff"), T0, P, D);
	EXPECT(t, &p, key_of(t, "2001:db8:0:ac00::1"), T0, P);
	free(t);
}

#define SAME(a, b, len) cr_assert_eq(key_at(t, a, len, RRL_ERROR, NULL), key_at(t, b, len, RRL_ERROR, NULL), "%s %s /%d", a, b, len)
#define DIFF(a, b, len) cr_assert_neq(key_at(t, a, len, RRL_ERROR, NULL), key_at(t, b, len, RRL_ERROR, NULL), "%s %s /%d", a, b, len)

Test(rrl, prefix_lengths)
{
	struct rrl_table *t = table(64);

	SAME("192.0.2.1", "192.0.2.254", 24);
	DIFF("192.0.2.1", "192.0.3.1", 24);
	DIFF("192.0.2.1", "192.0.2.2", 32);
	SAME("10.0.16.1", "10.0.31.255", 20);
	DIFF("10.0.16.1", "10.0.32.0", 20);
	DIFF("10.0.16.1", "10.0.15.255", 20);
	SAME("1.2.3.4", "200.1.1.1", 0);
	SAME("192.0.2.1", "192.0.2.1", 33);
	DIFF("192.0.2.1", "192.0.2.2", 33); /* taken as /32 */
	cr_assert_eq(key_at(t, "192.0.2.1", 33, RRL_ERROR, NULL),
		     key_at(t, "192.0.2.1", 32, RRL_ERROR, NULL));
	/* An IPv4-mapped address is the IPv4 client. */
	SAME("::ffff:192.0.2.1", "192.0.2.200", 24);
	SAME("2001:db8:0:ab00::1", "2001:db8:0:abff:ffff:ffff:ffff:ffff", 56);
	DIFF("2001:db8:0:ab00::1", "2001:db8:0:ac00::", 56);
	DIFF("2001:db8:0:ab00::1", "2001:db8:0:aaff:ffff:ffff:ffff:ffff", 56);
	SAME("2001:db8:0:ab00::", "2001:db8:0:ab7f::", 57);
	DIFF("2001:db8:0:ab00::", "2001:db8:0:ab80::", 57);
	SAME("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", 64);
	DIFF("2001:db8::1", "2001:db8:0:1::", 64);
	DIFF("::1", "::2", 128);
	cr_assert_eq(key_at(t, "::1", 200, RRL_ERROR, NULL), key_at(t, "::1", 128, RRL_ERROR, NULL));
	SAME("::1", "ffff::", 0);
	/* Families stay apart even when everything is masked. */
	DIFF("0.0.0.0", "::", 0);
	free(t);
}

Test(rrl, unknown_family)
{
	struct rrl_table *t = table(64);
	uint8_t a[16] = { 1, 2, 3, 4 }, b[16] = { 9, 9, 9, 9 };

	cr_assert_eq(rrl_key(t, AF_UNIX, a, 24, 56, RRL_ERROR, NULL, 0),
		     rrl_key(t, AF_UNIX, b, 24, 56, RRL_ERROR, NULL, 0));
	free(t);
}

/* Classes: positive answers per qname, NXDOMAIN and NODATA per apex
 * (the caller passes the apex), errors per prefix whatever the name. */
Test(rrl, classes)
{
	struct rrl_table *t = table(64);
	const char *c = "192.0.2.1";

	cr_assert_neq(key_at(t, c, 24, RRL_POSITIVE, "\3www\7example"),
		      key_at(t, c, 24, RRL_POSITIVE, "\4mail\7example"));
	cr_assert_eq(key_at(t, c, 24, RRL_POSITIVE, "\3WwW\7ExAmPlE"),
		     key_at(t, c, 24, RRL_POSITIVE, "\3www\7example"));
	cr_assert_neq(key_at(t, c, 24, RRL_POSITIVE, "\7example"),
		      key_at(t, c, 24, RRL_NXDOMAIN, "\7example"));
	cr_assert_neq(key_at(t, c, 24, RRL_NXDOMAIN, "\7example"),
		      key_at(t, c, 24, RRL_NODATA, "\7example"));
	cr_assert_neq(key_at(t, c, 24, RRL_NODATA, "\7example"),
		      key_at(t, c, 24, RRL_ERROR, NULL));
	cr_assert_eq(key_at(t, c, 24, RRL_ERROR, "\3www\7example"),
		     key_at(t, c, 24, RRL_ERROR, "\4mail\7example"));
	cr_assert_eq(key_at(t, c, 24, RRL_ERROR, "\3www\7example"), key_at(t, c, 24, RRL_ERROR, NULL));
	free(t);
}

/* Two qnames: two positive buckets; NXDOMAIN for two qnames of one
 * zone: one bucket (keyed by the apex). */
Test(rrl, class_buckets)
{
	struct rrl_table *t = table(1024);
	struct rrl_params p = params(5, 0, 15);
	const char *c = "192.0.2.1";
	uint64_t nx = key_at(t, c, 24, RRL_NXDOMAIN, "\7example");

	EXPECT(t, &p, key_at(t, c, 24, RRL_POSITIVE, "\3www\7example"), T0, P, P, P, P, P, D);
	EXPECT(t, &p, key_at(t, c, 24, RRL_POSITIVE, "\4mail\7example"), T0, P, P, P, P, P, D);
	/* a.example and b.example do not exist: both NXDOMAIN at example. */
	EXPECT(t, &p, nx, T0, P, P, P);
	EXPECT(t, &p, nx, T0, P, P, D);
	EXPECT(t, &p, key_at(t, c, 24, RRL_NODATA, "\7example"), T0, P);
	free(t);
}

/* The key is SipHash-2-4 under the seed of the layout rrl.h documents
 * (checked with OpenSSL's SIPHASH), over any bytes. */
static uint64_t openssl_siphash(const uint8_t *msg, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *c;
	size_t size = 8, outl = 0;
	unsigned c_rounds = 1, d_rounds = 3; /* SipHash-1-3 */
	uint8_t out[8];
	uint64_t h = 0;
	OSSL_PARAM ps[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
			    OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &c_rounds),
			    OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &d_rounds),
			    OSSL_PARAM_construct_end() };

	cr_assert_not_null(mac);
	c = EVP_MAC_CTX_new(mac);
	cr_assert_eq(EVP_MAC_init(c, seed, sizeof(seed), ps), 1);
	cr_assert_eq(EVP_MAC_update(c, msg, len), 1);
	cr_assert_eq(EVP_MAC_final(c, out, &outl, sizeof(out)), 1);
	cr_assert_eq(outl, 8);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	for (int i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

Test(rrl, key_is_keyed_siphash_of_layout)
{
	struct rrl_table *t = table(64);
	static const uint8_t v4[] = { 4, RRL_POSITIVE, 24, 0, 192, 0, 2, 0,
				      3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	static const uint8_t v6[] = { 6, RRL_ERROR, 56, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0xab, 0,
				      0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t v6_31[] = { 6, RRL_NXDOMAIN, 31, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	uint8_t other[RRL_SEED_LEN] = { 1 };
	void *mem2 = aligned_alloc(RRL_ALIGN, rrl_table_size(64));
	struct rrl_table *t2 = rrl_table_init(mem2, 64, other);

	cr_assert_eq(key_at(t, "192.0.2.77", 24, RRL_POSITIVE, "\3WWW\7Example"),
		     openssl_siphash(v4, sizeof(v4)));
	cr_assert_eq(key_at(t, "2001:db8:0:abcd:1::1", 56, RRL_ERROR, "\3www"),
		     openssl_siphash(v6, sizeof(v6)));
	/* /31 keeps 0x2001 0x0db8 but the last bit of 0x0db9. */
	cr_assert_eq(key_at(t, "2001:db9:ffff::", 31, RRL_NXDOMAIN, "\7EXAMPLE"),
		     openssl_siphash(v6_31, sizeof(v6_31)));
	/* Another seed, another key. */
	cr_assert_not_null(t2);
	cr_assert_neq(key_at(t, "192.0.2.77", 24, RRL_POSITIVE, "\3www\7example"),
		      key_at(t2, "192.0.2.77", 24, RRL_POSITIVE, "\3www\7example"));
	free(t);
	free(mem2);
}

/* Hostile names: any bytes, any length (only 255 are used). */
Test(rrl, key_any_bytes)
{
	struct rrl_table *t = table(64);
	uint8_t addr[16] = { 192, 0, 2, 1 };
	uint8_t name[1000];
	uint8_t msg[4 + 4 + 255];

	for (size_t i = 0; i < sizeof(name); i++)
		name[i] = (uint8_t)(i * 37 + 11);
	/* No upper-case letter among the first 255 bytes, so the oracle
	 * hashes them as they are. */
	for (size_t i = 0; i < 255; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = 0x80;
	memcpy(msg, (const uint8_t[]){ 4, RRL_POSITIVE, 24, 0, 192, 0, 2, 0 }, 8);
	memcpy(msg + 8, name, 255);
	cr_assert_eq(rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, name, sizeof(name)),
		     openssl_siphash(msg, sizeof(msg)));
	for (size_t len = 0; len <= sizeof(name); len += 37)
		(void)rrl_key(t, AF_INET6, addr, 24, 56, RRL_NODATA, name, len);
	cr_assert_eq(rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, NULL, 5),
		     rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, name, 0));
	free(t);
}

/* The key folds case a word at a time: every byte value, at every place
 * of a whole word and of the tail, keys as dname_lower_byte makes it. */
Test(rrl, key_folds_case_like_dname)
{
	struct rrl_table *t = table(64);
	uint8_t addr[16] = { 192, 0, 2, 1 };
	uint8_t a[11], b[11];

	for (size_t at = 0; at < sizeof(a); at++)
		for (unsigned v = 0; v < 256; v++) {
			memset(a, 'q', sizeof(a));
			memcpy(b, a, sizeof(b));
			a[at] = (uint8_t)v;
			b[at] = dname_lower_byte((uint8_t)v);
			cr_assert_eq(rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, a, sizeof(a)),
				     rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, b, sizeof(b)),
				     "byte 0x%02x at %zu", v, at);
			if (b[at] != 'q') /* and the byte is not lost in the fold */
				cr_assert_neq(rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE, a,
						      sizeof(a)),
					      rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE,
						      (const uint8_t *)"qqqqqqqqqqq", sizeof(a)));
		}
	free(t);
}

/*
 * 10^6 spoofed sources (a distinct /24 each, 100 000 a second for 10 s)
 * through a 64K-bucket table: the table's memory is all there is (the
 * bytes around it are untouched), every spoofed source's one response
 * passes, a client at 1 query a second always passes, and a flooder at
 * 10 a second keeps its debt: a bucket in debt is never the stalest of
 * its window, so it is never evicted. Its count is the undisturbed one:
 * the account leads now by -1000 + 100 k ms before its kth query, so
 * queries 0..8 pass and none after.
 */
Test(rrl, eviction_under_spoofed_flood, .timeout = 120)
{
	const size_t n = 65536, size = rrl_table_size(n), guard = 4096;
	uint8_t *buf = aligned_alloc(RRL_ALIGN, size + 2 * guard);
	struct rrl_params p = params(5, 2, 15);
	struct rrl_table *t;
	uint64_t flooder, client;
	int spoofed_pass = 0, flooder_pass = 0, client_pass = 0;

	cr_assert_not_null(buf);
	memset(buf, 0xa5, size + 2 * guard);
	t = rrl_table_init(buf + guard, n, seed);
	cr_assert_not_null(t);
	flooder = key_of(t, "198.51.100.7");
	client = key_of(t, "203.0.113.5");
	for (uint32_t i = 0; i < 1000000; i++) {
		uint64_t now = T0 + i / 100;
		uint32_t a = htonl((i + 1) << 8);
		uint8_t addr[16] = { 0 };

		memcpy(addr, &a, 4);
		spoofed_pass += rrl_check(t, &p, rrl_key(t, AF_INET, addr, 24, 56, RRL_POSITIVE,
							 (const uint8_t *)"\3www\7example", 13),
					  now, NULL) == RRL_PASS;
		if (i % 10000 == 0)
			flooder_pass += rrl_check(t, &p, flooder, now, NULL) == RRL_PASS;
		if (i % 100000 == 50000)
			client_pass += rrl_check(t, &p, client, now, NULL) == RRL_PASS;
	}
	cr_assert_eq(spoofed_pass, 1000000);
	cr_assert_eq(client_pass, 10);
	cr_assert_eq(flooder_pass, 9);
	for (size_t i = 0; i < guard; i++) {
		cr_assert_eq(buf[i], 0xa5, "byte %zu before the table", i);
		cr_assert_eq(buf[guard + size + i], 0xa5, "byte %zu after the table", i);
	}
	free(buf);
}
