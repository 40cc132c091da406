/*
 * --cpu-affinity and --udp-pause from the outside: where the kernel says
 * each process may run, and whether bursts of UDP queries, which make
 * the workers pause between batches, are all answered exactly once.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "example.test"
#define WWW "www." ZONE
#define WWW_ADDR "192.0.2.1"

static const char *const zone_args[] = {
	"--hosted-zone", ZONE,
	"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
	"--zone-resolutions", "{\"www\": [\"" WWW_ADDR "\"]}",
	"--user", "nobody",
	NULL,
};

#define MAX_ARGS 32
/* A liveness bound for a burst, not a timing assertion. */
#define BURST_DEADLINE_MS 10000

/* zone_args followed by extra (NULL-terminated) into argv. */
static void build_args(const char **argv, const char *const *extra)
{
	size_t n = 0;

	for (size_t i = 0; zone_args[i] != NULL; i++)
		argv[n++] = zone_args[i];
	for (size_t i = 0; extra[i] != NULL; i++) {
		cr_assert_lt(n, MAX_ARGS - 1);
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
}

/* The CPUs this process may run on, lowest first, from the kernel. */
static int allowed_cpus(int *out, int max)
{
	cpu_set_t set;
	int n = 0;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && n < max; c++) {
		if (CPU_ISSET(c, &set))
			out[n++] = c;
	}
	cr_assert_geq(n, 1);
	return n;
}

/* cpus (ascending) as a taskset -c list with ranges: "0-3,6". */
static void cpu_list_text(const int *cpus, int n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int j = i;

		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		if (j > i)
			len += (size_t)snprintf(buf + len, cap - len, "%s%d-%d",
						len > 0 ? "," : "", cpus[i], cpus[j]);
		else
			len += (size_t)snprintf(buf + len, cap - len, "%s%d",
						len > 0 ? "," : "", cpus[i]);
		cr_assert_lt(len, cap);
		i = j;
	}
}

static void allowed_list(pid_t pid, char *buf, size_t cap)
{
	cr_assert_eq(sys_proc_status(pid, "Cpus_allowed_list", buf, cap), 0,
		     "pid %d: no Cpus_allowed_list", (int)pid);
}

/*
 * Poll pid's Cpus_allowed_list until it is want or timeout_ms passed:
 * a fresh worker shows its title a moment before it pins itself. The
 * last value read is left in buf.
 */
static bool allowed_becomes(pid_t pid, const char *want, char *buf, size_t cap,
			    int timeout_ms)
{
	int64_t end = sys_now_ms() + timeout_ms;

	for (;;) {
		if (sys_proc_status(pid, "Cpus_allowed_list", buf, cap) < 0)
			snprintf(buf, cap, "(gone)");
		else if (strcmp(buf, want) == 0)
			return true;
		if (sys_now_ms() >= end)
			return false;
		sys_sleep_ms(10);
	}
}

static void wait_kids(pid_t sup, struct sys_kids *k, size_t workers)
{
	cr_assert_eq(sys_wait_kids(sup, k, workers), 0,
		     "expected %zu workers and 1 prober, found %zu and %zu", workers,
		     k->n_workers, k->n_probers);
}

static void start(struct sys_server *s, const char *const *extra)
{
	const char *argv[MAX_ARGS];

	build_args(argv, extra);
	cr_assert_eq(sys_server_start(s, argv), 0, "the server did not start");
	cr_assert_eq(sys_server_wait_log(s, SYS_READY_LOG, 10000), 0, "never ready");
}

