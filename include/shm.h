/*
 * POSIX shared memory objects, the one way the zone image and the
 * statistics are created, mapped and opened (DESIGN §5).
 */
#ifndef AHD_SHM_H
#define AHD_SHM_H

#include <stdbool.h>
#include <stddef.h>

/* Largest object a command opening one by name accepts. */
#define SHM_MAX ((size_t)1 << 30)
/* Room for the phrase shm_open_trusted explains a refusal with. */
#define SHM_WHY_MAX 96

/*
 * Create the object name anew (removing a stale one a crashed run left),
 * mode 0644 whatever the umask (its data is public: status and dump run
 * unprivileged), size bytes of zeros, mapped read-write at *base.
 * Returns its O_RDWR descriptor, without FD_CLOEXEC when inherit (for
 * children), or -1 after one log line naming the object (nothing is left
 * behind).
 */
int shm_create(const char *name, size_t size, bool inherit, void **base);

/*
 * Map the whole object fd refers to, read-write or read-only. Returns
 * the mapping and its size in *size, or NULL with errno set (EPROTO: it
 * is smaller than min bytes), nothing logged.
 */
void *shm_map(int fd, bool writable, size_t min, size_t *size);

/* Clear FD_CLOEXEC, so children started with exec inherit fd. */
int shm_inherit(int fd);

/*
 * Open the object name read-only for a command that finds it by its
 * predictable name (status, dump), and only if it can be trusted: anyone
 * may create /dev/shm/<name> before the server does, so the object must
 * be a regular one of at most SHM_MAX bytes, owned by root or by the
 * caller (a server started by the caller's own account), and writable by
 * nobody else (no group or other write bit). Checked with fstat on the
 * open descriptor, not stat then open, so the object looked at is the
 * one read. Returns the descriptor, or -1 with errno (from shm_open, or
 * EPERM when refused) and why set to a phrase for the error line ("owned
 * by uid 65534, not root or you").
 */
int shm_open_trusted(const char *name, char *why, size_t cap);

/* Remove name; a missing object is not an error. 0, or -1 (logged). */
int shm_remove(const char *name);

#endif
