/*
 * ahd-syscall-filter: run a program under a system call allow-list, the
 * way systemd applies a unit's SystemCallFilter= (a call outside the list
 * kills the process with SIGSYS; the filter is inherited across fork and
 * exec, so it covers the whole server, as under the unit).
 *
 *   ahd-syscall-filter LIST PROGRAM [ARG...]
 *
 * LIST: a file with one system call name per line (what
 * packaging/systemd/unit-syscalls.sh prints for the unit); names this
 * architecture does not know are skipped, as systemd skips them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	char line[128];
	size_t allowed = 0;
	FILE *f;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: %s LIST PROGRAM [ARG...]\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		fprintf(stderr, "%s: seccomp_init failed\n", argv[0]);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		int nr;

		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		nr = seccomp_syscall_resolve_name(line);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0 && rc != -EEXIST) {
			fprintf(stderr, "%s: allowing %s: %s\n", argv[0], line, strerror(-rc));
			return 2;
		}
		allowed++;
	}
	fclose(f);
	if (allowed == 0) {
		fprintf(stderr, "%s: %s lists no system call\n", argv[0], argv[1]);
		return 2;
	}
	/* The unit sets NoNewPrivileges=yes; seccomp needs it unprivileged. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || (rc = seccomp_load(ctx)) < 0) {
		fprintf(stderr, "%s: cannot load the filter\n", argv[0]);
		return 2;
	}
	seccomp_release(ctx);
	execvp(argv[2], argv + 2);
	fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], strerror(errno));
	return 127;
}
