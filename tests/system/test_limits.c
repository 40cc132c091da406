/*
 * Resource limits (reliability issue, item 5): a worker's memory stays
 * flat over many queries (VmRSS from /proc/<pid>/status, sampled after a
 * warm-up and at the end), and many TCP connections leave no file
 * descriptor behind (/proc/<worker>/fd counted before and after).
 *
 * tests/soak/soak_limits.c includes this file with AHD_SOAK defined:
 * 10 million queries, 100,000 connections.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sysutil.h"

#ifdef AHD_SOAK
#define QUERIES 10000000L
#define CONNS 100000
#define LIMITS_TIMEOUT 1800
#else
#define QUERIES 200000L
#define CONNS 2000
#define LIMITS_TIMEOUT 60
#endif
#define WARMUP 20000L
/* Growth allowed after the warm-up, in kB. */
#define RSS_GROWTH_MAX_KB 1024

#define ZONE "limits.test"
#define SOCKETS 8
#define WINDOW 32 /* queries in flight per socket */

static const char *const limits_args[] = {
	"--hosted-zone", ZONE,
	"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
	"--zone-resolutions",
	"{\"www\": [\"192.0.2.1\", \"2001:db8::1\"], \"a.b.c\": [\"192.0.2.2\"]}",
	"--workers", "2",
	"--user", "nobody",
	NULL,
};

#define U16(x) (uint8_t)((x) >> 8), (uint8_t)((x) & 0xff)
#define NAME_WWW 3, 'w', 'w', 'w', 6, 'l', 'i', 'm', 'i', 't', 's', 4, 't', 'e', 's', 't', 0
#define NAME_ABSENT 4, 'n', 'o', 'n', 'e', 6, 'l', 'i', 'm', 'i', 't', 's', 4, 't', 'e', 's', \
		    't', 0
#define NAME_ENT 1, 'b', 1, 'c', 6, 'l', 'i', 'm', 'i', 't', 's', 4, 't', 'e', 's', 't', 0
#define HDR(qd, ar) 0, 0, 0x01, 0, U16(qd), 0, 0, 0, 0, U16(ar)
#define PKT(...) {.pkt = (const uint8_t[]){__VA_ARGS__}, \
		  .len = sizeof((const uint8_t[]){__VA_ARGS__})}

/* Every path of the answer code: positive, NODATA, NXDOMAIN, empty
 * non-terminal, ANY, REFUSED, FORMERR, NOTIMP, EDNS, BADVERS. */
static const struct {
	const uint8_t *pkt;
	size_t len;
} mix[] = {
	PKT(HDR(1, 0), NAME_WWW, U16(1), U16(1)),
	PKT(HDR(1, 0), NAME_WWW, U16(28), U16(1)),
	PKT(HDR(1, 0), NAME_WWW, U16(16), U16(1)),
	PKT(HDR(1, 0), NAME_ABSENT, U16(1), U16(1)),
	PKT(HDR(1, 0), NAME_ENT, U16(1), U16(1)),
	PKT(HDR(1, 0), NAME_WWW, U16(255), U16(1)),
	PKT(HDR(1, 0), 6, 'l', 'i', 'm', 'i', 't', 's', 4, 't', 'e', 's', 't', 0, U16(6), U16(1)),
	PKT(HDR(1, 0), 6, 'l', 'i', 'm', 'i', 't', 's', 4, 't', 'e', 's', 't', 0, U16(2), U16(1)),
	PKT(HDR(1, 0), 3, 'o', 'r', 'g', 0, U16(1), U16(1)),
	PKT(HDR(1, 0), NAME_WWW, U16(1), U16(3)),
	PKT(HDR(2, 0), NAME_WWW, U16(1), U16(1)),
	PKT(HDR(1, 0), 0xc0, 0x0c, U16(1), U16(1)),
	PKT(0, 0, 0x29, 0, U16(1), 0, 0, 0, 0, 0, 0, NAME_WWW, U16(1), U16(1)),
	PKT(HDR(1, 1), NAME_WWW, U16(1), U16(1), 0, U16(41), U16(1232), 0, 0, U16(0x8000),
	    U16(0)),
	PKT(HDR(1, 1), NAME_WWW, U16(1), U16(1), 0, U16(41), U16(1232), 0, 1, U16(0), U16(0)),
};

/* VmRSS of pid in kB, or -1. */
static long rss_kb(pid_t pid)
{
	char buf[64];

	if (sys_proc_status(pid, "VmRSS", buf, sizeof(buf)) < 0)
		return -1;
	return atol(buf);
}

