/*
 * The zone's keys at run time (keyset.h, DESIGN §13).
 */
#include "keyset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"
#include "dnssec.h"
#include "keyroll.h"
#include "log.h"
#include "proc.h"
#include "stats.h"
#include "stats_keys.h"
#include "zsign.h"

#define KEYSET_MAGIC "AHDKEYS1\n"
#define KEYSET_BUNDLE_MAX (sizeof(KEYSET_MAGIC) + KEYROLL_MAX * (DNSSEC_PEM_MAX + 16))

struct keyset {
	const struct config *cfg;
	struct dnssec_key *keys[KEYROLL_MAX];
	const char *names[KEYROLL_MAX];
	struct keyroll_key plan[KEYROLL_MAX];
	enum keyroll_state logged[KEYROLL_MAX];
	int64_t held_logged[KEYROLL_MAX];
	size_t n;
	struct keyroll_policy pol;
	struct zimg_signer *signer;
	struct zimg_signer_use use;
	struct stats *stats;
	int64_t next; /* plan again at this time; KEYROLL_ALWAYS: at once */
};

/* The key's spec: its key-state file's, or a CSK for a hand-built
 * config without cfg->keys. */
static struct keyroll_spec keyset_spec(const struct config *cfg, size_t i)
{
	struct keyroll_spec s;

	if (i < cfg->n_keys)
		return cfg->keys[i].spec;
	keyroll_spec_default(&s);
	return s;
}

static enum config_alg keyset_alg(const struct config *cfg, size_t i)
{
	return i < cfg->n_keys ? cfg->keys[i].alg : cfg->priv_key_alg;
}

/* Load one PEM as key i: its algorithm and its role's flags. */
static struct dnssec_key *keyset_key(const struct config *cfg, size_t i, const void *pem,
				     size_t len, const char *name)
{
	struct dnssec_key *k = dnssec_key_load_mem(pem, len, name, keyset_alg(cfg, i));

	if (k != NULL && keyset_spec(cfg, i).role == KEYROLL_ZSK &&
	    dnssec_key_set_flags(k, DNSSEC_DNSKEY_FLAGS_ZSK) < 0) {
		log_startup_error("--priv-key-path: '%s': out of memory", name);
		dnssec_key_free(k);
		return NULL;
	}
	return k;
}

/* The DS of a KSK/CSK for each zone, so the operator can give it to
 * the parent (`a-healthy-dns ds` prints the same). */
static void keyset_log_key(const struct config *cfg, size_t i, const struct dnssec_key *k)
{
	struct config_ttls t;
	struct keyroll_spec s = keyset_spec(cfg, i);

	log_info("DNSSEC: %s key tag %u (%s) from %s", config_alg_name(dnssec_key_alg(k)),
		 (unsigned)dnssec_key_tag(k), keyroll_role_name(s.role), cfg->keys[i].path);
	if (s.role == KEYROLL_ZSK)
		return;
	config_ttls(cfg, &t);
	for (size_t z = 0; z <= cfg->n_alias_zones; z++) {
		const char *apex = z == 0 ? cfg->hosted_zone : cfg->alias_zones[z - 1];
		char line[1024];

		if (dnssec_ds_text(k, apex, t.dnskey, line, sizeof(line)) == 0)
			log_info("DS for the parent of %s: %s", apex, line);
	}
}

/* Append "<len>\n" and the PEM to the bundle. */
static int keyset_append(char **buf, size_t *len, const char *pem, size_t n)
{
	char head[32];
	int h = snprintf(head, sizeof(head), "%zu\n", n);
	char *grown = realloc(*buf, *len + (size_t)h + n);

	if (grown == NULL)
		return -1;
	*buf = grown;
	memcpy(*buf + *len, head, (size_t)h);
	memcpy(*buf + *len + h, pem, n);
	*len += (size_t)h + n;
	return 0;
}

