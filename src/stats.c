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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "admin.h"
#include "ahd.h"
#include "answer.h"
#include "clock.h"
#include "health.h"
#include "log.h"
#include "proc.h"
#include "shm.h"

_Static_assert(ANSWER_KIND_COUNT <= STATS_KINDS, "every answer kind has a counter");
_Static_assert(STATS_ERROR_MAX >= HEALTH_REASON_MAX, "a health reason fits");
_Static_assert(STATS_ADDR_MAX >= INET6_ADDRSTRLEN, "an IPv6 address fits");
_Static_assert(STATS_HEADER_SIZE % STATS_LINE == 0, "worker blocks start on a line");
_Static_assert(sizeof(struct stats_slot) % 8 == 0 && sizeof(struct stats_backend) % 8 == 0,
	       "slot entries stay 8-byte aligned");

/* JSON keys and column titles of the answer counters. */
static const char *const stats_kind_names[ANSWER_KIND_COUNT] = {
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

static const char *stats_check_name(unsigned check)
{
	switch (check) {
	case CONFIG_CHECK_TCP:
		return "tcp";
	case CONFIG_CHECK_HTTP:
		return "http";
	default:
		return "none";
	}
}

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

static size_t stats_total_size(uint32_t n_workers, uint64_t capacity)
{
	return STATS_HEADER_SIZE + (size_t)n_workers * sizeof(struct stats_worker) +
	       2 * stats_slot_size(capacity);
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

static const char *stats_state_name(unsigned state)
{
	return health_state_name((enum health_state)state);
}

/* One worker's counters as plain numbers. */
struct stats_counts {
	uint64_t answers[ANSWER_KIND_COUNT];
	uint64_t udp, tcp, conns, truncated, dropped, errors, restarts;
	int64_t pid, started;
};

static void stats_load(const struct stats_worker *w, struct stats_counts *c)
{
	for (size_t k = 0; k < ANSWER_KIND_COUNT; k++)
		c->answers[k] = atomic_load_explicit(&w->answers[k], memory_order_relaxed);
	c->udp = atomic_load_explicit(&w->udp_queries, memory_order_relaxed);
	c->tcp = atomic_load_explicit(&w->tcp_queries, memory_order_relaxed);
	c->conns = atomic_load_explicit(&w->tcp_conns, memory_order_relaxed);
	c->truncated = atomic_load_explicit(&w->truncated, memory_order_relaxed);
	c->dropped = atomic_load_explicit(&w->dropped, memory_order_relaxed);
	c->errors = atomic_load_explicit(&w->errors, memory_order_relaxed);
	c->restarts = atomic_load_explicit(&w->restarts, memory_order_relaxed);
	c->pid = atomic_load_explicit(&w->pid, memory_order_relaxed);
	c->started = atomic_load_explicit(&w->started, memory_order_relaxed);
}

static void stats_sum(struct stats_counts *t, const struct stats_counts *c)
{
	for (size_t k = 0; k < ANSWER_KIND_COUNT; k++)
		t->answers[k] += c->answers[k];
	t->udp += c->udp;
	t->tcp += c->tcp;
	t->conns += c->conns;
	t->truncated += c->truncated;
	t->dropped += c->dropped;
	t->errors += c->errors;
	t->restarts += c->restarts;
}

static int stats_json_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int stats_json_u64(struct json_object *o, const char *key, uint64_t v)
{
	return stats_json_add(o, key, json_object_new_uint64(v));
}

static int stats_json_i64(struct json_object *o, const char *key, int64_t v)
{
	return stats_json_add(o, key, json_object_new_int64(v));
}

static int stats_json_str(struct json_object *o, const char *key, const char *v)
{
	return stats_json_add(o, key, json_object_new_string(v));
}

static struct json_object *stats_json_backend(const struct stats_backend *b)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= stats_json_str(o, "name", b->name);
	rc |= stats_json_str(o, "address", b->addr);
	rc |= stats_json_u64(o, "port", b->port);
	rc |= stats_json_str(o, "check", stats_check_name(b->check));
	rc |= stats_json_str(o, "state", stats_state_name(b->state));
	rc |= stats_json_add(o, "published", json_object_new_boolean(b->published));
	rc |= stats_json_i64(o, "since", b->since);
	rc |= stats_json_i64(o, "last_check", b->last_check);
	rc |= stats_json_str(o, "last_error", b->last_error);
	rc |= stats_json_u64(o, "latency_us", b->latency_us);
	rc |= stats_json_u64(o, "passes", b->passes);
	rc |= stats_json_u64(o, "fails", b->fails);
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Counters of one worker (pid >= 0) or the totals (pid < 0: no identity). */
static struct json_object *stats_json_counts(const struct stats_counts *c, long index)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_object();
	int rc = 0;

	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	if (index >= 0) {
		rc |= stats_json_i64(o, "index", index);
		rc |= stats_json_i64(o, "pid", c->pid);
		rc |= stats_json_i64(o, "started", c->started);
	}
	rc |= stats_json_u64(o, "restarts", c->restarts);
	rc |= stats_json_u64(o, "udp_queries", c->udp);
	rc |= stats_json_u64(o, "tcp_queries", c->tcp);
	rc |= stats_json_u64(o, "tcp_connections", c->conns);
	rc |= stats_json_u64(o, "truncated", c->truncated);
	rc |= stats_json_u64(o, "dropped", c->dropped);
	rc |= stats_json_u64(o, "errors", c->errors);
	for (size_t k = 0; k < ANSWER_KIND_COUNT; k++)
		rc |= stats_json_u64(a, stats_kind_names[k], c->answers[k]);
	rc |= stats_json_add(o, "answers", a);
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *stats_to_json(const struct stats *st)
{
	struct json_object *o = json_object_new_object();
	struct json_object *backs = json_object_new_array();
	struct json_object *works = json_object_new_array();
	struct stats_counts total;
	struct stats_table t;
	uint64_t gen;
	int rc = 0;

	memset(&total, 0, sizeof(total));
	if (o == NULL || backs == NULL || works == NULL ||
	    stats_read_backends(st, &t) < 0) {
		json_object_put(o);
		json_object_put(backs);
		json_object_put(works);
		return NULL;
	}
	gen = atomic_load_explicit(&st->hdr->generation, memory_order_acquire);
	rc |= stats_json_str(o, "zone", t.head.zone);
	rc |= stats_json_i64(o, "supervisor_pid", st->hdr->supervisor_pid);
	rc |= stats_json_i64(o, "started", st->hdr->created);
	rc |= stats_json_add(o, "checked", json_object_new_boolean(gen != 0));
	rc |= stats_json_i64(o, "prober_pid",
			     atomic_load_explicit(&st->hdr->prober_pid, memory_order_relaxed));
	rc |= stats_json_i64(o, "prober_heartbeat_age_ms", stats_prober_age_ms(st, clock_now_ms()));
	rc |= stats_json_u64(o, "serial", t.head.serial);
	rc |= stats_json_i64(o, "published", t.head.published);
	rc |= stats_json_u64(o, "backends_up", t.head.n_up);
	rc |= stats_json_u64(o, "backends_total", t.head.n_total);
	/* The signing policy, seconds; null for an unsigned zone. */
	if (t.head.sig_lifetime != 0) {
		struct json_object *sig = json_object_new_object();

		if (sig != NULL) {
			rc |= stats_json_u64(sig, "lifetime", t.head.sig_lifetime);
			rc |= stats_json_u64(sig, "refresh", t.head.sig_refresh);
			rc |= stats_json_u64(sig, "backdate", t.head.sig_backdate);
			rc |= stats_json_u64(sig, "jitter", t.head.sig_jitter);
		}
		rc |= stats_json_add(o, "signatures", sig);
	} else {
		rc |= json_object_object_add(o, "signatures", NULL) != 0;
	}
	for (size_t i = 0; i < t.head.n_backends; i++)
		rc |= json_object_array_add(backs, stats_json_backend(&t.backends[i])) != 0;
	stats_table_free(&t);
	rc |= stats_json_add(o, "backends", backs);
	for (unsigned i = 0; i < st->n_workers; i++) {
		struct stats_counts c;

		stats_load(&st->workers[i], &c);
		stats_sum(&total, &c);
		rc |= json_object_array_add(works, stats_json_counts(&c, (long)i)) != 0;
	}
	rc |= stats_json_add(o, "workers", works);
	rc |= stats_json_add(o, "totals", stats_json_counts(&total, -1));
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int stats_print_json(const struct stats *st, FILE *out)
{
	struct json_object *o = stats_to_json(st);
	int rc;

	if (o == NULL)
		return -1;
	rc = fprintf(out, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE)) < 0
		     ? -1 : 0;
	json_object_put(o);
	return rc;
}

static void stats_time_text(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		strlcpy(buf, "-", cap);
	else
		strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "45s", "12m", "3h", "9d": how long ago, for eyes. */
static void stats_ago_text(int64_t then, int64_t now, char *buf, size_t cap)
{
	int64_t d = now - then;

	if (then <= 0)
		strlcpy(buf, "", cap);
	else if (d < 0)
		snprintf(buf, cap, "(0s)");
	else if (d < 120)
		snprintf(buf, cap, "(%llds)", (long long)d);
	else if (d < 2 * 3600)
		snprintf(buf, cap, "(%lldm)", (long long)(d / 60));
	else if (d < 2 * 86400)
		snprintf(buf, cap, "(%lldh)", (long long)(d / 3600));
	else
		snprintf(buf, cap, "(%lldd)", (long long)(d / 86400));
}

static void stats_print_backends(const struct stats_table *t, FILE *out, int64_t now)
{
	int wname = 4, waddr = 7;

	for (size_t i = 0; i < t->head.n_backends; i++) {
		int ln = (int)strlen(t->backends[i].name), la = (int)strlen(t->backends[i].addr);

		wname = ln > wname ? ln : wname;
		waddr = la > waddr ? la : waddr;
	}
	fprintf(out, "%-*s  %-*s  %5s  %-5s  %-7s  %-28s  %10s  %s\n", wname, "NAME", waddr,
		"ADDRESS", "PORT", "CHECK", "STATE", "SINCE", "LATENCY", "LAST ERROR");
	for (size_t i = 0; i < t->head.n_backends; i++) {
		const struct stats_backend *b = &t->backends[i];
		char since[64], stamp[32], ago[24], lat[24];

		stats_time_text(b->since, stamp, sizeof(stamp));
		stats_ago_text(b->since, now, ago, sizeof(ago));
		snprintf(since, sizeof(since), "%s %s", stamp, ago);
		if (b->last_check < 0)
			strlcpy(lat, "-", sizeof(lat));
		else
			snprintf(lat, sizeof(lat), "%u.%03u ms", b->latency_us / 1000,
				 b->latency_us % 1000);
		fprintf(out, "%-*s  %-*s  %5u  %-5s  %-7s  %-28s  %10s  %s\n", wname, b->name,
			waddr, b->addr, (unsigned)b->port, stats_check_name(b->check),
			stats_state_name(b->state), since, lat,
			b->last_error[0] ? b->last_error : "-");
	}
	if (t->head.n_total > t->head.n_backends)
		fprintf(out, "(%llu more not shown: the table was sized at start; restart to "
			"show them)\n",
			(unsigned long long)(t->head.n_total - t->head.n_backends));
}

/* The answer kinds in the order an operator reads them. */
static const enum answer_kind stats_kind_order[] = {
	ANSWER_NOERROR, ANSWER_NODATA, ANSWER_NXDOMAIN, ANSWER_REFUSED, ANSWER_FORMERR,
	ANSWER_NOTIMP, ANSWER_SERVFAIL, ANSWER_BADVERS, ANSWER_DROP,
};
_Static_assert(AHD_ARRAY_LEN(stats_kind_order) == ANSWER_KIND_COUNT, "every kind shown");

static void stats_print_row(FILE *out, const char *label, const char *pid,
			    const struct stats_counts *c)
{
	fprintf(out, "%-7s %8s %8llu %10llu %10llu %8llu", label, pid,
		(unsigned long long)c->restarts, (unsigned long long)c->udp,
		(unsigned long long)c->tcp, (unsigned long long)c->conns);
	for (size_t k = 0; k < AHD_ARRAY_LEN(stats_kind_order); k++)
		fprintf(out, " %9llu", (unsigned long long)c->answers[stats_kind_order[k]]);
	fprintf(out, " %9llu\n", (unsigned long long)c->truncated);
}

static void stats_print_workers(const struct stats *st, FILE *out)
{
	struct stats_counts total;

	memset(&total, 0, sizeof(total));
	fprintf(out, "%-7s %8s %8s %10s %10s %8s", "WORKER", "PID", "RESTARTS", "UDP", "TCP",
		"TCPCONNS");
	for (size_t k = 0; k < AHD_ARRAY_LEN(stats_kind_order); k++) {
		char up[16];
		size_t j;

		for (j = 0; stats_kind_names[stats_kind_order[k]][j] != '\0' && j < sizeof(up) - 1; j++)
			up[j] = (char)(stats_kind_names[stats_kind_order[k]][j] - 'a' + 'A');
		up[j] = '\0';
		fprintf(out, " %9s", up);
	}
	fprintf(out, " %9s\n", "TRUNCATED");
	for (unsigned i = 0; i < st->n_workers; i++) {
		struct stats_counts c;
		char label[16], pid[16];

		stats_load(&st->workers[i], &c);
		stats_sum(&total, &c);
		snprintf(label, sizeof(label), "%u", i);
		snprintf(pid, sizeof(pid), "%lld", (long long)c.pid);
		stats_print_row(out, label, pid, &c);
	}
	stats_print_row(out, "total", "", &total);
}

/* The heartbeat age tells a stopped or wedged prober (whose last check
 * round only grows older) apart from a slow round. */
static void stats_print_prober(const struct stats *st, FILE *out)
{
	int64_t pid = atomic_load_explicit(&st->hdr->prober_pid, memory_order_relaxed);
	int64_t age = stats_prober_age_ms(st, clock_now_ms());

	if (pid <= 0 || age < 0)
		fprintf(out, "prober:   not started\n");
	else
		fprintf(out, "prober:   pid %lld, heartbeat %lld.%01lld s ago\n", (long long)pid,
			(long long)(age / 1000), (long long)(age % 1000 / 100));
}

int stats_print_text(const struct stats *st, FILE *out, int64_t now)
{
	struct stats_table t;
	char stamp[32], ago[24];
	uint64_t gen;

	if (stats_read_backends(st, &t) < 0)
		return -1;
	gen = atomic_load_explicit(&st->hdr->generation, memory_order_acquire);
	stats_time_text(st->hdr->created, stamp, sizeof(stamp));
	stats_ago_text(st->hdr->created, now, ago, sizeof(ago));
	fprintf(out, "server:   pid %d, started %s %s\n", (int)st->hdr->supervisor_pid, stamp,
		ago);
	stats_print_prober(st, out);
	if (gen == 0) {
		fprintf(out, "zone:     waiting for the first check round\n");
	} else {
		stats_time_text(t.head.published, stamp, sizeof(stamp));
		stats_ago_text(t.head.published, now, ago, sizeof(ago));
		fprintf(out, "zone:     %s serial %u, checked %s %s\n", t.head.zone,
			t.head.serial, stamp, ago);
		fprintf(out, "backends: %llu of %llu up\n", (unsigned long long)t.head.n_up,
			(unsigned long long)t.head.n_total);
		if (t.head.sig_lifetime != 0) {
			char l[CONFIG_DURATION_TEXT_MAX], r[CONFIG_DURATION_TEXT_MAX];
			char bd[CONFIG_DURATION_TEXT_MAX];

			fprintf(out, "signing:  valid %s, re-signed when less than %s remains, "
				"inception %s back, expiry spread over %u s\n",
				config_duration_text(t.head.sig_lifetime, l, sizeof(l)),
				config_duration_text(t.head.sig_refresh, r, sizeof(r)),
				config_duration_text(t.head.sig_backdate, bd, sizeof(bd)),
				t.head.sig_jitter);
		} else {
			fprintf(out, "signing:  off (no key)\n");
		}
	}
	fprintf(out, "\n");
	if (t.head.n_backends > 0) {
		stats_print_backends(&t, out, now);
		fprintf(out, "\n");
	}
	stats_table_free(&t);
	stats_print_workers(st, out);
	return ferror(out) ? -1 : 0;
}

static int stats_usage(FILE *out, int status)
{
	fprintf(out, "usage: %s status [--json] [--port N | --shm-name NAME]\n", AHD_NAME);
	return status;
}

int stats_status_main(int argc, char **argv)
{
	const char *shm = getenv("AHDNS_SHM_NAME");
	const char *env_port = getenv("AHDNS_PORT");
	unsigned port = CONFIG_DEFAULT_PORT;
	char base[256], name[300], why[SHM_WHY_MAX];
	bool json = false, by_port = false;
	struct stats *st;
	int rc;

	if (shm != NULL && shm[0] == '\0')
		shm = NULL;
	if (env_port != NULL && env_port[0] != '\0' && admin_parse_port(env_port, &port) < 0) {
		fprintf(stderr, "%s: status: AHDNS_PORT: '%s' is not a port (1-65535)\n",
			AHD_NAME, env_port);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			return stats_usage(stdout, 0);
		} else if (strcmp(a, "--port") == 0 || strcmp(a, "--shm-name") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: status: %s needs a value\n", AHD_NAME, a);
				return 2;
			}
			if (a[2] == 'p') {
				if (admin_parse_port(argv[i + 1], &port) < 0) {
					fprintf(stderr, "%s: status: --port: '%s' is not a port "
						"(1-65535)\n", AHD_NAME, argv[i + 1]);
					return 2;
				}
				by_port = true;
			} else {
				shm = argv[i + 1];
			}
			i++;
		} else {
			fprintf(stderr, "%s: status: unknown argument '%s'\n", AHD_NAME, a);
			return stats_usage(stderr, 2);
		}
	}
	/* An explicit --port wins over AHDNS_SHM_NAME from the environment. */
	if (shm == NULL || by_port)
		snprintf(base, sizeof(base), "/%s.%u", AHD_NAME, port);
	else
		strlcpy(base, shm, sizeof(base));
	if (base[0] != '/' || stats_shm_name(base, name, sizeof(name)) < 0) {
		fprintf(stderr, "%s: status: --shm-name: '%s' must start with '/' and be "
			"short\n", AHD_NAME, base);
		return 2;
	}
	st = stats_open_ro(name, why, sizeof(why));
	if (st == NULL) {
		if (errno == ENOENT)
			fprintf(stderr, "%s: status: no server is running with shared memory %s "
				"(wrong --port or --shm-name?)\n", AHD_NAME, base);
		else if (errno == EPERM)
			fprintf(stderr, "%s: status: refusing to read shared memory %s: %s\n",
				AHD_NAME, name, why);
		else
			fprintf(stderr, "%s: status: %s: %s\n", AHD_NAME, name,
				errno == EPROTO ? "not a statistics object of this version"
						: strerror(errno));
		return 1;
	}
	/* A supervisor killed with SIGKILL leaves its objects behind. */
	if (st->hdr->supervisor_pid > 0 && kill((pid_t)st->hdr->supervisor_pid, 0) < 0 &&
	    errno == ESRCH) {
		fprintf(stderr, "%s: status: no server is running with shared memory %s "
			"(left over by pid %d)\n", AHD_NAME, base, (int)st->hdr->supervisor_pid);
		stats_close(st);
		return 1;
	}
	rc = json ? stats_print_json(st, stdout) : stats_print_text(st, stdout, (int64_t)time(NULL));
	if (rc < 0)
		fprintf(stderr, "%s: status: cannot read a consistent copy of %s\n", AHD_NAME,
			name);
	stats_close(st);
	if (fflush(stdout) != 0)
		rc = -1;
	return rc < 0 ? 1 : 0;
}
