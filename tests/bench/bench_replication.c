/*
 * Replication benchmark (issue 14, DESIGN §9): a-healthy-dns is the
 * primary of a signed zone of 10,000 names for a stock NSD and a stock
 * Knot secondary (tests/system/common/secondary.h: private directories,
 * loopback ports, TSIG on every transfer and NOTIFY). www has two
 * health-checked addresses whose listeners live in this process; we close
 * and reopen the 127.0.0.2 listener (a flip) and time, polling each
 * server over UDP every 10 ms, how long until the primary, NSD and Knot
 * answer without (and again with) the address. Then the bytes of one
 * flip's IXFR against a full AXFR of the zone (dig's "XFR size" line,
 * and Knot's own count of what it received), and the primary's query
 * rate (dnsperf, one client) alone, beside 10 AXFRs a second and beside
 * AXFRs back to back, side by side. Prints the numbers; asserts nothing about
 * speed.
 *
 * Usage: bench_replication [flips [names]]
 * (env AHD_BIN, BENCH_SEED, BENCH_QPS_SECONDS: each dnsperf run, 5)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "secondary.h"
#include "sysutil.h"

#define BR_ZONE "bench-rep.test"
#define BR_NAME "www." BR_ZONE
#define BR_FLIPS 20
#define BR_NAMES 10000
#define BR_POLL_US 10000
#define BR_GIVE_UP_US 20000000
#define BR_KEY_NAME "bench-xfr"
#define BR_SECRET "YmVuY2gtcmVwbGljYXRpb24tc2VjcmV0LTAxMjM0NTY="

enum { BR_PRIMARY, BR_NSD, BR_KNOT, BR_N };
static const char *const br_who[BR_N] = {"a-healthy-dns", "nsd", "knot"};
static const struct sec_tsig br_tsig = {BR_KEY_NAME, "hmac-sha256", BR_SECRET};

struct br {
	char dir[64], key[96], tsig[96], conf[96], notify[96];
	uint16_t tport;
	int lst[2];                  /* listeners on 127.0.0.1, 127.0.0.2; -1 closed */
	int dns[BR_N];               /* UDP sockets to the three servers */
	struct bench_server s;
	struct sec sec[2];           /* NSD, Knot */
	bool sec_up[2];
	double *ms[2][BR_N];         /* [withdrawn, restored][server] */
	double *lag[2][2];           /* secondary minus primary, per flip */
	size_t n[2][BR_N], n_lag[2][2];
	unsigned failed[BR_N], queries, lost;
	unsigned ixfr[2], axfr[2], unknown[2];
	uint32_t serial_before_last; /* for the IXFR size */
};

/* Accept and close on the open listeners until until_us: the checks
 * must find a listener that accepts, not a full backlog. */
static void br_idle(struct br *b, int64_t until_us)
{
	for (;;) {
		struct pollfd pfd[2];
		int64_t left = until_us - bench_now_us();
		int n = 0;

		if (left <= 0)
			return;
		for (int i = 0; i < 2; i++)
			if (b->lst[i] >= 0)
				pfd[n++] = (struct pollfd){.fd = b->lst[i], .events = POLLIN};
		if (poll(pfd, (nfds_t)n, (int)((left + 999) / 1000)) > 0)
			for (int i = 0; i < n; i++)
				if (pfd[i].revents & POLLIN)
					bench_drain(pfd[i].fd);
	}
}

static int br_open(struct br *b, int i)
{
	static const char *const addrs[2] = {"127.0.0.1", "127.0.0.2"};

	b->lst[i] = bench_listen(addrs[i], b->tport, 128);
	if (b->lst[i] < 0)
		fprintf(stderr, "bench-replication: listen %s:%u: %s\n", addrs[i],
			(unsigned)b->tport, strerror(errno));
	return b->lst[i] < 0 ? -1 : 0;
}

/* Poll the three servers every 10 ms until each shows 127.0.0.2 present
 * (or not); record each one's time since since_us in b->ms[dir]. */
