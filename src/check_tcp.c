#include "check.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ahd.h"
#include "clock.h"
#include "sock.h"

/* fds kept back from the round for logging, the image, the ready pipe. */
#define CHECK_FD_RESERVE 64
#define CHECK_MIN_INFLIGHT 16
#define CHECK_EVENTS 512
/* Enough for "HTTP/1.1 NNN"; the rest of the response is not read. */
#define CHECK_HEAD_MAX 64
/* Sending the opening burst may use up to this fraction (1/N) of the
 * timeout of the checks it holds up; see check_deadline_ns. */
#define CHECK_SEND_SHARE 10
/* A TLS session is resumed for at most this long after the full
 * handshake that verified the certificate: a certificate that expires or
 * is replaced by a bad one fails within this time (DESIGN §3.1). */
#define CHECK_TLS_RESUME_NS (300 * (int64_t)1000000000)
/* TLS sessions a round runs at once (from SSL_new to the verdict); the
 * rest of the connected https targets wait their turn. Started all at
 * once, 10,000 handshakes share the CPU (the prober's and a busy
 * backend's) so evenly that none finishes before the timeout and every
 * target goes down; admitted a few hundred at a time, each finishes in
 * milliseconds and only the queue's tail can run out of time, as
 * "timeout (prober busy)" (DESIGN §3.1). 512 in flight still fill a
 * 50 ms path at ~5,000 handshakes a second. */
#define CHECK_TLS_ACTIVE 512
/* The request: a path of CONFIG_HTTP_PATH_MAX, a host name, headers. */
#define CHECK_REQ_MAX 1536

enum check_phase {
	CHECK_IDLE = 0,
	CHECK_CONNECT,
	CHECK_TLS_QUEUED, /* https: connected, waiting for a TLS slot */
	CHECK_HANDSHAKE, /* https */
	CHECK_SEND,
	CHECK_RECV,
	CHECK_DONE,
};

struct check_conn {
	int fd;
	enum check_phase phase;
	uint32_t watching; /* the epoll events asked for */
	SSL *ssl;          /* https, from the handshake on */
	size_t sent;
	size_t got;
	int64_t start_ns;
	/* The wait for a TLS slot, not the backend's latency: while
	 * CHECK_TLS_QUEUED when it began, once admitted how long it was. */
	int64_t queued_ns;
	char head[CHECK_HEAD_MAX];
};

struct check_round {
	struct check_target *t;
	struct check_conn *c;
	size_t n;
	int ep;
	size_t inflight;
	size_t done;
	int64_t timeout_ns;
	int64_t start_ns;  /* the round's */
	size_t opening;    /* targets [0, opening) went out before the first wait */
	size_t tls_active; /* TLS sessions under way, at most CHECK_TLS_ACTIVE */
	size_t *tls_queue; /* connected https targets waiting, FIFO */
	size_t q_head, q_tail;
};

/* check_set_wake_fd's descriptor, -1: none. */
static int check_wake_fd = -1;
#define CHECK_WAKE UINT64_MAX

void check_set_wake_fd(int fd)
{
	check_wake_fd = fd;
}

size_t check_slow_first(struct check_target *t, size_t n, uint32_t slow_us)
{
	size_t lo = 0, hi = n;

	/* Two-pointer partition: no allocation in the prober's loop. */
	for (;;) {
		while (lo < hi && t[lo].latency_us >= slow_us)
			lo++;
		while (lo < hi && t[hi - 1].latency_us < slow_us)
			hi--;
		if (lo >= hi)
			return lo;
		{
			struct check_target tmp = t[lo];

			t[lo] = t[hi - 1];
			t[hi - 1] = tmp;
		}
	}
}

int64_t check_deadline_ns(int64_t round_ns, int64_t start_ns, int64_t timeout_ns, bool opening)
{
	int64_t own = start_ns + timeout_ns - timeout_ns / CHECK_SEND_SHARE;

	if (!opening)
		return start_ns + timeout_ns;
	return round_ns + timeout_ns > own ? round_ns + timeout_ns : own;
}

