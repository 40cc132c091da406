/*
 * IXFR history (RFC 1995, DESIGN §9.2): the differences between
 * successive images, kept by the prober in the image's shm object after
 * the two slots, read by the workers. One entry per publish, at most
 * --ixfr-history of them and at most the area's bytes (the oldest go
 * first). The area has its own seqlock: the prober appends an entry
 * before it flips to the image the entry leads to, so a worker holding
 * an image with serial S finds every step up to S.
 *
 * An entry holds, per zone of the new image, the zone's difference in
 * IXFR order: the old SOA, the RRs deleted, the new SOA, the RRs added
 * (each RR whole: owner wire name + body, as zimg_iter gives them).
 */
#ifndef AHD_XFR_HIST_H
#define AHD_XFR_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct zimg;

/* Bytes of history area cfg needs beside slots of slot_size bytes
 * (0 when --ixfr-history is 0). */
size_t xfr_hist_area_size(const struct config *cfg, size_t slot_size);
/* zimg.c, once when it creates the image: an empty history of
 * cfg->ixfr_history entries in area[0..size). */
void xfr_hist_init(uint8_t *area, size_t size, const struct config *cfg);

/*
 * Prober, before the flip: record the difference from the image in
 * old_slot to the one in new_slot. A difference too large for the area,
 * or zones that do not match, empties the history (clients fall back to
 * AXFR). 0, or -1 (logged) if the slots do not check out.
 */
int xfr_hist_record(struct zimg *z, const uint8_t *old_slot, size_t old_size,
		    const uint8_t *new_slot, size_t new_size);

/*
 * Worker: the condensed difference for zone from serial `from` to serial
 * `to` (the serial of the image copy the caller serves), RFC 1995 section
 * 4: [SOA from][deleted RRs][SOA to][added RRs], each RR as
 * u16 owner_len, owner, u16 body_len, body. Returns a malloc'd buffer,
 * *len bytes, *n_rrs RRs; NULL when from..to is not in the history
 * (then the caller answers AXFR-style) or on out of memory.
 */
uint8_t *xfr_hist_diff(const struct zimg *z, unsigned zone, uint32_t from, uint32_t to,
		       size_t *len, size_t *n_rrs);

#endif
