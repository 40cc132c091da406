/*
 * config + health -> one slot of the zone image (see zimg_format.h).
 * Not on the query path: clarity over speed, but no quadratic blow-ups in
 * the number of names.
 */
#include "zimg_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <ldns/ldns.h>

#include "ahd.h"
#include "config.h"
#include "dname.h"
#include "dnssec.h"
#include "health.h"
#include "log.h"
#include "query.h"
#include "wire.h"
#include "zimg_build.h"
#include "zsign.h"

#define ZB_KEY_CAP AHD_MAX_NAME_WIRE

struct zb {
	uint8_t *slot;
	size_t cap;
	size_t pos;
};

/* One owner name in the making: a configured name or an ancestor of one
 * (a candidate empty non-terminal), or the apex (key_len 0). */
struct zb_item {
	const uint8_t *key;
	uint16_t key_len;
	uint8_t real; /* has published addresses */
	size_t entry;
};

/* Reserve n zeroed, aligned bytes; returns the offset or 0 (offset 0 is
 * the slot header, never handed out). */
static uint32_t zb_alloc(struct zb *b, size_t n)
{
	size_t off = (b->pos + ZIMG_ALIGN - 1) & ~(size_t)(ZIMG_ALIGN - 1);

	if (off > b->cap || b->cap - off < n)
		return 0;
	memset(b->slot + off, 0, n);
	b->pos = off + n;
	return (uint32_t)off;
}

static uint8_t *zb_ptr(struct zb *b, uint32_t off) { return b->slot + off; }

/* Put the RRSIG of rs (owner owner) beside it in the slot. */
static int zb_sign_rrset(struct zb *b, struct zimg_rrset *rs, const uint8_t *owner,
			 size_t owner_len, struct zimg_sign_zone *sg)
{
	struct zimg_sigs sigs;
	uint32_t off;

	if (zimg_signer_sign(sg, rs->type, owner, owner_len, b->slot + rs->rrs_off, rs->rrs_len,
			     rs->count, &sigs) < 0) {
		char text[AHD_MAX_NAME_TEXT + 8];

		if (dname_to_text(owner, owner_len, text, sizeof(text)) < 0)
			strcpy(text, "?");
		log_error("zone image: cannot sign %s type %u", text, (unsigned)rs->type);
		return -1;
	}
	off = zb_alloc(b, sigs.len);
	if (!off)
		return -1;
	memcpy(zb_ptr(b, off), sigs.data, sigs.len);
	rs->sigs_off = off;
	rs->sigs_len = sigs.len;
	rs->sig_count = sigs.count;
	return 0;
}

struct zb_soa {
	uint8_t mname[AHD_MAX_NAME_WIRE];
	size_t mname_len;
	uint32_t serial;
	struct config_ttls ttls;
};

static int zb_soa(struct zb *b, struct zimg_rrset *rs, const struct zb_soa *soa,
		  const uint8_t *rname, size_t rname_len, uint32_t ttl)
{
	size_t rdlen = soa->mname_len + rname_len + 20;
	uint32_t off = zb_alloc(b, ZIMG_RR_HDR + rdlen);
	uint8_t *p;

	if (!off)
		return -1;
	p = zb_ptr(b, off);
	zimg_rr_hdr(p, QUERY_TYPE_SOA, ttl, (uint16_t)rdlen);
	p += ZIMG_RR_HDR;
	memcpy(p, soa->mname, soa->mname_len);
	p += soa->mname_len;
	memcpy(p, rname, rname_len);
	p += rname_len;
	wire_store_u32(p, soa->serial);
	wire_store_u32(p + 4, soa->ttls.refresh);
	wire_store_u32(p + 8, soa->ttls.retry);
	wire_store_u32(p + 12, soa->ttls.expire);
	wire_store_u32(p + 16, soa->ttls.minimum);
	rs->type = QUERY_TYPE_SOA;
	rs->count = 1;
	rs->rrs_off = off;
	rs->rrs_len = (uint32_t)(ZIMG_RR_HDR + rdlen);
	return 0;
}

static int zb_ns(struct zb *b, struct zimg_rrset *rs, const struct config *cfg,
		 uint32_t ttl)
{
	uint8_t names[64][AHD_MAX_NAME_WIRE];
	int lens[64];
	size_t n = 0, total = 0;
	uint32_t off;
	uint8_t *p;

	for (size_t i = 0; i < cfg->n_ns && n < AHD_ARRAY_LEN(names); i++) {
		bool dup = false;

		lens[n] = dname_from_text(cfg->ns[i], names[n], sizeof(names[n]));
		if (lens[n] < 0) {
			log_error("zone image: bad NS name \"%s\"", cfg->ns[i]);
			return -1;
		}
		for (size_t j = 0; j < n && !dup; j++)
			dup = dname_equal(names[j], (size_t)lens[j], names[n], (size_t)lens[n]);
		if (!dup)
			total += ZIMG_RR_HDR + (size_t)lens[n++];
	}
	off = zb_alloc(b, total);
	if (!off)
		return -1;
	p = zb_ptr(b, off);
	for (size_t i = 0; i < n; i++) {
		zimg_rr_hdr(p, QUERY_TYPE_NS, ttl, (uint16_t)lens[i]);
		memcpy(p + ZIMG_RR_HDR, names[i], (size_t)lens[i]);
		p += ZIMG_RR_HDR + (size_t)lens[i];
	}
	rs->type = QUERY_TYPE_NS;
	rs->count = (uint16_t)n;
	rs->rrs_off = off;
	rs->rrs_len = (uint32_t)total;
	return 0;
}

