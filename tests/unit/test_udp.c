/*
 * udp.c over real loopback sockets: batches in, handler, batches out,
 * and the reply source address on wildcard sockets.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udp.h"

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Reverses the bytes; answers nothing for an "x". */
static size_t reverse(void *ctx, const struct sockaddr *peer, const uint8_t *in,
		      size_t len, uint8_t *out, size_t cap)
{
	(*(int *)ctx)++;
	cr_assert_not_null(peer);
	cr_assert(peer->sa_family == AF_INET || peer->sa_family == AF_INET6);
	if (len == 1 && in[0] == 'x')
		return 0;
	cr_assert_leq(len, cap);
	for (size_t i = 0; i < len; i++)
		out[i] = in[len - 1 - i];
	return len;
}

static int client(const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void serve_all(struct udp_batch *b, int fd, bool pktinfo, int *calls,
		      int want)
{
	uint64_t dropped = 0;

	for (int tries = 0; *calls < want && tries < 200; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		poll(&p, 1, 10);
		cr_assert_geq(udp_serve(b, fd, pktinfo, reverse, calls, &dropped), 0);
	}
	cr_assert_eq(*calls, want);
	cr_expect_eq(dropped, 0);
}

static void expect_reply(int c, const char *want)
{
	struct pollfd p = {.fd = c, .events = POLLIN};
	char buf[64];
	ssize_t n;

	cr_assert_eq(poll(&p, 1, 1000), 1, "no reply");
	n = recv(c, buf, sizeof(buf), 0);
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_expect(memcmp(buf, want, (size_t)n) == 0);
}

Test(udp, batch_of_datagrams_is_answered)
{
	static const uint8_t lo[16] = {127, 0, 0, 1};
	struct udp_batch *b = udp_batch_new();
	int fd = udp_bind(AF_INET, lo, 0, true);
	int calls = 0;
	int c[40];

	cr_assert_not_null(b);
	cr_assert_geq(fd, 0);
	cr_expect(!udp_is_wildcard(fd));
	/* More than one batch: 40 > UDP_BATCH. */
	for (int i = 0; i < 40; i++) {
		char msg[8];

		c[i] = client("127.0.0.1", bound_port(fd));
		snprintf(msg, sizeof(msg), "ab%02d", i);
		cr_assert_eq(send(c[i], msg, 4, 0), 4);
	}
	serve_all(b, fd, false, &calls, 40);
	for (int i = 0; i < 40; i++) {
		char want[8];

		snprintf(want, sizeof(want), "%d%dba", i % 10, i / 10);
		expect_reply(c[i], want);
		close(c[i]);
	}
	close(fd);
	udp_batch_free(b);
}

Test(udp, handler_returning_zero_sends_nothing)
{
	static const uint8_t lo[16] = {127, 0, 0, 1};
	struct udp_batch *b = udp_batch_new();
	int fd = udp_bind(AF_INET, lo, 0, false);
	int c = client("127.0.0.1", bound_port(fd));
	struct pollfd p = {.fd = c, .events = POLLIN};
	int calls = 0;

	cr_assert_eq(send(c, "x", 1, 0), 1);
	serve_all(b, fd, false, &calls, 1);
	cr_expect_eq(poll(&p, 1, 100), 0, "a reply was sent");
	close(c);
	close(fd);
	udp_batch_free(b);
}

Test(udp, wildcard_socket_replies_from_the_destination_address)
{
	static const uint8_t any[16] = {0};
	struct udp_batch *b = udp_batch_new();
	int fd = udp_bind(AF_INET, any, 0, true);
	int calls = 0;
	int c;

	cr_assert_geq(fd, 0);
	cr_expect(udp_is_wildcard(fd));
	/* The connected client only accepts a reply from 127.0.0.3. */
	c = client("127.0.0.3", bound_port(fd));
	cr_assert_eq(send(c, "hello", 5, 0), 5);
	serve_all(b, fd, true, &calls, 1);
	expect_reply(c, "olleh");
	close(c);
	close(fd);
	udp_batch_free(b);
}

Test(udp, exclusive_bind_fails_on_a_used_port)
{
	static const uint8_t lo[16] = {127, 0, 0, 1};
	int a = udp_bind(AF_INET, lo, 0, true);
	int b2;

	cr_assert_geq(a, 0);
	b2 = udp_bind(AF_INET, lo, bound_port(a), false);
	cr_expect_eq(b2, -1, "a second exclusive bind succeeded");
	close(a);
}
