/*
 * zimg_iter: every RR of a zone of an image, checked against oracles that
 * do not share its code: ldns parses each RR and must re-encode it to the
 * same bytes (so names are whole and uncompressed, RDLENGTH right); the
 * query core's answers, decompressed by ldns, hold the same RRsets; the
 * addresses are the ones the configuration publishes (built here by
 * hand); in a signed image every RRset validates with ldns against the
 * walked DNSKEY and the NSEC chain links the walked names in order.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "dnssec.h"
#include "zimg.h"
#include "zimg_format.h"
#include "zimg_iter.h"
#include "zsign.h"

#define ZONE_FIXTURE_TAG "zimg-iter"
#include "zone_fixture.h"

static void setup(void)
{
	zone_fixture_setup();
}

static void teardown(void)
{
	zone_fixture_teardown();
}

TestSuite(zimg_iter, .init = setup, .fini = teardown, .timeout = 120);

/* One walked RR: ldns's parse, and what the iterator said about it. */
struct wrr {
	ldns_rr *rr;
	uint16_t set_type;
	bool sig;
};

struct walk {
	struct wrr *v;
	size_t n;
};

/* owner + body parsed by ldns, which must re-encode it to the same bytes:
 * a name left compressed or a wrong RDLENGTH cannot pass. */
static ldns_rr *parse_rr(const struct zimg_rr *r)
{
	uint8_t buf[AHD_MAX_NAME_WIRE + ZIMG_ITER_RR_MAX];
	size_t len = r->owner_len + r->body_len, pos = 0, out_len = 0;
	uint8_t *out = NULL;
	ldns_rr *rr = NULL;

	cr_assert_leq(len, sizeof(buf));
	memcpy(buf, r->owner, r->owner_len);
	memcpy(buf + r->owner_len, r->body, r->body_len);
	cr_assert_eq(ldns_wire2rr(&rr, buf, len, &pos, LDNS_SECTION_ANSWER), LDNS_STATUS_OK);
	cr_assert_eq(pos, len);
	cr_assert_eq(ldns_rr2wire(&out, rr, LDNS_SECTION_ANSWER, &out_len), LDNS_STATUS_OK);
	cr_assert_eq(out_len, len);
	cr_assert_eq(memcmp(out, buf, len), 0, "RR does not re-encode to its own bytes");
	free(out);
	cr_assert_eq(ldns_rr_get_type(rr), r->type);
	if (r->sig) {
		cr_assert_eq(r->type, LDNS_RR_TYPE_RRSIG);
		cr_assert_eq(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)), r->set_type);
	} else {
		cr_assert_eq(r->type, r->set_type);
	}
	return rr;
}

static void walk_zone(const uint8_t *slot, size_t size, unsigned zone, struct walk *w)
{
	struct zimg_iter *it = malloc(sizeof(*it));
	struct zimg_rr r;
	int rc;

	cr_assert_not_null(it);
	memset(w, 0, sizeof(*w));
	cr_assert_eq(zimg_iter_init(it, slot, size, zone), 0);
	while ((rc = zimg_iter_next(it, &r)) == 1) {
		w->v = realloc(w->v, (w->n + 1) * sizeof(*w->v));
		cr_assert_not_null(w->v);
		w->v[w->n++] = (struct wrr){parse_rr(&r), r.set_type, r.sig};
	}
	cr_assert_eq(rc, 0);
	free(it);
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		ldns_rr_free(w->v[i].rr);
	free(w->v);
}

/* Names in canonical order (RFC 4034 section 6.1), the apex first; per
 * name, RRsets by type, each one's RRs before its RRSIGs. */
static void check_order(const struct walk *w, const char *apex)
{
	ldns_rdf *a = ldns_dname_new_frm_str(apex);

	cr_assert_gt(w->n, 0);
	cr_assert_eq(ldns_dname_compare(ldns_rr_owner(w->v[0].rr), a), 0);
	for (size_t i = 1; i < w->n; i++) {
		int c = ldns_dname_compare(ldns_rr_owner(w->v[i - 1].rr), ldns_rr_owner(w->v[i].rr));

		cr_assert_leq(c, 0, "owner order at RR %zu", i);
		if (c < 0)
			continue;
		cr_assert(w->v[i - 1].set_type < w->v[i].set_type ||
			  (w->v[i - 1].set_type == w->v[i].set_type &&
			   w->v[i - 1].sig <= w->v[i].sig), "RRset order at RR %zu", i);
	}
	ldns_rdf_deep_free(a);
}

