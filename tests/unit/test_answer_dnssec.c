/*
 * DO-bit answers from a signed in-memory image (answer_dnssec.c through
 * answer_query_ex): sections, counts and types parsed with ldns, every
 * RRSIG verified against the zone's DNSKEY, the NSEC proofs checked to
 * cover what they must. Keys are made at test time with openssl genpkey.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "dnssec.h"
#include "zimg.h"
#include "zimg_format.h"
#include "zsign.h"

/*
 * example.com + alias example.net:
 *   www        static 192.0.2.1, 2001:db8::1
 *   api        checked 192.0.2.10 (up), 192.0.2.11 (down)
 *   deep.b.c   static 192.0.2.30 (b.c and c are empty non-terminals)
 *   gone       checked 192.0.2.50 (down: not in the zone)
 */
static struct config cfg;
static struct config_entry entries[4];
static struct config_addr addrs[4][2];
static char *ns[] = { "ns1.example.com", "ns2.example.com" };
static char *aliases[] = { "example.net" };
static bool pub[6] = { false, false, true, false, false, false };
static char tdir[64];
static struct dnssec_key *key;
static struct zimg_signer *signer;
static struct zimg *zs; /* signed */
static struct zimg *zu; /* the same zone, unsigned */
static time_t now;

static void addr(struct config_addr *a, const char *text)
{
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(a->family, text, a->addr), 1);
}

static void build(const char *genpkey, enum config_alg alg)
{
	char path[128], cmd[256];

	memset(&cfg, 0, sizeof(cfg));
	memset(entries, 0, sizeof(entries));
	cfg.hosted_zone = "example.com";
	cfg.alias_zones = aliases;
	cfg.n_alias_zones = 1;
	cfg.ns = ns;
	cfg.n_ns = 2;
	cfg.test_min_interval = 30;
	cfg.test_timeout = 2;
	cfg.entries = entries;
	cfg.n_entries = 4;
	cfg.n_addrs_total = 6;
	entries[0] = (struct config_entry){ .name = "www", .addrs = addrs[0], .n_addrs = 2,
					    .first_addr = 0, .ttl = -1, .rise = 1, .fall = 1 };
	entries[1] = (struct config_entry){ .name = "api", .addrs = addrs[1], .n_addrs = 2,
					    .first_addr = 2, .check = CONFIG_CHECK_TCP,
					    .health_port = 80, .ttl = -1, .rise = 1, .fall = 1 };
	entries[2] = (struct config_entry){ .name = "deep.b.c", .addrs = addrs[2], .n_addrs = 1,
					    .first_addr = 4, .ttl = -1, .rise = 1, .fall = 1 };
	entries[3] = (struct config_entry){ .name = "gone", .addrs = addrs[3], .n_addrs = 1,
					    .first_addr = 5, .check = CONFIG_CHECK_TCP,
					    .health_port = 80, .ttl = -1, .rise = 1, .fall = 1 };
	addr(&addrs[0][0], "192.0.2.1");
	addr(&addrs[0][1], "2001:db8::1");
	addr(&addrs[1][0], "192.0.2.10");
	addr(&addrs[1][1], "192.0.2.11");
	addr(&addrs[2][0], "192.0.2.30");
	addr(&addrs[3][0], "192.0.2.50");

	strcpy(tdir, "/tmp/ahd-answer-dnssec-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	snprintf(path, sizeof(path), "%s/key.pem", tdir);
	snprintf(cmd, sizeof(cmd), "openssl genpkey %s -out '%s' 2>/dev/null", genpkey, path);
	cr_assert_eq(system(cmd), 0);
	cfg.priv_key_path = path;
	cfg.priv_key_alg = alg;
	key = dnssec_key_load(path, alg);
	cr_assert_not_null(key);
	signer = zimg_signer_new(key);
	cr_assert_not_null(signer);
	now = time(NULL);
	zs = zimg_new_mem(&cfg);
	cr_assert_not_null(zs);
	cr_assert_eq(zimg_publish_signed(zs, &cfg, pub, signer, now, NULL), 0);
	zu = zimg_new_mem(&cfg);
	cr_assert_not_null(zu);
	cr_assert_eq(zimg_publish_signed(zu, &cfg, pub, NULL, now, NULL), 0);
	cfg.priv_key_path = "unused";
}

static void setup(void)
{
	build("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", CONFIG_ALG_ECDSAP256SHA256);
}

static void setup_rsa(void)
{
	build("-algorithm RSA -pkeyopt rsa_keygen_bits:2048", CONFIG_ALG_RSASHA256);
}

static void teardown(void)
{
	char cmd[128];

	zimg_close(zs);
	zimg_close(zu);
	zimg_signer_free(signer);
	dnssec_key_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	(void)!system(cmd);
}

TestSuite(answer_dnssec, .init = setup, .fini = teardown, .timeout = 60);

struct q_opts {
	bool edns;
	bool do_bit;
	bool cd;
	uint16_t payload;           /* 0: 1232 */
	enum answer_transport transport;
	uint16_t server_size;       /* 0: 1232 */
};

/* Raw response bytes of name/type against z. */
static size_t ask_raw(struct zimg *z, const char *name, ldns_rr_type type,
		      const struct q_opts *o, uint8_t *out, size_t cap)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0, n;
	struct answer_ctx ctx;

	cr_assert_eq(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
		     LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 4242);
	ldns_pkt_set_cd(q, o->cd);
	if (o->edns) {
		ldns_pkt_set_edns_udp_size(q, o->payload ? o->payload : 1232);
		ldns_pkt_set_edns_do(q, o->do_bit);
	}
	cr_assert_eq(ldns_pkt2wire(&wire, q, &wlen), LDNS_STATUS_OK);
	memset(&ctx, 0, sizeof(ctx));
	ctx.z = z;
	ctx.edns_size = o->server_size ? o->server_size : AHD_EDNS_DEFAULT;
	n = answer_query_ex(&ctx, wire, wlen, o->transport, out, cap, NULL);
	free(wire);
	ldns_pkt_free(q);
	return n;
}

