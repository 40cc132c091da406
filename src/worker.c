#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "ahd.h"
#include "answer.h"
#include "clock.h"
#include "log.h"
#include "proc.h"
#include "query.h"
#include "stats.h"
#include "tcp.h"
#include "udp.h"
#include "worker_rrl.h"
#include "xdp_sock.h"
#include "xfr.h"

#define WORKER_MAX_EVENTS 64
/* Rounds over the ready UDP sockets (one batch from each per round)
 * before epoll is asked again, so TCP connections and sockets that
 * became ready meanwhile are not starved by a flood. */
#define WORKER_ROUNDS 8

/*
 * Interrupt moderation for UDP (--udp-pause). Answering every datagram
 * the moment it lands makes batches of ~5 under load, and each batch
 * pays a recvmmsg/sendmmsg pair, a sleep and wake-up of this worker and
 * a wake-up of the client. After a batch that shows concurrent load
 * (two datagrams or more, but not a full batch: then more are waiting
 * anyway) the worker pauses briefly before reading again, so the next
 * batch is several times bigger. The answers already sent are not
 * delayed; a query that arrives during the pause waits at most the
 * pause plus the timer slack. A lone query (light load) is never
 * delayed. Measured with make bench-peers' setup: batches grow from ~5
 * to ~26 datagrams, queries per CPU-second by 4-10% (run-to-run noise
 * is about as large).
 */
#define WORKER_TIMER_SLACK_NS 10000UL

/* The epoll tag of the AF_XDP socket: apart from the UDP sockets'
 * indices and TCP_EV_TAG. */
#define WORKER_XSK_TAG (UINT64_C(1) << 62)

/* Descriptors a worker holds besides its connections. */
#define WORKER_FIXED_FDS (PROC_MAX_FDS + 16)

struct worker {
	/* The image, EDNS size, NSID and cookie secret are set once; the
	 * time per batch of events, the client per query. */
	struct answer_ctx actx;
	struct xfr_ctx xfr; /* zone transfers (DESIGN §9.3) */
	struct tcp_server *tcp;
	/* Counters live in shared memory (stats.h) for `status`; only this
	 * worker writes its block, so counting is a plain add on a line no
	 * other process dirties. */
	struct stats_worker *sw;
	struct stats_worker own; /* when there is no statistics object */
	struct stats *st;        /* the secondaries' table (NULL: none) */
	struct worker_rrl rrl;   /* response rate limiting (DESIGN §10) */
	struct xdp_sock *xsk;    /* --xdp: this worker's queue (NULL: none) */
	int64_t now_ms;          /* CLOCK_MONOTONIC of the batch */
	/* Counted elsewhere (udp.c, tcp.c) into plain variables; copied to
	 * the block once per batch of events. */
	uint64_t dropped, dropped_seen;
	uint64_t errors, errors_seen;
	uint64_t accepted_seen;
	uint64_t xdp_rx_seen, xdp_tx_seen;
	struct xfr_counters xfr_seen;
};

static volatile sig_atomic_t worker_stop;

static void worker_on_signal(int sig)
{
	AHD_UNUSED(sig);
	worker_stop = 1;
}

static void worker_init_ctx(struct worker *w, const struct config *cfg,
			    const struct zimg *z)
{
	struct answer_ctx *a = &w->actx;

	a->z = z;
	a->edns_size = (uint16_t)(cfg->edns_size ? cfg->edns_size : AHD_EDNS_DEFAULT);
	a->nsid_len = cfg->nsid_len < sizeof(a->nsid) ? cfg->nsid_len : sizeof(a->nsid);
	memcpy(a->nsid, cfg->nsid, a->nsid_len);
	_Static_assert(sizeof(a->cookie_secret) == sizeof(cfg->cookie_secret),
		       "one cookie secret size");
	memcpy(a->cookie_secret, cfg->cookie_secret, sizeof(a->cookie_secret));
	a->cookies = true;
	a->now = (uint32_t)time(NULL);
}

static void worker_set_client(struct answer_ctx *a, const struct sockaddr *peer)
{
	memset(a->client_addr, 0, sizeof(a->client_addr));
	a->client_family = 0;
	if (peer == NULL)
		return;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)peer;

		a->client_family = AF_INET;
		memcpy(a->client_addr, &sin->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)peer;

		a->client_family = AF_INET6;
		memcpy(a->client_addr, &sin6->sin6_addr, 16);
	}
}

/* What xfr.c counted since the last call, into the block: called on
 * the transfer and TSIG paths only, so ordinary queries never pay it. */
