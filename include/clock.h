/*
 * The one clock for deadlines, timeouts and the prober's heartbeat:
 * CLOCK_MONOTONIC, which wall-clock steps do not move and which every
 * process of the host shares (the supervisor compares the prober's
 * heartbeat with its own reading). Signature times use time(), the wall
 * clock, since validators compare them with theirs.
 */
#ifndef AHD_CLOCK_H
#define AHD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_now_ms(void) { return clock_now_ns() / 1000000; }

#endif
