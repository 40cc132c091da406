/*
 * Transfer requests (DESIGN §9.3): who may transfer, which zone, AXFR
 * or IXFR, and the first message. The messages themselves are
 * xfr_msg.c's.
 */
#include "xfr_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "query.h"
#include "wire.h"
#include "xfr_hist.h"
#include "zimg.h"
#include "zimg_format.h"

#define XFR_RCODE_FORMERR 1
#define XFR_RCODE_SERVFAIL 2
#define XFR_RCODE_NOTIMP 4
#define XFR_RCODE_REFUSED 5
#define XFR_RCODE_NOTAUTH 9
/* Refusals are logged at most once a second per worker: a client that
 * retries in a loop must not flood the log. */
#define XFR_LOG_GAP_MS 1000

bool xfr_is_request(const uint8_t *pkt, size_t len)
{
	size_t at = 12;
	uint16_t qtype;

	if (len < 17 || (pkt[2] & 0xf8) != 0 || wire_load_u16(pkt + 4) != 1)
		return false;
	while (at < len && pkt[at] != 0) {
		if (pkt[at] > 63)
			return false;
		at += 1u + pkt[at];
	}
	if (len - at < 5 || at >= len)
		return false;
	qtype = wire_load_u16(pkt + at + 1);
	return qtype == XFR_TYPE_AXFR || qtype == XFR_TYPE_IXFR;
}

bool xfr_acl_match(const struct config_prefix *acl, size_t n, int family,
		   const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bits = acl[i].len, whole = bits / 8, rest = bits % 8;

		if (acl[i].family != family || memcmp(acl[i].addr, addr, whole) != 0)
			continue;
		if (rest == 0 || ((acl[i].addr[whole] ^ addr[whole]) & (0xffu << (8 - rest)) & 0xff) == 0)
			return true;
	}
	return false;
}

/* The --transfer-allow list the current image carries (it follows
 * reloads, DESIGN §9.3) into acl; its length, or 0 (nobody). */
static size_t xfr_image_acl(const struct zimg *z, struct config_prefix *acl)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		struct zimg_view v;
		struct zimg_slot hdr;
		size_t n = 0;

		zimg_read_begin(z, &v);
		if (v.slot != NULL && v.size >= sizeof(hdr)) {
			memcpy(&hdr, v.slot, sizeof(hdr));
			if (hdr.acl_off != 0 && hdr.acl_off <= v.size - 4) {
				n = wire_load_u32(v.slot + hdr.acl_off);
				if (n > CONFIG_XFR_ACL_MAX ||
				    n * sizeof(struct zimg_acl) > v.size - 4 - hdr.acl_off)
					n = 0;
			}
			for (size_t i = 0; i < n; i++) {
				struct zimg_acl a;

				memcpy(&a, v.slot + hdr.acl_off + 4 + i * sizeof(a), sizeof(a));
				acl[i].family = a.family == 6 ? AF_INET6 : AF_INET;
				acl[i].len = a.len;
				memcpy(acl[i].addr, a.addr, sizeof(a.addr));
			}
		}
		if (!zimg_read_retry(z, &v))
			return n;
	}
	return 0;
}

static bool xfr_peer(const struct sockaddr *peer, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (peer != NULL && peer->sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
		return true;
	}
	if (peer != NULL && peer->sa_family == AF_INET6) {
		const uint8_t *a6 = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		/* A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d. */
		if (memcmp(a6, v4mapped, 12) == 0) {
			*family = AF_INET;
			memcpy(addr, a6 + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, a6, 16);
		}
		return true;
	}
	return false;
}

static const char *const xfr_refusal_text[XFR_REFUSAL_COUNT] = {
	[XFR_REFUSED_ACL] = "not in --transfer-allow",
	[XFR_REFUSED_UNSIGNED] = "not signed with the TSIG key",
	[XFR_REFUSED_BADKEY] = "TSIG key unknown (BADKEY)",
	[XFR_REFUSED_BADSIG] = "TSIG signature wrong (BADSIG)",
	[XFR_REFUSED_BADTIME] = "TSIG time outside the fudge (BADTIME)",
};

/* One warning line for a refused transfer: each reason at most once a
 * second, so a client retrying in a loop cannot flood the log while a
 * different mistake still shows at once. */
