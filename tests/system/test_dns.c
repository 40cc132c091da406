/*
 * DESIGN §2 over the wire: the real binary on a loopback port,
 * queries built with ldns (or by hand for malformed ones), replies parsed
 * with ldns_wire2pkt and checked byte by byte where flags matter.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "example.test"
#define ALIAS "alias.test"

/* --test-min-interval 10: A TTL 20, NS/SOA TTL 600, refresh 200, retry
 * 20, expire 100, minimum 20, negative TTL min(600, 20) = 20. */
static const char *const base_args[] = {
	"--hosted-zone", ZONE,
	"--alias-zones", "[\"" ALIAS "\"]",
	"--ns", "[\"ns1." ZONE "\", \"ns2.example.net\"]",
	"--zone-resolutions",
	"{\"www\": [\"192.0.2.1\", \"2001:db8::1\"],"
	" \"multi\": [\"192.0.2.10\", \"192.0.2.11\"],"
	" \"v6\": [\"2001:db8::2\"],"
	" \"leaf.parent\": [\"192.0.2.2\"]}",
	"--test-min-interval", "10",
	"--workers", "2",
	NULL,
};

static struct sys_server srv;

static void dns_start(void)
{
	cr_assert_eq(sys_server_start(&srv, base_args), 0, "the server did not start");
}

static void dns_stop(void)
{
	cr_expect_eq(sys_server_stop(&srv), 0, "the server did not stop cleanly");
}

TestSuite(dns, .init = dns_start, .fini = dns_stop, .timeout = 30);

struct reply {
	uint8_t q[512];
	size_t qlen;
	uint8_t raw[4096];
	ssize_t len;
	ldns_pkt *pkt;
};

static uint16_t next_id(void)
{
	static uint16_t id = 0x4a21;

	return id += 0x0101;
}

/* Send r->q; a reply must come and parse. */
static void ask_wire(struct reply *r)
{
	r->len = sys_exchange(sys_addr(), srv.port, r->q, r->qlen, r->raw,
			      sizeof(r->raw), 2000);
	cr_assert_gt(r->len, 0, "no reply");
	cr_assert_geq(r->len, 12, "reply shorter than a header");
	r->pkt = NULL;
	cr_assert_eq(ldns_wire2pkt(&r->pkt, r->raw, (size_t)r->len), LDNS_STATUS_OK,
		     "reply does not parse");
}

static void build(struct reply *r, const char *name, ldns_rr_type t,
		  ldns_rr_class c, uint16_t flags)
{
	ldns_rdf *d = ldns_dname_new_frm_str(name);
	ldns_pkt *q;
	uint8_t *wire = NULL;
	size_t wlen = 0;

	cr_assert_not_null(d);
	q = ldns_pkt_query_new(d, t, c, flags);
	cr_assert_not_null(q);
	ldns_pkt_set_id(q, next_id());
	cr_assert_eq(ldns_pkt2wire(&wire, q, &wlen), LDNS_STATUS_OK);
	cr_assert_leq(wlen, sizeof(r->q));
	memcpy(r->q, wire, wlen);
	r->qlen = wlen;
	LDNS_FREE(wire);
	ldns_pkt_free(q);
}

static void ask(struct reply *r, const char *name, ldns_rr_type t,
		ldns_rr_class c, bool rd)
{
	build(r, name, t, c, rd ? LDNS_RD : 0);
	ask_wire(r);
}

static void done(struct reply *r)
{
	ldns_pkt_free(r->pkt);
	r->pkt = NULL;
}

/* Header rules of DESIGN §2, checked on the raw bytes; the question must be
 * echoed byte for byte (case included). */
