/*
 * Response rate limiting from the outside (issue 15, first item of "Done
 * when"; DESIGN §10): a spoofed-style flood from one victim /24, sent from
 * many 127.1.1.x source addresses and ports over loopback (Linux accepts
 * any 127/8 source on lo), while well-behaved clients in other /24s query
 * at a steady 10/s. The victim prefix gets at most rate × (t + 1) full
 * answers (BIND's bucket: a burst of `rate`, then `rate` per second), the
 * slipped ones are TC=1 with no records, and everyone else is answered.
 * A client holding a valid server cookie (RFC 7873 §5.2.3) and TCP are
 * never limited; --rrl-log-only limits nothing and logs a bounded number
 * of lines; without --rrl-rate nothing is limited. The same flood over
 * IPv6 runs in a network namespace the test makes, whose loopback it
 * gives a victim /56 and other /56s (the host's loopback holds only ::1).
 *
 * Expected values come from the flags given here and the wire format
 * (RFC 1035 §4.1.1 header bits, RFC 6891 OPT, RFC 7873 COOKIE option),
 * parsed by hand: nothing is taken from the server's code.
 *
 * Floods are bounded: FLOOD_N queries paced over FLOOD_MS, then at most
 * DRAIN_MS of waiting for late answers (ASan servers are slow).
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"
#define RATE 10
#define FLOOD_N 1200    /* victim queries: 600/s, 60 times the rate */
#define FLOOD_MS 2000
#define DRAIN_MS 1500   /* wait for answers after the last query */
#define N_VICTIM 254    /* 127.1.1.1 .. 127.1.1.254, one socket each */
#define N_GOOD 20       /* 127.2.1.1 .. 127.2.20.1: one /24 each */
#define GOOD_EVERY_MS 100
#define GOOD_MAX (FLOOD_MS / GOOD_EVERY_MS + 2)
#define COOKIE_SRC "127.1.1.77" /* inside the victim /24 */
#define TCP_N 50
#define MAX_LOG_LINES 10 /* one summary per prefix and interval, not per packet */

/* ---- wire --------------------------------------------------------- */

/* www.example.test A IN (RFC 1035 §4.1.2). */
static const uint8_t www_q[] = {
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
	0, 1, 0, 1,
};

/* A query for www A with RD, and when cookie_len > 0 an OPT (RFC 6891
 * §6.1.2: payload 1232) holding one COOKIE option (RFC 7873 §4, code 10).
 * Returns its length. */
static size_t make_query(uint8_t *q, uint16_t id, const uint8_t *cookie, size_t cookie_len)
{
	size_t n = 0;

	q[n++] = (uint8_t)(id >> 8);
	q[n++] = (uint8_t)id;
	q[n++] = 0x01; /* RD */
	q[n++] = 0;
	q[n++] = 0, q[n++] = 1;          /* QDCOUNT */
	q[n++] = 0, q[n++] = 0;          /* ANCOUNT */
	q[n++] = 0, q[n++] = 0;          /* NSCOUNT */
	q[n++] = 0, q[n++] = cookie_len > 0; /* ARCOUNT */
	memcpy(q + n, www_q, sizeof(www_q));
	n += sizeof(www_q);
	if (cookie_len == 0)
		return n;
	q[n++] = 0;                          /* root owner */
	q[n++] = 0, q[n++] = 41;             /* OPT */
	q[n++] = 1232 >> 8, q[n++] = 1232 & 0xff;
	q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0; /* ext-rcode, version, DO */
	q[n++] = 0, q[n++] = (uint8_t)(4 + cookie_len); /* RDLENGTH */
	q[n++] = 0, q[n++] = 10;             /* COOKIE */
	q[n++] = 0, q[n++] = (uint8_t)cookie_len;
	memcpy(q + n, cookie, cookie_len);
	return n + cookie_len;
}

struct resp {
	uint16_t id;
	bool tc;
	int rcode;
	uint16_t an, ns, ar;
};

