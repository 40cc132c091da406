#include "config.h"
#include "config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <json-c/json.h>

#include "ahd.h"

/* Collects allocation failures so config_to_json checks once. */
struct config_jb {
	bool oom;
};

static void config_jb_add(struct config_jb *jb, struct json_object *o, const char *k,
			  struct json_object *v)
{
	if (v == NULL || o == NULL || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		jb->oom = true;
	}
}

static void config_jb_push(struct config_jb *jb, struct json_object *a, struct json_object *v)
{
	if (v == NULL || a == NULL || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		jb->oom = true;
	}
}

static struct json_object *config_jb_addrs(struct config_jb *jb, const struct config_entry *e)
{
	struct json_object *a = json_object_new_array();
	char text[INET6_ADDRSTRLEN];

	for (size_t i = 0; a != NULL && i < e->n_addrs; i++)
		config_jb_push(jb, a,
			       json_object_new_string(config_addr_text(
				       e->addrs[i].family, e->addrs[i].addr, text, sizeof(text))));
	return a;
}

static struct json_object *config_jb_names(struct config_jb *jb, char *const *names, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		config_jb_push(jb, a, json_object_new_string(names[i]));
	return a;
}

/* The http and https keys that differ from their defaults. */
static void config_jb_http(struct config_jb *jb, struct json_object *eo,
			   const struct config_entry *e)
{
	if (e->http_host != NULL)
		config_jb_add(jb, eo, "http_host", json_object_new_string(e->http_host));
	if (e->n_http_status > 0) {
		struct json_object *a = json_object_new_array();
		char r[16];

		for (size_t i = 0; a != NULL && i < e->n_http_status; i++) {
			snprintf(r, sizeof(r), "%u-%u", (unsigned)e->http_status[i].lo,
				 (unsigned)e->http_status[i].hi);
			config_jb_push(jb, a, json_object_new_string(r));
		}
		config_jb_add(jb, eo, "http_status", a);
	}
	if (e->tls_name != NULL)
		config_jb_add(jb, eo, "tls_name", json_object_new_string(e->tls_name));
	if (e->tls_ca_file != NULL)
		config_jb_add(jb, eo, "tls_ca_file", json_object_new_string(e->tls_ca_file));
	if (e->check == CONFIG_CHECK_HTTPS && e->tls_no_verify)
		config_jb_add(jb, eo, "tls_verify", json_object_new_boolean(false));
}

/* One resolutions entry: a bare address list, or the object form. */
static struct json_object *config_jb_entry(struct config_jb *jb, const struct config_entry *e)
{
	struct json_object *eo;

	if (e->check == CONFIG_CHECK_NONE)
		return config_jb_addrs(jb, e);
	eo = json_object_new_object();
	config_jb_add(jb, eo, "ips", config_jb_addrs(jb, e));
	config_jb_add(jb, eo, "health_port", json_object_new_int(e->health_port));
	config_jb_add(jb, eo, "check",
		      json_object_new_string(config_check_name(e->check)));
	if (e->http_path != NULL)
		config_jb_add(jb, eo, "http_path", json_object_new_string(e->http_path));
	config_jb_http(jb, eo, e);
	config_jb_add(jb, eo, "rise", json_object_new_int64(e->rise));
	config_jb_add(jb, eo, "fall", json_object_new_int64(e->fall));
	if (e->ttl >= 0)
		config_jb_add(jb, eo, "ttl", json_object_new_int64(e->ttl));
	config_jb_add(jb, eo, "all_down",
		      json_object_new_string(e->all_down == CONFIG_ALL_DOWN_SERVE_ALL
						     ? "serve_all"
						     : "withdraw"));
	return eo;
}

