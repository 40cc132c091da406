/*
 * tcp.c: the pure framer and output queue byte by byte, then the
 * connection state machine on real loopback sockets, driven by hand
 * (our own epoll set, a clock we choose) with a handler that echoes
 * each query back with QR set.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp.h"

/* ---- framer ---- */

static void feed(struct tcp_framer *f, const uint8_t *p, size_t n)
{
	size_t room;
	uint8_t *dst = tcp_framer_space(f, &room);

	cr_assert_geq(room, n);
	memcpy(dst, p, n);
	tcp_framer_commit(f, n);
}

/* A 2-byte prefix and a body of len bytes, each byte = tag. */
static size_t frame(uint8_t *out, size_t len, uint8_t tag)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memset(out + 2, tag, len);
	return len + 2;
}

Test(tcp_framer, one_message_byte_by_byte)
{
	struct tcp_framer f;
	uint8_t wire[2 + 20];
	const uint8_t *msg = NULL;
	size_t len = 0, n = frame(wire, 20, 0xab);

	tcp_framer_reset(&f);
	cr_assert(!tcp_framer_partial(&f));
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MORE, "byte %zu", i);
		feed(&f, wire + i, 1);
		cr_assert(tcp_framer_partial(&f));
	}
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MSG);
	cr_assert_eq(len, 20);
	cr_assert_eq(msg[0], 0xab);
	cr_assert_eq(msg[19], 0xab);
	cr_assert(!tcp_framer_partial(&f));
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MORE);
}

Test(tcp_framer, pipelined_messages_in_one_chunk_and_a_tail)
{
	struct tcp_framer f;
	uint8_t wire[256];
	const uint8_t *msg;
	size_t len, n = 0;

	n += frame(wire + n, 12, 1);
	n += frame(wire + n, 30, 2);
	n += frame(wire + n, 13, 3);
	wire[n++] = 0; /* half of the next prefix */
	tcp_framer_reset(&f);
	feed(&f, wire, n);
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MSG);
	cr_assert_eq(len, 12);
	cr_assert_eq(msg[11], 1);
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MSG);
	cr_assert_eq(len, 30);
	cr_assert_eq(msg[0], 2);
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MSG);
	cr_assert_eq(len, 13);
	cr_assert_eq(msg[12], 3);
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MORE);
	cr_assert(tcp_framer_partial(&f), "the half prefix is held");

	/* The rest of it arrives after the held byte moved to the front. */
	{
		uint8_t rest[1 + 14];
		size_t room;

		rest[0] = 14;
		memset(rest + 1, 4, 14);
		(void)tcp_framer_space(&f, &room);
		cr_assert_eq(room, 2 + TCP_IN_MAX - 1);
		feed(&f, rest, sizeof(rest));
	}
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MSG);
	cr_assert_eq(len, 14);
	cr_assert_eq(msg[0], 4);
	cr_assert(!tcp_framer_partial(&f));
}

Test(tcp_framer, bad_lengths)
{
	static const size_t bad[] = {0, 1, 11};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tcp_framer f;
		uint8_t p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
		const uint8_t *msg;
		size_t len;

		tcp_framer_reset(&f);
		feed(&f, p, 2);
		cr_expect_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_BAD, "length %zu",
			     bad[i]);
	}
}

Test(tcp_framer, largest_accepted_message_fits)
{
	static struct tcp_framer f;
	static uint8_t wire[2 + TCP_IN_MAX];
	const uint8_t *msg;
	size_t len, room;

	tcp_framer_reset(&f);
	frame(wire, TCP_IN_MAX, 7);
	(void)tcp_framer_space(&f, &room);
	cr_assert_eq(room, sizeof(wire));
	feed(&f, wire, sizeof(wire));
	cr_assert_eq(tcp_framer_next(&f, &msg, &len), TCP_FRAME_MSG);
	cr_assert_eq(len, TCP_IN_MAX);
}

/* ---- output queue ---- */

