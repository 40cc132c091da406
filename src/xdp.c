#include "xdp.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include <bsd/string.h>

#include "ahd.h"
#include "log.h"
#include "sock.h"
#include "xdp_maps.h"

/* Linux 6.17's uapi; Debian 12's headers predate it. */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* The program's object file, built by clang and put in .rodata by
 * src/xdp_obj.S: the binary carries it, nothing is read at run time. */
extern const unsigned char ahd_xdp_obj[];
extern const unsigned char ahd_xdp_obj_end[];

struct xdp_queue {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	void *area;
	int memfd;
};

static struct {
	struct bpf_object *obj;
	int link;    /* the attachment; -1: none */
	int xsks;    /* the XSKMAP */
	int ifindex;
	unsigned queues;
	char ifname[IF_NAMESIZE];
	struct xdp_queue q[AHD_XDP_MAX_QUEUES];
} xdp = {.link = -1, .xsks = -1};

static int xdp_fail(const char *what, int err)
{
	return log_startup_error("--xdp %s: %s: %s", xdp.ifname, what,
				 strerror(err < 0 ? -err : err));
}

/* What attaching and the sockets need (DESIGN §14.4), checked before
 * the first bpf() call: the packaged unit keeps bpf() out of its filter
 * unless the XDP drop-in (packaging/systemd/xdp.conf, which says why each
 * is needed) is installed, and the call would kill the supervisor with
 * SIGSYS, saying nothing. Without CAP_NET_RAW, CAP_IPC_LOCK or AF_XDP the
 * program would attach and no socket come up: a half-started XDP mode.
 * CAP_SYS_ADMIN stands in for CAP_BPF as on kernels before 5.8; an
 * infinite RLIMIT_MEMLOCK for CAP_IPC_LOCK, the UMEM being charged to
 * the uid's locked memory otherwise. */
static int xdp_check_privileges(void)
{
	static const struct {
		int cap, alt;
		const char *name;
	} need[] = {
		{CAP_BPF, CAP_SYS_ADMIN, "CAP_BPF"},
		{CAP_NET_ADMIN, CAP_NET_ADMIN, "CAP_NET_ADMIN"},
		{CAP_NET_RAW, CAP_NET_RAW, "CAP_NET_RAW"},
		{CAP_IPC_LOCK, CAP_IPC_LOCK, "CAP_IPC_LOCK"},
	};
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	char missing[80] = "";
	struct rlimit ml;
	int fd;

	if (syscall(SYS_capget, &h, d) < 0)
		memset(d, 0xff, sizeof(d)); /* the kernel will say what it refuses */
	for (size_t i = 0; i < AHD_ARRAY_LEN(need); i++) {
		int c = need[i].cap, a = need[i].alt;

		if (d[c / 32].effective & (1u << (c % 32)) || d[a / 32].effective & (1u << (a % 32)))
			continue;
		if (c == CAP_IPC_LOCK && getrlimit(RLIMIT_MEMLOCK, &ml) == 0 &&
		    ml.rlim_cur == RLIM_INFINITY)
			continue;
		strlcat(missing, " ", sizeof(missing));
		strlcat(missing, need[i].name, sizeof(missing));
	}
	if (missing[0] != '\0')
		return log_startup_error("--xdp %s: the supervisor lacks%s (under systemd: the "
					 "drop-in /usr/share/doc/a-healthy-dns/examples/xdp.conf, "
					 "see a-healthy-dns(8))",
					 xdp.ifname, missing);
	/* EAFNOSUPPORT: RestrictAddressFamilies= without AF_XDP, or a kernel
	 * without CONFIG_XDP_SOCKETS. */
	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xdp_fail("an AF_XDP socket", errno);
	close(fd);
	return 0;
}

/* The interface's RX queues (combined channels on most NICs; a veth
 * reports its real RX queues), 1 if the driver does not say. */
static unsigned xdp_count_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr;
	unsigned n = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
		unsigned rx = ch.combined_count > ch.rx_count ? ch.combined_count : ch.rx_count;

		if (rx > 0)
			n = rx;
	}
	close(fd);
	return n;
}

