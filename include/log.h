/*
 * Logging to stderr. Under systemd (JOURNAL_STREAM set) every line carries
 * a syslog priority prefix "<N>" so journald files it at the right level.
 * Otherwise lines are "a-healthy-dns[role pid]: LEVEL: message".
 */
#ifndef AHD_LOG_H
#define AHD_LOG_H

#include <stdarg.h>

enum ahd_log_level {
	AHD_LOG_DEBUG = 0,
	AHD_LOG_INFO,
	AHD_LOG_WARNING,
	AHD_LOG_ERROR,
	AHD_LOG_CRITICAL,
};

/* role: "supervisor", "worker 0", "prober" ... (copied) */
void log_init(const char *role, enum ahd_log_level min_level);
void log_set_level(enum ahd_log_level min_level);
/* Returns 0 and sets *out for "debug", "info", "warning", "error",
 * "critical"; -1 otherwise. */
int log_level_from_name(const char *name, enum ahd_log_level *out);
const char *log_level_name(enum ahd_log_level level);

void log_msg(enum ahd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum ahd_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Before the daemon is up: "a-healthy-dns: message\n" on stderr in one
 * write(2) (stderr may be shared with other processes, and tests count
 * the lines), whatever the log level. Always returns -1, so a caller
 * can `return log_startup_error(...)`. */
int log_startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int log_startup_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#define log_debug(...) log_msg(AHD_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(AHD_LOG_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(AHD_LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(AHD_LOG_ERROR, __VA_ARGS__)
#define log_critical(...) log_msg(AHD_LOG_CRITICAL, __VA_ARGS__)

#endif
