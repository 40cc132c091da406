#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

/* A serial file is one decimal number and a newline. */
#define STATE_SERIAL_MAX_BYTES 32

int state_serial_load(const char *dir, uint32_t *serial)
{
	char path[4096], *buf, *end;
	size_t len;
	unsigned long long v;
	enum file_error e;

	if (snprintf(path, sizeof(path), "%s/%s", dir, STATE_SERIAL_FILE) >= (int)sizeof(path))
		return -1;
	e = file_read_all(path, STATE_SERIAL_MAX_BYTES, &buf, &len);
	if (e == FILE_OPEN && errno == ENOENT)
		return 0;
	if (e != FILE_OK) {
		log_warning("%s: cannot read the saved serial (%s); starting from the clock", path,
			    e == FILE_OPEN || e == FILE_READ ? strerror(errno) : "not a small file");
		return -1;
	}
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v > UINT32_MAX ||
	    buf[0] < '0' || buf[0] > '9') {
		log_warning("%s: does not hold a serial (0-4294967295); starting from the clock",
			    path);
		free(buf);
		return -1;
	}
	free(buf);
	*serial = (uint32_t)v;
	return 1;
}

int state_file_save(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096], tmp[4096];
	const char *p = data;
	size_t off = 0;
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = 0;
	if (off < len || fsync(fd) < 0) {
		err = errno != 0 ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

int state_serial_save(const char *dir, uint32_t serial)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%" PRIu32 "\n", serial);

	return state_file_save(dir, STATE_SERIAL_FILE, text, (size_t)n);
}
