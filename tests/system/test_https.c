/*
 * The https check (DESIGN §3.1) with the real binary: a test CA made by
 * the openssl command, HTTPS backends from ahd-tls-target (AHD_TOOLS)
 * with a valid certificate, an expired one, one for another name, a
 * valid one answering 503, and a port that refuses. Each must show its
 * state and reason in `status --json`, and only the good ones answer.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <ldns/ldns.h>

#include "sysutil.h"

#define ZONE "https.test"
#define WAIT_MS 15000

struct pki {
	char dir[64];
};

static void openssl(const char *const *args)
{
	const char *argv[40] = { "openssl" };
	char *err = NULL;
	size_t n = 1;
	int rc;

	for (size_t i = 0; args[i] != NULL && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = sys_run(argv, 30000, NULL, &err);
	cr_assert_eq(rc, 0, "openssl %s failed (%d): %s", args[0], rc, err ? err : "");
	free(err);
}

static const char *pki_path(const struct pki *k, const char *file, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", k->dir, file);

	cr_assert(n > 0 && (size_t)n < cap, "path too long");
	return buf;
}

/* A P-256 key and a certificate for san (an extension line), signed by
 * the test CA, valid for days (-1: expired yesterday). */
static void pki_leaf(const struct pki *k, const char *name, const char *san, const char *days)
{
	char key[128], csr[128], crt[128], ca[128], cakey[128], ext[128], text[256];

	snprintf(text, sizeof(text), "subjectAltName=%s\n", san);
	cr_assert_eq(sys_write_file(pki_path(k, "ext.cnf", ext, sizeof(ext)), text), 0);
	snprintf(text, sizeof(text), "%s.key", name);
	pki_path(k, text, key, sizeof(key));
	snprintf(text, sizeof(text), "%s.csr", name);
	pki_path(k, text, csr, sizeof(csr));
	snprintf(text, sizeof(text), "%s.pem", name);
	pki_path(k, text, crt, sizeof(crt));
	pki_path(k, "ca.pem", ca, sizeof(ca));
	pki_path(k, "ca.key", cakey, sizeof(cakey));
	openssl((const char *const[]){ "req", "-new", "-newkey", "ec", "-pkeyopt",
				       "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
				       csr, "-subj", "/CN=https test leaf", NULL });
	openssl((const char *const[]){ "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
				       "-CAcreateserial", "-out", crt, "-days", days, "-extfile",
				       ext, NULL });
}

/* A self-signed CA: name.key and name.pem. */
static void pki_ca(const struct pki *k, const char *name)
{
	char key[128], crt[128], file[32];

	snprintf(file, sizeof(file), "%s.key", name);
	pki_path(k, file, key, sizeof(key));
	snprintf(file, sizeof(file), "%s.pem", name);
	pki_path(k, file, crt, sizeof(crt));
	openssl((const char *const[]){ "req", "-x509", "-newkey", "ec", "-pkeyopt",
				       "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
				       crt, "-days", "2", "-subj", "/CN=a-healthy-dns test CA", NULL });
}

static void pki_make(struct pki *k)
{
	snprintf(k->dir, sizeof(k->dir), "/tmp/ahd-https.XXXXXX");
	cr_assert_not_null(mkdtemp(k->dir));
	pki_ca(k, "ca");
	pki_leaf(k, "good", "DNS:good." ZONE ",IP:127.0.0.1", "2");
	pki_leaf(k, "expired", "DNS:expired." ZONE, "-1");
	pki_leaf(k, "other", "DNS:elsewhere.example", "2");
}

static void pki_remove(const struct pki *k)
{
	const char *argv[] = { "rm", "-rf", k->dir, NULL };

	if (strncmp(k->dir, "/tmp/ahd-https.", 15) == 0)
		(void)sys_run(argv, 10000, NULL, NULL);
}

/* ahd-tls-target on 127.0.0.1:port with cert name.pem; returns its pid
 * once it printed "ready". */
