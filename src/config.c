#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"

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

static const struct config_flag config_flags[FL_COUNT] = {
	[FL_HOSTED_ZONE] = {"hosted-zone", CONFIG_KIND_VALUE, true},
	[FL_ZONE_RESOLUTIONS] = {"zone-resolutions", CONFIG_KIND_VALUE, true},
	[FL_NS] = {"ns", CONFIG_KIND_VALUE, true},
	[FL_ALIAS_ZONES] = {"alias-zones", CONFIG_KIND_VALUE, true},
	[FL_PORT] = {"port", CONFIG_KIND_VALUE, true},
	[FL_LOG_LEVEL] = {"log-level", CONFIG_KIND_VALUE, true},
	[FL_TEST_MIN_INTERVAL] = {"test-min-interval", CONFIG_KIND_VALUE, true},
	[FL_TEST_TIMEOUT] = {"test-timeout", CONFIG_KIND_VALUE, true},
	[FL_PRIV_KEY_PATH] = {"priv-key-path", CONFIG_KIND_VALUE, true},
	[FL_PRIV_KEY_ALG] = {"priv-key-alg", CONFIG_KIND_VALUE, true},
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
	/* A config file naming another config file is refused: one level of
	 * indirection is all an operator can keep in their head. */
	[FL_CONFIG] = {"config", CONFIG_KIND_VALUE, false},
	[FL_CHECK_CONFIG] = {"check-config", CONFIG_KIND_SWITCH, true},
	[FL_VERSION] = {"version", CONFIG_KIND_ACTION, false},
	[FL_HELP] = {"help", CONFIG_KIND_ACTION, false},
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

static const struct {
	const char *name;
	enum config_alg alg;
} config_algs[] = {
	{"RSASHA256", CONFIG_ALG_RSASHA256},
	{"RSASHA512", CONFIG_ALG_RSASHA512},
	{"ECDSAP256SHA256", CONFIG_ALG_ECDSAP256SHA256},
	{"ECDSAP384SHA384", CONFIG_ALG_ECDSAP384SHA384},
	{"ED25519", CONFIG_ALG_ED25519},
	{"ED448", CONFIG_ALG_ED448},
};

static int config_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int config_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_startup_verror(fmt, ap);
	va_end(ap);
	return -1;
}

/* Makes an outside value safe to show inside one line: control and
 * non-ASCII bytes become \xNN, long values are cut with "...". */
static const char *config_quote(const char *s, char *buf, size_t n)
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

static const char *config_show(struct json_object *v, char *buf, size_t n)
{
	const char *s;

	if (v != NULL && json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	else
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	return config_quote(s != NULL ? s : "", buf, n);
}

static void config_env_name(int id, char *buf, size_t n)
{
	size_t o = strlcpy(buf, CONFIG_ENV_PREFIX, n);

	for (const char *p = config_flags[id].name; *p != '\0' && o + 1 < n; p++)
		buf[o++] = *p == '-' ? '_' : (char)(*p - ('a' <= *p && *p <= 'z' ? 32 : 0));
	buf[o] = '\0';
}

static void config_label(const struct config_raw *raw, int id, char *buf, size_t n)
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
static struct json_object *config_json_parse(const char *text, size_t len, char *err,
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

/* A JSON string without embedded NUL (which would cut the C string short
 * and let the validators see something other than what was given). */
static int config_json_str(struct json_object *v, const char **out)
{
	const char *s;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return -1;
	*out = s;
	return 0;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static int config_uint_text(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
		/* max < 2^63, so x * 10 + 9 cannot wrap before we stop. */
		if (x > max)
			return -1;
	}
	*out = x;
	return 0;
}

static int config_json_uint(struct json_object *v, bool allow_string, uint64_t min, uint64_t max,
			    uint64_t *out)
{
	uint64_t x;

	if (v != NULL && json_object_is_type(v, json_type_int)) {
		/* Values beyond int64 saturate to INT64_MAX: out of every range. */
		int64_t i = json_object_get_int64(v);

		if (i < 0)
			return -1;
		x = (uint64_t)i;
	} else if (allow_string) {
		const char *s;

		if (config_json_str(v, &s) < 0 || config_uint_text(s, max, &x) < 0)
			return -1;
	} else {
		return -1;
	}
	if (x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

static int config_json_bool(struct json_object *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	const char *s;

	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i != 0 && i != 1)
			return -1;
		*out = i == 1;
		return 0;
	}
	if (config_json_str(v, &s) < 0)
		return -1;
	for (size_t i = 0; i < AHD_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static bool config_is_alnum(char c)
{
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9');
}

/* The original's name rules. Returns NULL for a valid name, else why not. */
static const char *config_name_problem(const char *s)
{
	size_t len = strlen(s);
	size_t lab = 0;

	if (len == 0)
		return "it is empty";
	if (len > AHD_MAX_NAME_TEXT)
		return "it is longer than 253 characters";
	if (s[len - 1] == '.')
		return "it ends with a dot (give names without the trailing dot)";
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (lab == 0)
				return "it has an empty label";
			if (lab > AHD_MAX_LABEL)
				return "it has a label longer than 63 characters";
			if (s[i - 1] == '-')
				return "a label ends with a hyphen";
			lab = 0;
			continue;
		}
		if (!config_is_alnum(c) && c != '-')
			return "it has a character other than ASCII letters, digits, hyphens "
			       "and dots";
		if (lab == 0 && c == '-')
			return "a label starts with a hyphen";
		lab++;
	}
	return NULL;
}

static size_t config_name_labels(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

static char *config_strdup_lower(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		return NULL;
	for (char *p = d; *p != '\0'; p++) {
		if ('A' <= *p && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return d;
}

/* a equals b or is a name below b. */
static bool config_name_within(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);

	if (la == lb)
		return strcmp(a, b) == 0;
	return la > lb && a[la - lb - 1] == '.' && strcmp(a + la - lb, b) == 0;
}

static int config_oom(void) { return config_fail("out of memory"); }

static int config_parse_addr(const char *s, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static const char *config_addr_text(int family, const uint8_t addr[16], char *buf, size_t n)
{
	if (inet_ntop(family, addr, buf, (socklen_t)n) == NULL)
		strlcpy(buf, "?", n);
	return buf;
}

/* A string flag; reports a non-string (from a file). */
static int config_flag_str(const struct config_raw *raw, int id, const char **out)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];

	if (config_json_str(raw->v[id], out) == 0)
		return 0;
	config_label(raw, id, lab, sizeof(lab));
	return config_fail("%s: '%s' is not a string", lab,
			   config_show(raw->v[id], val, sizeof(val)));
}

static int config_flag_uint(const struct config_raw *raw, int id, unsigned min, unsigned max,
			    const char *rule, unsigned *out)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	uint64_t x;

	if (config_json_uint(raw->v[id], true, min, max, &x) == 0) {
		*out = (unsigned)x;
		return 0;
	}
	config_label(raw, id, lab, sizeof(lab));
	return config_fail("%s: '%s' is not %s", lab, config_show(raw->v[id], val, sizeof(val)),
			   rule);
}

/* A bounded integer flag that has a default: *out is dflt when the flag
 * is absent. */
static int config_flag_uint_or(const struct config_raw *raw, int id, unsigned min,
			       unsigned max, const char *rule, unsigned dflt, unsigned *out)
{
	*out = dflt;
	if (raw->v[id] == NULL)
		return 0;
	return config_flag_uint(raw, id, min, max, rule, out);
}

/* A JSON-valued flag: a string holding JSON, or native JSON from a file.
 * Returns a new reference the caller puts. */
static int config_flag_json(const struct config_raw *raw, int id, struct json_object **out)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	char err[200];
	struct json_object *v = raw->v[id];
	const char *s;

	if (!json_object_is_type(v, json_type_string)) {
		*out = json_object_get(v);
		return 0;
	}
	if (config_json_str(v, &s) == 0) {
		*out = config_json_parse(s, strlen(s), err, sizeof(err));
		if (*out != NULL)
			return 0;
	} else {
		strlcpy(err, "it contains a NUL character", sizeof(err));
	}
	config_label(raw, id, lab, sizeof(lab));
	return config_fail("%s: '%s' is not valid JSON: %s", lab, config_show(v, val, sizeof(val)),
			   err);
}

static int config_required(const struct config_raw *raw, int id)
{
	char env[64];

	if (raw->v[id] != NULL)
		return 0;
	config_env_name(id, env, sizeof(env));
	return config_fail("--%s is required (or %s, or \"%s\" in the --config file)",
			   config_flags[id].name, env, config_flags[id].name);
}

static int config_hosted_zone(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s;
	const char *why;

	if (config_required(raw, FL_HOSTED_ZONE) < 0 ||
	    config_flag_str(raw, FL_HOSTED_ZONE, &s) < 0)
		return -1;
	why = config_name_problem(s);
	if (why != NULL) {
		config_label(raw, FL_HOSTED_ZONE, lab, sizeof(lab));
		return config_fail("%s: '%s' is not a valid zone name: %s", lab,
				   config_quote(s, val, sizeof(val)), why);
	}
	cfg->hosted_zone = config_strdup_lower(s);
	return cfg->hosted_zone != NULL ? 0 : config_oom();
}

/* The flag's value as a JSON array (new reference). */
static int config_flag_array(const struct config_raw *raw, int id, const char *what,
			     struct json_object **out)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];

	if (config_flag_json(raw, id, out) < 0)
		return -1;
	if (json_object_is_type(*out, json_type_array))
		return 0;
	config_label(raw, id, lab, sizeof(lab));
	config_fail("%s: '%s' is not a JSON array of %s", lab,
		    config_show(raw->v[id], val, sizeof(val)), what);
	json_object_put(*out);
	*out = NULL;
	return -1;
}

