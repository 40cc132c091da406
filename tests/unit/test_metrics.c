/*
 * The metrics endpoint's pure parts (metrics_text.c, metrics_page.c): the
 * exposition writer's escaping and lines, the request parser's verdicts,
 * the error responses, and the page rendered from a real statistics
 * object, checked against hand-written expectations.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "answer.h"
#include "health.h"
#include "metrics.h"
#include "proc.h"
#include "sandbox_check.h"
#include "stats.h"

static char *escaped(const char *s)
{
	struct metrics_buf b = { 0 };
	char *out;

	metrics_escape_label(&b, s);
	cr_assert(!b.failed);
	out = strdup(b.p != NULL ? b.p : "");
	metrics_buf_free(&b);
	return out;
}

Test(metrics_text, label_values_escape_backslash_quote_newline)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a\\b", "a\\\\b" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tand\rcr", "tab\tand\rcr" }, /* only the three are escaped */
		{ "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" }, /* UTF-8 passes */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = escaped(cases[i].in);

		cr_expect_str_eq(got, cases[i].want, "case %zu", i);
		free(got);
	}
}

Test(metrics_text, family_and_samples)
{
	struct metrics_buf b = { 0 };
	struct metrics_label l[] = { { "name", "a\"b" }, { "worker", "3" } };

	metrics_family(&b, "ahdns_x_total", "counter", "Help with \\ and\nnewline, \"quotes\" kept.");
	metrics_sample_u64(&b, "ahdns_x_total", l, 2, 18446744073709551615u);
	metrics_sample_i64(&b, "ahdns_y", NULL, 0, -1);
	metrics_sample_f(&b, "ahdns_z_seconds", l, 1, 0.0015);
	cr_assert(!b.failed);
	cr_assert_str_eq(b.p, "# HELP ahdns_x_total Help with \\\\ and\\nnewline, \"quotes\" kept.\n"
			      "# TYPE ahdns_x_total counter\n"
			      "ahdns_x_total{name=\"a\\\"b\",worker=\"3\"} 18446744073709551615\n"
			      "ahdns_y -1\n"
			      "ahdns_z_seconds{name=\"a\\\"b\"} 0.001500\n");
	metrics_buf_free(&b);
}

Test(metrics_text, buffer_grows_past_its_first_size)
{
	struct metrics_buf b = { 0 };
	char chunk[1000];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		metrics_puts(&b, chunk, sizeof(chunk));
	cr_assert(!b.failed);
	cr_assert_eq(b.len, 100000);
	cr_assert_eq(strlen(b.p), 100000);
	metrics_buf_free(&b);
}

static enum metrics_http parse(const char *s)
{
	return metrics_http_parse(s, strlen(s));
}