static pid_t tls_target(const struct pki *k, const char *name, uint16_t port, int status)
{
	char path[512], crt[128], key[128], file[64], port_s[8], status_s[8], buf[16] = "";
	struct pollfd pfd;
	int p[2];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/ahd-tls-target", sys_tools_dir());
	snprintf(file, sizeof(file), "%s.pem", name);
	pki_path(k, file, crt, sizeof(crt));
	snprintf(file, sizeof(file), "%s.key", name);
	pki_path(k, file, key, sizeof(key));
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	snprintf(status_s, sizeof(status_s), "%d", status);
	cr_assert_eq(access(path, X_OK), 0, "%s is missing", path);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(p[1], STDOUT_FILENO);
		execl(path, path, "--cert", crt, "--key", key, "--http", status_s, port_s,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	cr_assert(pid > 0 && poll(&pfd, 1, 5000) == 1 && read(p[0], buf, sizeof(buf) - 1) > 0 &&
			  strncmp(buf, "ready", 5) == 0,
		  "ahd-tls-target %s on port %u did not start", name, (unsigned)port);
	close(p[0]);
	return pid;
}

static struct json_object *status_json(uint16_t port)
{
	char why[512];
	struct json_object *o = sys_status_json(port, why, sizeof(why));

	cr_assert_not_null(o, "%s", why);
	return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	return json_object_get_string(v);
}

/* The backend row of name in o (NULL if none). */
static struct json_object *backend(struct json_object *o, const char *name)
{
	struct json_object *arr = NULL;

	if (!json_object_object_get_ex(o, "backends", &arr))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *b = json_object_array_get_idx(arr, i);

		if (strcmp(jstr(b, "name"), name) == 0)
			return b;
	}
	return NULL;
}

struct want {
	const char *name;  /* relative */
	const char *state; /* "up" or "down" */
	const char *error; /* last_error */
	const char *cls;   /* error_class (health_error_name); NULL: not looked at */
};

/* Until every row matches (or WAIT_MS): fails with the last row seen. */
static void wait_states(uint16_t port, const struct want *w, size_t n)
{
	int64_t end = sys_now_ms() + WAIT_MS;
	char full[128], seen[256] = "";

	for (;;) {
		struct json_object *o = status_json(port);
		size_t ok = 0;

		for (size_t i = 0; i < n; i++) {
			struct json_object *b;

			snprintf(full, sizeof(full), "%s." ZONE, w[i].name);
			b = backend(o, full);
			if (b != NULL && strcmp(jstr(b, "state"), w[i].state) == 0 &&
			    strcmp(jstr(b, "last_error"), w[i].error) == 0 &&
			    (w[i].cls == NULL || strcmp(jstr(b, "error_class"), w[i].cls) == 0)) {
				ok++;
				continue;
			}
			snprintf(seen, sizeof(seen), "%s: want %s '%s' (%s), got %s '%s' (%s)", full,
				 w[i].state, w[i].error, w[i].cls ? w[i].cls : "-",
				 b ? jstr(b, "state") : "(no row)", b ? jstr(b, "last_error") : "",
				 b ? jstr(b, "error_class") : "");
		}
		json_object_put(o);
		if (ok == n)
			return;
		cr_assert(sys_now_ms() < end, "%s", seen);
		sys_sleep_ms(200);
	}
}

