#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ahd.h"

static char log_role[32] = "main";
static enum ahd_log_level log_min = AHD_LOG_INFO;
static int log_journal = -1; /* -1: not yet looked at */

static const char *const level_names[] = {
	[AHD_LOG_DEBUG] = "debug",
	[AHD_LOG_INFO] = "info",
	[AHD_LOG_WARNING] = "warning",
	[AHD_LOG_ERROR] = "error",
	[AHD_LOG_CRITICAL] = "critical",
};

/* syslog(3) priorities, for journald's "<N>" prefix. */
static const int level_prio[] = {
	[AHD_LOG_DEBUG] = 7,
	[AHD_LOG_INFO] = 6,
	[AHD_LOG_WARNING] = 4,
	[AHD_LOG_ERROR] = 3,
	[AHD_LOG_CRITICAL] = 2,
};

void log_init(const char *role, enum ahd_log_level min_level)
{
	strlcpy(log_role, role, sizeof(log_role));
	log_min = min_level;
	/* journald sets JOURNAL_STREAM for services whose stderr it owns. */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum ahd_log_level min_level) { log_min = min_level; }


int log_level_from_name(const char *name, enum ahd_log_level *out)
{
	for (size_t i = 0; i < AHD_ARRAY_LEN(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum ahd_log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum ahd_log_level level)
{
	if ((size_t)level >= AHD_ARRAY_LEN(level_names))
		return "?";
	return level_names[level];
}

void log_vmsg(enum ahd_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	char line[1200];
	int n;

	if (level < log_min)
		return;
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n",
			     level_prio[level], log_role, msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%s %ld]: %s: %s\n",
			     stamp, ts.tv_nsec / 1000000L, AHD_NAME, log_role,
			     (long)getpid(), level_names[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* One write(2) per line so lines of several processes never interleave. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void log_msg(enum ahd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

int log_startup_verror(const char *fmt, va_list ap)
{
	char msg[1024];
	char line[1100];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(line, sizeof(line), "%s: %s\n", AHD_NAME, msg);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
	return -1;
}

int log_startup_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_startup_verror(fmt, ap);
	va_end(ap);
	return -1;
}
