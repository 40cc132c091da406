/*
 * Key rollover (DESIGN §13): the key-state file beside each
 * --priv-key-path, and the timing arithmetic that decides, at a given
 * time, which keys the prober publishes in the DNSKEY RRset and which
 * sign. Pure: text and times in, decisions out; no I/O, no clock.
 *
 * A key's life is two intervals given by four Unix times (each may be
 * absent):
 *   published  [publish, remove)   its DNSKEY is in the RRset
 *   signing    [activate, retire)  it makes RRSIGs (ZSK: zone data,
 *                                  KSK: DNSKEY/CDS/CDNSKEY, CSK: both)
 * Absent publish/activate: since always; absent retire/remove: never.
 * So a key with no state file is a CSK published and signing, as a
 * single key has always been. The intervals are independent, which lets
 * one model say both "publish before signing" (ZSK pre-publication,
 * RFC 6781 section 4.1.1.1) and "sign before publishing" (algorithm
 * rollover, RFC 6781 section 4.1.4).
 *
 * The plan (keyroll_plan) follows the times unless a step would make
 * the zone bogus for a validator holding cached data (RFC 7583); such a
 * step waits, and the plan says until when and why.
 */
#ifndef AHD_KEYROLL_H
#define AHD_KEYROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most keys one server holds (--priv-key-path given this often). */
#define KEYROLL_MAX 8
/* A key-state file is a few lines; anything longer is not one. */
#define KEYROLL_FILE_MAX 4096
/* The key-state file is <key path> + this. */
#define KEYROLL_SUFFIX ".state"
/* An absent time. */
#define KEYROLL_NEVER INT64_MAX
#define KEYROLL_ALWAYS INT64_MIN

enum keyroll_role {
	KEYROLL_CSK = 0, /* DNSKEY flags 257, signs everything */
	KEYROLL_KSK = 1, /* 257, signs DNSKEY, CDS, CDNSKEY */
	KEYROLL_ZSK = 2, /* 256, signs the rest */
};

/* What a key-state file says. alg 0: --priv-key-alg. */
struct keyroll_spec {
	enum keyroll_role role;
	unsigned alg;
	int64_t publish, activate, retire, remove; /* KEYROLL_ALWAYS / _NEVER: absent */
};

/* The defaults: a CSK, always published and signing. */
void keyroll_spec_default(struct keyroll_spec *s);

/*
 * Parse a key-state file (len bytes of text, not NUL-terminated):
 * lines "name = value", blank lines and "#" comments; names role (csk,
 * ksk, zsk), algorithm (a number or a --priv-key-alg name), publish,
 * activate, retire, remove (Unix times, decimal). Each name at most
 * once; remove not before publish, retire not before activate. Returns
 * 0, or -1 with err holding "line N: what is wrong".
 */
int keyroll_parse(const char *text, size_t len, struct keyroll_spec *out, char *err,
		  size_t errlen);

/* "csk", "ksk", "zsk". */
const char *keyroll_role_name(enum keyroll_role role);

/* The waits of RFC 7583 section 3, from what the server serves. */
struct keyroll_policy {
	uint32_t dnskey_ttl; /* TTL of the DNSKEY RRset */
	uint32_t max_ttl;    /* the largest TTL of the zone's signed RRsets */
	uint32_t propagation; /* --key-propagation-delay: secondaries' lag */
};

/* Ipub: a new DNSKEY is in every cache after this (RFC 7583 section 3.2.1). */
uint32_t keyroll_ipub(const struct keyroll_policy *p);
/* Iret: the last signature of a key that stopped signing is out of every
 * cache after this (RFC 7583 section 3.2.1, Dsgn = 0: the prober re-signs
 * the whole zone in one publish). */
uint32_t keyroll_iret(const struct keyroll_policy *p);

/* What the prober did, kept across prober restarts (in the stats
 * object): KEYROLL_NEVER where it has not happened. */
struct keyroll_hist {
	int64_t published; /* first served in the DNSKEY RRset */
	int64_t signing;   /* first served signatures */
	int64_t unsigned_at; /* stopped signing */
	int64_t removed;   /* left the DNSKEY RRset */
};

/* States shown by status. */
enum keyroll_state {
	KEYROLL_FUTURE = 0, /* neither published nor signing yet */
	KEYROLL_PUBLISHED,  /* published, not signing yet */
	KEYROLL_ACTIVE,     /* published and signing */
	KEYROLL_PRESIGN,    /* signing, not published yet (algorithm rollover) */
	KEYROLL_RETIRED,    /* published, no longer signing */
	KEYROLL_POSTSIGN,   /* signing, no longer published (algorithm rollover) */
	KEYROLL_REMOVED,    /* neither, for good */
};
const char *keyroll_state_name(enum keyroll_state st);

/* One key as the planner sees it. The caller fills spec, alg and hist;
 * keyroll_plan fills the rest and updates hist. */
struct keyroll_key {
	struct keyroll_spec spec;
	unsigned alg;      /* the effective algorithm */
	struct keyroll_hist hist;
	/* Out: */
	bool publish;      /* in the DNSKEY RRset now */
	bool sign;         /* signs now (what its role signs) */
	enum keyroll_state state;
	int64_t since;     /* when it entered state (KEYROLL_ALWAYS: unknown) */
	int64_t next;      /* its next step, KEYROLL_NEVER: none */
	const char *next_what; /* "activate", ...; NULL with next NEVER */
	int64_t held_until; /* a step the times ask for waits until then; */
	const char *held_why; /* why (a constant), NULL: nothing held */
};

/*
 * Decide, at now, what every key does, given what has been served
 * (hist). Returns the earliest time after now at which the plan may
 * change (KEYROLL_NEVER: none), so the caller plans again then.
 * hist is updated with the steps taken now.
 */
int64_t keyroll_plan(struct keyroll_key *k, size_t n, const struct keyroll_policy *p,
		     int64_t now);

/* What a fresh server assumes of a key it has no history of: when
 * trusted (the first plan since start-up: the times are the operator's
 * word of what was served before), the times themselves; else (a key
 * added on SIGHUP) nothing yet. */
void keyroll_hist_init(struct keyroll_hist *h, const struct keyroll_spec *s, bool trusted,
		       int64_t now);

#endif
