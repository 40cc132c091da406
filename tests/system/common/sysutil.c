#include "sysutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

extern char **environ;

/* XDP mode's addresses (sysutil.h): S's end of the veth, C's end. */
#define SYS_XDP_PEER "ahdx-c"
#define SYS_XDP_S4 "10.53.0.2"
#define SYS_XDP_S6 "fd00:53::2"
#define SYS_XDP_C4 "10.53.0.1"

int64_t sys_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sys_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *sys_bin(void)
{
	const char *b = getenv("AHD_BIN");

	return b && *b ? b : "build/a-healthy-dns";
}

const char *sys_tools_dir(void)
{
	const char *t = getenv("AHD_TOOLS");

	return t && *t ? t : "build/tools";
}

static uint32_t sys_random(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)getpid() ^ (uint32_t)sys_now_ms();
	return r;
}

/* The probe sockets of a chosen port, kept bound until it is used. */
struct sys_port_hold {
	int fd[4];
};

/* Bind family/type to loopback:port and keep it: the fd, SYS_NO_FAMILY
 * when the host has no such family (not a conflict), or -1. */
#define SYS_NO_FAMILY (-2)
static int sys_hold_bind(int family, int type, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return family == AF_INET6 ? SYS_NO_FAMILY : -1;
	if (bind(fd, (struct sockaddr *)&ss, sl) == 0)
		return fd;
	close(fd);
	return family == AF_INET6 && errno == EADDRNOTAVAIL ? SYS_NO_FAMILY : -1;
}

static void sys_port_release(struct sys_port_hold *h)
{
	for (size_t i = 0; i < 4; i++) {
		if (h->fd[i] >= 0)
			close(h->fd[i]);
		h->fd[i] = -1;
	}
}

/*
 * Choose a random port free for UDP and TCP on 127.0.0.1 (and ::1) and
 * keep it bound in h: while the sockets are held, no other process (a
 * parallel test's server above all) can take it, and the other tests'
 * probes see it busy.
 */
static uint16_t sys_port_hold(struct sys_port_hold *h)
{
	static const int kinds[4][2] = {{AF_INET, SOCK_DGRAM}, {AF_INET, SOCK_STREAM},
					{AF_INET6, SOCK_DGRAM}, {AF_INET6, SOCK_STREAM}};

	/* In XDP mode the port is chosen in the test's own namespace. */
	if (sys_xdp_up() < 0)
		return 0;
	for (int tries = 0; tries < 200; tries++) {
		/* Above the ephemeral range's usual start is crowded by
		 * clients; 20000-32767 is rarely used by anything. */
		uint16_t port = (uint16_t)(20000 + sys_random() % 12000);
		size_t i = 0;

		for (; i < 4; i++) {
			h->fd[i] = sys_hold_bind(kinds[i][0], kinds[i][1], port);
			if (h->fd[i] == -1)
				break;
		}
		if (i == 4)
			return port;
		sys_port_release(h);
	}
	return 0;
}

uint16_t sys_free_port(void)
{
	struct sys_port_hold h;
	uint16_t port = sys_port_hold(&h);

	sys_port_release(&h);
	return port;
}

static int sys_decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* waitpid with a timeout; returns the decoded status or -1. */
static int sys_waitpid(pid_t pid, int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return sys_decode_status(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (sys_now_ms() >= end)
			return -1;
		sys_sleep_ms(5);
	}
}

/* netns: an fd of the network namespace to run argv in, or -1 (ours). */
static pid_t sys_spawn(const char *path, const char *const *argv, int out_fd,
		       int err_fd, int netns)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* A failed test never leaves a server behind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (netns >= 0 && setns(netns, CLONE_NEWNET) != 0)
		_exit(127);
	int null = open("/dev/null", O_RDONLY);

	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	if (out_fd >= 0)
		dup2(out_fd, 1);
	if (err_fd >= 0)
		dup2(err_fd, 2);
	execvp(path, (char *const *)argv);
	_exit(127);
}

