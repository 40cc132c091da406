/*
 * Scale benchmark (DESIGN §3 and 7): a zone of many health-checked
 * addresses, checked concurrently, must take about one timeout per
 * round. Names n00000.. each get two addresses in 127.10.0.0/16 on one
 * health port; every tenth address refuses (no listener), every tenth
 * times out (a listener whose backlog is full, so SYNs are dropped), the
 * rest accept (listeners served by a thread here). We read the prober's
 * "round N: M checks in X ms" debug lines, its CPU from /proc, the
 * start-up time to the first answer and the size of the zone image.
 * Prints the numbers; asserts nothing.
 *
 * With env BENCH_SCALE_MODE=https (DESIGN §3.1) the checks are "https"
 * and the accepting addresses are served by ahd-tls-target (AHD_TOOLS,
 * default build/tools), one epoll process for all of them, with a
 * P-256 certificate from a CA made here by the openssl command: every
 * round is a TLS handshake and an HTTP exchange per target, resumed
 * from the last round's session; https-noresume makes the target issue
 * no tickets, so every handshake is a full one. The TLS cost per target
 * is the prober's CPU per round over the accepting targets (compare with
 * the tcp run, whose per-target cost is a connect).
 *
 * Usage: bench_scale [names [interval [timeout [rounds]]]]
 * (defaults 5000 2-address names, --test-min-interval 5,
 * --test-timeout 2, 5 measured rounds; env AHD_BIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#define SC_ZONE "bench.test"
#define SC_ROUND_TAG "prober: round "
#define SC_FD_SLACK 256

enum sc_kind {
	SC_UP,
	SC_REFUSE,
	SC_TIMEOUT,
};

enum sc_mode {
	SC_MODE_TCP,
	SC_MODE_HTTPS,
	SC_MODE_HTTPS_NORESUME,
};

struct sc {
	enum sc_mode mode;
	char pki[64];  /* https: the CA, certificate, key and bind list */
	pid_t tls_pid; /* https: the ahd-tls-target serving the accepting addresses */
	size_t n_addrs;
	uint16_t port;
	int *lst;      /* per address: listener or -1 */
	int *filler;   /* per address: the connection filling a backlog, or -1 */
	int ep;
	atomic_int stop;
	atomic_ulong accepted;
};

static enum sc_kind sc_kind_of(size_t i)
{
	return i % 10 == 0 ? SC_REFUSE : i % 10 == 1 ? SC_TIMEOUT : SC_UP;
}

static void sc_addr(size_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "127.10.%zu.%zu", i / 250, i % 250 + 1);
}

static void *sc_acceptor(void *arg)
{
	struct sc *c = arg;
	struct epoll_event evs[256];

	while (!c->stop) {
		int n = epoll_wait(c->ep, evs, 256, 100);

		for (int k = 0; k < n; k++) {
			int fd = evs[k].data.fd, a;

			while ((a = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				close(a);
				c->accepted++;
			}
		}
	}
	return NULL;
}

/* A blocking connect that lands in the one-slot accept queue of a
 * listen(fd, 0) listener: from then on its SYNs are dropped. */
static int sc_fill(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int sc_setup(struct sc *c)
{
	char addr[32];

	c->lst = malloc(c->n_addrs * sizeof(*c->lst));
	c->filler = malloc(c->n_addrs * sizeof(*c->filler));
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->lst == NULL || c->filler == NULL || c->ep < 0)
		return -1;
	for (size_t i = 0; i < c->n_addrs; i++) {
		enum sc_kind k = sc_kind_of(i);

		c->lst[i] = c->filler[i] = -1;
		/* https: ahd-tls-target listens at the accepting ones. */
		if (k == SC_REFUSE || (k == SC_UP && c->mode != SC_MODE_TCP))
			continue;
		sc_addr(i, addr, sizeof(addr));
		c->lst[i] = bench_listen(addr, c->port, k == SC_UP ? 1024 : 0);
		if (c->lst[i] < 0) {
			fprintf(stderr, "bench-scale: listen %s:%u: %s\n", addr, (unsigned)c->port,
				strerror(errno));
			return -1;
		}
		if (k == SC_TIMEOUT) {
			c->filler[i] = sc_fill(addr, c->port);
			if (c->filler[i] < 0) {
				fprintf(stderr, "bench-scale: fill %s: %s\n", addr, strerror(errno));
				return -1;
			}
		} else {
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = c->lst[i] };

			if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lst[i], &ev) != 0)
				return -1;
		}
	}
	return 0;
}

