/*
 * Fuzz target: message bytes -> tsig_find(), then for a TSIG found:
 * tsig_verify() with the key of its algorithm, at a fixed time and at
 * its own Time Signed; an answer to it signed with tsig_sign() and the
 * three error answers of tsig_sign_error(), each into a buffer of exactly
 * the room it may use so ASan sees a write past it; and
 * tsig_verify_response() on the input as the acknowledgement of a NOTIFY.
 *
 * What must hold: the parsed fields stay inside the message and within
 * their limits; verification errors come in the order of RFC 8945
 * section 5.2 (a bad key hides the MAC, a bad MAC hides the time); what
 * we sign parses back as ours and verifies; and ldns, an independent
 * implementation, agrees with every request we accept and every answer
 * we sign (where ldns can judge: an algorithm it has, a MAC not
 * truncated, an ID equal to the Original ID and a lower case algorithm
 * name: ldns digests ID and name as sent where RFC 8945 wants the
 * original ID and the canonical name, and compares whole MACs only).
 */
#include "fuzz.h"

#include <string.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "fuzz_tsig.h"
#include "tsig.h"

static struct tsig_key fuzz_tsig_keys[TSIG_HMAC_SHA512 + 1];
/* The prior MAC of a NOTIFY we "sent": tsig_verify_response's view. */
static struct tsig_ctx fuzz_tsig_notify;

/* What ldns 1.8 calls the algorithms it has. */
static const char *const fuzz_tsig_ldns_alg[] = {
	[TSIG_HMAC_MD5] = "hmac-md5.sig-alg.reg.int.",
	[TSIG_HMAC_SHA1] = "hmac-sha1.",
	[TSIG_HMAC_SHA256] = "hmac-sha256.",
	[TSIG_HMAC_SHA512] = "hmac-sha512.",
};
/* Their MAC sizes: ldns compares whole MACs, never truncated ones. */
static const size_t fuzz_tsig_ldns_mac[] = {
	[TSIG_HMAC_MD5] = 16, [TSIG_HMAC_SHA1] = 20, [TSIG_HMAC_SHA256] = 32,
	[TSIG_HMAC_SHA512] = 64,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	for (int a = TSIG_HMAC_MD5; a <= TSIG_HMAC_SHA512; a++)
		fuzz_tsig_keys[a] = fuzz_tsig_key((enum tsig_alg)a);
	tsig_ctx_init(&fuzz_tsig_notify, &fuzz_tsig_keys[TSIG_HMAC_SHA256], NULL);
	memset(fuzz_tsig_notify.prior_mac, 0x5c, 32);
	fuzz_tsig_notify.prior_len = 32;
	return 0;
}

static bool fuzz_tsig_is_ours(int e)
{
	return e == 0 || e == TSIG_BADKEY || e == TSIG_BADSIG || e == TSIG_BADTIME;
}

/* The parsed fields must describe bytes of the message. */
static void fuzz_tsig_fields(const uint8_t *m, size_t n, const struct tsig_rr *rr)
{
	size_t i = 0;

	FUZZ_CHECK(rr->rr_off >= 12 && rr->rr_off < n);
	FUZZ_CHECK(rr->key_name_len >= 1 && rr->key_name_len <= AHD_MAX_NAME_WIRE);
	while (rr->key_name[i] != 0) {
		FUZZ_CHECK(rr->key_name[i] <= 63 && i + 1u + rr->key_name[i] < rr->key_name_len);
		for (size_t j = 1; j <= rr->key_name[i]; j++)
			FUZZ_CHECK(!(rr->key_name[i + j] >= 'A' && rr->key_name[i + j] <= 'Z'));
		i += 1u + rr->key_name[i];
	}
	FUZZ_CHECK(i + 1 == rr->key_name_len);
	FUZZ_CHECK(rr->mac_len <= TSIG_MAC_MAX && rr->other_len <= n - rr->rr_off);
	FUZZ_CHECK(rr->alg <= TSIG_HMAC_SHA512);
	/* The Original ID and Error as they stand before Other Len. */
	FUZZ_CHECK(((unsigned)m[n - rr->other_len - 6] << 8 | m[n - rr->other_len - 5]) ==
		   rr->orig_id);
}