static int64_t check_conn_deadline(const struct check_round *r, size_t i)
{
	return check_deadline_ns(r->start_ns, r->c[i].start_ns, r->timeout_ns, i < r->opening);
}

static const char *check_errno_reason(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return "unreachable";
	case ECONNRESET:
		return "reset";
	case EPIPE:
		return "closed";
	default:
		return strerror(err);
	}
}

/* Keep a good session for the next round, drop one that failed. */
static void check_tls_done(struct check_conn *c, struct check_target *t, bool pass)
{
	SSL_SESSION *sess;

	if (!pass) {
		check_target_clear(t);
	} else {
		/* The newest: TLS 1.3 tickets are for one use each. */
		sess = SSL_get1_session(c->ssl);
		if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
			SSL_SESSION_free(t->tls_session);
			t->tls_session = sess;
		} else {
			SSL_SESSION_free(sess);
		}
	}
	/* Marked shut down, or SSL_free would make the session unresumable
	 * (the abortive close below sends no close_notify either way). */
	SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c->ssl);
	c->ssl = NULL;
	ERR_clear_error();
}

static void check_finish(struct check_round *r, size_t i, enum health_error cls,
			 const char *reason)
{
	struct check_conn *c = &r->c[i];
	struct check_target *t = &r->t[i];
	int64_t now = clock_now_ns();
	int64_t waited = c->phase == CHECK_TLS_QUEUED ? now - c->queued_ns : c->queued_ns;
	int64_t us = (now - c->start_ns - waited) / 1000;

	if (c->ssl != NULL) {
		check_tls_done(c, t, cls == HEALTH_ERR_NONE);
		r->tls_active--;
	}
	if (c->fd >= 0) {
		/* Abortive close (RST): a prober with thousands of targets
		 * every few seconds would otherwise pile up TIME_WAIT sockets
		 * and run out of ephemeral ports. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		if (c->phase != CHECK_CONNECT)
			(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		c->fd = -1;
		r->inflight--;
	}
	c->phase = CHECK_DONE;
	t->pass = cls == HEALTH_ERR_NONE;
	t->error_class = cls;
	t->latency_us = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	strlcpy(t->reason, reason, sizeof(t->reason));
	r->done++;
}

/* The class a monitoring system counts (health.h): refused and reset
 * mean nothing listens; a local failure (socket, epoll) is "other". */
static enum health_error check_errno_class(const char *what, int err)
{
	if (what != NULL)
		return HEALTH_ERR_OTHER;
	switch (err) {
	case ECONNREFUSED:
	case ECONNRESET:
		return HEALTH_ERR_REFUSED;
	case ETIMEDOUT:
		return HEALTH_ERR_TIMEOUT;
	default:
		return HEALTH_ERR_CONNECT;
	}
}

static void check_fail_errno(struct check_round *r, size_t i, const char *what, int err)
{
	char reason[CHECK_REASON_MAX];
	enum health_error cls = check_errno_class(what, err);

	if (what == NULL)
		check_finish(r, i, cls, check_errno_reason(err));
	else {
		snprintf(reason, sizeof(reason), "%s: %s", what, check_errno_reason(err));
		check_finish(r, i, cls, reason);
	}
}

static int check_watch(struct check_round *r, size_t i, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u64 = i };

	/* A TLS read or write may ask for the same events again and again:
	 * one epoll_ctl per change, not per call. */
	if (op == EPOLL_CTL_MOD && r->c[i].watching == events)
		return 0;
	r->c[i].watching = events;
	return epoll_ctl(r->ep, op, r->c[i].fd, &ev);
}

/* Watch what a TLS call asked for (SSL_ERROR_WANT_READ/WRITE). Returns 1
 * when the call must simply wait, 0 when ssl_err is not a wait. */
static int check_tls_wait(struct check_round *r, size_t i, int ssl_err)
{
	uint32_t ev;

	if (ssl_err == SSL_ERROR_WANT_READ)
		ev = EPOLLIN | EPOLLRDHUP;
	else if (ssl_err == SSL_ERROR_WANT_WRITE)
		ev = EPOLLOUT;
	else
		return 0;
	if (check_watch(r, i, ev, EPOLL_CTL_MOD) != 0)
		check_fail_errno(r, i, "epoll", errno);
	return 1;
}

/* A TLS call failed for good: say why, as precisely as OpenSSL knows. */
static void check_tls_fail(struct check_round *r, size_t i, int ssl_err, const char *what)
{
	struct check_conn *c = &r->c[i];
	char reason[CHECK_REASON_MAX];
	unsigned long e = ERR_peek_error();
	long v = c->phase == CHECK_HANDSHAKE ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (v != X509_V_OK) {
		check_tls_verify_reason(v, reason, sizeof(reason));
		check_finish(r, i, HEALTH_ERR_TLS, reason);
		return;
	}
	if (ssl_err == SSL_ERROR_SYSCALL && errno != 0 && e == 0) {
		check_fail_errno(r, i, NULL, errno);
		return;
	}
	if (e != 0 && ERR_reason_error_string(e) != NULL)
		snprintf(reason, sizeof(reason), "%s: %s", what, ERR_reason_error_string(e));
	else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN)
		snprintf(reason, sizeof(reason), "%s: closed", what);
	else
		snprintf(reason, sizeof(reason), "%s", what);
	check_finish(r, i, c->phase == CHECK_HANDSHAKE ? HEALTH_ERR_TLS
							   : HEALTH_ERR_PROTOCOL, reason);
}

