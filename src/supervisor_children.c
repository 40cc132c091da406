/*
 * The supervisor's children: the prober (forked) and the workers (fork +
 * exec), started in that order at boot, and the notifier (forked, while
 * there are secondaries: DESIGN §9.5), started by the main loop once the
 * workers answer; reaped and restarted with back-off when they die, and
 * stopped with SIGTERM then SIGKILL (DESIGN §4).
 */
#include "supervisor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"
#include "clock.h"
#include "log.h"
#include "notify.h"
#include "prober.h"
#include "stats.h"
#include "supervisor.h"
#include "tsig.h"
#include "xdp.h"
#include "zimg.h"

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
void supervisor_worker_ready(struct supervisor *s)
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

struct supervisor_child *supervisor_notifier(struct supervisor *s)
{
	return &s->children[s->n_children - 2];
}

/* Start it now if there are secondaries, else never (and say so in
 * status). */
static void supervisor_notifier_due(struct supervisor *s, struct supervisor_child *c, int64_t now)
{
	if (s->cfg->n_notify > 0) {
		c->due_ms = now;
		return;
	}
	c->due_ms = SUPERVISOR_NEVER;
	stats_notify_clear(s->st);
}

/* A reload (SIGHUP): the notifier starts again with the new list, so a
 * secondary added or removed needs no restart of anything else. */
void supervisor_notifier_reload(struct supervisor *s)
{
	struct supervisor_child *c = supervisor_notifier(s);

	if (c->pid > 0) {
		s->notifier_reloading = true;
		kill(c->pid, SIGTERM);
		return;
	}
	supervisor_notifier_due(s, c, clock_now_ms());
}

static void supervisor_notifier_died(struct supervisor *s, struct supervisor_child *c, pid_t pid,
				     const char *why, int64_t now)
{
	stats_notifier_started(s->st, 0);
	if (s->notifier_reloading) {
		s->notifier_reloading = false;
		log_info("notifier (pid %d) stopped for the reload", (int)pid);
		supervisor_notifier_due(s, c, now);
		return;
	}
	if (s->cfg->n_notify == 0) {
		supervisor_notifier_due(s, c, now);
		return;
	}
	stats_role_died(s->st, PROC_ROLE_NOTIFIER);
	c->due_ms = proc_backoff_died(&c->backoff, now);
	log_warning("%s (pid %d) %s; restarting in %lld ms", c->name, (int)pid, why,
		    (long long)(c->due_ms - now));
}

void supervisor_reap(struct supervisor *s)
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
			if (c->role == PROC_ROLE_NOTIFIER) {
				supervisor_notifier_died(s, c, pid, why, now);
				break;
			}
			if (c->role == PROC_ROLE_METRICS)
				stats_metrics_started(s->st, 0);
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
			/* Workers count theirs in their own block. */
			if (c->role != PROC_ROLE_WORKER)
				stats_role_died(s->st, c->role);
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

/*
 * The notifier, forked like the prober, but it gets no key, and not the
 * writable image: it maps the read-only descriptor as a worker does and
 * unmaps the supervisor's read-write mapping before it drops privileges.
 * It keeps the statistics mapping, where it lists the secondaries.
 */
static int supervisor_notifier_run(void *arg)
{
	struct supervisor *s = arg;
	const struct config *cfg = s->cfg;
	struct proc_account acct = {cfg->user, cfg->user_ids, cfg->user_uid, cfg->user_gid};
	struct zimg *z;
	int rc;

	log_init("notifier", cfg->log_level);
	proc_title("notifier");
	z = zimg_map(s->ro_fd, false);
	if (z == NULL)
		return 1;
	close(s->ro_fd);
	zimg_close(s->z);
	s->z = NULL;
	rc = proc_drop(&acct, PROC_ROLE_NOTIFIER) < 0 ? 1 : 0;
	/* OpenSSL's lazy set-up before the filter, as in the workers
	 * (DESIGN §9.4). */
	if (rc == 0)
		tsig_warm(&cfg->tsig);
	if (rc == 0 && proc_sandbox(PROC_ROLE_NOTIFIER) < 0)
		rc = 1;
	if (rc == 0)
		rc = notify_main(cfg, z, s->st);
	zimg_close(z);
	return rc;
}

