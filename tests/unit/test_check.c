/*
 * Probes against real loopback listeners, in-process. No address outside
 * 127.0.0.0/8: timeouts come from a listener whose accept queue is full
 * (the kernel drops the SYN) or that never answers HTTP.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "check.h"
#include "proc.h"

static int listen_on(int backlog, uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A port with nothing listening: bound then closed. */
static uint16_t closed_port(void)
{
	uint16_t port;
	int fd = listen_on(1, &port);

	close(fd);
	return port;
}

/* A listener whose accept queue is full: further SYNs are dropped, so a
 * connect to it hangs until the probe's deadline. */
static int full_listener(uint16_t *port, int *fillers, size_t n_fillers)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = listen_on(0, port);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	for (size_t i = 0; i < n_fillers; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert_geq(fillers[i], 0);
		(void)connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(50000);
	return fd;
}

static void target_v4(struct check_target *t, uint16_t port, enum config_check kind,
		      const char *path)
{
	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	t->addr[0] = 127;
	t->addr[3] = 1;
	t->port = port;
	t->kind = kind;
	t->http_path = path;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A tiny HTTP server thread: answers every connection with one status. */
struct http_srv {
	int fd;
	int status;
	int answered;
	char request[1024];
};

static void *http_srv_run(void *arg)
{
	struct http_srv *s = arg;

	for (;;) {
		char buf[1024], resp[128];
		size_t got = 0;
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		while (got < sizeof(buf) - 1) {
			ssize_t k = recv(c, buf + got, sizeof(buf) - 1 - got, 0);

			if (k <= 0)
				break;
			got += (size_t)k;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		buf[got] = '\0';
		memcpy(s->request, buf, got + 1);
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %d Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			 s->status);
		(void)!send(c, resp, strlen(resp), MSG_NOSIGNAL);
		s->answered++;
		close(c);
	}
}

static void http_srv_start(struct http_srv *s, pthread_t *th, int status, uint16_t *port)
{
	memset(s, 0, sizeof(*s));
	s->status = status;
	s->fd = listen_on(64, port);
	cr_assert_eq(pthread_create(th, NULL, http_srv_run, s), 0);
}

static void http_check(int status, bool want_pass, const char *want_reason)
{
	struct http_srv srv;
	struct check_target t;
	pthread_t th;
	uint16_t port;

	http_srv_start(&srv, &th, status, &port);
	target_v4(&t, port, CONFIG_CHECK_HTTP, "/healthz");
	cr_assert_eq(check_run(&t, 1, 2000, 0, NULL, NULL, NULL), 0);
	cr_assert_eq(t.pass, want_pass, "status %d: pass %d, reason %s", status, t.pass, t.reason);
	cr_assert_str_eq(t.reason, want_reason);
	cr_assert_eq(t.error_class, want_pass ? HEALTH_ERR_NONE : HEALTH_ERR_HTTP_STATUS);
	cr_assert_lt(t.latency_us, 1000000u);
	cr_assert(strncmp(srv.request, "GET /healthz HTTP/1.1\r\n", 23) == 0, "request: %s",
		  srv.request);
	shutdown(srv.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(srv.fd);
}

Test(check, tcp_connect_passes)
{
	uint16_t port;
	int fd = listen_on(16, &port);
	struct check_target t;

	target_v4(&t, port, CONFIG_CHECK_TCP, NULL);
	cr_assert_eq(check_run(&t, 1, 2000, 0, NULL, NULL, NULL), 0);
	cr_assert(t.pass, "reason %s", t.reason);
	cr_assert_str_eq(t.reason, "connected");
	cr_assert_eq(t.error_class, HEALTH_ERR_NONE);
	close(fd);
}

Test(check, tcp_ipv6_loopback_passes)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(s6);
	struct check_target t;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&s6, sizeof(s6)) != 0)
		cr_skip_test("no IPv6 loopback here");
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&s6, &sl), 0);
	memset(&t, 0, sizeof(t));
	t.family = AF_INET6;
	t.addr[15] = 1;
	t.port = ntohs(s6.sin6_port);
	t.kind = CONFIG_CHECK_TCP;
	cr_assert_eq(check_run(&t, 1, 2000, 0, NULL, NULL, NULL), 0);
	cr_assert(t.pass, "reason %s", t.reason);
	close(fd);
}

