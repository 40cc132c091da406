/*
 * The IXFR history (xfr_hist.h, DESIGN §9.2; layout in zimg_format.h).
 *
 * Prober side: the difference between two images is a merge walk of the
 * two slots' zones (zimg_iter), by owner in canonical order, then RRset
 * type, then RRs before RRSIGs. The slots sort owners by dname_key with
 * memcmp, which is RFC 4034 section 6.1 order for names without 0 bytes
 * in labels (dname.h; the product only takes LDH names), so both walks
 * come in dname_canonical_cmp order and one pass pairs them up. Were an
 * owner ever out of order the walk would only pair less: an RR both in
 * the deleted and the added part is still a correct difference.
 *
 * Size: xfr_hist_area_size gives each of the --ixfr-history entries
 * 16 KiB on average (a health flip in a signed 10,000-name zone is the
 * A RRset, its RRSIG, at most two NSEC RRsets and their RRSIGs, and the
 * SOA and its RRSIG: well under 2 KiB), at least 64 KiB and at most one
 * slot in all. A difference larger than the area (a first signing, a
 * reload that changes most names) empties the history: clients then
 * fall back to AXFR, which is what such a change costs anyway.
 *
 * Worker side: under the area's seqlock, copy the chain of entries from
 * `from` to `to`, then condense the private copy (RFC 1995 section 4).
 */
#include "xfr_hist.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ahd.h"
#include "config.h"
#include "dname.h"
#include "log.h"
#include "seqlock.h"
#include "wire.h"
#include "zimg.h"
#include "zimg_format.h"
#include "zimg_iter.h"

#define XH_PER_ENTRY (16u * 1024u)
#define XH_MIN_DATA (64u * 1024u)
#define XH_MAX_ENTRIES 65536u
#define XH_READ_TRIES 16
#define XH_TYPE_SOA 6u

static size_t xh_align(size_t n)
{
	return (n + ZIMG_ALIGN - 1) & ~(size_t)(ZIMG_ALIGN - 1);
}

static uint32_t xh_load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned xh_max_entries(const struct config *cfg)
{
	return cfg->ixfr_history < XH_MAX_ENTRIES ? cfg->ixfr_history : XH_MAX_ENTRIES;
}

size_t xfr_hist_area_size(const struct config *cfg, size_t slot_size)
{
	uint64_t n = xh_max_entries(cfg), data, total;

	if (n == 0)
		return 0;
	data = n * XH_PER_ENTRY;
	if (data < XH_MIN_DATA)
		data = XH_MIN_DATA;
	if (data > slot_size)
		data = slot_size;
	total = xh_align(sizeof(struct zimg_hist) + n * sizeof(struct zimg_hist_desc)) + data;
	total = (total + 4095) & ~(uint64_t)4095;
	return total > ZIMG_SLOT_MAX ? 0 : (size_t)total;
}

void xfr_hist_init(uint8_t *area, size_t size, const struct config *cfg)
{
	struct zimg_hist *h = (struct zimg_hist *)area;
	unsigned n = xh_max_entries(cfg);
	size_t data_off = xh_align(sizeof(*h) + (size_t)n * sizeof(struct zimg_hist_desc));

	memset(h, 0, sizeof(*h));
	atomic_init(&h->lock.active, 0);
	atomic_init(&h->lock.seq[0], 0);
	atomic_init(&h->lock.seq[1], 0);
	if (n == 0 || size < data_off + ZIMG_ALIGN)
		return; /* no magic: no history */
	h->max_entries = n;
	h->table_off = sizeof(*h);
	h->data_off = (uint32_t)data_off;
	h->data_size = (size - data_off) & ~(uint64_t)(ZIMG_ALIGN - 1);
	h->magic = ZIMG_HIST_MAGIC;
}

/* The writer's side of the area's seqlock: one sequence (slot 0), odd
 * while the prober changes anything; readers never see slot 1. */