static ldns_pkt *ask_opts(struct zimg *z, const char *name, ldns_rr_type type,
			  const struct q_opts *o)
{
	uint8_t out[AHD_MAX_MSG];
	size_t n = ask_raw(z, name, type, o, out, sizeof(out));
	ldns_pkt *p = NULL;

	cr_assert_gt(n, 0, "no response to %s", name);
	cr_assert_eq(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK, "response to %s does not parse",
		     name);
	return p;
}

/* With EDNS and DO=1, payload 1232, over UDP. */
static ldns_pkt *ask(struct zimg *z, const char *name, ldns_rr_type type)
{
	struct q_opts o = { .edns = true, .do_bit = true };

	return ask_opts(z, name, type, &o);
}

static ldns_rdf *dname(const char *text)
{
	ldns_rdf *d = ldns_dname_new_frm_str(text);

	cr_assert_not_null(d);
	return d;
}

/* The zone's DNSKEY RRset, as served. */
static ldns_rr_list *zone_keys(const char *apex)
{
	ldns_pkt *p = ask(zs, apex, LDNS_RR_TYPE_DNSKEY);
	ldns_rr_list *keys = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_DNSKEY,
						      LDNS_SECTION_ANSWER);

	cr_assert_not_null(keys);
	cr_assert_eq(ldns_rr_list_rr_count(keys), 1);
	ldns_pkt_free(p);
	return keys;
}

/* The types of a section, in order, as text: "A RRSIG". */
static void section_types(ldns_rr_list *l, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		char *t = ldns_rr_type2str(ldns_rr_get_type(ldns_rr_list_rr(l, i)));

		if (i)
			strncat(buf, " ", cap - strlen(buf) - 1);
		strncat(buf, t, cap - strlen(buf) - 1);
		free(t);
	}
}

/*
 * Every RRSIG of section l must verify (RFC 4035 section 5.3) over the
 * RRs of l with its owner and covered type, with keys; every other RRset
 * must have one. Returns the number of RRSIGs.
 */
