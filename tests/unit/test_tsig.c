/*
 * TSIG (RFC 8945) against independent implementations: ldns signs and
 * verifies the other side of every exchange (requests, responses,
 * multi-message answers, error answers), and requests captured from
 * Knot's kdig and BIND's dig are checked byte for byte as they were sent.
 */
#include <criterion/criterion.h>

#include <string.h>
#include <time.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "tsig.h"

#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk="
#define KEYNAME "transfer.example."

/* What ldns calls each algorithm. */
static const char *const ldns_alg[] = {
	[TSIG_HMAC_MD5] = "hmac-md5.sig-alg.reg.int.",
	[TSIG_HMAC_SHA1] = "hmac-sha1.",
	/* ldns 1.8 has no hmac-sha224 or hmac-sha384: the captured dig and
	 * kdig requests cover those. */
	[TSIG_HMAC_SHA256] = "hmac-sha256.",
	[TSIG_HMAC_SHA512] = "hmac-sha512.",
};
static const size_t mac_size[] = {
	[TSIG_HMAC_MD5] = 16, [TSIG_HMAC_SHA1] = 20, [TSIG_HMAC_SHA224] = 28,
	[TSIG_HMAC_SHA256] = 32, [TSIG_HMAC_SHA384] = 48, [TSIG_HMAC_SHA512] = 64,
};

static size_t hex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static struct tsig_key make_key(enum tsig_alg alg, const char *name, const char *b64)
{
	struct tsig_key k = { .alg = alg };
	uint8_t buf[TSIG_SECRET_MAX + 3];
	ldns_rdf *d = ldns_dname_new_frm_str(name);
	int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)strlen(b64));

	cr_assert_not_null(d);
	cr_assert_gt(n, 0);
	n -= (int)(strlen(b64) - strcspn(b64, "=")); /* padding */
	ldns_dname2canonical(d);
	k.name_len = ldns_rdf_size(d);
	memcpy(k.name, ldns_rdf_data(d), k.name_len);
	memcpy(k.secret, buf, (size_t)n);
	k.secret_len = (size_t)n;
	ldns_rdf_deep_free(d);
	return k;
}

/* A query for example.com, ID 0x1234, signed by ldns; *pkt keeps the
 * TSIG ldns made (its MAC is the prior MAC of the answer). */
static uint8_t *ldns_signed(ldns_pkt **pkt, ldns_rr_type qtype, enum tsig_alg alg,
			    const char *keyname, size_t *len)
{
	uint8_t *wire;
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."), qtype,
					 LDNS_RR_CLASS_IN, 0);

	cr_assert_not_null(p);
	ldns_pkt_set_id(p, 0x1234);
	cr_assert_eq(ldns_pkt_tsig_sign(p, keyname, SECRET, 300, ldns_alg[alg], NULL),
		     LDNS_STATUS_OK, "ldns cannot sign with %s", ldns_alg[alg]);
	cr_assert_eq(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	*pkt = p;
	return wire;
}

/* The MAC of pkt's TSIG as ldns wants a prior MAC: length + octets. */
static const ldns_rdf *ldns_mac(const ldns_pkt *pkt)
{
	cr_assert_not_null(ldns_pkt_tsig(pkt));
	return ldns_rr_rdf(ldns_pkt_tsig(pkt), 3);
}

/* The answer to query q as ldns writes it (QR, AA, one SOA) into buf. */
static size_t answer_wire(const ldns_pkt *q, uint8_t *buf, size_t cap, int serial)
{
	ldns_pkt *a = ldns_pkt_new();
	ldns_rr *soa, *qq;
	char text[200];
	uint8_t *wire;
	size_t n;

	snprintf(text, sizeof(text), "example.com. 300 IN SOA ns.example.com. h.example.com. %d 1 1 1 1",
		 serial);
	cr_assert_eq(ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL), LDNS_STATUS_OK);
	qq = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0));
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, qq);
	ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, soa);
	cr_assert_eq(ldns_pkt2wire(&wire, a, &n), LDNS_STATUS_OK);
	cr_assert_leq(n, cap);
	memcpy(buf, wire, n);
	free(wire);
	ldns_pkt_free(a);
	return n;
}