static int config_alias_zones(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	char val2[CONFIG_SHOW_MAX];
	struct json_object *arr;
	size_t n;
	int rc = -1;

	if (raw->v[FL_ALIAS_ZONES] == NULL)
		return 0;
	if (config_flag_array(raw, FL_ALIAS_ZONES, "zone names", &arr) < 0)
		return -1;
	config_label(raw, FL_ALIAS_ZONES, lab, sizeof(lab));
	n = json_object_array_length(arr);
	if (n > 0) {
		cfg->alias_zones = calloc(n, sizeof(*cfg->alias_zones));
		if (cfg->alias_zones == NULL) {
			config_oom();
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(arr, i);
		const char *s;
		const char *why;
		char *name;

		if (config_json_str(el, &s) < 0) {
			config_fail("%s: '%s' is not a zone name (a JSON string)", lab,
				    config_show(el, val, sizeof(val)));
			goto out;
		}
		why = config_name_problem(s);
		if (why != NULL) {
			config_fail("%s: '%s' is not a valid zone name: %s", lab,
				    config_quote(s, val, sizeof(val)), why);
			goto out;
		}
		name = config_strdup_lower(s);
		if (name == NULL) {
			config_oom();
			goto out;
		}
		cfg->alias_zones[cfg->n_alias_zones++] = name;
		config_quote(name, val, sizeof(val));
		if (strcmp(name, cfg->hosted_zone) == 0) {
			config_fail("%s: '%s' is the hosted zone itself", lab, val);
			goto out;
		}
		if (config_name_within(name, cfg->hosted_zone) ||
		    config_name_within(cfg->hosted_zone, name)) {
			config_fail("%s: '%s' is inside or contains the hosted zone '%s' "
				    "(which zone a name belongs to would be ambiguous)",
				    lab, val, config_quote(cfg->hosted_zone, val2, sizeof(val2)));
			goto out;
		}
		for (size_t j = 0; j + 1 < cfg->n_alias_zones; j++) {
			const char *other = cfg->alias_zones[j];

			if (strcmp(name, other) == 0) {
				config_fail("%s: '%s' is listed twice", lab, val);
				goto out;
			}
			if (config_name_within(name, other) || config_name_within(other, name)) {
				config_fail("%s: '%s' is inside or contains the alias zone '%s' "
					    "(which zone a name belongs to would be ambiguous)",
					    lab, val, config_quote(other, val2, sizeof(val2)));
				goto out;
			}
		}
	}
	rc = 0;
out:
	json_object_put(arr);
	return rc;
}

static int config_ns(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	struct json_object *arr;
	size_t n;
	int rc = -1;

	if (config_required(raw, FL_NS) < 0 ||
	    config_flag_array(raw, FL_NS, "name server host names", &arr) < 0)
		return -1;
	config_label(raw, FL_NS, lab, sizeof(lab));
	n = json_object_array_length(arr);
	if (n == 0) {
		config_fail("%s: '%s' is empty (at least one name server is required)", lab,
			    config_show(raw->v[FL_NS], val, sizeof(val)));
		goto out;
	}
	cfg->ns = calloc(n, sizeof(*cfg->ns));
	if (cfg->ns == NULL) {
		config_oom();
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(arr, i);
		const char *s;
		const char *why;
		char *name;
		bool dup = false;

		if (config_json_str(el, &s) < 0) {
			config_fail("%s: '%s' is not a host name (a JSON string)", lab,
				    config_show(el, val, sizeof(val)));
			goto out;
		}
		why = config_name_problem(s);
		if (why == NULL && config_name_labels(s) < 2)
			why = "a name server needs at least two labels (ns1.example.com)";
		if (why != NULL) {
			config_fail("%s: '%s' is not a valid name server name: %s", lab,
				    config_quote(s, val, sizeof(val)), why);
			goto out;
		}
		name = config_strdup_lower(s);
		if (name == NULL) {
			config_oom();
			goto out;
		}
		/* The original hands the list to an RRset, which is a set:
		 * a repeated name collapses rather than being refused. */
		for (size_t j = 0; j < cfg->n_ns; j++)
			dup = dup || strcmp(cfg->ns[j], name) == 0;
		if (dup)
			free(name);
		else
			cfg->ns[cfg->n_ns++] = name;
	}
	rc = 0;
out:
	json_object_put(arr);
	return rc;
}

static int config_entry_name(struct config *cfg, const char *lab, const char *key,
			     struct config_entry *e)
{
	char val[CONFIG_SHOW_MAX];
	char zone[CONFIG_SHOW_MAX];
	const char *why;

	config_quote(key, val, sizeof(val));
	if (key[0] == '\0' || strcmp(key, "@") == 0)
		return config_fail("%s: '%s': the apex itself cannot be given (its SOA and NS "
				   "records are made from the other flags)",
				   lab, val);
	if (strchr(key, '*') != NULL)
		return config_fail("%s: '%s': wildcard names are not supported", lab, val);
	why = config_name_problem(key);
	if (why != NULL)
		return config_fail("%s: '%s' is not a valid name: %s", lab, val, why);
	for (size_t z = 0; z <= cfg->n_alias_zones; z++) {
		const char *apex = z == 0 ? cfg->hosted_zone : cfg->alias_zones[z - 1];

		if (strlen(key) + 1 + strlen(apex) > AHD_MAX_NAME_TEXT)
			return config_fail("%s: '%s': the full name in zone '%s' would be longer "
					   "than 253 characters",
					   lab, val, config_quote(apex, zone, sizeof(zone)));
	}
	e->name = config_strdup_lower(key);
	return e->name != NULL ? 0 : config_oom();
}

static int config_entry_cmp(const void *a, const void *b)
{
	const struct config_entry *x = *(const struct config_entry *const *)a;
	const struct config_entry *y = *(const struct config_entry *const *)b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x > y) - (x < y);
}

/* Sorted rather than compared pairwise: a zone of 10,000 names is parsed
 * by the supervisor and again by every child. */
static int config_entries_unique(const struct config *cfg, const char *lab)
{
	char val[CONFIG_SHOW_MAX];
	const struct config_entry **idx;

	idx = reallocarray(NULL, cfg->n_entries, sizeof(*idx));
	if (idx == NULL)
		return config_oom();
	for (size_t i = 0; i < cfg->n_entries; i++)
		idx[i] = &cfg->entries[i];
	qsort(idx, cfg->n_entries, sizeof(*idx), config_entry_cmp);
	for (size_t i = 1; i < cfg->n_entries; i++) {
		if (strcmp(idx[i - 1]->name, idx[i]->name) == 0) {
			config_quote(idx[i]->name, val, sizeof(val));
			free(idx);
			return config_fail("%s: '%s' is given twice (names are case-insensitive)",
					   lab, val);
		}
	}
	free(idx);
	return 0;
}

static int config_entry_addrs(const char *lab, const char *key, struct json_object *arr,
			      struct config_entry *e)
{
	char kq[CONFIG_SHOW_MAX];
	char val[CONFIG_SHOW_MAX];
	size_t n;

	config_quote(key, kq, sizeof(kq));
	if (!json_object_is_type(arr, json_type_array))
		return config_fail("%s: '%s': '%s' is not a list of addresses", lab, kq,
				   config_show(arr, val, sizeof(val)));
	n = json_object_array_length(arr);
	if (n == 0)
		return config_fail("%s: '%s': '[]' has no addresses (at least one is required)",
				   lab, kq);
	e->addrs = calloc(n, sizeof(*e->addrs));
	if (e->addrs == NULL)
		return config_oom();
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(arr, i);
		struct config_addr *a = &e->addrs[e->n_addrs];
		const char *s;

		if (config_json_str(el, &s) < 0 || config_parse_addr(s, &a->family, a->addr) < 0)
			return config_fail("%s: '%s': address '%s' is not an IPv4 or IPv6 address",
					   lab, kq, config_show(el, val, sizeof(val)));
		for (size_t j = 0; j < e->n_addrs; j++) {
			if (e->addrs[j].family == a->family &&
			    memcmp(e->addrs[j].addr, a->addr, sizeof(a->addr)) == 0)
				return config_fail("%s: '%s': address '%s' is listed twice", lab,
						   kq, config_quote(s, val, sizeof(val)));
		}
		e->n_addrs++;
	}
	return 0;
}

static int config_entry_http_path(const char *lab, const char *kq, struct json_object *v,
				  struct config_entry *e)
{
	char val[CONFIG_SHOW_MAX];
	const char *s;
	bool ok;

