/*
 * DNSSEC: keys made at test time with `openssl genpkey`, signatures
 * checked by verifiers that are not ours: ldns's verifier, and whole
 * signed zones by ldns-verify-zone (ldnsutils) and dnssec-verify
 * (bind9-utils); DS records compared with ldns-key2ds and
 * dnssec-dsfromkey. Needs the openssl, ldnsutils and bind9-utils
 * packages.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ahd.h"
#include "dnssec.h"

#define APEX "example.com."

struct tkey {
	const char *file;   /* name inside the temp dir */
	const char *genpkey; /* openssl genpkey arguments */
};

static const struct tkey key_rsa = {"rsa.pem", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"};
static const struct tkey key_rsa512 = {"rsa512.pem",
				       "-algorithm RSA -pkeyopt rsa_keygen_bits:512"};
static const struct tkey key_p256 = {"p256.pem",
				     "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"};
static const struct tkey key_p384 = {"p384.pem",
				     "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"};
static const struct tkey key_k256 = {"k256.pem",
				     "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1"};
static const struct tkey key_ed25519 = {"ed25519.pem", "-algorithm ED25519"};
static const struct tkey key_ed448 = {"ed448.pem", "-algorithm ED448"};

static char tdir[64];

static void tdir_make(void)
{
	strcpy(tdir, "/tmp/ahd-dnssec-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
}

static void tdir_remove(void)
{
	char cmd[128];

	if (tdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	(void)!system(cmd);
}

TestSuite(dnssec, .init = tdir_make, .fini = tdir_remove);

static void tpath(char *buf, size_t size, const char *file)
{
	snprintf(buf, size, "%s/%s", tdir, file);
}

static bool run_quiet; /* a failure is expected: do not show it */

/* Exit status of a shell command; its output goes to tdir/cmd.log and is
 * shown when the command fails. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024], full[1200], log[128], line[512];
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	tpath(log, sizeof(log), "cmd.log");
	snprintf(full, sizeof(full), "(%s) >'%s' 2>&1", cmd, log);
	st = system(full);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (st != 0 && !run_quiet && (f = fopen(log, "r")) != NULL) {
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
		while (fgets(line, sizeof(line), f) != NULL)
			fprintf(stderr, "  | %s", line);
		fclose(f);
	}
	return st;
}

static void genkey(const struct tkey *k, char *path, size_t size)
{
	tpath(path, size, k->file);
	cr_assert_eq(run("openssl genpkey %s -out '%s'", k->genpkey, path), 0,
		     "openssl genpkey %s failed", k->genpkey);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/* stderr into tdir/stderr.txt between capture_start and capture_end,
 * which returns what was written. */
static int capture_saved = -1;

static void capture_start(void)
{
	char log[128];
	int fd;

	tpath(log, sizeof(log), "stderr.txt");
	fflush(stderr);
	capture_saved = dup(STDERR_FILENO);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(capture_saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *capture_end(void)
{
	char log[128];

	tpath(log, sizeof(log), "stderr.txt");
	fflush(stderr);
	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	return slurp(log, NULL);
}

/* Load with stderr captured: returns the key, *msg what was printed. */
static struct dnssec_key *load_capture(const char *path, enum config_alg alg, char **msg)
{
	struct dnssec_key *k;

	capture_start();
	k = dnssec_key_load(path, alg);
	*msg = capture_end();
	return k;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

static ldns_rr *rr(const char *text)
{
	ldns_rr *r = NULL;

	cr_assert_eq(ldns_rr_new_frm_str(&r, text, 3600, NULL, NULL), LDNS_STATUS_OK,
		     "cannot parse %s", text);
	return r;
}

static ldns_rdf *dname(const char *text)
{
	ldns_rdf *d = ldns_dname_new_frm_str(text);

	cr_assert_not_null(d);
	return d;
}

static ldns_rr_list *rrset(const char *const *texts, size_t n)
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; i < n; i++)
		ldns_rr_list_push_rr(l, rr(texts[i]));
	return l;
}

static void assert_rdf_dname(const ldns_rdf *d, const char *want)
{
	char *s = ldns_rdf2str(d);

	cr_assert_str_eq(s, want);
	free(s);
}

/* Verify sig over set against dnskey with ldns's verifier. */
static ldns_status verify(const ldns_rr_list *set, ldns_rr *sig, const ldns_rr *dnskey)
{
	ldns_rr_list *keys = ldns_rr_list_new();
	ldns_rr_list *good = ldns_rr_list_new();
	ldns_status s;

	ldns_rr_list_push_rr(keys, ldns_rr_clone(dnskey));
	s = ldns_verify_rrsig_keylist((ldns_rr_list *)set, sig, keys, good);
	ldns_rr_list_free(good);
	ldns_rr_list_deep_free(keys);
	return s;
}

static size_t sig_len(enum config_alg alg)
{
	switch (alg) {
	case CONFIG_ALG_RSASHA256:
	case CONFIG_ALG_RSASHA512:
		return 256; /* 2048-bit modulus, RFC 3110 */
	case CONFIG_ALG_ECDSAP256SHA256:
		return 64; /* r || s, 32 bytes each, RFC 6605 */
	case CONFIG_ALG_ECDSAP384SHA384:
		return 96;
	case CONFIG_ALG_ED25519:
		return 64; /* RFC 8080 */
	case CONFIG_ALG_ED448:
		return 114;
	}
	return 0;
}

static void print_zone_rr(FILE *f, const ldns_rr *r)
{
	ldns_rr_print(f, r);
}

/*
 * A small signed zone: apex SOA, NS, DNSKEY, A at mail and www, AAAA at
 * api.v1 (so v1 is an empty non-terminal, which gets no NSEC), the NSEC
 * chain, an RRSIG over every RRset. With tamper, one A RR is changed
 * after signing. Returns the zone file's path in buf.
 */
static void write_zone(struct dnssec_key *k, bool tamper, char *buf, size_t size)
{
	static const char *const soa[] = {
		APEX " 3600 IN SOA ns1.example.net. hostmaster.example.com. 7 600 60 300 60"};
	static const char *const ns[] = {APEX " 3600 IN NS ns1.example.net.",
					 APEX " 3600 IN NS ns2.example.net."};
	static const char *const mail[] = {"mail.example.com. 60 IN A 192.0.2.25"};
	static const char *const api[] = {"api.v1.example.com. 60 IN AAAA 2001:db8::1"};
	static const char *const www[] = {"www.example.com. 60 IN A 192.0.2.1",
					  "www.example.com. 60 IN A 192.0.2.2"};
	/* The NSEC chain in canonical order, RFC 4034 section 6.1, worked out
	 * by hand; TTL min(SOA TTL, MINIMUM) (RFC 4035 section 2.3). */
	static const char *const chain[] = {
		APEX " 60 IN NSEC mail.example.com. NS SOA RRSIG NSEC DNSKEY",
		"mail.example.com. 60 IN NSEC api.v1.example.com. A RRSIG NSEC",
		"api.v1.example.com. 60 IN NSEC www.example.com. AAAA RRSIG NSEC",
		"www.example.com. 60 IN NSEC " APEX " A RRSIG NSEC",
	};
	ldns_rdf *apex = dname(APEX);
	ldns_rr_list *sets[8];
	size_t n_sets = 0;
	uint32_t inc, exp;
	FILE *f;

	dnssec_sig_window(time(NULL), 86400, &inc, &exp);
	sets[n_sets++] = rrset(soa, 1);
	sets[n_sets++] = rrset(ns, 2);
	sets[n_sets] = ldns_rr_list_new();
	ldns_rr_list_push_rr(sets[n_sets++], dnssec_dnskey(k, apex, 600));
	sets[n_sets++] = rrset(mail, 1);
	sets[n_sets++] = rrset(api, 1);
	sets[n_sets++] = rrset(www, 2);

	snprintf(buf, size, "%s/zone%s.db", tdir, tamper ? "-bad" : "");
	f = fopen(buf, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n_sets; i++) {
		ldns_rr *sig = dnssec_sign_rrset(k, sets[i], apex, inc, exp);

		cr_assert_not_null(sig, "RRset %zu not signed", i);
		if (tamper && i == n_sets - 1)
			ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(sets[i], 0),
							   ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A,
										"192.0.2.99"),
							   0));
		for (size_t j = 0; j < ldns_rr_list_rr_count(sets[i]); j++)
			print_zone_rr(f, ldns_rr_list_rr(sets[i], j));
		print_zone_rr(f, sig);
		ldns_rr_free(sig);
		ldns_rr_list_deep_free(sets[i]);
	}
	for (size_t i = 0; i < AHD_ARRAY_LEN(chain); i++) {
		ldns_rr_list *one = rrset(&chain[i], 1);
		ldns_rr *sig = dnssec_sign_rrset(k, one, apex, inc, exp);

		cr_assert_not_null(sig, "NSEC %zu not signed", i);
		print_zone_rr(f, ldns_rr_list_rr(one, 0));
		print_zone_rr(f, sig);
		ldns_rr_free(sig);
		ldns_rr_list_deep_free(one);
	}
	fclose(f);
	ldns_rdf_deep_free(apex);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Sign the same RRset n times (AHD_DNSSEC_BENCH_N, default 200): print
 * the median cost (information only, never asserted), and verify every
 * signature, so a short ECDSA r or s that was not padded (1 in 256 per
 * signature) cannot slip by.
 */
static void bench(struct dnssec_key *k, enum config_alg alg, const ldns_rr_list *set,
		  const ldns_rdf *apex, const ldns_rr *dnskey, uint32_t inc, uint32_t exp)
{
	const char *env = getenv("AHD_DNSSEC_BENCH_N");
	size_t n = env != NULL && atoi(env) > 0 ? (size_t)atoi(env) : 200;
	uint64_t *t = calloc(n, sizeof(*t));

	cr_assert_not_null(t);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		ldns_rr *sig = dnssec_sign_rrset(k, set, apex, inc, exp);

		t[i] = now_ns() - t0;
		cr_assert_not_null(sig);
		cr_assert_eq(ldns_rdf_size(ldns_rr_rrsig_sig(sig)), sig_len(alg));
		cr_assert_eq(verify(set, sig, dnskey), LDNS_STATUS_OK, "signature %zu", i);
		ldns_rr_free(sig);
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	fprintf(stderr, "dnssec bench: %-16s median %7.1f us per RRset signature (%zu signatures)\n",
		config_alg_name(alg), (double)t[n / 2] / 1000.0, n);
	free(t);
}

/* Compare our DS line with what ldns-key2ds and dnssec-dsfromkey make of
 * our DNSKEY. */
static void check_ds(struct dnssec_key *k, const ldns_rr *dnskey)
{
	char ds[1024], path[128], out[128], cmd[512];
	ldns_rr *mine, *theirs;
	char *text;

	cr_assert_eq(dnssec_ds_text(k, "example.com", 600, ds, sizeof(ds)), 0);
	cr_assert_eq(strchr(ds, '\n'), NULL);
	mine = rr(ds);
	cr_assert_eq(ldns_rr_get_type(mine), LDNS_RR_TYPE_DS);
	cr_assert_eq(ldns_rr_ttl(mine), 600);
	assert_rdf_dname(ldns_rr_owner(mine), APEX);
	cr_assert_eq(ldns_rdf2native_int16(ldns_rr_rdf(mine, 0)), dnssec_key_tag(k));
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_rdf(mine, 1)), dnssec_key_alg(k));
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_rdf(mine, 2)), 2);
	cr_assert_eq(ldns_rdf_size(ldns_rr_rdf(mine, 3)), 32);

	tpath(path, sizeof(path), "dnskey.txt");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	ldns_rr_print(f, dnskey);
	fclose(f);

	for (size_t i = 0; i < 2; i++) {
		tpath(out, sizeof(out), "ds.txt");
		if (i == 0)
			snprintf(cmd, sizeof(cmd), "ldns-key2ds -n -2 '%s'", path);
		else
			snprintf(cmd, sizeof(cmd), "dnssec-dsfromkey -2 -f '%s' example.com", path);
		cr_assert_eq(run("%s > '%s'", cmd, out), 0);
		text = slurp(out, NULL);
		*strchrnul(text, '\n') = '\0';
		theirs = rr(text);
		cr_assert_eq(ldns_rr_get_type(theirs), LDNS_RR_TYPE_DS, "%s", text);
		for (size_t j = 0; j < 4; j++)
			cr_assert_eq(ldns_rdf_compare(ldns_rr_rdf(mine, j), ldns_rr_rdf(theirs, j)), 0,
				     "DS field %zu differs: ours '%s', %s says '%s'", j, ds, cmd,
				     text);
		ldns_rr_free(theirs);
		free(text);
	}
	ldns_rr_free(mine);
}