int keyset_bundle(const struct config *cfg)
{
	char *buf = strdup(KEYSET_MAGIC);
	size_t len = strlen(KEYSET_MAGIC);
	int fd = -1, err = ENOMEM;

	for (size_t i = 0; buf != NULL && i < cfg->n_keys; i++) {
		struct dnssec_key *k;
		char *pem;
		size_t n;

		if (dnssec_key_read_pem(cfg->keys[i].path, &pem, &n) < 0)
			goto out;
		k = keyset_key(cfg, i, pem, n, cfg->keys[i].path);
		if (k == NULL) {
			dnssec_pem_free(pem, n + 1);
			goto out;
		}
		if (keyset_append(&buf, &len, pem, n) < 0) {
			dnssec_pem_free(buf, len);
			buf = NULL;
		}
		dnssec_pem_free(pem, n + 1);
		keyset_log_key(cfg, i, k);
		dnssec_key_free(k);
	}
	if (buf != NULL) {
		fd = proc_sealed_memfd("a-healthy-dns-key", buf, len);
		err = errno;
	}
	if (fd < 0)
		log_startup_error("--priv-key-path: cannot hand the keys to the prober: %s",
				  strerror(err));
out:
	if (buf != NULL)
		dnssec_pem_free(buf, len);
	return fd;
}

