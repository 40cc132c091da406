#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int shm_inherit(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int shm_create(const char *name, size_t size, bool inherit, void **base)
{
	void *p = MAP_FAILED;
	int fd;

	(void)shm_unlink(name); /* a stale object of a crashed run */
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error("shm_open %s: %s", name, strerror(errno));
		return -1;
	}
	/* The umask must not make it unreadable to an unprivileged command. */
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)size) < 0) {
		log_error("shm %s: sizing to %zu bytes: %s", name, size, strerror(errno));
		goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		log_error("mmap %s: %s", name, strerror(errno));
		goto fail;
	}
	if (inherit && shm_inherit(fd) < 0) {
		log_error("shm %s: fcntl: %s", name, strerror(errno));
		goto fail;
	}
	*base = p;
	return fd;
fail:
	if (p != MAP_FAILED)
		munmap(p, size);
	close(fd);
	shm_unlink(name);
	return -1;
}

void *shm_map(int fd, bool writable, size_t min, size_t *size)
{
	struct stat st;
	void *p;

	*size = 0;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX) {
		errno = EPROTO;
		return NULL;
	}
	*size = (size_t)st.st_size;
	if (*size < min) {
		errno = EPROTO;
		return NULL;
	}
	p = mmap(NULL, *size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

int shm_open_trusted(const char *name, char *why, size_t cap)
{
	struct stat st;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(why, cap, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		int err = errno;

		snprintf(why, cap, "fstat: %s", strerror(err));
		close(fd);
		errno = err;
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(why, cap, "not a shared memory object");
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		snprintf(why, cap, "owned by uid %u, not root or you", (unsigned)st.st_uid);
	else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		snprintf(why, cap, "writable by %s (mode %04o)",
			 (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
	else if ((uint64_t)st.st_size > SHM_MAX)
		snprintf(why, cap, "%lld bytes, larger than 1 GiB", (long long)st.st_size);
	else
		return fd;
	close(fd);
	errno = EPERM;
	return -1;
}

int shm_remove(const char *name)
{
	if (shm_unlink(name) < 0 && errno != ENOENT) {
		log_error("shm_unlink %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}
