/*
 * Live statistics: the "<shm-name>.stats" object (layout in stats.h),
 * its writers' helpers and the `status` subcommand that reads it.
 */
#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"
#include "answer.h"
#include "clock.h"
#include "health.h"
#include "log.h"
#include "proc.h"
#include "rrl.h"
#include "shm.h"
#include "stats_keys.h"

_Static_assert(ANSWER_KIND_COUNT <= STATS_KINDS, "every answer kind has a counter");
_Static_assert(STATS_ERROR_MAX >= HEALTH_REASON_MAX, "a health reason fits");
_Static_assert(STATS_ADDR_MAX >= INET6_ADDRSTRLEN, "an IPv6 address fits");
_Static_assert(STATS_HEADER_SIZE % STATS_LINE == 0, "worker blocks start on a line");
_Static_assert(sizeof(struct stats_slot) % 8 == 0 && sizeof(struct stats_backend) % 8 == 0,
	       "slot entries stay 8-byte aligned");
_Static_assert(STATS_NOTIFY_TEXT == sizeof(((struct config_notify *)0)->text),
	       "a --notify text fits");
_Static_assert(STATS_NOTIFY_MAX <= 64, "the secondaries' table stays a few KiB");
_Static_assert(PROC_ROLE_METRICS < STATS_ROLES, "every role has a restart count");

const char *const stats_kind_names[ANSWER_KIND_COUNT] = {
	[ANSWER_DROP] = "ignored", /* QR set, shorter than a header */
	[ANSWER_NOERROR] = "noerror",
	[ANSWER_NODATA] = "nodata",
	[ANSWER_NXDOMAIN] = "nxdomain",
	[ANSWER_REFUSED] = "refused",
	[ANSWER_FORMERR] = "formerr",
	[ANSWER_NOTIMP] = "notimp",
	[ANSWER_SERVFAIL] = "servfail",
	[ANSWER_BADVERS] = "badvers",
};

