/*
 * Cost under change (bench-peers): publish a new zone image into a
 * RUNNING server's shm object RATE times a second, so that dnsperf can
 * measure the query path while images keep changing under it.
 *
 * Usage (as root, for the read-write mapping):
 *   republish SECONDS RATE -- a-healthy-dns SERVER_FLAGS...
 * SERVER_FLAGS are the flags the server was started with: config_parse
 * builds the same configuration from them, so the image has the same
 * size and content (only the serial moves) and the object's name is the
 * server's (--shm-name, or its default for --port). SECONDS 0 runs until
 * SIGTERM or SIGINT.
 *
 * One writer only: the seqlock (seqlock.h) assumes a single writer per
 * image. In the server that writer is the prober, and with a static zone
 * (list-form --zone-resolutions, no health checks) and no key it
 * publishes once at start-up and never again, so while this tool runs it
 * is the only writer. It waits for the prober's publish to be done (the
 * generation counter stops moving) before its first publish, and checks
 * at the end that the generation moved by exactly its own count: a
 * mismatch means another writer was active and the run is void (exit 1).
 * A signed server (--priv-key-path) is republished signed, with its own
 * signer; its prober would re-sign only after days (--rrsig-refresh).
 *
 * Prints one line at the end:
 *   publishes N serial A..B generation G0..G1 publish_us avg X max Y cpu_ms Z
 * (cpu_ms: this process's user+system time: the publishing work).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ahd.h"
#include "config.h"
#include "dnssec.h"
#include "log.h"
#include "zimg.h"
#include "zsign.h"

#define REPUBLISH_SETTLE_NS 200000000LL /* generation still for this long */
#define REPUBLISH_SETTLE_TRIES 50

static volatile sig_atomic_t republish_stop;

static void republish_on_signal(int sig)
{
	(void)sig;
	republish_stop = 1;
}

static int64_t republish_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep until the monotonic deadline; a signal ends it early. */
static void republish_sleep_until(int64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / 1000000000),
		.tv_nsec = (long)(deadline % 1000000000),
	};

	(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* The prober publishes once after start-up; publishing at the same time
 * would make two writers. Wait until the generation holds still. */
static int republish_settle(const struct zimg *z)
{
	uint64_t g = zimg_generation(z);

	for (int i = 0; i < REPUBLISH_SETTLE_TRIES && !republish_stop; i++) {
		uint64_t now;

		republish_sleep_until(republish_mono_ns() + REPUBLISH_SETTLE_NS);
		now = zimg_generation(z);
		if (now == g)
			return 0;
		g = now;
	}
	return -1;
}

static struct zimg *republish_map(const char *shm_name)
{
	int fd = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0);
	struct zimg *z;

	if (fd < 0) {
		fprintf(stderr, "republish: shm_open %s: %s (is the server running, are we root?)\n",
			shm_name, strerror(errno));
		return NULL;
	}
	z = zimg_map(fd, true);
	close(fd); /* the mapping stays */
	return z;
}

int main(int argc, char **argv)
{
	struct config cfg;
	enum config_action action;
	struct dnssec_key *key = NULL;
	struct zimg_signer *signer = NULL;
	struct zimg *z;
	struct sigaction sa;
	struct rusage ru;
	char *env[] = { NULL };
	char *end;
	unsigned long secs, rate;
	uint64_t n = 0, gen0, gen1;
	uint32_t serial0, serial1 = 0;
	int64_t period, next, stop_at, sum_ns = 0, max_ns = 0;
	int rc = 0;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: republish SECONDS RATE -- a-healthy-dns SERVER_FLAGS...\n");
		return 2;
	}
	secs = strtoul(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || secs > 86400) {
		fprintf(stderr, "republish: SECONDS '%s' is not 0..86400\n", argv[1]);
		return 2;
	}
	rate = strtoul(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || rate < 1 || rate > 1000) {
		fprintf(stderr, "republish: RATE '%s' is not 1..1000 per second\n", argv[2]);
		return 2;
	}
	log_init("republish", AHD_LOG_WARNING);
	memset(&cfg, 0, sizeof(cfg));
	if (config_parse(&cfg, argc - 4, argv + 4, env, &action) < 0 || action != CONFIG_RUN)
		return 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = republish_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	z = republish_map(cfg.shm_name);
	if (z == NULL) {
		config_free(&cfg);
		return 1;
	}
	if (cfg.priv_key_path != NULL) {
		key = dnssec_key_load(cfg.priv_key_path, cfg.priv_key_alg);
		signer = key != NULL ? zimg_signer_new(key) : NULL;
		if (signer == NULL) {
			rc = 1;
			goto out;
		}
	}
	if (republish_settle(z) < 0) {
		fprintf(stderr, "republish: %s: the image keeps changing: another writer is active\n",
			cfg.shm_name);
		rc = 1;
		goto out;
	}
	gen0 = zimg_generation(z);
	serial0 = zimg_serial(z);

	period = 1000000000LL / (int64_t)rate;
	next = republish_mono_ns();
	stop_at = secs > 0 ? next + (int64_t)secs * 1000000000 : INT64_MAX;
	while (!republish_stop && next < stop_at) {
		int64_t t0 = republish_mono_ns(), took;

		if (zimg_publish_signed(z, &cfg, NULL, signer, time(NULL), &serial1) < 0) {
			rc = 1;
			break;
		}
		took = republish_mono_ns() - t0;
		sum_ns += took;
		if (took > max_ns)
			max_ns = took;
		n++;
		/* Fixed deadlines: a slow publish does not lower the rate. */
		next += period;
		republish_sleep_until(next);
	}
	gen1 = zimg_generation(z);
	getrusage(RUSAGE_SELF, &ru);
	printf("publishes %llu serial %u..%u generation %llu..%llu publish_us avg %.0f max %.0f "
	       "cpu_ms %.0f\n",
	       (unsigned long long)n, serial0, n > 0 ? serial1 : serial0,
	       (unsigned long long)gen0, (unsigned long long)gen1,
	       n > 0 ? (double)sum_ns / (double)n / 1e3 : 0, (double)max_ns / 1e3,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	if (gen1 - gen0 != n) {
		fprintf(stderr, "republish: the generation moved by %llu for %llu publishes: "
			"another writer was active, the run is void\n",
			(unsigned long long)(gen1 - gen0), (unsigned long long)n);
		rc = 1;
	}
out:
	zimg_signer_free(signer);
	dnssec_key_free(key);
	zimg_close(z);
	config_free(&cfg);
	return rc;
}
