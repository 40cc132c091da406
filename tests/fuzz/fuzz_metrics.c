/*
 * Fuzz target: bytes -> the metrics endpoint's request parser
 * (metrics_http_parse) and its label escaping (metrics_escape_label).
 *
 * What must hold: the verdict is one of the known ones; MORE only while
 * the input is shorter than the cap; a decided verdict does not change
 * when more bytes follow (the parser never looks past the head, so a
 * client cannot change an answer by what it sends after); OK only for a
 * GET of /metrics; and the escaped form of any bytes, unescaped again,
 * gives those bytes back, with no raw newline and no bare quote in it.
 */
#include "fuzz.h"

#include <string.h>

#include "ahd.h"
#include "metrics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	fuzz_quiet_stderr();
	return 0;
}

static void fuzz_metrics_parse(const uint8_t *data, size_t size)
{
	enum metrics_http v = metrics_http_parse((const char *)data, size);
	uint8_t *more;

	FUZZ_CHECK(v >= METRICS_HTTP_MORE && v <= METRICS_HTTP_TOO_LARGE);
	if (v == METRICS_HTTP_MORE) {
		FUZZ_CHECK(size < METRICS_REQUEST_MAX);
		return;
	}
	if (v == METRICS_HTTP_OK)
		FUZZ_CHECK(size >= 14 && memcmp(data, "GET /metrics", 12) == 0 &&
			   (data[12] == ' ' || data[12] == '?'));
	if (v == METRICS_HTTP_TOO_LARGE)
		FUZZ_CHECK(size >= METRICS_REQUEST_MAX);
	more = malloc(size + 3);
	FUZZ_CHECK(more != NULL);
	memcpy(more, data, size);
	memcpy(more + size, "\n\n", 3);
	FUZZ_CHECK(metrics_http_parse((const char *)more, size + 3) == v);
	free(more);
}

/* The escaped text of s (no NUL: up to the first), unescaped back. */
static void fuzz_metrics_escape(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *back;
	struct metrics_buf b = { 0 };
	size_t n = 0;

	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	metrics_escape_label(&b, s);
	FUZZ_CHECK(!b.failed);
	back = malloc(b.len + 1);
	FUZZ_CHECK(back != NULL);
	for (size_t i = 0; i < b.len; i++) {
		FUZZ_CHECK(b.p[i] != '\n' && b.p[i] != '"');
		if (b.p[i] != '\\') {
			back[n++] = b.p[i];
			continue;
		}
		FUZZ_CHECK(i + 1 < b.len);
		i++;
		FUZZ_CHECK(b.p[i] == '\\' || b.p[i] == 'n' || b.p[i] == '"');
		back[n++] = b.p[i] == 'n' ? '\n' : b.p[i];
	}
	FUZZ_CHECK(n == strlen(s) && memcmp(back, s, n) == 0);
	free(back);
	free(s);
	metrics_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_metrics_parse(data, size);
	fuzz_metrics_escape(data, size);
	return 0;
}
