/*
 * Configuration: command line, AHDNS_* environment, --config JSON file.
 * Parsed once (DESIGN §8, habit 3); --check-config runs the same code.
 * Precedence: command line > environment > config file > defaults.
 */
#ifndef AHD_CONFIG_H
#define AHD_CONFIG_H

#include <stdbool.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "log.h"
#include "keyroll.h"
#include "tsig.h"

#define CONFIG_DEFAULT_PORT 53053
#define CONFIG_DEFAULT_INTERVAL 30
#define CONFIG_DEFAULT_TIMEOUT 2
/* RFC 7766 section 6.2.3: a few seconds of idle time, a bounded table. */
#define CONFIG_DEFAULT_TCP_MAX_CONNS 256
#define CONFIG_DEFAULT_TCP_IDLE_TIMEOUT 10
/* Milliseconds a TCP message may take to arrive once its first byte
 * came: Knot's tcp-io-timeout, whose default this is. */
#define CONFIG_DEFAULT_TCP_IO_TIMEOUT 500
#define CONFIG_TCP_IO_TIMEOUT_MAX 60000
/* Connections of one client address per worker: a quarter of the table.
 * SO_REUSEPORT spreads a client's connections over the workers by their
 * source ports, so the cap holds in every worker's table alike: at least
 * four addresses are needed to fill the server, and one client may still
 * hold a quarter of all connections, far more than the one or few that
 * RFC 7766 section 6.2.1 expects of it. */
#define CONFIG_DEFAULT_TCP_PER_CLIENT(max_conns) ((max_conns) / 4 > 0 ? (max_conns) / 4 : 1u)
/* Microseconds a worker pauses after a UDP batch under load (worker.c). */
#define CONFIG_DEFAULT_UDP_PAUSE 40
/* RRSIG validity of days, not minutes (RFC 6781 section 4.4.2; Knot and
 * BIND sign for 14 days and 30 days by default): a signer that stalls or
 * a validator whose clock runs fast still sees valid signatures. */
#define CONFIG_DEFAULT_RRSIG_LIFETIME (14u * 86400u)
/* Far inside the 2^31 s that RRSIG serial-number times span (RFC 4034
 * section 3.1.5), ten years as BIND allows. */
#define CONFIG_RRSIG_LIFETIME_MAX (3650u * 86400u)
/* Inception this long before the signing time, for validators whose
 * clock is slow (Knot and BIND backdate by an hour too). */
#define CONFIG_RRSIG_BACKDATE 3600u
/* Room for config_duration_text(). */
#define CONFIG_DURATION_TEXT_MAX 32
/* Room for any --cpu-affinity list in its shortest form. */
#define CONFIG_CPU_TEXT_MAX 8192
#define CONFIG_TCP_MAX_CONNS_MAX 65536
#define CONFIG_NSID_MAX 128         /* bytes of --nsid (RFC 5001 has no limit) */
#define CONFIG_COOKIE_SECRET_LEN 16 /* RFC 9018 SipHash-2-4 key */
#define CONFIG_XFR_ACL_MAX 64       /* --transfer-allow prefixes */
#define CONFIG_NOTIFY_MAX 32        /* --notify secondaries */
#define CONFIG_DEFAULT_IXFR_HISTORY 16
#define CONFIG_IXFR_HISTORY_MAX 1024
#define CONFIG_XFR_EXPIRE (14u * 86400u) /* SOA EXPIRE with secondaries, unsigned */
/* Response rate limiting (DESIGN §10), BIND's defaults. */
#define CONFIG_RRL_RATE_MAX 1000000u
#define CONFIG_DEFAULT_RRL_SLIP 2u
#define CONFIG_RRL_SLIP_MAX 10u
#define CONFIG_DEFAULT_RRL_WINDOW 15u
#define CONFIG_RRL_WINDOW_MAX 3600u
#define CONFIG_DEFAULT_RRL_IPV4_PREFIX 24u
#define CONFIG_DEFAULT_RRL_IPV6_PREFIX 56u

enum config_check {
	CONFIG_CHECK_NONE = 0, /* bare-list form: static, always published */
	CONFIG_CHECK_TCP,      /* TCP connect to health_port */
	CONFIG_CHECK_HTTP,     /* HTTP/1.1 GET http_path, 2xx/3xx passes */
	CONFIG_CHECK_HTTPS,    /* the same over TLS, certificate verified */
};

/* "http_status": the statuses that pass, as inclusive ranges. */
#define CONFIG_HTTP_STATUS_MAX 16
struct config_status_range {
	uint16_t lo, hi; /* 100..999, lo <= hi */
};

