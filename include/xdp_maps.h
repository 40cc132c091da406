/*
 * What the XDP program (src/bpf/ahd_xdp.bpf.c) and the supervisor
 * (src/xdp.c) share: the layout of its configuration map and the sizes
 * of the others. Included by BPF C and by user space, so only fixed-size
 * kernel types.
 */
#ifndef AHD_XDP_MAPS_H
#define AHD_XDP_MAPS_H

#include <linux/types.h>

/* Queues with a socket: a worker per queue, at most this many. */
#define AHD_XDP_MAX_QUEUES 64
/* Listen addresses per family the program recognises. */
#define AHD_XDP_MAX_ADDRS 64

struct ahd_xdp_cfg {
	__be16 port;   /* our UDP port, network order */
	__u8 any4;     /* an IPv4 wildcard listen address: every IPv4 destination */
	__u8 any6;     /* likewise for IPv6 */
	__u32 max_len; /* the longest frame a UMEM chunk takes; longer ones pass */
};

#endif