static size_t verify_section(ldns_rr_list *l, ldns_rr_list *keys, const char *what)
{
	size_t sigs = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr_list *set;
		bool sig_seen = false;

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
			continue;
		set = ldns_rr_list_new();
		for (size_t j = 0; j < ldns_rr_list_rr_count(l); j++) {
			ldns_rr *o = ldns_rr_list_rr(l, j);

			if (ldns_rr_get_type(o) == ldns_rr_get_type(rr) &&
			    ldns_dname_compare(ldns_rr_owner(o), ldns_rr_owner(rr)) == 0)
				ldns_rr_list_push_rr(set, ldns_rr_clone(o));
		}
		for (size_t j = 0; j < ldns_rr_list_rr_count(l); j++) {
			ldns_rr *s = ldns_rr_list_rr(l, j);
			ldns_status st;

			if (ldns_rr_get_type(s) != LDNS_RR_TYPE_RRSIG ||
			    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(s)) != ldns_rr_get_type(rr) ||
			    ldns_dname_compare(ldns_rr_owner(s), ldns_rr_owner(rr)) != 0)
				continue;
			st = ldns_verify_rrsig_keylist(set, s, keys, NULL);
			cr_assert_eq(st, LDNS_STATUS_OK, "%s: RRSIG does not verify: %s", what,
				     ldns_get_errorstr_by_id(st));
			sig_seen = true;
		}
		cr_assert(sig_seen, "%s: an RRset without RRSIG", what);
		ldns_rr_list_deep_free(set);
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		sigs += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_RRSIG;
	return sigs;
}

/* Whether one NSEC of the authority section covers (or, exact, owns) name. */
static bool nsec_covers(ldns_pkt *p, const char *name, bool exact)
{
	ldns_rr_list *l = ldns_pkt_authority(p);
	ldns_rdf *d = dname(name);
	bool ok = false;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC)
			continue;
		if (exact ? ldns_dname_compare(ldns_rr_owner(rr), d) == 0
			  : ldns_nsec_covers_name(rr, d))
			ok = true;
	}
	ldns_rdf_deep_free(d);
	return ok;
}

static bool nsec_has_type(ldns_pkt *p, ldns_rr_type t)
{
	ldns_rr_list *l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY);
	bool has;

	cr_assert_not_null(l);
	cr_assert_eq(ldns_rr_list_rr_count(l), 1);
	has = ldns_nsec_bitmap_covers_type(ldns_rr_rdf(ldns_rr_list_rr(l, 0), 1), t);
	ldns_rr_list_deep_free(l);
	return has;
}

static void expect(ldns_pkt *p, ldns_pkt_rcode rcode, const char *an, const char *ns_types,
		   const char *apex)
{
	char buf[512];
	ldns_rr_list *keys = zone_keys(apex);

	cr_assert_eq(ldns_pkt_get_rcode(p), rcode);
	cr_assert(ldns_pkt_aa(p));
	cr_assert(!ldns_pkt_tc(p));
	cr_assert(!ldns_pkt_ad(p));
	cr_assert(!ldns_pkt_ra(p));
	cr_assert(ldns_pkt_edns_do(p), "DO must be echoed");
	section_types(ldns_pkt_answer(p), buf, sizeof(buf));
	cr_assert_str_eq(buf, an);
	section_types(ldns_pkt_authority(p), buf, sizeof(buf));
	cr_assert_str_eq(buf, ns_types);
	/* ldns moves the OPT out of the additional section. */
	cr_assert(ldns_pkt_edns(p));
	cr_assert_eq(ldns_pkt_arcount(p), 0, "only the OPT in additional");
	verify_section(ldns_pkt_answer(p), keys, "answer");
	verify_section(ldns_pkt_authority(p), keys, "authority");
	ldns_rr_list_deep_free(keys);
}

Test(answer_dnssec, positive_a_and_aaaa_carry_verified_rrsigs)
{
	ldns_pkt *p = ask(zs, "www.example.com", LDNS_RR_TYPE_A);
	ldns_rr *sig;
	char *signer_text;

	expect(p, LDNS_RCODE_NOERROR, "A RRSIG", "", "example.com");
	sig = ldns_rr_list_rr(ldns_pkt_answer(p), 1);
	signer_text = ldns_rdf2str(ldns_rr_rrsig_signame(sig));
	cr_assert_str_eq(signer_text, "example.com.");
	free(signer_text);
	cr_assert_eq(ldns_rr_ttl(sig), 60, "RRSIG TTL = the RRset's");
	ldns_pkt_free(p);

	p = ask(zs, "WWW.Example.COM", LDNS_RR_TYPE_AAAA);
	expect(p, LDNS_RCODE_NOERROR, "AAAA RRSIG", "", "example.com");
	ldns_pkt_free(p);
}

