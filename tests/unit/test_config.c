#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <ldns/ldns.h>

#include "ahd.h"
#include "config.h"
#include "../../src/config_int.h"
#include "tsig.h"

#define ZONE_ARGS "--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]", \
		  "--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}"

/* What a run of config_parse printed on fd 1 and fd 2. */
struct run {
	int rc;
	enum config_action action;
	char out[16384];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t n)
{
	ssize_t r;
	size_t got = 0;

	lseek(fd, 0, SEEK_SET);
	while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
}

/* Runs config_parse with fd 1 and fd 2 sent to temp files. */
static void run_parse(struct config *cfg, const char *const *args, const char *const *envp,
		      struct run *r)
{
	const char *argv[64];
	size_t argc = 0;
	char out_path[] = "/tmp/test_config_outXXXXXX";
	char err_path[] = "/tmp/test_config_errXXXXXX";
	int out_fd = mkstemp(out_path);
	int err_fd = mkstemp(err_path);
	int saved_out = dup(1);
	int saved_err = dup(2);

	cr_assert(out_fd >= 0 && err_fd >= 0 && saved_out >= 0 && saved_err >= 0);
	unlink(out_path);
	unlink(err_path);
	argv[argc++] = "a-healthy-dns";
	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		cr_assert(argc < AHD_ARRAY_LEN(argv) - 1);
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	r->action = (enum config_action)-1;
	r->rc = config_parse(cfg, (int)argc, (char **)argv, (char **)envp, &r->action);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	slurp(out_fd, r->out, sizeof(r->out));
	slurp(err_fd, r->err, sizeof(r->err));
	close(out_fd);
	close(err_fd);
}

static char *write_temp(const char *content)
{
	char path[] = "/tmp/test_config_fileXXXXXX";
	int fd = mkstemp(path);
	size_t len = strlen(content);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return strdup(path);
}

/* Write a key-state file; 0 or -1. */
static int state_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Parses a valid configuration; fails the test on any error output. */
static void parse_ok(struct config *cfg, const char *const *args, const char *const *envp)
{
	struct run r;

	run_parse(cfg, args, envp, &r);
	cr_assert_eq(r.rc, 0, "config_parse failed: %s", r.err);
	cr_assert_eq(r.action, CONFIG_RUN);
	cr_assert_str_empty(r.err);
}

/*
 * Invalid inputs. Every case starts with the three required flags (unless
 * no_base), then args; a flag repeated later wins. file, when set, is
 * written to a temp file and passed with --config.
 */
struct bad_case {
	const char *args[12];
	const char *env[6];
	const char *file;
	bool no_base;
	const char *flag;  /* must appear in the message */
	const char *value; /* must appear in the message */
};

static const struct bad_case bad_cases[] = {
	/* Required flags. */
	{.no_base = true, .args = {"--ns", "[\"ns1.example.com\"]", "--zone-resolutions",
				   "{\"www\": [\"192.0.2.1\"]}"},
	 .flag = "--hosted-zone", .value = "is required"},
	{.no_base = true, .args = {"--hosted-zone", "example.com", "--zone-resolutions",
				   "{\"www\": [\"192.0.2.1\"]}"},
	 .flag = "--ns", .value = "is required"},
	{.no_base = true, .args = {"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]"},
	 .flag = "--zone-resolutions", .value = "is required"},
	/* --hosted-zone names. */
	{.args = {"--hosted-zone", "exa_mple.com"}, .flag = "--hosted-zone", .value = "'exa_mple.com'"},
	{.args = {"--hosted-zone", "example.com."}, .flag = "--hosted-zone", .value = "'example.com.'"},
	{.args = {"--hosted-zone="}, .flag = "--hosted-zone", .value = "'' is not a valid zone name"},
	{.args = {"--hosted-zone", "a..b"}, .flag = "--hosted-zone", .value = "'a..b'"},
	{.args = {"--hosted-zone",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"},
	 .flag = "--hosted-zone", .value = "longer than 63"},
	{.args = {"--hosted-zone", "-a.com"}, .flag = "--hosted-zone", .value = "'-a.com'"},
	{.args = {"--hosted-zone", "a-.com"}, .flag = "--hosted-zone", .value = "'a-.com'"},
	{.args = {"--hosted-zone",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	 .flag = "--hosted-zone", .value = "longer than 253"},
	{.args = {"--hosted-zone", "ex\nample.com"}, .flag = "--hosted-zone", .value = "'ex\\x0aample.com'"},
	/* --ns. */
	{.args = {"--ns", "not json"}, .flag = "--ns", .value = "'not json' is not valid JSON"},
	{.args = {"--ns", "[]"}, .flag = "--ns", .value = "'[]'"},
	{.args = {"--ns", "[\"ns1\"]"}, .flag = "--ns", .value = "'ns1'"},
	{.args = {"--ns", "{\"a\": 1}"}, .flag = "--ns", .value = "is not a JSON array"},
	{.args = {"--ns", "[\"ns1.example.com\", 5]"}, .flag = "--ns", .value = "'5'"},
	{.args = {"--ns", "[\"ns1.example.com.\"]"}, .flag = "--ns", .value = "'ns1.example.com.'"},
	/* --alias-zones. */
	{.args = {"--alias-zones", "[\"example.com\"]"}, .flag = "--alias-zones", .value = "'example.com'"},
	{.args = {"--alias-zones", "[\"sub.example.com\"]"}, .flag = "--alias-zones", .value = "'sub.example.com'"},
	{.args = {"--alias-zones", "[\"com\"]"}, .flag = "--alias-zones", .value = "'com'"},
	{.args = {"--alias-zones", "[\"example.net\", \"EXAMPLE.net\"]"}, .flag = "--alias-zones", .value = "'example.net' is listed twice"},
	{.args = {"--alias-zones", "[\"example.net\", \"a.example.net\"]"}, .flag = "--alias-zones", .value = "'a.example.net'"},
	{.args = {"--alias-zones", "[\"bad name.net\"]"}, .flag = "--alias-zones", .value = "'bad name.net'"},
	{.args = {"--alias-zones", "\"example.net\""}, .flag = "--alias-zones", .value = "'\"example.net\"'"},
	/* --zone-resolutions. */
	{.args = {"--zone-resolutions", "{}"}, .flag = "--zone-resolutions", .value = "'{}'"},
	{.args = {"--zone-resolutions", "[\"192.0.2.1\"]"}, .flag = "--zone-resolutions", .value = "not a JSON object"},
	{.args = {"--zone-resolutions", "{\"www\": [\"300.1.1.1\"]}"}, .flag = "--zone-resolutions", .value = "'www': address '300.1.1.1' is not an IPv4 or IPv6 address"},
	{.args = {"--zone-resolutions", "{\"@\": [\"192.0.2.1\"]}"}, .flag = "--zone-resolutions", .value = "'@'"},
	{.args = {"--zone-resolutions", "{\"\": [\"192.0.2.1\"]}"}, .flag = "--zone-resolutions", .value = "'': the apex"},
	{.args = {"--zone-resolutions", "{\"*\": [\"192.0.2.1\"]}"}, .flag = "--zone-resolutions", .value = "'*'"},
	{.args = {"--zone-resolutions", "{\"www\": []}"}, .flag = "--zone-resolutions", .value = "'www': '[]'"},
	{.args = {"--zone-resolutions", "{\"www\": [\"192.0.2.1\", \"192.0.2.1\"]}"}, .flag = "--zone-resolutions", .value = "'192.0.2.1' is listed twice"},
	{.args = {"--zone-resolutions", "{\"www\": [\"2001:db8::1\", \"2001:DB8:0::1\"]}"}, .flag = "--zone-resolutions", .value = "'2001:DB8:0::1' is listed twice"},
	{.args = {"--zone-resolutions", "{\"www\": \"192.0.2.1\"}"}, .flag = "--zone-resolutions", .value = "'www': '192.0.2.1'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"]}}"}, .flag = "--zone-resolutions", .value = "'www': \"health_port\" is required"},
	{.args = {"--zone-resolutions", "{\"www\": {\"health_port\": 80}}"}, .flag = "--zone-resolutions", .value = "'www': \"ips\" is required"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 0}}"}, .flag = "--zone-resolutions", .value = "\"health_port\" '0'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 70000}}"}, .flag = "--zone-resolutions", .value = "'70000'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": \"80\"}}"}, .flag = "--zone-resolutions", .value = "\"health_port\" '80'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"helth\": 1}}"}, .flag = "--zone-resolutions", .value = "unknown key 'helth'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"check\": \"udp\"}}"}, .flag = "--zone-resolutions", .value = "'udp'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"http_path\": \"/hz\"}}"}, .flag = "--zone-resolutions", .value = "'/hz' is only valid with"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"check\": \"http\", \"http_path\": \"hz\"}}"}, .flag = "--zone-resolutions", .value = "'hz'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"check\": \"http\", \"http_path\": \"/a b\"}}"}, .flag = "--zone-resolutions", .value = "'/a b'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"http\", \"tls_name\": \"a.example\"}}"}, .flag = "--zone-resolutions", .value = "\"tls_name\" 'a.example' is only valid with \"check\": \"https\""},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"http_host\": \"a.example\"}}"}, .flag = "--zone-resolutions", .value = "\"http_host\" 'a.example' is only valid with"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"http_status\": 200}}"}, .flag = "--zone-resolutions", .value = "\"http_status\" '200' is only valid with"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": 99}}"}, .flag = "--zone-resolutions", .value = "\"http_status\" '99' is not an HTTP status"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": \"299-200\"}}"}, .flag = "--zone-resolutions", .value = "'299-200'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": \"200-\"}}"}, .flag = "--zone-resolutions", .value = "'200-'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": \"200-1000\"}}"}, .flag = "--zone-resolutions", .value = "'200-1000'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": [200, true]}}"}, .flag = "--zone-resolutions", .value = "'true'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": []}}"}, .flag = "--zone-resolutions", .value = "must hold 1-16 statuses"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_status\": \" 200\"}}"}, .flag = "--zone-resolutions", .value = "' 200'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"tls_name\": \"192.0.2.1\"}}"}, .flag = "--zone-resolutions", .value = "an address is not a name"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"tls_name\": \"a..b\"}}"}, .flag = "--zone-resolutions", .value = "\"tls_name\" 'a..b' is not a valid host name"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"tls_name\": \"a.example.\"}}"}, .flag = "--zone-resolutions", .value = "\"tls_name\" 'a.example.' is not a valid host name: it ends with a dot"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"http_host\": \"a b\"}}"}, .flag = "--zone-resolutions", .value = "\"http_host\" 'a b'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"tls_verify\": \"maybe\"}}"}, .flag = "--zone-resolutions", .value = "\"tls_verify\" 'maybe' is not true or false"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"tls_ca_file\": \"ca.pem\"}}"}, .flag = "--zone-resolutions", .value = "\"tls_ca_file\" 'ca.pem' is not an absolute path"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", \"tls_ca_file\": \"/ca.pem\", \"tls_verify\": false}}"}, .flag = "--zone-resolutions", .value = "is given with \"tls_verify\": false"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"tls\"}}"}, .flag = "--zone-resolutions", .value = "'tls' is not a check type"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"tls_ca_file\": \"/ca.pem\"}}"}, .flag = "--zone-resolutions", .value = "only valid with \"check\": \"https\""},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"rise\": 0}}"}, .flag = "--zone-resolutions", .value = "\"rise\" '0'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"fall\": 101}}"}, .flag = "--zone-resolutions", .value = "\"fall\" '101'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"ttl\": -1}}"}, .flag = "--zone-resolutions", .value = "\"ttl\" '-1'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"all_down\": \"maybe\"}}"}, .flag = "--zone-resolutions", .value = "'maybe'"},
	{.args = {"--zone-resolutions", "{\"www\": [\"192.0.2.1\"], \"WWW\": [\"192.0.2.2\"]}"}, .flag = "--zone-resolutions", .value = "'www' is given twice"},
	{.args = {"--zone-resolutions", "{\"w\\u0000x\": [\"192.0.2.1\"]}"}, .flag = "--zone-resolutions", .value = "\\u0000 (a NUL character) is not allowed"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"ttl\": 2147483648}}"}, .flag = "--zone-resolutions", .value = "\"ttl\" '2147483648'"},
	{.args = {"--zone-resolutions", "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, \"rise\": true}}"}, .flag = "--zone-resolutions", .value = "\"rise\" 'true'"},
	{.args = {"--zone-resolutions", "{\"bad_name\": [\"192.0.2.1\"]}"}, .flag = "--zone-resolutions", .value = "'bad_name'"},
	{.args = {"--zone-resolutions", "{\"www\": ["}, .flag = "--zone-resolutions", .value = "is not valid JSON"},
	{.args = {"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]} x"}, .flag = "--zone-resolutions", .value = "is not valid JSON"},
	/* A key whose full name fits the hosted zone but not the (longer)
	 * alias: 63+1+63+1+63+1+ "example.com" = 202, +alias 52 more. */
	{.args = {"--alias-zones",
		  "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.net\"]",
		  "--zone-resolutions",
		  "{\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\": [\"192.0.2.1\"]}"},
	 .flag = "--zone-resolutions", .value = "longer than 253"},
	/* Numbers. */
	{.args = {"--port", "70000"}, .flag = "--port", .value = "'70000' is not a valid port (an integer 1-65535)"},
	{.args = {"--port", "0"}, .flag = "--port", .value = "'0'"},
	{.args = {"--port", "+53"}, .flag = "--port", .value = "'+53'"},
	{.args = {"--port", "53abc"}, .flag = "--port", .value = "'53abc'"},
	{.args = {"--port", "99999999999999999999999"}, .flag = "--port", .value = "'99999999999999999999999'"},
	{.args = {"--port", " 53"}, .flag = "--port", .value = "' 53'"},
	{.args = {"--port="}, .flag = "--port", .value = "''"},
	{.args = {"--log-level", "verbose"}, .flag = "--log-level", .value = "'verbose'"},
	{.args = {"--test-min-interval", "0"}, .flag = "--test-min-interval", .value = "'0'"},
	{.args = {"--test-min-interval", "86401"}, .flag = "--test-min-interval", .value = "'86401'"},
	{.args = {"--test-timeout", "-1"}, .flag = "--test-timeout", .value = "'-1'"},
	{.args = {"--test-timeout", "3601"}, .flag = "--test-timeout", .value = "'3601'"},
	{.args = {"--priv-key-alg", "DSA"}, .flag = "--priv-key-alg", .value = "'DSA'"},
	{.args = {"--priv-key-path", "/nonexistent/key.pem"}, .flag = "--priv-key-path", .value = "'/nonexistent/key.pem'"},
	{.args = {"--priv-key-path", "/tmp"}, .flag = "--priv-key-path", .value = "'/tmp' is not a regular file"},
	{.args = {"--listen", "127.0.0.1:53"}, .flag = "--listen", .value = "'127.0.0.1:53'"},
	{.args = {"--listen", "127.0.0.1", "--listen", "127.0.0.1"}, .flag = "--listen", .value = "'127.0.0.1' is given twice"},
	{.args = {"--listen", "localhost"}, .flag = "--listen", .value = "'localhost'"},
	{.args = {"--workers", "0"}, .flag = "--workers", .value = "'0'"},
	{.args = {"--workers", "257"}, .flag = "--workers", .value = "'257'"},
	{.args = {"--user", "no-such-user-ahd"}, .flag = "--user", .value = "'no-such-user-ahd'"},
	{.args = {"--user", "root"}, .flag = "--user", .value = "'root' has uid 0"},
	{.args = {"--shm-name", "noslash"}, .flag = "--shm-name", .value = "'noslash'"},
	{.args = {"--shm-name", "/a/b"}, .flag = "--shm-name", .value = "'/a/b'"},
	{.args = {"--shm-name", "/"}, .flag = "--shm-name", .value = "'/'"},
	/* The command line itself. */
	{.args = {"--foo"}, .flag = "unknown option", .value = "'--foo'"},
	{.args = {"--foo=bar"}, .flag = "unknown option", .value = "'--foo'"},
	{.args = {"-x"}, .flag = "unknown option", .value = "'-x'"},
	{.args = {"--port"}, .flag = "--port", .value = "requires a value"},
	{.args = {"--port", "--workers", "2"}, .flag = "--port", .value = "requires a value"},
	{.args = {"extra"}, .flag = "unexpected argument", .value = "'extra'"},
	{.args = {"--help=yes"}, .flag = "--help", .value = "takes no value"},
	{.args = {"--check-config=1"}, .flag = "--check-config", .value = "takes no value"},
	/* Environment. */
	{.env = {"AHDNS_PORT=70000"}, .flag = "--port (from AHDNS_PORT)", .value = "'70000'"},
	{.env = {"AHDNS_LISTEN=127.0.0.1, nope"}, .flag = "--listen (from AHDNS_LISTEN)", .value = "'nope'"},
	{.env = {"AHDNS_CHECK_CONFIG=maybe"}, .flag = "--check-config", .value = "'maybe'"},
	{.no_base = true, .env = {"AHDNS_HOSTED_ZONE=bad_zone"},
	 .args = {"--ns", "[\"ns1.example.com\"]", "--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}"},
	 .flag = "--hosted-zone (from AHDNS_HOSTED_ZONE)", .value = "'bad_zone'"},
	{.env = {"AHDNS_CONFIG=/nonexistent/ahd.json"}, .flag = "--config (from AHDNS_CONFIG)", .value = "'/nonexistent/ahd.json'"},
	{.env = {"AHDNS_ZONE_RESOLUTIONS={\"www\": [\"1.2.3\"]}"}, .no_base = true,
	 .args = {"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]"},
	 .flag = "--zone-resolutions (from AHDNS_ZONE_RESOLUTIONS)", .value = "'1.2.3'"},
	/* Config file. */
	{.file = "{\"port\": 70000}", .flag = "--port (from /tmp/", .value = "'70000'"},
	{.file = "{\"port\": true}", .flag = "--port", .value = "'true'"},
	{.file = "{\"port\": 53.5}", .flag = "--port", .value = "'53.5'"},
	{.file = "{\"prot\": 1}", .flag = "--config", .value = "unknown key 'prot'"},
	{.file = "{\"config\": \"/etc/other.json\"}", .flag = "--config", .value = "unknown key 'config'"},
	{.file = "not json", .flag = "--config", .value = "is not valid JSON"},
	{.file = "[1]", .flag = "--config", .value = "is not a JSON object"},
	{.file = "{\"listen\": 5}", .flag = "--listen", .value = "'5'"},
	{.file = "{\"listen\": [\"::1\", \"::g\"]}", .flag = "--listen", .value = "'::g'"},
	{.file = "{\"workers\": \"many\"}", .flag = "--workers", .value = "'many'"},
	{.file = "{\"check-config\": \"maybe\"}", .flag = "--check-config", .value = "'maybe'"},
	{.file = "{\"hosted-zone\": 5}", .no_base = true,
	 .args = {"--ns", "[\"ns1.example.com\"]", "--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}"},
	 .flag = "--hosted-zone", .value = "'5' is not a string"},
	{.file = "{\"hosted-zone\": \"example.com\", \"ns\": [\"ns1\"], "
		 "\"zone-resolutions\": {\"www\": [\"192.0.2.1\"]}}",
	 .no_base = true, .flag = "--ns", .value = "'ns1'"},
	{.file = "{\"zone-resolutions\": {\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, "
		 "\"ttl\": 1.5}}}",
	 .no_base = true, .args = {"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]"},
	 .flag = "--zone-resolutions", .value = "'1.5'"},
	{.args = {"--config", "/nonexistent/ahd.json"}, .flag = "--config", .value = "'/nonexistent/ahd.json' cannot be opened"},
	{.args = {"--config", "/tmp"}, .flag = "--config", .value = "'/tmp' is not a regular file"},
};

