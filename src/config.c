#include "config.h"
#include "config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"
#include "file.h"

const struct config_flag config_flags[FL_COUNT] = {
	[FL_HOSTED_ZONE] = {"hosted-zone", CONFIG_KIND_VALUE, true},
	[FL_ZONE_RESOLUTIONS] = {"zone-resolutions", CONFIG_KIND_VALUE, true},
	[FL_NS] = {"ns", CONFIG_KIND_VALUE, true},
	[FL_ALIAS_ZONES] = {"alias-zones", CONFIG_KIND_VALUE, true},
	[FL_PORT] = {"port", CONFIG_KIND_VALUE, true},
	[FL_LOG_LEVEL] = {"log-level", CONFIG_KIND_VALUE, true},
	[FL_TEST_MIN_INTERVAL] = {"test-min-interval", CONFIG_KIND_VALUE, true},
	[FL_TEST_TIMEOUT] = {"test-timeout", CONFIG_KIND_VALUE, true},
	[FL_PRIV_KEY_PATH] = {"priv-key-path", CONFIG_KIND_LIST, true},
	[FL_PRIV_KEY_ALG] = {"priv-key-alg", CONFIG_KIND_VALUE, true},
	[FL_KEY_PROPAGATION_DELAY] = {"key-propagation-delay", CONFIG_KIND_VALUE, true},
	[FL_CDS] = {"cds", CONFIG_KIND_VALUE, true},
	[FL_LISTEN] = {"listen", CONFIG_KIND_LIST, true},
	[FL_WORKERS] = {"workers", CONFIG_KIND_VALUE, true},
	[FL_USER] = {"user", CONFIG_KIND_VALUE, true},
	[FL_SHM_NAME] = {"shm-name", CONFIG_KIND_VALUE, true},
	[FL_TCP_MAX_CONNS] = {"tcp-max-conns", CONFIG_KIND_VALUE, true},
	[FL_TCP_IDLE_TIMEOUT] = {"tcp-idle-timeout", CONFIG_KIND_VALUE, true},
	[FL_TCP_IO_TIMEOUT] = {"tcp-io-timeout", CONFIG_KIND_VALUE, true},
	[FL_TCP_MAX_CONNS_PER_CLIENT] = {"tcp-max-conns-per-client", CONFIG_KIND_VALUE, true},
	[FL_CPU_AFFINITY] = {"cpu-affinity", CONFIG_KIND_VALUE, true},
	[FL_UDP_PAUSE] = {"udp-pause", CONFIG_KIND_VALUE, true},
	[FL_EDNS_SIZE] = {"edns-size", CONFIG_KIND_VALUE, true},
	[FL_NSID] = {"nsid", CONFIG_KIND_VALUE, true},
	[FL_COOKIE_SECRET] = {"cookie-secret", CONFIG_KIND_VALUE, true},
	[FL_RRSIG_LIFETIME] = {"rrsig-lifetime", CONFIG_KIND_VALUE, true},
	[FL_RRSIG_REFRESH] = {"rrsig-refresh", CONFIG_KIND_VALUE, true},
	[FL_STATE_DIR] = {"state-dir", CONFIG_KIND_VALUE, true},
	[FL_CONTROL_SOCKET] = {"control-socket", CONFIG_KIND_VALUE, true},
	[FL_TRANSFER_ALLOW] = {"transfer-allow", CONFIG_KIND_VALUE, true},
	[FL_NOTIFY] = {"notify", CONFIG_KIND_VALUE, true},
	[FL_TSIG_KEY] = {"tsig-key", CONFIG_KIND_VALUE, true},
	[FL_IXFR_HISTORY] = {"ixfr-history", CONFIG_KIND_VALUE, true},
	[FL_RRL_RATE] = {"rrl-rate", CONFIG_KIND_VALUE, true},
	[FL_RRL_SLIP] = {"rrl-slip", CONFIG_KIND_VALUE, true},
	[FL_RRL_WINDOW] = {"rrl-window", CONFIG_KIND_VALUE, true},
	[FL_RRL_IPV4_PREFIX] = {"rrl-ipv4-prefix", CONFIG_KIND_VALUE, true},
	[FL_RRL_IPV6_PREFIX] = {"rrl-ipv6-prefix", CONFIG_KIND_VALUE, true},
	[FL_RRL_LOG_ONLY] = {"rrl-log-only", CONFIG_KIND_SWITCH, true},
	[FL_METRICS_LISTEN] = {"metrics-listen", CONFIG_KIND_VALUE, true},
	[FL_XDP] = {"xdp", CONFIG_KIND_VALUE, true},
	[FL_XDP_MODE] = {"xdp-mode", CONFIG_KIND_VALUE, true},
	/* A config file naming another config file is refused: one level of
	 * indirection is all an operator can keep in their head. */
	[FL_CONFIG] = {"config", CONFIG_KIND_VALUE, false},
	[FL_CHECK_CONFIG] = {"check-config", CONFIG_KIND_SWITCH, true},
	[FL_VERSION] = {"version", CONFIG_KIND_ACTION, false},
	[FL_HELP] = {"help", CONFIG_KIND_ACTION, false},
};

