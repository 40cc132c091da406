/*
 * The NOTIFY messages (RFC 1996) built from a real image's SOA answers,
 * and the matching of acknowledgements, read and written by ldns as the
 * independent oracle.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <string.h>

#include <ldns/ldns.h>

#include "sandbox_check.h"
#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "notify.h"
#include "proc.h"
#include "zimg.h"

#define T_ZONE "example.com"
#define T_ALIAS "example.net"
#define T_NOW 1700000000u

static struct config cfg;
static struct config_entry entry;
static struct config_addr addr;
static char *ns[] = { "ns1.example.com", "ns2.example.org" };
static char *alias[] = { T_ALIAS };
static struct zimg *z;
static uint32_t serial;

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&entry, 0, sizeof(entry));
	addr.family = AF_INET;
	cr_assert_eq(inet_pton(AF_INET, "192.0.2.1", addr.addr), 1);
	entry = (struct config_entry){ .name = "www", .addrs = &addr, .n_addrs = 1,
		.check = CONFIG_CHECK_NONE, .rise = 1, .fall = 1, .ttl = -1 };
	cfg.hosted_zone = T_ZONE;
	cfg.alias_zones = alias;
	cfg.n_alias_zones = 1;
	cfg.ns = ns;
	cfg.n_ns = 2;
	cfg.entries = &entry;
	cfg.n_entries = 1;
	cfg.n_addrs_total = 1;
	cfg.test_min_interval = 30;
	cfg.test_timeout = 2;
	cfg.port = 53053;
	z = zimg_new_mem(&cfg);
	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, T_NOW, &serial), 0);
}

static void teardown(void)
{
	zimg_close(z);
	z = NULL;
}

TestSuite(notify, .init = setup, .fini = teardown);

/* The wire form of a text name, by ldns. */
static size_t wire_name(const char *text, uint8_t *out)
{
	ldns_rdf *d = ldns_dname_new_frm_str(text);
	size_t n;

	cr_assert_not_null(d);
	n = ldns_rdf_size(d);
	memcpy(out, ldns_rdf_data(d), n);
	ldns_rdf_deep_free(d);
	return n;
}

/* The NOTIFY of zone from the image, as the notifier builds it. */
static size_t notify_of(const char *zone, uint8_t *msg, size_t cap, uint32_t *ser)
{
	uint8_t apex[AHD_MAX_NAME_WIRE], q[512], ans[4096];
	enum answer_kind kind;
	size_t alen = wire_name(zone, apex);
	size_t qlen = notify_msg_soa_query(apex, alen, q, sizeof(q));
	size_t len;

	cr_assert_gt(qlen, 0u);
	len = answer_query(z, q, qlen, ANSWER_TCP, ans, sizeof(ans), &kind);
	cr_assert_gt(len, 0u);
	cr_assert_eq(kind, ANSWER_NOERROR);
	return notify_msg_build(ans, len, msg, cap, ser);
}

static void expect_name(const ldns_rdf *d, const char *want)
{
	char *s = ldns_rdf2str(d);

	cr_expect_str_eq(s, want);
	free(s);
}

Test(notify, soa_query_is_a_plain_question)
{
	uint8_t apex[AHD_MAX_NAME_WIRE], q[512];
	size_t qlen = notify_msg_soa_query(apex, wire_name(T_ZONE, apex), q, sizeof(q));
	ldns_pkt *p = NULL;
	ldns_rr *rr;

	cr_assert_eq(ldns_wire2pkt(&p, q, qlen), LDNS_STATUS_OK);
	cr_expect_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	cr_expect(!ldns_pkt_qr(p) && !ldns_pkt_rd(p));
	cr_assert_eq(ldns_pkt_qdcount(p), 1);
	rr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	expect_name(ldns_rr_owner(rr), T_ZONE ".");
	cr_expect_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
	cr_expect_eq(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	ldns_pkt_free(p);
	cr_expect_eq(notify_msg_soa_query(apex, 13, q, 12 + 13 + 3), 0u, "no room");
}

/* The NOTIFY of zone: opcode 4, AA, QR clear, the zone's SOA question and
 * its SOA as the one answer (RFC 1996 sections 3.3, 3.7). */
static void check_notify(const char *zone)
{
	char owner[300];
	uint8_t msg[NOTIFY_MSG_MAX];
	uint32_t ser = 0;
	size_t len = notify_of(zone, msg, sizeof(msg), &ser);
	ldns_pkt *p = NULL;
	ldns_rr *q, *soa;

	cr_assert_gt(len, 0u);
	cr_assert_eq(ldns_wire2pkt(&p, msg, len), LDNS_STATUS_OK);
	cr_expect_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	cr_expect(ldns_pkt_aa(p));
	cr_expect(!ldns_pkt_qr(p) && !ldns_pkt_rd(p) && !ldns_pkt_ra(p));
	cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	cr_expect_eq(ldns_pkt_id(p), 0);
	cr_assert_eq(ldns_pkt_qdcount(p), 1);
	cr_assert_eq(ldns_pkt_ancount(p), 1);
	cr_expect_eq(ldns_pkt_nscount(p), 0);
	cr_expect_eq(ldns_pkt_arcount(p), 0);
	q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	snprintf(owner, sizeof(owner), "%s.", zone);
	expect_name(ldns_rr_owner(q), owner);
	cr_expect_eq(ldns_rr_get_type(q), LDNS_RR_TYPE_SOA);
	soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	cr_assert_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	expect_name(ldns_rr_owner(soa), owner);
	/* Every zone's SOA is the hosted zone's (DESIGN §2, alias zones). */
	expect_name(ldns_rr_rdf(soa, 0), "ns1.example.com.");
	expect_name(ldns_rr_rdf(soa, 1), "hostmaster.example.com.");
	cr_expect_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), serial);
	cr_expect_eq(ser, serial, "the serial reported is the SOA's");
	/* zimg_publish_at: max(now, previous + 1) from an empty image. */
	cr_expect_eq(serial, T_NOW);
	ldns_pkt_free(p);
}

