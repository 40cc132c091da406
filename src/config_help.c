#include "config.h"
#include "config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ahd.h"
#include "dname.h"
#include "tsig.h"

/* The CPU set as the shortest list in the same syntax ("0-3,6"); n is
 * CONFIG_CPU_TEXT_MAX, room for any set. */
void config_cpu_text(const cpu_set_t *set, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && len < n; c++) {
		int end = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set))
			end++;
		len += (size_t)snprintf(buf + len, n - len, end > c ? "%s%d-%d" : "%s%d",
					len > 0 ? "," : "", c, end);
		c = end;
	}
}

const char *config_duration_text(uint32_t s, char *buf, size_t cap)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(buf, cap, "%ud", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(buf, cap, "%uh", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(buf, cap, "%um", s / 60);
	else
		snprintf(buf, cap, "%us", s);
	return buf;
}

static void config_print_addrs(const struct config_entry *e, FILE *out)
{
	char text[INET6_ADDRSTRLEN];

	for (size_t j = 0; j < e->n_addrs; j++)
		fprintf(out, "%s%s %s", j > 0 ? ", " : "",
			e->addrs[j].family == AF_INET ? "A" : "AAAA",
			config_addr_text(e->addrs[j].family, e->addrs[j].addr, text, sizeof(text)));
}

/* The http or https check of an entry, on its summary line. */
static void config_print_http(const struct config_entry *e, FILE *out)
{
	fprintf(out, "; check %s GET %s on port %u", config_check_name(e->check), e->http_path,
		(unsigned)e->health_port);
	if (e->http_host != NULL)
		fprintf(out, ", Host %s", e->http_host);
	if (e->n_http_status > 0) {
		fputs(", status", out);
		for (size_t i = 0; i < e->n_http_status; i++) {
			const struct config_status_range *r = &e->http_status[i];

			if (r->lo == r->hi)
				fprintf(out, "%s%u", i ? "," : " ", (unsigned)r->lo);
			else
				fprintf(out, "%s%u-%u", i ? "," : " ", (unsigned)r->lo, (unsigned)r->hi);
		}
	}
	if (e->check != CONFIG_CHECK_HTTPS)
		return;
	if (e->tls_no_verify)
		fputs(", TLS not verified", out);
	else
		fprintf(out, ", TLS verified as %s against %s",
			e->tls_name != NULL ? e->tls_name : e->http_host != NULL ? e->http_host
										 : "the address",
			e->tls_ca_file != NULL ? e->tls_ca_file : "the system store");
}

/* One line of the summary per name. */
static void config_print_entry(const struct config *cfg, const struct config_entry *e, FILE *out)
{
	fprintf(out, "  %s.%s: ", e->name, cfg->hosted_zone);
	config_print_addrs(e, out);
	if (e->check == CONFIG_CHECK_NONE) {
		fprintf(out, "; static");
	} else {
		if (e->check != CONFIG_CHECK_TCP)
			config_print_http(e, out);
		else
			fprintf(out, "; check tcp port %u", (unsigned)e->health_port);
		fprintf(out, ", rise %u, fall %u, all down: %s", e->rise, e->fall,
			e->all_down == CONFIG_ALL_DOWN_SERVE_ALL ? "serve all" : "withdraw");
	}
	if (e->ttl >= 0)
		fprintf(out, ", ttl %lld", (long long)e->ttl);
	fputc('\n', out);
}

static void config_print_dnssec(const struct config *cfg, const struct config_ttls *t,
				FILE *out)
{
	if (cfg->priv_key_path != NULL) {
		char l[CONFIG_DURATION_TEXT_MAX], r[CONFIG_DURATION_TEXT_MAX];
		char bd[CONFIG_DURATION_TEXT_MAX];

		for (size_t i = 0; i < cfg->n_keys; i++)
			fprintf(out, "dnssec: key %s (%s, %s)\n", cfg->keys[i].path,
				config_alg_name(cfg->keys[i].alg),
				keyroll_role_name(cfg->keys[i].spec.role));
		fprintf(out, "rollover: propagation delay %u s, CDS/CDNSKEY %s\n",
			cfg->key_propagation, cfg->cds == CONFIG_CDS_NONE ? "off"
			: cfg->cds == CONFIG_CDS_DELETE ? "delete (RFC 8078)" : "for the KSKs");
		fprintf(out, "signatures: valid %s, re-signed when less than %s remains, "
			"inception %s back, expiry spread over %u s\n",
			config_duration_text(t->sig_lifetime, l, sizeof(l)),
			config_duration_text(t->sig_refresh, r, sizeof(r)),
			config_duration_text(t->sig_backdate, bd, sizeof(bd)),
			t->sig_jitter);
	} else {
		fprintf(out, "dnssec: off (no --priv-key-path)\n");
	}
}

/* Sockets, processes and what the workers use. */
static void config_print_procs(const struct config *cfg, FILE *out)
{
	fprintf(out, "listen:");
	for (size_t i = 0; i < cfg->n_listen; i++)
		fprintf(out, " %s", cfg->listen[i].text);
	fprintf(out, "%s port %u (udp, tcp)\n", cfg->n_listen == 0 ? " all addresses," : ",",
		(unsigned)cfg->port);
	fprintf(out, "workers: %u, user: %s, shm: %s, log level: %s\n", cfg->workers,
		cfg->user != NULL ? cfg->user : "(default)",
		cfg->shm_name != NULL ? cfg->shm_name : "(default)",
		log_level_name(cfg->log_level));
	if (cfg->n_cpus > 0) {
		char cpus[CONFIG_CPU_TEXT_MAX];

		config_cpu_text(&cfg->cpus, cpus, sizeof(cpus));
		fprintf(out, "cpu affinity: worker i on the i-th CPU of %s\n", cpus);
	} else {
		fprintf(out, "cpu affinity: none (the kernel places the workers)\n");
	}
	fprintf(out, "udp: pause %u us after a batch under load\n", cfg->udp_pause_us);
	fprintf(out,
		"tcp: %u connections per worker, %u per client address; idle timeout %u s,"
		" a message within %u ms\n",
		cfg->tcp_max_conns, cfg->tcp_max_conns_per_client, cfg->tcp_idle_timeout,
		cfg->tcp_io_timeout_ms);
	{
		char hex[2 * CONFIG_NSID_MAX + 1];

		config_hex(cfg->nsid, cfg->nsid_len <= CONFIG_NSID_MAX ? cfg->nsid_len : 0, hex);
		fprintf(out, "edns: payload %u, nsid %s%s, cookies on (RFC 9018)\n",
			cfg->edns_size, cfg->nsid_len ? "0x" : "none", hex);
	}
}

/* Replication: never the TSIG secret, only the key's name and type. */
static void config_print_xfr(const struct config *cfg, FILE *out)
{
	char text[INET6_ADDRSTRLEN + 8];
	char name[AHD_MAX_NAME_TEXT * 4 + 8];

	if (cfg->n_transfer_allow == 0)
		fprintf(out, "transfers: refused (no --transfer-allow)");
	else
		fprintf(out, "transfers: %zu prefix%s allowed", cfg->n_transfer_allow,
			cfg->n_transfer_allow == 1 ? "" : "es");
	fprintf(out, ", notify %zu secondar%s", cfg->n_notify, cfg->n_notify == 1 ? "y" : "ies");
	if (cfg->tsig.alg != TSIG_ALG_NONE &&
	    dname_to_text(cfg->tsig.name, cfg->tsig.name_len, name, sizeof(name)) >= 0)
		fprintf(out, ", TSIG key %s. (%s)", name, tsig_alg_text(cfg->tsig.alg));
	else
		fprintf(out, ", no TSIG key");
	fprintf(out, ", IXFR history %u\n", cfg->ixfr_history);
	if (cfg->n_transfer_allow > 0) {
		fprintf(out, "  transfer-allow:");
		for (size_t i = 0; i < cfg->n_transfer_allow; i++)
			fprintf(out, " %s", config_prefix_text(&cfg->transfer_allow[i], text,
								sizeof(text)));
		fputc('\n', out);
	}
	if (cfg->n_notify > 0) {
		fprintf(out, "  notify:");
		for (size_t i = 0; i < cfg->n_notify; i++)
			fprintf(out, " %s", cfg->notify[i].text);
		fputc('\n', out);
	}
	if (cfg->tsig_key_path != NULL)
		fprintf(out, "  tsig-key: %s\n", cfg->tsig_key_path);
}

void config_print_summary(const struct config *cfg, FILE *out)
{
	struct config_ttls t;

	config_ttls(cfg, &t);
	fprintf(out, "zone: %s\n", cfg->hosted_zone);
	fprintf(out, "alias zones:");
	for (size_t i = 0; i < cfg->n_alias_zones; i++)
		fprintf(out, " %s", cfg->alias_zones[i]);
	fprintf(out, "%s\n", cfg->n_alias_zones == 0 ? " none" : "");
	fprintf(out, "name servers:");
	for (size_t i = 0; i < cfg->n_ns; i++)
		fprintf(out, " %s%s", cfg->ns[i], i == 0 ? " (SOA MNAME)" : "");
	fprintf(out, "\nnames: %zu, addresses: %zu\n", cfg->n_entries, cfg->n_addrs_total);
	for (size_t i = 0; i < cfg->n_entries; i++)
		config_print_entry(cfg, &cfg->entries[i], out);
	fprintf(out,
		"checks: every %us, timeout %us; effective interval %us\n"
		"ttls: A/AAAA %u, NS %u, SOA %u (refresh %u, retry %u, expire %u, minimum %u), "
		"negative %u, DNSKEY %u\n",
		cfg->test_min_interval, cfg->test_timeout, t.interval, t.a, t.ns, t.soa,
		t.refresh, t.retry, t.expire, t.minimum, t.neg, t.dnskey);
	config_print_dnssec(cfg, &t, out);
	config_print_procs(cfg, out);
	fprintf(out, "state: %s\n", cfg->state_dir != NULL ? cfg->state_dir
						      : "not kept (no --state-dir)");
	fprintf(out, "metrics: %s\n", cfg->metrics_listen.port != 0 ? cfg->metrics_listen.text
								    : "off (no --metrics-listen)");
	fprintf(out, "control socket: %s\n", cfg->control_socket != NULL ? cfg->control_socket
									 : "none");
	if (cfg->xdp_iface != NULL)
		fprintf(out, "xdp: %s (%s mode)\n", cfg->xdp_iface, config_xdp_mode_name(cfg->xdp_mode));
	else
		fprintf(out, "xdp: off (no --xdp)\n");
	config_print_xfr(cfg, out);
	config_rrl_print(cfg, out);
	if (cfg->config_file != NULL)
		fprintf(out, "config file: %s\n", cfg->config_file);
}

/* The --help text: the options by section, as the man page orders them. */
static const char config_help_text[] =
	"Usage: " AHD_NAME " --hosted-zone NAME --ns JSON --zone-resolutions JSON [options]\n"
	"       " AHD_NAME " status [--json] [--port N | --shm-name NAME]\n"
	"       " AHD_NAME " dump [--port N | --shm-name NAME] [--zone APEX]\n"
	"       " AHD_NAME " ds [server options]\n"
	"\n"
	"A health-aware authoritative DNS server.\n"
	"status: backends, serial and counters of the running server;\n"
	"dump: its zone in master-file format; ds: the DS records for the\n"
	"parent zone (needs --priv-key-path). See a-healthy-dns(8).\n"
	"\n"
	"Zone:\n"
	"  --hosted-zone NAME        zone apex, without trailing dot (required)\n"
	"  --zone-resolutions JSON   names and addresses (required), e.g.\n"
	"                            '{\"www\": [\"192.0.2.1\"],\n"
	"                              \"api\": {\"ips\": [\"192.0.2.2\", \"2001:db8::2\"],\n"
	"                                      \"health_port\": 8080}}'\n"
	"                            object keys: ips, health_port,\n"
	"                            check (tcp|http|https), http_path, http_host,\n"
	"                            http_status, tls_name, tls_ca_file, tls_verify,\n"
	"                            rise, fall, ttl, all_down (withdraw|serve_all)\n"
	"  --ns JSON                 name servers, e.g. '[\"ns1.example.com\"]' (required)\n"
	"  --alias-zones JSON        more apexes answering like the hosted zone (default [])\n"
	"\n"
	"Health checks:\n"
	"  --test-min-interval S     seconds between check rounds, 1-86400 (default 30)\n"
	"  --test-timeout S          seconds before a check fails, 1-3600 (default 2)\n"
	"\n"
	"DNSSEC:\n"
	"  --priv-key-path PEM       private key file; without it the zone is unsigned;\n"
	"                            repeatable: role and times from PEM.state\n"
	"  --priv-key-alg ALG        RSASHA256 (default), RSASHA512, ECDSAP256SHA256,\n"
	"                            ECDSAP384SHA384, ED25519, ED448\n"
	"  --key-propagation-delay D rollover: time for secondaries to follow (300s)\n"
	"  --cds MODE                CDS/CDNSKEY at the apex: ksk (default), none,\n"
	"                            delete (RFC 8078)\n"
	"  --rrsig-lifetime D        signature validity: seconds, or with s, m, h, d\n"
	"                            (default 14d, longer if the TTLs need it)\n"
	"  --rrsig-refresh D         re-sign a signature when less than D remains\n"
	"                            (default half the lifetime)\n"
	"\n"
	"Server:\n"
	"  --port N                  UDP and TCP port (default 53053)\n"
	"  --listen ADDR             IPv4 or IPv6 address to listen on; repeatable\n"
	"                            (default: all addresses)\n"
	"  --workers N               query worker processes, 1-256 (default: CPUs)\n"
	"  --user NAME               account of the workers and the prober\n"
	"                            (default: " AHD_NAME " if it exists, else nobody)\n"
	"  --shm-name NAME           shared memory object (default /" AHD_NAME ".PORT)\n"
	"  --state-dir DIR           keep the last SOA serial there, so a restart\n"
	"                            never serves a lower one (default: not kept)\n"
	"  --metrics-listen A:P      serve Prometheus metrics at http://A:P/metrics,\n"
	"                            e.g. 127.0.0.1:9720 (default: off; a change\n"
	"                            needs a restart)\n"
	"  --control-socket PATH     UNIX socket of drain/undrain/force-up/status\n"
	"                            (default " CONFIG_CONTROL_SOCKET_DEFAULT ";\n"
	"                            none: no socket)\n"
	"  --xdp IFACE               answer UDP on IFACE from AF_XDP sockets, past\n"
	"                            the kernel's UDP path (default: off; root)\n"
	"  --xdp-mode M              auto (default: native, else generic), native\n"
	"                            or generic\n"
	"  --log-level L             debug, info (default), warning, error, critical\n"
	"  --tcp-max-conns N         TCP connections per worker, 1-65536 (default 256);\n"
	"                            when full, the longest idle one is closed\n"
	"  --tcp-max-conns-per-client N\n"
	"                            TCP connections of one client address per worker,\n"
	"                            1-65536 (default: a quarter of --tcp-max-conns)\n"
	"  --tcp-idle-timeout S      seconds before an idle TCP connection is closed,\n"
	"                            1-3600 (default 10)\n"
	"  --tcp-io-timeout MS       milliseconds a TCP query may take to arrive once\n"
	"                            its first byte came, 1-60000 (default 500)\n"
	"  --cpu-affinity LIST       pin worker i to the i-th CPU of LIST (e.g. 0-3,6;\n"
	"                            default: no pinning)\n"
	"  --udp-pause US            pause after a UDP batch under load so the next\n"
	"                            batch is bigger, 0-1000 us (default 40; 0: off)\n"
	"  --edns-size N             EDNS UDP payload size, 512-4096 (default 1232)\n"
	"  --nsid ID                 NSID (RFC 5001) to answer with: text, 0x + hex,\n"
	"                            or hostname (default: none)\n"
	"  --cookie-secret HEX       DNS cookie secret, 32 hex digits (default: random\n"
	"                            at each start)\n"
	"\n"
	"Replication (hidden primary for stock secondaries):\n"
	"  --transfer-allow JSON     prefixes that may AXFR/IXFR, e.g.\n"
	"                            '[\"192.0.2.0/24\", \"2001:db8::53\"]' (default []:\n"
	"                            every transfer refused)\n"
	"  --notify JSON             secondaries to NOTIFY on each change, e.g.\n"
	"                            '[\"192.0.2.53\", \"[2001:db8::53]:5353\"]' (port 53\n"
	"                            when omitted; default [])\n"
	"  --tsig-key FILE           TSIG key (BIND, Knot or NSD key file, or one line\n"
	"                            [alg:]name:base64): transfers must be signed\n"
	"                            with it, NOTIFY carries it (default: none)\n"
	"  --ixfr-history N          changes kept for IXFR, 0-1024 (default 16;\n"
	"                            0: AXFR only)\n"
	"\n"
	"Rate limiting (RRL, RFC-less but BIND/Knot/NSD semantics):\n"
	"  --rrl-rate N              UDP responses per second per bucket (client\n"
	"                            prefix and answer), 0-1000000 (default 0: off)\n"
	"  --rrl-slip N              every Nth limited response is sent truncated\n"
	"                            (TC=1) instead of dropped, 0-10 (default 2;\n"
	"                            0: drop all, 1: truncate all)\n"
	"  --rrl-window S            seconds a flood is remembered after it stops,\n"
	"                            1-3600 (default 15)\n"
	"  --rrl-ipv4-prefix N       IPv4 clients share a bucket per /N, 0-32\n"
	"                            (default 24)\n"
	"  --rrl-ipv6-prefix N       IPv6 clients share a bucket per /N, 0-128\n"
	"                            (default 56)\n"
	"  --rrl-log-only            count and log what would be limited, but\n"
	"                            answer everything (default: off)\n"
	"\n"
	"Other:\n"
	"  --config FILE             JSON object of options, keys are the long option\n"
	"                            names without dashes (\"hosted-zone\": ...)\n"
	"  --check-config            validate, print a summary and exit\n"
	"  --version                 print the version and exit\n"
	"  --help                    print this help and exit\n"
	"\n"
	"Values may be given as --flag VALUE or --flag=VALUE. Every option can also\n"
	"come from the environment as AHDNS_ + its name in upper case with _ for -\n"
	"(AHDNS_HOSTED_ZONE, AHDNS_LISTEN=\"127.0.0.1,::1\", AHDNS_CHECK_CONFIG=1);\n"
	"an empty variable counts as unset, an unknown AHDNS_* one is ignored with\n"
	"a warning. Precedence: command line, then environment, then --config file,\n"
	"then defaults.\n";

void config_print_help(FILE *out)
{
	fputs(config_help_text, out);
}
