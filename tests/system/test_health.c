/*
 * DESIGN §3 with the real binary: health-checked addresses follow
 * local backends (ahd-health-target from AHD_TOOLS) on loopback, with
 * --test-min-interval 1 --test-timeout 1, so a change must show within
 * about 2 s (we allow 6 s for ASan and a loaded machine).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "health.test"
#define CHANGE_MS 6000


/* The A addresses of name, sorted, comma-separated ("" when none). */
/* A backend, or the test fails here. */
static pid_t start_target(uint16_t port, int http_status)
{
	pid_t pid = sys_target_start(NULL, port, http_status);

	cr_assert_gt(pid, 0, "the health target on port %u did not start", (unsigned)port);
	return pid;
}

static void a_set(uint16_t port, const char *name, char *out, size_t cap)
{
	ldns_pkt *p = sys_query(port, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	ldns_rr_list *an;
	char *addrs[32];
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL) {
		snprintf(out, cap, "(no reply)");
		return;
	}
	an = ldns_pkt_answer(p);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an) && n < 32; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A)
			addrs[n++] = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	}
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0 && strcmp(addrs[j - 1], addrs[j]) > 0; j--) {
			char *t = addrs[j];

			addrs[j] = addrs[j - 1];
			addrs[j - 1] = t;
		}
	}
	for (size_t i = 0; i < n; i++) {
		strncat(out, addrs[i], cap - strlen(out) - 1);
		if (i + 1 < n)
			strncat(out, ",", cap - strlen(out) - 1);
		free(addrs[i]);
	}
	ldns_pkt_free(p);
}

/* Poll until name's A set is want; fails the test with what was seen. */
static void wait_a(uint16_t port, const char *name, const char *want)
{
	char got[512] = "";
	int64_t end = sys_now_ms() + CHANGE_MS;

	do {
		a_set(port, name, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return;
		sys_sleep_ms(100);
	} while (sys_now_ms() < end);
	cr_assert_fail("%s: want A {%s}, still {%s} after %d ms", name, want, got, CHANGE_MS);
}

static uint32_t soa_serial(uint16_t port)
{
	int64_t serial = sys_soa_serial(port, ZONE);

	cr_assert_geq(serial, 0, "no SOA reply with one SOA record");
	return (uint32_t)serial;
}

/* RFC 1982 "s1 < s2" for 32-bit serials. */
static bool serial_lt(uint32_t s1, uint32_t s2)
{
	return s1 != s2 && (uint32_t)(s2 - s1) < 0x80000000u;
}

static void server_start(struct sys_server *s, const char *resolutions)
{
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", resolutions,
		"--test-min-interval", "1",
		"--test-timeout", "1",
		"--workers", "1",
		NULL,
	};

	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

TestSuite(health, .timeout = 60);

Test(health, tcp_address_follows_its_listener)
{
	struct sys_server s;
	uint16_t tport = sys_free_port();
	char res[512], got[256];
	uint32_t s0, s1, s2;
	pid_t t = start_target(tport, 0);

	snprintf(res, sizeof(res),
		 "{\"www\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"], \"health_port\": %u},"
		 " \"static\": [\"192.0.2.1\"]}", (unsigned)tport);
	server_start(&s, res);
	/* Start-up gate: the very first answers already reflect health
	 * (127.0.0.2 has no listener: refused). */
	a_set(s.port, "www." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "127.0.0.1");
	s0 = soa_serial(s.port);

	sys_target_stop(t);
	wait_a(s.port, "www." ZONE, "");
	a_set(s.port, "static." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "192.0.2.1", "static addresses are never withdrawn");
	s1 = soa_serial(s.port);
	cr_assert(serial_lt(s0, s1), "serial %u -> %u must grow", s0, s1);

	t = start_target(tport, 0);
	wait_a(s.port, "www." ZONE, "127.0.0.1");
	s2 = soa_serial(s.port);
	cr_assert(serial_lt(s1, s2), "serial %u -> %u must grow", s1, s2);

	{
		char *log = sys_server_log(&s);

		cr_assert_not_null(log);
		cr_assert_not_null(strstr(log, "www." ZONE " 127.0.0.1 port"), "log:\n%s", log);
		cr_assert_not_null(strstr(log, "up -> down (refused)"), "log:\n%s", log);
		cr_assert_not_null(strstr(log, "down -> up (connected)"), "log:\n%s", log);
		free(log);
	}
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* The SOA of the apex as an answer: its TTL and MINIMUM. */
static void apex_soa(uint16_t port, uint32_t *ttl, uint32_t *minimum)
{
	ldns_pkt *p = sys_query(port, ZONE, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, false);
	ldns_rr *soa;

	cr_assert_not_null(p, "no SOA reply");
	cr_assert_eq(ldns_pkt_ancount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	cr_assert_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	*ttl = ldns_rr_ttl(soa);
	*minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
	ldns_pkt_free(p);
}

/* A name whose every address is withdrawn leaves the zone, as in the
 * original: NXDOMAIN for every type, with the SOA whose TTL resolvers
 * cache the absence for (RFC 2308 section 5: min(SOA TTL, MINIMUM); with
 * an interval of 1 s the man page's rule gives MINIMUM 2 s, SOA TTL 60 s,
 * so 2 s). It answers again once an address is back. */
Test(health, withdrawn_name_answers_nxdomain_with_the_negative_ttl)
{
	static const ldns_rr_type types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_TXT};
	struct sys_server s;
	uint16_t tport = sys_free_port();
	char res[512];
	uint32_t soa_ttl, minimum;
	pid_t t = start_target(tport, 0);

	snprintf(res, sizeof(res),
		 "{\"www\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u},"
		 " \"static\": [\"192.0.2.1\"]}", (unsigned)tport);
	server_start(&s, res);
	wait_a(s.port, "www." ZONE, "127.0.0.1");
	apex_soa(s.port, &soa_ttl, &minimum);
	cr_assert_eq(minimum, 2);
	cr_assert_eq(soa_ttl, 60);

	sys_target_stop(t);
	wait_a(s.port, "www." ZONE, "");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ldns_pkt *p = sys_query(s.port, "www." ZONE, types[i], LDNS_RR_CLASS_IN, false);
		ldns_rr *soa;

		cr_assert_not_null(p, "no reply");
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "type %d: rcode %d",
			     (int)types[i], (int)ldns_pkt_get_rcode(p));
		cr_expect(ldns_pkt_aa(p));
		cr_expect_eq(ldns_pkt_ancount(p), 0);
		cr_assert_eq(ldns_pkt_nscount(p), 1);
		soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
		cr_assert_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
		cr_expect_eq(ldns_rr_ttl(soa), soa_ttl < minimum ? soa_ttl : minimum,
			     "negative TTL %u", ldns_rr_ttl(soa));
		ldns_pkt_free(p);
	}
	/* The rest of the zone is untouched. */
	{
		ldns_pkt *p = sys_query(s.port, "static." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					false);

		cr_assert_not_null(p);
		cr_expect_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		cr_expect_eq(ldns_pkt_ancount(p), 1);
		ldns_pkt_free(p);
	}
	t = start_target(tport, 0);
	wait_a(s.port, "www." ZONE, "127.0.0.1");
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}