	ok = config_json_str(v, &s) == 0 && s[0] == '/' && strlen(s) <= CONFIG_HTTP_PATH_MAX;
	for (const char *p = s; ok && *p != '\0'; p++)
		ok = *p > 0x20 && *p < 0x7f;
	if (!ok)
		return config_fail("%s: '%s': \"http_path\" '%s' is not a valid path (it must "
				   "start with '/', be printable ASCII without spaces, at most "
				   "1024 characters)",
				   lab, kq, config_show(v, val, sizeof(val)));
	e->http_path = strdup(s);
	return e->http_path != NULL ? 0 : config_oom();
}

static int config_entry_object(const char *lab, const char *key, struct json_object *obj,
			       struct config_entry *e)
{
	char kq[CONFIG_SHOW_MAX];
	char val[CONFIG_SHOW_MAX];
	struct json_object *ips = NULL, *port = NULL, *check = NULL, *path = NULL;
	struct json_object *rise = NULL, *fall = NULL, *ttl = NULL, *all_down = NULL;
	uint64_t x;
	const char *s;

	config_quote(key, kq, sizeof(kq));
	json_object_object_foreach(obj, k, v)
	{
		struct json_object **slot = NULL;

		if (strcmp(k, "ips") == 0)
			slot = &ips;
		else if (strcmp(k, "health_port") == 0)
			slot = &port;
		else if (strcmp(k, "check") == 0)
			slot = &check;
		else if (strcmp(k, "http_path") == 0)
			slot = &path;
		else if (strcmp(k, "rise") == 0)
			slot = &rise;
		else if (strcmp(k, "fall") == 0)
			slot = &fall;
		else if (strcmp(k, "ttl") == 0)
			slot = &ttl;
		else if (strcmp(k, "all_down") == 0)
			slot = &all_down;
		if (slot == NULL)
			return config_fail("%s: '%s': unknown key '%s' (known: ips, health_port, "
					   "check, http_path, rise, fall, ttl, all_down)",
					   lab, kq, config_quote(k, val, sizeof(val)));
		/* json-c keeps the last of repeated keys, as Python does. */
		*slot = v;
	}
	if (ips == NULL)
		return config_fail("%s: '%s': \"ips\" is required in the object form", lab, kq);
	if (port == NULL)
		return config_fail("%s: '%s': \"health_port\" is required in the object form",
				   lab, kq);
	if (config_entry_addrs(lab, key, ips, e) < 0)
		return -1;
	if (config_json_uint(port, false, 1, 65535, &x) < 0)
		return config_fail("%s: '%s': \"health_port\" '%s' is not a valid port (an "
				   "integer 1-65535)",
				   lab, kq, config_show(port, val, sizeof(val)));
	e->health_port = (uint16_t)x;
	e->check = CONFIG_CHECK_TCP;
	if (check != NULL) {
		if (config_json_str(check, &s) == 0 && strcmp(s, "tcp") == 0)
			e->check = CONFIG_CHECK_TCP;
		else if (config_json_str(check, &s) == 0 && strcmp(s, "http") == 0)
			e->check = CONFIG_CHECK_HTTP;
		else
			return config_fail("%s: '%s': \"check\" '%s' is not a check type (\"tcp\" "
					   "or \"http\")",
					   lab, kq, config_show(check, val, sizeof(val)));
	}
	if (path != NULL && e->check != CONFIG_CHECK_HTTP)
		return config_fail("%s: '%s': \"http_path\" '%s' is only valid with \"check\": "
				   "\"http\"",
				   lab, kq, config_show(path, val, sizeof(val)));
	if (e->check == CONFIG_CHECK_HTTP) {
		if (path != NULL) {
			if (config_entry_http_path(lab, kq, path, e) < 0)
				return -1;
		} else {
			e->http_path = strdup("/");
			if (e->http_path == NULL)
				return config_oom();
		}
	}
	if (rise != NULL) {
		if (config_json_uint(rise, false, 1, 100, &x) < 0)
			return config_fail("%s: '%s': \"rise\" '%s' is not an integer 1-100", lab,
					   kq, config_show(rise, val, sizeof(val)));
		e->rise = (unsigned)x;
	}
	if (fall != NULL) {
		if (config_json_uint(fall, false, 1, 100, &x) < 0)
			return config_fail("%s: '%s': \"fall\" '%s' is not an integer 1-100", lab,
					   kq, config_show(fall, val, sizeof(val)));
		e->fall = (unsigned)x;
	}
	if (ttl != NULL) {
		if (config_json_uint(ttl, false, 0, AHD_TTL_MAX, &x) < 0)
			return config_fail("%s: '%s': \"ttl\" '%s' is not a valid TTL (an integer "
					   "0-2147483647)",
					   lab, kq, config_show(ttl, val, sizeof(val)));
		e->ttl = (int64_t)x;
	}
	if (all_down != NULL) {
		if (config_json_str(all_down, &s) == 0 && strcmp(s, "withdraw") == 0)
			e->all_down = CONFIG_ALL_DOWN_WITHDRAW;
		else if (config_json_str(all_down, &s) == 0 && strcmp(s, "serve_all") == 0)
			e->all_down = CONFIG_ALL_DOWN_SERVE_ALL;
		else
			return config_fail("%s: '%s': \"all_down\" '%s' is not \"withdraw\" or "
					   "\"serve_all\"",
					   lab, kq, config_show(all_down, val, sizeof(val)));
	}
	return 0;
}

static int config_entries(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	char kq[CONFIG_SHOW_MAX];
	struct json_object *root;
	size_t n;
	int rc = -1;

	if (config_required(raw, FL_ZONE_RESOLUTIONS) < 0 ||
	    config_flag_json(raw, FL_ZONE_RESOLUTIONS, &root) < 0)
		return -1;
	config_label(raw, FL_ZONE_RESOLUTIONS, lab, sizeof(lab));
	if (!json_object_is_type(root, json_type_object)) {
		config_fail("%s: '%s' is not a JSON object mapping names to addresses", lab,
			    config_show(raw->v[FL_ZONE_RESOLUTIONS], val, sizeof(val)));
		goto out;
	}
	n = (size_t)json_object_object_length(root);
	if (n == 0) {
		config_fail("%s: '%s' has no names (at least one is required)", lab,
			    config_show(raw->v[FL_ZONE_RESOLUTIONS], val, sizeof(val)));
		goto out;
	}
	cfg->entries = calloc(n, sizeof(*cfg->entries));
	if (cfg->entries == NULL) {
		config_oom();
		goto out;
	}
	/* json-c iterates in the order of the text: entries keep it. */
	json_object_object_foreach(root, key, v)
	{
		struct config_entry *e = &cfg->entries[cfg->n_entries];

		e->rise = 1;
		e->fall = 1;
		e->ttl = -1;
		if (config_entry_name(cfg, lab, key, e) < 0) {
			/* Counted so config_free releases a name set before a
			 * later check failed. */
			cfg->n_entries++;
			goto out;
		}
		cfg->n_entries++;
		if (json_object_is_type(v, json_type_array)) {
			if (config_entry_addrs(lab, key, v, e) < 0)
				goto out;
		} else if (json_object_is_type(v, json_type_object)) {
			if (config_entry_object(lab, key, v, e) < 0)
				goto out;
		} else {
			config_fail("%s: '%s': '%s' is neither a list of addresses nor an object "
				    "with \"ips\" and \"health_port\"",
				    lab, config_quote(key, kq, sizeof(kq)),
				    config_show(v, val, sizeof(val)));
			goto out;
		}
		e->first_addr = cfg->n_addrs_total;
		cfg->n_addrs_total += e->n_addrs;
	}
	rc = config_entries_unique(cfg, lab);
out:
	json_object_put(root);
	return rc;
}

static int config_log_level(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	char low[16];
	const char *s;

	cfg->log_level = AHD_LOG_INFO;
	if (raw->v[FL_LOG_LEVEL] == NULL)
		return 0;
	if (config_flag_str(raw, FL_LOG_LEVEL, &s) < 0)
		return -1;
	/* Case-insensitive: the original's users write INFO as often as info. */
	if (strlen(s) < sizeof(low)) {
		for (size_t i = 0;; i++) {
			low[i] = (char)(s[i] + ('A' <= s[i] && s[i] <= 'Z' ? 32 : 0));
			if (s[i] == '\0')
				break;
		}
		if (log_level_from_name(low, &cfg->log_level) == 0)
			return 0;
	}
	config_label(raw, FL_LOG_LEVEL, lab, sizeof(lab));
	return config_fail("%s: '%s' is not a log level (debug, info, warning, error or "
			   "critical)",
			   lab, config_quote(s, val, sizeof(val)));
}

