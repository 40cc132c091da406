#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ahd.h"
#include "answer.h"
#include "log.h"
#include "proc.h"
#include "udp.h"

#define WORKER_MAX_EVENTS 64
/* Batches served from one socket before looking at the others, so a
 * flood on one address cannot starve the rest. */
#define WORKER_ROUNDS 8

struct worker {
	const struct zimg *z;
	uint64_t counts[ANSWER_KIND_COUNT];
	uint64_t dropped;
	uint64_t errors;
};

static volatile sig_atomic_t worker_stop;

static void worker_on_signal(int sig)
{
	AHD_UNUSED(sig);
	worker_stop = 1;
}

static size_t worker_handle(void *ctx, const uint8_t *in, size_t len,
			    uint8_t *out, size_t cap)
{
	struct worker *w = ctx;
	enum answer_kind kind = ANSWER_DROP;
	size_t n;

	n = answer_query(w->z, in, len, ANSWER_UDP, out, cap, &kind);
	if ((size_t)kind < ANSWER_KIND_COUNT)
		w->counts[kind]++;
	return n;
}

/* Signals are blocked except while waiting, so the stop flag can never
 * be set between its check and the wait (NSD's pattern). */
static int worker_signals(sigset_t *wait_mask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0 || sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0)
		return -1;
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
	sa.sa_handler = worker_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	return 0;
}

static void worker_log_counts(const struct worker *w)
{
	log_info("stopping: noerror %" PRIu64 " nodata %" PRIu64
		 " nxdomain %" PRIu64 " refused %" PRIu64 " formerr %" PRIu64
		 " notimp %" PRIu64 " servfail %" PRIu64 " dropped %" PRIu64,
		 w->counts[ANSWER_NOERROR], w->counts[ANSWER_NODATA],
		 w->counts[ANSWER_NXDOMAIN], w->counts[ANSWER_REFUSED],
		 w->counts[ANSWER_FORMERR], w->counts[ANSWER_NOTIMP],
		 w->counts[ANSWER_SERVFAIL],
		 w->counts[ANSWER_DROP] + w->dropped);
}

int worker_main(const struct config *cfg, const struct zimg *z,
		const int *fds, size_t n_fds, int ready_fd)
{
	struct epoll_event evs[WORKER_MAX_EVENTS];
	bool pktinfo[PROC_MAX_FDS];
	struct worker w;
	struct udp_batch *b = NULL;
	sigset_t wait_mask;
	int status = 1;
	int epfd = -1;

	AHD_UNUSED(cfg);
	memset(&w, 0, sizeof(w));
	w.z = z;
	if (n_fds == 0 || n_fds > PROC_MAX_FDS) {
		log_critical("worker needs 1 to %d sockets, got %zu", PROC_MAX_FDS,
			     n_fds);
		return 1;
	}
	if (worker_signals(&wait_mask) < 0) {
		log_critical("signals: %s", strerror(errno));
		return 1;
	}
	b = udp_batch_new();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b == NULL || epfd < 0) {
		log_critical("worker setup: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n_fds; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
		int fl = fcntl(fds[i], F_GETFL);

		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			log_critical("socket fd %d: %s", fds[i], strerror(errno));
			goto out;
		}
		pktinfo[i] = udp_is_wildcard(fds[i]);
	}
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
	}
	log_debug("serving %zu UDP sockets", n_fds);

	status = 0;
	while (!worker_stop) {
		int n = epoll_pwait(epfd, evs, WORKER_MAX_EVENTS, -1, &wait_mask);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_pwait: %s", strerror(errno));
			status = 1;
			break;
		}
		for (int e = 0; e < n && !worker_stop; e++) {
			size_t i = (size_t)evs[e].data.u64;

			for (int r = 0; r < WORKER_ROUNDS; r++) {
				int got = udp_serve(b, fds[i], pktinfo[i],
						    worker_handle, &w, &w.dropped);

				if (got < 0) {
					/* ICMP errors surface here (e.g. a
					 * client's port unreachable): count. */
					w.errors++;
					break;
				}
				if (got < UDP_BATCH)
					break;
			}
		}
	}
	worker_log_counts(&w);
out:
	if (epfd >= 0)
		close(epfd);
	udp_batch_free(b);
	return status;
}
