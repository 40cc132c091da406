#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "zimg.h"
#include "zimg_format.h"

/*
 * The fixture zone, example.com plus the alias example.net, check
 * interval 30 s, so (config.h): A TTL 60, NS = SOA TTL 1800, refresh 600,
 * retry 60, expire 300, minimum 60, negative TTL 60.
 */
struct fx_entry {
	const char *name;
	enum config_check check;
	int64_t ttl;
	const char *addrs[128];
	bool up[128]; /* health state of checked addresses */
};

/* The active slot's bytes (zimg_format.h layout). */
static uint8_t *active_slot(const struct zimg *z)
{
	size_t size;
	uint8_t *raw = zimg_raw(z, &size);
	struct zimg_header *h = (struct zimg_header *)raw;

	return raw + h->slot_off[atomic_load(&h->lock.active) & 1u];
}

static struct fx_entry fx_entries[] = {
	{ "www", CONFIG_CHECK_NONE, -1, { "192.0.2.1", "192.0.2.2", "192.0.2.1", "2001:db8::1" }, { 0 } },
	{ "api.v1", CONFIG_CHECK_TCP, -1, { "192.0.2.10", "192.0.2.11" }, { 1, 0 } },
	{ "leaf.parent", CONFIG_CHECK_NONE, -1, { "192.0.2.20" }, { 0 } },
	{ "down", CONFIG_CHECK_TCP, -1, { "192.0.2.30" }, { 0 } },
	{ "gone.sub", CONFIG_CHECK_HTTP, -1, { "192.0.2.40" }, { 0 } },
	{ "many", CONFIG_CHECK_NONE, -1, { 0 }, { 0 } }, /* filled: 10.0.0.1..40 */
	{ "v6only", CONFIG_CHECK_NONE, -1, { "2001:db8::6" }, { 0 } },
	{ "ttl", CONFIG_CHECK_TCP, 5, { "192.0.2.50" }, { 1 } },
	{ "down.kids", CONFIG_CHECK_TCP, -1, { "192.0.2.60" }, { 0 } },
	{ "x.down.kids", CONFIG_CHECK_NONE, -1, { "192.0.2.61" }, { 0 } },
	{ "hundred", CONFIG_CHECK_NONE, -1, { 0 }, { 0 } }, /* filled: 10.1.0.1..100 */
};

static char many_text[40][24];
static char hundred_text[100][24];

struct fx {
	struct config cfg;
	struct config_entry entries[16];
	struct config_addr addrs[16][128];
	char *alias[4];
	char *ns[4];
	bool published[256];
};

static struct fx fx;
static struct zimg *zi;
static uint32_t fx_serial;

static void fx_config(const char *zone, const char *alias)
{
	size_t flat = 0;

	memset(&fx, 0, sizeof(fx));
	for (unsigned i = 0; i < 40; i++) {
		snprintf(many_text[i], sizeof(many_text[i]), "10.0.0.%u", i + 1);
		fx_entries[5].addrs[i] = many_text[i];
	}
	for (unsigned i = 0; i < 100; i++) {
		snprintf(hundred_text[i], sizeof(hundred_text[i]), "10.1.0.%u", i + 1);
		fx_entries[10].addrs[i] = hundred_text[i];
	}
	fx.cfg.hosted_zone = (char *)zone;
	fx.alias[0] = (char *)alias;
	fx.cfg.alias_zones = fx.alias;
	fx.cfg.n_alias_zones = alias ? 1 : 0;
	fx.ns[0] = "ns1.example.com";
	fx.ns[1] = "ns2.example.org";
	fx.cfg.ns = fx.ns;
	fx.cfg.n_ns = 2;
	fx.cfg.test_min_interval = 30;
	fx.cfg.test_timeout = 2;
	fx.cfg.port = 53053;
	fx.cfg.entries = fx.entries;
	fx.cfg.n_entries = AHD_ARRAY_LEN(fx_entries);
	for (size_t i = 0; i < AHD_ARRAY_LEN(fx_entries); i++) {
		struct config_entry *e = &fx.entries[i];
		const struct fx_entry *f = &fx_entries[i];

		e->name = (char *)f->name;
		e->check = f->check;
		e->ttl = f->ttl;
		e->rise = e->fall = 1;
		e->health_port = f->check ? 8080 : 0;
		e->addrs = fx.addrs[i];
		e->first_addr = flat;
		for (size_t j = 0; f->addrs[j]; j++) {
			struct config_addr *a = &fx.addrs[i][j];

			if (inet_pton(AF_INET, f->addrs[j], a->addr) == 1)
				a->family = AF_INET;
			else if (inet_pton(AF_INET6, f->addrs[j], a->addr) == 1)
				a->family = AF_INET6;
			else
				cr_assert_fail("fixture address %s", f->addrs[j]);
			fx.published[flat++] = f->up[j];
			e->n_addrs++;
		}
	}
	fx.cfg.n_addrs_total = flat;
}

static void setup(void)
{
	fx_config("example.com", "example.net");
	zi = zimg_new_mem(&fx.cfg);
	cr_assert_not_null(zi);
	cr_assert_eq(zimg_publish(zi, &fx.cfg, fx.published, &fx_serial), 0);
}

static void teardown(void)
{
	zimg_close(zi);
	zi = NULL;
}

/* A query for text (case kept), ID 0x1234, RD. */
static size_t mkq(uint8_t *pkt, const char *text, uint16_t type, uint16_t cls)
{
	size_t n = 12;

	memset(pkt, 0, 12);
	pkt[0] = 0x12;
	pkt[1] = 0x34;
	pkt[2] = 0x01;
	pkt[5] = 1;
	while (*text) {
		size_t l = strcspn(text, ".");

		pkt[n++] = (uint8_t)l;
		memcpy(pkt + n, text, l);
		n += l;
		text += l;
		if (*text == '.')
			text++;
	}
	pkt[n++] = 0;
	pkt[n++] = (uint8_t)(type >> 8);
	pkt[n++] = (uint8_t)type;
	pkt[n++] = (uint8_t)(cls >> 8);
	pkt[n++] = (uint8_t)cls;
	return n;
}

struct resp {
	uint8_t q[512];
	size_t qlen;
	uint8_t r[65535];
	size_t len;
	enum answer_kind kind;
};

static struct resp rsp;

static void ask_t(const char *name, uint16_t type, uint16_t cls,
		  enum answer_transport t, size_t cap)
{
	rsp.qlen = mkq(rsp.q, name, type, cls);
	rsp.kind = ANSWER_KIND_COUNT;
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, t, rsp.r, cap, &rsp.kind);
}

static void ask(const char *name, uint16_t type)
{
	ask_t(name, type, 1, ANSWER_UDP, 512);
}

static unsigned u16at(size_t off) { return (unsigned)rsp.r[off] << 8 | rsp.r[off + 1]; }

/* rcode, AA, TC and the four counts, checked by hand-read header fields */
static void expect_header(unsigned rcode, bool aa, unsigned an, unsigned ns)
{
	cr_assert_geq(rsp.len, 12);
	cr_assert_eq(rsp.r[0], 0x12);
	cr_assert_eq(rsp.r[1], 0x34);
	cr_assert_eq(rsp.r[2], 0x80 | (aa ? 0x04 : 0) | 0x01, "flags %02x", rsp.r[2]);
	cr_assert_eq(rsp.r[3], rcode, "rcode byte %02x", rsp.r[3]);
	cr_assert_eq(u16at(4), 1);
	cr_assert_eq(u16at(6), an, "ancount %u", u16at(6));
	cr_assert_eq(u16at(8), ns, "nscount %u", u16at(8));
	cr_assert_eq(u16at(10), 0);
	/* the question, byte for byte */
	cr_assert_eq(memcmp(rsp.r + 12, rsp.q + 12, rsp.qlen - 12), 0);
}

