#include "config.h"
#include "config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pwd.h>
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
	return log_startup_error("%s: '%s' is not a log level (debug, info, warning, error or "
			   "critical)",
			   lab, config_quote(s, val, sizeof(val)));
}

static int config_priv_key(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s;

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
			return log_startup_error("%s: '%s' is not a supported algorithm (RSASHA256, "
					   "RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519 "
					   "or ED448)",
					   lab, config_quote(s, val, sizeof(val)));
		}
	}
	/* The paths, their key-state files, the rollover settings. */
	return config_keys(cfg, raw);
}

static int config_listen_add(struct config *cfg, const char *lab, const char *s)
{
	char val[CONFIG_SHOW_MAX];
	struct config_listen l;
	struct config_listen *grown;

	memset(&l, 0, sizeof(l));
	config_quote(s, val, sizeof(val));
	if (strlen(s) >= sizeof(l.text) || config_parse_addr(s, &l.family, l.addr) < 0)
		return log_startup_error("%s: '%s' is not an IPv4 or IPv6 address (the port comes from "
				   "--port)",
				   lab, val);
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (cfg->listen[i].family == l.family &&
		    memcmp(cfg->listen[i].addr, l.addr, sizeof(l.addr)) == 0)
			return log_startup_error("%s: '%s' is given twice", lab, val);
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
		return log_startup_error("%s: '%s' is not an address string", lab,
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
		rc = log_startup_error("%s: '%s' is not an IPv4 or IPv6 address", lab,
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
	return log_startup_error("%s: '%s' is not an address or a list of addresses", lab,
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
		return log_startup_error("%s: '%s' is not an account (name, uid and gid)", lab,
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
			return log_startup_error("--user: neither the account '%s' nor 'nobody' "
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
			return log_startup_error("%s: '' is not an account name", lab);
		if (raw->check_system) {
			pw = getpwnam(s);
			if (pw == NULL)
				return log_startup_error("%s: '%s' is not an existing account", lab, val);
			if (pw->pw_uid == 0)
				return log_startup_error("%s: '%s' has uid 0 (the workers and the prober "
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
			return log_startup_error("%s: '%s' is not a valid shared memory name ('/' then "
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
	return log_startup_error("%s: '%s' is not a boolean (1, true, yes, on or 0, false, no, off)",
			   lab, config_show(raw->v[FL_CHECK_CONFIG], val, sizeof(val)));
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
		return log_startup_error("%s: sched_getaffinity: %s", lab, strerror(errno));
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
				return log_startup_error("%s: '%s': CPU %lu is not one this process "
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
	return log_startup_error("%s: '%s' is not a valid CPU list (CPU numbers and ranges "
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
			return log_startup_error("%s: 'hostname': gethostname: %s", lab, strerror(errno));
		host[sizeof(host) - 1] = '\0';
		s = host;
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (config_unhex(s + 2, cfg->nsid, sizeof(cfg->nsid), &len) < 0 || len == 0)
			return log_startup_error("%s: '%s' is not valid hex (0x and 2-256 hex digits, "
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
		return log_startup_error("%s: '%s' is not a valid NSID (1-128 printable ASCII "
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
			return log_startup_error("--cookie-secret: no random default: getrandom: %s",
					   strerror(errno));
		return 0;
	}
	if (config_flag_str(raw, FL_COOKIE_SECRET, &s) < 0)
		return -1;
	if (config_unhex(s, cfg->cookie_secret, sizeof(cfg->cookie_secret), &len) < 0 ||
	    len != sizeof(cfg->cookie_secret)) {
		config_label(raw, FL_COOKIE_SECRET, lab, sizeof(lab));
		/* The value is a secret: not echoed. */
		return log_startup_error("%s: the value is not 32 hex digits (a 16-byte secret)", lab);
	}
	return 0;
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
		return log_startup_error("%s: '%s' is not below the signature lifetime (%s): a "
				   "signature would be re-signed as soon as it is made",
				   lab, config_show(raw->v[FL_RRSIG_REFRESH], val, sizeof(val)),
				   config_duration_text(cfg->rrsig_lifetime, a, sizeof(a)));
	}
	if (cfg->priv_key_path == NULL || cfg->rrsig_refresh >= need)
		return 0;
	id = has_r ? FL_RRSIG_REFRESH : FL_RRSIG_LIFETIME;
	config_label(raw, id, lab, sizeof(lab));
	return log_startup_error("%s: signatures would be re-signed with %s left, less than the "
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
/* --state-dir: absolute; an existing directory when the system is
 * checked (the supervisor writes its files there as root). */
static int config_state_dir(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	struct stat st;
	const char *s;

	if (raw->v[FL_STATE_DIR] == NULL)
		return 0;
	if (config_flag_str(raw, FL_STATE_DIR, &s) < 0)
		return -1;
	config_label(raw, FL_STATE_DIR, lab, sizeof(lab));
	config_quote(s, val, sizeof(val));
	if (s[0] != '/')
		return log_startup_error("%s: '%s' is not an absolute path", lab, val);
	if (raw->check_system && stat(s, &st) < 0)
		return log_startup_error("%s: '%s': %s", lab, val, strerror(errno));
	if (raw->check_system && !S_ISDIR(st.st_mode))
		return log_startup_error("%s: '%s' is not a directory", lab, val);
	cfg->state_dir = strdup(s);
	return cfg->state_dir != NULL ? 0 : config_oom();
}

/* --control-socket: an absolute path that fits a sockaddr_un, or "none". */
static int config_control_socket(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s = CONFIG_CONTROL_SOCKET_DEFAULT;

	if (raw->v[FL_CONTROL_SOCKET] != NULL) {
		if (config_flag_str(raw, FL_CONTROL_SOCKET, &s) < 0)
			return -1;
		cfg->control_socket_given = true;
		if (strcmp(s, "none") == 0)
			return 0;
		config_label(raw, FL_CONTROL_SOCKET, lab, sizeof(lab));
		config_quote(s, val, sizeof(val));
		if (s[0] != '/')
			return log_startup_error("%s: '%s' is not an absolute path (or none)", lab,
						 val);
		if (strlen(s) >= CONFIG_CONTROL_PATH_MAX)
			return log_startup_error("%s: '%s' is longer than a UNIX socket path may be "
						 "(%d bytes)", lab, val, CONFIG_CONTROL_PATH_MAX - 1);
	}
	cfg->control_socket = strdup(s);
	return cfg->control_socket != NULL ? 0 : config_oom();
}

const char *config_xdp_mode_name(enum config_xdp_mode mode)
{
	return mode == CONFIG_XDP_NATIVE ? "native" : mode == CONFIG_XDP_GENERIC ? "generic" : "auto";
}

/* --xdp IFACE and --xdp-mode. The interface must exist when the server
 * starts (the supervisor attaches there); --check-config says so early. */
static int config_xdp(struct config *cfg, const struct config_raw *raw)
{
	static const enum config_xdp_mode modes[] = {CONFIG_XDP_AUTO, CONFIG_XDP_NATIVE,
						     CONFIG_XDP_GENERIC};
	char lab[CONFIG_LABEL_MAX];
	char val[CONFIG_SHOW_MAX];
	const char *s;
	bool found = false;

	if (raw->v[FL_XDP_MODE] != NULL) {
		if (config_flag_str(raw, FL_XDP_MODE, &s) < 0)
			return -1;
		for (size_t i = 0; i < AHD_ARRAY_LEN(modes) && !found; i++) {
			if (strcmp(s, config_xdp_mode_name(modes[i])) == 0) {
				cfg->xdp_mode = modes[i];
				found = true;
			}
		}
		if (!found) {
			config_label(raw, FL_XDP_MODE, lab, sizeof(lab));
			return log_startup_error("%s: '%s' is not an XDP mode (auto, native or generic)",
						 lab, config_quote(s, val, sizeof(val)));
		}
	}
	if (raw->v[FL_XDP] == NULL)
		return 0;
	if (config_flag_str(raw, FL_XDP, &s) < 0)
		return -1;
	config_label(raw, FL_XDP, lab, sizeof(lab));
	config_quote(s, val, sizeof(val));
	if (*s == '\0' || strlen(s) >= IF_NAMESIZE || strchr(s, '/') != NULL)
		return log_startup_error("%s: '%s' is not an interface name", lab, val);
	if (raw->check_system && if_nametoindex(s) == 0)
		return log_startup_error("%s: there is no interface named '%s'", lab, val);
	cfg->xdp_iface = strdup(s);
	return cfg->xdp_iface != NULL ? 0 : config_oom();
}

int config_build(struct config *cfg, const struct config_raw *raw)
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
	    config_state_dir(cfg, raw) < 0 || config_metrics_listen(cfg, raw) < 0 ||
	    config_control_socket(cfg, raw) < 0 || config_xdp(cfg, raw) < 0 ||
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
	if (config_xfr(cfg, raw) < 0 || config_rrl(cfg, raw) < 0)
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

const char *config_check_name(unsigned check)
{
	static const char *const names[] = {
		[CONFIG_CHECK_NONE] = "none",
		[CONFIG_CHECK_TCP] = "tcp",
		[CONFIG_CHECK_HTTP] = "http",
		[CONFIG_CHECK_HTTPS] = "https",
	};

	return check < AHD_ARRAY_LEN(names) ? names[check] : "none";
}

const char *config_alg_name(enum config_alg alg)
{
	for (size_t i = 0; i < AHD_ARRAY_LEN(config_algs); i++) {
		if (config_algs[i].alg == alg)
			return config_algs[i].name;
	}
	return "?";
}

static uint32_t config_clamp(uint64_t x) { return x > AHD_TTL_MAX ? AHD_TTL_MAX : (uint32_t)x; }

/*
 * The original's EXPIRE (5 x retry) is shorter than its REFRESH: harmless
 * without secondaries, since no one reads it, but a secondary would drop
 * the zone between two refreshes. Once transfers are allowed (DESIGN
 * §9.7) EXPIRE is what secondaries need: 14 days unsigned (RFC 1912 asks
 * for 2-4 weeks), and signed, no longer than the signatures they hold
 * are sure to last (sig_ttl_max: every RRSIG served has at least that
 * left), so a secondary cut off from a dead primary stops answering
 * before it would serve expired signatures.
 */
static void config_ttls_expire(const struct config *cfg, struct config_ttls *out)
{
	uint64_t expire = cfg->priv_key_path != NULL ? out->sig_ttl_max : CONFIG_XFR_EXPIRE;

	if (cfg->n_transfer_allow == 0)
		return;
	if (expire < (uint64_t)out->refresh + out->retry)
		expire = (uint64_t)out->refresh + out->retry;
	if (expire > out->expire)
		out->expire = config_clamp(expire);
}

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
	config_ttls_expire(cfg, out);
}
