#include "tsig.h"

#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dname.h"

/* RFC 8945 section 6: the algorithm names, as they appear in the TSIG
 * RR and in BIND and Knot key files. */
static const char *const tsig_alg_names[] = {
	[TSIG_ALG_NONE] = NULL,
	[TSIG_HMAC_MD5] = "hmac-md5",
	[TSIG_HMAC_SHA1] = "hmac-sha1",
	[TSIG_HMAC_SHA224] = "hmac-sha224",
	[TSIG_HMAC_SHA256] = "hmac-sha256",
	[TSIG_HMAC_SHA384] = "hmac-sha384",
	[TSIG_HMAC_SHA512] = "hmac-sha512",
};

const char *tsig_alg_text(enum tsig_alg alg)
{
	if ((size_t)alg >= sizeof(tsig_alg_names) / sizeof(tsig_alg_names[0]))
		return NULL;
	return tsig_alg_names[alg];
}

enum tsig_alg tsig_alg_from_text(const char *text)
{
	/* hmac-md5's registered name is hmac-md5.sig-alg.reg.int. */
	if (strcasecmp(text, "hmac-md5.sig-alg.reg.int") == 0 ||
	    strcasecmp(text, "hmac-md5.sig-alg.reg.int.") == 0)
		return TSIG_HMAC_MD5;
	for (size_t i = 1; i < sizeof(tsig_alg_names) / sizeof(tsig_alg_names[0]); i++)
		if (strcasecmp(text, tsig_alg_names[i]) == 0)
			return (enum tsig_alg)i;
	return TSIG_ALG_NONE;
}

/*
 * Everything below follows RFC 8945 (DESIGN §9.4). The MAC covers, in
 * this order: the prior MAC with its length (a response: the request's
 * MAC; a later message of a multi-message answer: the previous message's
 * MAC), the message as it was before the TSIG RR was added (its header
 * with ARCOUNT one lower and ID = Original ID), then the TSIG variables
 * of section 4.3.3, or only the timers (Time Signed and Fudge) for the
 * messages after the first of a multi-message answer (section 5.3.1).
 */

/* The algorithm names in wire form, lower case (section 6): what the
 * TSIG RR carries and the MAC covers; the string's NUL is the root. */
struct tsig_alg_info {
	const char *md; /* OpenSSL digest name */
	size_t mac_len;
	const uint8_t *wire;
	size_t wire_len;
};

#define TSIG_WIRE(s) (const uint8_t *)(s), sizeof(s)
static const struct tsig_alg_info tsig_algs[] = {
	[TSIG_ALG_NONE] = { NULL, 0, NULL, 0 },
	[TSIG_HMAC_MD5] = { "MD5", 16, TSIG_WIRE("\x08hmac-md5\x07sig-alg\x03reg\x03int") },
	[TSIG_HMAC_SHA1] = { "SHA1", 20, TSIG_WIRE("\x09hmac-sha1") },
	[TSIG_HMAC_SHA224] = { "SHA224", 28, TSIG_WIRE("\x0bhmac-sha224") },
	[TSIG_HMAC_SHA256] = { "SHA256", 32, TSIG_WIRE("\x0bhmac-sha256") },
	[TSIG_HMAC_SHA384] = { "SHA384", 48, TSIG_WIRE("\x0bhmac-sha384") },
	[TSIG_HMAC_SHA512] = { "SHA512", 64, TSIG_WIRE("\x0bhmac-sha512") },
};

static const struct tsig_alg_info *tsig_info(enum tsig_alg alg)
{
	if ((size_t)alg >= AHD_ARRAY_LEN(tsig_algs) || alg == TSIG_ALG_NONE)
		return NULL;
	return &tsig_algs[alg];
}

/* Header: ID 0-1, flags 2-3, QD 4-5, AN 6-7, NS 8-9, AR 10-11. */
#define TSIG_HDR 12

static uint16_t tsig_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t *tsig_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *tsig_put48(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(v >> (8 * (5 - i)));
	return p + 6;
}

static uint8_t *tsig_put(uint8_t *p, const void *src, size_t n)
{
	if (n)
		memcpy(p, src, n);
	return p + n;
}

/* Shortest MAC section 5.2.2.1 accepts: the larger of 10 octets and
 * half the hash. */
static size_t tsig_mac_min(const struct tsig_alg_info *a)
{
	return a->mac_len / 2 > 10 ? a->mac_len / 2 : 10;
}

/* ---- parsing ---------------------------------------------------------- */


/* Read the name at m[*off..end) into out, lower case and uncompressed.
 * Pointers are followed only when ptr_ok and only backwards, so a loop
 * is impossible; *off ends after the name where it stood. */
