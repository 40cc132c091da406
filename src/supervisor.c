#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"
#include "clock.h"
#include "dnssec.h"
#include "log.h"
#include "prober.h"
#include "proc.h"
#include "stats.h"
#include "tcp.h"
#include "udp.h"
#include "zimg.h"

/* The sd_notify(3) protocol is one datagram to $NOTIFY_SOCKET (a path, or
 * '@' for the abstract namespace), a stable interface systemd documents
 * for reimplementation. Doing it here instead of linking libsystemd drops
 * 7 of the 17 shared libraries every process loads: about 1 ms of each
 * start-up (measured with tests/perf/first_answer). */
static int supervisor_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	int fd, rc;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0 ? -1 : 1;
	close(fd);
	return rc;
}

struct supervisor_child {
	enum proc_role role;
	unsigned index;
	pid_t pid;        /* 0: not running */
	int64_t due_ms;   /* when to (re)start it while pid == 0 */
	struct proc_backoff backoff;
	const int *fds;   /* its sockets (workers) */
	size_t n_fds;
	char name[24];    /* "prober", "worker 3": for logs */
	bool stall_killed; /* the prober was killed for its heartbeat */
};

struct supervisor_addr {
	int family;
	uint8_t addr[16];
	char text[64];
	bool is_default; /* not given with --listen: may be missing */
};

struct supervisor {
	const struct config *cfg;
	struct zimg *z;
	int rw_fd;
	int ro_fd;
	int config_fd;
	int key_fd; /* sealed memfd with the validated PEM, -1: unsigned */
	int *socks; /* n_workers x n_addrs x (UDP, TCP), worker-major */
	size_t n_socks;
	size_t n_addrs; /* addresses actually bound */
	struct supervisor_child *children; /* [0] prober, [1..] workers */
	size_t n_children;
	sigset_t wait_mask; /* the mask while waiting: our signals open */
	bool stopping;
	/* Statistics (stats.h): every child gets stats_fd read-write. */
	struct stats *st;
	int stats_fd;
	char stats_name[300];
	uint64_t stats_gen;  /* the check round last told to systemd */
	int64_t status_due;  /* when to look at it again */
	/* Reload (SIGHUP). The workers keep boot_cfg's fd (config_fd); the
	 * prober, forked, inherits s->cfg, the latest valid configuration. */
	const struct config *boot_cfg;
	struct config *reloaded; /* owned; s->cfg points to it once set */
	int prober_ready_fd;     /* the ready pipe of the prober being started */
	bool prober_reloading;   /* the prober was stopped to take it */
	int argc;
	char **argv;             /* a copy: setproctitle reuses the original */
	/* Until a worker has come up: a ready pipe for restarted workers,
	 * and the deaths in a row (SUPERVISOR_EARLY_DEATHS). */
	bool workers_up;
	int wready[2];
	unsigned early_deaths;
	bool failed;             /* gave up: exit status 1 */
	bool ready_sent;         /* READY=1: a worker is up */
};

static volatile sig_atomic_t supervisor_got_chld;
static volatile sig_atomic_t supervisor_got_term;
static volatile sig_atomic_t supervisor_got_hup;

static void supervisor_on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		supervisor_got_chld = 1;
		break;
	case SIGTERM:
	case SIGINT:
		supervisor_got_term = 1;
		break;
	case SIGHUP:
		supervisor_got_hup = 1;
		break;
	}
}

/* Handlers only set flags; our signals stay blocked except inside
 * ppoll(), so none is lost between a flag check and the wait. */
static int supervisor_signals(struct supervisor *s)
{
	static const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -1;
	sigemptyset(&block);
	for (size_t i = 0; i < AHD_ARRAY_LEN(sigs); i++)
		sigaddset(&block, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, &s->wait_mask) < 0)
		return -1;
	sa.sa_handler = supervisor_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	for (size_t i = 0; i < AHD_ARRAY_LEN(sigs); i++) {
		sigdelset(&s->wait_mask, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	}
	return 0;
}

static size_t supervisor_addrs(const struct config *cfg,
			       struct supervisor_addr *out, size_t cap)
{
	size_t n = 0;

	if (cfg->n_listen == 0) {
		memset(out, 0, 2 * sizeof(*out));
		out[0].family = AF_INET;
		strlcpy(out[0].text, "0.0.0.0", sizeof(out[0].text));
		out[0].is_default = true;
		out[1].family = AF_INET6;
		strlcpy(out[1].text, "::", sizeof(out[1].text));
		out[1].is_default = true;
		return 2;
	}
	for (size_t i = 0; i < cfg->n_listen && n < cap; i++, n++) {
		out[n].family = cfg->listen[i].family;
		memcpy(out[n].addr, cfg->listen[i].addr, sizeof(out[n].addr));
		strlcpy(out[n].text, cfg->listen[i].text, sizeof(out[n].text));
		out[n].is_default = false;
	}
	return n;
}

/* A worker's two sockets per address. */
#define SUPERVISOR_SOCKS_PER_ADDR 2

