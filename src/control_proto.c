/*
 * The control protocol and the override records (control.h): pure
 * parsing and formatting, no I/O, no logging. Fuzzed (fuzz_control.c).
 */
#include "control.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "ahd.h"

#define CONTROL_FIELDS_MAX 8

static const char *const control_verbs[] = {
	[CONTROL_STATUS] = "status",
	[CONTROL_STATUS_JSON] = "status-json",
	[CONTROL_DRAIN] = "drain",
	[CONTROL_UNDRAIN] = "undrain",
	[CONTROL_FORCE_UP] = "force-up",
};

const char *control_verb_name(enum control_verb v)
{
	return (size_t)v < AHD_ARRAY_LEN(control_verbs) ? control_verbs[v] : "?";
}

/* A field of a line: start and length, not NUL-terminated. */
struct control_field {
	const char *p;
	size_t len;
};

/* Split line at TABs into at most max fields. Returns the count, or -1 if
 * there are more, or a byte below 0x20 (other than TAB) or 0x7f. */
static int control_split(const char *line, size_t len, struct control_field *f, int max)
{
	int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t') {
			unsigned char c = (unsigned char)line[i];

			if (c < 0x20 || c == 0x7f)
				return -1;
			continue;
		}
		if (n == max)
			return -1;
		f[n].p = line + start;
		f[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/* Copy a field into buf (cap bytes); -1 if it does not fit. */
static int control_copy(const struct control_field *f, char *buf, size_t cap)
{
	if (f->len >= cap)
		return -1;
	memcpy(buf, f->p, f->len);
	buf[f->len] = '\0';
	return 0;
}

static bool control_field_is(const struct control_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

static int control_verb_of(const struct control_field *f, enum control_verb *v)
{
	for (size_t i = 0; i < AHD_ARRAY_LEN(control_verbs); i++) {
		if (control_field_is(f, control_verbs[i])) {
			*v = (enum control_verb)i;
			return 0;
		}
	}
	return -1;
}

/* The fields each verb takes: at least min, at most max (verb included). */
static void control_arity(enum control_verb v, int *min, int *max)
{
	switch (v) {
	case CONTROL_STATUS:
	case CONTROL_STATUS_JSON:
		*min = *max = 1;
		return;
	case CONTROL_UNDRAIN:
		*min = 2;
		*max = 3;
		return;
	case CONTROL_DRAIN:
		*min = 2;
		*max = 4;
		return;
	case CONTROL_FORCE_UP:
		*min = 3;
		*max = 4;
		return;
	}
	*min = *max = 1;
}

int control_req_parse(const char *line, size_t len, struct control_req *req, char *err,
		      size_t errcap)
{
	struct control_field f[CONTROL_FIELDS_MAX];
	int n = control_split(line, len, f, 4), min, max;

	memset(req, 0, sizeof(*req));
	if (n < 0) {
		snprintf(err, errcap, "malformed request (control bytes or too many fields)");
		return -1;
	}
	if (control_verb_of(&f[0], &req->verb) < 0) {
		snprintf(err, errcap, "unknown command (status, status-json, drain, undrain, "
				      "force-up)");
		return -1;
	}
	control_arity(req->verb, &min, &max);
	if (n < min || n > max) {
		snprintf(err, errcap, "%s: wrong number of arguments", control_verb_name(req->verb));
		return -1;
	}
	if (n >= 2 && (control_copy(&f[1], req->name, sizeof(req->name)) < 0 || f[1].len == 0)) {
		snprintf(err, errcap, "%s: the name is empty or too long", control_verb_name(req->verb));
		return -1;
	}
	if (n >= 3 && control_copy(&f[2], req->addr, sizeof(req->addr)) < 0) {
		snprintf(err, errcap, "%s: the address is too long", control_verb_name(req->verb));
		return -1;
	}
	if (req->verb == CONTROL_FORCE_UP && req->addr[0] == '\0') {
		snprintf(err, errcap, "force-up: an address is required");
		return -1;
	}
	if (n >= 4 && control_copy(&f[3], req->reason, sizeof(req->reason)) < 0) {
		snprintf(err, errcap, "%s: the reason is longer than %d bytes",
			 control_verb_name(req->verb), CONTROL_REASON_MAX);
		return -1;
	}
	return 0;
}

/* Printable ASCII or UTF-8 bytes, no TAB, LF or other control byte. */
static bool control_text_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool control_reason_ok(const char *s)
{
	return strlen(s) <= CONTROL_REASON_MAX && control_text_ok(s);
}

int control_req_format(const struct control_req *req, char *buf, size_t cap)
{
	const char *v = control_verb_name(req->verb);
	int n;

	if (!control_text_ok(req->name) || !control_text_ok(req->addr) ||
	    !control_reason_ok(req->reason))
		return -1;
	if (req->verb == CONTROL_STATUS || req->verb == CONTROL_STATUS_JSON)
		n = snprintf(buf, cap, "%s\n", v);
	else if (req->verb == CONTROL_UNDRAIN)
		n = snprintf(buf, cap, "%s\t%s\t%s\n", v, req->name, req->addr);
	else
		n = snprintf(buf, cap, "%s\t%s\t%s\t%s\n", v, req->name, req->addr, req->reason);
	return n < 0 || (size_t)n >= cap || n > CONTROL_LINE_MAX ? -1 : n;
}

/* A decimal field: 0..max. */
static int control_number(const struct control_field *f, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (f->len == 0 || f->len > 20)
		return -1;
	for (size_t i = 0; i < f->len; i++) {
		unsigned d = (unsigned)(f->p[i] - '0');

		if (d > 9 || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int control_record_parse(const char *line, size_t len, struct control_record *r)
{
	struct control_field f[CONTROL_FIELDS_MAX];
	uint64_t when, uid, pid;
	int n = control_split(line, len, f, 7);

	memset(r, 0, sizeof(*r));
	if (n != 7)
		return -1;
	if (control_field_is(&f[0], "drain"))
		r->admin = HEALTH_ADMIN_DRAINED;
	else if (control_field_is(&f[0], "force-up"))
		r->admin = HEALTH_ADMIN_FORCED_UP;
	else
		return -1;
	if (control_copy(&f[1], r->name, sizeof(r->name)) < 0 || f[1].len == 0 ||
	    control_copy(&f[2], r->addr, sizeof(r->addr)) < 0 || f[2].len == 0 ||
	    control_copy(&f[6], r->reason, sizeof(r->reason)) < 0 ||
	    control_number(&f[3], INT64_MAX, &when) < 0 ||
	    control_number(&f[4], UINT32_MAX, &uid) < 0 ||
	    control_number(&f[5], UINT32_MAX, &pid) < 0)
		return -1;
	r->when = (int64_t)when;
	r->uid = (uint32_t)uid;
	r->pid = (uint32_t)pid;
	return 0;
}

int control_record_format(const struct control_record *r, char *buf, size_t cap, size_t *len)
{
	int n;

	if (*len >= cap || (r->admin != HEALTH_ADMIN_DRAINED && r->admin != HEALTH_ADMIN_FORCED_UP))
		return -1;
	n = snprintf(buf + *len, cap - *len, "%s\t%s\t%s\t%" PRId64 "\t%" PRIu32 "\t%" PRIu32
		     "\t%s\n", r->admin == HEALTH_ADMIN_DRAINED ? "drain" : "force-up", r->name,
		     r->addr, r->when < 0 ? 0 : r->when, r->uid, r->pid, r->reason);
	if (n < 0 || (size_t)n >= cap - *len) {
		buf[*len] = '\0';
		return -1;
	}
	*len += (size_t)n;
	return 0;
}

size_t control_records_each(const char *text, size_t len,
			    void (*fn)(const struct control_record *r, void *arg), void *arg)
{
	size_t bad = 0, start = 0;

	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		struct control_record r;

		if (end > start && text[start] != '#') {
			if (control_record_parse(text + start, end - start, &r) == 0)
				fn(&r, arg);
			else
				bad++;
		}
		start = end + 1;
	}
	return bad;
}

/* name in cfg's terms: lower case, no trailing dot, relative to the
 * hosted zone ("" for the apex). -1 if it is outside the zone. */
static int control_relative(const struct config *cfg, const char *name, char *out, size_t cap)
{
	size_t n = strlcpy(out, name, cap), z = strlen(cfg->hosted_zone);

	if (n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(out[i] >= 'A' && out[i] <= 'Z' ? out[i] + 32 : out[i]);
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
	if (strcmp(out, "@") == 0 || strcasecmp(out, cfg->hosted_zone) == 0) {
		out[0] = '\0';
		return 0;
	}
	if (n > z + 1 && out[n - z - 1] == '.' && strcasecmp(out + n - z, cfg->hosted_zone) == 0)
		out[n - z - 1] = '\0';
	return 0;
}

static bool control_entry_is(const struct config_entry *ent, const char *rel)
{
	if (rel[0] == '\0')
		return ent->name[0] == '\0' || strcmp(ent->name, "@") == 0;
	return strcmp(ent->name, rel) == 0;
}

static int control_find_addr(const struct config *cfg, size_t e, const char *addr, size_t *idx,
			     char *err, size_t errcap, const char *name)
{
	const struct config_entry *ent = &cfg->entries[e];
	uint8_t bin[16] = { 0 };
	int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(family, addr, bin) != 1) {
		snprintf(err, errcap, "'%s' is not an IPv4 or IPv6 address", addr);
		return -1;
	}
	for (size_t j = 0; j < ent->n_addrs; j++) {
		size_t alen = family == AF_INET ? 4 : 16;

		if (ent->addrs[j].family == family && memcmp(ent->addrs[j].addr, bin, alen) == 0) {
			*idx = health_index(cfg, e, j);
			return 0;
		}
	}
	snprintf(err, errcap, "%s has no address %s", name, addr);
	return -1;
}

int control_lookup(const struct config *cfg, const char *name, const char *addr, size_t *entry,
		   size_t *idx, char *err, size_t errcap)
{
	char rel[CONTROL_NAME_MAX];

	if (control_relative(cfg, name, rel, sizeof(rel)) < 0) {
		snprintf(err, errcap, "unknown name '%.80s'", name);
		return -1;
	}
	for (size_t e = 0; e < cfg->n_entries; e++) {
		if (!control_entry_is(&cfg->entries[e], rel))
			continue;
		*entry = e;
		if (addr[0] == '\0')
			return 0;
		return control_find_addr(cfg, e, addr, idx, err, errcap, name);
	}
	snprintf(err, errcap, "unknown name '%.80s' (not in zone %s)", name, cfg->hosted_zone);
	return -1;
}
