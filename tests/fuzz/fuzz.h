/*
 * Shared by the libFuzzer targets (fuzz_*.c), the corpus replay tests
 * (replay.c) and the seed generator (gen_corpus.c).
 *
 * A target is built twice: with clang and -fsanitize=fuzzer for `make
 * fuzz`, and with gcc against the sanitized objects for `make check`,
 * where replay.c feeds it every file of its corpus. A broken invariant
 * aborts in both, so libFuzzer saves a reproducer and criterion counts a
 * crash.
 */
#ifndef AHD_FUZZ_H
#define AHD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "zimg.h"

/* The libFuzzer entry points (a target may leave out the initializer). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must not vanish under NDEBUG, it says which rule broke,
 * and it reaches the terminal even when stderr is silenced. */
#define FUZZ_CHECK(cond)                                         \
	do {                                                     \
		if (!(cond))                                     \
			fuzz_fail(__FILE__, __LINE__, #cond);    \
	} while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/*
 * fuzz_common.c: the zone every query target answers from, example.com
 * with the alias example.net: static A and AAAA names, multi-label names,
 * empty non-terminals, health-checked addresses of which every other one
 * is published, an entry too large for classic UDP. Returns 0 or -1.
 */
int fuzz_fixture_config(struct config *cfg);
/* The flat "published" array for cfg (every even address up); free(). */
bool *fuzz_fixture_published(const struct config *cfg);
/* An in-memory image of the fixture, published twice so the active slot
 * is slot 0 (see fuzz_zimg.c); NULL on error. */
struct zimg *fuzz_fixture_image(const struct config *cfg);

/*
 * The fixture signed with an ECDSAP256SHA256 key made in memory at each
 * start (no file, no openssl command), published twice at the fixed time
 * FUZZ_SIGN_NOW like fuzz_fixture_image(). Sets cfg->priv_key_path (only
 * so the image is sized for signatures) and priv_key_alg. *key_tag
 * (may be NULL) receives the DNSKEY's key tag. NULL on error.
 */
#define FUZZ_SIGN_NOW 1700000000
struct zimg *fuzz_fixture_signed_image(struct config *cfg, uint16_t *key_tag);

/* Send stderr to /dev/null but keep sanitizer reports and fuzz_fail() on
 * the original stream: the code under test prints one line per rejected
 * input. Only in the replay build: libFuzzer prints its own progress on
 * stderr, so under libFuzzer `make fuzz` passes -close_fd_mask=2 instead. */
void fuzz_quiet_stderr(void);

#endif
