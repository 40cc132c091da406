/*
 * The zone image's layout, shared by zimg.c (the shm object and its
 * seqlock), zimg_build.c (the writer, zimg_build.h) and the answer code
 * (the readers, through zimg.h's read view). Plain data and constants:
 * it pulls in neither config.h nor log.h, so the query core can read it.
 * Everyone else uses zimg.h and answer.h.
 *
 * shm object:  [struct zimg_header][slot 0][slot 1][IXFR history]
 *              (the history area, hist_off/hist_size in the header, only
 *              with --ixfr-history: layout below, code in xfr_hist.c)
 * slot:        [struct zimg_slot][struct zimg_zone x n_zones] then, per
 *              zone, the apex name, its name table (struct zimg_name,
 *              sorted by key), the keys, the RRset descriptors and the
 *              pre-rendered RR bodies, in whatever order the builder
 *              emits them. Every reference is a uint32_t offset from the
 *              slot start; readers bounds-check each one against the slot
 *              size taken from the header when it was mapped, never
 *              against anything read from the slot.
 *
 * An RR body is an RR without its owner: TYPE CLASS TTL RDLENGTH RDATA,
 * so an answer writes a 2-byte compression pointer as the owner and
 * copies the body. An RRset's bodies lie back to back (count of them,
 * rrs_len bytes in all). Names in RDATA are uncompressed, except in the
 * apex NS and SOA RRsets and neg_soa (RFC 3597 section 4): a name ending
 * in the zone's apex (of 4 bytes or more) is stored as its labels above
 * the apex and ZIMG_APEX_PTR_PLACEHOLDER. Right after the bodies (at
 * rrs_off + rrs_len) lie n_ptrs big-endian uint16_t offsets of these
 * placeholders into the bodies, ascending; an answer overwrites each with
 * a pointer to the apex suffix of the question name. Any other name (out
 * of zone, or in alias zones the hosted zone's names) stays whole.
 * Signatures cover the uncompressed RDATA, rendered before compression.
 * Version 2 added n_ptrs (version 1 readers would copy the placeholders).
 * Version 3 added the IXFR history area (hist_off, hist_size) and the
 * transfer access list (zimg_slot.acl_off).
 *
 * Signed images (zimg_slot.flags & ZIMG_SLOT_SIGNED; every zone then has
 * ZIMG_ZONE_SIGNED), RFC 4033-4035, one key (DNSKEY flags 257):
 *   - Every RRset of every name, apex included, has its RRSIG bodies in
 *     sigs_off/sigs_len/sig_count (same body format: TYPE=RRSIG CLASS TTL
 *     RDLENGTH RDATA, signer name uncompressed, lower case; RRSIG TTL =
 *     the RRset's TTL). Written as the answer/authority RRs right after
 *     the RRset, with the same owner pointer.
 *   - Apex (names[0], key_len 0, ZIMG_NAME_APEX): RRsets NS, SOA, NSEC,
 *     DNSKEY (sorted by type like every rrsets array).
 *   - Every other name with RRsets: A and/or AAAA, then its NSEC RRset
 *     (type 47, one RR: next owner uncompressed lower case, type bitmap
 *     with its types + RRSIG + NSEC). Empty non-terminals
 *     (ZIMG_NAME_ENT) have no RRsets and no NSEC (RFC 4035 section 2.3).
 *     Names with no published address are not in the table at all.
 *   - zone.neg_soa carries the SOA's RRSIG with the RR TTL lowered to
 *     the negative TTL (the signature's original TTL field is the SOA
 *     TTL, so it still validates: RFC 4035 section 5.3.3).
 *   - zone.nsec_idx_off: uint32_t[n_names]. Entry i is the index of the
 *     greatest name j <= i that has an NSEC RRset (j == i unless i is an
 *     empty non-terminal; entry 0 is 0, the apex). The NSEC of names[j]
 *     therefore covers every name sorting after names[i] and before
 *     names[i + 1]:
 *       NXDOMAIN: a failed binary search ends with lo = the insertion
 *         point; names[nsec_idx[lo - 1]]'s NSEC covers the qname
 *         (lo >= 1 always: the apex sorts first). The wildcard
 *         "*.<closest encloser>" sorts right after the closest encloser
 *         (name ce, found by searching the qname's suffixes), since '*'
 *         (0x2a) is below every LDH byte: names[nsec_idx[ce]]'s NSEC
 *         covers it (the apex NSEC when the closest encloser is the apex).
 *       NODATA at a name with RRsets: its own NSEC (the type is absent
 *         from its bitmap). NODATA at an empty non-terminal i:
 *         names[nsec_idx[i]]'s NSEC, whose next name lies below the ENT
 *         (RFC 4035 section 3.1.3.2; RFC 4035 section 2.3 gives ENTs no
 *         NSEC of their own).
 *     Offset 0 in unsigned images.
 *   - The DNSKEY RRset (flags 257, one key) is found at the apex like
 *     any RRset: names[0], type 48. Signed and unsigned images share
 *     ZIMG_VERSION 1: an unsigned reader ignores sigs_* and NSEC/DNSKEY
 *     RRsets are just RRsets to it.
 *   - zone.hinfo stays unsigned (RFC 8482 section 4.1: signed zones
 *     answer ANY with one existing, signed RRset instead).
 *   - Slot size: zimg_build_slot_size() reserves room for the NSEC and
 *     RRSIGs of every name when cfg->priv_key_path is set, with the
 *     signature size of cfg->priv_key_alg (RSA up to 4096 bits: 512
 *     bytes).
 */
