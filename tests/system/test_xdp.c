/*
 * The AF_XDP path (issue 18, DESIGN §14.2, §14.4) across a veth between two
 * network namespaces of each test's own (sysutil's XDP mode, whatever
 * AHD_TEST_XDP says: unset, native mode is used). What only XDP has:
 * queries answered without the kernel's UDP path (its counters stay
 * still), everything else passing to the kernel, answers capped at the
 * interface's MTU, the program gone with the server however it dies, a
 * restarted worker getting its socket back, a refused --xdp.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sysutil.h"

#define ZONE "xdp.test"
/* The supervisor's one line once attached, and a worker's once it has
 * its queue's socket (src/xdp.c). */
#define LOG_ATTACHED "info: xdp: " SYS_XDP_IFACE ": "
#define LOG_WORKER "info: xdp: worker %d: queue %d"
/* The veth's MTU (ip link's default) and what fits in it over UDP. */
#define MTU 1500
#define UDP4_MAX (MTU - 20 - 8)
#define UDP6_MAX (MTU - 40 - 8)
/* Names of N A records: an answer of 12 + 18 (question) + 16 N + 11
 * (OPT) bytes. fit: 74 records, 1225 bytes <= 1232 (the default EDNS
 * size); over: 76, 1257 > 1232; big: 100, 1641 > the MTU. */
#define FIT_N 74
#define OVER_N 76
#define BIG_N 100

static char zone_json[8192];

static void add_list(size_t *n, const char *name, int count)
{
	*n += (size_t)snprintf(zone_json + *n, sizeof(zone_json) - *n, ", \"%s\": [", name);
	for (int i = 0; i < count; i++)
		*n += (size_t)snprintf(zone_json + *n, sizeof(zone_json) - *n, "%s\"198.51.%d.%d\"",
				       i > 0 ? ", " : "", 100 + i / 200, 1 + i % 200);
	*n += (size_t)snprintf(zone_json + *n, sizeof(zone_json) - *n, "]");
}

static const char *zone_resolutions(void)
{
	size_t n = (size_t)snprintf(zone_json, sizeof(zone_json),
				    "{\"www\": [\"192.0.2.1\", \"2001:db8::1\"]");

	add_list(&n, "fit", FIT_N);
	add_list(&n, "over", OVER_N);
	add_list(&n, "big", BIG_N);
	n += (size_t)snprintf(zone_json + n, sizeof(zone_json) - n, "}");
	cr_assert_lt(n + 1, sizeof(zone_json));
	return zone_json;
}

static void xdp_init(void)
{
	const char *m = getenv("AHD_TEST_XDP");

	sys_xdp_use(m != NULL && *m != '\0' ? m : "native");
	cr_assert_eq(sys_xdp_up(), 0, "no namespaces and veth for the test");
}

TestSuite(xdp, .init = xdp_init, .timeout = 60);

/* Start the zone's server with workers workers and extra flags (NULL or
 * NULL-terminated), through the veth (sysutil adds --xdp). */
static void start(struct sys_server *s, int workers, const char *const *extra)
{
	char w[8];
	const char *args[32] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", zone_resolutions(), "--user", "nobody", "--workers", w,
	};
	size_t n = 10;

	snprintf(w, sizeof(w), "%d", workers);
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
	cr_assert_eq(sys_server_wait_log(s, SYS_READY_LOG, SYS_START_MS), 0, "not ready");
}

static void stop(struct sys_server *s)
{
	cr_expect_eq(sys_server_stop(s), 0, "the server did not stop cleanly");
	/* A server killed by the test leaves its image behind. */
	shm_unlink(s->shm_name);
}

/* ---- the kernel's UDP counters in S ------------------------------- */

