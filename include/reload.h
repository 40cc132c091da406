/*
 * SIGHUP: the configuration read again, checked against what the running
 * processes were set up with (DESIGN §6). The supervisor decides what to
 * do with the result; this module only parses, compares and explains.
 */
#ifndef AHD_RELOAD_H
#define AHD_RELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* What the running server has room for, fixed at start. */
struct reload_limits {
	size_t slot_have;        /* zimg_slot_have(): bytes per image slot */
	uint64_t status_capacity; /* backends the statistics object lists; 0: none */
};

/*
 * Parse argc/argv (the command line the server started with), the
 * environment and the --config file again. Returns the new configuration
 * (heap; config_free + free it), or NULL after one log line saying why
 * the reload is refused: the file does not check out, or something
 * changed that needs new sockets, processes, shm or key (compared with
 * cur), or the zone does not fit the image. Settings only the workers use
 * (compared with boot, what they started with) are accepted with a
 * warning that they apply after a restart.
 */
struct config *reload_config(const struct config *cur, const struct config *boot,
			     int argc, char **argv, const struct reload_limits *lim);

#endif
