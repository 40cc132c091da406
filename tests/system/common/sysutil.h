/*
 * Helpers for system tests: run the real binary (env AHD_BIN, default
 * build/a-healthy-dns), talk DNS to it over real sockets, run tools.
 * Only loopback traffic, or a veth between namespaces of the test's own
 * (XDP mode, below).
 *
 * Typical use:
 *	struct sys_server s;
 *	const char *args[] = {"--hosted-zone", "example.test", ..., NULL};
 *	cr_assert_eq(sys_server_start(&s, args), 0);
 *	ldns_pkt *p = sys_query(s.port, "www.example.test", LDNS_RR_TYPE_A,
 *				LDNS_RR_CLASS_IN, true);
 *	...
 *	cr_assert_eq(sys_server_stop(&s), 0);
 */
#ifndef AHD_SYSUTIL_H
#define AHD_SYSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ldns/ldns.h>

/* How long sys_server_start waits for the first answer (ASan is slow). */
#define SYS_START_MS 15000

struct sys_server {
	pid_t pid;          /* 0 once reaped */
	uint16_t port;
	char shm_name[64];  /* the default "/a-healthy-dns.<port>" */
	char log_path[64];  /* the server's stderr */
	int exit_status;    /* after sys_server_stop / sys_server_wait */
};

/* The binary under test and the tools directory (env AHD_TOOLS). */
const char *sys_bin(void);
const char *sys_tools_dir(void);

/* A random port free for UDP and TCP on 127.0.0.1 (and ::1 when there)
 * at the moment of the call, for a port the caller binds at once.
 * sys_server_start does better for the server's own port: it keeps the
 * port bound until the server starts and retries if it was taken. */
uint16_t sys_free_port(void);

/*
 * Start the binary with args (NULL-terminated) plus "--listen 127.0.0.1
 * --port <free port>" (XDP mode: see below) and wait until it answers a
 * query on that port. Returns 0, or -1 (it exited or never answered; it
 * is then stopped); in XDP mode a kernel refusing XDP skips the test.
 * The server gets SIGTERM if the test process dies.
 */
int sys_server_start(struct sys_server *s, const char *const *args);
/* Like sys_server_start with exactly args (the caller gives --port,
 * which must be port); waits for answers at addr unless addr is NULL. */
int sys_server_start_raw(struct sys_server *s, const char *const *args,
			 uint16_t port, const char *addr);
/* Like sys_server_start_raw, run through the command wrap (NULL-terminated,
 * e.g. a tool that execs its arguments under a seccomp filter). */
int sys_server_start_wrapped(struct sys_server *s, const char *const *wrap,
			     const char *const *args, uint16_t port, const char *addr);
/* Wait until addr:port answers any query; -1 if the process exited. */
int sys_server_wait_ready(struct sys_server *s, const char *addr, int timeout_ms);
/* SIGTERM, wait (SIGKILL after 5 s). Returns the exit status: the exit
 * code, or 128 + signal. Removes the log file. */
int sys_server_stop(struct sys_server *s);
/* Wait for the server to exit by itself; returns its status as above or
 * -1 on timeout. */
int sys_server_wait(struct sys_server *s, int timeout_ms);
/* The server's stderr so far (malloc'd, NUL-terminated). */
char *sys_server_log(const struct sys_server *s);
/* Wait until the server's stderr contains needle. 0 or -1 (timeout). */
int sys_server_wait_log(const struct sys_server *s, const char *needle,
			int timeout_ms);
/* How often needle is in the server's stderr so far. */
size_t sys_server_log_count(const struct sys_server *s, const char *needle);
/* The supervisor's log line once every child reported ready. */
#define SYS_READY_LOG "info: ready"

/* Run argv (argv[0] looked up in PATH) with a timeout; captures stdout
 * and stderr (malloc'd, may be NULL to discard). Returns the exit status
 * as above, or -1 on timeout (the process is killed). */
