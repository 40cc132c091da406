/*
 * The control socket (DESIGN §12) from the outside: drain, undrain and
 * force-up reach the answers in one publish, survive SIGHUP and a full
 * restart (--state-dir), show in status; the socket is root and the
 * service group only; bad commands get one clear line; a hostile client
 * stalls neither the socket nor DNS. Backends are loopback listeners the
 * test owns (ahd-health-target).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"
/* What "within one publish" must mean with room for a loaded CI
 * machine: a check round is a second, a publish is about a millisecond. */
#define PUBLISH_BOUND_MS 100
/* An account and group that exist nowhere: not root, not the server's. */
#define STRANGER 54321

struct ctl_env {
	char dir[64];
	char sock[128];
	char state[128];
	char cfg[128];
	uint16_t hport; /* the health-check port of every backend */
	pid_t target[2]; /* listeners on 127.0.0.1 and 127.0.0.2 */
	struct sys_server s;
};

/* 127.0.0.1 and .2 answer checks; .3 never does; "static" has no check. */
static void env_config(struct ctl_env *e)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"hosted-zone\": \"" ZONE "\", \"ns\": [\"ns1." ZONE "\"],"
		 " \"zone-resolutions\": {\"www\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\","
		 " \"127.0.0.3\"], \"health_port\": %u, \"check\": \"tcp\"},"
		 " \"static\": [\"192.0.2.9\"]},"
		 " \"workers\": 1, \"test-min-interval\": 1, \"test-timeout\": 1,"
		 " \"control-socket\": \"%s\", \"state-dir\": \"%s\"}",
		 (unsigned)e->hport, e->sock, e->state);
	cr_assert_eq(sys_write_file(e->cfg, json), 0);
}

static void env_start(struct ctl_env *e)
{
	const char *args[] = {"--config", e->cfg, NULL};

	cr_assert_eq(sys_server_start(&e->s, args), 0, "the server did not start");
	cr_assert_eq(sys_server_wait_log(&e->s, SYS_READY_LOG, SYS_START_MS), 0);
}

static void env_setup(struct ctl_env *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->dir, "/tmp/ahd-ctl-XXXXXX");
	cr_assert_not_null(mkdtemp(e->dir));
	/* Like /run/a-healthy-dns: others may look in, the socket's mode
	 * decides who connects. */
	cr_assert_eq(chmod(e->dir, 0755), 0);
	snprintf(e->sock, sizeof(e->sock), "%s/control", e->dir);
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->cfg, sizeof(e->cfg), "%s/config.json", e->dir);
	cr_assert_eq(mkdir(e->state, 0700), 0);
	e->hport = sys_free_port();
	e->target[0] = sys_target_start("127.0.0.1", e->hport, 0);
	e->target[1] = sys_target_start("127.0.0.2", e->hport, 0);
	cr_assert(e->target[0] > 0 && e->target[1] > 0);
	env_config(e);
	env_start(e);
}

static void env_teardown(struct ctl_env *e)
{
	char path[300];

	if (e->s.pid > 0)
		sys_server_stop(&e->s);
	for (int i = 0; i < 2; i++)
		sys_target_stop(e->target[i]);
	snprintf(path, sizeof(path), "%s/overrides", e->state);
	unlink(path);
	snprintf(path, sizeof(path), "%s/serial", e->state);
	unlink(path);
	rmdir(e->state);
	unlink(e->cfg);
	rmdir(e->dir);
}

/* Whether addr is among the A records of www. */
static bool served(const struct ctl_env *e, const char *addr)
{
	ldns_pkt *p = sys_query(e->s.port, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	ldns_rr_list *an;
	bool found = false;

	cr_assert_not_null(p, "no answer for www." ZONE);
	an = ldns_pkt_answer(p);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *text;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A || ldns_rr_rd_count(rr) < 1)
			continue;
		text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		found = found || (text != NULL && strcmp(text, addr) == 0);
		free(text);
	}
	ldns_pkt_free(p);
	return found;
}

/* Poll until addr is (want) or is not served; the ms it took, or -1. */
static int64_t until_served(const struct ctl_env *e, const char *addr, bool want, int limit_ms)
{
	int64_t t0 = sys_now_ms();

	do {
		if (served(e, addr) == want)
			return sys_now_ms() - t0;
		sys_sleep_ms(2);
	} while (sys_now_ms() - t0 < limit_ms);
	return -1;
}

/* `a-healthy-dns VERB args... --control-socket SOCK`: exit status. */
static int ctl(const struct ctl_env *e, const char *const *args, char **out, char **err)
{
	const char *argv[16] = {sys_bin()};
	size_t n = 1;

	for (; *args != NULL && n < 12; args++)
		argv[n++] = *args;
	argv[n++] = "--control-socket";
	argv[n++] = e->sock;
	argv[n] = NULL;
	return sys_run(argv, 15000, out, err);
}

