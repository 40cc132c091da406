/*
 * The control socket (DESIGN §12): drain, undrain, force-up and status
 * through a UNIX socket that the supervisor binds (root and the service
 * group only) and the prober serves from its event loop.
 *
 * The protocol is one request line per connection, then the server's
 * answer, then the server closes:
 *
 *   request  = verb [TAB name [TAB address [TAB reason]]] LF
 *   verb     = "status" | "status-json" | "drain" | "undrain" | "force-up"
 *   answer   = ("ok" | "error: " text) LF *(line LF)
 *
 * Fields are separated by one TAB so that a reason may hold spaces; an
 * empty address means every address of the name (drain, undrain). A
 * request line is at most CONTROL_LINE_MAX bytes; a connection lives at
 * most CONTROL_TIMEOUT_MS; at most CONTROL_MAX_CLIENTS are served at once.
 *
 * The overrides are kept as lines of the same shape (the state file
 * CONTROL_STATE_FILE in --state-dir, and what the prober hands the
 * supervisor to write there):
 *
 *   record   = ("drain" | "force-up") TAB name TAB address TAB unix-time
 *              TAB uid TAB pid TAB reason LF
 *
 * control_proto.c is pure (no I/O, no logging): the parsers are fuzzed.
 */
#ifndef AHD_CONTROL_H
#define AHD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "health.h"

#define CONTROL_LINE_MAX 1024
#define CONTROL_REASON_MAX 200
#define CONTROL_NAME_MAX 256
#define CONTROL_ADDR_MAX 64
/* A connection that has not been answered and closed by then is dropped:
 * an idle or slow client holds one slot for that long at most. */
#define CONTROL_TIMEOUT_MS 5000
#define CONTROL_MAX_CLIENTS 8
/* The state file, and the one message carrying it to the supervisor. */
#define CONTROL_STATE_MAX (64 * 1024)
#define CONTROL_STATE_FILE "overrides"

enum control_verb {
	CONTROL_STATUS = 0,
	CONTROL_STATUS_JSON,
	CONTROL_DRAIN,
	CONTROL_UNDRAIN,
	CONTROL_FORCE_UP,
};

struct control_req {
	enum control_verb verb;
	char name[CONTROL_NAME_MAX];
	char addr[CONTROL_ADDR_MAX]; /* "": every address (drain, undrain) */
	char reason[CONTROL_REASON_MAX + 1];
};

/* One override, as saved. */
struct control_record {
	enum health_admin admin; /* DRAINED or FORCED_UP */
	char name[CONTROL_NAME_MAX];
	char addr[CONTROL_ADDR_MAX];
	int64_t when; /* Unix time */
	uint32_t uid;
	uint32_t pid;
	char reason[CONTROL_REASON_MAX + 1];
};

/* The verb's name in requests and records. */
const char *control_verb_name(enum control_verb v);

/*
 * One request line (len bytes, without the LF; may hold NUL bytes, which
 * are refused). Returns 0, or -1 with one line in err saying what is
 * wrong (for the client).
 */
int control_req_parse(const char *line, size_t len, struct control_req *req, char *err,
		      size_t errcap);
/* The request line of req, LF included, NUL-terminated. Length, or -1 if
 * it does not fit or a field holds a TAB, LF or other control byte. */
int control_req_format(const struct control_req *req, char *buf, size_t cap);

/* A reason the protocol can carry: printable, no TAB or LF, at most
 * CONTROL_REASON_MAX bytes. */
bool control_reason_ok(const char *s);

/* One record line (without the LF). 0 or -1. */
int control_record_parse(const char *line, size_t len, struct control_record *r);
/* Append r's line to buf (NUL-terminated, *len bytes so far). 0, or -1 if
 * it does not fit in cap. */
int control_record_format(const struct control_record *r, char *buf, size_t cap, size_t *len);

/*
 * Call fn for every record line of a state file's bytes (lines starting
 * with '#' and empty lines are skipped). Returns how many lines did not
 * parse (fn is not called for those).
 */
size_t control_records_each(const char *text, size_t len,
			    void (*fn)(const struct control_record *r, void *arg), void *arg);

/*
 * Find the address a request names in cfg: name relative ("www") or
 * absolute ("www.example.test", trailing dot optional), any case;
 * address in any text form inet_pton takes. *entry and, when addr is not
 * "", *idx (health_index) are set. Returns 0, or -1 with one line in err
 * ("unknown name", "www.example.test has no address 192.0.2.9", ...).
 */
int control_lookup(const struct config *cfg, const char *name, const char *addr, size_t *entry,
		   size_t *idx, char *err, size_t errcap);

/* ---- The server, in the prober (control.c) ---- */

struct control;
struct stats;

/* What the prober does when an override changed: recompute the published
 * set and publish it, refresh the status table. */
typedef void (*control_changed_fn)(void *arg);

/*
 * listen_fd: the bound, listening socket (the supervisor made it; -1:
 * none). chan_fd: where to send the state file's new bytes (-1: none).
 * saved: the records the previous prober or run left (may be NULL);
 * applied to h at once. Returns NULL on ENOMEM (logged).
 */
struct control *control_new(const struct config *cfg, struct health *h, struct stats *st,
			    int listen_fd, int chan_fd, const char *saved, size_t saved_len,
			    control_changed_fn changed, void *changed_arg);
void control_free(struct control *c);
/* An fd that is readable when control_serve has something to do (an
 * epoll fd), -1 when there is no socket. */
int control_wait_fd(const struct control *c);
/* Serve: wait at most wait_ms (0: not at all) for events, handle them,
 * drop connections past their deadline. Never blocks on a client. */
void control_serve(struct control *c, int wait_ms);
/* How many overrides are in force. */
size_t control_count(const struct control *c);

/* ---- The client (admin_control.c) ---- */

/*
 * Send one request to the socket at path and read the whole answer
 * (NUL-terminated, *answer malloc'ed) within timeout_ms. Returns 0, or
 * -1 after one line on stderr (cannot connect: why; timeout).
 */
int control_client_call(const char *path, const char *line, int timeout_ms, char **answer);

#endif