Test(config, invalid_inputs_table)
{
	size_t n = AHD_ARRAY_LEN(bad_cases);

	cr_assert_geq(n, 45);
	for (size_t i = 0; i < n; i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *args[32];
		size_t k = 0;
		char *path = NULL;
		struct config cfg;
		struct run r;

		if (!c->no_base) {
			const char *base[] = {ZONE_ARGS};

			for (size_t j = 0; j < AHD_ARRAY_LEN(base); j++)
				args[k++] = base[j];
		}
		for (size_t j = 0; c->args[j] != NULL; j++)
			args[k++] = c->args[j];
		if (c->file != NULL) {
			path = write_temp(c->file);
			args[k++] = "--config";
			args[k++] = path;
		}
		args[k] = NULL;
		run_parse(&cfg, args, c->env, &r);
		if (path != NULL) {
			unlink(path);
			free(path);
		}
		cr_expect_eq(r.rc, -1, "case %zu: rc %d (stderr: %s)", i, r.rc, r.err);
		cr_expect_eq(count_lines(r.err), 1, "case %zu: want one line, got: %s", i, r.err);
		cr_expect_eq(strncmp(r.err, "a-healthy-dns: ", 15), 0, "case %zu: %s", i, r.err);
		cr_expect(strstr(r.err, c->flag) != NULL, "case %zu: no '%s' in: %s", i, c->flag,
			  r.err);
		cr_expect(strstr(r.err, c->value) != NULL, "case %zu: no '%s' in: %s", i,
			  c->value, r.err);
		cr_expect_str_empty(r.out, "case %zu: stdout: %s", i, r.out);
		/* Nothing leaks and the struct is left empty. */
		cr_expect_null(cfg.hosted_zone, "case %zu", i);
		cr_expect_null(cfg.entries, "case %zu", i);
		cr_expect_eq(cfg.n_entries, 0, "case %zu", i);
	}
}

Test(config, exact_messages)
{
	struct config cfg;
	struct run r;
	const char *port[] = {ZONE_ARGS, "--port", "70000", NULL};
	const char *addr[] = {"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]",
			      "--zone-resolutions", "{\"www\": [\"300.1.1.1\"]}", NULL};
	const char *missing[] = {"--ns", "[\"ns1.example.com\"]", NULL};
	const char *unknown[] = {"--foo", NULL};

	run_parse(&cfg, port, NULL, &r);
	cr_assert_str_eq(r.err,
			 "a-healthy-dns: --port: '70000' is not a valid port (an integer 1-65535)\n");
	run_parse(&cfg, addr, NULL, &r);
	cr_assert_str_eq(r.err, "a-healthy-dns: --zone-resolutions: 'www': address '300.1.1.1' "
				"is not an IPv4 or IPv6 address\n");
	run_parse(&cfg, missing, NULL, &r);
	cr_assert_str_eq(r.err, "a-healthy-dns: --hosted-zone is required (or AHDNS_HOSTED_ZONE, "
				"or \"hosted-zone\" in the --config file)\n");
	run_parse(&cfg, unknown, NULL, &r);
	cr_assert_str_eq(r.err, "a-healthy-dns: unknown option '--foo' (see --help)\n");
}

Test(config, defaults)
{
	struct config cfg;
	const char *args[] = {ZONE_ARGS, NULL};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *want_user = getpwnam("a-healthy-dns") != NULL ? "a-healthy-dns" : "nobody";

	parse_ok(&cfg, args, NULL);
	cr_assert_str_eq(cfg.hosted_zone, "example.com");
	cr_assert_eq(cfg.n_alias_zones, 0);
	cr_assert_eq(cfg.n_ns, 1);
	cr_assert_str_eq(cfg.ns[0], "ns1.example.com");
	cr_assert_eq(cfg.n_entries, 1);
	cr_assert_str_eq(cfg.entries[0].name, "www");
	cr_assert_eq(cfg.entries[0].check, CONFIG_CHECK_NONE);
	cr_assert_eq(cfg.entries[0].health_port, 0);
	cr_assert_null(cfg.entries[0].http_path);
	cr_assert_eq(cfg.entries[0].rise, 1);
	cr_assert_eq(cfg.entries[0].fall, 1);
	cr_assert_eq(cfg.entries[0].ttl, -1);
	cr_assert_eq(cfg.entries[0].all_down, CONFIG_ALL_DOWN_WITHDRAW);
	cr_assert_eq(cfg.n_addrs_total, 1);
	cr_assert_eq(cfg.port, 53053);
	cr_assert_eq(cfg.log_level, AHD_LOG_INFO);
	cr_assert_eq(cfg.test_min_interval, 30);
	cr_assert_eq(cfg.test_timeout, 2);
	cr_assert_null(cfg.priv_key_path);
	cr_assert_eq(cfg.priv_key_alg, CONFIG_ALG_RSASHA256);
	cr_assert_eq(cfg.n_listen, 0);
	cr_assert_null(cfg.listen);
	cr_assert_eq(cfg.workers, (unsigned)(cpus < 1 ? 1 : cpus > 256 ? 256 : cpus));
	cr_assert_str_eq(cfg.user, want_user);
	cr_assert_str_eq(cfg.shm_name, "/a-healthy-dns.53053");
	cr_assert_null(cfg.config_file);
	cr_assert(!cfg.check_config);
	config_free(&cfg);
	cr_assert_null(cfg.hosted_zone);
	cr_assert_eq(cfg.n_entries, 0);
}

Test(config, every_flag)
{
	struct config cfg;
	char *key = write_temp("-----BEGIN PRIVATE KEY-----\n");
	const char *args[] = {
		"--hosted-zone", "Example.COM",
		"--zone-resolutions",
		"{\"www\": [\"192.0.2.1\"], \"Api.V1\": {\"ips\": [\"192.0.2.2\"], "
		"\"health_port\": 8080, \"check\": \"http\", \"http_path\": \"/healthz?x=1\", "
		"\"rise\": 3, \"fall\": 2, \"ttl\": 0, \"all_down\": \"serve_all\"}, "
		"\"db\": {\"ips\": [\"192.0.2.3\"], \"health_port\": 5432, \"check\": \"tcp\"}, "
		"\"web\": {\"ips\": [\"192.0.2.4\"], \"health_port\": 80, \"check\": \"http\"}}",
		"--ns", "[\"NS1.example.com\", \"ns2.example.net\", \"ns1.example.com\"]",
		"--alias-zones", "[\"example.net\", \"Example.org\"]",
		"--port", "5353",
		"--log-level", "DEBUG",
		"--test-min-interval", "10",
		"--test-timeout", "3",
		"--priv-key-path", key,
		"--priv-key-alg", "ecdsap256sha256",
		"--listen", "127.0.0.1",
		"--listen", "::1",
		"--workers", "3",
		"--user", "nobody",
		"--shm-name", "/ahd-test",
		"--check-config",
		NULL,
	};

	parse_ok(&cfg, args, NULL);
	cr_assert_str_eq(cfg.hosted_zone, "example.com");
	cr_assert_eq(cfg.n_alias_zones, 2);
	cr_assert_str_eq(cfg.alias_zones[0], "example.net");
	cr_assert_str_eq(cfg.alias_zones[1], "example.org");
	/* Repeated name servers collapse, like an RRset. */
	cr_assert_eq(cfg.n_ns, 2);
	cr_assert_str_eq(cfg.ns[0], "ns1.example.com");
	cr_assert_str_eq(cfg.ns[1], "ns2.example.net");
	cr_assert_eq(cfg.n_entries, 4);
	cr_assert_str_eq(cfg.entries[1].name, "api.v1");
	cr_assert_eq(cfg.entries[1].check, CONFIG_CHECK_HTTP);
	cr_assert_eq(cfg.entries[1].health_port, 8080);
	cr_assert_str_eq(cfg.entries[1].http_path, "/healthz?x=1");
	cr_assert_eq(cfg.entries[1].rise, 3);
	cr_assert_eq(cfg.entries[1].fall, 2);
	cr_assert_eq(cfg.entries[1].ttl, 0);
	cr_assert_eq(cfg.entries[1].all_down, CONFIG_ALL_DOWN_SERVE_ALL);
	cr_assert_eq(cfg.entries[2].check, CONFIG_CHECK_TCP);
	cr_assert_eq(cfg.entries[2].health_port, 5432);
	cr_assert_null(cfg.entries[2].http_path);
	cr_assert_eq(cfg.entries[2].ttl, -1);
	cr_assert_str_eq(cfg.entries[3].http_path, "/");
	cr_assert_eq(cfg.port, 5353);
	cr_assert_eq(cfg.log_level, AHD_LOG_DEBUG);
	cr_assert_eq(cfg.test_min_interval, 10);
	cr_assert_eq(cfg.test_timeout, 3);
	cr_assert_str_eq(cfg.priv_key_path, key);
	cr_assert_eq(cfg.priv_key_alg, CONFIG_ALG_ECDSAP256SHA256);
	cr_assert_eq(cfg.n_listen, 2);
	cr_assert_eq(cfg.listen[0].family, AF_INET);
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.1");
	cr_assert_eq(memcmp(cfg.listen[0].addr, "\x7f\x00\x00\x01", 4), 0);
	cr_assert_eq(cfg.listen[1].family, AF_INET6);
	cr_assert_eq(memcmp(cfg.listen[1].addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16), 0);
	cr_assert_eq(cfg.workers, 3);
	cr_assert_str_eq(cfg.user, "nobody");
	cr_assert_str_eq(cfg.shm_name, "/ahd-test");
	cr_assert(cfg.check_config);
	config_free(&cfg);
	unlink(key);
	free(key);
}

Test(config, flag_equals_value_and_last_wins)
{
	struct config cfg;
	const char *args[] = {"--hosted-zone=example.com",
			      "--ns=[\"ns1.example.com\"]",
			      "--zone-resolutions={\"www\": [\"192.0.2.1\"]}",
			      "--port=1000",
			      "--port", "2000",
			      "--workers=7",
			      "--log-level=error",
			      "--priv-key-alg=ED25519",
			      "--listen=127.0.0.2",
			      "--listen", "127.0.0.3,::2 127.0.0.4",
			      "--shm-name=/x",
			      NULL};

	parse_ok(&cfg, args, NULL);
	cr_assert_str_eq(cfg.hosted_zone, "example.com");
	cr_assert_eq(cfg.port, 2000);
	cr_assert_eq(cfg.workers, 7);
	cr_assert_eq(cfg.log_level, AHD_LOG_ERROR);
	cr_assert_eq(cfg.priv_key_alg, CONFIG_ALG_ED25519);
	cr_assert_eq(cfg.n_listen, 4);
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.2");
	cr_assert_str_eq(cfg.listen[1].text, "127.0.0.3");
	cr_assert_str_eq(cfg.listen[2].text, "::2");
	cr_assert_eq(cfg.listen[2].family, AF_INET6);
	cr_assert_str_eq(cfg.listen[3].text, "127.0.0.4");
	cr_assert_str_eq(cfg.shm_name, "/x");
	/* The default shm name follows the port that won. */
	config_free(&cfg);
	{
		const char *a2[] = {ZONE_ARGS, "--port", "1", "--port=2", NULL};

		parse_ok(&cfg, a2, NULL);
		cr_assert_eq(cfg.port, 2);
		cr_assert_str_eq(cfg.shm_name, "/a-healthy-dns.2");
		config_free(&cfg);
	}
}

Test(config, environment)
{
	struct config cfg;
	const char *none[] = {NULL};
	const char *env[] = {"PATH=/bin",
			     "AHDNS_HOSTED_ZONE=env.example",
			     "AHDNS_NS=[\"ns1.env.example\"]",
			     "AHDNS_ZONE_RESOLUTIONS={\"a\": [\"192.0.2.9\"]}",
			     "AHDNS_PORT=1000",
			     "AHDNS_LISTEN=127.0.0.1, ::1  127.0.0.2",
			     "AHDNS_CHECK_CONFIG=true",
			     "AHDNS_PRIV_KEY_PATH=",
			     NULL};
	const char *cli[] = {"--port", "2000", NULL};

	parse_ok(&cfg, none, env);
	cr_assert_str_eq(cfg.hosted_zone, "env.example");
	cr_assert_str_eq(cfg.ns[0], "ns1.env.example");
	cr_assert_str_eq(cfg.entries[0].name, "a");
	cr_assert_eq(cfg.port, 1000);
	cr_assert_eq(cfg.n_listen, 3);
	cr_assert_str_eq(cfg.listen[1].text, "::1");
	cr_assert_str_eq(cfg.listen[2].text, "127.0.0.2");
	cr_assert(cfg.check_config);
	/* Empty means unset. */
	cr_assert_null(cfg.priv_key_path);
	config_free(&cfg);

	/* The command line beats the environment. */
	parse_ok(&cfg, cli, env);
	cr_assert_eq(cfg.port, 2000);
	cr_assert_str_eq(cfg.hosted_zone, "env.example");
	config_free(&cfg);

	{
		const char *env0[] = {"AHDNS_CHECK_CONFIG=0", NULL};
		const char *args[] = {ZONE_ARGS, NULL};

		parse_ok(&cfg, args, env0);
		cr_assert(!cfg.check_config);
		config_free(&cfg);
	}
}

/* A stray AHDNS_* variable (meant for a wrapper, a container, a drop-in)
 * is one warning line naming it, never a refusal; a near miss names the
 * variable it probably meant. */
Test(config, unknown_environment_variable_warns)
{
	const char *args[] = {ZONE_ARGS, NULL};
	const char *env[] = {"AHDNS_FOO=1", "AHDNS_PROT=99", "AHDNS_HELP=1",
			     "AHDNS_WORKERS=3", "AHDNS_X\x01=1", NULL};
	struct config cfg;
	struct run r;

	run_parse(&cfg, args, env, &r);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(r.action, CONFIG_RUN);
	/* The known variable beside them still counts. */
	cr_assert_eq(cfg.workers, 3);
	cr_assert_eq(cfg.port, 53053);
	cr_assert_eq(count_lines(r.err), 4, "%s", r.err);
	cr_assert(strstr(r.err, "a-healthy-dns: warning: ignoring unknown environment variable "
				"'AHDNS_FOO' (no such option)\n") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "'AHDNS_PROT' (no such option; did you mean AHDNS_PORT?)\n") !=
		  NULL, "%s", r.err);
	/* --help and --version are command line only. */
	cr_assert(strstr(r.err, "'AHDNS_HELP' (no such option)\n") != NULL, "%s", r.err);
	/* The name is shown safely, as in error lines. */
	cr_assert(strstr(r.err, "'AHDNS_X\\x01'") != NULL, "%s", r.err);
	cr_assert_null(strstr(r.err, "did you mean AHDNS_HELP"), "%s", r.err);
	config_free(&cfg);
}

Test(config, config_file_precedence_and_native_json)
{
	struct config cfg;
	char *path = write_temp(
		"{\n"
		"  \"hosted-zone\": \"file.example\",\n"
		"  \"ns\": [\"ns1.file.example\", \"ns2.file.example\"],\n"
		"  \"alias-zones\": [\"alias.example\"],\n"
		"  \"zone-resolutions\": {\"www\": [\"192.0.2.1\"],\n"
		"      \"api\": {\"ips\": [\"2001:db8::1\"], \"health_port\": 443, \"rise\": 2}},\n"
		"  \"port\": 1111,\n"
		"  \"test-min-interval\": \"15\",\n"
		"  \"test-timeout\": 4,\n"
		"  \"listen\": \"127.0.0.1\",\n"
		"  \"workers\": 2,\n"
		"  \"log-level\": \"warning\",\n"
		"  \"priv-key-path\": null,\n"
		"  \"check-config\": true\n"
		"}\n");
	const char *file_only[] = {"--config", path, NULL};
	const char *env[] = {"AHDNS_PORT=2222", "AHDNS_WORKERS=5", NULL};
	const char *cli[] = {"--config", path, "--port", "3333", NULL};
	char *env_cfg = NULL;

	parse_ok(&cfg, file_only, NULL);
	cr_assert_str_eq(cfg.hosted_zone, "file.example");
	cr_assert_eq(cfg.n_ns, 2);
	cr_assert_str_eq(cfg.alias_zones[0], "alias.example");
	cr_assert_eq(cfg.n_entries, 2);
	cr_assert_eq(cfg.entries[1].check, CONFIG_CHECK_TCP);
	cr_assert_eq(cfg.entries[1].health_port, 443);
	cr_assert_eq(cfg.entries[1].rise, 2);
	cr_assert_eq(cfg.entries[1].addrs[0].family, AF_INET6);
	cr_assert_eq(cfg.port, 1111);
	cr_assert_eq(cfg.test_min_interval, 15);
	cr_assert_eq(cfg.test_timeout, 4);
	cr_assert_eq(cfg.n_listen, 1);
	cr_assert_eq(cfg.workers, 2);
	cr_assert_eq(cfg.log_level, AHD_LOG_WARNING);
	cr_assert_null(cfg.priv_key_path);
	cr_assert(cfg.check_config);
	cr_assert_str_eq(cfg.config_file, path);
	config_free(&cfg);

	/* Environment beats the file. */
	parse_ok(&cfg, file_only, env);
	cr_assert_eq(cfg.port, 2222);
	cr_assert_eq(cfg.workers, 5);
	cr_assert_eq(cfg.test_timeout, 4);
	config_free(&cfg);

	/* Command line beats both. */
	parse_ok(&cfg, cli, env);
	cr_assert_eq(cfg.port, 3333);
	cr_assert_eq(cfg.workers, 5);
	config_free(&cfg);

	/* The file may be named by AHDNS_CONFIG, and a JSON-valued flag may
	 * be a string holding JSON there, as on the command line. */
	{
		char *p2 = write_temp("{\"hosted-zone\": \"s.example\", \"ns\": \"[\\\"ns.s.example\\\"]\", "
				      "\"zone-resolutions\": \"{\\\"x\\\": [\\\"192.0.2.7\\\"]}\", "
				      "\"listen\": [\"127.0.0.1\", \"::1\"]}");
		const char *none[] = {NULL};
		const char *e2[] = {NULL, NULL};

		cr_assert(asprintf(&env_cfg, "AHDNS_CONFIG=%s", p2) > 0);
		e2[0] = env_cfg;
		parse_ok(&cfg, none, e2);
		cr_assert_str_eq(cfg.ns[0], "ns.s.example");
		cr_assert_str_eq(cfg.entries[0].name, "x");
		cr_assert_eq(cfg.n_listen, 2);
		config_free(&cfg);
		unlink(p2);
		free(p2);
		free(env_cfg);
	}
	unlink(path);
	free(path);
}

