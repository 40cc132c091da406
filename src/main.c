/*
 * Entry point: picks the role this process plays (DESIGN §8, habit 1).
 *
 *   a-healthy-dns [flags]             the server: the supervisor
 *   a-healthy-dns status|ds|dump ...  administrator subcommands
 *   a-healthy-dns drain|undrain|force-up ...  overrides (control socket)
 *   a-healthy-dns --role worker --index N --config-fd F --shm-fd F
 *                 [--fds a,b,...] [--ready-fd F] [--stats-fd F]
 *                                     a worker, exec'd by the supervisor
 *                                     (internal: not in --help; the
 *                                     prober is forked without exec, see
 *                                     supervisor.c)
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "ahd.h"
#include "check.h"
#include "config.h"
#include "dnssec.h"
#include "log.h"
#include "proc.h"
#include "stats.h"
#include "supervisor.h"
#include "worker.h"
#include "zimg.h"

extern char **environ;

/* What a child was handed on its internal command line. */
struct main_child {
	const struct main_role *role;
	unsigned index;
	int config_fd;
	int shm_fd;
	int ready_fd;
	int stats_fd;
	struct stats *st; /* the statistics object, NULL: none */
	int fds[PROC_MAX_FDS];
	size_t n_fds;
	char name[24]; /* "worker 3" */
};

enum main_kind {
	MAIN_CHILD,   /* selected by --role, exec'd by the supervisor */
	MAIN_COMMAND, /* selected by the first argument */
};

struct main_role {
	const char *name;
	enum main_kind kind;
	enum proc_role proc_role; /* MAIN_CHILD only */
	/* MAIN_CHILD: runs dropped, with the config and the mapped image.
	 * MAIN_COMMAND: gets the command line. Both return the exit status. */
	int (*child)(const struct main_child *c, const struct config *cfg,
		     struct zimg *z);
	int (*command)(int argc, char **argv);
};

static int main_worker(const struct main_child *c, const struct config *cfg,
		       struct zimg *z)
{
	int cpu = config_worker_cpu(cfg, c->index);

	if (cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		/* The start-up check said this CPU was ours; if it went offline
		 * since, serving unpinned beats not serving. */
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			log_warning("cannot pin to CPU %d: %s", cpu, strerror(errno));
	}
	return worker_main(cfg, z, c->st, stats_worker(c->st, c->index), c->fds, c->n_fds,
			   c->ready_fd);
}


static const struct main_role main_roles[] = {
	{"worker", MAIN_CHILD, PROC_ROLE_WORKER, main_worker, NULL},
	{"status", MAIN_COMMAND, 0, NULL, admin_status_main},
	{"ds", MAIN_COMMAND, 0, NULL, admin_ds_main},
	{"dump", MAIN_COMMAND, 0, NULL, admin_dump_main},
	{"drain", MAIN_COMMAND, 0, NULL, admin_control_main},
	{"undrain", MAIN_COMMAND, 0, NULL, admin_control_main},
	{"force-up", MAIN_COMMAND, 0, NULL, admin_control_main},
};

static const struct main_role *main_find(const char *name, enum main_kind kind)
{
	for (size_t i = 0; i < AHD_ARRAY_LEN(main_roles); i++) {
		if (main_roles[i].kind == kind && strcmp(main_roles[i].name, name) == 0)
			return &main_roles[i];
	}
	return NULL;
}

static int main_parse_int(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int main_parse_fds(const char *s, struct main_child *c)
{
	char buf[PROC_MAX_FDS * 12 + 1];
	char *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		long fd;

		if (c->n_fds >= PROC_MAX_FDS || main_parse_int(t, INT_MAX, &fd) < 0)
			return -1;
		c->fds[c->n_fds++] = (int)fd;
	}
	return 0;
}

static int main_parse_child(int argc, char **argv, struct main_child *c)
{
	memset(c, 0, sizeof(*c));
	c->config_fd = c->shm_fd = c->ready_fd = c->stats_fd = -1;
	for (int i = 1; i < argc; i += 2) {
		const char *flag = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		long v;

		if (val == NULL) {
			fprintf(stderr, "%s: %s: missing value\n", AHD_NAME, flag);
			return -1;
		}
		if (strcmp(flag, "--role") == 0) {
			c->role = main_find(val, MAIN_CHILD);
			if (c->role == NULL)
				goto bad;
		} else if (strcmp(flag, "--fds") == 0) {
			if (main_parse_fds(val, c) < 0)
				goto bad;
		} else if (main_parse_int(val, INT_MAX, &v) < 0) {
			goto bad;
		} else if (strcmp(flag, "--index") == 0) {
			c->index = (unsigned)v;
		} else if (strcmp(flag, "--config-fd") == 0) {
			c->config_fd = (int)v;
		} else if (strcmp(flag, "--shm-fd") == 0) {
			c->shm_fd = (int)v;
		} else if (strcmp(flag, "--ready-fd") == 0) {
			c->ready_fd = (int)v;
		} else if (strcmp(flag, "--stats-fd") == 0) {
			c->stats_fd = (int)v;
		} else {
			fprintf(stderr, "%s: %s: unknown internal flag\n", AHD_NAME, flag);
			return -1;
		}
		continue;
bad:
		fprintf(stderr, "%s: %s: invalid value '%s'\n", AHD_NAME, flag, val);
		return -1;
	}
	if (c->role == NULL || c->config_fd < 0 || c->shm_fd < 0) {
		fprintf(stderr, "%s: --role, --config-fd and --shm-fd are required\n",
			AHD_NAME);
		return -1;
	}
	snprintf(c->name, sizeof(c->name), "%s %u", c->role->name, c->index);
	return 0;
}

