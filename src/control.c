/*
 * The control socket's server, in the prober (DESIGN §12): non-blocking,
 * on an epoll set of its own that the prober's waits include, so a
 * request is served within a wake-up whether a check round runs or not.
 * A client gets CONTROL_TIMEOUT_MS for the whole exchange and one
 * request; at most CONTROL_MAX_CLIENTS are served at once, the others are
 * told "busy". Overrides are applied to the health state, published at
 * once through the prober's callback, logged with who and why, and their
 * records sent to the supervisor, which writes them to --state-dir.
 */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "admin.h"
#include "ahd.h"
#include "clock.h"
#include "log.h"

struct control_client {
	int fd; /* -1: free slot */
	int64_t deadline_ms;
	struct ucred peer;
	char in[CONTROL_LINE_MAX];
	size_t in_len;
	char *out; /* the answer, once the request is in */
	size_t out_len, out_off;
};

/* The override of one address: who set it, when and why. */
struct control_ov {
	int64_t when;
	uint32_t uid, pid;
	char reason[CONTROL_REASON_MAX + 1];
};

struct control {
	const struct config *cfg;
	struct health *h;
	struct stats *st;
	int listen_fd, chan_fd, ep;
	control_changed_fn changed;
	void *changed_arg;
	struct control_ov *ov; /* cfg->n_addrs_total */
	struct control_client cl[CONTROL_MAX_CLIENTS];
	bool persist_pending; /* the supervisor's end was full */
};

/* The answer under construction: a growing string. */
struct control_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void control_put(struct control_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void control_put(struct control_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n + 256;
		char *b = realloc(o->buf, cap);

		if (b == NULL) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

static void control_addr_text(const struct config *cfg, size_t idx, char *buf, size_t cap)
{
	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];

		if (idx < ent->first_addr || idx >= ent->first_addr + ent->n_addrs)
			continue;
		if (inet_ntop(ent->addrs[idx - ent->first_addr].family,
			      ent->addrs[idx - ent->first_addr].addr, buf, (socklen_t)cap) != NULL)
			return;
	}
	strlcpy(buf, "?", cap);
}

static void control_owner(const struct config *cfg, size_t e, char *buf, size_t cap)
{
	const char *n = cfg->entries[e].name;

	if (n[0] == '\0' || strcmp(n, "@") == 0)
		strlcpy(buf, cfg->hosted_zone, cap);
	else
		snprintf(buf, cap, "%s.%s", n, cfg->hosted_zone);
}

/* The records of every override in force, as the state file holds them. */
static char *control_records(const struct control *c, size_t *len)
{
	const struct config *cfg = c->cfg;
	char *buf = malloc(CONTROL_STATE_MAX);

	*len = 0;
	if (buf == NULL)
		return NULL;
	*len = strlcpy(buf, "# a-healthy-dns overrides (control socket); written by the server\n",
		       CONTROL_STATE_MAX);
	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];

		for (size_t j = 0; j < ent->n_addrs; j++) {
			size_t i = health_index(cfg, e, j);
			struct control_record r = { .admin = health_admin(c->h, i) };

			if (r.admin == HEALTH_ADMIN_NONE)
				continue;
			control_owner(cfg, e, r.name, sizeof(r.name));
			control_addr_text(cfg, i, r.addr, sizeof(r.addr));
			r.when = c->ov[i].when;
			r.uid = c->ov[i].uid;
			r.pid = c->ov[i].pid;
			strlcpy(r.reason, c->ov[i].reason, sizeof(r.reason));
			/* control_apply refuses what would not fit. */
			(void)control_record_format(&r, buf, CONTROL_STATE_MAX, len);
		}
	}
	return buf;
}

