/*
 * The packaged unit with its XDP drop-in (packaging/systemd/xdp.conf),
 * without systemd as PID 1: ahd-syscall-filter runs the real server under
 * the unit's CapabilityBoundingSet= and SystemCallFilter= plus the
 * drop-in's, as systemd merges them, with --xdp on a veth whose other end
 * is in a namespace of this test's own. The server must attach, answer a
 * query from across the veth through its AF_XDP socket, and leave the
 * interface clean on stop; under the unit alone it must exit at start with
 * one line naming what it lacks (bpf() would otherwise kill it with
 * SIGSYS). RestrictAddressFamilies= is not emulated here; the supervisor
 * checks AF_XDP itself.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysutil.h"

#define UNIT "packaging/systemd/a-healthy-dns.service"
#define DROPIN "packaging/systemd/xdp.conf"
#define ZONE "example.test"
#define WWW_ADDR "192.0.2.1"
#define IFACE "ahdux0"
#define PEER "ahdux1"
/* This test's own /30 on its own veth, in namespaces it made. */
#define SERVER_ADDR "10.53.9.1"
#define CLIENT_ADDR "10.53.9.2"
#define PORT "5353"

/* The client namespace's holder (0: none) and its netns path. */
static pid_t holder;
static char client_ns[48];
static char list_path[64];
static char unit_path[64];
static char caps[512];
static struct sys_server srv;
static bool started;

static void ux_fini(void)
{
	if (started)
		sys_server_stop(&srv);
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
		holder = 0;
	}
	if (list_path[0] != '\0')
		unlink(list_path);
	if (unit_path[0] != '\0')
		unlink(unit_path);
}

TestSuite(unit_xdp, .fini = ux_fini, .timeout = 90);

static void ux_ip(const char *const *argv)
{
	char *err = NULL;
	int st = sys_run(argv, 10000, NULL, &err);

	cr_assert_eq(st, 0, "%s %s %s: %s", argv[0], argv[1], argv[2], err ? err : "");
	free(err);
}

/* The client's namespace: a child that unshares and waits, killed by
 * ux_fini or with this process (PR_SET_PDEATHSIG), so the namespace and
 * the veth go away whatever happens to the test. */
static void ux_holder(void)
{
	int p[2];
	char c;

	cr_assert_eq(pipe(p), 0);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = unshare(CLONE_NEWNET) == 0 ? 'R' : 'E';
		(void)!write(p[1], &c, 1);
		for (;;)
			pause();
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	cr_assert_eq(c, 'R', "the holder could not unshare its network namespace");
	snprintf(client_ns, sizeof(client_ns), "--net=/proc/%d/ns/net", (int)holder);
}

/* This process in a network namespace of its own (gone with it), the
 * client's end of the veth in the holder's. */
static void ux_veth(void)
{
	char pid[16];

	if (geteuid() != 0)
		cr_skip_test("needs root: network namespaces, a veth, XDP");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ux_holder();
	snprintf(pid, sizeof(pid), "%d", (int)holder);
	const char *lo[] = { "ip", "link", "set", "lo", "up", NULL };
	const char *veth[] = { "ip", "link", "add", IFACE, "type", "veth",
			       "peer", "name", PEER, "netns", pid, NULL };
	const char *addr[] = { "ip", "addr", "add", SERVER_ADDR "/30", "dev", IFACE, NULL };
	const char *up[] = { "ip", "link", "set", IFACE, "up", NULL };
	const char *paddr[] = { "nsenter", client_ns, "ip", "addr", "add", CLIENT_ADDR "/30",
				"dev", PEER, NULL };
	const char *pup[] = { "nsenter", client_ns, "ip", "link", "set", PEER, "up", NULL };

	ux_ip(lo);
	ux_ip(veth);
	ux_ip(addr);
	ux_ip(up);
	ux_ip(paddr);
	ux_ip(pup);
}

/* Append the values of key= lines of path to out, space-separated. */
static void ux_values(const char *path, const char *key, char *out, size_t cap, FILE *copy)
{
	char *text = sys_read_file(path, NULL), *line, *save = NULL;
	size_t klen = strlen(key);

	cr_assert_not_null(text, "%s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (copy != NULL)
			fprintf(copy, "%s\n", line);
		if (strncmp(line, key, klen) == 0 && line[klen] == '=' && out != NULL) {
			strncat(out, " ", cap - strlen(out) - 1);
			strncat(out, line + klen + 1, cap - strlen(out) - 1);
		}
	}
	free(text);
}

/* The capabilities and the expanded system-call list of the unit, with
 * the drop-in after it when dropin, as systemd applies them. */
