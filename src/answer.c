/*
 * The query core (answer.h). Hot path: parse the question, find the zone
 * by a suffix compare, binary-search the owner key, then write a 2-byte
 * owner pointer and memcpy each pre-rendered RR body. Every offset and
 * count read from the slot is checked against the slot size the mapping
 * was validated with, so a torn or corrupt slot yields a wrong answer
 * (discarded by the seqlock re-check) or SERVFAIL, never a read outside
 * the slot. Fields that bound a read are loaded exactly once (volatile).
 *
 * EDNS (edns.c) and cookies (cookie.c) wrap this: the OPT of the
 * response is sized first and its bytes are kept out of the limit the
 * sections may use, so truncation (whole RRsets, TC) never drops it.
 */
#include "answer.h"

#include <string.h>

#include "ahd.h"
#include "answer_int.h"
#include "query.h"
#include "wire.h"
#include "zimg.h"
#include "zimg_format.h"

#define ANSWER_READ_TRIES 64u

/* Header + the question echoed byte for byte (its case preserved). */
static size_t answer_head(uint8_t *out, size_t limit, const uint8_t *pkt,
			  const struct query *q, uint8_t flags, uint8_t rcode)
{
	if (limit < QUERY_HEADER_LEN + q->question_len)
		return 0;
	answer_header(out, pkt, q, flags, rcode, 1);
	memcpy(out + QUERY_HEADER_LEN, pkt + QUERY_HEADER_LEN, q->question_len);
	return QUERY_HEADER_LEN + q->question_len;
}

/*
 * Append the RRs of rs with owner pointer ptr, the whole RRset or nothing
 * (RFC 2181 section 9: never part of an RRset). Returns false if the slot
 * data is inconsistent (*bad set) or the RRset does not fit (*bad clear).
 */
static bool answer_rrset(const struct answer_slot *sl,
			 const volatile struct zimg_rrset *rs, uint16_t ptr, uint16_t apex_ptr,
			 uint8_t *out, size_t limit, size_t *pos, unsigned *count,
			 bool *bad)
{
	uint32_t off = rs->rrs_off;
	uint32_t len = rs->rrs_len;
	unsigned n = rs->count;
	unsigned n_ptrs = rs->n_ptrs, k = 0;
	const uint8_t *p;
	size_t used = 0, need = 0;

	if (!answer_in(sl, off, (uint64_t)len + 2u * n_ptrs, 1)) {
		*bad = true;
		return false;
	}
	p = sl->base + off;
	/* First the size, so nothing is written when it does not fit. */
	for (unsigned i = 0; i < n; i++) {
		size_t body;

		if (len - used < 10) {
			*bad = true;
			return false;
		}
		body = 10u + wire_load_u16(p + used + 8);
		if (len - used < body) {
			*bad = true;
			return false;
		}
		used += body;
		need += 2 + body;
	}
	if (limit - *pos < need)
		return false;
	used = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t body;

		/* Checked again: a concurrent publish may have changed the
		 * bytes since (the seqlock re-check then discards this). */
		if (len - used < 10) {
			*bad = true;
			return false;
		}
		body = 10u + wire_load_u16(p + used + 8);
		if (len - used < body || limit - *pos < 2 + body) {
			*bad = true;
			return false;
		}
		wire_store_u16(out + *pos, ptr);
		memcpy(out + *pos + 2, p + used, body);
		if (n_ptrs && !zimg_patch_apex_ptrs(p + len, n_ptrs, &k, used, body,
						    out + *pos + 2, apex_ptr)) {
			*bad = true;
			return false;
		}
		*pos += 2 + body;
		used += body;
	}
	if (k != n_ptrs) {
		*bad = true;
		return false;
	}
	*count += n;
	return true;
}

/* The zone with the longest apex that is a label-aligned suffix of the
 * question name (NULL if none); *label_idx: the label where it starts. */
