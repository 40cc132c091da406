#include "config.h"
#include "config_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <json-c/json.h>

#include "ahd.h"
#include "dname.h"

int config_hosted_zone(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s;
	const char *why;

	if (config_required(raw, FL_HOSTED_ZONE) < 0 ||
	    config_flag_str(raw, FL_HOSTED_ZONE, &s) < 0)
		return -1;
	why = dname_text_problem(s);
	if (why != NULL) {
		config_label(raw, FL_HOSTED_ZONE, lab, sizeof(lab));
		return log_startup_error("%s: '%s' is not a valid zone name: %s", lab,
				   config_quote(s, val, sizeof(val)), why);
	}
	cfg->hosted_zone = config_strdup_lower(s);
	return cfg->hosted_zone != NULL ? 0 : config_oom();
}

/* How a list of names is checked, and what is done with each valid one. */
struct config_names {
	int id;              /* FL_ALIAS_ZONES, FL_NS */
	const char *what;    /* "zone names": what the JSON array holds */
	const char *one;     /* "zone name": one element, for the errors */
	const char *valid;   /* "zone name": in "is not a valid <valid>" */
	size_t min_labels;
	const char *few;     /* why min_labels is needed */
	/* Takes name (lower case, owned) or refuses it with one line: -1. */
	int (*add)(struct config *cfg, char *name, const char *lab);
};

/*
 * One validator for every list of names: each element must be a JSON
 * string, a valid name (dname_text_problem) of at least min_labels
 * labels; it is lowered and handed to add in order, so the first
 * problem in the list is the one reported. *list gets room for every
 * element (stays NULL for an empty array); arr is released.
 */
static int config_name_check(struct config *cfg, const struct config_raw *raw,
			     const struct config_names *spec, struct json_object *arr)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	size_t n = json_object_array_length(arr);

	config_label(raw, spec->id, lab, sizeof(lab));
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(arr, i);
		const char *s;
		const char *why;
		char *name;

		if (config_json_str(el, &s) < 0)
			return log_startup_error("%s: '%s' is not a %s (a JSON string)", lab,
					   config_show(el, val, sizeof(val)), spec->one);
		why = dname_text_problem(s);
		if (why == NULL && dname_text_labels(s) < spec->min_labels)
			why = spec->few;
		if (why != NULL)
			return log_startup_error("%s: '%s' is not a valid %s: %s", lab,
					   config_quote(s, val, sizeof(val)), spec->valid, why);
		name = config_strdup_lower(s);
		if (name == NULL)
			return config_oom();
		if (spec->add(cfg, name, lab) < 0)
			return -1;
	}
	return 0;
}

static int config_name_list(struct config *cfg, const struct config_raw *raw,
			    const struct config_names *spec, struct json_object *arr, char ***list)
{
	size_t n = json_object_array_length(arr);
	int rc = -1;

	if (n > 0) {
		*list = calloc(n, sizeof(**list));
		if (*list == NULL) {
			config_oom();
			goto out;
		}
	}
	rc = config_name_check(cfg, raw, spec, arr);
out:
	json_object_put(arr);
	return rc;
}

/* An alias zone may not be, contain or lie inside another zone. */
static int config_alias_add(struct config *cfg, char *name, const char *lab)
{
	char val[CONFIG_SHOW_MAX];
	char val2[CONFIG_SHOW_MAX];

	cfg->alias_zones[cfg->n_alias_zones++] = name;
	config_quote(name, val, sizeof(val));
	if (strcmp(name, cfg->hosted_zone) == 0)
		return log_startup_error("%s: '%s' is the hosted zone itself", lab, val);
	if (dname_text_within(name, cfg->hosted_zone) ||
	    dname_text_within(cfg->hosted_zone, name))
		return log_startup_error("%s: '%s' is inside or contains the hosted zone '%s' "
				   "(which zone a name belongs to would be ambiguous)",
				   lab, val, config_quote(cfg->hosted_zone, val2, sizeof(val2)));
	for (size_t j = 0; j + 1 < cfg->n_alias_zones; j++) {
		const char *other = cfg->alias_zones[j];

		if (strcmp(name, other) == 0)
			return log_startup_error("%s: '%s' is listed twice", lab, val);
		if (dname_text_within(name, other) || dname_text_within(other, name))
			return log_startup_error("%s: '%s' is inside or contains the alias zone '%s' "
					   "(which zone a name belongs to would be ambiguous)",
					   lab, val, config_quote(other, val2, sizeof(val2)));
	}
	return 0;
}

