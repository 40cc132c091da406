/*
 * Helpers shared by the benchmarks (DESIGN §7: measured by `make bench`,
 * never asserted by a timed test). They start the real binary, talk DNS
 * to it over loopback UDP and read what the kernel says about its
 * processes. Benchmarks print numbers; they fail only when they cannot
 * measure.
 */
#ifndef AHD_BENCH_UTIL_H
#define AHD_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ldns/ldns.h>

struct bench_server {
	pid_t pid;            /* 0 once reaped */
	uint16_t port;        /* DNS port on 127.0.0.1 */
	char log_path[64];    /* the server's stderr */
	int64_t started_us;   /* just before fork */
	int64_t answered_us;  /* the first reply to a query */
};

/* The binary under test: env AHD_BIN, default build/a-healthy-dns. */
const char *bench_bin(void);

/* Microseconds on the monotonic clock. */
int64_t bench_now_us(void);
void bench_sleep_us(int64_t us);

/* A port free for UDP and TCP on 127.0.0.1 and TCP on 127.0.0.2. */
uint16_t bench_free_port(void);

/* Raise RLIMIT_NOFILE (soft and, as root, hard) to at least want.
 * Returns the soft limit now in force. */
size_t bench_raise_nofile(size_t want);

/*
 * Start the binary with args (NULL-terminated) plus "--listen 127.0.0.1
 * --port <free port>", stderr to a log file, and wait up to timeout_ms
 * for the first answer. 0, or -1 (it exited or never answered; then it
 * is stopped and its log printed).
 */
int bench_server_start(struct bench_server *s, const char *const *args, int timeout_ms);
/* SIGTERM and reap (SIGKILL after 5 s); removes the log unless keep. */
void bench_server_stop(struct bench_server *s, bool keep_log);
/* The server's stderr so far (malloc'd), or NULL. */
char *bench_server_log(const struct bench_server *s);

/* A connected UDP socket to 127.0.0.1:port for bench_query. */
int bench_dns_socket(uint16_t port);
/* One query over fd; the parsed reply, or NULL after timeout_ms. Stale
 * replies to earlier queries are skipped by ID. */
ldns_pkt *bench_query(int fd, const char *name, ldns_rr_type type, int timeout_ms);
/* Whether the answer section holds an A record for addr (text). */
bool bench_has_a(const ldns_pkt *p, const char *addr);
/* The SOA serial of zone; 0 or -1. */
int bench_soa_serial(int fd, const char *zone, uint32_t *serial);

/* A non-blocking TCP listener on addr:port (SO_REUSEADDR); -1 on error. */
int bench_listen(const char *addr, uint16_t port, int backlog);
/* Accept and close everything pending on fd. */
void bench_drain(int fd);

/* First child of parent whose command line contains needle; 0 if none. */
pid_t bench_find_child(pid_t parent, const char *needle);
/* utime + stime of pid in clock ticks; 0 or -1. */
int bench_cpu_ticks(pid_t pid, uint64_t *ticks);
/* VmRSS of pid in KiB; 0 when unknown. */
size_t bench_rss_kib(pid_t pid);
/* Any kB field of /proc/<pid>/status ("VmHWM": the peak RSS); 0 if unreadable. */
size_t bench_status_kib(pid_t pid, const char *field);

/* Sort v and return its min, median and max. */
void bench_stats(double *v, size_t n, double *min, double *med, double *max);

#endif
