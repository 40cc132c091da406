/*
 * ahd-xdp-probe: can this kernel and Debian's libxdp/libbpf do what the
 * AF_XDP path needs (DESIGN §14.2, issue 18)? Groundwork, not part of the
 * server, not built by `make all`.
 *
 *   ahd-xdp-probe OBJ IFACE PORT native|generic COUNT TIMEOUT_S
 *
 * Loads OBJ (build/bpf/ahd_xdp.bpf.o, the server's program, every
 * destination address allowed), attaches it to IFACE through a BPF
 * link (so that the kernel detaches it when the last fd closes, kill -9
 * included), makes one UMEM and one XSK socket on queue 0, puts the
 * socket in the program's map, prints "ready MODE", then answers up to
 * COUNT UDP datagrams to PORT in place in their UMEM frame: Ethernet,
 * IP addresses and UDP ports swapped, the DNS header's QR bit set and
 * RCODE REFUSED, IPv4 header checksum and UDP checksum computed. Prints
 * "answered N" and exits 0 when COUNT were answered, 1 on timeout or
 * error (with the failing call and its error).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "xdp_maps.h"

#define NFRAMES 4096
#define FRAME 2048
#define RING 2048

struct probe {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint8_t *area;
	uint32_t outstanding; /* frames on the TX ring, not yet completed */
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "ahd-xdp-probe: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const uint8_t *b = p;
	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (n)
		s += (uint32_t)b[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

/* UDP checksum over the pseudo-header; 0 means "none", sent as 0xffff. */
static void udp_csum(struct udphdr *u, const void *src, const void *dst, size_t alen)
{
	uint16_t len = ntohs(u->len);
	uint32_t s = sum16(src, alen, 0);
	s = sum16(dst, alen, s);
	s += IPPROTO_UDP + len;
	u->check = 0;
	u->check = fold(sum16(u, len, s));
	if (!u->check)
		u->check = 0xffff;
}

/* Turns the query in the frame into its answer; 0 if not ours to answer. */
static int answer_in_place(uint8_t *f, uint32_t len)
{
	struct ethhdr *e = (struct ethhdr *)f;
	uint8_t mac[ETH_ALEN];
	struct udphdr *u;
	uint16_t port;

	if (len < sizeof(*e))
		return 0;
	memcpy(mac, e->h_dest, ETH_ALEN);
	memcpy(e->h_dest, e->h_source, ETH_ALEN);
	memcpy(e->h_source, mac, ETH_ALEN);
	if (e->h_proto == htons(ETH_P_IP)) {
		struct iphdr *ip = (struct iphdr *)(e + 1);
		uint32_t a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->ttl = 64;
		ip->check = 0;
		ip->check = fold(sum16(ip, sizeof(*ip), 0));
		u = (struct udphdr *)(ip + 1);
		if ((uint8_t *)(u + 1) + 12 > f + len)
			return 0;
		port = u->source, u->source = u->dest, u->dest = port;
		f[sizeof(*e) + sizeof(*ip) + sizeof(*u) + 2] |= 0x80; /* QR */
		f[sizeof(*e) + sizeof(*ip) + sizeof(*u) + 3] = 5;     /* REFUSED */
		udp_csum(u, &ip->saddr, &ip->daddr, 4);
		return 1;
	}
	if (e->h_proto == htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(e + 1);
		struct in6_addr a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->hop_limit = 64;
		u = (struct udphdr *)(ip6 + 1);
		if ((uint8_t *)(u + 1) + 12 > f + len)
			return 0;
		port = u->source, u->source = u->dest, u->dest = port;
		f[sizeof(*e) + sizeof(*ip6) + sizeof(*u) + 2] |= 0x80;
		f[sizeof(*e) + sizeof(*ip6) + sizeof(*u) + 3] = 5;
		udp_csum(u, &ip6->saddr, &ip6->daddr, 16);
		return 1;
	}
	return 0;
}

/* Completed TX frames go back to the fill ring. */
static void recycle(struct probe *p)
{
	uint32_t ci, fi, n = xsk_ring_cons__peek(&p->comp, RING, &ci);
	if (!n)
		return;
	while (xsk_ring_prod__reserve(&p->fill, n, &fi) != n)
		;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&p->fill, fi + i) = *xsk_ring_cons__comp_addr(&p->comp, ci + i);
	xsk_ring_prod__submit(&p->fill, n);
	xsk_ring_cons__release(&p->comp, n);
	p->outstanding -= n;
}

/* A frame that carries no answer goes straight back to the fill ring. */
static void refill_one(struct probe *p, uint64_t addr)
{
	uint32_t fi;
	while (xsk_ring_prod__reserve(&p->fill, 1, &fi) != 1)
		;
	*xsk_ring_prod__fill_addr(&p->fill, fi) = addr;
	xsk_ring_prod__submit(&p->fill, 1);
}

