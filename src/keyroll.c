/*
 * Key-state files and rollover timing (keyroll.h, DESIGN §13).
 */
#include "keyroll.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "ahd.h"
#include "config.h"

void keyroll_spec_default(struct keyroll_spec *s)
{
	s->role = KEYROLL_CSK;
	s->alg = 0;
	s->publish = s->activate = KEYROLL_ALWAYS;
	s->retire = s->remove = KEYROLL_NEVER;
}

const char *keyroll_role_name(enum keyroll_role role)
{
	static const char *const names[] = { "csk", "ksk", "zsk" };

	return (unsigned)role < AHD_ARRAY_LEN(names) ? names[role] : "?";
}

const char *keyroll_state_name(enum keyroll_state st)
{
	static const char *const names[] = { "future", "published", "active", "presigning",
					     "retired", "postsigning", "removed" };

	return (unsigned)st < AHD_ARRAY_LEN(names) ? names[st] : "?";
}

/* Every algorithm --priv-key-alg accepts, by number or by its name. */
static int keyroll_alg(const char *v, unsigned *out)
{
	static const unsigned algs[] = { 8, 10, 13, 14, 15, 16 };

	for (size_t i = 0; i < AHD_ARRAY_LEN(algs); i++) {
		char num[8];

		snprintf(num, sizeof(num), "%u", algs[i]);
		if (strcmp(v, num) == 0 ||
		    strcasecmp(v, config_alg_name((enum config_alg)algs[i])) == 0) {
			*out = algs[i];
			return 0;
		}
	}
	return -1;
}

/* A Unix time: decimal digits only, 0 .. 2^62 (far past any real date,
 * and room for the planner's sums). */
static int keyroll_time(const char *v, int64_t *out)
{
	char *end;
	unsigned long long t;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	t = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || t > (1ull << 62))
		return -1;
	*out = (int64_t)t;
	return 0;
}

static char *keyroll_trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One "name = value" line into out; seen tracks names given. */
static int keyroll_line(char *line, struct keyroll_spec *out, unsigned *seen, char *err,
			size_t errlen)
{
	static const char *const names[] = { "role", "algorithm", "publish", "activate",
					     "retire", "remove" };
	int64_t *times[] = { NULL, NULL, &out->publish, &out->activate, &out->retire,
			     &out->remove };
	char *eq = strchr(line, '=');
	const char *name, *v;
	size_t i;

	if (eq == NULL) {
		snprintf(err, errlen, "'%.40s' is not \"name = value\"", line);
		return -1;
	}
	*eq = '\0';
	name = keyroll_trim(line);
	v = keyroll_trim(eq + 1);
	for (i = 0; i < AHD_ARRAY_LEN(names) && strcasecmp(name, names[i]) != 0; i++)
		;
	if (i == AHD_ARRAY_LEN(names)) {
		snprintf(err, errlen, "'%.40s' is not a key-state name (role, algorithm, "
			 "publish, activate, retire, remove)", name);
		return -1;
	}
	if (*seen & (1u << i)) {
		snprintf(err, errlen, "%s is given twice", names[i]);
		return -1;
	}
	*seen |= 1u << i;
	if (i == 0) {
		for (unsigned r = 0; r < 3; r++)
			if (strcasecmp(v, keyroll_role_name((enum keyroll_role)r)) == 0) {
				out->role = (enum keyroll_role)r;
				return 0;
			}
		snprintf(err, errlen, "role '%.40s' is not csk, ksk or zsk", v);
		return -1;
	}
	if (i == 1) {
		if (keyroll_alg(v, &out->alg) == 0)
			return 0;
		snprintf(err, errlen, "algorithm '%.40s' is not one of 8, 10, 13, 14, 15, 16 "
			 "(or its --priv-key-alg name)", v);
		return -1;
	}
	if (keyroll_time(v, times[i]) == 0)
		return 0;
	snprintf(err, errlen, "%s '%.40s' is not a Unix time (seconds, decimal)", names[i], v);
	return -1;
}

