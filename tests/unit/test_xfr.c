/*
 * Zone transfers from an image (xfr.c, xfr_msg.c): every message parsed
 * with ldns and compared with what the configuration says the zone
 * holds, the access list, the IXFR cases of RFC 1995 and the refusals.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "config.h"
#include "xfr.h"
#include "zimg.h"

#define CAP 65535

static struct config cfg;
static struct config_entry entries[3];
static struct config_addr addrs[3][2];
static char *ns[] = {"ns1.example.com", "ns2.example.com"};
static char *aliases[] = {"example.net"};
static struct tsig_key nokey;

static void setup(void)
{
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
	cfg.n_entries = 2;
	cfg.n_addrs_total = 3;
	entries[0] = (struct config_entry){.name = "www", .addrs = addrs[0], .n_addrs = 1,
					   .first_addr = 0, .ttl = -1, .rise = 1, .fall = 1};
	entries[1] = (struct config_entry){.name = "api.v1", .addrs = addrs[1], .n_addrs = 2,
					   .first_addr = 1, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	addrs[0][0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", addrs[0][0].addr);
	addrs[1][0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", addrs[1][0].addr);
	addrs[1][1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::11", addrs[1][1].addr);
	/* Transfers allowed to 127.0.0.1 and ::1 only. */
	cfg.transfer_allow[0] = (struct config_prefix){.family = AF_INET, .len = 32};
	inet_pton(AF_INET, "127.0.0.1", cfg.transfer_allow[0].addr);
	cfg.transfer_allow[1] = (struct config_prefix){.family = AF_INET6, .len = 128};
	inet_pton(AF_INET6, "::1", cfg.transfer_allow[1].addr);
	cfg.n_transfer_allow = 2;
}

TestSuite(xfr, .init = setup);

static struct zimg *image(const bool *published)
{
	struct zimg *z = zimg_new_mem(&cfg);

	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish(z, &cfg, published, NULL), 0);
	return z;
}

static struct sockaddr_in peer4(const char *addr)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5353)};

	cr_assert_eq(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	return a;
}

