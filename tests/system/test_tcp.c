/*
 * DNS over TCP (RFC 7766) from the outside: dig and kdig, raw sockets
 * for pipelining, stalled clients, connection floods, and the UDP
 * truncation that sends clients here.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "example.test"
#define BIG_N 40

static char big_json[4096];

/* "big" has BIG_N addresses: 40 A records are 640 bytes of answer, more
 * than a classic 512-byte UDP response holds. */
static const char *zone_resolutions(void)
{
	size_t n = 0;

	n += (size_t)snprintf(big_json + n, sizeof(big_json) - n,
			      "{\"www\": [\"192.0.2.1\", \"2001:db8::1\"],"
			      " \"multi\": [\"192.0.2.10\", \"192.0.2.11\"],"
			      " \"big\": [");
	for (int i = 1; i <= BIG_N; i++)
		n += (size_t)snprintf(big_json + n, sizeof(big_json) - n, "%s\"198.51.100.%d\"",
				      i > 1 ? ", " : "", i);
	snprintf(big_json + n, sizeof(big_json) - n, "]}");
	return big_json;
}

/* Starts a server with the zone, then extra (NULL-terminated) flags. */
static void start(struct sys_server *s, const char *const *extra)
{
	const char *args[64];
	size_t n = 0;
	const char *const base[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", zone_resolutions(),
		"--user", "nobody",
	};

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		args[n++] = base[i];
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

/* A query for name (dotted, no trailing dot) and type, no EDNS, RD set. */
static size_t make_query(uint8_t *out, uint16_t id, const char *name, uint16_t type)
{
	size_t n = 12;
	const char *p = name;

	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x01;
	out[5] = 1;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	out[n++] = (uint8_t)(type >> 8);
	out[n++] = (uint8_t)type;
	out[n++] = 0;
	out[n++] = 1;
	return n;
}

/* The A addresses in a response, as text, one per line, sorted by ldns
 * order of appearance. Returns how many. */
static size_t answer_addrs(const uint8_t *resp, size_t len, char *out, size_t cap)
{
	ldns_pkt *p = NULL;
	size_t n = 0, off = 0;

	out[0] = '\0';
	cr_assert_eq(ldns_wire2pkt(&p, resp, len), LDNS_STATUS_OK, "reply does not parse");
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(p)); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
		char *s;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A)
			continue;
		s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		off += (size_t)snprintf(out + off, cap - off, "%s\n", s);
		free(s);
		n++;
	}
	ldns_pkt_free(p);
	return n;
}

/* Sorted lines of s, for comparing answers whose order may rotate. */
static char *sorted_lines(const char *s)
{
	char *copy = strdup(s), *save = NULL, *lines[256], *out;
	size_t n = 0, off = 0, len = strlen(s) + 2;

	cr_assert_not_null(copy);
	for (char *t = strtok_r(copy, "\n", &save); t && n < 256; t = strtok_r(NULL, "\n", &save))
		lines[n++] = t;
	qsort(lines, n, sizeof(lines[0]), (int (*)(const void *, const void *))strcmp);
	out = malloc(len);
	cr_assert_not_null(out);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s\n", lines[i]);
	free(copy);
	return out;
}

/* Wait for the server to stop by SIGTERM and add up the workers' TCP
 * counters from their last log lines. */
static void stop_and_count(struct sys_server *s, unsigned long *accepted,
			   unsigned long *queries)
{
	char *log;
	const char *p;

	*accepted = *queries = 0;
	cr_assert_eq(kill(s->pid, SIGTERM), 0);
	cr_assert_eq(sys_server_wait(s, 10000), 0, "no clean stop");
	log = sys_server_log(s);
	cr_assert_not_null(log);
	for (p = log; (p = strstr(p, "tcp: accepted ")) != NULL; p++) {
		unsigned long a, q;

		cr_assert_eq(sscanf(p, "tcp: accepted %lu queries %lu", &a, &q), 2);
		*accepted += a;
		*queries += q;
	}
	free(log);
	sys_server_stop(s);
}

