/*
 * The AF_XDP mode (--xdp IFACE, DESIGN §14.4), supervisor side: load
 * the XDP program (src/bpf/ahd_xdp.bpf.c, built into the binary), fill
 * its maps, attach it to the interface through a BPF link, and make
 * each worker's UMEM and XSK socket before that worker starts. Only the
 * supervisor (root) calls these; workers get the two descriptors and
 * never call bpf() (xdp_sock.h is their side).
 *
 * The link is not pinned: it lives as long as a descriptor to it, and
 * only the supervisor holds one (every child closes what it was not
 * handed), so when the server dies, kill -9 included, the kernel
 * detaches the program and the interface passes traffic as before.
 */
#ifndef AHD_XDP_H
#define AHD_XDP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "xdp_maps.h"

/* A worker's UMEM: XDP_FRAMES chunks of XDP_FRAME bytes (8 MiB), every
 * ring XDP_FRAMES deep, so a frame always has room wherever it goes
 * next (fill, RX, TX, completion) and the loop never waits for a slot. */
#define XDP_FRAME AHD_XDP_FRAME
#define XDP_FRAMES 2048u

/* Load and attach for cfg->xdp_iface. 0, or -1 after one error line
 * naming the interface and what failed. Logs the mode and queue count. */
int xdp_attach(const struct config *cfg);

/* Whether xdp_attach succeeded (the server runs in AF_XDP mode). */
bool xdp_active(void);

/*
 * The UMEM (a memfd, *umem_fd) and the XSK socket (*xsk_fd) of the
 * queue worker index serves, already in the program's map and its fill
 * ring full, for a worker about to start. Returns 1, 0 when that worker
 * has no queue (more workers than queues; it serves sockets only), or
 * -1 (logged; the worker then serves sockets only too). The caller
 * passes both descriptors to the worker and then calls xdp_handed().
 */
int xdp_socket_new(unsigned index, int *xsk_fd, int *umem_fd);

/* The worker has its copies: drop ours, so that the socket dies with
 * the worker and the kernel takes it out of the map (the queue's
 * packets then go to the kernel's sockets until the next one). */
void xdp_handed(unsigned index);

/* Detach (close the link) and free everything; safe to call twice. */
void xdp_detach(void);

#endif
