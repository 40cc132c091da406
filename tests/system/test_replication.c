/*
 * Issue 14 with the real binary (DESIGN §9): a-healthy-dns as the hidden
 * primary of a signed zone (and an alias zone) for real NSD, Knot and,
 * when installed, BIND named secondaries (tests/system/common/secondary.h:
 * started by the test on loopback ports, each in a private directory),
 * with a TSIG key on every transfer and NOTIFY.
 *
 *  - Each secondary loads the signed zone; a backend goes down and each
 *    answers without its address within CHANGE_MS, the change having come
 *    by NOTIFY + IXFR (the secondary's own log or its stored IXFRs, never
 *    our code, say so); the backend comes back and so does the address.
 *  - The same with the test sending the NOTIFY itself: the transfers are
 *    checked apart from the notifier.
 *  - The secondaries' answers validate with delv against the trust anchor
 *    the primary serves.
 *  - `dig axfr` passes ldns-verify-zone, dnssec-verify and kzonecheck; a
 *    transfer from outside --transfer-allow (127.0.0.2), unsigned, or with
 *    a wrong TSIG key is refused (REFUSED; NOTAUTH with BADSIG / BADKEY)
 *    and logged once, and the secret is never logged.
 *  - A restart (--state-dir) never lowers the serial, and the secondaries
 *    keep following.
 *  - A flip transfers as a few records: the IXFR from the previous serial
 *    is incremental and small over TCP, incremental (or TC) over UDP; the
 *    current serial gets the single SOA, an unknown one the zone
 *    AXFR-style (RFC 1995).
 *  - A secondary added to "notify" in the --config file by SIGHUP is
 *    notified of the next publish, without a restart.
 *  - The SOA timers let secondaries keep the zone (EXPIRE is not below
 *    REFRESH + RETRY; none of them expires it).
 *
 * The harness was first checked against a stock primary (a knotd with a
 * journal, TSIG and NOTIFY; every change then arrives by IXFR, and with
 * its journal off every secondary counts an AXFR instead).
 *
 * Backends are ahd-health-target listeners on 127.0.0.1 and 127.0.0.2
 * (one port), checked every second (--test-min-interval 1).
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secondary.h"
#include "sysutil.h"

#define ZONE "rep.test"
#define ALIAS "alias-rep.test"
#define WWW "www." ZONE
#define KEY_NAME "xfr-key"
#define KEY_ALG "hmac-sha256"
#define SECRET "q1bLQnA7m0rT5Uo2cX8hWk9yZ3sV6dE4fG1jH2iK3lM="
#define BOTH "127.0.0.1,127.0.0.2"
/* A flip reaches the primary within ~2 s (interval + timeout) and a
 * secondary after NOTIFY, SOA check, IXFR and (NSD) its reload delay:
 * generous for ASan and a loaded machine. */
#define CHANGE_MS 15000
#define LOAD_MS 20000
#define EXTRA_NAMES 40

struct rep {
	char dir[64];
	char key[96];        /* the DNSSEC key (PEM) */
	char tsig[96];       /* the TSIG key file, BIND syntax */
	char state[96];      /* --state-dir */
	uint16_t tport;      /* the backends' health port */
	pid_t target[2];     /* listeners on 127.0.0.1 and 127.0.0.2 */
	struct sys_server s;
	bool started;
	struct sec sec[SEC_KINDS];
	bool up[SEC_KINDS];  /* started (named only when installed) */
	uint16_t sec_port[SEC_KINDS];
	char notify[128];
	char res[4096];
};

static struct rep R;
static const struct sec_tsig TSIG = {KEY_NAME, KEY_ALG, SECRET};

static void rep_fini(void)
{
	char cmd[128];

	for (int k = 0; k < SEC_KINDS; k++)
		if (R.up[k])
			sec_stop(&R.sec[k]);
	if (R.started)
		sys_server_stop(&R.s);
	for (int i = 0; i < 2; i++)
		if (R.target[i] > 0) {
			kill(R.target[i], SIGTERM);
			waitpid(R.target[i], NULL, 0);
		}
	if (R.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R.dir);
		(void)!system(cmd);
	}
	memset(&R, 0, sizeof(R));
}

TestSuite(replication, .fini = rep_fini, .timeout = 90);

/* ---- backends ---- */

/* ahd-health-target on addr:R.tport, or the test fails here. */
static pid_t target_start(const char *addr)
{
	pid_t pid = sys_target_start(addr, R.tport, 0);

	cr_assert_gt(pid, 0, "the health target on %s did not start", addr);
	return pid;
}

static void target_down(int i)
{
	kill(R.target[i], SIGTERM);
	waitpid(R.target[i], NULL, 0);
	R.target[i] = 0;
}

/* ---- the primary ---- */

