/*
 * DESIGN §1, `a-healthy-dns status`, against the real binary: every
 * health-checked backend with its state and last error, the serial the
 * server answers with, and per-worker counters that grow by exactly the
 * queries sent; as an unprivileged user too.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>
#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "status.test"

TestSuite(status, .timeout = 90);

/* A TCP listener on 127.0.0.1:port: the kernel completes the handshake,
 * which is all a tcp check asks. */
static int listener(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	return fd;
}

static void server_start(struct sys_server *s, uint16_t hport)
{
	char res[512];
	const char *args[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", res,
		"--test-min-interval", "1",
		"--test-timeout", "1",
		"--workers", "2",
		NULL,
	};

	/* 127.0.0.1 listens, 127.0.0.2 refuses (nothing bound there). */
	snprintf(res, sizeof(res),
		 "{\"www\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"], \"health_port\": %u},"
		 " \"static\": [\"192.0.2.1\"]}", (unsigned)hport);
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

/* Run status with extra args (NULL-terminated, may be empty) through
 * prefix (e.g. setpriv ...; NULL: none). Returns its exit status. */
static int run_status(const char *const *prefix, uint16_t port, bool json, char **out,
		      char **err)
{
	const char *argv[32];
	char port_s[8];
	size_t n = 0;

	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	for (size_t i = 0; prefix != NULL && prefix[i] != NULL; i++)
		argv[n++] = prefix[i];
	argv[n++] = sys_bin();
	argv[n++] = "status";
	if (json)
		argv[n++] = "--json";
	argv[n++] = "--port";
	argv[n++] = port_s;
	argv[n] = NULL;
	return sys_run(argv, 10000, out, err);
}

static struct json_object *status_json(const char *const *prefix, uint16_t port)
{
	char *out = NULL, *err = NULL;
	struct json_object *o;
	int rc = run_status(prefix, port, true, &out, &err);

	cr_assert_eq(rc, 0, "status exited %d: %s", rc, err ? err : "");
	o = json_tokener_parse(out);
	cr_assert_not_null(o, "status --json is not JSON: %s", out);
	free(out);
	free(err);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	return v;
}