/* The header of a response to our question; false if it is not one. */
static bool parse_resp(const uint8_t *a, ssize_t len, struct resp *r)
{
	if (len < 12 + (ssize_t)sizeof(www_q) || !(a[2] & 0x80))
		return false;
	r->id = (uint16_t)(a[0] << 8 | a[1]);
	r->tc = (a[2] & 0x02) != 0;
	r->rcode = a[3] & 0x0f;
	r->an = (uint16_t)(a[6] << 8 | a[7]);
	r->ns = (uint16_t)(a[8] << 8 | a[9]);
	r->ar = (uint16_t)(a[10] << 8 | a[11]);
	/* QDCOUNT 1 and our question echoed (the server copies its case). */
	return a[4] == 0 && a[5] == 1 && memcmp(a + 12, www_q, sizeof(www_q)) == 0;
}

/* A full answer: not truncated, NOERROR, with records. */
static bool is_full(const struct resp *r)
{
	return !r->tc && r->rcode == 0 && r->an > 0;
}

/* A slipped answer (DESIGN §10): TC=1, the question and nothing else. */
static bool is_slip(const struct resp *r)
{
	return r->tc && r->an == 0 && r->ns == 0;
}

/* Past a (possibly compressed) name at a[*p]; false if malformed. */
static bool skip_name(const uint8_t *a, size_t len, size_t *p)
{
	while (*p < len) {
		uint8_t l = a[*p];

		if ((l & 0xc0) == 0xc0) {
			*p += 2;
			return *p <= len;
		}
		*p += 1u + l;
		if (l == 0)
			return *p <= len;
	}
	return false;
}

/* The COOKIE option's data in the response's OPT (RFC 7873 §4) into out;
 * its length, or 0 when there is none. */
static size_t resp_cookie(const uint8_t *a, size_t len, uint8_t *out, size_t cap)
{
	size_t p = 12 + sizeof(www_q);
	size_t rrs = (size_t)(a[6] << 8 | a[7]) + (size_t)(a[8] << 8 | a[9]) +
		     (size_t)(a[10] << 8 | a[11]);

	for (size_t i = 0; i < rrs; i++) {
		if (!skip_name(a, len, &p) || p + 10 > len)
			return 0;
		uint16_t type = (uint16_t)(a[p] << 8 | a[p + 1]);
		size_t rdlen = (size_t)(a[p + 8] << 8 | a[p + 9]);
		size_t o = p + 10, end = o + rdlen;

		if (end > len)
			return 0;
		while (type == 41 && o + 4 <= end) {
			uint16_t code = (uint16_t)(a[o] << 8 | a[o + 1]);
			size_t olen = (size_t)(a[o + 2] << 8 | a[o + 3]);

			if (o + 4 + olen > end)
				return 0;
			if (code == 10 && olen <= cap) {
				memcpy(out, a + o + 4, olen);
				return olen;
			}
			o += 4 + olen;
		}
		p = end;
	}
	return 0;
}

/* ---- sockets ------------------------------------------------------ */

static void to_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*sl = sizeof(*s4);
		return;
	}
	cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1, "bad address %s", addr);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	*sl = sizeof(*s6);
}

/* A socket of type bound to addr (any port); non-blocking for UDP. */
static int bound_socket(const char *addr, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	to_sockaddr(addr, 0, &ss, &sl);
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC | (type == SOCK_DGRAM ? SOCK_NONBLOCK : 0), 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, sl), 0, "bind %s: %s", addr, strerror(errno));
	return fd;
}

/* ---- the server --------------------------------------------------- */

/* Starts a server on 127.0.0.1 with www and two workers (a spoofed flood
 * varies its source port, so SO_REUSEPORT spreads it over both), then
 * extra flags. */
static void start(struct sys_server *s, const char *const *extra)
{
	const char *args[64];
	size_t n = 0;
	const char *const base[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}",
		"--user", "nobody",
		"--workers", "2",
	};

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		args[n++] = base[i];
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

static const char *const rrl_flags[] = {
	"--rrl-rate", "10", "--rrl-slip", "2", "--rrl-window", "2", NULL,
};

/* ---- the flood ---------------------------------------------------- */

