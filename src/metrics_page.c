/*
 * The page GET /metrics returns (DESIGN §11.1): every number of the
 * statistics object, read as status reads it (relaxed loads of the
 * counters, a seqlock copy of the backend table), in Prometheus' naming:
 * prefix ahdns_, counters end in _total, base units (seconds), what
 * varies goes in labels.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ahd.h"
#include "answer.h"
#include "clock.h"
#include "config.h"
#include "health.h"
#include "proc.h"
#include "stats.h"

#define L(n, v) ((struct metrics_label){ (n), (v) })

static uint64_t metrics_ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* One counter family with a value per worker. */
static void metrics_per_worker(struct metrics_buf *b, const struct stats *st, const char *name,
			       const char *help, size_t off)
{
	metrics_family(b, name, "counter", help);
	for (unsigned i = 0; i < st->n_workers; i++) {
		const uint8_t *w = (const uint8_t *)&st->workers[i];
		char idx[16];
		struct metrics_label l[] = { L("worker", idx) };

		snprintf(idx, sizeof(idx), "%u", i);
		metrics_sample_u64(b, name, l, 1,
				   metrics_ld((const _Atomic uint64_t *)(const void *)(w + off)));
	}
}

/* A family whose label takes one value per counter of struct
 * stats_worker (offsets), per worker. */
static void metrics_split(struct metrics_buf *b, const struct stats *st, const char *name,
			  const char *help, const char *label, const char *const *values,
			  const size_t *offs, size_t n)
{
	metrics_family(b, name, "counter", help);
	for (unsigned i = 0; i < st->n_workers; i++) {
		const uint8_t *w = (const uint8_t *)&st->workers[i];
		char idx[16];

		snprintf(idx, sizeof(idx), "%u", i);
		for (size_t k = 0; k < n; k++) {
			struct metrics_label l[] = { L(label, values[k]), L("worker", idx) };

			metrics_sample_u64(b, name, l, 2,
					   metrics_ld((const _Atomic uint64_t *)(const void *)(w + offs[k])));
		}
	}
}

#define OFF(f) offsetof(struct stats_worker, f)

static void metrics_workers(struct metrics_buf *b, const struct stats *st)
{
	static const char *const transports[] = { "udp", "tcp" };
	static const size_t t_offs[] = { OFF(udp_queries), OFF(tcp_queries) };
	static const char *const xfr[] = { "whole", "diff", "refused", "bad_tsig" };
	static const size_t x_offs[] = { OFF(xfr_whole), OFF(xfr_diff), OFF(xfr_refused),
					 OFF(xfr_bad_tsig) };
	static const char *const xdp[] = { "received", "answered" };
	static const size_t d_offs[] = { OFF(xdp_received), OFF(xdp_answered) };
	size_t k_offs[ANSWER_KIND_COUNT];

	for (size_t k = 0; k < ANSWER_KIND_COUNT; k++)
		k_offs[k] = OFF(answers) + k * sizeof(_Atomic uint64_t);
	metrics_split(b, st, "ahdns_queries_total", "DNS messages received, by transport.",
		      "transport", transports, t_offs, 2);
	metrics_split(b, st, "ahdns_answers_total",
		      "Queries by outcome: the rcode, nodata (NOERROR, no answer), ignored "
		      "(not answered: a response or shorter than a header).",
		      "kind", stats_kind_names, k_offs, ANSWER_KIND_COUNT);
	metrics_per_worker(b, st, "ahdns_truncated_total", "UDP answers sent with TC set.",
			   OFF(truncated));
	metrics_per_worker(b, st, "ahdns_dropped_total", "Messages received but not answerable.",
			   OFF(dropped));
	metrics_per_worker(b, st, "ahdns_socket_errors_total", "Socket errors.", OFF(errors));
	metrics_per_worker(b, st, "ahdns_tcp_connections_total", "TCP connections accepted.",
			   OFF(tcp_conns));
	metrics_split(b, st, "ahdns_zone_transfers_total",
		      "AXFR/IXFR requests: whole zone, difference, refused, bad TSIG.", "result",
		      xfr, x_offs, 4);
	metrics_per_worker(b, st, "ahdns_rrl_limited_total",
			   "UDP answers over the rate limit (log-only mode included).",
			   OFF(rrl_limited));
	metrics_per_worker(b, st, "ahdns_rrl_slipped_total",
			   "Rate-limited answers sent truncated (TC=1) instead.", OFF(rrl_slipped));
	metrics_per_worker(b, st, "ahdns_rrl_dropped_total", "Rate-limited answers not sent.",
			   OFF(rrl_dropped));
	metrics_split(b, st, "ahdns_xdp_frames_total",
		      "Frames from the worker's AF_XDP ring (--xdp), and answers sent back through it.",
		      "direction", xdp, d_offs, 2);
}