static void xh_write_begin(struct zimg_hist *h)
{
	uint64_t q = atomic_load_explicit(&h->lock.seq[0], memory_order_relaxed);

	atomic_store_explicit(&h->lock.seq[0], q | 1u, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void xh_write_end(struct zimg_hist *h)
{
	uint64_t q = atomic_load_explicit(&h->lock.seq[0], memory_order_relaxed);

	atomic_store_explicit(&h->lock.seq[0], q + 1u, memory_order_release);
}

static void xh_clear(struct zimg_hist *h)
{
	xh_write_begin(h);
	h->first = 0;
	h->count = 0;
	xh_write_end(h);
}

/* A growing buffer that refuses to pass max bytes. */
struct xh_buf {
	uint8_t *p;
	size_t len, cap, max;
	bool over, oom;
};

static bool xh_put(struct xh_buf *b, const void *data, size_t n)
{
	if (b->over || b->oom)
		return false;
	if (n == 0)
		return true;
	if (n > b->max - b->len) {
		b->over = true;
		return false;
	}
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap - b->len < n)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return true;
}

static bool xh_put_u16(struct xh_buf *b, size_t v)
{
	uint8_t x[2];

	wire_store_u16(x, (uint16_t)v);
	return xh_put(b, x, 2);
}

/* One RR as the entries and the diff hold it. */
static bool xh_put_rr(struct xh_buf *b, const uint8_t *owner, size_t owner_len,
		      const uint8_t *body, size_t body_len)
{
	return xh_put_u16(b, owner_len) && xh_put(b, owner, owner_len) &&
	       xh_put_u16(b, body_len) && xh_put(b, body, body_len);
}

/* One side of the merge: a walk and its current group, the RRs sharing
 * (owner, set type, sig), bodies as u16 length + body. */
struct xh_side {
	struct zimg_iter it;
	struct zimg_rr pend; /* the walk's next RR, if st == 1 */
	int st;
	bool have;
	uint8_t owner[AHD_MAX_NAME_WIRE];
	size_t owner_len;
	uint16_t set_type;
	bool sig;
	struct xh_buf rrs;
};

static bool xh_same_group(const struct xh_side *s, const struct zimg_rr *r)
{
	return r->set_type == s->set_type && r->sig == s->sig && r->owner_len == s->owner_len &&
	       memcmp(r->owner, s->owner, s->owner_len) == 0;
}

/* The next group of s (s->have false at the end). false: corrupt/OOM. */
static bool xh_load(struct xh_side *s)
{
	s->rrs.len = 0;
	s->have = false;
	if (s->st != 1)
		return s->st == 0;
	memcpy(s->owner, s->pend.owner, s->pend.owner_len);
	s->owner_len = s->pend.owner_len;
	s->set_type = s->pend.set_type;
	s->sig = s->pend.sig;
	do {
		if (!xh_put_u16(&s->rrs, s->pend.body_len) ||
		    !xh_put(&s->rrs, s->pend.body, s->pend.body_len))
			return false;
		s->st = zimg_iter_next(&s->it, &s->pend);
	} while (s->st == 1 && xh_same_group(s, &s->pend));
	s->have = true;
	return s->st >= 0;
}

static int xh_group_cmp(const struct xh_side *a, const struct xh_side *b)
{
	int c;

	if (!a->have || !b->have)
		return a->have ? -1 : 1;
	/* Mostly the same name on both sides: skip the label walk then. */
	if (a->owner_len != b->owner_len || memcmp(a->owner, b->owner, a->owner_len) != 0) {
		c = dname_canonical_cmp(a->owner, a->owner_len, b->owner, b->owner_len);
		if (c)
			return c;
	}
	if (a->set_type != b->set_type)
		return a->set_type < b->set_type ? -1 : 1;
	return (int)a->sig - (int)b->sig;
}

/* Is the body in grp's bodies? */
static bool xh_group_has(const struct xh_buf *grp, const uint8_t *body, size_t len)
{
	for (size_t off = 0; off < grp->len;) {
		size_t n = wire_load_u16(grp->p + off);

		if (n == len && memcmp(grp->p + off + 2, body, len) == 0)
			return true;
		off += 2 + n;
	}
	return false;
}

/* The RRs of s's group not in other's (NULL: none) to out; *n counts. */
static bool xh_emit_missing(const struct xh_side *s, const struct xh_buf *other,
			    struct xh_buf *out, uint32_t *n)
{
	/* The SOA RRset travels apart, first in each part (RFC 1995). */
	if (s->set_type == XH_TYPE_SOA && !s->sig)
		return true;
	for (size_t off = 0; off < s->rrs.len;) {
		size_t len = wire_load_u16(s->rrs.p + off);
		const uint8_t *body = s->rrs.p + off + 2;

		off += 2 + len;
		if (other && xh_group_has(other, body, len))
			continue;
		if (!xh_put_rr(out, s->owner, s->owner_len, body, len))
			return false;
		(*n)++;
	}
	return true;
}

/* The merge walk of one zone: deleted and added RRs, SOA excluded. */
static bool xh_merge(struct xh_side *o, struct xh_side *n, struct xh_buf *del,
		     struct xh_buf *add, uint32_t *n_del, uint32_t *n_add)
{
	o->st = zimg_iter_next(&o->it, &o->pend);
	n->st = zimg_iter_next(&n->it, &n->pend);
	if (!xh_load(o) || !xh_load(n))
		return false;
	while (o->have || n->have) {
		int c = xh_group_cmp(o, n);
		bool ok = true;

		if (c <= 0)
			ok = xh_emit_missing(o, c == 0 ? &n->rrs : NULL, del, n_del);
		if (ok && c >= 0)
			ok = xh_emit_missing(n, c == 0 ? &o->rrs : NULL, add, n_add);
		if (!ok || (c <= 0 && !xh_load(o)) || (c >= 0 && !xh_load(n)))
			return false;
	}
	return true;
}

/* An SOA as an RR of the entry. */
static bool xh_put_soa(struct xh_side *s, struct xh_buf *out)
{
	struct zimg_rr r;

	return zimg_iter_soa(&s->it, &r) == 0 &&
	       xh_put_rr(out, r.owner, r.owner_len, r.body, r.body_len);
}

/* Why building an entry stopped: out of memory (-1), over the area's
 * size (1), else a slot that does not check out (-1). */
static int xh_why(const struct xh_buf *const *bufs, size_t n)
{
	bool over = false;

	for (size_t i = 0; i < n; i++) {
		if (bufs[i]->oom)
			return -1;
		over |= bufs[i]->over;
	}
	return over ? 1 : -1;
}

/*
 * Zone `zone` of both slots into e: apex, counts, old SOA, deleted, new
 * SOA, added. 0, 1 when it does not fit or the zones differ, -1 when a
 * slot does not check out or memory runs out.
 */
static int xh_diff_zone(const uint8_t *old, size_t old_size, const uint8_t *nw,
			size_t new_size, unsigned zone, struct xh_buf *e)
{
	struct xh_side *s = calloc(2, sizeof(*s));
	struct xh_buf del = {.max = e->max}, add = {.max = e->max};
	uint32_t n_del = 0, n_add = 0;
	uint8_t cnt[8];
	int rc = -1;

	if (!s)
		return -1;
	const struct xh_buf *bufs[] = {e, &del, &add, &s[0].rrs, &s[1].rrs};

	s[0].rrs.max = s[1].rrs.max = SIZE_MAX;
	if (zimg_iter_init(&s[0].it, old, old_size, zone) < 0 ||
	    zimg_iter_init(&s[1].it, nw, new_size, zone) < 0)
		goto out;
	rc = 1;
	if (s[0].it.apex_len != s[1].it.apex_len ||
	    memcmp(s[0].it.apex, s[1].it.apex, s[0].it.apex_len) != 0)
		goto out;
	if (!xh_merge(&s[0], &s[1], &del, &add, &n_del, &n_add)) {
		rc = xh_why(bufs, AHD_ARRAY_LEN(bufs));
		goto out;
	}
	wire_store_u32(cnt, n_del);
	wire_store_u32(cnt + 4, n_add);
	if (xh_put_u16(e, s[1].it.apex_len) && xh_put(e, s[1].it.apex, s[1].it.apex_len) &&
	    xh_put(e, cnt, 8) && xh_put_soa(&s[0], e) && xh_put(e, del.p, del.len) &&
	    xh_put_soa(&s[1], e) && xh_put(e, add.p, add.len))
		rc = 0;
	else
		rc = xh_why(bufs, AHD_ARRAY_LEN(bufs));
out:
	free(del.p);
	free(add.p);
	free(s[0].rrs.p);
	free(s[1].rrs.p);
	free(s);
	return rc;
}

/* The whole entry old -> new into e (see xh_diff_zone for the result). */
static int xh_build(const uint8_t *old, size_t old_size, const uint8_t *nw, size_t new_size,
		    struct xh_buf *e)
{
	int n = zimg_slot_zones(old, old_size), m = zimg_slot_zones(nw, new_size);
	struct zimg_hist_entry eh;

	if (n < 0 || m < 0)
		return -1;
	if (n != m)
		return 1;
	eh = (struct zimg_hist_entry){.from_serial = zimg_slot_serial(old, old_size),
				      .to_serial = zimg_slot_serial(nw, new_size),
				      .n_zones = (uint32_t)n};
	if (!xh_put(e, &eh, sizeof(eh)))
		return e->oom ? -1 : 1;
	for (int i = 0; i < n; i++) {
		int rc = xh_diff_zone(old, old_size, nw, new_size, (unsigned)i, e);

		if (rc != 0)
			return rc;
	}
	if (e->len > UINT32_MAX)
		return 1;
	eh.bytes = (uint32_t)e->len;
	memcpy(e->p, &eh, sizeof(eh));
	return 0;
}

/* Where len bytes go in the data ring after the live entries, if they
 * fit without dropping one (entries never wrap). */
static bool xh_place(const struct zimg_hist *h, const struct zimg_hist_desc *t, size_t len,
		     size_t *at)
{
	const struct zimg_hist_desc *old, *nw;
	size_t head;

	if (h->count == 0) {
		*at = 0;
		return len <= h->data_size;
	}
	old = &t[h->first];
	nw = &t[(h->first + h->count - 1) % h->max_entries];
	/* Only the prober writes them, yet a bad one must not aim the copy
	 * outside the area: it is dropped like a stale one. */
	if (old->off > h->data_size || nw->off > h->data_size ||
	    nw->len > h->data_size - nw->off)
		return false;
	head = xh_align((size_t)nw->off + nw->len);
	if (nw->off >= old->off) { /* live: [old, head) */
		if (head <= h->data_size && h->data_size - head >= len) {
			*at = head;
			return true;
		}
		*at = 0;
		return len <= old->off;
	}
	*at = head; /* live: [old, end) + [0, head) */
	return head <= old->off && old->off - head >= len;
}

static void xh_append(struct zimg_hist *h, uint8_t *area, const uint8_t *entry, size_t len)
{
	struct zimg_hist_desc *t = (struct zimg_hist_desc *)(area + h->table_off);
	struct zimg_hist_entry eh;
	size_t at = 0;

	memcpy(&eh, entry, sizeof(eh));
	xh_write_begin(h);
	if (h->count == h->max_entries) { /* --ixfr-history: the oldest goes */
		h->first = (h->first + 1) % h->max_entries;
		h->count--;
	}
	while (!xh_place(h, t, len, &at)) {
		if (h->count == 0)
			goto done; /* larger than the area: xfr_hist_record's max */
		h->first = (h->first + 1) % h->max_entries;
		h->count--;
	}
	memcpy(area + h->data_off + at, entry, len);
	t[(h->first + h->count) % h->max_entries] = (struct zimg_hist_desc){
		.from_serial = eh.from_serial, .to_serial = eh.to_serial,
		.off = (uint32_t)at, .len = (uint32_t)len};
	h->count++;
done:
	xh_write_end(h);
}

int xfr_hist_record(struct zimg *z, const uint8_t *old_slot, size_t old_size,
		    const uint8_t *new_slot, size_t new_size)
{
	size_t size;
	uint8_t *area = zimg_hist(z, &size);
	struct zimg_hist *h = (struct zimg_hist *)area;
	struct xh_buf e = {0};
	uint32_t had;
	int rc;

	if (area == NULL || h->magic != ZIMG_HIST_MAGIC)
		return 0;
	/* The prober's own header, but checked like any: a bad one would
	 * send the writes outside the area. */
	if (h->max_entries == 0 || h->table_off != sizeof(*h) ||
	    h->data_off < h->table_off + (uint64_t)h->max_entries * sizeof(struct zimg_hist_desc) ||
	    h->data_off > size || h->data_size > size - h->data_off || h->count > h->max_entries ||
	    h->first >= h->max_entries) {
		log_error("IXFR history: the area does not check out; history off");
		h->magic = 0;
		return -1;
	}
	e.max = h->data_size;
	rc = xh_build(old_slot, old_size, new_slot, new_size, &e);
	had = h->count;
	if (rc == 0)
		xh_append(h, area, e.p, e.len);
	else
		xh_clear(h);
	if (rc < 0)
		log_error("IXFR history: the images could not be compared (%s); history emptied",
			  e.oom ? "out of memory" : "an image does not check out");
	else if (rc > 0 && had > 0) /* not at every start of a large signed zone */
		log_info("IXFR history: the change is too large to keep (over %zu bytes) or the "
			 "zones changed; history emptied, secondaries will use AXFR",
			 (size_t)h->data_size);
	free(e.p);
	return rc < 0 ? -1 : 0;
}

/*
 * Worker side. The reader's half of the area's seqlock: one sequence,
 * slot 0 (the writer never uses the active index, so a hostile value
 * there must not pick the sequence either). Bounded like every reader.
 */
static uint64_t xh_read_begin(const struct zimg_hist *h)
{
	uint64_t q = 1;

	for (unsigned spin = 0; spin < SEQLOCK_SPIN_MAX; spin++) {
		q = atomic_load_explicit(&h->lock.seq[0], memory_order_acquire);
		if (!(q & 1u))
			break;
		seqlock_cpu_relax();
	}
	return q;
}

static bool xh_read_retry(const struct zimg_hist *h, uint64_t seq)
{
	atomic_thread_fence(memory_order_acquire);
	return (seq & 1u) || atomic_load_explicit(&h->lock.seq[0], memory_order_relaxed) != seq;
}

/* The area's geometry and ring, loaded once each and checked against
 * the size the mapping was validated with. */
struct xh_geom {
	uint32_t max, table_off, data_off, first, count;
	uint64_t data_size;
};

static bool xh_geom(const uint8_t *area, size_t size, struct xh_geom *g)
{
	const volatile struct zimg_hist *h = (const volatile struct zimg_hist *)area;

	if (size < sizeof(struct zimg_hist) || h->magic != ZIMG_HIST_MAGIC)
		return false;
	g->max = h->max_entries;
	g->table_off = h->table_off;
	g->data_off = h->data_off;
	g->data_size = h->data_size;
	g->first = h->first;
	g->count = h->count;
	return g->max >= 1 && g->max <= XH_MAX_ENTRIES && g->table_off == sizeof(struct zimg_hist) &&
	       g->data_off >= g->table_off + (uint64_t)g->max * sizeof(struct zimg_hist_desc) &&
	       g->data_off <= size && g->data_size <= size - g->data_off && g->first < g->max &&
	       g->count <= g->max;
}

/* The chain from..to: its first descriptor index in d[0..n), its length. */
static bool xh_find_chain(const struct zimg_hist_desc *d, uint32_t n, uint32_t from,
			  uint32_t to, uint32_t *start, uint32_t *len)
{
	for (uint32_t i = 0; i < n; i++) {
		if (d[i].from_serial != from)
			continue;
		for (uint32_t j = i; j < n && (j == i || d[j].from_serial == d[j - 1].to_serial);
		     j++) {
			if (d[j].to_serial == to) {
				*start = i;
				*len = j - i + 1;
				return true;
			}
		}
	}
	return false;
}

struct xh_chain {
	uint8_t *data;
	size_t len;
	uint32_t n;
};

enum { XH_FOUND, XH_NONE, XH_TORN };

/* One seqlock read: the entries of the chain from..to copied out. */
static int xh_snapshot(const uint8_t *area, size_t size, uint32_t from, uint32_t to,
		       struct xh_chain *c)
{
	const struct zimg_hist *h = (const struct zimg_hist *)area;
	uint64_t seq = xh_read_begin(h), sum = 0;
	struct zimg_hist_desc *d = NULL;
	struct xh_geom g;
	uint32_t start = 0, n = 0;
	int rc = XH_NONE;

	c->data = NULL;
	if (!xh_geom(area, size, &g) || g.count == 0)
		goto done;
	d = malloc((size_t)g.count * sizeof(*d));
	if (!d)
		goto done;
	for (uint32_t i = 0; i < g.count; i++)
		memcpy(&d[i], area + g.table_off + (size_t)((g.first + i) % g.max) * sizeof(*d),
		       sizeof(*d));
	if (!xh_find_chain(d, g.count, from, to, &start, &n))
		goto done;
	for (uint32_t k = start; k < start + n; k++) {
		if (d[k].off > g.data_size || d[k].len > g.data_size - d[k].off ||
		    d[k].len < sizeof(struct zimg_hist_entry))
			goto done;
		sum += d[k].len;
	}
	c->data = malloc(sum);
	if (!c->data)
		goto done;
	c->len = 0;
	for (uint32_t k = start; k < start + n; k++) {
		memcpy(c->data + c->len, area + g.data_off + d[k].off, d[k].len);
		c->len += d[k].len;
	}
	c->n = n;
	rc = XH_FOUND;
done:
	free(d);
	if (xh_read_retry(h, seq))
		rc = XH_TORN;
	if (rc != XH_FOUND) {
		free(c->data);
		c->data = NULL;
	}
	return rc;
}

/* The length of the RR at p[0..avail) (u16 owner_len, owner, u16
 * body_len, body), 0 if it does not check out. */
static size_t xh_rr_len(const uint8_t *p, size_t avail)
{
	size_t ol, bl;

	if (avail < 2)
		return 0;
	ol = wire_load_u16(p);
	if (ol == 0 || ol > AHD_MAX_NAME_WIRE || avail - 2 < ol + 2 || dname_check(p + 2, ol) < 0)
		return 0;
	bl = wire_load_u16(p + 2 + ol);
	if (bl < ZIMG_RR_HDR || avail - 4 - ol < bl ||
	    wire_load_u16(p + 4 + ol + 8) != bl - ZIMG_RR_HDR)
		return 0;
	return 4 + ol + bl;
}

/* One zone's part of one entry. */
struct xh_zblock {
	const uint8_t *old_soa, *del, *new_soa, *add;
	size_t old_soa_len, new_soa_len;
	uint32_t n_del, n_add;
};

/* count RRs at p[0..avail): false if one does not check out. */
static bool xh_skip_rrs(const uint8_t *p, size_t avail, uint32_t count, size_t *used)
{
	size_t off = 0;

	for (uint32_t i = 0; i < count; i++) {
		size_t n = xh_rr_len(p + off, avail - off);

		if (n == 0)
			return false;
		off += n;
	}
	*used = off;
	return true;
}

/* The zone block at p[0..avail) into *zb; its bytes, or 0. */
static size_t xh_zblock(const uint8_t *p, size_t avail, struct xh_zblock *zb)
{
	size_t apex_len, off, n;

	if (avail < 2)
		return 0;
	apex_len = wire_load_u16(p);
	if (apex_len == 0 || apex_len > AHD_MAX_NAME_WIRE || avail - 2 < apex_len + 8)
		return 0;
	off = 2 + apex_len;
	zb->n_del = xh_load_u32(p + off);
	zb->n_add = xh_load_u32(p + off + 4);
	off += 8;
	zb->old_soa = p + off;
	if ((zb->old_soa_len = xh_rr_len(p + off, avail - off)) == 0)
		return 0;
	off += zb->old_soa_len;
	zb->del = p + off;
	if (!xh_skip_rrs(p + off, avail - off, zb->n_del, &n))
		return 0;
	off += n;
	zb->new_soa = p + off;
	if ((zb->new_soa_len = xh_rr_len(p + off, avail - off)) == 0)
		return 0;
	off += zb->new_soa_len;
	zb->add = p + off;
	if (!xh_skip_rrs(p + off, avail - off, zb->n_add, &n))
		return 0;
	return off + n;
}

/* Zone `zone` of each entry of the chain, which must lead from..to. */
static bool xh_parse_chain(const struct xh_chain *c, unsigned zone, uint32_t from,
			   uint32_t to, struct xh_zblock *zb)
{
	size_t off = 0;
	uint32_t expect = from;

	for (uint32_t k = 0; k < c->n; k++) {
		struct zimg_hist_entry eh;
		size_t zoff;

		if (c->len - off < sizeof(eh))
			return false;
		memcpy(&eh, c->data + off, sizeof(eh));
		if (eh.from_serial != expect || eh.bytes < sizeof(eh) ||
		    eh.bytes > c->len - off || zone >= eh.n_zones)
			return false;
		zoff = off + sizeof(eh);
		for (unsigned i = 0; i <= zone; i++) {
			size_t n = xh_zblock(c->data + zoff, off + eh.bytes - zoff, &zb[k]);

			if (n == 0)
				return false;
			zoff += n;
		}
		expect = eh.to_serial;
		off += eh.bytes;
	}
	return expect == to && off == c->len;
}

/* The net change, RRs keyed by their bytes (owners are lower case). */
enum { XH_NONE_STATE = 0, XH_DELETED, XH_ADDED };

struct xh_item {
	const uint8_t *p;
	size_t len;
	int state;
};

struct xh_set {
	struct xh_item *items; /* in first-seen order */
	size_t n;
	uint32_t *slots;       /* index + 1 into items; 0: empty */
	size_t mask;
};

static uint64_t xh_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

static struct xh_item *xh_find(struct xh_set *s, const uint8_t *p, size_t len)
{
	size_t i = (size_t)xh_hash(p, len) & s->mask;

	for (;; i = (i + 1) & s->mask) {
		struct xh_item *it;

		if (s->slots[i] == 0) {
			s->slots[i] = (uint32_t)++s->n;
			s->items[s->n - 1] = (struct xh_item){p, len, XH_NONE_STATE};
			return &s->items[s->n - 1];
		}
		it = &s->items[s->slots[i] - 1];
		if (it->len == len && memcmp(it->p, p, len) == 0)
			return it;
	}
}

/* Apply one entry's part: RFC 1995 section 4, an RR added then deleted
 * (or deleted then added back) cancels out. */
static void xh_apply(struct xh_set *s, const uint8_t *p, uint32_t count, bool added)
{
	for (uint32_t i = 0; i < count; i++) {
		size_t n = xh_rr_len(p, SIZE_MAX); /* checked by xh_zblock */
		struct xh_item *it = xh_find(s, p, n);

		if (added)
			it->state = it->state == XH_DELETED ? XH_NONE_STATE : XH_ADDED;
		else
			it->state = it->state == XH_ADDED ? XH_NONE_STATE : XH_DELETED;
		p += n;
	}
}

/* [SOA from][deleted][SOA to][added] of the set, malloc'd. */
static uint8_t *xh_output(const struct xh_set *s, const struct xh_zblock *first,
			  const struct xh_zblock *last, size_t *len, size_t *n_rrs)
{
	size_t total = first->old_soa_len + last->new_soa_len, off, n = 2;
	uint8_t *out;

	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].state != XH_NONE_STATE)
			total += s->items[i].len;
	out = malloc(total);
	if (!out)
		return NULL;
	memcpy(out, first->old_soa, first->old_soa_len);
	off = first->old_soa_len;
	for (int pass = XH_DELETED; pass <= XH_ADDED; pass++) {
		if (pass == XH_ADDED) {
			memcpy(out + off, last->new_soa, last->new_soa_len);
			off += last->new_soa_len;
		}
		for (size_t i = 0; i < s->n; i++) {
			if (s->items[i].state != pass)
				continue;
			memcpy(out + off, s->items[i].p, s->items[i].len);
			off += s->items[i].len;
			n++;
		}
	}
	*len = total;
	*n_rrs = n;
	return out;
}

