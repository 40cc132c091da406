#include "reload.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"
#include "log.h"
#include "stats.h"
#include "zimg.h"

/* config_parse reports a bad file with one line on stderr; on reload we
 * catch that line and log it, so the refusal is one log line. */
static int reload_parse(int argc, char **argv, struct config *next, char *err,
			size_t cap)
{
	enum config_action action = CONFIG_RUN;
	int mfd = memfd_create("a-healthy-dns-reload", MFD_CLOEXEC);
	int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	ssize_t n = 0;
	int rc;

	err[0] = '\0';
	if (mfd >= 0 && saved >= 0 && dup2(mfd, STDERR_FILENO) < 0) {
		close(mfd);
		mfd = -1;
	}
	rc = config_parse(next, argc, argv, environ, &action);
	if (mfd >= 0 && saved >= 0) {
		dup2(saved, STDERR_FILENO);
		n = pread(mfd, err, cap - 1, 0);
	}
	if (saved >= 0)
		close(saved);
	if (mfd >= 0)
		close(mfd);
	err[n > 0 ? n : 0] = '\0';
	/* "a-healthy-dns: msg\n" -> "msg"; several lines -> "a; b". */
	if (strncmp(err, AHD_NAME ": ", strlen(AHD_NAME ": ")) == 0)
		memmove(err, err + strlen(AHD_NAME ": "), strlen(err) - strlen(AHD_NAME ": ") + 1);
	for (char *p = err; *p != '\0'; p++) {
		if (*p == '\n')
			*p = p[1] != '\0' ? ';' : '\0';
	}
	if (rc == 0 && action != CONFIG_RUN) {
		config_free(next);
		strlcpy(err, "the command line asks for --help or --version", cap);
		rc = -1;
	}
	if (rc < 0 && err[0] == '\0')
		strlcpy(err, "the configuration does not check out", cap);
	return rc;
}

static bool reload_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool reload_listen_differs(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return true;
	for (size_t i = 0; i < a->n_listen; i++) {
		if (a->listen[i].family != b->listen[i].family ||
		    memcmp(a->listen[i].addr, b->listen[i].addr, sizeof(a->listen[i].addr)) != 0)
			return true;
	}
	return false;
}

/* The workers verify with the key they started with and the prober
 * sized the difference history at start: a new key or length is a
 * restart (DESIGN §9.4). The allow list and the secondaries are not
 * here: they take effect on reload. */
static bool reload_tsig_differs(const struct tsig_key *a, const struct tsig_key *b)
{
	return a->alg != b->alg || a->name_len != b->name_len ||
	       a->secret_len != b->secret_len ||
	       memcmp(a->name, b->name, a->name_len < sizeof(a->name) ? a->name_len
								      : sizeof(a->name)) != 0 ||
	       memcmp(a->secret, b->secret, a->secret_len < sizeof(a->secret)
						    ? a->secret_len
						    : sizeof(a->secret)) != 0;
}

/* Append name to the comma-separated list in buf. */
static void reload_list_add(char *buf, size_t cap, const char *name)
{
	if (buf[0] != '\0')
		strlcat(buf, ", ", cap);
	strlcat(buf, name, cap);
}

/* What the running processes were set up with and cannot take without a
 * restart: sockets, processes, the account, the shm object, the key the
 * supervisor validated. Fills buf with the flags that differ. The
 * --rrl-* settings are not here: they apply live (DESIGN §10.1). */