static void br_wait(struct br *b, int dir, int64_t since_us)
{
	bool present = dir == 1, done[BR_N] = {false};
	int64_t tick = bench_now_us(), at[BR_N] = {0};
	size_t left = BR_N;

	while (left > 0 && bench_now_us() - since_us < BR_GIVE_UP_US) {
		for (int w = 0; w < BR_N; w++) {
			ldns_pkt *p;

			if (done[w])
				continue;
			p = bench_query(b->dns[w], BR_NAME, LDNS_RR_TYPE_A, 200);
			b->queries++;
			if (p == NULL) {
				b->lost++;
				continue;
			}
			if (bench_has_a(p, "127.0.0.2") == present) {
				at[w] = bench_now_us() - since_us;
				b->ms[dir][w][b->n[dir][w]++] = (double)at[w] / 1000.0;
				done[w] = true;
				left--;
			}
			ldns_pkt_free(p);
		}
		tick += BR_POLL_US;
		br_idle(b, tick);
	}
	for (int w = 0; w < BR_N; w++)
		b->failed[w] += !done[w];
	for (int k = 0; k < 2; k++)
		if (done[BR_PRIMARY] && done[BR_NSD + k])
			b->lag[dir][k][b->n_lag[dir][k]++] =
				(double)(at[BR_NSD + k] - at[BR_PRIMARY]) / 1000.0;
}

/* How each secondary got the change since m: IXFR, AXFR or unknown. */
static void br_count_xfrs(struct br *b, const struct sec_mark *m)
{
	for (int k = 0; k < 2; k++) {
		struct sec_xfrs x;

		if (sec_xfrs_since(&b->sec[k], BR_ZONE, &m[k], &x) != 0 ||
		    x.ixfr + x.axfr == 0)
			b->unknown[k]++;
		else if (x.axfr == 0)
			b->ixfr[k]++;
		else
			b->axfr[k]++;
	}
}

/* One flip: 127.0.0.2's listener closes, then opens again. */
static void br_flip(struct br *b)
{
	struct sec_mark m[2];
	uint32_t serial = 0;

	for (int dir = 0; dir < 2; dir++) {
		for (int k = 0; k < 2; k++)
			sec_mark(&b->sec[k], BR_ZONE, &m[k]);
		if (bench_soa_serial(b->dns[BR_PRIMARY], BR_ZONE, &serial) == 0)
			b->serial_before_last = serial;
		if (dir == 0) {
			close(b->lst[1]);
			b->lst[1] = -1;
		} else if (br_open(b, 1) < 0) {
			return;
		}
		br_wait(b, dir, bench_now_us());
		/* Let the secondaries' logs settle before reading them. */
		br_idle(b, bench_now_us() + 200000);
		br_count_xfrs(b, m);
		br_idle(b, bench_now_us() + 300000 + random() % 1000001);
	}
}

/* The DNSSEC key, the TSIG key file and the JSON configuration with
 * names names (www health-checked, the rest static). */
