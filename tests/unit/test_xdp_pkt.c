/*
 * The AF_XDP frames (xdp_pkt.c): which frames are taken apart as
 * queries, and whether an answer built over one is a packet a kernel
 * accepts. The checksums are verified here with a plain RFC 1071 sum
 * written byte pair by byte pair, not with the module's own.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "xdp_pkt.h"

#define PORT 53
static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_s[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t ip4_c[4] = {10, 53, 0, 1}, ip4_s[4] = {10, 53, 0, 2};
static const uint8_t ip6_c[16] = {0xfd, 0, 0, 0x53, [15] = 1};
static const uint8_t ip6_s[16] = {0xfd, 0, 0, 0x53, [15] = 2};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* RFC 1071, the simple way. */
static unsigned ref_sum(const uint8_t *p, size_t n, unsigned long s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (unsigned long)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (unsigned long)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned)s;
}

/* A query frame: Ethernet (vlan: one 802.1Q tag), IPv4 or IPv6, UDP
 * from port 40000 to PORT, payload of plen bytes. Returns its length. */
static size_t frame(uint8_t *f, int family, bool vlan, size_t plen)
{
	size_t off = 14, l4;

	memset(f, 0, 2048);
	memcpy(f, mac_s, 6);
	memcpy(f + 6, mac_c, 6);
	if (vlan) {
		put16(f + 12, 0x8100);
		put16(f + 14, 7);
		off += 4;
	}
	put16(f + off - 2, family == AF_INET ? 0x0800 : 0x86dd);
	if (family == AF_INET) {
		uint8_t *ip = f + off;

		ip[0] = 0x45;
		put16(ip + 2, (unsigned)(20 + 8 + plen));
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 61;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, ip4_c, 4);
		memcpy(ip + 16, ip4_s, 4);
		l4 = off + 20;
	} else {
		uint8_t *ip = f + off;

		ip[0] = 0x60;
		put16(ip + 4, (unsigned)(8 + plen));
		ip[6] = IPPROTO_UDP;
		ip[7] = 61;
		memcpy(ip + 8, ip6_c, 16);
		memcpy(ip + 24, ip6_s, 16);
		l4 = off + 40;
	}
	put16(f + l4, 40000);
	put16(f + l4 + 2, PORT);
	put16(f + l4 + 4, (unsigned)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		f[l4 + 8 + i] = (uint8_t)(i * 7 + 1);
	return l4 + 8 + plen;
}

Test(xdp_pkt, ipv4_query_is_taken_apart)
{
	uint8_t f[2048];
	size_t len = frame(f, AF_INET, false, 33);
	struct xdp_pkt p;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&p.peer;

	cr_assert_eq(xdp_pkt_parse(f, len, PORT, &p), 0);
	cr_expect_eq(p.family, AF_INET);
	cr_expect_eq(p.l3, 14);
	cr_expect_eq(p.l4, 34);
	cr_expect_eq(p.dns, 42);
	cr_expect_eq(p.dns_len, 33);
	cr_expect_eq(sin->sin_family, AF_INET);
	cr_expect_eq(ntohs(sin->sin_port), 40000);
	cr_expect(memcmp(&sin->sin_addr, ip4_c, 4) == 0);
}

Test(xdp_pkt, ipv6_query_behind_a_vlan_tag_is_taken_apart)
{
	uint8_t f[2048];
	size_t len = frame(f, AF_INET6, true, 20);
	struct xdp_pkt p;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&p.peer;

	cr_assert_eq(xdp_pkt_parse(f, len, PORT, &p), 0);
	cr_expect_eq(p.family, AF_INET6);
	cr_expect_eq(p.l3, 18);
	cr_expect_eq(p.dns, 18 + 40 + 8);
	cr_expect_eq(p.dns_len, 20);
	cr_expect_eq(ntohs(sin6->sin6_port), 40000);
	cr_expect(memcmp(&sin6->sin6_addr, ip6_c, 16) == 0);
}

Test(xdp_pkt, ethernet_padding_is_not_payload)
{
	uint8_t f[2048];
	size_t len = frame(f, AF_INET, false, 4);
	struct xdp_pkt p;

	/* 46 bytes: a minimum Ethernet frame's padding after a short packet. */
	cr_assert_eq(xdp_pkt_parse(f, 60, PORT, &p), 0);
	cr_expect_eq(p.dns_len, 4);
	cr_expect_lt(len, 60);
}

/* Frames the kernel must get instead, and malformed ones. */
Test(xdp_pkt, what_is_not_taken)
{
	uint8_t f[2048];
	struct xdp_pkt p;
	size_t len;

	len = frame(f, AF_INET, false, 30);
	cr_expect_eq(xdp_pkt_parse(f, len, PORT + 1, &p), -1, "another port");
	f[14 + 6] = 0x20; /* MF */
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "a first fragment");
	len = frame(f, AF_INET, false, 30);
	f[14 + 7] = 0x08; /* fragment offset */
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "a later fragment");
	len = frame(f, AF_INET, false, 30);
	f[14] = 0x46;
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "IP options");
	len = frame(f, AF_INET, false, 30);
	f[14 + 9] = IPPROTO_TCP;
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "TCP");
	len = frame(f, AF_INET, false, 30);
	cr_expect_eq(xdp_pkt_parse(f, len - 1, PORT, &p), -1, "cut short");
	put16(f + 34 + 4, 8 + 29);
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "UDP length disagrees");
	len = frame(f, AF_INET, false, 30);
	put16(f + 34, 0);
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "source port 0");
	len = frame(f, AF_INET6, false, 30);
	f[14 + 6] = 0; /* hop-by-hop options first */
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "an IPv6 extension header");
	len = frame(f, AF_INET6, false, 30);
	put16(f + 14 + 4, 8 + 31);
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "IPv6 payload longer than the frame");
	len = frame(f, AF_INET, false, 30);
	put16(f + 12, 0x0806);
	cr_expect_eq(xdp_pkt_parse(f, len, PORT, &p), -1, "ARP");
	for (size_t n = 0; n < 42; n++)
		cr_expect_eq(xdp_pkt_parse(f, n, PORT, &p), -1, "%zu bytes", n);
}