Test(metrics_http, verdicts)
{
	cr_expect_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), METRICS_HTTP_OK);
	cr_expect_eq(parse("GET /metrics HTTP/1.0\r\n\r\n"), METRICS_HTTP_OK);
	cr_expect_eq(parse("GET /metrics?name[]=x HTTP/1.1\n\n"), METRICS_HTTP_OK);
	cr_expect_eq(parse("GET /metrics HTTP/1.1\r\nAccept: text/plain;q=0.5\r\n"
			   "User-Agent: Prometheus/2.42.0\r\n\r\nbody ignored"),
		     METRICS_HTTP_OK);
	cr_expect_eq(parse("GET / HTTP/1.1\r\n\r\n"), METRICS_HTTP_NOT_FOUND);
	cr_expect_eq(parse("GET /metricsx HTTP/1.1\r\n\r\n"), METRICS_HTTP_NOT_FOUND);
	cr_expect_eq(parse("GET /metrics/ HTTP/1.1\r\n\r\n"), METRICS_HTTP_NOT_FOUND);
	cr_expect_eq(parse("POST /metrics HTTP/1.1\r\n\r\n"), METRICS_HTTP_METHOD);
	cr_expect_eq(parse("HEAD /metrics HTTP/1.1\r\n\r\n"), METRICS_HTTP_METHOD);
	/* Still incomplete. */
	cr_expect_eq(parse(""), METRICS_HTTP_MORE);
	cr_expect_eq(parse("GET /metr"), METRICS_HTTP_MORE);
	cr_expect_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n"), METRICS_HTTP_MORE);
	/* Wrong at once, before the head ends. */
	cr_expect_eq(parse("GET /metrics\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET /metrics HTTP/2.0\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("get /metrics HTTP/1.1\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET metrics HTTP/1.1\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET  /metrics HTTP/1.1\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET /met\x01rics HTTP/1.1\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n"), METRICS_HTTP_BAD);
	cr_expect_eq(parse("GET /metrics HTTP/1.1\r\nX: a\x01z\r\n\r\n"), METRICS_HTTP_BAD);
}

Test(metrics_http, a_head_past_the_cap_is_too_large)
{
	size_t n = METRICS_REQUEST_MAX + 100;
	char *big = malloc(n);
	static const char line[] = "GET /metrics HTTP/1.1\r\nX: ";

	cr_assert_not_null(big);
	memset(big, 'a', n);
	memcpy(big, line, sizeof(line) - 1);
	cr_expect_eq(metrics_http_parse(big, METRICS_REQUEST_MAX - 1), METRICS_HTTP_MORE);
	cr_expect_eq(metrics_http_parse(big, METRICS_REQUEST_MAX), METRICS_HTTP_TOO_LARGE);
	cr_expect_eq(metrics_http_parse(big, n), METRICS_HTTP_TOO_LARGE);
	/* No line end at all. */
	memset(big, 'G', n);
	cr_expect_eq(metrics_http_parse(big, n), METRICS_HTTP_TOO_LARGE);
	/* A complete head just inside the cap is fine; the end of the head
	 * past the cap is not looked for. */
	memcpy(big, line, sizeof(line) - 1);
	memset(big + sizeof(line) - 1, 'a', n - sizeof(line) + 1);
	memcpy(big + METRICS_REQUEST_MAX - 4, "\r\n\r\n", 4);
	cr_expect_eq(metrics_http_parse(big, n), METRICS_HTTP_OK);
	memcpy(big + METRICS_REQUEST_MAX - 4, "aa\r\n\r\n", 6);
	cr_expect_eq(metrics_http_parse(big, n), METRICS_HTTP_TOO_LARGE);
	free(big);
}

/* Every error response: a status line and a Content-Length that is the
 * body's length. */
Test(metrics_http, error_responses_are_well_formed)
{
	static const struct {
		enum metrics_http v;
		int status;
	} cases[] = {
		{ METRICS_HTTP_NOT_FOUND, 404 },
		{ METRICS_HTTP_METHOD, 405 },
		{ METRICS_HTTP_BAD, 400 },
		{ METRICS_HTTP_TOO_LARGE, 431 },
	};

	cr_expect_null(metrics_http_error(METRICS_HTTP_OK));
	cr_expect_null(metrics_http_error(METRICS_HTTP_MORE));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = metrics_http_error(cases[i].v);
		const char *cl, *body;
		int status = 0;
		size_t len = 0;

		cr_assert_not_null(r);
		cr_expect_eq(sscanf(r, "HTTP/1.1 %d", &status), 1);
		cr_expect_eq(status, cases[i].status);
		cl = strstr(r, "Content-Length: ");
		body = strstr(r, "\r\n\r\n");
		cr_assert(cl != NULL && body != NULL);
		cr_expect_eq(sscanf(cl, "Content-Length: %zu", &len), 1);
		cr_expect_eq(strlen(body + 4), len, "status %d", status);
		cr_expect_not_null(strstr(r, "Connection: close\r\n"));
	}
	cr_expect_not_null(strstr(metrics_http_error(METRICS_HTTP_METHOD), "Allow: GET\r\n"));
}

/* ---- the page over a real statistics object ---- */

static struct config_addr page_addrs[2];
static struct config_entry page_entry;
static struct config page_cfg;
static char page_name[96];

static void page_setup(void)
{
	memset(&page_cfg, 0, sizeof(page_cfg));
	memset(&page_entry, 0, sizeof(page_entry));
	memset(page_addrs, 0, sizeof(page_addrs));
	for (size_t i = 0; i < 2; i++) {
		page_addrs[i].family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, i == 0 ? "192.0.2.10" : "192.0.2.11",
				       page_addrs[i].addr), 1);
	}
	/* A name with a quote and a backslash would be refused by the
	 * configuration; the zone's own text is what reaches the label. */
	page_entry = (struct config_entry){ .name = "www", .addrs = page_addrs, .n_addrs = 2,
		.first_addr = 0, .check = CONFIG_CHECK_TCP, .health_port = 8080, .rise = 1,
		.fall = 1, .ttl = -1 };
	page_cfg.hosted_zone = "example.com";
	page_cfg.entries = &page_entry;
	page_cfg.n_entries = 1;
	page_cfg.n_addrs_total = 2;
	snprintf(page_name, sizeof(page_name), "/ahd-test-metrics.%d", (int)getpid());
}

static void page_teardown(void)
{
	shm_unlink(page_name);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	}
	return false;
}

