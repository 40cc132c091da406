/*
 * How large a slot cfg can need (zimg_build.h): an upper bound of what
 * zimg_build.c writes, so the shm object is sized once at start.
 */
#include "zimg_build.h"

#include <string.h>

#include "ahd.h"
#include "config.h"
#include "zimg_format.h"

size_t zimg_label_count(const char *name)
{
	size_t n = 1;

	for (; *name; name++)
		n += *name == '.';
	return n;
}

/* RRSIG signature field bytes per algorithm (RSA: up to 4096-bit keys,
 * RFC 3110; ECDSA r||s, RFC 6605; EdDSA, RFC 8080). */
static size_t zsize_sig_max(enum config_alg alg)
{
	switch (alg) {
	case CONFIG_ALG_ECDSAP256SHA256:
	case CONFIG_ALG_ED25519:
		return 64;
	case CONFIG_ALG_ECDSAP384SHA384:
		return 96;
	case CONFIG_ALG_ED448:
		return 114;
	default:
		return 512;
	}
}

/* DNSKEY RDATA bytes: flags, protocol, algorithm, public key (RSA: a
 * 3-byte exponent length, an exponent of at most 4096 bits, RFC 3110). */
static size_t zsize_dnskey_max(enum config_alg alg)
{
	switch (alg) {
	case CONFIG_ALG_ECDSAP256SHA256:
		return 4 + 64;
	case CONFIG_ALG_ECDSAP384SHA384:
		return 4 + 96;
	case CONFIG_ALG_ED25519:
		return 4 + 32;
	case CONFIG_ALG_ED448:
		return 4 + 57;
	default:
		return 4 + 3 + 512 + 512;
	}
}

/* The algorithm with the largest signatures and keys among the keys
 * (RSA's are the largest of all). */
static enum config_alg zsize_alg_max(const struct config *cfg)
{
	enum config_alg alg = cfg->priv_key_alg;

	for (size_t i = 0; i < cfg->n_keys; i++)
		if (zsize_dnskey_max(cfg->keys[i].alg) > zsize_dnskey_max(alg))
			alg = cfg->keys[i].alg;
	return alg;
}

/* NSEC type bitmap: window 0 only (every type we serve is below 256),
 * 2 bytes of header + up to DNSKEY (48): 7 bytes. */
#define ZSIZE_BITMAP_MAX (2 + 32)
/* RRSIG RDATA without signer name and signature. */
#define ZSIZE_RRSIG_FIXED 18

/* The estimate for cfg, in bytes, before any headroom. */
static uint64_t zsize_estimate(const struct config *cfg)
{
	uint64_t items = 1, keys = 0, bodies = 0, per_zone, total, longest = 0;
	uint64_t zones = 1 + (uint64_t)cfg->n_alias_zones;
	uint64_t apex_max = strlen(cfg->hosted_zone) + 2;

	for (size_t i = 0; i < cfg->n_alias_zones; i++)
		if (strlen(cfg->alias_zones[i]) + 2 > apex_max)
			apex_max = strlen(cfg->alias_zones[i]) + 2;
	if (apex_max > AHD_MAX_NAME_WIRE)
		apex_max = AHD_MAX_NAME_WIRE;
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		uint64_t labels = zimg_label_count(e->name);

		items += labels;
		keys += labels * (strlen(e->name) + 2 + ZIMG_ALIGN);
		bodies += (uint64_t)e->n_addrs * (ZIMG_RR_HDR + 16) + 2 * ZIMG_ALIGN;
		if (strlen(e->name) + 1 > longest)
			longest = strlen(e->name) + 1;
	}
	per_zone = (AHD_MAX_NAME_WIRE + ZIMG_ALIGN)          /* apex */
		   + items * sizeof(struct zimg_name) + ZIMG_ALIGN /* name table */
		   + keys
		   + items * (2 * sizeof(struct zimg_rrset) + ZIMG_ALIGN)
		   + bodies
		   + 2 * (ZIMG_RR_HDR + 2 * AHD_MAX_NAME_WIRE + 20 + ZIMG_ALIGN) /* SOAs */
		   + (uint64_t)cfg->n_ns * (ZIMG_RR_HDR + AHD_MAX_NAME_WIRE) + ZIMG_ALIGN
		   + (ZIMG_RR_HDR + 16 + ZIMG_ALIGN); /* HINFO */
	if (cfg->priv_key_path != NULL) {
		enum config_alg alg = zsize_alg_max(cfg);
		/* Two signatures per RRset: a rollover signs with two keys
		 * at times (DESIGN §13), and a SIGHUP must not need a restart. */
		uint64_t sig = 2 * (ZIMG_RR_HDR + ZSIZE_RRSIG_FIXED + apex_max +
				    zsize_sig_max(alg) + ZIMG_ALIGN);
		/* DNSKEY, CDS, CDNSKEY: every key, and two more for a reload. */
		uint64_t key_rrs = (uint64_t)(cfg->n_keys + 2) * 3 *
				(ZIMG_RR_HDR + zsize_dnskey_max(alg));
		uint64_t owner = longest + apex_max;

		if (owner > AHD_MAX_NAME_WIRE)
			owner = AHD_MAX_NAME_WIRE;
		/* Per name: an NSEC RRset (descriptor + body) and RRSIGs over
		 * A, AAAA and NSEC; the apex adds NS, SOA, DNSKEY and their
		 * RRSIGs, neg_soa its RRSIG copy; the NSEC index. */
		per_zone += items * (sizeof(struct zimg_rrset) + ZIMG_RR_HDR + owner +
				     ZSIZE_BITMAP_MAX + ZIMG_ALIGN + 3 * sig + sizeof(uint32_t))
			    + 2 * sizeof(struct zimg_rrset) + 4 * sig + ZIMG_ALIGN
			    + key_rrs + 2 * sizeof(struct zimg_rrset) + 2 * sig + 3 * ZIMG_ALIGN;
	}
	total = sizeof(struct zimg_slot) + zones * sizeof(struct zimg_zone) + ZIMG_ALIGN
		+ zones * per_zone + ZIMG_ACL_ROOM(CONFIG_XFR_ACL_MAX);
	return total;
}

static size_t zsize_pages(uint64_t total)
{
	total = (total + 4095) & ~(uint64_t)4095;
	return total > ZIMG_SLOT_MAX ? 0 : (size_t)total;
}

size_t zimg_build_slot_size(const struct config *cfg)
{
	uint64_t total = zsize_estimate(cfg);

	/* Headroom: a later format, or a reload that adds names or keys
	 * (zimg_build_slot_fit), fits without a resize. */
	return zsize_pages(total + total / 4 + 65536);
}

size_t zimg_build_slot_fit(const struct config *cfg)
{
	return zsize_pages(zsize_estimate(cfg));
}
