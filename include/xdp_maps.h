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
/* A UMEM chunk: the longest frame a socket takes; longer ones pass. A
 * constant, not a map value: the program may compare only a packet
 * pointer plus a constant with the end without CAP_PERFMON (a variable
 * offset or end - data is "prohibited for !root"), which the supervisor
 * would then need for nothing else (DESIGN §14.4). */
#define AHD_XDP_FRAME 4096u

struct ahd_xdp_cfg {
	__be16 port;   /* our UDP port, network order */
	__u8 any4;     /* an IPv4 wildcard listen address: every IPv4 destination */
	__u8 any6;     /* likewise for IPv6 */
};

#endif