static pid_t workers_of(const struct sys_server *s, pid_t *out, size_t want)
{
	int64_t end = sys_now_ms() + 5000;
	size_t n = 0;

	do {
		pid_t all[16];
		size_t k = sys_children(s->pid, all, 16);

		n = 0;
		for (size_t i = 0; i < k && i < 16; i++) {
			char cmd[256];

			if (sys_cmdline(all[i], cmd, sizeof(cmd)) == 0 &&
			    strstr(cmd, "worker") != NULL && n < want)
				out[n++] = all[i];
		}
		if (n == want)
			return 0;
		sys_sleep_ms(10);
	} while (sys_now_ms() < end);
	cr_assert_fail("found %zu of %zu workers", n, want);
	return -1;
}

Test(tcp, dig_over_tcp_answers_like_udp, .timeout = 60)
{
	static const char *const queries[][2] = {
		{"www." ZONE, "A"}, {"www." ZONE, "AAAA"}, {"multi." ZONE, "A"},
		{ZONE, "SOA"}, {ZONE, "NS"}, {"nx." ZONE, "A"}, {"www." ZONE, "TXT"},
		{"out.of.zone", "A"},
	};
	struct sys_server s;

	start(&s, NULL);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		/* No cookie: the client cookie is random per run of dig. */
		const char *udp_args[] = {queries[i][0], queries[i][1], "+noall", "+answer",
					  "+authority", "+comments", "+nocmd", "+nostats",
					  "+nocookie", NULL};
		const char *tcp_args[] = {"+tcp", queries[i][0], queries[i][1], "+noall",
					  "+answer", "+authority", "+comments", "+nocmd",
					  "+nostats", "+nocookie", NULL};
		char *u = sys_dig(s.port, udp_args);
		char *t = sys_dig(s.port, tcp_args);
		char *us, *ts, *cut;

		cr_assert_not_null(u, "dig failed for %s", queries[i][0]);
		cr_assert_not_null(t, "dig +tcp failed for %s", queries[i][0]);
		/* The header line carries the random ID: compare from status. */
		for (char **x = (char *[]){u, t, NULL}; *x; x++) {
			char *id = strstr(*x, ", id: ");

			cr_assert_not_null(id, "%s", *x);
			cut = strchr(id, '\n');
			memmove(id, cut, strlen(cut) + 1);
		}
		us = sorted_lines(u);
		ts = sorted_lines(t);
		cr_expect_str_eq(ts, us, "%s %s differs over TCP:\n%s\nvs UDP:\n%s", queries[i][0],
				 queries[i][1], ts, us);
		free(us);
		free(ts);
		free(u);
		free(t);
	}
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(tcp, kdig_sends_several_queries_on_one_connection, .timeout = 60)
{
	const char *const extra[] = {"--workers", "2", NULL};
	struct sys_server s;
	char port[8];
	char *out = NULL, *err = NULL;
	unsigned long accepted, queries;
	size_t headers = 0;
	const char *argv[] = {"kdig", "@127.0.0.1", "-p", port, "+tcp", "+keepopen",
			      "www." ZONE, "A", "multi." ZONE, "A", "nx." ZONE, "A",
			      ZONE, "SOA", NULL};

	start(&s, extra);
	snprintf(port, sizeof(port), "%u", s.port);
	cr_assert_eq(sys_run(argv, 10000, &out, &err), 0, "kdig: %s", err ? err : "");
	cr_assert_not_null(out);
	for (const char *p = out; (p = strstr(p, "->>HEADER<<-")) != NULL; p++)
		headers++;
	cr_expect_eq(headers, 4, "%s", out);
	cr_expect(strstr(out, "192.0.2.1") != NULL, "%s", out);
	cr_expect(strstr(out, "192.0.2.10") != NULL && strstr(out, "192.0.2.11") != NULL,
		  "%s", out);
	cr_expect(strstr(out, "NXDOMAIN") != NULL, "%s", out);
	cr_expect(strstr(out, "hostmaster." ZONE) != NULL, "%s", out);
	cr_expect(strstr(out, "(TCP)") != NULL, "%s", out);
	free(out);
	free(err);
	stop_and_count(&s, &accepted, &queries);
	cr_expect_eq(accepted, 1, "kdig +keepopen used %lu connections", accepted);
	cr_expect_eq(queries, 4, "%lu queries over TCP", queries);
}