static size_t workers(pid_t sup, pid_t *out, size_t cap)
{
	pid_t all[16];
	size_t n = sys_children(sup, all, 16), w = 0;

	for (size_t i = 0; i < n && i < 16; i++) {
		char cmd[256];

		if (sys_cmdline(all[i], cmd, sizeof(cmd)) == 0 && strstr(cmd, "worker") &&
		    w < cap)
			out[w++] = all[i];
	}
	return w;
}

/*
 * Send `count` queries from the mix over SOCKETS sockets with WINDOW in
 * flight each; returns how many were answered. A socket silent for
 * 200 ms gives up on what it has in flight.
 */
static long blast(uint16_t port, long count)
{
	struct pollfd pfd[SOCKETS];
	int inflight[SOCKETS] = {0};
	int64_t last[SOCKETS];
	long sent = 0, answered = 0;
	uint8_t q[512], buf[4096];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < SOCKETS; i++) {
		pfd[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		pfd[i].events = POLLIN;
		cr_assert_geq(pfd[i].fd, 0);
		cr_assert_eq(connect(pfd[i].fd, (struct sockaddr *)&a, sizeof(a)), 0);
		last[i] = sys_now_ms();
	}
	for (;;) {
		bool busy = false;

		for (int i = 0; i < SOCKETS; i++) {
			while (inflight[i] < WINDOW && sent < count) {
				size_t m = (size_t)sent % (sizeof(mix) / sizeof(mix[0]));

				memcpy(q, mix[m].pkt, mix[m].len);
				q[0] = (uint8_t)(sent >> 8);
				q[1] = (uint8_t)sent;
				if (send(pfd[i].fd, q, mix[m].len, 0) < 0)
					break;
				inflight[i]++;
				sent++;
			}
			busy |= inflight[i] > 0;
		}
		if (!busy)
			break;
		poll(pfd, SOCKETS, 50);
		for (int i = 0; i < SOCKETS; i++) {
			int64_t now = sys_now_ms();

			if (pfd[i].revents & POLLIN) {
				while (recv(pfd[i].fd, buf, sizeof(buf), 0) >= 0) {
					if (inflight[i] > 0)
						inflight[i]--;
					answered++;
				}
				last[i] = now;
			} else if (inflight[i] > 0 && now - last[i] > 200) {
				inflight[i] = 0;
				last[i] = now;
			}
		}
	}
	for (int i = 0; i < SOCKETS; i++)
		close(pfd[i].fd);
	return answered;
}

Test(limits, worker_rss_flat_over_many_queries, .timeout = LIMITS_TIMEOUT)
{
	struct sys_server s;
	pid_t w[4];
	long before[4], after[4], answered;
	size_t n;
	int64_t t0;

	cr_assert_eq(sys_server_start(&s, limits_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 15000), 0, "never ready");
	n = workers(s.pid, w, 4);
	cr_assert_eq(n, 2, "%zu workers", n);

	/* Warm-up: every code path touched, every page of the image read. */
	cr_assert_geq(blast(s.port, WARMUP), WARMUP * 99 / 100);
	for (size_t i = 0; i < n; i++) {
		before[i] = rss_kb(w[i]);
		cr_assert_gt(before[i], 0);
	}
	t0 = sys_now_ms();
	answered = blast(s.port, QUERIES);
	for (size_t i = 0; i < n; i++)
		after[i] = rss_kb(w[i]);
	fprintf(stderr, "limits: %ld queries (%ld answered) in %lld ms against %s\n", QUERIES,
		answered, (long long)(sys_now_ms() - t0), sys_bin());
	cr_expect_geq(answered, QUERIES * 99 / 100, "only %ld of %ld answered", answered,
		      QUERIES);
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "  worker %d: VmRSS %ld kB -> %ld kB (%+ld kB)\n", (int)w[i],
			before[i], after[i], after[i] - before[i]);
		/* Still the same process: a restart would hide growth. */
		cr_expect_gt(after[i], 0, "worker %d is gone", (int)w[i]);
		cr_expect_lt(after[i] - before[i], RSS_GROWTH_MAX_KB,
			     "worker %d grew %ld kB over %ld queries", (int)w[i],
			     after[i] - before[i], QUERIES);
	}
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* ---- TCP ---- */

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Close with an RST instead of a FIN: no TIME_WAIT left on our side, so
 * 100,000 connections do not run out of ephemeral ports. */
