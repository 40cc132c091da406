/*
 * The whole daemon under valgrind memcheck: the plain binary (env
 * AHD_VALGRIND_BIN, default build/a-healthy-dns; never the ASan build,
 * the two do not mix) runs with --trace-children=yes, so the supervisor,
 * the prober and every worker each write their own log. The tests drive
 * what a running server does (queries of every outcome over UDP and TCP,
 * EDNS options, truncation, rude TCP clients, health changes republished
 * by the prober, a worker restart, SIGHUP; the same with a DNSSEC key;
 * --check-config accepting and refusing), stop the supervisor with
 * SIGTERM, and then require of every process's log: it ran to its end,
 * 0 errors, nothing definitely or indirectly lost. Suppressions:
 * tests/valgrind/ahd.supp (third-party noise only).
 *
 * Needs valgrind and ahd-health-target (AHD_TOOLS). Run by `make valgrind`
 * (tests/valgrind/valgrind.mk). A failing run keeps its logs in
 * /tmp/ahd-vg-XXXXXX and prints every failing log in full.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "vg.test"
#define ALIAS "vg-alias.test"
/* valgrind runs code 20-50 times slower: generous waits, and a whole run
 * still takes well under a minute on two cores. */
#define VG_START_MS 90000
#define VG_CHANGE_MS 30000
#define VG_STOP_MS 60000
#define VG_REPLY_MS 5000
#define VG_BIG_COUNT 40

static const char *vg_bin(void)
{
	const char *b = getenv("AHD_VALGRIND_BIN");

	return b && *b ? b : "build/a-healthy-dns";
}

static const char *vg_supp(void)
{
	const char *s = getenv("AHD_VALGRIND_SUPP");

	return s && *s ? s : "tests/valgrind/ahd.supp";
}

/* ---- running the binary under valgrind ---- */

struct vg_run {
	char dir[32];           /* the per-process logs */
	char log_opt[128];      /* --log-file=... */
	char supp_opt[PATH_MAX + 32];
	char bin[PATH_MAX];
};