static void check_alg(enum config_alg alg, const struct tkey *tk)
{
	static const char *const a_set[] = {"WWW.Example.COM. 60 IN A 192.0.2.2",
					    "www.example.com. 60 IN A 192.0.2.1"};
	static const char *const a_bad[] = {"www.example.com. 60 IN A 192.0.2.1",
					    "www.example.com. 60 IN A 192.0.2.3"};
	char path[128], zone[128];
	struct dnssec_key *k;
	ldns_rdf *apex;
	ldns_rr_list *set, *bad, *nset;
	ldns_rr *dnskey, *sig, *nsec, *nsig;
	uint32_t inc, exp;
	time_t now = time(NULL);

	genkey(tk, path, sizeof(path));
	k = dnssec_key_load(path, alg);
	cr_assert_not_null(k, "%s key not loaded", config_alg_name(alg));
	cr_assert_eq(dnssec_key_alg(k), alg);

	apex = dname(APEX);
	dnskey = dnssec_dnskey(k, apex, 600);
	cr_assert_not_null(dnskey);
	assert_rdf_dname(ldns_rr_owner(dnskey), APEX);
	cr_assert_eq(ldns_rr_get_type(dnskey), LDNS_RR_TYPE_DNSKEY);
	cr_assert_eq(ldns_rr_ttl(dnskey), 600);
	cr_assert_eq(ldns_rdf2native_int16(ldns_rr_dnskey_flags(dnskey)), 257);
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_dnskey_protocol(dnskey)), 3);
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_dnskey_algorithm(dnskey)), alg);
	cr_assert_eq(ldns_calc_keytag(dnskey), dnssec_key_tag(k));

	/* An A RRset, owner in mixed case. */
	dnssec_sig_window(now, 86400, &inc, &exp);
	set = rrset(a_set, 2);
	sig = dnssec_sign_rrset(k, set, apex, inc, exp);
	cr_assert_not_null(sig);
	assert_rdf_dname(ldns_rr_owner(sig), "www.example.com.");
	cr_assert_eq(ldns_rr_ttl(sig), 60);
	cr_assert_eq(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)), LDNS_RR_TYPE_A);
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_rrsig_algorithm(sig)), alg);
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)), 3);
	cr_assert_eq(ldns_rdf2native_int32(ldns_rr_rrsig_origttl(sig)), 60);
	cr_assert_eq(ldns_rdf2native_int32(ldns_rr_rrsig_inception(sig)), (uint32_t)now - 3600);
	cr_assert_eq(ldns_rdf2native_int32(ldns_rr_rrsig_expiration(sig)), (uint32_t)now + 86400);
	cr_assert_eq(ldns_rdf2native_int16(ldns_rr_rrsig_keytag(sig)), dnssec_key_tag(k));
	assert_rdf_dname(ldns_rr_rrsig_signame(sig), APEX);
	cr_assert_eq(ldns_rdf_size(ldns_rr_rrsig_sig(sig)), sig_len(alg));
	cr_assert_eq(verify(set, sig, dnskey), LDNS_STATUS_OK);
	/* The verifier does check: another RRset fails with this RRSIG. */
	bad = rrset(a_bad, 2);
	cr_assert_neq(verify(bad, sig, dnskey), LDNS_STATUS_OK);

	/* An NSEC RRset. */
	nsec = rr("www.example.com. 60 IN NSEC example.com. A RRSIG NSEC");
	nset = ldns_rr_list_new();
	ldns_rr_list_push_rr(nset, nsec);
	nsig = dnssec_sign_rrset(k, nset, apex, inc, exp);
	cr_assert_not_null(nsig);
	cr_assert_eq(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(nsig)), LDNS_RR_TYPE_NSEC);
	cr_assert_eq(verify(nset, nsig, dnskey), LDNS_STATUS_OK);

	/* A whole signed zone, judged by two independent validators. */
	write_zone(k, false, zone, sizeof(zone));
	cr_assert_eq(run("ldns-verify-zone '%s'", zone), 0, "ldns-verify-zone refused %s",
		     config_alg_name(alg));
	/* -z: one combined key (flags 257) signs everything; without it
	 * dnssec-verify wants a separate ZSK. */
	cr_assert_eq(run("dnssec-verify -z -o example.com '%s'", zone), 0,
		     "dnssec-verify refused %s", config_alg_name(alg));

	check_ds(k, dnskey);
	bench(k, alg, set, apex, dnskey, inc, exp);

	ldns_rr_free(nsig);
	ldns_rr_list_deep_free(nset);
	ldns_rr_free(sig);
	ldns_rr_list_deep_free(bad);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(dnskey);
	ldns_rdf_deep_free(apex);
	dnssec_key_free(k);
}

