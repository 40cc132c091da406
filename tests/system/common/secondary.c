/*
 * Stock secondaries (NSD, Knot, named) for the replication tests: see
 * secondary.h for what they are configured with and how a transfer is
 * told to be IXFR or AXFR.
 */
#include "secondary.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

static const char *const sec_names[SEC_KINDS] = {"nsd", "knot", "named"};
static const char *const sec_bins[SEC_KINDS] = {"/usr/sbin/nsd", "/usr/sbin/knotd",
						"/usr/sbin/named"};

const char *sec_name(enum sec_kind kind)
{
	return sec_names[kind];
}

/* The binary: found in PATH, else where Debian installs it. */
static const char *sec_bin(enum sec_kind kind)
{
	static const char *const base[SEC_KINDS] = {"nsd", "knotd", "named"};
	static char found[SEC_KINDS][256];
	const char *path = getenv("PATH");

	if (found[kind][0] != '\0')
		return found[kind];
	snprintf(found[kind], sizeof(found[kind]), "%s", sec_bins[kind]);
	for (const char *p = path; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char cand[256];

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, base[kind]);
		if (n > 0 && access(cand, X_OK) == 0) {
			snprintf(found[kind], sizeof(found[kind]), "%s", cand);
			break;
		}
		p = e ? e + 1 : NULL;
	}
	return found[kind];
}

bool sec_available(enum sec_kind kind)
{
	return access(sec_bin(kind), X_OK) == 0;
}

/* ---- configuration files ---- */

static void sec_nsd_zone(FILE *f, const struct sec *s, const struct sec_cfg *c,
			 const char *zone)
{
	const char *key = s->tsig.name ? s->tsig.name : "NOKEY";

	fprintf(f, "zone:\n\tname: \"%s\"\n\tzonefile: \"%s.zone\"\n", zone, zone);
	fprintf(f, "\trequest-xfr: 127.0.0.1@%u %s\n", (unsigned)c->primary_port, key);
	fprintf(f, "\tallow-notify: 127.0.0.1 %s\n", key);
	/* The IXFR oracle (secondary.h): keep what comes in, serve it back. */
	fprintf(f, "\tstore-ixfr: yes\n\tcreate-ixfr: no\n\tixfr-number: 64\n");
	fprintf(f, "\tprovide-xfr: 127.0.0.1 %s\n", key);
}

static void sec_nsd_conf(FILE *f, const struct sec *s, const struct sec_cfg *c)
{
	const char *d = s->dir;

	fprintf(f, "server:\n\tserver-count: 1\n\tip-address: 127.0.0.1@%u\n", (unsigned)s->port);
	fprintf(f, "\tdo-ip6: no\n\treuseport: no\n\tusername: \"\"\n\tchroot: \"\"\n");
	fprintf(f, "\tzonesdir: \"%s\"\n\tdatabase: \"\"\n", d);
	fprintf(f, "\tzonelistfile: \"%s/zone.list\"\n\txfrdfile: \"%s/xfrd.state\"\n", d, d);
	fprintf(f, "\txfrdir: \"%s\"\n\tpidfile: \"%s/nsd.pid\"\n", d, d);
	fprintf(f, "\tlogfile: \"%s\"\n\tverbosity: 2\n", s->log_path);
	fprintf(f, "remote-control:\n\tcontrol-enable: no\n");
	if (s->tsig.name != NULL)
		fprintf(f, "key:\n\tname: \"%s\"\n\talgorithm: %s\n\tsecret: \"%s\"\n",
			s->tsig.name, s->tsig.alg, s->tsig.secret);
	for (size_t i = 0; i < c->n_zones; i++)
		sec_nsd_zone(f, s, c, c->zones[i]);
}