/* Whether name answers 127.0.0.1. */
static bool answers(uint16_t port, const char *name)
{
	char full[128];
	ldns_pkt *p;
	bool found = false;

	snprintf(full, sizeof(full), "%s." ZONE, name);
	p = sys_query(port, full, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	cr_assert_not_null(p, "no reply for %s", full);
	for (size_t i = 0; i < ldns_pkt_ancount(p); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
		char *a = ldns_rdf2str(ldns_rr_rdf(rr, 0));

		found = found || strcmp(a, "127.0.0.1") == 0;
		free(a);
	}
	ldns_pkt_free(p);
	return found;
}

static void stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

/* The zone: one name per backend, all on 127.0.0.1, each its own port. */
static void resolutions(char *buf, size_t cap, const struct pki *k, const uint16_t *port)
{
	char ca[128];

	pki_path(k, "ca.pem", ca, sizeof(ca));
	snprintf(buf, cap,
		 "{\"good\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"good." ZONE "\", \"tls_ca_file\": \"%s\", \"http_path\": \"/hz\"},"
		 " \"byip\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_ca_file\": \"%s\"},"
		 " \"byhost\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"http_host\": \"good." ZONE "\", \"tls_ca_file\": \"%s\"},"
		 " \"sysstore\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"good." ZONE "\"},"
		 " \"expired\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"expired." ZONE "\", \"tls_ca_file\": \"%s\"},"
		 " \"noverify\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"expired." ZONE "\", \"tls_verify\": false},"
		 " \"wrongname\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"wrongname." ZONE "\", \"tls_ca_file\": \"%s\"},"
		 " \"sick\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"good." ZONE "\", \"tls_ca_file\": \"%s\"},"
		 " \"sickok\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\", "
		 "\"tls_name\": \"good." ZONE "\", \"tls_ca_file\": \"%s\", "
		 "\"http_status\": [200, \"500-503\"]},"
		 " \"refused\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, \"check\": \"https\"}}",
		 port[0], ca, port[0], ca, port[0], ca, port[0], port[1], ca, port[1], port[2], ca,
		 port[3], ca, port[3], ca, port[4]);
}

Test(https, states_reasons_and_answers, .timeout = 120)
{
	static const struct want w[] = {
		{ "good", "up", "", "none" },
		{ "byip", "up", "", "none" },
		{ "byhost", "up", "", "none" },
		{ "sysstore", "down", "TLS verify failed: unable to get local issuer", "tls" },
		{ "expired", "down", "TLS verify failed: certificate has expired", "tls" },
		{ "noverify", "up", "", "none" },
		{ "wrongname", "down", "TLS verify failed: hostname mismatch", "tls" },
		{ "sick", "down", "HTTP status 503", "http_status" },
		{ "sickok", "up", "", "none" },
		{ "refused", "down", "refused", "refused" },
	};
	struct pki k;
	struct sys_server s;
	uint16_t port[5];
	pid_t t[4];
	char res[4096];
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\"]", "--zone-resolutions", res,
		"--test-min-interval", "1", "--test-timeout", "2", "--workers", "1", NULL,
	};

	pki_make(&k);
	for (size_t i = 0; i < 5; i++)
		port[i] = sys_free_port();
	t[0] = tls_target(&k, "good", port[0], 200);
	t[1] = tls_target(&k, "expired", port[1], 200);
	t[2] = tls_target(&k, "other", port[2], 200);
	t[3] = tls_target(&k, "good", port[3], 503);
	resolutions(res, sizeof(res), &k, port);
	cr_assert_eq(sys_server_start(&s, args), 0, "the server did not start");
	wait_states(s.port, w, sizeof(w) / sizeof(w[0]));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		cr_assert_eq(answers(s.port, w[i].name), strcmp(w[i].state, "up") == 0,
			     "%s answers %s", w[i].name,
			     answers(s.port, w[i].name) ? "127.0.0.1" : "nothing");
	/* The good backend stops: its names go down as refused. */
	stop(t[0]);
	wait_states(s.port, (const struct want[]){ { "good", "down", "refused", "refused" } }, 1);
	cr_assert(!answers(s.port, "good"));
	cr_assert_eq(sys_server_stop(&s), 0);
	for (size_t i = 1; i < 4; i++)
		stop(t[i]);
	pki_remove(&k);
}

/* A CA file that cannot be loaded stops the start with one line naming
 * the entry and the key (and --check-config finds it too). */
Test(https, bad_ca_file_refused, .timeout = 60)
{
	struct pki k;
	char res[512], bad[128], *err = NULL;
	const char *argv[] = {
		sys_bin(), "--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\"]",
		"--zone-resolutions", res, "--port", "22999", "--check-config", NULL,
	};
	int rc;

	snprintf(k.dir, sizeof(k.dir), "/tmp/ahd-https.XXXXXX");
	cr_assert_not_null(mkdtemp(k.dir));
	cr_assert_eq(sys_write_file(pki_path(&k, "bad.pem", bad, sizeof(bad)), "not a PEM\n"), 0);
	snprintf(res, sizeof(res),
		 "{\"api\": {\"ips\": [\"127.0.0.1\"], \"health_port\": 443, \"check\": \"https\", "
		 "\"tls_ca_file\": \"%s\"}}", bad);
	rc = sys_run(argv, 20000, NULL, &err);
	cr_assert_eq(rc, 1, "exit %d: %s", rc, err ? err : "");
	cr_assert_eq(sys_count_lines(err), 1, "%s", err);
	cr_assert_not_null(strstr(err, "'api': \"tls_ca_file\""), "%s", err);
	cr_assert_not_null(strstr(err, bad), "%s", err);
	free(err);
	pki_remove(&k);
}

