/*
 * Live statistics in a second POSIX shm object, "<shm-name>.stats"
 * (e.g. /a-healthy-dns.53053.stats), beside the zone image.
 *
 * Layout (offsets, never pointers; pinned with _Static_assert):
 *   struct stats_header                  magic, version, sizes, offsets
 *   struct stats_worker [n_workers]      one block per worker index,
 *                                        each on its own cache lines
 *   backend table slot 0, slot 1         struct stats_slot followed by
 *                                        struct stats_backend [capacity]
 *   secondaries                          struct stats_notify
 *                                        [STATS_NOTIFY_MAX]
 *
 * Worker counters: only worker i ever writes block i (its counters), so
 * an increment is a relaxed load and store, no locked instruction, and
 * no other process dirties that cache line. Readers load them relaxed:
 * each counter is exact, two counters may be a few queries apart.
 * The supervisor writes the pid / start / restart fields of a block,
 * which sit on their own cache line.
 *
 * Backend table: written by the prober after every check round under a
 * two-slot seqlock (seqlock.h), read by `status` and the supervisor.
 *
 * Secondaries (DESIGN §9.5): one entry per --notify address. The
 * notifier writes who an entry is (address, port, text) under the
 * entry's own sequence counter when it starts, and its NOTIFY state as
 * single 64-bit atomics (serial and time packed together, so a reader
 * never pairs one serial with another's time); a worker that serves a
 * transfer to that address stores the "last transfer seen" atomic
 * (stats_xfr_seen). Several writers, each field whole: no lock needed.
 *
 * Who does what:
 *   supervisor: stats_create() (mode 0644: status works unprivileged),
 *               hands the RW fd to every worker, stats_worker_started()
 *               on every spawn, stats_summary() for sd_notify STATUS=,
 *               stats_unlink() at exit.
 *   workers:    stats_map(fd) + stats_worker(st, index) + stats_add().
 *   prober:     (forked: the supervisor's mapping) stats_publish_backends().
 *   notifier:   (forked: the supervisor's mapping) stats_notify_begin(),
 *               stats_notify_sent() / _resent() / _acked() / _failed().
 *   workers:    stats_xfr_seen() after serving an AXFR or IXFR.
 *   status:     admin_status_main() (admin_status.c) -> stats_open_ro()
 *               + stats_read_backends() + print.
 */
#ifndef AHD_STATS_H
#define AHD_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "seqlock.h"

struct health;
struct json_object;
struct rrl_params;
struct rrl_table;

/* "AHDSTAT1" */
#define STATS_MAGIC UINT64_C(0x3154415453444841)
/* 2: the secondaries' table (stats_notify). 3: the image and restart
 * fields of the header (issue 16); an older reader refuses the object
 * (EPROTO: "not a stats object of this version"), never misreads it.
 * 4: the DNSSEC key table (stats_keys.h, issue 17). 5: a worker's AF_XDP
 * frames (issue 18). */
#define STATS_VERSION 5
/* Room for the answer kinds (answer.h), fixed so the format does not move
 * when a kind is added. */
#define STATS_KINDS 16
/* Two lines: Intel's adjacent-line prefetcher pairs 64-byte lines. */
#define STATS_LINE 128
#define STATS_HEADER_SIZE 256
/* Buckets of the rate-limiting table (DESIGN §10): 1 MiB of shared
 * memory, touched only as far as limiting uses it. */
#define STATS_RRL_BUCKETS 65536
#define STATS_NAME_MAX 256  /* owner name text + NUL */
#define STATS_ADDR_MAX 48   /* INET6_ADDRSTRLEN rounded up */
#define STATS_ERROR_MAX 48  /* = HEALTH_REASON_MAX */
#define STATS_SUFFIX ".stats"
/* Room for the process roles (proc.h) in the header's restart counts. */
#define STATS_ROLES 4
/* The most workers and backends a table is made for. */
#define STATS_MAX_WORKERS 4096
#define STATS_MAX_BACKENDS (1u << 22)
/* The secondaries' table always has room for every --notify address a
 * reload may add (a few KiB), so none needs a restart to be shown. */
#define STATS_NOTIFY_MAX CONFIG_NOTIFY_MAX
#define STATS_NOTIFY_TEXT 64 /* = sizeof(struct config_notify.text) */