/* Where the algorithm name of the TSIG RR at m[off..) starts. */
static size_t fuzz_tsig_alg_off(const uint8_t *m, size_t off)
{
	while (m[off] != 0 && (m[off] & 0xc0) != 0xc0)
		off += 1u + m[off];
	return off + (m[off] == 0 ? 1 : 2) + 10;
}

/* Whether ldns's walk over the RRs before the TSIG ends where ours
 * does: ldns_wire2rr stops after the fields it knows of a type, not at
 * RDLENGTH, so an RDATA longer than its type's fields sends ldns (and
 * its TSIG digest) elsewhere. */
static bool fuzz_tsig_ldns_walks(const uint8_t *m, size_t n, size_t tsig_off)
{
	size_t pos = 12;
	unsigned qd = (unsigned)(m[4] << 8 | m[5]);
	unsigned rrs = (unsigned)(m[6] << 8 | m[7]) + (unsigned)(m[8] << 8 | m[9]) +
		       (unsigned)(m[10] << 8 | m[11]) - 1u;

	for (unsigned i = 0; i < qd + rrs; i++) {
		ldns_rr *rr = NULL;

		if (ldns_wire2rr(&rr, m, n, &pos,
				 i < qd ? LDNS_SECTION_QUESTION : LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK)
			return false;
		ldns_rr_free(rr);
	}
	return pos == tsig_off;
}

/* ldns can judge m (see the top): prior NULL for a request. */
static void fuzz_tsig_ldns(const uint8_t *m, size_t n, const struct tsig_rr *rr,
			   enum tsig_alg alg, const uint8_t *prior, size_t prior_len)
{
	size_t a = fuzz_tsig_alg_off(m, rr->rr_off);
	ldns_rdf *mac = NULL;
	ldns_pkt *p = NULL;
	uint8_t buf[2 + TSIG_MAC_MAX];

	if ((size_t)alg >= AHD_ARRAY_LEN(fuzz_tsig_ldns_alg) || !fuzz_tsig_ldns_alg[alg] ||
	    rr->mac_len != fuzz_tsig_ldns_mac[alg] || ((unsigned)m[0] << 8 | m[1]) != rr->orig_id)
		return;
	for (size_t i = a; m[i] != 0; i++)
		if (m[i] >= 'A' && m[i] <= 'Z')
			return;
	if (!fuzz_tsig_ldns_walks(m, n, rr->rr_off) || ldns_wire2pkt(&p, m, n) != LDNS_STATUS_OK)
		return;
	if (prior) {
		buf[0] = (uint8_t)(prior_len >> 8);
		buf[1] = (uint8_t)prior_len;
		memcpy(buf + 2, prior, prior_len);
		mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2 + prior_len, buf);
		FUZZ_CHECK(mac != NULL);
	}
	FUZZ_CHECK(ldns_pkt_tsig_verify(p, m, n, FUZZ_TSIG_NAME, FUZZ_TSIG_SECRET, mac));
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(p);
}

/* msg[0..rr_off) with ARCOUNT one lower and QR set: the answer to
 * sign, in a block of exactly cap bytes. NULL if it is not one. */
static uint8_t *fuzz_tsig_answer(const uint8_t *m, const struct tsig_rr *rr, size_t cap)
{
	uint8_t *out;

	if (cap < rr->rr_off)
		return NULL;
	out = malloc(cap);
	FUZZ_CHECK(out != NULL);
	memcpy(out, m, rr->rr_off);
	out[2] |= 0x80;
	if (out[11]-- == 0)
		out[10]--;
	return out;
}