static void sec_knot_conf(FILE *f, const struct sec *s, const struct sec_cfg *c)
{
	const char *d = s->dir;
	char key[300] = "";

	/* Knot's key id is the key's name on the wire. */
	if (s->tsig.name != NULL)
		snprintf(key, sizeof(key), "\n    key: %s", s->tsig.name);

	fprintf(f, "server:\n    rundir: \"%s\"\n    listen: 127.0.0.1@%u\n", d,
		(unsigned)s->port);
	fprintf(f, "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n");
	fprintf(f, "log:\n  - target: stderr\n    any: info\n");
	fprintf(f, "database:\n    storage: \"%s/db\"\n", d);
	fprintf(f, "control:\n    listen: \"%s/knot.sock\"\n", d);
	if (s->tsig.name != NULL)
		fprintf(f, "key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n",
			s->tsig.name, s->tsig.alg, s->tsig.secret);
	fprintf(f, "remote:\n  - id: primary\n    address: 127.0.0.1@%u%s\n",
		(unsigned)c->primary_port, key);
	fprintf(f, "acl:\n  - id: notify\n    address: 127.0.0.1\n    action: notify%s\n", key);
	/* No zone file written back, the journal keeps the changes; no
	 * dnssec-signing: the zone is served as transferred. */
	fprintf(f, "template:\n  - id: default\n    storage: \"%s\"\n", d);
	fprintf(f, "    zonefile-sync: -1\n    zonefile-load: none\n");
	fprintf(f, "    journal-content: changes\n    semantic-checks: off\n");
	fprintf(f, "zone:\n");
	for (size_t i = 0; i < c->n_zones; i++)
		fprintf(f, "  - domain: %s\n    master: primary\n    acl: notify\n", c->zones[i]);
}

static void sec_bind_conf(FILE *f, const struct sec *s, const struct sec_cfg *c)
{
	const char *d = s->dir;

	fprintf(f, "options {\n\tdirectory \"%s\";\n\tpid-file \"%s/named.pid\";\n", d, d);
	fprintf(f, "\tsession-keyfile \"%s/session.key\";\n", d);
	fprintf(f, "\tmanaged-keys-directory \"%s\";\n\tdump-file \"%s/cache.db\";\n", d, d);
	fprintf(f, "\tstatistics-file \"%s/stats\";\n", d);
	fprintf(f, "\tlisten-on port %u { 127.0.0.1; };\n\tlisten-on-v6 { none; };\n",
		(unsigned)s->port);
	fprintf(f, "\trecursion no;\n\tdnssec-validation no;\n\tnotify no;\n};\n");
	fprintf(f, "controls { };\n");
	/* xfer-in at debug 3 (named -d 1) says "got incremental response"
	 * or "got nonincremental response": the IXFR oracle, in a file of
	 * its own so that it is counted once. */
	fprintf(f, "logging {\n\tchannel main { file \"%s/named.log\"; severity info;"
		" print-time yes; print-category yes; };\n", d);
	fprintf(f, "\tchannel xfr { file \"%s\"; severity debug 3; print-time yes; };\n",
		s->log_path);
	fprintf(f, "\tcategory default { main; };\n\tcategory xfer-in { main; xfr; };\n};\n");
	if (s->tsig.name != NULL)
		fprintf(f, "key \"%s\" { algorithm %s; secret \"%s\"; };\n", s->tsig.name,
			s->tsig.alg, s->tsig.secret);
	for (size_t i = 0; i < c->n_zones; i++) {
		fprintf(f, "zone \"%s\" {\n\ttype secondary;\n\tfile \"%s.db\";\n", c->zones[i],
			c->zones[i]);
		fprintf(f, "\tprimaries port %u { 127.0.0.1%s%s%s; };\n",
			(unsigned)c->primary_port, s->tsig.name ? " key \"" : "",
			s->tsig.name ? s->tsig.name : "", s->tsig.name ? "\"" : "");
		fprintf(f, "\tallow-notify { 127.0.0.1; };\n};\n");
	}
}