Test(tcp_outq, prefix_partial_writes_and_full)
{
	static struct tcp_outq q;
	uint8_t *p;
	const uint8_t *w;
	size_t cap, n;
	int queued = 0;

	tcp_outq_reset(&q);
	cr_assert(tcp_outq_empty(&q));
	cr_assert_null(tcp_outq_pending(&q, &n));
	cr_assert_eq(n, 0);
	p = tcp_outq_reserve(&q, &cap);
	cr_assert_not_null(p);
	cr_assert_eq(cap, 65535);
	memset(p, 0x5a, 300);
	tcp_outq_commit(&q, 300);
	w = tcp_outq_pending(&q, &n);
	cr_assert_eq(n, 302);
	cr_assert_eq(w[0], 0x01);
	cr_assert_eq(w[1], 0x2c);
	cr_assert_eq(w[2], 0x5a);
	tcp_outq_advance(&q, 100);
	w = tcp_outq_pending(&q, &n);
	cr_assert_eq(n, 202);
	cr_assert_eq(w[0], 0x5a);
	tcp_outq_advance(&q, 202);
	cr_assert(tcp_outq_empty(&q));

	/* Responses gather until one more maximal one might not fit. */
	while ((p = tcp_outq_reserve(&q, &cap)) != NULL) {
		tcp_outq_commit(&q, 1000);
		queued++;
	}
	cr_assert_eq(queued, TCP_OUT_BATCH / 1002 + 1);
	tcp_outq_advance(&q, 5);
	cr_assert_null(tcp_outq_reserve(&q, &cap), "still full until written");
	(void)tcp_outq_pending(&q, &n);
	tcp_outq_advance(&q, n);
	cr_assert(tcp_outq_empty(&q));
	cr_assert_not_null(tcp_outq_reserve(&q, &cap));
}

/* ---- the state machine on loopback sockets ---- */

static size_t echo_big; /* when set, every answer is this long */

/* The stream the echo handler starts for a query with ID "ST": message
 * i is STREAM_LEN bytes, "ST", then i, then 0xab. */
#define STREAM_MSGS 200
#define STREAM_LEN 10000
static struct {
	unsigned next;
	bool open;
	unsigned freed;
} strm;

static size_t stream_msg(unsigned i, uint8_t *out)
{
	memset(out, 0xab, STREAM_LEN);
	out[0] = 'S';
	out[1] = 'T';
	out[2] = 0x80 | (uint8_t)(i >> 8);
	out[3] = (uint8_t)i;
	return STREAM_LEN;
}

static size_t stream_more(void *ctx, void *stream, uint8_t *out, size_t cap, bool *done)
{
	(void)ctx;
	cr_assert_eq(stream, &strm);
	cr_assert_geq(cap, STREAM_LEN);
	*done = strm.next + 1 == STREAM_MSGS;
	return stream_msg(strm.next++, out);
}

static void stream_free(void *ctx, void *stream)
{
	(void)ctx;
	cr_assert_eq(stream, &strm);
	cr_assert(strm.open, "a stream released twice");
	strm.open = false;
	strm.freed++;
}

static size_t echo(void *ctx, const struct sockaddr *peer, const uint8_t *in, size_t len,
		   uint8_t *out, size_t cap, void **stream)
{
	size_t n = echo_big ? echo_big : len;

	(void)ctx;
	cr_assert_not_null(peer);
	cr_assert_eq(peer->sa_family, AF_INET);
	cr_assert_eq(ntohl(((const struct sockaddr_in *)peer)->sin_addr.s_addr) >> 24, 127);
	cr_assert_geq(cap, 65535);
	if (in[2] & 0x80)
		return 0; /* a "response": dropped, like the query core does */
	if (in[0] == 'S' && in[1] == 'T' && stream != NULL) {
		/* A stream of STREAM_MSGS messages, the first one here. */
		strm.next = 1;
		strm.open = true;
		*stream = &strm;
		return stream_msg(0, out);
	}
	memset(out, 0xee, n);
	memcpy(out, in, len < n ? len : n);
	out[2] |= 0x80;
	return n;
}

