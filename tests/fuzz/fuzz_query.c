/*
 * Fuzz target: packet bytes -> answer_query() against the fixture zone
 * (fuzz_common.c), unsigned and signed, over UDP and TCP, into output
 * buffers of exactly the capacity passed so ASan sees any write past
 * it. Every response must obey what a client relies on: within the
 * limit, ID and opcode echoed, QR set, and a message ldns parses. From
 * the signed image, a DO=1 answer carries an RRSIG by our key with every
 * RRset of its answer and authority sections (RFC 4035 section 3.1.1),
 * and a DO=0 one carries none unless asked for. Each input is also
 * answered from the signed image with an OPT(DO=1) appended, so every
 * plain query seed reaches the DNSSEC path too.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"

/* RFC 6891 OPT with payload 1232 and DO set (RFC 3225). */
static const uint8_t fuzz_query_opt_do[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };

static struct config fuzz_query_cfg, fuzz_query_scfg;
/* What the default answer_query() uses, and a worker with every option
 * on: a larger EDNS payload, NSID, cookies. The signed ones answer from
 * the signed image, with the default payload and with everything on. */
static struct answer_ctx fuzz_query_plain, fuzz_query_full;
static struct answer_ctx fuzz_query_splain, fuzz_query_sfull;
static uint16_t fuzz_query_key_tag;
/* The apexes that sign: the hosted zone and its alias. */
static ldns_rdf *fuzz_query_apex[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	struct answer_ctx *f = &fuzz_query_full;

	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	if (fuzz_fixture_config(&fuzz_query_cfg) < 0 || fuzz_fixture_config(&fuzz_query_scfg) < 0)
		fuzz_fail(__FILE__, __LINE__, "the fixture configuration is refused");
	fuzz_query_plain.z = fuzz_fixture_image(&fuzz_query_cfg);
	if (!fuzz_query_plain.z)
		fuzz_fail(__FILE__, __LINE__, "the fixture image cannot be built");
	fuzz_query_plain.edns_size = AHD_EDNS_DEFAULT;
	*f = fuzz_query_plain;
	f->edns_size = EDNS_PAYLOAD_MAX;
	f->nsid_len = EDNS_NSID_MAX; /* the longest, so the OPT is largest */
	memset(f->nsid, 'n', f->nsid_len);
	f->cookies = true;
	memset(f->cookie_secret, 0x5a, sizeof(f->cookie_secret));
	f->now = 1700000000u;
	f->client_family = AF_INET;
	memcpy(f->client_addr, lo, sizeof(lo));
	fuzz_query_splain = fuzz_query_plain;
	fuzz_query_splain.z = fuzz_fixture_signed_image(&fuzz_query_scfg, &fuzz_query_key_tag);
	if (!fuzz_query_splain.z)
		fuzz_fail(__FILE__, __LINE__, "the signed fixture image cannot be built");
	fuzz_query_sfull = fuzz_query_full;
	fuzz_query_sfull.z = fuzz_query_splain.z;
	fuzz_query_apex[0] = ldns_dname_new_frm_str("example.com.");
	fuzz_query_apex[1] = ldns_dname_new_frm_str("example.net.");
	if (!fuzz_query_apex[0] || !fuzz_query_apex[1])
		fuzz_fail(__FILE__, __LINE__, "ldns_dname_new_frm_str");
	return 0;
}

/* The RCODE (low 4 bits) a kind of answer must carry (RFC 1035 4.1.1). */
static int fuzz_query_rcode(enum answer_kind k)
{
	switch (k) {
	case ANSWER_NOERROR:
	case ANSWER_NODATA:
	case ANSWER_BADVERS: /* 16: the upper bits are in the OPT */
		return 0;
	case ANSWER_FORMERR:
		return 1;
	case ANSWER_SERVFAIL:
		return 2;
	case ANSWER_NXDOMAIN:
		return 3;
	case ANSWER_NOTIMP:
		return 4;
	case ANSWER_REFUSED:
		return 5;
	default:
		return -1;
	}
}

