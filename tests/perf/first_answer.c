/*
 * Start-up timing and readiness for the peer benchmark (bench_peers.sh).
 *
 *   first_answer wait ADDR PORT NAME TIMEOUT_MS
 *       poll until NAME/A is answered (NOERROR with an answer); exit 0,
 *       or 1 after TIMEOUT_MS
 *   first_answer start ADDR PORT NAME CPU RUNS -- COMMAND [ARG...]
 *       RUNS times: fork, pin the child to CPU (its whole process tree
 *       inherits that), exec COMMAND, send a query every 1 ms until the
 *       first answer, then SIGTERM it and wait until it is gone and the
 *       port is free again. Prints "startup_ms MEDIAN MIN MAX" (and each
 *       run on stderr).
 *
 * Spawn-to-first-answer is what an operator waits for after a restart:
 * it includes exec, zone loading, forking and binding. Timing starts
 * just before fork(). The query is built by hand so that nothing but
 * libc sits between us and the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FA_POLL_US 1000
#define FA_START_TIMEOUT_US 20000000
#define FA_STOP_TIMEOUT_US 10000000
#define FA_MAX_RUNS 64

static int64_t fa_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A standard query for name/A without RD or EDNS; returns its length. */
static size_t fa_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name)
{
	size_t n = 12;
	const char *p = name;

	if (cap < 12 + strlen(name) + 2 + 4)
		return 0;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[5] = 1; /* QDCOUNT */
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (len == 0 || len > 63)
			return 0;
		buf[n++] = (uint8_t)len;
		memcpy(buf + n, p, len);
		n += len;
		p += len;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 1; /* A */
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

static int fa_socket(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "first_answer: bad IPv4 address %s\n", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("first_answer: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Query every FA_POLL_US until an answer comes (returns its monotonic
 * time) or until deadline_us / the child exits (returns -1). Any reply
 * to one of our queries counts, not only to the last one sent: a server
 * that answers the first query 3 ms late is up since then.
 */
static int64_t fa_poll(int fd, const char *name, int64_t deadline_us, pid_t child)
{
	uint16_t first_id = (uint16_t)(fa_now_us() & 0xffff);
	uint16_t id = first_id;

	while (fa_now_us() < deadline_us) {
		uint8_t q[512], r[512];
		size_t qlen = fa_build_query(q, sizeof(q), id++, name);
		int64_t tick_end = fa_now_us() + FA_POLL_US;

		if (qlen == 0)
			return -1;
		(void)send(fd, q, qlen, 0); /* ECONNREFUSED until bound */
		for (;;) {
			int64_t left = tick_end - fa_now_us();
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t got;

			if (left <= 0)
				break;
			if (poll(&pfd, 1, 0) == 0) {
				/* poll() has millisecond granularity: spin on
				 * short sleeps for a true 1 ms period. */
				struct timespec ts = { 0, 50000 };

				nanosleep(&ts, NULL);
				continue;
			}
			got = recv(fd, r, sizeof(r), 0);
			if (got < 12)
				continue;
			uint16_t rid = (uint16_t)(r[0] << 8 | r[1]);
			bool ours = (uint16_t)(rid - first_id) < (uint16_t)(id - first_id);
			bool qr = r[2] & 0x80;
			int rcode = r[3] & 0x0f;
			int ancount = r[6] << 8 | r[7];

			if (ours && qr && rcode == 0 && ancount > 0)
				return fa_now_us();
		}
		if (child > 0 && waitpid(child, NULL, WNOHANG) == child) {
			fprintf(stderr, "first_answer: the server exited before answering\n");
			return -1;
		}
	}
	return -1;
}

/* Whether nothing holds addr:port for UDP (the last run is fully gone). */
static bool fa_port_free(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	inet_pton(AF_INET, addr, &sin.sin_addr);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static void fa_stop(pid_t pid, const char *addr, uint16_t port)
{
	int64_t deadline = fa_now_us() + FA_STOP_TIMEOUT_US;
	bool killed = false;

	kill(pid, SIGTERM);
	for (;;) {
		pid_t w = waitpid(pid, NULL, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD))
			break;
		if (!killed && fa_now_us() > deadline) {
			kill(pid, SIGKILL);
			killed = true;
		}
		usleep(1000);
	}
	/* Forked children may outlive their parent by a moment. */
	deadline = fa_now_us() + FA_STOP_TIMEOUT_US;
	while (!fa_port_free(addr, port) && fa_now_us() < deadline)
		usleep(5000);
}

static int fa_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int fa_start(const char *addr, uint16_t port, const char *name, int cpu, int runs,
		    char **cmd)
{
	int64_t took[FA_MAX_RUNS];
	int fd = fa_socket(addr, port);

	if (fd < 0)
		return 1;
	if (runs < 1 || runs > FA_MAX_RUNS) {
		fprintf(stderr, "first_answer: runs must be 1..%d\n", FA_MAX_RUNS);
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		int64_t t0, t1;
		pid_t pid;

		if (!fa_port_free(addr, port)) {
			fprintf(stderr, "first_answer: %s:%u is in use\n", addr, port);
			return 1;
		}
		t0 = fa_now_us();
		pid = fork();
		if (pid < 0) {
			perror("first_answer: fork");
			return 1;
		}
		if (pid == 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0)
				perror("first_answer: sched_setaffinity");
			execvp(cmd[0], cmd);
			perror("first_answer: exec");
			_exit(127);
		}
		t1 = fa_poll(fd, name, t0 + FA_START_TIMEOUT_US, pid);
		fa_stop(pid, addr, port);
		if (t1 < 0) {
			fprintf(stderr, "first_answer: %s never answered\n", cmd[0]);
			return 1;
		}
		took[i] = t1 - t0;
		fprintf(stderr, "first_answer: run %d: %.2f ms\n", i + 1, (double)took[i] / 1000);
		/* Drop replies to the queries that were still in flight. */
		{
			uint8_t junk[512];

			while (recv(fd, junk, sizeof(junk), 0) > 0)
				;
		}
	}
	close(fd);
	qsort(took, (size_t)runs, sizeof(took[0]), fa_cmp);
	printf("startup_ms %.2f %.2f %.2f\n", (double)took[runs / 2] / 1000,
	       (double)took[0] / 1000, (double)took[runs - 1] / 1000);
	return 0;
}

static int fa_usage(void)
{
	fprintf(stderr, "usage: first_answer wait ADDR PORT NAME TIMEOUT_MS\n"
			"       first_answer start ADDR PORT NAME CPU RUNS -- COMMAND [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "wait") == 0) {
		int fd = fa_socket(argv[2], (uint16_t)atoi(argv[3]));
		int64_t deadline = fa_now_us() + (int64_t)atoi(argv[5]) * 1000;

		if (fd < 0)
			return 1;
		return fa_poll(fd, argv[4], deadline, 0) < 0;
	}
	if (argc >= 9 && strcmp(argv[1], "start") == 0 && strcmp(argv[7], "--") == 0) {
		signal(SIGPIPE, SIG_IGN);
		return fa_start(argv[2], (uint16_t)atoi(argv[3]), argv[4], atoi(argv[5]),
				atoi(argv[6]), argv + 8);
	}
	return fa_usage();
}
