/*
 * ahd-tls-target: an HTTPS backend for the https check's system tests
 * and bench-scale (DESIGN §3.1).
 *
 *   ahd-tls-target --cert PEM --key PEM [--http STATUS] [--no-tickets]
 *                  [--workers N] [--bind ADDR]... [--bind-file FILE] PORT
 *
 * Listens on PORT at every ADDR (default 127.0.0.1; --bind-file: one
 * address a line, for thousands), all on one non-blocking epoll loop:
 * TLS handshake, read the request head, answer "HTTP/1.1 STATUS" (default
 * 200), close. --workers N forks N-1 copies sharing the listeners (for
 * bench-scale's thousands of handshakes a round; the session ticket key
 * is made before the fork, so any copy resumes any session). --cert is
 * the chain (leaf first). Sessions resume with
 * TLS 1.3 tickets unless --no-tickets. Prints "ready" on stdout once it
 * listens; on SIGTERM/SIGINT prints "handshakes N resumed M peak P" on
 * stderr, P the most TLS sessions a client had begun at once (a
 * ClientHello read, not yet closed): how many a prober runs in parallel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "target_listen.h"

#define TT_EVENTS 256
#define TT_HEAD_MAX 4096

enum tt_state { TT_FREE = 0, TT_LISTEN, TT_HANDSHAKE, TT_READ, TT_WRITE };

struct tt_conn {
	enum tt_state state;
	SSL *ssl;
	size_t got;
	bool begun; /* the client's first handshake message was read */
	char head[TT_HEAD_MAX];
};

static volatile sig_atomic_t tt_stop;
static struct tt_conn *tt_conns; /* indexed by fd */
static size_t tt_cap;
static int tt_ep = -1;
static int tt_status = 200;
static char tt_resp[256];
static int tt_resp_len;
static unsigned long tt_handshakes, tt_resumed, tt_begun, tt_peak;

static void tt_on_stop(int sig)
{
	(void)sig;
	tt_stop = 1;
}

static void tt_usage(void)
{
	fprintf(stderr, "usage: ahd-tls-target --cert PEM --key PEM [--http STATUS] [--no-tickets] "
			"[--workers N] [--bind ADDR]... [--bind-file FILE] PORT\n");
	exit(2);
}

static int tt_listen(const char *addr, unsigned port)
{
	int fd = target_listen(addr, port, SOCK_NONBLOCK, 4096);

	if (fd >= 0 && (size_t)fd >= tt_cap) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tt_watch(int fd, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(tt_ep, op, fd, &ev);
}

static void tt_close(int fd)
{
	struct tt_conn *c = &tt_conns[fd];

	tt_begun -= c->begun;
	if (c->ssl != NULL) {
		/* One non-blocking close_notify; the client resets anyway. */
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	memset(c, 0, sizeof(*c));
	close(fd);
	ERR_clear_error();
}

/* WANT_READ/WANT_WRITE: wait for it (1); anything else ends it (0). */
static int tt_wait(int fd, int rc)
{
	int err = SSL_get_error(tt_conns[fd].ssl, rc);

	if (err == SSL_ERROR_WANT_READ)
		return tt_watch(fd, EPOLLIN, EPOLL_CTL_MOD) == 0;
	if (err == SSL_ERROR_WANT_WRITE)
		return tt_watch(fd, EPOLLOUT, EPOLL_CTL_MOD) == 0;
	return 0;
}

/* Drive one connection as far as it goes without blocking. */
static void tt_step(int fd)
{
	struct tt_conn *c = &tt_conns[fd];
	int rc = 0;

	for (;;) {
		ERR_clear_error();
		if (c->state == TT_HANDSHAKE) {
			rc = SSL_do_handshake(c->ssl);
			if (rc != 1)
				break;
			tt_handshakes++;
			tt_resumed += SSL_session_reused(c->ssl) == 1;
			c->state = TT_READ;
		} else if (c->state == TT_READ) {
			rc = SSL_read(c->ssl, c->head + c->got, (int)(sizeof(c->head) - 1 - c->got));
			if (rc <= 0)
				break;
			c->got += (size_t)rc;
			c->head[c->got] = '\0';
			if (strstr(c->head, "\r\n\r\n") != NULL || c->got + 1 >= sizeof(c->head))
				c->state = TT_WRITE;
		} else {
			rc = SSL_write(c->ssl, tt_resp, tt_resp_len);
			if (rc <= 0)
				break;
			tt_close(fd);
			return;
		}
	}
	/* Bytes read: the ClientHello came (SSL_in_before turns false as soon
	 * as the server side starts waiting for it). */
	if (!c->begun && BIO_number_read(SSL_get_rbio(c->ssl)) > 0) {
		c->begun = true;
		if (++tt_begun > tt_peak)
			tt_peak = tt_begun;
	}
	if (!tt_wait(fd, rc))
		tt_close(fd);
}

static void tt_accept(int lfd, SSL_CTX *ctx)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct tt_conn *c;

		if ((size_t)fd >= tt_cap) {
			close(fd);
			continue;
		}
		c = &tt_conns[fd];
		c->ssl = SSL_new(ctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1 ||
		    tt_watch(fd, EPOLLIN, EPOLL_CTL_ADD) != 0) {
			tt_close(fd);
			continue;
		}
		SSL_set_accept_state(c->ssl);
		c->state = TT_HANDSHAKE;
		tt_step(fd);
	}
}

