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

#include "ahd.h"
#include "dname.h"
#include "log.h"
#include "query.h"
#include "wire.h"

#define ZB_KEY_CAP AHD_MAX_NAME_WIRE
#define ZB_RR_HDR 10 /* TYPE CLASS TTL RDLENGTH */

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

static size_t zb_label_count(const char *name)
{
	size_t n = 1;

	for (; *name; name++)
		n += *name == '.';
	return n;
}

size_t zimg_build_slot_size(const struct config *cfg)
{
	uint64_t items = 1, keys = 0, bodies = 0, per_zone, total;
	uint64_t zones = 1 + (uint64_t)cfg->n_alias_zones;

	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		uint64_t labels = zb_label_count(e->name);

		items += labels;
		keys += labels * (strlen(e->name) + 2 + ZIMG_ALIGN);
		bodies += (uint64_t)e->n_addrs * (ZB_RR_HDR + 16) + 2 * ZIMG_ALIGN;
	}
	per_zone = (AHD_MAX_NAME_WIRE + ZIMG_ALIGN)          /* apex */
		   + items * sizeof(struct zimg_name) + ZIMG_ALIGN /* name table */
		   + keys
		   + items * (2 * sizeof(struct zimg_rrset) + ZIMG_ALIGN)
		   + bodies
		   + 2 * (ZB_RR_HDR + 2 * AHD_MAX_NAME_WIRE + 20 + ZIMG_ALIGN) /* SOAs */
		   + (uint64_t)cfg->n_ns * (ZB_RR_HDR + AHD_MAX_NAME_WIRE) + ZIMG_ALIGN
		   + (ZB_RR_HDR + 16 + ZIMG_ALIGN); /* HINFO */
	total = sizeof(struct zimg_slot) + zones * sizeof(struct zimg_zone) + ZIMG_ALIGN
		+ zones * per_zone;
	/* Headroom: a later format (signatures) can grow without a resize. */
	total += total / 4 + 65536;
	total = (total + 4095) & ~(uint64_t)4095;
	if (total > ZIMG_SLOT_MAX)
		return 0;
	return (size_t)total;
}

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

static void zb_rr_hdr(uint8_t *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	wire_store_u16(p, type);
	wire_store_u16(p + 2, QUERY_CLASS_IN);
	wire_store_u32(p + 4, ttl);
	wire_store_u16(p + 8, rdlen);
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
	uint32_t off = zb_alloc(b, ZB_RR_HDR + rdlen);
	uint8_t *p;

	if (!off)
		return -1;
	p = zb_ptr(b, off);
	zb_rr_hdr(p, QUERY_TYPE_SOA, ttl, (uint16_t)rdlen);
	p += ZB_RR_HDR;
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
	rs->rrs_len = (uint32_t)(ZB_RR_HDR + rdlen);
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
			total += ZB_RR_HDR + (size_t)lens[n++];
	}
	off = zb_alloc(b, total);
	if (!off)
		return -1;
	p = zb_ptr(b, off);
	for (size_t i = 0; i < n; i++) {
		zb_rr_hdr(p, QUERY_TYPE_NS, ttl, (uint16_t)lens[i]);
		memcpy(p + ZB_RR_HDR, names[i], (size_t)lens[i]);
		p += ZB_RR_HDR + (size_t)lens[i];
	}
	rs->type = QUERY_TYPE_NS;
	rs->count = (uint16_t)n;
	rs->rrs_off = off;
	rs->rrs_len = (uint32_t)total;
	return 0;
}

static bool zb_addr_published(const struct config *cfg, const bool *published,
			      size_t e, size_t j)
{
	const struct config_entry *ent = &cfg->entries[e];

	if (ent->check == CONFIG_CHECK_NONE)
		return true;
	return published && published[ent->first_addr + j];
}