/* The supervisor's validated configuration, from its sealed memfd. */
static int main_read_config(int fd, struct config *cfg)
{
	struct stat st;
	size_t off = 0;
	char *json;
	int rc;

	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 30)) {
		log_critical("config fd %d: unusable", fd);
		return -1;
	}
	json = malloc((size_t)st.st_size + 1);
	if (json == NULL) {
		log_critical("out of memory");
		return -1;
	}
	/* pread: the file offset is shared with every other child. */
	while (off < (size_t)st.st_size) {
		ssize_t n = pread(fd, json + off, (size_t)st.st_size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_critical("config fd %d: %s", fd,
				     n < 0 ? strerror(errno) : "short read");
			free(json);
			return -1;
		}
		off += (size_t)n;
	}
	json[off] = '\0';
	rc = config_from_json(cfg, json);
	free(json);
	return rc;
}

static int main_child(int argc, char **argv)
{
	struct main_child c;
	struct config cfg;
	struct proc_account acct;
	struct zimg *z;
	int status;

	proc_child_init();
	if (main_parse_child(argc, argv, &c) < 0)
		return 2;
	log_init(c.name, AHD_LOG_INFO);
	memset(&cfg, 0, sizeof(cfg));
	if (main_read_config(c.config_fd, &cfg) < 0)
		return 1;
	close(c.config_fd);
	log_init(c.name, cfg.log_level);
	proc_title("%s", c.name);
	/* Privileges go before the first packet or the image is touched,
	 * by the numbers the supervisor looked up. */
	acct = (struct proc_account){cfg.user, cfg.user_ids, cfg.user_uid, cfg.user_gid};
	if (proc_drop(&acct, c.role->proc_role) < 0) {
		config_free(&cfg);
		return 1;
	}
	z = zimg_map(c.shm_fd, false);
	if (z == NULL) {
		log_critical("cannot map the zone image (fd %d)", c.shm_fd);
		config_free(&cfg);
		return 1;
	}
	/* Counters are nice to have: a child that cannot map them still
	 * serves. */
	if (c.stats_fd >= 0) {
		c.st = stats_map(c.stats_fd);
		close(c.stats_fd);
	}
	/* A worker installs its filter itself once its loop is set up
	 * (worker_main). */
	status = c.role->child(&c, &cfg, z);
	stats_close(c.st);
	zimg_close(z);
	config_free(&cfg);
	return status;
}

/* --check-config covers the keys' content too, as the server would. */
static int main_check_key(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_keys; i++) {
		struct dnssec_key *key = dnssec_key_load(cfg->keys[i].path, cfg->keys[i].alg);

		if (key == NULL)
			return -1;
		dnssec_key_free(key);
	}
	return 0;
}

/* And the https checks' CA files, as the supervisor loads them. */
static int main_check_tls(const struct config *cfg)
{
	struct check_tls *tls = check_tls_new(cfg);

	check_tls_free(tls);
	return tls != NULL ? 0 : -1;
}

static int main_server(int argc, char **argv)
{
	enum config_action action = CONFIG_RUN;
	struct config cfg;
	int status;

	memset(&cfg, 0, sizeof(cfg));
	if (config_parse(&cfg, argc, argv, environ, &action) < 0)
		return 1;
	if (action == CONFIG_EXIT_OK) {
		config_free(&cfg);
		return 0;
	}
	if (cfg.check_config) {
		if (main_check_key(&cfg) < 0 || main_check_tls(&cfg) < 0) {
			config_free(&cfg);
			return 1;
		}
		config_print_summary(&cfg, stdout);
		config_free(&cfg);
		return 0;
	}
	status = supervisor_main(&cfg, argc, argv);
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	const struct main_role *r;

	/* Before anything keeps a pointer into the environment: it moves. */
	proc_title_init(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "--role") == 0)
		return main_child(argc, argv);
	if (argc >= 2 && (r = main_find(argv[1], MAIN_COMMAND)) != NULL)
		return r->command(argc, argv);
	return main_server(argc, argv);
}
