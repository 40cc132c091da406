/*
 * ahd-syscall-filter: run a program under a system call allow-list, the
 * way systemd applies a unit's SystemCallFilter= (a call outside the list
 * kills the process with SIGSYS; the filter is inherited across fork and
 * exec, so it covers the whole server, as under the unit).
 *
 *   ahd-syscall-filter [--caps CAP,...] LIST PROGRAM [ARG...]
 *
 * LIST: a file with one system call name per line (what
 * packaging/systemd/unit-syscalls.sh prints for the unit); names this
 * architecture does not know are skipped, as systemd skips them.
 * --caps: the unit's CapabilityBoundingSet= (names as systemd spells
 * them): every other capability leaves the bounding set, so a root
 * PROGRAM holds only these, as under the unit.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

/* Indexed by capability number, as in linux/capability.h. */
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

/* Drop from the bounding set every capability not named in list. */
static int bound_caps(const char *self, const char *list)
{
	char buf[1024], *tok, *save = NULL;
	int keep[sizeof(cap_names) / sizeof(cap_names[0])] = {0};

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		size_t i = 0;

		while (i < sizeof(cap_names) / sizeof(cap_names[0]) && strcmp(cap_names[i], tok) != 0)
			i++;
		if (i == sizeof(cap_names) / sizeof(cap_names[0])) {
			fprintf(stderr, "%s: unknown capability %s\n", self, tok);
			return -1;
		}
		keep[i] = 1;
	}
	/* Past our table too: whatever this kernel knows that we do not. */
	for (int c = 0; prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++) {
		if ((size_t)c < sizeof(keep) / sizeof(keep[0]) && keep[c])
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			fprintf(stderr, "%s: dropping capability %d: %s\n", self, c, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	char line[128];
	size_t allowed = 0;
	FILE *f;
	int rc;

	if (argc >= 3 && strcmp(argv[1], "--caps") == 0) {
		if (bound_caps(argv[0], argv[2]) < 0)
			return 2;
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: %s [--caps CAP,...] LIST PROGRAM [ARG...]\n", argv[0]);
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
