#include "tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

/* epoll data layout: TCP_EV_TAG | kind bit | 30-bit generation | index.
 * The generation tells an event of a closed connection from one of the
 * connection that reused its slot within the same batch of events. */
#define TCP_EV_LISTENER (UINT64_C(1) << 62)
#define TCP_GEN_MASK 0x3fffffffu
#define TCP_NONE UINT32_MAX
#define TCP_MAX_LISTENERS 64

/* ---- framing ---- */

void tcp_framer_reset(struct tcp_framer *f)
{
	f->start = 0;
	f->len = 0;
}

uint8_t *tcp_framer_space(struct tcp_framer *f, size_t *room)
{
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->start = 0;
	}
	*room = sizeof(f->buf) - f->len;
	return f->buf + f->len;
}

void tcp_framer_commit(struct tcp_framer *f, size_t n)
{
	f->len += n;
}

enum tcp_frame tcp_framer_next(struct tcp_framer *f, const uint8_t **msg,
			       size_t *len)
{
	size_t avail = f->len - f->start;
	size_t mlen;

	if (avail < 2)
		return TCP_FRAME_MORE;
	mlen = (size_t)f->buf[f->start] << 8 | f->buf[f->start + 1];
	/* Shorter than a header is no DNS message: a client that sends
	 * one is broken or hostile, and resynchronizing is guesswork. */
	if (mlen < 12 || mlen > TCP_IN_MAX)
		return TCP_FRAME_BAD;
	if (avail < 2 + mlen)
		return TCP_FRAME_MORE;
	*msg = f->buf + f->start + 2;
	*len = mlen;
	f->start += 2 + mlen;
	return TCP_FRAME_MSG;
}

bool tcp_framer_partial(const struct tcp_framer *f)
{
	return f->len > f->start;
}

/* ---- output queue ---- */

void tcp_outq_reset(struct tcp_outq *q)
{
	q->start = 0;
	q->len = 0;
}

uint8_t *tcp_outq_reserve(struct tcp_outq *q, size_t *cap)
{
	if (sizeof(q->buf) - q->len < 2 + (size_t)AHD_MAX_MSG)
		return NULL;
	*cap = AHD_MAX_MSG;
	return q->buf + q->len + 2;
}

void tcp_outq_commit(struct tcp_outq *q, size_t n)
{
	q->buf[q->len] = (uint8_t)(n >> 8);
	q->buf[q->len + 1] = (uint8_t)n;
	q->len += 2 + n;
}

const uint8_t *tcp_outq_pending(const struct tcp_outq *q, size_t *n)
{
	*n = q->len - q->start;
	return *n > 0 ? q->buf + q->start : NULL;
}

void tcp_outq_advance(struct tcp_outq *q, size_t n)
{
	q->start += n;
	if (q->start >= q->len)
		tcp_outq_reset(q);
}

bool tcp_outq_empty(const struct tcp_outq *q)
{
	return q->len == q->start;
}

/* ---- listening sockets ---- */

