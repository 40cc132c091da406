/*
 * DNSSEC answers (answer_int.h): the hot path of DO=1 queries at a
 * signed zone. Same rules as answer.c: every offset and count read from
 * the slot is loaded once and checked against the slot size the mapping
 * was validated with; a torn read yields a wrong answer (discarded by the
 * caller's seqlock re-check) or 0, never a read outside the slot.
 *
 * When anything does not fit the limit, the whole response falls back to
 * header + question with TC: a validator needs every signature and proof,
 * so a partial answer would only turn into a bogus one (RFC 4035 section
 * 3.1.1), and an RRset never travels without its RRSIGs.
 */
#include "answer_int.h"

#include <string.h>

#include "ahd.h"
#include "dname.h"
#include "wire.h"

/* Compression pointers hold 14-bit offsets. */
#define ANSWER_DNSSEC_PTR_MAX 0x3fffu

/* An RR body: TYPE CLASS TTL RDLENGTH. */

/* An owner name as written: labels, then a compression pointer (or just
 * the pointer). */
struct answer_dnssec_owner {
	uint8_t b[AHD_MAX_NAME_WIRE + 2];
	size_t len;
};

/* One name of the zone, its fields loaded once. */
struct answer_dnssec_name {
	uint32_t idx;
	uint32_t key_off;
	uint16_t key_len;
	uint32_t rrsets_off;
	uint32_t n_rrsets;
};

struct answer_dnssec_ctx {
	struct answer_slot sl;
	uint32_t names_off;
	uint32_t n_names;
	uint32_t nsec_idx_off;
	uint16_t apex_ptr;   /* the apex suffix of the question name */
	bool qname_found;
	uint32_t qname_idx;  /* valid if qname_found */
	/* The response. */
	uint8_t *out;
	size_t limit;
	size_t pos;
	unsigned an, ns;
	bool full; /* something did not fit: TC */
	bool bad;  /* the slot does not check out */
};

static void answer_dnssec_load_rrset(const volatile struct zimg_rrset *src,
				     struct zimg_rrset *dst)
{
	dst->type = src->type;
	dst->count = src->count;
	dst->rrs_off = src->rrs_off;
	dst->rrs_len = src->rrs_len;
	dst->sigs_off = src->sigs_off;
	dst->sigs_len = src->sigs_len;
	dst->sig_count = src->sig_count;
	dst->n_ptrs = src->n_ptrs;
}

static void answer_dnssec_owner_ptr(struct answer_dnssec_owner *o, size_t target)
{
	wire_store_u16(o->b, (uint16_t)(0xc000u | target));
	o->len = 2;
}

/*
 * Append count RR bodies from the slot's [off, off + len), each behind
 * owner, their n_ptrs apex placeholders (listed right after them) pointed
 * at the apex. After the first RR a long owner becomes a pointer to where
 * it was written. Sets c->full when an RR does not fit, c->bad when the
 * bodies run past len.
 */
static void answer_dnssec_put_block(struct answer_dnssec_ctx *c, uint32_t off, uint32_t len,
				    unsigned count, unsigned n_ptrs,
				    struct answer_dnssec_owner *o, unsigned *counter)
{
	const uint8_t *p;
	size_t used = 0;
	unsigned k = 0;

	if (c->bad || c->full)
		return;
	if (!answer_in(&c->sl, off, (uint64_t)len + 2u * n_ptrs, 1)) {
		c->bad = true;
		return;
	}
	p = c->sl.base + off;
	for (unsigned i = 0; i < count; i++) {
		size_t body, at = c->pos;

		if (len - used < ZIMG_RR_HDR) {
			c->bad = true;
			return;
		}
		body = ZIMG_RR_HDR + wire_load_u16(p + used + 8);
		if (len - used < body) {
			c->bad = true;
			return;
		}
		if (c->limit - c->pos < o->len + body) {
			c->full = true;
			return;
		}
		memcpy(c->out + c->pos, o->b, o->len);
		memcpy(c->out + c->pos + o->len, p + used, body);
		if (n_ptrs && !zimg_patch_apex_ptrs(p + len, n_ptrs, &k, used, body,
						    c->out + c->pos + o->len, c->apex_ptr)) {
			c->bad = true;
			return;
		}
		c->pos += o->len + body;
		used += body;
		(*counter)++;
		if (o->len > 2 && at <= ANSWER_DNSSEC_PTR_MAX)
			answer_dnssec_owner_ptr(o, at);
	}
	if (k != n_ptrs)
		c->bad = true;
}

