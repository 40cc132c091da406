#include "supervisor.h"
#include "supervisor_int.h"

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
#include "xdp.h"
#include "dnssec.h"
#include "keyset.h"
#include "log.h"
#include "check.h"
#include "prober.h"
#include "proc.h"
#include "reload.h"
#include "sdnotify.h"
#include "state.h"
#include "stats.h"
#include "tcp.h"
#include "udp.h"
#include "zimg.h"

struct supervisor_addr {
	int family;
	uint8_t addr[16];
	char text[64];
	bool is_default; /* not given with --listen: may be missing */
};


volatile sig_atomic_t supervisor_got_chld;
volatile sig_atomic_t supervisor_got_term;
volatile sig_atomic_t supervisor_got_hup;

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
	int fd;

	if (json == NULL) {
		log_error("cannot serialize the configuration");
		return -1;
	}
	fd = proc_sealed_memfd("a-healthy-dns-config", json, strlen(json));
	if (fd < 0)
		log_error("writing the configuration: %s", strerror(errno));
	free(json);
	return fd;
}

/* The reloaded keys for the next prober; the running one keeps its own
 * copy until it stops. */
static int supervisor_rekey(struct supervisor *s, const struct config *next, int *fd)
{
	*fd = -1;
	if (next->n_keys == 0)
		return 0;
	if (keyset_reload_check(s->st, next) < 0)
		return -1;
	*fd = keyset_bundle(next);
	if (*fd < 0) {
		log_error("SIGHUP: reload refused: a key does not load (the line before says "
			  "why); still serving the previous configuration");
		return -1;
	}
	return 0;
}

/*
 * The https checks' TLS contexts for cfg, made here, as root and before
 * any prober's seccomp filter, and installed for the next prober to
 * inherit (DESIGN §3.1): a CA file that cannot be loaded stops the start
 * or refuses the reload. Remade on every reload, so a renewed CA file is
 * read. 0, or -1 after one line.
 */
static int supervisor_tls(const struct config *cfg)
{
	struct check_tls *tls = check_tls_new(cfg);
	struct check_tls *old = check_tls_installed();

	if (tls == NULL)
		return -1;
	check_tls_install(tls);
	check_tls_free(old);
	return 0;
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
	struct reload_limits lim = {
		.slot_have = zimg_slot_have(s->z),
		.status_capacity = s->st != NULL ? s->st->capacity : 0,
	};
	struct config *next;
	int key_fd = -1;

	if (s->cfg->config_file == NULL) {
		log_warning("SIGHUP: no --config file to reload; nothing changed");
		return;
	}
	if (s->ready_sent)
		sdnotify_send("RELOADING=1");
	next = reload_config(s->cfg, s->boot_cfg, s->argc, s->argv, &lim);
	/* The keys and their key-state files are read again: a rollover
	 * step is a SIGHUP (DESIGN §13). Checked before the TLS contexts
	 * are installed, and installed only if those are. */
	if (next != NULL && supervisor_rekey(s, next, &key_fd) < 0) {
		config_free(next);
		free(next);
		next = NULL;
	}
	if (next != NULL && supervisor_tls(next) < 0) {
		log_error("SIGHUP: %s not reloaded; the running configuration stays",
			  next->config_file);
		config_free(next);
		free(next);
		next = NULL;
		if (key_fd >= 0)
			close(key_fd);
		key_fd = -1;
	}
	if (key_fd >= 0) {
		if (s->key_fd >= 0)
			close(s->key_fd);
		s->key_fd = key_fd;
	}
	if (next != NULL) {
		if (s->reloaded != NULL) {
			config_free(s->reloaded);
			free(s->reloaded);
		}
		s->reloaded = next;
		s->cfg = next;
		log_set_level(next->log_level);
		/* The workers read the limits from the shared table (§10). */
		stats_rrl_set(s->st, next);
		log_info("SIGHUP: reloaded %s (%zu names, %zu addresses); the prober restarts "
			 "with it, the current zone serves until its first round is published",
			 next->config_file, next->n_entries, next->n_addrs_total);
		if (prober->pid > 0) {
			s->prober_reloading = true;
			kill(prober->pid, SIGTERM);
		}
		supervisor_notifier_reload(s);
	}
	if (s->ready_sent)
		sdnotify_send("READY=1");
}

/* Keep the served serial in --state-dir: the prober, unprivileged and
 * sandboxed, writes no files, so the supervisor saves what the statistics
 * say is served, once a second at most (STATE_SERIAL_MARGIN). */