/* Hand the records to the supervisor (one SOCK_SEQPACKET message). */
static void control_persist(struct control *c)
{
	size_t len;
	char *buf;

	if (c->chan_fd < 0)
		return;
	buf = control_records(c, &len);
	if (buf == NULL) {
		c->persist_pending = true;
		return;
	}
	if (send(c->chan_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len) {
		c->persist_pending = false;
	} else {
		if (!c->persist_pending)
			log_warning("control: cannot hand the overrides to the supervisor (%s); "
				    "retrying", strerror(errno));
		c->persist_pending = true;
	}
	free(buf);
}

/* A saved record: applied if its name and address are still configured. */
static void control_load_one(const struct control_record *r, void *arg)
{
	struct control *c = arg;
	char err[200];
	size_t e, i;

	if (control_lookup(c->cfg, r->name, r->addr, &e, &i, err, sizeof(err)) < 0 ||
	    c->cfg->entries[e].check == CONFIG_CHECK_NONE) {
		log_warning("control: saved override %s %s %s no longer applies (%s); dropped",
			    r->admin == HEALTH_ADMIN_DRAINED ? "drain" : "force-up", r->name, r->addr,
			    err[0] ? err : "not health-checked");
		return;
	}
	health_set_admin(c->h, i, r->admin);
	log_info("control: %s %s stays %s (set by uid %u%s%s)", r->name, r->addr,
		 r->admin == HEALTH_ADMIN_DRAINED ? "drained" : "forced up", (unsigned)r->uid,
		 r->reason[0] ? ": " : "", r->reason);
	c->ov[i].when = r->when;
	c->ov[i].uid = r->uid;
	c->ov[i].pid = r->pid;
	strlcpy(c->ov[i].reason, r->reason, sizeof(c->ov[i].reason));
}

static int control_epoll_add(struct control *c, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
}

struct control *control_new(const struct config *cfg, struct health *h, struct stats *st,
			    int listen_fd, int chan_fd, const char *saved, size_t saved_len,
			    control_changed_fn changed, void *changed_arg)
{
	struct control *c = calloc(1, sizeof(*c));
	size_t bad;

	if (c == NULL || (c->ov = calloc(cfg->n_addrs_total + 1, sizeof(*c->ov))) == NULL) {
		free(c);
		log_error("control: out of memory");
		return NULL;
	}
	*c = (struct control){ .cfg = cfg, .h = h, .st = st, .listen_fd = listen_fd,
			       .chan_fd = chan_fd, .ep = -1, .changed = changed,
			       .changed_arg = changed_arg, .ov = c->ov };
	for (size_t k = 0; k < CONTROL_MAX_CLIENTS; k++)
		c->cl[k].fd = -1;
	if (saved != NULL && saved_len > 0) {
		bad = control_records_each(saved, saved_len, control_load_one, c);
		if (bad > 0)
			log_warning("control: %zu saved override lines do not parse; ignored", bad);
		if (control_count(c) > 0)
			log_info("control: %zu overrides in force from before", control_count(c));
	}
	if (listen_fd < 0)
		return c;
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0 || control_epoll_add(c, listen_fd, EPOLLIN, UINT64_MAX) < 0) {
		log_error("control: epoll: %s; the control socket is not served", strerror(errno));
		if (c->ep >= 0)
			close(c->ep);
		c->ep = -1;
	}
	return c;
}

static void control_drop(struct control *c, struct control_client *k)
{
	if (k->fd < 0)
		return;
	close(k->fd); /* also leaves the epoll set */
	k->fd = -1;
	free(k->out);
	k->out = NULL;
}

void control_free(struct control *c)
{
	if (c == NULL)
		return;
	for (size_t k = 0; k < CONTROL_MAX_CLIENTS; k++)
		control_drop(c, &c->cl[k]);
	if (c->ep >= 0)
		close(c->ep);
	free(c->ov);
	free(c);
}

int control_wait_fd(const struct control *c)
{
	return c != NULL ? c->ep : -1;
}

size_t control_count(const struct control *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->cfg->n_addrs_total; i++)
		n += health_admin(c->h, i) != HEALTH_ADMIN_NONE;
	return n;
}

/* Root, the server's own account and its group may use the socket; the
 * file mode already keeps everyone else out, this holds even if the
 * directory or the mode were made wider. */
static bool control_peer_ok(int fd, struct ucred *cr)
{
	gid_t groups[64];
	socklen_t len = sizeof(*cr);
	gid_t gid = getegid();

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid() || cr->gid == gid)
		return true;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