/* Sign an answer to the request and read it back. */
static void fuzz_tsig_sign(const uint8_t *m, const struct tsig_rr *rr, const struct tsig_key *k)
{
	size_t cap = rr->rr_off + tsig_space(k), n = rr->rr_off;
	uint8_t *out = fuzz_tsig_answer(m, rr, cap);
	struct tsig_ctx c, client;
	struct tsig_rr got;

	tsig_ctx_init(&c, k, rr);
	client = c;
	/* Exactly the room it needs: one byte less is refused. */
	FUZZ_CHECK(!tsig_sign(&c, out, &n, cap - 1, FUZZ_TSIG_NOW) && n == rr->rr_off);
	FUZZ_CHECK(tsig_sign(&c, out, &n, cap, FUZZ_TSIG_NOW) && n == cap);
	FUZZ_CHECK(tsig_find(out, n, &got) == TSIG_FOUND);
	FUZZ_CHECK(got.rr_off == rr->rr_off && got.alg == k->alg && got.error == 0);
	FUZZ_CHECK(got.key_name_len == k->name_len &&
		   memcmp(got.key_name, k->name, k->name_len) == 0);
	if (rr->mac_len > 0) {
		FUZZ_CHECK(got.orig_id == rr->orig_id);
		FUZZ_CHECK(tsig_verify_response(&client, out, n, FUZZ_TSIG_NOW) == 0);
		fuzz_tsig_ldns(out, n, &got, k->alg, rr->mac, rr->mac_len);
	}
	free(out);
}

/* The error answers: BADTIME signed (only with the request's key),
 * BADSIG and BADKEY unsigned. */
static void fuzz_tsig_errors(const uint8_t *m, const struct tsig_rr *rr, const struct tsig_key *k)
{
	static const int errs[] = { TSIG_BADSIG, TSIG_BADKEY, TSIG_BADTIME };

	for (size_t i = 0; i < AHD_ARRAY_LEN(errs); i++) {
		size_t cap = rr->rr_off + rr->key_name_len + 10 + 64 + 16 + TSIG_MAC_MAX + 6;
		size_t n = rr->rr_off;
		uint8_t *out = fuzz_tsig_answer(m, rr, cap);
		struct tsig_rr got;
		bool ok = tsig_sign_error(k, rr, errs[i], out, &n, cap, FUZZ_TSIG_NOW);

		FUZZ_CHECK(ok || (errs[i] == TSIG_BADTIME && rr->alg != k->alg));
		if (ok) {
			FUZZ_CHECK(n > rr->rr_off && n <= cap);
			FUZZ_CHECK(tsig_find(out, n, &got) == TSIG_FOUND);
			FUZZ_CHECK(got.error == errs[i] && got.orig_id == rr->orig_id);
			FUZZ_CHECK((got.mac_len == 0) == (errs[i] != TSIG_BADTIME));
			FUZZ_CHECK(got.other_len == (errs[i] == TSIG_BADTIME ? 6u : 0u));
		}
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsig_rr rr;
	enum tsig_find f = tsig_find(data, size, &rr);
	const struct tsig_key *k;
	int now_err, own_err, resp;

	FUZZ_CHECK(f == TSIG_NONE || f == TSIG_FOUND || f == TSIG_MALFORMED);
	resp = tsig_verify_response(&fuzz_tsig_notify, data, size, FUZZ_TSIG_NOW);
	FUZZ_CHECK(f == TSIG_FOUND || resp == TSIG_BADSIG);
	if (f != TSIG_FOUND)
		return 0;
	fuzz_tsig_fields(data, size, &rr);
	k = &fuzz_tsig_keys[rr.alg == TSIG_ALG_NONE ? TSIG_HMAC_SHA256 : rr.alg];
	now_err = tsig_verify(k, data, size, &rr, FUZZ_TSIG_NOW);
	own_err = tsig_verify(k, data, size, &rr, rr.time_signed);
	FUZZ_CHECK(fuzz_tsig_is_ours(now_err) && fuzz_tsig_is_ours(own_err));
	/* Key, then MAC, then time: only the time may differ. */
	FUZZ_CHECK(own_err != TSIG_BADTIME);
	FUZZ_CHECK(now_err == own_err || (own_err == 0 && now_err == TSIG_BADTIME));
	FUZZ_CHECK((rr.alg == TSIG_ALG_NONE) <= (own_err == TSIG_BADKEY));
	if (own_err == 0)
		fuzz_tsig_ldns(data, size, &rr, rr.alg, NULL, 0);
	/* Room for the largest answer: ours stay under 64 KiB. */
	if (rr.rr_off <= AHD_MAX_MSG - 1024) {
		fuzz_tsig_sign(data, &rr, k);
		fuzz_tsig_errors(data, &rr, k);
	}
	return 0;
}