Test(config, addresses_and_first_addr)
{
	struct config cfg;
	const char *args[] = {
		"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]",
		"--zone-resolutions",
		"{\"zeta\": [\"192.0.2.1\", \"2001:db8::10\"], "
		"\"alpha\": {\"ips\": [\"::ffff:192.0.2.5\"], \"health_port\": 80}, "
		"\"mid.sub\": [\"198.51.100.1\", \"198.51.100.2\", \"fe80::1\"]}",
		NULL};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				       0,    0,    0,    0,    0, 0, 0, 0x10};

	parse_ok(&cfg, args, NULL);
	cr_assert_eq(cfg.n_entries, 3);
	/* The order of the JSON text, not sorted. */
	cr_assert_str_eq(cfg.entries[0].name, "zeta");
	cr_assert_str_eq(cfg.entries[1].name, "alpha");
	cr_assert_str_eq(cfg.entries[2].name, "mid.sub");
	cr_assert_eq(cfg.entries[0].n_addrs, 2);
	cr_assert_eq(cfg.entries[0].addrs[0].family, AF_INET);
	cr_assert_eq(memcmp(cfg.entries[0].addrs[0].addr, "\xc0\x00\x02\x01", 4), 0);
	cr_assert_eq(cfg.entries[0].addrs[1].family, AF_INET6);
	cr_assert_eq(memcmp(cfg.entries[0].addrs[1].addr, v6, 16), 0);
	cr_assert_eq(cfg.entries[1].addrs[0].family, AF_INET6);
	cr_assert_eq(cfg.entries[0].first_addr, 0);
	cr_assert_eq(cfg.entries[1].first_addr, 2);
	cr_assert_eq(cfg.entries[2].first_addr, 3);
	cr_assert_eq(cfg.entries[2].n_addrs, 3);
	cr_assert_eq(cfg.n_addrs_total, 6);
	config_free(&cfg);
}

static void assert_same_config(const struct config *a, const struct config *b)
{
	cr_assert_str_eq(a->hosted_zone, b->hosted_zone);
	cr_assert_eq(a->n_alias_zones, b->n_alias_zones);
	for (size_t i = 0; i < a->n_alias_zones; i++)
		cr_assert_str_eq(a->alias_zones[i], b->alias_zones[i]);
	cr_assert_eq(a->n_ns, b->n_ns);
	for (size_t i = 0; i < a->n_ns; i++)
		cr_assert_str_eq(a->ns[i], b->ns[i]);
	cr_assert_eq(a->n_entries, b->n_entries);
	cr_assert_eq(a->n_addrs_total, b->n_addrs_total);
	for (size_t i = 0; i < a->n_entries; i++) {
		const struct config_entry *x = &a->entries[i], *y = &b->entries[i];

		cr_assert_str_eq(x->name, y->name);
		cr_assert_eq(x->n_addrs, y->n_addrs);
		for (size_t j = 0; j < x->n_addrs; j++) {
			cr_assert_eq(x->addrs[j].family, y->addrs[j].family);
			cr_assert_eq(memcmp(x->addrs[j].addr, y->addrs[j].addr, 16), 0);
		}
		cr_assert_eq(x->first_addr, y->first_addr);
		cr_assert_eq(x->check, y->check);
		cr_assert_eq(x->health_port, y->health_port);
		if (x->http_path == NULL)
			cr_assert_null(y->http_path);
		else
			cr_assert_str_eq(x->http_path, y->http_path);
		cr_assert_eq(x->n_http_status, y->n_http_status);
		cr_assert_eq(memcmp(x->http_status, y->http_status, sizeof(x->http_status)), 0);
		cr_assert_eq(x->tls_no_verify, y->tls_no_verify);
		cr_assert_eq(x->http_host == NULL, y->http_host == NULL);
		cr_assert(x->http_host == NULL || strcmp(x->http_host, y->http_host) == 0);
		cr_assert_eq(x->tls_name == NULL, y->tls_name == NULL);
		cr_assert(x->tls_name == NULL || strcmp(x->tls_name, y->tls_name) == 0);
		cr_assert_eq(x->tls_ca_file == NULL, y->tls_ca_file == NULL);
		cr_assert(x->tls_ca_file == NULL || strcmp(x->tls_ca_file, y->tls_ca_file) == 0);
		cr_assert_eq(x->rise, y->rise);
		cr_assert_eq(x->fall, y->fall);
		cr_assert_eq(x->ttl, y->ttl);
		cr_assert_eq(x->all_down, y->all_down);
	}
	cr_assert_eq(a->port, b->port);
	cr_assert_eq(a->log_level, b->log_level);
	cr_assert_eq(a->test_min_interval, b->test_min_interval);
	cr_assert_eq(a->test_timeout, b->test_timeout);
	if (a->priv_key_path == NULL)
		cr_assert_null(b->priv_key_path);
	else
		cr_assert_str_eq(a->priv_key_path, b->priv_key_path);
	cr_assert_eq(a->priv_key_alg, b->priv_key_alg);
	cr_assert_eq(a->n_listen, b->n_listen);
	for (size_t i = 0; i < a->n_listen; i++) {
		cr_assert_eq(a->listen[i].family, b->listen[i].family);
		cr_assert_eq(memcmp(a->listen[i].addr, b->listen[i].addr, 16), 0);
		cr_assert_str_eq(a->listen[i].text, b->listen[i].text);
	}
	cr_assert_eq(a->workers, b->workers);
	cr_assert_str_eq(a->user, b->user);
	cr_assert_eq(a->user_ids, b->user_ids);
	cr_assert_eq(a->user_uid, b->user_uid);
	cr_assert_eq(a->user_gid, b->user_gid);
	cr_assert_str_eq(a->shm_name, b->shm_name);
	if (a->config_file == NULL)
		cr_assert_null(b->config_file);
	else
		cr_assert_str_eq(a->config_file, b->config_file);
	cr_assert_eq(a->check_config, b->check_config);
	cr_assert_eq(a->tcp_max_conns, b->tcp_max_conns);
	cr_assert_eq(a->tcp_idle_timeout, b->tcp_idle_timeout);
	cr_assert_eq(a->rrsig_lifetime, b->rrsig_lifetime);
	cr_assert_eq(a->rrsig_refresh, b->rrsig_refresh);
	cr_assert_eq(a->edns_size, b->edns_size);
	cr_assert_eq(a->nsid_len, b->nsid_len);
	cr_assert_eq(memcmp(a->nsid, b->nsid, a->nsid_len), 0);
	cr_assert_eq(memcmp(a->cookie_secret, b->cookie_secret, sizeof(a->cookie_secret)), 0);
	cr_assert_eq(a->n_transfer_allow, b->n_transfer_allow);
	for (size_t i = 0; i < a->n_transfer_allow; i++) {
		cr_assert_eq(a->transfer_allow[i].family, b->transfer_allow[i].family);
		cr_assert_eq(a->transfer_allow[i].len, b->transfer_allow[i].len);
		cr_assert_eq(memcmp(a->transfer_allow[i].addr, b->transfer_allow[i].addr, 16), 0);
	}
	cr_assert_eq(a->n_notify, b->n_notify);
	for (size_t i = 0; i < a->n_notify; i++) {
		cr_assert_eq(a->notify[i].family, b->notify[i].family);
		cr_assert_eq(a->notify[i].port, b->notify[i].port);
		cr_assert_eq(memcmp(a->notify[i].addr, b->notify[i].addr, 16), 0);
		cr_assert_str_eq(a->notify[i].text, b->notify[i].text);
	}
	if (a->tsig_key_path == NULL)
		cr_assert_null(b->tsig_key_path);
	else
		cr_assert_str_eq(a->tsig_key_path, b->tsig_key_path);
	cr_assert_eq(a->tsig.alg, b->tsig.alg);
	cr_assert_eq(a->tsig.name_len, b->tsig.name_len);
	cr_assert_eq(memcmp(a->tsig.name, b->tsig.name, a->tsig.name_len), 0);
	cr_assert_eq(a->tsig.secret_len, b->tsig.secret_len);
	cr_assert_eq(memcmp(a->tsig.secret, b->tsig.secret, a->tsig.secret_len), 0);
	cr_assert_eq(a->ixfr_history, b->ixfr_history);
	cr_assert_eq(a->metrics_listen.family, b->metrics_listen.family);
	cr_assert_eq(a->metrics_listen.port, b->metrics_listen.port);
	cr_assert_eq(memcmp(a->metrics_listen.addr, b->metrics_listen.addr, 16), 0);
	cr_assert_str_eq(a->metrics_listen.text, b->metrics_listen.text);
}

Test(config, https_keys)
{
	struct config cfg;
	const char *args[] = {
		"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]",
		"--zone-resolutions",
		"{\"a\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 443, \"check\": \"https\", "
		"\"http_host\": \"Api.Example.com\", \"tls_ca_file\": \"/etc/my-ca.pem\", "
		"\"http_status\": [200, 204, \"300-399\"]}, "
		"\"b\": {\"ips\": [\"192.0.2.2\"], \"health_port\": 443, \"check\": \"https\", "
		"\"tls_name\": \"b.example.com\", \"tls_verify\": false, \"http_status\": \"503\"}, "
		"\"c\": {\"ips\": [\"192.0.2.3\"], \"health_port\": 443, \"check\": \"https\"}, "
		"\"d\": {\"ips\": [\"192.0.2.4\"], \"health_port\": 80, \"check\": \"http\", "
		"\"http_host\": \"192.0.2.9\", \"http_status\": \"200-204\"}}",
		NULL,
	};

	parse_ok(&cfg, args, NULL);
	cr_assert_eq(cfg.entries[0].check, CONFIG_CHECK_HTTPS);
	cr_assert_str_eq(cfg.entries[0].http_host, "api.example.com");
	cr_assert_null(cfg.entries[0].tls_name);
	cr_assert_str_eq(cfg.entries[0].tls_ca_file, "/etc/my-ca.pem");
	cr_assert_not(cfg.entries[0].tls_no_verify);
	cr_assert_str_eq(cfg.entries[0].http_path, "/");
	cr_assert_eq(cfg.entries[0].n_http_status, 3);
	cr_assert_eq(cfg.entries[0].http_status[0].lo, 200);
	cr_assert_eq(cfg.entries[0].http_status[0].hi, 200);
	cr_assert_eq(cfg.entries[0].http_status[1].lo, 204);
	cr_assert_eq(cfg.entries[0].http_status[2].lo, 300);
	cr_assert_eq(cfg.entries[0].http_status[2].hi, 399);
	cr_assert_str_eq(cfg.entries[1].tls_name, "b.example.com");
	cr_assert(cfg.entries[1].tls_no_verify);
	cr_assert_eq(cfg.entries[1].n_http_status, 1);
	cr_assert_eq(cfg.entries[1].http_status[0].lo, 503);
	cr_assert_eq(cfg.entries[1].http_status[0].hi, 503);
	/* The defaults: verified against the system store, 2xx/3xx. */
	cr_assert_null(cfg.entries[2].http_host);
	cr_assert_null(cfg.entries[2].tls_ca_file);
	cr_assert_not(cfg.entries[2].tls_no_verify);
	cr_assert_eq(cfg.entries[2].n_http_status, 0);
	cr_assert_eq(cfg.entries[3].check, CONFIG_CHECK_HTTP);
	cr_assert_str_eq(cfg.entries[3].http_host, "192.0.2.9");
	cr_assert_eq(cfg.entries[3].http_status[0].hi, 204);
	config_free(&cfg);
}

Test(config, status_range)
{
	struct config_status_range r;

	cr_assert_eq(config_status_range("200-299", &r), 0);
	cr_assert(r.lo == 200 && r.hi == 299);
	cr_assert_eq(config_status_range("503", &r), 0);
	cr_assert(r.lo == 503 && r.hi == 503);
	cr_assert_eq(config_status_range("100-999", &r), 0);
	cr_assert_eq(config_status_range("99", &r), -1);
	cr_assert_eq(config_status_range("1000", &r), -1);
	cr_assert_eq(config_status_range("300-200", &r), -1);
	cr_assert_eq(config_status_range("200-", &r), -1);
	cr_assert_eq(config_status_range("-200", &r), -1);
	cr_assert_eq(config_status_range("200 - 299", &r), -1);
	cr_assert_eq(config_status_range("2xx", &r), -1);
	cr_assert_eq(config_status_range("", &r), -1);
	cr_assert_eq(config_status_range("200-299-300", &r), -1);
}

Test(config, json_round_trip)
{
	struct config a, b, c;
	char *key = write_temp("key");
	char *file = write_temp("{\"log-level\": \"critical\"}");
	const char *args[] = {
		"--config", file,
		"--hosted-zone", "example.com",
		"--zone-resolutions",
		"{\"www\": [\"192.0.2.1\", \"2001:db8::1\"], "
		"\"api\": {\"ips\": [\"192.0.2.2\"], \"health_port\": 8080, \"check\": \"http\", "
		"\"http_path\": \"/h\", \"rise\": 4, \"fall\": 5, \"ttl\": 77, \"all_down\": \"serve_all\"}, "
		"\"db\": {\"ips\": [\"192.0.2.3\", \"192.0.2.4\"], \"health_port\": 5432}, "
		"\"tls\": {\"ips\": [\"192.0.2.5\"], \"health_port\": 443, \"check\": \"https\", "
		"\"http_host\": \"Web.Example.com\", \"tls_name\": \"origin.example.com\", "
		"\"tls_ca_file\": \"/etc/ca.pem\", \"http_status\": [204, \"300-302\"]}, "
		"\"lax\": {\"ips\": [\"192.0.2.6\"], \"health_port\": 443, \"check\": \"https\", "
		"\"tls_verify\": false}}",
		"--ns", "[\"ns1.example.com\", \"ns2.example.com\"]",
		"--alias-zones", "[\"example.net\"]",
		"--port", "5300",
		"--test-min-interval", "9",
		"--test-timeout", "8",
		"--priv-key-path", key,
		"--priv-key-alg", "ED448",
		"--listen", "::1", "--listen", "127.0.0.1",
		"--workers", "4",
		"--user", "nobody",
		"--shm-name", "/rt",
		"--metrics-listen", "[::1]:9054",
		"--check-config",
		NULL};
	char *json;
	char *json2;

	parse_ok(&a, args, NULL);
	cr_assert_eq(a.log_level, AHD_LOG_CRITICAL);
	json = config_to_json(&a);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&b, json), 0);
	assert_same_config(&a, &b);
	/* Serializing again gives the same bytes. */
	json2 = config_to_json(&b);
	cr_assert_str_eq(json, json2);
	free(json2);
	config_free(&b);
	free(json);
	config_free(&a);

	/* Defaults survive the trip too. */
	{
		const char *d[] = {ZONE_ARGS, NULL};

		parse_ok(&a, d, NULL);
		json = config_to_json(&a);
		cr_assert_not_null(json);
		cr_assert_eq(config_from_json(&c, json), 0);
		assert_same_config(&a, &c);
		config_free(&c);
		free(json);
		config_free(&a);
	}
	unlink(key);
	unlink(file);
	free(key);
	free(file);
}

Test(config, from_json_revalidates)
{
	struct config cfg;
	char err_path[] = "/tmp/test_config_fjXXXXXX";
	int fd = mkstemp(err_path);
	int saved = dup(2);
	char err[1024];
	int rc;

	cr_assert(fd >= 0 && saved >= 0);
	unlink(err_path);
	dup2(fd, 2);
	rc = config_from_json(&cfg, "{\"hosted-zone\": \"example.com\", \"ns\": [\"ns1.example.com\"], "
				    "\"zone-resolutions\": {\"www\": [\"192.0.2.256\"]}}");
	dup2(saved, 2);
	close(saved);
	slurp(fd, err, sizeof(err));
	close(fd);
	cr_assert_eq(rc, -1);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert(strstr(err, "--zone-resolutions") != NULL, "%s", err);
	cr_assert(strstr(err, "'192.0.2.256'") != NULL, "%s", err);
	cr_assert_null(cfg.hosted_zone);

	strcpy(err_path, "/tmp/test_config_fjXXXXXX");
	fd = mkstemp(err_path);
	saved = dup(2);
	cr_assert(fd >= 0 && saved >= 0);
	unlink(err_path);
	dup2(fd, 2);
	rc = config_from_json(&cfg, "{\"hosted-zone\": \"example.com\"");
	dup2(saved, 2);
	close(saved);
	slurp(fd, err, sizeof(err));
	close(fd);
	cr_assert_eq(rc, -1);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert(strstr(err, "not valid JSON") != NULL, "%s", err);
}

/* config_parse looks the account up once and the serialization carries
 * the numbers: a child reading it never touches the user database. */
