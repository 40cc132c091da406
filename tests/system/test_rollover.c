/*
 * DESIGN §13, issue 17: key rollovers on a running signed server, each
 * step a SIGHUP with new key-state files, with
 *   - delv validating a positive, an NXDOMAIN and a NODATA answer at
 *     every step from the DS set "the parent" has then;
 *   - a local unbound (started here on a loopback port, the zone a stub
 *     to the server, the DS of both KSKs as its trust anchor, as a parent
 *     of the double-DS method holds them) that keeps the old DNSKEY RRset
 *     cached across the steps, and must validate the same answers;
 *   - `dump` accepted by ldns-verify-zone, dnssec-verify and kzonecheck;
 *   - the CDS and CDNSKEY RRsets equal to ldns-key2ds of the KSKs the
 *     parent should have, and the DNSKEY RRset;
 *   - a querier sending all along: no query lost across the SIGHUPs.
 * The waits come from the TTLs served (--test-min-interval 1: DNSKEY TTL
 * 40 s, the largest TTL 120 s; --key-propagation-delay 0): the test waits
 * for the states `status --json` shows, never a fixed time.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "secondary.h"
#include "sysutil.h"

#define ZONE "rollover.test"
#define WWW "www." ZONE
#define ADDR "192.0.2.80"
/* Ipub 40 s, Iret 120 s, plus a round or two and a loaded machine. */
#define STEP_MS 200000

struct rt {
	char dir[64];
	char cfg[128];
	char anchors[128]; /* delv's */
	struct sys_server s;
	bool started;
	pid_t unbound;
	uint16_t uport;
	pthread_t querier;
	bool querying;
	atomic_bool stop;
	atomic_long sent, lost;
};

static struct rt rt;

static void rt_fini(void)
{
	char cmd[128];

	if (rt.querying) {
		atomic_store(&rt.stop, true);
		pthread_join(rt.querier, NULL);
	}
	if (rt.unbound > 0) {
		kill(rt.unbound, SIGTERM);
		waitpid(rt.unbound, NULL, 0);
	}
	if (rt.started)
		sys_server_stop(&rt.s);
	if (rt.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rt.dir);
		(void)!system(cmd);
	}
}

TestSuite(rollover, .fini = rt_fini, .timeout = 900);

/* dir/name. */
static const char *rt_path(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", rt.dir, name);
	return buf;
}

/* dir/name's key-state file. */
static void rt_state(const char *name, const char *state)
{
	char path[160], st[170];

	snprintf(st, sizeof(st), "%s.state", rt_path(name, path, sizeof(path)));
	cr_assert_eq(sys_write_file(st, state), 0);
}

/* A new key file dir/name (kind as sys_make_key takes it) and its
 * key-state file. */
static void rt_key(const char *name, const char *kind, const char *state)
{
	const char *argv[12] = { "openssl", "genpkey", "-algorithm" };
	char path[160];
	size_t n = 3;
	char *err = NULL;

	if (strcmp(kind, "P-256") == 0) {
		argv[n++] = "EC";
		argv[n++] = "-pkeyopt";
		argv[n++] = "ec_paramgen_curve:P-256";
	} else {
		argv[n++] = kind;
	}
	argv[n++] = "-out";
	argv[n++] = rt_path(name, path, sizeof(path));
	argv[n] = NULL;
	cr_assert_eq(sys_run(argv, 30000, NULL, &err), 0, "openssl: %s", err ? err : "");
	free(err);
	cr_assert_eq(chmod(path, 0600), 0);
	rt_state(name, state);
}

/* The --config file with the keys (names in dir, NULL-terminated). */
static void rt_config(const char *const *keys)
{
	char text[4096], path[160];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text),
			     "{\"hosted-zone\": \"%s\", \"ns\": [\"ns1.%s\"],\n"
			     " \"zone-resolutions\": {\"www\": [\"" ADDR "\"], "
			     "\"ns1\": [\"192.0.2.53\"]},\n"
			     " \"priv-key-alg\": \"ECDSAP256SHA256\", \"test-min-interval\": 1,\n"
			     " \"test-timeout\": 1, \"workers\": 1, \"key-propagation-delay\": \"0s\",\n"
			     " \"priv-key-path\": [",
			     ZONE, ZONE);
	for (size_t i = 0; keys[i] != NULL; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"%s\"", i ? ", " : "",
				      rt_path(keys[i], path, sizeof(path)));
	snprintf(text + o, sizeof(text) - o, "]}\n");
	cr_assert_eq(sys_write_file(rt.cfg, text), 0);
}