/* A short answer to a connection we do not serve; never waits. */
static void control_refuse(int fd, const char *msg)
{
	(void)send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void control_accept(struct control *c)
{
	for (int n = 0; n < CONTROL_MAX_CLIENTS * 4; n++) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_client *k = NULL;
		struct ucred cr;

		if (fd < 0)
			return; /* EAGAIN: none left; anything else: next wake-up */
		if (!control_peer_ok(fd, &cr)) {
			log_warning("control: refused a connection from uid %u pid %d (not root, "
				    "not in the server's group)", (unsigned)cr.uid, (int)cr.pid);
			control_refuse(fd, "error: permission denied\n");
			continue;
		}
		for (size_t i = 0; i < CONTROL_MAX_CLIENTS && k == NULL; i++)
			k = c->cl[i].fd < 0 ? &c->cl[i] : NULL;
		if (k == NULL) {
			control_refuse(fd, "error: busy (too many control connections); retry\n");
			continue;
		}
		if (control_epoll_add(c, fd, EPOLLIN, (uint64_t)(k - c->cl)) < 0) {
			close(fd);
			continue;
		}
		k->fd = fd;
		k->peer = cr;
		k->in_len = 0;
		k->out_len = k->out_off = 0;
		k->deadline_ms = clock_now_ms() + CONTROL_TIMEOUT_MS;
	}
}

/* The addresses a request covers: one, or every one of the entry. */
static void control_range(const struct config *cfg, size_t e, const struct control_req *rq,
			  size_t idx, size_t *lo, size_t *hi)
{
	*lo = rq->addr[0] != '\0' ? idx : health_index(cfg, e, 0);
	*hi = rq->addr[0] != '\0' ? idx + 1 : *lo + cfg->entries[e].n_addrs;
}

static bool control_entry_published(const struct control *c, size_t e)
{
	for (size_t j = 0; j < c->cfg->entries[e].n_addrs; j++) {
		if (health_published(c->h, e, j))
			return true;
	}
	return false;
}

/* Set the override of [lo, hi); 0, or -1 (state file full: nothing
 * changed). */
static int control_set(struct control *c, size_t lo, size_t hi, enum health_admin a,
		       const struct control_req *rq, const struct ucred *who)
{
	uint8_t *old = malloc(hi - lo);
	size_t len;
	char *rec;

	if (old == NULL)
		return -1;
	for (size_t i = lo; i < hi; i++) {
		old[i - lo] = (uint8_t)health_admin(c->h, i);
		health_set_admin(c->h, i, a);
	}
	rec = control_records(c, &len);
	free(rec);
	/* A full buffer ends short of the last record: keep a line spare. */
	if (rec == NULL || len + CONTROL_LINE_MAX >= CONTROL_STATE_MAX) {
		for (size_t i = lo; i < hi; i++)
			health_set_admin(c->h, i, (enum health_admin)old[i - lo]);
		free(old);
		return -1;
	}
	free(old);
	for (size_t i = lo; i < hi; i++) {
		c->ov[i].when = (int64_t)time(NULL);
		c->ov[i].uid = (uint32_t)who->uid;
		c->ov[i].pid = (uint32_t)who->pid;
		strlcpy(c->ov[i].reason, rq->reason, sizeof(c->ov[i].reason));
	}
	return 0;
}

static void control_apply(struct control *c, const struct control_req *rq, const struct ucred *who,
			  struct control_out *o)
{
	static const enum health_admin to[] = {
		[CONTROL_DRAIN] = HEALTH_ADMIN_DRAINED,
		[CONTROL_UNDRAIN] = HEALTH_ADMIN_NONE,
		[CONTROL_FORCE_UP] = HEALTH_ADMIN_FORCED_UP,
	};
	static const char *const done[] = {
		[CONTROL_DRAIN] = "drained",
		[CONTROL_UNDRAIN] = "override cleared for",
		[CONTROL_FORCE_UP] = "forced up",
	};
	char err[300], owner[CONTROL_NAME_MAX + 8];
	size_t e, idx = 0, lo, hi;