/* Probe, or bind one of a worker's sockets; logs the failure. */
static int supervisor_bind_one(const struct supervisor_addr *a, uint16_t port,
			       bool tcp, bool reuseport)
{
	int fd = tcp ? tcp_listen(a->family, a->addr, port, reuseport)
		     : udp_bind(a->family, a->addr, port, reuseport);

	if (fd < 0 && !(a->is_default && errno == EAFNOSUPPORT))
		log_error("cannot listen on %s %s port %u: %s", tcp ? "TCP" : "UDP",
			  a->text, (unsigned)port, strerror(errno));
	return fd;
}

/*
 * Bind everything before any child exists. Each worker gets its own
 * SO_REUSEPORT UDP socket and TCP listener per address; the supervisor
 * keeps them all open, so while a worker restarts, queries and
 * connections hashed to its sockets wait in their queues instead of
 * being lost.
 */
static int supervisor_bind(struct supervisor *s)
{
	const struct config *cfg = s->cfg;
	struct supervisor_addr addrs[PROC_MAX_FDS];
	struct supervisor_addr *ok[PROC_MAX_FDS];
	size_t n_addrs, n_ok = 0;

	if (cfg->n_listen > PROC_MAX_FDS / SUPERVISOR_SOCKS_PER_ADDR) {
		log_error("--listen: %zu addresses given, at most %d allowed",
			  cfg->n_listen, PROC_MAX_FDS / SUPERVISOR_SOCKS_PER_ADDR);
		return -1;
	}
	n_addrs = supervisor_addrs(cfg, addrs, AHD_ARRAY_LEN(addrs));
	for (size_t a = 0; a < n_addrs; a++) {
		/* SO_REUSEPORT would let us share the port with another
		 * instance of ourselves: an exclusive bind first proves the
		 * port is free. */
		int fd = supervisor_bind_one(&addrs[a], cfg->port, false, false);
		int tfd;

		if (fd < 0 && addrs[a].is_default && errno == EAFNOSUPPORT) {
			log_warning("no %s on this host: not listening on %s",
				    addrs[a].family == AF_INET6 ? "IPv6" : "IPv4",
				    addrs[a].text);
			continue;
		}
		if (fd < 0)
			return -1;
		tfd = supervisor_bind_one(&addrs[a], cfg->port, true, false);
		close(fd);
		if (tfd < 0)
			return -1;
		close(tfd);
		ok[n_ok++] = &addrs[a];
	}
	if (n_ok == 0) {
		log_error("no address to listen on");
		return -1;
	}
	s->socks = calloc((size_t)cfg->workers * n_ok * SUPERVISOR_SOCKS_PER_ADDR,
			  sizeof(*s->socks));
	if (s->socks == NULL) {
		log_error("out of memory");
		return -1;
	}
	s->n_addrs = n_ok;
	for (unsigned w = 0; w < cfg->workers; w++) {
		for (size_t a = 0; a < n_ok; a++) {
			for (int tcp = 0; tcp < SUPERVISOR_SOCKS_PER_ADDR; tcp++) {
				int fd = supervisor_bind_one(ok[a], cfg->port, tcp, true);

				if (fd < 0)
					return -1;
				s->socks[s->n_socks++] = fd;
			}
		}
	}
	return 0;
}

/* The validated configuration for the children, in a sealed memfd: they
 * parse it back with config_from_json, never the command line. */
static int supervisor_config_fd(const struct config *cfg)
{
	char *json = config_to_json(cfg);
	size_t len, off = 0;
	int fd;

	if (json == NULL) {
		log_error("cannot serialize the configuration");
		return -1;
	}
	len = strlen(json);
	fd = memfd_create("a-healthy-dns-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		log_error("memfd_create: %s", strerror(errno));
		free(json);
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, json + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_error("writing the configuration: %s", strerror(errno));
			free(json);
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	free(json);
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
					     F_SEAL_SEAL);
	return fd;
}

static void supervisor_describe(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, cap, "stopped (status 0x%x)", (unsigned)status);
}

/* No worker ever came up and they keep dying: say why we stop. */
static void supervisor_give_up(struct supervisor *s, const struct supervisor_child *c, pid_t pid,
			       int status, const char *why)
{
	const char *hint = "";

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		hint = " (SIGSYS: a system call was refused by a seccomp filter, such as the "
		       "service's SystemCallFilter=)";
	log_critical("%s (pid %d) %s%s; %u workers in a row died before any came up: "
		     "giving up, exiting with status 1", c->name, (int)pid, why, hint,
		     s->early_deaths);
	s->failed = true;
}

/* A restarted worker's ready byte: from now on deaths are restarted
 * forever. */
static void supervisor_worker_ready(struct supervisor *s)
{
	char buf[64];
	ssize_t n = read(s->wready[0], buf, sizeof(buf));

	if (n <= 0 || memchr(buf, 'R', (size_t)n) == NULL)
		return;
	log_info("a worker came up after %u deaths in a row", s->early_deaths);
	s->workers_up = true;
	close(s->wready[0]);
	close(s->wready[1]);
	s->wready[0] = s->wready[1] = -1;
}