struct flood {
	/* in */
	const char *dst;          /* the server's address */
	uint16_t port;
	const char *const *victims; /* source addresses, one socket each */
	size_t n_victims;
	const char *const *good;  /* well-behaved clients' addresses */
	size_t n_good;
	const char *cookie_src;   /* NULL, or a cookie client in the victim prefix */
	bool tcp;                 /* TCP_N queries over TCP from victim addresses */
	/* out: the victim sockets */
	int sent, full, slip, bad_tc, other;
	int64_t t_first, t_last; /* first query, last answer (ms) */
	/* out: the others */
	int good_sent, good_full, good_bad;
	int cookie_sent, cookie_full, cookie_bad;
	int tcp_ok;
};

struct flood_socks {
	struct pollfd pfd[N_VICTIM + N_GOOD + 1];
	size_t n;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	uint8_t cookie[8 + 32];  /* client | server, once known */
	size_t cookie_len;
	int good_sent[N_GOOD];
	bool good_ans[N_GOOD][GOOD_MAX];
};

static void send_to(const struct flood_socks *k, int fd, const uint8_t *q, size_t n)
{
	ssize_t w = sendto(fd, q, n, 0, (const struct sockaddr *)&k->dst, k->dst_len);

	/* A full send buffer on loopback is the test's own limit, not the
	 * server's: the query is simply not counted as sent. */
	cr_assert(w == (ssize_t)n || errno == EAGAIN || errno == ENOBUFS,
		  "sendto: %s", strerror(errno));
}

/* RFC 7873 §5.1: a client cookie alone, then read the server cookie
 * from the answer; k->cookie becomes client | server. */
static void get_server_cookie(struct flood_socks *k, int fd)
{
	static const uint8_t client[8] = {0xc0, 0x0c, 0x1e, 0x5e, 0xed, 0x12, 0x34, 0x56};
	uint8_t q[128], a[1500];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = make_query(q, 0xc00c, client, sizeof(client));
	ssize_t got = -1;

	send_to(k, fd, q, n);
	if (poll(&p, 1, 3000) == 1)
		got = recv(fd, a, sizeof(a), 0);
	cr_assert_gt(got, 12, "no answer to the cookie query");
	k->cookie_len = resp_cookie(a, (size_t)got, k->cookie, sizeof(k->cookie));
	/* RFC 7873 §4: 8 bytes of client cookie, 8 to 32 of server cookie. */
	cr_assert(k->cookie_len >= 16 && k->cookie_len <= 40, "no server cookie (%zu bytes)",
		  k->cookie_len);
	cr_assert_eq(memcmp(k->cookie, client, 8), 0, "client cookie not echoed");
}

/* Sends whatever is due at elapsed ms t. */
static void flood_send(struct flood *f, struct flood_socks *k, int64_t t)
{
	uint8_t q[128];
	int due = (int)(t * FLOOD_N / FLOOD_MS) + 1;
	size_t n;

	for (; f->sent < due && f->sent < FLOOD_N; f->sent++) {
		n = make_query(q, (uint16_t)f->sent, NULL, 0);
		send_to(k, k->pfd[(size_t)f->sent % f->n_victims].fd, q, n);
	}
	for (size_t i = 0; i < f->n_good; i++) {
		int gdue = (int)(t / GOOD_EVERY_MS) + 1;

		for (; k->good_sent[i] < gdue && k->good_sent[i] < GOOD_MAX; k->good_sent[i]++) {
			n = make_query(q, (uint16_t)(0x8000 | i << 8 | (size_t)k->good_sent[i]), NULL, 0);
			send_to(k, k->pfd[f->n_victims + i].fd, q, n);
			f->good_sent++;
		}
	}
	if (f->cookie_src != NULL && f->cookie_sent < (int)(t / GOOD_EVERY_MS) + 1) {
		n = make_query(q, (uint16_t)(0xc000 | f->cookie_sent), k->cookie, k->cookie_len);
		send_to(k, k->pfd[k->n - 1].fd, q, n);
		f->cookie_sent++;
	}
}