Test(config, user_resolved_to_ids_once_and_serialized)
{
	const char *args[] = {ZONE_ARGS, "--user", "nobody", NULL};
	const char *d[] = {ZONE_ARGS, NULL};
	struct passwd *pw = getpwnam("nobody");
	uid_t uid;
	gid_t gid;
	struct config a, b;
	char *json;

	cr_assert_not_null(pw, "no account nobody");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	parse_ok(&a, args, NULL);
	cr_assert(a.user_ids);
	cr_assert_eq(a.user_uid, uid);
	cr_assert_eq(a.user_gid, gid);
	json = config_to_json(&a);
	cr_assert_not_null(json);
	{
		char want[128];

		snprintf(want, sizeof(want), "\"user\":{\"name\":\"nobody\",\"uid\":%u,\"gid\":%u}",
			 (unsigned)uid, (unsigned)gid);
		cr_assert(strstr(json, want) != NULL, "%s", json);
	}
	cr_assert_eq(config_from_json(&b, json), 0);
	cr_assert_str_eq(b.user, "nobody");
	cr_assert(b.user_ids);
	cr_assert_eq(b.user_uid, uid);
	cr_assert_eq(b.user_gid, gid);
	config_free(&b);
	free(json);
	config_free(&a);

	/* The default account is looked up as well. */
	parse_ok(&a, d, NULL);
	pw = getpwnam(a.user);
	cr_assert_not_null(pw);
	cr_assert(a.user_ids);
	cr_assert_eq(a.user_uid, pw->pw_uid);
	cr_assert_eq(a.user_gid, pw->pw_gid);
	config_free(&a);

	/* The numbers are taken as serialized, even for a name the user
	 * database does not have: the child must not look it up. */
	cr_assert_eq(config_from_json(&b, "{\"hosted-zone\": \"example.com\", \"ns\": "
				      "[\"ns1.example.com\"], \"zone-resolutions\": {\"www\": "
				      "[\"192.0.2.1\"]}, \"user\": {\"name\": \"no-such-user-ahd\", "
				      "\"uid\": 4321, \"gid\": 8765}}"),
		     0);
	cr_assert_str_eq(b.user, "no-such-user-ahd");
	cr_assert(b.user_ids);
	cr_assert_eq(b.user_uid, 4321);
	cr_assert_eq(b.user_gid, 8765);
	config_free(&b);
}

/* The object form is the serialization's: an operator's file, the
 * command line and a malformed serialization are refused. */
Test(config, user_object_only_from_the_serialization)
{
	char *file = write_temp("{\"user\": {\"name\": \"nobody\", \"uid\": 1, \"gid\": 1}}");
	const char *args[] = {ZONE_ARGS, "--config", file, NULL};
	struct config cfg;
	struct run r;
	int saved = dup(2);
	int null = open("/dev/null", O_WRONLY);
	int rc;

	run_parse(&cfg, args, NULL, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert(strstr(r.err, "--user") != NULL && strstr(r.err, "is not a string") != NULL,
		  "%s", r.err);
	cr_assert(saved >= 0 && null >= 0);
	dup2(null, 2);
	rc = config_from_json(&cfg, "{\"hosted-zone\": \"example.com\", \"ns\": "
				    "[\"ns1.example.com\"], \"zone-resolutions\": {\"www\": "
				    "[\"192.0.2.1\"]}, \"user\": {\"name\": \"nobody\", \"uid\": -1, "
				    "\"gid\": 1}}");
	dup2(saved, 2);
	close(saved);
	close(null);
	cr_assert_eq(rc, -1);
	cr_assert_null(cfg.user);
	unlink(file);
	free(file);
}

static void expect_bad_flags(const char *const (*bad)[3], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *args[] = {ZONE_ARGS, bad[i][0], bad[i][1], NULL};
		struct config cfg;
		struct run r;

		run_parse(&cfg, args, NULL, &r);
		cr_expect_eq(r.rc, -1, "%s %s accepted", bad[i][0], bad[i][1]);
		cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
		cr_expect(strstr(r.err, bad[i][0]) != NULL, "%s", r.err);
		cr_expect(strstr(r.err, bad[i][2]) != NULL, "%s", r.err);
	}
}

/* With secondaries (DESIGN §9.7) EXPIRE outlasts REFRESH + RETRY: 14
 * days unsigned, the signatures' guaranteed validity (7 days less two
 * intervals) signed; without them the original's 10 intervals. */
Test(config, soa_expire_with_transfers)
{
	struct config cfg;
	struct config_ttls t;

	memset(&cfg, 0, sizeof(cfg));
	cfg.test_min_interval = 30;
	cfg.test_timeout = 2;
	config_ttls(&cfg, &t);
	cr_assert_eq(t.expire, 300);
	cfg.n_transfer_allow = 1;
	config_ttls(&cfg, &t);
	cr_assert_eq(t.expire, 14 * 86400);
	cfg.priv_key_path = "unused";
	config_ttls(&cfg, &t);
	cr_assert_eq(t.expire, 7 * 86400 - 60);
	cr_assert_geq(t.expire, t.refresh + t.retry);
	/* Signatures refreshed every 10 minutes: still past REFRESH+RETRY. */
	cfg.rrsig_lifetime = 1200;
	cfg.rrsig_refresh = 600;
	config_ttls(&cfg, &t);
	cr_assert_eq(t.expire, 600 + 60);
}

static void ttls_for(unsigned interval, unsigned timeout, struct config_ttls *t)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.test_min_interval = interval;
	cfg.test_timeout = timeout;
	config_ttls(&cfg, t);
}

Test(config, ttls)
{
	struct config_ttls t;

	ttls_for(30, 2, &t);
	cr_assert_eq(t.interval, 30);
	cr_assert_eq(t.a, 60);
	cr_assert_eq(t.ns, 1800);
	cr_assert_eq(t.soa, 1800);
	cr_assert_eq(t.dnskey, 600);
	cr_assert_eq(t.refresh, 600);
	cr_assert_eq(t.retry, 60);
	cr_assert_eq(t.expire, 300);
	cr_assert_eq(t.minimum, 60);
	cr_assert_eq(t.neg, 60);
	/* Hand-built struct: the default policy. */
	cr_assert_eq(t.sig_lifetime, 14 * 86400);
	cr_assert_eq(t.sig_refresh, 7 * 86400);
	cr_assert_eq(t.sig_backdate, 3600);
	cr_assert_eq(t.sig_jitter, 14 * 8640);
	cr_assert_eq(t.sig_ttl_max, 7 * 86400 - 60);

	ttls_for(1, 1, &t);
	cr_assert_eq(t.interval, 1);
	cr_assert_eq(t.a, 2);
	cr_assert_eq(t.ns, 60);
	cr_assert_eq(t.soa, 60);
	cr_assert_eq(t.dnskey, 20);
	cr_assert_eq(t.refresh, 20);
	cr_assert_eq(t.retry, 2);
	cr_assert_eq(t.expire, 10);
	cr_assert_eq(t.minimum, 2);
	cr_assert_eq(t.neg, 2);
	/* Days of validity whatever the interval (it was 52 s here). */
	cr_assert_eq(t.sig_lifetime, 14 * 86400);
	cr_assert_eq(t.sig_refresh, 7 * 86400);
	cr_assert_eq(t.sig_ttl_max, 7 * 86400 - 2);

	/* The timeout is the interval when it is the longer one. */
	ttls_for(1, 5, &t);
	cr_assert_eq(t.interval, 5);
	cr_assert_eq(t.a, 10);

	/* Partly clamped: a fits, the multiples do not. */
	ttls_for(1000000000u, 1, &t);
	cr_assert_eq(t.interval, 1000000000u);
	cr_assert_eq(t.a, 2000000000u);
	cr_assert_eq(t.retry, 2000000000u);
	cr_assert_eq(t.minimum, 2000000000u);
	cr_assert_eq(t.ns, 2147483647u);
	cr_assert_eq(t.soa, 2147483647u);
	cr_assert_eq(t.dnskey, 2147483647u);
	cr_assert_eq(t.expire, 2147483647u);
	cr_assert_eq(t.neg, 2000000000u);

	/* Everything clamped. */
	ttls_for(4294967295u, 4294967295u, &t);
	cr_assert_eq(t.interval, 2147483647u);
	cr_assert_eq(t.a, 2147483647u);
	cr_assert_eq(t.ns, 2147483647u);
	cr_assert_eq(t.neg, 2147483647u);
}

/* --rrsig-lifetime / --rrsig-refresh: durations from every source, the
 * default refresh of half the lifetime, the lifetime grown for long
 * TTLs, and one clear line for a policy that cannot cover the TTLs. */
Test(config, rrsig_policy)
{
	struct config cfg, back;
	char *key = write_temp("key");
	const char *dflt[] = {ZONE_ARGS, "--priv-key-path", key, NULL};
	const char *cli[] = {ZONE_ARGS, "--priv-key-path", key, "--rrsig-lifetime=2d",
			     "--rrsig-refresh", "36h", NULL};
	const char *secs[] = {ZONE_ARGS, "--rrsig-lifetime", "86400", "--rrsig-refresh", "90m",
			      NULL};
	const char *env[] = {"AHDNS_RRSIG_LIFETIME=3h", NULL};
	const char *slow[] = {ZONE_ARGS, "--priv-key-path", key, "--test-min-interval", "86400",
			      NULL};
	const char *slow_unsigned[] = {ZONE_ARGS, "--test-min-interval", "86400", NULL};
	char *file = write_temp("{\"rrsig-lifetime\": 864000, \"rrsig-refresh\": \"2d\"}");
	const char *with_file[] = {ZONE_ARGS, "--priv-key-path", key, "--config", file, NULL};
	struct config_ttls t;
	struct run r;
	char *json;

	parse_ok(&cfg, dflt, NULL);
	cr_assert_eq(cfg.rrsig_lifetime, 14 * 86400);
	cr_assert_eq(cfg.rrsig_refresh, 7 * 86400);
	config_free(&cfg);

	parse_ok(&cfg, cli, NULL);
	cr_assert_eq(cfg.rrsig_lifetime, 2 * 86400);
	cr_assert_eq(cfg.rrsig_refresh, 36 * 3600);
	config_ttls(&cfg, &t);
	/* min(2 d / 10, (2 d - 36 h) / 2 = 6 h) */
	cr_assert_eq(t.sig_jitter, 17280);
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert(strstr(json, "\"rrsig-lifetime\":172800") != NULL, "%s", json);
	cr_assert(strstr(json, "\"rrsig-refresh\":129600") != NULL, "%s", json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_eq(back.rrsig_lifetime, 2 * 86400);
	cr_assert_eq(back.rrsig_refresh, 36 * 3600);
	config_free(&back);
	free(json);
	config_free(&cfg);

	parse_ok(&cfg, secs, NULL);
	cr_assert_eq(cfg.rrsig_lifetime, 86400);
	cr_assert_eq(cfg.rrsig_refresh, 5400);
	config_free(&cfg);

	parse_ok(&cfg, dflt, env);
	cr_assert_eq(cfg.rrsig_lifetime, 3 * 3600);
	cr_assert_eq(cfg.rrsig_refresh, 3 * 1800);
	config_free(&cfg);

	parse_ok(&cfg, with_file, NULL);
	cr_assert_eq(cfg.rrsig_lifetime, 10 * 86400);
	cr_assert_eq(cfg.rrsig_refresh, 2 * 86400);
	config_free(&cfg);

	/* NS TTL 60 x 86400: the default lifetime grows to cover it */
	parse_ok(&cfg, slow, NULL);
	cr_assert_eq(cfg.rrsig_refresh, 60 * 86400 + 2 * 86400);
	cr_assert_eq(cfg.rrsig_lifetime, 2 * cfg.rrsig_refresh);
	config_free(&cfg);
	parse_ok(&cfg, slow_unsigned, NULL);
	cr_assert_eq(cfg.rrsig_lifetime, 14 * 86400);
	config_free(&cfg);

	{
		static const char *const bad[][3] = {
			{"--rrsig-lifetime", "0", "'0' is not a duration from 1m to 3650d"},
			{"--rrsig-lifetime", "59", "'59'"},
			{"--rrsig-lifetime", "3651d", "'3651d'"},
			{"--rrsig-lifetime", "2w", "'2w'"},
			{"--rrsig-lifetime", "5ms", "'5ms'"},
			{"--rrsig-lifetime", "", "''"},
			{"--rrsig-lifetime", "-1d", "'-1d'"},
			{"--rrsig-lifetime", "d", "'d'"},
			{"--rrsig-lifetime", "99999999999999999999s", "'99999999999999999999s'"},
			{"--rrsig-refresh", "0", "'0'"},
			{"--rrsig-refresh", "1.5d", "'1.5d'"},
			{"--rrsig-refresh", "14d", "'14d' is not below the signature lifetime (14d)"},
		};

		expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
	}
	{
		const char *refresh[] = {ZONE_ARGS, "--priv-key-path", key, "--rrsig-refresh", "10m",
					 NULL};
		const char *lifetime[] = {ZONE_ARGS, "--priv-key-path", key, "--rrsig-lifetime", "1h",
					  NULL};
		const char *unsigned_1h[] = {ZONE_ARGS, "--rrsig-lifetime", "1h", NULL};
		const char *ttl[] = {"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]",
				     "--zone-resolutions",
				     "{\"www\": {\"ips\": [\"192.0.2.1\"], \"health_port\": 80, "
				     "\"ttl\": 2592000}}",
				     "--priv-key-path", key, "--rrsig-lifetime", "14d", NULL};

		run_parse(&cfg, refresh, NULL, &r);
		cr_assert_str_eq(r.err, "a-healthy-dns: --rrsig-refresh: signatures would be "
					"re-signed with 10m left, less than the largest TTL (NS, "
					"1800 s) plus two check intervals (60 s), so a resolver "
					"could keep an RRset past its signature's expiry (RFC 6781 "
					"section 4.4.2); raise it to 31m or more, or lower the TTL\n");
		run_parse(&cfg, lifetime, NULL, &r);
		cr_assert_eq(r.rc, -1);
		cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
		cr_assert(strstr(r.err, "--rrsig-lifetime: signatures would be re-signed with 30m "
					"left") != NULL, "%s", r.err);
		cr_assert(strstr(r.err, "raise it to 62m or more") != NULL, "%s", r.err);
		/* the same without a key: nothing to sign, nothing refused */
		parse_ok(&cfg, unsigned_1h, NULL);
		config_free(&cfg);
		run_parse(&cfg, ttl, NULL, &r);
		cr_assert_eq(r.rc, -1);
		cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
		cr_assert(strstr(r.err, "--rrsig-lifetime: signatures would be re-signed with 7d "
					"left, less than the largest TTL (ttl of \"www\", 2592000 s)")
				  != NULL, "%s", r.err);
		/* without --rrsig-lifetime, the default grows to cover it */
		ttl[8] = NULL;
		parse_ok(&cfg, ttl, NULL);
		cr_assert_eq(cfg.rrsig_lifetime, 2 * (2592000 + 60));
		config_free(&cfg);
	}
	unlink(file);
	free(file);
	unlink(key);
	free(key);
}

Test(config, help_and_version)
{
	struct config cfg;
	struct run r;
	const char *help[] = {"--help", "--port", "bad", NULL};
	const char *h[] = {"-h", NULL};
	const char *version[] = {"--version", NULL};

	run_parse(&cfg, help, NULL, &r);
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.action, CONFIG_EXIT_OK);
	cr_assert(strstr(r.out, "--zone-resolutions") != NULL);
	cr_assert(strstr(r.out, "AHDNS_") != NULL);
	cr_assert_str_empty(r.err);
	cr_assert_null(cfg.hosted_zone);

	run_parse(&cfg, h, NULL, &r);
	cr_assert_eq(r.action, CONFIG_EXIT_OK);
	cr_assert(strstr(r.out, "Usage:") != NULL);

	run_parse(&cfg, version, NULL, &r);
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.action, CONFIG_EXIT_OK);
	cr_assert_str_eq(r.out, "a-healthy-dns " AHD_VERSION "\n");
}

Test(config, summary)
{
	struct config cfg;
	const char *args[] = {
		"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]",
		"--alias-zones", "[\"example.net\"]",
		"--zone-resolutions",
		"{\"www\": [\"192.0.2.1\"], \"api\": {\"ips\": [\"2001:db8::2\"], \"health_port\": 8080, "
		"\"check\": \"http\"}}",
		"--listen", "127.0.0.1", "--workers", "2", "--user", "nobody", NULL};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	parse_ok(&cfg, args, NULL);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	config_print_summary(&cfg, f);
	fclose(f);
	cr_assert(strstr(buf, "zone: example.com") != NULL, "%s", buf);
	cr_assert(strstr(buf, "example.net") != NULL, "%s", buf);
	cr_assert(strstr(buf, "ns1.example.com") != NULL, "%s", buf);
	cr_assert(strstr(buf, "www.example.com: A 192.0.2.1; static") != NULL, "%s", buf);
	cr_assert(strstr(buf, "api.example.com: AAAA 2001:db8::2; check http GET / on port 8080") !=
			  NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "A/AAAA 60, NS 1800") != NULL, "%s", buf);
	cr_assert(strstr(buf, "dnssec: off (no --priv-key-path)") != NULL, "%s", buf);
	cr_assert(strstr(buf, "listen: 127.0.0.1, port 53053") != NULL, "%s", buf);
	cr_assert(strstr(buf, "workers: 2, user: nobody, shm: /a-healthy-dns.53053") != NULL, "%s",
		  buf);
	free(buf);
	config_free(&cfg);
}

/* The signing policy in the summary, even at the shortest interval
 * (where signatures used to live 52 s). */
Test(config, summary_signing_policy)
{
	struct config cfg;
	char *key = write_temp("key");
	const char *args[] = {ZONE_ARGS, "--priv-key-path", key, "--test-min-interval", "1",
			      "--test-timeout", "1", NULL};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	parse_ok(&cfg, args, NULL);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	config_print_summary(&cfg, f);
	fclose(f);
	cr_assert(strstr(buf, "signatures: valid 14d, re-signed when less than 7d remains, "
			      "inception 1h back, expiry spread over 120960 s\n") != NULL,
		  "%s", buf);
	free(buf);
	config_free(&cfg);
	unlink(key);
	free(key);
}

Test(config, alg_names)
{
	cr_assert_str_eq(config_alg_name(CONFIG_ALG_RSASHA256), "RSASHA256");
	cr_assert_str_eq(config_alg_name(CONFIG_ALG_ECDSAP384SHA384), "ECDSAP384SHA384");
	cr_assert_str_eq(config_alg_name(CONFIG_ALG_ED448), "ED448");
	cr_assert_str_eq(config_alg_name((enum config_alg)99), "?");
}

