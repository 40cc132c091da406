/*
 * NOTIFY (RFC 1996, DESIGN §9.5) from the real binary to a secondary
 * played by this test: a UDP socket on 127.0.0.1 that reads the NOTIFY
 * messages with ldns and answers them (or not). A backend flip
 * (ahd-health-target) makes the publishes. Checked: a NOTIFY for every
 * zone with the served serial at start and after a flip, the resend after
 * about a second, the acknowledgement in `status`, the warning for an
 * error answer and the info line when the secondary acknowledges again,
 * a reload that moves the secondary, and the notifier's user and filter.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "notify.test"
#define ALIAS "alias-notify.test"
/* Generous for ASan and a loaded machine. */
#define WAIT_MS 8000
#define AHD_TEST_MAX_SENDS 8

TestSuite(notify, .timeout = 120);

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* The secondary. */

struct secondary {
	int fd;
	uint16_t port;
};

/* A plain TCP backend, or the test fails here. */
static pid_t start_target(uint16_t port)
{
	pid_t pid = sys_target_start(NULL, port, 0);

	cr_assert_gt(pid, 0, "the health target on port %u did not start", (unsigned)port);
	return pid;
}

static void secondary_open(struct secondary *sec)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sec->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(sec->fd, 0);
	cr_assert_eq(bind(sec->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(sec->fd, (struct sockaddr *)&a, &len), 0);
	sec->port = ntohs(a.sin_port);
}

/* One NOTIFY as received. */
struct got {
	ldns_pkt *pkt;
	char zone[256];   /* the question's name, no trailing dot */
	uint32_t serial;  /* of the SOA in the answer section */
	int64_t at_ms;
	struct sockaddr_storage from;
	socklen_t from_len;
	uint8_t wire[4096]; /* as received, for the TSIG check */
	size_t wire_len;
};

static void got_free(struct got *g)
{
	ldns_pkt_free(g->pkt);
	g->pkt = NULL;
}

/* The next NOTIFY within timeout_ms, checked as RFC 1996 wants it:
 * opcode NOTIFY, AA, QR clear, one question <zone> SOA IN, the zone's SOA
 * as the one answer. Returns 0, or -1 when nothing came. */
