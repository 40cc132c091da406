/*
 * Zone transfers against the real binary (DESIGN §9.3), with dig as the
 * client: who may transfer (--transfer-allow, changed by SIGHUP without
 * restarting the workers), TSIG (right key, wrong key, no key), and one
 * log line per refusal.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "xfr.test"
#define NS "\"ns\": [\"ns1.example.net\", \"ns2.example.net\"]"
/* A TSIG secret made for this test (openssl rand -base64 32). */
#define SECRET "q8V0mNnU3lU5P3m2wEr4o6Xk1YyWbJ3cF7h9GdTzA0s="
#define WRONG "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

TestSuite(xfr, .timeout = 120);

static char cfg_path[128], key_path[128];

static void write_config(const char *allow)
{
	char json[1024], tmp[160];

	if (cfg_path[0] == '\0')
		snprintf(cfg_path, sizeof(cfg_path), "/tmp/ahd-test-xfr.%d.json", (int)getpid());
	snprintf(json, sizeof(json),
		 "{\"hosted-zone\": \"" ZONE "\", " NS ", \"workers\": 2, \"user\": \"nobody\", "
		 "\"zone-resolutions\": {\"www\": [\"192.0.2.1\"], \"api\": [\"192.0.2.2\"]}, "
		 "\"transfer-allow\": %s}",
		 allow);
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg_path);
	cr_assert_eq(sys_write_file(tmp, json), 0);
	cr_assert_eq(rename(tmp, cfg_path), 0);
}

/* dig's output for an AXFR of ZONE from source address src, with key
 * (NULL: unsigned); NULL if dig failed to run. */