/* One batch from the RX ring; returns the number of answers queued. */
static uint32_t serve_batch(struct probe *p)
{
	uint32_t ri, ti, n = xsk_ring_cons__peek(&p->rx, 64, &ri), sent = 0;
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&p->rx, ri + i);
		/* Every frame came from the fill ring (RING of them, the
		 * first half of the UMEM), so the RING-slot TX ring has room. */
		if (answer_in_place(xsk_umem__get_data(p->area, d->addr), d->len) &&
		    xsk_ring_prod__reserve(&p->tx, 1, &ti) == 1) {
			*xsk_ring_prod__tx_desc(&p->tx, ti) = *d;
			xsk_ring_prod__submit(&p->tx, 1);
			sent++;
		} else {
			refill_one(p, d->addr);
		}
	}
	xsk_ring_cons__release(&p->rx, n);
	p->outstanding += sent;
	/* Copy mode: TX needs a kick. */
	if (sent && sendto(xsk_socket__fd(p->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
	    errno != EBUSY && errno != ENOBUFS)
		fprintf(stderr, "ahd-xdp-probe: sendto (TX kick): %s\n", strerror(errno));
	return sent;
}

static int setup_xsk(struct probe *p, const char *ifname, uint32_t xdp_flags)
{
	struct xsk_umem_config uc = {.fill_size = RING, .comp_size = RING, .frame_size = FRAME};
	struct xsk_socket_config sc = {.rx_size = RING, .tx_size = RING,
				       .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
				       .xdp_flags = xdp_flags, .bind_flags = XDP_COPY};
	uint32_t fi;
	int err;

	p->area = mmap(NULL, (size_t)NFRAMES * FRAME, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->area == MAP_FAILED)
		return fail("mmap UMEM", errno);
	err = xsk_umem__create(&p->umem, p->area, (uint64_t)NFRAMES * FRAME, &p->fill, &p->comp, &uc);
	if (err)
		return fail("xsk_umem__create", err);
	err = xsk_socket__create(&p->xsk, ifname, 0, p->umem, &p->rx, &p->tx, &sc);
	if (err)
		return fail("xsk_socket__create (queue 0, copy mode)", err);
	/* The first half of the frames wait in the fill ring for queries. */
	if (xsk_ring_prod__reserve(&p->fill, RING, &fi) != RING)
		return fail("fill ring reserve", ENOSPC);
	for (uint32_t i = 0; i < RING; i++)
		*xsk_ring_prod__fill_addr(&p->fill, fi + i) = (uint64_t)i * FRAME;
	xsk_ring_prod__submit(&p->fill, RING);
	return 0;
}

/* Loads OBJ, sets the port, attaches through a link; *map = the XSK map. */
static int load_attach(const char *path, int ifindex, uint32_t port, uint32_t flags, int *map)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct ahd_xdp_cfg cfg = {.port = htons((uint16_t)port), .any4 = 1, .any6 = 1};
	uint32_t key = 0;
	int err, link;

	if (!obj)
		return fail("bpf_object__open_file", errno);
	err = bpf_object__load(obj);
	if (err)
		return fail("bpf_object__load", err);
	prog = bpf_object__find_program_by_name(obj, "ahd_xdp_dns");
	if (!prog)
		return fail("program ahd_xdp_dns", ENOENT);
	err = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "cfg"), &key, &cfg, BPF_ANY);
	if (err)
		return fail("cfg map update", errno);
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	link = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &lo);
	if (link < 0)
		return fail(flags & XDP_FLAGS_DRV_MODE ? "bpf_link_create (native)" : "bpf_link_create (generic)",
			    errno);
	*map = bpf_object__find_map_fd_by_name(obj, "xsks");
	return *map < 0 ? fail("xsks map", ENOENT) : 0;
}

int main(int argc, char **argv)
{
	struct probe p = {0};
	uint32_t xdp_flags, count, answered = 0, key = 0;
	int map = -1, fd, ifindex;
	time_t deadline;

	if (argc != 7 || (strcmp(argv[4], "native") && strcmp(argv[4], "generic"))) {
		fprintf(stderr, "usage: ahd-xdp-probe OBJ IFACE PORT native|generic COUNT TIMEOUT_S\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[2]);
	if (!ifindex)
		return fail(argv[2], errno);
	xdp_flags = strcmp(argv[4], "native") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	count = (uint32_t)strtoul(argv[5], NULL, 10);
	deadline = time(NULL) + strtol(argv[6], NULL, 10);
	libbpf_set_print(NULL);
	if (load_attach(argv[1], ifindex, (uint32_t)strtoul(argv[3], NULL, 10), xdp_flags, &map) ||
	    setup_xsk(&p, argv[2], xdp_flags))
		return 1;
	fd = xsk_socket__fd(p.xsk);
	if (bpf_map_update_elem(map, &key, &fd, BPF_ANY))
		return fail("xsks map update", errno);
	printf("ready %s\n", argv[4]);
	fflush(stdout);
	while (answered < count && time(NULL) < deadline) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		recycle(&p);
		if (poll(&pf, 1, 100) < 0 && errno != EINTR)
			return fail("poll", errno);
		answered += serve_batch(&p);
	}
	recycle(&p);
	printf("answered %u\n", answered);
	return answered < count;
}