static bool reload_needs_restart(const struct config *cur, const struct config *next,
				 char *buf, size_t cap)
{
	buf[0] = '\0';
	if (cur->port != next->port)
		reload_list_add(buf, cap, "port");
	if (reload_listen_differs(cur, next))
		reload_list_add(buf, cap, "listen");
	if (cur->workers != next->workers)
		reload_list_add(buf, cap, "workers");
	if (reload_str_differs(cur->user, next->user))
		reload_list_add(buf, cap, "user");
	if (reload_str_differs(cur->shm_name, next->shm_name))
		reload_list_add(buf, cap, "shm-name");
	if (reload_str_differs(cur->control_socket, next->control_socket))
		reload_list_add(buf, cap, "control-socket");
	/* Keys come and go on reload (DESIGN §13); signing on or off
	 * changes the image's layout. */
	if ((cur->n_keys == 0) != (next->n_keys == 0))
		reload_list_add(buf, cap, "priv-key-path (signed or not)");
	if (reload_tsig_differs(&cur->tsig, &next->tsig))
		reload_list_add(buf, cap, "tsig-key");
	if (cur->ixfr_history != next->ixfr_history)
		reload_list_add(buf, cap, "ixfr-history");
	/* The supervisor bound the metrics listener before dropping root. */
	if (cur->metrics_listen.port != next->metrics_listen.port ||
	    cur->metrics_listen.family != next->metrics_listen.family ||
	    memcmp(cur->metrics_listen.addr, next->metrics_listen.addr,
		   sizeof(cur->metrics_listen.addr)) != 0)
		reload_list_add(buf, cap, "metrics-listen");
	/* The program is attached and the sockets made at start-up (§14.4). */
	if (reload_str_differs(cur->xdp_iface, next->xdp_iface) || cur->xdp_mode != next->xdp_mode)
		reload_list_add(buf, cap, "xdp");
	return buf[0] != '\0';
}

/* Settings only the workers use: they keep the values they started with
 * (their configuration fd is not replaced; a restarted worker gets the
 * same one, so cookies stay valid across workers). */
static void reload_worker_settings(const struct config *boot, const struct config *next,
				   char *buf, size_t cap)
{
	buf[0] = '\0';
	if (boot->edns_size != next->edns_size)
		reload_list_add(buf, cap, "edns-size");
	if (boot->nsid_len != next->nsid_len ||
	    memcmp(boot->nsid, next->nsid, boot->nsid_len) != 0)
		reload_list_add(buf, cap, "nsid");
	if (boot->tcp_max_conns != next->tcp_max_conns)
		reload_list_add(buf, cap, "tcp-max-conns");
	if (boot->tcp_idle_timeout != next->tcp_idle_timeout)
		reload_list_add(buf, cap, "tcp-idle-timeout");
	if (boot->tcp_io_timeout_ms != next->tcp_io_timeout_ms)
		reload_list_add(buf, cap, "tcp-io-timeout");
	if (boot->tcp_max_conns_per_client != next->tcp_max_conns_per_client)
		reload_list_add(buf, cap, "tcp-max-conns-per-client");
	if (boot->log_level != next->log_level)
		reload_list_add(buf, cap, "log-level (of the workers)");
	/* Not the --rrl-* settings: the supervisor publishes them in shared
	 * memory and the workers follow at once (DESIGN §10: TAT is absolute
	 * time, so a live table takes a new rate, window and slip). */
}


struct config *reload_config(const struct config *cur, const struct config *boot,
			     int argc, char **argv, const struct reload_limits *lim)
{
	struct config *next = calloc(1, sizeof(*next));
	char err[512], what[256];
	size_t slot, checked;

	if (next == NULL) {
		log_error("SIGHUP: reload refused: out of memory");
		return NULL;
	}
	if (reload_parse(argc, argv, next, err, sizeof(err)) < 0) {
		log_error("SIGHUP: reload refused: %s; still serving the previous configuration",
			  err);
		free(next);
		return NULL;
	}
	if (reload_needs_restart(cur, next, what, sizeof(what))) {
		log_error("SIGHUP: reload refused: %s changed, which needs a restart; still "
			  "serving the previous configuration", what);
		goto refuse;
	}
	slot = zimg_slot_need(next);
	if (slot == 0 || slot > lim->slot_have) {
		log_error("SIGHUP: reload refused: the new zone needs %zu bytes per image slot, "
			  "the shared memory has %zu; needs a restart; still serving the previous "
			  "configuration", slot, lim->slot_have);
		goto refuse;
	}
	reload_worker_settings(boot, next, what, sizeof(what));
	if (what[0] != '\0')
		log_warning("SIGHUP: %s changed: the workers keep their values until a restart",
			    what);
	checked = stats_count_checked(next);
	if (lim->status_capacity > 0 && checked > lim->status_capacity)
		log_warning("SIGHUP: status lists the first %llu of %zu health-checked addresses "
			    "until a restart", (unsigned long long)lim->status_capacity, checked);
	return next;
refuse:
	config_free(next);
	free(next);
	return NULL;
}
