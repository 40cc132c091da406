#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>
#include <openssl/crypto.h>
#include <seccomp.h>

#include "ahd.h"
#include "log.h"

extern char **environ;

static pid_t proc_parent = -1;

void proc_backoff_init(struct proc_backoff *b)
{
	b->delay_ms = PROC_BACKOFF_MIN_MS;
	b->started_ms = 0;
}

void proc_backoff_started(struct proc_backoff *b, int64_t now_ms)
{
	b->started_ms = now_ms;
}

int64_t proc_backoff_died(struct proc_backoff *b, int64_t now_ms)
{
	int64_t due;

	/* A child that ran for a while died of something new, not of a
	 * crash loop: restart it quickly again. */
	if (now_ms - b->started_ms >= PROC_BACKOFF_RESET_MS)
		b->delay_ms = PROC_BACKOFF_MIN_MS;
	due = now_ms + b->delay_ms;
	b->delay_ms *= 2;
	if (b->delay_ms > PROC_BACKOFF_MAX_MS)
		b->delay_ms = PROC_BACKOFF_MAX_MS;
	return due;
}

const char *proc_role_name(enum proc_role role)
{
	switch (role) {
	case PROC_ROLE_WORKER:
		return "worker";
	case PROC_ROLE_PROBER:
		return "prober";
	case PROC_ROLE_NOTIFIER:
		return "notifier";
	case PROC_ROLE_METRICS:
		return "metrics";
	}
	return "?";
}

static int proc_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a;
	int y = *(const int *)b;

	return (x > y) - (x < y);
}

/* In the forked child: keep 0-2 and keep[], close everything else;
 * for_exec: the kept ones lose FD_CLOEXEC so they survive the exec. */
static void proc_close_others(int *keep, size_t n, bool for_exec)
{
	unsigned lo = 3;

	qsort(keep, n, sizeof(*keep), proc_cmp_int);
	for (size_t i = 0; i < n; i++) {
		int fl;

		if (keep[i] < 3)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
		if (!for_exec)
			continue;
		fl = fcntl(keep[i], F_GETFD);
		if (fl >= 0)
			fcntl(keep[i], F_SETFD, fl & ~FD_CLOEXEC);
	}
	close_range(lo, ~0u, 0);
}

static void proc_fmt_fd(char *buf, size_t cap, int fd)
{
	snprintf(buf, cap, "%d", fd);
}

/* In the forked child, first thing: no child may outlive the supervisor,
 * and none starts with the supervisor's signal handlers or mask. */