static void supervisor_reap(struct supervisor *s)
{
	int status;
	pid_t pid;

	supervisor_got_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int64_t now = clock_now_ms();
		char why[96];

		supervisor_describe(status, why, sizeof(why));
		for (size_t i = 0; i < s->n_children; i++) {
			struct supervisor_child *c = &s->children[i];

			if (c->pid != pid)
				continue;
			c->pid = 0;
			c->stall_killed = false;
			if (s->stopping) {
				log_debug("%s (pid %d) %s", c->name, (int)pid, why);
				break;
			}
			/* Stopped by a reload: no back-off, start it now. */
			if (c->role == PROC_ROLE_PROBER && s->prober_reloading) {
				s->prober_reloading = false;
				c->due_ms = now;
				log_info("prober (pid %d) stopped for the reload; starting it "
					 "with the new configuration", (int)pid);
				break;
			}
			if (c->role == PROC_ROLE_WORKER && !s->workers_up &&
			    ++s->early_deaths >= SUPERVISOR_EARLY_DEATHS) {
				supervisor_give_up(s, c, pid, status, why);
				break;
			}
			c->due_ms = proc_backoff_died(&c->backoff, now);
			log_warning("%s (pid %d) %s; restarting in %lld ms", c->name,
				    (int)pid, why, (long long)(c->due_ms - now));
			break;
		}
	}
}

/*
 * The prober, in the child proc_spawn forked without exec: a copy of our
 * memory, every descriptor closed but its ready pipe and the key. It
 * works on what it inherited: the current configuration (the latest
 * valid reload), the read-write
 * image mapping and the statistics mapping. No JSON round trip, no new
 * mapping, no second dynamic link; privileges go exactly as a worker's.
 */
static int supervisor_prober_run(void *arg)
{
	struct supervisor *s = arg;
	const struct config *cfg = s->cfg;
	struct proc_account acct = {cfg->user, cfg->user_ids, cfg->user_uid, cfg->user_gid};

	log_init("prober", cfg->log_level);
	proc_title("prober");
	if (proc_drop(&acct, PROC_ROLE_PROBER) < 0 || proc_sandbox(PROC_ROLE_PROBER) < 0)
		return 1;
	return prober_main(cfg, s->z, s->st, s->prober_ready_fd, s->key_fd);
}

static int supervisor_spawn(struct supervisor *s, struct supervisor_child *c,
			    int ready_fd)
{
	bool prober = c->role == PROC_ROLE_PROBER;
	struct proc_spawn_args a = {
		.role = c->role,
		.index = c->index,
		.config_fd = prober ? -1 : s->config_fd,
		.shm_fd = prober ? -1 : s->ro_fd,
		.fds = c->fds,
		.n_fds = c->n_fds,
		.ready_fd = ready_fd,
		.key_fd = prober ? s->key_fd : -1,
		.stats_fd = prober ? -1 : s->stats_fd,
		.run = prober ? supervisor_prober_run : NULL,
		.run_arg = prober ? s : NULL,
	};
	int64_t now = clock_now_ms();
	pid_t pid;

	/* The prober read() the key: the offset is shared with us. */
	if (a.key_fd >= 0 && lseek(a.key_fd, 0, SEEK_SET) != 0) {
		c->due_ms = proc_backoff_died(&c->backoff, now);
		log_error("cannot rewind the key for %s: %s; retrying in %lld ms", c->name,
			  strerror(errno), (long long)(c->due_ms - now));
		return -1;
	}
	if (prober)
		s->prober_ready_fd = ready_fd;
	pid = proc_spawn(&a);

	if (pid < 0) {
		c->due_ms = proc_backoff_died(&c->backoff, now);
		log_error("cannot start %s: %s; retrying in %lld ms", c->name,
			  strerror(errno), (long long)(c->due_ms - now));
		return -1;
	}
	c->pid = pid;
	proc_backoff_started(&c->backoff, now);
	if (c->role == PROC_ROLE_WORKER)
		stats_worker_started(s->st, c->index, pid, (int64_t)time(NULL));
	else
		stats_prober_started(s->st, pid, now);
	log_debug("started %s (pid %d)", c->name, (int)pid);
	return 0;
}

/* Sleep until a signal or the deadline (-1: none) or fd is readable
 * (fd -1: none). Returns 1 if fd is readable, else 0. */
static int supervisor_wait(struct supervisor *s, int fd, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct timespec ts, *tp = NULL;
	int n;

	if (deadline >= 0) {
		int64_t left = deadline - clock_now_ms();

		if (left < 0)
			left = 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
		tp = &ts;
	}
	n = ppoll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, tp, &s->wait_mask);
	return n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

/*
 * Read 'R' bytes from the read end of a ready pipe until want arrived,
 * every writer closed it, the deadline passed or we are told to stop.
 * Returns how many arrived.
 */
static bool supervisor_role_alive(const struct supervisor *s, enum proc_role role)
{
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].role == role && s->children[i].pid > 0)
			return true;
	}
	return false;
}

static size_t supervisor_await_ready(struct supervisor *s, enum proc_role role, int fd,
				     size_t want, int64_t deadline)
{
	size_t got = 0;

	while (got < want && !supervisor_got_term && !s->failed) {
		char buf[64];
		ssize_t n;

		if (supervisor_got_chld)
			supervisor_reap(s);
		/* Every one died: none will report (restarts wait for the
		 * main loop). */
		if (clock_now_ms() >= deadline || !supervisor_role_alive(s, role))
			break;
		if (!supervisor_wait(s, fd, deadline))
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			break; /* every writer is gone */
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			got += buf[i] == 'R';
	}
	return got;
}