/* What check_write and check_read return besides a byte count. */
#define CHECK_IO_WAIT (-1)   /* watching for the socket to be ready */
#define CHECK_IO_FAILED (-2) /* the check is finished (failed) */

/* Part of the request, plain or over TLS: bytes written (> 0), or a
 * CHECK_IO_ value. */
static ssize_t check_write(struct check_round *r, size_t i, const char *buf, size_t len)
{
	struct check_conn *c = &r->c[i];
	ssize_t k;
	int err;

	if (c->ssl != NULL) {
		ERR_clear_error();
		k = SSL_write(c->ssl, buf, (int)len);
		if (k > 0)
			return k;
		err = SSL_get_error(c->ssl, (int)k);
		if (check_tls_wait(r, i, err))
			return CHECK_IO_WAIT;
		check_tls_fail(r, i, err, "TLS write failed");
		return CHECK_IO_FAILED;
	}
	for (;;) {
		k = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (k >= 0)
			return k > 0 ? k : CHECK_IO_WAIT;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (check_watch(r, i, EPOLLOUT, EPOLL_CTL_MOD) != 0)
				check_fail_errno(r, i, "epoll", errno);
			return CHECK_IO_WAIT;
		}
		check_fail_errno(r, i, NULL, errno);
		return CHECK_IO_FAILED;
	}
}

/* Response bytes, plain or over TLS: how many (0: the peer closed), or a
 * CHECK_IO_ value. */