static char *axfr(uint16_t port, const char *src, const char *key)
{
	const char *args[] = {"-b", src, ZONE, "AXFR", "+nostats", key ? "-y" : NULL, key, NULL};

	return sys_dig(port, args);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static bool transferred(const char *out)
{
	/* The SOA opens and closes the zone; dig says "Transfer failed"
	 * on a refusal and complains about a TSIG it cannot verify. */
	return out != NULL && strstr(out, "Transfer failed") == NULL &&
	       strstr(out, "tsig") == NULL && strstr(out, "www." ZONE ".") != NULL &&
	       count(out, "\tSOA\t") == 2;
}

Test(xfr, sighup_changes_who_may_transfer_and_the_workers_stay)
{
	struct sys_server s;
	struct sys_kids before, after;
	const char *args[] = {"--config", cfg_path, NULL};
	char *out, *log;
	bool ok = false;

	write_config("[\"127.0.0.2/32\"]");
	cr_assert_eq(sys_server_start(&s, args), 0);
	cr_assert_eq(sys_wait_kids(s.pid, &before, 2), 0);
	out = axfr(s.port, "127.0.0.1", NULL);
	cr_assert_not_null(out);
	cr_assert_not(transferred(out), "127.0.0.1 is not allowed yet:\n%s", out);
	free(out);
	out = axfr(s.port, "127.0.0.2", NULL);
	cr_assert(transferred(out), "127.0.0.2 is allowed:\n%s", out);
	cr_assert_eq(count(out, "\tSOA\t"), 2, "SOA first and last:\n%s", out);
	free(out);
	cr_assert_eq(sys_server_wait_log(&s, "from 127.0.0.1 refused: not in --transfer-allow",
					 5000), 0);

	write_config("[\"127.0.0.1/32\"]");
	cr_assert_eq(kill(s.pid, SIGHUP), 0);
	for (int i = 0; i < 100 && !ok; i++) {
		sys_sleep_ms(100);
		out = axfr(s.port, "127.0.0.1", NULL);
		ok = transferred(out);
		free(out);
	}
	cr_assert(ok, "the reloaded list never reached the workers");
	out = axfr(s.port, "127.0.0.2", NULL);
	cr_assert_not(transferred(out), "127.0.0.2 was removed");
	free(out);
	sys_find_kids(s.pid, &after);
	cr_assert_eq(after.n_workers, before.n_workers);
	for (size_t i = 0; i < before.n_workers; i++)
		cr_assert_eq(after.workers[i], before.workers[i], "worker %zu was restarted", i);
	log = sys_server_log(&s);
	cr_assert_not_null(log);
	cr_assert_eq(sys_server_stop(&s), 0);
	free(log);
	unlink(cfg_path);
}

Test(xfr, tsig_right_key_wrong_key_no_key_each_refusal_logged_once)
{
	struct sys_server s;
	char key_file[256];
	char notify[64], port_s[16], *out, *log, *status = NULL;
	const char *args[] = {"--hosted-zone", ZONE, "--ns", "[\"ns1.example.net\"]",
			      "--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}",
			      "--transfer-allow", "[\"127.0.0.0/8\"]", "--tsig-key", key_path,
			      "--notify", notify, "--workers", "1", "--user", "nobody", NULL};
	char want[64];

	/* A secondary at 127.0.0.1 (nothing answers its NOTIFY): status
	 * shows the transfer it made. */
	snprintf(notify, sizeof(notify), "[\"127.0.0.1:%u\"]", sys_free_port());

	snprintf(key_path, sizeof(key_path), "/tmp/ahd-test-xfr-key.%d", (int)getpid());
	snprintf(key_file, sizeof(key_file),
		 "key \"xfr-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"%s\";\n};\n", SECRET);
	cr_assert_eq(sys_write_file(key_path, key_file), 0);
	cr_assert_eq(chmod(key_path, 0600), 0);
	cr_assert_eq(sys_server_start(&s, args), 0);

	/* The notifier lists the secondary in status once it has started
	 * (after the workers): a transfer before that has no row to go to. */
	snprintf(port_s, sizeof(port_s), "%u", s.port);
	for (int i = 0; i < 100; i++) {
		const char *argv[] = {sys_bin(), "status", "--json", "--port", port_s, NULL};
		bool listed;

		cr_assert_eq(sys_run(argv, 10000, &status, NULL), 0);
		listed = strstr(status, "\"notified_serial\":") != NULL &&
			 strstr(status, "\"notified_serial\":null") == NULL;
		free(status);
		status = NULL;
		if (listed)
			break;
		sys_sleep_ms(100);
	}
	out = axfr(s.port, "127.0.0.1", "hmac-sha256:xfr-key:" SECRET);
	cr_assert(transferred(out), "the signed AXFR failed:\n%s", out);
	free(out);
	snprintf(want, sizeof(want), "\"last_transfer_serial\":%lld",
		 (long long)sys_soa_serial(s.port, ZONE));
	{
		const char *argv[] = {sys_bin(), "status", "--json", "--port", port_s, NULL};

		cr_assert_eq(sys_run(argv, 10000, &status, NULL), 0);
	}
	cr_assert_not_null(strstr(status, want), "want %s in:\n%s", want, status);
	free(status);
	/* Wrong secret: NOTAUTH with BADSIG, which dig cannot verify. */
	out = axfr(s.port, "127.0.0.1", "hmac-sha256:xfr-key:" WRONG);
	cr_assert_not(transferred(out));
	free(out);
	cr_assert_eq(sys_server_wait_log(&s, "refused: TSIG signature wrong (BADSIG)", 5000), 0);
	/* Unknown key name: BADKEY (another reason: logged at once). */
	out = axfr(s.port, "127.0.0.1", "hmac-sha256:other-key:" SECRET);
	cr_assert_not(transferred(out));
	free(out);
	cr_assert_eq(sys_server_wait_log(&s, "refused: TSIG key unknown (BADKEY)", 5000), 0);
	out = axfr(s.port, "127.0.0.1", NULL);
	cr_assert_not(transferred(out));
	free(out);
	cr_assert_eq(sys_server_wait_log(&s, "refused: not signed with the TSIG key", 5000), 0);
	/* The same mistake again at once: counted, not logged. */
	for (int i = 0; i < 3; i++)
		free(axfr(s.port, "127.0.0.1", NULL));
	log = sys_server_log(&s);
	cr_assert_eq(count(log, "refused:"), 3, "one line per reason and second:\n%s", log);
	cr_assert_null(strstr(log, SECRET), "the secret was logged");
	free(log);
	/* status counts them: 1 zone sent, 2 bad TSIG, 4 unsigned. */
	{
		const char *argv[] = {sys_bin(), "status", "--json", "--port", port_s, NULL};

		cr_assert_eq(sys_run(argv, 10000, &status, NULL), 0);
	}
	cr_assert_not_null(strstr(status, "\"transfers_whole\":1"), "%s", status);
	cr_assert_not_null(strstr(status, "\"transfers_bad_tsig\":2"), "%s", status);
	cr_assert_not_null(strstr(status, "\"transfers_refused\":4"), "%s", status);
	free(status);
	cr_assert_eq(sys_server_stop(&s), 0);
	unlink(key_path);
}
