/*
 * Writes the seeds of fuzz_tsig: requests captured from kdig and dig,
 * requests signed by ldns (at the time it runs) and by tsig.c (at
 * FUZZ_TSIG_NOW), signed answers (first and later messages), the error
 * answers, and broken ones (truncated MAC, unknown algorithm, TSIG not
 * last, two TSIGs, short RDATA, compressed algorithm name). Run by
 * `make fuzz-corpus-tsig` (part of `make fuzz-corpus`):
 *   gen_tsig_corpus tests/fuzz/corpus/tsig
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "fuzz_tsig.h"
#include "tsig.h"

static const char *gen_dir;

static void gen_write(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", gen_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen_tsig_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void gen_die(const char *what)
{
	fprintf(stderr, "gen_tsig_corpus: %s\n", what);
	exit(1);
}

/* On loopback with the key of fuzz_tsig.h (see test_tsig.c). */
static const struct {
	const char *file, *hex;
} gen_captured[] = {
	{ "kdig_sha1_txt", "02bc01200001000000000001076578616d706c65036f7267000010000108"
			   "7472616e73666572076578616d706c650000fa00ff00000000002f09686d"
			   "61632d736861310000006b16aeea012c00147f93c80cdec6ae2f19af2968"
			   "a548c8ebb15eb21c02bc00000000" },
	{ "kdig_sha256_soa", "b0c501200001000000000001076578616d706c6503636f6d000006000108"
			     "7472616e73666572076578616d706c650000fa00ff00000000003d0b686d"
			     "61632d7368613235360000006b16ae6f012c0020bd61bbbfc6916b25200b"
			     "0daba05c6691b1132dade99c114b04c07a1f8d8a0e61b0c500000000" },
	{ "kdig_sha384_aaaa", "ed9201200001000000000001076578616d706c6503636f6d00001c000108"
			      "7472616e73666572076578616d706c650000fa00ff00000000004d0b686d"
			      "61632d7368613338340000006b16aef4012c0030c10371f44eb479712327"
			      "fefb9e5d3eb02732c7386f83ce909dbfcc7aa0ca9357dc5258ed7eb12014"
			      "d2452a3402bdcb2ced9200000000" },
	{ "dig_md5_soa_cookie", "656001200001000000000002076578616d706c6503636f6d000006000100"
				"002904d000000000000c000a000820c4c9d69aae0aef087472616e736665"
				"72076578616d706c650000fa00ff00000000003a08686d61632d6d643507"
				"7369672d616c670372656703696e740000006b16ae7e012c001009eec724"
				"2929ce67d69e94307f5238e8656000000000" },
	{ "dig_sha224_ns", "85dd01200001000000000001076578616d706c65036e6574000002000108"
			   "7472616e73666572076578616d706c650000fa00ff0000000000390b686d"
			   "61632d7368613232340000006b16aee8012c001c16719f36564a480a9d17"
			   "8f0d56502d8e5c15285b0f15671cdfb560c285dd00000000" },
	{ "dig_sha512_soa_cookie", "5a9801200001000000000002076578616d706c6503636f6d000006000100"
				   "002904d000000000000c000a00086ff9cac5d35705b4087472616e736665"
				   "72076578616d706c650000fa00ff00000000005d0b686d61632d73686135"
				   "31320000006b16ae7a012c00409b9a45e3cbb34cd17c372acf50aca1dfed"
				   "e998d41f83ff6476eb3481a699d26ce7aa77809f477d1b8653d5a15e6948"
				   "9578dcf53cfb5e68266efb17bd9ccd24985a9800000000" },
};

static void gen_captured_seeds(void)
{
	for (size_t i = 0; i < sizeof(gen_captured) / sizeof(gen_captured[0]); i++) {
		uint8_t m[512];
		size_t n = strlen(gen_captured[i].hex) / 2;

		for (size_t j = 0; j < n; j++) {
			unsigned v;

			if (sscanf(gen_captured[i].hex + 2 * j, "%2x", &v) != 1)
				gen_die("bad hex");
			m[j] = (uint8_t)v;
		}
		gen_write(gen_captured[i].file, m, n);
	}
}

/* An unsigned message from ldns: a query (opcode, qtype) or, with
 * answer, its answer with one SOA. */
static size_t gen_msg(ldns_pkt_opcode op, ldns_rr_type qtype, bool answer, bool opt,
		      uint8_t *out, size_t cap)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."), qtype,
					 LDNS_RR_CLASS_IN, 0);
	uint8_t *w;
	size_t n;

	ldns_pkt_set_id(p, 0x2a2a);
	ldns_pkt_set_opcode(p, op);
	if (opt)
		ldns_pkt_set_edns_udp_size(p, 1232);
	if (answer) {
		ldns_rr *soa;

		if (ldns_rr_new_frm_str(&soa, "example.com. 300 IN SOA ns.example.com. "
					"h.example.com. 7 1 1 1 1", 0, NULL, NULL) != LDNS_STATUS_OK)
			gen_die("SOA");
		ldns_pkt_set_qr(p, true);
		ldns_pkt_set_aa(p, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, soa);
	}
	if (ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK || n > cap)
		gen_die("ldns_pkt2wire");
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

static void gen_ldns_signed(void)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."),
					 LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0);
	uint8_t *w;
	size_t n;

	ldns_pkt_set_id(p, 0x1234);
	if (ldns_pkt_tsig_sign(p, FUZZ_TSIG_NAME, FUZZ_TSIG_SECRET, 300, "hmac-sha256.", NULL) !=
		    LDNS_STATUS_OK ||
	    ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK)
		gen_die("ldns signing");
	gen_write("ldns_sha256_axfr", w, n);
	free(w);
	ldns_pkt_free(p);
}