static void rt_setup(void)
{
	memset(&rt, 0, sizeof(rt));
	strcpy(rt.dir, "/tmp/ahd-roll-XXXXXX");
	cr_assert_not_null(mkdtemp(rt.dir));
	cr_assert_eq(chmod(rt.dir, 0755), 0);
	snprintf(rt.cfg, sizeof(rt.cfg), "%s/config.json", rt.dir);
	snprintf(rt.anchors, sizeof(rt.anchors), "%s/delv.anchors", rt.dir);
}

static void rt_start(void)
{
	const char *args[] = { "--config", rt.cfg, NULL };

	cr_assert_eq(sys_server_start(&rt.s, args), 0, "the server did not start");
	rt.started = true;
}

/* The DS `a-healthy-dns ds` prints for the key file name as a KSK
 * ("<tag> <alg> 2 <hex>"). */
static void rt_ds_of(const char *name, const char *alg, char *out, size_t cap)
{
	char path[160];
	const char *argv[] = { sys_bin(), "ds", "--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\"]",
			       "--zone-resolutions", "{\"www\": [\"" ADDR "\"]}",
			       "--priv-key-alg", alg, "--priv-key-path",
			       rt_path(name, path, sizeof(path)), NULL };
	char *o = NULL;
	const char *p;

	cr_assert_eq(sys_run(argv, 10000, &o, NULL), 0, "ds failed");
	p = strstr(o, "\tDS\t");
	cr_assert_not_null(p, "ds: %s", o);
	snprintf(out, cap, "%s", p + 4);
	out[strcspn(out, "\n")] = '\0';
	free(o);
}

/* `ds --config` prints one DS per KSK (none for a ZSK). */
static void rt_ds_lines(size_t want)
{
	const char *argv[] = { sys_bin(), "ds", "--config", rt.cfg, NULL };
	char *o = NULL;

	cr_assert_eq(sys_run(argv, 10000, &o, NULL), 0, "ds failed");
	cr_assert_eq(sys_count_lines(o), want, "ds:\n%s", o);
	free(o);
}

/* delv's anchors: the DS set the parent holds now. */
static void rt_anchor(const char *const *ds)
{
	char text[2048];
	size_t o = (size_t)snprintf(text, sizeof(text), "trust-anchors {\n");

	for (size_t i = 0; ds[i] != NULL; i++) {
		unsigned tag, alg, dt;
		char hex[200];

		cr_assert_eq(sscanf(ds[i], "%u %u %u %199s", &tag, &alg, &dt, hex), 4);
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "\t\"%s.\" static-ds %u %u %u \"%s\";\n", ZONE, tag, alg,
				      dt, hex);
	}
	snprintf(text + o, sizeof(text) - o, "};\n");
	cr_assert_eq(sys_write_file(rt.anchors, text), 0);
}

/* unbound on a free loopback port, the zone a stub to the server, ds
 * its trust anchors; it answers before this returns. */
