/*
 * proc.c: restart back-off bookkeeping, what proc_spawn refuses, and what
 * a forked prober inherits. Exec'd workers and dropping privileges are
 * exercised by tests/system/test_procs.c.
 */
#include <criterion/criterion.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

Test(proc, backoff_doubles_from_100ms_to_10s)
{
	static const int64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400,
				       10000, 10000};
	struct proc_backoff b;
	int64_t now = 1000;

	proc_backoff_init(&b);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		proc_backoff_started(&b, now);
		now += 50; /* crashed right after starting */
		cr_expect_eq(proc_backoff_died(&b, now) - now, want[i],
			     "restart %zu", i);
	}
}

Test(proc, backoff_resets_after_a_minute_of_life)
{
	struct proc_backoff b;

	proc_backoff_init(&b);
	proc_backoff_started(&b, 0);
	cr_expect_eq(proc_backoff_died(&b, 10), 110);
	proc_backoff_started(&b, 110);
	cr_expect_eq(proc_backoff_died(&b, 120), 320);
	proc_backoff_started(&b, 320);
	/* Lived 59.999 s: still backing off. */
	cr_expect_eq(proc_backoff_died(&b, 320 + 59999), 320 + 59999 + 400);
	proc_backoff_started(&b, 100000);
	/* Lived 60 s: starts over at 100 ms. */
	cr_expect_eq(proc_backoff_died(&b, 160000), 160100);
}

/* Workers are always exec'd and never get the key; the prober is always
 * forked with a function to run. */
static int test_proc_never(void *arg)
{
	(void)arg;
	return 99;
}

Test(proc, spawn_refuses_a_forked_worker_and_an_exec_prober)
{
	struct proc_spawn_args a = {
		.role = PROC_ROLE_WORKER, .config_fd = 0, .shm_fd = 0, .ready_fd = -1,
		.key_fd = -1, .stats_fd = -1, .run = test_proc_never,
	};

	errno = 0;
	cr_expect_eq(proc_spawn(&a), -1);
	cr_expect_eq(errno, EPERM);
	a.run = NULL;
	a.key_fd = 0;
	errno = 0;
	cr_expect_eq(proc_spawn(&a), -1);
	cr_expect_eq(errno, EPERM);
	a.role = PROC_ROLE_PROBER;
	errno = 0;
	cr_expect_eq(proc_spawn(&a), -1);
	cr_expect_eq(errno, EINVAL);
}

struct test_proc_fds {
	int kept;     /* handed to the child */
	int stray;    /* not handed: must be closed there */
	int report;   /* write end of a pipe, handed: the child's verdict */
};

static volatile sig_atomic_t test_proc_hits;

static void test_proc_on_usr2(int sig)
{
	(void)sig;
	test_proc_hits++;
}

/* In the forked child: what it inherited. Each check is one bit of the
 * verdict, so a failure says which. */
static int test_proc_child(void *arg)
{
	const struct test_proc_fds *f = arg;
	struct sigaction old;
	sigset_t mask;
	unsigned char verdict = 0;

	if (fcntl(f->kept, F_GETFD) < 0)
		verdict |= 1; /* a kept descriptor was closed */
	if (fcntl(f->stray, F_GETFD) >= 0 || errno != EBADF)
		verdict |= 2; /* a descriptor not handed over is still open */
	if (sigaction(SIGUSR2, NULL, &old) < 0 || old.sa_handler != SIG_DFL)
		verdict |= 4; /* the parent's handler came along */
	if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0 || sigismember(&mask, SIGUSR2))
		verdict |= 8; /* the parent's mask came along */
	if (write(f->report, &verdict, 1) != 1)
		_exit(1);
	/* _exit: criterion runs tests on threads that the fork left behind,
	 * so LeakSanitizer's check at exit() would see false leaks here. The
	 * real prober is forked from the single-threaded supervisor. */
	_exit(42);
}