int stats_shm_name(const char *shm_name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%s", shm_name, STATS_SUFFIX);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

size_t stats_count_checked(const struct config *cfg)
{
	size_t n = 0;

	for (size_t e = 0; e < cfg->n_entries; e++) {
		if (cfg->entries[e].check != CONFIG_CHECK_NONE)
			n += cfg->entries[e].n_addrs;
	}
	return n;
}

static size_t stats_slot_size(uint64_t capacity)
{
	return sizeof(struct stats_slot) + (size_t)capacity * sizeof(struct stats_backend);
}

static size_t stats_notify_off(uint32_t n_workers, uint64_t capacity)
{
	return STATS_HEADER_SIZE + (size_t)n_workers * sizeof(struct stats_worker) +
	       2 * stats_slot_size(capacity);
}

/* The rate-limiting table after the secondaries, on its own lines. */
static size_t stats_rrl_off(uint32_t n_workers, uint64_t capacity)
{
	size_t end = stats_notify_off(n_workers, capacity) +
		     STATS_NOTIFY_MAX * sizeof(struct stats_notify);

	return (end + RRL_ALIGN - 1) & ~(size_t)(RRL_ALIGN - 1);
}

/* The DNSSEC key table (stats_keys.h) last. */
static size_t stats_keys_off(uint32_t n_workers, uint64_t capacity)
{
	return stats_rrl_off(n_workers, capacity) + rrl_table_size(STATS_RRL_BUCKETS);
}

static size_t stats_total_size(uint32_t n_workers, uint64_t capacity)
{
	return stats_keys_off(n_workers, capacity) + sizeof(struct stats_keys);
}

/* The geometry a header claims, checked against the real size. */
static int stats_check_header(const struct stats_header *h, size_t size)
{
	uint64_t slot0;

	if (size < STATS_HEADER_SIZE)
		return -1;
	if (h->magic != STATS_MAGIC || h->version != STATS_VERSION ||
	    h->header_size != STATS_HEADER_SIZE ||
	    h->worker_size != sizeof(struct stats_worker) ||
	    h->slot_head_size != sizeof(struct stats_slot) ||
	    h->backend_size != sizeof(struct stats_backend))
		return -1;
	if (h->n_workers > STATS_MAX_WORKERS || h->capacity > STATS_MAX_BACKENDS ||
	    h->worker_off != STATS_HEADER_SIZE)
		return -1;
	if (h->slot_size != stats_slot_size(h->capacity))
		return -1;
	slot0 = STATS_HEADER_SIZE + (uint64_t)h->n_workers * sizeof(struct stats_worker);
	if (h->slot_off[0] != slot0 || h->slot_off[1] != slot0 + h->slot_size)
		return -1;
	if (h->notify_size != sizeof(struct stats_notify) ||
	    h->notify_capacity != STATS_NOTIFY_MAX ||
	    h->notify_off != stats_notify_off(h->n_workers, h->capacity))
		return -1;
	if (h->rrl_off != stats_rrl_off(h->n_workers, h->capacity) ||
	    h->rrl_size != rrl_table_size(STATS_RRL_BUCKETS))
		return -1;
	if (h->keys_off != stats_keys_off(h->n_workers, h->capacity))
		return -1;
	if (h->total_size != stats_total_size(h->n_workers, h->capacity) ||
	    h->total_size != size)
		return -1;
	return 0;
}

static struct stats *stats_wrap(uint8_t *base, size_t size, bool writable)
{
	struct stats *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->base = base;
	st->size = size;
	st->writable = writable;
	st->hdr = (struct stats_header *)base;
	st->n_workers = st->hdr->n_workers;
	st->capacity = st->hdr->capacity;
	st->slot_size = (size_t)st->hdr->slot_size;
	st->slot[0] = base + st->hdr->slot_off[0];
	st->slot[1] = base + st->hdr->slot_off[1];
	st->workers = (struct stats_worker *)(base + STATS_HEADER_SIZE);
	st->notify = (struct stats_notify *)(base + st->hdr->notify_off);
	st->keys = (struct stats_keys *)(base + st->hdr->keys_off);
	/* Only the processes that limit (workers, read-write) use it. */
	st->rrl = writable ? rrl_table_attach(base + st->hdr->rrl_off, st->hdr->rrl_size) : NULL;
	return st;
}

static void stats_init_header(struct stats_header *h, uint32_t n_workers, uint64_t capacity)
{
	size_t slot = stats_slot_size(capacity);
	uint64_t slot0 = STATS_HEADER_SIZE + (uint64_t)n_workers * sizeof(struct stats_worker);

	memset(h, 0, sizeof(*h));
	h->magic = STATS_MAGIC;
	h->version = STATS_VERSION;
	h->header_size = STATS_HEADER_SIZE;
	h->worker_size = sizeof(struct stats_worker);
	h->n_workers = n_workers;
	h->worker_off = STATS_HEADER_SIZE;
	h->slot_head_size = sizeof(struct stats_slot);
	h->backend_size = sizeof(struct stats_backend);
	h->capacity = capacity;
	h->slot_size = slot;
	h->slot_off[0] = slot0;
	h->slot_off[1] = slot0 + slot;
	h->total_size = stats_total_size(n_workers, capacity);
	h->created = (int64_t)time(NULL);
	h->supervisor_pid = (int32_t)getpid();
	atomic_init(&h->lock.active, 0);
	atomic_init(&h->lock.seq[0], 0);
	atomic_init(&h->lock.seq[1], 0);
	atomic_init(&h->generation, 0);
	atomic_init(&h->prober_pid, 0);
	atomic_init(&h->prober_beat_ms, 0);
	h->notify_off = stats_notify_off(n_workers, capacity);
	h->notify_size = sizeof(struct stats_notify);
	h->notify_capacity = STATS_NOTIFY_MAX;
	atomic_init(&h->n_notify, 0);
	atomic_init(&h->notifier_pid, 0);
	h->rrl_off = stats_rrl_off(n_workers, capacity);
	h->rrl_size = rrl_table_size(STATS_RRL_BUCKETS);
	atomic_init(&h->rrl_params, 0);
	atomic_init(&h->rrl_prefixes, 0);
	atomic_init(&h->image_published, 0);
	atomic_init(&h->rrsig_expiry, 0);
	atomic_init(&h->image_serial, 0);
	atomic_init(&h->build_us, 0);
	atomic_init(&h->sign_us, 0);
	atomic_init(&h->metrics_pid, 0);
	for (size_t i = 0; i < STATS_ROLES; i++)
		atomic_init(&h->restarts[i], 0);
	h->keys_off = stats_keys_off(n_workers, capacity);
}

/* The rate-limiting table's header, with a secret seed per start (the
 * buckets are the zero pages ftruncate left). */
static int stats_rrl_init(uint8_t *base)
{
	const struct stats_header *h = (const struct stats_header *)base;
	uint8_t seed[RRL_SEED_LEN];

	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed) ||
	    rrl_table_init_zeroed(base + h->rrl_off, STATS_RRL_BUCKETS, seed) == NULL) {
		log_error("rate-limiting table: %s", strerror(errno));
		return -1;
	}
	explicit_bzero(seed, sizeof(seed));
	return 0;
}

