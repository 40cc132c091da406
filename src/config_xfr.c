/*
 * Replication options (DESIGN §9): who may transfer the zones
 * (--transfer-allow), whom to NOTIFY (--notify), how many differences
 * to keep for IXFR (--ixfr-history); the key is config_tsig.c's.
 */
#include "config.h"
#include "config_int.h"

#include <arpa/inet.h>
#include <string.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"

/* Strict decimal 0..max: digits only, at most 5 of them. */
static int config_xfr_number(const char *s, unsigned max, unsigned *out)
{
	unsigned x = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (unsigned)(*s - '0');
	}
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

const char *config_prefix_text(const struct config_prefix *p, char *buf, size_t n)
{
	char addr[INET6_ADDRSTRLEN];

	snprintf(buf, n, "%s/%u", config_addr_text(p->family, p->addr, addr, sizeof(addr)),
		 (unsigned)p->len);
	return buf;
}

/*
 * One prefix: "192.0.2.0/24", "2001:db8::/64", or a bare address (the
 * host alone). Host bits set beyond the length are refused rather than
 * cleared: "192.0.2.1/24" is more often a typo for /32 than a network.
 */
static int config_prefix_parse(const char *lab, const char *s, struct config_prefix *p)
{
	char val[CONFIG_SHOW_MAX], addr[INET6_ADDRSTRLEN + 1], net[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned bits, len;
	struct config_prefix masked;

	memset(p, 0, sizeof(*p));
	config_quote(s, val, sizeof(val));
	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (config_parse_addr(addr, &p->family, p->addr) < 0)
		goto bad;
	bits = p->family == AF_INET ? 32 : 128;
	len = bits;
	if (slash != NULL && config_xfr_number(slash + 1, bits, &len) < 0)
		return log_startup_error("%s: '%s': the prefix length is not an integer 0-%u", lab,
					 val, bits);
	p->len = (uint8_t)len;
	masked = *p;
	for (unsigned b = len; b < bits; b++)
		masked.addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	if (memcmp(masked.addr, p->addr, sizeof(p->addr)) != 0)
		return log_startup_error("%s: '%s' has bits set beyond the first %u (the network "
					 "is %s)",
					 lab, val, len,
					 config_prefix_text(&masked, net, sizeof(net)));
	return 0;
bad:
	return log_startup_error("%s: '%s' is not an IPv4 or IPv6 address or prefix "
				 "(e.g. 192.0.2.0/24, 2001:db8::/64, ::1)",
				 lab, val);
}

/* The flag's JSON array, each element a string; NULL array: not given. */
static int config_xfr_list(const struct config_raw *raw, int id, const char *what,
			   size_t max, struct json_object **arr)
{
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX];
	size_t n;
	const char *s;

	*arr = NULL;
	if (raw->v[id] == NULL)
		return 0;
	if (config_flag_array(raw, id, what, arr) < 0)
		return -1;
	config_label(raw, id, lab, sizeof(lab));
	n = json_object_array_length(*arr);
	if (n > max) {
		log_startup_error("%s: '%s' has %zu elements, at most %zu are allowed", lab,
				  config_show(raw->v[id], val, sizeof(val)), n, max);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(*arr, i);

		if (config_json_str(e, &s) < 0) {
			log_startup_error("%s: element '%s' is not a string (give a JSON array of "
					  "%s)",
					  lab, config_show(e, val, sizeof(val)), what);
			goto fail;
		}
	}
	return 0;
fail:
	json_object_put(*arr);
	*arr = NULL;
	return -1;
}

static int config_transfer_allow(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX];
	struct json_object *arr;
	int rc = 0;

	cfg->n_transfer_allow = 0;
	if (config_xfr_list(raw, FL_TRANSFER_ALLOW, "address prefixes", CONFIG_XFR_ACL_MAX,
			    &arr) < 0)
		return -1;
	if (arr == NULL)
		return 0;
	config_label(raw, FL_TRANSFER_ALLOW, lab, sizeof(lab));
	for (size_t i = 0; rc == 0 && i < json_object_array_length(arr); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
		struct config_prefix *p = &cfg->transfer_allow[cfg->n_transfer_allow];

		rc = config_prefix_parse(lab, s, p);
		for (size_t j = 0; rc == 0 && j < cfg->n_transfer_allow; j++) {
			const struct config_prefix *q = &cfg->transfer_allow[j];

			if (q->family == p->family && q->len == p->len &&
			    memcmp(q->addr, p->addr, sizeof(p->addr)) == 0)
				rc = log_startup_error("%s: '%s' is given twice", lab,
						       config_quote(s, val, sizeof(val)));
		}
		if (rc == 0)
			cfg->n_transfer_allow++;
	}
	json_object_put(arr);
	return rc;
}

/* "[2001:db8::1]:5353" / "192.0.2.1:5353" / a bare address: the address
 * text into addr, the port text (or NULL) into *port. */
static int config_notify_split(const char *s, char *addr, size_t cap, const char **port)
{
	const char *colon = strchr(s, ':');
	size_t n;

	*port = NULL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		n = (size_t)(end - s - 1);
		if (end[1] == ':')
			*port = end + 2;
		s++;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s); /* one colon: IPv4 and a port */
		*port = colon + 1;
	} else {
		n = strlen(s); /* no colon, or IPv6 without brackets */
	}
	if (n >= cap)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return 0;
}