static ldns_pkt *parse(const uint8_t *wire, size_t len)
{
	ldns_pkt *p = NULL;

	cr_assert_eq(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	return p;
}

Test(tsig, alg_names)
{
	cr_assert_str_eq(tsig_alg_text(TSIG_HMAC_SHA256), "hmac-sha256");
	cr_assert_null(tsig_alg_text(TSIG_ALG_NONE));
	cr_assert_eq(tsig_alg_from_text("HMAC-SHA512"), TSIG_HMAC_SHA512);
	cr_assert_eq(tsig_alg_from_text("hmac-md5.sig-alg.reg.int."), TSIG_HMAC_MD5);
	cr_assert_eq(tsig_alg_from_text("hmac-sha3"), TSIG_ALG_NONE);
}

/* Every algorithm ldns has: it signs the request, we verify it and sign the
 * answer, ldns verifies that. */
Test(tsig, ldns_request_and_answer_every_alg)
{
	for (int alg = TSIG_HMAC_MD5; alg <= TSIG_HMAC_SHA512; alg++) {
		if (!ldns_alg[alg])
			continue;
		struct tsig_key key = make_key((enum tsig_alg)alg, KEYNAME, SECRET);
		struct tsig_rr rr;
		struct tsig_ctx c;
		ldns_pkt *q, *a;
		size_t len, n;
		uint8_t buf[1024];
		uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_SOA, (enum tsig_alg)alg, KEYNAME, &len);

		cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND, "%s", ldns_alg[alg]);
		cr_assert_eq(rr.alg, alg);
		cr_assert_eq(rr.mac_len, mac_size[alg]);
		cr_assert_eq(rr.orig_id, 0x1234);
		cr_assert_eq(rr.fudge, 300);
		cr_assert_eq(rr.error, 0);
		cr_assert_eq(rr.other_len, 0);
		cr_assert_eq(rr.key_name_len, key.name_len);
		cr_assert_eq(memcmp(rr.key_name, key.name, key.name_len), 0);
		cr_assert_eq(memcmp(rr.mac, ldns_rdf_data(ldns_mac(q)) + 2, rr.mac_len), 0);
		cr_assert_eq(tsig_verify(&key, wire, len, &rr, rr.time_signed + 3), 0, "%s",
			     ldns_alg[alg]);

		n = answer_wire(q, buf, sizeof(buf), 7);
		tsig_ctx_init(&c, &key, &rr);
		cr_assert(tsig_sign(&c, buf, &n, sizeof(buf), (uint64_t)time(NULL)));
		a = parse(buf, n);
		cr_assert(ldns_pkt_tsig_verify(a, buf, n, KEYNAME, SECRET, ldns_mac(q)), "%s",
			  ldns_alg[alg]);
		/* The oracle can fail: the same answer without the request MAC. */
		cr_assert_not(ldns_pkt_tsig_verify(a, buf, n, KEYNAME, SECRET, NULL));
		ldns_pkt_free(a);
		ldns_pkt_free(q);
		free(wire);
	}
}

/* Section 5.2: key, then MAC, then time. */
Test(tsig, verify_errors_in_order)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	struct tsig_key other = make_key(TSIG_HMAC_SHA256, "other.example.", SECRET);
	struct tsig_key sha1 = make_key(TSIG_HMAC_SHA1, KEYNAME, SECRET);
	struct tsig_key secret2 = make_key(TSIG_HMAC_SHA256, KEYNAME, "b3RoZXItc2VjcmV0");
	struct tsig_rr rr;
	ldns_pkt *q;
	size_t len;
	uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_AXFR, TSIG_HMAC_SHA256, KEYNAME, &len);
	uint64_t t;

	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	t = rr.time_signed;
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t), 0);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t + 300), 0);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t - 300), 0);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t + 301), TSIG_BADTIME);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t - 301), TSIG_BADTIME);
	cr_assert_eq(tsig_verify(&other, wire, len, &rr, t + 301), TSIG_BADKEY);
	cr_assert_eq(tsig_verify(&sha1, wire, len, &rr, t), TSIG_BADKEY);
	cr_assert_eq(tsig_verify(&secret2, wire, len, &rr, t + 301), TSIG_BADSIG);
	/* One bit of the question. */
	wire[14] ^= 0x20;
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t), TSIG_BADSIG);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t + 1000), TSIG_BADSIG);
	wire[14] ^= 0x20;
	/* One bit of the MAC (its last octet is 6 before the end). */
	wire[len - 7] ^= 1;
	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, t), TSIG_BADSIG);
	wire[len - 7] ^= 1;
	/* One bit of the Time Signed: covered by the MAC. */
	wire[len - 6 - 32 - 2 - 2 - 1] ^= 1;
	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, rr.time_signed), TSIG_BADSIG);
	ldns_pkt_free(q);
	free(wire);
}

/* The digest has the Original ID in the header (RFC 8945 4.3.2), and
 * the key name in canonical (lower case) form (4.3.3): a forwarded
 * request with another ID and the key name's case changed verifies. */
