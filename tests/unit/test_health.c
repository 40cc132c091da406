/*
 * The rise/fall state machine, driven with a fake clock.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "health.h"

/* Entries of the fake configuration:
 *   0 "static": 2 static addresses          (flat 0, 1)
 *   1 "www":    2 addresses, tcp, rise/fall  (flat 2, 3)
 *   2 "api":    2 addresses, tcp, serve_all  (flat 4, 5) */
static struct config_addr test_addrs[6];
static struct config_entry test_entries[3];
static struct config test_cfg;

static void test_setup(unsigned rise, unsigned fall, enum config_all_down api_all_down)
{
	memset(&test_cfg, 0, sizeof(test_cfg));
	memset(test_entries, 0, sizeof(test_entries));
	for (size_t i = 0; i < 6; i++) {
		test_addrs[i].family = AF_INET;
		test_addrs[i].addr[0] = 10;
		test_addrs[i].addr[3] = (uint8_t)(i + 1);
	}
	test_entries[0] = (struct config_entry){ .name = "static", .addrs = &test_addrs[0],
		.n_addrs = 2, .first_addr = 0, .check = CONFIG_CHECK_NONE, .rise = 1, .fall = 1,
		.ttl = -1 };
	test_entries[1] = (struct config_entry){ .name = "www", .addrs = &test_addrs[2],
		.n_addrs = 2, .first_addr = 2, .check = CONFIG_CHECK_TCP, .health_port = 80,
		.rise = rise, .fall = fall, .ttl = -1, .all_down = CONFIG_ALL_DOWN_WITHDRAW };
	test_entries[2] = (struct config_entry){ .name = "api", .addrs = &test_addrs[4],
		.n_addrs = 2, .first_addr = 4, .check = CONFIG_CHECK_TCP, .health_port = 80,
		.rise = 1, .fall = 1, .ttl = -1, .all_down = api_all_down };
	test_cfg.hosted_zone = "example.com";
	test_cfg.entries = test_entries;
	test_cfg.n_entries = 3;
	test_cfg.n_addrs_total = 6;
}

static const struct health_result PASS = { .pass = true, .latency_us = 100, .reason = "connected" };
static const struct health_result FAIL = { .pass = false, .latency_us = 50, .reason = "refused",
					     .error_class = HEALTH_ERR_REFUSED };
static const struct health_result HTTP503 = { .pass = false, .latency_us = 70, .reason = "HTTP 503",
					      .error_class = HEALTH_ERR_HTTP_STATUS };

Test(health, unknown_at_start_only_static_published)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 1000);

	cr_assert_not_null(h);
	for (size_t i = 2; i < 6; i++) {
		cr_assert_eq(health_addr(h, i)->state, HEALTH_UNKNOWN);
		cr_assert_eq(health_addr(h, i)->since, 1000);
		cr_assert_eq(health_addr(h, i)->last_check, -1);
		cr_assert_not(health_published_set(h)[i]);
	}
	cr_assert(health_published_set(h)[0]);
	cr_assert(health_published_set(h)[1]);
	/* Nothing known yet: nothing to change, serve_all not triggered. */
	cr_assert_not(health_update_published(h));
	cr_assert_eq(health_count_published(h), 2);
	health_free(h);
}