Test(dnssec, rsasha256) { check_alg(CONFIG_ALG_RSASHA256, &key_rsa); }
Test(dnssec, rsasha512) { check_alg(CONFIG_ALG_RSASHA512, &key_rsa); }
Test(dnssec, ecdsap256sha256) { check_alg(CONFIG_ALG_ECDSAP256SHA256, &key_p256); }
Test(dnssec, ecdsap384sha384) { check_alg(CONFIG_ALG_ECDSAP384SHA384, &key_p384); }
Test(dnssec, ed25519) { check_alg(CONFIG_ALG_ED25519, &key_ed25519); }
Test(dnssec, ed448) { check_alg(CONFIG_ALG_ED448, &key_ed448); }

/* The validators are not rubber stamps: a record changed after signing
 * makes both refuse the zone. */
Test(dnssec, tampered_zone_is_refused)
{
	char path[128], zone[128], log[128];
	struct dnssec_key *k;
	char *out;

	genkey(&key_p256, path, sizeof(path));
	k = dnssec_key_load(path, CONFIG_ALG_ECDSAP256SHA256);
	cr_assert_not_null(k);
	write_zone(k, true, zone, sizeof(zone));
	tpath(log, sizeof(log), "cmd.log");
	run_quiet = true;
	cr_assert_neq(run("ldns-verify-zone '%s'", zone), 0);
	out = slurp(log, NULL);
	cr_assert_not_null(strstr(out, "Bogus DNSSEC signature for www.example.com."), "%s", out);
	free(out);
	cr_assert_neq(run("dnssec-verify -z -o example.com '%s'", zone), 0);
	out = slurp(log, NULL);
	cr_assert_not_null(strstr(out, "No correct ECDSAP256SHA256 signature for www.example.com A"),
			   "%s", out);
	free(out);
	dnssec_key_free(k);
}

