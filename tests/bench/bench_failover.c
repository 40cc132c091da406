/*
 * Failover benchmark (DESIGN §3: a state change reaches the answers within
 * one interval + timeout). The real server checks www.bench.test at
 * 127.0.0.1 and 127.0.0.2 on a port whose listeners live in this process;
 * we close and reopen the 127.0.0.2 listener at random phases of the
 * check cycle and time, by polling DNS every 5 ms, how long the answer
 * takes to follow. Prints the numbers; asserts nothing.
 *
 * Usage: bench_failover [flips]   (env AHD_BIN: binary, BENCH_SEED)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

#define FO_ZONE "bench.test"
#define FO_NAME "www." FO_ZONE
#define FO_FLIPS 20
#define FO_POLL_US 5000
#define FO_GIVE_UP_US 10000000
#define FO_INTERVAL_S 1
#define FO_TIMEOUT_S 1

struct fo {
	int dns;          /* UDP socket to the server */
	int lst[2];       /* listeners on 127.0.0.1 and 127.0.0.2; -1: closed */
	uint16_t port;    /* the health port */
	unsigned queries;
	unsigned lost;    /* queries without a reply */
	unsigned no_one;  /* answers without 127.0.0.1, which never fails */
};

/* Keep accepting on the open listeners until the monotonic time until_us:
 * checks must find a listener that accepts, not a full backlog. */
static void fo_idle(struct fo *f, int64_t until_us)
{
	for (;;) {
		struct pollfd pfd[2];
		int64_t left = until_us - bench_now_us();
		int n = 0;

		if (left <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (f->lst[i] >= 0)
				pfd[n++] = (struct pollfd){ .fd = f->lst[i], .events = POLLIN };
		}
		if (poll(pfd, (nfds_t)n, (int)((left + 999) / 1000)) > 0) {
			for (int i = 0; i < n; i++) {
				if (pfd[i].revents & POLLIN)
					bench_drain(pfd[i].fd);
			}
		}
	}
}

/* Poll every 5 ms until 127.0.0.2 is (present) or is not (!present) in
 * the answer; returns the microseconds since since_us, or -1. */
static int64_t fo_wait(struct fo *f, bool present, int64_t since_us)
{
	int64_t tick = bench_now_us();

	while (bench_now_us() - since_us < FO_GIVE_UP_US) {
		ldns_pkt *p = bench_query(f->dns, FO_NAME, LDNS_RR_TYPE_A, 200);

		f->queries++;
		if (p == NULL) {
			f->lost++;
		} else {
			bool has = bench_has_a(p, "127.0.0.2");
			int64_t now = bench_now_us();

			f->no_one += !bench_has_a(p, "127.0.0.1");
			ldns_pkt_free(p);
			if (has == present)
				return now - since_us;
		}
		tick += FO_POLL_US;
		fo_idle(f, tick);
	}
	return -1;
}