/* A --config file at path naming ca (a file in the PKI directory) as
 * the entry's tls_ca_file; written whole (rename). */
static void reload_config(const struct pki *k, const char *path, uint16_t port, const char *ca)
{
	char text[1024], tmp[160], caf[128];

	snprintf(text, sizeof(text),
		 "{\"hosted-zone\": \"" ZONE "\", \"ns\": [\"ns1." ZONE "\"], "
		 "\"test-min-interval\": 1, \"test-timeout\": 2, \"workers\": 1, "
		 "\"zone-resolutions\": {\"api\": {\"ips\": [\"127.0.0.1\"], \"health_port\": %u, "
		 "\"check\": \"https\", \"tls_name\": \"good." ZONE "\", \"tls_ca_file\": \"%s\"}}}",
		 (unsigned)port, pki_path(k, ca, caf, sizeof(caf)));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(sys_write_file(tmp, text), 0);
	cr_assert_eq(rename(tmp, path), 0);
}

/* SIGHUP remakes the contexts from the new file; a CA file that does not
 * load refuses the reload and the running checks go on. */
Test(https, reload_remakes_contexts, .timeout = 120)
{
	struct pki k;
	struct sys_server s;
	uint16_t port = sys_free_port();
	char path[128];
	const char *args[] = { "--config", path, NULL };
	pid_t t;

	pki_make(&k);
	pki_ca(&k, "ca2");
	pki_path(&k, "config.json", path, sizeof(path));
	t = tls_target(&k, "good", port, 200);
	reload_config(&k, path, port, "ca.pem");
	cr_assert_eq(sys_server_start(&s, args), 0, "the server did not start");
	wait_states(s.port, (const struct want[]){ { "api", "up", "", NULL } }, 1);

	reload_config(&k, path, port, "missing.pem");
	kill(s.pid, SIGHUP);
	cr_assert_eq(sys_server_wait_log(&s, "not reloaded", 10000), 0, "no refusal logged");
	cr_assert_eq(sys_server_wait_log(&s, "missing.pem' cannot be loaded", 1000), 0,
		     "the refusal does not name the file");
	sys_sleep_ms(1500);
	wait_states(s.port, (const struct want[]){ { "api", "up", "", NULL } }, 1);
	cr_assert(answers(s.port, "api"));

	/* A CA that did not sign the backend's certificate: it must fail. */
	reload_config(&k, path, port, "ca2.pem");
	kill(s.pid, SIGHUP);
	wait_states(s.port,
		    (const struct want[]){ { "api", "down", "TLS verify failed: unable to get local issuer", "tls" } },
		    1);
	cr_assert(!answers(s.port, "api"));
	cr_assert_eq(sys_server_stop(&s), 0);
	stop(t);
	pki_remove(&k);
}

/*
 * 800 https targets on one backend (400 names of two addresses in
 * 127.6.0.0/16; the backend listens on all of them): every one comes up,
 * and the backend never saw more than CHECK_TLS_ACTIVE (512, DESIGN
 * §3.1) TLS sessions begun at once. Started all together, thousands of
 * handshakes starved each other into timeouts; the round admits 512 at
 * a time and the rest wait connected. Without the limit the backend
 * sees all 800 ClientHellos before the first session ends.
 */
#define MANY_NAMES 400
#define TLS_ACTIVE_MAX 512

static void many_addr(size_t i, char *buf, size_t cap)
{
	snprintf(buf, cap, "127.6.%zu.%zu", i / 250, i % 250 + 1);
}

