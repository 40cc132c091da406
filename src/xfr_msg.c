/*
 * The messages of a zone transfer (DESIGN §9.3): AXFR's SOA, every RR,
 * SOA; IXFR's SOA, the condensed difference, SOA. One message per call,
 * each under XFR_MSG_TARGET bytes, every one carrying the question (so
 * the owners compress against the apex in it) and, with a key, a TSIG
 * RR chained to the previous one (RFC 8945 section 5.3.1).
 */
#include "xfr_int.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Header and question of every message: the query's, echoed. */
static size_t xfr_msg_begin(const struct xfr *s, uint8_t *out, size_t cap)
{
	if (cap < 12 + s->question_len)
		return 0;
	wire_store_u16(out, s->id);
	out[2] = 0x84 | s->rd; /* QR, opcode QUERY, AA */
	out[3] = 0;
	wire_store_u16(out + 4, 1);
	memset(out + 6, 0, 6);
	memcpy(out + 12, s->question, s->question_len);
	return 12 + s->question_len;
}

/*
 * Append one RR (owner + body) at out[*n]: the owner as its labels below
 * the apex and a pointer to the apex in the question (offset 12), or a
 * pointer to the previous RR's owner when it is the same name. false if
 * it does not fit in lim.
 */
static bool xfr_put_rr(struct xfr *s, uint8_t *out, size_t *n, size_t lim,
		       const uint8_t *owner, size_t owner_len, const uint8_t *body,
		       size_t body_len)
{
	size_t at = *n, prefix = owner_len - s->apex_len;

	if (owner_len == s->last_owner_len && s->last_owner_at != 0 &&
	    memcmp(owner, s->last_owner, owner_len) == 0) {
		if (lim - at < 2 + body_len)
			return false;
		wire_store_u16(out + at, (uint16_t)(0xc000u | s->last_owner_at));
		at += 2;
	} else {
		if (lim - at < prefix + 2 + body_len)
			return false;
		memcpy(out + at, owner, prefix);
		wire_store_u16(out + at + prefix, 0xc000u | 12u);
		if (at <= 0x3fff) {
			memcpy(s->last_owner, owner, owner_len);
			s->last_owner_len = owner_len;
			s->last_owner_at = (uint16_t)at;
		}
		at += prefix + 2;
	}
	memcpy(out + at, body, body_len);
	*n = at + body_len;
	return true;
}

/* The next RR of the transfer, without consuming it: 1, 0 at the end,
 * -1 if the image copy or the difference does not check out. */
static int xfr_peek(struct xfr *s, const uint8_t **owner, size_t *owner_len,
		    const uint8_t **body, size_t *body_len)
{
	if (s->phase == XFR_HEAD || s->phase == XFR_TAIL) {
		*owner = s->apex;
		*owner_len = s->apex_len;
		*body = s->soa;
		*body_len = s->soa_len;
		return 1;
	}
	if (s->phase == XFR_DONE)
		return 0;
	if (s->diff != NULL) {
		size_t at = s->diff_at, ol, bl;

		if (at == s->diff_len)
			return 0;
		if (s->diff_len - at < 2 || (ol = wire_load_u16(s->diff + at)) == 0 ||
		    s->diff_len - at - 2 < ol + 2)
			return -1;
		bl = wire_load_u16(s->diff + at + 2 + ol);
		if (s->diff_len - at - 4 - ol < bl || ol < s->apex_len || bl < 10)
			return -1;
		*owner = s->diff + at + 2;
		*owner_len = ol;
		*body = s->diff + at + 4 + ol;
		*body_len = bl;
		return 1;
	}
	while (!s->have_rr) {
		int r = zimg_iter_next(&s->it, &s->rr);

		if (r <= 0)
			return r;
		/* The apex SOA goes first and last, not in between. */
		s->have_rr = !(s->rr.type == XFR_TYPE_SOA && !s->rr.sig &&
			       s->rr.owner_len == s->apex_len);
	}
	*owner = s->rr.owner;
	*owner_len = s->rr.owner_len;
	*body = s->rr.body;
	*body_len = s->rr.body_len;
	return 1;
}

static void xfr_consume(struct xfr *s)
{
	if (s->phase == XFR_HEAD) {
		s->phase = XFR_BODY;
	} else if (s->phase == XFR_TAIL) {
		s->phase = XFR_DONE;
	} else if (s->diff != NULL) {
		size_t ol = wire_load_u16(s->diff + s->diff_at);

		s->diff_at += 4 + ol + wire_load_u16(s->diff + s->diff_at + 2 + ol);
	} else {
		s->have_rr = false;
	}
}

/* Sign the message out[0..*n) when the transfer has a key. */
static bool xfr_msg_sign(struct xfr *s, uint8_t *out, size_t *n, size_t cap)
{
	if (s->tsig.key == NULL)
		return true;
	return tsig_sign(&s->tsig, out, n, cap, s->now);
}

size_t xfr_more(struct xfr *s, uint8_t *out, size_t cap, bool *done)
{
	size_t n, lim, count = 0;
	size_t room = s->tsig.key != NULL ? tsig_space(s->tsig.key) : 0;

	*done = false;
	if (cap > XFR_MSG_TARGET)
		cap = XFR_MSG_TARGET;
	if (cap < room + 512)
		return 0;
	lim = cap - room;
	n = xfr_msg_begin(s, out, lim);
	s->last_owner_at = 0;
	for (;;) {
		const uint8_t *owner, *body;
		size_t owner_len, body_len;
		int r = xfr_peek(s, &owner, &owner_len, &body, &body_len);

		if (r < 0)
			return 0;
		if (r == 0) {
			if (s->phase == XFR_BODY) {
				s->phase = XFR_TAIL;
				continue;
			}
			break;
		}
		if (!xfr_put_rr(s, out, &n, lim, owner, owner_len, body, body_len)) {
			if (count == 0)
				return 0; /* an RR that fits no message: corrupt */
			break;
		}
		count++;
		xfr_consume(s);
		if (s->single)
			s->phase = XFR_DONE;
	}
	wire_store_u16(out + 6, (uint16_t)count);
	if (!xfr_msg_sign(s, out, &n, cap))
		return 0;
	*done = s->phase == XFR_DONE;
	return n;
}