/* The length of the wire name at p[0..len), *apex_at set to where its
 * suffix apex[0..apex_len) starts (label aligned) or SIZE_MAX; 0 if the
 * name runs past len. */
static size_t zb_name_apex(const uint8_t *p, size_t len, const uint8_t *apex, size_t apex_len,
			   size_t *apex_at)
{
	size_t o = 0;

	*apex_at = SIZE_MAX;
	while (o < len) {
		if (*apex_at == SIZE_MAX && len - o >= apex_len && memcmp(p + o, apex, apex_len) == 0)
			*apex_at = o;
		if (p[o] == 0)
			return o + 1;
		o += 1u + p[o];
	}
	return 0;
}

/*
 * Compress the names in NS and SOA RDATA (RFC 3597 section 4 allows it
 * for these types): a name ending in the apex keeps its labels above it
 * and gets a placeholder pointer, listed in rs->n_ptrs offsets after the
 * bodies, that each answer points at the apex inside the question name
 * (which always ends in it). Runs after signing, since RRSIGs cover the
 * uncompressed RDATA (RFC 4034 section 3.1.8.1). In place: each name
 * shrinks by apex_len - 2 and costs a 2-byte offset, so apexes shorter
 * than 4 bytes (the root, one-letter TLDs) stay uncompressed.
 */
static void zb_compress(struct zb *b, struct zimg_rrset *rs, const uint8_t *apex,
			size_t apex_len)
{
	uint8_t *p = zb_ptr(b, rs->rrs_off);
	uint16_t offs[2 * 64 + 2];
	size_t r = 0, w = 0, n = 0;

	if (apex_len < 4 || rs->n_ptrs)
		return;
	for (unsigned i = 0; i < rs->count; i++) {
		size_t rdlen = wire_load_u16(p + r + 8), end = r + ZIMG_RR_HDR + rdlen, hdr = w;
		unsigned names = rs->type == QUERY_TYPE_SOA ? 2 : rs->type == QUERY_TYPE_NS;

		memmove(p + w, p + r, ZIMG_RR_HDR);
		w += ZIMG_RR_HDR;
		r += ZIMG_RR_HDR;
		for (unsigned j = 0; j < names; j++) {
			size_t at, nl = zb_name_apex(p + r, end - r, apex, apex_len, &at);

			if (at == SIZE_MAX || n == AHD_ARRAY_LEN(offs) || w + at > UINT16_MAX) {
				memmove(p + w, p + r, nl);
				w += nl;
			} else {
				memmove(p + w, p + r, at);
				w += at;
				offs[n++] = (uint16_t)w;
				wire_store_u16(p + w, ZIMG_APEX_PTR_PLACEHOLDER);
				w += 2;
			}
			r += nl;
		}
		memmove(p + w, p + r, end - r);
		w += end - r;
		r = end;
		wire_store_u16(p + hdr + 8, (uint16_t)(w - hdr - ZIMG_RR_HDR));
	}
	for (size_t i = 0; i < n; i++)
		wire_store_u16(p + w + 2 * i, offs[i]);
	rs->rrs_len = (uint32_t)w;
	rs->n_ptrs = (uint16_t)n;
}

static bool zb_addr_published(const struct config *cfg, const bool *published,
			      size_t e, size_t j)
{
	const struct config_entry *ent = &cfg->entries[e];

	if (ent->check == CONFIG_CHECK_NONE)
		return true;
	return published && published[health_index(cfg, e, j)];
}

static uint32_t zb_entry_ttl(const struct config_entry *e,
			     const struct config_ttls *ttls)
{
	if (e->ttl < 0)
		return ttls->a;
	return e->ttl > (int64_t)ttls->sig_ttl_max ? ttls->sig_ttl_max : (uint32_t)e->ttl;
}

/*
 * No TTL of a signed RRset may outlive the signature served with it
 * (RFC 6781 section 4.4.2): config_parse makes the refresh time cover
 * every TTL, and this clamp keeps that true of any config. The RRSIG is
 * made over the clamped RRset, so its original TTL matches (RFC 4034
 * section 3.1.4). Unsigned zones keep their TTLs.
 */