Test(answer_dnssec, nxdomain_proves_name_and_wildcard_absent)
{
	ldns_pkt *p = ask(zs, "nope.example.com", LDNS_RR_TYPE_A);

	/* nope sorts between deep.b.c and www (deep.b.c's NSEC); the
	 * wildcard *.example.com right after the apex (the apex NSEC). */
	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "nope.example.com", false));
	cr_assert(nsec_covers(p, "*.example.com", false));
	cr_assert(nsec_covers(p, "deep.b.c.example.com", true));
	cr_assert(nsec_covers(p, "example.com", true));
	/* RFC 2308: the SOA with the negative TTL (60). */
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 60);
	ldns_pkt_free(p);

	/* "gone" is down: absent too. */
	p = ask(zs, "gone.example.com", LDNS_RR_TYPE_A);
	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "gone.example.com", false));
	ldns_pkt_free(p);
}

Test(answer_dnssec, nxdomain_one_nsec_when_it_proves_both)
{
	/* Closest encloser www: www's NSEC covers x.www and *.www. */
	ldns_pkt *p = ask(zs, "x.www.example.com", LDNS_RR_TYPE_A);

	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "x.www.example.com", false));
	cr_assert(nsec_covers(p, "*.www.example.com", false));
	ldns_pkt_free(p);

	/* Under an empty non-terminal: closest encloser b.c, whose covering
	 * NSEC (api's) also covers the name. */
	p = ask(zs, "a.b.c.example.com", LDNS_RR_TYPE_A);
	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "a.b.c.example.com", false));
	cr_assert(nsec_covers(p, "*.b.c.example.com", false));
	ldns_pkt_free(p);
}

Test(answer_dnssec, nodata_proves_the_type_absent)
{
	ldns_pkt *p = ask(zs, "www.example.com", LDNS_RR_TYPE_MX);

	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "www.example.com", true));
	cr_assert(!nsec_has_type(p, LDNS_RR_TYPE_MX));
	cr_assert(nsec_has_type(p, LDNS_RR_TYPE_A));
	cr_assert(nsec_has_type(p, LDNS_RR_TYPE_AAAA));
	ldns_pkt_free(p);

	/* api has no AAAA. */
	p = ask(zs, "api.example.com", LDNS_RR_TYPE_AAAA);
	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(!nsec_has_type(p, LDNS_RR_TYPE_AAAA));
	ldns_pkt_free(p);
}

Test(answer_dnssec, empty_non_terminal_nodata_has_the_covering_nsec)
{
	ldns_pkt *p = ask(zs, "b.c.example.com", LDNS_RR_TYPE_A);

	/* RFC 4035 section 3.1.3.2: api's NSEC (api -> deep.b.c). */
	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "b.c.example.com", false));
	cr_assert(nsec_covers(p, "api.example.com", true));
	ldns_pkt_free(p);

	p = ask(zs, "c.example.com", LDNS_RR_TYPE_ANY);
	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "c.example.com", false));
	ldns_pkt_free(p);
}

Test(answer_dnssec, apex_types)
{
	ldns_pkt *p = ask(zs, "example.com", LDNS_RR_TYPE_SOA);

	expect(p, LDNS_RCODE_NOERROR, "SOA RRSIG", "", "example.com");
	ldns_pkt_free(p);
	p = ask(zs, "example.com", LDNS_RR_TYPE_NS);
	expect(p, LDNS_RCODE_NOERROR, "NS NS RRSIG", "", "example.com");
	ldns_pkt_free(p);
	p = ask(zs, "example.com", LDNS_RR_TYPE_DNSKEY);
	expect(p, LDNS_RCODE_NOERROR, "DNSKEY RRSIG", "", "example.com");
	ldns_pkt_free(p);
	/* We are the child: DS at the apex is NODATA, proven by the apex
	 * NSEC. */
	p = ask(zs, "example.com", LDNS_RR_TYPE_DS);
	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	cr_assert(nsec_covers(p, "example.com", true));
	cr_assert(!nsec_has_type(p, LDNS_RR_TYPE_DS));
	cr_assert(nsec_has_type(p, LDNS_RR_TYPE_DNSKEY));
	ldns_pkt_free(p);
}