enum config_all_down {
	CONFIG_ALL_DOWN_WITHDRAW = 0, /* the original's: publish nothing */
	CONFIG_ALL_DOWN_SERVE_ALL,    /* fail open: publish every address */
};

/* DNSSEC algorithm numbers (IANA). */
enum config_alg {
	CONFIG_ALG_RSASHA256 = 8,
	CONFIG_ALG_RSASHA512 = 10,
	CONFIG_ALG_ECDSAP256SHA256 = 13,
	CONFIG_ALG_ECDSAP384SHA384 = 14,
	CONFIG_ALG_ED25519 = 15,
	CONFIG_ALG_ED448 = 16,
};

/* --cds: what the apex's CDS/CDNSKEY RRsets say (RFC 7344, RFC 8078). */
enum config_cds {
	CONFIG_CDS_KSK = 0, /* the DS set of the current KSKs/CSKs */
	CONFIG_CDS_NONE,    /* no CDS/CDNSKEY */
	CONFIG_CDS_DELETE,  /* RFC 8078 section 4: remove the DS at the parent */
};

/* One --priv-key-path: the file and its key-state file's contents. */
struct config_key {
	char *path;
	struct keyroll_spec spec;
	enum config_alg alg; /* spec.alg, else --priv-key-alg */
};

struct config_addr {
	int family;       /* AF_INET (A record) or AF_INET6 (AAAA record) */
	uint8_t addr[16]; /* network byte order; first 4 bytes for AF_INET */
};

/* Where the control socket is unless --control-socket says otherwise:
 * the systemd unit's RuntimeDirectory=. */
#define CONFIG_CONTROL_SOCKET_DEFAULT "/run/a-healthy-dns/control"
/* sizeof(sockaddr_un.sun_path) on Linux. */
#define CONFIG_CONTROL_PATH_MAX 108

struct config_entry {
	char *name; /* relative owner name, lower case: "www", "api.v1" */
	struct config_addr *addrs;
	size_t n_addrs;
	/* Index of addrs[0] among all addresses of all entries (entry order,
	 * then address order). Only health_index() reads it: use that. */
	size_t first_addr;
	enum config_check check; /* CONFIG_CHECK_NONE for the list form */
	uint16_t health_port;    /* 0 for the list form */
	char *http_path;         /* NULL unless check is http or https */
	/* http and https (DESIGN §3.1): the Host header, and the name TLS
	 * sends (SNI) and verifies unless tls_name is given. NULL: the
	 * address. */
	char *http_host;
	/* The statuses that pass; n_http_status 0: 200-399. */
	struct config_status_range http_status[CONFIG_HTTP_STATUS_MAX];
	size_t n_http_status;
	/* https only. tls_name: SNI and the name verified (NULL: http_host,
	 * else the address is verified and no SNI is sent). tls_ca_file:
	 * the trust anchors (NULL: the system store). tls_no_verify: "tls_verify":
	 * false (inverted so a zeroed entry verifies). */
	char *tls_name;
	char *tls_ca_file;
	bool tls_no_verify;
	unsigned rise;           /* consecutive passes to go up, >= 1 */
	unsigned fall;           /* consecutive failures to go down, >= 1 */
	int64_t ttl;             /* -1: derived from the interval */
	enum config_all_down all_down;
};

/* One --transfer-allow prefix: host bits beyond len are zero. */
struct config_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len; /* prefix length in bits */
};

/* One --notify secondary. */
struct config_notify {
	int family;
	uint8_t addr[16];
	uint16_t port; /* 53 when the flag omits it */
	char text[64]; /* as given, for logs and status */
};

struct config_listen {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	char text[64]; /* as given, for logs */
};

/* --xdp-mode: native (the driver's hook), generic (the kernel's skb
 * path, any interface, slower) or auto (native, generic if refused). */
enum config_xdp_mode {
	CONFIG_XDP_AUTO = 0,
	CONFIG_XDP_NATIVE,
	CONFIG_XDP_GENERIC,
};

struct config {
	/* The original's flags. Zone names are stored lower case, no
	 * trailing dot. */
	char *hosted_zone;
	char **alias_zones;
	size_t n_alias_zones;
	char **ns; /* ns[0] is the SOA MNAME; no trailing dot */
	size_t n_ns;
	struct config_entry *entries; /* in the order of the JSON object */
	size_t n_entries;
	size_t n_addrs_total; /* sum of n_addrs over entries */
	uint16_t port;
	enum ahd_log_level log_level;
	unsigned test_min_interval; /* seconds, >= 1 */
	unsigned test_timeout;      /* seconds, >= 1 */
	char *priv_key_path;        /* NULL: no DNSSEC; = keys[0].path */
	enum config_alg priv_key_alg;
	/* Every --priv-key-path (DESIGN §13), in the order given, with what
	 * its key-state file says; n_keys 0: no DNSSEC. */
	struct config_key *keys;
	size_t n_keys;
	uint32_t key_propagation; /* --key-propagation-delay, seconds */
	enum config_cds cds;      /* --cds */