static const volatile struct zimg_zone *
answer_find_zone(const struct answer_slot *sl, const struct query *q,
		 unsigned *label_idx, bool *bad)
{
	const volatile struct zimg_slot *h = (const volatile struct zimg_slot *)sl->base;
	uint32_t zones_off = h->zones_off;
	uint32_t n_zones = h->n_zones;
	const volatile struct zimg_zone *best = NULL;
	size_t best_len = 0;

	if (h->magic != ZIMG_SLOT_MAGIC || h->version != ZIMG_VERSION ||
	    !answer_in(sl, zones_off, (uint64_t)n_zones * sizeof(struct zimg_zone),
		       ZIMG_ALIGN)) {
		*bad = true;
		return NULL;
	}
	for (uint32_t i = 0; i < n_zones; i++) {
		const volatile struct zimg_zone *z =
			(const volatile struct zimg_zone *)(sl->base + zones_off) + i;
		uint32_t apex_off = z->apex_off;
		size_t apex_len = z->apex_len;
		size_t start;

		if (!answer_in(sl, apex_off, apex_len, 1) || apex_len == 0) {
			*bad = true;
			return NULL;
		}
		if (apex_len > q->qname_len || apex_len <= best_len)
			continue;
		start = q->qname_len - apex_len;
		if (memcmp(q->qname + start, sl->base + apex_off, apex_len) != 0)
			continue;
		/* Label aligned: "xample.com" must not match "example.com". */
		if (start == 0) {
			*label_idx = 0;
		} else {
			unsigned k;

			for (k = 1; k < q->n_labels && q->label_off[k] < start; k++)
				;
			if (k >= q->n_labels || q->label_off[k] != start) {
				if (!(k == q->n_labels && start == q->qname_len - 1))
					continue;
			}
			*label_idx = k;
		}
		best = z;
		best_len = apex_len;
	}
	return best;
}

/* Binary search of the owner key; NULL if the name does not exist. */
static const volatile struct zimg_name *
answer_find_name(const struct answer_slot *sl, const volatile struct zimg_zone *z,
		 const uint8_t *key, size_t key_len, bool *bad)
{
	uint32_t names_off = z->names_off;
	uint32_t n = z->n_names, idx;
	const volatile struct zimg_name *names;

	if (!answer_in(sl, names_off, (uint64_t)n * sizeof(struct zimg_name), ZIMG_ALIGN)) {
		*bad = true;
		return NULL;
	}
	names = (const volatile struct zimg_name *)(sl->base + names_off);
	return answer_search(sl, names, n, key, key_len, &idx, bad) ? &names[idx] : NULL;
}

/* The end of a response from the image: its counts, or, when an RRset
 * did not fit (whole RRsets only), header and question with TC (the
 * caller appends the OPT); 0 if the slot does not check out. */
static inline size_t answer_done(uint8_t *out, size_t limit, const uint8_t *pkt,
				 const struct query *q, size_t pos, unsigned ancount,
				 unsigned nscount, bool fits, bool bad, uint8_t rcode)
{
	if (bad)
		return 0;
	if (!fits || ancount > UINT16_MAX)
		return answer_head(out, limit, pkt, q, ANSWER_FLAG_AA | ANSWER_FLAG_TC, rcode);
	wire_store_u16(out + 6, (uint16_t)ancount);
	wire_store_u16(out + 8, (uint16_t)nscount);
	return pos;
}

/* NODATA or NXDOMAIN after the header and question (pos): the SOA in
 * authority, owned by the apex suffix of the question name. */
static inline size_t answer_negative(const struct answer_slot *sl,
				     const volatile struct zimg_zone *zone, const struct query *q,
				     const uint8_t *pkt, uint8_t *out, size_t limit, size_t pos,
				     uint16_t apex_ptr, uint8_t rcode)
{
	unsigned nscount = 0;
	bool bad = false;
	bool fits = answer_rrset(sl, &zone->neg_soa, apex_ptr, apex_ptr, out, limit, &pos,
				 &nscount, &bad);

	return answer_done(out, limit, pkt, q, pos, 0, nscount, fits, bad, rcode);
}

static inline size_t answer_nxdomain(const struct answer_slot *sl,
				     const volatile struct zimg_zone *zone, const struct query *q,
				     const uint8_t *pkt, uint8_t *out, size_t limit,
				     uint16_t apex_ptr, enum answer_kind *kind)
{
	size_t pos = answer_head(out, limit, pkt, q, ANSWER_FLAG_AA, ANSWER_RCODE_NXDOMAIN);

	*kind = ANSWER_NXDOMAIN;
	if (!pos)
		return 0;
	return answer_negative(sl, zone, q, pkt, out, limit, pos, apex_ptr,
			       ANSWER_RCODE_NXDOMAIN);
}

/* The key of the part of the question name left of the apex: its labels
 * right to left. false if one holds a 0 byte, which would fake a label
 * boundary (LDH names have none): no such name. */
static inline bool answer_qname_key(const struct query *q, unsigned label_idx, uint8_t *key,
				    size_t *key_len)
{
	size_t n = 0;

	for (unsigned i = label_idx; i-- > 0;) {
		const uint8_t *l = q->qname + q->label_off[i];

		if (memchr(l + 1, 0, l[0]))
			return false;
		memcpy(key + n, l + 1, l[0]);
		n += l[0];
		key[n++] = 0;
	}
	*key_len = n;
	return true;
}