int config_alias_zones(struct config *cfg, const struct config_raw *raw)
{
	static const struct config_names spec = {
		FL_ALIAS_ZONES, "zone names", "zone name", "zone name", 1, NULL,
		config_alias_add,
	};
	struct json_object *arr;

	if (raw->v[FL_ALIAS_ZONES] == NULL)
		return 0;
	if (config_flag_array(raw, FL_ALIAS_ZONES, spec.what, &arr) < 0)
		return -1;
	return config_name_list(cfg, raw, &spec, arr, &cfg->alias_zones);
}

/* The original hands the list to an RRset, which is a set: a repeated
 * name collapses rather than being refused. */
static int config_ns_add(struct config *cfg, char *name, const char *lab)
{
	for (size_t j = 0; j < cfg->n_ns; j++) {
		if (strcmp(cfg->ns[j], name) == 0) {
			free(name);
			return 0;
		}
	}
	cfg->ns[cfg->n_ns++] = name;
	return 0;
}

int config_ns(struct config *cfg, const struct config_raw *raw)
{
	static const struct config_names spec = {
		FL_NS, "name server host names", "host name", "name server name", 2,
		"a name server needs at least two labels (ns1.example.com)", config_ns_add,
	};
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	struct json_object *arr;

	if (config_required(raw, FL_NS) < 0 || config_flag_array(raw, FL_NS, spec.what, &arr) < 0)
		return -1;
	if (json_object_array_length(arr) == 0) {
		json_object_put(arr);
		config_label(raw, FL_NS, lab, sizeof(lab));
		return log_startup_error("%s: '%s' is empty (at least one name server is required)",
					 lab, config_show(raw->v[FL_NS], val, sizeof(val)));
	}
	return config_name_list(cfg, raw, &spec, arr, &cfg->ns);
}

static int config_entry_name(struct config *cfg, const char *lab, const char *key,
			     struct config_entry *e)
{
	char val[CONFIG_SHOW_MAX];
	char zone[CONFIG_SHOW_MAX];
	const char *why;