static int br_files(struct br *b, size_t names)
{
	char cmd[512];
	FILE *f;

	snprintf(b->dir, sizeof(b->dir), "/tmp/ahd-bench-rep-XXXXXX");
	if (mkdtemp(b->dir) == NULL || chmod(b->dir, 0755) != 0)
		return -1;
	snprintf(b->key, sizeof(b->key), "%s/key.pem", b->dir);
	snprintf(b->tsig, sizeof(b->tsig), "%s/tsig.key", b->dir);
	snprintf(b->conf, sizeof(b->conf), "%s/config.json", b->dir);
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
		 " -out %s 2>/dev/null && chmod 644 %s", b->key, b->key);
	if (system(cmd) != 0)
		return -1;
	f = fopen(b->tsig, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "key \"%s\" { algorithm hmac-sha256; secret \"%s\"; };\n", BR_KEY_NAME,
		BR_SECRET);
	fclose(f);
	f = fopen(b->conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "{\"zone-resolutions\": {\n \"www\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"],"
		   " \"health_port\": %u},\n \"ns1\": [\"192.0.2.53\"], \"ns2\": [\"192.0.2.54\"]",
		(unsigned)b->tport);
	for (size_t i = 1; i + 2 < names; i++)
		fprintf(f, ",\n \"n%05zu\": [\"10.%zu.%zu.%zu\"]", i, i >> 16, (i >> 8) & 255,
			i & 255);
	fprintf(f, "\n}}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* The primary and the two secondaries, each serving the first serial. */
static int br_start(struct br *b)
{
	uint16_t sp[2] = {sys_free_port(), sys_free_port()};
	const char *args[] = {
		"--config", b->conf, "--hosted-zone", BR_ZONE,
		"--ns", "[\"ns1." BR_ZONE "\", \"ns2." BR_ZONE "\"]",
		"--priv-key-path", b->key, "--priv-key-alg", "ECDSAP256SHA256",
		"--test-min-interval", "1", "--test-timeout", "1", "--workers", "1",
		"--transfer-allow", "[\"127.0.0.1/32\"]", "--notify", b->notify,
		"--tsig-key", b->tsig, "--ixfr-history", "16", NULL,
	};
	struct sec_cfg c = {.zones = {BR_ZONE}, .n_zones = 1, .tsig = br_tsig};
	uint32_t serial;

	snprintf(b->notify, sizeof(b->notify), "[\"127.0.0.1:%u\", \"127.0.0.1:%u\"]",
		 (unsigned)sp[0], (unsigned)sp[1]);
	if (bench_server_start(&b->s, args, 120000) != 0)
		return -1;
	b->dns[BR_PRIMARY] = bench_dns_socket(b->s.port);
	if (bench_soa_serial(b->dns[BR_PRIMARY], BR_ZONE, &serial) != 0)
		return -1;
	c.primary_port = b->s.port;
	for (int k = 0; k < 2; k++) {
		int64_t t0 = bench_now_us();

		c.port = sp[k];
		if (sec_start(&b->sec[k], k == 0 ? SEC_NSD : SEC_KNOT, &c) < 0)
			return -1;
		b->sec_up[k] = true;
		b->dns[BR_NSD + k] = bench_dns_socket(sp[k]);
		if (sec_wait_serial(&b->sec[k], BR_ZONE, serial, 120000) != 0) {
			fprintf(stderr, "bench-replication: %s did not load serial %u\n",
				sec_name(b->sec[k].kind), serial);
			return -1;
		}
		printf("  %s loaded the zone (AXFR) in %.0f ms\n", sec_name(b->sec[k].kind),
		       (double)(bench_now_us() - t0) / 1000.0);
	}
	return 0;
}

/* dig's ";; XFR size: R records (messages M, bytes B)" for type. */
static int br_xfr_size(struct br *b, const char *type, unsigned *rec, unsigned *msgs,
		       unsigned *bytes)
{
	char *out = sec_dig_xfr(b->s.port, BR_ZONE, type, &br_tsig, NULL);
	const char *p = out ? strstr(out, ";; XFR size: ") : NULL;
	int rc = p && sscanf(p, ";; XFR size: %u records (messages %u, bytes %u)", rec, msgs,
			     bytes) == 3 ? 0 : -1;

	free(out);
	return rc;
}

/* Knot's own count of what it received: the median bytes of its
 * incoming transfers of kind ("IXFR" or "AXFR"). */
static double br_knot_bytes(struct br *b, const char *kind, size_t *n)
{
	char *log = sec_log(&b->sec[1]), key[64];
	double v[256], mn, md = 0, mx;

	*n = 0;
	snprintf(key, sizeof(key), "[%s.] %s, incoming", BR_ZONE, kind);
	for (char *l = log ? strtok(log, "\n") : NULL; l; l = strtok(NULL, "\n")) {
		const char *f = strstr(l, ", finished, ");
		const char *m = f ? strstr(f, " messages, ") : NULL;

		if (strstr(l, key) != NULL && m != NULL && *n < 256)
			v[(*n)++] = strtod(m + 11, NULL);
	}
	free(log);
	if (*n > 0)
		bench_stats(v, *n, &mn, &md, &mx);
	return md;
}

static void br_bytes(struct br *b, size_t names)
{
	unsigned ir = 0, im = 0, ib = 0, ar = 0, am = 0, ab = 0;
	char type[32];
	size_t ni, na;
	double ki = br_knot_bytes(b, "IXFR", &ni), ka = br_knot_bytes(b, "AXFR", &na);

	snprintf(type, sizeof(type), "ixfr=%u", b->serial_before_last);
	printf("  bytes per transfer of the %zu-name signed zone (TSIG-signed):\n", names);
	if (br_xfr_size(b, type, &ir, &im, &ib) == 0)
		printf("    IXFR of the last flip (dig): %u records, %u messages, %u bytes\n", ir, im,
		       ib);
	else
		printf("    IXFR of the last flip (dig): no answer\n");
	if (br_xfr_size(b, "axfr", &ar, &am, &ab) == 0)
		printf("    full AXFR (dig):             %u records, %u messages, %u bytes\n", ar, am,
		       ab);
	else
		printf("    full AXFR (dig): no answer\n");
	printf("    knot received: IXFR median %.0f bytes over %zu, AXFR median %.0f bytes over %zu\n",
	       ki, ni, ka, na);
	printf("RESULT replication_bytes ixfr_bytes=%u ixfr_records=%u axfr_bytes=%u "
	       "axfr_records=%u ratio=%.5f\n",
	       ib, ir, ab, ar, ab ? (double)ib / ab : 0.0);
}

#define BR_QPS_SECONDS (getenv("BENCH_QPS_SECONDS") ? getenv("BENCH_QPS_SECONDS") : "5")
#define BR_QPS_ROUNDS 3

/* dnsperf against the primary for 5 s: its queries per second, or -1. */
static double br_dnsperf(struct br *b, const char *queries)
{
	char port[8], *out = NULL;
	const char *argv[] = {"dnsperf", "-s", "127.0.0.1", "-p", port, "-d", queries, "-l",
			      BR_QPS_SECONDS, "-c", "1", "-T", "1", NULL};
	const char *q;
	double qps = -1;

	snprintf(port, sizeof(port), "%u", (unsigned)b->s.port);
	if (sys_run(argv, 60000, &out, NULL) == 0 && out != NULL &&
	    (q = strstr(out, "Queries per second:")) != NULL)
		qps = strtod(q + 19, NULL);
	free(out);
	return qps;
}

/* A child doing signed AXFRs of the zone, one every gap_us (0: back to
 * back), counting them; ixfr: IXFRs of the last flip instead (what
 * replication really asks of the primary). */
static pid_t br_axfr_loop(struct br *b, volatile unsigned *count, int64_t gap_us, bool ixfr)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* In process, not dig: the load is the server's, not dig's. */
	for (int64_t next = bench_now_us();; next += gap_us) {
		*count += (ixfr ? sec_ixfr_drain(b->s.port, BR_ZONE, b->serial_before_last, &br_tsig)
				: sec_axfr_drain(b->s.port, BR_ZONE, &br_tsig)) > 0;
		if (gap_us > 0 && next + gap_us > bench_now_us())
			bench_sleep_us(next + gap_us - bench_now_us());
	}
}

