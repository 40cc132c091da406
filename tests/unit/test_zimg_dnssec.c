/*
 * Signed zone images: every algorithm's image, dumped to master-file
 * text, must pass ldns-verify-zone and dnssec-verify (keys made at test
 * time with `openssl genpkey`); one health change re-signs only the
 * RRsets that changed; the layout the DO-bit answers will read.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "ahd.h"
#include "config.h"
#include "dnssec.h"
#include "prober.h"
#include "wire.h"
#include "zimg.h"
#include "zimg_format.h"
#include "zsign.h"

/* The active slot's bytes (zimg_format.h layout). */
static uint8_t *active_slot(const struct zimg *z)
{
	size_t size;
	uint8_t *raw = zimg_raw(z, &size);
	struct zimg_header *h = (struct zimg_header *)raw;

	return raw + h->slot_off[atomic_load(&h->lock.active) & 1u];
}

static uint32_t load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * example.com + alias example.net:
 *   www        static 192.0.2.1
 *   api        checked 192.0.2.10, 192.0.2.11       (addresses 1, 2)
 *   deep.b.c   static 192.0.2.30 (b.c and c are empty non-terminals)
 *   v6         checked 192.0.2.40, 2001:db8::40    (addresses 4, 5)
 *   gone       checked 192.0.2.50                  (address 6)
 * (addresses 0 and 3 are static: always published)
 */
static struct config cfg;
static struct config_entry entries[5];
static struct config_addr addrs[5][2];
static char *ns[] = {"ns1.example.com", "ns2.example.com"};
static char *aliases[] = {"example.net"};
static char tdir[64];