Test(tsig, original_id_and_key_name_case)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	struct tsig_rr rr;
	ldns_pkt *q;
	size_t len;
	uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_AXFR, TSIG_HMAC_SHA256, KEYNAME, &len);

	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	wire[0] = 0x99;
	wire[1] = 0x88;
	wire[rr.rr_off + 1] = 'T'; /* "transfer" -> "Transfer" */
	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	cr_assert_eq(rr.key_name[1], 't');
	cr_assert_eq(rr.orig_id, 0x1234);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, rr.time_signed), 0);
	ldns_pkt_free(q);
	free(wire);
}

/* Requests captured from kdig 3.2.6 (Knot) and dig 9.18 (BIND) on
 * loopback, key transfer.example. with SECRET: the very bytes they sent.
 * dig's carry an OPT with a cookie before the TSIG. */
static const struct {
	enum tsig_alg alg;
	const char *hex;
} captured[] = {
	{ TSIG_HMAC_MD5, /* dig, example.com SOA */
	  "656001200001000000000002076578616d706c6503636f6d000006000100"
	  "002904d000000000000c000a000820c4c9d69aae0aef087472616e736665"
	  "72076578616d706c650000fa00ff00000000003a08686d61632d6d643507"
	  "7369672d616c670372656703696e740000006b16ae7e012c001009eec724"
	  "2929ce67d69e94307f5238e8656000000000" },
	{ TSIG_HMAC_SHA1, /* kdig, example.org TXT */
	  "02bc01200001000000000001076578616d706c65036f7267000010000108"
	  "7472616e73666572076578616d706c650000fa00ff00000000002f09686d"
	  "61632d736861310000006b16aeea012c00147f93c80cdec6ae2f19af2968"
	  "a548c8ebb15eb21c02bc00000000" },
	{ TSIG_HMAC_SHA224, /* dig +noedns, example.net NS */
	  "85dd01200001000000000001076578616d706c65036e6574000002000108"
	  "7472616e73666572076578616d706c650000fa00ff0000000000390b686d"
	  "61632d7368613232340000006b16aee8012c001c16719f36564a480a9d17"
	  "8f0d56502d8e5c15285b0f15671cdfb560c285dd00000000" },
	{ TSIG_HMAC_SHA256, /* kdig, example.com SOA */
	  "b0c501200001000000000001076578616d706c6503636f6d000006000108"
	  "7472616e73666572076578616d706c650000fa00ff00000000003d0b686d"
	  "61632d7368613235360000006b16ae6f012c0020bd61bbbfc6916b25200b"
	  "0daba05c6691b1132dade99c114b04c07a1f8d8a0e61b0c500000000" },
	{ TSIG_HMAC_SHA384, /* kdig, example.com AAAA */
	  "ed9201200001000000000001076578616d706c6503636f6d00001c000108"
	  "7472616e73666572076578616d706c650000fa00ff00000000004d0b686d"
	  "61632d7368613338340000006b16aef4012c0030c10371f44eb479712327"
	  "fefb9e5d3eb02732c7386f83ce909dbfcc7aa0ca9357dc5258ed7eb12014"
	  "d2452a3402bdcb2ced9200000000" },
	{ TSIG_HMAC_SHA512, /* dig, example.com SOA */
	  "5a9801200001000000000002076578616d706c6503636f6d000006000100"
	  "002904d000000000000c000a00086ff9cac5d35705b4087472616e736665"
	  "72076578616d706c650000fa00ff00000000005d0b686d61632d73686135"
	  "31320000006b16ae7a012c00409b9a45e3cbb34cd17c372acf50aca1dfed"
	  "e998d41f83ff6476eb3481a699d26ce7aa77809f477d1b8653d5a15e6948"
	  "9578dcf53cfb5e68266efb17bd9ccd24985a9800000000" },
};

/* Every algorithm, hmac-sha224 included (ldns has none): verified at
 * the sender's time, BADTIME 301 s later, BADSIG with a bit flipped. */
Test(tsig, captured_kdig_and_dig)
{
	for (size_t i = 0; i < sizeof(captured) / sizeof(captured[0]); i++) {
		struct tsig_key key = make_key(captured[i].alg, KEYNAME, SECRET);
		struct tsig_rr rr;
		uint8_t m[512];
		size_t n = hex(captured[i].hex, m);

		cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND, "vector %zu", i);
		cr_assert_eq(rr.alg, captured[i].alg);
		cr_assert_eq(rr.mac_len, mac_size[rr.alg]);
		cr_assert_eq(rr.time_signed & 0xffff0000u, 0x6b160000u);
		cr_assert_eq(tsig_verify(&key, m, n, &rr, rr.time_signed), 0, "vector %zu", i);
		cr_assert_eq(tsig_verify(&key, m, n, &rr, rr.time_signed + 301), TSIG_BADTIME);
		m[n - 8] ^= 0x80; /* in the MAC */
		cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND);
		cr_assert_eq(tsig_verify(&key, m, n, &rr, rr.time_signed), TSIG_BADSIG);
		m[n - 8] ^= 0x80;
		m[13] ^= 1; /* in the question */
		cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND);
		cr_assert_eq(tsig_verify(&key, m, n, &rr, rr.time_signed), TSIG_BADSIG);
	}
}

