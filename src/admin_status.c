/*
 * a-healthy-dns status: the statistics object of a running server, read
 * with stats_open_ro (trusted objects only, DESIGN §6) and printed as a
 * table or as JSON.
 */
#include "admin.h"
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"
#include "answer.h"
#include "clock.h"
#include "config.h"
#include "health.h"
#include "log.h"
#include "proc.h"
#include "shm.h"
#include "stats.h"

static const char *admin_status_state_name(unsigned state)
{
	return health_state_name((enum health_state)state);
}

/* One worker's counters as plain numbers. */
struct admin_status_counts {
	uint64_t answers[ANSWER_KIND_COUNT];
	uint64_t udp, tcp, conns, truncated, dropped, errors, restarts;
	uint64_t xfr_whole, xfr_diff, xfr_refused, xfr_bad_tsig;
	uint64_t rrl_limited, rrl_slipped, rrl_dropped;
	uint64_t xdp_received, xdp_answered;
	int64_t pid, started;
};

static void admin_status_load(const struct stats_worker *w, struct admin_status_counts *c)
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
	c->xfr_whole = atomic_load_explicit(&w->xfr_whole, memory_order_relaxed);
	c->xfr_diff = atomic_load_explicit(&w->xfr_diff, memory_order_relaxed);
	c->xfr_refused = atomic_load_explicit(&w->xfr_refused, memory_order_relaxed);
	c->xfr_bad_tsig = atomic_load_explicit(&w->xfr_bad_tsig, memory_order_relaxed);
	c->rrl_limited = atomic_load_explicit(&w->rrl_limited, memory_order_relaxed);
	c->rrl_slipped = atomic_load_explicit(&w->rrl_slipped, memory_order_relaxed);
	c->rrl_dropped = atomic_load_explicit(&w->rrl_dropped, memory_order_relaxed);
	c->xdp_received = atomic_load_explicit(&w->xdp_received, memory_order_relaxed);
	c->xdp_answered = atomic_load_explicit(&w->xdp_answered, memory_order_relaxed);
	c->pid = atomic_load_explicit(&w->pid, memory_order_relaxed);
	c->started = atomic_load_explicit(&w->started, memory_order_relaxed);
}

static void admin_status_sum(struct admin_status_counts *t, const struct admin_status_counts *c)
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
	t->xfr_whole += c->xfr_whole;
	t->xfr_diff += c->xfr_diff;
	t->xfr_refused += c->xfr_refused;
	t->xfr_bad_tsig += c->xfr_bad_tsig;
	t->rrl_limited += c->rrl_limited;
	t->rrl_slipped += c->rrl_slipped;
	t->rrl_dropped += c->rrl_dropped;
	t->xdp_received += c->xdp_received;
	t->xdp_answered += c->xdp_answered;
}

static int admin_status_json_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int admin_status_json_u64(struct json_object *o, const char *key, uint64_t v)
{
	return admin_status_json_add(o, key, json_object_new_uint64(v));
}

static int admin_status_json_i64(struct json_object *o, const char *key, int64_t v)
{
	return admin_status_json_add(o, key, json_object_new_int64(v));
}

static int admin_status_json_str(struct json_object *o, const char *key, const char *v)
{
	return admin_status_json_add(o, key, json_object_new_string(v));
}

/* The override column and field (DESIGN §12). */
static const char *admin_status_admin_name(unsigned admin)
{
	return admin == STATS_ADMIN_DRAINED     ? "drained"
	       : admin == STATS_ADMIN_FORCED_UP ? "forced-up"
						: "none";
}