/* /proc/net/snmp: "Udp: InDatagrams NoPorts ..." then "Udp: 12 0 ...". */
static long udp4_in(void)
{
	char *t = sys_read_file("/proc/thread-self/net/snmp", NULL);
	const char *names, *values;
	long v = -1;
	int col = 0;

	cr_assert_not_null(t);
	names = strstr(t, "\nUdp: ");
	cr_assert_not_null(names);
	values = strstr(names + 1, "\nUdp: ");
	cr_assert_not_null(values);
	/* The column of InDatagrams among the names, then that value. */
	for (const char *p = names + 6; *p != '\n' && strncmp(p, "InDatagrams ", 12) != 0; p++)
		col += *p == ' ';
	values += 6;
	for (int c = 0; c < col; c++)
		values += strcspn(values, " ") + 1;
	v = atol(values);
	free(t);
	return v;
}

/* /proc/net/snmp6: "Udp6InDatagrams    12". */
static long udp6_in(void)
{
	char *t = sys_read_file("/proc/thread-self/net/snmp6", NULL);
	char *p;
	long v;

	cr_assert_not_null(t);
	p = strstr(t, "Udp6InDatagrams");
	cr_assert_not_null(p);
	v = atol(p + strcspn(p, " \t"));
	free(t);
	return v;
}

/* ---- queries -------------------------------------------------------- */

/* A query for name/type with id; an OPT of payload size edns (0: none)
 * holding a Padding option of pad bytes (RFC 7830) when pad > 0. */