int tcp_listen(int family, const uint8_t addr[16], uint16_t port, bool reuseport)
{
	int one = 1, qlen = TCP_FASTOPEN_QLEN;
	int fd = sock_listener(family, SOCK_STREAM, reuseport);

	if (fd < 0)
		return -1;
	/* A restart must not wait for the last instance's TIME_WAITs. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return sock_fail(fd);
	/* Optional: a client's query may ride on its SYN (RFC 7413). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen));
	if (sock_bind(fd, family, addr, port) < 0)
		return -1;
	if (listen(fd, TCP_BACKLOG) < 0)
		return sock_fail(fd);
	return fd;
}

bool tcp_is_listener(int fd)
{
	int type = 0, acc = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) < 0 || type != SOCK_STREAM)
		return false;
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l2) == 0 && acc != 0;
}

/* ---- connections ---- */

struct tcp_buf {
	struct tcp_framer in;
	struct tcp_outq out;
};

/* A connection is on three lists, each threaded through the table. */
enum {
	TCP_L_ACT,  /* by last activity, or the free list (next only) */
	TCP_L_MSG,  /* receiving a message, by when its first byte came */
	TCP_L_ADDR, /* same address hash, by accept time */
	TCP_L_COUNT
};

struct tcp_link {
	uint32_t prev; /* TCP_NONE at the ends */
	uint32_t next;
};

struct tcp_list {
	uint32_t head;
	uint32_t tail;
};

struct tcp_conn {
	int fd;            /* -1: free slot */
	uint32_t gen;
	uint32_t bucket;   /* index into addr */
	uint32_t events;   /* the epoll mask registered now */
	bool eof;          /* the client shut its side: close when done */
	bool in_msg;       /* on the TCP_L_MSG list */
	bool in_big;       /* held more than TCP_IN_KEEP bytes once */
	int64_t last_ms;   /* last progress in either direction */
	int64_t msg_ms;    /* first byte of the message being received */
	struct tcp_link l[TCP_L_COUNT];
	struct tcp_buf *b;
	void *stream;      /* a multi-message answer being sent */
	struct sockaddr_storage peer;
};

struct tcp_listener {
	int fd;
};

struct tcp_server {
	int epfd;
	struct tcp_limits lim;
	tcp_handler handler;
	tcp_stream_more more;
	tcp_stream_free release;
	void *ctx;
	struct tcp_conn *conns;
	struct tcp_buf *bufs; /* max_conns of them, mmap'd */
	size_t bufs_size;
	struct tcp_list act; /* head: least recently active */
	struct tcp_list msg; /* head: message begun first */
	struct tcp_list *addr; /* n_addr buckets */
	uint32_t n_addr;       /* a power of two >= max_conns */
	uint32_t free_head;
	size_t n_conns;
	struct tcp_listener listeners[TCP_MAX_LISTENERS];
	size_t n_listeners;
	int64_t paused_until; /* 0: listeners active */
	struct tcp_stats st;
};

struct tcp_server *tcp_server_new(int epfd, const struct tcp_limits *lim,
				  tcp_handler handler, void *ctx)
{
	struct tcp_server *t;

	if (lim->max_conns == 0 || lim->max_conns >= TCP_NONE / 2 || lim->idle_ms == 0 ||
	    lim->io_ms == 0 || lim->per_client == 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->epfd = epfd;
	t->lim = *lim;
	t->handler = handler;
	t->ctx = ctx;
	t->act.head = t->act.tail = TCP_NONE;
	t->msg.head = t->msg.tail = TCP_NONE;
	t->n_addr = 1;
	while (t->n_addr < lim->max_conns)
		t->n_addr <<= 1;
	t->conns = calloc(lim->max_conns, sizeof(*t->conns));
	t->addr = malloc(t->n_addr * sizeof(*t->addr));
	/* Reserved, not committed: a slot's pages are touched only as far
	 * as its traffic reaches, so a large table of mostly small answers
	 * costs little memory. */
	t->bufs_size = (size_t)lim->max_conns * sizeof(struct tcp_buf);
	t->bufs = mmap(NULL, t->bufs_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->conns == NULL || t->addr == NULL || t->bufs == MAP_FAILED) {
		int err = errno;

		if (t->bufs != MAP_FAILED)
			munmap(t->bufs, t->bufs_size);
		free(t->addr);
		free(t->conns);
		free(t);
		errno = err;
		return NULL;
	}
	for (uint32_t a = 0; a < t->n_addr; a++)
		t->addr[a].head = t->addr[a].tail = TCP_NONE;
	for (uint32_t i = 0; i < lim->max_conns; i++) {
		t->conns[i].fd = -1;
		t->conns[i].b = &t->bufs[i];
		t->conns[i].l[TCP_L_ACT].next = i + 1 < lim->max_conns ? i + 1 : TCP_NONE;
	}
	t->free_head = 0;
	return t;
}

void tcp_server_free(struct tcp_server *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->lim.max_conns; i++) {
		if (t->conns[i].fd >= 0)
			close(t->conns[i].fd);
		if (t->conns[i].stream != NULL)
			t->release(t->ctx, t->conns[i].stream);
	}
	munmap(t->bufs, t->bufs_size);
	free(t->addr);
	free(t->conns);
	free(t);
}

void tcp_server_streams(struct tcp_server *t, tcp_stream_more more, tcp_stream_free release)
{
	t->more = more;
	t->release = release;
}

size_t tcp_server_conns(const struct tcp_server *t)
{
	return t->n_conns;
}

const struct tcp_stats *tcp_server_stats(const struct tcp_server *t)
{
	return &t->st;
}

static uint64_t tcp_conn_data(const struct tcp_server *t, uint32_t i)
{
	return TCP_EV_TAG | (uint64_t)(t->conns[i].gen & TCP_GEN_MASK) << 32 | i;
}

static void tcp_list_unlink(struct tcp_server *t, struct tcp_list *list, uint32_t i,
			    unsigned k)
{
	struct tcp_link *l = &t->conns[i].l[k];

	if (l->prev != TCP_NONE)
		t->conns[l->prev].l[k].next = l->next;
	else
		list->head = l->next;
	if (l->next != TCP_NONE)
		t->conns[l->next].l[k].prev = l->prev;
	else
		list->tail = l->prev;
	l->prev = l->next = TCP_NONE;
}

static void tcp_list_append(struct tcp_server *t, struct tcp_list *list, uint32_t i,
			    unsigned k)
{
	struct tcp_link *l = &t->conns[i].l[k];

	l->prev = list->tail;
	l->next = TCP_NONE;
	if (list->tail != TCP_NONE)
		t->conns[list->tail].l[k].next = i;
	else
		list->head = i;
	list->tail = i;
}

/* Progress was made: the connection goes to the end of the line, so the
 * list stays sorted by last activity and its head times out first. */
static void tcp_touch(struct tcp_server *t, uint32_t i, int64_t now_ms)
{
	t->conns[i].last_ms = now_ms;
	if (t->act.tail != i) {
		tcp_list_unlink(t, &t->act, i, TCP_L_ACT);
		tcp_list_append(t, &t->act, i, TCP_L_ACT);
	}
}

/* The client: an IPv4 address, or an IPv6 one (a v4-mapped one is the
 * IPv4 address: listeners are V6ONLY, so it does not occur). */
static const uint8_t *tcp_client(const struct sockaddr_storage *ss, size_t *len)
{
	if (ss->ss_family == AF_INET) {
		*len = 4;
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	}
	if (ss->ss_family == AF_INET6) {
		*len = 16;
		return ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	}
	*len = 0;
	return NULL;
}

static bool tcp_same_client(const struct sockaddr_storage *a,
			    const struct sockaddr_storage *b)
{
	size_t la, lb;
	const uint8_t *pa = tcp_client(a, &la), *pb = tcp_client(b, &lb);

	return la == lb && (la == 0 || memcmp(pa, pb, la) == 0);
}

/* Unseeded: colliding addresses only make the walk of a bucket as long
 * as the connections in it, never longer than the table. */
static uint32_t tcp_bucket(const struct tcp_server *t, const struct sockaddr_storage *ss)
{
	size_t len;
	const uint8_t *p = tcp_client(ss, &len);
	uint32_t h = 2166136261u;

	for (size_t k = 0; k < len; k++)
		h = (h ^ p[k]) * 16777619u;
	return h & (t->n_addr - 1);
}

/* The message deadline: a connection holding part of a message joins the
 * list when its first byte came; one whose message is complete (or that
 * waits for the client to read its answers: it is not read meanwhile)
 * leaves it. */
static void tcp_msg_begin(struct tcp_server *t, uint32_t i, int64_t now_ms)
{
	struct tcp_conn *c = &t->conns[i];

	if (c->in_msg)
		tcp_list_unlink(t, &t->msg, i, TCP_L_MSG);
	c->in_msg = true;
	c->msg_ms = now_ms;
	tcp_list_append(t, &t->msg, i, TCP_L_MSG);
}

static void tcp_msg_end(struct tcp_server *t, uint32_t i)
{
	struct tcp_conn *c = &t->conns[i];

	if (c->in_msg) {
		tcp_list_unlink(t, &t->msg, i, TCP_L_MSG);
		c->in_msg = false;
	}
}

static void tcp_close(struct tcp_server *t, uint32_t i)
{
	struct tcp_conn *c = &t->conns[i];

	/* close() also drops it from the epoll set: no one else holds it. */
	close(c->fd);
	c->fd = -1;
	if (c->stream != NULL) {
		t->release(t->ctx, c->stream);
		c->stream = NULL;
	}
	c->gen = (c->gen + 1) & TCP_GEN_MASK;
	tcp_list_unlink(t, &t->act, i, TCP_L_ACT);
	tcp_msg_end(t, i);
	tcp_list_unlink(t, &t->addr[c->bucket], i, TCP_L_ADDR);
	if (c->in_big) {
		/* The whole pages past the first TCP_IN_KEEP bytes. */
		uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
		uintptr_t lo = ((uintptr_t)c->b->in.buf + TCP_IN_KEEP + pg - 1) & ~(pg - 1);
		uintptr_t hi = ((uintptr_t)c->b->in.buf + sizeof(c->b->in.buf)) & ~(pg - 1);

		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
		c->in_big = false;
	}
	c->l[TCP_L_ACT].next = t->free_head;
	t->free_head = i;
	t->n_conns--;
}

static int tcp_set_events(struct tcp_server *t, uint32_t i, uint32_t events)
{
	struct tcp_conn *c = &t->conns[i];
	struct epoll_event ev = {.events = events, .data.u64 = tcp_conn_data(t, i)};

	if (c->events == events)
		return 0;
	if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -1;
	c->events = events;
	return 0;
}

/* Write what is queued. 0: all written; 1: the socket is full; -1: the
 * connection is broken. */
static int tcp_flush(struct tcp_server *t, uint32_t i, int64_t now_ms)
{
	struct tcp_conn *c = &t->conns[i];
	const uint8_t *p;
	size_t n;

	while ((p = tcp_outq_pending(&c->b->out, &n)) != NULL) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			tcp_outq_advance(&c->b->out, (size_t)w);
			tcp_touch(t, i, now_ms);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return -1;
	}
	return 0;
}

