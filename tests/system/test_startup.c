/*
 * The start-up sequence (DESIGN §3's gate, DESIGN §7's start-up time) from the
 * server's debug log, which every process writes through one shared file:
 *
 * - a static zone (no health-checked address, no key) needs no gate: its
 *   workers are up, filter installed, before the prober even exists;
 * - a zone with a health check, or a key, still holds the workers until
 *   the prober has published its first round (that those first answers
 *   then reflect health is test_health's business);
 * - either way "ready" (READY=1) comes once every child is up and the
 *   prober's first round is in.
 *
 * Only orderings that follow from causality are asserted (a process logs
 * a line before it signals the one that logs the next), never timings.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysutil.h"

#define ZONE "startup.test"
#define NS "[\"ns1." ZONE "\", \"ns2." ZONE "\"]"
#define WAIT_MS 15000

/* The supervisor's own lines (log_debug in supervisor.c). */
#define LOG_STARTED_PROBER "debug: started prober ("
/* The prober's line after each publish, written before it signals the
 * supervisor that its first round is in. */
#define LOG_PUBLISHED "info: published serial "

/* Where line (a fragment of it) first occurs in log, or -1. */
static long at(const char *log, const char *line)
{
	const char *p = strstr(log, line);

	return p != NULL ? (long)(p - log) : -1;
}

/* Where the line of the given process that contains what first occurs:
 * who is "worker 0" or "prober", as in "a-healthy-dns[worker 0 1234]: ". */
static long at_proc(const char *log, const char *who, const char *what)
{
	char tag[64];
	const char *p = log;

	snprintf(tag, sizeof(tag), "[%s ", who);
	while ((p = strstr(p, tag)) != NULL) {
		const char *eol = strchr(p, '\n');
		const char *w = strstr(p, what);

		if (w != NULL && (eol == NULL || w < eol))
			return (long)(p - log);
		p += strlen(tag);
	}
	return -1;
}

/* Start with args (debug log), wait until the prober has published its
 * first round too, and return the whole log (malloc'd). */
static char *start_and_log(struct sys_server *s, const char *const *args)
{
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
	cr_assert_eq(sys_server_wait_log(s, SYS_READY_LOG, WAIT_MS), 0, "never ready");
	cr_assert_eq(sys_server_wait_log(s, LOG_PUBLISHED, WAIT_MS), 0,
		     "the prober never published");
	return sys_server_log(s);
}

Test(startup, static_zone_workers_do_not_wait_for_the_prober)
{
	static const char *const args[] = {
		"--hosted-zone", ZONE, "--ns", NS,
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"], \"api\": [\"2001:db8::1\"]}",
		"--workers", "2", "--user", "nobody", "--log-level", "debug", NULL,
	};
	struct sys_server s;
	char *log = start_and_log(&s, args);
	long prober = at(log, LOG_STARTED_PROBER);

	cr_assert_geq(prober, 0, "no 'started prober' line:\n%s", log);
	for (int w = 0; w < 2; w++) {
		char who[16], started[48];
		long sandboxed;

		snprintf(who, sizeof(who), "worker %d", w);
		snprintf(started, sizeof(started), "debug: started %s (", who);
		/* The worker logs its filter, then reports ready; only then is
		 * the prober spawned. */
		sandboxed = at_proc(log, who, "seccomp: ");
		cr_expect_geq(at(log, started), 0, "%s never started:\n%s", who, log);
		cr_expect_lt(at(log, started), prober, "%s started after the prober:\n%s", who, log);
		cr_expect_geq(sandboxed, 0, "no seccomp line from %s:\n%s", who, log);
		cr_expect_lt(sandboxed, prober, "%s was not set up before the prober started:\n%s",
			     who, log);
	}
	cr_expect_gt(at(log, SYS_READY_LOG), at(log, LOG_PUBLISHED), "ready before the prober:\n%s",
		     log);
	free(log);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* A zone with a health check (here against a port nothing listens on)
 * or a key: the workers wait for the prober's first publish. */
static void expect_gate(const char *const *args)
{
	struct sys_server s;
	char *log = start_and_log(&s, args);
	long published = at(log, LOG_PUBLISHED);
	long worker = at(log, "debug: started worker 0 (");

	cr_expect_lt(at(log, LOG_STARTED_PROBER), worker, "%s", log);
	cr_expect_geq(worker, 0, "worker 0 never started:\n%s", log);
	cr_expect_lt(published, worker, "a worker started before the first publish:\n%s", log);
	cr_expect_gt(at(log, SYS_READY_LOG), worker, "%s", log);
	free(log);
	cr_assert_eq(sys_server_stop(&s), 0);
}

Test(startup, checked_zone_waits_for_the_first_round)
{
	char res[160];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", NS, "--zone-resolutions", res,
		"--workers", "2", "--user", "nobody", "--log-level", "debug",
		"--test-timeout", "1", NULL,
	};

	snprintf(res, sizeof(res),
		 "{\"www\": [\"192.0.2.1\"], \"web\": {\"ips\": [\"127.0.0.1\"], "
		 "\"health_port\": %u}}", (unsigned)sys_free_port());
	expect_gate(args);
}

Test(startup, signed_static_zone_waits_for_the_first_signing)
{
	char key[256];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", NS,
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}",
		"--priv-key-path", key, "--priv-key-alg", "ECDSAP256SHA256",
		"--workers", "2", "--user", "nobody", "--log-level", "debug", NULL,
	};

	cr_assert_eq(sys_make_key("P-256", key, sizeof(key)), 0);
	expect_gate(args);
	sys_remove_key(key);
}