Test(config, ten_thousand_names)
{
	struct config cfg;
	size_t cap = 10000 * 64 + 64;
	char *zr = malloc(cap);
	size_t o = 0;
	const char *args[] = {"--hosted-zone", "example.com", "--ns", "[\"ns1.example.com\"]",
			      "--zone-resolutions", NULL, NULL};

	cr_assert_not_null(zr);
	o += (size_t)snprintf(zr + o, cap - o, "{");
	for (unsigned i = 0; i < 10000; i++)
		o += (size_t)snprintf(zr + o, cap - o,
				      "%s\"h%u\": {\"ips\": [\"10.%u.%u.1\"], \"health_port\": 80}",
				      i ? ", " : "", i, i / 256, i % 256);
	snprintf(zr + o, cap - o, "}");
	args[5] = zr;
	parse_ok(&cfg, args, NULL);
	cr_assert_eq(cfg.n_entries, 10000);
	cr_assert_eq(cfg.n_addrs_total, 10000);
	cr_assert_str_eq(cfg.entries[9999].name, "h9999");
	cr_assert_eq(cfg.entries[9999].first_addr, 9999);
	cr_assert_eq(memcmp(cfg.entries[9999].addrs[0].addr, "\x0a\x27\x0f\x01", 4), 0);
	config_free(&cfg);
	free(zr);
}

/* Each {flag, value, fragment}: refused with one stderr line that
 * names the flag and contains the fragment. */
Test(config, tcp_flags)
{
	struct config cfg, back;
	const char *dflt[] = {ZONE_ARGS, NULL};
	const char *cli[] = {ZONE_ARGS, "--tcp-max-conns", "50", "--tcp-idle-timeout=3",
			     "--tcp-io-timeout", "250", "--tcp-max-conns-per-client=7", NULL};
	const char *env[] = {"AHDNS_TCP_MAX_CONNS=70", "AHDNS_TCP_IDLE_TIMEOUT=4",
			     "AHDNS_TCP_IO_TIMEOUT=300", "AHDNS_TCP_MAX_CONNS_PER_CLIENT=6", NULL};
	char *file = write_temp("{\"tcp-max-conns\": 80, \"tcp-idle-timeout\": \"5\","
				" \"tcp-io-timeout\": 400, \"tcp-max-conns-per-client\": \"5\"}");
	const char *with_file[] = {ZONE_ARGS, "--config", file, NULL};
	const char *file_and_cli[] = {ZONE_ARGS, "--config", file, "--tcp-max-conns", "9", NULL};
	char *json;

	parse_ok(&cfg, dflt, NULL);
	cr_assert_eq(cfg.tcp_max_conns, 256);
	cr_assert_eq(cfg.tcp_idle_timeout, 10);
	cr_assert_eq(cfg.tcp_io_timeout_ms, 500);
	cr_assert_eq(cfg.tcp_max_conns_per_client, 64);
	config_free(&cfg);
	{
		/* The default per client follows the table, at least 1. */
		const char *small[] = {ZONE_ARGS, "--tcp-max-conns", "3", NULL};

		parse_ok(&cfg, small, NULL);
		cr_assert_eq(cfg.tcp_max_conns_per_client, 1);
		config_free(&cfg);
	}

	parse_ok(&cfg, cli, NULL);
	cr_assert_eq(cfg.tcp_max_conns, 50);
	cr_assert_eq(cfg.tcp_idle_timeout, 3);
	cr_assert_eq(cfg.tcp_io_timeout_ms, 250);
	cr_assert_eq(cfg.tcp_max_conns_per_client, 7);
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert(strstr(json, "\"tcp-max-conns\":50") != NULL, "%s", json);
	cr_assert(strstr(json, "\"tcp-idle-timeout\":3") != NULL, "%s", json);
	cr_assert(strstr(json, "\"tcp-io-timeout\":250") != NULL, "%s", json);
	cr_assert(strstr(json, "\"tcp-max-conns-per-client\":7") != NULL, "%s", json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_eq(back.tcp_max_conns, 50);
	cr_assert_eq(back.tcp_idle_timeout, 3);
	cr_assert_eq(back.tcp_io_timeout_ms, 250);
	cr_assert_eq(back.tcp_max_conns_per_client, 7);
	config_free(&back);
	free(json);
	config_free(&cfg);

	parse_ok(&cfg, dflt, env);
	cr_assert_eq(cfg.tcp_max_conns, 70);
	cr_assert_eq(cfg.tcp_idle_timeout, 4);
	cr_assert_eq(cfg.tcp_io_timeout_ms, 300);
	cr_assert_eq(cfg.tcp_max_conns_per_client, 6);
	config_free(&cfg);

	/* File below environment below command line. */
	parse_ok(&cfg, with_file, NULL);
	cr_assert_eq(cfg.tcp_max_conns, 80);
	cr_assert_eq(cfg.tcp_idle_timeout, 5);
	cr_assert_eq(cfg.tcp_io_timeout_ms, 400);
	cr_assert_eq(cfg.tcp_max_conns_per_client, 5);
	config_free(&cfg);
	parse_ok(&cfg, with_file, env);
	cr_assert_eq(cfg.tcp_max_conns, 70);
	config_free(&cfg);
	parse_ok(&cfg, file_and_cli, env);
	cr_assert_eq(cfg.tcp_max_conns, 9);
	cr_assert_eq(cfg.tcp_idle_timeout, 4);
	config_free(&cfg);
	unlink(file);
	free(file);

	{
		static const char *const bad[][3] = {
			{"--tcp-max-conns", "0", "'0'"},
			{"--tcp-max-conns", "65537", "'65537'"},
			{"--tcp-idle-timeout", "0", "'0'"},
			{"--tcp-idle-timeout", "3601", "'3601'"},
			{"--tcp-idle-timeout", "soon", "'soon'"},
			{"--tcp-io-timeout", "0", "'0'"},
			{"--tcp-io-timeout", "60001", "'60001'"},
			{"--tcp-io-timeout", "1s", "'1s'"},
			{"--tcp-max-conns-per-client", "0", "'0'"},
			{"--tcp-max-conns-per-client", "65537", "'65537'"},
		};

		expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
	}
}

Test(config, edns_nsid_cookie_flags)
{
	static const uint8_t secret[16] = { 0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
					    0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf };
	struct config cfg, back, other;
	const char *dflt[] = {ZONE_ARGS, NULL};
	const char *cli[] = {ZONE_ARGS, "--edns-size", "4096", "--nsid", "ns1 east",
			     "--cookie-secret", "E5E973E5A6B2A43F48E7DC849E37BFCF", NULL};
	const char *hexid[] = {ZONE_ARGS, "--nsid=0x00ff41", NULL};
	const char *host[] = {ZONE_ARGS, "--nsid", "hostname", NULL};
	const char *env[] = {"AHDNS_EDNS_SIZE=1400", "AHDNS_NSID=from-env",
			     "AHDNS_COOKIE_SECRET=000102030405060708090a0b0c0d0e0f", NULL};
	char *file = write_temp("{\"edns-size\": 600, \"nsid\": \"from-file\", "
				"\"cookie-secret\": \"e5e973e5a6b2a43f48e7dc849e37bfcf\"}");
	const char *with_file[] = {ZONE_ARGS, "--config", file, NULL};
	char hostname[256] = "";
	char *json;

	/* Defaults: 1232, no NSID, a random secret that differs per start. */
	parse_ok(&cfg, dflt, NULL);
	parse_ok(&other, dflt, NULL);
	cr_assert_eq(cfg.edns_size, 1232);
	cr_assert_eq(cfg.nsid_len, 0);
	cr_assert_neq(memcmp(cfg.cookie_secret, other.cookie_secret, 16), 0);
	/* ... which survives the trip to the children */
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_eq(memcmp(cfg.cookie_secret, back.cookie_secret, 16), 0);
	cr_assert_eq(back.edns_size, 1232);
	cr_assert_eq(back.nsid_len, 0);
	config_free(&back);
	free(json);
	config_free(&other);
	config_free(&cfg);

	parse_ok(&cfg, cli, NULL);
	cr_assert_eq(cfg.edns_size, 4096);
	cr_assert_eq(cfg.nsid_len, 8);
	cr_assert_eq(memcmp(cfg.nsid, "ns1 east", 8), 0);
	cr_assert_eq(memcmp(cfg.cookie_secret, secret, 16), 0);
	json = config_to_json(&cfg);
	cr_assert(strstr(json, "\"edns-size\":4096") != NULL, "%s", json);
	cr_assert(strstr(json, "\"nsid\":\"0x6e73312065617374\"") != NULL, "%s", json);
	cr_assert(strstr(json, "\"cookie-secret\":\"e5e973e5a6b2a43f48e7dc849e37bfcf\"") != NULL,
		  "%s", json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_eq(back.edns_size, 4096);
	cr_assert_eq(back.nsid_len, 8);
	cr_assert_eq(memcmp(back.nsid, "ns1 east", 8), 0);
	cr_assert_eq(memcmp(back.cookie_secret, secret, 16), 0);
	config_free(&back);
	free(json);
	config_free(&cfg);

	parse_ok(&cfg, hexid, NULL);
	cr_assert_eq(cfg.nsid_len, 3);
	cr_assert_eq(memcmp(cfg.nsid, "\x00\xff\x41", 3), 0);
	config_free(&cfg);

	cr_assert_eq(gethostname(hostname, sizeof(hostname) - 1), 0);
	parse_ok(&cfg, host, NULL);
	cr_assert_eq(cfg.nsid_len, strlen(hostname));
	cr_assert_eq(memcmp(cfg.nsid, hostname, cfg.nsid_len), 0);
	config_free(&cfg);

	parse_ok(&cfg, dflt, env);
	cr_assert_eq(cfg.edns_size, 1400);
	cr_assert_eq(cfg.nsid_len, 8);
	cr_assert_eq(memcmp(cfg.nsid, "from-env", 8), 0);
	cr_assert_eq(cfg.cookie_secret[15], 0x0f);
	config_free(&cfg);

	parse_ok(&cfg, with_file, NULL);
	cr_assert_eq(cfg.edns_size, 600);
	cr_assert_eq(cfg.nsid_len, 9);
	cr_assert_eq(memcmp(cfg.cookie_secret, secret, 16), 0);
	config_free(&cfg);
	parse_ok(&cfg, with_file, env); /* environment above file */
	cr_assert_eq(cfg.edns_size, 1400);
	config_free(&cfg);
	unlink(file);
	free(file);

	{
		char long_id[140];
		static const char *const bad[][3] = {
			{"--edns-size", "511", "'511'"},
			{"--edns-size", "4097", "'4097'"},
			{"--edns-size", "big", "'big'"},
			{"--nsid", "tab\there", "not a valid NSID"},
			{"--nsid", "0x0", "not valid hex"},
			{"--nsid", "0x", "not valid hex"},
			{"--nsid", "0xzz", "not valid hex"},
			{"--cookie-secret", "e5e973e5a6b2a43f48e7dc849e37bf", "32 hex digits"},
			{"--cookie-secret", "e5e973e5a6b2a43f48e7dc849e37bfcf00", "32 hex digits"},
			{"--cookie-secret", "g5e973e5a6b2a43f48e7dc849e37bfcf", "32 hex digits"},
			{"--nsid", NULL, "not a valid NSID"},
		};

		memset(long_id, 'a', 129);
		long_id[129] = '\0';
		for (size_t i = 0; i < AHD_ARRAY_LEN(bad); i++) {
			const char *args[] = {ZONE_ARGS, bad[i][0], bad[i][1] ? bad[i][1] : long_id,
					      NULL};
			struct run r;

			run_parse(&cfg, args, NULL, &r);
			cr_expect_eq(r.rc, -1, "%s %s", bad[i][0], args[7]);
			cr_expect(strstr(r.err, bad[i][0]) != NULL, "%s", r.err);
			cr_expect(strstr(r.err, bad[i][2]) != NULL, "%s", r.err);
			/* the secret is never echoed */
			cr_expect(strstr(r.err, "e5e973") == NULL, "%s", r.err);
		}
	}
}

/* The CPUs this process may use, lowest first: what --cpu-affinity is
 * checked against, read here straight from the kernel. */
static int allowed_cpus(int *out, int max)
{
	cpu_set_t set;
	int n = 0;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && n < max; c++) {
		if (CPU_ISSET(c, &set))
			out[n++] = c;
	}
	return n;
}

Test(config, cpu_affinity_and_udp_pause)
{
	struct config cfg, back;
	int cpus[4];
	int n = allowed_cpus(cpus, 4);
	char list[32], one[16], forbidden[16];
	cpu_set_t set;
	char *json;
	int outside = -1;

	cr_assert_geq(n, 1);
	snprintf(one, sizeof(one), "%d", cpus[0]);
	/* Two CPUs if we have them, named high first: workers still go in
	 * ascending order. */
	if (n >= 2)
		snprintf(list, sizeof(list), "%d,%d", cpus[1], cpus[0]);
	else
		snprintf(list, sizeof(list), "%d", cpus[0]);

	{
		const char *dflt[] = {ZONE_ARGS, NULL};

		parse_ok(&cfg, dflt, NULL);
		cr_assert_eq(cfg.n_cpus, 0);
		cr_assert_eq(config_worker_cpu(&cfg, 0), -1);
		cr_assert_eq(cfg.udp_pause_us, 40);
		config_free(&cfg);
	}
	{
		const char *args[] = {ZONE_ARGS, "--cpu-affinity", list, "--udp-pause", "0", NULL};

		parse_ok(&cfg, args, NULL);
		cr_assert_eq(cfg.udp_pause_us, 0);
		cr_assert_eq(cfg.n_cpus, (unsigned)(n >= 2 ? 2 : 1));
		cr_assert_eq(config_worker_cpu(&cfg, 0), cpus[0]);
		cr_assert_eq(config_worker_cpu(&cfg, 1), n >= 2 ? cpus[1] : cpus[0]);
		/* Round robin past the end of the list. */
		cr_assert_eq(config_worker_cpu(&cfg, 2), cpus[0]);
		json = config_to_json(&cfg);
		cr_assert_not_null(json);
		cr_assert_eq(config_from_json(&back, json), 0, "%s", json);
		cr_assert_eq(back.n_cpus, cfg.n_cpus);
		cr_assert(CPU_EQUAL(&back.cpus, &cfg.cpus), "%s", json);
		cr_assert_eq(back.udp_pause_us, 0);
		config_free(&back);
		free(json);
		config_free(&cfg);
	}
	{
		const char *args[] = {ZONE_ARGS, NULL};
		char e[64];
		const char *env[] = {e, "AHDNS_UDP_PAUSE=100", NULL};

		snprintf(e, sizeof(e), "AHDNS_CPU_AFFINITY=%s", one);
		parse_ok(&cfg, args, env);
		cr_assert_eq(cfg.n_cpus, 1);
		cr_assert_eq(config_worker_cpu(&cfg, 5), cpus[0]);
		cr_assert_eq(cfg.udp_pause_us, 100);
		config_free(&cfg);
	}

	/* A CPU this process may not run on: the first one outside its set. */
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set)) {
			outside = c;
			break;
		}
	}
	cr_assert_geq(outside, 0);
	snprintf(forbidden, sizeof(forbidden), "%d", outside);
	{
		const char *const bad[][3] = {
			{"--cpu-affinity", "", "''"},
			{"--cpu-affinity", "x", "'x'"},
			{"--cpu-affinity", "0,", "'0,'"},
			{"--cpu-affinity", "1-0", "'1-0'"},
			{"--cpu-affinity", "0-", "'0-'"},
			{"--cpu-affinity", "-1", "'-1'"},
			{"--cpu-affinity", "0 1", "'0 1'"},
			{"--cpu-affinity", "99999", "'99999'"},
			{"--cpu-affinity", forbidden, "not one this process may run on"},
			{"--udp-pause", "1001", "'1001'"},
			{"--udp-pause", "-1", "'-1'"},
			{"--udp-pause", "fast", "'fast'"},
		};

		expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
	}
}

/* --state-dir: kept, serialized for the children, and refused with one
 * line when it is not an absolute path to a directory. */
Test(config, state_dir)
{
	static const char *const bad[][3] = {
		{"--state-dir", "var/lib/x", "is not an absolute path"},
		{"--state-dir", "/dev/null", "is not a directory"},
		{"--state-dir", "/nonexistent/dir", "No such file or directory"},
	};
	const char *args[] = {ZONE_ARGS, "--state-dir", "/tmp", NULL};
	const char *none[] = {ZONE_ARGS, NULL};
	struct config cfg, back;
	char *json;

	parse_ok(&cfg, none, NULL);
	cr_assert_null(cfg.state_dir);
	config_free(&cfg);
	parse_ok(&cfg, args, NULL);
	cr_assert_str_eq(cfg.state_dir, "/tmp");
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_str_eq(back.state_dir, "/tmp");
	free(json);
	config_free(&back);
	config_free(&cfg);
	expect_bad_flags(bad, sizeof(bad) / sizeof(bad[0]));
}

/* --control-socket: the default unless given, from a flag, the
 * environment or the file; "none" turns it off; serialized for the
 * children only when given; refused with one line when not an absolute
 * path that fits a sockaddr_un. */
Test(config, control_socket)
{
	static const char *const bad[][3] = {
		{"--control-socket", "run/ctl", "is not an absolute path"},
		{"--control-socket", "/run/a-healthy-dns/a-very-long-directory-name-that-goes-on/and-"
				     "on-and-on-past-the-sun-path-limit-of-108/control",
		 "longer than a UNIX socket path may be"},
	};
	const char *none[] = {ZONE_ARGS, NULL};
	const char *flag[] = {ZONE_ARGS, "--control-socket", "/tmp/x/ctl", NULL};
	const char *off[] = {ZONE_ARGS, "--control-socket", "none", NULL};
	const char *env[] = {"AHDNS_CONTROL_SOCKET=/var/run/ahd.ctl", NULL};
	struct config cfg, back;
	char *json;

	parse_ok(&cfg, none, NULL);
	cr_assert_str_eq(cfg.control_socket, "/run/a-healthy-dns/control");
	cr_assert_not(cfg.control_socket_given);
	json = config_to_json(&cfg);
	cr_assert_null(strstr(json, "control-socket"), "%s", json);
	free(json);
	config_free(&cfg);
	parse_ok(&cfg, none, env);
	cr_assert_str_eq(cfg.control_socket, "/var/run/ahd.ctl");
	cr_assert(cfg.control_socket_given);
	config_free(&cfg);
	parse_ok(&cfg, off, NULL);
	cr_assert_null(cfg.control_socket);
	config_free(&cfg);
	parse_ok(&cfg, flag, NULL);
	cr_assert_str_eq(cfg.control_socket, "/tmp/x/ctl");
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_str_eq(back.control_socket, "/tmp/x/ctl");
	cr_assert(back.control_socket_given);
	free(json);
	config_free(&back);
	config_free(&cfg);
	expect_bad_flags(bad, sizeof(bad) / sizeof(bad[0]));
}

/* --xdp and --xdp-mode (issue 18): off unless given; the mode defaults
 * to auto; both serialized for the children; bad names and modes
 * refused with one line. */
