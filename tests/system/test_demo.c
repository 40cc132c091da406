/*
 * `make run` (scripts/run-demo.sh) from the outside: the lines it prints
 * to try work as printed, and the tool they call comes with the packages
 * `make run` installs (scripts/deps.sh run), so they work on a machine
 * that only ran `make run`.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysutil.h"

#define DEMO "scripts/run-demo.sh"

/* Start the demo in its own process group with its stdout in out_path;
 * its server answers on port once this returns. */
static pid_t demo_start(uint16_t port, uint16_t target_port, char *out_path)
{
	char ps[8], ts[8], ms[8];
	int fd = mkstemp(out_path);
	struct sys_server s;
	pid_t pid;

	cr_assert_geq(fd, 0);
	snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	snprintf(ts, sizeof(ts), "%u", (unsigned)target_port);
	snprintf(ms, sizeof(ms), "%u", (unsigned)sys_free_port());
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fd, 1);
		/* The server's log; a failing dig line says enough. */
		freopen("/dev/null", "w", stderr);
		setenv("AHD_BIN", sys_bin(), 1);
		setenv("AHD_TOOLS", sys_tools_dir(), 1);
		setenv("AHD_DEMO_PORT", ps, 1);
		setenv("AHD_DEMO_TARGET_PORT", ts, 1);
		setenv("AHD_DEMO_METRICS_PORT", ms, 1);
		execl("/bin/bash", "bash", DEMO, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(fd);
	memset(&s, 0, sizeof(s));
	s.pid = pid;
	s.port = port;
	cr_assert_eq(sys_server_wait_ready(&s, "127.0.0.1", SYS_START_MS), 0,
		     "the demo server never answered");
	return pid;
}

static void demo_stop(pid_t pid)
{
	kill(-pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* The package that installed the program `name` (dpkg -S), into pkg. */
static int package_of(const char *name, char *pkg, size_t cap)
{
	char cmd[256];
	char *out = NULL;
	const char *argv[] = {"sh", "-c", cmd, NULL};
	char *colon;
	int rc;

	snprintf(cmd, sizeof(cmd), "dpkg -S \"$(readlink -f \"$(command -v %s)\")\"", name);
	rc = sys_run(argv, 10000, &out, NULL);
	if (rc != 0 || out == NULL || (colon = strchr(out, ':')) == NULL) {
		free(out);
		return -1;
	}
	*colon = '\0';
	snprintf(pkg, cap, "%s", out);
	free(out);
	return 0;
}

Test(demo, printed_dig_lines_work_and_dig_is_a_run_dependency, .timeout = 120)
{
	char out_path[] = "/tmp/ahd-demo-out-XXXXXX";
	uint16_t port = sys_free_port(), target_port = sys_free_port();
	pid_t pid = demo_start(port, target_port, out_path);
	char *text = sys_read_file(out_path, NULL);
	const char *deps_argv[] = {"scripts/deps.sh", "--list", "run", NULL};
	char *deps = NULL, pkg[128], want[140];
	size_t n_dig = 0;

	cr_assert_not_null(text);
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		const char *argv[] = {"sh", "-c", line, NULL};
		char *dig_out = NULL;
		const char *status;
		int rc;

		while (*line == ' ')
			line++;
		if (strncmp(line, "dig ", 4) != 0)
			continue;
		n_dig++;
		/* As printed (the "# NXDOMAIN" note is a shell comment). */
		rc = sys_run(argv, 30000, &dig_out, NULL);
		cr_expect_eq(rc, 0, "'%s' exited %d", line, rc);
		status = strstr(line, "# NXDOMAIN") != NULL ? "status: NXDOMAIN" : "status: NOERROR";
		cr_expect(dig_out != NULL && strstr(dig_out, status) != NULL, "'%s': %s", line,
			  dig_out);
		free(dig_out);
	}
	demo_stop(pid);
	unlink(out_path);
	free(text);
	cr_expect_geq(n_dig, 3, "the demo printed %zu dig lines", n_dig);

	cr_assert_eq(package_of("dig", pkg, sizeof(pkg)), 0, "dig's package is not known");
	cr_assert_eq(sys_run(deps_argv, 10000, &deps, NULL), 0);
	snprintf(want, sizeof(want), "\n%s\n", pkg);
	{
		char all[4096];

		snprintf(all, sizeof(all), "\n%s", deps != NULL ? deps : "");
		cr_expect(strstr(all, want) != NULL,
			  "dig comes from %s, which scripts/deps.sh run does not install: %s", pkg,
			  deps);
	}
	free(deps);
}
