/*
 * The zone image in POSIX shared memory.
 *
 * One shm object: a fixed header, then two slots. The prober (the only
 * writer) builds the next zone into the inactive slot under that slot's
 * sequence counter (odd while writing), then flips the active index.
 * Workers map it read-only and answer with a seqlock read: load the active
 * index and the slot's sequence, build the answer with every offset
 * bounds-checked against the slot, re-load the sequence, retry on change.
 * The layout uses offsets, never pointers, and is pinned with
 * _Static_assert; see zimg.c for the slot format.
 *
 * Who does what:
 *   supervisor: zimg_create() -> publishes the initial image (static
 *               records only: health-checked addresses not yet checked
 *               are not published), passes a read-write fd to the
 *               prober and a read-only fd to workers, zimg_unlink() at
 *               exit.
 *   prober:     zimg_map(fd, writable) + zimg_publish() on every change.
 *   workers:    zimg_map(fd, read-only) + answer_query() (answer.h).
 *   status/dump subcommands: zimg_open(name) read-only.
 */
#ifndef AHD_ZIMG_H
#define AHD_ZIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config.h"

struct zimg; /* one mapping of an image (shm or plain memory) */

/* Create (replacing a stale object of that name) and size the shm object
 * for cfg, mode 0644 (zone data is public; status must work
 * unprivileged), and map it read-write. *ro_fd receives an fd opened
 * O_RDONLY on the object, without FD_CLOEXEC, for the workers (the
 * prober, forked, writes through the inherited mapping). Returns NULL
 * and logs on error. */
struct zimg *zimg_create(const char *shm_name, const struct config *cfg, int *ro_fd);
/* Map an inherited fd. Validates magic, version and sizes; a header that
 * does not check out is refused (NULL), never trusted. */
struct zimg *zimg_map(int fd, bool writable);
/* Open by name read-only (dump), only an object shm_open_trusted
 * trusts; NULL (logged) otherwise. */
struct zimg *zimg_open(const char *shm_name);
/* An image in plain memory, for tests and fuzzing. */
struct zimg *zimg_new_mem(const struct config *cfg);
void zimg_close(struct zimg *z);
int zimg_unlink(const char *shm_name);

/*
 * Build the zone for cfg into the inactive slot and make it active.
 * published[i] says whether address i of the flat address list
 * (config_entry.first_addr + j) is in the answers; NULL publishes only
 * the static (bare-list) addresses. Static addresses are always
 * published whatever published[] says. The serial is strictly greater
 * (RFC 1982) than the previous image's: max(now, previous + 1).
 * *serial_out (may be NULL) receives it. Returns 0 or -1 (logged).
 */
int zimg_publish(struct zimg *z, const struct config *cfg,
		 const bool *published, uint32_t *serial_out);

/*
 * DNSSEC signing of published images (prober only: it holds the key).
 *
 * A signer keeps, on the heap, the RRSIG of every RRset it signed, keyed
 * by (zone index, owner, type, the RRset's exact wire form). A publish
 * reuses a cached signature while the RRset is unchanged and at least
 * sig_refresh seconds of its validity remain (config_ttls()); anything
 * else is signed anew with inception = now - sig_backdate and
 * expiration = now + sig_lifetime - a jitter of 0..sig_jitter fixed per
 * owner and type. So one health change re-signs only
 * what changed: the name's A/AAAA RRset, each zone's SOA (new serial),
 * and the NSEC RRsets whose next name or type bitmap changed. Entries
 * not used by a successful publish are dropped.
 *
 * Images are sized for signatures only if cfg->priv_key_path is set
 * (zimg_create / zimg_new_mem size the slots from cfg, per
 * cfg->priv_key_alg): keep it set in the config the prober gets.
 */
struct dnssec_key;
struct zimg_signer;

/* Counters of a signer: totals, and those of the last publish. */
struct zimg_signer_stats {
	uint64_t sigs_made;     /* RRSIGs computed (private-key operations) */
	uint64_t sigs_reused;   /* RRSIGs taken from the cache */
	uint64_t last_made;
	uint64_t last_reused;
	size_t cached;          /* cache entries now */
};

/* A signer for key, which it borrows (free the key after the signer).
 * NULL on out of memory (logged). */
struct zimg_signer *zimg_signer_new(struct dnssec_key *key);
void zimg_signer_free(struct zimg_signer *s);
void zimg_signer_stats(const struct zimg_signer *s, struct zimg_signer_stats *out);
/* Whether a publish at now would re-sign a signature of the last
 * successful one: less than the refresh time left, or the clock set back
 * before an inception. The prober asks this every round, so signatures
 * are renewed with no health change to trigger a publish. */
bool zimg_signer_due(const struct zimg_signer *s, time_t now);
/* Call tick(arg) after every signature made: signing a large zone takes
 * seconds (about 1 ms per RRSIG with RSA-2048), and the prober's
 * heartbeat must go on meanwhile. */
void zimg_signer_set_tick(struct zimg_signer *s, void (*tick)(void *arg), void *arg);

/*
 * zimg_publish(), signed by signer at time now (signer NULL: unsigned,
 * exactly zimg_publish with that clock). The serial is max(now, previous
 * + 1) as for zimg_publish.
 */
int zimg_publish_signed(struct zimg *z, const struct config *cfg, const bool *published,
			struct zimg_signer *signer, time_t now, uint32_t *serial_out);

/*
 * Print the active image (one consistent copy, taken under the seqlock)
 * in master-file format (RFC 1035 section 5), absolute names, every zone
 * in turn, each introduced by a "; zone <apex> serial <n>" comment line:
 * what ldns-verify-zone and dnssec-verify read. zimg_dump_zone prints
 * zone index zone only (0: the hosted zone, i: alias_zones[i - 1]).
 * Returns 0, or -1 if there is no image or it does not check out.
 */
int zimg_dump(const struct zimg *z, FILE *out);
int zimg_dump_zone(const struct zimg *z, size_t zone, FILE *out);

/* Bytes per slot that cfg needs (0: cfg cannot fit the format at all)
 * and bytes per slot this mapping has: a reload whose zone needs more
 * than the shm object was created with needs a restart. */
size_t zimg_slot_need(const struct config *cfg);
size_t zimg_slot_have(const struct zimg *z);

/* Serial of the active image (seqlock read). */
uint32_t zimg_serial(const struct zimg *z);
/* How many images were published since the object was created. */
uint64_t zimg_generation(const struct zimg *z);

#endif