enum tcp_fill {
	TCP_FILL_DONE = 0, /* every complete query answered */
	TCP_FILL_FULL,     /* the queue is full: write, then go on */
	TCP_FILL_YIELD,    /* a stream spent its turn: come back later */
	TCP_FILL_CLOSE,    /* a bad frame or a failed stream */
};

/* The next message of the connection's stream into the queue. */
static enum tcp_fill tcp_stream_step(struct tcp_server *t, struct tcp_conn *c,
				     uint8_t *out, size_t cap)
{
	bool done = false;
	size_t n = t->more(t->ctx, c->stream, out, cap, &done);

	if (n > 0)
		tcp_outq_commit(&c->b->out, n);
	if (done || n == 0) {
		t->release(t->ctx, c->stream);
		c->stream = NULL;
	}
	return done || n > 0 ? TCP_FILL_DONE : TCP_FILL_CLOSE;
}

/* Queue answers: the stream's messages first (at most TCP_STREAM_BURST
 * of them per call), then the complete queries held, in order. */
static enum tcp_fill tcp_fill(struct tcp_server *t, uint32_t i, unsigned *burst)
{
	struct tcp_conn *c = &t->conns[i];

	for (;;) {
		const uint8_t *msg;
		size_t len, n, cap;
		void *stream = NULL;
		uint8_t *out = tcp_outq_reserve(&c->b->out, &cap);
		enum tcp_frame r;

		if (out == NULL)
			return TCP_FILL_FULL;
		if (c->stream != NULL) {
			if ((*burst)++ == TCP_STREAM_BURST)
				return TCP_FILL_YIELD;
			if (tcp_stream_step(t, c, out, cap) == TCP_FILL_CLOSE)
				return TCP_FILL_CLOSE;
			continue;
		}
		r = tcp_framer_next(&c->b->in, &msg, &len);
		if (r == TCP_FRAME_MORE)
			return TCP_FILL_DONE;
		if (r == TCP_FRAME_BAD) {
			t->st.bad_frames++;
			return TCP_FILL_CLOSE;
		}
		t->st.queries++;
		n = t->handler(t->ctx, (const struct sockaddr *)&c->peer, msg, len, out, cap,
			       t->more != NULL ? &stream : NULL);
		if (n > 0)
			tcp_outq_commit(&c->b->out, n);
		if (stream != NULL) {
			c->stream = stream;
			t->st.streams++;
		}
	}
}

