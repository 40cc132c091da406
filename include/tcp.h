/*
 * TCP transport (RFC 7766, RFC 1035 section 4.2.2): listening sockets
 * (supervisor) and connections (workers, on the worker's epoll loop).
 *
 * Every connection lives in a table sized once at start (--tcp-max-conns
 * per worker): nothing is allocated per connection or per query. Each
 * slot holds a framer (two-byte length prefix, several and pipelined
 * queries) and an output queue (responses waiting for the socket, so a
 * slow reader never blocks the other clients). Connections sit in a list
 * ordered by last activity: its head is the first to time out
 * (RFC 7766 section 6.2.3) and the first idle one to close when the
 * table is full. A second list holds the connections in the middle of
 * receiving a message, ordered by when its first byte came: a message
 * must be complete within the I/O timeout however the client paces its
 * bytes (slowloris), and when no idle connection is left the one whose
 * message started first makes room. Connections from one address are
 * chained per address, so a cap per client costs a short walk.
 *
 * The framer and the output queue are pure (no I/O) for unit tests.
 */
#ifndef AHD_TCP_H
#define AHD_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ahd.h"

/* Any message a length prefix can announce (RFC 8906 section 3.1.2:
 * answer every well-formed query). A slot's buffer is reserved, not
 * committed: an idle connection touches its first page only. */
#define TCP_IN_MAX AHD_MAX_MSG
/* A connection that held more than this gives the pages beyond it back
 * when it closes, so one large query does not pin its slot's memory. */
#define TCP_IN_KEEP 4096
/* Responses of pipelined queries are gathered up to this much before a
 * write; one maximal response (65535) always fits besides. */
#define TCP_OUT_BATCH 16384
#define TCP_OUT_CAP (2 + AHD_MAX_MSG + TCP_OUT_BATCH)
/* listen(2) backlog: the kernel caps it at net.core.somaxconn. */
#define TCP_BACKLOG 4096
/* Pending TCP Fast Open requests per listener. */
#define TCP_FASTOPEN_QLEN 256
/* After accept4 fails for lack of descriptors or memory, listeners are
 * left alone this long instead of waking the loop in vain. */
#define TCP_ACCEPT_PAUSE_MS 100
/* Connections accepted per listener event, so one flooded listener
 * cannot starve the rest of the loop. */
#define TCP_ACCEPT_BURST 64

/* epoll data of everything tcp.c registers: this bit is set. */
#define TCP_EV_TAG (UINT64_C(1) << 63)

/* ---- framing: bytes in, messages out ---- */

enum tcp_frame {
	TCP_FRAME_MORE = 0, /* no complete message yet */
	TCP_FRAME_MSG,      /* *msg, *len: one message */
	TCP_FRAME_BAD,      /* length < 12 (0 included) or > TCP_IN_MAX */
};

struct tcp_framer {
	size_t start; /* first byte not yet handed out */
	size_t len;   /* bytes held */
	uint8_t buf[2 + TCP_IN_MAX];
};

void tcp_framer_reset(struct tcp_framer *f);
/* Where the next read goes and how many bytes fit (never 0 while no
 * complete message is held). Moves held bytes to the front first, so
 * pointers from tcp_framer_next are invalid after it. */
uint8_t *tcp_framer_space(struct tcp_framer *f, size_t *room);
/* n bytes were written at the tcp_framer_space pointer. */
void tcp_framer_commit(struct tcp_framer *f, size_t n);
/* Take the next complete message; *msg stays valid until the next
 * tcp_framer_space call. */
enum tcp_frame tcp_framer_next(struct tcp_framer *f, const uint8_t **msg,
			       size_t *len);
/* Whether part of a message is held (a length prefix or a body begun). */
bool tcp_framer_partial(const struct tcp_framer *f);

/* ---- output queue: framed responses waiting for the socket ---- */

struct tcp_outq {
	size_t start; /* first byte not yet written */
	size_t len;
	uint8_t buf[TCP_OUT_CAP];
};

void tcp_outq_reset(struct tcp_outq *q);
/* Room for one more response, after its length prefix: *cap is
 * AHD_MAX_MSG. NULL while the queue is too full for a maximal one. */
uint8_t *tcp_outq_reserve(struct tcp_outq *q, size_t *cap);
/* The response written at the tcp_outq_reserve pointer is n bytes
 * (1..AHD_MAX_MSG): prefix it and queue it. */