static bool tsig_read_name(const uint8_t *m, size_t end, size_t *off, bool ptr_ok,
			   uint8_t out[AHD_MAX_NAME_WIRE], size_t *out_len)
{
	size_t p = *off, n = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (p >= end)
			return false;
		l = m[p];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (!ptr_ok || end - p < 2)
				return false;
			target = (size_t)(l & 0x3f) << 8 | m[p + 1];
			if (target >= p)
				return false;
			if (!jumped)
				*off = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if (l & 0xc0 || end - p < 1u + l || n + 1u + l > AHD_MAX_NAME_WIRE)
			return false;
		out[n++] = l;
		for (size_t i = 1; i <= l; i++) {
			uint8_t ch = m[p + i];

			/* ASCII only (RFC 4343), whatever the locale. */
			out[n++] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
		}
		p += 1u + l;
		if (l == 0)
			break;
	}
	if (!jumped)
		*off = p;
	*out_len = n;
	return true;
}

static enum tsig_alg tsig_alg_from_wire(const uint8_t *w, size_t n)
{
	for (size_t i = 1; i < AHD_ARRAY_LEN(tsig_algs); i++)
		if (tsig_algs[i].wire_len == n && memcmp(tsig_algs[i].wire, w, n) == 0)
			return (enum tsig_alg)i;
	return TSIG_ALG_NONE;
}

/* Section 5.2.2.1: a MAC longer than the hash, or shorter than the
 * minimum, is FORMERR, except the empty MAC of an unsigned error
 * response (section 5.3.2). */
static bool tsig_mac_size_ok(const struct tsig_rr *rr, bool response)
{
	const struct tsig_alg_info *a = tsig_info(rr->alg);

	if (rr->mac_len == 0)
		return response && rr->error != 0;
	if (!a)
		return true; /* unknown algorithm: BADKEY decides */
	return rr->mac_len <= a->mac_len && rr->mac_len >= tsig_mac_min(a);
}

/* The TSIG RR at m[off..len), which must end the message exactly. */
static bool tsig_parse_rr(const uint8_t *m, size_t len, size_t off, struct tsig_rr *rr)
{
	uint8_t alg[AHD_MAX_NAME_WIRE];
	size_t alg_len, rd_end;
	const uint8_t *p;

	rr->rr_off = off;
	if (!tsig_read_name(m, len, &off, true, rr->key_name, &rr->key_name_len) ||
	    len - off < 10)
		return false;
	p = m + off;
	/* Class ANY and TTL 0 (section 4.2). */
	if (tsig_get16(p + 2) != TSIG_CLASS_ANY || (p[4] | p[5] | p[6] | p[7]) != 0)
		return false;
	off += 10;
	rd_end = off + tsig_get16(p + 8);
	if (rd_end != len)
		return false;
	/* The algorithm name is never compressed (section 4.2). */
	if (!tsig_read_name(m, rd_end, &off, false, alg, &alg_len))
		return false;
	rr->alg = tsig_alg_from_wire(alg, alg_len);
	if (rd_end - off < 10)
		return false;
	p = m + off;
	rr->time_signed = (uint64_t)tsig_get16(p) << 32 | (uint64_t)tsig_get16(p + 2) << 16 |
			  tsig_get16(p + 4);
	rr->fudge = tsig_get16(p + 6);
	rr->mac_len = tsig_get16(p + 8);
	off += 10;
	if (rr->mac_len > TSIG_MAC_MAX || rd_end - off < rr->mac_len + 6)
		return false;
	memcpy(rr->mac, m + off, rr->mac_len);
	off += rr->mac_len;
	p = m + off;
	rr->orig_id = tsig_get16(p);
	rr->error = tsig_get16(p + 2);
	rr->other_len = tsig_get16(p + 4);
	if (rd_end - off - 6 != rr->other_len)
		return false;
	return tsig_mac_size_ok(rr, (m[2] & 0x80) != 0);
}

enum tsig_find tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr)
{
	size_t off = TSIG_HDR, total;
	unsigned ar;

