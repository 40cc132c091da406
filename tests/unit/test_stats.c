/*
 * The statistics object: layout, counters, the backend table and what
 * status prints from them, checked against hand-written expectations
 * (the JSON is parsed back with json-c).
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "answer.h"
#include "clock.h"
#include "proc.h"
#include "health.h"
#include "admin.h"
#include "stats.h"
#include "stats_keys.h"

/* Entries of the fake configuration:
 *   0 "static": 1 static address            (flat 0)
 *   1 "www":    2 addresses, tcp port 8080   (flat 1, 2)
 *   2 "api":    1 IPv6 address, http 8443    (flat 3) */
static struct config_addr test_addrs[4];
static struct config_entry test_entries[3];
static struct config test_cfg;
static char test_name[96];

static void test_setup(void)
{
	memset(&test_cfg, 0, sizeof(test_cfg));
	memset(test_entries, 0, sizeof(test_entries));
	memset(test_addrs, 0, sizeof(test_addrs));
	for (size_t i = 0; i < 3; i++) {
		test_addrs[i].family = AF_INET;
		test_addrs[i].addr[0] = 192;
		test_addrs[i].addr[1] = 0;
		test_addrs[i].addr[2] = 2;
		test_addrs[i].addr[3] = (uint8_t)(10 + i);
	}
	test_addrs[3].family = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::7", test_addrs[3].addr), 1);
	test_entries[0] = (struct config_entry){ .name = "static", .addrs = &test_addrs[0],
		.n_addrs = 1, .first_addr = 0, .check = CONFIG_CHECK_NONE, .rise = 1, .fall = 1,
		.ttl = -1 };
	test_entries[1] = (struct config_entry){ .name = "www", .addrs = &test_addrs[1],
		.n_addrs = 2, .first_addr = 1, .check = CONFIG_CHECK_TCP, .health_port = 8080,
		.rise = 1, .fall = 2, .ttl = -1 };
	test_entries[2] = (struct config_entry){ .name = "api", .addrs = &test_addrs[3],
		.n_addrs = 1, .first_addr = 3, .check = CONFIG_CHECK_HTTP, .health_port = 8443,
		.http_path = "/health", .rise = 1, .fall = 1, .ttl = -1 };
	test_cfg.hosted_zone = "example.com";
	test_cfg.entries = test_entries;
	test_cfg.n_entries = 3;
	test_cfg.n_addrs_total = 4;
	snprintf(test_name, sizeof(test_name), "/ahd-test-stats.%d", (int)getpid());
}

static void test_teardown(void)
{
	shm_unlink(test_name);
}

TestSuite(stats, .init = test_setup, .fini = test_teardown);

static const struct health_result PASS = { .pass = true, .latency_us = 1234, .reason = "connected" };
static const struct health_result REFUSED = { .pass = false, .latency_us = 87, .reason = "refused",
					       .error_class = HEALTH_ERR_REFUSED };
static const struct health_result HTTP503 = { .pass = false, .latency_us = 4500, .reason = "HTTP 503",
					       .error_class = HEALTH_ERR_HTTP_STATUS };

/* Health at 1700000000 s (in ms, the prober's clock): www[0] up,
 * www[1] down (refused), api down at 1700000030 s (HTTP 503). */
static struct health *test_health(void)
{
	struct health *h = health_new(&test_cfg, 1700000000000);

	cr_assert_not_null(h);
	cr_assert(health_record(h, 1, &PASS, 1700000000000, NULL));
	cr_assert(health_record(h, 2, &REFUSED, 1700000000000, NULL));
	cr_assert(health_record(h, 3, &PASS, 1700000000000, NULL));
	cr_assert(health_record(h, 3, &HTTP503, 1700000030000, NULL));
	health_update_published(h);
	return h;
}

static char *test_capture_json(const struct stats *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(admin_status_print_json(st, f), 0);
	fclose(f);
	return buf;
}

static struct json_object *test_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "key %s missing", key);
	return v;
}

static int64_t test_int(struct json_object *o, const char *key)
{
	struct json_object *v = test_get(o, key);

	cr_assert(json_object_is_type(v, json_type_int), "%s is not an integer", key);
	return json_object_get_int64(v);
}

static const char *test_str(struct json_object *o, const char *key)
{
	struct json_object *v = test_get(o, key);

	cr_assert(json_object_is_type(v, json_type_string), "%s is not a string", key);
	return json_object_get_string(v);
}