/* The whole memfd, NUL-terminated; NULL after a log line. */
static char *keyset_read_fd(int fd, size_t *len)
{
	char *buf = malloc(KEYSET_BUNDLE_MAX + 2);
	size_t got = 0;

	if (buf == NULL) {
		log_error("prober: out of memory for the keys");
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, KEYSET_BUNDLE_MAX + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("prober: reading the keys from fd %d: %s", fd, strerror(errno));
			dnssec_pem_free(buf, KEYSET_BUNDLE_MAX + 2);
			return NULL;
		}
		if (r == 0 || got + (size_t)r > KEYSET_BUNDLE_MAX)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Split the bundle into the keys; a bare PEM is one key. */
static int keyset_parse(struct keyset *ks, const char *buf, size_t len)
{
	const struct config *cfg = ks->cfg;
	size_t pos = strlen(KEYSET_MAGIC);

	if (len < pos || memcmp(buf, KEYSET_MAGIC, pos) != 0) {
		ks->keys[0] = keyset_key(cfg, 0, buf, len, ks->names[0]);
		ks->n = 1;
		return ks->keys[0] != NULL ? 0 : -1;
	}
	while (pos < len && ks->n < KEYROLL_MAX) {
		char *end;
		unsigned long long n = strtoull(buf + pos, &end, 10);
		size_t i = ks->n;

		if (end == buf + pos || *end != '\n' || n > len - (size_t)(end + 1 - buf)) {
			log_error("prober: the key bundle is damaged");
			return -1;
		}
		pos = (size_t)(end + 1 - buf);
		ks->names[i] = i < cfg->n_keys ? cfg->keys[i].path : "key fd";
		ks->keys[i] = keyset_key(cfg, i, buf + pos, (size_t)n, ks->names[i]);
		if (ks->keys[i] == NULL)
			return -1;
		ks->n++;
		pos += (size_t)n;
	}
	return 0;
}

/* The waits, from the TTLs the zone is served with (capped as the
 * builder caps them in a signed zone, DESIGN §5.4). */
static void keyset_policy(const struct config *cfg, struct keyroll_policy *p)
{
	struct config_ttls t;
	uint32_t max;

	config_ttls(cfg, &t);
	max = t.ns > t.soa ? t.ns : t.soa;
	max = t.dnskey > max ? t.dnskey : max;
	max = t.a > max ? t.a : max;
	for (size_t i = 0; i < cfg->n_entries; i++)
		if (cfg->entries[i].ttl > (int64_t)max)
			max = cfg->entries[i].ttl > (int64_t)UINT32_MAX ? UINT32_MAX
									: (uint32_t)cfg->entries[i].ttl;
	p->max_ttl = max < t.sig_ttl_max ? max : t.sig_ttl_max;
	p->dnskey_ttl = t.dnskey < t.sig_ttl_max ? t.dnskey : t.sig_ttl_max;
	/* One second more: both the validator's cache and our history
	 * count whole seconds, so data fetched in the second a step was
	 * taken may live to the end of its TTL's last second. */
	p->propagation = cfg->key_propagation + 1;
}

/* What was served before this prober: the previous prober's table when
 * there is one (a key it did not have is new now); else the times are
 * trusted (the first prober since start-up). */
static void keyset_history(struct keyset *ks, int64_t now)
{
	struct stats_key rows[KEYROLL_MAX];
	int64_t planned;
	size_t n = 0;

	if (ks->stats == NULL || stats_keys_read(ks->stats, rows, &n, &planned) < 0)
		n = 0;
	for (size_t i = 0; i < ks->n; i++) {
		struct keyroll_key *k = &ks->plan[i];
		bool found = false;

		for (size_t j = 0; j < n && !found; j++) {
			if (rows[j].tag != dnssec_key_tag(ks->keys[i]) || rows[j].alg != k->alg)
				continue;
			k->hist = (struct keyroll_hist){ rows[j].hist[0], rows[j].hist[1],
							 rows[j].hist[2], rows[j].hist[3] };
			found = true;
		}
		if (!found)
			keyroll_hist_init(&k->hist, &k->spec, n == 0, now);
	}
}

struct keyset *keyset_load(const struct config *cfg, int fd, struct stats *stats, bool *none)
{
	struct keyset *ks;
	char *buf;
	size_t len = 0;
	int rc = 0;

	*none = fd < 0 && cfg->n_keys == 0;
	if (*none)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (ks == NULL) {
		if (fd >= 0)
			close(fd);
		log_error("prober: out of memory for the keys");
		return NULL;
	}
	ks->cfg = cfg;
	ks->stats = stats;
	ks->names[0] = cfg->n_keys > 0 ? cfg->keys[0].path : "key fd";
	if (fd >= 0) {
		buf = keyset_read_fd(fd, &len);
		close(fd);
		rc = buf != NULL ? keyset_parse(ks, buf, len) : -1;
		if (buf != NULL)
			dnssec_pem_free(buf, KEYSET_BUNDLE_MAX + 2);
	} else {
		for (size_t i = 0; i < cfg->n_keys && rc == 0; i++) {
			ks->names[i] = cfg->keys[i].path;
			ks->keys[i] = dnssec_key_load(cfg->keys[i].path, cfg->keys[i].alg);
			if (ks->keys[i] != NULL && cfg->keys[i].spec.role == KEYROLL_ZSK)
				dnssec_key_set_flags(ks->keys[i], DNSSEC_DNSKEY_FLAGS_ZSK);
			rc = ks->keys[i] != NULL ? 0 : -1;
			ks->n += ks->keys[i] != NULL;
		}
	}
	if (rc == 0 && cfg->n_keys > 0 && ks->n != cfg->n_keys) {
		log_error("prober: %zu keys handed over for %zu --priv-key-path", ks->n,
			  cfg->n_keys);
		rc = -1;
	}
	if (rc == 0)
		ks->signer = zimg_signer_new_set(ks->keys, ks->n);
	if (rc < 0 || ks->signer == NULL) {
		keyset_free(ks);
		return NULL;
	}
	for (size_t i = 0; i < ks->n; i++) {
		log_info("prober: signing with %s key tag %u (%s)",
			 config_alg_name(dnssec_key_alg(ks->keys[i])),
			 (unsigned)dnssec_key_tag(ks->keys[i]),
			 keyroll_role_name(keyset_spec(cfg, i).role));
		ks->plan[i].spec = keyset_spec(cfg, i);
		ks->plan[i].alg = (unsigned)keyset_alg(cfg, i);
		ks->logged[i] = (enum keyroll_state)-1;
		ks->held_logged[i] = KEYROLL_ALWAYS;
	}
	keyset_policy(cfg, &ks->pol);
	keyset_history(ks, (int64_t)time(NULL));
	ks->next = KEYROLL_ALWAYS;
	return ks;
}

void keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	zimg_signer_free(ks->signer);
	for (size_t i = 0; i < ks->n; i++)
		dnssec_key_free(ks->keys[i]);
	free(ks);
}

struct zimg_signer *keyset_signer(const struct keyset *ks)
{
	return ks->signer;
}

/* "2026-12-07 16:40:00 UTC (in 95 s)", or "never". */
static const char *keyset_when(int64_t t, int64_t now, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char day[32];

	if (t == KEYROLL_NEVER || gmtime_r(&tt, &tm) == NULL)
		return "held until the keys change";
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(buf, cap, "safe at %s (in %lld s)", day, (long long)(t - now));
	return buf;
}