static struct json_object *admin_status_json_backend(const struct stats_backend *b)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= admin_status_json_str(o, "name", b->name);
	rc |= admin_status_json_str(o, "address", b->addr);
	rc |= admin_status_json_u64(o, "port", b->port);
	rc |= admin_status_json_str(o, "check", config_check_name(b->check));
	rc |= admin_status_json_str(o, "state", admin_status_state_name(b->state));
	rc |= admin_status_json_add(o, "published", json_object_new_boolean(b->published));
	rc |= admin_status_json_str(o, "admin", admin_status_admin_name(b->admin));
	rc |= admin_status_json_i64(o, "since", b->since);
	rc |= admin_status_json_i64(o, "last_check", b->last_check);
	rc |= admin_status_json_str(o, "last_error", b->last_error);
	/* The class of that failure ("none": never failed), and the count of
	 * up/down changes since the prober started (issue 16). */
	rc |= admin_status_json_str(o, "error_class",
				    health_error_name((enum health_error)b->error_class));
	rc |= admin_status_json_u64(o, "changes", b->changes);
	rc |= admin_status_json_u64(o, "latency_us", b->latency_us);
	rc |= admin_status_json_u64(o, "passes", b->passes);
	rc |= admin_status_json_u64(o, "fails", b->fails);
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Counters of one worker (pid >= 0) or the totals (pid < 0: no identity). */
static struct json_object *admin_status_json_counts(const struct admin_status_counts *c, long index)
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
		rc |= admin_status_json_i64(o, "index", index);
		rc |= admin_status_json_i64(o, "pid", c->pid);
		rc |= admin_status_json_i64(o, "started", c->started);
	}
	rc |= admin_status_json_u64(o, "restarts", c->restarts);
	rc |= admin_status_json_u64(o, "udp_queries", c->udp);
	rc |= admin_status_json_u64(o, "tcp_queries", c->tcp);
	rc |= admin_status_json_u64(o, "tcp_connections", c->conns);
	rc |= admin_status_json_u64(o, "truncated", c->truncated);
	rc |= admin_status_json_u64(o, "dropped", c->dropped);
	rc |= admin_status_json_u64(o, "errors", c->errors);
	rc |= admin_status_json_u64(o, "transfers_whole", c->xfr_whole);
	rc |= admin_status_json_u64(o, "transfers_diff", c->xfr_diff);
	rc |= admin_status_json_u64(o, "transfers_refused", c->xfr_refused);
	rc |= admin_status_json_u64(o, "transfers_bad_tsig", c->xfr_bad_tsig);
	rc |= admin_status_json_u64(o, "rrl_limited", c->rrl_limited);
	rc |= admin_status_json_u64(o, "rrl_slipped", c->rrl_slipped);
	rc |= admin_status_json_u64(o, "rrl_dropped", c->rrl_dropped);
	rc |= admin_status_json_u64(o, "xdp_received", c->xdp_received);
	rc |= admin_status_json_u64(o, "xdp_answered", c->xdp_answered);
	for (size_t k = 0; k < ANSWER_KIND_COUNT; k++)
		rc |= admin_status_json_u64(a, stats_kind_names[k], c->answers[k]);
	rc |= admin_status_json_add(o, "answers", a);
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The RCODEs a secondary refuses a NOTIFY with (RFC 1035, RFC 2845). */
static const char *admin_status_rcode_name(int rcode)
{
	static const char *const names[] = {
		[1] = "FORMERR", [2] = "SERVFAIL", [3] = "NXDOMAIN", [4] = "NOTIMP",
		[5] = "REFUSED", [9] = "NOTAUTH", [10] = "NOTZONE",
	};

	if (rcode > 0 && (size_t)rcode < AHD_ARRAY_LEN(names) && names[rcode] != NULL)
		return names[rcode];
	return NULL;
}

/* What became of the last NOTIFY: "yes", "no" (pending), "failed" (no
 * answer after the last retry) or the RCODE it was answered with. */
static const char *admin_status_ack_text(const struct stats_notify_row *r, char *buf, size_t cap)
{
	const char *name;

	if (r->acknowledged)
		return "yes";
	if (!r->failed)
		return r->notified_at > 0 ? "no" : "-";
	if (r->rcode < 0)
		return "failed";
	name = admin_status_rcode_name(r->rcode);
	if (name != NULL)
		return name;
	snprintf(buf, cap, "RCODE%d", r->rcode);
	return buf;
}

static int admin_status_json_opt(struct json_object *o, const char *key, bool have, int64_t v)
{
	if (!have)
		return json_object_object_add(o, key, NULL) != 0 ? -1 : 0;
	return admin_status_json_i64(o, key, v);
}

