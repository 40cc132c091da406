#include "dnssec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ahd.h"
#include "file.h"

/* RFC 3110 section 2 allows 512..4096 bits; below 1024 is breakable
 * today, above 4096 many validators refuse (RFC 8624 section 3.1). */
#define DNSSEC_RSA_MIN_BITS 1024
#define DNSSEC_RSA_MAX_BITS 4096

struct dnssec_key {
	enum config_alg alg;
	ldns_key *key;       /* holds the EVP key; ldns signs with it */
	ldns_key_list *list; /* { key }: what ldns_sign_public takes */
	ldns_rr *dnskey;     /* owner ".", TTL 0: cloned per apex */
	uint16_t tag;
};

/* What a key file holds, for the messages and the algorithm check. */
enum dnssec_kind {
	DNSSEC_KIND_OTHER = 0,
	DNSSEC_KIND_RSA,
	DNSSEC_KIND_P256,
	DNSSEC_KIND_P384,
	DNSSEC_KIND_EC_OTHER,
	DNSSEC_KIND_ED25519,
	DNSSEC_KIND_ED448,
};

static int dnssec_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int dnssec_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_startup_verror(fmt, ap);
	va_end(ap);
	/* Leave no stale OpenSSL errors behind for the next caller. */
	ERR_clear_error();
	return -1;
}

/* A path as it may be shown: control bytes escaped, long ones cut. */
static const char *dnssec_quote(const char *s, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 8 > n) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

void dnssec_pem_free(char *pem, size_t len)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, len);
	free(pem);
}

int dnssec_key_read_pem(const char *path, char **pem, size_t *len)
{
	char val[300];

	dnssec_quote(path, val, sizeof(val));
	switch (file_read_all(path, DNSSEC_PEM_MAX, pem, len)) {
	case FILE_OK:
		return 0;
	case FILE_OPEN:
	case FILE_READ:
		return dnssec_fail("--priv-key-path: '%s' cannot be read: %s", val,
				   strerror(errno));
	case FILE_NOT_REGULAR:
		return dnssec_fail("--priv-key-path: '%s' is not a regular file (give the path "
				   "of a PEM private key file)",
				   val);
	case FILE_TOO_LARGE:
		return dnssec_fail("--priv-key-path: '%s' is %lld bytes, too large for a PEM "
				   "private key (at most %d)",
				   val, (long long)*len, DNSSEC_PEM_MAX);
	case FILE_NOMEM:
		break;
	}
	return dnssec_fail("--priv-key-path: '%s': out of memory", val);
}

static enum dnssec_kind dnssec_kind_of(EVP_PKEY *pk, char *curve, size_t curve_size)
{
	curve[0] = '\0';
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		return DNSSEC_KIND_RSA;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, curve, curve_size, NULL) != 1)
			strlcpy(curve, "unknown", curve_size);
		/* OpenSSL's names for NIST P-256 / P-384 (RFC 6605). */
		if (strcmp(curve, "prime256v1") == 0)
			return DNSSEC_KIND_P256;
		if (strcmp(curve, "secp384r1") == 0)
			return DNSSEC_KIND_P384;
		return DNSSEC_KIND_EC_OTHER;
	case EVP_PKEY_ED25519:
		return DNSSEC_KIND_ED25519;
	case EVP_PKEY_ED448:
		return DNSSEC_KIND_ED448;
	default:
		return DNSSEC_KIND_OTHER;
	}
}

/* How messages name a key of a kind with a fixed name (RSA and other EC
 * curves are named with their size or curve). */
static const char *const dnssec_kind_names[] = {
	[DNSSEC_KIND_P256] = "an EC P-256 key",
	[DNSSEC_KIND_P384] = "an EC P-384 key",
	[DNSSEC_KIND_ED25519] = "an ED25519 key",
	[DNSSEC_KIND_ED448] = "an ED448 key",
};

static void dnssec_kind_text(EVP_PKEY *pk, enum dnssec_kind kind, const char *curve, char *out,
			     size_t size)
{
	const char *type;

	if ((size_t)kind < AHD_ARRAY_LEN(dnssec_kind_names) && dnssec_kind_names[kind] != NULL) {
		snprintf(out, size, "%s", dnssec_kind_names[kind]);
	} else if (kind == DNSSEC_KIND_RSA) {
		snprintf(out, size, "a %d-bit RSA key", EVP_PKEY_get_bits(pk));
	} else if (kind == DNSSEC_KIND_EC_OTHER) {
		snprintf(out, size, "an EC key on curve %s", curve);
	} else {
		type = EVP_PKEY_get0_type_name(pk);
		snprintf(out, size, "a %s key", type != NULL ? type : "non-DNSSEC");
	}
}