int supervisor_spawn(struct supervisor *s, struct supervisor_child *c,
			    int ready_fd)
{
	bool prober = c->role == PROC_ROLE_PROBER;
	bool notifier = c->role == PROC_ROLE_NOTIFIER;
	bool metrics = c->role == PROC_ROLE_METRICS;
	bool forked = prober || notifier || metrics;
	struct proc_spawn_args a = {
		.role = c->role,
		.index = c->index,
		.config_fd = forked ? -1 : s->config_fd,
		.shm_fd = prober || metrics ? -1 : s->ro_fd,
		.fds = c->fds,
		.n_fds = c->n_fds,
		.ready_fd = ready_fd,
		.key_fd = prober ? s->key_fd : -1,
		.stats_fd = forked ? -1 : s->stats_fd,
		.run = prober	  ? supervisor_prober_run
		       : notifier ? supervisor_notifier_run
		       : metrics  ? supervisor_metrics_run
				  : NULL,
		.run_arg = forked ? s : NULL,
	};
	int64_t now = clock_now_ms();
	int ctl_fds[2];
	int wfds[PROC_MAX_FDS];
	int xsk = 0;
	pid_t pid;

	if (prober) {
		a.n_fds = supervisor_control_fds(s, ctl_fds);
		a.fds = ctl_fds;
	}
	/* --xdp: a fresh socket and UMEM for each start of a worker, so a
	 * restarted one never inherits a dead one's half-used rings. */
	if (c->role == PROC_ROLE_WORKER && c->n_fds + 2 <= AHD_ARRAY_LEN(wfds)) {
		memcpy(wfds, c->fds, c->n_fds * sizeof(*wfds));
		xsk = xdp_socket_new(c->index, &wfds[c->n_fds], &wfds[c->n_fds + 1]);
		if (xsk > 0) {
			a.fds = wfds;
			a.n_fds = c->n_fds + 2;
		}
	}
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
	if (xsk > 0)
		xdp_handed(c->index);

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
	else if (notifier)
		stats_notifier_started(s->st, pid);
	else if (metrics)
		stats_metrics_started(s->st, pid);
	else
		stats_prober_started(s->st, pid, now);
	log_debug("started %s (pid %d)", c->name, (int)pid);
	return 0;
}

/* Sleep until a signal or the deadline (-1: none) or fd is readable
 * (fd -1: none). Returns 1 if fd is readable, else 0. */
int supervisor_wait(struct supervisor *s, int fd, int64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = s->ctl_chan[0], .events = POLLIN },
	};
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
	/* A negative fd is ignored by ppoll. */
	n = ppoll(pfd, 2, tp, &s->wait_mask);
	/* The prober's overrides are saved wherever we wait. */
	if (n > 0 && pfd[1].revents != 0)
		supervisor_control_drain(s);
	return n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
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
	size_t n = s->cfg->workers;
	size_t got;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 1; i <= n; i++)
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
int supervisor_start_children(struct supervisor *s)
{
	if (s->key_fd >= 0 || stats_count_checked(s->cfg) > 0)
		return supervisor_start_prober(s) < 0 || supervisor_start_workers(s) < 0 ? -1 : 0;
	log_debug("static zone: the workers start without waiting for the prober");
	return supervisor_start_workers(s) < 0 || supervisor_start_prober(s) < 0 ? -1 : 0;
}

int supervisor_children(struct supervisor *s)
{
	const struct config *cfg = s->cfg;

	s->n_children = 3 + (size_t)cfg->workers;
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
		if (i == s->n_children - 1) {
			/* Started by the main loop, off the path to the first
			 * answer; never without --metrics-listen. */
			c->role = PROC_ROLE_METRICS;
			strlcpy(c->name, "metrics", sizeof(c->name));
			c->fds = &s->metrics_fd;
			c->n_fds = 1;
			c->due_ms = s->metrics_fd >= 0 ? 0 : SUPERVISOR_NEVER;
			continue;
		}
		if (i == s->n_children - 2) {
			/* The main loop starts it once the workers answer, so
			 * a secondary asked to transfer finds them up. */
			c->role = PROC_ROLE_NOTIFIER;
			strlcpy(c->name, "notifier", sizeof(c->name));
			c->due_ms = cfg->n_notify > 0 ? 0 : SUPERVISOR_NEVER;
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

static bool supervisor_any_alive(const struct supervisor *s)
{
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].pid > 0)
			return true;
	}
	return false;
}

/* Reap children as they exit, for at most ms. */
static void supervisor_reap_for(struct supervisor *s, int64_t ms)
{
	int64_t deadline = clock_now_ms() + ms;

	for (;;) {
		supervisor_reap(s);
		if (!supervisor_any_alive(s) || clock_now_ms() >= deadline)
			break;
		supervisor_wait(s, -1, deadline);
	}
}

void supervisor_stop_children(struct supervisor *s)
{
	s->stopping = true;
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].pid > 0)
			kill(s->children[i].pid, SIGTERM);
	}
	supervisor_reap_for(s, SUPERVISOR_STOP_MS);
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
	supervisor_reap_for(s, SUPERVISOR_STOP_MS);
	for (size_t i = 0; i < s->n_children; i++) {
		if (s->children[i].pid > 0) {
			log_error("%s (pid %d) did not die; exiting without it",
				  s->children[i].name, (int)s->children[i].pid);
			s->children[i].pid = 0;
		}
	}
}
