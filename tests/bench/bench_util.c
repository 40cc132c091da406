#include "bench_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

/* argv slots left for the caller's flags. */
#define BENCH_ARGS_MAX 56

const char *bench_bin(void)
{
	const char *b = getenv("AHD_BIN");

	return b != NULL && *b != '\0' ? b : "build/a-healthy-dns";
}

int64_t bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bench_sleep_us(int64_t us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };

	if (us <= 0)
		return;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int bench_bind(const char *addr, uint16_t port, int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

uint16_t bench_free_port(void)
{
	for (int tries = 0; tries < 200; tries++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int u = bench_bind("127.0.0.1", 0, SOCK_DGRAM), t1, t2;
		uint16_t port;

		if (u < 0 || getsockname(u, (struct sockaddr *)&sa, &sl) != 0) {
			if (u >= 0)
				close(u);
			continue;
		}
		port = ntohs(sa.sin_port);
		t1 = bench_bind("127.0.0.1", port, SOCK_STREAM);
		t2 = bench_bind("127.0.0.2", port, SOCK_STREAM);
		close(u);
		if (t1 >= 0)
			close(t1);
		if (t2 >= 0)
			close(t2);
		if (t1 >= 0 && t2 >= 0)
			return port;
	}
	fprintf(stderr, "bench: no free port\n");
	exit(2);
}

size_t bench_raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < want) {
		struct rlimit up = { .rlim_cur = want, .rlim_max = rl.rlim_max > want ? rl.rlim_max : want };

		if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
			/* Not root: as far as the hard limit goes. */
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur;
}

char *bench_server_log(const struct bench_server *s)
{
	FILE *f = fopen(s->log_path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, k;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap + 262144);

			if (nb == NULL)
				break;
			buf = nb;
			cap += 262144;
		}
		k = fread(buf + len, 1, cap - len - 1, f);
		if (k == 0)
			break;
		len += k;
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

static bool bench_alive(struct bench_server *s)
{
	int st;

	if (s->pid <= 0)
		return false;
	if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
		s->pid = 0;
		return false;
	}
	return true;
}

int bench_server_start(struct bench_server *s, const char *const *args, int timeout_ms)
{
	const char *argv[64];
	char port_s[8];
	size_t n = 0;
	int64_t end;
	int fd, logfd;

	memset(s, 0, sizeof(*s));
	s->port = bench_free_port();
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)s->port);
	snprintf(s->log_path, sizeof(s->log_path), "/tmp/ahd-bench.%d.%u.log", (int)getpid(),
		 (unsigned)s->port);
	argv[n++] = bench_bin();
	for (size_t i = 0; args[i] != NULL && n < BENCH_ARGS_MAX; i++)
		argv[n++] = args[i];
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = port_s;
	argv[n] = NULL;
	logfd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "bench: %s: %s\n", s->log_path, strerror(errno));
		return -1;
	}
	fd = bench_dns_socket(s->port);
	s->started_us = bench_now_us();
	s->pid = fork();
	if (s->pid < 0) {
		close(logfd);
		close(fd);
		return -1;
	}
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(logfd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	end = s->started_us + (int64_t)timeout_ms * 1000;
	while (bench_now_us() < end && bench_alive(s)) {
		ldns_pkt *p = bench_query(fd, "bench.invalid", LDNS_RR_TYPE_SOA, 5);

		if (p != NULL) {
			s->answered_us = bench_now_us();
			ldns_pkt_free(p);
			close(fd);
			return 0;
		}
		/* A refused send returns at once: do not spin. */
		bench_sleep_us(2000);
	}
	close(fd);
	{
		char *log = bench_server_log(s);

		fprintf(stderr, "bench: %s did not answer within %d ms; its log:\n%s\n", argv[0],
			timeout_ms, log != NULL ? log : "(none)");
		free(log);
	}
	bench_server_stop(s, false);
	return -1;
}

void bench_server_stop(struct bench_server *s, bool keep_log)
{
	if (s->pid > 0) {
		int64_t end = bench_now_us() + 5000000;

		kill(s->pid, SIGTERM);
		while (bench_alive(s) && bench_now_us() < end)
			bench_sleep_us(10000);
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
		}
	}
	if (!keep_log && s->log_path[0] != '\0')
		unlink(s->log_path);
}

