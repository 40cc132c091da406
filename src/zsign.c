/*
 * The RRSIG cache (zsign.h): signs RRsets for the builder (zimg_build.c)
 * and keeps every signature it made until a publish no longer uses it
 * (DESIGN §5.4). Not on the query path.
 */
#include "zsign.h"

#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <ldns/ldns.h>

#include "ahd.h"
#include "clock.h"
#include "config.h"
#include "dnssec.h"
#include "log.h"
#include "wire.h"
#include "zimg_format.h"

/*
 * The cache. An entry's data[] holds the cache key
 * (zone index, type, owner, the RRset's bodies) then the RRSIG bodies.
 */
struct zsign_cache_entry {
	struct zsign_cache_entry *next; /* hash chain */
	uint64_t hash;
	uint64_t used;      /* generation of the last publish that used it */
	int64_t signed_at;  /* the clock the signature was made at */
	int64_t expires;    /* its expiration, on the same clock */
	size_t pos;         /* index in the visit order of generation used */
	uint32_t key_len;
	uint32_t sig_len;
	uint16_t sig_count;
	uint8_t data[];
};

/* One key of the signer: borrowed, with its owner-independent DNSKEY
 * RDATA. */
struct zsign_key {
	struct dnssec_key *key;
	uint8_t *rdata;
	size_t len;
};

struct zimg_signer {
	struct zsign_key keys[KEYROLL_MAX];
	size_t n_keys;
	struct zimg_signer_use use; /* what each key does now */
	struct zsign_cache_entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t n_entries;
	uint64_t gen;
	/*
	 * Builds visit RRsets in the same order every time: the entries in
	 * the previous build's visit order (old) are checked first, at a
	 * cursor, which turns the lookups of an unchanged zone into a
	 * sequential walk instead of two cache misses each (bucket, entry).
	 * NULL where an entry was replaced. cur is the order being made.
	 */
	struct zsign_cache_entry **old, **cur;
	size_t n_old, n_cur, cap_old, cap_cur, cursor;
	bool full_sweep; /* a build failed: old no longer lists everything */
	struct zimg_signer_stats stats;
	/* Over the signatures of the last successful publish: the earliest
	 * time one of them has less than the refresh time left, and the
	 * latest signing time (a clock set back before it, less the
	 * backdate, makes inceptions lie in the future). cur_* are those
	 * of the build under way. */
	int64_t due, cur_due;
	int64_t newest, cur_newest;
	/* The earliest expiration among them (the metrics' warning that
	 * signing stalled), INT64_MAX: none. */
	int64_t oldest, cur_oldest;
	uint8_t *scratch; /* the key of the RRset being looked up */
	size_t scratch_cap;
	void (*tick)(void *arg); /* after each signature made, or NULL */
	void *tick_arg;
};

/* The DNSKEY RDATA of key, malloc'd. */
static uint8_t *zsign_rdata(struct dnssec_key *key, size_t *len)
{
	ldns_rdf *root = ldns_dname_new_frm_str(".");
	ldns_buffer *buf = ldns_buffer_new(1024);
	ldns_rr *dnskey = root ? dnssec_dnskey(key, root, 0) : NULL;
	uint8_t *out = NULL;

	if (dnskey && buf && ldns_rr_rdata2buffer_wire(buf, dnskey) == LDNS_STATUS_OK) {
		*len = ldns_buffer_position(buf);
		out = malloc(*len);
		if (out)
			memcpy(out, ldns_buffer_begin(buf), *len);
	}
	ldns_rr_free(dnskey);
	ldns_rdf_deep_free(root);
	if (buf)
		ldns_buffer_free(buf);
	return out;
}

struct zimg_signer *zimg_signer_new_set(struct dnssec_key *const *keys, size_t n)
{
	struct zimg_signer *s = calloc(1, sizeof(*s));

	if (!s || n == 0 || n > KEYROLL_MAX)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		s->keys[i].key = keys[i];
		s->keys[i].rdata = zsign_rdata(keys[i], &s->keys[i].len);
		s->n_keys++;
		if (!s->keys[i].rdata)
			goto fail;
	}
	s->n_buckets = 1024;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	s->due = INT64_MAX; /* nothing signed yet: nothing due */
	s->newest = INT64_MIN;
	s->oldest = s->cur_oldest = INT64_MAX;
	if (!s->buckets)
		goto fail;
	/* Until told otherwise, every key does everything (a CSK each), and
	 * no CDS: the prober says what its keys do (zimg_signer_set_use). */
	s->use.publish = s->use.zone = s->use.keyset = (uint32_t)((1u << n) - 1);
	return s;
