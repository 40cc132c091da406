/*
 * Administrator subcommands (a-healthy-dns status|ds|dump): they read a
 * running server's shared memory, read-only, and print.
 */
#ifndef AHD_ADMIN_H
#define AHD_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct zimg;

/* admin.c: a --port value or AHDNS_PORT, 1-65535; 0 or -1. */
int admin_parse_port(const char *s, unsigned *port);

/*
 * admin_dump.c: a-healthy-dns dump [--port N | --shm-name NAME]
 * [--zone APEX]. Returns the exit status.
 */
int admin_dump_main(int argc, char **argv);
/*
 * Print the active image (one consistent copy, taken under the seqlock)
 * in master-file format (RFC 1035 section 5), absolute names, every zone
 * in turn, each introduced by a "; zone <apex> serial <n>" comment line:
 * what ldns-verify-zone and dnssec-verify read. admin_dump_zone prints
 * zone index zone only (0: the hosted zone, i: alias_zones[i - 1]).
 * Returns 0, or -1 if there is no image or it does not check out.
 */
int admin_dump_image(const struct zimg *z, FILE *out);
int admin_dump_zone(const struct zimg *z, size_t zone, FILE *out);

/* admin_ds.c: `a-healthy-dns ds [server flags]`: one DS line per zone
 * (hosted, then aliases). Exit status 0 or 1. */
int admin_ds_main(int argc, char **argv);

/* admin_control.c: `a-healthy-dns drain|undrain|force-up NAME [ADDRESS]
 * [--reason TEXT] [--control-socket PATH]` (DESIGN §12). Exit status 0,
 * 1 (refused, no server), 2 (usage). */
int admin_control_main(int argc, char **argv);
/* One request to the socket at path; prints the answer. Exit status. */
struct control_req;
int admin_control_request(const char *path, const struct control_req *rq);
/* flag if not NULL, else $AHDNS_CONTROL_SOCKET, else the default. */
const char *admin_control_path(const char *flag);

struct json_object;
struct stats;

/* admin_status.c: `a-healthy-dns status [--json] [--port N | --shm-name
 * NAME | --control-socket PATH]` (argv[1] == "status"); with
 * --control-socket the prober answers through the socket, overrides
 * included. Exit status: 0, 1 (no server), 2 (usage). */
int admin_status_main(int argc, char **argv);
/* Everything status shows, as JSON (caller puts it). NULL on error. */
struct json_object *admin_status_json(const struct stats *st);
/* The status report: a readable table, or JSON. now: Unix time for
 * "ago" columns. Returns 0 or -1. */
int admin_status_print_text(const struct stats *st, FILE *out, int64_t now);
int admin_status_print_json(const struct stats *st, FILE *out);

/* admin_keys.c: the DNSSEC key table (DESIGN §13) of status: a text
 * table (nothing for an unsigned zone), and "keys": [...] added to o. */
void admin_keys_print(const struct stats *st, FILE *out);
int admin_keys_json(const struct stats *st, struct json_object *o);

#endif