	/* New flags. */
	struct config_listen *listen; /* n_listen == 0: all IPv4 and IPv6 */
	size_t n_listen;
	unsigned workers; /* >= 1; default: number of online CPUs */
	/* config_parse resolves the default ("a-healthy-dns" if that account
	 * exists, else "nobody"), so it is set after parsing; NULL only in a
	 * hand-built struct, meaning that default. */
	char *user;
	/* The account as numbers, looked up once by config_parse (the only
	 * user-database lookup: the supervisor checks and the children
	 * switch with these) and carried in the serialization, so no child
	 * reads /etc/passwd or loads an NSS module. false: not looked up (a
	 * hand-built struct); a root child then refuses to start. */
	bool user_ids;
	uid_t user_uid;
	gid_t user_gid;
	char *shm_name;   /* always set after parsing: "/a-healthy-dns.<port>" */
	char *config_file; /* NULL if none */
	bool check_config;
	/* TCP, per worker. 0 (a hand-built struct): the defaults. */
	unsigned tcp_max_conns;
	unsigned tcp_idle_timeout; /* seconds */
	unsigned tcp_io_timeout_ms;
	unsigned tcp_max_conns_per_client; /* 0: CONFIG_DEFAULT_TCP_PER_CLIENT */
	/* --rrsig-lifetime, --rrsig-refresh, seconds; always set after
	 * parsing. 0 (a hand-built struct): the defaults, 14 days and half
	 * the lifetime. */
	uint32_t rrsig_lifetime;
	uint32_t rrsig_refresh;
	/* --cpu-affinity: worker i runs on the i-th CPU of the set (round
	 * robin); n_cpus 0: no pinning. */
	cpu_set_t cpus;
	unsigned n_cpus;
	unsigned udp_pause_us; /* 0: answer every batch at once */
	/* EDNS (RFC 6891): our UDP payload size, 512..4096; 0 (a hand-built
	 * struct): AHD_EDNS_DEFAULT. */
	unsigned edns_size;
	/* NSID (RFC 5001) data; nsid_len 0: none. --nsid hostname is
	 * resolved by config_parse, so children get the same bytes. */
	uint8_t nsid[CONFIG_NSID_MAX];
	size_t nsid_len;
	/* RFC 9018 server cookie secret: random per start unless
	 * --cookie-secret; always set after parsing and serialized, so every
	 * worker makes and accepts the same cookies. */
	uint8_t cookie_secret[CONFIG_COOKIE_SECRET_LEN];
	/* --metrics-listen ADDR:PORT: the Prometheus endpoint (DESIGN §11);
	 * metrics_listen.port 0: off. */
	struct config_notify metrics_listen;
	/* --state-dir: where the supervisor keeps the last serial, so a
	 * restart never serves a lower one (DESIGN §5.5); NULL: not kept. */
	char *state_dir;
	/* --control-socket (DESIGN §12): the UNIX socket of drain, undrain,
	 * force-up and status; CONFIG_CONTROL_SOCKET_DEFAULT unless given,
	 * NULL: "none" (no socket). control_socket_given: from a flag, the
	 * environment or the file (a failure to bind it is then fatal). */
	char *control_socket;
	bool control_socket_given;
	/* --xdp IFACE (DESIGN §14.4): answer UDP from AF_XDP sockets on that
	 * interface; NULL: off. --xdp-mode: how the program is attached. */
	char *xdp_iface;
	enum config_xdp_mode xdp_mode;
	/* Replication (DESIGN §9). n_transfer_allow 0: every AXFR/IXFR is
	 * REFUSED. */
	struct config_prefix transfer_allow[CONFIG_XFR_ACL_MAX];
	size_t n_transfer_allow;
	struct config_notify notify[CONFIG_NOTIFY_MAX];
	size_t n_notify;
	/* --tsig-key FILE, read by config_parse (the supervisor, before it
	 * drops anything); tsig.alg TSIG_ALG_NONE: no key. With a key every
	 * transfer must be signed with it and every NOTIFY carries it. */
	char *tsig_key_path;
	struct tsig_key tsig;
	/* --ixfr-history: differences kept for IXFR (0: AXFR only);
	 * always set after parsing. */
	unsigned ixfr_history;
	/* --rrl-rate (responses per second per bucket, 0: off), --rrl-slip,
	 * --rrl-window (seconds), --rrl-ipv4-prefix, --rrl-ipv6-prefix,
	 * --rrl-log-only (DESIGN §10); always set after parsing (0 in a
	 * hand-built struct: off). */
	unsigned rrl_rate;
	unsigned rrl_slip;
	unsigned rrl_window;
	unsigned rrl_ipv4_prefix;
	unsigned rrl_ipv6_prefix;
	bool rrl_log_only;
};

