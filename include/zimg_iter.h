/*
 * Every RR of one zone of an image slot, in order (DESIGN §9.1): what an
 * AXFR sends and what the IXFR history compares. The slot must not change
 * under the walk: a worker walks its private copy (zimg_copy_active), the
 * prober the slots only it writes. Offsets are bounds-checked against
 * size like every reader's.
 *
 * Order: names as the slot sorts them (the apex first), each name's
 * RRsets by type, each RRset's RRs, then that RRset's RRSIGs. Each RR
 * comes whole: its owner (full wire name, lower case, uncompressed) and
 * its body (TYPE CLASS TTL RDLENGTH RDATA) with the apex placeholders of
 * NS and SOA RDATA expanded to full names, so RDLENGTH is the real one.
 */
#ifndef AHD_ZIMG_ITER_H
#define AHD_ZIMG_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahd.h"

/* An RR body with every name in its RDATA expanded: SOA holds two names.
 * No walked body is longer (a longer one counts as a corrupt slot). */
#define ZIMG_ITER_RR_MAX (10u + 2u * AHD_MAX_NAME_WIRE + 20u + 4096u)

struct zimg_rr {
	const uint8_t *owner; /* full wire name */
	size_t owner_len;
	const uint8_t *body;  /* TYPE CLASS TTL RDLENGTH RDATA */
	size_t body_len;
	uint16_t type;        /* of the RR (46 for RRSIGs) */
	uint16_t set_type;    /* of the RRset it belongs to (the type an
			       * RRSIG covers) */
	bool sig;             /* an RRSIG of that RRset */
};

struct zimg_iter {
	const uint8_t *slot;
	size_t size;
	unsigned zone;
	/* the walk's position */
	uint32_t name, n_names, rrset, n_rrsets, rr, n_rr;
	size_t rrsets_at;     /* the current name's descriptors (checked) */
	bool in_sigs;
	size_t at;            /* offset of the next body in the RRset */
	unsigned ptr_k;       /* placeholders done in this RRset */
	uint8_t owner[AHD_MAX_NAME_WIRE];
	size_t owner_len;
	uint8_t apex[AHD_MAX_NAME_WIRE];
	size_t apex_len;
	uint8_t body[ZIMG_ITER_RR_MAX];
};

/* Number of zones in the slot, or -1 if the slot does not check out. */
int zimg_slot_zones(const uint8_t *slot, size_t size);
/* The zone whose apex is name (wire, lower case), or -1. */
int zimg_slot_find_zone(const uint8_t *slot, size_t size, const uint8_t *name,
			size_t name_len);
/* The slot's serial (0 if it does not check out). */
uint32_t zimg_slot_serial(const uint8_t *slot, size_t size);

/* 0, or -1 if zone is not in the slot. */
int zimg_iter_init(struct zimg_iter *it, const uint8_t *slot, size_t size, unsigned zone);
/* 1: *rr is the next RR (valid until the next call); 0: the end; -1:
 * the slot is corrupt. */
int zimg_iter_next(struct zimg_iter *it, struct zimg_rr *rr);
/* The zone's SOA as one RR (owner = apex), the RR AXFR and IXFR begin
 * and end with. 0 or -1. */
int zimg_iter_soa(struct zimg_iter *it, struct zimg_rr *rr);

#endif