/* The directory (readable by the prober's unprivileged user), the
 * DNSSEC key, the TSIG key file, the backends and the secondaries'
 * ports (the primary is told them before they start). */
static void rep_setup(bool second_backend)
{
	const char *gen[] = {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
			     "ec_paramgen_curve:P-256", "-out", R.key, NULL};
	char text[256], *err = NULL;
	size_t n = 0;

	memset(&R, 0, sizeof(R));
	strcpy(R.dir, "/tmp/ahd-rep-XXXXXX");
	cr_assert_not_null(mkdtemp(R.dir));
	cr_assert_eq(chmod(R.dir, 0755), 0);
	snprintf(R.key, sizeof(R.key), "%s/key.pem", R.dir);
	snprintf(R.tsig, sizeof(R.tsig), "%s/tsig.key", R.dir);
	snprintf(R.state, sizeof(R.state), "%s/state", R.dir);
	cr_assert_eq(sys_run(gen, 30000, NULL, &err), 0, "openssl genpkey: %s", err ? err : "");
	free(err);
	cr_assert_eq(chmod(R.key, 0644), 0);
	snprintf(text, sizeof(text), "key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n",
		 KEY_NAME, KEY_ALG, SECRET);
	cr_assert_eq(sys_write_file(R.tsig, text), 0);
	cr_assert_eq(chmod(R.tsig, 0600), 0);
	cr_assert_eq(mkdir(R.state, 0755), 0);
	R.tport = sys_free_port();
	R.target[0] = target_start("127.0.0.1");
	if (second_backend)
		R.target[1] = target_start("127.0.0.2");
	n = (size_t)snprintf(R.res, sizeof(R.res),
			     "{\"www\": {\"ips\": [\"127.0.0.1\"%s], \"health_port\": %u},"
			     " \"static\": [\"192.0.2.1\"], \"ns1\": [\"192.0.2.53\"],"
			     " \"ns2\": [\"192.0.2.54\"]",
			     second_backend ? ", \"127.0.0.2\"" : "", (unsigned)R.tport);
	/* More names than a flip changes: an IXFR must stay small. */
	for (int i = 1; i <= EXTRA_NAMES; i++)
		n += (size_t)snprintf(R.res + n, sizeof(R.res) - n, ", \"h%02d\": [\"198.51.100.%d\"]",
				      i, i);
	snprintf(R.res + n, sizeof(R.res) - n, "}");
	n = 0;
	n += (size_t)snprintf(R.notify, sizeof(R.notify), "[");
	for (int k = 0; k < SEC_KINDS; k++) {
		R.sec_port[k] = sys_free_port();
		n += (size_t)snprintf(R.notify + n, sizeof(R.notify) - n, "%s\"127.0.0.1:%u\"",
				      k ? ", " : "", (unsigned)R.sec_port[k]);
	}
	snprintf(R.notify + n, sizeof(R.notify) - n, "]");
}

/* Start a-healthy-dns on port (0: a free one), signed, transfers from
 * 127.0.0.1 only with the TSIG key, NOTIFY to the secondaries. */
static void primary_start(uint16_t port)
{
	char port_s[8];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--alias-zones", "[\"" ALIAS "\"]",
		"--zone-resolutions", R.res,
		"--priv-key-path", R.key,
		"--priv-key-alg", "ECDSAP256SHA256",
		"--test-min-interval", "1",
		"--test-timeout", "1",
		"--workers", "1",
		"--transfer-allow", "[\"127.0.0.1/32\"]",
		"--notify", R.notify,
		"--tsig-key", R.tsig,
		"--ixfr-history", "16",
		"--state-dir", R.state,
		port ? "--listen" : NULL, "127.0.0.1",
		"--port", port_s,
		NULL,
	};

	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	if (port == 0)
		cr_assert_eq(sys_server_start(&R.s, args), 0, "the primary did not start");
	else
		cr_assert_eq(sys_server_start_raw(&R.s, args, port, "127.0.0.1"), 0,
			     "the primary did not start again on port %u", (unsigned)port);
	R.started = true;
}

/* Stop the primary: no sanitizer report, a clean exit; its log (malloc'd). */
static char *primary_stop(void)
{
	char *log = sys_server_log(&R.s);

	cr_assert_not_null(log);
	cr_expect(strstr(log, "AddressSanitizer") == NULL && strstr(log, "runtime error") == NULL,
		  "sanitizer report in the primary's log:\n%s", log);
	R.started = false;
	cr_expect_eq(sys_server_stop(&R.s), 0);
	return log;
}

static uint32_t primary_serial(void)
{
	int64_t v = sys_soa_serial(R.s.port, ZONE);

	cr_assert_geq(v, 0, "no SOA answer from the primary");
	return (uint32_t)v;
}

/* ---- the secondaries ---- */