static int secondary_recv(struct secondary *sec, int timeout_ms, struct got *g)
{
	struct pollfd pfd = { .fd = sec->fd, .events = POLLIN };
	uint8_t buf[4096];
	ldns_rr *q, *soa;
	char *owner;
	ssize_t n;

	memset(g, 0, sizeof(*g));
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	g->from_len = sizeof(g->from);
	n = recvfrom(sec->fd, buf, sizeof(buf), 0, (struct sockaddr *)&g->from, &g->from_len);
	cr_assert_gt(n, 0);
	memcpy(g->wire, buf, (size_t)n);
	g->wire_len = (size_t)n;
	g->at_ms = sys_now_ms();
	cr_assert_eq(ldns_wire2pkt(&g->pkt, buf, (size_t)n), LDNS_STATUS_OK, "not DNS");
	cr_assert_eq(ldns_pkt_get_opcode(g->pkt), LDNS_PACKET_NOTIFY);
	cr_assert(ldns_pkt_aa(g->pkt), "AA clear");
	cr_assert(!ldns_pkt_qr(g->pkt), "QR set");
	cr_assert_eq(ldns_pkt_qdcount(g->pkt), 1);
	cr_assert_eq(ldns_pkt_ancount(g->pkt), 1);
	q = ldns_rr_list_rr(ldns_pkt_question(g->pkt), 0);
	cr_assert_eq(ldns_rr_get_type(q), LDNS_RR_TYPE_SOA);
	cr_assert_eq(ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
	owner = ldns_rdf2str(ldns_rr_owner(q));
	snprintf(g->zone, sizeof(g->zone), "%.*s", (int)strlen(owner) - 1, owner);
	free(owner);
	soa = ldns_rr_list_rr(ldns_pkt_answer(g->pkt), 0);
	cr_assert_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	cr_assert_eq(ldns_dname_compare(ldns_rr_owner(soa), ldns_rr_owner(q)), 0);
	g->serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	return 0;
}

/* The TSIG key of the signed tests (RFC 8945 test-style, 32 bytes). */
#define KEY_NAME "xfr-key."
#define KEY_SECRET "3pMfcL5ZbqSn9A0vEaxJbSpi+6bQaz6mFMuQ6hULoYw="
#define KEY_WRONG "Kx3+Q2rZC1hJ6bN0yU3m6tqCbqS5dNMOlVbm0NOVsBs="

/* Answer g as a secondary does: QR set, the question, no records;
 * signed with secret (NULL: unsigned) over g's MAC (RFC 8945 section
 * 5.3). */
static void secondary_answer_signed(struct secondary *sec, const struct got *g,
				    ldns_pkt_rcode rcode, const char *secret)
{
	ldns_pkt *p = ldns_pkt_clone(g->pkt);
	uint8_t *wire = NULL;
	size_t len = 0;

	cr_assert_not_null(p);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, rcode);
	ldns_rr_list_deep_free(ldns_pkt_answer(p));
	ldns_pkt_set_answer(p, ldns_rr_list_new());
	ldns_pkt_set_ancount(p, 0);
	if (ldns_pkt_tsig(p) != NULL) {
		ldns_rr_free(ldns_pkt_tsig(p));
		ldns_pkt_set_tsig(p, NULL);
	}
	if (secret != NULL) {
		const ldns_rr *t = ldns_pkt_tsig(g->pkt);

		cr_assert_not_null(t, "the NOTIFY is not signed");
		cr_assert_eq(ldns_pkt_tsig_sign(p, KEY_NAME, secret, 300, "hmac-sha256.",
						ldns_rr_rdf(t, 3)), LDNS_STATUS_OK);
	}
	cr_assert_eq(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	cr_assert_eq(sendto(sec->fd, wire, len, 0, (const struct sockaddr *)&g->from, g->from_len),
		     (ssize_t)len);
	free(wire);
	ldns_pkt_free(p);
}

static void secondary_answer(struct secondary *sec, const struct got *g, ldns_pkt_rcode rcode)
{
	secondary_answer_signed(sec, g, rcode, NULL);
}

/* The NOTIFY of both zones, each the first that came with a serial other
 * than skip (0: any; resends of an older serial may still be queued); the
 * others are dropped. Fails the test after WAIT_MS. */
static void secondary_both(struct secondary *sec, uint32_t skip, struct got out[2])
{
	int64_t end = sys_now_ms() + WAIT_MS;
	bool have[2] = { false, false };

	while (!have[0] || !have[1]) {
		struct got g;
		int i;
		int left = (int)(end - sys_now_ms());

		cr_assert(left > 0 && secondary_recv(sec, left, &g) == 0,
			  "no NOTIFY of a serial other than %u for %s within %d ms", skip,
			  !have[0] ? ZONE : ALIAS, WAIT_MS);
		i = strcmp(g.zone, ZONE) == 0 ? 0 : strcmp(g.zone, ALIAS) == 0 ? 1 : -1;
		cr_assert_geq(i, 0, "a NOTIFY for %s", g.zone);
		if (have[i] || (skip != 0 && g.serial == skip)) {
			got_free(&g);
			continue;
		}
		out[i] = g;
		have[i] = true;
	}
}

/* ------------------------------------------------------------------ */
/* The server. */

static void server_start_key(struct sys_server *s, uint16_t tport, const char *notify_flag,
			     const char *config, const char *key)
{
	char res[256];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--alias-zones", "[\"" ALIAS "\"]",
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", res,
		"--test-min-interval", "1",
		"--test-timeout", "1",
		"--workers", "1",
		"--user", "nobody",
		config != NULL ? "--config" : "--notify", config != NULL ? config : notify_flag,
		key != NULL ? "--tsig-key" : NULL, key,
		NULL,
	};

	snprintf(res, sizeof(res), "{\"www\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u}}",
		 (unsigned)tport);
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

static void server_start(struct sys_server *s, uint16_t tport, const char *notify_flag,
			 const char *config)
{
	server_start_key(s, tport, notify_flag, config, NULL);
}

static uint32_t soa_serial(uint16_t port, const char *zone)
{
	int64_t serial = sys_soa_serial(port, zone);

	cr_assert_geq(serial, 0, "no SOA of %s", zone);
	return (uint32_t)serial;
}

static struct json_object *status_json(uint16_t port)
{
	char why[512];
	struct json_object *o = sys_status_json(port, why, sizeof(why));

	cr_assert_not_null(o, "%s", why);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	return v;
}

/* Poll status until the one secondary, listed as text, acknowledged serial. */
static void wait_acked(uint16_t port, const char *text, uint32_t serial)
{
	int64_t end = sys_now_ms() + WAIT_MS;
	char last[1024] = "";

	do {
		struct json_object *o = status_json(port), *a = get(o, "secondaries"), *e;
		bool ok;

		cr_assert_eq(json_object_array_length(a), 1, "secondaries: %s",
			     json_object_to_json_string(a));
		e = json_object_array_get_idx(a, 0);
		snprintf(last, sizeof(last), "%s", json_object_to_json_string(e));
		cr_assert_str_eq(json_object_get_string(get(e, "address")), text);
		ok = json_object_get_boolean(get(e, "acknowledged")) &&
		     json_object_get_int64(get(e, "notified_serial")) == (int64_t)serial &&
		     json_object_get_int64(get(e, "acknowledged_serial")) == (int64_t)serial;
		json_object_put(o);
		if (ok)
			return;
		sys_sleep_ms(100);
	} while (sys_now_ms() < end);
	cr_assert_fail("serial %u not acknowledged in status: %s", serial, last);
}

/* Acknowledge every NOTIFY until status says the one secondary, listed
 * as text, acknowledged the serial served. */
static void ack_until(struct secondary *sec, uint16_t port, const char *text)
{
	int64_t end = sys_now_ms() + WAIT_MS;
	char last[1024] = "";

	do {
		struct json_object *o, *a, *e;
		struct got g;
		uint32_t serial;
		bool ok;

		while (secondary_recv(sec, 200, &g) == 0) {
			secondary_answer(sec, &g, LDNS_RCODE_NOERROR);
			got_free(&g);
		}
		serial = soa_serial(port, ZONE);
		o = status_json(port);
		a = get(o, "secondaries");
		cr_assert_eq(json_object_array_length(a), 1, "secondaries: %s",
			     json_object_to_json_string(a));
		e = json_object_array_get_idx(a, 0);
		snprintf(last, sizeof(last), "%s", json_object_to_json_string(e));
		cr_assert_str_eq(json_object_get_string(get(e, "address")), text);
		ok = json_object_get_boolean(get(e, "acknowledged")) &&
		     json_object_get_int64(get(e, "notified_serial")) == (int64_t)serial;
		json_object_put(o);
		if (ok)
			return;
	} while (sys_now_ms() < end);
	cr_assert_fail("the serial served was not acknowledged: %s", last);
}

static void notify_flag(char *buf, size_t cap, const struct secondary *sec)
{
	snprintf(buf, cap, "[\"127.0.0.1:%u\"]", (unsigned)sec->port);
}

/* ------------------------------------------------------------------ */

Test(notify, every_zone_resent_acknowledged_and_after_a_flip)
{
	struct secondary sec;
	struct sys_server s;
	struct got first[2], again, flip[2];
	char flag[64], text[32];
	uint16_t tport = sys_free_port();
	pid_t t = start_target(tport);
	uint32_t serial;
	int64_t gap;

	secondary_open(&sec);
	notify_flag(flag, sizeof(flag), &sec);
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)sec.port);
	server_start(&s, tport, flag, NULL);

	/* After start: both zones, the serial served. */
	secondary_both(&sec, 0, first);
	serial = soa_serial(s.port, ZONE);
	cr_expect_eq(first[0].serial, serial, "NOTIFY serial %u, SOA serial %u", first[0].serial,
		     serial);
	cr_expect_eq(first[1].serial, soa_serial(s.port, ALIAS));

	/* Unanswered: resent after about a second, same serial and ID. */
	do {
		cr_assert_eq(secondary_recv(&sec, WAIT_MS, &again), 0, "no resend");
		if (strcmp(again.zone, ZONE) == 0)
			break;
		got_free(&again);
	} while (true);
	gap = again.at_ms - first[0].at_ms;
	cr_expect(gap >= 800 && gap <= 3000, "resent after %lld ms", (long long)gap);
	cr_expect_eq(again.serial, serial);
	cr_expect_eq(ldns_pkt_id(again.pkt), ldns_pkt_id(first[0].pkt));
	secondary_answer(&sec, &again, LDNS_RCODE_NOERROR);
	secondary_answer(&sec, &first[1], LDNS_RCODE_NOERROR);
	wait_acked(s.port, text, serial);
	got_free(&again);
	got_free(&first[0]);
	got_free(&first[1]);

	/* A flip publishes a new serial: notified, acknowledged. */
	sys_target_stop(t);
	secondary_both(&sec, serial, flip);
	cr_expect_eq(flip[0].serial, soa_serial(s.port, ZONE));
	cr_expect_eq(flip[1].serial, flip[0].serial);
	secondary_answer(&sec, &flip[0], LDNS_RCODE_NOERROR);
	secondary_answer(&sec, &flip[1], LDNS_RCODE_NOERROR);
	wait_acked(s.port, text, flip[0].serial);
	got_free(&flip[0]);
	got_free(&flip[1]);

	/* The text status shows it too. */
	{
		char port_s[8], *out = NULL;
		const char *argv[] = { sys_bin(), "status", "--port", port_s, NULL };

		snprintf(port_s, sizeof(port_s), "%u", (unsigned)s.port);
		cr_assert_eq(sys_run(argv, 10000, &out, NULL), 0);
		cr_expect(strstr(out, "SECONDARY") != NULL && strstr(out, text) != NULL &&
			  strstr(out, "  yes  ") != NULL, "status:\n%s", out);
		cr_expect(strstr(out, "notifier: pid ") != NULL && strstr(out, ", 1 secondaries") != NULL,
			  "status:\n%s", out);
		free(out);
	}
	close(sec.fd);
	cr_assert_eq(sys_server_stop(&s), 0);
}