static void proc_child_signals(pid_t parent)
{
	struct sigaction dfl;
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	/* The supervisor's handlers came with fork(): a SIGTERM sent before
	 * the exec (or before the prober installs its own) would run its
	 * handler here and be lost. Defaults first, then unblock. */
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * The prober: fork, no exec. It shares the supervisor's relocated
 * library pages copy-on-write and skips a second dynamic link; what it
 * inherits in memory is the configuration and the images it is handed
 * anyway (see proc.h). Its descriptors are cut down to keep[] as for an
 * exec'd child.
 */
static pid_t proc_fork_run(const struct proc_spawn_args *a, int *keep, size_t nkeep)
{
	pid_t parent = getpid();
	pid_t pid;
	int status;

	/* Buffered output would be written twice: by us and by the child's
	 * exit(). */
	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	proc_child_signals(parent);
	proc_close_others(keep, nkeep, false);
	proc_parent = parent;
	status = a->run(a->run_arg);
	/* exit(), not _exit(): the sanitizers' leak check runs at exit. */
	exit(status & 0xff);
}

/* What proc_spawn refuses: errno EMFILE, EPERM or EINVAL, else 0. */
static int proc_spawn_check(const struct proc_spawn_args *a)
{
	if (a->n_fds > PROC_MAX_FDS)
		return EMFILE;
	/* Workers never see the key (DESIGN §2, DNSSEC), and are always a fresh
	 * exec: never a copy of the supervisor's memory. The prober is the
	 * forked one. */
	if (a->key_fd >= 0 && a->role != PROC_ROLE_PROBER)
		return EPERM;
	if (a->run != NULL && a->role == PROC_ROLE_WORKER)
		return EPERM;
	if (a->role != PROC_ROLE_WORKER && a->run == NULL)
		return EINVAL;
	if (a->run == NULL && (a->config_fd < 0 || a->shm_fd < 0))
		return EINVAL;
	return 0;
}

/* The descriptors the child keeps: its sockets, then the others it got. */
static size_t proc_keep_fds(const struct proc_spawn_args *a, int *keep)
{
	const int extra[] = { a->config_fd, a->shm_fd, a->ready_fd, a->key_fd, a->stats_fd };
	size_t n = 0;

	for (size_t i = 0; i < a->n_fds; i++)
		keep[n++] = a->fds[i];
	for (size_t i = 0; i < AHD_ARRAY_LEN(extra); i++) {
		if (extra[i] >= 0)
			keep[n++] = extra[i];
	}
	return n;
}

/* A worker's command line and the text it points into. */
struct proc_argv {
	char idx[16], cfd[16], sfd[16], rfd[16], tfd[16];
	char fdlist[PROC_MAX_FDS * 12 + 1];
	char *argv[20];
};

static void proc_worker_argv(const struct proc_spawn_args *a, struct proc_argv *v)
{
	size_t argc = 0;

	snprintf(v->idx, sizeof(v->idx), "%u", a->index);
	proc_fmt_fd(v->cfd, sizeof(v->cfd), a->config_fd);
	proc_fmt_fd(v->sfd, sizeof(v->sfd), a->shm_fd);
	proc_fmt_fd(v->rfd, sizeof(v->rfd), a->ready_fd);
	proc_fmt_fd(v->tfd, sizeof(v->tfd), a->stats_fd);
	v->fdlist[0] = '\0';
	for (size_t i = 0; i < a->n_fds; i++) {
		char one[16];

		snprintf(one, sizeof(one), i ? ",%d" : "%d", a->fds[i]);
		strlcat(v->fdlist, one, sizeof(v->fdlist));
	}
	v->argv[argc++] = (char *)AHD_NAME;
	v->argv[argc++] = (char *)"--role";
	v->argv[argc++] = (char *)proc_role_name(a->role);
	v->argv[argc++] = (char *)"--index";
	v->argv[argc++] = v->idx;
	v->argv[argc++] = (char *)"--config-fd";
	v->argv[argc++] = v->cfd;
	v->argv[argc++] = (char *)"--shm-fd";
	v->argv[argc++] = v->sfd;
	if (a->n_fds > 0) {
		v->argv[argc++] = (char *)"--fds";
		v->argv[argc++] = v->fdlist;
	}
	if (a->ready_fd >= 0) {
		v->argv[argc++] = (char *)"--ready-fd";
		v->argv[argc++] = v->rfd;
	}
	if (a->stats_fd >= 0) {
		v->argv[argc++] = (char *)"--stats-fd";
		v->argv[argc++] = v->tfd;
	}
	v->argv[argc] = NULL;
}

pid_t proc_spawn(const struct proc_spawn_args *a)
{
	int keep[PROC_MAX_FDS + 5];
	struct proc_argv v;
	size_t nkeep;
	pid_t parent = getpid();
	pid_t pid;
	int err = proc_spawn_check(a);

	if (err != 0) {
		errno = err;
		return -1;
	}
	nkeep = proc_keep_fds(a, keep);
	if (a->run != NULL)
		return proc_fork_run(a, keep, nkeep);
	/* Everything the child needs is built before fork(): between fork
	 * and exec it only calls async-signal-safe functions. */
	proc_worker_argv(a, &v);
	pid = fork();
	if (pid != 0)
		return pid;

	proc_child_signals(parent);
	proc_close_others(keep, nkeep, true);
	/* /proc/self/exe: the very binary the supervisor runs, even if a
	 * package upgrade replaced the file on disk. fexecve of an fd rather
	 * than execve of the path: valgrind --trace-children maps an open of
	 * /proc/self/exe to the client binary, but an execve of the path
	 * loads valgrind's own tool. The fd still names the exact binary that
	 * is running. */
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (exe >= 0)
		fexecve(exe, v.argv, environ);
	_exit(127);
}

uint64_t proc_raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		struct rlimit up = rl;

		up.rlim_cur = want;
		if (up.rlim_max != RLIM_INFINITY && up.rlim_max < want)
			up.rlim_max = want;
		/* Raising the hard limit needs CAP_SYS_RESOURCE; without it,
		 * go as far as the hard limit allows. */
		if (setrlimit(RLIMIT_NOFILE, &up) < 0) {
			up.rlim_max = rl.rlim_max;
			up.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
					      ? rl.rlim_max
					      : want;
			(void)setrlimit(RLIMIT_NOFILE, &up);
		}
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

void proc_child_init(void)
{
	proc_parent = getppid();
}

/* Empty the bounding set so no later exec can regain a capability;
 * best effort: inside some containers CAP_SETPCAP is already gone. */
static void proc_drop_bounding_set(void)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the kernel's last capability */
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	}
}