static void xfr_log_refusal(struct xfr_ctx *x, int64_t now_ms, const struct query *q,
			    int family, const uint8_t *addr, enum xfr_refusal r)
{
	char who[INET6_ADDRSTRLEN] = "?", zone[1024];
	const char *why = xfr_refusal_text[r];

	if (x->logged_ms[r] != 0 && now_ms - x->logged_ms[r] < XFR_LOG_GAP_MS) {
		x->unlogged[r]++;
		return;
	}
	inet_ntop(family, addr, who, sizeof(who));
	if (dname_to_text(q->qname, q->qname_len, zone, sizeof(zone)) < 0)
		strlcpy(zone, "?", sizeof(zone));
	if (x->unlogged[r] > 0)
		log_warning("%s of %s from %s refused: %s (and %llu more like it not logged)",
			    q->qtype == XFR_TYPE_AXFR ? "AXFR" : "IXFR", zone, who, why,
			    (unsigned long long)x->unlogged[r]);
	else
		log_warning("%s of %s from %s refused: %s",
			    q->qtype == XFR_TYPE_AXFR ? "AXFR" : "IXFR", zone, who, why);
	/* 0 means "never": a clock at 0 (tests) still counts as logged. */
	x->logged_ms[r] = now_ms != 0 ? now_ms : 1;
	x->unlogged[r] = 0;
}

/* A response without records: header and question, rcode. */
static size_t xfr_error(const uint8_t *pkt, const struct query *q, uint8_t rcode,
			uint8_t *out, size_t cap)
{
	size_t n = 12 + q->question_len;

	if (cap < n)
		return 0;
	wire_store_u16(out, q->id);
	out[2] = 0x80 | (pkt[2] & 0x01);
	out[3] = rcode;
	wire_store_u16(out + 4, 1);
	memset(out + 6, 0, 6);
	memcpy(out + 12, pkt + 12, q->question_len);
	return n;
}


/* The serial of the SOA an IXFR request carries in its authority
 * section (RFC 1995 section 3); false if there is none. */
static bool xfr_ixfr_serial(const uint8_t *pkt, size_t len, const struct query *q,
			    uint32_t *serial)
{
	size_t at = 12 + q->question_len;

	if (wire_load_u16(pkt + 6) != 0 || wire_load_u16(pkt + 8) == 0)
		return false;
	/* The zone (often a pointer), then the SOA's MNAME and RNAME. */
	if (!dname_skip(pkt, len, &at) || len - at < 10 ||
	    wire_load_u16(pkt + at) != XFR_TYPE_SOA)
		return false;
	at += 10;
	if (!dname_skip(pkt, len, &at) || !dname_skip(pkt, len, &at) || len - at < 4)
		return false;
	*serial = wire_load_u32(pkt + at);
	return true;
}

/* NOTAUTH with the TSIG error (RFC 8945 section 5.2): BADSIG and BADKEY
 * unsigned, BADTIME signed. */
static size_t xfr_notauth(struct xfr_ctx *x, const uint8_t *pkt, const struct query *q,
			  const struct tsig_rr *rr, int err, uint8_t *out, size_t cap,
			  uint64_t now)
{
	size_t n = xfr_error(pkt, q, XFR_RCODE_NOTAUTH, out, cap);

	x->n.badtsig++;
	if (n > 0 && !tsig_sign_error(x->key, rr, err, out, &n, cap, now))
		n = xfr_error(pkt, q, XFR_RCODE_NOTAUTH, out, cap);
	return n;
}

/*
 * Access: the client's address and, with a key, the request's TSIG.
 * 0 to go on (*rr set when signed), or the length of the refusal written.
 */
static size_t xfr_access(struct xfr_ctx *x, const struct sockaddr *peer, const uint8_t *pkt,
			 size_t len, const struct query *q, uint8_t *out, size_t cap,
			 struct tsig_rr *rr, bool *is_signed, uint64_t now, int64_t now_ms)
{
	struct config_prefix acl[CONFIG_XFR_ACL_MAX];
	size_t n_acl = xfr_image_acl(x->z, acl);
	int family = 0, err;
	uint8_t addr[16];
	enum tsig_find f;

