#include "query.h"

#include "wire.h"

enum query_status query_parse(const uint8_t *pkt, size_t len, struct query *q)
{
	int n;

	if (len < QUERY_HEADER_LEN || (pkt[2] & 0x80))
		return QUERY_DROP;
	q->id = wire_load_u16(pkt);
	q->opcode = (pkt[2] >> 3) & 0x0f;
	q->rd = pkt[2] & 0x01;
	q->qdcount = wire_load_u16(pkt + 4);
	if (q->opcode != 0)
		return QUERY_NOTIMP;
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
	return QUERY_OK;
}