Test(answer_dnssec, nsec_and_rrsig_queries)
{
	ldns_pkt *p = ask(zs, "www.example.com", LDNS_RR_TYPE_NSEC);

	expect(p, LDNS_RCODE_NOERROR, "NSEC RRSIG", "", "example.com");
	ldns_pkt_free(p);
	/* All RRSIGs at the name: A, AAAA, NSEC. */
	p = ask(zs, "www.example.com", LDNS_RR_TYPE_RRSIG);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(p), 3);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), i)),
			     LDNS_RR_TYPE_RRSIG);
	cr_assert_eq(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
	/* An empty non-terminal has no RRSIGs: NODATA. */
	p = ask(zs, "b.c.example.com", LDNS_RR_TYPE_RRSIG);
	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	ldns_pkt_free(p);
}

Test(answer_dnssec, any_is_one_signed_rrset)
{
	struct q_opts plain = { .edns = true };
	ldns_pkt *p = ask(zs, "www.example.com", LDNS_RR_TYPE_ANY);

	expect(p, LDNS_RCODE_NOERROR, "A RRSIG", "", "example.com");
	ldns_pkt_free(p);
	p = ask(zs, "example.com", LDNS_RR_TYPE_ANY);
	expect(p, LDNS_RCODE_NOERROR, "SOA RRSIG", "", "example.com");
	ldns_pkt_free(p);
	/* Without DO: the unsigned RFC 8482 HINFO as before. */
	p = ask_opts(zs, "www.example.com", LDNS_RR_TYPE_ANY, &plain);
	cr_assert_eq(ldns_pkt_ancount(p), 1);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
		     LDNS_RR_TYPE_HINFO);
	ldns_pkt_free(p);
}

Test(answer_dnssec, alias_zone_signs_with_its_own_name)
{
	ldns_pkt *p = ask(zs, "www.example.net", LDNS_RR_TYPE_A);
	char *s;

	expect(p, LDNS_RCODE_NOERROR, "A RRSIG", "", "example.net");
	s = ldns_rdf2str(ldns_rr_rrsig_signame(ldns_rr_list_rr(ldns_pkt_answer(p), 1)));
	cr_assert_str_eq(s, "example.net.");
	free(s);
	ldns_pkt_free(p);
	p = ask(zs, "nope.example.net", LDNS_RR_TYPE_A);
	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG NSEC RRSIG", "example.net");
	cr_assert(nsec_covers(p, "nope.example.net", false));
	cr_assert(nsec_covers(p, "*.example.net", false));
	ldns_pkt_free(p);
	p = ask(zs, "b.c.example.net", LDNS_RR_TYPE_A);
	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.net");
	cr_assert(nsec_covers(p, "b.c.example.net", false));
	ldns_pkt_free(p);
}

Test(answer_dnssec, cd_copied_ad_never_set)
{
	struct q_opts o = { .edns = true, .do_bit = true, .cd = true };
	ldns_pkt *p = ask_opts(zs, "www.example.com", LDNS_RR_TYPE_A, &o);

	cr_assert(ldns_pkt_cd(p));
	cr_assert(!ldns_pkt_ad(p));
	ldns_pkt_free(p);
	p = ask_opts(zs, "nope.example.com", LDNS_RR_TYPE_A, &o);
	cr_assert(ldns_pkt_cd(p));
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
}

/* Without DO, or from an unsigned image, the bytes are those of the
 * unsigned answer (same serial: both published at the same clock). */
