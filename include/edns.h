/*
 * EDNS(0) (RFC 6891): the OPT pseudo-RR of a query parsed, the OPT of a
 * response written. Pure and allocation-free, like the rest of the query
 * core. Options known here: NSID (RFC 5001) and COOKIE (RFC 7873).
 */
#ifndef AHD_EDNS_H
#define AHD_EDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDNS_OPT_NSID 3
#define EDNS_OPT_COOKIE 10

/* The server's payload may be set within these; a requester's payload
 * below the minimum counts as the minimum (RFC 6891 section 6.2.5). */
#define EDNS_PAYLOAD_MIN 512
#define EDNS_PAYLOAD_MAX 4096

#define EDNS_NSID_MAX 128
/* COOKIE option data: client cookie 8, server cookie 8..32 (RFC 7873 4). */
#define EDNS_COOKIE_CLIENT_LEN 8
#define EDNS_COOKIE_MIN 16
#define EDNS_COOKIE_MAX 40

/* Extended RCODEs: the high 8 bits go into the OPT TTL. */
#define EDNS_RCODE_BADVERS 16
#define EDNS_RCODE_BADCOOKIE 23

/* An OPT header (owner, type, class, TTL, RDLENGTH): 11 bytes. */
#define EDNS_OPT_FIXED 11
/* The largest OPT a response carries: NSID and COOKIE (24 bytes). */
#define EDNS_REPLY_MAX (EDNS_OPT_FIXED + 4 + EDNS_NSID_MAX + 4 + 24)

/* The OPT of a query. */
struct edns_query {
	bool present;       /* one OPT in the additional section */
	uint8_t version;    /* > 0: answer BADVERS; options not looked at */
	bool do_bit;        /* DNSSEC OK (RFC 3225) */
	uint16_t payload;   /* requester's UDP payload size, as sent */
	bool nsid;          /* NSID option present (RFC 5001) */
	uint8_t cookie_len; /* 0: no COOKIE option; else 8 or 16..40 */
	uint8_t cookie[EDNS_COOKIE_MAX];
	/* The fixed part is sound but the options are not (RFC 6891
	 * section 7, RFC 7873 section 5.2.2): FORMERR, yet with an OPT of
	 * our own, so the requester sees we do speak EDNS. nsid and cookie
	 * are then clear: nothing of the bad options is echoed. */
	bool malformed;
};

/*
 * The OPT RR at rr[0..len), from its TYPE on (the owner was checked by
 * the caller): TYPE CLASS TTL RDLENGTH RDATA, len == 10 + RDLENGTH.
 * Fills e (present set). Returns -1 for a malformed OPT (FORMERR): an
 * RDLENGTH that does not match len (e untouched), or, with e->present
 * and e->malformed set and the fixed fields valid, an option running
 * past the RDATA or a COOKIE of a length other than 8 or 16..40.
 * Unknown options are skipped; of two COOKIE options the first counts.
 */
int edns_parse(const uint8_t *rr, size_t len, struct edns_query *e);

/*
 * The UDP size limit of the response: 512 without OPT, else the
 * requester's payload (at least 512), at most server_max (itself raised
 * to 512 if lower).
 */
size_t edns_udp_limit(const struct edns_query *e, uint16_t server_max);

/* What a response's OPT says. */
struct edns_reply {
	uint16_t payload;   /* our UDP payload size */
	uint8_t ext_rcode;  /* the upper 8 bits of a 12-bit RCODE */
	bool do_bit;        /* copied from the query */
	const uint8_t *nsid;   /* NSID option data, nsid_len bytes; 0: none */
	size_t nsid_len;
	const uint8_t *cookie; /* COOKIE option data; 0: none */
	size_t cookie_len;
};

/* Bytes edns_write() writes for r. */
size_t edns_reply_len(const struct edns_reply *r);

/* Write the OPT RR (version 0, owner root) to out[0..cap). Returns its
 * length, or 0 if it does not fit. */
size_t edns_write(const struct edns_reply *r, uint8_t *out, size_t cap);

#endif
