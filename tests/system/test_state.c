/*
 * --state-dir: the SOA serial never goes backwards across restarts
 * (secondaries ignore a primary whose serial went down, RFC 1982 /
 * RFC 1996 section 4.7), even when it ran ahead of the clock.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"

/* a is after b in serial number arithmetic (RFC 1982 section 3.2). */
static bool serial_after(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static void start(struct sys_server *s, const char *dir)
{
	const char *args[] = {"--hosted-zone", ZONE, "--ns", "[\"ns1.example.test\"]",
			      "--zone-resolutions", "{\"www\": [\"127.0.0.1\"]}",
			      "--state-dir", dir, NULL};

	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

static uint32_t soa(const struct sys_server *s)
{
	int64_t v = sys_soa_serial(s->port, ZONE);

	cr_assert_geq(v, 0, "no SOA answer");
	return (uint32_t)v;
}

/* The serial in dir/serial, waiting up to 5 s for it to reach want. */
static uint32_t saved_reaching(const char *dir, uint32_t want)
{
	char path[300];
	uint32_t got = 0;
	int64_t end = sys_now_ms() + 5000;

	snprintf(path, sizeof(path), "%s/serial", dir);
	do {
		char *text = sys_read_file(path, NULL);

		if (text != NULL) {
			got = (uint32_t)strtoul(text, NULL, 10);
			free(text);
		}
		if (got == want || serial_after(got, want))
			break;
		sys_sleep_ms(50);
	} while (sys_now_ms() < end);
	return got;
}

Test(state, restart_never_serves_a_lower_serial)
{
	char dir[] = "/tmp/ahd-state-XXXXXX";
	char path[300], text[32];
	struct sys_server s;
	/* What a run that published faster than once a second leaves: a
	 * serial a day ahead of the clock. */
	uint32_t ahead = (uint32_t)time(NULL) + 86400, s1, s2;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/serial", dir);
	snprintf(text, sizeof(text), "%u\n", ahead);
	cr_assert_eq(sys_write_file(path, text), 0);

	start(&s, dir);
	s1 = soa(&s);
	cr_expect(serial_after(s1, ahead), "first serial %u is not after the saved %u", s1, ahead);
	cr_expect_eq(saved_reaching(dir, s1), s1, "the served serial was not saved");
	cr_assert_eq(sys_server_stop(&s), 0);

	start(&s, dir);
	s2 = soa(&s);
	cr_expect(serial_after(s2, s1), "after a restart serial %u is not after %u", s2, s1);
	cr_assert_eq(sys_server_stop(&s), 0);
	unlink(path);
	rmdir(dir);
}

Test(state, unreadable_saved_serial_warns_and_starts_from_the_clock)
{
	char dir[] = "/tmp/ahd-state-XXXXXX";
	char path[300];
	struct sys_server s;
	char *log;
	uint32_t now = (uint32_t)time(NULL), s1;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/serial", dir);
	cr_assert_eq(sys_write_file(path, "not a number\n"), 0);
	start(&s, dir);
	s1 = soa(&s);
	cr_expect(s1 == now || serial_after(s1, now), "serial %u is before the clock %u", s1,
		  now);
	log = sys_server_log(&s);
	cr_expect(strstr(log, "does not hold a serial") != NULL, "%s", log);
	free(log);
	/* The next save replaces the bad file. */
	cr_expect_eq(saved_reaching(dir, s1), s1);
	cr_assert_eq(sys_server_stop(&s), 0);
	unlink(path);
	rmdir(dir);
}
