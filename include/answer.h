/*
 * The query core: packet bytes + the image in, response bytes out.
 * Pure (DESIGN §8, habit 5): no I/O, no logging, no globals, no
 * allocation, no clock: everything it depends on is in struct answer_ctx.
 * Safe for any input bytes.
 */
#ifndef AHD_ANSWER_H
#define AHD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie.h"
#include "edns.h"

struct zimg;

enum answer_kind {
	ANSWER_DROP = 0,  /* no response: QR set, shorter than a header */
	ANSWER_NOERROR,   /* positive answer (also the QDCOUNT 0 cookie reply) */
	ANSWER_NODATA,    /* NOERROR, empty answer, SOA in authority */
	ANSWER_NXDOMAIN,
	ANSWER_REFUSED,   /* out of zone, or class not IN */
	ANSWER_FORMERR,
	ANSWER_NOTIMP,
	ANSWER_SERVFAIL,  /* no usable image */
	ANSWER_BADVERS,   /* EDNS version > 0 (RFC 6891 section 6.1.3) */
	ANSWER_KIND_COUNT,
};

enum answer_transport {
	ANSWER_UDP = 0, /* limited to 512, or the EDNS payload (TC if larger) */
	ANSWER_TCP,     /* limited to cap and 65535 only */
};

/*
 * Everything a worker's answers depend on besides the query. A worker
 * fills it once at start (image, EDNS size, NSID, secret), sets `now`
 * per batch and the client address per query.
 */
struct answer_ctx {
	const struct zimg *z;      /* NULL: SERVFAIL */
	uint16_t edns_size;        /* our EDNS UDP payload, 512..4096 */
	uint8_t nsid[EDNS_NSID_MAX]; /* RFC 5001 NSID data, nsid_len bytes */
	size_t nsid_len;           /* 0: no NSID in answers */
	bool cookies;              /* false: COOKIE options are ignored */
	uint8_t cookie_secret[COOKIE_SECRET_LEN];
	uint32_t now;              /* Unix time, seconds (cookie timestamps) */
	size_t tsig_room;          /* bytes a TSIG RR of our key takes */
	int client_family;         /* AF_INET, AF_INET6; 0: unknown */
	uint8_t client_addr[16];   /* network order, 4 bytes for AF_INET */
};

/* What the response did besides its kind (for counters; may be NULL). */
struct answer_info {
	enum answer_kind kind;
	bool edns;        /* the response carries an OPT */
	bool truncated;   /* TC set */
	bool nsid;        /* NSID option sent */
	enum cookie_verdict cookie; /* of the query's COOKIE, if any */
	bool cookie_seen; /* the query had a COOKIE the server answered */
	bool tsig;        /* the query was signed: room for a TSIG was left */
	bool xfr;         /* AXFR or IXFR of a zone we serve: answered NOTIMP
			   * here, the worker's transfer code answers it */
};

/*
 * Answer the query in pkt[0..len). Writes the response to out (cap
 * bytes, at least AHD_UDP_CLASSIC) and returns its length, or 0 for
 * ANSWER_DROP. *info (may be NULL) receives the classification.
 * Retries internally if the image changes while it reads.
 *
 * Over UDP the response fits 512 bytes without OPT, else the requester's
 * payload capped at ctx->edns_size; what does not fit is left out by
 * whole RRsets with TC set (the question and the OPT always stay).
 */
size_t answer_query_ex(const struct answer_ctx *ctx, const uint8_t *pkt, size_t len,
		       enum answer_transport transport, uint8_t *out, size_t cap,
		       struct answer_info *info);

/* answer_query_ex with EDNS size AHD_EDNS_DEFAULT, no NSID, no cookies. */
size_t answer_query(const struct zimg *z, const uint8_t *pkt, size_t len,
		    enum answer_transport transport, uint8_t *out, size_t cap,
		    enum answer_kind *kind);

#endif
