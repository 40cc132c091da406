#include "config.h"
#include "config_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"

/* A JSON string without embedded NUL (which would cut the C string short
 * and let the validators see something other than what was given). */
int config_json_str(struct json_object *v, const char **out)
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

int config_json_uint(struct json_object *v, bool allow_string, uint64_t min, uint64_t max,
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

int config_json_bool(struct json_object *v, bool *out)
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

char *config_strdup_lower(const char *s)
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

int config_oom(void) { return log_startup_error("out of memory"); }

int config_parse_addr(const char *s, int *family, uint8_t addr[16])
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

const char *config_addr_text(int family, const uint8_t addr[16], char *buf, size_t n)
{
	if (inet_ntop(family, addr, buf, (socklen_t)n) == NULL)
		strlcpy(buf, "?", n);
	return buf;
}

/* A string flag; reports a non-string (from a file). */
int config_flag_str(const struct config_raw *raw, int id, const char **out)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];

	if (config_json_str(raw->v[id], out) == 0)
		return 0;
	config_label(raw, id, lab, sizeof(lab));
	return log_startup_error("%s: '%s' is not a string", lab,
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
	return log_startup_error("%s: '%s' is not %s", lab, config_show(raw->v[id], val, sizeof(val)),
			   rule);
}

/* A bounded integer flag that has a default: *out is dflt when the flag
 * is absent. */
int config_flag_uint_or(const struct config_raw *raw, int id, unsigned min,
			       unsigned max, const char *rule, unsigned dflt, unsigned *out)
{
	*out = dflt;
	if (raw->v[id] == NULL)
		return 0;
	return config_flag_uint(raw, id, min, max, rule, out);
}

/* A JSON-valued flag: a string holding JSON, or native JSON from a file.
 * Returns a new reference the caller puts. */
int config_flag_json(const struct config_raw *raw, int id, struct json_object **out)
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
	return log_startup_error("%s: '%s' is not valid JSON: %s", lab, config_show(v, val, sizeof(val)),
			   err);
}

int config_required(const struct config_raw *raw, int id)
{
	char env[64];

	if (raw->v[id] != NULL)
		return 0;
	config_env_name(id, env, sizeof(env));
	return log_startup_error("--%s is required (or %s, or \"%s\" in the --config file)",
			   config_flags[id].name, env, config_flags[id].name);
}

/* The flag's value as a JSON array (new reference). */
int config_flag_array(const struct config_raw *raw, int id, const char *what,
			     struct json_object **out)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];

	if (config_flag_json(raw, id, out) < 0)
		return -1;
	if (json_object_is_type(*out, json_type_array))
		return 0;
	config_label(raw, id, lab, sizeof(lab));
	log_startup_error("%s: '%s' is not a JSON array of %s", lab,
		    config_show(raw->v[id], val, sizeof(val)), what);
	json_object_put(*out);
	*out = NULL;
	return -1;
}

/* Hex digits (even count) to bytes; -1 on anything else or > cap. */
int config_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
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

void config_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A duration: seconds as an integer, or a string of digits with an
 * optional unit s, m, h or d. */
int config_flag_duration(const struct config_raw *raw, int id, uint32_t min,
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
	return log_startup_error("%s: '%s' is not a duration from %s to %s (seconds, or a number "
			   "with s, m, h or d)",
			   lab, config_show(v, val, sizeof(val)),
			   config_duration_text(min, lo, sizeof(lo)),
			   config_duration_text(max, hi, sizeof(hi)));
}