/* Counts one datagram that arrived on socket index i. */
static void flood_count(struct flood *f, struct flood_socks *k, size_t i,
			const uint8_t *a, ssize_t len)
{
	struct resp r = {0};
	bool ok = parse_resp(a, len, &r);

	if (i < f->n_victims) {
		if (!ok)
			f->other++;
		else if (is_full(&r))
			f->full++;
		else if (is_slip(&r))
			f->slip++;
		else if (r.tc)
			f->bad_tc++;
		else
			f->other++;
		f->t_last = sys_now_ms();
	} else if (i < f->n_victims + f->n_good) {
		size_t g = i - f->n_victims, seq = r.id & 0xff;

		if (ok && is_full(&r) && (r.id >> 8) == (0x80 | g) && seq < GOOD_MAX &&
		    !k->good_ans[g][seq]) {
			k->good_ans[g][seq] = true;
			f->good_full++;
		} else {
			f->good_bad++;
		}
	} else if (ok && is_full(&r) && (r.id & 0xff00) == 0xc000) {
		f->cookie_full++;
	} else {
		f->cookie_bad++;
	}
}

static void flood_recv(struct flood *f, struct flood_socks *k, int timeout_ms)
{
	uint8_t a[1500];

	if (poll(k->pfd, (nfds_t)k->n, timeout_ms) <= 0)
		return;
	for (size_t i = 0; i < k->n; i++) {
		ssize_t got;

		if (!(k->pfd[i].revents & POLLIN))
			continue;
		while ((got = recv(k->pfd[i].fd, a, sizeof(a), 0)) >= 0)
			flood_count(f, k, i, a, got);
	}
}

/* Every query sent so far answered (nothing left to wait for). */
static bool flood_all_answered(const struct flood *f)
{
	return f->full + f->slip + f->bad_tc + f->other >= f->sent &&
	       f->good_full >= f->good_sent && f->cookie_full >= f->cookie_sent;
}

/* TCP_N queries over TCP from 127.1.1.101.. while the flood runs, in a
 * child (blocking I/O would stall the pacing); exits with how many got a
 * full answer. */
static pid_t tcp_client(const struct flood *f)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	int ok = 0;
	struct sockaddr_storage dst;
	socklen_t dl;

	to_sockaddr(f->dst, f->port, &dst, &dl);
	sys_sleep_ms(200); /* into the flood, past the first burst */
	for (int i = 0; i < TCP_N; i++) {
		uint8_t q[128], a[1500];
		struct resp r;
		ssize_t got;
		int fd;

		fd = bound_socket(f->victims[(size_t)(100 + i) % f->n_victims], SOCK_STREAM);
		if (connect(fd, (struct sockaddr *)&dst, dl) == 0 &&
		    sys_tcp_send(fd, q, make_query(q, (uint16_t)(0x7000 + i), NULL, 0)) == 0 &&
		    (got = sys_tcp_recv(fd, a, sizeof(a), 5000)) > 0 && parse_resp(a, got, &r) &&
		    is_full(&r) && r.id == 0x7000 + i)
			ok++;
		close(fd);
		sys_sleep_ms(20);
	}
	_exit(ok);
}

/*
 * Runs the flood against f->dst:f->port: FLOOD_N queries for www A paced
 * over FLOOD_MS, round-robin over one socket per victim address (so the
 * source address and port vary), the well-behaved and cookie clients one
 * query every GOOD_EVERY_MS, then up to DRAIN_MS for the answers.
 */
