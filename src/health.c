#include "health.h"

#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "ahd.h"

static const char *const health_state_names[] = {
	[HEALTH_UNKNOWN] = "unknown",
	[HEALTH_UP] = "up",
	[HEALTH_DOWN] = "down",
};

struct health {
	const struct config *cfg;
	struct health_addr *addrs; /* cfg->n_addrs_total */
	bool *published;           /* cfg->n_addrs_total: the current set */
	uint8_t *admin;            /* cfg->n_addrs_total: enum health_admin */
	size_t n_addrs;
};

static const char *const health_error_names[] = {
	[HEALTH_ERR_NONE] = "none",
	[HEALTH_ERR_REFUSED] = "refused",
	[HEALTH_ERR_TIMEOUT] = "timeout",
	[HEALTH_ERR_CONNECT] = "connect",
	[HEALTH_ERR_TLS] = "tls",
	[HEALTH_ERR_HTTP_STATUS] = "http_status",
	[HEALTH_ERR_PROTOCOL] = "protocol",
	[HEALTH_ERR_OTHER] = "other",
};

const char *health_error_name(enum health_error e)
{
	if ((size_t)e >= AHD_ARRAY_LEN(health_error_names))
		return "other";
	return health_error_names[e];
}

const char *health_state_name(enum health_state s)
{
	if ((size_t)s >= AHD_ARRAY_LEN(health_state_names))
		return "?";
	return health_state_names[s];
}

struct health *health_new(const struct config *cfg, int64_t now)
{
	struct health *h = calloc(1, sizeof(*h));
	size_t n = cfg->n_addrs_total;

	if (h == NULL)
		return NULL;
	h->cfg = cfg;
	h->n_addrs = n;
	/* calloc(0) may return NULL; one spare element keeps it simple. */
	h->addrs = calloc(n + 1, sizeof(*h->addrs));
	h->published = calloc(n + 1, sizeof(*h->published));
	h->admin = calloc(n + 1, sizeof(*h->admin));
	if (h->addrs == NULL || h->published == NULL || h->admin == NULL) {
		health_free(h);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		h->addrs[i].since = now;
		h->addrs[i].last_check = -1;
	}
	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];

		if (ent->check != CONFIG_CHECK_NONE)
			continue;
		for (size_t j = 0; j < ent->n_addrs; j++)
			h->published[health_index(cfg, e, j)] = true;
	}
	return h;
}

void health_free(struct health *h)
{
	if (h == NULL)
		return;
	free(h->addrs);
	free(h->published);
	free(h->admin);
	free(h);
}

/* config_parse numbers the addresses as it reads them (first_addr);
 * this is the only reader of that numbering. */
size_t health_index(const struct config *cfg, size_t e, size_t j)
{
	return cfg->entries[e].first_addr + j;
}

const struct health_addr *health_addr(const struct health *h, size_t idx)
{
	return idx < h->n_addrs ? &h->addrs[idx] : NULL;
}

bool health_published(const struct health *h, size_t e, size_t j)
{
	return h->published[health_index(h->cfg, e, j)];
}

const bool *health_published_set(const struct health *h)
{
	return h->published;
}