/* An RRset and its RRSIGs, with one owner. */
static void answer_dnssec_put_set(struct answer_dnssec_ctx *c, const struct zimg_rrset *rs,
				  struct answer_dnssec_owner *o, unsigned *counter)
{
	answer_dnssec_put_block(c, rs->rrs_off, rs->rrs_len, rs->count, rs->n_ptrs, o, counter);
	answer_dnssec_put_block(c, rs->sigs_off, rs->sigs_len, rs->sig_count, 0, o, counter);
}

/* Name i of the zone; false (c->bad set) if it does not check out. */
static bool answer_dnssec_name_at(struct answer_dnssec_ctx *c, uint32_t i,
				  struct answer_dnssec_name *nm)
{
	const volatile struct zimg_name *names =
		(const volatile struct zimg_name *)(c->sl.base + c->names_off);

	if (i >= c->n_names) {
		c->bad = true;
		return false;
	}
	nm->idx = i;
	nm->key_off = names[i].key_off;
	nm->key_len = names[i].key_len;
	nm->rrsets_off = names[i].rrsets_off;
	nm->n_rrsets = names[i].n_rrsets;
	if (!answer_in(&c->sl, nm->key_off, nm->key_len, 1) ||
	    nm->key_len >= AHD_MAX_NAME_WIRE ||
	    (nm->n_rrsets &&
	     !answer_in(&c->sl, nm->rrsets_off,
			       (uint64_t)nm->n_rrsets * sizeof(struct zimg_rrset), ZIMG_ALIGN))) {
		c->bad = true;
		return false;
	}
	return true;
}

/* Binary search of key: true with *idx = its index, or false with *idx =
 * the insertion point (check c->bad). */
static bool answer_dnssec_search(struct answer_dnssec_ctx *c, const uint8_t *key,
				 size_t key_len, uint32_t *idx)
{
	const volatile struct zimg_name *names =
		(const volatile struct zimg_name *)(c->sl.base + c->names_off);

	return answer_search(&c->sl, names, c->n_names, key, key_len, idx, &c->bad);
}

static const volatile struct zimg_rrset *
answer_dnssec_rrsets(const struct answer_dnssec_ctx *c, const struct answer_dnssec_name *nm)
{
	return (const volatile struct zimg_rrset *)(c->sl.base + nm->rrsets_off);
}

/* The RRset of type at nm into *rs; false if there is none. */
static bool answer_dnssec_find_type(const struct answer_dnssec_ctx *c,
				    const struct answer_dnssec_name *nm, uint16_t type,
				    struct zimg_rrset *rs)
{
	const volatile struct zimg_rrset *arr = answer_dnssec_rrsets(c, nm);

	for (uint32_t i = 0; i < nm->n_rrsets; i++)
		if (arr[i].type == type) {
			answer_dnssec_load_rrset(&arr[i], rs);
			return true;
		}
	return false;
}

/* The owner of nm: the question name's pointer if it is that name, else
 * its labels (from the key, right to left) and the apex pointer. */
static bool answer_dnssec_owner_of(struct answer_dnssec_ctx *c,
				   const struct answer_dnssec_name *nm,
				   struct answer_dnssec_owner *o)
{
	uint8_t key[AHD_MAX_NAME_WIRE];
	size_t end = nm->key_len;