static void expect_header(const struct reply *r, int rcode, bool aa)
{
	const uint8_t *a = r->raw, *q = r->q;

	cr_expect_eq(a[0], q[0], "ID not echoed");
	cr_expect_eq(a[1], q[1], "ID not echoed");
	cr_expect(a[2] & 0x80, "QR clear");
	cr_expect_eq((a[2] >> 3) & 0xf, (q[2] >> 3) & 0xf, "opcode changed");
	cr_expect_eq(!!(a[2] & 0x04), aa, "AA should be %d", aa);
	cr_expect_eq(a[2] & 0x02, 0, "TC set");
	cr_expect_eq(a[2] & 0x01, q[2] & 0x01, "RD not copied");
	cr_expect_eq(a[3] & 0x80, 0, "RA set");
	cr_expect_eq(a[3] & 0x40, 0, "Z set");
	cr_expect_eq(a[3] & 0x20, 0, "AD set");
	cr_expect_eq(a[3] & 0x10, q[3] & 0x10, "CD not copied (RFC 4035 3.1.6)");
	cr_expect_eq(a[3] & 0x0f, rcode, "rcode %d, expected %d", a[3] & 0x0f, rcode);
	cr_assert_eq(a[4], 0);
	cr_assert_eq(a[5], 1, "QDCOUNT must be 1");
	cr_assert_geq((size_t)r->len, r->qlen);
	cr_expect(memcmp(a + 12, q + 12, r->qlen - 12) == 0,
		  "question not echoed verbatim");
}

static char *rdf_str(const ldns_rdf *f)
{
	char *s = ldns_rdf2str(f);

	cr_assert_not_null(s);
	return s;
}

static void expect_name(const ldns_rdf *f, const char *want)
{
	char *s = rdf_str(f);

	cr_expect(strcasecmp(s, want) == 0, "name %s, expected %s", s, want);
	free(s);
}

/* One record of the given type, owner, TTL and (text) first rdata. */
static void expect_rr(const ldns_rr *rr, const char *owner, ldns_rr_type t,
		      uint32_t ttl, const char *rdata)
{
	cr_assert_not_null(rr);
	cr_expect_eq(ldns_rr_get_type(rr), t, "type %d, expected %d",
		     ldns_rr_get_type(rr), t);
	cr_expect_eq(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	expect_name(ldns_rr_owner(rr), owner);
	cr_expect_eq(ldns_rr_ttl(rr), ttl, "TTL %u, expected %u", ldns_rr_ttl(rr), ttl);
	if (rdata != NULL) {
		char *s = rdf_str(ldns_rr_rdf(rr, 0));

		cr_expect(strcasecmp(s, rdata) == 0, "rdata %s, expected %s", s, rdata);
		free(s);
	}
}

/* Negative answer: empty answer, the apex SOA in authority with the
 * RFC 2308 TTL min(SOA TTL, MINIMUM) = 20. */
static void expect_negative(const struct reply *r, int rcode, const char *apex)
{
	ldns_rr_list *auth = ldns_pkt_authority(r->pkt);
	ldns_rr *soa = NULL;

	expect_header(r, rcode, true);
	cr_expect_eq(ldns_pkt_ancount(r->pkt), 0, "answer not empty");
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(auth, i)) == LDNS_RR_TYPE_SOA)
			soa = ldns_rr_list_rr(auth, i);
	}
	cr_assert_not_null(soa, "no SOA in authority");
	expect_rr(soa, apex, LDNS_RR_TYPE_SOA, 20, NULL);
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 20, "MINIMUM");
}

/* The addresses of the answer's records of type t, sorted text. */
static void expect_addrs(const struct reply *r, ldns_rr_type t,
			 const char *const *want, size_t n, const char *owner)
{
	ldns_rr_list *an = ldns_pkt_answer(r->pkt);
	size_t count = 0;

	cr_assert_eq(ldns_rr_list_rr_count(an), n, "%zu answers, expected %zu",
		     ldns_rr_list_rr_count(an), n);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *s = rdf_str(ldns_rr_rdf(rr, 0));

		expect_rr(rr, owner, t, 20, NULL);
		for (size_t j = 0; j < n; j++)
			count += strcmp(s, want[j]) == 0;
		free(s);
	}
	cr_expect_eq(count, n, "the addresses differ from the configured ones");
}