struct stats_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;   /* STATS_HEADER_SIZE */
	uint32_t worker_size;   /* sizeof(struct stats_worker) */
	uint32_t n_workers;
	uint64_t worker_off;    /* = STATS_HEADER_SIZE */
	uint32_t slot_head_size; /* sizeof(struct stats_slot) */
	uint32_t backend_size;  /* sizeof(struct stats_backend) */
	uint64_t capacity;      /* backends per slot */
	uint64_t slot_size;     /* slot_head_size + capacity * backend_size */
	uint64_t slot_off[2];
	uint64_t total_size;
	int64_t created;        /* Unix time */
	int32_t supervisor_pid;
	uint32_t reserved;
	struct seqlock lock;    /* over the backend table slots */
	_Atomic uint64_t generation; /* backend tables published */
	/* The prober's liveness: the supervisor sets pid and a first beat
	 * at each spawn, the prober stores CLOCK_MONOTONIC milliseconds at
	 * least every STATS_BEAT_MS while it runs (0: none yet). Zero in an
	 * object made before these fields existed. */
	_Atomic int64_t prober_pid;
	_Atomic int64_t prober_beat_ms;
	/* The secondaries' table (version 2). */
	uint64_t notify_off;     /* after the backend slots */
	uint32_t notify_size;    /* sizeof(struct stats_notify) */
	uint32_t notify_capacity; /* STATS_NOTIFY_MAX */
	_Atomic uint32_t n_notify; /* entries in use (the notifier's --notify) */
	_Atomic int32_t notifier_pid; /* 0: not running */
	/* Response rate limiting (DESIGN §10): the shared table after the
	 * secondaries, and the parameters the supervisor sets at start and
	 * on SIGHUP (stats_rrl_set), which every check reads. */
	uint64_t rrl_off;
	uint64_t rrl_size;
	_Atomic uint64_t rrl_params; /* rate | window << 32 | slip << 48 */
	_Atomic uint32_t rrl_prefixes; /* v4 | v6 << 8 | log_only << 16 */
	/* Version 3 (issue 16), for the metrics: the prober's last publish
	 * of the image (stats_image_published), each field whole; a reader
	 * may pair one publish's serial with the next one's durations. */
	_Atomic int64_t image_published; /* Unix time, 0: none yet */
	_Atomic int64_t rrsig_expiry;    /* earliest RRSIG expiration, 0: unsigned */
	_Atomic uint32_t image_serial;
	_Atomic uint32_t build_us;       /* the publish, signing included */
	_Atomic uint32_t sign_us;        /* of which private-key operations */
	_Atomic int32_t metrics_pid;     /* 0: not running */
	/* Deaths followed by a restart, by enum proc_role (the supervisor;
	 * [worker] sums the workers'; a reload's restart is no death). */
	_Atomic uint32_t restarts[STATS_ROLES];
	/* The DNSSEC key table (version 4, stats_keys.h), after the RRL
	 * table; its size is sizeof(struct stats_keys), which total_size
	 * checks. The header is full with it. */
	uint64_t keys_off;
};
_Static_assert(sizeof(struct stats_header) <= STATS_HEADER_SIZE, "stats header fits");
_Static_assert(offsetof(struct stats_header, lock) % 8 == 0, "seqlock aligned");
_Static_assert(offsetof(struct stats_header, image_published) == 200,
	       "version 3 fields after the version 2 header");
_Static_assert(sizeof(struct stats_header) == 256, "stats header layout is part of the shm format");

