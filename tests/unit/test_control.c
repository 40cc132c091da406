/*
 * The control protocol (control_proto.c): request lines, override
 * records and name/address lookup. Expected values are written out by
 * hand from the grammar in control.h.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "control.h"

static struct control_req parse_ok(const char *line)
{
	struct control_req rq;
	char err[200] = "";

	cr_assert_eq(control_req_parse(line, strlen(line), &rq, err, sizeof(err)), 0,
		     "'%s': %s", line, err);
	return rq;
}

static void parse_bad(const char *line, size_t len, const char *why)
{
	struct control_req rq;
	char err[200] = "";

	cr_assert_eq(control_req_parse(line, len, &rq, err, sizeof(err)), -1, "'%s' parsed", line);
	cr_expect(strstr(err, why) != NULL, "'%s': '%s' not in '%s'", line, why, err);
}

Test(control, requests)
{
	struct control_req rq = parse_ok("status");

	cr_expect_eq(rq.verb, CONTROL_STATUS);
	rq = parse_ok("status-json");
	cr_expect_eq(rq.verb, CONTROL_STATUS_JSON);
	rq = parse_ok("drain\twww");
	cr_expect_eq(rq.verb, CONTROL_DRAIN);
	cr_expect_str_eq(rq.name, "www");
	cr_expect_str_eq(rq.addr, "");
	cr_expect_str_eq(rq.reason, "");
	rq = parse_ok("drain\twww.example.test.\t192.0.2.1\tkernel upgrade, back at 10");
	cr_expect_str_eq(rq.name, "www.example.test.");
	cr_expect_str_eq(rq.addr, "192.0.2.1");
	cr_expect_str_eq(rq.reason, "kernel upgrade, back at 10");
	rq = parse_ok("drain\tapi\t\tall of them");
	cr_expect_str_eq(rq.addr, "");
	cr_expect_str_eq(rq.reason, "all of them");
	rq = parse_ok("undrain\tapi\t2001:db8::1");
	cr_expect_eq(rq.verb, CONTROL_UNDRAIN);
	cr_expect_str_eq(rq.addr, "2001:db8::1");
	rq = parse_ok("force-up\tapi\t2001:db8::1\tcheck is broken");
	cr_expect_eq(rq.verb, CONTROL_FORCE_UP);
	cr_expect_str_eq(rq.reason, "check is broken");
}

Test(control, bad_requests)
{
	static const struct {
		const char *line;
		size_t len;
		const char *why;
	} bad[] = {
		{ "", 0, "unknown command" },
		{ "reboot", 6, "unknown command" },
		{ "Drain\twww", 9, "unknown command" },
		{ "status\tx", 8, "wrong number of arguments" },
		{ "drain", 5, "wrong number of arguments" },
		{ "undrain\twww\t192.0.2.1\treason", 27, "wrong number of arguments" },
		{ "drain\twww\t192.0.2.1\tr\textra", 26, "malformed request" },
		{ "drain\t\t192.0.2.1", 16, "the name is empty" },
		{ "force-up\twww", 12, "wrong number of arguments" },
		{ "force-up\twww\t", 13, "an address is required" },
		{ "drain\tw\nw", 9, "malformed request" },
		{ "drain\tw\0w", 9, "malformed request" },
		{ "drain\tw\x7f", 8, "malformed request" },
	};
	char big[CONTROL_REASON_MAX + 40];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i].line, bad[i].len, bad[i].why);
	strcpy(big, "drain\twww\t\t");
	memset(big + 11, 'r', CONTROL_REASON_MAX + 1);
	big[11 + CONTROL_REASON_MAX + 1] = '\0';
	parse_bad(big, strlen(big), "reason is longer than 200 bytes");
}

Test(control, format_round_trips)
{
	struct control_req rq = { .verb = CONTROL_DRAIN }, back;
	char line[CONTROL_LINE_MAX + 1], err[100];
	int n;

	strcpy(rq.name, "www");
	strcpy(rq.addr, "192.0.2.1");
	strcpy(rq.reason, "maintenance window");
	n = control_req_format(&rq, line, sizeof(line));
	cr_assert_str_eq(line, "drain\twww\t192.0.2.1\tmaintenance window\n");
	cr_assert_eq(n, (int)strlen(line));
	cr_assert_eq(control_req_parse(line, (size_t)n - 1, &back, err, sizeof(err)), 0);
	cr_expect_str_eq(back.reason, "maintenance window");
	rq.verb = CONTROL_UNDRAIN;
	control_req_format(&rq, line, sizeof(line));
	cr_expect_str_eq(line, "undrain\twww\t192.0.2.1\n");
	rq.verb = CONTROL_STATUS_JSON;
	control_req_format(&rq, line, sizeof(line));
	cr_expect_str_eq(line, "status-json\n");
	strcpy(rq.reason, "tab\there");
	rq.verb = CONTROL_DRAIN;
	cr_expect_eq(control_req_format(&rq, line, sizeof(line)), -1);
	cr_expect(!control_reason_ok("new\nline"));
	cr_expect(control_reason_ok("plain words, 100% fine"));
}

static void count_rec(const struct control_record *r, void *arg)
{
	struct control_record *last = arg;

	*last = *r;
	last[1].uid++;
}

Test(control, records)
{
	struct control_record r = { .admin = HEALTH_ADMIN_FORCED_UP, .when = 1796658818,
				    .uid = 0, .pid = 4242 }, got[2];
	char buf[512] = "# comment\n\n";
	size_t len = strlen(buf), bad;

	strcpy(r.name, "api.example.test");
	strcpy(r.addr, "2001:db8::1");
	strcpy(r.reason, "broken check");
	cr_assert_eq(control_record_format(&r, buf, sizeof(buf), &len), 0);
	cr_assert_str_eq(buf, "# comment\n\nforce-up\tapi.example.test\t2001:db8::1\t1796658818\t0"
			      "\t4242\tbroken check\n");
	strcat(buf, "drain\tx\t192.0.2.1\tnot-a-time\t0\t1\tr\n");
	strcat(buf, "drain\twww\t192.0.2.1\t1\t2\t3\t\n");
	memset(got, 0, sizeof(got));
	bad = control_records_each(buf, strlen(buf), count_rec, got);
	cr_expect_eq(bad, 1);
	cr_expect_eq(got[1].uid, 2, "two records parsed");
	cr_expect_eq(got[0].admin, HEALTH_ADMIN_DRAINED);
	cr_expect_str_eq(got[0].name, "www");
	cr_expect_eq(got[0].when, 1);
	cr_expect_eq(got[0].uid, 2);
	cr_expect_eq(got[0].pid, 3);
	cr_expect_str_eq(got[0].reason, "");
	cr_expect_eq(control_record_parse("drain\twww\t\t1\t2\t3\tr", 19, &r), -1, "no address");
	cr_expect_eq(control_record_parse("undrain\twww\t1.2.3.4\t1\t2\t3\tr", 27, &r), -1);
	cr_expect_eq(control_record_parse("drain\tw\t1.2.3.4\t1\t99999999999\t3\tr", 32, &r), -1,
		     "uid beyond 32 bits");
}

/* A configuration from the real parser. */
static void config_of(struct config *cfg)
{
	static const char json[] =
		"{\"hosted-zone\": \"example.test\", \"ns\": [\"ns1.example.test\"],"
		" \"zone-resolutions\": {\"www\": {\"ips\": [\"192.0.2.1\", \"2001:db8::1\"],"
		" \"health_port\": 80}, \"static\": [\"192.0.2.9\"]}}";

	memset(cfg, 0, sizeof(*cfg));
	cr_assert_eq(config_from_json(cfg, json), 0);
}