Test(dns, a_record_with_rd)
{
	struct reply r;
	static const char *const want[] = {"192.0.2.1"};

	ask(&r, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	expect_addrs(&r, LDNS_RR_TYPE_A, want, 1, "www." ZONE ".");
	done(&r);
}

Test(dns, rd_clear_is_copied)
{
	struct reply r;

	ask(&r, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	cr_assert_eq(r.q[2] & 1, 0);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(ldns_pkt_ancount(r.pkt), 1);
	done(&r);
}

Test(dns, ad_in_query_not_echoed_cd_copied)
{
	struct reply r;

	build(&r, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD | LDNS_AD | LDNS_CD);
	cr_assert_eq(r.q[3] & 0x30, 0x30, "the query must carry AD and CD");
	ask_wire(&r);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(ldns_pkt_ancount(r.pkt), 1);
	done(&r);
}

Test(dns, aaaa_record)
{
	struct reply r;
	static const char *const want[] = {"2001:db8::1"};

	ask(&r, "www." ZONE, LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	expect_addrs(&r, LDNS_RR_TYPE_AAAA, want, 1, "www." ZONE ".");
	done(&r);
}

Test(dns, several_addresses)
{
	struct reply r;
	static const char *const want[] = {"192.0.2.10", "192.0.2.11"};

	ask(&r, "multi." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	expect_addrs(&r, LDNS_RR_TYPE_A, want, 2, "multi." ZONE ".");
	done(&r);
}

Test(dns, names_match_case_insensitively_and_case_is_echoed)
{
	struct reply r;
	static const char *const want[] = {"192.0.2.1"};

	ask(&r, "WwW.ExAmPlE.TeSt", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	cr_assert(memmem(r.q, r.qlen, "WwW", 3) != NULL, "query lost its case");
	/* expect_header compares the echoed question byte for byte. */
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	expect_addrs(&r, LDNS_RR_TYPE_A, want, 1, "www." ZONE ".");
	done(&r);
}

Test(dns, soa_at_apex_with_derived_timers)
{
	struct reply r;
	ldns_rr *soa;

	ask(&r, ZONE, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, false);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	cr_assert_eq(ldns_pkt_ancount(r.pkt), 1);
	soa = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
	expect_rr(soa, ZONE ".", LDNS_RR_TYPE_SOA, 600, "ns1." ZONE ".");
	expect_name(ldns_rr_rdf(soa, 1), "hostmaster." ZONE ".");
	cr_expect_gt(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 0, "serial");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 3)), 200, "refresh");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 4)), 20, "retry");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 5)), 100, "expire");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 20, "minimum");
	done(&r);
}

Test(dns, ns_at_apex)
{
	struct reply r;
	ldns_rr_list *an;
	int seen1 = 0, seen2 = 0;

	ask(&r, ZONE, LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, false);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	an = ldns_pkt_answer(r.pkt);
	cr_assert_eq(ldns_rr_list_rr_count(an), 2);
	for (size_t i = 0; i < 2; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *s = rdf_str(ldns_rr_rdf(rr, 0));

		expect_rr(rr, ZONE ".", LDNS_RR_TYPE_NS, 600, NULL);
		seen1 += strcasecmp(s, "ns1." ZONE ".") == 0;
		seen2 += strcasecmp(s, "ns2.example.net.") == 0;
		free(s);
	}
	cr_expect_eq(seen1, 1);
	cr_expect_eq(seen2, 1);
	done(&r);
}

Test(dns, nxdomain_with_soa)
{
	struct reply r;

	ask(&r, "nothere." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NXDOMAIN, ZONE ".");
	done(&r);
	ask(&r, "x.leaf.parent." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NXDOMAIN, ZONE ".");
	done(&r);
}

Test(dns, nodata_for_other_type)
{
	struct reply r;

	ask(&r, "www." ZONE, LDNS_RR_TYPE_MX, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NOERROR, ZONE ".");
	done(&r);
	ask(&r, "v6." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NOERROR, ZONE ".");
	done(&r);
}