/* dnsperf's query file: www and up to 200 of the static names. */
static int br_queries(struct br *b, size_t names, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/queries", b->dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s A\n", BR_NAME);
	for (size_t i = 1; i + 2 < names && i < 200; i++)
		fprintf(f, "n%05zu.%s A\n", i, BR_ZONE);
	return fclose(f) == 0 ? 0 : -1;
}

/* The primary's query rate alone, beside 10 IXFRs a second (a flip
 * fetched by 10 secondaries a second), beside 10 AXFRs a second and
 * beside AXFRs back to back, in alternating rounds (side by side, so a
 * drift of the machine hits all of them alike). */
#define BR_LOADS 4
static void br_qps(struct br *b, size_t names)
{
	static const int64_t gaps[BR_LOADS] = {-1, 100000, 100000, 0};
	static const bool ixfr[BR_LOADS] = {false, true, false, false};
	static const char *const what[BR_LOADS] = {"alone", "beside 10 IXFR/s",
						   "beside 10 AXFR/s", "beside AXFRs back to back"};
	char queries[128];
	double v[BR_LOADS][BR_QPS_ROUNDS], mn, md[BR_LOADS], mx;
	volatile unsigned *count = mmap(NULL, sizeof(*count) * BR_LOADS, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (count == MAP_FAILED || access("/usr/bin/dnsperf", X_OK) != 0 ||
	    br_queries(b, names, queries, sizeof(queries)) != 0) {
		printf("  query rate beside transfers: skipped (dnsperf not installed)\n");
		return;
	}
	for (int r = 0; r < BR_QPS_ROUNDS; r++)
		for (int k = 0; k < BR_LOADS; k++) {
			pid_t loop = gaps[k] >= 0 ? br_axfr_loop(b, &count[k], gaps[k], ixfr[k]) : 0;

			v[k][r] = br_dnsperf(b, queries);
			if (loop > 0) {
				kill(loop, SIGKILL);
				waitpid(loop, NULL, 0);
			}
		}
	printf("  query rate on the primary (dnsperf, 1 client, %s s x %d rounds):\n",
	       BR_QPS_SECONDS, BR_QPS_ROUNDS);
	for (int k = 0; k < BR_LOADS; k++) {
		bench_stats(v[k], BR_QPS_ROUNDS, &mn, &md[k], &mx);
		printf("    %-26s median %9.0f qps (min %.0f, max %.0f, %+.1f%%), %u transfers\n",
		       what[k], md[k], mn, mx, md[0] > 0 ? (md[k] - md[0]) * 100.0 / md[0] : 0.0,
		       count[k]);
	}
	printf("RESULT replication_qps alone=%.0f ixfr_10_per_s=%.0f axfr_10_per_s=%.0f "
	       "axfr_back_to_back=%.0f\n",
	       md[0], md[1], md[2], md[3]);
	munmap((void *)count, sizeof(*count) * BR_LOADS);
}

static void br_print(const char *what, double *v, size_t n)
{
	double mn = 0, md = 0, mx = 0;

	if (n > 0)
		bench_stats(v, n, &mn, &md, &mx);
	printf("  %-34s %4zu %9.1f %10.1f %9.1f\n", what, n, mn, md, mx);
}

static void br_report(struct br *b, int flips)
{
	static const char *const dirs[2] = {"withdrawn", "restored"};
	double mn, junk, md[2][BR_N] = {{0}}, mx[2][BR_N] = {{0}}, lag[2] = {0};
	char what[64];

	printf("  %-34s %4s %9s %10s %9s\n", "flip reaches the answers", "n", "min ms",
	       "median ms", "max ms");
	for (int d = 0; d < 2; d++)
		for (int w = 0; w < BR_N; w++) {
			snprintf(what, sizeof(what), "%s: %s", dirs[d], br_who[w]);
			br_print(what, b->ms[d][w], b->n[d][w]);
			if (b->n[d][w] > 0)
				bench_stats(b->ms[d][w], b->n[d][w], &mn, &md[d][w], &mx[d][w]);
		}
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < 2; k++) {
			snprintf(what, sizeof(what), "%s: %s after the primary", dirs[d],
				 br_who[BR_NSD + k]);
			br_print(what, b->lag[d][k], b->n_lag[d][k]);
			if (d == 0 && b->n_lag[d][k] > 0)
				bench_stats(b->lag[d][k], b->n_lag[d][k], &mn, &lag[k], &junk);
		}
	printf("  goal: a secondary's median under 1000 ms after the primary's own\n");
	for (int k = 0; k < 2; k++)
		printf("  %s: %u changes by IXFR, %u by AXFR, %u untold\n", br_who[BR_NSD + k],
		       b->ixfr[k], b->axfr[k], b->unknown[k]);
	printf("  %u queries, %u without reply; not seen within %d s: primary %u, nsd %u, "
	       "knot %u\n", b->queries, b->lost, BR_GIVE_UP_US / 1000000, b->failed[BR_PRIMARY],
	       b->failed[BR_NSD], b->failed[BR_KNOT]);
	printf("RESULT replication flips=%d primary_down_median_ms=%.1f nsd_down_median_ms=%.1f "
	       "nsd_down_max_ms=%.1f knot_down_median_ms=%.1f knot_down_max_ms=%.1f "
	       "nsd_lag_median_ms=%.1f knot_lag_median_ms=%.1f\n",
	       flips, md[0][BR_PRIMARY], md[0][BR_NSD], mx[0][BR_NSD], md[0][BR_KNOT],
	       mx[0][BR_KNOT], lag[0], lag[1]);
}