static SSL_CTX *tt_ctx(const char *cert, const char *key, int tickets)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "ahd-tls-target: cannot load %s / %s\n", cert, key);
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (tickets) {
		SSL_CTX_set_num_tickets(ctx, 1);
	} else {
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	return ctx;
}

/* Listen at every address of file (one a line). How many, or -1. */
static int tt_listen_file(const char *file, unsigned port)
{
	FILE *f = fopen(file, "r");
	char line[128];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		int fd;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		fd = tt_listen(line, port);
		if (fd < 0 || tt_watch(fd, EPOLLIN, EPOLL_CTL_ADD) != 0) {
			fprintf(stderr, "ahd-tls-target: cannot listen on %s port %u: %s\n", line,
				port, strerror(errno));
			fclose(f);
			return -1;
		}
		tt_conns[fd].state = TT_LISTEN;
		n++;
	}
	fclose(f);
	return n;
}

/* A fresh epoll set in a forked copy, over the inherited listeners. */
static void tt_rewatch(void)
{
	close(tt_ep);
	tt_ep = epoll_create1(EPOLL_CLOEXEC);
	for (size_t fd = 0; fd < tt_cap; fd++) {
		if (tt_conns[fd].state == TT_LISTEN)
			(void)tt_watch((int)fd, EPOLLIN | EPOLLEXCLUSIVE, EPOLL_CTL_ADD);
	}
}

static void tt_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = tt_on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void tt_loop(SSL_CTX *ctx)
{
	struct epoll_event evs[TT_EVENTS];

	while (!tt_stop) {
		int n = epoll_wait(tt_ep, evs, TT_EVENTS, -1);

		for (int k = 0; k < n; k++) {
			int fd = evs[k].data.fd;

			if (tt_conns[fd].state == TT_LISTEN)
				tt_accept(fd, ctx);
			else if (tt_conns[fd].state != TT_FREE)
				tt_step(fd);
		}
	}
}

/* workers - 1 children, each with an epoll set of its own over the
 * same listeners; they stop with us (SIGTERM to the group is not ours to
 * send: PR_SET_PDEATHSIG). */
static void tt_fork(int workers)
{
	for (int w = 1; w < workers; w++) {
		pid_t pid = fork();

		if (pid != 0)
			continue;
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		tt_handshakes = tt_resumed = 0;
		tt_rewatch();
		return;
	}
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *file = NULL, *binds[64];
	size_t n_binds = 0;
	unsigned port = 0;
	int tickets = 1, n = 0, workers = 1;
	struct rlimit rl;
	SSL_CTX *ctx;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (strcmp(argv[i], "--http") == 0 && i + 1 < argc)
			tt_status = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-tickets") == 0)
			tickets = 0;
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			workers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc && n_binds < 64)
			binds[n_binds++] = argv[++i];
		else if (strcmp(argv[i], "--bind-file") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (argv[i][0] >= '1' && argv[i][0] <= '9' && port == 0)
			port = (unsigned)strtoul(argv[i], NULL, 10);
		else
			tt_usage();
	}
	if (cert == NULL || key == NULL || port == 0 || port > 65535 || tt_status < 100 ||
	    tt_status > 999 || workers < 1 || workers > 64)
		tt_usage();
	if (n_binds == 0 && file == NULL)
		binds[n_binds++] = "127.0.0.1";
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	tt_cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 22) ? rl.rlim_cur
										: (1u << 22);
	tt_conns = calloc(tt_cap, sizeof(*tt_conns));
	tt_ep = epoll_create1(EPOLL_CLOEXEC);
	if (tt_conns == NULL || tt_ep < 0)
		return 1;
	ctx = tt_ctx(cert, key, tickets);
	tt_resp_len = snprintf(tt_resp, sizeof(tt_resp),
			       "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
			       "Connection: close\r\n\r\n%s\n",
			       tt_status, tt_status < 400 ? "OK" : "Unhealthy",
			       tt_status < 400 ? "ok" : "no");
	for (size_t i = 0; i < n_binds; i++, n++) {
		int fd = tt_listen(binds[i], port);

		if (fd < 0 || tt_watch(fd, EPOLLIN, EPOLL_CTL_ADD) != 0) {
			fprintf(stderr, "ahd-tls-target: cannot listen on %s port %u: %s\n", binds[i],
				port, strerror(errno));
			return 1;
		}
		tt_conns[fd].state = TT_LISTEN;
	}
	if (file != NULL && tt_listen_file(file, port) < 0)
		return 1;
	tt_signals();
	printf("ready\n");
	fflush(stdout);
	tt_fork(workers);
	tt_loop(ctx);
	fprintf(stderr, "handshakes %lu resumed %lu peak %lu\n", tt_handshakes, tt_resumed, tt_peak);
	SSL_CTX_free(ctx);
	return 0;
}
