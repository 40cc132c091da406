/*
 * Response rate limiting (rrl.h, DESIGN §10).
 *
 * A bucket is two 64-bit words. The first, changed only by CAS, is
 *   tag (20 bits, never 0) | TAT (44 bits, µs modulo 2^44)
 * where TAT is the generic cell rate algorithm's "theoretical arrival
 * time": the account holds (now - TAT) * rate credits, so refill needs
 * no write, a response adds 1/rate s to TAT, the cap of `rate` credits
 * is TAT >= now - rate/rate s and the debt floor is TAT <= now + window
 * s. One word holds the whole account, so one CAS makes a check atomic
 * across processes. The second word, written only when a response is
 * limited, holds the slip phase and the summary-log state:
 *   logged (1) | log second (15) | slip phase (16) | count (32).
 * The two words are not updated together: a bucket replaced between
 * the two may lend its successor a slip phase or a few counts, which
 * only shifts which limited response is TC.
 */
#include "rrl.h"

#include <endian.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "ahd.h"
#include "cookie.h"
#include "siphash.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to live in shared memory");
_Static_assert(RRL_SEED_LEN == COOKIE_SECRET_LEN, "the seed is a SipHash key");

#define RRL_MAGIC 0x61686472726c3031ULL /* "ahdrrl01" */
#define RRL_TIME_BITS 44
#define RRL_TIME_MASK ((UINT64_C(1) << RRL_TIME_BITS) - 1)
#define RRL_US_PER_S INT64_C(1000000)
/* A TAT further ahead than the longest window plus this is not a real
 * account but a bucket idle for months whose 44-bit time wrapped: it is
 * taken as empty. The slack absorbs processes reading the clock a few
 * ms apart. */
#define RRL_AHEAD_MAX ((int64_t)RRL_WINDOW_MAX * RRL_US_PER_S + 10 * RRL_US_PER_S)
/* CAS losses in a row before giving up: each loss is another process's
 * progress, so with a few workers this is never reached in practice. */
#define RRL_RETRIES 32

#define RRL_B_COUNT_MASK UINT64_C(0xffffffff)
#define RRL_B_SLIP_SHIFT 32
#define RRL_B_LOGS_SHIFT 48
#define RRL_B_LOGS_MASK UINT64_C(0x7fff)
#define RRL_B_LOGGED (UINT64_C(1) << 63)

struct rrl_bucket {
	_Atomic uint64_t acct; /* tag | TAT */
	_Atomic uint64_t log;  /* logged | log second | slip phase | count */
};

struct rrl_table {
	uint64_t magic;
	uint64_t mask; /* buckets - 1 */
	uint8_t seed[RRL_SEED_LEN];
	/* The header is read-only once shared: its own cache line. */
	uint8_t pad[RRL_ALIGN - 32];
	struct rrl_bucket b[];
};
_Static_assert(sizeof(struct rrl_bucket) * RRL_WAYS == RRL_ALIGN, "a probe window is one cache line");
_Static_assert(sizeof(struct rrl_table) == RRL_ALIGN, "buckets start on a cache line");

/* The per-response constants of one parameter set, in µs. */
struct rrl_limits {
	int64_t cost;  /* 1/rate s: what one response adds to TAT */
	int64_t burst; /* rate credits: how far TAT may lag now */
	int64_t debt;  /* rate * window credits: how far TAT may lead now */
};

size_t rrl_table_size(size_t n)
{
	if (n < RRL_WAYS || (n & (n - 1)) != 0 ||
	    n > (SIZE_MAX - sizeof(struct rrl_table)) / sizeof(struct rrl_bucket))
		return 0;
	return sizeof(struct rrl_table) + n * sizeof(struct rrl_bucket);
}

struct rrl_table *rrl_table_init_zeroed(void *mem, size_t n, const uint8_t seed[RRL_SEED_LEN])
{
	struct rrl_table *t = mem;

