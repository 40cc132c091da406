/*
 * DNSSEC (RFC 4033-4035): the zone's key, its DNSKEY and DS, and RRSIGs
 * over RRsets. The NSEC chain is rendered by the image builder, straight
 * into the image (DESIGN §5).
 *
 * One combined signing key (flags 257: zone key + SEP) signs every RRset,
 * DNSKEY included, for the hosted zone and its aliases alike; the signer
 * name is the apex being signed. Names and RRs are ldns objects; the keys
 * are OpenSSL EVP keys that ldns signs with. Every algorithm the
 * --priv-key-alg flag names (8, 10, 13, 14, 15, 16) is supported.
 *
 * Who does what:
 *   supervisor: dnssec_key_read_pem() as root, hands the bytes to the
 *               prober; dnssec_key_load() once at start-up to refuse a bad
 *               key before anything is bound (config validation), and for
 *               `a-healthy-dns ds`.
 *   prober:     dnssec_key_load_mem(), then per published image
 *               dnssec_dnskey(), dnssec_sign_rrset().
 *   workers:    never see the key.
 *
 * A struct dnssec_key is not thread-safe: dnssec_sign_rrset() uses it as
 * scratch (one signer at a time).
 */
#ifndef AHD_DNSSEC_H
#define AHD_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ldns/ldns.h>

#include "config.h"

/* DNSKEY flags: zone key (bit 7) + secure entry point (bit 15), RFC 4034
 * section 2.1.1; protocol is always 3. */
#define DNSSEC_DNSKEY_FLAGS 257
#define DNSSEC_DNSKEY_PROTOCOL 3
/* Signatures start this long before "now" so that validators whose clock
 * lags ours still accept them. */
#define DNSSEC_INCEPTION_SKEW CONFIG_RRSIG_BACKDATE
/* A PEM private key is a few KiB at most (RSA 4096 ~ 3.3 KiB). */
#define DNSSEC_PEM_MAX 65536

struct dnssec_key; /* a loaded private key and its DNSKEY RDATA */

/*
 * Read the PEM file at path into a malloc'd buffer (*pem, *len; the
 * buffer is NUL-terminated, the terminator not counted). For the
 * supervisor, which reads as root and hands the bytes on. Returns 0, or
 * -1 with one line on stderr naming --priv-key-path.
 * Free with dnssec_pem_free(), which wipes it first.
 */
int dnssec_key_read_pem(const char *path, char **pem, size_t *len);
void dnssec_pem_free(char *pem, size_t len);

/*
 * Load a private key in PEM form, PKCS#8 ("BEGIN PRIVATE KEY") or
 * traditional ("BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY"), for
 * algorithm alg. Refused, with ONE line on stderr naming --priv-key-path
 * and/or --priv-key-alg, the value and the rule, and NULL returned:
 * unreadable file, not a PEM private key (garbage, a public key, a
 * passphrase-protected key), a key type that does not fit alg (RSA for 8
 * and 10, EC P-256 for 13, EC P-384 for 14, Ed25519 for 15, Ed448 for 16),
 * an RSA modulus outside 1024..4096 bits.
 * name is what the messages call the key (normally the path).
 */
struct dnssec_key *dnssec_key_load(const char *path, enum config_alg alg);
struct dnssec_key *dnssec_key_load_mem(const void *pem, size_t len, const char *name,
				       enum config_alg alg);
void dnssec_key_free(struct dnssec_key *key);

/* DNSKEY flags 256 for a ZSK, 257 (the default) for a KSK or CSK
 * (RFC 4034 section 2.1.1); the key tag follows them. 0, or -1 on out
 * of memory. */
#define DNSSEC_DNSKEY_FLAGS_ZSK 256
int dnssec_key_set_flags(struct dnssec_key *key, uint16_t flags);

enum config_alg dnssec_key_alg(const struct dnssec_key *key);
/* RFC 4034 appendix B key tag of the DNSKEY (it does not depend on the
 * owner name). */
uint16_t dnssec_key_tag(const struct dnssec_key *key);

/* The DNSKEY RR "apex. ttl IN DNSKEY 257 3 alg key" (apex absolute,
 * as an ldns dname). Returns a new RR or NULL. */
ldns_rr *dnssec_dnskey(const struct dnssec_key *key, const ldns_rdf *apex, uint32_t ttl);

/*
 * The DS RR for the parent zone, digest type 2 (SHA-256), as one text
 * line without a newline: "example.com.\t3600\tIN\tDS\t<tag> <alg> 2 <hex>".
 * apex is text ("example.com", trailing dot optional). Returns 0, or -1
 * if the name does not parse or buf is too small.
 */
int dnssec_ds_text(const struct dnssec_key *key, const char *apex, uint32_t ttl, char *buf,
		   size_t size);

/* Validity window of signatures made at now: inception an hour back
 * (clock skew), expiration validity seconds ahead. RRSIG times are
 * 32-bit serial numbers (RFC 4034 section 3.1.5), hence the truncation. */
void dnssec_sig_window(time_t now, uint32_t validity, uint32_t *inception,
		       uint32_t *expiration);

/*
 * Sign one RRset: every RR in rrset has the same owner, type and class
 * (TTLs are taken from the first RR, RFC 2181 section 5.2). signer is
 * the apex (absolute dname); owners outside it are refused. The caller
 * gives no duplicate RRs (an RRset is a set, RFC 2181 section 5).
 * Canonical form per RFC 4034 section 6.2: the signature covers the
 * lower-cased owner and embedded names, RRs sorted; the RRSIG's labels
 * field leaves out a leading wildcard label. Returns the RRSIG (owner
 * lower case, TTL = the RRset's), or NULL on a mixed set, an RRSIG
 * RRset, or a crypto failure.
 */
ldns_rr *dnssec_sign_rrset(struct dnssec_key *key, const ldns_rr_list *rrset,
			   const ldns_rdf *signer, uint32_t inception, uint32_t expiration);

#endif