static void zb_ttls_for_signing(struct config_ttls *t, bool signed_zone)
{
	uint32_t *ttls[] = {&t->a, &t->ns, &t->soa, &t->dnskey, &t->neg};

	if (!signed_zone) {
		t->sig_ttl_max = AHD_TTL_MAX;
		return;
	}
	for (size_t i = 0; i < AHD_ARRAY_LEN(ttls); i++)
		if (*ttls[i] > t->sig_ttl_max)
			*ttls[i] = t->sig_ttl_max;
}

/* The A or AAAA RRset of the real items items[0..n): published addresses,
 * duplicates dropped, in configuration order. rs->count stays 0 if none. */
static int zb_addrs(struct zb *b, struct zimg_rrset *rs, const struct config *cfg,
		    const bool *published, const struct zb_item *items, size_t n,
		    int family, const struct config_ttls *ttls)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint16_t type = family == AF_INET ? QUERY_TYPE_A : QUERY_TYPE_AAAA;
	size_t count = 0;
	uint32_t ttl = zb_entry_ttl(&cfg->entries[items[0].entry], ttls);
	uint32_t off = 0;

	for (size_t k = 0; k < n; k++) {
		const struct config_entry *e = &cfg->entries[items[k].entry];

		for (size_t j = 0; j < e->n_addrs; j++) {
			const uint8_t *rr;
			bool dup = false;

			if (e->addrs[j].family != family ||
			    !zb_addr_published(cfg, published, items[k].entry, j))
				continue;
			rr = off ? zb_ptr(b, off) : NULL;
			for (size_t i = 0; i < count && !dup; i++)
				dup = memcmp(rr + i * (ZIMG_RR_HDR + alen) + ZIMG_RR_HDR,
					     e->addrs[j].addr, alen) == 0;
			if (dup)
				continue;
			/* Bodies of one RRset are contiguous: extend in place. */
			if (!off) {
				off = zb_alloc(b, ZIMG_RR_HDR + alen);
				if (!off)
					return -1;
			} else {
				if (b->cap - b->pos < ZIMG_RR_HDR + alen)
					return -1;
				b->pos += ZIMG_RR_HDR + alen;
			}
			if (count == UINT16_MAX)
				return -1;
			zimg_rr_hdr(zb_ptr(b, off) + count * (ZIMG_RR_HDR + alen), type, ttl,
				  (uint16_t)alen);
			memcpy(zb_ptr(b, off) + count * (ZIMG_RR_HDR + alen) + ZIMG_RR_HDR,
			       e->addrs[j].addr, alen);
			count++;
		}
	}
	rs->type = type;
	rs->count = (uint16_t)count;
	rs->rrs_off = off;
	rs->rrs_len = (uint32_t)(count * (ZIMG_RR_HDR + alen));
	return 0;
}

static int zb_item_cmp(const void *pa, const void *pb)
{
	const struct zb_item *a = pa, *b = pb;
	int c = dname_key_cmp(a->key, a->key_len, b->key, b->key_len);

	if (c)
		return c;
	if (a->real != b->real)
		return a->real ? -1 : 1;
	return (a->entry > b->entry) - (a->entry < b->entry);
}

struct zb_names {
	uint8_t *keys; /* n_entries x ZB_KEY_CAP */
	struct zb_item *items;
	size_t n_items;
	/* Group starts: group g is items[group[g] .. group[g + 1]). */
	size_t *group;
	size_t n_groups;
	/* Signed images only (zb_names_nsec), per group. */
	uint32_t *nsec_idx;
	uint32_t *nsec_next;
};

static void zb_names_free(struct zb_names *nm)
{
	free(nm->keys);
	free(nm->items);
	free(nm->group);
	free(nm->nsec_idx);
	free(nm->nsec_next);
}

