/*
 * `make check` without libFuzzer: feeds every file of one target's
 * checked-in corpus to that target's LLVMFuzzerTestOneInput, built with
 * gcc and ASan+UBSan. Compiled once per target with FUZZ_TARGET (the
 * name) and FUZZ_CORPUS (the directory) defined; FUZZ_CORPUS in the
 * environment overrides the directory, FUZZ_VERBOSE=1 names each file
 * before it runs (to find the one that crashes).
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Optional in a target, as in libFuzzer. */
#pragma weak LLVMFuzzerInitialize

/* The whole file in a block of exactly its size, so a read past the
 * input is a heap overflow, as under libFuzzer. */
static uint8_t *replay_read(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	cr_assert_not_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		cr_assert_gt(r, 0, "read %s", path);
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

static int replay_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(fuzz_replay, corpus, .description = "replay tests/fuzz/corpus/" FUZZ_TARGET)
{
	const char *dir = getenv("FUZZ_CORPUS") ? getenv("FUZZ_CORPUS") : FUZZ_CORPUS;
	bool verbose = getenv("FUZZ_VERBOSE") != NULL;
	int argc = 1;
	char *args[] = { "replay_" FUZZ_TARGET, NULL };
	char **argv = args;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int out = dup(2); /* the target may silence stderr */

	cr_assert_geq(out, 0);
	if (LLVMFuzzerInitialize)
		cr_assert_eq(LLVMFuzzerInitialize(&argc, &argv), 0);
	d = opendir(dir);
	cr_assert_not_null(d, "corpus %s: %s", dir, strerror(errno));
	/* Sorted: a failure reproduces in the same order. */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = reallocarray(names, n + 1, sizeof(*names));
		cr_assert_not_null(names);
		names[n] = strdup(de->d_name);
		cr_assert_not_null(names[n]);
		n++;
	}
	closedir(d);
	cr_assert_gt(n, 0, "corpus %s is empty", dir);
	qsort(names, n, sizeof(*names), replay_name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		size_t len;
		uint8_t *buf;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (verbose)
			dprintf(out, "replay %s\n", path);
		buf = replay_read(path, &len);
		cr_assert_eq(LLVMFuzzerTestOneInput(buf, len), 0, "input %s", path);
		free(buf);
		free(names[i]);
	}
	free(names);
	close(out);
}