static size_t make_query(uint8_t *q, size_t cap, uint16_t id, const char *name, uint16_t type,
			 uint16_t edns, size_t pad)
{
	size_t n = 12;

	cr_assert_geq(cap, 12 + 256 + 4 + 15 + pad);
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[5] = 1;
	q[11] = edns ? 1 : 0;
	for (const char *l = name; *l != '\0';) {
		size_t len = strcspn(l, ".");

		q[n++] = (uint8_t)len;
		memcpy(q + n, l, len);
		n += len;
		l += len + (l[len] == '.');
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (edns) {
		size_t rdlen = pad ? 4 + pad : 0;
		uint8_t opt[11] = {0, 0, 41, (uint8_t)(edns >> 8), (uint8_t)edns, 0, 0, 0, 0,
				   (uint8_t)(rdlen >> 8), (uint8_t)rdlen};

		memcpy(q + n, opt, sizeof(opt));
		n += sizeof(opt);
		if (pad) {
			q[n++] = 0;
			q[n++] = 12;
			q[n++] = (uint8_t)(pad >> 8);
			q[n++] = (uint8_t)pad;
			memset(q + n, 0, pad);
			n += pad;
		}
	}
	return n;
}

/* Ask addr:port for name/type over UDP; the parsed reply (its length in
 * *len when len is not NULL) or NULL. */
static ldns_pkt *ask_edns(const char *addr, uint16_t port, const char *name, uint16_t type,
			  uint16_t edns, size_t pad, size_t *len)
{
	static uint16_t id = 0x4000;
	uint8_t q[4096], a[65536];
	size_t qlen = make_query(q, sizeof(q), ++id, name, type, edns, pad);
	ssize_t n = sys_exchange(addr, port, q, qlen, a, sizeof(a), 2000);
	ldns_pkt *p = NULL;

	if (n < 12 || ldns_wire2pkt(&p, a, (size_t)n) != LDNS_STATUS_OK)
		return NULL;
	if (ldns_pkt_id(p) != id) {
		ldns_pkt_free(p);
		return NULL;
	}
	if (len != NULL)
		*len = (size_t)n;
	return p;
}

/* Whether p answers with exactly one record of type t whose data is want. */
static bool answers(ldns_pkt *p, ldns_rr_type t, const char *want)
{
	ldns_rr *rr;
	char *s;
	bool ok;

	if (p == NULL || ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR || ldns_pkt_ancount(p) != 1)
		return false;
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	if (ldns_rr_get_type(rr) != t)
		return false;
	s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	ok = s != NULL && strcmp(s, want) == 0;
	free(s);
	return ok;
}

/* A for www over addr: 192.0.2.1; AAAA: 2001:db8::1. */
static bool www_ok(const char *addr, uint16_t port, ldns_rr_type t)
{
	ldns_pkt *p = ask_edns(addr, port, "www." ZONE, (uint16_t)t, 1232, 0, NULL);
	bool ok = answers(p, t, t == LDNS_RR_TYPE_A ? "192.0.2.1" : "2001:db8::1");

	if (p != NULL)
		ldns_pkt_free(p);
	return ok;
}

/* The server's count key (e.g. "xdp_received") of worker i, or of the
 * totals when i < 0, from status --json (stats, DESIGN §14.4). */
static int64_t stat_of(uint16_t port, int i, const char *key)
{
	char why[512];
	struct json_object *o = sys_status_json(port, why, sizeof(why));
	struct json_object *part, *v;
	int64_t n;

	cr_assert_not_null(o, "%s", why);
	if (i < 0)
		cr_assert(json_object_object_get_ex(o, "totals", &part), "no totals");
	else {
		cr_assert(json_object_object_get_ex(o, "workers", &part), "no workers");
		cr_assert_lt((size_t)i, json_object_array_length(part), "no worker %d", i);
		part = json_object_array_get_idx(part, (size_t)i);
	}
	cr_assert(json_object_object_get_ex(part, key, &v), "no \"%s\" in status --json", key);
	n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

/* ---- the interface ------------------------------------------------ */

/* ip -d link show of the veth in S (malloc'd). */
static char *link_show(void)
{
	const char *argv[] = {"ip", "-d", "link", "show", "dev", SYS_XDP_IFACE, NULL};
	char *out = NULL;

	cr_assert_eq(sys_run(argv, 10000, &out, NULL), 0, "ip link show failed");
	cr_assert_not_null(out);
	return out;
}

static bool has_program(void)
{
	char *out = link_show();
	bool has = strstr(out, "prog/xdp") != NULL;

	free(out);
	return has;
}

/* Up to 5 s until the veth has no program: true, or false with it still
 * there. */
static bool wait_no_program(void)
{
	for (int64_t end = sys_now_ms() + 5000; sys_now_ms() < end; sys_sleep_ms(20)) {
		if (!has_program())
			return true;
	}
	return !has_program();
}

/* ip link's name of a mode: "xdp" (native) or "xdpgeneric". */
static void expect_attached(const char *mode)
{
	char *out = link_show();
	char want[32];

	snprintf(want, sizeof(want), " %s qdisc ", strcmp(mode, "generic") == 0 ? "xdpgeneric" : "xdp");
	cr_expect_not_null(strstr(out, "prog/xdp"), "no XDP program on the veth:\n%s", out);
	cr_expect_not_null(strstr(out, want), "not attached in %s mode:\n%s", mode, out);
	free(out);
}

/* The supervisor's line for this mode, workers and queues, once. */
static void expect_attached_log(const struct sys_server *s, const char *mode, int queues,
				int sockets)
{
	char want[128];
	char *log = sys_server_log(s);

	snprintf(want, sizeof(want), LOG_ATTACHED "%s mode, %d queues, %d sockets\n", mode, queues,
		 sockets);
	cr_expect_eq(sys_server_log_count(s, LOG_ATTACHED), 1, "want one attach line; the log:\n%s",
		     log);
	cr_expect_not_null(strstr(log, want), "no \"%.*s\" in the log:\n%s", (int)strlen(want) - 1,
			   want, log);
	free(log);
}

/* ---- (a) answers over XDP; the kernel's UDP path sees none ---------- */

Test(xdp, answers_a_and_aaaa_over_both_families_without_the_kernel)
{
	struct sys_server s;
	const char *mode = sys_xdp_mode();
	long in4, in6;
	int64_t answered;
	int bad = 0;

	start(&s, 2, NULL);
	expect_attached(mode);
	expect_attached_log(&s, strcmp(mode, "generic") == 0 ? "generic" : "native", 2, 2);
	in4 = udp4_in();
	in6 = udp6_in();
	answered = stat_of(s.port, -1, "xdp_answered");
	/* A fresh socket (source port) each: both queues get some. */
	for (int i = 0; i < 200; i++) {
		const char *addr = i % 2 ? sys_addr6() : sys_addr();
		ldns_rr_type t = i % 4 < 2 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;

		if (!www_ok(addr, s.port, t)) {
			bad++;
			cr_expect_fail("query %d (%s to %s) not answered right", i,
				       t == LDNS_RR_TYPE_A ? "A" : "AAAA", addr);
		}
		if (bad > 5)
			break;
	}
	cr_expect_eq(udp4_in(), in4, "UDP datagrams reached the kernel's sockets (IPv4): %ld",
		     udp4_in() - in4);
	cr_expect_eq(udp6_in(), in6, "UDP datagrams reached the kernel's sockets (IPv6): %ld",
		     udp6_in() - in6);
	cr_expect_eq(stat_of(s.port, -1, "xdp_answered") - answered, 200,
		     "the workers answered %lld frames over XDP, 200 queries were sent",
		     (long long)(stat_of(s.port, -1, "xdp_answered") - answered));
	/* The veth hashes flows over its two queues: both sockets work. */
	for (int w = 0; w < 2; w++)
		cr_expect_gt(stat_of(s.port, w, "xdp_received"), 0, "worker %d got no frame", w);
	/* dig's own kernel checks our IPv4 header and UDP checksums. */
	{
		const char *args[] = {"+norec", "+tries=1", "+time=2", "www." ZONE, "A", NULL};
		char *out = sys_dig(s.port, args);

		cr_expect_not_null(out, "dig got no answer");
		cr_expect(out != NULL && strstr(out, "192.0.2.1") != NULL, "dig: %s", out ? out : "");
		free(out);
	}
	stop(&s);
}

/* A veth of 2 queues: a third worker serves the sockets only. */
Test(xdp, workers_beyond_the_queues_get_no_socket)
{
	struct sys_server s;
	char w[64];

	sys_xdp_use("auto");
	start(&s, 3, NULL);
	/* auto: native on a veth, which has a native XDP driver. */
	expect_attached("native");
	expect_attached_log(&s, "native", 2, 2);
	for (int i = 0; i < 2; i++) {
		snprintf(w, sizeof(w), LOG_WORKER, i, i);
		cr_expect_eq(sys_server_wait_log(&s, w, 5000), 0, "no \"%s\" in the log", w);
	}
	snprintf(w, sizeof(w), "info: xdp: worker 2:");
	cr_expect_eq(sys_server_log_count(&s, w), 0,
		     "worker 2 got a socket of a queue that is not there");
	cr_expect(www_ok(sys_addr(), s.port, LDNS_RR_TYPE_A));
	stop(&s);
}

Test(xdp, generic_mode_when_asked)
{
	struct sys_server s;
	long in4;

	sys_xdp_use("generic");
	start(&s, 2, NULL);
	expect_attached("generic");
	expect_attached_log(&s, "generic", 2, 2);
	in4 = udp4_in();
	for (int i = 0; i < 20; i++)
		cr_expect(www_ok(sys_addr(), s.port, LDNS_RR_TYPE_A), "query %d", i);
	cr_expect_eq(udp4_in(), in4);
	stop(&s);
}

/* ---- (b) what is not ours passes to the kernel -------------------- */

static uint16_t icmp_sum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len % 2)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An ICMP echo from C to sys_addr() gets its reply. */
static bool ping_ok(void)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	uint8_t req[64] = {ICMP_ECHO, 0, 0, 0, 0x53, 0x53, 0, 1};
	uint8_t buf[1500];
	int fd = sys_client_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	uint16_t sum;
	bool ok = false;

	cr_assert_geq(fd, 0, "raw ICMP socket: %s", strerror(errno));
	cr_assert_eq(inet_pton(AF_INET, sys_addr(), &to.sin_addr), 1);
	memset(req + 8, 0xa5, sizeof(req) - 8);
	sum = icmp_sum(req, sizeof(req));
	req[2] = (uint8_t)(sum >> 8);
	req[3] = (uint8_t)sum;
	cr_assert_eq(sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)sizeof(req));
	for (int64_t end = sys_now_ms() + 2000; !ok && sys_now_ms() < end;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		size_t hl;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 20)
			continue;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		ok = (size_t)n >= hl + 8 && buf[hl] == ICMP_ECHOREPLY && buf[hl + 4] == 0x53 &&
		     buf[hl + 5] == 0x53 && memcmp(&buf[12], &to.sin_addr, 4) == 0;
	}
	close(fd);
	return ok;
}