static int proc_switch_user(const struct proc_account *acct)
{
	const char *name = acct->name != NULL ? acct->name : "(unnamed)";
	uid_t uid = acct->uid;
	gid_t gid = acct->gid;

	/* The supervisor looked the account up; a child never reads the
	 * user database (no NSS module loaded into it, no /etc/passwd). */
	if (!acct->have_ids) {
		log_critical("the account %s was not resolved to a uid and gid: refusing to run "
			     "as root", name);
		return -1;
	}
	if (uid == 0 || gid == 0) {
		log_critical("user %s has uid or gid 0: refusing to run a child as root",
			     name);
		return -1;
	}
	proc_drop_bounding_set();
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_critical("cannot switch to user %s: %s", name, strerror(errno));
		return -1;
	}
	/* The switch must be irreversible. */
	if (setuid(0) == 0 || seteuid(0) == 0 || geteuid() != uid ||
	    getegid() != gid) {
		log_critical("privileges could be regained after switching to %s",
			     name);
		return -1;
	}
	log_debug("running as %s (uid %u, gid %u)", name, (unsigned)uid,
		  (unsigned)gid);
	return 0;
}

int proc_drop(const struct proc_account *acct, enum proc_role role)
{
	int dumpable = 0;

	if (geteuid() == 0) {
		if (proc_switch_user(acct) < 0)
			return -1;
	} else if (getuid() == 0) {
		log_critical("real uid 0 with non-zero effective uid: refusing");
		return -1;
	}
	/* The supervisor already warned once that without root no switch
	 * is possible; the child keeps the caller's unprivileged uid. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_critical("no_new_privs: %s", strerror(errno));
		return -1;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer ptrace()s its own process at exit, which a
	 * non-dumpable process forbids. Only in sanitizer builds. */
	dumpable = 1;
#endif
	/* Not dumpable: no core file or ptrace can read the prober's key or
	 * the worker's memory. */
	if (prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0) < 0) {
		log_critical("PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	/* A credential change cleared the parent-death signal. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		log_critical("PR_SET_PDEATHSIG: %s", strerror(errno));
		return -1;
	}
	if (proc_parent > 0 && getppid() != proc_parent) {
		log_critical("the supervisor is gone");
		return -1;
	}
	if (chdir("/") < 0) {
		log_critical("chdir /: %s", strerror(errno));
		return -1;
	}
	AHD_UNUSED(role);
	return 0;
}

/*
 * The allow-lists. Names, not numbers: libseccomp resolves them for the
 * architecture we run on, and a name that architecture lacks (epoll_wait
 * on arm64) is skipped. Every list is what the role does once it is set
 * up, found with strace -f on a signed server under load, plus the
 * libc internals behind it (malloc: brk/mmap/munmap/mremap/madvise;
 * stdio and logging: write; the clock: the vDSO, with the system call
 * as fallback; qsort: sysinfo, the first time it sorts more than 1 KiB,
 * to size its buffer against physical memory).
 */
static const char *const proc_sys_common[] = {
	"read", "write", "writev", "close", "brk", "mmap", "munmap", "mremap",
	"madvise", "futex", "clock_gettime", "clock_getres", "gettimeofday", "time",
	"getpid", "gettid", "rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"sysinfo", "exit", "exit_group",
};

/* A worker: its sockets are bound and its epoll loop set up; it only
 * receives, answers, accepts and closes TCP connections. */
static const char *const proc_sys_worker[] = {
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "recvmmsg",
	"sendmmsg", "recvfrom", "sendto", "recvmsg", "sendmsg", "accept4", "accept",
	"shutdown", "setsockopt", "getsockopt", "getsockname", "getpeername", "fcntl",
	"clock_nanosleep", /* the UDP pause under load (worker.c) */
};

/*
 * The prober: installed before prober_main(), so it also covers its
 * start: reading the key from its fd (OpenSSL's decoders), the signal
 * handlers, raising its file limit. Then non-blocking connects on one
 * epoll loop, HTTP requests, TLS handshakes over them (read and write on
 * the socket; the contexts and trust anchors were made by the supervisor
 * before the fork, DESIGN §3.1), signing (getrandom for ECDSA nonces and
 * RSA blinding) and sleeping between rounds. It opens no file. The
 * control socket (DESIGN §12): accept4 on the listening socket the
 * supervisor bound, SO_PEERCRED against its own uid and gid.
 */