static void addr(struct config_addr *a, const char *text)
{
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(a->family, text, a->addr), 1);
}

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(entries, 0, sizeof(entries));
	memset(addrs, 0, sizeof(addrs));
	cfg.hosted_zone = "example.com";
	cfg.alias_zones = aliases;
	cfg.n_alias_zones = 1;
	cfg.ns = ns;
	cfg.n_ns = 2;
	cfg.test_min_interval = 30;
	cfg.test_timeout = 2;
	cfg.entries = entries;
	cfg.n_entries = 5;
	cfg.n_addrs_total = 7;
	cfg.priv_key_path = "unused";
	cfg.priv_key_alg = CONFIG_ALG_ECDSAP256SHA256;
	entries[0] = (struct config_entry){.name = "www", .addrs = addrs[0], .n_addrs = 1,
					   .first_addr = 0, .ttl = -1, .rise = 1, .fall = 1};
	entries[1] = (struct config_entry){.name = "api", .addrs = addrs[1], .n_addrs = 2,
					   .first_addr = 1, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	entries[2] = (struct config_entry){.name = "deep.b.c", .addrs = addrs[2], .n_addrs = 1,
					   .first_addr = 3, .ttl = -1, .rise = 1, .fall = 1};
	entries[3] = (struct config_entry){.name = "v6", .addrs = addrs[3], .n_addrs = 2,
					   .first_addr = 4, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	entries[4] = (struct config_entry){.name = "gone", .addrs = addrs[4], .n_addrs = 1,
					   .first_addr = 6, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	addr(&addrs[0][0], "192.0.2.1");
	addr(&addrs[1][0], "192.0.2.10");
	addr(&addrs[1][1], "192.0.2.11");
	addr(&addrs[2][0], "192.0.2.30");
	addr(&addrs[3][0], "192.0.2.40");
	addr(&addrs[3][1], "2001:db8::40");
	addr(&addrs[4][0], "192.0.2.50");
	strcpy(tdir, "/tmp/ahd-zimg-dnssec-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	(void)!system(cmd);
}

TestSuite(zimg_dnssec, .init = setup, .fini = teardown, .timeout = 120);

/* Exit status of a shell command; its output is shown when it fails. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024], full[1200], line[512];
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "(%s) >'%s/cmd.log' 2>&1", cmd, tdir);
	st = system(full);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	snprintf(full, sizeof(full), "%s/cmd.log", tdir);
	if (st != 0 && (f = fopen(full, "r")) != NULL) {
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
		while (fgets(line, sizeof(line), f) != NULL)
			fprintf(stderr, "  | %s", line);
		fclose(f);
	}
	return st;
}

static struct dnssec_key *genkey(const char *genpkey, enum config_alg alg, char *path,
				 size_t size)
{
	struct dnssec_key *k;

	snprintf(path, size, "%s/key.pem", tdir);
	cr_assert_eq(run("openssl genpkey %s -out '%s'", genpkey, path), 0);
	k = dnssec_key_load(path, alg);
	cr_assert_not_null(k);
	return k;
}

/* Dump zone i of z to tdir/<file>; returns the number of lines. */
static int dump(const struct zimg *z, size_t zone, const char *file, char *path, size_t size)
{
	FILE *f;
	char line[4096];
	int n = 0;

	snprintf(path, size, "%s/%s", tdir, file);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(admin_dump_zone(z, zone, f), 0);
	fclose(f);
	f = fopen(path, "r");
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

/* Lines of file matching a grep -E pattern. */
static int count(const char *path, const char *pattern)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "grep -cE '%s' '%s'", pattern, path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static bool pub_all[7] = {true, true, true, true, true, true, true};

static void check_alg(const char *genpkey, enum config_alg alg, int sig_b64_min)
{
	char key[128], f0[128], f1[128];
	struct dnssec_key *k;
	struct zimg_signer *s;
	struct zimg_signer_stats st;
	struct zimg *z;
	/* api: one of two; v6: both; gone: down */
	bool pub[7] = {false, true, false, false, true, true, false};

	cfg.priv_key_alg = alg;
	k = genkey(genpkey, alg, key, sizeof(key));
	s = zimg_signer_new(k);
	cr_assert_not_null(s);
	z = zimg_new_mem(&cfg);
	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_signed(z, &cfg, pub, s, time(NULL), NULL), 0);
	/*
	 * Per zone, RRsets: apex NS SOA NSEC DNSKEY; www A NSEC; api A NSEC;
	 * deep.b.c A NSEC; v6 A AAAA NSEC; "gone" and "b.c", "c" have none.
	 * 4 + 2 + 2 + 2 + 3 = 13, two zones.
	 */
	zimg_signer_stats(s, &st);
	cr_assert_eq(st.sigs_made, 26);
	cr_assert_eq(st.sigs_reused, 0);

	dump(z, 0, "com.zone", f0, sizeof(f0));
	dump(z, 1, "net.zone", f1, sizeof(f1));
	cr_assert_eq(count(f0, "^; zone example\\.com serial"), 1);
	cr_assert_eq(count(f0, "\tRRSIG\t"), 13);
	cr_assert_eq(count(f0, "\tNSEC\t"), 5);
	cr_assert_eq(count(f0, "\tDNSKEY\t257 3 "), 1);
	cr_assert_eq(count(f1, "\tRRSIG\t"), 13);
	cr_assert_eq(count(f1, "^www\\.example\\.net\\.\t.*\tNSEC\tapi\\.example\\.net\\."), 0);
	/* canonical chain: apex api deep.b.c v6 www */
	cr_assert_eq(count(f0, "^example\\.com\\.\t.*\tNSEC\tapi\\.example\\.com\\. NS SOA "
			       "RRSIG NSEC DNSKEY"), 1);
	cr_assert_eq(count(f0, "^api\\.example\\.com\\.\t.*\tNSEC\tdeep\\.b\\.c\\.example\\.com\\. "
			       "A RRSIG NSEC"), 1);
	cr_assert_eq(count(f0, "^deep\\.b\\.c\\.example\\.com\\.\t.*\tNSEC\tv6\\.example\\.com\\."), 1);
	cr_assert_eq(count(f0, "^v6\\.example\\.com\\.\t.*\tNSEC\twww\\.example\\.com\\. A AAAA "
			       "RRSIG NSEC"), 1);
	cr_assert_eq(count(f1, "^www\\.example\\.net\\.\t.*\tNSEC\texample\\.net\\. A RRSIG NSEC"),
		     1);
	/* no NSEC for empty non-terminals, no record for a name that is down */
	cr_assert_eq(count(f0, "^(c|b\\.c|gone)\\.example\\.com\\."), 0);
	/* every RRSIG names the zone it belongs to as signer */
	cr_assert_eq(count(f1, "\tRRSIG\t.* example\\.net\\. "), 13);
	if (sig_b64_min > 0) {
		char pat[64];

		snprintf(pat, sizeof(pat), "\tRRSIG\t.* [A-Za-z0-9+/]{%d,}=*$", sig_b64_min);
		cr_assert_eq(count(f0, pat), 13);
	}

	cr_assert_eq(run("ldns-verify-zone '%s'", f0), 0);
	cr_assert_eq(run("ldns-verify-zone '%s'", f1), 0);
	cr_assert_eq(run("dnssec-verify -z -o example.com '%s'", f0), 0);
	cr_assert_eq(run("dnssec-verify -z -o example.net '%s'", f1), 0);

	zimg_close(z);
	zimg_signer_free(s);
	dnssec_key_free(k);
}

/* Signature field lengths in base64 tell the algorithms apart. */
Test(zimg_dnssec, rsasha256_verifies)
{
	check_alg("-algorithm RSA -pkeyopt rsa_keygen_bits:2048", CONFIG_ALG_RSASHA256, 340);
}

Test(zimg_dnssec, rsasha512_verifies)
{
	check_alg("-algorithm RSA -pkeyopt rsa_keygen_bits:1024", CONFIG_ALG_RSASHA512, 170);
}

Test(zimg_dnssec, ecdsap256_verifies)
{
	check_alg("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", CONFIG_ALG_ECDSAP256SHA256,
		  84);
}

Test(zimg_dnssec, ecdsap384_verifies)
{
	check_alg("-algorithm EC -pkeyopt ec_paramgen_curve:P-384", CONFIG_ALG_ECDSAP384SHA384,
		  128);
}

Test(zimg_dnssec, ed25519_verifies)
{
	check_alg("-algorithm ED25519", CONFIG_ALG_ED25519, 84);
}

Test(zimg_dnssec, ed448_verifies)
{
	check_alg("-algorithm ED448", CONFIG_ALG_ED448, 152);
}

/* A 4096-bit RSA key fills the slot bound: 512-byte signatures. */
Test(zimg_dnssec, rsa4096_fits_the_slot)
{
	check_alg("-algorithm RSA -pkeyopt rsa_keygen_bits:4096", CONFIG_ALG_RSASHA256, 680);
}

struct inc {
	char key[128];
	struct dnssec_key *k;
	struct zimg_signer *s;
	struct zimg *z;
	bool pub[7];
	time_t now;
};

static void inc_start(struct inc *t)
{
	memset(t, 0, sizeof(*t));
	t->k = genkey("-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
		      CONFIG_ALG_ECDSAP256SHA256, t->key, sizeof(t->key));
	t->s = zimg_signer_new(t->k);
	t->z = zimg_new_mem(&cfg);
	cr_assert_not_null(t->s);
	cr_assert_not_null(t->z);
	memcpy(t->pub, pub_all, sizeof(t->pub));
	t->now = 1700000000;
	cr_assert_eq(zimg_publish_signed(t->z, &cfg, t->pub, t->s, t->now, NULL), 0);
}

static void inc_end(struct inc *t)
{
	zimg_close(t->z);
	zimg_signer_free(t->s);
	dnssec_key_free(t->k);
}

/* Publish 10 s later; the signatures made by that publish. */
static uint64_t inc_step(struct inc *t)
{
	struct zimg_signer_stats st;

	t->now += 10;
	cr_assert_eq(zimg_publish_signed(t->z, &cfg, t->pub, t->s, t->now, NULL), 0);
	zimg_signer_stats(t->s, &st);
	return st.last_made;
}

Test(zimg_dnssec, one_change_resigns_only_what_changed)
{
	struct inc t;
	struct zimg_signer_stats st;
	char f[128];

	inc_start(&t);
	/* everything up: 13 + gone's A and NSEC = 15 per zone */
	zimg_signer_stats(t.s, &st);
	cr_assert_eq(st.last_made, 30);
	cr_assert_eq(st.cached, 30);

	/* nothing changed: only the SOA (new serial), per zone */
	cr_assert_eq(inc_step(&t), 2);
	zimg_signer_stats(t.s, &st);
	cr_assert_eq(st.last_reused, 28);

	/* api loses one of two addresses: its A RRset + SOA, per zone */
	t.pub[1] = false;
	cr_assert_eq(inc_step(&t), 4);
	/* v6 loses its AAAA: SOA + its NSEC (type bitmap), per zone */
	t.pub[5] = false;
	cr_assert_eq(inc_step(&t), 4);
	/* "gone" goes away: SOA + the predecessor's NSEC (deep.b.c), per zone */
	t.pub[6] = false;
	cr_assert_eq(inc_step(&t), 4);
	zimg_signer_stats(t.s, &st);
	cr_assert_eq(st.cached, 24, "entries of vanished RRsets are dropped");
	/* it comes back: its A, its NSEC, the predecessor's NSEC, SOA */
	t.pub[6] = true;
	cr_assert_eq(inc_step(&t), 8);
	/* the incrementally signed zone still verifies (times: 2023) */
	dump(t.z, 0, "inc.zone", f, sizeof(f));
	cr_assert_eq(run("ldns-verify-zone -t 20231114223000 '%s'", f), 0);
	cr_assert_eq(count(f, "\tRRSIG\t"), 14);
	inc_end(&t);
}

/* A build that does not fit the slot fails; the cache stays usable and
 * drops what only the failed build used. */
Test(zimg_dnssec, failed_build_keeps_the_cache_consistent)
{
	static struct config big;
	static struct config_entry many[3000];
	static char names[3000][16];
	struct inc t;
	struct zimg_signer_stats st;
	char f[128];

	inc_start(&t);
	big = cfg;
	big.entries = many;
	big.n_entries = 3000;
	big.n_addrs_total = 3000;
	for (size_t i = 0; i < 3000; i++) {
		snprintf(names[i], sizeof(names[i]), "n%zu", i);
		many[i] = (struct config_entry){.name = names[i], .addrs = addrs[0], .n_addrs = 1,
						.first_addr = i, .ttl = -1, .rise = 1, .fall = 1};
	}
	cr_assert_eq(zimg_publish_signed(t.z, &big, NULL, t.s, t.now + 5, NULL), -1);
	zimg_signer_stats(t.s, &st);
	cr_assert_gt(st.cached, 30, "the failed build signed some of its names");

	cr_assert_eq(inc_step(&t), 2, "the cache survived: only the SOAs are new");
	zimg_signer_stats(t.s, &st);
	cr_assert_eq(st.cached, 30, "what only the failed build used is dropped");
	t.pub[6] = false;
	cr_assert_eq(inc_step(&t), 4);
	zimg_signer_stats(t.s, &st);
	cr_assert_eq(st.cached, 26);
	dump(t.z, 1, "after.zone", f, sizeof(f));
	cr_assert_eq(run("ldns-verify-zone -t 20231114223000 '%s'", f), 0);
	inc_end(&t);
}

/* Every RRSIG of the active image, in image order (both zones). */
struct sigs {
	size_t n;
	struct {
		uint16_t type;       /* type covered */
		uint32_t inception;
		uint32_t expiration;
		uint32_t rrset_ttl;
		uint32_t orig_ttl;   /* in the RRSIG RDATA */
		uint8_t bytes[512];  /* the RRSIG RR as served */
		size_t len;
	} v[64];
};

static void collect(const struct zimg *z, struct sigs *out)
{
	const uint8_t *sl = active_slot(z);
	const struct zimg_slot *h = (const struct zimg_slot *)sl;

	out->n = 0;
	for (uint32_t zi = 0; zi < h->n_zones; zi++) {
		const struct zimg_zone *zn = (const struct zimg_zone *)(sl + h->zones_off) + zi;
		const struct zimg_name *names = (const struct zimg_name *)(sl + zn->names_off);

		for (uint32_t i = 0; i < zn->n_names; i++) {
			const struct zimg_rrset *rs =
				(const struct zimg_rrset *)(sl + names[i].rrsets_off);

			for (uint32_t r = 0; r < names[i].n_rrsets; r++) {
				const uint8_t *sig = sl + rs[r].sigs_off;

				cr_assert_lt(out->n, 64);
				cr_assert_eq(rs[r].sig_count, 1);
				cr_assert_leq(rs[r].sigs_len, sizeof(out->v[0].bytes));
				out->v[out->n].type = wire_load_u16(sig + 10);
				cr_assert_eq(out->v[out->n].type, rs[r].type);
				out->v[out->n].orig_ttl = load_u32(sig + 10 + 4);
				out->v[out->n].expiration = load_u32(sig + 10 + 8);
				out->v[out->n].inception = load_u32(sig + 10 + 12);
				out->v[out->n].rrset_ttl = load_u32(sl + rs[r].rrs_off + 4);
				out->v[out->n].len = rs[r].sigs_len;
				memcpy(out->v[out->n].bytes, sig, rs[r].sigs_len);
				out->n++;
			}
		}
	}
}

/*
 * The signing policy, walked with a fake clock: 14 days of validity,
 * re-signed under 7 days left, inception an hour back, and a jitter of
 * min(14 d / 10, (14 d - 7 d) / 2) = 120960 s taken off each RRset's
 * expiry. Only the signatures that are due are re-signed; the others
 * stay bit-identical. (The SOA is new at every publish: new serial.)
 */
#define L_SEC (14u * 86400u)
#define R_SEC (7u * 86400u)
#define J_SEC (L_SEC / 10u)

static void window_ok(const struct sigs *g, size_t i, time_t at)
{
	cr_assert_eq(g->v[i].inception, (uint32_t)(at - 3600), "RRSIG %zu inception", i);
	cr_assert_geq(g->v[i].expiration, (uint32_t)(at + L_SEC - J_SEC), "RRSIG %zu", i);
	cr_assert_leq(g->v[i].expiration, (uint32_t)(at + L_SEC), "RRSIG %zu", i);
}

Test(zimg_dnssec, refresh_walks_the_policy)
{
	struct inc t;
	struct sigs g0, g1, g2;
	struct zimg_signer_stats st;
	uint32_t e_min = UINT32_MAX, sorted[64], mid;
	size_t n_other = 0, due = 0, distinct = 1;
	time_t t0, now;

	cfg.rrsig_lifetime = L_SEC;
	cfg.rrsig_refresh = R_SEC;
	inc_start(&t);
	t0 = t.now;
	collect(t.z, &g0);
	cr_assert_eq(g0.n, 30);
	for (size_t i = 0; i < g0.n; i++) {
		window_ok(&g0, i, t0);
		/* RFC 4034 section 3.1.4, RFC 6781 section 4.4.2 */
		cr_assert_eq(g0.v[i].orig_ttl, g0.v[i].rrset_ttl);
		cr_assert_leq(g0.v[i].rrset_ttl, g0.v[i].expiration - (uint32_t)t0 - R_SEC);
		if (g0.v[i].type == 6)
			continue;
		sorted[n_other++] = g0.v[i].expiration;
		if (g0.v[i].expiration < e_min)
			e_min = g0.v[i].expiration;
	}
	/* the expiries are spread, not one moment */
	for (size_t i = 1; i < n_other; i++)
		for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			uint32_t x = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = x;
		}
	for (size_t i = 1; i < n_other; i++)
		distinct += sorted[i] != sorted[i - 1];
	cr_assert_gt(distinct, n_other / 2, "%zu distinct expiries of %zu", distinct, n_other);

	/* exactly the refresh time left on the first to come due: kept */
	now = (time_t)e_min - R_SEC;
	cr_assert(!zimg_signer_due(t.s, now));
	cr_assert(zimg_signer_due(t.s, now + 1));
	t.now = now - 10;
	cr_assert_eq(inc_step(&t), 2, "only the SOAs");
	collect(t.z, &g1);
	cr_assert_eq(g1.n, g0.n);
	for (size_t i = 0; i < g1.n; i++) {
		if (g1.v[i].type == 6) {
			window_ok(&g1, i, now);
			continue;
		}
		cr_assert_eq(g1.v[i].len, g0.v[i].len);
		cr_assert_eq(memcmp(g1.v[i].bytes, g0.v[i].bytes, g0.v[i].len), 0,
			     "RRSIG %zu kept", i);
	}

	/* one second past the refresh point of the middle expiry: those at
	 * or below it are due, the others kept */
	mid = sorted[n_other / 2];
	now = (time_t)mid - R_SEC + 1;
	for (size_t i = 0; i < g0.n; i++)
		due += g0.v[i].type != 6 && g0.v[i].expiration <= mid;
	cr_assert_gt(due, 0);
	cr_assert_lt(due, n_other);
	t.now = now - 10;
	cr_assert_eq(inc_step(&t), 2 + due);
	zimg_signer_stats(t.s, &st);
	cr_assert_eq(st.last_reused, g0.n - 2 - due);
	collect(t.z, &g2);
	for (size_t i = 0; i < g2.n; i++) {
		cr_assert_eq(g2.v[i].orig_ttl, g2.v[i].rrset_ttl);
		if (g2.v[i].type == 6 || g0.v[i].expiration <= mid) {
			window_ok(&g2, i, now);
			cr_assert_leq(g2.v[i].rrset_ttl, g2.v[i].expiration - (uint32_t)now - R_SEC);
		} else {
			cr_assert_eq(memcmp(g2.v[i].bytes, g0.v[i].bytes, g0.v[i].len), 0,
				     "RRSIG %zu kept", i);
		}
	}
	cr_assert(!zimg_signer_due(t.s, now), "the due ones were re-signed");

	/* a clock set back by more than the backdate re-signs everything */
	now = t0 - 7200;
	cr_assert(zimg_signer_due(t.s, now));
	t.now = now - 10;
	cr_assert_eq(inc_step(&t), 30);
	inc_end(&t);
}

/* A name whose TTL outlives what its signature covers is served with
 * the TTL clamped, in the RRset and in the RRSIG's original TTL alike. */
Test(zimg_dnssec, ttl_clamped_to_the_signature)
{
	struct inc t;
	struct sigs g;
	char f[128];
	size_t n_www = 0;

	entries[0].ttl = 30 * 86400; /* www: 30 days */
	cfg.rrsig_lifetime = L_SEC;
	cfg.rrsig_refresh = R_SEC;
	inc_start(&t);
	collect(t.z, &g);
	for (size_t i = 0; i < g.n; i++) {
		cr_assert_eq(g.v[i].orig_ttl, g.v[i].rrset_ttl);
		/* refresh less two check intervals of 30 s */
		cr_assert_leq(g.v[i].rrset_ttl, R_SEC - 60);
		n_www += g.v[i].rrset_ttl == R_SEC - 60;
	}
	cr_assert_eq(n_www, 2, "www A in both zones");
	dump(t.z, 0, "clamp.zone", f, sizeof(f));
	cr_assert_eq(count(f, "^www\\.example\\.com\\.\t604740\tIN\tA\t192\\.0\\.2\\.1$"), 1);
	cr_assert_eq(run("ldns-verify-zone -t 20231114223000 '%s'", f), 0);
	inc_end(&t);
}

/* What answer.c will read for DO-bit answers (see zimg_format.h). */
Test(zimg_dnssec, layout_for_answers)
{
	struct inc t;
	const uint8_t *sl;
	const struct zimg_slot *h;
	const struct zimg_zone *zn;
	const struct zimg_name *names;
	const uint32_t *idx;
	const struct zimg_rrset *rs;
	/* sorted: apex api c b.c deep.b.c gone v6 www */
	static const uint32_t want_idx[] = {0, 1, 1, 1, 4, 5, 6, 7};
	static const uint16_t want_apex[] = {2, 6, 47, 48};

	inc_start(&t);
	sl = active_slot(t.z);
	h = (const struct zimg_slot *)sl;
	cr_assert_eq(h->flags & ZIMG_SLOT_SIGNED, ZIMG_SLOT_SIGNED);
	cr_assert_eq(h->n_zones, 2);
	for (uint32_t zi = 0; zi < 2; zi++) {
		zn = (const struct zimg_zone *)(sl + h->zones_off) + zi;
		cr_assert_eq(zn->flags, ZIMG_ZONE_SIGNED);
		cr_assert_eq(zn->n_names, 8);
		names = (const struct zimg_name *)(sl + zn->names_off);
		idx = (const uint32_t *)(sl + zn->nsec_idx_off);
		for (uint32_t i = 0; i < 8; i++)
			cr_assert_eq(idx[i], want_idx[i], "nsec_idx[%u]", i);
		cr_assert_eq(names[2].flags, ZIMG_NAME_ENT);
		cr_assert_eq(names[2].n_rrsets, 0);
		cr_assert_eq(names[3].n_rrsets, 0);
		rs = (const struct zimg_rrset *)(sl + names[0].rrsets_off);
		cr_assert_eq(names[0].n_rrsets, 4);
		for (int i = 0; i < 4; i++) {
			cr_assert_eq(rs[i].type, want_apex[i]);
			cr_assert_eq(rs[i].sig_count, 1);
			cr_assert_eq(wire_load_u16(sl + rs[i].sigs_off), 46);
			/* type covered */
			cr_assert_eq(wire_load_u16(sl + rs[i].sigs_off + 10), want_apex[i]);
		}
		/* NSEC TTL = min(SOA TTL, MINIMUM) = 60 */
		cr_assert_eq(load_u32(sl + rs[2].rrs_off + 4), 60);
		/* v6: A AAAA NSEC, each signed */
		rs = (const struct zimg_rrset *)(sl + names[6].rrsets_off);
		cr_assert_eq(names[6].n_rrsets, 3);
		cr_assert_eq(rs[0].type, 1);
		cr_assert_eq(rs[1].type, 28);
		cr_assert_eq(rs[2].type, 47);
		cr_assert_eq(rs[2].sig_count, 1);
		/* negative SOA: its RRSIG served with the negative TTL, same
		 * signature as the apex SOA's */
		cr_assert_eq(zn->neg_soa.sig_count, 1);
		cr_assert_eq(load_u32(sl + zn->neg_soa.sigs_off + 4), 60);
		rs = (const struct zimg_rrset *)(sl + names[0].rrsets_off);
		cr_assert_eq(zn->neg_soa.sigs_len, rs[1].sigs_len);
		cr_assert_eq(memcmp(sl + zn->neg_soa.sigs_off + 8, sl + rs[1].sigs_off + 8,
				    rs[1].sigs_len - 8), 0);
	}
	inc_end(&t);
}

Test(zimg_dnssec, unsigned_image_has_no_dnssec)
{
	struct zimg *z;
	const uint8_t *sl;
	const struct zimg_slot *h;
	const struct zimg_zone *zn;
	const struct zimg_name *names;
	const struct zimg_rrset *rs;
	char f[128];

	cfg.priv_key_path = NULL;
	z = zimg_new_mem(&cfg);
	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish(z, &cfg, pub_all, NULL), 0);
	sl = active_slot(z);
	h = (const struct zimg_slot *)sl;
	zn = (const struct zimg_zone *)(sl + h->zones_off);
	names = (const struct zimg_name *)(sl + zn->names_off);
	rs = (const struct zimg_rrset *)(sl + names[0].rrsets_off);
	cr_assert_eq(h->flags, 0);
	cr_assert_eq(zn->flags, 0);
	cr_assert_eq(zn->nsec_idx_off, 0);
	cr_assert_eq(names[0].n_rrsets, 2);
	cr_assert_eq(rs[0].sig_count + rs[1].sig_count, 0);
	cr_assert_eq(zn->neg_soa.sig_count, 0);
	/* comment, NS x2, SOA, A: www api x2 deep v6 gone, AAAA: v6 */
	cr_assert_eq(dump(z, 0, "plain.zone", f, sizeof(f)), 1 + 2 + 1 + 6 + 1);
	cr_assert_eq(count(f, "RRSIG|NSEC|DNSKEY"), 0);
	cr_assert_eq(admin_dump_zone(z, 2, stdout), -1);
	zimg_close(z);
}

Test(zimg_dnssec, dump_without_image_fails)
{
	struct zimg *z = zimg_new_mem(&cfg);

	cr_assert_not_null(z);
	cr_assert_eq(admin_dump_image(z, stdout), -1);
	zimg_close(z);
}

/* The prober reads the key from the fd the supervisor opened. */
Test(zimg_dnssec, prober_key_from_fd)
{
	char path[128], bad[128];
	struct dnssec_key *k = genkey("-algorithm ED25519", CONFIG_ALG_ED25519, path,
				      sizeof(path));
	struct dnssec_key *got = NULL;
	int fd;

	cfg.priv_key_alg = CONFIG_ALG_ED25519;
	cfg.priv_key_path = "/nonexistent/only-the-fd-is-read";
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(prober_load_key(&cfg, fd, &got), 0);
	cr_assert_not_null(got);
	cr_assert_eq(dnssec_key_tag(got), dnssec_key_tag(k));
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "the fd is closed");
	dnssec_key_free(got);

	/* no fd: the path */
	cfg.priv_key_path = path;
	cr_assert_eq(prober_load_key(&cfg, -1, &got), 0);
	cr_assert_eq(dnssec_key_tag(got), dnssec_key_tag(k));
	dnssec_key_free(got);

	/* neither: no key, no error */
	cfg.priv_key_path = NULL;
	cr_assert_eq(prober_load_key(&cfg, -1, &got), 0);
	cr_assert_null(got);

	/* an fd on something that is not a key */
	snprintf(bad, sizeof(bad), "%s/bad.pem", tdir);
	cr_assert_eq(run("echo garbage > '%s'", bad), 0);
	fd = open(bad, O_RDONLY);
	cr_assert_eq(prober_load_key(&cfg, fd, &got), -1);
	cr_assert_null(got);
	dnssec_key_free(k);
}