static int supervisor_start_prober(struct supervisor *s)
{
	const struct config *cfg = s->cfg;
	struct supervisor_child *c = &s->children[0];
	int64_t deadline, wait_ms;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	/* A prober that cannot start is restarted by the main loop. */
	supervisor_spawn(s, c, p[1]);
	close(p[1]);
	/* The first answers must already reflect health (DESIGN §3), and be
	 * signed: the first publish signs every RRset of every zone. */
	wait_ms = (int64_t)cfg->test_timeout * 1000 + SUPERVISOR_PROBER_GRACE_MS;
	if (s->key_fd >= 0) {
		int64_t rrsets = ((int64_t)cfg->n_entries * 2 + SUPERVISOR_APEX_RRSETS) *
				 (int64_t)(1 + cfg->n_alias_zones);

		wait_ms += SUPERVISOR_SIGN_BASE_MS + rrsets * SUPERVISOR_SIGN_MS_PER_RRSET;
	}
	log_info("waiting up to %lld ms for the prober's first check round%s",
		 (long long)wait_ms, s->key_fd >= 0 ? " and the signing of every zone" : "");
	deadline = clock_now_ms() + wait_ms;
	if (c->pid > 0 && supervisor_await_ready(s, PROC_ROLE_PROBER, p[0], 1, deadline) == 1)
		log_debug("prober published the first check round");
	else if (!supervisor_got_term)
		log_warning("the prober did not report its first check round; "
			    "serving the static records meanwhile");
	close(p[0]);
	return 0;
}

static int supervisor_start_workers(struct supervisor *s)
{
	size_t n = s->n_children - 1;
	size_t got;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 1; i < s->n_children; i++)
		supervisor_spawn(s, &s->children[i], p[1]);
	got = supervisor_await_ready(s, PROC_ROLE_WORKER, p[0], n,
				     clock_now_ms() + SUPERVISOR_WORKER_READY_MS);
	if (got < n && !supervisor_got_term)
		log_warning("%zu of %zu workers came up", got, n);
	s->workers_up = got > 0;
	if (s->workers_up) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	/* None yet: the pipe stays open for a late one and for restarted
	 * workers, until one reports (supervisor_worker_ready). */
	s->wready[0] = p[0];
	s->wready[1] = p[1];
	return 0;
}

/*
 * The start-up gate (DESIGN §3) holds the workers until the prober's first
 * round, so that the first answers reflect health and are signed. A zone
 * with no health-checked address and no key has nothing to wait for: the
 * image published before any child exists is already the final one. Its
 * workers start at once, the prober only after them, off the path to the
 * first answer (started alongside, it would compete with their exec for
 * the CPU). It still runs: it fills the status table and a SIGHUP reload
 * hands it a configuration that may add health checks. READY=1 still waits
 * for its first round (one publish, no check), so that once ready every
 * child is up, as with the gate.
 */
static int supervisor_start_children(struct supervisor *s)
{
	if (s->key_fd >= 0 || stats_count_checked(s->cfg) > 0)
		return supervisor_start_prober(s) < 0 || supervisor_start_workers(s) < 0 ? -1 : 0;
	log_debug("static zone: the workers start without waiting for the prober");
	return supervisor_start_workers(s) < 0 || supervisor_start_prober(s) < 0 ? -1 : 0;
}

static int supervisor_children(struct supervisor *s)
{
	const struct config *cfg = s->cfg;

	s->n_children = 1 + (size_t)cfg->workers;
	s->children = calloc(s->n_children, sizeof(*s->children));
	if (s->children == NULL) {
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->n_children; i++) {
		struct supervisor_child *c = &s->children[i];

		proc_backoff_init(&c->backoff);
		if (i == 0) {
			c->role = PROC_ROLE_PROBER;
			strlcpy(c->name, "prober", sizeof(c->name));
			continue;
		}
		c->role = PROC_ROLE_WORKER;
		c->index = (unsigned)(i - 1);
		c->n_fds = s->n_addrs * SUPERVISOR_SOCKS_PER_ADDR;
		c->fds = s->socks + c->index * c->n_fds;
		snprintf(c->name, sizeof(c->name), "worker %u", c->index);
	}
	return 0;
}

/* config_parse reports a bad file with one line on stderr; on reload we
 * catch that line and log it, so the refusal is one log line. */
static int supervisor_parse_again(const struct supervisor *s, struct config *next,
				  char *err, size_t cap)
{
	enum config_action action = CONFIG_RUN;
	int mfd = memfd_create("a-healthy-dns-reload", MFD_CLOEXEC);
	int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	ssize_t n = 0;
	int rc;

	err[0] = '\0';
	if (mfd >= 0 && saved >= 0 && dup2(mfd, STDERR_FILENO) < 0) {
		close(mfd);
		mfd = -1;
	}
	rc = config_parse(next, s->argc, s->argv, environ, &action);
	if (mfd >= 0 && saved >= 0) {
		dup2(saved, STDERR_FILENO);
		n = pread(mfd, err, cap - 1, 0);
	}
	if (saved >= 0)
		close(saved);
	if (mfd >= 0)
		close(mfd);
	err[n > 0 ? n : 0] = '\0';
	/* "a-healthy-dns: msg\n" -> "msg"; several lines -> "a; b". */
	if (strncmp(err, AHD_NAME ": ", strlen(AHD_NAME ": ")) == 0)
		memmove(err, err + strlen(AHD_NAME ": "), strlen(err) - strlen(AHD_NAME ": ") + 1);
	for (char *p = err; *p != '\0'; p++) {
		if (*p == '\n')
			*p = p[1] != '\0' ? ';' : '\0';
	}
	if (rc == 0 && action != CONFIG_RUN) {
		config_free(next);
		strlcpy(err, "the command line asks for --help or --version", cap);
		rc = -1;
	}
	if (rc < 0 && err[0] == '\0')
		strlcpy(err, "the configuration does not check out", cap);
	return rc;
}