struct rig {
	int lfd, epfd;
	uint16_t port;
	struct tcp_server *t;
};

static void rig_up_lim(struct rig *r, const struct tcp_limits *lim)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t sl = sizeof(a);
	uint8_t lo[16] = {127, 0, 0, 1};

	echo_big = 0;
	r->lfd = tcp_listen(AF_INET, lo, 0, false);
	cr_assert_geq(r->lfd, 0, "tcp_listen: %s", strerror(errno));
	cr_assert(tcp_is_listener(r->lfd));
	cr_assert_eq(getsockname(r->lfd, (struct sockaddr *)&a, &sl), 0);
	r->port = ntohs(a.sin_port);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(r->epfd, 0);
	r->t = tcp_server_new(r->epfd, lim, echo, NULL);
	cr_assert_not_null(r->t);
	tcp_server_streams(r->t, stream_more, stream_free);
	memset(&strm, 0, sizeof(strm));
	cr_assert_eq(tcp_server_listen(r->t, r->lfd), 0);
}

/* No message deadline and no cap per client short of the table. */
static void rig_up(struct rig *r, unsigned max_conns, unsigned idle_ms)
{
	const struct tcp_limits lim = {.max_conns = max_conns, .idle_ms = idle_ms,
				       .io_ms = idle_ms, .per_client = max_conns};

	rig_up_lim(r, &lim);
}

static void rig_down(struct rig *r)
{
	tcp_server_free(r->t);
	close(r->epfd);
	close(r->lfd);
}

/* Run the server's loop for a moment at time now_ms. */
static void pump(struct rig *r, int64_t now_ms)
{
	for (int round = 0; round < 1000; round++) {
		struct epoll_event evs[32];
		int n = epoll_wait(r->epfd, evs, 32, round == 0 ? 10 : 1);

		for (int i = 0; i < n; i++)
			tcp_server_event(r->t, evs[i].data.u64, evs[i].events, now_ms);
		if (n <= 0 && round > 0)
			break;
	}
	(void)tcp_server_tick(r->t, now_ms);
}

