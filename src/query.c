#include "query.h"

#include <string.h>

#include "wire.h"

/*
 * Skip a name at pkt[*pos..len) outside the parsed question. *root: the
 * name is the root itself (one 0 byte, no pointer). A pointer is not
 * followed, only checked: RFC 1035 section 4.1.4 lets it point to a
 * prior occurrence of a name, so its target must lie after the header
 * and before the name it ends. That also rules out loops and forward
 * references for any reader that does follow it, at one compare.
 */
static int query_skip_name(const uint8_t *pkt, size_t len, size_t *pos, bool *root)
{
	size_t p = *pos;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = pkt[p];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (len - p < 2)
				return -1;
			target = (size_t)(l & 0x3f) << 8 | pkt[p + 1];
			if (target < QUERY_HEADER_LEN || target >= *pos)
				return -1;
			p += 2;
			break;
		}
		if (l & 0xc0)
			return -1; /* label types 01 and 10 */
		p += 1u + l;
		if (l == 0)
			break;
		if (p - *pos > AHD_MAX_NAME_WIRE)
			return -1;
	}
	*root = p - *pos == 1 && pkt[*pos] == 0;
	*pos = p;
	return 0;
}

/*
 * The answer, authority and additional sections from pkt[pos..len),
 * after n_questions entries of the question section that are skipped
 * (only for opcodes whose first section is not parsed as a question).
 * An OPT whose options are malformed does not stop the walk: the rest
 * must still parse for its FORMERR to carry an OPT. *end: where the last
 * counted RR ends.
 */
static int query_sections(const uint8_t *pkt, size_t len, size_t pos,
			  unsigned n_questions, struct query *q, size_t *end)
{
	const unsigned counts[3] = { wire_load_u16(pkt + 6), wire_load_u16(pkt + 8),
				     wire_load_u16(pkt + 10) };

	for (unsigned i = 0; i < n_questions; i++) {
		bool root;

		if (query_skip_name(pkt, len, &pos, &root) < 0 || len - pos < 4)
			return -1;
		pos += 4;
	}
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			size_t rdlen;
			uint16_t type;
			bool root;

			if (query_skip_name(pkt, len, &pos, &root) < 0 || len - pos < 10)
				return -1;
			type = wire_load_u16(pkt + pos);
			rdlen = wire_load_u16(pkt + pos + 8);
			if (len - pos - 10 < rdlen)
				return -1;
			if (type == QUERY_TYPE_OPT) {
				/* RFC 6891 section 6.1.1: one OPT, in the additional
				 * section, owned by the root. */
				if (s != 2 || q->edns.present || !root)
					return -1;
				if (edns_parse(pkt + pos, 10 + rdlen, &q->edns) < 0 &&
				    !q->edns.malformed)
					return -1;
			}
			/* RFC 8945 section 5.1: a TSIG anywhere but last is
			 * FORMERR. */
			q->tsig = type == QUERY_TYPE_TSIG;
			if (q->tsig && (s != 2 || i + 1 != counts[2]))
				return -1;
			pos += 10 + rdlen;
		}
	}
	*end = pos;
	return 0;
}

enum query_status query_parse(const uint8_t *pkt, size_t len, struct query *q)
{
	size_t end;
	int n;

	if (len < QUERY_HEADER_LEN || (pkt[2] & 0x80))
		return QUERY_DROP;
	q->id = wire_load_u16(pkt);
	q->opcode = (pkt[2] >> 3) & 0x0f;
	q->rd = pkt[2] & 0x01;
	q->qdcount = wire_load_u16(pkt + 4);
	memset(&q->edns, 0, sizeof(q->edns));
	q->tsig = false;
	if (q->opcode != 0) {
		/* RFC 6891 section 6.1.1: the NOTIMP carries an OPT if the
		 * request had one; found only if the whole message parses
		 * (UPDATE's zone section is laid out like a question). */
		if (query_sections(pkt, len, QUERY_HEADER_LEN, q->qdcount, q, &end) < 0)
			memset(&q->edns, 0, sizeof(q->edns));
		return QUERY_NOTIMP;
	}
	if (q->qdcount == 0) {
		if (query_sections(pkt, len, QUERY_HEADER_LEN, 0, q, &end) < 0) {
			memset(&q->edns, 0, sizeof(q->edns));
			return QUERY_FORMERR;
		}
		if (end != len)
			return QUERY_FORMERR;
		/* RFC 7873 section 5.4: without a COOKIE there is nothing to
		 * answer; a version the server lacks is BADVERS (edns). */
		if (!q->edns.present || q->edns.malformed || q->edns.version != 0 ||
		    q->edns.cookie_len == 0)
			return QUERY_FORMERR;
		return QUERY_NO_QUESTION;
	}
	if (q->qdcount != 1)
		return QUERY_FORMERR;
	n = dname_parse(pkt, len, QUERY_HEADER_LEN, q->qname, q->label_off,
			&q->n_labels);
	if (n < 0)
		return QUERY_FORMERR;
	q->qname_len = (size_t)n;
	if (len - QUERY_HEADER_LEN - q->qname_len < 4)
		return QUERY_FORMERR;
	q->qtype = wire_load_u16(pkt + QUERY_HEADER_LEN + q->qname_len);
	q->qclass = wire_load_u16(pkt + QUERY_HEADER_LEN + q->qname_len + 2);
	q->question_len = q->qname_len + 4;
	if (query_sections(pkt, len, QUERY_HEADER_LEN + q->question_len, 0, q,
			   &end) < 0) {
		/* Not trusted: the FORMERR carries no OPT. */
		memset(&q->edns, 0, sizeof(q->edns));
		return QUERY_FORMERR;
	}
	/* Bytes after the last counted RR: the counts and the message
	 * disagree, so it is not what the client meant to send (the original,
	 * BIND and Knot answer FORMERR too). The records did parse, so the OPT
	 * found is echoed like for any other FORMERR (RFC 6891 section 7). */
	if (end != len || q->edns.malformed)
		return QUERY_FORMERR;
	return QUERY_OK;
}