Test(stats, layout_is_pinned)
{
	/* The shm format: sizes an independent reader relies on. */
	/* 128 in the first format; the prober's heartbeat was appended in
	 * what was zero padding before the worker blocks (header_size 256),
	 * so readers of either layout keep working. */
	cr_assert_eq(sizeof(struct stats_header), 256);
	cr_assert_eq(offsetof(struct stats_header, prober_pid), 128);
	cr_assert_eq(offsetof(struct stats_header, prober_beat_ms), 136);
	/* Version 2: the secondaries' table. */
	cr_assert_eq(offsetof(struct stats_header, notify_off), 144);
	cr_assert_eq(offsetof(struct stats_header, n_notify), 160);
	cr_assert_eq(offsetof(struct stats_header, notifier_pid), 164);
	/* The rate-limiting table and its parameters (DESIGN §10). */
	cr_assert_eq(offsetof(struct stats_header, rrl_off), 168);
	cr_assert_eq(offsetof(struct stats_header, rrl_size), 176);
	cr_assert_eq(offsetof(struct stats_header, rrl_params), 184);
	cr_assert_eq(offsetof(struct stats_header, rrl_prefixes), 192);
	/* Version 3 (issue 16): the image and the restarts by role. */
	cr_assert_eq(offsetof(struct stats_header, image_published), 200);
	cr_assert_eq(offsetof(struct stats_header, rrsig_expiry), 208);
	cr_assert_eq(offsetof(struct stats_header, image_serial), 216);
	cr_assert_eq(offsetof(struct stats_header, metrics_pid), 228);
	cr_assert_eq(offsetof(struct stats_header, restarts), 232);
	/* Version 4: the DNSSEC key table (DESIGN §13). */
	cr_assert_eq(offsetof(struct stats_header, keys_off), 248);
	cr_assert_eq(sizeof(struct stats_key), 488);
	cr_assert_eq(sizeof(struct stats_keys), 24 + 2 * (16 + 8 * 488));
	cr_assert_eq(sizeof(struct stats_notify), 128);
	cr_assert_eq(offsetof(struct stats_notify, text), 8);
	cr_assert_eq(offsetof(struct stats_notify, addr), 72);
	cr_assert_eq(offsetof(struct stats_notify, port), 94);
	cr_assert_eq(offsetof(struct stats_notify, notified), 96);
	cr_assert_eq(offsetof(struct stats_notify, xfr), 120);
	cr_assert_eq(sizeof(struct stats_worker), 384);
	cr_assert_eq(offsetof(struct stats_worker, udp_queries), 128);
	cr_assert_eq(offsetof(struct stats_worker, pid), 256);
	cr_assert_eq(sizeof(struct stats_slot), 320);
	cr_assert_eq(sizeof(struct stats_backend), 392);
	cr_assert_eq(offsetof(struct stats_backend, since), 352);
	cr_assert_eq(offsetof(struct stats_backend, admin), 385);
	cr_assert_eq(offsetof(struct stats_backend, error_class), 386);
	cr_assert_eq(offsetof(struct stats_backend, last_pass), 387);
	cr_assert_eq(offsetof(struct stats_backend, changes), 388);
}

