/*
 * ahd-health-target: a tiny backend for demos and system tests.
 *
 *   ahd-health-target [--http STATUS] [--bind ADDR] PORT...
 *
 * Listens on every PORT (TCP, on ADDR, default 127.0.0.1). Without --http
 * it accepts and closes; with --http it reads the request head and
 * answers "HTTP/1.1 STATUS ...". SIGUSR1 makes it answer 503 from then on,
 * SIGUSR2 restores STATUS (an HTTP backend going sick and back). Prints
 * "ready" on stdout once every port listens; runs until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "target_listen.h"

#define TARGET_MAX_PORTS 64

static volatile sig_atomic_t target_stop;
static volatile sig_atomic_t target_sick;

static void target_on_stop(int sig)
{
	(void)sig;
	target_stop = 1;
}

static void target_on_usr(int sig)
{
	target_sick = sig == SIGUSR1;
}

static void target_usage(void)
{
	fprintf(stderr, "usage: ahd-health-target [--http STATUS] [--bind ADDR] PORT...\n");
	exit(2);
}

static void target_answer(int c, int status)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 500000 };
	char buf[2048], resp[256];
	size_t got = 0;
	int n;

	/* Bounded: a client that never finishes its request cannot stall us. */
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < sizeof(buf) - 1) {
		ssize_t k = recv(c, buf + got, sizeof(buf) - 1 - got, 0);

		if (k <= 0)
			break;
		got += (size_t)k;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
		     "Connection: close\r\n\r\n%s\n",
		     status, status < 400 ? "OK" : "Unhealthy", status < 400 ? "ok" : "no");
	if (n > 0)
		(void)!send(c, resp, (size_t)n, MSG_NOSIGNAL);
}

int main(int argc, char **argv)
{
	const char *bind_addr = "127.0.0.1";
	struct pollfd pfd[TARGET_MAX_PORTS];
	struct sigaction sa;
	size_t n = 0;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--http") == 0 && i + 1 < argc) {
			status = atoi(argv[++i]);
			if (status < 100 || status > 999)
				target_usage();
		} else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
			bind_addr = argv[++i];
		} else if (argv[i][0] >= '0' && argv[i][0] <= '9' && n < TARGET_MAX_PORTS) {
			char *end;
			unsigned long port = strtoul(argv[i], &end, 10);

			if (*end != '\0' || port == 0 || port > 65535)
				target_usage();
			pfd[n].fd = target_listen(bind_addr, (unsigned)port, 0, 1024);
			if (pfd[n].fd < 0) {
				fprintf(stderr, "ahd-health-target: cannot listen on %s port %lu: %s\n",
					bind_addr, port, strerror(errno));
				return 1;
			}
			pfd[n].events = POLLIN;
			n++;
		} else {
			target_usage();
		}
	}
	if (n == 0)
		target_usage();

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = target_on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = target_on_usr;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	printf("ready\n");
	fflush(stdout);
	while (!target_stop) {
		int k = poll(pfd, n, -1);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			perror("ahd-health-target: poll");
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			if (status != 0)
				target_answer(c, target_sick ? 503 : status);
			close(c);
		}
	}
	for (size_t i = 0; i < n; i++)
		close(pfd[i].fd);
	return 0;
}