struct stats *stats_create(const char *name, unsigned n_workers, size_t n_addrs, int *fd)
{
	size_t total;
	void *base = NULL;
	struct stats *st;

	if (n_workers > STATS_MAX_WORKERS || n_addrs > STATS_MAX_BACKENDS) {
		log_error("shm %s: %u workers / %zu backends exceed the statistics format",
			  name, n_workers, n_addrs);
		return NULL;
	}
	total = stats_total_size(n_workers, n_addrs);
	*fd = shm_create(name, total, true, &base);
	if (*fd < 0)
		return NULL;
	/* ftruncate zeroed every counter and slot. */
	stats_init_header(base, n_workers, n_addrs);
	if (stats_rrl_init(base) < 0) {
		munmap(base, total);
		close(*fd);
		*fd = -1;
		shm_unlink(name);
		return NULL;
	}
	st = stats_wrap(base, total, true);
	if (st == NULL) {
		log_error("shm %s: out of memory", name);
		munmap(base, total);
		close(*fd);
		*fd = -1;
		shm_unlink(name);
	}
	return st;
}

/* Map fd; NULL with errno set, nothing logged. */
static struct stats *stats_map_fd(int fd, bool writable)
{
	struct stats *st;
	size_t size;
	void *base = shm_map(fd, writable, STATS_HEADER_SIZE, &size);

	if (base == NULL)
		return NULL;
	if (stats_check_header(base, size) < 0) {
		munmap(base, size);
		errno = EPROTO;
		return NULL;
	}
	st = stats_wrap(base, size, writable);
	if (st == NULL) {
		munmap(base, size);
		errno = ENOMEM;
	}
	return st;
}

struct stats *stats_map(int fd)
{
	struct stats *st = stats_map_fd(fd, true);

	if (st == NULL)
		log_error("statistics fd %d: %s", fd,
			  errno == EPROTO ? "bad header (magic, version or sizes)"
					  : strerror(errno));
	return st;
}

struct stats *stats_open_ro(const char *name, char *why, size_t cap)
{
	char buf[SHM_WHY_MAX];
	int fd = shm_open_trusted(name, why != NULL ? why : buf, why != NULL ? cap : sizeof(buf));
	struct stats *st;
	int err;

	if (fd < 0)
		return NULL;
	st = stats_map_fd(fd, false);
	err = errno;
	close(fd); /* the mapping stays */
	errno = err;
	return st;
}

void stats_close(struct stats *st)
{
	if (st == NULL)
		return;
	munmap(st->base, st->size);
	free(st);
}

int stats_unlink(const char *name)
{
	return shm_remove(name);
}