static int fo_open(struct fo *f, int i)
{
	static const char *const addrs[2] = { "127.0.0.1", "127.0.0.2" };

	f->lst[i] = bench_listen(addrs[i], f->port, 128);
	if (f->lst[i] < 0) {
		fprintf(stderr, "bench-failover: listen %s:%u: %s\n", addrs[i], (unsigned)f->port,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void fo_print(const char *what, double *v, size_t n)
{
	double mn, md, mx;

	bench_stats(v, n, &mn, &md, &mx);
	printf("  %-22s %4zu %9.1f %10.1f %9.1f\n", what, n, mn, md, mx);
}

int main(int argc, char **argv)
{
	struct fo f = { .lst = { -1, -1 } };
	struct bench_server s;
	char res[256], ival[16], tout[16];
	const char *args[] = {
		"--hosted-zone", FO_ZONE,
		"--ns", "[\"ns1." FO_ZONE "\", \"ns2." FO_ZONE "\"]",
		"--zone-resolutions", res,
		"--test-min-interval", ival,
		"--test-timeout", tout,
		"--workers", "1",
		NULL,
	};
	int flips = argc > 1 ? atoi(argv[1]) : FO_FLIPS;
	double *down, *up, *incr, mn, md, mx;
	size_t n_down = 0, n_up = 0, n_incr = 0, n_failed = 0;
	unsigned seed = getenv("BENCH_SEED") != NULL ? (unsigned)atoi(getenv("BENCH_SEED"))
						     : (unsigned)(getpid() ^ bench_now_us());
	bool all_grew = true;

	if (flips < 1)
		flips = FO_FLIPS;
	srandom(seed);
	down = calloc((size_t)flips, sizeof(*down));
	up = calloc((size_t)flips, sizeof(*up));
	incr = calloc((size_t)flips * 2, sizeof(*incr));
	if (down == NULL || up == NULL || incr == NULL)
		return 2;
	f.port = bench_free_port();
	if (fo_open(&f, 0) < 0 || fo_open(&f, 1) < 0)
		return 2;
	snprintf(res, sizeof(res),
		 "{\"www\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"], \"health_port\": %u}}",
		 (unsigned)f.port);
	snprintf(ival, sizeof(ival), "%d", FO_INTERVAL_S);
	snprintf(tout, sizeof(tout), "%d", FO_TIMEOUT_S);
	if (bench_server_start(&s, args, 15000) != 0)
		return 2;
	f.dns = bench_dns_socket(s.port);
	printf("bench-failover: %s, --test-min-interval %d --test-timeout %d, %d flips of "
	       "127.0.0.2:%u, DNS polled every %d ms, seed %u\n",
	       bench_bin(), FO_INTERVAL_S, FO_TIMEOUT_S, flips, (unsigned)f.port, FO_POLL_US / 1000,
	       seed);
	fflush(stdout);
	if (fo_wait(&f, true, bench_now_us()) < 0) {
		fprintf(stderr, "bench-failover: 127.0.0.2 never showed up\n");
		bench_server_stop(&s, true);
		fprintf(stderr, "server log kept in %s\n", s.log_path);
		return 2;
	}

	for (int k = 0; k < flips; k++) {
		uint32_t s0 = 0, s1 = 0, s2 = 0;
		int64_t t, us;
		bool have0 = bench_soa_serial(f.dns, FO_ZONE, &s0) == 0;

		/* Down: connects to 127.0.0.2 are refused from now on. */
		close(f.lst[1]);
		f.lst[1] = -1;
		t = bench_now_us();
		us = fo_wait(&f, false, t);
		if (us < 0)
			n_failed++;
		else
			down[n_down++] = (double)us / 1000.0;
		if (have0 && bench_soa_serial(f.dns, FO_ZONE, &s1) == 0) {
			incr[n_incr++] = (double)(uint32_t)(s1 - s0);
			all_grew = all_grew && s1 != s0 && (uint32_t)(s1 - s0) < 0x80000000u;
		}
		fo_idle(&f, bench_now_us() + random() % 1000001);

		if (fo_open(&f, 1) < 0)
			break;
		t = bench_now_us();
		us = fo_wait(&f, true, t);
		if (us < 0)
			n_failed++;
		else
			up[n_up++] = (double)us / 1000.0;
		if (bench_soa_serial(f.dns, FO_ZONE, &s2) == 0 && s1 != 0) {
			incr[n_incr++] = (double)(uint32_t)(s2 - s1);
			all_grew = all_grew && s2 != s1 && (uint32_t)(s2 - s1) < 0x80000000u;
		}
		fo_idle(&f, bench_now_us() + random() % 1000001);
	}

	printf("  %-22s %4s %9s %10s %9s\n", "change reaches DNS", "n", "min ms", "median ms",
	       "max ms");
	fo_print("127.0.0.2 withdrawn", down, n_down);
	fo_print("127.0.0.2 restored", up, n_up);
	printf("  goal: median < 1000 ms; max < interval + timeout + 100 ms = %d ms\n",
	       (FO_INTERVAL_S + FO_TIMEOUT_S) * 1000 + 100);
	bench_stats(incr, n_incr, &mn, &md, &mx);
	printf("  SOA serial increment per change: min %.0f, median %.0f, max %.0f over %zu "
	       "changes (%s)\n",
	       mn, md, mx, n_incr, all_grew ? "every change grew the serial" : "SOME DID NOT GROW");
	printf("  %u queries, %u without reply, %u answers missing 127.0.0.1, %zu changes not "
	       "seen within %d s\n",
	       f.queries, f.lost, f.no_one, n_failed, FO_GIVE_UP_US / 1000000);
	{
		double a, dmed, dmax, umed, umax;

		bench_stats(down, n_down, &a, &dmed, &dmax);
		bench_stats(up, n_up, &a, &umed, &umax);
		printf("RESULT failover down_median_ms=%.1f down_max_ms=%.1f up_median_ms=%.1f "
		       "up_max_ms=%.1f serial_incr_median=%.0f failed=%zu\n",
		       dmed, dmax, umed, umax, md, n_failed);
	}
	bench_server_stop(&s, false);
	for (int i = 0; i < 2; i++) {
		if (f.lst[i] >= 0)
			close(f.lst[i]);
	}
	close(f.dns);
	free(down);
	free(up);
	free(incr);
	return n_down + n_up == 0 ? 2 : 0;
}