static int sec_write_conf(struct sec *s, const struct sec_cfg *c)
{
	FILE *f = fopen(s->conf, "w");

	if (f == NULL)
		return -1;
	if (s->kind == SEC_NSD)
		sec_nsd_conf(f, s, c);
	else if (s->kind == SEC_KNOT)
		sec_knot_conf(f, s, c);
	else
		sec_bind_conf(f, s, c);
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- processes ---- */

static int sec_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void sec_rm_dir(const char *dir)
{
	if (strncmp(dir, "/tmp/ahd-sec-", 13) == 0)
		(void)nftw(dir, sec_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Fork and exec argv with stdout and stderr into s->out_path, in a
 * process group of its own (NSD's and Knot's helpers go with it). */
static pid_t sec_spawn(struct sec *s, const char *const *argv)
{
	pid_t parent = getpid();
	int fd = open(s->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid;

	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* named -d writes named.run into its starting directory. */
		if (getppid() != parent || chdir(s->dir) != 0)
			_exit(127);
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

static int sec_exec(struct sec *s)
{
	const char *bin = sec_bin(s->kind);

	if (s->kind == SEC_NSD) {
		const char *argv[] = {bin, "-d", "-c", s->conf, NULL};

		return (s->pid = sec_spawn(s, argv)) > 0 ? 0 : -1;
	}
	if (s->kind == SEC_KNOT) {
		const char *argv[] = {bin, "-c", s->conf, NULL};

		return (s->pid = sec_spawn(s, argv)) > 0 ? 0 : -1;
	}
	{
		/* -f, not -g: -g would ignore the logging statement. */
		const char *argv[] = {bin, "-f", "-d", "1", "-4", "-n", "1", "-c", s->conf, NULL};

		return (s->pid = sec_spawn(s, argv)) > 0 ? 0 : -1;
	}
}

static int sec_decode(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* Reap s->pid within timeout_ms: its status, or -1 (still running). */
static int sec_reap(struct sec *s, int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;

	while (s->pid > 0) {
		int st;
		pid_t r = waitpid(s->pid, &st, WNOHANG);

		if (r == s->pid || (r < 0 && errno == ECHILD)) {
			s->exit_status = r == s->pid ? sec_decode(st) : -1;
			s->pid = 0;
			break;
		}
		if (sys_now_ms() >= end)
			return -1;
		sys_sleep_ms(10);
	}
	return s->exit_status;
}

/* Wait for any answer on s->port: 0, or -1 (exited or silent). */
static int sec_wait_up(struct sec *s, const char *zone)
{
	int64_t end = sys_now_ms() + SEC_START_MS;

	while (sys_now_ms() < end) {
		ldns_pkt *p = sys_query(s->port, zone, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, false);

		if (p != NULL) {
			ldns_pkt_free(p);
			return 0;
		}
		if (sec_reap(s, 0) >= 0 || s->pid == 0)
			return -1;
		sys_sleep_ms(50);
	}
	return -1;
}

static void sec_copy_tsig(struct sec *s, const struct sec_tsig *t)
{
	size_t a, b;

	memset(&s->tsig, 0, sizeof(s->tsig));
	if (t == NULL || t->name == NULL)
		return;
	a = strlen(t->name) + 1;
	b = strlen(t->alg) + 1;
	if (a + b + strlen(t->secret) + 1 > sizeof(s->keybuf))
		return;
	memcpy(s->keybuf, t->name, a);
	memcpy(s->keybuf + a, t->alg, b);
	strcpy(s->keybuf + a + b, t->secret);
	s->tsig.name = s->keybuf;
	s->tsig.alg = s->keybuf + a;
	s->tsig.secret = s->keybuf + a + b;
}

static void sec_kill(struct sec *s);

/* One attempt on port: 0, -1 (failed), -2 (the port was taken). */
static int sec_try(struct sec *s, const struct sec_cfg *c, uint16_t port)
{
	char *log;
	bool in_use;

	s->port = port;
	if (s->log_path[0] != '\0')
		unlink(s->log_path);
	if (sec_write_conf(s, c) < 0 || sec_exec(s) < 0)
		return -1;
	if (sec_wait_up(s, c->zones[0]) == 0)
		return 0;
	log = sec_log(s);
	in_use = log != NULL && (strstr(log, "in use") != NULL || strstr(log, "IN USE") != NULL);
	if (!in_use || c->port != 0)
		fprintf(stderr, "%s on port %u did not come up; its output:\n%s\n",
			sec_name(s->kind), (unsigned)port, log ? log : "");
	free(log);
	sec_kill(s);
	return in_use ? -2 : -1;
}

int sec_start(struct sec *s, enum sec_kind kind, const struct sec_cfg *cfg)
{
	static const char *const logs[SEC_KINDS] = {"nsd.log", "", "xfr.log"};
	static const char *const confs[SEC_KINDS] = {"nsd.conf", "knot.conf", "named.conf"};

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if (cfg->n_zones == 0 || cfg->n_zones > SEC_MAX_ZONES || !sec_available(kind))
		return -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/ahd-sec-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	snprintf(s->conf, sizeof(s->conf), "%s/%s", s->dir, confs[kind]);
	snprintf(s->out_path, sizeof(s->out_path), "%s/output", s->dir);
	if (logs[kind][0] != '\0')
		snprintf(s->log_path, sizeof(s->log_path), "%s/%s", s->dir, logs[kind]);
	sec_copy_tsig(s, &cfg->tsig);
	if (kind == SEC_KNOT) {
		char db[96];

		snprintf(db, sizeof(db), "%s/db", s->dir);
		mkdir(db, 0755);
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = sec_try(s, cfg, cfg->port ? cfg->port : sys_free_port());

		if (rc == 0)
			return s->port;
		if (rc == -1 || cfg->port != 0)
			break;
	}
	sec_rm_dir(s->dir);
	return -1;
}

/* SIGTERM to the daemon's process group, SIGKILL after 5 s; helpers
 * left in the group (NSD's server and xfrd) go too. */
static void sec_kill(struct sec *s)
{
	pid_t group = s->pid;

	if (group <= 0)
		return;
	kill(-group, SIGTERM);
	if (sec_reap(s, 5000) < 0) {
		kill(-group, SIGKILL);
		sec_reap(s, 5000);
		s->exit_status = 128 + SIGKILL;
	}
	kill(-group, SIGKILL);
}

int sec_stop(struct sec *s)
{
	sec_kill(s);
	if (s->dir[0] != '\0' && getenv("SEC_KEEP") == NULL)
		sec_rm_dir(s->dir);
	else if (s->dir[0] != '\0')
		fprintf(stderr, "%s: files kept in %s\n", sec_name(s->kind), s->dir);
	s->dir[0] = '\0';
	return s->exit_status;
}

int64_t sec_serial(const struct sec *s, const char *zone)
{
	return sys_soa_serial(s->port, zone);
}

int sec_wait_serial(const struct sec *s, const char *zone, uint32_t serial, int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;

	do {
		int64_t v = sec_serial(s, zone);

		if (v >= 0 && ((uint32_t)v == serial || (uint32_t)((uint32_t)v - serial) < 0x80000000u))
			return 0;
		sys_sleep_ms(20);
	} while (sys_now_ms() < end);
	return -1;
}

/* Append file's text to *buf (length *len). */
static void sec_append_file(char **buf, size_t *len, const char *path)
{
	size_t n = 0;
	char *t = path[0] ? sys_read_file(path, &n) : NULL;
	char *nb;

	if (t == NULL)
		return;
	nb = realloc(*buf, *len + n + 1);
	if (nb != NULL) {
		memcpy(nb + *len, t, n);
		*len += n;
		nb[*len] = '\0';
		*buf = nb;
	}
	free(t);
}

char *sec_log(const struct sec *s)
{
	char *buf = calloc(1, 1), main_log[96];
	size_t len = 0;

	if (buf == NULL)
		return NULL;
	sec_append_file(&buf, &len, s->out_path);
	snprintf(main_log, sizeof(main_log), "%s/named.log", s->dir);
	if (s->kind == SEC_BIND)
		sec_append_file(&buf, &len, main_log);
	sec_append_file(&buf, &len, s->log_path);
	return buf;
}

/* The file whose lines tell the transfers apart. */
static const char *sec_xfr_log(const struct sec *s)
{
	return s->kind == SEC_KNOT ? s->out_path : s->log_path;
}

void sec_mark(const struct sec *s, const char *zone, struct sec_mark *m)
{
	struct stat st;

	m->log_len = stat(sec_xfr_log(s), &st) == 0 ? (size_t)st.st_size : 0;
	m->serial = sec_serial(s, zone);
}

/* Lines of text holding both a and b. */
static unsigned sec_count_lines(const char *text, const char *a, const char *b)
{
	unsigned n = 0;

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (memmem(p, len, a, strlen(a)) != NULL && memmem(p, len, b, strlen(b)) != NULL)
			n++;
		p = e ? e + 1 : NULL;
	}
	return n;
}

/* Whether an IXFR query to NSD from serial gets an incremental answer
 * (its second record is the SOA of serial): 1, 0, or -1 (no answer). */
static int sec_nsd_incremental(const struct sec *s, const char *zone, uint32_t serial)
{
	char type[32];
	char *out;
	int found = -1, n = 0;

	snprintf(type, sizeof(type), "ixfr=%u", serial);
	out = sec_dig_xfr(s->port, zone, type, &s->tsig, NULL);
	for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		char owner[256], cls[16], rtype[16];
		unsigned ttl;

		if (line[0] == ';' || sscanf(line, "%255s %u %15s %15s", owner, &ttl, cls, rtype) != 4)
			continue;
		if (strcmp(rtype, "TSIG") == 0)
			continue;
		if (++n == 2) {
			found = strcmp(rtype, "SOA") == 0;
			break;
		}
	}
	free(out);
	return found;
}

int sec_xfrs_since(const struct sec *s, const char *zone, const struct sec_mark *m,
		   struct sec_xfrs *x)
{
	size_t len = 0;
	char *all = sys_read_file(sec_xfr_log(s), &len);
	const char *text = all && m->log_len <= len ? all + m->log_len : "";
	char key[300];

	memset(x, 0, sizeof(*x));
	if (all == NULL)
		return -1;
	if (s->kind == SEC_KNOT) {
		snprintf(key, sizeof(key), "[%s.] IXFR, incoming", zone);
		x->ixfr = sec_count_lines(text, key, ", finished");
		snprintf(key, sizeof(key), "[%s.] AXFR, incoming", zone);
		x->axfr = sec_count_lines(text, key, ", finished");
	} else if (s->kind == SEC_BIND) {
		unsigned total;

		snprintf(key, sizeof(key), "'%s/IN'", zone);
		total = sec_count_lines(text, key, "Transfer completed");
		x->ixfr = sec_count_lines(text, key, "got incremental response");
		x->axfr = total > x->ixfr ? total - x->ixfr : 0;
	} else {
		unsigned total;
		int inc;

		snprintf(key, sizeof(key), "zone %s committed \"received update", zone);
		total = sec_count_lines(text, key, "");
		inc = total && m->serial >= 0 ? sec_nsd_incremental(s, zone, (uint32_t)m->serial) : 0;
		if (inc < 0) {
			free(all);
			return -1;
		}
		x->ixfr = inc ? total : 0;
		x->axfr = inc ? 0 : total;
	}
	free(all);
	return 0;
}

bool sec_saw_ixfr(const struct sec *s, const char *zone, const struct sec_mark *m)
{
	struct sec_xfrs x;

	return sec_xfrs_since(s, zone, m, &x) == 0 && x.ixfr > 0 && x.axfr == 0;
}

bool sec_saw_expiry(const struct sec *s, const char *zone)
{
	char *log = sec_log(s), key[300];
	bool seen;

	if (s->kind == SEC_KNOT)
		snprintf(key, sizeof(key), "[%s.] zone expired", zone);
	else if (s->kind == SEC_NSD)
		snprintf(key, sizeof(key), "zone %s has expired", zone);
	else
		snprintf(key, sizeof(key), "zone %s/IN: expired", zone);
	seen = log != NULL && strstr(log, key) != NULL;
	free(log);
	return seen;
}

/* ---- answers ---- */

static int sec_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sec_a_set(uint16_t port, const char *name, char *out, size_t cap)
{
	ldns_pkt *p = sys_query(port, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	ldns_rr_list *an;
	char *addrs[64];
	size_t n = 0;

	snprintf(out, cap, "%s", p == NULL ? "(no reply)" : "");
	if (p == NULL)
		return;
	an = ldns_pkt_answer(p);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an) && n < 64; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A)
			addrs[n++] = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	}
	qsort(addrs, n, sizeof(addrs[0]), sec_cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, cap - used, "%s%s", i ? "," : "", addrs[i]);
		free(addrs[i]);
	}
	ldns_pkt_free(p);
}

int64_t sec_wait_a(uint16_t port, const char *name, const char *want, int timeout_ms,
		   char *got, size_t cap)
{
	int64_t start = sys_now_ms();

	for (;;) {
		int64_t now;

		sec_a_set(port, name, got, cap);
		now = sys_now_ms();
		if (strcmp(got, want) == 0)
			return now - start;
		if (now - start >= timeout_ms)
			return -1;
		sys_sleep_ms(10);
	}
}

/* ---- transfers and zone checks with the stock tools ---- */

char *sec_dig_xfr(uint16_t port, const char *zone, const char *type,
		  const struct sec_tsig *tsig, const char *src)
{
	char p[8], y[400];
	const char *argv[16];
	char *out = NULL;
	size_t n = 0;
	int st;

	snprintf(p, sizeof(p), "%u", (unsigned)port);
	argv[n++] = "dig";
	argv[n++] = "@127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = p;
	if (src != NULL) {
		argv[n++] = "-b";
		argv[n++] = src;
	}
	if (tsig != NULL && tsig->name != NULL) {
		snprintf(y, sizeof(y), "%s:%s:%s", tsig->alg, tsig->name, tsig->secret);
		argv[n++] = "-y";
		argv[n++] = y;
	}
	argv[n++] = "+tries=1";
	argv[n++] = "+time=5";
	argv[n++] = zone;
	argv[n++] = type;
	argv[n] = NULL;
	st = sys_run(argv, 30000, &out, NULL);
	if (st < 0 || st == 127 || out == NULL || out[0] == '\0') {
		free(out);
		return NULL;
	}
	return out;
}

long sec_axfr_to_zonefile(const char *dig_out, const char *path)
{
	char *copy = strdup(dig_out ? dig_out : "");
	FILE *f = fopen(path, "w");
	long n = 0;

	if (copy == NULL || f == NULL) {
		free(copy);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
		char owner[256], cls[16], type[16];
		unsigned ttl;

		if (line[0] == ';' || sscanf(line, "%255s %u %15s %15s", owner, &ttl, cls, type) != 4)
			continue;
		if (strcmp(type, "TSIG") == 0)
			continue;
		/* AXFR: the SOA opens and closes the transfer; keep one. */
		if (strcmp(type, "SOA") == 0 && n > 0)
			continue;
		fprintf(f, "%s\n", line);
		n++;
	}
	free(copy);
	return fclose(f) == 0 ? n : -1;
}

/* Run argv; append "$ argv...\n<output>" to *rep. Its exit status. */
static int sec_tool(const char *const *argv, char **rep)
{
	char *out = NULL, *err = NULL, *nb;
	int st = sys_run(argv, 60000, &out, &err);
	size_t len = *rep ? strlen(*rep) : 0;
	size_t add = 64 + (out ? strlen(out) : 0) + (err ? strlen(err) : 0);

	for (size_t i = 0; argv[i]; i++)
		add += strlen(argv[i]) + 1;
	nb = realloc(*rep, len + add);
	if (nb != NULL) {
		int k = snprintf(nb + len, add, "$");

		for (size_t i = 0; argv[i] && k > 0; i++)
			k += snprintf(nb + len + k, add - (size_t)k, " %s", argv[i]);
		snprintf(nb + len + k, add - (size_t)k, "  -> %d\n%s%s", st, out ? out : "",
			 err ? err : "");
		*rep = nb;
	}
	free(out);
	free(err);
	return st;
}

int sec_verify_zonefile(const char *zone, const char *path, char **report)
{
	/* One combined key (flags 257) signs everything: dnssec-verify
	 * wants -z for that. */
	const char *ldns[] = {"ldns-verify-zone", path, NULL};
	const char *bind[] = {"dnssec-verify", "-z", "-o", zone, path, NULL};
	const char *knot[] = {"kzonecheck", "-d", "on", "-o", zone, path, NULL};
	char *rep = NULL;
	int bad = 0;

	bad |= sec_tool(ldns, &rep) != 0;
	bad |= sec_tool(bind, &rep) != 0;
	bad |= sec_tool(knot, &rep) != 0;
	if (report != NULL)
		*report = rep;
	else
		free(rep);
	return bad ? -1 : 0;
}

char *sec_delv(uint16_t port, const char *zone, const char *anchors, const char *name,
	       const char *type)
{
	char p[8], root[300];
	char *out = NULL, *err = NULL, *all;
	const char *argv[] = {"delv", "@127.0.0.1", "-p", p, "-a", anchors, root, name, type,
			      NULL};
	size_t len;

	snprintf(p, sizeof(p), "%u", (unsigned)port);
	snprintf(root, sizeof(root), "+root=%s", zone);
	(void)sys_run(argv, 15000, &out, &err);
	len = (out ? strlen(out) : 0) + (err ? strlen(err) : 0) + 2;
	all = malloc(len);
	if (all != NULL)
		snprintf(all, len, "%s\n%s", out ? out : "", err ? err : "");
	free(out);
	free(err);
	return all;
}

bool sec_delv_validated(const char *out)
{
	static const char *const ok[] = {"; fully validated", "; negative response, fully validated"};

	for (size_t i = 0; out != NULL && i < 2; i++) {
		size_t n = strlen(ok[i]);

		for (const char *p = out; (p = strstr(p, ok[i])) != NULL; p++)
			if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
				return true;
	}
	return false;
}

int sec_write_anchor(uint16_t port, const char *zone, const char *path)
{
	const char *dig[] = {"+short", "+norec", zone, "DNSKEY", NULL};
	char *out = sys_dig(port, dig);
	int rc = -1;

	for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		unsigned flags, proto, alg;
		int off = 0;
		char b64[2048];
		size_t n = 0;
		FILE *f;

		if (sscanf(line, "%u %u %u %n", &flags, &proto, &alg, &off) != 3 || flags != 257)
			continue;
		for (const char *p = line + off; *p && n + 1 < sizeof(b64); p++)
			if (!isspace((unsigned char)*p))
				b64[n++] = *p;
		b64[n] = '\0';
		f = fopen(path, "w");
		if (f == NULL)
			break;
		fprintf(f, "trust-anchors {\n\t\"%s.\" static-key 257 3 %u \"%s\";\n};\n", zone, alg,
			b64);
		rc = fclose(f) == 0 ? 0 : -1;
		break;
	}
	free(out);
	return rc;
}