Test(answer_dnssec, without_do_answers_are_unchanged)
{
	static const struct {
		const char *name;
		ldns_rr_type type;
	} qs[] = {
		{ "www.example.com", LDNS_RR_TYPE_A },    { "www.example.com", LDNS_RR_TYPE_AAAA },
		{ "nope.example.com", LDNS_RR_TYPE_A },   { "www.example.com", LDNS_RR_TYPE_MX },
		{ "b.c.example.com", LDNS_RR_TYPE_A },    { "example.com", LDNS_RR_TYPE_SOA },
		{ "www.example.com", LDNS_RR_TYPE_ANY },  { "www.example.net", LDNS_RR_TYPE_A },
		{ "x.www.example.net", LDNS_RR_TYPE_A },
	};
	static uint8_t a[AHD_MAX_MSG], b[AHD_MAX_MSG];

	for (size_t i = 0; i < AHD_ARRAY_LEN(qs); i++) {
		struct q_opts variants[] = {
			{ .edns = false },
			{ .edns = true },
			{ .edns = true, .transport = ANSWER_TCP },
		};

		for (size_t v = 0; v < AHD_ARRAY_LEN(variants); v++) {
			size_t na = ask_raw(zs, qs[i].name, qs[i].type, &variants[v], a, sizeof(a));
			size_t nb = ask_raw(zu, qs[i].name, qs[i].type, &variants[v], b, sizeof(b));

			cr_assert_gt(na, 0);
			cr_assert_eq(na, nb, "%s: %zu vs %zu bytes", qs[i].name, na, nb);
			cr_assert_eq(memcmp(a, b, na), 0, "%s/%d differs", qs[i].name,
				     (int)qs[i].type);
		}
		/* DO=1 at an unsigned zone: as without DO (plus DO echoed). */
		{
			struct q_opts d = { .edns = true, .do_bit = true };
			struct q_opts e = { .edns = true };
			size_t nd = ask_raw(zu, qs[i].name, qs[i].type, &d, a, sizeof(a));
			size_t ne = ask_raw(zu, qs[i].name, qs[i].type, &e, b, sizeof(b));

			cr_assert_eq(nd, ne);
			/* The OPT TTL's DO bit is the only difference. */
			for (size_t k = 0; k < nd; k++)
				if (a[k] != b[k])
					cr_assert_eq(a[k] ^ b[k], 0x80, "%s: byte %zu", qs[i].name, k);
		}
	}
}

Test(answer_dnssec, out_of_zone_and_axfr_unchanged)
{
	ldns_pkt *p = ask(zs, "www.example.org", LDNS_RR_TYPE_A);

	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	cr_assert_eq(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
	p = ask(zs, "example.com", LDNS_RR_TYPE_AXFR);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(p);
}

TestSuite(answer_dnssec_rsa, .init = setup_rsa, .fini = teardown, .timeout = 60);

/* RSA-2048 signatures (256 bytes each): a 512-byte UDP answer cannot
 * carry the NXDOMAIN proofs or the DNSKEY with its RRSIG: TC, empty
 * sections; TCP and a 1232-byte payload carry everything. */
Test(answer_dnssec_rsa, truncation_keeps_rrsets_and_signatures_together)
{
	struct q_opts small = { .edns = true, .do_bit = true, .payload = 512 };
	struct q_opts tcp = { .edns = true, .do_bit = true, .payload = 512,
			      .transport = ANSWER_TCP };
	ldns_pkt *p = ask_opts(zs, "nope.example.com", LDNS_RR_TYPE_A, &small);

	cr_assert(ldns_pkt_tc(p));
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
	cr_assert(ldns_pkt_edns(p), "the OPT stays");
	ldns_pkt_free(p);

	p = ask_opts(zs, "example.com", LDNS_RR_TYPE_DNSKEY, &small);
	cr_assert(ldns_pkt_tc(p));
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);

	/* A with its RRSIG fits 512. */
	p = ask_opts(zs, "www.example.com", LDNS_RR_TYPE_A, &small);
	expect(p, LDNS_RCODE_NOERROR, "A RRSIG", "", "example.com");
	ldns_pkt_free(p);

	p = ask_opts(zs, "nope.example.com", LDNS_RR_TYPE_A, &tcp);
	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG NSEC RRSIG", "example.com");
	ldns_pkt_free(p);
	p = ask(zs, "nope.example.com", LDNS_RR_TYPE_A);
	expect(p, LDNS_RCODE_NXDOMAIN, "", "SOA RRSIG NSEC RRSIG NSEC RRSIG", "example.com");
	ldns_pkt_free(p);
	p = ask_opts(zs, "example.com", LDNS_RR_TYPE_DNSKEY, &tcp);
	expect(p, LDNS_RCODE_NOERROR, "DNSKEY RRSIG", "", "example.com");
	ldns_pkt_free(p);
}

/* Labels holding a 0 byte (or any byte) have their place in canonical
 * order (RFC 4034 section 6.1) like any other: NXDOMAIN with the NSEC
 * covering the name and the one covering the wildcard, checked with
 * ldns's canonical order and verified signatures. */
