/*
 * Fault injection under load (reliability issue, item 3). A load
 * generator in the test (LOAD_THREADS threads, a bounded rate, every
 * response checked) runs against the real binary while a health backend
 * pair flips every 100 ms and processes are killed, stopped and starved:
 *
 *   - no wrong answer at any time: a static name always returns exactly
 *     its addresses, the flipped name one of the sets health allows
 *     ({}, {a}, {b}, {a,b}), with the right ID, question and flags;
 *   - killed children are replaced (new pids), the supervisor lives on;
 *   - the share of unanswered queries per fault is printed, and only a
 *     loose bound is asserted so a loaded 2-core CI box does not flake.
 *
 * tests/soak/soak_faults.c includes this file with AHD_SOAK defined: the
 * same phases, 60 s each.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sysutil.h"

#ifdef AHD_SOAK
#define PHASE_MS 60000
#define FAULTS_TIMEOUT 900
#define TCP_CONNS 20000
#else
#define PHASE_MS 1500
#define FAULTS_TIMEOUT 60
#define TCP_CONNS 1500
#endif

/* Total queries per second over all threads (env AHD_LOAD_QPS). */
#define LOAD_QPS 10000
#define LOAD_THREADS 2
#define LOAD_SOCKETS 4        /* per thread: 4 source ports */
#define LOAD_TIMEOUT_MS 1000  /* unanswered after this: lost */
/* The loose bound asserted on the share of unanswered queries. */
#define LOSS_MAX 0.05

#define ZONE "faults.test"
#define ADDR_A "127.0.0.2"
#define ADDR_B "127.0.0.3"

enum phase { PH_BASE, PH_KILL_W1, PH_KILL_W2, PH_KILL_PROBER, PH_STOP_PROBER, PH_TCP,
	     PH_COUNT };

static const char *const phase_names[PH_COUNT] = {
	"baseline", "kill -9 worker #1", "kill -9 worker #2", "kill -9 prober",
	"SIGSTOP prober", "TCP connections exhausted",
};

struct phase_stats {
	atomic_ulong sent, answered, lost, wrong, late;
};

struct load {
	uint16_t port;
	int qps_per_thread;
	atomic_int phase;
	atomic_bool stop;
	struct phase_stats st[PH_COUNT];
	atomic_uint flip_sets;   /* bit s: the flipped name's set s was seen */
	atomic_flag wrong_logged;
	char first_wrong[512];
	pthread_t threads[LOAD_THREADS];
};

/* ---- the flipping backends ---- */

struct flipper {
	uint16_t port;
	atomic_bool stop;
	atomic_ulong flips;
	pthread_t thread;
};