Test(stats, names)
{
	char buf[64];

	cr_assert_eq(stats_shm_name("/a-healthy-dns.53053", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/a-healthy-dns.53053.stats");
	cr_assert_eq(stats_shm_name("/a-very-long-name-indeed", buf, 20), -1);
	cr_assert_eq(stats_count_checked(&test_cfg), 3);
}

Test(stats, create_sizes_and_maps)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 3, 3, &fd);
	struct stats *child, *ro;

	cr_assert_not_null(st);
	cr_assert_geq(fd, 0);
	/* 256 header + 3 x 384 workers + 2 x (320 + 3 x 392) + 32
	 * secondaries x 128 (8496), to a 64-byte line (8512), then the
	 * rate-limiting table: a 64-byte head and 65536 buckets of 16. */
	cr_assert_eq(st->hdr->rrl_off, 8512);
	/* Then the key table: a seqlock and two slots of 8 keys. */
	cr_assert_eq(st->hdr->keys_off, 8512 + 64 + 65536 * 16);
	cr_assert_eq(st->size, 8512 + 64 + 65536 * 16 + 7864);
	cr_assert_not_null(st->rrl, "the writer's mapping has the table");
	cr_assert_eq(st->hdr->slot_off[0], 256 + 3 * 384);
	cr_assert_eq(st->hdr->notify_off, 256 + 3 * 384 + 2 * (320 + 3 * 392));
	cr_assert_eq(st->hdr->supervisor_pid, getpid());
	/* The fd is for children: it must survive exec. */
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);

	child = stats_map(fd);
	cr_assert_not_null(child);
	cr_assert(child->writable);
	cr_assert_eq(child->n_workers, 3);
	cr_assert_eq(child->capacity, 3);
	cr_assert_null(stats_worker(child, 3));

	/* A worker counts in its block; everyone else sees it. */
	stats_add(&stats_worker(child, 1)->answers[ANSWER_NXDOMAIN], 1);
	stats_add(&stats_worker(child, 1)->answers[ANSWER_NXDOMAIN], 2);
	stats_add(&stats_worker(child, 1)->udp_queries, 3);
	cr_assert_eq(atomic_load(&stats_worker(st, 1)->answers[ANSWER_NXDOMAIN]), 3);
	cr_assert_eq(atomic_load(&stats_worker(st, 1)->udp_queries), 3);
	cr_assert_eq(atomic_load(&stats_worker(st, 0)->udp_queries), 0);
	/* Blocks do not share cache lines. */
	cr_assert_eq(((uintptr_t)stats_worker(st, 1) - (uintptr_t)stats_worker(st, 0)), 384);
	cr_assert_eq((uintptr_t)stats_worker(st, 1) % 64, 0);

	ro = stats_open_ro(test_name, NULL, 0);
	cr_assert_not_null(ro);
	cr_assert_not(ro->writable);
	cr_assert_eq(atomic_load(&stats_worker(ro, 1)->answers[ANSWER_NXDOMAIN]), 3);
	cr_assert_eq(stats_publish_backends(ro, &test_cfg, NULL, 1), -1);

	stats_close(ro);
	stats_close(child);
	stats_close(st);
	close(fd);
	cr_assert_eq(stats_unlink(test_name), 0);
	cr_assert_null(stats_open_ro(test_name, NULL, 0));
	cr_assert_eq(errno, ENOENT);
}

Test(stats, refuses_a_bad_header)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 1, &fd);

	cr_assert_not_null(st);
	st->hdr->n_workers = 2; /* sizes no longer add up */
	cr_assert_null(stats_open_ro(test_name, NULL, 0));
	cr_assert_eq(errno, EPROTO);
	st->hdr->n_workers = 1;
	st->hdr->magic ^= 1;
	cr_assert_null(stats_map(fd));
	st->hdr->magic ^= 1;
	cr_assert_eq(ftruncate(fd, 100), 0); /* shorter than a header */
	cr_assert_null(stats_open_ro(test_name, NULL, 0));
	cr_assert_eq(errno, EPROTO);
	close(fd);
	/* st still maps the old length: unmap without touching it. */
	stats_close(st);
}

Test(stats, prober_heartbeat_age)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 0, &fd);
	struct stats *ro;
	struct json_object *o;
	char *json;
	int64_t now = clock_now_ms();

	cr_assert_not_null(st);
	cr_assert_eq(stats_prober_age_ms(st, now), -1, "no prober yet: no age");
	stats_prober_started(st, 777, now - 5000);
	cr_assert_eq(stats_prober_age_ms(st, now), 5000);
	/* A read-only mapping (status) cannot beat. */
	ro = stats_open_ro(test_name, NULL, 0);
	cr_assert_not_null(ro);
	stats_prober_beat(ro);
	cr_assert_eq(stats_prober_age_ms(ro, now), 5000);
	stats_prober_beat(st);
	cr_assert_lt(stats_prober_age_ms(ro, clock_now_ms()), 5000);
	json = test_capture_json(ro);
	o = json_tokener_parse(json);
	cr_assert_not_null(o, "%s", json);
	cr_assert_eq(test_int(o, "prober_pid"), 777);
	cr_assert(test_int(o, "prober_heartbeat_age_ms") >= 0 &&
		  test_int(o, "prober_heartbeat_age_ms") < 5000);
	json_object_put(o);
	free(json);
	stats_close(ro);
	stats_close(st);
	close(fd);
}