/* expect_header with ARCOUNT ar (the OPT). */
static void expect_header_ar(unsigned rcode, bool aa, unsigned an, unsigned ns, unsigned ar)
{
	cr_assert_eq(rsp.r[2], 0x80 | (aa ? 0x04 : 0) | 0x01, "flags %02x", rsp.r[2]);
	cr_assert_eq(rsp.r[3], rcode, "rcode byte %02x", rsp.r[3]);
	cr_assert_eq(u16at(4), 1);
	cr_assert_eq(u16at(6), an, "ancount %u", u16at(6));
	cr_assert_eq(u16at(8), ns, "nscount %u", u16at(8));
	cr_assert_eq(u16at(10), ar, "arcount %u", u16at(10));
}

/* Cross-check with a third-party parser. */
static ldns_pkt *parsed(void)
{
	ldns_pkt *p = NULL;

	cr_assert_eq(ldns_wire2pkt(&p, rsp.r, rsp.len), LDNS_STATUS_OK);
	return p;
}

static char *rr_field(ldns_rr *rr, size_t i)
{
	return ldns_rdf2str(ldns_rr_rdf(rr, i));
}

static void expect_rdf(ldns_rr *rr, size_t i, const char *want)
{
	char *s = rr_field(rr, i);

	cr_assert_str_eq(s, want);
	free(s);
}

static void expect_owner(ldns_rr *rr, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_owner(rr));

	cr_assert_str_eq(s, want);
	free(s);
}

TestSuite(answer, .init = setup, .fini = teardown);

Test(answer, a_answer_exact_bytes)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x85, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
		3, 'W', 'w', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0,
		0x00, 0x01, 0x00, 0x01,
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 1,
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 2,
	};

	ask("WwW.Example.COM", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert_eq(rsp.len, sizeof(want));
	cr_assert_eq(memcmp(rsp.r, want, sizeof(want)), 0);
}

Test(answer, case_preserved_per_ldns)
{
	ldns_pkt *p;
	ldns_rr_list *an;

	ask("wWw.eXAMPLE.cOm", 1);
	p = parsed();
	cr_assert(ldns_pkt_aa(p));
	cr_assert(ldns_pkt_rd(p));
	cr_assert_not(ldns_pkt_ra(p));
	cr_assert_not(ldns_pkt_ad(p));
	cr_assert_not(ldns_pkt_cd(p));
	cr_assert_not(ldns_pkt_tc(p));
	cr_assert_eq(ldns_pkt_id(p), 0x1234);
	an = ldns_pkt_answer(p);
	cr_assert_eq(ldns_rr_list_rr_count(an), 2);
	expect_owner(ldns_rr_list_rr(an, 0), "wWw.eXAMPLE.cOm.");
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(an, 0)), LDNS_RR_TYPE_A);
	expect_rdf(ldns_rr_list_rr(an, 0), 0, "192.0.2.1");
	expect_rdf(ldns_rr_list_rr(an, 1), 0, "192.0.2.2");
	expect_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0), "wWw.eXAMPLE.cOm.");
	ldns_pkt_free(p);
}

Test(answer, flags_ra_ad_z_cleared_rd_cd_copied)
{
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	rsp.q[2] = 0x00;          /* RD clear */
	rsp.q[3] = 0x80 | 0x70;   /* RA, Z, AD, CD set */
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, NULL);
	cr_assert_eq(rsp.r[2], 0x84);
	/* RFC 4035 section 3.1.6: CD copied into every response, DO or not. */
	cr_assert_eq(rsp.r[3], 0x10);
	rsp.q[3] = 0x80 | 0x60; /* RA, Z, AD set, CD clear */
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, NULL);
	cr_assert_eq(rsp.r[3], 0x00);
	/* Negative, REFUSED and FORMERR answers too. */
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "nope.example.com", "www.example.org",
						     "www.example.com" };

		rsp.qlen = mkq(rsp.q, names[i], 1, 1);
		rsp.q[3] = 0x10;
		if (i == 2)
			rsp.q[5] = 2; /* two questions: FORMERR */
		rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, NULL);
		cr_assert_geq(rsp.len, 12);
		cr_assert_eq(rsp.r[3] & 0xf0, 0x10, "%s: %02x", names[i], rsp.r[3]);
		cr_assert_eq(rsp.r[3] & 0x0f, i == 0 ? 3 : i == 1 ? 5 : 1);
	}
}

Test(answer, aaaa_answer)
{
	static const uint8_t rr[] = {
		0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x10,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};

	ask("www.example.com", 28);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 1, 0);
	cr_assert_eq(rsp.len, rsp.qlen + sizeof(rr));
	cr_assert_eq(memcmp(rsp.r + rsp.qlen, rr, sizeof(rr)), 0);
}

/* The authority SOA of a negative answer in zone, owner pointer ptr; the
 * serial is the only field not known in advance. In example.com, MNAME
 * ns1.example.com and RNAME hostmaster.example.com end in the apex, so
 * each is its first label and a pointer to the apex (RFC 3597 section 4),
 * the same pointer as the owner; in the alias example.net they are whole
 * (the hosted zone's SOA under the alias name). */
static void expect_neg_soa(size_t at, uint8_t ptr, const char *zone)
{
	uint8_t want[128];
	size_t n = 0;
	static const uint8_t head[] = { 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c };
	static const uint8_t mname[] = "\3ns1\7example\3com";
	static const uint8_t rname[] = "\12hostmaster\7example\3com";
	static const uint8_t timers[] = { 0, 0, 0x02, 0x58, 0, 0, 0, 0x3c, 0, 0, 0x01, 0x2c, 0, 0, 0, 0x3c };
	bool hosted = strcmp(zone, "example.com") == 0;

	cr_assert(hosted || strcmp(zone, "example.net") == 0);
	want[n++] = 0xc0;
	want[n++] = ptr;
	memcpy(want + n, head, sizeof(head));
	n += sizeof(head);
	want[n++] = 0;
	want[n++] = hosted ? 4 + 2 + 11 + 2 + 20 : sizeof(mname) + sizeof(rname) + 20;
	if (hosted) {
		memcpy(want + n, "\3ns1\xc0", 5);
		want[n + 5] = ptr;
		memcpy(want + n + 6, "\12hostmaster\xc0", 12);
		want[n + 18] = ptr;
		n += 19;
	} else {
		memcpy(want + n, mname, sizeof(mname));
		n += sizeof(mname);
		memcpy(want + n, rname, sizeof(rname));
		n += sizeof(rname);
	}
	want[n++] = (uint8_t)(fx_serial >> 24);
	want[n++] = (uint8_t)(fx_serial >> 16);
	want[n++] = (uint8_t)(fx_serial >> 8);
	want[n++] = (uint8_t)fx_serial;
	memcpy(want + n, timers, sizeof(timers));
	n += sizeof(timers);
	cr_assert_eq(rsp.len, at + n, "len %zu want %zu", rsp.len, at + n);
	cr_assert_eq(memcmp(rsp.r + at, want, n), 0);
}