static uint32_t zb_entry_ttl(const struct config_entry *e,
			     const struct config_ttls *ttls)
{
	if (e->ttl < 0)
		return ttls->a;
	return e->ttl > (int64_t)AHD_TTL_MAX ? AHD_TTL_MAX : (uint32_t)e->ttl;
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
				dup = memcmp(rr + i * (ZB_RR_HDR + alen) + ZB_RR_HDR,
					     e->addrs[j].addr, alen) == 0;
			if (dup)
				continue;
			/* Bodies of one RRset are contiguous: extend in place. */
			if (!off) {
				off = zb_alloc(b, ZB_RR_HDR + alen);
				if (!off)
					return -1;
			} else {
				if (b->cap - b->pos < ZB_RR_HDR + alen)
					return -1;
				b->pos += ZB_RR_HDR + alen;
			}
			if (count == UINT16_MAX)
				return -1;
			zb_rr_hdr(zb_ptr(b, off) + count * (ZB_RR_HDR + alen), type, ttl,
				  (uint16_t)alen);
			memcpy(zb_ptr(b, off) + count * (ZB_RR_HDR + alen) + ZB_RR_HDR,
			       e->addrs[j].addr, alen);
			count++;
		}
	}
	rs->type = type;
	rs->count = (uint16_t)count;
	rs->rrs_off = off;
	rs->rrs_len = (uint32_t)(count * (ZB_RR_HDR + alen));
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
};

static void zb_names_free(struct zb_names *nm)
{
	free(nm->keys);
	free(nm->items);
	free(nm->group);
}