fail:
	log_error("zone signer: out of memory");
	zimg_signer_free(s);
	return NULL;
}

struct zimg_signer *zimg_signer_new(struct dnssec_key *key)
{
	return zimg_signer_new_set(&key, 1);
}

void zimg_signer_set_use(struct zimg_signer *s, const struct zimg_signer_use *use)
{
	uint32_t all = (uint32_t)((1u << s->n_keys) - 1);

	s->use = *use;
	s->use.publish &= all;
	s->use.zone &= all;
	s->use.keyset &= all;
	s->use.cds &= all;
}

void zimg_signer_set_tick(struct zimg_signer *s, void (*tick)(void *arg), void *arg)
{
	s->tick = tick;
	s->tick_arg = arg;
}

void zimg_signer_free(struct zimg_signer *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->buckets && i < s->n_buckets; i++) {
		for (struct zsign_cache_entry *e = s->buckets[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(s->buckets);
	free(s->old);
	free(s->cur);
	for (size_t i = 0; i < s->n_keys; i++)
		free(s->keys[i].rdata);
	free(s->scratch);
	free(s);
}

bool zimg_signer_due(const struct zimg_signer *s, time_t now)
{
	return (int64_t)now >= s->due || (int64_t)now < s->newest - CONFIG_RRSIG_BACKDATE;
}

void zimg_signer_stats(const struct zimg_signer *s, struct zimg_signer_stats *out)
{
	*out = s->stats;
	out->cached = s->n_entries;
	out->oldest_expiry = s->oldest == INT64_MAX ? 0 : s->oldest;
}

/* FNV-1a, 64 bits: the keys are short and the table checks every byte
 * on a hit, so a plain hash is enough. */
static uint64_t zsign_cache_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

static struct zsign_cache_entry **zsign_cache_slot(struct zimg_signer *s, uint64_t hash,
						   const uint8_t *key, size_t key_len)
{
	struct zsign_cache_entry **pp = &s->buckets[hash & (s->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == hash && (*pp)->key_len == key_len &&
		    memcmp((*pp)->data, key, key_len) == 0)
			break;
	return pp;
}

/* Doubling keeps chains short; failing to grow only makes them longer. */
static void zsign_cache_grow(struct zimg_signer *s)
{
	size_t n = s->n_buckets * 2;
	struct zsign_cache_entry **b;

	if (s->n_entries < s->n_buckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < s->n_buckets; i++) {
		for (struct zsign_cache_entry *e = s->buckets[i], *nx; e; e = nx) {
			nx = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = n;
}

static void zsign_cache_unlink(struct zimg_signer *s, struct zsign_cache_entry *e)
{
	struct zsign_cache_entry **pp = &s->buckets[e->hash & (s->n_buckets - 1)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	free(e);
	s->n_entries--;
}

/* Drop what the last publish did not use (changed RRsets, gone names):
 * after a successful build every live entry is in old or cur. */
static void zsign_cache_sweep(struct zimg_signer *s)
{
	struct zsign_cache_entry **swap = s->old;
	size_t cap = s->cap_old;

	if (s->full_sweep) {
		for (size_t i = 0; i < s->n_buckets; i++) {
			struct zsign_cache_entry **pp = &s->buckets[i];

			while (*pp) {
				struct zsign_cache_entry *e = *pp;

				if (e->used != s->gen) {
					*pp = e->next;
					free(e);
					s->n_entries--;
				} else {
					pp = &e->next;
				}
			}
		}
		s->full_sweep = false;
	} else {
		for (size_t i = 0; i < s->n_old; i++)
			if (s->old[i] && s->old[i]->used != s->gen)
				zsign_cache_unlink(s, s->old[i]);
	}
	s->due = s->cur_due;
	s->newest = s->cur_newest;
	s->oldest = s->cur_oldest;
	s->old = s->cur;
	s->cap_old = s->cap_cur;
	s->n_old = s->n_cur;
	s->cur = swap;
	s->cap_cur = cap;
	s->n_cur = 0;
}

/* A build is starting (gen already advanced). */
static void zsign_cache_begin(struct zimg_signer *s)
{
	s->cursor = 0;
	s->n_cur = 0;
	s->cur_due = INT64_MAX;
	s->cur_newest = INT64_MIN;
	s->cur_oldest = INT64_MAX;
	s->stats.last_made = 0;
	s->stats.last_reused = 0;
	s->stats.last_sign_ns = 0;
}

/* A build failed: what it used is in no order list any more. */
static void zsign_cache_abort(struct zimg_signer *s)
{
	s->n_old = 0;
	s->n_cur = 0;
	s->full_sweep = true;
}

/* e is used by this build: append it to the visit order. */
static int zsign_cache_use(struct zimg_signer *s, struct zsign_cache_entry *e,
			   uint32_t refresh)
{
	/* The first second with less than refresh left (zsign_cache_fresh). */
	int64_t due = e->expires - (int64_t)refresh + 1;

	if (due < s->cur_due)
		s->cur_due = due;
	if (e->signed_at > s->cur_newest)
		s->cur_newest = e->signed_at;
	if (e->expires < s->cur_oldest)
		s->cur_oldest = e->expires;
	if (s->n_cur == s->cap_cur) {
		size_t cap = s->cap_cur ? 2 * s->cap_cur : 1024;
		struct zsign_cache_entry **n = reallocarray(s->cur, cap, sizeof(*n));

		if (!n)
			return -1;
		s->cur = n;
		s->cap_cur = cap;
	}
	e->used = s->gen;
	e->pos = s->n_cur;
	s->cur[s->n_cur++] = e;
	return 0;
}

/* A cached signature is reused while at least the refresh time of its
 * validity remains (RFC 6781 section 4.4.2) and the clock has not gone
 * back past its inception. */
static bool zsign_cache_fresh(const struct zsign_cache_entry *e,
			      const struct zimg_sign_zone *sg)
{
	return sg->now >= e->signed_at - (int64_t)sg->ttls->sig_backdate &&
	       e->expires - sg->now >= (int64_t)sg->ttls->sig_refresh;
}

/* The jitter taken off the lifetime of the RRset's signatures: fixed
 * per owner and type, so each RRset keeps its own re-signing period and
 * a zone signed at one moment spreads its refreshes over sig_jitter
 * seconds instead of coming due all at once. */
static uint32_t zsign_jitter(const struct config_ttls *t, const uint8_t *owner,
			     size_t owner_len, uint16_t type)
{
	uint8_t tb[2];

	wire_store_u16(tb, type);
	return (uint32_t)((zsign_cache_hash(owner, owner_len) ^ zsign_cache_hash(tb, 2)) %
			  ((uint64_t)t->sig_jitter + 1));
}

/* A new entry with room for key_len bytes of cache key, then the RRSIG
 * bodies of rrset by every key in mask (one per key: RFC 6840 section
 * 5.11 asks a validator for one it can use, and the planner keeps one
 * for every algorithm in the DNSKEY RRset). */
static struct zsign_cache_entry *zsign_sigs(struct zimg_sign_zone *sg, uint32_t mask,
					    ldns_rr_list *rrset, ldns_buffer *buf,
					    uint32_t inception, uint32_t expiration,
					    size_t key_len)
{
	struct zimg_signer *s = sg->signer;
	struct zsign_cache_entry *e;
	uint16_t count = 0;

	ldns_buffer_clear(buf);
	for (size_t i = 0; i < s->n_keys; i++) {
		ldns_rr *sig;
		size_t at = ldns_buffer_position(buf), rdlen;
		int64_t t0;

		if (!(mask & (1u << i)))
			continue;
		t0 = clock_now_ns();
		sig = dnssec_sign_rrset(s->keys[i].key, rrset, sg->apex, inception, expiration);
		s->stats.last_sign_ns += (uint64_t)(clock_now_ns() - t0);
		if (!sig || !ldns_buffer_reserve(buf, ZIMG_RR_HDR)) {
			ldns_rr_free(sig);
			return NULL;
		}
		ldns_buffer_skip(buf, ZIMG_RR_HDR);
		if (ldns_rr_rdata2buffer_wire(buf, sig) != LDNS_STATUS_OK ||
		    (rdlen = ldns_buffer_position(buf) - at - ZIMG_RR_HDR) > UINT16_MAX) {
			ldns_rr_free(sig);
			return NULL;
		}
		zimg_rr_hdr(ldns_buffer_at(buf, at), ZIMG_TYPE_RRSIG, ldns_rr_ttl(sig),
			    (uint16_t)rdlen);
		ldns_rr_free(sig);
		count++;
		s->stats.sigs_made++;
		s->stats.last_made++;
		if (s->tick != NULL)
			s->tick(s->tick_arg);
	}
	e = malloc(sizeof(*e) + key_len + ldns_buffer_position(buf));
	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->sig_len = (uint32_t)ldns_buffer_position(buf);
	e->sig_count = count;
	memcpy(e->data + key_len, ldns_buffer_begin(buf), ldns_buffer_position(buf));
	return e;
}

/* Sign the RRset (owner + its bodies) into a new entry keyed by key. */
static struct zsign_cache_entry *zsign_cache_sign(struct zimg_sign_zone *sg,
						  const uint8_t *key, size_t key_len,
						  uint64_t hash, const uint8_t *owner,
						  size_t owner_len, const uint8_t *bodies,
						  size_t len, uint16_t count)
{
	uint8_t rr[AHD_MAX_NAME_WIRE + ZIMG_RR_HDR + 2048];
	ldns_rr_list *list = ldns_rr_list_new();
	ldns_buffer *buf = ldns_buffer_new(1024);
	struct zsign_cache_entry *e = NULL;
	size_t off = 0;
	uint32_t inception, expiration, lifetime;

	if (!list || !buf)
		goto out;
	for (uint16_t i = 0; i < count; i++) {
		size_t body, pos = 0;
		ldns_rr *one = NULL;

		if (len - off < ZIMG_RR_HDR)
			goto out;
		body = ZIMG_RR_HDR + wire_load_u16(bodies + off + 8);
		if (body > len - off || owner_len + body > sizeof(rr))
			goto out;
		memcpy(rr, owner, owner_len);
		memcpy(rr + owner_len, bodies + off, body);
		if (ldns_wire2rr(&one, rr, owner_len + body, &pos, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK)
			goto out;
		if (!ldns_rr_list_push_rr(list, one)) {
			ldns_rr_free(one);
			goto out;
		}
		off += body;
	}
	lifetime = sg->ttls->sig_lifetime -
		   zsign_jitter(sg->ttls, owner, owner_len, wire_load_u16(key + 4));
	dnssec_sig_window((time_t)sg->now, lifetime, &inception, &expiration);
	e = zsign_sigs(sg, wire_load_u32(key + 8), list, buf, inception, expiration, key_len);
	if (!e)
		goto out;
	e->hash = hash;
	e->signed_at = sg->now;
	e->expires = sg->now + lifetime;
	e->key_len = (uint32_t)key_len;
	memcpy(e->data, key, key_len);
out:
	if (list)
		ldns_rr_list_deep_free(list);
	if (buf)
		ldns_buffer_free(buf);
	return e;
}

static bool zsign_cache_match(const struct zsign_cache_entry *e, uint64_t hash,
			      const uint8_t *key, size_t key_len)
{
	return e && e->hash == hash && e->key_len == key_len &&
	       memcmp(e->data, key, key_len) == 0;
}

/* The RRsets a KSK signs (RFC 7344 section 4.1: CDS and CDNSKEY like
 * the DNSKEY RRset); a ZSK signs the others. */
static bool zsign_keyset_type(uint16_t type)
{
	return type == ZIMG_TYPE_DNSKEY || type == ZIMG_TYPE_CDS || type == ZIMG_TYPE_CDNSKEY;
}

/* The cached entry for an RRset, signed now if missing or stale. */
static struct zsign_cache_entry *zsign_cache_get(struct zimg_sign_zone *sg, uint16_t type,
						 const uint8_t *owner, size_t owner_len,
						 const uint8_t *bodies, uint32_t len, uint16_t count)
{
	struct zimg_signer *s = sg->signer;
	size_t key_len = 12 + owner_len + len;
	struct zsign_cache_entry **pp, *e = NULL, *old;
	uint64_t hash;
	uint8_t *k;

	if (key_len > s->scratch_cap) {
		k = realloc(s->scratch, key_len);
		if (!k)
			return NULL;
		s->scratch = k;
		s->scratch_cap = key_len;
	}
	k = s->scratch;
	wire_store_u32(k, sg->zone);
	wire_store_u16(k + 4, type);
	wire_store_u16(k + 6, (uint16_t)owner_len);
	/* Which keys sign it: a rollover step changes it, and re-signs. */
	wire_store_u32(k + 8, zsign_keyset_type(type) ? s->use.keyset : s->use.zone);
	memcpy(k + 12, owner, owner_len);
	memcpy(k + 12 + owner_len, bodies, len);
	hash = zsign_cache_hash(k, key_len);
	if (s->cursor < s->n_old && zsign_cache_match(s->old[s->cursor], hash, k, key_len)) {
		e = s->old[s->cursor++];
	} else {
		e = *zsign_cache_slot(s, hash, k, key_len);
		/* Resynchronise the cursor after an inserted or removed RRset. */
		if (e && e->used + 1 == s->gen && e->pos < s->n_old && s->old[e->pos] == e)
			s->cursor = e->pos + 1;
	}
	if (e && e->used == s->gen)
		return e; /* one key per build: cannot happen, but never free it */
	if (e && zsign_cache_fresh(e, sg)) {
		if (zsign_cache_use(s, e, sg->ttls->sig_refresh) < 0)
			return NULL;
		s->stats.sigs_reused++;
		s->stats.last_reused++;
		return e;
	}
	old = e;
	e = zsign_cache_sign(sg, k, key_len, hash, owner, owner_len, bodies, len, count);
	if (!e)
		return NULL;
	pp = zsign_cache_slot(s, hash, k, key_len);
	if (old) { /* stale: replace it in the chain and in old */
		if (old->used + 1 == s->gen && old->pos < s->n_old && s->old[old->pos] == old)
			s->old[old->pos] = NULL;
		e->next = old->next;
		*pp = e;
		free(old);
	} else {
		e->next = NULL;
		*pp = e;
		s->n_entries++;
	}
	if (zsign_cache_use(s, e, sg->ttls->sig_refresh) < 0)
		return NULL;
	zsign_cache_grow(s);
	return e;
}

void zimg_signer_begin(struct zimg_signer *s)
{
	s->gen++;
	zsign_cache_begin(s);
}

void zimg_signer_end(struct zimg_signer *s, bool ok)
{
	if (ok)
		zsign_cache_sweep(s);
	else
		zsign_cache_abort(s);
}

const uint8_t *zimg_signer_dnskey(const struct zimg_signer *s, size_t i, size_t *len)
{
	for (size_t k = 0; k < s->n_keys; k++) {
		if (!(s->use.publish & (1u << k)) || i-- > 0)
			continue;
		*len = s->keys[k].len;
		return s->keys[k].rdata;
	}
	return NULL;
}

/* RFC 8078 section 4: "0 0 0 00" and "0 3 0 AA==". */
static const uint8_t zsign_cds_delete[] = { 0, 0, 0, 0, 0 };
static const uint8_t zsign_cdnskey_delete[] = { 0, 0, 3, 0, 0 };

int zimg_signer_cds(const struct zimg_signer *s, const struct ldns_struct_rdf *apex, size_t i,
		    uint8_t *cds, size_t cap, size_t *cds_len, const uint8_t **cdnskey,
		    size_t *cdnskey_len)
{
	ldns_rr *dnskey = NULL, *ds = NULL;
	ldns_buffer *buf;
	size_t k;
	int rc = -1;

	if (s->use.cds_delete) {
		if (i > 0)
			return 1;
		memcpy(cds, zsign_cds_delete, sizeof(zsign_cds_delete));
		*cds_len = sizeof(zsign_cds_delete);
		*cdnskey = zsign_cdnskey_delete;
		*cdnskey_len = sizeof(zsign_cdnskey_delete);
		return 0;
	}
	for (k = 0; k < s->n_keys; k++)
		if ((s->use.cds & (1u << k)) && i-- == 0)
			break;
	if (k == s->n_keys)
		return 1;
	*cdnskey = s->keys[k].rdata;
	*cdnskey_len = s->keys[k].len;
	buf = ldns_buffer_new(256);
	dnskey = dnssec_dnskey(s->keys[k].key, apex, 0);
	if (dnskey)
		ds = ldns_key_rr2ds(dnskey, LDNS_SHA256);
	if (buf && ds && ldns_rr_rdata2buffer_wire(buf, ds) == LDNS_STATUS_OK &&
	    ldns_buffer_position(buf) <= cap) {
		*cds_len = ldns_buffer_position(buf);
		memcpy(cds, ldns_buffer_begin(buf), *cds_len);
		rc = 0;
	}
	ldns_rr_free(ds);
	ldns_rr_free(dnskey);
	if (buf)
		ldns_buffer_free(buf);
	return rc;
}

int zimg_signer_sign(struct zimg_sign_zone *sg, uint16_t type, const uint8_t *owner,
		     size_t owner_len, const uint8_t *bodies, uint32_t len, uint16_t count,
		     struct zimg_sigs *out)
{
	struct zsign_cache_entry *e =
		zsign_cache_get(sg, type, owner, owner_len, bodies, len, count);

	if (!e)
		return -1;
	out->data = e->data + e->key_len;
	out->len = e->sig_len;
	out->count = e->sig_count;
	return 0;
}