/*
 * Answer every complete query held, in order, writing as the queue
 * fills; stop reading while the client does not take our writes, or
 * while a stream (a zone transfer) is being sent: its messages go out
 * TCP_STREAM_BURST per turn of the loop, the rest when epoll says the
 * socket is writable again, which it does at once if it still is.
 */
static void tcp_serve(struct tcp_server *t, uint32_t i, int64_t now_ms)
{
	struct tcp_conn *c = &t->conns[i];
	uint64_t queries = t->st.queries;
	unsigned burst = 0;
	enum tcp_fill f;

	do {
		int fl;

		f = tcp_fill(t, i, &burst);
		fl = tcp_flush(t, i, now_ms);
		if (f == TCP_FILL_CLOSE || fl < 0) {
			if (fl < 0)
				t->st.errors++;
			tcp_close(t, i);
			return;
		}
		if (fl > 0 || f == TCP_FILL_YIELD) {
			if (tcp_set_events(t, i, EPOLLOUT) < 0) {
				t->st.errors++;
				tcp_close(t, i);
				return;
			}
			/* Not read while the client does not read: the
			 * deadline of its message is off meanwhile. */
			tcp_msg_end(t, i);
			return;
		}
	} while (f == TCP_FILL_FULL);
	if (c->eof) {
		tcp_close(t, i);
		return;
	}
	if (tcp_set_events(t, i, EPOLLIN) < 0) {
		t->st.errors++;
		tcp_close(t, i);
		return;
	}
	/* Every complete message was taken: what is held is the start of
	 * the next one, which came with the last read if a message was
	 * taken since. */
	if (!tcp_framer_partial(&c->b->in))
		tcp_msg_end(t, i);
	else if (!c->in_msg || t->st.queries != queries)
		tcp_msg_begin(t, i, now_ms);
}