/* Start NSD, Knot (both required) and named (when installed) as
 * secondaries of both zones; each must load the primary's serial. */
static void secondaries_start(void)
{
	struct sec_cfg c = {.zones = {ZONE, ALIAS}, .n_zones = 2, .primary_port = R.s.port,
			    .tsig = TSIG};
	uint32_t serial = primary_serial();

	cr_assert(sec_available(SEC_NSD), "nsd is not installed (apt-get install nsd)");
	cr_assert(sec_available(SEC_KNOT), "knotd is not installed (apt-get install knot)");
	for (int k = 0; k < SEC_KINDS; k++) {
		if (k == SEC_BIND && !sec_available(SEC_BIND))
			continue;
		c.port = R.sec_port[k];
		cr_assert_eq(sec_start(&R.sec[k], (enum sec_kind)k, &c), R.sec_port[k],
			     "%s did not start", sec_name((enum sec_kind)k));
		R.up[k] = true;
	}
	for (int k = 0; k < SEC_KINDS; k++) {
		if (!R.up[k])
			continue;
		for (size_t z = 0; z < c.n_zones; z++) {
			char *log;

			if (sec_wait_serial(&R.sec[k], c.zones[z], serial, LOAD_MS) == 0)
				continue;
			log = sec_log(&R.sec[k]);
			cr_assert_fail("%s did not load %s serial %u (serves %lld); its log:\n%s",
				       sec_name((enum sec_kind)k), c.zones[z], serial,
				       (long long)sec_serial(&R.sec[k], c.zones[z]), log);
		}
	}
}

/* Every running secondary answers name's A set want within CHANGE_MS. */
static void secondaries_answer(const char *name, const char *want)
{
	for (int k = 0; k < SEC_KINDS; k++) {
		char got[256];
		char *log;

		if (!R.up[k] ||
		    sec_wait_a(R.sec[k].port, name, want, CHANGE_MS, got, sizeof(got)) >= 0)
			continue;
		log = sec_log(&R.sec[k]);
		cr_assert_fail("%s: %s A {%s} wanted, still {%s} after %d ms (serial %lld, primary"
			       " %u); its log:\n%s",
			       sec_name((enum sec_kind)k), name, want, got, CHANGE_MS,
			       (long long)sec_serial(&R.sec[k], ZONE), primary_serial(), log);
	}
}

static void secondaries_mark(struct sec_mark *m)
{
	for (int k = 0; k < SEC_KINDS; k++)
		if (R.up[k])
			sec_mark(&R.sec[k], ZONE, &m[k]);
}

/* Every running secondary got the change since m by IXFR only. */
static void secondaries_ixfr(const struct sec_mark *m, const char *what)
{
	for (int k = 0; k < SEC_KINDS; k++) {
		struct sec_xfrs x;
		char *log;

		if (!R.up[k])
			continue;
		cr_assert_eq(sec_xfrs_since(&R.sec[k], ZONE, &m[k], &x), 0,
			     "%s: cannot tell its transfers", sec_name((enum sec_kind)k));
		if (x.ixfr >= 1 && x.axfr == 0)
			continue;
		log = sec_log(&R.sec[k]);
		cr_assert_fail("%s: %s came by %u IXFR and %u AXFR, want IXFR only; its log:\n%s",
			       sec_name((enum sec_kind)k), what, x.ixfr, x.axfr, log);
	}
}

/* Notify every running secondary of ZONE as a primary would. */
static void secondaries_notify(void)
{
	for (int k = 0; k < SEC_KINDS; k++)
		if (R.up[k])
			cr_expect_eq(sec_notify(&R.sec[k], ZONE), 0, "%s did not acknowledge",
				     sec_name((enum sec_kind)k));
}

/* ---- the tests ---- */

Test(replication, secondaries_follow_a_flip_by_notify_and_ixfr)
{
	struct sec_mark m[SEC_KINDS];
	char got[256];

	rep_setup(true);
	primary_start(0);
	sec_a_set(R.s.port, WWW, got, sizeof(got));
	cr_assert_str_eq(got, BOTH);
	secondaries_start();
	for (int k = 0; k < SEC_KINDS; k++) {
		const char *dig[] = {"+dnssec", "+norec", ZONE, "DNSKEY", NULL};
		char *out;

		if (!R.up[k])
			continue;
		out = sys_dig(R.sec[k].port, dig);
		cr_assert(out && strstr(out, "DNSKEY\t") && strstr(out, "RRSIG\tDNSKEY"),
			  "%s does not serve the signed zone:\n%s", sec_name((enum sec_kind)k),
			  out ? out : "");
		free(out);
		sec_a_set(R.sec[k].port, WWW, got, sizeof(got));
		cr_assert_str_eq(got, BOTH, "%s", sec_name((enum sec_kind)k));
	}

	secondaries_mark(m);
	target_down(1);
	cr_assert_geq(sec_wait_a(R.s.port, WWW, "127.0.0.1", CHANGE_MS, got, sizeof(got)), 0,
		      "the primary still answers {%s}", got);
	secondaries_answer(WWW, "127.0.0.1");
	secondaries_answer("www." ALIAS, "127.0.0.1");
	secondaries_ixfr(m, "127.0.0.2 going down");

	secondaries_mark(m);
	R.target[1] = target_start("127.0.0.2");
	secondaries_answer(WWW, BOTH);
	secondaries_answer("www." ALIAS, BOTH);
	secondaries_ixfr(m, "127.0.0.2 coming back");
	free(primary_stop());
}