int keyroll_parse(const char *text, size_t len, struct keyroll_spec *out, char *err,
		  size_t errlen)
{
	char line[256], msg[200];
	unsigned seen = 0, lineno = 0;
	size_t pos = 0;

	keyroll_spec_default(out);
	if (len > KEYROLL_FILE_MAX) {
		snprintf(err, errlen, "longer than %u bytes: not a key-state file",
			 KEYROLL_FILE_MAX);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *l;

		lineno++;
		if (n >= sizeof(line) || memchr(text + pos, '\0', n) != NULL) {
			snprintf(err, errlen, "line %u: too long or not text", lineno);
			return -1;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		l = keyroll_trim(line);
		if (l[0] == '\0' || l[0] == '#')
			continue;
		if (keyroll_line(l, out, &seen, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "line %u: %s", lineno, msg);
			return -1;
		}
	}
	if (out->remove != KEYROLL_NEVER && out->publish != KEYROLL_ALWAYS &&
	    out->remove < out->publish) {
		snprintf(err, errlen, "remove is before publish");
		return -1;
	}
	if (out->retire != KEYROLL_NEVER && out->activate != KEYROLL_ALWAYS &&
	    out->retire < out->activate) {
		snprintf(err, errlen, "retire is before activate");
		return -1;
	}
	return 0;
}

uint32_t keyroll_ipub(const struct keyroll_policy *p)
{
	return p->dnskey_ttl + p->propagation;
}

uint32_t keyroll_iret(const struct keyroll_policy *p)
{
	return p->max_ttl + p->propagation;
}

void keyroll_hist_init(struct keyroll_hist *h, const struct keyroll_spec *s, bool trusted,
		       int64_t now)
{
	h->published = h->signing = h->unsigned_at = h->removed = KEYROLL_NEVER;
	if (!trusted)
		return;
	if (s->publish <= now)
		h->published = s->publish;
	if (s->activate <= now)
		h->signing = s->activate;
	if (s->retire <= now)
		h->unsigned_at = s->retire;
	if (s->remove <= now)
		h->removed = s->remove;
}

/* t + d without overflow past the absent times. */
static int64_t keyroll_add(int64_t t, uint32_t d)
{
	if (t == KEYROLL_ALWAYS || t == KEYROLL_NEVER)
		return t;
	return t > INT64_MAX - (int64_t)d ? KEYROLL_NEVER : t + (int64_t)d;
}

static bool keyroll_zone_duty(const struct keyroll_key *k)
{
	return k->spec.role != KEYROLL_KSK;
}

static bool keyroll_key_duty(const struct keyroll_key *k)
{
	return k->spec.role != KEYROLL_ZSK;
}

static bool keyroll_was_pub(const struct keyroll_key *k)
{
	return k->hist.published != KEYROLL_NEVER && k->hist.removed == KEYROLL_NEVER;
}

static bool keyroll_was_sign(const struct keyroll_key *k)
{
	return k->hist.signing != KEYROLL_NEVER && k->hist.unsigned_at == KEYROLL_NEVER;
}

/* Whether two keys share a duty (zone data or the key set). */
static bool keyroll_same_duty(const struct keyroll_key *a, const struct keyroll_key *b,
			      bool zone)
{
	return zone ? keyroll_zone_duty(a) && keyroll_zone_duty(b)
		    : keyroll_key_duty(a) && keyroll_key_duty(b);
}

static void keyroll_hold(struct keyroll_key *k, int64_t until, const char *why)
{
	k->held_until = until;
	k->held_why = why;
}

/* A DNSKEY of a new algorithm goes out only once the zone's signatures
 * with it are in every cache (RFC 6781 section 4.1.4, step 2). */
static void keyroll_step_publish(struct keyroll_key *k, size_t n, size_t i,
				 const struct keyroll_policy *p, int64_t now)
{
	int64_t ready = KEYROLL_NEVER;

	bool any = false;

	if (!k[i].publish || keyroll_was_pub(&k[i]))
		return;
	for (size_t j = 0; j < n; j++) {
		if (k[j].alg == k[i].alg && keyroll_was_pub(&k[j]))
			return; /* the algorithm is known: a pre-publication */
		any |= keyroll_was_pub(&k[j]);
	}
	if (!any)
		return; /* no DNSKEY RRset served yet: nothing cached to break */
	for (size_t j = 0; j < n; j++) {
		int64_t t;

		if (k[j].alg != k[i].alg || !keyroll_zone_duty(&k[j]) || !k[j].sign)
			continue;
		t = keyroll_add(keyroll_was_sign(&k[j]) ? k[j].hist.signing : now,
				keyroll_iret(p));
		if (t < ready)
			ready = t;
	}
	if (ready <= now)
		return;
	k[i].publish = false;
	keyroll_hold(&k[i], ready, ready == KEYROLL_NEVER
		     ? "no key of its algorithm signs the zone yet (RFC 6781 4.1.4: signatures "
		       "before the DNSKEY)"
		     : "the zone's signatures with its new algorithm are not yet in every cache "
		       "(largest TTL + propagation; RFC 6781 4.1.4)");
}

/* A ZSK/CSK signs zone data only once its DNSKEY is in every cache
 * (pre-publication, RFC 7583 section 3.2), unless its algorithm is not
 * in the DNSKEY RRset at all (algorithm rollover: validators ignore a
 * signature of an algorithm they have no key of). */
static void keyroll_step_activate(struct keyroll_key *k, size_t n, size_t i,
				  const struct keyroll_policy *p, int64_t now)
{
	int64_t ready;
	bool other = false;

	if (!k[i].sign || keyroll_was_sign(&k[i]) || !keyroll_zone_duty(&k[i]))
		return;
	for (size_t j = 0; j < n; j++) {
		if (j != i && k[j].alg == k[i].alg && keyroll_was_pub(&k[j]))
			other = true;
	}
	if (!keyroll_was_pub(&k[i]) && !other)
		return;
	for (size_t j = 0; j < n && !other; j++)
		if (keyroll_zone_duty(&k[j]) && keyroll_was_sign(&k[j]))
			other = true;
	if (!other)
		return; /* nothing signs the zone yet: nothing cached to break */
	ready = keyroll_was_pub(&k[i]) ? keyroll_add(k[i].hist.published, keyroll_ipub(p))
				       : keyroll_add(now, keyroll_ipub(p));
	if (ready <= now)
		return;
	k[i].sign = false;
	keyroll_hold(&k[i], ready, "its DNSKEY is not yet in every cache (DNSKEY TTL + "
		     "propagation; RFC 7583 3.2)");
}

/* A key of i's algorithm and duty that the times ask to sign but that
 * waits: *until is when the first of them may. */
static bool keyroll_successor(const struct keyroll_key *k, size_t n, size_t i, int zone,
			      int64_t *until)
{
	bool found = false;

	*until = KEYROLL_NEVER;
	for (size_t j = 0; j < n; j++) {
		if (j == i || k[j].alg != k[i].alg || !keyroll_same_duty(&k[i], &k[j], zone) ||
		    k[j].held_why == NULL || k[j].sign || k[j].spec.activate > k[j].held_until)
			continue;
		found = true;
		if (k[j].held_until < *until)
			*until = k[j].held_until;
	}
	return found;
}

/* A key stops signing only if another key of its algorithm signs what
 * it signed, or its algorithm's DNSKEYs have left every cache (the last
 * step of an algorithm rollover). */
static void keyroll_step_retire(struct keyroll_key *k, size_t n, size_t i,
				const struct keyroll_policy *p, int64_t now)
{
	int64_t gone = KEYROLL_ALWAYS;

	if (k[i].sign || !keyroll_was_sign(&k[i]))
		return;
	for (int zone = 0; zone < 2; zone++) {
		bool covered = false;

		if (zone ? !keyroll_zone_duty(&k[i]) : !keyroll_key_duty(&k[i]))
			continue;
		for (size_t j = 0; j < n && !covered; j++)
			covered = j != i && k[j].sign && k[j].alg == k[i].alg &&
				  keyroll_same_duty(&k[i], &k[j], zone);
		if (covered)
			continue;
		if (keyroll_successor(k, n, i, zone, &gone)) {
			k[i].sign = true;
			keyroll_hold(&k[i], gone, "the key to sign in its place may not sign yet "
				     "(its DNSKEY is not yet in every cache)");
			return;
		}
		gone = KEYROLL_ALWAYS;
		for (size_t j = 0; j < n; j++) {
			if (k[j].alg != k[i].alg)
				continue;
			if (k[j].publish)
				gone = KEYROLL_NEVER;
			else if (keyroll_was_pub(&k[j]) && gone != KEYROLL_NEVER)
				gone = keyroll_add(now, keyroll_ipub(p)); /* leaving now */
			else if (k[j].hist.removed != KEYROLL_NEVER &&
				 keyroll_add(k[j].hist.removed, keyroll_ipub(p)) > gone)
				gone = keyroll_add(k[j].hist.removed, keyroll_ipub(p));
		}
		if (gone > now) {
			k[i].sign = true;
			keyroll_hold(&k[i], gone, gone == KEYROLL_NEVER
				     ? "no other key of its algorithm signs in its place"
				     : "its algorithm's DNSKEYs are not yet out of every cache "
				       "(DNSKEY TTL + propagation)");
			return;
		}
	}
}

/* A DNSKEY leaves the RRset once no cached signature needs it: it has
 * stopped signing for Iret (zone data) or Ipub (the key set, cached
 * with the DNSKEY RRset). A key still signing may leave only when a key
 * of another algorithm, published, signs what it signs (RFC 6781
 * section 4.1.4, step 4). */
static void keyroll_step_remove(struct keyroll_key *k, size_t n, size_t i,
				const struct keyroll_policy *p, int64_t now)
{
	int64_t ready;

	if (k[i].publish || !keyroll_was_pub(&k[i]))
		return;
	if (k[i].sign) {
		for (int zone = 0; zone < 2; zone++) {
			bool covered = false;

			if (zone ? !keyroll_zone_duty(&k[i]) : !keyroll_key_duty(&k[i]))
				continue;
			for (size_t j = 0; j < n && !covered; j++)
				covered = j != i && k[j].sign && k[j].publish &&
					  k[j].alg != k[i].alg &&
					  keyroll_same_duty(&k[i], &k[j], zone);
			if (!covered) {
				k[i].publish = true;
				/* A hold on its retirement says more (and when). */
				if (k[i].held_why == NULL)
					keyroll_hold(&k[i], KEYROLL_NEVER, "it still signs and no "
						     "published key of another algorithm signs "
						     "in its place");
				return;
			}
		}
		return;
	}
	ready = keyroll_add(k[i].hist.unsigned_at != KEYROLL_NEVER ? k[i].hist.unsigned_at : now,
			    keyroll_zone_duty(&k[i]) ? keyroll_iret(p) : keyroll_ipub(p));
	if (ready <= now)
		return;
	k[i].publish = true;
	keyroll_hold(&k[i], ready, keyroll_zone_duty(&k[i])
		     ? "its signatures may still be cached (largest TTL + propagation; RFC 7583 "
		       "3.2)"
		     : "its signature of the DNSKEY RRset may still be cached (DNSKEY TTL + "
		       "propagation)");
}

/* The key's next step per its times, after now. */
static void keyroll_next_time(struct keyroll_key *k, int64_t now)
{
	const int64_t t[] = { k->spec.publish, k->spec.activate, k->spec.retire, k->spec.remove };
	static const char *const what[] = { "publish", "activate", "retire", "remove" };

	k->next = KEYROLL_NEVER;
	k->next_what = NULL;
	for (size_t j = 0; j < AHD_ARRAY_LEN(t); j++)
		if (t[j] > now && t[j] < k->next) {
			k->next = t[j];
			k->next_what = what[j];
		}
	if (k->held_why != NULL) {
		k->next = k->held_until;
		k->next_what = "held";
	}
}

static void keyroll_state_of(struct keyroll_key *k)
{
	const struct keyroll_hist *h = &k->hist;

	if (k->publish && k->sign) {
		k->state = KEYROLL_ACTIVE;
		k->since = h->published > h->signing ? h->published : h->signing;
	} else if (k->publish) {
		k->state = h->unsigned_at != KEYROLL_NEVER ? KEYROLL_RETIRED : KEYROLL_PUBLISHED;
		k->since = h->unsigned_at != KEYROLL_NEVER ? h->unsigned_at : h->published;
	} else if (k->sign) {
		k->state = h->removed != KEYROLL_NEVER ? KEYROLL_POSTSIGN : KEYROLL_PRESIGN;
		k->since = h->removed != KEYROLL_NEVER ? h->removed : h->signing;
	} else if (h->removed != KEYROLL_NEVER || h->unsigned_at != KEYROLL_NEVER) {
		k->state = KEYROLL_REMOVED;
		k->since = h->removed != KEYROLL_NEVER ? h->removed : h->unsigned_at;
	} else {
		k->state = KEYROLL_FUTURE;
		k->since = KEYROLL_ALWAYS;
	}
}

/* Record the steps taken at now. */
static void keyroll_hist_step(struct keyroll_key *k, int64_t now)
{
	if (k->publish && k->hist.published == KEYROLL_NEVER)
		k->hist.published = now;
	if (!k->publish && keyroll_was_pub(k))
		k->hist.removed = now;
	if (k->sign && k->hist.signing == KEYROLL_NEVER)
		k->hist.signing = now;
	if (!k->sign && keyroll_was_sign(k))
		k->hist.unsigned_at = now;
}

int64_t keyroll_plan(struct keyroll_key *k, size_t n, const struct keyroll_policy *p,
		     int64_t now)
{
	int64_t next = KEYROLL_NEVER;

	for (size_t i = 0; i < n; i++) {
		k[i].publish = k[i].spec.publish <= now && now < k[i].spec.remove;
		k[i].sign = k[i].spec.activate <= now && now < k[i].spec.retire;
		k[i].held_until = KEYROLL_NEVER;
		k[i].held_why = NULL;
	}
	for (size_t i = 0; i < n; i++)
		keyroll_step_publish(k, n, i, p, now);
	for (size_t i = 0; i < n; i++)
		keyroll_step_activate(k, n, i, p, now);
	for (size_t i = 0; i < n; i++)
		keyroll_step_retire(k, n, i, p, now);
	for (size_t i = 0; i < n; i++)
		keyroll_step_remove(k, n, i, p, now);
	for (size_t i = 0; i < n; i++) {
		keyroll_hist_step(&k[i], now);
		keyroll_state_of(&k[i]);
		keyroll_next_time(&k[i], now);
		if (k[i].next > now && k[i].next < next)
			next = k[i].next;
	}
	return next;
}