Test(dns, nodata_for_empty_non_terminal)
{
	struct reply r;
	static const char *const want[] = {"192.0.2.2"};

	ask(&r, "parent." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NOERROR, ZONE ".");
	done(&r);
	ask(&r, "leaf.parent." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	expect_addrs(&r, LDNS_RR_TYPE_A, want, 1, "leaf.parent." ZONE ".");
	done(&r);
}

Test(dns, unknown_type_is_nodata_or_nxdomain)
{
	struct reply r;

	ask(&r, "www." ZONE, (ldns_rr_type)65280, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NOERROR, ZONE ".");
	done(&r);
	ask(&r, "nothere." ZONE, (ldns_rr_type)65280, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NXDOMAIN, ZONE ".");
	done(&r);
}

Test(dns, alias_zone_uses_its_own_names)
{
	struct reply r;
	static const char *const want[] = {"192.0.2.1"};
	ldns_rr *soa;

	ask(&r, "www." ALIAS, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	expect_addrs(&r, LDNS_RR_TYPE_A, want, 1, "www." ALIAS ".");
	done(&r);

	ask(&r, ALIAS, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	cr_assert_eq(ldns_pkt_ancount(r.pkt), 1);
	soa = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
	expect_rr(soa, ALIAS ".", LDNS_RR_TYPE_SOA, 600, NULL);
	done(&r);

	ask(&r, "nothere." ALIAS, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NXDOMAIN, ALIAS ".");
	done(&r);
	ask(&r, "parent." ALIAS, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_negative(&r, LDNS_RCODE_NOERROR, ALIAS ".");
	done(&r);
}

Test(dns, refused_out_of_zone_without_aa)
{
	static const char *const names[] = {"www.other.test", "test", "example"};
	struct reply r;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ask(&r, names[i], LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
		expect_header(&r, LDNS_RCODE_REFUSED, false);
		cr_expect_eq(ldns_pkt_ancount(r.pkt), 0, "%s", names[i]);
		done(&r);
	}
}

Test(dns, refused_for_class_ch)
{
	struct reply r;

	ask(&r, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, true);
	expect_header(&r, LDNS_RCODE_REFUSED, false);
	cr_expect_eq(ldns_pkt_ancount(r.pkt), 0);
	done(&r);
	ask(&r, "version.bind", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, false);
	expect_header(&r, LDNS_RCODE_REFUSED, false);
	done(&r);
}

Test(dns, any_is_one_hinfo)
{
	struct reply r;
	ldns_rr *rr;
	char *cpu, *os;

	ask(&r, "www." ZONE, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	cr_assert_eq(ldns_pkt_ancount(r.pkt), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
	cr_assert_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_HINFO);
	expect_name(ldns_rr_owner(rr), "www." ZONE ".");
	cr_assert_eq(ldns_rr_rd_count(rr), 2);
	cpu = rdf_str(ldns_rr_rdf(rr, 0));
	os = rdf_str(ldns_rr_rdf(rr, 1));
	cr_expect_str_eq(cpu, "\"RFC8482\"");
	cr_expect_str_eq(os, "\"\"");
	free(cpu);
	free(os);
	done(&r);
}

/* A raw header: id 0xbeef, flags, counts. */
static size_t raw_header(uint8_t *b, uint8_t f1, uint8_t f2, uint16_t qd)
{
	memset(b, 0, 12);
	b[0] = 0xbe;
	b[1] = 0xef;
	b[2] = f1;
	b[3] = f2;
	b[4] = (uint8_t)(qd >> 8);
	b[5] = (uint8_t)qd;
	return 12;
}

static const uint8_t www_q[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};

/* Header-only checks for replies whose question is not echoed. */
static void expect_raw_rcode(const uint8_t *q, const uint8_t *a, ssize_t n, int rcode)
{
	cr_assert_geq(n, 12);
	cr_expect_eq(a[0], q[0]);
	cr_expect_eq(a[1], q[1]);
	cr_expect(a[2] & 0x80, "QR clear");
	cr_expect_eq(a[3] & 0x0f, rcode, "rcode %d, expected %d", a[3] & 0x0f, rcode);
	cr_expect_eq(a[3] & 0xf0, 0, "RA/Z/AD/CD set");
}

Test(dns, qdcount_zero_is_formerr)
{
	uint8_t q[64], a[512];
	size_t n = raw_header(q, 0x01, 0, 0);
	ssize_t got = sys_exchange(sys_addr(), srv.port, q, n, a, sizeof(a), 2000);

	expect_raw_rcode(q, a, got, LDNS_RCODE_FORMERR);
}

Test(dns, qdcount_two_is_formerr)
{
	uint8_t q[128], a[512];
	size_t n = raw_header(q, 0x01, 0, 2);
	ssize_t got;

	memcpy(q + n, www_q, sizeof(www_q));
	n += sizeof(www_q);
	memcpy(q + n, www_q, sizeof(www_q));
	n += sizeof(www_q);
	got = sys_exchange(sys_addr(), srv.port, q, n, a, sizeof(a), 2000);
	expect_raw_rcode(q, a, got, LDNS_RCODE_FORMERR);
}

Test(dns, opcode_status_is_notimp)
{
	uint8_t q[128], a[512];
	size_t n = raw_header(q, 2 << 3, 0, 1);
	ssize_t got;

	memcpy(q + n, www_q, sizeof(www_q));
	n += sizeof(www_q);
	got = sys_exchange(sys_addr(), srv.port, q, n, a, sizeof(a), 2000);
	expect_raw_rcode(q, a, got, LDNS_RCODE_NOTIMPL);
	cr_expect_eq((a[2] >> 3) & 0xf, 2, "opcode not echoed");
}

Test(dns, garbage_body_is_formerr)
{
	static const uint8_t bodies[][6] = {
		{0x3f, 'a', 'b', 0, 0, 0},    /* label runs past the end */
		{0xc0, 0x0c, 0, 1, 0, 1},     /* pointer to itself */
		{0x80, 0x01, 0x02, 0, 0, 0},  /* reserved label type */
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		uint8_t q[64], a[512];
		size_t n = raw_header(q, 0x01, 0, 1);
		ssize_t got;

		memcpy(q + n, bodies[i], sizeof(bodies[i]));
		n += sizeof(bodies[i]);
		got = sys_exchange(sys_addr(), srv.port, q, n, a, sizeof(a), 2000);
		cr_expect_gt(got, 0, "body %zu: no reply", i);
		if (got > 0)
			expect_raw_rcode(q, a, got, LDNS_RCODE_FORMERR);
	}
}

/* Sends q and expects silence; then the server must still answer. */
static void expect_dropped(const uint8_t *q, size_t n)
{
	uint8_t a[512];
	struct reply r;

	cr_expect_eq(sys_exchange(sys_addr(), srv.port, q, n, a, sizeof(a), 300), -1,
		     "a reply came");
	ask(&r, "www." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	expect_header(&r, LDNS_RCODE_NOERROR, true);
	done(&r);
}

Test(dns, qr_set_is_dropped)
{
	uint8_t q[128];
	size_t n = raw_header(q, 0x81, 0, 1);

	memcpy(q + n, www_q, sizeof(www_q));
	expect_dropped(q, n + sizeof(www_q));
}

Test(dns, short_packet_is_dropped)
{
	static const uint8_t q[5] = {0x12, 0x34, 0x01, 0x00, 0x00};

	expect_dropped(q, sizeof(q));
}

Test(dns, dig_sees_an_authoritative_answer)
{
	static const char *const args[] = {"www." ZONE, "A", "+norec", "+noedns", NULL};
	char *out = sys_dig(srv.port, args);
	char name[256], cls[16], type[16], addr[64];
	unsigned ttl = 0;
	int found = 0;
	char *line, *save = NULL;

	cr_assert_not_null(out, "dig failed");
	cr_expect(strstr(out, "status: NOERROR") != NULL, "%s", out);
	cr_expect(strstr(out, "flags: qr aa;") != NULL, "%s", out);
	cr_expect(strstr(out, "ANSWER: 1,") != NULL, "%s", out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ';' || line[0] == '\0')
			continue;
		if (sscanf(line, "%255s %u %15s %15s %63s", name, &ttl, cls, type, addr) == 5) {
			found++;
			cr_expect_str_eq(name, "www." ZONE ".");
			cr_expect_eq(ttl, 20);
			cr_expect_str_eq(cls, "IN");
			cr_expect_str_eq(type, "A");
			cr_expect_str_eq(addr, "192.0.2.1");
		}
	}
	cr_expect_eq(found, 1, "one answer line expected");
	free(out);
}

/* Servers with their own arguments: not the suite's fixture. */

static void query_on(const struct sys_server *s, const char *name,
		     ldns_rr_type t, ldns_pkt **out)
{
	*out = sys_query(s->port, name, t, LDNS_RR_CLASS_IN, false);
	cr_assert_not_null(*out, "no reply for %s", name);
}

Test(ttl, default_interval_gives_60_and_1800, .timeout = 30)
{
	static const char *const args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--workers", "1", NULL,
	};
	struct sys_server s;
	ldns_pkt *p;
	ldns_rr *rr;

	cr_assert_eq(sys_server_start(&s, args), 0);
	query_on(&s, "www." ZONE, LDNS_RR_TYPE_A, &p);
	cr_assert_eq(ldns_pkt_ancount(p), 1);
	cr_expect_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 60);
	ldns_pkt_free(p);
	query_on(&s, ZONE, LDNS_RR_TYPE_SOA, &p);
	cr_assert_eq(ldns_pkt_ancount(p), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	cr_expect_eq(ldns_rr_ttl(rr), 1800);
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(rr, 3)), 600, "refresh");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(rr, 4)), 60, "retry");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(rr, 5)), 300, "expire");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)), 60, "minimum");
	ldns_pkt_free(p);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* A TCP listener on 127.0.0.1 only: 127.0.0.2 on the same port refuses. */
