/*
 * DESIGN §4, SIGHUP: the supervisor re-reads the --config file. A
 * valid change reaches the answers while a query loop (UDP, one query
 * every 2 ms) sees no failure and no timeout; a broken file, or a change
 * that needs a restart, is refused with one log line and the old zone
 * keeps serving.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "reload.test"
#define NS "\"ns\": [\"ns1." ZONE "\", \"ns2." ZONE "\"]"
#define CHANGE_MS 10000

TestSuite(reload, .timeout = 120);

static char cfg_path[128];

static void write_config(const char *json)
{
	char tmp[160];
	FILE *f;

	if (cfg_path[0] == '\0')
		snprintf(cfg_path, sizeof(cfg_path), "/tmp/ahd-test-reload.%d.json", (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg_path);
	f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fputs(json, f);
	cr_assert_eq(fclose(f), 0);
	/* Whole or not at all: the server may read it at any time. */
	cr_assert_eq(rename(tmp, cfg_path), 0);
}

static const char *config_a =
	"{\"hosted-zone\": \"" ZONE "\", " NS ", \"test-min-interval\": 1, "
	"\"test-timeout\": 1, \"workers\": 2, "
	"\"zone-resolutions\": {\"www\": [\"192.0.2.1\"], \"keep\": [\"192.0.2.9\"]}}";
static const char *config_b =
	"{\"hosted-zone\": \"" ZONE "\", " NS ", \"test-min-interval\": 1, "
	"\"test-timeout\": 1, \"workers\": 2, "
	"\"zone-resolutions\": {\"www\": [\"192.0.2.2\"], \"keep\": [\"192.0.2.9\"], "
	"\"new\": [\"198.51.100.7\"]}}";

static void server_start(struct sys_server *s)
{
	/* Debug: the prober logs each check round (wait_rounds). */
	const char *args[] = { "--config", cfg_path, "--log-level", "debug", NULL };

	write_config(config_a);
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

static void a_text(uint16_t port, const char *name, char *out, size_t cap)
{
	ldns_pkt *p = sys_query(port, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	ldns_rr_list *an;

	out[0] = '\0';
	if (p == NULL) {
		snprintf(out, cap, "(no reply)");
		return;
	}
	an = ldns_pkt_answer(p);
	if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR)
		snprintf(out, cap, "(rcode %d)", (int)ldns_pkt_get_rcode(p));
	else if (an != NULL && ldns_rr_list_rr_count(an) == 1) {
		char *t = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0));

		snprintf(out, cap, "%s", t);
		free(t);
	}
	ldns_pkt_free(p);
}

