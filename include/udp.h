/*
 * UDP transport: binding (supervisor) and batched receive/answer/send
 * (workers). Batches use recvmmsg/sendmmsg (one system call per batch,
 * Knot DNS's way) with a recvmsg/sendmsg fallback. Sockets bound to a
 * wildcard address get the destination address of each query
 * (IP_PKTINFO / IPV6_RECVPKTINFO) so the reply leaves from the address
 * the client asked.
 */
#ifndef AHD_UDP_H
#define AHD_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Datagrams per system call. */
#define UDP_BATCH 32
/* The largest datagram: any well-formed query is answered (RFC 8906
 * section 3.1.2). The slots are allocated untouched (one mapping): a
 * datagram dirties only the pages it is written to, so a worker's
 * memory does not grow with this. */
#define UDP_IN_MAX 65535
/* Room for the largest UDP response (EDNS payloads included). */
#define UDP_OUT_MAX 4096

struct udp_batch; /* preallocated buffers for one worker */

/*
 * Produce the response to in[0..len), sent by peer, into out (cap
 * bytes); return its length, or 0 to send nothing.
 */
typedef size_t (*udp_handler)(void *ctx, const struct sockaddr *peer,
			      const uint8_t *in, size_t len, uint8_t *out,
			      size_t cap);

/*
 * Bind a non-blocking UDP socket to addr:port (family AF_INET or
 * AF_INET6, addr in network order), with SO_REUSEPORT when reuseport,
 * IPV6_V6ONLY for AF_INET6, large buffers, and packet info when the
 * address is a wildcard. Returns the fd (FD_CLOEXEC) or -1 with errno set.
 */
int udp_bind(int family, const uint8_t addr[16], uint16_t port, bool reuseport);

/* Whether fd is bound to 0.0.0.0 or :: (replies need packet info). */
bool udp_is_wildcard(int fd);

struct udp_batch *udp_batch_new(void);
void udp_batch_free(struct udp_batch *b);

/*
 * Receive up to UDP_BATCH datagrams from the non-blocking fd, run handler
 * on each, send the responses. Returns the number of datagrams received
 * (0: nothing was queued), or -1 on a socket error (errno set). Counts
 * dropped datagrams (truncated, unsendable) in *dropped.
 */
int udp_serve(struct udp_batch *b, int fd, bool pktinfo, udp_handler handler,
	      void *ctx, uint64_t *dropped);

#endif