Test(config, xdp)
{
	static const char *const bad[][3] = {
		{"--xdp-mode", "fast", "is not an XDP mode (auto, native or generic)"},
		{"--xdp", "", "is not an interface name"},
		{"--xdp", "an-interface-name-too-long", "is not an interface name"},
		{"--xdp", "eth0/1", "is not an interface name"},
	};
	const char *none[] = {ZONE_ARGS, NULL};
	const char *flag[] = {ZONE_ARGS, "--xdp", "lo", "--xdp-mode", "generic", NULL};
	const char *env[] = {"AHDNS_XDP=lo", NULL};
	struct config cfg, back;
	char *json;

	parse_ok(&cfg, none, NULL);
	cr_assert_null(cfg.xdp_iface);
	cr_assert_eq(cfg.xdp_mode, CONFIG_XDP_AUTO);
	json = config_to_json(&cfg);
	cr_assert_null(strstr(json, "xdp"), "%s", json);
	free(json);
	config_free(&cfg);
	parse_ok(&cfg, none, env);
	cr_assert_str_eq(cfg.xdp_iface, "lo");
	cr_assert_eq(cfg.xdp_mode, CONFIG_XDP_AUTO);
	config_free(&cfg);
	parse_ok(&cfg, flag, NULL);
	cr_assert_str_eq(cfg.xdp_iface, "lo");
	cr_assert_eq(cfg.xdp_mode, CONFIG_XDP_GENERIC);
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_str_eq(back.xdp_iface, "lo");
	cr_assert_eq(back.xdp_mode, CONFIG_XDP_GENERIC);
	free(json);
	config_free(&back);
	config_free(&cfg);
	expect_bad_flags(bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- Replication (issue 14): --transfer-allow, --notify, --tsig-key,
 * --ixfr-history. Secrets below were made with `openssl rand -base64 N`
 * and their bytes with `base64 -d | xxd -p`, outside this code. ---- */

#define SECRET32_B64 "rxBFUguQGn0n9maQkbqwVBJGZLhLgUflIT0VY3J7YWo="
#define SECRET32_HEX "af1045520b901a7d27f6669091bab054124664b84b8147e5213d1563727b616a"
#define SECRET48_B64 "FEVFS4mM0zH2p3tCcL2BrcSinRWGvolmmhpuesEk5J2zBHlaRHSAXbrjShl+ogj1"
#define SECRET48_HEX "1445454b898cd331f6a77b4270bd81adc4a29d1586be89669a1a6e7ac124e49d" \
		     "b304795a4474805dbae34a197ea208f5"
#define SECRET20_B64 "GtOuNg8fa9dlKiTPS8sPIwIP+nk="
#define SECRET20_HEX "1ad3ae360f1f6bd7652a24cf4bcb0f23020ffa79"
#define SECRET16_B64 "W1xr6b7KILC98np41fsxGQ=="
#define SECRET16_HEX "5b5c6be9beca20b0bdf27a78d5fb3119"
#define SECRET128_B64 "tyYZ7BuBNi5KlBYYVWdI8SWotTakzhfa2IY0zK6C68FTIr+mEuv11BViw6jF1+yOLMvkto" \
		      "eQNg3cMYZbeQKBNIyTsZlaRi9rW21wisxRWyGdsgGEUUJ6HYX1IRiEWs2bpbNyxLy5lag9" \
		      "F/xaF28zSkcO9ADexqiTZhXH/z7fuDg="
#define SECRET128_HEX "b72619ec1b81362e4a941618556748f125a8b536a4ce17dad88634ccae82ebc15322bf" \
		      "a612ebf5d41562c3a8c5d7ec8e2ccbe4b68790360ddc31865b790281348c93b1995a46" \
		      "2f6b5b6d708acc515b219db2018451427a1d85f52118845acd9ba5b372c4bcb995a83d" \
		      "17fc5a176f334a470ef400dec6a8936615c7ff3edfb838"
/* 129 bytes: one more than TSIG_SECRET_MAX. */
#define SECRET129_B64 "QHXN4LvFZEy3Ckvc5+i2A4EbuYH0TXXUeq0wWrmoUlUTrs2k6vEaSkbGuGV/vA/GAmpMtA" \
		      "JDG71lg0OipbeX9MS4NgXieMl0bybLx3/1SWAhehTVybBj/9H077RxZl8nZgtp9SK5Ai6y" \
		      "DcwfXioN70q8uhDAtjHLX0E2vhAwHuh9"

static size_t test_unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* The name's wire form as ldns makes it, lower-cased: the oracle. */
static void assert_key_name(const struct tsig_key *k, const char *text)
{
	ldns_rdf *rdf = ldns_dname_new_frm_str(text);

	cr_assert_not_null(rdf, "ldns refuses %s", text);
	ldns_dname2canonical(rdf);
	cr_assert_eq(k->name_len, ldns_rdf_size(rdf), "%s", text);
	cr_assert_eq(memcmp(k->name, ldns_rdf_data(rdf), k->name_len), 0, "%s", text);
	ldns_rdf_deep_free(rdf);
}

static void assert_secret(const struct tsig_key *k, const char *hex)
{
	uint8_t want[TSIG_SECRET_MAX + 1];
	size_t n = test_unhex(hex, want);

	cr_assert_eq(k->secret_len, n);
	cr_assert_eq(memcmp(k->secret, want, n), 0);
}

/* Parses the zone with --tsig-key FILE holding content. */
static void parse_key(struct config *cfg, const char *content, struct run *r)
{
	char *path = write_temp(content);
	const char *args[] = {ZONE_ARGS, "--tsig-key", path, NULL};

	run_parse(cfg, args, NULL, r);
	unlink(path);
	free(path);
}

Test(config, tsig_key_file_syntaxes)
{
	static const struct {
		const char *file;
		const char *name; /* as ldns reads it */
		enum tsig_alg alg;
		const char *hex;
	} good[] = {
		/* tsig-keygen -a hmac-sha256 xfr-key.example */
		{"key \"xfr-key.example\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET32_B64
		 "\";\n};\n",
		 "xfr-key.example.", TSIG_HMAC_SHA256, SECRET32_HEX},
		/* BIND with every comment style, a bare upper-case name and
		 * CRLF line ends. */
		{"# made by hand\r\n// twice\r\n/* a\r\n block */ key XFR.Example. {\r\n"
		 " secret \"" SECRET48_B64 "\"; # the secret\r\n algorithm HMAC-SHA512; };\r\n",
		 "xfr.example.", TSIG_HMAC_SHA512, SECRET48_HEX},
		/* keymgr -t xfr-key.example hmac-sha384 (its comment line holds
		 * the one-line form: a comment, not a second key). */
		{"# hmac-sha384:xfr-key.example:" SECRET48_B64 "\nkey:\n  - id: xfr-key.example\n"
		 "    algorithm: hmac-sha384\n    secret: " SECRET48_B64 "\n",
		 "xfr-key.example.", TSIG_HMAC_SHA384, SECRET48_HEX},
		/* Knot with quoted values and the id not first. */
		{"key:   # the keys\n  - algorithm: 'hmac-sha1'\n    id: \"k1\"\n    secret: \""
		 SECRET20_B64 "\"\n",
		 "k1.", TSIG_HMAC_SHA1, SECRET20_HEX},
		/* NSD's key clause: tabs, quotes, no "- " item. */
		{"# nsd.conf\nkey:\n\tname: \"nsd-key\"\n\talgorithm: hmac-sha256\n"
		 "\tsecret: \"" SECRET32_B64 "\"\n",
		 "nsd-key.", TSIG_HMAC_SHA256, SECRET32_HEX},
		/* One line: name:alg:secret (the issue's form). */
		{"xfr:hmac-sha224:" SECRET16_B64 "\n", "xfr.", TSIG_HMAC_SHA224, SECRET16_HEX},
		/* alg:name:secret (kdig -y), comments and blank lines around. */
		{"# for kdig -y\n\n  hmac-sha512:Transfer.Key:" SECRET20_B64 "  \n\n",
		 "transfer.key.", TSIG_HMAC_SHA512, SECRET20_HEX},
		/* name:secret: hmac-sha256, no newline at the end. */
		{"xfr-key:" SECRET32_B64, "xfr-key.", TSIG_HMAC_SHA256, SECRET32_HEX},
		/* A known algorithm first settles the ambiguity. */
		{"hmac-sha256:hmac-sha1:" SECRET16_B64, "hmac-sha1.", TSIG_HMAC_SHA256,
		 SECRET16_HEX},
		/* The largest secret; one byte: "QQ==" is 0x41. */
		{"big:" SECRET128_B64 "\n", "big.", TSIG_HMAC_SHA256, SECRET128_HEX},
		{"one:hmac-sha256:QQ==\n", "one.", TSIG_HMAC_SHA256, "41"},
	};

	for (size_t i = 0; i < AHD_ARRAY_LEN(good); i++) {
		struct config cfg;
		struct run r;

		parse_key(&cfg, good[i].file, &r);
		cr_assert_eq(r.rc, 0, "case %zu: %s", i, r.err);
		cr_assert_str_empty(r.err, "case %zu", i);
		cr_assert_eq(cfg.tsig.alg, good[i].alg, "case %zu", i);
		assert_key_name(&cfg.tsig, good[i].name);
		assert_secret(&cfg.tsig, good[i].hex);
		cr_assert_not_null(cfg.tsig_key_path);
		config_free(&cfg);
	}
}

Test(config, tsig_key_file_errors)
{
	static const struct {
		const char *file;
		const char *msg;
	} bad[] = {
		{"", "no key in it"},
		{"# nothing\n\n", "no key in it"},
		{"key \"x\" { algorithm hmac-sha257; secret \"" SECRET32_B64 "\"; };",
		 "unknown algorithm 'hmac-sha257'"},
		{"key:\n  - id: x\n    algorithm: hmac-sha256-128\n    secret: " SECRET32_B64 "\n",
		 "unknown algorithm 'hmac-sha256-128'"},
		{"key \"x\" { algorithm hmac-md5; secret \"" SECRET32_B64 "\"; };",
		 "hmac-md5 is not supported"},
		{"x:hmac-sha256:" SECRET32_B64 "$\n", "not valid base64"},
		{"x:hmac-sha256:" SECRET16_B64 "=\n", "not valid base64"},
		{"x:" SECRET32_B64 "==\n", "not valid base64"},
		{"x:hmac-sha256:rxBFUguQGn0n9maQkbqwVBJGZLhLgUflIT0VY3J7YWo\n", "not valid base64"},
		{"x:hmac-sha256:rxBF=guQGn0n9maQkbqwVBJGZLhLgUflIT0VY3J7YWo=\n", "not valid base64"},
		/* Stray bits in the last character. */
		{"x:hmac-sha256:QS==\n", "not valid base64"},
		{"x:hmac-sha256:rxBFUguQGn0n9maQkbqwVBJGZLhLgUflIT0VY3J7YWp=\n", "not valid base64"},
		{"key \"x\" { algorithm hmac-sha256; secret \"\"; };", "the secret is empty"},
		{"x:hmac-sha256:\n", "the secret is empty"},
		{"key \"x\" { algorithm hmac-sha256; };", "the key has no secret"},
		{"key \"x\" { secret \"" SECRET32_B64 "\"; algorithm hmac-sha256; };\n"
		 "key \"y\" { secret \"" SECRET32_B64 "\"; algorithm hmac-sha256; };\n",
		 "line 2: a second key"},
		{"x:" SECRET32_B64 "\ny:" SECRET32_B64 "\n", "line 2: a second key"},
		{"key:\n  - id: x\n    secret: " SECRET32_B64 "\n  - id: y\n    secret: "
		 SECRET32_B64 "\n", "line 4: a second key"},
		{"key \"x\" { algorithm hmac-sha256; secret \"" SECRET32_B64 "\"; secret \""
		 SECRET16_B64 "\"; };", "two secrets"},
		{"big:" SECRET129_B64 "\n", "longer than 128 bytes"},
		{"a..b:" SECRET32_B64 "\n", "the key name 'a..b' is not a domain name"},
		{"key \"x y\" { algorithm hmac-sha256; secret \"" SECRET32_B64 "\"; };",
		 "the key name 'x y' is not a domain name"},
		{"foo:bar:" SECRET32_B64 "\n", "neither the first nor the second field"},
		{"hmac-sha256:" SECRET32_B64 "\n", "the key name is missing"},
		{"x:y:z:" SECRET32_B64 "\n", "more than three"},
		{"key:\n  - id: x\n    storage: /var\n    secret: " SECRET32_B64 "\n",
		 "line 3: 'storage' is not a key option (id or name, algorithm, secret)"},
		{"server:\n  listen: 127.0.0.1\nkey:\n  - id: x\n", "line 1: 'key:' expected"},
		{"key:\n\tname: x\n\tsecret: " SECRET32_B64 "\nkey:\n\tname: y\n\tsecret: "
		 SECRET32_B64 "\n", "line 5: a second key"},
		{"key:\n  - id: x\n    name: y\n", "line 3: the key has two names"},
		{"key \"x\" { algorithm hmac-sha256; secret \"" SECRET32_B64 "\";",
		 "not closed"},
		{"key \"x\" { algorithm hmac-sha256; secret \"" SECRET32_B64 "\"; }",
		 "';' expected after '}'"},
		{"key \"x\" { algorithm hmac-sha256; secret \"" SECRET32_B64 "\"; file \"k\"; };",
		 "'file' is not a key clause"},
		{"options { };\n", "'[algorithm:]name:secret' expected"},
		{"key \"x\" { algorithm hmac-sha256 secret \"" SECRET32_B64 "\"; };",
		 "';' expected after the algorithm"},
	};

	for (size_t i = 0; i < AHD_ARRAY_LEN(bad); i++) {
		struct config cfg;
		struct run r;

		parse_key(&cfg, bad[i].file, &r);
		cr_expect_eq(r.rc, -1, "case %zu accepted", i);
		cr_expect_eq(count_lines(r.err), 1, "case %zu: %s", i, r.err);
		cr_expect(strstr(r.err, "a-healthy-dns: --tsig-key: '/tmp/test_config_file") != NULL,
			  "case %zu: %s", i, r.err);
		cr_expect(strstr(r.err, bad[i].msg) != NULL, "case %zu: no '%s' in: %s", i,
			  bad[i].msg, r.err);
		/* The secret is never shown, whole or in part. */
		cr_expect(strstr(r.err, "rxBFUguQ") == NULL, "case %zu: %s", i, r.err);
		cr_expect(strstr(r.err, "W1xr6b7K") == NULL, "case %zu: %s", i, r.err);
		cr_expect(strstr(r.err, "QHXN4LvF") == NULL, "case %zu: %s", i, r.err);
		cr_expect_eq(cfg.tsig.alg, TSIG_ALG_NONE, "case %zu", i);
		cr_expect_eq(cfg.tsig.secret_len, 0, "case %zu", i);
		cr_expect_null(cfg.tsig_key_path, "case %zu", i);
	}
	{
		static const char *const files[][3] = {
			{"--tsig-key", "/nonexistent/key", "'/nonexistent/key' cannot be opened"},
			{"--tsig-key", "/tmp", "'/tmp': not a regular file"},
			{"--tsig-key", "", "'' is empty"},
		};

		expect_bad_flags(files, AHD_ARRAY_LEN(files));
	}
}

/* A key every user can read is started with, after one warning line. */
Test(config, tsig_key_world_readable_warns)
{
	char *path = write_temp("x:" SECRET32_B64 "\n");
	const char *args[] = {ZONE_ARGS, "--tsig-key", path, NULL};
	struct config cfg;
	struct run r;

	cr_assert_eq(chmod(path, 0644), 0);
	run_parse(&cfg, args, NULL, &r);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "a-healthy-dns: warning: --tsig-key: '") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "is readable by every user") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "rxBF") == NULL, "%s", r.err);
	config_free(&cfg);
	cr_assert_eq(chmod(path, 0640), 0);
	parse_ok(&cfg, args, NULL);
	config_free(&cfg);
	unlink(path);
	free(path);
}

static void assert_prefix(const struct config_prefix *p, const char *addr, unsigned len)
{
	uint8_t want[16] = {0};
	int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

	cr_assert_eq(inet_pton(family, addr, want), 1);
	cr_assert_eq(p->family, family, "%s", addr);
	cr_assert_eq(p->len, len, "%s", addr);
	cr_assert_eq(memcmp(p->addr, want, family == AF_INET ? 4 : 16), 0, "%s", addr);
}

Test(config, transfer_allow)
{
	const char *args[] = {ZONE_ARGS, "--transfer-allow",
			      "[\"127.0.0.1/32\", \"::1\", \"2001:db8::/64\", \"10.0.0.0/8\", "
			      "\"192.0.2.7\", \"0.0.0.0/0\", \"::/0\", \"2001:db8:0:2::/63\"]",
			      NULL};
	const char *empty[] = {ZONE_ARGS, "--transfer-allow", "[]", NULL};
	const char *none[] = {ZONE_ARGS, NULL};
	struct config cfg;

	parse_ok(&cfg, args, NULL);
	cr_assert_eq(cfg.n_transfer_allow, 8);
	assert_prefix(&cfg.transfer_allow[0], "127.0.0.1", 32);
	assert_prefix(&cfg.transfer_allow[1], "::1", 128);
	assert_prefix(&cfg.transfer_allow[2], "2001:db8::", 64);
	assert_prefix(&cfg.transfer_allow[3], "10.0.0.0", 8);
	assert_prefix(&cfg.transfer_allow[4], "192.0.2.7", 32);
	assert_prefix(&cfg.transfer_allow[5], "0.0.0.0", 0);
	assert_prefix(&cfg.transfer_allow[6], "::", 0);
	assert_prefix(&cfg.transfer_allow[7], "2001:db8:0:2::", 63);
	config_free(&cfg);
	parse_ok(&cfg, empty, NULL);
	cr_assert_eq(cfg.n_transfer_allow, 0);
	config_free(&cfg);
	parse_ok(&cfg, none, NULL);
	cr_assert_eq(cfg.n_transfer_allow, 0);
	config_free(&cfg);
}

