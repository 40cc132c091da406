/*
 * The DNSSEC key table of the stats object (DESIGN §13): one row per
 * --priv-key-path, written by the prober after every rollover plan
 * under a two-slot seqlock, read by `status` and by the next prober
 * (a SIGHUP restarts the prober; the history of what was served, which
 * the rollover waits are counted from, must outlive it).
 */
#ifndef AHD_STATS_KEYS_H
#define AHD_STATS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "keyroll.h"
#include "seqlock.h"

struct stats;

#define STATS_KEY_PATH_MAX 256
#define STATS_KEY_WHY_MAX 160

/* One key (keyroll.h for the meanings). */
struct stats_key {
	char path[STATS_KEY_PATH_MAX];
	char next_what[16];              /* "activate", ..., "held", "" */
	char held_why[STATS_KEY_WHY_MAX]; /* "" unless a step waits */
	int64_t since;                   /* KEYROLL_ALWAYS: unknown */
	int64_t next;                    /* KEYROLL_NEVER: none */
	int64_t hist[4];                 /* published, signing, unsigned_at, removed */
	uint16_t tag;
	uint8_t alg;
	uint8_t role;                    /* enum keyroll_role */
	uint8_t state;                   /* enum keyroll_state */
	uint8_t publish;
	uint8_t sign;
	uint8_t pad[1];
};
_Static_assert(sizeof(struct stats_key) == 488, "stats_key layout is part of the shm format");

struct stats_key_slot {
	uint32_t n_keys;
	uint32_t pad;
	int64_t planned; /* Unix time of this plan, 0: never */
	struct stats_key keys[KEYROLL_MAX];
};

struct stats_keys {
	struct seqlock lock;
	struct stats_key_slot slot[2];
};

/* Prober: publish the table (n <= KEYROLL_MAX rows). */
void stats_keys_publish(struct stats *st, const struct stats_key *rows, size_t n, int64_t now);
/* Read a consistent copy: *n rows (0 if no prober has planned yet) and
 * when. Returns 0, or -1 if no consistent copy could be had. */
int stats_keys_read(const struct stats *st, struct stats_key *rows, size_t *n, int64_t *planned);

#endif
