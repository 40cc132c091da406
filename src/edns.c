/*
 * EDNS(0) OPT parsing and writing (edns.h). Only bytes the caller handed
 * over are read; every length is checked before it is used.
 */
#include "edns.h"

#include <string.h>

#include "wire.h"

int edns_parse(const uint8_t *rr, size_t len, struct edns_query *e)
{
	size_t rdlen, pos;

	if (len < 10)
		return -1;
	rdlen = wire_load_u16(rr + 8);
	if (len != 10 + rdlen)
		return -1;
	memset(e, 0, sizeof(*e));
	e->present = true;
	e->payload = wire_load_u16(rr + 2);
	/* TTL: extended RCODE (ignored in a query), VERSION, DO, Z. */
	e->version = rr[5];
	e->do_bit = (rr[6] & 0x80) != 0;
	pos = 10;
	while (pos < len) {
		uint16_t code, olen;

		if (len - pos < 4)
			goto malformed;
		code = wire_load_u16(rr + pos);
		olen = wire_load_u16(rr + pos + 2);
		pos += 4;
		if (len - pos < olen)
			goto malformed;
		/* A later version may lay its options out differently. */
		if (e->version != 0) {
			pos += olen;
			continue;
		}
		switch (code) {
		case EDNS_OPT_NSID:
			/* RFC 5001 section 2.3: a query's NSID is empty; a
			 * non-empty one is still a request, not an error. */
			e->nsid = true;
			break;
		case EDNS_OPT_COOKIE:
			/* RFC 7873 section 5.2.2: malformed means FORMERR. */
			if (olen != EDNS_COOKIE_CLIENT_LEN &&
			    (olen < EDNS_COOKIE_MIN || olen > EDNS_COOKIE_MAX))
				goto malformed;
			if (e->cookie_len == 0) {
				memcpy(e->cookie, rr + pos, olen);
				e->cookie_len = (uint8_t)olen;
			}
			break;
		default:
			break; /* RFC 6891 section 6.1.2: ignore unknown options */
		}
		pos += olen;
	}
	return 0;
malformed:
	/* Options seen before the bad one are dropped with it. */
	e->nsid = false;
	e->cookie_len = 0;
	e->malformed = true;
	return -1;
}

size_t edns_udp_limit(const struct edns_query *e, uint16_t server_max)
{
	size_t want, max = server_max < EDNS_PAYLOAD_MIN ? EDNS_PAYLOAD_MIN : server_max;

	if (!e->present)
		return EDNS_PAYLOAD_MIN;
	want = e->payload < EDNS_PAYLOAD_MIN ? EDNS_PAYLOAD_MIN : e->payload;
	return want < max ? want : max;
}

size_t edns_reply_len(const struct edns_reply *r)
{
	size_t n = EDNS_OPT_FIXED;

	if (r->nsid_len)
		n += 4 + r->nsid_len;
	if (r->cookie_len)
		n += 4 + r->cookie_len;
	return n;
}

static void edns_put_option(uint8_t *out, size_t *pos, uint16_t code,
			    const uint8_t *data, size_t len)
{
	wire_store_u16(out + *pos, code);
	wire_store_u16(out + *pos + 2, (uint16_t)len);
	memcpy(out + *pos + 4, data, len);
	*pos += 4 + len;
}

size_t edns_write(const struct edns_reply *r, uint8_t *out, size_t cap)
{
	size_t n = edns_reply_len(r), pos = EDNS_OPT_FIXED;

	if (n > cap || r->nsid_len > EDNS_NSID_MAX || r->cookie_len > EDNS_COOKIE_MAX)
		return 0;
	out[0] = 0; /* owner: the root */
	wire_store_u16(out + 1, 41);
	wire_store_u16(out + 3, r->payload);
	out[5] = r->ext_rcode;
	out[6] = 0; /* version 0 */
	out[7] = r->do_bit ? 0x80 : 0;
	out[8] = 0;
	wire_store_u16(out + 9, (uint16_t)(n - EDNS_OPT_FIXED));
	if (r->nsid_len)
		edns_put_option(out, &pos, EDNS_OPT_NSID, r->nsid, r->nsid_len);
	if (r->cookie_len)
		edns_put_option(out, &pos, EDNS_OPT_COOKIE, r->cookie, r->cookie_len);
	return n;
}
