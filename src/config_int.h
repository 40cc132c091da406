/*
 * What the pieces of the configuration parser share (config.c: the
 * layers; config_value.c: typed values; config_zone.c: the zone, its
 * names and resolutions; config_options.c: every other option and the
 * order they are checked in; config_json.c: the serialization;
 * config_xfr.c and config_tsig.c: replication; config_rrl.c: rate
 * limiting; config_help.c: --help and the summary). Private to them: everyone else
 * uses config.h.
 */
#ifndef AHD_CONFIG_INT_H
#define AHD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "log.h" /* log_startup_error: every refusal is one line on stderr */

/*
 * Every value is first collected, as a json-c object, from three layers
 * (command line, environment, --config file), the layers are merged by
 * precedence, and only then is the merged set validated in one fixed
 * order. Holding every raw value as JSON lets one validator accept both
 * "8080" from a shell and 8080 from a file, and both a JSON string that
 * holds JSON (the original's way) and native JSON in the file.
 */

enum config_flag_id {
	FL_HOSTED_ZONE,
	FL_ZONE_RESOLUTIONS,
	FL_NS,
	FL_ALIAS_ZONES,
	FL_PORT,
	FL_LOG_LEVEL,
	FL_TEST_MIN_INTERVAL,
	FL_TEST_TIMEOUT,
	FL_PRIV_KEY_PATH,
	FL_PRIV_KEY_ALG,
	FL_KEY_PROPAGATION_DELAY,
	FL_CDS,
	FL_LISTEN,
	FL_WORKERS,
	FL_USER,
	FL_SHM_NAME,
	FL_TCP_MAX_CONNS,
	FL_TCP_IDLE_TIMEOUT,
	FL_TCP_IO_TIMEOUT,
	FL_TCP_MAX_CONNS_PER_CLIENT,
	FL_CPU_AFFINITY,
	FL_UDP_PAUSE,
	FL_EDNS_SIZE,
	FL_NSID,
	FL_COOKIE_SECRET,
	FL_RRSIG_LIFETIME,
	FL_RRSIG_REFRESH,
	FL_STATE_DIR,
	FL_CONTROL_SOCKET,
	FL_TRANSFER_ALLOW,
	FL_NOTIFY,
	FL_TSIG_KEY,
	FL_IXFR_HISTORY,
	FL_RRL_RATE,
	FL_RRL_SLIP,
	FL_RRL_WINDOW,
	FL_RRL_IPV4_PREFIX,
	FL_RRL_IPV6_PREFIX,
	FL_RRL_LOG_ONLY,
	FL_METRICS_LISTEN,
	FL_XDP,
	FL_XDP_MODE,
	FL_CONFIG,
	FL_CHECK_CONFIG,
	FL_VERSION,
	FL_HELP,
	FL_COUNT
};

enum config_kind {
	CONFIG_KIND_VALUE,  /* takes a value; last one wins */
	CONFIG_KIND_LIST,   /* takes a value; repeats accumulate */
	CONFIG_KIND_SWITCH, /* no value on the command line */
	CONFIG_KIND_ACTION, /* --help, --version: command line only */
};

struct config_flag {
	const char *name;
	enum config_kind kind;
	bool in_file; /* may appear as a key of the --config file */
};

enum config_src {
	CONFIG_SRC_NONE = 0,
	CONFIG_SRC_CLI,
	CONFIG_SRC_ENV,
	CONFIG_SRC_FILE,
	CONFIG_SRC_JSON, /* config_from_json: the supervisor's serialization */
};

/* One source's values; each non-NULL entry is a reference we own. */
struct config_layer {
	struct json_object *v[FL_COUNT];
};

/* The merged view; references borrowed from the layers. */
struct config_raw {
	struct json_object *v[FL_COUNT];
	enum config_src src[FL_COUNT];
	const char *file; /* the --config path, for labels */
	/* false for config_from_json: the child that reads the serialization
	 * may already be unprivileged, so the key file and the account (which
	 * the supervisor checked) are not looked at again. */
	bool check_system;
};