/* One worker's counters. Indexes of answers[]: enum answer_kind. */
struct stats_worker {
	_Alignas(STATS_LINE) _Atomic uint64_t answers[STATS_KINDS];
	_Atomic uint64_t udp_queries;  /* datagrams handed to the query core */
	_Atomic uint64_t tcp_queries;  /* messages read from TCP connections */
	_Atomic uint64_t tcp_conns;    /* connections accepted */
	_Atomic uint64_t truncated;    /* UDP answers with TC set */
	_Atomic uint64_t dropped;      /* received but not answerable */
	_Atomic uint64_t errors;       /* socket errors */
	/* Zone transfers (DESIGN §9.3). */
	_Atomic uint64_t xfr_whole;    /* AXFR, or IXFR answered with the zone */
	_Atomic uint64_t xfr_diff;     /* IXFR: a difference or the SOA alone */
	_Atomic uint64_t xfr_refused;  /* not allowed, or unsigned */
	_Atomic uint64_t xfr_bad_tsig; /* TSIG that did not verify */
	/* Response rate limiting (DESIGN §10), UDP answers. */
	_Atomic uint64_t rrl_limited;  /* over the rate (log-only too) */
	_Atomic uint64_t rrl_slipped;  /* sent as TC=1 instead */
	_Atomic uint64_t rrl_dropped;  /* not sent */
	/* --xdp (DESIGN §14.4): frames from this worker's AF_XDP ring, and
	 * the answers sent back through it (also counted as udp_queries). */
	_Atomic uint64_t xdp_received;
	_Atomic uint64_t xdp_answered;
	/* Written by the supervisor at each (re)start of this worker. */
	_Alignas(STATS_LINE) _Atomic int64_t pid;
	_Atomic int64_t started;       /* Unix time */
	_Atomic uint64_t restarts;     /* starts after the first */
};
_Static_assert(sizeof(struct stats_worker) == 2 * STATS_LINE + STATS_LINE,
	       "stats_worker layout is part of the shm format");
_Static_assert(offsetof(struct stats_worker, pid) % STATS_LINE == 0,
	       "supervisor fields on their own line");

/* Head of one backend table slot. */
struct stats_slot {
	uint32_t serial;        /* zone serial published with this table */
	uint32_t n_backends;    /* entries that follow, <= capacity */
	uint64_t n_total;       /* health-checked addresses in the config */
	uint64_t n_up;          /* of those, state up */
	int64_t published;      /* Unix time of this table */
	char zone[STATS_NAME_MAX];
	/* The signing policy (config_ttls), seconds; all 0: unsigned. */
	uint32_t sig_lifetime;
	uint32_t sig_refresh;
	uint32_t sig_backdate;
	uint32_t sig_jitter;
	uint8_t pad[16];
};
_Static_assert(sizeof(struct stats_slot) == 320, "stats_slot layout is part of the shm format");

/* An operator's override of one address (control socket, issue 16). */
enum stats_admin {
	STATS_ADMIN_NONE = 0, /* the health check decides */
	STATS_ADMIN_DRAINED,  /* never published, whatever the check says */
	STATS_ADMIN_FORCED_UP, /* published as up, whatever the check says */
};

/* One health-checked address. */
struct stats_backend {
	char name[STATS_NAME_MAX];      /* owner name, absolute, no dot */
	char addr[STATS_ADDR_MAX];      /* text form */
	char last_error[STATS_ERROR_MAX]; /* last failure's reason, "" */
	int64_t since;                  /* Unix time of the last change */
	int64_t last_check;             /* Unix time, -1: not checked yet */
	uint32_t latency_us;            /* of the last check */
	uint32_t passes;                /* consecutive */
	uint32_t fails;                 /* consecutive */
	uint16_t port;
	uint8_t check;                  /* enum config_check */
	uint8_t state;                  /* enum health_state */
	uint8_t published;              /* in the answers now (serve_all) */
	/* Issue 16 (zero in an object made before them): */
	uint8_t admin;                  /* enum stats_admin: operator override */
	uint8_t error_class;            /* enum health_error of the last failure */
	uint8_t last_pass;              /* the last check passed */
	uint32_t changes;               /* state changes since the prober started */
};
_Static_assert(sizeof(struct stats_backend) == 392, "stats_backend layout is part of the shm format");

/*
 * One secondary (--notify). The packed fields hold serial << 32 | Unix
 * time in seconds (until 2106); 0: never.
 */
struct stats_notify {
	/* Odd while the notifier rewrites who the entry is (below). */
	_Atomic uint64_t seq;
	char text[STATS_NOTIFY_TEXT]; /* as given: "192.0.2.53:5353" */
	uint8_t addr[16];
	uint8_t family;  /* AF_INET, AF_INET6 */
	uint8_t pad[5];
	uint16_t port;
	/* The notifier's: the serial last notified (time: its first send),
	 * the serial last acknowledged (time: the ack), resends of the serial
	 * last notified, and whether it went unacknowledged after the last
	 * retry (or was answered with an error: rcode). */
	_Atomic uint64_t notified;
	_Atomic uint64_t acked;
	_Atomic uint32_t retries;
	_Atomic uint32_t failed; /* 0, or 1 + the rcode of an error answer */
	/* A worker's: the last AXFR/IXFR served to this address. */
	_Atomic uint64_t xfr;
};
_Static_assert(sizeof(struct stats_notify) == 128, "stats_notify layout is part of the shm format");