struct stats_worker *stats_worker(struct stats *st, unsigned i)
{
	if (st == NULL || i >= st->n_workers)
		return NULL;
	return &st->workers[i];
}

void stats_worker_started(struct stats *st, unsigned i, pid_t pid, int64_t now)
{
	struct stats_worker *w = stats_worker(st, i);

	if (w == NULL)
		return;
	if (atomic_load_explicit(&w->pid, memory_order_relaxed) != 0)
		stats_add(&w->restarts, 1);
	atomic_store_explicit(&w->pid, (int64_t)pid, memory_order_relaxed);
	atomic_store_explicit(&w->started, now, memory_order_relaxed);
}

void stats_prober_started(struct stats *st, pid_t pid, int64_t now_ms)
{
	if (st == NULL || !st->writable)
		return;
	atomic_store_explicit(&st->hdr->prober_beat_ms, now_ms, memory_order_relaxed);
	atomic_store_explicit(&st->hdr->prober_pid, (int64_t)pid, memory_order_relaxed);
}

void stats_prober_beat(void *arg)
{
	struct stats *st = arg;

	if (st == NULL || !st->writable)
		return;
	atomic_store_explicit(&st->hdr->prober_beat_ms, clock_now_ms(), memory_order_relaxed);
}

int64_t stats_prober_age_ms(const struct stats *st, int64_t now_ms)
{
	int64_t beat = atomic_load_explicit(&st->hdr->prober_beat_ms, memory_order_relaxed);

	if (beat <= 0)
		return -1;
	return now_ms > beat ? now_ms - beat : 0;
}

_Static_assert((int)STATS_ADMIN_DRAINED == (int)HEALTH_ADMIN_DRAINED &&
		       (int)STATS_ADMIN_FORCED_UP == (int)HEALTH_ADMIN_FORCED_UP,
	       "stats_backend.admin stores enum health_admin");

static void stats_fill_backend(struct stats_backend *b, const struct config *cfg,
			       size_t e, size_t j, const struct health *h)
{
	const struct config_entry *ent = &cfg->entries[e];
	const struct health_addr *a = health_addr(h, health_index(cfg, e, j));

	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s.%s", ent->name, cfg->hosted_zone);
	if (inet_ntop(ent->addrs[j].family, ent->addrs[j].addr, b->addr, sizeof(b->addr)) == NULL)
		strlcpy(b->addr, "?", sizeof(b->addr));
	strlcpy(b->last_error, a->last_error, sizeof(b->last_error));
	/* The prober's health clock is milliseconds of CLOCK_REALTIME. */
	b->since = a->since / 1000;
	b->last_check = a->last_check < 0 ? -1 : a->last_check / 1000;
	b->latency_us = a->latency_us;
	b->passes = a->passes;
	b->fails = a->fails;
	b->port = ent->health_port;
	b->check = (uint8_t)ent->check;
	b->state = (uint8_t)a->state;
	b->published = health_published(h, e, j);
	b->error_class = (uint8_t)a->error_class;
	b->last_pass = a->last_pass;
	b->changes = a->changes;
	b->admin = (uint8_t)health_admin(h, health_index(cfg, e, j));
}

int stats_publish_backends(struct stats *st, const struct config *cfg,
			   const struct health *h, uint32_t serial)
{
	struct stats_header *hdr = st->hdr;
	struct stats_backend *b;
	struct stats_slot *sl;
	uint64_t n = 0, total = 0, up = 0;
	unsigned s;

	if (!st->writable)
		return -1;
	s = seqlock_write_begin(&hdr->lock);
	sl = (struct stats_slot *)st->slot[s];
	b = (struct stats_backend *)(sl + 1);
	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];

		if (ent->check == CONFIG_CHECK_NONE)
			continue;
		for (size_t j = 0; j < ent->n_addrs; j++) {
			total++;
			up += health_addr(h, health_index(cfg, e, j))->state == HEALTH_UP;
			if (n < st->capacity)
				stats_fill_backend(&b[n++], cfg, e, j, h);
		}
	}
	memset(sl, 0, sizeof(*sl));
	sl->serial = serial;
	sl->n_backends = (uint32_t)n;
	sl->n_total = total;
	sl->n_up = up;
	sl->published = (int64_t)time(NULL);
	strlcpy(sl->zone, cfg->hosted_zone != NULL ? cfg->hosted_zone : "", sizeof(sl->zone));
	if (cfg->priv_key_path != NULL) {
		struct config_ttls t;

		config_ttls(cfg, &t);
		sl->sig_lifetime = t.sig_lifetime;
		sl->sig_refresh = t.sig_refresh;
		sl->sig_backdate = t.sig_backdate;
		sl->sig_jitter = t.sig_jitter;
	}
	seqlock_write_end(&hdr->lock, s);
	atomic_fetch_add_explicit(&hdr->generation, 1, memory_order_release);
	return 0;
}