	if (control_lookup(c->cfg, rq->name, rq->addr, &e, &idx, err, sizeof(err)) < 0) {
		control_put(o, "error: %s\n", err);
		return;
	}
	control_owner(c->cfg, e, owner, sizeof(owner));
	if (c->cfg->entries[e].check == CONFIG_CHECK_NONE) {
		control_put(o, "error: %s has no health check: its addresses are always "
			       "published (change the configuration instead)\n", owner);
		return;
	}
	control_range(c->cfg, e, rq, idx, &lo, &hi);
	if (control_set(c, lo, hi, to[rq->verb], rq, who) < 0) {
		control_put(o, "error: too many overrides (the state file holds %d bytes)\n",
			    CONTROL_STATE_MAX);
		return;
	}
	log_warning("control: %s %s %s by uid %u pid %d%s%s", control_verb_name(rq->verb), owner,
		    rq->addr[0] ? rq->addr : "(every address)", (unsigned)who->uid, (int)who->pid,
		    rq->reason[0] ? ": " : "", rq->reason);
	c->changed(c->changed_arg);
	control_persist(c);
	control_put(o, "ok\n%s %s %s\n", done[rq->verb], owner,
		    rq->addr[0] ? rq->addr : "(every address)");
	if (!control_entry_published(c, e)) {
		log_warning("control: %s has no address in the answers now", owner);
		control_put(o, "warning: %s has no address in the answers now\n", owner);
	}
}

static const char *control_admin_name(enum health_admin a)
{
	return a == HEALTH_ADMIN_DRAINED ? "drained" : a == HEALTH_ADMIN_FORCED_UP ? "forced-up"
										     : "none";
}

static struct json_object *control_ov_json(const struct control *c, size_t e, size_t i)
{
	struct json_object *o = json_object_new_object();
	char owner[CONTROL_NAME_MAX + 8], addr[CONTROL_ADDR_MAX];

	if (o == NULL)
		return NULL;
	control_owner(c->cfg, e, owner, sizeof(owner));
	control_addr_text(c->cfg, i, addr, sizeof(addr));
	json_object_object_add(o, "name", json_object_new_string(owner));
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "admin",
			       json_object_new_string(control_admin_name(health_admin(c->h, i))));
	json_object_object_add(o, "since", json_object_new_int64(c->ov[i].when));
	json_object_object_add(o, "uid", json_object_new_int64(c->ov[i].uid));
	json_object_object_add(o, "pid", json_object_new_int64(c->ov[i].pid));
	json_object_object_add(o, "reason", json_object_new_string(c->ov[i].reason));
	return o;
}

/* Every override with who set it, when and why: text lines or JSON. */
static void control_list(const struct control *c, struct control_out *o,
			 struct json_object *arr)
{
	const struct config *cfg = c->cfg;