/* Each refusal: NULL, exactly one line, naming the flag, the value and
 * the rule. */
static void check_refused(const char *path, enum config_alg alg, const char *const *words,
			  size_t n_words)
{
	struct dnssec_key *k;
	char *msg;

	k = load_capture(path, alg, &msg);
	cr_assert_null(k, "%s accepted for %s", path, config_alg_name(alg));
	cr_assert_eq(count_char(msg, '\n'), 1, "not one line: %s", msg);
	cr_assert_eq(msg[strlen(msg) - 1], '\n');
	cr_assert_not_null(strstr(msg, "--priv-key-path"), "%s", msg);
	cr_assert_not_null(strstr(msg, path), "%s", msg);
	for (size_t i = 0; i < n_words; i++)
		cr_assert_not_null(strstr(msg, words[i]), "'%s' not in: %s", words[i], msg);
	free(msg);
}

#define REFUSED(path, alg, ...)                                                               \
	do {                                                                                  \
		const char *const w_[] = {__VA_ARGS__};                                        \
		check_refused(path, alg, w_, AHD_ARRAY_LEN(w_));                               \
	} while (0)

Test(dnssec, refuses_ec_key_for_rsa)
{
	char path[128];

	genkey(&key_p256, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_RSASHA256, "EC P-256", "--priv-key-alg RSASHA256", "RSA key");
	REFUSED(path, CONFIG_ALG_ECDSAP384SHA384, "EC P-256", "--priv-key-alg ECDSAP384SHA384",
		"P-384");
	REFUSED(path, CONFIG_ALG_ED25519, "EC P-256", "--priv-key-alg ED25519");
}