Test(check, refused_fails_fast)
{
	struct check_target t;
	double t0;

	target_v4(&t, closed_port(), CONFIG_CHECK_TCP, NULL);
	t0 = now_s();
	cr_assert_eq(check_run(&t, 1, 3000, 0, NULL, NULL, NULL), 0);
	cr_assert_lt(now_s() - t0, 0.5, "a refused connect must not wait for the timeout");
	cr_assert_not(t.pass);
	cr_assert_str_eq(t.reason, "refused");
	cr_assert_eq(t.error_class, HEALTH_ERR_REFUSED);
}

Test(check, full_accept_queue_times_out)
{
	uint16_t port;
	int fillers[3];
	int fd = full_listener(&port, fillers, 3);
	struct check_target t;
	double t0, dt;

	target_v4(&t, port, CONFIG_CHECK_TCP, NULL);
	t0 = now_s();
	cr_assert_eq(check_run(&t, 1, 500, 0, NULL, NULL, NULL), 0);
	dt = now_s() - t0;
	cr_assert_not(t.pass);
	cr_assert_str_eq(t.reason, "timeout");
	cr_assert_eq(t.error_class, HEALTH_ERR_TIMEOUT);
	cr_assert_geq(dt, 0.49);
	cr_assert_lt(dt, 1.0);
	cr_assert_geq(t.latency_us, 490000u);
	close(fd);
}

Test(check, http_200_passes) { http_check(200, true, "HTTP 200"); }
Test(check, http_302_passes) { http_check(302, true, "HTTP 302"); }
Test(check, http_503_fails) { http_check(503, false, "HTTP status 503"); }
Test(check, http_404_fails) { http_check(404, false, "HTTP status 404"); }