/* A consistent copy of one entry (stats_read_notify). */
struct stats_notify_row {
	char text[STATS_NOTIFY_TEXT];
	int family;
	uint8_t addr[16];
	uint16_t port;
	uint32_t notified_serial;
	int64_t notified_at;   /* 0: nothing notified yet */
	uint32_t acked_serial;
	int64_t acked_at;      /* 0: never acknowledged */
	bool acknowledged;     /* the serial last notified is acknowledged */
	uint32_t retries;
	bool failed;           /* gave up on the serial last notified */
	int rcode;             /* of an error answer, -1: none */
	uint32_t xfr_serial;
	int64_t xfr_at;        /* 0: no transfer seen */
};

/* A mapping of the stats object. */
struct stats {
	uint8_t *base;
	size_t size;
	bool writable;
	struct stats_header *hdr;
	/* Geometry copied at map time: never re-read from shared memory. */
	uint32_t n_workers;
	uint64_t capacity;
	size_t slot_size;
	uint8_t *slot[2];
	struct stats_worker *workers;
	struct stats_notify *notify; /* [STATS_NOTIFY_MAX] */
	struct rrl_table *rrl;       /* NULL: read-only mapping */
	struct stats_keys *keys;     /* the DNSSEC key table */
};

/* What the supervisor shows in sd_notify STATUS=. */
struct stats_summary {
	uint64_t generation; /* 0: the prober has not published yet */
	uint32_t serial;
	uint64_t n_up;
	uint64_t n_total;
	int64_t published;
};

/* A consistent copy of the backend table (stats_read_backends). */
struct stats_table {
	struct stats_slot head;
	struct stats_backend *backends; /* head.n_backends */
};

/* The names of the answer counters (enum answer_kind): status's JSON
 * keys and columns, the metrics' kind label. */
extern const char *const stats_kind_names[];

/* "/a-healthy-dns.53053" -> "/a-healthy-dns.53053.stats". Returns 0, or
 * -1 if it does not fit cap. */
int stats_shm_name(const char *shm_name, char *out, size_t cap);

/* Health-checked addresses of cfg: the table capacity it needs. */
size_t stats_count_checked(const struct config *cfg);

/* Create (replacing a stale object of that name, name as given: callers
 * use stats_shm_name) mode 0644, sized for n_workers blocks and n_addrs
 * backends, mapped read-write. *fd is open O_RDWR without FD_CLOEXEC,
 * for the workers (exec'd, they map it with stats_map; the prober, forked,
 * uses the mapping it inherits). Returns NULL and logs on error. */
struct stats *stats_create(const char *name, unsigned n_workers, size_t n_addrs, int *fd);
/* Map an inherited fd read-write; the header is validated, never trusted. */
struct stats *stats_map(int fd);
/* Open by name read-only (status), only an object shm_open_trusted
 * trusts. NULL with errno set (ENOENT: no server; EPERM: refused, why
 * says how; EPROTO: not a stats object of this version); does not log.
 * why may be NULL. */
struct stats *stats_open_ro(const char *name, char *why, size_t cap);
void stats_close(struct stats *st);
int stats_unlink(const char *name);

/* Block of worker i, NULL if i is out of range. */
struct stats_worker *stats_worker(struct stats *st, unsigned i);

/* The only writer of c: no locked instruction needed (see above). */
static inline void stats_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Supervisor: worker i was started as pid at Unix time now. */
void stats_worker_started(struct stats *st, unsigned i, pid_t pid, int64_t now);

/* How often the prober's loop stores its heartbeat, at least. */
#define STATS_BEAT_MS 1000
/* The heartbeat's clock is clock_now_ms() (CLOCK_MONOTONIC, one per host,
 * so the supervisor and status compare it with their own). */
/* Supervisor: the prober was started as pid at now_ms; counts as its
 * first beat. */