	memset(rr, 0, sizeof(*rr));
	if (len < TSIG_HDR)
		return TSIG_MALFORMED;
	ar = tsig_get16(msg + 10);
	total = (size_t)tsig_get16(msg + 6) + tsig_get16(msg + 8) + ar;
	for (unsigned i = tsig_get16(msg + 4); i > 0; i--) {
		if (!dname_skip(msg, len, &off) || len - off < 4)
			return TSIG_MALFORMED;
		off += 4;
	}
	for (size_t i = 0; i < total; i++) {
		size_t start = off;

		if (!dname_skip(msg, len, &off) || len - off < 10 ||
		    len - off - 10 < tsig_get16(msg + off + 8))
			return TSIG_MALFORMED;
		if (tsig_get16(msg + off) == TSIG_TYPE) {
			/* Only as the last RR of the additional section
			 * (section 5.2): a second one is never last. */
			if (i + 1 != total || ar == 0)
				return TSIG_MALFORMED;
			return tsig_parse_rr(msg, len, start, rr) ? TSIG_FOUND : TSIG_MALFORMED;
		}
		off += 10u + tsig_get16(msg + off + 8);
	}
	return TSIG_NONE;
}

/* ---- the MAC ---------------------------------------------------------- */

struct tsig_seg {
	const uint8_t *p;
	size_t n;
};

/*
 * HMAC of the concatenated segments; false on an OpenSSL failure.
 * OpenSSL's configuration file is never read (as in dnssec.c): without
 * NO_LOAD_CONFIG the first fetch would open openssl.cnf. Under seccomp
 * the first call must not be the first OpenSSL use at all (it calls
 * getrandom): a process that uses TSIG calls
 * OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG) before its filter is
 * loaded, after which this costs only futex calls (DESIGN §9.4).
 */
static bool tsig_hmac(const struct tsig_key *key, const struct tsig_alg_info *a,
		      const struct tsig_seg *seg, size_t nseg, uint8_t out[TSIG_MAC_MAX])
{
	static const uint8_t empty[1];
	EVP_MAC *mac = OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) == 1 ?
			       EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->md, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t got = 0;
	bool ok = ctx && EVP_MAC_init(ctx, key->secret_len ? key->secret : empty,
				      key->secret_len, params) == 1;

	for (size_t i = 0; ok && i < nseg; i++)
		ok = seg[i].n == 0 || EVP_MAC_update(ctx, seg[i].p, seg[i].n) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &got, TSIG_MAC_MAX) == 1 && got == a->mac_len;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

/* The TSIG variables (section 4.3.3), or only the timers (5.3.1). The
 * Other Data follows separately. Returns the length written. */
static size_t tsig_vars(uint8_t *out, const uint8_t *name, size_t name_len,
			const struct tsig_alg_info *a, uint64_t time_signed, uint16_t fudge,
			uint16_t error, size_t other_len, bool timers_only)
{
	uint8_t *p = out;

	if (!timers_only) {
		p = tsig_put(p, name, name_len);
		p = tsig_put16(p, TSIG_CLASS_ANY);
		p = tsig_put(p, "\0\0\0\0", 4); /* TTL */
		p = tsig_put(p, a->wire, a->wire_len);
	}
	p = tsig_put48(p, time_signed);
	p = tsig_put16(p, fudge);
	if (!timers_only) {
		p = tsig_put16(p, error);
		p = tsig_put16(p, (unsigned)other_len);
	}
	return (size_t)(p - out);
}

/* Largest tsig_vars() output. */
#define TSIG_VARS_MAX (2 * AHD_MAX_NAME_WIRE + 2 + 4 + 6 + 2 + 2 + 2)

/* What to sign or check: the fields that are not the MAC itself. */
struct tsig_fields {
	const uint8_t *name;
	size_t name_len;
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	size_t other_len;
};

/* MAC over prior (with its length; none if prior_len is 0), the message
 * m[0..body_end) with ID = orig_id and ARCOUNT = arcount, and the
 * variables. */
static bool tsig_digest(const struct tsig_key *key, const struct tsig_alg_info *a,
			const uint8_t *prior, size_t prior_len, const uint8_t *m,
			size_t body_end, unsigned arcount, const struct tsig_fields *f,
			bool timers_only, uint8_t out[TSIG_MAC_MAX])
{
	uint8_t plen[2], hdr[TSIG_HDR], vars[TSIG_VARS_MAX];
	size_t vlen = tsig_vars(vars, f->name, f->name_len, a, f->time_signed, f->fudge,
				f->error, f->other_len, timers_only);
	struct tsig_seg seg[] = {
		{ plen, prior_len ? 2 : 0 },
		{ prior, prior_len },
		{ hdr, TSIG_HDR },
		{ m + TSIG_HDR, body_end - TSIG_HDR },
		{ vars, vlen },
		{ f->other, timers_only ? 0 : f->other_len },
	};

	tsig_put16(plen, (unsigned)prior_len);
	memcpy(hdr, m, TSIG_HDR);
	tsig_put16(hdr, f->orig_id);
	tsig_put16(hdr + 10, arcount);
	return tsig_hmac(key, a, seg, AHD_ARRAY_LEN(seg), out);
}