Test(xdp, tcp_icmp_and_other_ports_reach_the_kernel)
{
	struct sys_server s;
	uint8_t q[512], a[4096], got[64];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	uint16_t other;
	size_t qlen;
	ssize_t n;
	ldns_pkt *p = NULL;
	long in4;
	int tfd, ufd, kfd;

	start(&s, 2, NULL);
	/* TCP to the server's own address and port. */
	qlen = make_query(q, sizeof(q), 0x7001, "www." ZONE, LDNS_RR_TYPE_A, 0, 0);
	tfd = sys_tcp_connect(s.port);
	cr_assert_geq(tfd, 0, "no TCP connection to %s port %u", sys_addr(), s.port);
	cr_assert_eq(sys_tcp_send(tfd, q, qlen), 0);
	n = sys_tcp_recv(tfd, a, sizeof(a), 3000);
	close(tfd);
	cr_assert_gt(n, 0, "no TCP answer");
	cr_assert_eq(ldns_wire2pkt(&p, a, (size_t)n), LDNS_STATUS_OK);
	cr_expect(answers(p, LDNS_RR_TYPE_A, "192.0.2.1"), "wrong TCP answer");
	ldns_pkt_free(p);

	cr_expect(ping_ok(), "no ICMP echo reply from %s", sys_addr());

	/* UDP to another port of the same address: a kernel socket in S. */
	kfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(kfd, 0);
	cr_assert_eq(inet_pton(AF_INET, sys_addr(), &sa.sin_addr), 1);
	other = (uint16_t)(s.port == 65535 ? 1024 : s.port + 1);
	sa.sin_port = htons(other);
	cr_assert_eq(bind(kfd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind port %u: %s", other,
		     strerror(errno));
	in4 = udp4_in();
	ufd = sys_connect(sys_addr(), other, SOCK_DGRAM);
	cr_assert_geq(ufd, 0);
	cr_assert_eq(send(ufd, "hello", 5, 0), 5);
	{
		struct pollfd pf = {.fd = kfd, .events = POLLIN};

		cr_assert_eq(poll(&pf, 1, 3000), 1, "UDP to port %u did not reach the kernel", other);
	}
	cr_expect_eq(recv(kfd, got, sizeof(got), 0), 5);
	cr_expect_eq(memcmp(got, "hello", 5), 0);
	cr_expect_eq(udp4_in(), in4 + 1);
	close(ufd);
	close(kfd);
	stop(&s);
}

/* ---- (c) a fragmented query goes through the kernel ---------------- */

Test(xdp, fragmented_queries_are_answered_by_the_kernel_path)
{
	struct sys_server s;
	ldns_pkt *p;
	long in4, in6;

	start(&s, 2, NULL);
	in4 = udp4_in();
	in6 = udp6_in();
	/* 1600 bytes of padding: C's kernel sends the query in two
	 * fragments, which XDP passes (DESIGN §14.2), the kernel reassembles
	 * and delivers to the worker's UDP socket. */
	p = ask_edns(sys_addr(), s.port, "www." ZONE, LDNS_RR_TYPE_A, 1232, 1600, NULL);
	cr_expect(answers(p, LDNS_RR_TYPE_A, "192.0.2.1"), "no answer to the fragmented IPv4 query");
	if (p != NULL)
		ldns_pkt_free(p);
	cr_expect_eq(udp4_in(), in4 + 1, "want exactly the fragmented query in InDatagrams");
	/* IPv6: a fragment header is an extension header: passed too. */
	p = ask_edns(sys_addr6(), s.port, "www." ZONE, LDNS_RR_TYPE_AAAA, 1232, 1600, NULL);
	cr_expect(answers(p, LDNS_RR_TYPE_AAAA, "2001:db8::1"),
		  "no answer to the fragmented IPv6 query");
	if (p != NULL)
		ldns_pkt_free(p);
	cr_expect_eq(udp6_in(), in6 + 1, "want exactly the fragmented query in Udp6InDatagrams");
	stop(&s);
}

/* ---- (d) the program goes with the server -------------------------- */

/* A socket server (no --xdp) on the same addresses and port answers
 * through the kernel: the veth passes everything again. */
static void socket_server_answers(uint16_t port)
{
	struct sys_server s;
	char ps[8];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", zone_resolutions(), "--workers", "1",
		"--listen", sys_addr(), "--listen", sys_addr6(), "--port", ps, NULL,
	};
	long in4;

	snprintf(ps, sizeof(ps), "%u", port);
	cr_assert_eq(sys_server_start_raw(&s, args, port, sys_addr()), 0,
		     "a socket server on port %u did not answer through the veth", port);
	in4 = udp4_in();
	cr_expect(www_ok(sys_addr(), port, LDNS_RR_TYPE_A));
	cr_expect(www_ok(sys_addr6(), port, LDNS_RR_TYPE_AAAA));
	cr_expect_eq(udp4_in(), in4 + 1, "the socket server's answer did not come through the kernel");
	stop(&s);
}