/* The owner names every zone of this image has, sorted and grouped. */
static int zb_names_make(struct zb_names *nm, const struct config *cfg,
			 const bool *published)
{
	size_t max_items = 1;

	memset(nm, 0, sizeof(*nm));
	for (size_t i = 0; i < cfg->n_entries; i++)
		max_items += zb_label_count(cfg->entries[i].name);
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

static int zb_zone(struct zb *b, uint32_t zone_off, const char *apex_text,
		   const struct config *cfg, const bool *published,
		   const struct zb_names *nm, const struct zb_soa *soa)
{
	struct zimg_zone zone = { 0 };
	uint8_t apex[AHD_MAX_NAME_WIRE], rname[AHD_MAX_NAME_WIRE];
	char rname_text[AHD_MAX_NAME_TEXT + 16];
	int apex_len, rname_len;
	uint32_t names_off;

	apex_len = dname_from_text(apex_text, apex, sizeof(apex));
	snprintf(rname_text, sizeof(rname_text), "hostmaster.%s", apex_text);
	rname_len = dname_from_text(rname_text, rname, sizeof(rname));
	if (apex_len < 0 || rname_len < 0) {
		log_error("zone image: zone name \"%s\" is too long for hostmaster.%s",
			  apex_text, apex_text);
		return -1;
	}
	zone.apex_off = zb_alloc(b, (size_t)apex_len);
	if (!zone.apex_off)
		goto full;
	memcpy(zb_ptr(b, zone.apex_off), apex, (size_t)apex_len);
	zone.apex_len = (uint16_t)apex_len;
	names_off = zb_alloc(b, nm->n_groups * sizeof(struct zimg_name));
	if (!names_off)
		goto full;
	zone.names_off = names_off;
	zone.n_names = (uint32_t)nm->n_groups;

	for (size_t g = 0; g < nm->n_groups; g++) {
		const struct zb_item *it = &nm->items[nm->group[g]];
		size_t n_real = 0;
		struct zimg_name name = { 0 };
		struct zimg_rrset rs[2];
		size_t n_rs = 0;

		while (nm->group[g] + n_real < nm->group[g + 1] && it[n_real].real)
			n_real++;
		memset(rs, 0, sizeof(rs));
		name.key_len = it->key_len;
		if (it->key_len) {
			name.key_off = zb_alloc(b, it->key_len);
			if (!name.key_off)
				goto full;
			memcpy(zb_ptr(b, name.key_off), it->key, it->key_len);
		} else {
			name.key_off = zone.apex_off; /* any in-bounds offset */
		}
		if (it->key_len == 0) {
			name.flags = ZIMG_NAME_APEX;
			if (zb_ns(b, &rs[n_rs++], cfg, soa->ttls.ns) < 0 ||
			    zb_soa(b, &rs[n_rs++], soa, rname, (size_t)rname_len,
				   soa->ttls.soa) < 0)
				goto full;
		} else if (n_real == 0) {
			name.flags = ZIMG_NAME_ENT;
		} else {
			if (zb_addrs(b, &rs[n_rs], cfg, published, it, n_real, AF_INET,
				     &soa->ttls) < 0)
				goto full;
			n_rs += rs[n_rs].count > 0;
			if (zb_addrs(b, &rs[n_rs], cfg, published, it, n_real, AF_INET6,
				     &soa->ttls) < 0)
				goto full;
			n_rs += rs[n_rs].count > 0;
		}
		if (n_rs) {
			name.rrsets_off = zb_alloc(b, n_rs * sizeof(struct zimg_rrset));
			if (!name.rrsets_off)
				goto full;
			memcpy(zb_ptr(b, name.rrsets_off), rs, n_rs * sizeof(struct zimg_rrset));
		}
		name.n_rrsets = (uint32_t)n_rs;
		memcpy(zb_ptr(b, names_off + g * sizeof(struct zimg_name)), &name,
		       sizeof(name));
	}

	if (zb_soa(b, &zone.neg_soa, soa, rname, (size_t)rname_len, soa->ttls.neg) < 0)
		goto full;
	{
		/* RFC 8482 section 4.2: HINFO CPU "RFC8482", OS "". */
		static const uint8_t hinfo[] = { 7, 'R', 'F', 'C', '8', '4', '8', '2', 0 };
		uint32_t off = zb_alloc(b, ZB_RR_HDR + sizeof(hinfo));

		if (!off)
			goto full;
		zb_rr_hdr(zb_ptr(b, off), QUERY_TYPE_HINFO, soa->ttls.a, sizeof(hinfo));
		memcpy(zb_ptr(b, off) + ZB_RR_HDR, hinfo, sizeof(hinfo));
		zone.hinfo = (struct zimg_rrset){ .type = QUERY_TYPE_HINFO, .count = 1,
			.rrs_off = off, .rrs_len = ZB_RR_HDR + sizeof(hinfo) };
	}
	memcpy(zb_ptr(b, zone_off), &zone, sizeof(zone));
	return 0;
full:
	log_error("zone image: slot of %zu bytes is too small", b->cap);
	return -1;
}

int zimg_build(uint8_t *slot, size_t slot_size, const struct config *cfg,
	       const bool *published, uint32_t serial)
{
	struct zb b = { .slot = slot, .cap = slot_size, .pos = sizeof(struct zimg_slot) };
	struct zimg_slot hdr = { 0 };
	struct zb_names nm;
	struct zb_soa soa;
	size_t n_zones = 1 + cfg->n_alias_zones;
	int len;

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
	if (zb_names_make(&nm, cfg, published) < 0)
		return -1;
	hdr.zones_off = zb_alloc(&b, n_zones * sizeof(struct zimg_zone));
	if (!hdr.zones_off) {
		zb_names_free(&nm);
		log_error("zone image: slot of %zu bytes is too small", slot_size);
		return -1;
	}
	for (size_t z = 0; z < n_zones; z++) {
		const char *apex = z == 0 ? cfg->hosted_zone : cfg->alias_zones[z - 1];

		if (zb_zone(&b, hdr.zones_off + (uint32_t)(z * sizeof(struct zimg_zone)),
			    apex, cfg, published, &nm, &soa) < 0) {
			zb_names_free(&nm);
			return -1;
		}
	}
	zb_names_free(&nm);
	hdr.magic = ZIMG_SLOT_MAGIC;
	hdr.version = ZIMG_VERSION;
	hdr.used = (uint32_t)b.pos;
	hdr.serial = serial;
	hdr.n_zones = (uint32_t)n_zones;
	memcpy(slot, &hdr, sizeof(hdr));
	return 0;
}