Test(health, http_check_follows_status_code)
{
	struct sys_server s;
	uint16_t tport = sys_free_port();
	char res[512], got[256];
	pid_t t = start_target(tport, 200);

	snprintf(res, sizeof(res),
		 "{\"api\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u,"
		 " \"check\": \"http\", \"http_path\": \"/healthz\"}}", (unsigned)tport);
	server_start(&s, res);
	a_set(s.port, "api." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "127.0.0.1");

	kill(t, SIGUSR1); /* the target answers 503 from now on */
	wait_a(s.port, "api." ZONE, "");
	kill(t, SIGUSR2); /* back to 200 */
	wait_a(s.port, "api." ZONE, "127.0.0.1");
	{
		char *log = sys_server_log(&s);

		cr_assert_not_null(strstr(log, "up -> down (HTTP status 503)"), "log:\n%s", log);
		cr_assert_not_null(strstr(log, "down -> up (HTTP 200)"), "log:\n%s", log);
		free(log);
	}
	sys_target_stop(t);
	cr_assert_eq(sys_server_stop(&s), 0);
}

Test(health, serve_all_publishes_every_address_when_all_are_down)
{
	struct sys_server s;
	uint16_t dead = sys_free_port(), live = sys_free_port();
	char res[512], got[256];
	pid_t t;

	while (live == dead)
		live = sys_free_port();
	snprintf(res, sizeof(res),
		 "{\"open\": {\"ips\": [\"127.0.0.2\", \"127.0.0.3\"], \"health_port\": %u,"
		 " \"all_down\": \"serve_all\"},"
		 " \"shut\": {\"ips\": [\"127.0.0.2\", \"127.0.0.3\"], \"health_port\": %u},"
		 " \"mixed\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"], \"health_port\": %u,"
		 " \"all_down\": \"serve_all\"}}",
		 (unsigned)dead, (unsigned)dead, (unsigned)live);
	t = start_target(live, 0);
	server_start(&s, res);
	a_set(s.port, "open." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "127.0.0.2,127.0.0.3", "serve_all fails open");
	a_set(s.port, "shut." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "", "withdraw (the default) publishes nothing");
	/* One address up: only it is served, even with serve_all. */
	a_set(s.port, "mixed." ZONE, got, sizeof(got));
	cr_assert_str_eq(got, "127.0.0.1");
	sys_target_stop(t);
	wait_a(s.port, "mixed." ZONE, "127.0.0.1,127.0.0.2");
	cr_assert_eq(sys_server_stop(&s), 0);
}

Test(health, killed_prober_does_not_stop_answers_and_comes_back)
{
	struct sys_server s;
	uint16_t tport = sys_free_port();
	char res[512], got[256];
	pid_t t = start_target(tport, 0), prober, again = 0;
	int64_t end;

	snprintf(res, sizeof(res),
		 "{\"www\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u}}", (unsigned)tport);
	server_start(&s, res);
	prober = sys_find_child(s.pid, "prober");
	cr_assert_gt(prober, 0, "no prober child found");
	cr_assert_eq(kill(prober, SIGKILL), 0);

	/* The image outlives its writer: workers keep answering. */
	for (int i = 0; i < 10; i++) {
		a_set(s.port, "www." ZONE, got, sizeof(got));
		cr_assert_str_eq(got, "127.0.0.1", "answer %d after kill -9", i);
		sys_sleep_ms(20);
	}
	end = sys_now_ms() + 10000;
	while (sys_now_ms() < end) {
		again = sys_find_child(s.pid, "prober");
		if (again > 0 && again != prober)
			break;
		sys_sleep_ms(100);
	}
	cr_assert(again > 0 && again != prober, "the prober was not restarted");
	/* And the new one really checks. */
	sys_target_stop(t);
	wait_a(s.port, "www." ZONE, "");
	cr_assert_eq(sys_server_stop(&s), 0);
}