Test(xdp, kill_9_of_the_whole_server_detaches_the_program)
{
	struct sys_server s;
	pid_t kids[SYS_MAX_KIDS];
	size_t n;
	uint16_t port;

	start(&s, 2, NULL);
	port = s.port;
	cr_assert(has_program(), "no program while the server runs");
	n = sys_children(s.pid, kids, SYS_MAX_KIDS);
	cr_assert_gt(n, 0);
	/* Every process of it at once: none is left to close the link. */
	cr_assert_eq(kill(s.pid, SIGKILL), 0);
	for (size_t i = 0; i < n && i < SYS_MAX_KIDS; i++)
		kill(kids[i], SIGKILL);
	cr_assert_eq(sys_server_wait(&s, 5000), 128 + SIGKILL);
	s.exit_status = 0; /* killed on purpose: stop() prints no log */
	cr_expect(wait_no_program(), "the veth still has an XDP program:\n%s", link_show());
	stop(&s);
	socket_server_answers(port);
}

Test(xdp, sigterm_detaches_the_program)
{
	struct sys_server s;
	uint16_t port;

	start(&s, 2, NULL);
	port = s.port;
	cr_assert(has_program(), "no program while the server runs");
	cr_assert_eq(kill(s.pid, SIGTERM), 0);
	cr_expect_eq(sys_server_wait(&s, 10000), 0, "no clean exit on SIGTERM");
	/* The supervisor closes the link itself (DESIGN §14.4). */
	cr_expect_eq(sys_server_log_count(&s, "info: xdp: " SYS_XDP_IFACE ": detached"), 1);
	stop(&s);
	cr_expect(!has_program(), "the veth still has an XDP program after a clean stop");
	socket_server_answers(port);
}