static void worker_flush_xfr(struct worker *w)
{
	const struct xfr_counters *n = &w->xfr.n;
	struct xfr_counters *seen = &w->xfr_seen;

	stats_add(&w->sw->xfr_whole, n->axfr - seen->axfr);
	stats_add(&w->sw->xfr_diff, n->ixfr - seen->ixfr);
	stats_add(&w->sw->xfr_refused, n->refused - seen->refused);
	stats_add(&w->sw->xfr_bad_tsig, n->badtsig - seen->badtsig);
	*seen = *n;
}

/* The UDP room for an IXFR answer: the requester's EDNS payload capped
 * at ours, or 512 (RFC 1035, RFC 6891). */
static size_t worker_udp_cap(const struct worker *w, const uint8_t *in, size_t len)
{
	struct query q;

	if (query_parse(in, len, &q) != QUERY_OK)
		return AHD_UDP_CLASSIC;
	return edns_udp_limit(&q.edns, w->actx.edns_size);
}

static size_t worker_answer(struct worker *w, const struct sockaddr *peer,
			    const uint8_t *in, size_t len,
			    enum answer_transport transport, uint8_t *out, size_t cap,
			    void **stream)
{
	struct answer_info info = {.kind = ANSWER_DROP};
	size_t n;

	worker_set_client(&w->actx, peer);
	n = answer_query_ex(&w->actx, in, len, transport, out, cap, &info);
	/* A transfer of a zone we serve: the query core said NOTIMP, so
	 * ordinary queries pay no extra look at the question. */
	if (info.xfr) {
		size_t x = xfr_answer(&w->xfr, peer, in, len, transport == ANSWER_TCP,
				      worker_udp_cap(w, in, len), out, cap, stream,
				      (uint64_t)time(NULL), clock_now_ms());

		if (x != XFR_NOT_MINE) {
			stats_add(transport == ANSWER_TCP ? &w->sw->tcp_queries
							  : &w->sw->udp_queries, 1);
			worker_flush_xfr(w);
			return x;
		}
	}
	if (info.tsig && n > 0) {
		n = xfr_sign_answer(&w->xfr, in, len, out, n,
				    transport == ANSWER_TCP ? cap : worker_udp_cap(w, in, len),
				    (uint64_t)time(NULL));
		worker_flush_xfr(w);
	}
	/* Over UDP only: a TCP client's address is not spoofed. */
	if (transport == ANSWER_UDP)
		n = worker_rrl(&w->rrl, w->sw, &w->actx, &info, in, len, out, n, w->now_ms);
	if ((size_t)info.kind < ANSWER_KIND_COUNT)
		stats_add(&w->sw->answers[info.kind], 1);
	stats_add(transport == ANSWER_TCP ? &w->sw->tcp_queries : &w->sw->udp_queries, 1);
	if (info.truncated)
		stats_add(&w->sw->truncated, 1);
	return n;
}

static size_t worker_handle(void *ctx, const struct sockaddr *peer,
			    const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	return worker_answer(ctx, peer, in, len, ANSWER_UDP, out, cap, NULL);
}

/* Over TCP nothing is truncated: up to 65535 bytes (RFC 7766 section 8). */
static size_t worker_handle_tcp(void *ctx, const struct sockaddr *peer,
				const uint8_t *in, size_t len, uint8_t *out,
				size_t cap, void **stream)
{
	return worker_answer(ctx, peer, in, len, ANSWER_TCP, out, cap, stream);
}

static size_t worker_xfr_more(void *ctx, void *stream, uint8_t *out, size_t cap, bool *done)
{
	AHD_UNUSED(ctx);
	return xfr_more(stream, out, cap, done);
}

/* status's "last transfer seen" of the secondary at that address. */
static void worker_xfr_seen(void *arg, const struct sockaddr *peer, uint32_t serial)
{
	struct worker *w = arg;

	worker_set_client(&w->actx, peer);
	if (w->st != NULL && w->actx.client_family != 0)
		stats_xfr_seen(w->st, w->actx.client_family, w->actx.client_addr, serial,
			       (int64_t)time(NULL));
}

static void worker_xfr_free(void *ctx, void *stream)
{
	xfr_free(&((struct worker *)ctx)->xfr, stream);
}

/* The connection table must fit under the open file limit the
 * supervisor left us; shrink it rather than fail accept4 at random. */