Test(config, transfer_allow_errors)
{
	static char many[70 * 24];
	static const char *const bad[][3] = {
		{"--transfer-allow", "[\"192.0.2.1/24\"]",
		 "'192.0.2.1/24' has bits set beyond the first 24 (the network is 192.0.2.0/24)"},
		{"--transfer-allow", "[\"2001:db8::1/64\"]", "(the network is 2001:db8::/64)"},
		{"--transfer-allow", "[\"10.1.0.0/8\"]", "(the network is 10.0.0.0/8)"},
		{"--transfer-allow", "[\"127.0.0.1/33\"]", "'127.0.0.1/33': the prefix length is not "
							   "an integer 0-32"},
		{"--transfer-allow", "[\"::1/129\"]", "integer 0-128"},
		{"--transfer-allow", "[\"::1/\"]", "the prefix length"},
		{"--transfer-allow", "[\"1.2.3.4/-1\"]", "the prefix length"},
		{"--transfer-allow", "[\"1.2.3.4/ 8\"]", "the prefix length"},
		{"--transfer-allow", "[\"example.com\"]", "'example.com' is not an IPv4 or IPv6 "
							  "address or prefix"},
		{"--transfer-allow", "[\"fe80::1%eth0\"]", "is not an IPv4 or IPv6"},
		{"--transfer-allow", "[\"\"]", "'' is not an IPv4"},
		{"--transfer-allow", "[1]", "element '1' is not a string"},
		{"--transfer-allow", "127.0.0.1", "is not valid JSON"},
		{"--transfer-allow", "{}", "is not a JSON array of address prefixes"},
		{"--transfer-allow", "[\"::1\", \"::1/128\"]", "'::1/128' is given twice"},
		{"--transfer-allow", many, "has 65 elements, at most 64"},
	};
	size_t o = 0;

	o += (size_t)snprintf(many + o, sizeof(many) - o, "[");
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s\"10.0.%d.0/24\"",
				      i ? "," : "", i);
	snprintf(many + o, sizeof(many) - o, "]");
	expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
}

Test(config, notify)
{
	const char *args[] = {ZONE_ARGS, "--notify",
			      "[\"127.0.0.1\", \"127.0.0.1:5353\", \"::1\", \"[::1]:5353\", "
			      "\"[2001:db8::53]\", \"192.0.2.53:65535\", \"::1:53\"]",
			      NULL};
	static const struct {
		const char *addr;
		uint16_t port;
		const char *text;
	} want[] = {
		{"127.0.0.1", 53, "127.0.0.1"},	 {"127.0.0.1", 5353, "127.0.0.1:5353"},
		{"::1", 53, "::1"},		 {"::1", 5353, "[::1]:5353"},
		{"2001:db8::53", 53, "[2001:db8::53]"}, {"192.0.2.53", 65535, "192.0.2.53:65535"},
		/* Without brackets every colon belongs to the address. */
		{"::1:53", 53, "::1:53"},
	};
	struct config cfg;

	parse_ok(&cfg, args, NULL);
	cr_assert_eq(cfg.n_notify, AHD_ARRAY_LEN(want));
	for (size_t i = 0; i < AHD_ARRAY_LEN(want); i++) {
		uint8_t a[16] = {0};
		int family = strchr(want[i].addr, ':') != NULL ? AF_INET6 : AF_INET;

		cr_assert_eq(inet_pton(family, want[i].addr, a), 1);
		cr_assert_eq(cfg.notify[i].family, family, "%zu", i);
		cr_assert_eq(memcmp(cfg.notify[i].addr, a, 16), 0, "%zu", i);
		cr_assert_eq(cfg.notify[i].port, want[i].port, "%zu", i);
		cr_assert_str_eq(cfg.notify[i].text, want[i].text);
	}
	config_free(&cfg);
}

Test(config, notify_errors)
{
	static char many[40 * 20];
	static const char *const bad[][3] = {
		{"--notify", "[\"127.0.0.1:0\"]", "'127.0.0.1:0': the port is not an integer 1-65535"},
		{"--notify", "[\"127.0.0.1:65536\"]", "the port is not an integer 1-65535"},
		{"--notify", "[\"127.0.0.1:\"]", "the port is not"},
		{"--notify", "[\"127.0.0.1:53x\"]", "the port is not"},
		{"--notify", "[\"[::1]:\"]", "the port is not"},
		{"--notify", "[\"[127.0.0.1]:53\"]", "'[127.0.0.1]:53' is not an address with an "
						     "optional port"},
		{"--notify", "[\"[::1\"]", "is not an address with an optional port"},
		{"--notify", "[\"[::1]53\"]", "is not an address with an optional port"},
		{"--notify", "[\"ns2.example.com\"]", "is not an address with an optional port"},
		{"--notify", "[\"0.0.0.0\"]", "'0.0.0.0' is not a unicast address"},
		{"--notify", "[\"::\"]", "is not a unicast address"},
		{"--notify", "[\"224.0.0.1\"]", "is not a unicast address"},
		{"--notify", "[\"255.255.255.255\"]", "is not a unicast address"},
		{"--notify", "[\"ff02::1\"]", "is not a unicast address"},
		{"--notify", "[\"127.0.0.1\", \"127.0.0.1:53\"]", "'127.0.0.1:53' is given twice"},
		{"--notify", "[\"[2001:db8:1111:2222:3333:4444:5555:6666]:5353 and far, far too long\"]",
		 "is not an address"},
		{"--notify", "[null]", "element 'null' is not a string"},
		{"--notify", many, "has 33 elements, at most 32"},
	};
	size_t o = 0;

	o += (size_t)snprintf(many + o, sizeof(many) - o, "[");
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s\"127.0.0.%d\"", i ? "," : "",
				      i + 1);
	snprintf(many + o, sizeof(many) - o, "]");
	expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
}

/* Issue 16: the Prometheus endpoint's address, by flag, environment and
 * file; off when absent. */
Test(config, metrics_listen)
{
	static const char *const env[] = {"AHDNS_METRICS_LISTEN=127.0.0.1:9100", NULL};
	const char *flag[] = {ZONE_ARGS, "--metrics-listen", "[::1]:9054", NULL};
	const char *none[] = {ZONE_ARGS, NULL};
	char *file = write_temp("{\"metrics-listen\": \"0.0.0.0:80\"}");
	const char *by_file[] = {ZONE_ARGS, "--config", file, NULL};
	uint8_t v6[16] = {0}, v4[16] = {0};
	struct config cfg;

	cr_assert_eq(inet_pton(AF_INET6, "::1", v6), 1);
	cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", v4), 1);
	parse_ok(&cfg, none, NULL);
	cr_assert_eq(cfg.metrics_listen.port, 0);
	config_free(&cfg);
	parse_ok(&cfg, flag, NULL);
	cr_assert_eq(cfg.metrics_listen.family, AF_INET6);
	cr_assert_eq(memcmp(cfg.metrics_listen.addr, v6, 16), 0);
	cr_assert_eq(cfg.metrics_listen.port, 9054);
	cr_assert_str_eq(cfg.metrics_listen.text, "[::1]:9054");
	config_free(&cfg);
	parse_ok(&cfg, none, env);
	cr_assert_eq(cfg.metrics_listen.family, AF_INET);
	cr_assert_eq(memcmp(cfg.metrics_listen.addr, v4, 4), 0);
	cr_assert_eq(cfg.metrics_listen.port, 9100);
	config_free(&cfg);
	/* Every interface is allowed here (unlike a secondary). */
	parse_ok(&cfg, by_file, NULL);
	cr_assert_eq(cfg.metrics_listen.family, AF_INET);
	cr_assert_eq(cfg.metrics_listen.port, 80);
	config_free(&cfg);
	unlink(file);
	free(file);
}

Test(config, metrics_listen_errors)
{
	static const char *const bad[][3] = {
		{"--metrics-listen", "127.0.0.1", "'127.0.0.1' is not ADDRESS:PORT"},
		{"--metrics-listen", "::1", "is not ADDRESS:PORT"},
		{"--metrics-listen", "[::1]", "is not ADDRESS:PORT"},
		{"--metrics-listen", "localhost:9054", "is not ADDRESS:PORT"},
		{"--metrics-listen", "[127.0.0.1]:9054", "is not ADDRESS:PORT"},
		{"--metrics-listen", "127.0.0.1:0", "the port is not an integer 1-65535"},
		{"--metrics-listen", "127.0.0.1:65536", "the port is not an integer 1-65535"},
		{"--metrics-listen", "127.0.0.1:", "the port is not"},
		{"--metrics-listen", "127.0.0.1:90x", "the port is not"},
		{"--metrics-listen", "", "is not ADDRESS:PORT"},
	};

	expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
}

Test(config, ixfr_history)
{
	static const char *const bad[][3] = {
		{"--ixfr-history", "1025", "'1025' is not a valid history length (an integer "
					   "0-1024; 0: AXFR only)"},
		{"--ixfr-history", "-1", "'-1'"},
		{"--ixfr-history", "ten", "'ten'"},
	};
	const char *none[] = {ZONE_ARGS, NULL};
	const char *zero[] = {ZONE_ARGS, "--ixfr-history", "0", NULL};
	const char *max[] = {ZONE_ARGS, "--ixfr-history=1024", NULL};
	struct config cfg;

	parse_ok(&cfg, none, NULL);
	cr_assert_eq(cfg.ixfr_history, 16);
	config_free(&cfg);
	parse_ok(&cfg, zero, NULL);
	cr_assert_eq(cfg.ixfr_history, 0);
	config_free(&cfg);
	parse_ok(&cfg, max, NULL);
	cr_assert_eq(cfg.ixfr_history, 1024);
	config_free(&cfg);
	expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
}

/* Each flag from AHDNS_*, from the --config file (native JSON there),
 * with the usual precedence and labels. */