Test(stats, worker_restarts)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 2, 0, &fd);
	struct stats_worker *w;

	cr_assert_not_null(st);
	w = stats_worker(st, 1);
	stats_worker_started(st, 1, 4242, 1700000000);
	cr_assert_eq(atomic_load(&w->pid), 4242);
	cr_assert_eq(atomic_load(&w->started), 1700000000);
	cr_assert_eq(atomic_load(&w->restarts), 0);
	stats_worker_started(st, 1, 4343, 1700000100);
	cr_assert_eq(atomic_load(&w->pid), 4343);
	cr_assert_eq(atomic_load(&w->restarts), 1);
	stats_worker_started(st, 5, 1, 1); /* out of range: ignored */
	stats_close(st);
	close(fd);
}

Test(stats, summary_and_status_line)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 3, &fd);
	struct stats_summary sum;
	struct health *h = test_health();
	char line[128];

	cr_assert_not_null(st);
	cr_assert_eq(stats_summary(st, &sum), 0);
	cr_assert_eq(sum.generation, 0);
	stats_status_line(&sum, line, sizeof(line));
	cr_assert_str_eq(line, "waiting for the first check round");

	cr_assert_eq(stats_publish_backends(st, &test_cfg, h, 2024010101), 0);
	cr_assert_eq(stats_summary(st, &sum), 0);
	cr_assert_eq(sum.generation, 1);
	cr_assert_eq(sum.serial, 2024010101);
	cr_assert_eq(sum.n_up, 1);
	cr_assert_eq(sum.n_total, 3);
	stats_status_line(&sum, line, sizeof(line));
	cr_assert_str_eq(line, "serial 2024010101, 1 of 3 backends up");

	/* www[1] comes back: the next table says so, in the other slot. */
	cr_assert(health_record(h, 2, &PASS, 1700000060000, NULL));
	cr_assert_eq(stats_publish_backends(st, &test_cfg, h, 2024010102), 0);
	cr_assert_eq(stats_summary(st, &sum), 0);
	cr_assert_eq(sum.generation, 2);
	stats_status_line(&sum, line, sizeof(line));
	cr_assert_str_eq(line, "serial 2024010102, 2 of 3 backends up");
	health_free(h);
	stats_close(st);
	close(fd);
}