/* Run a command that must succeed; returns when it returned (ms clock). */
static int64_t ctl_ok(const struct ctl_env *e, const char *const *args)
{
	char *out = NULL, *err = NULL;
	int rc = ctl(e, args, &out, &err);
	int64_t done = sys_now_ms();

	cr_assert_eq(rc, 0, "%s %s: exit %d: %s%s", args[0], args[1], rc, out ? out : "",
		     err ? err : "");
	free(out);
	free(err);
	return done;
}

static void expect_published_within(const struct ctl_env *e, const char *addr, bool want,
				    int64_t since)
{
	int64_t took = until_served(e, addr, want, 5000);

	cr_assert_geq(took, 0, "%s never %s", addr, want ? "came back" : "went away");
	/* From the command's return to the answer that showed it. */
	took = sys_now_ms() - since;
	cr_expect_leq(took, PUBLISH_BOUND_MS, "%s %s %lld ms after the command returned", addr,
		      want ? "came back" : "went away", (long long)took);
	fprintf(stderr, "control: %s %s %lld ms after the command returned\n", addr,
		want ? "back" : "gone", (long long)took);
}

/* addr stays out of the answers for ms (several check rounds). */
static void expect_absent_for(const struct ctl_env *e, const char *addr, int ms)
{
	int64_t end = sys_now_ms() + ms;

	while (sys_now_ms() < end) {
		cr_assert(!served(e, addr), "%s is served again", addr);
		cr_assert(served(e, "127.0.0.2"), "127.0.0.2 is not served");
		sys_sleep_ms(50);
	}
}

Test(control, drain_survives_reload_and_restart_until_undrain, .timeout = 120)
{
	const char *drain[] = {"drain", "www", "127.0.0.1", "--reason", "kernel upgrade", NULL};
	const char *undrain[] = {"undrain", "www." ZONE ".", "127.0.0.1", NULL};
	const char *status[] = {"status", NULL};
	struct ctl_env e;
	char *out = NULL, *log;

	env_setup(&e);
	cr_assert_geq(until_served(&e, "127.0.0.1", true, 10000), 0, "127.0.0.1 is not served");
	expect_published_within(&e, "127.0.0.1", false, ctl_ok(&e, drain));
	cr_assert(served(&e, "127.0.0.2"));

	/* Status through the socket: the column and who/why. */
	cr_assert_eq(ctl(&e, status, &out, NULL), 0);
	cr_expect(strstr(out, "drained") != NULL && strstr(out, "kernel upgrade") != NULL &&
		  strstr(out, "by uid 0") != NULL, "%s", out);
	free(out);
	log = sys_server_log(&e.s);
	cr_expect(strstr(log, "control: drain www." ZONE " 127.0.0.1 by uid 0 pid ") != NULL &&
		  strstr(log, ": kernel upgrade") != NULL, "%s", log);
	free(log);

	/* SIGHUP: a new prober, same override. */
	cr_assert_eq(kill(e.s.pid, SIGHUP), 0);
	cr_assert_eq(sys_server_wait_log(&e.s, "stopped for the reload", 10000), 0);
	cr_assert_eq(sys_server_wait_log(&e.s, "1 overrides in force from before", 10000), 0);
	expect_absent_for(&e, "127.0.0.1", 2500);

	/* A full restart with the same --state-dir. */
	cr_assert_eq(sys_server_stop(&e.s), 0);
	env_start(&e);
	cr_assert_eq(sys_server_wait_log(&e.s, "1 overrides in force from before", 10000), 0);
	expect_absent_for(&e, "127.0.0.1", 2500);

	expect_published_within(&e, "127.0.0.1", true, ctl_ok(&e, undrain));
	env_teardown(&e);
}

Test(control, force_up_publishes_a_down_backend, .timeout = 60)
{
	const char *force[] = {"force-up", "www", "127.0.0.3", "--reason", "broken check", NULL};
	const char *undrain[] = {"undrain", "www", NULL};
	const char *json[] = {"status", "--json", NULL};
	const char *plain[] = {sys_bin(), "status", "--json", "--port", NULL, NULL};
	char port[8], *out = NULL;
	struct ctl_env e;

	env_setup(&e);
	cr_assert_geq(until_served(&e, "127.0.0.1", true, 10000), 0);
	cr_assert(!served(&e, "127.0.0.3"), "127.0.0.3 has no listener but is served");
	expect_published_within(&e, "127.0.0.3", true, ctl_ok(&e, force));

	/* The stats object (plain status) carries the override too. */
	snprintf(port, sizeof(port), "%u", (unsigned)e.s.port);
	plain[4] = port;
	cr_assert_eq(sys_run(plain, 10000, &out, NULL), 0);
	cr_expect(strstr(out, "\"admin\":\"forced-up\"") != NULL, "%s", out);
	free(out);
	cr_assert_eq(ctl(&e, json, &out, NULL), 0);
	cr_expect(strstr(out, "\"overrides\"") != NULL && strstr(out, "broken check") != NULL,
		  "%s", out);
	free(out);

	/* undrain NAME clears every override of the name. */
	expect_published_within(&e, "127.0.0.3", false, ctl_ok(&e, undrain));
	cr_assert(served(&e, "127.0.0.1") && served(&e, "127.0.0.2"));
	env_teardown(&e);
}