/* The owner names every zone of this image has, sorted and grouped. */
static int zb_names_make(struct zb_names *nm, const struct config *cfg,
			 const bool *published)
{
	size_t max_items = 1;

	memset(nm, 0, sizeof(*nm));
	for (size_t i = 0; i < cfg->n_entries; i++)
		max_items += zimg_label_count(cfg->entries[i].name);
	nm->keys = reallocarray(NULL, cfg->n_entries ? cfg->n_entries : 1, ZB_KEY_CAP);
	nm->items = reallocarray(NULL, max_items, sizeof(*nm->items));
	nm->group = reallocarray(NULL, max_items + 1, sizeof(*nm->group));
	if (!nm->keys || !nm->items || !nm->group)
		goto oom;
	nm->items[nm->n_items++] = (struct zb_item){ .key = nm->keys, .key_len = 0,
						     .real = 0, .entry = SIZE_MAX };
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		uint8_t wire[AHD_MAX_NAME_WIRE];
		uint8_t *key = nm->keys + i * ZB_KEY_CAP;
		int wlen, klen;
		bool any = false;

		for (size_t j = 0; j < e->n_addrs && !any; j++)
			any = zb_addr_published(cfg, published, i, j);
		if (!any)
			continue; /* the original drops the name */
		wlen = dname_from_text(e->name, wire, sizeof(wire));
		klen = wlen < 0 ? -1 : dname_key(wire, (size_t)wlen, key, ZB_KEY_CAP);
		if (klen <= 0) {
			log_error("zone image: bad owner name \"%s\"", e->name);
			zb_names_free(nm);
			return -1;
		}
		nm->items[nm->n_items++] = (struct zb_item){ .key = key,
			.key_len = (uint16_t)klen, .real = 1, .entry = i };
		/* Every proper ancestor below the apex exists (RFC 8020). */
		for (int k = 0; k < klen - 1; k++)
			if (key[k] == 0)
				nm->items[nm->n_items++] = (struct zb_item){ .key = key,
					.key_len = (uint16_t)(k + 1), .real = 0, .entry = i };
	}
	qsort(nm->items, nm->n_items, sizeof(*nm->items), zb_item_cmp);
	for (size_t i = 0; i < nm->n_items; i++)
		if (i == 0 || dname_key_cmp(nm->items[i - 1].key, nm->items[i - 1].key_len,
					    nm->items[i].key, nm->items[i].key_len) != 0)
			nm->group[nm->n_groups++] = i;
	nm->group[nm->n_groups] = nm->n_items;
	return 0;
oom:
	log_error("zone image: out of memory");
	zb_names_free(nm);
	return -1;
}

/* A group holds an NSEC (signed images): the apex, or a name with RRsets
 * (items are sorted real-first within a group). */
static bool zb_has_nsec(const struct zb_names *nm, size_t g)
{
	return g == 0 || nm->items[nm->group[g]].real;
}

/* For signed images: nsec_idx[g] = the greatest NSEC group <= g (what
 * zimg_zone.nsec_idx_off holds), nsec_next[g] = the NSEC group after g,
 * wrapping to the apex (an NSEC's next name, RFC 4034 section 4.1.1). */
static int zb_names_nsec(struct zb_names *nm)
{
	size_t next = 0;

	nm->nsec_idx = reallocarray(NULL, nm->n_groups, sizeof(*nm->nsec_idx));
	nm->nsec_next = reallocarray(NULL, nm->n_groups, sizeof(*nm->nsec_next));
	if (!nm->nsec_idx || !nm->nsec_next) {
		log_error("zone image: out of memory");
		return -1;
	}
	for (size_t g = 0; g < nm->n_groups; g++)
		nm->nsec_idx[g] = zb_has_nsec(nm, g) ? (uint32_t)g : nm->nsec_idx[g - 1];
	for (size_t g = nm->n_groups; g-- > 0;) {
		nm->nsec_next[g] = (uint32_t)next;
		if (zb_has_nsec(nm, g))
			next = g;
	}
	return 0;
}

/* The NSEC RR of a name: next owner, then the type bitmap of its RRsets
 * plus RRSIG and NSEC (RFC 4034 section 4.1.2; window 0 holds them all). */
static int zb_nsec(struct zb *b, struct zimg_rrset *rs, const uint8_t *next,
		   size_t next_len, const uint16_t *types, size_t n_types, uint32_t ttl)
{
	uint8_t bits[32] = { 0 };
	size_t len = ZIMG_TYPE_NSEC / 8 + 1, rdlen;
	uint32_t off;
	uint8_t *p;

	bits[ZIMG_TYPE_RRSIG / 8] |= (uint8_t)(0x80 >> (ZIMG_TYPE_RRSIG % 8));
	bits[ZIMG_TYPE_NSEC / 8] |= (uint8_t)(0x80 >> (ZIMG_TYPE_NSEC % 8));
	for (size_t i = 0; i < n_types; i++) {
		if (types[i] == 0 || types[i] > 255)
			return -1;
		bits[types[i] / 8] |= (uint8_t)(0x80 >> (types[i] % 8));
		if ((size_t)types[i] / 8 + 1 > len)
			len = (size_t)types[i] / 8 + 1;
	}
	rdlen = next_len + 2 + len;
	off = zb_alloc(b, ZIMG_RR_HDR + rdlen);
	if (!off)
		return -1;
	p = zb_ptr(b, off);
	zimg_rr_hdr(p, ZIMG_TYPE_NSEC, ttl, (uint16_t)rdlen);
	p += ZIMG_RR_HDR;
	memcpy(p, next, next_len);
	p += next_len;
	p[0] = 0; /* window 0 */
	p[1] = (uint8_t)len;
	memcpy(p + 2, bits, len);
	*rs = (struct zimg_rrset){ .type = ZIMG_TYPE_NSEC, .count = 1, .rrs_off = off,
				   .rrs_len = (uint32_t)(ZIMG_RR_HDR + rdlen) };
	return 0;
}