/* The RRs of w whose owner and set type are given (RRSIGs included). */
static ldns_rr_list *select_rrs(const struct walk *w, const ldns_rdf *owner, uint16_t type,
				int sig)
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; i < w->n; i++)
		if (ldns_dname_compare(ldns_rr_owner(w->v[i].rr), owner) == 0 &&
		    w->v[i].set_type == type && (sig < 0 || w->v[i].sig == (sig != 0)))
			ldns_rr_list_push_rr(l, ldns_rr_clone(w->v[i].rr));
	return l;
}

static bool same_set(ldns_rr_list *a, ldns_rr_list *b)
{
	ldns_rr_list_sort(a);
	ldns_rr_list_sort(b);
	return ldns_rr_list_compare(a, b) == 0;
}

/* The answer section the query core gives for (owner, type), DO set. */
static ldns_rr_list *ask(const struct zimg *z, const ldns_rdf *owner, uint16_t type)
{
	uint8_t q[512], r[65535];
	size_t n = 12, len;
	enum answer_kind k;
	ldns_pkt *p = NULL;
	ldns_rr_list *ans;

	memset(q, 0, sizeof(q));
	q[5] = 1;  /* QDCOUNT */
	q[11] = 1; /* ARCOUNT: the OPT */
	memcpy(q + n, ldns_rdf_data(owner), ldns_rdf_size(owner));
	n += ldns_rdf_size(owner);
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	/* OPT: root, type 41, payload 4096, DO */
	memcpy(q + n, "\0\0\x29\x10\0\0\0\x80\0\0\0", 11);
	n += 11;
	len = answer_query(z, q, n, ANSWER_TCP, r, sizeof(r), &k);
	cr_assert_gt(len, 12);
	cr_assert_eq(ldns_wire2pkt(&p, r, len), LDNS_STATUS_OK);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ans = ldns_rr_list_clone(ldns_pkt_answer(p));
	ldns_pkt_free(p);
	return ans;
}

/* Every (owner, type) of the walk is what the query core answers. */
static void check_answers(const struct zimg *z, const struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		ldns_rr_list *mine, *theirs;

		if (w->v[i].sig || (i > 0 && w->v[i - 1].set_type == w->v[i].set_type &&
				    ldns_dname_compare(ldns_rr_owner(w->v[i - 1].rr),
						       ldns_rr_owner(w->v[i].rr)) == 0))
			continue;
		mine = select_rrs(w, ldns_rr_owner(w->v[i].rr), w->v[i].set_type, -1);
		theirs = ask(z, ldns_rr_owner(w->v[i].rr), w->v[i].set_type);
		cr_assert(same_set(mine, theirs), "RRset %zu differs from the answer", i);
		ldns_rr_list_deep_free(mine);
		ldns_rr_list_deep_free(theirs);
	}
}

/* The A and AAAA RRs the configuration publishes under apex (by hand). */
static ldns_rr_list *expected_addrs(const char *apex, const bool *pub)
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; i < cfg.n_entries; i++) {
		const struct config_entry *e = &cfg.entries[i];

		for (size_t j = 0; j < e->n_addrs; j++) {
			char text[256], a[64];
			ldns_rr *rr = NULL;
			bool v6 = e->addrs[j].family == AF_INET6;

			if (e->check != CONFIG_CHECK_NONE && !pub[e->first_addr + j])
				continue;
			inet_ntop(e->addrs[j].family, e->addrs[j].addr, a, sizeof(a));
			snprintf(text, sizeof(text), "%s.%s. 1 IN %s %s", e->name, apex,
				 v6 ? "AAAA" : "A", a);
			cr_assert_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL), LDNS_STATUS_OK);
			ldns_rr_list_push_rr(l, rr);
		}
	}
	return l;
}

static void check_addrs(const struct walk *w, const char *apex, const bool *pub)
{
	ldns_rr_list *want = expected_addrs(apex, pub), *got = ldns_rr_list_new();

	for (size_t i = 0; i < w->n; i++) {
		ldns_rr_type t = ldns_rr_get_type(w->v[i].rr);

		if (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) {
			ldns_rr *c = ldns_rr_clone(w->v[i].rr);

			ldns_rr_set_ttl(c, 1); /* the TTL is the answers' business */
			ldns_rr_list_push_rr(got, c);
		}
	}
	cr_assert(same_set(want, got), "published addresses differ");
	ldns_rr_list_deep_free(want);
	ldns_rr_list_deep_free(got);
}