	if (c->qname_found && nm->idx == c->qname_idx) {
		answer_dnssec_owner_ptr(o, QUERY_HEADER_LEN);
		return true;
	}
	/* A copy first: the slot may change under us, the labels must not. */
	memcpy(key, c->sl.base + nm->key_off, nm->key_len);
	o->len = 0;
	while (end > 0) {
		size_t start = end - 1, l;

		if (key[end - 1] != 0)
			goto bad;
		while (start > 0 && key[start - 1] != 0)
			start--;
		l = end - 1 - start;
		if (l == 0 || l > AHD_MAX_LABEL || o->len + 1 + l + 2 > sizeof(o->b))
			goto bad;
		o->b[o->len++] = (uint8_t)l;
		memcpy(o->b + o->len, key + start, l);
		o->len += l;
		end = start;
	}
	wire_store_u16(o->b + o->len, c->apex_ptr);
	o->len += 2;
	return true;
bad:
	c->bad = true;
	return false;
}

/* The index of the NSEC that covers what sorts after name i (and before
 * name i + 1): zimg_zone.nsec_idx_off. */
static bool answer_dnssec_nsec_idx(struct answer_dnssec_ctx *c, uint32_t i, uint32_t *j)
{
	const volatile uint32_t *idx =
		(const volatile uint32_t *)(c->sl.base + c->nsec_idx_off);

	if (i >= c->n_names) {
		c->bad = true;
		return false;
	}
	*j = idx[i];
	if (*j > i) {
		c->bad = true;
		return false;
	}
	return true;
}

/* The NSEC RRset of name j with its RRSIGs, in the authority section. */
static void answer_dnssec_put_nsec(struct answer_dnssec_ctx *c, uint32_t j)
{
	struct answer_dnssec_name nm;
	struct zimg_rrset rs;
	struct answer_dnssec_owner o;

	if (c->bad || c->full || !answer_dnssec_name_at(c, j, &nm))
		return;
	if (!answer_dnssec_find_type(c, &nm, ZIMG_TYPE_NSEC, &rs)) {
		c->bad = true; /* a signed image gives every such name an NSEC */
		return;
	}
	if (answer_dnssec_owner_of(c, &nm, &o))
		answer_dnssec_put_set(c, &rs, &o, &c->ns);
}

/*
 * The NXDOMAIN proofs for key (not in the zone, insertion point lo): the
 * NSEC covering it, and the one covering the wildcard at its closest
 * encloser, "*.<ce>", which sorts right after ce (zimg_format.h).
 */
static void answer_dnssec_put_nxdomain_proof(struct answer_dnssec_ctx *c, const uint8_t *key,
					     size_t key_len, uint32_t lo)
{
	uint32_t cover, ce = 0, wild;
	size_t end = key_len;

	if (lo == 0 || !answer_dnssec_nsec_idx(c, lo - 1, &cover)) {
		c->bad = true; /* the apex sorts first: lo >= 1 */
		return;
	}
	/* Ancestors are the key's prefixes that end after a 0 byte; the
	 * apex (the empty key) always exists. */
	while (end > 0) {
		uint32_t at;

		end--;
		while (end > 0 && key[end - 1] != 0)
			end--;
		if (answer_dnssec_search(c, key, end, &at)) {
			ce = at;
			break;
		}
		if (c->bad)
			return;
	}
	if (!answer_dnssec_nsec_idx(c, ce, &wild))
		return;
	answer_dnssec_put_nsec(c, cover);
	if (wild != cover)
		answer_dnssec_put_nsec(c, wild);
}

/* The RRset an ANY query gets (RFC 8482 section 4.1): the SOA at the
 * apex, else the first address RRset; false if the name has none. */