Test(check, http_request_is_well_formed)
{
	struct http_srv srv;
	struct check_target t;
	pthread_t th;
	uint16_t port;

	http_srv_start(&srv, &th, 200, &port);
	target_v4(&t, port, CONFIG_CHECK_HTTP, NULL);
	cr_assert_eq(check_run(&t, 1, 2000, 0, NULL, NULL, NULL), 0);
	cr_assert(t.pass);
	cr_assert_str_eq(srv.request, "GET / HTTP/1.1\r\n"
				      "Host: 127.0.0.1\r\n"
				      "User-Agent: a-healthy-dns/" AHD_VERSION "\r\n"
				      "Connection: close\r\n\r\n");
	shutdown(srv.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(srv.fd);
}

Test(check, http_never_answering_times_out)
{
	uint16_t port;
	/* The kernel completes the handshake; nobody ever reads or answers. */
	int fd = listen_on(16, &port);
	struct check_target t;

	target_v4(&t, port, CONFIG_CHECK_HTTP, "/");
	cr_assert_eq(check_run(&t, 1, 300, 0, NULL, NULL, NULL), 0);
	cr_assert_not(t.pass);
	cr_assert_str_eq(t.reason, "timeout");
	cr_assert_eq(t.error_class, HEALTH_ERR_TIMEOUT);
	close(fd);
}

static void count_tick(void *arg)
{
	(*(unsigned *)arg)++;
}

/* The prober's heartbeat rides on the tick: a round waiting on a slow
 * target must still wake every CHECK_TICK_MS, not once at its deadline. */
Test(check, tick_runs_while_a_round_waits)
{
	uint16_t port;
	int fd = listen_on(16, &port);
	struct check_target t;
	unsigned ticks = 0;

	target_v4(&t, port, CONFIG_CHECK_HTTP, "/");
	cr_assert_eq(check_run(&t, 1, 3 * CHECK_TICK_MS + 500, 0, NULL, count_tick, &ticks), 0);
	cr_assert_str_eq(t.reason, "timeout");
	/* One at the start, then one per CHECK_TICK_MS of the wait. */
	cr_assert_geq(ticks, 4u, "ticks: %u", ticks);
	close(fd);
}

Test(check, http_refused)
{
	struct check_target t;

	target_v4(&t, closed_port(), CONFIG_CHECK_HTTP, "/");
	cr_assert_eq(check_run(&t, 1, 1000, 0, NULL, NULL, NULL), 0);
	cr_assert_not(t.pass);
	cr_assert_str_eq(t.reason, "refused");
	cr_assert_eq(t.error_class, HEALTH_ERR_REFUSED);
}

Test(check, thousand_targets_take_about_one_timeout)
{
	enum { N = 1000 };
	static struct check_target t[N];
	uint16_t full_port, open_port, dead_port = closed_port();
	int fillers[3];
	int full = full_listener(&full_port, fillers, 3);
	int open_fd = listen_on(4096, &open_port);
	size_t passed = 0, timeouts = 0, refused = 0;
	double t0, dt;

	cr_assert_gt(proc_raise_nofile(UINT64_MAX), (uint64_t)N + 100);
	for (size_t i = 0; i < N; i++) {
		uint16_t p = i % 3 == 0 ? full_port : i % 3 == 1 ? open_port : dead_port;

		target_v4(&t[i], p, CONFIG_CHECK_TCP, NULL);
	}
	t0 = now_s();
	cr_assert_eq(check_run(t, N, 1000, 0, NULL, NULL, NULL), 0);
	dt = now_s() - t0;
	for (size_t i = 0; i < N; i++) {
		passed += t[i].pass;
		timeouts += strcmp(t[i].reason, "timeout") == 0;
		refused += strcmp(t[i].reason, "refused") == 0;
	}
	cr_assert_eq(passed, 333);
	cr_assert_eq(timeouts, 334);
	cr_assert_eq(refused, 333);
	cr_assert_geq(dt, 0.99);
	cr_assert_lt(dt, 1.8, "1000 targets took %.2f s, want about one 1 s timeout", dt);
	close(full);
	close(open_fd);
}

Test(check, fd_budget_runs_in_waves)
{
	enum { N = 30 };
	struct check_target t[N];
	uint16_t full_port;
	int fillers[3];
	int full = full_listener(&full_port, fillers, 3);
	double t0, dt;

	for (size_t i = 0; i < N; i++)
		target_v4(&t[i], full_port, CONFIG_CHECK_TCP, NULL);
	t0 = now_s();
	/* 10 at a time, 200 ms each: three waves. */
	cr_assert_eq(check_run(t, N, 200, 10, NULL, NULL, NULL), 0);
	dt = now_s() - t0;
	for (size_t i = 0; i < N; i++)
		cr_assert_str_eq(t[i].reason, "timeout");
	cr_assert_geq(dt, 0.59);
	cr_assert_lt(dt, 1.0);
	close(full);
}

Test(check, many_passing_targets_with_small_budget)
{
	enum { N = 200 };
	static struct check_target t[N];
	uint16_t port;
	int fd = listen_on(4096, &port);

	for (size_t i = 0; i < N; i++)
		target_v4(&t[i], port, CONFIG_CHECK_TCP, NULL);
	cr_assert_eq(check_run(t, N, 1000, 7, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < N; i++)
		cr_assert(t[i].pass, "target %zu: %s", i, t[i].reason);
	close(fd);
}

Test(check, stop_flag_abandons_round)
{
	struct check_target t[2];
	uint16_t port;
	int fillers[3];
	int fd = full_listener(&port, fillers, 3);
	volatile sig_atomic_t stop = 1;
	double t0 = now_s();

	target_v4(&t[0], port, CONFIG_CHECK_TCP, NULL);
	target_v4(&t[1], port, CONFIG_CHECK_TCP, NULL);
	cr_assert_eq(check_run(t, 2, 5000, 0, &stop, NULL, NULL), 1);
	cr_assert_lt(now_s() - t0, 0.5);
	cr_assert_not(t[0].pass);
	cr_assert_str_eq(t[0].reason, "stopped");
	cr_assert_str_eq(t[1].reason, "stopped");
	close(fd);
}

Test(check, empty_round)
{
	cr_assert_eq(check_run(NULL, 0, 1000, 0, NULL, NULL, NULL), 0);
}

/* Where a check's timeout counts from. T = 2 s, round at R = 1000 s. */
Test(check, deadline_of_the_opening_burst_counts_from_the_round)
{
	const int64_t R = 1000000000000, T = 2000000000, ms = 1000000;

	/* Sent with the round, or a little later in the same burst: the
	 * round's start (later rounds with their slow targets first, and
	 * the first round alike, end one timeout after they began). */
	cr_assert_eq(check_deadline_ns(R, R, T, true), R + T);
	cr_assert_eq(check_deadline_ns(R, R + 150 * ms, T, true), R + T);
	cr_assert_eq(check_deadline_ns(R, R + 200 * ms, T, true), R + T);
	/* A burst longer than a tenth of the timeout never leaves a check
	 * less than nine tenths of it. */
	cr_assert_eq(check_deadline_ns(R, R + 500 * ms, T, true), R + 500 * ms + 1800 * ms);
	/* Waited for a file descriptor: its own connect. */
	cr_assert_eq(check_deadline_ns(R, R + 100 * ms, T, false), R + 100 * ms + T);
	cr_assert_eq(check_deadline_ns(R, R + 3000 * ms, T, false), R + 5000 * ms);
	/* check_run relies on deadlines growing with the start. */
	for (int64_t s = 0; s < 3000; s += 7) {
		cr_assert_leq(check_deadline_ns(R, R + s * ms, T, true),
			      check_deadline_ns(R, R + (s + 7) * ms, T, true));
		cr_assert_leq(check_deadline_ns(R, R + s * ms, T, true),
			      check_deadline_ns(R, R + (s + 7) * ms, T, false));
	}
}

/* check_run uses that rule: of two timeouts, one sent first and one sent
 * after thousands of refused connects in the same opening burst, both
 * give up at the round's deadline, so the later one was waited for less
 * (by the length of the burst, which is far longer than the time between
 * the two give-ups) and still at least nine tenths of the timeout. */
Test(check, late_timeout_in_the_opening_burst_ends_with_the_round)
{
	enum { N = 6002 };
	static struct check_target t[N];
	uint16_t full_port, dead_port = closed_port();
	int fillers[3];
	int full = full_listener(&full_port, fillers, 3);

	if (proc_raise_nofile(UINT64_MAX) < (uint64_t)N + 100)
		cr_skip_test("RLIMIT_NOFILE too low for one opening burst of %d", N);
	for (size_t i = 0; i < N; i++)
		target_v4(&t[i], i == 0 || i == N - 1 ? full_port : dead_port, CONFIG_CHECK_TCP,
			  NULL);
	cr_assert_eq(check_run(t, N, 1000, 0, NULL, NULL, NULL), 0);
	cr_assert_str_eq(t[0].reason, "timeout");
	cr_assert_str_eq(t[N - 1].reason, "timeout");
	cr_assert_str_eq(t[1].reason, "refused");
	cr_assert_geq(t[0].latency_us, 1000000u);
	cr_assert_lt(t[N - 1].latency_us, t[0].latency_us, "first %u us, last %u us",
		     t[0].latency_us, t[N - 1].latency_us);
	/* Counted from its own connect it would have had the whole second. */
	cr_assert_lt(t[N - 1].latency_us, 1000000u);
	cr_assert_geq(t[N - 1].latency_us, 900000u);
	close(full);
}

Test(check, slow_first_moves_slow_targets_to_the_front)
{
	static const uint32_t lat[8] = { 5, 2000000, 7, 1999999, 1000000, 3, 2000000, 0 };
	struct check_target t[8];
	size_t seen[8] = { 0 };

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < 8; i++) {
		t[i].latency_us = lat[i];
		t[i].user = i;
	}
	cr_assert_eq(check_slow_first(t, 8, 1000000), 4);
	for (size_t i = 0; i < 8; i++) {
		cr_assert_lt(t[i].user, 8);
		seen[t[i].user]++;
		cr_assert_eq(t[i].latency_us, lat[t[i].user], "target %zu lost its result", i);
		if (i < 4)
			cr_assert_geq(t[i].latency_us, 1000000, "slot %zu", i);
		else
			cr_assert_lt(t[i].latency_us, 1000000, "slot %zu", i);
	}
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(seen[i], 1, "target %zu appears %zu times", i, seen[i]);
	cr_assert_eq(check_slow_first(t, 8, 4000000), 0, "none that slow");
	cr_assert_eq(check_slow_first(t, 8, 0), 8, "all at least 0");
	cr_assert_eq(check_slow_first(NULL, 0, 1), 0);
}

Test(check, slow_first_after_a_round_puts_the_timeout_first)
{
	struct check_target t[4];
	uint16_t up, full;
	int lfd = listen_on(16, &up), fillers[1], ffd = full_listener(&full, fillers, 1);

	target_v4(&t[0], up, CONFIG_CHECK_TCP, NULL);
	target_v4(&t[1], up, CONFIG_CHECK_TCP, NULL);
	target_v4(&t[2], full, CONFIG_CHECK_TCP, NULL);
	target_v4(&t[3], closed_port(), CONFIG_CHECK_TCP, NULL);
	for (size_t i = 0; i < 4; i++)
		t[i].user = i;
	cr_assert_eq(check_run(t, 4, 300, 0, NULL, NULL, NULL), 0);
	cr_assert_str_eq(t[2].reason, "timeout");
	cr_assert_eq(check_slow_first(t, 4, 150000), 1);
	cr_assert_eq(t[0].user, 2, "the timed-out target starts first next round");
	cr_assert_str_eq(t[0].reason, "timeout");
	close(lfd);
	close(ffd);
	close(fillers[0]);
}

Test(check_http, status_line_parser)
{
	int st = 0;

	cr_assert_eq(check_http_status("HTTP/1.1 200 OK\r\n", 17, &st), 1);
	cr_assert_eq(st, 200);
	cr_assert_eq(check_http_status("HTTP/1.0 503 Service Unavailable\r\n", 34, &st), 1);
	cr_assert_eq(st, 503);
	cr_assert_eq(check_http_status("HTTP/1.1 204\r\n", 14, &st), 1);
	cr_assert_eq(st, 204);
	cr_assert_eq(check_http_status("HTTP/1.1 20", 11, &st), 0, "incomplete");
	cr_assert_eq(check_http_status("HTT", 3, &st), 0, "incomplete prefix");
	cr_assert_eq(check_http_status("", 0, &st), 0);
	cr_assert_eq(check_http_status("SSH-2.0-OpenSSH\r\n", 17, &st), -1);
	cr_assert_eq(check_http_status("HTTP/1.1 2x0 OK\r\n", 17, &st), -1);
	cr_assert_eq(check_http_status("HTTP/1.1 099 OK\r\n", 17, &st), -1);
	cr_assert_eq(check_http_status("HTTP/1.1 2000 OK\r\n", 18, &st), -1);
	cr_assert_eq(check_http_status("HTTP/2 200 OK\r\n", 15, &st), -1);
}

Test(check_http, verdict)
{
	char r[CHECK_REASON_MAX];

	cr_assert(check_http_verdict(200, NULL, 0, r, sizeof(r)));
	cr_assert_str_eq(r, "HTTP 200");
	cr_assert(check_http_verdict(399, NULL, 0, r, sizeof(r)));
	cr_assert_not(check_http_verdict(199, NULL, 0, r, sizeof(r)));
	cr_assert_not(check_http_verdict(400, NULL, 0, r, sizeof(r)));
	cr_assert_not(check_http_verdict(503, NULL, 0, r, sizeof(r)));
	cr_assert_str_eq(r, "HTTP status 503");
}

/* "http_status": [200, 204, "300-302"]: only those pass. */
Test(check_http, verdict_with_a_status_set)
{
	static const struct config_status_range set[] = { { 200, 200 }, { 204, 204 }, { 300, 302 } };
	static const struct {
		int status;
		bool pass;
	} cases[] = {
		{ 200, true }, { 201, false }, { 204, true }, { 299, false }, { 300, true },
		{ 302, true }, { 303, false }, { 503, false }, { 100, false },
	};
	char r[CHECK_REASON_MAX], want[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(check_http_verdict(cases[i].status, set, 3, r, sizeof(r)), cases[i].pass,
			     "status %d", cases[i].status);
		snprintf(want, sizeof(want), cases[i].pass ? "HTTP %d" : "HTTP status %d",
			 cases[i].status);
		cr_assert_str_eq(r, want);
	}
	/* A set may make a 503 the healthy answer. */
	cr_assert(check_http_verdict(503, &(struct config_status_range){ 500, 599 }, 1, r, sizeof(r)));
}

Test(check_http, request_uses_http_host)
{
	struct check_target t = { .family = AF_INET, .port = 443, .kind = CONFIG_CHECK_HTTPS,
				  .http_host = "api.example.com" };
	char buf[512];

	inet_pton(AF_INET, "192.0.2.1", t.addr);
	cr_assert_gt(check_http_request(&t, buf, sizeof(buf)), 0);
	cr_assert(strstr(buf, "GET / HTTP/1.1\r\nHost: api.example.com\r\n") == buf, "%s", buf);
	t.http_host = "2001:db8::1";
	cr_assert_gt(check_http_request(&t, buf, sizeof(buf)), 0);
	cr_assert(strstr(buf, "GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n") == buf, "%s", buf);
}

/* The reasons status shows fit its column with their prefix. */
Test(check_tls, verify_reasons_are_short)
{
	static const struct {
		long err;
		const char *want;
	} cases[] = {
		{ X509_V_ERR_CERT_HAS_EXPIRED, "TLS verify failed: certificate has expired" },
		{ X509_V_ERR_HOSTNAME_MISMATCH, "TLS verify failed: hostname mismatch" },
		{ X509_V_ERR_IP_ADDRESS_MISMATCH, "TLS verify failed: IP address mismatch" },
		{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
		  "TLS verify failed: unable to get local issuer" },
		{ X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "TLS verify failed: self-signed certificate" },
	};
	char r[HEALTH_REASON_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_tls_verify_reason(cases[i].err, r, sizeof(r));
		cr_assert_str_eq(r, cases[i].want);
	}
	/* Anything else: OpenSSL's words, cut to fit. */
	check_tls_verify_reason(X509_V_ERR_PATH_LENGTH_EXCEEDED, r, sizeof(r));
	cr_assert(strncmp(r, "TLS verify failed: ", 19) == 0 && strlen(r) < HEALTH_REASON_MAX, "%s", r);
}

/* An https target without a context fails with a reason, it never
 * passes unverified. */
Test(check_tls, no_context_fails)
{
	uint16_t port;
	int fd = listen_on(16, &port);
	struct check_target t;

	target_v4(&t, port, CONFIG_CHECK_HTTPS, NULL);
	cr_assert_eq(check_run(&t, 1, 2000, 0, NULL, NULL, NULL), 0);
	cr_assert_not(t.pass);
	cr_assert_str_eq(t.reason, "TLS not set up");
	cr_assert_eq(t.error_class, HEALTH_ERR_OTHER);
	close(fd);
}

Test(check_http, request_ipv6_host_is_bracketed)
{
	struct check_target t = { .family = AF_INET6, .port = 80, .kind = CONFIG_CHECK_HTTP,
				  .http_path = "/ping?x=1" };
	char buf[512];
	size_t n;

	t.addr[15] = 1;
	n = check_http_request(&t, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(n, strlen(buf));
	cr_assert_str_eq(buf, "GET /ping?x=1 HTTP/1.1\r\nHost: [::1]\r\n"
			      "User-Agent: a-healthy-dns/" AHD_VERSION "\r\n"
			      "Connection: close\r\n\r\n");
	cr_assert_eq(check_http_request(&t, buf, 20), 0, "does not fit");
}