Test(stats, json_lists_backends_and_counters)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 2, 3, &fd);
	struct health *h = test_health();
	struct json_object *o, *arr, *b, *w, *ans, *tot;
	char *text;

	cr_assert_not_null(st);
	stats_worker_started(st, 0, 111, 1700000001);
	stats_worker_started(st, 1, 222, 1700000002);
	stats_add(&stats_worker(st, 0)->udp_queries, 5);
	stats_add(&stats_worker(st, 0)->answers[ANSWER_NOERROR], 4);
	stats_add(&stats_worker(st, 0)->answers[ANSWER_NXDOMAIN], 1);
	stats_add(&stats_worker(st, 1)->tcp_queries, 2);
	stats_add(&stats_worker(st, 1)->tcp_conns, 1);
	stats_add(&stats_worker(st, 1)->answers[ANSWER_REFUSED], 2);
	cr_assert_eq(stats_publish_backends(st, &test_cfg, h, 77), 0);

	text = test_capture_json(st);
	o = json_tokener_parse(text);
	cr_assert_not_null(o, "not JSON: %s", text);
	cr_assert_str_eq(test_str(o, "zone"), "example.com");
	cr_assert_eq(test_int(o, "serial"), 77);
	cr_assert_eq(test_int(o, "backends_up"), 1);
	cr_assert_eq(test_int(o, "backends_total"), 3);
	cr_assert_eq(test_int(o, "supervisor_pid"), getpid());
	cr_assert(json_object_get_boolean(test_get(o, "checked")));

	arr = test_get(o, "backends");
	cr_assert_eq(json_object_array_length(arr), 3);
	b = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(test_str(b, "name"), "www.example.com");
	cr_assert_str_eq(test_str(b, "address"), "192.0.2.11");
	cr_assert_eq(test_int(b, "port"), 8080);
	cr_assert_str_eq(test_str(b, "check"), "tcp");
	cr_assert_str_eq(test_str(b, "state"), "up");
	cr_assert(json_object_get_boolean(test_get(b, "published")));
	cr_assert_eq(test_int(b, "since"), 1700000000);
	cr_assert_eq(test_int(b, "last_check"), 1700000000);
	cr_assert_str_eq(test_str(b, "last_error"), "");
	cr_assert_str_eq(test_str(b, "error_class"), "none");
	cr_assert_eq(test_int(b, "changes"), 0);
	cr_assert_eq(test_int(b, "latency_us"), 1234);

	b = json_object_array_get_idx(arr, 1);
	cr_assert_str_eq(test_str(b, "address"), "192.0.2.12");
	cr_assert_str_eq(test_str(b, "state"), "down");
	cr_assert_not(json_object_get_boolean(test_get(b, "published")));
	cr_assert_str_eq(test_str(b, "last_error"), "refused");
	cr_assert_str_eq(test_str(b, "error_class"), "refused");
	cr_assert_eq(test_int(b, "changes"), 0); /* the first verdict */
	cr_assert_eq(test_int(b, "latency_us"), 87);

	b = json_object_array_get_idx(arr, 2);
	cr_assert_str_eq(test_str(b, "name"), "api.example.com");
	cr_assert_str_eq(test_str(b, "address"), "2001:db8::7");
	cr_assert_eq(test_int(b, "port"), 8443);
	cr_assert_str_eq(test_str(b, "check"), "http");
	cr_assert_str_eq(test_str(b, "state"), "down");
	cr_assert_eq(test_int(b, "since"), 1700000030);
	cr_assert_str_eq(test_str(b, "last_error"), "HTTP 503");
	cr_assert_str_eq(test_str(b, "error_class"), "http_status");
	cr_assert_eq(test_int(b, "changes"), 1); /* up, then down */
	cr_assert_eq(test_int(b, "latency_us"), 4500);
	cr_assert_eq(test_int(b, "fails"), 0); /* the streak that caused it is spent */

	arr = test_get(o, "workers");
	cr_assert_eq(json_object_array_length(arr), 2);
	w = json_object_array_get_idx(arr, 0);
	cr_assert_eq(test_int(w, "index"), 0);
	cr_assert_eq(test_int(w, "pid"), 111);
	cr_assert_eq(test_int(w, "started"), 1700000001);
	cr_assert_eq(test_int(w, "udp_queries"), 5);
	cr_assert_eq(test_int(w, "tcp_queries"), 0);
	ans = test_get(w, "answers");
	cr_assert_eq(test_int(ans, "noerror"), 4);
	cr_assert_eq(test_int(ans, "nxdomain"), 1);
	cr_assert_eq(test_int(ans, "refused"), 0);
	cr_assert_eq(test_int(ans, "servfail"), 0);
	w = json_object_array_get_idx(arr, 1);
	cr_assert_eq(test_int(w, "pid"), 222);
	cr_assert_eq(test_int(w, "tcp_queries"), 2);
	cr_assert_eq(test_int(w, "tcp_connections"), 1);
	cr_assert_eq(test_int(test_get(w, "answers"), "refused"), 2);

	tot = test_get(o, "totals");
	cr_assert_eq(test_int(tot, "udp_queries"), 5);
	cr_assert_eq(test_int(tot, "tcp_queries"), 2);
	ans = test_get(tot, "answers");
	cr_assert_eq(test_int(ans, "noerror"), 4);
	cr_assert_eq(test_int(ans, "refused"), 2);
	cr_assert_eq(test_int(ans, "nxdomain"), 1);
	cr_assert_eq(test_int(ans, "formerr"), 0);

	json_object_put(o);
	free(text);
	health_free(h);
	stats_close(st);
	close(fd);
}

Test(stats, json_before_the_first_round)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 3, &fd);
	struct json_object *o;
	char *text;

	cr_assert_not_null(st);
	text = test_capture_json(st);
	o = json_tokener_parse(text);
	cr_assert_not_null(o);
	cr_assert_not(json_object_get_boolean(test_get(o, "checked")));
	cr_assert_eq(json_object_array_length(test_get(o, "backends")), 0);
	cr_assert_eq(json_object_array_length(test_get(o, "workers")), 1);
	json_object_put(o);
	free(text);
	stats_close(st);
	close(fd);
}

Test(stats, table_smaller_than_the_config)
{
	int fd = -1;
	/* Sized for 2 of the 3 checked addresses (a reload added one). */
	struct stats *st = stats_create(test_name, 1, 2, &fd);
	struct health *h = test_health();
	struct stats_table t;

	cr_assert_not_null(st);
	cr_assert_eq(stats_publish_backends(st, &test_cfg, h, 5), 0);
	cr_assert_eq(stats_read_backends(st, &t), 0);
	cr_assert_eq(t.head.n_backends, 2);
	cr_assert_eq(t.head.n_total, 3);
	cr_assert_eq(t.head.n_up, 1);
	cr_assert_str_eq(t.backends[1].addr, "192.0.2.12");
	stats_table_free(&t);
	health_free(h);
	stats_close(st);
	close(fd);
}