static uint8_t *xh_condense(const struct xh_chain *c, unsigned zone, uint32_t from,
			    uint32_t to, size_t *len, size_t *n_rrs)
{
	struct xh_zblock *zb = calloc(c->n, sizeof(*zb));
	struct xh_set s = {0};
	size_t total = 0, cap = 16;
	uint8_t *out = NULL;

	if (!zb || !xh_parse_chain(c, zone, from, to, zb))
		goto done;
	for (uint32_t k = 0; k < c->n; k++)
		total += (size_t)zb[k].n_del + zb[k].n_add;
	while (cap < 2 * total + 2)
		cap *= 2;
	s.items = malloc((total + 1) * sizeof(*s.items));
	s.slots = calloc(cap, sizeof(*s.slots));
	s.mask = cap - 1;
	if (!s.items || !s.slots || total >= UINT32_MAX)
		goto done;
	for (uint32_t k = 0; k < c->n; k++) {
		xh_apply(&s, zb[k].del, zb[k].n_del, false);
		xh_apply(&s, zb[k].add, zb[k].n_add, true);
	}
	out = xh_output(&s, &zb[0], &zb[c->n - 1], len, n_rrs);
done:
	free(s.items);
	free(s.slots);
	free(zb);
	return out;
}

uint8_t *xfr_hist_diff(const struct zimg *z, unsigned zone, uint32_t from, uint32_t to,
		       size_t *len, size_t *n_rrs)
{
	size_t size;
	const uint8_t *area = zimg_hist(z, &size);
	struct xh_chain c = {0};
	uint8_t *out;
	int rc = XH_TORN;

	if (area == NULL || from == to)
		return NULL;
	for (int tries = 0; tries < XH_READ_TRIES && rc == XH_TORN; tries++)
		rc = xh_snapshot(area, size, from, to, &c);
	if (rc != XH_FOUND)
		return NULL;
	out = xh_condense(&c, zone, from, to, len, n_rrs);
	free(c.data);
	return out;
}