/* RFC 8945 5.3.1: every message of a 3-message answer signed, the
 * later ones over the prior MAC and the timers only; ldns checks each. */
Test(tsig, multi_message_chain)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	struct tsig_rr rr;
	struct tsig_ctx c;
	ldns_pkt *q, *prev = NULL;
	size_t len;
	uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_AXFR, TSIG_HMAC_SHA256, KEYNAME, &len);
	uint64_t now = (uint64_t)time(NULL);

	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, now), 0);
	tsig_ctx_init(&c, &key, &rr);
	cr_assert_not(c.subsequent);
	for (int i = 0; i < 3; i++) {
		uint8_t buf[1024];
		size_t n = answer_wire(q, buf, sizeof(buf), 10 + i);
		const ldns_rdf *prior = prev ? ldns_mac(prev) : ldns_mac(q);
		ldns_pkt *a;

		cr_assert(tsig_sign(&c, buf, &n, sizeof(buf), now + (uint64_t)i));
		cr_assert(c.subsequent);
		a = parse(buf, n);
		cr_assert(ldns_pkt_tsig_verify_next(a, buf, n, KEYNAME, SECRET, prior, i > 0),
			  "message %d", i);
		/* The oracle tells the two digests apart. */
		cr_assert_not(ldns_pkt_tsig_verify_next(a, buf, n, KEYNAME, SECRET, prior, i == 0));
		cr_assert_eq(memcmp(c.prior_mac, ldns_rdf_data(ldns_mac(a)) + 2, 32), 0);
		ldns_pkt_free(prev);
		prev = a;
	}
	ldns_pkt_free(prev);
	ldns_pkt_free(q);
	free(wire);
}

/* NOTIFY: we sign the request, ldns checks it and signs the answer,
 * tsig_verify_response checks that. */
Test(tsig, notify_request_and_response)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA512, KEYNAME, SECRET);
	struct tsig_ctx c;
	ldns_pkt *n = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."), LDNS_RR_TYPE_SOA,
					 LDNS_RR_CLASS_IN, LDNS_AA);
	ldns_pkt *req, *resp;
	uint8_t *w, buf[1024];
	size_t len, rlen;
	uint64_t now = (uint64_t)time(NULL);
	ldns_rdf *mac;

	ldns_pkt_set_opcode(n, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_id(n, 0x4242);
	cr_assert_eq(ldns_pkt2wire(&w, n, &len), LDNS_STATUS_OK);
	memcpy(buf, w, len);
	free(w);
	tsig_ctx_init(&c, &key, NULL);
	cr_assert(tsig_sign(&c, buf, &len, sizeof(buf), now));
	cr_assert_not(c.subsequent);
	cr_assert_eq(c.orig_id, 0x4242);
	cr_assert_eq(len, 29 + tsig_space(&key));
	req = parse(buf, len);
	cr_assert(ldns_pkt_tsig_verify(req, buf, len, KEYNAME, SECRET, NULL));
	mac = ldns_rdf_clone(ldns_mac(req));
	cr_assert_eq(memcmp(c.prior_mac, ldns_rdf_data(mac) + 2, 64), 0);

	/* The secondary's acknowledgement. */
	ldns_pkt_set_qr(n, true);
	cr_assert_eq(ldns_pkt_tsig_sign(n, KEYNAME, SECRET, 300, ldns_alg[TSIG_HMAC_SHA512], mac),
		     LDNS_STATUS_OK);
	cr_assert_eq(ldns_pkt2wire(&w, n, &rlen), LDNS_STATUS_OK);
	cr_assert_eq(tsig_verify_response(&c, w, rlen, now), 0);
	cr_assert_eq(tsig_verify_response(&c, w, rlen, now + 10000), TSIG_BADTIME);
	w[rlen - 7] ^= 1;
	cr_assert_eq(tsig_verify_response(&c, w, rlen, now), TSIG_BADSIG);
	w[rlen - 7] ^= 1;
	/* Signed without our request's MAC: not an answer to it. */
	free(w);
	resp = ldns_pkt_clone(n);
	ldns_rr_free(ldns_pkt_tsig(resp)); /* ldns_pkt_set_tsig does not */
	ldns_pkt_set_tsig(resp, NULL);
	cr_assert_eq(ldns_pkt_tsig_sign(resp, KEYNAME, SECRET, 300, ldns_alg[TSIG_HMAC_SHA512], NULL),
		     LDNS_STATUS_OK);
	cr_assert_eq(ldns_pkt2wire(&w, resp, &rlen), LDNS_STATUS_OK);
	cr_assert_eq(tsig_verify_response(&c, w, rlen, now), TSIG_BADSIG);
	free(w);
	/* Unsigned. */
	ldns_rr_free(ldns_pkt_tsig(resp));
	ldns_pkt_set_tsig(resp, NULL);
	cr_assert_eq(ldns_pkt2wire(&w, resp, &rlen), LDNS_STATUS_OK);
	cr_assert_eq(tsig_verify_response(&c, w, rlen, now), TSIG_BADSIG);
	free(w);
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(resp);
	ldns_pkt_free(req);
	ldns_pkt_free(n);
}

