/*
 * The metrics process's loop (metrics.h, DESIGN §11.2): one epoll over
 * the listener the supervisor bound and at most METRICS_CONN_MAX
 * connections, all non-blocking. A connection lives METRICS_CONN_MS at
 * most, whatever it does (a byte a second buys nothing), reads at most
 * METRICS_REQUEST_MAX bytes of request head, gets one answer and is
 * closed. When the table is full the oldest connection is closed for the
 * newcomer: a flood delays a good scraper by one accept, never blocks it,
 * and nothing here can slow the workers, which never wait for us.
 */
#include "metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ahd.h"
#include "clock.h"
#include "log.h"
#include "proc.h"
#include "stats.h"

/* One rendered response, shared by the connections writing it. */
struct metrics_page {
	unsigned refs;
	size_t len;
	char data[];
};

struct metrics_conn {
	int fd;               /* -1: free */
	uint64_t born;        /* accept order: the oldest is evicted first */
	int64_t deadline_ms;
	size_t got;
	char in[METRICS_REQUEST_MAX];
	/* The answer: a page, or a static error text. */
	struct metrics_page *page;
	const char *text;
	size_t len, off;
};

struct metrics_loop {
	int ep;
	int listen_fd;
	sigset_t wait_mask;
	uint64_t accepted;
	struct metrics_conn conns[METRICS_CONN_MAX];
	struct metrics_page *page; /* the latest render */
	int64_t page_ms;
	struct metrics_buf body;   /* reused across renders */
};

static volatile sig_atomic_t metrics_stop;

static void metrics_on_stop(int sig)
{
	AHD_UNUSED(sig);
	metrics_stop = 1;
}

static void metrics_page_put(struct metrics_page *p)
{
	if (p != NULL && --p->refs == 0)
		free(p);
}

static void metrics_close(struct metrics_loop *m, struct metrics_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	metrics_page_put(c->page);
	c->page = NULL;
	c->text = NULL;
	AHD_UNUSED(m);
}

struct metrics_loop *metrics_setup(int listen_fd)
{
	struct metrics_loop *m = calloc(1, sizeof(*m));
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };

	if (m == NULL) {
		log_error("metrics: out of memory");
		return NULL;
	}
	m->listen_fd = listen_fd;
	for (size_t i = 0; i < METRICS_CONN_MAX; i++)
		m->conns[i].fd = -1;
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->ep < 0 || epoll_ctl(m->ep, EPOLL_CTL_ADD, listen_fd, &ev) < 0 ||
	    proc_stop_signals(metrics_on_stop, &m->wait_mask) < 0) {
		log_error("metrics: set-up: %s", strerror(errno));
		metrics_free(m);
		return NULL;
	}
	return m;
}

void metrics_free(struct metrics_loop *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < METRICS_CONN_MAX; i++)
		metrics_close(m, &m->conns[i]);
	metrics_page_put(m->page);
	metrics_buf_free(&m->body);
	if (m->ep >= 0)
		close(m->ep);
	free(m);
}

#define METRICS_OK_HEAD                                                                  \
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n" \
	"Connection: close\r\nContent-Length: %zu\r\n\r\n"
#define METRICS_FAILED                                                                   \
	"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n" \
	"Connection: close\r\nContent-Length: 37\r\n\r\nstatistics could not be read: retry\r\n"

/* The page of now: the last one if it is fresh enough, else a new
 * render. NULL: the statistics could not be read, or no memory. */
static struct metrics_page *metrics_page_get(struct metrics_loop *m, const struct stats *st)
{
	int64_t now = clock_now_ms();
	char head[256];
	struct metrics_page *p;
	int hl;

	if (m->page != NULL && now - m->page_ms < METRICS_RENDER_MS) {
		m->page->refs++;
		return m->page;
	}
	if (metrics_render(st, (int64_t)time(NULL), &m->body) < 0)
		return NULL;
	hl = snprintf(head, sizeof(head), METRICS_OK_HEAD, m->body.len);
	p = malloc(sizeof(*p) + (size_t)hl + m->body.len);
	if (p == NULL)
		return NULL;
	memcpy(p->data, head, (size_t)hl);
	memcpy(p->data + hl, m->body.p, m->body.len);
	p->len = (size_t)hl + m->body.len;
	p->refs = 2; /* ours and the caller's */
	metrics_page_put(m->page);
	m->page = p;
	m->page_ms = now;
	return p;
}

/* Write what the socket takes; close when all is sent or it fails. */
static void metrics_write(struct metrics_loop *m, struct metrics_conn *c)
{
	const char *data = c->page != NULL ? c->page->data : c->text;

	while (c->off < c->len) {
		ssize_t k = send(c->fd, data + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLOUT,
						  .data.u32 = (uint32_t)(c - m->conns) + 1 };

			if (epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
				metrics_close(m, c);
			return;
		}
		if (k <= 0) {
			metrics_close(m, c);
			return;
		}
		c->off += (size_t)k;
	}
	/* No lingering: whatever the client still sends is not read. */
	shutdown(c->fd, SHUT_WR);
	metrics_close(m, c);
}