/* A reader that keeps losing to the writer gives up instead of spinning:
 * the table is rewritten once per check round, so this never happens to
 * a healthy server. */
#define STATS_READ_TRIES 1000

int stats_summary(const struct stats *st, struct stats_summary *out)
{
	const struct stats_header *hdr = st->hdr;

	for (unsigned t = 0; t < STATS_READ_TRIES; t++) {
		uint64_t seq, gen;
		const struct stats_slot *sl;
		unsigned s;

		gen = atomic_load_explicit(&hdr->generation, memory_order_acquire);
		s = seqlock_read_begin(&hdr->lock, &seq);
		sl = (const struct stats_slot *)st->slot[s];
		out->serial = sl->serial;
		out->n_up = sl->n_up;
		out->n_total = sl->n_total;
		out->published = sl->published;
		if (!seqlock_read_retry(&hdr->lock, s, seq)) {
			out->generation = gen;
			return 0;
		}
	}
	return -1;
}

void stats_status_line(const struct stats_summary *sum, char *buf, size_t cap)
{
	if (sum->generation == 0)
		snprintf(buf, cap, "waiting for the first check round");
	else
		snprintf(buf, cap, "serial %u, %llu of %llu backends up", sum->serial,
			 (unsigned long long)sum->n_up, (unsigned long long)sum->n_total);
}

int stats_read_backends(const struct stats *st, struct stats_table *out)
{
	const struct stats_header *hdr = st->hdr;
	size_t cap = (size_t)st->capacity;
	struct stats_backend *copy = calloc(cap + 1, sizeof(*copy));

	memset(out, 0, sizeof(*out));
	if (copy == NULL)
		return -1;
	for (unsigned t = 0; t < STATS_READ_TRIES; t++) {
		const struct stats_slot *sl;
		uint64_t seq;
		size_t n;
		unsigned s;

		s = seqlock_read_begin(&hdr->lock, &seq);
		sl = (const struct stats_slot *)st->slot[s];
		memcpy(&out->head, sl, sizeof(out->head));
		n = out->head.n_backends;
		if (n > cap)
			n = cap; /* torn or hostile: the retry check decides */
		memcpy(copy, sl + 1, n * sizeof(*copy));
		if (seqlock_read_retry(&hdr->lock, s, seq))
			continue;
		if (out->head.n_backends > cap)
			break;
		out->head.zone[sizeof(out->head.zone) - 1] = '\0';
		for (size_t i = 0; i < n; i++) {
			copy[i].name[sizeof(copy[i].name) - 1] = '\0';
			copy[i].addr[sizeof(copy[i].addr) - 1] = '\0';
			copy[i].last_error[sizeof(copy[i].last_error) - 1] = '\0';
		}
		out->backends = copy;
		return 0;
	}
	free(copy);
	memset(out, 0, sizeof(*out));
	return -1;
}

void stats_table_free(struct stats_table *t)
{
	free(t->backends);
	t->backends = NULL;
}

/* Secondaries (DESIGN §9.5). */

static uint32_t stats_unpack_serial(uint64_t v)
{
	return (uint32_t)(v >> 32);
}