static const char *const metrics_admin_names[] = {
	[STATS_ADMIN_NONE] = "none",
	[STATS_ADMIN_DRAINED] = "drained",
	[STATS_ADMIN_FORCED_UP] = "forced_up",
};

/* The labels of one backend, and its samples of one family. */
struct metrics_backend_labels {
	char port[8];
	struct metrics_label l[5];
};

static void metrics_backend_labels(struct metrics_backend_labels *bl, const struct stats_backend *be)
{
	snprintf(bl->port, sizeof(bl->port), "%u", (unsigned)be->port);
	bl->l[0] = L("name", be->name);
	bl->l[1] = L("address", be->addr);
	bl->l[2] = L("port", bl->port);
	bl->l[3] = L("check", config_check_name(be->check));
}

enum metrics_bfield {
	MB_UP, MB_PUBLISHED, MB_DURATION, MB_LAST_CHECK, MB_SUCCESS, MB_ERROR, MB_CHANGES, MB_ADMIN,
	MB_COUNT
};

static const struct {
	const char *name, *type, *help;
} metrics_bfamilies[MB_COUNT] = {
	[MB_UP] = { "ahdns_backend_up", "gauge", "1 if the health check says up, else 0." },
	[MB_PUBLISHED] = { "ahdns_backend_published", "gauge",
			   "1 if the address is in the answers now." },
	[MB_DURATION] = { "ahdns_backend_check_duration_seconds", "gauge",
			  "How long the last health check took." },
	[MB_LAST_CHECK] = { "ahdns_backend_last_check_timestamp_seconds", "gauge",
			    "Unix time of the last health check (-1: none yet)." },
	[MB_SUCCESS] = { "ahdns_backend_last_check_success", "gauge",
			 "1 if the last health check passed." },
	[MB_ERROR] = { "ahdns_backend_last_error", "gauge",
		       "Class of the last failed check (none: never failed), value 1." },
	[MB_CHANGES] = { "ahdns_backend_state_changes_total", "counter",
			 "Up/down changes since the prober started." },
	[MB_ADMIN] = { "ahdns_backend_admin_override", "gauge",
		       "The operator's override (none, drained, forced_up), value 1." },
};

static void metrics_backend_sample(struct metrics_buf *b, enum metrics_bfield f,
				   struct metrics_backend_labels *bl, const struct stats_backend *be)
{
	const char *name = metrics_bfamilies[f].name;
	unsigned admin = be->admin < AHD_ARRAY_LEN(metrics_admin_names) ? be->admin : 0;