/* The TSIG RR of an error answer, as ldns reads it. */
static void check_error_rr(const uint8_t *buf, size_t n, int error, size_t mac_len,
			   size_t other_len)
{
	ldns_pkt *p = parse(buf, n);
	ldns_rr *t = ldns_pkt_tsig(p);
	ldns_rdf *owner;

	cr_assert_not_null(t);
	cr_assert_eq(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), error);
	cr_assert_eq(ldns_rdf_size(ldns_rr_rdf(t, 3)), 2 + mac_len);
	cr_assert_eq(ldns_rdf2native_int16(ldns_rr_rdf(t, 4)), 0x1234);
	cr_assert_eq(ldns_rdf_size(ldns_rr_rdf(t, 6)), 2 + other_len);
	owner = ldns_dname_new_frm_str(KEYNAME);
	cr_assert_eq(ldns_dname_compare(ldns_rr_owner(t), owner), 0);
	ldns_rdf_deep_free(owner);
	cr_assert_eq(ldns_rr_get_class(t), LDNS_RR_CLASS_ANY);
	cr_assert_eq(ldns_rr_ttl(t), 0);
	ldns_pkt_free(p);
}

/* RFC 8945 5.3.2: BADSIG and BADKEY unsigned with an empty MAC; BADTIME
 * signed over the request MAC, Other Data = our time. */
Test(tsig, error_answers)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	struct tsig_rr rr, er;
	ldns_pkt *q, *a;
	size_t len, n;
	uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_AXFR, TSIG_HMAC_SHA256, KEYNAME, &len);
	uint8_t buf[1024];
	uint64_t now;
	const uint8_t *o;

	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	now = rr.time_signed + 1000;
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, now), TSIG_BADTIME);
	for (int e = TSIG_BADSIG; e <= TSIG_BADKEY; e++) {
		n = answer_wire(q, buf, sizeof(buf), 1);
		buf[3] = (buf[3] & 0xf0) | 9; /* NOTAUTH */
		cr_assert(tsig_sign_error(&key, &rr, e, buf, &n, sizeof(buf), now));
		check_error_rr(buf, n, e, 0, 0);
		cr_assert_eq(tsig_find(buf, n, &er), TSIG_FOUND);
		cr_assert_eq(er.mac_len, 0);
	}
	n = answer_wire(q, buf, sizeof(buf), 1);
	cr_assert(tsig_sign_error(&key, &rr, TSIG_BADTIME, buf, &n, sizeof(buf), now));
	check_error_rr(buf, n, TSIG_BADTIME, 32, 6);
	a = parse(buf, n);
	cr_assert(ldns_pkt_tsig_verify(a, buf, n, KEYNAME, SECRET, ldns_mac(q)));
	o = ldns_rdf_data(ldns_rr_rdf(ldns_pkt_tsig(a), 6)) + 2;
	cr_assert_eq(((uint64_t)o[2] << 24 | (uint64_t)o[3] << 16 | (uint64_t)o[4] << 8 | o[5]),
		     now & 0xffffffffu);
	/* Time Signed is the request's, so the client's time check passes. */
	cr_assert_eq(tsig_find(buf, n, &er), TSIG_FOUND);
	cr_assert_eq(er.time_signed, rr.time_signed);
	/* Too small a buffer: refused, message unchanged. */
	n = answer_wire(q, buf, sizeof(buf), 1);
	cr_assert_not(tsig_sign_error(&key, &rr, TSIG_BADTIME, buf, &n, n + 20, now));
	cr_assert_eq(n, answer_wire(q, buf, sizeof(buf), 1));
	ldns_pkt_free(a);
	ldns_pkt_free(q);
	free(wire);
}