/* The TSIG RR of m[0..n) as tsig_find sees it. */
static struct tsig_rr gen_find(const uint8_t *m, size_t n)
{
	struct tsig_rr rr;

	if (tsig_find(m, n, &rr) != TSIG_FOUND)
		gen_die("tsig_find");
	return rr;
}

/* Requests and answers signed by tsig.c at FUZZ_TSIG_NOW. */
static void gen_ours(void)
{
	struct tsig_key k256 = fuzz_tsig_key(TSIG_HMAC_SHA256);
	struct tsig_key k512 = fuzz_tsig_key(TSIG_HMAC_SHA512);
	struct tsig_ctx c;
	struct tsig_rr rr;
	uint8_t req[1024], m[1024];
	size_t rn, n;

	rn = gen_msg(LDNS_PACKET_NOTIFY, LDNS_RR_TYPE_SOA, false, false, req, sizeof(req));
	tsig_ctx_init(&c, &k256, NULL);
	if (!tsig_sign(&c, req, &rn, sizeof(req), FUZZ_TSIG_NOW))
		gen_die("sign notify");
	gen_write("ours_sha256_notify", req, rn);
	n = gen_msg(LDNS_PACKET_QUERY, LDNS_RR_TYPE_AXFR, false, true, m, sizeof(m));
	tsig_ctx_init(&c, &k512, NULL);
	if (!tsig_sign(&c, m, &n, sizeof(m), FUZZ_TSIG_NOW))
		gen_die("sign axfr");
	gen_write("ours_sha512_axfr_opt", m, n);
	/* Answers to it: the first message and a later one. */
	rr = gen_find(m, n);
	tsig_ctx_init(&c, &k512, &rr);
	for (int i = 0; i < 2; i++) {
		n = gen_msg(LDNS_PACKET_QUERY, LDNS_RR_TYPE_AXFR, true, false, m, sizeof(m));
		if (!tsig_sign(&c, m, &n, sizeof(m), FUZZ_TSIG_NOW + (unsigned)i))
			gen_die("sign answer");
		gen_write(i == 0 ? "ours_sha512_answer_first" : "ours_sha512_answer_later", m, n);
	}
	/* The error answers to the NOTIFY. */
	rr = gen_find(req, rn);
	for (int e = TSIG_BADSIG; e <= TSIG_BADTIME; e++) {
		static const char *const names[] = { "err_badsig", "err_badkey", "err_badtime" };

		n = gen_msg(LDNS_PACKET_NOTIFY, LDNS_RR_TYPE_SOA, true, false, m, sizeof(m));
		m[3] = (m[3] & 0xf0) | 9;
		if (!tsig_sign_error(&k256, &rr, e, m, &n, sizeof(m), FUZZ_TSIG_NOW + 1000))
			gen_die("sign error");
		gen_write(names[e - TSIG_BADSIG], m, n);
	}
}

static void set16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Broken copies of ours_sha256_notify (key name transfer.example.,
 * hmac-sha256): RDATA at t + 18 + 10. */
static void gen_broken(void)
{
	static const uint8_t a_rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	struct tsig_key k = fuzz_tsig_key(TSIG_HMAC_SHA256);
	struct tsig_ctx c;
	uint8_t g[1024], m[1024];
	size_t n = gen_msg(LDNS_PACKET_NOTIFY, LDNS_RR_TYPE_SOA, false, false, g, sizeof(g));
	size_t t = n, rd, mac;

	tsig_ctx_init(&c, &k, NULL);
	if (!tsig_sign(&c, g, &n, sizeof(g), FUZZ_TSIG_NOW))
		gen_die("sign");
	rd = t + 18 + 10;
	mac = rd + 13 + 10;
	/* MAC truncated to 16 octets (the least allowed), and to 15. */
	for (size_t k16 = 15; k16 <= 16; k16++) {
		memcpy(m, g, mac + k16);
		memcpy(m + mac + k16, g + mac + 32, 6);
		set16(m + mac - 2, k16);
		set16(m + rd - 2, mac + k16 + 6 - rd);
		gen_write(k16 == 16 ? "trunc_mac16" : "trunc_mac15", m, mac + k16 + 6);
	}
	memcpy(m, g, n);
	memcpy(m + rd + 1, "hmac-sha999", 11);
	gen_write("unknown_alg", m, n);
	memcpy(m, g, n);
	m[rd] = 0xc0;
	m[rd + 1] = 12;
	gen_write("compressed_alg", m, n);
	memcpy(m, g, n);
	memcpy(m + n, a_rr, sizeof(a_rr));
	m[11] = 2;
	gen_write("tsig_not_last", m, n + sizeof(a_rr));
	memcpy(m + n, g + t, n - t);
	gen_write("two_tsigs", m, n + n - t);
	memcpy(m, g, n);
	set16(m + rd - 2, n - rd - 1);
	gen_write("rdata_short", m, n - 1);
	memcpy(m, g, n);
	m[11] = 0;
	m[7] = 1;
	gen_write("tsig_in_answer", m, n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_tsig_corpus DIR\n");
		return 2;
	}
	gen_dir = argv[1];
	gen_captured_seeds();
	gen_ldns_signed();
	gen_ours();
	gen_broken();
	return 0;
}