static int br_alloc(struct br *b, int flips)
{
	for (int d = 0; d < 2; d++) {
		for (int w = 0; w < BR_N; w++)
			if ((b->ms[d][w] = calloc((size_t)flips, sizeof(double))) == NULL)
				return -1;
		for (int k = 0; k < 2; k++)
			if ((b->lag[d][k] = calloc((size_t)flips, sizeof(double))) == NULL)
				return -1;
	}
	return 0;
}

static void br_stop(struct br *b, bool keep)
{
	char cmd[128];

	for (int k = 0; k < 2; k++)
		if (b->sec_up[k])
			sec_stop(&b->sec[k]);
	if (b->s.pid > 0)
		bench_server_stop(&b->s, keep);
	for (int i = 0; i < 2; i++)
		if (b->lst[i] >= 0)
			close(b->lst[i]);
	if (b->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
		(void)!system(cmd);
	}
}

int main(int argc, char **argv)
{
	static struct br b;
	int flips = argc > 1 ? atoi(argv[1]) : BR_FLIPS;
	size_t names = argc > 2 ? strtoul(argv[2], NULL, 10) : BR_NAMES;
	unsigned seed = getenv("BENCH_SEED") ? (unsigned)atoi(getenv("BENCH_SEED"))
					     : (unsigned)(getpid() ^ bench_now_us());
	int rc = 2;

	if (flips < 1)
		flips = BR_FLIPS;
	if (names < 10)
		names = BR_NAMES;
	srandom(seed);
	b.lst[0] = b.lst[1] = -1;
	if (!sec_available(SEC_NSD) || !sec_available(SEC_KNOT)) {
		fprintf(stderr, "bench-replication: needs nsd and knotd (apt-get install nsd knot)\n");
		return 2;
	}
	b.tport = bench_free_port();
	if (br_alloc(&b, flips) != 0 || br_open(&b, 0) != 0 || br_open(&b, 1) != 0 ||
	    br_files(&b, names) != 0)
		goto out;
	printf("bench-replication: %s, %zu names signed (ECDSAP256SHA256), secondaries nsd and "
	       "knot, TSIG hmac-sha256, %d flips of 127.0.0.2:%u, UDP polled every %d ms, seed %u\n",
	       bench_bin(), names, flips, (unsigned)b.tport, BR_POLL_US / 1000, seed);
	fflush(stdout);
	if (br_start(&b) != 0)
		goto out;
	br_wait(&b, 1, bench_now_us()); /* every server has 127.0.0.2 to begin with */
	memset(b.n, 0, sizeof(b.n));
	memset(b.n_lag, 0, sizeof(b.n_lag));
	memset(b.failed, 0, sizeof(b.failed));
	for (int k = 0; k < flips; k++)
		br_flip(&b);
	br_report(&b, flips);
	br_bytes(&b, names);
	br_qps(&b, names);
	rc = b.n[0][BR_NSD] + b.n[0][BR_KNOT] > 0 ? 0 : 2;
out:
	if (rc != 0)
		fprintf(stderr, "bench-replication: could not measure%s\n",
			b.s.log_path[0] ? "; the primary's log is kept" : "");
	br_stop(&b, rc != 0);
	if (rc != 0 && b.s.log_path[0])
		fprintf(stderr, "  %s\n", b.s.log_path);
	return rc;
}