Test(health, first_result_decides_immediately)
{
	test_setup(3, 3, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	struct health_transition tr;

	cr_assert(health_record(h, 2, &PASS, 10, &tr));
	cr_assert_eq(tr.entry, 1);
	cr_assert_eq(tr.addr, 2);
	cr_assert_eq(tr.old_state, HEALTH_UNKNOWN);
	cr_assert_eq(tr.new_state, HEALTH_UP);
	cr_assert_str_eq(tr.reason, "connected");
	cr_assert(health_record(h, 3, &FAIL, 10, &tr));
	cr_assert_eq(tr.new_state, HEALTH_DOWN);
	cr_assert_str_eq(tr.reason, "refused");
	cr_assert(health_update_published(h));
	cr_assert(health_published_set(h)[2]);
	cr_assert_not(health_published_set(h)[3]);
	cr_assert_eq(health_addr(h, 2)->since, 10);
	cr_assert_eq(health_addr(h, 3)->latency_us, 50);
	cr_assert_str_eq(health_addr(h, 3)->last_error, "refused");
	health_free(h);
}

Test(health, rise_three_needs_three_passes)
{
	test_setup(3, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	struct health_transition tr;

	cr_assert(health_record(h, 2, &FAIL, 1, &tr));
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_DOWN);
	cr_assert_not(health_record(h, 2, &PASS, 2, &tr));
	cr_assert_not(health_record(h, 2, &PASS, 3, &tr));
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_DOWN);
	health_update_published(h);
	cr_assert_not(health_published_set(h)[2]);
	cr_assert(health_record(h, 2, &PASS, 4, &tr));
	cr_assert_eq(tr.old_state, HEALTH_DOWN);
	cr_assert_eq(tr.new_state, HEALTH_UP);
	cr_assert_eq(health_addr(h, 2)->since, 4);
	cr_assert(health_update_published(h));
	cr_assert(health_published_set(h)[2]);
	health_free(h);
}

Test(health, rise_streak_broken_by_failure_restarts)
{
	test_setup(3, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);

	health_record(h, 2, &FAIL, 1, NULL);
	cr_assert_not(health_record(h, 2, &PASS, 2, NULL));
	cr_assert_not(health_record(h, 2, &PASS, 3, NULL));
	cr_assert_not(health_record(h, 2, &FAIL, 4, NULL));
	cr_assert_not(health_record(h, 2, &PASS, 5, NULL));
	cr_assert_not(health_record(h, 2, &PASS, 6, NULL));
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_DOWN);
	cr_assert(health_record(h, 2, &PASS, 7, NULL));
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_UP);
	health_free(h);
}

Test(health, fall_two_needs_two_failures)
{
	test_setup(1, 2, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	struct health_transition tr;

	cr_assert(health_record(h, 3, &PASS, 1, &tr));
	cr_assert_not(health_record(h, 3, &FAIL, 2, &tr));
	cr_assert_eq(health_addr(h, 3)->state, HEALTH_UP);
	cr_assert_str_eq(health_addr(h, 3)->last_error, "refused");
	cr_assert(health_record(h, 3, &FAIL, 3, &tr));
	cr_assert_eq(tr.old_state, HEALTH_UP);
	cr_assert_eq(tr.new_state, HEALTH_DOWN);
	cr_assert_eq(health_addr(h, 3)->since, 3);
	health_free(h);
}

Test(health, flapping_with_rise_fall_two_never_changes)
{
	test_setup(2, 2, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	int changes = 0;

	cr_assert(health_record(h, 2, &PASS, 0, NULL));
	health_update_published(h);
	for (int i = 1; i <= 50; i++)
		changes += health_record(h, 2, (i % 2) ? &FAIL : &PASS, i, NULL);
	cr_assert_eq(changes, 0);
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_UP);
	cr_assert_not(health_update_published(h));
	/* Two failures in a row do bring it down. */
	cr_assert_not(health_record(h, 2, &FAIL, 51, NULL));
	cr_assert(health_record(h, 2, &FAIL, 52, NULL));
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_DOWN);
	health_free(h);
}

Test(health, transitions_reported_once)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	int changes = 0;

	for (int i = 0; i < 5; i++)
		changes += health_record(h, 2, &FAIL, i, NULL);
	cr_assert_eq(changes, 1);
	for (int i = 5; i < 10; i++)
		changes += health_record(h, 2, &PASS, i, NULL);
	cr_assert_eq(changes, 2);
	cr_assert(health_update_published(h));
	cr_assert_not(health_update_published(h), "the same set is not a change");
	health_free(h);
}

Test(health, static_addresses_ignore_results)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);

	cr_assert_not(health_record(h, 0, &FAIL, 1, NULL));
	cr_assert_not(health_record(h, 99, &FAIL, 1, NULL), "out of range is ignored");
	health_update_published(h);
	cr_assert(health_published_set(h)[0]);
	cr_assert(health_published_set(h)[1]);
	health_free(h);
}