	if (!xfr_peer(peer, &family, addr) || !xfr_acl_match(acl, n_acl, family, addr)) {
		x->n.refused++;
		xfr_log_refusal(x, now_ms, q, family, addr, XFR_REFUSED_ACL);
		return xfr_error(pkt, q, XFR_RCODE_REFUSED, out, cap);
	}
	f = tsig_find(pkt, len, rr);
	*is_signed = f == TSIG_FOUND;
	if (f == TSIG_MALFORMED)
		return xfr_error(pkt, q, XFR_RCODE_FORMERR, out, cap);
	if (x->key->alg != TSIG_ALG_NONE && f == TSIG_NONE) {
		x->n.refused++;
		xfr_log_refusal(x, now_ms, q, family, addr, XFR_REFUSED_UNSIGNED);
		return xfr_error(pkt, q, XFR_RCODE_REFUSED, out, cap);
	}
	if (f != TSIG_FOUND)
		return 0;
	err = x->key->alg != TSIG_ALG_NONE ? tsig_verify(x->key, pkt, len, rr, now)
					   : TSIG_BADKEY;
	if (err == 0)
		return 0;
	xfr_log_refusal(x, now_ms, q, family, addr,
			err == TSIG_BADKEY    ? XFR_REFUSED_BADKEY
			: err == TSIG_BADTIME ? XFR_REFUSED_BADTIME
					      : XFR_REFUSED_BADSIG);
	return xfr_notauth(x, pkt, q, rr, err, out, cap, now);
}

/* The zone asked for, in the image copy: its index, or -1 after writing
 * the refusal (NOTAUTH below an apex we serve, REFUSED elsewhere). */
static int xfr_zone(const uint8_t *copy, size_t copy_len, const uint8_t *pkt,
		    const struct query *q, uint8_t *out, size_t cap, size_t *n)
{
	int zone = zimg_slot_find_zone(copy, copy_len, q->qname, q->qname_len);

	if (zone >= 0 && q->qclass == QUERY_CLASS_IN)
		return zone;
	for (unsigned l = 1; zone < 0 && l < q->n_labels; l++)
		zone = zimg_slot_find_zone(copy, copy_len, q->qname + q->label_off[l],
					   q->qname_len - q->label_off[l]);
	*n = xfr_error(pkt, q, zone >= 0 && q->qclass == QUERY_CLASS_IN ? XFR_RCODE_NOTAUTH
									 : XFR_RCODE_REFUSED,
		       out, cap);
	return -1;
}

/* The transfer of zone from the copy s->copy: AXFR, or for IXFR from
 * client serial `from` the single SOA or the difference when the
 * history has it. false on a copy that does not check out. */
static bool xfr_plan(struct xfr_ctx *x, struct xfr *s, unsigned zone, bool ixfr, uint32_t from)
{
	struct zimg_rr soa;

	if (zimg_iter_init(&s->it, s->copy, s->copy_len, zone) < 0 ||
	    zimg_iter_soa(&s->it, &soa) < 0 || soa.body_len > sizeof(s->soa) ||
	    soa.owner_len > sizeof(s->apex))
		return false;
	memcpy(s->soa, soa.body, soa.body_len);
	s->soa_len = soa.body_len;
	memcpy(s->apex, soa.owner, soa.owner_len);
	s->apex_len = soa.owner_len;
	s->serial = zimg_slot_serial(s->copy, s->copy_len);
	if (zimg_iter_init(&s->it, s->copy, s->copy_len, zone) < 0)
		return false;
	if (!ixfr)
		return true;
	/* RFC 1995 section 2: a client as new as us gets our SOA alone. */
	if ((int32_t)(from - s->serial) >= 0) {
		s->single = true;
		return true;
	}
	s->diff = xfr_hist_diff(x->z, zone, from, s->serial, &s->diff_len, &(size_t){0});
	if (s->diff != NULL) {
		/* The SOAs of the difference are in it: ours brackets it. */
		free(s->copy);
		s->copy = NULL;
	}
	return true;
}

size_t xfr_sign_answer(struct xfr_ctx *x, const uint8_t *pkt, size_t len, uint8_t *out,
		       size_t n, size_t cap, uint64_t now)
{
	struct tsig_rr rr;
	struct tsig_ctx c;
	struct query q;
	int err;

	if (query_parse(pkt, len, &q) != QUERY_OK)
		return n;
	switch (tsig_find(pkt, len, &rr)) {
	case TSIG_FOUND:
		break;
	case TSIG_MALFORMED: /* RFC 8945 section 5.1 */
		return xfr_error(pkt, &q, XFR_RCODE_FORMERR, out, cap);
	default:
		return n;
	}
	err = x->key->alg != TSIG_ALG_NONE ? tsig_verify(x->key, pkt, len, &rr, now)
					   : TSIG_BADKEY;
	if (err != 0)
		return xfr_notauth(x, pkt, &q, &rr, err, out, cap, now);
	tsig_ctx_init(&c, x->key, &rr);
	(void)tsig_sign(&c, out, &n, cap, now); /* room was left for it */
	return n;
}

