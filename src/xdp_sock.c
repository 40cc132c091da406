#include "xdp_sock.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <xdp/xsk.h>

#include "log.h"
#include "xdp.h"
#include "xdp_pkt.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

struct xdp_map {
	void *p;
	size_t len;
};

struct xdp_sock {
	int fd;
	uint16_t port;
	unsigned mtu;
	bool zero_copy; /* the driver moves our frames itself */
	uint8_t *umem;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xdp_map maps[4];
	uint64_t n_rx, n_tx;
	/* The answer is built here and copied over the query: the answer
	 * code reads the question while it writes. */
	uint8_t out[UDP_OUT_MAX];
};

static int xdp_sock_domain(int fd)
{
	int d = -1;
	socklen_t l = sizeof(d);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &l) < 0)
		return -1;
	return d;
}

bool xdp_sock_is_xsk(int fd)
{
	return xdp_sock_domain(fd) == AF_XDP;
}

bool xdp_sock_is_umem(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static void *xdp_sock_map(struct xdp_sock *x, int slot, size_t len, off_t pgoff)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, x->fd, pgoff);

	if (p == MAP_FAILED)
		return NULL;
	x->maps[slot] = (struct xdp_map){p, len};
	return p;
}

/* One ring of n entries of entry bytes at page offset pgoff, its
 * indices read from the kernel's side. A producer ring (fill, TX) starts
 * with every slot free: its cached consumer runs n ahead, as libxdp's. */
static int xdp_sock_ring(struct xdp_sock *x, int slot, const struct xdp_ring_offset *o,
			 size_t entry, off_t pgoff, bool producer, struct xsk_ring_cons *r)
{
	const uint32_t n = XDP_FRAMES;
	uint8_t *m = xdp_sock_map(x, slot, o->desc + n * entry, pgoff);

	if (m == NULL)
		return -1;
	*r = (struct xsk_ring_cons){.mask = n - 1, .size = n,
		.producer = (void *)(m + o->producer), .consumer = (void *)(m + o->consumer),
		.ring = m + o->desc, .flags = (void *)(m + o->flags)};
	r->cached_prod = *r->producer;
	r->cached_cons = *r->consumer + (producer ? n : 0);
	return 0;
}

/*
 * The ring layout libxdp sets up (xsk_umem__create, xsk_socket__create),
 * done again here: the supervisor's mappings did not survive the exec.
 * The fill ring the supervisor filled is seen as full.
 */
static int xdp_sock_rings(struct xdp_sock *x)
{
	struct xdp_mmap_offsets off;
	socklen_t ol = sizeof(off);
	struct xsk_ring_cons fill, tx;

	/* libxdp declares both kinds with one macro: the same layout. */
	_Static_assert(sizeof(struct xsk_ring_prod) == sizeof(struct xsk_ring_cons),
		       "xsk rings share a layout");
	if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0 ||
	    xdp_sock_ring(x, 0, &off.fr, sizeof(uint64_t), XDP_UMEM_PGOFF_FILL_RING, true, &fill) < 0 ||
	    xdp_sock_ring(x, 1, &off.cr, sizeof(uint64_t), XDP_UMEM_PGOFF_COMPLETION_RING, false,
			  &x->comp) < 0 ||
	    xdp_sock_ring(x, 2, &off.rx, sizeof(struct xdp_desc), XDP_PGOFF_RX_RING, false,
			  &x->rx) < 0 ||
	    xdp_sock_ring(x, 3, &off.tx, sizeof(struct xdp_desc), XDP_PGOFF_TX_RING, true, &tx) < 0)
		return -1;
	memcpy(&x->fill, &fill, sizeof(fill));
	memcpy(&x->tx, &tx, sizeof(tx));
	return 0;
}

/* The interface's MTU now; 1500 if it cannot be read. */
static unsigned xdp_sock_mtu(const char *ifname)
{
	struct ifreq ifr;
	unsigned mtu = 1500;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return mtu;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 576)
		mtu = (unsigned)ifr.ifr_mtu;
	close(fd);
	return mtu;
}

struct xdp_sock *xdp_sock_open(int xsk_fd, int umem_fd, const char *ifname, uint16_t port)
{
	const size_t size = (size_t)XDP_FRAMES * XDP_FRAME;
	struct xdp_sock *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		log_critical("xdp: out of memory");
		return NULL;
	}
	x->fd = xsk_fd;
	x->port = port;
	x->mtu = xdp_sock_mtu(ifname);
	x->umem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, umem_fd, 0);
	if (x->umem == MAP_FAILED) {
		x->umem = NULL;
		log_critical("xdp: mapping the UMEM: %s", strerror(errno));
		xdp_sock_close(x);
		return NULL;
	}
	/* The pages stay mapped; the descriptor is not needed again. */
	close(umem_fd);
	if (xdp_sock_rings(x) < 0) {
		log_critical("xdp: mapping the rings: %s", strerror(errno));
		xdp_sock_close(x);
		return NULL;
	}
	{
		struct xdp_options o = {0};
		socklen_t ol = sizeof(o);

		x->zero_copy = getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &o, &ol) == 0 &&
			       (o.flags & XDP_OPTIONS_ZEROCOPY);
	}
	log_debug("xdp: %s: serving its queue (MTU %u, %s)", ifname, x->mtu,
		  x->zero_copy ? "zero-copy" : "copy mode");
	return x;
}