/* Makes an outside value safe to show inside one line: control and
 * non-ASCII bytes become \xNN, long values are cut with "...". */
const char *config_quote(const char *s, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[4];
		size_t k = 1;

		if (c < 0x20 || c >= 0x7f) {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[c >> 4];
			tmp[3] = hex[c & 15];
			k = 4;
		} else {
			tmp[0] = (char)c;
		}
		if (o + k + 4 > n) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o] = '\0';
	return buf;
}

const char *config_show(struct json_object *v, char *buf, size_t n)
{
	const char *s;

	if (v != NULL && json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	else
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	return config_quote(s != NULL ? s : "", buf, n);
}

void config_env_name(int id, char *buf, size_t n)
{
	size_t o = strlcpy(buf, CONFIG_ENV_PREFIX, n);

	for (const char *p = config_flags[id].name; *p != '\0' && o + 1 < n; p++)
		buf[o++] = *p == '-' ? '_' : (char)(*p - ('a' <= *p && *p <= 'z' ? 32 : 0));
	buf[o] = '\0';
}

void config_label(const struct config_raw *raw, int id, char *buf, size_t n)
{
	const char *name = config_flags[id].name;
	char extra[200];

	switch (raw->src[id]) {
	case CONFIG_SRC_ENV:
		config_env_name(id, extra, sizeof(extra));
		snprintf(buf, n, "--%s (from %s)", name, extra);
		break;
	case CONFIG_SRC_FILE:
		config_quote(raw->file != NULL ? raw->file : "", extra, sizeof(extra));
		snprintf(buf, n, "--%s (from %s)", name, extra);
		break;
	case CONFIG_SRC_JSON:
		snprintf(buf, n, "--%s (from the serialized configuration)", name);
		break;
	default:
		snprintf(buf, n, "--%s", name);
		break;
	}
}

static int config_flag_find(const char *name, size_t len)
{
	for (int id = 0; id < FL_COUNT; id++) {
		if (strlen(config_flags[id].name) == len &&
		    memcmp(config_flags[id].name, name, len) == 0)
			return id;
	}
	return -1;
}

static int config_env_find(const char *name, size_t len)
{
	char env[64];

	for (int id = 0; id < FL_COUNT; id++) {
		if (config_flags[id].kind == CONFIG_KIND_ACTION)
			continue;
		config_env_name(id, env, sizeof(env));
		if (strlen(env) == len && memcmp(env, name, len) == 0)
			return id;
	}
	return -1;
}

static void config_layer_free(struct config_layer *l)
{
	for (int id = 0; id < FL_COUNT; id++) {
		json_object_put(l->v[id]);
		l->v[id] = NULL;
	}
}

static void config_layer_set(struct config_layer *l, int id, struct json_object *v)
{
	json_object_put(l->v[id]);
	l->v[id] = v;
}

/*
 * Parses text[0..len) as exactly one JSON value. On failure writes
 * json-c's reason to err.
 */
struct json_object *config_json_parse(const char *text, size_t len, char *err,
					     size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t end;

	if (len > INT32_MAX - 1) {
		strlcpy(err, "too large", errlen);
		return NULL;
	}
	/* json-c keeps object keys as C strings, so "w\u0000x" would quietly
	 * become the key "w": refuse the escape before parsing. */
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && i + 5 < len && strncmp(text + i + 2, "0000", 4) == 0) {
			snprintf(err, errlen, "\\u0000 (a NUL character) is not allowed (at byte %zu)",
				 i);
			return NULL;
		}
		i++;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		strlcpy(err, "out of memory", errlen);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* Including the terminating NUL tells json-c the input ends there, so
	 * a bare top-level number is complete rather than "continue". */
	o = json_tokener_parse_ex(tok, text, (int)len + 1);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (o == NULL || e != json_tokener_success) {
		snprintf(err, errlen, "%s (at byte %zu)", json_tokener_error_desc(e), end);
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	for (size_t i = end; i < len; i++) {
		if (strchr(" \t\r\n", text[i]) == NULL || text[i] == '\0') {
			snprintf(err, errlen, "unexpected data after the JSON value (at byte %zu)", i);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* Returns 0 to go on, 1 when --help or --version was handled, -1. */
static int config_scan_argv(struct config_layer *cli, int argc, char **argv)
{
	char val[CONFIG_SHOW_MAX];
	char name[80];

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq;
		const char *value;
		size_t nlen;
		int id;

		if (strcmp(arg, "-h") == 0)
			arg = "--help";
		if (strcmp(arg, "--") == 0) {
			if (i + 1 < argc)
				return log_startup_error("unexpected argument '%s' (see --help)",
						   config_quote(argv[i + 1], val, sizeof(val)));
			break;
		}
		if (arg[0] != '-')
			return log_startup_error("unexpected argument '%s' (options start with --; see "
					   "--help)",
					   config_quote(arg, val, sizeof(val)));
		eq = strchr(arg, '=');
		nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		id = strncmp(arg, "--", 2) == 0 ? config_flag_find(arg + 2, nlen - 2) : -1;
		snprintf(name, sizeof(name), "%.*s", (int)(nlen < 64 ? nlen : 64), arg);
		if (id < 0)
			return log_startup_error("unknown option '%s' (see --help)",
					   config_quote(name, val, sizeof(val)));
		switch (config_flags[id].kind) {
		case CONFIG_KIND_ACTION:
			if (eq != NULL)
				return log_startup_error("%s takes no value", name);
			if (id == FL_HELP)
				config_print_help(stdout);
			else
				printf("%s %s\n", AHD_NAME, AHD_VERSION);
			fflush(stdout);
			return 1;
		case CONFIG_KIND_SWITCH:
			if (eq != NULL)
				return log_startup_error("%s takes no value", name);
			config_layer_set(cli, id, json_object_new_boolean(1));
			if (cli->v[id] == NULL)
				return config_oom();
			continue;
		default:
			break;
		}
		if (eq != NULL) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
				return log_startup_error("%s requires a value (see --help)", name);
			value = argv[++i];
		}
		if (config_flags[id].kind == CONFIG_KIND_LIST) {
			struct json_object *s;

			if (cli->v[id] == NULL) {
				cli->v[id] = json_object_new_array();
				if (cli->v[id] == NULL)
					return config_oom();
			}
			s = json_object_new_string(value);
			if (s == NULL || json_object_array_add(cli->v[id], s) < 0) {
				json_object_put(s);
				return config_oom();
			}
		} else {
			config_layer_set(cli, id, json_object_new_string(value));
			if (cli->v[id] == NULL)
				return config_oom();
		}
	}
	return 0;
}

/* Edit distance (insert, delete, substitute), for suggesting the known
 * variable an unknown one is closest to. Names are short (< 64). */
static size_t config_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[64];

	if (la >= AHD_ARRAY_LEN(row) || lb >= AHD_ARRAY_LEN(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A variable meant for a wrapper script, a container or a unit drop-in
 * must not take the server down, but a typo must still be visible: one
 * warning line naming it, with the nearest known name when it is close. */
static void config_env_warn_unknown(const char *e, size_t len)
{
	char val[CONFIG_SHOW_MAX];
	char name[80];
	char env[64];
	char hint[96] = "";
	size_t best = 3; /* suggest only within two edits */

	snprintf(name, sizeof(name), "%.*s", (int)(len < 64 ? len : 64), e);
	for (int id = 0; id < FL_COUNT; id++) {
		size_t d;

		if (config_flags[id].kind == CONFIG_KIND_ACTION)
			continue;
		config_env_name(id, env, sizeof(env));
		d = config_edit_distance(e, len, env, strlen(env));
		if (d < best) {
			best = d;
			snprintf(hint, sizeof(hint), "; did you mean %s?", env);
		}
	}
	log_startup_error("warning: ignoring unknown environment variable '%s' (no such option%s)",
			  config_quote(name, val, sizeof(val)), hint);
}

static int config_scan_env(struct config_layer *env, char **envp)
{
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *e = *envp;
		const char *eq = strchr(e, '=');
		int id;

		if (strncmp(e, CONFIG_ENV_PREFIX, strlen(CONFIG_ENV_PREFIX)) != 0 || eq == NULL)
			continue;
		id = config_env_find(e, (size_t)(eq - e));
		if (id < 0) {
			config_env_warn_unknown(e, (size_t)(eq - e));
			continue;
		}
		/* Empty means unset: "AHDNS_PRIV_KEY_PATH=" in a compose file
		 * should not be an error. */
		if (eq[1] == '\0') {
			config_layer_set(env, id, NULL);
			continue;
		}
		config_layer_set(env, id, json_object_new_string(eq + 1));
		if (env->v[id] == NULL)
			return config_oom();
	}
	return 0;
}

static char *config_read_file(const char *lab, const char *path, size_t *len)
{
	char val[CONFIG_SHOW_MAX];
	char *buf;

	config_quote(path, val, sizeof(val));
	switch (file_read_all(path, CONFIG_FILE_MAX, &buf, len)) {
	case FILE_OK:
		return buf;
	case FILE_OPEN:
		log_startup_error("%s: '%s' cannot be opened for reading: %s", lab, val,
				  strerror(errno));
		break;
	case FILE_NOT_REGULAR:
		log_startup_error("%s: '%s' is not a regular file", lab, val);
		break;
	case FILE_TOO_LARGE:
		log_startup_error("%s: '%s' is larger than 64 MiB", lab, val);
		break;
	case FILE_NOMEM:
		config_oom();
		break;
	case FILE_READ:
		log_startup_error("%s: '%s' cannot be read: %s", lab, val, strerror(errno));
		break;
	}
	return NULL;
}

/*
 * Loads a JSON object of flags into layer l. from_json: the supervisor's
 * serialization, where "config" (the path, for SIGHUP) is allowed.
 */
static int config_load_object(struct config_layer *l, const char *lab, const char *what,
			      const char *text, size_t len, bool from_json)
{
	char val[CONFIG_SHOW_MAX];
	char err[200];
	struct json_object *root;

	root = config_json_parse(text, len, err, sizeof(err));
	if (root == NULL)
		return log_startup_error("%s: '%s' is not valid JSON: %s", lab, what, err);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return log_startup_error("%s: '%s' is not a JSON object of flags", lab, what);
	}
	json_object_object_foreach(root, key, v)
	{
		int id = config_flag_find(key, strlen(key));

		if (id < 0 || !(config_flags[id].in_file || (from_json && id == FL_CONFIG))) {
			log_startup_error("%s: '%s': unknown key '%s' (keys are the long option names "
				    "without dashes)",
				    lab, what, config_quote(key, val, sizeof(val)));
			json_object_put(root);
			return -1;
		}
		/* null reads as "not given", which is how the serialization
		 * writes an unset key path too. */
		config_layer_set(l, id, json_object_get(v));
	}
	json_object_put(root);
	return 0;
}

static void config_merge(struct config_raw *raw, const struct config_layer *cli,
			 const struct config_layer *env, const struct config_layer *file,
			 enum config_src file_src)
{
	for (int id = 0; id < FL_COUNT; id++) {
		if (cli != NULL && cli->v[id] != NULL) {
			raw->v[id] = cli->v[id];
			raw->src[id] = CONFIG_SRC_CLI;
		} else if (env != NULL && env->v[id] != NULL) {
			raw->v[id] = env->v[id];
			raw->src[id] = CONFIG_SRC_ENV;
		} else if (file->v[id] != NULL) {
			raw->v[id] = file->v[id];
			raw->src[id] = file_src;
		}
	}
}

int config_parse(struct config *cfg, int argc, char **argv, char **envp,
		 enum config_action *action)
{
	struct config_layer cli, env, file;
	struct config_raw raw;
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&cli, 0, sizeof(cli));
	memset(&env, 0, sizeof(env));
	memset(&file, 0, sizeof(file));
	memset(&raw, 0, sizeof(raw));
	*action = CONFIG_RUN;
	raw.check_system = true;

	rc = config_scan_argv(&cli, argc, argv);
	if (rc == 1) {
		*action = CONFIG_EXIT_OK;
		rc = 0;
		goto out;
	}
	if (rc < 0 || (rc = config_scan_env(&env, envp)) < 0)
		goto out;
	/* The file's own path follows the same precedence as the rest. */
	config_merge(&raw, &cli, &env, &file, CONFIG_SRC_FILE);
	if (raw.v[FL_CONFIG] != NULL) {
		const char *path;
		char *text;
		size_t len;

		if ((rc = config_flag_str(&raw, FL_CONFIG, &path)) < 0)
			goto out;
		config_label(&raw, FL_CONFIG, lab, sizeof(lab));
		text = config_read_file(lab, path, &len);
		if (text == NULL) {
			rc = -1;
			goto out;
		}
		rc = config_load_object(&file, lab, config_quote(path, val, sizeof(val)), text,
					len, false);
		free(text);
		if (rc < 0)
			goto out;
		raw.file = path;
		config_merge(&raw, &cli, &env, &file, CONFIG_SRC_FILE);
	}
	rc = config_build(cfg, &raw);
out:
	config_layer_free(&cli);
	config_layer_free(&env);
	config_layer_free(&file);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

int config_from_json(struct config *cfg, const char *json)
{
	struct config_layer l;
	struct config_raw raw;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&l, 0, sizeof(l));
	memset(&raw, 0, sizeof(raw));
	rc = config_load_object(&l, "configuration", "serialized", json, strlen(json), true);
	if (rc == 0) {
		config_merge(&raw, NULL, NULL, &l, CONFIG_SRC_JSON);
		rc = config_build(cfg, &raw);
	}
	config_layer_free(&l);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

void config_free(struct config *cfg)
{
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->xdp_iface);
	free(cfg->hosted_zone);
	for (size_t i = 0; i < cfg->n_alias_zones; i++)
		free(cfg->alias_zones[i]);
	free(cfg->alias_zones);
	for (size_t i = 0; i < cfg->n_ns; i++)
		free(cfg->ns[i]);
	free(cfg->ns);
	for (size_t i = 0; i < cfg->n_entries; i++) {
		free(cfg->entries[i].name);
		free(cfg->entries[i].addrs);
		free(cfg->entries[i].http_path);
		free(cfg->entries[i].http_host);
		free(cfg->entries[i].tls_name);
		free(cfg->entries[i].tls_ca_file);
	}
	free(cfg->entries);
	free(cfg->priv_key_path);
	for (size_t i = 0; i < cfg->n_keys; i++)
		free(cfg->keys[i].path);
	free(cfg->keys);
	free(cfg->listen);
	free(cfg->user);
	free(cfg->shm_name);
	free(cfg->config_file);
	free(cfg->tsig_key_path);
	/* The TSIG secret must not linger in freed memory (DESIGN §9.4). */
	explicit_bzero(&cfg->tsig, sizeof(cfg->tsig));
	memset(cfg, 0, sizeof(*cfg));
}