Test(dnssec, refuses_p384_for_p256)
{
	char path[128];

	genkey(&key_p384, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_ECDSAP256SHA256, "EC P-384", "--priv-key-alg ECDSAP256SHA256",
		"needs an EC P-256 key");
}

Test(dnssec, refuses_other_curve)
{
	char path[128];

	genkey(&key_k256, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_ECDSAP256SHA256, "secp256k1", "--priv-key-alg ECDSAP256SHA256");
}

Test(dnssec, refuses_ed448_for_ed25519)
{
	char path[128];

	genkey(&key_ed448, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_ED25519, "ED448 key", "--priv-key-alg ED25519",
		"needs an ED25519 key");
	genkey(&key_ed25519, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_ED448, "ED25519 key", "--priv-key-alg ED448");
}

Test(dnssec, refuses_rsa_for_ecdsa)
{
	char path[128];

	genkey(&key_rsa, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_ECDSAP256SHA256, "2048-bit RSA key",
		"--priv-key-alg ECDSAP256SHA256");
}

Test(dnssec, refuses_weak_rsa)
{
	char path[128];

	genkey(&key_rsa512, path, sizeof(path));
	REFUSED(path, CONFIG_ALG_RSASHA256, "512-bit RSA key", "too weak",
		"--priv-key-alg RSASHA256", "1024");
	REFUSED(path, CONFIG_ALG_RSASHA512, "too weak", "--priv-key-alg RSASHA512");
}