static void close_rst(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Read one length-prefixed message; its length or -1. */
static int tcp_read_msg(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
	size_t got = 0, want = 2;
	int64_t end = sys_now_ms() + timeout_ms;

	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)(end - sys_now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) != 1)
			return -1;
		n = recv(fd, buf + got, cap - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got >= 2)
			want = 2 + (size_t)(buf[0] << 8 | buf[1]);
		if (want > cap)
			return -1;
	}
	return (int)(want - 2);
}

/* A query for www A over fd; true if answered NOERROR with its ID. */
static bool tcp_query(int fd, uint16_t id)
{
	uint8_t q[2 + 64], r[4096];
	size_t ql = mix[0].len;
	int n;

	q[0] = 0;
	q[1] = (uint8_t)ql;
	memcpy(q + 2, mix[0].pkt, ql);
	q[2] = (uint8_t)(id >> 8);
	q[3] = (uint8_t)id;
	if (send(fd, q, ql + 2, MSG_NOSIGNAL) != (ssize_t)(ql + 2))
		return false;
	n = tcp_read_msg(fd, r, sizeof(r), 2000);
	return n >= 12 && r[2] == q[2] && r[3] == q[3] && (r[5] & 0x0f) == 0 && r[4] & 0x80;
}

Test(limits, no_fd_leak_after_many_tcp_connections, .timeout = LIMITS_TIMEOUT)
{
	struct sys_server s;
	pid_t w[4];
	int before[4], after[4] = {0};
	size_t n;
	long served = 0, failed = 0;
	int fd;
	int64_t end, t0;

	cr_assert_eq(sys_server_start(&s, limits_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 15000), 0, "never ready");
	fd = tcp_connect(s.port);
	if (fd < 0) {
		sys_server_stop(&s);
		cr_skip_test("TCP not there yet");
	}
	close(fd);
	n = workers(s.pid, w, 4);
	cr_assert_eq(n, 2, "%zu workers", n);
	/* Let the probe connection above be closed on the server's side. */
	sys_sleep_ms(200);
	for (size_t i = 0; i < n; i++) {
		before[i] = count_fds(w[i]);
		cr_assert_gt(before[i], 0);
	}

	/* Every way a client can end a connection, in turn. */
	t0 = sys_now_ms();
	for (long i = 0; i < CONNS; i++) {
		static const uint8_t half[] = {0};
		static const uint8_t runt[] = {0, 5, 1, 2, 3, 4, 5};
		bool graceful = i % 10 == 0;

		fd = tcp_connect(s.port);
		if (fd < 0) {
			failed++;
			continue;
		}
		switch (i % 5) {
		case 0: /* two queries, pipelined, then close */
		case 1:
			if (tcp_query(fd, (uint16_t)i) && tcp_query(fd, (uint16_t)(i + 1)))
				served++;
			else
				failed++;
			break;
		case 2: /* connect and go */
			break;
		case 3: /* half a length prefix */
			(void)!send(fd, half, sizeof(half), MSG_NOSIGNAL);
			break;
		case 4: /* a frame shorter than a header */
			(void)!send(fd, runt, sizeof(runt), MSG_NOSIGNAL);
			break;
		}
		if (graceful)
			close(fd);
		else
			close_rst(fd);
	}
	fprintf(stderr, "limits: %d TCP connections in %lld ms, %ld served, %ld failed (%s)\n",
		CONNS, (long long)(sys_now_ms() - t0), served, failed, sys_bin());
	cr_expect_eq(failed, 0, "%ld connections failed", failed);

	/* The server closes its side at its own pace: allow it 5 s. */
	end = sys_now_ms() + 5000;
	for (;;) {
		bool same = true;

		for (size_t i = 0; i < n; i++) {
			after[i] = count_fds(w[i]);
			same &= after[i] == before[i];
		}
		if (same || sys_now_ms() > end)
			break;
		sys_sleep_ms(50);
	}
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "  worker %d: %d fds -> %d\n", (int)w[i], before[i], after[i]);
		cr_expect_eq(after[i], before[i], "worker %d: %d fds before, %d after",
			     (int)w[i], before[i], after[i]);
	}
	fd = tcp_connect(s.port);
	cr_expect(fd >= 0 && tcp_query(fd, 0x7777), "TCP not served after the connections");
	if (fd >= 0)
		close(fd);
	cr_expect_eq(sys_server_stop(&s), 0);
}