Test(tsig, sign_needs_room)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	struct tsig_ctx c;
	ldns_pkt *q;
	size_t len, n, n0;
	uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_AXFR, TSIG_HMAC_SHA256, KEYNAME, &len);
	uint8_t buf[1024], copy[1024];

	n0 = n = answer_wire(q, buf, sizeof(buf), 1);
	memcpy(copy, buf, n);
	tsig_ctx_init(&c, &key, NULL);
	cr_assert_not(tsig_sign(&c, buf, &n, n0 + tsig_space(&key) - 1, 1));
	cr_assert_eq(n, n0);
	cr_assert_eq(memcmp(buf, copy, n), 0);
	cr_assert(tsig_sign(&c, buf, &n, n0 + tsig_space(&key), 1));
	cr_assert_eq(n, n0 + tsig_space(&key));
	ldns_pkt_free(q);
	free(wire);
}

/* ---- malformed messages ---------------------------------------------- */

/* A copy of an ldns-signed request to cut up: m[0..*n), the TSIG at *t. */
static void signed_copy(enum tsig_alg alg, uint8_t *m, size_t *n, size_t *t)
{
	struct tsig_rr rr;
	ldns_pkt *q;
	uint8_t *w = ldns_signed(&q, LDNS_RR_TYPE_AXFR, alg, KEYNAME, n);

	memcpy(m, w, *n);
	cr_assert_eq(tsig_find(m, *n, &rr), TSIG_FOUND);
	*t = rr.rr_off;
	free(w);
	ldns_pkt_free(q);
}

/* The offset of the TSIG RR's RDLENGTH: owner, type, class, TTL. */
static size_t rdlen_off(size_t t)
{
	return t + sizeof(KEYNAME) + 8;
}

static void set16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

Test(tsig, find_none_and_short)
{
	uint8_t m[64] = { 0x12, 0x34, 0, 0 };
	struct tsig_rr rr;
	/* A query with an OPT: no TSIG. */
	static const uint8_t opt[] = { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
				       0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };

	cr_assert_eq(tsig_find(m, 12, &rr), TSIG_NONE);
	cr_assert_eq(tsig_find(m, 11, &rr), TSIG_MALFORMED);
	cr_assert_eq(tsig_find(opt, sizeof(opt), &rr), TSIG_NONE);
	cr_assert_eq(tsig_find(opt, sizeof(opt) - 1, &rr), TSIG_MALFORMED);
	m[7] = 1; /* an answer RR that is not there */
	cr_assert_eq(tsig_find(m, 12, &rr), TSIG_MALFORMED);
}

Test(tsig, find_truncated)
{
	uint8_t m[512];
	size_t n, t;
	struct tsig_rr rr;

	signed_copy(TSIG_HMAC_SHA256, m, &n, &t);
	/* Cut anywhere inside the TSIG RR. */
	for (size_t cut = t; cut < n; cut++)
		cr_assert_eq(tsig_find(m, cut, &rr), TSIG_MALFORMED, "cut at %zu", cut);
	/* RDLENGTH one short (the Other Len then overruns), one long. */
	set16(m + rdlen_off(t), (unsigned)(n - rdlen_off(t) - 2 - 1));
	cr_assert_eq(tsig_find(m, n - 1, &rr), TSIG_MALFORMED);
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	set16(m + rdlen_off(t), (unsigned)(n - rdlen_off(t) - 2));
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND);
	/* Other Len 1 with nothing after. */
	m[n - 1] = 1;
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	m[n - 1] = 0;
	/* Trailing garbage after the TSIG. */
	m[n] = 0;
	cr_assert_eq(tsig_find(m, n + 1, &rr), TSIG_MALFORMED);
}

Test(tsig, find_position)
{
	uint8_t m[1024];
	size_t n, t, rrlen;
	struct tsig_rr rr;
	static const uint8_t a_rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };

	signed_copy(TSIG_HMAC_SHA256, m, &n, &t);
	rrlen = n - t;
	/* Not last: an A RR after it. */
	memcpy(m + n, a_rr, sizeof(a_rr));
	m[11] = 2;
	cr_assert_eq(tsig_find(m, n + sizeof(a_rr), &rr), TSIG_MALFORMED);
	/* Two TSIGs. */
	memcpy(m + n, m + t, rrlen);
	cr_assert_eq(tsig_find(m, n + rrlen, &rr), TSIG_MALFORMED);
	/* In the answer section (ARCOUNT 0), and in the authority section. */
	m[11] = 0;
	m[7] = 1;
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	m[7] = 0;
	m[9] = 1;
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	/* An RR before it in the additional section is fine. */
	m[9] = 0;
	m[11] = 2;
	memmove(m + t + sizeof(a_rr), m + t, rrlen);
	memcpy(m + t, a_rr, sizeof(a_rr));
	cr_assert_eq(tsig_find(m, n + sizeof(a_rr), &rr), TSIG_FOUND);
	cr_assert_eq(rr.rr_off, t + sizeof(a_rr));
}

