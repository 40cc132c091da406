/*
 * Zone transfers served by the workers (DESIGN §9.3): AXFR (RFC 5936)
 * and IXFR (RFC 1995) from the shared-memory image, behind the
 * --transfer-allow list and, with --tsig-key, TSIG (RFC 8945).
 *
 * A transfer answers from a private copy of the image taken when the
 * request came (zimg_copy_active) and, for IXFR, the condensed
 * difference from the history (xfr_hist.h): the zone it sends is one
 * image, however many publishes happen while it streams. Over TCP the
 * first message comes back from xfr_answer and the rest from xfr_more,
 * one per call, as tcp.c's write loop asks (tcp_stream_more), so the
 * worker's other clients are served in between.
 */
#ifndef AHD_XFR_H
#define AHD_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "tsig.h"

struct zimg;
struct xfr; /* one transfer being streamed */

/* Transfers one worker streams at once; more are answered SERVFAIL
 * (each holds a copy of the image). */
#define XFR_MAX_STREAMS 8
/* A transfer's messages stay under this (RFC 5936 allows 65535), so a
 * slow secondary never makes the worker hold a maximal one. */
#define XFR_MSG_TARGET 16384

struct xfr_counters {
	uint64_t axfr;     /* complete zones sent (AXFR, or IXFR as AXFR) */
	uint64_t ixfr;     /* differences sent (or the single SOA) */
	uint64_t refused;  /* not in --transfer-allow, or unsigned */
	uint64_t badtsig;  /* TSIG that did not verify */
};

/* Why a transfer was refused; each reason is logged at most once a
 * second per worker. */
enum xfr_refusal {
	XFR_REFUSED_ACL = 0, /* not in --transfer-allow */
	XFR_REFUSED_UNSIGNED,
	XFR_REFUSED_BADKEY,
	XFR_REFUSED_BADSIG,
	XFR_REFUSED_BADTIME,
	XFR_REFUSAL_COUNT,
};

struct xfr_ctx {
	const struct zimg *z;       /* the image, and who may transfer it */
	const struct tsig_key *key; /* alg TSIG_ALG_NONE: no key */
	unsigned streams;           /* being streamed now */
	struct xfr_counters n;
	/* Per reason (enum xfr_refusal): when one was last logged, and
	 * how many were not logged since. */
	int64_t logged_ms[XFR_REFUSAL_COUNT];
	uint64_t unlogged[XFR_REFUSAL_COUNT];
	/* Called with the client and the serial sent, once per transfer
	 * (status's "last transfer seen"); may be NULL. */
	void (*seen)(void *arg, const struct sockaddr *peer, uint32_t serial);
	void *seen_arg;
};

/* Whether pkt[0..len) asks for a transfer: opcode QUERY, one question
 * of type AXFR or IXFR (a look at the header and the question only).
 * The worker does not need it: the query core flags transfers of our
 * zones (answer_info.xfr) as it answers; fuzzing and tests use it. */
bool xfr_is_request(const uint8_t *pkt, size_t len);

/* xfr_answer's "not a transfer request after all" (the query does not
 * parse): the query core answers it with the right error. */
#define XFR_NOT_MINE ((size_t)-1)

/*
 * Answer the transfer request pkt[0..len) from peer, at Unix time now
 * (TSIG) and now_ms (log rate). Writes the (first) response to out (cap
 * bytes) and returns its length (0: no response). tcp false: over UDP
 * (AXFR is NOTIMP there; IXFR gets the difference when it fits in
 * udp_cap, else the single SOA, RFC 1995 section 2). Over TCP *stream
 * receives the transfer when more messages follow.
 */
size_t xfr_answer(struct xfr_ctx *x, const struct sockaddr *peer, const uint8_t *pkt,
		  size_t len, bool tcp, size_t udp_cap, uint8_t *out, size_t cap,
		  void **stream, uint64_t now, int64_t now_ms);

/*
 * A signed ordinary query (a secondary's SOA check) and its answer
 * out[0..n), which the query core left tsig_room for: sign it with our
 * key (RFC 8945 section 5.3), or replace it with NOTAUTH and the TSIG
 * error when the query does not verify (section 5.2). Returns the new
 * length.
 */
size_t xfr_sign_answer(struct xfr_ctx *x, const uint8_t *pkt, size_t len, uint8_t *out,
		       size_t n, size_t cap, uint64_t now);

/* The next message of s (tcp_stream_more's contract). */
size_t xfr_more(struct xfr *s, uint8_t *out, size_t cap, bool *done);
void xfr_free(struct xfr_ctx *x, struct xfr *s);

/* Whether addr (family AF_INET/AF_INET6, network order) is in acl. */
bool xfr_acl_match(const struct config_prefix *acl, size_t n, int family,
		   const uint8_t *addr);

#endif