Test(control, draining_the_last_address_is_allowed_but_warned, .timeout = 60)
{
	const char *d1[] = {"drain", "www", "127.0.0.1", NULL};
	const char *d2[] = {"drain", "www", "127.0.0.2", NULL};
	char *out = NULL, *err = NULL;
	struct ctl_env e;

	env_setup(&e);
	cr_assert_geq(until_served(&e, "127.0.0.2", true, 10000), 0);
	ctl_ok(&e, d1);
	cr_assert_eq(ctl(&e, d2, &out, &err), 0, "%s", err);
	cr_expect(strstr(err, "warning: www." ZONE " has no address in the answers now") != NULL,
		  "%s", err);
	cr_assert_geq(until_served(&e, "127.0.0.2", false, 1000), 0);
	free(out);
	free(err);
	env_teardown(&e);
}

/* Connect to the socket as uid/gid STRANGER, with group extra (0: none)
 * as supplementary group; the child's exit status: 0 connected and got
 * "ok", 1 refused with EACCES, 4 connected but the server answered
 * "error: permission denied", 2 anything else. */
static int connect_as_stranger(const char *path, gid_t extra)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		char buf[16] = "";
		int fd;

		if (setgroups(extra ? 1 : 0, &extra) < 0 || setgid(STRANGER) < 0 ||
		    setuid(STRANGER) < 0)
			_exit(3);
		strcpy(sa.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(errno == EACCES ? 1 : 2);
		/* A refusal is written at accept and the socket closed, maybe
		 * before this write: it may fail (EPIPE), the answer is still
		 * there to read. */
		signal(SIGPIPE, SIG_IGN);
		(void)!write(fd, "status\n", 7);
		if (read(fd, buf, sizeof(buf) - 1) < 3)
			_exit(2);
		if (strncmp(buf, "error: permis", 13) == 0)
			_exit(4);
		_exit(strncmp(buf, "ok\n", 3) == 0 ? 0 : 2);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(control, only_root_and_the_service_group_may_connect, .timeout = 60)
{
	struct ctl_env e;
	struct stat st;
	int rc;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to another account");
	env_setup(&e);
	cr_assert_eq(stat(e.sock, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0660, "mode %o", st.st_mode & 0777);
	cr_expect_eq(st.st_uid, 0);
	cr_expect_neq(st.st_gid, 0, "the group is the service account's, not root's");
	cr_expect_eq(connect_as_stranger(e.sock, 0), 1, "a stranger was not refused");
	cr_expect_eq(connect_as_stranger(e.sock, st.st_gid), 0,
		     "a member of the service group was refused");
	/* Were the mode widened, the server still checks who it is. */
	cr_assert_eq(chmod(e.sock, 0666), 0);
	rc = connect_as_stranger(e.sock, 0);
	cr_expect_eq(rc, 4, "a stranger got past SO_PEERCRED on a world-writable socket (%d)", rc);
	cr_expect_eq(connect_as_stranger(e.sock, st.st_gid), 0);
	env_teardown(&e);
}

/* One command: its exit status and stderr must say what. */
static void expect_error(const struct ctl_env *e, const char *const *args, int status,
			 const char *what)
{
	char *out = NULL, *err = NULL;
	int rc = ctl(e, args, &out, &err);

	cr_expect_eq(rc, status, "%s: exit %d, want %d: %s", args[0], rc, status, err);
	cr_expect(err != NULL && strstr(err, what) != NULL, "%s: '%s' not in: %s", args[0], what,
		  err);
	cr_expect(out == NULL || out[0] == '\0', "stdout: %s", out);
	free(out);
	free(err);
}

/* A raw request line; the first line of the answer. */
static char *raw(const struct ctl_env *e, const char *req, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *buf = calloc(1, 4096);
	size_t got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, e->sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	(void)send(fd, req, len, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		cr_assert_eq(poll(&p, 1, 5000), 1, "no answer to a raw request");
		n = read(fd, buf + got, 4095 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return buf;
}

Test(control, bad_commands_get_one_clear_error, .timeout = 60)
{
	const char *unknown[] = {"drain", "nosuch", NULL};
	const char *noaddr[] = {"drain", "www", "192.0.2.77", NULL};
	const char *badaddr[] = {"undrain", "www", "not-an-ip", NULL};
	const char *stat_name[] = {"drain", "static", NULL};
	const char *force_one[] = {"force-up", "www", NULL};
	const char *extra[] = {"drain", "www", "127.0.0.1", "surplus", NULL};
	const char *opt[] = {"drain", "www", "--frobnicate", NULL};
	struct ctl_env e;
	char *a;

	env_setup(&e);
	expect_error(&e, unknown, 1, "unknown name 'nosuch'");
	expect_error(&e, noaddr, 1, "has no address 192.0.2.77");
	expect_error(&e, badaddr, 1, "'not-an-ip' is not an IPv4 or IPv6 address");
	expect_error(&e, stat_name, 1, "static." ZONE " has no health check");
	expect_error(&e, force_one, 2, "an ADDRESS is required");
	expect_error(&e, extra, 2, "unexpected argument 'surplus'");
	expect_error(&e, opt, 2, "unknown option '--frobnicate'");
	a = raw(&e, "reboot\n", 7);
	cr_expect(strncmp(a, "error: unknown command", 22) == 0, "%s", a);
	free(a);
	a = raw(&e, "drain\twww\t127.0.0.1\tr\textra\n", 28);
	cr_expect(strncmp(a, "error: malformed request", 24) == 0, "%s", a);
	free(a);
	/* Nothing changed. */
	cr_expect(served(&e, "127.0.0.1"));
	env_teardown(&e);
}

/* A connection that sends nothing and is kept open. */
static int idle_conn(const struct ctl_env *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, e->sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

Test(control, hostile_clients_stall_neither_the_socket_nor_dns, .timeout = 90)
{
	const char *drain[] = {"drain", "www", "127.0.0.1", NULL};
	const char *status[] = {"status", NULL};
	static char huge[1 << 20];
	int idle[3];
	struct ctl_env e;
	int64_t t0, took;
	char *a;

	env_setup(&e);
	cr_assert_geq(until_served(&e, "127.0.0.1", true, 10000), 0);
	for (size_t i = 0; i < 3; i++)
		idle[i] = idle_conn(&e);
	/* A megabyte without a newline, and binary garbage. */
	memset(huge, 'x', sizeof(huge));
	a = raw(&e, huge, sizeof(huge));
	cr_expect(strncmp(a, "error: request longer than 1024 bytes", 37) == 0, "%s", a);
	free(a);
	a = raw(&e, "\x01\x02\xff\x00garbage\n", 12);
	cr_expect(strncmp(a, "error: ", 7) == 0, "%s", a);
	free(a);

	/* With three idle connections open, others are served at once. */
	t0 = sys_now_ms();
	cr_assert_eq(ctl(&e, status, NULL, NULL), 0);
	expect_published_within(&e, "127.0.0.1", false, ctl_ok(&e, drain));
	took = sys_now_ms() - t0;
	cr_expect_lt(took, 2000, "two commands took %lld ms beside idle clients",
		     (long long)took);
	cr_expect(served(&e, "127.0.0.2"), "DNS did not answer beside hostile clients");

	/* Eight connections at once at most: the ninth is told so (eight
	 * more, whether or not the first three have timed out yet). */
	int more[8];

	for (size_t i = 0; i < 8; i++)
		more[i] = idle_conn(&e);
	a = raw(&e, "status\n", 7);
	cr_expect(strncmp(a, "error: busy", 11) == 0, "%s", a);
	free(a);
	cr_expect(served(&e, "127.0.0.2"), "DNS did not answer with the socket full");
	for (size_t i = 0; i < 8; i++)
		close(more[i]);
	/* A closed connection frees its slot at once. */
	t0 = sys_now_ms();
	do {
		a = raw(&e, "status\n", 7);
		took = strncmp(a, "ok\n", 3) == 0 ? sys_now_ms() - t0 : -1;
		free(a);
	} while (took < 0 && sys_now_ms() - t0 < 3000);
	cr_expect_geq(took, 0, "the socket stayed busy after clients left");

	/* The idle ones are dropped after CONTROL_TIMEOUT_MS (5 s). */
	for (size_t i = 0; i < 3; i++) {
		struct pollfd p = {.fd = idle[i], .events = POLLIN};
		char c;

		cr_expect_eq(poll(&p, 1, 10000), 1, "idle connection %zu never closed", i);
		cr_expect_eq(read(idle[i], &c, 1), 0);
		close(idle[i]);
	}
	env_teardown(&e);
}
