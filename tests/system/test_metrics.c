/*
 * The Prometheus endpoint (DESIGN §11) with the real binary: the counters
 * follow the queries sent, the up gauge follows a backend that flips,
 * promtool finds no problem in the page, a real Prometheus server scrapes
 * it, and hostile clients (slowloris, a 10 MB request, 1000 connections)
 * leave both the metrics and DNS answering.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "metrics.test"
#define CHANGE_MS 8000

/* ---- a small HTTP client ---- */

static int tcp_to(uint16_t port, bool nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send req, read to EOF within timeout_ms. Returns the HTTP status (or
 * -1) and the body (malloc'd) in *body if body is not NULL. */
static int http_raw(uint16_t port, const char *req, size_t len, int timeout_ms, char **body)
{
	int64_t end = sys_now_ms() + timeout_ms;
	size_t got = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	int fd = tcp_to(port, false), status = -1;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	if (body != NULL)
		*body = NULL;
	if (fd < 0 || buf == NULL) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		goto out;
	while (sys_now_ms() < end) {
		ssize_t k;

		if (got == cap) {
			char *p = realloc(buf, 2 * cap + 1);

			if (p == NULL)
				goto out;
			buf = p;
			cap *= 2;
		}
		k = recv(fd, buf + got, cap - got, 0);
		if (k == 0)
			break;
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0)
			goto out;
		got += (size_t)k;
	}
	buf[got] = '\0';
	if (sys_now_ms() >= end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	if (status > 0 && body != NULL) {
		char *sep = strstr(buf, "\r\n\r\n");

		*body = strdup(sep != NULL ? sep + 4 : "");
	}
out:
	free(buf);
	close(fd);
	return status;
}

static int http_get(uint16_t port, const char *path, int timeout_ms, char **body)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);

	return http_raw(port, req, (size_t)n, timeout_ms, body);
}

/* A scrape that must succeed. */
static char *scrape(uint16_t port)
{
	char *body = NULL;
	int st = http_get(port, "/metrics", 5000, &body);

	cr_assert_eq(st, 200, "GET /metrics: status %d", st);
	return body;
}

/* The sum of the samples of name whose labels contain every one of the
 * strings in must (NULL-terminated); -1 if there is none. */
static double metric_sum(const char *text, const char *name, const char *const *must)
{
	size_t nl = strlen(name);
	double sum = 0;
	bool found = false;

	for (const char *l = text; l != NULL && *l != '\0';) {
		const char *eol = strchr(l, '\n');
		size_t len = eol != NULL ? (size_t)(eol - l) : strlen(l);
		char line[2048];
		bool ok;

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		l = eol != NULL ? eol + 1 : NULL;
		ok = strncmp(line, name, nl) == 0 && (line[nl] == '{' || line[nl] == ' ');
		for (size_t i = 0; ok && must != NULL && must[i] != NULL; i++)
			ok = strstr(line, must[i]) != NULL;
		if (ok) {
			sum += strtod(strrchr(line, ' ') + 1, NULL);
			found = true;
		}
	}
	return found ? sum : -1;
}

static double scrape_sum(uint16_t port, const char *name, const char *const *must)
{
	char *t = scrape(port);
	double v = metric_sum(t, name, must);

	free(t);
	return v;
}

/* Poll until the metric's sum is want (within CHANGE_MS). */
static void wait_metric(uint16_t port, const char *name, const char *const *must, double want)
{
	int64_t end = sys_now_ms() + CHANGE_MS;
	double v;

	do {
		v = scrape_sum(port, name, must);
		if (v == want)
			return;
		sys_sleep_ms(100);
	} while (sys_now_ms() < end);
	cr_assert_fail("%s{%s...}: want %g, still %g after %d ms", name,
		       must != NULL && must[0] != NULL ? must[0] : "", want, v, CHANGE_MS);
}

/* ---- the server ---- */

static void server_start(struct sys_server *s, uint16_t tport, uint16_t mport)
{
	char res[256], listen[32];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\"]",
		"--zone-resolutions", res,
		"--test-min-interval", "1",
		"--test-timeout", "1",
		"--workers", "2",
		"--metrics-listen", listen,
		NULL,
	};

	snprintf(res, sizeof(res), "{\"www\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u}}",
		 (unsigned)tport);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)mport);
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

static pid_t wait_metrics_pid(pid_t server)
{
	int64_t end = sys_now_ms() + CHANGE_MS;
	pid_t p;

	while ((p = sys_find_child(server, "metrics")) == 0 && sys_now_ms() < end)
		sys_sleep_ms(50);
	cr_assert_gt(p, 0, "no metrics process");
	return p;
}