/* An RRset of n RRs of type from their RDATA, in one allocation (the
 * bodies of an RRset are contiguous). */
static int zb_rrset_of(struct zb *b, struct zimg_rrset *rs, uint16_t type, uint32_t ttl,
		       const uint8_t *const *rdata, const size_t *len, size_t n)
{
	size_t total = 0, o = 0;
	uint32_t off;

	for (size_t i = 0; i < n; i++)
		total += ZIMG_RR_HDR + len[i];
	off = zb_alloc(b, total);
	if (!off || total > UINT32_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		zimg_rr_hdr(zb_ptr(b, off) + o, type, ttl, (uint16_t)len[i]);
		memcpy(zb_ptr(b, off) + o + ZIMG_RR_HDR, rdata[i], len[i]);
		o += ZIMG_RR_HDR + len[i];
	}
	*rs = (struct zimg_rrset){ .type = type, .count = (uint16_t)n, .rrs_off = off,
				   .rrs_len = (uint32_t)total };
	return 0;
}

/* The DNSKEY RRset: every published key (DESIGN §13). */
static int zb_dnskey(struct zb *b, struct zimg_rrset *rs, const struct zimg_signer *s,
		     uint32_t ttl)
{
	const uint8_t *rdata[KEYROLL_MAX];
	size_t len[KEYROLL_MAX], n = 0;

	while (n < KEYROLL_MAX && (rdata[n] = zimg_signer_dnskey(s, n, &len[n])) != NULL)
		n++;
	return n > 0 ? zb_rrset_of(b, rs, ZIMG_TYPE_DNSKEY, ttl, rdata, len, n) : -1;
}

/* The CDS and CDNSKEY RRsets (RFC 7344, RFC 8078), with the DNSKEY
 * TTL; *n set to how many RRsets (0 or 2). */
static int zb_cds(struct zb *b, struct zimg_rrset *rs, size_t *n, const struct zimg_signer *s,
		  const ldns_rdf *apex, uint32_t ttl)
{
	uint8_t cds[KEYROLL_MAX][128];
	const uint8_t *cds_p[KEYROLL_MAX], *key[KEYROLL_MAX];
	size_t cds_len[KEYROLL_MAX], key_len[KEYROLL_MAX], i;
	int rc = 0;

	*n = 0;
	for (i = 0; i < KEYROLL_MAX; i++) {
		rc = zimg_signer_cds(s, apex, i, cds[i], sizeof(cds[i]), &cds_len[i], &key[i],
				     &key_len[i]);
		if (rc != 0)
			break;
		cds_p[i] = cds[i];
	}
	if (rc < 0)
		return -1;
	if (i == 0)
		return 0;
	if (zb_rrset_of(b, &rs[0], ZIMG_TYPE_CDS, ttl, cds_p, cds_len, i) < 0 ||
	    zb_rrset_of(b, &rs[1], ZIMG_TYPE_CDNSKEY, ttl, key, key_len, i) < 0)
		return -1;
	*n = 2;
	return 0;
}

/* neg_soa's RRSIG: the apex SOA's, served with the negative TTL. */
static int zb_neg_sigs(struct zb *b, struct zimg_rrset *neg, const struct zimg_rrset *soa,
		       uint32_t ttl)
{
	uint32_t off = zb_alloc(b, soa->sigs_len);
	size_t o = 0;
	uint8_t *p;

	if (!off)
		return -1;
	p = zb_ptr(b, off);
	memcpy(p, zb_ptr(b, soa->sigs_off), soa->sigs_len);
	for (uint16_t i = 0; i < soa->sig_count && soa->sigs_len - o >= ZIMG_RR_HDR; i++) {
		wire_store_u32(p + o + 4, ttl);
		o += ZIMG_RR_HDR + wire_load_u16(p + o + 8);
	}
	neg->sigs_off = off;
	neg->sigs_len = soa->sigs_len;
	neg->sig_count = soa->sig_count;
	return 0;
}

static int zb_full(const struct zb *b)
{
	log_error("zone image: slot of %zu bytes is too small", b->cap);
	return -1;
}

/* One zone of one build: what each of its names needs. */
struct zb_zone {
	struct zb *b;
	const struct config *cfg;
	const bool *published;
	const struct zb_names *nm;
	const struct zb_soa *soa;
	struct zimg_sign_zone *sg; /* NULL: unsigned */
	const char *apex_text;
	uint8_t apex[AHD_MAX_NAME_WIRE];
	size_t apex_len;
	uint8_t rname[AHD_MAX_NAME_WIRE];
	size_t rname_len;
	struct zimg_zone zone;
	struct zimg_rrset apex_soa; /* signed: its RRSIGs go to neg_soa */
};

