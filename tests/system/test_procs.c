/*
 * DESIGN §4 from the outside: privileges of the children, restarts,
 * clean stop, refusing to start, --check-config and bad flags.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"

static const char *const zone_args[] = {
	"--hosted-zone", ZONE,
	"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
	"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}",
	"--workers", "2",
	"--user", "nobody",
	NULL,
};

static void wait_kids(pid_t sup, struct sys_kids *k, size_t workers)
{
	cr_assert_eq(sys_wait_kids(sup, k, workers), 0,
		     "expected %zu workers and 1 prober, found %zu and %zu", workers,
		     k->n_workers, k->n_probers);
}

static bool shm_exists(const struct sys_server *s)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", s->shm_name);
	return stat(path, &st) == 0;
}

static bool gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

static void expect_unprivileged(pid_t pid, uid_t uid, gid_t gid)
{
	char buf[256], want[128];

	cr_assert_eq(sys_proc_status(pid, "Uid", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	cr_expect_str_eq(buf, want, "pid %d Uid", (int)pid);
	cr_assert_eq(sys_proc_status(pid, "Gid", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", gid, gid, gid, gid);
	cr_expect_str_eq(buf, want, "pid %d Gid", (int)pid);
	cr_assert_eq(sys_proc_status(pid, "Groups", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%u", gid);
	cr_expect_str_eq(buf, want, "pid %d Groups", (int)pid);
	cr_assert_eq(sys_proc_status(pid, "CapEff", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0000000000000000", "pid %d CapEff", (int)pid);
	cr_assert_eq(sys_proc_status(pid, "CapPrm", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0000000000000000", "pid %d CapPrm", (int)pid);
	cr_assert_eq(sys_proc_status(pid, "NoNewPrivs", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "1", "pid %d NoNewPrivs", (int)pid);
}

Test(procs, children_run_as_nobody_without_capabilities, .timeout = 30)
{
	struct sys_server s;
	struct passwd *pw;
	struct sys_kids k;
	char cmd[256];

	if (geteuid() != 0)
		cr_skip_test("not root: cannot check the switch to another user");
	pw = getpwnam("nobody");
	cr_assert_not_null(pw, "no account nobody");
	cr_assert_eq(sys_server_start(&s, zone_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	wait_kids(s.pid, &k, 2);
	for (size_t i = 0; i < k.n_workers; i++)
		expect_unprivileged(k.workers[i], pw->pw_uid, pw->pw_gid);
	expect_unprivileged(k.prober, pw->pw_uid, pw->pw_gid);

	/* Process titles tell the roles apart in ps. */
	cr_assert_eq(sys_cmdline(s.pid, cmd, sizeof(cmd)), 0);
	cr_expect(strstr(cmd, "a-healthy-dns: supervisor") != NULL, "%s", cmd);
	cr_assert_eq(sys_cmdline(k.prober, cmd, sizeof(cmd)), 0);
	cr_expect(strstr(cmd, "a-healthy-dns: prober") != NULL, "%s", cmd);
	cr_assert_eq(sys_cmdline(k.workers[0], cmd, sizeof(cmd)), 0);
	cr_expect(strstr(cmd, "a-healthy-dns: worker ") != NULL, "%s", cmd);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* Queries from n fresh sockets (n source ports, so SO_REUSEPORT spreads
 * them over every worker's socket), sent at once; returns how many were
 * answered by deadline_ms. */
static int burst(uint16_t port, int n, int64_t deadline_ms)
{
	struct pollfd pfd[64];
	int answered = 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	cr_assert_leq(n, 64);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < n; i++) {
		uint8_t q[] = {(uint8_t)i, 0x77, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
			       3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
			       4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};

		pfd[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		pfd[i].events = POLLIN;
		cr_assert_geq(pfd[i].fd, 0);
		cr_assert_eq(connect(pfd[i].fd, (struct sockaddr *)&a, sizeof(a)), 0);
		cr_assert_eq(send(pfd[i].fd, q, sizeof(q), 0), (ssize_t)sizeof(q));
	}
	while (answered < n && sys_now_ms() < deadline_ms) {
		int r = poll(pfd, (nfds_t)n, (int)(deadline_ms - sys_now_ms()));

		if (r <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			uint8_t buf[512];

			if (pfd[i].fd < 0 || !(pfd[i].revents & POLLIN))
				continue;
			if (recv(pfd[i].fd, buf, sizeof(buf), 0) >= 12 && buf[0] == (uint8_t)i)
				answered++;
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	}
	return answered;
}

static pid_t new_worker(pid_t sup, const struct sys_kids *old, int64_t deadline)
{
	struct sys_kids k;

	do {
		sys_find_kids(sup, &k);
		for (size_t i = 0; i < k.n_workers; i++) {
			bool seen = false;

			for (size_t j = 0; j < old->n_workers; j++)
				seen |= k.workers[i] == old->workers[j];
			if (!seen)
				return k.workers[i];
		}
		sys_sleep_ms(5);
	} while (sys_now_ms() < deadline);
	return 0;
}

Test(procs, killed_worker_is_replaced_and_queries_keep_being_answered, .timeout = 30)
{
	struct sys_server s;
	struct sys_kids k;
	int64_t t0;
	pid_t fresh, fresh2;
	int answered;
	char *log;

	cr_assert_eq(sys_server_start(&s, zone_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	wait_kids(s.pid, &k, 2);
	cr_assert_eq(burst(s.port, 32, sys_now_ms() + 2000), 32, "not all answered before");

	cr_assert_eq(kill(k.workers[0], SIGKILL), 0);
	t0 = sys_now_ms();
	/* Sent while no process reads the dead worker's socket: those
	 * queries wait in it and the new worker answers them. */
	answered = burst(s.port, 32, t0 + 1000);
	cr_expect_eq(answered, 32, "%d of 32 answered within 1 s of the kill", answered);
	fresh = new_worker(s.pid, &k, t0 + 1000);
	cr_assert_neq(fresh, 0, "no new worker within 1 s");
	cr_expect(gone(k.workers[0]));
	cr_expect_eq(burst(s.port, 32, sys_now_ms() + 1000), 32, "not all answered after");

	/* A second crash soon after waits twice as long (back-off). */
	wait_kids(s.pid, &k, 2);
	cr_assert_eq(kill(fresh, SIGKILL), 0);
	fresh2 = new_worker(s.pid, &k, sys_now_ms() + 2000);
	cr_assert_neq(fresh2, 0, "no new worker after the second kill");
	log = sys_server_log(&s);
	cr_assert_not_null(log);
	cr_expect(strstr(log, "killed by signal 9") != NULL, "%s", log);
	cr_expect(strstr(log, "restarting in 100 ms") != NULL, "%s", log);
	cr_expect(strstr(log, "restarting in 200 ms") != NULL, "%s", log);
	free(log);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(procs, killed_prober_is_replaced, .timeout = 30)
{
	struct sys_server s;
	struct sys_kids k, k2;
	int64_t end;

	cr_assert_eq(sys_server_start(&s, zone_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	wait_kids(s.pid, &k, 2);
	cr_assert_eq(kill(k.prober, SIGKILL), 0);
	end = sys_now_ms() + 2000;
	do {
		sys_sleep_ms(10);
		sys_find_kids(s.pid, &k2);
	} while ((k2.n_probers != 1 || k2.prober == k.prober) && sys_now_ms() < end);
	cr_expect_eq(k2.n_probers, 1);
	cr_expect_neq(k2.prober, k.prober, "the prober was not restarted");
	cr_expect_eq(burst(s.port, 8, sys_now_ms() + 1000), 8);
	cr_expect_eq(sys_server_stop(&s), 0);
}

static void stop_with(int sig)
{
	struct sys_server s;
	struct sys_kids k;
	int st;

	cr_assert_eq(sys_server_start(&s, zone_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	wait_kids(s.pid, &k, 2);
	cr_assert(shm_exists(&s), "no %s while running", s.shm_name);
	cr_assert_eq(kill(s.pid, sig), 0);
	st = sys_server_wait(&s, 5000);
	cr_expect_eq(st, 0, "exit status %d", st);
	cr_expect(!shm_exists(&s), "%s left behind", s.shm_name);
	for (size_t i = 0; i < k.n_workers; i++)
		cr_expect(gone(k.workers[i]), "worker %d left behind", (int)k.workers[i]);
	cr_expect(gone(k.prober), "prober left behind");
	sys_server_stop(&s);
}

Test(procs, sigterm_stops_everything_and_removes_the_shm, .timeout = 30)
{
	stop_with(SIGTERM);
}

Test(procs, sigint_stops_everything_and_removes_the_shm, .timeout = 30)
{
	stop_with(SIGINT);
}

/* Starts a server that must refuse to start: non-zero exit, exactly one
 * line on stderr containing must_say, no process and no shm left. */
static void expect_refusal(const char *const *args, uint16_t port, const char *must_say,
			   pid_t other, const char *shm_name)
{
	struct sys_server s;
	char *log;
	int st;
	pid_t left[4];
	size_t n_left;

	/* Orphans of the server would become ours: none may appear. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert_eq(sys_server_start_raw(&s, args, port, NULL), 0);
	st = sys_server_wait(&s, 10000);
	cr_expect_neq(st, -1, "it did not exit");
	cr_expect_neq(st, 0, "it exited 0");
	log = sys_server_log(&s);
	cr_assert_not_null(log);
	cr_expect_eq(sys_count_lines(log), 1, "stderr: [%s]", log);
	cr_expect(strstr(log, must_say) != NULL, "stderr lacks %s: [%s]", must_say, log);
	free(log);
	sys_sleep_ms(50);
	n_left = sys_children(getpid(), left, 4);
	if (n_left == 1 && left[0] == other)
		n_left = 0;
	cr_expect_eq(n_left, 0, "a process was left behind");
	if (shm_name != NULL)
		snprintf(s.shm_name, sizeof(s.shm_name), "%s", shm_name);
	cr_expect(!shm_exists(&s), "%s left behind", s.shm_name);
	s.exit_status = 0; /* the refusal was expected: no log dump */
	sys_server_stop(&s);
}

static void args_with_port(const char **argv, char *ps, uint16_t port,
			   const char *extra1, const char *extra2)
{
	size_t n = 0;

	snprintf(ps, 8, "%u", port);
	for (size_t i = 0; zone_args[i] != NULL; i++)
		argv[n++] = zone_args[i];
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = ps;
	if (extra1 != NULL)
		argv[n++] = extra1;
	if (extra2 != NULL)
		argv[n++] = extra2;
	argv[n] = NULL;
}

Test(procs, port_in_use_is_refused, .timeout = 30)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	const char *argv[32];
	char ps[8];
	uint16_t port = sys_free_port();
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_neq(port, 0);
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	args_with_port(argv, ps, port, NULL, NULL);
	expect_refusal(argv, port, ps, 0, NULL);
	close(fd);
}

/* SO_REUSEPORT must not let a second instance share the port. */
Test(procs, second_instance_on_the_same_port_is_refused, .timeout = 30)
{
	struct sys_server first;
	const char *argv[32];
	char ps[8];
	char shm[64];

	cr_assert_eq(sys_server_start(&first, zone_args), 0);
	snprintf(shm, sizeof(shm), "/ahd-second-%d", (int)getpid());
	args_with_port(argv, ps, first.port, "--shm-name", shm);
	expect_refusal(argv, first.port, ps, first.pid, shm);
	cr_expect_eq(sys_query(first.port, "www." ZONE, LDNS_RR_TYPE_A,
			       LDNS_RR_CLASS_IN, false) != NULL, 1,
		     "the first instance stopped answering");
	cr_expect_eq(sys_server_stop(&first), 0);
}

Test(procs, unknown_user_is_refused, .timeout = 30)
{
	const char *argv[32];
	char ps[8];
	uint16_t port = sys_free_port();

	if (geteuid() != 0)
		cr_skip_test("not root: the account is only looked up as root");
	args_with_port(argv, ps, port, "--user", "no-such-user-ahd");
	expect_refusal(argv, port, "no-such-user-ahd", 0, NULL);
}

/* The binary with zone_args and --check-config; its exit status. */
static int run_check_config(char **out, char **err)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = sys_bin();
	for (size_t i = 0; zone_args[i] != NULL; i++)
		argv[n++] = zone_args[i];
	argv[n++] = "--check-config";
	argv[n] = NULL;
	return sys_run(argv, 10000, out, err);
}

Test(procs, check_config_prints_a_summary, .timeout = 30)
{
	char *out = NULL, *err = NULL;
	int st;

	st = run_check_config(&out, &err);
	cr_expect_eq(st, 0, "stderr: %s", err);
	cr_assert_not_null(out);
	cr_expect(strstr(out, ZONE) != NULL, "summary lacks the zone: %s", out);
	cr_expect(strstr(out, "192.0.2.1") != NULL, "summary lacks the address: %s", out);
	free(out);
	free(err);
}

/* A variable meant for a wrapper or a unit drop-in that happens to start
 * with AHDNS_ must not take the server down: it starts, answers, and says
 * once which variable it ignored; --check-config says so too and passes. */
Test(procs, stray_ahdns_variable_is_a_warning, .timeout = 30)
{
	static const char warn[] = "warning: ignoring unknown environment variable "
				   "'AHDNS_FOO'";
	char *out = NULL, *err = NULL;
	struct sys_server s;
	ldns_pkt *p;
	char *log;
	int st;

	cr_assert_eq(setenv("AHDNS_FOO", "1", 1), 0);
	st = run_check_config(&out, &err);
	cr_expect_eq(st, 0, "--check-config exit status %d, stderr: %s", st, err);
	cr_expect(out != NULL && strstr(out, ZONE) != NULL, "no summary: %s", out);
	cr_expect_eq(sys_count_lines(err), 1, "stderr [%s]", err);
	cr_expect(err != NULL && strstr(err, warn) != NULL, "stderr [%s]", err);
	free(out);
	free(err);

	cr_assert_eq(sys_server_start(&s, zone_args), 0, "the server did not start");
	unsetenv("AHDNS_FOO");
	p = sys_query(s.port, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	cr_assert_not_null(p, "no answer");
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_eq(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	log = sys_server_log(&s);
	cr_assert_not_null(log);
	cr_expect(strstr(log, warn) != NULL, "no warning in the log: %s", log);
	/* Once, by the supervisor: the children read the serialized
	 * configuration, not the environment. */
	cr_expect_null(strstr(strstr(log, warn) + 1, warn), "warned twice: %s", log);
	free(log);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(procs, bad_flags_exit_non_zero_with_one_line, .timeout = 30)
{
	static const char *const cases[][3] = {
		{"--no-such-flag", NULL, "--no-such-flag"},
		{"--port", "70000", "--port"},
		{"--workers", "zero", "--workers"},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *argv[32];
		size_t n = 0;
		char *out = NULL, *err = NULL;
		int st;

		argv[n++] = sys_bin();
		for (size_t i = 0; zone_args[i] != NULL; i++)
			argv[n++] = zone_args[i];
		argv[n++] = cases[c][0];
		if (cases[c][1] != NULL)
			argv[n++] = cases[c][1];
		argv[n] = NULL;
		st = sys_run(argv, 10000, &out, &err);
		cr_expect(st > 0, "%s: exit status %d", cases[c][0], st);
		cr_expect_eq(sys_count_lines(err), 1, "%s: stderr [%s]", cases[c][0], err);
		cr_expect(err && strstr(err, cases[c][2]) != NULL,
			  "%s: the line does not name the flag: [%s]", cases[c][0], err);
		free(out);
		free(err);
	}
}

/* Whether any descriptor of pid points at the key file or the
 * supervisor's key memfd. */
static bool holds_key_fd(pid_t pid, const char *key_path)
{
	char dir[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)) != NULL) {
		char link[320], target[512];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, key_path) == 0 || strstr(target, "a-healthy-dns-key") != NULL)
			found = true;
	}
	closedir(d);
	return found;
}

/* Whether needle[0..len) is anywhere in pid's readable memory. */
static bool memory_holds(pid_t pid, const void *needle, size_t len)
{
	char path[64];
	char line[512];
	bool found = false;
	FILE *maps;
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	cr_assert_not_null(maps, "%s", path);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(mem, 0, "%s", path);
	while (!found && fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perms[8];
		char *buf;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
		    hi - lo > (256UL << 20) || strstr(line, "[vvar") != NULL)
			continue;
		buf = malloc(hi - lo);
		cr_assert_not_null(buf);
		if (pread(mem, buf, hi - lo, (off_t)lo) == (ssize_t)(hi - lo))
			found = memmem(buf, hi - lo, needle, len) != NULL;
		free(buf);
	}
	close(mem);
	fclose(maps);
	return found;
}

/* DESIGN §2: "the workers never hold the private key". Only the prober is
 * handed it, and no worker has a descriptor on it or its bytes in
 * memory, PEM text or DER. */
Test(procs, workers_never_hold_the_key, .timeout = 60)
{
	struct sys_server s;
	struct sys_kids k;
	char key[256], der_path[270], line[80];
	char *pem, *der, *b64;
	size_t der_len = 0;

	cr_assert_eq(sys_make_key("RSA", key, sizeof(key)), 0);
	snprintf(der_path, sizeof(der_path), "%s.der", key);
	{
		const char *argv[] = {"openssl", "pkey", "-in", key, "-outform", "DER",
				      "-out", der_path, NULL};

		cr_assert_eq(sys_run(argv, 10000, NULL, NULL), 0);
	}
	pem = sys_read_file(key, NULL);
	der = sys_read_file(der_path, &der_len);
	cr_assert(pem != NULL && der != NULL && der_len > 600);
	/* The first base64 line of the body. */
	b64 = strchr(pem, '\n');
	cr_assert_not_null(b64);
	snprintf(line, sizeof(line), "%.64s", b64 + 1);
	cr_assert_eq(strlen(line), 64);
	/* The scan finds what is there: our own copies. */
	cr_assert(memory_holds(getpid(), line, strlen(line)));
	cr_assert(memory_holds(getpid(), der, der_len));
	{
		const char *args[] = {"--hosted-zone", ZONE,
				      "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
				      "--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}",
				      "--workers", "2", "--user", "nobody",
				      "--priv-key-path", key, NULL};

		cr_assert_eq(sys_server_start(&s, args), 0);
	}
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 30000), 0);
	wait_kids(s.pid, &k, 2);
	/* The supervisor keeps the key for restarts: the fd check sees it. */
	cr_expect(holds_key_fd(s.pid, key), "supervisor has no key descriptor");
	for (size_t i = 0; i < k.n_workers; i++) {
		char cmd[256];

		cr_expect(!holds_key_fd(k.workers[i], key), "worker %d has the key open",
			  (int)k.workers[i]);
		cr_assert_eq(sys_cmdline(k.workers[i], cmd, sizeof(cmd)), 0);
		cr_expect(strstr(cmd, "--key-fd") == NULL, "%s", cmd);
		/* The scan can read the worker: its zone is there. */
		cr_expect(memory_holds(k.workers[i], ZONE, strlen(ZONE)), "unreadable worker");
		cr_expect(!memory_holds(k.workers[i], line, strlen(line)),
			  "worker %d has the PEM in memory", (int)k.workers[i]);
		cr_expect(!memory_holds(k.workers[i], der, der_len),
			  "worker %d has the DER key in memory", (int)k.workers[i]);
	}
	/* The prober read the key and closed its descriptor. */
	cr_expect(!holds_key_fd(k.prober, key), "prober kept the key descriptor");
	free(pem);
	free(der);
	cr_assert_eq(sys_server_stop(&s), 0);
	sys_remove_key(key);
}

/* Where the binary itself is mapped in pid: the start of the first
 * mapping of its /proc/pid/exe. 0: not found. */
static unsigned long exe_base(pid_t pid)
{
	char path[64], exe[512], line[1024];
	unsigned long lo = 0, base = 0;
	ssize_t n;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0, "%s", path);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	cr_assert_not_null(maps, "%s", path);
	while (base == 0 && fgets(line, sizeof(line), maps) != NULL) {
		char *name = strchr(line, '/');

		line[strcspn(line, "\n")] = '\0';
		if (name != NULL && strcmp(name, exe) == 0 && sscanf(line, "%lx-", &lo) == 1)
			base = lo;
	}
	fclose(maps);
	return base;
}

/*
 * The worker parses packets from the network: it is re-executed, so it
 * holds neither the supervisor's memory nor its address-space layout.
 * The prober is forked without exec (it gets the configuration and the
 * key anyway): it shares the supervisor's layout and library pages.
 */
Test(procs, workers_are_reexecuted_and_the_prober_is_forked, .timeout = 30)
{
	struct sys_server s;
	struct sys_kids k;
	unsigned long sup;
	char aslr[16] = "";
	FILE *f;

	cr_assert_eq(sys_server_start(&s, zone_args), 0);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	wait_kids(s.pid, &k, 2);
	sup = exe_base(s.pid);
	cr_assert_neq(sup, 0, "no mapping of the binary in the supervisor");
	cr_expect_eq(exe_base(k.prober), sup, "the prober has a layout of its own: exec'd?");
	/* Two exec'd processes only share a base by chance when the kernel
	 * randomizes; without ASLR every exec gets the same one. */
	f = fopen("/proc/sys/kernel/randomize_va_space", "r");
	if (f != NULL) {
		if (fgets(aslr, sizeof(aslr), f) == NULL)
			aslr[0] = '\0';
		fclose(f);
	}
	for (size_t i = 0; i < k.n_workers; i++) {
		unsigned long w = exe_base(k.workers[i]);

		cr_expect_neq(w, 0, "no mapping of the binary in worker %d", (int)k.workers[i]);
		if (aslr[0] == '2')
			cr_expect_neq(w, sup, "worker %d has the supervisor's layout: not exec'd?",
				      (int)k.workers[i]);
	}
	cr_expect_eq(sys_server_stop(&s), 0);
}
