/*
 * The cost of one health change in a signed zone next to the cost of
 * signing the whole zone (DESIGN §7: "one backend changing state costs
 * milliseconds, not a full re-sign").
 *
 * A zone of N health-checked names (default 10,000), two IPv4 addresses
 * each, signed with a key made now by `openssl genpkey`, built into an
 * image in plain memory exactly as the prober publishes it. Printed per
 * algorithm (ECDSAP256SHA256, RSASHA256 2048-bit):
 *   full sign          a cold signer: every RRset signed
 *   one health change  one address down, its name keeps the other one:
 *                      the name's A RRset + the SOA
 *   name withdrawn     the name's last address down: the SOA + the
 *                      predecessor's NSEC
 *   name back          its A, its NSEC, the predecessor's NSEC, the SOA
 *   nothing changed    a re-publish (the SOA only)
 *   unsigned build     the same image without DNSSEC, for scale
 *
 * usage: bench_sign [-n names] [-a alias_zones] [-d dump_file]
 *   -d writes the signed ECDSA zone (after the changes) for
 *   ldns-verify-zone / dnssec-verify.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "dnssec.h"
#include "zimg.h"
#include "zsign.h"

struct bench {
	struct config cfg;
	bool *pub;
	struct zimg *z;
	struct zimg_signer *s;
	time_t now;
};

static double bench_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static int bench_config(struct config *cfg, size_t n, size_t n_alias)
{
	static char *ns[] = {"ns1.example.com", "ns2.example.com"};
	struct config_entry *e = calloc(n, sizeof(*e));
	struct config_addr *a = calloc(2 * n, sizeof(*a));
	char **alias = calloc(n_alias + 1, sizeof(*alias));

	if (!e || !a || !alias)
		return -1;
	memset(cfg, 0, sizeof(*cfg));
	cfg->hosted_zone = "example.com";
	for (size_t i = 0; i < n_alias; i++) {
		alias[i] = malloc(48);
		if (!alias[i])
			return -1;
		snprintf(alias[i], 48, "alias%zu.example", i);
	}
	cfg->alias_zones = alias;
	cfg->n_alias_zones = n_alias;
	cfg->ns = ns;
	cfg->n_ns = 2;
	cfg->test_min_interval = 30;
	cfg->test_timeout = 2;
	cfg->entries = e;
	cfg->n_entries = n;
	cfg->n_addrs_total = 2 * n;
	cfg->priv_key_path = "bench";
	for (size_t i = 0; i < n; i++) {
		e[i].name = malloc(32);
		if (!e[i].name)
			return -1;
		snprintf(e[i].name, 32, "host%05zu", i);
		e[i].addrs = &a[2 * i];
		e[i].n_addrs = 2;
		e[i].first_addr = 2 * i;
		e[i].check = CONFIG_CHECK_TCP;
		e[i].health_port = 80;
		e[i].ttl = -1;
		e[i].rise = e[i].fall = 1;
		for (int j = 0; j < 2; j++) {
			uint32_t v = htonl(0x0a000000u + (uint32_t)(2 * i + (size_t)j));

			a[2 * i + (size_t)j].family = AF_INET;
			memcpy(a[2 * i + (size_t)j].addr, &v, 4);
		}
	}
	return 0;
}

/* One publish; prints a line; returns the signatures it made or -1. */
static long bench_publish(struct bench *b, const char *what, bool sign)
{
	struct timespec t0, t1;
	struct zimg_signer_stats st = {0};
	int rc;

	b->now += 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = zimg_publish_signed(b->z, &b->cfg, b->pub, sign ? b->s : NULL, b->now, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0) {
		fprintf(stderr, "bench_sign: publish failed (%s)\n", what);
		return -1;
	}
	if (sign)
		zimg_signer_stats(b->s, &st);
	printf("  %-20s %8llu signatures %10.1f ms\n", what, (unsigned long long)st.last_made,
	       bench_ms(&t0, &t1));
	return (long)st.last_made;
}

static int bench_alg(const char *label, const char *genpkey, enum config_alg alg, size_t n,
		     size_t n_alias, const char *dump)
{
	char dir[] = "/tmp/ahd-bench-sign-XXXXXX", path[128], cmd[512];
	struct dnssec_key *key;
	struct bench b;
	long full, one;
	int rc = -1;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl genpkey %s -out '%s' 2>/dev/null", genpkey, path);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_sign: openssl genpkey %s failed\n", genpkey);
		return -1;
	}
	key = dnssec_key_load(path, alg);
	unlink(path);
	rmdir(dir);
	if (!key)
		return -1;
	memset(&b, 0, sizeof(b));
	if (bench_config(&b.cfg, n, n_alias) < 0)
		return -1;
	b.cfg.priv_key_alg = alg;
	b.pub = malloc(2 * n * sizeof(*b.pub));
	b.z = zimg_new_mem(&b.cfg);
	b.s = zimg_signer_new(key);
	if (!b.pub || !b.z || !b.s)
		return -1;
	for (size_t i = 0; i < 2 * n; i++)
		b.pub[i] = true;
	b.now = time(NULL);
	printf("zone of %zu names (+%zu alias zones), %s:\n", n, n_alias, label);
	full = bench_publish(&b, "full sign", true);
	/* a name in the middle of the chain */
	b.pub[n] = false;
	one = bench_publish(&b, "one health change", true);
	b.pub[n + 1] = false;
	if (full < 0 || one < 0 || bench_publish(&b, "name withdrawn", true) < 0)
		goto out;
	b.pub[n] = b.pub[n + 1] = true;
	if (bench_publish(&b, "name back", true) < 0 ||
	    bench_publish(&b, "nothing changed", true) < 0 ||
	    bench_publish(&b, "unsigned build", false) < 0)
		goto out;
	if (one > 0)
		printf("  full sign / one health change: %ld / %ld signatures = %.0fx\n", full, one,
		       (double)full / (double)one);
	if (dump) {
		FILE *f = fopen(dump, "w");

		/* the unsigned build above is the active image: sign again */
		if (!f || bench_publish(&b, "re-publish for dump", true) < 0 ||
		    admin_dump_zone(b.z, 0, f) < 0) {
			fprintf(stderr, "bench_sign: cannot dump to %s\n", dump);
			if (f)
				fclose(f);
			goto out;
		}
		fclose(f);
		printf("  zone written to %s\n", dump);
	}
	rc = 0;
out:
	zimg_close(b.z);
	zimg_signer_free(b.s);
	dnssec_key_free(key);
	/* the config is the bench's own; the process ends soon */
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = 10000, n_alias = 0;
	const char *dump = NULL;
	int c;

	while ((c = getopt(argc, argv, "n:a:d:")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'a':
			n_alias = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			dump = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_sign [-n names] [-a alias_zones] [-d file]\n");
			return 2;
		}
	}
	if (n < 2 || n > 1000000) {
		fprintf(stderr, "bench_sign: -n must be 2..1000000\n");
		return 2;
	}
	log_init("bench", AHD_LOG_WARNING);
	if (bench_alg("ECDSAP256SHA256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
		      CONFIG_ALG_ECDSAP256SHA256, n, n_alias, dump) < 0 ||
	    bench_alg("RSASHA256 (2048 bits)", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
		      CONFIG_ALG_RSASHA256, n, n_alias, NULL) < 0)
		return 1;
	return 0;
}
