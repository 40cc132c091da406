/*
 * The shm object of the zone image: create, map, validate, publish, and
 * the seqlock's read side. The slot format is in zimg_format.h, the
 * builder in zimg_build.c (called here, never calling back), the readers
 * in answer.c and admin_dump.c (through struct zimg_view or a copy).
 */
#include "zimg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ahd.h"
#include "config.h"
#include "log.h"
#include "shm.h"
#include "xfr_hist.h"
#include "zimg_build.h"
#include "zimg_format.h"
#include "zimg_iter.h"

/* One mapping. The slot geometry is copied out of the header once it has
 * been validated, so a later change to the shared header cannot move a
 * reader's bounds. */
struct zimg {
	uint8_t *base;
	size_t size;
	bool writable;
	bool mem;   /* zimg_new_mem: heap, not mmap */
	bool parts; /* zimg_heap_copy: header and slots in their own blocks */
	struct zimg_header *hdr;
	size_t slot_size;
	uint8_t *slot[2];
	uint8_t *hist; /* the IXFR history area (NULL: none) */
	size_t hist_size;
};

static void zimg_init_header(struct zimg_header *h, size_t slot_size, size_t hist_size)
{
	memset(h, 0, sizeof(*h));
	h->magic = ZIMG_MAGIC;
	h->version = ZIMG_VERSION;
	h->header_size = ZIMG_HEADER_SIZE;
	h->slot_size = slot_size;
	h->slot_off[0] = ZIMG_HEADER_SIZE;
	h->slot_off[1] = ZIMG_HEADER_SIZE + slot_size;
	h->total_size = ZIMG_HEADER_SIZE + 2 * (uint64_t)slot_size + hist_size;
	h->hist_off = hist_size ? ZIMG_HEADER_SIZE + 2 * (uint64_t)slot_size : 0;
	h->hist_size = hist_size;
	atomic_init(&h->lock.active, 0);
	atomic_init(&h->lock.seq[0], 0);
	atomic_init(&h->lock.seq[1], 0);
	atomic_init(&h->generation, 0);
}

/* The geometry a header claims, checked against the real size. */
static int zimg_check_header(const struct zimg_header *h, size_t size)
{
	if (size < sizeof(*h))
		return -1;
	if (h->magic != ZIMG_MAGIC || h->version != ZIMG_VERSION ||
	    h->header_size != ZIMG_HEADER_SIZE)
		return -1;
	if (h->slot_size < sizeof(struct zimg_slot) || h->slot_size > ZIMG_SLOT_MAX ||
	    h->slot_size % ZIMG_ALIGN != 0)
		return -1;
	if (h->slot_off[0] != ZIMG_HEADER_SIZE ||
	    h->slot_off[1] != ZIMG_HEADER_SIZE + h->slot_size)
		return -1;
	if (h->hist_size > ZIMG_SLOT_MAX || h->hist_size % ZIMG_ALIGN != 0 ||
	    h->hist_off != (h->hist_size ? ZIMG_HEADER_SIZE + 2 * h->slot_size : 0))
		return -1;
	if (h->total_size != ZIMG_HEADER_SIZE + 2 * h->slot_size + h->hist_size ||
	    h->total_size != size)
		return -1;
	return 0;
}

static struct zimg *zimg_wrap(uint8_t *base, size_t size, bool writable, bool mem)
{
	struct zimg *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->base = base;
	z->size = size;
	z->writable = writable;
	z->mem = mem;
	z->hdr = (struct zimg_header *)base;
	/* Copied now: a reader never re-reads the geometry from shared memory. */
	z->slot_size = (size_t)z->hdr->slot_size;
	z->slot[0] = base + z->hdr->slot_off[0];
	z->slot[1] = base + z->hdr->slot_off[1];
	z->hist_size = (size_t)z->hdr->hist_size;
	z->hist = z->hist_size ? base + z->hdr->hist_off : NULL;
	return z;
}

struct zimg *zimg_create(const char *shm_name, const struct config *cfg, int *ro_fd)
{
	size_t slot_size = zimg_build_slot_size(cfg);
	size_t hist_size = slot_size ? xfr_hist_area_size(cfg, slot_size) : 0;
	size_t total;
	int fd, rfd = -1;
	void *base = NULL;
	struct zimg *z = NULL;

