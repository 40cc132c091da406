/*
 * Response rate limiting (DESIGN §10): BIND's token-bucket semantics
 * per (client prefix, response class) in a fixed table the caller
 * allocates, safe to share between processes (one CAS per check).
 *
 * Pure, like the query core: no allocation, no lock, no logging, no
 * clock (the caller passes a system-wide monotonic time in ms, the
 * same clock in every process sharing a table).
 */
#ifndef AHD_RRL_H
#define AHD_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRL_SEED_LEN 16
/* Buckets probed per check: one 64-byte cache line of 16-byte buckets. */
#define RRL_WAYS 4
/* The table's memory must be aligned to this (mmap and aligned_alloc
 * give it). */
#define RRL_ALIGN 64
/* A bucket asks for one summary log line at most this often. */
#define RRL_LOG_INTERVAL_S 10
/* Beyond BIND's range, window is taken as this. */
#define RRL_WINDOW_MAX 3600
/* slip beyond this is taken as this (BIND allows 0..10). */
#define RRL_SLIP_MAX 65535

struct rrl_params {
	uint32_t rate;   /* responses per second per bucket; 0: off */
	uint32_t slip;   /* 0: drop every limited response; 1: truncate
			  * every one; N: the 1st, N+1st, ... are TC */
	uint32_t window; /* s: how far the account may go into debt
			  * (rate * window responses), the time a flood is
			  * remembered after it stops; BIND's default 15 */
	uint8_t v4_prefix, v6_prefix; /* 24 and 56 by default */
	bool log_only;   /* count and report, limit nothing */
};

/*
 * Responses are accounted by class, as BIND, Knot and NSD do, so that
 * random names cannot each earn a fresh budget: the caller names what
 * is hashed with the class.
 */
enum rrl_class {
	RRL_POSITIVE = 0, /* an answer: keyed by the qname */
	RRL_NXDOMAIN,     /* keyed by the zone apex, not the qname */
	RRL_NODATA,       /* keyed by the zone apex (Knot's "empty") */
	RRL_ERROR,        /* FORMERR, REFUSED, SERVFAIL, NOTIMP...:
			   * per client prefix, no name */
	RRL_CLASS_COUNT,
};

enum rrl_verdict {
	RRL_PASS = 0, /* send the response */
	RRL_DROP,     /* send nothing */
	RRL_SLIP,     /* send a minimal TC=1 answer (no records) */
};

/* What a check did besides its verdict (for counters and the log). */
struct rrl_note {
	enum rrl_verdict would; /* the verdict without log_only */
	bool log;               /* log one summary line for this bucket now
				 * (at most once per RRL_LOG_INTERVAL_S) */
	uint32_t limited;       /* with log: responses limited in this bucket
				 * since its previous line, this one included */
};

struct rrl_table;

/* Bytes a table of n buckets takes; 0 unless n is a power of two of at
 * least RRL_WAYS (or if it overflows). */
size_t rrl_table_size(size_t n);

/*
 * Lay a table of n buckets over mem (rrl_table_size(n) bytes, aligned to
 * RRL_ALIGN), every bucket empty, keys hashed under seed (random at each
 * start: the key is SipHash-2-4, so nobody can aim floods at one probe
 * window). Returns the table (mem itself) or NULL. The table holds no
 * pointers: other processes mapping the same memory use it as is.
 * Call before sharing; changing rate, window or slip later is safe.
 */
struct rrl_table *rrl_table_init(void *mem, size_t n, const uint8_t seed[RRL_SEED_LEN]);

/*
 * The table laid over mem (size bytes) by rrl_table_init, possibly in
 * another process: NULL unless mem holds one of exactly that size. For
 * a worker or `status` that maps the supervisor's table.
 */
struct rrl_table *rrl_table_attach(void *mem, size_t size);
/* rrl_table_init for memory known to be zero (a fresh shm object): only
 * the header is written, so untouched buckets cost no memory. */
struct rrl_table *rrl_table_init_zeroed(void *mem, size_t n, const uint8_t seed[RRL_SEED_LEN]);

/*
 * The bucket key: SipHash-2-4 under the table's seed of
 *   family (4 or 6, 0 if neither) | class | prefix length |
 *   the address masked to it (4 or 16 bytes, none if neither) |
 *   name, ASCII letters lower-cased (not for RRL_ERROR)
 * addr is in network order, 4 bytes for AF_INET; an IPv4-mapped IPv6
 * address counts as IPv4. Prefix lengths beyond 32 / 128 are taken as
 * 32 / 128. name is wire format as given (any bytes: nothing is parsed;
 * only the first 255 are used); it may be NULL if len is 0.
 */
uint64_t rrl_key(const struct rrl_table *t, int family, const uint8_t addr[16],
		 uint8_t v4_prefix, uint8_t v6_prefix, enum rrl_class cls,
		 const uint8_t *name, size_t len);

/*
 * Account one response to key at now_ms. Every response debits one
 * credit, including a limited one; credit comes back at rate per second
 * up to rate; the response is limited while the account would go
 * negative; the account goes no lower than -rate * window (BIND's
 * rate-limit semantics, refilled continuously rather than once a
 * second). note may be NULL. With rate 0 nothing is touched.
 * Under extreme contention (32 CAS losses in a row) the
 * response passes rather than stall the worker.
 */
enum rrl_verdict rrl_check(struct rrl_table *t, const struct rrl_params *p, uint64_t key,
			   uint64_t now_ms, struct rrl_note *note);

#endif