	if (!mem || rrl_table_size(n) == 0 || (uintptr_t)mem % RRL_ALIGN != 0)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->magic = RRL_MAGIC;
	t->mask = n - 1;
	memcpy(t->seed, seed, RRL_SEED_LEN);
	return t;
}

struct rrl_table *rrl_table_init(void *mem, size_t n, const uint8_t seed[RRL_SEED_LEN])
{
	struct rrl_table *t = rrl_table_init_zeroed(mem, n, seed);

	for (size_t i = 0; t != NULL && i < n; i++) {
		atomic_init(&t->b[i].acct, 0);
		atomic_init(&t->b[i].log, 0);
	}
	return t;
}

struct rrl_table *rrl_table_attach(void *mem, size_t size)
{
	struct rrl_table *t = mem;

	if (!mem || (uintptr_t)mem % RRL_ALIGN != 0 || size < sizeof(*t) || t->magic != RRL_MAGIC ||
	    t->mask > SIZE_MAX - 1 || rrl_table_size((size_t)t->mask + 1) != size)
		return NULL;
	return t;
}

static uint8_t rrl_clamp_prefix(uint8_t prefix, size_t ip_len)
{
	return prefix > ip_len * 8 ? (uint8_t)(ip_len * 8) : prefix;
}

/* Eight bytes of a wire name with the ASCII capitals made small at once
 * (dname_lower_byte on each; label lengths are below 64, never letters). */
static uint64_t rrl_lower8(uint64_t x)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t h = x & (0x7f * ones);
	uint64_t m = ((h + (0x80 - 'A') * ones) ^ (h + (0x80 - 'Z' - 1) * ones)) & ~x & (0x80 * ones);

	return x | m >> 2;
}

static uint64_t rrl_load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);
	return le64toh(v);
}

/* The top bits bits of a big-endian word of width 64, as a mask. */
static uint64_t rrl_mask64(unsigned bits)
{
	return bits == 0 ? 0 : bits >= 64 ? UINT64_MAX : UINT64_MAX << (64 - bits);
}

/*
 * SipHash-1-3 (siphash.h) of the bytes family, class, prefix, 0, then
 * the address with only its prefix bits (IPv4 in the same first word;
 * IPv6 after five more zero bytes), then the name in small letters:
 * every part starts on a word, so all is taken a word at a time: the query path's second-largest cost
 * after the send (DESIGN §10).
 */
uint64_t rrl_key(const struct rrl_table *t, int family, const uint8_t addr[16],
		 uint8_t v4_prefix, uint8_t v6_prefix, enum rrl_class cls,
		 const uint8_t *name, size_t len)
{
	struct siphash s;
	const uint8_t *ip;
	size_t ip_len = cookie_client_ip(family, addr, &ip);
	uint8_t prefix = rrl_clamp_prefix(ip_len == 4 ? v4_prefix : v6_prefix, ip_len);
	uint64_t head = (uint64_t)(ip_len == 4 ? 4 : ip_len == 16 ? 6 : 0) |
			(uint64_t)(uint8_t)cls << 8 | (uint64_t)(ip_len ? prefix : 0) << 16;
	size_t total = 8, i = 0;

	siphash_init(&s, rrl_load_le(t->seed, 8), rrl_load_le(t->seed + 8, 8));
	if (ip_len == 4) {
		uint32_t a;

		memcpy(&a, ip, 4);
		a &= htobe32((uint32_t)(rrl_mask64(prefix) >> 32));
		head |= (uint64_t)le32toh(a) << 32;
	}
	siphash_word(&s, head, 1);
	if (ip_len == 16) {
		uint64_t w[2];

		memcpy(w, ip, 16);
		siphash_word(&s, le64toh(w[0] & htobe64(rrl_mask64(prefix))), 1);
		siphash_word(&s, le64toh(w[1] & htobe64(rrl_mask64(prefix > 64 ? prefix - 64u : 0))), 1);
		total += 16;
	}
	if (cls == RRL_ERROR || !name)
		len = 0;
	if (len > AHD_MAX_NAME_WIRE)
		len = AHD_MAX_NAME_WIRE;
	for (; len - i >= 8; i += 8)
		siphash_word(&s, rrl_lower8(rrl_load_le(name + i, 8)), 1);
	total += len;
	return siphash_final(&s, (uint64_t)total << 56 |
				     (len > i ? rrl_lower8(rrl_load_le(name + i, len - i)) : 0),
			     1, 3);
}

