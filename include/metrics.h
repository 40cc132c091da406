/*
 * The Prometheus endpoint (--metrics-listen, DESIGN §11): a child of the
 * supervisor, forked like the notifier, that serves GET /metrics in the
 * text exposition format 0.0.4 from a read-only view of the statistics
 * object (stats.h). It holds no key and no writable mapping; it only
 * accepts, reads a request, renders and writes.
 *
 * Pure parts (metrics_text.c, unit-tested and fuzzed): the request
 * parser, the exposition writer and the renderer. The loop (metrics.c):
 * one epoll, non-blocking sockets, bounded connections and time.
 */
#ifndef AHD_METRICS_H
#define AHD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct stats;

/* Limits against a slow or hostile scraper (DESIGN §11.2). */
#define METRICS_REQUEST_MAX 8192  /* request line and headers: else 431 */
#define METRICS_CONN_MAX 64       /* open connections; the oldest goes first */
#define METRICS_CONN_MS 5000      /* a connection's whole life, request to last byte */
#define METRICS_RENDER_MS 100     /* a page is reused this long: 1000 scrapes, one render */

/* ---- the request ---- */

/* Verdict on the bytes received so far (metrics_http_parse). */
enum metrics_http {
	METRICS_HTTP_MORE = 0,  /* no end of the headers yet: read on */
	METRICS_HTTP_OK,        /* GET /metrics: 200 */
	METRICS_HTTP_NOT_FOUND, /* another path: 404 */
	METRICS_HTTP_METHOD,    /* another method: 405 */
	METRICS_HTTP_BAD,       /* not an HTTP/1.x request: 400 */
	METRICS_HTTP_TOO_LARGE, /* no end of the headers within the cap: 431 */
};

/* Look at buf[0..len): a complete request head (ending with an empty
 * line, CRLF or bare LF) decides; so does a request line already wrong
 * or a head longer than METRICS_REQUEST_MAX. Never reads past len. */
enum metrics_http metrics_http_parse(const char *buf, size_t len);
/* The status line and headers of an error verdict (with a short text
 * body, "Connection: close"); NULL for OK and MORE. */
const char *metrics_http_error(enum metrics_http v);

/* ---- the exposition writer ---- */

/* A growing text buffer; failed: an allocation failed (the text is then
 * incomplete and must not be served). */
struct metrics_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

struct metrics_label {
	const char *name;
	const char *value; /* escaped on output: backslash, quote, newline */
};

void metrics_buf_free(struct metrics_buf *b);
void metrics_puts(struct metrics_buf *b, const char *s, size_t n);
/* "# HELP name help\n# TYPE name type\n" (help escaped: backslash,
 * newline). type: "counter", "gauge". */
void metrics_family(struct metrics_buf *b, const char *name, const char *type,
		    const char *help);
/* name{l1="v1",...} value\n; n 0: no braces. */
void metrics_sample_u64(struct metrics_buf *b, const char *name, const struct metrics_label *l,
			size_t n, uint64_t v);
void metrics_sample_i64(struct metrics_buf *b, const char *name, const struct metrics_label *l,
			size_t n, int64_t v);
void metrics_sample_f(struct metrics_buf *b, const char *name, const struct metrics_label *l,
		      size_t n, double v);
/* A label value as the format wants it, for tests. */
void metrics_escape_label(struct metrics_buf *b, const char *s);

/* ---- the page ---- */

/* Every metric of st at Unix time now (DESIGN §11.1); 0, or -1 if out of
 * memory or the backend table could not be read consistently. */
int metrics_render(const struct stats *st, int64_t now, struct metrics_buf *b);

/* ---- the process ---- */

/*
 * The metrics child: serve on listen_fd (bound and listening,
 * non-blocking, handed over by the supervisor) until SIGTERM/SIGINT. st:
 * a read-only mapping. Privileges are already dropped; the caller
 * installs the seccomp filter through metrics_main's setup hook order:
 * metrics_setup() (signals, epoll), then proc_sandbox, then metrics_run.
 */
struct metrics_loop;
struct metrics_loop *metrics_setup(int listen_fd);
int metrics_run(struct metrics_loop *m, const struct stats *st);
void metrics_free(struct metrics_loop *m);

#endif