/* Asked for by type, RRSIGs come without DO too (RFC 4035 section 3.1.1
 * only keeps them out of other answers): every signature at the name,
 * all or TC. false if one did not fit. */
static inline bool answer_all_sigs(const struct answer_slot *sl,
				   const volatile struct zimg_rrset *arr, uint32_t n_rs,
				   uint16_t apex_ptr, uint8_t *out, size_t limit, size_t *pos,
				   unsigned *ancount, bool *bad)
{
	bool fits = true;

	for (uint32_t i = 0; i < n_rs && fits; i++) {
		struct zimg_rrset sigs = { .type = ZIMG_TYPE_RRSIG };

		sigs.count = arr[i].sig_count;
		sigs.rrs_off = arr[i].sigs_off;
		sigs.rrs_len = arr[i].sigs_len;
		if (sigs.count)
			fits = answer_rrset(sl, &sigs, 0xc000 | QUERY_HEADER_LEN, apex_ptr, out,
					    limit, pos, ancount, bad);
	}
	return fits;
}

/* The answer at a name of the zone: its RRset of the type, NODATA if it
 * has none. */
static inline size_t answer_at_name(const struct answer_slot *sl,
				    const volatile struct zimg_zone *zone,
				    const volatile struct zimg_name *name, const struct query *q,
				    const uint8_t *pkt, uint8_t *out, size_t limit,
				    uint16_t apex_ptr, enum answer_kind *kind)
{
	const volatile struct zimg_rrset *rs = NULL, *arr;
	uint32_t n_rs = name->n_rrsets;
	uint32_t rs_off = name->rrsets_off;
	unsigned ancount = 0;
	bool bad = false, fits;
	size_t pos;

	if (n_rs && !answer_in(sl, rs_off, (uint64_t)n_rs * sizeof(struct zimg_rrset),
			       ZIMG_ALIGN))
		return 0;
	arr = (const volatile struct zimg_rrset *)(sl->base + rs_off);
	if (q->qtype == QUERY_TYPE_ANY) {
		/* RFC 8482 section 4.2's HINFO stands for data the name has:
		 * an empty non-terminal has none, so NODATA (as with DO). */
		if (n_rs)
			rs = &zone->hinfo;
	} else {
		for (uint32_t i = 0; i < n_rs; i++)
			if (arr[i].type == q->qtype) {
				rs = &arr[i];
				break;
			}
	}
	pos = answer_head(out, limit, pkt, q, ANSWER_FLAG_AA, ANSWER_RCODE_NOERROR);
	if (!pos)
		return 0;
	if (rs) {
		*kind = ANSWER_NOERROR;
		fits = answer_rrset(sl, rs, 0xc000 | QUERY_HEADER_LEN, apex_ptr, out, limit, &pos,
				    &ancount, &bad);
		return answer_done(out, limit, pkt, q, pos, ancount, 0, fits, bad,
				   ANSWER_RCODE_NOERROR);
	}
	if (q->qtype == ZIMG_TYPE_RRSIG) {
		fits = answer_all_sigs(sl, arr, n_rs, apex_ptr, out, limit, &pos, &ancount, &bad);
		if (ancount || !fits || bad) {
			*kind = ANSWER_NOERROR;
			return answer_done(out, limit, pkt, q, pos, ancount, 0, fits, bad,
					   ANSWER_RCODE_NOERROR);
		}
	}
	*kind = ANSWER_NODATA;
	return answer_negative(sl, zone, q, pkt, out, limit, pos, apex_ptr, ANSWER_RCODE_NOERROR);
}

/* The answer from one read of the slot; *kind set. 0 if the slot is bad. */
static size_t answer_from_slot(const struct answer_slot *sl, const struct query *q,
			       const uint8_t *pkt, uint8_t *out, size_t limit,
			       enum answer_kind *kind)
{
	const volatile struct zimg_zone *zone;
	const volatile struct zimg_name *name;
	uint8_t key[AHD_MAX_NAME_WIRE];
	size_t key_len = 0;
	unsigned label_idx = 0;
	uint16_t apex_ptr;
	bool bad = false;