static int sys_server_launch(struct sys_server *s, const char *const *wrap,
			     const char *const *args, uint16_t port, struct sys_port_hold *hold)
{
	const char *argv[128];
	size_t n = 0;
	int fd;

	memset(s, 0, sizeof(*s));
	s->port = port;
	if (sys_xdp_up() < 0) {
		if (hold != NULL)
			sys_port_release(hold);
		return -1;
	}
	snprintf(s->shm_name, sizeof(s->shm_name), "/a-healthy-dns.%u", port);
	snprintf(s->log_path, sizeof(s->log_path), "/tmp/ahd-systest-XXXXXX");
	fd = mkstemp(s->log_path);
	if (fd < 0) {
		if (hold != NULL)
			sys_port_release(hold);
		return -1;
	}
	for (size_t i = 0; wrap != NULL && wrap[i] != NULL && n < 16; i++)
		argv[n++] = wrap[i];
	argv[n++] = sys_bin();
	for (size_t i = 0; args[i] != NULL && n < 126; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	/* The port is let go only now, the server binds it moments later. */
	if (hold != NULL)
		sys_port_release(hold);
	s->pid = sys_spawn(argv[0], argv, -1, fd, -1);
	close(fd);
	return s->pid > 0 ? 0 : -1;
}

/*
 * A server that exited with its one line "a-healthy-dns: --xdp IFACE:
 * <reason>" for our veth could not attach XDP there: the kernel refused
 * (DESIGN §14.1 has a refusal of Knot's program). The test is skipped
 * with that line, never silently; anything else is the caller's failure.
 */
static void sys_xdp_skip_if_refused(struct sys_server *s, const char *log)
{
	char head[64], line[512];
	const char *p = log;

	if (sys_xdp_mode() == NULL || s->pid != 0 || s->exit_status == 0 || log == NULL)
		return;
	snprintf(head, sizeof(head), "--xdp %s: ", SYS_XDP_IFACE);
	for (;;) {
		size_t len = strcspn(p, "\n");
		const char *h = strstr(p, head);

		if (h == NULL)
			return;
		/* At the line's start, or after the program's name. */
		if (h < p + len && (h == p || (h - p >= 2 && h[-2] == ':' && h[-1] == ' ' &&
					       memchr(p, ' ', (size_t)(h - p - 2)) == NULL))) {
			snprintf(line, sizeof(line), "%.*s", (int)len, p);
			break;
		}
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
	sys_server_stop(s);
	/* criterion prints skips only with --verbose: check.sh counts these. */
	fprintf(stderr, "SKIP %s/%s: the kernel refuses XDP (%s mode): %s\n",
		criterion_current_test ? criterion_current_test->category : "?",
		criterion_current_test ? criterion_current_test->name : "?", sys_xdp_mode(), line);
	cr_skip_test("the kernel refuses XDP (%s mode): %s", sys_xdp_mode(), line);
}

int sys_server_wait_ready(struct sys_server *s, const char *addr, int timeout_ms)
{
	/* Any answer at all (REFUSED for the root) means a worker is up. */
	static const uint8_t q[] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				    0, 0, 6, 0, 1};
	int64_t end = sys_now_ms() + timeout_ms;
	uint8_t resp[512];

	while (sys_now_ms() < end) {
		int st;

		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->exit_status = sys_decode_status(st);
			s->pid = 0;
			return -1;
		}
		if (sys_exchange(addr, s->port, q, sizeof(q), resp, sizeof(resp), 50) > 0)
			return 0;
	}
	return -1;
}

int sys_server_start_raw(struct sys_server *s, const char *const *args,
			 uint16_t port, const char *addr)
{
	return sys_server_start_wrapped(s, NULL, args, port, addr);
}

static int sys_server_start_held(struct sys_server *s, const char *const *wrap,
				 const char *const *args, uint16_t port, const char *addr,
				 struct sys_port_hold *hold, bool quiet_in_use)
{
	if (sys_server_launch(s, wrap, args, port, hold) < 0)
		return -1;
	if (addr == NULL)
		return 0;
	if (sys_server_wait_ready(s, addr, SYS_START_MS) < 0) {
		char *log = sys_server_log(s);
		bool in_use = log != NULL && strstr(log, strerror(EADDRINUSE)) != NULL;

		sys_xdp_skip_if_refused(s, log);

		if (!(quiet_in_use && in_use))
			fprintf(stderr, "server on port %u did not come up; its log:\n%s\n",
				port, log ? log : "");
		free(log);
		sys_server_stop(s);
		return in_use ? -2 : -1;
	}
	return 0;
}

