/*
 * The pure half of the metrics endpoint (metrics.h): the HTTP request
 * parser, the text exposition writer (format 0.0.4) and the page. No I/O:
 * the loop in metrics.c feeds bytes in and writes the buffer out.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- the request ---- */

/* The request line: METHOD SP /target SP HTTP/1.x, ending at eol (the LF,
 * a CR before it dropped). Sets *get and *path_ok. */
static bool metrics_http_line(const char *s, size_t n, bool *get, bool *path_ok)
{
	const char *sp1, *sp2, *t;
	size_t mlen, tlen, plen;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	sp1 = memchr(s, ' ', n);
	if (sp1 == NULL || sp1 == s)
		return false;
	mlen = (size_t)(sp1 - s);
	for (size_t i = 0; i < mlen; i++) {
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	}
	t = sp1 + 1;
	sp2 = memchr(t, ' ', n - mlen - 1);
	if (sp2 == NULL || *t != '/')
		return false;
	tlen = (size_t)(sp2 - t);
	for (size_t i = 0; i < tlen; i++) {
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	}
	if (n - (size_t)(sp2 + 1 - s) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return false;
	plen = memchr(t, '?', tlen) != NULL ? (size_t)((const char *)memchr(t, '?', tlen) - t)
					      : tlen;
	*get = mlen == 3 && memcmp(s, "GET", 3) == 0;
	*path_ok = plen == 8 && memcmp(t, "/metrics", 8) == 0;
	return true;
}

/* A header line: a name token, a colon, anything visible or blank. */
static bool metrics_http_header(const char *s, size_t n)
{
	const char *colon;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	colon = memchr(s, ':', n);
	if (colon == NULL || colon == s)
		return false;
	for (const char *p = s; p < colon; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return false;
	}
	return true;
}

enum metrics_http metrics_http_parse(const char *buf, size_t len)
{
	const char *eol;
	size_t off, cap = len < METRICS_REQUEST_MAX ? len : METRICS_REQUEST_MAX;
	bool get = false, path_ok = false;

	eol = memchr(buf, '\n', cap);
	if (eol == NULL)
		return len >= METRICS_REQUEST_MAX ? METRICS_HTTP_TOO_LARGE : METRICS_HTTP_MORE;
	if (!metrics_http_line(buf, (size_t)(eol - buf), &get, &path_ok))
		return METRICS_HTTP_BAD;
	off = (size_t)(eol - buf) + 1;
	for (;;) {
		size_t n;

		eol = memchr(buf + off, '\n', cap - off);
		if (eol == NULL)
			return len >= METRICS_REQUEST_MAX ? METRICS_HTTP_TOO_LARGE
							  : METRICS_HTTP_MORE;
		n = (size_t)(eol - (buf + off));
		if (n == 0 || (n == 1 && buf[off] == '\r'))
			break; /* the empty line: the head is complete */
		if (!metrics_http_header(buf + off, n))
			return METRICS_HTTP_BAD;
		off += n + 1;
	}
	if (!get)
		return METRICS_HTTP_METHOD;
	return path_ok ? METRICS_HTTP_OK : METRICS_HTTP_NOT_FOUND;
}

#define METRICS_CLOSE "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"

const char *metrics_http_error(enum metrics_http v)
{
	switch (v) {
	case METRICS_HTTP_NOT_FOUND:
		return "HTTP/1.1 404 Not Found\r\n" METRICS_CLOSE
		       "Content-Length: 29\r\n\r\nnot found: try GET /metrics\r\n";
	case METRICS_HTTP_METHOD:
		return "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n" METRICS_CLOSE
		       "Content-Length: 20\r\n\r\nonly GET is served\r\n";
	case METRICS_HTTP_BAD:
		return "HTTP/1.1 400 Bad Request\r\n" METRICS_CLOSE
		       "Content-Length: 13\r\n\r\nbad request\r\n";
	case METRICS_HTTP_TOO_LARGE:
		return "HTTP/1.1 431 Request Header Fields Too Large\r\n" METRICS_CLOSE
		       "Content-Length: 19\r\n\r\nrequest too large\r\n";
	default:
		return NULL;
	}
}

/* ---- the writer ---- */

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void metrics_puts(struct metrics_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void metrics_str(struct metrics_buf *b, const char *s)
{
	metrics_puts(b, s, strlen(s));
}

/* Backslash and newline always; the quote only inside a label value. */
static void metrics_escape(struct metrics_buf *b, const char *s, bool quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
						: quote && *s == '"' ? "\\\"" : NULL;

		if (rep == NULL)
			continue;
		metrics_puts(b, run, (size_t)(s - run));
		metrics_str(b, rep);
		run = s + 1;
	}
	metrics_puts(b, run, (size_t)(s - run));
}

void metrics_escape_label(struct metrics_buf *b, const char *s)
{
	metrics_escape(b, s, true);
}

void metrics_family(struct metrics_buf *b, const char *name, const char *type,
		    const char *help)
{
	metrics_str(b, "# HELP ");
	metrics_str(b, name);
	metrics_str(b, " ");
	metrics_escape(b, help, false);
	metrics_str(b, "\n# TYPE ");
	metrics_str(b, name);
	metrics_str(b, " ");
	metrics_str(b, type);
	metrics_str(b, "\n");
}

static void metrics_head(struct metrics_buf *b, const char *name, const struct metrics_label *l,
			 size_t n)
{
	metrics_str(b, name);
	for (size_t i = 0; i < n; i++) {
		metrics_str(b, i == 0 ? "{" : ",");
		metrics_str(b, l[i].name);
		metrics_str(b, "=\"");
		metrics_escape(b, l[i].value, true);
		metrics_str(b, "\"");
	}
	metrics_str(b, n > 0 ? "} " : " ");
}

/* name{labels} num\n, num already formatted. */
static void metrics_sample(struct metrics_buf *b, const char *name, const struct metrics_label *l,
			   size_t n, const char *num)
{
	metrics_head(b, name, l, n);
	metrics_str(b, num);
	metrics_str(b, "\n");
}

void metrics_sample_u64(struct metrics_buf *b, const char *name, const struct metrics_label *l,
			size_t n, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	metrics_sample(b, name, l, n, num);
}

void metrics_sample_i64(struct metrics_buf *b, const char *name, const struct metrics_label *l,
			size_t n, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	metrics_sample(b, name, l, n, num);
}

void metrics_sample_f(struct metrics_buf *b, const char *name, const struct metrics_label *l,
		      size_t n, double v)
{
	char num[48];

	snprintf(num, sizeof(num), "%.6f", v);
	metrics_sample(b, name, l, n, num);
}
