/*
 * What the server keeps across restarts in --state-dir (DESIGN §5.5):
 * today the last SOA serial it served, so a restart never serves a lower
 * one and secondaries keep following (RFC 1982, RFC 1996 section 4.7).
 * and the operator's overrides (control.h, DESIGN §12). Only the
 * supervisor reads and writes it, as root: the unprivileged processes
 * never touch the directory (the prober hands the supervisor the
 * overrides' bytes, see supervisor_control.c).
 */
#ifndef AHD_STATE_H
#define AHD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file in the state directory. */
#define STATE_SERIAL_FILE "serial"

/*
 * Publishes the supervisor may not have saved yet when it dies: it saves
 * the served serial once a second, and the prober publishes at most once
 * per check round (at least a second apart) plus once per reload. A
 * restart starts this far above the saved serial, so a serial served but
 * not saved is still passed; the serial is a clock (RFC 1982 arithmetic)
 * and catches up.
 */
#define STATE_SERIAL_MARGIN 100u

/*
 * The saved serial of dir: 1 and *serial if there is one, 0 if there is
 * none (no file yet), -1 if the file does not hold one (logged once as a
 * warning: the server starts from the clock).
 */
int state_serial_load(const char *dir, uint32_t *serial);
/* Save serial in dir (a temporary file, fsync, rename: a crash leaves the
 * old value or the new one). 0, or -1 with errno. */
int state_serial_save(const char *dir, uint32_t serial);
/* Save len bytes as dir/name the same way. 0, or -1 with errno. */
int state_file_save(const char *dir, const char *name, const void *data, size_t len);

#endif