	config_quote(key, val, sizeof(val));
	if (key[0] == '\0' || strcmp(key, "@") == 0)
		return log_startup_error("%s: '%s': the apex itself cannot be given (its SOA and NS "
				   "records are made from the other flags)",
				   lab, val);
	if (strchr(key, '*') != NULL)
		return log_startup_error("%s: '%s': wildcard names are not supported", lab, val);
	why = dname_text_problem(key);
	if (why != NULL)
		return log_startup_error("%s: '%s' is not a valid name: %s", lab, val, why);
	for (size_t z = 0; z <= cfg->n_alias_zones; z++) {
		const char *apex = z == 0 ? cfg->hosted_zone : cfg->alias_zones[z - 1];

		if (strlen(key) + 1 + strlen(apex) > AHD_MAX_NAME_TEXT)
			return log_startup_error("%s: '%s': the full name in zone '%s' would be longer "
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
			return log_startup_error("%s: '%s' is given twice (names are case-insensitive)",
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
		return log_startup_error("%s: '%s': '%s' is not a list of addresses", lab, kq,
				   config_show(arr, val, sizeof(val)));
	n = json_object_array_length(arr);
	if (n == 0)
		return log_startup_error("%s: '%s': '[]' has no addresses (at least one is required)",
				   lab, kq);
	e->addrs = calloc(n, sizeof(*e->addrs));
	if (e->addrs == NULL)
		return config_oom();
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(arr, i);
		struct config_addr *a = &e->addrs[e->n_addrs];
		const char *s;

		if (config_json_str(el, &s) < 0 || config_parse_addr(s, &a->family, a->addr) < 0)
			return log_startup_error("%s: '%s': address '%s' is not an IPv4 or IPv6 address",
					   lab, kq, config_show(el, val, sizeof(val)));
		for (size_t j = 0; j < e->n_addrs; j++) {
			if (e->addrs[j].family == a->family &&
			    memcmp(e->addrs[j].addr, a->addr, sizeof(a->addr)) == 0)
				return log_startup_error("%s: '%s': address '%s' is listed twice", lab,
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
		return log_startup_error("%s: '%s': \"http_path\" '%s' is not a valid path (it must "
				   "start with '/', be printable ASCII without spaces, at most "
				   "1024 characters)",
				   lab, kq, config_show(v, val, sizeof(val)));
	e->http_path = strdup(s);
	return e->http_path != NULL ? 0 : config_oom();
}

/* The keys of a resolutions entry's object form. */
struct config_entry_keys {
	struct json_object *ips, *port, *check, *path, *rise, *fall, *ttl, *all_down;
	struct json_object *host, *status, *tls_name, *tls_ca, *tls_verify;
};

static int config_entry_keys(const char *lab, const char *kq, struct json_object *obj,
			     struct config_entry_keys *ks)
{
	char val[CONFIG_SHOW_MAX];

	memset(ks, 0, sizeof(*ks));
	json_object_object_foreach(obj, k, v)
	{
		static const struct {
			const char *name;
			size_t off;
		} keys[] = {
			{"ips", offsetof(struct config_entry_keys, ips)},
			{"health_port", offsetof(struct config_entry_keys, port)},
			{"check", offsetof(struct config_entry_keys, check)},
			{"http_path", offsetof(struct config_entry_keys, path)},
			{"rise", offsetof(struct config_entry_keys, rise)},
			{"fall", offsetof(struct config_entry_keys, fall)},
			{"ttl", offsetof(struct config_entry_keys, ttl)},
			{"all_down", offsetof(struct config_entry_keys, all_down)},
			{"http_host", offsetof(struct config_entry_keys, host)},
			{"http_status", offsetof(struct config_entry_keys, status)},
			{"tls_name", offsetof(struct config_entry_keys, tls_name)},
			{"tls_ca_file", offsetof(struct config_entry_keys, tls_ca)},
			{"tls_verify", offsetof(struct config_entry_keys, tls_verify)},
		};
		struct json_object **slot = NULL;

		for (size_t i = 0; i < AHD_ARRAY_LEN(keys) && slot == NULL; i++) {
			if (strcmp(k, keys[i].name) == 0)
				slot = (struct json_object **)((char *)ks + keys[i].off);
		}
		if (slot == NULL)
			return log_startup_error("%s: '%s': unknown key '%s' (known: ips, health_port, "
					   "check, http_path, http_host, http_status, tls_name, "
					   "tls_ca_file, tls_verify, rise, fall, ttl, all_down)",
					   lab, kq, config_quote(k, val, sizeof(val)));
		/* json-c keeps the last of repeated keys, as Python does. */
		*slot = v;
	}
	return 0;
}

/* "check" and "http_path". */
static int config_entry_check(const char *lab, const char *kq,
			      const struct config_entry_keys *ks, struct config_entry *e)
{
	static const struct {
		const char *name;
		enum config_check check;
	} kinds[] = {
		{"tcp", CONFIG_CHECK_TCP},
		{"http", CONFIG_CHECK_HTTP},
		{"https", CONFIG_CHECK_HTTPS},
	};
	char val[CONFIG_SHOW_MAX];
	const char *s;
	bool found = ks->check == NULL;

	e->check = CONFIG_CHECK_TCP;
	for (size_t i = 0; !found && i < AHD_ARRAY_LEN(kinds); i++) {
		if (config_json_str(ks->check, &s) == 0 && strcmp(s, kinds[i].name) == 0) {
			e->check = kinds[i].check;
			found = true;
		}
	}
	if (!found)
		return log_startup_error("%s: '%s': \"check\" '%s' is not a check type (\"tcp\", "
				   "\"http\" or \"https\")",
				   lab, kq, config_show(ks->check, val, sizeof(val)));
	if (ks->path != NULL && e->check == CONFIG_CHECK_TCP)
		return log_startup_error("%s: '%s': \"http_path\" '%s' is only valid with \"check\": "
				   "\"http\" or \"https\"",
				   lab, kq, config_show(ks->path, val, sizeof(val)));
	if (e->check == CONFIG_CHECK_TCP)
		return 0;
	if (ks->path != NULL)
		return config_entry_http_path(lab, kq, ks->path, e);
	e->http_path = strdup("/");
	return e->http_path != NULL ? 0 : config_oom();
}

int config_status_range(const char *s, struct config_status_range *out)
{
	unsigned long lo, hi;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return -1;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end != '\0' || lo < 100 || hi > 999 || lo > hi)
		return -1;
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

/* One element of "http_status": an integer status or a "lo-hi" string. */
static int config_status_el(struct json_object *el, struct config_status_range *out)
{
	const char *s;
	uint64_t x;

	if (json_object_is_type(el, json_type_int)) {
		if (config_json_uint(el, false, 100, 999, &x) < 0)
			return -1;
		out->lo = out->hi = (uint16_t)x;
		return 0;
	}
	return config_json_str(el, &s) == 0 ? config_status_range(s, out) : -1;
}

/* "http_status": 200, "200-299" or a list of those. */
static int config_entry_status(const char *lab, const char *kq, struct json_object *v,
			       struct config_entry *e)
{
	char val[CONFIG_SHOW_MAX];
	bool list = json_object_is_type(v, json_type_array);
	size_t n = list ? json_object_array_length(v) : 1;

	if (n == 0 || n > CONFIG_HTTP_STATUS_MAX)
		return log_startup_error("%s: '%s': \"http_status\" '%s' must hold 1-%u statuses",
				   lab, kq, config_show(v, val, sizeof(val)),
				   (unsigned)CONFIG_HTTP_STATUS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *el = list ? json_object_array_get_idx(v, i) : v;

		if (config_status_el(el, &e->http_status[i]) < 0)
			return log_startup_error("%s: '%s': \"http_status\" '%s' is not an HTTP status "
					   "(an integer 100-999) or a range of them (\"200-299\")",
					   lab, kq, config_show(el, val, sizeof(val)));
	}
	e->n_http_status = n;
	return 0;
}

/* A host name for "http_host" (an address too) or "tls_name". */
static int config_entry_host(const char *lab, const char *kq, const char *key,
			     struct json_object *v, bool addr_ok, char **out)
{
	char val[CONFIG_SHOW_MAX];
	uint8_t a[16];
	int family;
	const char *s = NULL, *why = "it is not a JSON string";

	if (config_json_str(v, &s) == 0) {
		why = dname_text_problem(s);
		if (addr_ok && config_parse_addr(s, &family, a) == 0)
			why = NULL;
		else if (why == NULL && config_parse_addr(s, &family, a) == 0)
			why = "an address is not a name (leave it out to verify the address)";
	}
	if (why != NULL)
		return log_startup_error("%s: '%s': \"%s\" '%s' is not a valid host name: %s", lab,
				   kq, key, config_show(v, val, sizeof(val)), why);
	*out = config_strdup_lower(s);
	return *out != NULL ? 0 : config_oom();
}

/* "tls_ca_file" and "tls_verify" (https only). The file is loaded later,
 * by check_tls_new, which names the entry if it cannot. */
static int config_entry_tls(const char *lab, const char *kq,
			    const struct config_entry_keys *ks, struct config_entry *e)
{
	char val[CONFIG_SHOW_MAX];
	const char *s;
	bool verify = true;

	if (ks->tls_verify != NULL && config_json_bool(ks->tls_verify, &verify) < 0)
		return log_startup_error("%s: '%s': \"tls_verify\" '%s' is not true or false", lab,
				   kq, config_show(ks->tls_verify, val, sizeof(val)));
	e->tls_no_verify = !verify;
	if (ks->tls_ca == NULL)
		return 0;
	if (config_json_str(ks->tls_ca, &s) < 0 || s[0] != '/' || strlen(s) >= 4096)
		return log_startup_error("%s: '%s': \"tls_ca_file\" '%s' is not an absolute path",
				   lab, kq, config_show(ks->tls_ca, val, sizeof(val)));
	if (!verify)
		return log_startup_error("%s: '%s': \"tls_ca_file\" '%s' is given with \"tls_verify\": "
				   "false (nothing would be verified against it)",
				   lab, kq, config_show(ks->tls_ca, val, sizeof(val)));
	e->tls_ca_file = strdup(s);
	return e->tls_ca_file != NULL ? 0 : config_oom();
}

/* The keys of the http and https checks, refused with any other check. */
static int config_entry_http(const char *lab, const char *kq,
			     const struct config_entry_keys *ks, struct config_entry *e)
{
	static const struct {
		const char *name;
		size_t off;
		bool tls;
	} only[] = {
		{"http_host", offsetof(struct config_entry_keys, host), false},
		{"http_status", offsetof(struct config_entry_keys, status), false},
		{"tls_name", offsetof(struct config_entry_keys, tls_name), true},
		{"tls_ca_file", offsetof(struct config_entry_keys, tls_ca), true},
		{"tls_verify", offsetof(struct config_entry_keys, tls_verify), true},
	};
	char val[CONFIG_SHOW_MAX];

	for (size_t i = 0; i < AHD_ARRAY_LEN(only); i++) {
		struct json_object *v = *(struct json_object *const *)((const char *)ks + only[i].off);
		bool ok = only[i].tls ? e->check == CONFIG_CHECK_HTTPS : e->check != CONFIG_CHECK_TCP;

		if (v != NULL && !ok)
			return log_startup_error("%s: '%s': \"%s\" '%s' is only valid with \"check\": "
					   "%s",
					   lab, kq, only[i].name, config_show(v, val, sizeof(val)),
					   only[i].tls ? "\"https\"" : "\"http\" or \"https\"");
	}
	if (e->check == CONFIG_CHECK_TCP)
		return 0;
	if (ks->host != NULL &&
	    config_entry_host(lab, kq, "http_host", ks->host, true, &e->http_host) < 0)
		return -1;
	if (ks->status != NULL && config_entry_status(lab, kq, ks->status, e) < 0)
		return -1;
	if (ks->tls_name != NULL &&
	    config_entry_host(lab, kq, "tls_name", ks->tls_name, false, &e->tls_name) < 0)
		return -1;
	return e->check == CONFIG_CHECK_HTTPS ? config_entry_tls(lab, kq, ks, e) : 0;
}

/* "rise", "fall", "ttl" and "all_down": optional, defaults already set. */
static int config_entry_tuning(const char *lab, const char *kq,
			       const struct config_entry_keys *ks, struct config_entry *e)
{
	char val[CONFIG_SHOW_MAX];
	uint64_t x;
	const char *s;

	if (ks->rise != NULL) {
		if (config_json_uint(ks->rise, false, 1, 100, &x) < 0)
			return log_startup_error("%s: '%s': \"rise\" '%s' is not an integer 1-100", lab,
					   kq, config_show(ks->rise, val, sizeof(val)));
		e->rise = (unsigned)x;
	}
	if (ks->fall != NULL) {
		if (config_json_uint(ks->fall, false, 1, 100, &x) < 0)
			return log_startup_error("%s: '%s': \"fall\" '%s' is not an integer 1-100", lab,
					   kq, config_show(ks->fall, val, sizeof(val)));
		e->fall = (unsigned)x;
	}
	if (ks->ttl != NULL) {
		if (config_json_uint(ks->ttl, false, 0, AHD_TTL_MAX, &x) < 0)
			return log_startup_error("%s: '%s': \"ttl\" '%s' is not a valid TTL (an integer "
					   "0-2147483647)",
					   lab, kq, config_show(ks->ttl, val, sizeof(val)));
		e->ttl = (int64_t)x;
	}
	if (ks->all_down == NULL)
		return 0;
	if (config_json_str(ks->all_down, &s) == 0 && strcmp(s, "withdraw") == 0)
		e->all_down = CONFIG_ALL_DOWN_WITHDRAW;
	else if (config_json_str(ks->all_down, &s) == 0 && strcmp(s, "serve_all") == 0)
		e->all_down = CONFIG_ALL_DOWN_SERVE_ALL;
	else
		return log_startup_error("%s: '%s': \"all_down\" '%s' is not \"withdraw\" or "
				   "\"serve_all\"",
				   lab, kq, config_show(ks->all_down, val, sizeof(val)));
	return 0;
}

static int config_entry_object(const char *lab, const char *key, struct json_object *obj,
			       struct config_entry *e)
{
	char kq[CONFIG_SHOW_MAX];
	char val[CONFIG_SHOW_MAX];
	struct config_entry_keys ks;
	uint64_t x;

	config_quote(key, kq, sizeof(kq));
	if (config_entry_keys(lab, kq, obj, &ks) < 0)
		return -1;
	if (ks.ips == NULL)
		return log_startup_error("%s: '%s': \"ips\" is required in the object form", lab, kq);
	if (ks.port == NULL)
		return log_startup_error("%s: '%s': \"health_port\" is required in the object form",
				   lab, kq);
	if (config_entry_addrs(lab, key, ks.ips, e) < 0)
		return -1;
	if (config_json_uint(ks.port, false, 1, 65535, &x) < 0)
		return log_startup_error("%s: '%s': \"health_port\" '%s' is not a valid port (an "
				   "integer 1-65535)",
				   lab, kq, config_show(ks.port, val, sizeof(val)));
	e->health_port = (uint16_t)x;
	if (config_entry_check(lab, kq, &ks, e) < 0 || config_entry_http(lab, kq, &ks, e) < 0)
		return -1;
	return config_entry_tuning(lab, kq, &ks, e);
}

int config_entries(struct config *cfg, const struct config_raw *raw)
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
		log_startup_error("%s: '%s' is not a JSON object mapping names to addresses", lab,
			    config_show(raw->v[FL_ZONE_RESOLUTIONS], val, sizeof(val)));
		goto out;
	}
	n = (size_t)json_object_object_length(root);
	if (n == 0) {
		log_startup_error("%s: '%s' has no names (at least one is required)", lab,
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
			log_startup_error("%s: '%s': '%s' is neither a list of addresses nor an object "
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