Test(notify, runs_as_the_user_under_its_filter)
{
	struct secondary sec;
	struct sys_server s;
	struct got g[2];
	char flag[64], buf[128], want[32];
	uint16_t tport = sys_free_port();
	pid_t t = start_target(tport), n;
	struct passwd *pw;

	if (geteuid() != 0)
		cr_skip_test("not root: cannot check the switch to another user");
	pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	secondary_open(&sec);
	notify_flag(flag, sizeof(flag), &sec);
	server_start(&s, tport, flag, NULL);
	secondary_both(&sec, 0, g);
	got_free(&g[0]);
	got_free(&g[1]);
	n = sys_find_child(s.pid, "notifier");
	cr_assert_gt(n, 0, "no notifier process");
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)pw->pw_uid, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
	cr_assert_eq(sys_proc_status(n, "Uid", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, want, "notifier Uid");
	cr_assert_eq(sys_proc_status(n, "CapEff", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0000000000000000");
	cr_assert_eq(sys_proc_status(n, "NoNewPrivs", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "1");
	cr_assert_eq(sys_proc_status(n, "Seccomp", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "2", "the notifier is not in seccomp filter mode");
	{
		char *log = sys_server_log(&s);

		cr_assert_not_null(log);
		cr_expect(strstr(log, "killed by signal") == NULL, "a child died:\n%s", log);
		free(log);
	}
	sys_target_stop(t);
	close(sec.fd);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* An error answer gives up at once with one warning; the secondary that
 * acknowledges the next publish gets one info line. */
Test(notify, refused_then_acknowledged_is_logged_once_each)
{
	struct secondary sec;
	struct sys_server s;
	struct got g[2];
	char flag[64], line[128];
	uint16_t tport = sys_free_port();
	pid_t t = start_target(tport);
	uint32_t serial;

	secondary_open(&sec);
	notify_flag(flag, sizeof(flag), &sec);
	server_start(&s, tport, flag, NULL);
	secondary_both(&sec, 0, g);
	serial = g[0].serial;
	secondary_answer(&sec, &g[0], LDNS_RCODE_REFUSED);
	secondary_answer(&sec, &g[1], LDNS_RCODE_REFUSED);
	got_free(&g[0]);
	got_free(&g[1]);
	snprintf(line, sizeof(line), "warning: secondary 127.0.0.1:%u answered NOTIFY for",
		 (unsigned)sec.port);
	cr_assert_eq(sys_server_wait_log(&s, line, WAIT_MS), 0, "no warning");
	{
		struct json_object *o = status_json(s.port);
		struct json_object *e = json_object_array_get_idx(get(o, "secondaries"), 0);

		cr_assert_not_null(e);
		cr_expect_str_eq(json_object_get_string(get(e, "result")), "REFUSED");
		cr_expect(!json_object_get_boolean(get(e, "acknowledged")));
		json_object_put(o);
	}
	sys_target_stop(t);
	secondary_both(&sec, serial, g);
	secondary_answer(&sec, &g[0], LDNS_RCODE_NOERROR);
	secondary_answer(&sec, &g[1], LDNS_RCODE_NOERROR);
	snprintf(line, sizeof(line), "info: secondary 127.0.0.1:%u acknowledged NOTIFY for serial %u "
		 "again", (unsigned)sec.port, g[0].serial);
	cr_assert_eq(sys_server_wait_log(&s, line, WAIT_MS), 0, "no line '%s'", line);
	got_free(&g[0]);
	got_free(&g[1]);
	{
		char *log = sys_server_log(&s);
		size_t warnings = 0;

		cr_assert_not_null(log);
		for (const char *p = log; (p = strstr(p, "answered NOTIFY")) != NULL; p++)
			warnings++;
		cr_expect_eq(warnings, 1, "one warning per secondary, not per zone or packet:\n%s",
			     log);
		free(log);
	}
	close(sec.fd);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* SIGHUP with a --config file that names another secondary: the new one is
 * notified and listed, without a restart of the server. */
Test(notify, reload_moves_the_secondary)
{
	struct secondary a, b;
	struct sys_server s;
	struct got g[2];
	char path[64], text[128];
	uint16_t tport = sys_free_port();
	pid_t t = start_target(tport), workers;
	int fd;

	secondary_open(&a);
	secondary_open(&b);
	strcpy(path, "/tmp/ahd-notify-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(text, sizeof(text), "{\"notify\": [\"127.0.0.1:%u\"]}", (unsigned)a.port);
	cr_assert_eq(sys_write_file(path, text), 0);
	server_start(&s, tport, NULL, path);
	secondary_both(&a, 0, g);
	got_free(&g[0]);
	got_free(&g[1]);
	workers = sys_find_child(s.pid, "worker 0");

	snprintf(text, sizeof(text), "{\"notify\": [\"127.0.0.1:%u\"]}", (unsigned)b.port);
	cr_assert_eq(sys_write_file(path, text), 0);
	cr_assert_eq(kill(s.pid, SIGHUP), 0);
	/* The reloaded prober publishes a new serial soon after the notifier
	 * restarted: answer everything until status shows the SOA's serial
	 * acknowledged by the new secondary, the only one listed. */
	secondary_both(&b, 0, g);
	got_free(&g[0]);
	got_free(&g[1]);
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)b.port);
	ack_until(&b, s.port, text);
	cr_expect_eq(sys_find_child(s.pid, "worker 0"), workers, "the worker was restarted");
	sys_target_stop(t);
	close(a.fd);
	close(b.fd);
	unlink(path);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* RFC 1996 section 3.6 as DESIGN §9.5 sets it: resent after 1, 2, 4, 8
 * and 16 s, then, 16 s later, one warning for the secondary (not one per
 * zone), and nothing more until the next publish. About 50 s. */
Test(notify, unanswered_backs_off_then_gives_up_once, .timeout = 150)
{
	static const int64_t want[] = { 1000, 2000, 4000, 8000, 16000 };
	struct secondary sec;
	struct sys_server s;
	struct got g;
	char flag[64], line[128];
	uint16_t tport = sys_free_port();
	pid_t t = start_target(tport);
	int64_t at[8], end, warned;
	size_t n = 0;

	secondary_open(&sec);
	notify_flag(flag, sizeof(flag), &sec);
	server_start(&s, tport, flag, NULL);
	end = sys_now_ms() + 60000;
	while (sys_now_ms() < end && secondary_recv(&sec, 20000, &g) == 0) {
		if (strcmp(g.zone, ZONE) == 0) {
			cr_assert_lt(n, AHD_TEST_MAX_SENDS, "more than 6 sends");
			at[n++] = g.at_ms;
		}
		got_free(&g);
	}
	cr_assert_eq(n, 6, "%zu sends of the hosted zone's NOTIFY, want 1 + 5 retries", n);
	for (size_t i = 1; i < n; i++) {
		int64_t gap = at[i] - at[i - 1];

		cr_expect(gap >= want[i - 1] - 200 && gap <= want[i - 1] + 1500,
			  "resend %zu after %lld ms, want %lld", i, (long long)gap,
			  (long long)want[i - 1]);
	}
	snprintf(line, sizeof(line), "warning: secondary 127.0.0.1:%u: no acknowledgement of NOTIFY",
		 (unsigned)sec.port);
	cr_assert_eq(sys_server_wait_log(&s, line, 5000), 0, "no warning");
	warned = sys_now_ms();
	cr_expect(warned - at[n - 1] >= 15000, "gave up %lld ms after the last send",
		  (long long)(warned - at[n - 1]));
	{
		char *log = sys_server_log(&s);
		size_t k = 0;

		cr_assert_not_null(log);
		for (const char *p = log; (p = strstr(p, "no acknowledgement of NOTIFY")) != NULL; p++)
			k++;
		cr_expect_eq(k, 1, "one warning per secondary:\n%s", log);
		free(log);
	}
	{
		struct json_object *o = status_json(s.port);
		struct json_object *e = json_object_array_get_idx(get(o, "secondaries"), 0);

		cr_assert_not_null(e);
		cr_expect_str_eq(json_object_get_string(get(e, "result")), "failed");
		cr_expect_eq(json_object_get_int64(get(e, "retries")), 5);
		json_object_put(o);
	}
	sys_target_stop(t);
	close(sec.fd);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* Whether the binary has --tsig-key (the flag comes with the replication
 * configuration). */
static bool have_tsig_flag(void)
{
	const char *argv[] = { sys_bin(), "--help", NULL };
	char *out = NULL;
	bool have;

	cr_assert_eq(sys_run(argv, 10000, &out, NULL), 0);
	have = out != NULL && strstr(out, "--tsig-key") != NULL;
	free(out);
	return have;
}

/* With --tsig-key every NOTIFY carries a TSIG that ldns verifies with the
 * key (and not with another), and only an answer signed with the key over
 * the NOTIFY's MAC acknowledges it. */
Test(notify, tsig_signed_and_only_signed_acks_count)
{
	struct secondary sec;
	struct sys_server s;
	struct got g[2], again;
	char flag[64], text[32], key[64];
	uint16_t tport;
	pid_t t;
	int fd;

	if (!have_tsig_flag())
		cr_skip_test("no --tsig-key in this build");
	strcpy(key, "/tmp/ahd-notify-key-XXXXXX");
	fd = mkstemp(key);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(sys_write_file(key, "hmac-sha256:" KEY_NAME ":" KEY_SECRET "\n"), 0);
	tport = sys_free_port();
	t = start_target(tport);
	secondary_open(&sec);
	notify_flag(flag, sizeof(flag), &sec);
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)sec.port);
	server_start_key(&s, tport, flag, NULL, key);
	secondary_both(&sec, 0, g);
	for (int i = 0; i < 2; i++) {
		cr_assert_not_null(ldns_pkt_tsig(g[i].pkt), "%s: no TSIG", g[i].zone);
		cr_expect(ldns_pkt_tsig_verify(g[i].pkt, g[i].wire, g[i].wire_len, KEY_NAME,
					       KEY_SECRET, NULL), "%s: the MAC does not verify",
			  g[i].zone);
		cr_expect(!ldns_pkt_tsig_verify(g[i].pkt, g[i].wire, g[i].wire_len, KEY_NAME,
						KEY_WRONG, NULL), "%s: verifies with another key",
			  g[i].zone);
	}
	/* Signed with another key, or not at all: not an acknowledgement. */
	secondary_answer_signed(&sec, &g[0], LDNS_RCODE_NOERROR, KEY_WRONG);
	secondary_answer(&sec, &g[1], LDNS_RCODE_NOERROR);
	do {
		cr_assert_eq(secondary_recv(&sec, WAIT_MS, &again), 0, "no resend");
		if (strcmp(again.zone, ZONE) == 0)
			break;
		got_free(&again);
	} while (true);
	/* Byte for byte, MAC included: an ack of any send verifies. */
	cr_expect(again.wire_len == g[0].wire_len &&
		  memcmp(again.wire, g[0].wire, again.wire_len) == 0, "not resent as it was");
	secondary_answer_signed(&sec, &g[0], LDNS_RCODE_NOERROR, KEY_SECRET);
	secondary_answer_signed(&sec, &g[1], LDNS_RCODE_NOERROR, KEY_SECRET);
	wait_acked(s.port, text, g[0].serial);
	got_free(&again);
	got_free(&g[0]);
	got_free(&g[1]);
	sys_target_stop(t);
	close(sec.fd);
	unlink(key);
	cr_assert_eq(sys_server_stop(&s), 0);
}

/* A notifier killed by its filter (the test hook of proc.h makes it call
 * execve) is restarted like any child, and the new one notifies the serial
 * served: a secondary that missed a publish meanwhile still hears of it. */
Test(notify, killed_notifier_restarts_and_notifies_again)
{
	struct secondary sec;
	struct sys_server s;
	struct got g[2];
	char flag[64], line[128];
	uint16_t tport = sys_free_port();
	pid_t t = start_target(tport), n, fresh = 0;
	uint32_t serial;
	int64_t end;

	setenv("AHD_TEST_SECCOMP_PROBE", "execve", 1);
	secondary_open(&sec);
	notify_flag(flag, sizeof(flag), &sec);
	server_start(&s, tport, flag, NULL);
	secondary_both(&sec, 0, g);
	serial = g[0].serial;
	secondary_answer(&sec, &g[0], LDNS_RCODE_NOERROR);
	secondary_answer(&sec, &g[1], LDNS_RCODE_NOERROR);
	got_free(&g[0]);
	got_free(&g[1]);
	n = sys_find_child(s.pid, "notifier");
	cr_assert_gt(n, 0);
	cr_assert_eq(kill(n, SIGUSR1), 0);
	snprintf(line, sizeof(line), "notifier (pid %d) killed by signal %d", (int)n, SIGSYS);
	cr_assert_eq(sys_server_wait_log(&s, line, WAIT_MS), 0, "no SIGSYS death logged");
	end = sys_now_ms() + WAIT_MS;
	while (sys_now_ms() < end && (fresh == 0 || fresh == n)) {
		fresh = sys_find_child(s.pid, "notifier");
		sys_sleep_ms(20);
	}
	cr_assert(fresh != 0 && fresh != n, "no new notifier");
	/* Whatever came before the death is stale: take the new ones. */
	secondary_both(&sec, 0, g);
	cr_expect_eq(g[0].serial, serial);
	cr_expect_eq(g[0].serial, soa_serial(s.port, ZONE));
	got_free(&g[0]);
	got_free(&g[1]);
	sys_target_stop(t);
	close(sec.fd);
	cr_assert_eq(sys_server_stop(&s), 0);
}
