/*
 * The children's seccomp allow-lists from the outside: both roles run
 * filtered, a forbidden system call kills only the process that made it
 * (SIGSYS), the supervisor restarts it, and service goes on. The test
 * hook AHD_TEST_SECCOMP_PROBE (proc.h) makes a child attempt a named
 * call when it gets SIGUSR1.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"
#define HOOK "AHD_TEST_SECCOMP_PROBE"

#define ZONE_ARGS                                                              \
	"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]", \
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--workers",  \
		"2", "--user", "nobody", "--test-timeout", "1"

/* The children of sup whose title names role ("worker", "prober"). */
static size_t kids(pid_t sup, const char *role, pid_t *out, size_t cap)
{
	pid_t all[16];
	size_t n = sys_children(sup, all, 16), k = 0;

	for (size_t i = 0; i < n && i < 16; i++) {
		char cmd[256];

		if (sys_cmdline(all[i], cmd, sizeof(cmd)) == 0 && strstr(cmd, role) != NULL &&
		    k < cap)
			out[k++] = all[i];
	}
	return k;
}

/* Wait until sup has want children of role, none of them old. */
static pid_t wait_new_kid(pid_t sup, const char *role, size_t want, pid_t old)
{
	int64_t end = sys_now_ms() + 10000;

	while (sys_now_ms() < end) {
		pid_t k[16];
		size_t n = kids(sup, role, k, 16);
		bool has_old = false;

		for (size_t i = 0; i < n; i++)
			has_old |= k[i] == old;
		if (n == want && !has_old)
			return k[0] == old ? 0 : k[0];
		sys_sleep_ms(20);
	}
	return 0;
}

/* Whether sig is pending for pid (thread or process queue). */
static bool pending(pid_t pid, int sig)
{
	unsigned long long bit = 1ULL << (sig - 1);
	char pnd[64], shd[64];

	if (sys_proc_status(pid, "SigPnd", pnd, sizeof(pnd)) != 0 ||
	    sys_proc_status(pid, "ShdPnd", shd, sizeof(shd)) != 0)
		return false; /* gone: nothing pending */
	return ((strtoull(pnd, NULL, 16) | strtoull(shd, NULL, 16)) & bit) != 0;
}

/* Wait until pid has taken sig (it caught it, so its handler ran), or is
 * gone: the event after which the hook's call has been made. */
static void wait_taken(pid_t pid, int sig)
{
	int64_t end = sys_now_ms() + 10000;

	while (pending(pid, sig)) {
		cr_assert_lt(sys_now_ms(), end, "pid %d never took signal %d", (int)pid, sig);
		sys_sleep_ms(10);
	}
}

/* pid exists and is not a zombie waiting for the supervisor. */
static bool alive(pid_t pid)
{
	char st[64];

	return sys_proc_status(pid, "State", st, sizeof(st)) == 0 && st[0] != 'Z';
}