	zone = answer_find_zone(sl, q, &label_idx, &bad);
	if (bad)
		return 0;
	if (!zone || q->qclass != QUERY_CLASS_IN) {
		*kind = ANSWER_REFUSED;
		return answer_head(out, limit, pkt, q, 0, ANSWER_RCODE_REFUSED);
	}
	switch (q->qtype) {
	case QUERY_TYPE_IXFR:
	case QUERY_TYPE_AXFR:
	case QUERY_TYPE_MAILB:
	case QUERY_TYPE_MAILA:
		*kind = ANSWER_NOTIMP;
		return answer_head(out, limit, pkt, q, 0, ANSWER_RCODE_NOTIMP);
	default:
		break;
	}
	apex_ptr = answer_apex_ptr(q, label_idx);
	/* DO=1 at a signed zone: RRSIGs and NSEC proofs (answer_int.h). */
	if (answer_dnssec_wanted(zone, q))
		return answer_dnssec_from_slot(sl, zone, q, pkt, label_idx, out, limit, kind);
	if (!answer_qname_key(q, label_idx, key, &key_len))
		return answer_nxdomain(sl, zone, q, pkt, out, limit, apex_ptr, kind);
	name = answer_find_name(sl, zone, key, key_len, &bad);
	if (bad)
		return 0;
	if (!name)
		return answer_nxdomain(sl, zone, q, pkt, out, limit, apex_ptr, kind);
	return answer_at_name(sl, zone, name, q, pkt, out, limit, apex_ptr, kind);
}

static void answer_opt_reply(const struct answer_ctx *ctx, const struct query *q,
			     struct edns_reply *rep, uint8_t cookie[COOKIE_REPLY_LEN],
			     struct answer_info *inf)
{
	memset(rep, 0, sizeof(*rep));
	rep->payload = ctx->edns_size < EDNS_PAYLOAD_MIN ? EDNS_PAYLOAD_MIN : ctx->edns_size;
	rep->do_bit = q->edns.do_bit;
	if (q->edns.version != 0) {
		/* RFC 6891 section 6.1.3: BADVERS, our version (0), no options. */
		rep->ext_rcode = EDNS_RCODE_BADVERS >> 4;
		return;
	}
	if (q->edns.nsid && ctx->nsid_len > 0 && ctx->nsid_len <= EDNS_NSID_MAX) {
		rep->nsid = ctx->nsid;
		rep->nsid_len = ctx->nsid_len;
		inf->nsid = true;
	}
	if (q->edns.cookie_len > 0 && ctx->cookies) {
		const uint8_t *ip;
		size_t ip_len = cookie_client_ip(ctx->client_family, ctx->client_addr, &ip);

		/* Never enforced (no BADCOOKIE): RFC 7873 sections 5.2.3 and
		 * 5.2.4 let a server answer normally with a fresh cookie. */
		inf->cookie = cookie_reply(ctx->cookie_secret, q->edns.cookie,
					   q->edns.cookie_len, ctx->now, ip, ip_len, cookie);
		inf->cookie_seen = true;
		rep->cookie = cookie;
		rep->cookie_len = COOKIE_REPLY_LEN;
	}
}

/* A response without a question section: NOTIMP, FORMERR or BADVERS for
 * what did not parse, or the cookie-only reply (RFC 7873 section 5.4). */
static size_t answer_no_question(enum query_status st, const struct query *q,
				 const uint8_t *pkt, uint8_t *out, size_t limit,
				 enum answer_kind *k)
{
	uint8_t rcode = ANSWER_RCODE_NOERROR;

	if (limit < QUERY_HEADER_LEN)
		return 0;
	if (st == QUERY_NO_QUESTION) {
		*k = ANSWER_NOERROR;
	} else {
		*k = q->opcode != 0 ? ANSWER_NOTIMP : ANSWER_FORMERR;
		/* An OPT of a version we lack makes it BADVERS whatever else
		 * is wrong (RFC 6891 section 6.1.3: MUST); its OPT already
		 * carries the upper bits. */
		if (q->edns.present && q->edns.version != 0)
			*k = ANSWER_BADVERS;
		rcode = *k == ANSWER_NOTIMP ? ANSWER_RCODE_NOTIMP :
			*k == ANSWER_FORMERR ? ANSWER_RCODE_FORMERR :
					      EDNS_RCODE_BADVERS & 0x0f;
	}
	answer_header(out, pkt, q, 0, rcode, 0);
	return QUERY_HEADER_LEN;
}

/* The answer from the image. A read only retries when it overlapped two
 * publishes; one that keeps failing means a corrupt image: SERVFAIL,
 * never a hang. */
static inline size_t answer_from_image(const struct zimg *z, const struct query *q,
				       const uint8_t *pkt, uint8_t *out, size_t limit,
				       enum answer_kind *k)
{
	size_t n = 0;