Test(stats, text_report)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 3, &fd);
	struct health *h = test_health();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_not_null(st);
	stats_worker_started(st, 0, 31337, 1700000000);
	stats_add(&stats_worker(st, 0)->udp_queries, 12);
	stats_add(&stats_worker(st, 0)->answers[ANSWER_NOERROR], 12);
	cr_assert_eq(stats_publish_backends(st, &test_cfg, h, 99), 0);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	/* 90 s after api went down. */
	cr_assert_eq(admin_status_print_text(st, f, 1700000120), 0);
	fclose(f);
	cr_assert_not_null(strstr(buf, "zone:     example.com serial 99"), "%s", buf);
	cr_assert_not_null(strstr(buf, "backends: 1 of 3 up"), "%s", buf);
	cr_assert_not_null(strstr(buf, "192.0.2.12"), "%s", buf);
	cr_assert_not_null(strstr(buf, "refused"), "%s", buf);
	cr_assert_not_null(strstr(buf, "2023-11-14T22:13:20Z (2m)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "2023-11-14T22:13:50Z (90s)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "1.234 ms"), "%s", buf);
	cr_assert_not_null(strstr(buf, "HTTP 503"), "%s", buf);
	cr_assert_not_null(strstr(buf, "31337"), "%s", buf);
	cr_assert_not_null(strstr(buf, "NOERROR"), "%s", buf);
	free(buf);
	health_free(h);
	stats_close(st);
	close(fd);
}

Test(stats, status_without_a_server)
{
	char *argv[] = { "a-healthy-dns", "status", "--shm-name", test_name, NULL };
	char *bad_port[] = { "a-healthy-dns", "status", "--port", "70000", NULL };
	char *bad_arg[] = { "a-healthy-dns", "status", "--frobnicate", NULL };

	cr_assert_eq(admin_status_main(4, argv), 1);
	cr_assert_eq(admin_status_main(4, bad_port), 2);
	cr_assert_eq(admin_status_main(3, bad_arg), 2);
}

Test(stats, status_with_a_dead_supervisor)
{
	char *argv[] = { "a-healthy-dns", "status", "--shm-name", NULL, NULL };
	struct stats *st;
	char base[64];
	int fd = -1;

	/* status is given the zone image's name and adds ".stats". */
	snprintf(base, sizeof(base), "/ahd-test-st2.%d", (int)getpid() % 10000000);
	snprintf(test_name, sizeof(test_name), "%s.stats", base);
	st = stats_create(test_name, 1, 1, &fd);
	cr_assert_not_null(st);
	argv[3] = base;
	cr_assert_eq(admin_status_main(4, argv), 0);
	/* pid 0x7ffffff0 does not exist: a left-over object. */
	st->hdr->supervisor_pid = 0x7ffffff0;
	cr_assert_eq(admin_status_main(4, argv), 1);
	stats_close(st);
	close(fd);
}

/* The writer alternates two tables while a reader checks that every
 * copy it accepts is one of them whole. */
struct test_race {
	struct stats *st;
	struct health *h[2];
	atomic_bool stop;
};

static void *test_writer(void *arg)
{
	struct test_race *r = arg;

	for (uint32_t i = 0; !atomic_load(&r->stop); i++)
		stats_publish_backends(r->st, &test_cfg, r->h[i & 1], i & 1 ? 1001 : 2000);
	return NULL;
}