/* delv name/type at every secondary: must fully validate (want_addr:
 * and show that address). */
static void secondaries_validate(const char *zone, const char *anchors, const char *name,
				 const char *type, const char *want_addr)
{
	for (int k = 0; k < SEC_KINDS; k++) {
		char *o;

		if (!R.up[k])
			continue;
		o = sec_delv(R.sec[k].port, zone, anchors, name, type);
		cr_expect(sec_delv_validated(o), "%s: %s %s does not validate:\n%s",
			  sec_name((enum sec_kind)k), name, type, o);
		if (want_addr != NULL)
			cr_expect(strstr(o, want_addr) != NULL, "%s: %s %s: no %s in\n%s",
				  sec_name((enum sec_kind)k), name, type, want_addr, o);
		free(o);
	}
}

Test(replication, secondaries_answers_validate_with_delv)
{
	char anchors[2][128], got[256];

	rep_setup(true);
	primary_start(0);
	/* The trust anchor is the primary's DNSKEY: the secondaries must
	 * serve the very zone it signed. */
	snprintf(anchors[0], sizeof(anchors[0]), "%s/%s.anchor", R.dir, ZONE);
	snprintf(anchors[1], sizeof(anchors[1]), "%s/%s.anchor", R.dir, ALIAS);
	cr_assert_eq(sec_write_anchor(R.s.port, ZONE, anchors[0]), 0, "no DNSKEY for %s", ZONE);
	cr_assert_eq(sec_write_anchor(R.s.port, ALIAS, anchors[1]), 0, "no DNSKEY for %s", ALIAS);
	secondaries_start();
	secondaries_validate(ZONE, anchors[0], WWW, "A", "127.0.0.2");
	secondaries_validate(ZONE, anchors[0], "static." ZONE, "A", "192.0.2.1");
	secondaries_validate(ZONE, anchors[0], "nope." ZONE, "A", NULL);
	secondaries_validate(ZONE, anchors[0], WWW, "TXT", NULL);
	secondaries_validate(ALIAS, anchors[1], "www." ALIAS, "A", "127.0.0.1");
	/* What came by IXFR (the changed RRset and its new RRSIG) validates;
	 * the test notifies too, so this holds apart from the notifier. */
	target_down(1);
	cr_assert_geq(sec_wait_a(R.s.port, WWW, "127.0.0.1", CHANGE_MS, got, sizeof(got)), 0,
		      "the primary answers {%s}", got);
	secondaries_notify();
	secondaries_answer(WWW, "127.0.0.1");
	secondaries_validate(ZONE, anchors[0], WWW, "A", "127.0.0.1");
	secondaries_validate(ZONE, anchors[0], ZONE, "SOA", NULL);
	free(primary_stop());
}

/* The first and the last record of a dig transfer output are the SOA. */
static void soa_first_and_last(const char *out)
{
	char first[16] = "", last[16] = "";
	char *copy = strdup(out);

	for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
		char owner[256], cls[16], type[16];
		unsigned ttl;

		if (line[0] == ';' || sscanf(line, "%255s %u %15s %15s", owner, &ttl, cls, type) != 4 ||
		    strcmp(type, "TSIG") == 0)
			continue;
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", type);
		snprintf(last, sizeof(last), "%s", type);
	}
	free(copy);
	cr_expect_str_eq(first, "SOA", "the transfer does not open with the SOA:\n%s", out);
	cr_expect_str_eq(last, "SOA", "the transfer does not close with the SOA:\n%s", out);
}