static void sc_teardown(struct sc *c)
{
	for (size_t i = 0; c->lst != NULL && i < c->n_addrs; i++) {
		if (c->lst[i] >= 0)
			close(c->lst[i]);
		if (c->filler[i] >= 0)
			close(c->filler[i]);
	}
	if (c->ep >= 0)
		close(c->ep);
	free(c->lst);
	free(c->filler);
}

/* Run a shell command line; 0 or -1 (it says why on stderr). */
static int sc_sh(const char *cmd)
{
	int st = system(cmd);

	if (st != 0)
		fprintf(stderr, "bench-scale: failed (%d): %s\n", st, cmd);
	return st == 0 ? 0 : -1;
}

/* The https backends: a CA and a P-256 certificate for SC_TLS_NAME, the
 * list of accepting addresses, and ahd-tls-target on all of them. */
#define SC_TLS_NAME "target." SC_ZONE
static int sc_tls_start(struct sc *c)
{
	char cmd[1536], path[512], buf[32] = "";
	const char *tools = getenv("AHD_TOOLS");
	FILE *f;
	int p[2];

	snprintf(c->pki, sizeof(c->pki), "/tmp/ahd-bench-tls.XXXXXX");
	if (mkdtemp(c->pki) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca 2>/dev/null && "
		 "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t.key "
		 "-out t.csr -subj /CN=" SC_TLS_NAME " 2>/dev/null && "
		 "printf 'subjectAltName=DNS:" SC_TLS_NAME "\\n' > ext && openssl x509 -req -in t.csr "
		 "-CA ca.pem -CAkey ca.key -CAcreateserial -out t.pem -days 2 -extfile ext 2>/dev/null",
		 c->pki);
	if (sc_sh(cmd) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/binds", c->pki);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	for (size_t i = 0; i < c->n_addrs; i++) {
		if (sc_kind_of(i) == SC_UP) {
			sc_addr(i, buf, sizeof(buf));
			fprintf(f, "%s\n", buf);
		}
	}
	if (fclose(f) != 0 || pipe(p) != 0)
		return -1;
	/* Half the CPUs serve the handshakes; the prober has the rest. */
	snprintf(cmd, sizeof(cmd), "exec %s/ahd-tls-target --cert %s/t.pem --key %s/t.key%s "
		 "--workers %ld --bind-file %s %u 2>%s/target.log",
		 tools != NULL ? tools : "build/tools", c->pki, c->pki,
		 c->mode == SC_MODE_HTTPS_NORESUME ? " --no-tickets" : "",
		 sysconf(_SC_NPROCESSORS_ONLN) > 2 ? sysconf(_SC_NPROCESSORS_ONLN) / 2 : 1L, path,
		 (unsigned)c->port, c->pki);
	c->tls_pid = fork();
	if (c->tls_pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (c->tls_pid < 0 || read(p[0], buf, sizeof(buf) - 1) <= 0 || strncmp(buf, "ready", 5) != 0) {
		fprintf(stderr, "bench-scale: ahd-tls-target did not start: %s\n", cmd);
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return 0;
}

/* Stop the https backend and print what it counted. */
static void sc_tls_stop(struct sc *c)
{
	char cmd[256];
	int st;

	if (c->tls_pid > 0) {
		kill(c->tls_pid, SIGTERM);
		waitpid(c->tls_pid, &st, 0);
		snprintf(cmd, sizeof(cmd), "sed 's/^/  ahd-tls-target: /' %s/target.log", c->pki);
		(void)sc_sh(cmd);
	}
	if (c->pki[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", c->pki);
		(void)sc_sh(cmd);
	}
}

static char *sc_config(const struct sc *c, size_t names, unsigned interval, unsigned timeout)
{
	static char path[64];
	char a0[32], a1[32];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/ahd-bench-scale.%d.json", (int)getpid());
	f = fopen(path, "w");
	if (f == NULL)
		return NULL;
	fprintf(f, "{\"hosted-zone\": \"" SC_ZONE "\",\n \"ns\": [\"ns1." SC_ZONE "\", \"ns2." SC_ZONE
		   "\"],\n \"test-min-interval\": %u, \"test-timeout\": %u,\n"
		   " \"workers\": 1, \"log-level\": \"debug\",\n \"zone-resolutions\": {\n",
		interval, timeout);
	for (size_t k = 0; k < names; k++) {
		sc_addr(2 * k, a0, sizeof(a0));
		sc_addr(2 * k + 1, a1, sizeof(a1));
		fprintf(f, "  \"n%05zu\": {\"ips\": [\"%s\", \"%s\"], \"health_port\": %u", k, a0,
			a1, (unsigned)c->port);
		if (c->mode != SC_MODE_TCP)
			fprintf(f, ", \"check\": \"https\", \"tls_name\": \"" SC_TLS_NAME "\", "
				   "\"tls_ca_file\": \"%s/ca.pem\"", c->pki);
		fprintf(f, "}%s\n", k + 1 < names ? "," : "");
	}
	fprintf(f, " }\n}\n");
	if (fclose(f) != 0)
		return NULL;
	return path;
}

/* The round lines in the log: durations (ms) into ms[], how many. */
static size_t sc_rounds(const struct bench_server *s, double *ms, size_t cap)
{
	char *log = bench_server_log(s), *p;
	size_t n = 0;

	if (log == NULL)
		return 0;
	for (p = log; (p = strstr(p, SC_ROUND_TAG)) != NULL; p++) {
		const char *in = strstr(p, " checks in ");
		const char *eol = strchr(p, '\n');

		if (in == NULL || eol == NULL || in > eol)
			continue;
		if (n < cap)
			ms[n] = strtod(in + 11, NULL);
		n++;
	}
	free(log);
	return n;
}

/* Wait until the log shows at least want round lines; -1 on timeout. */
static int sc_wait_rounds(const struct bench_server *s, size_t want, int64_t timeout_us)
{
	int64_t end = bench_now_us() + timeout_us;

	while (bench_now_us() < end) {
		if (sc_rounds(s, NULL, 0) >= want)
			return 0;
		bench_sleep_us(20000);
	}
	return -1;
}

/* The first (or the last) publish line of the log. */
static const char *sc_published(const struct bench_server *s, bool last, char *buf, size_t cap)
{
	char *log = bench_server_log(s), *p, *q, *eol;

	snprintf(buf, cap, "(no publish line)");
	if (log == NULL)
		return buf;
	p = strstr(log, "published serial");
	while (last && p != NULL && (q = strstr(p + 1, "published serial")) != NULL)
		p = q;
	if (p != NULL) {
		eol = strchr(p, '\n');
		if (eol != NULL)
			*eol = '\0';
		snprintf(buf, cap, "%s", p);
	}
	free(log);
	return buf;
}

/* How many of 200 names spread over the zone (the first and the last
 * targets of a round fare differently when the prober is short of CPU)
 * answer with the addresses the listeners should make them: a check
 * that the numbers above measure real work. */
static size_t sc_verify(const struct bench_server *s, size_t names, size_t *checked)
{
	int fd = bench_dns_socket(s->port);
	size_t wrong = 0, n = names < 200 ? names : 200;
	char name[64], a[32];

	for (size_t i = 0; i < n; i++) {
		size_t k = i * names / n;
		ldns_pkt *p;
		bool bad = false;

		snprintf(name, sizeof(name), "n%05zu." SC_ZONE, k);
		p = bench_query(fd, name, LDNS_RR_TYPE_A, 500);
		if (p == NULL) {
			wrong++;
			continue;
		}
		for (size_t j = 2 * k; j < 2 * k + 2; j++) {
			sc_addr(j, a, sizeof(a));
			bad = bad || bench_has_a(p, a) != (sc_kind_of(j) == SC_UP);
		}
		wrong += bad;
		ldns_pkt_free(p);
	}
	close(fd);
	*checked = n;
	return wrong;
}

int main(int argc, char **argv)
{
	struct sc c = { .ep = -1 };
	struct bench_server s;
	size_t names = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
	unsigned interval = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	unsigned timeout = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
	size_t rounds = argc > 4 ? strtoul(argv[4], NULL, 10) : 5;
	const char *args[] = { "--config", NULL, NULL };
	size_t nofile, n_r, n_up = 0, n_ref = 0, n_to = 0, checked, wrong;
	double *ms, mn, md, mx, round0;
	uint64_t t0 = 0, t1 = 0, tstart = 0;
	long hz = sysconf(_SC_CLK_TCK);
	pthread_t th;
	pid_t prober, worker;
	char shm[64], pub[256], last_pub[256];
	struct stat st;
	int rc = 2;

	const char *mode = getenv("BENCH_SCALE_MODE");

	c.mode = mode == NULL || strcmp(mode, "tcp") == 0 ? SC_MODE_TCP
		 : strcmp(mode, "https") == 0		  ? SC_MODE_HTTPS
		 : strcmp(mode, "https-noresume") == 0	  ? SC_MODE_HTTPS_NORESUME
							  : (enum sc_mode)-1;
	if ((int)c.mode < 0) {
		fprintf(stderr, "bench-scale: BENCH_SCALE_MODE is tcp, https or https-noresume\n");
		return 2;
	}
	if (names == 0 || interval == 0 || timeout == 0 || rounds == 0) {
		fprintf(stderr, "usage: bench_scale [names [interval [timeout [rounds]]]]\n");
		return 2;
	}
	c.n_addrs = names * 2;
	for (size_t i = 0; i < c.n_addrs; i++) {
		enum sc_kind k = sc_kind_of(i);

		n_up += k == SC_UP;
		n_ref += k == SC_REFUSE;
		n_to += k == SC_TIMEOUT;
	}
	/* Ours: a listener per address and a filler per full backlog. The
	 * server inherits the limit; its prober needs one fd per target. */
	nofile = bench_raise_nofile(c.n_addrs * 2 + SC_FD_SLACK);
	if (nofile < c.n_addrs + n_to + SC_FD_SLACK) {
		fprintf(stderr, "bench-scale: RLIMIT_NOFILE %zu is too low for %zu addresses "
				"(run as root)\n", nofile, c.n_addrs);
		return 2;
	}
	ms = calloc(rounds + 64, sizeof(*ms));
	c.port = bench_free_port();
	if (ms == NULL || sc_setup(&c) != 0 || (c.mode != SC_MODE_TCP && sc_tls_start(&c) != 0))
		goto out;
	args[1] = sc_config(&c, names, interval, timeout);
	if (args[1] == NULL || pthread_create(&th, NULL, sc_acceptor, &c) != 0)
		goto out;
	printf("bench-scale [%s]: %s, %zu names x 2 = %zu health-checked addresses "
	       "(%zu accept, %zu refuse, %zu time out), --test-min-interval %u --test-timeout %u, "
	       "RLIMIT_NOFILE %zu\n",
	       mode != NULL ? mode : "tcp", bench_bin(), names, c.n_addrs, n_up, n_ref, n_to,
	       interval, timeout, nofile);
	fflush(stdout);

	if (bench_server_start(&s, args, (int)(timeout * 1000 + 60000)) != 0)
		goto join;
	prober = bench_find_child(s.pid, "prober");
	worker = bench_find_child(s.pid, "worker");
	if (prober <= 0 || bench_cpu_ticks(prober, &tstart) != 0) {
		fprintf(stderr, "bench-scale: no prober process under %d\n", (int)s.pid);
		goto stop;
	}
	sc_published(&s, false, pub, sizeof(pub));

	/* Round 0 is the start-up round; measure from the end of round 1 so
	 * every sample covers whole rounds plus their idle time. */
	if (sc_wait_rounds(&s, 2, (int64_t)(interval + timeout) * 3000000) != 0 ||
	    bench_cpu_ticks(prober, &t0) != 0) {
		fprintf(stderr, "bench-scale: round 1 never finished\n");
		goto stop;
	}
	if (sc_wait_rounds(&s, 2 + rounds, (int64_t)(interval + timeout) * 2000000 * rounds) != 0 ||
	    bench_cpu_ticks(prober, &t1) != 0) {
		fprintf(stderr, "bench-scale: only %zu rounds finished\n", sc_rounds(&s, NULL, 0));
		goto stop;
	}
	wrong = sc_verify(&s, names, &checked);
	sc_published(&s, true, last_pub, sizeof(last_pub));
	n_r = sc_rounds(&s, ms, rounds + 64);
	if (n_r > rounds + 64)
		n_r = rounds + 64;
	round0 = ms[0];
	bench_stats(ms + 1, n_r - 1, &mn, &md, &mx);

	snprintf(shm, sizeof(shm), "/dev/shm/a-healthy-dns.%u", (unsigned)s.port);
	if (stat(shm, &st) != 0)
		memset(&st, 0, sizeof(st));
	printf("  %-44s %s\n", "measure", "value");
	printf("  %-44s %.0f ms\n", "start-up: exec to first answer",
	       (double)(s.answered_us - s.started_us) / 1000.0);
	printf("  %-44s %.0f ms\n", "first round (start-up gate)", round0);
	printf("  %-44s %.0f / %.0f / %.0f ms (%zu rounds)\n", "round time min / median / max", mn,
	       md, mx, n_r - 1);
	printf("  %-44s %.1f ms\n", "prober CPU per round (utime+stime)",
	       (double)(t1 - t0) * 1000.0 / (double)hz / (double)rounds);
	if (c.mode != SC_MODE_TCP)
		printf("  %-44s %.1f us (%s)\n", "prober CPU per accepting https target",
		       (double)(t1 - t0) * 1e6 / (double)hz / (double)rounds / (double)n_up,
		       c.mode == SC_MODE_HTTPS ? "handshakes resumed after round 0"
					       : "every handshake a full one");
	printf("  %-44s %.0f ms\n", "prober CPU in start-up (round 0 + build)",
	       (double)tstart * 1000.0 / (double)hz);
	printf("  %-44s %.1f MiB (%.1f MiB resident)\n", "zone image (" "/dev/shm)",
	       (double)st.st_size / 1048576.0, (double)st.st_blocks * 512.0 / 1048576.0);
	printf("  %-44s prober %.1f MiB, worker %.1f MiB, supervisor %.1f MiB\n", "RSS",
	       bench_rss_kib(prober) / 1024.0, worker > 0 ? bench_rss_kib(worker) / 1024.0 : 0.0,
	       bench_rss_kib(s.pid) / 1024.0);
	printf("  %-44s %.1f MiB\n", "prober peak RSS (VmHWM)",
	       bench_status_kib(prober, "VmHWM") / 1024.0);
	printf("  %-44s %s\n", "first publish", pub);
	printf("  %-44s %s\n", "last publish (after the rounds)", last_pub);
	printf("  %-44s %zu of %zu names answer as the listeners say\n",
	       "answers checked (after the rounds)",
	       checked - wrong, checked);
	printf("  goal: round time within timeout + 10%% = %u ms\n", timeout * 1100);
	printf("RESULT scale mode=%s addrs=%zu startup_ms=%.0f round0_ms=%.0f round_median_ms=%.0f "
	       "round_max_ms=%.0f cpu_per_round_ms=%.1f image_mib=%.1f wrong=%zu\n",
	       mode != NULL ? mode : "tcp", c.n_addrs, (double)(s.answered_us - s.started_us) / 1000.0,
	       round0, md, mx,
	       (double)(t1 - t0) * 1000.0 / (double)hz / (double)rounds,
	       (double)st.st_size / 1048576.0, wrong);
	rc = 0;
stop:
	bench_server_stop(&s, rc != 0);
	if (rc != 0)
		fprintf(stderr, "bench-scale: server log kept in %s\n", s.log_path);
join:
	c.stop = 1;
	pthread_join(th, NULL);
out:
	if (args[1] != NULL)
		unlink(args[1]);
	sc_tls_stop(&c);
	sc_teardown(&c);
	free(ms);
	return rc;
}