static void vg_run_init(struct vg_run *r)
{
	char supp[PATH_MAX];

	snprintf(r->dir, sizeof(r->dir), "/tmp/ahd-vg-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	/* %n: a forked child writes a short log until it execs; the exec'd
	 * image then needs a file of its own rather than truncating it. */
	snprintf(r->log_opt, sizeof(r->log_opt), "--log-file=%s/vg.%%p.%%n.log", r->dir);
	cr_assert_not_null(realpath(vg_supp(), supp), "%s: %s", vg_supp(), strerror(errno));
	snprintf(r->supp_opt, sizeof(r->supp_opt), "--suppressions=%s", supp);
	cr_assert_not_null(realpath(vg_bin(), r->bin), "%s: %s (make all)", vg_bin(),
			   strerror(errno));
}

/* valgrind's options, then the binary, then args; argv has room for 128. */
static void vg_argv(struct vg_run *r, const char **argv, const char *const *args)
{
	size_t n = 0;

	argv[n++] = "valgrind";
	argv[n++] = "--tool=memcheck";
	/* The supervisor fork+execs its children from /proc/self/exe; they
	 * must be checked too. */
	argv[n++] = "--trace-children=yes";
	argv[n++] = "--child-silent-after-fork=no";
	argv[n++] = "--leak-check=full";
	argv[n++] = "--show-leak-kinds=definite,indirect,possible";
	argv[n++] = "--errors-for-leak-kinds=definite,indirect";
	argv[n++] = "--error-exitcode=99";
	argv[n++] = "--gen-suppressions=all";
	argv[n++] = "--num-callers=30";
	argv[n++] = r->supp_opt;
	argv[n++] = r->log_opt;
	argv[n++] = r->bin;
	for (size_t i = 0; args[i] != NULL && n < 127; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
}

/*
 * Wait for the ready line and a first answer. valgrind's own complaints
 * on the server's stderr (it could not start a traced child) fail at
 * once instead of after the whole wait.
 */
static void vg_wait_up(struct sys_server *s)
{
	int64_t end = sys_now_ms() + VG_START_MS;
	char *log = NULL;

	for (;;) {
		free(log);
		log = sys_server_log(s);
		if (log != NULL && (strncmp(log, "valgrind: ", 10) == 0 ||
				    strstr(log, "\nvalgrind: ") != NULL))
			cr_assert_fail("valgrind could not run a process of the server (an exec "
				       "it cannot follow, such as execve(\"/proc/self/exe\"): "
				       "use fexecve on an fd of open(\"/proc/self/exe\")); "
				       "the server's log:\n%s", log);
		if (log != NULL && strstr(log, SYS_READY_LOG) != NULL &&
		    sys_server_wait_ready(s, "127.0.0.1", 1000) == 0)
			break;
		if (s->pid == 0 || sys_server_wait(s, 0) >= 0 || sys_now_ms() >= end)
			cr_assert_fail("the server under valgrind did not come up (exit status "
				       "%d); its log:\n%s", s->pid ? -1 : s->exit_status,
				       log ? log : "");
		sys_sleep_ms(100);
	}
	free(log);
}

/* Like sys_server_start, but the process is valgrind running the binary
 * (valgrind keeps the pid: s->pid is the supervisor). */
static void vg_server_start(struct vg_run *r, struct sys_server *s,
			    const char *const *args)
{
	const char *argv[128];
	pid_t parent = getpid();
	int fd;

	vg_argv(r, argv, args);
	snprintf(s->log_path, sizeof(s->log_path), "%s/server.log", r->dir);
	fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	s->pid = fork();
	cr_assert_geq(s->pid, 0);
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	vg_wait_up(s);
}

/* ---- reading the logs ---- */

struct vg_log {
	int pid;
	char role[32];          /* "supervisor", "prober", "worker 0", "fragment" */
	bool complete;          /* reached its ERROR SUMMARY */
	long errors;
	long definite, indirect, possible;
	long stray;             /* lines of a fragment beyond the banner */
};

/* "1,234" -> 1234 */
static long vg_number(const char *p)
{
	long v = 0;

	while (*p == ' ')
		p++;
	for (; (*p >= '0' && *p <= '9') || *p == ','; p++) {
		if (*p != ',')
			v = v * 10 + (*p - '0');
	}
	return v;
}

static long vg_field(const char *text, const char *label)
{
	const char *p = strstr(text, label);

	return p ? vg_number(p + strlen(label)) : 0;
}

static char *vg_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	if (buf != NULL) {
		len = (long)fread(buf, 1, (size_t)len, f);
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

/* Lines of a fork fragment other than valgrind's banner: an error
 * between fork and exec would show here. */
static long vg_stray_lines(const char *text)
{
	static const char *const banner[] = {
		"Memcheck, a memory error detector", "Copyright (C)", "Using Valgrind",
		"Command:", "Parent PID:",
	};
	long n = 0;
	const char *l = text;

	while (*l) {
		const char *eol = strchr(l, '\n');
		const char *body = strstr(l, "== ");
		bool known = false;

		if (eol == NULL)
			eol = l + strlen(l);
		if (body != NULL && body < eol && body + 3 < eol) {
			body += 3;
			for (size_t i = 0; i < sizeof(banner) / sizeof(banner[0]); i++)
				known |= strncmp(body, banner[i], strlen(banner[i])) == 0;
			n += !known;
		}
		l = *eol ? eol + 1 : eol;
	}
	return n;
}

static void vg_classify(const char *text, int sup_pid, struct vg_log *v)
{
	const char *cmd = strstr(text, "Command: ");
	const char *eol = cmd ? strchr(cmd, '\n') : NULL;
	char line[4096] = "";
	const char *r;

	if (cmd != NULL) {
		size_t len = eol ? (size_t)(eol - cmd) : strlen(cmd);

		snprintf(line, sizeof(line), "%.*s", (int)len, cmd);
	}
	if ((r = strstr(line, "--role prober")) != NULL) {
		snprintf(v->role, sizeof(v->role), "prober");
	} else if ((r = strstr(line, "--role worker --index ")) != NULL) {
		snprintf(v->role, sizeof(v->role), "worker %d",
			 atoi(r + strlen("--role worker --index ")));
	} else if (v->pid == sup_pid || sup_pid == 0) {
		snprintf(v->role, sizeof(v->role), "supervisor");
	} else if (strstr(text, "ERROR SUMMARY: ") != NULL) {
		/* The prober is forked without exec: it keeps the
		 * supervisor's command line but, unlike a worker's fork
		 * fragment, runs to a summary of its own. */
		snprintf(v->role, sizeof(v->role), "prober");
	} else {
		/* A child between fork and exec still shows its parent's
		 * command line; the exec'd image has its own log. */
		snprintf(v->role, sizeof(v->role), "fragment");
	}
	v->complete = strstr(text, "ERROR SUMMARY: ") != NULL;
	v->errors = vg_field(text, "ERROR SUMMARY: ");
	v->definite = vg_field(text, "definitely lost: ");
	v->indirect = vg_field(text, "indirectly lost: ");
	v->possible = vg_field(text, "possibly lost: ");
	v->stray = v->complete ? 0 : vg_stray_lines(text);
}

static bool vg_log_ok(const struct vg_log *v)
{
	if (strcmp(v->role, "fragment") == 0)
		return !v->complete && v->stray == 0;
	return v->complete && v->errors == 0 && v->definite == 0 && v->indirect == 0;
}

/* How many clean complete logs a role must have. */
struct vg_expect {
	const char *role;
	int min;
	int seen;
};

/*
 * Check every log in dir; prints one line per process and every failing
 * log in full. sup_pid 0: the process without --role is the main one
 * whatever its pid (a run that forks nothing). Returns the number of bad
 * logs; want[].seen counts the clean complete logs of each role.
 */
static int vg_check_logs(const char *dir, int sup_pid, struct vg_expect *want, size_t nwant)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int bad = 0, files = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct vg_log v;
		char *text;

		if (strncmp(e->d_name, "vg.", 3) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = vg_read(path);
		cr_assert_not_null(text, "%s: %s", path, strerror(errno));
		memset(&v, 0, sizeof(v));
		v.pid = atoi(e->d_name + 3);
		vg_classify(text, sup_pid, &v);
		files++;
		fprintf(stderr, "valgrind %s pid %d: %s, %ld errors, lost %ld definite "
			"%ld indirect %ld possible bytes\n", v.role, v.pid,
			v.complete ? "complete" : "no summary", v.errors, v.definite,
			v.indirect, v.possible);
		if (!vg_log_ok(&v)) {
			bad++;
			fprintf(stderr, "---- %s (%s) ----\n%s---- end of %s ----\n", path,
				v.role, text, path);
		} else {
			for (size_t i = 0; i < nwant; i++)
				want[i].seen += strcmp(want[i].role, v.role) == 0;
		}
		free(text);
	}
	closedir(d);
	cr_expect_gt(files, 0, "valgrind wrote no log in %s", dir);
	return bad;
}

static void vg_rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void vg_verdict(struct vg_run *r, int sup_pid, struct vg_expect *want, size_t nwant)
{
	int bad = vg_check_logs(r->dir, sup_pid, want, nwant);

	for (size_t i = 0; i < nwant; i++)
		cr_expect_geq(want[i].seen, want[i].min,
			      "want %d clean complete valgrind log(s) of the %s, have %d",
			      want[i].min, want[i].role, want[i].seen);
	cr_expect_eq(bad, 0, "%d process(es) with memcheck errors, leaks or a cut "
		     "log: logs kept in %s", bad, r->dir);
	for (size_t i = 0; i < nwant; i++)
		bad += want[i].seen < want[i].min;
	if (bad == 0)
		vg_rm_dir(r->dir);
}

/* ---- queries ---- */

enum {
	E_OPT = 1 << 0,      /* an OPT RR */
	E_NSID = 1 << 1,     /* NSID request */
	E_CCOOKIE = 1 << 2,  /* client cookie only */
	E_FCOOKIE = 1 << 3,  /* client + a server cookie we never made */
	E_V1 = 1 << 4,       /* EDNS version 1 */
	E_TWO = 1 << 5,      /* two OPTs */
	E_BADLEN = 1 << 6,   /* a COOKIE option of 5 bytes */
	E_DO = 1 << 7,
};

enum {
	M_NONE = 0,
	M_QD2,       /* QDCOUNT 2 */
	M_CUT,       /* QDCOUNT 1 but the name stops half way */
	M_STATUS,    /* opcode STATUS */
	M_QR,        /* QR set: dropped */
	M_SHORT,     /* 5 bytes: dropped */
	M_QD0,       /* no question, with a cookie (RFC 7873 5.4) */
};

#define DROP (-1)
/* Whatever rcode: the outcome depends on features outside this test
 * (cookies switched on in the worker or not); only the memory matters. */
#define ANY_RCODE (-2)
#define T_ANY 255
#define T_HINFO 13

struct vg_case {
	const char *what;
	const char *name;
	uint16_t type, cls;
	unsigned edns;
	uint16_t payload;
	int mangle;
	int rcode;       /* 12-bit rcode, or DROP */
	int an_min, an_max;
	bool tc;
};

static const struct vg_case vg_cases[] = {
	{"A", "www." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 0, 1, 1, false},
	{"AAAA", "www." ZONE, LDNS_RR_TYPE_AAAA, 1, 0, 0, M_NONE, 0, 1, 1, false},
	{"A mixed case", "WwW.Vg.TeSt", LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 0, 1, 1, false},
	{"NXDOMAIN", "nope." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 3, 0, 0, false},
	{"NODATA type", "www." ZONE, LDNS_RR_TYPE_MX, 1, 0, 0, M_NONE, 0, 0, 0, false},
	{"NODATA empty non-terminal", "parent." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 0, 0, 0, false},
	{"NODATA unknown type", "www." ZONE, 65280, 1, 0, 0, M_NONE, 0, 0, 0, false},
	{"ANY", "www." ZONE, T_ANY, 1, 0, 0, M_NONE, 0, 1, 1, false},
	{"SOA", ZONE, LDNS_RR_TYPE_SOA, 1, 0, 0, M_NONE, 0, 1, 1, false},
	{"NS", ZONE, LDNS_RR_TYPE_NS, 1, 0, 0, M_NONE, 0, 2, 2, false},
	{"alias A", "www." ALIAS, LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 0, 1, 1, false},
	{"alias NXDOMAIN", "nope." ALIAS, LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 3, 0, 0, false},
	{"alias SOA", ALIAS, LDNS_RR_TYPE_SOA, 1, E_OPT, 1232, M_NONE, 0, 1, 1, false},
	{"REFUSED out of zone", "www.example.org", LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 5, 0, 0, false},
	{"REFUSED class CH", "www." ZONE, LDNS_RR_TYPE_A, 3, 0, 0, M_NONE, 5, 0, 0, false},
	{"FORMERR QDCOUNT 2", "www." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_QD2, 1, 0, 0, false},
	{"FORMERR cut name", "www." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_CUT, 1, 0, 0, false},
	{"NOTIMP", "www." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_STATUS, 4, 0, 0, false},
	{"QR set", "www." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_QR, DROP, 0, 0, false},
	{"short", "www." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_SHORT, DROP, 0, 0, false},
	{"EDNS", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 4096, M_NONE, 0, 1, 1, false},
	{"EDNS cookie NSID", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_NSID | E_CCOOKIE,
	 1232, M_NONE, 0, 1, 1, false},
	{"EDNS foreign server cookie", "www." ZONE, LDNS_RR_TYPE_AAAA, 1,
	 E_OPT | E_FCOOKIE | E_NSID, 1232, M_NONE, 0, 1, 1, false},
	{"EDNS cookie, no question", "", 0, 0, E_OPT | E_CCOOKIE, 1232, M_QD0, ANY_RCODE, 0, 0,
	 false},
	{"BADVERS", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_V1, 1232, M_NONE, 16, 0, 0, false},
	{"FORMERR two OPTs", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_TWO, 1232, M_NONE, 1,
	 0, 0, false},
	{"FORMERR bad cookie length", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_BADLEN, 1232,
	 M_NONE, 1, 0, 0, false},
	{"truncated without EDNS", "big." ZONE, LDNS_RR_TYPE_A, 1, 0, 0, M_NONE, 0, 0,
	 VG_BIG_COUNT, true},
	{"truncated at EDNS 512", "big." ZONE, LDNS_RR_TYPE_A, 1, E_OPT, 512, M_NONE, 0, 0,
	 VG_BIG_COUNT, true},
	{"fits EDNS 1232", "big." ZONE, LDNS_RR_TYPE_A, 1, E_OPT, 1232, M_NONE, 0,
	 VG_BIG_COUNT, VG_BIG_COUNT, false},
	{"NODATA with EDNS", "parent." ZONE, LDNS_RR_TYPE_AAAA, 1, E_OPT | E_CCOOKIE, 1232,
	 M_NONE, 0, 0, 0, false},
};

/* With a key: the same outcomes, plus signatures and NSEC proofs as
 * the answers grow (counted loosely: only the memory matters here). */
static const struct vg_case vg_signed_cases[] = {
	{"signed DNSKEY", ZONE, LDNS_RR_TYPE_DNSKEY, 1, E_OPT | E_DO, 4096, M_NONE, 0, 0, 8, false},
	{"signed SOA", ZONE, LDNS_RR_TYPE_SOA, 1, E_OPT | E_DO, 4096, M_NONE, 0, 1, 8, false},
	{"signed A", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 4096, M_NONE, 0, 1, 8, false},
	{"signed A alias", "www." ALIAS, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 4096, M_NONE, 0, 1, 8,
	 false},
	/* up or down depending on where the health flips below stand */
	{"signed checked A", "api." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 4096, M_NONE,
	 ANY_RCODE, 0, 8, false},
	{"signed NXDOMAIN", "nope." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 4096, M_NONE, 3, 0, 0,
	 false},
	{"signed NODATA", "www." ZONE, LDNS_RR_TYPE_MX, 1, E_OPT | E_DO, 4096, M_NONE, 0, 0, 0,
	 false},
	{"signed NODATA empty non-terminal", "parent." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 4096,
	 M_NONE, 0, 0, 0, false},
	{"signed ANY", "www." ZONE, T_ANY, 1, E_OPT | E_DO, 4096, M_NONE, 0, 1, 8, false},
	{"signed A without DO", "www." ZONE, LDNS_RR_TYPE_A, 1, E_OPT, 4096, M_NONE, 0, 1, 1,
	 false},
	{"signed truncated", "big." ZONE, LDNS_RR_TYPE_A, 1, E_OPT | E_DO, 512, M_NONE, 0, 0,
	 VG_BIG_COUNT + 1, true},
};

#define VG_NCASES (sizeof(vg_cases) / sizeof(vg_cases[0]))
#define VG_NSIGNED (sizeof(vg_signed_cases) / sizeof(vg_signed_cases[0]))

static void vg_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t vg_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t vg_qname(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		p[n++] = (uint8_t)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

static size_t vg_opt(uint8_t *p, const struct vg_case *c)
{
	size_t n = 0, rdlen = 0;
	uint8_t *rd;

	p[n++] = 0; /* root owner */
	vg_put16(p + n, LDNS_RR_TYPE_OPT);
	vg_put16(p + n + 2, c->payload);
	p[n + 4] = 0;
	p[n + 5] = (c->edns & E_V1) ? 1 : 0;
	vg_put16(p + n + 6, (c->edns & E_DO) ? 0x8000 : 0);
	n += 8;
	rd = p + n + 2;
	if (c->edns & E_NSID) {
		vg_put16(rd + rdlen, 3);
		vg_put16(rd + rdlen + 2, 0);
		rdlen += 4;
	}
	if (c->edns & (E_CCOOKIE | E_FCOOKIE | E_BADLEN)) {
		size_t len = (c->edns & E_FCOOKIE) ? 24 : (c->edns & E_BADLEN) ? 5 : 8;

		vg_put16(rd + rdlen, 10);
		vg_put16(rd + rdlen + 2, (uint16_t)len);
		for (size_t i = 0; i < len; i++)
			rd[rdlen + 4 + i] = (uint8_t)(0xa0 + i);
		/* A version 1 server cookie, reserved 0, an old timestamp. */
		if (len == 24)
			rd[rdlen + 4 + 8] = 1;
		rdlen += 4 + len;
	}
	vg_put16(p + n, (uint16_t)rdlen);
	return n + 2 + rdlen;
}

static size_t vg_build(uint8_t *q, uint16_t id, const struct vg_case *c)
{
	size_t n = 12;
	uint16_t ar = 0;

	memset(q, 0, 12);
	vg_put16(q, id);
	q[2] = 0x01; /* RD */
	if (c->mangle == M_STATUS)
		q[2] |= 2 << 3;
	if (c->mangle == M_QR)
		q[2] |= 0x80;
	if (c->mangle != M_QD0) {
		vg_put16(q + 4, c->mangle == M_QD2 ? 2 : 1);
		n += vg_qname(q + n, c->name);
		vg_put16(q + n, c->type);
		vg_put16(q + n + 2, c->cls);
		n += 4;
		if (c->mangle == M_QD2) {
			n += vg_qname(q + n, c->name);
			vg_put16(q + n, c->type);
			vg_put16(q + n + 2, c->cls);
			n += 4;
		}
		if (c->mangle == M_CUT)
			return 12 + 6; /* "\3www\2v": the name runs off the end */
	}
	if (c->edns & E_OPT) {
		n += vg_opt(q + n, c);
		ar++;
		if (c->edns & E_TWO) {
			n += vg_opt(q + n, c);
			ar++;
		}
	}
	vg_put16(q + 10, ar);
	if (c->mangle == M_SHORT)
		return 5;
	return n;
}

/* The 12-bit rcode of a response: the header's 4 bits, and the OPT's
 * upper 8 when there is one. */
static int vg_rcode(const uint8_t *r, size_t len)
{
	ldns_pkt *p = NULL;
	int rc = r[3] & 0x0f;

	if (ldns_wire2pkt(&p, r, len) == LDNS_STATUS_OK) {
		if (ldns_pkt_edns(p))
			rc |= ldns_pkt_edns_extended_rcode(p) << 4;
		ldns_pkt_free(p);
	}
	return rc;
}

static void vg_check_reply(const struct vg_case *c, uint16_t id, const uint8_t *r,
			   ssize_t len, const char *how)
{
	uint16_t an;

	if (c->rcode == DROP) {
		cr_expect_lt(len, 0, "%s (%s): a reply to a packet that must be dropped",
			     c->what, how);
		return;
	}
	cr_assert_geq(len, 12, "%s (%s): no reply", c->what, how);
	cr_expect_eq(vg_get16(r), id, "%s (%s): ID", c->what, how);
	cr_expect(r[2] & 0x80, "%s (%s): QR", c->what, how);
	if (c->rcode != ANY_RCODE)
		cr_expect_eq(vg_rcode(r, (size_t)len), c->rcode, "%s (%s): rcode %d, want %d",
			     c->what, how, vg_rcode(r, (size_t)len), c->rcode);
	an = vg_get16(r + 6);
	if (strcmp(how, "udp") == 0) {
		cr_expect_eq((r[2] & 0x02) != 0, c->tc, "%s (%s): TC", c->what, how);
		cr_expect(an >= c->an_min && an <= c->an_max, "%s (%s): %u answers, want %d..%d",
			  c->what, how, an, c->an_min, c->an_max);
	} else {
		/* The truncated cases are all "big": whole over TCP. */
		int want = c->tc ? VG_BIG_COUNT : c->an_min;

		/* Nothing is truncated over TCP. */
		cr_expect_eq(r[2] & 0x02, 0, "%s (%s): TC over TCP", c->what, how);
		cr_expect(an >= want && an <= c->an_max, "%s (%s): %u answers, want %d..%d",
			  c->what, how, an, want, c->an_max);
	}
}

static void vg_udp_all(uint16_t port, uint16_t *id, const struct vg_case *cases,
		       size_t ncases)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct vg_case *c = &cases[i];
		uint8_t q[1024], r[4096];
		size_t qlen = vg_build(q, ++*id, c);
		ssize_t n = sys_exchange("127.0.0.1", port, q, qlen, r, sizeof(r),
					 c->rcode == DROP ? 300 : VG_REPLY_MS);

		vg_check_reply(c, *id, r, n, "udp");
	}
}

static int vg_tcp_connect(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0,
		     "TCP connect to port %u: %s", (unsigned)port, strerror(errno));
	return fd;
}