Test(replication, axfr_passes_ldns_bind_and_knot_zone_checkers)
{
	static const char *const zones[] = {ZONE, ALIAS};

	rep_setup(true);
	primary_start(0);
	for (size_t z = 0; z < 2; z++) {
		char path[128], *report = NULL;
		char *out = sec_dig_xfr(R.s.port, zones[z], "axfr", &TSIG, NULL);
		long n;

		cr_assert_not_null(out, "dig axfr %s did not run", zones[z]);
		snprintf(path, sizeof(path), "%s/%s.axfr", R.dir, zones[z]);
		n = sec_axfr_to_zonefile(out, path);
		/* SOA, NS, ns1, ns2, static, www, DNSKEY, their RRSIG and NSEC. */
		cr_assert_geq(n, 12, "%s: %ld records in\n%s", zones[z], n, out);
		soa_first_and_last(out);
		cr_expect(strstr(out, "\tDNSKEY\t") && strstr(out, "\tRRSIG\t") &&
			  strstr(out, "\tNSEC\t"), "%s: not the signed zone:\n%s", zones[z], out);
		cr_expect_eq(sec_verify_zonefile(zones[z], path, &report), 0,
			     "%s refused:\n%s", zones[z], report);
		free(report);
		free(out);
	}
	free(primary_stop());
}

/* Lines of the primary's log after offset `from` that speak of a
 * transfer ("xfr" or "transfer", any case; not the notifier's lines about
 * the secondaries this test does not start): the refusal must be logged
 * once, not once per message or not at all. */
static unsigned xfr_log_lines(size_t from, const char *needle)
{
	char *log = sys_server_log(&R.s);
	unsigned n = 0;

	cr_assert_not_null(log);
	for (char *line = strlen(log) > from ? strtok(log + from, "\n") : NULL; line;
	     line = strtok(NULL, "\n")) {
		if ((strcasestr(line, "xfr") == NULL && strcasestr(line, "transfer") == NULL) ||
		    strcasestr(line, "notify") != NULL)
			continue;
		n += needle == NULL || strstr(line, needle) != NULL;
	}
	free(log);
	return n;
}

static size_t log_len(void)
{
	char *log = sys_server_log(&R.s);
	size_t n = log ? strlen(log) : 0;

	free(log);
	return n;
}

/* One refused attempt: its answer, and exactly one new log line about
 * it (after a second for the log to settle). */
static void refused_once(const char *what, const struct sec_tsig *t, const char *src,
			 int rcode, int tsig_error)
{
	struct sec_xfr_reply r;
	size_t mark = log_len();
	unsigned lines;

	cr_assert_eq(sec_xfr_query(R.s.port, ZONE, "AXFR", 0, t, src, &r), 0,
		     "%s: no answer", what);
	cr_expect_eq(r.rcode, rcode, "%s: rcode %d, want %d", what, r.rcode, rcode);
	cr_expect_eq(r.ancount, 0, "%s: %u records given away", what, r.ancount);
	if (tsig_error != 0) {
		cr_expect(r.tsig, "%s: the NOTAUTH answer carries no TSIG RR", what);
		cr_expect_eq(r.tsig_error, tsig_error, "%s: TSIG error %d, want %d", what,
			     r.tsig_error, tsig_error);
	}
	sys_sleep_ms(1000);
	lines = xfr_log_lines(mark, NULL);
	cr_expect_eq(lines, 1, "%s: logged in %u lines, want 1", what, lines);
}

Test(replication, transfers_outside_the_acl_or_without_the_key_are_refused)
{
	struct sec_tsig bad_secret = {KEY_NAME, KEY_ALG, "d3JvbmctZ3Jvbmctd3JvbmctZ3Jvbmctd3Jvbmc="};
	struct sec_tsig bad_name = {"other-key", KEY_ALG, SECRET};
	struct sec_xfr_reply r;
	char *out, *log;

	/* No backend on 127.0.0.2: every "127.0.0.2" in the log is ours. */
	rep_setup(false);
	primary_start(0);
	cr_assert_eq(sec_xfr_query(R.s.port, ZONE, "AXFR", 0, &TSIG, NULL, &r), 0);
	cr_assert_eq(r.rcode, 0, "a signed AXFR from 127.0.0.1: rcode %d", r.rcode);
	cr_assert_gt(r.ancount, 0);
	cr_expect(r.tsig, "the answer to a signed request is not signed");
	sys_sleep_ms(1000); /* its log line, if any, comes before the marks below */

	refused_once("from 127.0.0.2", &TSIG, "127.0.0.2", 5 /* REFUSED */, 0);
	cr_expect_eq(xfr_log_lines(0, "127.0.0.2"), 1, "the refusal does not name 127.0.0.2");
	out = sec_dig_xfr(R.s.port, ZONE, "axfr", &TSIG, "127.0.0.2");
	cr_expect(out == NULL || strstr(out, "\tSOA\t") == NULL, "dig -b 127.0.0.2 got:\n%s", out);
	free(out);
	refused_once("unsigned", NULL, NULL, 5 /* REFUSED */, 0);
	refused_once("wrong secret", &bad_secret, NULL, 9 /* NOTAUTH */, 16 /* BADSIG */);
	refused_once("unknown key", &bad_name, NULL, 9 /* NOTAUTH */, 17 /* BADKEY */);

	log = primary_stop();
	cr_expect(strstr(log, SECRET) == NULL, "the TSIG secret is in the log:\n%s", log);
	free(log);
}