static int listen_tcp(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t sl = sizeof(a);
	int fd;

	/* In XDP mode the server's prober must see it: in the test's own
	 * namespace, made before this socket. */
	cr_assert_eq(sys_xdp_up(), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

Test(health, only_passing_addresses_are_published, .timeout = 30)
{
	char zr[512];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", zr, "--workers", "1",
		"--test-min-interval", "10", "--test-timeout", "1", NULL,
	};
	struct sys_server s;
	uint16_t up;
	int lfd = listen_tcp(&up);
	uint16_t closed = sys_free_port();
	ldns_pkt *p;
	char *txt;

	cr_assert_neq(closed, 0);
	snprintf(zr, sizeof(zr),
		 "{\"hc\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"], \"health_port\": %u},"
		 " \"down\": {\"ips\": [\"127.0.0.3\"], \"health_port\": %u},"
		 " \"static\": [\"192.0.2.9\"]}", up, closed);
	cr_assert_eq(sys_server_start(&s, (const char *const *)args), 0);

	/* The start-up gate: the first answers already reflect health. */
	query_on(&s, "hc." ZONE, LDNS_RR_TYPE_A, &p);
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_assert_eq(ldns_pkt_ancount(p), 1, "only 127.0.0.1 passes its check");
	txt = rdf_str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
	cr_expect_str_eq(txt, "127.0.0.1");
	free(txt);
	ldns_pkt_free(p);

	query_on(&s, "down." ZONE, LDNS_RR_TYPE_A, &p);
	cr_expect_eq(ldns_pkt_ancount(p), 0, "a failing address was published");
	cr_expect(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR ||
		  ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);

	query_on(&s, "static." ZONE, LDNS_RR_TYPE_A, &p);
	cr_expect_eq(ldns_pkt_ancount(p), 1, "static addresses are always published");
	ldns_pkt_free(p);
	cr_expect_eq(sys_server_stop(&s), 0);
	close(lfd);
}