Test(answer, nxdomain_with_soa_negative_ttl)
{
	ask("nope.Example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	expect_header(3, true, 0, 1);
	/* "nope" is 5 bytes: the apex starts at 12 + 5 */
	expect_neg_soa(rsp.qlen, 0x11, "example.com");
}

Test(answer, nxdomain_soa_per_ldns)
{
	ldns_pkt *p;
	ldns_rr *soa;
	char serial[16];

	ask("a.b.NOPE.example.COM", 1);
	p = parsed();
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(ldns_pkt_ancount(p), 0);
	cr_assert_eq(ldns_pkt_nscount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	cr_assert_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	expect_owner(soa, "example.COM.");
	cr_assert_eq(ldns_rr_ttl(soa), 60);
	/* MNAME and RNAME point at the apex in the question: its case. */
	expect_rdf(soa, 0, "ns1.example.COM.");
	expect_rdf(soa, 1, "hostmaster.example.COM.");
	snprintf(serial, sizeof(serial), "%u", fx_serial);
	expect_rdf(soa, 2, serial);
	expect_rdf(soa, 3, "600");
	expect_rdf(soa, 4, "60");
	expect_rdf(soa, 5, "300");
	expect_rdf(soa, 6, "60");
	ldns_pkt_free(p);
}

Test(answer, nodata_for_other_types_and_unknown_types)
{
	static const uint16_t types[] = { 15, 16, 2, 6, 65280, 0, 46, 48, 99 };

	for (size_t i = 0; i < AHD_ARRAY_LEN(types); i++) {
		ask("www.example.com", types[i]);
		cr_assert_eq(rsp.kind, ANSWER_NODATA, "type %u", types[i]);
		expect_header(0, true, 0, 1);
		expect_neg_soa(rsp.qlen, 0x10, "example.com");
	}
	ask("nope.example.com", 65280);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	expect_header(3, true, 0, 1);
}

Test(answer, empty_non_terminal_is_nodata)
{
	ask("parent.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	expect_header(0, true, 0, 1);
	expect_neg_soa(rsp.qlen, 0x13, "example.com");
	ask("leaf.parent.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 1, 0);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 4, "\xc0\x00\x02\x14", 4), 0);
	ask("v1.example.com", 28);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	ask("x.leaf.parent.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
}

Test(answer, apex_soa_and_ns)
{
	ldns_pkt *p;
	ldns_rr_list *an;

	ask("Example.com", 6);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 1, 0);
	p = parsed();
	an = ldns_pkt_answer(p);
	expect_owner(ldns_rr_list_rr(an, 0), "Example.com.");
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(an, 0)), 1800);
	expect_rdf(ldns_rr_list_rr(an, 0), 1, "hostmaster.Example.com.");
	expect_rdf(ldns_rr_list_rr(an, 0), 6, "60");
	ldns_pkt_free(p);

	ask("example.com", 2);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 2, 0);
	p = parsed();
	an = ldns_pkt_answer(p);
	cr_assert_eq(ldns_rr_get_type(ldns_rr_list_rr(an, 0)), LDNS_RR_TYPE_NS);
	cr_assert_eq(ldns_rr_ttl(ldns_rr_list_rr(an, 1)), 1800);
	expect_rdf(ldns_rr_list_rr(an, 0), 0, "ns1.example.com.");
	expect_rdf(ldns_rr_list_rr(an, 1), 0, "ns2.example.org.");
	ldns_pkt_free(p);

	ask("example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	expect_neg_soa(rsp.qlen, 0x0c, "example.com");
}

/* RFC 3597 section 4: names in NS and SOA RDATA that end in the apex
 * point at the apex in the question name; others stay whole. Sizes and
 * bytes by hand, names read back with ldns. */
Test(answer, ns_and_soa_rdata_names_compressed)
{
	static const uint8_t ns1[] = {
		0xc0, 0x0c, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x07, 0x08, 0x00, 0x06,
		3, 'n', 's', '1', 0xc0, 0x0c,
	};
	static const uint8_t ns2[] = {
		0xc0, 0x0c, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x07, 0x08, 0x00, 0x11,
		3, 'n', 's', '2', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
	};
	ldns_pkt *p;
	ldns_rr_list *an;
	ldns_rdf *want;

	ask("EXAMPLE.com", 2);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 2, 0);
	/* 12 + 17 of question, 18 + 29 of NS (33 + 29 uncompressed). */
	cr_assert_eq(rsp.len, 76);
	cr_assert_eq(memcmp(rsp.r + 29, ns1, sizeof(ns1)), 0);
	cr_assert_eq(memcmp(rsp.r + 29 + sizeof(ns1), ns2, sizeof(ns2)), 0);
	p = parsed();
	an = ldns_pkt_answer(p);
	want = ldns_dname_new_frm_str("ns1.example.com.");
	cr_assert_eq(ldns_dname_compare(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0), want), 0);
	ldns_rdf_deep_free(want);
	expect_rdf(ldns_rr_list_rr(an, 1), 0, "ns2.example.org.");
	ldns_pkt_free(p);

	ask("example.com", 6);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	/* 12 + 17, SOA 2 + 10 + 6 + 13 + 20 (was 2 + 10 + 17 + 24 + 20). */
	cr_assert_eq(rsp.len, 80);
	p = parsed();
	an = ldns_pkt_answer(p);
	expect_rdf(ldns_rr_list_rr(an, 0), 0, "ns1.example.com.");
	expect_rdf(ldns_rr_list_rr(an, 0), 1, "hostmaster.example.com.");
	ldns_pkt_free(p);

	/* Below the apex the pointer follows the apex in the question. */
	ask("a.b.nope.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	expect_neg_soa(rsp.qlen, 12 + 2 + 2 + 5, "example.com");
	p = parsed();
	expect_rdf(ldns_rr_list_rr(ldns_pkt_authority(p), 0), 1, "hostmaster.example.com.");
	ldns_pkt_free(p);
}

Test(answer, published_and_unpublished_addresses)
{
	ask("api.v1.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 1, 0); /* 192.0.2.11 is down */
	cr_assert_eq(memcmp(rsp.r + rsp.len - 4, "\xc0\x00\x02\x0a", 4), 0);
	ask("api.v1.example.com", 28);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	/* every address down: the name does not exist */
	ask("down.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	ask("gone.sub.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	ask("sub.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	/* ... unless it has a child that does: NODATA */
	ask("down.kids.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	ask("x.down.kids.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	/* AAAA only */
	ask("v6only.example.com", 28);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	ask("v6only.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
}

Test(answer, republish_changes_answers)
{
	/* flat indexes: www 0-3, api.v1 4-5, leaf.parent 6, down 7 */
	fx.published[5] = true;  /* api.v1 192.0.2.11 up */
	fx.published[7] = true;  /* down up */
	fx.published[4] = false; /* api.v1 192.0.2.10 down */
	cr_assert_eq(zimg_publish(zi, &fx.cfg, fx.published, NULL), 0);
	ask("api.v1.example.com", 1);
	expect_header(0, true, 1, 0);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 4, "\xc0\x00\x02\x0b", 4), 0);
	ask("down.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	/* NULL: static addresses only */
	cr_assert_eq(zimg_publish(zi, &fx.cfg, NULL, NULL), 0);
	ask("api.v1.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	ask("v1.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	ask("ttl.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	ask("www.example.com", 1);
	expect_header(0, true, 2, 0);
	/* static addresses are published whatever published[] says */
	memset(fx.published, 0, sizeof(fx.published));
	cr_assert_eq(zimg_publish(zi, &fx.cfg, fx.published, NULL), 0);
	ask("www.example.com", 1);
	expect_header(0, true, 2, 0);
}

Test(answer, ttl_override)
{
	ask("ttl.example.com", 1);
	expect_header(0, true, 1, 0);
	cr_assert_eq(memcmp(rsp.r + rsp.qlen, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\xc0\x00\x02\x32", 16), 0);
}

Test(answer, any_is_hinfo_rfc8482)
{
	static const uint8_t hinfo[] = {
		0xc0, 0x0c, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x09,
		7, 'R', 'F', 'C', '8', '4', '8', '2', 0,
	};

	ask("www.example.com", 255);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 1, 0);
	cr_assert_eq(rsp.len, rsp.qlen + sizeof(hinfo));
	cr_assert_eq(memcmp(rsp.r + rsp.qlen, hinfo, sizeof(hinfo)), 0);
	ask("example.com", 255);
	expect_header(0, true, 1, 0);
	/* An empty non-terminal has no data to stand for: NODATA. */
	ask("parent.example.com", 255);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	expect_header(0, true, 0, 1);
	expect_neg_soa(rsp.qlen, 0x13, "example.com");
	ask("nope.example.com", 255);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	expect_header(3, true, 0, 1);
}

Test(answer, refused_out_of_zone_or_not_in_aa_clear)
{
	static const char *const names[] = {
		"www.example.org", "com", "", "wexample.com", "xample.com", "example.com.evil",
	};

	for (size_t i = 0; i < AHD_ARRAY_LEN(names); i++) {
		ask(names[i], 1);
		cr_assert_eq(rsp.kind, ANSWER_REFUSED, "%s", names[i]);
		expect_header(5, false, 0, 0);
		cr_assert_eq(rsp.len, rsp.qlen);
	}
	ask_t("www.example.com", 1, 3, ANSWER_UDP, 512); /* CH */
	cr_assert_eq(rsp.kind, ANSWER_REFUSED);
	expect_header(5, false, 0, 0);
	ask_t("www.example.com", 1, 255, ANSWER_UDP, 512); /* ANY class */
	cr_assert_eq(rsp.kind, ANSWER_REFUSED);
}

Test(answer, alias_zone_answers_with_its_own_names)
{
	ldns_pkt *p;
	ldns_rr *soa;

	ask("WWW.example.NET", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header(0, true, 2, 0);
	ask("nope.example.net", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	expect_neg_soa(rsp.qlen, 0x11, "example.net");
	ask("parent.example.net", 1);
	cr_assert_eq(rsp.kind, ANSWER_NODATA);
	ask("example.net", 6);
	p = parsed();
	soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	expect_owner(soa, "example.net.");
	expect_rdf(soa, 0, "ns1.example.com.");
	/* The hosted zone's RNAME (as the original serves it). */
	expect_rdf(soa, 1, "hostmaster.example.com.");
	ldns_pkt_free(p);
}

Test(answer, longest_apex_wins)
{
	ldns_pkt *p;
	ldns_rr *soa;

	teardown();
	fx_config("example.com", "sub.example.com");
	zi = zimg_new_mem(&fx.cfg);
	cr_assert_eq(zimg_publish(zi, &fx.cfg, fx.published, &fx_serial), 0);
	ask("www.sub.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	ask("nope.sub.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	p = parsed();
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	expect_owner(soa, "sub.example.com.");
	expect_rdf(soa, 1, "hostmaster.example.com.");
	ldns_pkt_free(p);
	ask("sub.example.com", 6);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
}

Test(answer, notimp_for_other_opcodes)
{
	static const uint8_t want[] = { 0x12, 0x34, 0x80 | (4 << 3) | 1, 0x00 | 4, 0, 0, 0, 0, 0, 0, 0, 0 };

	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	rsp.q[2] = (4 << 3) | 1; /* NOTIFY, RD */
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_NOTIMP);
	cr_assert_eq(rsp.len, sizeof(want));
	cr_assert_eq(memcmp(rsp.r, want, sizeof(want)), 0);
}

Test(answer, notimp_for_transfers_and_mail_types)
{
	static const uint16_t types[] = { 251, 252, 253, 254 };

	for (size_t i = 0; i < AHD_ARRAY_LEN(types); i++) {
		ask("example.com", types[i]);
		cr_assert_eq(rsp.kind, ANSWER_NOTIMP);
		expect_header(4, false, 0, 0);
	}
}

Test(answer, formerr_cases)
{
	static const uint8_t want[] = { 0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };

	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	rsp.q[5] = 2;
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR);
	cr_assert_eq(rsp.len, 12);
	cr_assert_eq(memcmp(rsp.r, want, 12), 0);
	rsp.q[5] = 0;
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR);
	/* truncated question, pointer in the question */
	rsp.q[5] = 1;
	rsp.len = answer_query(zi, rsp.q, rsp.qlen - 1, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR);
	cr_assert_eq(memcmp(rsp.r, want, 12), 0);
	rsp.q[16] = 0xc0;
	rsp.len = answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR);
	/* QTYPE OPT */
	ask("www.example.com", 41);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR);
	expect_header(1, false, 0, 0);
}

Test(answer, dropped)
{
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	rsp.kind = ANSWER_KIND_COUNT;
	cr_assert_eq(answer_query(zi, rsp.q, 11, ANSWER_UDP, rsp.r, 512, &rsp.kind), 0);
	cr_assert_eq(rsp.kind, ANSWER_DROP);
	rsp.q[2] |= 0x80;
	cr_assert_eq(answer_query(zi, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind), 0);
	cr_assert_eq(rsp.kind, ANSWER_DROP);
}

Test(answer, tc_over_512_on_udp)
{
	ldns_pkt *p;

	/* 40 x 16 bytes of A records + 33 of header and question > 512 */
	ask_t("many.example.com", 1, 1, ANSWER_UDP, 65535);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert_eq(rsp.len, rsp.qlen);
	cr_assert_eq(rsp.r[2], 0x80 | 0x04 | 0x02 | 0x01);
	cr_assert_eq(u16at(6), 0);
	p = parsed();
	cr_assert(ldns_pkt_tc(p));
	ldns_pkt_free(p);

	ask_t("many.example.com", 1, 1, ANSWER_TCP, 65535);
	expect_header(0, true, 40, 0);
	cr_assert_eq(rsp.len, rsp.qlen + 40 * 16);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 4, "\x0a\x00\x00\x28", 4), 0);
	p = parsed();
	cr_assert_eq(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 40);
	ldns_pkt_free(p);

	/* TCP but a small buffer: TC as well */
	ask_t("many.example.com", 1, 1, ANSWER_TCP, 600);
	cr_assert_eq(rsp.len, rsp.qlen);
	cr_assert_eq(rsp.r[2] & 0x02, 0x02);
}

Test(answer, label_with_zero_byte_does_not_fake_a_name)
{
	/* one label "v1\0api" must not match api.v1 ("v1\0api\0" as a key) */
	static const uint8_t q[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
		6, 'v', '1', 0, 'a', 'p', 'i', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 1, 0, 1,
	};

	rsp.len = answer_query(zi, q, sizeof(q), ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	cr_assert_eq(rsp.r[3], 3);
}

Test(answer, servfail_without_an_image)
{
	struct zimg *empty = zimg_new_mem(&fx.cfg);

	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	rsp.len = answer_query(empty, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_SERVFAIL);
	expect_header(2, false, 0, 0);
	rsp.len = answer_query(NULL, rsp.q, rsp.qlen, ANSWER_UDP, rsp.r, 512, &rsp.kind);
	cr_assert_eq(rsp.kind, ANSWER_SERVFAIL);
	zimg_close(empty);
}

/* Garbage in the active slot (a corrupt image whose sequence is stable):
 * SERVFAIL or some answer, never a read outside the slot (ASan). */
Test(answer, corrupt_slot_never_reads_out_of_bounds)
{
	static const char *const names[] = {
		"www.example.com", "example.com", "nope.example.com", "a.b.c.example.net",
		"leaf.parent.example.com", "many.example.com",
	};
	uint8_t *slot = active_slot(zi);
	uint32_t used = ((struct zimg_slot *)slot)->used;
	uint32_t rng = 12345;

	for (int round = 0; round < 3000; round++) {
		/* re-publish now and then, then damage bytes past the header */
		if (round % 100 == 0) {
			cr_assert_eq(zimg_publish(zi, &fx.cfg, fx.published, NULL), 0);
			cr_assert_eq(zimg_publish(zi, &fx.cfg, fx.published, NULL), 0);
		}
		for (int k = 0; k < 1 + round % 8; k++) {
			rng = rng * 1103515245u + 12345u;
			uint32_t off = 8 + (rng >> 8) % (used - 8);
			rng = rng * 1103515245u + 12345u;
			slot[off] = (uint8_t)(rng >> 16);
		}
		if (round % 7 == 0) /* a wild offset, too */
			memset(slot + 8 + (rng >> 4) % (used - 16), 0xff, 4);
		for (size_t i = 0; i < AHD_ARRAY_LEN(names); i++) {
			ask_t(names[i], (uint16_t)(i % 2 ? 1 : 255), 1, ANSWER_TCP, 65535);
			cr_assert_neq(rsp.len, 0);
			cr_assert_leq(rsp.len, 65535);
		}
	}
	/* the header bytes too: zones_off far away */
	((struct zimg_slot *)slot)->zones_off = 0xfffffff0u;
	ask("www.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_SERVFAIL);
	((struct zimg_slot *)slot)->zones_off = 4; /* misaligned */
	ask("www.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_SERVFAIL);
}

/* An image whose active slot's sequence stays odd (corrupt, or a hostile
 * writer) gets SERVFAIL after bounded retries: never a hang (found by
 * fuzz_zimg). */
Test(answer, odd_active_sequence_is_servfail_not_a_hang, .timeout = 10)
{
	size_t size;
	struct zimg_header *h = (struct zimg_header *)zimg_raw(zi, &size);
	unsigned a = atomic_load(&h->lock.active) & 1u;

	ask("www.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	atomic_fetch_or(&h->lock.seq[a], 1u);
	ask("www.example.com", 1);
	cr_assert_eq(rsp.kind, ANSWER_SERVFAIL);
	expect_header(2, false, 0, 0);
}

/* ---- EDNS(0), truncation, NSID, cookies (answer_query_ex) ---- */

static struct answer_ctx cx;
static struct answer_info inf;

static void ctx_default(void)
{
	memset(&cx, 0, sizeof(cx));
	cx.z = zi;
	cx.edns_size = 1232;
}

/* Append an OPT (payload, version, DO, options) to rsp.q; ARCOUNT + 1. */
static void add_opt(uint16_t payload, uint8_t version, bool do_bit, const void *opts,
		    size_t olen)
{
	uint8_t *p = rsp.q + rsp.qlen;

	p[0] = 0;
	p[1] = 0;
	p[2] = 41;
	p[3] = (uint8_t)(payload >> 8);
	p[4] = (uint8_t)payload;
	p[5] = 0;
	p[6] = version;
	p[7] = do_bit ? 0x80 : 0;
	p[8] = 0;
	p[9] = (uint8_t)(olen >> 8);
	p[10] = (uint8_t)olen;
	if (olen)
		memcpy(p + 11, opts, olen);
	rsp.qlen += 11 + olen;
	rsp.q[11]++;
}

static void ask_ex(enum answer_transport t, size_t cap)
{
	rsp.len = answer_query_ex(&cx, rsp.q, rsp.qlen, t, rsp.r, cap, &inf);
	rsp.kind = inf.kind;
}

/* The OPT a plain query gets back: payload 1232, no options. */
static const uint8_t opt_plain[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };

Test(answer, edns_opt_echoed_exact_bytes)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x85, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0x00, 0x01, 0x00, 0x01,
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 1,
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 2,
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	ldns_pkt *p;

	ctx_default();
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(4096, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert(inf.edns);
	cr_assert_not(inf.truncated);
	cr_assert_eq(rsp.len, sizeof(want));
	cr_assert_eq(memcmp(rsp.r, want, sizeof(want)), 0);
	p = parsed();
	cr_assert_eq(ldns_pkt_edns_udp_size(p), 1232);
	cr_assert_eq(ldns_pkt_edns_version(p), 0);
	cr_assert_not(ldns_pkt_edns_do(p));
	cr_assert_eq(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2);
	ldns_pkt_free(p);
}

Test(answer, edns_do_bit_copied_and_exposed)
{
	ldns_pkt *p;

	ctx_default();
	rsp.qlen = mkq(rsp.q, "nope.example.com", 1, 1);
	add_opt(1232, 0, true, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, "\0\0\x29\x04\xd0\0\0\x80\0\0\0", 11), 0);
	cr_assert_eq(u16at(10), 1);
	p = parsed();
	cr_assert(ldns_pkt_edns_do(p));
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	cr_assert_eq(ldns_pkt_nscount(p), 1);
	ldns_pkt_free(p);
}

Test(answer, edns_on_refused_notimp_and_servfail)
{
	ctx_default();
	rsp.qlen = mkq(rsp.q, "www.example.org", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_REFUSED);
	cr_assert_eq(rsp.len, rsp.qlen);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
	rsp.qlen = mkq(rsp.q, "example.com", 252, 1);
	add_opt(1232, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOTIMP);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
	cx.z = NULL;
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_SERVFAIL);
	cr_assert_eq(rsp.r[3], 2);
	cr_assert_eq(u16at(10), 1);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
}

Test(answer, unknown_options_ignored)
{
	static const uint8_t opts[] = { 0xfd, 0xe9, 0x00, 0x03, 1, 2, 3, 0x00, 0x08, 0x00, 0x00 };

	ctx_default();
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, opts, sizeof(opts));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	expect_header_ar(0, true, 2, 0, 1);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
}

/* "hundred": 100 A records of 16 bytes, 1600 bytes in one RRset. */
Test(answer, truncation_by_whole_rrsets)
{
	static const uint16_t payloads[] = { 512, 1232, 4096 };
	ldns_pkt *p;
	size_t qlen;

	ctx_default();
	cx.edns_size = 4096;
	for (size_t i = 0; i < AHD_ARRAY_LEN(payloads); i++) {
		bool fits = payloads[i] == 4096;

		rsp.qlen = mkq(rsp.q, "hundred.example.com", 1, 1);
		qlen = rsp.qlen;
		add_opt(payloads[i], 0, false, NULL, 0);
		ask_ex(ANSWER_UDP, 65535);
		cr_assert_eq(rsp.kind, ANSWER_NOERROR);
		cr_assert_eq(inf.truncated, !fits, "payload %u", payloads[i]);
		cr_assert_eq(rsp.r[2], 0x80 | 0x04 | (fits ? 0 : 0x02) | 0x01);
		cr_assert_eq(u16at(6), fits ? 100 : 0, "payload %u", payloads[i]);
		cr_assert_eq(u16at(10), 1);
		cr_assert_eq(rsp.len, qlen + (fits ? 1600 : 0) + 11);
		cr_assert_leq(rsp.len, payloads[i]);
		/* the OPT is kept, carrying our payload size */
		cr_assert_eq(memcmp(rsp.r + rsp.len - 11, "\0\0\x29\x10\x00\0\0\0\0\0\0", 11), 0);
		p = parsed();
		cr_assert_eq(ldns_pkt_tc(p), !fits);
		cr_assert_eq(ldns_rr_list_rr_count(ldns_pkt_answer(p)), fits ? 100 : 0);
		cr_assert_eq(ldns_pkt_edns_udp_size(p), 4096);
		ldns_pkt_free(p);
	}
	/* the server's maximum caps the requester's payload */
	cx.edns_size = 1232;
	rsp.qlen = mkq(rsp.q, "hundred.example.com", 1, 1);
	add_opt(4096, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 65535);
	cr_assert(inf.truncated);
	cr_assert_eq(u16at(6), 0);
	/* over TCP: never truncated, OPT still there */
	ask_ex(ANSWER_TCP, 65535);
	cr_assert_not(inf.truncated);
	cr_assert_eq(u16at(6), 100);
	cr_assert_eq(rsp.len, rsp.qlen + 1600);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
	/* without OPT, 512 */
	ask_t("hundred.example.com", 1, 1, ANSWER_UDP, 4096);
	cr_assert_eq(rsp.len, rsp.qlen);
	cr_assert_eq(rsp.r[2] & 0x02, 0x02);
	cr_assert_eq(u16at(10), 0);
}

Test(answer, requester_payload_honoured_and_floored_at_512)
{
	ctx_default();
	/* many: 40 x 16 = 640 bytes of answers */
	rsp.qlen = mkq(rsp.q, "many.example.com", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_not(inf.truncated);
	cr_assert_eq(u16at(6), 40);
	cr_assert_eq(rsp.len, rsp.qlen + 640);
	rsp.qlen = mkq(rsp.q, "many.example.com", 1, 1);
	add_opt(600, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert(inf.truncated);
	cr_assert_eq(rsp.len, rsp.qlen);
	/* a payload of 100 counts as 512: small answers still come */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(100, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_not(inf.truncated);
	cr_assert_eq(u16at(6), 2);
	rsp.qlen = mkq(rsp.q, "many.example.com", 1, 1);
	add_opt(100, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert(inf.truncated);
}

Test(answer, badvers_exact_bytes)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x81, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0x00, 0x01, 0x00, 0x01,
		/* extended RCODE 1 (16 >> 4), version 0, DO copied */
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00,
	};
	static const uint8_t nsid_req[] = { 0x00, 0x03, 0x00, 0x00 };
	ldns_pkt *p;

	ctx_default();
	memcpy(cx.nsid, "ns1", 3);
	cx.nsid_len = 3; /* not sent: options of version 1 are not read */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(4096, 1, true, nsid_req, sizeof(nsid_req));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_BADVERS);
	cr_assert_eq(rsp.len, sizeof(want));
	cr_assert_eq(memcmp(rsp.r, want, sizeof(want)), 0);
	p = parsed();
	cr_assert_eq(ldns_pkt_edns_extended_rcode(p), 1);
	cr_assert_eq(ldns_pkt_edns_version(p), 0);
	ldns_pkt_free(p);
}

/* FORMERR, header only: nothing of a bad OPT is echoed. */
static void expect_formerr(const char *what)
{
	static const uint8_t want[] = { 0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };

	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR, "%s", what);
	cr_assert_eq(rsp.len, sizeof(want), "%s", what);
	cr_assert_eq(memcmp(rsp.r, want, sizeof(want)), 0, "%s", what);
	cr_assert_not(inf.edns);
}

/* FORMERR, header only, and an OPT of our own: payload 1232, DO as
 * the query had it, no options (RFC 6891 section 7). */
static const uint8_t formerr_opt[] = {
	0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t formerr_opt_do[] = {
	0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

static void expect_formerr_opt(const char *what, const uint8_t want[23])
{
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR, "%s", what);
	cr_assert_eq(rsp.len, 23, "%s", what);
	cr_assert_eq(memcmp(rsp.r, want, 23), 0, "%s", what);
	cr_assert(inf.edns, "%s", what);
	cr_assert_not(inf.nsid, "%s", what);
}

Test(answer, formerr_for_bad_opt)
{
	static const uint8_t bad_cookie[] = { 0x00, 0x0a, 0x00, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const uint8_t a_rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 };

	ctx_default();
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	add_opt(1232, 0, false, NULL, 0);
	expect_formerr("two OPTs");

	/* OPT in the answer section, then in the authority section */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	rsp.q[11] = 0;
	rsp.q[7] = 1;
	expect_formerr("OPT in answer");
	rsp.q[7] = 0;
	rsp.q[9] = 1;
	expect_formerr("OPT in authority");
	/* an A record in the answer section is skipped; OPT after it is fine */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	memcpy(rsp.q + rsp.qlen, a_rr, sizeof(a_rr));
	rsp.qlen += sizeof(a_rr);
	rsp.q[7] = 1;
	add_opt(1232, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert(inf.edns);

	/* truncated OPT: cut inside the fixed part, and inside the RDATA */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, "\x00\x03\x00\x00", 4);
	rsp.qlen -= 1;
	expect_formerr("OPT RDATA cut");
	rsp.qlen -= 8;
	expect_formerr("OPT header cut");
	/* option length running past the RDATA: FORMERR with a bare OPT
	 * (RFC 6891 section 7), even with NSID configured */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, "\x00\x03\x00\x05\x00", 5);
	memcpy(cx.nsid, "ns1", 3);
	cx.nsid_len = 3;
	expect_formerr_opt("option past RDATA", formerr_opt);
	cx.nsid_len = 0;

	/* owner not the root */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	memmove(rsp.q + rsp.qlen - 10, rsp.q + rsp.qlen - 11, 11);
	rsp.q[rsp.qlen - 11] = 0xc0; /* a pointer to the question name */
	rsp.q[rsp.qlen - 10] = 0x0c;
	rsp.qlen++;
	expect_formerr("owner www.example.com");

	/* COOKIE of 9 bytes: FORMERR with an OPT, DO copied, no COOKIE
	 * (RFC 7873 section 5.2.2) */
	cx.cookies = true;
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, true, bad_cookie, sizeof(bad_cookie));
	expect_formerr_opt("cookie of 9", formerr_opt_do);
	cr_assert_not(inf.cookie_seen);

	/* ... but bad options with the rest of the message broken (ARCOUNT
	 * 2, one RR): FORMERR without an OPT */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, true, bad_cookie, sizeof(bad_cookie));
	rsp.q[11] = 2;
	expect_formerr("cookie of 9, ARCOUNT 2");
}

/* RFC 1035 section 4.1.4: pointers point to a prior occurrence; an RR
 * owner that points at itself or forward is FORMERR, header only. */
Test(answer, formerr_for_bad_pointers_in_sections)
{
	/* owner: a pointer to itself (the RR starts at 33 = 0x21) */
	static const uint8_t self[] = { 0xc0, 0x21, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 };
	/* owner: a pointer to the next RR's owner at 49 = 0x31 */
	static const uint8_t fwd[] = {
		0xc0, 0x31, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4,
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4,
	};

	ctx_default();
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	cr_assert_eq(rsp.qlen, 33);
	memcpy(rsp.q + rsp.qlen, self, sizeof(self));
	rsp.qlen += sizeof(self);
	rsp.q[11] = 1;
	expect_formerr("additional owner points at itself");
	rsp.q[11] = 0;
	rsp.q[7] = 1;
	expect_formerr("answer owner points at itself");
	add_opt(1232, 0, false, NULL, 0);
	expect_formerr("answer owner points at itself, then an OPT");

	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	memcpy(rsp.q + rsp.qlen, fwd, sizeof(fwd));
	rsp.qlen += sizeof(fwd);
	rsp.q[7] = 2;
	expect_formerr("answer owner points forward");
	/* swapped: both point back to the question, fine */
	rsp.q[33 + 1] = 0x0c;
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
}

/* RFC 6891 section 6.1.1: every response to a request with an OPT has
 * one, NOTIMP included; section 6.1.3: a version we lack is BADVERS
 * whatever the opcode. */
Test(answer, notimp_and_badvers_for_other_opcodes_carry_an_opt)
{
	/* UPDATE, RD: zone example.com SOA IN, one update www A, OPT */
	static const uint8_t update[] = {
		0x12, 0x34, 0x29, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x06, 0x00, 0x01,
		3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9,
	};
	static const uint8_t notimp[] = {
		0x12, 0x34, 0xa9, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	};
	static const uint8_t badvers[] = {
		0x12, 0x34, 0xa9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t bare[] = {
		0x12, 0x34, 0xa9, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	ldns_pkt *p;

	ctx_default();
	memcpy(rsp.q, update, sizeof(update));
	rsp.qlen = sizeof(update);
	add_opt(4096, 0, true, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOTIMP);
	cr_assert(inf.edns);
	cr_assert_eq(rsp.len, sizeof(notimp));
	cr_assert_eq(memcmp(rsp.r, notimp, sizeof(notimp)), 0);
	p = parsed();
	cr_assert_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	cr_assert(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);

	memcpy(rsp.q, update, sizeof(update));
	rsp.qlen = sizeof(update);
	add_opt(4096, 1, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_BADVERS);
	cr_assert_eq(rsp.len, sizeof(badvers));
	cr_assert_eq(memcmp(rsp.r, badvers, sizeof(badvers)), 0);
	p = parsed();
	cr_assert_eq(ldns_pkt_edns_extended_rcode(p), 1);
	ldns_pkt_free(p);

	/* the OPT cut short: the message does not parse, header only */
	memcpy(rsp.q, update, sizeof(update));
	rsp.qlen = sizeof(update);
	add_opt(4096, 0, true, NULL, 0);
	rsp.qlen--;
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOTIMP);
	cr_assert_not(inf.edns);
	cr_assert_eq(rsp.len, sizeof(bare));
	cr_assert_eq(memcmp(rsp.r, bare, sizeof(bare)), 0);
}

Test(answer, nsid_echo)
{
	static const uint8_t nsid_req[] = { 0x00, 0x03, 0x00, 0x00 };
	static const uint8_t want_opt[] = {
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
		0x00, 0x03, 0x00, 0x08, 'n', 's', '1', '.', 't', 'e', 's', 't',
	};
	ldns_pkt *p;

	ctx_default();
	memcpy(cx.nsid, "ns1.test", 8);
	cx.nsid_len = 8;
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, nsid_req, sizeof(nsid_req));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert(inf.nsid);
	cr_assert_eq(rsp.len, rsp.qlen - sizeof(nsid_req) + 32 + sizeof(want_opt) - 11);
	cr_assert_eq(memcmp(rsp.r + rsp.len - sizeof(want_opt), want_opt, sizeof(want_opt)), 0);
	p = parsed();
	cr_assert_eq(ldns_pkt_edns_udp_size(p), 1232);
	cr_assert_eq(ldns_rdf_size(ldns_pkt_edns_data(p)), 12);
	ldns_pkt_free(p);
	/* not asked: not sent */
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_not(inf.nsid);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
	/* asked, none configured: not sent */
	cx.nsid_len = 0;
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, nsid_req, sizeof(nsid_req));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_not(inf.nsid);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
}

/* RFC 9018 A.1: secret, client 198.51.100.100, time 1559731985. */
static void ctx_cookies(void)
{
	static const uint8_t secret[16] = { 0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
					    0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf };

	ctx_default();
	cx.cookies = true;
	memcpy(cx.cookie_secret, secret, 16);
	cx.now = 1559731985;
	cx.client_family = AF_INET;
	memcpy(cx.client_addr, "\xc6\x33\x64\x64", 4);
}

static const uint8_t cookie_q1[] = { 0x00, 0x0a, 0x00, 0x08, 0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57 };
static const uint8_t cookie_a1[] = {
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1c,
	0x00, 0x0a, 0x00, 0x18, 0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57,
	0x01, 0x00, 0x00, 0x00, 0x5c, 0xf7, 0x9f, 0x11,
	0x1f, 0x81, 0x30, 0xc3, 0xee, 0xe2, 0x94, 0x80,
};

Test(answer, cookie_client_only_gets_server_cookie)
{
	ctx_cookies();
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(4096, 0, false, cookie_q1, sizeof(cookie_q1));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert(inf.cookie_seen);
	cr_assert_eq(inf.cookie, COOKIE_CLIENT_ONLY);
	expect_header_ar(0, true, 2, 0, 1);
	cr_assert_eq(rsp.len, rsp.qlen - sizeof(cookie_q1) + 32 + sizeof(cookie_a1) - 11);
	cr_assert_eq(memcmp(rsp.r + rsp.len - sizeof(cookie_a1), cookie_a1, sizeof(cookie_a1)), 0);
	/* cookies off: the option is not answered */
	cx.cookies = false;
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_not(inf.cookie_seen);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 11, opt_plain, 11), 0);
}