	switch (f) {
	case MB_UP:
		metrics_sample_u64(b, name, bl->l, 4, be->state == HEALTH_UP);
		break;
	case MB_PUBLISHED:
		metrics_sample_u64(b, name, bl->l, 4, be->published != 0);
		break;
	case MB_DURATION:
		metrics_sample_f(b, name, bl->l, 4, be->latency_us / 1e6);
		break;
	case MB_LAST_CHECK:
		metrics_sample_i64(b, name, bl->l, 4, be->last_check);
		break;
	case MB_SUCCESS:
		metrics_sample_u64(b, name, bl->l, 4, be->last_check >= 0 && be->last_pass);
		break;
	case MB_ERROR:
		bl->l[4] = L("class", health_error_name((enum health_error)be->error_class));
		metrics_sample_u64(b, name, bl->l, 5, 1);
		break;
	case MB_CHANGES:
		metrics_sample_u64(b, name, bl->l, 4, be->changes);
		break;
	case MB_ADMIN:
		bl->l[4] = L("override", metrics_admin_names[admin]);
		metrics_sample_u64(b, name, bl->l, 5, 1);
		break;
	default:
		break;
	}
}

static void metrics_backends(struct metrics_buf *b, const struct stats_table *t)
{
	uint64_t up = 0, down = 0, unknown = 0;
	struct metrics_label l[1];

	for (size_t i = 0; i < t->head.n_backends; i++) {
		unsigned s = t->backends[i].state;

		up += s == HEALTH_UP;
		down += s == HEALTH_DOWN;
		unknown += s != HEALTH_UP && s != HEALTH_DOWN;
	}
	metrics_family(b, "ahdns_backends", "gauge", "Health-checked addresses by state.");
	l[0] = L("state", "up");
	metrics_sample_u64(b, "ahdns_backends", l, 1, up);
	l[0] = L("state", "down");
	metrics_sample_u64(b, "ahdns_backends", l, 1, down);
	l[0] = L("state", "unknown");
	metrics_sample_u64(b, "ahdns_backends", l, 1, unknown);
	for (int f = 0; f < MB_COUNT; f++) {
		metrics_family(b, metrics_bfamilies[f].name, metrics_bfamilies[f].type,
			       metrics_bfamilies[f].help);
		for (size_t i = 0; i < t->head.n_backends; i++) {
			struct metrics_backend_labels bl;

			metrics_backend_labels(&bl, &t->backends[i]);
			metrics_backend_sample(b, (enum metrics_bfield)f, &bl, &t->backends[i]);
		}
	}
}

static void metrics_gauge_i64(struct metrics_buf *b, const char *name, const char *help,
			      int64_t v)
{
	metrics_family(b, name, "gauge", help);
	metrics_sample_i64(b, name, NULL, 0, v);
}

static void metrics_gauge_f(struct metrics_buf *b, const char *name, const char *help, double v)
{
	metrics_family(b, name, "gauge", help);
	metrics_sample_f(b, name, NULL, 0, v);
}

/* The zone image: serial, age, the last publish's cost, signatures. */
static void metrics_zone(struct metrics_buf *b, const struct stats *st,
			 const struct stats_table *t, int64_t now)
{
	const struct stats_header *h = st->hdr;
	int64_t published = atomic_load_explicit(&h->image_published, memory_order_acquire);
	int64_t expiry = atomic_load_explicit(&h->rrsig_expiry, memory_order_relaxed);
	uint32_t serial = atomic_load_explicit(&h->image_serial, memory_order_relaxed);

	/* Before the prober's first publish: the serial the table shows. */
	metrics_gauge_i64(b, "ahdns_zone_serial", "SOA serial served.",
			  published != 0 ? (int64_t)serial : (int64_t)t->head.serial);
	if (published != 0) {
		metrics_gauge_i64(b, "ahdns_zone_published_timestamp_seconds",
				  "Unix time the prober last published the zone image.", published);
		metrics_gauge_i64(b, "ahdns_zone_age_seconds",
				  "Seconds since the zone image was last published.",
				  now > published ? now - published : 0);
		metrics_gauge_f(b, "ahdns_zone_build_duration_seconds",
				"How long the last publish took, signing included.",
				atomic_load_explicit(&h->build_us, memory_order_relaxed) / 1e6);
		metrics_gauge_f(b, "ahdns_zone_sign_duration_seconds",
				"Of the last publish, the time spent making signatures.",
				atomic_load_explicit(&h->sign_us, memory_order_relaxed) / 1e6);
	}
	if (expiry != 0)
		metrics_gauge_i64(b, "ahdns_zone_rrsig_oldest_expiry_timestamp_seconds",
				  "Unix time the earliest-expiring RRSIG in the image expires.",
				  expiry);
}