/* Each RRset validates with the walked DNSKEY; the NSEC chain runs
 * through the walked owners with RRsets, in order, back to the apex. */
static void check_signed(const struct walk *w, const char *apex)
{
	ldns_rdf *a = ldns_dname_new_frm_str(apex);
	ldns_rr_list *keys = select_rrs(w, a, LDNS_RR_TYPE_DNSKEY, 0);
	ldns_rr_list *nsecs = ldns_rr_list_new();
	size_t sets = 0;

	cr_assert_eq(ldns_rr_list_rr_count(keys), 1);
	for (size_t i = 0; i < w->n; i++) {
		ldns_rr_list *set, *sigs;

		if (!w->v[i].sig && w->v[i].set_type == LDNS_RR_TYPE_NSEC)
			ldns_rr_list_push_rr(nsecs, w->v[i].rr);
		if (w->v[i].sig || (i > 0 && !w->v[i - 1].sig &&
				    w->v[i - 1].set_type == w->v[i].set_type &&
				    ldns_dname_compare(ldns_rr_owner(w->v[i - 1].rr),
						       ldns_rr_owner(w->v[i].rr)) == 0))
			continue;
		set = select_rrs(w, ldns_rr_owner(w->v[i].rr), w->v[i].set_type, 0);
		sigs = select_rrs(w, ldns_rr_owner(w->v[i].rr), w->v[i].set_type, 1);
		cr_assert_geq(ldns_rr_list_rr_count(sigs), 1);
		cr_assert_eq(ldns_verify(set, sigs, keys, NULL), LDNS_STATUS_OK,
			     "RRset %zu does not validate", i);
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
		sets++;
	}
	cr_assert_gt(sets, 3);
	cr_assert_gt(ldns_rr_list_rr_count(nsecs), 0);
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		ldns_rr *cur = ldns_rr_list_rr(nsecs, i);
		ldns_rdf *next = ldns_rr_rdf(cur, 0);
		const ldns_rdf *want = i + 1 < ldns_rr_list_rr_count(nsecs)
					       ? ldns_rr_owner(ldns_rr_list_rr(nsecs, i + 1))
					       : a;

		cr_assert_eq(ldns_dname_compare(next, want), 0, "NSEC chain broken at %zu", i);
	}
	ldns_rr_list_free(nsecs);
	ldns_rr_list_deep_free(keys);
	ldns_rdf_deep_free(a);
}

static uint8_t *active(const struct zimg *z, size_t *len)
{
	uint8_t *s = zimg_copy_active(z, len);

	cr_assert_not_null(s);
	return s;
}

static void check_image(const struct zimg *z, const bool *pub, bool sign)
{
	static const char *apexes[] = {"example.com", "example.net"};
	size_t len;
	uint8_t *s = active(z, &len);

	cr_assert_eq(zimg_slot_zones(s, len), 2);
	cr_assert_eq(zimg_slot_serial(s, len), zimg_serial(z));
	for (unsigned zi = 0; zi < 2; zi++) {
		struct walk w;

		walk_zone(s, len, zi, &w);
		check_order(&w, apexes[zi]);
		check_answers(z, &w);
		check_addrs(&w, apexes[zi], pub);
		if (sign)
			check_signed(&w, apexes[zi]);
		walk_free(&w);
	}
	free(s);
}

static bool pub_some[7] = {false, true, false, false, true, true, false};
static bool pub_all[7] = {true, true, true, true, true, true, true};

Test(zimg_iter, unsigned_matches_answers_and_config)
{
	struct zimg *z = zimg_new_mem(&cfg);

	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_at(z, &cfg, pub_some, 1700000000, NULL), 0);
	check_image(z, pub_some, false);
	cr_assert_eq(zimg_publish_at(z, &cfg, pub_all, 1700000010, NULL), 0);
	check_image(z, pub_all, false);
	zimg_close(z);
}

static struct dnssec_key *genkey(void)
{
	char cmd[256], path[128];
	struct dnssec_key *k;