static ssize_t check_read(struct check_round *r, size_t i, char *buf, size_t cap)
{
	struct check_conn *c = &r->c[i];
	ssize_t k;
	int err;

	if (c->ssl != NULL) {
		ERR_clear_error();
		k = SSL_read(c->ssl, buf, (int)cap);
		if (k > 0)
			return k;
		err = SSL_get_error(c->ssl, (int)k);
		if (err == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (check_tls_wait(r, i, err))
			return CHECK_IO_WAIT;
		check_tls_fail(r, i, err, "TLS read failed");
		return CHECK_IO_FAILED;
	}
	for (;;) {
		k = recv(c->fd, buf, cap, 0);
		if (k >= 0)
			return k;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return CHECK_IO_WAIT;
		check_fail_errno(r, i, NULL, errno);
		return CHECK_IO_FAILED;
	}
}

static void check_send(struct check_round *r, size_t i)
{
	struct check_conn *c = &r->c[i];
	char req[CHECK_REQ_MAX];
	size_t len = check_http_request(&r->t[i], req, sizeof(req));
	ssize_t k;

	if (len == 0) {
		check_finish(r, i, HEALTH_ERR_OTHER, "request too long");
		return;
	}
	c->phase = CHECK_SEND;
	while (c->sent < len) {
		k = check_write(r, i, req + c->sent, len - c->sent);
		if (k < 0)
			return;
		c->sent += (size_t)k;
	}
	c->phase = CHECK_RECV;
	if (check_watch(r, i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD) != 0)
		check_fail_errno(r, i, "epoll", errno);
}

static void check_handshake(struct check_round *r, size_t i)
{
	struct check_conn *c = &r->c[i];
	struct check_target *t = &r->t[i];
	int k, err;

	ERR_clear_error();
	k = SSL_connect(c->ssl);
	if (k == 1) {
		t->tls_resumed = SSL_session_reused(c->ssl) == 1;
		if (!t->tls_resumed)
			t->tls_full_ns = clock_now_ns();
		check_send(r, i);
		return;
	}
	err = SSL_get_error(c->ssl, k);
	if (!check_tls_wait(r, i, err))
		check_tls_fail(r, i, err, "TLS handshake failed");
}

/* The connection is up: TLS over it, with SNI, the name or address to
 * verify and the last round's session. */
static void check_tls_start(struct check_round *r, size_t i)
{
	struct check_conn *c = &r->c[i];
	struct check_target *t = &r->t[i];
	bool ok;

	if (t->tls_ctx == NULL) {
		check_finish(r, i, HEALTH_ERR_OTHER, "TLS not set up");
		return;
	}
	c->ssl = SSL_new(t->tls_ctx);
	if (c->ssl != NULL)
		r->tls_active++;
	ok = c->ssl != NULL && SSL_set_fd(c->ssl, c->fd) == 1;
	if (ok && t->tls_name != NULL)
		ok = SSL_set_tlsext_host_name(c->ssl, t->tls_name) == 1 &&
		     SSL_set1_host(c->ssl, t->tls_name) == 1;
	else if (ok)
		ok = X509_VERIFY_PARAM_set1_ip(SSL_get0_param(c->ssl), t->addr,
					       t->family == AF_INET6 ? 16 : 4) == 1;
	if (ok && t->tls_session != NULL && clock_now_ns() - t->tls_full_ns < CHECK_TLS_RESUME_NS)
		ok = SSL_set_session(c->ssl, t->tls_session) == 1;
	if (!ok) {
		check_finish(r, i, HEALTH_ERR_OTHER, "TLS set-up failed");
		return;
	}
	c->phase = CHECK_HANDSHAKE;
	check_handshake(r, i);
}

/* Connected https targets beyond CHECK_TLS_ACTIVE wait out of epoll (a
 * reset while waiting shows in the handshake) until check_tls_admit. */
static void check_tls_queue(struct check_round *r, size_t i)
{
	if (epoll_ctl(r->ep, EPOLL_CTL_DEL, r->c[i].fd, NULL) != 0) {
		check_fail_errno(r, i, "epoll", errno);
		return;
	}
	r->c[i].phase = CHECK_TLS_QUEUED;
	r->c[i].queued_ns = clock_now_ns();
	r->tls_queue[r->q_tail++] = i;
}

/* Start waiting TLS sessions while there is room, oldest first. */
static void check_tls_admit(struct check_round *r)
{
	while (r->q_head < r->q_tail && r->tls_active < CHECK_TLS_ACTIVE) {
		size_t i = r->tls_queue[r->q_head++];

		if (r->c[i].phase != CHECK_TLS_QUEUED)
			continue; /* expired while it waited */
		r->c[i].queued_ns = clock_now_ns() - r->c[i].queued_ns;
		if (check_watch(r, i, EPOLLOUT, EPOLL_CTL_ADD) != 0)
			check_fail_errno(r, i, "epoll", errno);
		else
			check_tls_start(r, i);
	}
}

static void check_connected(struct check_round *r, size_t i)
{
	if (r->t[i].kind == CONFIG_CHECK_HTTPS && r->tls_active >= CHECK_TLS_ACTIVE)
		check_tls_queue(r, i);
	else if (r->t[i].kind == CONFIG_CHECK_HTTPS)
		check_tls_start(r, i);
	else if (r->t[i].kind == CONFIG_CHECK_HTTP)
		check_send(r, i);
	else
		check_finish(r, i, HEALTH_ERR_NONE, "connected");
}

static void check_recv(struct check_round *r, size_t i)
{
	struct check_conn *c = &r->c[i];
	const struct check_target *t = &r->t[i];
	char reason[CHECK_REASON_MAX];
	ssize_t k;
	int status = 0, st;

	for (;;) {
		k = check_read(r, i, c->head + c->got, sizeof(c->head) - c->got);
		if (k < 0)
			return;
		if (k == 0) {
			check_finish(r, i, HEALTH_ERR_PROTOCOL,
				     c->got ? "bad response" : "closed without response");
			return;
		}
		c->got += (size_t)k;
		st = check_http_status(c->head, c->got, &status);
		if (st > 0) {
			bool pass = check_http_verdict(status, t->status, t->n_status, reason,
						       sizeof(reason));

			check_finish(r, i, pass ? HEALTH_ERR_NONE : HEALTH_ERR_HTTP_STATUS, reason);
			return;
		}
		if (st < 0 || c->got == sizeof(c->head)) {
			check_finish(r, i, HEALTH_ERR_PROTOCOL, "bad response");
			return;
		}
	}
}

static void check_start(struct check_round *r, size_t i)
{
	struct check_conn *c = &r->c[i];
	const struct check_target *t = &r->t[i];
	int family = t->family == AF_INET6 ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss;
	socklen_t sl = sock_addr(&ss, family, t->addr, t->port);

	c->start_ns = clock_now_ns();
	c->phase = CHECK_CONNECT;
	c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		check_fail_errno(r, i, "socket", errno);
		return;
	}
	r->inflight++;
	if (connect(c->fd, (struct sockaddr *)&ss, sl) == 0) {
		if (check_watch(r, i, EPOLLOUT, EPOLL_CTL_ADD) != 0) {
			check_fail_errno(r, i, "epoll", errno);
			return;
		}
		c->phase = CHECK_SEND;
		check_connected(r, i);
		return;
	}
	if (errno != EINPROGRESS) {
		check_fail_errno(r, i, NULL, errno);
		return;
	}
	if (check_watch(r, i, EPOLLOUT, EPOLL_CTL_ADD) != 0)
		check_fail_errno(r, i, "epoll", errno);
}