static bool supervisor_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool supervisor_listen_differs(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return true;
	for (size_t i = 0; i < a->n_listen; i++) {
		if (a->listen[i].family != b->listen[i].family ||
		    memcmp(a->listen[i].addr, b->listen[i].addr, sizeof(a->listen[i].addr)) != 0)
			return true;
	}
	return false;
}

/* Append name to the comma-separated list in buf. */
static void supervisor_list_add(char *buf, size_t cap, const char *name)
{
	if (buf[0] != '\0')
		strlcat(buf, ", ", cap);
	strlcat(buf, name, cap);
}

/* What the running processes were set up with and cannot take without a
 * restart: sockets, processes, the account, the shm object, the key the
 * supervisor validated. Fills buf with the flags that differ. */
static bool supervisor_needs_restart(const struct config *cur, const struct config *next,
				     char *buf, size_t cap)
{
	buf[0] = '\0';
	if (cur->port != next->port)
		supervisor_list_add(buf, cap, "port");
	if (supervisor_listen_differs(cur, next))
		supervisor_list_add(buf, cap, "listen");
	if (cur->workers != next->workers)
		supervisor_list_add(buf, cap, "workers");
	if (supervisor_str_differs(cur->user, next->user))
		supervisor_list_add(buf, cap, "user");
	if (supervisor_str_differs(cur->shm_name, next->shm_name))
		supervisor_list_add(buf, cap, "shm-name");
	if (supervisor_str_differs(cur->priv_key_path, next->priv_key_path) ||
	    (cur->priv_key_path != NULL && cur->priv_key_alg != next->priv_key_alg))
		supervisor_list_add(buf, cap, "priv-key-path/priv-key-alg");
	return buf[0] != '\0';
}

/* Settings only the workers use: they keep the values they started with
 * (their configuration fd is not replaced; a restarted worker gets the
 * same one, so cookies stay valid across workers). */
static void supervisor_worker_settings(const struct config *boot, const struct config *next,
				       char *buf, size_t cap)
{
	buf[0] = '\0';
	if (boot->edns_size != next->edns_size)
		supervisor_list_add(buf, cap, "edns-size");
	if (boot->nsid_len != next->nsid_len ||
	    memcmp(boot->nsid, next->nsid, boot->nsid_len) != 0)
		supervisor_list_add(buf, cap, "nsid");
	if (boot->tcp_max_conns != next->tcp_max_conns)
		supervisor_list_add(buf, cap, "tcp-max-conns");
	if (boot->tcp_idle_timeout != next->tcp_idle_timeout)
		supervisor_list_add(buf, cap, "tcp-idle-timeout");
	if (boot->tcp_io_timeout_ms != next->tcp_io_timeout_ms)
		supervisor_list_add(buf, cap, "tcp-io-timeout");
	if (boot->tcp_max_conns_per_client != next->tcp_max_conns_per_client)
		supervisor_list_add(buf, cap, "tcp-max-conns-per-client");
	if (boot->log_level != next->log_level)
		supervisor_list_add(buf, cap, "log-level (of the workers)");
}

/*
 * SIGHUP: read the --config file again (with the command line and the
 * environment it started with: they still take precedence) and hand a
 * valid result to a new prober. The workers answer from the current image
 * until the new prober's first round publishes the next one, so no query
 * goes unanswered. Anything that cannot change without new sockets,
 * processes, shm or key refuses the whole reload, as does a file that
 * does not check out: one log line says why, the old zone keeps serving.
 */