Test(tcp, hundred_pipelined_queries_in_one_write, .timeout = 60)
{
	struct sys_server s;
	static uint8_t wire[100 * 64];
	uint8_t resp[1024];
	bool seen[100] = {false};
	size_t n = 0;
	int fd;

	start(&s, NULL);
	fd = sys_tcp_connect(s.port);
	cr_assert_geq(fd, 0);
	for (int i = 0; i < 100; i++) {
		uint8_t q[64];
		size_t ql = make_query(q, (uint16_t)(0x5000 + i),
				       i % 2 ? "www." ZONE : "multi." ZONE, 1);

		wire[n++] = 0;
		wire[n++] = (uint8_t)ql;
		memcpy(wire + n, q, ql);
		n += ql;
	}
	cr_assert_eq(send(fd, wire, n, 0), (ssize_t)n, "one write");
	for (int i = 0; i < 100; i++) {
		ssize_t len = sys_tcp_recv(fd, resp, sizeof(resp), 3000);
		char addrs[256];
		int id;

		cr_assert_gt(len, 12, "answer %d missing", i);
		id = (resp[0] << 8 | resp[1]) - 0x5000;
		cr_assert(id >= 0 && id < 100, "unknown ID %d", id);
		cr_assert(!seen[id], "ID %d answered twice", id);
		seen[id] = true;
		cr_expect_eq(resp[3] & 0x0f, 0, "rcode of %d", id);
		cr_expect_eq(answer_addrs(resp, (size_t)len, addrs, sizeof(addrs)),
			     id % 2 ? 1u : 2u, "answer of %d: %s", id, addrs);
	}
	/* The connection stays usable afterwards. */
	{
		uint8_t q[64];
		size_t ql = make_query(q, 0x7777, "www." ZONE, 1);

		cr_assert_eq(sys_tcp_send(fd, q, ql), 0);
		cr_assert_gt(sys_tcp_recv(fd, resp, sizeof(resp), 3000), 12);
		cr_expect_eq(resp[0] << 8 | resp[1], 0x7777);
	}
	close(fd);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(tcp, stalled_client_is_closed_at_the_idle_timeout_while_others_are_served,
     .timeout = 60)
{
	/* One worker: the stalled client and the others share its loop. The
	 * message deadline is set past the idle timeout, which is tested. */
	const char *const extra[] = {"--workers", "1", "--tcp-idle-timeout", "1",
				     "--tcp-io-timeout", "5000", NULL};
	struct sys_server s;
	uint8_t half = 0, q[64], resp[512];
	int64_t t0, closed_after;
	int stall;

	start(&s, extra);
	stall = sys_tcp_connect(s.port);
	cr_assert_geq(stall, 0);
	cr_assert_eq(send(stall, &half, 1, 0), 1);
	t0 = sys_now_ms();
	/* "During the stall" is an order, not a time: each answer arrives
	 * while the stalled client is still open. A loop blocked on the
	 * stalled client would answer only after closing it at the idle
	 * timeout (1 s), which this sees; no wall-clock bound for ASan or
	 * a loaded machine to break. */
	for (int i = 0; i < 3; i++) {
		int fd = sys_tcp_connect(s.port);
		size_t ql = make_query(q, (uint16_t)(0x100 + i), "www." ZONE, 1);

		cr_assert_geq(fd, 0);
		cr_assert_eq(sys_tcp_send(fd, q, ql), 0);
		cr_assert_gt(sys_tcp_recv(fd, resp, sizeof(resp), 5000), 12,
			     "client %d not served", i);
		cr_expect(!sys_tcp_closed(stall, 0),
			  "client %d was served only after the stalled client was closed", i);
		close(fd);
		sys_sleep_ms(150);
	}
	cr_assert(sys_tcp_closed(stall, 4000), "the stalled client was never closed");
	closed_after = sys_now_ms() - t0;
	cr_expect_geq(closed_after, 800, "closed after %lld ms", (long long)closed_after);
	cr_expect_leq(closed_after, 2500, "closed after %lld ms", (long long)closed_after);
	close(stall);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(tcp, connection_flood_keeps_the_cap_and_closes_the_oldest_idle, .timeout = 120)
{
	/* All from one address: the cap per client is lifted to the table. */
	const char *const extra[] = {"--workers", "2", "--tcp-max-conns", "50",
				     "--tcp-max-conns-per-client", "50", NULL};
	enum { FLOOD = 1000, CAP = 50 };
	static int fds[FLOOD];
	struct sys_server s;
	struct rlimit rl;
	pid_t w[2];
	int base[2];
	int max_seen[2] = {0, 0};
	uint8_t q[64], resp[512];
	size_t closed_first_half = 0, open_total = 0;

	if (geteuid() != 0)
		cr_skip_test("not root: the workers' /proc/<pid>/fd cannot be read");
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < FLOOD + 200) {
		rl.rlim_cur = rl.rlim_max < FLOOD + 200 ? rl.rlim_max : FLOOD + 200;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	cr_assert_geq(rl.rlim_cur, FLOOD + 100, "open file limit too low for the test");
	start(&s, extra);
	workers_of(&s, w, 2);
	for (int k = 0; k < 2; k++) {
		base[k] = sys_count_sockets(w[k]);
		cr_assert_geq(base[k], 2, "worker %d holds %d sockets", (int)w[k], base[k]);
	}
	for (int i = 0; i < FLOOD; i++) {
		fds[i] = sys_tcp_connect(s.port);
		cr_assert_geq(fds[i], 0, "connection %d: %s", i, strerror(errno));
		if (i % 25 == 0) {
			for (int k = 0; k < 2; k++) {
				int n = sys_count_sockets(w[k]) - base[k];

				if (n > max_seen[k])
					max_seen[k] = n;
			}
		}
		if (i % 100 == 50) {
			/* A fresh client is answered in the middle of it. */
			int fd = sys_tcp_connect(s.port);
			size_t ql = make_query(q, (uint16_t)i, "www." ZONE, 1);

			cr_assert_geq(fd, 0);
			cr_assert_eq(sys_tcp_send(fd, q, ql), 0);
			cr_assert_gt(sys_tcp_recv(fd, resp, sizeof(resp), 2000), 12,
				     "fresh client after %d connections not answered", i);
			close(fd);
		}
	}
	sys_sleep_ms(200);
	for (int k = 0; k < 2; k++) {
		int n = sys_count_sockets(w[k]) - base[k];

		if (n > max_seen[k])
			max_seen[k] = n;
		cr_expect_leq(max_seen[k], CAP, "worker %d held %d connections", (int)w[k],
			      max_seen[k]);
		cr_expect_geq(max_seen[k], CAP / 2, "worker %d held only %d connections",
			      (int)w[k], max_seen[k]);
	}
	/* The newest connections are kept and still answer... */
	for (int i = FLOOD - 10; i < FLOOD; i++) {
		size_t ql = make_query(q, (uint16_t)i, "www." ZONE, 1);

		cr_assert_eq(sys_tcp_send(fds[i], q, ql), 0, "connection %d", i);
		cr_assert_gt(sys_tcp_recv(fds[i], resp, sizeof(resp), 2000), 12,
			     "newest connection %d was closed", i);
	}
	/* ...the oldest idle ones were closed to make room. */
	for (int i = 0; i < FLOOD; i++) {
		bool closed = sys_tcp_closed(fds[i], 0);

		if (i < FLOOD / 2)
			closed_first_half += closed;
		open_total += !closed;
	}
	cr_expect_eq(closed_first_half, FLOOD / 2, "%zu of the oldest %d closed",
		     closed_first_half, FLOOD / 2);
	cr_expect_leq(open_total, 2 * CAP, "%zu still open", open_total);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* dig's output for big A: it saw TC over UDP, then all BIG_N addresses
 * came over TCP. */
static void expect_tcp_fallback(const char *out)
{
	char want[64];

	cr_assert_not_null(out, "dig failed");
	cr_expect(strstr(out, "Truncated, retrying in TCP mode") != NULL, "%s", out);
	for (int i = 1; i <= BIG_N; i++) {
		snprintf(want, sizeof(want), "\t198.51.100.%d\n", i);
		cr_expect(strstr(out, want) != NULL, "dig lacks %s", want);
	}
}

Test(tcp, truncated_udp_answer_is_complete_over_tcp, .timeout = 60)
{
	struct sys_server s;
	uint8_t q[64], resp[4096];
	char addrs[1024];
	size_t ql;
	ssize_t len;
	int fd;

	start(&s, NULL);
	/* Over UDP without EDNS: TC set, within 512 bytes. */
	ql = make_query(q, 0x2222, "big." ZONE, 1);
	len = sys_exchange("127.0.0.1", s.port, q, ql, resp, sizeof(resp), 2000);
	cr_assert_geq(len, 12, "no UDP reply");
	cr_expect_leq(len, 512);
	cr_expect(resp[2] & 0x02, "TC not set on a %zd-byte answer", len);

	/* Over TCP: all BIG_N addresses, no TC. */
	fd = sys_tcp_connect(s.port);
	cr_assert_geq(fd, 0);
	cr_assert_eq(sys_tcp_send(fd, q, ql), 0);
	len = sys_tcp_recv(fd, resp, sizeof(resp), 2000);
	cr_assert_gt(len, 512, "TCP answer of %zd bytes", len);
	cr_expect_eq(resp[2] & 0x02, 0, "TC over TCP");
	cr_expect_eq(answer_addrs(resp, (size_t)len, addrs, sizeof(addrs)), BIG_N, "%s", addrs);
	close(fd);

	/* dig sees TC and retries over TCP by itself, without EDNS and with
	 * an EDNS payload too small for the answer. */
	for (int edns = 0; edns < 2; edns++) {
		const char *args[] = {edns ? "+bufsize=512" : "+noedns", "+nocookie",
				      "big." ZONE, "A", NULL};
		char *out = sys_dig(s.port, args);

		expect_tcp_fallback(out);
		free(out);
	}
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* A TCP connection to the server from 127.0.0.<host>, or -1. */
static int connect_from(uint16_t port, uint8_t host)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	src.sin_addr.s_addr = htonl(0x7f000000u | host);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One slowloris connection: a length prefix of 255, then a byte now and
 * then. */
struct loris {
	int fd;
	int64_t next_ms; /* when its next byte is due */
};

static void loris_open(struct loris *l, uint16_t port)
{
	static const uint8_t prefix[2] = {0x00, 0xff};

	l->fd = sys_tcp_connect(port);
	cr_assert_geq(l->fd, 0, "the attacker cannot connect: %s", strerror(errno));
	/* A closed or refused connection shows up at the next check. */
	(void)send(l->fd, prefix, 2, MSG_NOSIGNAL);
	l->next_ms = sys_now_ms() + 2000;
}

/*
 * RFC 7766 section 6.2.3: four connections that send a length prefix and
 * then one byte every 2 s (and come back when closed) fill a worker's
 * table of 4 for longer than the idle timeout, while another client asks
 * twice a second and must be answered within 1 s every time. Once with
 * the default cap per client (1 of a table of 4), once with the cap
 * lifted, so the message deadline and the eviction alone must do it.
 */
Test(tcp, slowloris_does_not_lock_out_other_clients, .timeout = 120)
{
	enum { LORIS = 4, ATTACK_MS = 7000 };
	const char *const per_client[] = {NULL, "4"};

	for (size_t v = 0; v < sizeof(per_client) / sizeof(per_client[0]); v++) {
		const char *extra[] = {"--workers", "1", "--tcp-max-conns", "4",
				       "--tcp-idle-timeout", "5", NULL, NULL, NULL};
		struct loris l[LORIS];
		struct sys_server s;
		unsigned answered = 0, reopened = 0;
		int64_t t0;
		uint8_t q[64], resp[512];

		if (per_client[v] != NULL) {
			extra[6] = "--tcp-max-conns-per-client";
			extra[7] = per_client[v];
		}
		start(&s, extra);
		for (int i = 0; i < LORIS; i++)
			loris_open(&l[i], s.port);
		t0 = sys_now_ms();
		while (sys_now_ms() - t0 < ATTACK_MS) {
			size_t ql = make_query(q, (uint16_t)(0x4000 + answered), "www." ZONE, 1);
			int64_t asked;
			ssize_t n;
			int fd;

			for (int i = 0; i < LORIS; i++) {
				uint8_t one = 0;

				if (sys_tcp_closed(l[i].fd, 0)) {
					close(l[i].fd);
					loris_open(&l[i], s.port);
					reopened++;
				} else if (sys_now_ms() >= l[i].next_ms) {
					(void)send(l[i].fd, &one, 1, MSG_NOSIGNAL);
					l[i].next_ms += 2000;
				}
			}
			fd = connect_from(s.port, 2);
			cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
			asked = sys_now_ms();
			cr_assert_eq(sys_tcp_send(fd, q, ql), 0, "variant %zu: query %u not sent", v,
				     answered);
			n = sys_tcp_recv(fd, resp, sizeof(resp), 1000);
			cr_assert_gt(n, 12, "variant %zu: query %u at %lld ms into the attack got no answer within 1 s",
				     v, answered, (long long)(asked - t0));
			cr_assert_eq(resp[0] << 8 | resp[1], 0x4000 + answered);
			close(fd);
			answered++;
			sys_sleep_ms(500);
		}
		/* The attackers were cut off (by the message deadline, the
		 * eviction or the cap), not served. */
		cr_expect_geq(reopened, LORIS, "variant %zu: attackers reconnected %u times", v,
			      reopened);
		cr_expect_geq(answered, 8, "variant %zu: %u answers", v, answered);
		for (int i = 0; i < LORIS; i++)
			close(l[i].fd);
		cr_expect_eq(sys_server_stop(&s), 0);
	}
}

/* A query of total bytes (www A, an OPT whose PADDING option, RFC 7830,
 * fills the rest). */
static size_t padded_query(uint8_t *out, uint16_t id, size_t total)
{
	size_t n = make_query(out, id, "www." ZONE, 1);
	size_t pad = total - n - 11 - 4;

	out[11] = 1;
	memcpy(out + n, (const uint8_t[]){0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0}, 9);
	out[n + 9] = (uint8_t)((4 + pad) >> 8);
	out[n + 10] = (uint8_t)(4 + pad);
	out[n + 11] = 0;
	out[n + 12] = 12;
	out[n + 13] = (uint8_t)(pad >> 8);
	out[n + 14] = (uint8_t)pad;
	memset(out + n + 15, 0, pad);
	return total;
}

/* RFC 8906 section 3.1.2: any well-formed query is answered, over TCP up
 * to the 65535 bytes a length prefix holds (test_hostile sends them over
 * UDP). */
Test(tcp, large_queries_are_answered, .timeout = 60)
{
	static const size_t sizes[] = {5000, 60000, 65535};
	static uint8_t q[65535];
	uint8_t resp[512];
	struct sys_server s;
	int fd;

	start(&s, NULL);
	fd = sys_tcp_connect(s.port);
	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t ql = padded_query(q, (uint16_t)(0x5000 + i), sizes[i]);
		char addrs[64];
		ssize_t n;

		cr_assert_eq(sys_tcp_send(fd, q, ql), 0);
		n = sys_tcp_recv(fd, resp, sizeof(resp), 3000);
		cr_assert_gt(n, 12, "no answer to a %zu-byte query", sizes[i]);
		cr_expect_eq(resp[0] << 8 | resp[1], 0x5000 + i);
		cr_expect_eq(resp[3] & 0x0f, 0, "RCODE %d", resp[3] & 0x0f);
		cr_expect_eq(answer_addrs(resp, (size_t)n, addrs, sizeof(addrs)), 1, "%s", addrs);
	}
	close(fd);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* A signed answer too large for the client's UDP payload: TC over UDP,
 * whole with its RRSIG over TCP, as dig retries by itself. */
Test(tcp, large_signed_answer_falls_back_to_tcp, .timeout = 90)
{
	char key[256];
	struct sys_server s;
	char *out;

	cr_assert_eq(sys_make_key("P-256", key, sizeof(key)), 0);
	{
		const char *const extra[] = {"--priv-key-path", key, "--priv-key-alg",
					     "ECDSAP256SHA256", NULL};

		start(&s, extra);
	}
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 30000), 0);
	{
		const char *args[] = {"+dnssec", "+bufsize=512", "+nocookie", "big." ZONE, "A",
				      NULL};

		out = sys_dig(s.port, args);
	}
	expect_tcp_fallback(out);
	cr_expect(strstr(out, "\tRRSIG\tA 13 ") != NULL, "no RRSIG over TCP:\n%s", out);
	free(out);
	cr_expect_eq(sys_server_stop(&s), 0);
	sys_remove_key(key);
}

Test(tcp, connections_wait_in_the_listener_while_a_worker_restarts, .timeout = 60)
{
	const char *const extra[] = {"--workers", "1", NULL};
	struct sys_server s;
	uint8_t q[64], resp[512];
	pid_t w[1], w2[1];
	size_t ql = make_query(q, 0x4321, "www." ZONE, 1);
	int fd;

	start(&s, extra);
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	workers_of(&s, w, 1);
	cr_assert_eq(kill(w[0], SIGKILL), 0);
	/* No worker now: the supervisor's listener still takes the
	 * connection, and the next worker answers it. */
	fd = sys_tcp_connect(s.port);
	cr_assert_geq(fd, 0, "connection refused while the worker was down");
	cr_assert_eq(sys_tcp_send(fd, q, ql), 0);
	cr_assert_gt(sys_tcp_recv(fd, resp, sizeof(resp), 3000), 12,
		     "not answered after the restart");
	cr_expect_eq(resp[0] << 8 | resp[1], 0x4321);
	close(fd);
	workers_of(&s, w2, 1);
	cr_expect_neq(w2[0], w[0], "the worker was not replaced");
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(tcp, tcp_port_in_use_is_refused, .timeout = 60)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct sys_server s;
	uint16_t port = sys_free_port();
	char ps[8], *log;
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}", "--user", "nobody",
		"--listen", "127.0.0.1", "--port", ps, NULL,
	};
	int one = 1, st;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_neq(port, 0);
	snprintf(ps, sizeof(ps), "%u", port);
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(sys_server_start_raw(&s, args, port, NULL), 0);
	st = sys_server_wait(&s, 10000);
	cr_expect(st > 0, "exit status %d", st);
	log = sys_server_log(&s);
	cr_assert_not_null(log);
	cr_expect_eq(sys_count_lines(log), 1, "stderr: [%s]", log);
	cr_expect(strstr(log, "TCP") != NULL && strstr(log, ps) != NULL, "stderr: [%s]", log);
	free(log);
	s.exit_status = 0; /* expected: no log dump */
	sys_server_stop(&s);
	close(fd);
}