int sys_server_start_wrapped(struct sys_server *s, const char *const *wrap,
			     const char *const *args, uint16_t port, const char *addr)
{
	return sys_server_start_held(s, wrap, args, port, addr, NULL, false) == 0 ? 0 : -1;
}

/*
 * The port is held (bound) from its choice until just before the server
 * starts, so no other test can take it in between; if something still
 * took it in the moment between the release and the server's bind, the
 * server says "Address already in use" and the start is tried again on
 * another port.
 */
int sys_server_start(struct sys_server *s, const char *const *args)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		const char *argv[128];
		char port[8];
		struct sys_port_hold hold;
		uint16_t p = sys_port_hold(&hold);
		size_t n = 0;
		int rc;

		if (p == 0)
			return -1;
		snprintf(port, sizeof(port), "%u", p);
		for (size_t i = 0; args[i] != NULL && n < 120; i++)
			argv[n++] = args[i];
		if (sys_xdp_mode() != NULL) {
			/* No loopback listener: a query cannot go around XDP. */
			argv[n++] = "--listen";
			argv[n++] = SYS_XDP_S4;
			argv[n++] = "--listen";
			argv[n++] = SYS_XDP_S6;
			argv[n++] = "--xdp";
			argv[n++] = SYS_XDP_IFACE;
			argv[n++] = "--xdp-mode";
			argv[n++] = sys_xdp_mode();
		} else {
			argv[n++] = "--listen";
			argv[n++] = "127.0.0.1";
		}
		argv[n++] = "--port";
		argv[n++] = port;
		argv[n] = NULL;
		rc = sys_server_start_held(s, NULL, argv, p, sys_addr(), &hold, attempt < 2);
		if (rc == 0 && sys_xdp_mode() != NULL &&
		    sys_server_wait_log(s, "info: xdp: " SYS_XDP_IFACE ": ", 2000) < 0) {
			/* It answered, but not over XDP: a test would pass
			 * on the kernel's path alone. */
			fprintf(stderr, "server on port %u answers but never attached XDP to %s\n",
				p, SYS_XDP_IFACE);
			sys_server_stop(s);
			return -1;
		}
		if (rc != -2)
			return rc;
	}
	return -1;
}

int sys_server_wait(struct sys_server *s, int timeout_ms)
{
	int st;

	if (s->pid <= 0)
		return s->exit_status;
	st = sys_waitpid(s->pid, timeout_ms);
	if (st < 0)
		return -1;
	s->pid = 0;
	s->exit_status = st;
	return st;
}

int sys_server_stop(struct sys_server *s)
{
	int st;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		st = sys_server_wait(s, 5000);
		if (st < 0) {
			kill(s->pid, SIGKILL);
			sys_server_wait(s, 5000);
			s->exit_status = 128 + SIGKILL;
		}
	}
	if (s->log_path[0] != '\0') {
		/* Keep the log of a failing server visible in the test output. */
		if (s->exit_status != 0) {
			char *log = sys_server_log(s);

			fprintf(stderr, "server on port %u exited %d; its log:\n%s\n",
				s->port, s->exit_status, log ? log : "");
			free(log);
		}
		unlink(s->log_path);
		s->log_path[0] = '\0';
	}
	return s->exit_status;
}

static char *sys_read_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (buf == NULL)
		return NULL;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

char *sys_server_log(const struct sys_server *s)
{
	int fd = open(s->log_path, O_RDONLY);
	char *r;

	if (fd < 0)
		return NULL;
	r = sys_read_fd(fd);
	close(fd);
	return r;
}

int sys_server_wait_log(const struct sys_server *s, const char *needle,
			int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;

	for (;;) {
		char *log = sys_server_log(s);
		bool found = log != NULL && strstr(log, needle) != NULL;

		free(log);
		if (found)
			return 0;
		if (sys_now_ms() >= end)
			return -1;
		sys_sleep_ms(10);
	}
}