/* Length of the question at msg[12..), 0 if it runs past n. */
static size_t fuzz_query_question_len(const uint8_t *msg, size_t n)
{
	size_t off = 12;

	while (off < n && msg[off] != 0) {
		if (msg[off] > 63)
			return 0; /* a pointer or reserved label type */
		off += 1u + msg[off];
	}
	if (off >= n || n - off < 5)
		return 0;
	return off + 5 - 12;
}

/* Signed by our key for one of the fixture's apexes, at or above the
 * owner; covered: the type it must cover, 0 for any. */
static bool fuzz_query_sig_ok(const ldns_rr *sig, const ldns_rdf *owner, ldns_rr_type covered)
{
	const ldns_rdf *tc = ldns_rr_rrsig_typecovered(sig);
	const ldns_rdf *signer = ldns_rr_rrsig_signame(sig);
	const ldns_rdf *tag = ldns_rr_rrsig_keytag(sig);
	bool apex = false;

	if (!tc || !signer || !tag || ldns_rdf2native_int16(tag) != fuzz_query_key_tag ||
	    (covered != 0 && ldns_rdf2rr_type(tc) != covered) ||
	    ldns_dname_compare(ldns_rr_owner(sig), owner) != 0)
		return false;
	for (size_t i = 0; i < AHD_ARRAY_LEN(fuzz_query_apex); i++)
		apex = apex || ldns_dname_compare(signer, fuzz_query_apex[i]) == 0;
	return apex && (ldns_dname_compare(signer, owner) == 0 ||
			ldns_dname_is_subdomain(owner, signer));
}

/* DO=1 from the signed image: every RRset of the section travels with
 * its RRSIG and every RRSIG with its RRset, except that a query for type
 * RRSIG gets the signatures alone. */
static void fuzz_query_signed_section(const ldns_rr_list *l, bool sigs_alone)
{
	size_t n = ldns_rr_list_rr_count(l);

	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		bool sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG;
		bool found = sig && sigs_alone && fuzz_query_sig_ok(rr, ldns_rr_owner(rr), 0);

		for (size_t j = 0; j < n && !found; j++) {
			const ldns_rr *o = ldns_rr_list_rr(l, j);
			bool osig = ldns_rr_get_type(o) == LDNS_RR_TYPE_RRSIG;

			if (sig && !osig)
				found = fuzz_query_sig_ok(rr, ldns_rr_owner(o), ldns_rr_get_type(o));
			else if (!sig && osig)
				found = fuzz_query_sig_ok(o, ldns_rr_owner(rr), ldns_rr_get_type(rr));
		}
		FUZZ_CHECK(found);
	}
}

static size_t fuzz_query_count_type(const ldns_rr_list *l, ldns_rr_type t)
{
	size_t k = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		k += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t;
	return k;
}

/* The DNSSEC rules of a parsed response to pkt from c. */
static void fuzz_query_dnssec(const struct answer_ctx *c, const uint8_t *pkt, const ldns_pkt *p,
			      enum answer_kind kind)
{
	bool sgn = c->z == fuzz_query_splain.z;
	bool dnssec = sgn && ldns_pkt_edns_do(p);
	const ldns_rr_list *qd = ldns_pkt_question(p);
	ldns_rr_type qtype = ldns_rr_list_rr_count(qd) == 1 ?
				     ldns_rr_get_type(ldns_rr_list_rr(qd, 0)) : 0;

	/* CD is copied into every response (RFC 4035 section 3.1.6). */
	FUZZ_CHECK(ldns_pkt_cd(p) == ((pkt[3] & 0x10) != 0));
	if (dnssec) {
		fuzz_query_signed_section(ldns_pkt_answer(p), qtype == LDNS_RR_TYPE_RRSIG);
		fuzz_query_signed_section(ldns_pkt_authority(p), false);
	} else {
		/* Without DO, signatures only when asked for (RFC 4035 3.1.1). */
		FUZZ_CHECK(fuzz_query_count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_RRSIG) == 0);
		if (!sgn || qtype != LDNS_RR_TYPE_RRSIG)
			FUZZ_CHECK(fuzz_query_count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_RRSIG) == 0);
	}
	FUZZ_CHECK(fuzz_query_count_type(ldns_pkt_additional(p), LDNS_RR_TYPE_RRSIG) == 0);
	/* A negative answer names the zone's SOA, unless it was truncated. */
	if ((kind == ANSWER_NXDOMAIN || kind == ANSWER_NODATA) && !ldns_pkt_tc(p))
		FUZZ_CHECK(fuzz_query_count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_SOA) == 1);
}

