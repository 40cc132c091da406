/*
 * Stock secondaries for the replication tests (issue 14, DESIGN §9): NSD,
 * Knot and BIND's named started by the test as secondaries of a primary
 * on 127.0.0.1, each in the foreground as the test's own user with every
 * file (configuration, zone data, journal, pid file, control socket,
 * log) in a private directory under /tmp. Never the system service,
 * never /etc/nsd or /var/lib/knot, never port 53.
 *
 * The secondaries transfer the zones as they are: RRSIG, NSEC and DNSKEY
 * are served as transferred (no signing policy in Knot, no inline
 * signing in named).
 *
 * How a transfer is told to be IXFR or AXFR, per server (the oracles
 * sec_xfrs_since uses; none of them is our code):
 *  - Knot logs "[zone.] IXFR, incoming, remote ..., finished" or
 *    "AXFR, incoming, ..., finished" (an AXFR-style IXFR answer shows as
 *    AXFR).
 *  - named logs, at debug level 3 of the xfer-in category (a channel of
 *    its own, named -d 1), "got incremental response" or "got
 *    nonincremental response" for each IXFR it requested.
 *  - NSD logs neither; it stores the IXFRs it receives (store-ixfr) and
 *    serves them back (provide-xfr to 127.0.0.1): an IXFR query to NSD
 *    from the serial it had before the change gets an incremental answer
 *    only when the change came to NSD as an IXFR (it makes none from an
 *    AXFR, create-ixfr being off).
 *
 * Typical use:
 *	struct sec s;
 *	struct sec_cfg c = { .zones = {"example.test"}, .n_zones = 1,
 *			     .primary_port = p, .tsig = {"k", "hmac-sha256", b64} };
 *	cr_assert_gt(sec_start(&s, SEC_KNOT, &c), 0);
 *	cr_assert_eq(sec_wait_serial(&s, "example.test", serial, 20000), 0);
 *	sec_mark(&s, "example.test", &m);
 *	... change the zone on the primary ...
 *	sec_xfrs_since(&s, "example.test", &m, &x);  -> x.ixfr >= 1, x.axfr == 0
 *	sec_stop(&s);
 */
#ifndef AHD_SECONDARY_H
#define AHD_SECONDARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sec_kind { SEC_NSD, SEC_KNOT, SEC_BIND };
#define SEC_KINDS 3

#define SEC_MAX_ZONES 8
/* How long sec_start waits for the first answer on the secondary's port. */
#define SEC_START_MS 15000

/* A TSIG key as the three servers write it; name NULL: no key. */
struct sec_tsig {
	const char *name;   /* "xfr-key" */
	const char *alg;    /* "hmac-sha256" */
	const char *secret; /* base64 */
};

struct sec_cfg {
	const char *zones[SEC_MAX_ZONES]; /* the hosted zone and alias zones */
	size_t n_zones;
	uint16_t primary_port;   /* the primary at 127.0.0.1 */
	struct sec_tsig tsig;    /* on every transfer and NOTIFY */
	uint16_t port;           /* listen here; 0: a free port */
};

struct sec {
	enum sec_kind kind;
	pid_t pid;              /* 0 once reaped */
	uint16_t port;          /* DNS on 127.0.0.1, UDP and TCP */
	char dir[64];           /* the private directory */
	char conf[128];
	char out_path[128];     /* the daemon's stdout and stderr */
	char log_path[128];     /* its log file ("" when it logs to stderr) */
	struct sec_tsig tsig;   /* copied, strings point into keybuf */
	char keybuf[256];
	int exit_status;
};

/* "nsd", "knot", "named". */
const char *sec_name(enum sec_kind kind);
/* Whether the daemon's binary is installed (nsd, knotd, named). */
bool sec_available(enum sec_kind kind);

/*
 * Write the configuration into a new private directory and start the
 * daemon in the foreground; wait until it answers a query on its port
 * (any answer: the zone may still be transferring). Returns the port,
 * or -1 (the log is printed to stderr and the directory removed).
 * The daemon gets SIGTERM if the test process dies.
 */
int sec_start(struct sec *s, enum sec_kind kind, const struct sec_cfg *cfg);
/* SIGTERM, wait (SIGKILL after 5 s), remove the directory unless env
 * SEC_KEEP is set. Returns the exit status (code or 128 + signal). */
int sec_stop(struct sec *s);

/* The SOA serial the secondary serves for zone, or -1. */
int64_t sec_serial(const struct sec *s, const char *zone);
/* Wait until zone's serial is serial or later (RFC 1982): 0 or -1. */
int sec_wait_serial(const struct sec *s, const char *zone, uint32_t serial,
		    int timeout_ms);
/* Everything the daemon wrote (stdout, stderr and its log files),
 * malloc'd, NUL-terminated. */
char *sec_log(const struct sec *s);