bool sys_have_systemd_analyze(void)
{
	return access("/usr/bin/systemd-analyze", X_OK) == 0 ||
	       access("/bin/systemd-analyze", X_OK) == 0;
}

int sys_unit_syscalls(const char *unit, const char *drop, char *path, const char **why)
{
	static char msg[512];
	const char *argv[] = { "packaging/systemd/unit-syscalls.sh", unit, NULL };
	char *out = NULL, *err = NULL, *line, *save = NULL;
	int n = 0, fd;
	FILE *f;

	if (sys_run(argv, 30000, &out, &err) != 0) {
		snprintf(msg, sizeof(msg), "unit-syscalls.sh %s: %s", unit, err ? err : "");
		*why = msg;
		free(out);
		free(err);
		return -1;
	}
	free(err);
	strcpy(path, "/tmp/ahd-unit-list-XXXXXX");
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		*why = "cannot write the list";
		free(out);
		return -1;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (drop != NULL && strcmp(line, drop) == 0)
			continue;
		fprintf(f, "%s\n", line);
		n++;
	}
	free(out);
	if (fclose(f) != 0) {
		*why = "cannot write the list";
		return -1;
	}
	return n;
}

static int sys_run_ns(const char *const *argv, int timeout_ms, char **out, char **err,
		      int netns)
{
	char opath[] = "/tmp/ahd-run-out-XXXXXX";
	char epath[] = "/tmp/ahd-run-err-XXXXXX";
	int ofd = mkstemp(opath);
	int efd = mkstemp(epath);
	pid_t pid;
	int st = -1;

	if (ofd < 0 || efd < 0)
		goto out;
	pid = sys_spawn(argv[0], argv, ofd, efd, netns);
	if (pid < 0)
		goto out;
	st = sys_waitpid(pid, timeout_ms);
	if (st < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (out) {
		lseek(ofd, 0, SEEK_SET);
		*out = sys_read_fd(ofd);
	}
	if (err) {
		lseek(efd, 0, SEEK_SET);
		*err = sys_read_fd(efd);
	}
out:
	if (ofd >= 0) {
		close(ofd);
		unlink(opath);
	}
	if (efd >= 0) {
		close(efd);
		unlink(epath);
	}
	return st;
}

size_t sys_server_log_count(const struct sys_server *s, const char *needle)
{
	char *log = sys_server_log(s);
	size_t n = 0;

	for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(log);
	return n;
}

int sys_run(const char *const *argv, int timeout_ms, char **out, char **err)
{
	return sys_run_ns(argv, timeout_ms, out, err, -1);
}

/* ---- XDP mode (issue 18, DESIGN §14.2) ------------------------------ */

static struct {
	bool read;      /* mode taken from the env or from sys_xdp_use */
	const char *mode;
	int state;      /* 0: not yet, 1: namespaces up, -1: failed */
	pid_t holder;   /* keeps C alive; dies with the test (PDEATHSIG) */
	int s_ns, c_ns; /* fds of the two network namespaces */
} sys_x = {.s_ns = -1, .c_ns = -1};

const char *sys_xdp_mode(void)
{
	if (!sys_x.read) {
		const char *m = getenv("AHD_TEST_XDP");

		sys_x.read = true;
		sys_x.mode = m != NULL && *m != '\0' ? m : NULL;
	}
	return sys_x.mode;
}

void sys_xdp_use(const char *mode)
{
	sys_x.read = true;
	sys_x.mode = mode;
}

const char *sys_addr(void)
{
	return sys_xdp_mode() != NULL ? SYS_XDP_S4 : "127.0.0.1";
}

const char *sys_addr6(void)
{
	return sys_xdp_mode() != NULL ? SYS_XDP_S6 : "::1";
}

const char *sys_client_addr(void)
{
	return sys_xdp_mode() != NULL ? SYS_XDP_C4 : "127.0.0.1";
}

/* Run `ip` with args (NULL-terminated) in netns; 0 or -1 with its stderr. */
static int sys_ip(int netns, const char *const *args)
{
	const char *argv[24] = {"ip"};
	char *err = NULL;
	size_t n = 1;
	int rc;

	while (*args != NULL && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	rc = sys_run_ns(argv, 10000, NULL, &err, netns);
	if (rc != 0) {
		fprintf(stderr, "XDP mode: ip");
		for (size_t i = 1; i < n; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, " exited %d: %s", rc, err ? err : "");
	}
	free(err);
	return rc == 0 ? 0 : -1;
}

/*
 * The test process enters a network namespace S of its own (the server,
 * health targets and loopback); a holder child sits in a second one, C
 * (the clients). A veth pair joins them, two queues each way so that two
 * workers get an XSK socket each. Everything goes away with the test
 * process: S with its last process, C with the holder and our fd of it,
 * the veth with S.
 */
int sys_xdp_up(void)
{
	const char *m = sys_xdp_mode();
	pid_t parent = getpid();
	char path[64], holder_s[16], ok = 'n';
	int p[2];

	if (m == NULL || sys_x.state != 0)
		return m == NULL || sys_x.state > 0 ? 0 : -1;
	sys_x.state = -1;
	if (strcmp(m, "native") != 0 && strcmp(m, "generic") != 0 && strcmp(m, "auto") != 0) {
		fprintf(stderr, "AHD_TEST_XDP=%s: want native or generic\n", m);
		return -1;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "XDP mode: unshare(CLONE_NEWNET): %s (it needs root)\n",
			strerror(errno));
		return -1;
	}
	sys_x.s_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (sys_x.s_ns < 0 || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	sys_x.holder = fork();
	if (sys_x.holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == parent && unshare(CLONE_NEWNET) == 0)
			ok = 'y';
		(void)!write(p[1], &ok, 1);
		/* It holds nothing of the test's: no socket, no log. */
		close_range(0, ~0U, 0);
		for (;;)
			pause();
	}
	close(p[1]);
	if (sys_x.holder < 0 || read(p[0], &ok, 1) != 1 || ok != 'y') {
		close(p[0]);
		fprintf(stderr, "XDP mode: the client namespace was not made\n");
		return -1;
	}
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sys_x.holder);
	snprintf(holder_s, sizeof(holder_s), "%d", (int)sys_x.holder);
	sys_x.c_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (sys_x.c_ns < 0)
		return -1;
	{
		const char *const s_lo[] = {"link", "set", "lo", "up", NULL};
		const char *const veth[] = {"link", "add", SYS_XDP_IFACE, "numrxqueues", "2",
					    "numtxqueues", "2", "type", "veth", "peer", "name",
					    SYS_XDP_PEER, "numrxqueues", "2", "numtxqueues", "2",
					    "netns", holder_s, NULL};
		const char *const s4[] = {"addr", "add", SYS_XDP_S4 "/30", "dev", SYS_XDP_IFACE, NULL};
		const char *const s6[] = {"addr", "add", SYS_XDP_S6 "/64", "dev", SYS_XDP_IFACE,
					  "nodad", NULL};
		const char *const s_up[] = {"link", "set", SYS_XDP_IFACE, "up", NULL};
		const char *const c4[] = {"addr", "add", SYS_XDP_C4 "/30", "dev", SYS_XDP_PEER, NULL};
		const char *const c6[] = {"addr", "add", "fd00:53::1/64", "dev", SYS_XDP_PEER,
					  "nodad", NULL};
		const char *const c_up[] = {"link", "set", SYS_XDP_PEER, "up", NULL};

		if (sys_ip(-1, s_lo) < 0 || sys_ip(-1, veth) < 0 || sys_ip(-1, s4) < 0 ||
		    sys_ip(-1, s6) < 0 || sys_ip(-1, s_up) < 0 || sys_ip(sys_x.c_ns, s_lo) < 0 ||
		    sys_ip(sys_x.c_ns, c4) < 0 || sys_ip(sys_x.c_ns, c6) < 0 ||
		    sys_ip(sys_x.c_ns, c_up) < 0)
			return -1;
	}
	sys_x.state = 1;
	return 0;
}