void tcp_outq_commit(struct tcp_outq *q, size_t n);
/* Bytes waiting to be written (NULL, *n = 0 when empty). */
const uint8_t *tcp_outq_pending(const struct tcp_outq *q, size_t *n);
/* n of the pending bytes were written. */
void tcp_outq_advance(struct tcp_outq *q, size_t n);
bool tcp_outq_empty(const struct tcp_outq *q);

/* ---- sockets and connections ---- */

/* Produce the response to in[0..len), sent by peer, into out (cap
 * bytes); its length, or 0 to answer nothing. Same contract as
 * udp_handler, plus: a handler whose answer takes several messages (a
 * zone transfer) sets *stream to its state; the server then asks
 * tcp_stream_more for the rest, one message at a time, as the client
 * takes them, and reads no further query on that connection meanwhile. */
typedef size_t (*tcp_handler)(void *ctx, const struct sockaddr *peer,
			      const uint8_t *in, size_t len, uint8_t *out,
			      size_t cap, void **stream);

/* The next message of stream into out (cap bytes): its length, 0 for
 * nothing more to send (or an error: the connection then closes when
 * *done is false). *done: that was the last message. */
typedef size_t (*tcp_stream_more)(void *ctx, void *stream, uint8_t *out, size_t cap,
				  bool *done);
/* Release a stream (finished, or its connection closed). */
typedef void (*tcp_stream_free)(void *ctx, void *stream);

/* A stream's messages written per turn of the event loop, so a transfer
 * to a fast client does not hold up the worker's other clients. */
#define TCP_STREAM_BURST 4

struct tcp_stats {
	uint64_t accepted;
	uint64_t closed_idle;   /* idle timeout */
	uint64_t closed_io;     /* a message not complete in the I/O timeout */
	uint64_t evicted;       /* oldest idle (or slowest message) closed
				 * for a new one */
	uint64_t refused;       /* table full of busy connections, or the
				 * client's own are all busy */
	uint64_t bad_frames;    /* length < 12 or too long: closed */
	uint64_t errors;        /* socket errors, resets */
	uint64_t queries;
	uint64_t streams;       /* multi-message answers started */
};

struct tcp_server;

/*
 * Bind a non-blocking TCP socket to addr:port (family AF_INET or
 * AF_INET6, addr in network order) and listen on it, with SO_REUSEADDR,
 * SO_REUSEPORT when reuseport, IPV6_V6ONLY for AF_INET6, TCP Fast Open
 * when the kernel has it. Returns the fd (FD_CLOEXEC) or -1 with errno.
 */
int tcp_listen(int family, const uint8_t addr[16], uint16_t port, bool reuseport);

/* Whether fd is a listening TCP socket. */
bool tcp_is_listener(int fd);

struct tcp_limits {
	unsigned max_conns;  /* the table: connections of this worker */
	unsigned idle_ms;    /* closed after this long without progress */
	unsigned io_ms;      /* a message's bytes must all arrive within this
			      * once its first byte came */
	/* Connections of one client address in this table; a new one
	 * beyond it replaces the client's own oldest that is not sending
	 * an answer, or is refused. >= max_conns: no cap. */
	unsigned per_client;
};

/*
 * A server for one worker on the epoll instance epfd, with the limits
 * lim (all nonzero). Returns NULL (errno set) when the table cannot be
 * had.
 */
struct tcp_server *tcp_server_new(int epfd, const struct tcp_limits *lim,
				  tcp_handler handler, void *ctx);
/* Let handlers start streams (without it *stream is ignored). */
void tcp_server_streams(struct tcp_server *t, tcp_stream_more more, tcp_stream_free release);
/* Closes every connection (not the listeners) and frees the table. */
void tcp_server_free(struct tcp_server *t);

/* Serve listener fd (kept open by the caller). 0 or -1 (errno). */
int tcp_server_listen(struct tcp_server *t, int fd);

/* Handle an epoll event whose data has TCP_EV_TAG. now_ms: the time of
 * the batch of events. */
void tcp_server_event(struct tcp_server *t, uint64_t data, uint32_t events,
		      int64_t now_ms);

/* Close the connections idle for idle_ms or past their message deadline
 * (io_ms) and resume paused listeners.
 * Returns the milliseconds until the next deadline, -1 if none. */
int tcp_server_tick(struct tcp_server *t, int64_t now_ms);

size_t tcp_server_conns(const struct tcp_server *t);
const struct tcp_stats *tcp_server_stats(const struct tcp_server *t);

#endif