/* Walk the name at m[*pos..n): every compression pointer must point
 * backwards (a forward or self pointer could loop a client). */
static bool fuzz_query_name_back(const uint8_t *m, size_t n, size_t *pos)
{
	size_t p = *pos;

	while (p < n) {
		uint8_t l = m[p];

		if ((l & 0xc0) == 0xc0) {
			if (n - p < 2 || ((size_t)(l & 0x3f) << 8 | m[p + 1]) >= p)
				return false;
			*pos = p + 2;
			return true;
		}
		if (l & 0xc0)
			return false;
		p += 1u + l;
		if (l == 0) {
			*pos = p;
			return true;
		}
	}
	return false;
}

/* The owners, and the names in NS and SOA RDATA (the only compressed
 * RDATA we write), of every RR of a response point backwards. */
static void fuzz_query_pointers_back(const uint8_t *m, size_t n)
{
	size_t pos = 12;
	unsigned rrs = (unsigned)(m[6] << 8 | m[7]) + (unsigned)(m[8] << 8 | m[9]) +
		       (unsigned)(m[10] << 8 | m[11]);

	if (m[5] == 1) {
		FUZZ_CHECK(fuzz_query_name_back(m, n, &pos));
		pos += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		unsigned type, names;
		size_t rdlen, end;

		FUZZ_CHECK(fuzz_query_name_back(m, n, &pos) && n - pos >= 10);
		type = (unsigned)(m[pos] << 8 | m[pos + 1]);
		rdlen = (size_t)(m[pos + 8] << 8 | m[pos + 9]);
		pos += 10;
		FUZZ_CHECK(n - pos >= rdlen);
		end = pos + rdlen;
		names = type == LDNS_RR_TYPE_SOA ? 2 : type == LDNS_RR_TYPE_NS;
		for (unsigned j = 0; j < names; j++)
			FUZZ_CHECK(fuzz_query_name_back(m, end, &pos));
		pos = end;
	}
}

/* ctx NULL: through answer_query(), the wrapper with the defaults. */
static void fuzz_query_one(const struct answer_ctx *ctx, const uint8_t *pkt, size_t len,
			   enum answer_transport t, size_t cap)
{
	const struct answer_ctx *c = ctx ? ctx : &fuzz_query_plain;
	/* Exactly cap bytes: a write past the limit is a heap overflow. */
	uint8_t *out = malloc(cap);
	uint8_t *again = malloc(cap);
	struct answer_info info, info2;
	size_t n, n2;
	ldns_pkt *p = NULL;
	bool opt;