static int vg_read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int64_t end = sys_now_ms() + VG_REPLY_MS;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = end - sys_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Every answerable case over one TCP connection, pipelined: all queries
 * in one write, then the replies (in any order, RFC 7766 section 7). */
static void vg_tcp_all(uint16_t port, uint16_t *id, const struct vg_case *cases,
		       size_t ncases)
{
	static uint8_t out[65536];
	const struct vg_case *sent[64];
	uint16_t ids[64];
	size_t n = 0, len = 0;
	int fd = vg_tcp_connect(port);

	for (size_t i = 0; i < ncases; i++) {
		const struct vg_case *c = &cases[i];
		size_t qlen;

		/* A dropped query gets no reply to wait for; a 5-byte one
		 * is a framing question of its own. */
		if (c->rcode == DROP)
			continue;
		qlen = vg_build(out + len + 2, ++*id, c);
		vg_put16(out + len, (uint16_t)qlen);
		len += 2 + qlen;
		sent[n] = c;
		ids[n++] = *id;
	}
	cr_assert_eq(write(fd, out, len), (ssize_t)len);
	for (size_t k = 0; k < n; k++) {
		uint8_t hdr[2], r[65535];
		uint16_t rlen;
		size_t j;

		cr_assert_eq(vg_read_full(fd, hdr, 2), 0, "TCP: reply %zu of %zu missing", k + 1, n);
		rlen = vg_get16(hdr);
		cr_assert_geq(rlen, 12);
		cr_assert_eq(vg_read_full(fd, r, rlen), 0, "TCP: reply cut");
		for (j = 0; j < n && ids[j] != vg_get16(r); j++)
			;
		cr_assert_lt(j, n, "TCP: reply with an ID never sent");
		vg_check_reply(sent[j], ids[j], r, rlen, "tcp");
		ids[j] = 0; /* each ID answered once */
	}
	close(fd);
}