/* Restarts by role, the supervisor's start, the prober's heartbeat. */
static void metrics_procs(struct metrics_buf *b, const struct stats *st)
{
	static const enum proc_role roles[] = { PROC_ROLE_WORKER, PROC_ROLE_PROBER,
						PROC_ROLE_NOTIFIER, PROC_ROLE_METRICS };
	const struct stats_header *h = st->hdr;
	int64_t age = stats_prober_age_ms(st, clock_now_ms());

	metrics_family(b, "ahdns_process_restarts_total", "counter",
		       "Child processes restarted after they died, by role.");
	for (size_t r = 0; r < AHD_ARRAY_LEN(roles); r++) {
		struct metrics_label l[] = { L("role", proc_role_name(roles[r])) };
		uint64_t n = 0;

		if (roles[r] == PROC_ROLE_WORKER) {
			for (unsigned i = 0; i < st->n_workers; i++)
				n += metrics_ld(&st->workers[i].restarts);
		} else {
			n = atomic_load_explicit(&h->restarts[roles[r]], memory_order_relaxed);
		}
		metrics_sample_u64(b, "ahdns_process_restarts_total", l, 1, n);
	}
	metrics_gauge_i64(b, "ahdns_start_time_seconds", "Unix time the server started.",
			  h->created);
	if (age >= 0)
		metrics_gauge_f(b, "ahdns_prober_heartbeat_age_seconds",
				"Seconds since the prober last proved it is alive.", age / 1e3);
}

/* The secondaries (--notify): what each was last told and acknowledged. */
static void metrics_secondaries(struct metrics_buf *b, const struct stats *st)
{
	struct stats_notify_row rows[STATS_NOTIFY_MAX];
	size_t n = stats_read_notify(st, rows, AHD_ARRAY_LEN(rows));

	if (n == 0)
		return;
	metrics_family(b, "ahdns_secondary_notified_serial", "gauge",
		       "Serial last sent in a NOTIFY to the secondary (0: none).");
	for (size_t i = 0; i < n; i++) {
		struct metrics_label l[] = { L("secondary", rows[i].text) };

		metrics_sample_u64(b, "ahdns_secondary_notified_serial", l, 1,
				   rows[i].notified_serial);
	}
	metrics_family(b, "ahdns_secondary_acked_serial", "gauge",
		       "Serial the secondary last acknowledged (0: none).");
	for (size_t i = 0; i < n; i++) {
		struct metrics_label l[] = { L("secondary", rows[i].text) };

		metrics_sample_u64(b, "ahdns_secondary_acked_serial", l, 1, rows[i].acked_serial);
	}
	metrics_family(b, "ahdns_secondary_notify_failed", "gauge",
		       "1 if the last NOTIFY went unacknowledged after every retry or was refused.");
	for (size_t i = 0; i < n; i++) {
		struct metrics_label l[] = { L("secondary", rows[i].text) };

		metrics_sample_u64(b, "ahdns_secondary_notify_failed", l, 1, rows[i].failed);
	}
}

int metrics_render(const struct stats *st, int64_t now, struct metrics_buf *b)
{
	struct stats_table t;

	b->len = 0;
	b->failed = false;
	if (stats_read_backends(st, &t) < 0)
		return -1;
	metrics_workers(b, st);
	metrics_backends(b, &t);
	metrics_zone(b, st, &t, now);
	metrics_procs(b, st);
	metrics_secondaries(b, st);
	stats_table_free(&t);
	return b->failed ? -1 : 0;
}