/* DESIGN §13: a KSK and a ZSK: both DNSKEYs (257 and 256), the KSK signs
 * DNSKEY, CDS and CDNSKEY only, the ZSK the rest; the CDS is the KSK's;
 * an unpublished key is not in the DNSKEY RRset; the RFC 8078 delete
 * form; every image verifies. */
Test(zimg_dnssec, ksk_zsk_and_cds)
{
	char key[128], f0[128], pat[160];
	struct dnssec_key *keys[2];
	struct zimg_signer *s;
	struct zimg_signer_use use = { .publish = 3, .zone = 2, .keyset = 1, .cds = 1 };
	struct zimg *z;
	unsigned ksk, zsk;

	cfg.priv_key_alg = CONFIG_ALG_ECDSAP256SHA256;
	keys[0] = genkey("-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
			 CONFIG_ALG_ECDSAP256SHA256, key, sizeof(key));
	keys[1] = genkey("-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
			 CONFIG_ALG_ECDSAP256SHA256, key, sizeof(key));
	cr_assert_eq(dnssec_key_set_flags(keys[1], DNSSEC_DNSKEY_FLAGS_ZSK), 0);
	ksk = dnssec_key_tag(keys[0]);
	zsk = dnssec_key_tag(keys[1]);
	s = zimg_signer_new_set(keys, 2);
	cr_assert_not_null(s);
	zimg_signer_set_use(s, &use);
	z = zimg_new_mem(&cfg);
	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_signed(z, &cfg, pub_all, s, time(NULL), NULL), 0);
	dump(z, 0, "com.zone", f0, sizeof(f0));
	cr_assert_eq(count(f0, "\tDNSKEY\t257 3 13 "), 1);
	cr_assert_eq(count(f0, "\tDNSKEY\t256 3 13 "), 1);
	snprintf(pat, sizeof(pat), "\tRRSIG\t(DNSKEY|CDS|CDNSKEY) 13 2 [0-9]+ [0-9]+ [0-9]+ %u ", ksk);
	cr_assert_eq(count(f0, pat), 3);
	snprintf(pat, sizeof(pat), "\tRRSIG\t.* %u example", ksk);
	cr_assert_eq(count(f0, pat), 3, "the KSK signs nothing else");
	snprintf(pat, sizeof(pat), "\tRRSIG\t(NS|SOA|A) .* %u example", zsk);
	cr_assert_gt(count(f0, pat), 5);
	snprintf(pat, sizeof(pat), "\tCDS\t%u 13 2 [0-9a-f]{64}$", ksk);
	cr_assert_eq(count(f0, pat), 1);
	cr_assert_eq(count(f0, "\tCDNSKEY\t257 3 13 "), 1);
	cr_assert_eq(count(f0, "NSEC\t.* NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY"), 1);
	cr_assert_eq(run("ldns-verify-zone '%s'", f0), 0);
	cr_assert_eq(run("dnssec-verify -o example.com '%s'", f0), 0);

	/* The ZSK unpublished (it still signs: a bogus zone, but the image
	 * must say exactly that); the delete form. */
	use = (struct zimg_signer_use){ .publish = 1, .zone = 2, .keyset = 1, .cds_delete = true };
	zimg_signer_set_use(s, &use);
	cr_assert_eq(zimg_publish_signed(z, &cfg, pub_all, s, time(NULL), NULL), 0);
	dump(z, 0, "com2.zone", f0, sizeof(f0));
	cr_assert_eq(count(f0, "\tDNSKEY\t"), 1);
	cr_assert_eq(count(f0, "\tCDS\t0 0 0 00$"), 1);
	cr_assert_eq(count(f0, "\tCDNSKEY\t0 3 0 AA==$"), 1);
	zimg_close(z);
	zimg_signer_free(s);
	dnssec_key_free(keys[0]);
	dnssec_key_free(keys[1]);
}