static unsigned worker_max_conns(const struct config *cfg)
{
	unsigned want = cfg->tcp_max_conns ? cfg->tcp_max_conns
					   : CONFIG_DEFAULT_TCP_MAX_CONNS;
	uint64_t lim = proc_raise_nofile((uint64_t)want + WORKER_FIXED_FDS);

	if (lim >= (uint64_t)want + WORKER_FIXED_FDS)
		return want;
	lim = lim > WORKER_FIXED_FDS + 1 ? lim - WORKER_FIXED_FDS : 1;
	log_warning("open file limit too low for %u TCP connections: serving %llu",
		    want, (unsigned long long)lim);
	return (unsigned)lim;
}


/* What udp.c and tcp.c counted since the last call, into the block. */

static void worker_flush_counts(struct worker *w)
{
	uint64_t accepted = w->tcp != NULL ? tcp_server_stats(w->tcp)->accepted : 0;

	if (w->dropped != w->dropped_seen) {
		stats_add(&w->sw->dropped, w->dropped - w->dropped_seen);
		w->dropped_seen = w->dropped;
	}
	if (w->errors != w->errors_seen) {
		stats_add(&w->sw->errors, w->errors - w->errors_seen);
		w->errors_seen = w->errors;
	}
	if (w->xsk != NULL) {
		uint64_t rx, tx;

		xdp_sock_counts(w->xsk, &rx, &tx);
		if (rx != w->xdp_rx_seen) {
			stats_add(&w->sw->xdp_received, rx - w->xdp_rx_seen);
			stats_add(&w->sw->xdp_answered, tx - w->xdp_tx_seen);
			w->xdp_rx_seen = rx;
			w->xdp_tx_seen = tx;
		}
	}
	if (accepted != w->accepted_seen) {
		stats_add(&w->sw->tcp_conns, accepted - w->accepted_seen);
		w->accepted_seen = accepted;
	}
}