/* The fd of C in XDP mode (after sys_xdp_up), else -1. */
static int sys_client_ns(void)
{
	return sys_xdp_up() == 0 ? sys_x.c_ns : -1;
}

int sys_client_socket(int domain, int type, int protocol)
{
	int fd, saved;

	if (sys_xdp_mode() == NULL)
		return socket(domain, type | SOCK_CLOEXEC, protocol);
	/* A socket stays in the namespace it was made in. */
	if (sys_xdp_up() < 0 || setns(sys_x.c_ns, CLONE_NEWNET) != 0)
		return -1;
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	saved = errno;
	if (setns(sys_x.s_ns, CLONE_NEWNET) != 0)
		abort(); /* the test would go on in the wrong namespace */
	errno = saved;
	return fd;
}

int sys_connect(const char *addr, uint16_t port, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			return -1;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			return -1;
		sl = sizeof(*a);
	}
	fd = sys_client_socket(ss.ss_family, type, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sys_run_client(const char *const *argv, int timeout_ms, char **out, char **err)
{
	if (sys_xdp_mode() != NULL && sys_client_ns() < 0)
		return -1;
	return sys_run_ns(argv, timeout_ms, out, err, sys_xdp_mode() != NULL ? sys_x.c_ns : -1);
}

size_t sys_count_lines(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n' || p[1] == '\0')
			n++;
	}
	return n;
}