void stats_prober_started(struct stats *st, pid_t pid, int64_t now_ms);
/* Prober: I am alive (cheap: one clock read and a relaxed store). The
 * argument is a struct stats *, so it can serve as a callback. */
void stats_prober_beat(void *st);
/* Milliseconds since the last beat at now_ms, or -1 if there was none. */
int64_t stats_prober_age_ms(const struct stats *st, int64_t now_ms);

/*
 * Prober: write the state of every health-checked address (h->addrs,
 * whose clock is milliseconds of CLOCK_REALTIME as the prober keeps it)
 * and serial into the inactive slot, then make it active. Addresses past
 * the capacity are left out (n_total still counts them). Returns 0, or
 * -1 if st is read-only.
 */
int stats_publish_backends(struct stats *st, const struct config *cfg,
			   const struct health *h, uint32_t serial);

/* Seqlock read of the active slot's head. Returns 0, or -1 if no
 * consistent copy could be had. */
int stats_summary(const struct stats *st, struct stats_summary *out);
/* "serial N, k of m backends up" (or "waiting for the first check
 * round"), for sd_notify STATUS=. */
void stats_status_line(const struct stats_summary *sum, char *buf, size_t cap);

/* Copy the active backend table. Returns 0 (free with
 * stats_table_free), or -1. */
int stats_read_backends(const struct stats *st, struct stats_table *out);
void stats_table_free(struct stats_table *t);

/* Serial and time packed as in struct stats_notify. */
static inline uint64_t stats_pack(uint32_t serial, int64_t t)
{
	return (uint64_t)serial << 32 | (uint32_t)(t > 0 ? t : 0);
}

/*
 * Notifier, at start: list cfg's secondaries. An entry whose address and
 * port were listed before keeps what it had (a reload or a restart of
 * the notifier loses no status); the others start empty. Returns how
 * many are listed (at most STATS_NOTIFY_MAX).
 */
size_t stats_notify_begin(struct stats *st, const struct config *cfg);
/* Supervisor: no secondaries any more (a reload removed every one). */
void stats_notify_clear(struct stats *st);
/* Prober: the image of serial was published at now (Unix time); the
 * publish took build_ns, sign_ns of it signing; rrsig_expiry: the
 * earliest signature expiration in it (0: unsigned). */
void stats_image_published(struct stats *st, uint32_t serial, int64_t now, int64_t build_ns,
			   int64_t sign_ns, int64_t rrsig_expiry);
/* Supervisor: a child of role died and will be restarted. */
void stats_role_died(struct stats *st, unsigned role);
/* Supervisor: the metrics process runs as pid (0: stopped). */
void stats_metrics_started(struct stats *st, pid_t pid);
/* Supervisor: the notifier runs as pid (0: stopped). */
void stats_notifier_started(struct stats *st, pid_t pid);
/* Notifier: secondary i was sent the first NOTIFY of serial at now. */
void stats_notify_sent(struct stats *st, size_t i, uint32_t serial, int64_t now);
/* Notifier: ... and has now been sent it 1 + retries times. */
void stats_notify_resent(struct stats *st, size_t i, uint32_t retries);
/* Notifier: secondary i acknowledged serial at now. */
void stats_notify_acked(struct stats *st, size_t i, uint32_t serial, int64_t now);
/* Notifier: secondary i gave no acknowledgement after the last retry
 * (rcode < 0) or answered with rcode. */
void stats_notify_failed(struct stats *st, size_t i, int rcode);

/*
 * Worker: an AXFR or IXFR of serial was served to addr (family AF_INET
 * or AF_INET6; an IPv4-mapped IPv6 address counts as IPv4) at now: every
 * secondary listed at that address, whatever its port, records it.
 */
/* Set the rate-limiting parameters every worker reads (supervisor). */
void stats_rrl_set(struct stats *st, const struct config *cfg);
/* The parameters as they are now (workers, per check). */
void stats_rrl_get(const struct stats *st, struct rrl_params *p);

void stats_xfr_seen(struct stats *st, int family, const uint8_t *addr, uint32_t serial,
		    int64_t now);

/* Copy the secondaries into out[0..cap); returns how many. */
size_t stats_read_notify(const struct stats *st, struct stats_notify_row *out, size_t cap);
#endif
