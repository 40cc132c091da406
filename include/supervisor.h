/*
 * The supervisor role: the privileged parent. Binds every socket, creates
 * the shared-memory image, starts the workers (fork + exec) and the
 * prober (fork only: it runs in a copy of the supervisor, see proc.h),
 * restarts children that die, and stops everything cleanly on
 * SIGTERM/SIGINT. It never parses a packet and never probes.
 */
#ifndef AHD_SUPERVISOR_H
#define AHD_SUPERVISOR_H

#include "config.h"

/* How long the supervisor waits for the prober's first check round on top
 * of --test-timeout, and for the workers to come up. */
#define SUPERVISOR_PROBER_GRACE_MS 3000
#define SUPERVISOR_WORKER_READY_MS 5000
/* With a key, the first publish signs every RRset of every zone: about
 * 1 ms per RRSIG with RSA-2048, several times that under ASan. The wait
 * allows SIGN_BASE plus SIGN_MS_PER_RRSET for each RRset, counting two
 * per name (address + NSEC) and APEX_RRSETS per zone. */
#define SUPERVISOR_SIGN_BASE_MS 10000
#define SUPERVISOR_SIGN_MS_PER_RRSET 4
#define SUPERVISOR_APEX_RRSETS 5
/* A prober whose heartbeat (stats.h) is older than 5 check intervals
 * (config_ttls: the larger of --test-min-interval and --test-timeout),
 * within these bounds, is stopped or stuck: it is killed and restarted.
 * It beats every second through check rounds, waits and signing, so the
 * bound is only slack for a loaded machine. It stays far below what the
 * signatures can take: they are renewed when sig_resign old and live
 * sig_validity, which leaves 32 intervals (at least 32 s) between the
 * renewal a stalled prober misses and expiry, for detection, the restart
 * and the new prober's signing. */
#define SUPERVISOR_STALL_INTERVALS 5
#define SUPERVISOR_STALL_MIN_MS 10000
#define SUPERVISOR_STALL_MAX_MS 60000

/* Worker deaths in a row, before any worker has ever come up, after
 * which the server gives up and exits with status 1: none of its workers
 * can run (a seccomp filter of the service manager that refuses a call
 * they make, a limit, a broken binary), and a server that is up but
 * answers nothing must not look healthy to systemd. Restart= and the
 * start limit of the unit take over. Once a worker has been up, deaths
 * are restarted with back-off forever, as they may be transient. */
#define SUPERVISOR_EARLY_DEATHS 5

/* SIGTERM to the children, then SIGKILL after this long. */
#define SUPERVISOR_STOP_MS 2000

/* How often the supervisor looks at the statistics object for a new
 * check round to show in sd_notify STATUS=. */
#define SUPERVISOR_STATUS_MS 1000

/* Run the server until SIGTERM/SIGINT. Returns the process exit status:
 * 0 after a clean stop, 1 when it could not start (one line on stderr).
 * argc/argv (copied here) and the environment are parsed again with the
 * --config file on SIGHUP. */
int supervisor_main(const struct config *cfg, int argc, char **argv);

#endif