static int64_t get_int(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

static const char *get_str(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

static uint32_t soa_serial(uint16_t port)
{
	int64_t serial = sys_soa_serial(port, ZONE);

	cr_assert_geq(serial, 0, "no SOA reply with one SOA record");
	return (uint32_t)serial;
}

/* Wait until the prober's table has every backend checked. */
static struct json_object *status_checked(uint16_t port)
{
	int64_t end = sys_now_ms() + 10000;

	for (;;) {
		struct json_object *o = status_json(NULL, port);

		if (json_object_get_boolean(get(o, "checked")) &&
		    get_int(o, "backends_total") == 2)
			return o;
		json_object_put(o);
		cr_assert(sys_now_ms() < end, "the backend table was never published");
		sys_sleep_ms(100);
	}
}

static void check_backends(struct json_object *o)
{
	struct json_object *arr = get(o, "backends"), *b;

	cr_assert_str_eq(get_str(o, "zone"), ZONE);
	cr_assert_eq(get_int(o, "backends_up"), 1);
	cr_assert_eq(get_int(o, "backends_total"), 2);
	cr_assert_eq(json_object_array_length(arr), 2, "static addresses are not backends");
	b = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(get_str(b, "name"), "www." ZONE);
	cr_assert_str_eq(get_str(b, "address"), "127.0.0.1");
	cr_assert_str_eq(get_str(b, "check"), "tcp");
	cr_assert_str_eq(get_str(b, "state"), "up");
	cr_assert_str_eq(get_str(b, "last_error"), "");
	cr_assert_geq(get_int(b, "last_check"), get_int(b, "since"));
	b = json_object_array_get_idx(arr, 1);
	cr_assert_str_eq(get_str(b, "address"), "127.0.0.2");
	cr_assert_str_eq(get_str(b, "state"), "down");
	cr_assert_str_eq(get_str(b, "last_error"), "refused");
}

static int64_t total(struct json_object *o, const char *answer)
{
	struct json_object *t = get(o, "totals");

	return answer == NULL ? get_int(t, "udp_queries") : get_int(get(t, "answers"), answer);
}

Test(status, json_backends_serial_and_counters)
{
	struct sys_server s;
	uint16_t hport = sys_free_port();
	int lfd = listener(hport);
	struct json_object *o, *w;
	int64_t udp0, noerr0, nx0, sum = 0;
	uint32_t serial;

	server_start(&s, hport);
	o = status_checked(s.port);
	check_backends(o);
	serial = soa_serial(s.port);
	cr_assert_eq(get_int(o, "serial"), serial, "status serial %lld, SOA serial %u",
		     (long long)get_int(o, "serial"), serial);
	w = get(o, "workers");
	cr_assert_eq(json_object_array_length(w), 2);
	for (size_t i = 0; i < 2; i++) {
		struct json_object *wi = json_object_array_get_idx(w, i);

		cr_assert_eq(get_int(wi, "index"), (int64_t)i);
		cr_assert_gt(get_int(wi, "pid"), 0);
		cr_assert_eq(get_int(wi, "restarts"), 0);
	}
	json_object_put(o);

	o = status_json(NULL, s.port);
	udp0 = total(o, NULL);
	noerr0 = total(o, "noerror");
	nx0 = total(o, "nxdomain");
	json_object_put(o);
	for (int i = 0; i < 30; i++) {
		ldns_pkt *p = sys_query(s.port, "static." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					false);

		cr_assert_not_null(p);
		ldns_pkt_free(p);
	}
	for (int i = 0; i < 7; i++) {
		ldns_pkt *p = sys_query(s.port, "nope." ZONE, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
					false);

		cr_assert_not_null(p);
		cr_assert_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		ldns_pkt_free(p);
	}
	o = status_json(NULL, s.port);
	cr_assert_eq(total(o, NULL) - udp0, 37, "UDP queries grew by %lld, 37 sent",
		     (long long)(total(o, NULL) - udp0));
	cr_assert_eq(total(o, "noerror") - noerr0, 30);
	cr_assert_eq(total(o, "nxdomain") - nx0, 7);
	/* The totals are the sum of the workers'. */
	w = get(o, "workers");
	for (size_t i = 0; i < 2; i++)
		sum += get_int(json_object_array_get_idx(w, i), "udp_queries");
	cr_assert_eq(sum, total(o, NULL));
	json_object_put(o);

	cr_assert_eq(sys_server_stop(&s), 0);
	close(lfd);
}

Test(status, works_unprivileged_and_as_text)
{
	static const char *const nobody[] = {
		"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", NULL,
	};
	struct sys_server s;
	uint16_t hport = sys_free_port();
	int lfd = listener(hport);
	struct json_object *o;
	char *out = NULL, *err = NULL;
	int rc;

	server_start(&s, hport);
	json_object_put(status_checked(s.port));
	o = status_json(nobody, s.port);
	check_backends(o);
	json_object_put(o);

	rc = run_status(nobody, s.port, false, &out, &err);
	cr_assert_eq(rc, 0, "status exited %d: %s", rc, err ? err : "");
	cr_assert_not_null(strstr(out, "backends: 1 of 2 up"), "%s", out);
	cr_assert_not_null(strstr(out, "signing:  off (no key)"), "%s", out);
	cr_assert_not_null(strstr(out, "127.0.0.2"), "%s", out);
	cr_assert_not_null(strstr(out, "refused"), "%s", out);
	cr_assert_not_null(strstr(out, "NOERROR"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(sys_server_stop(&s), 0);
	close(lfd);
}

Test(status, no_server_is_one_line_and_exit_1)
{
	char *out = NULL, *err = NULL;
	uint16_t port = sys_free_port();
	int rc = run_status(NULL, port, true, &out, &err);

	cr_assert_eq(rc, 1);
	cr_assert_eq(sys_count_lines(err), 1, "stderr: %s", err);
	cr_assert_not_null(strstr(err, "no server is running"), "%s", err);
	cr_assert(out == NULL || out[0] == '\0', "stdout: %s", out);
	free(out);
	free(err);
}

/* Put a fake object at the name a server on port would use (suffix ""
 * for the zone image, ".stats" for the statistics): 4 KiB of zeros, with
 * the given owner and mode. Returns the path to remove. */
static void fake_object(char *path, size_t cap, uint16_t port, const char *suffix, uid_t uid,
			mode_t mode)
{
	int fd;

	snprintf(path, cap, "/dev/shm/a-healthy-dns.%u%s", (unsigned)port, suffix);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(ftruncate(fd, 4096), 0);
	cr_assert_eq(fchown(fd, uid, (gid_t)-1), 0, "%s", strerror(errno));
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static int run_dump(uint16_t port, char **out, char **err)
{
	char port_s[8];
	const char *argv[] = {sys_bin(), "dump", "--port", port_s, NULL};

	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	return sys_run(argv, 10000, out, err);
}

/* cmd exited 1 with nothing on stdout and one line on stderr naming the
 * object (path under /dev/shm) and why; frees out and err. */
static void expect_refusal(const char *cmd, int rc, char *out, char *err, const char *path,
			   const char *why)
{
	char head[64];

	snprintf(head, sizeof(head), "%s: refusing to read shared memory", cmd);
	cr_expect_eq(rc, 1, "%s exit %d", cmd, rc);
	cr_expect(out == NULL || out[0] == '\0', "%s stdout: %s", cmd, out);
	cr_expect_eq(sys_count_lines(err), 1, "%s stderr: %s", cmd, err);
	cr_expect(err != NULL && strstr(err, head) != NULL &&
		  strstr(err, path + strlen("/dev/shm")) != NULL && strstr(err, why) != NULL,
		  "%s stderr: %s", cmd, err);
	free(out);
	free(err);
}

/* The names are predictable, so anyone could put an object there before
 * the server starts: status and dump read only what root (or the caller
 * itself) made and nobody else may write, and say why they refuse. That
 * they read a real server's objects, as root and as nobody, is
 * works_unprivileged_and_as_text here and test_subcommands' dump tests. */
Test(status, status_and_dump_refuse_an_untrusted_object)
{
	static const struct {
		uid_t uid;
		mode_t mode;
		const char *why;
	} cases[] = {
		{0, 0666, "writable by others (mode 0666)"},
		{0, 0664, "writable by its group (mode 0664)"},
		{65534, 0644, "owned by uid 65534, not root or you"},
	};

	if (geteuid() != 0)
		cr_skip_test("not root: cannot make an object owned by someone else");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t port = sys_free_port();
		char zpath[128], spath[128];
		char *out = NULL, *err = NULL;
		int rc;

		fake_object(zpath, sizeof(zpath), port, "", cases[i].uid, cases[i].mode);
		fake_object(spath, sizeof(spath), port, ".stats", cases[i].uid, cases[i].mode);
		rc = run_status(NULL, port, false, &out, &err);
		expect_refusal("status", rc, out, err, spath, cases[i].why);
		out = err = NULL;
		rc = run_dump(port, &out, &err);
		expect_refusal("dump", rc, out, err, zpath, cases[i].why);
		unlink(zpath);
		unlink(spath);
	}
}

Test(status, gone_after_a_clean_stop)
{
	struct sys_server s;
	uint16_t hport = sys_free_port();
	int lfd = listener(hport);
	uint16_t port;
	int rc;

	server_start(&s, hport);
	port = s.port;
	cr_assert_eq(sys_server_stop(&s), 0);
	rc = run_status(NULL, port, false, NULL, NULL);
	cr_assert_eq(rc, 1, "the statistics object must be removed at exit");
	close(lfd);
}

/* sd_notify: READY=1, then STATUS= with the serial and the backends up
 * once the prober published its table (the supervisor looks every
 * second). */
Test(status, systemd_status_line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sys_server s;
	uint16_t hport = sys_free_port();
	int lfd = listener(hport);
	int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char want[96], all[8192] = "";
	int64_t end;
	uint32_t serial;

	cr_assert_geq(nfd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/ahd-test-notify.%d", (int)getpid());
	unlink(sun.sun_path);
	cr_assert_eq(bind(nfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	server_start(&s, hport);
	unsetenv("NOTIFY_SOCKET");
	json_object_put(status_checked(s.port));
	serial = soa_serial(s.port);
	snprintf(want, sizeof(want), "STATUS=serial %u, 1 of 2 backends up", serial);
	end = sys_now_ms() + 5000;
	while (strstr(all, want) == NULL && sys_now_ms() < end) {
		struct pollfd pfd = { .fd = nfd, .events = POLLIN };
		char buf[512];
		ssize_t n;

		if (poll(&pfd, 1, 200) != 1)
			continue;
		n = recv(nfd, buf, sizeof(buf) - 1, 0);
		if (n > 0 && strlen(all) + (size_t)n + 2 < sizeof(all)) {
			buf[n] = '\0';
			strcat(all, buf);
			strcat(all, "\n");
		}
	}
	cr_assert_not_null(strstr(all, "READY=1"), "notifications: %s", all);
	cr_assert_not_null(strstr(all, want), "want %s; notifications: %s", want, all);
	cr_assert_eq(sys_server_stop(&s), 0);
	close(nfd);
	unlink(sun.sun_path);
	close(lfd);
}