Test(dnssec, refuses_garbage_missing_and_public)
{
	char path[128], pub[128], key[128];
	FILE *f;

	tpath(path, sizeof(path), "garbage.pem");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("this is not a key\n-----BEGIN NOTHING-----\nAAAA\n", f);
	fclose(f);
	REFUSED(path, CONFIG_ALG_RSASHA256, "not a PEM private key");

	tpath(path, sizeof(path), "empty.pem");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	REFUSED(path, CONFIG_ALG_ED25519, "not a PEM private key");

	tpath(path, sizeof(path), "huge.pem");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 70000; i++)
		fputc('A', f);
	fclose(f);
	REFUSED(path, CONFIG_ALG_RSASHA256, "70000 bytes", "too large");

	tpath(path, sizeof(path), "missing.pem");
	REFUSED(path, CONFIG_ALG_RSASHA256, "cannot be read", "No such file");

	REFUSED(tdir, CONFIG_ALG_RSASHA256, "not a regular file");

	genkey(&key_p256, key, sizeof(key));
	tpath(pub, sizeof(pub), "pub.pem");
	cr_assert_eq(run("openssl pkey -in '%s' -pubout -out '%s'", key, pub), 0);
	REFUSED(pub, CONFIG_ALG_ECDSAP256SHA256, "public key");
}

/* A passphrase-protected key is refused without prompting on a
 * terminal (the test would hang if it did). */
Test(dnssec, refuses_encrypted_key, .timeout = 30)
{
	char path[128];

	tpath(path, sizeof(path), "enc.pem");
	cr_assert_eq(run("openssl genpkey -algorithm ED25519 -aes-256-cbc -pass pass:secret "
			 "-out '%s'",
			 path),
		     0);
	REFUSED(path, CONFIG_ALG_ED25519, "passphrase");
}

static void check_same_dnskey(const char *a, const char *b, enum config_alg alg)
{
	struct dnssec_key *ka = dnssec_key_load(a, alg), *kb = dnssec_key_load(b, alg);
	ldns_rdf *apex = dname(APEX);
	ldns_rr *ra, *rb;

	cr_assert_not_null(ka);
	cr_assert_not_null(kb, "%s not loaded", b);
	ra = dnssec_dnskey(ka, apex, 60);
	rb = dnssec_dnskey(kb, apex, 60);
	cr_assert_eq(ldns_rr_compare(ra, rb), 0);
	cr_assert_eq(dnssec_key_tag(ka), dnssec_key_tag(kb));
	ldns_rr_free(ra);
	ldns_rr_free(rb);
	ldns_rdf_deep_free(apex);
	dnssec_key_free(ka);
	dnssec_key_free(kb);
}

