/*
 * The administrator subcommands from the outside: `ds` prints what the
 * parent zone needs (checked against ldns-key2ds over the DNSKEY the
 * running server serves), `dump` prints the live signed zone (checked by
 * ldns-verify-zone and BIND's dnssec-verify), and a bad key is refused
 * before the server binds anything. Keys are made at test time.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"
#define ALIAS "alias.test"

/* The zone flags, with room for the key flags and a terminator. */
#define ZONE_ARGS                                                              \
	"--hosted-zone", ZONE, "--alias-zones", "[\"" ALIAS "\"]", "--ns",      \
		"[\"ns1." ZONE "\", \"ns2." ZONE "\"]", "--zone-resolutions",  \
		"{\"www\": [\"192.0.2.1\", \"2001:db8::1\"], \"a.b.deep\": "   \
		"[\"192.0.2.2\"], \"api\": {\"ips\": [\"127.0.0.1\"], "        \
		"\"health_port\": 9}}",                                        \
		"--workers", "1", "--user", "nobody", "--test-timeout", "1"

/* Collapse runs of blanks to one space and lower-case, so that lines
 * printed by two tools compare by content. */
static void normalize(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	bool blank = false;

	for (; *in && n + 1 < cap; in++) {
		if (*in == ' ' || *in == '\t') {
			blank = n > 0;
			continue;
		}
		if (blank && *in != '\n' && n + 1 < cap)
			out[n++] = ' ';
		blank = false;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
}

static int start_signed(struct sys_server *s, const char *key, const char *alg)
{
	const char *args[] = {ZONE_ARGS, "--priv-key-path", key, "--priv-key-alg", alg, NULL};

	return sys_server_start(s, args);
}

/* `a-healthy-dns ds` with the zone flags and this key; stdout/stderr. */
static int run_ds(const char *key, const char *alg, char **out, char **err)
{
	const char *argv[32] = {sys_bin(), "ds", ZONE_ARGS};
	size_t n = 0;

	while (argv[n] != NULL)
		n++;
	if (key != NULL) {
		argv[n++] = "--priv-key-path";
		argv[n++] = key;
		argv[n++] = "--priv-key-alg";
		argv[n++] = alg;
	}
	argv[n] = NULL;
	return sys_run(argv, 20000, out, err);
}

/* The DS that ldns-key2ds computes from the DNSKEY the server serves. */
static char *ldns_ds_of_served_dnskey(uint16_t port, const char *apex, const char *dir)
{
	const char *dig_args[] = {"DNSKEY", apex, "+noall", "+answer", NULL};
	char *dnskey = sys_dig(port, dig_args);
	char path[256];
	char *out = NULL;
	int rc;

	cr_assert_not_null(dnskey, "dig DNSKEY %s", apex);
	cr_assert(strstr(dnskey, "DNSKEY") != NULL, "no DNSKEY for %s: %s", apex, dnskey);
	snprintf(path, sizeof(path), "%s/%s.dnskey", dir, apex);
	cr_assert_eq(sys_write_file(path, dnskey), 0);
	free(dnskey);
	{
		const char *argv[] = {"ldns-key2ds", "-n", "-2", path, NULL};

		rc = sys_run(argv, 10000, &out, NULL);
	}
	cr_assert_eq(rc, 0, "ldns-key2ds failed");
	return out;
}

static void key_dir(const char *key, char *dir, size_t cap)
{
	snprintf(dir, cap, "%s", key);
	*strrchr(dir, '/') = '\0';
}

Test(subcommands, ds_equals_ldns_key2ds_of_the_served_dnskey, .timeout = 90)
{
	static const char *const kinds[][2] = {
		{"P-256", "ECDSAP256SHA256"},
		{"ED25519", "ED25519"},
	};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct sys_server s;
		char key[256], dir[256], want[2048], got[2048];
		char *ds = NULL, *err = NULL, *hosted, *alias, *both;

		cr_assert_eq(sys_make_key(kinds[k][0], key, sizeof(key)), 0);
		key_dir(key, dir, sizeof(dir));
		cr_assert_eq(start_signed(&s, key, kinds[k][1]), 0, "%s", kinds[k][1]);
		hosted = ldns_ds_of_served_dnskey(s.port, ZONE, dir);
		alias = ldns_ds_of_served_dnskey(s.port, ALIAS, dir);

		cr_assert_eq(run_ds(key, kinds[k][1], &ds, &err), 0, "ds: %s", err);
		cr_expect_str_empty(err);
		cr_expect_eq(sys_count_lines(ds), 2, "one DS per zone: %s", ds);
		both = malloc(strlen(hosted) + strlen(alias) + 1);
		cr_assert_not_null(both);
		strcpy(both, hosted);
		strcat(both, alias);
		normalize(both, want, sizeof(want));
		normalize(ds, got, sizeof(got));
		cr_expect_str_eq(got, want, "%s: ds printed\n%s\nldns-key2ds\n%s", kinds[k][1],
				 got, want);
		/* The same DS was logged at start-up. */
		{
			char *log = sys_server_log(&s);
			char line[512];

			snprintf(line, sizeof(line), "DS for the parent of %s: ", ZONE);
			cr_expect(log != NULL && strstr(log, line) != NULL, "%s", log);
			free(log);
		}
		free(both);
		free(hosted);
		free(alias);
		free(ds);
		free(err);
		cr_assert_eq(sys_server_stop(&s), 0);
		sys_remove_key(key);
	}
}

