/*
 * The worker role: answers UDP and TCP queries from the read-only zone
 * image. Runs unprivileged (proc.c dropped privileges before
 * worker_main), one process per worker, each with its own SO_REUSEPORT
 * UDP socket and TCP listener per listen address, all on one epoll loop.
 * Allocates nothing per query or per connection.
 */
#ifndef AHD_WORKER_H
#define AHD_WORKER_H

#include <stddef.h>

#include "config.h"

struct stats;
struct stats_worker;
struct zimg;

/*
 * Serve the sockets fds[0..n_fds) (UDP sockets and TCP listeners, told
 * apart by their type) until SIGTERM/SIGINT. After it is
 * set up, writes 'R' to ready_fd and closes it (ready_fd < 0: no one is
 * waiting). Counts every query into sw, this worker's block of the
 * statistics object (NULL: a private block), and the transfers it serves
 * into st's table of secondaries (NULL: not recorded). Returns the
 * process exit status.
 */
int worker_main(const struct config *cfg, const struct zimg *z, struct stats *st,
		struct stats_worker *sw, const int *fds, size_t n_fds, int ready_fd);

#endif