/* Connections that end badly: half a length, half a message, a zero
 * length. The last one stays open through the shutdown. */
static int vg_tcp_rude(uint16_t port)
{
	static const uint8_t half_len[] = {0};
	static const uint8_t half_msg[] = {0, 40, 0x12, 0x34, 1, 0};
	static const uint8_t zero[] = {0, 0};
	int fd;

	fd = vg_tcp_connect(port);
	cr_assert_eq(write(fd, half_len, sizeof(half_len)), 1);
	close(fd);
	fd = vg_tcp_connect(port);
	cr_assert_eq(write(fd, half_msg, sizeof(half_msg)), (ssize_t)sizeof(half_msg));
	close(fd);
	fd = vg_tcp_connect(port);
	cr_assert_eq(write(fd, zero, sizeof(zero)), 2);
	close(fd);
	fd = vg_tcp_connect(port);
	cr_assert_eq(write(fd, half_msg, 3), 3);
	return fd;
}

/* ---- health targets ---- */

static int vg_listen(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %u: %s",
		     (unsigned)port, strerror(errno));
	/* The probes connect and close; the backlog holds them unaccepted. */
	cr_assert_eq(listen(fd, 4096), 0);
	return fd;
}

/* ahd-health-target --http 200 on port; SIGUSR1 makes it answer 503. */
static pid_t vg_http_target(uint16_t port)
{
	pid_t pid = sys_target_start(NULL, port, 200);

	cr_assert_gt(pid, 0, "the health target did not start");
	return pid;
}