#ifndef AHD_ZIMG_FORMAT_H
#define AHD_ZIMG_FORMAT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "seqlock.h"
#include "wire.h"

#define ZIMG_MAGIC 0x5a444841u /* "AHDZ" little-endian */
#define ZIMG_VERSION 3u
#define ZIMG_SLOT_MAGIC 0x544f4c53u /* "SLOT" */
#define ZIMG_HEADER_SIZE 128u
/* Offsets are uint32_t. */
#define ZIMG_SLOT_MAX 0xfffff000u
#define ZIMG_ALIGN 8u

struct zimg_header {
	uint32_t magic;
	uint32_t version;
	uint64_t total_size;
	uint64_t slot_size;
	uint64_t slot_off[2];
	uint32_t header_size;
	uint32_t reserved0;
	struct seqlock lock;
	_Atomic uint64_t generation;
	/* The IXFR history area: both 0 without one, else hist_off is
	 * right after slot 1 and the area ends the object. */
	uint64_t hist_off;
	uint64_t hist_size;
	uint8_t reserved[32];
};
_Static_assert(sizeof(struct zimg_header) == ZIMG_HEADER_SIZE, "shm header size is part of the format");
_Static_assert(offsetof(struct zimg_header, slot_off) == 24, "shm header layout is part of the format");
_Static_assert(offsetof(struct zimg_header, lock) == 48, "shm header layout is part of the format");
_Static_assert(offsetof(struct zimg_header, generation) == 72, "shm header layout is part of the format");
_Static_assert(offsetof(struct zimg_header, hist_off) == 80, "shm header layout is part of the format");

/* Room for RRSIGs lives beside each RRset (sigs_*: zero until DNSSEC). */
struct zimg_rrset {
	uint16_t type;
	uint16_t count;    /* RRs */
	uint32_t rrs_off;  /* RR bodies */
	uint32_t rrs_len;
	uint32_t sigs_off; /* RRSIG bodies, same format */
	uint32_t sigs_len;
	uint16_t sig_count;
	uint16_t n_ptrs;   /* apex pointer placeholders in the RR bodies */
};
_Static_assert(sizeof(struct zimg_rrset) == 24, "slot layout");

/* An RR body's fixed part: TYPE CLASS TTL RDLENGTH. */
#define ZIMG_RR_HDR 10u

static inline void zimg_rr_hdr(uint8_t *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	wire_store_u16(p, type);
	wire_store_u16(p + 2, 1); /* class IN */
	wire_store_u32(p + 4, ttl);
	wire_store_u16(p + 8, rdlen);
}

/* The 2-byte pointer the builder leaves where an NS or SOA RDATA name
 * reaches the apex; answers overwrite it. */
#define ZIMG_APEX_PTR_PLACEHOLDER 0xc000u

/*
 * Point the placeholders of one copied RR body at the apex: ptrs holds
 * n_ptrs big-endian offsets into the RR bodies, ascending, *k of them done;
 * the body at [used, used + body_len) of the bodies was copied to dst.
 * false if an offset does not lie in this body's RDATA (a corrupt slot).
 */
static inline bool zimg_patch_apex_ptrs(const uint8_t *ptrs, unsigned n_ptrs, unsigned *k,
					size_t used, size_t body_len, uint8_t *dst,
					uint16_t apex_ptr)
{
	while (*k < n_ptrs) {
		size_t at = ((size_t)ptrs[2 * *k] << 8) | ptrs[2 * *k + 1];

		if (at >= used + body_len)
			break;
		if (at < used + 10 || body_len - (at - used) < 2)
			return false;
		dst[at - used] = (uint8_t)(apex_ptr >> 8);
		dst[at - used + 1] = (uint8_t)apex_ptr;
		(*k)++;
	}
	return true;
}

#define ZIMG_NAME_APEX 0x0001u
#define ZIMG_NAME_ENT 0x0002u /* empty non-terminal: exists, no RRsets */