static void check_event(struct check_round *r, size_t i, uint32_t events)
{
	struct check_conn *c = &r->c[i];
	int err = 0;
	socklen_t el = sizeof(err);

	switch (c->phase) {
	case CHECK_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
			err = errno;
		if (err != 0) {
			check_fail_errno(r, i, NULL, err);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		c->phase = CHECK_SEND;
		check_connected(r, i);
		return;
	case CHECK_HANDSHAKE:
		check_handshake(r, i);
		return;
	case CHECK_SEND:
		check_send(r, i);
		return;
	case CHECK_RECV:
		check_recv(r, i);
		return;
	case CHECK_IDLE:
	case CHECK_TLS_QUEUED:
	case CHECK_DONE:
		return;
	}
}

static void check_abandon(struct check_round *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->c[i].phase != CHECK_DONE) {
			if (r->c[i].phase == CHECK_IDLE)
				r->c[i].start_ns = clock_now_ns();
			check_finish(r, i, HEALTH_ERR_OTHER, "stopped");
		}
	}
}

/* The default bound on connections in flight: the fd limit less a
 * reserve, so a round never starves the process of descriptors. */
static size_t check_inflight_limit(void)
{
	struct rlimit rl;
	size_t soft = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		soft = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)(SIZE_MAX / 2)
		       ? SIZE_MAX / 2 : (size_t)rl.rlim_cur;
	return soft > CHECK_FD_RESERVE + CHECK_MIN_INFLIGHT ? soft - CHECK_FD_RESERVE
							    : CHECK_MIN_INFLIGHT;
}

/* How long epoll may sleep: until the oldest unfinished connection's
 * deadline (-1: none), at most a tick when there is a tick to call. */
