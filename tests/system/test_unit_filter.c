/*
 * The packaged unit's SystemCallFilter= on the real server, without
 * systemd as PID 1: packaging/systemd/unit-syscalls.sh expands the
 * unit's filter lines with systemd-analyze, and ahd-syscall-filter runs
 * the server under that allow-list as systemd would (any other call is
 * SIGSYS, inherited by every child). With --cpu-affinity the workers pin
 * themselves (sched_setaffinity, from @resources, which the unit removes
 * wholesale); they must answer. And when the workers cannot run at all
 * (the same filter without sched_setaffinity), the server must not sit
 * there answering nothing: it exits with status 1 and says why.
 */
#include <criterion/criterion.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define UNIT "packaging/systemd/a-healthy-dns.service"
#define ZONE "example.test"
#define WWW_ADDR "192.0.2.1"
/* Generous for ASan and a loaded machine: five deaths with back-off
 * 100, 200, 400 ms after the 5 s start-up wait. */
#define GIVE_UP_MS 30000

static char list_path[64];
static char ctl_path[64];
static struct sys_server srv;
static bool started;

static void uf_fini(void)
{
	if (started)
		sys_server_stop(&srv);
	if (list_path[0] != '\0')
		unlink(list_path);
	if (ctl_path[0] != '\0')
		unlink(ctl_path);
}

TestSuite(unit_filter, .fini = uf_fini, .timeout = 90);

/* The unit's allow-list, minus the name drop (NULL: none), in a file. */
static void uf_list(const char *drop)
{
	const char *why = NULL;
	int n;

	if (!sys_have_systemd_analyze())
		cr_skip_test("systemd-analyze is not installed");
	n = sys_unit_syscalls(UNIT, drop, list_path, &why);
	cr_assert_geq(n, 0, "%s", why);
	/* @system-service alone is a few hundred calls. */
	cr_assert_gt(n, 100, "the unit's filter expanded to %d calls", n);
}

/* Start the server pinned to the first CPU we may use, under the list;
 * wait for answers unless wait is false. */
static int uf_start(bool wait)
{
	static char port[8], cpu[8];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"" WWW_ADDR "\"]}",
		"--user", "nobody",
		"--workers", "1",
		"--cpu-affinity", cpu,
		"--listen", "127.0.0.1",
		"--port", port,
		/* The supervisor binds and chowns it under the filter. */
		"--control-socket", ctl_path,
		NULL,
	};
	char tool[256];
	const char *wrap[] = { tool, list_path, NULL };
	uint16_t p = sys_free_port();
	cpu_set_t set;
	int c = 0;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	while (c < CPU_SETSIZE - 1 && !CPU_ISSET(c, &set))
		c++;
	snprintf(cpu, sizeof(cpu), "%d", c);
	snprintf(port, sizeof(port), "%u", (unsigned)p);
	snprintf(ctl_path, sizeof(ctl_path), "/tmp/ahd-uf-control.%u", (unsigned)p);
	snprintf(tool, sizeof(tool), "%s/ahd-syscall-filter", sys_tools_dir());
	/* LeakSanitizer's tracer (ptrace) is outside any unit's filter; the
	 * other tests look for leaks. */
	setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0", 1);
	started = true;
	return sys_server_start_wrapped(&srv, wrap, args, p, wait ? "127.0.0.1" : NULL);
}

Test(unit_filter, cpu_affinity_answers_under_the_unit_filter)
{
	ldns_pkt *r;
	char *log;

	uf_list(NULL);
	cr_assert_eq(uf_start(true), 0, "no answer under the unit's SystemCallFilter=");
	r = sys_query(srv.port, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	cr_assert_not_null(r);
	cr_assert_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(r), 1);
	ldns_pkt_free(r);
	log = sys_server_log(&srv);
	cr_assert_not_null(log);
	cr_expect(strstr(log, "killed by signal") == NULL, "a child died:\n%s", log);
	free(log);
	/* The prober serves the socket under both filters. */
	const char *status[] = { sys_bin(), "status", "--control-socket", ctl_path, NULL };

	cr_expect_eq(sys_run(status, 10000, NULL, NULL), 0, "status through the control socket");
	started = false;
	cr_assert_eq(sys_server_stop(&srv), 0);
}

Test(unit_filter, workers_that_cannot_run_make_the_server_exit)
{
	char *log;
	int st;

	uf_list("sched_setaffinity");
	cr_assert_eq(uf_start(false), 0);
	st = sys_server_wait(&srv, GIVE_UP_MS);
	log = sys_server_log(&srv);
	cr_assert_not_null(log);
	cr_assert_eq(st, 1, "exit status %d (-1: still running after %d ms); log:\n%s", st,
		     GIVE_UP_MS, log);
	started = false;
	cr_assert(strstr(log, "workers in a row died before any came up") != NULL &&
		  strstr(log, "SIGSYS") != NULL && strstr(log, "SystemCallFilter") != NULL,
		  "no line naming the cause; log:\n%s", log);
	/* READY=1 (and its log line) only once a worker is up. */
	cr_assert(strstr(log, SYS_READY_LOG) == NULL, "said ready; log:\n%s", log);
	free(log);
	unlink(srv.log_path);
}