int sys_run(const char *const *argv, int timeout_ms, char **out, char **err);
/* sys_run for a client tool (dig, kdig, delv): in XDP mode it runs in
 * the client namespace C. */
int sys_run_client(const char *const *argv, int timeout_ms, char **out, char **err);

/*
 * XDP mode (issue 18, DESIGN §14.2): env AHD_TEST_XDP=native|generic, or
 * sys_xdp_use() before anything else ("auto" too). Unset: all as above.
 * On first need (a server, a port, a target, a client socket) the test
 * process unshares into a network namespace S of its own (lo up: the
 * server, health targets, the control socket), a holder child into a
 * second one, C (the clients), and a veth pair with two queues each way
 * joins them: SYS_XDP_IFACE in S with 10.53.0.2/30 and fd00:53::2/64,
 * its peer in C with 10.53.0.1/30 and fd00:53::1/64. sys_server_start
 * then gives "--listen 10.53.0.2 --listen fd00:53::2 --xdp SYS_XDP_IFACE
 * --xdp-mode MODE" (no loopback listener) and fails the start unless the
 * server logs that it attached; a server that exits with the one line
 * "a-healthy-dns: --xdp SYS_XDP_IFACE: <reason>" (the kernel refused)
 * skips the test with that line, also printed as "SKIP suite/test: ..."
 * for scripts/check.sh to count. Every client socket and client tool of
 * these helpers lives in C. Nothing outlives the test process.
 */
#define SYS_XDP_IFACE "ahdx-s"
/* The mode, or NULL when off. */
const char *sys_xdp_mode(void);
/* Between servers too: the next sys_server_start uses that mode. */
void sys_xdp_use(const char *mode);
/* Make the namespaces now (no-op when off or done). 0 or -1 (why on
 * stderr). */
int sys_xdp_up(void);
/* The server's address for the clients: "127.0.0.1" or "10.53.0.2";
 * IPv6: "::1" or "fd00:53::2". */
const char *sys_addr(void);
const char *sys_addr6(void);
/* The clients' source address: "127.0.0.1" or "10.53.0.1". */
const char *sys_client_addr(void);
/* socket(domain, type | SOCK_CLOEXEC, protocol), made in C in XDP mode. */
int sys_client_socket(int domain, int type, int protocol);
/* A client socket of type connected to addr (IPv4 or IPv6 text):port,
 * or -1. */
int sys_connect(const char *addr, uint16_t port, int type);

/* Whether systemd-analyze, which unit-syscalls.sh needs, is installed. */
bool sys_have_systemd_analyze(void);
/* The system calls a unit file's SystemCallFilter= lines allow, except
 * drop (NULL: none), one a line (packaging/systemd/unit-syscalls.sh, run
 * from the top of the tree), into a new file whose name is put in path
 * (at least 32 bytes), for ahd-syscall-filter. Returns how many, or -1
 * with *why set (static). */
int sys_unit_syscalls(const char *unit, const char *drop, char *path, const char **why);

/* Count the lines of s (a last line without '\n' counts). */
size_t sys_count_lines(const char *s);

/*
 * Send one UDP datagram q[0..qlen) to addr (IPv4 or IPv6 text):port from
 * a fresh connected socket and wait for one reply. Returns its length, or
 * -1 when nothing came within timeout_ms.
 */
ssize_t sys_exchange(const char *addr, uint16_t port, const uint8_t *q,
		     size_t qlen, uint8_t *resp, size_t cap, int timeout_ms);

/* Build a query with ldns (random ID, RD as given) and return the parsed
 * reply from sys_addr():port, or NULL (no reply / unparsable). */
ldns_pkt *sys_query(uint16_t port, const char *name, ldns_rr_type type,
		    ldns_rr_class cls, bool rd);

/* Run "dig @sys_addr() -p port" plus args (NULL-terminated) as a client;
 * returns its stdout (malloc'd) or NULL if dig failed. */
char *sys_dig(uint16_t port, const char *const *args);

