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

#include "config.h"

struct zimg; /* one mapping of an image (shm or plain memory) */

/* Create (replacing a stale object of that name) and size the shm object
 * for cfg, mode 0644 (zone data is public; status must work
 * unprivileged), and map it read-write. *rw_fd / *ro_fd receive fds
 * opened O_RDWR / O_RDONLY on the object, without FD_CLOEXEC, for
 * children. Returns NULL and logs on error. */
struct zimg *zimg_create(const char *shm_name, const struct config *cfg,
			 int *rw_fd, int *ro_fd);
/* Map an inherited fd. Validates magic, version and sizes; a header that
 * does not check out is refused (NULL), never trusted. */
struct zimg *zimg_map(int fd, bool writable);
/* Open by name read-only (status, dump). */
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

/* Serial of the active image (seqlock read). */
uint32_t zimg_serial(const struct zimg *z);
/* How many images were published since the object was created. */
uint64_t zimg_generation(const struct zimg *z);

#endif