Test(answer, cookie_valid_echoed_bad_replaced)
{
	uint8_t q[4 + 24];

	ctx_cookies();
	/* the full cookie A.1 returned, 10 minutes later: echoed */
	memcpy(q, "\x00\x0a\x00\x18", 4);
	memcpy(q + 4, cookie_a1 + 15, 24);
	cx.now += 600;
	rsp.qlen = mkq(rsp.q, "nope.example.com", 1, 1);
	add_opt(1232, 0, false, q, sizeof(q));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NXDOMAIN);
	cr_assert_eq(inf.cookie, COOKIE_VALID);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 24, cookie_a1 + 15, 24), 0);
	/* a hash that is not ours: a normal answer with a fresh cookie */
	cx.now -= 600;
	q[4 + 23] ^= 0x01;
	rsp.qlen = mkq(rsp.q, "www.example.com", 1, 1);
	add_opt(1232, 0, false, q, sizeof(q));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert_eq(rsp.r[3], 0);
	cr_assert_eq(inf.cookie, COOKIE_BAD);
	cr_assert_eq(memcmp(rsp.r + rsp.len - sizeof(cookie_a1), cookie_a1, sizeof(cookie_a1)), 0);
	/* from another address: also replaced */
	q[4 + 23] ^= 0x01;
	cx.client_addr[3] = 0x65;
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert_eq(inf.cookie, COOKIE_BAD);
}