enum config_action {
	CONFIG_RUN = 0,   /* start the server (or --check-config) */
	CONFIG_EXIT_OK,   /* --help / --version printed: exit 0 */
};

/* Derived timers, all in seconds, all clamped to 0..2^31-1 (RFC 8767).
 * interval is the effective check interval the TTLs derive from. */
struct config_ttls {
	uint32_t interval;
	uint32_t a;        /* A/AAAA TTL: 2 x interval */
	uint32_t ns;       /* 30 x a */
	uint32_t soa;      /* = ns */
	uint32_t refresh;  /* = dnskey */
	uint32_t retry;    /* = a */
	uint32_t expire;   /* 5 x retry; with transfers, DESIGN §9.7 */
	uint32_t minimum;  /* = a */
	uint32_t dnskey;   /* 10 x a */
	uint32_t neg;      /* min(soa, minimum): TTL of SOA in negative answers */
	/* The signing policy (signed zones only). A signature made at t has
	 * inception t - sig_backdate and expiration t + sig_lifetime - j,
	 * with j in [0, sig_jitter] fixed per RRset (owner and type), so a
	 * zone signed at one moment does not all come due at once. It is
	 * re-signed once less than sig_refresh remains. */
	uint32_t sig_lifetime;
	uint32_t sig_refresh;
	uint32_t sig_backdate;
	uint32_t sig_jitter;   /* min(lifetime / 10, (lifetime - refresh) / 2) */
	/* Largest TTL of a signed RRset: sig_refresh less two check
	 * intervals, the longest a due signature waits for its refresh, so
	 * no TTL outlives the signature a resolver caches with it. */
	uint32_t sig_ttl_max;
};

/*
 * Parse the command line (argv[0] is the program name), the environment
 * (envp, AHDNS_* variables) and the --config file into *cfg.
 * On bad input: prints ONE line to stderr naming the flag, the offending
 * value and the rule it breaks, frees what it allocated, returns -1.
 * An AHDNS_* variable that names no option is not bad input: one
 * "warning: ..." line on stderr per such variable, and it is ignored.
 * --help / --version print to stdout and return 0 with *action =
 * CONFIG_EXIT_OK.
 */
int config_parse(struct config *cfg, int argc, char **argv, char **envp,
		 enum config_action *action);

/* Release everything config_parse / config_from_json allocated. */
void config_free(struct config *cfg);

/* Serialize the complete, validated configuration (every field, defaults
 * resolved) as one JSON object using the long flag names as keys; the
 * supervisor hands this to its children, who read it back with
 * config_from_json. Returns a malloc'd string or NULL. */
char *config_to_json(const struct config *cfg);
/* Returns 0 or -1 with one line on stderr (same rules as config_parse). */
int config_from_json(struct config *cfg, const char *json);

/* Human summary for --check-config (zones, names, addresses, checks,
 * derived TTLs). */
void config_print_summary(const struct config *cfg, FILE *out);

/* The effective interval and the timers derived from it. */
void config_ttls(const struct config *cfg, struct config_ttls *out);

/* "14d", "36h", "90m", "45s", or "1000001s": the largest unit that
 * divides s exactly, as --rrsig-lifetime accepts it. */
const char *config_duration_text(uint32_t s, char *buf, size_t cap);

/* Usage text for --help. */
void config_print_help(FILE *out);

/* "RSASHA256", ... as --priv-key-alg spells it; "?" if unknown. */
const char *config_alg_name(enum config_alg alg);
/* "auto", "native" or "generic". */
const char *config_xdp_mode_name(enum config_xdp_mode mode);
/* "none", "tcp", "http", "https": the check types as the JSON map spells them. */
const char *config_check_name(unsigned check);

/* The CPU worker `index` is pinned to, or -1 without --cpu-affinity. */
int config_worker_cpu(const struct config *cfg, unsigned index);

#endif