/* a is b or after it (RFC 1982). */
static bool serial_not_lower(uint32_t a, uint32_t b)
{
	return a == b || (uint32_t)(a - b) < 0x80000000u;
}

Test(replication, restart_keeps_the_serial_and_the_secondaries_following)
{
	uint16_t port;
	uint32_t before, after;

	rep_setup(true);
	primary_start(0);
	port = R.s.port;
	secondaries_start();
	sys_sleep_ms(1500); /* past the supervisor's once-a-second save */
	before = primary_serial();
	free(primary_stop());

	primary_start(port);
	after = primary_serial();
	cr_assert(serial_not_lower(after, before), "serial %u after the restart, %u before",
		  after, before);
	for (int k = 0; k < SEC_KINDS; k++)
		if (R.up[k])
			cr_assert_eq(sec_wait_serial(&R.sec[k], ZONE, after, CHANGE_MS), 0,
				     "%s serves %lld, the restarted primary %u",
				     sec_name((enum sec_kind)k),
				     (long long)sec_serial(&R.sec[k], ZONE), after);
	/* A flip after the restart still arrives. */
	target_down(1);
	secondaries_answer(WWW, "127.0.0.1");
	cr_expect(serial_not_lower(primary_serial(), after));
	free(primary_stop());
}

/* ---- what a flip transfers ---- */

struct xrec {
	char type[16];
	int64_t serial; /* a SOA's, else -1 */
};

/* The records of a dig transfer output, TSIG RRs left out: how many;
 * the first cap of them into r. */
static size_t xfr_records(const char *out, struct xrec *r, size_t cap)
{
	char *copy = strdup(out ? out : "");
	size_t n = 0;

	cr_assert_not_null(copy);
	for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
		char owner[256], cls[16], type[16], mname[256], rname[256];
		unsigned ttl, serial;

		if (line[0] == ';' || sscanf(line, "%255s %u %15s %15s", owner, &ttl, cls, type) != 4 ||
		    strcmp(type, "TSIG") == 0)
			continue;
		if (n < cap) {
			snprintf(r[n].type, sizeof(r[n].type), "%s", type);
			r[n].serial = -1;
			if (strcmp(type, "SOA") == 0 &&
			    sscanf(line, "%255s %u %15s %15s %255s %255s %u", owner, &ttl, cls, type,
				   mname, rname, &serial) == 7)
				r[n].serial = serial;
		}
		n++;
	}
	free(copy);
	return n;
}

static char *dig_ixfr(uint32_t serial)
{
	char type[32], y[256];
	const char *args[] = {"-y", y, "+tries=1", ZONE, type, NULL};

	snprintf(type, sizeof(type), "ixfr=%u", serial);
	snprintf(y, sizeof(y), "%s:%s:%s", KEY_ALG, KEY_NAME, SECRET);
	return sys_dig(R.s.port, args);
}

/* An incremental answer from s0 to s1 (RFC 1995 section 4): the new SOA,
 * then the old one; n records in all. */
static void incremental(const char *out, uint32_t s0, uint32_t s1, size_t *n)
{
	struct xrec r[2];

	*n = xfr_records(out, r, 2);
	cr_assert_geq(*n, 4, "IXFR from %u: %zu records:\n%s", s0, *n, out);
	cr_expect(strcmp(r[0].type, "SOA") == 0 && r[0].serial == s1,
		  "IXFR from %u does not open with the SOA of %u:\n%s", s0, s1, out);
	cr_expect(strcmp(r[1].type, "SOA") == 0 && r[1].serial == s0,
		  "IXFR from %u is not incremental (second record not the old SOA):\n%s", s0, out);
}

