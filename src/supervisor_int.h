/*
 * What supervisor.c (set-up, the main loop, reload, liveness) and
 * supervisor_children.c (starting, reaping and stopping the prober and
 * the workers) share. Private to the supervisor.
 */
#ifndef AHD_SUPERVISOR_INT_H
#define AHD_SUPERVISOR_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "proc.h"

/* A worker's two sockets per address (UDP, TCP). */
#define SUPERVISOR_SOCKS_PER_ADDR 2

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

struct supervisor {
	const struct config *cfg;
	struct zimg *z;
	int ro_fd;
	int config_fd;
	int key_fd; /* sealed memfd with the validated PEM, -1: unsigned */
	int *socks; /* n_workers x n_addrs x (UDP, TCP), worker-major */
	size_t n_socks;
	size_t n_addrs; /* addresses actually bound */
	/* [0] prober, [1..workers] workers, [workers + 1] the notifier,
	 * which runs only while there are secondaries (--notify),
	 * [workers + 2] the metrics process (only with --metrics-listen). */
	struct supervisor_child *children;
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
	bool notifier_reloading; /* the notifier too */
	int argc;
	char **argv;             /* a copy: setproctitle reuses the original */
	/* Until a worker has come up: a ready pipe for restarted workers,
	 * and the deaths in a row (SUPERVISOR_EARLY_DEATHS). */
	bool workers_up;
	int wready[2];
	unsigned early_deaths;
	bool failed;             /* gave up: exit status 1 */
	bool ready_sent;         /* READY=1: a worker is up */
	/* --state-dir (state.h): the serial last saved, and whether a
	 * failure to save was logged (once until a save works again). */
	uint32_t serial_saved;
	bool serial_save_failed;
	/* --metrics-listen: the listener bound before anything dropped
	 * privileges, handed to each metrics process (-1: off). */
	int metrics_fd;
	/* The control socket (supervisor_control.c): the listening socket
	 * (-1: none), the pair the prober sends the overrides' bytes over
	 * ([0] ours, [1] the prober's), and those bytes. */
	int ctl_fd;
	bool ctl_bound;
	int ctl_chan[2];
	char *ov_blob;
	size_t ov_len;
};

/* Set by the signal handler (supervisor.c), cleared where acted on. */
extern volatile sig_atomic_t supervisor_got_chld;
extern volatile sig_atomic_t supervisor_got_term;
extern volatile sig_atomic_t supervisor_got_hup;

/* A child that is not to run: never due. */
#define SUPERVISOR_NEVER INT64_MAX

/* supervisor_control.c */
int supervisor_control_open(struct supervisor *s);
void supervisor_control_drain(struct supervisor *s);
size_t supervisor_control_fds(struct supervisor *s, int *fds);
void supervisor_control_close(struct supervisor *s);

/* supervisor_children.c */
struct supervisor_child *supervisor_notifier(struct supervisor *s);
/* supervisor_metrics.c */
int supervisor_bind_metrics(struct supervisor *s);
int supervisor_metrics_run(void *arg);
void supervisor_notifier_reload(struct supervisor *s);
int supervisor_children(struct supervisor *s);
int supervisor_start_children(struct supervisor *s);
void supervisor_reap(struct supervisor *s);
int supervisor_spawn(struct supervisor *s, struct supervisor_child *c, int ready_fd);
int supervisor_wait(struct supervisor *s, int fd, int64_t deadline);
void supervisor_worker_ready(struct supervisor *s);
void supervisor_stop_children(struct supervisor *s);

#endif