/* The apex, the name table, the NSEC index and the signer name. */
static int zb_zone_head(struct zb_zone *zz)
{
	struct zimg_zone *zone = &zz->zone;
	struct zb *b = zz->b;
	char rname_text[AHD_MAX_NAME_TEXT + 16];
	int apex_len, rname_len;
	size_t n = zz->nm->n_groups;

	apex_len = dname_from_text(zz->apex_text, zz->apex, sizeof(zz->apex));
	/* An alias zone's SOA is the hosted zone's under the alias name, RNAME
	 * included (as the original serves it). */
	snprintf(rname_text, sizeof(rname_text), "hostmaster.%s", zz->cfg->hosted_zone);
	rname_len = dname_from_text(rname_text, zz->rname, sizeof(zz->rname));
	if (apex_len < 0 || rname_len < 0) {
		log_error("zone image: zone name \"%s\" is too long for hostmaster.%s",
			  zz->cfg->hosted_zone, zz->cfg->hosted_zone);
		return -1;
	}
	zz->apex_len = (size_t)apex_len;
	zz->rname_len = (size_t)rname_len;
	zone->apex_off = zb_alloc(b, zz->apex_len);
	if (!zone->apex_off)
		return zb_full(b);
	memcpy(zb_ptr(b, zone->apex_off), zz->apex, zz->apex_len);
	zone->apex_len = (uint16_t)apex_len;
	zone->names_off = zb_alloc(b, n * sizeof(struct zimg_name));
	if (!zone->names_off)
		return zb_full(b);
	zone->n_names = (uint32_t)n;
	if (zz->sg) {
		zone->flags = ZIMG_ZONE_SIGNED;
		zone->nsec_idx_off = zb_alloc(b, n * sizeof(uint32_t));
		if (!zone->nsec_idx_off)
			return zb_full(b);
		memcpy(zb_ptr(b, zone->nsec_idx_off), zz->nm->nsec_idx, n * sizeof(uint32_t));
		zz->sg->apex = ldns_dname_new_frm_data((uint16_t)apex_len, zz->apex);
		if (!zz->sg->apex) {
			log_error("zone image: out of memory");
			return -1;
		}
	}
	return 0;
}

/* Name group g's NSEC (after its rs[0..*n_rs)), the apex's DNSKEY, and
 * the RRSIGs of them all. */
static int zb_name_sign(struct zb_zone *zz, size_t g, struct zimg_rrset *rs, size_t *n_rs)
{
	const struct zb_names *nm = zz->nm;
	const struct zb_item *it = &nm->items[nm->group[g]];
	const struct zb_item *nx = &nm->items[nm->group[nm->nsec_next[g]]];
	uint8_t owner[AHD_MAX_NAME_WIRE], next[AHD_MAX_NAME_WIRE];
	size_t owner_len = dname_from_key(it->key, it->key_len, zz->apex, zz->apex_len, owner);
	size_t next_len = dname_from_key(nx->key, nx->key_len, zz->apex, zz->apex_len, next);
	uint16_t types[8];
	size_t n_types = 0, n_cds = 0;

	if (!owner_len || !next_len) {
		log_error("zone image: a name under %s is longer than 255 bytes", zz->apex_text);
		return -1;
	}
	for (size_t i = 0; i < *n_rs; i++)
		types[n_types++] = rs[i].type;
	/* Sorted by type: NS SOA NSEC DNSKEY CDS CDNSKEY / A AAAA NSEC. */
	if (it->key_len == 0) {
		if (zb_dnskey(zz->b, &rs[*n_rs + 1], zz->sg->signer, zz->soa->ttls.dnskey) < 0 ||
		    zb_cds(zz->b, &rs[*n_rs + 2], &n_cds, zz->sg->signer, zz->sg->apex,
			   zz->soa->ttls.dnskey) < 0)
			return zb_full(zz->b);
		types[n_types++] = ZIMG_TYPE_DNSKEY;
		if (n_cds) {
			types[n_types++] = ZIMG_TYPE_CDS;
			types[n_types++] = ZIMG_TYPE_CDNSKEY;
		}
	}
	if (zb_nsec(zz->b, &rs[*n_rs], next, next_len, types, n_types, zz->soa->ttls.neg) < 0)
		return zb_full(zz->b);
	*n_rs += it->key_len == 0 ? 2 + n_cds : 1;
	for (size_t i = 0; i < *n_rs; i++)
		if (zb_sign_rrset(zz->b, &rs[i], owner, owner_len, zz->sg) < 0)
			return -1;
	return 0;
}

/* The RRsets of name group g: NS and SOA at the apex, else its
 * addresses (none: an empty non-terminal). */
static int zb_name_rrsets(struct zb_zone *zz, size_t g, struct zimg_name *name,
			  struct zimg_rrset *rs, size_t *n_rs)
{
	const struct zb_names *nm = zz->nm;
	const struct zb_item *it = &nm->items[nm->group[g]];
	const struct zb_soa *soa = zz->soa;
	struct zb *b = zz->b;
	size_t n_real = 0;