Test(tsig, find_bad_fields)
{
	uint8_t m[512], good[512];
	size_t n, t, alg;
	struct tsig_rr rr;

	signed_copy(TSIG_HMAC_SHA256, good, &n, &t);
	alg = rdlen_off(t) + 2;
	memcpy(m, good, n);
	m[t + sizeof(KEYNAME) + 3] = 1; /* class IN */
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	memcpy(m, good, n);
	m[t + sizeof(KEYNAME) + 7] = 1; /* TTL 1 */
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	/* A compressed algorithm name. */
	memcpy(m, good, n);
	m[alg] = 0xc0;
	m[alg + 1] = 12;
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	/* A label running past the RDATA. */
	memcpy(m, good, n);
	m[alg] = 63;
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
	/* An unknown algorithm: found, then BADKEY. */
	memcpy(m, good, n);
	memcpy(m + alg + 1, "hmac-sha999", 11);
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND);
	cr_assert_eq(rr.alg, TSIG_ALG_NONE);
	{
		struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);

		cr_assert_eq(tsig_verify(&key, m, n, &rr, rr.time_signed), TSIG_BADKEY);
	}
	/* Upper case algorithm name: the same algorithm. */
	memcpy(m, good, n);
	memcpy(m + alg + 1, "HMAC-SHA256", 11);
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND);
	cr_assert_eq(rr.alg, TSIG_HMAC_SHA256);
	/* A key name with a pointer loop. */
	memcpy(m, good, n);
	m[t] = 0xc0;
	m[t + 1] = (uint8_t)t;
	cr_assert_eq(tsig_find(m, n, &rr), TSIG_MALFORMED);
}

/* Rewrite the MAC of a signed copy to its first k octets. */
static size_t truncate_mac(uint8_t *m, size_t n, size_t t, size_t full, size_t k)
{
	size_t mac = rdlen_off(t) + 2 + 13 + 10; /* "hmac-sha256.", time, fudge, size */
	size_t size_off = mac - 2;

	cr_assert_eq(((size_t)m[size_off] << 8 | m[size_off + 1]), full);
	memmove(m + mac + k, m + mac + full, n - mac - full);
	set16(m + size_off, (unsigned)k);
	n -= full - k;
	set16(m + rdlen_off(t), (unsigned)(n - rdlen_off(t) - 2));
	return n;
}

/* RFC 8945 5.2.2.1: a MAC truncated to at least max(10, half the hash)
 * is checked on that prefix; shorter, longer than the hash, or empty in
 * a request is FORMERR. */
Test(tsig, mac_truncation)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	uint8_t good[512], m[512];
	size_t n, t, k;
	struct tsig_rr rr;

	signed_copy(TSIG_HMAC_SHA256, good, &n, &t);
	for (size_t len = 0; len <= 32; len++) {
		memcpy(m, good, n);
		k = truncate_mac(m, n, t, 32, len);
		if (len < 16) {
			cr_assert_eq(tsig_find(m, k, &rr), TSIG_MALFORMED, "MAC %zu", len);
			continue;
		}
		cr_assert_eq(tsig_find(m, k, &rr), TSIG_FOUND, "MAC %zu", len);
		cr_assert_eq(tsig_verify(&key, m, k, &rr, rr.time_signed), 0, "MAC %zu", len);
		m[k - 7] ^= 4;
		cr_assert_eq(tsig_verify(&key, m, k, &rr, rr.time_signed), 0);
		cr_assert_eq(tsig_find(m, k, &rr), TSIG_FOUND);
		cr_assert_eq(tsig_verify(&key, m, k, &rr, rr.time_signed), TSIG_BADSIG);
	}
	/* Longer than the hash: 33 octets. */
	memcpy(m, good, n);
	memmove(m + n - 5, m + n - 6, 6);
	k = n + 1;
	set16(m + rdlen_off(t) + 2 + 13 + 8, 33);
	set16(m + rdlen_off(t), (unsigned)(k - rdlen_off(t) - 2));
	cr_assert_eq(tsig_find(m, k, &rr), TSIG_MALFORMED);
	/* Empty: FORMERR in a request, an unsigned error in a response. */
	memcpy(m, good, n);
	k = truncate_mac(m, n, t, 32, 0);
	cr_assert_eq(tsig_find(m, k, &rr), TSIG_MALFORMED);
	m[2] |= 0x80;
	cr_assert_eq(tsig_find(m, k, &rr), TSIG_MALFORMED); /* error 0 */
	m[k - 3] = TSIG_BADSIG;
	cr_assert_eq(tsig_find(m, k, &rr), TSIG_FOUND);
	cr_assert_eq(rr.error, TSIG_BADSIG);
}