static void wait_a(uint16_t port, const char *name, const char *want)
{
	char got[128] = "";
	int64_t end = sys_now_ms() + CHANGE_MS;

	do {
		a_text(port, name, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return;
		sys_sleep_ms(50);
	} while (sys_now_ms() < end);
	cr_assert_fail("%s: want A %s, still %s after %d ms", name, want, got, CHANGE_MS);
}

static uint32_t soa_serial(uint16_t port)
{
	int64_t serial = sys_soa_serial(port, ZONE);

	cr_assert_geq(serial, 0, "no SOA reply with one SOA record");
	return (uint32_t)serial;
}

/*
 * The query loop: one A query for www every 2 ms on one UDP socket, each
 * waited for up to 1 s. Anything but a NOERROR answer holding 192.0.2.1
 * or 192.0.2.2 counts as a failure.
 */
struct loop {
	uint16_t port;
	atomic_bool stop;
	/* Atomic: the test waits on them while the loop counts. */
	atomic_ullong sent;
	atomic_ullong failed;
	atomic_ullong seen_old;
	atomic_ullong seen_new;
	char first_failure[128];
};

static void loop_fail(struct loop *l, const char *why)
{
	if (l->failed++ == 0)
		snprintf(l->first_failure, sizeof(l->first_failure), "query %llu: %s",
			 (unsigned long long)l->sent, why);
}

static void *loop_run(void *arg)
{
	struct loop *l = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(l->port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ldns_rdf *name = ldns_dname_new_frm_str("www." ZONE);
	uint16_t id = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || name == NULL || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		loop_fail(l, "socket setup");
		return NULL;
	}
	while (!atomic_load(&l->stop)) {
		ldns_pkt *q = ldns_pkt_query_new(ldns_rdf_clone(name), LDNS_RR_TYPE_A,
						 LDNS_RR_CLASS_IN, 0);
		uint8_t *wire = NULL, resp[1500];
		size_t wlen = 0;
		ssize_t n = -1;
		ldns_pkt *r = NULL;
		int64_t end = sys_now_ms() + 1000;

		ldns_pkt_set_id(q, ++id);
		ldns_pkt2wire(&wire, q, &wlen);
		l->sent++;
		if (send(fd, wire, wlen, 0) != (ssize_t)wlen) {
			loop_fail(l, "send");
		} else {
			/* Skip a late reply to an earlier query. */
			for (;;) {
				struct pollfd pfd = { .fd = fd, .events = POLLIN };
				int left = (int)(end - sys_now_ms());

				if (left <= 0 || poll(&pfd, 1, left) != 1) {
					n = -1;
					break;
				}
				n = recv(fd, resp, sizeof(resp), 0);
				if (n >= 2 && ((resp[0] << 8) | resp[1]) == id)
					break;
			}
			if (n < 0) {
				loop_fail(l, "timeout");
			} else if (ldns_wire2pkt(&r, resp, (size_t)n) != LDNS_STATUS_OK) {
				loop_fail(l, "unparsable reply");
			} else if (ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR ||
				   ldns_rr_list_rr_count(ldns_pkt_answer(r)) != 1) {
				loop_fail(l, "not one A record");
			} else {
				char *t = ldns_rdf2str(
					ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));

				if (strcmp(t, "192.0.2.1") == 0)
					l->seen_old++;
				else if (strcmp(t, "192.0.2.2") == 0)
					l->seen_new++;
				else
					loop_fail(l, t);
				free(t);
			}
		}
		ldns_pkt_free(r);
		LDNS_FREE(wire);
		ldns_pkt_free(q);
		sys_sleep_ms(2);
	}
	ldns_rdf_deep_free(name);
	close(fd);
	return NULL;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

#define ROUND_LOG "prober: round "

/* Wait until the prober has finished n more check rounds than the log
 * shows now: the event after which a change that was going to reach the
 * image would have (each round publishes what changed). */
static void wait_rounds(const struct sys_server *s, size_t n)
{
	char *log = sys_server_log(s);
	size_t want;
	int64_t end = sys_now_ms() + CHANGE_MS;

	cr_assert_not_null(log);
	want = count(log, ROUND_LOG) + n;
	free(log);
	for (;;) {
		size_t have;

		log = sys_server_log(s);
		have = log != NULL ? count(log, ROUND_LOG) : 0;
		free(log);
		if (have >= want)
			return;
		cr_assert_lt(sys_now_ms(), end, "%zu of %zu check rounds after %d ms", have,
			     want, CHANGE_MS);
		sys_sleep_ms(20);
	}
}

/* Wait until the query loop has counted more than n in *counter. */
static void wait_count(const atomic_ullong *counter, unsigned long long n, const char *what)
{
	int64_t end = sys_now_ms() + CHANGE_MS;

	while (atomic_load(counter) <= n) {
		cr_assert_lt(sys_now_ms(), end, "fewer than %llu %s after %d ms", n + 1, what,
			     CHANGE_MS);
		sys_sleep_ms(10);
	}
}

Test(reload, sighup_changes_answers_without_dropping_a_query)
{
	struct sys_server s;
	struct loop l = { 0 };
	pthread_t t;
	uint32_t s0, s1;
	char got[128];
	char *log;

	server_start(&s);
	wait_a(s.port, "www." ZONE, "192.0.2.1");
	a_text(s.port, "new." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "(rcode 3)", "new." ZONE " must not exist yet: %s", got);
	s0 = soa_serial(s.port);

	l.port = s.port;
	cr_assert_eq(pthread_create(&t, NULL, loop_run, &l), 0);
	wait_count(&l.seen_old, 10, "old answers before the reload");
	write_config(config_b);
	cr_assert_eq(kill(s.pid, SIGHUP), 0);
	wait_a(s.port, "www." ZONE, "192.0.2.2");
	wait_count(&l.seen_new, 10, "new answers after the reload");
	atomic_store(&l.stop, true);
	pthread_join(t, NULL);

	cr_assert_eq(l.failed, 0, "%llu of %llu queries failed; first: %s",
		     (unsigned long long)l.failed, (unsigned long long)l.sent, l.first_failure);
	cr_assert_gt(l.seen_old, 10, "the loop ran before the reload");
	cr_assert_gt(l.seen_new, 10, "the loop ran after the reload");
	a_text(s.port, "new." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "198.51.100.7");
	a_text(s.port, "keep." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "192.0.2.9");
	s1 = soa_serial(s.port);
	cr_assert(s1 != s0 && (uint32_t)(s1 - s0) < 0x80000000u, "serial %u -> %u must grow",
		  s0, s1);
	log = sys_server_log(&s);
	cr_assert_not_null(strstr(log, "reload"), "%s", log);
	free(log);
	cr_assert_eq(sys_server_stop(&s), 0);
	unlink(cfg_path);
}

Test(reload, broken_file_keeps_the_old_zone)
{
	struct sys_server s;
	struct loop l = { 0 };
	pthread_t t;
	char got[128];
	char *log;

	server_start(&s);
	wait_a(s.port, "www." ZONE, "192.0.2.1");
	l.port = s.port;
	cr_assert_eq(pthread_create(&t, NULL, loop_run, &l), 0);

	/* Not JSON at all. */
	write_config("{\"hosted-zone\": \"" ZONE "\", ");
	cr_assert_eq(kill(s.pid, SIGHUP), 0);
	cr_assert_eq(sys_server_wait_log(&s, "reload refused", 5000), 0,
		     "no log line about the refused reload");
	/* Valid JSON, invalid value: the line names it. */
	write_config("{\"hosted-zone\": \"" ZONE "\", " NS ", \"test-min-interval\": 1, "
		     "\"test-timeout\": 1, \"workers\": 2, "
		     "\"zone-resolutions\": {\"www\": [\"192.0.2.300\"]}}");
	cr_assert_eq(kill(s.pid, SIGHUP), 0);
	cr_assert_eq(sys_server_wait_log(&s, "192.0.2.300", 5000), 0,
		     "the refusal does not name the bad address");
	/* Two check rounds after the refusal: nothing may have changed. */
	wait_rounds(&s, 2);
	wait_count(&l.seen_old, 100, "answers from the loop");
	atomic_store(&l.stop, true);
	pthread_join(t, NULL);

	cr_assert_eq(l.failed, 0, "%llu of %llu queries failed; first: %s",
		     (unsigned long long)l.failed, (unsigned long long)l.sent, l.first_failure);
	cr_assert_eq(l.seen_new, 0);
	cr_assert_gt(l.seen_old, 100);
	a_text(s.port, "keep." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "192.0.2.9");
	log = sys_server_log(&s);
	/* One line per refusal, and the server did not stop or restart. */
	cr_assert_eq(count(log, "reload refused"), 2, "%s", log);
	cr_assert_null(strstr(log, "restarting in"), "%s", log);
	free(log);
	cr_assert_eq(sys_server_stop(&s), 0);
	unlink(cfg_path);
}

/* A reload with extra (JSON members before the zone) that needs a
 * restart: refused with one line naming `named`, the old zone serving. */
static void expect_refused(const char *extra, const char *named)
{
	struct sys_server s;
	char got[128];
	char cfg[512];
	char *log;

	server_start(&s);
	wait_a(s.port, "www." ZONE, "192.0.2.1");
	snprintf(cfg, sizeof(cfg),
		 "{\"hosted-zone\": \"" ZONE "\", " NS ", \"test-min-interval\": 1, "
		 "\"test-timeout\": 1, %s, \"zone-resolutions\": {\"www\": [\"192.0.2.2\"]}}",
		 extra);
	write_config(cfg);
	cr_assert_eq(kill(s.pid, SIGHUP), 0);
	cr_assert_eq(sys_server_wait_log(&s, "needs a restart", 5000), 0,
		     "no log line about the restart");
	wait_rounds(&s, 2);
	a_text(s.port, "www." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "192.0.2.1", "the old configuration keeps serving");
	log = sys_server_log(&s);
	cr_assert_not_null(strstr(log, named), "the line names what changed: %s", log);
	free(log);
	cr_assert_eq(sys_server_stop(&s), 0);
	unlink(cfg_path);
}

Test(reload, change_needing_a_restart_is_refused)
{
	/* Three workers instead of two, and a new address. */
	expect_refused("\"workers\": 3", "workers");
}

/* --xdp is attached at start-up (DESIGN §14.4): a reload that turns it
 * on is refused, naming it, and the old zone keeps serving. */
Test(reload, xdp_change_is_refused)
{
	expect_refused("\"xdp\": \"lo\"", "xdp changed");
}