/* A TCP connection to 127.0.0.1:port from src (any port), or -1. */
static int sec_tcp_from(const char *src, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in b = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if ((src != NULL && (inet_pton(AF_INET, src, &b.sin_addr) != 1 ||
			     bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0)) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The transfer query (IXFR: with the SOA of serial in authority),
 * signed when tsig names a key; its wire form or NULL. */
static uint8_t *sec_xfr_wire(const char *zone, const char *type, uint32_t serial,
			     const struct sec_tsig *tsig, size_t *len)
{
	ldns_rr_type t = ldns_get_rr_type_by_name(type);
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(zone), t, LDNS_RR_CLASS_IN, 0);
	uint8_t *wire = NULL;
	bool ok = q != NULL;

	if (ok && t == LDNS_RR_TYPE_IXFR) {
		char text[400];
		ldns_rr *soa = NULL;

		snprintf(text, sizeof(text), "%s. 0 IN SOA . . %u 0 0 0 0", zone, serial);
		ok = ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL) == LDNS_STATUS_OK &&
		     ldns_pkt_push_rr(q, LDNS_SECTION_AUTHORITY, soa);
	}
	if (ok) {
		char alg[64];

		ldns_pkt_set_id(q, (uint16_t)(getpid() ^ sys_now_ms()));
		/* EDNS: room for a small IXFR over UDP (RFC 1995 section 2). */
		ldns_pkt_set_edns_udp_size(q, 1232);
		snprintf(alg, sizeof(alg), "%s.", tsig && tsig->alg ? tsig->alg : "");
		if (tsig != NULL && tsig->name != NULL)
			ok = ldns_pkt_tsig_sign(q, tsig->name, tsig->secret, 300, alg, NULL) ==
			     LDNS_STATUS_OK;
	}
	if (ok && ldns_pkt2wire(&wire, q, len) != LDNS_STATUS_OK)
		wire = NULL;
	ldns_pkt_free(q);
	return wire;
}