static int vg_ancount(uint16_t port, const char *name)
{
	ldns_pkt *p = sys_query(port, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	int n;

	if (p == NULL)
		return -1;
	n = (int)ldns_rr_list_rr_count(ldns_pkt_answer(p));
	ldns_pkt_free(p);
	return n;
}

static void vg_wait_ancount(uint16_t port, const char *name, int want)
{
	int64_t end = sys_now_ms() + VG_CHANGE_MS;
	int got;

	do {
		got = vg_ancount(port, name);
		if (got == want)
			return;
		sys_sleep_ms(200);
	} while (sys_now_ms() < end);
	cr_assert_fail("%s: want %d A records, still %d after %d ms", name, want, got,
		       VG_CHANGE_MS);
}

/* Under valgrind a child's /proc cmdline is valgrind's own (setproctitle
 * only changes the client's copy): it ends with the exec'd arguments. */
static pid_t vg_find_worker(pid_t sup, unsigned index)
{
	pid_t kids[64];
	size_t n = sys_children(sup, kids, 64);
	char cmd[4096], want[64];

	snprintf(want, sizeof(want), "--role worker --index %u ", index);
	for (size_t i = 0; i < n && i < 64; i++) {
		if (sys_cmdline(kids[i], cmd, sizeof(cmd)) == 0 && strstr(cmd, want) != NULL)
			return kids[i];
	}
	return 0;
}

/* static, TCP-checked (hport) and HTTP-checked (wport) names, an empty
 * non-terminal, and a name too big for 512 bytes. */
static void vg_zone(char *res, size_t cap, uint16_t hport, uint16_t wport)
{
	size_t len;

	len = (size_t)snprintf(res, cap,
			       "{\"www\": [\"192.0.2.1\", \"2001:db8::1\"],"
			       " \"leaf.parent\": [\"192.0.2.2\"],"
			       " \"api\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u},"
			       " \"web\": {\"ips\": [\"127.0.0.1\", \"::1\"], \"health_port\": %u,"
			       " \"check\": \"http\", \"http_path\": \"/health\", \"rise\": 1,"
			       " \"fall\": 1},"
			       " \"big\": [",
			       (unsigned)hport, (unsigned)wport);
	for (int i = 0; i < VG_BIG_COUNT; i++)
		len += (size_t)snprintf(res + len, cap - len, "%s\"192.0.2.%d\"",
					i ? ", " : "", 100 + i);
	snprintf(res + len, cap - len, "]}");
}

TestSuite(memcheck, .timeout = 240);

Test(memcheck, running_server_has_no_errors_and_no_leaks)
{
	struct vg_run r;
	struct sys_server s;
	struct vg_expect want[] = {
		{"supervisor", 1, 0}, {"prober", 1, 0},
		/* worker 0 is stopped once and restarted: two logs */
		{"worker 0", 2, 0}, {"worker 1", 1, 0},
	};
	uint16_t port = sys_free_port(), hport = sys_free_port(), wport = sys_free_port();
	char port_s[8], res[2048], *log;
	uint16_t id = 0;
	pid_t http, w0, w0b, sup;
	int lfd, idle, st;

	cr_assert(port && hport && wport);
	memset(&s, 0, sizeof(s));
	s.port = port;
	vg_run_init(&r);
	lfd = vg_listen(hport);
	http = vg_http_target(wport);
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	vg_zone(res, sizeof(res), hport, wport);
	{
		const char *args[] = {
			"--hosted-zone", ZONE,
			"--alias-zones", "[\"" ALIAS "\"]",
			"--ns", "[\"ns1." ZONE "\", \"ns2.example.net\"]",
			"--zone-resolutions", res,
			"--test-min-interval", "1",
			"--test-timeout", "1",
			"--workers", "2",
			"--nsid", "vg-test",
			"--listen", "127.0.0.1",
			"--port", port_s,
			NULL,
		};

		vg_server_start(&r, &s, args);
	}
	sup = s.pid;

	/* Everything a client can ask, over both transports, twice so that
	 * both workers (SO_REUSEPORT spreads fresh sockets) see each case. */
	vg_udp_all(port, &id, vg_cases, VG_NCASES);
	vg_udp_all(port, &id, vg_cases, VG_NCASES);
	vg_tcp_all(port, &id, vg_cases, VG_NCASES);
	vg_tcp_all(port, &id, vg_cases, VG_NCASES);
	idle = vg_tcp_rude(port);

	/* Health: up at start, then each kind of check fails once and the
	 * prober rebuilds and republishes. */
	vg_wait_ancount(port, "api." ZONE, 1);
	vg_wait_ancount(port, "web." ZONE, 1);
	close(lfd);
	vg_wait_ancount(port, "api." ZONE, 0);
	kill(http, SIGUSR1);
	vg_wait_ancount(port, "web." ZONE, 0);
	lfd = vg_listen(hport);
	vg_wait_ancount(port, "api." ZONE, 1);
	vg_wait_ancount(port, "api." ALIAS, 1);

	/* A worker stopped from outside is restarted by the supervisor. */
	w0 = vg_find_worker(sup, 0);
	cr_assert_gt(w0, 0, "no worker 0 among the supervisor's children");
	kill(w0, SIGTERM);
	{
		int64_t end = sys_now_ms() + VG_CHANGE_MS;

		do {
			sys_sleep_ms(200);
			w0b = vg_find_worker(sup, 0);
		} while ((w0b == 0 || w0b == w0) && sys_now_ms() < end);
	}
	cr_assert(w0b > 0 && w0b != w0, "worker 0 was not restarted");
	cr_assert_eq(sys_server_wait_ready(&s, "127.0.0.1", VG_START_MS), 0);
	vg_udp_all(port, &id, vg_cases, VG_NCASES);

	/* SIGHUP must neither crash nor leak, whatever it does. */
	kill(s.pid, SIGHUP);
	sys_sleep_ms(500);
	vg_udp_all(port, &id, vg_cases, VG_NCASES);

	kill(sup, SIGTERM);
	st = sys_server_wait(&s, VG_STOP_MS);
	close(idle);
	close(lfd);
	kill(http, SIGTERM);
	waitpid(http, NULL, 0);
	log = sys_server_log(&s);
	cr_expect_eq(st, 0, "the supervisor exited %d (99: memcheck errors in it); its "
		     "log:\n%s", st, log ? log : "");
	cr_expect_null(log ? strstr(log, "killing it") : NULL,
		       "a child needed SIGKILL to stop, its valgrind log is cut:\n%s", log);
	free(log);
	sys_server_stop(&s);
	vg_verdict(&r, sup, want, sizeof(want) / sizeof(want[0]));
}

/*
 * A signed zone: the key is read and handed to the prober, which signs
 * the image and re-signs what a health change touches; workers answer
 * with RRSIGs and NSEC proofs for DO queries.
 */
Test(memcheck, signed_zone_has_no_errors_and_no_leaks)
{
	struct vg_run r;
	struct sys_server s;
	struct vg_expect want[] = {{"supervisor", 1, 0}, {"prober", 1, 0}, {"worker 0", 1, 0}};
	uint16_t port = sys_free_port(), hport = sys_free_port(), wport = sys_free_port();
	char port_s[8], res[2048], key[64], *log, *err = NULL;
	uint16_t id = 0;
	pid_t http, sup;
	int lfd, st;

	cr_assert(port && hport && wport);
	memset(&s, 0, sizeof(s));
	s.port = port;
	vg_run_init(&r);
	snprintf(key, sizeof(key), "%s/key.pem", r.dir);
	{
		const char *gen[] = {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
				     "ec_paramgen_curve:P-256", "-out", key, NULL};

		st = sys_run(gen, 30000, NULL, &err);
		cr_assert_eq(st, 0, "openssl genpkey: %s", err ? err : "");
		free(err);
	}
	lfd = vg_listen(hport);
	http = vg_http_target(wport);
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	vg_zone(res, sizeof(res), hport, wport);
	{
		const char *args[] = {
			"--hosted-zone", ZONE,
			"--alias-zones", "[\"" ALIAS "\"]",
			"--ns", "[\"ns1." ZONE "\", \"ns2.example.net\"]",
			"--zone-resolutions", res,
			"--priv-key-path", key,
			"--priv-key-alg", "ECDSAP256SHA256",
			"--test-min-interval", "1",
			"--test-timeout", "1",
			"--workers", "1",
			"--listen", "127.0.0.1",
			"--port", port_s,
			NULL,
		};

		vg_server_start(&r, &s, args);
	}
	sup = s.pid;
	vg_udp_all(port, &id, vg_signed_cases, VG_NSIGNED);
	vg_tcp_all(port, &id, vg_signed_cases, VG_NSIGNED);
	vg_wait_ancount(port, "api." ZONE, 1);
	close(lfd);
	vg_wait_ancount(port, "api." ZONE, 0);
	vg_udp_all(port, &id, vg_signed_cases, VG_NSIGNED);
	lfd = vg_listen(hport);
	vg_wait_ancount(port, "api." ZONE, 1);
	vg_udp_all(port, &id, vg_signed_cases, VG_NSIGNED);

	kill(sup, SIGTERM);
	st = sys_server_wait(&s, VG_STOP_MS);
	close(lfd);
	kill(http, SIGTERM);
	waitpid(http, NULL, 0);
	log = sys_server_log(&s);
	cr_expect_eq(st, 0, "the supervisor exited %d (99: memcheck errors in it); its "
		     "log:\n%s", st, log ? log : "");
	cr_expect_null(log ? strstr(log, "killing it") : NULL,
		       "a child needed SIGKILL to stop, its valgrind log is cut:\n%s", log);
	free(log);
	sys_server_stop(&s);
	unlink(key);
	vg_verdict(&r, sup, want, sizeof(want) / sizeof(want[0]));
}

/* Configuration parsing (config.c, json-c, ldns names) as --check-config
 * runs it: once accepted, once refused, which exits early. */
static void vg_check_config(const char *const *args, bool ok)
{
	struct vg_run r;
	struct vg_expect want[] = {{"supervisor", 1, 0}};
	const char *argv[128];
	char *out = NULL, *err = NULL;
	int st;

	vg_run_init(&r);
	vg_argv(&r, argv, args);
	st = sys_run(argv, VG_START_MS, &out, &err);
	if (ok)
		cr_expect_eq(st, 0, "--check-config exited %d; stderr:\n%s", st, err ? err : "");
	else
		cr_expect(st != 0 && st != 99 && st > 0,
			  "a refused configuration exited %d; stderr:\n%s", st, err ? err : "");
	free(out);
	free(err);
	vg_verdict(&r, 0, want, 1);
}

Test(memcheck, check_config_accepts_without_errors_or_leaks)
{
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--alias-zones", "[\"" ALIAS "\"]",
		"--ns", "[\"ns1." ZONE "\", \"ns2.example.net\"]",
		"--zone-resolutions",
		"{\"www\": [\"192.0.2.1\", \"2001:db8::1\"],"
		" \"api\": {\"ips\": [\"127.0.0.1\"], \"health_port\": 9,"
		" \"check\": \"http\", \"rise\": 2, \"fall\": 3, \"ttl\": 30,"
		" \"all_down\": \"serve_all\"}}",
		"--nsid", "0x0102",
		"--check-config",
		NULL,
	};

	vg_check_config(args, true);
}

Test(memcheck, check_config_refuses_without_errors_or_leaks)
{
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2.example.net\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"], \"bad\": [\"999.1.1.1\"]}",
		"--check-config",
		NULL,
	};

	vg_check_config(args, false);
}