static void tcp_read(struct tcp_server *t, uint32_t i, int64_t now_ms)
{
	struct tcp_conn *c = &t->conns[i];
	size_t room;
	uint8_t *p = tcp_framer_space(&c->b->in, &room);
	ssize_t n;

	if (room == 0) {
		t->st.bad_frames++;
		tcp_close(t, i);
		return;
	}
	n = recv(c->fd, p, room, MSG_DONTWAIT);
	if (n > 0) {
		tcp_framer_commit(&c->b->in, (size_t)n);
		if (c->b->in.len > TCP_IN_KEEP)
			c->in_big = true;
		tcp_touch(t, i, now_ms);
	} else if (n == 0) {
		/* The client may half-close after its last query and still
		 * read the answers (RFC 7766 section 6.2.4 allows either). */
		c->eof = true;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		return;
	} else {
		t->st.errors++;
		tcp_close(t, i);
		return;
	}
	tcp_serve(t, i, now_ms);
}

static bool tcp_busy_writing(const struct tcp_conn *c)
{
	return c->eof || c->stream != NULL || !tcp_outq_empty(&c->b->out);
}

/* RFC 7766 section 6.2.3: when out of room, close the connection that
 * has been idle longest; one mid-answer is not idle. With none idle, the
 * one whose message began first: else clients that send a byte now and
 * then would hold the table for as long as they like. */