/* A transfer request built with ldns; serial >= 0 adds IXFR's SOA. */
static size_t request(uint8_t *out, const char *zone, ldns_rr_type type, int64_t serial)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	cr_assert_eq(ldns_pkt_query_new_frm_str(&p, zone, type, LDNS_RR_CLASS_IN, 0),
		     LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x4242);
	if (serial >= 0) {
		char text[256];
		ldns_rr *soa = NULL;

		snprintf(text, sizeof(text), "%s 0 IN SOA . . %lld 0 0 0 0", zone, (long long)serial);
		cr_assert_eq(ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
	}
	cr_assert_eq(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

struct got {
	ldns_rr_list *rrs; /* every answer RR of every message, in order */
	unsigned msgs;
	int rcode;         /* of the first message */
	size_t bytes;
};

/* Run one transfer to completion over TCP (or UDP) and parse it. */
static struct got transfer(struct xfr_ctx *x, const char *from, const uint8_t *q, size_t ql,
			   bool tcp)
{
	static uint8_t out[CAP];
	struct sockaddr_in peer = peer4(from);
	struct got g = {.rrs = ldns_rr_list_new(), .rcode = -1};
	void *stream = NULL;
	bool done = false;
	size_t n = xfr_answer(x, (struct sockaddr *)&peer, q, ql, tcp, 512, out, sizeof(out),
			      tcp ? &stream : NULL, 1700000000, 0);

	cr_assert_neq(n, XFR_NOT_MINE);
	while (n > 0) {
		ldns_pkt *p = NULL;

		cr_assert_eq(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK, "message %u", g.msgs);
		cr_assert_eq(ldns_pkt_id(p), 0x4242);
		cr_assert(ldns_pkt_qr(p));
		cr_assert_leq(n, tcp ? XFR_MSG_TARGET : 512);
		if (g.msgs == 0)
			g.rcode = ldns_pkt_get_rcode(p);
		ldns_rr_list_push_rr_list(g.rrs, ldns_pkt_answer(p));
		ldns_rr_list_free(ldns_pkt_answer(p));
		ldns_pkt_set_answer(p, ldns_rr_list_new());
		ldns_pkt_free(p);
		g.msgs++;
		g.bytes += n;
		if (stream == NULL)
			break;
		n = xfr_more(stream, out, sizeof(out), &done);
		if (done || n == 0) {
			cr_assert(done, "a stream ended without its last message");
			xfr_free(x, stream);
			stream = NULL;
		}
	}
	cr_assert_eq(x->streams, 0);
	return g;
}

static void got_free(struct got *g)
{
	ldns_rr_list_deep_free(g->rrs);
}

static size_t count_type(const ldns_rr_list *l, ldns_rr_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		n += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t;
	return n;
}

static bool has_rr(const ldns_rr_list *l, const char *text)
{
	ldns_rr *want = NULL;
	bool found = false;

	cr_assert_eq(ldns_rr_new_frm_str(&want, text, 0, NULL, NULL), LDNS_STATUS_OK, "%s", text);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !found; i++) {
		ldns_rr *r = ldns_rr_clone(ldns_rr_list_rr(l, i));

		ldns_rr_set_ttl(r, ldns_rr_ttl(want));
		found = ldns_rr_compare(r, want) == 0;
		ldns_rr_free(r);
	}
	ldns_rr_free(want);
	return found;
}

Test(xfr, axfr_is_the_zone_between_two_soas)
{
	bool pub[3] = {true, false, true};
	struct zimg *z = image(pub);
	struct xfr_ctx x = {.z = z, .key = &nokey};
	uint8_t q[512];
	size_t ql = request(q, "example.com.", LDNS_RR_TYPE_AXFR, -1);
	struct got g = transfer(&x, "127.0.0.1", q, ql, true);
	size_t n = ldns_rr_list_rr_count(g.rrs);

	cr_assert_eq(g.rcode, LDNS_RCODE_NOERROR);
	cr_assert_geq(n, 2);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(g.rrs, 0)), LDNS_RR_TYPE_SOA);
	cr_assert_eq(ldns_rr_compare(ldns_rr_list_rr(g.rrs, 0), ldns_rr_list_rr(g.rrs, n - 1)), 0);
	cr_assert_eq(ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(g.rrs, 0), 2)),
		     zimg_serial(z));
	/* What the configuration publishes, and nothing else. */
	cr_assert_eq(count_type(g.rrs, LDNS_RR_TYPE_SOA), 2);
	cr_assert(has_rr(g.rrs, "example.com. 60 IN NS ns1.example.com."));
	cr_assert(has_rr(g.rrs, "example.com. 60 IN NS ns2.example.com."));
	cr_assert(has_rr(g.rrs, "www.example.com. 60 IN A 192.0.2.1"));
	cr_assert(has_rr(g.rrs, "api.v1.example.com. 60 IN AAAA 2001:db8::11"));
	cr_assert_not(has_rr(g.rrs, "api.v1.example.com. 60 IN A 192.0.2.10"));
	cr_assert_eq(count_type(g.rrs, LDNS_RR_TYPE_NS), 2);
	cr_assert_eq(count_type(g.rrs, LDNS_RR_TYPE_A), 1);
	cr_assert_eq(count_type(g.rrs, LDNS_RR_TYPE_AAAA), 1);
	cr_assert_eq(n, 6);
	got_free(&g);
	/* The alias zone is its own zone, with its own names. */
	ql = request(q, "example.net.", LDNS_RR_TYPE_AXFR, -1);
	g = transfer(&x, "127.0.0.1", q, ql, true);
	cr_assert_eq(g.rcode, LDNS_RCODE_NOERROR);
	cr_assert(has_rr(g.rrs, "www.example.net. 60 IN A 192.0.2.1"));
	cr_assert_eq(ldns_rr_list_rr_count(g.rrs), 6);
	got_free(&g);
	zimg_close(z);
}