/* ---- (e) a restarted worker gets its queue's socket again --------- */

Test(xdp, a_killed_worker_gets_its_socket_back)
{
	struct sys_server s;
	struct sys_kids k;
	char line[64];
	pid_t old = 0;
	long in4;
	int64_t answered;
	size_t queue_lines;

	start(&s, 2, NULL);
	for (int i = 0; i < 2; i++) {
		snprintf(line, sizeof(line), LOG_WORKER, i, i);
		cr_assert_eq(sys_server_wait_log(&s, line, 5000), 0, "no \"%s\" in the log", line);
	}
	cr_assert_eq(sys_wait_kids(s.pid, &k, 2), 0);
	for (size_t i = 0; i < k.n_workers; i++) {
		if (k.index[i] == 0)
			old = k.workers[i];
	}
	cr_assert_gt(old, 0, "no worker 0");
	snprintf(line, sizeof(line), LOG_WORKER, 0, 0);
	queue_lines = sys_server_log_count(&s, line);
	cr_assert_eq(kill(old, SIGKILL), 0);
	/* The supervisor starts another worker 0, which logs its socket. */
	for (int64_t end = sys_now_ms() + 10000;
	     sys_server_log_count(&s, line) <= queue_lines && sys_now_ms() < end;)
		sys_sleep_ms(20);
	cr_assert_gt(sys_server_log_count(&s, line), queue_lines,
		     "the new worker 0 logged no socket");
	cr_assert_eq(sys_wait_kids(s.pid, &k, 2), 0, "not two workers after the restart");
	for (size_t i = 0; i < k.n_workers; i++)
		cr_expect_neq(k.workers[i], old, "the killed worker is still there");
	in4 = udp4_in();
	answered = stat_of(s.port, -1, "xdp_answered");
	for (int i = 0; i < 100; i++)
		cr_expect(www_ok(sys_addr(), s.port, LDNS_RR_TYPE_A), "query %d after the restart", i);
	cr_expect_eq(udp4_in(), in4, "queries after the restart went through the kernel");
	cr_expect_eq(stat_of(s.port, -1, "xdp_answered") - answered, 100);
	cr_expect_eq(stat_of(s.port, 0, "restarts"), 1);
	cr_expect(kill(s.pid, 0) == 0, "the supervisor died");
	stop(&s);
}