ssize_t sys_exchange(const char *addr, uint16_t port, const uint8_t *q,
		     size_t qlen, uint8_t *resp, size_t cap, int timeout_ms)
{
	struct pollfd pfd;
	ssize_t n = -1;
	/* Connected: only a reply from exactly addr:port is accepted. */
	int fd = sys_connect(addr, port, SOCK_DGRAM);

	if (fd < 0)
		return -1;
	if (send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (int64_t end = sys_now_ms() + timeout_ms;;) {
		int64_t left = end - sys_now_ms();

		if (left <= 0)
			goto out;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, resp, cap, 0);
		if (n >= 0)
			break;
		/* ECONNREFUSED: nobody listens yet (ICMP port unreachable). */
		if (errno == ECONNREFUSED) {
			sys_sleep_ms(left < 10 ? (int)left : 10);
			n = -1;
			goto out;
		}
	}
out:
	close(fd);
	return n;
}

ldns_pkt *sys_query(uint16_t port, const char *name, ldns_rr_type type,
		    ldns_rr_class cls, bool rd)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	ldns_pkt *q, *r = NULL;
	uint8_t *wire = NULL;
	uint8_t resp[65535];
	size_t wlen;
	ssize_t n;

	if (dname == NULL)
		return NULL;
	q = ldns_pkt_query_new(dname, type, cls, rd ? LDNS_RD : 0);
	if (q == NULL)
		return NULL;
	ldns_pkt_set_id(q, (uint16_t)sys_random());
	if (ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK) {
		ldns_pkt_free(q);
		return NULL;
	}
	n = sys_exchange(sys_addr(), port, wire, wlen, resp, sizeof(resp), 2000);
	if (n > 0 && ldns_wire2pkt(&r, resp, (size_t)n) != LDNS_STATUS_OK)
		r = NULL;
	if (r != NULL && ldns_pkt_id(r) != ldns_pkt_id(q)) {
		ldns_pkt_free(r);
		r = NULL;
	}
	LDNS_FREE(wire);
	ldns_pkt_free(q);
	return r;
}

