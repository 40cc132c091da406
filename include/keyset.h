/*
 * The zone's DNSSEC keys at run time (DESIGN §13): the supervisor reads
 * every --priv-key-path as root and hands them to the prober in one
 * sealed memfd (keyset_bundle); the prober loads them (keyset_load),
 * plans the rollover at each round (keyroll.h) and tells its signer
 * which keys publish and sign (keyset_step).
 *
 * The memfd holds "AHDKEYS1\n", then per key "<length>\n" and that many
 * bytes of PEM, in the order of cfg->keys. Anything else is one PEM
 * key (what a single --priv-key-path always was).
 */
#ifndef AHD_KEYSET_H
#define AHD_KEYSET_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct stats;
struct zimg_signer;
struct keyset;

/* Supervisor: read and check every key (refusing, with one line naming
 * --priv-key-path, a key that does not load), log each key's tag and
 * the DS of every KSK/CSK, and return the sealed memfd, or -1. */
int keyset_bundle(const struct config *cfg);

/* Supervisor, on SIGHUP: refuse (-1, one log line) a configuration
 * that drops a key the zone still publishes or signs with (the prober's
 * table in st): the zone would go bogus at once, with no wait. */
int keyset_reload_check(const struct stats *st, const struct config *next);

/*
 * Prober: the keys from fd (closed here) or, with fd < 0, from the
 * paths; each with its role's DNSKEY flags, and a signer for them all.
 * stats (may be NULL): where the previous prober left what it served.
 * NULL after one line on stderr. Without keys (cfg->n_keys 0 and fd <
 * 0): NULL, and *none set.
 */
struct keyset *keyset_load(const struct config *cfg, int fd, struct stats *stats, bool *none);
void keyset_free(struct keyset *ks);
struct zimg_signer *keyset_signer(const struct keyset *ks);

/* Plan at now (Unix time) if a plan is due; log every key whose state
 * changes and every step held back (once, with when it becomes safe);
 * publish the key table. True if what the keys do changed: the zone must
 * be published again. */
bool keyset_step(struct keyset *ks, int64_t now);

#endif