	while (nm->group[g] + n_real < nm->group[g + 1] && it[n_real].real)
		n_real++;
	if (it->key_len == 0) {
		name->flags = ZIMG_NAME_APEX;
		if (zb_ns(b, &rs[(*n_rs)++], zz->cfg, soa->ttls.ns) < 0 ||
		    zb_soa(b, &rs[(*n_rs)++], soa, zz->rname, zz->rname_len, soa->ttls.soa) < 0)
			return zb_full(b);
	} else if (n_real == 0) {
		name->flags = ZIMG_NAME_ENT;
	} else {
		if (zb_addrs(b, &rs[*n_rs], zz->cfg, zz->published, it, n_real, AF_INET,
			     &soa->ttls) < 0)
			return zb_full(b);
		*n_rs += rs[*n_rs].count > 0;
		if (zb_addrs(b, &rs[*n_rs], zz->cfg, zz->published, it, n_real, AF_INET6,
			     &soa->ttls) < 0)
			return zb_full(b);
		*n_rs += rs[*n_rs].count > 0;
	}
	return 0;
}

/* Name group g: its key, RRsets (signed if the zone is) and table entry. */
static int zb_name(struct zb_zone *zz, size_t g)
{
	const struct zb_item *it = &zz->nm->items[zz->nm->group[g]];
	struct zb *b = zz->b;
	struct zimg_name name = { 0 };
	struct zimg_rrset rs[6];
	size_t n_rs = 0;

	memset(rs, 0, sizeof(rs));
	name.key_len = it->key_len;
	if (it->key_len) {
		name.key_off = zb_alloc(b, it->key_len);
		if (!name.key_off)
			return zb_full(b);
		memcpy(zb_ptr(b, name.key_off), it->key, it->key_len);
	} else {
		name.key_off = zz->zone.apex_off; /* any in-bounds offset */
	}
	if (zb_name_rrsets(zz, g, &name, rs, &n_rs) < 0)
		return -1;
	if (zz->sg && zb_has_nsec(zz->nm, g) && zb_name_sign(zz, g, rs, &n_rs) < 0)
		return -1;
	if (it->key_len == 0) {
		zb_compress(b, &rs[0], zz->apex, zz->apex_len); /* NS */
		zb_compress(b, &rs[1], zz->apex, zz->apex_len); /* SOA */
	}
	if (n_rs) {
		name.rrsets_off = zb_alloc(b, n_rs * sizeof(struct zimg_rrset));
		if (!name.rrsets_off)
			return zb_full(b);
		memcpy(zb_ptr(b, name.rrsets_off), rs, n_rs * sizeof(struct zimg_rrset));
		if (it->key_len == 0)
			zz->apex_soa = rs[1];
	}
	name.n_rrsets = (uint32_t)n_rs;
	memcpy(zb_ptr(b, zz->zone.names_off + g * sizeof(struct zimg_name)), &name,
	       sizeof(name));
	return 0;
}

/* The negative-answer SOA (with the apex SOA's RRSIGs if signed) and the
 * RFC 8482 section 4.2 HINFO. */
static int zb_zone_tail(struct zb_zone *zz)
{
	/* HINFO CPU "RFC8482", OS "". */
	static const uint8_t hinfo[] = { 7, 'R', 'F', 'C', '8', '4', '8', '2', 0 };
	const struct zb_soa *soa = zz->soa;
	struct zimg_zone *zone = &zz->zone;
	struct zb *b = zz->b;
	uint32_t off;

	if (zb_soa(b, &zone->neg_soa, soa, zz->rname, zz->rname_len, soa->ttls.neg) < 0)
		return zb_full(b);
	if (zz->sg && zb_neg_sigs(b, &zone->neg_soa, &zz->apex_soa, soa->ttls.neg) < 0)
		return zb_full(b);
	zb_compress(b, &zone->neg_soa, zz->apex, zz->apex_len);
	off = zb_alloc(b, ZIMG_RR_HDR + sizeof(hinfo));
	if (!off)
		return zb_full(b);
	zimg_rr_hdr(zb_ptr(b, off), QUERY_TYPE_HINFO, soa->ttls.a, sizeof(hinfo));
	memcpy(zb_ptr(b, off) + ZIMG_RR_HDR, hinfo, sizeof(hinfo));
	zone->hinfo = (struct zimg_rrset){ .type = QUERY_TYPE_HINFO, .count = 1,
		.rrs_off = off, .rrs_len = ZIMG_RR_HDR + sizeof(hinfo) };
	return 0;
}

static int zb_zone(struct zb *b, uint32_t zone_off, const char *apex_text,
		   const struct config *cfg, const bool *published,
		   const struct zb_names *nm, const struct zb_soa *soa, struct zimg_sign_zone *sg)
{
	struct zb_zone zz = { .b = b, .cfg = cfg, .published = published, .nm = nm,
			      .soa = soa, .sg = sg, .apex_text = apex_text };

	if (zb_zone_head(&zz) < 0)
		return -1;
	for (size_t g = 0; g < nm->n_groups; g++)
		if (zb_name(&zz, g) < 0)
			return -1;
	if (zb_zone_tail(&zz) < 0)
		return -1;
	memcpy(zb_ptr(b, zone_off), &zz.zone, sizeof(zz.zone));
	return 0;
}