static uint64_t worker_count(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The block's counters: since the server started, across restarts of
 * this worker. */
static void worker_log_counts(const struct worker *w)
{
	const struct stats_worker *sw = w->sw;

	if (w->tcp != NULL) {
		const struct tcp_stats *t = tcp_server_stats(w->tcp);

		log_info("tcp: accepted %" PRIu64 " queries %" PRIu64
			 " idle-closed %" PRIu64 " io-timeout %" PRIu64 " evicted %" PRIu64
			 " refused %" PRIu64 " bad-length %" PRIu64 " errors %" PRIu64,
			 t->accepted, t->queries, t->closed_idle, t->closed_io, t->evicted,
			 t->refused, t->bad_frames, t->errors);
	}
	if (w->xfr.n.axfr + w->xfr.n.ixfr + w->xfr.n.refused + w->xfr.n.badtsig > 0)
		log_info("transfers: whole zones %" PRIu64 " differences %" PRIu64
			 " refused %" PRIu64 " bad-tsig %" PRIu64,
			 w->xfr.n.axfr, w->xfr.n.ixfr, w->xfr.n.refused, w->xfr.n.badtsig);
	log_info("stopping: noerror %" PRIu64 " nodata %" PRIu64
		 " nxdomain %" PRIu64 " refused %" PRIu64 " formerr %" PRIu64
		 " notimp %" PRIu64 " servfail %" PRIu64 " badvers %" PRIu64
		 " truncated %" PRIu64 " dropped %" PRIu64,
		 worker_count(&sw->answers[ANSWER_NOERROR]),
		 worker_count(&sw->answers[ANSWER_NODATA]),
		 worker_count(&sw->answers[ANSWER_NXDOMAIN]),
		 worker_count(&sw->answers[ANSWER_REFUSED]),
		 worker_count(&sw->answers[ANSWER_FORMERR]),
		 worker_count(&sw->answers[ANSWER_NOTIMP]),
		 worker_count(&sw->answers[ANSWER_SERVFAIL]),
		 worker_count(&sw->answers[ANSWER_BADVERS]),
		 worker_count(&sw->truncated),
		 worker_count(&sw->answers[ANSWER_DROP]) + worker_count(&sw->dropped));
}

static void worker_pause(unsigned us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};

	/* SIGTERM is blocked outside epoll_pwait: no EINTR to handle. */
	(void)clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/*
 * One batch from each ready UDP socket per round, so a flood on one
 * address does not delay the others; a socket leaves the round once it
 * is empty. One pause per round, when some socket showed load.
 */
static void worker_serve_udp(struct worker *w, struct udp_batch *b, const int *fds,
			     const bool *pktinfo, size_t *ready, size_t n_ready, unsigned pause_us)
{
	for (int r = 0; r < WORKER_ROUNDS && n_ready > 0 && !worker_stop; r++) {
		bool loaded = false;
		size_t keep = 0;

		for (size_t k = 0; k < n_ready; k++) {
			size_t i = ready[k];
			int got = udp_serve(b, fds[i], pktinfo[i], worker_handle, w, &w->dropped);

			if (got < 0) {
				/* ICMP errors surface here (e.g. a client's
				 * port unreachable): count, try again later. */
				w->errors++;
				continue;
			}
			if (got == 0)
				continue;
			if (got >= 2 && got < UDP_BATCH)
				loaded = true;
			ready[keep++] = i;
		}
		n_ready = keep;
		if (loaded && pause_us > 0 && n_ready > 0)
			worker_pause(pause_us);
	}
}

/* Batches from the AF_XDP ring, up to WORKER_ROUNDS of them, then back
 * to epoll so TCP is not starved. A batch that shows load is followed
 * by the --udp-pause, as over sockets: in copy mode every batch costs a
 * sendto and, when the ring ran dry, an epoll wake-up, and bigger
 * batches share them (DESIGN §14.5 measures it). */
static void worker_serve_xsk(struct worker *w, unsigned pause_us)
{
	for (int r = 0; r < WORKER_ROUNDS && !worker_stop; r++) {
		int got = xdp_sock_serve(w->xsk, worker_handle, w, &w->dropped);

		if (got >= XDP_SOCK_BATCH)
			continue;
		if (got < 2 || pause_us == 0)
			break;
		worker_pause(pause_us);
	}
}

static void worker_tcp_limits(const struct config *cfg, struct tcp_limits *lim)
{
	lim->max_conns = worker_max_conns(cfg);
	lim->idle_ms = 1000u * (cfg->tcp_idle_timeout ? cfg->tcp_idle_timeout
						      : CONFIG_DEFAULT_TCP_IDLE_TIMEOUT);
	lim->io_ms = cfg->tcp_io_timeout_ms ? cfg->tcp_io_timeout_ms
					    : CONFIG_DEFAULT_TCP_IO_TIMEOUT;
	lim->per_client = cfg->tcp_max_conns_per_client
				  ? cfg->tcp_max_conns_per_client
				  : CONFIG_DEFAULT_TCP_PER_CLIENT(lim->max_conns);
}

/* --xdp: the queue's socket and UMEM the supervisor made (xdp.h), on
 * epfd. A worker that cannot map them serves its sockets only: closing
 * the XSK socket takes it out of the program's map, so the queue's
 * packets go to the kernel instead of a ring nobody reads. */
static void worker_add_xsk(struct worker *w, const struct config *cfg, int epfd, int xsk_fd,
			   int umem_fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WORKER_XSK_TAG};

	if (xsk_fd < 0 || umem_fd < 0 || cfg->xdp_iface == NULL) {
		if (xsk_fd >= 0)
			close(xsk_fd);
		if (umem_fd >= 0)
			close(umem_fd);
		return;
	}
	w->xsk = xdp_sock_open(xsk_fd, umem_fd, cfg->xdp_iface, cfg->port);
	if (w->xsk == NULL)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, xdp_sock_fd(w->xsk), &ev) < 0) {
		log_error("xdp: epoll: %s; serving the sockets only", strerror(errno));
		xdp_sock_close(w->xsk);
		w->xsk = NULL;
	}
}

/* The inherited sockets, non-blocking: UDP ones on epfd (tagged with
 * their index), TCP listeners in the connection table, and the AF_XDP
 * socket with its UMEM (--xdp). */
static int worker_add_sockets(struct worker *w, const struct config *cfg, int epfd,
			      const int *fds, size_t n_fds, bool *pktinfo)
{
	size_t n_udp = 0, n_tcp = 0;
	int xsk_fd = -1, umem_fd = -1;

	for (size_t i = 0; i < n_fds; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
		int fl;
		int rc;

		if (xdp_sock_is_xsk(fds[i])) {
			xsk_fd = fds[i];
			continue;
		}
		if (xdp_sock_is_umem(fds[i])) {
			umem_fd = fds[i];
			continue;
		}
		fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0) {
			rc = -1;
		} else if (tcp_is_listener(fds[i])) {
			rc = tcp_server_listen(w->tcp, fds[i]);
			n_tcp++;
		} else {
			rc = epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev);
			pktinfo[i] = udp_is_wildcard(fds[i]);
			n_udp++;
		}
		if (rc < 0) {
			log_critical("socket fd %d: %s", fds[i], strerror(errno));
			return -1;
		}
	}
	worker_add_xsk(w, cfg, epfd, xsk_fd, umem_fd);
	log_debug("serving %zu UDP sockets and %zu TCP listeners%s", n_udp, n_tcp,
		  w->xsk != NULL ? " and an AF_XDP socket" : "");
	return 0;
}