Test(xdp_pkt, room_is_the_smaller_of_frame_and_mtu)
{
	uint8_t f[2048];
	struct xdp_pkt p;

	cr_assert_eq(xdp_pkt_parse(f, frame(f, AF_INET, false, 30), PORT, &p), 0);
	cr_expect_eq(xdp_pkt_room(&p, 4096, 1500), 1500 - 20 - 8);
	cr_expect_eq(xdp_pkt_room(&p, 1024, 1500), 1024 - 42);
	cr_expect_eq(xdp_pkt_room(&p, 4096, 9000), 4096 - 42);
	cr_assert_eq(xdp_pkt_parse(f, frame(f, AF_INET6, true, 30), PORT, &p), 0);
	cr_expect_eq(xdp_pkt_room(&p, 4096, 1280), 1280 - 40 - 8);
}

/* The answer of n bytes over the query: what the client's kernel checks. */
static void check_reply(int family, bool vlan, size_t qlen, size_t n)
{
	uint8_t f[4096];
	size_t len = frame(f, family, vlan, qlen), out;
	struct xdp_pkt p;
	const uint8_t *ip, *udp;

	cr_assert_eq(xdp_pkt_parse(f, len, PORT, &p), 0);
	for (size_t i = 0; i < n; i++)
		f[p.dns + i] = (uint8_t)(0xa5 ^ (i * 13));
	out = xdp_pkt_reply(f, &p, n);
	cr_assert_eq(out, p.dns + n);
	cr_expect(memcmp(f, mac_c, 6) == 0, "destination MAC is the client's");
	cr_expect(memcmp(f + 6, mac_s, 6) == 0);
	ip = f + p.l3;
	udp = f + p.l4;
	cr_expect_eq(get16(udp), PORT, "source port is ours");
	cr_expect_eq(get16(udp + 2), 40000);
	cr_expect_eq(get16(udp + 4), 8 + n);
	if (family == AF_INET) {
		uint8_t pseudo[12];

		cr_expect_eq(ip[0], 0x45);
		cr_expect_eq(get16(ip + 2), 20 + 8 + n);
		cr_expect_eq(get16(ip + 6) & 0x3fff, 0, "not a fragment");
		cr_expect_eq(ip[8], 64);
		cr_expect(memcmp(ip + 12, ip4_s, 4) == 0 && memcmp(ip + 16, ip4_c, 4) == 0);
		cr_expect_eq(ref_sum(ip, 20, 0), 0xffff, "IPv4 header checksum");
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = IPPROTO_UDP;
		put16(pseudo + 10, (unsigned)(8 + n));
		cr_expect_eq(ref_sum(udp, 8 + n, ref_sum(pseudo, 12, 0)), 0xffff,
			     "UDP checksum, %zu bytes", n);
	} else {
		uint8_t pseudo[40];

		cr_expect_eq(get16(ip + 4), 8 + n);
		cr_expect_eq(ip[7], 64);
		cr_expect(memcmp(ip + 8, ip6_s, 16) == 0 && memcmp(ip + 24, ip6_c, 16) == 0);
		memcpy(pseudo, ip + 8, 32);
		memset(pseudo + 32, 0, 8);
		put16(pseudo + 34, (unsigned)(8 + n));
		pseudo[39] = IPPROTO_UDP;
		cr_expect_neq(get16(udp + 6), 0, "IPv6 forbids a zero UDP checksum");
		cr_expect_eq(ref_sum(udp, 8 + n, ref_sum(pseudo, 40, 0)), 0xffff,
			     "UDP checksum, %zu bytes", n);
	}
}

Test(xdp_pkt, ipv4_answers_of_every_length_have_right_checksums)
{
	for (size_t n = 12; n < 1500 - 28; n += 37)
		check_reply(AF_INET, false, 29, n);
	check_reply(AF_INET, false, 29, 1472);
	check_reply(AF_INET, true, 40, 513);
}

Test(xdp_pkt, ipv6_answers_of_every_length_have_right_checksums)
{
	for (size_t n = 12; n < 1500 - 48; n += 41)
		check_reply(AF_INET6, false, 31, n);
	check_reply(AF_INET6, true, 31, 1452);
	check_reply(AF_INET6, false, 12, 13);
}

Test(xdp_pkt, sum_matches_the_simple_one_on_every_split)
{
	uint8_t d[61];

	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(0xff - i * 3);
	for (size_t n = 0; n <= sizeof(d); n++) {
		uint64_t s = xdp_pkt_sum(d, n, 0);

		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		cr_expect_eq((unsigned)s, ref_sum(d, n, 0), "%zu bytes", n);
	}
}