static int check_wait_ms(const struct check_round *r, size_t *oldest, size_t next,
			 bool ticking)
{
	int wait_ms = -1;

	/* Connects start in index order and check_deadline_ns grows with
	 * the start, so deadlines are sorted: the oldest unfinished one is
	 * the next to expire. */
	while (*oldest < next && r->c[*oldest].phase == CHECK_DONE)
		(*oldest)++;
	if (*oldest < next) {
		int64_t wait_ns = check_conn_deadline(r, *oldest) - clock_now_ns();

		/* Round up so we never wake just before the deadline. */
		wait_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
	}
	if (ticking && (wait_ms < 0 || wait_ms > CHECK_TICK_MS))
		wait_ms = CHECK_TICK_MS;
	return wait_ms;
}

/* Fail the connections whose deadline has passed, oldest first. */
static void check_expire(struct check_round *r, size_t *oldest, size_t next)
{
	int64_t now = clock_now_ns();

	while (*oldest < next) {
		struct check_conn *c = &r->c[*oldest];

		if (c->phase != CHECK_DONE) {
			if (check_conn_deadline(r, *oldest) > now)
				break;
			check_finish(r, *oldest, HEALTH_ERR_TIMEOUT,
				     c->phase == CHECK_TLS_QUEUED ? "timeout (prober busy)" : "timeout");
		}
		(*oldest)++;
	}
}

/* Targets start in index order, so a lower index has the earlier deadline. */
static int check_event_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct epoll_event *)a)->data.u64;
	uint64_t y = ((const struct epoll_event *)b)->data.u64;

	return (x > y) - (x < y);
}

int check_run(struct check_target *t, size_t n, unsigned timeout_ms,
	      size_t max_inflight, const volatile sig_atomic_t *stop,
	      void (*tick)(void *arg), void *tick_arg)
{
	struct check_round r = { .t = t, .n = n, .timeout_ns = (int64_t)timeout_ms * 1000000 };
	struct epoll_event evs[CHECK_EVENTS];
	size_t next = 0, oldest = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		t[i].pass = false;
		t[i].tls_resumed = false;
		t[i].error_class = HEALTH_ERR_NONE;
		t[i].latency_us = 0;
		t[i].reason[0] = '\0';
	}
	if (n == 0)
		return 0;
	if (max_inflight == 0)
		max_inflight = check_inflight_limit();
	r.c = calloc(n, sizeof(*r.c));
	r.tls_queue = calloc(n, sizeof(*r.tls_queue));
	if (r.c == NULL || r.tls_queue == NULL) {
		free(r.c);
		free(r.tls_queue);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		r.c[i].fd = -1;
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.ep < 0) {
		free(r.c);
		free(r.tls_queue);
		return -1;
	}
	if (check_wake_fd >= 0 && tick != NULL) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = CHECK_WAKE };

		(void)epoll_ctl(r.ep, EPOLL_CTL_ADD, check_wake_fd, &ev);
	}
	r.start_ns = clock_now_ns();
	while (r.done < n) {
		int nev, wait_ms;

		if (tick != NULL)
			tick(tick_arg);
		while (next < n && r.inflight < max_inflight)
			check_start(&r, next++);
		if (r.opening == 0)
			r.opening = next;
		if (stop != NULL && *stop) {
			rc = 1;
			break;
		}
		if (r.done == n)
			break;
		wait_ms = check_wait_ms(&r, &oldest, next, tick != NULL);
		nev = epoll_wait(r.ep, evs, CHECK_EVENTS, wait_ms);
		if (nev < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		/* Earliest deadline first: when the CPU is the bottleneck
		 * (thousands of TLS handshakes), the oldest checks finish and
		 * only the newest run out of time, not all of them a little. */
		if (nev > 1)
			qsort(evs, (size_t)nev, sizeof(evs[0]), check_event_cmp);
		for (int k = 0; k < nev; k++) {
			/* The tick at the top of the loop serves it. */
			if (evs[k].data.u64 != CHECK_WAKE)
				check_event(&r, (size_t)evs[k].data.u64, evs[k].events);
		}
		check_expire(&r, &oldest, next);
		check_tls_admit(&r);
	}
	if (rc != 0) {
		int saved = errno;

		check_abandon(&r);
		errno = saved;
	}
	close(r.ep);
	free(r.c);
	free(r.tls_queue);
	return rc;
}