Test(control, lookup)
{
	struct config cfg;
	size_t e = 99, i = 99;
	char err[200] = "";

	config_of(&cfg);
	cr_assert_eq(control_lookup(&cfg, "www", "192.0.2.1", &e, &i, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(i, health_index(&cfg, e, 0));
	cr_expect_str_eq(cfg.entries[e].name, "www");
	cr_assert_eq(control_lookup(&cfg, "WWW.Example.Test.", "2001:0db8::0001", &e, &i, err,
				    sizeof(err)), 0, "%s", err);
	cr_expect_eq(i, health_index(&cfg, e, 1));
	cr_assert_eq(control_lookup(&cfg, "static.example.test", "", &e, &i, err, sizeof(err)), 0);
	cr_expect_str_eq(cfg.entries[e].name, "static");
	cr_expect_eq(control_lookup(&cfg, "nope", "", &e, &i, err, sizeof(err)), -1);
	cr_expect(strstr(err, "unknown name 'nope'") != NULL, "%s", err);
	cr_expect_eq(control_lookup(&cfg, "www", "192.0.2.2", &e, &i, err, sizeof(err)), -1);
	cr_expect(strstr(err, "www has no address 192.0.2.2") != NULL, "%s", err);
	cr_expect_eq(control_lookup(&cfg, "www", "1.2.3", &e, &i, err, sizeof(err)), -1);
	cr_expect(strstr(err, "not an IPv4 or IPv6 address") != NULL, "%s", err);
	cr_expect_eq(control_lookup(&cfg, "www.other.test", "", &e, &i, err, sizeof(err)), -1);
	config_free(&cfg);
}