static void ux_sandbox(bool dropin)
{
	const char *why = NULL;
	FILE *f;
	int fd;

	strcpy(unit_path, "/tmp/ahd-unit-xdp-XXXXXX");
	fd = mkstemp(unit_path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	caps[0] = '\0';
	ux_values(UNIT, "CapabilityBoundingSet", caps, sizeof(caps), f);
	if (dropin)
		ux_values(DROPIN, "CapabilityBoundingSet", caps, sizeof(caps), f);
	cr_assert_eq(fclose(f), 0);

	if (!sys_have_systemd_analyze())
		cr_skip_test("systemd-analyze is not installed");
	cr_assert_gt(sys_unit_syscalls(unit_path, NULL, list_path, &why), 100, "%s", why);
	/* The drop-in's own filter line is what the first test tries. */
	if (!dropin) {
		char *list = sys_read_file(list_path, NULL);

		cr_assert_not_null(list);
		cr_assert_null(strstr(list, "\nbpf\n"), "bpf() in the unit's own filter");
		free(list);
	}
}

static int ux_start(bool wait)
{
	/* /dev/shm is not per network namespace: a name of our own. */
	static char shm[48];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"" WWW_ADDR "\"]}",
		"--user", "nobody",
		"--workers", "1",
		"--listen", "127.0.0.1",
		"--listen", SERVER_ADDR,
		"--port", PORT,
		"--control-socket", "none",
		"--shm-name", shm,
		"--xdp", IFACE,
		NULL,
	};
	char tool[256];
	const char *wrap[] = { tool, "--caps", caps, list_path, NULL };

	snprintf(shm, sizeof(shm), "/ahd-unit-xdp.%d", (int)getpid());
	snprintf(tool, sizeof(tool), "%s/ahd-syscall-filter", sys_tools_dir());
	/* LeakSanitizer's tracer (ptrace) is outside any unit's filter. */
	setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0", 1);
	started = true;
	return sys_server_start_wrapped(&srv, wrap, args, (uint16_t)atoi(PORT),
					wait ? "127.0.0.1" : NULL);
}

static bool ux_attached(void)
{
	const char *argv[] = { "ip", "-d", "link", "show", IFACE, NULL };
	char *out = NULL;
	bool yes;

	cr_assert_eq(sys_run(argv, 10000, &out, NULL), 0);
	yes = out != NULL && strstr(out, "prog/xdp") != NULL;
	free(out);
	return yes;
}

Test(unit_xdp, answers_through_xdp_under_the_unit_and_its_dropin)
{
	const char *dig[] = { "nsenter", client_ns, "dig", "+short", "+time=2",
			      "+tries=2", "@" SERVER_ADDR, "-p", PORT, "www." ZONE, "A", NULL };
	unsigned rx = 0, answered = 0;
	char *out = NULL, *log;
	const char *p;
	int st;

	ux_veth();
	ux_sandbox(true);
	cr_assert_eq(ux_start(true), 0, "no answer under the unit with " DROPIN);
	cr_assert(ux_attached(), "no XDP program on " IFACE);
	cr_assert_eq(sys_run(dig, 15000, &out, NULL), 0);
	cr_expect_str_eq(out, WWW_ADDR "\n", "across the veth");
	free(out);
	/* Not sys_server_stop: the worker's XDP counters are in the log it
	 * writes on the way out, and sys_server_stop removes the log. */
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	st = sys_server_wait(&srv, 15000);
	started = st < 0;
	log = sys_server_log(&srv);
	cr_assert_not_null(log);
	cr_assert_eq(st, 0, "exit status %d; log:\n%s", st, log);
	cr_expect(strstr(log, "xdp: " IFACE ": native mode") != NULL ||
		  strstr(log, "xdp: " IFACE ": generic mode") != NULL, "not attached; log:\n%s", log);
	cr_expect(strstr(log, "killed by signal") == NULL, "a child died:\n%s", log);
	p = strstr(log, "xdp: received ");
	cr_assert(p != NULL && sscanf(p, "xdp: received %u frames, answered %u", &rx, &answered) == 2,
		  "no XDP counters; log:\n%s", log);
	cr_expect(answered >= 1 && answered <= rx, "received %u, answered %u through XDP", rx,
		  answered);
	cr_expect(!ux_attached(), "the program stayed on " IFACE " after the stop");
	free(log);
	unlink(srv.log_path);
}

Test(unit_xdp, the_unit_alone_names_what_xdp_lacks)
{
	char *log;
	int st;

	ux_veth();
	ux_sandbox(false);
	cr_assert_eq(ux_start(false), 0);
	st = sys_server_wait(&srv, 30000);
	log = sys_server_log(&srv);
	cr_assert_not_null(log);
	started = false;
	cr_assert_eq(st, 1, "exit status %d; log:\n%s", st, log);
	cr_assert(strstr(log, "--xdp " IFACE ": the supervisor lacks CAP_BPF CAP_NET_ADMIN "
			      "CAP_NET_RAW CAP_IPC_LOCK") != NULL,
		  "no line naming what is missing; log:\n%s", log);
	cr_assert(strstr(log, SYS_READY_LOG) == NULL, "said ready; log:\n%s", log);
	cr_expect(!ux_attached(), "a program on " IFACE);
	free(log);
	unlink(srv.log_path);
}