static const char *const proc_sys_prober[] = {
	"rt_sigaction", "prlimit64", "getrlimit", "setrlimit", "socket", "connect",
	"epoll_create1", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"shutdown", "fcntl", "clock_nanosleep", "nanosleep", "getrandom",
	"accept4", "accept", "geteuid", "getegid",
};

/*
 * The notifier (DESIGN §9.5): installed before notify_main(), which then
 * sets its signal handlers, opens one UDP socket per family, and sends
 * NOTIFY and reads the acknowledgements between waits of a few tens of
 * milliseconds (ppoll). Random message IDs come from getrandom; a TSIG
 * key is HMAC over memory it already holds. It opens no file and
 * connects nowhere.
 */
static const char *const proc_sys_notifier[] = {
	"rt_sigaction", "socket", "bind", "setsockopt", "getsockname", "sendto",
	"recvfrom", "ppoll", "poll", "clock_nanosleep", "nanosleep", "getrandom", "fcntl",
};

/*
 * The metrics process (DESIGN §11): installed once its listener is on
 * its epoll set and its signal handlers are in place; then it only
 * accepts, reads requests, writes pages and closes. No socket(),
 * connect(), bind() or open(): it can reach nothing new.
 */
static const char *const proc_sys_metrics[] = {
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "accept4", "accept",
	"recvfrom", "sendto", "shutdown",
};

/*
 * What the sanitizer runtime needs, in ASan/UBSan builds only: at exit
 * LeakSanitizer clones a tracer task that ptrace()s this process,
 * reads /proc/self/{maps,task} and waits for it; reports symbolize by
 * reading the binary. A production build never allows these.
 */
#if defined(__SANITIZE_ADDRESS__)
static const char *const proc_sys_sanitizer[] = {
	"clone", "clone3", "ptrace", "wait4", "waitid", "openat", "open", "getdents", "getdents64",
	"sched_yield", "prctl", "sigaltstack", "mprotect", "readlink", "readlinkat",
	"fstat", "newfstatat", "lseek", "pread64", "tgkill", "kill", "rt_sigaction",
	"getppid", "set_robust_list", "rseq", "prlimit64", "getrlimit", "statx",
	"sched_getaffinity", "ioctl", "dup", "dup2", "dup3", "pipe", "pipe2",
	"rt_sigtimedwait", "nanosleep", "clock_nanosleep", "uname",
	"getuid", "geteuid", "access", "faccessat", "faccessat2",
};
#endif

struct proc_sys_list {
	const char *const *names;
	size_t n;
};

#define PROC_SYS_LIST(a) { (a), AHD_ARRAY_LEN(a) }

/* The lists of role, ending with a NULL names. */
static void proc_sys_lists(enum proc_role role, struct proc_sys_list *out)
{
	size_t n = 0;

	out[n++] = (struct proc_sys_list)PROC_SYS_LIST(proc_sys_common);
	if (role == PROC_ROLE_WORKER)
		out[n++] = (struct proc_sys_list)PROC_SYS_LIST(proc_sys_worker);
	else if (role == PROC_ROLE_NOTIFIER)
		out[n++] = (struct proc_sys_list)PROC_SYS_LIST(proc_sys_notifier);
	else if (role == PROC_ROLE_METRICS)
		out[n++] = (struct proc_sys_list)PROC_SYS_LIST(proc_sys_metrics);
	else
		out[n++] = (struct proc_sys_list)PROC_SYS_LIST(proc_sys_prober);
#if defined(__SANITIZE_ADDRESS__)
	out[n++] = (struct proc_sys_list)PROC_SYS_LIST(proc_sys_sanitizer);
#endif
	out[n].names = NULL;
}

int proc_sandbox_allows(enum proc_role role, const char *syscall_name)
{
	struct proc_sys_list lists[4];

	if (seccomp_syscall_resolve_name(syscall_name) == __NR_SCMP_ERROR)
		return -1;
	proc_sys_lists(role, lists);
	for (size_t l = 0; lists[l].names != NULL; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			if (strcmp(lists[l].names[i], syscall_name) == 0)
				return 1;
		}
	}
	return 0;
}

static long proc_probe_nr = -1;

