#include "check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ahd.h"

/* The Host header: http_host, else the target's address; RFC 7230
 * section 5.4: an IPv6 literal is bracketed. 0, or -1 if it does not fit. */
static int check_http_host(const struct check_target *t, char *host, size_t cap)
{
	char text[INET6_ADDRSTRLEN];
	const char *h = t->http_host;
	int n;

	if (h == NULL) {
		if (inet_ntop(t->family, t->addr, text, sizeof(text)) == NULL)
			return -1;
		h = text;
	}
	n = snprintf(host, cap, strchr(h, ':') != NULL ? "[%s]" : "%s", h);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

size_t check_http_request(const struct check_target *t, char *buf, size_t cap)
{
	char host[AHD_MAX_NAME_TEXT + 3];
	const char *path = t->http_path != NULL && t->http_path[0] != '\0' ? t->http_path : "/";
	int n;

	if (check_http_host(t, host, sizeof(host)) < 0)
		return 0;
	n = snprintf(buf, cap,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: " AHD_NAME "/" AHD_VERSION "\r\n"
		     "Connection: close\r\n"
		     "\r\n",
		     path, host);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

int check_http_status(const char *buf, size_t len, int *status)
{
	static const char prefix[] = "HTTP/1.";
	size_t plen = sizeof(prefix) - 1;
	size_t i;
	int code = 0;

	/* Compare what we have so far; a mismatch anywhere is final. */
	for (i = 0; i < len && i < plen; i++) {
		if (buf[i] != prefix[i])
			return -1;
	}
	if (len < plen + 6) /* "x NNN " or "x NNN\r" */
		return 0;
	if (buf[plen] < '0' || buf[plen] > '9' || buf[plen + 1] != ' ')
		return -1;
	for (i = plen + 2; i < plen + 5; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		code = code * 10 + (buf[i] - '0');
	}
	/* RFC 7230 section 3.1.2: SP reason-phrase; tolerate a bare CR too. */
	if (buf[plen + 5] != ' ' && buf[plen + 5] != '\r')
		return -1;
	if (code < 100)
		return -1;
	*status = code;
	return 1;
}

bool check_http_verdict(int status, const struct config_status_range *set, size_t n,
			char *reason, size_t cap)
{
	bool pass = n == 0 && status >= 200 && status < 400;

	for (size_t i = 0; i < n && !pass; i++)
		pass = status >= set[i].lo && status <= set[i].hi;
	/* A failure names itself ("HTTP status 503" in status and the log). */
	snprintf(reason, cap, pass ? "HTTP %d" : "HTTP status %d", status);
	return pass;
}