Test(health, all_down_withdraw_publishes_nothing)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);

	health_record(h, 2, &FAIL, 1, NULL);
	health_record(h, 3, &FAIL, 1, NULL);
	health_update_published(h);
	cr_assert_not(health_published_set(h)[2]);
	cr_assert_not(health_published_set(h)[3]);
	health_free(h);
}

Test(health, serve_all_fails_open_and_back)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_SERVE_ALL);
	struct health *h = health_new(&test_cfg, 0);

	/* First round half in: one down, one unknown: not yet "all down". */
	health_record(h, 4, &FAIL, 1, NULL);
	cr_assert_not(health_update_published(h));
	cr_assert_not(health_published_set(h)[4]);
	cr_assert_not(health_published_set(h)[5]);
	/* Round complete, none up: fail open. */
	health_record(h, 5, &FAIL, 1, NULL);
	cr_assert(health_update_published(h));
	cr_assert(health_published_set(h)[4]);
	cr_assert(health_published_set(h)[5]);
	cr_assert_eq(health_count_published(h), 4);
	/* One comes back: only it is published. */
	health_record(h, 5, &PASS, 2, NULL);
	cr_assert(health_update_published(h));
	cr_assert_not(health_published_set(h)[4]);
	cr_assert(health_published_set(h)[5]);
	/* It goes again: fail open again. */
	health_record(h, 5, &FAIL, 3, NULL);
	cr_assert(health_update_published(h));
	cr_assert(health_published_set(h)[4]);
	cr_assert(health_published_set(h)[5]);
	health_free(h);
}

Test(health, serve_all_does_not_affect_other_entries)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_SERVE_ALL);
	struct health *h = health_new(&test_cfg, 0);

	for (size_t i = 2; i < 6; i++)
		health_record(h, i, &FAIL, 1, NULL);
	health_update_published(h);
	cr_assert_not(health_published_set(h)[2], "www withdraws");
	cr_assert_not(health_published_set(h)[3], "www withdraws");
	cr_assert(health_published_set(h)[4], "api serves all");
	cr_assert(health_published_set(h)[5], "api serves all");
	health_free(h);
}

Test(health, entry_of_flat_index)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	const size_t want[] = { 0, 0, 1, 1, 2, 2 };

	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(health_entry_of(h, i), want[i], "address %zu", i);
	cr_assert_str_eq(health_state_name(HEALTH_UP), "up");
	cr_assert_str_eq(health_state_name(HEALTH_DOWN), "down");
	cr_assert_str_eq(health_state_name(HEALTH_UNKNOWN), "unknown");
	health_free(h);
}

/* Issue 16: the class of the last failure stays with it (as its reason
 * does) after passes; changes count up/down flips, not the first
 * verdict. */
Test(health, error_class_and_changes)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	static const struct health_result unclassed = { .pass = false, .reason = "odd" };

	cr_assert(health_record(h, 2, &PASS, 10, NULL));
	cr_assert_eq(health_addr(h, 2)->changes, 0);
	cr_assert_eq(health_addr(h, 2)->error_class, HEALTH_ERR_NONE);
	cr_assert(health_addr(h, 2)->last_pass);
	cr_assert(health_record(h, 2, &HTTP503, 20, NULL));
	cr_assert_eq(health_addr(h, 2)->changes, 1);
	cr_assert_eq(health_addr(h, 2)->error_class, HEALTH_ERR_HTTP_STATUS);
	cr_assert_not(health_addr(h, 2)->last_pass);
	cr_assert_not(health_record(h, 2, &FAIL, 30, NULL));
	cr_assert_eq(health_addr(h, 2)->error_class, HEALTH_ERR_REFUSED);
	cr_assert(health_record(h, 2, &PASS, 40, NULL));
	cr_assert_eq(health_addr(h, 2)->changes, 2);
	cr_assert_eq(health_addr(h, 2)->error_class, HEALTH_ERR_REFUSED);
	cr_assert(health_addr(h, 2)->last_pass);
	/* A failure without a class is "other", never "none". */
	cr_assert(health_record(h, 2, &unclassed, 50, NULL));
	cr_assert_eq(health_addr(h, 2)->error_class, HEALTH_ERR_OTHER);
	cr_assert_eq(health_addr(h, 2)->changes, 3);
	cr_assert_str_eq(health_error_name(HEALTH_ERR_HTTP_STATUS), "http_status");
	cr_assert_str_eq(health_error_name((enum health_error)200), "other");
	/* First verdict down: no change either. */
	cr_assert(health_record(h, 3, &FAIL, 10, NULL));
	cr_assert_eq(health_addr(h, 3)->changes, 0);
	health_free(h);
}

