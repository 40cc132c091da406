/*
 * The frames of the AF_XDP path (DESIGN §14.4): the query's Ethernet,
 * IP and UDP headers checked and taken apart, and the answer built in
 * the same frame over them (addresses and ports swapped, lengths and
 * checksums written). Pure: no system calls, no state, fuzzed
 * (fuzz_xdp_pkt) and unit-tested on its own.
 */
#ifndef AHD_XDP_PKT_H
#define AHD_XDP_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Ethernet, one VLAN tag, IPv6, UDP: the most header a frame carries. */
#define XDP_PKT_MAX_HDR (14 + 4 + 40 + 8)

struct xdp_pkt {
	size_t l3;      /* offset of the IP header */
	size_t l4;      /* offset of the UDP header */
	size_t dns;     /* offset of the DNS message */
	size_t dns_len; /* its length, from the UDP header */
	int family;     /* AF_INET or AF_INET6 */
	struct sockaddr_storage peer; /* the sender's address and port */
};

/*
 * frame[0..len) as a UDP datagram to port (host order) that the XDP
 * program would steer: Ethernet, at most one VLAN tag, IPv4 without
 * options and not a fragment or IPv6 with UDP as next header, lengths
 * that agree with each other and with len, a source port other than 0.
 * Returns 0 and fills *p, or -1 (the frame is not answered). The UDP
 * checksum is not verified: a local veth peer sends it unfinished
 * (checksum offload), and the DNS parser checks the message anyway.
 */
int xdp_pkt_parse(const uint8_t *frame, size_t len, uint16_t port, struct xdp_pkt *p);

/*
 * The most DNS bytes the answer to *p may hold: what is left of a frame
 * of frame_size bytes after the headers, and what an IP packet of mtu
 * bytes holds after the IP and UDP headers (the AF_XDP path cannot
 * fragment; an answer that needs more is truncated with TC by the
 * answer code, as a client's EDNS limit would).
 */
size_t xdp_pkt_room(const struct xdp_pkt *p, size_t frame_size, unsigned mtu);

/*
 * Turn the query frame into the answer, whose DNS message of n bytes
 * (n <= xdp_pkt_room) is already at frame + p->dns: Ethernet addresses,
 * IP addresses and UDP ports swapped; IPv4 total length, TTL, header
 * checksum; IPv6 payload length and hop limit; UDP length and checksum.
 * Returns the frame's new length.
 */
size_t xdp_pkt_reply(uint8_t *frame, const struct xdp_pkt *p, size_t n);

/* The Internet checksum (RFC 1071) of data[0..len) added to sum, not yet
 * folded or complemented; for the tests. */
uint64_t xdp_pkt_sum(const uint8_t *data, size_t len, uint64_t sum);

#endif