static bool tcp_evict(struct tcp_server *t)
{
	for (uint32_t i = t->act.head; i != TCP_NONE; i = t->conns[i].l[TCP_L_ACT].next) {
		struct tcp_conn *c = &t->conns[i];

		if (tcp_busy_writing(c) || tcp_framer_partial(&c->b->in))
			continue;
		tcp_close(t, i);
		t->st.evicted++;
		return true;
	}
	for (uint32_t i = t->msg.head; i != TCP_NONE; i = t->conns[i].l[TCP_L_MSG].next) {
		if (tcp_busy_writing(&t->conns[i]))
			continue;
		tcp_close(t, i);
		t->st.evicted++;
		return true;
	}
	return false;
}

/* The cap per client: the new connection i of a client that had
 * per_client replaces the client's oldest one that is not sending an
 * answer, or is refused. false: i was closed. */
static bool tcp_client_cap(struct tcp_server *t, uint32_t i)
{
	struct tcp_conn *c = &t->conns[i];
	uint32_t victim = TCP_NONE;
	unsigned n = 0;

	for (uint32_t k = t->addr[c->bucket].head; k != TCP_NONE;
	     k = t->conns[k].l[TCP_L_ADDR].next) {
		if (k == i || !tcp_same_client(&t->conns[k].peer, &c->peer))
			continue;
		if (victim == TCP_NONE && !tcp_busy_writing(&t->conns[k]))
			victim = k;
		n++;
	}
	if (n < t->lim.per_client)
		return true;
	if (victim == TCP_NONE) {
		t->st.refused++;
		tcp_close(t, i);
		return false;
	}
	tcp_close(t, victim);
	t->st.evicted++;
	return true;
}

static void tcp_pause(struct tcp_server *t, int64_t now_ms)
{
	for (size_t l = 0; l < t->n_listeners; l++) {
		struct epoll_event ev = {
			.events = 0,
			.data.u64 = TCP_EV_TAG | TCP_EV_LISTENER | l,
		};

		(void)epoll_ctl(t->epfd, EPOLL_CTL_MOD, t->listeners[l].fd, &ev);
	}
	t->paused_until = now_ms + TCP_ACCEPT_PAUSE_MS;
}

static void tcp_resume(struct tcp_server *t)
{
	for (size_t l = 0; l < t->n_listeners; l++) {
		struct epoll_event ev = {
			.events = EPOLLIN,
			.data.u64 = TCP_EV_TAG | TCP_EV_LISTENER | l,
		};

		(void)epoll_ctl(t->epfd, EPOLL_CTL_MOD, t->listeners[l].fd, &ev);
	}
	t->paused_until = 0;
}