Test(subcommands, ds_needs_a_key)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(run_ds(NULL, NULL, &out, &err), 1);
	cr_expect_str_empty(out);
	cr_expect_eq(sys_count_lines(err), 1, "%s", err);
	cr_expect(strstr(err, "--priv-key-path") != NULL, "%s", err);
	free(out);
	free(err);
}

/* A key that does not fit --priv-key-alg is refused with one line, by
 * `ds` and by the server, which then binds nothing. */
Test(subcommands, mismatched_key_is_refused_before_binding, .timeout = 60)
{
	const char *const args_tail[] = {"--priv-key-alg", "ECDSAP256SHA256", NULL};
	struct sys_server s;
	char key[256], port[8];
	char *out = NULL, *err = NULL, *log;
	uint16_t p;
	int st;

	cr_assert_eq(sys_make_key("ED25519", key, sizeof(key)), 0);
	cr_assert_eq(run_ds(key, "ECDSAP256SHA256", &out, &err), 1);
	cr_expect_str_empty(out);
	cr_expect_eq(sys_count_lines(err), 1, "%s", err);
	cr_expect(strstr(err, key) != NULL, "%s", err);
	free(out);
	free(err);

	p = sys_free_port();
	snprintf(port, sizeof(port), "%u", p);
	{
		const char *args[] = {ZONE_ARGS, "--listen", "127.0.0.1", "--port", port,
				      "--priv-key-path", key, args_tail[0], args_tail[1], NULL};

		cr_assert_eq(sys_server_start_raw(&s, args, p, NULL), 0);
	}
	st = sys_server_wait(&s, 20000);
	log = sys_server_log(&s);
	cr_expect_eq(st, 1, "exit status %d, log: %s", st, log);
	cr_expect_eq(sys_count_lines(log), 1, "%s", log);
	cr_expect(strstr(log, "--priv-key") != NULL, "%s", log);
	cr_expect(strstr(log, "listen") == NULL, "bound before refusing: %s", log);
	free(log);
	sys_server_stop(&s);
	sys_remove_key(key);
}

/* dump --zone of each zone as the unprivileged "nobody": one zone per
 * file, as dnssec-verify wants. */
static char *dump_zone_as_nobody(const struct sys_server *s, const char *apex)
{
	char port[8];
	char *out = NULL, *err = NULL;
	int rc;

	snprintf(port, sizeof(port), "%u", s->port);
	{
		const char *argv[] = {"setpriv", "--reuid=nobody", "--regid=nogroup",
				      "--clear-groups", sys_bin(), "dump", "--port", port,
				      "--zone", apex, NULL};

		rc = sys_run(argv, 20000, &out, &err);
	}
	cr_assert_eq(rc, 0, "dump --zone %s: %s", apex, err);
	cr_expect_str_empty(err);
	free(err);
	return out;
}