/* Parse one answer message into r. 0 or -1. */
static int sec_xfr_parse(const uint8_t *buf, ssize_t n, struct sec_xfr_reply *r)
{
	ldns_pkt *p = NULL;
	ldns_rr_list *an;

	if (n <= 0 || ldns_wire2pkt(&p, buf, (size_t)n) != LDNS_STATUS_OK)
		return -1;
	r->rcode = ldns_pkt_get_rcode(p);
	r->tc = ldns_pkt_tc(p);
	r->ancount = ldns_pkt_ancount(p);
	an = ldns_pkt_answer(p);
	for (size_t i = 0; i < 2; i++) {
		ldns_rr *rr = i < ldns_rr_list_rr_count(an) ? ldns_rr_list_rr(an, i) : NULL;

		r->soa[i] = rr && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) > 2
				    ? (int64_t)ldns_rdf2native_int32(ldns_rr_rdf(rr, 2))
				    : -1;
	}
	if (ldns_pkt_tsig(p) != NULL && ldns_rr_rd_count(ldns_pkt_tsig(p)) > 5) {
		r->tsig = true;
		r->tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(p), 5));
	}
	ldns_pkt_free(p);
	return 0;
}

int sec_xfr_query(uint16_t port, const char *zone, const char *type, uint32_t serial,
		  const struct sec_tsig *tsig, const char *src, struct sec_xfr_reply *r)
{
	size_t len = 0;
	uint8_t *wire = sec_xfr_wire(zone, type, serial, tsig, &len);
	static uint8_t buf[65535];
	ssize_t n = -1;
	bool udp = src != NULL && strcmp(src, "udp") == 0;
	int fd = wire != NULL && !udp ? sec_tcp_from(src, port) : -1;

	memset(r, 0, sizeof(*r));
	r->rcode = -1;
	if (wire != NULL && udp)
		n = sys_exchange("127.0.0.1", port, wire, len, buf, sizeof(buf), 5000);
	else if (fd >= 0 && sys_tcp_send(fd, wire, len) == 0)
		n = sys_tcp_recv(fd, buf, sizeof(buf), 5000);
	if (fd >= 0)
		close(fd);
	free(wire);
	return sec_xfr_parse(buf, n, r);
}