Test(xfr, a_large_zone_takes_many_compressed_messages)
{
	enum { N = 3000 };
	static struct config_entry big[N];
	static struct config_addr big_addrs[N];
	static char names[N][16];
	struct zimg *z;
	struct xfr_ctx x;
	uint8_t q[512];
	size_t ql, raw = 0;
	struct got g;

	for (unsigned i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "host%u", i);
		big_addrs[i].family = AF_INET;
		big_addrs[i].addr[0] = 10;
		big_addrs[i].addr[2] = (uint8_t)(i >> 8);
		big_addrs[i].addr[3] = (uint8_t)i;
		big[i] = (struct config_entry){.name = names[i], .addrs = &big_addrs[i],
					       .n_addrs = 1, .first_addr = i, .ttl = -1,
					       .rise = 1, .fall = 1};
	}
	cfg.entries = big;
	cfg.n_entries = N;
	cfg.n_addrs_total = N;
	z = image(NULL);
	x = (struct xfr_ctx){.z = z, .key = &nokey};
	ql = request(q, "example.com.", LDNS_RR_TYPE_AXFR, -1);
	g = transfer(&x, "127.0.0.1", q, ql, true);
	cr_assert_eq(g.rcode, LDNS_RCODE_NOERROR);
	cr_assert_eq(count_type(g.rrs, LDNS_RR_TYPE_A), N);
	cr_assert_eq(ldns_rr_list_rr_count(g.rrs), N + 2 + 2);
	cr_assert_gt(g.msgs, 3);
	/* Owners point at the apex: far below the uncompressed size. */
	for (size_t i = 0; i < ldns_rr_list_rr_count(g.rrs); i++)
		raw += ldns_rr_uncompressed_size(ldns_rr_list_rr(g.rrs, i));
	cr_assert_lt(g.bytes, raw * 3 / 4, "%zu bytes sent, %zu uncompressed", g.bytes, raw);
	got_free(&g);
	zimg_close(z);
}

Test(xfr, refused_outside_the_access_list)
{
	struct zimg *z = image(NULL);
	struct xfr_ctx x = {.z = z, .key = &nokey};
	uint8_t q[512];
	size_t ql = request(q, "example.com.", LDNS_RR_TYPE_AXFR, -1);
	struct got g = transfer(&x, "127.0.0.2", q, ql, true);

	cr_assert_eq(g.rcode, LDNS_RCODE_REFUSED);
	cr_assert_eq(ldns_rr_list_rr_count(g.rrs), 0);
	cr_assert_eq(x.n.refused, 1);
	got_free(&g);
	zimg_close(z);
	/* An empty list refuses everyone. */
	cfg.n_transfer_allow = 0;
	z = image(NULL);
	x.z = z;
	g = transfer(&x, "127.0.0.1", q, ql, true);
	cr_assert_eq(g.rcode, LDNS_RCODE_REFUSED);
	got_free(&g);
	zimg_close(z);
}

Test(xfr, acl_prefixes_match_on_bit_boundaries)
{
	struct config_prefix p = {.family = AF_INET, .len = 23};
	uint8_t a[16] = {0};

	inet_pton(AF_INET, "10.1.2.0", p.addr);
	inet_pton(AF_INET, "10.1.3.255", a);
	cr_assert(xfr_acl_match(&p, 1, AF_INET, a));
	inet_pton(AF_INET, "10.1.4.0", a);
	cr_assert_not(xfr_acl_match(&p, 1, AF_INET, a));
	inet_pton(AF_INET, "10.1.1.255", a);
	cr_assert_not(xfr_acl_match(&p, 1, AF_INET, a));
	cr_assert_not(xfr_acl_match(&p, 1, AF_INET6, a));
	p.len = 0;
	cr_assert(xfr_acl_match(&p, 1, AF_INET, a));
}

