/*
 * TSIG (RFC 8945): transaction signatures on transfers and NOTIFY
 * (DESIGN §9.4). Pure wire code over OpenSSL's HMAC: no I/O, no logging,
 * no clock (the caller passes `now`), no allocation. The key reaches the
 * workers (to verify requests and sign their answers) and the notifier
 * (to sign NOTIFY and verify the acknowledgements); it is never logged.
 */
#ifndef AHD_TSIG_H
#define AHD_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahd.h"

#define TSIG_TYPE 250
#define TSIG_CLASS_ANY 255
#define TSIG_SECRET_MAX 128 /* bytes of a decoded secret */
#define TSIG_MAC_MAX 64     /* hmac-sha512 */
#define TSIG_FUDGE 300      /* seconds (RFC 8945 section 10) */

/* TSIG error codes (RFC 8945 section 3): in the TSIG RR's Error field;
 * the message's RCODE is NOTAUTH (9) for all three. */
#define TSIG_BADSIG 16
#define TSIG_BADKEY 17
#define TSIG_BADTIME 18
#define TSIG_BADTRUNC 22

enum tsig_alg {
	TSIG_ALG_NONE = 0,
	TSIG_HMAC_MD5,    /* hmac-md5.sig-alg.reg.int: verify only, legacy */
	TSIG_HMAC_SHA1,
	TSIG_HMAC_SHA224,
	TSIG_HMAC_SHA256, /* the default and the one every peer has */
	TSIG_HMAC_SHA384,
	TSIG_HMAC_SHA512,
};

struct tsig_key {
	enum tsig_alg alg;  /* TSIG_ALG_NONE: no key configured */
	uint8_t name[AHD_MAX_NAME_WIRE]; /* wire form, lower case */
	size_t name_len;
	uint8_t secret[TSIG_SECRET_MAX];
	size_t secret_len;
};

/* The algorithm's name as text ("hmac-sha256") and wire (lower case,
 * with the root label), and its MAC length; NULL/0 for TSIG_ALG_NONE. */
const char *tsig_alg_text(enum tsig_alg alg);
enum tsig_alg tsig_alg_from_text(const char *text); /* NONE if unknown */

/* A TSIG RR found as the last RR of the additional section. */
struct tsig_rr {
	size_t rr_off;      /* where the TSIG RR begins in the message */
	uint8_t key_name[AHD_MAX_NAME_WIRE]; /* lower case, uncompressed */
	size_t key_name_len;
	enum tsig_alg alg;  /* TSIG_ALG_NONE: an algorithm we do not know */
	uint64_t time_signed; /* 48 bits */
	uint16_t fudge;
	uint8_t mac[TSIG_MAC_MAX];
	size_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	size_t other_len;
};

enum tsig_find {
	TSIG_NONE = 0, /* no TSIG RR */
	TSIG_FOUND,
	TSIG_MALFORMED, /* a TSIG RR not last, a second one, a bad RDATA,
			 * a MAC size section 5.2.2.1 forbids (longer than
			 * the hash, shorter than max(10, hash/2), empty but
			 * in an error response): FORMERR (RFC 8945 5.2) */
};

/* Locate and parse the TSIG RR of msg[0..len) (a complete DNS message).
 * Safe for any bytes. */
enum tsig_find tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr);

/*
 * Verify a request signed with key (RFC 8945 section 5.2), rr from
 * tsig_find. Returns 0 when it verifies, else the TSIG error to answer
 * with: TSIG_BADKEY (name or algorithm is not key's), TSIG_BADSIG (MAC
 * wrong or truncated below what the RFC allows), TSIG_BADTIME (outside
 * the fudge of now: the MAC was right).
 */
int tsig_verify(const struct tsig_key *key, const uint8_t *msg, size_t len,
		const struct tsig_rr *rr, uint64_t now);

/*
 * Signing state of one request/response exchange: the MAC that the next
 * signature covers (RFC 8945 section 5.3: the request's MAC for the
 * first response; each signed message's MAC for the next in a
 * multi-message answer, section 5.3.1).
 */
struct tsig_ctx {
	const struct tsig_key *key;
	uint8_t prior_mac[TSIG_MAC_MAX];
	size_t prior_len; /* 0: signing a request (NOTIFY) */
	bool subsequent;  /* the next message continues a multi-message
			   * answer whose first was signed */
	uint16_t orig_id;
};

/* Start an exchange: a response to the verified request rr (prior MAC =
 * its MAC, orig_id = its Original ID), or rr NULL to sign a request. */
void tsig_ctx_init(struct tsig_ctx *c, const struct tsig_key *key, const struct tsig_rr *rr);

/*
 * Append a TSIG RR to msg[0..*len) (cap bytes available) and add 1 to
 * ARCOUNT, signed at now with error 0. For a multi-message answer call it
 * for every message (RFC 8945 section 5.3.1 lets us sign every one:
 * we do). Returns false (msg unchanged) if it does not fit.
 * tsig_space() is the room to leave for it.
 */
bool tsig_sign(struct tsig_ctx *c, uint8_t *msg, size_t *len, size_t cap, uint64_t now);
size_t tsig_space(const struct tsig_key *key);

/*
 * The answer to a request that failed verification with error (BADSIG,
 * BADKEY: unsigned TSIG with an empty MAC, RFC 8945 section 5.3.2;
 * BADTIME: signed, Other Data = our time): append the TSIG RR to the
 * NOTAUTH response msg[0..*len). false if it does not fit.
 */
bool tsig_sign_error(const struct tsig_key *key, const struct tsig_rr *rr, int error,
		     uint8_t *msg, size_t *len, size_t cap, uint64_t now);

/* Sign a throw-away message with key, so OpenSSL has initialised
 * everything it initialises lazily (the random generator: getrandom;
 * its configuration: never read) before a sandboxed process's system
 * call filter is installed. */
void tsig_warm(const struct tsig_key *key);

/* Verify a response (a NOTIFY acknowledgement) to a request we signed
 * with c (c->prior_mac holds the request's MAC after tsig_sign). 0 or
 * the TSIG error (a response with a nonzero Error field also fails). */
int tsig_verify_response(const struct tsig_ctx *c, const uint8_t *msg, size_t len,
			 uint64_t now);

#endif
