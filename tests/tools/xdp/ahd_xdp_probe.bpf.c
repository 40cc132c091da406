/*
 * Groundwork for the AF_XDP path (DESIGN §14.2, issue 18): not part of the
 * server. UDP to port cfg[0] over IPv4 (no options, no fragment) or IPv6
 * (UDP right after the fixed header) goes to the XSK socket of the
 * receiving queue; everything else, and anything on a queue without a
 * socket, passes to the kernel untouched. No bpf_xdp_adjust_meta: the
 * verifier of the kernel this was written on refuses it (§14.1).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

static __always_inline struct udphdr *udp_of(void *p, void *end, __u16 proto)
{
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p;
		if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
			return 0;
		/* MF set or a fragment offset: the kernel reassembles. */
		if (ip->frag_off & bpf_htons(0x3fff))
			return 0;
		p = ip + 1;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p;
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return 0;
		p = ip6 + 1;
	} else {
		return 0;
	}
	if (p + sizeof(struct udphdr) > end)
		return 0;
	return p;
}

SEC("xdp")
int ahd_xdp_dns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u32 key = 0, *port;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	udp = udp_of(eth + 1, end, eth->h_proto);
	port = bpf_map_lookup_elem(&cfg, &key);
	if (!udp || !port || udp->dest != bpf_htons((__u16)*port))
		return XDP_PASS;
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