Test(proc, forked_prober_runs_with_only_its_descriptors_and_default_signals)
{
	struct test_proc_fds f;
	struct sigaction sa, old_sa;
	sigset_t block, old_mask;
	int p[2], kept[2];
	unsigned char verdict = 0xff;
	int status = 0;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(kept), 0);
	f.kept = kept[0];
	f.stray = kept[1];
	f.report = p[1];
	/* The caller (the supervisor) has a handler and a blocked signal. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = test_proc_on_usr2;
	cr_assert_eq(sigaction(SIGUSR2, &sa, &old_sa), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	{
		int fds[] = {f.kept, f.report};
		struct proc_spawn_args a = {
			.role = PROC_ROLE_PROBER, .config_fd = -1, .shm_fd = -1,
			.fds = fds, .n_fds = 2, .ready_fd = -1, .key_fd = -1, .stats_fd = -1,
			.run = test_proc_child, .run_arg = &f,
		};

		pid = proc_spawn(&a);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGUSR2, &old_sa, NULL);
	cr_assert(WIFEXITED(status), "status 0x%x", (unsigned)status);
	cr_expect_eq(WEXITSTATUS(status), 42);
	cr_assert_eq(read(p[0], &verdict, 1), 1);
	cr_expect_eq(verdict, 0, "verdict bits 0x%x", verdict);
	/* The parent keeps everything it had. */
	cr_expect_geq(fcntl(f.stray, F_GETFD), 0);
	close(p[0]);
	close(p[1]);
	close(kept[0]);
	close(kept[1]);
}

Test(proc, role_names)
{
	cr_expect_str_eq(proc_role_name(PROC_ROLE_WORKER), "worker");
	cr_expect_str_eq(proc_role_name(PROC_ROLE_PROBER), "prober");
}

Test(proc, raise_nofile_reaches_what_the_hard_limit_allows)
{
	struct rlimit rl, now;
	uint64_t want, got;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	/* Lower the soft limit first, so there is something to raise. */
	now = rl;
	now.rlim_cur = 64;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &now), 0);
	want = 200;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;
	got = proc_raise_nofile(want);
	cr_assert_geq(got, want);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
	cr_assert_eq((uint64_t)now.rlim_cur, got);
	/* Already enough: nothing is lowered. */
	cr_assert_eq(proc_raise_nofile(10), got);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* The allow-lists: what each role needs is there, what it must never do
 * is not (these hold in sanitizer builds too, which only add what the
 * LeakSanitizer runtime needs at exit). */
Test(proc, sandbox_lists)
{
	static const char *const worker_yes[] = {"recvmmsg", "sendmmsg", "accept4", "epoll_pwait",
						 "write", "exit_group", "rt_sigreturn"};
	static const char *const worker_no[] = {"execve", "socket", "connect", "bind", "listen",
						"setuid", "socketpair", "fork"};
	/* accept4: the control socket the supervisor bound and listens on
	 * (DESIGN §11); the prober never binds or listens itself. */
	static const char *const prober_yes[] = {"socket", "connect", "getrandom", "clock_nanosleep",
						 "epoll_wait", "getsockopt", "read", "accept4"};
	static const char *const prober_no[] = {"execve", "bind", "listen", "setuid",
						"socketpair", "fork"};

	for (size_t i = 0; i < sizeof(worker_yes) / sizeof(worker_yes[0]); i++)
		cr_expect_eq(proc_sandbox_allows(PROC_ROLE_WORKER, worker_yes[i]), 1, "%s",
			     worker_yes[i]);
	for (size_t i = 0; i < sizeof(worker_no) / sizeof(worker_no[0]); i++)
		cr_expect_eq(proc_sandbox_allows(PROC_ROLE_WORKER, worker_no[i]), 0, "%s",
			     worker_no[i]);
	for (size_t i = 0; i < sizeof(prober_yes) / sizeof(prober_yes[0]); i++)
		cr_expect_eq(proc_sandbox_allows(PROC_ROLE_PROBER, prober_yes[i]), 1, "%s",
			     prober_yes[i]);
	for (size_t i = 0; i < sizeof(prober_no) / sizeof(prober_no[0]); i++)
		cr_expect_eq(proc_sandbox_allows(PROC_ROLE_PROBER, prober_no[i]), 0, "%s",
			     prober_no[i]);
	cr_expect_eq(proc_sandbox_allows(PROC_ROLE_WORKER, "no_such_call"), -1);
}