static void supervisor_save_serial(struct supervisor *s, uint32_t serial)
{
	const char *dir = s->cfg->state_dir;

	if (dir == NULL || serial == s->serial_saved)
		return;
	if (state_serial_save(dir, serial) < 0) {
		if (!s->serial_save_failed)
			log_error("--state-dir %s: cannot save serial %u: %s; a restart may "
				  "serve a lower serial", dir, serial, strerror(errno));
		s->serial_save_failed = true;
		return;
	}
	if (s->serial_save_failed)
		log_info("--state-dir %s: serial %u saved", dir, serial);
	s->serial_save_failed = false;
	s->serial_saved = serial;
}

/* The image the workers start with: static records only, with a serial
 * above the one a previous run saved (state.h) and above the clock. */
static int supervisor_first_publish(struct supervisor *s, uint32_t *serial)
{
	uint32_t now = (uint32_t)time(NULL), saved;

	if (s->cfg->state_dir != NULL &&
	    state_serial_load(s->cfg->state_dir, &saved) == 1) {
		now = zimg_next_serial(saved + STATE_SERIAL_MARGIN, now);
		log_info("--state-dir %s: the last run served serial %u", s->cfg->state_dir,
			 saved);
	}
	if (zimg_publish_at(s->z, s->cfg, NULL, now, serial) < 0)
		return -1;
	supervisor_save_serial(s, *serial);
	return 0;
}

/* Tell systemd about every new check round (the prober publishes the
 * backend table after each one), and save its serial. */
static void supervisor_notify_status(struct supervisor *s, int64_t now)
{
	struct stats_summary sum;
	char line[160], msg[200];

	s->status_due = now + SUPERVISOR_STATUS_MS;
	if (s->st == NULL || stats_summary(s->st, &sum) < 0 || sum.generation == s->stats_gen)
		return;
	s->stats_gen = sum.generation;
	supervisor_save_serial(s, zimg_serial(s->z));
	stats_status_line(&sum, line, sizeof(line));
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	sdnotify_send(msg);
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
	sdnotify_send("READY=1");
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

static void supervisor_cleanup(struct supervisor *s)
{
	supervisor_control_close(s);
	xdp_detach();
	check_tls_free(check_tls_installed());
	for (size_t i = 0; i < s->n_socks; i++)
		close(s->socks[i]);
	free(s->socks);
	free(s->children);
	if (s->config_fd >= 0)
		close(s->config_fd);
	if (s->metrics_fd >= 0)
		close(s->metrics_fd);
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
	stats_rrl_set(s->st, cfg);
	return s->st != NULL ? 0 : -1;
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
	if (s->cfg->n_keys == 0)
		return 0;
	/* Every key, checked, its DS logged (keyset.c). */
	s->key_fd = keyset_bundle(s->cfg);
	return s->key_fd >= 0 ? 0 : -1;
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
	s.ro_fd = s.config_fd = s.key_fd = s.stats_fd = s.metrics_fd = -1;
	s.prober_ready_fd = s.wready[0] = s.wready[1] = -1;
	s.ctl_fd = s.ctl_chan[0] = s.ctl_chan[1] = -1;
	log_init("supervisor", cfg->log_level);
	if (supervisor_copy_args(&s, argc, argv) < 0) {
		log_error("out of memory");
		goto out;
	}
	proc_title("supervisor");

	/* A bad key is refused before anything is bound (DESIGN §1). */
	if (supervisor_key(&s) < 0 || supervisor_tls(cfg) < 0)
		goto out;
	supervisor_nofile(cfg);
	/* XDP after the sockets: what the program passes to the kernel
	 * (and what it steers before a worker has its XSK socket) finds
	 * them bound. */
	if (supervisor_check_user(cfg) < 0 || supervisor_bind(&s) < 0 ||
	    supervisor_bind_metrics(&s) < 0 || xdp_attach(cfg) < 0)
		goto out;
	if (geteuid() != 0)
		log_warning("not started as root: cannot switch to user %s; the "
			    "workers and the prober keep uid %u",
			    cfg->user ? cfg->user : AHD_NAME, (unsigned)geteuid());
	s.z = zimg_create(cfg->shm_name, cfg, &s.ro_fd);
	if (s.z == NULL)
		goto out;
	if (supervisor_first_publish(&s, &serial) < 0)
		goto out;
	if (supervisor_stats(&s) < 0 || supervisor_control_open(&s) < 0)
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
	supervisor_save_serial(&s, zimg_serial(s.z));
	sdnotify_send("STOPPING=1");
	log_info("stopping");
	supervisor_stop_children(&s);
	status = s.failed ? 1 : 0;
out:
	supervisor_cleanup(&s);
	return status;
}