/* Overrides (DESIGN §12.3): drained is never published, forced-up counts
 * as up, static addresses cannot be overridden. */
Test(health, drain_and_force_up_come_before_health)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_WITHDRAW);
	struct health *h = health_new(&test_cfg, 0);
	struct health_transition tr;

	health_record(h, 2, &PASS, 1, &tr);
	health_record(h, 3, &FAIL, 1, &tr);
	health_update_published(h);
	cr_assert(health_published_set(h)[2]);
	health_set_admin(h, 2, HEALTH_ADMIN_DRAINED);
	health_set_admin(h, 3, HEALTH_ADMIN_FORCED_UP);
	cr_assert_eq(health_admin(h, 2), HEALTH_ADMIN_DRAINED);
	cr_assert(health_update_published(h));
	cr_assert_not(health_published_set(h)[2], "a drained UP address is published");
	cr_assert(health_published_set(h)[3], "a forced-up DOWN address is not published");
	/* The check keeps running underneath: the state is still its own. */
	cr_assert_eq(health_addr(h, 2)->state, HEALTH_UP);
	cr_assert_eq(health_addr(h, 3)->state, HEALTH_DOWN);
	health_set_admin(h, 2, HEALTH_ADMIN_NONE);
	health_set_admin(h, 3, HEALTH_ADMIN_NONE);
	cr_assert(health_update_published(h));
	cr_assert(health_published_set(h)[2]);
	cr_assert_not(health_published_set(h)[3]);
	/* A static address ignores overrides. */
	health_set_admin(h, 0, HEALTH_ADMIN_DRAINED);
	cr_assert_eq(health_admin(h, 0), HEALTH_ADMIN_NONE);
	cr_assert_not(health_update_published(h));
	cr_assert(health_published_set(h)[0]);
	health_free(h);
}

Test(health, serve_all_never_publishes_a_drained_address)
{
	test_setup(1, 1, CONFIG_ALL_DOWN_SERVE_ALL);
	struct health *h = health_new(&test_cfg, 0);
	struct health_transition tr;

	/* api: 4 down, 5 down: serve_all publishes both. */
	health_record(h, 4, &FAIL, 1, &tr);
	health_record(h, 5, &FAIL, 1, &tr);
	health_update_published(h);
	cr_assert(health_published_set(h)[4] && health_published_set(h)[5]);
	/* Drain 4: serve_all still fails open, with 5 only. */
	health_set_admin(h, 4, HEALTH_ADMIN_DRAINED);
	cr_assert(health_update_published(h));
	cr_assert_not(health_published_set(h)[4]);
	cr_assert(health_published_set(h)[5]);
	/* Force 5 up: it counts as up, so not "all down" any more: 5 only. */
	health_set_admin(h, 5, HEALTH_ADMIN_FORCED_UP);
	cr_assert_not(health_update_published(h));
	cr_assert(health_published_set(h)[5]);
	/* Both drained: nothing, even under serve_all. */
	health_set_admin(h, 5, HEALTH_ADMIN_DRAINED);
	cr_assert(health_update_published(h));
	cr_assert_not(health_published_set(h)[4] || health_published_set(h)[5]);
	/* One drained, the other UP: an ordinary publish of the UP one. */
	health_set_admin(h, 5, HEALTH_ADMIN_NONE);
	health_record(h, 5, &PASS, 2, &tr);
	cr_assert(health_update_published(h));
	cr_assert(health_published_set(h)[5]);
	cr_assert_not(health_published_set(h)[4]);
	health_free(h);
}