/* The SOA records in the answer section of msg[0..n). */
static unsigned sec_count_soa(const uint8_t *msg, ssize_t n)
{
	ldns_pkt *p = NULL;
	unsigned soa = 0;

	if (n <= 0 || ldns_wire2pkt(&p, msg, (size_t)n) != LDNS_STATUS_OK)
		return 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(p)); i++)
		soa += ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), i)) == LDNS_RR_TYPE_SOA;
	ldns_pkt_free(p);
	return soa;
}

/* Send a transfer request and read messages until want SOAs came. */
static long sec_xfr_drain(uint16_t port, const char *zone, const char *type, uint32_t serial,
			  unsigned want, const struct sec_tsig *tsig)
{
	size_t len = 0;
	uint8_t *wire = sec_xfr_wire(zone, type, serial, tsig, &len);
	static uint8_t buf[65535];
	int fd = wire ? sec_tcp_from(NULL, port) : -1;
	long bytes = -1;
	unsigned soa = 0;

	if (fd >= 0 && sys_tcp_send(fd, wire, len) == 0) {
		bytes = 0;
		while (soa < want) {
			ssize_t n = sys_tcp_recv(fd, buf, sizeof(buf), 10000);

			if (n <= 0) {
				bytes = -1;
				break;
			}
			bytes += n;
			soa += sec_count_soa(buf, n);
		}
	}
	if (fd >= 0)
		close(fd);
	free(wire);
	return bytes;
}

