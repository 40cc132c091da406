/*
 * Health probes (DESIGN §8, habit 7: probes do only I/O, health.c
 * decides). check_tcp.c runs every target of a round concurrently on one
 * epoll loop with non-blocking connects; check_http.c knows the HTTP/1.1
 * request and status line the http check exchanges over that loop.
 */
#ifndef AHD_CHECK_H
#define AHD_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "config.h"
#include "health.h"

#define CHECK_REASON_MAX 48

struct check_target {
	/* In. */
	int family;            /* AF_INET or AF_INET6 */
	uint8_t addr[16];      /* network byte order */
	uint16_t port;
	enum config_check kind; /* CONFIG_CHECK_TCP, _HTTP or _HTTPS */
	const char *http_path; /* HTTP: request target; NULL: "/" */
	const char *http_host; /* HTTP: the Host header; NULL: the address */
	/* HTTP: the statuses that pass; n_status 0: 200-399. */
	const struct config_status_range *status;
	size_t n_status;
	/* HTTPS: the context (check_tls_ctx; NULL fails the check), and the
	 * name sent as SNI and verified (NULL: no SNI, the address is
	 * verified). Verification itself is the context's. */
	SSL_CTX *tls_ctx;
	const char *tls_name;
	size_t user;           /* caller's cookie (the flat address index) */
	/* In and out: the last round's TLS session, resumed by the next one
	 * (DESIGN §3.1); owned here, freed by check_target_clear. */
	struct ssl_session_st *tls_session;
	int64_t tls_full_ns;   /* when the last full handshake was made */
	/* Out, set by check_run. */
	bool pass;
	enum health_error error_class; /* HEALTH_ERR_NONE when pass */
	bool tls_resumed;      /* this round's handshake resumed a session */
	uint32_t latency_us;
	char reason[CHECK_REASON_MAX]; /* "connected", "HTTP 200", "refused",
					* "timeout", "HTTP status 503",
					* "TLS verify failed: ...", ... */
};

/* Free what a target holds between rounds (its TLS session). */
void check_target_clear(struct check_target *t);

/*
 * Probe every target, all concurrently, each bounded by timeout_ms (see
 * check_deadline_ns for where it counts from). At most max_inflight
 * sockets are open at once (0: the RLIMIT_NOFILE soft limit minus a
 * reserve); the rest start as earlier ones finish, so a round takes about
 * one timeout per fd budget's worth of targets. stop (may be NULL) is polled after every wake-up (signals
 * interrupt the wait): when it becomes non-zero the round is abandoned.
 * tick (may be NULL) is called with tick_arg after every wake-up, and the
 * loop wakes at least every CHECK_TICK_MS, however long the timeout: a
 * caller proves its liveness with it (the prober's heartbeat).
 * Returns 0 when every target has a result, 1 when stopped, -1 on a
 * setup error (errno set).
 */
#define CHECK_TICK_MS 1000
int check_run(struct check_target *t, size_t n, unsigned timeout_ms,
	      size_t max_inflight, const volatile sig_atomic_t *stop,
	      void (*tick)(void *arg), void *tick_arg);

/*
 * An fd (the control socket's epoll set) whose readiness wakes check_run
 * so that its tick runs at once, not at the next CHECK_TICK_MS: a
 * control request is served within a wake-up during a round. -1: none.
 */
void check_set_wake_fd(int fd);

/*
 * When check_run gives up on a target whose connect started at start_ns,
 * in a round that started at round_ns. Sending 10,000 connects takes a
 * few hundred ms (on loopback each connect() also runs the listener's
 * side of the handshake), so if every check counted only from its own
 * connect, a round whose slow targets sit late in the list (the first
 * round, before check_slow_first has anything to go on) would last that
 * long plus the timeout. So a target sent in the opening burst
 * (opening) gets the timeout from the round's start, but never less than
 * nine tenths of it from its own connect: a round of up to a tenth of
 * the timeout of sending still ends one timeout after it began. Targets
 * that waited for a file descriptor count from their own connect.
 * Never decreases as start_ns grows, for the same opening.
 */
int64_t check_deadline_ns(int64_t round_ns, int64_t start_ns, int64_t timeout_ns, bool opening);

/*
 * Move the targets whose last check took at least slow_us (latency_us)
 * to the front; the order within each group is not kept. check_run
 * starts connects in index order and each deadline runs from its own
 * start, so with the slow ones first their deadlines fall one timeout
 * after the round began however long the thousands of fast connects
 * after them take to start: a round stays at about one timeout. Returns
 * how many are slow.
 */
size_t check_slow_first(struct check_target *t, size_t n, uint32_t slow_us);


/* Render the request for t into buf (GET <path> HTTP/1.1, Host,
 * User-Agent, Connection: close). Returns its length, or 0 if it does
 * not fit. */
size_t check_http_request(const struct check_target *t, char *buf, size_t cap);

/*
 * Look at the first bytes of a response. Returns 1 and sets *status when
 * buf holds a complete status line "HTTP/1.x NNN ...\r\n" (or at least
 * its "HTTP/1.x NNN " prefix), 0 when more bytes are needed, -1 when it
 * is not an HTTP/1.x status line.
 */
int check_http_status(const char *buf, size_t len, int *status);

/* Outcome of an HTTP status: in the set (n 0: 200-399) passes with
 * reason "HTTP <status>"; else "HTTP status <status>". */
bool check_http_verdict(int status, const struct config_status_range *set, size_t n,
			char *reason, size_t cap);

/*
 * TLS for the https check (check_tls.c, DESIGN §3.1). A check_tls holds
 * one SSL_CTX per distinct (verify, CA file) of a configuration, made
 * before the prober's seccomp filter: loading trust anchors reads files.
 * The system store is read whole (the default CA file), never as a hashed
 * directory looked up during a handshake.
 */
struct check_tls;
/* NULL after one line on stderr naming the entry whose CA file failed.
 * A configuration without https checks gets an empty set. */
struct check_tls *check_tls_new(const struct config *cfg);
void check_tls_free(struct check_tls *tls);
/* The context of an https entry (NULL: none, or tls is NULL). */
SSL_CTX *check_tls_ctx(const struct check_tls *tls, const struct config_entry *e);
/* The set the prober uses: installed by the supervisor before it forks
 * the prober, which inherits it. */
void check_tls_install(struct check_tls *tls);
struct check_tls *check_tls_installed(void);

/* The reason of a failed certificate verification (X509_V_ERR_*),
 * "TLS verify failed: certificate has expired", ..., into buf. */
void check_tls_verify_reason(long err, char *buf, size_t cap);

#endif