/* The port and our addresses, before the program sees a packet. */
static int xdp_fill_maps(const struct config *cfg)
{
	struct ahd_xdp_cfg c = {.port = htons(cfg->port)};
	int a4 = bpf_object__find_map_fd_by_name(xdp.obj, "addr4");
	int a6 = bpf_object__find_map_fd_by_name(xdp.obj, "addr6");
	int cm = bpf_object__find_map_fd_by_name(xdp.obj, "cfg");
	uint32_t key = 0;
	uint8_t one = 1;

	if (a4 < 0 || a6 < 0 || cm < 0)
		return xdp_fail("the program's maps", ENOENT);
	/* No --listen: the wildcards of both families (supervisor_addrs). */
	if (cfg->n_listen == 0)
		c.any4 = c.any6 = 1;
	if (cfg->n_listen > AHD_XDP_MAX_ADDRS)
		return xdp_fail("too many --listen addresses", E2BIG);
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct config_listen *l = &cfg->listen[i];
		bool any = sock_addr_is_any(l->family, l->addr);
		int rc;

		if (l->family == AF_INET && any)
			c.any4 = 1;
		else if (l->family == AF_INET6 && any)
			c.any6 = 1;
		if (any)
			continue;
		rc = bpf_map_update_elem(l->family == AF_INET ? a4 : a6, l->addr, &one, BPF_ANY);
		if (rc < 0)
			return xdp_fail("address map", errno);
	}
	if (bpf_map_update_elem(cm, &key, &c, BPF_ANY) < 0)
		return xdp_fail("configuration map", errno);
	return 0;
}

/* Native first unless told; generic (the kernel's skb path) when the
 * driver has no XDP support. Returns the mode used, or NULL. */
static const char *xdp_link(int prog, enum config_xdp_mode mode)
{
	static const struct {
		enum config_xdp_mode mode;
		uint32_t flags;
		const char *name;
	} tries[] = {
		{CONFIG_XDP_NATIVE, XDP_FLAGS_DRV_MODE, "native"},
		{CONFIG_XDP_GENERIC, XDP_FLAGS_SKB_MODE, "generic"},
	};
	int err = 0;

	for (size_t i = 0; i < AHD_ARRAY_LEN(tries); i++) {
		if (mode != CONFIG_XDP_AUTO && mode != tries[i].mode)
			continue;
		LIBBPF_OPTS(bpf_link_create_opts, o, .flags = tries[i].flags);
		xdp.link = bpf_link_create(prog, xdp.ifindex, BPF_XDP, &o);
		if (xdp.link >= 0)
			return tries[i].name;
		err = errno;
		if (mode == CONFIG_XDP_AUTO)
			log_debug("xdp: %s: %s mode refused: %s", xdp.ifname, tries[i].name,
				  strerror(err));
	}
	xdp_fail(mode == CONFIG_XDP_AUTO	? "attaching the program (native and generic)"
		 : mode == CONFIG_XDP_NATIVE ? "attaching the program in native mode"
					       : "attaching the program in generic mode",
		 err);
	return NULL;
}

/* libbpf's own diagnostics go to our debug log, one line each. */
static int xdp_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

int xdp_attach(const struct config *cfg)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "ahd_xdp");
	struct bpf_program *prog;
	const char *mode;
	int err;

	if (cfg->xdp_iface == NULL)
		return 0;
	for (size_t i = 0; i < AHD_ARRAY_LEN(xdp.q); i++)
		xdp.q[i].memfd = -1;
	strlcpy(xdp.ifname, cfg->xdp_iface, sizeof(xdp.ifname));
	xdp.ifindex = (int)if_nametoindex(cfg->xdp_iface);
	if (xdp.ifindex == 0)
		return xdp_fail("no such interface", errno);
	if (xdp_check_privileges() < 0)
		return -1;
	libbpf_set_print(xdp_libbpf_print);
	xdp.obj = bpf_object__open_mem(ahd_xdp_obj, (size_t)(ahd_xdp_obj_end - ahd_xdp_obj), &oo);
	if (xdp.obj == NULL)
		return xdp_fail("opening the built-in program", errno);
	err = bpf_object__load(xdp.obj);
	if (err)
		return xdp_fail("loading the program", err);
	prog = bpf_object__find_program_by_name(xdp.obj, "ahd_xdp_dns");
	xdp.xsks = bpf_object__find_map_fd_by_name(xdp.obj, "xsks");
	if (prog == NULL || xdp.xsks < 0)
		return xdp_fail("the built-in program", ENOENT);
	if (xdp_fill_maps(cfg) < 0)
		return -1;
	mode = xdp_link(bpf_program__fd(prog), cfg->xdp_mode);
	if (mode == NULL)
		return -1;
	xdp.queues = xdp_count_queues(xdp.ifname);
	if (xdp.queues > AHD_XDP_MAX_QUEUES)
		xdp.queues = AHD_XDP_MAX_QUEUES;
	log_info("xdp: %s: %s mode, %u queues, %u sockets", xdp.ifname, mode, xdp.queues,
		 xdp.queues < cfg->workers ? xdp.queues : cfg->workers);
	if (xdp.queues > cfg->workers)
		log_warning("xdp: %s has %u queues and there are %u workers: the packets of "
			    "queues %u-%u go to the kernel's sockets",
			    xdp.ifname, xdp.queues, cfg->workers, cfg->workers, xdp.queues - 1);
	return 0;
}

