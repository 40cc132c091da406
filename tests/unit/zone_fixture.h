/*
 * The zone test_zimg_iter.c and test_xfr_hist.c build images of (one
 * copy, included by both; ZONE_FIXTURE_TAG names the temporary
 * directory):
 */
#ifndef AHD_TEST_ZONE_FIXTURE_H
#define AHD_TEST_ZONE_FIXTURE_H

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* example.com + alias example.net:
 *   www        static 192.0.2.1                     (address 0)
 *   api        checked 192.0.2.10, 192.0.2.11       (addresses 1, 2)
 *   deep.b.c   static 192.0.2.30                    (address 3; b.c, c: ENTs)
 *   v6         checked 192.0.2.40, 2001:db8::40     (addresses 4, 5)
 *   gone       checked 192.0.2.50                   (address 6)
 */
static struct config cfg;
static struct config_entry entries[5];
static struct config_addr addrs[5][2];
static char *ns[] = {"ns1.example.com", "ns.other.org"};
static char *aliases[] = {"example.net"};
static char tdir[64];

static void addr(struct config_addr *a, const char *text)
{
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(a->family, text, a->addr), 1);
}

static void zone_fixture_setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(entries, 0, sizeof(entries));
	memset(addrs, 0, sizeof(addrs));
	cfg.hosted_zone = "example.com";
	cfg.alias_zones = aliases;
	cfg.n_alias_zones = 1;
	cfg.ns = ns;
	cfg.n_ns = 2;
	cfg.test_min_interval = 30;
	cfg.test_timeout = 2;
	cfg.entries = entries;
	cfg.n_entries = 5;
	cfg.n_addrs_total = 7;
	entries[0] = (struct config_entry){.name = "www", .addrs = addrs[0], .n_addrs = 1,
					   .first_addr = 0, .ttl = -1, .rise = 1, .fall = 1};
	entries[1] = (struct config_entry){.name = "api", .addrs = addrs[1], .n_addrs = 2,
					   .first_addr = 1, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	entries[2] = (struct config_entry){.name = "deep.b.c", .addrs = addrs[2], .n_addrs = 1,
					   .first_addr = 3, .ttl = -1, .rise = 1, .fall = 1};
	entries[3] = (struct config_entry){.name = "v6", .addrs = addrs[3], .n_addrs = 2,
					   .first_addr = 4, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	entries[4] = (struct config_entry){.name = "gone", .addrs = addrs[4], .n_addrs = 1,
					   .first_addr = 6, .check = CONFIG_CHECK_TCP,
					   .health_port = 80, .ttl = -1, .rise = 1, .fall = 1};
	addr(&addrs[0][0], "192.0.2.1");
	addr(&addrs[1][0], "192.0.2.10");
	addr(&addrs[1][1], "192.0.2.11");
	addr(&addrs[2][0], "192.0.2.30");
	addr(&addrs[3][0], "192.0.2.40");
	addr(&addrs[3][1], "2001:db8::40");
	addr(&addrs[4][0], "192.0.2.50");
	snprintf(tdir, sizeof(tdir), "/tmp/ahd-%s-XXXXXX", ZONE_FIXTURE_TAG);
	cr_assert_not_null(mkdtemp(tdir));
}

static void zone_fixture_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	(void)!system(cmd);
}

#endif