/* A point in a secondary's history: its log length and zone's serial. */
struct sec_mark {
	size_t log_len;
	int64_t serial;
};
void sec_mark(const struct sec *s, const char *zone, struct sec_mark *m);

/* Transfers of zone since the mark. */
struct sec_xfrs {
	unsigned ixfr;   /* incremental IXFR answers */
	unsigned axfr;   /* AXFR, or an IXFR answered AXFR-style */
};
/* Fills x (see the oracles above); 0, or -1 when it cannot tell. For
 * NSD the count is of committed transfers, all told incremental or all
 * not by the one IXFR query from the mark's serial. */
int sec_xfrs_since(const struct sec *s, const char *zone, const struct sec_mark *m,
		   struct sec_xfrs *x);
/* Whether every transfer of zone since the mark was an incremental IXFR,
 * and there was one. */
bool sec_saw_ixfr(const struct sec *s, const char *zone, const struct sec_mark *m);

/* Whether the secondary's log says zone expired (no refresh within the
 * SOA's EXPIRE: it stopped serving the zone). */
bool sec_saw_expiry(const struct sec *s, const char *zone);

/* The A addresses of name at 127.0.0.1:port, sorted, comma-separated
 * ("" when none, "(no reply)" when nothing answered). */
void sec_a_set(uint16_t port, const char *name, char *out, size_t cap);
/* Poll every 10 ms until name's A set at port is want: the milliseconds
 * it took, or -1 after timeout_ms (got then holds the last set). */
int64_t sec_wait_a(uint16_t port, const char *name, const char *want, int timeout_ms,
		   char *got, size_t cap);

/*
 * `dig axfr zone @127.0.0.1 -p port` (+tsig when tsig->name, from the
 * source address src unless NULL); its stdout (malloc'd) or NULL when
 * dig failed.
 */
char *sec_dig_xfr(uint16_t port, const char *zone, const char *type,
		  const struct sec_tsig *tsig, const char *src);
/* The records of a dig transfer output as a zone file (comments and the
 * TSIG records dropped, the closing SOA dropped), into path. The number
 * of records written, or -1. */
long sec_axfr_to_zonefile(const char *dig_out, const char *path);
/*
 * Run ldns-verify-zone, dnssec-verify -o zone and kzonecheck on the zone
 * file; 0 when all three accept it, else -1 with their output in *report
 * (malloc'd; may be NULL to discard). A missing tool is a failure.
 */
int sec_verify_zonefile(const char *zone, const char *path, char **report);

/*
 * delv for name/type from 127.0.0.1:port with +root=zone and the trust
 * anchors file anchors: its stdout and stderr (malloc'd).
 * sec_write_anchor writes such a file for zone from the DNSKEY (flags
 * 257) served at port; 0 or -1.
 */
char *sec_delv(uint16_t port, const char *zone, const char *anchors, const char *name,
	       const char *type);
int sec_write_anchor(uint16_t port, const char *zone, const char *path);
/* Whether delv's output says the answer fully validated (positive or
 * negative). */
bool sec_delv_validated(const char *out);

/*
 * One transfer query (type "AXFR" or "IXFR"; IXFR from serial; EDNS 1232)
 * over TCP to 127.0.0.1:port from the address src (NULL: any; "udp": over
 * UDP instead), signed with tsig unless it or its name is NULL: the first
 * answer message, parsed. 0, or -1 without an answer (the connection
 * closed, nothing in 5 s).
 */
struct sec_xfr_reply {
	int rcode;        /* LDNS_RCODE_*: NOERROR, REFUSED, NOTAUTH (9) ... */
	bool tc;
	unsigned ancount;
	int64_t soa[2];   /* serials of answer records 0 and 1 if SOA, else -1 */
	bool tsig;        /* the answer carries a TSIG RR */
	int tsig_error;   /* its Error field: 16 BADSIG, 17 BADKEY, 18 BADTIME */
};
int sec_xfr_query(uint16_t port, const char *zone, const char *type, uint32_t serial,
		  const struct sec_tsig *tsig, const char *src, struct sec_xfr_reply *r);

/* One signed AXFR of zone over TCP, read to its closing SOA without
 * keeping it (a light load for benchmarks): the bytes of its messages,
 * or -1. */
long sec_axfr_drain(uint16_t port, const char *zone, const struct sec_tsig *tsig);
/* The same for an IXFR from serial whose answer is one message (a
 * flip's difference, or the SOA alone): that message's bytes, or -1. */
long sec_ixfr_drain(uint16_t port, const char *zone, uint32_t serial,
		    const struct sec_tsig *tsig);

/* Send the secondary a NOTIFY for zone from 127.0.0.1, signed with its
 * key, as its primary would (RFC 1996): 0 once acknowledged, else -1. */
int sec_notify(const struct sec *s, const char *zone);

#endif
