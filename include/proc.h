/*
 * Process management: the ONLY module that forks, execs, changes
 * credentials or restricts a process (ARCHITECTURE habit 2).
 *
 * Children are started by fork + exec of /proc/self/exe with an internal
 * command line (relayd's way), so they inherit file descriptors but never
 * the supervisor's memory:
 *   a-healthy-dns --role worker|prober --index N --config-fd F --shm-fd F
 *                 [--fds a,b,...] [--ready-fd F] [--key-fd F] [--stats-fd F]
 * --key-fd (the DNSSEC private key) is only ever given to the prober.
 */
#ifndef AHD_PROC_H
#define AHD_PROC_H

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
};

/* Monotonic clock in milliseconds. */
int64_t proc_now_ms(void);

void proc_backoff_init(struct proc_backoff *b);
/* The child was (re)started at now_ms. */
void proc_backoff_started(struct proc_backoff *b, int64_t now_ms);
/* The child died at now_ms: returns when (ms, same clock) to restart it,
 * and doubles the next delay. */
int64_t proc_backoff_died(struct proc_backoff *b, int64_t now_ms);

const char *proc_role_name(enum proc_role role);

/*
 * fork + exec /proc/self/exe as a child of the given role. The child gets
 * exactly stdin/stdout/stderr plus the descriptors in *a (every other one
 * is closed), an empty signal mask, and SIGTERM as parent-death signal.
 * Returns the pid, or -1 (fork failed, errno set; EPERM: a key_fd for a
 * worker).
 */
pid_t proc_spawn(const struct proc_spawn_args *a);

/*
 * Make sure this process (and the children it starts, who inherit it)
 * may hold want descriptors: raises the soft RLIMIT_NOFILE, and the hard
 * one too when privileged. Returns the soft limit now in force.
 */
uint64_t proc_raise_nofile(uint64_t want);

/* Record the supervisor's pid: the first thing a child does. */
void proc_child_init(void);

/*
 * Look up the account children run as: name, or when name is NULL
 * "a-healthy-dns" if it exists, else "nobody". Copies the chosen name to
 * out. Returns 0 or -1 (no such account; errno-less, caller reports).
 */
int proc_resolve_user(const char *name, uid_t *uid, gid_t *gid, char *out,
		      size_t cap);

/*
 * Drop privileges for good, in a child, before it reads a packet or maps
 * the image: when root, switch to the account (setgroups, setgid, setuid,
 * verified irreversible) — an account with uid 0 is refused; then
 * no_new_privs, not dumpable, parent-death signal re-armed (a credential
 * change clears it), chdir("/"). Not root: no switch is possible, the rest
 * still applies. Returns 0 or -1 (logged).
 */
int proc_drop(const char *user, enum proc_role role);

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