	for (unsigned tries = 0; tries < ANSWER_READ_TRIES; tries++) {
		struct zimg_view v;
		struct answer_slot sl;

		zimg_read_begin(z, &v);
		sl.base = v.slot;
		sl.size = v.size;
		n = answer_from_slot(&sl, q, pkt, out, limit, k);
		if (!zimg_read_retry(z, &v))
			return n;
	}
	return 0;
}

/* The response to a question (QUERY_OK). */
static inline size_t answer_question(const struct answer_ctx *ctx, const struct query *q,
				     const uint8_t *pkt, uint8_t *out, size_t limit,
				     enum answer_kind *k)
{
	size_t n;

	if (q->edns.version != 0) {
		/* The low 4 bits of BADVERS (16) are 0; the rest is in the OPT. */
		*k = ANSWER_BADVERS;
		return answer_head(out, limit, pkt, q, 0, EDNS_RCODE_BADVERS & 0x0f);
	}
	if (q->qtype == QUERY_TYPE_OPT) {
		/* OPT is a pseudo-RR (RFC 6891): never a question type. */
		*k = ANSWER_FORMERR;
		return answer_head(out, limit, pkt, q, 0, ANSWER_RCODE_FORMERR);
	}
	n = ctx->z ? answer_from_image(ctx->z, q, pkt, out, limit, k) : 0;
	if (n == 0) {
		*k = ANSWER_SERVFAIL;
		n = answer_head(out, limit, pkt, q, 0, ANSWER_RCODE_SERVFAIL);
	}
	return n;
}

size_t answer_query_ex(const struct answer_ctx *ctx, const uint8_t *pkt, size_t len,
		       enum answer_transport transport, uint8_t *out, size_t cap,
		       struct answer_info *info)
{
	struct query q;
	struct answer_info inf;
	struct edns_reply rep;
	uint8_t cookie[COOKIE_REPLY_LEN];
	enum query_status st;
	enum answer_kind k = ANSWER_DROP;
	size_t limit, n = 0, opt_len = 0;

	memset(&inf, 0, sizeof(inf));
	if (cap > AHD_MAX_MSG)
		cap = AHD_MAX_MSG;
	st = query_parse(pkt, len, &q);
	if (st == QUERY_DROP)
		goto out;
	limit = cap;
	if (transport == ANSWER_UDP) {
		size_t udp = edns_udp_limit(&q.edns, ctx->edns_size);

		if (limit > udp)
			limit = udp;
	}
	/* A signed query's answer gets a TSIG after the OPT (the worker's:
	 * the key is not the query core's business). */
	inf.tsig = q.tsig;
	if (q.tsig) {
		if (ctx->tsig_room >= limit)
			goto out;
		limit -= ctx->tsig_room;
	}
	if (q.edns.present) {
		answer_opt_reply(ctx, &q, &rep, cookie, &inf);
		opt_len = edns_reply_len(&rep);
		/* The OPT is always kept: the sections get what is left. */
		if (opt_len > limit)
			goto out;
		limit -= opt_len;
	}
	if (st == QUERY_OK)
		n = answer_question(ctx, &q, pkt, out, limit, &k);
	else
		n = answer_no_question(st, &q, pkt, out, limit, &k);
	if (n > 0 && opt_len > 0) {
		/* limit was reduced by opt_len, so the OPT fits. */
		n += edns_write(&rep, out + n, opt_len);
		wire_store_u16(out + 10, 1);
		inf.edns = true;
	}
out:
	if (n == 0) {
		k = ANSWER_DROP;
		inf.edns = inf.nsid = inf.cookie_seen = inf.tsig = false;
	}
	inf.kind = k;
	inf.xfr = k == ANSWER_NOTIMP && st == QUERY_OK &&
		  (q.qtype == QUERY_TYPE_AXFR || q.qtype == QUERY_TYPE_IXFR);
	inf.truncated = n > 0 && (out[2] & ANSWER_FLAG_TC);
	if (info)
		*info = inf;
	return n;
}

size_t answer_query(const struct zimg *z, const uint8_t *pkt, size_t len,
		    enum answer_transport transport, uint8_t *out, size_t cap,
		    enum answer_kind *kind)
{
	struct answer_ctx ctx;
	struct answer_info info;
	size_t n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.z = z;
	ctx.edns_size = AHD_EDNS_DEFAULT;
	n = answer_query_ex(&ctx, pkt, len, transport, out, cap, &info);
	if (kind)
		*kind = info.kind;
	return n;
}
