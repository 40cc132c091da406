/*
 * The NOTIFY messages (RFC 1996) and the matching of their answers:
 * pure, checked before every read (DESIGN §8, habit 4).
 */
#include "notify.h"

#include <string.h>

#include "dname.h"
#include "query.h"
#include "wire.h"

#define NOTIFY_HDR 12
#define NOTIFY_QR 0x8000u
#define NOTIFY_AA 0x0400u
#define NOTIFY_OPCODE_SHIFT 11
#define NOTIFY_OPCODE_MASK 0x7800u
#define NOTIFY_RCODE_MASK 0x000fu
#define NOTIFY_RR_FIXED 10 /* TYPE CLASS TTL RDLENGTH */
#define NOTIFY_SOA_FIXED 20 /* SERIAL REFRESH RETRY EXPIRE MINIMUM */

/* The end of the name at m[off..len): labels only, or (allow_ptr) ending
 * in a compression pointer that aims backwards and past the header, so
 * that a copy of m[0..off) with another header still holds what it
 * names. 0 if it runs past len or is malformed. */
static size_t notify_name_end(const uint8_t *m, size_t len, size_t off, bool allow_ptr)
{
	size_t start = off;

	while (off < len) {
		uint8_t l = m[off];

		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (!allow_ptr || len - off < 2)
				return 0;
			to = (size_t)(l & 0x3f) << 8 | m[off + 1];
			return to >= NOTIFY_HDR && to < start ? off + 2 : 0;
		}
		if (l > AHD_MAX_LABEL || (l & 0xc0) != 0)
			return 0;
		off += 1u + l;
		if (off - start > AHD_MAX_NAME_WIRE)
			return 0;
	}
	return 0;
}

size_t notify_msg_soa_query(const uint8_t *apex, size_t apex_len, uint8_t *out, size_t cap)
{
	size_t n = NOTIFY_HDR + apex_len + 4;

	if (apex_len == 0 || apex_len > AHD_MAX_NAME_WIRE || cap < n)
		return 0;
	memset(out, 0, NOTIFY_HDR);
	wire_store_u16(out + 4, 1); /* QDCOUNT */
	memcpy(out + NOTIFY_HDR, apex, apex_len);
	wire_store_u16(out + NOTIFY_HDR + apex_len, QUERY_TYPE_SOA);
	wire_store_u16(out + NOTIFY_HDR + apex_len + 2, QUERY_CLASS_IN);
	return n;
}

/* The end of the one question of m, which must be name SOA IN; 0 if not. */
static size_t notify_question_end(const uint8_t *m, size_t len)
{
	size_t q;

	if (len < NOTIFY_HDR || wire_load_u16(m + 4) != 1)
		return 0;
	q = notify_name_end(m, len, NOTIFY_HDR, false);
	if (q == 0 || len - q < 4 || wire_load_u16(m + q) != QUERY_TYPE_SOA ||
	    wire_load_u16(m + q + 2) != QUERY_CLASS_IN)
		return 0;
	return q + 4;
}

size_t notify_msg_build(const uint8_t *ans, size_t len, uint8_t *out, size_t cap,
			uint32_t *serial)
{
	size_t q = notify_question_end(ans, len), rr, rd, end;
	uint16_t flags, rdlen;
	const uint8_t *s;

	if (q == 0)
		return 0;
	flags = wire_load_u16(ans + 2);
	if (!(flags & NOTIFY_QR) || (flags & NOTIFY_RCODE_MASK) != 0 ||
	    wire_load_u16(ans + 6) < 1)
		return 0;
	rr = notify_name_end(ans, len, q, true);
	if (rr == 0 || len - rr < NOTIFY_RR_FIXED || wire_load_u16(ans + rr) != QUERY_TYPE_SOA ||
	    wire_load_u16(ans + rr + 2) != QUERY_CLASS_IN)
		return 0;
	rdlen = wire_load_u16(ans + rr + 8);
	rd = rr + NOTIFY_RR_FIXED;
	if (rdlen < NOTIFY_SOA_FIXED + 2 || len - rd < rdlen)
		return 0;
	end = rd + rdlen;
	/* MNAME, RNAME, then exactly the five numbers. */
	for (int i = 0; i < 2 && rd != 0; i++)
		rd = notify_name_end(ans, end, rd, true);
	if (rd == 0 || end - rd != NOTIFY_SOA_FIXED || end > cap)
		return 0;
	memcpy(out, ans, end);
	wire_store_u16(out, 0);
	wire_store_u16(out + 2, (uint16_t)(NOTIFY_OPCODE << NOTIFY_OPCODE_SHIFT | NOTIFY_AA));
	wire_store_u16(out + 6, 1); /* ANCOUNT: the SOA only */
	wire_store_u16(out + 8, 0);
	wire_store_u16(out + 10, 0);
	s = ans + end - NOTIFY_SOA_FIXED;
	*serial = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	return end;
}

void notify_msg_set_id(uint8_t *msg, uint16_t id)
{
	wire_store_u16(msg, id);
}

enum notify_ack notify_msg_ack(const uint8_t *resp, size_t len, const uint8_t *req,
			       size_t req_len, int *rcode)
{
	size_t q = notify_question_end(resp, len);
	size_t rq = notify_question_end(req, req_len);
	uint16_t flags;

	*rcode = 0;
	if (q == 0 || rq == 0 || q != rq || wire_load_u16(resp) != wire_load_u16(req))
		return NOTIFY_ACK_NONE;
	flags = wire_load_u16(resp + 2);
	if (!(flags & NOTIFY_QR) ||
	    (flags & NOTIFY_OPCODE_MASK) >> NOTIFY_OPCODE_SHIFT != NOTIFY_OPCODE)
		return NOTIFY_ACK_NONE;
	for (size_t i = NOTIFY_HDR; i < q; i++) {
		if (dname_lower_byte(resp[i]) != dname_lower_byte(req[i]))
			return NOTIFY_ACK_NONE;
	}
	*rcode = flags & NOTIFY_RCODE_MASK;
	return *rcode == 0 ? NOTIFY_ACK_OK : NOTIFY_ACK_ERROR;
}