char *sys_dig(uint16_t port, const char *const *args)
{
	const char *argv[64];
	char at[64];
	char p[8];
	char *out = NULL;
	size_t n = 0;

	snprintf(at, sizeof(at), "@%s", sys_addr());
	snprintf(p, sizeof(p), "%u", port);
	argv[n++] = "dig";
	argv[n++] = at;
	argv[n++] = "-p";
	argv[n++] = p;
	for (size_t i = 0; args[i] != NULL && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (sys_run_client(argv, 10000, &out, NULL) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int sys_tcp_connect(uint16_t port)
{
	return sys_connect(sys_addr(), port, SOCK_STREAM);
}

int sys_tcp_send(int fd, const uint8_t *q, size_t qlen)
{
	uint8_t buf[2 + 65535];

	if (qlen > 65535)
		return -1;
	buf[0] = (uint8_t)(qlen >> 8);
	buf[1] = (uint8_t)qlen;
	memcpy(buf + 2, q, qlen);
	return send(fd, buf, qlen + 2, MSG_NOSIGNAL) == (ssize_t)(qlen + 2) ? 0 : -1;
}

/* Read exactly n bytes by the deadline. 0 or -1. */
static int sys_read_exact(int fd, uint8_t *buf, size_t n, int64_t end)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = end - sys_now_ms();
		ssize_t k;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		k = recv(fd, buf + got, n - got, 0);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

ssize_t sys_tcp_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;
	uint8_t pre[2];
	size_t n;

	if (sys_read_exact(fd, pre, 2, end) < 0)
		return -1;
	n = (size_t)pre[0] << 8 | pre[1];
	if (n > cap || sys_read_exact(fd, buf, n, end) < 0)
		return -1;
	return (ssize_t)n;
}

bool sys_tcp_closed(int fd, int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
		int64_t left = end - sys_now_ms();
		uint8_t buf[512];
		ssize_t k;

		if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
			return false;
		k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

int sys_count_sockets(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char lp[320], target[64];
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		snprintf(lp, sizeof(lp), "%s/%s", path, e->d_name);
		k = readlink(lp, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		n += strncmp(target, "socket:", 7) == 0;
	}
	closedir(d);
	return n;
}

int sys_proc_status(pid_t pid, const char *field, char *buf, size_t cap)
{
	char path[64], line[512];
	size_t flen = strlen(field);
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v, *e;

		if (strncmp(line, field, flen) != 0 || line[flen] != ':')
			continue;
		v = line + flen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		snprintf(buf, cap, "%s", v);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

size_t sys_children(pid_t pid, pid_t *out, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char buf[32];
		char *end;
		long p = strtol(e->d_name, &end, 10);

		if (*end != '\0' || p <= 0)
			continue;
		if (sys_proc_status((pid_t)p, "PPid", buf, sizeof(buf)) < 0)
			continue;
		if (atol(buf) != pid)
			continue;
		/* A zombie is not a running child. */
		if (sys_proc_status((pid_t)p, "State", buf, sizeof(buf)) == 0 &&
		    buf[0] == 'Z')
			continue;
		if (n < cap)
			out[n] = (pid_t)p;
		n++;
	}
	closedir(d);
	return n;
}

int sys_cmdline(pid_t pid, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || cap == 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\0')
			buf[i] = ' ';
	}
	buf[n] = '\0';
	return 0;
}

int sys_make_key(const char *kind, char *path, size_t cap)
{
	char dir[] = "/tmp/ahd-key-XXXXXX";
	const char *argv[12];
	size_t n = 0;
	char *err = NULL;
	int rc;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, cap, "%s/key.pem", dir);
	argv[n++] = "openssl";
	argv[n++] = "genpkey";
	if (strcmp(kind, "RSA") == 0) {
		argv[n++] = "-algorithm";
		argv[n++] = "RSA";
		argv[n++] = "-pkeyopt";
		argv[n++] = "rsa_keygen_bits:2048";
	} else if (strcmp(kind, "P-256") == 0 || strcmp(kind, "P-384") == 0) {
		argv[n++] = "-algorithm";
		argv[n++] = "EC";
		argv[n++] = "-pkeyopt";
		argv[n++] = strcmp(kind, "P-256") == 0 ? "ec_paramgen_curve:P-256"
						       : "ec_paramgen_curve:P-384";
	} else {
		argv[n++] = "-algorithm";
		argv[n++] = kind;
	}
	argv[n++] = "-out";
	argv[n++] = path;
	argv[n] = NULL;
	rc = sys_run(argv, 30000, NULL, &err);
	if (rc != 0)
		fprintf(stderr, "openssl genpkey %s: %s\n", kind, err ? err : "");
	free(err);
	if (rc != 0)
		return -1;
	return chmod(path, 0600);
}

void sys_remove_key(const char *path)
{
	char dir[256];
	char *slash;
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || strncmp(dir, "/tmp/ahd-key-", 13) != 0)
		return;
	*slash = '\0';
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	(void)rmdir(dir);
}