static struct json_object *admin_status_json_secondary(const struct stats_notify_row *r)
{
	struct json_object *o = json_object_new_object();
	char buf[16];
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= admin_status_json_str(o, "address", r->text);
	rc |= admin_status_json_u64(o, "port", r->port);
	rc |= admin_status_json_opt(o, "notified_serial", r->notified_at > 0, r->notified_serial);
	rc |= admin_status_json_opt(o, "notified", r->notified_at > 0, r->notified_at);
	rc |= admin_status_json_add(o, "acknowledged", json_object_new_boolean(r->acknowledged));
	rc |= admin_status_json_opt(o, "acknowledged_serial", r->acked_at > 0, r->acked_serial);
	rc |= admin_status_json_opt(o, "acknowledged_at", r->acked_at > 0, r->acked_at);
	rc |= admin_status_json_u64(o, "retries", r->retries);
	rc |= admin_status_json_str(o, "result", admin_status_ack_text(r, buf, sizeof(buf)));
	rc |= admin_status_json_opt(o, "last_transfer_serial", r->xfr_at > 0, r->xfr_serial);
	rc |= admin_status_json_opt(o, "last_transfer", r->xfr_at > 0, r->xfr_at);
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The secondaries (DESIGN §9.5): an empty array without --notify. */
static int admin_status_json_secondaries(const struct stats *st, struct json_object *o)
{
	struct stats_notify_row rows[STATS_NOTIFY_MAX];
	struct json_object *a = json_object_new_array();
	size_t n = stats_read_notify(st, rows, AHD_ARRAY_LEN(rows));
	int rc = 0;

	if (a == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		rc |= json_object_array_add(a, admin_status_json_secondary(&rows[i])) != 0;
	rc |= admin_status_json_add(o, "secondaries", a);
	rc |= admin_status_json_i64(o, "notifier_pid",
			     atomic_load_explicit(&st->hdr->notifier_pid, memory_order_relaxed));
	return rc;
}

struct json_object *admin_status_json(const struct stats *st)
{
	struct json_object *o = json_object_new_object();
	struct json_object *backs = json_object_new_array();
	struct json_object *works = json_object_new_array();
	struct admin_status_counts total;
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
	rc |= admin_status_json_str(o, "zone", t.head.zone);
	rc |= admin_status_json_i64(o, "supervisor_pid", st->hdr->supervisor_pid);
	rc |= admin_status_json_i64(o, "started", st->hdr->created);
	rc |= admin_status_json_add(o, "checked", json_object_new_boolean(gen != 0));
	rc |= admin_status_json_i64(o, "prober_pid",
			     atomic_load_explicit(&st->hdr->prober_pid, memory_order_relaxed));
	rc |= admin_status_json_i64(o, "prober_heartbeat_age_ms", stats_prober_age_ms(st, clock_now_ms()));
	rc |= admin_status_json_i64(o, "metrics_pid",
				    atomic_load_explicit(&st->hdr->metrics_pid, memory_order_relaxed));
	rc |= admin_status_json_u64(o, "serial", t.head.serial);
	rc |= admin_status_json_i64(o, "published", t.head.published);
	rc |= admin_status_json_u64(o, "backends_up", t.head.n_up);
	rc |= admin_status_json_u64(o, "backends_total", t.head.n_total);
	/* The signing policy, seconds; null for an unsigned zone. */
	if (t.head.sig_lifetime != 0) {
		struct json_object *sig = json_object_new_object();

		if (sig != NULL) {
			rc |= admin_status_json_u64(sig, "lifetime", t.head.sig_lifetime);
			rc |= admin_status_json_u64(sig, "refresh", t.head.sig_refresh);
			rc |= admin_status_json_u64(sig, "backdate", t.head.sig_backdate);
			rc |= admin_status_json_u64(sig, "jitter", t.head.sig_jitter);
		}
		rc |= admin_status_json_add(o, "signatures", sig);
	} else {
		rc |= json_object_object_add(o, "signatures", NULL) != 0;
	}
	for (size_t i = 0; i < t.head.n_backends; i++)
		rc |= json_object_array_add(backs, admin_status_json_backend(&t.backends[i])) != 0;
	stats_table_free(&t);
	rc |= admin_status_json_add(o, "backends", backs);
	for (unsigned i = 0; i < st->n_workers; i++) {
		struct admin_status_counts c;

		admin_status_load(&st->workers[i], &c);
		admin_status_sum(&total, &c);
		rc |= json_object_array_add(works, admin_status_json_counts(&c, (long)i)) != 0;
	}
	rc |= admin_status_json_add(o, "workers", works);
	rc |= admin_status_json_add(o, "totals", admin_status_json_counts(&total, -1));
	rc |= admin_status_json_secondaries(st, o);
	rc |= admin_keys_json(st, o);
	if (rc != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int admin_status_print_json(const struct stats *st, FILE *out)
{
	struct json_object *o = admin_status_json(st);
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

static void admin_status_time_text(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		strlcpy(buf, "-", cap);
	else
		strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "45s", "12m", "3h", "9d": how long ago, for eyes. */
static void admin_status_ago_text(int64_t then, int64_t now, char *buf, size_t cap)
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

static void admin_status_print_backends(const struct stats_table *t, FILE *out, int64_t now)
{
	int wname = 4, waddr = 7;

	for (size_t i = 0; i < t->head.n_backends; i++) {
		int ln = (int)strlen(t->backends[i].name), la = (int)strlen(t->backends[i].addr);

		wname = ln > wname ? ln : wname;
		waddr = la > waddr ? la : waddr;
	}
	fprintf(out, "%-*s  %-*s  %5s  %-5s  %-7s  %-9s  %-28s  %10s  %s\n", wname, "NAME", waddr,
		"ADDRESS", "PORT", "CHECK", "STATE", "ADMIN", "SINCE", "LATENCY", "LAST ERROR");
	for (size_t i = 0; i < t->head.n_backends; i++) {
		const struct stats_backend *b = &t->backends[i];
		char since[64], stamp[32], ago[24], lat[24];

		admin_status_time_text(b->since, stamp, sizeof(stamp));
		admin_status_ago_text(b->since, now, ago, sizeof(ago));
		snprintf(since, sizeof(since), "%s %s", stamp, ago);
		if (b->last_check < 0)
			strlcpy(lat, "-", sizeof(lat));
		else
			snprintf(lat, sizeof(lat), "%u.%03u ms", b->latency_us / 1000,
				 b->latency_us % 1000);
		fprintf(out, "%-*s  %-*s  %5u  %-5s  %-7s  %-9s  %-28s  %10s  %s\n", wname, b->name,
			waddr, b->addr, (unsigned)b->port, config_check_name(b->check),
			admin_status_state_name(b->state),
			b->admin != STATS_ADMIN_NONE ? admin_status_admin_name(b->admin) : "-",
			since, lat,
			b->last_error[0] ? b->last_error : "-");
	}
	if (t->head.n_total > t->head.n_backends)
		fprintf(out, "(%llu more not shown: the table was sized at start; restart to "
			"show them)\n",
			(unsigned long long)(t->head.n_total - t->head.n_backends));
}

/* "serial 2026120701 at 2026-12-07T13:00:00Z (3s)", or "-". */
static void admin_status_serial_at(uint32_t serial, int64_t at, int64_t now, char *buf, size_t cap)
{
	char stamp[32], ago[24];

	if (at <= 0) {
		strlcpy(buf, "-", cap);
		return;
	}
	admin_status_time_text(at, stamp, sizeof(stamp));
	admin_status_ago_text(at, now, ago, sizeof(ago));
	snprintf(buf, cap, "%u %s %s", serial, stamp, ago);
}

/* One line per secondary (--notify): what was notified, whether it was
 * acknowledged, and the last transfer it took. */
static void admin_status_print_secondaries(const struct stats *st, FILE *out, int64_t now)
{
	struct stats_notify_row rows[STATS_NOTIFY_MAX];
	size_t n = stats_read_notify(st, rows, AHD_ARRAY_LEN(rows));
	int w = 9;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(rows[i].text);

		w = l > w ? l : w;
	}
	fprintf(out, "%-*s  %-44s  %-8s  %7s  %s\n", w, "SECONDARY", "NOTIFIED (SERIAL, SENT)",
		"ACKED", "RETRIES", "LAST TRANSFER (SERIAL, SEEN)");
	for (size_t i = 0; i < n; i++) {
		const struct stats_notify_row *r = &rows[i];
		char sent[80], xfr[80], buf[16];

		admin_status_serial_at(r->notified_serial, r->notified_at, now, sent, sizeof(sent));
		admin_status_serial_at(r->xfr_serial, r->xfr_at, now, xfr, sizeof(xfr));
		fprintf(out, "%-*s  %-44s  %-8s  %7u  %s\n", w, r->text, sent,
			admin_status_ack_text(r, buf, sizeof(buf)), r->retries, xfr);
	}
	fprintf(out, "\n");
}

/* The answer kinds in the order an operator reads them. */
static const enum answer_kind admin_status_kind_order[] = {
	ANSWER_NOERROR, ANSWER_NODATA, ANSWER_NXDOMAIN, ANSWER_REFUSED, ANSWER_FORMERR,
	ANSWER_NOTIMP, ANSWER_SERVFAIL, ANSWER_BADVERS, ANSWER_DROP,
};
_Static_assert(AHD_ARRAY_LEN(admin_status_kind_order) == ANSWER_KIND_COUNT, "every kind shown");

static void admin_status_print_row(FILE *out, const char *label, const char *pid,
			    const struct admin_status_counts *c)
{
	fprintf(out, "%-7s %8s %8llu %10llu %10llu %8llu", label, pid,
		(unsigned long long)c->restarts, (unsigned long long)c->udp,
		(unsigned long long)c->tcp, (unsigned long long)c->conns);
	for (size_t k = 0; k < AHD_ARRAY_LEN(admin_status_kind_order); k++)
		fprintf(out, " %9llu", (unsigned long long)c->answers[admin_status_kind_order[k]]);
	fprintf(out, " %9llu %8llu %8llu %9llu\n", (unsigned long long)c->truncated,
		(unsigned long long)(c->xfr_whole + c->xfr_diff),
		(unsigned long long)(c->xfr_refused + c->xfr_bad_tsig),
		(unsigned long long)c->rrl_limited);
}

static void admin_status_print_workers(const struct stats *st, FILE *out)
{
	struct admin_status_counts total;

	memset(&total, 0, sizeof(total));
	fprintf(out, "%-7s %8s %8s %10s %10s %8s", "WORKER", "PID", "RESTARTS", "UDP", "TCP",
		"TCPCONNS");
	for (size_t k = 0; k < AHD_ARRAY_LEN(admin_status_kind_order); k++) {
		char up[16];
		size_t j;

		for (j = 0; stats_kind_names[admin_status_kind_order[k]][j] != '\0' && j < sizeof(up) - 1; j++)
			up[j] = (char)(stats_kind_names[admin_status_kind_order[k]][j] - 'a' + 'A');
		up[j] = '\0';
		fprintf(out, " %9s", up);
	}
	fprintf(out, " %9s %8s %8s %9s\n", "TRUNCATED", "XFR", "XFRREFUS", "LIMITED");
	for (unsigned i = 0; i < st->n_workers; i++) {
		struct admin_status_counts c;
		char label[16], pid[16];

		admin_status_load(&st->workers[i], &c);
		admin_status_sum(&total, &c);
		snprintf(label, sizeof(label), "%u", i);
		snprintf(pid, sizeof(pid), "%lld", (long long)c.pid);
		admin_status_print_row(out, label, pid, &c);
	}
	admin_status_print_row(out, "total", "", &total);
}

/* The heartbeat age tells a stopped or wedged prober (whose last check
 * round only grows older) apart from a slow round. */
static void admin_status_print_prober(const struct stats *st, FILE *out)
{
	int64_t pid = atomic_load_explicit(&st->hdr->prober_pid, memory_order_relaxed);
	int64_t age = stats_prober_age_ms(st, clock_now_ms());

	if (pid <= 0 || age < 0)
		fprintf(out, "prober:   not started\n");
	else
		fprintf(out, "prober:   pid %lld, heartbeat %lld.%01lld s ago\n", (long long)pid,
			(long long)(age / 1000), (long long)(age % 1000 / 100));
}

/* Only with secondaries (--notify): the process that notifies them. */
static void admin_status_print_notifier(const struct stats *st, FILE *out)
{
	int32_t pid = atomic_load_explicit(&st->hdr->notifier_pid, memory_order_relaxed);
	uint32_t n = atomic_load_explicit(&st->hdr->n_notify, memory_order_relaxed);

	if (pid > 0)
		fprintf(out, "notifier: pid %d, %u secondaries\n", (int)pid, n);
	else if (n > 0)
		fprintf(out, "notifier: not running\n");
	pid = atomic_load_explicit(&st->hdr->metrics_pid, memory_order_relaxed);
	if (pid > 0)
		fprintf(out, "metrics:  pid %d, %u restarts\n", (int)pid,
			atomic_load_explicit(&st->hdr->restarts[PROC_ROLE_METRICS],
					     memory_order_relaxed));
}

int admin_status_print_text(const struct stats *st, FILE *out, int64_t now)
{
	struct stats_table t;
	char stamp[32], ago[24];
	uint64_t gen;

	if (stats_read_backends(st, &t) < 0)
		return -1;
	gen = atomic_load_explicit(&st->hdr->generation, memory_order_acquire);
	admin_status_time_text(st->hdr->created, stamp, sizeof(stamp));
	admin_status_ago_text(st->hdr->created, now, ago, sizeof(ago));
	fprintf(out, "server:   pid %d, started %s %s\n", (int)st->hdr->supervisor_pid, stamp,
		ago);
	admin_status_print_prober(st, out);
	admin_status_print_notifier(st, out);
	if (gen == 0) {
		fprintf(out, "zone:     waiting for the first check round\n");
	} else {
		admin_status_time_text(t.head.published, stamp, sizeof(stamp));
		admin_status_ago_text(t.head.published, now, ago, sizeof(ago));
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
		admin_status_print_backends(&t, out, now);
		fprintf(out, "\n");
	}
	stats_table_free(&t);
	admin_keys_print(st, out);
	admin_status_print_secondaries(st, out, now);
	admin_status_print_workers(st, out);
	return ferror(out) ? -1 : 0;
}

static int admin_status_usage(FILE *out, int status)
{
	fprintf(out, "usage: %s status [--json] [--port N | --shm-name NAME | --control-socket "
		     "PATH]\n", AHD_NAME);
	return status;
}

/* What the command line asks for. */
struct admin_status_args {
	bool json;
	const char *control; /* --control-socket: ask the prober there */
	char base[256]; /* the image's shm name; the statistics object's is derived */
};

/* Parse argv and the environment into *o. Returns -1 to go on, else the
 * exit status (usage printed, or an error line). */
static int admin_status_args(int argc, char **argv, struct admin_status_args *o)
{
	const char *shm = getenv("AHDNS_SHM_NAME");
	const char *env_port = getenv("AHDNS_PORT");
	unsigned port = CONFIG_DEFAULT_PORT;
	bool by_port = false;

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
			o->json = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			return admin_status_usage(stdout, 0);
		} else if (strcmp(a, "--port") == 0 || strcmp(a, "--shm-name") == 0 ||
			   strcmp(a, "--control-socket") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: status: %s needs a value\n", AHD_NAME, a);
				return 2;
			}
			if (a[2] == 'c') {
				o->control = argv[i + 1];
			} else if (a[2] == 'p') {
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
			return admin_status_usage(stderr, 2);
		}
	}
	/* An explicit --port wins over AHDNS_SHM_NAME from the environment. */
	if (shm == NULL || by_port)
		snprintf(o->base, sizeof(o->base), "/%s.%u", AHD_NAME, port);
	else
		strlcpy(o->base, shm, sizeof(o->base));
	return -1;
}

/* *out: the statistics object (named name) of the server using base.
 * Returns -1 when open, else the exit status after one error line. */
static int admin_status_open(const char *base, char *name, size_t cap, struct stats **out)
{
	char why[SHM_WHY_MAX];
	struct stats *st;

	if (base[0] != '/' || stats_shm_name(base, name, cap) < 0) {
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
	*out = st;
	return -1;
}

int admin_status_main(int argc, char **argv)
{
	struct admin_status_args o = { .json = false };
	struct stats *st = NULL;
	char name[300];
	int rc = admin_status_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (o.control != NULL) {
		struct control_req rq = { .verb = o.json ? CONTROL_STATUS_JSON : CONTROL_STATUS };

		return admin_control_request(o.control, &rq);
	}
	rc = admin_status_open(o.base, name, sizeof(name), &st);
	if (rc >= 0)
		return rc;
	rc = o.json ? admin_status_print_json(st, stdout)
		    : admin_status_print_text(st, stdout, (int64_t)time(NULL));
	if (rc < 0)
		fprintf(stderr, "%s: status: cannot read a consistent copy of %s\n", AHD_NAME,
			name);
	stats_close(st);
	if (fflush(stdout) != 0)
		rc = -1;
	return rc < 0 ? 1 : 0;
}
