/*
 * Process management: the ONLY module that forks, execs, changes
 * credentials or restricts a process (DESIGN §8, habit 2).
 *
 * Workers are started by fork + exec of /proc/self/exe with an internal
 * command line (relayd's way), so they inherit file descriptors but never
 * the supervisor's memory, and each gets a fresh address-space layout:
 *   a-healthy-dns --role worker --index N --config-fd F --shm-fd F
 *                 [--fds a,b,...] [--ready-fd F] [--stats-fd F]
 * The prober is forked without exec: it runs a function of the caller in
 * a copy of its memory (the configuration, the image and statistics
 * mappings it would be handed anyway) and is the only child given the
 * DNSSEC key (key_fd). Both drop privileges the same way (proc_drop,
 * proc_sandbox).
 */
#ifndef AHD_PROC_H
#define AHD_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Restart back-off of a child: 100 ms, doubling up to 10 s; a child that
 * lived 60 s starts again at 100 ms. */
#define PROC_BACKOFF_MIN_MS 100
#define PROC_BACKOFF_MAX_MS 10000
#define PROC_BACKOFF_RESET_MS 60000

/* The most descriptors a child is handed besides its fixed ones. */
#define PROC_MAX_FDS 64

enum proc_role {
	PROC_ROLE_WORKER = 0,
	PROC_ROLE_PROBER,
	PROC_ROLE_NOTIFIER, /* forked like the prober, never given the key */
	PROC_ROLE_METRICS,  /* forked like the notifier: the Prometheus endpoint */
};

struct proc_backoff {
	int64_t delay_ms;   /* the wait before the next restart */
	int64_t started_ms; /* when the current instance was started */
};

struct proc_spawn_args {
	enum proc_role role;
	unsigned index;
	int config_fd;
	int shm_fd;
	const int *fds; /* extra descriptors (sockets), may be NULL */
	size_t n_fds;
	int ready_fd; /* -1: none */
	/* The DNSSEC key (prober only; proc_spawn refuses it for a worker).
	 * -1: none. Zero is a valid descriptor, so set it explicitly. */
	int key_fd;
	/* The statistics object (stats.h), read-write. -1: none. */
	int stats_fd;
	/* The prober and the notifier (required for them, refused for a
	 * worker): no exec; the child runs run(run_arg) and exits with its
	 * return value. config_fd and shm_fd may then be -1: it has the
	 * caller's memory. */
	int (*run)(void *run_arg);
	void *run_arg;
};

/* The account a child switches to, as the supervisor resolved it. */
struct proc_account {
	const char *name; /* for logs */
	bool have_ids;    /* false: not resolved; a root child refuses */
	uid_t uid;
	gid_t gid;
};

void proc_backoff_init(struct proc_backoff *b);
/* The child was (re)started at now_ms. */
void proc_backoff_started(struct proc_backoff *b, int64_t now_ms);
/* The child died at now_ms: returns when (ms, same clock) to restart it,
 * and doubles the next delay. */
int64_t proc_backoff_died(struct proc_backoff *b, int64_t now_ms);

const char *proc_role_name(enum proc_role role);

/*
 * Start a child of the given role: a worker by fork + exec of
 * /proc/self/exe, the prober by fork + a->run. The child gets exactly
 * stdin/stdout/stderr plus the descriptors in *a (every other one is
 * closed), default signal handlers, an empty signal mask, and SIGTERM as
 * parent-death signal. Returns the pid, or -1 (fork failed, errno set;
 * EPERM: a key_fd or run for a worker; EINVAL: a prober without run).
 */
pid_t proc_spawn(const struct proc_spawn_args *a);

/*
 * Make sure this process (and the children it starts, who inherit it)
 * may hold want descriptors: raises the soft RLIMIT_NOFILE, and the hard
 * one too when privileged. Returns the soft limit now in force
 * (UINT64_MAX: unlimited). want UINT64_MAX: as many as allowed.
 */
uint64_t proc_raise_nofile(uint64_t want);

/*
 * data[0..len) in a new memfd named name, sealed against any change
 * (F_SEAL_WRITE, _GROW, _SHRINK, _SEAL), close-on-exec: what the
 * supervisor validated, handed to a child that cannot be given anything
 * else (the configuration, the key). Returns the fd, or -1 with errno.
 */
int proc_sealed_memfd(const char *name, const void *data, size_t len);

/* Record the supervisor's pid: the first thing an exec'd worker does
 * (a forked prober has it recorded by proc_spawn). */
void proc_child_init(void);

/*
 * A child's signals: SIGPIPE and SIGHUP ignored (a reload is the
 * supervisor's business), SIGTERM and SIGINT run on_stop (which only sets
 * a flag) but stay blocked except while the child waits with *wait_mask
 * (ppoll, epoll_pwait), so none arrives between the flag's check and the
 * wait (NSD's pattern). 0 or -1.
 */
int proc_stop_signals(void (*on_stop)(int), sigset_t *wait_mask);

/*
 * Drop privileges for good, in a child, before it reads a packet or maps
 * the image: when root, switch to the account (setgroups, setgid, setuid,
 * verified irreversible) by the numbers in *acct, never looking anything
 * up — an account with uid or gid 0, or not resolved, is refused; then
 * no_new_privs, not dumpable, parent-death signal re-armed (a credential
 * change clears it), chdir("/"). Not root: no switch is possible, the rest
 * still applies. Returns 0 or -1 (logged).
 */
int proc_drop(const struct proc_account *acct, enum proc_role role);

/*
 * Restrict the system calls of a dropped child to its role's allow-list
 * (seccomp, libseccomp); any other system call kills the process
 * (SIGSYS), and the supervisor restarts it. Called once the role is set
 * up and before it serves: workers after binding their epoll loop, the
 * prober before prober_main(). Needs proc_drop() first (no_new_privs).
 * Returns 0 or -1 (logged).
 *
 * Test hook: with AHD_TEST_SECCOMP_PROBE=<system call name> in the
 * environment, SIGUSR1 makes the process attempt that call (with zero
 * arguments) after the filter is in place, so a test can show that a
 * forbidden call kills only that process. It cannot widen the filter.
 */
int proc_sandbox(enum proc_role role);
/* The environment variable of the test hook above. */
#define PROC_TEST_SECCOMP_ENV "AHD_TEST_SECCOMP_PROBE"
/* 1 if a system call of that name is on role's allow-list, 0 if not, -1
 * if the name is unknown on this architecture (for tests). */
int proc_sandbox_allows(enum proc_role role, const char *syscall_name);

/* setproctitle(3): proc_title_init once in main() before anything reads
 * argv or the environment through other pointers (it moves environ). */
void proc_title_init(int argc, char **argv);
void proc_title(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