/* The key kind an algorithm signs with, and how to say so. */
static enum dnssec_kind dnssec_kind_for(enum config_alg alg, const char **text)
{
	enum dnssec_kind kind = DNSSEC_KIND_OTHER;

	switch (alg) {
	case CONFIG_ALG_RSASHA256:
	case CONFIG_ALG_RSASHA512:
		*text = "an RSA key of 1024 to 4096 bits";
		return DNSSEC_KIND_RSA;
	case CONFIG_ALG_ECDSAP256SHA256:
		kind = DNSSEC_KIND_P256;
		break;
	case CONFIG_ALG_ECDSAP384SHA384:
		kind = DNSSEC_KIND_P384;
		break;
	case CONFIG_ALG_ED25519:
		kind = DNSSEC_KIND_ED25519;
		break;
	case CONFIG_ALG_ED448:
		kind = DNSSEC_KIND_ED448;
		break;
	}
	*text = kind != DNSSEC_KIND_OTHER ? dnssec_kind_names[kind] : "?";
	return kind;
}

/* Never prompt on a terminal for a passphrase: note that one was wanted
 * and make the read fail. */
static int dnssec_pem_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

static bool dnssec_has(const void *pem, size_t len, const char *what)
{
	return memmem(pem, len, what, strlen(what)) != NULL;
}

/* The private key in the PEM, or NULL after one message saying why not. */
static EVP_PKEY *dnssec_pem_read_key(const void *pem, size_t len, const char *val)
{
	bool asked = false;
	EVP_PKEY *pk;
	BIO *bio;

	if (len > DNSSEC_PEM_MAX) {
		dnssec_fail("--priv-key-path: '%s' is %zu bytes, too large for a PEM private key "
			    "(at most %d)",
			    val, len, DNSSEC_PEM_MAX);
		return NULL;
	}
	/* Every key goes through here first. OpenSSL's configuration file
	 * is never read: signing needs only the built-in default provider,
	 * parsing openssl.cnf touches hundreds of kB of libcrypto, and the
	 * supervisor (which checks the key) and the prober (forked from it,
	 * which signs) see the same OpenSSL. Later requests to load it are
	 * ignored once this is set. */
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		dnssec_fail("--priv-key-path: '%s': out of memory", val);
		return NULL;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, dnssec_pem_password, &asked);
	BIO_free(bio);
	if (pk != NULL) {
		ERR_clear_error();
		return pk;
	}
	if (asked || dnssec_has(pem, len, "ENCRYPTED"))
		dnssec_fail("--priv-key-path: '%s' is protected by a passphrase (give an "
			    "unencrypted PEM private key)",
			    val);
	else if (dnssec_has(pem, len, "PUBLIC KEY-----"))
		dnssec_fail("--priv-key-path: '%s' holds a public key, not a private key "
			    "(give the PEM private key file)",
			    val);
	else
		dnssec_fail("--priv-key-path: '%s' is not a PEM private key (expected a "
			    "-----BEGIN PRIVATE KEY----- block, or a traditional RSA or "
			    "EC PRIVATE KEY block)",
			    val);
	return NULL;
}

/* Parse the PEM and check the key fits alg; NULL after one message on
 * failure. */
static EVP_PKEY *dnssec_pem_parse(const void *pem, size_t len, const char *val,
				  enum config_alg alg)
{
	char curve[64];
	char have[96];
	const char *want;
	enum dnssec_kind kind, need;
	EVP_PKEY *pk;

	pk = dnssec_pem_read_key(pem, len, val);
	if (pk == NULL)
		return NULL;
	kind = dnssec_kind_of(pk, curve, sizeof(curve));
	need = dnssec_kind_for(alg, &want);

	dnssec_kind_text(pk, kind, curve, have, sizeof(have));
	if (need == DNSSEC_KIND_OTHER) {
		dnssec_fail("--priv-key-alg: '%d' is not a supported algorithm (RSASHA256, "
			    "RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519 or ED448)",
			    (int)alg);
		goto fail;
	}
	if (kind != need) {
		dnssec_fail("--priv-key-path: '%s' holds %s, which does not match "
			    "--priv-key-alg %s (it needs %s)",
			    val, have, config_alg_name(alg), want);
		goto fail;
	}
	if (kind == DNSSEC_KIND_RSA) {
		int bits = EVP_PKEY_get_bits(pk);

		if (bits < DNSSEC_RSA_MIN_BITS) {
			dnssec_fail("--priv-key-path: '%s' holds %s, too weak for --priv-key-alg "
				    "%s (RSA keys need at least %d bits; 2048 is usual)",
				    val, have, config_alg_name(alg), DNSSEC_RSA_MIN_BITS);
			goto fail;
		}
		if (bits > DNSSEC_RSA_MAX_BITS) {
			dnssec_fail("--priv-key-path: '%s' holds %s, too large for --priv-key-alg "
				    "%s (RSA keys may have at most %d bits, RFC 3110)",
				    val, have, config_alg_name(alg), DNSSEC_RSA_MAX_BITS);
			goto fail;
		}
	}
	return pk;
fail:
	EVP_PKEY_free(pk);
	return NULL;
}