static void proc_on_probe(int sig)
{
	AHD_UNUSED(sig);
	/* The filter decides: a forbidden call never returns. */
	syscall(proc_probe_nr, 0L, 0L, 0L, 0L, 0L, 0L);
}

/* The test hook (see proc.h): armed before the filter, because
 * rt_sigaction is not on a worker's list. */
static int proc_arm_probe(void)
{
	const char *name = getenv(PROC_TEST_SECCOMP_ENV);
	struct sigaction sa;
	int nr;

	if (name == NULL || *name == '\0')
		return 0;
	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR || nr < 0) {
		log_critical("%s: unknown system call '%s'", PROC_TEST_SECCOMP_ENV, name);
		return -1;
	}
	proc_probe_nr = nr;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_on_probe;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		log_critical("sigaction: %s", strerror(errno));
		return -1;
	}
	log_warning("test hook %s=%s: SIGUSR1 makes this process call %s", PROC_TEST_SECCOMP_ENV,
		    name, name);
	return 0;
}

/* valgrind runs its client's system calls itself, so a filter would kill
 * valgrind, not police us; it preloads its vgpreload_*.so into every
 * client. (Whoever controls LD_PRELOAD owns the process anyway.) */
static bool proc_under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

int proc_sandbox(enum proc_role role)
{
	struct proc_sys_list lists[4];
	scmp_filter_ctx ctx;
	size_t allowed = 0;
	int rc;

	if (proc_arm_probe() < 0)
		return -1;
	/* What libraries open lazily, dealt with now while open() is
	 * allowed: the time zone (the first strftime() in a log line reads
	 * /etc/localtime) and, for the prober and the notifier (TSIG's HMAC),
	 * OpenSSL's configuration file, which the first key operation would
	 * read. It is never read: the
	 * signer needs only the built-in default provider, and parsing
	 * openssl.cnf cost the prober about 1.7 MB of libcrypto pages no
	 * other process touches. Once told NO_LOAD_CONFIG, OpenSSL ignores
	 * any later request to load it. */
	tzset();
	if (role != PROC_ROLE_WORKER &&
	    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		log_critical("OpenSSL initialisation failed");
		return -1;
	}
	/* KILL_PROCESS needs Linux 4.14; KILL (the thread) is the same for
	 * our single-threaded children. Where the kernel, or valgrind, which
	 * cannot emulate filters, offers no seccomp at all, run unfiltered
	 * with a warning, as OpenSSH's sandbox does: privilege separation and
	 * the user switch still hold. */
	if (proc_under_valgrind()) {
		log_warning("running under valgrind, which cannot emulate seccomp filters: the %s runs without one",
			    proc_role_name(role));
		return 0;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		ctx = seccomp_init(SCMP_ACT_KILL);
	if (ctx == NULL) {
		log_warning("seccomp is not available here: the %s runs without a system call filter",
			    proc_role_name(role));
		return 0;
	}
	proc_sys_lists(role, lists);
	for (size_t l = 0; lists[l].names != NULL; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			int nr = seccomp_syscall_resolve_name(lists[l].names[i]);

			if (nr == __NR_SCMP_ERROR)
				continue; /* not on this architecture */
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
			if (rc < 0 && rc != -EEXIST) {
				log_critical("seccomp: allowing %s: %s", lists[l].names[i],
					     strerror(-rc));
				seccomp_release(ctx);
				return -1;
			}
			allowed++;
		}
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc == -ENOSYS || rc == -EINVAL) {
		log_warning("seccomp is not available here (%s): the %s runs without a system call filter",
			    strerror(-rc), proc_role_name(role));
		return 0;
	}
	if (rc < 0) {
		log_critical("seccomp: loading the %s filter: %s", proc_role_name(role),
			     strerror(-rc));
		return -1;
	}
	log_debug("seccomp: %zu system calls allowed", allowed);
	return 0;
}

void proc_title_init(int argc, char **argv)
{
	setproctitle_init(argc, argv, environ);
}

void proc_title(const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* "-": no program name from argv[0]; the forked prober would show
	 * whatever name the supervisor was started under. */
	setproctitle("-%s: %s", AHD_NAME, buf);
}

/* Far above a real zone image (10,000 names are a few MiB) or the
 * statistics; a bigger object at our name is not ours. */

int proc_sealed_memfd(const char *name, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : EIO;

			close(fd);
			errno = err;
			return -1;
		}
		off += (size_t)w;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

int proc_stop_signals(void (*on_stop)(int), sigset_t *wait_mask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0 || sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0)
		return -1;
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	return 0;
}