static void verify_zone_file(const char *dir, const char *apex, const char *text)
{
	char path[256];
	char *out = NULL, *err = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.zone", dir, apex);
	cr_assert_eq(sys_write_file(path, text), 0);
	{
		const char *argv[] = {"ldns-verify-zone", path, NULL};

		rc = sys_run(argv, 30000, &out, &err);
	}
	cr_expect_eq(rc, 0, "ldns-verify-zone %s: %s%s", apex, out, err);
	free(out);
	free(err);
	out = err = NULL;
	{
		/* -z: our one key is both KSK and ZSK (flags 257). */
		const char *argv[] = {"dnssec-verify", "-z", "-o", apex, path, NULL};

		rc = sys_run(argv, 30000, &out, &err);
	}
	cr_expect_eq(rc, 0, "dnssec-verify %s: %s%s", apex, out, err);
	free(out);
	free(err);
}

Test(subcommands, dump_of_a_signed_server_verifies, .timeout = 120)
{
	static const char *const kinds[][2] = {
		{"P-256", "ECDSAP256SHA256"},
		{"ED25519", "ED25519"},
	};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct sys_server s;
		char key[256], dir[256], port[8];
		char *all = NULL, *err = NULL, *zone, *alias;
		int rc;

		cr_assert_eq(sys_make_key(kinds[k][0], key, sizeof(key)), 0);
		key_dir(key, dir, sizeof(dir));
		cr_assert_eq(start_signed(&s, key, kinds[k][1]), 0);

		/* The whole image: both zones, each with its header. */
		snprintf(port, sizeof(port), "%u", s.port);
		{
			const char *argv[] = {sys_bin(), "dump", "--port", port, NULL};

			rc = sys_run(argv, 20000, &all, &err);
		}
		cr_assert_eq(rc, 0, "dump: %s", err);
		cr_expect(strstr(all, "; zone " ZONE " serial ") != NULL, "%s", all);
		cr_expect(strstr(all, "; zone " ALIAS " serial ") != NULL, "%s", all);
		cr_expect(strstr(all, "RRSIG") != NULL && strstr(all, "NSEC") != NULL &&
				  strstr(all, "DNSKEY") != NULL,
			  "not signed: %s", all);

		zone = dump_zone_as_nobody(&s, ZONE);
		alias = dump_zone_as_nobody(&s, ALIAS ".");
		cr_expect(strstr(zone, ALIAS) == NULL, "--zone " ZONE " leaks the alias");
		cr_expect(strstr(alias, "www." ALIAS ".") != NULL, "%s", alias);
		verify_zone_file(dir, ZONE, zone);
		verify_zone_file(dir, ALIAS, alias);
		free(all);
		free(err);
		free(zone);
		free(alias);
		cr_assert_eq(sys_server_stop(&s), 0);
		sys_remove_key(key);
	}
}

Test(subcommands, dump_without_a_server_says_so)
{
	char port[8];
	char *out = NULL, *err = NULL;
	int rc;

	snprintf(port, sizeof(port), "%u", sys_free_port());
	{
		const char *argv[] = {sys_bin(), "dump", "--port", port, NULL};

		rc = sys_run(argv, 10000, &out, &err);
	}
	cr_expect_eq(rc, 1);
	cr_expect_str_empty(out);
	cr_expect_eq(sys_count_lines(err), 1, "%s", err);
	cr_expect(strstr(err, "no zone image") != NULL && strstr(err, port) != NULL, "%s", err);
	free(out);
	free(err);
	out = err = NULL;
	{
		const char *argv[] = {sys_bin(), "dump", "--bogus", "1", NULL};

		rc = sys_run(argv, 10000, &out, &err);
	}
	cr_expect_eq(rc, 1);
	cr_expect_eq(sys_count_lines(err), 1, "%s", err);
	free(out);
	free(err);
}

Test(subcommands, dump_of_an_unknown_zone_is_refused, .timeout = 60)
{
	const char *args[] = {ZONE_ARGS, NULL};
	struct sys_server s;
	char port[8];
	char *out = NULL, *err = NULL;
	int rc;

	cr_assert_eq(sys_server_start(&s, args), 0);
	snprintf(port, sizeof(port), "%u", s.port);
	{
		const char *argv[] = {sys_bin(), "dump", "--port", port, "--zone", "other.test",
				      NULL};

		rc = sys_run(argv, 10000, &out, &err);
	}
	cr_expect_eq(rc, 1);
	cr_expect_str_empty(out);
	cr_expect_eq(sys_count_lines(err), 1, "%s", err);
	cr_expect(strstr(err, "other.test") != NULL, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(sys_server_stop(&s), 0);
}