/* Replies leave from the address the query was sent to, even on a
 * wildcard socket (sys_exchange's connected socket accepts nothing
 * else). */
Test(transport, wildcard_socket_replies_from_the_queried_address, .timeout = 30)
{
	uint16_t port = sys_free_port();
	char ps[8];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--workers", "1",
		"--port", ps, "--listen", "0.0.0.0", "--listen", "::", NULL,
	};
	static const char *const dests[] = {"127.0.0.1", "127.0.0.2", "127.1.2.3", "::1"};
	struct sys_server s;
	uint8_t q[128], a[512];
	size_t n = raw_header(q, 0x01, 0, 1);

	cr_assert_neq(port, 0);
	snprintf(ps, sizeof(ps), "%u", port);
	memcpy(q + n, www_q, sizeof(www_q));
	n += sizeof(www_q);
	cr_assert_eq(sys_server_start_raw(&s, args, port, "127.0.0.1"), 0);
	for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		ssize_t got = sys_exchange(dests[i], port, q, n, a, sizeof(a), 2000);

		cr_expect_gt(got, 12, "no reply via %s", dests[i]);
		if (got > 12)
			expect_raw_rcode(q, a, got, LDNS_RCODE_NOERROR);
	}
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(transport, listens_on_ipv6_loopback, .timeout = 30)
{
	uint16_t port = sys_free_port();
	char ps[8];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--workers", "2",
		"--port", ps, "--listen", "::1", NULL,
	};
	struct sys_server s;
	uint8_t q[128], a[512];
	size_t n = raw_header(q, 0x01, 0, 1);
	ssize_t got;

	cr_assert_neq(port, 0);
	snprintf(ps, sizeof(ps), "%u", port);
	memcpy(q + n, www_q, sizeof(www_q));
	n += sizeof(www_q);
	cr_assert_eq(sys_server_start_raw(&s, args, port, "::1"), 0);
	got = sys_exchange("::1", port, q, n, a, sizeof(a), 2000);
	expect_raw_rcode(q, a, got, LDNS_RCODE_NOERROR);
	/* Only the address given is bound. */
	cr_expect_eq(sys_exchange("127.0.0.1", port, q, n, a, sizeof(a), 300), -1);
	cr_expect_eq(sys_server_stop(&s), 0);
}