	FUZZ_CHECK(out != NULL && again != NULL);
	memset(&info, 0xa5, sizeof(info));
	if (ctx) {
		n = answer_query_ex(ctx, pkt, len, t, out, cap, &info);
	} else {
		n = answer_query(c->z, pkt, len, t, out, cap, &info.kind);
		info.edns = n >= 12 && (out[10] | out[11]) != 0;
	}
	FUZZ_CHECK(info.kind < ANSWER_KIND_COUNT);
	FUZZ_CHECK(n <= cap);
	FUZZ_CHECK((n == 0) == (info.kind == ANSWER_DROP));
	/* The core is pure: the same question gets the same bytes. */
	n2 = answer_query_ex(c, pkt, len, t, again, cap, &info2);
	FUZZ_CHECK(n2 == n && info2.kind == info.kind && memcmp(out, again, n) == 0);
	if (n == 0) {
		/* Only a packet with QR set or without a full header is dropped. */
		FUZZ_CHECK(len < 12 || (pkt[2] & 0x80));
		goto out;
	}
	FUZZ_CHECK(len >= 12 && !(pkt[2] & 0x80));
	FUZZ_CHECK(n >= 12);
	/* Without an OPT a UDP response fits 512 bytes (RFC 1035 4.2.1),
	 * with one the payload we announce (RFC 6891 6.2.5). */
	opt = out[10] != 0 || out[11] != 0;
	FUZZ_CHECK(opt == info.edns);
	if (t == ANSWER_UDP)
		FUZZ_CHECK(n <= (opt ? c->edns_size : AHD_UDP_CLASSIC));
	FUZZ_CHECK(out[0] == pkt[0] && out[1] == pkt[1]);           /* ID */
	FUZZ_CHECK(out[2] & 0x80);                                  /* QR */
	FUZZ_CHECK((out[2] & 0x78) == (pkt[2] & 0x78));             /* opcode */
	FUZZ_CHECK((out[2] & 0x01) == (pkt[2] & 0x01));             /* RD */
	FUZZ_CHECK((out[3] & 0x0f) == fuzz_query_rcode(info.kind)); /* RCODE */
	FUZZ_CHECK((out[3] & 0xe0) == 0);                           /* RA Z AD */
	/* AA exactly on answers from the zone. */
	if (info.kind == ANSWER_NODATA || info.kind == ANSWER_NXDOMAIN ||
	    (info.kind == ANSWER_NOERROR && out[5] == 1))
		FUZZ_CHECK(out[2] & 0x04);
	else
		FUZZ_CHECK((out[2] & 0x04) == 0);
	/* The question is echoed byte for byte, case kept. */
	FUZZ_CHECK(out[4] == 0 && out[5] <= 1);
	if (out[5] == 1) {
		size_t q = fuzz_query_question_len(out, n);

		FUZZ_CHECK(q > 0 && len >= 12 + q && memcmp(out + 12, pkt + 12, q) == 0);
	}
	FUZZ_CHECK(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
	fuzz_query_pointers_back(out, n);
	if (info.kind == ANSWER_BADVERS)
		FUZZ_CHECK(ldns_pkt_edns_extended_rcode(p) == EDNS_RCODE_BADVERS >> 4);
	fuzz_query_dnssec(c, pkt, p, info.kind);
	ldns_pkt_free(p);
out:
	free(out);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_query_one(NULL, data, size, ANSWER_UDP, AHD_MAX_MSG);
	fuzz_query_one(&fuzz_query_full, data, size, ANSWER_UDP, AHD_MAX_MSG);
	/* The smallest buffer the contract allows. */
	fuzz_query_one(&fuzz_query_full, data, size, ANSWER_UDP, AHD_UDP_CLASSIC);
	fuzz_query_one(&fuzz_query_full, data, size, ANSWER_TCP, AHD_MAX_MSG);
	fuzz_query_one(NULL, data, size, ANSWER_TCP, AHD_UDP_CLASSIC);
	fuzz_query_one(&fuzz_query_sfull, data, size, ANSWER_UDP, AHD_MAX_MSG);
	fuzz_query_one(&fuzz_query_splain, data, size, ANSWER_TCP, AHD_UDP_CLASSIC);
	/* The same with OPT(DO=1) added where the input has no additional
	 * records: the DNSSEC path for every plain query. */
	if (size >= 12 && size <= AHD_MAX_MSG - sizeof(fuzz_query_opt_do) &&
	    data[10] == 0 && data[11] == 0) {
		size_t n = size + sizeof(fuzz_query_opt_do);
		uint8_t *q = malloc(n);

		FUZZ_CHECK(q != NULL);
		memcpy(q, data, size);
		q[11] = 1;
		memcpy(q + size, fuzz_query_opt_do, sizeof(fuzz_query_opt_do));
		fuzz_query_one(&fuzz_query_sfull, q, n, ANSWER_UDP, AHD_MAX_MSG);
		fuzz_query_one(&fuzz_query_splain, q, n, ANSWER_UDP, AHD_UDP_CLASSIC);
		fuzz_query_one(&fuzz_query_sfull, q, n, ANSWER_TCP, AHD_MAX_MSG);
		free(q);
	}
	return 0;
}