Test(config, replication_env_and_file)
{
	char *key = write_temp("key \"envkey\" { algorithm hmac-sha1; secret \"" SECRET20_B64
			       "\"; };\n");
	char *key2 = write_temp("filekey:" SECRET32_B64 "\n");
	char env_key[128], file_text[512];
	const char *env[] = {"AHDNS_TRANSFER_ALLOW=[\"192.0.2.0/24\"]",
			     "AHDNS_NOTIFY=[\"192.0.2.53:5353\"]", env_key,
			     "AHDNS_IXFR_HISTORY=3", NULL};
	const char *bad_env[] = {"AHDNS_NOTIFY=[\"192.0.2.53:0\"]", NULL};
	const char *args[] = {ZONE_ARGS, NULL};
	char *file;
	struct config cfg;
	struct run r;

	snprintf(env_key, sizeof(env_key), "AHDNS_TSIG_KEY=%s", key);
	parse_ok(&cfg, args, env);
	cr_assert_eq(cfg.n_transfer_allow, 1);
	assert_prefix(&cfg.transfer_allow[0], "192.0.2.0", 24);
	cr_assert_eq(cfg.n_notify, 1);
	cr_assert_eq(cfg.notify[0].port, 5353);
	cr_assert_eq(cfg.tsig.alg, TSIG_HMAC_SHA1);
	assert_key_name(&cfg.tsig, "envkey.");
	assert_secret(&cfg.tsig, SECRET20_HEX);
	cr_assert_str_eq(cfg.tsig_key_path, key);
	cr_assert_eq(cfg.ixfr_history, 3);
	config_free(&cfg);

	snprintf(file_text, sizeof(file_text),
		 "{\"transfer-allow\": [\"::1\", \"127.0.0.0/8\"], \"notify\": [\"[::1]:5300\"], "
		 "\"tsig-key\": \"%s\", \"ixfr-history\": 7}",
		 key2);
	file = write_temp(file_text);
	{
		const char *fargs[] = {ZONE_ARGS, "--config", file, NULL};
		const char *cargs[] = {ZONE_ARGS, "--config", file, "--ixfr-history", "9", NULL};

		parse_ok(&cfg, fargs, NULL);
		cr_assert_eq(cfg.n_transfer_allow, 2);
		assert_prefix(&cfg.transfer_allow[1], "127.0.0.0", 8);
		cr_assert_eq(cfg.n_notify, 1);
		cr_assert_eq(cfg.notify[0].port, 5300);
		cr_assert_eq(cfg.tsig.alg, TSIG_HMAC_SHA256);
		assert_key_name(&cfg.tsig, "filekey.");
		cr_assert_eq(cfg.ixfr_history, 7);
		config_free(&cfg);
		/* The environment overrides the file, the command line both. */
		parse_ok(&cfg, cargs, env);
		cr_assert_eq(cfg.ixfr_history, 9);
		cr_assert_eq(cfg.tsig.alg, TSIG_HMAC_SHA1);
		assert_prefix(&cfg.transfer_allow[0], "192.0.2.0", 24);
		config_free(&cfg);
	}
	run_parse(&cfg, args, bad_env, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert_str_eq(r.err, "a-healthy-dns: --notify (from AHDNS_NOTIFY): '192.0.2.53:0': "
				"the port is not an integer 1-65535\n");
	unlink(file);
	unlink(key);
	unlink(key2);
	free(file);
	free(key);
	free(key2);
}

/* config_from_json with its one stderr line caught. */
static int from_json_quiet(struct config *cfg, const char *json, char *err, size_t n)
{
	char path[] = "/tmp/test_config_fjqXXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);
	int rc;

	cr_assert(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	rc = config_from_json(cfg, json);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	slurp(fd, err, n);
	close(fd);
	return rc;
}

/* The children get everything, the key itself included (never the
 * path alone: they may not read it), and the same bytes come back. */
Test(config, replication_json_round_trip)
{
	char *key = write_temp("key:\n  - id: Xfr.Example\n    algorithm: hmac-sha384\n"
			       "    secret: " SECRET48_B64 "\n");
	const char *args[] = {ZONE_ARGS,
			      "--transfer-allow", "[\"127.0.0.1\", \"2001:db8::/64\"]",
			      "--notify", "[\"127.0.0.1:5353\", \"[::1]:5354\", \"::1\"]",
			      "--tsig-key", key,
			      "--ixfr-history", "100",
			      NULL};
	struct config a, b;
	char *json, *json2;
	char want[256], err[512];
	struct json_object *o, *k, *v;

	parse_ok(&a, args, NULL);
	json = config_to_json(&a);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&b, json), 0, "%s", json);
	assert_same_config(&a, &b);
	assert_secret(&b.tsig, SECRET48_HEX);
	json2 = config_to_json(&b);
	cr_assert_str_eq(json, json2);
	/* The serialized form, read with json-c. */
	o = json_tokener_parse(json);
	cr_assert_not_null(o);
	cr_assert(json_object_object_get_ex(o, "tsig-key", &k));
	cr_assert(json_object_object_get_ex(k, "secret", &v));
	cr_assert_str_eq(json_object_get_string(v), SECRET48_B64);
	cr_assert(json_object_object_get_ex(k, "name", &v));
	cr_assert_str_eq(json_object_get_string(v), "xfr.example");
	cr_assert(json_object_object_get_ex(k, "algorithm", &v));
	cr_assert_str_eq(json_object_get_string(v), "hmac-sha384");
	cr_assert(json_object_object_get_ex(o, "transfer-allow", &v));
	cr_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
			 "[\"127.0.0.1\\/32\",\"2001:db8::\\/64\"]");
	cr_assert(json_object_object_get_ex(o, "ixfr-history", &v));
	cr_assert_eq(json_object_get_int(v), 100);
	json_object_put(o);
	free(json2);
	free(json);
	config_free(&b);

	/* A child never reads the key file, and a hand-made key object is
	 * checked like a file. */
	snprintf(want, sizeof(want),
		 "{\"hosted-zone\": \"example.com\", \"ns\": [\"ns1.example.com\"], "
		 "\"zone-resolutions\": {\"www\": [\"192.0.2.1\"]}, \"tsig-key\": \"%s\"}",
		 key);
	cr_assert_eq(from_json_quiet(&b, want, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is not a key (path, name, algorithm, secret)") != NULL, "%s", err);
	cr_assert_eq(b.tsig.alg, TSIG_ALG_NONE);
	cr_assert_eq(from_json_quiet(&b, "{\"hosted-zone\": \"example.com\", \"ns\": "
					 "[\"ns1.example.com\"], \"zone-resolutions\": {\"www\": "
					 "[\"192.0.2.1\"]}, \"tsig-key\": {\"path\": \"/k\", "
					 "\"name\": \"k\", \"algorithm\": \"hmac-sha256\", "
					 "\"secret\": \"QS==\"}}",
				     err, sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "a-healthy-dns: --tsig-key (from the serialized configuration): "
			      "the secret is not valid base64\n");
	cr_assert_eq(config_from_json(&b, "{\"hosted-zone\": \"example.com\", \"ns\": "
					  "[\"ns1.example.com\"], \"zone-resolutions\": {\"www\": "
					  "[\"192.0.2.1\"]}, \"tsig-key\": {\"path\": \"/k\", "
					  "\"name\": \"k\", \"secret\": \"QQ==\"}}"),
		     0);
	cr_assert_eq(b.tsig.alg, TSIG_HMAC_SHA256);
	cr_assert_str_eq(b.tsig_key_path, "/k");
	config_free(&b);
	config_free(&a);
	unlink(key);
	free(key);
}

/* --check-config: how many prefixes and secondaries, the key's name and
 * type, never its secret. */
Test(config, replication_summary)
{
	char *key = write_temp("transfer-key:hmac-sha256:" SECRET32_B64 "\n");
	const char *args[] = {ZONE_ARGS,
			      "--transfer-allow", "[\"127.0.0.1/32\", \"::1\"]",
			      "--notify", "[\"127.0.0.1\", \"[::1]:5353\"]",
			      "--tsig-key", key, NULL};
	const char *none[] = {ZONE_ARGS, NULL};
	char *buf = NULL;
	size_t len = 0;
	struct config cfg;
	FILE *f;

	parse_ok(&cfg, args, NULL);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	config_print_summary(&cfg, f);
	fclose(f);
	cr_assert(strstr(buf, "transfers: 2 prefixes allowed, notify 2 secondaries, TSIG key "
			      "transfer-key. (hmac-sha256), IXFR history 16\n") != NULL,
		  "%s", buf);
	cr_assert(strstr(buf, "  transfer-allow: 127.0.0.1/32 ::1/128\n") != NULL, "%s", buf);
	cr_assert(strstr(buf, "  notify: 127.0.0.1 [::1]:5353\n") != NULL, "%s", buf);
	cr_assert(strstr(buf, "rxBFUguQ") == NULL, "%s", buf);
	cr_assert(strstr(buf, "af1045520b90") == NULL, "%s", buf);
	free(buf);
	config_free(&cfg);
	buf = NULL;
	parse_ok(&cfg, none, NULL);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	config_print_summary(&cfg, f);
	fclose(f);
	cr_assert(strstr(buf, "transfers: refused (no --transfer-allow), notify 0 secondaries, "
			      "no TSIG key, IXFR history 16\n") != NULL,
		  "%s", buf);
	free(buf);
	config_free(&cfg);
	unlink(key);
	free(key);
}

Test(config, replication_help)
{
	static const char *const flags[] = {"--transfer-allow JSON", "--notify JSON",
					    "--tsig-key FILE", "--ixfr-history N"};
	const char *help[] = {"--help", NULL};
	struct config cfg;
	struct run r;

	run_parse(&cfg, help, NULL, &r);
	cr_assert_eq(r.action, CONFIG_EXIT_OK);
	for (size_t i = 0; i < AHD_ARRAY_LEN(flags); i++)
		cr_assert(strstr(r.out, flags[i]) != NULL, "no %s in --help", flags[i]);
}

/* Response rate limiting (issue 15, DESIGN §10). The defaults are
 * BIND's (slip 2, window 15, /24 and /56), off unless a rate is given. */
static void summary_of(const struct config *cfg, char **buf)
{
	size_t len = 0;
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, &len);
	cr_assert_not_null(f);
	config_print_summary(cfg, f);
	fclose(f);
}

Test(config, rrl_defaults)
{
	const char *none[] = {ZONE_ARGS, NULL};
	struct config cfg;

	parse_ok(&cfg, none, NULL);
	cr_assert_eq(cfg.rrl_rate, 0);
	cr_assert_eq(cfg.rrl_slip, 2);
	cr_assert_eq(cfg.rrl_window, 15);
	cr_assert_eq(cfg.rrl_ipv4_prefix, 24);
	cr_assert_eq(cfg.rrl_ipv6_prefix, 56);
	cr_assert(!cfg.rrl_log_only);
	config_free(&cfg);
}

/* Each flag at both ends of its range, in both spellings. */
Test(config, rrl_range_edges)
{
	const char *low[] = {ZONE_ARGS,	      "--rrl-rate",	    "0",   "--rrl-slip", "0",
			     "--rrl-window",  "1",		    "--rrl-ipv4-prefix", "0",
			     "--rrl-ipv6-prefix", "0", NULL};
	const char *high[] = {ZONE_ARGS,	  "--rrl-rate=1000000",	 "--rrl-slip=10",
			      "--rrl-window=3600", "--rrl-ipv4-prefix=32", "--rrl-ipv6-prefix=128",
			      "--rrl-log-only",	  NULL};
	struct config cfg;

	parse_ok(&cfg, low, NULL);
	cr_assert_eq(cfg.rrl_rate, 0);
	cr_assert_eq(cfg.rrl_slip, 0);
	cr_assert_eq(cfg.rrl_window, 1);
	cr_assert_eq(cfg.rrl_ipv4_prefix, 0);
	cr_assert_eq(cfg.rrl_ipv6_prefix, 0);
	cr_assert(!cfg.rrl_log_only);
	config_free(&cfg);
	parse_ok(&cfg, high, NULL);
	cr_assert_eq(cfg.rrl_rate, 1000000);
	cr_assert_eq(cfg.rrl_slip, 10);
	cr_assert_eq(cfg.rrl_window, 3600);
	cr_assert_eq(cfg.rrl_ipv4_prefix, 32);
	cr_assert_eq(cfg.rrl_ipv6_prefix, 128);
	cr_assert(cfg.rrl_log_only);
	config_free(&cfg);
}

Test(config, rrl_bad_values)
{
	static const char *const bad[][3] = {
		{"--rrl-rate", "1000001", "a-healthy-dns: --rrl-rate: '1000001' is not a valid "
					  "rate (an integer 0-1000000, responses per second; 0: "
					  "off)\n"},
		{"--rrl-rate", "-1", "'-1'"},
		{"--rrl-rate", "20/s", "'20/s'"},
		{"--rrl-rate", "", "''"},
		{"--rrl-slip", "11", "'11' is not a valid slip (an integer 0-10"},
		{"--rrl-slip", "-1", "'-1'"},
		{"--rrl-slip", "two", "'two'"},
		{"--rrl-window", "0", "'0' is not a valid window (an integer 1-3600, in seconds)"},
		{"--rrl-window", "3601", "'3601'"},
		{"--rrl-window", "15s", "'15s'"},
		{"--rrl-ipv4-prefix", "33", "'33' is not a valid prefix length (an integer 0-32)"},
		{"--rrl-ipv4-prefix", "-1", "'-1'"},
		{"--rrl-ipv4-prefix", "/24", "'/24'"},
		{"--rrl-ipv6-prefix", "129", "'129' is not a valid prefix length (an integer 0-128)"},
		{"--rrl-ipv6-prefix", "-1", "'-1'"},
		{"--rrl-ipv6-prefix", "x", "'x'"},
	};
	const char *sw[] = {ZONE_ARGS, "--rrl-log-only=yes", NULL};
	const char *novalue[] = {ZONE_ARGS, "--rrl-rate", NULL};
	struct config cfg;
	struct run r;

	expect_bad_flags(bad, AHD_ARRAY_LEN(bad));
	/* The first one exactly: the whole line. */
	{
		const char *args[] = {ZONE_ARGS, "--rrl-rate", "1000001", NULL};

		run_parse(&cfg, args, NULL, &r);
		cr_assert_str_eq(r.err, bad[0][2]);
	}
	run_parse(&cfg, sw, NULL, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert_str_eq(r.err, "a-healthy-dns: --rrl-log-only takes no value\n");
	run_parse(&cfg, novalue, NULL, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert_str_eq(r.err, "a-healthy-dns: --rrl-rate requires a value (see --help)\n");
}

/* AHDNS_RRL_*, the --config file (native JSON and strings), precedence
 * and the labels of a bad value from each. */
Test(config, rrl_env_and_file)
{
	const char *env[] = {"AHDNS_RRL_RATE=20",	    "AHDNS_RRL_SLIP=3",
			     "AHDNS_RRL_WINDOW=30",	    "AHDNS_RRL_IPV4_PREFIX=32",
			     "AHDNS_RRL_IPV6_PREFIX=64",    "AHDNS_RRL_LOG_ONLY=yes", NULL};
	const char *bad_env[] = {"AHDNS_RRL_LOG_ONLY=maybe", NULL};
	const char *bad_env2[] = {"AHDNS_RRL_WINDOW=0", NULL};
	const char *args[] = {ZONE_ARGS, NULL};
	char *file = write_temp("{\"rrl-rate\": 5, \"rrl-slip\": 1, \"rrl-window\": \"60\", "
				"\"rrl-ipv4-prefix\": 16, \"rrl-ipv6-prefix\": 48, "
				"\"rrl-log-only\": true}");
	char *bad_file = write_temp("{\"rrl-slip\": 2.5}");
	struct config cfg;
	struct run r;

	parse_ok(&cfg, args, env);
	cr_assert_eq(cfg.rrl_rate, 20);
	cr_assert_eq(cfg.rrl_slip, 3);
	cr_assert_eq(cfg.rrl_window, 30);
	cr_assert_eq(cfg.rrl_ipv4_prefix, 32);
	cr_assert_eq(cfg.rrl_ipv6_prefix, 64);
	cr_assert(cfg.rrl_log_only);
	config_free(&cfg);
	{
		const char *fargs[] = {ZONE_ARGS, "--config", file, NULL};
		const char *cargs[] = {ZONE_ARGS, "--config", file, "--rrl-rate", "7", NULL};
		const char *off[] = {"AHDNS_RRL_LOG_ONLY=0", "AHDNS_RRL_SLIP=0", NULL};

		parse_ok(&cfg, fargs, NULL);
		cr_assert_eq(cfg.rrl_rate, 5);
		cr_assert_eq(cfg.rrl_slip, 1);
		cr_assert_eq(cfg.rrl_window, 60);
		cr_assert_eq(cfg.rrl_ipv4_prefix, 16);
		cr_assert_eq(cfg.rrl_ipv6_prefix, 48);
		cr_assert(cfg.rrl_log_only);
		config_free(&cfg);
		/* The environment overrides the file, the command line both. */
		parse_ok(&cfg, cargs, off);
		cr_assert_eq(cfg.rrl_rate, 7);
		cr_assert_eq(cfg.rrl_slip, 0);
		cr_assert_eq(cfg.rrl_window, 60);
		cr_assert(!cfg.rrl_log_only);
		config_free(&cfg);
	}
	run_parse(&cfg, args, bad_env, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert_str_eq(r.err, "a-healthy-dns: --rrl-log-only (from AHDNS_RRL_LOG_ONLY): 'maybe' "
				"is not a boolean (1, true, yes, on or 0, false, no, off)\n");
	run_parse(&cfg, args, bad_env2, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert_str_eq(r.err, "a-healthy-dns: --rrl-window (from AHDNS_RRL_WINDOW): '0' is not "
				"a valid window (an integer 1-3600, in seconds)\n");
	{
		const char *bargs[] = {ZONE_ARGS, "--config", bad_file, NULL};

		run_parse(&cfg, bargs, NULL, &r);
		cr_assert_eq(r.rc, -1);
		cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
		cr_assert(strstr(r.err, "--rrl-slip (from ") != NULL, "%s", r.err);
		cr_assert(strstr(r.err, bad_file) != NULL, "%s", r.err);
		cr_assert(strstr(r.err, "'2.5'") != NULL, "%s", r.err);
	}
	unlink(file);
	unlink(bad_file);
	free(file);
	free(bad_file);
}

/* The children get the same values back, and a struct built by hand
 * (window 0, which the parser refuses) still serializes to one a child
 * accepts. */
Test(config, rrl_json_round_trip)
{
	const char *args[] = {ZONE_ARGS,	    "--rrl-rate",	 "20", "--rrl-slip", "0",
			      "--rrl-window",	    "3600",		 "--rrl-ipv4-prefix", "32",
			      "--rrl-ipv6-prefix",  "128",		 "--rrl-log-only", NULL};
	const char *none[] = {ZONE_ARGS, NULL};
	struct config cfg, back;
	char *json;

	parse_ok(&cfg, args, NULL);
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&back, json), 0, "%s", json);
	cr_assert_eq(back.rrl_rate, 20);
	cr_assert_eq(back.rrl_slip, 0);
	cr_assert_eq(back.rrl_window, 3600);
	cr_assert_eq(back.rrl_ipv4_prefix, 32);
	cr_assert_eq(back.rrl_ipv6_prefix, 128);
	cr_assert(back.rrl_log_only);
	config_free(&back);
	free(json);
	config_free(&cfg);

	parse_ok(&cfg, none, NULL);
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_eq(config_from_json(&back, json), 0, "%s", json);
	cr_assert_eq(back.rrl_rate, 0);
	cr_assert_eq(back.rrl_slip, 2);
	cr_assert_eq(back.rrl_window, 15);
	cr_assert(!back.rrl_log_only);
	/* Window 0 as a hand-built struct has it. */
	back.rrl_window = 0;
	back.rrl_slip = 0;
	back.rrl_rate = 9;
	free(json);
	json = config_to_json(&back);
	config_free(&back);
	cr_assert_not_null(json);
	cr_assert(strstr(json, "\"rrl-window\"") == NULL, "%s", json);
	cr_assert_eq(config_from_json(&back, json), 0, "%s", json);
	cr_assert_eq(back.rrl_rate, 9);
	cr_assert_eq(back.rrl_slip, 2);
	cr_assert_eq(back.rrl_window, 15);
	config_free(&back);
	free(json);
	config_free(&cfg);
}

Test(config, rrl_summary_and_help)
{
	static const char *const flags[] = {"--rrl-rate N", "--rrl-slip N", "--rrl-window S",
					    "--rrl-ipv4-prefix N", "--rrl-ipv6-prefix N",
					    "--rrl-log-only", "Rate limiting (RRL"};
	const char *none[] = {ZONE_ARGS, NULL};
	const char *on[] = {ZONE_ARGS, "--rrl-rate", "20", NULL};
	const char *log[] = {ZONE_ARGS,		"--rrl-rate", "5",	  "--rrl-slip",
			     "1",		"--rrl-window", "60",	  "--rrl-ipv4-prefix",
			     "32",		"--rrl-ipv6-prefix", "64", "--rrl-log-only",
			     NULL};
	const char *help[] = {"--help", NULL};
	struct config cfg;
	struct run r;
	char *buf;

	parse_ok(&cfg, none, NULL);
	summary_of(&cfg, &buf);
	cr_assert(strstr(buf, "\nrrl: off\n") != NULL, "%s", buf);
	free(buf);
	config_free(&cfg);
	parse_ok(&cfg, on, NULL);
	summary_of(&cfg, &buf);
	cr_assert(strstr(buf, "\nrrl: 20 responses/s per bucket, slip 2, window 15 s, "
			      "prefixes /24 /56\n") != NULL,
		  "%s", buf);
	free(buf);
	config_free(&cfg);
	parse_ok(&cfg, log, NULL);
	summary_of(&cfg, &buf);
	cr_assert(strstr(buf, "\nrrl: 5 responses/s per bucket, slip 1, window 60 s, "
			      "prefixes /32 /64, log only\n") != NULL,
		  "%s", buf);
	free(buf);
	config_free(&cfg);

	run_parse(&cfg, help, NULL, &r);
	cr_assert_eq(r.action, CONFIG_EXIT_OK);
	for (size_t i = 0; i < AHD_ARRAY_LEN(flags); i++)
		cr_assert(strstr(r.out, flags[i]) != NULL, "no %s in --help", flags[i]);
}

/* DESIGN §13: --priv-key-path repeats (command line, JSON list in the
 * file, "[...]" in the environment); each key's <path>.state is read
 * and survives the serialization. */
Test(config, key_rollover_flags)
{
	char *k1 = write_temp("not read by config_parse\n");
	char *k2 = write_temp("not read by config_parse\n");
	char st[64], file_json[512], env_list[256];
	const char *cli[] = {ZONE_ARGS, "--priv-key-path", k1, "--priv-key-path", k2,
			     "--priv-key-alg", "ECDSAP256SHA256", "--cds", "delete",
			     "--key-propagation-delay", "1h", NULL};
	const char *none[] = {ZONE_ARGS, NULL};
	const char *env[] = {env_list, NULL};
	struct config cfg, back;
	char *json, *file;

	snprintf(st, sizeof(st), "%s.state", k2);
	cr_assert_eq(state_write(st, "role = zsk\nalgorithm = ED25519\npublish = 100\n"
				     "activate = 200\nretire = 300\nremove = 400\n"), 0);
	parse_ok(&cfg, cli, NULL);
	cr_assert_eq(cfg.n_keys, 2);
	cr_assert_str_eq(cfg.priv_key_path, k1);
	cr_assert_str_eq(cfg.keys[1].path, k2);
	cr_assert_eq(cfg.keys[0].spec.role, KEYROLL_CSK, "no state file: a CSK");
	cr_assert_eq(cfg.keys[0].alg, CONFIG_ALG_ECDSAP256SHA256);
	cr_assert_eq(cfg.keys[1].spec.role, KEYROLL_ZSK);
	cr_assert_eq(cfg.keys[1].alg, CONFIG_ALG_ED25519);
	cr_assert_eq(cfg.keys[1].spec.publish, 100);
	cr_assert_eq(cfg.keys[1].spec.remove, 400);
	cr_assert_eq(cfg.cds, CONFIG_CDS_DELETE);
	cr_assert_eq(cfg.key_propagation, 3600);
	/* The children get the state without reading the file. */
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	unlink(st);
	cr_assert_eq(config_from_json(&back, json), 0);
	cr_assert_eq(back.n_keys, 2);
	cr_assert_eq(back.keys[1].spec.role, KEYROLL_ZSK);
	cr_assert_eq(back.keys[1].alg, CONFIG_ALG_ED25519);
	cr_assert_eq(back.keys[1].spec.activate, 200);
	cr_assert_eq(back.keys[1].spec.retire, 300);
	cr_assert_eq(back.cds, CONFIG_CDS_DELETE);
	cr_assert_eq(back.key_propagation, 3600);
	free(json);
	config_free(&back);
	config_free(&cfg);

	/* Defaults. */
	parse_ok(&cfg, none, NULL);
	cr_assert_eq(cfg.n_keys, 0);
	cr_assert_eq(cfg.cds, CONFIG_CDS_KSK);
	cr_assert_eq(cfg.key_propagation, 300);
	config_free(&cfg);

	/* A JSON list in the file, a "[...]" in the environment. */
	snprintf(file_json, sizeof(file_json),
		 "{\"hosted-zone\": \"example.com\", \"ns\": [\"ns1.example.com\"], "
		 "\"zone-resolutions\": {\"www\": [\"192.0.2.1\"]}, "
		 "\"priv-key-path\": [\"%s\", \"%s\"]}", k1, k2);
	file = write_temp(file_json);
	{
		const char *args[] = {"--config", file, NULL};

		parse_ok(&cfg, args, NULL);
		cr_assert_eq(cfg.n_keys, 2);
		config_free(&cfg);
	}
	snprintf(env_list, sizeof(env_list), "AHDNS_PRIV_KEY_PATH=[\"%s\", \"%s\"]", k1, k2);
	parse_ok(&cfg, none, env);
	cr_assert_eq(cfg.n_keys, 2);
	cr_assert_str_eq(cfg.keys[1].path, k2);
	config_free(&cfg);

	unlink(k1);
	unlink(k2);
	unlink(file);
	free(k1);
	free(k2);
	free(file);
}

/* DESIGN §13: refusals of the key flags and key-state files, one line
 * each, naming the flag. */
Test(config, key_rollover_refusals)
{
	char *k1 = write_temp("not read by config_parse\n");
	char bad_state[64];
	const char *dup[] = {ZONE_ARGS, "--priv-key-path", k1, "--priv-key-path", k1, NULL};
	const char *bad_cds[] = {ZONE_ARGS, "--cds", "sometimes", NULL};
	const char *one[] = {ZONE_ARGS, "--priv-key-path", k1, NULL};
	struct config cfg;
	struct run r;

	run_parse(&cfg, dup, NULL, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert(strstr(r.err, "--priv-key-path") && strstr(r.err, "is given twice"), "%s",
		  r.err);
	cr_assert_eq(count_lines(r.err), 1);
	run_parse(&cfg, bad_cds, NULL, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert(strstr(r.err, "--cds: 'sometimes' is not ksk, none or delete"), "%s", r.err);
	snprintf(bad_state, sizeof(bad_state), "%s.state", k1);
	cr_assert_eq(state_write(bad_state, "role = ksk\nactivate = soon\n"), 0);
	run_parse(&cfg, one, NULL, &r);
	cr_assert_eq(r.rc, -1);
	cr_assert(strstr(r.err, "--priv-key-path: key-state file '") &&
		  strstr(r.err, ".state': line 2: activate 'soon' is not a Unix time"), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1);
	unlink(bad_state);
	unlink(k1);
	free(k1);
}