/* A blocking TCP connection to sys_addr():port (SOCK_CLOEXEC); -1 if
 * refused. */
int sys_tcp_connect(uint16_t port);
/* Write q[0..qlen) with its two-byte length prefix. 0 or -1. */
int sys_tcp_send(int fd, const uint8_t *q, size_t qlen);
/* Read one length-prefixed message into buf; its length, or -1 (timeout,
 * EOF, or longer than cap). */
ssize_t sys_tcp_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms);
/* Whether the peer closed fd (EOF or reset) within timeout_ms; bytes
 * still readable before the EOF are discarded. */
bool sys_tcp_closed(int fd, int timeout_ms);
/* The sockets pid holds (links "socket:[...]" in /proc/<pid>/fd), or -1
 * when that cannot be read. */
int sys_count_sockets(pid_t pid);

/* Read /proc/<pid>/status and return the value of field (e.g. "CapEff")
 * in buf, trimmed. Returns 0 or -1. */
int sys_proc_status(pid_t pid, const char *field, char *buf, size_t cap);
/* The children of pid (scanning PPid in /proc); returns how many, up to
 * cap stored in out. */
size_t sys_children(pid_t pid, pid_t *out, size_t cap);
/* The child of server whose process title names role ("prober",
 * "notifier", "metrics", "worker 0"), or 0. */
pid_t sys_find_child(pid_t server, const char *role);
/* /proc/<pid>/cmdline with NULs as spaces, into buf. 0 or -1. */
int sys_cmdline(pid_t pid, char *buf, size_t cap);

/* The serial of zone's SOA at sys_addr():port, or -1 without a reply
 * holding exactly one answer. */
int64_t sys_soa_serial(uint16_t port, const char *zone);

#define SYS_MAX_KIDS 16
/* A supervisor's children, told apart by their process titles
 * ("a-healthy-dns: worker N", "a-healthy-dns: prober"). */
struct sys_kids {
	pid_t workers[SYS_MAX_KIDS];
	int index[SYS_MAX_KIDS]; /* N from the title, -1 if unreadable */
	size_t n_workers;
	pid_t prober;
	size_t n_probers;
};
void sys_find_kids(pid_t sup, struct sys_kids *k);
/* Up to 5 s until there are `workers` workers and one prober: 0, or -1
 * with what was last found in k. */
int sys_wait_kids(pid_t sup, struct sys_kids *k, size_t workers);

/*
 * A fresh private key made by `openssl genpkey` in a new directory under
 * /tmp: kind is "P-256", "P-384", "ED25519", "ED448" or "RSA" (2048
 * bits). Its path goes to path (mode 0600, owned by the caller). 0 or -1.
 */
int sys_make_key(const char *kind, char *path, size_t cap);
/* Remove that key, files beside it and its directory. */
void sys_remove_key(const char *path);
/* Write text to path (created or truncated, mode 0644). 0 or -1. */
int sys_write_file(const char *path, const char *text);
/* The whole file (malloc'd, NUL-terminated; *len may be NULL), or NULL. */
char *sys_read_file(const char *path, size_t *len);

/* A backend for health checks: ahd-health-target (AHD_TOOLS) listening
 * on addr:port (addr NULL: 127.0.0.1), plain TCP (http_status 0) or HTTP
 * answering that status. Returns its pid once it printed "ready", or -1
 * (the reason on stderr). It gets SIGTERM if the test process dies. */
pid_t sys_target_start(const char *addr, uint16_t port, int http_status);
/* Stop it and reap it. */
void sys_target_stop(pid_t pid);

/* `status --json --port port` of the server under test, parsed (the
 * caller puts it), or NULL with why (the exit status and stderr, or the
 * text that is not JSON) in why[cap]. */
struct json_object;
struct json_object *sys_status_json(uint16_t port, char *why, size_t cap);

/* Milliseconds on the monotonic clock. */
int64_t sys_now_ms(void);
void sys_sleep_ms(int ms);

#endif