Test(answer, cookie_only_query_without_question)
{
	uint8_t want[12 + sizeof(cookie_a1)] = { 0x12, 0x34, 0x81, 0x00, 0, 0, 0, 0, 0, 0, 0, 1 };
	ldns_pkt *p;

	memcpy(want + 12, cookie_a1, sizeof(cookie_a1));
	ctx_cookies();
	memset(rsp.q, 0, 12);
	rsp.q[0] = 0x12;
	rsp.q[1] = 0x34;
	rsp.q[2] = 0x01;
	rsp.qlen = 12;
	add_opt(4096, 0, false, cookie_q1, sizeof(cookie_q1));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_NOERROR);
	cr_assert_eq(rsp.len, sizeof(want));
	cr_assert_eq(memcmp(rsp.r, want, sizeof(want)), 0);
	p = parsed();
	cr_assert_eq(ldns_pkt_qdcount(p), 0);
	cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	/* QDCOUNT 0 with an OPT but no cookie: FORMERR, the OPT answered
	 * (RFC 6891 section 6.1.1) */
	rsp.qlen = 12;
	rsp.q[11] = 0;
	add_opt(4096, 0, false, NULL, 0);
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_FORMERR);
	cr_assert_eq(rsp.len, 23);
	cr_assert_eq(memcmp(rsp.r, "\x12\x34\x81\x01\0\0\0\0\0\0\0\1", 12), 0);
	cr_assert_eq(memcmp(rsp.r + 12, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11), 0);
	/* ... and with version 1: BADVERS */
	rsp.qlen = 12;
	rsp.q[11] = 0;
	add_opt(4096, 1, false, cookie_q1, sizeof(cookie_q1));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert_eq(rsp.kind, ANSWER_BADVERS);
	cr_assert_eq(rsp.len, 23);
	cr_assert_eq(memcmp(rsp.r, "\x12\x34\x81\x00\0\0\0\0\0\0\0\1", 12), 0);
	cr_assert_eq(memcmp(rsp.r + 12, "\0\0\x29\x04\xd0\x01\0\0\0\0\0", 11), 0);
}

