/*
 * --priv-key-path (repeatable), each key's key-state file, and the
 * rollover settings --key-propagation-delay and --cds (DESIGN §13).
 *
 * The supervisor's parse (check_system) reads each "<path>.state" file
 * beside the key, as root like the key itself; the serialization carries
 * what it said, so no child reads a file again: there "priv-key-path" is
 * a list of objects {"path", "role", "algorithm", "publish", ...}.
 */
#include "config.h"
#include "config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"
#include "file.h"

/* The default: a few minutes for secondaries to follow a NOTIFY (BIND's
 * zone-propagation-delay is 300 s as well). */
#define CONFIG_DEFAULT_KEY_PROPAGATION 300
#define CONFIG_KEY_PROPAGATION_MAX (7 * 86400)

/* "<path>.state", if it exists: a missing file is the default CSK. */
static int config_key_state(struct config_key *k, const char *lab)
{
	char path[4096], val[CONFIG_SHOW_MAX], err[256];
	char buf[KEYROLL_FILE_MAX + 1];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s" KEYROLL_SUFFIX, k->path) >= sizeof(path))
		return log_startup_error("%s: '%s' is too long", lab,
					 config_quote(k->path, val, sizeof(val)));
	config_quote(path, val, sizeof(val));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return log_startup_error("%s: key-state file '%s' cannot be opened: %s", lab, val,
					 strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return log_startup_error("%s: key-state file '%s' cannot be read: %s", lab, val,
					 strerror(errno));
	if (keyroll_parse(buf, (size_t)n, &k->spec, err, sizeof(err)) < 0)
		return log_startup_error("%s: key-state file '%s': %s", lab, val, err);
	return 0;
}

/* A key file must be a regular file we can open (the supervisor reads
 * it as root later; fail here with the flag's name). */
static int config_key_file(const char *lab, const char *s)
{
	char val[CONFIG_SHOW_MAX];
	struct stat st;
	int fd;

	config_quote(s, val, sizeof(val));
	/* O_NONBLOCK: a FIFO given by mistake must not hang start-up. */
	fd = open(s, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return log_startup_error("%s: '%s' cannot be opened for reading: %s", lab, val,
					 strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_startup_error("%s: '%s' is not a regular file (give the path of a PEM "
					 "private key file)", lab, val);
	}
	close(fd);
	return 0;
}

/* The serialization's object form of one key. */
static int config_key_obj(struct config_key *k, const char *lab, struct json_object *o)
{
	static const char *const times[] = { "publish", "activate", "retire", "remove" };
	int64_t *dst[] = { &k->spec.publish, &k->spec.activate, &k->spec.retire,
			   &k->spec.remove };
	struct json_object *v;
	uint64_t u;

	if (!json_object_object_get_ex(o, "role", &v) ||
	    config_json_uint(v, false, 0, KEYROLL_ZSK, &u) < 0)
		return log_startup_error("%s: a key without a role", lab);
	k->spec.role = (enum keyroll_role)u;
	if (!json_object_object_get_ex(o, "algorithm", &v) ||
	    config_json_uint(v, false, 0, 255, &u) < 0)
		return log_startup_error("%s: a key without an algorithm", lab);
	k->spec.alg = (unsigned)u;
	for (size_t i = 0; i < AHD_ARRAY_LEN(times); i++)
		if (json_object_object_get_ex(o, times[i], &v))
			*dst[i] = json_object_get_int64(v);
	return 0;
}

/* One entry of the list: a path (string), or the serialization's object. */
static int config_key_add(struct config *cfg, const struct config_raw *raw, const char *lab,
			  struct json_object *v)
{
	char val[CONFIG_SHOW_MAX];
	struct config_key *k;
	struct json_object *p = v;
	const char *s;

	if (raw->src[FL_PRIV_KEY_PATH] == CONFIG_SRC_JSON &&
	    json_object_is_type(v, json_type_object))
		json_object_object_get_ex(v, "path", &p);
	if (config_json_str(p, &s) < 0)
		return log_startup_error("%s: '%s' is not a path", lab,
					 config_show(v, val, sizeof(val)));
	if (s[0] == '\0')
		return log_startup_error("%s: '' is empty (give the path of a PEM private key file)",
					 lab);
	for (size_t i = 0; i < cfg->n_keys; i++)
		if (strcmp(cfg->keys[i].path, s) == 0)
			return log_startup_error("%s: '%s' is given twice", lab,
						 config_quote(s, val, sizeof(val)));
	if (cfg->n_keys == KEYROLL_MAX)
		return log_startup_error("%s: more than %d keys", lab, KEYROLL_MAX);
	if (raw->check_system && config_key_file(lab, s) < 0)
		return -1;
	k = &cfg->keys[cfg->n_keys];
	memset(k, 0, sizeof(*k));
	keyroll_spec_default(&k->spec);
	k->path = strdup(s);
	if (k->path == NULL)
		return config_oom();
	cfg->n_keys++;
	if (p != v && config_key_obj(k, lab, v) < 0)
		return -1;
	if (raw->check_system && config_key_state(k, lab) < 0)
		return -1;
	k->alg = k->spec.alg != 0 ? (enum config_alg)k->spec.alg : cfg->priv_key_alg;
	return 0;
}

/* The list: a JSON array (the file, the command line, the
 * serialization), or one path (an environment variable holding "[...]"
 * is a list too). */
static int config_key_paths(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	struct json_object *v = raw->v[FL_PRIV_KEY_PATH], *arr = NULL;
	const char *s;
	int rc = 0;

	config_label(raw, FL_PRIV_KEY_PATH, lab, sizeof(lab));
	if (json_object_is_type(v, json_type_string) && config_json_str(v, &s) == 0 &&
	    s[0] == '[') {
		if (config_flag_array(raw, FL_PRIV_KEY_PATH, "paths", &arr) < 0)
			return -1;
		v = arr;
	}
	cfg->keys = calloc(KEYROLL_MAX, sizeof(*cfg->keys));
	if (cfg->keys == NULL) {
		json_object_put(arr);
		return config_oom();
	}
	if (json_object_is_type(v, json_type_array)) {
		if (json_object_array_length(v) == 0)
			rc = log_startup_error("%s: an empty list (give one path or more)", lab);
		for (size_t i = 0; rc == 0 && i < json_object_array_length(v); i++)
			rc = config_key_add(cfg, raw, lab, json_object_array_get_idx(v, i));
	} else {
		rc = config_key_add(cfg, raw, lab, v);
	}
	json_object_put(arr);
	if (rc < 0)
		return -1;
	cfg->priv_key_path = strdup(cfg->keys[0].path);
	return cfg->priv_key_path != NULL ? 0 : config_oom();
}

static int config_cds(struct config *cfg, const struct config_raw *raw)
{
	static const char *const names[] = { "ksk", "none", "delete" };
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX];
	const char *s;

	cfg->cds = CONFIG_CDS_KSK;
	if (raw->v[FL_CDS] == NULL)
		return 0;
	if (config_flag_str(raw, FL_CDS, &s) < 0)
		return -1;
	for (size_t i = 0; i < AHD_ARRAY_LEN(names); i++)
		if (strcasecmp(s, names[i]) == 0) {
			cfg->cds = (enum config_cds)i;
			return 0;
		}
	config_label(raw, FL_CDS, lab, sizeof(lab));
	return log_startup_error("%s: '%s' is not ksk, none or delete", lab,
				 config_quote(s, val, sizeof(val)));
}

int config_keys(struct config *cfg, const struct config_raw *raw)
{
	cfg->key_propagation = CONFIG_DEFAULT_KEY_PROPAGATION;
	if (raw->v[FL_KEY_PROPAGATION_DELAY] != NULL &&
	    config_flag_duration(raw, FL_KEY_PROPAGATION_DELAY, 0, CONFIG_KEY_PROPAGATION_MAX,
				 &cfg->key_propagation) < 0)
		return -1;
	if (config_cds(cfg, raw) < 0)
		return -1;
	if (raw->v[FL_PRIV_KEY_PATH] == NULL)
		return 0;
	return config_key_paths(cfg, raw);
}

struct json_object *config_keys_json(const struct config *cfg)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < cfg->n_keys; i++) {
		const struct config_key *k = &cfg->keys[i];
		struct json_object *o = json_object_new_object();

		if (o == NULL || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
		json_object_object_add(o, "path", json_object_new_string(k->path));
		json_object_object_add(o, "role", json_object_new_int(k->spec.role));
		json_object_object_add(o, "algorithm", json_object_new_int((int)k->spec.alg));
		json_object_object_add(o, "publish", json_object_new_int64(k->spec.publish));
		json_object_object_add(o, "activate", json_object_new_int64(k->spec.activate));
		json_object_object_add(o, "retire", json_object_new_int64(k->spec.retire));
		json_object_object_add(o, "remove", json_object_new_int64(k->spec.remove));
	}
	return a;
}