Test(worker_cpu, workers_pinned_round_robin_prober_not, .timeout = 60)
{
	int cpus[CPU_SETSIZE];
	int n = allowed_cpus(cpus, CPU_SETSIZE);
	char list[4096], self[4096], got[4096], want[16];
	const char *extra[] = {"--workers", "3", "--cpu-affinity", list, NULL};
	bool seen[3] = {false, false, false};
	struct sys_server s;
	struct sys_kids k;
	pid_t victim = 0, fresh = 0;
	int victim_index = -1;
	int64_t end;

	cpu_list_text(cpus, n, list, sizeof(list));
	allowed_list(getpid(), self, sizeof(self));
	start(&s, extra);
	wait_kids(s.pid, &k, 3);

	for (size_t i = 0; i < k.n_workers; i++) {
		int idx = k.index[i];

		cr_assert(idx >= 0 && idx < 3, "pid %d: worker index %d", (int)k.workers[i], idx);
		cr_expect(!seen[idx], "two workers with index %d", idx);
		seen[idx] = true;
		snprintf(want, sizeof(want), "%d", cpus[idx % n]);
		cr_expect(allowed_becomes(k.workers[i], want, got, sizeof(got), 5000),
			  "worker %d (pid %d), list %s: Cpus_allowed_list %s, want %s", idx,
			  (int)k.workers[i], list, got, want);
		/* The last index wraps round to a CPU already used. */
		if (idx == 1 || victim == 0) {
			victim = k.workers[i];
			victim_index = idx;
		}
	}
	allowed_list(k.prober, got, sizeof(got));
	cr_expect_str_eq(got, self, "the prober is pinned: %s (ours %s)", got, self);
	allowed_list(s.pid, got, sizeof(got));
	cr_expect_str_eq(got, self, "the supervisor is pinned: %s (ours %s)", got, self);

	/* The replacement of a dead worker takes its index and its CPU. */
	cr_assert_eq(kill(victim, SIGKILL), 0);
	end = sys_now_ms() + 5000;
	while (fresh == 0 && sys_now_ms() < end) {
		struct sys_kids now;

		sys_find_kids(s.pid, &now);
		for (size_t i = 0; i < now.n_workers; i++) {
			bool old = false;

			for (size_t j = 0; j < k.n_workers; j++)
				old |= now.workers[i] == k.workers[j];
			if (!old) {
				fresh = now.workers[i];
				cr_expect_eq(now.index[i], victim_index,
					     "the replacement of worker %d is worker %d",
					     victim_index, now.index[i]);
			}
		}
		if (fresh == 0)
			sys_sleep_ms(10);
	}
	cr_assert_neq(fresh, 0, "no replacement for worker %d within 5 s", victim_index);
	snprintf(want, sizeof(want), "%d", cpus[victim_index % n]);
	cr_expect(allowed_becomes(fresh, want, got, sizeof(got), 5000),
		  "replacement worker %d (pid %d): Cpus_allowed_list %s, want %s", victim_index,
		  (int)fresh, got, want);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(worker_cpu, workers_not_pinned_by_default, .timeout = 60)
{
	const char *extra[] = {"--workers", "2", NULL};
	char self[4096], got[4096];
	struct sys_server s;
	struct sys_kids k;

	allowed_list(getpid(), self, sizeof(self));
	start(&s, extra);
	wait_kids(s.pid, &k, 2);
	for (size_t i = 0; i < k.n_workers; i++) {
		allowed_list(k.workers[i], got, sizeof(got));
		cr_expect_str_eq(got, self, "worker pid %d: Cpus_allowed_list %s, ours %s",
				 (int)k.workers[i], got, self);
	}
	allowed_list(k.prober, got, sizeof(got));
	cr_expect_str_eq(got, self, "the prober: %s, ours %s", got, self);
	cr_expect_eq(sys_server_stop(&s), 0);
}

/* www.example.test A IN, with id; RD clear. Returns the length. */
static size_t make_query(uint8_t *q, uint16_t id)
{
	static const uint8_t rest[] = {
		0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
	};

	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	memcpy(q + 2, rest, sizeof(rest));
	return 2 + sizeof(rest);
}

/* NULL if buf is the answer a query for www.example.test A must get,
 * else what is wrong (static text). */
static const char *check_answer(const uint8_t *buf, size_t len)
{
	static char why[256];
	ldns_pkt *p = NULL;
	ldns_rr_list *an;
	ldns_rr *rr;
	ldns_rdf *want_owner = NULL;
	char *addr;

	if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK)
		return "unparsable";
	why[0] = '\0';
	an = ldns_pkt_answer(p);
	if (!ldns_pkt_qr(p))
		snprintf(why, sizeof(why), "QR clear");
	else if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR)
		snprintf(why, sizeof(why), "rcode %d", (int)ldns_pkt_get_rcode(p));
	else if (ldns_rr_list_rr_count(an) != 1)
		snprintf(why, sizeof(why), "%zu answer RRs", ldns_rr_list_rr_count(an));
	if (why[0] != '\0') {
		ldns_pkt_free(p);
		return why;
	}
	rr = ldns_rr_list_rr(an, 0);
	if (ldns_str2rdf_dname(&want_owner, WWW ".") != LDNS_STATUS_OK)
		snprintf(why, sizeof(why), "ldns_str2rdf_dname failed");
	else if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A || ldns_rr_rd_count(rr) != 1)
		snprintf(why, sizeof(why), "answer type %d", (int)ldns_rr_get_type(rr));
	else if (ldns_dname_compare(ldns_rr_owner(rr), want_owner) != 0)
		snprintf(why, sizeof(why), "answer owner is not " WWW);
	else {
		addr = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		if (addr == NULL || strcmp(addr, WWW_ADDR) != 0)
			snprintf(why, sizeof(why), "A %s", addr != NULL ? addr : "?");
		free(addr);
	}
	ldns_rdf_deep_free(want_owner);
	ldns_pkt_free(p);
	return why[0] != '\0' ? why : NULL;
}

