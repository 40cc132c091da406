/*
 * The AF_XDP mode, worker side (DESIGN §14.4): the XSK socket and UMEM
 * the supervisor made for this worker's queue (xdp.h), mapped after the
 * exec, and the ring loop that answers the queries in their own frames.
 * No bpf(), no new descriptor: poll/epoll, recvfrom and sendto (the
 * wake-ups) are all it needs, and a worker has them already.
 */
#ifndef AHD_XDP_SOCK_H
#define AHD_XDP_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "udp.h"

struct xdp_sock;

/* Frames per batch: a recvmmsg batch twice over; the rings are
 * XDP_FRAMES deep, so a batch never fills one. */
#define XDP_SOCK_BATCH 64

/* Whether fd is an AF_XDP socket; whether it is a UMEM memfd (a file,
 * not a socket). How a worker tells its inherited descriptors apart. */
bool xdp_sock_is_xsk(int fd);
bool xdp_sock_is_umem(int fd);

/*
 * Map the rings of xsk_fd and the UMEM of umem_fd (the sizes of xdp.h),
 * for UDP port (host order) on interface ifname (its MTU caps answers).
 * NULL on failure (logged).
 */
struct xdp_sock *xdp_sock_open(int xsk_fd, int umem_fd, const char *ifname, uint16_t port);

int xdp_sock_fd(const struct xdp_sock *x);

/*
 * Answer one batch from the RX ring with handler (as udp_serve does
 * for a socket): each answer is written over its query's frame and
 * queued for TX; a frame without an answer goes back to the fill ring.
 * Returns the number of frames taken (0: the ring was empty). Counts
 * the frames that were not DNS queries to us, or got no answer, in
 * *dropped.
 */
int xdp_sock_serve(struct xdp_sock *x, udp_handler handler, void *ctx, uint64_t *dropped);

/* Frames received and answers sent since open. */
void xdp_sock_counts(const struct xdp_sock *x, uint64_t *rx, uint64_t *tx);

void xdp_sock_close(struct xdp_sock *x);

#endif