long sec_axfr_drain(uint16_t port, const char *zone, const struct sec_tsig *tsig)
{
	/* An AXFR ends with its second SOA (RFC 5936 section 2.2). */
	return sec_xfr_drain(port, zone, "AXFR", 0, 2, tsig);
}

long sec_ixfr_drain(uint16_t port, const char *zone, uint32_t serial,
		    const struct sec_tsig *tsig)
{
	/* Its one message holds at least the opening SOA. */
	return sec_xfr_drain(port, zone, "IXFR", serial, 1, tsig);
}

int sec_notify(const struct sec *s, const char *zone)
{
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(zone), LDNS_RR_TYPE_SOA,
					 LDNS_RR_CLASS_IN, LDNS_AA);
	uint8_t *wire = NULL, resp[4096];
	size_t len = 0;
	char alg[64];
	int rc = -1;

	if (q == NULL)
		return -1;
	ldns_pkt_set_opcode(q, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_id(q, (uint16_t)(getpid() ^ sys_now_ms()));
	snprintf(alg, sizeof(alg), "%s.", s->tsig.alg ? s->tsig.alg : "");
	if ((s->tsig.name == NULL ||
	     ldns_pkt_tsig_sign(q, s->tsig.name, s->tsig.secret, 300, alg, NULL) == LDNS_STATUS_OK) &&
	    ldns_pkt2wire(&wire, q, &len) == LDNS_STATUS_OK) {
		ssize_t n = sys_exchange("127.0.0.1", s->port, wire, len, resp, sizeof(resp), 2000);

		/* The acknowledgement: QR, opcode NOTIFY, NOERROR. */
		rc = n >= 12 && (resp[2] & 0x80) && ((resp[2] >> 3) & 15) == 4 && (resp[3] & 15) == 0
			     ? 0
			     : -1;
	}
	free(wire);
	ldns_pkt_free(q);
	return rc;
}