/* Section 5.2.2.1 minimums for every hash, on the captured requests:
 * one octet under the minimum is FORMERR, the minimum verifies. */
Test(tsig, mac_minimum_per_alg)
{
	static const size_t min[] = { [TSIG_HMAC_MD5] = 10, [TSIG_HMAC_SHA1] = 10,
				      [TSIG_HMAC_SHA224] = 14, [TSIG_HMAC_SHA256] = 16,
				      [TSIG_HMAC_SHA384] = 24, [TSIG_HMAC_SHA512] = 32 };

	for (size_t i = 0; i < sizeof(captured) / sizeof(captured[0]); i++) {
		enum tsig_alg alg = captured[i].alg;
		struct tsig_key key = make_key(alg, KEYNAME, SECRET);
		uint8_t m[512];
		size_t n = hex(captured[i].hex, m), full = mac_size[alg];
		/* The MAC ends before Original ID, Error, Other Len. */
		size_t mac = n - 6 - full;
		struct tsig_rr rr;

		cr_assert_eq(tsig_find(m, n, &rr), TSIG_FOUND);
		for (size_t k = min[alg] - 1; k <= min[alg]; k++) {
			uint8_t c[512];
			size_t cn = n - (full - k);

			memcpy(c, m, mac + k);
			memcpy(c + mac + k, m + mac + full, 6);
			set16(c + mac - 2, (unsigned)k);
			set16(c + rdlen_off(rr.rr_off), (unsigned)(cn - rdlen_off(rr.rr_off) - 2));
			if (k < min[alg]) {
				cr_assert_eq(tsig_find(c, cn, &rr), TSIG_MALFORMED, "%d %zu", alg, k);
			} else {
				cr_assert_eq(tsig_find(c, cn, &rr), TSIG_FOUND, "%d %zu", alg, k);
				cr_assert_eq(tsig_verify(&key, c, cn, &rr, rr.time_signed), 0);
			}
		}
	}
}

/* The key name compressed against the question: ldns writes it so. */
Test(tsig, compressed_owner)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, "example.com.", SECRET);
	struct tsig_rr rr;
	ldns_pkt *q;
	size_t len, off;
	uint8_t *wire = ldns_signed(&q, LDNS_RR_TYPE_AXFR, TSIG_HMAC_SHA256, "example.com.", &len);

	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_FOUND);
	off = rr.rr_off;
	cr_assert_eq(wire[off], 0xc0);
	cr_assert_eq(rr.key_name_len, 13);
	cr_assert_eq(memcmp(rr.key_name, key.name, 13), 0);
	cr_assert_eq(tsig_verify(&key, wire, len, &rr, rr.time_signed), 0);
	/* A pointer to itself, or forwards, is refused. */
	wire[off + 1] = (uint8_t)off;
	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_MALFORMED);
	wire[off + 1] = (uint8_t)(off + 2);
	cr_assert_eq(tsig_find(wire, len, &rr), TSIG_MALFORMED);
	ldns_pkt_free(q);
	free(wire);
}

/* Section 5.4: the notifier reads a secondary's TSIG error. The answers'
 * format is checked against ldns in error_answers; here only that an
 * unsigned BADKEY and a signed BADTIME reach the caller as such, and
 * that a BADTIME answer to some other request is BADSIG. */
Test(tsig, response_errors_reach_the_notifier)
{
	struct tsig_key key = make_key(TSIG_HMAC_SHA256, KEYNAME, SECRET);
	struct tsig_ctx c, other;
	struct tsig_rr rr;
	uint8_t req[512], ans[512];
	size_t rn = 12, an;

	memset(req, 0, sizeof(req));
	req[0] = 0x51;
	req[2] = 0x20; /* NOTIFY */
	tsig_ctx_init(&c, &key, NULL);
	cr_assert(tsig_sign(&c, req, &rn, sizeof(req), 5000));
	cr_assert_eq(tsig_find(req, rn, &rr), TSIG_FOUND);
	for (int e = TSIG_BADKEY; e <= TSIG_BADTIME; e++) {
		memcpy(ans, req, 12);
		ans[2] |= 0x80;
		ans[3] = 9;
		ans[11] = 0;
		an = 12;
		cr_assert(tsig_sign_error(&key, &rr, e, ans, &an, sizeof(ans), 9000));
		cr_assert_eq(tsig_verify_response(&c, ans, an, 5000), e);
	}
	other = c;
	other.prior_mac[0] ^= 1;
	cr_assert_eq(tsig_verify_response(&other, ans, an, 5000), TSIG_BADSIG);
}
