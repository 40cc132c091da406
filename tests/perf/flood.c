/*
 * A spoofed-source UDP flood on loopback for `make bench-rrl-flood`
 * (DESIGN §10): the same small query from many source addresses of one
 * prefix at a fixed rate, counting the bytes sent and the bytes the
 * server sent back to those sources.
 *
 *   flood SERVER PORT QNAME RATE SECONDS SRC_PREFIX NSRC
 *
 * SRC_PREFIX is the first three octets ("127.1.1"); socket i is bound
 * to SRC_PREFIX.(i+1), i < NSRC <= 254, each on its own kernel-chosen
 * port, so the flood looks like NSRC spoofed clients of one /24, as a
 * reflection attack does to the server. Queries alternate between no
 * EDNS and an OPT with DO (payload 1232), RD clear, a fresh ID each.
 * The send times are fixed (query k at k/RATE s), so a slow server
 * does not slow the flood; answers are read with epoll between sends
 * and for 300 ms after the last one. Prints one line:
 *
 *   sent Q sent_bytes B recv R recv_bytes B answered A truncated T
 *
 * where truncated counts TC=1 answers without answer records (slips)
 * and answered the rest. Loopback only: SERVER must be in 127.0.0.0/8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_MAX_SRC 254

struct flood_counts {
	uint64_t sent, sent_bytes, recv, recv_bytes, answered, truncated;
};

static uint64_t flood_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The query in wire form: header, QNAME, A IN, and with do_bit an OPT
 * (RFC 6891) with the DO flag. Returns its length or 0 if QNAME does
 * not fit. */
static size_t flood_query(uint8_t *q, size_t cap, const char *qname, int do_bit)
{
	size_t n = 12, lab;
	const char *p = qname, *dot;

	if (cap < 512 || strlen(qname) > 253)
		return 0;
	memset(q, 0, 12);
	q[5] = 1; /* QDCOUNT; RD clear, as a reflection attack's query is */
	while (*p != '\0') {
		dot = strchr(p, '.');
		lab = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (lab == 0 || lab > 63)
			return 0;
		q[n++] = (uint8_t)lab;
		memcpy(q + n, p, lab);
		n += lab;
		p += lab + (dot != NULL);
	}
	q[n++] = 0;
	memcpy(q + n, "\x00\x01\x00\x01", 4);
	n += 4;
	if (do_bit) {
		q[11] = 1; /* ARCOUNT */
		/* root, OPT, payload 1232, ext-rcode 0, version 0, DO, rdlen 0 */
		memcpy(q + n, "\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00", 11);
		n += 11;
	}
	return n;
}

static int flood_sockets(int *fds, int nsrc, const char *prefix, int ep)
{
	for (int i = 0; i < nsrc; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		char ip[32];

		snprintf(ip, sizeof(ip), "%s.%d", prefix, i + 1);
		if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "flood: %s is not a loopback address\n", ip);
			return -1;
		}
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			fprintf(stderr, "flood: socket %s: %s\n", ip, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Reads every answer waiting on the ready sockets, for at most ms. */
static void flood_drain(int ep, const int *fds, int ms, struct flood_counts *c)
{
	struct epoll_event evs[64];
	uint8_t buf[65536];
	int n = epoll_wait(ep, evs, 64, ms);

	for (int i = 0; i < n; i++) {
		ssize_t r;

		while ((r = recv(fds[evs[i].data.u32], buf, sizeof(buf), 0)) >= 0) {
			c->recv++;
			c->recv_bytes += (uint64_t)r;
			/* TC set and ANCOUNT 0: a slip (DESIGN §10.1) */
			if (r >= 12 && (buf[2] & 0x02) && buf[6] == 0 && buf[7] == 0)
				c->truncated++;
			else
				c->answered++;
		}
	}
}

static int flood_run(const struct sockaddr_in *srv, const char *qname, double rate, double secs,
		     const int *fds, int nsrc, int ep, struct flood_counts *c)
{
	uint8_t q[2][512];
	size_t qlen[2] = {flood_query(q[0], sizeof(q[0]), qname, 0),
			  flood_query(q[1], sizeof(q[1]), qname, 1)};
	uint64_t t0 = flood_now_ns(), total = (uint64_t)(rate * secs), k = 0;
	double period_ns = 1e9 / rate;

	if (qlen[0] == 0 || qlen[1] == 0) {
		fprintf(stderr, "flood: bad qname %s\n", qname);
		return -1;
	}
	while (k < total) {
		uint64_t due = (uint64_t)((double)(flood_now_ns() - t0) / period_ns) + 1;
		int wait_ms;

		for (; k < due && k < total; k++) {
			uint8_t *m = q[k & 1];

			m[0] = (uint8_t)(k >> 8);
			m[1] = (uint8_t)k;
			if (sendto(fds[k % (uint64_t)nsrc], m, qlen[k & 1], 0, (const struct sockaddr *)srv,
				   sizeof(*srv)) == (ssize_t)qlen[k & 1]) {
				c->sent++;
				c->sent_bytes += qlen[k & 1];
			}
		}
		/* Sleep in epoll until the next send is due (whole ms). */
		wait_ms = (int)(((double)k * period_ns - (double)(flood_now_ns() - t0)) / 1e6);
		flood_drain(ep, fds, wait_ms > 0 ? wait_ms : 0, c);
	}
	for (uint64_t end = flood_now_ns() + 300000000u; flood_now_ns() < end;)
		flood_drain(ep, fds, 10, c);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in srv = {.sin_family = AF_INET};
	struct flood_counts c = {0};
	int fds[FLOOD_MAX_SRC], nsrc, ep;
	double rate, secs;

	if (argc != 8) {
		fprintf(stderr, "usage: flood SERVER PORT QNAME RATE SECONDS SRC_PREFIX NSRC\n");
		return 2;
	}
	rate = atof(argv[4]);
	secs = atof(argv[5]);
	nsrc = atoi(argv[7]);
	srv.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &srv.sin_addr) != 1 || (ntohl(srv.sin_addr.s_addr) >> 24) != 127 ||
	    rate <= 0 || rate > 1e7 || secs <= 0 || secs > 600 || nsrc < 1 || nsrc > FLOOD_MAX_SRC) {
		fprintf(stderr, "flood: bad arguments (loopback server, 0 < RATE, 0 < SECONDS <= 600, 1 <= NSRC <= 254)\n");
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || flood_sockets(fds, nsrc, argv[6], ep) < 0)
		return 1;
	if (flood_run(&srv, argv[3], rate, secs, fds, nsrc, ep, &c) < 0)
		return 1;
	printf("sent %llu sent_bytes %llu recv %llu recv_bytes %llu answered %llu truncated %llu\n",
	       (unsigned long long)c.sent, (unsigned long long)c.sent_bytes, (unsigned long long)c.recv,
	       (unsigned long long)c.recv_bytes, (unsigned long long)c.answered,
	       (unsigned long long)c.truncated);
	return 0;
}