static void flood_run(struct flood *f)
{
	struct flood_socks *k = calloc(1, sizeof(*k));
	pid_t tcp = 0;
	int64_t start, end = 0;

	cr_assert_not_null(k);
	cr_assert_leq(f->n_victims, N_VICTIM);
	cr_assert_leq(f->n_good, N_GOOD);
	to_sockaddr(f->dst, f->port, &k->dst, &k->dst_len);
	for (size_t i = 0; i < f->n_victims; i++)
		k->pfd[k->n++] = (struct pollfd){.fd = bound_socket(f->victims[i], SOCK_DGRAM),
						 .events = POLLIN};
	for (size_t i = 0; i < f->n_good; i++)
		k->pfd[k->n++] = (struct pollfd){.fd = bound_socket(f->good[i], SOCK_DGRAM),
						 .events = POLLIN};
	if (f->cookie_src != NULL) {
		k->pfd[k->n++] = (struct pollfd){.fd = bound_socket(f->cookie_src, SOCK_DGRAM),
						 .events = POLLIN};
		get_server_cookie(k, k->pfd[k->n - 1].fd);
	}
	if (f->tcp)
		tcp = tcp_client(f);
	start = f->t_first = f->t_last = sys_now_ms();
	for (;;) {
		int64_t now = sys_now_ms();

		if (now - start < FLOOD_MS) {
			flood_send(f, k, now - start);
		} else if (end == 0) {
			flood_send(f, k, FLOOD_MS - 1); /* the rest of what was due */
			end = now;
		} else if (now - end > DRAIN_MS || flood_all_answered(f)) {
			break;
		}
		flood_recv(f, k, 2);
	}
	if (tcp > 0) {
		int st;

		cr_assert_eq(waitpid(tcp, &st, 0), tcp);
		cr_assert(WIFEXITED(st), "the TCP client died");
		f->tcp_ok = WEXITSTATUS(st);
	}
	for (size_t i = 0; i < k->n; i++)
		close(k->pfd[i].fd);
	free(k);
	cr_log_info("flood: sent %d, full %d, slip %d, bad TC %d, other %d in %.2f s;"
		    " good %d/%d (bad %d); cookie %d/%d (bad %d); tcp %d",
		    f->sent, f->full, f->slip, f->bad_tc, f->other,
		    (double)(f->t_last - f->t_first) / 1000.0, f->good_full, f->good_sent,
		    f->good_bad, f->cookie_full, f->cookie_sent, f->cookie_bad, f->tcp_ok);
}

/* n addresses "<pre><number><post>", the number i + 1 for i < n, in
 * hexadecimal for IPv6. */
static const char *const *addresses(char (*buf)[48], const char **ptr, size_t n,
				    const char *pre, const char *post)
{
	bool hex = strchr(pre, ':') != NULL;

	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), hex ? "%s%zx%s" : "%s%zu%s", pre, i + 1, post);
		ptr[i] = buf[i];
	}
	return ptr;
}

/* The victim /24's 254 source addresses, and one /24 each for the
 * well-behaved clients. */
static void flood_v4(struct flood *f, uint16_t port, bool good, bool cookie, bool tcp)
{
	static char vbuf[N_VICTIM][48], gbuf[N_GOOD][48];
	static const char *vptr[N_VICTIM], *gptr[N_GOOD];

	*f = (struct flood){
		.dst = "127.0.0.1", .port = port,
		.victims = addresses(vbuf, vptr, N_VICTIM, "127.1.1.", ""),
		.n_victims = N_VICTIM,
		.good = addresses(gbuf, gptr, N_GOOD, "127.2.", ".1"),
		.n_good = good ? N_GOOD : 0,
		.cookie_src = cookie ? COOKIE_SRC : NULL, .tcp = tcp,
	};
	flood_run(f);
}

/*
 * The victim got at most rate × (t + 1) full answers, t the seconds from
 * its first query to its last answer (every verdict was taken in that
 * span; a burst of `rate`, then `rate` per second), at least one (the
 * first burst), and its slipped answers are TC=1 with no records.
 */
static void assert_limited(const struct flood *f)
{
	double t = (double)(f->t_last - f->t_first) / 1000.0;
	int bound = (int)(RATE * (t + 1.0)) + 1; /* +1: ms rounding */

	cr_assert_gt(f->sent, FLOOD_N / 2, "the flood was not sent (%d)", f->sent);
	cr_expect_leq(f->full, bound, "victim prefix: %d full answers in %.2f s, at most %d",
		      f->full, t, bound);
	cr_expect_geq(f->full, 1, "victim prefix: not even the first burst was answered");
	/* DESIGN §10: a flood far above the rate keeps the account at its
	 * floor (-rate × window), so only the first burst passes; this catches
	 * per-worker tables (rate × workers) and a debt not remembered. */
	cr_expect_leq(f->full, RATE + RATE / 2, "victim prefix: %d full answers, more than the"
		      " first burst of %d", f->full, RATE);
	cr_expect_eq(f->bad_tc, 0, "%d TC answers carried records", f->bad_tc);
	cr_expect_eq(f->other, 0, "%d other answers", f->other);
	/* slip 2: every other limited response is a TC=1 answer; with tens
	 * of times the rate that is hundreds, ask for a tenth of the limited. */
	cr_expect_geq(f->slip, (f->sent - bound) / 20, "only %d slipped answers", f->slip);
	cr_expect_lt(f->full + f->slip, f->sent, "nothing was dropped");
}