	if (slot_size == 0) {
		log_error("shm %s: the zone is too large for the image format", shm_name);
		return NULL;
	}
	total = ZIMG_HEADER_SIZE + 2 * slot_size + hist_size;
	fd = shm_create(shm_name, total, false, &base);
	if (fd < 0)
		return NULL;
	/* The prober, forked, writes through the mapping it inherits: only
	 * the workers (exec'd) need a descriptor, and a read-only one. */
	close(fd);
	rfd = shm_open(shm_name, O_RDONLY | O_CLOEXEC, 0);
	if (rfd < 0 || shm_inherit(rfd) < 0) {
		log_error("shm %s: read-only fd: %s", shm_name, strerror(errno));
		goto fail;
	}
	zimg_init_header(base, slot_size, hist_size);
	z = zimg_wrap(base, total, true, false);
	if (!z) {
		log_error("shm %s: out of memory", shm_name);
		goto fail;
	}
	if (z->hist)
		xfr_hist_init(z->hist, z->hist_size, cfg);
	/* The first image: static records only (nothing is checked yet). */
	if (zimg_publish(z, cfg, NULL, NULL) < 0)
		goto fail;
	*ro_fd = rfd;
	return z;
fail:
	free(z);
	munmap(base, total);
	if (rfd >= 0)
		close(rfd);
	shm_unlink(shm_name);
	return NULL;
}

struct zimg *zimg_map(int fd, bool writable)
{
	size_t size;
	void *base = shm_map(fd, writable, ZIMG_HEADER_SIZE, &size);
	struct zimg *z;

	if (base == NULL) {
		if (errno == EPROTO)
			log_error("zone image: object of %zu bytes is not an image", size);
		else
			log_error("zone image: mmap: %s", strerror(errno));
		return NULL;
	}
	if (zimg_check_header(base, size) < 0) {
		log_error("zone image: bad header (magic, version or sizes)");
		munmap(base, size);
		return NULL;
	}
	z = zimg_wrap(base, size, writable, false);
	if (!z) {
		munmap(base, size);
		log_error("zone image: out of memory");
	}
	return z;
}

struct zimg *zimg_new_mem(const struct config *cfg)
{
	size_t slot_size = zimg_build_slot_size(cfg);
	size_t hist_size = slot_size ? xfr_hist_area_size(cfg, slot_size) : 0;
	size_t total = ZIMG_HEADER_SIZE + 2 * slot_size + hist_size;
	uint8_t *base;
	struct zimg *z;

	if (slot_size == 0)
		return NULL;
	base = aligned_alloc(64, total);
	if (!base)
		return NULL;
	memset(base, 0, total);
	zimg_init_header((struct zimg_header *)base, slot_size, hist_size);
	z = zimg_wrap(base, total, true, true);
	if (!z)
		free(base);
	else if (z->hist)
		xfr_hist_init(z->hist, z->hist_size, cfg);
	return z;
}

struct zimg *zimg_heap_copy(const struct zimg *m)
{
	struct zimg *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->size = m->size;
	h->mem = h->parts = true;
	h->slot_size = m->slot_size;
	h->hdr = malloc(sizeof(*h->hdr));
	h->base = (uint8_t *)h->hdr;
	h->slot[0] = malloc(m->slot_size);
	h->slot[1] = malloc(m->slot_size);
	h->hist_size = m->hist_size;
	h->hist = m->hist_size ? malloc(m->hist_size) : NULL;
	if (!h->hdr || !h->slot[0] || !h->slot[1] || (m->hist_size && !h->hist)) {
		zimg_close(h);
		return NULL;
	}
	memcpy(h->hdr, m->hdr, sizeof(*h->hdr));
	memcpy(h->slot[0], m->slot[0], m->slot_size);
	memcpy(h->slot[1], m->slot[1], m->slot_size);
	if (h->hist)
		memcpy(h->hist, m->hist, m->hist_size);
	return h;
}

uint8_t *zimg_raw(const struct zimg *z, size_t *size)
{
	*size = z->size;
	return z->base;
}

void zimg_close(struct zimg *z)
{
	if (!z)
		return;
	if (z->parts) {
		free(z->slot[0]);
		free(z->slot[1]);
		free(z->hist);
	}
	if (z->mem)
		free(z->base);
	else
		munmap(z->base, z->size);
	free(z);
}

int zimg_unlink(const char *shm_name)
{
	return shm_remove(shm_name);
}

uint32_t zimg_next_serial(uint32_t prev, uint32_t now)
{
	uint32_t d = now - prev;

	/* RFC 1982 section 3.2: now > prev iff 0 < d < 2^31. */
	if (d != 0 && d < 0x80000000u)
		return now;
	return prev + 1u;
}

/* Serial of slot s, if it holds a complete image. */
static bool zimg_slot_prev_serial(const struct zimg *z, unsigned s, uint32_t *serial)
{
	const struct zimg_slot *sl = (const struct zimg_slot *)z->slot[s];

	if (sl->magic != ZIMG_SLOT_MAGIC || sl->version != ZIMG_VERSION)
		return false;
	*serial = sl->serial;
	return true;
}