Test(dnssec, loads_traditional_pem)
{
	char rsa[128], rsa_t[128], ec[128], ec_t[128];
	char *text;

	genkey(&key_rsa, rsa, sizeof(rsa));
	genkey(&key_p384, ec, sizeof(ec));
	tpath(rsa_t, sizeof(rsa_t), "rsa-trad.pem");
	tpath(ec_t, sizeof(ec_t), "ec-trad.pem");
	cr_assert_eq(run("openssl pkey -in '%s' -traditional -out '%s'", rsa, rsa_t), 0);
	cr_assert_eq(run("openssl pkey -in '%s' -traditional -out '%s'", ec, ec_t), 0);
	text = slurp(rsa_t, NULL);
	cr_assert_not_null(strstr(text, "-----BEGIN RSA PRIVATE KEY-----"));
	free(text);
	text = slurp(ec_t, NULL);
	cr_assert_not_null(strstr(text, "-----BEGIN EC PRIVATE KEY-----"));
	free(text);
	check_same_dnskey(rsa, rsa_t, CONFIG_ALG_RSASHA256);
	check_same_dnskey(ec, ec_t, CONFIG_ALG_ECDSAP384SHA384);
}

Test(dnssec, loads_from_memory)
{
	char path[128];
	struct dnssec_key *kf, *km;
	ldns_rdf *apex = dname(APEX);
	ldns_rr *rf, *rm;
	size_t len;
	char *pem, *msg;

	genkey(&key_ed448, path, sizeof(path));
	cr_assert_eq(dnssec_key_read_pem(path, &pem, &len), 0);
	cr_assert_gt(len, 0);
	cr_assert_eq(pem[len], '\0');
	kf = dnssec_key_load(path, CONFIG_ALG_ED448);
	km = dnssec_key_load_mem(pem, len, path, CONFIG_ALG_ED448);
	cr_assert_not_null(kf);
	cr_assert_not_null(km);
	rf = dnssec_dnskey(kf, apex, 60);
	rm = dnssec_dnskey(km, apex, 60);
	cr_assert_eq(ldns_rr_compare(rf, rm), 0);
	/* 57 bytes of public key (RFC 8080 section 3). */
	cr_assert_eq(ldns_rdf_size(ldns_rr_dnskey_key(rm)), 57);
	ldns_rr_free(rf);
	ldns_rr_free(rm);
	dnssec_key_free(kf);
	dnssec_key_free(km);
	/* Refusals from memory name the key as the caller says. */
	capture_start();
	cr_assert_null(dnssec_key_load_mem(pem, len, "from-memory", CONFIG_ALG_ED25519));
	cr_assert_null(dnssec_key_load_mem("junk", 4, "from-memory", CONFIG_ALG_ED448));
	msg = capture_end();
	cr_assert_str_eq(msg, "a-healthy-dns: --priv-key-path: 'from-memory' holds an ED448 key, "
			      "which does not match --priv-key-alg ED25519 (it needs an ED25519 "
			      "key)\n"
			      "a-healthy-dns: --priv-key-path: 'from-memory' is not a PEM private "
			      "key (expected a -----BEGIN PRIVATE KEY----- block, or a traditional "
			      "RSA or EC PRIVATE KEY block)\n");
	free(msg);
	dnssec_pem_free(pem, len + 1);
	ldns_rdf_deep_free(apex);
}

