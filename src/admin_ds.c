/*
 * a-healthy-dns ds: the DS records the parent zones publish for the key
 * (RFC 4509 SHA-256 digest), computed from the same flags, environment
 * and config file as the server, which it does not start.
 */
#include "admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dnssec.h"
#include "log.h"

/* The DS of every zone we serve (the hosted zone, then each alias),
 * one line each, as the parent zone publishes it. */
static int admin_ds_print(const struct config *cfg, const struct dnssec_key *key, FILE *out)
{
	struct config_ttls t;
	char line[1024];

	config_ttls(cfg, &t);
	for (size_t i = 0; i <= cfg->n_alias_zones; i++) {
		const char *apex = i == 0 ? cfg->hosted_zone : cfg->alias_zones[i - 1];

		/* The parent chooses the DS TTL; ours is the DNSKEY's. */
		if (dnssec_ds_text(key, apex, t.dnskey, line, sizeof(line)) < 0)
			return log_startup_error("ds: cannot make the DS of %s", apex);
		fprintf(out, "%s\n", line);
	}
	return 0;
}

/* a-healthy-dns ds [server flags]: the same flags, environment and
 * config file as the server, which it does not start. */
int admin_ds_main(int argc, char **argv)
{
	enum config_action action = CONFIG_RUN;
	struct dnssec_key *key;
	struct config cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	/* argv[1] ("ds") plays the program name for config_parse. */
	if (config_parse(&cfg, argc - 1, argv + 1, environ, &action) < 0)
		return 1;
	if (action == CONFIG_EXIT_OK) {
		config_free(&cfg);
		return 0;
	}
	if (cfg.priv_key_path == NULL) {
		config_free(&cfg);
		log_startup_error("ds: --priv-key-path is required (no key, no DS record)");
		return 1;
	}
	key = dnssec_key_load(cfg.priv_key_path, cfg.priv_key_alg);
	if (key == NULL) {
		config_free(&cfg);
		return 1;
	}
	rc = admin_ds_print(&cfg, key, stdout);
	dnssec_key_free(key);
	config_free(&cfg);
	if (fflush(stdout) != 0)
		rc = log_startup_error("ds: writing the output: %s", strerror(errno));
	return rc < 0 ? 1 : 0;
}
