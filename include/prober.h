/*
 * The prober role: health checks, the rise/fall state machine, and the
 * only writer of the zone image. Runs unprivileged (proc.c drops
 * privileges before calling it).
 */
#ifndef AHD_PROBER_H
#define AHD_PROBER_H

#include "config.h"

struct stats;
struct zimg;

/*
 * Run until SIGTERM/SIGINT. z is mapped read-write. After the first check
 * round is published, writes the byte 'R' to ready_fd and closes it
 * (ready_fd < 0: no one is waiting). Returns the process exit status.
 *
 * key_fd: the sealed memfd of the DNSSEC keys (keyset.h: every
 * --priv-key-path, or one bare PEM) that the root supervisor made, or -1.
 * The prober reads it, closes it and signs every image with the keys, as
 * the rollover plan says at each round (DESIGN §13). With key_fd < 0 and
 * cfg->keys set, it loads the keys from their paths itself (which an
 * unprivileged prober may not be allowed to read). No key: unsigned.
 * A key that cannot be read or does not check out: exit status 1.
 *
 * stats (may be NULL): the statistics object; after every check round the
 * state of every health-checked address goes into its backend table.
 */
int prober_main(const struct config *cfg, struct zimg *z, struct stats *stats, int ready_fd,
		int key_fd);

/*
 * The control socket (DESIGN §12) for the next prober_main: listen_fd
 * the listening socket (-1: none), chan_fd where the override records go
 * to be saved (-1: nowhere), saved/saved_len the records in force (kept
 * by the caller). The supervisor calls it before it forks the prober.
 */
void prober_control_set(int listen_fd, int chan_fd, const char *saved, size_t saved_len);

/* One key (a bare PEM, as a single --priv-key-path was handed over
 * before keyset.h): read from key_fd (closed here, whatever
 * happens) if >= 0, else from cfg->priv_key_path if set. *key is NULL
 * when there is no key. Returns 0, or -1 after one line on stderr. */
struct dnssec_key;
int prober_load_key(const struct config *cfg, int key_fd, struct dnssec_key **key);

#endif
