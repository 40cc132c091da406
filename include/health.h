/*
 * The rise/fall state machine (DESIGN §8, habit 7): pure, no I/O, no
 * logging; probe results and the clock come in as parameters.
 *
 * One state per address. Health numbers the addresses of a configuration
 * 0..n-1, entry by entry (the address index, DESIGN §5.3): health_index
 * is the one place that computes it, and the prober's targets and the
 * published set handed to the image builder use it. Health-checked
 * addresses start UNKNOWN (not published); the first
 * result decides at once, so the start-up round already reflects health.
 * After that an address needs rise consecutive passes to go UP and fall
 * consecutive failures to go DOWN. Static (bare-list) addresses are always
 * published and never change state.
 */
#ifndef AHD_HEALTH_H
#define AHD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum health_state {
	HEALTH_UNKNOWN = 0, /* not yet checked: not published */
	HEALTH_UP,
	HEALTH_DOWN,
};

#define HEALTH_REASON_MAX 48

/* Why a check failed, as a class a monitoring system can count (the
 * reason text says the detail). Stored as one byte in the stats object. */
enum health_error {
	HEALTH_ERR_NONE = 0,    /* passed, or not checked yet */
	HEALTH_ERR_REFUSED,     /* connection refused or reset */
	HEALTH_ERR_TIMEOUT,     /* no verdict within the timeout */
	HEALTH_ERR_CONNECT,     /* any other socket error (unreachable, ...) */
	HEALTH_ERR_TLS,         /* TLS handshake or certificate verification */
	HEALTH_ERR_HTTP_STATUS, /* an HTTP status outside the expected set */
	HEALTH_ERR_PROTOCOL,    /* not HTTP, or a malformed answer */
	HEALTH_ERR_OTHER,
};

/* An operator's override of one address (control socket, DESIGN §12).
 * Same values as enum stats_admin. */
enum health_admin {
	HEALTH_ADMIN_NONE = 0,  /* the health check decides */
	HEALTH_ADMIN_DRAINED,   /* never published, whatever the check says */
	HEALTH_ADMIN_FORCED_UP, /* counts as up, whatever the check says */
};

/* What the status command shows about one address. */
struct health_addr {
	enum health_state state;
	unsigned passes;        /* consecutive passes so far */
	unsigned fails;         /* consecutive failures so far */
	int64_t since;          /* clock of the last state change (or start) */
	int64_t last_check;     /* clock of the last result, -1: none yet */
	uint32_t latency_us;    /* of the last check */
	char last_error[HEALTH_REASON_MAX]; /* reason of the last failure, "" */
	enum health_error error_class; /* class of the last failure */
	bool last_pass;         /* the last result passed */
	uint32_t changes;       /* UP <-> DOWN changes (not the first verdict) */
};

struct health; /* the states of one configuration's addresses */

/* One probe result. reason: "connected", "HTTP 200", "refused",
 * "timeout", "HTTP 503", ... (copied). */
struct health_result {
	bool pass;
	uint32_t latency_us;
	const char *reason;
	enum health_error error_class; /* HEALTH_ERR_NONE when pass */
};

/* A state change, for the caller to log exactly once. */
struct health_transition {
	size_t entry; /* index into cfg->entries */
	size_t addr;  /* address index (health_index) */
	enum health_state old_state;
	enum health_state new_state;
	char reason[HEALTH_REASON_MAX];
};

/* now: any clock the caller keeps using (the prober passes milliseconds
 * of CLOCK_REALTIME, so status can print "since" as a date). The initial
 * published set holds only static addresses. Returns NULL on ENOMEM. */
struct health *health_new(const struct config *cfg, int64_t now);
void health_free(struct health *h);

/*
 * Feed one result for address idx (which must be health-checked).
 * Returns true and fills *tr when the address changed state.
 */
bool health_record(struct health *h, size_t idx, const struct health_result *r,
		   int64_t now, struct health_transition *tr);

/*
 * Recompute the published set from the states (UP addresses; static
 * addresses; all addresses of a serve_all entry that has no UP address
 * once every one of its addresses has been checked). Overrides come
 * first (DESIGN §12.3): a drained address is never published and does not
 * count (an entry whose other addresses are all down still falls back to
 * serving those under serve_all, never the drained one); a forced-up
 * address counts as UP. Returns true if it differs from the previous set
 * (health_published_set).
 */
bool health_update_published(struct health *h);

/* Set or clear the override of health-checked address idx (static
 * addresses are always published: ignored). Takes effect at the next
 * health_update_published. */
void health_set_admin(struct health *h, size_t idx, enum health_admin a);
enum health_admin health_admin(const struct health *h, size_t idx);

/* How many addresses are published, and how many exist. */
size_t health_count_published(const struct health *h);

/* The index of address j of entry e of cfg. */
size_t health_index(const struct config *cfg, size_t e, size_t j);
/* The entry owning address idx (a binary search). */
size_t health_entry_of(const struct health *h, size_t idx);
/* The state of address idx (NULL if there is no such address). */
const struct health_addr *health_addr(const struct health *h, size_t idx);
/* Whether address j of entry e is in the answers now. */
bool health_published(const struct health *h, size_t e, size_t j);
/* The published set, indexed by health_index: what zimg_publish takes.
 * Valid until the next health_update_published. */
const bool *health_published_set(const struct health *h);

const char *health_state_name(enum health_state s);
/* "none", "refused", "timeout", "connect", "tls", "http_status",
 * "protocol", "other": the label values of the metrics and status. */
const char *health_error_name(enum health_error e);
#define HEALTH_ERR_COUNT (HEALTH_ERR_OTHER + 1)

#endif