Test(stats, reader_never_sees_a_mixed_table)
{
	int fd = -1;
	struct test_race r = { 0 };
	pthread_t t;

	r.st = stats_create(test_name, 1, 3, &fd);
	cr_assert_not_null(r.st);
	r.h[0] = health_new(&test_cfg, 1000);      /* all unknown */
	r.h[1] = test_health();                    /* 1 up, 2 down */
	cr_assert_not_null(r.h[0]);
	stats_publish_backends(r.st, &test_cfg, r.h[0], 2000);
	cr_assert_eq(pthread_create(&t, NULL, test_writer, &r), 0);
	for (int i = 0; i < 20000; i++) {
		struct stats_table tb;

		cr_assert_eq(stats_read_backends(r.st, &tb), 0);
		if (tb.head.serial == 2000) {
			cr_assert_eq(tb.head.n_up, 0);
			for (size_t k = 0; k < 3; k++)
				cr_assert_eq(tb.backends[k].state, HEALTH_UNKNOWN);
		} else {
			cr_assert_eq(tb.head.serial, 1001);
			cr_assert_eq(tb.head.n_up, 1);
			cr_assert_eq(tb.backends[0].state, HEALTH_UP);
			cr_assert_eq(tb.backends[1].state, HEALTH_DOWN);
			cr_assert_str_eq(tb.backends[1].last_error, "refused");
		}
		stats_table_free(&tb);
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	health_free(r.h[0]);
	health_free(r.h[1]);
	stats_close(r.st);
	close(fd);
}

/* A --notify entry as config_parse would make it. */
static void test_secondary(struct config_notify *n, const char *addr, uint16_t port,
			   const char *text)
{
	memset(n, 0, sizeof(*n));
	n->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(n->family, addr, n->addr), 1);
	n->port = port;
	snprintf(n->text, sizeof(n->text), "%s", text);
}

static struct json_object *test_secondary_json(struct json_object *o, size_t i)
{
	struct json_object *a = test_get(o, "secondaries");

	cr_assert(json_object_is_type(a, json_type_array));
	cr_assert_gt(json_object_array_length(a), i);
	return json_object_array_get_idx(a, i);
}

Test(stats, secondaries_table)
{
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
	struct stats_notify_row rows[STATS_NOTIFY_MAX];
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 0, &fd), *ro;
	struct json_object *o, *sec;
	char *json;

	cr_assert_not_null(st);
	test_secondary(&test_cfg.notify[0], "127.0.0.1", 5353, "127.0.0.1:5353");
	test_secondary(&test_cfg.notify[1], "2001:db8::53", 53, "2001:db8::53");
	test_cfg.n_notify = 2;
	cr_assert_eq(stats_notify_begin(st, &test_cfg), 2);
	stats_notify_sent(st, 0, 100, 1700000000);
	stats_notify_resent(st, 0, 2);
	stats_notify_acked(st, 0, 100, 1700000003);
	stats_notify_sent(st, 1, 100, 1700000000);
	stats_notify_failed(st, 1, 5);
	/* A transfer to 127.0.0.1 seen on a dual-stack socket. */
	stats_xfr_seen(st, AF_INET6, mapped, 100, 1700000004);

	ro = stats_open_ro(test_name, NULL, 0);
	cr_assert_not_null(ro);
	cr_assert_eq(stats_read_notify(ro, rows, STATS_NOTIFY_MAX), 2);
	cr_expect_str_eq(rows[0].text, "127.0.0.1:5353");
	cr_expect_eq(rows[0].port, 5353);
	cr_expect_eq(rows[0].notified_serial, 100);
	cr_expect_eq(rows[0].notified_at, 1700000000);
	cr_expect(rows[0].acknowledged);
	cr_expect_eq(rows[0].acked_at, 1700000003);
	cr_expect_eq(rows[0].retries, 2);
	cr_expect_not(rows[0].failed);
	cr_expect_eq(rows[0].xfr_serial, 100);
	cr_expect_eq(rows[0].xfr_at, 1700000004);
	cr_expect_str_eq(rows[1].text, "2001:db8::53");
	cr_expect_not(rows[1].acknowledged);
	cr_expect(rows[1].failed);
	cr_expect_eq(rows[1].rcode, 5);
	cr_expect_eq(rows[1].xfr_at, 0, "a transfer to another address");

	json = test_capture_json(ro);
	o = json_tokener_parse(json);
	cr_assert_not_null(o, "not JSON:\n%s", json);
	sec = test_secondary_json(o, 0);
	cr_expect_str_eq(test_str(sec, "address"), "127.0.0.1:5353");
	cr_expect_eq(test_int(sec, "notified_serial"), 100);
	cr_expect(json_object_get_boolean(test_get(sec, "acknowledged")));
	cr_expect_eq(test_int(sec, "retries"), 2);
	cr_expect_eq(test_int(sec, "last_transfer_serial"), 100);
	cr_expect_str_eq(test_str(sec, "result"), "yes");
	sec = test_secondary_json(o, 1);
	cr_expect_str_eq(test_str(sec, "result"), "REFUSED");
	cr_expect_null(test_get(sec, "last_transfer"), "null before any transfer");
	json_object_put(o);
	free(json);

	/* A reload lists 2001:db8::53 first and adds ::1: each address keeps
	 * its own state, the new one starts empty. */
	test_cfg.notify[2] = test_cfg.notify[0];
	test_cfg.notify[0] = test_cfg.notify[1];
	test_secondary(&test_cfg.notify[1], "::1", 53, "::1");
	test_cfg.n_notify = 3;
	cr_assert_eq(stats_notify_begin(st, &test_cfg), 3);
	cr_assert_eq(stats_read_notify(ro, rows, STATS_NOTIFY_MAX), 3);
	cr_expect_str_eq(rows[0].text, "2001:db8::53");
	cr_expect_eq(rows[0].rcode, 5);
	cr_expect_str_eq(rows[1].text, "::1");
	cr_expect_eq(rows[1].notified_at, 0);
	cr_expect_not(rows[1].acknowledged);
	cr_expect_str_eq(rows[2].text, "127.0.0.1:5353");
	cr_expect(rows[2].acknowledged);
	cr_expect_eq(rows[2].xfr_serial, 100);
	/* A new serial is not acknowledged until it is. */
	stats_notify_sent(st, 2, 101, 1700000010);
	cr_assert_eq(stats_read_notify(ro, rows, STATS_NOTIFY_MAX), 3);
	cr_expect_not(rows[2].acknowledged);
	cr_expect_eq(rows[2].retries, 0);
	stats_notify_clear(st);
	cr_expect_eq(stats_read_notify(ro, rows, STATS_NOTIFY_MAX), 0);

	stats_close(ro);
	stats_close(st);
	close(fd);
	test_cfg.n_notify = 0;
}

