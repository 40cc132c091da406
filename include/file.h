/*
 * Reading a whole file an operator named (the --config file, the key).
 */
#ifndef AHD_FILE_H
#define AHD_FILE_H

#include <stddef.h>

enum file_error {
	FILE_OK = 0,
	FILE_OPEN,        /* open(2) failed: errno */
	FILE_NOT_REGULAR, /* a directory, FIFO, device... */
	FILE_TOO_LARGE,   /* over max bytes: *len is its size */
	FILE_NOMEM,
	FILE_READ,        /* read(2) failed: errno */
};

/*
 * Read the regular file path whole, at most max bytes, into *buf (heap,
 * NUL-terminated; *len bytes before the NUL). Opened O_NONBLOCK, so a FIFO
 * given by mistake cannot hang start-up. A file that shrinks while read
 * gives what is there. On error nothing is allocated (what was read is
 * wiped first: it may be a key) and errno is that of the failed call;
 * the caller words the error line.
 */
enum file_error file_read_all(const char *path, size_t max, char **buf, size_t *len);

#endif