static int listen_on(const char *addr, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, addr, &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Every 100 ms the next of the 4 states: a down/up x b down/up. A down
 * backend has no listener, so its check is refused at once. */
static void *flipper_run(void *arg)
{
	struct flipper *f = arg;
	int fds[2] = {-1, -1};
	unsigned state = 0;

	while (!atomic_load(&f->stop)) {
		int64_t until = sys_now_ms() + 100;

		for (int i = 0; i < 2; i++) {
			bool up = state & (1u << i);

			if (up && fds[i] < 0)
				fds[i] = listen_on(i ? ADDR_B : ADDR_A, f->port);
			else if (!up && fds[i] >= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		atomic_fetch_add(&f->flips, 1);
		while (sys_now_ms() < until && !atomic_load(&f->stop)) {
			struct pollfd p[2];
			nfds_t n = 0;

			for (int i = 0; i < 2; i++) {
				if (fds[i] >= 0)
					p[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
			}
			if (n == 0) {
				sys_sleep_ms(5);
				continue;
			}
			if (poll(p, n, 5) <= 0)
				continue;
			for (nfds_t i = 0; i < n; i++) {
				int c;

				while ((c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
					close(c);
			}
		}
		state = (state + 1) & 3;
	}
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return NULL;
}

/* ---- the load generator ---- */

/* Mixed case: the question must come back byte for byte. */
static const uint8_t name_static[] = {6, 'S', 't', 'A', 't', 'I', 'c', 6, 'f', 'A', 'u', 'L',
				      't', 'S', 4, 't', 'E', 's', 'T', 0};
static const uint8_t name_flip[] = {4, 'F', 'l', 'I', 'p', 6, 'f', 'a', 'U', 'l', 't', 's',
				    4, 'T', 'e', 's', 't', 0};

struct pending {
	int64_t sent_ms;
	uint8_t phase;
	uint8_t which;  /* 0 static, 1 flip */
	bool pending;
};

static size_t load_query(uint8_t *out, uint16_t id, int which)
{
	const uint8_t *name = which ? name_flip : name_static;
	size_t nl = which ? sizeof(name_flip) : sizeof(name_static);

	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x01; /* RD */
	out[3] = 0;
	memcpy(out + 4, (const uint8_t[]){0, 1, 0, 0, 0, 0, 0, 0}, 8);
	memcpy(out + 12, name, nl);
	memcpy(out + 12 + nl, (const uint8_t[]){0, 1, 0, 1}, 4);
	return 12 + nl + 4;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Decode the (possibly compressed) name at *pos into lower-case wire
 * form; *pos moves past it. -1 if malformed. */
static int read_name(const uint8_t *p, size_t len, size_t *pos, uint8_t *out, size_t *olen)
{
	size_t at = *pos, o = 0;
	bool jumped = false;

	for (int hops = 0; hops < 64;) {
		uint8_t l;

		if (at >= len)
			return -1;
		l = p[at];
		if ((l & 0xc0) == 0xc0) {
			if (len - at < 2)
				return -1;
			if (!jumped)
				*pos = at + 2;
			jumped = true;
			at = (size_t)(l & 0x3f) << 8 | p[at + 1];
			hops++;
			continue;
		}
		if (l & 0xc0 || len - at < 1u + l || o + 1u + l > 255)
			return -1;
		out[o++] = l;
		for (size_t i = 1; i <= l; i++)
			out[o++] = lower(p[at + i]);
		at += 1u + l;
		if (l == 0) {
			if (!jumped)
				*pos = at;
			*olen = o;
			return 0;
		}
	}
	return -1;
}

/*
 * Check one response against the states that may be published. Returns
 * 0, or -1 with why filled. *set: for the flipped name, its A set as a
 * bit mask (bit 0: a, bit 1: b).
 */
static int check_answer(const uint8_t *p, size_t len, const uint8_t *q, size_t qlen,
			int which, unsigned *set, char *why, size_t cap)
{
	uint8_t qname[256], owner[256];
	size_t qnl, ol, pos;
	unsigned an, ns, ar, rcode, got = 0;
	uint16_t flags;

	if (len < 12 || len < qlen) {
		snprintf(why, cap, "short response (%zu bytes)", len);
		return -1;
	}
	flags = (uint16_t)(p[2] << 8 | p[3]);
	an = (unsigned)(p[6] << 8 | p[7]);
	ns = (unsigned)(p[8] << 8 | p[9]);
	ar = (unsigned)(p[10] << 8 | p[11]);
	rcode = flags & 0xf;
	/* QR AA RD set; opcode 0, TC, RA, Z, AD, CD clear. */
	if ((flags & 0xfff0) != 0x8500 || p[4] != 0 || p[5] != 1 || ar != 0 ||
	    memcmp(p + 12, q + 12, qlen - 12) != 0) {
		snprintf(why, cap, "header/question: flags %04x qd %u ar %u", flags,
			 (unsigned)(p[4] << 8 | p[5]), ar);
		return -1;
	}
	pos = 12;
	if (read_name(q, qlen, &pos, qname, &qnl) < 0)
		return -1;
	pos = qlen;
	for (unsigned i = 0; i < an; i++) {
		uint16_t type, cls, rdlen;

		if (read_name(p, len, &pos, owner, &ol) < 0 || len - pos < 10) {
			snprintf(why, cap, "answer RR %u malformed", i);
			return -1;
		}
		type = (uint16_t)(p[pos] << 8 | p[pos + 1]);
		cls = (uint16_t)(p[pos + 2] << 8 | p[pos + 3]);
		rdlen = (uint16_t)(p[pos + 8] << 8 | p[pos + 9]);
		if (ol != qnl || memcmp(owner, qname, ol) != 0 || type != 1 || cls != 1 ||
		    rdlen != 4 || len - pos - 10 < 4) {
			snprintf(why, cap, "answer RR %u: type %u class %u rdlen %u", i, type, cls,
				 rdlen);
			return -1;
		}
		const uint8_t *a = p + pos + 10;
		unsigned bit;

		if (!which && a[0] == 192 && a[1] == 0 && a[2] == 2 && (a[3] == 10 || a[3] == 11))
			bit = a[3] == 10 ? 1 : 2;
		else if (which && a[0] == 127 && a[1] == 0 && a[2] == 0 && (a[3] == 2 || a[3] == 3))
			bit = a[3] == 2 ? 1 : 2;
		else {
			snprintf(why, cap, "%s: address %u.%u.%u.%u never published",
				 which ? "flip" : "static", a[0], a[1], a[2], a[3]);
			return -1;
		}
		if (got & bit) {
			snprintf(why, cap, "address %u.%u.%u.%u twice", a[0], a[1], a[2], a[3]);
			return -1;
		}
		got |= bit;
		pos += 14;
	}
	if (!which) {
		if (rcode != 0 || got != 3 || an != 2 || ns != 0) {
			snprintf(why, cap, "static: rcode %u an %u ns %u set %u", rcode, an, ns, got);
			return -1;
		}
	} else if (an > 0) {
		if (rcode != 0 || ns != 0) {
			snprintf(why, cap, "flip: rcode %u with %u answers, ns %u", rcode, an, ns);
			return -1;
		}
	} else {
		/* Withdrawn: absent (NXDOMAIN) or empty (NODATA), the SOA in
		 * authority (DESIGN §1, RFC 2308). */
		if ((rcode != 0 && rcode != 3) || ns != 1) {
			snprintf(why, cap, "flip withdrawn: rcode %u ns %u", rcode, ns);
			return -1;
		}
	}
	for (unsigned i = 0; i < ns; i++) {
		if (read_name(p, len, &pos, owner, &ol) < 0 || len - pos < 10 ||
		    p[pos] != 0 || p[pos + 1] != 6) {
			snprintf(why, cap, "authority RR %u is not a SOA", i);
			return -1;
		}
		pos += 10u + (size_t)(p[pos + 8] << 8 | p[pos + 9]);
	}
	if (pos != len) {
		snprintf(why, cap, "%zu bytes left after the last RR", len - pos);
		return -1;
	}
	*set = got;
	return 0;
}

static void load_wrong(struct load *l, const char *why)
{
	if (!atomic_flag_test_and_set(&l->wrong_logged))
		snprintf(l->first_wrong, sizeof(l->first_wrong), "%s", why);
}

static void *load_run(void *arg)
{
	struct load *l = arg;
	struct pending *pend = calloc(65536, sizeof(*pend));
	struct pollfd pfd[LOAD_SOCKETS];
	uint8_t qs[2][64], buf[4096];
	size_t qlen[2];
	uint32_t seq = 0, oldest = 0;
	int64_t t0 = sys_now_ms();
	int64_t stop_at = -1;
	uint64_t sent = 0;

	if (pend == NULL)
		return NULL;
	qlen[0] = load_query(qs[0], 0, 0);
	qlen[1] = load_query(qs[1], 0, 1);
	for (int i = 0; i < LOAD_SOCKETS; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(l->port)};

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		pfd[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0 || connect(pfd[i].fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			load_wrong(l, "load socket setup failed");
	}
	for (;;) {
		int64_t now = sys_now_ms();

		if (stop_at < 0 && atomic_load(&l->stop))
			stop_at = now;
		/* After stop, only wait for what is still in flight. */
		if (stop_at >= 0 && (oldest == seq || now - stop_at > LOAD_TIMEOUT_MS))
			break;
		while (stop_at < 0 && sent < (uint64_t)(now - t0) * (uint64_t)l->qps_per_thread / 1000) {
			uint16_t id = (uint16_t)seq;
			int which = (int)(seq & 1);
			int ph = atomic_load(&l->phase);
			struct pending *e = &pend[id];

			if (e->pending) {
				/* Older than 65536 queries: long expired. */
				atomic_fetch_add(&l->st[e->phase].lost, 1);
				e->pending = false;
			}
			qs[which][0] = (uint8_t)(id >> 8);
			qs[which][1] = (uint8_t)id;
			*e = (struct pending){.sent_ms = now, .phase = (uint8_t)ph,
					      .which = (uint8_t)which, .pending = true};
			atomic_fetch_add(&l->st[ph].sent, 1);
			(void)!send(pfd[seq % LOAD_SOCKETS].fd, qs[which], qlen[which], 0);
			seq++;
			sent++;
		}
		if (poll(pfd, LOAD_SOCKETS, 1) > 0) {
			for (int i = 0; i < LOAD_SOCKETS; i++) {
				ssize_t n;

				if (!(pfd[i].revents & POLLIN))
					continue;
				while ((n = recv(pfd[i].fd, buf, sizeof(buf), 0)) >= 0) {
					uint16_t id;
					struct pending *e;
					char why[256];
					unsigned set = 0;

					if (n < 2) {
						load_wrong(l, "a response shorter than 2 bytes");
						continue;
					}
					id = (uint16_t)(buf[0] << 8 | buf[1]);
					e = &pend[id];
					if (!e->pending) {
						atomic_fetch_add(&l->st[atomic_load(&l->phase)].late, 1);
						continue;
					}
					e->pending = false;
					if (check_answer(buf, (size_t)n, qs[e->which], qlen[e->which],
							 e->which, &set, why, sizeof(why)) < 0) {
						atomic_fetch_add(&l->st[e->phase].wrong, 1);
						load_wrong(l, why);
						continue;
					}
					atomic_fetch_add(&l->st[e->phase].answered, 1);
					if (e->which)
						atomic_fetch_or(&l->flip_sets, 1u << set);
				}
			}
		}
		/* Expire in send order. */
		now = sys_now_ms();
		while (oldest != seq) {
			struct pending *e = &pend[(uint16_t)oldest];

			if (e->pending && now - e->sent_ms < LOAD_TIMEOUT_MS)
				break;
			if (e->pending) {
				atomic_fetch_add(&l->st[e->phase].lost, 1);
				e->pending = false;
			}
			oldest++;
		}
	}
	while (oldest != seq) {
		struct pending *e = &pend[(uint16_t)oldest++];

		if (e->pending)
			atomic_fetch_add(&l->st[e->phase].lost, 1);
	}
	for (int i = 0; i < LOAD_SOCKETS; i++)
		close(pfd[i].fd);
	free(pend);
	return NULL;
}

static void load_start(struct load *l, uint16_t port)
{
	const char *env = getenv("AHD_LOAD_QPS");
	int qps = env ? atoi(env) : LOAD_QPS;

	memset(l, 0, sizeof(*l));
	atomic_flag_clear(&l->wrong_logged);
	l->port = port;
	cr_assert(qps >= 100 && qps <= 60000, "AHD_LOAD_QPS %d out of 100..60000", qps);
	l->qps_per_thread = qps / LOAD_THREADS;
	for (int i = 0; i < LOAD_THREADS; i++)
		cr_assert_eq(pthread_create(&l->threads[i], NULL, load_run, l), 0);
}

static void load_stop(struct load *l)
{
	atomic_store(&l->stop, true);
	for (int i = 0; i < LOAD_THREADS; i++)
		pthread_join(l->threads[i], NULL);
}

/* Print the table and check the bounds for the phases that ran. */
static void load_report(struct load *l, const bool *ran)
{
	unsigned long wrong = 0;

	fprintf(stderr, "fault injection at %d qps (%d threads), binary %s:\n",
		l->qps_per_thread * LOAD_THREADS, LOAD_THREADS, sys_bin());
	fprintf(stderr, "  %-28s %9s %9s %7s %6s %6s %9s\n", "phase", "sent", "answered",
		"lost", "wrong", "late", "unanswered");
	for (int p = 0; p < PH_COUNT; p++) {
		struct phase_stats *s = &l->st[p];
		unsigned long sent = atomic_load(&s->sent), lost = atomic_load(&s->lost);
		double share = sent ? (double)lost / (double)sent : 0;

		if (!ran[p])
			continue;
		wrong += atomic_load(&s->wrong);
		fprintf(stderr, "  %-28s %9lu %9lu %7lu %6lu %6lu %8.3f%%\n", phase_names[p], sent,
			atomic_load(&s->answered), lost, atomic_load(&s->wrong),
			atomic_load(&s->late), 100.0 * share);
		cr_expect_gt(sent, 0, "%s: nothing sent", phase_names[p]);
		cr_expect_lt(share, LOSS_MAX, "%s: %.3f%% unanswered (bound %.0f%%)",
			     phase_names[p], 100.0 * share, 100.0 * LOSS_MAX);
	}
	cr_expect_eq(wrong, 0, "%lu wrong answers; the first: %s", wrong, l->first_wrong);
}

/* ---- the server's processes ---- */

/* Wait until the supervisor has n workers and a prober, none of them in
 * `gone` (the pids killed). */
static bool wait_replaced(pid_t sup, size_t n, const pid_t *gone, size_t n_gone,
			  struct sys_kids *k, int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;

	do {
		bool stale = false;

		sys_find_kids(sup, k);
		for (size_t i = 0; i < n_gone; i++) {
			for (size_t j = 0; j < k->n_workers; j++)
				stale |= k->workers[j] == gone[i];
			stale |= k->prober == gone[i];
		}
		if (!stale && k->n_workers == n && k->n_probers == 1)
			return true;
		sys_sleep_ms(10);
	} while (sys_now_ms() < end);
	return false;
}

static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0;
}

static void start_server(struct sys_server *s, uint16_t health_port)
{
	static char res[512];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", res,
		"--workers", "2",
		"--user", "nobody",
		"--test-min-interval", "1",
		"--test-timeout", "1",
		NULL,
	};

	snprintf(res, sizeof(res),
		 "{\"static\": [\"192.0.2.10\", \"192.0.2.11\"],"
		 " \"flip\": {\"ips\": [\"" ADDR_A "\", \"" ADDR_B "\"], \"health_port\": %u}}",
		 (unsigned)health_port);
	cr_assert_eq(sys_server_start(s, args), 0);
	cr_assert_eq(sys_server_wait_log(s, SYS_READY_LOG, 15000), 0, "never ready");
}

static void flipper_start(struct flipper *f)
{
	memset(f, 0, sizeof(*f));
	f->port = sys_free_port();
	cr_assert_neq(f->port, 0);
	cr_assert_eq(pthread_create(&f->thread, NULL, flipper_run, f), 0);
}

static void flipper_stop(struct flipper *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
}

/* A TCP connection to 127.0.0.1:port, or -1. */
static int tcp_connect(uint16_t port, int timeout_ms)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct pollfd p;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, timeout_ms) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* One query over TCP on fd (blocking with a timeout); true if the
 * static name's exact answer came back. */
static bool tcp_query_ok(int fd, uint16_t id, int timeout_ms)
{
	uint8_t q[66], r[4096];
	size_t ql = load_query(q + 2, id, 0), got = 0, want = 0;
	int64_t end = sys_now_ms() + timeout_ms;
	char why[256];
	unsigned set;

	q[0] = 0;
	q[1] = (uint8_t)ql;
	if (send(fd, q, ql + 2, MSG_NOSIGNAL) != (ssize_t)(ql + 2))
		return false;
	while (got < 2 || got < 2 + want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)(end - sys_now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		n = recv(fd, r + got, sizeof(r) - got, 0);
		if (n <= 0)
			return false;
		got += (size_t)n;
		if (got >= 2)
			want = (size_t)(r[0] << 8 | r[1]);
		if (2 + want > sizeof(r))
			return false;
	}
	return r[2] == q[2] && r[3] == q[3] &&
	       check_answer(r + 2, want, q + 2, ql, 0, &set, why, sizeof(why)) == 0;
}

/* Does the server listen on TCP at all? */
static bool tcp_there(uint16_t port)
{
	int fd = tcp_connect(port, 1000);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void phase(struct load *l, bool *ran, enum phase p)
{
	atomic_store(&l->phase, (int)p);
	ran[p] = true;
}

Test(faults, kill_stop_and_flip_under_load, .timeout = FAULTS_TIMEOUT)
{
	struct sys_server s;
	struct flipper f;
	struct load l;
	struct sys_kids k0, k;
	bool ran[PH_COUNT] = {false};
	pid_t gone[4];
	size_t n_gone = 0;
	unsigned sets;

	flipper_start(&f);
	start_server(&s, f.port);
	cr_assert(wait_replaced(s.pid, 2, NULL, 0, &k0, 5000), "2 workers and a prober");

	load_start(&l, s.port);
	phase(&l, ran, PH_BASE);
	sys_sleep_ms(PHASE_MS);

	/* Each worker once: its socket stays open in the supervisor, so
	 * what waits there is served by the replacement. */
	for (int w = 0; w < 2; w++) {
		phase(&l, ran, w == 0 ? PH_KILL_W1 : PH_KILL_W2);
		sys_find_kids(s.pid, &k);
		cr_assert_eq(k.n_workers, 2);
		gone[n_gone++] = k.workers[0];
		cr_assert_eq(kill(k.workers[0], SIGKILL), 0);
		cr_expect(wait_replaced(s.pid, 2, gone, n_gone, &k, 5000),
			  "worker %d not replaced", (int)k.workers[0]);
		sys_sleep_ms(PHASE_MS);
	}

	phase(&l, ran, PH_KILL_PROBER);
	sys_find_kids(s.pid, &k);
	cr_assert_eq(k.n_probers, 1);
	gone[n_gone++] = k.prober;
	cr_assert_eq(kill(k.prober, SIGKILL), 0);
	cr_expect(wait_replaced(s.pid, 2, gone, n_gone, &k, 5000), "prober not replaced");
	sys_sleep_ms(PHASE_MS);

	/* Stopped for longer than the check interval (1 s): the image
	 * stays as it was, answers go on. */
	phase(&l, ran, PH_STOP_PROBER);
	sys_find_kids(s.pid, &k);
	cr_assert_eq(k.n_probers, 1);
	cr_assert_eq(kill(k.prober, SIGSTOP), 0);
	sys_sleep_ms(PHASE_MS < 2500 ? 2500 : PHASE_MS);
	cr_assert_eq(kill(k.prober, SIGCONT), 0);
	sys_sleep_ms(1000);

	load_stop(&l);
	flipper_stop(&f);
	load_report(&l, ran);

	sets = atomic_load(&l.flip_sets);
	fprintf(stderr, "  flipped name: %lu backend flips, A sets seen: %s%s%s%s\n",
		atomic_load(&f.flips), sets & 1 ? "{} " : "", sets & 2 ? "{a} " : "",
		sets & 4 ? "{b} " : "", sets & 8 ? "{a,b}" : "");
	/* The flips reached the answers: not one frozen state. */
	cr_expect_geq(__builtin_popcount(sets), 2, "flip sets seen: %#x", sets);
	cr_expect(alive(s.pid), "the supervisor died");
	/* Both original workers and the original prober were replaced. */
	cr_expect(wait_replaced(s.pid, 2, gone, n_gone, &k, 2000),
		  "after the faults: %zu workers, %zu probers, or a killed pid left",
		  k.n_workers, k.n_probers);
	for (size_t i = 0; i < k0.n_workers; i++) {
		for (size_t j = 0; j < k.n_workers; j++)
			cr_expect_neq(k.workers[j], k0.workers[i], "worker %d never replaced",
				      (int)k0.workers[i]);
	}
	cr_expect_neq(k.prober, k0.prober, "prober never replaced");
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(faults, tcp_exhaustion_under_load, .timeout = FAULTS_TIMEOUT)
{
	struct sys_server s;
	struct flipper f;
	struct load l;
	bool ran[PH_COUNT] = {false};
	struct rlimit rl;
	int *fds;
	int n_open = 0, fresh;
	int64_t end;

	flipper_start(&f);
	start_server(&s, f.port);
	if (!tcp_there(s.port)) {
		flipper_stop(&f);
		sys_server_stop(&s);
		cr_skip_test("TCP not there yet");
	}
	/* Room for the connections in this process. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < (rlim_t)TCP_CONNS + 256) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)TCP_CONNS + 256 ? rl.rlim_max
								    : (rlim_t)TCP_CONNS + 256;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	fds = calloc(TCP_CONNS, sizeof(*fds));
	cr_assert_not_null(fds);

	load_start(&l, s.port);
	phase(&l, ran, PH_BASE);
	sys_sleep_ms(PHASE_MS / 2);
	phase(&l, ran, PH_TCP);
	/* Open idle connections until the server's cap refuses (or resets)
	 * them or we hold TCP_CONNS; UDP must not notice. */
	for (end = sys_now_ms() + PHASE_MS; n_open < TCP_CONNS && sys_now_ms() < end;) {
		int fd = tcp_connect(s.port, 200);

		if (fd < 0)
			break;
		fds[n_open++] = fd;
	}
	sys_sleep_ms(PHASE_MS);
	load_stop(&l);
	fprintf(stderr, "  held %d idle TCP connections\n", n_open);
	load_report(&l, ran);
	for (int i = 0; i < n_open; i++)
		close(fds[i]);
	free(fds);
	/* Once they are gone, a new connection is served again. */
	end = sys_now_ms() + 5000;
	do {
		fresh = tcp_connect(s.port, 500);
		if (fresh >= 0) {
			bool ok = tcp_query_ok(fresh, 0x4242, 1000);

			close(fresh);
			if (ok)
				break;
			fresh = -1;
		}
		sys_sleep_ms(50);
	} while (sys_now_ms() < end);
	cr_expect_geq(fresh, 0, "TCP not served again after the connections closed");
	flipper_stop(&f);
	cr_expect(alive(s.pid), "the supervisor died");
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* The checker itself: a correct answer passes, each kind of wrong one is
 * caught (so a clean run above means something). */
Test(faults, checker_catches_wrong_answers)
{
	uint8_t q[64], r[128];
	size_t ql = load_query(q, 0x1234, 0), rl;
	char why[256];
	unsigned set;
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2};

	memcpy(r, q, ql);
	r[2] = 0x85; /* QR AA RD */
	r[7] = 2;
	rl = ql;
	memcpy(r + rl, rr, sizeof(rr));
	r[rl + sizeof(rr)] = 10;
	rl += sizeof(rr) + 1;
	memcpy(r + rl, rr, sizeof(rr));
	r[rl + sizeof(rr)] = 11;
	rl += sizeof(rr) + 1;
	cr_assert_eq(check_answer(r, rl, q, ql, 0, &set, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(set, 3);

	struct { size_t off; uint8_t val; const char *what; } bad[] = {
		{rl - 1, 12, "an address never published"},
		{rl - 1, 10, "the same address twice"},
		{2, 0x87, "TC set"},
		{3, 0x02, "SERVFAIL"},
		{3, 0x80, "RA set"},
		{13, 'T', "the question's case changed"},
		{7, 1, "one address missing (ANCOUNT 1)"},
		{ql + 3, 28, "an AAAA type"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t m[128];

		memcpy(m, r, rl);
		m[bad[i].off] = bad[i].val;
		cr_expect_eq(check_answer(m, rl, q, ql, 0, &set, why, sizeof(why)), -1,
			     "not caught: %s", bad[i].what);
	}
	/* The static name's answer is not a valid answer for the flipped one. */
	cr_expect_eq(check_answer(r, rl, q, ql, 1, &set, why, sizeof(why)), -1);
}