static int64_t stats_unpack_time(uint64_t v)
{
	return (int64_t)(v & 0xffffffffu);
}

/* Who an entry is, as the notifier lists it. */
struct stats_notify_who {
	char text[STATS_NOTIFY_TEXT];
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* The notifier, the entry's only writer of who it is: the sequence is odd
 * while the bytes change (a release fence after the odd store, as in
 * seqlock.h), so a worker matching an address never pairs halves. */
static void stats_notify_set_who(struct stats_notify *e, const struct config_notify *n)
{
	uint64_t q = atomic_load_explicit(&e->seq, memory_order_relaxed) | 1u;

	atomic_store_explicit(&e->seq, q, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memset(e->text, 0, sizeof(e->text));
	strlcpy(e->text, n->text, sizeof(e->text));
	memcpy(e->addr, n->addr, sizeof(e->addr));
	e->family = (uint8_t)n->family;
	e->port = n->port;
	atomic_store_explicit(&e->seq, q + 1u, memory_order_release);
}

/* A consistent copy of who e is; false if the writer kept overlapping. */
static bool stats_notify_get_who(const struct stats_notify *e, struct stats_notify_who *w)
{
	for (unsigned t = 0; t < STATS_READ_TRIES; t++) {
		uint64_t q = atomic_load_explicit(&e->seq, memory_order_acquire);

		if (q & 1u) {
			seqlock_cpu_relax();
			continue;
		}
		memcpy(w->text, e->text, sizeof(w->text));
		memcpy(w->addr, e->addr, sizeof(w->addr));
		w->family = e->family;
		w->port = e->port;
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) == q) {
			w->text[sizeof(w->text) - 1] = '\0';
			return true;
		}
	}
	return false;
}

static size_t stats_notify_count(const struct stats *st)
{
	uint32_t n = atomic_load_explicit(&st->hdr->n_notify, memory_order_acquire);

	return n > STATS_NOTIFY_MAX ? STATS_NOTIFY_MAX : n;
}

static bool stats_notify_same(const struct stats_notify_who *w, const struct config_notify *n)
{
	return w->family == n->family && w->port == n->port &&
	       memcmp(w->addr, n->addr, sizeof(w->addr)) == 0;
}

/* What an entry holds besides who it is, carried over by a reload. */
struct stats_notify_state {
	struct stats_notify_who who;
	bool valid;
	uint64_t notified, acked, xfr;
	uint32_t retries, failed;
};

size_t stats_notify_begin(struct stats *st, const struct config *cfg)
{
	struct stats_notify_state old[STATS_NOTIFY_MAX];
	size_t n_old, n = cfg->n_notify < STATS_NOTIFY_MAX ? cfg->n_notify : STATS_NOTIFY_MAX;

	if (st == NULL || !st->writable)
		return 0;
	n_old = stats_notify_count(st);
	for (size_t j = 0; j < n_old; j++) {
		const struct stats_notify *e = &st->notify[j];

		old[j].valid = stats_notify_get_who(e, &old[j].who);
		old[j].notified = atomic_load_explicit(&e->notified, memory_order_relaxed);
		old[j].acked = atomic_load_explicit(&e->acked, memory_order_relaxed);
		old[j].xfr = atomic_load_explicit(&e->xfr, memory_order_relaxed);
		old[j].retries = atomic_load_explicit(&e->retries, memory_order_relaxed);
		old[j].failed = atomic_load_explicit(&e->failed, memory_order_relaxed);
	}
	/* Readers see the shorter of the two lists while it changes. */
	atomic_store_explicit(&st->hdr->n_notify, (uint32_t)(n < n_old ? n : n_old),
			      memory_order_release);
	for (size_t i = 0; i < n; i++) {
		struct stats_notify *e = &st->notify[i];
		const struct stats_notify_state *from = NULL;

		for (size_t j = 0; j < n_old && from == NULL; j++) {
			if (old[j].valid && stats_notify_same(&old[j].who, &cfg->notify[i]))
				from = &old[j];
		}
		stats_notify_set_who(e, &cfg->notify[i]);
		atomic_store_explicit(&e->notified, from ? from->notified : 0, memory_order_relaxed);
		atomic_store_explicit(&e->acked, from ? from->acked : 0, memory_order_relaxed);
		atomic_store_explicit(&e->xfr, from ? from->xfr : 0, memory_order_relaxed);
		atomic_store_explicit(&e->retries, from ? from->retries : 0, memory_order_relaxed);
		atomic_store_explicit(&e->failed, from ? from->failed : 0, memory_order_relaxed);
	}
	atomic_store_explicit(&st->hdr->n_notify, (uint32_t)n, memory_order_release);
	return n;
}

