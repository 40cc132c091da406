/*
 * The prober role: health checks, the rise/fall state machine, and the
 * only writer of the zone image. Runs unprivileged (proc.c drops
 * privileges before calling it).
 */
#ifndef AHD_PROBER_H
#define AHD_PROBER_H

#include "config.h"

struct zimg;

/*
 * Run until SIGTERM/SIGINT. z is mapped read-write. After the first check
 * round is published, writes the byte 'R' to ready_fd and closes it
 * (ready_fd < 0: no one is waiting). Returns the process exit status.
 */
int prober_main(const struct config *cfg, struct zimg *z, int ready_fd);

#endif