static struct rrl_limits rrl_limits_of(const struct rrl_params *p)
{
	struct rrl_limits l;
	uint64_t window = p->window > RRL_WINDOW_MAX ? RRL_WINDOW_MAX : p->window;
	uint64_t cost = ((uint64_t)RRL_US_PER_S + p->rate / 2) / p->rate;

	/* Rounded to the µs: within 0.5% for rates up to 10^4 a second. */
	l.cost = cost ? (int64_t)cost : 1;
	l.burst = l.cost * (int64_t)p->rate;
	l.debt = l.burst * (int64_t)window;
	return l;
}

/* TAT - now for the account word w, as a signed 44-bit difference. */
static int64_t rrl_ahead(uint64_t w, uint64_t now_us)
{
	uint64_t d = (w - now_us) & RRL_TIME_MASK;

	return d >= (UINT64_C(1) << (RRL_TIME_BITS - 1)) ? (int64_t)d - (INT64_C(1) << RRL_TIME_BITS)
							  : (int64_t)d;
}

/* How far the account of w leads now, clamped to what the limits allow:
 * -burst for a full (or empty, or wrapped) bucket. */
static int64_t rrl_state(uint64_t w, uint64_t now_us, const struct rrl_limits *l)
{
	int64_t ahead = rrl_ahead(w, now_us);

	if (w == 0 || ahead < -l->burst || ahead > RRL_AHEAD_MAX)
		return -l->burst;
	return ahead > l->debt ? l->debt : ahead;
}

static uint64_t rrl_tag(uint64_t key)
{
	uint64_t tag = key >> RRL_TIME_BITS;

	return (tag ? tag : 1) << RRL_TIME_BITS;
}

/*
 * The bucket of key in its probe window: the one with its tag, else the
 * stalest (the smallest lead: the most credit, the longest unused; an
 * empty one first), whose account then starts full. Sets *w to the
 * word read and *ahead to the account's state.
 */
static struct rrl_bucket *rrl_find(struct rrl_table *t, uint64_t key, uint64_t now_us,
				   const struct rrl_limits *l, uint64_t *w, int64_t *ahead)
{
	struct rrl_bucket *line = &t->b[key & t->mask & ~(uint64_t)(RRL_WAYS - 1)];
	uint64_t tag = rrl_tag(key);
	struct rrl_bucket *victim = line;
	int64_t stalest = INT64_MAX;

	for (int i = 0; i < RRL_WAYS; i++) {
		uint64_t v = atomic_load_explicit(&line[i].acct, memory_order_relaxed);
		int64_t s = v ? rrl_state(v, now_us, l) : INT64_MIN;

		if ((v & ~RRL_TIME_MASK) == tag) {
			*w = v;
			*ahead = s;
			return &line[i];
		}
		if (s < stalest) {
			stalest = s;
			victim = &line[i];
			*w = v;
		}
	}
	*ahead = -l->burst;
	return victim;
}

/*
 * Debit the account of key. Returns 1 if the response passes, 0 if it
 * is limited, -1 if every CAS lost (sets *b to the bucket, *fresh when
 * it was taken over for key).
 */