/* The --transfer-allow list (zimg_format.h); 0 when empty or full. */
static uint32_t zb_acl(struct zb *b, const struct config *cfg)
{
	uint32_t off;
	uint8_t *p;

	if (cfg->n_transfer_allow == 0)
		return 0;
	off = zb_alloc(b, sizeof(uint32_t) + cfg->n_transfer_allow * sizeof(struct zimg_acl));
	if (off == 0)
		return 0;
	p = zb_ptr(b, off);
	wire_store_u32(p, (uint32_t)cfg->n_transfer_allow);
	for (size_t i = 0; i < cfg->n_transfer_allow; i++) {
		struct zimg_acl a = {.family = cfg->transfer_allow[i].family == AF_INET6 ? 6 : 4,
				     .len = cfg->transfer_allow[i].len};

		memcpy(a.addr, cfg->transfer_allow[i].addr, sizeof(a.addr));
		memcpy(p + sizeof(uint32_t) + i * sizeof(a), &a, sizeof(a));
	}
	return off;
}

int zimg_build_signed(uint8_t *slot, size_t slot_size, const struct config *cfg,
		      const bool *published, uint32_t serial, struct zimg_signer *signer,
		      time_t now)
{
	struct zb b = { .slot = slot, .cap = slot_size, .pos = sizeof(struct zimg_slot) };
	struct zimg_slot hdr = { 0 };
	struct zb_names nm;
	struct zb_soa soa;
	struct zimg_sign_zone sg = { 0 };
	size_t n_zones = 1 + cfg->n_alias_zones;
	int len, rc = -1;

	if (slot_size < sizeof(struct zimg_slot) || slot_size > ZIMG_SLOT_MAX ||
	    cfg->n_ns == 0 || n_zones > UINT16_MAX) {
		log_error("zone image: nothing to build (slot %zu bytes, %zu NS)",
			  slot_size, cfg->n_ns);
		return -1;
	}
	/* A reader overlapping this build sees a bad magic until the end. */
	memset(slot, 0, sizeof(struct zimg_slot));
	memset(&soa, 0, sizeof(soa));
	len = dname_from_text(cfg->ns[0], soa.mname, sizeof(soa.mname));
	if (len < 0) {
		log_error("zone image: bad NS name \"%s\"", cfg->ns[0]);
		return -1;
	}
	soa.mname_len = (size_t)len;
	soa.serial = serial;
	config_ttls(cfg, &soa.ttls);
	zb_ttls_for_signing(&soa.ttls, signer != NULL);
	if (zb_names_make(&nm, cfg, published) < 0)
		return -1;
	if (signer) {
		if (zb_names_nsec(&nm) < 0)
			goto out;
		zimg_signer_begin(signer);
		sg.signer = signer;
		sg.now = (int64_t)now;
		sg.ttls = &soa.ttls;
	}
	hdr.zones_off = zb_alloc(&b, n_zones * sizeof(struct zimg_zone));
	if (!hdr.zones_off) {
		zb_full(&b);
		goto out;
	}
	for (size_t z = 0; z < n_zones; z++) {
		const char *apex = z == 0 ? cfg->hosted_zone : cfg->alias_zones[z - 1];

		sg.zone = (uint32_t)z;
		rc = zb_zone(&b, hdr.zones_off + (uint32_t)(z * sizeof(struct zimg_zone)),
			     apex, cfg, published, &nm, &soa, signer ? &sg : NULL);
		ldns_rdf_deep_free(sg.apex);
		sg.apex = NULL;
		if (rc < 0)
			goto out;
	}
	hdr.acl_off = zb_acl(&b, cfg);
	if (cfg->n_transfer_allow > 0 && hdr.acl_off == 0) {
		zb_full(&b);
		rc = -1;
		goto out;
	}
	hdr.magic = ZIMG_SLOT_MAGIC;
	hdr.version = ZIMG_VERSION;
	hdr.used = (uint32_t)b.pos;
	hdr.serial = serial;
	hdr.n_zones = (uint32_t)n_zones;
	hdr.flags = signer ? ZIMG_SLOT_SIGNED : 0;
	memcpy(slot, &hdr, sizeof(hdr));
	rc = 0;
out:
	if (signer)
		zimg_signer_end(signer, rc == 0);
	zb_names_free(&nm);
	return rc;
}

int zimg_build(uint8_t *slot, size_t slot_size, const struct config *cfg,
	       const bool *published, uint32_t serial)
{
	return zimg_build_signed(slot, slot_size, cfg, published, serial, NULL, 0);
}
