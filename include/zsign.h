/*
 * The RRSIG cache of published images (prober only: it holds the key).
 * zimg_build.c signs through it; zimg_publish_signed (zimg.h) takes one.
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
#ifndef AHD_ZSIGN_H
#define AHD_ZSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keyroll.h"

struct dnssec_key;
struct zimg_signer;

/* Counters of a signer: totals, and those of the last publish. */
struct zimg_signer_stats {
	uint64_t sigs_made;     /* RRSIGs computed (private-key operations) */
	uint64_t sigs_reused;   /* RRSIGs taken from the cache */
	uint64_t last_made;
	uint64_t last_reused;
	size_t cached;          /* cache entries now */
	uint64_t last_sign_ns;  /* the last build's time in private-key operations */
	int64_t oldest_expiry;  /* the earliest RRSIG expiration the last
				 * successful build used (Unix time), 0: none */
};

/* A signer for key, which it borrows (free the key after the signer).
 * NULL on out of memory (logged). */
struct zimg_signer *zimg_signer_new(struct dnssec_key *key);
/* A signer for n keys (1..KEYROLL_MAX), borrowed likewise; at first
 * each key is published and signs everything, and there is no CDS. */
struct zimg_signer *zimg_signer_new_set(struct dnssec_key *const *keys, size_t n);

/* What the keys do (DESIGN §13), bit i for keys[i]: publish in the
 * DNSKEY RRset, sign zone data, sign DNSKEY/CDS/CDNSKEY, have a CDS and
 * CDNSKEY at the apex (or cds_delete: the RFC 8078 delete form). A change
 * re-signs what it touches at the next publish. */
struct zimg_signer_use {
	uint32_t publish, zone, keyset, cds;
	bool cds_delete;
};
void zimg_signer_set_use(struct zimg_signer *s, const struct zimg_signer_use *use);
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
 * The builder's side (zimg_build.c). A build calls zimg_signer_begin,
 * then zimg_signer_sign for every RRset of every zone, then
 * zimg_signer_end (ok: the build succeeded, so entries it did not use
 * are dropped; else the cache keeps everything and checks it all after
 * the next success).
 */
struct config_ttls;
struct ldns_struct_rdf;

/* One zone of one build. */
struct zimg_sign_zone {
	struct zimg_signer *signer;
	int64_t now;
	uint32_t zone;                  /* its index: part of the cache key */
	const struct config_ttls *ttls; /* the signing policy */
	struct ldns_struct_rdf *apex;   /* absolute, the RRSIG signer name */
};

/* RRSIG bodies (zimg_format.h), valid until the signer's next call. */
struct zimg_sigs {
	const uint8_t *data;
	uint32_t len;
	uint16_t count;
};

void zimg_signer_begin(struct zimg_signer *s);
void zimg_signer_end(struct zimg_signer *s, bool ok);
/* The DNSKEY RDATA of the i-th published key, *len bytes; NULL past
 * the last. */
const uint8_t *zimg_signer_dnskey(const struct zimg_signer *s, size_t i, size_t *len);
/* The i-th CDS (its RDATA into cds[0..cap), RFC 7344 section 3.1,
 * SHA-256) and CDNSKEY RDATA of the apex: 0, 1 past the last, -1 on
 * failure. */
int zimg_signer_cds(const struct zimg_signer *s, const struct ldns_struct_rdf *apex, size_t i,
		    uint8_t *cds, size_t cap, size_t *cds_len, const uint8_t **cdnskey,
		    size_t *cdnskey_len);
/* The RRSIGs of the RRset of type with owner owner (wire, lower case)
 * and count bodies in bodies[0..len): from the cache while fresh, else
 * signed now. Returns 0, or -1 (out of memory or the key failed). */
int zimg_signer_sign(struct zimg_sign_zone *sg, uint16_t type, const uint8_t *owner,
		     size_t owner_len, const uint8_t *bodies, uint32_t len, uint16_t count,
		     struct zimg_sigs *out);

#endif