int xdp_sock_fd(const struct xdp_sock *x)
{
	return x->fd;
}

/* Completed answers' frames, and the frames of queries not answered,
 * go back to the fill ring: it has a slot for every frame there is. */
static void xdp_sock_refill(struct xdp_sock *x, const uint64_t *addrs, uint32_t n)
{
	uint32_t fi;

	if (n == 0 || xsk_ring_prod__reserve(&x->fill, n, &fi) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, fi + i) = addrs[i];
	xsk_ring_prod__submit(&x->fill, n);
}

static void xdp_sock_reclaim(struct xdp_sock *x)
{
	uint64_t addrs[XDP_SOCK_BATCH];
	uint32_t ci, n;

	while ((n = xsk_ring_cons__peek(&x->comp, XDP_SOCK_BATCH, &ci)) > 0) {
		for (uint32_t i = 0; i < n; i++)
			addrs[i] = *xsk_ring_cons__comp_addr(&x->comp, ci + i);
		xsk_ring_cons__release(&x->comp, n);
		xdp_sock_refill(x, addrs, n);
	}
}

/*
 * Have the kernel transmit what the TX ring holds. In copy mode one
 * sendto sends at most 32 frames (the kernel's TX_BATCH_SIZE, unless
 * XDP_MAX_TX_SKB_BUDGET raised it) and says EAGAIN for the rest, which
 * would otherwise wait in the ring until the next query wakes us: a
 * stall, and lost answers when no query comes (DESIGN §14.5). EAGAIN
 * also means a full completion ring, hence the reclaim between tries.
 */
static void xdp_sock_kick(struct xdp_sock *x, uint32_t sent)
{
	for (uint32_t tries = sent / 32 + 2; tries > 0; tries--) {
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 || errno != EAGAIN)
			return;
		xdp_sock_reclaim(x);
	}
}

/* The answer to the query in frame d, written over it; 0: none. */
static uint32_t xdp_sock_answer(struct xdp_sock *x, const struct xdp_desc *d,
				udp_handler handler, void *ctx, uint64_t *dropped)
{
	uint8_t *f = xsk_umem__get_data(x->umem, d->addr);
	struct xdp_pkt p;
	size_t room, n;

	if (d->len > XDP_FRAME || xdp_pkt_parse(f, d->len, x->port, &p) < 0) {
		(*dropped)++;
		return 0;
	}
	room = xdp_pkt_room(&p, XDP_FRAME - (d->addr & (XDP_FRAME - 1)), x->mtu);
	if (room > sizeof(x->out))
		room = sizeof(x->out);
	n = handler(ctx, (const struct sockaddr *)&p.peer, f + p.dns, p.dns_len, x->out, room);
	if (n == 0 || n > room)
		return 0;
	memcpy(f + p.dns, x->out, n);
	return (uint32_t)xdp_pkt_reply(f, &p, n);
}

int xdp_sock_serve(struct xdp_sock *x, udp_handler handler, void *ctx, uint64_t *dropped)
{
	uint64_t back[XDP_SOCK_BATCH];
	uint32_t ri, n, n_back = 0, sent = 0;

	xdp_sock_reclaim(x);
	n = xsk_ring_cons__peek(&x->rx, XDP_SOCK_BATCH, &ri);
	if (n == 0) {
		/* Need-wakeup: the kernel stopped filling and waits for us. */
		if (xsk_ring_prod__needs_wakeup(&x->fill))
			(void)recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, ri + i);
		uint32_t len = xdp_sock_answer(x, d, handler, ctx, dropped);
		uint32_t ti;

		if (len > 0 && xsk_ring_prod__reserve(&x->tx, 1, &ti) == 1) {
			struct xdp_desc *t = xsk_ring_prod__tx_desc(&x->tx, ti);

			t->addr = d->addr;
			t->len = len;
			t->options = 0;
			xsk_ring_prod__submit(&x->tx, 1);
			sent++;
		} else {
			back[n_back++] = d->addr;
		}
	}
	xsk_ring_cons__release(&x->rx, n);
	xdp_sock_refill(x, back, n_back);
	x->n_rx += n;
	x->n_tx += sent;
	/* Copy mode (a veth, generic XDP) transmits only inside sendto;
	 * a zero-copy driver says through the flag when it needs a kick. */
	if (sent > 0 && (!x->zero_copy || xsk_ring_prod__needs_wakeup(&x->tx)))
		xdp_sock_kick(x, sent);
	xdp_sock_reclaim(x);
	return (int)n;
}

void xdp_sock_counts(const struct xdp_sock *x, uint64_t *rx, uint64_t *tx)
{
	*rx = x->n_rx;
	*tx = x->n_tx;
}

void xdp_sock_close(struct xdp_sock *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < 4; i++) {
		if (x->maps[i].p != NULL)
			munmap(x->maps[i].p, x->maps[i].len);
	}
	if (x->umem != NULL)
		munmap(x->umem, (size_t)XDP_FRAMES * XDP_FRAME);
	close(x->fd);
	free(x);
}