/* The zone: names, resolutions, checking and signing. */
static void config_jb_zone(struct config_jb *jb, struct json_object *o, const struct config *cfg)
{
	struct json_object *zr = json_object_new_object();

	for (size_t i = 0; zr != NULL && i < cfg->n_entries; i++)
		config_jb_add(jb, zr, cfg->entries[i].name, config_jb_entry(jb, &cfg->entries[i]));
	config_jb_add(jb, o, "hosted-zone", json_object_new_string(cfg->hosted_zone));
	config_jb_add(jb, o, "zone-resolutions", zr);
	config_jb_add(jb, o, "ns", config_jb_names(jb, cfg->ns, cfg->n_ns));
	config_jb_add(jb, o, "alias-zones",
		      config_jb_names(jb, cfg->alias_zones, cfg->n_alias_zones));
	config_jb_add(jb, o, "port", json_object_new_int(cfg->port));
	config_jb_add(jb, o, "log-level", json_object_new_string(log_level_name(cfg->log_level)));
	config_jb_add(jb, o, "test-min-interval", json_object_new_int64(cfg->test_min_interval));
	config_jb_add(jb, o, "test-timeout", json_object_new_int64(cfg->test_timeout));
	if (cfg->n_keys > 0)
		config_jb_add(jb, o, "priv-key-path", config_keys_json(cfg));
	config_jb_add(jb, o, "key-propagation-delay", json_object_new_int64(cfg->key_propagation));
	config_jb_add(jb, o, "cds", json_object_new_string(cfg->cds == CONFIG_CDS_NONE ? "none"
							    : cfg->cds == CONFIG_CDS_DELETE ? "delete"
							    : "ksk"));
	config_jb_add(jb, o, "priv-key-alg",
		      json_object_new_string(config_alg_name(cfg->priv_key_alg)));
	if (cfg->rrsig_lifetime != 0)
		config_jb_add(jb, o, "rrsig-lifetime", json_object_new_int64(cfg->rrsig_lifetime));
	if (cfg->rrsig_refresh != 0)
		config_jb_add(jb, o, "rrsig-refresh", json_object_new_int64(cfg->rrsig_refresh));
}

/* The processes: sockets, workers, account, shm, files. */
static void config_jb_procs(struct config_jb *jb, struct json_object *o, const struct config *cfg)
{
	struct json_object *listen = json_object_new_array();

	for (size_t i = 0; listen != NULL && i < cfg->n_listen; i++)
		config_jb_push(jb, listen, json_object_new_string(cfg->listen[i].text));
	config_jb_add(jb, o, "listen", listen);
	config_jb_add(jb, o, "workers", json_object_new_int64(cfg->workers));
	if (cfg->user != NULL && cfg->user_ids) {
		struct json_object *u = json_object_new_object();

		config_jb_add(jb, u, "name", json_object_new_string(cfg->user));
		config_jb_add(jb, u, "uid", json_object_new_int64(cfg->user_uid));
		config_jb_add(jb, u, "gid", json_object_new_int64(cfg->user_gid));
		config_jb_add(jb, o, "user", u);
	} else if (cfg->user != NULL) {
		config_jb_add(jb, o, "user", json_object_new_string(cfg->user));
	}
	if (cfg->shm_name != NULL)
		config_jb_add(jb, o, "shm-name", json_object_new_string(cfg->shm_name));
	if (cfg->config_file != NULL)
		config_jb_add(jb, o, "config", json_object_new_string(cfg->config_file));
	if (cfg->state_dir != NULL)
		config_jb_add(jb, o, "state-dir", json_object_new_string(cfg->state_dir));
	if (cfg->metrics_listen.port != 0)
		config_jb_add(jb, o, "metrics-listen",
			      json_object_new_string(cfg->metrics_listen.text));
	if (cfg->control_socket_given)
		config_jb_add(jb, o, "control-socket",
			      json_object_new_string(cfg->control_socket != NULL ? cfg->control_socket
										 : "none"));
	if (cfg->xdp_iface != NULL) {
		config_jb_add(jb, o, "xdp", json_object_new_string(cfg->xdp_iface));
		config_jb_add(jb, o, "xdp-mode",
			      json_object_new_string(config_xdp_mode_name(cfg->xdp_mode)));
	}
	config_jb_add(jb, o, "check-config", json_object_new_boolean(cfg->check_config));
}