void stats_notify_clear(struct stats *st)
{
	if (st != NULL && st->writable)
		atomic_store_explicit(&st->hdr->n_notify, 0, memory_order_release);
}

static uint32_t stats_us(int64_t ns)
{
	int64_t us = ns / 1000;

	return us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void stats_image_published(struct stats *st, uint32_t serial, int64_t now, int64_t build_ns,
			   int64_t sign_ns, int64_t rrsig_expiry)
{
	struct stats_header *h;

	if (st == NULL || !st->writable)
		return;
	h = st->hdr;
	atomic_store_explicit(&h->image_serial, serial, memory_order_relaxed);
	atomic_store_explicit(&h->build_us, stats_us(build_ns), memory_order_relaxed);
	atomic_store_explicit(&h->sign_us, stats_us(sign_ns), memory_order_relaxed);
	atomic_store_explicit(&h->rrsig_expiry, rrsig_expiry, memory_order_relaxed);
	atomic_store_explicit(&h->image_published, now, memory_order_release);
}

void stats_role_died(struct stats *st, unsigned role)
{
	if (st != NULL && st->writable && role < STATS_ROLES)
		atomic_fetch_add_explicit(&st->hdr->restarts[role], 1, memory_order_relaxed);
}

void stats_metrics_started(struct stats *st, pid_t pid)
{
	if (st != NULL && st->writable)
		atomic_store_explicit(&st->hdr->metrics_pid, (int32_t)pid, memory_order_relaxed);
}

void stats_notifier_started(struct stats *st, pid_t pid)
{
	if (st != NULL && st->writable)
		atomic_store_explicit(&st->hdr->notifier_pid, (int32_t)pid, memory_order_relaxed);
}

static struct stats_notify *stats_notify_at(struct stats *st, size_t i)
{
	if (st == NULL || !st->writable || i >= STATS_NOTIFY_MAX)
		return NULL;
	return &st->notify[i];
}

void stats_notify_sent(struct stats *st, size_t i, uint32_t serial, int64_t now)
{
	struct stats_notify *e = stats_notify_at(st, i);

	if (e == NULL)
		return;
	atomic_store_explicit(&e->notified, stats_pack(serial, now), memory_order_relaxed);
	atomic_store_explicit(&e->retries, 0, memory_order_relaxed);
	atomic_store_explicit(&e->failed, 0, memory_order_relaxed);
}

void stats_notify_resent(struct stats *st, size_t i, uint32_t retries)
{
	struct stats_notify *e = stats_notify_at(st, i);

	if (e != NULL)
		atomic_store_explicit(&e->retries, retries, memory_order_relaxed);
}

void stats_notify_acked(struct stats *st, size_t i, uint32_t serial, int64_t now)
{
	struct stats_notify *e = stats_notify_at(st, i);

	if (e == NULL)
		return;
	atomic_store_explicit(&e->acked, stats_pack(serial, now), memory_order_relaxed);
	atomic_store_explicit(&e->failed, 0, memory_order_relaxed);
}

void stats_notify_failed(struct stats *st, size_t i, int rcode)
{
	struct stats_notify *e = stats_notify_at(st, i);

	/* 1: no answer; 2 + rcode: an error answer. */
	if (e != NULL)
		atomic_store_explicit(&e->failed, rcode < 0 ? 1u : 2u + (uint32_t)(rcode & 0xfff),
				      memory_order_relaxed);
}

void stats_xfr_seen(struct stats *st, int family, const uint8_t *addr, uint32_t serial,
		    int64_t now)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t alen, n;

	if (st == NULL || !st->writable)
		return;
	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += sizeof(mapped);
	}
	alen = family == AF_INET ? 4 : 16;
	n = stats_notify_count(st);
	for (size_t i = 0; i < n; i++) {
		struct stats_notify_who w;

		if (!stats_notify_get_who(&st->notify[i], &w) || w.family != family ||
		    memcmp(w.addr, addr, alen) != 0)
			continue;
		atomic_store_explicit(&st->notify[i].xfr, stats_pack(serial, now),
				      memory_order_relaxed);
	}
}