void xfr_free(struct xfr_ctx *x, struct xfr *s)
{
	if (s == NULL)
		return;
	if (x != NULL && x->streams > 0)
		x->streams--;
	free(s->copy);
	free(s->diff);
	free(s);
}

/* A new transfer of the image for the query q, or NULL with the error
 * answer in out[0..*n). */
static struct xfr *xfr_start(struct xfr_ctx *x, const uint8_t *pkt, size_t len,
			     const struct query *q, uint8_t *out, size_t cap, size_t *n)
{
	struct xfr *s = calloc(1, sizeof(*s));
	uint32_t from = 0;
	int zone;

	if (q->qtype == XFR_TYPE_IXFR && !xfr_ixfr_serial(pkt, len, q, &from)) {
		*n = xfr_error(pkt, q, XFR_RCODE_FORMERR, out, cap);
		free(s);
		return NULL;
	}
	if (s == NULL || (s->copy = zimg_copy_active(x->z, &s->copy_len)) == NULL) {
		*n = xfr_error(pkt, q, XFR_RCODE_SERVFAIL, out, cap);
		free(s);
		return NULL;
	}
	zone = xfr_zone(s->copy, s->copy_len, pkt, q, out, cap, n);
	if (zone < 0 || !xfr_plan(x, s, (unsigned)zone, q->qtype == XFR_TYPE_IXFR, from)) {
		if (zone >= 0)
			*n = xfr_error(pkt, q, XFR_RCODE_SERVFAIL, out, cap);
		free(s->copy);
		free(s->diff);
		free(s);
		return NULL;
	}
	s->id = q->id;
	s->rd = pkt[2] & 0x01;
	memcpy(s->question, pkt + 12, q->question_len);
	s->question_len = q->question_len;
	x->streams++;
	return s;
}

/* Over UDP only IXFR, and only what fits: else the single SOA, which
 * tells the client to come back over TCP (RFC 1995 section 2). */
static size_t xfr_udp(struct xfr_ctx *x, struct xfr *s, const struct tsig_rr *rr,
		      uint8_t *out, size_t udp_cap)
{
	bool done = false;
	size_t n = xfr_more(s, out, udp_cap, &done);

	if (n > 0 && done)
		return n;
	s->phase = XFR_HEAD;
	s->single = true;
	s->diff_at = 0;
	if (s->tsig.key != NULL)
		tsig_ctx_init(&s->tsig, x->key, rr);
	return xfr_more(s, out, udp_cap, &done);
}

size_t xfr_answer(struct xfr_ctx *x, const struct sockaddr *peer, const uint8_t *pkt,
		  size_t len, bool tcp, size_t udp_cap, uint8_t *out, size_t cap,
		  void **stream, uint64_t now, int64_t now_ms)
{
	struct query q;
	struct tsig_rr rr;
	bool is_signed = false, done = false;
	struct xfr *s;
	size_t n = 0;

	if (query_parse(pkt, len, &q) != QUERY_OK ||
	    (q.qtype != XFR_TYPE_AXFR && q.qtype != XFR_TYPE_IXFR))
		return XFR_NOT_MINE;
	n = xfr_access(x, peer, pkt, len, &q, out, cap, &rr, &is_signed, now, now_ms);
	if (n > 0)
		return n;
	if (x->streams >= XFR_MAX_STREAMS)
		return xfr_error(pkt, &q, XFR_RCODE_SERVFAIL, out, cap);
	s = xfr_start(x, pkt, len, &q, out, cap, &n);
	if (s == NULL)
		return n;
	if (!tcp && q.qtype == XFR_TYPE_AXFR) {
		/* A zone we serve (REFUSED and NOTAUTH came first). */
		xfr_free(x, s);
		return xfr_error(pkt, &q, XFR_RCODE_NOTIMP, out, cap);
	}
	s->now = now;
	if (is_signed)
		tsig_ctx_init(&s->tsig, x->key, &rr);
	if (s->diff != NULL || s->single)
		x->n.ixfr++;
	else
		x->n.axfr++;
	if (x->seen != NULL)
		x->seen(x->seen_arg, peer, s->serial);
	n = tcp ? xfr_more(s, out, cap, &done) : xfr_udp(x, s, &rr, out, udp_cap);
	if (tcp && n > 0 && !done && stream != NULL) {
		*stream = s;
		return n;
	}
	xfr_free(x, s);
	return n;
}