/* One line per change of state, one per step held back. */
static void keyset_log(struct keyset *ks, size_t i, int64_t now)
{
	const struct keyroll_key *k = &ks->plan[i];
	unsigned tag = dnssec_key_tag(ks->keys[i]);
	char when[96];

	if (k->state != ks->logged[i]) {
		log_info("DNSSEC: key tag %u (%s, %s) is %s", tag, keyroll_role_name(k->spec.role),
			 config_alg_name((enum config_alg)k->alg), keyroll_state_name(k->state));
		ks->logged[i] = k->state;
	}
	if (k->held_why == NULL) {
		ks->held_logged[i] = KEYROLL_ALWAYS;
		return;
	}
	if (ks->held_logged[i] == k->held_until)
		return;
	ks->held_logged[i] = k->held_until;
	log_warning("DNSSEC: key tag %u (%s): the step its key-state file asks for waits, %s: "
		    "%s", tag, ks->names[i], keyset_when(k->held_until, now, when, sizeof(when)),
		    k->held_why);
}

static void keyset_row(const struct keyset *ks, size_t i, struct stats_key *r)
{
	const struct keyroll_key *k = &ks->plan[i];

	memset(r, 0, sizeof(*r));
	strlcpy(r->path, ks->names[i], sizeof(r->path));
	if (k->next_what != NULL)
		strlcpy(r->next_what, k->next_what, sizeof(r->next_what));
	if (k->held_why != NULL)
		strlcpy(r->held_why, k->held_why, sizeof(r->held_why));
	r->since = k->since;
	r->next = k->next;
	r->hist[0] = k->hist.published;
	r->hist[1] = k->hist.signing;
	r->hist[2] = k->hist.unsigned_at;
	r->hist[3] = k->hist.removed;
	r->tag = dnssec_key_tag(ks->keys[i]);
	r->alg = (uint8_t)k->alg;
	r->role = (uint8_t)k->spec.role;
	r->state = (uint8_t)k->state;
	r->publish = k->publish;
	r->sign = k->sign;
}

bool keyset_step(struct keyset *ks, int64_t now)
{
	struct zimg_signer_use use = { .cds_delete = ks->cfg->cds == CONFIG_CDS_DELETE };
	struct stats_key rows[KEYROLL_MAX];
	bool changed, first = ks->next == KEYROLL_ALWAYS;

	if (now < ks->next)
		return false;
	ks->next = keyroll_plan(ks->plan, ks->n, &ks->pol, now);
	for (size_t i = 0; i < ks->n; i++) {
		const struct keyroll_key *k = &ks->plan[i];
		uint32_t bit = 1u << i;
		bool ksk = k->spec.role != KEYROLL_ZSK, zsk = k->spec.role != KEYROLL_KSK;

		if (k->publish)
			use.publish |= bit;
		if (k->sign && zsk)
			use.zone |= bit;
		if (k->sign && ksk)
			use.keyset |= bit;
		/* The DS the parent should have: every KSK published and not
		 * retired (both during a double-DS rollover, RFC 7583 3.3.2). */
		if (k->publish && ksk && k->hist.unsigned_at == KEYROLL_NEVER &&
		    ks->cfg->cds == CONFIG_CDS_KSK)
			use.cds |= bit;
		keyset_log(ks, i, now);
		keyset_row(ks, i, &rows[i]);
	}
	stats_keys_publish(ks->stats, rows, ks->n, now);
	changed = use.publish != ks->use.publish || use.zone != ks->use.zone ||
		  use.keyset != ks->use.keyset || use.cds != ks->use.cds ||
		  use.cds_delete != ks->use.cds_delete || first;
	ks->use = use;
	if (changed)
		zimg_signer_set_use(ks->signer, &use);
	return changed;
}

int keyset_reload_check(const struct stats *st, const struct config *next)
{
	struct stats_key rows[KEYROLL_MAX];
	int64_t planned;
	size_t n;

	if (stats_keys_read(st, rows, &n, &planned) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		bool kept = false;

		if (!rows[i].publish && !rows[i].sign)
			continue;
		for (size_t k = 0; k < next->n_keys && !kept; k++)
			kept = strcmp(next->keys[k].path, rows[i].path) == 0;
		if (kept)
			continue;
		log_error("SIGHUP: reload refused: key tag %u (%s) is still %s: keep it in "
			  "--priv-key-path, with retire and remove times in its key-state file, until "
			  "status shows it removed; still serving the previous configuration",
			  (unsigned)rows[i].tag, rows[i].path,
			  keyroll_state_name((enum keyroll_state)rows[i].state));
		return -1;
	}
	return 0;
}