	snprintf(path, sizeof(path), "%s/key.pem", tdir);
	snprintf(cmd, sizeof(cmd),
		 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s'", path);
	cr_assert_eq(system(cmd), 0);
	k = dnssec_key_load(path, CONFIG_ALG_ECDSAP256SHA256);
	cr_assert_not_null(k);
	return k;
}

Test(zimg_iter, signed_validates_with_ldns)
{
	struct dnssec_key *k;
	struct zimg_signer *sg;
	struct zimg *z;

	cfg.priv_key_path = "unused";
	cfg.priv_key_alg = CONFIG_ALG_ECDSAP256SHA256;
	k = genkey();
	sg = zimg_signer_new(k);
	z = zimg_new_mem(&cfg);
	cr_assert_not_null(sg);
	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_signed(z, &cfg, pub_some, sg, time(NULL), NULL), 0);
	check_image(z, pub_some, true);
	cr_assert_eq(zimg_publish_signed(z, &cfg, pub_all, sg, time(NULL), NULL), 0);
	check_image(z, pub_all, true);
	zimg_close(z);
	zimg_signer_free(sg);
	dnssec_key_free(k);
}

/* The apex SOA, also in the middle of a walk, which it leaves intact. */
Test(zimg_iter, soa_and_zone_lookup)
{
	struct zimg *z = zimg_new_mem(&cfg);
	struct zimg_iter *it = malloc(sizeof(*it));
	struct zimg_rr r, soa;
	size_t len, n = 0, n_plain = 0;
	uint8_t *s;
	struct walk w;
	ldns_rr *soa_rr;
	int rc;

	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_at(z, &cfg, pub_all, 1700000000, NULL), 0);
	s = active(z, &len);
	cr_assert_eq(zimg_slot_find_zone(s, len, (const uint8_t *)"\7example\3net", 13), 1);
	cr_assert_eq(zimg_slot_find_zone(s, len, (const uint8_t *)"\7example\3com", 13), 0);
	cr_assert_eq(zimg_slot_find_zone(s, len, (const uint8_t *)"\7example\3org", 13), -1);
	cr_assert_eq(zimg_iter_init(it, s, len, 2), -1);

	walk_zone(s, len, 1, &w);
	n_plain = w.n;
	cr_assert_eq(zimg_iter_init(it, s, len, 1), 0);
	while ((rc = zimg_iter_next(it, &r)) == 1) {
		ldns_rr *got = parse_rr(&r);

		cr_assert_lt(n, w.n);
		cr_assert_eq(ldns_rr_compare(got, w.v[n].rr), 0, "walk disturbed at %zu", n);
		ldns_rr_free(got);
		n++;
		cr_assert_eq(zimg_iter_soa(it, &soa), 0);
		soa_rr = parse_rr(&soa);
		/* the walk's SOA is the second RRset of the apex (NS SOA) */
		cr_assert_eq(ldns_rr_get_type(soa_rr), LDNS_RR_TYPE_SOA);
		cr_assert_eq(ldns_rr_compare(soa_rr, w.v[2].rr), 0);
		cr_assert_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa_rr, 2)), zimg_serial(z));
		ldns_rr_free(soa_rr);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(n, n_plain);
	walk_free(&w);
	free(s);
	free(it);
	zimg_close(z);
}

/* A damaged slot yields -1 or a shorter walk, never a read outside it
 * (the sanitizers watch) nor an endless one. */
Test(zimg_iter, damaged_slots_are_refused_safely)
{
	struct zimg *z = zimg_new_mem(&cfg);
	struct zimg_iter *it = malloc(sizeof(*it));
	size_t len;
	uint8_t *s, *d;
	unsigned seed = 12345, corrupt = 0;

	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_at(z, &cfg, pub_all, 1700000000, NULL), 0);
	s = active(z, &len);
	for (int round = 0; round < 3000; round++) {
		struct zimg_rr r;
		int rc = 0;

		d = malloc(len); /* exact size: ASan sees any read past it */
		memcpy(d, s, len);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			d[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		for (unsigned zi = 0; zi < 2; zi++) {
			size_t steps = 0;

			if (zimg_iter_init(it, d, len, zi) < 0)
				continue;
			while ((rc = zimg_iter_next(it, &r)) == 1) {
				cr_assert_leq(r.body_len, ZIMG_ITER_RR_MAX);
				cr_assert_lt(++steps, 1000000);
			}
			corrupt += rc < 0;
			if (zimg_iter_soa(it, &r) == 0)
				cr_assert_geq(r.body_len, ZIMG_RR_HDR);
		}
		free(d);
	}
	cr_assert_gt(corrupt, 0);
	free(s);
	free(it);
	zimg_close(z);
}
