/*
 * Answers with the DO bit (RFC 3225) from a signed zone image (RFC 4035
 * section 3.1): part of the query core (answer.h), pure like it. answer.c
 * finds the zone and handles REFUSED / NOTIMP; for a query with DO=1 at
 * a zone with ZIMG_ZONE_SIGNED it hands the rest to
 * answer_dnssec_from_slot(). Everything else keeps answer.c's bytes.
 *
 * What the answers carry (zimg_format.h describes the image):
 *   - every answer and authority RRset with its RRSIGs, written together
 *     (an RRset and its signatures are never split);
 *   - NXDOMAIN: SOA + RRSIG, the NSEC covering the name and the NSEC
 *     covering "*.<closest encloser>" (once if it is the same), each with
 *     its RRSIG (RFC 4035 section 3.1.3.2);
 *   - NODATA: SOA + RRSIG and the name's own NSEC, or for an empty
 *     non-terminal the NSEC whose next name lies below it (3.1.3.1);
 *   - DNSKEY, NSEC: answered from the image like any RRset; DS at the
 *     apex is NODATA (we serve the child side only);
 *   - qtype RRSIG (46): every RRSIG at the name in the answer section
 *     (as BIND and Knot do; RFC 4035 does not say), NODATA when the name
 *     has none (an empty non-terminal);
 *   - ANY: RFC 8482 section 4.1, one existing RRset with its RRSIGs: the
 *     SOA at the apex, else the name's first address RRset;
 *   - CD copied from the query (RFC 4035 section 3.1.6), AD never set.
 * Truncation (UDP): if an RRset with its signatures or any NSEC proof
 * does not fit, the response is the header and question only, TC set,
 * and the client retries over TCP (RFC 4035 section 3.1.1).
 */
#ifndef AHD_ANSWER_DNSSEC_H
#define AHD_ANSWER_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "query.h"
#include "zimg_format.h"

/* Whether the query at zone gets a DNSSEC answer. */
static inline bool answer_dnssec_wanted(const volatile struct zimg_zone *zone,
					const struct query *q)
{
	return q->edns.present && q->edns.do_bit && (zone->flags & ZIMG_ZONE_SIGNED);
}

/*
 * The response to q (a QUERY_OK, class IN, not a zone transfer) from
 * zone, which lies in the slot base[0..size): label_idx is the label of
 * the question name where the zone's apex starts (answer.c's
 * answer_find_zone). Writes header, question and sections to
 * out[0..limit) (limit: what the OPT leaves) and returns the length,
 * *kind set; 0 if the slot does not check out (the caller retries or
 * answers SERVFAIL). Every offset read from the slot is bounds-checked.
 */
size_t answer_dnssec_from_slot(const uint8_t *base, size_t size,
			       const volatile struct zimg_zone *zone, const struct query *q,
			       const uint8_t *pkt, unsigned label_idx, uint8_t *out,
			       size_t limit, enum answer_kind *kind);

#endif
