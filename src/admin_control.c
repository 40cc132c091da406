/*
 * The control socket's client (control.h, DESIGN §12):
 *
 *   a-healthy-dns drain NAME [ADDRESS] [--reason TEXT] [--control-socket PATH]
 *   a-healthy-dns undrain NAME [ADDRESS] [--control-socket PATH]
 *   a-healthy-dns force-up NAME ADDRESS [--reason TEXT] [--control-socket PATH]
 *
 * and the transport of `status --control-socket PATH` (admin_status.c).
 * Exit status: 0 done, 1 refused by the server or no server, 2 usage.
 */
#include "admin.h"
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"
#include "clock.h"

/* A server answers in milliseconds; a large status takes longer. */
#define ADMIN_CONTROL_TIMEOUT_MS 10000
/* The most of an answer we keep (a status of 100,000 backends). */
#define ADMIN_CONTROL_ANSWER_MAX (64u << 20)

static int admin_control_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: --control-socket: '%s' is too long\n", AHD_NAME, path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		fprintf(stderr, "%s: cannot connect to the control socket %s: %s%s\n", AHD_NAME,
			path, strerror(err),
			err == EACCES ? " (root or the server's group only)"
			: err == ENOENT || err == ECONNREFUSED ? " (is the server running? see "
								 "--control-socket)"
							       : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Read until EOF or the deadline into a growing buffer. */
static int admin_control_read(int fd, int64_t deadline, char **answer)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf != NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - clock_now_ms();
		ssize_t n;

		if (len + 1 == cap) {
			char *b = cap < ADMIN_CONTROL_ANSWER_MAX ? realloc(buf, cap * 2) : NULL;

			if (b == NULL)
				break;
			buf = b;
			cap *= 2;
		}
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			fprintf(stderr, "%s: the control socket did not answer in time\n", AHD_NAME);
			free(buf);
			return -1;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf[len] = '\0';
			*answer = buf;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	fprintf(stderr, "%s: the control socket's answer is too large\n", AHD_NAME);
	return -1;
}

int control_client_call(const char *path, const char *line, int timeout_ms, char **answer)
{
	int64_t deadline = clock_now_ms() + timeout_ms;
	size_t len = strlen(line), off = 0;
	int fd = admin_control_connect(path), rc;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The server may already have answered (busy, refused). */
			break;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	rc = admin_control_read(fd, deadline, answer);
	close(fd);
	return rc;
}

/* Print an answer: "ok" and its lines on stdout ("warning: " lines on
 * stderr), "error: ..." on stderr. Exit status 0 or 1. */
static int admin_control_print(const char *answer, const char *verb)
{
	const char *p = answer, *nl;

	if (strncmp(p, "ok\n", 3) != 0) {
		if (strncmp(p, "error: ", 7) == 0)
			p += 7;
		nl = strchr(p, '\n');
		fprintf(stderr, "%s: %s: %.*s\n", AHD_NAME, verb,
			(int)(nl != NULL ? nl - p : (ptrdiff_t)strlen(p)), p[0] ? p : "no answer");
		return 1;
	}
	for (p += 3; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p) - 1;
		fprintf(strncmp(p, "warning: ", 9) == 0 ? stderr : stdout, "%.*s\n",
			(int)(nl - p), p);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int admin_control_request(const char *path, const struct control_req *rq)
{
	char line[CONTROL_LINE_MAX + 1], *answer = NULL;
	int rc;

	if (control_req_format(rq, line, sizeof(line)) < 0) {
		fprintf(stderr, "%s: %s: a field holds a control character or is too long\n",
			AHD_NAME, control_verb_name(rq->verb));
		return 2;
	}
	if (control_client_call(path, line, ADMIN_CONTROL_TIMEOUT_MS, &answer) < 0)
		return 1;
	rc = admin_control_print(answer, control_verb_name(rq->verb));
	free(answer);
	return rc;
}

/* The socket: --control-socket, else AHDNS_CONTROL_SOCKET, else the
 * default. */
const char *admin_control_path(const char *flag)
{
	const char *env = getenv("AHDNS_CONTROL_SOCKET");

	if (flag != NULL)
		return flag;
	return env != NULL && env[0] != '\0' ? env : CONFIG_CONTROL_SOCKET_DEFAULT;
}

static int admin_control_usage(FILE *out, int status)
{
	fprintf(out, "usage: %s drain NAME [ADDRESS] [--reason TEXT] [--control-socket PATH]\n"
		     "       %s undrain NAME [ADDRESS] [--control-socket PATH]\n"
		     "       %s force-up NAME ADDRESS [--reason TEXT] [--control-socket PATH]\n"
		     "NAME: www or www.example.com; no ADDRESS: every address of NAME.\n"
		     "Socket: --control-socket, else $AHDNS_CONTROL_SOCKET, else %s\n",
		AHD_NAME, AHD_NAME, AHD_NAME, CONFIG_CONTROL_SOCKET_DEFAULT);
	return status;
}

static int admin_control_args(int argc, char **argv, struct control_req *rq, const char **path)
{
	const char *verb = argv[1], *pos[2] = { NULL, NULL };
	int n_pos = 0;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool reason = strcmp(a, "--reason") == 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return admin_control_usage(stdout, 0);
		if (reason || strcmp(a, "--control-socket") == 0) {
			if (i + 1 >= argc || (reason && rq->verb == CONTROL_UNDRAIN)) {
				fprintf(stderr, "%s: %s: %s %s\n", AHD_NAME, verb, a,
					reason && rq->verb == CONTROL_UNDRAIN ? "is not taken"
									      : "needs a value");
				return 2;
			}
			if (reason && !control_reason_ok(argv[i + 1])) {
				fprintf(stderr, "%s: %s: --reason: at most %d bytes, no control "
					"characters\n", AHD_NAME, verb, CONTROL_REASON_MAX);
				return 2;
			}
			if (reason)
				strlcpy(rq->reason, argv[i + 1], sizeof(rq->reason));
			else
				*path = argv[i + 1];
			i++;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "%s: %s: unknown option '%s'\n", AHD_NAME, verb, a);
			return admin_control_usage(stderr, 2);
		} else if (n_pos < 2) {
			pos[n_pos++] = a;
		} else {
			fprintf(stderr, "%s: %s: unexpected argument '%s'\n", AHD_NAME, verb, a);
			return admin_control_usage(stderr, 2);
		}
	}
	if (n_pos < (rq->verb == CONTROL_FORCE_UP ? 2 : 1)) {
		fprintf(stderr, "%s: %s: %s\n", AHD_NAME, verb,
			n_pos == 0 ? "a NAME is required" : "an ADDRESS is required");
		return admin_control_usage(stderr, 2);
	}
	if (strlcpy(rq->name, pos[0], sizeof(rq->name)) >= sizeof(rq->name) ||
	    (pos[1] != NULL && strlcpy(rq->addr, pos[1], sizeof(rq->addr)) >= sizeof(rq->addr))) {
		fprintf(stderr, "%s: %s: the name or address is too long\n", AHD_NAME, verb);
		return 2;
	}
	return -1;
}

int admin_control_main(int argc, char **argv)
{
	struct control_req rq = { .verb = CONTROL_DRAIN };
	const char *path = NULL;
	int rc;

	if (strcmp(argv[1], "undrain") == 0)
		rq.verb = CONTROL_UNDRAIN;
	else if (strcmp(argv[1], "force-up") == 0)
		rq.verb = CONTROL_FORCE_UP;
	rc = admin_control_args(argc, argv, &rq, &path);
	if (rc >= 0)
		return rc;
	return admin_control_request(admin_control_path(path), &rq);
}