Test(answer_dnssec, zero_byte_label_is_nxdomain_with_proof)
{
	static const struct {
		const char *name, *wildcard;
	} qs[] = {
		{ "a\\000b.example.com", "*.example.com" },   /* before api */
		{ "\\000.example.com", "*.example.com" },     /* right after the apex */
		{ "www\\000.example.com", "*.example.com" },  /* after www: the last */
		{ "c\\000x.example.com", "*.example.com" },   /* after c's subtree */
		{ "b\\000.c.example.com", "*.c.example.com" }, /* under the ENT c */
		{ "\\000.deep.b.c.example.com", "*.deep.b.c.example.com" },
		{ "x.api\\000\\001.example.com", "*.example.com" },
		{ "\\000\\000.\\000.example.net", "*.example.net" },
	};
	struct q_opts plain = { .edns = true };

	for (size_t i = 0; i < AHD_ARRAY_LEN(qs); i++) {
		bool net = strstr(qs[i].name, "example.net") != NULL;
		ldns_pkt *p = ask(zs, qs[i].name, LDNS_RR_TYPE_A);
		ldns_rr_list *nsecs;

		cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "%s", qs[i].name);
		nsecs = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY);
		cr_assert_not_null(nsecs, "%s: no NSEC", qs[i].name);
		ldns_rr_list_deep_free(nsecs);
		cr_assert(nsec_covers(p, qs[i].name, false), "%s not covered", qs[i].name);
		cr_assert(nsec_covers(p, qs[i].wildcard, false), "%s: %s not covered",
			  qs[i].name, qs[i].wildcard);
		expect(p, LDNS_RCODE_NXDOMAIN, "",
		       ldns_pkt_nscount(p) == 4 ? "SOA RRSIG NSEC RRSIG"
						: "SOA RRSIG NSEC RRSIG NSEC RRSIG",
		       net ? "example.net" : "example.com");
		ldns_pkt_free(p);
		p = ask_opts(zs, qs[i].name, LDNS_RR_TYPE_A, &plain);
		cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		cr_assert_eq(ldns_pkt_nscount(p), 1);
		ldns_pkt_free(p);
	}
}

/* QTYPE RRSIG gets the name's signatures with or without DO (the
 * original's README documents it); an unsigned zone has none: NODATA. */
Test(answer_dnssec, rrsig_query_without_do)
{
	static const struct {
		const char *name;
		size_t sigs;
	} qs[] = {
		{ "www.example.com", 3 }, /* A, AAAA, NSEC */
		{ "example.com", 4 },     /* NS, SOA, NSEC, DNSKEY */
		{ "api.example.com", 2 }, /* A, NSEC */
		{ "www.example.net", 3 },
	};
	struct q_opts variants[] = {
		{ .edns = false }, { .edns = true }, { .edns = true, .do_bit = true },
	};

	for (size_t i = 0; i < AHD_ARRAY_LEN(qs); i++)
		for (size_t v = 0; v < AHD_ARRAY_LEN(variants); v++) {
			ldns_pkt *p = ask_opts(zs, qs[i].name, LDNS_RR_TYPE_RRSIG, &variants[v]);
			ldns_rr_list *keys = zone_keys(strstr(qs[i].name, "example.net") ?
							       "example.net" : "example.com");
			ldns_rr_list *an = ldns_pkt_answer(p);

			cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
			cr_assert(ldns_pkt_aa(p));
			cr_assert_eq(ldns_rr_list_rr_count(an), qs[i].sigs, "%s/%zu: %zu RRSIGs",
				     qs[i].name, v, ldns_rr_list_rr_count(an));
			for (size_t k = 0; k < qs[i].sigs; k++) {
				ldns_rr *sig = ldns_rr_list_rr(an, k);

				cr_assert_eq(ldns_rr_get_type(sig), LDNS_RR_TYPE_RRSIG);
				cr_assert_eq(ldns_dname_compare(ldns_rr_owner(sig),
								ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0))), 0);
			}
			cr_assert_eq(ldns_pkt_nscount(p), 0);
			ldns_rr_list_deep_free(keys);
			ldns_pkt_free(p);
		}
	/* No RRSIGs at an empty non-terminal, none in an unsigned zone. */
	for (size_t v = 0; v < 2; v++) {
		ldns_pkt *p = ask_opts(v ? zu : zs, v ? "www.example.com" : "b.c.example.com",
				       LDNS_RR_TYPE_RRSIG, &variants[0]);

		cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		cr_assert_eq(ldns_pkt_ancount(p), 0);
		cr_assert_eq(ldns_pkt_nscount(p), 1);
		ldns_pkt_free(p);
	}
}