static int zimg_publish_common(struct zimg *z, const struct config *cfg,
			       const bool *published, struct zimg_signer *signer, time_t now,
			       uint32_t *serial_out)
{
	struct seqlock *l = &z->hdr->lock;
	unsigned active = atomic_load_explicit(&l->active, memory_order_relaxed) & 1u;
	uint32_t prev, serial;
	bool had_prev;
	unsigned s;
	int rc;

	if (!z->writable) {
		log_error("zone image: publish on a read-only mapping");
		return -1;
	}
	/* The only writer reads its own last image: no seqlock needed. A
	 * restarted prober continues from the serial the image holds. */
	had_prev = zimg_slot_prev_serial(z, active, &prev);
	serial = had_prev ? zimg_next_serial(prev, (uint32_t)now) : (uint32_t)now;
	s = seqlock_write_begin(l);
	rc = zimg_build_signed(z->slot[s], z->slot_size, cfg, published, serial, signer, now);
	if (rc < 0) {
		/* Leave the slot unreadable but do not direct readers to it:
		 * mark it even again without flipping the active index. */
		uint64_t q = atomic_load_explicit(&l->seq[s], memory_order_relaxed);

		atomic_store_explicit(&l->seq[s], q + 1u, memory_order_release);
		return -1;
	}
	/* Before the flip (DESIGN §9.2): a worker that sees the new serial
	 * finds the step to it. A failed record has emptied the history
	 * (clients fall back to AXFR); the image is published regardless. */
	if (had_prev && cfg->ixfr_history > 0 && z->hist != NULL)
		(void)xfr_hist_record(z, z->slot[active], z->slot_size, z->slot[s], z->slot_size);
	seqlock_write_end(l, s);
	atomic_fetch_add_explicit(&z->hdr->generation, 1, memory_order_release);
	if (serial_out)
		*serial_out = serial;
	return 0;
}

int zimg_publish_at(struct zimg *z, const struct config *cfg,
		    const bool *published, uint32_t now, uint32_t *serial_out)
{
	return zimg_publish_common(z, cfg, published, NULL, (time_t)now, serial_out);
}

int zimg_publish(struct zimg *z, const struct config *cfg,
		 const bool *published, uint32_t *serial_out)
{
	return zimg_publish_at(z, cfg, published, (uint32_t)time(NULL), serial_out);
}

int zimg_publish_signed(struct zimg *z, const struct config *cfg, const bool *published,
			struct zimg_signer *signer, time_t now, uint32_t *serial_out)
{
	return zimg_publish_common(z, cfg, published, signer, now, serial_out);
}

void zimg_read_begin(const struct zimg *z, struct zimg_view *v)
{
	v->s = seqlock_read_begin(&z->hdr->lock, &v->seq);
	v->slot = z->slot[v->s];
	v->size = z->slot_size;
}

bool zimg_read_retry(const struct zimg *z, const struct zimg_view *v)
{
	return seqlock_read_retry(&z->hdr->lock, v->s, v->seq);
}

uint32_t zimg_serial(const struct zimg *z)
{
	/* Bounded like every reader: a corrupt image whose active slot stays
	 * odd must not hang the prober or `status`. 0: no serial to be had. */
	for (int tries = 0; tries < 1000; tries++) {
		const volatile struct zimg_slot *sl;
		struct zimg_view v;
		uint32_t serial;

		zimg_read_begin(z, &v);
		sl = (const volatile struct zimg_slot *)v.slot;
		serial = sl->magic == ZIMG_SLOT_MAGIC ? sl->serial : 0;
		if (!zimg_read_retry(z, &v))
			return serial;
	}
	return 0;
}

uint64_t zimg_generation(const struct zimg *z)
{
	return atomic_load_explicit(&z->hdr->generation, memory_order_acquire);
}

uint8_t *zimg_copy_active(const struct zimg *z, size_t *len)
{
	for (int tries = 0; tries < 1000; tries++) {
		const volatile struct zimg_slot *sl;
		struct zimg_view v;
		uint32_t used;
		bool ok;
		uint8_t *buf;

		zimg_read_begin(z, &v);
		sl = (const volatile struct zimg_slot *)v.slot;
		used = sl->used;
		ok = sl->magic == ZIMG_SLOT_MAGIC && sl->version == ZIMG_VERSION &&
		     used >= sizeof(struct zimg_slot) && used <= v.size;
		if (!ok) {
			if (zimg_read_retry(z, &v))
				continue;
			return NULL;
		}
		buf = malloc(used);
		if (!buf)
			return NULL;
		memcpy(buf, v.slot, used);
		if (!zimg_read_retry(z, &v)) {
			*len = used;
			return buf;
		}
		free(buf);
	}
	return NULL;
}

size_t zimg_slot_need(const struct config *cfg)
{
	return zimg_build_slot_fit(cfg);
}

size_t zimg_slot_have(const struct zimg *z)
{
	return z->slot_size;
}

uint8_t *zimg_hist(const struct zimg *z, size_t *size)
{
	*size = z->hist_size;
	return z->hist;
}
