/*
 * Response rate limiting options (DESIGN §10): --rrl-rate, --rrl-slip,
 * --rrl-window, --rrl-ipv4-prefix, --rrl-ipv6-prefix, --rrl-log-only.
 * Off by default on the command line, as the original behaves; the
 * packaged example configuration turns it on.
 */
#include "config.h"
#include "config_int.h"

#include <json-c/json.h>

_Static_assert(CONFIG_RRL_RATE_MAX == 1000000u, "the --rrl-rate message says 0-1000000");
_Static_assert(CONFIG_RRL_SLIP_MAX == 10u, "the --rrl-slip message says 0-10");
_Static_assert(CONFIG_RRL_WINDOW_MAX == 3600u, "the --rrl-window message says 1-3600");

static int config_rrl_log_only(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];

	cfg->rrl_log_only = false;
	if (raw->v[FL_RRL_LOG_ONLY] == NULL)
		return 0;
	if (config_json_bool(raw->v[FL_RRL_LOG_ONLY], &cfg->rrl_log_only) == 0)
		return 0;
	config_label(raw, FL_RRL_LOG_ONLY, lab, sizeof(lab));
	return log_startup_error("%s: '%s' is not a boolean (1, true, yes, on or 0, false, no, off)",
				 lab, config_show(raw->v[FL_RRL_LOG_ONLY], val, sizeof(val)));
}

int config_rrl(struct config *cfg, const struct config_raw *raw)
{
	if (config_flag_uint_or(raw, FL_RRL_RATE, 0, CONFIG_RRL_RATE_MAX,
				"a valid rate (an integer 0-1000000, responses per second; "
				"0: off)",
				0, &cfg->rrl_rate) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_RRL_SLIP, 0, CONFIG_RRL_SLIP_MAX,
				"a valid slip (an integer 0-10; 0: drop every limited "
				"response)",
				CONFIG_DEFAULT_RRL_SLIP, &cfg->rrl_slip) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_RRL_WINDOW, 1, CONFIG_RRL_WINDOW_MAX,
				"a valid window (an integer 1-3600, in seconds)",
				CONFIG_DEFAULT_RRL_WINDOW, &cfg->rrl_window) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_RRL_IPV4_PREFIX, 0, 32,
				"a valid prefix length (an integer 0-32)",
				CONFIG_DEFAULT_RRL_IPV4_PREFIX, &cfg->rrl_ipv4_prefix) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_RRL_IPV6_PREFIX, 0, 128,
				"a valid prefix length (an integer 0-128)",
				CONFIG_DEFAULT_RRL_IPV6_PREFIX, &cfg->rrl_ipv6_prefix) < 0)
		return -1;
	return config_rrl_log_only(cfg, raw);
}

/*
 * The serialization. A struct built by hand (tests, tools) has window 0,
 * which the parser refuses: then only the rate and the switch travel and
 * the child takes the defaults for the rest.
 */
void config_rrl_json(const struct config *cfg, struct json_object *o, bool *oom)
{
	struct json_object *v[6] = {NULL};
	static const char *const keys[6] = {"rrl-rate",	       "rrl-log-only",
					    "rrl-slip",	       "rrl-window",
					    "rrl-ipv4-prefix", "rrl-ipv6-prefix"};
	size_t n = 2;

	v[0] = json_object_new_int64(cfg->rrl_rate);
	v[1] = json_object_new_boolean(cfg->rrl_log_only);
	if (cfg->rrl_window != 0) {
		v[2] = json_object_new_int64(cfg->rrl_slip);
		v[3] = json_object_new_int64(cfg->rrl_window);
		v[4] = json_object_new_int64(cfg->rrl_ipv4_prefix);
		v[5] = json_object_new_int64(cfg->rrl_ipv6_prefix);
		n = 6;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL || o == NULL || json_object_object_add(o, keys[i], v[i]) < 0) {
			json_object_put(v[i]);
			*oom = true;
		}
	}
}

/* One line of the --check-config summary. */
void config_rrl_print(const struct config *cfg, FILE *out)
{
	if (cfg->rrl_rate == 0) {
		fprintf(out, "rrl: off\n");
		return;
	}
	fprintf(out,
		"rrl: %u responses/s per bucket, slip %u, window %u s, prefixes /%u /%u%s\n",
		cfg->rrl_rate, cfg->rrl_slip, cfg->rrl_window, cfg->rrl_ipv4_prefix,
		cfg->rrl_ipv6_prefix, cfg->rrl_log_only ? ", log only" : "");
}
