/*
 * proc.c: restart back-off bookkeeping and the account lookup. Spawning
 * and dropping privileges are exercised by tests/system/test_procs.c.
 */
#include <criterion/criterion.h>

#include <sys/resource.h>

#include <string.h>

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

Test(proc, resolve_user)
{
	char name[64];
	uid_t uid = 0;
	gid_t gid = 0;

	cr_assert_eq(proc_resolve_user("root", &uid, &gid, name, sizeof(name)), 0);
	cr_expect_eq(uid, 0);
	cr_expect_str_eq(name, "root");
	cr_expect_eq(proc_resolve_user("no-such-user-ahd", &uid, &gid, name,
				       sizeof(name)), -1);
	/* The default: the service account, else nobody. */
	cr_assert_eq(proc_resolve_user(NULL, &uid, &gid, name, sizeof(name)), 0);
	cr_expect(strcmp(name, "a-healthy-dns") == 0 || strcmp(name, "nobody") == 0,
		  "%s", name);
	cr_expect_neq(uid, 0);
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
	static const char *const prober_yes[] = {"socket", "connect", "getrandom", "clock_nanosleep",
						 "epoll_wait", "getsockopt", "read"};
	static const char *const prober_no[] = {"execve", "bind", "listen", "accept4", "setuid",
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