static void supervisor_reload(struct supervisor *s)
{
	struct supervisor_child *prober = &s->children[0];
	struct config *next = calloc(1, sizeof(*next));
	char err[512], what[256];
	size_t slot, checked;

	if (s->cfg->config_file == NULL) {
		log_warning("SIGHUP: no --config file to reload; nothing changed");
		free(next);
		return;
	}
	if (next == NULL) {
		log_error("SIGHUP: reload refused: out of memory");
		return;
	}
	if (s->ready_sent)
		supervisor_notify("RELOADING=1");
	if (supervisor_parse_again(s, next, err, sizeof(err)) < 0) {
		log_error("SIGHUP: reload refused: %s; still serving the previous configuration",
			  err);
		free(next);
		goto out;
	}
	if (supervisor_needs_restart(s->cfg, next, what, sizeof(what))) {
		log_error("SIGHUP: reload refused: %s changed, which needs a restart; still "
			  "serving the previous configuration", what);
		goto refuse;
	}
	slot = zimg_slot_need(next);
	if (slot == 0 || slot > zimg_slot_have(s->z)) {
		log_error("SIGHUP: reload refused: the new zone needs %zu bytes per image slot, "
			  "the shared memory has %zu; needs a restart; still serving the previous "
			  "configuration", slot, zimg_slot_have(s->z));
		goto refuse;
	}
	supervisor_worker_settings(s->boot_cfg, next, what, sizeof(what));
	if (what[0] != '\0')
		log_warning("SIGHUP: %s changed: the workers keep their values until a restart",
			    what);
	checked = stats_count_checked(next);
	if (s->st != NULL && checked > s->st->capacity)
		log_warning("SIGHUP: status lists the first %llu of %zu health-checked addresses "
			    "until a restart", (unsigned long long)s->st->capacity, checked);
	if (s->reloaded != NULL) {
		config_free(s->reloaded);
		free(s->reloaded);
	}
	s->reloaded = next;
	s->cfg = next;
	log_set_level(next->log_level);
	log_info("SIGHUP: reloaded %s (%zu names, %zu addresses); the prober restarts with "
		 "it, the current zone serves until its first round is published",
		 next->config_file, next->n_entries, next->n_addrs_total);
	if (prober->pid > 0) {
		s->prober_reloading = true;
		kill(prober->pid, SIGTERM);
	}
	goto out;
refuse:
	config_free(next);
	free(next);
out:
	if (s->ready_sent)
		supervisor_notify("READY=1");
}

/* Tell systemd about every new check round (the prober publishes the
 * backend table after each one). */
static void supervisor_notify_status(struct supervisor *s, int64_t now)
{
	struct stats_summary sum;
	char line[160], msg[200];

	s->status_due = now + SUPERVISOR_STATUS_MS;
	if (s->st == NULL || stats_summary(s->st, &sum) < 0 || sum.generation == s->stats_gen)
		return;
	s->stats_gen = sum.generation;
	stats_status_line(&sum, line, sizeof(line));
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	supervisor_notify(msg);
}

static int64_t supervisor_stall_ms(const struct config *cfg)
{
	struct config_ttls t;
	int64_t ms;

	config_ttls(cfg, &t);
	ms = (int64_t)t.interval * 1000 * SUPERVISOR_STALL_INTERVALS;
	if (ms < SUPERVISOR_STALL_MIN_MS)
		return SUPERVISOR_STALL_MIN_MS;
	return ms > SUPERVISOR_STALL_MAX_MS ? SUPERVISOR_STALL_MAX_MS : ms;
}

/*
 * A prober that stops beating (SIGSTOP, a debugger, a loop that never
 * returns) would stop health checks and signature renewal without a
 * word, and the zone's RRSIGs would expire. SIGKILL, because a stopped
 * process does not act on SIGTERM until continued; the reap restarts it
 * as after any death, while the workers keep answering from the last
 * image it published.
 */
static void supervisor_watch_prober(struct supervisor *s, int64_t now)
{
	struct supervisor_child *c = &s->children[0];
	int64_t age, bound;

	if (c->pid <= 0 || c->stall_killed || s->st == NULL)
		return;
	age = stats_prober_age_ms(s->st, now);
	bound = supervisor_stall_ms(s->cfg);
	if (age < 0 || age <= bound)
		return;
	c->stall_killed = true;
	log_error("prober (pid %d) sent no heartbeat for %lld ms (bound %lld ms): it is stopped or "
		  "stuck; killing it to start a new one", (int)c->pid, (long long)age,
		  (long long)bound);
	if (kill(c->pid, SIGKILL) < 0 && errno != ESRCH)
		log_error("cannot kill the prober (pid %d): %s", (int)c->pid, strerror(errno));
}

/* READY=1 once a worker is up, not before: `systemctl start` of a
 * server none of whose workers can run then fails instead of reporting
 * success for a server that answers nothing. */
static void supervisor_ready(struct supervisor *s)
{
	s->ready_sent = true;
	supervisor_notify("READY=1");
	log_info("ready");
	supervisor_notify_status(s, clock_now_ms());
}

static void supervisor_loop(struct supervisor *s)
{
	while (!supervisor_got_term && !s->failed) {
		int64_t now = clock_now_ms();
		int64_t next;

		if (s->workers_up && !s->ready_sent)
			supervisor_ready(s);

		if (supervisor_got_chld)
			supervisor_reap(s);
		if (supervisor_got_hup) {
			supervisor_got_hup = 0;
			supervisor_reload(s);
		}
		if (now >= s->status_due)
			supervisor_notify_status(s, now);
		supervisor_watch_prober(s, now);
		next = s->status_due;
		for (size_t i = 0; i < s->n_children; i++) {
			struct supervisor_child *c = &s->children[i];

			if (c->pid == 0 && c->due_ms <= now)
				supervisor_spawn(s, c, c->role == PROC_ROLE_WORKER ? s->wready[1] : -1);
			if (c->pid == 0 && c->due_ms < next)
				next = c->due_ms;
		}
		if (supervisor_got_chld || supervisor_got_hup)
			continue;
		if (supervisor_wait(s, s->wready[0], next) == 1)
			supervisor_worker_ready(s);
	}
}