int bench_dns_socket(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "bench: UDP socket: %s\n", strerror(errno));
		exit(2);
	}
	return fd;
}

ldns_pkt *bench_query(int fd, const char *name, ldns_rr_type type, int timeout_ms)
{
	ldns_pkt *q = NULL, *r = NULL;
	uint8_t *wire = NULL, buf[4096];
	size_t wlen = 0;
	uint16_t id = (uint16_t)random();
	int64_t end = bench_now_us() + (int64_t)timeout_ms * 1000;

	if (ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
		return NULL;
	ldns_pkt_set_id(q, id);
	if (ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK || send(fd, wire, wlen, 0) < 0) {
		ldns_pkt_free(q);
		free(wire);
		return NULL;
	}
	ldns_pkt_free(q);
	free(wire);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = end - bench_now_us();
		ssize_t k;

		if (left <= 0 || poll(&pfd, 1, (int)((left + 999) / 1000)) <= 0)
			return NULL;
		k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 12 || ((uint16_t)(buf[0] << 8 | buf[1])) != id)
			continue;
		if (ldns_wire2pkt(&r, buf, (size_t)k) != LDNS_STATUS_OK)
			return NULL;
		return r;
	}
}

bool bench_has_a(const ldns_pkt *p, const char *addr)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	struct in_addr want;

	if (inet_pton(AF_INET, addr, &want) != 1)
		return false;
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && rd != NULL &&
		    ldns_rdf_size(rd) == 4 && memcmp(ldns_rdf_data(rd), &want, 4) == 0)
			return true;
	}
	return false;
}

int bench_soa_serial(int fd, const char *zone, uint32_t *serial)
{
	for (int tries = 0; tries < 10; tries++) {
		ldns_pkt *p = bench_query(fd, zone, LDNS_RR_TYPE_SOA, 200);
		ldns_rr_list *an;

		if (p == NULL)
			continue;
		an = ldns_pkt_answer(p);
		if (an != NULL && ldns_rr_list_rr_count(an) >= 1 &&
		    ldns_rr_get_type(ldns_rr_list_rr(an, 0)) == LDNS_RR_TYPE_SOA) {
			*serial = ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 2));
			ldns_pkt_free(p);
			return 0;
		}
		ldns_pkt_free(p);
	}
	return -1;
}

int bench_listen(const char *addr, uint16_t port, int backlog)
{
	int fd = bench_bind(addr, port, SOCK_STREAM | SOCK_NONBLOCK);

	if (fd < 0)
		return -1;
	if (listen(fd, backlog) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void bench_drain(int fd)
{
	int c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(c);
}

static int bench_read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	if (fd < 0)
		return -1;
	k = read(fd, buf, cap - 1);
	close(fd);
	if (k < 0)
		return -1;
	buf[k] = '\0';
	return (int)k;
}

pid_t bench_find_child(pid_t parent, const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (d == NULL)
		return 0;
	while (found == 0 && (de = readdir(d)) != NULL) {
		char path[64], buf[4096];
		const char *pp;
		int k;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", atoi(de->d_name));
		if (bench_read_small(path, buf, sizeof(buf)) < 0)
			continue;
		pp = strstr(buf, "\nPPid:");
		if (pp == NULL || atoi(pp + 6) != parent)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", atoi(de->d_name));
		k = bench_read_small(path, buf, sizeof(buf));
		for (int i = 0; i < k; i++) {
			if (buf[i] == '\0')
				buf[i] = ' ';
		}
		if (k > 0 && strstr(buf, needle) != NULL)
			found = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return found;
}

int bench_cpu_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[2048];
	unsigned long long ut, st;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (bench_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	/* comm may hold spaces and parentheses: fields restart after the
	 * last ')'. utime and stime are fields 14 and 15. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	return 0;
}

size_t bench_status_kib(pid_t pid, const char *field)
{
	char path[64], buf[4096], key[32];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	if (bench_read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, key);
	return p != NULL ? (size_t)strtoull(p + strlen(key), NULL, 10) : 0;
}

size_t bench_rss_kib(pid_t pid) { return bench_status_kib(pid, "VmRSS"); }

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_stats(double *v, size_t n, double *min, double *med, double *max)
{
	*min = *med = *max = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	*min = v[0];
	*max = v[n - 1];
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
