/*
 * The query core: packet bytes + the image in, response bytes out.
 * Pure (ARCHITECTURE habit 5): no I/O, no logging, no globals, no
 * allocation. Safe for any input bytes.
 */
#ifndef AHD_ANSWER_H
#define AHD_ANSWER_H

#include <stddef.h>
#include <stdint.h>

struct zimg;

enum answer_kind {
	ANSWER_DROP = 0,  /* no response: QR set, shorter than a header */
	ANSWER_NOERROR,   /* positive answer */
	ANSWER_NODATA,    /* NOERROR, empty answer, SOA in authority */
	ANSWER_NXDOMAIN,
	ANSWER_REFUSED,   /* out of zone, or class not IN */
	ANSWER_FORMERR,
	ANSWER_NOTIMP,
	ANSWER_SERVFAIL,  /* no usable image */
	ANSWER_KIND_COUNT,
};

enum answer_transport {
	ANSWER_UDP = 0, /* response limited to 512 bytes (TC if larger) */
	ANSWER_TCP,
};

/*
 * Answer the query in pkt[0..len) from the image. Writes the response to
 * out (cap bytes, at least AHD_UDP_CLASSIC) and returns its length, or 0
 * for ANSWER_DROP. *kind (may be NULL) receives the classification for
 * counters. Retries internally if the image changes while it reads.
 */
size_t answer_query(const struct zimg *z, const uint8_t *pkt, size_t len,
		    enum answer_transport transport, uint8_t *out, size_t cap,
		    enum answer_kind *kind);

#endif