static bool answer_dnssec_any_rrset(const struct answer_dnssec_ctx *c,
				    const struct answer_dnssec_name *nm, struct zimg_rrset *rs)
{
	const volatile struct zimg_rrset *arr = answer_dnssec_rrsets(c, nm);

	if (nm->key_len == 0)
		return answer_dnssec_find_type(c, nm, QUERY_TYPE_SOA, rs);
	for (uint32_t i = 0; i < nm->n_rrsets; i++) {
		uint16_t t = arr[i].type;

		if (t != ZIMG_TYPE_NSEC && t != ZIMG_TYPE_RRSIG) {
			answer_dnssec_load_rrset(&arr[i], rs);
			return true;
		}
	}
	return false;
}

/* qtype RRSIG: the signatures of every RRset at the name. */
static bool answer_dnssec_put_all_sigs(struct answer_dnssec_ctx *c,
				       const struct answer_dnssec_name *nm)
{
	const volatile struct zimg_rrset *arr = answer_dnssec_rrsets(c, nm);
	struct answer_dnssec_owner o;

	answer_dnssec_owner_ptr(&o, QUERY_HEADER_LEN);
	for (uint32_t i = 0; i < nm->n_rrsets; i++) {
		struct zimg_rrset rs;

		answer_dnssec_load_rrset(&arr[i], &rs);
		answer_dnssec_put_block(c, rs.sigs_off, rs.sigs_len, rs.sig_count, 0, &o, &c->an);
	}
	return c->an > 0;
}

/* c set up for zone and the response; false if the zone's tables do not
 * lie in the slot or the header and question do not fit. */
static inline bool answer_dnssec_init(struct answer_dnssec_ctx *c,
				      const struct answer_slot *sl,
				      const volatile struct zimg_zone *zone, const struct query *q,
				      unsigned label_idx, uint8_t *out, size_t limit)
{
	memset(c, 0, sizeof(*c));
	c->sl = *sl;
	c->names_off = zone->names_off;
	c->n_names = zone->n_names;
	c->nsec_idx_off = zone->nsec_idx_off;
	if (c->n_names == 0 ||
	    !answer_in(&c->sl, c->names_off, (uint64_t)c->n_names * sizeof(struct zimg_name),
		       ZIMG_ALIGN) ||
	    !answer_in(&c->sl, c->nsec_idx_off, (uint64_t)c->n_names * sizeof(uint32_t),
		       sizeof(uint32_t)) ||
	    limit < QUERY_HEADER_LEN + q->question_len)
		return false;
	c->apex_ptr = answer_apex_ptr(q, label_idx);
	c->out = out;
	c->limit = limit;
	c->pos = QUERY_HEADER_LEN + q->question_len;
	return true;
}

/* The key of the part of the question name left of the apex (labels
 * right to left) into key[0..*key_len). */
static inline void answer_dnssec_key(const struct query *q, unsigned label_idx, uint8_t *key,
				     size_t *key_len)
{
	size_t n = 0;

	for (unsigned i = label_idx; i-- > 0;) {
		const uint8_t *l = q->qname + q->label_off[i];
		const uint8_t *zero = memchr(l + 1, 0, l[0]);

		if (zero) {
			/* A 0 byte would fake a label boundary in the key. The
			 * zone's labels are LDH, so in canonical order (RFC 4034
			 * section 6.1) this label sorts right after its bytes
			 * before the 0 and the names under them, and before any
			 * longer label that starts with those bytes: exactly
			 * where the key of those bytes followed by 0x01 sorts.
			 * The name and everything below it are absent. */
			size_t pre = (size_t)(zero - (l + 1));

			memcpy(key + n, l + 1, pre);
			n += pre;
			key[n++] = 1;
			break;
		}
		memcpy(key + n, l + 1, l[0]);
		n += l[0];
		key[n++] = 0;
	}
	*key_len = n;
}

/* The question name exists (name idx): its RRset of the type with the
 * RRSIGs; false if there is none (NODATA), or 0 from the caller if the
 * slot is bad (c->bad). */
