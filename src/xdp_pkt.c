#include "xdp_pkt.h"

#include <netinet/in.h>
#include <string.h>

#include "wire.h"

#define ETH_LEN 14
#define VLAN_LEN 4
#define IP4_LEN 20
#define IP6_LEN 40
#define UDP_LEN 8
/* What a reply starts with: RFC 1122 suggests 64, as Linux does. */
#define XDP_PKT_TTL 64

uint64_t xdp_pkt_sum(const uint8_t *data, size_t len, uint64_t sum)
{
	/* Whole 32-bit big-endian words into a 64-bit sum: no carry is lost
	 * before the fold for any frame a UMEM chunk holds. */
	for (; len >= 4; len -= 4, data += 4)
		sum += wire_load_u32(data);
	/* 2^16 is 1 modulo 0xffff: where a half word sits does not matter. */
	if (len >= 2) {
		sum += wire_load_u16(data);
		data += 2;
		len -= 2;
	}
	/* An odd last byte is the high half of a word padded with zero. */
	if (len == 1)
		sum += (uint64_t)data[0] << 8;
	return sum;
}

static uint16_t xdp_pkt_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int xdp_pkt_parse(const uint8_t *f, size_t len, uint16_t port, struct xdp_pkt *p)
{
	size_t off = ETH_LEN, udp_len;
	uint16_t proto;

	if (len < ETH_LEN)
		return -1;
	proto = wire_load_u16(f + 12);
	if (proto == 0x8100 || proto == 0x88a8) {
		if (len < ETH_LEN + VLAN_LEN)
			return -1;
		proto = wire_load_u16(f + 16);
		off += VLAN_LEN;
	}
	memset(p, 0, sizeof(*p));
	p->l3 = off;
	if (proto == 0x0800) {
		const uint8_t *ip = f + off;
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->peer;
		size_t tot;

		if (len - off < IP4_LEN + UDP_LEN || ip[0] != 0x45 || ip[9] != IPPROTO_UDP ||
		    (wire_load_u16(ip + 6) & 0x3fff) != 0)
			return -1;
		tot = wire_load_u16(ip + 2);
		/* Ethernet pads short frames: the IP length rules. */
		if (tot < IP4_LEN + UDP_LEN || tot > len - off)
			return -1;
		p->family = AF_INET;
		p->l4 = off + IP4_LEN;
		udp_len = tot - IP4_LEN;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip + 12, 4);
	} else if (proto == 0x86dd) {
		const uint8_t *ip = f + off;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->peer;

		if (len - off < IP6_LEN + UDP_LEN || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP)
			return -1;
		udp_len = wire_load_u16(ip + 4);
		if (udp_len < UDP_LEN || udp_len > len - off - IP6_LEN)
			return -1;
		p->family = AF_INET6;
		p->l4 = off + IP6_LEN;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip + 8, 16);
	} else {
		return -1;
	}
	/* The UDP length must be the IP payload's: anything else is a
	 * crafted packet the kernel would drop too. */
	if (wire_load_u16(f + p->l4 + 4) != udp_len || wire_load_u16(f + p->l4 + 2) != port ||
	    wire_load_u16(f + p->l4) == 0)
		return -1;
	if (p->family == AF_INET)
		memcpy(&((struct sockaddr_in *)&p->peer)->sin_port, f + p->l4, 2);
	else
		memcpy(&((struct sockaddr_in6 *)&p->peer)->sin6_port, f + p->l4, 2);
	p->dns = p->l4 + UDP_LEN;
	p->dns_len = udp_len - UDP_LEN;
	return 0;
}

size_t xdp_pkt_room(const struct xdp_pkt *p, size_t frame_size, unsigned mtu)
{
	size_t ip = p->l4 - p->l3;
	size_t by_frame = frame_size > p->dns ? frame_size - p->dns : 0;
	size_t by_mtu = mtu > ip + UDP_LEN ? mtu - ip - UDP_LEN : 0;

	return by_frame < by_mtu ? by_frame : by_mtu;
}

static void xdp_pkt_swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

size_t xdp_pkt_reply(uint8_t *f, const struct xdp_pkt *p, size_t n)
{
	uint8_t *ip = f + p->l3, *udp = f + p->l4;
	size_t alen = p->family == AF_INET ? 4 : 16;
	uint8_t *src = p->family == AF_INET ? ip + 12 : ip + 8;
	uint16_t udp_len = (uint16_t)(UDP_LEN + n);
	uint64_t sum;
	uint16_t c;

	xdp_pkt_swap(f, f + 6, 6);
	xdp_pkt_swap(src, src + alen, alen);
	xdp_pkt_swap(udp, udp + 2, 2);
	if (p->family == AF_INET) {
		wire_store_u16(ip + 2, (uint16_t)(IP4_LEN + udp_len));
		ip[1] = 0;                   /* TOS: ours is ordinary traffic */
		wire_store_u16(ip + 6, 0);   /* no DF: as the sockets (IP_PMTUDISC_OMIT) */
		ip[8] = XDP_PKT_TTL;
		wire_store_u16(ip + 10, 0);
		wire_store_u16(ip + 10, xdp_pkt_fold(xdp_pkt_sum(ip, IP4_LEN, 0)));
	} else {
		wire_store_u16(ip + 4, udp_len);
		ip[7] = XDP_PKT_TTL;
	}
	wire_store_u16(udp + 4, udp_len);
	wire_store_u16(udp + 6, 0);
	/* The pseudo-header: both addresses, protocol, UDP length. */
	sum = xdp_pkt_sum(src, 2 * alen, IPPROTO_UDP + (uint64_t)udp_len);
	sum = xdp_pkt_sum(udp, udp_len, sum);
	c = xdp_pkt_fold(sum);
	/* 0 means "no checksum" over IPv4 and is forbidden over IPv6. */
	wire_store_u16(udp + 6, c == 0 ? 0xffff : c);
	return p->dns + n;
}
