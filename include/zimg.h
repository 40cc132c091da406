/*
 * The zone image in POSIX shared memory (DESIGN §5). This file (zimg.c)
 * alone knows the mapping and the seqlock; the slot layout is in
 * zimg_format.h, the writer in zimg_build.h.
 *
 * One shm object: a fixed header, then two slots. The prober (the only
 * writer) builds the next zone into the inactive slot under that slot's
 * sequence counter (odd while writing), then flips the active index.
 * Readers take a view of the active slot (zimg_read_begin), read it with
 * every offset bounds-checked against the view's size, and retry when
 * zimg_read_retry says a publish overlapped. The layout uses offsets,
 * never pointers, and is pinned with _Static_assert.
 *
 * Who does what:
 *   supervisor: zimg_create() -> publishes the initial image (static
 *               records only: health-checked addresses not yet checked
 *               are not published), hands the read-only fd to the
 *               workers it forks, zimg_unlink() at exit.
 *   prober:     forked by the supervisor (DESIGN §4), it keeps the
 *               supervisor's read-write mapping and calls zimg_publish()
 *               on every change.
 *   workers:    zimg_map(fd, read-only) + answer_query() (answer.h).
 *   dump subcommand: zimg_map(fd, read-only) on the fd shm_open_trusted
 *               vetted (admin_dump.c).
 */
#ifndef AHD_ZIMG_H
#define AHD_ZIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;
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
/* An image in plain memory, for tests and fuzzing. */
struct zimg *zimg_new_mem(const struct config *cfg);
void zimg_close(struct zimg *z);
int zimg_unlink(const char *shm_name);

/*
 * Build the zone for cfg into the inactive slot and make it active.
 * published[i] says whether address i (the address index, health.h:
 * health_published_set) is in the answers; NULL publishes only
 * the static (bare-list) addresses. Static addresses are always
 * published whatever published[] says. The serial is strictly greater
 * (RFC 1982) than the previous image's: max(now, previous + 1).
 * *serial_out (may be NULL) receives it. Returns 0 or -1 (logged).
 */
int zimg_publish(struct zimg *z, const struct config *cfg,
		 const bool *published, uint32_t *serial_out);

struct zimg_signer; /* zsign.h */

/*
 * zimg_publish(), signed by signer at time now (signer NULL: unsigned,
 * exactly zimg_publish with that clock). The serial is max(now, previous
 * + 1) as for zimg_publish.
 */
int zimg_publish_signed(struct zimg *z, const struct config *cfg, const bool *published,
			struct zimg_signer *signer, time_t now, uint32_t *serial_out);

/* Bytes per slot that cfg needs (0: cfg cannot fit the format at all)
 * and bytes per slot this mapping has: a reload whose zone needs more
 * than the shm object was created with needs a restart. */
size_t zimg_slot_need(const struct config *cfg);
size_t zimg_slot_have(const struct zimg *z);
/* The IXFR history area after the slots (xfr_hist.h; NULL and 0 without
 * --ixfr-history), writable only if the mapping is. */
uint8_t *zimg_hist(const struct zimg *z, size_t *size);

/*
 * A read of the active slot: slot[0..size) as it was when the read
 * began. The bytes may change under the reader (a publish that
 * overlaps), so every offset read from them is bounds-checked against
 * size, never against anything in the slot, and whatever the reader
 * concluded counts only if zimg_read_retry() then returns false.
 */
struct zimg_view {
	const uint8_t *slot;
	size_t size;
	unsigned s;   /* the slot index */
	uint64_t seq; /* its sequence when the read began */
};

void zimg_read_begin(const struct zimg *z, struct zimg_view *v);
/* true: a publish overlapped the read, discard what was read. */
bool zimg_read_retry(const struct zimg *z, const struct zimg_view *v);

/* One consistent private copy of the active slot's used bytes (malloc'd,
 * *len its length), or NULL if there is no complete image or a writer
 * kept overlapping the copy. */
uint8_t *zimg_copy_active(const struct zimg *z, size_t *len);

/* Serial of the active image (seqlock read). */
uint32_t zimg_serial(const struct zimg *z);
/* How many images were published since the object was created. */
uint64_t zimg_generation(const struct zimg *z);

/* max(now, prev + 1) in RFC 1982 serial arithmetic. */
uint32_t zimg_next_serial(uint32_t prev, uint32_t now);
/* zimg_publish() with the clock passed in (tests). */
int zimg_publish_at(struct zimg *z, const struct config *cfg,
		    const bool *published, uint32_t now, uint32_t *serial_out);

/* For tests and fuzzers that damage an image on purpose: the whole
 * object (struct zimg_header, then the slots at its slot_off), *size
 * bytes; writable only if the mapping is. */
uint8_t *zimg_raw(const struct zimg *z, size_t *size);
/* A copy of m whose header and slots are each their own heap block of
 * exact size, so a sanitizer sees any read past a slot (fuzzers). NULL
 * on out of memory. */
struct zimg *zimg_heap_copy(const struct zimg *m);

#endif
