#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "ahd.h"
#include "log.h"

/* The name the service account gets from packaging (sysusers.d). */
#define PROC_DEFAULT_USER AHD_NAME
#define PROC_FALLBACK_USER "nobody"

extern char **environ;

static pid_t proc_parent = -1;

int64_t proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	}
	return "?";
}

static int proc_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a;
	int y = *(const int *)b;

	return (x > y) - (x < y);
}

/* In the forked child: keep 0-2 and keep[], close everything else. */
static void proc_close_others(int *keep, size_t n)
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

pid_t proc_spawn(const struct proc_spawn_args *a)
{
	char idx[16], cfd[16], sfd[16], rfd[16];
	char fdlist[PROC_MAX_FDS * 12 + 1];
	int keep[PROC_MAX_FDS + 3];
	size_t nkeep = 0;
	char *argv[16];
	size_t argc = 0;
	pid_t parent = getpid();
	pid_t pid;

	if (a->n_fds > PROC_MAX_FDS) {
		errno = EMFILE;
		return -1;
	}
	/* Everything the child needs is built before fork(): between fork
	 * and exec it only calls async-signal-safe functions. */
	snprintf(idx, sizeof(idx), "%u", a->index);
	proc_fmt_fd(cfd, sizeof(cfd), a->config_fd);
	proc_fmt_fd(sfd, sizeof(sfd), a->shm_fd);
	proc_fmt_fd(rfd, sizeof(rfd), a->ready_fd);
	fdlist[0] = '\0';
	for (size_t i = 0; i < a->n_fds; i++) {
		char one[16];

		snprintf(one, sizeof(one), i ? ",%d" : "%d", a->fds[i]);
		strlcat(fdlist, one, sizeof(fdlist));
		keep[nkeep++] = a->fds[i];
	}
	keep[nkeep++] = a->config_fd;
	keep[nkeep++] = a->shm_fd;
	if (a->ready_fd >= 0)
		keep[nkeep++] = a->ready_fd;

	argv[argc++] = (char *)AHD_NAME;
	argv[argc++] = (char *)"--role";
	argv[argc++] = (char *)proc_role_name(a->role);
	argv[argc++] = (char *)"--index";
	argv[argc++] = idx;
	argv[argc++] = (char *)"--config-fd";
	argv[argc++] = cfd;
	argv[argc++] = (char *)"--shm-fd";
	argv[argc++] = sfd;
	if (a->n_fds > 0) {
		argv[argc++] = (char *)"--fds";
		argv[argc++] = fdlist;
	}
	if (a->ready_fd >= 0) {
		argv[argc++] = (char *)"--ready-fd";
		argv[argc++] = rfd;
	}
	argv[argc] = NULL;

	pid = fork();
	if (pid != 0)
		return pid;

	/* Child. No child may outlive the supervisor. */
	sigset_t none;
	struct sigaction dfl;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	proc_close_others(keep, nkeep);
	/* /proc/self/exe: the very binary the supervisor runs, even if a
	 * package upgrade replaced the file on disk. */
	execve("/proc/self/exe", argv, environ);
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

int proc_resolve_user(const char *name, uid_t *uid, gid_t *gid, char *out,
		      size_t cap)
{
	struct passwd *pw;

	if (name == NULL) {
		pw = getpwnam(PROC_DEFAULT_USER);
		if (pw == NULL)
			pw = getpwnam(PROC_FALLBACK_USER);
	} else {
		pw = getpwnam(name);
	}
	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	strlcpy(out, pw->pw_name, cap);
	return 0;
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

static int proc_switch_user(const char *user)
{
	char name[64];
	uid_t uid;
	gid_t gid;

	if (proc_resolve_user(user, &uid, &gid, name, sizeof(name)) < 0) {
		log_critical("no such user: %s",
			     user ? user : PROC_DEFAULT_USER " or " PROC_FALLBACK_USER);
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

int proc_drop(const char *user, enum proc_role role)
{
	int dumpable = 0;

	if (geteuid() == 0) {
		if (proc_switch_user(user) < 0)
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

int proc_sandbox(enum proc_role role)
{
	/* Seccomp allow-list per role: a later issue. Install it here,
	 * after proc_drop() (no_new_privs is already set, so an
	 * unprivileged seccomp filter is allowed). */
	AHD_UNUSED(role);
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
	setproctitle("%s", buf);
}
