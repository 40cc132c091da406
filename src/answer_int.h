/*
 * Private to the query core (answer.c, answer_dnssec.c): what both read
 * the image with and write responses with. Pure like answer.h (DESIGN
 * §8): it pulls in neither config.h nor log.h, only the image's layout
 * (zimg_format.h) and the wire helpers.
 */
#ifndef AHD_ANSWER_INT_H
#define AHD_ANSWER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ahd.h"
#include "answer.h"
#include "dname.h"
#include "query.h"
#include "wire.h"
#include "zimg_format.h"

#define ANSWER_RCODE_NOERROR 0
#define ANSWER_RCODE_FORMERR 1
#define ANSWER_RCODE_SERVFAIL 2
#define ANSWER_RCODE_NXDOMAIN 3
#define ANSWER_RCODE_NOTIMP 4
#define ANSWER_RCODE_REFUSED 5

#define ANSWER_FLAG_AA 0x04 /* byte 2 */
#define ANSWER_FLAG_TC 0x02 /* byte 2 */
#define ANSWER_FLAG_CD 0x10 /* byte 3 */

/* Bounds of one read of the slot (a struct zimg_view's bytes). */
struct answer_slot {
	const uint8_t *base;
	size_t size;
};

/* true if [off, off + len) lies in the slot and off is aligned to align. */
static inline bool answer_in(const struct answer_slot *sl, uint64_t off, uint64_t len,
			     size_t align)
{
	return off <= sl->size && len <= sl->size - off && (off % align) == 0;
}

static inline void answer_header(uint8_t *out, const uint8_t *pkt, const struct query *q,
				 uint8_t flags, uint8_t rcode, uint16_t qdcount)
{
	wire_store_u16(out, q->id);
	out[2] = (uint8_t)(0x80 | (q->opcode << 3) | flags | (q->rd ? 0x01 : 0));
	/* RA, Z, AD clear; CD copied into every response, DO or not (RFC
	 * 4035 section 3.1.6). */
	out[3] = (uint8_t)(rcode | (pkt[3] & ANSWER_FLAG_CD));
	wire_store_u16(out + 4, qdcount);
	memset(out + 6, 0, 6);
}

/* The compression pointer to the apex suffix of the question name, whose
 * apex starts at label label_idx: owner of the SOA in negative answers
 * and target of the names in NS and SOA RDATA. */
static inline uint16_t answer_apex_ptr(const struct query *q, unsigned label_idx)
{
	return (uint16_t)(0xc000 | (QUERY_HEADER_LEN + (label_idx < q->n_labels
								? q->label_off[label_idx]
								: q->qname_len - 1)));
}

/*
 * Binary search of key in the zone's names[0..n) (already checked to lie
 * in the slot): true with *idx its index, or false with *idx the
 * insertion point. *bad set (and false) if a key read on the way does not
 * lie in the slot.
 */
static inline bool answer_search(const struct answer_slot *sl,
				 const volatile struct zimg_name *names, uint32_t n,
				 const uint8_t *key, size_t key_len, uint32_t *idx, bool *bad)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t koff = names[mid].key_off;
		uint16_t klen = names[mid].key_len;
		int c;

		if (!answer_in(sl, koff, klen, 1) || klen >= AHD_MAX_NAME_WIRE) {
			*bad = true;
			return false;
		}
		c = dname_key_cmp(key, key_len, sl->base + koff, klen);
		if (c == 0) {
			*idx = mid;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*idx = lo;
	return false;
}

/*
 * DNSSEC answers (answer_dnssec.c): answers with the DO bit (RFC 3225)
 * from a signed zone image (RFC 4035 section 3.1). answer.c finds the
 * zone and handles REFUSED / NOTIMP; for a query with DO=1 at a zone
 * with ZIMG_ZONE_SIGNED it hands the rest to answer_dnssec_from_slot().
 * Everything else keeps answer.c's bytes.
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
/* Whether the query at zone gets a DNSSEC answer. */
static inline bool answer_dnssec_wanted(const volatile struct zimg_zone *zone,
					const struct query *q)
{
	return q->edns.present && q->edns.do_bit && (zone->flags & ZIMG_ZONE_SIGNED);
}

/*
 * The response to q (a QUERY_OK, class IN, not a zone transfer) from
 * zone, which lies in the slot sl: label_idx is the label of the
 * question name where the zone's apex starts (answer.c's
 * answer_find_zone). Writes header, question and sections to
 * out[0..limit) (limit: what the OPT leaves) and returns the length,
 * *kind set; 0 if the slot does not check out (the caller retries or
 * answers SERVFAIL). Every offset read from the slot is bounds-checked.
 */
size_t answer_dnssec_from_slot(const struct answer_slot *sl,
			       const volatile struct zimg_zone *zone, const struct query *q,
			       const uint8_t *pkt, unsigned label_idx, uint8_t *out,
			       size_t limit, enum answer_kind *kind);

#endif