Test(replication, a_flip_transfers_as_a_few_records)
{
	struct xrec r[2];
	char got[256], *out;
	uint32_t s0, s1;
	size_t n, full;

	rep_setup(true);
	primary_start(0);
	s0 = primary_serial();
	out = sec_dig_xfr(R.s.port, ZONE, "axfr", &TSIG, NULL);
	full = xfr_records(out, r, 0);
	free(out);
	cr_assert_geq(full, 3 * EXTRA_NAMES, "the AXFR has %zu records", full);
	target_down(1);
	cr_assert_geq(sec_wait_a(R.s.port, WWW, "127.0.0.1", CHANGE_MS, got, sizeof(got)), 0,
		      "the primary still answers {%s}", got);
	s1 = primary_serial();

	out = dig_ixfr(s0);
	cr_assert_not_null(out, "dig ixfr=%u failed", s0);
	incremental(out, s0, s1, &n);
	/* SOA s1; SOA s0, its RRSIG, A 127.0.0.2, www's old RRSIG; SOA s1,
	 * its RRSIG, www's new RRSIG; SOA s1: 9, and a little room (the
	 * history may hold this change as two publishes). */
	cr_expect_leq(n, 14, "a flip took %zu records of the zone's %zu:\n%s", n, full, out);
	cr_expect(strstr(out, "127.0.0.2") != NULL, "the deleted address is not in\n%s", out);
	free(out);

	/* Over UDP (EDNS 1232) the difference fits: the incremental answer
	 * in one message (RFC 1995 section 2), or TC. */
	{
		struct sec_xfr_reply u;

		cr_assert_eq(sec_xfr_query(R.s.port, ZONE, "IXFR", s0, &TSIG, "udp", &u), 0,
			     "no answer to IXFR over UDP");
		cr_expect(u.tc || (u.rcode == 0 && u.ancount >= 4 && u.soa[0] == s1 &&
				   u.soa[1] == s0),
			  "IXFR over UDP from %u: rcode %d tc %d, %u records, SOA %lld then %lld",
			  s0, u.rcode, u.tc, u.ancount, (long long)u.soa[0], (long long)u.soa[1]);
		cr_expect(u.tsig && u.tsig_error == 0, "the UDP answer is not signed");
	}

	/* Up to date: the one SOA. */
	out = dig_ixfr(s1);
	cr_expect_eq(xfr_records(out, r, 1), 1, "IXFR from the current serial:\n%s", out);
	cr_expect(r[0].serial == s1, "IXFR from the current serial:\n%s", out);
	free(out);

	/* A serial older than the history: AXFR-style, the whole zone. */
	out = dig_ixfr(s0 - 100000u);
	n = xfr_records(out, r, 2);
	cr_expect(n + 4 >= full && strcmp(r[1].type, "SOA") != 0,
		  "IXFR from an unknown serial: %zu records, want the zone's ~%zu AXFR-style:\n%s",
		  n, full, out);
	free(out);
	free(primary_stop());
}

/* ---- adding a secondary by SIGHUP ---- */

/* The whole configuration as a --config file; notify is its JSON list. */
static void write_config(const char *path, const char *notify, const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "{\"hosted-zone\": \"%s\", \"ns\": [\"ns1.%s\", \"ns2.%s\"],\n"
		 " \"zone-resolutions\": %.*s%s},\n"
		 " \"priv-key-path\": \"%s\", \"priv-key-alg\": \"ECDSAP256SHA256\",\n"
		 " \"test-min-interval\": 1, \"test-timeout\": 1, \"workers\": 1,\n"
		 " \"transfer-allow\": [\"127.0.0.1/32\"], \"notify\": %s,\n"
		 " \"tsig-key\": \"%s\", \"ixfr-history\": 16}\n",
		 ZONE, ZONE, ZONE, (int)strlen(R.res) - 1, R.res, extra, R.key, notify, R.tsig);
	cr_assert_eq(sys_write_file(path, text), 0);
}

Test(replication, a_secondary_added_by_sighup_gets_notify)
{
	struct sec_cfg c = {.zones = {ZONE}, .n_zones = 1, .tsig = TSIG};
	char path[128], only_nsd[64], got[256];
	const char *args[] = {"--config", path, NULL};
	uint32_t s0;

	rep_setup(true);
	snprintf(path, sizeof(path), "%s/config.json", R.dir);
	snprintf(only_nsd, sizeof(only_nsd), "[\"127.0.0.1:%u\"]", (unsigned)R.sec_port[SEC_NSD]);
	write_config(path, only_nsd, "");
	cr_assert_eq(sys_server_start(&R.s, args), 0, "the primary did not start");
	R.started = true;
	s0 = primary_serial();
	c.primary_port = R.s.port;
	for (int k = SEC_NSD; k <= SEC_KNOT; k++) {
		c.port = R.sec_port[k];
		cr_assert_eq(sec_start(&R.sec[k], (enum sec_kind)k, &c), R.sec_port[k]);
		R.up[k] = true;
		cr_assert_eq(sec_wait_serial(&R.sec[k], ZONE, s0, LOAD_MS), 0, "%s did not load",
			     sec_name((enum sec_kind)k));
	}
	/* Knot is not notified: it keeps the old zone (its SOA refresh is
	 * far away), NSD follows. */
	target_down(1);
	cr_assert_geq(sec_wait_a(R.sec[SEC_NSD].port, WWW, "127.0.0.1", CHANGE_MS, got,
				 sizeof(got)), 0, "nsd still answers {%s}", got);
	sys_sleep_ms(2000);
	cr_assert_eq(sec_serial(&R.sec[SEC_KNOT], ZONE), s0, "knot was told without --notify");

	/* Add Knot and a name; the reload's publish notifies both. */
	write_config(path, R.notify, ", \"added\": [\"203.0.113.7\"]");
	cr_assert_eq(kill(R.s.pid, SIGHUP), 0);
	cr_assert_geq(sec_wait_a(R.s.port, "added." ZONE, "203.0.113.7", CHANGE_MS, got,
				 sizeof(got)), 0, "the reload did not publish: {%s}", got);
	for (int k = SEC_NSD; k <= SEC_KNOT; k++)
		cr_assert_geq(sec_wait_a(R.sec[k].port, "added." ZONE, "203.0.113.7", CHANGE_MS,
					 got, sizeof(got)), 0, "%s: added still {%s}",
			      sec_name((enum sec_kind)k), got);
	cr_expect_geq(sec_wait_a(R.sec[SEC_KNOT].port, WWW, "127.0.0.1", CHANGE_MS, got,
				 sizeof(got)), 0, "knot: www still {%s}", got);
	free(primary_stop());
}