Test(dnssec, sign_rules)
{
	static const char *const wild[] = {"*.Wild.example.com. 60 IN A 192.0.2.7"};
	static const char *const mixed[] = {"a.example.com. 60 IN A 192.0.2.1",
					    "a.example.com. 60 IN AAAA 2001:db8::1"};
	static const char *const owners[] = {"a.example.com. 60 IN A 192.0.2.1",
					     "b.example.com. 60 IN A 192.0.2.1"};
	static const char *const outside[] = {"www.example.org. 60 IN A 192.0.2.1"};
	static const char *const ttls[] = {"t.example.com. 60 IN A 192.0.2.1",
					   "t.example.com. 30 IN A 192.0.2.2"};
	char path[128];
	struct dnssec_key *k;
	ldns_rdf *apex = dname(APEX);
	ldns_rr_list *set, *empty;
	ldns_rr *dnskey, *sig;
	uint32_t inc, exp;

	genkey(&key_p256, path, sizeof(path));
	k = dnssec_key_load(path, CONFIG_ALG_ECDSAP256SHA256);
	cr_assert_not_null(k);
	dnskey = dnssec_dnskey(k, apex, 60);
	dnssec_sig_window(time(NULL), 3600, &inc, &exp);

	/* Wildcard: the labels field leaves out "*" (RFC 4035 section 2.2). */
	set = rrset(wild, 1);
	sig = dnssec_sign_rrset(k, set, apex, inc, exp);
	cr_assert_not_null(sig);
	assert_rdf_dname(ldns_rr_owner(sig), "*.wild.example.com.");
	cr_assert_eq(ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)), 3);
	cr_assert_eq(verify(set, sig, dnskey), LDNS_STATUS_OK);
	ldns_rr_free(sig);
	ldns_rr_list_deep_free(set);

	/* One TTL per RRset: the first RR's (RFC 2181 section 5.2). */
	set = rrset(ttls, 2);
	sig = dnssec_sign_rrset(k, set, apex, inc, exp);
	cr_assert_not_null(sig);
	cr_assert_eq(ldns_rdf2native_int32(ldns_rr_rrsig_origttl(sig)), 60);
	ldns_rr_free(sig);
	ldns_rr_list_deep_free(set);

	/* Not one RRset, or not in the zone: refused. */
	set = rrset(mixed, 2);
	cr_assert_null(dnssec_sign_rrset(k, set, apex, inc, exp));
	ldns_rr_list_deep_free(set);
	set = rrset(owners, 2);
	cr_assert_null(dnssec_sign_rrset(k, set, apex, inc, exp));
	ldns_rr_list_deep_free(set);
	set = rrset(outside, 1);
	cr_assert_null(dnssec_sign_rrset(k, set, apex, inc, exp));
	ldns_rr_list_deep_free(set);
	empty = ldns_rr_list_new();
	cr_assert_null(dnssec_sign_rrset(k, empty, apex, inc, exp));
	cr_assert_null(dnssec_sign_rrset(k, NULL, apex, inc, exp));
	ldns_rr_list_free(empty);

	ldns_rr_free(dnskey);
	ldns_rdf_deep_free(apex);
	dnssec_key_free(k);
}

/* One apex-independent key signs an alias zone under its own name. */
Test(dnssec, signs_for_alias_apex)
{
	static const char *const a[] = {"www.example.net. 60 IN A 192.0.2.1"};
	char path[128];
	struct dnssec_key *k;
	ldns_rdf *alias = dname("example.net.");
	ldns_rr_list *set;
	ldns_rr *dnskey, *sig;
	uint32_t inc, exp;

	genkey(&key_ed25519, path, sizeof(path));
	k = dnssec_key_load(path, CONFIG_ALG_ED25519);
	cr_assert_not_null(k);
	dnskey = dnssec_dnskey(k, alias, 60);
	assert_rdf_dname(ldns_rr_owner(dnskey), "example.net.");
	dnssec_sig_window(time(NULL), 3600, &inc, &exp);
	set = rrset(a, 1);
	sig = dnssec_sign_rrset(k, set, alias, inc, exp);
	cr_assert_not_null(sig);
	assert_rdf_dname(ldns_rr_rrsig_signame(sig), "example.net.");
	cr_assert_eq(verify(set, sig, dnskey), LDNS_STATUS_OK);
	ldns_rr_free(sig);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(dnskey);
	ldns_rdf_deep_free(alias);
	dnssec_key_free(k);
}

Test(dnssec, timers)
{
	uint32_t inc, exp;

	dnssec_sig_window(1700000000, 7500, &inc, &exp);
	cr_assert_eq(inc, 1699996400u);
	cr_assert_eq(exp, 1700007500u);
	/* Past 2106 the 32-bit fields wrap (serial arithmetic). */
	dnssec_sig_window((time_t)4294967296LL + 100, 7500, &inc, &exp);
	cr_assert_eq(inc, (uint32_t)(100 - 3600));
	cr_assert_eq(exp, 7600u);
}