#define CONFIG_ENV_PREFIX "AHDNS_"
#define CONFIG_LABEL_MAX 320
#define CONFIG_SHOW_MAX 160
/* Far above any real zone (10,000 names is a few hundred KiB) but small
 * enough that a wrong path (a disk image) fails fast. */
#define CONFIG_FILE_MAX (64u << 20)
#define CONFIG_HTTP_PATH_MAX 1024
#define CONFIG_SHM_NAME_MAX 200
#define CONFIG_WORKERS_MAX 256

extern const struct config_flag config_flags[FL_COUNT];


/* config.c */
int log_startup_error(const char *fmt, ...);
const char *config_quote(const char *s, char *buf, size_t n);
const char *config_show(struct json_object *v, char *buf, size_t n);
void config_env_name(int id, char *buf, size_t n);
void config_label(const struct config_raw *raw, int id, char *buf, size_t n);
struct json_object *config_json_parse(const char *text, size_t len, char *err,
				     size_t errlen);

/* config_value.c */
int config_json_str(struct json_object *v, const char **out);
int config_json_uint(struct json_object *v, bool allow_string, uint64_t min, uint64_t max,
		    uint64_t *out);
int config_json_bool(struct json_object *v, bool *out);

/* config_zone.c: one "http_status" string, "503" or "200-299" (100-999,
 * lo <= hi). 0, or -1 if it is not one. */
int config_status_range(const char *s, struct config_status_range *out);
char *config_strdup_lower(const char *s);
int config_oom(void);
int config_parse_addr(const char *s, int *family, uint8_t addr[16]);
const char *config_addr_text(int family, const uint8_t addr[16], char *buf, size_t n);
int config_flag_str(const struct config_raw *raw, int id, const char **out);
int config_flag_uint_or(const struct config_raw *raw, int id, unsigned min,
		       unsigned max, const char *rule, unsigned dflt, unsigned *out);
int config_flag_json(const struct config_raw *raw, int id, struct json_object **out);
int config_required(const struct config_raw *raw, int id);
int config_flag_array(const struct config_raw *raw, int id, const char *what,
		     struct json_object **out);
/* config_xfr.c: --metrics-listen ADDR:PORT. */
int config_metrics_listen(struct config *cfg, const struct config_raw *raw);
int config_unhex(const char *s, uint8_t *out, size_t cap, size_t *len);
void config_hex(const uint8_t *in, size_t n, char *out);
int config_flag_duration(const struct config_raw *raw, int id, uint32_t min,
			uint32_t max, uint32_t *out);

/* config_zone.c */
int config_hosted_zone(struct config *cfg, const struct config_raw *raw);
int config_alias_zones(struct config *cfg, const struct config_raw *raw);
int config_ns(struct config *cfg, const struct config_raw *raw);
int config_entries(struct config *cfg, const struct config_raw *raw);

/* config_options.c */
int config_build(struct config *cfg, const struct config_raw *raw);

/* config_xfr.c: --transfer-allow, --notify, --ixfr-history and (through
 * config_tsig_key) --tsig-key. */
int config_xfr(struct config *cfg, const struct config_raw *raw);
const char *config_prefix_text(const struct config_prefix *p, char *buf, size_t n);

/* config_tsig.c: --tsig-key. The serialization carries the key itself
 * (config_tsig_json), since a child must not read the file again. */
int config_tsig_key(struct config *cfg, const struct config_raw *raw);
struct json_object *config_tsig_json(const struct config *cfg);

/* config_rrl.c: the --rrl-* options (DESIGN §10), their serialization
 * and their line of the --check-config summary. */
int config_rrl(struct config *cfg, const struct config_raw *raw);
void config_rrl_json(const struct config *cfg, struct json_object *o, bool *oom);
void config_rrl_print(const struct config *cfg, FILE *out);

/* config_keys.c: every --priv-key-path and its key-state file,
 * --key-propagation-delay, --cds (DESIGN §13). */
int config_keys(struct config *cfg, const struct config_raw *raw);
struct json_object *config_keys_json(const struct config *cfg);

/* config_help.c */
void config_cpu_text(const cpu_set_t *set, char *buf, size_t n);

#endif