	if (arr == NULL)
		control_put(o, "\nOverrides: %zu\n", control_count(c));
	for (size_t e = 0; e < cfg->n_entries; e++) {
		for (size_t j = 0; j < cfg->entries[e].n_addrs; j++) {
			size_t i = health_index(cfg, e, j);
			char owner[CONTROL_NAME_MAX + 8], addr[CONTROL_ADDR_MAX], when[32];
			time_t t = (time_t)c->ov[i].when;
			struct tm tm;

			if (health_admin(c->h, i) == HEALTH_ADMIN_NONE)
				continue;
			if (arr != NULL) {
				json_object_array_add(arr, control_ov_json(c, e, i));
				continue;
			}
			control_owner(cfg, e, owner, sizeof(owner));
			control_addr_text(cfg, i, addr, sizeof(addr));
			if (gmtime_r(&t, &tm) == NULL ||
			    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
				strlcpy(when, "?", sizeof(when));
			control_put(o, "  %-9s %s %s since %s by uid %u pid %u%s%s\n",
				    control_admin_name(health_admin(c->h, i)), owner, addr, when,
				    (unsigned)c->ov[i].uid, (unsigned)c->ov[i].pid,
				    c->ov[i].reason[0] ? ": " : "", c->ov[i].reason);
		}
	}
}

static void control_status(struct control *c, bool json, struct control_out *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (c->st == NULL) {
		control_put(o, "error: the server has no statistics object\n");
		return;
	}
	if (json) {
		struct json_object *root = admin_status_json(c->st);
		struct json_object *arr = json_object_new_array();

		if (root == NULL || arr == NULL) {
			json_object_put(root);
			json_object_put(arr);
			control_put(o, "error: cannot read a consistent copy of the statistics\n");
			return;
		}
		control_list(c, o, arr);
		json_object_object_add(root, "overrides", arr);
		control_put(o, "ok\n%s\n",
			    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
		json_object_put(root);
		return;
	}
	f = open_memstream(&text, &len);
	if (f == NULL) {
		o->oom = true;
		return;
	}
	rc = admin_status_print_text(c->st, f, (int64_t)time(NULL));
	fclose(f);
	if (rc < 0)
		control_put(o, "error: cannot read a consistent copy of the statistics\n");
	else
		control_put(o, "ok\n%s", text);
	free(text);
	if (rc == 0)
		control_list(c, o, NULL);
}

/* The request is in: build the whole answer. */
static void control_answer(struct control *c, struct control_client *k, size_t line_len)
{
	struct control_out o = { 0 };
	struct control_req rq;
	char err[200];

	if (line_len > 0 && k->in[line_len - 1] == '\r')
		line_len--;
	if (control_req_parse(k->in, line_len, &rq, err, sizeof(err)) < 0)
		control_put(&o, "error: %s\n", err);
	else if (rq.verb == CONTROL_STATUS || rq.verb == CONTROL_STATUS_JSON)
		control_status(c, rq.verb == CONTROL_STATUS_JSON, &o);
	else
		control_apply(c, &rq, &k->peer, &o);
	if (o.oom) {
		free(o.buf);
		o = (struct control_out){ 0 };
		control_put(&o, "error: out of memory\n");
	}
	k->out = o.buf;
	k->out_len = o.oom ? 0 : o.len;
	k->out_off = 0;
}

/* Send what the socket takes; 1 when all is sent, 0 to wait, -1 to drop. */
static int control_flush(struct control_client *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		k->out_off += (size_t)n;
	}
	return 1;
}

static void control_readable(struct control *c, struct control_client *k)
{
	char *nl = NULL;
	ssize_t n = 0;

	while (k->out == NULL && k->in_len < sizeof(k->in)) {
		n = recv(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len, MSG_DONTWAIT);
		if (n <= 0)
			break;
		nl = memchr(k->in + k->in_len, '\n', (size_t)n);
		k->in_len += (size_t)n;
		if (nl != NULL)
			break;
	}
	if (k->out != NULL)
		return;
	if (nl != NULL) {
		control_answer(c, k, (size_t)(nl - k->in));
	} else if (k->in_len == sizeof(k->in)) {
		k->out = strdup("error: request longer than 1024 bytes\n");
		k->out_len = k->out != NULL ? strlen(k->out) : 0;
	} else if (n == 0 && k->in_len > 0) {
		control_answer(c, k, k->in_len); /* the client shut down writing */
	} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		control_drop(c, k);
		return;
	} else {
		return;
	}
	if (control_flush(k) != 0) {
		control_drop(c, k);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)(k - c->cl) };

	if (epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		control_drop(c, k);
}

void control_serve(struct control *c, int wait_ms)
{
	struct epoll_event evs[CONTROL_MAX_CLIENTS + 1];
	int64_t now;
	int n;

	if (c == NULL)
		return;
	if (c->persist_pending)
		control_persist(c);
	if (c->ep < 0)
		return;
	n = epoll_wait(c->ep, evs, (int)AHD_ARRAY_LEN(evs), wait_ms);
	for (int i = 0; i < n; i++) {
		struct control_client *k;

		if (evs[i].data.u64 == UINT64_MAX) {
			control_accept(c);
			continue;
		}
		k = &c->cl[evs[i].data.u64];
		if (k->fd < 0)
			continue;
		if (k->out == NULL && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			control_readable(c, k);
		else if (k->out != NULL && control_flush(k) != 0)
			control_drop(c, k);
	}
	now = clock_now_ms();
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (c->cl[i].fd >= 0 && now >= c->cl[i].deadline_ms)
			control_drop(c, &c->cl[i]);
	}
}