static bool tsig_time_ok(uint64_t time_signed, uint16_t fudge, uint64_t now)
{
	uint64_t d = now > time_signed ? now - time_signed : time_signed - now;

	return d <= fudge;
}

/* Key, then MAC, then time (section 5.2; 5.4 for responses): prior is
 * the request's MAC when checking a response. */
static int tsig_check(const struct tsig_key *key, const uint8_t *msg, size_t len,
		      const struct tsig_rr *rr, const uint8_t *prior, size_t prior_len,
		      uint64_t now)
{
	const struct tsig_alg_info *a = tsig_info(key->alg);
	uint8_t mac[TSIG_MAC_MAX];
	struct tsig_fields f;

	if (!a || rr->alg != key->alg || rr->key_name_len != key->name_len ||
	    memcmp(rr->key_name, key->name, key->name_len) != 0)
		return TSIG_BADKEY;
	/* tsig_find refused these already; rr may come from elsewhere. */
	if (rr->mac_len > a->mac_len || rr->mac_len < tsig_mac_min(a) || rr->rr_off < TSIG_HDR ||
	    rr->rr_off > len || rr->other_len > len - rr->rr_off || tsig_get16(msg + 10) == 0)
		return TSIG_BADSIG;
	f = (struct tsig_fields){ rr->key_name, rr->key_name_len, rr->time_signed, rr->fudge,
				  rr->orig_id, rr->error, msg + len - rr->other_len,
				  rr->other_len };
	if (!tsig_digest(key, a, prior, prior_len, msg, rr->rr_off,
			 tsig_get16(msg + 10) - 1u, &f, false, mac) ||
	    CRYPTO_memcmp(mac, rr->mac, rr->mac_len) != 0)
		return TSIG_BADSIG;
	if (!tsig_time_ok(rr->time_signed, rr->fudge, now))
		return TSIG_BADTIME;
	return 0;
}

int tsig_verify(const struct tsig_key *key, const uint8_t *msg, size_t len,
		const struct tsig_rr *rr, uint64_t now)
{
	return tsig_check(key, msg, len, rr, NULL, 0, now);
}

int tsig_verify_response(const struct tsig_ctx *c, const uint8_t *msg, size_t len,
			 uint64_t now)
{
	struct tsig_rr rr;
	int err;

	/* Section 5.4: a response to a signed request must be signed. */
	if (tsig_find(msg, len, &rr) != TSIG_FOUND)
		return TSIG_BADSIG;
	/* An unsigned error (5.3.2) says what the server disliked. */
	if (rr.mac_len == 0)
		return rr.error ? rr.error : TSIG_BADSIG;
	err = tsig_check(c->key, msg, len, &rr, c->prior_mac, c->prior_len, now);
	if (err == TSIG_BADKEY || err == TSIG_BADSIG)
		return err;
	/* A signed error (BADTIME) is authentic but still a failure. */
	return rr.error ? rr.error : err;
}

/* ---- signing ---------------------------------------------------------- */

void tsig_ctx_init(struct tsig_ctx *c, const struct tsig_key *key, const struct tsig_rr *rr)
{
	memset(c, 0, sizeof(*c));
	c->key = key;
	if (rr) {
		/* A truncated request MAC is used as received (5.2.2.1). */
		memcpy(c->prior_mac, rr->mac, rr->mac_len);
		c->prior_len = rr->mac_len;
		c->orig_id = rr->orig_id;
	}
}

static size_t tsig_rr_size(size_t name_len, const struct tsig_alg_info *a, size_t mac_len,
			   size_t other_len)
{
	return name_len + 10 + a->wire_len + 6 + 2 + 2 + mac_len + 2 + 2 + 2 + other_len;
}

size_t tsig_space(const struct tsig_key *key)
{
	const struct tsig_alg_info *a = tsig_info(key->alg);

	return a ? tsig_rr_size(key->name_len, a, a->mac_len, 0) : 0;
}

/* Append the TSIG RR to m[0..*len) and count it in ARCOUNT; the caller
 * checked the room and that ARCOUNT has room. */
