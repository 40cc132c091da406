/*
 * Fuzz target: packet bytes -> answer_query() against the fixture zone
 * (fuzz_common.c), over UDP and TCP, into output buffers of exactly the
 * capacity passed so ASan sees any write past it. Every response must
 * obey what a client relies on: within the limit, ID and opcode echoed,
 * QR set, and a message ldns parses.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "answer.h"

static struct config fuzz_query_cfg;
/* What the default answer_query() uses, and a worker with every option
 * on: a larger EDNS payload, NSID, cookies. */
static struct answer_ctx fuzz_query_plain, fuzz_query_full;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	struct answer_ctx *f = &fuzz_query_full;

	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	if (fuzz_fixture_config(&fuzz_query_cfg) < 0)
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
	FUZZ_CHECK((out[3] & 0xf0) == 0);                           /* RA Z AD CD */
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
	if (info.kind == ANSWER_BADVERS)
		FUZZ_CHECK(ldns_pkt_edns_extended_rcode(p) == EDNS_RCODE_BADVERS >> 4);
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
	return 0;
}