static pid_t many_target(const struct pki *k, const char *bind_file, const char *err_file,
			 uint16_t port)
{
	char path[512], crt[128], key[128], port_s[8], buf[16] = "";
	struct pollfd pfd;
	int p[2];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/ahd-tls-target", sys_tools_dir());
	pki_path(k, "good.pem", crt, sizeof(crt));
	pki_path(k, "good.key", key, sizeof(key));
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		int e = open(err_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(p[1], STDOUT_FILENO);
		if (e >= 0)
			dup2(e, STDERR_FILENO);
		execl(path, path, "--cert", crt, "--key", key, "--bind-file", bind_file, port_s,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	cr_assert(pid > 0 && poll(&pfd, 1, 10000) == 1 && read(p[0], buf, sizeof(buf) - 1) > 0 &&
			  strncmp(buf, "ready", 5) == 0,
		  "ahd-tls-target on %zu addresses did not start", 2 * (size_t)MANY_NAMES);
	close(p[0]);
	return pid;
}

/* Until backends_up reaches want (or 3 x WAIT_MS). */
static void wait_up(uint16_t port, uint64_t want)
{
	int64_t end = sys_now_ms() + 3 * WAIT_MS;
	uint64_t up = 0;

	for (;;) {
		struct json_object *o = status_json(port), *v = NULL;

		if (json_object_object_get_ex(o, "backends_up", &v))
			up = (uint64_t)json_object_get_int64(v);
		json_object_put(o);
		if (up == want)
			return;
		cr_assert(sys_now_ms() < end, "%llu of %llu https targets up",
			  (unsigned long long)up, (unsigned long long)want);
		sys_sleep_ms(200);
	}
}

Test(https, many_targets_share_tls_slots, .timeout = 180)
{
	struct pki k;
	struct sys_server s;
	char bind_file[160], err_file[160], a[32], b[32], line[128] = "";
	size_t cap = (size_t)MANY_NAMES * 160 + 16, at = 0;
	char *res = malloc(cap);
	unsigned long hs = 0, resumed = 0, peak = 0;
	uint16_t port = sys_free_port();
	FILE *f;
	pid_t t;
	const char *args[] = {
		"--hosted-zone", ZONE, "--ns", "[\"ns1." ZONE "\"]", "--zone-resolutions", res,
		"--test-min-interval", "1", "--test-timeout", "10", "--workers", "1", NULL,
	};

	cr_assert_not_null(res);
	pki_make(&k);
	pki_path(&k, "binds.txt", bind_file, sizeof(bind_file));
	pki_path(&k, "target.err", err_file, sizeof(err_file));
	f = fopen(bind_file, "w");
	cr_assert_not_null(f);
	at += (size_t)snprintf(res + at, cap - at, "{");
	for (size_t i = 0; i < MANY_NAMES; i++) {
		many_addr(2 * i, a, sizeof(a));
		many_addr(2 * i + 1, b, sizeof(b));
		fprintf(f, "%s\n%s\n", a, b);
		at += (size_t)snprintf(res + at, cap - at,
				       "%s\"n%03zu\": {\"ips\": [\"%s\", \"%s\"], \"health_port\": %u, "
				       "\"check\": \"https\", \"tls_verify\": false}",
				       i ? ", " : "", i, a, b, (unsigned)port);
	}
	snprintf(res + at, cap - at, "}");
	cr_assert_eq(fclose(f), 0);
	t = many_target(&k, bind_file, err_file, port);
	cr_assert_eq(sys_server_start(&s, args), 0, "the server did not start");
	wait_up(s.port, 2 * MANY_NAMES);
	cr_assert_eq(sys_server_stop(&s), 0);
	stop(t);
	f = fopen(err_file, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL &&
	       sscanf(line, "handshakes %lu resumed %lu peak %lu", &hs, &resumed, &peak) != 3)
		;
	fclose(f);
	cr_log_info("backend: %lu handshakes, %lu resumed, at most %lu begun at once", hs, resumed,
		    peak);
	cr_assert_geq(hs, 2 * MANY_NAMES, "only %lu handshakes", hs);
	cr_assert_gt(peak, 0);
	cr_assert_leq(peak, TLS_ACTIVE_MAX, "%lu TLS sessions begun at once", peak);
	free(res);
	pki_remove(&k);
}