/* ---- (f) an interface that is not there ---------------------------- */

/* Processes whose command line holds needle. */
static int procs_with(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char cmd[4096];
		long pid = atol(e->d_name);

		if (pid > 0 && pid != getpid() && sys_cmdline((pid_t)pid, cmd, sizeof(cmd)) == 0)
			n += strstr(cmd, needle) != NULL;
	}
	closedir(d);
	return n;
}

/* Start the server with --xdp iface (and --xdp-mode mode unless NULL)
 * and expect it to exit with an error and one line naming iface, having
 * served nothing. */
static void expect_refused(const char *iface, const char *mode)
{
	struct sys_server s;
	uint16_t port = sys_free_port();
	char ps[8];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--listen", sys_addr(),
		"--port", ps, "--xdp", iface, mode ? "--xdp-mode" : NULL, mode, NULL,
	};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char needle[64], *log;
	int st, fd;

	cr_assert_neq(port, 0);
	snprintf(ps, sizeof(ps), "%u", port);
	cr_assert_eq(sys_server_start_raw(&s, args, port, NULL), 0);
	st = sys_server_wait(&s, 10000);
	log = sys_server_log(&s);
	cr_expect(st > 0 && st < 128, "--xdp %s: exit status %d, want an error exit; log:\n%s",
		  iface, st, log);
	cr_expect_eq(sys_count_lines(log), 1, "--xdp %s: want one line, got:\n%s", iface, log);
	cr_expect(log != NULL && strstr(log, "--xdp") != NULL && strstr(log, iface) != NULL,
		  "the line does not name --xdp %s: %s", iface, log);
	free(log);
	s.exit_status = 0;
	stop(&s);
	/* Nothing of it holds the port: it never served. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sa.sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, sys_addr(), &sa.sin_addr), 1);
	cr_expect_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
		     "port %u still taken: %s", port, strerror(errno));
	close(fd);
	snprintf(needle, sizeof(needle), "--port %s --xdp %s", ps, iface);
	cr_expect_eq(procs_with(needle), 0, "a process of the server (%s) is left", needle);
}

Test(xdp, refused_xdp_is_one_line_and_no_server)
{
	expect_refused("nosuchif0", NULL);
	/* The kernel refuses too: loopback has no native XDP driver. */
	expect_refused("lo", "native");
	cr_expect(!has_program(), "a program on the veth");
}