/* A verdict: start answering. */
static void metrics_answer(struct metrics_loop *m, struct metrics_conn *c, enum metrics_http v,
			   const struct stats *st)
{
	if (v == METRICS_HTTP_OK) {
		c->page = metrics_page_get(m, st);
		c->text = c->page == NULL ? METRICS_FAILED : NULL;
		c->len = c->page != NULL ? c->page->len : strlen(METRICS_FAILED);
		if (c->page == NULL)
			log_warning("metrics: could not render the page");
	} else {
		c->text = metrics_http_error(v);
		c->len = strlen(c->text);
	}
	c->off = 0;
	metrics_write(m, c);
}

/* Read what arrived; answer once the head decides. */
static void metrics_read(struct metrics_loop *m, struct metrics_conn *c, const struct stats *st)
{
	for (;;) {
		enum metrics_http v;
		ssize_t k;

		if (c->got == sizeof(c->in)) {
			metrics_answer(m, c, METRICS_HTTP_TOO_LARGE, st);
			return;
		}
		k = recv(c->fd, c->in + c->got, sizeof(c->in) - c->got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) {
			metrics_close(m, c);
			return;
		}
		c->got += (size_t)k;
		v = metrics_http_parse(c->in, c->got);
		if (v != METRICS_HTTP_MORE) {
			metrics_answer(m, c, v, st);
			return;
		}
	}
}

/* A free slot, or the oldest connection's, closed for the newcomer. */
static struct metrics_conn *metrics_slot(struct metrics_loop *m)
{
	struct metrics_conn *old = NULL;

	for (size_t i = 0; i < METRICS_CONN_MAX; i++) {
		struct metrics_conn *c = &m->conns[i];

		if (c->fd < 0)
			return c;
		if (old == NULL || c->born < old->born)
			old = c;
	}
	metrics_close(m, old);
	return old;
}

/* Take what waits in the backlog, a bounded batch per wake-up so the
 * expiry and the writes get their turn. */
static void metrics_accept(struct metrics_loop *m, const struct stats *st)
{
	for (unsigned n = 0; n < 4 * METRICS_CONN_MAX; n++) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct metrics_conn *c;
		struct epoll_event ev;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warning("metrics: accept: %s", strerror(errno));
			return;
		}
		c = metrics_slot(m);
		memset(c, 0, offsetof(struct metrics_conn, in));
		c->fd = fd;
		c->born = ++m->accepted;
		c->deadline_ms = clock_now_ms() + METRICS_CONN_MS;
		c->page = NULL;
		c->text = NULL;
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u32 = (uint32_t)(c - m->conns) + 1;
		if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			metrics_close(m, c);
			continue;
		}
		/* The request usually came with the connection. */
		metrics_read(m, c, st);
	}
}

/* Close what outlived METRICS_CONN_MS; returns the next deadline's wait
 * in ms (-1: none). */
static int metrics_expire(struct metrics_loop *m)
{
	int64_t now = clock_now_ms(), next = -1;

	for (size_t i = 0; i < METRICS_CONN_MAX; i++) {
		struct metrics_conn *c = &m->conns[i];

		if (c->fd < 0)
			continue;
		if (c->deadline_ms <= now) {
			metrics_close(m, c);
			continue;
		}
		if (next < 0 || c->deadline_ms - now < next)
			next = c->deadline_ms - now;
	}
	return (int)next;
}

int metrics_run(struct metrics_loop *m, const struct stats *st)
{
	struct epoll_event evs[METRICS_CONN_MAX + 1];

	while (!metrics_stop) {
		int n = epoll_pwait(m->ep, evs, (int)AHD_ARRAY_LEN(evs), metrics_expire(m),
				    &m->wait_mask);
		bool listener_ready = false;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("metrics: epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;
			struct metrics_conn *c;

			if (k == 0) {
				listener_ready = true;
				continue;
			}
			c = &m->conns[k - 1];
			if (c->fd < 0)
				continue;
			if (c->text != NULL || c->page != NULL)
				metrics_write(m, c);
			else if (evs[i].events & (EPOLLERR | EPOLLHUP))
				metrics_close(m, c);
			else
				metrics_read(m, c, st);
		}
		/* Last: an accept may reuse a slot, and this batch's events
		 * for the slot's previous connection must not reach the new. */
		if (listener_ready)
			metrics_accept(m, st);
	}
	log_info("metrics: stopping");
	return 0;
}