static void expect_filtered(pid_t pid)
{
	char v[64];

	cr_assert_eq(sys_proc_status(pid, "Seccomp", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "2", "pid %d is not in seccomp filter mode", (int)pid);
}

Test(seccomp, children_run_filtered_and_the_supervisor_does_not, .timeout = 60)
{
	const char *args[] = {ZONE_ARGS, NULL};
	struct sys_server s;
	pid_t w[16], p[2];
	char v[64];

	cr_assert_eq(sys_server_start(&s, args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0);
	cr_assert_eq(kids(s.pid, "worker", w, 16), 2);
	cr_assert_eq(kids(s.pid, "prober", p, 2), 1);
	expect_filtered(w[0]);
	expect_filtered(w[1]);
	expect_filtered(p[0]);
	cr_assert_eq(sys_proc_status(s.pid, "Seccomp", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "0");
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* A worker that makes a forbidden call dies of SIGSYS alone; a new one
 * takes its place and answers; the others never stopped. */
Test(seccomp, forbidden_call_kills_only_that_worker, .timeout = 60)
{
	const char *args[] = {ZONE_ARGS, NULL};
	struct sys_server s;
	pid_t w[16], p[2], fresh;
	char line[128];
	ldns_pkt *ans;

	setenv(HOOK, "execve", 1);
	cr_assert_eq(sys_server_start(&s, args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0);
	cr_assert_eq(kids(s.pid, "worker", w, 16), 2);
	cr_assert_eq(kids(s.pid, "prober", p, 2), 1);

	cr_assert_eq(kill(w[0], SIGUSR1), 0);
	snprintf(line, sizeof(line), "(pid %d) killed by signal %d (Bad system call)", (int)w[0],
		 SIGSYS);
	cr_assert_eq(sys_server_wait_log(&s, line, 10000), 0, "no SIGSYS death logged");
	fresh = wait_new_kid(s.pid, "worker", 2, w[0]);
	cr_assert_neq(fresh, 0, "worker not restarted");
	/* Only that one: the other worker and the prober kept their pids. */
	cr_expect_eq(kill(w[1], 0), 0);
	cr_expect_eq(kill(p[0], 0), 0);
	cr_expect_eq(kill(s.pid, 0), 0);
	{
		pid_t now[16];
		size_t n = kids(s.pid, "worker", now, 16);
		bool kept = false;

		for (size_t i = 0; i < n; i++)
			kept |= now[i] == w[1];
		cr_expect(kept, "the other worker was restarted too");
	}
	for (int i = 0; i < 20; i++) {
		ans = sys_query(s.port, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
		cr_assert_not_null(ans, "query %d after the restart", i);
		cr_expect_eq(ldns_pkt_get_rcode(ans), LDNS_RCODE_NOERROR);
		ldns_pkt_free(ans);
	}
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* The hook itself does nothing harmful: an allowed call returns and the
 * worker goes on (so the death above is the filter's doing). */
Test(seccomp, allowed_call_does_not_kill, .timeout = 60)
{
	const char *args[] = {ZONE_ARGS, NULL};
	struct sys_server s;
	pid_t w[16];
	ldns_pkt *ans;
	char *log;

	setenv(HOOK, "getpid", 1);
	cr_assert_eq(sys_server_start(&s, args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0);
	cr_assert_eq(kids(s.pid, "worker", w, 16), 2);
	cr_assert_eq(kill(w[0], SIGUSR1), 0);
	cr_assert_eq(kill(w[1], SIGUSR1), 0);
	wait_taken(w[0], SIGUSR1);
	wait_taken(w[1], SIGUSR1);
	ans = sys_query(s.port, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	cr_assert_not_null(ans);
	ldns_pkt_free(ans);
	cr_expect(alive(w[0]), "worker %d died of the allowed call", (int)w[0]);
	cr_expect(alive(w[1]), "worker %d died of the allowed call", (int)w[1]);
	log = sys_server_log(&s);
	cr_expect(strstr(log, "killed by signal") == NULL, "%s", log);
	free(log);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* The prober too; the new one gets the key again and signs. */
Test(seccomp, forbidden_call_kills_the_prober_which_restarts_signing, .timeout = 90)
{
	struct sys_server s;
	char key[256], line[128];
	pid_t p[2], fresh;
	char *log;

	cr_assert_eq(sys_make_key("P-256", key, sizeof(key)), 0);
	{
		const char *args[] = {ZONE_ARGS, "--priv-key-path", key, "--priv-key-alg",
				      "ECDSAP256SHA256", NULL};

		setenv(HOOK, "socketpair", 1);
		cr_assert_eq(sys_server_start(&s, args), 0);
	}
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0);
	cr_assert_eq(kids(s.pid, "prober", p, 2), 1);
	cr_assert_eq(kill(p[0], SIGUSR1), 0);
	snprintf(line, sizeof(line), "prober (pid %d) killed by signal %d", (int)p[0], SIGSYS);
	cr_assert_eq(sys_server_wait_log(&s, line, 10000), 0);
	fresh = wait_new_kid(s.pid, "prober", 1, p[0]);
	cr_assert_neq(fresh, 0, "prober not restarted");
	/* Two "signing with" lines: the restarted prober read the key
	 * from the supervisor's descriptor again. */
	{
		int64_t end = sys_now_ms() + 15000;
		size_t n = 0;

		do {
			size_t m = 0;

			log = sys_server_log(&s);
			n = 0;
			for (const char *q = log; (q = strstr(q, "prober: signing with")) != NULL; q++)
				n++;
			for (const char *q = log; (q = strstr(q, "published serial")) != NULL; q++)
				m++;
			if (n < 2 || m < 2) {
				free(log);
				log = NULL;
				sys_sleep_ms(50);
			}
		} while (log == NULL && sys_now_ms() < end);
		cr_assert_not_null(log, "the restarted prober did not sign");
		free(log);
	}
	cr_assert_eq(sys_server_stop(&s), 0);
	sys_remove_key(key);
}

/* A zone of a hundred names takes the prober down code paths a tiny one
 * does not: glibc's qsort() asks sysinfo() for the memory size the first
 * time it sorts more than 1 KiB, here the image's name table, after the
 * filter is in place (config parsing sorted less). Two check rounds,
 * unsigned and signed, without a death. */
Test(seccomp, prober_survives_a_larger_zone, .timeout = 120)
{
	struct sys_server s;
	char key[256];
	size_t cap = 64 * 1024, n = 0;
	char *zr = malloc(cap);
	char *log;

	cr_assert_not_null(zr);
	n += (size_t)snprintf(zr + n, cap - n, "{");
	for (int i = 1; i <= 100; i++)
		n += (size_t)snprintf(zr + n, cap - n, "%s\"host%03d\": [\"192.0.2.%d\", "
				      "\"198.51.100.%d\"]",
				      i > 1 ? ", " : "", i, i + 1, i + 1);
	snprintf(zr + n, cap - n, "}");
	cr_assert_eq(sys_make_key("P-256", key, sizeof(key)), 0);
	for (int signed_zone = 0; signed_zone < 2; signed_zone++) {
		const char *args[] = {"--hosted-zone", ZONE,
				      "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
				      "--zone-resolutions", zr, "--workers", "1", "--user", "nobody",
				      "--test-timeout", "1", "--test-min-interval", "1",
				      "--log-level", "debug", signed_zone ? "--priv-key-path" : NULL,
				      key, "--priv-key-alg", "ECDSAP256SHA256", NULL};

		cr_assert_eq(sys_server_start(&s, args), 0);
		cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 60000), 0);
		cr_assert_eq(sys_server_wait_log(&s, "prober: round 2:", 20000), 0);
		log = sys_server_log(&s);
		cr_expect(strstr(log, "killed by signal") == NULL, "%s", log);
		cr_expect(strstr(log, "published serial") != NULL, "%s", log);
		free(log);
		cr_assert_eq(sys_server_stop(&s), 0);
	}
	free(zr);
	sys_remove_key(key);
}
