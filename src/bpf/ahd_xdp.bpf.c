/*
 * The XDP program of --xdp (DESIGN §14.4): UDP to our port and one of
 * our addresses goes to the AF_XDP socket of the receiving queue, where
 * a worker answers it in place; every other packet, and anything on a
 * queue without a socket, passes to the kernel untouched. The supervisor
 * fills the maps before it attaches the program.
 *
 * Steered: Ethernet with at most one VLAN tag; IPv4 without options
 * (IHL 5) and not a fragment; IPv6 whose next header is UDP (no
 * extension headers); the destination in addr4/addr6 or the family's
 * wildcard set; no longer than a UMEM frame takes. The rest is the
 * kernel's: fragments need reassembly, options and extension headers
 * are rare enough to leave to the slow path, and a packet the frame
 * cannot hold would be dropped by the redirect.
 *
 * No bpf_xdp_adjust_meta (the verifier of kernel 6.18 refuses it for
 * XDP programs, §14.1): the worker parses the headers again, it has to
 * validate them anyway.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, AHD_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ahd_xdp_cfg);
} cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AHD_XDP_MAX_ADDRS);
	__type(key, __u32);
	__type(value, __u8);
} addr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AHD_XDP_MAX_ADDRS);
	__type(key, struct in6_addr);
	__type(value, __u8);
} addr6 SEC(".maps");

struct vlan {
	__be16 tci;
	__be16 proto;
};

SEC("xdp")
int ahd_xdp_dns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	const struct ahd_xdp_cfg *c;
	struct udphdr *udp;
	__u32 key = 0;
	__be16 proto;
	void *p;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	c = bpf_map_lookup_elem(&cfg, &key);
	/* Not end - data > max: see AHD_XDP_FRAME. */
	if (!c || data + AHD_XDP_FRAME < end)
		return XDP_PASS;
	proto = eth->h_proto;
	p = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan *v = p;

		if ((void *)(v + 1) > end)
			return XDP_PASS;
		proto = v->proto;
		p = v + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p;

		if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		/* MF set or a fragment offset: the kernel reassembles. */
		if (ip->frag_off & bpf_htons(0x3fff))
			return XDP_PASS;
		if (!c->any4 && !bpf_map_lookup_elem(&addr4, &ip->daddr))
			return XDP_PASS;
		udp = (void *)(ip + 1);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p;

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		if (!c->any6 && !bpf_map_lookup_elem(&addr6, &ip6->daddr))
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end || udp->dest != c->port)
		return XDP_PASS;
	/* No socket on this queue (a worker restarting): the kernel's UDP
	 * sockets answer meanwhile. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
