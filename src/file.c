#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum file_error file_read_all(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0, size;
	char *b;
	int fd, err;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return FILE_OPEN;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return FILE_NOT_REGULAR;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		*len = (size_t)st.st_size;
		return FILE_TOO_LARGE;
	}
	size = (size_t)st.st_size;
	b = malloc(size + 1);
	if (b == NULL) {
		close(fd);
		errno = ENOMEM;
		return FILE_NOMEM;
	}
	while (got < size) {
		ssize_t r = read(fd, b + got, size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			close(fd);
			explicit_bzero(b, size + 1);
			free(b);
			errno = err;
			return FILE_READ;
		}
		if (r == 0)
			break; /* shrank under us: take what is there */
		got += (size_t)r;
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return FILE_OK;
}
