#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ahd.h"
#include "sock.h"

/* Socket buffers: deep enough to ride out a burst while a worker is busy
 * or being restarted (NSD uses the same order of magnitude). */
#define UDP_SOCKBUF (4 * 1024 * 1024)

/* Room for one IPv4 or IPv6 packet-info control message. */
#define UDP_CTL_SPACE (CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
		       CMSG_SPACE(sizeof(struct in_pktinfo)))

union udp_ctl {
	struct cmsghdr align;
	uint8_t buf[UDP_CTL_SPACE];
};

struct udp_batch {
	struct mmsghdr rx[UDP_BATCH];
	struct mmsghdr tx[UDP_BATCH];
	struct iovec rx_iov[UDP_BATCH];
	struct iovec tx_iov[UDP_BATCH];
	struct sockaddr_storage peer[UDP_BATCH];
	union udp_ctl rx_ctl[UDP_BATCH];
	union udp_ctl tx_ctl[UDP_BATCH];
	uint8_t in[UDP_BATCH][UDP_IN_MAX];
	uint8_t out[UDP_BATCH][UDP_OUT_MAX];
	bool no_mmsg; /* the kernel lacks recvmmsg/sendmmsg */
};

static void udp_setsockbuf(int fd, int force_opt, int opt)
{
	int size = UDP_SOCKBUF;

	/* The FORCE variant passes net.core.rmem_max as root. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int udp_bind(int family, const uint8_t addr[16], uint16_t port, bool reuseport)
{
	int one = 1;
	bool wildcard = sock_addr_is_any(family, addr);
	int fd = sock_listener(family, SOCK_DGRAM, reuseport);

	if (fd < 0)
		return -1;
	if (family == AF_INET6) {
		int omit = IPV6_PMTUDISC_OMIT;

		/* Fragment rather than trust forged ICMP "too big" (NSD). */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &omit,
				 sizeof(omit));
		if (wildcard && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO,
					   &one, sizeof(one)) < 0)
			return sock_fail(fd);
	} else {
		int omit = IP_PMTUDISC_OMIT;

		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &omit,
				 sizeof(omit));
		if (wildcard &&
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			return sock_fail(fd);
	}
	udp_setsockbuf(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	udp_setsockbuf(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	if (sock_bind(fd, family, addr, port) < 0)
		return -1;
	return fd;
}

bool udp_is_wildcard(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		return sock_addr_is_any(AF_INET6, sin6->sin6_addr.s6_addr);
	}
	return false;
}

struct udp_batch *udp_batch_new(void)
{
	/* mmap, not calloc: a calloc served from the heap would zero, and
	 * so commit, every slot of 64 KiB; a fresh mapping is zero and only
	 * the pages datagrams reach are ever touched. */
	struct udp_batch *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (b == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < UDP_BATCH; i++) {
		b->rx_iov[i].iov_base = b->in[i];
		b->rx_iov[i].iov_len = UDP_IN_MAX;
		b->tx_iov[i].iov_base = b->out[i];
	}
	return b;
}

void udp_batch_free(struct udp_batch *b)
{
	if (b != NULL)
		munmap(b, sizeof(*b));
}

static void udp_prepare_rx(struct udp_batch *b, bool pktinfo)
{
	for (size_t i = 0; i < UDP_BATCH; i++) {
		struct msghdr *h = &b->rx[i].msg_hdr;

		h->msg_name = &b->peer[i];
		h->msg_namelen = sizeof(b->peer[i]);
		h->msg_iov = &b->rx_iov[i];
		h->msg_iovlen = 1;
		h->msg_control = pktinfo ? b->rx_ctl[i].buf : NULL;
		h->msg_controllen = pktinfo ? sizeof(b->rx_ctl[i].buf) : 0;
		h->msg_flags = 0;
		b->rx[i].msg_len = 0;
	}
}

/* Build the reply's packet-info from the query's: the reply leaves from
 * the address the query was sent to. Returns the control length, 0 if
 * the query carried none. */
static size_t udp_reply_ctl(struct msghdr *rx, union udp_ctl *ctl)
{
	struct msghdr m;
	struct cmsghdr *out;

	memset(&m, 0, sizeof(m));
	m.msg_control = ctl->buf;
	m.msg_controllen = sizeof(ctl->buf);
	out = CMSG_FIRSTHDR(&m);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rx); c != NULL; c = CMSG_NXTHDR(rx, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo in, pi;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			/* The local address the query arrived on; the routing
			 * table picks the interface. */
			pi.ipi_spec_dst = in.ipi_spec_dst;
			memset(out, 0, CMSG_SPACE(sizeof(pi)));
			out->cmsg_level = IPPROTO_IP;
			out->cmsg_type = IP_PKTINFO;
			out->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(out), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			/* Keep the interface: link-local addresses need it. */
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(out, 0, CMSG_SPACE(sizeof(pi)));
			out->cmsg_level = IPPROTO_IPV6;
			out->cmsg_type = IPV6_PKTINFO;
			out->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(out), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static int udp_recv(struct udp_batch *b, int fd)
{
	int n;

	if (!b->no_mmsg) {
		n = recvmmsg(fd, b->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		b->no_mmsg = true;
	}
	n = (int)recvmsg(fd, &b->rx[0].msg_hdr, MSG_DONTWAIT);
	if (n < 0)
		return -1;
	b->rx[0].msg_len = (unsigned)n;
	return 1;
}

static void udp_send(struct udp_batch *b, int fd, unsigned n, uint64_t *dropped)
{
	unsigned sent = 0;

	while (sent < n) {
		int r;

		if (!b->no_mmsg) {
			r = sendmmsg(fd, b->tx + sent, n - sent, 0);
			if (r < 0 && errno == ENOSYS) {
				b->no_mmsg = true;
				continue;
			}
		} else {
			r = sendmsg(fd, &b->tx[sent].msg_hdr, 0) < 0 ? -1 : 1;
		}
		if (r > 0) {
			sent += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* This one datagram cannot go (full buffer, unreachable
		 * peer): drop it, do not stall the others. */
		(*dropped)++;
		sent++;
	}
}

int udp_serve(struct udp_batch *b, int fd, bool pktinfo, udp_handler handler,
	      void *ctx, uint64_t *dropped)
{
	unsigned k = 0;
	int n;

	udp_prepare_rx(b, pktinfo);
	n = udp_recv(b, fd);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *rh = &b->rx[i].msg_hdr;
		struct msghdr *th = &b->tx[k].msg_hdr;
		size_t len;

		if (rh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			(*dropped)++;
			continue;
		}
		len = handler(ctx, (const struct sockaddr *)&b->peer[i], b->in[i],
			      b->rx[i].msg_len, b->out[k], UDP_OUT_MAX);
		if (len == 0)
			continue;
		memset(th, 0, sizeof(*th));
		th->msg_name = &b->peer[i];
		th->msg_namelen = rh->msg_namelen;
		b->tx_iov[k].iov_base = b->out[k];
		b->tx_iov[k].iov_len = len;
		th->msg_iov = &b->tx_iov[k];
		th->msg_iovlen = 1;
		if (pktinfo) {
			size_t cl = udp_reply_ctl(rh, &b->tx_ctl[k]);

			if (cl > 0) {
				th->msg_control = b->tx_ctl[k].buf;
				th->msg_controllen = cl;
			}
		}
		k++;
	}
	if (k > 0)
		udp_send(b, fd, k, dropped);
	return n;
}