static int config_priv_key(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s;
	struct stat st;
	int fd;

	cfg->priv_key_alg = CONFIG_ALG_RSASHA256;
	if (raw->v[FL_PRIV_KEY_ALG] != NULL) {
		bool found = false;

		if (config_flag_str(raw, FL_PRIV_KEY_ALG, &s) < 0)
			return -1;
		for (size_t i = 0; i < AHD_ARRAY_LEN(config_algs) && !found; i++) {
			if (strcasecmp(s, config_algs[i].name) == 0) {
				cfg->priv_key_alg = config_algs[i].alg;
				found = true;
			}
		}
		if (!found) {
			config_label(raw, FL_PRIV_KEY_ALG, lab, sizeof(lab));
			return config_fail("%s: '%s' is not a supported algorithm (RSASHA256, "
					   "RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519 "
					   "or ED448)",
					   lab, config_quote(s, val, sizeof(val)));
		}
	}
	if (raw->v[FL_PRIV_KEY_PATH] == NULL)
		return 0;
	if (config_flag_str(raw, FL_PRIV_KEY_PATH, &s) < 0)
		return -1;
	config_label(raw, FL_PRIV_KEY_PATH, lab, sizeof(lab));
	config_quote(s, val, sizeof(val));
	if (s[0] == '\0')
		return config_fail("%s: '' is empty (give the path of a PEM private key file)",
				   lab);
	if (raw->check_system) {
		/* O_NONBLOCK: a FIFO given by mistake must not hang start-up. */
		fd = open(s, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			return config_fail("%s: '%s' cannot be opened for reading: %s", lab, val,
					   strerror(errno));
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return config_fail("%s: '%s' is not a regular file (give the path of a "
					   "PEM private key file)",
					   lab, val);
		}
		close(fd);
	}
	cfg->priv_key_path = strdup(s);
	return cfg->priv_key_path != NULL ? 0 : config_oom();
}

static int config_listen_add(struct config *cfg, const char *lab, const char *s)
{
	char val[CONFIG_SHOW_MAX];
	struct config_listen l;
	struct config_listen *grown;

	memset(&l, 0, sizeof(l));
	config_quote(s, val, sizeof(val));
	if (strlen(s) >= sizeof(l.text) || config_parse_addr(s, &l.family, l.addr) < 0)
		return config_fail("%s: '%s' is not an IPv4 or IPv6 address (the port comes from "
				   "--port)",
				   lab, val);
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (cfg->listen[i].family == l.family &&
		    memcmp(cfg->listen[i].addr, l.addr, sizeof(l.addr)) == 0)
			return config_fail("%s: '%s' is given twice", lab, val);
	}
	strlcpy(l.text, s, sizeof(l.text));
	grown = reallocarray(cfg->listen, cfg->n_listen + 1, sizeof(*cfg->listen));
	if (grown == NULL)
		return config_oom();
	cfg->listen = grown;
	cfg->listen[cfg->n_listen++] = l;
	return 0;
}

/* AHDNS_LISTEN="127.0.0.1, ::1": one string may hold several addresses. */
static int config_listen_string(struct config *cfg, const char *lab, struct json_object *v)
{
	char val[CONFIG_SHOW_MAX];
	const char *s;
	char *copy;
	char *save = NULL;
	size_t added = 0;
	int rc = 0;

	if (config_json_str(v, &s) < 0)
		return config_fail("%s: '%s' is not an address string", lab,
				   config_show(v, val, sizeof(val)));
	copy = strdup(s);
	if (copy == NULL)
		return config_oom();
	for (char *t = strtok_r(copy, ", \t\r\n", &save); t != NULL && rc == 0;
	     t = strtok_r(NULL, ", \t\r\n", &save)) {
		rc = config_listen_add(cfg, lab, t);
		added++;
	}
	free(copy);
	if (rc == 0 && added == 0)
		rc = config_fail("%s: '%s' is not an IPv4 or IPv6 address", lab,
				 config_quote(s, val, sizeof(val)));
	return rc;
}

static int config_listen(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	struct json_object *v = raw->v[FL_LISTEN];

	if (v == NULL)
		return 0;
	config_label(raw, FL_LISTEN, lab, sizeof(lab));
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (config_listen_string(cfg, lab, json_object_array_get_idx(v, i)) < 0)
				return -1;
		}
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return config_listen_string(cfg, lab, v);
	return config_fail("%s: '%s' is not an address or a list of addresses", lab,
			   config_show(v, val, sizeof(val)));
}

/* The serialization's form of an account config_parse looked up:
 * {"name": "nobody", "uid": 65534, "gid": 65534}. Only config_from_json
 * takes it: a child must not read the user database again. */
static int config_user_ids(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	struct json_object *name, *uid, *gid;
	const char *s;
	uint64_t u, g;

	if (!json_object_object_get_ex(raw->v[FL_USER], "name", &name) ||
	    !json_object_object_get_ex(raw->v[FL_USER], "uid", &uid) ||
	    !json_object_object_get_ex(raw->v[FL_USER], "gid", &gid) ||
	    config_json_str(name, &s) < 0 || s[0] == '\0' ||
	    config_json_uint(uid, false, 0, UINT32_MAX - 1, &u) < 0 ||
	    config_json_uint(gid, false, 0, UINT32_MAX - 1, &g) < 0) {
		config_label(raw, FL_USER, lab, sizeof(lab));
		return config_fail("%s: '%s' is not an account (name, uid and gid)", lab,
				   config_show(raw->v[FL_USER], val, sizeof(val)));
	}
	cfg->user_ids = true;
	cfg->user_uid = (uid_t)u;
	cfg->user_gid = (gid_t)g;
	cfg->user = strdup(s);
	return cfg->user != NULL ? 0 : config_oom();
}

static int config_user(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s;
	struct passwd *pw = NULL;

	if (raw->v[FL_USER] == NULL) {
		/* The packaged service account if installed; nobody is the
		 * last resort every system has. */
		pw = getpwnam(AHD_NAME);
		if (pw == NULL)
			pw = getpwnam("nobody");
		if (pw == NULL)
			return config_fail("--user: neither the account '%s' nor 'nobody' "
					   "exists (create one or give --user)",
					   AHD_NAME);
		s = pw->pw_name;
	} else {
		if (raw->src[FL_USER] == CONFIG_SRC_JSON &&
		    json_object_is_type(raw->v[FL_USER], json_type_object))
			return config_user_ids(cfg, raw);
		if (config_flag_str(raw, FL_USER, &s) < 0)
			return -1;
		config_label(raw, FL_USER, lab, sizeof(lab));
		config_quote(s, val, sizeof(val));
		if (s[0] == '\0')
			return config_fail("%s: '' is not an account name", lab);
		if (raw->check_system) {
			pw = getpwnam(s);
			if (pw == NULL)
				return config_fail("%s: '%s' is not an existing account", lab, val);
			if (pw->pw_uid == 0)
				return config_fail("%s: '%s' has uid 0 (the workers and the prober "
						   "must not run as root)",
						   lab, val);
		}
	}
	if (pw != NULL) {
		cfg->user_ids = true;
		cfg->user_uid = pw->pw_uid;
		cfg->user_gid = pw->pw_gid;
	}
	cfg->user = strdup(s);
	return cfg->user != NULL ? 0 : config_oom();
}

static int config_shm_name(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	char def[64];
	const char *s;
	size_t len;
	bool ok;

	if (raw->v[FL_SHM_NAME] == NULL) {
		snprintf(def, sizeof(def), "/%s.%u", AHD_NAME, (unsigned)cfg->port);
		s = def;
	} else {
		if (config_flag_str(raw, FL_SHM_NAME, &s) < 0)
			return -1;
		len = strlen(s);
		ok = len >= 2 && len <= CONFIG_SHM_NAME_MAX && s[0] == '/';
		for (size_t i = 1; ok && i < len; i++)
			ok = s[i] > 0x20 && s[i] < 0x7f && s[i] != '/';
		if (!ok) {
			config_label(raw, FL_SHM_NAME, lab, sizeof(lab));
			return config_fail("%s: '%s' is not a valid shared memory name ('/' then "
					   "1-199 printable characters without '/' or spaces)",
					   lab, config_quote(s, val, sizeof(val)));
		}
	}
	cfg->shm_name = strdup(s);
	return cfg->shm_name != NULL ? 0 : config_oom();
}

static int config_check_config(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];

	if (raw->v[FL_CHECK_CONFIG] == NULL)
		return 0;
	if (config_json_bool(raw->v[FL_CHECK_CONFIG], &cfg->check_config) == 0)
		return 0;
	config_label(raw, FL_CHECK_CONFIG, lab, sizeof(lab));
	return config_fail("%s: '%s' is not a boolean (1, true, yes, on or 0, false, no, off)",
			   lab, config_show(raw->v[FL_CHECK_CONFIG], val, sizeof(val)));
}

/* Hex digits (even count) to bytes; -1 on anything else or > cap. */
static int config_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static void config_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * --cpu-affinity "0-3,6": the taskset -c syntax. Every CPU must be one
 * this process may run on (sched_getaffinity: online, and inside any
 * cpuset or taskset it was started under), or the pinning would fail
 * in the worker long after the start-up check said yes.
 */