static bool dns_answers(uint16_t port)
{
	ldns_pkt *p = sys_query(port, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	bool ok = p != NULL && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR;

	ldns_pkt_free(p);
	return ok;
}

TestSuite(metrics, .timeout = 120);

/* promtool's lint of a page: exit 0 and nothing printed. */
static void promtool_ok(const char *text)
{
	char path[] = "/tmp/ahd-metrics-XXXXXX";
	int fd = mkstemp(path);
	char cmd[256], *out = NULL, *err = NULL;
	const char *argv[] = { "sh", "-c", cmd, NULL };
	int st;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	st = sys_run(argv, 30000, &out, &err);
	unlink(path);
	cr_expect_eq(st, 0, "promtool check metrics: status %d: %s%s", st, out ? out : "",
		     err ? err : "");
	cr_expect(out == NULL || out[0] == '\0', "promtool says: %s", out);
	cr_expect(err == NULL || err[0] == '\0', "promtool says: %s", err);
	free(out);
	free(err);
}

Test(metrics, counters_follow_queries_and_up_follows_the_backend)
{
	static const char *const udp[] = { "transport=\"udp\"", NULL };
	static const char *const tcp[] = { "transport=\"tcp\"", NULL };
	static const char *const noerror[] = { "kind=\"noerror\"", NULL };
	static const char *const www[] = { "name=\"www." ZONE "\"", "address=\"127.0.0.1\"", NULL };
	static const char *const refused[] = { "name=\"www." ZONE "\"", "class=\"refused\"", NULL };
	struct sys_server s;
	uint16_t tport = sys_free_port(), mport = sys_free_port();
	pid_t t = sys_target_start(NULL, tport, 0);
	double u0, t0, n0, c0;
	char *text;
	const int N = 300, M = 5;

	cr_assert_gt(t, 0);
	server_start(&s, tport, mport);
	wait_metric(mport, "ahdns_backend_up", www, 1);
	u0 = scrape_sum(mport, "ahdns_queries_total", udp);
	t0 = scrape_sum(mport, "ahdns_queries_total", tcp);
	n0 = scrape_sum(mport, "ahdns_answers_total", noerror);
	c0 = scrape_sum(mport, "ahdns_tcp_connections_total", NULL);
	cr_assert(u0 >= 1 && t0 >= 0 && c0 >= 0, "udp %g tcp %g conns %g", u0, t0, c0);
	for (int i = 0; i < N; i++)
		cr_assert(dns_answers(s.port), "query %d unanswered", i);
	for (int i = 0; i < M; i++) {
		const char *args[] = { "+tcp", "+short", "www." ZONE, "A", NULL };
		char *out = sys_dig(s.port, args);

		cr_assert(out != NULL && strstr(out, "127.0.0.1") != NULL, "TCP query %d", i);
		free(out);
	}
	/* Exactly what was sent: nobody else talks to this server. A worker
	 * counts once it answered, so wait for the last one to land. */
	wait_metric(mport, "ahdns_queries_total", udp, u0 + N);
	wait_metric(mport, "ahdns_queries_total", tcp, t0 + M);
	wait_metric(mport, "ahdns_tcp_connections_total", NULL, c0 + M);
	wait_metric(mport, "ahdns_answers_total", noerror, n0 + N + M);

	/* The backend flips down, then up again. */
	sys_target_stop(t);
	wait_metric(mport, "ahdns_backend_up", www, 0);
	wait_metric(mport, "ahdns_backend_published", www, 0);
	wait_metric(mport, "ahdns_backend_last_error", refused, 1);
	wait_metric(mport, "ahdns_backend_state_changes_total", www, 1);
	text = scrape(mport);
	promtool_ok(text);
	free(text);
	t = sys_target_start(NULL, tport, 0);
	cr_assert_gt(t, 0);
	wait_metric(mport, "ahdns_backend_up", www, 1);
	wait_metric(mport, "ahdns_backend_state_changes_total", www, 2);
	wait_metric(mport, "ahdns_backend_last_check_success", www, 1);
	text = scrape(mport);
	promtool_ok(text);
	cr_expect(strstr(text, "# TYPE ahdns_zone_serial gauge\n") != NULL);
	cr_expect(metric_sum(text, "ahdns_zone_serial", NULL) > 0);
	cr_expect(metric_sum(text, "ahdns_process_restarts_total", NULL) == 0, "no restarts");
	free(text);
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}

Test(metrics, paths_methods_and_bad_requests)
{
	struct sys_server s;
	uint16_t tport = sys_free_port(), mport = sys_free_port();
	static const char bad[] = "GET /metrics\r\n\r\n";
	static const char post[] = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	char *body = NULL;

	server_start(&s, tport, mport);
	cr_expect_eq(http_get(mport, "/", 5000, NULL), 404);
	cr_expect_eq(http_get(mport, "/metricsx", 5000, NULL), 404);
	cr_expect_eq(http_get(mport, "/metrics?x=1", 5000, NULL), 200);
	cr_expect_eq(http_raw(mport, post, sizeof(post) - 1, 5000, NULL), 405);
	cr_expect_eq(http_raw(mport, bad, sizeof(bad) - 1, 5000, &body), 400);
	cr_expect(body != NULL && strcmp(body, "bad request\r\n") == 0, "400 body: %s", body);
	free(body);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* ---- a real Prometheus server ---- */

static pid_t prometheus_start(const char *dir, uint16_t pport, uint16_t mport)
{
	char cfg[512], yml[512], data[512], web[64];
	pid_t pid;

	snprintf(yml, sizeof(yml),
		 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		 "scrape_configs:\n  - job_name: ahdns\n    static_configs:\n"
		 "      - targets: ['127.0.0.1:%u']\n",
		 (unsigned)mport);
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", dir);
	snprintf(data, sizeof(data), "--storage.tsdb.path=%s/data", dir);
	snprintf(web, sizeof(web), "--web.listen-address=127.0.0.1:%u", (unsigned)pport);
	cr_assert_eq(sys_write_file(cfg, yml), 0);
	pid = fork();
	if (pid == 0) {
		char cfgarg[600];
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execlp("prometheus", "prometheus", cfgarg, data, web, "--log.level=error",
		       (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	return pid;
}

Test(metrics, a_real_prometheus_scrapes_the_up_series)
{
	char dir[] = "/tmp/ahd-prom-XXXXXX", rm[600];
	const char *rmv[] = { "sh", "-c", rm, NULL };
	struct sys_server s;
	uint16_t tport = sys_free_port(), mport = sys_free_port(), pport = sys_free_port();
	pid_t t = sys_target_start(NULL, tport, 0), prom;
	int64_t end;
	char *body = NULL;
	bool seen = false;
	int st = -1;

	cr_assert_gt(t, 0);
	cr_assert_not_null(mkdtemp(dir));
	server_start(&s, tport, mport);
	prom = prometheus_start(dir, pport, mport);
	/* Its start, a scrape a second, and the query API's view of it. */
	end = sys_now_ms() + 60000;
	while (!seen && sys_now_ms() < end) {
		free(body);
		body = NULL;
		st = http_get(pport, "/api/v1/query?query=ahdns_backend_up", 5000, &body);
		seen = st == 200 && body != NULL && strstr(body, "\"status\":\"success\"") != NULL &&
		       strstr(body, "\"__name__\":\"ahdns_backend_up\"") != NULL &&
		       strstr(body, "\"name\":\"www." ZONE "\"") != NULL &&
		       strstr(body, "\"value\":[") != NULL;
		if (!seen)
			sys_sleep_ms(500);
	}
	cr_expect(seen, "Prometheus never returned the up series (status %d): %s", st,
		  body != NULL ? body : "(none)");
	free(body);
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	sys_run(rmv, 30000, NULL, NULL);
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* ---- hostile clients ---- */

/* A good scrape and a DNS answer, now, while something else goes on:
 * a few attempts within 10 s (the oldest connection makes room for a
 * new one, so a flood may close a scrape before its request is read). */
static void still_serving(uint16_t dport, uint16_t mport, const char *during)
{
	int64_t end = sys_now_ms() + 10000;
	int st = -1, tries = 0;

	while (st != 200 && sys_now_ms() < end) {
		char *body = NULL;

		st = http_get(mport, "/metrics", 5000, &body);
		if (st == 200 && (body == NULL || strstr(body, "ahdns_backend_up") == NULL))
			st = -2;
		free(body);
		tries++;
	}
	cr_assert_eq(st, 200, "%s: no good scrape in 10 s (%d tries, last %d)", during, tries, st);
	cr_assert(dns_answers(dport), "%s: DNS did not answer", during);
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < want)
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_geq(rl.rlim_cur, want, "need %lu descriptors", (unsigned long)want);
}

/* 200 connections that each send one byte of a request a second (and
 * come back when closed), for 6 s. */
static void slowloris(uint16_t dport, uint16_t mport)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	enum { N = 200 };
	int fds[N];
	size_t sent[N] = { 0 };

	for (int i = 0; i < N; i++)
		fds[i] = tcp_to(mport, true);
	for (int sec = 0; sec < 6; sec++) {
		for (int i = 0; i < N; i++) {
			if (fds[i] >= 0 && send(fds[i], req + sent[i] % (sizeof(req) - 1), 1,
						MSG_NOSIGNAL) == 1) {
				sent[i]++;
				continue;
			}
			if (fds[i] >= 0 && (errno == EAGAIN || errno == ENOTCONN))
				continue;
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = tcp_to(mport, true);
			sent[i] = 0;
		}
		still_serving(dport, mport, "slowloris");
		sys_sleep_ms(1000);
	}
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* A 10 MB request head: answered 431 or cut off, never read whole. */
static void huge_request(uint16_t dport, uint16_t mport)
{
	static const char head[] = "GET /metrics HTTP/1.1\r\nX-Junk: ";
	size_t total = 10u << 20, off = 0;
	char *junk = malloc(total);
	int fd = tcp_to(mport, false), st = 0;
	int64_t end = sys_now_ms() + 20000;
	char resp[256] = "";
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	ssize_t k;

	cr_assert(junk != NULL && fd >= 0);
	memset(junk, 'a', total);
	memcpy(junk, head, sizeof(head) - 1);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < total && sys_now_ms() < end) {
		k = send(fd, junk + off, total - off, MSG_NOSIGNAL);
		if (k > 0)
			off += (size_t)k;
		else if (errno != EAGAIN && errno != EINTR)
			break; /* reset or closed by the server: what we want */
	}
	k = recv(fd, resp, sizeof(resp) - 1, 0);
	if (k > 0) {
		resp[k] = '\0';
		sscanf(resp, "HTTP/1.1 %d", &st);
	}
	cr_assert(st == 431 || k == 0 || (k < 0 && errno == ECONNRESET),
		  "10 MB request: sent %zu, status %d, recv %zd (%s)", off, st, k,
		  k < 0 ? strerror(errno) : "");
	cr_assert_lt(sys_now_ms(), end, "10 MB request: not cut off in 20 s");
	close(fd);
	free(junk);
	still_serving(dport, mport, "after a 10 MB request");
}

/* 1000 connections at once that send nothing. */
static void thousand(uint16_t dport, uint16_t mport)
{
	enum { N = 1000 };
	int *fds = calloc(N, sizeof(int));
	int opened = 0;

	cr_assert_not_null(fds);
	for (int i = 0; i < N; i++) {
		fds[i] = tcp_to(mport, true);
		opened += fds[i] >= 0;
	}
	cr_assert_gt(opened, N / 2, "only %d connections opened", opened);
	still_serving(dport, mport, "1000 connections");
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

Test(metrics, hostile_clients_leave_metrics_and_dns_answering)
{
	static const char *const role[] = { "role=\"metrics\"", NULL };
	struct sys_server s;
	uint16_t tport = sys_free_port(), mport = sys_free_port();
	pid_t t = sys_target_start(NULL, tport, 0), m0;

	cr_assert_gt(t, 0);
	raise_nofile(1200);
	server_start(&s, tport, mport);
	m0 = wait_metrics_pid(s.pid);
	slowloris(s.port, mport);
	huge_request(s.port, mport);
	thousand(s.port, mport);
	/* The same process served it all: it was never killed (seccomp)
	 * nor restarted. */
	cr_expect_eq(sys_find_child(s.pid, "metrics"), m0, "the metrics process changed");
	cr_expect_eq(scrape_sum(mport, "ahdns_process_restarts_total", role), 0);
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* The metrics process's seccomp filter kills it, and only it, for a call
 * off its list (socket: it can open nothing); the supervisor starts a new
 * one on the same listener, which counts the restart. */
Test(metrics, a_forbidden_call_kills_only_the_metrics_process)
{
	static const char *const role[] = { "role=\"metrics\"", NULL };
	struct sys_server s;
	uint16_t tport = sys_free_port(), mport = sys_free_port();
	pid_t m0, m1, prober, t = sys_target_start(NULL, tport, 0);
	char line[128];
	int64_t end;

	cr_assert_gt(t, 0);
	setenv("AHD_TEST_SECCOMP_PROBE", "socket", 1);
	server_start(&s, tport, mport);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 15000), 0);
	m0 = wait_metrics_pid(s.pid);
	prober = sys_find_child(s.pid, "prober");
	free(scrape(mport));
	cr_assert_eq(kill(m0, SIGUSR1), 0);
	snprintf(line, sizeof(line), "metrics (pid %d) killed by signal %d", (int)m0, SIGSYS);
	cr_assert_eq(sys_server_wait_log(&s, line, 10000), 0, "no SIGSYS death logged");
	end = sys_now_ms() + CHANGE_MS;
	while (((m1 = sys_find_child(s.pid, "metrics")) == 0 || m1 == m0) && sys_now_ms() < end)
		sys_sleep_ms(50);
	cr_assert(m1 != 0 && m1 != m0, "the metrics process was not restarted");
	wait_metric(mport, "ahdns_process_restarts_total", role, 1);
	cr_expect_eq(sys_find_child(s.pid, "prober"), prober, "the prober was restarted too");
	cr_assert(dns_answers(s.port));
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}