Test(xfr, ixfr_from_the_current_serial_is_the_soa_alone)
{
	struct zimg *z = image(NULL);
	struct xfr_ctx x = {.z = z, .key = &nokey};
	uint8_t q[512];
	size_t ql = request(q, "example.com.", LDNS_RR_TYPE_IXFR, zimg_serial(z));
	struct got g = transfer(&x, "127.0.0.1", q, ql, true);

	cr_assert_eq(g.rcode, LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_rr_list_rr_count(g.rrs), 1);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(g.rrs, 0)), LDNS_RR_TYPE_SOA);
	got_free(&g);
	/* A serial newer than ours (RFC 1982): the same. */
	ql = request(q, "example.com.", LDNS_RR_TYPE_IXFR, (uint32_t)(zimg_serial(z) + 5));
	g = transfer(&x, "127.0.0.1", q, ql, true);
	cr_assert_eq(ldns_rr_list_rr_count(g.rrs), 1);
	got_free(&g);
	zimg_close(z);
}

Test(xfr, ixfr_from_an_unknown_serial_is_the_whole_zone)
{
	struct zimg *z = image(NULL);
	struct xfr_ctx x = {.z = z, .key = &nokey};
	uint8_t q[512];
	size_t ql = request(q, "example.com.", LDNS_RR_TYPE_IXFR, zimg_serial(z) - 1000);
	struct got g = transfer(&x, "127.0.0.1", q, ql, true);
	size_t n = ldns_rr_list_rr_count(g.rrs);

	/* RFC 1995 section 4: AXFR's format, SOA first and last. */
	cr_assert_eq(g.rcode, LDNS_RCODE_NOERROR);
	cr_assert_eq(n, 5); /* SOA, 2 NS, www A, SOA */
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(g.rrs, 1)), LDNS_RR_TYPE_NS);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(g.rrs, n - 1)), LDNS_RR_TYPE_SOA);
	got_free(&g);
	zimg_close(z);
}

Test(xfr, over_udp_axfr_is_notimp_and_a_large_ixfr_is_the_soa)
{
	struct zimg *z;
	struct xfr_ctx x;
	uint8_t q[512];
	size_t ql;
	struct got g;

	cfg.n_entries = 1; /* www only: the zone fits 512 bytes */
	z = image(NULL);
	x = (struct xfr_ctx){.z = z, .key = &nokey};
	ql = request(q, "example.com.", LDNS_RR_TYPE_AXFR, -1);
	g = transfer(&x, "127.0.0.1", q, ql, false);
	cr_assert_eq(g.rcode, LDNS_RCODE_NOTIMPL);
	got_free(&g);
	ql = request(q, "example.com.", LDNS_RR_TYPE_IXFR, 1);
	g = transfer(&x, "127.0.0.1", q, ql, false);
	cr_assert_eq(g.rcode, LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_rr_list_rr_count(g.rrs), 5, "the whole small zone fits");
	got_free(&g);
	zimg_close(z);
}

Test(xfr, names_that_are_not_an_apex)
{
	struct zimg *z = image(NULL);
	struct xfr_ctx x = {.z = z, .key = &nokey};
	uint8_t q[512];
	size_t ql = request(q, "www.example.com.", LDNS_RR_TYPE_AXFR, -1);
	struct got g = transfer(&x, "127.0.0.1", q, ql, true);

	cr_assert_eq(g.rcode, LDNS_RCODE_NOTAUTH);
	got_free(&g);
	ql = request(q, "example.org.", LDNS_RR_TYPE_AXFR, -1);
	g = transfer(&x, "127.0.0.1", q, ql, true);
	cr_assert_eq(g.rcode, LDNS_RCODE_REFUSED);
	got_free(&g);
	zimg_close(z);
}

Test(xfr, only_transfer_requests_are_taken)
{
	uint8_t q[512];
	size_t ql = request(q, "example.com.", LDNS_RR_TYPE_AXFR, -1);

	cr_assert(xfr_is_request(q, ql));
	ql = request(q, "example.com.", LDNS_RR_TYPE_IXFR, 7);
	cr_assert(xfr_is_request(q, ql));
	ql = request(q, "example.com.", LDNS_RR_TYPE_SOA, -1);
	cr_assert_not(xfr_is_request(q, ql));
	q[2] |= 0x80; /* a response */
	cr_assert_not(xfr_is_request(q, ql));
	cr_assert_not(xfr_is_request(q, 11));
}