int sys_write_file(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

char *sys_read_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (buf == NULL || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 2) {
			char *more = realloc(buf, cap * 2);

			if (more == NULL)
				break;
			buf = more;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

void sys_find_kids(pid_t sup, struct sys_kids *k)
{
	static const char worker[] = "a-healthy-dns: worker ";
	pid_t all[SYS_MAX_KIDS];
	size_t n = sys_children(sup, all, SYS_MAX_KIDS);

	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < n && i < SYS_MAX_KIDS; i++) {
		char cmd[256];
		const char *w;

		if (sys_cmdline(all[i], cmd, sizeof(cmd)) < 0)
			continue;
		w = strstr(cmd, worker);
		if (w != NULL) {
			int idx;

			if (sscanf(w + sizeof(worker) - 1, "%d", &idx) != 1)
				idx = -1;
			k->index[k->n_workers] = idx;
			k->workers[k->n_workers++] = all[i];
		} else if (strstr(cmd, "a-healthy-dns: prober") != NULL) {
			k->prober = all[i];
			k->n_probers++;
		}
	}
}

int sys_wait_kids(pid_t sup, struct sys_kids *k, size_t workers)
{
	int64_t end = sys_now_ms() + 5000;

	do {
		sys_find_kids(sup, k);
		if (k->n_workers == workers && k->n_probers == 1)
			return 0;
		sys_sleep_ms(10);
	} while (sys_now_ms() < end);
	return -1;
}

int64_t sys_soa_serial(uint16_t port, const char *zone)
{
	ldns_pkt *p = sys_query(port, zone, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, false);
	int64_t serial = -1;

	if (p == NULL)
		return -1;
	if (ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 1)
		serial = ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 2));
	ldns_pkt_free(p);
	return serial;
}

pid_t sys_target_start(const char *addr, uint16_t port, int http_status)
{
	char path[512], port_s[8], status_s[8], buf[16] = "";
	const char *argv[7];
	struct pollfd pfd;
	size_t n = 0;
	int p[2];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/ahd-health-target", sys_tools_dir());
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	snprintf(status_s, sizeof(status_s), "%d", http_status);
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "%s is missing: make %s\n", path, path);
		return -1;
	}
	/* In XDP mode it serves the server's loopback, in S. */
	if (sys_xdp_up() < 0)
		return -1;
	argv[n++] = path;
	if (http_status) {
		argv[n++] = "--http";
		argv[n++] = status_s;
	}
	if (addr != NULL) {
		argv[n++] = "--bind";
		argv[n++] = addr;
	}
	argv[n++] = port_s;
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(p[1], STDOUT_FILENO);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	if (pid < 0 || poll(&pfd, 1, 5000) != 1 || read(p[0], buf, sizeof(buf) - 1) <= 0 ||
	    strncmp(buf, "ready", 5) != 0) {
		fprintf(stderr, "the health target on port %u did not start\n", (unsigned)port);
		if (pid > 0)
			sys_target_stop(pid);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

void sys_target_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

pid_t sys_find_child(pid_t server, const char *role)
{
	pid_t kids[64];
	size_t n = sys_children(server, kids, 64);
	char cmd[1024], want[64];

	snprintf(want, sizeof(want), "a-healthy-dns: %s", role);
	for (size_t i = 0; i < n && i < 64; i++) {
		if (sys_cmdline(kids[i], cmd, sizeof(cmd)) == 0 && strstr(cmd, want) != NULL)
			return kids[i];
	}
	return 0;
}

struct json_object *sys_status_json(uint16_t port, char *why, size_t cap)
{
	char port_s[8], *out = NULL, *err = NULL;
	const char *argv[] = { sys_bin(), "status", "--json", "--port", port_s, NULL };
	struct json_object *o = NULL;
	int rc;

	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	rc = sys_run(argv, 10000, &out, &err);
	if (rc != 0)
		snprintf(why, cap, "status exited %d: %s", rc, err ? err : "");
	else if ((o = json_tokener_parse(out)) == NULL)
		snprintf(why, cap, "status --json is not JSON: %s", out ? out : "");
	free(out);
	free(err);
	return o;
}