/* No query of the flood went unanswered or was truncated. */
static void assert_unlimited(const struct flood *f)
{
	cr_assert_eq(f->sent, FLOOD_N);
	cr_expect_eq(f->full, f->sent, "only %d of %d flood queries answered (%d TC)",
		     f->full, f->sent, f->slip + f->bad_tc);
	cr_expect_eq(f->slip + f->bad_tc + f->other, 0);
}

static void assert_good_answered(const struct flood *f)
{
	cr_assert_gt(f->good_sent, N_GOOD * (FLOOD_MS / GOOD_EVERY_MS) / 2);
	cr_expect_eq(f->good_full, f->good_sent, "well-behaved: %d of %d answered (%d bad)",
		     f->good_full, f->good_sent, f->good_bad);
	cr_expect_eq(f->good_bad, 0);
}

/* ---- tests -------------------------------------------------------- */

TestSuite(rrl, .timeout = 20);

Test(rrl, victim_prefix_is_limited_others_are_answered)
{
	struct sys_server s;
	struct flood f;

	start(&s, rrl_flags);
	flood_v4(&f, s.port, true, false, false);
	assert_limited(&f);
	assert_good_answered(&f);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(rrl, valid_cookie_is_not_limited)
{
	struct sys_server s;
	struct flood f;

	start(&s, rrl_flags);
	flood_v4(&f, s.port, false, true, false);
	assert_limited(&f);
	cr_expect_gt(f.cookie_sent, FLOOD_MS / GOOD_EVERY_MS / 2);
	cr_expect_eq(f.cookie_full, f.cookie_sent, "cookie client: %d of %d answered (%d bad)",
		     f.cookie_full, f.cookie_sent, f.cookie_bad);
	cr_expect_eq(f.cookie_bad, 0);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(rrl, tcp_is_never_limited)
{
	struct sys_server s;
	struct flood f;

	start(&s, rrl_flags);
	flood_v4(&f, s.port, false, false, true);
	assert_limited(&f);
	cr_expect_eq(f.tcp_ok, TCP_N, "TCP: %d of %d answered", f.tcp_ok, TCP_N);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* Lines of log mentioning rate limiting ("rate limit", "rate-limit",
 * "ratelimit", any case). */
static int rate_limit_lines(const char *log)
{
	int n = 0;

	for (const char *l = log; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t len = nl != NULL ? (size_t)(nl - l) : strlen(l);
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), l);
		if (strcasestr(line, "rate limit") || strcasestr(line, "rate-limit") ||
		    strcasestr(line, "ratelimit"))
			n++;
		l = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

Test(rrl, log_only_limits_nothing)
{
	static const char *const flags[] = {
		"--rrl-rate", "10", "--rrl-slip", "2", "--rrl-window", "2", "--rrl-log-only", NULL,
	};
	struct sys_server s;
	struct flood f;
	char *log = NULL;
	int lines = 0;

	start(&s, flags);
	flood_v4(&f, s.port, true, false, false);
	assert_unlimited(&f);
	assert_good_answered(&f);
	/* What would have been limited is logged: a summary per prefix and
	 * interval (DESIGN §10), so a handful of lines, not one per packet. */
	for (int64_t t0 = sys_now_ms(); sys_now_ms() - t0 < 3000; sys_sleep_ms(100)) {
		free(log);
		log = sys_server_log(&s);
		lines = rate_limit_lines(log);
		if (lines > 0)
			break;
	}
	cr_expect_geq(lines, 1, "log-only logged nothing about rate limiting:\n%s", log);
	cr_expect_leq(lines, MAX_LOG_LINES, "%d rate-limit lines for one flood:\n%s", lines, log);
	free(log);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(rrl, off_by_default)
{
	struct sys_server s;
	struct flood f;
	char *log;

	start(&s, NULL);
	flood_v4(&f, s.port, true, true, true);
	assert_unlimited(&f);
	assert_good_answered(&f);
	cr_expect_eq(f.cookie_full, f.cookie_sent, "cookie client: %d of %d answered",
		     f.cookie_full, f.cookie_sent);
	cr_expect_eq(f.tcp_ok, TCP_N, "TCP: %d of %d answered", f.tcp_ok, TCP_N);
	log = sys_server_log(&s);
	cr_expect_eq(rate_limit_lines(log), 0, "rate limiting logged while off:\n%s", log);
	free(log);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/*
 * IPv6, in a network namespace this test makes (the loopback of the host
 * holds only ::1, and a test may give addresses only to namespaces it
 * made): the victim /56 fd00:0:0::/56 sends from 254 addresses (one /64
 * each: fd00:0:0:1::1 .. fd00:0:0:fe::1, so the whole /56 is one bucket
 * and no narrower prefix is), the well-behaved clients each from a /56
 * of their own (fd00:0:0:100::1 ...), a cookie client and TCP from inside
 * the victim /56. The namespace goes with this test's process.
 */
#define V6_SERVER "fd00:53::53"

static void netns_with_v6(const struct flood *f)
{
	char path[] = "/tmp/ahd-rrl-ip.XXXXXX";
	int fd = mkstemp(path);
	FILE *b = fd >= 0 ? fdopen(fd, "w") : NULL;
	char cmd[128];

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_not_null(b);
	fprintf(b, "link set lo up\naddr add %s/128 dev lo nodad\n", V6_SERVER);
	for (size_t i = 0; i < f->n_victims; i++)
		fprintf(b, "addr add %s/128 dev lo nodad\n", f->victims[i]);
	for (size_t i = 0; i < f->n_good; i++)
		fprintf(b, "addr add %s/128 dev lo nodad\n", f->good[i]);
	fprintf(b, "addr add %s/128 dev lo nodad\n", f->cookie_src);
	cr_assert_eq(fclose(b), 0);
	snprintf(cmd, sizeof(cmd), "ip -6 -batch %s", path);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
	unlink(path);
}

Test(rrl, ipv6_prefixes_in_a_netns)
{
	static char vbuf[N_VICTIM][48], gbuf[N_GOOD][48];
	static const char *vptr[N_VICTIM], *gptr[N_GOOD];
	uint16_t port = 5353;
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--user", "nobody",
		"--workers", "2", "--port", "5353", "--listen", V6_SERVER,
		"--rrl-rate", "10", "--rrl-slip", "2", "--rrl-window", "2",
		"--rrl-ipv6-prefix", "56", NULL,
	};
	struct sys_server s;
	struct flood f = {
		.dst = V6_SERVER, .port = port,
		.victims = addresses(vbuf, vptr, N_VICTIM, "fd00:0:0:", "::1"),
		.n_victims = N_VICTIM,
		.good = addresses(gbuf, gptr, N_GOOD, "fd00:0:0:", "00::1"),
		.n_good = N_GOOD, .cookie_src = "fd00:0:0:77::77", .tcp = true,
	};

	netns_with_v6(&f);
	cr_assert_eq(sys_server_start_raw(&s, args, port, V6_SERVER), 0, "the server did not start");
	flood_run(&f);
	assert_limited(&f);
	assert_good_answered(&f);
	cr_expect_gt(f.cookie_sent, FLOOD_MS / GOOD_EVERY_MS / 2);
	cr_expect_eq(f.cookie_full, f.cookie_sent, "cookie client: %d of %d answered",
		     f.cookie_full, f.cookie_sent);
	cr_expect_eq(f.tcp_ok, TCP_N, "TCP: %d of %d answered", f.tcp_ok, TCP_N);
	cr_expect_eq(sys_server_stop(&s), 0);
}