/* ---- (g) answers over the MTU come back truncated ------------------ */

/* One UDP answer for name at addr with EDNS size edns: its TC bit and
 * answer count; the length no more than max. */
static void expect_udp(const char *addr, uint16_t port, const char *name, uint16_t edns,
		       size_t max, bool tc, int ancount)
{
	size_t len = 0;
	ldns_pkt *p = ask_edns(addr, port, name, LDNS_RR_TYPE_A, edns, 0, &len);

	cr_assert_not_null(p, "no answer for %s (EDNS %u) over %s: lost?", name, edns, addr);
	cr_expect_eq(ldns_pkt_tc(p), tc, "%s (EDNS %u) over %s: TC %d, %zu bytes", name, edns,
		     addr, ldns_pkt_tc(p), len);
	cr_expect_leq(len, max, "%s over %s: %zu bytes, more than %zu", name, addr, len, max);
	if (ancount >= 0)
		cr_expect_eq(ldns_pkt_ancount(p), ancount, "%s over %s: %u answers", name, addr,
			     ldns_pkt_ancount(p));
	ldns_pkt_free(p);
}

Test(xdp, answers_fit_the_edns_size_and_the_mtu)
{
	struct sys_server s;
	const char *const big_edns[] = {"--edns-size", "4096", NULL};
	uint8_t q[512], a[8192];
	size_t qlen;
	ssize_t n;
	ldns_pkt *p = NULL;
	int fd;

	/* The default EDNS size, 1232: 74 records fit, 76 do not. */
	start(&s, 2, NULL);
	expect_udp(sys_addr(), s.port, "fit." ZONE, 4096, 1232, false, FIT_N);
	expect_udp(sys_addr(), s.port, "over." ZONE, 4096, 1232, true, -1);
	expect_udp(sys_addr6(), s.port, "fit." ZONE, 4096, 1232, false, FIT_N);
	expect_udp(sys_addr6(), s.port, "over." ZONE, 4096, 1232, true, -1);
	stop(&s);

	/* EDNS 4096 on both sides: the 1641-byte answer would need IP
	 * fragments, which XDP does not make; it comes back truncated to
	 * the MTU instead of lost. */
	start(&s, 2, big_edns);
	expect_udp(sys_addr(), s.port, "fit." ZONE, 4096, UDP4_MAX, false, FIT_N);
	expect_udp(sys_addr(), s.port, "big." ZONE, 4096, UDP4_MAX, true, -1);
	expect_udp(sys_addr6(), s.port, "big." ZONE, 4096, UDP6_MAX, true, -1);
	/* The zone does hold them all: over TCP the answer is whole. */
	qlen = make_query(q, sizeof(q), 0x7002, "big." ZONE, LDNS_RR_TYPE_A, 4096, 0);
	fd = sys_tcp_connect(s.port);
	cr_assert_geq(fd, 0);
	cr_assert_eq(sys_tcp_send(fd, q, qlen), 0);
	n = sys_tcp_recv(fd, a, sizeof(a), 3000);
	close(fd);
	cr_assert_gt(n, 0, "no TCP answer");
	cr_assert_eq(ldns_wire2pkt(&p, a, (size_t)n), LDNS_STATUS_OK);
	cr_expect_eq(ldns_pkt_ancount(p), BIG_N);
	cr_expect(!ldns_pkt_tc(p));
	ldns_pkt_free(p);
	stop(&s);
}