size_t health_entry_of(const struct health *h, size_t idx)
{
	const struct config *cfg = h->cfg;
	size_t lo = 0, hi = cfg->n_entries;

	/* The last entry whose first_addr <= idx: an entry without addresses
	 * shares first_addr with its successor, which wins. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (cfg->entries[mid].first_addr <= idx)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

bool health_record(struct health *h, size_t idx, const struct health_result *r,
		   int64_t now, struct health_transition *tr)
{
	struct health_addr *a;
	const struct config_entry *ent;
	enum health_state old, next;
	size_t e;

	if (idx >= h->n_addrs)
		return false;
	e = health_entry_of(h, idx);
	ent = &h->cfg->entries[e];
	if (ent->check == CONFIG_CHECK_NONE)
		return false;
	a = &h->addrs[idx];
	old = a->state;
	next = old;
	a->last_check = now;
	a->latency_us = r->latency_us;
	a->last_pass = r->pass;
	if (r->pass) {
		a->passes++;
		a->fails = 0;
	} else {
		a->fails++;
		a->passes = 0;
		strlcpy(a->last_error, r->reason ? r->reason : "failed",
			sizeof(a->last_error));
		a->error_class = r->error_class != HEALTH_ERR_NONE ? r->error_class
								    : HEALTH_ERR_OTHER;
	}
	switch (old) {
	case HEALTH_UNKNOWN:
		next = r->pass ? HEALTH_UP : HEALTH_DOWN;
		break;
	case HEALTH_UP:
		if (a->fails >= (ent->fall ? ent->fall : 1))
			next = HEALTH_DOWN;
		break;
	case HEALTH_DOWN:
		if (a->passes >= (ent->rise ? ent->rise : 1))
			next = HEALTH_UP;
		break;
	}
	if (next == old)
		return false;
	a->state = next;
	a->since = now;
	/* The first verdict (from UNKNOWN) is no change a monitor counts. */
	if (old != HEALTH_UNKNOWN)
		a->changes++;
	/* Count afresh in the new state: the streak that caused it is spent. */
	a->passes = 0;
	a->fails = 0;
	if (tr != NULL) {
		tr->entry = e;
		tr->addr = idx;
		tr->old_state = old;
		tr->new_state = next;
		strlcpy(tr->reason, r->reason ? r->reason : (r->pass ? "passed" : "failed"),
			sizeof(tr->reason));
	}
	return true;
}

/* The state an override makes of address i: drained ones are left out
 * (HEALTH_UNKNOWN with *drained set), forced-up ones are UP. */
static enum health_state health_effective(const struct health *h, size_t i, bool *drained)
{
	*drained = h->admin[i] == HEALTH_ADMIN_DRAINED;
	if (h->admin[i] == HEALTH_ADMIN_FORCED_UP)
		return HEALTH_UP;
	return *drained ? HEALTH_UNKNOWN : h->addrs[i].state;
}

bool health_update_published(struct health *h)
{
	const struct config *cfg = h->cfg;
	bool changed = false;

	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];
		size_t up = 0, known = 0, counted = 0;
		bool all, drained;

		for (size_t j = 0; j < ent->n_addrs; j++) {
			enum health_state s = health_effective(h, health_index(cfg, e, j), &drained);

			counted += !drained;
			up += s == HEALTH_UP;
			known += !drained && s != HEALTH_UNKNOWN;
		}
		/* Fail open only once the entry's first round is in: before
		 * that "none up" means "not yet known", not "all down". */
		all = ent->check == CONFIG_CHECK_NONE ||
		      (ent->all_down == CONFIG_ALL_DOWN_SERVE_ALL && up == 0 &&
		       known == counted);
		for (size_t j = 0; j < ent->n_addrs; j++) {
			size_t i = health_index(cfg, e, j);
			bool p = health_effective(h, i, &drained) == HEALTH_UP || all;

			p = p && (ent->check == CONFIG_CHECK_NONE || !drained);
			if (p != h->published[i]) {
				h->published[i] = p;
				changed = true;
			}
		}
	}
	return changed;
}

void health_set_admin(struct health *h, size_t idx, enum health_admin a)
{
	size_t e;

	if (idx >= h->n_addrs)
		return;
	e = health_entry_of(h, idx);
	if (h->cfg->entries[e].check != CONFIG_CHECK_NONE)
		h->admin[idx] = (uint8_t)a;
}

enum health_admin health_admin(const struct health *h, size_t idx)
{
	return idx < h->n_addrs ? (enum health_admin)h->admin[idx] : HEALTH_ADMIN_NONE;
}

size_t health_count_published(const struct health *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n_addrs; i++)
		n += h->published[i];
	return n;
}
