/*
 * Fuzz target: bytes -> an AF_XDP frame (xdp_pkt.c), as the worker gets
 * it from the RX ring: anything the XDP program let through, and worse.
 *
 * What must hold: a frame taken as a query has its offsets in order and
 * its DNS message inside the frame; the answer built over it (of the
 * length the first input byte picks, within xdp_pkt_room) is itself a
 * well-formed UDP packet from our port back to the sender's, that
 * xdp_pkt_parse takes with the sender's port, with its message where
 * the query's was, the same length, and IP and UDP checksums that add
 * up (RFC 1071, summed here byte pair by byte pair).
 */
#include "fuzz.h"

#include <netinet/in.h>
#include <string.h>

#include "ahd.h"
#include "xdp_pkt.h"

#define FRAME 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	fuzz_quiet_stderr();
	return 0;
}

static unsigned fuzz_sum(const uint8_t *p, size_t n, unsigned long s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (unsigned long)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (unsigned long)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned)s;
}

static void fuzz_check_sums(const uint8_t *f, const struct xdp_pkt *p)
{
	const uint8_t *ip = f + p->l3, *udp = f + p->l4;
	size_t ulen = p->dns_len + 8;
	uint8_t ph[40] = {0};
	size_t alen = p->family == AF_INET ? 4 : 16;

	memcpy(ph, p->family == AF_INET ? ip + 12 : ip + 8, 2 * alen);
	if (p->family == AF_INET) {
		FUZZ_CHECK(fuzz_sum(ip, 20, 0) == 0xffff);
		ph[9] = IPPROTO_UDP;
		ph[10] = (uint8_t)(ulen >> 8);
		ph[11] = (uint8_t)ulen;
		FUZZ_CHECK(fuzz_sum(udp, ulen, fuzz_sum(ph, 12, 0)) == 0xffff);
	} else {
		ph[34] = (uint8_t)(ulen >> 8);
		ph[35] = (uint8_t)ulen;
		ph[39] = IPPROTO_UDP;
		FUZZ_CHECK(fuzz_sum(udp, ulen, fuzz_sum(ph, 40, 0)) == 0xffff);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t f[FRAME];
	struct xdp_pkt p, r;
	size_t room, n, len;
	uint16_t sport;

	if (size < 1 || size - 1 > FRAME)
		return 0;
	len = size - 1;
	memcpy(f, data + 1, len);
	if (xdp_pkt_parse(f, len, 53, &p) < 0)
		return 0;
	FUZZ_CHECK(p.family == AF_INET || p.family == AF_INET6);
	FUZZ_CHECK(p.l3 >= 14 && p.l3 < p.l4 && p.l4 + 8 == p.dns);
	FUZZ_CHECK(p.dns + p.dns_len <= len);
	sport = (uint16_t)(f[p.l4] << 8 | f[p.l4 + 1]);
	FUZZ_CHECK(sport != 0);
	room = xdp_pkt_room(&p, FRAME, 1500);
	FUZZ_CHECK(p.dns + room <= FRAME);
	n = room * data[0] / 255;
	FUZZ_CHECK(xdp_pkt_reply(f, &p, n) == p.dns + n);
	FUZZ_CHECK(xdp_pkt_parse(f, p.dns + n, sport, &r) == 0);
	FUZZ_CHECK(r.family == p.family && r.dns == p.dns && r.dns_len == n);
	fuzz_check_sums(f, &r);
	return 0;
}