struct zimg_name {
	uint32_t key_off; /* dname_key() of the name relative to the apex */
	uint16_t key_len;
	uint16_t flags;
	uint32_t rrsets_off; /* struct zimg_rrset[n_rrsets], sorted by type */
	uint32_t n_rrsets;
};
_Static_assert(sizeof(struct zimg_name) == 16, "slot layout");

struct zimg_zone {
	uint32_t apex_off; /* lower-case wire name */
	uint16_t apex_len;
	uint16_t reserved0;
	uint32_t names_off; /* struct zimg_name[n_names], sorted by key */
	uint32_t n_names;
	struct zimg_rrset neg_soa; /* SOA with TTL min(SOA TTL, MINIMUM) */
	struct zimg_rrset hinfo;   /* RFC 8482 section 4.2 ANY answer (unsigned) */
	uint32_t flags;            /* ZIMG_ZONE_SIGNED */
	uint32_t nsec_idx_off;     /* uint32_t[n_names], signed images only */
	uint32_t reserved[2];
};
_Static_assert(sizeof(struct zimg_zone) == 80, "slot layout");

#define ZIMG_ZONE_SIGNED 0x0001u
#define ZIMG_SLOT_SIGNED 0x0001u

struct zimg_slot {
	uint32_t magic;
	uint32_t version;
	uint32_t used; /* bytes of the slot in use */
	uint32_t serial;
	uint32_t zones_off; /* struct zimg_zone[n_zones] */
	uint32_t n_zones;
	uint32_t flags;
	/* Who may transfer the zones (--transfer-allow, DESIGN §9.3): a
	 * uint32_t count, then struct zimg_acl[count]. It travels with the
	 * image so a reload changes it without restarting the workers.
	 * 0: nobody. */
	uint32_t acl_off;
};
_Static_assert(sizeof(struct zimg_slot) == 32, "slot layout");

struct zimg_acl {
	uint8_t family; /* 4 or 6 */
	uint8_t len;    /* prefix bits; host bits are zero */
	uint8_t reserved[2];
	uint8_t addr[16];
};
_Static_assert(sizeof(struct zimg_acl) == 20, "slot layout");
/* Room every slot keeps for the list, whatever its length today. */
#define ZIMG_ACL_ROOM(max) (sizeof(uint32_t) + (max) * sizeof(struct zimg_acl) + ZIMG_ALIGN)

/* The RRSIG TYPE the signature bodies carry, the NSEC and DNSKEY types. */
#define ZIMG_TYPE_RRSIG 46u
#define ZIMG_TYPE_NSEC 47u
#define ZIMG_TYPE_DNSKEY 48u
#define ZIMG_TYPE_CDS 59u
#define ZIMG_TYPE_CDNSKEY 60u

/*
 * The IXFR history area (xfr_hist.h, DESIGN §9.2):
 *   [struct zimg_hist][struct zimg_hist_desc x max_entries][data]
 * The descriptors are a ring (first: the oldest, count live), each
 * pointing at one entry in data, itself a ring of whole entries (one
 * never wraps). Only the prober writes, under lock.seq[0] (odd while it
 * writes; lock.active stays 0), so readers use seqlock_read_begin /
 * seqlock_read_retry on slot 0 and bounds-check everything against the
 * area size taken from the image header when it was mapped.
 *
 * An entry: struct zimg_hist_entry (host order, like the headers), then
 *   per zone of the new image, in its order, big-endian like the wire:
 *   u16 apex_len, apex, u32 n_del, u32 n_add, then the RRs: the old SOA,
 *   n_del deleted RRs, the new SOA, n_add added RRs, each RR as
 *   u16 owner_len, owner, u16 body_len, body (zimg_iter's RRs, in the
 *   IXFR order of RFC 1995 section 4, as xfr_hist_diff returns them).
 */
#define ZIMG_HIST_MAGIC 0x54534948u /* "HIST" */

struct zimg_hist {
	uint32_t magic;
	uint32_t max_entries;
	uint32_t table_off; /* from the area start */
	uint32_t data_off;
	uint64_t data_size;
	struct seqlock lock;
	uint32_t first; /* descriptor index of the oldest entry */
	uint32_t count; /* live entries */
	uint64_t reserved;
};
_Static_assert(sizeof(struct zimg_hist) == 64, "history layout");

struct zimg_hist_desc {
	uint32_t from_serial;
	uint32_t to_serial;
	uint32_t off; /* in data */
	uint32_t len;
};
_Static_assert(sizeof(struct zimg_hist_desc) == 16, "history layout");

struct zimg_hist_entry {
	uint32_t from_serial;
	uint32_t to_serial;
	uint32_t bytes; /* the whole entry, this header included */
	uint32_t n_zones;
};
_Static_assert(sizeof(struct zimg_hist_entry) == 16, "history layout");

#endif
