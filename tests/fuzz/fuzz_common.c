/*
 * What the fuzz targets share: the fixture zone, failing loudly, quiet
 * stderr. See fuzz.h.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sanitizer/common_interface_defs.h>

#include "dnssec.h"
#include "health.h"
#include "zsign.h"


/* Where fuzz_fail() and sanitizer reports go once stderr is silenced. */
static int fuzz_report_fd = 2;

/*
 * Built from JSON so the fixture goes through the same validation as a
 * real configuration. Flat address indices (fuzz_fixture_published):
 * www 0-2, api.v1 3-5, leaf.deep.parent 6, web 7-8, down 9, failopen
 * 10-11, many 12-51, v6only 52, ttl 53, x.down 54.
 */
static const char fuzz_fixture_json[] =
	"{\"hosted-zone\": \"example.com\","
	" \"alias-zones\": [\"example.net\"],"
	" \"ns\": [\"ns1.example.com\", \"ns2.example.org\"],"
	" \"user\": \"nobody\", \"workers\": 1,"
	" \"zone-resolutions\": {"
	"  \"www\": [\"192.0.2.1\", \"192.0.2.2\", \"2001:db8::1\"],"
	"  \"api.v1\": {\"ips\": [\"192.0.2.10\", \"192.0.2.11\", \"2001:db8::10\"],"
	"              \"health_port\": 8080},"
	"  \"leaf.deep.parent\": [\"192.0.2.20\"],"
	"  \"web\": {\"ips\": [\"192.0.2.30\", \"192.0.2.31\"], \"health_port\": 80,"
	"           \"check\": \"http\", \"http_path\": \"/health\", \"rise\": 2, \"fall\": 3},"
	"  \"down\": {\"ips\": [\"192.0.2.40\"], \"health_port\": 80},"
	"  \"failopen\": {\"ips\": [\"192.0.2.50\", \"2001:db8::50\"], \"health_port\": 80,"
	"                \"all_down\": \"serve_all\"},"
	"  \"many\": [\"10.0.0.1\", \"10.0.0.2\", \"10.0.0.3\", \"10.0.0.4\", \"10.0.0.5\","
	"            \"10.0.0.6\", \"10.0.0.7\", \"10.0.0.8\", \"10.0.0.9\", \"10.0.0.10\","
	"            \"10.0.0.11\", \"10.0.0.12\", \"10.0.0.13\", \"10.0.0.14\", \"10.0.0.15\","
	"            \"10.0.0.16\", \"10.0.0.17\", \"10.0.0.18\", \"10.0.0.19\", \"10.0.0.20\","
	"            \"10.0.0.21\", \"10.0.0.22\", \"10.0.0.23\", \"10.0.0.24\", \"10.0.0.25\","
	"            \"10.0.0.26\", \"10.0.0.27\", \"10.0.0.28\", \"10.0.0.29\", \"10.0.0.30\","
	"            \"10.0.0.31\", \"10.0.0.32\", \"10.0.0.33\", \"10.0.0.34\", \"10.0.0.35\","
	"            \"10.0.0.36\", \"10.0.0.37\", \"10.0.0.38\", \"10.0.0.39\", \"10.0.0.40\"],"
	"  \"v6only\": [\"2001:db8::6\"],"
	"  \"ttl\": {\"ips\": [\"192.0.2.60\"], \"health_port\": 80, \"ttl\": 5},"
	"  \"x.down\": [\"192.0.2.70\"]"
	" }}";

_Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
	/* (dprintf): ldns/util.h defines a macro of that name. */
	(dprintf)(fuzz_report_fd, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
	abort();
}

void fuzz_quiet_stderr(void)
{
#ifndef FUZZ_LIBFUZZER
	int keep = dup(2);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (keep < 0 || null < 0 || dup2(null, 2) < 0) {
		perror("fuzz: silencing stderr");
		abort();
	}
	close(null);
	fuzz_report_fd = keep;
	__sanitizer_set_report_fd((void *)(intptr_t)keep);
#endif
}

int fuzz_fixture_config(struct config *cfg)
{
	return config_from_json(cfg, fuzz_fixture_json);
}

bool *fuzz_fixture_published(const struct config *cfg)
{
	bool *up = calloc(cfg->n_addrs_total + 1, sizeof(*up));

	if (!up)
		return NULL;
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		/* Two names with nothing up: one withdraws, one fails open. */
		bool none = strcmp(e->name, "down") == 0 || strcmp(e->name, "failopen") == 0;

		for (size_t j = 0; j < e->n_addrs; j++) {
			size_t k = health_index(cfg, i, j);

			up[k] = !none && k % 2 == 0;
		}
	}
	return up;
}

struct zimg *fuzz_fixture_image(const struct config *cfg)
{
	bool *up = fuzz_fixture_published(cfg);
	struct zimg *z = up ? zimg_new_mem(cfg) : NULL;

	/* The first publish fills slot 1, the second slot 0: the active slot
	 * then lies at the start of the image (fuzz_zimg.c trims the rest). */
	if (!z || zimg_publish(z, cfg, NULL, NULL) < 0 || zimg_publish(z, cfg, up, NULL) < 0) {
		zimg_close(z);
		z = NULL;
	}
	free(up);
	return z;
}

/* PEM of a new P-256 key, as the prober gets it from the supervisor. */
static struct dnssec_key *fuzz_fixture_key(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	struct dnssec_key *key = NULL;
	char *pem;
	long len;

	if (pk && bio && PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &pem)) > 0)
		key = dnssec_key_load_mem(pem, (size_t)len, "fuzz-key", CONFIG_ALG_ECDSAP256SHA256);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return key;
}

struct zimg *fuzz_fixture_signed_image(struct config *cfg, uint16_t *key_tag)
{
	struct dnssec_key *key;
	struct zimg_signer *signer = NULL;
	struct zimg *z = NULL;
	bool *up;

	if (!cfg->priv_key_path && !(cfg->priv_key_path = strdup("fuzz-key")))
		return NULL;
	cfg->priv_key_alg = CONFIG_ALG_ECDSAP256SHA256;
	key = fuzz_fixture_key();
	up = key ? fuzz_fixture_published(cfg) : NULL;
	if (up && (signer = zimg_signer_new(key)) != NULL && (z = zimg_new_mem(cfg)) != NULL &&
	    (zimg_publish_signed(z, cfg, NULL, signer, FUZZ_SIGN_NOW, NULL) < 0 ||
	     zimg_publish_signed(z, cfg, up, signer, FUZZ_SIGN_NOW, NULL) < 0)) {
		zimg_close(z);
		z = NULL;
	}
	if (z && key_tag)
		*key_tag = dnssec_key_tag(key);
	zimg_signer_free(signer);
	dnssec_key_free(key);
	free(up);
	return z;
}