/* The key table: what the prober publishes, status and the next prober
 * read back whole. */
Test(stats, key_table_round_trip)
{
	int fd = -1;
	struct stats *st = stats_create(test_name, 1, 1, &fd);
	struct stats_key rows[2], got[KEYROLL_MAX];
	int64_t planned;
	size_t n = 99;

	cr_assert_not_null(st);
	cr_assert_eq(stats_keys_read(st, got, &n, &planned), 0);
	cr_assert_eq(n, 0, "no plan yet");
	memset(rows, 0, sizeof(rows));
	strcpy(rows[0].path, "/k/ksk.pem");
	rows[0].tag = 12345;
	rows[0].alg = 13;
	rows[0].role = KEYROLL_KSK;
	rows[0].state = KEYROLL_ACTIVE;
	rows[0].hist[0] = 100;
	rows[0].since = KEYROLL_ALWAYS;
	rows[0].next = KEYROLL_NEVER;
	strcpy(rows[1].next_what, "held");
	strcpy(rows[1].held_why, "why");
	rows[1].next = 5000;
	stats_keys_publish(st, rows, 2, 777);
	cr_assert_eq(stats_keys_read(st, got, &n, &planned), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(planned, 777);
	cr_assert_eq(got[0].tag, 12345);
	cr_assert_str_eq(got[0].path, "/k/ksk.pem");
	cr_assert_eq(got[0].hist[0], 100);
	cr_assert_str_eq(got[1].held_why, "why");
	cr_assert_eq(got[1].next, 5000);
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		struct json_object *o = json_object_new_object(), *keys, *k;

		admin_keys_print(st, f);
		fclose(f);
		cr_assert(strstr(text, "KEY    ALGORITHM        ROLE STATE        SINCE") != NULL,
			  "%s", text);
		cr_assert(strstr(text, "12345  ECDSAP256SHA256  ksk  active       start") != NULL,
			  "%s", text);
		cr_assert(strstr(text, "held until 1970-01-01T01:23:20Z (why)") != NULL, "%s", text);
		free(text);
		cr_assert_eq(admin_keys_json(st, o), 0);
		cr_assert(json_object_object_get_ex(o, "keys", &keys));
		cr_assert_eq(json_object_array_length(keys), 2);
		k = json_object_array_get_idx(keys, 0);
		cr_assert_str_eq(test_str(k, "role"), "ksk");
		cr_assert_str_eq(test_str(k, "state"), "active");
		cr_assert_str_eq(test_str(k, "path"), "/k/ksk.pem");
		json_object_put(o);
	}
	close(fd);
	stats_close(st);
	stats_unlink(test_name);
}