/* One client socket of a burst: queries per_dest IDs from first_id to
 * dest:port, and what came back. */
struct client {
	int fd;
	struct sockaddr_in dest;
	uint16_t first_id;
	int sent;
	unsigned char *count; /* per ID, first_id.. */
	int answered;         /* distinct IDs */
	int duplicates, foreign, wrong_source, bad;
	char first_bad[300];
};

static void client_open(struct client *c, const char *dest, uint16_t port, uint16_t first_id,
			int per_dest)
{
	struct sockaddr_in local = {.sin_family = AF_INET};
	int size = 4 * 1024 * 1024;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(c->fd, 0);
	/* 500 answers may land before we read one: room for them all. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		cr_assert_eq(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(c->fd, (struct sockaddr *)&local, sizeof(local)), 0);
	c->dest.sin_family = AF_INET;
	c->dest.sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, dest, &c->dest.sin_addr), 1);
	c->first_id = first_id;
	c->count = calloc((size_t)per_dest, 1);
	cr_assert_not_null(c->count);
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->count);
}

/* Read every datagram waiting on c's socket. */
static void client_drain(struct client *c, int per_dest)
{
	for (;;) {
		uint8_t buf[1500];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t got = recvfrom(c->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		const char *why;
		int slot;

		if (got < 0) {
			cr_assert(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR,
				  "recvfrom: %s", strerror(errno));
			if (errno == EINTR)
				continue;
			return;
		}
		if (from.sin_family != AF_INET || from.sin_addr.s_addr != c->dest.sin_addr.s_addr ||
		    from.sin_port != c->dest.sin_port) {
			c->wrong_source++;
			continue;
		}
		if (got < 12) {
			c->bad++;
			continue;
		}
		slot = ((buf[0] << 8) | buf[1]) - c->first_id;
		if (slot < 0 || slot >= c->sent || slot >= per_dest) {
			c->foreign++;
			continue;
		}
		if (c->count[slot]++ > 0) {
			c->duplicates++;
			continue;
		}
		c->answered++;
		why = check_answer(buf, (size_t)got);
		if (why != NULL) {
			if (c->bad++ == 0)
				snprintf(c->first_bad, sizeof(c->first_bad), "ID %d: %s",
					 c->first_id + slot, why);
		}
	}
}

/* Wait (up to ms) for any client socket to become readable or, when
 * want_out, writable; then drain the readable ones. */
static void clients_poll(struct client *cs, size_t n, int per_dest, bool want_out, int ms)
{
	struct pollfd pfd[4];

	cr_assert_leq(n, 4);
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = cs[i].fd;
		pfd[i].events = POLLIN | (want_out ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	if (poll(pfd, (nfds_t)n, ms) <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (pfd[i].revents & POLLIN)
			client_drain(&cs[i], per_dest);
	}
}

static bool clients_done(const struct client *cs, size_t n, int per_dest)
{
	for (size_t i = 0; i < n; i++) {
		if (cs[i].answered < per_dest)
			return false;
	}
	return true;
}

/*
 * per_dest queries to each of dests (IPv4 text) at port, as fast as the
 * sockets take them, interleaved one to each in turn; then wait for the
 * answers. Every ID must come back exactly once, from the address it
 * was sent to, with the right answer.
 */
static void burst(const char *const *dests, size_t n, uint16_t port, int per_dest)
{
	struct client cs[4];
	uint16_t base = (uint16_t)(((unsigned)getpid() * 7919u) & 0x7fff);
	int64_t end;

	cr_assert_leq(n, 4);
	for (size_t d = 0; d < n; d++)
		client_open(&cs[d], dests[d], port, (uint16_t)(base + d * (size_t)per_dest),
			    per_dest);
	end = sys_now_ms() + BURST_DEADLINE_MS;
	for (int i = 0; i < per_dest; i++) {
		for (size_t d = 0; d < n; d++) {
			uint8_t q[64];
			size_t ql = make_query(q, (uint16_t)(cs[d].first_id + i));

			for (;;) {
				ssize_t r = sendto(cs[d].fd, q, ql, 0, (struct sockaddr *)&cs[d].dest,
						   sizeof(cs[d].dest));

				if (r == (ssize_t)ql)
					break;
				cr_assert(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
						    errno == ENOBUFS || errno == EINTR),
					  "sendto %s: %zd (%s)", dests[d], r, strerror(errno));
				cr_assert_lt(sys_now_ms(), end, "could not send the burst in time");
				/* The send buffer is full: read answers meanwhile. */
				clients_poll(cs, n, per_dest, true, 10);
			}
			cs[d].sent++;
		}
	}
	while (!clients_done(cs, n, per_dest) && sys_now_ms() < end)
		clients_poll(cs, n, per_dest, false, (int)(end - sys_now_ms()));
	/* A late duplicate would come right behind. */
	clients_poll(cs, n, per_dest, false, 100);

	for (size_t d = 0; d < n; d++) {
		struct client *c = &cs[d];
		int missing = 0, first_missing = -1;

		for (int i = 0; i < per_dest; i++) {
			if (c->count[i] == 0 && missing++ == 0)
				first_missing = c->first_id + i;
		}
		cr_expect_eq(missing, 0, "%s: %d of %d IDs not answered within %d ms (first %d)",
			     dests[d], missing, per_dest, BURST_DEADLINE_MS, first_missing);
		cr_expect_eq(c->duplicates, 0, "%s: %d duplicate answers", dests[d],
			     c->duplicates);
		cr_expect_eq(c->foreign, 0, "%s: %d answers with IDs never sent there", dests[d],
			     c->foreign);
		cr_expect_eq(c->wrong_source, 0, "%s: %d answers from another address",
			     dests[d], c->wrong_source);
		cr_expect_eq(c->bad, 0, "%s: %d wrong answers, first %s", dests[d], c->bad,
			     c->first_bad);
		client_close(c);
	}
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The workers (sorted pids) survived: none killed by its sandbox. */
static void expect_same_workers(const struct sys_server *s, const struct sys_kids *before)
{
	pid_t a[SYS_MAX_KIDS], b[SYS_MAX_KIDS];
	struct sys_kids after;
	char *log;

	sys_find_kids(s->pid, &after);
	cr_expect_eq(after.n_workers, before->n_workers);
	memcpy(a, before->workers, sizeof(a));
	memcpy(b, after.workers, sizeof(b));
	qsort(a, before->n_workers, sizeof(a[0]), pid_cmp);
	qsort(b, after.n_workers, sizeof(b[0]), pid_cmp);
	for (size_t i = 0; i < before->n_workers && i < after.n_workers; i++)
		cr_expect_eq(a[i], b[i], "worker pid %d is gone (now %d)", (int)a[i], (int)b[i]);
	log = sys_server_log(s);
	cr_assert_not_null(log);
	cr_expect(strstr(log, "signal") == NULL, "a child died: %s", log);
	free(log);
}

static void pause_burst(const char *pause)
{
	static const char *const dests[] = {"127.0.0.1"};
	const char *extra[] = {"--workers", "2", pause != NULL ? "--udp-pause" : NULL, pause,
			       NULL};
	struct sys_server s;
	struct sys_kids k;

	start(&s, extra);
	wait_kids(s.pid, &k, 2);
	burst(dests, 1, s.port, 500);
	/* And again, with the workers warm and any pause state left over. */
	burst(dests, 1, s.port, 500);
	expect_same_workers(&s, &k);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(worker_cpu, burst_default_pause, .timeout = 60)
{
	pause_burst(NULL);
}

Test(worker_cpu, burst_no_pause, .timeout = 60)
{
	pause_burst("0");
}

Test(worker_cpu, burst_longest_pause, .timeout = 60)
{
	pause_burst("1000");
}

Test(worker_cpu, bursts_to_two_addresses_answered_from_each, .timeout = 60)
{
	static const char *const dests[] = {"127.0.0.1", "127.0.0.2"};
	uint16_t port = sys_free_port();
	char ps[8];
	const char *extra[] = {"--workers", "2", "--port", ps, "--listen", "127.0.0.1",
			       "--listen", "127.0.0.2", NULL};
	const char *argv[MAX_ARGS];
	struct sys_server s;
	struct sys_kids k;

	cr_assert_neq(port, 0);
	snprintf(ps, sizeof(ps), "%u", port);
	build_args(argv, extra);
	cr_assert_eq(sys_server_start_raw(&s, argv, port, "127.0.0.1"), 0);
	cr_assert_eq(sys_server_wait_ready(&s, "127.0.0.2", 10000), 0, "127.0.0.2 silent");
	cr_assert_eq(sys_server_wait_log(&s, SYS_READY_LOG, 10000), 0, "never ready");
	wait_kids(s.pid, &k, 2);
	burst(dests, 2, port, 300);
	expect_same_workers(&s, &k);
	cr_expect_eq(sys_server_stop(&s), 0);
}

Test(worker_cpu, bad_values_exit_non_zero_with_one_line, .timeout = 30)
{
	static const char *const cases[][2] = {
		{"--cpu-affinity", "0-"},
		{"--udp-pause", "5000"},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *argv[MAX_ARGS];
		size_t n = 0;
		char *out = NULL, *err = NULL;
		int st;

		argv[n++] = sys_bin();
		for (size_t i = 0; zone_args[i] != NULL; i++)
			argv[n++] = zone_args[i];
		argv[n++] = cases[c][0];
		argv[n++] = cases[c][1];
		argv[n++] = "--check-config";
		argv[n] = NULL;
		st = sys_run(argv, 10000, &out, &err);
		cr_expect(st > 0, "%s %s: exit status %d", cases[c][0], cases[c][1], st);
		cr_expect_eq(sys_count_lines(err), 1, "%s %s: stderr [%s]", cases[c][0],
			     cases[c][1], err);
		cr_expect(err != NULL && strstr(err, cases[c][0]) != NULL,
			  "%s: the line does not name the flag: [%s]", cases[c][0], err);
		free(out);
		free(err);
	}
}