Test(notify, hosted_zone_notify)
{
	check_notify(T_ZONE);
}

Test(notify, alias_zone_notify)
{
	check_notify(T_ALIAS);
}

Test(notify, set_id)
{
	uint8_t msg[NOTIFY_MSG_MAX];
	uint32_t ser;
	size_t len = notify_of(T_ZONE, msg, sizeof(msg), &ser);
	ldns_pkt *p = NULL;

	notify_msg_set_id(msg, 0xbeef);
	cr_assert_eq(ldns_wire2pkt(&p, msg, len), LDNS_STATUS_OK);
	cr_expect_eq(ldns_pkt_id(p), 0xbeef);
	ldns_pkt_free(p);
}

/* An answer from ldns: flags and records as given. */
static size_t ldns_answer(uint8_t *out, size_t cap, const char *qname, ldns_rr_type qtype,
			  ldns_pkt_rcode rcode, bool with_soa)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype, LDNS_RR_CLASS_IN, 0);
	uint8_t *wire = NULL;
	size_t len = 0;

	cr_assert_not_null(p);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, rcode);
	if (with_soa) {
		ldns_rr *rr = NULL;

		cr_assert_eq(ldns_rr_new_frm_str(&rr, T_ZONE ". 1800 IN SOA ns1." T_ZONE
						 ". hostmaster." T_ZONE ". 42 600 60 300 60",
						 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	cr_assert_eq(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	cr_assert_leq(len, cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

Test(notify, build_takes_any_soa_answer_and_only_that)
{
	uint8_t ans[1024], msg[NOTIFY_MSG_MAX];
	uint32_t ser = 0;
	size_t len = ldns_answer(ans, sizeof(ans), T_ZONE, LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, true);

	/* ldns compresses the SOA's names against the question. */
	cr_expect_eq(notify_msg_build(ans, len, msg, sizeof(msg), &ser), len);
	cr_expect_eq(ser, 42u);
	for (size_t cut = 0; cut < len; cut++)
		cr_expect_eq(notify_msg_build(ans, cut, msg, sizeof(msg), &ser), 0u, "cut %zu", cut);
	cr_expect_eq(notify_msg_build(ans, len, msg, len - 1, &ser), 0u, "no room");
	{
		/* The SOA's owner is a pointer right after the question (ldns
		 * compresses it): it must aim backwards and past the header,
		 * or the NOTIFY would hold a dangling or rewritten name. */
		size_t owner = 12 + 13 + 4; /* header, "example.com" + root, QTYPE QCLASS */
		uint8_t bad[1024];

		cr_assert_eq(ans[owner], 0xc0, "ldns compressed the owner");
		memcpy(bad, ans, len);
		bad[owner + 1] = 5; /* into the header */
		cr_expect_eq(notify_msg_build(bad, len, msg, sizeof(msg), &ser), 0u, "header");
		bad[owner + 1] = (uint8_t)(owner + 12); /* forwards */
		cr_expect_eq(notify_msg_build(bad, len, msg, sizeof(msg), &ser), 0u, "forwards");
		/* RDATA one byte longer than two names and five numbers. */
		memcpy(bad, ans, len);
		bad[len] = 0;
		bad[owner + 11]++;
		cr_expect_eq(notify_msg_build(bad, len + 1, msg, sizeof(msg), &ser), 0u, "RDATA");
	}
	len = ldns_answer(ans, sizeof(ans), T_ZONE, LDNS_RR_TYPE_SOA, LDNS_RCODE_REFUSED, true);
	cr_expect_eq(notify_msg_build(ans, len, msg, sizeof(msg), &ser), 0u, "REFUSED");
	len = ldns_answer(ans, sizeof(ans), T_ZONE, LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, false);
	cr_expect_eq(notify_msg_build(ans, len, msg, sizeof(msg), &ser), 0u, "no SOA");
	len = ldns_answer(ans, sizeof(ans), T_ZONE, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, true);
	cr_expect_eq(notify_msg_build(ans, len, msg, sizeof(msg), &ser), 0u, "an A question");
}

/* A secondary's answer to req, written by ldns from req as it parsed it. */
static size_t ack_of(const uint8_t *req, size_t req_len, uint8_t *out, size_t cap,
		     void (*edit)(ldns_pkt *))
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	cr_assert_eq(ldns_wire2pkt(&p, req, req_len), LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	/* Secondaries answer with the question and no records. */
	ldns_rr_list_deep_free(ldns_pkt_answer(p));
	ldns_pkt_set_answer(p, ldns_rr_list_new());
	ldns_pkt_set_ancount(p, 0);
	if (edit != NULL)
		edit(p);
	cr_assert_eq(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	cr_assert_leq(len, cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

static void edit_refused(ldns_pkt *p) { ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED); }
static void edit_id(ldns_pkt *p) { ldns_pkt_set_id(p, (uint16_t)(ldns_pkt_id(p) + 1)); }
static void edit_qr(ldns_pkt *p) { ldns_pkt_set_qr(p, false); }
static void edit_opcode(ldns_pkt *p) { ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY); }

static void edit_case(ldns_pkt *p)
{
	ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);

	ldns_rdf_deep_free(ldns_rr_owner(q));
	ldns_rr_set_owner(q, ldns_dname_new_frm_str("ExAmPlE.CoM."));
}

static void edit_zone(ldns_pkt *p)
{
	ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);

	ldns_rdf_deep_free(ldns_rr_owner(q));
	ldns_rr_set_owner(q, ldns_dname_new_frm_str(T_ALIAS "."));
}

static void edit_type(ldns_pkt *p)
{
	ldns_rr_set_type(ldns_rr_list_rr(ldns_pkt_question(p), 0), LDNS_RR_TYPE_A);
}

static void edit_noq(ldns_pkt *p)
{
	ldns_rr_list_deep_free(ldns_pkt_question(p));
	ldns_pkt_set_question(p, ldns_rr_list_new());
	ldns_pkt_set_qdcount(p, 0);
}

Test(notify, acknowledgements)
{
	uint8_t req[NOTIFY_MSG_MAX], ack[1024];
	uint32_t ser;
	size_t rlen = notify_of(T_ZONE, req, sizeof(req), &ser), alen;
	int rcode = -7;
	static const struct { void (*edit)(ldns_pkt *); const char *why; } none[] = {
		{ edit_id, "another ID" }, { edit_qr, "QR clear" }, { edit_opcode, "opcode QUERY" },
		{ edit_zone, "another zone" }, { edit_type, "another type" },
		{ edit_noq, "no question" },
	};

	notify_msg_set_id(req, 0x4242);
	alen = ack_of(req, rlen, ack, sizeof(ack), NULL);
	cr_expect_eq(notify_msg_ack(ack, alen, req, rlen, &rcode), NOTIFY_ACK_OK);
	cr_expect_eq(rcode, 0);
	for (size_t cut = 0; cut < alen; cut++)
		cr_expect_eq(notify_msg_ack(ack, cut, req, rlen, &rcode), NOTIFY_ACK_NONE, "cut %zu",
			     cut);
	alen = ack_of(req, rlen, ack, sizeof(ack), edit_case);
	cr_expect_eq(notify_msg_ack(ack, alen, req, rlen, &rcode), NOTIFY_ACK_OK, "0x20 case");
	alen = ack_of(req, rlen, ack, sizeof(ack), edit_refused);
	cr_expect_eq(notify_msg_ack(ack, alen, req, rlen, &rcode), NOTIFY_ACK_ERROR);
	cr_expect_eq(rcode, LDNS_RCODE_REFUSED);
	for (size_t i = 0; i < AHD_ARRAY_LEN(none); i++) {
		alen = ack_of(req, rlen, ack, sizeof(ack), none[i].edit);
		cr_expect_eq(notify_msg_ack(ack, alen, req, rlen, &rcode), NOTIFY_ACK_NONE, "%s",
			     none[i].why);
	}
	/* Our own request is not an answer to itself. */
	cr_expect_eq(notify_msg_ack(req, rlen, req, rlen, &rcode), NOTIFY_ACK_NONE);
}

/* The notifier's seccomp allow-list (proc.c): what notify.c calls, and
 * none of what only the prober (connect, epoll) or nobody (open, exec)
 * needs. */
Test(notify, allow_list)
{
	static const char *const yes[] = {
		"socket", "bind", "sendto", "recvfrom", "ppoll", "getrandom", "rt_sigaction",
		"write", "clock_gettime",
	};
	static const char *const no[] = {
		"connect", "epoll_wait", "accept4", "openat", "execve", "kill", "ptrace",
		"setuid", "mprotect", "prlimit64",
	};

	sandbox_expect(PROC_ROLE_NOTIFIER, yes, AHD_ARRAY_LEN(yes), no, AHD_ARRAY_LEN(no));
	cr_expect_str_eq(proc_role_name(PROC_ROLE_NOTIFIER), "notifier");
}