static int config_cpu_affinity(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	cpu_set_t allowed;
	const char *s, *p;

	CPU_ZERO(&cfg->cpus);
	cfg->n_cpus = 0;
	if (raw->v[FL_CPU_AFFINITY] == NULL)
		return 0;
	if (config_flag_str(raw, FL_CPU_AFFINITY, &s) < 0)
		return -1;
	config_label(raw, FL_CPU_AFFINITY, lab, sizeof(lab));
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return config_fail("%s: sched_getaffinity: %s", lab, strerror(errno));
	p = s;
	do {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtoul(p, &end, 10);
		}
		if (hi < lo || hi >= CPU_SETSIZE)
			goto bad;
		for (unsigned long c = lo; c <= hi; c++) {
			if (!CPU_ISSET(c, &allowed))
				return config_fail("%s: '%s': CPU %lu is not one this process "
						   "may run on (offline, or outside its cpuset)",
						   lab, config_quote(s, val, sizeof(val)), c);
			CPU_SET(c, &cfg->cpus);
		}
		p = end;
	} while (*p++ == ',');
	if (p[-1] != '\0')
		goto bad;
	cfg->n_cpus = (unsigned)CPU_COUNT(&cfg->cpus);
	return 0;
bad:
	return config_fail("%s: '%s' is not a valid CPU list (CPU numbers and ranges "
			   "separated by commas, e.g. 0-3,6)",
			   lab, config_quote(s, val, sizeof(val)));
}

int config_worker_cpu(const struct config *cfg, unsigned index)
{
	unsigned k;

	if (cfg->n_cpus == 0)
		return -1;
	k = index % cfg->n_cpus;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &cfg->cpus) && k-- == 0)
			return c;
	}
	return -1;
}

/* The CPU set as the shortest list in the same syntax ("0-3,6"); n is
 * CONFIG_CPU_TEXT_MAX, room for any set. */
static void config_cpu_text(const cpu_set_t *set, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && len < n; c++) {
		int end = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set))
			end++;
		len += (size_t)snprintf(buf + len, n - len, end > c ? "%s%d-%d" : "%s%d",
					len > 0 ? "," : "", c, end);
		c = end;
	}
}

/* --nsid: printable text, "0x" + hex for any bytes, or "hostname". */
static int config_nsid(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	char host[256];
	const char *s;
	size_t len;
	bool ok;

	cfg->nsid_len = 0;
	if (raw->v[FL_NSID] == NULL)
		return 0;
	if (config_flag_str(raw, FL_NSID, &s) < 0)
		return -1;
	config_label(raw, FL_NSID, lab, sizeof(lab));
	if (strcmp(s, "hostname") == 0) {
		if (gethostname(host, sizeof(host)) < 0)
			return config_fail("%s: 'hostname': gethostname: %s", lab, strerror(errno));
		host[sizeof(host) - 1] = '\0';
		s = host;
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (config_unhex(s + 2, cfg->nsid, sizeof(cfg->nsid), &len) < 0 || len == 0)
			return config_fail("%s: '%s' is not valid hex (0x and 2-256 hex digits, "
					   "an even count)",
					   lab, config_quote(s, val, sizeof(val)));
		cfg->nsid_len = len;
		return 0;
	}
	len = strlen(s);
	ok = len >= 1 && len <= CONFIG_NSID_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = s[i] >= 0x20 && s[i] < 0x7f;
	if (!ok)
		return config_fail("%s: '%s' is not a valid NSID (1-128 printable ASCII "
				   "characters, 0x and hex digits, or hostname)",
				   lab, config_quote(s, val, sizeof(val)));
	memcpy(cfg->nsid, s, len);
	cfg->nsid_len = len;
	return 0;
}

/* --cookie-secret: 32 hex digits; default random (per start). */
static int config_cookie_secret(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	const char *s;
	size_t len = 0;

	if (raw->v[FL_COOKIE_SECRET] == NULL) {
		if (getrandom(cfg->cookie_secret, sizeof(cfg->cookie_secret), 0) !=
		    (ssize_t)sizeof(cfg->cookie_secret))
			return config_fail("--cookie-secret: no random default: getrandom: %s",
					   strerror(errno));
		return 0;
	}
	if (config_flag_str(raw, FL_COOKIE_SECRET, &s) < 0)
		return -1;
	if (config_unhex(s, cfg->cookie_secret, sizeof(cfg->cookie_secret), &len) < 0 ||
	    len != sizeof(cfg->cookie_secret)) {
		config_label(raw, FL_COOKIE_SECRET, lab, sizeof(lab));
		/* The value is a secret: not echoed. */
		return config_fail("%s: the value is not 32 hex digits (a 16-byte secret)", lab);
	}
	return 0;
}

/* A duration: seconds as an integer, or a string of digits with an
 * optional unit s, m, h or d. */
static int config_flag_duration(const struct config_raw *raw, int id, uint32_t min,
				uint32_t max, uint32_t *out)
{
	static const struct {
		char unit;
		uint32_t seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX];
	char lo[CONFIG_DURATION_TEXT_MAX], hi[CONFIG_DURATION_TEXT_MAX];
	char digits[24];
	struct json_object *v = raw->v[id];
	uint64_t x = 0, mul = 1;
	const char *s;
	size_t n;

	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		x = i < 0 ? UINT64_MAX : (uint64_t)i;
	} else if (config_json_str(v, &s) == 0 && (n = strlen(s)) > 0 && n < sizeof(digits)) {
		memcpy(digits, s, n + 1);
		for (size_t u = 0; u < AHD_ARRAY_LEN(units); u++) {
			if (digits[n - 1] == units[u].unit) {
				digits[--n] = '\0';
				mul = units[u].seconds;
				break; /* one unit: "5ms" is not 5 minutes */
			}
		}
		if (config_uint_text(digits, UINT32_MAX, &x) < 0)
			x = UINT64_MAX;
		else
			x *= mul;
	} else {
		x = UINT64_MAX;
	}
	if (x >= min && x <= max) {
		*out = (uint32_t)x;
		return 0;
	}
	config_label(raw, id, lab, sizeof(lab));
	return config_fail("%s: '%s' is not a duration from %s to %s (seconds, or a number "
			   "with s, m, h or d)",
			   lab, config_show(v, val, sizeof(val)),
			   config_duration_text(min, lo, sizeof(lo)),
			   config_duration_text(max, hi, sizeof(hi)));
}

/* The largest TTL a signed zone serves, and what it belongs to. */
static uint32_t config_ttl_largest(const struct config *cfg, const struct config_ttls *t,
				   char *what, size_t cap)
{
	uint32_t max = t->ns;

	strlcpy(what, "NS", cap);
	if (t->soa > max) {
		max = t->soa;
		strlcpy(what, "SOA", cap);
	}
	if (t->dnskey > max) {
		max = t->dnskey;
		strlcpy(what, "DNSKEY", cap);
	}
	if (t->a > max) {
		max = t->a;
		strlcpy(what, "A/AAAA", cap);
	}
	for (size_t i = 0; i < cfg->n_entries; i++) {
		int64_t ttl = cfg->entries[i].ttl;

		if (ttl > (int64_t)max) {
			max = ttl > (int64_t)AHD_TTL_MAX ? AHD_TTL_MAX : (uint32_t)ttl;
			snprintf(what, cap, "ttl of \"%s\"", cfg->entries[i].name);
		}
	}
	return max;
}

/*
 * --rrsig-lifetime and --rrsig-refresh. A signature is re-signed when
 * less than the refresh time remains, and a due one waits at most a
 * check interval or two for the prober, so the refresh time must cover
 * the largest TTL plus that wait: otherwise a resolver could cache an
 * RRset and its RRSIG past the RRSIG's expiration (RFC 6781 section
 * 4.4.2). Without --rrsig-lifetime, the lifetime grows past 14 days
 * when the TTLs need it (--test-min-interval above a few hours).
 */
static int config_rrsig(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX], what[AHD_MAX_NAME_TEXT + 16];
	char a[CONFIG_DURATION_TEXT_MAX], b[CONFIG_DURATION_TEXT_MAX];
	bool has_l = raw->v[FL_RRSIG_LIFETIME] != NULL, has_r = raw->v[FL_RRSIG_REFRESH] != NULL;
	struct config_ttls t;
	uint64_t need;
	uint32_t largest;
	int id;

	cfg->rrsig_lifetime = CONFIG_DEFAULT_RRSIG_LIFETIME;
	if (has_l && config_flag_duration(raw, FL_RRSIG_LIFETIME, 60, CONFIG_RRSIG_LIFETIME_MAX,
					  &cfg->rrsig_lifetime) < 0)
		return -1;
	if (has_r && config_flag_duration(raw, FL_RRSIG_REFRESH, 1, CONFIG_RRSIG_LIFETIME_MAX,
					  &cfg->rrsig_refresh) < 0)
		return -1;
	config_ttls(cfg, &t);
	largest = config_ttl_largest(cfg, &t, what, sizeof(what));
	need = (uint64_t)largest + 2 * (uint64_t)t.interval;
	if (!has_l && !has_r && cfg->priv_key_path != NULL && cfg->rrsig_lifetime / 2 < need)
		cfg->rrsig_lifetime = need > CONFIG_RRSIG_LIFETIME_MAX / 2 ? CONFIG_RRSIG_LIFETIME_MAX
									  : (uint32_t)(2 * need);
	if (!has_r)
		cfg->rrsig_refresh = cfg->rrsig_lifetime / 2;
	if (cfg->rrsig_refresh >= cfg->rrsig_lifetime) {
		config_label(raw, FL_RRSIG_REFRESH, lab, sizeof(lab));
		return config_fail("%s: '%s' is not below the signature lifetime (%s): a "
				   "signature would be re-signed as soon as it is made",
				   lab, config_show(raw->v[FL_RRSIG_REFRESH], val, sizeof(val)),
				   config_duration_text(cfg->rrsig_lifetime, a, sizeof(a)));
	}
	if (cfg->priv_key_path == NULL || cfg->rrsig_refresh >= need)
		return 0;
	id = has_r ? FL_RRSIG_REFRESH : FL_RRSIG_LIFETIME;
	config_label(raw, id, lab, sizeof(lab));
	return config_fail("%s: signatures would be re-signed with %s left, less than the "
			   "largest TTL (%s, %u s) plus two check intervals (%u s), so a "
			   "resolver could keep an RRset past its signature's expiry (RFC 6781 "
			   "section 4.4.2); raise it to %s or more, or lower the TTL",
			   lab, config_duration_text(cfg->rrsig_refresh, a, sizeof(a)), what,
			   largest, 2 * t.interval,
			   config_duration_text((uint32_t)(has_r ? need : 2 * need), b,
						sizeof(b)));
}