Test(answer, truncated_keeps_opt_with_nsid_and_cookie)
{
	uint8_t opts[4 + sizeof(cookie_q1)];

	memcpy(opts, "\x00\x03\x00\x00", 4);
	memcpy(opts + 4, cookie_q1, sizeof(cookie_q1));
	ctx_cookies();
	memcpy(cx.nsid, "ns1.test", 8);
	cx.nsid_len = 8;
	rsp.qlen = mkq(rsp.q, "hundred.example.com", 1, 1);
	add_opt(512, 0, false, opts, sizeof(opts));
	ask_ex(ANSWER_UDP, 4096);
	cr_assert(inf.truncated);
	cr_assert(inf.nsid);
	cr_assert_eq(u16at(6), 0);
	cr_assert_eq(u16at(10), 1);
	/* header + question (37) + OPT (11 + 12 + 28) */
	cr_assert_eq(rsp.len, 37 + 11 + 12 + 28);
	cr_assert_eq(memcmp(rsp.r + rsp.len - 24, cookie_a1 + 15, 24), 0);
}

/* Mutated EDNS queries: never a read or write out of bounds (ASan), the
 * UDP limit always kept, every response parsable by ldns. */
Test(answer, mutated_edns_queries_stay_in_bounds)
{
	static const uint8_t opts[] = { 0x00, 0x03, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x08,
					1, 2, 3, 4, 5, 6, 7, 8 };
	static const char *const names[] = { "hundred.example.com", "www.example.com",
					     "nope.example.com", "example.com" };
	uint32_t rng = 99;
	uint8_t base[512];
	size_t base_len;

	ctx_cookies();
	memset(cx.nsid, 'n', EDNS_NSID_MAX);
	cx.nsid_len = EDNS_NSID_MAX;
	for (int round = 0; round < 20000; round++) {
		size_t cap;
		ldns_pkt *p = NULL;

		rsp.qlen = mkq(rsp.q, names[round % 4], (uint16_t)(round % 3 ? 1 : 28), 1);
		add_opt((uint16_t)(round * 37), 0, round & 1, opts, sizeof(opts));
		memcpy(base, rsp.q, rsp.qlen);
		base_len = rsp.qlen;
		for (int k = 0; k < 1 + round % 4; k++) {
			rng = rng * 1103515245u + 12345u;
			rsp.q[12 + (rng >> 8) % (base_len - 12)] = (uint8_t)(rng >> 20);
		}
		rng = rng * 1103515245u + 12345u;
		if (rng & 0x100)
			rsp.qlen -= (rng >> 12) % 8; /* sometimes cut */
		cap = round % 5 ? 4096 : 512;
		ask_ex(round % 7 ? ANSWER_UDP : ANSWER_TCP, cap);
		cr_assert_leq(rsp.len, cap);
		if (rsp.len == 0)
			continue;
		if (round % 7 && inf.edns)
			cr_assert_leq(rsp.len, cx.edns_size);
		else if (round % 7)
			cr_assert_leq(rsp.len, 512);
		cr_assert_eq(ldns_wire2pkt(&p, rsp.r, rsp.len), LDNS_STATUS_OK, "round %d", round);
		ldns_pkt_free(p);
	}
}