size_t stats_read_notify(const struct stats *st, struct stats_notify_row *out, size_t cap)
{
	size_t n = stats_notify_count(st), k = 0;

	for (size_t i = 0; i < n && k < cap; i++) {
		const struct stats_notify *e = &st->notify[i];
		struct stats_notify_row *r = &out[k];
		struct stats_notify_who w;
		uint64_t nt, ak, xf;
		uint32_t failed;

		if (!stats_notify_get_who(e, &w))
			continue;
		memset(r, 0, sizeof(*r));
		memcpy(r->text, w.text, sizeof(r->text));
		r->family = w.family;
		memcpy(r->addr, w.addr, sizeof(r->addr));
		r->port = w.port;
		nt = atomic_load_explicit(&e->notified, memory_order_relaxed);
		ak = atomic_load_explicit(&e->acked, memory_order_relaxed);
		xf = atomic_load_explicit(&e->xfr, memory_order_relaxed);
		failed = atomic_load_explicit(&e->failed, memory_order_relaxed);
		r->notified_serial = stats_unpack_serial(nt);
		r->notified_at = stats_unpack_time(nt);
		r->acked_serial = stats_unpack_serial(ak);
		r->acked_at = stats_unpack_time(ak);
		r->acknowledged = nt != 0 && ak != 0 && r->acked_serial == r->notified_serial;
		r->retries = atomic_load_explicit(&e->retries, memory_order_relaxed);
		r->failed = failed != 0;
		r->rcode = failed >= 2 ? (int)(failed - 2) : -1;
		r->xfr_serial = stats_unpack_serial(xf);
		r->xfr_at = stats_unpack_time(xf);
		k++;
	}
	return k;
}

void stats_rrl_set(struct stats *st, const struct config *cfg)
{
	uint64_t params = (uint64_t)cfg->rrl_rate | (uint64_t)(cfg->rrl_window & 0xffff) << 32 |
			  (uint64_t)(cfg->rrl_slip & 0xffff) << 48;
	uint32_t prefixes = (cfg->rrl_ipv4_prefix & 0xff) | (cfg->rrl_ipv6_prefix & 0xff) << 8 |
			    (uint32_t)cfg->rrl_log_only << 16;

	if (st == NULL || !st->writable)
		return;
	atomic_store_explicit(&st->hdr->rrl_prefixes, prefixes, memory_order_relaxed);
	atomic_store_explicit(&st->hdr->rrl_params, params, memory_order_release);
}

void stats_rrl_get(const struct stats *st, struct rrl_params *p)
{
	uint64_t params = atomic_load_explicit(&st->hdr->rrl_params, memory_order_acquire);
	uint32_t prefixes = atomic_load_explicit(&st->hdr->rrl_prefixes, memory_order_relaxed);

	p->rate = (uint32_t)params;
	p->window = (uint32_t)(params >> 32) & 0xffff;
	p->slip = (uint32_t)(params >> 48);
	p->v4_prefix = (uint8_t)prefixes;
	p->v6_prefix = (uint8_t)(prefixes >> 8);
	p->log_only = (prefixes >> 16) & 1;
}