bool xdp_active(void)
{
	return xdp.link >= 0;
}

static void xdp_queue_free(struct xdp_queue *q)
{
	if (q->xsk != NULL)
		xsk_socket__delete(q->xsk);
	if (q->umem != NULL)
		xsk_umem__delete(q->umem);
	if (q->area != NULL)
		munmap(q->area, (size_t)XDP_FRAMES * XDP_FRAME);
	if (q->memfd >= 0)
		close(q->memfd);
	memset(q, 0, sizeof(*q));
	q->memfd = -1;
}

static int xdp_queue_fail(struct xdp_queue *q, unsigned index, const char *what, int err)
{
	log_error("xdp: %s queue %u: %s: %s; worker %u serves its sockets only", xdp.ifname,
		  index, what, strerror(err < 0 ? -err : err), index);
	xdp_queue_free(q);
	return -1;
}

int xdp_socket_new(unsigned index, int *xsk_fd, int *umem_fd)
{
	const size_t size = (size_t)XDP_FRAMES * XDP_FRAME;
	struct xsk_umem_config uc = {.fill_size = XDP_FRAMES, .comp_size = XDP_FRAMES,
				     .frame_size = XDP_FRAME};
	/* libxdp must not load a program of its own (ours is attached);
	 * need-wakeup: the kernel says when a kick is needed. */
	struct xsk_socket_config sc = {.rx_size = XDP_FRAMES, .tx_size = XDP_FRAMES,
				       .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
				       .bind_flags = XDP_USE_NEED_WAKEUP};
	struct xdp_queue *q;
	uint32_t fi, key = index;
	int fd, err;

	if (!xdp_active() || index >= xdp.queues)
		return 0;
	q = &xdp.q[index];
	xdp_queue_free(q);
	/* A memfd, not anonymous memory: the worker is exec'd and maps the
	 * same pages through it. */
	q->memfd = memfd_create("a-healthy-dns-umem", MFD_CLOEXEC);
	if (q->memfd < 0 || ftruncate(q->memfd, (off_t)size) < 0)
		return xdp_queue_fail(q, index, "UMEM memfd", errno);
	q->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, q->memfd, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		return xdp_queue_fail(q, index, "UMEM mapping", errno);
	}
	err = xsk_umem__create(&q->umem, q->area, size, &q->fill, &q->comp, &uc);
	if (err)
		return xdp_queue_fail(q, index, "UMEM registration", err);
	err = xsk_socket__create(&q->xsk, xdp.ifname, index, q->umem, &q->rx, &q->tx, &sc);
	if (err)
		return xdp_queue_fail(q, index, "XSK socket", err);
	if (xsk_ring_prod__reserve(&q->fill, XDP_FRAMES, &fi) != XDP_FRAMES)
		return xdp_queue_fail(q, index, "fill ring", ENOSPC);
	for (uint32_t i = 0; i < XDP_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&q->fill, fi + i) = (uint64_t)i * XDP_FRAME;
	xsk_ring_prod__submit(&q->fill, XDP_FRAMES);
	fd = xsk_socket__fd(q->xsk);
	{
		/* Copy mode: one sendto transmits the whole TX ring, not
		 * the kernel's default 32 frames (DESIGN §14.5). Kernels
		 * before 6.17 refuse; the worker then kicks again. */
		unsigned budget = XDP_FRAMES;

		(void)setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget));
	}
	if (bpf_map_update_elem(xdp.xsks, &key, &fd, BPF_ANY) < 0)
		return xdp_queue_fail(q, index, "XSK map", errno);
	*xsk_fd = fd;
	*umem_fd = q->memfd;
	log_info("xdp: worker %u: queue %u", index, index);
	return 1;
}

void xdp_handed(unsigned index)
{
	if (index < AHD_ARRAY_LEN(xdp.q))
		xdp_queue_free(&xdp.q[index]);
}

void xdp_detach(void)
{
	if (xdp.ifname[0] == '\0')
		return; /* never attached: q[].memfd are not set */
	for (size_t i = 0; i < AHD_ARRAY_LEN(xdp.q); i++) {
		if (xdp.q[i].xsk != NULL || xdp.q[i].memfd >= 0)
			xdp_queue_free(&xdp.q[i]);
	}
	if (xdp.link >= 0) {
		close(xdp.link);
		xdp.link = -1;
		log_info("xdp: %s: detached", xdp.ifname);
	}
	if (xdp.obj != NULL) {
		bpf_object__close(xdp.obj);
		xdp.obj = NULL;
	}
	xdp.xsks = -1;
}