/* A connection from 127.0.0.<host> (0: the default source). */
static int client_from(const struct rig *r, uint8_t host)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(r->port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	if (host != 0) {
		struct sockaddr_in src = {.sin_family = AF_INET};

		src.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + host);
		cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int client(const struct rig *r)
{
	return client_from(r, 0);
}

/* A framed 17-byte query with the given ID. */
static size_t query(uint8_t *out, uint16_t id)
{
	static const uint8_t q[] = {0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				    0, 0, 1, 0, 1};

	out[0] = 0;
	out[1] = sizeof(q);
	memcpy(out + 2, q, sizeof(q));
	out[2] = (uint8_t)(id >> 8);
	out[3] = (uint8_t)id;
	return 2 + sizeof(q);
}

/* Whether the server closed fd: EOF (or a reset) within a moment. */
static bool closed_by_server(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t b[64];

	if (poll(&p, 1, 200) <= 0)
		return false;
	return recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0;
}

/* Read exactly n bytes (the server is pumped meanwhile). */
static void read_n(struct rig *r, int fd, uint8_t *buf, size_t n, int64_t now)
{
	size_t got = 0;
	int64_t end;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 10000;
	while (got < n) {
		ssize_t k = recv(fd, buf + got, n - got, MSG_DONTWAIT);

		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		cr_assert(k < 0 && errno == EAGAIN, "connection closed after %zu of %zu", got, n);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		cr_assert_lt((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, end,
			     "only %zu of %zu bytes in 10 s", got, n);
		pump(r, now);
	}
	cr_assert_eq(got, n);
}

Test(tcp_server, pipelined_queries_in_one_write_are_all_answered_in_order)
{
	struct rig r;
	uint8_t wire[100 * 19], resp[100 * 19];
	size_t n = 0;
	int fd;

	rig_up(&r, 4, 10000);
	fd = client(&r);
	for (uint16_t id = 0; id < 100; id++)
		n += query(wire + n, 1000 + id);
	cr_assert_eq(send(fd, wire, n, 0), (ssize_t)n);
	read_n(&r, fd, resp, n, 0);
	for (size_t i = 0; i < 100; i++) {
		const uint8_t *m = resp + i * 19;

		cr_assert_eq(m[0] << 8 | m[1], 17);
		cr_assert_eq(m[2] << 8 | m[3], 1000 + (int)i, "answer %zu out of order", i);
		cr_assert(m[4] & 0x80);
	}
	cr_assert_eq(tcp_server_stats(r.t)->queries, 100);
	cr_assert_eq(tcp_server_conns(r.t), 1);
	close(fd);
	rig_down(&r);
}

Test(tcp_server, idle_connection_is_closed_at_the_timeout)
{
	struct rig r;
	uint8_t half = 0;
	int fd;

	rig_up(&r, 4, 1000);
	fd = client(&r);
	pump(&r, 0);
	cr_assert_eq(tcp_server_conns(r.t), 1);
	/* Half a length prefix is progress at t=500, then nothing. */
	cr_assert_eq(send(fd, &half, 1, 0), 1);
	pump(&r, 500);
	cr_assert_eq(tcp_server_tick(r.t, 1000), 500, "the next deadline is 1500");
	cr_assert(!closed_by_server(fd));
	pump(&r, 1499);
	cr_assert_eq(tcp_server_conns(r.t), 1);
	pump(&r, 1500);
	cr_assert_eq(tcp_server_conns(r.t), 0);
	cr_assert(closed_by_server(fd));
	cr_assert_eq(tcp_server_stats(r.t)->closed_idle, 1);
	cr_assert_eq(tcp_server_tick(r.t, 2000), -1, "nothing left to time out");
	close(fd);
	rig_down(&r);
}

Test(tcp_server, full_table_closes_the_oldest_idle_connection)
{
	struct rig r;
	uint8_t one = 0;
	int a, b, c, d;

	rig_up(&r, 2, 10000);
	a = client(&r);
	pump(&r, 10);
	b = client(&r);
	pump(&r, 20);
	/* a is the oldest but busy mid-query: b is the oldest idle one. */
	cr_assert_eq(send(a, &one, 1, 0), 1);
	pump(&r, 30);
	c = client(&r);
	pump(&r, 40);
	cr_assert(closed_by_server(b), "b was not evicted");
	cr_assert(!closed_by_server(a), "a was evicted though mid-query");
	cr_assert_eq(tcp_server_stats(r.t)->evicted, 1);
	cr_assert_eq(tcp_server_conns(r.t), 2);

	/* c mid-query too: nothing idle, so the one whose query began
	 * first makes room (else trickling clients hold the table). */
	cr_assert_eq(send(c, &one, 1, 0), 1);
	pump(&r, 50);
	d = client(&r);
	pump(&r, 60);
	cr_assert(closed_by_server(a), "a was not evicted");
	cr_assert_eq(tcp_server_stats(r.t)->evicted, 2);
	cr_assert_eq(tcp_server_stats(r.t)->refused, 0);
	cr_assert(!closed_by_server(c));
	cr_assert(!closed_by_server(d));
	close(a);
	close(b);
	close(c);
	close(d);
	rig_down(&r);
}

Test(tcp_server, short_length_closes_the_connection)
{
	static const uint8_t lens[][2] = {{0, 0}, {0, 11}};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct rig r;
		uint8_t wire[64];
		size_t n;
		int fd;

		rig_up(&r, 4, 10000);
		fd = client(&r);
		/* A good query first: it is answered before the bad one. */
		n = query(wire, 7);
		memcpy(wire + n, lens[i], 2);
		cr_assert_eq(send(fd, wire, n + 2, 0), (ssize_t)(n + 2));
		pump(&r, 0);
		{
			uint8_t resp[19];

			cr_assert_eq(recv(fd, resp, sizeof(resp), MSG_DONTWAIT), 19);
			cr_assert_eq(resp[3], 7);
		}
		cr_assert(closed_by_server(fd), "case %zu", i);
		cr_assert_eq(tcp_server_stats(r.t)->bad_frames, 1);
		cr_assert_eq(tcp_server_conns(r.t), 0);
		close(fd);
		rig_down(&r);
	}
}

Test(tcp_server, slow_reader_keeps_its_bytes_and_does_not_block_others)
{
	struct rig r;
	uint8_t wire[40 * 19];
	static uint8_t resp[40 * (2 + 60000)];
	int slow, other, small = 4096;
	size_t n = 0;

	rig_up(&r, 4, 10000);
	echo_big = 60000;
	/* Accepted sockets inherit the small send buffer: 2.4 MB of answers
	 * cannot all be in flight, so the server must wait for the reader. */
	cr_assert_eq(setsockopt(r.lfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	slow = client(&r);
	for (uint16_t id = 0; id < 40; id++)
		n += query(wire + n, id);
	cr_assert_eq(send(slow, wire, n, 0), (ssize_t)n);
	pump(&r, 0);
	other = client(&r);
	n = query(wire, 4242);
	cr_assert_eq(send(other, wire, n, 0), (ssize_t)n);
	pump(&r, 1);
	{
		struct pollfd p = {.fd = other, .events = POLLIN};
		uint8_t h[4];

		cr_assert_eq(poll(&p, 1, 1000), 1, "the other client was not served");
		cr_assert_eq(recv(other, h, 4, 0), 4);
		cr_assert_eq(h[2] << 8 | h[3], 4242);
	}
	cr_assert_gt(tcp_server_stats(r.t)->queries, 0);
	cr_assert_lt(tcp_server_stats(r.t)->queries, 41, "the slow one was not held back");
	/* The slow reader now takes everything: complete and in order. */
	read_n(&r, slow, resp, sizeof(resp), 2);
	for (size_t i = 0; i < 40; i++) {
		const uint8_t *m = resp + i * (2 + 60000);

		cr_assert_eq(m[0] << 8 | m[1], 60000);
		cr_assert_eq(m[2] << 8 | m[3], (int)i);
		cr_assert_eq(m[2 + 59999], 0xee);
	}
	close(slow);
	close(other);
	rig_down(&r);
}

Test(tcp_server, half_closed_client_still_gets_its_answers)
{
	struct rig r;
	uint8_t wire[2 * 19], resp[2 * 19];
	size_t n = 0;
	int fd;

	rig_up(&r, 4, 10000);
	fd = client(&r);
	n += query(wire + n, 1);
	n += query(wire + n, 2);
	cr_assert_eq(send(fd, wire, n, 0), (ssize_t)n);
	cr_assert_eq(shutdown(fd, SHUT_WR), 0);
	pump(&r, 0);
	read_n(&r, fd, resp, sizeof(resp), 0);
	cr_assert_eq(resp[3], 1);
	cr_assert_eq(resp[19 + 3], 2);
	cr_assert(closed_by_server(fd));
	cr_assert_eq(tcp_server_conns(r.t), 0);
	close(fd);
	rig_down(&r);
}

Test(tcp_server, response_packets_are_not_answered_but_the_connection_stays)
{
	struct rig r;
	uint8_t wire[2 * 19], resp[19];
	size_t n = 0;
	int fd;

	rig_up(&r, 4, 10000);
	fd = client(&r);
	n += query(wire + n, 1);
	wire[4] |= 0x80; /* QR set */
	n += query(wire + n, 2);
	cr_assert_eq(send(fd, wire, n, 0), (ssize_t)n);
	pump(&r, 0);
	read_n(&r, fd, resp, sizeof(resp), 0);
	cr_assert_eq(resp[3], 2);
	cr_assert_eq(tcp_server_conns(r.t), 1);
	close(fd);
	rig_down(&r);
}

/* RFC 7766 section 6.2.3, slowloris: a message must be whole within
 * io_ms of its first byte, however its bytes are paced; the clock starts
 * anew with each message. */
Test(tcp_server, a_message_must_arrive_within_the_io_timeout)
{
	const struct tcp_limits lim = {.max_conns = 4, .idle_ms = 10000, .io_ms = 500,
				       .per_client = 4};
	static const uint8_t prefix[2] = {0x00, 0xff};
	uint8_t wire[64], one = 0, resp[19];
	struct rig r;
	size_t n;
	int slow, fast;

	rig_up_lim(&r, &lim);
	slow = client(&r);
	fast = client(&r);
	pump(&r, 0);
	cr_assert_eq(send(slow, prefix, 2, 0), 2);
	pump(&r, 100);
	for (int64_t now = 200; now < 600; now += 100) {
		cr_assert_eq(send(slow, &one, 1, 0), 1);
		pump(&r, now);
	}
	/* fast: a whole query at 450, half of the next one at 550 */
	n = query(wire, 9);
	cr_assert_eq(send(fast, wire, n, 0), (ssize_t)n);
	cr_assert_eq(send(fast, wire, 5, 0), 5);
	pump(&r, 550);
	cr_assert_eq(recv(fast, resp, sizeof(resp), MSG_DONTWAIT), 19);
	pump(&r, 600);
	cr_assert(closed_by_server(slow), "the trickling client was not closed");
	cr_assert_eq(tcp_server_stats(r.t)->closed_io, 1);
	pump(&r, 1000);
	cr_assert(!closed_by_server(fast), "closed before its second query's deadline");
	cr_assert_eq(send(fast, wire + 5, n - 5, 0), (ssize_t)(n - 5));
	pump(&r, 1040);
	cr_assert_eq(recv(fast, resp, sizeof(resp), MSG_DONTWAIT), 19);
	pump(&r, 5000);
	cr_assert(!closed_by_server(fast), "an idle connection met the message deadline");
	cr_assert_eq(tcp_server_stats(r.t)->closed_io, 1);
	close(slow);
	close(fast);
	rig_down(&r);
}

/* One address gets per_client connections of the table: its next one
 * replaces its own oldest, other addresses are untouched. */
Test(tcp_server, cap_per_client_address)
{
	const struct tcp_limits lim = {.max_conns = 8, .idle_ms = 10000, .io_ms = 10000,
				       .per_client = 2};
	struct rig r;
	int a[3], other;

	rig_up_lim(&r, &lim);
	other = client_from(&r, 2);
	pump(&r, 0);
	for (int i = 0; i < 3; i++) {
		a[i] = client_from(&r, 1);
		pump(&r, 10 * (i + 1));
	}
	cr_assert(closed_by_server(a[0]), "the client's oldest was kept");
	cr_assert(!closed_by_server(a[1]));
	cr_assert(!closed_by_server(a[2]));
	cr_assert(!closed_by_server(other), "another client's connection was closed");
	cr_assert_eq(tcp_server_conns(r.t), 3);
	cr_assert_eq(tcp_server_stats(r.t)->evicted, 1);
	for (int i = 0; i < 3; i++)
		close(a[i]);
	close(other);
	rig_down(&r);
}

/* RFC 8906 section 3.1.2: a query of any length a prefix can announce. */
Test(tcp_server, largest_message_is_answered)
{
	static uint8_t wire[2 + 65535], resp[2 + 65535];
	struct rig r;
	size_t n = query(wire, 11);
	int fd;

	rig_up(&r, 4, 10000);
	memset(wire + n, 0, sizeof(wire) - n);
	wire[0] = 0xff;
	wire[1] = 0xff;
	fd = client(&r);
	cr_assert_eq(send(fd, wire, sizeof(wire), 0), (ssize_t)sizeof(wire));
	read_n(&r, fd, resp, sizeof(resp), 0);
	cr_assert_eq(resp[0] << 8 | resp[1], 65535);
	cr_assert_eq(resp[3], 11);
	close(fd);
	rig_down(&r);
}

/* One round of the event loop, as a worker runs it. */
static void one_turn(struct rig *r, int64_t now_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(r->epfd, evs, 32, 100);

	for (int i = 0; i < n; i++)
		tcp_server_event(r->t, evs[i].data.u64, evs[i].events, now_ms);
}

Test(tcp_server, a_stream_goes_out_in_turns_and_others_are_served_meanwhile)
{
	struct rig r;
	uint8_t q[64], a[2 + STREAM_LEN];
	size_t ql;
	int big, small;

	rig_up(&r, 8, 10000);
	big = client(&r);
	small = client(&r);
	pump(&r, 0); /* accept both */
	/* The stream's query and, pipelined behind it, an ordinary one. */
	ql = query(q, 0x5354);
	ql += query(q + ql, 7);
	cr_assert_eq(send(big, q, ql, 0), (ssize_t)ql);
	one_turn(&r, 1);
	cr_assert(strm.open);
	cr_assert_leq(strm.next, 1 + TCP_STREAM_BURST, "one turn sent %u messages", strm.next);
	/* The other client is answered while the stream is still going. */
	ql = query(q, 9);
	cr_assert_eq(send(small, q, ql, 0), (ssize_t)ql);
	for (int turn = 0; turn < 3 && recv(small, a, sizeof(a), MSG_PEEK | MSG_DONTWAIT) < 19;
	     turn++)
		one_turn(&r, 2);
	cr_assert(strm.next < STREAM_MSGS, "the stream was done before the other client's turn");
	cr_assert_leq(strm.next, 1 + 4 * TCP_STREAM_BURST);
	read_n(&r, small, a, 2 + 17, 2);
	cr_assert_eq(a[2], 0);
	cr_assert_eq(a[3], 9);
	/* Every message of the stream, in order, then the pipelined answer. */
	for (unsigned i = 0; i < STREAM_MSGS; i++) {
		read_n(&r, big, a, 2 + STREAM_LEN, 3);
		cr_assert_eq((a[0] << 8) | a[1], STREAM_LEN);
		cr_assert_eq(((a[4] & 0x7f) << 8) | a[5], i);
	}
	read_n(&r, big, a, 2 + 17, 3);
	cr_assert_eq(a[3], 7);
	cr_assert_not(strm.open);
	cr_assert_eq(strm.freed, 1);
	close(big);
	close(small);
	rig_down(&r);
}

Test(tcp_server, closing_in_the_middle_of_a_stream_releases_it)
{
	struct rig r;
	uint8_t q[64];
	size_t ql = query(q, 0x5354);
	int c;

	rig_up(&r, 8, 10000);
	c = client(&r);
	pump(&r, 0);
	cr_assert_eq(send(c, q, ql, 0), (ssize_t)ql);
	one_turn(&r, 1);
	cr_assert(strm.open);
	close(c);
	pump(&r, 2);
	cr_assert_not(strm.open);
	cr_assert_eq(strm.freed, 1);
	rig_down(&r);
}

Test(tcp_server, a_stream_open_at_shutdown_is_released)
{
	struct rig r;
	uint8_t q[64];
	size_t ql = query(q, 0x5354);
	int c;

	rig_up(&r, 8, 10000);
	c = client(&r);
	pump(&r, 0);
	cr_assert_eq(send(c, q, ql, 0), (ssize_t)ql);
	one_turn(&r, 1);
	cr_assert(strm.open);
	rig_down(&r);
	cr_assert_eq(strm.freed, 1);
	close(c);
}
