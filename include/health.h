/*
 * The rise/fall state machine (DESIGN §8, habit 7): pure, no I/O, no
 * logging; probe results and the clock come in as parameters.
 *
 * One state per address of the flat address list (config_entry.first_addr
 * + j). Health-checked addresses start UNKNOWN (not published); the first
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

/* What the status command shows about one address. */
struct health_addr {
	enum health_state state;
	unsigned passes;        /* consecutive passes so far */
	unsigned fails;         /* consecutive failures so far */
	int64_t since;          /* clock of the last state change (or start) */
	int64_t last_check;     /* clock of the last result, -1: none yet */
	uint32_t latency_us;    /* of the last check */
	char last_error[HEALTH_REASON_MAX]; /* reason of the last failure, "" */
};

struct health {
	const struct config *cfg;
	struct health_addr *addrs; /* cfg->n_addrs_total */
	bool *published;           /* cfg->n_addrs_total: the current set */
	size_t n_addrs;
};

/* One probe result. reason: "connected", "HTTP 200", "refused",
 * "timeout", "HTTP 503", ... (copied). */
struct health_result {
	bool pass;
	uint32_t latency_us;
	const char *reason;
};

/* A state change, for the caller to log exactly once. */
struct health_transition {
	size_t entry; /* index into cfg->entries */
	size_t addr;  /* flat address index */
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
 * Feed one result for flat address idx (which must be health-checked).
 * Returns true and fills *tr when the address changed state.
 */
bool health_record(struct health *h, size_t idx, const struct health_result *r,
		   int64_t now, struct health_transition *tr);

/*
 * Recompute the published set from the states (UP addresses; static
 * addresses; all addresses of a serve_all entry that has no UP address
 * once every one of its addresses has been checked). Returns true if it
 * differs from the previous set. h->published is the array to hand to
 * zimg_publish().
 */
bool health_update_published(struct health *h);

/* How many addresses are published, and how many exist. */
size_t health_count_published(const struct health *h);

/* Entry index owning flat address idx (binary search over first_addr). */
size_t health_entry_of(const struct health *h, size_t idx);

const char *health_state_name(enum health_state s);

#endif
