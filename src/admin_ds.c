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

/* The DS of every zone we serve (the hosted zone, then each alias) for
 * every KSK and CSK (DESIGN §13; a ZSK has none), one line each, as the
 * parent zone publishes it. */
static int admin_ds_print(const struct config *cfg, struct dnssec_key *const *keys, FILE *out)
{
	struct config_ttls t;
	char line[1024];

	config_ttls(cfg, &t);
	for (size_t i = 0; i <= cfg->n_alias_zones; i++) {
		const char *apex = i == 0 ? cfg->hosted_zone : cfg->alias_zones[i - 1];

		for (size_t k = 0; k < cfg->n_keys; k++) {
			if (cfg->keys[k].spec.role == KEYROLL_ZSK)
				continue;
			/* The parent chooses the DS TTL; ours is the DNSKEY's. */
			if (dnssec_ds_text(keys[k], apex, t.dnskey, line, sizeof(line)) < 0)
				return log_startup_error("ds: cannot make the DS of %s", apex);
			fprintf(out, "%s\n", line);
		}
	}
	return 0;
}

/* a-healthy-dns ds [server flags]: the same flags, environment and
 * config file as the server, which it does not start. */
int admin_ds_main(int argc, char **argv)
{
	enum config_action action = CONFIG_RUN;
	struct dnssec_key *keys[KEYROLL_MAX] = { NULL };
	struct config cfg;
	int rc = 0;

	memset(&cfg, 0, sizeof(cfg));
	/* argv[1] ("ds") plays the program name for config_parse. */
	if (config_parse(&cfg, argc - 1, argv + 1, environ, &action) < 0)
		return 1;
	if (action == CONFIG_EXIT_OK) {
		config_free(&cfg);
		return 0;
	}
	if (cfg.n_keys == 0) {
		config_free(&cfg);
		log_startup_error("ds: --priv-key-path is required (no key, no DS record)");
		return 1;
	}
	for (size_t k = 0; k < cfg.n_keys && rc == 0; k++) {
		keys[k] = dnssec_key_load(cfg.keys[k].path, cfg.keys[k].alg);
		rc = keys[k] != NULL ? 0 : -1;
	}
	if (rc == 0)
		rc = admin_ds_print(&cfg, keys, stdout);
	for (size_t k = 0; k < cfg.n_keys; k++)
		dnssec_key_free(keys[k]);
	config_free(&cfg);
	if (rc == 0 && fflush(stdout) != 0)
		rc = log_startup_error("ds: writing the output: %s", strerror(errno));
	return rc < 0 ? 1 : 0;
}
