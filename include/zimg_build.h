/*
 * The image's writer: config + health -> one slot in the layout of
 * zimg_format.h. zimg.c calls it when it publishes; it calls nothing of
 * zimg.c (it writes into the bytes it is given). Signatures come from a
 * signer (zsign.h).
 */
#ifndef AHD_ZIMG_BUILD_H
#define AHD_ZIMG_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;
struct zimg_signer;

/* zimg_size.c: an upper bound of the slot size cfg can need, or 0 if
 * cfg cannot fit the format. */
size_t zimg_build_slot_size(const struct config *cfg);
/* What cfg needs at least, without the headroom: a reload fits a slot
 * of zimg_build_slot_size(boot config) if this is no larger. */
size_t zimg_build_slot_fit(const struct config *cfg);
/* zimg_size.c: labels of a text name (dots + 1), so of its ancestors. */
size_t zimg_label_count(const char *name);
/* Render cfg into slot[0..slot_size). Returns 0 or -1 (logged). */
int zimg_build(uint8_t *slot, size_t slot_size, const struct config *cfg,
	       const bool *published, uint32_t serial);
/* The same, signed with signer (NULL: unsigned, as zimg_build) at time
 * now. */
int zimg_build_signed(uint8_t *slot, size_t slot_size, const struct config *cfg,
		      const bool *published, uint32_t serial, struct zimg_signer *signer,
		      time_t now);

#endif