static int rrl_debit(struct rrl_table *t, uint64_t key, uint64_t now_us,
		     const struct rrl_limits *l, struct rrl_bucket **b, bool *fresh)
{
	uint64_t tag = rrl_tag(key);

	for (int i = 0; i < RRL_RETRIES; i++) {
		uint64_t old;
		int64_t ahead;
		struct rrl_bucket *bk = rrl_find(t, key, now_us, l, &old, &ahead);
		int64_t next = ahead + l->cost;
		bool pass = next <= 0;
		uint64_t w;

		if (next > l->debt)
			next = l->debt;
		w = tag | ((now_us + (uint64_t)next) & RRL_TIME_MASK);
		/* A flooded account at its floor within one ms does not change:
		 * no write, so workers flooded together bounce the line less. */
		if (w == old ||
		    atomic_compare_exchange_strong_explicit(&bk->acct, &old, w, memory_order_relaxed,
							    memory_order_relaxed)) {
			*b = bk;
			*fresh = (old & ~RRL_TIME_MASK) != tag;
			return pass;
		}
	}
	return -1;
}

/* The slip and log bookkeeping of a limited response. */
static enum rrl_verdict rrl_limited(struct rrl_bucket *b, const struct rrl_params *p,
				    uint64_t now_ms, struct rrl_note *note)
{
	uint64_t slip = p->slip > RRL_SLIP_MAX ? RRL_SLIP_MAX : p->slip;
	uint64_t now_s = (now_ms / 1000) & RRL_B_LOGS_MASK;
	uint64_t old = atomic_load_explicit(&b->log, memory_order_relaxed);

	for (int i = 0; i < RRL_RETRIES; i++) {
		uint64_t count = old & RRL_B_COUNT_MASK;
		uint64_t phase = (old >> RRL_B_SLIP_SHIFT) & 0xffff;
		uint64_t last = (old >> RRL_B_LOGS_SHIFT) & RRL_B_LOGS_MASK;
		bool log = !(old & RRL_B_LOGGED) ||
			   ((now_s - last) & RRL_B_LOGS_MASK) >= RRL_LOG_INTERVAL_S;
		/* BIND's order: the first limited response of a phase slips. */
		enum rrl_verdict v = slip && phase == 0 ? RRL_SLIP : RRL_DROP;
		uint64_t next_phase = slip ? (phase + 1) % slip : 0;
		uint64_t next;

		if (phase >= slip) /* slip was lowered since */
			next_phase = 0;
		if (log)
			next = RRL_B_LOGGED | now_s << RRL_B_LOGS_SHIFT;
		else
			next = (old & ~(RRL_B_COUNT_MASK | UINT64_C(0xffff) << RRL_B_SLIP_SHIFT)) |
			       (count < RRL_B_COUNT_MASK ? count + 1 : count);
		next |= next_phase << RRL_B_SLIP_SHIFT;
		if (atomic_compare_exchange_weak_explicit(&b->log, &old, next, memory_order_relaxed,
							  memory_order_relaxed)) {
			note->log = log;
			note->limited = log ? (uint32_t)(count < RRL_B_COUNT_MASK ? count + 1 : count) : 0;
			return v;
		}
	}
	note->log = false;
	note->limited = 0;
	return RRL_DROP;
}

enum rrl_verdict rrl_check(struct rrl_table *t, const struct rrl_params *p, uint64_t key,
			   uint64_t now_ms, struct rrl_note *note)
{
	struct rrl_note scratch;
	struct rrl_limits l;
	struct rrl_bucket *b;
	bool fresh;
	uint64_t now_us = now_ms * 1000; /* wraps like the 44-bit TAT */
	int r;

	if (!note)
		note = &scratch;
	note->would = RRL_PASS;
	note->log = false;
	note->limited = 0;
	if (p->rate == 0)
		return RRL_PASS;
	l = rrl_limits_of(p);
	r = rrl_debit(t, key, now_us, &l, &b, &fresh);
	if (r < 0)
		return RRL_PASS; /* fail open rather than spin (rrl.h) */
	if (fresh) /* the previous owner's slip phase and log state go */
		atomic_store_explicit(&b->log, 0, memory_order_relaxed);
	if (r)
		return RRL_PASS;
	note->would = rrl_limited(b, p, now_ms, note);
	return p->log_only ? RRL_PASS : note->would;
}