struct dnssec_key *dnssec_key_load_mem(const void *pem, size_t len, const char *name,
				       enum config_alg alg)
{
	char val[300];
	struct dnssec_key *k;
	ldns_rdf *root;
	EVP_PKEY *pk;

	dnssec_quote(name != NULL ? name : "", val, sizeof(val));
	pk = dnssec_pem_parse(pem, len, val, alg);
	if (pk == NULL)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		goto oom;
	k->alg = alg;
	k->key = ldns_key_new();
	k->list = ldns_key_list_new();
	root = ldns_dname_new_frm_str(".");
	if (k->key == NULL || k->list == NULL || root == NULL) {
		ldns_rdf_deep_free(root);
		goto oom;
	}
	ldns_key_set_algorithm(k->key, (ldns_signing_algorithm)alg);
	ldns_key_set_evp_key(k->key, pk); /* the ldns_key owns it now */
	pk = NULL;
	ldns_key_set_flags(k->key, DNSSEC_DNSKEY_FLAGS);
	ldns_key_set_pubkey_owner(k->key, root);
	k->dnskey = ldns_key2rr(k->key);
	/* Signing borrows the signer name per call (dnssec_sign_rrset). */
	ldns_key_set_pubkey_owner(k->key, NULL);
	ldns_rdf_deep_free(root);
	if (k->dnskey == NULL) {
		dnssec_fail("--priv-key-path: '%s': cannot build a DNSKEY from this key", val);
		dnssec_key_free(k);
		return NULL;
	}
	ldns_rr_set_ttl(k->dnskey, 0);
	k->tag = ldns_calc_keytag(k->dnskey);
	ldns_key_set_keytag(k->key, k->tag);
	/*
	 * ldns_sign_public signs only DNSKEY RRsets with a SEP key; ours is
	 * the zone's only key and must sign everything. The flags are not
	 * part of what is signed (the key tag is, and it stays the 257
	 * DNSKEY's), so sign with a plain zone-key view of it.
	 */
	ldns_key_set_flags(k->key, LDNS_KEY_ZONE_KEY);
	if (!ldns_key_list_push_key(k->list, k->key))
		goto oom;
	return k;
oom:
	EVP_PKEY_free(pk);
	dnssec_key_free(k);
	dnssec_fail("--priv-key-path: '%s': out of memory", val);
	return NULL;
}

struct dnssec_key *dnssec_key_load(const char *path, enum config_alg alg)
{
	struct dnssec_key *k;
	char *pem;
	size_t len;

	if (dnssec_key_read_pem(path, &pem, &len) < 0)
		return NULL;
	k = dnssec_key_load_mem(pem, len, path, alg);
	dnssec_pem_free(pem, len + 1);
	return k;
}

void dnssec_key_free(struct dnssec_key *key)
{
	if (key == NULL)
		return;
	if (key->list != NULL) {
		/* Detach the key first so it is freed once, below (popping
		 * the last key double-frees in ldns 1.8.3). */
		ldns_key_list_set_key_count(key->list, 0);
		ldns_key_list_free(key->list);
	}
	if (key->key != NULL)
		ldns_key_deep_free(key->key); /* frees the EVP key too */
	ldns_rr_free(key->dnskey);
	free(key);
}

int dnssec_key_set_flags(struct dnssec_key *key, uint16_t flags)
{
	ldns_rdf *root = ldns_dname_new_frm_str(".");
	ldns_rr *rr;

	if (root == NULL)
		return -1;
	ldns_key_set_flags(key->key, flags);
	ldns_key_set_pubkey_owner(key->key, root);
	rr = ldns_key2rr(key->key);
	ldns_key_set_pubkey_owner(key->key, NULL);
	ldns_rdf_deep_free(root);
	/* Sign with the plain zone-key view, as dnssec_key_load_mem does. */
	ldns_key_set_flags(key->key, LDNS_KEY_ZONE_KEY);
	if (rr == NULL)
		return -1;
	ldns_rr_set_ttl(rr, 0);
	ldns_rr_free(key->dnskey);
	key->dnskey = rr;
	key->tag = ldns_calc_keytag(rr);
	ldns_key_set_keytag(key->key, key->tag);
	return 0;
}