/* An address a secondary can have: not unspecified, multicast or
 * broadcast (a NOTIFY sent there reaches no one or everyone). */
static bool config_notify_unicast(int family, const uint8_t a[16])
{
	static const uint8_t zero[16];

	if (family == AF_INET)
		return memcmp(a, zero, 4) != 0 && (a[0] & 0xf0) != 0xe0 &&
		       !(a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
	return memcmp(a, zero, 16) != 0 && a[0] != 0xff;
}

static int config_notify_parse(const char *lab, const char *s, struct config_notify *t)
{
	char val[CONFIG_SHOW_MAX], addr[INET6_ADDRSTRLEN + 1];
	const char *port;
	unsigned p = 53;

	memset(t, 0, sizeof(*t));
	config_quote(s, val, sizeof(val));
	if (strlen(s) >= sizeof(t->text) ||
	    config_notify_split(s, addr, sizeof(addr), &port) < 0 ||
	    config_parse_addr(addr, &t->family, t->addr) < 0 ||
	    (s[0] == '[' && t->family != AF_INET6))
		return log_startup_error("%s: '%s' is not an address with an optional port "
					 "(e.g. 192.0.2.53, 192.0.2.53:5353, 2001:db8::53, "
					 "[2001:db8::53]:5353)",
					 lab, val);
	if (port != NULL && (config_xfr_number(port, 65535, &p) < 0 || p == 0))
		return log_startup_error("%s: '%s': the port is not an integer 1-65535", lab, val);
	if (!config_notify_unicast(t->family, t->addr))
		return log_startup_error("%s: '%s' is not a unicast address (unspecified, "
					 "multicast or broadcast)",
					 lab, val);
	t->port = (uint16_t)p;
	strlcpy(t->text, s, sizeof(t->text));
	return 0;
}

/* --metrics-listen: an address and a port, both required; unlike a
 * secondary it may be the unspecified address (every interface). */
int config_metrics_listen(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX], addr[INET6_ADDRSTRLEN + 1];
	struct config_notify *t = &cfg->metrics_listen;
	const char *s, *port;
	unsigned p = 0;

	memset(t, 0, sizeof(*t));
	if (raw->v[FL_METRICS_LISTEN] == NULL)
		return 0;
	if (config_flag_str(raw, FL_METRICS_LISTEN, &s) < 0)
		return -1;
	config_label(raw, FL_METRICS_LISTEN, lab, sizeof(lab));
	config_quote(s, val, sizeof(val));
	if (strlen(s) >= sizeof(t->text) ||
	    config_notify_split(s, addr, sizeof(addr), &port) < 0 || port == NULL ||
	    config_parse_addr(addr, &t->family, t->addr) < 0 ||
	    (s[0] == '[' && t->family != AF_INET6))
		return log_startup_error("%s: '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:9720, "
					 "[::1]:9720)",
					 lab, val);
	if (config_xfr_number(port, 65535, &p) < 0 || p == 0)
		return log_startup_error("%s: '%s': the port is not an integer 1-65535", lab, val);
	t->port = (uint16_t)p;
	strlcpy(t->text, s, sizeof(t->text));
	return 0;
}

static int config_notify(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX];
	struct json_object *arr;
	int rc = 0;

	cfg->n_notify = 0;
	if (config_xfr_list(raw, FL_NOTIFY, "secondary addresses", CONFIG_NOTIFY_MAX, &arr) < 0)
		return -1;
	if (arr == NULL)
		return 0;
	config_label(raw, FL_NOTIFY, lab, sizeof(lab));
	for (size_t i = 0; rc == 0 && i < json_object_array_length(arr); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
		struct config_notify *t = &cfg->notify[cfg->n_notify];

		rc = config_notify_parse(lab, s, t);
		/* The same secondary twice would get every NOTIFY twice. */
		for (size_t j = 0; rc == 0 && j < cfg->n_notify; j++) {
			const struct config_notify *u = &cfg->notify[j];

			if (u->family == t->family && u->port == t->port &&
			    memcmp(u->addr, t->addr, sizeof(t->addr)) == 0)
				rc = log_startup_error("%s: '%s' is given twice", lab,
						       config_quote(s, val, sizeof(val)));
		}
		if (rc == 0)
			cfg->n_notify++;
	}
	json_object_put(arr);
	return rc;
}

_Static_assert(CONFIG_IXFR_HISTORY_MAX == 1024, "the --ixfr-history message says 0-1024");

int config_xfr(struct config *cfg, const struct config_raw *raw)
{
	if (config_transfer_allow(cfg, raw) < 0 || config_notify(cfg, raw) < 0 ||
	    config_tsig_key(cfg, raw) < 0)
		return -1;
	return config_flag_uint_or(raw, FL_IXFR_HISTORY, 0, CONFIG_IXFR_HISTORY_MAX,
				   "a valid history length (an integer 0-1024; 0: AXFR only)",
				   CONFIG_DEFAULT_IXFR_HISTORY, &cfg->ixfr_history);
}