/* ---- SOA timers ---- */

/* REFRESH, RETRY and EXPIRE of the primary's SOA. */
static void soa_timers(uint32_t *refresh, uint32_t *retry, uint32_t *expire)
{
	ldns_pkt *p = sys_query(R.s.port, ZONE, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, false);
	ldns_rr *soa;

	cr_assert_not_null(p, "no SOA answer");
	cr_assert_eq(ldns_pkt_ancount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	*refresh = ldns_rdf2native_int32(ldns_rr_rdf(soa, 3));
	*retry = ldns_rdf2native_int32(ldns_rr_rdf(soa, 4));
	*expire = ldns_rdf2native_int32(ldns_rr_rdf(soa, 5));
	ldns_pkt_free(p);
}

/*
 * A secondary drops the zone when it has not refreshed it for EXPIRE
 * seconds (RFC 1035 section 3.3.13); it refreshes every REFRESH (RETRY
 * after a failure). EXPIRE below REFRESH + RETRY makes NSD answer
 * SERVFAIL and Knot expire and re-AXFR the zone every EXPIRE seconds
 * even with the primary up (RFC 1912 section 2.2 advises weeks). Watch
 * the secondaries for EXPIRE + 2 s (at most 15 s).
 */
Test(replication, secondaries_never_expire_the_zone)
{
	uint32_t refresh, retry, expire;
	int64_t end;

	rep_setup(true);
	primary_start(0);
	secondaries_start();
	soa_timers(&refresh, &retry, &expire);
	cr_expect_geq((uint64_t)expire, (uint64_t)refresh + retry,
		      "SOA EXPIRE %u is below REFRESH %u + RETRY %u", expire, refresh, retry);
	end = sys_now_ms() + (expire + 2 < 15 ? (int64_t)expire + 2 : 15) * 1000;
	while (sys_now_ms() < end) {
		for (int k = 0; k < SEC_KINDS; k++) {
			char got[256];

			if (!R.up[k])
				continue;
			sec_a_set(R.sec[k].port, WWW, got, sizeof(got));
			cr_assert_str_eq(got, BOTH, "%s stopped answering (SOA %u %u %u)",
					 sec_name((enum sec_kind)k), refresh, retry, expire);
		}
		sys_sleep_ms(250);
	}
	for (int k = 0; k < SEC_KINDS; k++)
		cr_expect(!R.up[k] || !sec_saw_expiry(&R.sec[k], ZONE), "%s expired the zone",
			  sec_name((enum sec_kind)k));
	free(primary_stop());
}

/* ---- IXFR to real secondaries, the NOTIFY sent by the test ---- */

/*
 * The transfers alone, whatever the notifier does: after a flip the test
 * itself notifies each secondary (as a primary would, signed), and each
 * must take the change by IXFR and still validate.
 */
Test(replication, secondaries_take_a_flip_by_ixfr_when_notified)
{
	struct sec_mark m[SEC_KINDS];
	char got[256], anchors[128];

	rep_setup(true);
	primary_start(0);
	snprintf(anchors, sizeof(anchors), "%s/%s.anchor", R.dir, ZONE);
	cr_assert_eq(sec_write_anchor(R.s.port, ZONE, anchors), 0);
	secondaries_start();
	for (int round = 0; round < 2; round++) {
		const char *want = round == 0 ? "127.0.0.1" : BOTH;

		secondaries_mark(m);
		if (round == 0)
			target_down(1);
		else
			R.target[1] = target_start("127.0.0.2");
		cr_assert_geq(sec_wait_a(R.s.port, WWW, want, CHANGE_MS, got, sizeof(got)), 0,
			      "the primary answers {%s}", got);
		secondaries_notify();
		secondaries_answer(WWW, want);
		secondaries_ixfr(m, round == 0 ? "127.0.0.2 going down" : "127.0.0.2 coming back");
		secondaries_validate(ZONE, anchors, WWW, "A", "127.0.0.1");
	}
	free(primary_stop());
}