/* Validates the merged values into cfg, in a fixed order so the first
 * problem reported does not depend on where it came from. */
static int config_build(struct config *cfg, const struct config_raw *raw)
{
	unsigned u;
	long cpus;
	const char *s;

	if (config_hosted_zone(cfg, raw) < 0 || config_alias_zones(cfg, raw) < 0 ||
	    config_ns(cfg, raw) < 0 || config_entries(cfg, raw) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_PORT, 1, 65535, "a valid port (an integer 1-65535)",
				CONFIG_DEFAULT_PORT, &u) < 0)
		return -1;
	cfg->port = (uint16_t)u;
	if (config_log_level(cfg, raw) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_TEST_MIN_INTERVAL, 1, 86400,
				"a valid interval (an integer 1-86400, in seconds)",
				CONFIG_DEFAULT_INTERVAL, &cfg->test_min_interval) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_TEST_TIMEOUT, 1, 3600,
				"a valid timeout (an integer 1-3600, in seconds)",
				CONFIG_DEFAULT_TIMEOUT, &cfg->test_timeout) < 0)
		return -1;
	if (config_priv_key(cfg, raw) < 0 || config_rrsig(cfg, raw) < 0 ||
	    config_listen(cfg, raw) < 0)
		return -1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (config_flag_uint_or(raw, FL_WORKERS, 1, CONFIG_WORKERS_MAX,
				"a valid number of workers (an integer 1-256)",
				cpus < 1 ? 1 : cpus > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX
									 : (unsigned)cpus,
				&cfg->workers) < 0)
		return -1;
	if (config_user(cfg, raw) < 0 || config_shm_name(cfg, raw) < 0 ||
	    config_check_config(cfg, raw) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_TCP_MAX_CONNS, 1, CONFIG_TCP_MAX_CONNS_MAX,
				"a valid number of connections (an integer 1-65536)",
				CONFIG_DEFAULT_TCP_MAX_CONNS, &cfg->tcp_max_conns) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_TCP_IDLE_TIMEOUT, 1, 3600,
				"a valid timeout (an integer 1-3600, in seconds)",
				CONFIG_DEFAULT_TCP_IDLE_TIMEOUT, &cfg->tcp_idle_timeout) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_TCP_IO_TIMEOUT, 1, CONFIG_TCP_IO_TIMEOUT_MAX,
				"a valid timeout (an integer 1-60000, in milliseconds)",
				CONFIG_DEFAULT_TCP_IO_TIMEOUT, &cfg->tcp_io_timeout_ms) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_TCP_MAX_CONNS_PER_CLIENT, 1, CONFIG_TCP_MAX_CONNS_MAX,
				"a valid number of connections (an integer 1-65536)",
				CONFIG_DEFAULT_TCP_PER_CLIENT(cfg->tcp_max_conns),
				&cfg->tcp_max_conns_per_client) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_EDNS_SIZE, 512, 4096,
				"a valid EDNS payload size (an integer 512-4096)",
				AHD_EDNS_DEFAULT, &cfg->edns_size) < 0)
		return -1;
	if (config_nsid(cfg, raw) < 0 || config_cookie_secret(cfg, raw) < 0 ||
	    config_cpu_affinity(cfg, raw) < 0)
		return -1;
	if (config_flag_uint_or(raw, FL_UDP_PAUSE, 0, 1000,
				"a valid pause (an integer 0-1000, in microseconds)",
				CONFIG_DEFAULT_UDP_PAUSE, &cfg->udp_pause_us) < 0)
		return -1;
	if (raw->v[FL_CONFIG] != NULL) {
		if (config_flag_str(raw, FL_CONFIG, &s) < 0)
			return -1;
		cfg->config_file = strdup(s);
		if (cfg->config_file == NULL)
			return config_oom();
	}
	return 0;
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
				return config_fail("unexpected argument '%s' (see --help)",
						   config_quote(argv[i + 1], val, sizeof(val)));
			break;
		}
		if (arg[0] != '-')
			return config_fail("unexpected argument '%s' (options start with --; see "
					   "--help)",
					   config_quote(arg, val, sizeof(val)));
		eq = strchr(arg, '=');
		nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		id = strncmp(arg, "--", 2) == 0 ? config_flag_find(arg + 2, nlen - 2) : -1;
		snprintf(name, sizeof(name), "%.*s", (int)(nlen < 64 ? nlen : 64), arg);
		if (id < 0)
			return config_fail("unknown option '%s' (see --help)",
					   config_quote(name, val, sizeof(val)));
		switch (config_flags[id].kind) {
		case CONFIG_KIND_ACTION:
			if (eq != NULL)
				return config_fail("%s takes no value", name);
			if (id == FL_HELP)
				config_print_help(stdout);
			else
				printf("%s %s\n", AHD_NAME, AHD_VERSION);
			fflush(stdout);
			return 1;
		case CONFIG_KIND_SWITCH:
			if (eq != NULL)
				return config_fail("%s takes no value", name);
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
				return config_fail("%s requires a value (see --help)", name);
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
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd;

	config_quote(path, val, sizeof(val));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		config_fail("%s: '%s' cannot be opened for reading: %s", lab, val, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		config_fail("%s: '%s' is not a regular file", lab, val);
		return NULL;
	}
	if ((uint64_t)st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		config_fail("%s: '%s' is larger than 64 MiB", lab, val);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		config_oom();
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			config_fail("%s: '%s' cannot be read: %s", lab, val, strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
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
		return config_fail("%s: '%s' is not valid JSON: %s", lab, what, err);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return config_fail("%s: '%s' is not a JSON object of flags", lab, what);
	}
	json_object_object_foreach(root, key, v)
	{
		int id = config_flag_find(key, strlen(key));

		if (id < 0 || !(config_flags[id].in_file || (from_json && id == FL_CONFIG))) {
			config_fail("%s: '%s': unknown key '%s' (keys are the long option names "
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
	}
	free(cfg->entries);
	free(cfg->priv_key_path);
	free(cfg->listen);
	free(cfg->user);
	free(cfg->shm_name);
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}

const char *config_alg_name(enum config_alg alg)
{
	for (size_t i = 0; i < AHD_ARRAY_LEN(config_algs); i++) {
		if (config_algs[i].alg == alg)
			return config_algs[i].name;
	}
	return "?";
}

/* Collects allocation failures so config_to_json checks once. */
struct config_jb {
	bool oom;
};

static void config_jb_add(struct config_jb *jb, struct json_object *o, const char *k,
			  struct json_object *v)
{
	if (v == NULL || o == NULL || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		jb->oom = true;
	}
}

static void config_jb_push(struct config_jb *jb, struct json_object *a, struct json_object *v)
{
	if (v == NULL || a == NULL || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		jb->oom = true;
	}
}

static struct json_object *config_jb_addrs(struct config_jb *jb, const struct config_entry *e)
{
	struct json_object *a = json_object_new_array();
	char text[INET6_ADDRSTRLEN];

	for (size_t i = 0; a != NULL && i < e->n_addrs; i++)
		config_jb_push(jb, a,
			       json_object_new_string(config_addr_text(
				       e->addrs[i].family, e->addrs[i].addr, text, sizeof(text))));
	return a;
}

static struct json_object *config_jb_names(struct config_jb *jb, char *const *names, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		config_jb_push(jb, a, json_object_new_string(names[i]));
	return a;
}

char *config_to_json(const struct config *cfg)
{
	struct config_jb jb = {false};
	struct json_object *o = json_object_new_object();
	struct json_object *zr = json_object_new_object();
	struct json_object *listen = json_object_new_array();
	char *out = NULL;

	for (size_t i = 0; zr != NULL && i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		struct json_object *eo;

		if (e->check == CONFIG_CHECK_NONE) {
			config_jb_add(&jb, zr, e->name, config_jb_addrs(&jb, e));
			continue;
		}
		eo = json_object_new_object();
		config_jb_add(&jb, eo, "ips", config_jb_addrs(&jb, e));
		config_jb_add(&jb, eo, "health_port", json_object_new_int(e->health_port));
		config_jb_add(&jb, eo, "check",
			      json_object_new_string(e->check == CONFIG_CHECK_HTTP ? "http" : "tcp"));
		if (e->http_path != NULL)
			config_jb_add(&jb, eo, "http_path", json_object_new_string(e->http_path));
		config_jb_add(&jb, eo, "rise", json_object_new_int64(e->rise));
		config_jb_add(&jb, eo, "fall", json_object_new_int64(e->fall));
		if (e->ttl >= 0)
			config_jb_add(&jb, eo, "ttl", json_object_new_int64(e->ttl));
		config_jb_add(&jb, eo, "all_down",
			      json_object_new_string(e->all_down == CONFIG_ALL_DOWN_SERVE_ALL
							     ? "serve_all"
							     : "withdraw"));
		config_jb_add(&jb, zr, e->name, eo);
	}
	for (size_t i = 0; listen != NULL && i < cfg->n_listen; i++)
		config_jb_push(&jb, listen, json_object_new_string(cfg->listen[i].text));

	config_jb_add(&jb, o, "hosted-zone", json_object_new_string(cfg->hosted_zone));
	config_jb_add(&jb, o, "zone-resolutions", zr);
	config_jb_add(&jb, o, "ns", config_jb_names(&jb, cfg->ns, cfg->n_ns));
	config_jb_add(&jb, o, "alias-zones",
		      config_jb_names(&jb, cfg->alias_zones, cfg->n_alias_zones));
	config_jb_add(&jb, o, "port", json_object_new_int(cfg->port));
	config_jb_add(&jb, o, "log-level", json_object_new_string(log_level_name(cfg->log_level)));
	config_jb_add(&jb, o, "test-min-interval", json_object_new_int64(cfg->test_min_interval));
	config_jb_add(&jb, o, "test-timeout", json_object_new_int64(cfg->test_timeout));
	if (cfg->priv_key_path != NULL)
		config_jb_add(&jb, o, "priv-key-path", json_object_new_string(cfg->priv_key_path));
	config_jb_add(&jb, o, "priv-key-alg",
		      json_object_new_string(config_alg_name(cfg->priv_key_alg)));
	if (cfg->rrsig_lifetime != 0)
		config_jb_add(&jb, o, "rrsig-lifetime", json_object_new_int64(cfg->rrsig_lifetime));
	if (cfg->rrsig_refresh != 0)
		config_jb_add(&jb, o, "rrsig-refresh", json_object_new_int64(cfg->rrsig_refresh));
	config_jb_add(&jb, o, "listen", listen);
	config_jb_add(&jb, o, "workers", json_object_new_int64(cfg->workers));
	if (cfg->user != NULL && cfg->user_ids) {
		struct json_object *u = json_object_new_object();

		config_jb_add(&jb, u, "name", json_object_new_string(cfg->user));
		config_jb_add(&jb, u, "uid", json_object_new_int64(cfg->user_uid));
		config_jb_add(&jb, u, "gid", json_object_new_int64(cfg->user_gid));
		config_jb_add(&jb, o, "user", u);
	} else if (cfg->user != NULL) {
		config_jb_add(&jb, o, "user", json_object_new_string(cfg->user));
	}
	if (cfg->shm_name != NULL)
		config_jb_add(&jb, o, "shm-name", json_object_new_string(cfg->shm_name));
	if (cfg->config_file != NULL)
		config_jb_add(&jb, o, "config", json_object_new_string(cfg->config_file));
	config_jb_add(&jb, o, "check-config", json_object_new_boolean(cfg->check_config));
	if (cfg->tcp_max_conns != 0)
		config_jb_add(&jb, o, "tcp-max-conns", json_object_new_int64(cfg->tcp_max_conns));
	if (cfg->tcp_idle_timeout != 0)
		config_jb_add(&jb, o, "tcp-idle-timeout",
			      json_object_new_int64(cfg->tcp_idle_timeout));
	if (cfg->tcp_io_timeout_ms != 0)
		config_jb_add(&jb, o, "tcp-io-timeout",
			      json_object_new_int64(cfg->tcp_io_timeout_ms));
	if (cfg->tcp_max_conns_per_client != 0)
		config_jb_add(&jb, o, "tcp-max-conns-per-client",
			      json_object_new_int64(cfg->tcp_max_conns_per_client));
	if (cfg->edns_size != 0)
		config_jb_add(&jb, o, "edns-size", json_object_new_int64(cfg->edns_size));
	if (cfg->n_cpus > 0) {
		char cpus[CONFIG_CPU_TEXT_MAX];

		config_cpu_text(&cfg->cpus, cpus, sizeof(cpus));
		config_jb_add(&jb, o, "cpu-affinity", json_object_new_string(cpus));
	}
	config_jb_add(&jb, o, "udp-pause", json_object_new_int64(cfg->udp_pause_us));
	if (cfg->nsid_len > 0 && cfg->nsid_len <= CONFIG_NSID_MAX) {
		/* Hex, so any bytes come back exactly. */
		char hex[2 + 2 * CONFIG_NSID_MAX + 1] = "0x";

		config_hex(cfg->nsid, cfg->nsid_len, hex + 2);
		config_jb_add(&jb, o, "nsid", json_object_new_string(hex));
	}
	{
		char hex[2 * CONFIG_COOKIE_SECRET_LEN + 1];

		config_hex(cfg->cookie_secret, sizeof(cfg->cookie_secret), hex);
		config_jb_add(&jb, o, "cookie-secret", json_object_new_string(hex));
	}

	if (!jb.oom)
		out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static uint32_t config_clamp(uint64_t x) { return x > AHD_TTL_MAX ? AHD_TTL_MAX : (uint32_t)x; }

void config_ttls(const struct config *cfg, struct config_ttls *out)
{
	/*
	 * The original ran its checks one after another, so a round could
	 * last the sum of every timeout and it stretched the interval by
	 * that sum. Our prober checks every target concurrently, so a round
	 * lasts at most one timeout: the interval a failure waits for is
	 * the larger of the two, whatever the number of targets.
	 */
	uint64_t interval = cfg->test_min_interval > cfg->test_timeout ? cfg->test_min_interval
								     : cfg->test_timeout;
	uint64_t a = 2 * interval;
	uint64_t ns = 30 * a;
	uint64_t soa = ns;
	uint64_t dnskey = 10 * a;
	uint64_t refresh = dnskey;
	uint64_t retry = a;
	uint64_t expire = 5 * retry;
	uint64_t minimum = a;

	out->interval = config_clamp(interval);
	out->a = config_clamp(a);
	out->ns = config_clamp(ns);
	out->soa = config_clamp(soa);
	out->dnskey = config_clamp(dnskey);
	out->refresh = config_clamp(refresh);
	out->retry = config_clamp(retry);
	out->expire = config_clamp(expire);
	out->minimum = config_clamp(minimum);
	/* RFC 2308 section 5. */
	out->neg = config_clamp(soa < minimum ? soa : minimum);
	out->sig_lifetime = cfg->rrsig_lifetime != 0 ? cfg->rrsig_lifetime
						     : CONFIG_DEFAULT_RRSIG_LIFETIME;
	out->sig_refresh = cfg->rrsig_refresh != 0 ? cfg->rrsig_refresh : out->sig_lifetime / 2;
	out->sig_backdate = CONFIG_RRSIG_BACKDATE;
	if (out->sig_refresh >= out->sig_lifetime) /* config_parse refuses it */
		out->sig_refresh = out->sig_lifetime / 2;
	out->sig_jitter = out->sig_lifetime / 10;
	if (out->sig_jitter > (out->sig_lifetime - out->sig_refresh) / 2)
		out->sig_jitter = (out->sig_lifetime - out->sig_refresh) / 2;
	out->sig_ttl_max = out->sig_refresh > 2 * (uint64_t)out->interval
				   ? out->sig_refresh - 2 * out->interval
				   : 1;
}

const char *config_duration_text(uint32_t s, char *buf, size_t cap)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(buf, cap, "%ud", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(buf, cap, "%uh", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(buf, cap, "%um", s / 60);
	else
		snprintf(buf, cap, "%us", s);
	return buf;
}

static void config_print_addrs(const struct config_entry *e, FILE *out)
{
	char text[INET6_ADDRSTRLEN];

	for (size_t j = 0; j < e->n_addrs; j++)
		fprintf(out, "%s%s %s", j > 0 ? ", " : "",
			e->addrs[j].family == AF_INET ? "A" : "AAAA",
			config_addr_text(e->addrs[j].family, e->addrs[j].addr, text, sizeof(text)));
}

void config_print_summary(const struct config *cfg, FILE *out)
{
	struct config_ttls t;

	config_ttls(cfg, &t);
	fprintf(out, "zone: %s\n", cfg->hosted_zone);
	fprintf(out, "alias zones:");
	for (size_t i = 0; i < cfg->n_alias_zones; i++)
		fprintf(out, " %s", cfg->alias_zones[i]);
	fprintf(out, "%s\n", cfg->n_alias_zones == 0 ? " none" : "");
	fprintf(out, "name servers:");
	for (size_t i = 0; i < cfg->n_ns; i++)
		fprintf(out, " %s%s", cfg->ns[i], i == 0 ? " (SOA MNAME)" : "");
	fprintf(out, "\nnames: %zu, addresses: %zu\n", cfg->n_entries, cfg->n_addrs_total);
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];

		fprintf(out, "  %s.%s: ", e->name, cfg->hosted_zone);
		config_print_addrs(e, out);
		if (e->check == CONFIG_CHECK_NONE) {
			fprintf(out, "; static");
		} else {
			if (e->check == CONFIG_CHECK_HTTP)
				fprintf(out, "; check http GET %s on port %u", e->http_path,
					(unsigned)e->health_port);
			else
				fprintf(out, "; check tcp port %u", (unsigned)e->health_port);
			fprintf(out, ", rise %u, fall %u, all down: %s", e->rise, e->fall,
				e->all_down == CONFIG_ALL_DOWN_SERVE_ALL ? "serve all" : "withdraw");
		}
		if (e->ttl >= 0)
			fprintf(out, ", ttl %lld", (long long)e->ttl);
		fputc('\n', out);
	}
	fprintf(out,
		"checks: every %us, timeout %us; effective interval %us\n"
		"ttls: A/AAAA %u, NS %u, SOA %u (refresh %u, retry %u, expire %u, minimum %u), "
		"negative %u, DNSKEY %u\n",
		cfg->test_min_interval, cfg->test_timeout, t.interval, t.a, t.ns, t.soa,
		t.refresh, t.retry, t.expire, t.minimum, t.neg, t.dnskey);
	if (cfg->priv_key_path != NULL) {
		char l[CONFIG_DURATION_TEXT_MAX], r[CONFIG_DURATION_TEXT_MAX];
		char bd[CONFIG_DURATION_TEXT_MAX];

		fprintf(out, "dnssec: key %s (%s)\n", cfg->priv_key_path,
			config_alg_name(cfg->priv_key_alg));
		fprintf(out, "signatures: valid %s, re-signed when less than %s remains, "
			"inception %s back, expiry spread over %u s\n",
			config_duration_text(t.sig_lifetime, l, sizeof(l)),
			config_duration_text(t.sig_refresh, r, sizeof(r)),
			config_duration_text(t.sig_backdate, bd, sizeof(bd)),
			t.sig_jitter);
	} else {
		fprintf(out, "dnssec: off (no --priv-key-path)\n");
	}
	fprintf(out, "listen:");
	for (size_t i = 0; i < cfg->n_listen; i++)
		fprintf(out, " %s", cfg->listen[i].text);
	fprintf(out, "%s port %u (udp, tcp)\n", cfg->n_listen == 0 ? " all addresses," : ",",
		(unsigned)cfg->port);
	fprintf(out, "workers: %u, user: %s, shm: %s, log level: %s\n", cfg->workers,
		cfg->user != NULL ? cfg->user : "(default)",
		cfg->shm_name != NULL ? cfg->shm_name : "(default)",
		log_level_name(cfg->log_level));
	if (cfg->n_cpus > 0) {
		char cpus[CONFIG_CPU_TEXT_MAX];

		config_cpu_text(&cfg->cpus, cpus, sizeof(cpus));
		fprintf(out, "cpu affinity: worker i on the i-th CPU of %s\n", cpus);
	} else {
		fprintf(out, "cpu affinity: none (the kernel places the workers)\n");
	}
	fprintf(out, "udp: pause %u us after a batch under load\n", cfg->udp_pause_us);
	fprintf(out,
		"tcp: %u connections per worker, %u per client address; idle timeout %u s,"
		" a message within %u ms\n",
		cfg->tcp_max_conns, cfg->tcp_max_conns_per_client, cfg->tcp_idle_timeout,
		cfg->tcp_io_timeout_ms);
	{
		char hex[2 * CONFIG_NSID_MAX + 1];

		config_hex(cfg->nsid, cfg->nsid_len <= CONFIG_NSID_MAX ? cfg->nsid_len : 0, hex);
		fprintf(out, "edns: payload %u, nsid %s%s, cookies on (RFC 9018)\n",
			cfg->edns_size, cfg->nsid_len ? "0x" : "none", hex);
	}
	if (cfg->config_file != NULL)
		fprintf(out, "config file: %s\n", cfg->config_file);
}

void config_print_help(FILE *out)
{
	fputs("Usage: " AHD_NAME " --hosted-zone NAME --ns JSON --zone-resolutions JSON [options]\n"
	      "       " AHD_NAME " status [--json] [--port N | --shm-name NAME]\n"
	      "       " AHD_NAME " dump [--port N | --shm-name NAME] [--zone APEX]\n"
	      "       " AHD_NAME " ds [server options]\n"
	      "\n"
	      "A health-aware authoritative DNS server.\n"
	      "status: backends, serial and counters of the running server;\n"
	      "dump: its zone in master-file format; ds: the DS records for the\n"
	      "parent zone (needs --priv-key-path). See a-healthy-dns(8).\n"
	      "\n"
	      "Zone:\n"
	      "  --hosted-zone NAME        zone apex, without trailing dot (required)\n"
	      "  --zone-resolutions JSON   names and addresses (required), e.g.\n"
	      "                            '{\"www\": [\"192.0.2.1\"],\n"
	      "                              \"api\": {\"ips\": [\"192.0.2.2\", \"2001:db8::2\"],\n"
	      "                                      \"health_port\": 8080}}'\n"
	      "                            object keys: ips, health_port, check (tcp|http),\n"
	      "                            http_path, rise, fall, ttl, all_down\n"
	      "                            (withdraw|serve_all)\n"
	      "  --ns JSON                 name servers, e.g. '[\"ns1.example.com\"]' (required)\n"
	      "  --alias-zones JSON        more apexes answering like the hosted zone (default [])\n"
	      "\n"
	      "Health checks:\n"
	      "  --test-min-interval S     seconds between check rounds, 1-86400 (default 30)\n"
	      "  --test-timeout S          seconds before a check fails, 1-3600 (default 2)\n"
	      "\n"
	      "DNSSEC:\n"
	      "  --priv-key-path PEM       private key file; without it the zone is unsigned\n"
	      "  --priv-key-alg ALG        RSASHA256 (default), RSASHA512, ECDSAP256SHA256,\n"
	      "                            ECDSAP384SHA384, ED25519, ED448\n"
	      "  --rrsig-lifetime D        signature validity: seconds, or with s, m, h, d\n"
	      "                            (default 14d, longer if the TTLs need it)\n"
	      "  --rrsig-refresh D         re-sign a signature when less than D remains\n"
	      "                            (default half the lifetime)\n"
	      "\n"
	      "Server:\n"
	      "  --port N                  UDP and TCP port (default 53053)\n"
	      "  --listen ADDR             IPv4 or IPv6 address to listen on; repeatable\n"
	      "                            (default: all addresses)\n"
	      "  --workers N               query worker processes, 1-256 (default: CPUs)\n"
	      "  --user NAME               account of the workers and the prober\n"
	      "                            (default: " AHD_NAME " if it exists, else nobody)\n"
	      "  --shm-name NAME           shared memory object (default /" AHD_NAME ".PORT)\n"
	      "  --log-level L             debug, info (default), warning, error, critical\n"
	      "  --tcp-max-conns N         TCP connections per worker, 1-65536 (default 256);\n"
	      "                            when full, the longest idle one is closed\n"
	      "  --tcp-max-conns-per-client N\n"
	      "                            TCP connections of one client address per worker,\n"
	      "                            1-65536 (default: a quarter of --tcp-max-conns)\n"
	      "  --tcp-idle-timeout S      seconds before an idle TCP connection is closed,\n"
	      "                            1-3600 (default 10)\n"
	      "  --tcp-io-timeout MS       milliseconds a TCP query may take to arrive once\n"
	      "                            its first byte came, 1-60000 (default 500)\n"
	      "  --cpu-affinity LIST       pin worker i to the i-th CPU of LIST (e.g. 0-3,6;\n"
	      "                            default: no pinning)\n"
	      "  --udp-pause US            pause after a UDP batch under load so the next\n"
	      "                            batch is bigger, 0-1000 us (default 40; 0: off)\n"
	      "  --edns-size N             EDNS UDP payload size, 512-4096 (default 1232)\n"
	      "  --nsid ID                 NSID (RFC 5001) to answer with: text, 0x + hex,\n"
	      "                            or hostname (default: none)\n"
	      "  --cookie-secret HEX       DNS cookie secret, 32 hex digits (default: random\n"
	      "                            at each start)\n"
	      "\n"
	      "Other:\n"
	      "  --config FILE             JSON object of options, keys are the long option\n"
	      "                            names without dashes (\"hosted-zone\": ...)\n"
	      "  --check-config            validate, print a summary and exit\n"
	      "  --version                 print the version and exit\n"
	      "  --help                    print this help and exit\n"
	      "\n"
	      "Values may be given as --flag VALUE or --flag=VALUE. Every option can also\n"
	      "come from the environment as AHDNS_ + its name in upper case with _ for -\n"
	      "(AHDNS_HOSTED_ZONE, AHDNS_LISTEN=\"127.0.0.1,::1\", AHDNS_CHECK_CONFIG=1);\n"
	      "an empty variable counts as unset, an unknown AHDNS_* one is ignored with\n"
	      "a warning. Precedence: command line, then environment, then --config file,\n"
	      "then defaults.\n",
	      out);
}