/* What the workers use: connection limits, EDNS, CPUs, NSID, cookies. */
static void config_jb_workers(struct config_jb *jb, struct json_object *o,
			      const struct config *cfg)
{
	char hex[2 + 2 * (CONFIG_NSID_MAX > CONFIG_COOKIE_SECRET_LEN ? CONFIG_NSID_MAX
								      : CONFIG_COOKIE_SECRET_LEN) + 1];

	if (cfg->tcp_max_conns != 0)
		config_jb_add(jb, o, "tcp-max-conns", json_object_new_int64(cfg->tcp_max_conns));
	if (cfg->tcp_idle_timeout != 0)
		config_jb_add(jb, o, "tcp-idle-timeout",
			      json_object_new_int64(cfg->tcp_idle_timeout));
	if (cfg->tcp_io_timeout_ms != 0)
		config_jb_add(jb, o, "tcp-io-timeout",
			      json_object_new_int64(cfg->tcp_io_timeout_ms));
	if (cfg->tcp_max_conns_per_client != 0)
		config_jb_add(jb, o, "tcp-max-conns-per-client",
			      json_object_new_int64(cfg->tcp_max_conns_per_client));
	if (cfg->edns_size != 0)
		config_jb_add(jb, o, "edns-size", json_object_new_int64(cfg->edns_size));
	if (cfg->n_cpus > 0) {
		char cpus[CONFIG_CPU_TEXT_MAX];

		config_cpu_text(&cfg->cpus, cpus, sizeof(cpus));
		config_jb_add(jb, o, "cpu-affinity", json_object_new_string(cpus));
	}
	config_jb_add(jb, o, "udp-pause", json_object_new_int64(cfg->udp_pause_us));
	if (cfg->nsid_len > 0 && cfg->nsid_len <= CONFIG_NSID_MAX) {
		/* Hex, so any bytes come back exactly. */
		strlcpy(hex, "0x", sizeof(hex));
		config_hex(cfg->nsid, cfg->nsid_len, hex + 2);
		config_jb_add(jb, o, "nsid", json_object_new_string(hex));
	}
	config_hex(cfg->cookie_secret, sizeof(cfg->cookie_secret), hex);
	config_jb_add(jb, o, "cookie-secret", json_object_new_string(hex));
}

/* Replication: what the workers check transfers against and the
 * notifier sends to. The TSIG key travels itself (the workers verify
 * with it; the configuration reaches them in a sealed memfd, DESIGN
 * §9.4), so no child reads the key file. */
static void config_jb_xfr(struct config_jb *jb, struct json_object *o, const struct config *cfg)
{
	struct json_object *allow = json_object_new_array();
	struct json_object *notify = json_object_new_array();
	char text[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; allow != NULL && i < cfg->n_transfer_allow; i++)
		config_jb_push(jb, allow,
			       json_object_new_string(config_prefix_text(&cfg->transfer_allow[i],
									 text, sizeof(text))));
	for (size_t i = 0; notify != NULL && i < cfg->n_notify; i++)
		config_jb_push(jb, notify, json_object_new_string(cfg->notify[i].text));
	config_jb_add(jb, o, "transfer-allow", allow);
	config_jb_add(jb, o, "notify", notify);
	if (cfg->tsig.alg != TSIG_ALG_NONE)
		config_jb_add(jb, o, "tsig-key", config_tsig_json(cfg));
	config_jb_add(jb, o, "ixfr-history", json_object_new_int64(cfg->ixfr_history));
}

char *config_to_json(const struct config *cfg)
{
	struct config_jb jb = {false};
	struct json_object *o = json_object_new_object();
	char *out = NULL;

	config_jb_zone(&jb, o, cfg);
	config_jb_procs(&jb, o, cfg);
	config_jb_workers(&jb, o, cfg);
	config_jb_xfr(&jb, o, cfg);
	config_rrl_json(cfg, o, &jb.oom);
	if (!jb.oom)
		out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
