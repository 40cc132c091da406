/*
 * Every RR of one zone of a slot (zimg_iter.h): the AXFR stream and what
 * the IXFR history compares (DESIGN §9.1). The slot is private to the
 * caller (a copy, or the prober's own), but it is still outside input:
 * every offset and length is checked against size before it is followed,
 * and descriptors are copied out (memcpy) so no alignment is assumed.
 */
#include "zimg_iter.h"

#include <string.h>

#include "dname.h"
#include "wire.h"
#include "zimg_format.h"

#define ZITER_TYPE_SOA 6u

static bool ziter_in(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* The slot header, if it checks out. */
static bool ziter_slot(const uint8_t *slot, size_t size, struct zimg_slot *h)
{
	if (slot == NULL || size < sizeof(*h))
		return false;
	memcpy(h, slot, sizeof(*h));
	return h->magic == ZIMG_SLOT_MAGIC && h->version == ZIMG_VERSION &&
	       h->zones_off % ZIMG_ALIGN == 0 &&
	       ziter_in(size, h->zones_off, (uint64_t)h->n_zones * sizeof(struct zimg_zone));
}

int zimg_slot_zones(const uint8_t *slot, size_t size)
{
	struct zimg_slot h;

	if (!ziter_slot(slot, size, &h) || h.n_zones > 0x7fffffffu)
		return -1;
	return (int)h.n_zones;
}

uint32_t zimg_slot_serial(const uint8_t *slot, size_t size)
{
	struct zimg_slot h;

	return ziter_slot(slot, size, &h) ? h.serial : 0;
}

/* Zone i's descriptor, its apex and name table in the slot. */
static bool ziter_zone(const uint8_t *slot, size_t size, unsigned i, struct zimg_zone *zn)
{
	struct zimg_slot h;

	if (!ziter_slot(slot, size, &h) || i >= h.n_zones)
		return false;
	memcpy(zn, slot + h.zones_off + (size_t)i * sizeof(*zn), sizeof(*zn));
	return zn->apex_len > 0 && zn->apex_len <= AHD_MAX_NAME_WIRE &&
	       ziter_in(size, zn->apex_off, zn->apex_len) &&
	       zn->names_off % ZIMG_ALIGN == 0 &&
	       ziter_in(size, zn->names_off, (uint64_t)zn->n_names * sizeof(struct zimg_name));
}

int zimg_slot_find_zone(const uint8_t *slot, size_t size, const uint8_t *name, size_t name_len)
{
	int n = zimg_slot_zones(slot, size);

	for (int i = 0; i < n; i++) {
		struct zimg_zone zn;

		if (!ziter_zone(slot, size, (unsigned)i, &zn))
			return -1;
		if (zn.apex_len == name_len && memcmp(slot + zn.apex_off, name, name_len) == 0)
			return i;
	}
	return -1;
}

int zimg_iter_init(struct zimg_iter *it, const uint8_t *slot, size_t size, unsigned zone)
{
	struct zimg_zone zn;

	if (!ziter_zone(slot, size, zone, &zn) ||
	    dname_check(slot + zn.apex_off, zn.apex_len) < 0)
		return -1;
	memset(it, 0, offsetof(struct zimg_iter, body));
	it->slot = slot;
	it->size = size;
	it->zone = zone;
	it->n_names = zn.n_names;
	/* "sigs done" with no RRset left: the first next() loads name 0. */
	it->in_sigs = true;
	memcpy(it->apex, slot + zn.apex_off, zn.apex_len);
	it->apex_len = zn.apex_len;
	return 0;
}

/* Name i's entry: its owner into it->owner, its RRsets' count. */
static bool ziter_load_name(struct zimg_iter *it, uint32_t i)
{
	struct zimg_zone zn;
	struct zimg_name nm;

	if (!ziter_zone(it->slot, it->size, it->zone, &zn) || i >= zn.n_names)
		return false;
	memcpy(&nm, it->slot + zn.names_off + (size_t)i * sizeof(nm), sizeof(nm));
	if (!ziter_in(it->size, nm.key_off, nm.key_len) ||
	    !ziter_in(it->size, nm.rrsets_off, (uint64_t)nm.n_rrsets * sizeof(struct zimg_rrset)) ||
	    (nm.n_rrsets && nm.rrsets_off % ZIMG_ALIGN != 0))
		return false;
	/* The apex sorts first and alone has the empty key. */
	if ((i == 0) != (nm.key_len == 0))
		return false;
	if (nm.key_len == 0) {
		memcpy(it->owner, it->apex, it->apex_len);
		it->owner_len = it->apex_len;
	} else {
		it->owner_len = dname_from_key(it->slot + nm.key_off, nm.key_len, it->apex,
					       it->apex_len, it->owner);
		if (it->owner_len == 0)
			return false;
	}
	it->n_rrsets = nm.n_rrsets;
	it->rrset = 0;
	return true;
}

/* RRset j of the current name (it->name - 1), checked to lie in the slot. */
static bool ziter_rrset(const struct zimg_iter *it, uint32_t j, struct zimg_rrset *rs)
{
	struct zimg_zone zn;
	struct zimg_name nm;

	if (it->name == 0 || !ziter_zone(it->slot, it->size, it->zone, &zn) ||
	    it->name > zn.n_names)
		return false;
	memcpy(&nm, it->slot + zn.names_off + (size_t)(it->name - 1) * sizeof(nm), sizeof(nm));
	if (j >= nm.n_rrsets ||
	    !ziter_in(it->size, nm.rrsets_off, (uint64_t)nm.n_rrsets * sizeof(*rs)))
		return false;
	memcpy(rs, it->slot + nm.rrsets_off + (size_t)j * sizeof(*rs), sizeof(*rs));
	return ziter_in(it->size, rs->rrs_off, (uint64_t)rs->rrs_len + 2u * rs->n_ptrs) &&
	       ziter_in(it->size, rs->sigs_off, rs->sigs_len);
}

/*
 * The body at bodies[at..) of an RRset's bodies[0..len) into *rr, the
 * placeholders listed in ptrs[0..n_ptrs) (*k done) expanded to the apex
 * in buf. *next: the offset of the following body. false: corrupt.
 */
static bool ziter_body(const struct zimg_iter *it, const uint8_t *bodies, size_t len,
		       size_t at, const uint8_t *ptrs, unsigned n_ptrs, unsigned *k,
		       uint8_t *buf, struct zimg_rr *rr, size_t *next)
{
	size_t blen, o = ZIMG_RR_HDR, from = at + ZIMG_RR_HDR;

	if (len - at < ZIMG_RR_HDR)
		return false;
	blen = ZIMG_RR_HDR + wire_load_u16(bodies + at + 8);
	if (blen > len - at)
		return false;
	*next = at + blen;
	rr->type = wire_load_u16(bodies + at);
	if (*k >= n_ptrs || wire_load_u16(ptrs + 2u * *k) >= at + blen) {
		rr->body = bodies + at;
		rr->body_len = blen;
		return true;
	}
	memcpy(buf, bodies + at, ZIMG_RR_HDR);
	for (; *k < n_ptrs; (*k)++) {
		size_t p = wire_load_u16(ptrs + 2u * *k);

		if (p >= at + blen)
			break;
		if (p < from || at + blen - p < 2 ||
		    wire_load_u16(bodies + p) != ZIMG_APEX_PTR_PLACEHOLDER ||
		    o + (p - from) + it->apex_len > ZIMG_ITER_RR_MAX)
			return false;
		memcpy(buf + o, bodies + from, p - from);
		o += p - from;
		memcpy(buf + o, it->apex, it->apex_len);
		o += it->apex_len;
		from = p + 2;
	}
	if (o + (at + blen - from) > ZIMG_ITER_RR_MAX ||
	    o + (at + blen - from) - ZIMG_RR_HDR > UINT16_MAX)
		return false;
	memcpy(buf + o, bodies + from, at + blen - from);
	o += at + blen - from;
	wire_store_u16(buf + 8, (uint16_t)(o - ZIMG_RR_HDR));
	rr->body = buf;
	rr->body_len = o;
	return true;
}

/* The next RR of the current RRset part (RRs or RRSIGs). 1, or -1. */
static int ziter_emit(struct zimg_iter *it, struct zimg_rr *rr)
{
	struct zimg_rrset rs;
	const uint8_t *bodies;
	size_t len, next;

	if (!ziter_rrset(it, it->rrset - 1, &rs))
		return -1;
	bodies = it->slot + (it->in_sigs ? rs.sigs_off : rs.rrs_off);
	len = it->in_sigs ? rs.sigs_len : rs.rrs_len;
	if (!ziter_body(it, bodies, len, it->at, bodies + len, it->in_sigs ? 0 : rs.n_ptrs,
			&it->ptr_k, it->body, rr, &next))
		return -1;
	if (it->in_sigs && rr->type != ZIMG_TYPE_RRSIG)
		return -1;
	it->at = next;
	it->rr++;
	rr->owner = it->owner;
	rr->owner_len = it->owner_len;
	rr->set_type = rs.type;
	rr->sig = it->in_sigs;
	return 1;
}

/* The part of the current RRset just finished must have been consumed
 * whole: what is left over means the counts and lengths disagree. */
static bool ziter_part_done(const struct zimg_iter *it)
{
	struct zimg_rrset rs;

	if (it->rrset == 0)
		return true;
	if (!ziter_rrset(it, it->rrset - 1, &rs))
		return false;
	if (it->in_sigs)
		return it->at == rs.sigs_len;
	return it->at == rs.rrs_len && it->ptr_k == rs.n_ptrs;
}

int zimg_iter_next(struct zimg_iter *it, struct zimg_rr *rr)
{
	for (;;) {
		struct zimg_rrset rs;

		if (it->rr < it->n_rr)
			return ziter_emit(it, rr);
		if (!ziter_part_done(it))
			return -1;
		if (!it->in_sigs) {
			if (!ziter_rrset(it, it->rrset - 1, &rs))
				return -1;
			it->in_sigs = true;
			it->rr = 0;
			it->n_rr = rs.sig_count;
			it->at = 0;
			continue;
		}
		if (it->rrset < it->n_rrsets) {
			if (!ziter_rrset(it, it->rrset, &rs))
				return -1;
			it->rrset++;
			it->in_sigs = false;
			it->rr = 0;
			it->n_rr = rs.count;
			it->at = 0;
			it->ptr_k = 0;
			continue;
		}
		if (it->name >= it->n_names)
			return 0;
		if (!ziter_load_name(it, it->name))
			return -1;
		it->name++;
	}
}

int zimg_iter_soa(struct zimg_iter *it, struct zimg_rr *rr)
{
	struct zimg_iter at = *it;
	struct zimg_rrset rs;
	size_t next;
	unsigned k = 0;

	/* A private cursor on the apex: the walk in *it goes on untouched,
	 * only its body buffer (valid until the next call) is reused. */
	if (at.n_names == 0 || !ziter_load_name(&at, 0))
		return -1;
	at.name = 1;
	for (uint32_t j = 0; j < at.n_rrsets; j++) {
		if (!ziter_rrset(&at, j, &rs))
			return -1;
		if (rs.type != ZITER_TYPE_SOA)
			continue;
		if (rs.count != 1 ||
		    !ziter_body(&at, it->slot + rs.rrs_off, rs.rrs_len, 0,
				it->slot + rs.rrs_off + rs.rrs_len, rs.n_ptrs, &k, it->body, rr,
				&next) ||
		    rr->type != ZITER_TYPE_SOA)
			return -1;
		rr->owner = it->apex;
		rr->owner_len = it->apex_len;
		rr->set_type = ZITER_TYPE_SOA;
		rr->sig = false;
		return 0;
	}
	return -1;
}