static void tcp_accept(struct tcp_server *t, int lfd, int64_t now_ms)
{
	for (int k = 0; k < TCP_ACCEPT_BURST; k++) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct tcp_conn *c;
		uint32_t i;
		int one = 1, fd;
		bool room = t->free_head != TCP_NONE;

		/* Make room before accepting, so the worker never holds more
		 * than max_conns connections, even for a moment. Only the
		 * first accept is known to have a connection waiting (the
		 * event said so): the listener is level-triggered, so a full
		 * table ends the burst rather than evict on a guess. */
		if (!room) {
			if (k > 0)
				return;
			room = tcp_evict(t);
		}
		fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				t->st.errors++;
				tcp_pause(t, now_ms);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				t->st.errors++;
			}
			return;
		}
		if (!room) {
			t->st.refused++;
			close(fd);
			continue;
		}
		i = t->free_head;
		c = &t->conns[i];
		t->free_head = c->l[TCP_L_ACT].next;
		c->fd = fd;
		c->peer = peer;
		c->eof = false;
		c->events = EPOLLIN;
		c->last_ms = now_ms;
		tcp_framer_reset(&c->b->in);
		tcp_outq_reset(&c->b->out);
		t->n_conns++;
		tcp_list_append(t, &t->act, i, TCP_L_ACT);
		c->bucket = tcp_bucket(t, &peer);
		tcp_list_append(t, &t->addr[c->bucket], i, TCP_L_ADDR);
		if (t->lim.per_client < t->lim.max_conns && !tcp_client_cap(t, i))
			continue;
		/* Answers go out whole, each in one write: no reason to let
		 * Nagle hold back the next one behind an unacknowledged one. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.u64 = tcp_conn_data(t, i);
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			t->st.errors++;
			tcp_close(t, i);
			continue;
		}
		t->st.accepted++;
	}
}

int tcp_server_listen(struct tcp_server *t, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	if (t->n_listeners >= TCP_MAX_LISTENERS) {
		errno = EMFILE;
		return -1;
	}
	ev.data.u64 = TCP_EV_TAG | TCP_EV_LISTENER | t->n_listeners;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	t->listeners[t->n_listeners++].fd = fd;
	return 0;
}

void tcp_server_event(struct tcp_server *t, uint64_t data, uint32_t events,
		      int64_t now_ms)
{
	uint32_t i = (uint32_t)data;
	struct tcp_conn *c;

	if (data & TCP_EV_LISTENER) {
		if (i < t->n_listeners && t->paused_until == 0)
			tcp_accept(t, t->listeners[i].fd, now_ms);
		return;
	}
	if (i >= t->lim.max_conns)
		return;
	c = &t->conns[i];
	if (c->fd < 0 || c->gen != ((data >> 32) & TCP_GEN_MASK))
		return; /* closed earlier in this batch */
	if (events & EPOLLERR) {
		t->st.errors++;
		tcp_close(t, i);
		return;
	}
	if ((events & EPOLLOUT) && (c->events & EPOLLOUT)) {
		tcp_serve(t, i, now_ms);
		return;
	}
	if (events & EPOLLIN) {
		tcp_read(t, i, now_ms);
		return;
	}
	if (events & EPOLLHUP) {
		t->st.errors++;
		tcp_close(t, i);
	}
}

int tcp_server_tick(struct tcp_server *t, int64_t now_ms)
{
	int64_t next = -1;

	if (t->paused_until != 0 && now_ms >= t->paused_until)
		tcp_resume(t);
	while (t->act.head != TCP_NONE &&
	       t->conns[t->act.head].last_ms + (int64_t)t->lim.idle_ms <= now_ms) {
		tcp_close(t, t->act.head);
		t->st.closed_idle++;
	}
	while (t->msg.head != TCP_NONE &&
	       t->conns[t->msg.head].msg_ms + (int64_t)t->lim.io_ms <= now_ms) {
		tcp_close(t, t->msg.head);
		t->st.closed_io++;
	}
	if (t->act.head != TCP_NONE)
		next = t->conns[t->act.head].last_ms + (int64_t)t->lim.idle_ms - now_ms;
	if (t->msg.head != TCP_NONE) {
		int64_t m = t->conns[t->msg.head].msg_ms + (int64_t)t->lim.io_ms - now_ms;

		if (next < 0 || m < next)
			next = m;
	}
	if (t->paused_until != 0 && (next < 0 || t->paused_until - now_ms < next))
		next = t->paused_until - now_ms;
	if (next > INT32_MAX)
		next = INT32_MAX;
	return (int)next;
}