static bool supervisor_any_alive(const struct supervisor *s)
{
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].pid > 0)
			return true;
	}
	return false;
}

static void supervisor_stop_children(struct supervisor *s)
{
	int64_t deadline = clock_now_ms() + SUPERVISOR_STOP_MS;

	s->stopping = true;
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].pid > 0)
			kill(s->children[i].pid, SIGTERM);
	}
	for (;;) {
		supervisor_reap(s);
		if (!supervisor_any_alive(s) || clock_now_ms() >= deadline)
			break;
		supervisor_wait(s, -1, deadline);
	}
	for (size_t i = 0; i < s->n_children; i++) {
		struct supervisor_child *c = &s->children[i];

		if (c->pid <= 0)
			continue;
		log_warning("%s (pid %d) ignored SIGTERM for %d ms: killing it",
			    c->name, (int)c->pid, SUPERVISOR_STOP_MS);
		if (kill(c->pid, SIGKILL) < 0 && errno != ESRCH) {
			/* EPERM: a sandbox took CAP_KILL away. Waiting would
			 * hang the stop forever; the children die with us
			 * anyway (PR_SET_PDEATHSIG). */
			log_error("cannot kill %s (pid %d): %s", c->name, (int)c->pid,
				  strerror(errno));
			c->pid = 0;
			continue;
		}
	}
	/* SIGKILL cannot be ignored; the bound only guards against a child
	 * stuck in the kernel (D state), which must not keep us from exiting. */
	deadline = clock_now_ms() + SUPERVISOR_STOP_MS;
	for (;;) {
		supervisor_reap(s);
		if (!supervisor_any_alive(s) || clock_now_ms() >= deadline)
			break;
		supervisor_wait(s, -1, deadline);
	}
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].pid > 0) {
			log_error("%s (pid %d) did not die; exiting without it",
				  s->children[i].name, (int)s->children[i].pid);
			s->children[i].pid = 0;
		}
	}
}

static void supervisor_cleanup(struct supervisor *s)
{
	for (size_t i = 0; i < s->n_socks; i++)
		close(s->socks[i]);
	free(s->socks);
	free(s->children);
	if (s->config_fd >= 0)
		close(s->config_fd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->st != NULL) {
		stats_close(s->st);
		stats_unlink(s->stats_name);
	}
	if (s->key_fd >= 0)
		close(s->key_fd);
	for (int i = 0; i < 2; i++) {
		if (s->wready[i] >= 0)
			close(s->wready[i]);
	}
	if (s->rw_fd >= 0)
		close(s->rw_fd);
	if (s->ro_fd >= 0)
		close(s->ro_fd);
	if (s->z != NULL) {
		zimg_close(s->z);
		zimg_unlink(s->cfg->shm_name);
	}
	if (s->reloaded != NULL) {
		config_free(s->reloaded);
		free(s->reloaded);
	}
	for (int i = 0; s->argv != NULL && i < s->argc; i++)
		free(s->argv[i]);
	free(s->argv);
}

/* setproctitle() writes the title over the original argv strings. */
static int supervisor_copy_args(struct supervisor *s, int argc, char **argv)
{
	s->argv = calloc((size_t)argc + 1, sizeof(*s->argv));
	if (s->argv == NULL)
		return -1;
	for (int i = 0; i < argc; i++) {
		s->argv[i] = strdup(argv[i]);
		if (s->argv[i] == NULL)
			return -1;
		s->argc = i + 1;
	}
	return 0;
}

/* The statistics object beside the zone image, sized for every worker
 * and, with room for reloads that add some, every checked address. */
static int supervisor_stats(struct supervisor *s)
{
	const struct config *cfg = s->cfg;
	size_t cap = stats_count_checked(cfg);

	cap += cap / 2 + 64;
	if (cap > STATS_MAX_BACKENDS)
		cap = STATS_MAX_BACKENDS;
	if (stats_shm_name(cfg->shm_name, s->stats_name, sizeof(s->stats_name)) < 0) {
		log_error("--shm-name: '%s' is too long for the statistics object", cfg->shm_name);
		return -1;
	}
	s->st = stats_create(s->stats_name, cfg->workers, cap, &s->stats_fd);
	return s->st != NULL ? 0 : -1;
}

/* The validated key bytes in a sealed memfd for the prober. */
static int supervisor_key_memfd(const char *pem, size_t len)
{
	size_t off = 0;
	int fd = memfd_create("a-healthy-dns-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, pem + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
					     F_SEAL_SEAL);
	return fd;
}

/*
 * Read and check the DNSSEC key as root, before anything is bound, and
 * keep its bytes for the prober in a sealed memfd (s->key_fd).
 *
 * Why a memfd and not the key file's own fd or its path: the prober may
 * be restarted at any time, and each instance must sign with exactly the
 * key validated here, whose DS we logged, even if the file is edited,
 * replaced or made unreadable meanwhile; an unprivileged prober could not
 * re-open a root-only file anyway. The supervisor rewinds it before each
 * spawn (the prober's read() moves the shared offset). Only the prober
 * gets it (proc_spawn refuses it for a worker).
 */