static inline bool answer_dnssec_positive(struct answer_dnssec_ctx *c, const struct query *q,
					  uint32_t idx)
{
	struct answer_dnssec_name nm;
	struct answer_dnssec_owner o;
	struct zimg_rrset rs;
	bool positive;

	if (!answer_dnssec_name_at(c, idx, &nm))
		return false;
	answer_dnssec_owner_ptr(&o, QUERY_HEADER_LEN);
	if (q->qtype == QUERY_TYPE_ANY) {
		positive = answer_dnssec_any_rrset(c, &nm, &rs);
		if (positive)
			answer_dnssec_put_set(c, &rs, &o, &c->an);
	} else if (q->qtype == ZIMG_TYPE_RRSIG) {
		positive = answer_dnssec_put_all_sigs(c, &nm) || c->full;
	} else {
		positive = answer_dnssec_find_type(c, &nm, q->qtype, &rs);
		if (positive)
			answer_dnssec_put_set(c, &rs, &o, &c->an);
	}
	return positive;
}

/* NODATA or NXDOMAIN: the SOA with its RRSIGs and the NSEC proofs. */
static inline void answer_dnssec_negative(struct answer_dnssec_ctx *c,
					  const struct zimg_rrset *soa, const uint8_t *key,
					  size_t key_len, uint32_t idx)
{
	struct answer_dnssec_owner o;

	answer_dnssec_owner_ptr(&o, c->apex_ptr & ANSWER_DNSSEC_PTR_MAX);
	answer_dnssec_put_set(c, soa, &o, &c->ns);
	if (c->qname_found) {
		uint32_t j;

		/* NODATA: the name's own NSEC, or for an empty non-terminal
		 * the one whose next name is below it. */
		if (answer_dnssec_nsec_idx(c, idx, &j))
			answer_dnssec_put_nsec(c, j);
	} else {
		answer_dnssec_put_nxdomain_proof(c, key, key_len, idx);
	}
}

size_t answer_dnssec_from_slot(const struct answer_slot *sl,
			       const volatile struct zimg_zone *zone, const struct query *q,
			       const uint8_t *pkt, unsigned label_idx, uint8_t *out,
			       size_t limit, enum answer_kind *kind)
{
	struct answer_dnssec_ctx c;
	struct zimg_rrset soa;
	uint8_t key[AHD_MAX_NAME_WIRE];
	size_t key_len = 0;
	uint8_t rcode = ANSWER_RCODE_NOERROR;
	bool positive = false;
	uint32_t idx = 0;

	answer_dnssec_load_rrset(&zone->neg_soa, &soa);
	if (!answer_dnssec_init(&c, sl, zone, q, label_idx, out, limit))
		return 0;
	memcpy(out + QUERY_HEADER_LEN, pkt + QUERY_HEADER_LEN, q->question_len);
	answer_dnssec_key(q, label_idx, key, &key_len);
	c.qname_found = answer_dnssec_search(&c, key, key_len, &idx);
	if (c.bad)
		return 0;
	c.qname_idx = idx;
	if (c.qname_found) {
		positive = answer_dnssec_positive(&c, q, idx);
		if (c.bad)
			return 0;
		*kind = positive ? ANSWER_NOERROR : ANSWER_NODATA;
	} else {
		*kind = ANSWER_NXDOMAIN;
		rcode = ANSWER_RCODE_NXDOMAIN;
	}
	if (!positive)
		answer_dnssec_negative(&c, &soa, key, key_len, idx);
	if (c.bad)
		return 0;
	if (c.full) {
		answer_header(out, pkt, q, ANSWER_FLAG_AA | ANSWER_FLAG_TC, rcode, 1);
		return QUERY_HEADER_LEN + q->question_len;
	}
	answer_header(out, pkt, q, ANSWER_FLAG_AA, rcode, 1);
	wire_store_u16(out + 6, (uint16_t)c.an);
	wire_store_u16(out + 8, (uint16_t)c.ns);
	return c.pos;
}