static void tsig_append(uint8_t *m, size_t *len, const struct tsig_alg_info *a,
			const struct tsig_fields *f, const uint8_t *mac, size_t mac_len)
{
	uint8_t *p = m + *len;
	size_t rdlen = tsig_rr_size(0, a, mac_len, f->other_len) - 10;

	p = tsig_put(p, f->name, f->name_len);
	p = tsig_put16(p, TSIG_TYPE);
	p = tsig_put16(p, TSIG_CLASS_ANY);
	p = tsig_put(p, "\0\0\0\0", 4);
	p = tsig_put16(p, (unsigned)rdlen);
	p = tsig_put(p, a->wire, a->wire_len);
	p = tsig_put48(p, f->time_signed);
	p = tsig_put16(p, f->fudge);
	p = tsig_put16(p, (unsigned)mac_len);
	p = tsig_put(p, mac, mac_len);
	p = tsig_put16(p, f->orig_id);
	p = tsig_put16(p, f->error);
	p = tsig_put16(p, (unsigned)f->other_len);
	p = tsig_put(p, f->other, f->other_len);
	tsig_put16(m + 10, tsig_get16(m + 10) + 1u);
	*len = (size_t)(p - m);
}

static bool tsig_fits(const uint8_t *msg, size_t len, size_t cap, size_t need)
{
	return len >= TSIG_HDR && len <= cap && cap - len >= need && need <= AHD_MAX_MSG &&
	       len <= AHD_MAX_MSG - need && tsig_get16(msg + 10) < 0xffff;
}

bool tsig_sign(struct tsig_ctx *c, uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	const struct tsig_alg_info *a = tsig_info(c->key->alg);
	uint8_t mac[TSIG_MAC_MAX];
	struct tsig_fields f;
	bool request = c->prior_len == 0;

	if (!a || !tsig_fits(msg, *len, cap, tsig_space(c->key)))
		return false;
	if (request)
		c->orig_id = tsig_get16(msg);
	f = (struct tsig_fields){ c->key->name, c->key->name_len, now, TSIG_FUDGE,
				  c->orig_id, 0, NULL, 0 };
	if (!tsig_digest(c->key, a, c->prior_mac, c->prior_len, msg, *len,
			 tsig_get16(msg + 10), &f, c->subsequent, mac))
		return false;
	tsig_append(msg, len, a, &f, mac, a->mac_len);
	/* The next message of the answer chains on this MAC (5.3.1); after
	 * a request, the response is checked against it (5.4). */
	memcpy(c->prior_mac, mac, a->mac_len);
	c->prior_len = a->mac_len;
	if (!request)
		c->subsequent = true;
	return true;
}

bool tsig_sign_error(const struct tsig_key *key, const struct tsig_rr *rr, int error,
		     uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	const struct tsig_alg_info *a = tsig_info(rr->alg);
	uint8_t mac[TSIG_MAC_MAX], when[6];
	struct tsig_fields f = { rr->key_name, rr->key_name_len, now, TSIG_FUDGE,
				 rr->orig_id, (uint16_t)error, NULL, 0 };

	if (error == TSIG_BADTIME || error == TSIG_BADTRUNC) {
		/* Signed like an answer to the request (5.3.2): the MAC
		 * was right. BADTIME keeps the request's Time Signed, so
		 * the client's own time check passes, and tells ours in
		 * Other Data (5.2.3). */
		a = tsig_info(key->alg);
		if (!a || rr->alg != key->alg)
			return false;
		if (error == TSIG_BADTIME) {
			tsig_put48(when, now);
			f.time_signed = rr->time_signed;
			f.other = when;
			f.other_len = sizeof(when);
		}
		if (!tsig_fits(msg, *len, cap, tsig_rr_size(f.name_len, a, a->mac_len, f.other_len)) ||
		    !tsig_digest(key, a, rr->mac, rr->mac_len, msg, *len, tsig_get16(msg + 10), &f,
				 false, mac))
			return false;
		tsig_append(msg, len, a, &f, mac, a->mac_len);
		return true;
	}
	/* BADSIG, BADKEY: unsigned, empty MAC (5.3.2). An algorithm we do
	 * not know is answered with ours: its name is not kept. */
	if (!a)
		a = tsig_info(key->alg) ? tsig_info(key->alg) : tsig_info(TSIG_HMAC_SHA256);
	if (!tsig_fits(msg, *len, cap, tsig_rr_size(f.name_len, a, 0, 0)))
		return false;
	tsig_append(msg, len, a, &f, NULL, 0);
	return true;
}

void tsig_warm(const struct tsig_key *key)
{
	struct tsig_ctx c;
	uint8_t msg[512] = {0};
	size_t len = 12;

	if (key == NULL || key->alg == TSIG_ALG_NONE)
		return;
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	tsig_ctx_init(&c, key, NULL);
	(void)tsig_sign(&c, msg, &len, sizeof(msg), 0);
	OPENSSL_cleanse(&c, sizeof(c));
}