Test(metrics_page, renders_counters_backends_zone_and_restarts, .init = page_setup,
     .fini = page_teardown)
{
	static const struct health_result up = { .pass = true, .latency_us = 1500,
						 .reason = "connected" };
	static const struct health_result refused = { .pass = false, .latency_us = 80,
						      .reason = "refused",
						      .error_class = HEALTH_ERR_REFUSED };
	struct metrics_buf b = { 0 };
	struct health *h = health_new(&page_cfg, 1700000000000);
	int fd = -1;
	struct stats *st = stats_create(page_name, 2, 2, &fd);

	cr_assert(st != NULL && h != NULL);
	stats_add(&st->workers[0].udp_queries, 7);
	stats_add(&st->workers[1].tcp_queries, 3);
	stats_add(&st->workers[1].answers[ANSWER_NXDOMAIN], 2);
	stats_add(&st->workers[0].rrl_slipped, 4);
	stats_add(&st->workers[1].restarts, 1);
	stats_role_died(st, PROC_ROLE_PROBER);
	stats_image_published(st, 2024010101, 1700000100, 1500000000, 500000000, 1700600000);
	/* 192.0.2.10 up; 192.0.2.11 up then down: one change, refused. */
	health_record(h, 0, &up, 1700000000000, NULL);
	health_record(h, 1, &up, 1700000000000, NULL);
	health_record(h, 1, &refused, 1700000001000, NULL);
	health_update_published(h);
	cr_assert_eq(stats_publish_backends(st, &page_cfg, h, 2024010101), 0);
	cr_assert_eq(metrics_render(st, 1700000160, &b), 0);
	cr_assert(has_line(b.p, "# TYPE ahdns_queries_total counter"));
	cr_expect(has_line(b.p, "ahdns_queries_total{transport=\"udp\",worker=\"0\"} 7"));
	cr_expect(has_line(b.p, "ahdns_queries_total{transport=\"tcp\",worker=\"1\"} 3"));
	cr_expect(has_line(b.p, "ahdns_answers_total{kind=\"nxdomain\",worker=\"1\"} 2"));
	cr_expect(has_line(b.p, "ahdns_rrl_slipped_total{worker=\"0\"} 4"));
	cr_expect(has_line(b.p, "ahdns_backend_up{name=\"www.example.com\",address=\"192.0.2.10\","
				"port=\"8080\",check=\"tcp\"} 1"));
	cr_expect(has_line(b.p, "ahdns_backend_up{name=\"www.example.com\",address=\"192.0.2.11\","
				"port=\"8080\",check=\"tcp\"} 0"));
	cr_expect(has_line(b.p, "ahdns_backend_check_duration_seconds{name=\"www.example.com\","
				"address=\"192.0.2.10\",port=\"8080\",check=\"tcp\"} 0.001500"));
	cr_expect(has_line(b.p, "ahdns_backend_last_error{name=\"www.example.com\",address="
				"\"192.0.2.11\",port=\"8080\",check=\"tcp\",class=\"refused\"} 1"));
	cr_expect(has_line(b.p, "ahdns_backend_state_changes_total{name=\"www.example.com\","
				"address=\"192.0.2.11\",port=\"8080\",check=\"tcp\"} 1"));
	cr_expect(has_line(b.p, "ahdns_backend_admin_override{name=\"www.example.com\",address="
				"\"192.0.2.10\",port=\"8080\",check=\"tcp\",override=\"none\"} 1"));
	cr_expect(has_line(b.p, "ahdns_backends{state=\"up\"} 1"));
	cr_expect(has_line(b.p, "ahdns_zone_serial 2024010101"));
	cr_expect(has_line(b.p, "ahdns_zone_age_seconds 60"));
	cr_expect(has_line(b.p, "ahdns_zone_build_duration_seconds 1.500000"));
	cr_expect(has_line(b.p, "ahdns_zone_sign_duration_seconds 0.500000"));
	cr_expect(has_line(b.p, "ahdns_zone_rrsig_oldest_expiry_timestamp_seconds 1700600000"));
	cr_expect(has_line(b.p, "ahdns_process_restarts_total{role=\"worker\"} 1"));
	cr_expect(has_line(b.p, "ahdns_process_restarts_total{role=\"prober\"} 1"));
	cr_expect(has_line(b.p, "ahdns_process_restarts_total{role=\"metrics\"} 0"));
	/* No secondaries: no such family. */
	cr_expect_null(strstr(b.p, "ahdns_secondary_"));
	metrics_buf_free(&b);
	health_free(h);
	stats_close(st);
	close(fd);
}

/* The metrics process may accept and talk on what it was handed, and
 * nothing else (DESIGN §11). */
Test(metrics_sandbox, allow_list)
{
	static const char *const yes[] = {
		"epoll_pwait", "epoll_ctl", "accept4", "recvfrom", "sendto", "shutdown", "close",
		"read", "write", "clock_gettime",
	};
	static const char *const no[] = {
		"socket", "connect", "bind", "listen", "openat", "execve", "kill", "ptrace",
		"setuid", "mprotect", "getrandom", "prlimit64",
	};

	sandbox_expect(PROC_ROLE_METRICS, yes, sizeof(yes) / sizeof(yes[0]), no,
		       sizeof(no) / sizeof(no[0]));
	cr_expect_str_eq(proc_role_name(PROC_ROLE_METRICS), "metrics");
}