enum config_alg dnssec_key_alg(const struct dnssec_key *key) { return key->alg; }

uint16_t dnssec_key_tag(const struct dnssec_key *key) { return key->tag; }

ldns_rr *dnssec_dnskey(const struct dnssec_key *key, const ldns_rdf *apex, uint32_t ttl)
{
	ldns_rdf *owner;
	ldns_rr *rr;

	if (apex == NULL || ldns_rdf_get_type(apex) != LDNS_RDF_TYPE_DNAME)
		return NULL;
	owner = ldns_rdf_clone(apex);
	rr = ldns_rr_clone(key->dnskey);
	if (owner == NULL || rr == NULL) {
		ldns_rdf_deep_free(owner);
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_dname2canonical(owner);
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_ttl(rr, ttl);
	return rr;
}

int dnssec_ds_text(const struct dnssec_key *key, const char *apex, uint32_t ttl, char *buf,
		   size_t size)
{
	ldns_rdf *name = NULL;
	ldns_rr *dnskey = NULL;
	ldns_rr *ds = NULL;
	char *text = NULL;
	size_t n;
	int ret = -1;

	if (size > 0)
		buf[0] = '\0';
	if (ldns_str2rdf_dname(&name, apex) != LDNS_STATUS_OK)
		return -1;
	dnskey = dnssec_dnskey(key, name, ttl);
	if (dnskey != NULL)
		ds = ldns_key_rr2ds(dnskey, LDNS_SHA256);
	if (ds != NULL)
		text = ldns_rr2str(ds);
	if (text != NULL) {
		n = strlen(text);
		while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			text[--n] = '\0';
		if (n < size) {
			memcpy(buf, text, n + 1);
			ret = 0;
		}
	}
	free(text);
	ldns_rr_free(ds);
	ldns_rr_free(dnskey);
	ldns_rdf_deep_free(name);
	return ret;
}

void dnssec_sig_window(time_t now, uint32_t validity, uint32_t *inception,
		       uint32_t *expiration)
{
	uint64_t t = (uint64_t)now;

	*inception = (uint32_t)(t - DNSSEC_INCEPTION_SKEW);
	*expiration = (uint32_t)(t + validity);
}

ldns_rr *dnssec_sign_rrset(struct dnssec_key *key, const ldns_rr_list *rrset,
			   const ldns_rdf *signer, uint32_t inception, uint32_t expiration)
{
	ldns_rr_list *sigs;
	ldns_rr *first;
	ldns_rr *sig;
	size_t n;

	n = rrset != NULL ? ldns_rr_list_rr_count(rrset) : 0;
	if (n == 0 || signer == NULL)
		return NULL;
	first = ldns_rr_list_rr(rrset, 0);
	/* RRSIGs are never signed (RFC 4035 section 2.2). */
	if (ldns_rr_get_type(first) == LDNS_RR_TYPE_RRSIG)
		return NULL;
	for (size_t i = 1; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrset, i);

		if (ldns_rr_get_type(rr) != ldns_rr_get_type(first) ||
		    ldns_rr_get_class(rr) != ldns_rr_get_class(first) ||
		    ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(first)) != 0)
			return NULL;
	}
	if (ldns_dname_compare(ldns_rr_owner(first), signer) != 0 &&
	    !ldns_dname_is_subdomain(ldns_rr_owner(first), signer))
		return NULL;
	ldns_key_set_inception(key->key, inception);
	ldns_key_set_expiration(key->key, expiration);
	/* Borrowed for this call only: ldns clones it into the RRSIG. */
	ldns_key_set_pubkey_owner(key->key, (ldns_rdf *)signer);
	sigs = ldns_sign_public((ldns_rr_list *)rrset, key->list);
	ldns_key_set_pubkey_owner(key->key, NULL);
	if (sigs == NULL)
		return NULL;
	if (ldns_rr_list_rr_count(sigs) != 1) {
		ldns_rr_list_deep_free(sigs);
		return NULL;
	}
	sig = ldns_rr_list_pop_rr(sigs);
	ldns_rr_list_free(sigs);
	/* The signer field is compared case-insensitively, but canonical
	 * RRSIG RDATA has it in lower case (RFC 4034 section 6.2). */
	ldns_dname2canonical(ldns_rr_rrsig_signame(sig));
	return sig;
}