/* Until SIGTERM: 0, or 1 if epoll fails. */
static int worker_loop(struct worker *w, int epfd, struct udp_batch *b, const int *fds,
		       const bool *pktinfo, const sigset_t *wait_mask, unsigned pause_us)
{
	struct epoll_event evs[WORKER_MAX_EVENTS];
	size_t ready[WORKER_MAX_EVENTS], n_ready;

	while (!worker_stop) {
		int timeout = tcp_server_tick(w->tcp, clock_now_ms());
		int n = epoll_pwait(epfd, evs, WORKER_MAX_EVENTS, timeout, wait_mask);
		int64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_pwait: %s", strerror(errno));
			return 1;
		}
		/* One clock reading per batch of events. */
		now = clock_now_ms();
		w->now_ms = now;
		w->actx.now = (uint32_t)time(NULL);
		n_ready = 0;
		for (int e = 0; e < n && !worker_stop; e++) {
			if (evs[e].data.u64 == WORKER_XSK_TAG)
				worker_serve_xsk(w, pause_us);
			else if (evs[e].data.u64 & TCP_EV_TAG)
				tcp_server_event(w->tcp, evs[e].data.u64, evs[e].events, now);
			else
				ready[n_ready++] = (size_t)evs[e].data.u64;
		}
		if (n_ready > 0 && !worker_stop)
			worker_serve_udp(w, b, fds, pktinfo, ready, n_ready, pause_us);
		worker_flush_counts(w);
	}
	return 0;
}

int worker_main(const struct config *cfg, const struct zimg *z, struct stats *st,
		struct stats_worker *sw, const int *fds, size_t n_fds, int ready_fd)
{
	bool pktinfo[PROC_MAX_FDS];
	struct worker w;
	struct udp_batch *b = NULL;
	sigset_t wait_mask;
	struct tcp_limits lim;
	int status = 1;
	int epfd = -1;

	memset(&w, 0, sizeof(w));
	w.sw = sw != NULL ? sw : &w.own;
	worker_init_ctx(&w, cfg, z);
	w.st = st;
	worker_rrl_init(&w.rrl, cfg, st);
	w.xfr = (struct xfr_ctx){.z = z, .key = &cfg->tsig, .seen = worker_xfr_seen,
				 .seen_arg = &w};
	w.actx.tsig_room = cfg->tsig.alg != TSIG_ALG_NONE ? tsig_space(&cfg->tsig) : 0;
	if (n_fds == 0 || n_fds > PROC_MAX_FDS) {
		log_critical("worker needs 1 to %d sockets, got %zu", PROC_MAX_FDS,
			     n_fds);
		return 1;
	}
	if (proc_stop_signals(worker_on_signal, &wait_mask) < 0) {
		log_critical("signals: %s", strerror(errno));
		return 1;
	}
	b = udp_batch_new();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b == NULL || epfd < 0) {
		log_critical("worker setup: %s", strerror(errno));
		goto out;
	}
	worker_tcp_limits(cfg, &lim);
	w.tcp = tcp_server_new(epfd, &lim, worker_handle_tcp, &w);
	if (w.tcp == NULL) {
		log_critical("TCP connection table: %s", strerror(errno));
		goto out;
	}
	tcp_server_streams(w.tcp, worker_xfr_more, worker_xfr_free);
	if (worker_add_sockets(&w, cfg, epfd, fds, n_fds, pktinfo) < 0)
		goto out;
	/* The default slack (50 us) would stretch the pause. */
	(void)prctl(PR_SET_TIMERSLACK, WORKER_TIMER_SLACK_NS);
	tsig_warm(&cfg->tsig);
	/* Set up: from here on only the worker's allow-list (proc.c). */
	if (proc_sandbox(PROC_ROLE_WORKER) < 0)
		goto out;
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
	}
	status = worker_loop(&w, epfd, b, fds, pktinfo, &wait_mask, cfg->udp_pause_us);
	worker_flush_counts(&w);
	worker_log_counts(&w);
out:
	if (w.xsk != NULL) {
		uint64_t rx, tx;

		xdp_sock_counts(w.xsk, &rx, &tx);
		log_info("xdp: received %" PRIu64 " frames, answered %" PRIu64, rx, tx);
		xdp_sock_close(w.xsk);
	}
	tcp_server_free(w.tcp);
	if (epfd >= 0)
		close(epfd);
	udp_batch_free(b);
	return status;
}