static void rt_unbound(const char *const *ds)
{
	char conf[160], text[4096], port[8];
	size_t o;
	int64_t end;

	rt.uport = sys_free_port();
	o = (size_t)snprintf(text, sizeof(text),
			     "server:\n  interface: 127.0.0.1\n  port: %u\n  username: \"\"\n"
			     "  chroot: \"\"\n  directory: \"%s\"\n  pidfile: \"%s/unbound.pid\"\n"
			     "  logfile: \"%s/unbound.log\"\n  use-syslog: no\n  verbosity: 2\n"
			     "  val-log-level: 2\n  do-not-query-localhost: no\n  do-ip6: no\n"
			     "  num-threads: 1\n  so-reuseport: no\n  prefetch: no\n"
			     "  qname-minimisation: no\n  aggressive-nsec: no\n"
			     "  module-config: \"validator iterator\"\n"
			     "  access-control: 127.0.0.0/8 allow\n"
			     /* test. is one of unbound's default local zones. */
			     "  local-zone: \"test.\" nodefault\n",
			     (unsigned)rt.uport, rt.dir, rt.dir, rt.dir);
	for (size_t i = 0; ds[i] != NULL; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "  trust-anchor: \"%s. DS %s\"\n",
				      ZONE, ds[i]);
	snprintf(text + o, sizeof(text) - o,
		 "remote-control:\n  control-enable: no\n"
		 "stub-zone:\n  name: \"%s\"\n  stub-addr: 127.0.0.1@%u\n",
		 ZONE, (unsigned)rt.s.port);
	cr_assert_eq(sys_write_file(rt_path("unbound.conf", conf, sizeof(conf)), text), 0);
	rt.unbound = fork();
	cr_assert_geq(rt.unbound, 0);
	if (rt.unbound == 0) {
		execlp("unbound", "unbound", "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	snprintf(port, sizeof(port), "%u", (unsigned)rt.uport);
	for (end = sys_now_ms() + 20000; sys_now_ms() < end; sys_sleep_ms(100)) {
		const char *argv[] = { "dig", "@127.0.0.1", "-p", port, "+time=1", "+tries=1",
				       ZONE, "SOA", NULL };
		char *out = NULL;

		if (sys_run(argv, 5000, &out, NULL) == 0 && strstr(out, "status: NOERROR")) {
			free(out);
			return;
		}
		free(out);
	}
	cr_assert_fail("unbound did not answer on port %u", (unsigned)rt.uport);
}

/* The querier: the same question again and again, each waited for. */
static void *rt_query_loop(void *arg)
{
	static const uint8_t q[] = { 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				     3, 'w', 'w', 'w', 8, 'r', 'o', 'l', 'l', 'o', 'v', 'e', 'r',
				     4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	uint8_t resp[1500];

	(void)arg;
	while (!atomic_load(&rt.stop)) {
		atomic_fetch_add(&rt.sent, 1);
		if (sys_exchange("127.0.0.1", rt.s.port, q, sizeof(q), resp, sizeof(resp), 2000) <
		    12)
			atomic_fetch_add(&rt.lost, 1);
		sys_sleep_ms(5);
	}
	return NULL;
}

static void rt_querier_start(void)
{
	cr_assert_eq(pthread_create(&rt.querier, NULL, rt_query_loop, NULL), 0);
	rt.querying = true;
}

/* The key row of status --json for the key file name: its state, and
 * its tag in *tag. NULL-safe: "" if absent. */
static void rt_key_state(const char *name, char *state, size_t cap, unsigned *tag)
{
	char port[8], path[160];
	const char *argv[] = { sys_bin(), "status", "--json", "--port", port, NULL };
	struct json_object *o, *keys;
	char *out = NULL;

	state[0] = '\0';
	snprintf(port, sizeof(port), "%u", (unsigned)rt.s.port);
	rt_path(name, path, sizeof(path));
	if (sys_run(argv, 10000, &out, NULL) != 0 || (o = json_tokener_parse(out)) == NULL) {
		free(out);
		return;
	}
	free(out);
	if (json_object_object_get_ex(o, "keys", &keys)) {
		for (size_t i = 0; i < json_object_array_length(keys); i++) {
			struct json_object *k = json_object_array_get_idx(keys, i), *v;

			if (!json_object_object_get_ex(k, "path", &v) ||
			    strcmp(json_object_get_string(v), path) != 0)
				continue;
			json_object_object_get_ex(k, "state", &v);
			snprintf(state, cap, "%s", json_object_get_string(v));
			json_object_object_get_ex(k, "tag", &v);
			if (tag != NULL)
				*tag = (unsigned)json_object_get_int(v);
		}
	}
	json_object_put(o);
}

/* Wait until the key file name is in state; its tag. */
static unsigned rt_wait_state(const char *name, const char *state)
{
	int64_t end = sys_now_ms() + STEP_MS;
	char got[32] = "";
	unsigned tag = 0;

	while (sys_now_ms() < end) {
		rt_key_state(name, got, sizeof(got), &tag);
		if (strcmp(got, state) == 0)
			return tag;
		sys_sleep_ms(500);
	}
	cr_assert_fail("key %s: state \"%s\", not \"%s\", after %d ms", name, got, state,
		       STEP_MS);
	return 0;
}


/* SIGHUP, and wait for the new prober's first publish. */
static void rt_hup(void)
{
	char *log;
	size_t before = sys_server_log_count(&rt.s, "SIGHUP: reloaded"), now;
	size_t refused = sys_server_log_count(&rt.s, "reload refused");
	int64_t end = sys_now_ms() + 20000;

	cr_assert_eq(kill(rt.s.pid, SIGHUP), 0);
	do {
		const char *p;

		sys_sleep_ms(100);
		log = sys_server_log(&rt.s);
		now = 0;
		for (p = log; (p = strstr(p, "SIGHUP: reloaded")) != NULL; p++)
			now++;
		p = log;
		for (size_t i = 0; i < now && p != NULL; i++)
			p = strstr(p, "SIGHUP: reloaded") + 1;
		if (now > before && p != NULL && strstr(p, "published serial") != NULL) {
			free(log);
			return;
		}
		free(log);
		cr_assert_eq(sys_server_log_count(&rt.s, "reload refused"), refused, "reload refused");
	} while (sys_now_ms() < end);
	cr_assert_fail("no publish after the SIGHUP");
}

/* dig through unbound: the status, the AD flag, and (positive) ADDR. */
static void rt_unbound_validates(const char *name, const char *type, const char *status,
				 bool answer)
{
	char port[8];
	const char *argv[] = { "dig", "@127.0.0.1", "-p", port, "+dnssec", "+time=5", "+tries=1",
			       name, type, NULL };
	char *out = NULL;

	snprintf(port, sizeof(port), "%u", (unsigned)rt.uport);
	cr_assert_eq(sys_run(argv, 15000, &out, NULL), 0, "dig via unbound failed");
	if (strstr(out, status) == NULL) {
		char path[160];
		char *log = sys_read_file(rt_path("unbound.log", path, sizeof(path)), NULL);

		cr_assert_fail("unbound %s %s:\n%s\nunbound.log:\n%s", name, type, out,
			       log ? log : "");
	}
	cr_assert_not_null(strstr(out, " ad"), "unbound %s %s not validated (no AD):\n%s", name,
			   type, out);
	if (answer)
		cr_assert_not_null(strstr(out, ADDR), "unbound %s %s:\n%s", name, type, out);
	else
		cr_assert_not_null(strstr(out, "ANSWER: 0,"), "unbound %s %s:\n%s", name, type,
				   out);
	free(out);
}

static void rt_delv_validates(const char *name, const char *type, bool answer)
{
	char *o = sec_delv(rt.s.port, ZONE, rt.anchors, name, type);

	cr_assert_not_null(o);
	cr_assert(sec_delv_validated(o), "delv %s %s did not validate:\n%s", name, type, o);
	if (answer)
		cr_assert_not_null(strstr(o, ADDR), "delv %s %s:\n%s", name, type, o);
	free(o);
}

/* The 257 DNSKEYs served, one "257 3 alg b64" each, to files for
 * ldns-key2ds: the DS line of each into ds[] (hex lower case). */
static size_t rt_served_ds(char ds[][256], size_t cap)
{
	const char *dig[] = { "+norec", "+noall", "+answer", ZONE, "DNSKEY", NULL };
	char *out = sys_dig(rt.s.port, dig), *save = NULL, path[160];
	size_t n = 0;

	cr_assert_not_null(out);
	for (char *l = strtok_r(out, "\n", &save); l != NULL && n < cap;
	     l = strtok_r(NULL, "\n", &save)) {
		const char *argv[] = { "ldns-key2ds", "-n", "-2", path, NULL };
		char *o = NULL, *p;

		if (strstr(l, "DNSKEY\t257 ") == NULL)
			continue;
		rt_path("k.key", path, sizeof(path));
		cr_assert_eq(sys_write_file(path, l), 0);
		cr_assert_eq(sys_run(argv, 10000, &o, NULL), 0, "ldns-key2ds: %s", l);
		p = strstr(o, "DS\t");
		cr_assert_not_null(p, "ldns-key2ds: %s", o);
		snprintf(ds[n], 256, "%s", p + 3);
		ds[n][strcspn(ds[n], "\n")] = '\0';
		for (char *c = ds[n]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		n++;
		free(o);
	}
	free(out);
	return n;
}

/* CDS +short, one "tag alg 2 hex" per RR (dig splits the hex). */
static size_t rt_cds(char cds[][256], size_t cap)
{
	const char *dig[] = { "+short", "+norec", ZONE, "CDS", NULL };
	char *out = sys_dig(rt.s.port, dig), *save = NULL;
	size_t n = 0;

	cr_assert_not_null(out);
	for (char *l = strtok_r(out, "\n", &save); l != NULL && n < cap;
	     l = strtok_r(NULL, "\n", &save)) {
		unsigned tag, alg, dt;
		int off = 0;
		size_t k;

		if (sscanf(l, "%u %u %u %n", &tag, &alg, &dt, &off) != 3)
			continue;
		k = (size_t)snprintf(cds[n], 256, "%u %u %u ", tag, alg, dt);
		for (const char *c = l + off; *c && k + 1 < 256; c++)
			if (!isspace((unsigned char)*c))
				cds[n][k++] = (char)tolower((unsigned char)*c);
		cds[n][k] = '\0';
		n++;
	}
	free(out);
	return n;
}

/* Every CDNSKEY (+short lines) is one of the DNSKEYs served. */
static void rt_check_cdnskey(const char *cdnskey)
{
	const char *dig[] = { "+short", "+norec", ZONE, "DNSKEY", NULL };
	char *keys = sys_dig(rt.s.port, dig), *copy = strdup(cdnskey), *save = NULL;

	cr_assert(keys != NULL && copy != NULL);
	for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		cr_assert_not_null(strstr(keys, l), "CDNSKEY %s is no DNSKEY of:\n%s", l, keys);
	free(copy);
	free(keys);
}

/* The CDS RRset is ldns-key2ds of the KSKs with the given tags (the
 * ones the parent should have), and the CDNSKEY RRset as many keys. */
static void rt_check_cds(const unsigned *tags, size_t n_tags)
{
	char served[8][256], cds[8][256];
	size_t ns = rt_served_ds(served, 8), nc = rt_cds(cds, 8), want = 0;
	const char *dig[] = { "+short", "+norec", ZONE, "CDNSKEY", NULL };
	char *cdnskey = sys_dig(rt.s.port, dig);

	for (size_t i = 0; i < ns; i++) {
		unsigned tag = (unsigned)strtoul(served[i], NULL, 10);
		bool wanted = false, found = false;

		for (size_t t = 0; t < n_tags; t++)
			wanted |= tags[t] == tag;
		if (!wanted)
			continue;
		want++;
		for (size_t c = 0; c < nc; c++)
			found |= strcmp(cds[c], served[i]) == 0;
		cr_assert(found, "no CDS for %s", served[i]);
	}
	cr_assert_eq(want, n_tags, "not every expected KSK is served");
	cr_assert_eq(nc, n_tags, "%zu CDS for %zu KSKs", nc, n_tags);
	cr_assert_eq(sys_count_lines(cdnskey), n_tags, "CDNSKEY: %s", cdnskey);
	rt_check_cdnskey(cdnskey);
	free(cdnskey);
}

/* Every check of a step: delv (the parent's DS set now), unbound (its
 * cache from the steps before), dump through three verifiers, CDS. */
static void rt_check(const unsigned *ksk_tags, size_t n_ksk)
{
	char zone[160];
	char *rep = NULL;
	char *dump;
	const char *argv[] = { sys_bin(), "dump", "--port", NULL, NULL };
	char port[8];

	rt_delv_validates(WWW, "A", true);
	rt_delv_validates("nx." ZONE, "A", false);
	rt_delv_validates(WWW, "AAAA", false);
	rt_unbound_validates(WWW, "A", "status: NOERROR", true);
	rt_unbound_validates("nx." ZONE, "A", "status: NXDOMAIN", false);
	rt_unbound_validates(WWW, "AAAA", "status: NOERROR", false);
	snprintf(port, sizeof(port), "%u", (unsigned)rt.s.port);
	argv[3] = port;
	cr_assert_eq(sys_run(argv, 10000, &dump, NULL), 0, "dump failed");
	cr_assert_eq(sys_write_file(rt_path("zone.txt", zone, sizeof(zone)), dump), 0);
	free(dump);
	cr_assert_eq(sec_verify_zonefile(ZONE, zone, &rep), 0, "the zone does not verify:\n%s",
		     rep ? rep : "");
	free(rep);
	rt_check_cds(ksk_tags, n_ksk);
}

/* No query went unanswered, and the server's log is clean. */
static void rt_finish(void)
{
	char *log;

	atomic_store(&rt.stop, true);
	pthread_join(rt.querier, NULL);
	rt.querying = false;
	cr_log_info("%ld queries during the rollover, %ld lost", atomic_load(&rt.sent),
		    atomic_load(&rt.lost));
	cr_assert_gt(atomic_load(&rt.sent), 100, "the querier hardly ran");
	cr_assert_eq(atomic_load(&rt.lost), 0, "%ld of %ld queries lost",
		     atomic_load(&rt.lost), atomic_load(&rt.sent));
	log = sys_server_log(&rt.s);
	if (getenv("AHD_TEST_LOG") != NULL)
		fprintf(stderr, "%s", log);
	cr_expect(strstr(log, "AddressSanitizer") == NULL && strstr(log, "runtime error") == NULL,
		  "sanitizer report in the server log:\n%s", log);
	free(log);
}

/* Both tests start alike: ksk1 and zsk1 (P-256) serving, ksk2 (kind,
 * alg, its state file) made aside; delv anchored at DS1, unbound at both
 * DS (ds[0], ds[1]); the querier running; all checked. ksk1's tag. */
static unsigned rt_begin(const char *kind, const char *alg, const char *state,
			 char ds[2][256])
{
	const char *keys1[] = { "ksk1.pem", "zsk1.pem", NULL };
	const char *one[] = { ds[0], NULL }, *both[] = { ds[0], ds[1], NULL };
	unsigned tag;

	rt_setup();
	rt_key("ksk1.pem", "P-256", "role = ksk\n");
	rt_key("zsk1.pem", "P-256", "role = zsk\n");
	rt_key("ksk2.pem", kind, state);
	rt_ds_of("ksk1.pem", "ECDSAP256SHA256", ds[0], 256);
	rt_ds_of("ksk2.pem", alg, ds[1], 256);
	rt_config(keys1);
	rt_start();
	rt_anchor(one);
	rt_unbound(both);
	rt_querier_start();
	tag = rt_wait_state("ksk1.pem", "active");
	rt_wait_state("zsk1.pem", "active");
	rt_check(&tag, 1);
	return tag;
}

/* The key file name's state file: role, retire and remove now. */
static void rt_retire_now(const char *name, const char *role)
{
	char st[128];

	snprintf(st, sizeof(st), "role = %s\nretire = %lld\nremove = %lld\n", role,
		 (long long)time(NULL), (long long)time(NULL));
	rt_state(name, st);
}

/*
 * A ZSK rollover by pre-publication, then a KSK rollover by double
 * signature with both DS at the parent (RFC 6781 4.1.1.1 and 4.1.2).
 */
Test(rollover, zsk_then_ksk)
{
	const char *keys0[] = { "ksk1.pem", NULL };
	const char *keys2[] = { "ksk1.pem", "zsk1.pem", "zsk2.pem", NULL };
	const char *keys3[] = { "ksk1.pem", "zsk1.pem", "zsk2.pem", "ksk2.pem", NULL };
	char ds[2][256];
	unsigned tags[2];
	const char *both[] = { ds[0], ds[1], NULL }, *two[] = { ds[1], NULL };

	tags[0] = rt_begin("P-256", "ECDSAP256SHA256", "role = ksk\n", ds);
	/* Dropping a key that still signs is refused, whatever the file. */
	rt_config(keys0);
	cr_assert_eq(kill(rt.s.pid, SIGHUP), 0);
	cr_assert_eq(sys_server_wait_log(&rt.s, "SIGHUP: reload refused: key tag", 10000), 0);
	cr_assert_eq(sys_server_log_count(&rt.s, "SIGHUP: reloaded"), 0);
	rt_check(tags, 1);

	/* ZSK: the new one is published at once and signs only after the
	 * DNSKEY TTL; the old one, asked to go at once, signs until then
	 * and stays published while its signatures may be cached. */
	rt_key("zsk2.pem", "P-256", "role = zsk\n");
	rt_retire_now("zsk1.pem", "zsk");
	rt_config(keys2);
	rt_hup();
	rt_wait_state("zsk2.pem", "published");
	rt_wait_state("zsk1.pem", "active");
	rt_check(tags, 1);
	rt_wait_state("zsk2.pem", "active");
	rt_wait_state("zsk1.pem", "retired");
	rt_check(tags, 1);

	/* KSK: the new one signs the DNSKEY RRset at once beside the old;
	 * both in CDS. The parent then keeps only DS2 (delv's anchor), and
	 * the old KSK goes. */
	rt_config(keys3);
	rt_hup();
	tags[1] = rt_wait_state("ksk2.pem", "active");
	rt_ds_lines(2);
	rt_anchor(both);
	rt_check(tags, 2);
	rt_anchor(two);
	rt_retire_now("ksk1.pem", "ksk");
	rt_hup();
	rt_wait_state("ksk1.pem", "retired");
	rt_check(&tags[1], 1);
	rt_wait_state("ksk1.pem", "removed");
	rt_check(&tags[1], 1);
	rt_wait_state("zsk1.pem", "removed");
	rt_check(&tags[1], 1);
	rt_finish();
}

/*
 * An algorithm rollover, ECDSAP256SHA256 to ED25519 (RFC 6781 4.1.4),
 * with a KSK and a ZSK of each (kzonecheck, which infers the roles from
 * the flags, takes several 257 keys without a 256 for KSKs only): the
 * new pair, added with no times, signs first and is published only once
 * its signatures are in every cache; the parent swaps the DS; the old
 * pair leaves the DNSKEY RRset first and signs until that is out of
 * every cache.
 */
Test(rollover, algorithm)
{
	const char *keys2[] = { "ksk1.pem", "zsk1.pem", "ksk2.pem", "zsk2.pem", NULL };
	char ds[2][256];
	unsigned tags[2];
	const char *both[] = { ds[0], ds[1], NULL }, *two[] = { ds[1], NULL };

	tags[0] = rt_begin("ED25519", "ED25519", "role = ksk\nalgorithm = ED25519\n", ds);
	rt_key("zsk2.pem", "ED25519", "role = zsk\nalgorithm = ED25519\n");

	/* Signatures before the DNSKEY: ED25519 signs, unpublished. */
	rt_config(keys2);
	rt_hup();
	rt_wait_state("zsk2.pem", "presigning");
	rt_check(tags, 1);
	tags[1] = rt_wait_state("ksk2.pem", "active");
	rt_wait_state("zsk2.pem", "active");
	rt_check(tags, 2);
	rt_anchor(both);
	rt_check(tags, 2);

	/* The parent has only the new DS: the old pair goes, the DNSKEYs
	 * first, the signatures an Ipub later. */
	rt_anchor(two);
	rt_retire_now("ksk1.pem", "ksk");
	rt_retire_now("zsk1.pem", "zsk");
	rt_hup();
	rt_wait_state("zsk1.pem", "postsigning");
	rt_wait_state("ksk1.pem", "postsigning");
	rt_check(&tags[1], 1);
	rt_wait_state("zsk1.pem", "removed");
	rt_wait_state("ksk1.pem", "removed");
	rt_check(&tags[1], 1);
	rt_finish();
}