/* Over a 512-byte UDP limit without EDNS the apex RRSIGs do not fit: TC,
 * empty sections, as any answer; TCP carries them. */
Test(answer_dnssec_rsa, rrsig_query_truncates)
{
	struct q_opts udp = { .edns = false };
	struct q_opts tcp = { .edns = false, .transport = ANSWER_TCP };
	ldns_pkt *p = ask_opts(zs, "example.com", LDNS_RR_TYPE_RRSIG, &udp);

	cr_assert(ldns_pkt_tc(p));
	cr_assert_eq(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
	p = ask_opts(zs, "example.com", LDNS_RR_TYPE_RRSIG, &tcp);
	cr_assert(!ldns_pkt_tc(p));
	cr_assert_eq(ldns_pkt_ancount(p), 4);
	ldns_pkt_free(p);
}

/* ANY at an empty non-terminal: NODATA with DO and without. */
Test(answer_dnssec, any_at_empty_non_terminal_is_nodata)
{
	struct q_opts plain = { .edns = true };
	ldns_pkt *p = ask(zs, "b.c.example.com", LDNS_RR_TYPE_ANY);

	expect(p, LDNS_RCODE_NOERROR, "", "SOA RRSIG NSEC RRSIG", "example.com");
	ldns_pkt_free(p);
	p = ask_opts(zs, "b.c.example.com", LDNS_RR_TYPE_ANY, &plain);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	cr_assert_eq(ldns_pkt_nscount(p), 1);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)),
		     LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);
}

/* CD is copied without DO too (RFC 4035 section 3.1.6: every response). */
Test(answer_dnssec, cd_copied_without_do)
{
	struct q_opts o = { .edns = true, .cd = true };
	struct q_opts n = { .cd = true };
	ldns_pkt *p = ask_opts(zs, "www.example.com", LDNS_RR_TYPE_A, &o);

	cr_assert(ldns_pkt_cd(p));
	ldns_pkt_free(p);
	p = ask_opts(zu, "nope.example.com", LDNS_RR_TYPE_A, &n);
	cr_assert(ldns_pkt_cd(p));
	ldns_pkt_free(p);
}

/* Hostile images: random bytes flipped in the slots must never make a
 * DO answer read outside the slot (ASan) or hang. */
Test(answer_dnssec, corrupt_slots_never_read_out_of_bounds)
{
	static const struct {
		const char *name;
		ldns_rr_type type;
	} qs[] = {
		{ "www.example.com", LDNS_RR_TYPE_A },     { "nope.example.com", LDNS_RR_TYPE_A },
		{ "b.c.example.com", LDNS_RR_TYPE_A },     { "www.example.com", LDNS_RR_TYPE_MX },
		{ "example.com", LDNS_RR_TYPE_ANY },       { "www.example.com", LDNS_RR_TYPE_RRSIG },
		{ "x.deep.b.c.example.net", LDNS_RR_TYPE_A },
	};
	struct q_opts o = { .edns = true, .do_bit = true, .transport = ANSWER_TCP };
	static uint8_t out[AHD_MAX_MSG];
	unsigned seed = 12345;

	size_t size;
	uint8_t *raw = zimg_raw(zs, &size);
	const struct zimg_header *zh = (const struct zimg_header *)raw;

	for (unsigned s = 0; s < 2; s++) {
		uint8_t *slot = raw + zh->slot_off[s];
		struct zimg_slot *h = (struct zimg_slot *)slot;
		size_t used = h->used;
		uint8_t *copy;

		if (h->magic != ZIMG_SLOT_MAGIC || used == 0)
			continue; /* never published */
		cr_assert_leq(used, zimg_slot_have(zs));
		copy = malloc(used);
		cr_assert_not_null(copy);
		memcpy(copy, slot, used);
		for (unsigned round = 0; round < 3000; round++) {
			memcpy(slot, copy, used);
			for (unsigned k = 0; k < 1 + round % 4; k++) {
				size_t at = (size_t)rand_r(&seed) % used;

				slot[at] = (uint8_t)rand_r(&seed);
			}
			for (size_t i = 0; i < AHD_ARRAY_LEN(qs); i++)
				(void)ask_raw(zs, qs[i].name, qs[i].type, &o, out, sizeof(out));
		}
		memcpy(slot, copy, used);
		free(copy);
	}
}