/* Transfers of a zone we serve are flagged for the worker's transfer
 * code (the query core itself says NOTIMP); nothing else is. */
Test(answer, transfer_requests_are_flagged_for_the_worker)
{
	static const struct {
		const char *name;
		uint16_t type, cls;
		bool xfr;
		int rcode;
	} cases[] = {
		{"example.com", 252, 1, true, 4},   /* AXFR at the apex */
		{"EXAMPLE.com", 251, 1, true, 4},   /* IXFR, any case */
		{"www.example.com", 252, 1, true, 4}, /* below the apex: xfr.c says NOTAUTH */
		{"example.org", 252, 1, false, 5},  /* not ours: REFUSED here */
		{"example.com", 252, 3, false, 5},  /* class CH */
		{"example.com", 6, 1, false, 0},    /* an ordinary SOA query */
		{"example.com", 254, 1, false, 4},  /* MAILA: NOTIMP, not a transfer */
	};

	ctx_default();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rsp.qlen = mkq(rsp.q, cases[i].name, cases[i].type, cases[i].cls);
		ask_ex(ANSWER_TCP, 65535);
		cr_assert_eq(inf.xfr, cases[i].xfr, "%s type %u", cases[i].name, cases[i].type);
		cr_assert_geq(rsp.len, 12);
		cr_assert_eq(rsp.r[3] & 0x0f, cases[i].rcode, "%s type %u", cases[i].name,
			     cases[i].type);
	}
}