static int supervisor_key(struct supervisor *s)
{
	const struct config *cfg = s->cfg;
	struct dnssec_key *key;
	struct config_ttls t;
	char *pem = NULL;
	size_t len = 0;
	int err;

	if (cfg->priv_key_path == NULL)
		return 0;
	if (dnssec_key_read_pem(cfg->priv_key_path, &pem, &len) < 0)
		return -1;
	key = dnssec_key_load_mem(pem, len, cfg->priv_key_path, cfg->priv_key_alg);
	if (key == NULL) {
		dnssec_pem_free(pem, len);
		return -1;
	}
	s->key_fd = supervisor_key_memfd(pem, len);
	err = errno;
	dnssec_pem_free(pem, len);
	if (s->key_fd < 0) {
		log_startup_error("--priv-key-path: cannot hand '%s' to the prober: %s",
				  cfg->priv_key_path, strerror(err));
		dnssec_key_free(key);
		return -1;
	}
	config_ttls(cfg, &t);
	log_info("DNSSEC: %s key tag %u from %s", config_alg_name(dnssec_key_alg(key)),
		 (unsigned)dnssec_key_tag(key), cfg->priv_key_path);
	for (size_t i = 0; i <= cfg->n_alias_zones; i++) {
		const char *apex = i == 0 ? cfg->hosted_zone : cfg->alias_zones[i - 1];
		char line[1024];

		if (dnssec_ds_text(key, apex, t.dnskey, line, sizeof(line)) == 0)
			log_info("DS for the parent of %s: %s", apex, line);
	}
	dnssec_key_free(key);
	return 0;
}

/* Children never run as root. config_parse looked the account up, the
 * one lookup of the user database; its numbers go to the children. */
static int supervisor_check_user(const struct config *cfg)
{
	const char *name = cfg->user != NULL ? cfg->user : AHD_NAME;

	if (geteuid() != 0)
		return 0;
	if (!cfg->user_ids) {
		log_error("--user: the account %s was not looked up", name);
		return -1;
	}
	if (cfg->user_uid == 0 || cfg->user_gid == 0) {
		log_error("--user: %s has uid or gid 0; workers and the prober "
			  "never run as root", name);
		return -1;
	}
	return 0;
}

/* Room for every socket here, and for a worker's whole connection table
 * (children inherit the limit; they can no longer raise it past the hard
 * limit once unprivileged). A worker that still lacks room shrinks its
 * table and says so. */
static void supervisor_nofile(const struct config *cfg)
{
	unsigned conns = cfg->tcp_max_conns ? cfg->tcp_max_conns
					    : CONFIG_DEFAULT_TCP_MAX_CONNS;
	uint64_t worker = (uint64_t)conns + PROC_MAX_FDS + 32;
	uint64_t own = (uint64_t)cfg->workers * PROC_MAX_FDS + 64;
	uint64_t want = worker > own ? worker : own;
	uint64_t got = proc_raise_nofile(want);

	if (got < want)
		log_warning("open file limit %llu is below the %llu wanted; "
			    "raise LimitNOFILE", (unsigned long long)got,
			    (unsigned long long)want);
}

int supervisor_main(const struct config *cfg, int argc, char **argv)
{
	struct supervisor s;
	uint32_t serial = 0;
	int status = 1;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.boot_cfg = cfg;
	s.rw_fd = s.ro_fd = s.config_fd = s.key_fd = s.stats_fd = -1;
	s.prober_ready_fd = s.wready[0] = s.wready[1] = -1;
	log_init("supervisor", cfg->log_level);
	if (supervisor_copy_args(&s, argc, argv) < 0) {
		log_error("out of memory");
		goto out;
	}
	proc_title("supervisor");

	/* A bad key is refused before anything is bound (DESIGN §1). */
	if (supervisor_key(&s) < 0)
		goto out;
	supervisor_nofile(cfg);
	if (supervisor_check_user(cfg) < 0 || supervisor_bind(&s) < 0)
		goto out;
	if (geteuid() != 0)
		log_warning("not started as root: cannot switch to user %s; the "
			    "workers and the prober keep uid %u",
			    cfg->user ? cfg->user : AHD_NAME, (unsigned)geteuid());
	s.z = zimg_create(cfg->shm_name, cfg, &s.rw_fd, &s.ro_fd);
	if (s.z == NULL)
		goto out;
	if (zimg_publish(s.z, cfg, NULL, &serial) < 0)
		goto out;
	if (supervisor_stats(&s) < 0)
		goto out;
	s.config_fd = supervisor_config_fd(cfg);
	if (s.config_fd < 0 || supervisor_children(&s) < 0)
		goto out;
	if (supervisor_signals(&s) < 0) {
		log_error("signals: %s", strerror(errno));
		goto out;
	}
	log_info("%s %s: zone %s, UDP and TCP port %u, %u workers, serial %u",
		 AHD_NAME, AHD_VERSION, cfg->hosted_zone, (unsigned)cfg->port,
		 cfg->workers, serial);

	if (supervisor_start_children(&s) < 0) {
		supervisor_stop_children(&s);
		goto out;
	}
	if (!supervisor_got_term && !s.failed)
		supervisor_loop(&s);
	supervisor_notify("STOPPING=1");
	log_info("stopping");
	supervisor_stop_children(&s);
	status = s.failed ? 1 : 0;
out:
	supervisor_cleanup(&s);
	return status;
}
